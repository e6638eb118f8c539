/* One Metropolis attempt, shared by every Metropolis dynamics (private to the library). This file
 * is the one place that defines the random-number protocol; every kernel (the fast batched ones,
 * the reference kernel, the straightforward loops in the tests) reads its bits through it.
 *
 * Random-sequential: the bits of an attempt come from one Philox block {w0, w1, w2, w3}, counter =
 * {step * nsites + k, task, PURPOSE_ATTEMPT}, k the attempt's number within the step:
 *   w0             the site (unbiased, Lemire)
 *   w1 low 29 bits  swap if < swap_threshold (p_swap to 2^-29), else insertion/deletion
 *   w1 top 3 bits   swap: neighbour direction (uniform over 8); else: the proposal (8 equal slots)
 *   w3:w2 63 bits   acceptance: accept iff < threshold = P * 2^63 (resolves P down to 1e-19,
 *                   far below exp(-30) = 9e-14, the rarest move at the paper's parameters)
 *
 * Checkerboard ("packed": four attempts per block): an attempt gets ONE 32-bit word,
 *   word = pick << 29 | u      pick: direction or proposal slot, as w1's top bits above;
 *                              u: the top 29 bits of one uniform U63 = u << 34 | ext34
 * and U63 decides both the move type and its acceptance. With S63 = swap_threshold << 34:
 *   U63 < S63 (u < swap_threshold)  swap, accepted iff U63 < floor(S63 * P_swap)
 *   otherwise                        insertion/deletion, accepted iff
 *                                    U63 - S63 < floor((2^63 - S63) * P)
 * (the walls and a finite solution's content as in random-sequential, P scaled the same way).
 * Given the move type, U63 / S63 resp. (U63 - S63) / (2^63 - S63) is uniform, so each move is
 * accepted with its Metropolis probability to 2^-63, as above: the same distribution, other bits.
 * The thresholds are the tables' P * 2^63 scaled by attempt_scaled(). ext34 (the low 34 bits of
 * U63) comes from the block {step * nsites + site, task, PURPOSE_ATTEMPT_EXT}, computed only when
 * an attempt needs the full comparison (attempt_uniform_bits: rare). The words: the sites of a
 * colour class, in increasing order, are cut into chunks of 64 (ATTEMPT_CHUNK); chunk c takes the
 * 16 blocks {step * blocks_per_step + class_base + 16 c + b, task, PURPOSE_ATTEMPT_PACKED}, b =
 * 0..15, and the site at index p of its class word (p % 64) / 16 of block p % 16, so that the
 * four word arrays of a chunk's 16 blocks, concatenated, are its 64 sites' words in order (no
 * transpose in a SIMD kernel). class_base and blocks_per_step depend on the colouring alone
 * (attempt_class_bases), never on the step's class order, so a site's bits are a pure function of
 * (seed, task, step, site). Checkerboard visits the colour classes in the order
 * attempt_class_order() draws from the stream {step, task, PURPOSE_CLASS_ORDER}, each class's
 * sites in increasing order.
 *
 * Every kernel that implements a dynamics uses the same bits the same way, so a fast kernel's
 * trajectory equals the simple one's bit for bit (tests/test_kernels.c).
 */
#ifndef RIPEN_ATTEMPT_H
#define RIPEN_ATTEMPT_H

#include <math.h>

#include "ripen/engine/colouring.h"
#include "ripen/engine/philox.h"
#include "ripen/engine/replica.h"

#define ATTEMPT_SWAP_MASK 0x1FFFFFFFu
#define ATTEMPT_UNITS     (UINT32_C(1) << 29)           /* u's range; scales a threshold by 1 */
enum { ATTEMPT_PICK_SHIFT = 29 };                       /* w1 >> 29: direction or proposal slot */
enum { ATTEMPT_EXT_BITS = 34 };                         /* packed: U63's bits below u */
enum { ATTEMPT_CHUNK = 64, ATTEMPT_CHUNK_BLOCKS = 16 }; /* packed: sites and blocks per chunk */

static inline uint64_t attempt_accept_bits(philox_block w) {
    return ((uint64_t)w.v[3] << 31) | (w.v[2] >> 1);
}

static inline philox_block attempt_random(const replica *r, uint64_t attempt) {
    return philox4x32_10(philox_counter(attempt, r->task, PURPOSE_ATTEMPT), r->key);
}

/* Exact early rejection on w3 alone. The acceptance bits are w3 * 2^31 + (w2 >> 1), so with
 * bound = threshold >> 31: w3 > bound implies bits >= (bound + 1) * 2^31 > threshold, a sure
 * rejection; w3 <= bound needs the full 63-bit comparison (attempt_at). The bound is capped at
 * 2^32 - 1 (threshold 2^63, "always accept", never filtered out). A kernel compares one 32-bit
 * word against one table entry; the filter passes a rejected attempt with probability 2^-32. */
