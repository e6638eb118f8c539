/* The order parameter q (order_parameter.h): its layer unit and profile start, the construction
 * that brings a replica into a window, and the hard wall holding under every dynamics while q
 * still reaches both ends of the window (so the wall, not a frozen q, keeps it inside). */
#include "fixture.h"
#include "ripen/engine/order_parameter.h"

#include <math.h>

static void check_units(void) {
    model_params p;
    model_params_default(&p);
    fixture f;
    fixture_open(&f, 80, 80, 4, &p, 1, 0);
    const initial_report report = fixture_prism(&f, 200, 2);
    /* The paper's hexagon has sides 4 and 5: a new row on a short facet holds 3 sites per layer. */
    CHECK(q_layer_sites(&report, 4) == 12, "layer of the paper's particle: got %d sites, want 12",
          q_layer_sites(&report, 4));
    CHECK(q_value(&f.rep, report.core_sites) == 0, "q of the initial particle is not 0");
    fixture_close(&f);
    CHECK(q_profile_start(-5, 20) == 0, "profile over [-5, 20] must start at q = 0");
    CHECK(q_profile_start(3, 20) == 3, "profile over [3, 20] must start at q_min");
    CHECK(q_profile_start(-20, -3) == -20, "profile over [-20, -3] must start at q_min");
}

static void check_drive(int lo, int hi, int want) {
    model_params p;
    model_params_default(&p);
    fixture f;
    fixture_open(&f, 80, 80, 4, &p, 1, 0);
    const initial_report report = fixture_prism(&f, 200, 2);
    CHECK(q_drive_into_window(&f.rep, report.core_sites, lo, hi) == RIPEN_OK, "%s",
          ripen_last_error());
    CHECK(q_value(&f.rep, report.core_sites) == want,
          "window [%d, %d]: driven to q = %lld, want %d", lo, hi,
          (long long)q_value(&f.rep, report.core_sites), want);
    CHECK(replica_check(&f.rep) == RIPEN_OK, "after driving into [%d, %d]: %s", lo, hi,
          ripen_last_error());
    CHECK(q_window_apply(&f.rep, report.core_sites, lo, hi) == RIPEN_OK, "%s", ripen_last_error());
    /* A window that does not hold the current q is refused. */
    CHECK(q_window_apply(&f.rep, report.core_sites, want + 1, want + 5) != RIPEN_OK,
          "a window above the current q was accepted");
    fixture_close(&f);
}

/* The construction under a shell band: growing the paper's particle by q = 12 into its shell
 * takes shell sites (without a band N_shell falls), and with a band whose floor is the initial
 * N_shell every one of them is given back, so N_shell stays in the band; a band that leaves no
 * room for that (a full lattice) makes it fail with a message, and the window is not put on a
 * replica that left its band. */
static void check_drive_band(void) {
    model_params p;
    model_params_default(&p);
    fixture f;
    fixture_open(&f, 80, 80, 4, &p, 1, 0);
    const initial_report report = fixture_prism(&f, 200, 2);
    REQUIRE(q_drive_into_window(&f.rep, report.core_sites, 12, 14) == RIPEN_OK, "%s",
            ripen_last_error());
    const int64_t unbanded = f.rep.counts.nshell;
    CHECK(unbanded < report.shell_sites, "growing into the shell kept N_shell = %lld",
          (long long)unbanded);
    REQUIRE(replica_load_states(&f.rep, f.states) == RIPEN_OK, "%s", ripen_last_error());
    REQUIRE(replica_set_shell_band(&f.rep, report.shell_sites, report.shell_sites + 10) == RIPEN_OK,
            "%s", ripen_last_error());
    CHECK(q_drive_into_window(&f.rep, report.core_sites, 12, 14) == RIPEN_OK, "%s",
          ripen_last_error());
    CHECK(q_value(&f.rep, report.core_sites) == 12 && f.rep.counts.nshell == report.shell_sites,
          "with a band: q = %lld, N_shell = %lld (want 12, %lld)",
          (long long)q_value(&f.rep, report.core_sites), (long long)f.rep.counts.nshell,
          (long long)report.shell_sites);
    CHECK(replica_check(&f.rep) == RIPEN_OK, "%s", ripen_last_error());
    CHECK(replica_set_shell_band(&f.rep, 0, report.shell_sites - 1) != RIPEN_OK,
          "a band that does not hold N_shell was accepted");
    fixture_close(&f);
    /* No solution site left: a 3x3x3 lattice of shell with one core site. */
    fixture full;
    fixture_open(&full, 3, 3, 3, &p, 1, 0);
    memset(full.states, STATE_SHELL, (size_t)full.lat.nsites);
    full.states[0] = STATE_CORE;
    REQUIRE(replica_load_states(&full.rep, full.states) == RIPEN_OK, "%s", ripen_last_error());
    REQUIRE(replica_set_shell_band(&full.rep, full.lat.nsites - 1, full.lat.nsites) == RIPEN_OK,
            "%s", ripen_last_error());
    CHECK(q_drive_into_window(&full.rep, 1, 1, 2) != RIPEN_OK,
          "a construction with no room for the shell did not fail");
    CHECK(q_window_apply(&full.rep, 1, 1, 2) != RIPEN_OK,
          "a window was put on a replica whose N_shell left its band");
    fixture_close(&full);
}

