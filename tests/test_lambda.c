/* The order parameter λ (lambda.h): the running tracker equals a from-scratch count, and λ is a
 * function of the configuration alone (forward flux sampling stores configurations and
 * measures them again with fresh trackers, in other tasks).
 *
 *  1. Hand-made configurations with known values: the shelled prism has crack measure 0; each
 *     shell site removed beside the core exposes the core sites it touched; two equally large
 *     clusters give the exposure of the more exposed one whatever the tracker saw before; the
 *     exposure is capped at LAMBDA_CRACK_STRIDE - 1 below one stride of growth.
 *  2. A trajectory with cracks, growth and dissolution (weak couplings, a thin shell, every
 *     dynamics): after every accepted move the tracker of each kind equals the from-scratch
 *     value here (breadth-first search over every cluster, written independently) and a fresh
 *     tracker's value on the same state.
 */
#include "fixture.h"
#include "ripen/engine/lambda.h"

#include <string.h>

/* ---- the reference: every cluster by breadth-first search ---- */

typedef struct {
    int64_t largest; /* sites of the largest core cluster */
    int64_t exposed; /* most exposed sites among the clusters of that size */
    int64_t core;    /* N_core */
} reference;

static int touches_solution(const lattice *lat, const uint8_t *states, int32_t i) {
    for (int d = 0; d < LATTICE_DIRECTIONS; ++d)
        if (states[lattice_neighbour(lat, i, d)] == STATE_SOLUTION) return 1;
    return 0;
}

static reference measure_from_scratch(const lattice *lat, const uint8_t *states) {
    reference ref = {0, -1, 0};
    uint8_t *seen = calloc((size_t)lat->nsites, 1);
    int32_t *queue = malloc(sizeof *queue * (size_t)lat->nsites);
    REQUIRE(seen && queue, "out of memory");
    for (int32_t i = 0; i < lat->nsites; ++i) {
        ref.core += states[i] == STATE_CORE;
        if (seen[i] || states[i] != STATE_CORE) continue;
        int64_t head = 0, tail = 0, exposed = 0;
        queue[tail++] = i, seen[i] = 1;
        while (head < tail) {
            const int32_t k = queue[head++];
            exposed += touches_solution(lat, states, k);
            for (int d = 0; d < LATTICE_DIRECTIONS; ++d) {
                const int32_t j = lattice_neighbour(lat, k, d);
                if (!seen[j] && states[j] == STATE_CORE) seen[j] = 1, queue[tail++] = j;
            }
        }
        if (tail > ref.largest || (tail == ref.largest && exposed > ref.exposed))
            ref.largest = tail, ref.exposed = exposed;
    }
    free(seen), free(queue);
    if (ref.largest == 0) ref.exposed = 0;
    return ref;
}

static int64_t expected_lambda(lambda_kind kind, reference ref) {
    if (kind == LAMBDA_Q) return ref.core;
    if (kind == LAMBDA_CLUSTER) return ref.largest;
    const int64_t cap = LAMBDA_CRACK_STRIDE - 1;
    return LAMBDA_CRACK_STRIDE * ref.largest + (ref.exposed < cap ? ref.exposed : cap);
}

/* λ of the replica's state by a tracker that has seen nothing before (origin 0: absolute). */
static int64_t fresh_value(lambda_kind kind, const replica *r) {
    lambda_tracker t;
    REQUIRE(lambda_init_origin(&t, kind, r, 0) == RIPEN_OK, "%s", ripen_last_error());
    const int64_t value = lambda_measure(&t, r);
    lambda_free(&t);
    return value;
}

/* ---- 1. hand-made configurations ---- */

static void test_prism_and_cracks(void) {
    model_params p;
    model_params_default(&p);
    fixture f;
    fixture_open(&f, 16, 16, 3, &p, 1, 0);
    const initial_report report = fixture_prism(&f, 21, 1);
    lambda_tracker t;
    REQUIRE(lambda_init(&t, LAMBDA_CRACK, &f.rep) == RIPEN_OK, "%s", ripen_last_error());
    CHECK(lambda_absolute(&t, &f.rep) == LAMBDA_CRACK_STRIDE * report.core_sites,
          "a closed shell: crack measure %lld, want %lld", (long long)lambda_absolute(&t, &f.rep),
          (long long)(LAMBDA_CRACK_STRIDE * report.core_sites));
    /* open the shell site by site, checking against the reference each time */
    int opened = 0;
    for (int32_t i = 0; i < f.lat.nsites && opened < 6; ++i) {
        if (site_state(f.rep.site[i]) != STATE_SHELL) continue;
        replica_set_state(&f.rep, i, STATE_SOLUTION);
        replica_store_states(&f.rep, f.states);
        const reference ref = measure_from_scratch(&f.lat, f.states);
        CHECK(lambda_measure(&t, &f.rep) ==
                  expected_lambda(LAMBDA_CRACK, ref) - LAMBDA_CRACK_STRIDE * report.core_sites,
              "after %d shell sites removed: λ = %lld, exposed %lld", opened + 1,
              (long long)lambda_measure(&t, &f.rep), (long long)ref.exposed);
        opened += ref.exposed > 0;
    }
    CHECK(opened == 6, "no shell site beside the core found (%d)", opened);
    /* remove the whole shell: the exposure is capped below one stride */
    for (int32_t i = 0; i < f.lat.nsites; ++i)
        if (site_state(f.rep.site[i]) == STATE_SHELL) replica_set_state(&f.rep, i, STATE_SOLUTION);
    CHECK(lambda_measure(&t, &f.rep) == LAMBDA_CRACK_STRIDE - 1, "a bare core: λ = %lld",
          (long long)lambda_measure(&t, &f.rep));
    lambda_free(&t);
    fixture_close(&f);
}

