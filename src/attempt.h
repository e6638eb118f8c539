/* One Metropolis attempt, shared by every Metropolis dynamics (private to the library).
 *
 * The random bits of an attempt come from one Philox block {w0, w1, w2, w3}, counter =
 * {attempt number, task, PURPOSE_ATTEMPT}, attempt number = step * nsites + k:
 *   w0             random-sequential: the site (unbiased, Lemire); checkerboard: unused
 *   w1 low 29 bits  swap if < swap_threshold (p_swap to 2^-29), else insertion/deletion
 *   w1 top 3 bits   swap: neighbour direction (uniform over 8); else: the proposal (8 equal slots)
 *   w3:w2 63 bits   acceptance: accept iff < threshold = P * 2^63 (resolves P down to 1e-19,
 *                   far below exp(-30) = 9e-14, the rarest move at the paper's parameters)
 * Every kernel that implements a dynamics uses the same bits the same way, so a fast kernel's
 * trajectory equals the simple one's bit for bit.
 */
#ifndef RIPEN_ATTEMPT_H
#define RIPEN_ATTEMPT_H

#include <math.h>

#include "ripen/philox.h"
#include "ripen/replica.h"

#define ATTEMPT_SWAP_MASK 0x1FFFFFFFu

static inline uint64_t attempt_accept_bits(philox_block w) {
    return ((uint64_t)w.v[3] << 31) | (w.v[2] >> 1);
}

static inline philox_block attempt_random(const replica *r, uint64_t attempt) {
    return philox4x32_10(philox_counter(attempt, r->task, PURPOSE_ATTEMPT), r->key);
}

/* Threshold for swapping site i (code ci, state a) with its neighbour j along `direction` (code
 * cj, state b != a): the swap is i: a -> b followed by j: b -> a, j's neighbourhood already
 * seeing i as b through the bonds joining them. */
static inline uint64_t attempt_swap_threshold(const model_tables *t, uint8_t ci, uint8_t cj,
                                              int direction) {
    const int a = site_state(ci), b = site_state(cj);
    const int cj_after = cj + t->bond_multiplicity[direction] * t->env_delta[a][b];
    const double delta_energy = t->delta_energy[ci][b] + t->delta_energy[cj_after][a];
    return model_threshold(exp(-delta_energy));
}

static inline void attempt_at(replica *r, int32_t i, uint32_t choice, uint64_t accept_bits) {
    const model_tables *t = r->tab;
    const uint8_t code = r->site[i];
    const int a = site_state(code);
    const unsigned pick = choice >> 29;
    if ((choice & ATTEMPT_SWAP_MASK) < t->swap_threshold) {
        const int32_t j = lattice_neighbour(r->lat, i, (int)pick);
        const uint8_t code_j = r->site[j];
        const int b = site_state(code_j);
        if (a == b) return; /* swapping equal states changes nothing */
        if (accept_bits < attempt_swap_threshold(t, code, code_j, (int)pick)) {
            replica_set_state(r, i, b);
            replica_set_state(r, j, a);
        }
        return;
    }
    const int b = t->insdel_target[a][pick];
    if (accept_bits >= t->accept[code][b]) return; /* the common case; accept[.][a] = 0 */
    /* Accepted: an umbrella window's hard wall still rejects a move that leaves it. Checked
     * only here, off the rejection path, so unbiased runs pay nothing measurable. */
    const int64_t ncore = r->counts.ncore + (b == STATE_CORE) - (a == STATE_CORE);
    if (ncore < r->core_min || ncore > r->core_max) return;
    replica_set_state(r, i, b);
}

#endif
