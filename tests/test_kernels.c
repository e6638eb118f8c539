/* The fast kernels give the simple kernels' trajectories bit for bit.
 *
 *  1. Batched Philox: every implementation this CPU runs (AVX-512, AVX2, portable) equals the
 *     scalar philox4x32_10() block for block, for every batch length 1..64, consecutive and
 *     scattered counters, and counters whose low word wraps inside a batch.
 *  2. The early-reject filters are exact. Random-sequential's: w3 > attempt_filter_bound(T)
 *     implies the 63 acceptance bits are >= T, on the boundary cases and on random ones.
 *     Checkerboard's (the packed protocol): for every code and pick, on tables with p_swap 0,
 *     0.3 and 1, paper and lively parameters, a finite solution, and u at, below and above both
 *     band edges (and random), an attempt metropolis_packed_candidate() calls rejected is
 *     rejected by the full 63-bit comparison with the extension bits all zeros or all ones, and
 *     a rejected swap is one the code proves null.
 *     Every vector filter (AVX-512, AVX2, portable) gives metropolis_packed_candidate()'s answer
 *     for every site of random chunks.
 *  3. random-sequential (batched, filtered) == dynamics_reference (energies recomputed from the
 *     neighbours' states, exp() per attempt), and checkerboard (batched) == the straightforward
 *     checkerboard loop written out below from attempt.h (one scalar block per attempt, its
 *     packed word, attempt_packed_at): same codes of every site, same counts,
 *     same areas at every checkpoint, on paper and lively parameters, several readings, with
 *     swaps, with and without hard walls (an umbrella window, a shell band, both), on lattices
 *     from 2x2x2 to 80x80x4, each case >= 10^6 attempts. The paper-size case also counts its
 *     attempts whose site draw needs Lemire's extra words (about 6 per 10^6 attempts at 25600
 *     sites), so that path is run.
 *  4. checkerboard with 2 and 3 threads equals 1 thread; thread counts out of [1, 1024] are
 *     refused by every dynamics.
 * Set RIPEN_PHILOX=avx2 (or portable) to run 3 on another Philox implementation, RIPEN_FILTER
 * likewise for the vector filter. */
#include "attempt.h"
#include "fixture.h"
#include "kernel_metropolis.h"
#include "kernel_philox.h"
#include "plain_checkerboard.h"
#include "readings.h"
#include "ripen/engine/colouring.h"

/* ---- parameters shared by the checks ---- */

enum { WALL_WINDOW = 1, WALL_BAND = 2, FINITE_CORE = 1, FINITE_SHELL = 2 };

/* A finite solution of `finite` on the fixture's tables: 10 units of each component named, its
 * reference content 8, totals from the replica's counts. */
static void set_finite(fixture *f, int finite) {
    reservoir res = reservoir_none();
    if (finite & FINITE_CORE) res.core = (reservoir_component){f->rep.counts.ncore + 10, 8.0};
    if (finite & FINITE_SHELL) res.shell = (reservoir_component){f->rep.counts.nshell + 10, 8.0};
    model_tables_use_reservoir(&f->tab, &res);
}

static void lively_params(model_params *p) {
    p->eps_core = 1.0, p->eps_shell = 0.7, p->eps_interface = 0.5;
    p->mu_core = -2.5, p->mu_shell = -2.0, p->p_swap = 0.3;
}

/* ---- 1. batched Philox ---- */

