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

/* The packed filter's entry for a site of `code` and a word whose pick is `slot`
 * (kernel_metropolis.h): len | flag << 31. */
static uint32_t packed_entry(const model_tables *tab, uint8_t code, unsigned slot) {
    const uint32_t swap_threshold = tab->swap_threshold;
    const uint64_t threshold = tab->accept[code][tab->insdel_target[site_state(code)][slot]];
    const uint32_t insertion =
        (uint32_t)(attempt_scaled(threshold, ATTEMPT_UNITS - swap_threshold) >> ATTEMPT_EXT_BITS);
    return swap_surely_null(tab, code, (int)slot) ? insertion | 1u << METROPOLIS_PACKED_FLAG
                                                  : swap_threshold + insertion;
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
            m->packed[code * METROPOLIS_SLOTS + slot] = packed_entry(tab, code, slot);
        }
    }
    const philox_batch_impl *impl = philox_batch_choose();
    m->fill = impl->fill;
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

/* ---- the vector filter: one candidate bit per site of a chunk ---- */

static uint64_t mask_portable(const metropolis_fast *m, uint32_t swap_threshold,
                              const uint8_t *site, const int32_t *sites, const philox_batch *b,
                              int block, int count) {
    uint64_t mask = 0;
    for (int j = 0; j < count; ++j)
        mask |= (uint64_t)metropolis_packed_candidate(m, swap_threshold, site[sites[j]],
                                                      b->w[j / 16][block + j % 16])
                << j;
    return mask;
}

static int always(void) {
    return 1;
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define RIPEN_MASK_X86 1
#include <immintrin.h>

/* The codes of sites `at` (16 lanes, `valid`; sites[0] the first) in the low bytes of 32-bit
 * lanes, the rest junk: each lane reads the 32-bit word at its site's address
 * (REPLICA_SITE_PADDING keeps that in bounds). A class's sites mostly run along the lattice's
 * fastest axis COLOURING_SEPARATION = 4 apart, so the lanes that continue the run of lane 0, and
 * those that continue the run of the first lane that does not, come with one masked load each
 * (the masked-off lanes read nothing); only the others need the gather, which costs several times
 * more (a third of the filter's time when it read every code). */
__attribute__((target("avx512f"))) static inline __m512i
codes_avx512(const uint8_t *site, const int32_t *sites, __m512i at, __mmask16 valid) {
    const __m512i stride =
        _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60);
    const __mmask16 run0 = _mm512_mask_cmpeq_epi32_mask(
        valid, at, _mm512_add_epi32(_mm512_set1_epi32(sites[0]), stride));
    __m512i words = _mm512_maskz_loadu_epi32(run0, site + sites[0]);
    __mmask16 rest = valid & (__mmask16)~run0;
    if (!rest) return words;
    const int m = __builtin_ctz(rest);
    const int32_t from = sites[m] - 4 * m; /* where lane 0 of that run would be */
    if (from >= 0) {
        const __mmask16 run1 = _mm512_mask_cmpeq_epi32_mask(
            rest, at, _mm512_add_epi32(_mm512_set1_epi32(from), stride));
        words = _mm512_mask_loadu_epi32(words, run1, site + from);
        rest &= (__mmask16)~run1;
    }
    return rest ? _mm512_mask_i32gather_epi32(words, rest, at, site, 1) : words;
}

/* 16 lanes: sites j .. j + 15 of the chunk are word array j / 16 of its blocks. The entry index
 * is code * 8 + pick. */
