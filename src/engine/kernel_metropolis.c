#include "kernel_metropolis.h"

#include <stdlib.h>
#include <string.h>

/* 1 if the code proves that every neighbour a swap along `direction` can pick holds the site's
 * own state: all bonded neighbours do, and the direction is a bonding one. */
static int swap_surely_null(const model_tables *tab, uint8_t code, int direction) {
    if (direction >= tab->bond_directions) return 0;
    const int core = site_core_neighbours(code), shell = site_shell_neighbours(code);
    const int bonds = tab->bond_directions; /* bonded neighbours, with multiplicity */
    switch (site_state(code)) {
        case STATE_SOLUTION:
            return core + shell == 0;
        case STATE_CORE:
            return core == bonds;
        default:
            return shell == bonds;
    }
}

void metropolis_fast_init(metropolis_fast *m, const model_tables *tab) {
    m->tab = tab;
    for (int c = 0; c < SITE_CODES; ++c) {
        const uint8_t code = (uint8_t)c;
        const int a = site_state(code);
        for (unsigned slot = 0; slot < METROPOLIS_SLOTS; ++slot) {
            const uint64_t threshold = tab->accept[code][tab->insdel_target[a][slot]];
            m->filter[metropolis_filter_index(code, slot, 0)] = attempt_filter_bound(threshold);
            m->filter[metropolis_filter_index(code, slot, 1)] =
                swap_surely_null(tab, code, (int)slot) ? 0 : UINT32_MAX;
        }
    }
    const philox_batch_impl *impl = philox_batch_choose();
    m->fill = impl->fill;
    m->fill13 = impl->fill13;
    m->isa = impl->name;
    const metropolis_mask_impl *mask = metropolis_mask_choose();
    m->mask = mask->mask;
    m->mask_isa = mask->name;
}

const metropolis_mask_impl *metropolis_mask_choose(void) {
    const char *wanted = getenv("RIPEN_FILTER");
    for (int k = 0; k < metropolis_mask_impl_count; ++k)
        if (metropolis_mask_impls[k].supported() &&
            (!wanted || strcmp(wanted, metropolis_mask_impls[k].name) == 0))
            return &metropolis_mask_impls[k];
    return &metropolis_mask_impls[metropolis_mask_impl_count - 1];
}

/* ---- the vector filter: one candidate bit per site of a class ---- */

static uint64_t mask_portable(const metropolis_fast *m, uint32_t swap_threshold,
                              const uint8_t *site, const int32_t *sites, const philox_batch *b,
                              int count) {
    uint64_t mask = 0;
    for (int j = 0; j < count; ++j)
        mask |= (uint64_t)metropolis_candidate(m, swap_threshold, site[sites[j]], b->w[1][j],
                                               b->w[3][j])
                << j;
    return mask;
}

