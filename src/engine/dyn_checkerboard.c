/* Checkerboard (colour-class) sweeps: a step visits the colour classes in a random order and
 * makes one attempt at every site of each class. Moves within a class cannot interact
 * (colouring.h), so the order inside a class does not matter and a class can be updated in
 * parallel or in SIMD lanes. The random bits of a site at step s are attempt.h's packed
 * protocol: one 32-bit word per attempt, four attempts per Philox block, the word fixed by the
 * step and the site's place in its class, whatever the processing order. Each class update
 * satisfies detailed balance, so the sweep samples exp(-E) like random-sequential; the kinetics
 * differ.
 *
 * Kernel, per class (kernel_metropolis.h):
 *  1. the filter, over the whole class: the class's sites in chunks of 64, the 16 Philox blocks
 *     of a chunk (consecutive counters; those of up to 4 chunks in one batch) computed together
 *     in SIMD lanes, then the exact packed filter evaluated on 16 (AVX-512) or 8 (AVX2) sites at
 *     once: their codes loaded (runs 4 apart) or gathered, their entries gathered, one unsigned
 *     comparison, one candidate bit per site. This is exact before any move of the class is made
 *     because a move at site i changes codes only within distance 2 of i, and the other sites of
 *     the class are at distance >= 4: when a site's turn comes its code is still the one the
 *     filter read.
 *  2. the candidates (about 0.05% of sites at the paper's state), in increasing site order,
 *     through attempt_packed_at() with their words recomputed by the scalar generator: exactly
 *     the straightforward loop's sequence of moves, including the order in which accepted moves
 *     meet an umbrella window's wall (tests/test_kernels.c compares them bit for bit).
 *
 * Lattices whose classes hold fewer than 64 sites on average run the previous, sequence kernel
 * instead (below): batches of 64 sites of the visiting sequence spanning classes, one block per
 * site (its word's), filtered one attempt at a time.
 *
 * Threads (dynamics_set_threads): step 1 is split over the threads by groups of chunks (up to 4,
 * so that every thread gets one); step 2 stays on one thread. Used only when the classes have two
 * chunks per thread or more (smaller lattices run on one thread). Every chunk's candidate bits
 * depend on the chunk alone and the moves run in the same order, so the trajectory is the same
 * for any number of threads, bit for bit; the replica's integer counters are only ever updated by
 * that one thread. One or two barriers per class make this pay only for big lattices
 * (docs/performance.md).
 *
 * Global counts: the hard walls (replica_walls_allow: an umbrella window on N_core, a band on
 * N_shell) and a finite solution's content (reservoir.h, n = total - N) read the counts, which
 * any earlier move of the class may have changed, although no two moves of a class interact
 * through the energy: the sites of a class are coupled through n. They stay exact because the
 * filter (step 1) reads only the sites' codes and the random words, never the counts, against
 * thresholds that bound every content, and so only ever passes an attempt on to step 2; step 2
 * decides, applies and wall-tests the moves one at a time in site order, on one thread, each
 * against the counts the moves before it left (in run_parallel too: run_candidates runs in an
 * `omp single` after the filter's barrier). With a reservoir the class update is then a
 * product of single-site Metropolis updates in a fixed order, each exact for the joint weight,
 * so the sweep keeps it stationary.
 */
#include "kernel_metropolis.h"
#include "ripen/engine/colouring.h"
#include "ripen/engine/dynamics.h"
#include "ripen/engine/error.h"

#include <stdlib.h>

#ifdef _OPENMP
#include <omp.h>
#endif

typedef struct {
    metropolis_fast fast;
    colouring classes;
    int *order;            /* this step's class order */
    uint64_t *class_base;  /* per class: its first block within a step (attempt.h) */
    uint64_t step_blocks;  /* blocks per step */
    int32_t *packed_block; /* sequence kernel, per entry of classes.sites: its block within a
                              step (NULL for the class kernel) */
    uint8_t *packed_word;  /* ... and its word in that block */
    uint64_t *masks[2];    /* per chunk of 64 sites of a class: candidate bits; classes alternate
                              between the two (run_parallel reads one while the next is written) */
    philox_batch batch;    /* the sequence kernel's current batch */
    _Alignas(64) int32_t joined[PHILOX_BATCH]; /* its sites, */
    int32_t joined_block[PHILOX_BATCH];        /* their blocks within the step */
    uint8_t joined_word[PHILOX_BATCH];         /* and words */
    int threads;                               /* threads for the filter (1: no parallel region) */
    int32_t largest;                           /* chunks of 64 sites in the largest class */
} checkerboard;

