/* The fast path shared by the batched Metropolis kernels (random-sequential and checkerboard),
 * private to the library.
 *
 * At the paper's parameters almost every attempt is rejected: most sites are solution with no
 * neighbours (insertion accepted with probability e^-30 or e^-20), and a swap of two equal states
 * changes nothing. A kernel therefore (1) computes the Philox blocks of 64 attempts at once in
 * SIMD lanes (kernel_philox.h; they do not depend on the state), then (2) runs through the 64
 * attempts in order with a cheap exact test that proves most of them rejected, and (3) hands the
 * few others ("candidates") to attempt_at(), the protocol's own implementation. Because the test
 * is exact and the candidates go through the same code in the same order, the trajectory is the
 * simple kernel's, bit for bit.
 *
 * The test, per attempt, is one table lookup and one comparison: w3 <= filter[code][slot][swap],
 * indexed by the site's current code, the proposal slot or direction (w1's top bits) and whether
 * the attempt is a swap. For an insertion/deletion the entry is attempt_filter_bound() of the
 * threshold for that code and slot: one load replaces the state, proposal and threshold lookups.
 * For a swap it is UINT32_MAX (always a candidate) unless the code proves that all bonded
 * neighbours hold the site's own state, in which case it is 0: the swap exchanges equal states
 * and changes nothing. With 8 bonding directions the code counts every neighbour a swap can pick,
 * so at the paper's state this keeps almost all swaps away from the neighbour table, a likely
 * cache miss per swap otherwise (adding it took checkerboard from 0.26 to 0.42 and
 * random-sequential from 0.20 to 0.35 attempts/ns). With 6 bonding directions it proves it for
 * the in-plane directions only.
 */
#ifndef RIPEN_KERNEL_METROPOLIS_H
#define RIPEN_KERNEL_METROPOLIS_H

#include "attempt.h"
#include "kernel_philox.h"

enum { METROPOLIS_SLOTS = 8 }; /* proposal slots: w1's top 3 bits */

typedef struct metropolis_fast metropolis_fast;

/* The filter over up to 64 sites of one colour class at once: bit j of the result is 1 iff
 * sites[j] is a candidate (metropolis_candidate) given its current code and the words w1, w3 of
 * block j of `b`. Only for sites whose codes no earlier attempt of the batch can change. */
typedef uint64_t (*metropolis_mask_fn)(const metropolis_fast *m, uint32_t swap_threshold,
                                       const uint8_t *site, const int32_t *sites,
                                       const philox_batch *b, int count);

typedef struct {
    const char *name;        /* "avx512", "avx2", "portable" */
    metropolis_mask_fn mask; /* the filter */
    int (*supported)(void);  /* 1 if this CPU can run it */
} metropolis_mask_impl;

/* Every implementation compiled in, fastest first; the last one (portable C) runs anywhere. */
extern const metropolis_mask_impl metropolis_mask_impls[];
extern const int metropolis_mask_impl_count;

/* The one named by RIPEN_FILTER ("avx512", "avx2", "portable") if this CPU runs it, else the
 * fastest it runs. */
const metropolis_mask_impl *metropolis_mask_choose(void);

struct metropolis_fast {
    const model_tables *tab;                            /* the tables the filter was built from */
    uint32_t filter[SITE_CODES * METROPOLIS_SLOTS * 2]; /* see above; metropolis_filter_index */
    philox_batch_fn fill;                               /* batched Philox chosen at create */
    philox_batch_fn fill13;                             /* its words-1-and-3 version */
    const char *isa;                                    /* its name, for reports */
    metropolis_mask_fn mask;                            /* vector filter chosen at create */
    const char *mask_isa;                               /* its name */
};

static inline unsigned metropolis_filter_index(uint8_t code, unsigned slot, unsigned swap) {
    return (code * METROPOLIS_SLOTS + slot) * 2 + swap;
}

/* Builds the filter for `tab` and picks the Philox implementation (philox_batch_choose) and the
 * vector filter (the best this CPU runs; RIPEN_FILTER=avx2 or portable chooses another). */
void metropolis_fast_init(metropolis_fast *m, const model_tables *tab);

/* Rebuilds the filter if `tab` is not the one it was built from (a workspace reused with other
 * tables): one pointer comparison per run() call otherwise. */
static inline void metropolis_fast_bind(metropolis_fast *m, const model_tables *tab) {
    if (m->tab != tab) metropolis_fast_init(m, tab);
}

/* 0 if the attempt is surely rejected, given the current code of its site; 1 if attempt_at()
 * must decide. */
static inline unsigned metropolis_candidate(const metropolis_fast *m, uint32_t swap_threshold,
                                            uint8_t code, uint32_t w1, uint32_t w3) {
    const unsigned swap = (w1 & ATTEMPT_SWAP_MASK) < swap_threshold;
    return w3 <= m->filter[metropolis_filter_index(code, w1 >> ATTEMPT_PICK_SHIFT, swap)];
}

/* Block j of a batch as a philox_block, for attempt_at(). */
static inline philox_block metropolis_block(const philox_batch *b, int j) {
    return (philox_block){{b->w[0][j], b->w[1][j], b->w[2][j], b->w[3][j]}};
}

#endif
