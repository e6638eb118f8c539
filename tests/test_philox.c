/* Philox4x32-10: ripen's scalar wrapper against the Random123 known-answer vectors (kat_vectors,
 * "philox4x32 10" lines: counter[4] key[2] -> output[4]); every batched SIMD implementation of
 * the kernels (kernel_philox.c: AVX-512, AVX2, portable) against Random123's philox4x32_R itself,
 * bit for bit, over 2^21 blocks each (random keys, tasks, purposes and bases, including bases
 * whose low word wraps inside a batch; consecutive and scattered counters; every batch length);
 * and the unbiased bounded draw. */
#include "check.h"
#include "kernel_philox.h"
#include "ripen/engine/philox.h"

#include <Random123/philox.h>
#include <string.h>

/* Blocks of `impl` that differ from Random123's, over `batches` random batches. */
static long oracle_mismatches(const philox_batch_impl *impl, long batches, long *blocks) {
    philox_stream s;
    philox_stream_init(&s, philox_key_from_seed(0x0A11CE), 0, 0, PURPOSE_TEST);
    int32_t scattered[PHILOX_BATCH];
    long mismatches = 0;
    for (long b = 0; b < batches; ++b) {
        const philox_key key = {{philox_stream_next(&s), philox_stream_next(&s)}};
        const uint32_t task = philox_stream_next(&s), purpose = philox_stream_next(&s);
        uint64_t base = (uint64_t)philox_stream_next(&s) << 32 | philox_stream_next(&s);
        if (b % 4 == 1) base |= 0xFFFFFFC0u; /* the low word wraps within the batch */
        const int count =
            b % 3 == 2 ? 1 + (int)(philox_stream_next(&s) % PHILOX_BATCH) : PHILOX_BATCH;
        const int scatter = b % 2;
        for (int j = 0; j < PHILOX_BATCH; ++j)
            scattered[j] = (int32_t)(philox_stream_next(&s) >> 1);
        philox_batch out;
        impl->fill(&out, key, base, scatter ? scattered : NULL, count, task, purpose);
        const philox4x32_key_t k = {{key.v[0], key.v[1]}};
        for (int j = 0; j < count; ++j, ++*blocks) {
            const uint64_t index = base + (uint64_t)(scatter ? scattered[j] : j);
            const philox4x32_ctr_t c = {{(uint32_t)index, (uint32_t)(index >> 32), task, purpose}};
            const philox4x32_ctr_t want = philox4x32_R(10, c, k);
            for (int w = 0; w < 4; ++w) mismatches += out.w[w][j] != want.v[w];
        }
    }
    return mismatches;
}

static void check_batched_against_random123(void) {
    for (int k = 0; k < philox_batch_impl_count; ++k) {
        const philox_batch_impl *impl = &philox_batch_impls[k];
        if (!impl->supported()) {
            printf("philox %-9s not supported by this CPU: not tested\n", impl->name);
            continue;
        }
        long blocks = 0;
        const long mismatches = oracle_mismatches(impl, 40000, &blocks);
        CHECK(mismatches == 0, "batched philox %s: %ld words differ from Random123", impl->name,
              mismatches);
        CHECK(blocks > 2000000, "only %ld blocks compared", blocks);
        printf("philox %-9s %ld blocks equal to Random123's philox4x32_R(10)\n", impl->name,
               blocks);
    }
}

static void check_vector(philox_block ctr, philox_key key, philox_block expected) {
    const philox_block got = philox4x32_10(ctr, key);
    CHECK(memcmp(&got, &expected, sizeof got) == 0, "got %08x %08x %08x %08x", got.v[0], got.v[1],
          got.v[2], got.v[3]);
}

int main(void) {
    check_vector((philox_block){{0, 0, 0, 0}}, (philox_key){{0, 0}},
                 (philox_block){{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}});
    check_vector((philox_block){{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}},
                 (philox_key){{0xffffffff, 0xffffffff}},
                 (philox_block){{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}});
    check_vector((philox_block){{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}},
                 (philox_key){{0xa4093822, 0x299f31d0}},
                 (philox_block){{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}});

    check_batched_against_random123();

    /* The counter layout: index in words 0-1, task in 2, purpose in 3. */
    const philox_block c = philox_counter(UINT64_C(0x0000000500000007), 9, PURPOSE_CLASS_ORDER);
    CHECK(c.v[0] == 7 && c.v[1] == 5 && c.v[2] == 9 && c.v[3] == PURPOSE_CLASS_ORDER, "layout");

    /* A stream's successive blocks differ only in the block byte of word 3. */
    philox_stream s;
    philox_stream_init(&s, philox_key_from_seed(42), 3, 1, PURPOSE_TEST);
    uint32_t words[8];
    for (int k = 0; k < 8; ++k) words[k] = philox_stream_next(&s);
    const philox_block second = philox4x32_10((philox_block){{3, 0, 1, PURPOSE_TEST | (1u << 8)}},
                                              philox_key_from_seed(42));
    CHECK(memcmp(words + 4, second.v, sizeof second.v) == 0, "second block of a stream");

    /* Unbiased bounded draws. With n = 3 * 2^30 a plain multiply-shift floor(w n / 2^32) =
     * floor(3w / 4) gives values = 0 mod 3 two preimages and the others one (probability 1/2
     * instead of 1/3); Lemire's method rejects w = 0 mod 4 and is exactly uniform. Chi-square of
     * v mod 3 over 3e5 draws: bound 13.8 = the 0.1% point for 2 dof (the biased method would
     * give ~ 37500). */
    const uint32_t n = 3u << 30;
    long bins[3] = {0, 0, 0};
    philox_stream more;
    philox_stream_init(&more, philox_key_from_seed(7), 0, 0, PURPOSE_TEST);
    const int draws = 300000;
    for (int k = 0; k < draws; ++k) {
        const uint32_t v = philox_uniform_below(philox_stream_next(&more), n, &more);
        CHECK(v < n, "draw %u out of range", v);
        bins[v % 3]++;
    }
    double chi2 = 0;
    for (int b = 0; b < 3; ++b)
        chi2 += (bins[b] - draws / 3.0) * (bins[b] - draws / 3.0) / (draws / 3.0);
    CHECK(chi2 < 13.8, "bounded draws not uniform: chi2 = %g", chi2);
    return check_exit("test_philox");
}
