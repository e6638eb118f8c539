/* Free energy along q = N_core - N_core(0) from umbrella windows (docs/free-energy.md).
 *
 * Window k samples the unbiased distribution p(q) reweighted by exp(-u_k(q)), u_k the reduced
 * bias (kT) on the integer grid [qmin, qmax]; u_k(q) = INFINITY excludes q. ripen's windows are
 * hard walls (u_k = 0 on [lo_k, hi_k], INFINITY outside), but any table works (harmonic springs).
 * Two estimators of p(q) from the windows' samples, which give the same answer on the same data:
 *   - fe_wham: WHAM (Kumar et al. 1992) on the integer-q histograms, self-consistent iteration
 *     accelerated by SQUAREM extrapolation;
 *   - fe_mbar: MBAR (Shirts & Chodera 2008) on the individual samples, Newton-Raphson on its
 *     convex objective, falling back to the self-consistent update.
 * fe_bootstrap re-runs either on block-resampled data, for errors that respect the time
 * correlation of each window's series; fe_reweight_mu and fe_balance_point move F(q) in mu_core
 * to the growth/dissolution balance and measure the barrier there.
 *
 * Conventions: energies and free energies in kT; F(q) = -ln p(q) + const; F = INFINITY where no
 * sample lies at q. The window free energies f_k = -ln sum_q p(q) exp(-u_k(q)) are reported with
 * f_0 = 0 (window 0 is the reference). Windows are listed in order along q: "neighbouring"
 * windows are k and k + 1. Every function returns 0 (RIPEN_OK) or an error status with a one-line
 * message (ripen_last_error). Pure C, libm only; no function keeps state between calls.
 */
#ifndef RIPEN_FE_H
#define RIPEN_FE_H

#include <stddef.h>
#include <stdint.h>

enum {
    FE_MAX_WINDOWS = 1024,       /* K limit: the solvers hold K x K matrices */
    FE_MAX_SAMPLES = 2147483647, /* samples per window: bootstrap draws index them in 32 bits */
    FE_MAX_GRID = 1 << 24,       /* limit on the number of q values qmax - qmin + 1 */
    FE_MAX_RESAMPLES = 1 << 24,  /* bootstrap resamples: B limit */
    FE_MIN_BLOCKS = 20,          /* bootstrap blocks a window needs for a trustworthy error */
    FE_PURPOSE_BOOTSTRAP = 0x46  /* philox purpose byte of the bootstrap streams ('F'): distinct
                                    from every PURPOSE_* of philox.h, so a bootstrap keyed by the
                                    job seed never reuses a Monte Carlo stream */
};

/* The data of K umbrella windows. Nothing is owned: the arrays belong to the caller. */
typedef struct {
    int nwindows;                  /* K: number of windows, in [1, FE_MAX_WINDOWS] */
    int32_t qmin, qmax;            /* the grid: every integer q in [qmin, qmax] (core sites) */
    const int64_t *nsamples;       /* K: samples of each window (>= 1 each) */
    const int32_t *const *samples; /* K pointers: window k's q samples, in time order (the
                                      bootstrap needs it), in core sites */
    const double *bias; /* K x nq, row-major: bias[k * nq + (q - qmin)] = u_k(q) (kT; finite, or
                           INFINITY where window k excludes q) */
} fe_windows;

/* Number of q values on the grid, nq = qmax - qmin + 1. */
static inline int32_t fe_grid_size(const fe_windows *w) {
    return w->qmax - w->qmin + 1;
}

/* Fills bias (K x nq, as fe_windows.bias) with hard walls: 0 for q in [lo[k], hi[k]], INFINITY
 * elsewhere. Error if a range is empty or leaves the grid. */
int fe_hard_wall_bias(int nwindows, int32_t qmin, int32_t qmax, const int32_t *lo,
                      const int32_t *hi, double *bias);

