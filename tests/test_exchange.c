/* The exchange kind's rules (include/ripen/driver/kinds/exchange.h): which states pair up after
 * each epoch, and the probability of swapping two configurations. Far windows never pair and could
 * never swap; an accepted swap never puts a configuration outside a wall; on two-state toys the
 * acceptance is the analytic min(1, exp(-Δ)): Δ = (μ_a − μ_b)(N_a − N_b) for two tilts and
 * (s_a − s_b)(W_a − W_b), W = ε_s B_ss + ε_i B_cs, for two rungs of the cohesion ladder. */
#include "check.h"
#include "ripen/driver/kinds/exchange.h"
#include "ripen/engine/philox.h"

#include <math.h>
#include <string.h>

static model_params toy_model(void) {
    model_params p;
    model_params_default(&p);
    p.eps_core = 1.0, p.eps_shell = 0.7, p.eps_interface = 0.4;
    p.mu_core = -2.0, p.mu_shell = -1.5;
    return p;
}

/* Windows of width 2, overlap 1 over q = 0..nwindows, and a ladder. */
static exchange_spec toy_spec(int nwindows, int nrungs) {
    exchange_spec x = {.q_min = 0,
                       .q_max = nwindows,
                       .width = 2,
                       .overlap = 1,
                       .nwindows = nwindows,
                       .nrungs = nrungs};
    for (int r = 0; r < nrungs; ++r) x.eps_scale[r] = 1.0 - 0.2 * r, x.mu_shell[r] = -1.5 - r;
    return x;
}

static int neighbours(const exchange_spec *x, int a, int b) {
    const int K = x->nwindows, wa = a % K, ra = a / K, wb = b % K, rb = b / K;
    return (ra == rb && wb == wa + 1) || (wa == wb && rb == ra + 1);
}

/* Four epochs in a row try every neighbouring pair exactly once, each epoch's pairs disjoint. */
static void test_pairs(int nwindows, int nrungs) {
    const exchange_spec x = toy_spec(nwindows, nrungs);
    const int S = nwindows * nrungs;
    int first[64], other[64], tried[64][64];
    memset(tried, 0, sizeof tried);
    const int cycle = nrungs > 1 ? 4 : 2;
    for (int e = 1; e <= cycle; ++e) {
        int busy[64] = {0};
        const int n = exchange_pairs(&x, e, first, other);
        for (int k = 0; k < n; ++k) {
            CHECK(neighbours(&x, first[k], other[k]), "%dx%d epoch %d: %d-%d are not neighbours",
                  nwindows, nrungs, e, first[k], other[k]);
            CHECK(!busy[first[k]] && !busy[other[k]], "%dx%d epoch %d: state in two pairs",
                  nwindows, nrungs, e);
            busy[first[k]] = busy[other[k]] = 1;
            tried[first[k]][other[k]]++;
        }
    }
    for (int a = 0; a < S; ++a)
        for (int b = 0; b < S; ++b)
            CHECK(tried[a][b] == neighbours(&x, a, b), "%dx%d: pair %d-%d tried %d times per cycle",
                  nwindows, nrungs, a, b, tried[a][b]);
}

static site_counts random_counts(philox_stream *s, int64_t core0, int lo, int hi) {
    site_counts c;
    c.ncore = core0 + lo +
              (int64_t)philox_uniform_below(philox_stream_next(s), (uint32_t)(hi - lo + 1), s);
    c.nshell = (int64_t)philox_uniform_below(philox_stream_next(s), 30, s);
    c.bonds_cc = (int64_t)philox_uniform_below(philox_stream_next(s), 60, s);
    c.bonds_ss = (int64_t)philox_uniform_below(philox_stream_next(s), 60, s);
    c.bonds_cs = (int64_t)philox_uniform_below(philox_stream_next(s), 60, s);
    return c;
}

static int inside(const exchange_state *st, const site_counts *c, int64_t core0) {
    return c->ncore - core0 >= st->lo && c->ncore - core0 <= st->hi;
}

