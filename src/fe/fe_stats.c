/* Errors and what is done with F(q) afterwards: the statistical inefficiency of a time series,
 * the bootstrap over umbrella windows, reweighting in mu_core and the balance point with its
 * barrier (docs/free-energy.md). */
#include "fe_internal.h"

#include "ripen/engine/error.h"
#include "ripen/engine/philox.h"

#include <math.h>
#include <stdlib.h>

/* ---- Statistical inefficiency ------------------------------------------------------------- */

enum { MAX_PAIRS = 256 }; /* lag pairs summed before the series is coarse-grained instead */

/* gamma(t) = (1/n) sum_{i < n-t} (x_i - mean)(x_{i+t} - mean): the biased estimator, whose
 * sequence is positive semi-definite, as Geyer's truncation assumes. */
static double autocovariance(const double *x, int64_t n, double mean, int64_t t) {
    double s = 0;
    for (int64_t i = 0; i + t < n; ++i) s += (x[i] - mean) * (x[i + t] - mean);
    return s / (double)n;
}

static double mean_of(const double *x, int64_t n) {
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += x[i];
    return sum / (double)n;
}

/* Geyer's estimate of sigma^2_asymptotic = -gamma(0) + 2 sum_m Gamma_m, Gamma_m = gamma(2m) +
 * gamma(2m+1). For a reversible chain Gamma_m is positive and decreasing (Geyer 1992), so the
 * sum stops at the first Gamma_m <= 0 (initial positive sequence) and each term is capped by the
 * one before (initial monotone sequence): past that point the estimates are noise, and summing
 * noise is what makes a plain sum over all lags useless. Returns 0 in *complete if MAX_PAIRS
 * pairs were summed with the sequence still positive and series left. */
static double geyer_variance(const double *x, int64_t n, double mean, double gamma0,
                             int *complete) {
    double sigma2 = -gamma0, previous = INFINITY;
    *complete = 1;
    for (int64_t m = 0; 2 * m + 1 < n; ++m) {
        if (m == MAX_PAIRS) {
            *complete = 0;
            break;
        }
        double pair = (m ? autocovariance(x, n, mean, 2 * m) : gamma0) +
                      autocovariance(x, n, mean, 2 * m + 1);
        if (pair <= 0) break;
        if (pair > previous) pair = previous;
        sigma2 += 2 * pair;
        previous = pair;
    }
    return sigma2;
}

/* g = sigma^2_asymptotic / gamma(0). Lags are summed directly (O(n) each), so a correlation
 * longer than MAX_PAIRS pairs would cost O(n^2). Instead the series is then coarse-grained:
 * means of pairs y_j = (x_2j + x_2j+1) / 2, repeatedly, b values per y. The variance of the
 * overall mean is the same whichever series describes it, sigma^2_x / n = sigma^2_y / (n / b),
 * so g = b sigma^2_y / gamma_x(0): exact for long series, and the correlation time shrinks by
 * b in units of y. Total cost O(n MAX_PAIRS). */
int fe_statistical_inefficiency(const double *x, int64_t n, double *g) {
    if (!x || !g || n < 1)
        return ripen_fail(RIPEN_EINVAL, "statistical inefficiency of %lld values: need n >= 1",
                          (long long)n);
    for (int64_t i = 0; i < n; ++i)
        if (!isfinite(x[i]))
            return ripen_fail(RIPEN_EINVAL, "time series value %lld is %g: must be finite",
                              (long long)i, x[i]);
    const double mean = mean_of(x, n), gamma0 = autocovariance(x, n, mean, 0);
    *g = 1;
    if (!(gamma0 > 0)) return RIPEN_OK; /* constant: nothing to correlate */
    int complete;
    double sigma2 = geyer_variance(x, n, mean, gamma0, &complete);
    if (!complete) {
        double *y = malloc(sizeof *y * (size_t)(n / 2));
        if (!y) return ripen_fail(RIPEN_ENOMEM, "out of memory for a coarse-grained series");
        const double *from = x;
        int64_t m = n, b = 1;
        while (!complete) {
            for (int64_t j = 0; j < m / 2; ++j) y[j] = (from[2 * j] + from[2 * j + 1]) / 2;
            from = y, m /= 2, b *= 2;
            const double ym = mean_of(y, m), y0 = autocovariance(y, m, ym, 0);
            sigma2 = y0 > 0 ? (double)b * geyer_variance(y, m, ym, y0, &complete) : 0;
            if (!(y0 > 0)) complete = 1;
        }
        free(y);
    }
    *g = fmax(1.0, sigma2 / gamma0);
    return RIPEN_OK;
}