/* Two clusters: a closed one (covered by shell) of 4 sites, the main one at first, and an open
 * one of 3 that grows to 4: at the tie λ takes the more exposed, though the tracker followed
 * the other, as a fresh tracker does. */
static void test_ties(void) {
    model_params p;
    model_params_default(&p);
    fixture f;
    fixture_open(&f, 16, 16, 3, &p, 1, 0);
    memset(f.states, STATE_SHELL, (size_t)f.lat.nsites);
    const int32_t open_cluster[4] = {3, 4, 5, 6}, closed_cluster[4] = {100, 101, 102, 103};
    for (int k = 0; k < 4; ++k) {
        f.states[open_cluster[k] + 16] = STATE_SOLUTION; /* a solution site beside each */
        f.states[closed_cluster[k]] = STATE_CORE;
    }
    for (int k = 0; k < 3; ++k) f.states[open_cluster[k]] = STATE_CORE;
    REQUIRE(replica_load_states(&f.rep, f.states) == RIPEN_OK, "%s", ripen_last_error());
    lambda_tracker t;
    REQUIRE(lambda_init_origin(&t, LAMBDA_CRACK, &f.rep, 0) == RIPEN_OK, "%s", ripen_last_error());
    CHECK(lambda_measure(&t, &f.rep) == LAMBDA_CRACK_STRIDE * 4, "closed largest: λ = %lld",
          (long long)lambda_measure(&t, &f.rep));
    replica_set_state(&f.rep, open_cluster[3], STATE_CORE);
    CHECK(lambda_measure(&t, &f.rep) == LAMBDA_CRACK_STRIDE * 4 + 4, "a tie: λ = %lld",
          (long long)lambda_measure(&t, &f.rep));
    CHECK(fresh_value(LAMBDA_CRACK, &f.rep) == LAMBDA_CRACK_STRIDE * 4 + 4,
          "a tie, fresh tracker: λ = %lld", (long long)fresh_value(LAMBDA_CRACK, &f.rep));
    replica_set_state(&f.rep, closed_cluster[0], STATE_SHELL);
    CHECK(lambda_measure(&t, &f.rep) == LAMBDA_CRACK_STRIDE * 4 + 4, "open largest: λ = %lld",
          (long long)lambda_measure(&t, &f.rep));
    lambda_free(&t);
    fixture_close(&f);
}

/* ---- 2. along trajectories ---- */

typedef struct {
    lambda_tracker tracker[LAMBDA_KINDS];
    uint8_t *states;
    long moves, mismatches, fresh_mismatches;
} watcher;

static int on_move(void *context, const replica *r, uint64_t attempt) {
    (void)attempt;
    watcher *w = context;
    replica_store_states(r, w->states);
    const reference ref = measure_from_scratch(r->lat, w->states);
    for (int kind = 0; kind < LAMBDA_KINDS; ++kind) {
        const int64_t value = lambda_absolute(&w->tracker[kind], r);
        w->mismatches += value != expected_lambda((lambda_kind)kind, ref);
        if (w->moves % 97 == 0) w->fresh_mismatches += value != fresh_value(kind, r);
    }
    w->moves++;
    return 0;
}

static void test_trajectory(const dynamics_kind *kind) {
    model_params p;
    model_params_default(&p);
    /* weak bonds: the shell opens and closes, the core grows and shrinks within a few steps */
    p.eps_core = 1.0, p.eps_shell = 0.8, p.eps_interface = 0.6, p.mu_core = -3.2;
    p.mu_shell = -3.4;
    fixture f;
    fixture_open(&f, 12, 12, 3, &p, 7, 3);
    fixture_prism(&f, 21, 1);
    dynamics d;
    REQUIRE(dynamics_open(&d, kind, &f.lat, &f.tab) == RIPEN_OK, "%s", ripen_last_error());
    watcher w = {.states = malloc((size_t)f.lat.nsites)};
    REQUIRE(w.states != NULL, "out of memory");
    for (int k = 0; k < LAMBDA_KINDS; ++k)
        REQUIRE(lambda_init_origin(&w.tracker[k], (lambda_kind)k, &f.rep, 0) == RIPEN_OK, "%s",
                ripen_last_error());
    const replica_watch hook = {.on_move = on_move, .context = &w};
    f.rep.watch = &hook;
    dynamics_run(&d, &f.rep, 200);
    f.rep.watch = NULL;
    CHECK(w.moves > 1000, "%s: only %ld moves", kind->name, w.moves);
    CHECK(w.mismatches == 0, "%s: %ld of %ld tracker values differ from scratch", kind->name,
          w.mismatches, w.moves * LAMBDA_KINDS);
    CHECK(w.fresh_mismatches == 0, "%s: %ld fresh-tracker values differ", kind->name,
          w.fresh_mismatches);
    printf("%s: %ld moves, λ of every kind equal to the count from scratch\n", kind->name, w.moves);
    for (int k = 0; k < LAMBDA_KINDS; ++k) lambda_free(&w.tracker[k]);
    free(w.states);
    dynamics_close(&d);
    fixture_close(&f);
}

int main(void) {
    test_prism_and_cracks();
    test_ties();
    for (int k = 0; k < dynamics_count; ++k) test_trajectory(dynamics_all[k]);
    return check_exit("test_lambda");
}
