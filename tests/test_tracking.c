/* Per-particle tracking (ripen/engine/tracking.h) on hand-made lattices: two particles, a merge, a
 * split, a particle vanishing and one appearing, identity across the periodic boundaries and
 * through a move by one site, the shell rule with its tie, a restored state; then clusters,
 * shells and totals against brute-force O(N) computations on lattices a dynamics made. */
#include "fixture.h"
#include "ripen/engine/observe.h"
#include "ripen/engine/tracking.h"

#include <math.h>

enum { LX = 24, LY = 20, LZ = 3 };

static fixture f;
static tracker t;

static void column(int x, int y, int state) {
    x = ((x % LX) + LX) % LX, y = ((y % LY) + LY) % LY;
    for (int z = 0; z < LZ; ++z) f.states[lattice_index(&f.lat, x, y, z)] = (uint8_t)state;
}

/* A hexagon of columns of radius r (in-plane hex distance) around (cx, cy), periodic. */
static void blob(int cx, int cy, int r, int state) {
    for (int dx = -r; dx <= r; ++dx)
        for (int dy = -r; dy <= r; ++dy)
            if (abs(dx + dy) <= r) column(cx + dx, cy + dy, state);
}

/* Shell of thickness 1 around every core column (in-plane), where solution. */
static void shell_around_core(void) {
    uint8_t *copy = malloc((size_t)f.lat.nsites);
    memcpy(copy, f.states, (size_t)f.lat.nsites);
    for (int32_t i = 0; i < f.lat.nsites; ++i) {
        if (copy[i] != STATE_SOLUTION) continue;
        for (int d = 0; d < LATTICE_INPLANE_DIRECTIONS; ++d)
            if (copy[lattice_neighbour(&f.lat, i, d)] == STATE_CORE) f.states[i] = STATE_SHELL;
    }
    free(copy);
}

static void clear(void) {
    memset(f.states, STATE_SOLUTION, (size_t)f.lat.nsites);
}

static void load(void) {
    REQUIRE(replica_load_states(&f.rep, f.states) == RIPEN_OK, "%s", ripen_last_error());
}

static void sample(uint64_t step) {
    load();
    REQUIRE(tracker_sample(&t, &f.rep, step) == RIPEN_OK, "%s", ripen_last_error());
}

static const track_particle *find(int32_t id) {
    for (int k = 0; k < t.nparticles; ++k)
        if (t.particles[k].id == id) return &t.particles[k];
    return NULL;
}

static int has_event(track_event_kind kind, int32_t id, int32_t other) {
    for (int k = 0; k < t.nevents; ++k)
        if (t.events[k].kind == kind && t.events[k].id == id && t.events[k].other == other)
            return 1;
    return 0;
}

/* Starts tracking with particle k seeded at column (x[k], y[k]), layer 0. */
static void start(int n, const int *x, const int *y) {
    int32_t sites[8], ids[8];
    for (int k = 0; k < n; ++k) sites[k] = lattice_index(&f.lat, x[k], y[k], 0), ids[k] = k;
    REQUIRE(tracker_restore(&t, n, n, sites, ids) == RIPEN_OK, "%s", ripen_last_error());
    sample(0);
}

static void test_two_particles(void) {
    clear();
    blob(5, 5, 2, STATE_CORE);   /* 19 columns */
    blob(15, 12, 1, STATE_CORE); /* 7 columns */
    shell_around_core();
    start(2, (int[]){5, 15}, (int[]){5, 12});
    CHECK(t.nparticles == 2 && t.nevents == 0, "%d particles, %d events", t.nparticles, t.nevents);
    const track_particle *a = find(0), *b = find(1);
    REQUIRE(a && b, "ids 0 and 1");
    CHECK(a->core == 19 * LZ && b->core == 7 * LZ, "core %d %d", a->core, b->core);
    CHECK(a->shell == 18 * LZ && b->shell == 12 * LZ, "shell %d %d", a->shell, b->shell);
    CHECK(a->exposed == 0 && b->exposed == 0, "shelled cores are not exposed");
    CHECK(fabs(a->x - 5) < 1e-12 && fabs(a->y - 5) < 1e-12, "centre (%g, %g)", a->x, a->y);
    CHECK(fabs(b->x - 15) < 1e-12 && fabs(b->y - 12) < 1e-12, "centre (%g, %g)", b->x, b->y);
    CHECK(t.totals.free_shell == 0 && t.totals.free_core == 0, "nothing free");
    CHECK(t.totals.largest_cluster == 19 * LZ, "largest %lld", (long long)t.totals.largest_cluster);
}