__attribute__((target("avx512f"))) static uint64_t
mask_avx512(const metropolis_fast *m, uint32_t swap_threshold, const uint8_t *site,
            const int32_t *sites, const philox_batch *b, int block, int count) {
    const __m512i byte = _mm512_set1_epi32(0xFF);
    const __m512i u_mask = _mm512_set1_epi32(ATTEMPT_SWAP_MASK);
    const __m512i len_mask = _mm512_set1_epi32((int)~(1u << METROPOLIS_PACKED_FLAG));
    const __m512i threshold = _mm512_set1_epi32((int)swap_threshold);
    const __m512i zero = _mm512_setzero_si512();
    uint64_t mask = 0;
    for (int j = 0; j < count; j += 16) {
        const __mmask16 valid = count - j >= 16 ? 0xFFFF : (__mmask16)((1u << (count - j)) - 1);
        const __m512i at = _mm512_maskz_loadu_epi32(valid, sites + j);
        const __m512i code = _mm512_and_si512(codes_avx512(site, sites + j, at, valid), byte);
        const __m512i word = _mm512_load_si512(b->w[j / 16] + block);
        const __m512i index =
            _mm512_or_si512(_mm512_slli_epi32(code, 3), _mm512_srli_epi32(word, 29));
        /* Sites with code 0 (solution, no neighbours) are most of a lattice at the paper's
         * state: when all 16 are, their entries are the table's first 8, one permute away. */
        const __m512i entry = _mm512_test_epi32_mask(code, code)
                                  ? _mm512_mask_i32gather_epi32(zero, valid, index, m->packed, 4)
                                  : _mm512_permutexvar_epi32(index, _mm512_loadu_si512(m->packed));
        const __m512i off = _mm512_and_si512(_mm512_srai_epi32(entry, 31), threshold);
        const __m512i u = _mm512_sub_epi32(_mm512_and_si512(word, u_mask), off);
        mask |= (uint64_t)_mm512_mask_cmple_epu32_mask(valid, u, _mm512_and_si512(entry, len_mask))
                << j;
    }
    return mask;
}

static int supports_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

/* codes_avx512() for 8 lanes (all of them in bounds: the caller pads a tail with site 0). */
__attribute__((target("avx2"))) static inline __m256i codes_avx2(const uint8_t *site,
                                                                 const int32_t *sites, __m256i at) {
    const __m256i stride = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);
    const __m256i run0 =
        _mm256_cmpeq_epi32(at, _mm256_add_epi32(_mm256_set1_epi32(sites[0]), stride));
    __m256i words = _mm256_maskload_epi32((const int *)(site + sites[0]), run0);
    unsigned rest = ~(unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(run0)) & 0xFFu;
    if (!rest) return words;
    const int m = __builtin_ctz(rest);
    const int32_t from = sites[m] - 4 * m;
    if (from >= 0) {
        const __m256i run1 = _mm256_andnot_si256(
            run0, _mm256_cmpeq_epi32(at, _mm256_add_epi32(_mm256_set1_epi32(from), stride)));
        words = _mm256_blendv_epi8(words, _mm256_maskload_epi32((const int *)(site + from), run1),
                                   run1);
        rest &= ~(unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(run1));
    }
    if (!rest) return words;
    const __m256i lane = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    const __m256i gather =
        _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32((int)rest), lane), lane);
    return _mm256_mask_i32gather_epi32(words, (const int *)site, at, gather, 1);
}

/* 8 lanes; unsigned a <= b as max(a, b) == b. */
__attribute__((target("avx2"))) static uint64_t
mask_avx2(const metropolis_fast *m, uint32_t swap_threshold, const uint8_t *site,
          const int32_t *sites, const philox_batch *b, int block, int count) {
    const __m256i byte = _mm256_set1_epi32(0xFF);
    const __m256i u_mask = _mm256_set1_epi32(ATTEMPT_SWAP_MASK);
    const __m256i len_mask = _mm256_set1_epi32((int)~(1u << METROPOLIS_PACKED_FLAG));
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
        const __m256i code = _mm256_and_si256(codes_avx2(site, at_sites, at), byte);
        const __m256i word = _mm256_load_si256((const __m256i *)(b->w[j / 16] + block + j % 16));
        const __m256i index =
            _mm256_or_si256(_mm256_slli_epi32(code, 3), _mm256_srli_epi32(word, 29));
        const __m256i entry = _mm256_i32gather_epi32((const int *)m->packed, index, 4);
        const __m256i off = _mm256_and_si256(_mm256_srai_epi32(entry, 31), threshold);
        const __m256i u = _mm256_sub_epi32(_mm256_and_si256(word, u_mask), off);
        const __m256i len = _mm256_and_si256(entry, len_mask);
        const __m256i pass = _mm256_cmpeq_epi32(_mm256_max_epu32(u, len), len);
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
