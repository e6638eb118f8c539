/* Random-sequential Metropolis, the reference dynamics: each attempt picks a site uniformly at
 * random, so a step is nsites independent attempts (MODEL.md, "Moves").
 *
 * Batched kernel (kernel_metropolis.h): the Philox blocks of 64 consecutive attempts are computed
 * together, then the attempts run in order, each one either proven rejected by the exact filter
 * or handed to attempt_at(). The filter reads the site's code as it is when the attempt's turn
 * comes (after every earlier attempt of the batch), so nothing is stale. dynamics_reference
 * (dyn_reference.c) gives the same trajectory the slow way; tests/test_kernels.c compares them. */
#include "kernel_metropolis.h"
#include "ripen/engine/dynamics.h"
#include "ripen/engine/error.h"

#include <stdlib.h>

typedef struct {
    metropolis_fast fast;
    philox_batch batch; /* the blocks of the current 64 attempts */
} random_sequential;

static int create(void **workspace, const lattice *lat, const model_tables *tab) {
    (void)lat;
    random_sequential *rs = aligned_alloc(_Alignof(philox_batch), sizeof *rs);
    if (!rs) return ripen_fail(RIPEN_ENOMEM, "out of memory for random-sequential workspace");
    metropolis_fast_init(&rs->fast, tab);
    *workspace = rs;
    return RIPEN_OK;
}

static void destroy(void *workspace) {
    free(workspace);
}

/* The full attempt, for the few the filter lets through. Out of line, so that the filter loop
 * keeps its few values in registers (measured: 8% faster than inlined). */
__attribute__((noinline)) static int run_candidate(replica *r, const philox_batch *b, int j,
                                                   uint64_t attempt, uint64_t nsites) {
    const philox_block w = metropolis_block(b, j);
    return attempt_at(r, attempt_pick_site(r, w.v[0], attempt), w.v[1], attempt_accept_bits(w),
                      attempt % nsites);
}

/* Attempts first .. first + count - 1, whose blocks are in b; 1 if the watch stopped the run. */
static int run_batch(replica *r, const metropolis_fast *fast, const philox_batch *b, uint64_t first,
                     int count) {
    const uint32_t nsites = (uint32_t)r->lat->nsites;
    const uint32_t swap_threshold = r->tab->swap_threshold;
    const uint8_t *site = r->site;
    for (int j = 0; j < count; ++j) {
        const uint32_t w1 = b->w[1][j], w3 = b->w[3][j];
        const uint64_t m = (uint64_t)b->w[0][j] * nsites; /* Lemire: site = m >> 32 ... */
        const unsigned redraw = (uint32_t)m < nsites;     /* ... unless more words may be needed */
        const uint8_t code = site[m >> 32];
        if (__builtin_expect(redraw | metropolis_candidate(fast, swap_threshold, code, w1, w3),
                             0) &&
            run_candidate(r, b, j, first + (uint64_t)j, nsites))
            return 1;
    }
    return 0;
}

static void run(replica *r, void *workspace, uint64_t steps) {
    random_sequential *rs = workspace;
    metropolis_fast_bind(&rs->fast, r->tab);
    const uint64_t nsites = (uint64_t)r->lat->nsites;
    for (uint64_t s = 0; s < steps; ++s, ++r->step) {
        const uint64_t first = r->step * nsites;
        for (uint64_t k = 0; k < nsites; k += PHILOX_BATCH) {
            const int count = nsites - k < PHILOX_BATCH ? (int)(nsites - k) : PHILOX_BATCH;
            rs->fast.fill(&rs->batch, r->key, first + k, NULL, count, r->task, PURPOSE_ATTEMPT);
            if (run_batch(r, &rs->fast, &rs->batch, first + k, count)) return;
        }
    }
}

const dynamics_kind dynamics_random_sequential = {
    .name = "random-sequential",
    .summary = "nsites attempts per step, each at a uniformly random site (the reference)",
    .create = create,
    .destroy = destroy,
    .run = run,
};
