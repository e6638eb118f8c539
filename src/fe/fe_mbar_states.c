/* MBAR over general thermodynamic states (Shirts & Chodera, J. Chem. Phys. 129, 124105 (2008)):
 * the states differ in anything the reduced potential holds (walls on q, a tilt in mu_core, the
 * shell's cohesion of a ladder rung), given as a dense matrix u[k][n] of every pooled sample n in
 * every state k. fe_mbar (fe_mbar.c) is the special case of biases that depend on q alone, with
 * a sparse table; this file solves the same convex problem
 *     L(f) = sum_n ln sum_k N_k exp(f_k - u_kn) - sum_k N_k f_k,   f_0 = 0,
 * by Newton's method with a backtracking line search, falling back to the self-consistent step
 * f_i -> f_i - ln(S_i / N_i) (which never raises L) where the Newton step does not help. */
#include "fe_internal.h"

#include "ripen/engine/error.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const fe_states *s;
    int K;
    int64_t N;
    double *log_n, *S, *H, *grad, *step, *trial, *chol, *pi;
    int *support; /* the states where the current sample's pi is not 0 */
    int nsupport;
    /* u by sample, finite entries only (hard walls leave a sample in a few states of many):
     * sample n's are state[start[n] .. start[n + 1] - 1] with values value[...] */
    int64_t *start;
    int *state;
    double *value;
} solver;

static void solver_free(solver *m) {
    free(m->log_n), free(m->S), free(m->H), free(m->grad), free(m->step), free(m->trial);
    free(m->chol), free(m->pi), free(m->support);
    free(m->start), free(m->state), free(m->value);
}

/* The finite entries of u, sample by sample. */
static int solver_index(solver *m) {
    const fe_states *s = m->s;
    const size_t N = (size_t)m->N;
    int64_t count = 0;
    for (size_t i = 0; i < (size_t)m->K * N; ++i) count += isfinite(s->u[i]);
    m->start = malloc(sizeof *m->start * (N + 1));
    m->state = malloc(sizeof *m->state * (size_t)(count + 1));
    m->value = malloc(sizeof *m->value * (size_t)(count + 1));
    if (!m->start || !m->state || !m->value) return RIPEN_ENOMEM;
    int64_t at = 0;
    for (size_t n = 0; n < N; ++n) {
        m->start[n] = at;
        for (int k = 0; k < m->K; ++k) {
            const double u = s->u[(size_t)k * N + n];
            if (isfinite(u)) m->state[at] = k, m->value[at++] = u;
        }
    }
    m->start[N] = at;
    return RIPEN_OK;
}

static int solver_init(solver *m, const fe_states *s) {
    *m = (solver){.s = s, .K = s->nstates, .N = s->nsamples_total};
    const size_t K = (size_t)m->K;
    m->log_n = malloc(K * sizeof(double)), m->S = malloc(K * sizeof(double));
    m->H = malloc(K * K * sizeof(double)), m->grad = calloc(K, sizeof(double));
    m->step = calloc(K, sizeof(double)), m->trial = calloc(K, sizeof(double));
    m->chol = malloc(K * K * sizeof(double)), m->pi = malloc(K * sizeof(double));
    m->support = malloc(K * sizeof(int));
    if (!m->log_n || !m->S || !m->H || !m->grad || !m->step || !m->trial || !m->chol || !m->pi ||
        !m->support || solver_index(m)) {
        solver_free(m);
        return ripen_fail(RIPEN_ENOMEM, "out of memory for MBAR over %d states", m->K);
    }
    for (int k = 0; k < m->K; ++k) m->log_n[k] = log((double)s->nsamples[k]);
    return RIPEN_OK;
}

/* ln sum_k N_k exp(f_k - u_kn), and pi_k (the posterior of each state) in m->pi, the states
 * where it is not 0 in m->support (hard walls leave a sample in a few states of many). */
static double denominator(solver *m, const double *f, int64_t n) {
    const int64_t first = m->start[n], last = m->start[n + 1];
    if (first == last) { /* in no state's walls: weight 0 everywhere */
        m->nsupport = 0;
        return INFINITY;
    }
    double top = -INFINITY;
    for (int64_t e = first; e < last; ++e) {
        const int k = m->state[e];
        m->pi[k] = m->log_n[k] + f[k] - m->value[e];
        if (m->pi[k] > top) top = m->pi[k];
    }
    double sum = 0;
    for (int64_t e = first; e < last; ++e) sum += exp(m->pi[m->state[e]] - top);
    const double log_sum = top + log(sum);
    m->nsupport = 0;
    for (int64_t e = first; e < last; ++e) {
        const int k = m->state[e];
        m->pi[k] = exp(m->pi[k] - log_sum);
        if (m->pi[k] != 0) m->support[m->nsupport++] = k;
    }
    return log_sum;
}

