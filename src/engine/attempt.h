/* One Metropolis attempt, shared by every Metropolis dynamics (private to the library). This file
 * is the one place that defines the random-number protocol; every kernel (the fast batched ones,
 * the reference kernel, the straightforward loops in the tests) reads its bits through it.
 *
 * The random bits of an attempt come from one Philox block {w0, w1, w2, w3}, counter =
 * {attempt number, task, PURPOSE_ATTEMPT}, attempt number = step * nsites + k (random-sequential,
 * k-th attempt of the step) or step * nsites + site (checkerboard):
 *   w0             random-sequential: the site (unbiased, Lemire); checkerboard: unused
 *   w1 low 29 bits  swap if < swap_threshold (p_swap to 2^-29), else insertion/deletion
 *   w1 top 3 bits   swap: neighbour direction (uniform over 8); else: the proposal (8 equal slots)
 *   w3:w2 63 bits   acceptance: accept iff < threshold = P * 2^63 (resolves P down to 1e-19,
 *                   far below exp(-30) = 9e-14, the rarest move at the paper's parameters)
 * Checkerboard visits the colour classes in the order attempt_class_order() draws from the
 * stream {step, task, PURPOSE_CLASS_ORDER}, each class's sites in increasing order.
 * Every kernel that implements a dynamics uses the same bits the same way, so a fast kernel's
 * trajectory equals the simple one's bit for bit (tests/test_kernels.c).
 */
#ifndef RIPEN_ATTEMPT_H
#define RIPEN_ATTEMPT_H

#include <math.h>

#include "ripen/philox.h"
#include "ripen/replica.h"

#define ATTEMPT_SWAP_MASK 0x1FFFFFFFu
enum { ATTEMPT_PICK_SHIFT = 29 }; /* w1 >> 29: direction or proposal slot */

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

/* One attempt at site i with the attempt's bits; `attempt` (its index within the step) goes to
 * the replica's watch with an accepted move. Returns 1 if the watch asked to stop the run. */
static inline int attempt_at(replica *r, int32_t i, uint32_t choice, uint64_t accept_bits,
                             uint64_t attempt) {
    const model_tables *t = r->tab;
    const uint8_t code = r->site[i];
    const int a = site_state(code);
    const unsigned pick = choice >> ATTEMPT_PICK_SHIFT;
    if ((choice & ATTEMPT_SWAP_MASK) < t->swap_threshold) {
        const int32_t j = lattice_neighbour(r->lat, i, (int)pick);
        const uint8_t code_j = r->site[j];
        const int b = site_state(code_j);
        if (a == b) return 0; /* swapping equal states changes nothing */
        if (accept_bits >= attempt_swap_threshold(t, code, code_j, (int)pick)) return 0;
        replica_set_state(r, i, b);
        replica_set_state(r, j, a);
        return replica_report_move(r, attempt);
    }
    const int b = t->insdel_target[a][pick];
    if (accept_bits >= t->accept[code][b]) return 0; /* the common case; accept[.][a] = 0 */
    /* Accepted: the hard walls (an umbrella window, a shell band) still reject a move that
     * leaves them. Checked only here, off the rejection path, so runs without walls pay nothing
     * measurable. */
    if (!replica_walls_allow(r, a, b)) return 0;
    /* A finite solution: accept[][] bounds the threshold over every content of the reservoir
     * (model_tables_use_reservoir), so the content now, read from the counts as the moves before
     * this one left them, decides with the same 63 bits. */
    if (__builtin_expect(t->finite, 0) &&
        accept_bits >= model_reservoir_threshold(t, &r->counts, code, b))
        return 0;
    replica_set_state(r, i, b);
    return replica_report_move(r, attempt);
}

#endif
