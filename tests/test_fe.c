/* The free-energy library (include/ripen/fe/fe.h) on data with known answers.
 *
 *  1. Exactly consistent histograms: WHAM and MBAR must return the true F to rounding.
 *  2. Synthetic windows (tests/fe_synthetic.h), hard walls and harmonic springs, one seed each:
 *     F within 4 bootstrap sigma of F0 at every q, for WHAM and for MBAR.
 *  3. WHAM and MBAR agree to 1e-6 kT on the same data, and so does every resampled profile
 *     (the resamples depend only on the seed, not on the estimator). Bootstrap mechanics:
 *     reproducibility, redrawing unlinked resamples, flagging windows too short to resample.
 *  4. The statistical inefficiency of chains whose g is known exactly.
 *  5. Reweighting in mu_core and the balance point on analytic profiles.
 *  6. Every validation error and warning, naming its window.
 *  7. The convergence report.
 * The calibration of the bootstrap sigma over many seeds is in test_fe_calibration.c. */
#include "fe_internal.h"
#include "fe_synthetic.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

enum { BOOTSTRAP_RESAMPLES = 200 };

static const fe_solver_options tight = {.tolerance = 1e-10, .max_iterations = 100000};

/* ---- 1. Exact data ------------------------------------------------------------------------ */

/* Window k of hard walls [3k, 3k + 4] on [0, 16] holds exactly c_k * w(q) samples at each of its
 * q, w(q) = 1 + (7q mod 5): every window's histogram is exactly proportional to the restricted
 * p(q) = w(q) / sum w. The likelihood is then maximised by that p itself, so WHAM and MBAR must
 * return F(q) = -ln w(q) + const up to rounding, whatever the c_k (unequal on purpose). */
static void test_exact_histograms(void) {
    enum { K = 5, QMAX = 16, NQ = QMAX + 1 };
    int32_t lo[K], hi[K], *x[K];
    int64_t n[K];
    double bias[K * NQ], F[NQ], Fm[NQ], f[K], fm[K];
    for (int k = 0; k < K; ++k) {
        lo[k] = 3 * k, hi[k] = 3 * k + 4;
        const int c = 1 + 3 * k % 4;
        n[k] = 0;
        for (int q = lo[k]; q <= hi[k]; ++q) n[k] += c * (1 + 7 * q % 5);
        x[k] = malloc(sizeof *x[k] * (size_t)n[k]);
        REQUIRE(x[k] != NULL, "out of memory");
        int64_t t = 0;
        for (int q = hi[k]; q >= lo[k]; --q) /* any order: WHAM and MBAR ignore it */
            for (int r = 0; r < c * (1 + 7 * q % 5); ++r) x[k][t++] = q;
    }
    FE_OK(fe_hard_wall_bias(K, 0, QMAX, lo, hi, bias));
    const fe_windows w = {K, 0, QMAX, n, (const int32_t *const *)x, bias};
    fe_info info;
    FE_OK(fe_wham(&w, &tight, F, f, &info));
    CHECK(info.converged, "WHAM did not converge on exact data");
    FE_OK(fe_mbar(&w, &tight, Fm, fm, &info));
    CHECK(info.converged, "MBAR did not converge on exact data");
    double worst = 0, minimum = INFINITY;
    for (int q = 0; q <= QMAX; ++q) minimum = fmin(minimum, -log(1 + 7 * q % 5));
    for (int q = 0; q <= QMAX; ++q) {
        const double exact = -log(1 + 7 * q % 5) - minimum;
        worst = fmax(worst, fmax(fabs(F[q] - exact), fabs(Fm[q] - exact)));
    }
    printf("exact histograms: max |F - F_exact| = %.2e kT (WHAM and MBAR)\n", worst);
    CHECK(worst < 1e-8, "F off the exact answer by %g kT", worst);

    /* One window over the whole grid (here: window 2's samples, on its own grid [6, 10]): F is
     * minus the log of its histogram, with nothing to iterate. */
    const int32_t one_lo = 6, one_hi = 10;
    double one_bias[5], one_F[5], one_f[1];
    FE_OK(fe_hard_wall_bias(1, one_lo, one_hi, &one_lo, &one_hi, one_bias));
    const fe_windows one = {1, one_lo, one_hi, &n[2], (const int32_t *const *)&x[2], one_bias};
    for (int method = 0; method < 2; ++method) {
        FE_OK(method ? fe_mbar(&one, &tight, one_F, one_f, &info)
                     : fe_wham(&one, &tight, one_F, one_f, &info));
        double off = 0;
        for (int q = one_lo; q <= one_hi; ++q)
            off = fmax(off, fabs(one_F[q - one_lo] - (-log(1 + 7 * q % 5) - log(1.0 / 5))));
        CHECK(info.converged && one_f[0] == 0 && off < 1e-12, "one window (%s): F off by %g",
              method ? "MBAR" : "WHAM", off);
    }
    for (int k = 0; k < K; ++k) free(x[k]);
}

/* ---- 2, 3. Synthetic windows --------------------------------------------------------------- */

static void bootstrap(const synthetic *s, fe_method method, int B, fe_bootstrap_result *r) {
    const fe_bootstrap_options opt = {
        .method = method, .nresamples = B, .seed = 99, .q_ref = 0, .solver = tight};
    FE_OK(fe_bootstrap(&s->w, &opt, r));
    CHECK(r->info.converged && r->unconverged == 0, "bootstrap solves did not all converge");
}

/* WHAM with B = 200 resamples: F within 4 sigma of F0 at every q (P(|z| > 4) = 6e-5 per q for a
 * correct sigma, 40 q values per case, so a false alarm has probability ~0.3% for a given seed).
 * MBAR (slower: it sweeps every sample) with the same seed and B = 50: resample b draws the same
 * samples for either estimator, so every one of its resampled profiles, and F, must equal
 * WHAM's to 1e-6 kT: on biases that depend only on q both maximise the same likelihood, and both
 * are solved to a self-consistent change below 1e-10 kT. MBAR's F is then tested against F0 with
 * WHAM's sigma, which its own resamples reproduce. */
