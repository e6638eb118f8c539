/* `ripen run`: validate the job, run its tasks across the MPI ranks, write the result file. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "ripen/engine/error.h"
#include "ripen/driver/h5out.h"
#include "ripen/driver/job.h"
#include "ripen/driver/journal.h"
#include "ripen/driver/sched.h"
#include "ripen/driver/task_kind.h"

#include <mpi.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char run_usage[] =
    "usage: mpirun -np K ripen run JOB.json [options]\n"
    "\n"
    "Runs every task of the job (replicas and umbrella windows) across the MPI ranks and writes\n"
    "one HDF5 result file (docs/hdf5-layout.md). Progress is kept in OUTPUT.journal/ until the\n"
    "file is complete, so an interrupted run loses at most one checkpoint interval per rank.\n"
    "When every task is done, rank 0 analyses the sets (F(q), rates) with progress lines while\n"
    "the other ranks wait asleep; a signal stops that too, and --resume redoes only that part.\n"
    "\n"
    "options:\n"
    "  --out PATH              result file (default: the job's \"output\", else JOB.h5); with\n"
    "                          --shard, the name the shard's file is derived from\n"
    "  --resume                continue an interrupted run from OUTPUT.journal/\n"
    "  --continue              resume if interrupted, start if not, do nothing if OUTPUT already\n"
    "                          holds this job's finished result (another job's file, another\n"
    "                          shard's or an unfinished one is refused); for batch scripts\n"
    "                          that may be requeued\n"
    "  --force                 overwrite an existing result file / discard an old journal\n"
    "  --quiet                 no progress lines and no summary (errors are still printed)\n"
    "  --shard I/N             run only the tasks whose shard key is I modulo N (the task id; for\n"
    "                          a staged set, its first task's) into OUTPUT.shard-I-of-N.h5,\n"
    "                          OUTPUT without its .h5; I counted from 0 (default from\n"
    "                          SLURM_ARRAY_TASK_ID/_MIN/_COUNT when set)\n"
    "  --no-shard              ignore SLURM array variables\n"
    "  --checkpoint-seconds S  wall time between checkpoints of a running task (default 300)\n"
    "  --progress-seconds S    wall time between progress lines (default 10)\n"
    "  --bootstrap B           bootstrap resamples for F(q) errors (default 200)\n"
    "  --keep-journal          keep OUTPUT.journal/ after success\n"
    "\n"
    "exit status: 0 done, 2 bad input, 3 out of memory, 4 I/O error, 5 interrupted (resume)\n";

typedef struct {
    const char *job_path;
    const char *out;
    int resume, force, quiet, keep_journal, no_shard, shard_given, continue_run;
    int64_t shard_index, shard_count;
    double checkpoint_seconds, progress_seconds;
    int64_t bootstrap;
} run_args;

enum { MAX_SHARDS = 1000000 };

/* "I/N" with 0 <= I < N <= MAX_SHARDS: shards are numbered from 0. */
static int parse_shard(const char *text, run_args *a) {
    const char *slash = strchr(text, '/');
    char index[32];
    int64_t i = -1, n = 0;
    const int ok = slash && slash > text && (size_t)(slash - text) < sizeof index;
    if (ok) snprintf(index, sizeof index, "%.*s", (int)(slash - text), text);
    if (!ok || cli_parse_int("--shard", index, 0, MAX_SHARDS - 1, &i) ||
        cli_parse_int("--shard", slash + 1, 1, MAX_SHARDS, &n) || i >= n)
        return ripen_fail(RIPEN_EINVAL,
                          "--shard %s: must be I/N with 0 <= I < N <= %d (shards are numbered "
                          "from 0)",
                          text, MAX_SHARDS);
    a->shard_index = i, a->shard_count = n, a->shard_given = 1;
    return RIPEN_OK;
}

