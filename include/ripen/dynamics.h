/* Dynamics: how a replica advances by MC steps (1 step = nsites attempts on average).
 *
 * Each dynamics is one file exporting one descriptor (name, summary, create, destroy, run), listed
 * in dynamics.c's table; a job selects one by name. They all sample exp(-E); they differ in
 * kinetics, so kinetic results are reported with the dynamics named.
 */
#ifndef RIPEN_DYNAMICS_H
#define RIPEN_DYNAMICS_H

#include <stdint.h>

#include "ripen/replica.h"

typedef struct {
    const char *name;    /* job-file name, e.g. "random-sequential" */
    const char *summary; /* one line for --help and docs */
    /* Workspace for a lattice (colour classes, ...); *workspace may stay NULL. */
    int (*create)(void **workspace, const lattice *lat, const model_tables *tab);
    void (*destroy)(void *workspace);
    /* Advances `r` by `steps` MC steps, from r->step on. */
    void (*run)(replica *r, void *workspace, uint64_t steps);
} dynamics_kind;

extern const dynamics_kind dynamics_random_sequential;
extern const dynamics_kind dynamics_checkerboard;

/* All dynamics, for lookup by name and for tests that loop over every one. */
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

static inline void dynamics_run(const dynamics *d, replica *r, uint64_t steps) {
    d->kind->run(r, d->workspace, steps);
}

#endif
