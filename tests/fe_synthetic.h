/* Synthetic umbrella-window data with a known answer, for the free-energy tests.
 *
 * The unbiased profile is F0(q) = 4 sin^2(pi q / 20) + 0.2 q on q in [0, 40]: a 4 kT barrier
 * at q = 10 and q = 30 on a 0.2 kT/site slope, the shape of a nucleation barrier for a new layer.
 * Windows sample p_k(q) proportional to exp(-F0(q) - u_k(q)) exactly (i.i.d., by inverting the
 * cumulative distribution) or as a Metropolis chain (correlated, with the same p_k), using
 * philox streams with fixed seeds. */
#ifndef RIPEN_TEST_FE_SYNTHETIC_H
#define RIPEN_TEST_FE_SYNTHETIC_H

#include "check.h"
#include "ripen/engine/error.h"
#include "ripen/fe/fe.h"
#include "ripen/engine/philox.h"

#include <math.h>
#include <stdlib.h>

/* Requires a ripen call to succeed. The call is made once: check.h's REQUIRE evaluates its
 * condition twice, so REQUIRE(f(...) == RIPEN_OK) would call f twice. */
#define FE_OK(call)                                                                                \
    do {                                                                                           \
        const int fe_ok_status = (call);                                                           \
        REQUIRE(fe_ok_status == RIPEN_OK, "%s", ripen_last_error());                               \
    } while (0)

enum { SYN_QMAX = 40, SYN_NQ = SYN_QMAX + 1, SYN_MAX_WINDOWS = 16 };
static const double syn_pi = 3.14159265358979323846;

typedef struct {
    int K;                                 /* windows */
    double bias[SYN_MAX_WINDOWS * SYN_NQ]; /* u_k(q) (kT) */
    int64_t n[SYN_MAX_WINDOWS];            /* samples per window */
    int32_t *x[SYN_MAX_WINDOWS];           /* samples */
    fe_windows w;                          /* view of the above */
} synthetic;

static inline double syn_F0(int q) {
    const double s = sin(syn_pi * q / 20);
    return 4 * s * s + 0.2 * q;
}

static inline void syn_view(synthetic *s) {
    s->w = (fe_windows){.nwindows = s->K,
                        .qmin = 0,
                        .qmax = SYN_QMAX,
                        .nsamples = s->n,
                        .samples = (const int32_t *const *)s->x,
                        .bias = s->bias};
}

static inline void syn_alloc(synthetic *s, int64_t n) {
    for (int k = 0; k < s->K; ++k) {
        s->n[k] = n;
        s->x[k] = malloc(sizeof *s->x[k] * (size_t)n);
        REQUIRE(s->x[k] != NULL, "out of memory");
    }
    syn_view(s);
}

/* Ten hard-wall windows [4k, 4k + 6] (the last cut at 40): neighbours share 3 q values. */
static inline void syn_hard_walls(synthetic *s, int64_t n) {
    int32_t lo[10], hi[10];
    s->K = 10;
    for (int k = 0; k < s->K; ++k)
        lo[k] = 4 * k, hi[k] = 4 * k + 6 < SYN_QMAX ? 4 * k + 6 : SYN_QMAX;
    FE_OK(fe_hard_wall_bias(s->K, 0, SYN_QMAX, lo, hi, s->bias));
    syn_alloc(s, n);
}

/* Nine harmonic windows u_k = kappa / 2 (q - 5k)^2 on the whole grid. */
static inline void syn_harmonic(synthetic *s, double kappa, int64_t n) {
    s->K = 9;
    for (int k = 0; k < s->K; ++k)
        for (int q = 0; q <= SYN_QMAX; ++q)
            s->bias[k * SYN_NQ + q] = 0.5 * kappa * (q - 5.0 * k) * (q - 5.0 * k);
    syn_alloc(s, n);
}

static inline void syn_free(synthetic *s) {
    for (int k = 0; k < s->K; ++k) free(s->x[k]);
}

/* ln p_k(q) + const = -F0(q) - u_k(q) */
static inline double syn_log_weight(const synthetic *s, int k, int q) {
    return -syn_F0(q) - s->bias[k * SYN_NQ + q];
}

/* Window k by inversion of its cumulative distribution: i.i.d. draws. */
static inline void syn_draw_iid(synthetic *s, uint64_t seed) {
    for (int k = 0; k < s->K; ++k) {
        double cdf[SYN_NQ], total = 0;
        for (int q = 0; q <= SYN_QMAX; ++q) cdf[q] = total += exp(syn_log_weight(s, k, q));
        philox_stream st;
        philox_stream_init(&st, philox_key_from_seed(seed), (uint64_t)k, 0, PURPOSE_TEST);
        for (int64_t t = 0; t < s->n[k]; ++t) {
            const double u = philox_stream_uniform(&st) * total;
            int q = 0;
            while (q < SYN_QMAX && cdf[q] <= u) ++q;
            s->x[k][t] = q;
        }
    }
}

/* Window k as a lazy Metropolis walk: each step proposes q +- 1 with probability `move` (else
 * stays), accepted with min(1, p_k(q') / p_k(q)). It starts from an exact draw, so the chain is
 * stationary from the first sample: the samples are correlated but unbiased. */
static inline void syn_draw_walk(synthetic *s, uint64_t seed, double move) {
    syn_draw_iid(s, seed);
    for (int k = 0; k < s->K; ++k) {
        philox_stream st;
        philox_stream_init(&st, philox_key_from_seed(seed), (uint64_t)k, 1, PURPOSE_TEST);
        int q = s->x[k][0];
        for (int64_t t = 0; t < s->n[k]; ++t) {
            const double u = philox_stream_uniform(&st);
            if (u < move) {
                const int to = u < move / 2 ? q - 1 : q + 1;
                if (to >= 0 && to <= SYN_QMAX) {
                    const double ratio = exp(syn_log_weight(s, k, to) - syn_log_weight(s, k, q));
                    if (philox_stream_uniform(&st) < ratio) q = to;
                }
            }
            s->x[k][t] = q;
        }
    }
}

/* Standardised errors of F - F(q_ref) against F0 - F0(q_ref) at every q != q_ref: adds
 * z^2 to *sum2 and the count to *count; returns max |z|. */
static inline double syn_z(const double *F, const double *sigma, int q_ref, double *sum2,
                           int *count) {
    double worst = 0;
    for (int q = 0; q <= SYN_QMAX; ++q) {
        if (q == q_ref) continue;
        const double z = (F[q] - F[q_ref] - (syn_F0(q) - syn_F0(q_ref))) / sigma[q];
        if (sum2) *sum2 += z * z, ++*count;
        if (!(fabs(z) <= worst)) worst = fabs(z);
    }
    return worst;
}

#endif
