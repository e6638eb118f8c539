/* The crack free energy of an ensemble, by brute force (the paper's method: "estimated from brute
 * force simulation by accumulating a histogram"; issue 19), and the transmission of cracks.
 * Private to the ensembles kind; docs/hdf5-layout.md, "Crack free energy".
 *
 * Over the shelled basin (crack_basin_samples: every sample up to the onset of growth, all of
 * them for a replica that never took off) the exposed core c is histogrammed over every replica:
 *     F(c) = -ln P(c),   beta F_crack = -ln P(c > 0),
 * with a percentile bootstrap over replicas (95%; resample b draws from Philox keyed by the job
 * seed, index b, the set's first task, PURPOSE_CRACK_BOOTSTRAP: a run, a resume and a merge give
 * the same numbers bit for bit). The variant over replicas with an onset only (those that took
 * off) is reported beside it: replicas that never took off spent their whole run in the basin,
 * and the two agree when that choice matters little.
 *
 * Transmission kappa: of the crack episodes (crack.h) that began in the basin, the fraction after
 * which the core had grown (episode growth > 0, the complement of "healed"), with the same
 * bootstrap. So that k_shelled ~ k_free P(c > 0) kappa can be checked term by term: ln(tau_s /
 * tau_f) against beta F_crack - ln kappa. Everything is as fine as the sample interval.
 */
#ifndef RIPEN_ENSEMBLE_BASIN_H
#define RIPEN_ENSEMBLE_BASIN_H

#include <hdf5.h>
#include <stdint.h>

#include "ripen/driver/codec.h"
#include "ripen/engine/crack.h"

/* One replica's share. */
typedef struct {
    int64_t samples;         /* basin samples */
    int64_t nc;              /* histogram length: its largest c + 1 */
    int64_t *count;          /* [nc] basin samples with exposed core c */
    int took_off;            /* 1: an onset exists (the basin ends there) */
    int64_t episodes, grew;  /* crack episodes begun in the basin; of them, the core grew */
    int64_t closed;          /* of them, closed before the series ended */
    int64_t closed_duration; /* MC steps the closed ones lasted, summed */
} basin_replica;

/* Fills `b` from a replica's series (allocates b->count). */
int basin_replica_of(const crack_series *s, basin_replica *b);
void basin_replica_free(basin_replica *b);

typedef struct {
    double value, lower, upper; /* estimate and 95% percentile bootstrap interval */
} basin_estimate;

typedef struct {
    int64_t replicas, took_off;    /* replicas; of them with an onset */
    int64_t samples;               /* basin samples of all replicas */
    int nc;                        /* c = 0 .. nc - 1 */
    int64_t *count;                /* [nc] samples at c */
    double *f, *f_lower, *f_upper; /* [nc] -ln P(c) (inf where never sampled) and 95% CI */
    basin_estimate p_crack;        /* P(c > 0) */
    basin_estimate f_crack;        /* -ln P(c > 0) (kT) */
    basin_estimate f_crack_onset;  /* the same over the replicas that took off */
    int64_t episodes, grew;        /* basin crack episodes; of them, the core grew */
    basin_estimate kappa;          /* grew / episodes (NaN without episodes) */
    double mean_duration;          /* MC steps, closed basin episodes (NaN if none) */
    int bootstrap;                 /* resamples */
} basin_result;

/* The ensemble's result from its replicas' shares; resamples keyed by (seed, stream). */
int basin_compute(const basin_replica *r, int64_t n, int bootstrap, uint64_t seed, uint32_t stream,
                  basin_result *out);
void basin_result_free(basin_result *b);
/* The fields for sharing between ranks (arrays allocated when reading). */
void basin_code(codec *c, basin_result *b);

/* Creates /ensembles/<name>/crack_free_energy in `set_group` (replacing one that exists),
 * collectively; the rank with `writer` set writes the data. */
int basin_write(hid_t set_group, const char *set_name, const basin_result *b, int writer);
/* One line for the run's summary and `ripen analyze`. */
void basin_print(const char *set_name, const basin_result *b);

#endif