/* Two particles joined by a bridge of core: the smaller merges into the larger. */
static void test_merge(void) {
    clear();
    blob(5, 5, 2, STATE_CORE);
    blob(11, 5, 1, STATE_CORE);
    start(2, (int[]){5, 11}, (int[]){5, 5});
    REQUIRE(t.nparticles == 2, "two particles before the merge");
    column(8, 5, STATE_CORE), column(9, 5, STATE_CORE);
    sample(100);
    CHECK(t.nparticles == 1 && find(0) && find(0)->core == (19 + 7 + 2) * LZ,
          "one particle of both cores");
    CHECK(t.nevents == 1 && has_event(TRACK_MERGE, 1, 0), "event: 1 merged into 0");
    CHECK(t.events[0].step == 100, "the event's step");
}

/* A particle cut in two: the larger piece keeps the id, the other is a new one split from it. */
static void test_split(void) {
    clear();
    for (int x = 3; x <= 14; ++x) column(x, 8, STATE_CORE), column(x, 9, STATE_CORE);
    start(1, (int[]){3}, (int[]){8});
    REQUIRE(t.nparticles == 1 && find(0)->core == 24 * LZ, "one bar");
    column(10, 8, STATE_SOLUTION), column(10, 9, STATE_SOLUTION);
    column(9, 9, STATE_SOLUTION); /* (9, 9) and (10, 8) are neighbours: cut it too */
    sample(200);
    CHECK(t.nparticles == 2, "two pieces: %d", t.nparticles);
    CHECK(find(0) && find(0)->core == 13 * LZ, "the larger piece (x <= 9) keeps id 0");
    CHECK(find(1) && find(1)->core == 8 * LZ, "the smaller is id 1");
    CHECK(t.nevents == 1 && has_event(TRACK_SPLIT, 1, 0), "event: 1 split from 0");
}

/* A particle dissolving below min_core vanishes; its debris is free core. A cluster growing to
 * min_core appears. */
static void test_vanish_and_appear(void) {
    clear();
    blob(5, 5, 1, STATE_CORE);
    blob(15, 12, 1, STATE_CORE);
    start(2, (int[]){5, 15}, (int[]){5, 12});
    clear();
    blob(5, 5, 1, STATE_CORE);
    f.states[lattice_index(&f.lat, 15, 12, 0)] = STATE_CORE; /* 1 site left of particle 1 */
    sample(300);
    CHECK(t.nparticles == 1 && find(0), "particle 0 only");
    CHECK(t.nevents == 1 && has_event(TRACK_VANISH, 1, -1), "event: 1 vanished");
    CHECK(t.totals.free_core == 1, "its debris: %lld free core", (long long)t.totals.free_core);
    blob(15, 3, 1, STATE_CORE);
    sample(400);
    CHECK(t.nparticles == 2 && find(2) && find(2)->core == 7 * LZ, "a new particle, id 2");
    CHECK(t.nevents == 1 && has_event(TRACK_APPEAR, 2, -1), "event: 2 appeared");
}

/* A particle across the periodic boundaries is one, with its centre on the boundary; moving
 * across keeps its identity. */
static void test_periodic(void) {
    clear();
    blob(0, 0, 2, STATE_CORE);
    start(1, (int[]){0}, (int[]){0});
    CHECK(t.nparticles == 1 && find(0)->core == 19 * LZ, "one particle across the corner");
    CHECK(find(0)->x < 1e-9 && find(0)->y < 1e-9, "centre (%g, %g) at the corner", find(0)->x,
          find(0)->y);
    for (int step = 1; step <= LX; ++step) {
        clear();
        blob(-step, 0, 2, STATE_CORE); /* one column further -x each sample */
        sample((uint64_t)step * 10);
        CHECK(t.nparticles == 1 && find(0) && t.nevents == 0, "step %d: lost", step);
        if (!find(0)) return;
    }
    CHECK(fabs(find(0)->x - 0) < 1e-9, "back where it started after a full turn: %g", find(0)->x);
    clear();
    blob(LX - 1, 3, 1, STATE_CORE);
    blob(LX / 2, 3, 1, STATE_CORE);
    sample(1000);
    CHECK(t.nparticles == 2 && find(0), "id 0 went on across the boundary");
    CHECK(find(0) && fabs(find(0)->x - (LX - 1)) < 1e-9 && fabs(find(0)->y - 3) < 1e-9,
          "centre (%g, %g) at x = Lx - 1", find(0) ? find(0)->x : -1, find(0) ? find(0)->y : -1);
}

