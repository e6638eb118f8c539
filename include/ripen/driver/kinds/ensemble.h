/* The "ensembles" task kind: independent replicas, each run until its core doubles or a step
 * limit (docs/jobs.md, "Ensembles"). One task is one replica; its record holds the doubling
 * times and the sampled time series. Stored under /ensembles/<name> (docs/hdf5-layout.md). */
#ifndef RIPEN_ENSEMBLE_H
#define RIPEN_ENSEMBLE_H

#include <stdint.h>

#include "ripen/engine/lambda.h"
#include "ripen/engine/observe.h"
#include "ripen/driver/task.h"
#include "ripen/driver/task_kind.h"

extern const task_kind task_kind_ensembles;

enum { ENSEMBLE_MAX_PASSAGE = 32 };
/* Core sites a cluster needs to be a tracked particle, by default: one column of the paper's
 * 4 layers (smaller clusters are debris: a monomer in solution is not a particle). */
enum { ENSEMBLE_TRACK_MIN_CORE = 4 };

typedef struct {
    int replicas;                 /* number of independent replicas */
    uint64_t max_steps;           /* step limit (MC steps); replicas not doubled are censored */
    uint64_t sample_interval;     /* MC steps between samples of the time series */
    uint64_t snapshot_interval;   /* MC steps between lattice snapshots (0 = none) */
    int snapshot_replicas;        /* snapshots are kept for replicas 0 .. this - 1 */
    int stop_at_doubling;         /* 1: a replica stops when the criterion doubles */
    doubling_criterion criterion; /* which size defines tau (default: largest cluster) */
    /* Exact first-passage times (forward flux sampling's brute-force side): the first moment
     * the order parameter reaches each level, checked after every accepted move. */
    lambda_kind passage_measure;                  /* what the levels measure */
    int npassage;                                 /* levels (0: none recorded) */
    int64_t passage_levels[ENSEMBLE_MAX_PASSAGE]; /* increasing, relative to the start */
    int stop_at_passage;                          /* 1: a replica stops at the last level */
    /* Per-particle tracking (tracking.h), on when the system starts from a list of particles:
     * the core sites a cluster needs to be a particle; 0 = not tracked. */
    int32_t track_min_core;
    /* The shell's lifetime: the first moment N_shell falls to (1 - level) N_shell(0) or below,
     * for each level (a fraction of the initial shell lost), checked after every accepted move. */
    int nshell_passage;                                /* levels (0: none recorded) */
    double shell_passage_levels[ENSEMBLE_MAX_PASSAGE]; /* increasing, in (0, 1] */
    int stop_at_shell_passage; /* 1: a replica stops when its shell has lost the last level */
} ensemble_spec;

struct particle_series; /* kinds/ensemble_particles.h: a tracked replica's particles */

/* One replica's result (task_record.data). The series grow as they are sampled. */
typedef struct {
    int64_t initial[DOUBLING_CRITERIA]; /* cluster, A_core, N_core at step 0 */
    int64_t tau[DOUBLING_CRITERIA];     /* first step at 2x initial; -1 = censored */
    int64_t nsamples, capacity;         /* samples taken (steps 0, dt, 2 dt, ...), room for */
    int32_t *n_core, *n_shell;          /* sites, per sample */
    int32_t *a_core, *a_shell;          /* projected areas (columns), per sample */
    int32_t *cluster;                   /* largest core cluster (sites), per sample */
    int32_t *exposed;                   /* exposed core (sites, replica_exposed_core), per sample */
    double *energy;                     /* kT, per sample */
    int64_t shell_at_tau;               /* N_shell at tau by the ensemble's criterion; -1 before */
    int keeps_snapshots;                /* this replica's lattice snapshots are kept */
    double passage[ENSEMBLE_MAX_PASSAGE]; /* MC steps (fractional: the attempt within the step)
                                             to reach each passage level; -1 = not reached */
    double shell_passage[ENSEMBLE_MAX_PASSAGE]; /* the same for each shell-loss level */
    int64_t nsnapshots, snapshot_capacity;
    uint8_t *snapshots;                /* nsnapshots x nsites states */
    uint64_t sampled_at;               /* replica.changes at the last sample (not stored) */
    struct particle_series *particles; /* per-particle series; NULL if not tracked */
} replica_result;

static inline const ensemble_spec *ensemble_of(const task_set *set) {
    return set->spec;
}
static inline replica_result *replica_result_of(const task_record *r) {
    return r->data;
}

/* Samples in an ensemble's time series at most (including t = 0) and snapshots per kept
 * replica. */
int64_t ensemble_series_length(const ensemble_spec *e);
int64_t ensemble_snapshot_count(const ensemble_spec *e);

#endif