/* SLURM array defaults: index = SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN. */
static int shard_from_slurm(run_args *a) {
    const char *id = getenv("SLURM_ARRAY_TASK_ID"), *count = getenv("SLURM_ARRAY_TASK_COUNT");
    const char *min = getenv("SLURM_ARRAY_TASK_MIN");
    if (a->shard_given || a->no_shard || !id || !count) return RIPEN_OK;
    int64_t i, n, m = 0;
    int status = cli_parse_int("SLURM_ARRAY_TASK_ID", id, 0, INT64_MAX, &i);
    if (!status) status = cli_parse_int("SLURM_ARRAY_TASK_COUNT", count, 1, INT64_MAX, &n);
    if (!status && min) status = cli_parse_int("SLURM_ARRAY_TASK_MIN", min, 0, INT64_MAX, &m);
    if (!status && n > MAX_SHARDS)
        status = ripen_fail(RIPEN_EINVAL, "SLURM_ARRAY_TASK_COUNT %s: at most %d shards", count,
                            MAX_SHARDS);
    if (!status && (i - m < 0 || i - m >= n))
        status = ripen_fail(RIPEN_EINVAL,
                            "SLURM array task %lld is outside %lld..%lld: give --shard I/N",
                            (long long)i, (long long)m, (long long)(m + n - 1));
    if (!status) a->shard_index = i - m, a->shard_count = n;
    return status;
}

static int parse_run_args(int argc, char **argv, run_args *a) {
    *a = (run_args){.shard_index = 0,
                    .shard_count = 1,
                    .checkpoint_seconds = 300,
                    .progress_seconds = 10,
                    .bootstrap = 200};
    int status = RIPEN_OK;
    for (int k = 1; k < argc && !status; ++k) {
        const char *v;
        if (strcmp(argv[k], "--resume") == 0)
            a->resume = 1;
        else if (strcmp(argv[k], "--continue") == 0)
            a->continue_run = 1;
        else if (strcmp(argv[k], "--force") == 0)
            a->force = 1;
        else if (strcmp(argv[k], "--quiet") == 0)
            a->quiet = 1;
        else if (strcmp(argv[k], "--keep-journal") == 0)
            a->keep_journal = 1;
        else if (strcmp(argv[k], "--no-shard") == 0)
            a->no_shard = 1;
        else if (strcmp(argv[k], "--out") == 0) {
            if (!(status = cli_value(argc, argv, &k, &v))) a->out = v;
            if (!status && v[0] == '-')
                status = ripen_fail(RIPEN_EINVAL,
                                    "--out needs a file name, got the option %s (write ./%s for a "
                                    "file of that name)",
                                    v, v);
            if (!status && !v[0])
                status = ripen_fail(RIPEN_EINVAL, "--out: the result file needs a name");
        } else if (strcmp(argv[k], "--shard") == 0) {
            if (!(status = cli_value(argc, argv, &k, &v))) status = parse_shard(v, a);
        } else if (strcmp(argv[k], "--checkpoint-seconds") == 0) {
            if (!(status = cli_value(argc, argv, &k, &v)))
                status = cli_parse_double(argv[k - 1], v, 0.001, 1e9, &a->checkpoint_seconds);
        } else if (strcmp(argv[k], "--progress-seconds") == 0) {
            if (!(status = cli_value(argc, argv, &k, &v)))
                status = cli_parse_double(argv[k - 1], v, 0, 1e9, &a->progress_seconds);
        } else if (strcmp(argv[k], "--bootstrap") == 0) {
            if (!(status = cli_value(argc, argv, &k, &v)))
                status = cli_parse_int(argv[k - 1], v, 2, 100000, &a->bootstrap);
        } else if (argv[k][0] == '-' && argv[k][1])
            status =
                ripen_fail(RIPEN_EINVAL, "run: unknown option %s (see ripen run --help)", argv[k]);
        else if (a->job_path)
            status = ripen_fail(RIPEN_EINVAL, "run: one job file only (got %s and %s)", a->job_path,
                                argv[k]);
        else
            a->job_path = argv[k];
    }
    if (!status && !a->job_path)
        status = ripen_fail(RIPEN_EINVAL, "run: no job file given (see ripen run --help)");
    if (!status && (a->resume || a->continue_run) && a->force)
        status = ripen_fail(RIPEN_EINVAL, "run: --%s and --force contradict each other",
                            a->resume ? "resume" : "continue");
    if (!status) status = shard_from_slurm(a);
    return status;
}

