/* Writing a result file from finished tasks, shared by `ripen run` (tasks from the journal) and
 * `ripen merge` (tasks from shard files): the sets' analyses on rank 0, shared with every rank
 * (the file's collective metadata must match), provenance, then the parallel HDF5 write. */
#include "ripen/results.h"

#include "ripen/codec.h"
#include "ripen/error.h"
#include "ripen/h5out.h"
#include "ripen/task_kind.h"

#include <stdio.h>
#include <stdlib.h>

void results_free(const job *j, void **results) {
    for (int s = 0; results && s < j->nsets; ++s)
        if (results[s]) j->sets[s].kind->free_result(results[s]);
    free(results);
}

static int set_present(const task_set *set, const uint8_t *present) {
    for (int64_t id = set->first_task; id < set->first_task + set->ntasks; ++id)
        if (!present[id]) return 0;
    return 1;
}

int results_analyze(const job *j, const uint8_t *present, task_loader load, void *context,
                    const set_analysis_options *o, void **results) {
    int status = RIPEN_OK;
    for (int s = 0; s < j->nsets && !status; ++s) {
        const task_set *set = &j->sets[s];
        if (set->kind->analyze && set_present(set, present))
            status = set->kind->analyze(j, set, load, context, o, &results[s]);
    }
    return status;
}

/* Rank 0's results, encoded once and decoded everywhere else. Out of memory in the middle of a
 * broadcast cannot be reported without leaving the other ranks waiting in the collective:
 * abort. */
static void share_results(MPI_Comm comm, const job *j, void **results) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    for (int s = 0; s < j->nsets; ++s) {
        const task_set *set = &j->sets[s];
        int64_t size = 0;
        byte_buffer b = {0};
        if (rank == 0 && results[s]) {
            codec c = {.b = &b, .writing = 1};
            set->kind->code_result(&c, set, &results[s]);
            if (c.status) MPI_Abort(comm, 3);
            size = (int64_t)b.size + 1; /* 0 = no result */
        }
        MPI_Bcast(&size, 1, MPI_INT64_T, 0, comm);
        if (size == 0) continue;
        if (rank != 0 && !(b.data = malloc((size_t)size))) MPI_Abort(comm, 3);
        MPI_Bcast(b.data, (int)size - 1, MPI_BYTE, 0, comm);
        if (rank != 0) {
            b.size = (size_t)size - 1;
            codec c = {.b = &b, .writing = 0};
            set->kind->code_result(&c, set, &results[s]);
            if (!codec_complete(&c)) MPI_Abort(comm, 3);
        }
        byte_buffer_free(&b);
    }
}

int results_write(MPI_Comm comm, const job *j, const char *path, const uint8_t *present,
                  task_loader load, void *context, const results_options *o, void ***results_out,
                  double *write_seconds) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    void **results = calloc((size_t)j->nsets + 1, sizeof *results);
    if (!results) MPI_Abort(comm, 3); /* the other ranks are about to wait in a collective */
    const set_analysis_options analysis = {.bootstrap = o->bootstrap};
    int status = rank == 0 ? results_analyze(j, present, load, context, &analysis, results) : 0;
    MPI_Bcast(&status, 1, MPI_INT, 0, comm);
    if (!status) share_results(comm, j, results);
    run_provenance prov = {.shard_index = o->shard_index,
                           .shard_count = o->shard_count,
                           .shards = o->shards,
                           .nshards = o->nshards};
    run_provenance_collect(comm, &prov);
    prov.wall_seconds = MPI_Wtime() - o->started;
    MPI_Bcast(&prov.wall_seconds, 1, MPI_DOUBLE, 0, comm);
    const double write_started = MPI_Wtime();
    if (!status)
        status = h5out_write(comm, j, path, present, load, context, &prov, results, o->interrupted);
    if (write_seconds) *write_seconds = MPI_Wtime() - write_started;
    for (int s = 0; !status && rank == 0 && s < j->nsets; ++s)
        if (results[s] && j->sets[s].kind->warn_result)
            j->sets[s].kind->warn_result(&j->sets[s], results[s]);
    if (results_out)
        *results_out = results;
    else
        results_free(j, results);
    return status;
}
