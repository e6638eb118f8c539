/* `ripen bench`: the kernels' speed on one core (bench.c) and, across the MPI ranks it runs
 * with, a whole ensemble run through the scheduler, the journal and the parallel HDF5 writer:
 * replicas/s, attempts/s over all ranks, parallel efficiency against one rank measured in the
 * same invocation, the HDF5 share of wall time, and the scheduler's rate on trivial tasks. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "ripen/engine/bench.h"
#include "ripen/engine/error.h"
#include "ripen/driver/h5out.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: mpirun -np K ripen bench [--kernels-only | --ensemble-only] [--replicas R]\n"
    "                                [--steps S] [--scratch DIR] [kernel options]\n"
    "\n"
    "Kernels (rank 0, one core): attempts/s, MC steps/s and events/s of every dynamics against\n"
    "a simple reference kernel, at the paper's parameters (options: --seconds, --lattice,\n"
    "--segment, --threads; see docs/performance.md). Ensemble (all ranks): 2 x R x K replicas\n"
    "of the paper's setup run to doubling (at most S steps, default 3000) once on rank 0 alone\n"
    "and once on all K ranks: wall time, replicas/s, attempts/s, parallel efficiency\n"
    "T1 / (K TK), and the share of wall time spent writing the HDF5 file; then 200 x K trivial\n"
    "tasks for the scheduler's rate.\n"
    "Files go to a temporary directory under --scratch (default /tmp), removed at the end.\n";

typedef struct {
    int kernels, ensemble;
    int64_t replicas, steps;
    const char *scratch;
    int kernel_argc;
    char **kernel_argv;
} bench_args;

static int parse(int argc, char **argv, bench_args *b) {
    *b =
        (bench_args){.kernels = 1, .ensemble = 1, .replicas = 16, .steps = 3000, .scratch = "/tmp"};
    b->kernel_argv = calloc((size_t)argc + 1, sizeof *b->kernel_argv);
    if (!b->kernel_argv) return ripen_fail(RIPEN_ENOMEM, "out of memory");
    b->kernel_argv[b->kernel_argc++] = argv[0];
    int status = RIPEN_OK;
    for (int k = 1; k < argc && !status; ++k) {
        const char *v;
        if (strcmp(argv[k], "--kernels-only") == 0)
            b->ensemble = 0;
        else if (strcmp(argv[k], "--ensemble-only") == 0)
            b->kernels = 0;
        else if (strcmp(argv[k], "--replicas") == 0) {
            if (!(status = cli_value(argc, argv, &k, &v)))
                status = cli_parse_int("--replicas", v, 1, 100000, &b->replicas);
        } else if (strcmp(argv[k], "--steps") == 0) {
            if (!(status = cli_value(argc, argv, &k, &v)))
                status = cli_parse_int("--steps", v, 1, 100000000, &b->steps);
        } else if (strcmp(argv[k], "--scratch") == 0) {
            if (!(status = cli_value(argc, argv, &k, &v))) b->scratch = v;
        } else {
            b->kernel_argv[b->kernel_argc++] = argv[k]; /* bench.c checks these */
        }
    }
    if (!status && !b->kernels && !b->ensemble)
        status = ripen_fail(RIPEN_EINVAL, "bench: --kernels-only and --ensemble-only exclude "
                                          "each other");
    return status;
}

static int write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return ripen_fail(RIPEN_EIO, "cannot create %s", path);
    fputs(text, f);
    return fclose(f) == 0 ? RIPEN_OK : ripen_fail(RIPEN_EIO, "cannot write %s", path);
}

/* Runs `ripen run JOB --out OUT --quiet` on `comm`. */
static int run_quietly(MPI_Comm comm, const char *job, const char *out, run_report *report) {
    char *args[] = {"run", (char *)job, "--out", (char *)out, "--quiet", "--force", NULL};
    return run_on(comm, 6, args, report);
}

/* Attempts done by all the replicas of a result file (steps run x lattice sites). */
static double attempts_in(const char *path) {
    h5in in;
    if (h5in_open(&in, path)) return -1;
    double attempts = 0;
    for (int64_t id = 0; id < in.j.ntasks; ++id) {
        task_record r;
        if (task_record_init(&r, &in.j, id)) continue;
        if (!h5in_load_task(&in, id, &r)) attempts += (double)r.step * (double)r.nsites;
        task_record_free(&r);
    }
    h5in_close(&in);
    return attempts;
}

/* The ensemble: the paper's setup, shelled and shell-free, to doubling. */
static int ensemble_job(const char *directory, const bench_args *b, int nranks, char *path,
                        size_t capacity) {
    snprintf(path, capacity, "%s/ensemble.json", directory);
    char text[1024];
    snprintf(text, sizeof text,
             "{\"seed\": 3, \"ensembles\": ["
             "{\"name\": \"shelled\", \"shell_thickness\": 2, \"replicas\": %lld, "
             "\"max_steps\": %lld, \"sample_interval\": 20},"
             "{\"name\": \"shell-free\", \"shell_thickness\": 0, \"replicas\": %lld, "
             "\"max_steps\": %lld, \"sample_interval\": 20}]}\n",
             (long long)(b->replicas * nranks), (long long)b->steps,
             (long long)(b->replicas * nranks), (long long)b->steps);
    return write_text(path, text);
}

