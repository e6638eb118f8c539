/* Initial condition: the prism's counts, its shell checked against an independent brute-force
 * distance computation, the choice of the closest hexagon, and clear errors when it cannot fit;
 * a list of particles (each the single prism moved to its place; overlap, gap and box checks);
 * seeded defects (what they remove, where, and their errors). */
#include "fixture.h"

#include "ripen/engine/observe.h"

#include <math.h>

/* In-plane hex distance on the periodic lattice, brute force over images. */
static int plane_distance(const lattice *lat, int x1, int y1, int x2, int y2) {
    int best = 1 << 30;
    for (int ix = -1; ix <= 1; ++ix)
        for (int iy = -1; iy <= 1; ++iy) {
            const int dx = x2 - x1 + ix * lat->lx, dy = y2 - y1 + iy * lat->ly;
            int d = abs(dx) > abs(dy) ? abs(dx) : abs(dy);
            if (abs(dx + dy) > d) d = abs(dx + dy);
            if (d < best) best = d;
        }
    return best;
}

static void check_prism(int lx, int ly, int lz, int64_t core, int shell, int64_t want_core) {
    model_params p;
    model_params_default(&p);
    fixture f;
    fixture_open(&f, lx, ly, lz, &p, 1, 0);
    const initial_report rep = fixture_prism(&f, core, shell);
    CHECK(rep.core_sites == want_core, "%lld core sites requested: got %lld, want %lld",
          (long long)core, (long long)rep.core_sites, (long long)want_core);
    CHECK(rep.core_sites == f.rep.counts.ncore && rep.shell_sites == f.rep.counts.nshell,
          "report disagrees with the configuration");
    CHECK(rep.hexagon_sites * lz == rep.core_sites, "prism is not uniform in z");
    /* Every layer identical (a prism spanning all layers). */
    for (int32_t i = f.lat.ncolumns; i < f.lat.nsites; ++i)
        CHECK(f.states[i] == f.states[i % f.lat.ncolumns], "layer %d differs", i / f.lat.ncolumns);
    /* Shell = non-core sites within in-plane distance `shell` of the core, by brute force. */
    long shell_count = 0;
    for (int32_t c = 0; c < f.lat.ncolumns; ++c) {
        int x, y, z;
        lattice_coords(&f.lat, c, &x, &y, &z);
        int nearest = 1 << 30;
        for (int32_t k = 0; k < f.lat.ncolumns; ++k)
            if (f.states[k] == STATE_CORE) {
                int kx, ky, kz;
                lattice_coords(&f.lat, k, &kx, &ky, &kz);
                const int d = plane_distance(&f.lat, x, y, kx, ky);
                if (d < nearest) nearest = d;
            }
        const int want =
            nearest == 0 ? STATE_CORE : (nearest <= shell ? STATE_SHELL : STATE_SOLUTION);
        CHECK(f.states[c] == want, "column (%d, %d) at distance %d holds %d", x, y, nearest,
              f.states[c]);
        shell_count += want == STATE_SHELL;
    }
    CHECK(shell_count * lz == rep.shell_sites, "shell count");
    /* Centred: the core's centre of mass within a site of (Lx/2, Ly/2). */
    double cx = 0, cy = 0;
    for (int32_t c = 0; c < f.lat.ncolumns; ++c)
        if (f.states[c] == STATE_CORE) {
            int x, y, z;
            lattice_coords(&f.lat, c, &x, &y, &z);
            cx += x, cy += y;
        }
    cx /= rep.hexagon_sites, cy /= rep.hexagon_sites;
    CHECK(fabs(cx - lx / 2) <= 1 && fabs(cy - ly / 2) <= 1, "core centred at (%.1f, %.1f)", cx, cy);
    printf("%dx%dx%d, %lld core requested, shell %d: %lld core (hexagon %d, sides %d/%d), "
           "%lld shell\n",
           lx, ly, lz, (long long)core, shell, (long long)rep.core_sites, rep.hexagon_sites,
           rep.side_short, rep.side_long, (long long)rep.shell_sites);
    fixture_close(&f);
}