/* Rank 0 reads the job file; every rank parses the same text. */
static int load_job(MPI_Comm comm, const char *path, job *j) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    int status = RIPEN_OK;
    int64_t length = 0;
    if (rank == 0) {
        status = job_load(j, path);
        if (!status) length = (int64_t)strlen(j->text);
    }
    MPI_Bcast(&status, 1, MPI_INT, 0, comm);
    if (status) return status;
    MPI_Bcast(&length, 1, MPI_INT64_T, 0, comm);
    char *text = rank == 0 ? j->text : malloc((size_t)length + 1);
    if (!text) MPI_Abort(comm, 3);
    MPI_Bcast(text, (int)length + 1, MPI_CHAR, 0, comm);
    if (rank != 0) {
        status = job_parse(j, text, path);
        free(text);
    }
    return status;
}

/* The result file: the job's "output" or --out, and for a shard OUTPUT.shard-I-of-N.h5 (OUTPUT
 * without its .h5), so that the shards of one job never share a file whatever --out says. An
 * --out that already names this shard's file is taken as it is. */
static int apply_output(const run_args *a, job *j) {
    if (a->out) snprintf(j->output, sizeof j->output, "%s", a->out);
    if (a->shard_count <= 1) return RIPEN_OK;
    char suffix[96], stem[JOB_PATH_CAPACITY];
    snprintf(suffix, sizeof suffix, ".shard-%lld-of-%lld.h5", (long long)a->shard_index,
             (long long)a->shard_count);
    const size_t length = strlen(j->output), tail = strlen(suffix);
    if (length > tail && strcmp(j->output + length - tail, suffix) == 0) return RIPEN_OK;
    snprintf(stem, sizeof stem, "%s", j->output);
    char *dot = strrchr(stem, '.');
    if (dot && strcmp(dot, ".h5") == 0) *dot = '\0';
    char name[sizeof stem + sizeof suffix];
    snprintf(name, sizeof name, "%s%s", stem, suffix);
    if (strlen(name) >= sizeof j->output)
        return ripen_fail(RIPEN_EINVAL, "the shard's result file name %s is too long", name);
    memcpy(j->output, name, strlen(name) + 1);
    return RIPEN_OK;
}

static int path_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Error unless files can be created next to `output`. */
static int check_output_directory(const char *output) {
    if (!output[0]) return ripen_fail(RIPEN_EINVAL, "--out: the result file needs a name");
    char directory[JOB_PATH_CAPACITY];
    snprintf(directory, sizeof directory, "%s", output);
    char *slash = strrchr(directory, '/');
    if (!slash)
        snprintf(directory, sizeof directory, ".");
    else if (slash == directory)
        slash[1] = '\0';
    else
        *slash = '\0';
    struct stat st;
    if (stat(directory, &st) == 0 && !S_ISDIR(st.st_mode))
        return ripen_fail(RIPEN_EINVAL, "cannot write results in %s: Not a directory", directory);
    if (access(directory, W_OK | X_OK) != 0)
        return ripen_fail(RIPEN_EINVAL, "cannot write results in %s: %s", directory,
                          strerror(errno));
    return RIPEN_OK;
}

/* The result path: writable next to it, and nothing there that --force must not replace (a
 * directory, a device, a FIFO): only a regular file, and only with --force. */
static int check_output(const char *output, int force) {
    const int writable = check_output_directory(output);
    if (writable) return writable;
    struct stat st;
    if (stat(output, &st) != 0) return RIPEN_OK;
    if (!S_ISREG(st.st_mode))
        return ripen_fail(RIPEN_EINVAL, "%s is %s, not a result file: choose another --out", output,
                          S_ISDIR(st.st_mode)                          ? "a directory"
                          : S_ISFIFO(st.st_mode)                       ? "a FIFO"
                          : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                                                                       : "not a regular file");
    if (!force)
        return ripen_fail(RIPEN_EINVAL,
                          "%s exists: ripen never overwrites results; remove it, choose --out, "
                          "or pass --force",
                          output);
    return RIPEN_OK;
}

