/* Rejection-free dynamics (dyn_rejection_free.c): exact caches, resume-safe determinism, and the
 * same kinetics as random-sequential Metropolis.
 *
 *  1. Caches: during long runs (paper and lively parameters, swaps, an umbrella window, the 2x2x2
 *     multigraph, 6 bonding directions) dynamics_check() finds every site's rate and every partial
 *     sum equal, bit for bit, to a recomputation from scratch, and replica_check() passes; with a
 *     window, N_core never leaves it.
 *  2. Determinism: the state after S steps is the same, bit for bit, whether the S steps run in one
 *     call, one step per call, restarted every k steps from the stored states in a new replica
 *     and a new workspace (as after a checkpoint), or with one workspace shared by two replicas
 *     that take turns (it must notice and rebuild), or resumed from the bare states at random
 *     steps (1 to 13 apart) in a workspace that meanwhile ran another replica, so that its bands
 *     were filled in another order. So a trajectory from step s depends only on (state at s, s,
 *     seed, task), whatever order the moves were made in before.
 *  3. Kinetics: on a 10x10x3 lattice with the paper's couplings scaled by 0.7 (so that growth
 *     takes ~100 steps instead of ~10^4), R = 1500 replicas (task ids) per dynamics start from a
 *     prism; per replica we record T = the first step at which N_core >= 2 x its initial value and
 *     N_core at a fixed step t1 (in a fourth, swaps-only condition: the core-shell bond count B_cs
 *     reaching its initial value + 30, and B_cs at t1, which only swaps change; growth times hardly
 *     notice the swap rates, and this condition catches a wrong swap weight, e.g. p_swap / 6
 *     instead of / 8, which the other three pass). Random-sequential and rejection-free samples
 *     are compared with
 *     the two-sample Kolmogorov-Smirnov test at significance alpha = 1e-3: reject when
 *     D > c(alpha) sqrt(2 / R), c(alpha) = sqrt(-ln(alpha / 2) / 2) = 1.95, i.e. D > 0.071. The
 *     data are integers with ties, for which this bound is conservative. Four conditions (shelled
 *     paper-like; swap-heavy "identity" moves; shell-free Hastings proposals; swaps only) x two
 *     statistics = eight tests, so a correct kernel fails one by chance with probability <= 0.8%;
 *     the seeds are fixed, so the outcome is deterministic.
 *     Power: the same test on the same samples must reject a 20% change of the rates: rejection-
 *     free times stretched by 1.2 (every rate x 1/1.2) against random-sequential times, and N_core
 *     of rejection-free at step 1.2 t1 (every rate x 1.2) against random-sequential at t1.
 * Usage: test_rejection_free [replicas] (default 1500). */
#include "fixture.h"
#include "readings.h"

#include <math.h>

/* ---- 1 and 2: caches and determinism ---- */

typedef struct {
    const char *name;
    int lx, ly, lz;
    int lively;     /* lively couplings and many swaps, else the paper's */
    int reading;    /* index in all_readings */
    int window;     /* hold N_core within +-4 of its start */
    uint64_t steps; /* per run */
    int64_t finite; /* > 0: a finite solution of this many core and shell units (reference
                       content = units), which the lattice soon empties */
} rf_case;

/* A finite solution of `units` core and shell units on the tables, totals from the replica's
 * counts (the reference content = the units); none for units = 0. */
static void put_finite(fixture *f, int64_t units, int shell) {
    if (units <= 0) return;
    reservoir res = reservoir_none();
    res.core = (reservoir_component){f->rep.counts.ncore + units, (double)units};
    if (shell) res.shell = (reservoir_component){f->rep.counts.nshell + units, (double)units};
    model_tables_use_reservoir(&f->tab, &res);
}

static void case_params(const rf_case *c, model_params *p) {
    model_params_default(p);
    reading_apply(&all_readings[c->reading], p);
    if (c->lively) {
        p->eps_core = 1.0, p->eps_shell = 0.7, p->eps_interface = 0.5;
        p->mu_core = -2.5, p->mu_shell = -2.0, p->p_swap = 0.3;
    }
}

