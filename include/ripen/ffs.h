/* The "ffs" task kind: forward flux sampling (Allen, Valeriani & ten Wolde, J. Phys.: Condens.
 * Matter 21, 463102 (2009)) of the rate at which a particle grows out of its basin, for growth so
 * rare that brute-force replicas only give a bound (docs/jobs.md, "Forward flux sampling";
 * docs/reproduction.md).
 *
 * The order parameter λ (lambda.h) is measured after every accepted move. Basin A = {λ <= λ_A};
 * interfaces λ_0 < λ_1 < ... < λ_{n-1} and the target λ_n.
 *   Stage 0: `walkers` tasks run from the initial particle; each records every first crossing of
 *     λ_0 coming from A (the configuration) and the time spent: the flux Φ_0 = crossings / time.
 *     A walker that reaches λ_n starts again from the initial particle (a new segment).
 *   Stage i (1..n): trial shots from configurations stored at λ_{i-1}, chosen uniformly at
 *     random; a shot runs until λ >= λ_i (a success, its configuration stored) or λ <= λ_A:
 *     P_{i-1} = successes / trials. A move that carries λ past several interfaces (clusters
 *     merging) is a jumpy crossing: the stored configuration already lies past the next
 *     interface, and a shot from it succeeds at once (Haji-Akbari, J. Chem. Phys. 149, 072303
 *     (2018)).
 * Then k = Φ_0 Π P_i (per MC step) and the mean waiting time in A is 1/k. Every random choice is
 * keyed by (seed, set, stage, shot): a stage's plan lists the configurations the previous stage
 * stored, and shot g of stage s picks one and runs with a stream of its own. Stored under
 * /ffs/<name>.
 */
#ifndef RIPEN_FFS_H
#define RIPEN_FFS_H

#include <stdint.h>

#include "ripen/lambda.h"
#include "ripen/task.h"
#include "ripen/task_kind.h"

extern const task_kind task_kind_ffs;

enum {
    FFS_MAX_INTERFACES = 64, /* λ_0 .. λ_{n-1}; λ_n is the target */
    FFS_MAX_SEGMENTS = 4096  /* walker restarts after reaching the target */
};

typedef struct {
    lambda_kind measure; /* what λ measures (relative to the initial particle) */
    int64_t basin;       /* λ_A: A = {λ <= λ_A} */
    int ninterfaces;     /* n */
    int64_t lambda[FFS_MAX_INTERFACES + 1]; /* λ_0 < ... < λ_n (the target) */
    char target[32];                        /* how λ_n was given: "layer", "doubling" or sites */
    int64_t crossings;                      /* λ_0 crossings stage 0 collects, over all walkers */
    int walkers;                            /* stage-0 tasks */
    int64_t trials;                         /* shots per interface (0: run to `successes`) */
    int64_t successes;                      /* successes per interface when trials = 0 */
    int64_t max_trials;                     /* shots per interface at most (a stream each) */
    int shot_tasks;                         /* tasks per later stage */
    uint64_t max_walker_steps; /* a walker stops here with fewer crossings (MC steps) */
    uint64_t max_shot_steps;   /* a shot longer than this counts as failed and is reported */
    int paths;                 /* complete transition paths whose configurations are stored */
    int64_t initial_cluster;   /* λ's origin: the initial particle's cluster or N_core */
    int64_t initial_shell;     /* the initial particle's N_shell (sites) */
    double shell_tolerance;    /* the band of the stored configurations' shell (shell_check) */
} ffs_spec;

static inline const ffs_spec *ffs_of(const task_set *set) {
    return set->spec;
}

#endif
