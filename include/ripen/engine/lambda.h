/* The order parameter λ of forward flux sampling and of exact first-passage times: how far a
 * particle has grown from its start, measured exactly after every accepted move (a replica
 * watch, replica.h).
 *
 * Three measures (MODEL.md, "Observables"), relative to the initial particle:
 *   cluster: the largest core cluster (8-neighbour connectivity) minus its initial size;
 *   q:       N_core - N_core(0), the q of the umbrella windows;
 *   crack:   LAMBDA_CRACK_STRIDE x (the cluster's growth) + its exposed core sites (those with a
 *            solution neighbour) up to LAMBDA_CRACK_STRIDE - 1: below one stride it counts how
 *            far a shelled particle that has not grown is open, so that interfaces can sit on
 *            the crack itself, the rare step of a shelled particle's growth; above, the growth
 *            in strides, with the opening in between. λ >= STRIDE x n exactly when the cluster
 *            has grown by n sites, so a target in sites grown means the same for every measure.
 * The cluster is tracked without an O(N) search per move: the main cluster is searched from one
 * of its previous sites (O(cluster)), and only if the core outside it could form a larger
 * cluster (N_core - main > main) does a full search run. The result is exact either way.
 */
#ifndef RIPEN_LAMBDA_H
#define RIPEN_LAMBDA_H

#include <stdint.h>

#include "ripen/engine/replica.h"

typedef enum { LAMBDA_CLUSTER, LAMBDA_Q, LAMBDA_CRACK, LAMBDA_KINDS } lambda_kind;
extern const char *const lambda_kind_names[LAMBDA_KINDS];

enum { LAMBDA_CRACK_STRIDE = 16 };

/* λ units per site grown: 1, or LAMBDA_CRACK_STRIDE for the crack measure. */
static inline int64_t lambda_per_site(lambda_kind kind) {
    return kind == LAMBDA_CRACK ? LAMBDA_CRACK_STRIDE : 1;
}

typedef struct {
    lambda_kind kind;
    int64_t origin; /* the measure of the initial particle: λ = measure - origin */
    int32_t nsites;
    uint32_t *stamp;  /* per site: the search that last reached it */
    uint32_t search;  /* the current search's stamp */
    int32_t *queue;   /* the search's frontier; after it, the cluster's sites */
    int32_t *members; /* the main cluster's sites at the last evaluation */
    int64_t nmembers;
    uint64_t serial, changes;         /* the replica state of the last evaluation (replica.h) */
    int64_t value;                    /* λ at the last evaluation */
    uint64_t searches, full_searches; /* counters, for the benchmark */
} lambda_tracker;

/* A tracker for replica r's lattice; λ = 0 for r's current state (its origin). */
int lambda_init(lambda_tracker *t, lambda_kind kind, const replica *r);
/* The same with a given origin (a stored configuration of a particle that started elsewhere). */
int lambda_init_origin(lambda_tracker *t, lambda_kind kind, const replica *r, int64_t origin);
void lambda_free(lambda_tracker *t);

/* λ of r's current state (cached while r has not changed). */
int64_t lambda_measure(lambda_tracker *t, const replica *r);

/* The measure itself (not relative): largest cluster, N_core, or the crack measure of the
 * largest cluster (its origin for a particle of c core sites with no core exposed is
 * LAMBDA_CRACK_STRIDE x c). */
int64_t lambda_absolute(lambda_tracker *t, const replica *r);

#endif