/* Opens the fixture with the case's initial state (a prism if one fits, else random states). */
static void case_open(const rf_case *c, fixture *f, uint32_t task) {
    model_params p;
    case_params(c, &p);
    fixture_open(f, c->lx, c->ly, c->lz, &p, 4242, task);
    initial_report report;
    if (c->lx < 8 || initial_prism(f->states, &f->lat, c->lx >= 20 ? 200 : 12, 2, &report)) {
        philox_stream s;
        philox_stream_init(&s, philox_key_from_seed(5), 0, task, PURPOSE_TEST);
        for (int32_t i = 0; i < f->lat.nsites; ++i)
            f->states[i] = (uint8_t)(philox_stream_next(&s) % 3);
    }
    REQUIRE(replica_load_states(&f->rep, f->states) == RIPEN_OK, "%s", ripen_last_error());
    if (c->window) {
        const int64_t n = f->rep.counts.ncore;
        REQUIRE(replica_set_window(&f->rep, n > 4 ? n - 4 : 0, n + 4) == RIPEN_OK, "%s",
                ripen_last_error());
    }
    put_finite(f, c->finite, f->tab.params.shell == SHELL_GRAND_CANONICAL);
}

static int same_state(const replica *a, const replica *b) {
    return a->step == b->step && memcmp(a->site, b->site, (size_t)a->lat->nsites) == 0 &&
           memcmp(&a->counts, &b->counts, sizeof a->counts) == 0;
}

static void check_caches(const rf_case *c) {
    fixture f;
    case_open(c, &f, 1);
    dynamics d;
    REQUIRE(dynamics_open(&d, &dynamics_rejection_free, &f.lat, &f.tab) == RIPEN_OK, "%s",
            ripen_last_error());
    const int chunks = 20;
    long moved = 0;
    replica_store_states(&f.rep, f.states);
    for (int k = 0; k < chunks; ++k) {
        dynamics_run(&d, &f.rep, c->steps / chunks);
        CHECK(dynamics_check(&d, &f.rep) == RIPEN_OK, "%s, chunk %d: %s", c->name, k,
              ripen_last_error());
        CHECK(replica_check(&f.rep) == RIPEN_OK, "%s, chunk %d: %s", c->name, k,
              ripen_last_error());
        CHECK(f.rep.counts.ncore >= f.rep.core_min && f.rep.counts.ncore <= f.rep.core_max,
              "%s: N_core = %lld left the window", c->name, (long long)f.rep.counts.ncore);
        for (int32_t i = 0; i < f.lat.nsites; ++i) {
            const uint8_t now = (uint8_t)site_state(f.rep.site[i]);
            moved += now != f.states[i];
            f.states[i] = now;
        }
    }
    const long enough = !c->lively ? 10 : f.lat.nsites < 200 ? f.lat.nsites / 8 : 100;
    CHECK(moved > enough, "%s: too little activity (%ld site changes)", c->name, moved);
    printf("caches       %-40s %8llu steps: rates and sums exact at %d checks, %ld site changes\n",
           c->name, (unsigned long long)f.rep.step, chunks, moved);
    dynamics_close(&d);
    fixture_close(&f);
}

/* Runs case c for c->steps steps in the given way; leaves the result in *out (opened here). */
typedef enum { ONE_CALL, STEP_BY_STEP, RESTARTS, SHARED_WORKSPACE, RANDOM_RESUMES } run_style;
static const char *const run_style_names[] = {"one call", "one step per call",
                                              "restart every 7 steps", "shared workspace",
                                              "resumed at random steps in a used workspace"};

/* A replica of case c at `step` from `states` (as a resumed task builds it). */
static void resume_replica(const rf_case *c, fixture *f, uint64_t step, int64_t lo, int64_t hi) {
    (void)c;
    replica_free(&f->rep);
    REQUIRE(replica_init(&f->rep, &f->lat, &f->tab, 4242, 2) == RIPEN_OK, "%s", ripen_last_error());
    REQUIRE(replica_load_states(&f->rep, f->states) == RIPEN_OK, "%s", ripen_last_error());
    f->rep.step = step;
    REQUIRE(replica_set_window(&f->rep, lo, hi) == RIPEN_OK, "%s", ripen_last_error());
}

