/* The neighbour table: symmetry, distinctness, wrap-around, multigraph extents, bad extents. */
#include "check.h"
#include "ripen/engine/error.h"
#include "ripen/engine/lattice.h"

#include <string.h>

static int wrap(int c, int l) {
    return (c % l + l) % l;
}

static void check_table(int lx, int ly, int lz) {
    lattice lat;
    REQUIRE(lattice_init(&lat, lx, ly, lz) == RIPEN_OK, "%s", ripen_last_error());
    CHECK(lat.nsites == lx * ly * lz, "nsites");
    for (int32_t i = 0; i < lat.nsites; ++i) {
        int x, y, z;
        lattice_coords(&lat, i, &x, &y, &z);
        CHECK(lattice_index(&lat, x, y, z) == i, "coords round trip at %d", i);
        for (int d = 0; d < LATTICE_DIRECTIONS; ++d) {
            const int32_t j = lattice_neighbour(&lat, i, d);
            CHECK(j != i, "site %d is its own neighbour", i);
            CHECK(lattice_neighbour(&lat, j, d ^ 1) == i, "direction %d not reversed by %d", d,
                  d ^ 1);
            int jx, jy, jz;
            lattice_coords(&lat, j, &jx, &jy, &jz);
            CHECK(jx == wrap(x + lattice_direction_dx[d], lx) &&
                      jy == wrap(y + lattice_direction_dy[d], ly) &&
                      jz == wrap(z + lattice_direction_dz[d], lz),
                  "neighbour %d of %d at wrong place", d, i);
            /* Distinct neighbours unless an extent is 2 (the documented multigraph). */
            if (lx > 2 && ly > 2 && lz > 2)
                for (int e = 0; e < d; ++e)
                    CHECK(lattice_neighbour(&lat, i, e) != j, "repeated neighbour at %d", i);
        }
        /* Neighbours (i, j) along direction d in-plane keep z; vertical ones keep (x, y). */
        CHECK(lattice_column(&lat, lattice_neighbour(&lat, i, 6)) == lattice_column(&lat, i),
              "vertical neighbour changes column");
    }
    for (int d = 0; d < LATTICE_DIRECTIONS; ++d) {
        const int along_two =
            (d < 2 && lx == 2) || ((d == 2 || d == 3) && ly == 2) || (d >= 6 && lz == 2);
        const int expected_8 = along_two ? 2 : 1;
        /* Direction 4/5, (+1,-1) and (-1,+1), coincide when both lx and ly are 2. */
        const int diagonal_two = (d == 4 || d == 5) && lx == 2 && ly == 2;
        CHECK(lattice_bond_multiplicity(&lat, d, 8) == (diagonal_two ? 2 : expected_8),
              "multiplicity of direction %d on %dx%dx%d", d, lx, ly, lz);
        CHECK(lattice_bond_multiplicity(&lat, d, 6) ==
                  (d >= 6 ? 0 : (diagonal_two ? 2 : expected_8)),
              "six-bond multiplicity of direction %d", d);
    }
    lattice_free(&lat);
}

static void check_rejected(int lx, int ly, int lz, const char *name) {
    lattice lat;
    CHECK(lattice_init(&lat, lx, ly, lz) == RIPEN_EINVAL, "%dx%dx%d accepted", lx, ly, lz);
    CHECK(strstr(ripen_last_error(), name) != NULL, "message \"%s\" does not name %s",
          ripen_last_error(), name);
    CHECK(strchr(ripen_last_error(), '\n') == NULL, "message is not one line");
}

int main(void) {
    check_table(80, 80, 4);
    check_table(7, 5, 3);
    check_table(3, 3, 3);
    check_table(2, 2, 2);
    check_table(3, 2, 2);
    check_table(2, 4, 3);
    check_rejected(1, 5, 5, "lattice.lx");
    check_rejected(5, 0, 5, "lattice.ly");
    check_rejected(5, 5, -4, "lattice.lz");
    check_rejected(5000, 5, 5, "lattice.lx");
    check_rejected(4096, 4096, 4096, "sites");
    return check_exit("test_lattice");
}
