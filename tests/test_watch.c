/* The replica watch (replica.h): every dynamics reports every accepted, state-changing move once,
 * with its attempt index, and stops exactly where the watch asks.
 *
 *  1. Reports: after each report the lattice differs from the previous report's by exactly that
 *     one move (one site changed and r->changes up by 1, or two neighbours exchanged their states
 *     and r->changes up by 2), and no change goes unreported; attempt indices lie in
 *     [0, nsites) and increase strictly within a step. Random-sequential reports the same
 *     (step, attempt) sequence as the reference kernel; checkerboard the same as the plain
 *     checkerboard loop of plain_checkerboard.h (the index is the position in the step's
 *     visiting sequence). The cases have an umbrella window, so wall rejections occur and must
 *     not be reported.
 *  2. Stopping at the n-th move leaves the replica at the state a never-stopping watched run had
 *     at its n-th move, with r->step at that move's step, r->stopped_attempt its attempt;
 *     replica_check() and dynamics_check() pass; a further run() does nothing; and the workspace
 *     still gives the unwatched trajectory after the replica is reloaded.
 *  3. A watched (never-stopping) run equals an unwatched one bit for bit.
 * Checkerboard runs all three on one and on two threads. */
#include "attempt.h"
#include "fixture.h"
#include "plain_checkerboard.h"
#include "readings.h"
#include "ripen/engine/colouring.h"

enum { SNAPSHOTS = 3 };

static int threads = 1; /* for every dynamics opened here (checkerboard uses them) */

static void open_dynamics(dynamics *d, const dynamics_kind *kind, fixture *f) {
    REQUIRE(dynamics_open(d, kind, &f->lat, &f->tab) == RIPEN_OK, "%s", ripen_last_error());
    REQUIRE(dynamics_set_threads(d, threads) == RIPEN_OK, "%s", ripen_last_error());
}

typedef struct {
    int32_t nsites;
    uint8_t *last;         /* states at the previous report (or the start) */
    uint64_t last_changes; /* r->changes then */
    long moves;            /* reports so far */
    long bad;              /* reports that did not follow exactly one move */
    long out_of_order;     /* attempt index outside [0, nsites) or not increasing in a step */
    uint64_t last_step, last_attempt;
    uint64_t *step, *attempt; /* per report (up to `capacity`) */
    long capacity;
    long stop_at;                 /* 1-based report to stop at; 0: never */
    long snap_at[SNAPSHOTS];      /* reports whose states are kept */
    uint8_t *snapshot[SNAPSHOTS]; /* states after those reports */
} recorder;

static void recorder_open(recorder *c, const replica *r, long capacity) {
    *c = (recorder){.nsites = r->lat->nsites, .capacity = capacity};
    c->last = malloc((size_t)c->nsites);
    c->step = malloc(sizeof *c->step * (size_t)capacity);
    c->attempt = malloc(sizeof *c->attempt * (size_t)capacity);
    REQUIRE(c->last && c->step && c->attempt, "out of memory");
    for (int s = 0; s < SNAPSHOTS; ++s) {
        c->snapshot[s] = malloc((size_t)c->nsites);
        REQUIRE(c->snapshot[s] != NULL, "out of memory");
    }
    replica_store_states(r, c->last);
    c->last_changes = r->changes;
}

static void recorder_close(recorder *c) {
    free(c->last), free(c->step), free(c->attempt);
    for (int s = 0; s < SNAPSHOTS; ++s) free(c->snapshot[s]);
}

/* 1 if `now` differs from `before` by one site, or by two neighbours that exchanged states. */
static int one_move(const replica *r, const uint8_t *before, uint64_t changes) {
    int32_t changed[3];
    int n = 0;
    for (int32_t i = 0; i < r->lat->nsites && n < 3; ++i)
        if (site_state(r->site[i]) != before[i]) changed[n++] = i;
    if (n == 1) return changes == 1;
    if (n != 2 || changes != 2) return 0;
    const int32_t i = changed[0], j = changed[1];
    int adjacent = 0;
    for (int d = 0; d < LATTICE_DIRECTIONS; ++d) adjacent |= lattice_neighbour(r->lat, i, d) == j;
    return adjacent && site_state(r->site[i]) == before[j] && site_state(r->site[j]) == before[i];
}

static int on_move(void *context, const replica *r, uint64_t attempt) {
    recorder *c = context;
    c->bad += !one_move(r, c->last, r->changes - c->last_changes);
    c->out_of_order += attempt >= (uint64_t)c->nsites ||
                       (c->moves > 0 && r->step == c->last_step && attempt <= c->last_attempt);
    if (c->moves < c->capacity) c->step[c->moves] = r->step, c->attempt[c->moves] = attempt;
    c->last_step = r->step, c->last_attempt = attempt;
    c->moves++;
    replica_store_states(r, c->last);
    c->last_changes = r->changes;
    for (int s = 0; s < SNAPSHOTS; ++s)
        if (c->moves == c->snap_at[s]) memcpy(c->snapshot[s], c->last, (size_t)c->nsites);
    return c->moves == c->stop_at;
}