/* L(f); with `hessian`, also S, grad and H. */
static double objective(solver *m, const double *f, int hessian) {
    const int K = m->K;
    fe_sum L = {0};
    if (hessian) {
        memset(m->S, 0, sizeof(double) * (size_t)K);
        memset(m->H, 0, sizeof(double) * (size_t)K * (size_t)K);
    }
    for (int64_t n = 0; n < m->N; ++n) {
        fe_sum_add(&L, denominator(m, f, n));
        if (!hessian) continue;
        for (int a = 0; a < m->nsupport; ++a) {
            const int i = m->support[a];
            m->S[i] += m->pi[i];
            for (int b = 0; b < m->nsupport; ++b) {
                const int j = m->support[b];
                m->H[(size_t)i * K + j] -= m->pi[i] * m->pi[j];
            }
        }
    }
    for (int k = 0; k < K; ++k) fe_sum_add(&L, -(double)m->s->nsamples[k] * f[k]);
    if (hessian)
        for (int k = 0; k < K; ++k) {
            m->H[(size_t)k * K + k] += m->S[k];
            m->grad[k] = m->S[k] - (double)m->s->nsamples[k];
        }
    return fe_sum_value(&L);
}

/* Solves H' x = -grad' on states 1..K-1 (Cholesky); 0 if H' is not positive definite. */
static int newton_step(solver *m) {
    const int n = m->K - 1, K = m->K;
    double *c = m->chol;
    for (int i = 0; i < n; ++i)
        for (int j = 0; j <= i; ++j) {
            double sum = m->H[(size_t)(i + 1) * K + (j + 1)];
            for (int k = 0; k < j; ++k) sum -= c[(size_t)i * n + k] * c[(size_t)j * n + k];
            if (i == j) {
                if (!(sum > 0)) return 0;
                c[(size_t)i * n + i] = sqrt(sum);
            } else {
                c[(size_t)i * n + j] = sum / c[(size_t)j * n + j];
            }
        }
    double *y = m->step + 1;
    for (int i = 0; i < n; ++i) {
        double sum = -m->grad[i + 1];
        for (int k = 0; k < i; ++k) sum -= c[(size_t)i * n + k] * y[k];
        y[i] = sum / c[(size_t)i * n + i];
    }
    for (int i = n - 1; i >= 0; --i) {
        double sum = y[i];
        for (int k = i + 1; k < n; ++k) sum -= c[(size_t)k * n + i] * y[k];
        y[i] = sum / c[(size_t)i * n + i];
    }
    m->step[0] = 0;
    return 1;
}

/* The change the self-consistent step would make: the convergence measure, as in fe_mbar. */
static double self_consistent_change(const solver *m) {
    double change = 0;
    const double shift = log(m->S[0] / (double)m->s->nsamples[0]);
    for (int k = 1; k < m->K; ++k) {
        const double d = fabs(log(m->S[k] / (double)m->s->nsamples[k]) - shift);
        if (d > change) change = d;
    }
    return change;
}

/* f_k ~ the mean of u_k over state k's own samples (pooled state by state): states whose
 * potentials differ by large constants (a tilt times N_core: thousands of kT) would otherwise
 * start with every posterior of some state underflowing to 0, and no step could recover. */
static void initial_guess(const fe_states *s, double *f) {
    int64_t start = 0;
    for (int k = 0; k < s->nstates; ++k) {
        fe_sum sum = {0};
        int64_t finite = 0;
        for (int64_t n = start; n < start + s->nsamples[k]; ++n) {
            const double u = s->u[(size_t)k * (size_t)s->nsamples_total + (size_t)n];
            if (isfinite(u)) fe_sum_add(&sum, u), ++finite;
        }
        f[k] = finite ? fe_sum_value(&sum) / (double)finite : 0;
        start += s->nsamples[k];
    }
    for (int k = s->nstates - 1; k >= 0; --k) f[k] -= f[0];
}

/* Marks in `seen` every state reachable from state 0 along edges a -> b (forward) or b -> a. */
static void reach(const uint8_t *edge, int K, int forward, uint8_t *seen, int *queue) {
    int head = 0, tail = 0;
    seen[0] = 1, queue[tail++] = 0;
    while (head < tail) {
        const int a = queue[head++];
        for (int b = 0; b < K; ++b) {
            const uint8_t e = forward ? edge[(size_t)a * K + b] : edge[(size_t)b * K + a];
            if (e && !seen[b]) seen[b] = 1, queue[tail++] = b;
        }
    }
}

