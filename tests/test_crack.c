/* Crack observables: the exposed-core count (observe.h) against a brute-force count, and the
 * episode and onset bookkeeping of crack.h on hand-made series whose answers are worked out in
 * the comments. */
#include "fixture.h"
#include "ripen/engine/crack.h"
#include "ripen/engine/observe.h"

/* ---- the exposed core ---- */

static int wrap(int v, int n) {
    return ((v % n) + n) % n;
}

/* Core sites with a solution neighbour, from the bare states and the coordinates alone (not
 * the neighbour table, the codes or the columns the count under test reads). */
static int64_t brute_exposed(const lattice *lat, const uint8_t *states) {
    int64_t exposed = 0;
    for (int32_t i = 0; i < lat->nsites; ++i) {
        if (states[i] != STATE_CORE) continue;
        int x, y, z, open = 0;
        lattice_coords(lat, i, &x, &y, &z);
        for (int d = 0; d < LATTICE_DIRECTIONS; ++d) {
            const int32_t j = lattice_index(lat, wrap(x + lattice_direction_dx[d], lat->lx),
                                            wrap(y + lattice_direction_dy[d], lat->ly),
                                            wrap(z + lattice_direction_dz[d], lat->lz));
            open |= states[j] == STATE_SOLUTION;
        }
        exposed += open;
    }
    return exposed;
}

/* The paper's particles: a closed shell exposes nothing; a bare 48-site hexagon (sides 4 and 5
 * sites, so 3 x 3 + 3 x 4 = 21 boundary sites per layer) exposes its 21 x 4 = 84 rim sites. */
static void check_prisms(int bonds) {
    model_params p;
    model_params_default(&p);
    p.bond_directions = bonds;
    fixture f;
    fixture_open(&f, 80, 80, 4, &p, 1, 0);
    fixture_prism(&f, 200, 2);
    CHECK(replica_exposed_core(&f.rep) == 0, "bonds %d: shelled prism exposes %lld", bonds,
          (long long)replica_exposed_core(&f.rep));
    fixture_prism(&f, 200, 0);
    CHECK(replica_exposed_core(&f.rep) == 84, "bonds %d: bare prism exposes %lld, want 84", bonds,
          (long long)replica_exposed_core(&f.rep));
    /* One shell site removed beside the core: the core sites next to it become exposed. */
    fixture_prism(&f, 200, 2);
    replica_store_states(&f.rep, f.states);
    int32_t hole = -1;
    for (int32_t i = 0; i < f.lat.nsites && hole < 0; ++i)
        if (f.states[i] == STATE_SHELL && site_core_neighbours(f.rep.site[i]) > 0) hole = i;
    REQUIRE(hole >= 0, "no inner shell site");
    replica_set_state(&f.rep, hole, STATE_SOLUTION);
    replica_store_states(&f.rep, f.states);
    const int64_t want = brute_exposed(&f.lat, f.states);
    CHECK(want > 0 && replica_exposed_core(&f.rep) == want,
          "bonds %d: one hole: %lld exposed, brute force %lld", bonds,
          (long long)replica_exposed_core(&f.rep), (long long)want);
    fixture_close(&f);
}

/* Random states, then a running replica: the count always equals the brute force, on lattices
 * with extent-2 axes (a neighbour counted twice) and with 6 bonded directions (the codes then
 * do not see the vertical neighbours). */