/* ---- Bootstrap ---------------------------------------------------------------------------- */

enum {
    CHUNK_WORDS = 1 << 24, /* words per philox stream before moving to the next (limit 2^26) */
    MAX_ATTEMPTS = 100     /* draws of one resample before giving up on linked windows */
};

/* The random words of one (resample b, attempt, window k): philox streams keyed by the seed,
 * index = b | attempt << 24 | chunk << 32, task k. A window can need more words than one stream
 * holds, so every CHUNK_WORDS words the next chunk's stream takes over. */
typedef struct {
    philox_stream stream;
    philox_key key;
    uint64_t index; /* b | attempt << 24 */
    uint32_t task;  /* window */
    uint32_t used;  /* words drawn from the current chunk */
    uint64_t chunk; /* current chunk */
} draws;

static void draws_open(draws *d, uint64_t seed, int b, int attempt, int k) {
    *d = (draws){.key = philox_key_from_seed(seed),
                 .index = (uint64_t)b | (uint64_t)attempt << 24,
                 .task = (uint32_t)k};
    philox_stream_init(&d->stream, d->key, d->index, d->task, FE_PURPOSE_BOOTSTRAP);
}

static uint32_t draws_word(draws *d) {
    if (d->used == CHUNK_WORDS) {
        d->used = 0, ++d->chunk;
        philox_stream_init(&d->stream, d->key, d->index | d->chunk << 32, d->task,
                           FE_PURPOSE_BOOTSTRAP);
    }
    ++d->used;
    return philox_stream_next(&d->stream);
}

/* Uniform in [0, n), n >= 1, exactly: Lemire's multiply-and-reject, as philox.h does it, but
 * with every word counted towards the chunk. */
static uint32_t draws_below(draws *d, uint32_t n) {
    uint64_t m = (uint64_t)draws_word(d) * n;
    if ((uint32_t)m < n) {
        const uint32_t threshold = (uint32_t)(-n) % n;
        while ((uint32_t)m < threshold) m = (uint64_t)draws_word(d) * n;
    }
    return (uint32_t)(m >> 32);
}

/* Window k of a resample by the circular block bootstrap (Politis & Romano 1992): ceil(n / l)
 * blocks of l consecutive samples, each starting at a uniformly random sample and wrapping
 * around the end of the series (so every sample is equally likely to be drawn), laid end to end
 * and cut at n. Within a block the time order is kept, so a statistic's own correlation over
 * lags shorter than l reaches the resample: fast-decorrelating quantities (the ratio of counts
 * at neighbouring q) get their small errors, slow ones (the occupancy of a window's far end)
 * their large ones. Lags beyond l are lost: for an exponential correlation the variance comes
 * out low by a fraction ~ g / (2 l), 10% at l = 5 g. */
static void draw_window(const fe_windows *w, int k, int64_t l, draws *d, int32_t *out) {
    const int64_t n = w->nsamples[k];
    const int32_t *x = w->samples[k];
    for (int64_t j = 0; j < n; j += l) {
        int64_t t = draws_below(d, (uint32_t)n);
        const int64_t end = j + l < n ? j + l : n;
        for (int64_t i = j; i < end; ++i) {
            out[i] = x[t];
            if (++t == n) t = 0;
        }
    }
}

/* The chosen estimator on data that passed fe_check. */
static int solve(fe_method method, const fe_windows *w, const fe_solver_options *opt, double *F,
                 double *f, fe_info *info) {
    return method == FE_MBAR ? fe_mbar_checked(w, opt, F, f, info)
                             : fe_wham_checked(w, opt, F, f, info);
}

void fe_bootstrap_free(fe_bootstrap_result *r) {
    free(r->F);
    free(r->sigma);
    free(r->unsampled);
    free(r->f);
    free(r->g);
    free(r->block);
    free(r->resamples);
    *r = (fe_bootstrap_result){0};
}