static void check_philox_impl(const philox_batch_impl *impl) {
    int32_t scattered[PHILOX_BATCH];
    philox_stream s;
    philox_stream_init(&s, philox_key_from_seed(3), 0, 0, PURPOSE_TEST);
    for (int j = 0; j < PHILOX_BATCH; ++j) scattered[j] = (int32_t)(philox_stream_next(&s) >> 4);
    const uint64_t bases[] = {0, 12345, UINT64_C(0xFFFFFFFF) - 40, UINT64_C(0x7FFFFFFFFFFFFF00)};
    const philox_key keys[] = {philox_key_from_seed(0), philox_key_from_seed(0xFEEDFACECAFEBEEF)};
    long mismatches = 0, blocks = 0;
    for (int kk = 0; kk < 2; ++kk)
        for (int bb = 0; bb < 4; ++bb)
            for (int use = 0; use < 2; ++use)
                for (int count = 1; count <= PHILOX_BATCH; ++count) {
                    philox_batch out;
                    memset(&out, 0xA5, sizeof out);
                    const int32_t *offset = use ? scattered : NULL;
                    const uint32_t task = 77u * (uint32_t)count, purpose = (uint32_t)bb;
                    impl->fill(&out, keys[kk], bases[bb], offset, count, task, purpose);
                    for (int j = 0; j < count; ++j, ++blocks) {
                        const uint64_t index = bases[bb] + (uint64_t)(offset ? offset[j] : j);
                        const philox_block want =
                            philox4x32_10(philox_counter(index, task, purpose), keys[kk]);
                        for (int w = 0; w < 4; ++w) mismatches += out.w[w][j] != want.v[w];
                    }
                }
    CHECK(mismatches == 0, "philox %s: %ld words differ from philox4x32_10", impl->name,
          mismatches);
    printf("philox %-9s %ld blocks equal to the scalar generator\n", impl->name, blocks);
}

static void check_philox(void) {
    int tested = 0;
    for (int k = 0; k < philox_batch_impl_count; ++k)
        if (philox_batch_impls[k].supported())
            check_philox_impl(&philox_batch_impls[k]), ++tested;
        else
            printf("philox %-9s not supported by this CPU: not tested\n",
                   philox_batch_impls[k].name);
    CHECK(tested >= 1, "no Philox implementation tested");
    printf("kernels use philox %s\n", philox_batch_choose()->name);
}

/* ---- 2. the filter ---- */

static void check_filter(void) {
    const uint64_t edges[] = {0,
                              1,
                              (UINT64_C(1) << 31) - 1,
                              UINT64_C(1) << 31,
                              (UINT64_C(1) << 31) + 1,
                              UINT64_C(0x123456789ABCDEF),
                              (UINT64_C(1) << 63) - 1,
                              UINT64_C(1) << 63};
    philox_stream s;
    philox_stream_init(&s, philox_key_from_seed(9), 0, 0, PURPOSE_TEST);
    long wrong = 0, filtered = 0, trials = 0;
    for (int t = 0; t < 8 + 20000; ++t) {
        const uint64_t threshold =
            t < 8 ? edges[t]
                  : ((uint64_t)philox_stream_next(&s) << 32 | philox_stream_next(&s)) >> 1;
        const uint32_t bound = attempt_filter_bound(threshold);
        /* w3 at and around the bound, plus random words; w2 at its extremes. */
        const uint32_t w3s[] = {bound, bound + 1u, bound - 1u,
                                0,     UINT32_MAX, philox_stream_next(&s)};
        const uint32_t w2s[] = {0, UINT32_MAX, philox_stream_next(&s)};
        for (int a = 0; a < 6; ++a)
            for (int b = 0; b < 3; ++b, ++trials) {
                const philox_block w = {{0, 0, w2s[b], w3s[a]}};
                const int accepted = attempt_accept_bits(w) < threshold;
                const int surely_rejected = w3s[a] > bound;
                filtered += surely_rejected;
                wrong += surely_rejected && accepted;
            }
    }
    CHECK(wrong == 0, "the filter rejected %ld accepted attempts", wrong);
    CHECK(filtered > trials / 4, "the filter almost never filters (%ld of %ld)", filtered, trials);
    printf("filter: %ld cases, %ld filtered out, none wrongly\n", trials, filtered);
}

/* ---- 2a. the packed filter's band edges ---- */

/* 1 if the code of a site proves that every neighbour a swap along `pick` can reach holds the
 * site's state (bonded direction, all bonded neighbours in its state): the only swaps the packed
 * filter may call rejected. */
static int swap_proved_null(const model_tables *t, uint8_t code, unsigned pick) {
    const int core = site_core_neighbours(code), shell = site_shell_neighbours(code);
    const int same = site_state(code) == STATE_CORE    ? core
                     : site_state(code) == STATE_SHELL ? shell
                                                       : t->bond_directions - core - shell;
    return (int)pick < t->bond_directions && same == t->bond_directions;
}