/* Classes of fewer than 64 sites on average run the sequence kernel (below). */
static int uses_sequence_kernel(const colouring *c) {
    return c->start[c->nclasses] < 64 * c->nclasses;
}

/* The sequence kernel's per-site blocks and words (a small lattice: the offsets fit). */
static int layout_sequence(checkerboard *cb) {
    const colouring *c = &cb->classes;
    const int32_t n = c->start[c->nclasses];
    if (!(cb->packed_block = malloc(sizeof *cb->packed_block * (size_t)n)) ||
        !(cb->packed_word = malloc((size_t)n)))
        return ripen_fail(RIPEN_ENOMEM, "out of memory for checkerboard sweeps");
    for (int k = 0; k < c->nclasses; ++k)
        for (int32_t q = c->start[k]; q < c->start[k + 1]; ++q) {
            cb->packed_block[q] =
                (int32_t)(cb->class_base[k] + attempt_packed_block(q - c->start[k]));
            cb->packed_word[q] = (uint8_t)attempt_packed_word_index(q - c->start[k]);
        }
    return RIPEN_OK;
}

static void destroy(void *workspace) {
    checkerboard *cb = workspace;
    if (!cb) return;
    colouring_free(&cb->classes);
    free(cb->order);
    free(cb->class_base);
    free(cb->packed_block);
    free(cb->packed_word);
    free(cb->masks[0]);
    free(cb->masks[1]);
    free(cb);
}

static int create(void **workspace, const lattice *lat, const model_tables *tab) {
    checkerboard *cb = aligned_alloc(_Alignof(checkerboard), sizeof *cb);
    if (!cb) return ripen_fail(RIPEN_ENOMEM, "out of memory for checkerboard sweeps");
    cb->classes = (colouring){0};
    cb->order = NULL, cb->masks[0] = cb->masks[1] = NULL, cb->threads = 1;
    cb->class_base = NULL, cb->packed_block = NULL, cb->packed_word = NULL;
    metropolis_fast_init(&cb->fast, tab);
    int status = colouring_build(&cb->classes, lat, COLOURING_SEPARATION);
    int32_t largest = 0;
    for (int k = 0; !status && k < cb->classes.nclasses; ++k)
        if (cb->classes.start[k + 1] - cb->classes.start[k] > largest)
            largest = cb->classes.start[k + 1] - cb->classes.start[k];
    cb->largest = (largest + 63) / 64;
    if (!status &&
        (!(cb->order = malloc(sizeof *cb->order * (size_t)cb->classes.nclasses)) ||
         !(cb->masks[0] = malloc(sizeof(uint64_t) * ((size_t)largest / 64 + 1))) ||
         !(cb->masks[1] = malloc(sizeof(uint64_t) * ((size_t)largest / 64 + 1))) ||
         !(cb->class_base = malloc(sizeof *cb->class_base * (size_t)cb->classes.nclasses))))
        status = ripen_fail(RIPEN_ENOMEM, "out of memory for checkerboard sweeps");
    if (!status) cb->step_blocks = attempt_class_bases(&cb->classes, cb->class_base);
    if (!status && uses_sequence_kernel(&cb->classes)) status = layout_sequence(cb);
    if (status) {
        destroy(cb);
        return status;
    }
    *workspace = cb;
    return RIPEN_OK;
}

static int set_threads(void *workspace, int threads) {
#ifndef _OPENMP
    if (threads > 1)
        return ripen_fail(RIPEN_EINVAL, "threads = %d: this build has no OpenMP, so 1 only",
                          threads);
#endif
    ((checkerboard *)workspace)->threads = threads;
    return RIPEN_OK;
}

/* One colour class of the current step: its sites, how many, where it starts in the step's
 * visiting sequence, the extension index of site 0 in this step and the class's first block. */
typedef struct {
    const int32_t *sites;
    int32_t count, chunks;
    uint64_t position, first, blocks;
    uint64_t *masks; /* the class's candidate bits */
} sweep_class;

static sweep_class class_at(const checkerboard *cb, const replica *r, int k, uint64_t position) {
    const colouring *c = &cb->classes;
    const int32_t begin = c->start[cb->order[k]], end = c->start[cb->order[k] + 1];
    return (sweep_class){c->sites + begin,
                         end - begin,
                         (end - begin + 63) / 64,
                         position,
                         r->step * (uint64_t)r->lat->nsites,
                         r->step * cb->step_blocks + cb->class_base[cb->order[k]],
                         cb->masks[k & 1]};
}

enum { GROUP_CHUNKS = PHILOX_BATCH / ATTEMPT_CHUNK_BLOCKS }; /* chunks per batch of blocks */