/* A particle one column wide moved by a site has no overlap: adjacency keeps it. */
static void test_move_by_a_site(void) {
    clear();
    column(4, 4, STATE_CORE);
    column(14, 14, STATE_CORE);
    start(2, (int[]){4, 14}, (int[]){4, 14});
    clear();
    column(5, 4, STATE_CORE);
    column(14, 15, STATE_CORE);
    sample(10);
    CHECK(t.nparticles == 2 && t.nevents == 0, "moved: %d particles, %d events", t.nparticles,
          t.nevents);
    CHECK(find(0) && fabs(find(0)->x - 5) < 1e-12, "id 0 went with its column");
    CHECK(find(1) && fabs(find(1)->y - 15) < 1e-12, "id 1 went with its column");
}

/* Shell between two cores goes to the nearer through shell; at equal distance to the smaller
 * id; shell out of reach of any core is free. */
static void test_shell_rule(void) {
    clear();
    column(4, 4, STATE_CORE);
    column(10, 4, STATE_CORE);
    for (int x = 5; x <= 9; ++x) column(x, 4, STATE_SHELL);
    column(17, 15, STATE_SHELL); /* alone */
    start(2, (int[]){4, 10}, (int[]){4, 4});
    /* Distances through shell: x = 5, 6 nearer 0; x = 7 tied (3 and 3); x = 8, 9 nearer 1. */
    CHECK(find(0)->shell == 3 * LZ && find(1)->shell == 2 * LZ, "shell %d %d (tie to id 0)",
          find(0)->shell, find(1)->shell);
    CHECK(t.totals.free_shell == LZ, "free shell %lld", (long long)t.totals.free_shell);
    CHECK(find(0)->exposed == LZ && find(1)->exposed == LZ, "bare columns exposed");
}

/* A tracker restored from another's state continues exactly as the other. */
static void test_restore(void) {
    clear();
    blob(5, 5, 2, STATE_CORE);
    blob(15, 12, 1, STATE_CORE);
    start(2, (int[]){5, 15}, (int[]){5, 12});
    tracker other;
    REQUIRE(tracker_init(&other, &f.lat, 2) == RIPEN_OK, "%s", ripen_last_error());
    REQUIRE(tracker_restore(&other, t.next_id, t.nowned, t.owned_site, t.owned_id) == RIPEN_OK,
            "%s", ripen_last_error());
    for (int k = 0; k < 13; ++k) column(8 + (k + 1) / 2, 5 + k / 2, STATE_CORE); /* a staircase */
    blob(18, 2, 1, STATE_CORE);
    sample(50);
    REQUIRE(tracker_sample(&other, &f.rep, 50) == RIPEN_OK, "%s", ripen_last_error());
    CHECK(other.nparticles == t.nparticles && other.nevents == t.nevents &&
              !memcmp(other.particles, t.particles, sizeof *t.particles * (size_t)t.nparticles) &&
              !memcmp(other.events, t.events, sizeof *t.events * (size_t)t.nevents),
          "restored tracker differs");
    CHECK(has_event(TRACK_MERGE, 1, 0) && has_event(TRACK_APPEAR, 2, -1), "merge and appear");
    CHECK(tracker_restore(&other, 2, 1, (int32_t[]){f.lat.nsites}, (int32_t[]){0}) != RIPEN_OK,
          "a site out of range is refused");
    CHECK(tracker_restore(&other, 2, 1, (int32_t[]){0}, (int32_t[]){2}) != RIPEN_OK,
          "an id beyond next_id is refused");
    tracker_free(&other);
}

/* ---- brute force on lattices made by a dynamics ---- */

