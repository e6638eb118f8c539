#include "ripen/observe.h"

#include "ripen/error.h"

#include <stdlib.h>

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

void doubling_update(doubling_tracker *d, const replica *r) {
    mark(d, DOUBLING_AREA, r->area_core, r->step);
    mark(d, DOUBLING_COUNT, r->counts.ncore, r->step);
    /* The cluster search is O(N): only when the core could have doubled and the lattice
     * changed since the last search (a rejection-free step often changes nothing). */
    if (d->tau[DOUBLING_CLUSTER] < 0 && r->counts.ncore >= 2 * d->initial[DOUBLING_CLUSTER] &&
        r->changes != d->searched_at) {
        d->searched_at = r->changes;
        mark(d, DOUBLING_CLUSTER, replica_largest_core_cluster(r, d->scratch), r->step);
    }
}

observation observe_without_cluster(const replica *r) {
    return (observation){.step = r->step,
                         .ncore = r->counts.ncore,
                         .nshell = r->counts.nshell,
                         .area_core = r->area_core,
                         .area_shell = r->area_shell,
                         .largest_cluster = -1,
                         .energy = replica_energy(r)};
}

observation observe(const replica *r, int32_t *scratch) {
    observation o = observe_without_cluster(r);
    o.largest_cluster = replica_largest_core_cluster(r, scratch);
    return o;
}
