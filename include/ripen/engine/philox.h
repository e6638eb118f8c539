/* Philox4x32-10, the counter-based generator of Salmon, Moraes, Dror and Shaw, "Parallel random
 * numbers: as easy as 1, 2, 3" (SC'11). Output = a keyed bijection of a 128-bit counter: ten rounds
 * of two 32x32->64 multiplications in a Feistel-like network, the key bumped by Weyl constants
 * between rounds. The scalar generator is the authors' own, Random123's philox4x32_R (Debian's
 * header-only librandom123-dev); ripen keeps only thin wrappers for its counter layout. The
 * batched SIMD versions of the kernels (src/engine/kernel_philox.c) are ripen's own, and
 * tests/test_philox.c checks them against Random123 over millions of counters and keys, beside
 * Random123's known-answer vectors.
 *
 * Why counter-based: a replica's random numbers are a pure function of (job seed, task id, step,
 * attempt), so its trajectory never depends on which MPI rank runs it, in which order, or whether
 * it was resumed from a checkpoint.
 *
 * How ripen lays out the 128-bit counter and the 64-bit key (docs/design.md, "Random numbers"):
 *   key     = { seed low 32 bits, seed high 32 bits }
 *   counter = { index low 32, index high 32, task id, purpose | block << 8 }
 * where the purpose says what the numbers are for (one attempt, a redraw, a class order ...).
 */
#ifndef RIPEN_PHILOX_H
#define RIPEN_PHILOX_H

#include <stdint.h>

#include <Random123/philox.h>

typedef struct {
    uint32_t v[4];
} philox_block;

typedef struct {
    uint32_t v[2];
} philox_key;

static inline philox_block philox4x32_10(philox_block ctr, philox_key key) {
    const philox4x32_ctr_t c = {{ctr.v[0], ctr.v[1], ctr.v[2], ctr.v[3]}};
    const philox4x32_key_t k = {{key.v[0], key.v[1]}};
    const philox4x32_ctr_t x = philox4x32_R(10, c, k);
    return (philox_block){{x.v[0], x.v[1], x.v[2], x.v[3]}};
}

/* What a block of random numbers is used for: the low byte of the fourth counter word. */
enum philox_purpose {
    PURPOSE_ATTEMPT = 0,         /* one Metropolis attempt: index = global attempt number */
    PURPOSE_SITE_REDRAW = 1,     /* rare extra draws for unbiased site selection */
    PURPOSE_CLASS_ORDER = 2,     /* checkerboard: order of the colour classes in one step */
    PURPOSE_REJECTION_FREE = 3,  /* rejection-free dynamics: event choice and waiting times */
    PURPOSE_WINDOW = 4,          /* umbrella windows: bias moves */
    PURPOSE_FFS_PICK = 5,        /* forward flux sampling: a shot's starting configuration */
    PURPOSE_FFS_BOOTSTRAP = 6,   /* forward flux sampling: walker resamples of the rate */
    PURPOSE_EXCHANGE = 7,        /* window exchange: accept a swap of two states' configurations */
    PURPOSE_CRACK_BOOTSTRAP = 8, /* ensembles: replica resamples of the crack free energy */
    PURPOSE_ATTEMPT_EXT = 9,     /* checkerboard: a candidate's 34 low acceptance bits */
    PURPOSE_ATTEMPT_PACKED = 10, /* checkerboard: four attempts' words per block */
    PURPOSE_TEST = 255           /* tests only */
};

static inline philox_key philox_key_from_seed(uint64_t seed) {
    return (philox_key){{(uint32_t)seed, (uint32_t)(seed >> 32)}};
}

static inline philox_block philox_counter(uint64_t index, uint32_t task, uint32_t purpose) {
    return (philox_block){{(uint32_t)index, (uint32_t)(index >> 32), task, purpose}};
}

/* A sequential stream of 32-bit words for the few places that need an unknown number of draws
 * (shuffles, rejection sampling): counter {index, task, purpose | block << 8}, so the stream of
 * index i never overlaps the stream of index i + 1. Up to 2^24 blocks (2^26 words) per stream. */
typedef struct {
    philox_key key;
    philox_block counter; /* the next block's counter */
    philox_block buffer;
    int used; /* words of `buffer` already handed out (4 = empty) */
} philox_stream;

static inline void philox_stream_init(philox_stream *s, philox_key key, uint64_t index,
                                      uint32_t task, uint32_t purpose) {
    s->key = key;
    s->counter = philox_counter(index, task, purpose & 0xFFu);
    s->used = 4;
}

static inline uint32_t philox_stream_next(philox_stream *s) {
    if (s->used == 4) {
        s->buffer = philox4x32_10(s->counter, s->key);
        s->counter.v[3] += 1u << 8;
        s->used = 0;
    }
    return s->buffer.v[s->used++];
}

/* Uniform integer in [0, n), n >= 1, without bias: Lemire's multiply-and-reject (2019). The first
 * word is given; further words (needed with probability < n / 2^32) come from `more`. */
static inline uint32_t philox_uniform_below(uint32_t word, uint32_t n, philox_stream *more) {
    uint64_t m = (uint64_t)word * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        const uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (uint64_t)philox_stream_next(more) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

/* A double uniform in [0, 1) with 53 random bits, for code outside the hot loops. */
static inline double philox_stream_uniform(philox_stream *s) {
    const uint64_t hi = philox_stream_next(s) >> 5, lo = philox_stream_next(s) >> 6;
    return (double)(hi * 67108864u + lo) * 0x1.0p-53;
}

#endif
