/* Task kinds: what the entries of a job's "ensembles", "windows", ... arrays are, as modules.
 *
 * A kind is one file in src/driver/kinds/ exporting one task_kind descriptor, listed once in
 * kinds/registry.c (SPPARKS-style, like the dynamics). The generic driver (job parsing, the task
 * runner, the journal, the scheduler, the result file and its summary) calls these hooks and
 * knows nothing else about a kind. docs/design.md, "Adding a task kind", walks through one.
 *
 * Stages. A kind may split a set's tasks into stages (set->nstages > 1): the tasks of stage s + 1
 * start only when every task of stage s is done, and they start from what stage s stored. When a
 * stage becomes ready, rank 0 calls plan() with a loader of the set's finished records; the plan
 * (a byte string, e.g. which stored configuration each task starts from) travels with every
 * assignment of that stage's tasks, which can also load earlier records themselves
 * (task_inputs). plan() must be a pure function of the records of the earlier stages: then a
 * resume recomputes the same plan, the results do not depend on ranks or scheduling, and the
 * result writer can recompute it too. A staged set runs whole in one shard (job_shard_key).
 */
#ifndef RIPEN_TASK_KIND_H
#define RIPEN_TASK_KIND_H

#include <hdf5.h>
#include <stdint.h>

#include "ripen/driver/codec.h"
#include "ripen/fe/fe.h"
#include "ripen/engine/initial.h"
#include "ripen/driver/job.h"
#include "ripen/driver/task.h"

struct cJSON;
struct task_runtime; /* src/driver/task_runtime.h: the simulation helpers a kind runs with */

/* The most extents (dataset sizes that follow the data: samples, snapshots, episodes, ...) a
 * kind's tasks report; a kind uses as many as it needs from the start. Raise it when a kind
 * needs more: the writer (h5out.c) keeps TASK_EXTENTS per set and nothing else depends on it. */
enum { TASK_EXTENTS = 5 };

/* Options of a set's analysis (the F(q) of a window set). */
typedef struct {
    int bootstrap;      /* resamples for bootstrap errors */
    fe_poll poll;       /* long analyses call it between iterations (progress lines; nonzero: */
    void *poll_context; /* stop with RIPEN_EINTERRUPTED); may be NULL */
} set_analysis_options;

/* For a kind's own loops in its analysis (loading records, resampling): reports `done` steps of
 * `what` to the poll (a progress line) and returns RIPEN_EINTERRUPTED if it asks to stop (a
 * signal), else RIPEN_OK. Defined in results.c. */
int analysis_poll(const set_analysis_options *o, const char *what, int done);

/* What a set's analysis costs (`ripen check`, and the progress line at its start). A term is
 * one sample's share of one solver iteration (a posterior, a Hessian entry): ~10^8 per second
 * on one core. */
typedef struct {
    char what[256];       /* "MBAR over 16 states and 1600 samples, WHAM over 8 windows" */
    double typical_terms; /* a solve that converges as the solvers usually do */
    double most_terms;    /* the solvers' iteration limits reached everywhere */
} analysis_cost;