/* The packed filter on the tables `t`: every code, every pick, u at and around the edges of
 * both bands. Adds to *wrong the attempts it calls rejected that the 63-bit comparison (ext all
 * zeros, all ones) accepts, to *filtered those it calls rejected, to *trials all. */
static void check_packed_edges(const model_tables *t, long *wrong, long *filtered, long *trials) {
    metropolis_fast fast;
    metropolis_fast_init(&fast, t);
    const uint32_t st = t->swap_threshold;
    philox_stream s;
    philox_stream_init(&s, philox_key_from_seed(41), st, 0, PURPOSE_TEST);
    for (int c = 0; c < SITE_CODES; ++c)
        for (unsigned pick = 0; pick < METROPOLIS_SLOTS; ++pick) {
            const uint8_t code = (uint8_t)c;
            const int b = t->insdel_target[site_state(code)][pick];
            const uint64_t limit = attempt_scaled(t->accept[code][b], ATTEMPT_UNITS - st);
            const uint32_t edge = st + (uint32_t)(limit >> ATTEMPT_EXT_BITS);
            const uint32_t around[] = {0, st, edge, ATTEMPT_SWAP_MASK, philox_stream_next(&s)};
            for (int e = 0; e < 5; ++e)
                for (int d = -2; d <= 2; ++d) {
                    const uint32_t u = (around[e] + (uint32_t)d) & ATTEMPT_SWAP_MASK;
                    const uint32_t word = pick << ATTEMPT_PICK_SHIFT | u;
                    const int candidate = metropolis_packed_candidate(&fast, st, code, word);
                    for (uint64_t ext = 0; ext < 2; ++ext, ++*trials) {
                        const uint64_t low = ext ? (UINT64_C(1) << ATTEMPT_EXT_BITS) - 1 : 0;
                        /* u < st: a swap, its acceptance up to the neighbour: it may accept
                         * unless the code proves it null */
                        const int may_accept =
                            u < st ? !swap_proved_null(t, code, pick)
                                   : ((uint64_t)(u - st) << ATTEMPT_EXT_BITS | low) < limit;
                        *filtered += !candidate;
                        *wrong += !candidate && may_accept;
                    }
                }
        }
}

static void check_packed_filter(void) {
    long wrong = 0, filtered = 0, trials = 0;
    const double p_swaps[] = {0.0, 0.3, 1.0};
    for (int lively = 0; lively < 2; ++lively)
        for (int k = 0; k < 3; ++k)
            for (int finite = 0; finite < 2; ++finite) {
                model_params p;
                model_params_default(&p);
                reading_apply(&all_readings[0], &p);
                if (lively) lively_params(&p);
                p.p_swap = p_swaps[k];
                fixture f;
                fixture_open(&f, 8, 8, 4, &p, 1, 0);
                set_finite(&f, finite ? FINITE_CORE | FINITE_SHELL : 0);
                check_packed_edges(&f.tab, &wrong, &filtered, &trials);
                fixture_close(&f);
            }
    CHECK(wrong == 0, "the packed filter rejected %ld attempts that may be accepted", wrong);
    CHECK(filtered > trials / 4 && filtered < trials - trials / 4,
          "the packed filter filters %ld of %ld: a weak test", filtered, trials);
    printf("packed filter: %ld edge cases, %ld filtered out, none wrongly\n", trials, filtered);
}

/* ---- 2b. the vector filter ---- */

/* Every vector filter (kernel_metropolis.c) against metropolis_packed_candidate(), site by site:
 * random codes (each state and neighbour count), sites in increasing order ending at the
 * lattice's last site (the loads read into the padding) or starting at one of its first three,
 * with random gaps or runs 4 apart (the AVX-512 filter loads those), every count 1..64, the
 * chunk at each of a batch's four places, random words (about half the sites are candidates). */
