/* Checking umbrella-window data before WHAM or MBAR sees it, and the helpers both solvers share
 * (the sparse table of allowed windows per q, log-sum-exp, the convergence measure).
 *
 * The checks follow from what the estimators need. F(q) is determined only where some window
 * allows q (else: a gap), and the window free energies f_k are determined up to one common
 * constant only if the windows are linked: the maximum-likelihood equations have a unique
 * solution iff the directed graph "window i has a sample at a q that window j allows" is
 * strongly connected (Vardi 1985). Without that, f_k of an unlinked window runs off to infinity
 * and the solvers never converge, so it is an error, not a warning. */
#include "fe_internal.h"

#include "ripen/engine/error.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fe_lse_add(fe_lse *acc, double v) {
    if (v == -INFINITY) return;
    if (v > acc->max) {
        acc->sum = acc->sum * exp(acc->max - v) + 1.0;
        acc->max = v;
    } else {
        acc->sum += exp(v - acc->max);
    }
}

double fe_lse_value(const fe_lse *acc) {
    return acc->sum > 0 ? acc->max + log(acc->sum) : -INFINITY;
}

double fe_self_consistent_change(const double *S, const int64_t *N, int K) {
    const double ref = log(S[0] / (double)N[0]);
    double change = 0;
    for (int k = 1; k < K; ++k) {
        const double d = fabs(log(S[k] / (double)N[k]) - ref);
        if (!(d <= change)) change = isnan(d) ? INFINITY : d;
    }
    return change;
}

void fe_shift_min(double *F, int32_t nq) {
    double lowest = INFINITY;
    for (int32_t i = 0; i < nq; ++i)
        if (F[i] < lowest) lowest = F[i];
    if (!isfinite(lowest)) return;
    for (int32_t i = 0; i < nq; ++i)
        if (isfinite(F[i])) F[i] -= lowest;
}

fe_solver_options fe_solver_defaults(void) {
    return (fe_solver_options){.tolerance = 1e-10, .max_iterations = 100000, .initial_f = NULL};
}

fe_watch fe_watch_start(const fe_solver_options *opt, const char *method) {
    return (fe_watch){.opt = opt, .method = method, .best = INFINITY, .mark = INFINITY};
}

int fe_watch_step(fe_watch *w, fe_info *info, int *stop) {
    const fe_solver_options *o = w->opt;
    *stop = 1;
    if (info->max_change < o->tolerance) {
        info->converged = 1, info->stop = FE_STOP_CONVERGED;
        return RIPEN_OK;
    }
    if (o->poll) {
        const fe_progress p = {.method = w->method,
                               .iteration = info->iterations,
                               .change = info->max_change,
                               .resample = o->resample,
                               .nresamples = o->nresamples};
        if (o->poll(o->poll_context, &p))
            return ripen_fail(RIPEN_EINTERRUPTED, "%s stopped by a signal after %d iterations",
                              w->method, info->iterations);
    }
    if (info->iterations >= o->max_iterations) {
        info->stop = FE_STOP_LIMIT;
        return RIPEN_OK;
    }
    if (info->max_change < w->best) w->best = info->max_change;
    const int span = info->iterations - w->mark_iteration;
    if (span >= FE_WATCH_ITERATIONS) {
        if (!(w->best < w->mark) && isfinite(w->mark)) {
            info->stop = FE_STOP_STALLED;
            return RIPEN_OK;
        }
        if (isfinite(w->mark) && w->best > 0) {
            /* ln(change) falls by this much per iteration: the iterations it still needs */
            const double slope = log(w->best / w->mark) / span;
            info->needed = log(o->tolerance / w->best) / slope;
            if ((double)info->iterations + info->needed > FE_SLOW_MARGIN * o->max_iterations) {
                info->stop = FE_STOP_SLOW;
                return RIPEN_OK;
            }
        }
        w->mark = w->best, w->mark_iteration = info->iterations;
    }
    *stop = 0;
    return RIPEN_OK;
}