/* Checks that the windows determine F on the whole grid. Errors (the first one found, naming
 * the window): bad sizes or pointers; a window with no samples; a bias that is NaN or -INFINITY;
 * a window that allows no q; a sample outside the grid or where its window's bias is INFINITY;
 * a grid q that no window allows (a gap); neighbouring windows that share no allowed q; windows
 * not linked through their samples (strong connectivity of "window i has a sample where window j
 * allows q", the condition for unique f_k: Vardi 1985). Warnings, one line each ('\n'-ended,
 * appended to `warnings`, truncated to `cap` bytes; may be NULL with cap 0): neighbouring
 * windows where fewer than `min_overlap` (a fraction in [0, 1], e.g. 0.05) of either window's
 * samples lie at q values sampled by both; allowed q values never sampled (F = INFINITY there). */
int fe_validate(const fe_windows *w, double min_overlap, char *warnings, size_t cap);

/* What a solver tells its caller between iterations (progress lines; a signal to stop). */
typedef struct {
    const char *method; /* "WHAM", "MBAR", "MBAR over states" */
    int iteration;      /* iterations so far */
    double change;      /* the convergence measure now (kT) */
    int resample;       /* the solve is bootstrap resample `resample` of `nresamples` ... */
    int nresamples;     /* ... (0 resamples: the solve on the data) */
} fe_progress;

/* Called by the solvers between iterations: nonzero stops the solve, which returns
 * RIPEN_EINTERRUPTED ("stopped by a signal"). */
typedef int (*fe_poll)(void *context, const fe_progress *progress);

/* When a solver stops. Both solvers measure convergence the same way: the largest change of any
 * f_k that one self-consistent (WHAM / MBAR) update would make, with f_0 held at 0. Besides the
 * tolerance and max_iterations, a solver watches its progress every FE_WATCH_ITERATIONS
 * iterations and stops early when the tolerance is out of reach: the change made no new low
 * over that stretch (stalled: rounding holds it above the tolerance, or the iteration goes
 * round), or falls so slowly that at its measured rate the tolerance lies beyond FE_SLOW_MARGIN
 * times max_iterations (too slow). A solve that converges within max_iterations at the rate it
 * shows never stops early (the margin leaves room for one that speeds up), and one that would
 * not ends sooner with the same verdict (converged = 0). */
enum { FE_WATCH_ITERATIONS = 200 };
#define FE_SLOW_MARGIN 1.5

typedef struct {
    double tolerance;         /* kT: converged when that change is below this (default 1e-10) */
    int max_iterations;       /* at most this many iterations (default 100000) */
    const double *initial_f;  /* K: window free energies to start from (kT), or NULL for 0; the
                                 bootstrap starts every resample from the full-data f */
    fe_poll poll;             /* called between iterations (may be NULL) ... */
    void *poll_context;       /* ... with this */
    int resample, nresamples; /* for the poll: this solve is resample `resample` of
                                 `nresamples` (fe_bootstrap sets them; 0 resamples: the data) */
} fe_solver_options;

fe_solver_options fe_solver_defaults(void);

/* Why a solve stopped. */
typedef enum {
    FE_STOP_CONVERGED, /* the change fell below the tolerance */
    FE_STOP_LIMIT,     /* max_iterations ran out */
    FE_STOP_STALLED,   /* no new lowest change in FE_WATCH_ITERATIONS iterations */
    FE_STOP_SLOW       /* the tolerance lies beyond max_iterations at the measured rate */
} fe_stop;

typedef struct {
    int iterations; /* WHAM: self-consistent map evaluations; MBAR: Newton/self-consistent steps */
    int converged;  /* 1 if max_change < tolerance, else 0 (the result is then unreliable) */
    double max_change; /* kT: the last self-consistent change measured (see above) */
    fe_stop stop;      /* why the solve ended */
    double needed;     /* FE_STOP_SLOW: iterations the measured rate needs to the tolerance */
} fe_info;

/* One line saying how a solve ended ("did not converge: no progress after 2400 iterations, the
 * change stays at 1.9e-10 kT (tolerance 1e-10)"), for warnings. */
