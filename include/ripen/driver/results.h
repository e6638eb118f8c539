/* Writing a result file from finished tasks, shared by `ripen run` (tasks from the journal) and
 * `ripen merge` (tasks from shard files). */
#ifndef RIPEN_RESULTS_H
#define RIPEN_RESULTS_H

#include <mpi.h>
#include <stdint.h>

#include "ripen/driver/job.h"
#include "ripen/driver/task.h"
#include "ripen/driver/task_kind.h"

/* How rank 0's analyses of the sets report and stop (results_analyze). */
typedef struct {
    int quiet;                /* no progress lines */
    double progress_seconds;  /* wall time between progress lines */
    int (*interrupted)(void); /* nonzero: stop with RIPEN_EINTERRUPTED (a signal); may be NULL */
} analysis_watch;

typedef struct {
    int bootstrap;                    /* bootstrap resamples of the sets' analyses (F(q)) */
    int quiet;                        /* no progress lines for the analyses */
    double progress_seconds;          /* wall time between progress lines */
    int64_t shard_index, shard_count; /* what the file holds (0 and 1 for a whole job) */
    double started;                   /* MPI_Wtime() at the start of the command */
    int (*interrupted)(void);         /* nonzero: stop writing cleanly (a signal); may be NULL */
    const struct shard_provenance *shards; /* merge: the shards' own provenance */
    int nshards;
} results_options;

/* Runs the analysis of every set whose kind has one and whose tasks are all present (F(q) of a
 * window set): results[s] for job set s, NULL where there is none. Says which set it analyses
 * and, every progress_seconds, how far the solver is (stdout, unless quiet); stops with
 * RIPEN_EINTERRUPTED when watch->interrupted() says so. `watch` may be NULL (quiet, no stop). */
int results_analyze(const job *j, const uint8_t *present, task_loader load, void *context,
                    int bootstrap, const analysis_watch *watch, void **results);

/* Analyses the sets on rank 0, shares the results, and writes the result file at `path` from
 * the tasks marked in `present`, loaded by `load`. Collective. Returns the results in *results
 * (free with results_free) if results is not NULL, and the time spent writing. */
int results_write(MPI_Comm comm, const job *j, const char *path, const uint8_t *present,
                  task_loader load, void *context, const results_options *o, void ***results,
                  double *write_seconds);
void results_free(const job *j, void **results);

#endif
