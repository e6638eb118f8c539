/* Checkerboard colour classes: on the actual classes of several lattices (80x80x4, odd sizes,
 * tiny multigraphs), no two moves of one class can interact.
 *
 * A move at site i is an insertion/deletion at i or a swap of i with any neighbour j. It reads
 * the states of N[i] and N[j] (the kernel reads the codes of i and j, which summarise their
 * neighbourhoods) and writes the states of i and j. So, over all the moves possible at i,
 *     writes(i) = N[i],   reads(i) = union of N[j] over j in N[i]      (N[.] = closed)
 * Two moves interact if one writes what the other reads or writes. The test builds these sets
 * from the neighbour table, independently of how the classes were made, and checks every class.
 * It also runs one class update in two opposite orders and checks the results are identical. */
#include "attempt.h"
#include "fixture.h"
#include "ripen/engine/colouring.h"

static void closed_neighbourhood(const lattice *lat, int32_t i, int32_t out[9]) {
    out[0] = i;
    for (int d = 0; d < LATTICE_DIRECTIONS; ++d) out[d + 1] = lattice_neighbour(lat, i, d);
}

/* Returns the number of interacting pairs found in the classes of `lat`. */
static long count_conflicts(const lattice *lat, const colouring *c) {
    int32_t *writer = malloc(sizeof *writer * (size_t)lat->nsites);
    REQUIRE(writer != NULL, "out of memory");
    long conflicts = 0;
    for (int k = 0; k < c->nclasses; ++k) {
        for (int32_t s = 0; s < lat->nsites; ++s) writer[s] = -1;
        /* Writes: no site may be written by two members. */
        for (int32_t p = c->start[k]; p < c->start[k + 1]; ++p) {
            int32_t w[9];
            closed_neighbourhood(lat, c->sites[p], w);
            for (int a = 0; a < 9; ++a) {
                if (writer[w[a]] >= 0 && writer[w[a]] != c->sites[p]) ++conflicts;
                writer[w[a]] = c->sites[p];
            }
        }
        /* Reads: no member may read what another member writes. */
        for (int32_t p = c->start[k]; p < c->start[k + 1]; ++p) {
            int32_t w[9];
            closed_neighbourhood(lat, c->sites[p], w);
            for (int a = 0; a < 9; ++a) {
                int32_t r[9];
                closed_neighbourhood(lat, w[a], r);
                for (int b = 0; b < 9; ++b)
                    if (writer[r[b]] >= 0 && writer[r[b]] != c->sites[p]) ++conflicts;
            }
        }
    }
    free(writer);
    return conflicts;
}

static void check_classes(int lx, int ly, int lz) {
    lattice lat;
    REQUIRE(lattice_init(&lat, lx, ly, lz) == RIPEN_OK, "%s", ripen_last_error());
    colouring c;
    REQUIRE(colouring_build(&c, &lat, COLOURING_SEPARATION) == RIPEN_OK, "%s", ripen_last_error());
    /* A partition: every site in exactly one class, and its recorded colour is that class. */
    char *seen = calloc((size_t)lat.nsites, 1);
    for (int k = 0; k < c.nclasses; ++k) {
        CHECK(c.start[k + 1] > c.start[k], "class %d of %dx%dx%d is empty", k, lx, ly, lz);
        for (int32_t p = c.start[k]; p < c.start[k + 1]; ++p) {
            seen[c.sites[p]]++;
            CHECK(c.colour[c.sites[p]] == k, "colour of site %d", c.sites[p]);
        }
    }
    for (int32_t i = 0; i < lat.nsites; ++i)
        CHECK(seen[i] == 1, "site %d in %d classes", i, seen[i]);
    free(seen);
    const long conflicts = count_conflicts(&lat, &c);
    CHECK(conflicts == 0, "%ld interacting pairs in the classes of %dx%dx%d", conflicts, lx, ly,
          lz);
    printf("%dx%dx%d: %d classes, no interacting pairs: %s\n", lx, ly, lz, c.nclasses,
           conflicts ? "FAILED" : "ok");
    colouring_free(&c);
    lattice_free(&lat);
}

