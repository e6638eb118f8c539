/* Per-particle series of an ensemble whose replicas start from a list of particles (private to
 * the ensembles kind; include/ripen/engine/tracking.h says what a particle is and how its identity
 * is carried; docs/hdf5-layout.md, "Particles", the datasets).
 *
 * At every sample the tracker's particles (core, shell, exposed core, centre) are appended to
 * the replica's record, sparse (only the particles present, by id), with the events of that
 * sample and the free core and shell. The record also keeps the tracker's identity state of the
 * last sample, so a checkpoint resumes the tracking exactly. The file holds the series dense,
 * [replica, sample, id], -1 (NaN for the centre) where an id is not a particle; the `origin` of
 * every id is computed from the events when the file is written (a run, a resume or a merge
 * alike), so it cannot drift from them.
 */
#ifndef RIPEN_ENSEMBLE_PARTICLES_H
#define RIPEN_ENSEMBLE_PARTICLES_H

#include <hdf5.h>
#include <stdint.h>

#include "ripen/driver/codec.h"
#include "ripen/driver/kinds/ensemble.h"
#include "ripen/engine/tracking.h"

typedef struct particle_series {
    int32_t next_id;                 /* ids given so far */
    int64_t nsamples, capacity;      /* samples appended, room for */
    int32_t *count;                  /* particles at each sample */
    int32_t *free_core, *free_shell; /* sites, per sample (tracking.h) */
    int64_t nentries, entry_capacity;
    track_particle *entries; /* every sample's particles, sample after sample, by id */
    int64_t nevents, event_capacity;
    track_event *events;
    /* The tracker's identity state after the last sample (tracker_restore). */
    int64_t nowned, owned_capacity;
    int32_t *owned_site, *owned_id;
} particle_series;

/* A replica's empty series (NULL and RIPEN_OK when the ensemble does not track). */
int particle_series_new(const ensemble_spec *e, particle_series **out);
void particle_series_free(particle_series *p);

/* The record's part: the same description writes and reads (codec.h). */
void particle_series_code(codec *c, const ensemble_spec *e, int64_t nsites, particle_series *p);

/* Appends the tracker's last sample and takes its identity state. */
int particle_series_add(particle_series *p, const tracker *t);
/* Appends the last sample again (the lattice did not change since: no events). */
int particle_series_repeat(particle_series *p);

/* A tracker for `lat` carrying the series' identity on: from the initial particles' centre sites
 * for a fresh replica (ids 0, 1, ... in the list's order), else from the last sample's state. */
int particle_series_tracker(const particle_series *p, const system_spec *s, const lattice *lat,
                            int32_t min_core, tracker *t);

/* ---- the result file ---- */

enum {
    PARTICLE_INITIAL,
    PARTICLE_COUNT,
    PARTICLE_ORIGIN,
    PARTICLE_CORE,
    PARTICLE_SHELL,
    PARTICLE_EXPOSED,
    PARTICLE_CENTRE,
    PARTICLE_FREE_CORE,
    PARTICLE_FREE_SHELL,
    PARTICLE_EVENT_COUNT,
    PARTICLE_EVENTS,
    PARTICLE_DATASETS
};

/* The extents a replica's series needs: ids (next_id) and events. */
void particle_series_extent(const particle_series *p, int64_t *ids, int64_t *events);

/* Creates the group "particles" in the set's group and its datasets (collective), sized for
 * `replicas` replicas, `samples` samples, `ids` ids and `events` events each; *group and d[k]
 * are < 0 where one failed. */
void ensemble_particles_create(hid_t set_group, const task_set *set, hsize_t replicas,
                               hsize_t samples, hsize_t ids, hsize_t events, hid_t *group,
                               hid_t *d);
/* Rank 0: the initial particles' table. */
int ensemble_particles_write_set(const hid_t *d, const task_set *set);
/* n replicas' series (collective: every rank calls it in every round, n = 0 if none left). */
int ensemble_particles_write(const hid_t *d, int n, const int64_t *members,
                             task_record *const *records);
/* Reads a replica's series back (merge, analyze) from the set's group. */
int ensemble_particles_load(hid_t set_group, int64_t member, int64_t nsamples, particle_series *p);
/* Raw bytes of the datasets. */
double ensemble_particles_bytes(double replicas, double samples, double ids, double events,
                                double initial);

#endif
