/* WHAM (Kumar, Rosenberg, Bouzida, Swendsen & Kollman, J. Comput. Chem. 13, 1011 (1992)) on the
 * integer-q histograms.
 *
 * With H(q) the samples of all windows at q and N_k the samples of window k, the
 * maximum-likelihood p(q) and f_k satisfy
 *     p(q) = H(q) / sum_k N_k exp(f_k - u_k(q)),      f_k = -ln sum_q p(q) exp(-u_k(q)).
 * q is an integer, so the histograms have no binning error: this is exact WHAM, the same
 * maximum-likelihood problem MBAR solves on the samples. Everything is done in logarithms
 * (ln p, f) with log-sum-exp, so no exp(-u) or p ever under- or overflows; INFINITY biases are
 * simply absent from the sparse table.
 *
 * Iteration: the map f -> Phi(f) above, with f_0 held at 0. Plain iteration converges
 * linearly, and slowly when windows overlap little (thousands of steps for ten windows sharing
 * three q values each), so it is accelerated with SQUAREM (Varadhan & Roland, Scand. J. Stat.
 * 35, 335 (2008)): from x, with x1 = Phi(x), x2 = Phi(x1), r = x1 - x, v = x2 - 2 x1 + x and
 * alpha = -|r| / |v| (at most -1), the next point is x - 2 alpha r + alpha^2 v. Phi is an EM
 * (minorise-maximise) step of the likelihood, so it never increases the objective
 *     L(f) = sum_q H(q) ln sum_k N_k exp(f_k - u_k(q)) - sum_k N_k f_k;
 * the extrapolated point is kept only if L there is no larger than at x2, otherwise alpha is
 * halved towards -1, where the point is x2 itself. So L falls monotonically. */
#include "fe_internal.h"

#include "ripen/engine/error.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    const fe_windows *w;
    fe_allowed allowed;
    int K;
    int32_t nq;
    double *log_h; /* nq: ln H(q) (-INFINITY where H = 0) */
    double *h;     /* nq: H(q) */
    double *log_n; /* K: ln N_k */
    double *log_p; /* nq: scratch, ln p(q) */
    fe_lse *acc;   /* K: scratch, per-window log-sum-exp */
    double *x[4];  /* K each: x, x1 = Phi(x), x2 = Phi(x1), the extrapolated point */
} wham;

static void wham_free(wham *s) {
    fe_allowed_free(&s->allowed);
    free(s->log_h);
    free(s->h);
    free(s->log_n);
    free(s->log_p);
    free(s->acc);
    for (int i = 0; i < 4; ++i) free(s->x[i]);
}

static int wham_init(wham *s, const fe_windows *w) {
    *s = (wham){.w = w, .K = w->nwindows, .nq = fe_grid_size(w)};
    int status = fe_allowed_build(&s->allowed, w);
    if (status) return status;
    s->log_h = malloc(sizeof *s->log_h * (size_t)s->nq);
    s->h = calloc((size_t)s->nq, sizeof *s->h);
    s->log_p = malloc(sizeof *s->log_p * (size_t)s->nq);
    s->log_n = malloc(sizeof *s->log_n * (size_t)s->K);
    s->acc = malloc(sizeof *s->acc * (size_t)s->K);
    int ok = s->log_h && s->h && s->log_p && s->log_n && s->acc;
    for (int i = 0; i < 4; ++i) ok = (s->x[i] = calloc((size_t)s->K, sizeof(double))) && ok;
    if (!ok) {
        wham_free(s);
        return ripen_fail(RIPEN_ENOMEM, "out of memory for WHAM");
    }
    for (int k = 0; k < s->K; ++k) {
        s->log_n[k] = log((double)w->nsamples[k]);
        for (int64_t t = 0; t < w->nsamples[k]; ++t) s->h[w->samples[k][t] - w->qmin] += 1;
    }
    for (int32_t i = 0; i < s->nq; ++i) s->log_h[i] = s->h[i] > 0 ? log(s->h[i]) : -INFINITY;
    return RIPEN_OK;
}

/* ln sum_k N_k exp(f_k - u_k(q)) at grid index i: the log of the denominator of p(q). */
static double log_denominator(const wham *s, const double *f, int32_t i) {
    fe_lse acc = fe_lse_empty();
    for (int64_t e = s->allowed.start[i]; e < s->allowed.start[i + 1]; ++e) {
        const int k = s->allowed.window[e];
        fe_lse_add(&acc, s->log_n[k] + f[k] - s->allowed.bias[e]);
    }
    return fe_lse_value(&acc);
}

/* ln p(q) for all q at the window free energies f (unnormalised). */
static void log_p(const wham *s, const double *f, double *out) {
    for (int32_t i = 0; i < s->nq; ++i)
        out[i] = s->h[i] > 0 ? s->log_h[i] - log_denominator(s, f, i) : -INFINITY;
}