static void check_random(int lx, int ly, int lz, int bonds, uint64_t seed) {
    model_params p;
    model_params_default(&p);
    p.bond_directions = bonds;
    p.eps_core = 1.0, p.eps_shell = p.eps_interface = 0.8, p.mu_core = -2.0, p.mu_shell = -2.5;
    fixture f;
    fixture_open(&f, lx, ly, lz, &p, seed, 0);
    uint64_t x = seed * 2654435761u + 1;
    for (int trial = 0; trial < 50; ++trial) {
        for (int32_t i = 0; i < f.lat.nsites; ++i) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            f.states[i] = (uint8_t)((x >> 33) % 3);
        }
        REQUIRE(replica_load_states(&f.rep, f.states) == RIPEN_OK, "%s", ripen_last_error());
        CHECK(replica_exposed_core(&f.rep) == brute_exposed(&f.lat, f.states),
              "%dx%dx%d bonds %d trial %d: %lld exposed, brute force %lld", lx, ly, lz, bonds,
              trial, (long long)replica_exposed_core(&f.rep),
              (long long)brute_exposed(&f.lat, f.states));
    }
    dynamics d;
    REQUIRE(dynamics_open(&d, &dynamics_random_sequential, &f.lat, &f.tab) == RIPEN_OK, "%s",
            ripen_last_error());
    for (int step = 0; step < 200; ++step) {
        dynamics_run(&d, &f.rep, 1);
        replica_store_states(&f.rep, f.states);
        const int64_t want = brute_exposed(&f.lat, f.states);
        if (replica_exposed_core(&f.rep) != want) {
            CHECK(0, "%dx%dx%d bonds %d step %d: %lld exposed, brute force %lld", lx, ly, lz, bonds,
                  step, (long long)replica_exposed_core(&f.rep), (long long)want);
            break;
        }
    }
    const observation o = observe(&f.rep, NULL);
    CHECK(o.exposed_core == replica_exposed_core(&f.rep), "observe() disagrees");
    CHECK(observe_counts(&f.rep).exposed_core == -1, "observe_counts() must not scan");
    dynamics_close(&d);
    fixture_close(&f);
}

/* ---- episodes and onset on hand-made series ---- */

static crack_series series_of(int64_t n, int64_t interval, const int32_t *exposed,
                              const int32_t *n_core, const int32_t *size, int64_t tau) {
    return (crack_series){.n = n,
                          .interval = interval,
                          .exposed = exposed,
                          .n_core = n_core,
                          .size = size,
                          .initial = size[0],
                          .tau = tau};
}

/* A crack that heals: exposed at samples 2..4 (steps 200..400), covered again at sample 5 (step
 * 500) with N_core back to where it was before (sample 1: 200 sites): one closed episode, peak
 * 5, growth 200 - 200 = 0, healed. The size never leaves 200 (within 5%): the replica, censored,
 * has not taken off, so its onset is -1. */
static void check_healing(void) {
    const int32_t exposed[] = {0, 0, 3, 5, 2, 0, 0};
    const int32_t n_core[] = {200, 200, 201, 203, 202, 200, 200};
    const int32_t size[] = {200, 200, 201, 203, 202, 200, 200};
    const crack_series s = series_of(7, 100, exposed, n_core, size, -1);
    crack_episode e[2];
    CHECK(crack_episodes(&s, e, 2) == 1, "healing: %lld episodes",
          (long long)crack_episodes(&s, e, 2));
    CHECK(e[0].start == 200 && e[0].end == 500 && e[0].peak == 5 && e[0].growth == 0 &&
              e[0].closed == 1 && crack_healed(&e[0]),
          "healing: episode %lld..%lld peak %d growth %lld closed %d", (long long)e[0].start,
          (long long)e[0].end, e[0].peak, (long long)e[0].growth, e[0].closed);
    const crack_summary c = crack_summarise(&s);
    CHECK(c.first_exposure == 200 && c.onset == -1 && c.growth_time == -1 && c.episodes == 1 &&
              c.healed == 1,
          "healing: first %lld onset %lld growth %lld episodes %lld healed %lld",
          (long long)c.first_exposure, (long long)c.onset, (long long)c.growth_time,
          (long long)c.episodes, (long long)c.healed);
}

/* A crack that grows: a brief healed flicker at sample 1, then exposed from sample 4 (step 400)
 * to the end while the core grows from 100 (sample 3) to 210: two episodes, the second open
 * (end = the last sample, 700) with growth 210 - 100 = 110. The size (the cluster) is 105 at
 * sample 4 (exactly 5%: still "within"), 130 at sample 5; tau = 730 (between samples, after the
 * last one): onset = the last sample <= tau within 5% = sample 4 = step 400, growth time 330. */
