/* Random-sequential Metropolis, the reference dynamics: each attempt picks a site uniformly at
 * random, so a step is nsites independent attempts (MODEL.md, "Moves"). */
#include "attempt.h"
#include "ripen/dynamics.h"

/* Unbiased site choice; the extra words Lemire's method needs (probability < nsites / 2^32) come
 * from the attempt's own redraw stream. */
static int32_t pick_site(const replica *r, uint32_t word, uint64_t attempt) {
    const uint32_t n = (uint32_t)r->lat->nsites;
    const uint64_t m = (uint64_t)word * n;
    if ((uint32_t)m >= n) return (int32_t)(m >> 32); /* no rejection possible: the fast path */
    philox_stream more;
    philox_stream_init(&more, r->key, attempt, r->task, PURPOSE_SITE_REDRAW);
    return (int32_t)philox_uniform_below(word, n, &more);
}

static void run(replica *r, void *workspace, uint64_t steps) {
    (void)workspace;
    const uint64_t nsites = (uint64_t)r->lat->nsites;
    for (uint64_t s = 0; s < steps; ++s, ++r->step) {
        const uint64_t first = r->step * nsites;
        for (uint64_t k = 0; k < nsites; ++k) {
            const philox_block w = attempt_random(r, first + k);
            attempt_at(r, pick_site(r, w.v[0], first + k), w.v[1], attempt_accept_bits(w));
        }
    }
}

const dynamics_kind dynamics_random_sequential = {
    .name = "random-sequential",
    .summary = "nsites attempts per step, each at a uniformly random site (the reference)",
    .run = run,
};