/* The chosen hexagon is the closest of the candidates: 1, 3, 7, 12, 19, 27, 37, 48, 61, ... */
static void check_closest(void) {
    const int sizes[] = {1, 3, 7, 12, 19, 27, 37, 48, 61, 75, 91};
    const int count = sizeof sizes / sizeof sizes[0];
    model_params p;
    model_params_default(&p);
    fixture f;
    fixture_open(&f, 40, 40, 2, &p, 1, 0);
    for (int target = 1; target <= 180; ++target) {
        initial_report rep;
        REQUIRE(initial_prism(f.states, &f.lat, target, 0, &rep) == RIPEN_OK, "%s",
                ripen_last_error());
        int best = sizes[0];
        for (int k = 0; k < count; ++k)
            if (abs(2 * sizes[k] - target) < abs(2 * best - target)) best = sizes[k];
        CHECK(rep.hexagon_sites == best, "target %d: hexagon %d, want %d", target,
              rep.hexagon_sites, best);
    }
    fixture_close(&f);
}

static void check_error(int lx, int ly, int lz, int64_t core, int shell, const char *needle) {
    model_params p;
    model_params_default(&p);
    fixture f;
    fixture_open(&f, lx, ly, lz, &p, 1, 0);
    initial_report rep;
    CHECK(initial_prism(f.states, &f.lat, core, shell, &rep) == RIPEN_EINVAL,
          "core %lld shell %d accepted on %dx%dx%d", (long long)core, shell, lx, ly, lz);
    CHECK(strstr(ripen_last_error(), needle) != NULL, "message \"%s\" lacks \"%s\"",
          ripen_last_error(), needle);
    fixture_close(&f);
}

/* The single prism of (core, shell) built centred on an lx x ly x lz lattice, into `states`. */
static void single_prism(const lattice *lat, int64_t core, int shell, uint8_t *states) {
    initial_report rep;
    REQUIRE(initial_prism(states, lat, core, shell, &rep) == RIPEN_OK, "%s", ripen_last_error());
}

/* Each particle of a list is the single prism of its request, moved from (Lx/2, Ly/2) to its
 * place (periodically): the list's states are the union of the moved prisms. */
static void check_list(void) {
    lattice lat;
    REQUIRE(lattice_init(&lat, 40, 36, 4) == RIPEN_OK, "%s", ripen_last_error());
    initial_layout l = {.gap = 2, .nparticles = 3};
    l.particles[0] = (initial_particle){.x = 8, .y = 9, .core_sites = 0, .shell_thickness = -1};
    l.particles[1] = (initial_particle){.x = 30, .y = 8, .core_sites = 60, .shell_thickness = 0};
    l.particles[2] = (initial_particle){.x = 38, .y = 27, .core_sites = 120, .shell_thickness = 1};
    uint8_t *states = malloc((size_t)lat.nsites), *one = malloc((size_t)lat.nsites);
    uint8_t *want = calloc((size_t)lat.nsites, 1);
    initial_report rep;
    REQUIRE(initial_build(states, &lat, 200, 2, &l, &rep) == RIPEN_OK, "%s", ripen_last_error());
    CHECK(rep.nparticles == 3, "3 particles reported");
    const int64_t cores[3] = {200, 60, 120};
    const int shells[3] = {2, 0, 1};
    int64_t core_total = 0, shell_total = 0;
    for (int k = 0; k < 3; ++k) {
        single_prism(&lat, cores[k], shells[k], one);
        int64_t core = 0, shell = 0;
        for (int32_t i = 0; i < lat.nsites; ++i) {
            if (!one[i]) continue;
            int x, y, z;
            lattice_coords(&lat, i, &x, &y, &z);
            x = (x - lat.lx / 2 + l.particles[k].x + lat.lx) % lat.lx;
            y = (y - lat.ly / 2 + l.particles[k].y + lat.ly) % lat.ly;
            want[lattice_index(&lat, x, y, z)] = one[i];
            core += one[i] == STATE_CORE, shell += one[i] == STATE_SHELL;
        }
        CHECK(rep.particle_core[k] == core && rep.particle_shell[k] == shell,
              "particle %d: %lld + %lld sites, the single prism %lld + %lld", k,
              (long long)rep.particle_core[k], (long long)rep.particle_shell[k], (long long)core,
              (long long)shell);
        CHECK(states[rep.particle_site[k]] == STATE_CORE, "particle %d's site is core", k);
        core_total += core, shell_total += shell;
    }
    CHECK(!memcmp(states, want, (size_t)lat.nsites), "the list is not the moved prisms");
    CHECK(rep.core_sites == core_total && rep.shell_sites == shell_total, "totals");
    /* Particle 2 at (38, 27) wraps across x = 0: its core is one cluster there. */
    CHECK(states[lattice_index(&lat, 0, 27, 0)] == STATE_CORE, "wrapped across the boundary");
    free(states), free(one), free(want);
    lattice_free(&lat);
}