static void run_styled(const rf_case *c, run_style style, fixture *out) {
    case_open(c, out, 2);
    dynamics d;
    REQUIRE(dynamics_open(&d, &dynamics_rejection_free, &out->lat, &out->tab) == RIPEN_OK, "%s",
            ripen_last_error());
    fixture other; /* SHARED_WORKSPACE: a second replica taking turns on the same workspace */
    if (style == SHARED_WORKSPACE || style == RANDOM_RESUMES) case_open(c, &other, 3);
    philox_stream gaps; /* RANDOM_RESUMES: 1 to 13 steps between resumptions */
    philox_stream_init(&gaps, philox_key_from_seed(c->steps), c->steps, 0, PURPOSE_TEST);
    long resumes = 0;
    for (uint64_t s = 0; s < c->steps;) {
        const uint64_t n = style == ONE_CALL         ? c->steps
                           : style == RESTARTS       ? 7
                           : style == RANDOM_RESUMES ? 1 + philox_stream_next(&gaps) % 13
                                                     : 1;
        const uint64_t todo = n < c->steps - s ? n : c->steps - s;
        dynamics_run(&d, &out->rep, todo);
        s += todo;
        if (style == SHARED_WORKSPACE) dynamics_run(&d, &other.rep, 1);
        if (style == RANDOM_RESUMES) {
            /* The states only, into a new replica; the workspace meanwhile holds the history of
             * another replica's moves (its bands hold other sites in another order). */
            replica_store_states(&out->rep, out->states);
            dynamics_run(&d, &other.rep, 1 + resumes % 3);
            resume_replica(c, out, out->rep.step, out->rep.core_min, out->rep.core_max);
            ++resumes;
        }
        if (style == RESTARTS) { /* a new replica and workspace from the stored states */
            const uint64_t step = out->rep.step;
            const int64_t lo = out->rep.core_min, hi = out->rep.core_max;
            replica_store_states(&out->rep, out->states);
            dynamics_close(&d);
            replica_free(&out->rep);
            REQUIRE(replica_init(&out->rep, &out->lat, &out->tab, 4242, 2) == RIPEN_OK, "%s",
                    ripen_last_error());
            REQUIRE(replica_load_states(&out->rep, out->states) == RIPEN_OK, "%s",
                    ripen_last_error());
            out->rep.step = step;
            REQUIRE(replica_set_window(&out->rep, lo, hi) == RIPEN_OK, "%s", ripen_last_error());
            REQUIRE(dynamics_open(&d, &dynamics_rejection_free, &out->lat, &out->tab) == RIPEN_OK,
                    "%s", ripen_last_error());
        }
    }
    if (style == SHARED_WORKSPACE || style == RANDOM_RESUMES) fixture_close(&other);
    if (style == RANDOM_RESUMES)
        CHECK(resumes >= 20 || resumes * 7 >= (long)c->steps, "only %ld resumptions", resumes);
    dynamics_close(&d);
}

static void check_determinism(const rf_case *c) {
    fixture reference;
    run_styled(c, ONE_CALL, &reference);
    for (run_style style = STEP_BY_STEP; style <= RANDOM_RESUMES; ++style) {
        fixture f;
        run_styled(c, style, &f);
        CHECK(same_state(&f.rep, &reference.rep), "%s: \"%s\" parts from \"one call\"", c->name,
              run_style_names[style]);
        fixture_close(&f);
    }
    printf("determinism  %-40s %8llu steps: one call = one step per call = restarts = shared = "
           "random resumes\n",
           c->name, (unsigned long long)c->steps);
    fixture_close(&reference);
}

/* ---- 3: kinetics ---- */

typedef struct {
    const char *name;
    int shell;      /* initial shell thickness */
    move_set moves; /* insertion/deletion reading */
    proposal_kind proposals;
    double p_swap;
    int swaps_only; /* p_swap = 1 with couplings that favour mixing: the progress measure is
                       B_cs (core-shell bonds), which only swaps change, target initial + 30;
                       else N_core, target 2 x initial */
    uint64_t t1;    /* the fixed step for the progress distribution */
    int64_t finite; /* > 0: a finite solution of this many core units (reference = units) */
} kinetic_case;

enum { STEP_LIMIT = 3000 }; /* T is censored here (the same for both dynamics) */

typedef struct {
    long *passage;    /* first step with progress >= target (STEP_LIMIT + 1 if never) */
    long *ncore;      /* progress at t1 */
    long *ncore_late; /* progress at 1.2 t1, for the power check */
} kinetic_sample;

static long progress(const kinetic_case *k, const replica *r) {
    return (long)(k->swaps_only ? r->counts.bonds_cs : r->counts.ncore);
}

