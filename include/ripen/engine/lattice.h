/* The simple-hexagonal lattice: Lz stacked triangular layers, periodic in all three directions.
 *
 * Site (x, y, z) has index x + Lx * (y + Ly * z). In-plane neighbours use axial coordinates of the
 * triangular lattice. The eight neighbour directions, in this order:
 *     0:(+1,0,0) 1:(-1,0,0) 2:(0,+1,0) 3:(0,-1,0) 4:(+1,-1,0) 5:(-1,+1,0) 6:(0,0,+1) 7:(0,0,-1)
 * so the first six are the in-plane ones (bonds may be restricted to them) and direction d ^ 1 is
 * the opposite of d.
 *
 * Sizes: every extent must be >= 2. At extent 2 both directions along that axis reach the same
 * site: the neighbour table is then a multigraph (a neighbour listed twice carries two bonds and is
 * twice as likely to be picked for a swap). That definition keeps detailed balance and is what the
 * exact-enumeration tests use on 2x2x2 and 3x2x2 lattices; production lattices are >= 3.
 * Extent 1 would make a site its own neighbour and is rejected.
 */
#ifndef RIPEN_LATTICE_H
#define RIPEN_LATTICE_H

#include <stdint.h>

enum { LATTICE_DIRECTIONS = 8, LATTICE_INPLANE_DIRECTIONS = 6 };
enum { LATTICE_MIN_EXTENT = 2, LATTICE_MAX_EXTENT = 4096 };
#define LATTICE_MAX_SITES (1 << 28)

extern const int lattice_direction_dx[LATTICE_DIRECTIONS];
extern const int lattice_direction_dy[LATTICE_DIRECTIONS];
extern const int lattice_direction_dz[LATTICE_DIRECTIONS];

typedef struct {
    int lx, ly, lz;     /* extents (sites) along x, y (in-plane axial axes) and z (stacking) */
    int32_t nsites;     /* lx * ly * lz */
    int32_t ncolumns;   /* lx * ly: (x, y) columns, for projected areas */
    int32_t *neighbour; /* nsites * 8 site indices, direction-major within a site */
} lattice;

/* Checks the extents (one-line error naming the bad one) and builds the neighbour table. */
int lattice_init(lattice *lat, int lx, int ly, int lz);
void lattice_free(lattice *lat);

/* Error unless lx, ly, lz are valid extents; names them "lattice.lx" etc. */
int lattice_check_extents(int lx, int ly, int lz);

static inline int32_t lattice_index(const lattice *lat, int x, int y, int z) {
    return x + lat->lx * (y + lat->ly * z);
}

static inline int32_t lattice_column(const lattice *lat, int32_t site) {
    return site % lat->ncolumns;
}

static inline void lattice_coords(const lattice *lat, int32_t site, int *x, int *y, int *z) {
    *x = site % lat->lx;
    *y = (site / lat->lx) % lat->ly;
    *z = site / lat->ncolumns;
}

static inline int32_t lattice_neighbour(const lattice *lat, int32_t site, int direction) {
    return lat->neighbour[(int64_t)site * LATTICE_DIRECTIONS + direction];
}

/* How many of the first `bond_directions` directions of a site lead to the same site as
 * `direction` does (0 if `direction` carries no bond, 2 on an extent-2 axis). The same for every
 * site by translation symmetry. */
int lattice_bond_multiplicity(const lattice *lat, int direction, int bond_directions);

#endif
