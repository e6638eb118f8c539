/* Initial conditions (ripen/engine/initial.h): prisms of core with shells, one or a list, and
 * seeded shell defects. */
#include "ripen/engine/initial.h"

#include "ripen/engine/error.h"
#include "ripen/engine/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const defect_place_names[DEFECT_PLACES] = {"facet", "edge", "corner"};

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

/* The hexagon's shape as the report states it. */
typedef struct {
    hexagon h;
    int sites, side_short, side_long;
} hexagon_choice;

static hexagon_choice closest_hexagon(int64_t core_target, int lz) {
    hexagon_choice best = {0};
    int64_t best_gap = -1;
    for (int k = 0;; ++k) {
        int side_short, side_long;
        const hexagon h = hexagon_candidate(k, &side_short, &side_long);
        const int sites = hexagon_sites(h);
        const int64_t total = (int64_t)sites * lz;
        const int64_t gap = total > core_target ? total - core_target : core_target - total;
        if (best_gap < 0 || gap < best_gap) {
            best = (hexagon_choice){h, sites, side_short, side_long};
            best_gap = gap;
        }
        if (total >= core_target) return best;
    }
}

/* ---- one particle on an unwrapped plane ---- */

/* Cell (x, y) of a (2R+1)^2 grid centred on the origin holds core, then shell rings grown
 * breadth-first over the six in-plane directions. */
typedef struct {
    int radius;
    uint8_t *cell;
} plane;

static int plane_width(const plane *p) {
    return 2 * p->radius + 1;
}

static uint8_t *plane_at(const plane *p, int x, int y) {
    return &p->cell[(x + p->radius) * plane_width(p) + (y + p->radius)];
}

