/* Writing a result file from finished tasks, shared by `ripen run` (tasks from the journal) and
 * `ripen merge` (tasks from shard files): F(q) on rank 0, shared with every rank (the file's
 * collective metadata must match), provenance, then the parallel HDF5 write. */
#include "ripen/results.h"
#include "ripen/error.h"
#include "ripen/h5out.h"

#include <stdio.h>
#include <stdlib.h>

void results_free_fq(const job *j, fq_result **fq) {
    for (int w = 0; fq && w < j->nwindow_sets; ++w)
        if (fq[w]) fq_free(fq[w]), free(fq[w]);
    free(fq);
}

int results_write(MPI_Comm comm, const job *j, const char *path, const uint8_t *present,
                  task_loader load, void *context, const results_options *o, fq_result ***fq_out,
                  double *write_seconds) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    fq_result **fq = calloc((size_t)j->nwindow_sets + 1, sizeof *fq);
    if (!fq) MPI_Abort(comm, 3); /* the other ranks are about to wait in a collective */
    int status = rank == 0 ? fq_compute_all(j, present, load, context, o->bootstrap, fq) : 0;
    MPI_Bcast(&status, 1, MPI_INT, 0, comm);
    if (!status) status = fq_broadcast(comm, j, fq);
    run_provenance prov = {.shard_index = o->shard_index, .shard_count = o->shard_count};
    run_provenance_collect(comm, &prov);
    prov.wall_seconds = MPI_Wtime() - o->started;
    MPI_Bcast(&prov.wall_seconds, 1, MPI_DOUBLE, 0, comm);
    const double write_started = MPI_Wtime();
    if (!status) status = h5out_write(comm, j, path, present, load, context, &prov, fq);
    if (write_seconds) *write_seconds = MPI_Wtime() - write_started;
    for (int w = 0; !status && rank == 0 && w < j->nwindow_sets; ++w)
        if (fq[w] && fq[w]->failed)
            fprintf(stderr,
                    "ripen: warning: F(q) of windows %s not determined: %s (the window samples "
                    "are in the file; `ripen analyze` recomputes F(q))\n",
                    j->window_sets[w].name, fq[w]->error);
    if (fq_out)
        *fq_out = fq;
    else
        results_free_fq(j, fq);
    return status;
}
