/* What a task kind's run() works with (private to the driver): the simulation of one replica
 * built for a task, and the clock that checkpoints it and stops it when asked. task.c holds the
 * generic part of every task; a kind's run() holds only what its tasks do step by step. */
#ifndef RIPEN_TASK_RUNTIME_H
#define RIPEN_TASK_RUNTIME_H

#include <stdint.h>

#include "ripen/engine/dynamics.h"
#include "ripen/driver/job.h"
#include "ripen/driver/task.h"

/* One replica and everything it runs on, built per task (milliseconds, against minutes of
 * work). */
typedef struct {
    const system_spec *system; /* what it simulates (the task set's; not owned) */
    lattice lat;
    model_tables tab;
    replica rep;
    dynamics dyn;
    const dynamics_kind *dynamics_kind;
    int threads;
    int32_t *scratch; /* 2 * nsites, for cluster searches */
} task_sim;

/* The generic side of a running task, handed to the kind's run(). */
typedef struct task_runtime {
    const task_hooks *hooks;   /* may be NULL */
    const task_inputs *inputs; /* may be NULL (stage 0) */
    double started, last_checkpoint, wall_before;
} task_runtime;

/* Builds the lattice, tables, replica (random stream `stream`: the task id, or another stream
 * id a kind allocates) and dynamics of `sys`. */
int task_sim_open(task_sim *s, const system_spec *sys, uint64_t seed, uint32_t stream);
void task_sim_close(task_sim *s);

/* Loads the record's lattice into the replica at the record's step; a fresh record (no states)
 * first gets the initial particle of `sys`, and its core_initial and shell_initial. Sets *fresh
 * to 1 in that case. */
int task_sim_start(task_sim *s, const system_spec *sys, task_record *r, int *fresh);

/* Loads `states` into the replica at `step` and puts the system's walls on it (the shell band);
 * error if a state is invalid or outside them. Every configuration a task runs from comes in
 * here (task_sim_start, and forward flux sampling's shots). */
int task_sim_load(task_sim *s, const uint8_t *states, uint64_t step);

/* Notes the finite solution's content (reservoir.h: total - N_lattice) in the record, -1 for
 * a component the system lacks; task_between_steps does it after every step. */
void task_sim_note_content(const task_sim *s, task_record *r);

/* Rebuilds the tables and the dynamics (whose workspace may cache rates) at parameters `p`. */
int task_sim_use_model(task_sim *s, const model_params *p);

/* Between MC steps: RIPEN_EINTERRUPTED after checkpointing if asked to stop; checkpoints when
 * due. The record is brought up to date (lattice, step, wall time) before any checkpoint. */
int task_between_steps(task_runtime *rt, task_sim *s, task_record *r);

#endif