void fe_describe_stop(const fe_info *info, double tolerance, char *out, size_t capacity) {
    switch (info->stop) {
        case FE_STOP_CONVERGED:
            snprintf(out, capacity, "converged in %d iterations", info->iterations);
            break;
        case FE_STOP_LIMIT:
            snprintf(out, capacity,
                     "did not converge: max_iterations ran out after %d iterations with the "
                     "change at %.2g kT (tolerance %.2g)",
                     info->iterations, info->max_change, tolerance);
            break;
        case FE_STOP_STALLED:
            snprintf(out, capacity,
                     "did not converge: no progress over %d iterations, stopped after %d with the "
                     "change at %.2g kT (tolerance %.2g)",
                     FE_WATCH_ITERATIONS, info->iterations, info->max_change, tolerance);
            break;
        case FE_STOP_SLOW:
            snprintf(out, capacity,
                     "did not converge: after %d iterations the change, %.2g kT, falls so slowly "
                     "that it needs about %.2g more to reach %.2g",
                     info->iterations, info->max_change, info->needed, tolerance);
            break;
    }
}

fe_solver_options fe_solver_or_default(const fe_solver_options *opt) {
    return opt ? *opt : fe_solver_defaults();
}

int fe_solver_start(const fe_solver_options *opt, int K, double *f) {
    if (!(opt->tolerance > 0) || opt->max_iterations < 1)
        return ripen_fail(RIPEN_EINVAL, "solver tolerance %g and max_iterations %d must be > 0",
                          opt->tolerance, opt->max_iterations);
    for (int k = 0; k < K; ++k) {
        f[k] = opt->initial_f ? opt->initial_f[k] - opt->initial_f[0] : 0.0;
        if (!isfinite(f[k]))
            return ripen_fail(RIPEN_EINVAL, "window %d: initial f = %g must be finite", k,
                              opt->initial_f[k]);
    }
    return RIPEN_OK;
}

int fe_allowed_build(fe_allowed *a, const fe_windows *w) {
    const int32_t nq = fe_grid_size(w);
    *a = (fe_allowed){.nq = nq};
    a->start = calloc((size_t)nq + 1, sizeof *a->start);
    if (!a->start) return ripen_fail(RIPEN_ENOMEM, "out of memory for the window table");
    for (int32_t i = 0; i < nq; ++i) {
        a->start[i + 1] = a->start[i];
        for (int k = 0; k < w->nwindows; ++k)
            if (isfinite(w->bias[(int64_t)k * nq + i])) ++a->start[i + 1];
    }
    const size_t total = (size_t)a->start[nq] + 1;
    a->window = malloc(total * sizeof *a->window);
    a->bias = malloc(total * sizeof *a->bias);
    if (!a->window || !a->bias) {
        fe_allowed_free(a);
        return ripen_fail(RIPEN_ENOMEM, "out of memory for the window table");
    }
    int64_t e = 0;
    for (int32_t i = 0; i < nq; ++i)
        for (int k = 0; k < w->nwindows; ++k) {
            const double u = w->bias[(int64_t)k * nq + i];
            if (isfinite(u)) a->window[e] = k, a->bias[e++] = u;
        }
    return RIPEN_OK;
}

void fe_allowed_free(fe_allowed *a) {
    free(a->start);
    free(a->window);
    free(a->bias);
    *a = (fe_allowed){0};
}

int fe_hard_wall_bias(int nwindows, int32_t qmin, int32_t qmax, const int32_t *lo,
                      const int32_t *hi, double *bias) {
    if (nwindows < 1 || nwindows > FE_MAX_WINDOWS)
        return ripen_fail(RIPEN_EINVAL, "nwindows = %d: must be in [1, %d]", nwindows,
                          FE_MAX_WINDOWS);
    if (qmin > qmax || (int64_t)qmax - qmin + 1 > FE_MAX_GRID)
        return ripen_fail(RIPEN_EINVAL, "q grid [%d, %d]: need qmin <= qmax and at most %d values",
                          (int)qmin, (int)qmax, FE_MAX_GRID);
    const int32_t nq = qmax - qmin + 1;
    for (int k = 0; k < nwindows; ++k) {
        if (lo[k] > hi[k] || lo[k] < qmin || hi[k] > qmax)
            return ripen_fail(RIPEN_EINVAL,
                              "window %d: hard walls [%d, %d] must satisfy %d <= lo <= hi <= %d", k,
                              (int)lo[k], (int)hi[k], (int)qmin, (int)qmax);
        for (int32_t i = 0; i < nq; ++i) {
            const int32_t q = qmin + i;
            bias[(int64_t)k * nq + i] = q >= lo[k] && q <= hi[k] ? 0.0 : INFINITY;
        }
    }
    return RIPEN_OK;
}

