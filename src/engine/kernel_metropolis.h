/* The fast path shared by the batched Metropolis kernels (random-sequential and checkerboard),
 * private to the library.
 *
 * At the paper's parameters almost every attempt is rejected: most sites are solution with no
 * neighbours (insertion accepted with probability e^-30 or e^-20), and a swap of two equal states
 * changes nothing. A kernel therefore (1) computes the Philox blocks of 64 attempts (checkerboard:
 * 256, four per block) at once in SIMD lanes (kernel_philox.h; they do not depend on the state),
 * then (2) runs through the attempts in order with a cheap exact test that proves most of them
 * rejected, and (3) hands the few others ("candidates") to attempt_at() or attempt_packed_at(),
 * the protocol's own implementation. Because the test
 * is exact and the candidates go through the same code in the same order, the trajectory is the
 * simple kernel's, bit for bit.
 *
 * The test, per attempt, is one table lookup and one comparison.
 *
 * Random-sequential: w3 <= filter[code][slot][swap], indexed by the site's current code, the
 * proposal slot or direction (w1's top bits) and whether the attempt is a swap. For an
 * insertion/deletion the entry is attempt_filter_bound() of the threshold for that code and
 * slot: one load replaces the state, proposal and threshold lookups. For a swap it is UINT32_MAX
 * (always a candidate) unless the code proves that all bonded neighbours hold the site's own
 * state (swap_surely_null), in which case it is 0: the swap exchanges equal states and changes
 * nothing. With 8 bonding directions the code counts every neighbour a swap can pick, so at the
 * paper's state this keeps almost all swaps away from the neighbour table, a likely cache miss per
 * swap otherwise (adding it took checkerboard from 0.26 to 0.42 and random-sequential from 0.20
 * to 0.35 attempts/ns). With 6 bonding directions it proves it for the in-plane directions only.
 *
 * Checkerboard (attempt.h's packed protocol, one 32-bit word = pick << 29 | u per attempt): a
 * candidate iff (u - off) <= len in unsigned 32-bit arithmetic, with one entry
 * packed[code][pick] = len | flag << 31, off = flag ? swap_threshold : 0. With L the insertion
 * band's scaled threshold attempt_scaled(accept[code][b], ATTEMPT_UNITS - swap_threshold):
 *   swap surely null (as above): flag = 1, len = L >> 34: the swap band (u < swap_threshold)
 *     wraps to >= 2^32 - 2^29 > len, never a candidate; an insertion/deletion u is one iff
 *     u - swap_threshold <= L >> 34;
 *   else: flag = 0, len = swap_threshold + (L >> 34): every swap and the same insertions.
 * Exact as a sure rejection: u - swap_threshold > L >> 34 means (u - swap_threshold) << 34 >=
 * ((L >> 34) + 1) << 34 > L, whatever the 34 extension bits (test_kernels checks the edges).
 */
#ifndef RIPEN_KERNEL_METROPOLIS_H
#define RIPEN_KERNEL_METROPOLIS_H

#include "attempt.h"
#include "kernel_philox.h"

enum { METROPOLIS_SLOTS = 8 }; /* proposal slots: w1's top 3 bits */

typedef struct metropolis_fast metropolis_fast;

/* The packed filter over up to 64 sites (one chunk) of one colour class at once: bit j of the
 * result is 1 iff sites[j] is a candidate (metropolis_packed_candidate) given its current code
 * and its word b->w[j / 16][block + j % 16] (attempt.h: the chunk's 16 blocks start at block
 * `block` of the batch, a multiple of 16). Only for sites whose codes no earlier attempt of the
 * chunk can change. */
typedef uint64_t (*metropolis_mask_fn)(const metropolis_fast *m, uint32_t swap_threshold,
                                       const uint8_t *site, const int32_t *sites,
                                       const philox_batch *b, int block, int count);

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
    uint32_t packed[SITE_CODES * METROPOLIS_SLOTS];     /* the packed filter: code * 8 + pick */
    philox_batch_fn fill;                               /* batched Philox chosen at create */
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

enum { METROPOLIS_PACKED_FLAG = 31 }; /* packed entry: off = swap_threshold */

/* The packed protocol's test: 0 if the attempt with this word is surely rejected, given the
 * current code of its site; 1 if attempt_packed_at() must decide. */
static inline unsigned metropolis_packed_candidate(const metropolis_fast *m,
                                                   uint32_t swap_threshold, uint8_t code,
                                                   uint32_t word) {
    const uint32_t entry = m->packed[code * METROPOLIS_SLOTS + (word >> ATTEMPT_PICK_SHIFT)];
    const uint32_t off = swap_threshold & (0u - (entry >> METROPOLIS_PACKED_FLAG));
    return (word & ATTEMPT_SWAP_MASK) - off <= (entry & ~(1u << METROPOLIS_PACKED_FLAG));
}

/* Block j of a batch as a philox_block, for attempt_at(). */
static inline philox_block metropolis_block(const philox_batch *b, int j) {
    return (philox_block){{b->w[0][j], b->w[1][j], b->w[2][j], b->w[3][j]}};
}

#endif