/* Weak couplings so q moves every few steps; the window must hold after every step. */
static void check_wall(const dynamics_kind *kind) {
    model_params p;
    model_params_default(&p);
    p.eps_core = 1.0, p.eps_shell = p.eps_interface = 0.5, p.mu_core = -3.0, p.mu_shell = -4.0;
    fixture f;
    fixture_open(&f, 12, 12, 2, &p, 7, 3);
    const initial_report report = fixture_prism(&f, 14, 1);
    const int lo = -2, hi = 2;
    REQUIRE(q_window_apply(&f.rep, report.core_sites, lo, hi) == RIPEN_OK, "%s",
            ripen_last_error());
    dynamics d;
    REQUIRE(dynamics_open(&d, kind, &f.lat, &f.tab) == RIPEN_OK, "%s", ripen_last_error());
    int reached_lo = 0, reached_hi = 0, outside = 0;
    for (int step = 0; step < 3000; ++step) {
        dynamics_run(&d, &f.rep, 1);
        const int64_t q = q_value(&f.rep, report.core_sites);
        outside += q < lo || q > hi;
        reached_lo |= q == lo, reached_hi |= q == hi;
    }
    CHECK(outside == 0, "%s: q left the window [%d, %d] after %d steps", kind->name, lo, hi,
          outside);
    CHECK(reached_lo && reached_hi, "%s: q never reached %s of [%d, %d]", kind->name,
          reached_lo ? "the top" : "the bottom", lo, hi);
    CHECK(replica_check(&f.rep) == RIPEN_OK, "%s: %s", kind->name, ripen_last_error());
    dynamics_close(&d);
    fixture_close(&f);
}

/* Feeds one round in which q sits at lo for `at_lo` steps and at lo + 1 for `at_hi`. */
static double round_of(q_tilt *t, double mu, int64_t at_lo, int64_t at_hi) {
    for (int64_t k = 0; k < at_lo; ++k) q_tilt_record(t, 10, 10);
    for (int64_t k = 0; k < at_hi; ++k) q_tilt_record(t, 11, 10);
    return q_tilt_next(t, mu, 10, 11);
}

static void check_tilt_rules(void) {
    q_tilt t = q_tilt_start();
    CHECK(round_of(&t, -40, 1000, 0) == -40 + WINDOW_TILT_MAX_STEP, "stuck at lo: no full step up");
    CHECK(round_of(&t, -36, 0, 1000) == -38, "stuck at hi after stuck at lo: no bisection");
    CHECK(t.mu_below == -40 && t.mu_above == -36, "bracket [%g, %g], want [-40, -36]", t.mu_below,
          t.mu_above);
    CHECK(round_of(&t, -38, 500, 500) == -38, "balanced round moved mu_core");
    t = q_tilt_start();
    CHECK(round_of(&t, -40, 0, 1000) == -40 - WINDOW_TILT_MAX_STEP,
          "stuck at hi: no full step down");
    t = q_tilt_start();
    /* Newton: p(hi) = 0.2, Var = 0.16, centre - mean = 0.3: step 1.875 kT. */
    CHECK(fabs(round_of(&t, -40, 800, 200) - (-40 + 0.3 / 0.16)) < 1e-12, "Newton step wrong");
}

/* Two-state window whose upper value has probability 1/(1 + exp(mu0 - mu)): exact moments each
 * round. From 12 kT off, 8 rounds must land within 0.05 kT of the balance mu0. */
static void check_tilt_converges(double start, double mu0) {
    q_tilt t = q_tilt_start();
    double mu = start;
    for (int round = 0; round < WINDOW_TILT_ROUNDS; ++round) {
        const double p_hi = 1.0 / (1.0 + exp(mu0 - mu));
        const int64_t n = 1000000, hi = (int64_t)llround(p_hi * (double)n);
        mu = round_of(&t, mu, n - hi, hi);
    }
    CHECK(fabs(mu - mu0) < 0.05, "tuning from %g ended at %g, balance at %g", start, mu, mu0);
}

int main(void) {
    check_tilt_rules();
    check_tilt_converges(-52, -40);
    check_tilt_converges(-28, -40);
    check_tilt_converges(-40.5, -40);
    check_units();
    check_drive(5, 10, 5);
    check_drive(-10, -4, -4);
    check_drive(-2, 3, 0);
    check_drive_band();
    for (int k = 0; k < dynamics_count; ++k) check_wall(dynamics_all[k]);
    check_wall(&dynamics_reference);
    return check_exit("test_order_parameter");
}