static void test_synthetic(const char *name, synthetic *s) {
    enum { B_MBAR = 50 };
    fe_bootstrap_result rw, rm;
    const double t0 = (double)clock();
    bootstrap(s, FE_WHAM, BOOTSTRAP_RESAMPLES, &rw);
    const double t1 = (double)clock();
    bootstrap(s, FE_MBAR, B_MBAR, &rm);
    const double t2 = (double)clock();
    const double zw = syn_z(rw.F, rw.sigma, 0, NULL, NULL);
    const double zm = syn_z(rm.F, rw.sigma, 0, NULL, NULL);
    double dF = 0, drow = 0, df = 0, sigma_mean = 0, g_mean = 0;
    for (int q = 0; q <= SYN_QMAX; ++q) {
        dF = fmax(dF, fabs(rw.F[q] - rm.F[q]));
        for (int b = 0; b < B_MBAR; ++b)
            drow = fmax(drow, fabs(rw.resamples[b * SYN_NQ + q] - rm.resamples[b * SYN_NQ + q]));
        sigma_mean += rw.sigma[q] / SYN_QMAX;
        CHECK(rw.unsampled[q] == 0, "%s: q = %d unsampled in %d resamples", name, q,
              rw.unsampled[q]);
    }
    for (int k = 0; k < s->K; ++k) {
        df = fmax(df, fabs(rw.f[k] - rm.f[k]));
        /* i.i.d. samples: g = 1 exactly. Geyer's estimate from 2000 i.i.d. values has mean
         * 1.05, sd 0.08, 99.9% quantile 1.43 and maximum 1.53 (2000 replicates, measured). */
        CHECK(rw.g[k] < 1.6, "%s: window %d of i.i.d. samples has g = %.3f", name, k, rw.g[k]);
        g_mean += rw.g[k] / s->K;
        CHECK(rw.block[k] == (int64_t)ceil(FE_BLOCK_FACTOR * rw.g[k]), "%s: window %d block %lld",
              name, k, (long long)rw.block[k]);
    }
    for (int b = 0; b < BOOTSTRAP_RESAMPLES; ++b)
        CHECK(rw.resamples[b * SYN_NQ] == 0, "%s: resample %d not relative to q_ref", name, b);
    /* Balance between q = 0 and 20: F0(20) - F0(0) = 4, so dmu* = 0.2, and the reweighted
     * F0' = 4 sin^2(pi q / 20) has its 4 kT top at q = 10, 0.1 kT above q = 9 and 11. */
    fe_balance bal;
    FE_OK(fe_balance_point(rw.F, 0, SYN_QMAX, 0, 20, rw.resamples, BOOTSTRAP_RESAMPLES, &bal));
    printf(
        "%s: dmu* = %.3f +- %.3f (exact 0.2), barrier %.3f +- %.3f (resample mean %.3f; exact 4) "
        "at q = %d\n",
        name, bal.dmu, bal.dmu_sd, bal.barrier, bal.barrier_sd, bal.barrier_mean, (int)bal.q_top);
    CHECK(bal.nused == BOOTSTRAP_RESAMPLES && fabs(bal.dmu - 0.2) < 4 * bal.dmu_sd &&
              fabs(bal.barrier - 4) < 4 * bal.barrier_sd && abs(bal.q_top - 10) <= 3,
          "%s: balance point off", name);
    /* The mean over K windows has sd ~0.08 / sqrt(K) < 0.03: 1.15 is 3.4 sd above 1.05. */
    CHECK(g_mean < 1.15, "%s: mean g of i.i.d. windows %.3f", name, g_mean);
    printf("%s: max |z| WHAM %.2f, MBAR %.2f; mean sigma %.3f kT; WHAM %d iterations, MBAR %d; "
           "|WHAM - MBAR|: F %.1e, f %.1e, resampled F %.1e kT; bootstrap %.2f s (B = %d) + "
           "%.2f s (B = %d)\n",
           name, zw, zm, sigma_mean, rw.info.iterations, rm.info.iterations, dF, df, drow,
           (t1 - t0) / CLOCKS_PER_SEC, BOOTSTRAP_RESAMPLES, (t2 - t1) / CLOCKS_PER_SEC, B_MBAR);
    CHECK(zw < 4 && zm < 4, "%s: F more than 4 sigma from F0 (WHAM %.2f, MBAR %.2f)", name, zw, zm);
    CHECK(dF < 1e-6 && df < 1e-6, "%s: WHAM and MBAR differ: F by %g, f by %g kT", name, dF, df);
    CHECK(drow < 1e-6, "%s: WHAM and MBAR resamples differ by %g kT", name, drow);
    CHECK(rw.redrawn == 0 && rw.short_windows == 0, "%s: %d resamples redrawn, %d short windows",
          name, rw.redrawn, rw.short_windows);
    fe_bootstrap_free(&rw);
    fe_bootstrap_free(&rm);
}

/* A walk that tries a move once in 5 steps has g ~ 100 in windows of 2000 samples: blocks of
 * 5 g = 500 leave 4 blocks per window, far from the 20 a bootstrap error needs (with one block
 * every resample would be a rotation of the data, with no spread at all), and the bootstrap
 * must report every window as short. */
static void test_short_windows(void) {
    synthetic slow;
    syn_hard_walls(&slow, 2000);
    syn_draw_walk(&slow, 3, 0.2);
    const fe_bootstrap_options opt = {
        .method = FE_WHAM, .nresamples = 10, .seed = 1, .q_ref = 0, .solver = tight};
    fe_bootstrap_result r;
    FE_OK(fe_bootstrap(&slow.w, &opt, &r));
    printf("slow walk: %d of %d windows short (g of window 0: %.0f, block %lld of %lld samples)\n",
           r.short_windows, slow.K, r.g[0], (long long)r.block[0], (long long)slow.n[0]);
    CHECK(r.short_windows == slow.K, "slow walk: %d short windows", r.short_windows);
    fe_bootstrap_free(&r);
    syn_free(&slow);
}

