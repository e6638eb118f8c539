/* The "ffs" task kind: forward flux sampling (Allen, Valeriani & ten Wolde, J. Phys.: Condens.
 * Matter 21, 463102 (2009)) of the rate at which a particle grows out of its basin, for growth so
 * rare that brute-force replicas only give a bound (docs/jobs.md, "Forward flux sampling";
 * docs/reproduction.md).
 *
 * The order parameter λ (lambda.h) is measured after every accepted move. Basin A = {λ <= λ_A}
 * (λ_A >= 0: the initial particle lies in A); interfaces λ_0 < λ_1 < ... < λ_{n-1} and the target
 * λ_n, within what the lattice can hold.
 *   Stage 0: `walkers` tasks run from the initial particle; each records every first crossing of
 *     λ_0 coming from A (the configuration) and the time it spent in A's domain: its clock runs
 *     while it was last in A rather than at the target (h_A), and an excursion from a crossing
 *     that goes on to reach λ_n is left out (the walker then starts again from the initial
 *     particle: a new segment). A walker with its share of crossings runs on until its last
 *     excursion is decided (back in A or at the target), so its time holds whole cycles of
 *     waiting and excursion. The flux Φ_0 = crossings / time.
 *   Stage i (1..n): trial shots from configurations stored at λ_{i-1}, chosen uniformly at
 *     random; a shot runs until λ >= λ_i (a success, its configuration stored) or λ <= λ_A:
 *     P_{i-1} = successes / trials. A move that carries λ past several interfaces (clusters
 *     merging) is a jumpy crossing: the stored configuration already lies past the next
 *     interface, and a shot from it succeeds at once (Haji-Akbari, J. Chem. Phys. 149, 072303
 *     (2018)).
 * Then k = Φ_0 Π P_i (per MC step). Since the flux leaves the successful excursions out, the mean
 * first passage from the basin is 1/k + transit, the transit being the mean length of a
 * successful excursion, estimated by the shot lengths summed along every complete path (each
 * path weighs the same in FFS): by Wald's identity over the walkers' cycles, whether or not the
 * transition is rare from the basin. Every random choice is
 * keyed by (seed, set, stage, shot): a stage's plan lists the configurations the previous stage
 * stored, and shot g of stage s picks one and runs with a stream of its own. Stored under
 * /ffs/<name>.
 */
#ifndef RIPEN_FFS_H
#define RIPEN_FFS_H

#include <stdint.h>

#include "ripen/engine/lambda.h"
#include "ripen/driver/task.h"
#include "ripen/driver/task_kind.h"

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
    int64_t origin;            /* λ's origin: the initial particle's measure (lambda.h) */
    int64_t initial_shell;     /* the initial particle's N_shell (sites) */
    double shell_tolerance;    /* the band of the stored configurations' shell (shell_check) */
} ffs_spec;

static inline const ffs_spec *ffs_of(const task_set *set) {
    return set->spec;
}

#endif