static void check_list_error(initial_layout *l, int lx, const char *needle) {
    lattice lat;
    REQUIRE(lattice_init(&lat, lx, 30, 4) == RIPEN_OK, "%s", ripen_last_error());
    uint8_t *states = malloc((size_t)lat.nsites);
    initial_report rep;
    CHECK(initial_build(states, &lat, 200, 2, l, &rep) == RIPEN_EINVAL, "accepted: %s", needle);
    CHECK(strstr(ripen_last_error(), needle) != NULL, "message \"%s\" lacks \"%s\"",
          ripen_last_error(), needle);
    free(states);
    lattice_free(&lat);
}

/* Two shell-free 7-site hexagons (radius 1) side by side along x: their columns are d - 3
 * solution columns apart at centre distance d. The gap is a minimum, met exactly. */
static void check_gap(void) {
    for (int gap = 1; gap <= 3; ++gap)
        for (int d = 3; d <= 7; ++d) {
            initial_layout l = {.gap = gap, .nparticles = 2};
            l.particles[0] = (initial_particle){.x = 5, .y = 10, .core_sites = 28};
            l.particles[1] = (initial_particle){.x = 5 + d, .y = 10, .core_sites = 28};
            lattice lat;
            REQUIRE(lattice_init(&lat, 30, 30, 4) == RIPEN_OK, "%s", ripen_last_error());
            uint8_t *states = malloc((size_t)lat.nsites);
            initial_report rep;
            const int status = initial_build(states, &lat, 200, 0, &l, &rep);
            const int apart = d - 3; /* solution columns between them */
            CHECK((status == RIPEN_OK) == (apart >= gap), "gap %d, %d apart: status %d (%s)", gap,
                  apart, status, ripen_last_error());
            if (status && apart >= 0) {
                char needle[96];
                snprintf(needle, sizeof needle,
                         "particles[0] and particles[1] are %d solution sites apart", apart);
                CHECK(strstr(ripen_last_error(), needle) != NULL, "message \"%s\"",
                      ripen_last_error());
            }
            free(states);
            lattice_free(&lat);
        }
}

static void check_list_errors(void) {
    initial_layout l = {.gap = 2, .nparticles = 2};
    l.particles[0] = (initial_particle){.x = 8, .y = 8, .shell_thickness = -1};
    l.particles[1] = (initial_particle){.x = 40, .y = 8, .shell_thickness = -1};
    check_list_error(&l, 40, "particles[1].x = 40: must be in [0, 39]");
    l.particles[1].x = 14;
    check_list_error(&l, 40, "particles[0] and particles[1] overlap");
    l.particles[1].x = 20; /* each spans 12 columns: the shells touch */
    check_list_error(&l, 40, "are 0 solution sites apart");
    l.particles[1].x = 21;
    check_list_error(&l, 40, "are 1 solution sites apart");
    l.particles[1].x = 22;
    l.particles[1].core_sites = 100000;
    check_list_error(&l, 40, "particles[1].core_sites = 100000");
    l.particles[1].core_sites = 0;
    l.particles[1].shell_thickness = 20;
    check_list_error(&l, 40, "particles[1] (48 core sites per layer, shell 20) spans");
    l.particles[1].shell_thickness = -1;
    l.defect = (initial_defect){.sites = 2, .place = DEFECT_FACET};
    check_list_error(&l, 40, "give each particle its own defect");
    l.defect.sites = 0;
    l.particles[1].shell_thickness = 0;
    l.particles[1].defect = (initial_defect){.sites = 1, .place = DEFECT_EDGE};
    check_list_error(&l, 40, "particles[1].defect: the particle has no shell");
}

/* A defect removes exactly k shell sites of the particle, nearest the place first: the sites
 * for k are those for k - 1 and one more, the first touches the core (it exposes core), an edge
 * takes one site per layer along the vertical edge before widening, a corner stays in layer 0
 * while it can. */