static void test_bootstrap_reproducible(synthetic *s) {
    const fe_bootstrap_options opt = {
        .method = FE_WHAM, .nresamples = 20, .seed = 7, .q_ref = 0, .solver = tight};
    fe_bootstrap_result a, b, c;
    FE_OK(fe_bootstrap(&s->w, &opt, &a));
    FE_OK(fe_bootstrap(&s->w, &opt, &b));
    fe_bootstrap_options other = opt;
    other.seed = 8;
    FE_OK(fe_bootstrap(&s->w, &other, &c));
    CHECK(memcmp(a.resamples, b.resamples, sizeof(double) * 20 * SYN_NQ) == 0,
          "same seed, different resamples");
    CHECK(memcmp(a.resamples, c.resamples, sizeof(double) * 20 * SYN_NQ) != 0,
          "different seeds, same resamples");
    CHECK(a.F[0] == 0 && a.sigma[0] == 0, "F and sigma at q_ref: %g, %g", a.F[0], a.sigma[0]);
    fe_bootstrap_free(&a);
    fe_bootstrap_free(&b);
    fe_bootstrap_free(&c);
}

/* Hard-wall windows [4k, 4k + 4] whose links hang on single samples: window k has one sample
 * at 4k and one at 4k + 4 (where its neighbours are allowed), the rest cycling through 4k + 1 ..
 * 4k + 3. With blocks of one sample a resample keeps a given sample with probability
 * 1 - (1 - 1/n)^n = 0.63. */
static void thin_links(int K, int64_t n, int32_t *lo, int32_t *hi, int32_t **x, int64_t *count,
                       double *bias) {
    for (int k = 0; k < K; ++k) {
        lo[k] = 4 * k, hi[k] = 4 * k + 4, count[k] = n;
        x[k] = malloc(sizeof *x[k] * (size_t)n);
        REQUIRE(x[k] != NULL, "out of memory");
        for (int64_t t = 0; t < n; ++t) x[k][t] = 4 * k + 1 + (int32_t)(t % 3);
        if (k > 0) x[k][n / 4] = 4 * k;
        if (k + 1 < K) x[k][3 * n / 4] = 4 * k + 4;
    }
    FE_OK(fe_hard_wall_bias(K, 0, 4 * K, lo, hi, bias));
}

/* Three windows: 4 samples carry the links, so a resample keeps them all with probability
 * 0.63^4 = 0.16 and ~5 draws are needed per resample; 100 draws all fail with probability 3e-8.
 * Forty windows: 78 such samples, P = 0.63^78 ~ 3e-16 per draw: the bootstrap must give up. */
static void test_bootstrap_redraws(void) {
    enum { FEW = 3, MANY = 40, N = 200 };
    int32_t lo[MANY], hi[MANY], *x[MANY];
    int64_t n[MANY];
    double *bias = malloc(sizeof *bias * MANY * (4 * MANY + 1));
    REQUIRE(bias != NULL, "out of memory");
    const fe_bootstrap_options opt = {.method = FE_WHAM,
                                      .nresamples = 20,
                                      .seed = 5,
                                      .q_ref = 1,
                                      .block_factor = 1e-9,
                                      .solver = tight};
    thin_links(FEW, N, lo, hi, x, n, bias);
    fe_windows w = {FEW, 0, 4 * FEW, n, (const int32_t *const *)x, bias};
    fe_bootstrap_result r;
    FE_OK(fe_bootstrap(&w, &opt, &r));
    printf("thin links: %d redraws for %d resamples (expected ~%.0f)\n", r.redrawn, r.nresamples,
           r.nresamples * (1 / pow(1 - pow(1 - 1.0 / N, N), 4) - 1));
    CHECK(r.redrawn > 0 && r.block[0] == 1, "thin links: redrawn %d, block %lld", r.redrawn,
          (long long)r.block[0]);
    fe_bootstrap_free(&r);
    for (int k = 0; k < FEW; ++k) free(x[k]);

    thin_links(MANY, N, lo, hi, x, n, bias);
    w = (fe_windows){MANY, 0, 4 * MANY, n, (const int32_t *const *)x, bias};
    CHECK(fe_bootstrap(&w, &opt, &r) == RIPEN_EINVAL, "hopeless resamples accepted");
    CHECK(strstr(ripen_last_error(), "bootstrap resample 0: in 100 draws") != NULL, "%s",
          ripen_last_error());
    printf("  %s\n", ripen_last_error());
    CHECK(r.F == NULL, "result not released on failure");
    for (int k = 0; k < MANY; ++k) free(x[k]);
    free(bias);
}

/* ---- 4. Statistical inefficiency ---------------------------------------------------------- */

static double gaussian(philox_stream *st) {
    const double u = 1 - philox_stream_uniform(st), v = philox_stream_uniform(st);
    return sqrt(-2 * log(u)) * cos(2 * syn_pi * v);
}

/* Bounds: for a truncated sum over M lags the estimate of g has relative sd ~ sqrt(2 (2M + 1) / n)
 * (Sokal 1997); Geyer's truncation stops near M ~ 3-5 tau for these chains, so at n = 1e5 the sd
 * is ~3% for g = 9 and 15% is ~5 sd. For i.i.d. data (g = 1) the sd is ~1%: bound 0.05. */