void fe_describe_stop(const fe_info *info, double tolerance, char *out, size_t capacity);

/* WHAM on the histograms of the windows (fe_validate's errors apply). Fills F (nq values, kT,
 * min F = 0, INFINITY where no sample lies), f (K values, kT, f_0 = 0) and info. A solve that
 * does not converge within max_iterations still returns 0: check info->converged. */
int fe_wham(const fe_windows *w, const fe_solver_options *opt, double *F, double *f, fe_info *info);

/* MBAR on the samples themselves; same outputs and conventions as fe_wham. */
int fe_mbar(const fe_windows *w, const fe_solver_options *opt, double *F, double *f, fe_info *info);

/* Statistical inefficiency g = 1 + 2 sum_{t>=1} rho(t) of a time series (n >= 1), from the
 * biased autocovariance truncated by Geyer's initial monotone sequence (1992); g >= 1 (1 for a
 * constant series). Correlations longer than 512 lags are measured on the series coarse-grained
 * by pair means, so the cost stays O(512 n) however slowly the series decorrelates. */
int fe_statistical_inefficiency(const double *x, int64_t n, double *g);

typedef enum { FE_WHAM, FE_MBAR } fe_method;

#define FE_BLOCK_FACTOR 5.0 /* default bootstrap block length, in statistical inefficiencies */

typedef struct {
    fe_method method;         /* estimator run on the data and on every resample */
    int nresamples;           /* B: bootstrap resamples, in [2, FE_MAX_RESAMPLES] (e.g. 200) */
    uint64_t seed;            /* key of the philox streams (resample b, window k) */
    int32_t q_ref;            /* F and its errors are reported relative to F(q_ref) */
    double block_factor;      /* block length / g (0 = FE_BLOCK_FACTOR); blocks never shorter
                                 than 1 sample (a tiny factor gives the i.i.d. bootstrap) */
    fe_solver_options solver; /* for every solve (initial_f is replaced by the data's f) */
} fe_bootstrap_options;

/* What fe_bootstrap found; arrays allocated by fe_bootstrap, released by fe_bootstrap_free. */
typedef struct {
    int nwindows;       /* K */
    int32_t qmin, qmax; /* the grid (core sites) */
    int nresamples;     /* B */
    double *F;          /* nq: F(q) - F(q_ref) from all the data (kT); INFINITY where unsampled */
    double *sigma;      /* nq: sd over resamples of F(q) - F(q_ref) (kT); 0 at q_ref; INFINITY
                           where unsampled in the data or in all but < 2 resamples */
    int *unsampled;     /* nq: resamples in which q had no sample (left out of sigma) */
    double *f;          /* K: window free energies from all the data (kT, f_0 = 0) */
    double *g;          /* K: statistical inefficiency of each window's q series (samples) */
    int64_t *block;     /* K: bootstrap block length, min(n_k, ceil(block_factor g_k)) (samples) */
    double *resamples; /* B x nq, row b = resample b: F(q) - F(q_ref) (kT; INFINITY if unsampled) */
    fe_info info;      /* the solve on all the data */
    int unconverged;   /* resamples whose solve did not converge (kept) */
    int redrawn;       /* resamples drawn again because their windows were not linked */
    int short_windows; /* windows with n_k < FE_MIN_BLOCKS * block[k]: too few independent
                          stretches for the bootstrap to see their share of the error */
} fe_bootstrap_result;

/* Bootstrap errors of F that respect time correlation. Solves on all the data, then B times:
 * each window's series is replaced by a circular block bootstrap of itself (n_k samples from
 * blocks of block[k] consecutive samples starting at random points, wrapping at the end), the
 * estimator re-run from the data's f, and F - F(q_ref) recorded; sigma is the sd of those. A
 * resample that leaves the windows unlinked or q_ref unsampled is drawn again (counted in
 * `redrawn`). Resample b, window k, attempt a draws from philox streams keyed by `seed` with
 * index b | a << 24 | chunk << 32, task k, purpose FE_PURPOSE_BOOTSTRAP: results depend only on
 * (data, options), whatever the order or machine. Error if fe_validate fails, q_ref is off the
 * grid or unsampled, or a resample stays unlinked after 100 draws. Check `short_windows`: a
 * window that holds only a few correlation times looks precise to any resampling (at l = n_k
 * every resample is a rotation of the same series) and needs longer sampling, not a bootstrap. */
