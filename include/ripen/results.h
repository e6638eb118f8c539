/* Writing a result file from finished tasks, shared by `ripen run` (tasks from the journal) and
 * `ripen merge` (tasks from shard files). */
#ifndef RIPEN_RESULTS_H
#define RIPEN_RESULTS_H

#include <mpi.h>
#include <stdint.h>

#include "ripen/fq.h"
#include "ripen/job.h"
#include "ripen/task.h"

typedef struct {
    int bootstrap;                    /* F(q) bootstrap resamples */
    int64_t shard_index, shard_count; /* what the file holds (0 and 1 for a whole job) */
    double started;                   /* MPI_Wtime() at the start of the command */
} results_options;

/* Computes F(q) on rank 0, shares it, and writes the result file at `path` from the tasks marked
 * in `present`, loaded by `load`. Collective. Returns the F(q) results in *fq (free with
 * results_free_fq) if fq is not NULL, and the time spent writing. */
int results_write(MPI_Comm comm, const job *j, const char *path, const uint8_t *present,
                  task_loader load, void *context, const results_options *o, fq_result ***fq,
                  double *write_seconds);
void results_free_fq(const job *j, fq_result **fq);

#endif