static void check_growing(void) {
    const int32_t exposed[] = {0, 4, 0, 0, 6, 20, 35, 40};
    const int32_t n_core[] = {100, 100, 100, 100, 106, 131, 170, 210};
    const int32_t size[] = {100, 99, 100, 100, 105, 130, 170, 199};
    const crack_series s = series_of(8, 100, exposed, n_core, size, 730);
    crack_episode e[3];
    CHECK(crack_episodes(&s, e, 3) == 2, "growing: %lld episodes",
          (long long)crack_episodes(&s, e, 3));
    CHECK(e[0].start == 100 && e[0].end == 200 && e[0].growth == 0 && e[0].closed &&
              crack_healed(&e[0]),
          "growing: first episode %lld..%lld growth %lld", (long long)e[0].start,
          (long long)e[0].end, (long long)e[0].growth);
    CHECK(e[1].start == 400 && e[1].end == 700 && e[1].peak == 40 && e[1].growth == 110 &&
              !e[1].closed && !crack_healed(&e[1]),
          "growing: second episode %lld..%lld peak %d growth %lld closed %d", (long long)e[1].start,
          (long long)e[1].end, e[1].peak, (long long)e[1].growth, e[1].closed);
    const crack_summary c = crack_summarise(&s);
    CHECK(c.first_exposure == 100 && c.onset == 400 && c.growth_time == 330 && c.episodes == 2 &&
              c.healed == 1,
          "growing: first %lld onset %lld growth %lld episodes %lld healed %lld",
          (long long)c.first_exposure, (long long)c.onset, (long long)c.growth_time,
          (long long)c.episodes, (long long)c.healed);
    /* Only the first `capacity` are written; the count is the same. */
    CHECK(crack_episodes(&s, NULL, 0) == 2, "count without room");
    /* tau on a sample (600): samples after it are ignored; sample 6 has 170 (grown), sample 4
     * is the last within 5%. A crack closed with net growth is not healed. */
    const int32_t exposed2[] = {0, 0, 3, 0};
    const int32_t n_core2[] = {100, 100, 104, 104};
    const crack_series s2 = series_of(4, 100, exposed2, n_core2, n_core2, -1);
    CHECK(crack_episodes(&s2, e, 3) == 1 && e[0].closed && e[0].growth == 4 && !crack_healed(&e[0]),
          "a crack closed with growth 4 counted as healed");
    CHECK(crack_summarise(&s2).onset == -1, "104 of 100 is within 5%%: not taken off");
    const crack_series s3 = series_of(8, 100, exposed, n_core, size, 600);
    CHECK(crack_summarise(&s3).onset == 400 && crack_summarise(&s3).growth_time == 200,
          "tau 600: onset %lld", (long long)crack_summarise(&s3).onset);
}

/* No crack: nothing exposed, the core grown by more than 5% by the end although not doubled
 * (censored): onset = the last sample within 5% (sample 1, step 50), no growth time. A series
 * exposed from sample 0 (a bare particle) has one episode starting at 0, its growth counted
 * from sample 0. */
static void check_no_crack(void) {
    const int32_t exposed[] = {0, 0, 0, 0};
    const int32_t n_core[] = {100, 101, 110, 120};
    const crack_series s = series_of(4, 50, exposed, n_core, n_core, -1);
    const crack_summary c = crack_summarise(&s);
    CHECK(crack_episodes(&s, NULL, 0) == 0, "no crack: episodes found");
    CHECK(c.first_exposure == -1 && c.onset == 50 && c.growth_time == -1 && c.episodes == 0 &&
              c.healed == 0,
          "no crack: first %lld onset %lld growth %lld episodes %lld", (long long)c.first_exposure,
          (long long)c.onset, (long long)c.growth_time, (long long)c.episodes);
    const int32_t bare[] = {84, 90, 96, 90};
    const crack_series b = series_of(4, 50, bare, n_core, n_core, 160);
    crack_episode e;
    CHECK(crack_episodes(&b, &e, 1) == 1 && e.start == 0 && e.end == 150 && e.peak == 96 &&
              e.growth == 20 && !e.closed,
          "bare: episode %lld..%lld peak %d growth %lld", (long long)e.start, (long long)e.end,
          e.peak, (long long)e.growth);
    CHECK(crack_summarise(&b).first_exposure == 0 && crack_summarise(&b).onset == 50 &&
              crack_summarise(&b).growth_time == 110,
          "bare: onset %lld", (long long)crack_summarise(&b).onset);
    const crack_series empty = series_of(0, 50, bare, n_core, n_core, -1);
    CHECK(crack_summarise(&empty).onset == -1 && crack_summarise(&empty).episodes == 0,
          "empty series");
}

int main(void) {
    check_prisms(8);
    check_prisms(6);
    check_random(3, 3, 3, 8, 1);
    check_random(2, 3, 2, 8, 2);
    check_random(2, 2, 2, 6, 3);
    check_random(9, 7, 3, 6, 4);
    check_random(12, 12, 4, 8, 5);
    check_healing();
    check_growing();
    check_no_crack();
    return check_exit("test_crack");
}