static void check_masks(void) {
    model_params p;
    model_params_default(&p);
    p.eps_core = 1.0, p.eps_shell = 0.7, p.eps_interface = 0.5;
    p.mu_core = -2.5, p.mu_shell = -2.0, p.p_swap = 0.3;
    fixture f;
    fixture_open(&f, 20, 20, 4, &p, 1, 0);
    metropolis_fast fast;
    metropolis_fast_init(&fast, &f.tab);
    philox_stream s;
    philox_stream_init(&s, philox_key_from_seed(23), 0, 0, PURPOSE_TEST);
    const int32_t n = f.lat.nsites;
    for (int32_t i = 0; i < n; ++i) f.rep.site[i] = (uint8_t)(philox_stream_next(&s) % SITE_CODES);
    int32_t sites[PHILOX_BATCH];
    philox_batch b;
    for (int k = 0; k < metropolis_mask_impl_count; ++k) {
        const metropolis_mask_impl *impl = &metropolis_mask_impls[k];
        if (!impl->supported()) continue;
        long wrong = 0, candidates = 0, tested = 0;
        for (int round = 0; round < 200; ++round)
            for (int count = 1; count <= PHILOX_BATCH; ++count) {
                /* random gaps of 1..5, or (odd rounds) mostly 4: the runs a class has */
                const uint32_t run = round % 2 ? 8 : 0;
                int32_t at = n; /* sites downwards from the last ... */
                for (int j = count - 1; j >= 0; --j) {
                    const uint32_t x = philox_stream_next(&s) % (5 + run);
                    sites[j] = at = at - (x < 5 ? 1 + (int32_t)x : 4);
                }
                if (round % 4 == 3) /* ... or upwards from the first, runs reaching site 0 */
                    for (int j = 0; j < count; ++j) sites[j] -= sites[0] - (round / 4) % 3;
                for (int w = 0; w < 4; ++w)
                    for (int j = 0; j < PHILOX_BATCH; ++j) b.w[w][j] = philox_stream_next(&s);
                const int block = ATTEMPT_CHUNK_BLOCKS * (int)(philox_stream_next(&s) % 4);
                const uint64_t mask =
                    impl->mask(&fast, f.tab.swap_threshold, f.rep.site, sites, &b, block, count);
                for (int j = 0; j < PHILOX_BATCH; ++j) {
                    const unsigned want =
                        j < count && metropolis_packed_candidate(&fast, f.tab.swap_threshold,
                                                                 f.rep.site[sites[j]],
                                                                 b.w[j / 16][block + j % 16]);
                    wrong += ((mask >> j) & 1) != want;
                    candidates += want;
                }
                tested += count;
            }
        CHECK(wrong == 0, "vector filter %s: %ld of %ld sites wrong", impl->name, wrong, tested);
        CHECK(candidates > tested / 8 && candidates < tested - tested / 8,
              "vector filter %s: %ld candidates of %ld sites: a weak test", impl->name, candidates,
              tested);
        printf("filter %-9s %ld sites (%ld candidates) equal to metropolis_packed_candidate\n",
               impl->name, tested, candidates);
    }
    fixture_close(&f);
}

/* ---- 3. trajectories ---- */

/* Attempts in steps [from, from + steps) whose site draw may need Lemire's extra words. */
static long count_redraws(const replica *r, uint64_t from, uint64_t steps) {
    const uint64_t n = (uint64_t)r->lat->nsites;
    long redraws = 0;
    for (uint64_t a = from * n; a < (from + steps) * n; ++a)
        redraws += (uint32_t)((uint64_t)attempt_random(r, a).v[0] * n) < n;
    return redraws;
}

typedef struct {
    int lx, ly, lz;
    const reading *rd;
    int lively;
    int walls; /* WALL_WINDOW (N_core within +-3 of its start) | WALL_BAND (N_shell likewise) */
    uint64_t attempts;
    int finite; /* a finite solution: FINITE_CORE (10 units), | FINITE_SHELL (10 units) */
} kernel_case;

