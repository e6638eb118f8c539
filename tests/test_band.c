/* The shell band (replica_set_shell_band, replica_walls_allow) holds after every accepted move, in
 * every dynamics, while the moves keep reaching both of its walls.
 *
 * Each case starts from random states at lively couplings, relaxes without walls, then puts a
 * tight band (+-3 sites) on N_shell around the relaxed value, so that ordinary fluctuations press
 * against both walls, and runs every dynamics from that state: the reference kernel,
 * random-sequential, checkerboard on 1 and 2 threads (the 64x64x3 lattice's classes are big
 * enough for 2 threads to share the filter), rejection-free. A replica_watch sees every accepted,
 * state-changing move and checks N_shell against the band (and N_core against the umbrella window
 * where the case has one) right after it; the run must see N_shell at both walls, never outside,
 * and end with replica_check() and dynamics_check() passing. The same run without the band leaves
 * it, so the band is what held N_shell. The "identity" move set turns shell into core in place,
 * a move that changes both counts at once. */
#include "fixture.h"
#include "readings.h"

typedef struct {
    int64_t shell_min, shell_max, core_min, core_max;
    long moves, outside, at_min, at_max;
} band_watch;

static int on_move(void *context, const replica *r, uint64_t attempt) {
    (void)attempt;
    band_watch *w = context;
    const int64_t ns = r->counts.nshell, nc = r->counts.ncore;
    w->moves++;
    w->outside += ns < w->shell_min || ns > w->shell_max || nc < w->core_min || nc > w->core_max;
    w->at_min += ns == w->shell_min;
    w->at_max += ns == w->shell_max;
    return 0;
}

typedef struct {
    const char *name;
    int lx, ly, lz;
    int reading;
    int window; /* also hold N_core within +-3 of its relaxed value */
    uint64_t relax, steps;
} band_case;

/* The case's fixture at its relaxed state (random states, then `relax` unwalled steps). */
static void case_open(const band_case *bc, fixture *f) {
    model_params p;
    model_params_default(&p);
    reading_apply(&all_readings[bc->reading], &p);
    fixture_lively(&p);
    fixture_open(f, bc->lx, bc->ly, bc->lz, &p, 2024, 6);
    fixture_random_states(f, 41);
    dynamics d;
    REQUIRE(dynamics_open(&d, &dynamics_random_sequential, &f->lat, &f->tab) == RIPEN_OK, "%s",
            ripen_last_error());
    dynamics_run(&d, &f->rep, bc->relax);
    dynamics_close(&d);
    f->rep.step = 0;
}

static void put_walls(const band_case *bc, replica *r, band_watch *w) {
    const int64_t ns = r->counts.nshell, nc = r->counts.ncore;
    *w = (band_watch){ns - 3, ns + 3, 0, INT64_MAX, 0, 0, 0, 0};
    REQUIRE(replica_set_shell_band(r, w->shell_min, w->shell_max) == RIPEN_OK, "%s",
            ripen_last_error());
    if (bc->window) {
        w->core_min = nc - 3, w->core_max = nc + 3;
        REQUIRE(replica_set_window(r, w->core_min, w->core_max) == RIPEN_OK, "%s",
                ripen_last_error());
    }
}

static void check_case(const band_case *bc, const dynamics_kind *kind, int threads) {
    fixture f;
    case_open(bc, &f);
    band_watch w;
    put_walls(bc, &f.rep, &w);
    const replica_watch hook = {on_move, &w};
    f.rep.watch = &hook;
    dynamics d;
    REQUIRE(dynamics_open(&d, kind, &f.lat, &f.tab) == RIPEN_OK, "%s", ripen_last_error());
    REQUIRE(dynamics_set_threads(&d, threads) == RIPEN_OK, "%s", ripen_last_error());
    dynamics_run(&d, &f.rep, bc->steps);
    CHECK(w.outside == 0, "%s, %s x%d: %ld of %ld moves left the walls", bc->name, kind->name,
          threads, w.outside, w.moves);
    CHECK(w.at_min > 0 && w.at_max > 0,
          "%s, %s x%d: N_shell at the walls after %ld and %ld of %ld moves: both must be reached",
          bc->name, kind->name, threads, w.at_min, w.at_max, w.moves);
    CHECK(replica_check(&f.rep) == RIPEN_OK, "%s, %s: %s", bc->name, kind->name,
          ripen_last_error());
    CHECK(dynamics_check(&d, &f.rep) == RIPEN_OK, "%s, %s: %s", bc->name, kind->name,
          ripen_last_error());
    printf("%-26s %-18s x%d: %7ld moves inside [%lld, %lld]%s, %ld at the floor, %ld at the "
           "ceiling\n",
           bc->name, kind->name, threads, w.moves, (long long)w.shell_min, (long long)w.shell_max,
           bc->window ? " and the window" : "", w.at_min, w.at_max);
    dynamics_close(&d);
    fixture_close(&f);
}

/* Without the band the same run leaves it: it is the band that holds N_shell. */
static void check_band_binds(const band_case *bc) {
    fixture f;
    case_open(bc, &f);
    band_watch w;
    put_walls(bc, &f.rep, &w);
    f.rep.shell_min = 0, f.rep.shell_max = INT64_MAX;
    f.rep.core_min = 0, f.rep.core_max = INT64_MAX;
    w.core_min = 0, w.core_max = INT64_MAX;
    const replica_watch hook = {on_move, &w};
    f.rep.watch = &hook;
    dynamics d;
    REQUIRE(dynamics_open(&d, &dynamics_random_sequential, &f.lat, &f.tab) == RIPEN_OK, "%s",
            ripen_last_error());
    dynamics_run(&d, &f.rep, bc->steps);
    CHECK(w.outside > 0, "%s: N_shell never left [%lld, %lld] without the band: a weak test",
          bc->name, (long long)w.shell_min, (long long)w.shell_max);
    printf("%-26s without the band: %ld of %ld moves end outside [%lld, %lld]\n", bc->name,
           w.outside, w.moves, (long long)w.shell_min, (long long)w.shell_max);
    dynamics_close(&d);
    fixture_close(&f);
}

int main(void) {
    const band_case cases[] = {
        {"12x12x4 vacancy/symmetric", 12, 12, 4, 0, 0, 200, 300},
        {"12x12x4 vacancy/hastings", 12, 12, 4, 1, 0, 200, 300},
        {"12x12x4 identity, window", 12, 12, 4, 2, 1, 200, 300},
        {"7x5x3 identity", 7, 5, 3, 2, 0, 200, 2000},
        /* Classes of 256 sites: 4 chunks, so checkerboard on 2 threads runs in parallel. */
        {"64x64x3 vacancy/symmetric", 64, 64, 3, 0, 0, 20, 10},
    };
    const dynamics_kind *const kinds[] = {&dynamics_reference, &dynamics_random_sequential,
                                          &dynamics_checkerboard, &dynamics_rejection_free};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        check_band_binds(&cases[c]);
        for (int k = 0; k < 4; ++k) check_case(&cases[c], kinds[k], 1);
        check_case(&cases[c], &dynamics_checkerboard, 2);
    }
    return check_exit("test_band");
}