/* The test has teeth: a colouring with separation 3 must be caught. */
static void check_detects_bad_classes(void) {
    lattice lat;
    REQUIRE(lattice_init(&lat, 12, 12, 6) == RIPEN_OK, "%s", ripen_last_error());
    colouring c;
    REQUIRE(colouring_build(&c, &lat, 3) == RIPEN_OK, "%s", ripen_last_error());
    CHECK(count_conflicts(&lat, &c) > 0, "separation-3 classes passed the conflict test");
    colouring_free(&c);
    lattice_free(&lat);
}

/* Every class updated forwards and backwards from the same configuration, with lively
 * parameters and many swaps, gives the same configuration. */
static void check_order_independence(int lx, int ly, int lz) {
    model_params p;
    model_params_default(&p);
    p.eps_core = 1.0, p.eps_shell = 0.7, p.eps_interface = 0.5;
    p.mu_core = -2.0, p.mu_shell = -1.5, p.p_swap = 0.5, p.moves = MOVES_IDENTITY;
    fixture a, b;
    fixture_open(&a, lx, ly, lz, &p, 11, 0);
    fixture_open(&b, lx, ly, lz, &p, 11, 0);
    colouring c;
    REQUIRE(colouring_build(&c, &a.lat, COLOURING_SEPARATION) == RIPEN_OK, "%s",
            ripen_last_error());
    philox_stream s;
    philox_stream_init(&s, philox_key_from_seed(5), 0, 0, PURPOSE_TEST);
    for (int32_t i = 0; i < a.lat.nsites; ++i) a.states[i] = (uint8_t)(philox_stream_next(&s) % 3);
    REQUIRE(replica_load_states(&a.rep, a.states) == RIPEN_OK, "%s", ripen_last_error());
    REQUIRE(replica_load_states(&b.rep, a.states) == RIPEN_OK, "%s", ripen_last_error());
    long changed = 0;
    for (int step = 0; step < 20; ++step)
        for (int k = 0; k < c.nclasses; ++k) {
            const int32_t first = c.start[k], last = c.start[k + 1] - 1;
            for (int32_t q = 0; q <= last - first; ++q) {
                const int32_t i = c.sites[first + q], j = c.sites[last - q];
                const uint64_t n = (uint64_t)a.lat.nsites * (uint64_t)step;
                const philox_block wi = attempt_random(&a.rep, n + (uint64_t)i);
                const philox_block wj = attempt_random(&b.rep, n + (uint64_t)j);
                const uint8_t before = a.rep.site[i];
                attempt_at(&a.rep, i, wi.v[1], attempt_accept_bits(wi), 0);
                attempt_at(&b.rep, j, wj.v[1], attempt_accept_bits(wj), 0);
                changed += site_state(before) != site_state(a.rep.site[i]);
            }
            CHECK(memcmp(a.rep.site, b.rep.site, (size_t)a.lat.nsites) == 0,
                  "class %d: forward and backward orders differ", k);
        }
    CHECK(changed > a.lat.nsites, "too few moves accepted (%ld) for the test to mean much",
          changed);
    colouring_free(&c);
    fixture_close(&a);
    fixture_close(&b);
}

int main(void) {
    check_classes(80, 80, 4);
    check_classes(7, 5, 3);
    check_classes(3, 3, 3);
    check_classes(11, 13, 5);
    check_classes(9, 10, 8);
    check_classes(12, 12, 4);
    check_classes(2, 2, 2);
    check_classes(3, 2, 2);
    check_detects_bad_classes();
    check_order_independence(12, 12, 4);
    check_order_independence(11, 13, 5);
    return check_exit("test_colouring");
}
