/* MBAR (Shirts & Chodera, J. Chem. Phys. 129, 124105 (2008)) on the individual samples.
 *
 * Pool the N = sum_k N_k samples x_n of all windows. The window free energies solve
 *     f_i = -ln sum_n exp(-u_i(x_n)) / sum_k N_k exp(f_k - u_k(x_n)),
 * the stationarity condition of the convex function
 *     L(f) = sum_n ln sum_k N_k exp(f_k - u_k(x_n)) - sum_k N_k f_k
 * (gradient g_i = S_i - N_i with S_i = sum_n pi_ni, pi_ni = N_i exp(f_i - u_i(x_n)) /
 * sum_k N_k exp(f_k - u_k(x_n)) the posterior probability that sample n came from window i;
 * Hessian H_ij = delta_ij S_i - sum_n pi_ni pi_nj). L is invariant under f -> f + c, so f_0 is
 * held at 0 and Newton's method runs on f_1..f_{K-1}, where H is positive definite when the
 * windows are linked (fe_validate). Each iteration takes the Newton step with a backtracking
 * (Armijo) line search on L; if H cannot be factorised or no step length lowers L, it takes the
 * self-consistent step f_i -> f_i - ln(S_i / N_i) instead, which never raises L. Convergence is
 * measured as in WHAM: the change the self-consistent step would make.
 *
 * Unbiased weights: w_n = 1 / sum_k N_k exp(f_k - u_k(x_n)), and p(q) = sum_{n: x_n = q} w_n.
 * Every sum is a log-sum-exp. Nothing here forms a histogram: the sums run over samples, so on
 * biases that depend only on q it is an independent computation of the WHAM answer. */
#include "fe_internal.h"

#include "ripen/engine/error.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { LINE_SEARCH_HALVINGS = 40 };

typedef struct {
    const fe_windows *w;
    fe_allowed allowed;
    int K;
    double *log_n; /* K: ln N_k */
    double *S;     /* K: sum_n pi_nk */
    double *H;     /* K x K: Hessian of L */
    double *term;  /* K: scratch, one sample's terms */
    double *grad;  /* K: S_k - N_k */
    double *step;  /* K: the proposed change of f */
    double *trial; /* K: f + t * step */
    double *chol;  /* (K-1) x (K-1): Cholesky factor of H without window 0 */
    double scale;  /* sum_n |ln denominator| + sum_k N_k |f_k|: the size of L's terms */
} mbar;

static void mbar_free(mbar *m) {
    fe_allowed_free(&m->allowed);
    free(m->log_n);
    free(m->S);
    free(m->H);
    free(m->term);
    free(m->grad);
    free(m->step);
    free(m->trial);
    free(m->chol);
}

static int mbar_init(mbar *m, const fe_windows *w) {
    *m = (mbar){.w = w, .K = w->nwindows};
    const int status = fe_allowed_build(&m->allowed, w);
    if (status) return status;
    const size_t K = (size_t)m->K;
    m->log_n = malloc(K * sizeof(double));
    m->S = malloc(K * sizeof(double));
    m->H = malloc(K * K * sizeof(double));
    m->term = malloc(K * sizeof(double));
    m->grad = calloc(K, sizeof(double));
    m->step = calloc(K, sizeof(double));
    m->trial = calloc(K, sizeof(double));
    m->chol = malloc(K * K * sizeof(double));
    if (!m->log_n || !m->S || !m->H || !m->term || !m->grad || !m->step || !m->trial || !m->chol) {
        mbar_free(m);
        return ripen_fail(RIPEN_ENOMEM, "out of memory for MBAR");
    }
    for (int k = 0; k < m->K; ++k) m->log_n[k] = log((double)w->nsamples[k]);
    return RIPEN_OK;
}

/* For one sample at grid index i: fills term[] with pi_nk over the windows allowing q and
 * returns ln sum_k N_k exp(f_k - u_k(q)). */