/* A live run holds the journal's lock (journal.h): whatever this run was asked to do, the answer
 * is to wait for that run or stop it, not to resume or discard its journal. */
static int refuse_live_run(const char *directory) {
    const long holder = journal_lock_holder(directory);
    if (!holder) return RIPEN_OK;
    return ripen_fail(RIPEN_EINVAL,
                      "%s is held by a live ripen run (process %ld): wait for it to finish, or "
                      "stop it (SIGTERM: it checkpoints and exits) and then continue it with "
                      "--resume",
                      directory, holder);
}

/* Rank 0: output and journal checks, then create or open the journal; fills `done`. */
static int prepare_journal(const run_args *a, const job *j, journal *jn, uint8_t *done) {
    int status = check_output(j->output, a->force);
    if (status) return status;
    char directory[JOB_PATH_CAPACITY + 16];
    journal_directory(j->output, directory, sizeof directory);
    if (journal_exists(j) && (status = refuse_live_run(directory))) return status;
    const int have_journal = journal_exists(j) && journal_has_record(j);
    if (a->resume) {
        if (!have_journal)
            return ripen_fail(RIPEN_EINVAL,
                              "--resume: no interrupted run to continue (%s %s): run without "
                              "--resume to start",
                              directory, journal_exists(j) ? "holds no job record" : "absent");
        status = journal_open(jn, j);
        /* Checked before the lock is taken, so that a refused resume leaves nothing behind. */
        if (!status) status = journal_verify(jn, j, done);
        if (!status) status = journal_lock(jn);
        return status ? status : journal_remove_stale(jn);
    }
    if (have_journal && !a->force)
        return ripen_fail(RIPEN_EINVAL,
                          "an interrupted run of this output exists (%s): continue it with "
                          "--resume, or discard it with --force",
                          directory);
    /* A journal without a job record (a run killed while creating it) holds nothing to lose. */
    if (journal_exists(j) && (status = journal_remove_directory(directory))) return status;
    /* With --force an old result stays in place until the new file is renamed over it. */
    memset(done, 0, (size_t)j->ntasks);
    status = journal_create(jn, j);
    return status ? status : journal_lock(jn);
}

/* Which shard `in` holds, in words. */
static void describe_shard(int64_t index, int64_t count, char *out, size_t capacity) {
    if (count <= 1)
        snprintf(out, capacity, "the whole job");
    else
        snprintf(out, capacity, "shard %lld of %lld", (long long)index, (long long)count);
}

/* --continue with OUTPUT present: there is nothing to do only if OUTPUT is this job's finished
 * result, of this shard. Anything else (not a ripen file, another job's results, another shard,
 * an unfinished file) is refused, so that a requeued batch script never skips a job silently. */
static int check_finished(const run_args *a, const job *j) {
    h5in in;
    if (h5in_open(&in, j->output))
        return ripen_fail(RIPEN_EINVAL,
                          "--continue: %s; it is not this job's finished result: remove it, or "
                          "give this job another output",
                          ripen_last_error());
    char held[64], wanted[64];
    describe_shard(in.shard_index, in.shard_count, held, sizeof held);
    describe_shard(a->shard_index, a->shard_count, wanted, sizeof wanted);
    int64_t present = 0, owned = 0, misplaced = 0;
    for (int64_t id = 0; in.j.hash == j->hash && id < j->ntasks; ++id) {
        const int mine = job_shard_key(j, id) % a->shard_count == a->shard_index;
        owned += mine, present += mine && in.present[id], misplaced += !mine && in.present[id];
    }
    int status = RIPEN_OK;
    if (in.j.hash != j->hash)
        status = ripen_fail(RIPEN_EINVAL,
                            "--continue: %s holds the results of another job (job hash %016llx, "
                            "from %s; this job %016llx): give this job its own \"output\" or "
                            "--out",
                            j->output, (unsigned long long)in.j.hash, in.prov.job_path,
                            (unsigned long long)j->hash);
    else if (in.shard_index != a->shard_index || in.shard_count != a->shard_count || misplaced)
        status = ripen_fail(RIPEN_EINVAL, "--continue: %s holds %s of this job, this run is %s",
                            j->output, held, wanted);
    else if (present != owned)
        status = ripen_fail(RIPEN_EINVAL,
                            "--continue: %s holds %lld of the %lld tasks of %s: not a finished "
                            "result; remove it, or start afresh with --force",
                            j->output, (long long)present, (long long)owned, wanted);
    h5in_close(&in);
    return status;
}

