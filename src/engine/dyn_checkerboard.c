/* Checkerboard (colour-class) sweeps: a step visits the colour classes in a random order and
 * makes one attempt at every site of each class. Moves within a class cannot interact
 * (colouring.h), so the order inside a class does not matter and a class could be updated in
 * parallel or in SIMD lanes. The random bits of site i at step s are those of attempt number
 * s * nsites + i, whatever the processing order. Each class update satisfies detailed balance,
 * so the sweep samples exp(-E) like random-sequential; the kinetics differ.
 *
 * Batched kernel (kernel_metropolis.h): the step's visiting sequence (classes in this step's
 * order, each class's sites in increasing order) is cut into batches of 64 sites, a batch may
 * span two classes; the Philox blocks of a batch are computed together, then its attempts run in
 * sequence order through the exact filter, candidates through attempt_at(). So the result is
 * that of the straightforward loop (tests/test_kernels.c), including the order in which accepted
 * moves meet an umbrella window's wall. */
#include "kernel_metropolis.h"
#include "ripen/colouring.h"
#include "ripen/dynamics.h"
#include "ripen/error.h"

#include <stdlib.h>

typedef struct {
    metropolis_fast fast;
    philox_batch batch;                        /* blocks of the current batch */
    _Alignas(64) int32_t joined[PHILOX_BATCH]; /* sites of a batch that spans classes */
    colouring classes;
    int *order; /* this step's class order */
} checkerboard;

static void destroy(void *workspace) {
    checkerboard *cb = workspace;
    if (!cb) return;
    colouring_free(&cb->classes);
    free(cb->order);
    free(cb);
}

static int create(void **workspace, const lattice *lat, const model_tables *tab) {
    checkerboard *cb = aligned_alloc(_Alignof(checkerboard), sizeof *cb);
    if (!cb) return ripen_fail(RIPEN_ENOMEM, "out of memory for checkerboard sweeps");
    cb->classes = (colouring){0};
    cb->order = NULL;
    metropolis_fast_init(&cb->fast, tab);
    int status = colouring_build(&cb->classes, lat, COLOURING_SEPARATION);
    if (!status && !(cb->order = malloc(sizeof *cb->order * (size_t)cb->classes.nclasses)))
        status = ripen_fail(RIPEN_ENOMEM, "out of memory for checkerboard sweeps");
    if (status) {
        destroy(cb);
        return status;
    }
    *workspace = cb;
    return RIPEN_OK;
}

/* Position in the step's visiting sequence: class order[k], site index p in classes.sites. */
typedef struct {
    int k;
    int32_t p;
} sweep_position;

/* The next (up to) 64 sites of the sequence: a pointer into the class lists when they lie in
 * one class, else copied into cb->joined. Returns the count (0 at the end of the step). */
static int next_batch(checkerboard *cb, sweep_position *at, const int32_t **sites) {
    const colouring *c = &cb->classes;
    int count = 0;
    *sites = NULL;
    while (count < PHILOX_BATCH && at->k < c->nclasses) {
        const int32_t end = c->start[cb->order[at->k] + 1];
        const int32_t take =
            end - at->p < PHILOX_BATCH - count ? end - at->p : PHILOX_BATCH - count;
        if (count == 0 && take == PHILOX_BATCH) {
            *sites = c->sites + at->p; /* the common case: no copy */
        } else {
            for (int32_t q = 0; q < take; ++q) cb->joined[count + q] = c->sites[at->p + q];
            *sites = cb->joined;
        }
        count += (int)take;
        at->p += take;
        if (at->p == end && ++at->k < c->nclasses) at->p = c->start[cb->order[at->k]];
    }
    return count;
}

/* The full attempt, for the few the filter lets through; out of line, so that the filter loop
 * keeps its values in registers. */
__attribute__((noinline)) static int run_candidate(replica *r, const philox_batch *b, int j,
                                                   int32_t i, uint64_t position) {
    return attempt_at(r, i, b->w[1][j], attempt_accept_bits(metropolis_block(b, j)), position);
}

/* One batch: site sites[j] gets the block of attempt first + sites[j], held in b; it is at
 * `position` + j in the step's visiting sequence. 1 if the watch stopped the run. */
static int run_batch(replica *r, const metropolis_fast *fast, const philox_batch *b,
                     const int32_t *sites, int count, uint64_t position) {
    const uint32_t swap_threshold = r->tab->swap_threshold;
    const uint8_t *site = r->site;
    for (int j = 0; j < count; ++j) {
        const int32_t i = sites[j];
        if (__builtin_expect(
                metropolis_candidate(fast, swap_threshold, site[i], b->w[1][j], b->w[3][j]), 0) &&
            run_candidate(r, b, j, i, position + (uint64_t)j))
            return 1;
    }
    return 0;
}

static void run(replica *r, void *workspace, uint64_t steps) {
    checkerboard *cb = workspace;
    metropolis_fast_bind(&cb->fast, r->tab);
    const uint64_t nsites = (uint64_t)r->lat->nsites;
    for (uint64_t s = 0; s < steps; ++s, ++r->step) {
        attempt_class_order(r, cb->classes.nclasses, cb->order);
        const uint64_t first = r->step * nsites;
        sweep_position at = {0, cb->classes.start[cb->order[0]]};
        const int32_t *sites;
        int count;
        for (uint64_t position = 0; (count = next_batch(cb, &at, &sites)) > 0;
             position += (uint64_t)count) {
            cb->fast.fill(&cb->batch, r->key, first, sites, count, r->task, PURPOSE_ATTEMPT);
            if (run_batch(r, &cb->fast, &cb->batch, sites, count, position)) return;
        }
    }
}

const dynamics_kind dynamics_checkerboard = {
    .name = "checkerboard",
    .summary = "colour-class sweeps: every site once per step, classes in random order",
    .create = create,
    .destroy = destroy,
    .run = run,
};