static inline uint32_t attempt_filter_bound(uint64_t threshold) {
    const uint64_t bound = threshold >> 31;
    return bound > UINT32_MAX ? UINT32_MAX : (uint32_t)bound;
}

/* Random-sequential site choice from w0, unbiased; the extra words Lemire's method needs
 * (probability < nsites / 2^32) come from the attempt's own redraw stream. */
static inline int32_t attempt_pick_site(const replica *r, uint32_t word, uint64_t attempt) {
    const uint32_t n = (uint32_t)r->lat->nsites;
    const uint64_t m = (uint64_t)word * n;
    if ((uint32_t)m >= n) return (int32_t)(m >> 32); /* no rejection possible: the fast path */
    philox_stream more;
    philox_stream_init(&more, r->key, attempt, r->task, PURPOSE_SITE_REDRAW);
    return (int32_t)philox_uniform_below(word, n, &more);
}

/* Checkerboard: this step's order of the `nclasses` colour classes (Fisher-Yates shuffle from
 * the step's own stream). */
static inline void attempt_class_order(const replica *r, int nclasses, int *order) {
    for (int k = 0; k < nclasses; ++k) order[k] = k;
    philox_stream stream;
    philox_stream_init(&stream, r->key, r->step, r->task, PURPOSE_CLASS_ORDER);
    for (int k = nclasses - 1; k > 0; --k) {
        const int pick =
            (int)philox_uniform_below(philox_stream_next(&stream), (uint32_t)k + 1, &stream);
        const int held = order[k];
        order[k] = order[pick];
        order[pick] = held;
    }
}

/* Code of j after its neighbour i (state a) along `direction` became b: its bonded view of i
 * changes by bond_multiplicity[direction] bonds. */
static inline int attempt_code_seen_after(const model_tables *t, uint8_t cj, int a, int b,
                                          int direction) {
    return cj + t->bond_multiplicity[direction] * t->env_delta[a][b];
}

/* Threshold for swapping i (code ci, state a) with j (state b != a) whose code, with i already
 * seen as b, is cj_after: the swap is i: a -> b followed by j: b -> a. */
static inline uint64_t attempt_swap_threshold_after(const model_tables *t, uint8_t ci,
                                                    int cj_after) {
    const int a = site_state(ci), b = site_state((uint8_t)cj_after);
    const double delta_energy = t->delta_energy[ci][b] + t->delta_energy[cj_after][a];
    return model_threshold(exp(-delta_energy));
}

/* Threshold for swapping site i (code ci) with its neighbour j along `direction` (code cj, of
 * another state). */
static inline uint64_t attempt_swap_threshold(const model_tables *t, uint8_t ci, uint8_t cj,
                                              int direction) {
    const int a = site_state(ci), b = site_state(cj);
    return attempt_swap_threshold_after(t, ci, attempt_code_seen_after(t, cj, a, b, direction));
}

/* floor(units * threshold / 2^29) without overflow (units <= 2^29, threshold <= 2^63): a 2^63-scale
 * threshold for a uniform over units * 2^34 values. units = ATTEMPT_UNITS gives the threshold
 * itself; the packed protocol scales by the swap band (swap_threshold) or the insertion band
 * (ATTEMPT_UNITS - swap_threshold). Monotone in threshold, so a bound stays a bound. */
static inline uint64_t attempt_scaled(uint64_t threshold, uint32_t units) {
    return units * (threshold >> 29) + ((units * (threshold & ATTEMPT_SWAP_MASK)) >> 29);
}

/* The uniform an attempt compares with its scaled thresholds: all 63 bits at once
 * (random-sequential), or the packed protocol's prefix whose low ATTEMPT_EXT_BITS are drawn from
 * the extension block the first time a comparison needs them. */
typedef struct {
    uint64_t bits;      /* the uniform, or its prefix while `pending` */
    uint64_t ext_index; /* the extension block's index (packed) */
    int pending;        /* 1 until the extension bits are in `bits` */
} attempt_uniform;

static inline uint64_t attempt_uniform_bits(const replica *r, attempt_uniform *x) {
    if (x->pending) {
        const philox_block e =
            philox4x32_10(philox_counter(x->ext_index, r->task, PURPOSE_ATTEMPT_EXT), r->key);
        x->bits |= (uint64_t)(e.v[1] & 3u) << 32 | e.v[0];
        x->pending = 0;
    }
    return x->bits;
}

/* One attempt at site i: a swap along `pick` or the insertion/deletion of proposal slot `pick`,
 * accepted iff the uniform x is below the move's threshold scaled by `units` (attempt_scaled).
 * `attempt` (its index within the step) goes to the replica's watch with an accepted move.
 * Returns 1 if the watch asked to stop the run. */
