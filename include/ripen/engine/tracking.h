/* Per-particle tracking: at a sample, every particle's core and shell sites, and its identity
 * carried over from the previous sample (docs/model.md, "Particles and their identity").
 *
 * Particles. The core clusters of the lattice (core sites connected through any of the 8
 * neighbours, across the periodic boundaries) with at least `min_core` sites; smaller clusters
 * are free core (debris), counted but not tracked. A particle's shell is every shell site whose
 * nearest particle core, by the number of steps through shell sites (8 neighbours), is its own;
 * a tie goes to the particle with the smaller id. Shell that no particle's core reaches through
 * shell is free shell. Its exposed core: its core sites with a solution neighbour (of the 8, as
 * replica_exposed_core). Its centre: the mean (x, y) of its core sites in axial coordinates,
 * taken on the cluster unwrapped across the boundaries (from its first site, breadth-first),
 * then brought into [0, Lx) x [0, Ly).
 *
 * Identity. The overlap of a cluster with a particle of the previous sample is the number of
 * its core sites that were core of that particle then. A cluster continues the particle it
 * overlaps most (ties: the smaller id) if it is also the cluster that particle overlaps most
 * (ties: the earlier cluster); otherwise a cluster that overlaps some particle is a fragment that
 * split from it (a new id, event SPLIT with other = that particle). A particle that continues in
 * no cluster but overlaps one merged into it (event MERGE, other = the id it merged into). A
 * cluster and a particle with no overlap at all are paired next by adjacency (sites of the
 * cluster next to the particle's former core: it moved by a site), mutual best again; what is
 * left vanished (VANISH) or appeared (APPEAR, a new id). New ids are given in cluster order
 * (clusters ordered by their first site in column order, then layer), so the whole record is a
 * function of the sampled lattices only: the same for any rank count, after a resume (the
 * identity state is part of a checkpoint) and through shards.
 *
 * Cost. Only the (x, y) columns holding core are visited (replica.column_core, 16 columns at
 * a time as replica_exposed_core does), then the clusters breadth-first: O(columns / 16 +
 * particle sites), not O(lattice sites) (docs/performance.md, "Particle tracking").
 */
#ifndef RIPEN_TRACKING_H
#define RIPEN_TRACKING_H

#include <stdint.h>

#include "ripen/engine/replica.h"

enum { TRACK_MAX_IDS = 1 << 16 };

typedef enum {
    TRACK_VANISH, /* the particle is gone (below min_core, or dissolved) */
    TRACK_MERGE,  /* the particle merged into `other` */
    TRACK_SPLIT,  /* the particle is a fragment that split from `other` */
    TRACK_APPEAR, /* a cluster reached min_core with no particle before it */
    TRACK_EVENT_KINDS
} track_event_kind;
extern const char *const track_event_names[TRACK_EVENT_KINDS];

typedef struct {
    int64_t step;  /* MC steps: the sample at which it was seen */
    int64_t kind;  /* track_event_kind */
    int64_t id;    /* the particle */
    int64_t other; /* MERGE: the id it merged into; SPLIT: the id it split from; else -1 */
} track_event;

/* One particle at one sample. */
typedef struct {
    int32_t id;      /* identity */
    int32_t core;    /* core sites */
    int32_t shell;   /* shell sites assigned to it */
    int32_t exposed; /* exposed core sites */
    double x, y;     /* centre of its core (axial columns, in [0, L)) */
} track_particle;

typedef struct {
    int64_t largest_cluster; /* the largest core cluster, tracked or not (sites) */
    int64_t free_core;       /* core sites in clusters below min_core */
    int64_t free_shell;      /* shell sites no particle's core reaches through shell */
    int64_t exposed_core;    /* exposed core sites of the whole lattice */
} track_totals;

typedef struct {
    const lattice *lat;
    int32_t min_core; /* core sites a cluster needs to be a particle */
    /* Identity state, carried from sample to sample (a checkpoint holds it). */
    int32_t next_id;     /* ids given so far */
    int64_t nowned;      /* core sites of the particles at the last sample */
    int32_t *owned_site; /* ... their sites */
    int32_t *owned_id;   /* ... and ids */
    int64_t owned_capacity;
    /* The last sample's result. */
    track_particle *particles; /* nparticles, by increasing id */
    int32_t nparticles;
    track_event *events; /* at this sample */
    int32_t nevents;
    track_totals totals;
    /* Scratch. */
    int32_t *owner;   /* per site: the id whose core held it at the last sample, else -1 */
    int32_t *label;   /* per site: cluster index (core) or -1 */
    int32_t *level;   /* per site: shell distance from a particle's core, or -1 */
    int32_t *nearest; /* per shell site reached this sample: the particle it belongs to */
    int32_t *queue;   /* sites visited this sample (2 x nsites: core, then the shell search) */
    int32_t *ux, *uy; /* unwrapped coordinates of the core sites in `queue` */
    void *work;       /* per-cluster and per-id arrays (tracking.c) */
} tracker;

/* Allocates the per-site scratch of `lat` (8 x 4 bytes per site, plus the identity state). */
int tracker_init(tracker *t, const lattice *lat, int32_t min_core);
void tracker_free(tracker *t);

/* Sets the identity state: particle ids[k] had core at sites[k] at the previous sample, ids up
 * to next_id - 1 were given. For the first sample: one site of each initial particle, ids 0, 1,
 * ... (a resume restores a checkpoint's state). Error if a site or id is out of range. */
int tracker_restore(tracker *t, int32_t next_id, int64_t n, const int32_t *sites,
                    const int32_t *ids);

/* One sample at `step`: fills t->particles, t->events and t->totals, and moves the identity
 * state on. An error (out of memory, more than TRACK_MAX_IDS ids) ends the tracking: the
 * tracker is left consistent but its identities are no longer those of the samples. */
int tracker_sample(tracker *t, const replica *r, uint64_t step);

#endif