int fe_states_linked(const fe_states *s, int *unlinked) {
    const int K = s->nstates;
    const size_t N = (size_t)s->nsamples_total;
    uint8_t *edge = calloc((size_t)K * (size_t)K, 1), *ahead = calloc((size_t)K, 1),
            *behind = calloc((size_t)K, 1);
    int *queue = malloc(sizeof *queue * (size_t)K);
    if (!edge || !ahead || !behind || !queue) {
        free(edge), free(ahead), free(behind), free(queue);
        return ripen_fail(RIPEN_ENOMEM, "out of memory");
    }
    size_t n = 0;
    for (int a = 0; a < K; ++a)
        for (int64_t t = 0; t < s->nsamples[a]; ++t, ++n)
            for (int b = 0; b < K; ++b)
                if (isfinite(s->u[(size_t)b * N + n])) edge[(size_t)a * K + b] = 1;
    reach(edge, K, 1, ahead, queue);
    reach(edge, K, 0, behind, queue);
    *unlinked = -1;
    for (int k = 1; k < K && *unlinked < 0; ++k)
        if (!ahead[k] || !behind[k]) *unlinked = k;
    free(edge), free(ahead), free(behind), free(queue);
    return RIPEN_OK;
}

int fe_mbar_states(const fe_states *s, const fe_solver_options *opt, double *f, fe_info *info) {
    if (s->nstates < 1 || s->nstates > FE_MAX_WINDOWS || s->nsamples_total < 1)
        return ripen_fail(RIPEN_EINVAL, "MBAR: %d states, %lld samples", s->nstates,
                          (long long)s->nsamples_total);
    for (int k = 0; k < s->nstates; ++k)
        if (s->nsamples[k] < 1) return ripen_fail(RIPEN_EINVAL, "MBAR: state %d has no samples", k);
    int unlinked, status = fe_states_linked(s, &unlinked);
    if (status) return status;
    if (unlinked >= 0)
        return ripen_fail(RIPEN_EINVAL,
                          "MBAR: state %d is not linked to state 0 (no chain of states each "
                          "with samples the next can hold, both ways), so its free energy is "
                          "undetermined",
                          unlinked);
    solver m;
    status = solver_init(&m, s);
    if (status) return status;
    const fe_solver_options o = opt ? *opt : fe_solver_defaults();
    if (o.initial_f)
        for (int k = 0; k < s->nstates; ++k) f[k] = o.initial_f[k] - o.initial_f[0];
    else
        initial_guess(s, f);
    *info = (fe_info){0};
    double L = objective(&m, f, 1);
    fe_watch watch = fe_watch_start(&o, "MBAR over states");
    for (;;) {
        info->max_change = self_consistent_change(&m);
        int stop;
        if ((status = fe_watch_step(&watch, info, &stop)) || stop) break;
        ++info->iterations;
        int moved = 0;
        if (newton_step(&m)) {
            for (double t = 1; t > 1e-12 && !moved; t *= 0.5) {
                for (int k = 0; k < m.K; ++k) m.trial[k] = f[k] + t * m.step[k];
                const double Lt = objective(&m, m.trial, 0);
                double predicted = 0;
                for (int k = 0; k < m.K; ++k) predicted += m.grad[k] * t * m.step[k];
                if (Lt <= L + 1e-4 * predicted) moved = 1;
            }
        }
        if (!moved) { /* self-consistent step */
            const double shift = log(m.S[0] / (double)s->nsamples[0]);
            for (int k = 0; k < m.K; ++k)
                m.trial[k] = f[k] - (log(m.S[k] / (double)s->nsamples[k]) - shift);
        }
        memcpy(f, m.trial, sizeof(double) * (size_t)m.K);
        L = objective(&m, f, 1);
    }
    for (int k = 0; k < m.K && !status; ++k)
        if (!isfinite(f[k]))
            status = ripen_fail(RIPEN_EINVAL,
                                "MBAR over states: f of state %d is not finite (states that share "
                                "no samples?)",
                                k);
    solver_free(&m);
    return status;
}

int fe_mbar_states_log_weights(const fe_states *s, const double *f, const double *u_target,
                               double *log_w) {
    solver m;
    const int status = solver_init(&m, s);
    if (status) return status;
    fe_lse total = fe_lse_empty();
    for (int64_t n = 0; n < s->nsamples_total; ++n) {
        log_w[n] = isfinite(u_target[n]) ? -u_target[n] - denominator(&m, f, n) : -INFINITY;
        if (isfinite(log_w[n])) fe_lse_add(&total, log_w[n]);
    }
    const double norm = fe_lse_value(&total);
    for (int64_t n = 0; n < s->nsamples_total; ++n) log_w[n] -= norm;
    solver_free(&m);
    return RIPEN_OK;
}