typedef struct task_kind {
    const char *key;         /* the job-file array and the HDF5 group: "ensembles" */
    const char *entry;       /* default entry names: entry + index ("ensemble0") */
    const char *task_noun;   /* what one task is, for /tasks/kind and messages: "replica" */
    const char *set_noun;    /* what one entry is: "ensemble" */
    const char *description; /* of the group /<key> in the result file */
    int always_group;        /* 1: /<key> exists even if the job has no such entry (format 1) */
    int particle_lists;      /* 1: its systems may start from a list of particles (initial.h) */
    const char *const *keys; /* the keys an entry accepts (NULL-terminated) */

    /* ---- the job file (job.c) ---- */
    /* Parses an expanded entry into `set` (set->system holds the job's defaults; the kind applies
     * the entry's system keys with job_entry_system, job_entry.h) and allocates set->spec. */
    int (*parse)(const struct cJSON *entry, const char *path, task_set *set);
    /* After the system is checked (`particle`: the initial particle it builds): derived settings,
     * set->ntasks and set->nstages. Errors name `path`. */
    int (*prepare)(task_set *set, const char *path, const initial_report *particle);
    void (*free_spec)(void *spec);
    /* Stage and expected cost (attempts) of a set's member-th task. */
    void (*task)(const task_set *set, int64_t member, int *stage, double *cost);
    /* The result data of a set (bytes), for output_limit_gib and ripen check. */
    double (*output_bytes)(const task_set *set);
    /* `ripen check`: what the set will do, one or two indented lines. */
    void (*describe)(const task_set *set);

    /* ---- running (task.c, sched.c) ---- */
    int (*record_init)(const task_set *set, int64_t member, task_record *r);
    void (*record_free)(task_record *r);
    /* The kind's part of a record for the journal: the same description reads and writes. */
    void (*code)(codec *c, const task_set *set, int64_t member, task_record *r);
    int (*run)(const job *j, const task_set *set, int64_t member, task_record *r,
               struct task_runtime *rt);
    /* A finished task's outcome for the progress line: counts as `outcome_word` if >= 0
     * ("doubled"); NULL outcome: nothing to count. */
    int64_t (*outcome)(const task_set *set, const task_record *r);
    const char *outcome_word;
    /* Staged kinds: the plan of `stage` (>= 1) from the set's finished earlier records. */
    int (*plan)(const job *j, const task_set *set, int stage, task_loader load, void *context,
                byte_buffer *plan);

    /* ---- the result file (h5out.c) ---- */
    /* Optional: the extents of a task's data (samples, snapshots, ...), up to TASK_EXTENTS of
     * them (the rest left 0). Datasets are sized by the largest over the set's tasks in the file
     * (h5_create's `extent`), not by the job's limits. */
    void (*h5_extent)(const task_set *set, int64_t member, const task_record *r,
                      int64_t extent[TASK_EXTENTS]);
    /* Creates the set's group content under `group` (/<key>/<name>, created by the caller) with
     * every rank calling it identically (collective metadata); returns the kind's handles. */
    int (*h5_create)(hid_t group, const job *j, const task_set *set,
                     const int64_t extent[TASK_EXTENTS], void **handles);
    /* Rank 0 only (independent writes, uncompressed datasets): data that belongs to the set,
     * not to a task (steps, window bounds). May be NULL. */
    int (*h5_write_set)(void *handles, const job *j, const task_set *set);
    /* Collective: in each round every rank calls it with its next n tasks of the set (n = 0 if
     * it has none left), members in increasing order; the kind writes per-task scalars with
     * independent writes (h5_write_block) and compressed datasets with one h5_write_blocks
     * call each, the same calls on every rank whatever n is. */
    int (*h5_write_tasks)(void *handles, const task_set *set, int n, const int64_t *members,
                          task_record *const *records);
    void (*h5_close)(void *handles);
    int (*h5_load_task)(hid_t group, const task_set *set, int64_t member, task_record *r);
    /* Upper bound of the set's raw bytes (uncompressed) and HDF5 objects in the file, for
     * datasets of the given extents. */
    void (*h5_size)(const task_set *set, const int64_t extent[TASK_EXTENTS], double *bytes,
                    double *objects);

    /* ---- analysis of a whole set (optional: NULL if the kind has none) ---- */
    /* Rank 0, when every task of the set is present: computes the set's result. A result the
     * data cannot determine is a result too (stored with its reason); only I/O and memory errors
     * fail. */
    int (*analyze)(const job *j, const task_set *set, task_loader load, void *context,
                   const set_analysis_options *o, void **result);
    void (*code_result)(codec *c, const task_set *set, void **result); /* to share it */
    void (*free_result)(void *result);
    const char *result_group; /* its group under the set's: "fq"; ripen analyze replaces it */
    int (*h5_write_result)(hid_t group, const task_set *set, const void *result, int writer);
    /* The analysis' cost, without running it (NULL: negligible). */
    void (*analysis_cost)(const task_set *set, int bootstrap, analysis_cost *cost);
    /* ripen analyze: the result in full. */
    void (*print_result)(const task_set *set, const void *result);
    /* A warning on stderr if the data did not determine the result (NULL: never). */
    void (*warn_result)(const task_set *set, const void *result);

    /* ---- the run's summary (cmd_run.c) ---- */
    /* Every set of this kind at once (results[s] for job set s, NULL if none). */
    void (*summary)(const job *j, const struct task_kind *kind, task_loader load, void *context,
                    void *const *results);
} task_kind;

/* Every kind a job can hold, in task-numbering order. */
extern const task_kind *const task_kinds[];
extern const int task_kind_count;

/* The kind's code in /tasks/kind: its index in task_kinds. */
int task_kind_code(const task_kind *kind);

#endif