typedef struct {
    const char *name;
    int lx, ly, lz;
    int reading;
    int window; /* hold N_core within +-3 of its start */
    uint64_t steps;
} watch_case;

/* The fixture with the case's lively parameters and random initial states. */
static void case_open(const watch_case *wc, fixture *f) {
    model_params p;
    model_params_default(&p);
    reading_apply(&all_readings[wc->reading], &p);
    fixture_lively(&p);
    fixture_open(f, wc->lx, wc->ly, wc->lz, &p, 808, 4);
    fixture_random_states(f, 31);
    if (wc->window) {
        const int64_t n = f->rep.counts.ncore;
        REQUIRE(replica_set_window(&f->rep, n > 3 ? n - 3 : 0, n + 3) == RIPEN_OK, "%s",
                ripen_last_error());
    }
}

static int same_replica(const replica *x, const replica *y) {
    return x->step == y->step && memcmp(x->site, y->site, (size_t)x->lat->nsites) == 0 &&
           memcmp(&x->counts, &y->counts, sizeof x->counts) == 0 && x->area_core == y->area_core &&
           x->area_shell == y->area_shell;
}

/* Runs `kind` (NULL: the plain checkerboard loop) for the case's steps with watch w (or none). */
static void run_case(const watch_case *wc, const dynamics_kind *kind, fixture *f,
                     const replica_watch *w) {
    case_open(wc, f);
    f->rep.watch = w;
    if (!kind) {
        plain_checkerboard(&f->rep, wc->steps);
        return;
    }
    dynamics d;
    open_dynamics(&d, kind, f);
    dynamics_run(&d, &f->rep, wc->steps);
    dynamics_close(&d);
}

/* Runs kind with a recorder; `c` is opened here and left for the caller. */
static void run_recorded(const watch_case *wc, const dynamics_kind *kind, fixture *f, recorder *c,
                         const long snap_at[SNAPSHOTS]) {
    fixture probe; /* the initial state, to open the recorder on */
    case_open(wc, &probe);
    recorder_open(c, &probe.rep, 1 << 20);
    fixture_close(&probe);
    if (snap_at) memcpy(c->snap_at, snap_at, sizeof c->snap_at);
    const replica_watch w = {on_move, c};
    run_case(wc, kind, f, &w);
    f->rep.watch = NULL;
}

static int same_sequence(const recorder *a, const recorder *b) {
    if (a->moves != b->moves) return 0;
    const long n = a->moves < a->capacity ? a->moves : a->capacity;
    return memcmp(a->step, b->step, sizeof *a->step * (size_t)n) == 0 &&
           memcmp(a->attempt, b->attempt, sizeof *a->attempt * (size_t)n) == 0;
}

/* Part 2 for one stop: a fresh replica stopped at report `n`. */
static void check_stop(const watch_case *wc, const dynamics_kind *kind, const recorder *full, int s,
                       const fixture *unwatched) {
    const long n = full->snap_at[s];
    fixture f;
    case_open(wc, &f);
    recorder stopper;
    recorder_open(&stopper, &f.rep, 1);
    stopper.stop_at = n;
    const replica_watch w = {on_move, &stopper};
    f.rep.watch = &w;
    dynamics d;
    open_dynamics(&d, kind, &f);
    dynamics_run(&d, &f.rep, wc->steps);
    replica_store_states(&f.rep, f.states);
    CHECK(f.rep.stopped == 1 && stopper.moves == n, "%s, %s: not stopped at move %ld (%ld moves)",
          wc->name, kind->name, n, stopper.moves);
    CHECK(f.rep.step == full->step[n - 1] && f.rep.stopped_attempt == full->attempt[n - 1],
          "%s, %s: stopped at step %llu attempt %llu, move %ld was at step %llu attempt %llu",
          wc->name, kind->name, (unsigned long long)f.rep.step,
          (unsigned long long)f.rep.stopped_attempt, n, (unsigned long long)full->step[n - 1],
          (unsigned long long)full->attempt[n - 1]);
    CHECK(memcmp(f.states, full->snapshot[s], (size_t)f.lat.nsites) == 0,
          "%s, %s: state after stopping at move %ld differs from the watched run's", wc->name,
          kind->name, n);
    CHECK(replica_check(&f.rep) == RIPEN_OK, "%s, %s: %s", wc->name, kind->name,
          ripen_last_error());
    CHECK(dynamics_check(&d, &f.rep) == RIPEN_OK, "%s, %s: %s", wc->name, kind->name,
          ripen_last_error());
    /* A stopped replica stays put. */
    const uint64_t changes = f.rep.changes;
    dynamics_run(&d, &f.rep, 3);
    CHECK(f.rep.changes == changes && f.rep.step == full->step[n - 1],
          "%s, %s: a stopped replica moved on", wc->name, kind->name);
    /* The workspace is sound: reloaded, unwatched, the replica follows the unwatched run. */
    fixture start;
    case_open(wc, &start);
    replica_store_states(&start.rep, start.states);
    REQUIRE(replica_load_states(&f.rep, start.states) == RIPEN_OK, "%s", ripen_last_error());
    f.rep.step = 0, f.rep.watch = NULL;
    dynamics_run(&d, &f.rep, wc->steps);
    CHECK(same_replica(&f.rep, &unwatched->rep),
          "%s, %s: the workspace of a stopped run no longer gives the unwatched trajectory",
          wc->name, kind->name);
    fixture_close(&start);
    dynamics_close(&d);
    recorder_close(&stopper);
    fixture_close(&f);
}