typedef struct {
    const journal *jn;
    const job *j;
} journal_loader;

static int load_from_journal(void *context, int64_t id, task_record *r) {
    const journal_loader *l = context;
    journal_entry found;
    const int status = journal_read(l->jn, l->j, id, r, &found);
    if (!status && found != JOURNAL_DONE)
        return ripen_fail(RIPEN_EIO, "task %lld has no finished record in %s", (long long)id,
                          l->jn->directory);
    return status;
}

static void print_summary(const job *j, task_loader load, void *context, void *const *results) {
    printf("\nsummary (tau = doubling time in MC steps; censored replicas count via "
           "Kaplan-Meier)\n");
    for (int k = 0; k < task_kind_count; ++k)
        if (job_count_sets(j, task_kinds[k]) > 0 && task_kinds[k]->summary)
            task_kinds[k]->summary(j, task_kinds[k], load, context, results);
}

/* Writes the file from the journal; rank 0 analyses the sets and shares the results. */
static int finish(MPI_Comm comm, const run_args *a, const job *j, const journal *jn,
                  const uint8_t *present, double started, run_report *report) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    journal_loader loader = {jn, j};
    const results_options options = {.bootstrap = (int)a->bootstrap,
                                     .quiet = a->quiet,
                                     .progress_seconds = a->progress_seconds,
                                     .shard_index = a->shard_index,
                                     .shard_count = a->shard_count,
                                     .started = started,
                                     .interrupted = sched_stop_signal};
    void **results = NULL;
    double write_seconds = 0;
    int status = results_write(comm, j, j->output, present, load_from_journal, &loader, &options,
                               &results, &write_seconds);
    if (report) report->write_seconds = write_seconds;
    if (!status && rank == 0 && !a->quiet) print_summary(j, load_from_journal, &loader, results);
    if (!status && rank == 0 && !a->keep_journal) {
        const int removed = journal_remove(jn, j);
        if (removed) fprintf(stderr, "ripen: warning: %s\n", ripen_last_error());
    }
    if (!status && rank == 0 && !a->quiet) {
        const double wall = MPI_Wtime() - started;
        printf("wrote %s: %.2f s wall, of which %.3f s (%.1f%%) writing the HDF5 file\n", j->output,
               wall, write_seconds, 100.0 * write_seconds / wall);
    }
    results_free(j, results);
    return status;
}

/* How to continue after a signal: while tasks ran (they are checkpointed), or after all of them
 * finished, during the analysis of the sets or the writing of the file (a resume redoes only
 * that). */
static void report_interrupted(const job *j, const run_args *a, const journal *jn,
                               const sched_stats *stats, int tasks_finished) {
    const int signal_number = sched_stop_signal();
    char shard[64] = "", when[JOB_PATH_CAPACITY + 256];
    if (a->shard_count > 1)
        snprintf(shard, sizeof shard, " --shard %lld/%lld", (long long)a->shard_index,
                 (long long)a->shard_count);
    if (tasks_finished)
        snprintf(when, sizeof when,
                 " after every task finished (during the analysis of the sets or the writing of "
                 "the file): the tasks are kept in %s and a resume redoes only that part",
                 jn->directory);
    else
        snprintf(when, sizeof when,
                 ": %lld task(s) finished in this run, running tasks checkpointed in %s",
                 (long long)stats->tasks_run, jn->directory);
    fprintf(stderr, "ripen: stopped%s%s%s; continue with: ripen run %s --resume%s%s%s\n",
            signal_number ? " by " : "",
            signal_number == SIGTERM  ? "SIGTERM"
            : signal_number == SIGINT ? "SIGINT"
                                      : "",
            when, j->path, a->out ? " --out " : "", a->out ? a->out : "", shard);
}

