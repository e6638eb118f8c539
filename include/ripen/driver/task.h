/* Tasks: running one task of a job (a replica, an umbrella window, ...), from scratch or from a
 * checkpoint.
 *
 * A task_record is both the task's result and its checkpoint: the step reached, the lattice
 * (while unfinished, and where a kind keeps it for a later stage) and the kind's own fields in
 * `data` (its header in include/ripen/ says what they are). A task's trajectory is a pure function
 * of (job, task id, and for a staged kind the earlier stages' results), so a record resumed at
 * step s continues exactly as if never interrupted.
 */
#ifndef RIPEN_TASK_H
#define RIPEN_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "ripen/driver/job.h"

typedef struct {
    int64_t id;                   /* task id (job order) */
    const struct task_kind *kind; /* what the task is (task_kind.h) */
    int complete;                 /* 1: finished; 0: a checkpoint */
    uint64_t step;                /* MC steps done */
    int64_t core_initial;         /* core sites at step 0 (sites) */
    int64_t shell_initial;        /* shell sites at step 0 (sites) */
    int64_t reservoir_core;       /* a finite solution's core units at `step`, -1 if none or not
                                     known (it is total - N_core: a check on the lattice) */
    int64_t reservoir_shell;      /* its shell units likewise */
    double wall_seconds;          /* time spent so far (not part of the results' identity) */
    int64_t nsites;               /* lattice size */
    uint8_t *states; /* the lattice at `step` (checkpoints; NULL when complete, unless the
                        kind keeps it for a later stage) */
    void *data;      /* the kind's own fields (task_kind.h: record_init) */
} task_record;

/* Allocates a record for task `id` of `j`. */
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

/* What a task of a later stage starts from (task_kind.h, "Stages"): the plan of its stage, and
 * the finished records of the set's earlier tasks. */
typedef struct {
    const void *plan;
    size_t plan_size;
    task_loader load;
    void *load_context;
} task_inputs;

/* Runs task r->id of `j`. If r->step > 0 (or r->states is set) it continues from the record.
 * `inputs` may be NULL for tasks of stage 0. Returns RIPEN_OK when complete (r->complete = 1),
 * RIPEN_EINTERRUPTED when stopped by a hook after checkpointing, or an error. */
int task_run(const job *j, task_record *r, const task_hooks *hooks, const task_inputs *inputs);

#endif