static int result_alloc(fe_bootstrap_result *r, const fe_windows *w, int B) {
    const size_t nq = (size_t)fe_grid_size(w), K = (size_t)w->nwindows;
    *r = (fe_bootstrap_result){
        .nwindows = w->nwindows, .qmin = w->qmin, .qmax = w->qmax, .nresamples = B};
    r->F = malloc(nq * sizeof *r->F);
    r->sigma = malloc(nq * sizeof *r->sigma);
    r->unsampled = calloc(nq, sizeof *r->unsampled);
    r->f = malloc(K * sizeof *r->f);
    r->g = malloc(K * sizeof *r->g);
    r->block = malloc(K * sizeof *r->block);
    r->resamples = malloc(nq * (size_t)B * sizeof *r->resamples);
    if (!r->F || !r->sigma || !r->unsampled || !r->f || !r->g || !r->block || !r->resamples) {
        fe_bootstrap_free(r);
        return ripen_fail(RIPEN_ENOMEM, "out of memory for %d bootstrap resamples", B);
    }
    return RIPEN_OK;
}

/* g of every window's q series, and the block lengths min(n_k, ceil(factor g_k)). */
static int inefficiencies(const fe_windows *w, double factor, fe_bootstrap_result *r) {
    int64_t longest = 0;
    for (int k = 0; k < w->nwindows; ++k)
        if (w->nsamples[k] > longest) longest = w->nsamples[k];
    double *x = malloc(sizeof *x * (size_t)longest);
    if (!x) return ripen_fail(RIPEN_ENOMEM, "out of memory for a window's time series");
    int status = RIPEN_OK;
    for (int k = 0; k < w->nwindows && !status; ++k) {
        for (int64_t t = 0; t < w->nsamples[k]; ++t) x[t] = w->samples[k][t];
        status = fe_statistical_inefficiency(x, w->nsamples[k], &r->g[k]);
        const double l = ceil(factor * r->g[k]);
        r->block[k] = l < (double)w->nsamples[k] ? (int64_t)l : w->nsamples[k];
        if (r->block[k] < 1) r->block[k] = 1;
        r->short_windows += w->nsamples[k] < FE_MIN_BLOCKS * r->block[k];
    }
    free(x);
    return status;
}

/* sigma(q) = sd over the resamples in which q was sampled; the others are counted. */
static void spread(fe_bootstrap_result *r, int32_t iref) {
    const int32_t nq = r->qmax - r->qmin + 1;
    const int B = r->nresamples;
    for (int32_t i = 0; i < nq; ++i) {
        double sum = 0, sum2 = 0;
        int used = 0;
        for (int b = 0; b < B; ++b) {
            const double v = r->resamples[(int64_t)b * nq + i];
            if (isfinite(v)) sum += v, ++used;
        }
        const double mean = used ? sum / used : 0;
        for (int b = 0; b < B; ++b) {
            const double v = r->resamples[(int64_t)b * nq + i];
            if (isfinite(v)) sum2 += (v - mean) * (v - mean);
        }
        r->unsampled[i] = B - used;
        r->sigma[i] = isfinite(r->F[i]) && used >= 2 ? sqrt(sum2 / (used - 1)) : INFINITY;
    }
    r->sigma[iref] = 0;
}

static int check_options(const fe_windows *w, const fe_bootstrap_options *opt) {
    if (!opt) return ripen_fail(RIPEN_EINVAL, "bootstrap: options are NULL");
    if (opt->method != FE_WHAM && opt->method != FE_MBAR)
        return ripen_fail(RIPEN_EINVAL, "bootstrap: method %d is neither FE_WHAM nor FE_MBAR",
                          (int)opt->method);
    if (opt->nresamples < 2 || opt->nresamples > FE_MAX_RESAMPLES)
        return ripen_fail(RIPEN_EINVAL, "bootstrap: nresamples = %d: must be in [2, %d]",
                          opt->nresamples, FE_MAX_RESAMPLES);
    if (!(opt->block_factor >= 0) || opt->block_factor > 1e6)
        return ripen_fail(RIPEN_EINVAL, "bootstrap: block_factor = %g: must be in [0, 1e6]",
                          opt->block_factor);
    if (opt->q_ref < w->qmin || opt->q_ref > w->qmax)
        return ripen_fail(RIPEN_EINVAL, "bootstrap: q_ref = %d is outside the grid [%d, %d]",
                          (int)opt->q_ref, (int)w->qmin, (int)w->qmax);
    return RIPEN_OK;
}

typedef struct {
    int32_t **samples; /* K resampled series, as long as the windows' own */
    double *F, *f;     /* one resample's solution */
} scratch;

static void scratch_free(scratch *s, int K) {
    if (s->samples)
        for (int k = 0; k < K; ++k) free(s->samples[k]);
    free(s->samples);
    free(s->F);
    free(s->f);
}

