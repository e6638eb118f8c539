/* Batched Philox4x32-10: see kernel_philox.h. Three implementations of one function, picked at
 * run time; all give the blocks of philox.h's scalar philox4x32_10() bit for bit.
 *
 * Lane layout of the SIMD versions: one block per 64-bit lane, each Philox word in the low 32
 * bits of its lane (the high 32 bits hold junk that is never read). vpmuludq multiplies the low
 * 32 bits of each 64-bit lane into a full 64-bit product, so one instruction gives both halves
 * Philox needs (hi for the next x0/x2, lo for the next x1/x3) without any shuffle. A round on 8
 * (AVX-512) or 4 (AVX2) blocks is then 2 multiplications, 2 shifts and 2 three-way XORs; several
 * independent vectors ("sets") are in flight at once so the multiplier's latency is hidden.
 */
#include "kernel_philox.h"

#include <stdlib.h>
#include <string.h>

static const uint32_t philox_mul0 = 0xD2511F53u, philox_mul1 = 0xCD9E8D57u;
static const uint32_t philox_weyl0 = 0x9E3779B9u, philox_weyl1 = 0xBB67AE85u;

/* The offsets of a partial batch, padded with zeros to a full one, so the SIMD versions can
 * load whole vectors without reading past the caller's array. */
static const int32_t *padded_offsets(const int32_t *offset, int count, int32_t pad[PHILOX_BATCH]) {
    if (!offset || count == PHILOX_BATCH) return offset;
    memset(pad, 0, sizeof(int32_t) * PHILOX_BATCH);
    memcpy(pad, offset, sizeof(int32_t) * (size_t)count);
    return pad;
}

static inline void store_block(philox_batch *out, int j, philox_block b) {
    out->w[0][j] = b.v[0], out->w[1][j] = b.v[1], out->w[2][j] = b.v[2], out->w[3][j] = b.v[3];
}

/* One loop per kind of counter list: with the choice inside the loop it ran 30% slower. */
static void fill_portable(philox_batch *out, philox_key key, uint64_t base, const int32_t *offset,
                          int count, uint32_t task, uint32_t purpose) {
    if (offset) {
        for (int j = 0; j < count; ++j) {
            const philox_block counter = philox_counter(base + (uint64_t)offset[j], task, purpose);
            store_block(out, j, philox4x32_10(counter, key));
        }
    } else {
        for (int j = 0; j < count; ++j) {
            const philox_block counter = philox_counter(base + (uint64_t)j, task, purpose);
            store_block(out, j, philox4x32_10(counter, key));
        }
    }
}