static inline int attempt_move(replica *r, int32_t i, int swap, unsigned pick, attempt_uniform *x,
                               uint32_t units, uint64_t attempt) {
    const model_tables *t = r->tab;
    const uint8_t code = r->site[i];
    const int a = site_state(code);
    if (swap) {
        const int32_t j = lattice_neighbour(r->lat, i, (int)pick);
        const uint8_t code_j = r->site[j];
        const int b = site_state(code_j);
        if (a == b) return 0; /* swapping equal states changes nothing */
        if (attempt_uniform_bits(r, x) >=
            attempt_scaled(attempt_swap_threshold(t, code, code_j, (int)pick), units))
            return 0;
        replica_set_state(r, i, b);
        replica_set_state(r, j, a);
        return replica_report_move(r, attempt);
    }
    const int b = t->insdel_target[a][pick];
    /* the common case; accept[.][a] = 0 */
    if (attempt_uniform_bits(r, x) >= attempt_scaled(t->accept[code][b], units)) return 0;
    /* Accepted: the hard walls (an umbrella window, a shell band) still reject a move that
     * leaves them. Checked only here, off the rejection path, so runs without walls pay nothing
     * measurable. */
    if (!replica_walls_allow(r, a, b)) return 0;
    /* A finite solution: accept[][] bounds the threshold over every content of the reservoir
     * (model_tables_use_reservoir), so the content now, read from the counts as the moves before
     * this one left them, decides with the same bits. */
    if (__builtin_expect(t->finite, 0) &&
        attempt_uniform_bits(r, x) >=
            attempt_scaled(model_reservoir_threshold(t, &r->counts, code, b), units))
        return 0;
    replica_set_state(r, i, b);
    return replica_report_move(r, attempt);
}

/* One random-sequential attempt at site i with its block's w1 (`choice`) and 63 acceptance
 * bits. */
static inline int attempt_at(replica *r, int32_t i, uint32_t choice, uint64_t accept_bits,
                             uint64_t attempt) {
    attempt_uniform x = {accept_bits, 0, 0};
    return attempt_move(r, i, (choice & ATTEMPT_SWAP_MASK) < r->tab->swap_threshold,
                        choice >> ATTEMPT_PICK_SHIFT, &x, ATTEMPT_UNITS, attempt);
}

/* ---- the packed protocol (checkerboard) ---- */

/* One packed attempt at site i with its word; ext_index = step * nsites + i. */
static inline int attempt_packed_at(replica *r, int32_t i, uint32_t word, uint64_t ext_index,
                                    uint64_t attempt) {
    const uint32_t swap_threshold = r->tab->swap_threshold;
    const uint32_t u = word & ATTEMPT_SWAP_MASK;
    const int swap = u < swap_threshold;
    attempt_uniform x = {(uint64_t)(swap ? u : u - swap_threshold) << ATTEMPT_EXT_BITS, ext_index,
                         1};
    return attempt_move(r, i, swap, word >> ATTEMPT_PICK_SHIFT, &x,
                        swap ? swap_threshold : ATTEMPT_UNITS - swap_threshold, attempt);
}

/* Blocks per chunk times chunks: what a class of `count` sites takes. */
static inline uint64_t attempt_class_blocks(int32_t count) {
    return ATTEMPT_CHUNK_BLOCKS * (uint64_t)((count + ATTEMPT_CHUNK - 1) / ATTEMPT_CHUNK);
}

/* base[k] = the first block of class k within a step; returns the blocks per step. */
static inline uint64_t attempt_class_bases(const colouring *c, uint64_t *base) {
    uint64_t blocks = 0;
    for (int k = 0; k < c->nclasses; ++k) {
        base[k] = blocks;
        blocks += attempt_class_blocks(c->start[k + 1] - c->start[k]);
    }
    return blocks;
}

/* The block (from its class's first) and the word of the site at index p of its class. */
static inline uint64_t attempt_packed_block(int32_t p) {
    return ATTEMPT_CHUNK_BLOCKS * (uint64_t)(p / ATTEMPT_CHUNK) +
           (uint64_t)(p % ATTEMPT_CHUNK_BLOCKS);
}
static inline int attempt_packed_word_index(int32_t p) {
    return p % ATTEMPT_CHUNK / ATTEMPT_CHUNK_BLOCKS;
}

/* The word of the site at index p of a class whose first block this step is `class_first`. */
static inline uint32_t attempt_packed_word(const replica *r, uint64_t class_first, int32_t p) {
    const philox_block w = philox4x32_10(
        philox_counter(class_first + attempt_packed_block(p), r->task, PURPOSE_ATTEMPT_PACKED),
        r->key);
    return w.v[attempt_packed_word_index(p)];
}

#endif