/* Core clusters over the whole lattice: label per site (-1 if not core), sizes. */
static int brute_clusters(const uint8_t *s, int32_t *label, int32_t *size) {
    int32_t *queue = malloc(sizeof *queue * (size_t)f.lat.nsites);
    int n = 0;
    for (int32_t i = 0; i < f.lat.nsites; ++i) label[i] = -1;
    for (int32_t i = 0; i < f.lat.nsites; ++i) {
        if (s[i] != STATE_CORE || label[i] >= 0) continue;
        int64_t head = 0, tail = 0;
        queue[tail++] = i, label[i] = n;
        while (head < tail) {
            const int32_t a = queue[head++];
            for (int d = 0; d < LATTICE_DIRECTIONS; ++d) {
                const int32_t b = lattice_neighbour(&f.lat, a, d);
                if (s[b] == STATE_CORE && label[b] < 0) label[b] = n, queue[tail++] = b;
            }
        }
        size[n++] = (int32_t)tail;
    }
    free(queue);
    return n;
}

/* Distance through shell from the core sites with label `c` to every site (-1: unreached). */
static void brute_shell_distance(const uint8_t *s, const int32_t *label, int c, int32_t *dist) {
    int32_t *queue = malloc(sizeof *queue * (size_t)f.lat.nsites);
    int64_t head = 0, tail = 0;
    for (int32_t i = 0; i < f.lat.nsites; ++i) {
        dist[i] = label[i] == c ? 0 : -1;
        if (!dist[i]) queue[tail++] = i;
    }
    while (head < tail) {
        const int32_t a = queue[head++];
        for (int d = 0; d < LATTICE_DIRECTIONS; ++d) {
            const int32_t b = lattice_neighbour(&f.lat, a, d);
            if (s[b] == STATE_SHELL && dist[b] < 0) dist[b] = dist[a] + 1, queue[tail++] = b;
        }
    }
    free(queue);
}

/* The tracker's particles against the brute force: one particle per cluster of >= min_core
 * sites (same size, same exposed core), shells by nearest distance, tie to the smaller id. */
static void compare_with_brute_force(void) {
    const int32_t n = f.lat.nsites;
    int32_t *label = malloc(sizeof *label * (size_t)n), *size = malloc(sizeof *size * (size_t)n);
    int32_t *dist = malloc(sizeof *dist * (size_t)n), *best = malloc(sizeof *best * (size_t)n);
    int32_t *owner = malloc(sizeof *owner * (size_t)n);
    replica_store_states(&f.rep, f.states);
    const int nclusters = brute_clusters(f.states, label, size);
    int64_t largest = 0, free_core = 0;
    for (int c = 0; c < nclusters; ++c) {
        largest = size[c] > largest ? size[c] : largest;
        free_core += size[c] < t.min_core ? size[c] : 0;
    }
    CHECK(largest == t.totals.largest_cluster && largest == replica_largest_core_cluster(&f.rep, 0),
          "largest cluster %lld vs %lld", (long long)t.totals.largest_cluster, (long long)largest);
    CHECK(free_core == t.totals.free_core, "free core");
    CHECK(t.totals.exposed_core == replica_exposed_core(&f.rep), "exposed core");
    for (int32_t i = 0; i < n; ++i) best[i] = -1, owner[i] = 1 << 30;
    int tracked = 0;
    for (int c = 0; c < nclusters; ++c) {
        if (size[c] < t.min_core) continue;
        ++tracked;
        /* Its particle: the one whose core holds this cluster's first site. */
        int32_t first = 0;
        while (label[first] != c) ++first;
        int32_t id = -1;
        for (int64_t k = 0; k < t.nowned; ++k)
            if (t.owned_site[k] == first) id = t.owned_id[k];
        const track_particle *p = find(id);
        CHECK(p && p->core == size[c], "cluster %d (%d sites) has no particle", c, size[c]);
        if (!p) continue;
        int exposed = 0;
        for (int32_t i = 0; i < n; ++i)
            if (label[i] == c) {
                int open = 0;
                for (int d = 0; d < LATTICE_DIRECTIONS; ++d)
                    open |= f.states[lattice_neighbour(&f.lat, i, d)] == STATE_SOLUTION;
                exposed += open;
            }
        CHECK(p->exposed == exposed, "particle %d exposed %d vs %d", id, p->exposed, exposed);
        brute_shell_distance(f.states, label, c, dist);
        for (int32_t i = 0; i < n; ++i)
            if (f.states[i] == STATE_SHELL && dist[i] > 0 &&
                (best[i] < 0 || dist[i] < best[i] || (dist[i] == best[i] && id < owner[i])))
                best[i] = dist[i], owner[i] = id;
    }
    CHECK(tracked == t.nparticles, "%d particles, brute force %d", t.nparticles, tracked);
    int64_t assigned = 0;
    for (int k = 0; k < t.nparticles; ++k) {
        int32_t shell = 0;
        for (int32_t i = 0; i < n; ++i) shell += best[i] > 0 && owner[i] == t.particles[k].id;
        CHECK(shell == t.particles[k].shell, "particle %d shell %d vs %d", t.particles[k].id,
              t.particles[k].shell, shell);
        assigned += shell;
    }
    CHECK(assigned + t.totals.free_shell == f.rep.counts.nshell, "shell adds up");
    free(label), free(size), free(dist), free(best), free(owner);
}