static int always(void) {
    return 1;
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define RIPEN_MASK_X86 1
#include <immintrin.h>

/* The filter index of metropolis_filter_index(), for 16 lanes:
 * (code * 8 + slot) * 2 + swap = code * 16 + (w1 >> 29) * 2 + swap. A site's code is the low
 * byte of the 32-bit word gathered at its address (REPLICA_SITE_PADDING keeps that in bounds). */
__attribute__((target("avx512f"))) static uint64_t
mask_avx512(const metropolis_fast *m, uint32_t swap_threshold, const uint8_t *site,
            const int32_t *sites, const philox_batch *b, int count) {
    const __m512i byte = _mm512_set1_epi32(0xFF), one = _mm512_set1_epi32(1);
    const __m512i swap_mask = _mm512_set1_epi32(ATTEMPT_SWAP_MASK);
    const __m512i threshold = _mm512_set1_epi32((int)swap_threshold);
    const __m512i zero = _mm512_setzero_si512();
    uint64_t mask = 0;
    for (int j = 0; j < count; j += 16) {
        const __mmask16 valid = count - j >= 16 ? 0xFFFF : (__mmask16)((1u << (count - j)) - 1);
        const __m512i at = _mm512_maskz_loadu_epi32(valid, sites + j);
        const __m512i words = _mm512_mask_i32gather_epi32(zero, valid, at, site, 1);
        const __m512i code = _mm512_and_si512(words, byte);
        const __m512i w1 = _mm512_load_si512(b->w[1] + j), w3 = _mm512_load_si512(b->w[3] + j);
        const __mmask16 swap = _mm512_cmplt_epu32_mask(_mm512_and_si512(w1, swap_mask), threshold);
        __m512i index = _mm512_add_epi32(_mm512_slli_epi32(code, 4),
                                         _mm512_slli_epi32(_mm512_srli_epi32(w1, 29), 1));
        index = _mm512_mask_add_epi32(index, swap, index, one);
        /* Sites with code 0 (solution, no neighbours) are most of a lattice at the paper's
         * state: when all 16 are, their entries are the table's first 16, one permute away. */
        const __m512i bound = _mm512_test_epi32_mask(code, code)
                                  ? _mm512_mask_i32gather_epi32(zero, valid, index, m->filter, 4)
                                  : _mm512_permutexvar_epi32(index, _mm512_loadu_si512(m->filter));
        mask |= (uint64_t)_mm512_mask_cmple_epu32_mask(valid, w3, bound) << j;
    }
    return mask;
}

static int supports_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

/* 8 lanes; unsigned w3 <= bound as max(w3, bound) == bound; the swap test is a signed compare,
 * exact because both sides are below 2^29. */
__attribute__((target("avx2"))) static uint64_t mask_avx2(const metropolis_fast *m,
                                                          uint32_t swap_threshold,
                                                          const uint8_t *site, const int32_t *sites,
                                                          const philox_batch *b, int count) {
    const __m256i byte = _mm256_set1_epi32(0xFF);
    const __m256i swap_mask = _mm256_set1_epi32(ATTEMPT_SWAP_MASK);
    const __m256i threshold = _mm256_set1_epi32((int)swap_threshold);
    _Alignas(32) int32_t tail[8] = {0};
    uint64_t mask = 0;
    for (int j = 0; j < count; j += 8) {
        const int lanes = count - j >= 8 ? 8 : count - j;
        const int32_t *at_sites = sites + j;
        if (lanes < 8) { /* no read past the caller's array; lanes past `count` use site 0 */
            memcpy(tail, sites + j, sizeof *tail * (size_t)lanes);
            at_sites = tail;
        }
        const __m256i at = _mm256_loadu_si256((const __m256i *)at_sites);
        const __m256i code =
            _mm256_and_si256(_mm256_i32gather_epi32((const int *)site, at, 1), byte);
        const __m256i w1 = _mm256_load_si256((const __m256i *)(b->w[1] + j));
        const __m256i w3 = _mm256_load_si256((const __m256i *)(b->w[3] + j));
        const __m256i swap = _mm256_cmpgt_epi32(threshold, _mm256_and_si256(w1, swap_mask));
        __m256i index = _mm256_add_epi32(_mm256_slli_epi32(code, 4),
                                         _mm256_slli_epi32(_mm256_srli_epi32(w1, 29), 1));
        index = _mm256_sub_epi32(index, swap); /* swap lanes are -1 */
        const __m256i bound = _mm256_i32gather_epi32((const int *)m->filter, index, 4);
        const __m256i pass = _mm256_cmpeq_epi32(_mm256_max_epu32(w3, bound), bound);
        const uint64_t bits = (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(pass));
        mask |= (bits & ((1u << lanes) - 1)) << j;
    }
    return mask;
}

static int supports_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}
#endif

const metropolis_mask_impl metropolis_mask_impls[] = {
#ifdef RIPEN_MASK_X86
    {"avx512", mask_avx512, supports_avx512},
    {"avx2", mask_avx2, supports_avx2},
#endif
    {"portable", mask_portable, always},
};
const int metropolis_mask_impl_count =
    sizeof metropolis_mask_impls / sizeof metropolis_mask_impls[0];
