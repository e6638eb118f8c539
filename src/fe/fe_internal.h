/* What the fe_*.c files share (defined in fe_validate.c): the sparse table of which windows
 * allow each q (hard walls make most of the K x nq bias table INFINITY, and both solvers only
 * ever sum over the allowed entries), the checks, log-sum-exp, compensated sums, and the
 * convergence measure and starting point both solvers use. Not installed: library-internal. */
#ifndef RIPEN_FE_INTERNAL_H
#define RIPEN_FE_INTERNAL_H

#include "ripen/fe/fe.h"

#include <math.h>
#include <stdint.h>

typedef struct {
    int32_t nq;      /* grid size */
    int64_t *start;  /* nq + 1 offsets into window / bias: the entries of grid index i */
    int32_t *window; /* windows with finite bias at that q, increasing */
    double *bias;    /* their u_k(q) (kT) */
} fe_allowed;

int fe_allowed_build(fe_allowed *a, const fe_windows *w);
void fe_allowed_free(fe_allowed *a);

/* fe_validate's errors, without the warnings: what the solvers need before they start. */
int fe_check(const fe_windows *w);

/* fe_wham and fe_mbar without their fe_check, for data already checked (the bootstrap checks
 * each resample once, to tell unlinked resamples from failures). */
int fe_wham_checked(const fe_windows *w, const fe_solver_options *opt, double *F, double *f,
                    fe_info *info);
int fe_mbar_checked(const fe_windows *w, const fe_solver_options *opt, double *F, double *f,
                    fe_info *info);

/* Running log-sum-exp: ln sum exp(v) over the values added, without overflow or underflow.
 * Empty: -INFINITY. */
typedef struct {
    double max; /* largest value added so far */
    double sum; /* sum of exp(v - max) */
} fe_lse;

static inline fe_lse fe_lse_empty(void) {
    return (fe_lse){-INFINITY, 0.0};
}
void fe_lse_add(fe_lse *acc, double v);
double fe_lse_value(const fe_lse *acc);

/* Neumaier's compensated sum. The solvers compare objectives that are sums of ~1e5 terms and
 * differ only in their 12th digit near convergence: a plain running sum rounds that away (its
 * error grows with the number of terms), this one keeps it (error ~ one rounding per term). */
typedef struct {
    double sum;   /* running sum */
    double carry; /* the low-order parts lost from `sum` */
} fe_sum;

static inline void fe_sum_add(fe_sum *s, double v) {
    const double t = s->sum + v;
    s->carry += fabs(s->sum) >= fabs(v) ? (s->sum - t) + v : (v - t) + s->sum;
    s->sum = t;
}

static inline double fe_sum_value(const fe_sum *s) {
    return s->sum + s->carry;
}

/* max_k |ln(S_k / N_k) - ln(S_0 / N_0)|: how far one self-consistent update moves the f_k with
 * f_0 held at 0, given S_k = sum over the data of the posterior weight of window k. */
double fe_self_consistent_change(const double *S, const int64_t *N, int K);

/* Shifts the finite entries of F so that their minimum is 0; INFINITY stays. */
void fe_shift_min(double *F, int32_t nq);

fe_solver_options fe_solver_or_default(const fe_solver_options *opt);

/* A solve's progress (fe.h, FE_WATCH_ITERATIONS): the lowest change so far, and where it stood
 * at the last look. */
typedef struct {
    const fe_solver_options *opt;
    const char *method;
    double best, mark;
    int mark_iteration;
} fe_watch;

fe_watch fe_watch_start(const fe_solver_options *opt, const char *method);

/* After each measurement of the change (info->iterations, info->max_change): sets *stop and
 * info->stop / info->converged when the solve ends (converged, max_iterations, stalled, too
 * slow); polls the caller. Returns RIPEN_EINTERRUPTED if the poll asks to stop, else RIPEN_OK. */
int fe_watch_step(fe_watch *w, fe_info *info, int *stop);

/* Checks the solver options and sets f (K values) to the starting point, f_0 = 0. */
int fe_solver_start(const fe_solver_options *opt, int K, double *f);

#endif