static void test_inefficiency(void) {
    enum { N = 100000 };
    double *x = malloc(sizeof *x * N), g;
    REQUIRE(x != NULL, "out of memory");
    philox_stream st;
    philox_stream_init(&st, philox_key_from_seed(2024), 0, 0, PURPOSE_TEST);

    /* AR(1), x_t = rho x_{t-1} + sqrt(1 - rho^2) e_t: rho(t) = rho^t, g = (1 + rho) / (1 - rho). */
    const double rho = 0.8;
    x[0] = gaussian(&st);
    for (int t = 1; t < N; ++t) x[t] = rho * x[t - 1] + sqrt(1 - rho * rho) * gaussian(&st);
    FE_OK(fe_statistical_inefficiency(x, N, &g));
    const double g_ar = (1 + rho) / (1 - rho);
    printf("AR(1) rho = %.1f: g = %.3f (exact %.3f, %+.1f%%)\n", rho, g, g_ar,
           100 * (g / g_ar - 1));
    CHECK(fabs(g / g_ar - 1) < 0.15, "AR(1): g = %g, exact %g", g, g_ar);

    /* Two-state chain flipping with probability p: rho(t) = (1 - 2p)^t, so g = (1 - p) / p. An
     * integer series like q. */
    const double p = 0.1;
    x[0] = 0;
    for (int t = 1; t < N; ++t) x[t] = philox_stream_uniform(&st) < p ? 1 - x[t - 1] : x[t - 1];
    FE_OK(fe_statistical_inefficiency(x, N, &g));
    printf("two-state chain p = %.1f: g = %.3f (exact %.3f, %+.1f%%)\n", p, g, (1 - p) / p,
           100 * (g / ((1 - p) / p) - 1));
    CHECK(fabs(g / ((1 - p) / p) - 1) < 0.15, "two-state chain: g = %g, exact %g", g, (1 - p) / p);

    /* rho = 0.99 (g = 199) on 10 times the length: the correlation outlasts the 256 lag pairs
     * summed directly, so the estimate comes from the coarse-grained series. Relative sd ~4%
     * (Sokal, M ~ 3 tau = 300, n = 1e6); 15% is ~4 sd. */
    const int64_t n_long = 10 * (int64_t)N;
    double *y = malloc(sizeof *y * (size_t)n_long);
    REQUIRE(y != NULL, "out of memory");
    const double rho_long = 0.99;
    y[0] = gaussian(&st);
    for (int64_t t = 1; t < n_long; ++t)
        y[t] = rho_long * y[t - 1] + sqrt(1 - rho_long * rho_long) * gaussian(&st);
    FE_OK(fe_statistical_inefficiency(y, n_long, &g));
    const double g_long = (1 + rho_long) / (1 - rho_long);
    printf("AR(1) rho = %.2f: g = %.2f (exact %.2f, %+.1f%%)\n", rho_long, g, g_long,
           100 * (g / g_long - 1));
    CHECK(fabs(g / g_long - 1) < 0.15, "AR(1), coarse-grained: g = %g, exact %g", g, g_long);
    /* A ramp never decorrelates: g is of the order of n, found in O(n) lags x levels. */
    for (int64_t t = 0; t < n_long; ++t) y[t] = (double)t;
    FE_OK(fe_statistical_inefficiency(y, n_long, &g));
    printf("ramp of %lld values: g = %.0f\n", (long long)n_long, g);
    CHECK(g > n_long / 10, "ramp: g = %g", g);
    free(y);

    for (int t = 0; t < N; ++t) x[t] = gaussian(&st);
    FE_OK(fe_statistical_inefficiency(x, N, &g));
    printf("i.i.d.: g = %.4f (exact 1)\n", g);
    CHECK(g >= 1 && g < 1.05, "i.i.d.: g = %g", g);

    for (int t = 0; t < 100; ++t) x[t] = 3;
    FE_OK(fe_statistical_inefficiency(x, 100, &g));
    CHECK(g == 1, "constant series: g = %g", g);
    FE_OK(fe_statistical_inefficiency(x, 1, &g));
    CHECK(g == 1, "one value: g = %g", g);
    CHECK(fe_statistical_inefficiency(x, 0, &g) == RIPEN_EINVAL, "n = 0 accepted");
    x[5] = NAN;
    CHECK(fe_statistical_inefficiency(x, 100, &g) == RIPEN_EINVAL, "NaN accepted");
    CHECK(strstr(ripen_last_error(), "value 5") != NULL, "message: %s", ripen_last_error());
    free(x);
}

/* ---- 5. Reweighting and the balance point ------------------------------------------------- */

