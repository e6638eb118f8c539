/* F(q) of a window set: the free energy of adding q core sites, from the umbrella windows'
 * q samples (WHAM and MBAR, bootstrap errors: fe.h), reweighted in mu_core to the balance point
 * mu_core* where growing one full layer neither gains nor costs free energy, and the barrier on
 * the way (MODEL.md "Observables", docs/free-energy.md). Stored under /windows/<name>/fq.
 */
#ifndef RIPEN_FQ_H
#define RIPEN_FQ_H

#include <hdf5.h>
#include <stdint.h>

#include "ripen/driver/codec.h"
#include "ripen/driver/job.h"
#include "ripen/driver/task.h"
#include "ripen/driver/task_kind.h"

typedef struct fq_result {
    int failed;      /* 1: the data did not determine F(q); see `error` */
    char error[512]; /* why (the windows are still in the file) */
    int nq;          /* q grid: q_min .. q_min + nq - 1 (sites) */
    int q_min;
    double *f_sampling;            /* WHAM F(q) at the sampling mu_core (kT, min 0) */
    double *f_wham, *sigma_wham;   /* WHAM F(q) at mu_core*, F(q_start) = 0 (kT) */
    double *f_mbar, *sigma_mbar;   /* MBAR F(q) at mu_core* (kT) */
    double mu_sampling;            /* mu_core the windows sampled at (kT) */
    double mu_star, mu_star_sigma; /* balance point mu_core* (kT), WHAM, bootstrap sd */
    int q_start, q_end;            /* one layer: q from q_start to q_end = q_start + layer */
    double barrier_wham, barrier_wham_sigma; /* max F - F(q_start) over the layer (kT) */
    double barrier_mbar, barrier_mbar_sigma;
    int wham_iterations, wham_converged;
    int mbar_iterations, mbar_converged;
    int nwindows;
    double *inefficiency; /* statistical inefficiency g of each window's q series */
    int bootstrap_samples;
    char warnings[2048]; /* poor overlap etc.; "" if none */
    /* "" or why the set's shell is not the one it started with (shell_check.h): a "shelled"
     * F(q) that no longer has its shell; set whether or not F(q) was determined */
    char shell_warning[512];
} fq_result;

/* Computes F(q) for window set `set` from its windows' records (records[k] = window k); the
 * bootstrap's streams are keyed by `seed` and the set's index; `o` gives the resamples and the
 * solvers' poll. Solves that do not converge are kept and said in `warnings`. */
int fq_compute(const task_set *set, task_record *const *records, uint64_t seed,
               const set_analysis_options *o, fq_result *out);
void fq_free(fq_result *f);

/* "3.97 +- 0.29 kT"; "3.97 kT (error undetermined: no usable bootstrap resample)" when sigma is
 * not finite; "undetermined" when the value is not. */
void fq_format(char *out, size_t capacity, double value, double sigma, int decimals);

/* The cost model of `ripen check` (task_kind.h, analysis_cost): iterations of a solve that
 * converges as they usually do (Newton steps for MBAR, SQUAREM-accelerated maps for WHAM; a
 * bootstrap resample starts from the data's answer and needs fewer), and the rate of terms on
 * one core (measured: ~1e8 per second). */
enum {
    FQ_TYPICAL_WHAM_MAPS = 50,
    FQ_TYPICAL_MBAR_ITERATIONS = 15,
    FQ_TYPICAL_RESAMPLE_WHAM_MAPS = 20,
    FQ_TYPICAL_RESAMPLE_MBAR_ITERATIONS = 4
};
#define FQ_TERMS_PER_SECOND 1e8

/* Terms of one WHAM map and one MBAR iteration on K windows over nq values of q holding n
 * samples in all, each q lying in `shared` windows (states). */
double fq_wham_map_terms(double nq, double shared, double n);
double fq_mbar_iteration_terms(double K, double shared, double n);

/* The window set's analysis cost (task_kind.analysis_cost). */
void fq_analysis_cost(const task_set *set, int bootstrap, analysis_cost *cost);

/* The window set's analysis (task_kind.analyze): F(q) from every window. When the samples do not
 * determine F (windows not linked, a layer not reached), the result has `failed` set with the
 * reason and the call still succeeds: the raw window data are kept either way, and `ripen
 * analyze` can be rerun. Only I/O and memory errors fail the call. */
int fq_analyze(const job *j, const task_set *set, task_loader load, void *context,
               const set_analysis_options *o, void **result);
/* The result's fields for sharing it between ranks (task_kind.code_result). */
void fq_code(codec *c, const task_set *set, void **result);
/* The same for a result held inside another (its arrays NULL before reading). */
void fq_code_fields(codec *c, fq_result *f);
void fq_release(void *result);

/* Creates /windows/<name>/fq in `set_group` (collective: every rank calls it with the same
 * result) and, on the rank with `writer` set, writes the data. */
int fq_write(hid_t set_group, const task_set *set, const void *result, int writer);
/* The full profile, as `ripen analyze` prints it. */
void fq_print(const task_set *set, const void *result);

#endif
