#include "ripen/engine/observe.h"

#include "ripen/engine/error.h"

#include <stdlib.h>
#include <string.h>

const char *const doubling_criterion_names[DOUBLING_CRITERIA] = {"cluster", "area", "count"};

int doubling_init(doubling_tracker *d, const replica *r) {
    *d = (doubling_tracker){0};
    d->scratch = malloc(sizeof *d->scratch * 2 * (size_t)r->lat->nsites);
    if (!d->scratch) return ripen_fail(RIPEN_ENOMEM, "out of memory for cluster search");
    d->initial[DOUBLING_CLUSTER] = replica_largest_core_cluster(r, d->scratch);
    d->initial[DOUBLING_AREA] = r->area_core;
    d->initial[DOUBLING_COUNT] = r->counts.ncore;
    for (int c = 0; c < DOUBLING_CRITERIA; ++c) d->tau[c] = -1;
    d->searched_at = r->changes;
    return RIPEN_OK;
}

void doubling_free(doubling_tracker *d) {
    free(d->scratch);
    d->scratch = NULL;
}

static void mark(doubling_tracker *d, doubling_criterion c, int64_t size, uint64_t step) {
    if (d->tau[c] < 0 && size >= 2 * d->initial[c]) d->tau[c] = (int64_t)step;
}

void doubling_update_counts(doubling_tracker *d, const replica *r) {
    mark(d, DOUBLING_AREA, r->area_core, r->step);
    mark(d, DOUBLING_COUNT, r->counts.ncore, r->step);
}

void doubling_mark_cluster(doubling_tracker *d, int64_t largest_cluster, uint64_t step) {
    mark(d, DOUBLING_CLUSTER, largest_cluster, step);
}

void doubling_update(doubling_tracker *d, const replica *r) {
    doubling_update_counts(d, r);
    /* The cluster search is O(N): only when the core could have doubled and the lattice
     * changed since the last search (a rejection-free step often changes nothing). */
    if (d->tau[DOUBLING_CLUSTER] < 0 && r->counts.ncore >= 2 * d->initial[DOUBLING_CLUSTER] &&
        r->changes != d->searched_at) {
        d->searched_at = r->changes;
        mark(d, DOUBLING_CLUSTER, replica_largest_core_cluster(r, d->scratch), r->step);
    }
}

/* Whether site i has a solution neighbour among all 8, from the neighbours' states (the codes
 * count only bonded neighbours, which may be the 6 in-plane ones). */
static int touches_solution(const replica *r, int32_t i) {
    const int32_t *neighbour = r->lat->neighbour + (int64_t)i * LATTICE_DIRECTIONS;
    for (int d = 0; d < LATTICE_DIRECTIONS; ++d)
        if (site_state(r->site[neighbour[d]]) == STATE_SOLUTION) return 1;
    return 0;
}

/* Exposed core sites in columns [first, first + n); counts the columns holding core. */
static int64_t exposed_in_columns(const replica *r, int32_t first, int32_t n, int32_t *found) {
    const lattice *lat = r->lat;
    /* With 8 bonded directions a site's code counts its core and shell neighbours over all 8
     * (an extent-2 axis counts its one neighbour twice, as the code does): one byte per site. */
    const int from_code = r->tab->bond_directions == LATTICE_DIRECTIONS;
    const uint8_t core_lo = STATE_CORE * SITE_STATE_STRIDE, core_hi = core_lo + SITE_STATE_STRIDE;
    int64_t exposed = 0;
    for (int32_t column = first; column < first + n; ++column) {
        if (!r->column_core[column]) continue;
        ++*found;
        for (int32_t i = column; i < lat->nsites; i += lat->ncolumns) {
            const uint8_t code = r->site[i];
            if (code < core_lo || code >= core_hi) continue;
            exposed += from_code ? site_core_neighbours(code) + site_shell_neighbours(code) <
                                       LATTICE_DIRECTIONS
                                 : touches_solution(r, i);
        }
    }
    return exposed;
}

int64_t replica_exposed_core(const replica *r) {
    enum { BLOCK = 16 }; /* columns tested at once: most of the box holds no core */
    const int32_t ncolumns = r->lat->ncolumns;
    int64_t exposed = 0;
    int32_t found = 0; /* columns with core seen: the scan ends at the last one (area_core) */
    for (int32_t first = 0; first < ncolumns && found < r->area_core; first += BLOCK) {
        const int32_t n = ncolumns - first < BLOCK ? ncolumns - first : BLOCK;
        uint64_t words[BLOCK / 4] = {0}, any = 0;
        memcpy(words, r->column_core + first, sizeof *r->column_core * (size_t)n);
        for (int k = 0; k < BLOCK / 4; ++k) any |= words[k];
        if (any) exposed += exposed_in_columns(r, first, n, &found);
    }
    return exposed;
}

int32_t replica_core_columns(const replica *r, int32_t *columns) {
    enum { BLOCK = 16 };
    const int32_t ncolumns = r->lat->ncolumns;
    int32_t found = 0;
    for (int32_t first = 0; first < ncolumns && found < r->area_core; first += BLOCK) {
        const int32_t n = ncolumns - first < BLOCK ? ncolumns - first : BLOCK;
        uint64_t words[BLOCK / 4] = {0}, any = 0;
        memcpy(words, r->column_core + first, sizeof *r->column_core * (size_t)n);
        for (int k = 0; k < BLOCK / 4; ++k) any |= words[k];
        if (!any) continue;
        for (int32_t column = first; column < first + n; ++column)
            if (r->column_core[column]) columns[found++] = column;
    }
    return found;
}

observation observe_counts(const replica *r) {
    return (observation){.step = r->step,
                         .ncore = r->counts.ncore,
                         .nshell = r->counts.nshell,
                         .area_core = r->area_core,
                         .area_shell = r->area_shell,
                         .largest_cluster = -1,
                         .exposed_core = -1,
                         .energy = replica_energy(r)};
}

observation observe(const replica *r, int32_t *scratch) {
    observation o = observe_counts(r);
    o.largest_cluster = replica_largest_core_cluster(r, scratch);
    o.exposed_core = replica_exposed_core(r);
    return o;
}