static void test_balance(void) {
    enum { QMIN = -2, QMAX = 12, NQ = QMAX - QMIN + 1 };
    /* F = c q + h sin^2(pi q / 10): at dmu = c the slope is gone and F' = h sin^2(pi q / 10) + k,
     * equal at q = 0 and 10 (so dmu* = c) with its top, h above F'(0), at q = 5. */
    const double c = 0.37, h = 2.5;
    double F[NQ], out[NQ];
    for (int q = QMIN; q <= QMAX; ++q) {
        const double s = sin(syn_pi * q / 10);
        F[q - QMIN] = c * q + h * s * s;
    }
    FE_OK(fe_reweight_mu(F, QMIN, QMAX, c, out));
    double worst = 0;
    for (int q = QMIN; q <= QMAX; ++q) {
        const double s = sin(syn_pi * q / 10);
        worst = fmax(worst, fabs(out[q - QMIN] - h * s * s)); /* min of h sin^2 is 0 at q = 0 */
    }
    CHECK(worst < 1e-12, "reweighted F off by %g", worst);
    fe_balance b;
    FE_OK(fe_balance_point(F, QMIN, QMAX, 0, 10, NULL, 0, &b));
    printf("balance: dmu* = %.6f (exact %.2f), barrier %.6f (exact %.1f) at q = %d\n", b.dmu, c,
           b.barrier, h, (int)b.q_top);
    CHECK(fabs(b.dmu - c) < 1e-12 && fabs(b.barrier - h) < 1e-12 && b.q_top == 5,
          "dmu* %g barrier %g q_top %d", b.dmu, b.barrier, (int)b.q_top);
    CHECK(b.nused == 0 && isinf(b.barrier_sd) && b.barrier_mean == b.barrier, "no resamples");

    /* A parabola between q_start = 2 and q_end = 8: F = 0.3 q - 0.05 (q - 5)^2 has dmu* = 0.3
     * and, at it, F' = -0.05 (q - 5)^2 + k: barrier 0.05 * 9 = 0.45 at q = 5. Its mirror image
     * +0.05 (q - 5)^2 has no barrier (top at q_start). */
    for (int sign = -1; sign <= 1; sign += 2) {
        for (int q = QMIN; q <= QMAX; ++q) F[q - QMIN] = 0.3 * q + sign * 0.05 * (q - 5) * (q - 5);
        FE_OK(fe_balance_point(F, QMIN, QMAX, 2, 8, NULL, 0, &b));
        /* Without a barrier F' is equal at both ends, and rounding decides which is the top. */
        const double barrier = sign < 0 ? 0.45 : 0.0;
        CHECK(fabs(b.dmu - 0.3) < 1e-12 && fabs(b.barrier - barrier) < 1e-12 &&
                  (sign < 0 ? b.q_top == 5 : b.q_top == 2 || b.q_top == 8),
              "parabola %+d: dmu* %g barrier %g q_top %d", sign, b.dmu, b.barrier, (int)b.q_top);
    }

    /* Resamples: rows with (c_b, h_b) = (0.1, 2), (0.2, 2.5), (0.3, 3) have barriers 2, 2.5, 3
     * (mean 2.5, sd 0.5) and dmu* 0.1, 0.2, 0.3 (sd 0.1); a fourth row not finite inside
     * [0, 10] is left out. */
    double rows[4 * NQ];
    for (int r = 0; r < 4; ++r)
        for (int q = QMIN; q <= QMAX; ++q) {
            const double s = sin(syn_pi * q / 10);
            rows[r * NQ + q - QMIN] = 0.1 * (r + 1) * q + (2 + 0.5 * r) * s * s;
        }
    rows[3 * NQ + 7 - QMIN] = INFINITY;
    for (int q = QMIN; q <= QMAX; ++q) {
        const double s = sin(syn_pi * q / 10);
        F[q - QMIN] = c * q + h * s * s;
    }
    FE_OK(fe_balance_point(F, QMIN, QMAX, 0, 10, rows, 4, &b));
    CHECK(b.nused == 3 && fabs(b.barrier_mean - 2.5) < 1e-12 && fabs(b.barrier_sd - 0.5) < 1e-12 &&
              fabs(b.dmu_sd - 0.1) < 1e-12,
          "resamples: used %d, barrier %g +- %g, dmu sd %g", b.nused, b.barrier_mean, b.barrier_sd,
          b.dmu_sd);

    CHECK(fe_balance_point(F, QMIN, QMAX, 10, 10, NULL, 0, &b) == RIPEN_EINVAL, "q_start = q_end");
    CHECK(fe_balance_point(F, QMIN, QMAX, 0, 13, NULL, 0, &b) == RIPEN_EINVAL, "q_end off grid");
    F[4 - QMIN] = INFINITY;
    CHECK(fe_balance_point(F, QMIN, QMAX, 0, 10, NULL, 0, &b) == RIPEN_EINVAL, "F infinite");
    CHECK(strstr(ripen_last_error(), "F(q = 4)") != NULL, "message: %s", ripen_last_error());
}

/* ---- 6. Validation ------------------------------------------------------------------------ */

/* Three hard-wall windows [0, 4], [3, 7], [6, 10] on [0, 10], each sample cycling through its
 * window: neighbours share 2 of 5 q values, so 40% of each window's samples are shared. */
typedef struct {
    int32_t lo[3], hi[3];
    int32_t data[3][50];
    int32_t *x[3];
    int64_t n[3];
    double bias[3 * 11];
    fe_windows w;
} small;

static void small_init(small *s) {
    for (int k = 0; k < 3; ++k) {
        s->lo[k] = 3 * k, s->hi[k] = 3 * k + 4, s->n[k] = 50, s->x[k] = s->data[k];
        for (int t = 0; t < 50; ++t) s->data[k][t] = s->lo[k] + t % 5;
    }
    FE_OK(fe_hard_wall_bias(3, 0, 10, s->lo, s->hi, s->bias));
    s->w = (fe_windows){3, 0, 10, s->n, (const int32_t *const *)s->x, s->bias};
}

static void expect_error(const small *s, const char *what, const char *needle) {
    const int status = fe_validate(&s->w, 0.05, NULL, 0);
    CHECK(status == RIPEN_EINVAL, "%s: status %d", what, status);
    CHECK(strstr(ripen_last_error(), needle) != NULL, "%s: message \"%s\" lacks \"%s\"", what,
          ripen_last_error(), needle);
    printf("  %-28s -> %s\n", what, ripen_last_error());
    double F[11], f[3];
    fe_info info;
    CHECK(fe_wham(&s->w, NULL, F, f, &info) == RIPEN_EINVAL, "%s: WHAM accepted it", what);
    CHECK(fe_mbar(&s->w, NULL, F, f, &info) == RIPEN_EINVAL, "%s: MBAR accepted it", what);
}

