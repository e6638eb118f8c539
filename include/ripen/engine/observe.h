/* Observables of a replica and the doubling time tau (MODEL.md, "Observables").
 *
 * tau is recorded for three measures of core size, each the first step at which it reaches twice
 * its initial value: the largest core cluster (ripen's primary criterion: a plain count is
 * misled by core growing in separate clusters inside the shell), the projected core area A_core
 * (what the experiment sees), and the plain core count N_core. A replica that has not doubled
 * is right-censored (tau = -1 here; analysis must keep it).
 */
#ifndef RIPEN_OBSERVE_H
#define RIPEN_OBSERVE_H

#include <stdint.h>

#include "ripen/engine/replica.h"

typedef enum {
    DOUBLING_CLUSTER,
    DOUBLING_AREA,
    DOUBLING_COUNT,
    DOUBLING_CRITERIA
} doubling_criterion;
extern const char *const doubling_criterion_names[DOUBLING_CRITERIA];

typedef struct {
    int64_t initial[DOUBLING_CRITERIA]; /* cluster, A_core, N_core at the start (sites / columns) */
    int64_t tau[DOUBLING_CRITERIA];     /* MC steps to reach 2x initial; -1 = not yet */
    int32_t *scratch;                   /* 2 * nsites, for the cluster search */
    uint64_t searched_at;               /* replica.changes at the last cluster search */
} doubling_tracker;

/* Records the initial sizes of `r`; allocates scratch. */
int doubling_init(doubling_tracker *d, const replica *r);
void doubling_free(doubling_tracker *d);

/* After a step: sets tau for every criterion that reached 2x for the first time. The cluster is
 * searched only once N_core >= 2x the initial cluster (it cannot double before), so this is
 * O(1) per step in the usual case. */
void doubling_update(doubling_tracker *d, const replica *r);
/* The same for the area and the count only; the cluster is then marked by the caller, from
 * a cluster search of its own (a tracked ensemble's samples: ensemble_particles.h). */
void doubling_update_counts(doubling_tracker *d, const replica *r);
void doubling_mark_cluster(doubling_tracker *d, int64_t largest_cluster, uint64_t step);

static inline int doubling_done(const doubling_tracker *d, doubling_criterion c) {
    return d->tau[c] >= 0;
}

/* Exposed core: core sites with at least one solution neighbour among the 8 neighbours (the
 * geometry, whatever bond_neighbours says), i.e. core that touches the solution through a crack
 * in the shell or on a bare facet. Scans only the (x, y) columns that hold core
 * (replica.column_core), so its cost follows the particle, not the box. */
int64_t replica_exposed_core(const replica *r);

/* The (x, y) columns holding core, in increasing order, into `columns` (room for area_core);
 * returns how many (area_core). Scans 16 columns at a time, as replica_exposed_core does. */
int32_t replica_core_columns(const replica *r, int32_t *columns);

/* One sample of the time series (the HDF5 file's series columns). */
typedef struct {
    uint64_t step;                 /* MC steps */
    int64_t ncore, nshell;         /* sites */
    int32_t area_core, area_shell; /* columns */
    int64_t largest_cluster;       /* sites */
    int64_t exposed_core;          /* sites (replica_exposed_core) */
    double energy;                 /* kT */
} observation;

/* Everything, the cluster search (O(N)) and the exposed core (O(columns)) included. */
observation observe(const replica *r, int32_t *scratch);
/* The O(1) part only: the counts, areas and energy (largest_cluster = exposed_core = -1), for
 * a sample whose lattice has not changed since the last one (replica.changes). */
observation observe_counts(const replica *r);

#endif
