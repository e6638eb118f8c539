/* Initial condition (MODEL.md, "Initial condition"): a hexagonal prism of core spanning all Lz
 * layers, wrapped in a shell of a given in-plane thickness.
 *
 * In-plane the core is the most regular hexagon whose size times Lz is closest to the requested
 * core size: a regular hexagon centred on a site (all sides s sites, 3s(s-1)+1 sites: 1, 7, 19,
 * 37, 61, ...) or a hexagon centred on a triangle with sides alternating s and s+1 sites (3, 12,
 * 27, 48, 75, ...). With cube coordinates (x, y, -x-y+c) it is {all three in [-B, A]}, with
 * (A, B, c) = (s-1, s-1, 0) or (s, s-1, 1). Ties go to the smaller hexagon. The paper's 200 core
 * sites on 4 layers give the 48-site hexagon (sides 4 and 5): 192 core sites.
 *
 * The shell is every non-core site within in-plane graph distance `shell_thickness` of the core
 * (0 = shell-free). The particle is centred at (Lx/2, Ly/2) and must not touch its periodic
 * image (in-plane spans <= L - 2), so that its growth is not a wrap-around artefact.
 */
#ifndef RIPEN_INITIAL_H
#define RIPEN_INITIAL_H

#include <stdint.h>

#include "ripen/lattice.h"

enum { INITIAL_MAX_SHELL_THICKNESS = 1000 };

typedef struct {
    int64_t core_sites;        /* actual core sites (hexagon sites x Lz) */
    int64_t shell_sites;       /* actual shell sites */
    int hexagon_sites;         /* core sites per layer */
    int side_short, side_long; /* hexagon side lengths in sites (equal if regular) */
} initial_report;

/* Fills `states` (nsites bytes) with the prism; one-line error if the request is out of range or
 * the particle does not fit in the lattice. */
int initial_prism(uint8_t *states, const lattice *lat, int64_t core_target, int shell_thickness,
                  initial_report *report);

#endif