static void test_validation(void) {
    small s;
    char warnings[512];
    small_init(&s);
    CHECK(fe_validate(&s.w, 0.05, warnings, sizeof warnings) == RIPEN_OK, "%s", ripen_last_error());
    CHECK(warnings[0] == '\0', "unexpected warnings: %s", warnings);
    CHECK(fe_validate(&s.w, 1.5, warnings, sizeof warnings) == RIPEN_EINVAL, "min_overlap 1.5");
    CHECK(fe_validate(&s.w, NAN, warnings, sizeof warnings) == RIPEN_EINVAL, "min_overlap NaN");
    printf("validation errors:\n");

    small_init(&s), s.n[1] = 0;
    expect_error(&s, "no samples", "window 1 has 0 samples");
    small_init(&s);
    for (int q = 0; q <= 10; ++q) s.bias[2 * 11 + q] = INFINITY;
    expect_error(&s, "empty window", "window 2 allows no q");
    small_init(&s), s.bias[1 * 11 + 2] = NAN;
    expect_error(&s, "NaN bias", "window 1: bias at q = 2");
    small_init(&s), s.bias[1 * 11 + 2] = -INFINITY;
    expect_error(&s, "-INFINITY bias", "window 1: bias at q = 2");
    small_init(&s), s.data[1][5] = 11;
    expect_error(&s, "sample off the grid", "window 1, sample 5: q = 11 is outside the grid");
    small_init(&s), s.data[1][7] = -1;
    expect_error(&s, "sample below the grid", "window 1, sample 7: q = -1 is outside the grid");
    small_init(&s), s.data[0][3] = 6;
    expect_error(&s, "sample outside its window", "window 0, sample 3: q = 6 is excluded");

    small_init(&s), s.lo[2] = 6, s.hi[2] = 9; /* q = 10 in no window */
    for (int t = 0; t < 50; ++t) s.data[2][t] = 6 + t % 4;
    fe_hard_wall_bias(3, 0, 10, s.lo, s.hi, s.bias);
    expect_error(&s, "gap at the end", "q = 10 is allowed by no window");
    CHECK(strstr(ripen_last_error(), "window 2 ends at 9") != NULL, "%s", ripen_last_error());
    small_init(&s), s.hi[0] = 2; /* q = 3 is in window 1: no gap; shrink window 1 too */
    s.lo[1] = 4;
    for (int t = 0; t < 50; ++t) s.data[0][t] = t % 3, s.data[1][t] = 4 + t % 4;
    fe_hard_wall_bias(3, 0, 10, s.lo, s.hi, s.bias);
    expect_error(&s, "gap inside", "q = 3 is allowed by no window");
    CHECK(strstr(ripen_last_error(), "window 0 allows q up to 2, window 1 from 4") != NULL, "%s",
          ripen_last_error());

    /* Listed out of order: windows 0 = [0, 4] and 1 = [6, 10] share nothing, though window 2 =
     * [3, 7] leaves no gap. */
    small_init(&s), s.lo[1] = 6, s.hi[1] = 10, s.lo[2] = 3, s.hi[2] = 7;
    for (int t = 0; t < 50; ++t) s.data[1][t] = 6 + t % 5, s.data[2][t] = 3 + t % 5;
    fe_hard_wall_bias(3, 0, 10, s.lo, s.hi, s.bias);
    expect_error(&s, "neighbours share no q", "windows 0 and 1 share no allowed q");

    /* Window 1 never visits its overlaps with 0 and 2 ([3, 4] and [6, 7]): window 0's samples
     * lead into window 1's range, but no samples of window 1 lead on to window 2. */
    small_init(&s);
    for (int t = 0; t < 50; ++t) s.data[1][t] = 5;
    expect_error(&s, "unlinked window", "window 2 is not linked to window 0");
    CHECK(strstr(ripen_last_error(), "from 0 to 2") != NULL, "%s", ripen_last_error());
    /* One-way link: window 0 has samples at 3 and 4 (allowed by window 1), but window 1's never
     * reach window 0's range: window 1 (and 2 beyond it) cannot lead back to 0. */
    small_init(&s);
    for (int t = 0; t < 50; ++t) s.data[1][t] = 5 + t % 3;
    expect_error(&s, "one-way link", "is not linked to window 0");
    CHECK(strstr(ripen_last_error(), "to 0") != NULL, "%s", ripen_last_error());

    small_init(&s), s.w.nwindows = 0;
    expect_error(&s, "no windows", "nwindows = 0");
    small_init(&s), s.w.qmin = 11;
    expect_error(&s, "empty grid", "q grid [11, 10]");
    small_init(&s), s.x[2] = NULL;
    expect_error(&s, "NULL samples", "window 2: samples pointer is NULL");
    small_init(&s), s.w.bias = NULL;
    expect_error(&s, "NULL bias", "must not be NULL");

    /* Warnings: 40% shared samples is below min_overlap = 0.5 (and above 0.3); window 2 never
     * visiting q = 10 leaves it allowed but unsampled, and F(10) = INFINITY. */
    small_init(&s);
    CHECK(fe_validate(&s.w, 0.5, warnings, sizeof warnings) == RIPEN_OK, "%s", ripen_last_error());
    printf("validation warnings:\n%s", warnings);
    CHECK(strstr(warnings, "windows 0 and 1 overlap poorly: 40.0% of window 0") != NULL, "%s",
          warnings);
    CHECK(strstr(warnings, "windows 1 and 2 overlap poorly") != NULL, "%s", warnings);
    CHECK(fe_validate(&s.w, 0.3, warnings, sizeof warnings) == RIPEN_OK && warnings[0] == '\0',
          "warning at min_overlap 0.3: %s", warnings);
    for (int t = 0; t < 50; ++t) s.data[2][t] = 6 + t % 4;
    CHECK(fe_validate(&s.w, 0.05, warnings, sizeof warnings) == RIPEN_OK, "%s", ripen_last_error());
    printf("%s", warnings);
    CHECK(strstr(warnings, "q in [10, 10] is allowed (window 2) but never sampled") != NULL, "%s",
          warnings);
    char tiny[8];
    CHECK(fe_validate(&s.w, 0.05, tiny, sizeof tiny) == RIPEN_OK && strlen(tiny) < sizeof tiny,
          "truncated warnings");
    double F[11], Fm[11], f[3];
    fe_info info;
    FE_OK(fe_wham(&s.w, NULL, F, f, &info));
    FE_OK(fe_mbar(&s.w, NULL, Fm, f, &info));
    CHECK(isinf(F[10]) && isinf(Fm[10]), "unsampled q: F = %g, %g", F[10], Fm[10]);
    double lowest = INFINITY;
    for (int q = 0; q < 10; ++q) lowest = fmin(lowest, fmin(F[q], Fm[q]));
    CHECK(lowest == 0, "min F = %g", lowest);

    const fe_bootstrap_options bad_ref = {
        .method = FE_WHAM, .nresamples = 10, .seed = 1, .q_ref = 10, .solver = tight};
    fe_bootstrap_result r;
    CHECK(fe_bootstrap(&s.w, &bad_ref, &r) == RIPEN_EINVAL, "q_ref unsampled accepted");
    CHECK(strstr(ripen_last_error(), "q_ref = 10 was never sampled") != NULL, "%s",
          ripen_last_error());
    const fe_bootstrap_options one = {
        .method = FE_WHAM, .nresamples = 1, .seed = 1, .q_ref = 0, .solver = tight};
    CHECK(fe_bootstrap(&s.w, &one, &r) == RIPEN_EINVAL, "B = 1 accepted");

    int32_t lo[2] = {0, 5}, hi[2] = {6, 4};
    CHECK(fe_hard_wall_bias(2, 0, 10, lo, hi, s.bias) == RIPEN_EINVAL, "lo > hi accepted");
    CHECK(strstr(ripen_last_error(), "window 1: hard walls [5, 4]") != NULL, "%s",
          ripen_last_error());
}

