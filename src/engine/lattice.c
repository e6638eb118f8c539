#include "ripen/engine/lattice.h"

#include "ripen/engine/error.h"

#include <stdlib.h>

const int lattice_direction_dx[LATTICE_DIRECTIONS] = {+1, -1, 0, 0, +1, -1, 0, 0};
const int lattice_direction_dy[LATTICE_DIRECTIONS] = {0, 0, +1, -1, -1, +1, 0, 0};
const int lattice_direction_dz[LATTICE_DIRECTIONS] = {0, 0, 0, 0, 0, 0, +1, -1};

static int wrap(int coordinate, int extent) {
    return (coordinate % extent + extent) % extent;
}

static int check_extent(const char *name, int extent) {
    if (extent < LATTICE_MIN_EXTENT || extent > LATTICE_MAX_EXTENT)
        return ripen_fail(RIPEN_EINVAL, "%s = %d: must be an integer in [%d, %d]", name, extent,
                          LATTICE_MIN_EXTENT, LATTICE_MAX_EXTENT);
    return RIPEN_OK;
}

int lattice_check_extents(int lx, int ly, int lz) {
    int status;
    if ((status = check_extent("lattice.lx", lx)) || (status = check_extent("lattice.ly", ly)) ||
        (status = check_extent("lattice.lz", lz)))
        return status;
    if ((int64_t)lx * ly * lz > LATTICE_MAX_SITES)
        return ripen_fail(RIPEN_EINVAL, "lattice %d x %d x %d has %lld sites: at most %d allowed",
                          lx, ly, lz, (long long)lx * ly * lz, LATTICE_MAX_SITES);
    return RIPEN_OK;
}

int lattice_init(lattice *lat, int lx, int ly, int lz) {
    *lat = (lattice){0};
    const int status = lattice_check_extents(lx, ly, lz);
    if (status) return status;
    lat->lx = lx, lat->ly = ly, lat->lz = lz;
    lat->ncolumns = lx * ly;
    lat->nsites = lx * ly * lz;
    lat->neighbour = malloc(sizeof *lat->neighbour * (size_t)lat->nsites * LATTICE_DIRECTIONS);
    if (!lat->neighbour) return ripen_fail(RIPEN_ENOMEM, "out of memory for the neighbour table");
    for (int32_t site = 0; site < lat->nsites; ++site) {
        int x, y, z;
        lattice_coords(lat, site, &x, &y, &z);
        for (int d = 0; d < LATTICE_DIRECTIONS; ++d)
            lat->neighbour[(int64_t)site * LATTICE_DIRECTIONS + d] = lattice_index(
                lat, wrap(x + lattice_direction_dx[d], lx), wrap(y + lattice_direction_dy[d], ly),
                wrap(z + lattice_direction_dz[d], lz));
    }
    return RIPEN_OK;
}

void lattice_free(lattice *lat) {
    free(lat->neighbour);
    *lat = (lattice){0};
}

int lattice_bond_multiplicity(const lattice *lat, int direction, int bond_directions) {
    const int32_t target = lattice_neighbour(lat, 0, direction);
    int count = 0;
    for (int d = 0; d < bond_directions; ++d) count += lattice_neighbour(lat, 0, d) == target;
    return count;
}