static void check_dynamics(const watch_case *wc, const dynamics_kind *kind, recorder *full) {
    fixture unwatched, watched;
    run_case(wc, kind, &unwatched, NULL);
    const long late = 2000; /* snapshots: the first move, one early, one late in the run */
    const long snaps[SNAPSHOTS] = {1, 17, late};
    run_recorded(wc, kind, &watched, full, snaps);
    CHECK(full->moves > late, "%s, %s: only %ld moves", wc->name, kind->name, full->moves);
    CHECK(full->bad == 0, "%s, %s: %ld of %ld reports did not follow exactly one move", wc->name,
          kind->name, full->bad, full->moves);
    CHECK(watched.rep.changes == full->last_changes, "%s, %s: %llu site changes unreported",
          wc->name, kind->name, (unsigned long long)(watched.rep.changes - full->last_changes));
    CHECK(full->out_of_order == 0, "%s, %s: %ld attempt indices out of range or order", wc->name,
          kind->name, full->out_of_order);
    CHECK(same_replica(&watched.rep, &unwatched.rep), "%s, %s: watching changed the trajectory",
          wc->name, kind->name);
    for (int s = 0; s < SNAPSHOTS; ++s) check_stop(wc, kind, full, s, &unwatched);
    printf("%-28s %-18s%s %7ld moves reported, each once; stops at moves 1, 17, %ld exact\n",
           wc->name, kind->name, threads > 1 ? " x2" : "   ", full->moves, late);
    fixture_close(&unwatched);
    fixture_close(&watched);
}

int main(void) {
    const watch_case cases[] = {
        {"9x7x3 lively, window", 9, 7, 3, 0, 1, 300},
        {"12x12x4 lively identity", 12, 12, 4, 2, 0, 150},
        /* Classes of 256 sites: 4 chunks, so checkerboard on 2 threads runs in parallel. */
        {"64x64x3 lively", 64, 64, 3, 0, 0, 1},
    };
    const dynamics_kind *const kinds[] = {&dynamics_reference, &dynamics_random_sequential,
                                          &dynamics_checkerboard, &dynamics_rejection_free};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        recorder seen[4];
        for (int k = 0; k < 4; ++k) check_dynamics(&cases[c], kinds[k], &seen[k]);
        CHECK(same_sequence(&seen[0], &seen[1]),
              "%s: random-sequential reports other (step, attempt) pairs than the reference",
              cases[c].name);
        recorder plain;
        fixture f;
        run_recorded(&cases[c], NULL, &f, &plain, NULL);
        CHECK(same_sequence(&plain, &seen[2]),
              "%s: checkerboard reports other (step, position) pairs than the plain loop",
              cases[c].name);
        printf("%-28s attempt indices: random-sequential = reference (%ld), checkerboard = plain "
               "loop (%ld)\n",
               cases[c].name, seen[1].moves, plain.moves);
        recorder_close(&plain);
        fixture_close(&f);
        /* Checkerboard on 2 threads: the same reports, the same stops. */
        recorder threaded;
        threads = 2;
        check_dynamics(&cases[c], &dynamics_checkerboard, &threaded);
        threads = 1;
        CHECK(same_sequence(&threaded, &seen[2]),
              "%s: checkerboard on 2 threads reports other (step, position) pairs", cases[c].name);
        recorder_close(&threaded);
        for (int k = 0; k < 4; ++k) recorder_close(&seen[k]);
    }
    return check_exit("test_watch");
}