static int scratch_alloc(scratch *s, const fe_bootstrap_result *r, const int64_t *nsamples) {
    const int K = r->nwindows;
    *s = (scratch){0};
    s->samples = calloc((size_t)K, sizeof *s->samples);
    s->F = malloc(sizeof *s->F * ((size_t)r->qmax - r->qmin + 1));
    s->f = malloc(sizeof *s->f * (size_t)K);
    int ok = s->samples && s->F && s->f;
    for (int k = 0; ok && k < K; ++k)
        ok = (s->samples[k] = malloc(sizeof(int32_t) * (size_t)nsamples[k])) != NULL;
    if (!ok) {
        scratch_free(s, K);
        return ripen_fail(RIPEN_ENOMEM, "out of memory for a bootstrap resample");
    }
    return RIPEN_OK;
}

/* Resample b into row b of r->resamples, drawing again (next attempt's streams) while the
 * resample leaves windows unlinked or q_ref unsampled: those have no F - F(q_ref). */
static int one_resample(const fe_windows *w, const fe_bootstrap_options *opt,
                        fe_bootstrap_result *r, scratch *s, int b) {
    const int32_t nq = fe_grid_size(w), iref = opt->q_ref - w->qmin;
    const fe_windows rw = {.nwindows = w->nwindows,
                           .qmin = w->qmin,
                           .qmax = w->qmax,
                           .nsamples = w->nsamples,
                           .samples = (const int32_t *const *)s->samples,
                           .bias = w->bias};
    for (int attempt = 0; attempt < MAX_ATTEMPTS; ++attempt) {
        for (int k = 0; k < w->nwindows; ++k) {
            draws d;
            draws_open(&d, opt->seed, b, attempt, k);
            draw_window(w, k, r->block[k], &d, s->samples[k]);
        }
        if (fe_check(&rw) != RIPEN_OK) {
            ++r->redrawn;
            continue;
        }
        fe_info info;
        fe_solver_options solver = opt->solver;
        solver.initial_f = r->f; /* resamples lie close to the data: start from its answer */
        solver.resample = b, solver.nresamples = opt->nresamples;
        const int status = solve(opt->method, &rw, &solver, s->F, s->f, &info);
        if (status) return ripen_fail_context(status, "bootstrap resample %d: ", b);
        if (!isfinite(s->F[iref])) {
            ++r->redrawn;
            continue;
        }
        if (!info.converged) ++r->unconverged;
        double *row = r->resamples + (int64_t)b * nq;
        for (int32_t i = 0; i < nq; ++i) row[i] = s->F[i] - s->F[iref];
        return RIPEN_OK;
    }
    return ripen_fail(RIPEN_EINVAL,
                      "bootstrap resample %d: in %d draws the windows never all linked with "
                      "q_ref = %d sampled: too few (independent) samples in the overlaps",
                      b, MAX_ATTEMPTS, (int)opt->q_ref);
}

int fe_bootstrap(const fe_windows *w, const fe_bootstrap_options *opt, fe_bootstrap_result *r) {
    *r = (fe_bootstrap_result){0};
    int status = fe_check(w);
    if (status || (status = check_options(w, opt))) return status;
    if ((status = result_alloc(r, w, opt->nresamples))) return status;
    const int32_t nq = fe_grid_size(w), iref = opt->q_ref - w->qmin;
    if ((status = solve(opt->method, w, &opt->solver, r->F, r->f, &r->info))) goto fail;
    if (!isfinite(r->F[iref])) {
        status = ripen_fail(RIPEN_EINVAL,
                            "bootstrap: q_ref = %d was never sampled: F(q_ref) is "
                            "undefined, choose a sampled q",
                            (int)opt->q_ref);
        goto fail;
    }
    const double Fref = r->F[iref];
    for (int32_t i = 0; i < nq; ++i) r->F[i] -= Fref;
    const double factor = opt->block_factor > 0 ? opt->block_factor : FE_BLOCK_FACTOR;
    if ((status = inefficiencies(w, factor, r))) goto fail;
    scratch s;
    if ((status = scratch_alloc(&s, r, w->nsamples))) goto fail;
    for (int b = 0; b < opt->nresamples && !status; ++b) status = one_resample(w, opt, r, &s, b);
    scratch_free(&s, w->nwindows);
    if (status) goto fail;
    spread(r, iref);
    return RIPEN_OK;
fail:
    fe_bootstrap_free(r);
    return status;
}

/* ---- Reweighting in mu_core and the balance point ----------------------------------------- */