static void test_against_brute_force(void) {
    fixture_close(&f);
    tracker_free(&t);
    model_params p;
    model_params_default(&p);
    /* Weak bonds near balance, shell a little stable: particles that fluctuate, fragment,
     * merge and grow shell within a few hundred steps. */
    p.eps_core = 1.6, p.eps_shell = 1.2, p.eps_interface = 1.4, p.mu_core = -5.2;
    p.mu_shell = -4.6;
    fixture_open(&f, 18, 16, 3, &p, 11, 0);
    REQUIRE(tracker_init(&t, &f.lat, 3) == RIPEN_OK, "%s", ripen_last_error());
    initial_layout layout = {.gap = 2, .nparticles = 2};
    layout.particles[0] =
        (initial_particle){.x = 4, .y = 4, .core_sites = 21, .shell_thickness = 1};
    layout.particles[1] =
        (initial_particle){.x = 12, .y = 10, .core_sites = 9, .shell_thickness = 0};
    initial_report report;
    REQUIRE(initial_build(f.states, &f.lat, 0, 0, &layout, &report) == RIPEN_OK, "%s",
            ripen_last_error());
    load();
    REQUIRE(tracker_restore(&t, 2, 2, report.particle_site, (int32_t[]){0, 1}) == RIPEN_OK, "%s",
            ripen_last_error());
    REQUIRE(tracker_sample(&t, &f.rep, 0) == RIPEN_OK, "%s", ripen_last_error());
    CHECK(t.nparticles == 2 && find(0)->core == report.particle_core[0] &&
              find(1)->core == report.particle_core[1] &&
              find(0)->shell == report.particle_shell[0],
          "the initial particles");
    dynamics dyn;
    REQUIRE(dynamics_open(&dyn, &dynamics_random_sequential, &f.lat, &f.tab) == RIPEN_OK, "%s",
            ripen_last_error());
    int events = 0;
    for (int k = 1; k <= 60; ++k) {
        dynamics_run(&dyn, &f.rep, 5);
        REQUIRE(tracker_sample(&t, &f.rep, f.rep.step) == RIPEN_OK, "%s", ripen_last_error());
        events += t.nevents;
        for (int a = 0; a + 1 < t.nparticles; ++a)
            CHECK(t.particles[a].id < t.particles[a + 1].id, "particles sorted by id");
        compare_with_brute_force();
    }
    printf("brute force: 60 samples, %d events, %d ids given\n", events, t.next_id);
    CHECK(events > 0, "the test lattice should change its particles");
    dynamics_close(&dyn);
}

int main(void) {
    model_params p;
    model_params_default(&p);
    fixture_open(&f, LX, LY, LZ, &p, 1, 0);
    REQUIRE(tracker_init(&t, &f.lat, 2) == RIPEN_OK, "%s", ripen_last_error());
    test_two_particles();
    test_merge();
    test_split();
    test_vanish_and_appear();
    test_periodic();
    test_move_by_a_site();
    test_shell_rule();
    test_restore();
    test_against_brute_force();
    tracker_free(&t);
    fixture_close(&f);
    return check_exit("test_tracking");
}
