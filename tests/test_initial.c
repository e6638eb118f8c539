/* Initial condition: the prism's counts, its shell checked against an independent brute-force
 * distance computation, the choice of the closest hexagon, and clear errors when it cannot fit. */
#include "fixture.h"

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
    return check_exit("test_initial");
}
