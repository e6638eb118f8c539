/* Move patches (src/engine/patch.h) against a breadth-first search on the neighbour table: around
 * every site of lattices from 2x2x2 (every axis wraps onto itself) to the paper's 80x80x4, for the
 * one-site patch and the pair along every direction, with the AVX-512 placement (when the CPU has
 * it) and the portable one, the placed patch must list
 *   [0, moved)       the moved sites, c then its neighbour along d,
 *   [moved, coded)   the other sites at distance 1 from them,
 *   [coded, rated)   those at distance 2,
 *   [rated, sites)   those at distance 3,
 * each site once, with its code read from the code array, the neighbour positions of every rated
 * position naming its neighbours in direction order, and the `touches` bits naming exactly its
 * neighbours in [moved, coded). The rejection-free dynamics reads nothing else of a move's
 * surroundings, so these are the properties its exactness rests on. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "patch.h"
#include "ripen/engine/error.h"
#include "ripen/engine/lattice.h"

#include <stdint.h>
#include <string.h>

enum { MAX_DISTANCE = 3 };

/* dist[s]: graph distance of site s from the moved sites, -1 beyond MAX_DISTANCE. `touched` lists
 * the sites it set, so that resetting them costs the patch, not the lattice. */
typedef struct {
    int8_t *dist;
    int32_t touched[4 * PATCH_SITES_MAX];
    int ntouched;
} ball;

static void ball_add(ball *b, int32_t s, int distance) {
    if (b->dist[s] >= 0) return;
    b->dist[s] = (int8_t)distance;
    b->touched[b->ntouched++] = s;
}

static void ball_grow(ball *b, const lattice *lat, const int32_t *moved, int nmoved) {
    for (int k = 0; k < nmoved; ++k) ball_add(b, moved[k], 0);
    for (int distance = 1, from = 0; distance <= MAX_DISTANCE; ++distance) {
        const int to = b->ntouched;
        for (int k = from; k < to; ++k)
            for (int d = 0; d < LATTICE_DIRECTIONS; ++d)
                ball_add(b, lattice_neighbour(lat, b->touched[k], d), distance);
        from = to;
    }
}

static void ball_clear(ball *b) {
    for (int k = 0; k < b->ntouched; ++k) b->dist[b->touched[k]] = -1;
    b->ntouched = 0;
}

/* The distance the positions [first, last) of patch p must have: 0, 1, 2 or 3. */
static int range_distance(const patch *p, int q) {
    return q < p->moved ? 0 : q < p->coded ? 1 : q < p->rated ? 2 : 3;
}

/* One placed patch against the ball around its moved sites; returns the failures. */
static int check_placed(const patch_set *ps, const patch *p, const lattice *lat,
                        const uint8_t *codes, const int32_t *moved, int nmoved, ball *b,
                        uint8_t *seen) {
    int32_t site[PATCH_SITES_MAX];
    uint8_t code[PATCH_SITES_MAX];
    ps->place(ps, p, moved[0], codes, p->sites, site, code);
    ball_grow(b, lat, moved, nmoved);
    int failures = 0;
    if (p->moved != nmoved) ++failures;
    for (int k = 0; k < nmoved && k < p->moved; ++k) failures += site[k] != moved[k];
    failures += p->sites != b->ntouched; /* every site within distance 3, ... */
    for (int q = 0; q < p->sites; ++q) {
        const int32_t s = site[q];
        if (s < 0 || s >= lat->nsites) return failures + 1;
        failures += seen[s]++ != 0;                     /* ... each once, ... */
        failures += b->dist[s] != range_distance(p, q); /* ... in its range, */
        failures += code[q] != codes[s];                /* with its code */
    }
    for (int q = 0; q < p->sites; ++q) seen[site[q]] = 0;
    for (int q = 0; q < p->rated; ++q) {
        unsigned touches = 0;
        for (int d = 0; d < LATTICE_DIRECTIONS; ++d) {
            const int at = p->around[q][d];
            failures += at >= p->sites || site[at] != lattice_neighbour(lat, site[q], d);
            if (at >= p->moved && at < p->coded) touches |= 1u << (at - p->moved);
        }
        failures += touches != p->touches[q];
    }
    ball_clear(b);
    return failures;
}

/* Every patch around every site of one lattice, with the placement `ps` chose. */
static void check_lattice(int lx, int ly, int lz, int portable) {
    lattice lat;
    REQUIRE(lattice_init(&lat, lx, ly, lz) == RIPEN_OK, "%s", ripen_last_error());
    if (portable) setenv("RIPEN_PATCH", "portable", 1);
    patch_set ps;
    REQUIRE(patch_build(&ps, &lat) == RIPEN_OK, "%dx%dx%d: %s", lx, ly, lz, ripen_last_error());
    unsetenv("RIPEN_PATCH");
    CHECK(!portable || strcmp(ps.place_isa, "portable") == 0, "RIPEN_PATCH=portable gave %s",
          ps.place_isa);
    /* Codes: distinct-looking bytes per site, and the padding a vector gather may read. */
    uint8_t *codes = calloc((size_t)lat.nsites + 16, 1);
    int8_t *dist = malloc((size_t)lat.nsites);
    uint8_t *seen = calloc((size_t)lat.nsites, 1);
    REQUIRE(codes && dist && seen, "out of memory");
    for (int32_t s = 0; s < lat.nsites; ++s) codes[s] = (uint8_t)((s * 2654435761u) >> 24);
    memset(dist, -1, (size_t)lat.nsites);
    ball b = {.dist = dist};
    int failures = 0, first_site = -1, first_shape = -1;
    for (int32_t c = 0; c < lat.nsites; ++c)
        for (int shape = 0; shape < PATCH_SHAPES; ++shape) {
            const int32_t moved[2] = {c, shape ? lattice_neighbour(&lat, c, shape - 1) : -1};
            const int f =
                check_placed(&ps, &ps.shape[shape], &lat, codes, moved, shape ? 2 : 1, &b, seen);
            if (f && first_site < 0) first_site = c, first_shape = shape;
            failures += f;
        }
    CHECK(failures == 0, "%dx%dx%d (%s placement): %d mismatches, first at site %d, shape %d", lx,
          ly, lz, ps.place_isa, failures, first_site, first_shape);
    free(codes), free(dist), free(seen);
    patch_free(&ps);
    lattice_free(&lat);
}

int main(void) {
    static const int extents[][3] = {{2, 2, 2}, {3, 2, 2}, {2, 3, 4}, {4, 4, 4},   {5, 3, 2},
                                     {7, 5, 3}, {9, 7, 3}, {8, 9, 5}, {12, 12, 4}, {80, 80, 4}};
    for (size_t k = 0; k < sizeof extents / sizeof extents[0]; ++k)
        for (int portable = 0; portable <= 1; ++portable)
            check_lattice(extents[k][0], extents[k][1], extents[k][2], portable);
    return check_exit("test_patch");
}
