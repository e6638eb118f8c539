/* Tasks: running one replica or one umbrella window of a job, from scratch or from a checkpoint.
 *
 * A task_record is both the task's result and its checkpoint: the series gathered so far, the
 * step reached and (while unfinished) the lattice. A task's trajectory is a pure function of
 * (job, task id), so a record resumed at step s continues exactly as if never interrupted.
 */
#ifndef RIPEN_TASK_H
#define RIPEN_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "ripen/job.h"
#include "ripen/order_parameter.h"

typedef struct {
    int64_t id;            /* task id (job order) */
    task_kind kind;        /* replica or window */
    int complete;          /* 1: finished; 0: a checkpoint */
    uint64_t step;         /* MC steps done */
    int64_t core_initial;  /* core sites at step 0 (sites) */
    int64_t shell_initial; /* shell sites at step 0 (sites) */
    double wall_seconds;   /* time spent so far (not part of the results' identity) */

    /* Replica: doubling and time series. */
    int64_t initial[DOUBLING_CRITERIA]; /* cluster, A_core, N_core at step 0 */
    int64_t tau[DOUBLING_CRITERIA];     /* first step at 2x initial; -1 = censored */
    int64_t nsamples;                   /* samples taken: steps 0, dt, 2 dt, ... */
    int32_t *n_core, *n_shell;          /* sites, per sample */
    int32_t *a_core, *a_shell;          /* projected areas (columns), per sample */
    int32_t *cluster;                   /* largest core cluster (sites), per sample */
    double *energy;                     /* kT, per sample */
    int64_t nsnapshots;                 /* lattice snapshots taken (0 unless kept) */
    uint8_t *snapshots;                 /* nsnapshots x nsites states */

    /* Window: hard walls and q samples. */
    int lo, hi;       /* the window on q (q = N_core - core_initial) */
    double mu_core;   /* the window's own mu_core (kT): the set's, or its tuned tilt */
    q_tilt tilt;      /* the tuning of a tilted window, while it runs */
    int64_t nq;       /* q samples taken */
    int32_t *q;       /* q per sample */
    double *q_energy; /* E (kT) per sample, for reweighting */

    int64_t nsites;  /* lattice size */
    uint8_t *states; /* the lattice at `step` (checkpoints only; NULL when complete) */
} task_record;

/* Allocates the arrays of a record for task `id` of `j` (all sizes at their maxima). */
int task_record_init(task_record *r, const job *j, int64_t id);
void task_record_free(task_record *r);

/* Fills `r` (allocated by task_record_init for that id) with task `id`'s finished result, from
 * wherever results are kept (the journal, a result file). */
typedef int (*task_loader)(void *context, int64_t id, task_record *r);

/* Calls made between MC steps while a task runs. */
typedef struct {
    /* Nonzero asks the task to checkpoint and stop (signal, scheduler stop). */
    int (*should_stop)(void *context);
    /* Called at most every `checkpoint_seconds` and when stopping, with the record current;
     * returns a status (an I/O error stops the task). May be NULL. */
    int (*checkpoint)(void *context, const task_record *r);
    void *context;
    double checkpoint_seconds;
} task_hooks;

/* Runs task r->id of `j`. If r->step > 0 (or r->states is set) it continues from the record.
 * Returns RIPEN_OK when complete (r->complete = 1), RIPEN_EINTERRUPTED when stopped by a hook
 * after checkpointing, or an error. */
int task_run(const job *j, task_record *r, const task_hooks *hooks);

#endif
