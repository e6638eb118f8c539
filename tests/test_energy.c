/* Energies computed by hand from MODEL.md, for both energy forms, against (1) energies recomputed
 * from scratch on real configurations and (2) the kernels' lookup tables.
 *
 * Hand derivations (paper parameters, 8 bonds; indicator form unless said):
 *  - bulk core: each site owns 8/2 = 4 bonds: -4 * 10 - (-30) = -10 kT per site; bulk shell:
 *    -4 * 6.7 + 20 = -6.8. Product form: core the same; shell -4 * (4 * 6.7) + 2 * 20 = -67.2.
 *  - first core site on a bare flat side facet of a column particle: 2 in-plane bonds, no
 *    vertical ones: -2 * 10 + 30 = +10 (same in the product form); the next one beside it has 3
 *    bonds: -30 + 30 = 0.
 *  - the shell site on a flat core facet (2 core + 6 shell neighbours) turned into core
 *    ("identity"): bonds 6 ss + 2 cs become 2 cc + 6 cs:
 *    -(2*10 + 6*6.7) + (6*6.7 + 2*6.7) - (-30 - (-20)) = -6.6 + 10 = +3.4.
 *    Product form: -(20 + 6 * 13.4) + (6 * 26.8 + 2 * 13.4) - (-30 + 40) = +77.2.
 *  - deleting an outer shell site of a 2-thick shell on a flat facet (6 shell neighbours):
 *    +6 * 6.7 - 20 = +20.2.
 *  - swapping a facet core site i (6 core + 2 shell neighbours) with the shell site j over it
 *    (2 core + 6 shell): +16.5, counted bond by bond above check_facet_swap.
 */
#include "attempt.h"
#include "fixture.h"

#include <math.h>

static const double tolerance = 1e-9; /* 6.7 is not exact in binary; sums differ in order */

static model_params paper_params(energy_form form) {
    model_params p;
    model_params_default(&p);
    p.form = form;
    return p;
}

static void check_bulk(energy_form form, int state, double per_site) {
    const model_params p = paper_params(form);
    fixture f;
    fixture_open(&f, 6, 6, 4, &p, 1, 0);
    memset(f.states, state, (size_t)f.lat.nsites);
    REQUIRE(replica_load_states(&f.rep, f.states) == RIPEN_OK, "%s", ripen_last_error());
    const double e = replica_energy(&f.rep);
    CHECK(fabs(e / f.lat.nsites - per_site) < tolerance, "%s bulk state %d: %g kT/site, want %g",
          energy_form_names[form], state, e / f.lat.nsites, per_site);
    fixture_close(&f);
}

/* dE of setting site i to `to`, from scratch, checked against the table too. */
static double scratch_change(fixture *f, int32_t i, int to) {
    replica_store_states(&f->rep, f->states);
    const double before = fixture_scratch_energy(f, f->states);
    const int from = f->states[i];
    f->states[i] = (uint8_t)to;
    const double after = fixture_scratch_energy(f, f->states);
    f->states[i] = (uint8_t)from;
    const double table = f->tab.delta_energy[f->rep.site[i]][to];
    CHECK(fabs(table - (after - before)) < tolerance, "table dE %g, scratch %g", table,
          after - before);
    return after - before;
}

/* Finds a site in state `state` with exactly `ncore` core and `nshell` shell bonded neighbours. */
static int32_t find_site(const fixture *f, int state, int ncore, int nshell) {
    for (int32_t i = 0; i < f->lat.nsites; ++i) {
        const uint8_t c = f->rep.site[i];
        if (site_state(c) == state && site_core_neighbours(c) == ncore &&
            site_shell_neighbours(c) == nshell)
            return i;
    }
    return -1;
}

static void check_bare_facet(energy_form form) {
    const model_params p = paper_params(form);
    fixture f;
    fixture_open(&f, 24, 24, 4, &p, 1, 0);
    fixture_prism(&f, 200, 0);
    const int32_t first = find_site(&f, STATE_SOLUTION, 2, 0);
    REQUIRE(first >= 0, "no empty site on a bare facet");
    CHECK(fabs(scratch_change(&f, first, STATE_CORE) - 10.0) < tolerance, "first facet site");
    replica_set_state(&f.rep, first, STATE_CORE);
    const int32_t second = find_site(&f, STATE_SOLUTION, 3, 0);
    REQUIRE(second >= 0, "no empty site beside the new one");
    CHECK(fabs(scratch_change(&f, second, STATE_CORE) - 0.0) < tolerance, "second facet site");
    fixture_close(&f);
}

static void check_shell_sites(energy_form form, double inner_to_core) {
    model_params p = paper_params(form);
    p.moves = MOVES_IDENTITY;
    fixture f;
    fixture_open(&f, 24, 24, 4, &p, 1, 0);
    fixture_prism(&f, 200, 2);
    const int32_t inner = find_site(&f, STATE_SHELL, 2, 6);
    REQUIRE(inner >= 0, "no inner shell site on a flat facet");
    CHECK(fabs(scratch_change(&f, inner, STATE_CORE) - inner_to_core) < tolerance,
          "%s inner shell -> core: %g, want %g", energy_form_names[form],
          scratch_change(&f, inner, STATE_CORE), inner_to_core);
    /* The acceptance threshold of that move is exp(-dE) on the 2^63 scale (identity moves are
     * symmetric: no Hastings factor). */
    const uint8_t code = f.rep.site[inner];
    CHECK(fabs((double)f.tab.accept[code][STATE_CORE] / 0x1p63 - exp(-inner_to_core)) < 1e-12,
          "threshold of the inner shell move");
    if (form == ENERGY_INDICATOR) {
        const int32_t outer = find_site(&f, STATE_SHELL, 0, 6);
        REQUIRE(outer >= 0, "no outer shell site on a flat facet");
        CHECK(fabs(scratch_change(&f, outer, STATE_SOLUTION) - 20.2) < tolerance,
              "outer shell deletion: %g", scratch_change(&f, outer, STATE_SOLUTION));
    }
    fixture_close(&f);
}