/* ---- 7. Convergence report ---------------------------------------------------------------- */

static void test_convergence_info(synthetic *s) {
    double F[SYN_NQ], f[SYN_MAX_WINDOWS];
    fe_info info;
    const fe_solver_options once = {.tolerance = 1e-10, .max_iterations = 1};
    FE_OK(fe_wham(&s->w, &once, F, f, &info));
    CHECK(!info.converged && info.iterations == 1 && info.max_change > 1e-10,
          "WHAM, 1 iteration: converged %d, iterations %d, change %g", info.converged,
          info.iterations, info.max_change);
    FE_OK(fe_mbar(&s->w, &once, F, f, &info));
    CHECK(!info.converged && info.iterations == 1 && info.max_change > 1e-10,
          "MBAR, 1 iteration: converged %d, iterations %d, change %g", info.converged,
          info.iterations, info.max_change);
    FE_OK(fe_wham(&s->w, NULL, F, f, &info));
    printf("WHAM (defaults): %d iterations, last change %.1e kT\n", info.iterations,
           info.max_change);
    CHECK(info.converged && info.iterations > 1 && info.max_change < 1e-10,
          "WHAM did not converge");
    FE_OK(fe_mbar(&s->w, NULL, F, f, &info));
    printf("MBAR (defaults): %d iterations, last change %.1e kT\n", info.iterations,
           info.max_change);
    CHECK(info.converged && info.iterations > 1 && info.max_change < 1e-10,
          "MBAR did not converge");
    CHECK(f[0] == 0, "f_0 = %g", f[0]);
    const fe_solver_options bad = {.tolerance = 0, .max_iterations = 10};
    CHECK(fe_wham(&s->w, &bad, F, f, &info) == RIPEN_EINVAL, "tolerance 0 accepted");
}

/* ---- 8. The solvers' watch: stopping when the tolerance is out of reach, and polls ---------- */

/* Feeds a sequence of changes, change(i) for iteration i = 1, 2, ..., to the watch the solvers
 * share (fe_internal.h) until it stops; returns how it stopped and when. */
static fe_info watch_sequence(double (*change)(int), const fe_solver_options *o) {
    fe_watch w = fe_watch_start(o, "test");
    fe_info info = {0};
    for (int stop = 0; !stop;) {
        ++info.iterations;
        info.max_change = change(info.iterations);
        if (fe_watch_step(&w, &info, &stop)) break;
    }
    return info;
}

/* Rounding holds the change at 1.9e-10 above a tolerance of 1e-10 from iteration 1000 on (what
 * MBAR over states with no shared samples does). */
static double stalls(int i) {
    return i < 1000 ? 1e-3 * pow(1.9e-7, i / 1000.0) : 1.9e-10;
}
/* Linear convergence at 0.9999 per iteration: 1e-10 needs ~160,000 iterations. */
static double crawls(int i) {
    return 1e-3 * pow(0.9999, i);
}
/* Slow but within reach: 0.9995 per iteration reaches 1e-10 after ~32,000 iterations; bumps of
 * 10x every 37 iterations (an extrapolating solver) must not look like a stall. */
static double bumpy(int i) {
    return 1e-3 * pow(0.9995, i) * (i % 37 == 0 ? 10.0 : 1.0);
}
/* Newton: a few iterations. */
static double quick(int i) {
    return pow(10.0, -3.0 * i);
}

static int polls_seen;
static int stop_at_fifth(void *context, const fe_progress *p) {
    (void)context;
    ++polls_seen;
    return p->iteration >= 5;
}