/* out = Phi(f): the self-consistent update, with out_0 = 0. */
static void wham_map(wham *s, const double *f, double *out) {
    log_p(s, f, s->log_p);
    for (int k = 0; k < s->K; ++k) s->acc[k] = fe_lse_empty();
    for (int32_t i = 0; i < s->nq; ++i) {
        if (s->h[i] == 0) continue;
        for (int64_t e = s->allowed.start[i]; e < s->allowed.start[i + 1]; ++e)
            fe_lse_add(&s->acc[s->allowed.window[e]], s->log_p[i] - s->allowed.bias[e]);
    }
    const double ref = fe_lse_value(&s->acc[0]);
    for (int k = 0; k < s->K; ++k) out[k] = ref - fe_lse_value(&s->acc[k]);
}

/* The negative log-likelihood (up to a constant) that Phi never increases. */
static double objective(const wham *s, const double *f) {
    fe_sum L = {0, 0};
    for (int32_t i = 0; i < s->nq; ++i)
        if (s->h[i] > 0) fe_sum_add(&L, s->h[i] * log_denominator(s, f, i));
    for (int k = 0; k < s->K; ++k) fe_sum_add(&L, -(double)s->w->nsamples[k] * f[k]);
    return fe_sum_value(&L);
}

static double max_abs_difference(const double *a, const double *b, int K) {
    double m = 0;
    for (int k = 0; k < K; ++k)
        if (!(fabs(a[k] - b[k]) <= m)) m = fabs(a[k] - b[k]);
    return m;
}

/* One SQUAREM step from x, with x1 = Phi(x) known: evaluates x2 = Phi(x1) and leaves the next
 * point in x. */
static void squarem_step(wham *s, double *x, const double *x1) {
    double *x2 = s->x[2], *trial = s->x[3];
    const int K = s->K;
    wham_map(s, x1, x2);
    double rr = 0, vv = 0;
    for (int k = 0; k < K; ++k) {
        const double r = x1[k] - x[k], v = x2[k] - 2 * x1[k] + x[k];
        rr += r * r, vv += v * v;
    }
    double alpha = vv > 0 ? -sqrt(rr / vv) : -1.0;
    if (!(alpha < -1.0)) alpha = -1.0;
    const double L2 = alpha < -1.0 ? objective(s, x2) : 0.0;
    while (alpha < -1.0) {
        for (int k = 0; k < K; ++k) {
            const double r = x1[k] - x[k], v = x2[k] - 2 * x1[k] + x[k];
            trial[k] = x[k] - 2 * alpha * r + alpha * alpha * v;
        }
        const double L = objective(s, trial);
        if (isfinite(L) && L <= L2) break;
        /* Halve the distance to -1. Each try costs an objective evaluation, so a failed step
         * beyond |alpha| = 64 falls back to x2 at once instead of halving its way down. */
        alpha = alpha < -64.0 ? -1.0 : (alpha - 1.0) / 2;
    }
    const double *next = alpha < -1.0 ? trial : x2;
    for (int k = 0; k < K; ++k) x[k] = next[k];
}

int fe_wham(const fe_windows *w, const fe_solver_options *options, double *F, double *f,
            fe_info *info) {
    const int status = fe_check(w);
    return status ? status : fe_wham_checked(w, options, F, f, info);
}

int fe_wham_checked(const fe_windows *w, const fe_solver_options *options, double *F, double *f,
                    fe_info *info) {
    int status;
    const fe_solver_options opt = fe_solver_or_default(options);
    wham s;
    if ((status = wham_init(&s, w))) return status;
    double *x = s.x[0], *x1 = s.x[1];
    if ((status = fe_solver_start(&opt, s.K, x))) {
        wham_free(&s);
        return status;
    }
    *info = (fe_info){0};
    /* From the start, each pass: x1 = Phi(x); stop if x1 barely moved (or the watch sees the
     * tolerance out of reach), else extrapolate (one more map evaluation), as long as the next
     * pass still fits in max_iterations. */
    fe_watch watch = fe_watch_start(&opt, "WHAM");
    for (;;) {
        wham_map(&s, x, x1);
        ++info->iterations;
        info->max_change = max_abs_difference(x1, x, s.K);
        int stop;
        if ((status = fe_watch_step(&watch, info, &stop)) || stop) break;
        if (info->iterations + 2 > opt.max_iterations) {
            info->stop = FE_STOP_LIMIT;
            break;
        }
        squarem_step(&s, x, x1);
        ++info->iterations;
    }
    if (status) {
        wham_free(&s);
        return status;
    }
    for (int k = 0; k < s.K; ++k) f[k] = x1[k];
    log_p(&s, f, s.log_p);
    for (int32_t i = 0; i < s.nq; ++i) F[i] = -s.log_p[i];
    fe_shift_min(F, s.nq);
    wham_free(&s);
    return RIPEN_OK;
}