/* The hard walls of `walls` around the replica's current counts. */
static void set_walls(replica *r, int walls, int64_t reach) {
    const int64_t nc = r->counts.ncore, ns = r->counts.nshell;
    if (walls & WALL_WINDOW)
        REQUIRE(replica_set_window(r, nc > reach ? nc - reach : 0, nc + reach) == RIPEN_OK, "%s",
                ripen_last_error());
    if (walls & WALL_BAND)
        REQUIRE(replica_set_shell_band(r, ns > reach ? ns - reach : 0, ns + reach) == RIPEN_OK,
                "%s", ripen_last_error());
}

static const char *walls_name(int walls) {
    static const char *const names[] = {"", "window", "band", "both"};
    return names[walls & 3];
}

/* The same initial state in both: a prism where one fits, else random states. */
static void load_initial(fixture *a, fixture *b, int lively) {
    initial_report report;
    const int64_t core = a->lat.lx >= 20 ? 200 : 12;
    const int prism = a->lat.lx >= 8 && a->lat.ly >= 8 &&
                      initial_prism(a->states, &a->lat, core, 2, &report) == RIPEN_OK;
    if (!prism) {
        philox_stream s;
        philox_stream_init(&s, philox_key_from_seed(17), (uint64_t)a->lat.nsites, 0, PURPOSE_TEST);
        for (int32_t i = 0; i < a->lat.nsites; ++i)
            a->states[i] = (uint8_t)(philox_stream_next(&s) % (lively ? 3 : 2));
    }
    REQUIRE(replica_load_states(&a->rep, a->states) == RIPEN_OK, "%s", ripen_last_error());
    REQUIRE(replica_load_states(&b->rep, a->states) == RIPEN_OK, "%s", ripen_last_error());
}

static int same_replica(const replica *x, const replica *y) {
    const lattice *lat = x->lat;
    return x->step == y->step && memcmp(x->site, y->site, (size_t)lat->nsites) == 0 &&
           memcmp(&x->counts, &y->counts, sizeof x->counts) == 0 && x->area_core == y->area_core &&
           x->area_shell == y->area_shell &&
           memcmp(x->column_core, y->column_core, sizeof *x->column_core * lat->ncolumns) == 0 &&
           memcmp(x->column_shell, y->column_shell, sizeof *x->column_shell * lat->ncolumns) == 0;
}

