/* Are the bootstrap errors of fe_bootstrap the real errors? For 20 independent data sets (fixed
 * seeds) of each kind below, z(q) = (F(q) - F(q_ref) - [F0(q) - F0(q_ref)]) / sigma(q) at the 40
 * q != q_ref = 0; if sigma is the standard deviation of the estimate, z has unit variance, so
 * the rms of the 800 z values is ~1.
 *
 * Bound: 0.6 <= rms <= 1.6. The z values of one data set are correlated (F(q) - F(q_ref) at
 * every q beyond a window shares that window's link error), so the 800 values hold between 20
 * (all z of a data set equal) and 800 independent ones. In the worst case, 20 independent
 * values, rms^2 ~ chi^2_20 / 20 and P(rms < 0.6 or > 1.6) = P(chi^2_20 < 7.2 or > 51.2) ~ 0.5%;
 * with more independent values the bounds are further out. sigma itself comes from B = 50
 * resamples (10% noise per q), which moves the rms by ~1%. A sigma wrong by a factor 1.6 either
 * way fails. (Measured on 200 data sets with B = 50: rms 1.03, 1.02 and 1.02 for the three
 * kinds, and the bootstrap sd matches the scatter of F within 10% at every q.)
 *
 *   hard walls: 10 windows [4k, 4k + 6], 2000 i.i.d. samples each;
 *   harmonic:   9 windows u_k = 0.25 (q - 5k)^2, 2000 i.i.d. samples each;
 *   correlated: the hard walls sampled by a Metropolis walk, 10000 samples each, g ~ 19.
 * For the correlated data the same bootstrap with blocks of one sample (the i.i.d. bootstrap)
 * must fail the bound: it ignores the correlation, and its sigma is too small by up to
 * ~sqrt(g). That shows the check can see a bootstrap that does not respect correlation. */
#include "fe_synthetic.h"

#include <stdio.h>
#include <string.h>

enum { SEEDS = 20, RESAMPLES = 50 };

typedef struct {
    double sum2, sum, worst, g; /* z of F(q): sum of squares, sum, max |z|; mean g */
    int count, beyond2;         /* z values, and how many had |z| > 2 */
    double barrier2, dmu2;      /* sums of squared z of the barrier and of dmu* */
} tally;

static void accumulate(tally *t, const fe_bootstrap_result *r) {
    for (int q = 1; q <= SYN_QMAX; ++q) {
        const double z = (r->F[q] - (syn_F0(q) - syn_F0(0))) / r->sigma[q];
        t->sum2 += z * z, t->sum += z, ++t->count;
        t->beyond2 += fabs(z) > 2;
        t->worst = fmax(t->worst, fabs(z));
    }
    for (int k = 0; k < r->nwindows; ++k) t->g += r->g[k] / r->nwindows / SEEDS;
    /* Balance between q = 0 and 20: F0(20) - F0(0) = 4, so dmu* = 0.2, and the reweighted
     * F0' = 4 sin^2(pi q / 20) has its 4 kT top at q = 10. */
    fe_balance b;
    FE_OK(fe_balance_point(r->F, 0, SYN_QMAX, 0, 20, r->resamples, r->nresamples, &b));
    CHECK(b.nused == r->nresamples, "balance: %d of %d resamples used", b.nused, r->nresamples);
    const double zb = (b.barrier - 4) / b.barrier_sd, zd = (b.dmu - 0.2) / b.dmu_sd;
    t->barrier2 += zb * zb / SEEDS, t->dmu2 += zd * zd / SEEDS;
}

static double report(const char *name, const tally *t) {
    const double rms = sqrt(t->sum2 / t->count);
    printf("%-24s F: rms(z) = %.3f, mean z = %+.3f, |z| > 2: %.1f%% (normal: 4.6%%), max |z| = "
           "%.2f, mean g = %.2f\n",
           name, rms, t->sum / t->count, 100.0 * t->beyond2 / t->count, t->worst, t->g);
    printf("%-24s barrier: rms(z) = %.3f, dmu*: rms(z) = %.3f\n", "", sqrt(t->barrier2),
           sqrt(t->dmu2));
    return rms;
}

static void run(const synthetic *s, uint64_t seed, double block_factor, tally *t) {
    const fe_bootstrap_options opt = {.method = FE_WHAM,
                                      .nresamples = RESAMPLES,
                                      .seed = seed,
                                      .q_ref = 0,
                                      .block_factor = block_factor,
                                      .solver = fe_solver_defaults()};
    fe_bootstrap_result r;
    FE_OK(fe_bootstrap(&s->w, &opt, &r));
    CHECK(r.info.converged && r.unconverged == 0, "seed %llu: unconverged solves",
          (unsigned long long)seed);
    for (int q = 0; q <= SYN_QMAX; ++q)
        CHECK(isfinite(r.sigma[q]) && r.unsampled[q] == 0, "seed %llu: q = %d unsampled",
              (unsigned long long)seed, q);
    accumulate(t, &r);
    fe_bootstrap_free(&r);
}

/* Also for the barrier and dmu* of fe_balance_point: 20 independent z values each, so the
 * worst case above is the exact case (P ~ 0.5% for a correct sd). The barrier, a maximum over
 * noisy values, is biased up by a fraction of its sd, which raises its rms a little. */
static void check_rms(const char *name, const tally *t, double rms) {
    CHECK(rms >= 0.6 && rms <= 1.6, "%s: rms of standardised errors %.3f outside [0.6, 1.6]", name,
          rms);
    CHECK(sqrt(t->barrier2) >= 0.6 && sqrt(t->barrier2) <= 1.6,
          "%s: barrier rms(z) %.3f outside [0.6, 1.6]", name, sqrt(t->barrier2));
    CHECK(sqrt(t->dmu2) >= 0.6 && sqrt(t->dmu2) <= 1.6, "%s: dmu* rms(z) %.3f outside [0.6, 1.6]",
          name, sqrt(t->dmu2));
}

int main(void) {
    synthetic hard, harmonic, walk;
    syn_hard_walls(&hard, 2000);
    syn_harmonic(&harmonic, 0.5, 2000);
    syn_hard_walls(&walk, 10000);
    tally t_hard = {0}, t_harmonic = {0}, t_walk = {0}, t_iid = {0};
    for (uint64_t seed = 1000; seed < 1000 + SEEDS; ++seed) {
        syn_draw_iid(&hard, seed);
        run(&hard, seed, 0, &t_hard);
        syn_draw_iid(&harmonic, seed);
        run(&harmonic, seed, 0, &t_harmonic);
        syn_draw_walk(&walk, seed, 1.0);
        run(&walk, seed, 0, &t_walk);
        run(&walk, seed, 1e-9, &t_iid); /* blocks of 1 sample: the i.i.d. bootstrap */
    }
    check_rms("hard walls", &t_hard, report("hard walls, i.i.d.", &t_hard));
    check_rms("harmonic", &t_harmonic, report("harmonic, i.i.d.", &t_harmonic));
    check_rms("correlated", &t_walk, report("hard walls, Metropolis", &t_walk));
    const double naive = report("  same, i.i.d. bootstrap", &t_iid);
    /* The walk must be correlated enough for the check above to mean something, and a
     * bootstrap that treats its samples as independent must fail the bound. */
    CHECK(t_walk.g > 4, "Metropolis windows: mean g = %.2f, too little correlation to test",
          t_walk.g);
    CHECK(naive > 1.6, "i.i.d. bootstrap of correlated data: rms %.3f within bounds", naive);
    syn_free(&hard);
    syn_free(&harmonic);
    syn_free(&walk);
    return check_exit("test_fe_calibration");
}