/* Swap of facet core site i (6 core + 2 shell nbrs) with the shell site j over it (2 core + 6
 * shell): bonds touching i or j before: i-core x6 (cc), i-j, i-k, j-m (cs), j-shell x6 (ss) =
 * 60 + 20.1 + 40.2 = 120.3; after: i-core x6 (cs), i-j (cs), i-k (ss), j-m (cc), j-shell x6 (cs)
 * = 40.2 + 6.7 + 6.7 + 10 + 40.2 = 103.8. dE = +16.5. */
static void check_facet_swap(void) {
    const model_params p = paper_params(ENERGY_INDICATOR);
    fixture f;
    fixture_open(&f, 24, 24, 4, &p, 1, 0);
    fixture_prism(&f, 200, 2);
    int found = 0;
    for (int32_t i = 0; i < f.lat.nsites && !found; ++i) {
        const uint8_t ci = f.rep.site[i];
        if (site_state(ci) != STATE_CORE || site_core_neighbours(ci) != 6 ||
            site_shell_neighbours(ci) != 2)
            continue;
        for (int d = 0; d < LATTICE_INPLANE_DIRECTIONS && !found; ++d) {
            const int32_t j = lattice_neighbour(&f.lat, i, d);
            const uint8_t cj = f.rep.site[j];
            if (site_state(cj) != STATE_SHELL || site_core_neighbours(cj) != 2 ||
                site_shell_neighbours(cj) != 6)
                continue;
            found = 1;
            replica_store_states(&f.rep, f.states);
            const double before = fixture_scratch_energy(&f, f.states);
            f.states[i] = STATE_SHELL, f.states[j] = STATE_CORE;
            const double after = fixture_scratch_energy(&f, f.states);
            CHECK(fabs(after - before - 16.5) < tolerance, "facet swap dE %g", after - before);
            const uint64_t threshold = attempt_swap_threshold(&f.tab, ci, cj, d);
            CHECK(fabs((double)threshold / 0x1p63 - exp(-16.5)) < 1e-15,
                  "swap threshold %g, want exp(-16.5) = %g", (double)threshold / 0x1p63,
                  exp(-16.5));
        }
    }
    CHECK(found, "no facet core/shell pair found");
    fixture_close(&f);
}

/* Six bonds (in-plane only): bulk core is -3 * 10 + 30 = 0 per site, bulk shell -3 * 6.7 + 20 =
 * -0.1: the paper's mu are exactly coexistence for 6 bonds (MODEL.md). */
static void check_six_bonds(void) {
    model_params p = paper_params(ENERGY_INDICATOR);
    p.bond_directions = 6;
    fixture f;
    fixture_open(&f, 6, 6, 4, &p, 1, 0);
    memset(f.states, STATE_CORE, (size_t)f.lat.nsites);
    REQUIRE(replica_load_states(&f.rep, f.states) == RIPEN_OK, "%s", ripen_last_error());
    CHECK(fabs(replica_energy(&f.rep)) < tolerance, "six-bond bulk core: %g",
          replica_energy(&f.rep));
    memset(f.states, STATE_SHELL, (size_t)f.lat.nsites);
    REQUIRE(replica_load_states(&f.rep, f.states) == RIPEN_OK, "%s", ripen_last_error());
    CHECK(fabs(replica_energy(&f.rep) / f.lat.nsites + 0.1) < tolerance, "six-bond bulk shell");
    fixture_close(&f);
}

/* The table's dE equals the scratch difference for every site and every target state, on a
 * random configuration, for every reading that changes the energy. */
static void check_tables_everywhere(energy_form form, int bonds) {
    model_params p = paper_params(form);
    p.bond_directions = bonds;
    fixture f;
    fixture_open(&f, 5, 4, 3, &p, 1, 0);
    philox_stream s;
    philox_stream_init(&s, philox_key_from_seed(3), 0, 0, PURPOSE_TEST);
    for (int32_t i = 0; i < f.lat.nsites; ++i) f.states[i] = (uint8_t)(philox_stream_next(&s) % 3);
    REQUIRE(replica_load_states(&f.rep, f.states) == RIPEN_OK, "%s", ripen_last_error());
    for (int32_t i = 0; i < f.lat.nsites; ++i)
        for (int to = 0; to < STATE_COUNT; ++to) scratch_change(&f, i, to);
    fixture_close(&f);
}

int main(void) {
    check_bulk(ENERGY_INDICATOR, STATE_CORE, -10.0);
    check_bulk(ENERGY_INDICATOR, STATE_SHELL, -6.8);
    check_bulk(ENERGY_PRODUCT, STATE_CORE, -10.0);
    check_bulk(ENERGY_PRODUCT, STATE_SHELL, -67.2);
    check_bulk(ENERGY_INDICATOR, STATE_SOLUTION, 0.0);
    check_bare_facet(ENERGY_INDICATOR);
    check_bare_facet(ENERGY_PRODUCT);
    check_shell_sites(ENERGY_INDICATOR, 3.4);
    check_shell_sites(ENERGY_PRODUCT, 77.2);
    check_facet_swap();
    check_six_bonds();
    for (int form = 0; form < ENERGY_FORM_COUNT; ++form) {
        check_tables_everywhere((energy_form)form, 8);
        check_tables_everywhere((energy_form)form, 6);
    }
    return check_exit("test_energy");
}