int fe_bootstrap(const fe_windows *w, const fe_bootstrap_options *opt, fe_bootstrap_result *r);
void fe_bootstrap_free(fe_bootstrap_result *r);

/* F'(q) = F(q) - dmu * q, shifted so min F' = 0 (INFINITY stays INFINITY): the profile at
 * mu_core + dmu, since the energy holds mu_core only as -mu_core * N_core. out may equal F. */
int fe_reweight_mu(const double *F, int32_t qmin, int32_t qmax, double dmu, double *out);

typedef struct {
    double dmu;          /* kT: dmu* = (F(q_end) - F(q_start)) / (q_end - q_start) */
    double dmu_sd;       /* kT: sd of dmu* over the resamples (INFINITY if fewer than 2) */
    double barrier;      /* kT: max_{q in [q_start, q_end]} F'(q) - F'(q_start), F' at dmu* */
    int32_t q_top;       /* where that maximum lies (core sites; first of equal maxima) */
    double barrier_mean; /* kT: mean over resamples of the barrier, each at its own dmu*
                            (= barrier without resamples) */
    double barrier_sd;   /* kT: sd over resamples of the barrier (INFINITY if fewer than 2) */
    int nused;           /* resamples with F finite on all of [q_start, q_end] (the others are
                            left out) */
} fe_balance;

/* The balance point and barrier of F (nq values on [qmin, qmax]) between q_start < q_end, which
 * must be finite on all of [q_start, q_end]; with resamples (B x nq as in fe_bootstrap_result,
 * or NULL with B = 0) also their spread. */
int fe_balance_point(const double *F, int32_t qmin, int32_t qmax, int32_t q_start, int32_t q_end,
                     const double *resamples, int nresamples, fe_balance *out);

/* ---- MBAR over general states (fe_mbar_states.c) ----
 *
 * States that differ in more than a bias on q (a ladder in the shell's cohesion beside umbrella
 * windows): the reduced potential of every pooled sample in every state, as a dense matrix. The
 * samples are pooled state by state (the first nsamples[0] drawn from state 0, ...). */
typedef struct {
    int nstates;             /* K, in [1, FE_MAX_WINDOWS] */
    int64_t nsamples_total;  /* N = sum of nsamples */
    const int64_t *nsamples; /* K: samples drawn from each state (>= 1) */
    const double *u;         /* K x N, row-major: u[k * N + n] = u_k(x_n) (kT; INFINITY where
                                state k excludes x_n, e.g. outside its walls) */
} fe_states;

/* The state free energies f (K, f_0 = 0): Newton's method on MBAR's convex objective, from
 * opt->initial_f or else from each state's mean u over its own samples (the first nsamples[0]
 * pooled samples are state 0's, and so on). Returns 0 with info->converged = 0 if
 * max_iterations ran out. */
int fe_mbar_states(const fe_states *s, const fe_solver_options *opt, double *f, fe_info *info);

/* Whether every state is linked to state 0 both ways in the graph with an edge a -> b when one of
 * a's own samples lies inside b (finite u_b): *unlinked = the first state that is not, or -1.
 * MBAR's f is determined only if they all are; a state that never left part of its range (a
 * window that never moved q) breaks the chain even when its neighbours visit that part. */
int fe_states_linked(const fe_states *s, int *unlinked);

/* ln w_n of every sample in a target state of reduced potential u_target (N values), normalised
 * so that sum_n w_n = 1: expectations in the target are sums over w_n. */
int fe_mbar_states_log_weights(const fe_states *s, const double *f, const double *u_target,
                               double *log_w);

#endif
