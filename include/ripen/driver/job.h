/* Jobs: the JSON file a user writes (docs/jobs.md), checked completely before any work, and the
 * list of tasks it expands into.
 *
 * A job holds defaults for the physical system (lattice, model, dynamics, initial particle) and
 * one array of entries per task kind (task_kind.h: "ensembles" of independent replicas, "windows"
 * sets for F(q), ...). Every entry may override any system setting and may carry a "sweep" of one
 * or more settings, which expands into one entry per grid point. An expanded entry is a task set.
 *
 * Tasks are numbered in job order: the kinds in registry order, the sets of a kind in file order,
 * a set's tasks in its own order (stage by stage for staged kinds). The task id keys the task's
 * random numbers, so results depend only on the job, never on which rank runs a task or when.
 */
#ifndef RIPEN_JOB_H
#define RIPEN_JOB_H

#include <stdint.h>

#include "ripen/engine/dynamics.h"
#include "ripen/engine/initial.h"
#include "ripen/engine/model.h"
#include "ripen/engine/observe.h"
#include "ripen/driver/reservoir_spec.h"
#include "ripen/driver/shell_band.h"

enum { JOB_NAME_CAPACITY = 128, JOB_PATH_CAPACITY = 4096 };

/* The physical system a task simulates. */
typedef struct {
    int lx, ly, lz;                /* lattice extents (sites) */
    model_params model;            /* energies (kT) and readings */
    const dynamics_kind *dynamics; /* how the replica advances */
    int threads;                   /* threads a task's dynamics may use (dynamics_set_threads):
                                      the same trajectory for any count */
    int64_t core_sites;            /* requested initial core size (sites) */
    int shell_thickness;           /* initial shell thickness (in-plane sites; 0 = none) */
    initial_layout layout;         /* a seeded defect, or a list of particles (initial.h) */
    shell_band_spec shell_band; /* hard walls on N_shell, resolved against the initial particle */
    reservoir_spec reservoir;   /* a finite solution, resolved likewise (none: a fixed mu) */
} system_spec;

struct task_kind;

/* One expanded entry of the job: an ensemble, a window set, ... */
typedef struct {
    const struct task_kind *kind;
    int index;                    /* among the job's sets of its kind, in job order */
    char name[JOB_NAME_CAPACITY]; /* unique within its kind: HDF5 group /<kind key>/<name> */
    system_spec system;
    void *spec;         /* the kind's own settings (its header says what they are) */
    int64_t first_task; /* the set's tasks are first_task .. first_task + ntasks - 1 */
    int64_t ntasks;
    int nstages; /* 1, or the stages of a staged kind (task_kind.h) */
    /* Random streams beyond the tasks' own (a stream keys a replica's numbers, replica.h): a kind
     * whose task runs many trajectories (forward flux sampling's trial shots) asks for `nstreams`
     * in prepare(); they are numbered from first_stream, after every task id, so no two
     * trajectories of a job share one. */
    int64_t nstreams, first_stream;
} task_set;

typedef struct {
    int set;        /* index into job.sets */
    int64_t member; /* index within the set */
    int stage;      /* 0, or the stage of a staged kind's task */
    double cost;    /* expected work (attempts), for longest-first scheduling and the ETA */
} task_spec;

typedef struct {
    char *text;       /* the job file verbatim */
    char *normalized; /* the parsed job printed canonically (what the hash covers) */
    uint64_t hash;    /* FNV-1a of `normalized`: identifies the job for --resume and merge */
    char path[JOB_PATH_CAPACITY];   /* where it was read from */
    char output[JOB_PATH_CAPACITY]; /* result file (default: job file name with .h5) */
    uint64_t seed;                  /* keys every random number */
    int nsets;
    task_set *sets; /* in job order (task_kind.h: kinds in registry order) */
    int64_t ntasks;
    task_spec *tasks;        /* in task-id order */
    double output_limit_gib; /* refuse jobs whose result file would exceed this */
} job;

/* Reads and validates a job file. On error: a one-line message naming the JSON path (or line
 * and column for malformed JSON) and no side effects. */
int job_load(job *j, const char *path);
int job_parse(job *j, const char *text, const char *path);
void job_free(job *j);

/* The set task `id` belongs to. */
static inline const task_set *job_task_set(const job *j, int64_t id) {
    return &j->sets[j->tasks[id].set];
}

/* Sets of one kind, in job order: the index-th set of `kind`, or NULL. */
const task_set *job_set_of_kind(const job *j, const struct task_kind *kind, int index);
int job_count_sets(const job *j, const struct task_kind *kind);

/* Shards (--shard I/N) take the tasks whose key is I modulo N: the task id, or for a staged set
 * (whose later stages need its earlier ones) the set's first task, so a coupled set runs whole
 * in one shard. */
int64_t job_shard_key(const job *j, int64_t id);

/* Estimated size of the result file (bytes). */
double job_output_bytes(const job *j);

#endif