/* fast_rs: random-sequential against the reference; else checkerboard against the plain loop. */
static void compare_case(const kernel_case *kc, int fast_rs) {
    model_params p;
    model_params_default(&p);
    reading_apply(kc->rd, &p);
    if (kc->lively) lively_params(&p);
    const uint64_t seed = 0x5EED0000u + (uint64_t)kc->lx * 100 + (uint64_t)kc->lz;
    fixture fast, slow;
    fixture_open(&fast, kc->lx, kc->ly, kc->lz, &p, seed, 3);
    fixture_open(&slow, kc->lx, kc->ly, kc->lz, &p, seed, 3);
    load_initial(&fast, &slow, kc->lively);
    set_walls(&fast.rep, kc->walls, 3);
    set_walls(&slow.rep, kc->walls, 3);
    set_finite(&fast, kc->finite);
    set_finite(&slow, kc->finite);
    dynamics d, oracle;
    REQUIRE(dynamics_open(&d, fast_rs ? &dynamics_random_sequential : &dynamics_checkerboard,
                          &fast.lat, &fast.tab) == RIPEN_OK,
            "%s", ripen_last_error());
    REQUIRE(dynamics_open(&oracle, &dynamics_reference, &slow.lat, &slow.tab) == RIPEN_OK, "%s",
            ripen_last_error());

    const uint64_t n = (uint64_t)fast.lat.nsites;
    const uint64_t steps = (kc->attempts + n - 1) / n;
    const int checkpoints = 10;
    long changes = 0, redraws = 0; /* changes: sites whose state differs between checkpoints */
    int first_difference = -1;
    replica_store_states(&fast.rep, fast.states);
    for (int k = 0; k < checkpoints; ++k) {
        const uint64_t chunk = steps / checkpoints + (k < (int)(steps % checkpoints));
        if (fast_rs && n >= 10000) redraws += count_redraws(&fast.rep, fast.rep.step, chunk);
        dynamics_run(&d, &fast.rep, chunk);
        if (fast_rs)
            dynamics_run(&oracle, &slow.rep, chunk);
        else
            plain_checkerboard(&slow.rep, chunk);
        if (first_difference < 0 && !same_replica(&fast.rep, &slow.rep)) first_difference = k;
        for (int32_t i = 0; i < fast.lat.nsites; ++i) {
            const uint8_t now = (uint8_t)site_state(fast.rep.site[i]);
            changes += now != fast.states[i];
            fast.states[i] = now;
        }
    }
    const char *what = fast_rs ? "random-sequential vs reference" : "checkerboard vs plain loop";
    CHECK(first_difference < 0,
          "%s, %s, %s %s%s on %dx%dx%d: trajectories part before checkpoint %d", what, kc->rd->name,
          kc->lively ? "lively" : "paper", walls_name(kc->walls), kc->finite ? " finite" : "",
          kc->lx, kc->ly, kc->lz, first_difference);
    CHECK(replica_check(&fast.rep) == RIPEN_OK, "%s: %s", what, ripen_last_error());
    CHECK(steps * n >= 1000000, "only %llu attempts", (unsigned long long)(steps * n));
    if (kc->lively)
        CHECK(changes > (fast.lat.nsites < 100 ? fast.lat.nsites : 100),
              "%s, %s: too little activity (%ld)", what, kc->rd->name, changes);
    if (fast_rs && n >= 10000)
        CHECK(redraws > 0, "no attempt needed Lemire's extra words: that path went untested");
    printf("%-31s %-34s %-6s %-6s %2dx%2dx%d: %8llu attempts, equal at %d checkpoints "
           "(%ld site changes seen)\n",
           what, kc->rd->name, kc->lively ? "lively" : "paper",
           kc->finite ? "finite" : walls_name(kc->walls), kc->lx, kc->ly, kc->lz,
           (unsigned long long)(steps * n), checkpoints, changes);
    if (fast_rs && n >= 10000) printf("  (%ld attempts took the site-redraw path)\n", redraws);
    dynamics_close(&d);
    dynamics_close(&oracle);
    fixture_close(&fast);
    fixture_close(&slow);
}

/* ---- 4. threads ---- */

/* Checkerboard with 2 and 3 threads equals 1 thread at 10 checkpoints (a lively 80x80x4 and a
 * 64x64x3 lattice with an umbrella window and a shell band, then with a finite solution, whose
 * classes are big enough for the threads to be used). */
static void check_threads(int lx, int ly, int lz, int walls, int finite, uint64_t steps) {
    model_params p;
    model_params_default(&p);
    lively_params(&p);
    fixture f[3];
    dynamics d[3];
    const int threads[3] = {1, 2, 3};
    for (int t = 0; t < 3; ++t) {
        fixture_open(&f[t], lx, ly, lz, &p, 99, 5);
        fixture_prism(&f[t], 12, 2);
        set_walls(&f[t].rep, walls, 2);
        set_finite(&f[t], finite);
        REQUIRE(dynamics_open(&d[t], &dynamics_checkerboard, &f[t].lat, &f[t].tab) == RIPEN_OK,
                "%s", ripen_last_error());
        REQUIRE(dynamics_set_threads(&d[t], threads[t]) == RIPEN_OK, "%s", ripen_last_error());
    }
    int differ = 0;
    for (int k = 0; k < 10; ++k)
        for (int t = 0; t < 3; ++t) {
            dynamics_run(&d[t], &f[t].rep, steps / 10);
            if (t > 0 && !same_replica(&f[0].rep, &f[t].rep)) differ |= 1 << t;
        }
    CHECK(differ == 0, "checkerboard %dx%dx%d: threads change the trajectory (mask %d)", lx, ly, lz,
          differ);
    CHECK(replica_check(&f[2].rep) == RIPEN_OK, "%s", ripen_last_error());
    CHECK(f[0].rep.changes > 1000, "too few moves (%llu)", (unsigned long long)f[0].rep.changes);
    printf("checkerboard %dx%dx%d %s%s: 1, 2 and 3 threads equal at 10 checkpoints (%llu "
           "changes)\n",
           lx, ly, lz, walls_name(walls), finite ? "finite" : "",
           (unsigned long long)f[0].rep.changes);
    for (int t = 0; t < 3; ++t) {
        dynamics_close(&d[t]);
        fixture_close(&f[t]);
    }
}