int run_main(int argc, char **argv) {
    return run_on(MPI_COMM_WORLD, argc, argv, NULL);
}

int run_on(MPI_Comm comm, int argc, char **argv, run_report *report) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    const double started = MPI_Wtime();
    for (int k = 1; k < argc; ++k)
        if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
            if (rank == 0) fputs(run_usage, stdout);
            return RIPEN_OK;
        }
    run_args a;
    int status = parse_run_args(argc, argv, &a);
    if (status) return rank == 0 ? cli_error(status) : status;
    job j;
    status = load_job(comm, a.job_path, &j);
    if (status) return rank == 0 ? cli_error(status) : status;
    status = apply_output(&a, &j);
    if (status) {
        job_free(&j);
        return rank == 0 ? cli_error(status) : status;
    }
    if (rank == 0) status = cli_refuse_output_on_input(j.output, j.path, "job file");
    int state[3] = {0, 0, status}; /* output present, journal present, refusal */
    if (rank == 0 && !status && a.continue_run) {
        state[0] = path_exists(j.output), state[1] = journal_exists(&j);
        if (state[0]) state[2] = check_finished(&a, &j);
    }
    MPI_Bcast(state, 3, MPI_INT, 0, comm); /* rank 0 looks; everyone follows */
    if (state[2] || (a.continue_run && state[0])) {
        /* a requeued batch job whose work is already done, or a refusal */
        if (rank == 0 && state[2]) cli_error(state[2]);
        if (rank == 0 && !state[2] && !a.quiet)
            printf("%s already holds this job's finished result: nothing to do\n", j.output);
        job_free(&j);
        return state[2];
    }
    if (a.continue_run) a.resume = state[1];
    journal jn = {.job_hash = j.hash};
    journal_directory(j.output, jn.directory, sizeof jn.directory);
    uint8_t *done = calloc((size_t)j.ntasks + 1, 1), *todo = calloc((size_t)j.ntasks + 1, 1);
    if (!done || !todo) MPI_Abort(comm, 3);
    if (rank == 0) status = prepare_journal(&a, &j, &jn, done);
    sched_wait_quietly(comm); /* checking a large journal takes rank 0 a while */
    MPI_Bcast(&status, 1, MPI_INT, 0, comm);
    if (!status) MPI_Bcast(done, (int)j.ntasks, MPI_UINT8_T, 0, comm);
    int64_t owned = 0, remaining = 0;
    for (int64_t id = 0; id < j.ntasks && !status; ++id) {
        const int mine = job_shard_key(&j, id) % a.shard_count == a.shard_index;
        owned += mine;
        todo[id] = (uint8_t)(mine && !done[id]);
        remaining += todo[id];
        done[id] = (uint8_t)mine; /* from here on: the tasks the result file holds */
    }
    if (!status && rank == 0 && !a.quiet) {
        int nranks;
        MPI_Comm_size(comm, &nranks);
        printf("ripen %s: %lld tasks (%lld here, %lld to run) on %d rank(s) -> %s\n",
               a.resume ? "resuming" : "running", (long long)j.ntasks, (long long)owned,
               (long long)remaining, nranks, j.output);
        fflush(stdout);
    }
    sched_stats stats = {0};
    if (!status) {
        sched_install_signal_handlers();
        const sched_options opt = {.quiet = a.quiet,
                                   .checkpoint_seconds = a.checkpoint_seconds,
                                   .progress_seconds = a.progress_seconds,
                                   .owned = done};
        status = sched_run(comm, &j, &jn, todo, &opt, &stats);
    }
    const int tasks_finished = !status;
    if (!status) status = finish(comm, &a, &j, &jn, done, started, report);
    if (report) {
        report->wall_seconds = MPI_Wtime() - started;
        report->tasks_run = stats.tasks_run;
    }
    if (rank == 0 && status == RIPEN_EINTERRUPTED)
        report_interrupted(&j, &a, &jn, &stats, tasks_finished);
    else if (rank == 0 && status)
        cli_error(status);
    free(done), free(todo);
    job_free(&j);
    return status;
}