static int always(void) {
    return 1;
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define RIPEN_KERNEL_X86 1
#include <immintrin.h>

/* ---- AVX-512: 8 blocks per vector, up to 8 vectors in flight (64 blocks per pass) ---- */

/* Measured on Zen 4 (ns per block): 2 vectors in flight 2.1, 4: 1.5, 8: 1.4 (some spills, still
 * faster). Tails of fewer than 64 blocks go 32, then 16 at a time, so a partial batch wastes
 * little and a checkerboard class of two chunks (32 blocks) keeps 4 vectors in flight. */
enum { LANES512 = 8, SETS512_FULL = 8, SETS512_HALF = 4, SETS512_TAIL = 2, MAX_SETS = 8 };

#define TARGET512 __attribute__((target("avx512f")))

TARGET512 static inline __m512i index512(uint64_t base, const int32_t *offset, int j) {
    const __m256i off =
        offset ? _mm256_loadu_si256((const __m256i *)(offset + j))
               : _mm256_add_epi32(_mm256_set1_epi32(j), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return _mm512_add_epi64(_mm512_set1_epi64((long long)base), _mm512_cvtepu32_epi64(off));
}

/* Blocks j .. j + 8 * sets - 1. The first round is special: x2 = task and x3 = purpose are the
 * same in every lane, so its second product is a scalar (one multiplication in twenty saved).
 * Always inlined with a constant `sets`, so the arrays below live in registers. */
TARGET512 __attribute__((always_inline)) static inline void
pass512(philox_batch *out, philox_key key, uint64_t base, const int32_t *offset, int j,
        uint32_t task, uint32_t purpose, const int sets) {
    const __m512i mul0 = _mm512_set1_epi64(philox_mul0), mul1 = _mm512_set1_epi64(philox_mul1);
    const uint64_t p1 = (uint64_t)philox_mul1 * task;
    const __m512i lo1 = _mm512_set1_epi64((uint32_t)p1);
    const __m512i hi1_k0 = _mm512_set1_epi64((uint32_t)(p1 >> 32) ^ key.v[0]);
    const __m512i x3_k1 = _mm512_set1_epi64(purpose ^ key.v[1]);
    __m512i x0[MAX_SETS], x1[MAX_SETS], x2[MAX_SETS], x3[MAX_SETS];
    for (int s = 0; s < sets; ++s) {
        const __m512i index = index512(base, offset, j + s * LANES512);
        const __m512i p0 = _mm512_mul_epu32(index, mul0);
        x0[s] = _mm512_xor_si512(_mm512_srli_epi64(index, 32), hi1_k0);
        x1[s] = lo1;
        x2[s] = _mm512_xor_si512(_mm512_srli_epi64(p0, 32), x3_k1);
        x3[s] = p0;
    }
    uint32_t k0 = key.v[0], k1 = key.v[1];
    for (int round = 1; round < 10; ++round) {
        k0 += philox_weyl0, k1 += philox_weyl1;
        const __m512i key0 = _mm512_set1_epi64(k0), key1 = _mm512_set1_epi64(k1);
        for (int s = 0; s < sets; ++s) {
            const __m512i p0 = _mm512_mul_epu32(x0[s], mul0);
            const __m512i p1v = _mm512_mul_epu32(x2[s], mul1);
            /* 0x96 = a ^ b ^ c */
            x0[s] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p1v, 32), x1[s], key0, 0x96);
            x2[s] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0, 32), x3[s], key1, 0x96);
            x1[s] = p1v;
            x3[s] = p0;
        }
    }
    for (int s = 0; s < sets; ++s) {
        const int at = j + s * LANES512;
        _mm256_store_si256((__m256i *)(out->w[0] + at), _mm512_cvtepi64_epi32(x0[s]));
        _mm256_store_si256((__m256i *)(out->w[1] + at), _mm512_cvtepi64_epi32(x1[s]));
        _mm256_store_si256((__m256i *)(out->w[2] + at), _mm512_cvtepi64_epi32(x2[s]));
        _mm256_store_si256((__m256i *)(out->w[3] + at), _mm512_cvtepi64_epi32(x3[s]));
    }
}

TARGET512 static void fill_avx512(philox_batch *out, philox_key key, uint64_t base,
                                  const int32_t *offset, int count, uint32_t task,
                                  uint32_t purpose) {
    int32_t pad[PHILOX_BATCH];
    offset = padded_offsets(offset, count, pad);
    /* Lanes past `count` compute blocks nobody reads; PHILOX_BATCH is a multiple of a pass. */
    int j = 0;
    for (; j + SETS512_FULL * LANES512 <= count; j += SETS512_FULL * LANES512)
        pass512(out, key, base, offset, j, task, purpose, SETS512_FULL);
    for (; j + SETS512_HALF * LANES512 <= count; j += SETS512_HALF * LANES512)
        pass512(out, key, base, offset, j, task, purpose, SETS512_HALF);
    for (; j < count; j += SETS512_TAIL * LANES512)
        pass512(out, key, base, offset, j, task, purpose, SETS512_TAIL);
}

static int supports_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

/* ---- AVX2: 4 blocks per vector, up to 8 vectors in flight (32 blocks per pass) ---- */

/* Measured on Zen 4 (ns per block): 2 vectors in flight 2.7, 8: 2.15. */
enum { LANES256 = 4, SETS256_FULL = 8, SETS256_TAIL = 2 };

#define TARGET256 __attribute__((target("avx2")))

TARGET256 static inline __m256i index256(uint64_t base, const int32_t *offset, int j) {
    const __m128i off = offset ? _mm_loadu_si128((const __m128i *)(offset + j))
                               : _mm_add_epi32(_mm_set1_epi32(j), _mm_setr_epi32(0, 1, 2, 3));
    return _mm256_add_epi64(_mm256_set1_epi64x((long long)base), _mm256_cvtepu32_epi64(off));
}

/* The low 32 bits of the 64-bit lanes of a and b (4 each), as 8 words in lane order. */
TARGET256 static inline __m256i pack256(__m256i a, __m256i b) {
    const __m256 mixed = _mm256_shuffle_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), 0x88);
    return _mm256_permute4x64_epi64(_mm256_castps_si256(mixed), 0xD8);
}

TARGET256 static inline __m256i xor3_256(__m256i a, __m256i b, __m256i c) {
    return _mm256_xor_si256(_mm256_xor_si256(a, b), c);
}