/* Windows two apart share no q: never swap. No accepted swap leaves a wall. */
static void test_walls(void) {
    const model_params m = toy_model();
    const exchange_spec x = toy_spec(6, 3);
    const int64_t core0 = 10;
    philox_stream s;
    philox_stream_init(&s, philox_key_from_seed(11), 0, 0, PURPOSE_TEST);
    int accepted = 0, far = 0;
    for (int trial = 0; trial < 20000; ++trial) {
        const int a = (int)philox_uniform_below(philox_stream_next(&s), 18, &s);
        const int b = (int)philox_uniform_below(philox_stream_next(&s), 18, &s);
        const double mu_a = -2.0 + philox_stream_uniform(&s),
                     mu_b = -2.0 + philox_stream_uniform(&s);
        const exchange_state sa = exchange_state_of(&x, &m, a % 6, a / 6, mu_a);
        const exchange_state sb = exchange_state_of(&x, &m, b % 6, b / 6, mu_b);
        const site_counts xa = random_counts(&s, core0, sa.lo, sa.hi);
        const site_counts xb = random_counts(&s, core0, sb.lo, sb.hi);
        const double log_acc = exchange_log_acceptance(&sa, &sb, &xa, &xb, core0);
        CHECK(log_acc <= 0, "a probability above 1");
        if (abs(a % 6 - b % 6) >= 2) {
            ++far;
            CHECK(log_acc == -INFINITY, "windows %d and %d swapped (log p = %g)", a % 6, b % 6,
                  log_acc);
        }
        if (log_acc > -INFINITY) {
            ++accepted;
            CHECK(inside(&sa, &xb, core0) && inside(&sb, &xa, core0),
                  "a swap of states %d, %d left a wall", a, b);
        }
    }
    CHECK(far > 1000 && accepted > 1000, "the trials missed a case (%d far, %d possible)", far,
          accepted);
}

static double reference_u(const model_params *p, double scale, double mu_core,
                          const site_counts *c) {
    return -(p->eps_core * (double)c->bonds_cc + scale * p->eps_shell * (double)c->bonds_ss +
             scale * p->eps_interface * (double)c->bonds_cs) -
           mu_core * (double)c->ncore - p->mu_shell * (double)c->nshell;
}

/* Two tilts of one window, and two rungs of one window: min(1, exp(-Δ)) in closed form. */
static void test_two_state(void) {
    const model_params m = toy_model();
    exchange_spec x = toy_spec(2, 2);
    x.mu_shell[1] = m.mu_shell; /* the rungs differ in cohesion alone */
    const int64_t core0 = 4;
    const site_counts xa = {.ncore = 5, .nshell = 7, .bonds_cc = 3, .bonds_ss = 9, .bonds_cs = 4};
    const site_counts xb = {.ncore = 6, .nshell = 5, .bonds_cc = 4, .bonds_ss = 5, .bonds_cs = 6};
    /* two tilts of window 1 (q = 1..2, where both configurations lie) */
    const double mu_a = -2.5, mu_b = -1.25;
    const exchange_state ta = exchange_state_of(&x, &m, 1, 0, mu_a);
    const exchange_state tb = exchange_state_of(&x, &m, 1, 0, mu_b);
    const double delta_tilt = (mu_a - mu_b) * (double)(xa.ncore - xb.ncore);
    const double got_tilt = exchange_log_acceptance(&ta, &tb, &xa, &xb, core0);
    CHECK(fabs(got_tilt - fmin(0, -delta_tilt)) < 1e-12, "tilts: ln p = %.15g, analytic %.15g",
          got_tilt, fmin(0, -delta_tilt));
    CHECK(delta_tilt > 0 && got_tilt < 0, "the toy should test a rejected direction");
    const double back = exchange_log_acceptance(&tb, &ta, &xa, &xb, core0);
    CHECK(back == 0, "the reverse assignment is downhill: ln p = %g", back);
    /* rungs */
    const exchange_state ra = exchange_state_of(&x, &m, 1, 0, m.mu_core);
    const exchange_state rb = exchange_state_of(&x, &m, 1, 1, m.mu_core);
    const double wa = m.eps_shell * (double)xa.bonds_ss + m.eps_interface * (double)xa.bonds_cs;
    const double wb = m.eps_shell * (double)xb.bonds_ss + m.eps_interface * (double)xb.bonds_cs;
    const double delta_rung = (x.eps_scale[0] - x.eps_scale[1]) * (wa - wb);
    const double got_rung = exchange_log_acceptance(&ra, &rb, &xa, &xb, core0);
    CHECK(fabs(got_rung - fmin(0, -delta_rung)) < 1e-12, "rungs: ln p = %.15g, analytic %.15g",
          got_rung, fmin(0, -delta_rung));
    /* and the reduced potential itself, from the model's coefficients */
    CHECK(fabs(exchange_u(&rb, &xa, core0) - reference_u(&m, x.eps_scale[1], m.mu_core, &xa)) <
              1e-12,
          "u of rung 1: %.15g, by hand %.15g", exchange_u(&rb, &xa, core0),
          reference_u(&m, x.eps_scale[1], m.mu_core, &xa));
    const site_counts outside = {.ncore = core0 + 3};
    CHECK(exchange_u(&ra, &outside, core0) == INFINITY, "q = 3 is outside window 1's walls");
}

int main(void) {
    test_pairs(5, 1);
    test_pairs(6, 1);
    test_pairs(5, 3);
    test_pairs(4, 4);
    test_walls();
    test_two_state();
    return check_exit("test_exchange");
}