static int check_shape(const fe_windows *w) {
    if (!w) return ripen_fail(RIPEN_EINVAL, "fe_windows is NULL");
    if (w->nwindows < 1 || w->nwindows > FE_MAX_WINDOWS)
        return ripen_fail(RIPEN_EINVAL, "nwindows = %d: must be in [1, %d]", w->nwindows,
                          FE_MAX_WINDOWS);
    if (w->qmin > w->qmax || (int64_t)w->qmax - w->qmin + 1 > FE_MAX_GRID)
        return ripen_fail(RIPEN_EINVAL, "q grid [%d, %d]: need qmin <= qmax and at most %d values",
                          (int)w->qmin, (int)w->qmax, FE_MAX_GRID);
    if (!w->nsamples || !w->samples || !w->bias)
        return ripen_fail(RIPEN_EINVAL, "fe_windows: nsamples, samples and bias must not be NULL");
    return RIPEN_OK;
}

/* One window's bias row and samples; sets [*lo, *hi] to the span of its allowed q. */
static int check_window(const fe_windows *w, int k, int32_t *lo, int32_t *hi) {
    const int32_t nq = fe_grid_size(w);
    const double *row = w->bias + (int64_t)k * nq;
    *lo = INT32_MAX, *hi = INT32_MIN;
    for (int32_t i = 0; i < nq; ++i) {
        if (isnan(row[i]) || row[i] == -INFINITY)
            return ripen_fail(RIPEN_EINVAL,
                              "window %d: bias at q = %d is %g: must be finite or +INFINITY", k,
                              (int)(w->qmin + i), row[i]);
        if (isfinite(row[i])) {
            if (*lo == INT32_MAX) *lo = w->qmin + i;
            *hi = w->qmin + i;
        }
    }
    if (*lo == INT32_MAX)
        return ripen_fail(RIPEN_EINVAL,
                          "window %d allows no q: its bias is INFINITY on the whole grid [%d, %d]",
                          k, (int)w->qmin, (int)w->qmax);
    const int64_t n = w->nsamples[k];
    if (n < 1 || n > FE_MAX_SAMPLES)
        return ripen_fail(RIPEN_EINVAL, "window %d has %lld samples: must be in [1, %d]", k,
                          (long long)n, FE_MAX_SAMPLES);
    if (!w->samples[k]) return ripen_fail(RIPEN_EINVAL, "window %d: samples pointer is NULL", k);
    for (int64_t t = 0; t < n; ++t) {
        const int32_t q = w->samples[k][t];
        if (q < w->qmin || q > w->qmax)
            return ripen_fail(RIPEN_EINVAL,
                              "window %d, sample %lld: q = %d is outside the grid "
                              "[%d, %d]",
                              k, (long long)t, (int)q, (int)w->qmin, (int)w->qmax);
        if (isinf(row[q - w->qmin]))
            return ripen_fail(RIPEN_EINVAL,
                              "window %d, sample %lld: q = %d is excluded by the window "
                              "(bias INFINITY; its allowed q lie in [%d, %d])",
                              k, (long long)t, (int)q, (int)*lo, (int)*hi);
    }
    return RIPEN_OK;
}

/* A q no window allows: names the windows on either side. */
static int gap_error(const fe_windows *w, int32_t q, const int32_t *lo, const int32_t *hi) {
    int left = -1, right = -1;
    for (int k = 0; k < w->nwindows; ++k) {
        if (hi[k] < q && (left < 0 || hi[k] > hi[left])) left = k;
        if (lo[k] > q && (right < 0 || lo[k] < lo[right])) right = k;
    }
    char where[160] = "";
    if (left >= 0 && right >= 0)
        snprintf(where, sizeof where, " (window %d allows q up to %d, window %d from %d)", left,
                 (int)hi[left], right, (int)lo[right]);
    else if (left >= 0)
        snprintf(where, sizeof where, " (above every window; window %d ends at %d)", left,
                 (int)hi[left]);
    else if (right >= 0)
        snprintf(where, sizeof where, " (below every window; window %d starts at %d)", right,
                 (int)lo[right]);
    return ripen_fail(RIPEN_EINVAL, "q = %d is allowed by no window: a gap in the grid [%d, %d]%s",
                      (int)q, (int)w->qmin, (int)w->qmax, where);
}

