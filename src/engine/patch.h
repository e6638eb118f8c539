/* Move patches: the sites around a move, as offsets that hold for every site of the lattice
 * (private to the library; used by the rejection-free dynamics, dyn_rejection_free.c).
 *
 * A move changes the state of one site c (insertion/deletion) or of two neighbours c, c + d (a
 * swap along direction d). That changes the codes of N[C] (the moved sites and their neighbours);
 * a rate that reads a code reads it within distance 1 (its swap terms), so rates change within
 * distance 2 of C, and computing them reads codes within distance 3. A patch lists those sites
 * once each, ordered by distance from C:
 *     [0, moved)   the moved sites: c, then c + d for a swap
 *     [moved, coded)  the rest of N[C]: neighbours whose codes changed
 *     [coded, rated)  distance 2: rates that read a changed code
 *     [rated, sites)  distance 3: codes the rates of the rated sites read
 * with, for every rated position, the positions of its 8 neighbours (direction order) and the set
 * of neighbours it shares with C's (a bit per position in [moved, coded)).
 *
 * Why it is exact on any lattice: the lattice is a torus with linear indexing, so translations
 * are automorphisms that keep directions. The patch is built once on site 0 from the neighbour
 * table itself (patch_build), positions that reach the same site there are merged (small extents
 * wrap around: an axis of extent 4 meets itself at distance 2), and the same offsets then give
 * the same sites, merged the same way, around every other site. patch_place() applies them with
 * per-axis tables of wrapped coordinates, with no branch and no neighbour-table walk: on the
 * paper's lattice the 819 KiB neighbour table was the largest source of cache misses of the
 * rejection-free update (docs/performance.md). tests/test_patch.c compares every placed patch
 * with a breadth-first search on the neighbour table, on lattices from 2x2x2 up.
 */
#ifndef RIPEN_PATCH_H
#define RIPEN_PATCH_H

#include <stdint.h>

#include "ripen/engine/lattice.h"

enum {
    PATCH_REACH = 4, /* |offset| <= 4 along each axis (distance 3 from c + d) */
    PATCH_SPAN = 2 * PATCH_REACH + 1,
    PATCH_MOVED_MAX = 2,   /* sites a move changes */
    PATCH_CODED_MAX = 16,  /* N[C] of a vertical pair: 2 + 14 */
    PATCH_RATED_MAX = 64,  /* within distance 2 of a pair: 54 at most */
    PATCH_SITES_MAX = 144, /* within distance 3 of a pair: 128 at most; a multiple of 16 */
    PATCH_SHAPES = 1 + LATTICE_DIRECTIONS /* one site, and a pair per direction */
};

typedef struct {
    int moved, coded, rated, sites;                      /* position ranges, see above */
    uint8_t axis[3][PATCH_SITES_MAX];                    /* offset + PATCH_REACH along x, y, z */
    uint8_t around[PATCH_RATED_MAX][LATTICE_DIRECTIONS]; /* neighbour positions of a rated one */
    uint16_t touches[PATCH_RATED_MAX];                   /* bit k: adjacent to position moved + k */
} patch;

typedef struct patch_set patch_set;

/* Places patch p around site c (for a pair, c is the first moved site): the sites of positions
 * [0, count) into site[], their codes (read from `codes`, the replica's site codes with their
 * padding) into code[]. Both arrays must hold count rounded up to 16. */
typedef void (*patch_place_fn)(const patch_set *ps, const patch *p, int32_t c, const uint8_t *codes,
                               int count, int32_t *site, uint8_t *code);

/* The patches of one lattice and the tables that place them. */
struct patch_set {
    patch shape[PATCH_SHAPES]; /* [0]: one site; [1 + d]: c and its neighbour along d */
    int32_t *wrapped[3];       /* per axis, [v + PATCH_REACH]: wrap(v) x the axis's stride, for
                                  v in [-PATCH_REACH, extent + PATCH_REACH), then 8 spare */
    int32_t lx, ncolumns;      /* for the coordinates of a site */
    patch_place_fn place;      /* AVX-512 or portable, chosen by patch_build */
    const char *place_isa;     /* its name */
};

/* Builds the patches of `lat`; RIPEN_PATCH=portable forces the portable placement. */
int patch_build(patch_set *ps, const lattice *lat);
void patch_free(patch_set *ps);

/* The wrapped-coordinate tables of the axes at site c: [offset + PATCH_REACH] gives the part of
 * the index of the site at that offset along the axis. */
static inline void patch_axes(const patch_set *ps, int32_t c, const int32_t *axis[3]) {
    const int32_t z = c / ps->ncolumns, column = c - z * ps->ncolumns;
    const int32_t y = column / ps->lx, x = column - y * ps->lx;
    axis[0] = ps->wrapped[0] + x, axis[1] = ps->wrapped[1] + y, axis[2] = ps->wrapped[2] + z;
}

#endif