static void sample_kinetics(const kinetic_case *k, const dynamics_kind *kind, int replicas,
                            kinetic_sample *out) {
    model_params p;
    model_params_default(&p);
    p.eps_core *= 0.7, p.eps_shell *= 0.7, p.eps_interface *= 0.7;
    p.mu_core *= 0.7, p.mu_shell *= 0.7;
    p.moves = k->moves, p.proposals = k->proposals, p.p_swap = k->p_swap;
    if (k->swaps_only) p.eps_core = 6.0, p.eps_shell = 4.0, p.eps_interface = 5.0, p.p_swap = 1.0;
    fixture f;
    fixture_open(&f, 10, 10, 3, &p, 777, 0);
    initial_report report;
    REQUIRE(initial_prism(f.states, &f.lat, 20, k->shell, &report) == RIPEN_OK, "%s",
            ripen_last_error());
    REQUIRE(replica_load_states(&f.rep, f.states) == RIPEN_OK, "%s", ripen_last_error());
    put_finite(&f, k->finite, 0);
    dynamics d;
    REQUIRE(dynamics_open(&d, kind, &f.lat, &f.tab) == RIPEN_OK, "%s", ripen_last_error());
    const uint64_t t_late = (uint64_t)llround(1.2 * (double)k->t1);
    for (int task = 0; task < replicas; ++task) {
        replica r;
        REQUIRE(replica_init(&r, &f.lat, &f.tab, 777, (uint32_t)task) == RIPEN_OK, "%s",
                ripen_last_error());
        REQUIRE(replica_load_states(&r, f.states) == RIPEN_OK, "%s", ripen_last_error());
        const long target = k->swaps_only ? progress(k, &r) + 30 : 2 * progress(k, &r);
        out->passage[task] = STEP_LIMIT + 1;
        while (r.step < STEP_LIMIT && (out->passage[task] > STEP_LIMIT || r.step < t_late)) {
            dynamics_run(&d, &r, 1);
            if (out->passage[task] > STEP_LIMIT && progress(k, &r) >= target)
                out->passage[task] = (long)r.step;
            if (r.step == k->t1) out->ncore[task] = progress(k, &r);
            if (r.step == t_late) out->ncore_late[task] = progress(k, &r);
        }
        replica_free(&r);
    }
    dynamics_close(&d);
    fixture_close(&f);
}

static int compare_longs(const void *a, const void *b) {
    const long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* Two-sample Kolmogorov-Smirnov statistic sup |F_a - F_b| (sorts copies of the samples). */
static double ks_statistic(const long *a_in, const long *b_in, int n) {
    long *a = malloc(sizeof *a * (size_t)n), *b = malloc(sizeof *b * (size_t)n);
    REQUIRE(a && b, "out of memory");
    memcpy(a, a_in, sizeof *a * (size_t)n);
    memcpy(b, b_in, sizeof *b * (size_t)n);
    qsort(a, (size_t)n, sizeof *a, compare_longs);
    qsort(b, (size_t)n, sizeof *b, compare_longs);
    double d = 0;
    for (int i = 0, j = 0; i < n && j < n;) {
        const long x = a[i] < b[j] ? a[i] : b[j];
        while (i < n && a[i] == x) ++i; /* both empirical CDFs just after x */
        while (j < n && b[j] == x) ++j;
        d = fmax(d, fabs((double)(i - j) / n));
    }
    free(a), free(b);
    return d;
}

static double mean_of(const long *x, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i) s += (double)x[i];
    return s / n;
}

/* The median (of a sorted copy): unlike the mean, not moved by a few censored times. */
static long median_of(const long *x, int n) {
    long *sorted = malloc(sizeof *sorted * (size_t)n);
    REQUIRE(sorted != NULL, "out of memory");
    memcpy(sorted, x, sizeof *sorted * (size_t)n);
    qsort(sorted, (size_t)n, sizeof *sorted, compare_longs);
    const long m = sorted[n / 2];
    free(sorted);
    return m;
}