static void check_defect(defect_place place) {
    model_params p;
    model_params_default(&p);
    fixture f;
    fixture_open(&f, 24, 24, 4, &p, 1, 0);
    uint8_t *plain = malloc((size_t)f.lat.nsites), *previous = malloc((size_t)f.lat.nsites);
    single_prism(&f.lat, 200, 2, plain);
    memcpy(previous, plain, (size_t)f.lat.nsites);
    initial_layout l = {.gap = 2};
    int32_t first_column = -1;
    for (int k = 1; k <= 12; ++k) {
        l.defect = (initial_defect){.sites = k, .place = place};
        initial_report rep;
        REQUIRE(initial_build(f.states, &f.lat, 200, 2, &l, &rep) == RIPEN_OK, "%s",
                ripen_last_error());
        CHECK(rep.shell_sites == 240 - k, "%s %d: %lld shell sites", defect_place_names[place], k,
              (long long)rep.shell_sites);
        int32_t added = -1, changed = 0;
        for (int32_t i = 0; i < f.lat.nsites; ++i) {
            CHECK(f.states[i] == plain[i] || (plain[i] == STATE_SHELL && !f.states[i]),
                  "site %d: not a shell site removed", i);
            if (f.states[i] != previous[i]) added = i, ++changed;
        }
        CHECK(changed == 1, "%s %d: %d sites differ from k - 1", defect_place_names[place], k,
              changed);
        if (k == 1) {
            first_column = lattice_column(&f.lat, added);
            REQUIRE(replica_load_states(&f.rep, f.states) == RIPEN_OK, "%s", ripen_last_error());
            CHECK(replica_exposed_core(&f.rep) > 0, "%s 1: no core exposed",
                  defect_place_names[place]);
        }
        if (place == DEFECT_EDGE && k <= f.lat.lz)
            CHECK(lattice_column(&f.lat, added) == first_column, "edge %d: not along the edge", k);
        if (place == DEFECT_CORNER && k <= 6)
            CHECK(added < f.lat.ncolumns, "corner %d: not in layer 0", k);
        memcpy(previous, f.states, (size_t)f.lat.nsites);
    }
    free(plain), free(previous);
    fixture_close(&f);
}

static void check_defect_errors(void) {
    lattice lat;
    REQUIRE(lattice_init(&lat, 24, 24, 4) == RIPEN_OK, "%s", ripen_last_error());
    uint8_t *states = malloc((size_t)lat.nsites);
    initial_report rep;
    initial_layout l = {.gap = 2, .defect = {.sites = 500, .place = DEFECT_FACET}};
    CHECK(initial_build(states, &lat, 200, 2, &l, &rep) == RIPEN_EINVAL &&
              strstr(ripen_last_error(), "defect.sites = 500: more than the"),
          "too many sites: %s", ripen_last_error());
    l.defect = (initial_defect){.sites = 1, .place = DEFECT_CORNER};
    CHECK(initial_build(states, &lat, 200, 0, &l, &rep) == RIPEN_EINVAL &&
              strstr(ripen_last_error(), "defect: the particle has no shell"),
          "shell-free: %s", ripen_last_error());
    free(states);
    lattice_free(&lat);
}

int main(void) {
    check_prism(80, 80, 4, 200, 2, 192); /* the paper: 48-site hexagon, sides 4 and 5 */
    check_prism(80, 80, 4, 200, 0, 192);
    check_prism(24, 24, 4, 200, 3, 192);
    check_prism(30, 20, 3, 100, 1, 111); /* 37 x 3 = 111 is closest to 100 */
    check_prism(7, 5, 3, 3, 1, 3);
    check_closest();
    check_error(10, 10, 4, 200, 2, "needs a lattice of at least");
    check_error(80, 80, 4, 0, 2, "core_sites = 0");
    check_error(80, 80, 4, 200, -1, "shell_thickness = -1");
    check_error(8, 8, 2, 1000, 0, "core_sites = 1000");
    check_list();
    check_gap();
    check_list_errors();
    for (int place = 0; place < DEFECT_PLACES; ++place) check_defect((defect_place)place);
    check_defect_errors();
    return check_exit("test_initial");
}