TARGET256 __attribute__((always_inline)) static inline void
pass256(philox_batch *out, philox_key key, uint64_t base, const int32_t *offset, int j,
        uint32_t task, uint32_t purpose, const int sets) {
    const __m256i mul0 = _mm256_set1_epi64x(philox_mul0), mul1 = _mm256_set1_epi64x(philox_mul1);
    const uint64_t p1 = (uint64_t)philox_mul1 * task;
    const __m256i lo1 = _mm256_set1_epi64x((uint32_t)p1);
    const __m256i hi1_k0 = _mm256_set1_epi64x((uint32_t)(p1 >> 32) ^ key.v[0]);
    const __m256i x3_k1 = _mm256_set1_epi64x(purpose ^ key.v[1]);
    __m256i x0[MAX_SETS], x1[MAX_SETS], x2[MAX_SETS], x3[MAX_SETS];
    for (int s = 0; s < sets; ++s) {
        const __m256i index = index256(base, offset, j + s * LANES256);
        const __m256i p0 = _mm256_mul_epu32(index, mul0);
        x0[s] = _mm256_xor_si256(_mm256_srli_epi64(index, 32), hi1_k0);
        x1[s] = lo1;
        x2[s] = _mm256_xor_si256(_mm256_srli_epi64(p0, 32), x3_k1);
        x3[s] = p0;
    }
    uint32_t k0 = key.v[0], k1 = key.v[1];
    for (int round = 1; round < 10; ++round) {
        k0 += philox_weyl0, k1 += philox_weyl1;
        const __m256i key0 = _mm256_set1_epi64x(k0), key1 = _mm256_set1_epi64x(k1);
        for (int s = 0; s < sets; ++s) {
            const __m256i p0 = _mm256_mul_epu32(x0[s], mul0);
            const __m256i p1v = _mm256_mul_epu32(x2[s], mul1);
            x0[s] = xor3_256(_mm256_srli_epi64(p1v, 32), x1[s], key0);
            x2[s] = xor3_256(_mm256_srli_epi64(p0, 32), x3[s], key1);
            x1[s] = p1v;
            x3[s] = p0;
        }
    }
    for (int s = 0; s < sets; s += 2) {
        const int at = j + s * LANES256;
        _mm256_store_si256((__m256i *)(out->w[0] + at), pack256(x0[s], x0[s + 1]));
        _mm256_store_si256((__m256i *)(out->w[1] + at), pack256(x1[s], x1[s + 1]));
        _mm256_store_si256((__m256i *)(out->w[2] + at), pack256(x2[s], x2[s + 1]));
        _mm256_store_si256((__m256i *)(out->w[3] + at), pack256(x3[s], x3[s + 1]));
    }
}

TARGET256 static void fill_avx2(philox_batch *out, philox_key key, uint64_t base,
                                const int32_t *offset, int count, uint32_t task, uint32_t purpose) {
    int32_t pad[PHILOX_BATCH];
    offset = padded_offsets(offset, count, pad);
    int j = 0;
    for (; j + SETS256_FULL * LANES256 <= count; j += SETS256_FULL * LANES256)
        pass256(out, key, base, offset, j, task, purpose, SETS256_FULL);
    for (; j < count; j += SETS256_TAIL * LANES256)
        pass256(out, key, base, offset, j, task, purpose, SETS256_TAIL);
}

static int supports_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}
#endif

const philox_batch_impl philox_batch_impls[] = {
#ifdef RIPEN_KERNEL_X86
    {"avx512", fill_avx512, supports_avx512},
    {"avx2", fill_avx2, supports_avx2},
#endif
    {"portable", fill_portable, always},
};
const int philox_batch_impl_count = sizeof philox_batch_impls / sizeof philox_batch_impls[0];

const philox_batch_impl *philox_batch_best(void) {
    for (int k = 0; k < philox_batch_impl_count; ++k)
        if (philox_batch_impls[k].supported()) return &philox_batch_impls[k];
    return &philox_batch_impls[philox_batch_impl_count - 1];
}

const philox_batch_impl *philox_batch_choose(void) {
    const char *wanted = getenv("RIPEN_PHILOX");
    if (wanted)
        for (int k = 0; k < philox_batch_impl_count; ++k)
            if (strcmp(philox_batch_impls[k].name, wanted) == 0 &&
                philox_batch_impls[k].supported())
                return &philox_batch_impls[k];
    return philox_batch_best();
}
