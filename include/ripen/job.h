/* Jobs: the JSON file a user writes (docs/jobs.md), checked completely before any work, and the
 * list of tasks it expands into.
 *
 * A job holds defaults for the physical system (lattice, model, dynamics, initial particle), a
 * list of ensembles (independent replicas run until doubling or a step limit) and a list of
 * umbrella-window sets (for F(q)). Either kind may override any system setting and may carry a
 * "sweep" of one or more settings, which expands into one ensemble (or window set) per grid point.
 *
 * Tasks are numbered in job order: every replica of ensemble 0, of ensemble 1, ..., then every
 * window of window set 0, ... The task id keys the task's random numbers, so results depend only
 * on the job, never on which rank runs a task or when.
 */
#ifndef RIPEN_JOB_H
#define RIPEN_JOB_H

#include <stdint.h>

#include "ripen/dynamics.h"
#include "ripen/model.h"
#include "ripen/observe.h"

enum { JOB_NAME_CAPACITY = 128, JOB_PATH_CAPACITY = 4096 };

/* The physical system a task simulates. */
typedef struct {
    int lx, ly, lz;                /* lattice extents (sites) */
    model_params model;            /* energies (kT) and readings */
    const dynamics_kind *dynamics; /* how the replica advances */
    int64_t core_sites;            /* requested initial core size (sites) */
    int shell_thickness;           /* initial shell thickness (in-plane sites; 0 = none) */
} system_spec;

/* Independent replicas, each run until it doubles or reaches max_steps. */
typedef struct {
    char name[JOB_NAME_CAPACITY]; /* unique; HDF5 group /ensembles/<name> */
    system_spec system;
    int replicas;                 /* number of independent replicas */
    uint64_t max_steps;           /* step limit (MC steps); replicas not doubled are censored */
    uint64_t sample_interval;     /* MC steps between samples of the time series */
    uint64_t snapshot_interval;   /* MC steps between lattice snapshots (0 = none) */
    int snapshot_replicas;        /* snapshots are kept for replicas 0 .. this - 1 */
    int stop_at_doubling;         /* 1: a replica stops when the criterion doubles */
    doubling_criterion criterion; /* which size defines tau (default: largest cluster) */
    int64_t first_task;           /* task id of replica 0 */
} ensemble_spec;

/* Umbrella windows over q = N_core - N_core(0), hard walls [lo_k, hi_k]. */
typedef struct {
    char name[JOB_NAME_CAPACITY]; /* unique; HDF5 group /windows/<name> */
    system_spec system;           /* system.model.mu_core is the sampling mu_core */
    int q_min, q_max;             /* range of q covered (sites) */
    int width;                    /* q values per window */
    int overlap;                  /* q values shared by neighbouring windows */
    int nwindows;                 /* derived from the above */
    int layer_sites;              /* q of one full new layer (sites); 0 in the file = derive */
    uint64_t equilibration_steps; /* MC steps discarded at the start of each window */
    uint64_t sampling_steps;      /* MC steps sampled per window */
    uint64_t sample_interval;     /* MC steps between q samples */
    int tilt;                     /* 1: each window tunes its own mu_core (order_parameter.h) */
    int repeat;                   /* a label only: copies of a set differing in it are
                                     independent repeats (own task ids, own random streams) */
    int64_t first_task;           /* task id of window 0 */
} window_set_spec;

typedef enum { TASK_REPLICA, TASK_WINDOW } task_kind;

typedef struct {
    task_kind kind;
    int group;   /* ensemble or window-set index */
    int member;  /* replica or window index within it */
    double cost; /* expected work (attempts), for longest-first scheduling */
} task_spec;

typedef struct {
    char *text;       /* the job file verbatim */
    char *normalized; /* the parsed job printed canonically (what the hash covers) */
    uint64_t hash;    /* FNV-1a of `normalized`: identifies the job for --resume and merge */
    char path[JOB_PATH_CAPACITY];   /* where it was read from */
    char output[JOB_PATH_CAPACITY]; /* result file (default: job file name with .h5) */
    uint64_t seed;                  /* keys every random number */
    int nensembles;
    ensemble_spec *ensembles;
    int nwindow_sets;
    window_set_spec *window_sets;
    int64_t ntasks;
    task_spec *tasks;        /* in task-id order */
    double output_limit_gib; /* refuse jobs whose result file would exceed this */
} job;

/* Reads and validates a job file. On error: a one-line message naming the JSON path (or line
 * and column for malformed JSON) and no side effects. */
int job_load(job *j, const char *path);
int job_parse(job *j, const char *text, const char *path);
void job_free(job *j);

/* Samples in an ensemble's time series (including t = 0) and snapshots per kept replica. */
int64_t ensemble_series_length(const ensemble_spec *e);
int64_t ensemble_snapshot_count(const ensemble_spec *e);
/* q samples per window. */
int64_t window_sample_count(const window_set_spec *w);
/* Hard walls of window k. */
void window_bounds(const window_set_spec *w, int k, int *lo, int *hi);

/* Estimated size of the result file (bytes). */
double job_output_bytes(const job *j);

#endif