/* Step 1 for chunks [g * group, (g + 1) * group) of the class (group <= GROUP_CHUNKS): their
 * blocks, consecutive counters, in one batch, then their candidate bits into sc->masks. */
static void filter_group(const checkerboard *cb, const replica *r, const sweep_class *sc, int32_t g,
                         int32_t group, philox_batch *batch) {
    const int32_t begin = g * group;
    const int32_t end = begin + group < sc->chunks ? begin + group : sc->chunks;
    cb->fast.fill(batch, r->key, sc->blocks + ATTEMPT_CHUNK_BLOCKS * (uint64_t)begin, NULL,
                  ATTEMPT_CHUNK_BLOCKS * (end - begin), r->task, PURPOSE_ATTEMPT_PACKED);
    for (int32_t chunk = begin; chunk < end; ++chunk) {
        const int32_t at = chunk * ATTEMPT_CHUNK;
        const int count = sc->count - at < ATTEMPT_CHUNK ? (int)(sc->count - at) : ATTEMPT_CHUNK;
        sc->masks[chunk] = cb->fast.mask(&cb->fast, r->tab->swap_threshold, r->site, sc->sites + at,
                                         batch, ATTEMPT_CHUNK_BLOCKS * (chunk - begin), count);
    }
}

static int32_t groups_of(int32_t chunks, int32_t group) {
    return (chunks + group - 1) / group;
}

/* Step 2: the candidates in site order; 1 if the replica's watch stopped the run. Rare, so the
 * block is recomputed rather than kept from step 1. */
static int run_candidates(replica *r, const sweep_class *sc) {
    for (int32_t chunk = 0; chunk < sc->chunks; ++chunk)
        for (uint64_t bits = sc->masks[chunk]; bits; bits &= bits - 1) {
            const int32_t p = chunk * 64 + __builtin_ctzll(bits);
            const int32_t i = sc->sites[p];
            if (attempt_packed_at(r, i, attempt_packed_word(r, sc->blocks, p),
                                  sc->first + (uint64_t)i, sc->position + (uint64_t)p))
                return 1;
        }
    return 0;
}

static void run_serial(checkerboard *cb, replica *r, uint64_t steps) {
    philox_batch batch;
    for (uint64_t s = 0; s < steps; ++s, ++r->step) {
        attempt_class_order(r, cb->classes.nclasses, cb->order);
        uint64_t position = 0;
        for (int k = 0; k < cb->classes.nclasses; ++k) {
            const sweep_class sc = class_at(cb, r, k, position);
            for (int32_t g = 0; g < groups_of(sc.chunks, GROUP_CHUNKS); ++g)
                filter_group(cb, r, &sc, g, GROUP_CHUNKS, &batch);
            if (run_candidates(r, &sc)) return;
            position += (uint64_t)sc.count;
        }
    }
}

#ifdef _OPENMP
/* The same sequence of moves as run_serial(); the filter's chunks shared among the threads. All
 * threads run the step and class loops; the worksharing constructs' barriers order the phases:
 * the class order and the moves are made by one thread while the others wait. */
static void run_parallel(checkerboard *cb, replica *r, uint64_t steps) {
    int stop = 0;
#pragma omp parallel num_threads(cb->threads)
    {
        philox_batch batch;
        for (uint64_t s = 0; s < steps; ++s) {
#pragma omp single
            attempt_class_order(r, cb->classes.nclasses, cb->order);
            uint64_t position = 0;
            for (int k = 0; k < cb->classes.nclasses; ++k) {
                const sweep_class sc = class_at(cb, r, k, position);
                /* groups of chunks as large as a batch allows while every thread gets one */
                int32_t group = (sc.chunks + cb->threads - 1) / cb->threads;
                if (group > GROUP_CHUNKS) group = GROUP_CHUNKS;
#pragma omp for schedule(static)
                for (int32_t g = 0; g < groups_of(sc.chunks, group); ++g)
                    filter_group(cb, r, &sc, g, group, &batch);
                /* Most classes of a big, mostly empty lattice have no candidate: then every
                 * thread sees that in the masks and the second barrier is skipped. The next
                 * class writes the other mask array, so a thread still reading these ones is
                 * not disturbed (the barrier after that class's filter separates reuse). */
                uint64_t any = 0;
                for (int32_t chunk = 0; chunk < sc.chunks; ++chunk) any |= sc.masks[chunk];
                if (any) {
#pragma omp single
                    stop = run_candidates(r, &sc);
                }
                if (stop) break;
                position += (uint64_t)sc.count;
            }
            if (stop) break;
#pragma omp single
            ++r->step;
        }
    }
}
#endif