static int check_neighbours_share(const fe_windows *w, const int32_t *lo, const int32_t *hi) {
    const int32_t nq = fe_grid_size(w);
    for (int k = 0; k + 1 < w->nwindows; ++k) {
        const double *a = w->bias + (int64_t)k * nq, *b = a + nq;
        int32_t i = 0;
        while (i < nq && !(isfinite(a[i]) && isfinite(b[i]))) ++i;
        if (i == nq)
            return ripen_fail(RIPEN_EINVAL,
                              "windows %d and %d share no allowed q (window %d allows [%d, %d], "
                              "window %d allows [%d, %d]): neighbouring windows must overlap",
                              k, k + 1, k, (int)lo[k], (int)hi[k], k + 1, (int)lo[k + 1],
                              (int)hi[k + 1]);
    }
    return RIPEN_OK;
}

/* Marks every window reachable from window 0 along edges i -> j (forward) or j -> i. */
static void reach(const uint8_t *edge, int K, int forward, uint8_t *seen, int *queue) {
    int head = 0, tail = 0;
    memset(seen, 0, (size_t)K);
    seen[0] = 1, queue[tail++] = 0;
    while (head < tail) {
        const int i = queue[head++];
        for (int j = 0; j < K; ++j) {
            const uint8_t linked = forward ? edge[(int64_t)i * K + j] : edge[(int64_t)j * K + i];
            if (linked && !seen[j]) seen[j] = 1, queue[tail++] = j;
        }
    }
}

/* Strong connectivity of "window i has a sample at a q that window j allows" (Vardi 1985). */
static int check_linked(const fe_windows *w, const fe_allowed *a) {
    const int K = w->nwindows;
    uint8_t *edge = calloc((size_t)K * K, 1), *seen = malloc((size_t)K);
    int32_t *stamp = malloc(sizeof *stamp * (size_t)a->nq);
    int *queue = malloc(sizeof *queue * (size_t)K);
    int status = RIPEN_OK;
    if (!edge || !seen || !stamp || !queue) {
        status = ripen_fail(RIPEN_ENOMEM, "out of memory for the window links");
        goto done;
    }
    for (int32_t i = 0; i < a->nq; ++i) stamp[i] = -1;
    for (int k = 0; k < K; ++k)
        for (int64_t t = 0; t < w->nsamples[k]; ++t) {
            const int32_t i = w->samples[k][t] - w->qmin;
            if (stamp[i] == k) continue;
            stamp[i] = k;
            for (int64_t e = a->start[i]; e < a->start[i + 1]; ++e)
                edge[(int64_t)k * K + a->window[e]] = 1;
        }
    for (int forward = 1; forward >= 0 && !status; --forward) {
        reach(edge, K, forward, seen, queue);
        for (int k = 0; k < K; ++k)
            if (!seen[k]) {
                status = ripen_fail(RIPEN_EINVAL,
                                    "window %d is not linked to window 0: no chain of windows "
                                    "from %d to %d in which each has samples where the next "
                                    "allows q, so f_%d is undetermined (sample the overlaps)",
                                    k, forward ? 0 : k, forward ? k : 0, k);
                break;
            }
    }
done:
    free(edge);
    free(seen);
    free(stamp);
    free(queue);
    return status;
}

static int check_all(const fe_windows *w, fe_allowed *a) {
    int status = check_shape(w);
    if (status) return status;
    int32_t *lo = malloc(sizeof *lo * (size_t)w->nwindows);
    int32_t *hi = malloc(sizeof *hi * (size_t)w->nwindows);
    if (!lo || !hi) {
        status = ripen_fail(RIPEN_ENOMEM, "out of memory for window ranges");
        goto done;
    }
    for (int k = 0; k < w->nwindows && !status; ++k) status = check_window(w, k, &lo[k], &hi[k]);
    if (status) goto done;
    if ((status = fe_allowed_build(a, w))) goto done;
    for (int32_t i = 0; i < a->nq; ++i)
        if (a->start[i + 1] == a->start[i]) {
            status = gap_error(w, w->qmin + i, lo, hi);
            goto done;
        }
    if ((status = check_neighbours_share(w, lo, hi))) goto done;
    status = check_linked(w, a);
done:
    free(lo);
    free(hi);
    if (status) fe_allowed_free(a);
    return status;
}

