/* Philox4x32-10 for a batch of counters at once (private to the library).
 *
 * The Metropolis kernels need one Philox block per attempt; computed one at a time it costs about
 * 6 ns, more than everything else in an attempt. The blocks of different counters are
 * independent, so they can be computed side by side in SIMD lanes: 8 per AVX-512 vector or 4 per
 * AVX2 vector, each 32-bit word in the low half of a 64-bit lane, because the 32 x 32 -> 64 bit
 * multiplication Philox needs (vpmuludq) works on 64-bit lanes. The result is bit for bit the
 * scalar philox4x32_10() of philox.h; tests/test_kernels.c checks every implementation against it.
 *
 * The implementation is chosen at run time (philox_batch_best) from what the CPU supports, so
 * the default build stays portable: the AVX2 and AVX-512 versions are compiled with per-function
 * target attributes, not with -march flags for the whole library.
 */
#ifndef RIPEN_KERNEL_PHILOX_H
#define RIPEN_KERNEL_PHILOX_H

#include <stdint.h>

#include "ripen/engine/philox.h"

enum { PHILOX_BATCH = 64 }; /* blocks per batch: amortises the call, fits in L1 (1 KiB) */

/* Block j of a batch: words w[0][j], w[1][j], w[2][j], w[3][j] (structure of arrays, so a
 * kernel reads one word of consecutive blocks with unit stride). */
typedef struct {
    _Alignas(64) uint32_t w[4][PHILOX_BATCH];
} philox_batch;

/* Fills blocks 0..count-1 (count <= PHILOX_BATCH) of `out` for the counters
 * {base + offset[j], task, purpose}; offset == NULL means offset[j] = j. Offsets are >= 0. */
typedef void (*philox_batch_fn)(philox_batch *out, philox_key key, uint64_t base,
                                const int32_t *offset, int count, uint32_t task, uint32_t purpose);

typedef struct {
    const char *name;       /* "avx512", "avx2", "portable" */
    philox_batch_fn fill;   /* the generator */
    int (*supported)(void); /* 1 if this CPU can run it */
} philox_batch_impl;

/* Every implementation compiled in, fastest first; the last one (portable C) runs anywhere. */
extern const philox_batch_impl philox_batch_impls[];
extern const int philox_batch_impl_count;

/* The fastest implementation this CPU supports. */
const philox_batch_impl *philox_batch_best(void);

/* The implementation the kernels use: the one named by the environment variable RIPEN_PHILOX
 * ("avx512", "avx2", "portable") if this CPU supports it, else philox_batch_best(). Read when a
 * workspace is created, never in a loop; for benchmarks and for running the bit-for-bit tests on
 * every implementation. */
const philox_batch_impl *philox_batch_choose(void);

#endif