/* ---- small classes: the sequence kernel ---- */

/* Where a class holds a few sites (a 2x2x2 lattice has 8 classes of one site, 12x12x4 has 48 of
 * three), a SIMD pass per class would compute 16 blocks for one or two sites. There the step's
 * visiting sequence is cut into batches of 64 sites that may span classes, their blocks computed
 * together, and the attempts filtered one at a time in sequence order, each reading its site's
 * code when its turn comes: the same moves in the same order (2x faster than the class kernel on
 * 9x7x3, 3x2x2 and 2x2x2). */

/* Position in the step's visiting sequence: class order[k], site index p in classes.sites. */
typedef struct {
    int k;
    int32_t p;
} sweep_position;

/* The next (up to) 64 sites of the sequence, with their blocks and words, into cb->joined*.
 * Returns the count (0 at the end of the step). */
static int next_batch(checkerboard *cb, sweep_position *at) {
    const colouring *c = &cb->classes;
    int count = 0;
    while (count < PHILOX_BATCH && at->k < c->nclasses) {
        const int32_t end = c->start[cb->order[at->k] + 1];
        const int32_t take =
            end - at->p < PHILOX_BATCH - count ? end - at->p : PHILOX_BATCH - count;
        for (int32_t q = 0; q < take; ++q) {
            cb->joined[count + q] = c->sites[at->p + q];
            cb->joined_block[count + q] = cb->packed_block[at->p + q];
            cb->joined_word[count + q] = cb->packed_word[at->p + q];
        }
        count += (int)take;
        at->p += take;
        if (at->p == end && ++at->k < c->nclasses) at->p = c->start[cb->order[at->k]];
    }
    return count;
}

/* The full attempt, for the few the filter lets through; out of line, so that the filter loop
 * keeps its values in registers. */
__attribute__((noinline)) static int run_candidate(replica *r, uint32_t word, int32_t i,
                                                   uint64_t first, uint64_t position) {
    return attempt_packed_at(r, i, word, first + (uint64_t)i, position);
}

/* One batch: site cb->joined[j] gets word cb->joined_word[j] of block j of b; it is at
 * `position` + j in the step's visiting sequence, `first` is step * nsites. 1 if the watch
 * stopped the run. */
static int run_batch(replica *r, const checkerboard *cb, const philox_batch *b, int count,
                     uint64_t first, uint64_t position) {
    const uint32_t swap_threshold = r->tab->swap_threshold;
    const uint8_t *site = r->site;
    for (int j = 0; j < count; ++j) {
        const int32_t i = cb->joined[j];
        const uint32_t word = b->w[cb->joined_word[j]][j];
        if (__builtin_expect(metropolis_packed_candidate(&cb->fast, swap_threshold, site[i], word),
                             0) &&
            run_candidate(r, word, i, first, position + (uint64_t)j))
            return 1;
    }
    return 0;
}

static void run_sequence(checkerboard *cb, replica *r, uint64_t steps) {
    const uint64_t nsites = (uint64_t)r->lat->nsites;
    for (uint64_t s = 0; s < steps; ++s, ++r->step) {
        attempt_class_order(r, cb->classes.nclasses, cb->order);
        const uint64_t first = r->step * nsites;
        sweep_position at = {0, cb->classes.start[cb->order[0]]};
        int count;
        for (uint64_t position = 0; (count = next_batch(cb, &at)) > 0;
             position += (uint64_t)count) {
            cb->fast.fill(&cb->batch, r->key, r->step * cb->step_blocks, cb->joined_block, count,
                          r->task, PURPOSE_ATTEMPT_PACKED);
            if (run_batch(r, cb, &cb->batch, count, first, position)) return;
        }
    }
}

static void run(replica *r, void *workspace, uint64_t steps) {
    checkerboard *cb = workspace;
    metropolis_fast_bind(&cb->fast, r->tab);
    if (uses_sequence_kernel(&cb->classes)) {
        run_sequence(cb, r, steps);
        return;
    }
#ifdef _OPENMP
    /* Only when every thread gets two chunks of a class or more: with less, the barriers cost
     * more than the shared work saves (and on a busy node a thread waiting for a core stalls
     * every barrier). The trajectory is the same either way. */
    if (cb->threads > 1 && cb->largest >= 2 * cb->threads) {
        run_parallel(cb, r, steps);
        return;
    }
#endif
    run_serial(cb, r, steps);
}

const dynamics_kind dynamics_checkerboard = {
    .name = "checkerboard",
    .summary = "colour-class sweeps: every site once per step, classes in random order",
    .create = create,
    .destroy = destroy,
    .run = run,
    .set_threads = set_threads,
};