static double posterior(mbar *m, const double *f, int32_t i) {
    const int64_t first = m->allowed.start[i], count = m->allowed.start[i + 1] - first;
    const int32_t *window = m->allowed.window + first;
    const double *bias = m->allowed.bias + first;
    double top = -INFINITY;
    for (int64_t j = 0; j < count; ++j) {
        m->term[j] = m->log_n[window[j]] + f[window[j]] - bias[j];
        if (m->term[j] > top) top = m->term[j];
    }
    double sum = 0;
    for (int64_t j = 0; j < count; ++j) sum += m->term[j] = exp(m->term[j] - top);
    const double inverse = 1 / sum;
    for (int64_t j = 0; j < count; ++j) m->term[j] *= inverse;
    return top + log(sum);
}

/* L(f); also S (and H if `hessian`) at f. One sweep over every sample. */
static double mbar_pass(mbar *m, const double *f, int hessian) {
    const int K = m->K;
    const fe_windows *w = m->w;
    memset(m->S, 0, sizeof *m->S * (size_t)K);
    if (hessian) memset(m->H, 0, sizeof *m->H * (size_t)K * (size_t)K);
    fe_sum L = {0, 0};
    double scale = 0;
    for (int k = 0; k < K; ++k)
        for (int64_t t = 0; t < w->nsamples[k]; ++t) {
            const int32_t i = w->samples[k][t] - w->qmin;
            const double d = posterior(m, f, i);
            fe_sum_add(&L, d);
            scale += fabs(d);
            const int64_t first = m->allowed.start[i], count = m->allowed.start[i + 1] - first;
            const int32_t *window = m->allowed.window + first;
            for (int64_t a = 0; a < count; ++a) {
                m->S[window[a]] += m->term[a];
                if (!hessian) continue;
                /* Lower triangle only (windows increase along the list); mirrored below. */
                double *row = m->H + (int64_t)window[a] * K;
                for (int64_t b = 0; b <= a; ++b) row[window[b]] -= m->term[a] * m->term[b];
            }
        }
    for (int k = 0; k < K; ++k) {
        fe_sum_add(&L, -(double)w->nsamples[k] * f[k]);
        scale += (double)w->nsamples[k] * fabs(f[k]);
        if (!hessian) continue;
        m->H[(int64_t)k * K + k] += m->S[k];
        for (int j = 0; j < k; ++j) m->H[(int64_t)j * K + k] = m->H[(int64_t)k * K + j];
    }
    m->scale = scale;
    return fe_sum_value(&L);
}

/* Newton step on f_1..f_{K-1}: solves H' step = -g' by Cholesky. 0 if H' is not (numerically)
 * positive definite. */
static int newton_step(mbar *m) {
    const int K = m->K, R = K - 1;
    double *c = m->chol;
    for (int a = 0; a < R; ++a)
        for (int b = 0; b <= a; ++b) c[a * R + b] = m->H[(int64_t)(a + 1) * K + (b + 1)];
    for (int j = 0; j < R; ++j) {
        double d = c[j * R + j];
        for (int p = 0; p < j; ++p) d -= c[j * R + p] * c[j * R + p];
        /* A pivot lost in rounding against the diagonal means a (nearly) singular H'. */
        if (!(d > 1e-12 * c[j * R + j])) return 0;
        d = sqrt(d);
        c[j * R + j] = d;
        for (int a = j + 1; a < R; ++a) {
            double s = c[a * R + j];
            for (int p = 0; p < j; ++p) s -= c[a * R + p] * c[j * R + p];
            c[a * R + j] = s / d;
        }
    }
    double *y = m->step + 1;
    for (int a = 0; a < R; ++a) {
        double s = -m->grad[a + 1];
        for (int p = 0; p < a; ++p) s -= c[a * R + p] * y[p];
        y[a] = s / c[a * R + a];
    }
    for (int a = R - 1; a >= 0; --a) {
        double s = y[a];
        for (int p = a + 1; p < R; ++p) s -= c[p * R + a] * y[p];
        y[a] = s / c[a * R + a];
    }
    m->step[0] = 0;
    return 1;
}

