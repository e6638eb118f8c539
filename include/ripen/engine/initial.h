/* Initial condition (MODEL.md, "Initial condition"): hexagonal prisms of core spanning all Lz
 * layers, each wrapped in a shell of a given in-plane thickness; one centred particle (the
 * default), or a list of particles placed by the job, optionally with a seeded shell defect.
 *
 * In-plane a core is the most regular hexagon whose size times Lz is closest to the requested
 * core size: a regular hexagon centred on a site (all sides s sites, 3s(s-1)+1 sites: 1, 7, 19,
 * 37, 61, ...) or a hexagon centred on a triangle with sides alternating s and s+1 sites (3, 12,
 * 27, 48, 75, ...). With cube coordinates (x, y, -x-y+c) it is {all three in [-B, A]}, with
 * (A, B, c) = (s-1, s-1, 0) or (s, s-1, 1). Ties go to the smaller hexagon. The paper's 200 core
 * sites on 4 layers give the 48-site hexagon (sides 4 and 5): 192 core sites.
 *
 * The shell is every non-core site within in-plane graph distance `shell_thickness` of the core
 * (0 = shell-free). The single particle is centred at (Lx/2, Ly/2); a particle of a list at the
 * column it names (its hexagon's cube origin). No particle may touch its own periodic image
 * (in-plane spans <= L - 2), so that its growth is not a wrap-around artefact, and two particles
 * of a list must have at least `gap` solution sites between them in-plane (shells included):
 * with gap 1 a single core site inserted between two particles bonds to both, so the default of
 * 2 keeps them from starting one insertion away from a bridge.
 *
 * A seeded defect (docs/model.md, "Seeded defects") removes k shell sites at a named place of
 * the prism, nearest first to an anchor point just outside the core's surface:
 *   facet   the centre of facet 0 (the side x = A, facing -30 degrees in the plane): sites in
 *           the slab of shell in front of that side, by 3-D distance from the anchor;
 *   edge    the vertical edge at vertex 0 (facet 0's end with the larger y): sites of the shell
 *           within shell_thickness + 1/2 of that edge, nearest to the edge line first, then
 *           nearest in z to layer 0 (a slit along the edge);
 *   corner  the same vertex in layer 0 only: nearest in z first, then in-plane (a notch in one
 *           layer that widens in it before it spreads to the next layers).
 * Ties are broken by layer, then by local y, then x: the choice is deterministic.
 */
#ifndef RIPEN_INITIAL_H
#define RIPEN_INITIAL_H

#include <stdint.h>

#include "ripen/engine/lattice.h"

enum { INITIAL_MAX_SHELL_THICKNESS = 1000 };
enum { INITIAL_MAX_PARTICLES = 64, INITIAL_DEFAULT_GAP = 2, INITIAL_MAX_GAP = 1000 };

typedef enum { DEFECT_FACET, DEFECT_EDGE, DEFECT_CORNER, DEFECT_PLACES } defect_place;
extern const char *const defect_place_names[DEFECT_PLACES];

typedef struct {
    int sites;          /* shell sites removed (0: no defect) */
    defect_place place; /* where */
} initial_defect;

/* One particle of a list. */
typedef struct {
    int x, y;              /* column of its hexagon's cube origin (axial coordinates) */
    int64_t core_sites;    /* requested core size (sites); 0 = the system's core_sites */
    int shell_thickness;   /* in-plane shell thickness; -1 = the system's shell_thickness */
    initial_defect defect; /* seeded defect (sites 0: none) */
} initial_particle;

/* Beyond one plain centred particle: a defect seeded on it, or a list of particles. */
typedef struct {
    initial_defect defect; /* the single particle's (sites 0: none; not with a list) */
    int nparticles;        /* 0: the single particle centred at (Lx/2, Ly/2) */
    int gap;               /* solution sites at least between two particles of a list */
    initial_particle particles[INITIAL_MAX_PARTICLES];
} initial_layout;

typedef struct {
    int64_t core_sites;        /* actual core sites (all particles) */
    int64_t shell_sites;       /* actual shell sites (all particles, after defects) */
    int hexagon_sites;         /* core sites per layer (the first particle) */
    int side_short, side_long; /* hexagon side lengths in sites (equal if regular; the first) */
    int nparticles;            /* particles built (1 for the single particle) */
    int64_t particle_core[INITIAL_MAX_PARTICLES];  /* actual core sites of each */
    int64_t particle_shell[INITIAL_MAX_PARTICLES]; /* actual shell sites of each */
    int32_t particle_site[INITIAL_MAX_PARTICLES];  /* a core site of each: its centre column
                                                      in layer 0 */
} initial_report;

/* Fills `states` (nsites bytes) with the single centred prism (no defect); one-line error if
 * the request is out of range or the particle does not fit in the lattice. */
int initial_prism(uint8_t *states, const lattice *lat, int64_t core_target, int shell_thickness,
                  initial_report *report);

/* The initial state a system asks for: the single prism (core_target, shell_thickness) with the
 * layout's defect, or the layout's particles (whose unset sizes take core_target and
 * shell_thickness). With an empty layout the states equal initial_prism's. Errors name the
 * offending particle ("particles[2].x = 250: ...") or defect; they are one line. */
int initial_build(uint8_t *states, const lattice *lat, int64_t core_target, int shell_thickness,
                  const initial_layout *layout, initial_report *report);

/* initial_build on an lx x ly x lz lattice's bare geometry (no neighbour table), the states
 * thrown away: the report of what a system would start from (its checks and its counts). */
int initial_report_of(int lx, int ly, int lz, int64_t core_target, int shell_thickness,
                      const initial_layout *layout, initial_report *report);

/* Whether the layout asks for anything beyond one plain centred particle. */
static inline int initial_layout_used(const initial_layout *l) {
    return l->nparticles > 0 || l->defect.sites > 0;
}

#endif
