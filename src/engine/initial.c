#include "ripen/initial.h"

#include "ripen/error.h"
#include "ripen/model.h"

#include <stdlib.h>
#include <string.h>

/* A hexagon in cube coordinates: sites (x, y) with x, y and c - x - y all in [-b, a]. */
typedef struct {
    int a, b, c;
} hexagon;

static int hexagon_contains(hexagon h, int x, int y) {
    const int z = h.c - x - y;
    return x >= -h.b && x <= h.a && y >= -h.b && y <= h.a && z >= -h.b && z <= h.a;
}

static int hexagon_sites(hexagon h) {
    int n = 0;
    for (int x = -h.b; x <= h.a; ++x)
        for (int y = -h.b; y <= h.a; ++y) n += hexagon_contains(h, x, y);
    return n;
}

/* Most regular hexagons in increasing size: regular (sides s) then alternating (s, s+1). */
static hexagon hexagon_candidate(int k, int *side_short, int *side_long) {
    const int s = k / 2 + 1;
    if (k % 2 == 0) {
        *side_short = *side_long = s;
        return (hexagon){.a = s - 1, .b = s - 1, .c = 0};
    }
    *side_short = s, *side_long = s + 1;
    return (hexagon){.a = s, .b = s - 1, .c = 1};
}

static hexagon closest_hexagon(int64_t core_target, int lz, initial_report *report) {
    hexagon best = {0};
    int64_t best_gap = -1;
    for (int k = 0;; ++k) {
        int side_short, side_long;
        const hexagon h = hexagon_candidate(k, &side_short, &side_long);
        const int sites = hexagon_sites(h);
        const int64_t total = (int64_t)sites * lz;
        const int64_t gap = total > core_target ? total - core_target : core_target - total;
        if (best_gap < 0 || gap < best_gap) {
            best = h, best_gap = gap;
            report->hexagon_sites = sites;
            report->side_short = side_short, report->side_long = side_long;
        }
        if (total >= core_target) return best;
    }
}

/* The particle on an unwrapped plane: cell (x, y) of a (2R+1)^2 grid centred on the origin holds
 * core, then shell rings grown breadth-first over the six in-plane directions. */
typedef struct {
    int radius;
    uint8_t *cell;
} plane;

static uint8_t *plane_at(plane *p, int x, int y) {
    return &p->cell[(x + p->radius) * (2 * p->radius + 1) + (y + p->radius)];
}

static void grow_shell(plane *p, int thickness) {
    const int width = 2 * p->radius + 1;
    for (int ring = 0; ring < thickness; ++ring) {
        /* Mark the next ring with a temporary value so this pass does not feed on itself. */
        for (int x = -p->radius + 1; x < p->radius; ++x)
            for (int y = -p->radius + 1; y < p->radius; ++y) {
                if (*plane_at(p, x, y) != STATE_SOLUTION) continue;
                for (int d = 0; d < LATTICE_INPLANE_DIRECTIONS; ++d) {
                    const uint8_t n =
                        *plane_at(p, x + lattice_direction_dx[d], y + lattice_direction_dy[d]);
                    if (n == STATE_CORE || n == STATE_SHELL) {
                        *plane_at(p, x, y) = STATE_COUNT;
                        break;
                    }
                }
            }
        for (int k = 0; k < width * width; ++k)
            if (p->cell[k] == STATE_COUNT) p->cell[k] = STATE_SHELL;
    }
}

int initial_prism(uint8_t *states, const lattice *lat, int64_t core_target, int shell_thickness,
                  initial_report *report) {
    *report = (initial_report){0};
    if (core_target < 1 || core_target > lat->nsites)
        return ripen_fail(RIPEN_EINVAL, "core_sites = %lld: must be in [1, %d] (the lattice size)",
                          (long long)core_target, lat->nsites);
    if (shell_thickness < 0 || shell_thickness > INITIAL_MAX_SHELL_THICKNESS)
        return ripen_fail(RIPEN_EINVAL, "shell_thickness = %d: must be in [0, %d]", shell_thickness,
                          INITIAL_MAX_SHELL_THICKNESS);
    const hexagon h = closest_hexagon(core_target, lat->lz, report);
    /* In-plane span of the particle, in columns along x and along y alike: the hexagon covers
     * x in [-b, a], and every shell ring adds one column on each side. Checked before any work,
     * so an impossible request fails at once whatever its size. */
    const int64_t span = (int64_t)h.a + h.b + 1 + 2 * (int64_t)shell_thickness;
    if (span > lat->lx - 1 || span > lat->ly - 1)
        return ripen_fail(RIPEN_EINVAL,
                          "the initial particle (%d core sites per layer, shell %d) spans %lld x "
                          "%lld columns: it needs a lattice of at least %lld x %lld, got %d x %d",
                          report->hexagon_sites, shell_thickness, (long long)span, (long long)span,
                          (long long)span + 1, (long long)span + 1, lat->lx, lat->ly);
    plane p = {.radius = h.a + shell_thickness + 1};
    const int width = 2 * p.radius + 1;
    p.cell = calloc((size_t)width * (size_t)width, 1);
    if (!p.cell) return ripen_fail(RIPEN_ENOMEM, "out of memory building the initial particle");
    for (int x = -h.b; x <= h.a; ++x)
        for (int y = -h.b; y <= h.a; ++y)
            if (hexagon_contains(h, x, y)) *plane_at(&p, x, y) = STATE_CORE;
    grow_shell(&p, shell_thickness);
    memset(states, STATE_SOLUTION, (size_t)lat->nsites);
    for (int x = -p.radius; x <= p.radius; ++x)
        for (int y = -p.radius; y <= p.radius; ++y) {
            const uint8_t s = *plane_at(&p, x, y);
            if (s == STATE_SOLUTION) continue;
            const int lx = ((lat->lx / 2 + x) % lat->lx + lat->lx) % lat->lx;
            const int ly = ((lat->ly / 2 + y) % lat->ly + lat->ly) % lat->ly;
            for (int z = 0; z < lat->lz; ++z) {
                states[lattice_index(lat, lx, ly, z)] = s;
                report->core_sites += s == STATE_CORE;
                report->shell_sites += s == STATE_SHELL;
            }
        }
    free(p.cell);
    return RIPEN_OK;
}
