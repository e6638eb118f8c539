/* Cracks in the shell and the onset of growth, read from a replica's sampled series (the paper:
 * "the initial nanoparticle persists at a constant size until a fluctuation in the shell exposes
 * the core, after which the core can grow rapidly ... If the shell heals by covering the exposed
 * core, growth stops").
 *
 * Everything here is a pure function of the series an ensemble samples every `interval` MC
 * steps (docs/hdf5-layout.md): the exposed core (replica_exposed_core), N_core and the size the
 * doubling criterion measures. So the result file's crack datasets are recomputed from the
 * series by whoever writes the file (a run, a resume, a merge) and cannot drift from them, and
 * their resolution is the sample interval: a crack that opens and heals between two samples is
 * not seen.
 */
#ifndef RIPEN_CRACK_H
#define RIPEN_CRACK_H

#include <stdint.h>

/* A crack episode: a maximal run of samples with exposed core > 0. */
typedef struct {
    int64_t start;  /* MC steps: its first sample */
    int64_t end;    /* MC steps: the first sample with no exposed core again, or, if the series
                       ended first (closed = 0), the last sample */
    int32_t peak;   /* sites: the most exposed core sampled during it */
    int64_t growth; /* sites: N_core at `end` minus N_core at the last sample before `start`
                       (the first sample if the series starts exposed): what the core gained
                       while it could have been exposed */
    uint8_t closed; /* 1 if the core was covered again before the series ended */
} crack_episode;

/* Healed: covered again with no net growth (the paper's "growth stops"). */
static inline int crack_healed(const crack_episode *e) {
    return e->closed && e->growth <= 0;
}

/* The series of one replica. */
typedef struct {
    int64_t n;              /* samples, at steps 0, interval, 2 interval, ... */
    int64_t interval;       /* MC steps between samples */
    const int32_t *exposed; /* exposed core sites, per sample */
    const int32_t *n_core;  /* N_core, per sample */
    const int32_t *size;    /* what the doubling criterion measures, per sample */
    int64_t initial;        /* that size at step 0 */
    int64_t tau;            /* the doubling time by that criterion, -1 if not doubled */
} crack_series;

/* The next episode of `s` that starts at or after sample *k: 1 and the episode in *e, with *k
 * moved past it; 0 if there is none. */
int crack_next_episode(const crack_series *s, int64_t *k, crack_episode *e);

/* The episodes of `s`: writes the first `capacity` of them to `out` (may be NULL with capacity
 * 0) and returns how many there are. */
int64_t crack_episodes(const crack_series *s, crack_episode *out, int64_t capacity);

/* Growth is "on" once the size exceeds the initial one by more than this fraction (the paper's
 * "constant size" read with room for a few sites of fluctuation). */
#define CRACK_ONSET_PERCENT 5

typedef struct {
    int64_t first_exposure; /* MC steps: the first sample with exposed core; -1: none */
    int64_t onset;          /* MC steps: the last sample, no later than tau, at which the size was
                               within CRACK_ONSET_PERCENT of its initial value (at most 1.05 x):
                               growth took off after it. -1 if the replica did not double and its
                               last sample is still within (it has not taken off) */
    int64_t growth_time;    /* tau - onset (MC steps); -1 if either is undefined */
    int64_t episodes;       /* crack episodes */
    int64_t healed;         /* of them healed (crack_healed) */
} crack_summary;

crack_summary crack_summarise(const crack_series *s);

/* The shelled basin: the samples before growth took off, 0 .. onset / interval, or every sample
 * of a replica that never took off (onset -1: it never left the basin). Returns how many of the
 * series' first samples it holds. */
int64_t crack_basin_samples(const crack_series *s, const crack_summary *c);

#endif