static void test_watch(void) {
    const fe_solver_options o = fe_solver_defaults();
    fe_info info = watch_sequence(stalls, &o);
    CHECK(info.stop == FE_STOP_STALLED && !info.converged && info.iterations <= 1000 + 2 * 200,
          "stalled change: stop %d after %d iterations", (int)info.stop, info.iterations);
    info = watch_sequence(crawls, &o);
    CHECK(info.stop == FE_STOP_SLOW && info.iterations <= 2 * FE_WATCH_ITERATIONS &&
              info.needed > 100000,
          "crawling change: stop %d after %d iterations, needs %g", (int)info.stop, info.iterations,
          info.needed);
    info = watch_sequence(bumpy, &o);
    CHECK(info.converged && info.stop == FE_STOP_CONVERGED,
          "slow bumpy change within reach stopped early: stop %d after %d iterations",
          (int)info.stop, info.iterations);
    info = watch_sequence(quick, &o);
    CHECK(info.converged && info.iterations == 4, "Newton-like change: %d iterations",
          info.iterations);
    fe_solver_options limited = o;
    limited.max_iterations = 150;
    info = watch_sequence(crawls, &limited);
    CHECK(info.stop == FE_STOP_LIMIT && info.iterations == 150, "limit: stop %d after %d",
          (int)info.stop, info.iterations);
    char text[300];
    fe_describe_stop(&(fe_info){.iterations = 1200, .max_change = 1.9e-10, .stop = FE_STOP_STALLED},
                     1e-10, text, sizeof text);
    CHECK(strstr(text, "did not converge: no progress") != NULL, "%s", text);
    /* A poll that asks to stop: the solvers return RIPEN_EINTERRUPTED where it asked. */
    fe_solver_options polled = o;
    polled.poll = stop_at_fifth;
    fe_watch w = fe_watch_start(&polled, "test");
    fe_info at = {0};
    int stop = 0, status = RIPEN_OK;
    while (!stop && !status) {
        ++at.iterations, at.max_change = crawls(at.iterations);
        status = fe_watch_step(&w, &at, &stop);
    }
    CHECK(status == RIPEN_EINTERRUPTED && at.iterations == 5 && polls_seen == 5,
          "poll: status %d after %d iterations, %d polls", status, at.iterations, polls_seen);
}

/* The real solvers poll and stop when asked. */
static void test_solvers_poll(synthetic *s) {
    double F[SYN_NQ], f[SYN_MAX_WINDOWS];
    fe_info info;
    fe_solver_options polled = fe_solver_defaults();
    polled.tolerance = 1e-300; /* never reached: only the poll stops the solve */
    polled.poll = stop_at_fifth;
    polls_seen = 0;
    CHECK(fe_wham(&s->w, &polled, F, f, &info) == RIPEN_EINTERRUPTED, "WHAM ignored the poll");
    polls_seen = 0;
    CHECK(fe_mbar(&s->w, &polled, F, f, &info) == RIPEN_EINTERRUPTED, "MBAR ignored the poll");
    CHECK(strstr(ripen_last_error(), "stopped by a signal") != NULL, "%s", ripen_last_error());
}

/* MBAR over general states with the matrix u_k(x_n) = bias_k(q_n) (INFINITY outside hard walls)
 * is fe_mbar on the same samples: the same state free energies, and the same F(q) from the
 * weights in the unbiased state. */
static void test_general_states(synthetic *s, const char *name) {
    int64_t N = 0;
    for (int k = 0; k < s->K; ++k) N += s->n[k];
    double *u = malloc(sizeof *u * (size_t)(s->K * N)), *log_w = malloc(sizeof *log_w * (size_t)N);
    double *zero = calloc((size_t)N, sizeof *zero);
    int32_t *q = malloc(sizeof *q * (size_t)N);
    REQUIRE(u && log_w && zero && q, "out of memory");
    int64_t n = 0;
    for (int k = 0; k < s->K; ++k)
        for (int64_t t = 0; t < s->n[k]; ++t) q[n++] = s->x[k][t];
    for (int k = 0; k < s->K; ++k)
        for (int64_t i = 0; i < N; ++i) u[k * N + i] = s->bias[k * SYN_NQ + q[i]];
    const fe_states st = {.nstates = s->K, .nsamples_total = N, .nsamples = s->n, .u = u};
    double f_states[SYN_MAX_WINDOWS], f[SYN_MAX_WINDOWS], F[SYN_NQ];
    fe_info info;
    const fe_solver_options tight = {.tolerance = 1e-12, .max_iterations = 100000};
    FE_OK(fe_mbar_states(&st, &tight, f_states, &info));
    CHECK(info.converged, "%s: MBAR over states did not converge", name);
    FE_OK(fe_mbar(&s->w, &tight, F, f, &info));
    double df = 0;
    for (int k = 0; k < s->K; ++k) df = fmax(df, fabs((f_states[k] - f_states[0]) - (f[k] - f[0])));
    FE_OK(fe_mbar_states_log_weights(&st, f_states, zero, log_w));
    double mass[SYN_NQ] = {0}, dF = 0;
    for (int64_t i = 0; i < N; ++i) mass[q[i]] += exp(log_w[i]);
    for (int v = 0; v <= SYN_QMAX; ++v)
        if (isfinite(F[v])) dF = fmax(dF, fabs((-log(mass[v]) + log(mass[0])) - (F[v] - F[0])));
    printf("%s: MBAR over states vs fe_mbar: f %.1e, F %.1e kT\n", name, df, dF);
    CHECK(df < 1e-8 && dF < 1e-8, "%s: MBAR over states differs from fe_mbar: f %g, F %g kT", name,
          df, dF);
    free(u), free(log_w), free(zero), free(q);
}

int main(void) {
    test_exact_histograms();

    synthetic hard, harmonic;
    syn_hard_walls(&hard, 2000);
    syn_draw_iid(&hard, 11);
    test_synthetic("hard walls", &hard);
    test_bootstrap_reproducible(&hard);
    test_bootstrap_redraws();
    test_short_windows();
    test_convergence_info(&hard);
    test_watch();
    test_solvers_poll(&hard);
    test_general_states(&hard, "hard walls");
    syn_harmonic(&harmonic, 0.5, 2000);
    syn_draw_iid(&harmonic, 12);
    test_synthetic("harmonic", &harmonic);
    test_general_states(&harmonic, "harmonic");
    syn_free(&hard);
    syn_free(&harmonic);

    test_inefficiency();
    test_balance();
    test_validation();
    return check_exit("test_fe");
}