static void check_kinetics(const kinetic_case *k, int replicas, double bound) {
    kinetic_sample rs, rf;
    long *memory = malloc(sizeof *memory * 6 * (size_t)replicas);
    REQUIRE(memory != NULL, "out of memory");
    rs = (kinetic_sample){memory, memory + replicas, memory + 2 * replicas};
    rf = (kinetic_sample){memory + 3 * replicas, memory + 4 * replicas, memory + 5 * replicas};
    sample_kinetics(k, &dynamics_random_sequential, replicas, &rs);
    sample_kinetics(k, &dynamics_rejection_free, replicas, &rf);
    const double d_passage = ks_statistic(rs.passage, rf.passage, replicas);
    const double d_ncore = ks_statistic(rs.ncore, rf.ncore, replicas);
    CHECK(d_passage < bound, "%s: passage times differ, KS D = %.4f > %.4f", k->name, d_passage,
          bound);
    CHECK(d_ncore < bound, "%s: progress at step %llu differs, KS D = %.4f > %.4f", k->name,
          (unsigned long long)k->t1, d_ncore, bound);
    /* Power: rates 20% slower (times x 1.2) and 20% faster (N_core at 1.2 t1). */
    long *stretched = malloc(sizeof *stretched * (size_t)replicas);
    REQUIRE(stretched != NULL, "out of memory");
    for (int i = 0; i < replicas; ++i)
        stretched[i] = rf.passage[i] > STEP_LIMIT ? STEP_LIMIT + 1
                                                  : (long)llround(1.2 * (double)rf.passage[i]);
    const double d_slow = ks_statistic(rs.passage, stretched, replicas);
    const double d_fast = ks_statistic(rs.ncore, rf.ncore_late, replicas);
    CHECK(d_slow > bound, "%s: rates 20%% slower went unseen (D = %.4f)", k->name, d_slow);
    CHECK(d_fast > bound, "%s: rates 20%% faster went unseen (D = %.4f)", k->name, d_fast);
    long censored = 0;
    for (int i = 0; i < replicas; ++i)
        censored += (rs.passage[i] > STEP_LIMIT) + (rf.passage[i] > STEP_LIMIT);
    printf("kinetics     %-31s RS vs RF: median T %4ld vs %4ld, KS D %.4f; mean %s(%llu) %6.2f "
           "vs %6.2f, KS D %.4f; bound %.4f (censored %ld); power: 20%% slower D %.3f, 20%% "
           "faster D %.3f\n",
           k->name, median_of(rs.passage, replicas), median_of(rf.passage, replicas), d_passage,
           k->swaps_only ? "B_cs" : "N_core", (unsigned long long)k->t1,
           mean_of(rs.ncore, replicas), mean_of(rf.ncore, replicas), d_ncore, bound, censored,
           d_slow, d_fast);
    free(stretched);
    free(memory);
}

int main(int argc, char **argv) {
    const int replicas = argc > 1 ? atoi(argv[1]) : 1500;
    REQUIRE(replicas >= 100, "need at least 100 replicas");
    const rf_case cases[] = {
        {"80x80x4 paper, shelled prism", 80, 80, 4, 0, 0, 0, 400, 0},
        {"12x12x4 lively, p_swap 0.3", 12, 12, 4, 1, 0, 0, 2000, 0},
        {"11x13x5 lively identity, window", 11, 13, 5, 1, 2, 1, 2000, 0},
        {"2x2x2 lively hastings (multigraph)", 2, 2, 2, 1, 1, 0, 20000, 0},
        {"3x2x2 lively, window", 3, 2, 2, 1, 0, 1, 20000, 0},
        {"7x5x3 lively identity/product/6-bonds", 7, 5, 3, 1, 9, 0, 4000, 0},
        {"9x7x3 lively canonical shell", 9, 7, 3, 1, 3, 0, 4000, 0},
        /* finite solutions: the code sets and their rates, through content changes */
        {"12x12x4 lively, finite solution", 12, 12, 4, 1, 0, 0, 2000, 30},
        {"11x13x5 lively identity, finite, window", 11, 13, 5, 1, 2, 1, 2000, 20},
        {"9x7x3 lively canonical shell, finite", 9, 7, 3, 1, 3, 0, 4000, 10},
        {"80x80x4 paper, shelled prism, finite", 80, 80, 4, 0, 0, 0, 400, 40},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        check_caches(&cases[c]);
        rf_case shorter = cases[c];
        shorter.steps = cases[c].steps / 4;
        check_determinism(&shorter);
    }
    const double alpha = 1e-3;
    const double bound = sqrt(-0.5 * log(alpha / 2)) * sqrt(2.0 / replicas);
    const kinetic_case kinetics[] = {
        {"shelled, paper-like", 1, MOVES_VACANCY, PROPOSALS_SYMMETRIC, 1.0 / 51.0, 0, 60, 0},
        {"shelled, identity, p_swap 0.5", 1, MOVES_IDENTITY, PROPOSALS_SYMMETRIC, 0.5, 0, 20, 0},
        {"shell-free, Hastings", 0, MOVES_VACANCY, PROPOSALS_HASTINGS, 1.0 / 51.0, 0, 70, 0},
        {"shelled, swaps only (B_cs)", 1, MOVES_VACANCY, PROPOSALS_SYMMETRIC, 1.0, 1, 5, 0},
        /* a solution of 40 core units, depleted as the particle doubles */
        {"shell-free, finite solution", 0, MOVES_VACANCY, PROPOSALS_SYMMETRIC, 1.0 / 51.0, 0, 70,
         40},
    };
    for (size_t k = 0; k < sizeof kinetics / sizeof kinetics[0]; ++k)
        check_kinetics(&kinetics[k], replicas, bound);
    return check_exit("test_rejection_free");
}