static int check_grid(int32_t qmin, int32_t qmax) {
    if (qmin > qmax || (int64_t)qmax - qmin + 1 > FE_MAX_GRID)
        return ripen_fail(RIPEN_EINVAL, "q grid [%d, %d]: need qmin <= qmax and at most %d values",
                          (int)qmin, (int)qmax, FE_MAX_GRID);
    return RIPEN_OK;
}

int fe_reweight_mu(const double *F, int32_t qmin, int32_t qmax, double dmu, double *out) {
    const int status = check_grid(qmin, qmax);
    if (status) return status;
    if (!F || !out) return ripen_fail(RIPEN_EINVAL, "fe_reweight_mu: F and out must not be NULL");
    if (!isfinite(dmu)) return ripen_fail(RIPEN_EINVAL, "fe_reweight_mu: dmu = %g", dmu);
    const int32_t nq = qmax - qmin + 1;
    /* Measured from qmin rather than 0: the same up to a constant, and smaller numbers. */
    for (int32_t i = 0; i < nq; ++i) out[i] = isfinite(F[i]) ? F[i] - dmu * i : F[i];
    fe_shift_min(out, nq);
    return RIPEN_OK;
}

/* dmu* and the barrier of one profile over grid indices [i0, i1]; 0 if F is not finite there. */
static int balance_of(const double *F, int32_t i0, int32_t i1, double *dmu, double *barrier,
                      int32_t *top) {
    for (int32_t i = i0; i <= i1; ++i)
        if (!isfinite(F[i])) return 0;
    *dmu = (F[i1] - F[i0]) / (double)(i1 - i0);
    *barrier = 0, *top = i0;
    for (int32_t i = i0; i <= i1; ++i) {
        const double rise = F[i] - F[i0] - *dmu * (double)(i - i0);
        if (rise > *barrier) *barrier = rise, *top = i;
    }
    return 1;
}

static double sample_sd(double sum, double sum2, int n) {
    if (n < 2) return INFINITY;
    const double mean = sum / n, var = (sum2 - n * mean * mean) / (n - 1);
    return var > 0 ? sqrt(var) : 0.0;
}

int fe_balance_point(const double *F, int32_t qmin, int32_t qmax, int32_t q_start, int32_t q_end,
                     const double *resamples, int nresamples, fe_balance *out) {
    int status = check_grid(qmin, qmax);
    if (status) return status;
    if (!F || !out || nresamples < 0 || (nresamples > 0 && !resamples))
        return ripen_fail(RIPEN_EINVAL,
                          "fe_balance_point: F, out (and resamples when "
                          "nresamples = %d > 0) must not be NULL",
                          nresamples);
    if (q_start < qmin || q_end > qmax || q_start >= q_end)
        return ripen_fail(RIPEN_EINVAL,
                          "q_start = %d, q_end = %d: need %d <= q_start < q_end <= %d",
                          (int)q_start, (int)q_end, (int)qmin, (int)qmax);
    const int32_t i0 = q_start - qmin, i1 = q_end - qmin, nq = qmax - qmin + 1;
    *out = (fe_balance){0};
    int32_t top;
    if (!balance_of(F, i0, i1, &out->dmu, &out->barrier, &top)) {
        int32_t i = i0;
        while (isfinite(F[i])) ++i;
        return ripen_fail(RIPEN_EINVAL,
                          "F(q = %d) is not finite: F must be known on all of [q_start, q_end] "
                          "= [%d, %d]",
                          (int)(qmin + i), (int)q_start, (int)q_end);
    }
    out->q_top = qmin + top;
    /* Shifted sums (relative to the full-data values) keep the variance free of cancellation. */
    double sb = 0, sb2 = 0, sd = 0, sd2 = 0;
    for (int b = 0; b < nresamples; ++b) {
        double dmu, barrier;
        if (!balance_of(resamples + (int64_t)b * nq, i0, i1, &dmu, &barrier, &top)) continue;
        ++out->nused;
        sb += barrier - out->barrier, sb2 += (barrier - out->barrier) * (barrier - out->barrier);
        sd += dmu - out->dmu, sd2 += (dmu - out->dmu) * (dmu - out->dmu);
    }
    out->barrier_mean = out->nused ? out->barrier + sb / out->nused : out->barrier;
    out->barrier_sd = sample_sd(sb, sb2, out->nused);
    out->dmu_sd = sample_sd(sd, sd2, out->nused);
    return RIPEN_OK;
}