static int trivial_job(const char *directory, int nranks, char *path, size_t capacity) {
    snprintf(path, capacity, "%s/trivial.json", directory);
    char text[512];
    snprintf(text, sizeof text,
             "{\"lattice\": {\"lx\": 4, \"ly\": 4, \"lz\": 2}, \"initial\": {\"core_sites\": 2, "
             "\"shell_thickness\": 0}, \"ensembles\": [{\"name\": \"trivial\", \"replicas\": %d, "
             "\"max_steps\": 1, \"sample_interval\": 1}]}\n",
             200 * nranks);
    return write_text(path, text);
}

static void print_row(int ranks, const run_report *r, double attempts, int64_t replicas) {
    printf("  %5d %10.2f %12.2f %16.3e %12.3f %7.2f%%\n", ranks, r->wall_seconds,
           (double)replicas / r->wall_seconds, attempts / r->wall_seconds, r->write_seconds,
           100.0 * r->write_seconds / r->wall_seconds);
}

static int ensemble(MPI_Comm comm, const bench_args *b) {
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    char directory[JOB_PATH_CAPACITY] = "";
    int status = RIPEN_OK;
    if (rank == 0) {
        snprintf(directory, sizeof directory, "%s/ripen-bench-XXXXXX", b->scratch);
        if (!mkdtemp(directory))
            status = ripen_fail(RIPEN_EIO, "bench: cannot create a directory in %s", b->scratch);
    }
    MPI_Bcast(&status, 1, MPI_INT, 0, comm);
    if (status) return status;
    MPI_Bcast(directory, sizeof directory, MPI_CHAR, 0, comm);
    char job[JOB_PATH_CAPACITY + 32], tiny[JOB_PATH_CAPACITY + 32];
    char out1[JOB_PATH_CAPACITY + 32], outk[JOB_PATH_CAPACITY + 32], out0[JOB_PATH_CAPACITY + 32];
    snprintf(out1, sizeof out1, "%s/one-rank.h5", directory);
    snprintf(outk, sizeof outk, "%s/all-ranks.h5", directory);
    snprintf(out0, sizeof out0, "%s/trivial.h5", directory);
    if (rank == 0) status = ensemble_job(directory, b, nranks, job, sizeof job);
    if (rank == 0 && !status) status = trivial_job(directory, nranks, tiny, sizeof tiny);
    MPI_Bcast(&status, 1, MPI_INT, 0, comm);
    MPI_Bcast(job, sizeof job, MPI_CHAR, 0, comm);
    MPI_Bcast(tiny, sizeof tiny, MPI_CHAR, 0, comm);
    run_report one = {0}, all = {0}, trivial = {0};
    MPI_Comm alone;
    MPI_Comm_split(comm, rank == 0 ? 0 : MPI_UNDEFINED, 0, &alone);
    if (!status && rank == 0) status = run_quietly(alone, job, out1, &one);
    if (alone != MPI_COMM_NULL) MPI_Comm_free(&alone);
    MPI_Bcast(&status, 1, MPI_INT, 0, comm);
    if (!status) status = run_quietly(comm, job, outk, &all);
    if (!status) status = run_quietly(comm, tiny, out0, &trivial);
    if (!status && rank == 0) {
        const int64_t replicas = 2 * b->replicas * nranks;
        printf("\nensemble run: the paper's setup (80 x 80 x 4, default reading, "
               "random-sequential), %lld replicas (shelled and shell-free) to doubling, at most "
               "%lld steps, through the scheduler, the journal and the HDF5 writer\n",
               (long long)replicas, (long long)b->steps);
        printf("  %5s %10s %12s %16s %12s %8s\n", "ranks", "wall (s)", "replicas/s", "attempts/s",
               "HDF5 (s)", "HDF5 %");
        print_row(1, &one, attempts_in(out1), replicas);
        print_row(nranks, &all, attempts_in(outk), replicas);
        printf("  parallel efficiency at %d ranks: T1 / (%d x T%d) = %.1f%%\n", nranks, nranks,
               nranks, 100.0 * one.wall_seconds / (nranks * all.wall_seconds));
        printf("\nscheduler: %lld trivial tasks (4 x 4 x 2 lattice, 1 step) on %d ranks: %.0f "
               "tasks/s (each result is fsync'ed into the journal)\n",
               (long long)trivial.tasks_run, nranks,
               (double)trivial.tasks_run / trivial.wall_seconds);
    }
    if (rank == 0) {
        const char *const files[] = {out1, outk, out0, job, tiny};
        for (size_t k = 0; k < sizeof files / sizeof files[0]; ++k) unlink(files[k]);
        rmdir(directory);
    }
    return status;
}

int bench_command(int argc, char **argv) {
    MPI_Comm comm = MPI_COMM_WORLD;
    int rank;
    MPI_Comm_rank(comm, &rank);
    for (int k = 1; k < argc; ++k)
        if (strcmp(argv[k], "--help") == 0) {
            if (rank == 0) {
                fputs(usage, stdout);
                fputs("\nkernel options:\n", stdout);
                bench_print_options(stdout);
            }
            return RIPEN_OK;
        }
    bench_args b;
    int status = parse(argc, argv, &b);
    if (status) {
        if (rank == 0) cli_error(status);
        free(b.kernel_argv);
        return status;
    }
    int code = 0;
    if (b.kernels && rank == 0) {
        code = bench_main(b.kernel_argc, b.kernel_argv);
        fflush(stdout);
    }
    MPI_Bcast(&code, 1, MPI_INT, 0, comm);
    if (code) status = code == 2 ? RIPEN_EINVAL : RIPEN_EIO;
    if (!status && b.ensemble) {
        status = ensemble(comm, &b);
        if (status && rank == 0) cli_error(status);
    }
    free(b.kernel_argv);
    return status;
}
