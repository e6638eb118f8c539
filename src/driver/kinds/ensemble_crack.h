/* The crack datasets of an ensemble's group (private to the ensembles kind; docs/hdf5-layout.md):
 * per replica the first exposure, the onset of growth, the growth time, the shell's change at
 * doubling and the crack episodes counted [R], and the episodes themselves [R, E]. All but the
 * shell's change are computed from the replica's sampled series when the file is written
 * (include/ripen/engine/crack.h), so a run, a resume and a merge write the same numbers: they read
 * the same series. */
#ifndef RIPEN_ENSEMBLE_CRACK_H
#define RIPEN_ENSEMBLE_CRACK_H

#include <hdf5.h>
#include <stdint.h>

#include "ripen/engine/crack.h"
#include "ripen/driver/kinds/ensemble.h"

enum {
    CRACK_FIRST_EXPOSURE,
    CRACK_ONSET,
    CRACK_GROWTH_TIME,
    CRACK_SHELL_CHANGE,
    CRACK_EPISODES,
    CRACK_HEALED,
    CRACK_EPISODE_START,
    CRACK_EPISODE_END,
    CRACK_EPISODE_PEAK,
    CRACK_EPISODE_GROWTH,
    CRACK_EPISODE_CLOSED,
    CRACK_DATASETS
};

/* A replica's series as crack.h reads them (the size is the ensemble's doubling criterion's). */
crack_series ensemble_crack_series(const ensemble_spec *e, const replica_result *x);

/* Creates the datasets in `g` for `replicas` replicas with room for `episodes` episodes each;
 * d[k] < 0 where one failed. Collective. */
void ensemble_crack_create(hid_t g, hsize_t replicas, hsize_t episodes, hid_t *d);

/* Writes n replicas' crack data (collective: every rank calls it in every round, n = 0 if it
 * has none left): the summaries with independent writes, the episodes collectively. */
int ensemble_crack_write(const hid_t *d, const ensemble_spec *e, int n, const int64_t *members,
                         task_record *const *records);

/* Reads a replica's N_shell at doubling back (merge, analyze): -1 if it did not double. */
int ensemble_crack_load(hid_t g, int64_t member, const task_record *r, int64_t *shell_at_tau);

/* Raw bytes of the datasets for `replicas` replicas and `episodes` episodes each. */
double ensemble_crack_bytes(double replicas, double episodes);

#endif
