/* The order parameter λ (lambda.h). */
#include "ripen/engine/lambda.h"

#include "ripen/engine/error.h"

#include <stdlib.h>
#include <string.h>

const char *const lambda_kind_names[LAMBDA_KINDS] = {"cluster", "q", "crack"};

static uint32_t next_search(lambda_tracker *t) {
    if (++t->search == 0) { /* stamps wrapped: forget them all */
        memset(t->stamp, 0, sizeof *t->stamp * (size_t)t->nsites);
        t->search = 1;
    }
    return t->search;
}

/* Breadth-first search of the core cluster of `start`; its sites end in t->queue. */
static int64_t search_from(lambda_tracker *t, const replica *r, int32_t start, uint32_t stamp) {
    int64_t head = 0, tail = 0;
    t->queue[tail++] = start;
    t->stamp[start] = stamp;
    while (head < tail) {
        const int32_t *neighbour =
            r->lat->neighbour + (int64_t)t->queue[head++] * LATTICE_DIRECTIONS;
        for (int d = 0; d < LATTICE_DIRECTIONS; ++d) {
            const int32_t j = neighbour[d];
            if (t->stamp[j] != stamp && site_state(r->site[j]) == STATE_CORE) {
                t->stamp[j] = stamp;
                t->queue[tail++] = j;
            }
        }
    }
    return tail;
}

static void keep_members(lambda_tracker *t, int64_t size) {
    memcpy(t->members, t->queue, sizeof *t->members * (size_t)size);
    t->nmembers = size;
}

/* Sites of t->queue[0 .. size) with a solution neighbour (over all 8 directions, whichever bonds
 * the model counts: an opening is where solution touches the core). */
static int64_t exposed_sites(const int32_t *sites, int64_t size, const replica *r) {
    int64_t exposed = 0;
    for (int64_t k = 0; k < size; ++k) {
        const int32_t *neighbour = r->lat->neighbour + (int64_t)sites[k] * LATTICE_DIRECTIONS;
        int open = 0;
        for (int d = 0; d < LATTICE_DIRECTIONS; ++d)
            open |= site_state(r->site[neighbour[d]]) == STATE_SOLUTION;
        exposed += open;
    }
    return exposed;
}

/* Every cluster: the largest becomes the main one. For the crack measure, of several equally
 * large ones the most exposed, so that λ is a function of the configuration alone. */
static int64_t full_search(lambda_tracker *t, const replica *r) {
    const uint32_t stamp = next_search(t);
    int64_t largest = 0, most_exposed = -1;
    t->full_searches++;
    for (int32_t i = 0; i < t->nsites; ++i) {
        if (t->stamp[i] == stamp || site_state(r->site[i]) != STATE_CORE) continue;
        const int64_t size = search_from(t, r, i, stamp);
        if (size < largest) continue;
        const int64_t exposed = t->kind == LAMBDA_CRACK ? exposed_sites(t->queue, size, r) : 0;
        if (size > largest || exposed > most_exposed)
            largest = size, most_exposed = exposed, keep_members(t, size);
    }
    if (largest == 0) t->nmembers = 0;
    return largest;
}

/* The main cluster from one of its previous sites still core; the full search if none is, or if
 * the core outside it could hold a larger cluster (or, for the crack measure, one as large). */
static int64_t largest_cluster(lambda_tracker *t, const replica *r) {
    t->searches++;
    const int64_t tie = t->kind == LAMBDA_CRACK;
    for (int64_t k = 0; k < t->nmembers; ++k) {
        const int32_t seed = t->members[k];
        if (site_state(r->site[seed]) != STATE_CORE) continue;
        const int64_t main = search_from(t, r, seed, next_search(t));
        if (r->counts.ncore - main + tie > main) break;
        keep_members(t, main);
        return main;
    }
    return full_search(t, r);
}

static int64_t crack_measure(lambda_tracker *t, const replica *r) {
    const int64_t cluster = largest_cluster(t, r);
    const int64_t exposed = exposed_sites(t->members, t->nmembers, r);
    return LAMBDA_CRACK_STRIDE * cluster +
           (exposed < LAMBDA_CRACK_STRIDE - 1 ? exposed : LAMBDA_CRACK_STRIDE - 1);
}

int64_t lambda_absolute(lambda_tracker *t, const replica *r) {
    if (t->kind == LAMBDA_Q) return r->counts.ncore;
    if (r->serial == t->serial && r->changes == t->changes) return t->value + t->origin;
    t->serial = r->serial, t->changes = r->changes;
    t->value = (t->kind == LAMBDA_CRACK ? crack_measure(t, r) : largest_cluster(t, r)) - t->origin;
    return t->value + t->origin;
}

int64_t lambda_measure(lambda_tracker *t, const replica *r) {
    return lambda_absolute(t, r) - t->origin;
}

int lambda_init_origin(lambda_tracker *t, lambda_kind kind, const replica *r, int64_t origin) {
    *t = (lambda_tracker){.kind = kind, .nsites = r->lat->nsites, .origin = 0};
    if (kind != LAMBDA_Q) {
        t->stamp = calloc((size_t)t->nsites, sizeof *t->stamp);
        t->queue = malloc(sizeof *t->queue * (size_t)t->nsites);
        t->members = malloc(sizeof *t->members * (size_t)t->nsites);
        if (!t->stamp || !t->queue || !t->members) {
            lambda_free(t);
            return ripen_fail(RIPEN_ENOMEM, "out of memory for the order parameter");
        }
        t->serial = r->serial + 1; /* no state evaluated yet */
    }
    t->origin = origin;
    return RIPEN_OK;
}

int lambda_init(lambda_tracker *t, lambda_kind kind, const replica *r) {
    int status = lambda_init_origin(t, kind, r, 0);
    if (!status) t->origin = lambda_absolute(t, r), t->value = 0;
    return status;
}

void lambda_free(lambda_tracker *t) {
    free(t->stamp), free(t->queue), free(t->members);
    *t = (lambda_tracker){0};
}