static void grow_shell(plane *p, int thickness) {
    const int width = plane_width(p);
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

/* A shell site the defect removes: local column and layer. */
typedef struct {
    int x, y, z;
} local_site;

/* Everything about one particle before it is placed on the lattice. */
typedef struct {
    hexagon_choice shape;
    int thickness;
    plane p;             /* core and shell columns, local coordinates */
    local_site *removed; /* the defect's sites (NULL: none) */
    int nremoved;
    int x0, y0;          /* where its origin goes on the lattice */
    int64_t core, shell; /* actual sites */
} particle_build;

static void particle_free(particle_build *b) {
    free(b->p.cell), free(b->removed);
    *b = (particle_build){0};
}

/* The prism's sizes: range checks, the hexagon, and the span check against its own image. */
static int particle_shape(particle_build *b, const lattice *lat, int64_t core_target, int thickness,
                          const char *who) {
    if (core_target < 1 || core_target > lat->nsites)
        return ripen_fail(RIPEN_EINVAL,
                          "%score_sites = %lld: must be in [1, %d] (the lattice size)", who,
                          (long long)core_target, lat->nsites);
    if (thickness < 0 || thickness > INITIAL_MAX_SHELL_THICKNESS)
        return ripen_fail(RIPEN_EINVAL, "%sshell_thickness = %d: must be in [0, %d]", who,
                          thickness, INITIAL_MAX_SHELL_THICKNESS);
    b->shape = closest_hexagon(core_target, lat->lz);
    b->thickness = thickness;
    const hexagon h = b->shape.h;
    /* In-plane span of the particle, in columns along x and along y alike: the hexagon covers
     * x in [-b, a], and every shell ring adds one column on each side. Checked before any work,
     * so an impossible request fails at once whatever its size. */
    const int64_t span = (int64_t)h.a + h.b + 1 + 2 * (int64_t)thickness;
    if (span > lat->lx - 1 || span > lat->ly - 1)
        return ripen_fail(RIPEN_EINVAL,
                          "%.*s%s (%d core sites per layer, shell %d) spans %lld x %lld columns: "
                          "it needs a lattice of at least %lld x %lld, got %d x %d",
                          (int)(who[0] ? strlen(who) - 1 : 0), who,
                          who[0] ? "" : "the initial particle", b->shape.sites, thickness,
                          (long long)span, (long long)span, (long long)span + 1,
                          (long long)span + 1, lat->lx, lat->ly);
    return RIPEN_OK;
}

/* Core and shell on the local plane, with room for `margin` more rings around the shell. */
static int particle_plane(particle_build *b, int margin) {
    const hexagon h = b->shape.h;
    b->p.radius = h.a + b->thickness + margin + 1;
    const int width = plane_width(&b->p);
    b->p.cell = calloc((size_t)width * (size_t)width, 1);
    if (!b->p.cell) return ripen_fail(RIPEN_ENOMEM, "out of memory building the initial particle");
    for (int x = -h.b; x <= h.a; ++x)
        for (int y = -h.b; y <= h.a; ++y)
            if (hexagon_contains(h, x, y)) *plane_at(&b->p, x, y) = STATE_CORE;
    grow_shell(&b->p, b->thickness);
    return RIPEN_OK;
}

/* ---- seeded defects (initial.h; docs/model.md, "Seeded defects") ---- */

/* Cartesian position of local column (x, y): axial coordinates sheared by 60 degrees. */
static void cartesian(double x, double y, double *px, double *py) {
    *px = x + 0.5 * y;
    *py = 0.5 * sqrt(3.0) * y;
}

/* A candidate site with its sort keys (smaller first). */
typedef struct {
    double key1, key2;
    local_site s;
} defect_candidate;

static int candidate_order(const void *pa, const void *pb) {
    const defect_candidate *a = pa, *b = pb;
    const double eps = 1e-9; /* keys are sums of a few products of small numbers */
    if (a->key1 < b->key1 - eps) return -1;
    if (a->key1 > b->key1 + eps) return 1;
    if (a->key2 < b->key2 - eps) return -1;
    if (a->key2 > b->key2 + eps) return 1;
    if (a->s.z != b->s.z) return a->s.z < b->s.z ? -1 : 1;
    if (a->s.y != b->s.y) return a->s.y < b->s.y ? -1 : 1;
    return (a->s.x > b->s.x) - (a->s.x < b->s.x);
}

/* The geometry of a place: its anchor point (Cartesian), and the in-plane test of the shell
 * columns that belong to it. Facet 0 is the side x = a of the hexagon, whose outward normal is
 * the gradient of the cube coordinate x, (sqrt 3 / 2, -1/2); vertex 0 is that side's end with
 * the larger y, whose outward direction is (1, 0). */
typedef struct {
    defect_place place;
    double ax, ay; /* the anchor: 1/2 a site outside the core's surface */
    double rx, ry; /* facet: the side's centre; edge, corner: the vertex site */
    double half;   /* facet: half the side's length along it */
    double reach;  /* edge, corner: in-plane radius of the place */
} place_geometry;

static place_geometry place_at(const particle_build *b, defect_place place) {
    const hexagon h = b->shape.h;
    const double nx = 0.5 * sqrt(3.0), ny = -0.5; /* facet 0's outward normal */
    double sx = 0, sy = 0, half = 0;
    int n = 0, vertex_y = -h.b - 1;
    for (int y = -h.b; y <= h.a; ++y)
        if (hexagon_contains(h, h.a, y)) {
            double px, py;
            cartesian(h.a, y, &px, &py);
            sx += px, sy += py, ++n;
            if (y > vertex_y) vertex_y = y;
        }
    place_geometry g = {.place = place};
    if (place == DEFECT_FACET) {
        g.rx = sx / n, g.ry = sy / n;
        for (int y = -h.b; y <= h.a; ++y)
            if (hexagon_contains(h, h.a, y)) {
                double px, py;
                cartesian(h.a, y, &px, &py);
                const double along = fabs((px - g.rx) * -ny + (py - g.ry) * nx);
                if (along > half) half = along;
            }
        g.half = half;
        g.ax = g.rx + 0.5 * nx, g.ay = g.ry + 0.5 * ny;
    } else {
        cartesian(h.a, vertex_y, &g.rx, &g.ry);
        g.reach = b->thickness + 0.5;
        g.ax = g.rx + 0.5, g.ay = g.ry;
    }
    return g;
}

/* Whether shell column (x, y) belongs to the place. */
static int place_holds(const place_geometry *g, int x, int y) {
    double px, py;
    cartesian(x, y, &px, &py);
    const double dx = px - g->rx, dy = py - g->ry, eps = 1e-9;
    if (g->place == DEFECT_FACET) {
        const double nx = 0.5 * sqrt(3.0), ny = -0.5;
        const double out = dx * nx + dy * ny, along = fabs(dx * -ny + dy * nx);
        return out > 0.25 && along <= g->half + 0.5 + eps;
    }
    return dx > eps && dx * dx + dy * dy <= g->reach * g->reach + eps;
}

static defect_candidate candidate(const place_geometry *g, int x, int y, int z, int lz) {
    double px, py;
    cartesian(x, y, &px, &py);
    const double d2 = (px - g->ax) * (px - g->ax) + (py - g->ay) * (py - g->ay);
    const double dz = z < lz - z ? z : lz - z; /* periodic distance to layer 0 */
    defect_candidate c = {.s = {x, y, z}};
    if (g->place == DEFECT_FACET)
        c.key1 = d2 + dz * dz, c.key2 = dz;
    else if (g->place == DEFECT_EDGE)
        c.key1 = d2, c.key2 = dz;
    else
        c.key1 = dz, c.key2 = d2;
    return c;
}

/* The defect's sites: the place's shell sites, nearest first, the first `d.sites` of them. */
static int particle_defect(particle_build *b, initial_defect d, int lz, const char *who) {
    if (d.sites <= 0) return RIPEN_OK;
    if (b->thickness == 0)
        return ripen_fail(RIPEN_EINVAL,
                          "%sdefect: the particle has no shell (shell_thickness = 0): a defect "
                          "removes shell sites",
                          who);
    const place_geometry g = place_at(b, d.place);
    const int r = b->p.radius;
    defect_candidate *c =
        malloc(sizeof *c * (size_t)plane_width(&b->p) * (size_t)plane_width(&b->p) * (size_t)lz);
    if (!c) return ripen_fail(RIPEN_ENOMEM, "out of memory building a defect");
    int n = 0;
    for (int x = -r; x <= r; ++x)
        for (int y = -r; y <= r; ++y)
            if (*plane_at(&b->p, x, y) == STATE_SHELL && place_holds(&g, x, y))
                for (int z = 0; z < lz; ++z) c[n++] = candidate(&g, x, y, z, lz);
    if (d.sites > n) {
        free(c);
        return ripen_fail(RIPEN_EINVAL,
                          "%sdefect.sites = %d: more than the %d shell sites at its place (%s; "
                          "%lld shell sites in all)",
                          who, d.sites, n, defect_place_names[d.place], (long long)b->shell);
    }
    qsort(c, (size_t)n, sizeof *c, candidate_order);
    b->removed = malloc(sizeof *b->removed * (size_t)d.sites);
    if (!b->removed) {
        free(c);
        return ripen_fail(RIPEN_ENOMEM, "out of memory building a defect");
    }
    for (int k = 0; k < d.sites; ++k) b->removed[k] = c[k].s;
    b->nremoved = d.sites;
    b->shell -= d.sites;
    free(c);
    return RIPEN_OK;
}

/* ---- placing particles on the lattice ---- */

static int wrap(int v, int n) {
    return ((v % n) + n) % n;
}

static void particle_counts(particle_build *b, int lz) {
    const int r = b->p.radius;
    b->core = b->shell = 0;
    for (int x = -r; x <= r; ++x)
        for (int y = -r; y <= r; ++y) {
            const uint8_t s = *plane_at(&b->p, x, y);
            b->core += (int64_t)(s == STATE_CORE) * lz;
            b->shell += (int64_t)(s == STATE_SHELL) * lz;
        }
}

static void particle_paint(const particle_build *b, uint8_t *states, const lattice *lat) {
    const int r = b->p.radius;
    for (int x = -r; x <= r; ++x)
        for (int y = -r; y <= r; ++y) {
            const uint8_t s = *plane_at(&b->p, x, y);
            if (s == STATE_SOLUTION) continue;
            const int cx = wrap(b->x0 + x, lat->lx), cy = wrap(b->y0 + y, lat->ly);
            for (int z = 0; z < lat->lz; ++z) states[lattice_index(lat, cx, cy, z)] = s;
        }
    for (int k = 0; k < b->nremoved; ++k) {
        const local_site s = b->removed[k];
        states[lattice_index(lat, wrap(b->x0 + s.x, lat->lx), wrap(b->y0 + s.y, lat->ly), s.z)] =
            STATE_SOLUTION;
    }
}

static void report_particle(initial_report *report, int k, const particle_build *b,
                            const lattice *lat) {
    if (k == 0) {
        report->hexagon_sites = b->shape.sites;
        report->side_short = b->shape.side_short, report->side_long = b->shape.side_long;
    }
    report->nparticles = k + 1;
    report->core_sites += b->core, report->shell_sites += b->shell;
    report->particle_core[k] = b->core, report->particle_shell[k] = b->shell;
    report->particle_site[k] = lattice_index(lat, b->x0, b->y0, 0);
}

/* The single particle: centred, with the layout's defect (if any). */
static int build_single(uint8_t *states, const lattice *lat, int64_t core_target, int thickness,
                        initial_defect defect, initial_report *report) {
    particle_build b = {.x0 = lat->lx / 2, .y0 = lat->ly / 2};
    int status = particle_shape(&b, lat, core_target, thickness, "");
    if (!status) status = particle_plane(&b, 0);
    if (!status) particle_counts(&b, lat->lz);
    if (!status) status = particle_defect(&b, defect, lat->lz, "");
    if (!status) {
        memset(states, STATE_SOLUTION, (size_t)lat->nsites);
        particle_paint(&b, states, lat);
        report_particle(report, 0, &b, lat);
    }
    particle_free(&b);
    return status;
}

/* ---- a list: every particle in the box, apart from the others by the gap ---- */

/* Particle k's own columns into `owner` (ncolumns, -1 = free); error if one is taken. */
static int claim_columns(const particle_build *b, int k, int32_t *owner, const lattice *lat) {
    const int r = b->p.radius;
    for (int x = -r; x <= r; ++x)
        for (int y = -r; y <= r; ++y) {
            if (*plane_at(&b->p, x, y) == STATE_SOLUTION) continue;
            const int cx = wrap(b->x0 + x, lat->lx), cy = wrap(b->y0 + y, lat->ly);
            int32_t *o = &owner[cx + lat->lx * cy];
            if (*o >= 0 && *o != k)
                return ripen_fail(RIPEN_EINVAL,
                                  "particles[%d] and particles[%d] overlap: column (%d, %d) "
                                  "belongs to both (shells included)",
                                  *o, k, cx, cy);
            *o = k;
        }
    return RIPEN_OK;
}

/* The columns within in-plane distance `gap` of particle k: none may belong to another one.
 * Breadth-first over the local plane (which has `gap` rings of room around the shell). */
static int check_gap(const particle_build *b, int k, int gap, const int32_t *owner,
                     const lattice *lat) {
    const int width = plane_width(&b->p), r = b->p.radius;
    int32_t *distance = malloc(sizeof *distance * (size_t)width * (size_t)width);
    int32_t *queue = malloc(sizeof *queue * (size_t)width * (size_t)width);
    if (!distance || !queue) {
        free(distance), free(queue);
        return ripen_fail(RIPEN_ENOMEM, "out of memory checking the particles' gaps");
    }
    int head = 0, tail = 0, status = RIPEN_OK;
    for (int i = 0; i < width * width; ++i) {
        distance[i] = b->p.cell[i] == STATE_SOLUTION ? -1 : 0;
        if (!distance[i]) queue[tail++] = i;
    }
    while (head < tail && !status) {
        const int i = queue[head++], x = i / width - r, y = i % width - r;
        if (distance[i] >= gap) continue;
        for (int d = 0; d < LATTICE_INPLANE_DIRECTIONS && !status; ++d) {
            const int nx = x + lattice_direction_dx[d], ny = y + lattice_direction_dy[d];
            if (nx < -r || nx > r || ny < -r || ny > r) continue;
            const int j = (nx + r) * width + (ny + r);
            if (distance[j] >= 0) continue;
            distance[j] = distance[i] + 1, queue[tail++] = j;
            const int32_t o =
                owner[wrap(b->x0 + nx, lat->lx) + lat->lx * wrap(b->y0 + ny, lat->ly)];
            if (o >= 0 && o != k)
                status = ripen_fail(RIPEN_EINVAL,
                                    "particles[%d] and particles[%d] are %d solution sites apart "
                                    "in-plane: gap = %d asks for at least %d",
                                    o < k ? o : k, o < k ? k : o, distance[j] - 1, gap, gap);
        }
    }
    free(distance), free(queue);
    return status;
}

static int build_one_of_list(particle_build *b, const initial_particle *q, int k,
                             const lattice *lat, int64_t core_target, int thickness, int gap) {
    char who[64];
    snprintf(who, sizeof who, "particles[%d].", k);
    if (q->x < 0 || q->x >= lat->lx)
        return ripen_fail(RIPEN_EINVAL,
                          "particles[%d].x = %d: must be in [0, %d] (lattice.lx = %d)", k, q->x,
                          lat->lx - 1, lat->lx);
    if (q->y < 0 || q->y >= lat->ly)
        return ripen_fail(RIPEN_EINVAL,
                          "particles[%d].y = %d: must be in [0, %d] (lattice.ly = %d)", k, q->y,
                          lat->ly - 1, lat->ly);
    b->x0 = q->x, b->y0 = q->y;
    const int64_t core = q->core_sites > 0 ? q->core_sites : core_target;
    const int shell = q->shell_thickness >= 0 ? q->shell_thickness : thickness;
    int status = particle_shape(b, lat, core, shell, who);
    if (!status) status = particle_plane(b, gap);
    if (!status) particle_counts(b, lat->lz);
    if (!status) status = particle_defect(b, q->defect, lat->lz, who);
    return status;
}

static int build_list(uint8_t *states, const lattice *lat, int64_t core_target, int thickness,
                      const initial_layout *l, initial_report *report) {
    if (l->defect.sites > 0)
        return ripen_fail(RIPEN_EINVAL, "defect: with a list of particles, give each particle "
                                        "its own defect (particles[k].defect)");
    particle_build *b = calloc((size_t)l->nparticles, sizeof *b);
    int32_t *owner = malloc(sizeof *owner * (size_t)lat->ncolumns);
    int status = b && owner ? RIPEN_OK : ripen_fail(RIPEN_ENOMEM, "out of memory");
    for (int32_t c = 0; owner && c < lat->ncolumns; ++c) owner[c] = -1;
    for (int k = 0; k < l->nparticles && !status; ++k)
        status = build_one_of_list(&b[k], &l->particles[k], k, lat, core_target, thickness, l->gap);
    for (int k = 0; k < l->nparticles && !status; ++k) status = claim_columns(&b[k], k, owner, lat);
    for (int k = 0; k < l->nparticles && !status; ++k)
        status = check_gap(&b[k], k, l->gap, owner, lat);
    if (!status) {
        memset(states, STATE_SOLUTION, (size_t)lat->nsites);
        for (int k = 0; k < l->nparticles; ++k) {
            particle_paint(&b[k], states, lat);
            report_particle(report, k, &b[k], lat);
        }
    }
    for (int k = 0; b && k < l->nparticles; ++k) particle_free(&b[k]);
    free(b), free(owner);
    return status;
}

int initial_build(uint8_t *states, const lattice *lat, int64_t core_target, int shell_thickness,
                  const initial_layout *layout, initial_report *report) {
    *report = (initial_report){0};
    if (layout && layout->nparticles > 0)
        return build_list(states, lat, core_target, shell_thickness, layout, report);
    const initial_defect none = {0};
    return build_single(states, lat, core_target, shell_thickness, layout ? layout->defect : none,
                        report);
}

int initial_prism(uint8_t *states, const lattice *lat, int64_t core_target, int shell_thickness,
                  initial_report *report) {
    return initial_build(states, lat, core_target, shell_thickness, NULL, report);
}

int initial_report_of(int lx, int ly, int lz, int64_t core_target, int shell_thickness,
                      const initial_layout *layout, initial_report *report) {
    const lattice geometry = {
        .lx = lx, .ly = ly, .lz = lz, .ncolumns = lx * ly, .nsites = lx * ly * lz};
    uint8_t *states = malloc((size_t)geometry.nsites);
    if (!states) return ripen_fail(RIPEN_ENOMEM, "out of memory building the initial state");
    const int status =
        initial_build(states, &geometry, core_target, shell_thickness, layout, report);
    free(states);
    return status;
}