static void check_thread_limits(void) {
    fixture f;
    model_params p;
    model_params_default(&p);
    fixture_open(&f, 8, 8, 4, &p, 1, 0);
    for (int k = 0; k < dynamics_count; ++k) {
        dynamics d;
        REQUIRE(dynamics_open(&d, dynamics_all[k], &f.lat, &f.tab) == RIPEN_OK, "%s",
                ripen_last_error());
        CHECK(dynamics_set_threads(&d, 0) == RIPEN_EINVAL, "%s: 0 threads accepted",
              dynamics_all[k]->name);
        CHECK(dynamics_set_threads(&d, -3) == RIPEN_EINVAL, "%s: -3 threads accepted",
              dynamics_all[k]->name);
        CHECK(dynamics_set_threads(&d, DYNAMICS_MAX_THREADS + 1) == RIPEN_EINVAL,
              "%s: too many threads accepted", dynamics_all[k]->name);
        CHECK(dynamics_set_threads(&d, 1) == RIPEN_OK, "%s", ripen_last_error());
        dynamics_close(&d);
    }
    fixture_close(&f);
}

int main(void) {
    check_philox();
    check_filter();
    check_packed_filter();
    check_masks();
    check_thread_limits();
    check_threads(80, 80, 4, 0, 0, 12); /* 400-site classes, 7 chunks: parallel on 2 and 3 */
    /* 256-site classes: parallel on 2 threads, with a window and a band, or a finite solution */
    check_threads(64, 64, 3, WALL_WINDOW | WALL_BAND, 0, 60);
    check_threads(64, 64, 3, 0, FINITE_CORE | FINITE_SHELL, 60);
    const reading *standard = &all_readings[0];
    const kernel_case cases[] = {
        {80, 80, 4, standard, 0, 0, 4000000, 0},
        {80, 80, 4, standard, 1, 0, 1000000, 0},
        {12, 12, 4, standard, 0, 0, 1000000, 0},
        {7, 5, 3, standard, 1, 0, 1000000, 0},
        {11, 13, 5, standard, 1, 1, 1000000, 0},
        {2, 2, 2, standard, 1, 0, 1000000, 0},
        {3, 2, 2, standard, 1, 1, 1000000, 0},
        {3, 2, 2, standard, 1, WALL_BAND, 1000000, 0},
        /* shell <-> core in place moves both counts against both walls */
        {11, 13, 5, &all_readings[2], 1, WALL_WINDOW | WALL_BAND, 1000000, 0},
        /* finite solutions: the filter on bounds, the content deciding; both reservoirs with
         * identity moves; the paper's parameters (a reservoir smaller than the particle) */
        {9, 7, 3, standard, 1, 0, 1000000, FINITE_CORE},
        {9, 7, 3, &all_readings[2], 1, WALL_BAND, 1000000, FINITE_CORE | FINITE_SHELL},
        {12, 12, 4, standard, 0, 0, 1000000, FINITE_CORE | FINITE_SHELL},
    };
    for (int fast_rs = 1; fast_rs >= 0; --fast_rs) {
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; ++k)
            compare_case(&cases[k], fast_rs);
        /* Every reading, on a mid-size odd lattice, lively and paper parameters. */
        for (int r = 1; r < READING_COUNT; ++r) {
            const kernel_case lively = {9, 7, 3, &all_readings[r], 1, r % 3 == 0, 1000000, 0};
            compare_case(&lively, fast_rs);
        }
        const kernel_case paper = {12, 12, 4, &all_readings[2], 0, 0, 1000000, 0};
        compare_case(&paper, fast_rs);
    }
    return check_exit("test_kernels");
}
