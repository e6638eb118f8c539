/* `ripen merge`: combine the shard files of one job (SLURM arrays) into the file a single run
 * would have written. */
#include "cli.h"
#include "ripen/engine/error.h"
#include "ripen/driver/h5out.h"
#include "ripen/driver/sched.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char merge_usage[] =
    "usage: ripen merge OUT.h5 SHARD.h5 [SHARD.h5 ...] [--force] [--bootstrap B]\n"
    "\n"
    "Checks that the shards come from the same job and together hold every task exactly once,\n"
    "then writes OUT.h5 with the same datasets as a single run of the job (F(q) recomputed on\n"
    "rank 0, with progress lines; SIGTERM stops it and nothing is written). OUT.h5 may not be\n"
    "one of the shards, by any name or link, --force or not. Shards of a job run with\n"
    "--shard I/N are named OUTPUT.shard-I-of-N.h5.\n";

typedef struct {
    h5in *shards;
    int nshards;
    int *owner; /* per task: the shard holding it */
} shard_set;

static int load_from_shards(void *context, int64_t id, task_record *r) {
    shard_set *s = context;
    return h5in_load_task(&s->shards[s->owner[id]], id, r);
}

static int open_shards(shard_set *s, char **paths, int n) {
    s->nshards = n;
    s->shards = calloc((size_t)n, sizeof *s->shards);
    if (!s->shards) return ripen_fail(RIPEN_ENOMEM, "out of memory");
    for (int k = 0; k < n; ++k) {
        int status = h5in_open(&s->shards[k], paths[k]);
        if (status) return status;
        if (s->shards[k].j.hash != s->shards[0].j.hash)
            return ripen_fail(RIPEN_EINVAL, "%s and %s come from different jobs: cannot merge",
                              paths[0], paths[k]);
    }
    const job *j = &s->shards[0].j;
    s->owner = malloc(sizeof *s->owner * (size_t)(j->ntasks + 1));
    if (!s->owner) return ripen_fail(RIPEN_ENOMEM, "out of memory");
    for (int64_t id = 0; id < j->ntasks; ++id) {
        s->owner[id] = -1;
        for (int k = 0; k < n; ++k) {
            if (!s->shards[k].present[id]) continue;
            if (s->owner[id] >= 0)
                return ripen_fail(RIPEN_EINVAL, "task %lld is in both %s and %s", (long long)id,
                                  paths[s->owner[id]], paths[k]);
            s->owner[id] = k;
        }
        if (s->owner[id] < 0)
            return ripen_fail(RIPEN_EINVAL,
                              "task %lld is in none of the %d shard(s): a shard is missing or "
                              "unfinished",
                              (long long)id, n);
    }
    return RIPEN_OK;
}

static void close_shards(shard_set *s) {
    for (int k = 0; k < s->nshards && s->shards; ++k) h5in_close(&s->shards[k]);
    free(s->shards), free(s->owner);
}

int merge_main(int argc, char **argv) {
    MPI_Comm comm = MPI_COMM_WORLD;
    int rank;
    MPI_Comm_rank(comm, &rank);
    const double started = MPI_Wtime();
    int force = 0, status = RIPEN_OK, npaths = 0;
    int64_t bootstrap = 200;
    char **paths = calloc((size_t)argc, sizeof *paths);
    for (int k = 1; k < argc && !status; ++k) {
        const char *v;
        if (strcmp(argv[k], "--help") == 0) {
            if (rank == 0) fputs(merge_usage, stdout);
            free(paths);
            return RIPEN_OK;
        } else if (strcmp(argv[k], "--force") == 0) {
            force = 1;
        } else if (strcmp(argv[k], "--bootstrap") == 0) {
            if (!(status = cli_value(argc, argv, &k, &v)))
                status = cli_parse_int("--bootstrap", v, 2, 100000, &bootstrap);
        } else if (argv[k][0] == '-' && argv[k][1]) {
            status = ripen_fail(RIPEN_EINVAL, "merge: unknown option %s", argv[k]);
        } else {
            paths[npaths++] = argv[k];
        }
    }
    if (!status && npaths < 2)
        status = ripen_fail(RIPEN_EINVAL, "merge: give the output file and at least one shard");
    for (int k = 1; k < npaths && !status; ++k)
        status = cli_refuse_output_on_input(paths[0], paths[k], "shard");
    struct stat st;
    if (!status && stat(paths[0], &st) == 0 && !S_ISREG(st.st_mode))
        status = ripen_fail(RIPEN_EINVAL, "%s is %s, not a result file: choose another output",
                            paths[0], S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
    if (!status && stat(paths[0], &st) == 0 && !force)
        status = ripen_fail(RIPEN_EINVAL, "%s exists: pass --force to overwrite it", paths[0]);
    shard_set shards = {0};
    if (!status) status = open_shards(&shards, paths + 1, npaths - 1);
    /* Every rank opened the same files; agree on the outcome before anything collective. */
    MPI_Allreduce(MPI_IN_PLACE, &status, 1, MPI_INT, MPI_MAX, comm);
    if (!status) {
        const job *j = &shards.shards[0].j;
        uint8_t *present = malloc((size_t)j->ntasks + 1);
        if (!present) MPI_Abort(comm, 3);
        memset(present, 1, (size_t)j->ntasks);
        shard_provenance *sources = calloc((size_t)shards.nshards, sizeof *sources);
        if (!sources) MPI_Abort(comm, 3);
        for (int k = 0; k < shards.nshards; ++k) sources[k] = shards.shards[k].prov;
        sched_install_signal_handlers();
        const results_options options = {.bootstrap = (int)bootstrap,
                                         .quiet = rank != 0,
                                         .progress_seconds = 10,
                                         .shard_index = 0,
                                         .shard_count = 1,
                                         .started = started,
                                         .interrupted = sched_stop_signal,
                                         .shards = sources,
                                         .nshards = shards.nshards};
        status = results_write(comm, j, paths[0], present, load_from_shards, &shards, &options,
                               NULL, NULL);
        if (!status && rank == 0)
            printf("merged %d shard(s), %lld tasks -> %s\n", npaths - 1, (long long)j->ntasks,
                   paths[0]);
        free(present);
        free(sources);
    }
    if (status == RIPEN_EINTERRUPTED)
        ripen_fail(status,
                   "merge stopped by a signal (during the analysis of the sets or the writing of "
                   "%s): nothing written; run the merge again",
                   paths[0]);
    if (status && rank == 0) cli_error(status);
    close_shards(&shards);
    free(paths);
    return status;
}
