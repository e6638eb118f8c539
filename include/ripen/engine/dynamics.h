/* Dynamics: how a replica advances by MC steps (1 step = nsites attempts on average).
 *
 * Each dynamics is one file exporting one descriptor (name, summary, create, destroy, run, check),
 * listed in dynamics.c's table; a job selects one by name. They all sample exp(-E); they differ in
 * kinetics, so kinetic results are reported with the dynamics named (rejection-free has exactly
 * random-sequential's kinetics, skipped attempts counted in its time). A workspace serves the
 * lattice it was created for; run() may be called with any replica of that lattice, in any
 * sequence: a workspace that caches something about the sites notices when the replica is another
 * one or was changed in between, and rebuilds. docs/performance.md has the speeds.
 */
#ifndef RIPEN_DYNAMICS_H
#define RIPEN_DYNAMICS_H

#include <stdint.h>

#include "ripen/engine/replica.h"

typedef struct {
    const char *name;    /* job-file name, e.g. "random-sequential" */
    const char *summary; /* one line for --help and docs */
    /* Workspace for a lattice (colour classes, ...); *workspace may stay NULL. */
    int (*create)(void **workspace, const lattice *lat, const model_tables *tab);
    void (*destroy)(void *workspace);
    /* Advances `r` by `steps` MC steps, from r->step on; returns early, within a step, when
     * r->watch asks to stop (replica.h), leaving r->step at the partial step. */
    void (*run)(replica *r, void *workspace, uint64_t steps);
    /* Optional (NULL: nothing cached): RIPEN_OK if everything the workspace caches about `r`
     * (rejection-free: every rate and partial sum) equals a recomputation from scratch, bit for
     * bit, else an error naming the first difference. The dynamics' own replica_check. */
    int (*check)(const void *workspace, const replica *r);
    /* Optional (NULL: the dynamics runs on one thread whatever is asked): the number of threads
     * run() may use, already validated by dynamics_set_threads(). */
    int (*set_threads)(void *workspace, int threads);
} dynamics_kind;

extern const dynamics_kind dynamics_random_sequential;
extern const dynamics_kind dynamics_checkerboard;
extern const dynamics_kind dynamics_rejection_free;

/* Baseline only, deliberately not in dynamics_all: random-sequential written plainly (energies
 * recomputed from the neighbours' states, exp() per attempt). Same trajectory as
 * dynamics_random_sequential, bit for bit; `ripen bench` measures the others against it and
 * tests/test_kernels.c uses it as the oracle. A job cannot select it. */
extern const dynamics_kind dynamics_reference;

/* All dynamics a job can select, for lookup by name and for tests that loop over every one. */
extern const dynamics_kind *const dynamics_all[];
extern const int dynamics_count;

/* The dynamics called `name`, or NULL with an error listing the valid names. */
const dynamics_kind *dynamics_find(const char *name, const char *path);

/* A dynamics bound to its workspace. */
typedef struct {
    const dynamics_kind *kind;
    void *workspace;
} dynamics;

int dynamics_open(dynamics *d, const dynamics_kind *kind, const lattice *lat,
                  const model_tables *tab);
void dynamics_close(dynamics *d);

enum { DYNAMICS_MAX_THREADS = 1024 };

/* Threads a dynamics may use in run(), 1 .. DYNAMICS_MAX_THREADS (one-line error otherwise);
 * default 1. Trajectories are the same, bit for bit, for any thread count. Only checkerboard
 * uses threads (over the sites of a colour class, dyn_checkerboard.c), and only when a class
 * has at least 128 sites per thread; random-sequential and rejection-free are sequential by
 * nature and accept any valid count but run on one thread.
 * Threads pay only for big lattices: for many replicas, more MPI ranks are better (each runs
 * its own replicas with no synchronisation); docs/performance.md has the figures. */
int dynamics_set_threads(dynamics *d, int threads);

/* A stopped replica (replica.h) stays where it stopped. */
static inline void dynamics_run(const dynamics *d, replica *r, uint64_t steps) {
    if (!r->stopped) d->kind->run(r, d->workspace, steps);
}

static inline int dynamics_check(const dynamics *d, const replica *r) {
    return d->kind->check ? d->kind->check(d->workspace, r) : 0;
}

#endif