static void self_consistent_step(mbar *m) {
    const double ref = log(fmax(m->S[0], DBL_MIN) / (double)m->w->nsamples[0]);
    for (int k = 0; k < m->K; ++k)
        m->step[k] = ref - log(fmax(m->S[k], DBL_MIN) / (double)m->w->nsamples[k]);
}

/* Moves f on from the point where mbar_pass (with the Hessian) last ran, whose objective is L.
 * Every trial point gets the full pass, Hessian included: the accepted one is the next
 * iteration's starting point, so an iteration costs one sweep over the samples when the full
 * Newton step is taken. Returns L at the new f, with S and H there. */
static double advance(mbar *m, double *f, double L) {
    const int K = m->K;
    for (int k = 0; k < K; ++k) m->grad[k] = m->S[k] - (double)m->w->nsamples[k];
    if (newton_step(m)) {
        double slope = 0;
        for (int k = 1; k < K; ++k) slope += m->grad[k] * m->step[k];
        /* Below this predicted decrease L's rounding (~1 ulp per term, far below this bound)
         * could hide the change: the full Newton step is then taken, as it is deep in the
         * quadratic regime. Above it the Armijo test compares Lt - L, never L + tiny, which
         * would round to L and accept a useless step. */
        const double noise = 1e-13 * m->scale;
        double t = 1;
        for (int h = 0; h < LINE_SEARCH_HALVINGS && slope < 0; ++h, t /= 2) {
            for (int k = 0; k < K; ++k) m->trial[k] = f[k] + t * m->step[k];
            const double Lt = mbar_pass(m, m->trial, 1);
            if (Lt - L <= 1e-4 * t * slope || -slope < noise) {
                for (int k = 0; k < K; ++k) f[k] = m->trial[k];
                return Lt;
            }
        }
        mbar_pass(m, f, 0); /* S at f again, for the fallback */
    }
    self_consistent_step(m);
    for (int k = 0; k < K; ++k) f[k] += m->step[k];
    return mbar_pass(m, f, 1);
}

/* F(q) = -ln sum_{n at q} w_n with ln w_n = -ln sum_k N_k exp(f_k - u_k(x_n)), shifted to min 0. */
static int mbar_profile(mbar *m, const double *f, double *F) {
    const fe_windows *w = m->w;
    const int32_t nq = fe_grid_size(w);
    fe_lse *acc = malloc(sizeof *acc * (size_t)nq);
    if (!acc) return ripen_fail(RIPEN_ENOMEM, "out of memory for the MBAR profile");
    for (int32_t i = 0; i < nq; ++i) acc[i] = fe_lse_empty();
    for (int k = 0; k < m->K; ++k)
        for (int64_t t = 0; t < w->nsamples[k]; ++t) {
            const int32_t i = w->samples[k][t] - w->qmin;
            fe_lse_add(&acc[i], -posterior(m, f, i));
        }
    for (int32_t i = 0; i < nq; ++i) F[i] = -fe_lse_value(&acc[i]);
    fe_shift_min(F, nq);
    free(acc);
    return RIPEN_OK;
}

int fe_mbar(const fe_windows *w, const fe_solver_options *options, double *F, double *f,
            fe_info *info) {
    const int status = fe_check(w);
    return status ? status : fe_mbar_checked(w, options, F, f, info);
}

int fe_mbar_checked(const fe_windows *w, const fe_solver_options *options, double *F, double *f,
                    fe_info *info) {
    int status;
    const fe_solver_options opt = fe_solver_or_default(options);
    if ((status = fe_solver_start(&opt, w->nwindows, f))) return status;
    mbar m;
    if ((status = mbar_init(&m, w))) return status;
    *info = (fe_info){0};
    double L = mbar_pass(&m, f, 1);
    fe_watch watch = fe_watch_start(&opt, "MBAR");
    for (;;) {
        info->max_change = fe_self_consistent_change(m.S, w->nsamples, m.K);
        int stop;
        if ((status = fe_watch_step(&watch, info, &stop)) || stop) break;
        L = advance(&m, f, L);
        ++info->iterations;
    }
    if (!status) status = mbar_profile(&m, f, F);
    mbar_free(&m);
    return status;
}