int fe_check(const fe_windows *w) {
    fe_allowed a = {0};
    const int status = check_all(w, &a);
    fe_allowed_free(&a);
    return status;
}

/* Appends one line to the warnings buffer (truncated at cap; always NUL-terminated). */
static void warn(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void warn(char *buf, size_t cap, const char *fmt, ...) {
    if (!buf || cap == 0) return;
    size_t used = strlen(buf);
    if (used + 1 >= cap) return;
    va_list args;
    va_start(args, fmt);
    vsnprintf(buf + used, cap - used, fmt, args);
    va_end(args);
    used = strlen(buf);
    if (used + 1 < cap) buf[used] = '\n', buf[used + 1] = '\0';
}

static void histogram(const fe_windows *w, int k, int64_t *h) {
    memset(h, 0, sizeof *h * (size_t)fe_grid_size(w));
    for (int64_t t = 0; t < w->nsamples[k]; ++t) ++h[w->samples[k][t] - w->qmin];
}

/* Fraction of the samples in histogram `h` that lie where `other` has samples too. */
static double shared_fraction(const int64_t *h, const int64_t *other, int32_t nq, int64_t n) {
    int64_t shared = 0;
    for (int32_t i = 0; i < nq; ++i)
        if (other[i] > 0) shared += h[i];
    return (double)shared / (double)n;
}

/* Poor overlap of neighbours, and allowed q values that no sample visited. The overlap is
 * measured on the samples (q values both windows visited), so it means the same for hard walls
 * (where it is the samples in the shared range) and for soft biases (where every q is allowed). */
static int warn_all(const fe_windows *w, const fe_allowed *a, double min_overlap, char *buf,
                    size_t cap) {
    const int32_t nq = a->nq;
    int64_t *h = malloc(sizeof *h * (size_t)nq * 3);
    if (!h) return ripen_fail(RIPEN_ENOMEM, "out of memory for window histograms");
    int64_t *mine = h, *next = h + nq, *total = h + 2 * (int64_t)nq;
    memset(total, 0, sizeof *total * (size_t)nq);
    histogram(w, 0, next);
    for (int k = 0; k < w->nwindows; ++k) {
        int64_t *swap = mine;
        mine = next, next = swap;
        for (int32_t i = 0; i < nq; ++i) total[i] += mine[i];
        if (k + 1 == w->nwindows) break;
        histogram(w, k + 1, next);
        const double fa = shared_fraction(mine, next, nq, w->nsamples[k]);
        const double fb = shared_fraction(next, mine, nq, w->nsamples[k + 1]);
        if (fa < min_overlap || fb < min_overlap)
            warn(buf, cap,
                 "windows %d and %d overlap poorly: %.1f%% of window %d's samples and %.1f%% of "
                 "window %d's lie at q values both sampled (min_overlap %.1f%%)",
                 k, k + 1, 100 * fa, k, 100 * fb, k + 1, 100 * min_overlap);
    }
    for (int32_t i = 0; i < nq; ++i) {
        if (total[i] > 0 || a->start[i + 1] == a->start[i]) continue;
        int32_t j = i;
        while (j + 1 < nq && total[j + 1] == 0 && a->start[j + 2] > a->start[j + 1]) ++j;
        warn(buf, cap, "q in [%d, %d] is allowed (window %d) but never sampled: F = INFINITY there",
             (int)(w->qmin + i), (int)(w->qmin + j), (int)a->window[a->start[i]]);
        i = j;
    }
    free(h);
    return RIPEN_OK;
}

int fe_validate(const fe_windows *w, double min_overlap, char *warnings, size_t cap) {
    if (warnings && cap > 0) warnings[0] = '\0';
    if (!(min_overlap >= 0 && min_overlap <= 1))
        return ripen_fail(RIPEN_EINVAL, "min_overlap = %g: must be a fraction in [0, 1]",
                          min_overlap);
    fe_allowed a = {0};
    int status = check_all(w, &a);
    if (!status) status = warn_all(w, &a, min_overlap, warnings, cap);
    fe_allowed_free(&a);
    return status;
}
