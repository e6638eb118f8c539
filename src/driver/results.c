/* Writing a result file from finished tasks, shared by `ripen run` (tasks from the journal) and
 * `ripen merge` (tasks from shard files): the sets' analyses on rank 0, shared with every rank
 * (the file's collective metadata must match), provenance, then the parallel HDF5 write. */
#define _POSIX_C_SOURCE 200809L
#include "ripen/driver/results.h"

#include "ripen/driver/codec.h"
#include "ripen/engine/error.h"
#include "ripen/driver/h5out.h"
#include "ripen/driver/sched.h"
#include "ripen/driver/task_kind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void results_free(const job *j, void **results) {
    for (int s = 0; results && s < j->nsets; ++s)
        if (results[s]) j->sets[s].kind->free_result(results[s]);
    free(results);
}

/* ---- rank 0's analyses: progress lines and stopping ---- */

static double monotonic_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct {
    const analysis_watch *watch;
    const task_set *set;
    int index, count; /* the set's place among those analysed */
    double started, set_started, last_line;
    int polled;
} monitor;

static void monitor_prefix(const monitor *m) {
    char elapsed[32];
    sched_format_duration(monotonic_seconds() - m->started, elapsed, sizeof elapsed);
    printf("[ripen analysis %s] %s %s (%d of %d)", elapsed, m->set->kind->set_noun, m->set->name,
           m->index, m->count);
}

/* The solvers' poll (fe.h): a line every progress_seconds, and a stop on a signal. */
static int monitor_poll(void *context, const fe_progress *p) {
    monitor *m = context;
    const analysis_watch *w = m->watch;
    if (!m->polled++) sched_test_hold("analysis");
    if (w->interrupted && w->interrupted()) return 1;
    const double now = monotonic_seconds();
    if (w->quiet || now - m->last_line < w->progress_seconds) return 0;
    m->last_line = now;
    monitor_prefix(m);
    printf(": %s", p->method);
    if (p->nresamples > 0) printf(", bootstrap resample %d of %d", p->resample + 1, p->nresamples);
    if (p->change >= 0)
        printf(", iteration %d, change %.2g kT\n", p->iteration, p->change);
    else
        printf(", %d done\n", p->iteration);
    fflush(stdout);
    return 0;
}

int analysis_poll(const set_analysis_options *o, const char *what, int done) {
    const fe_progress p = {.method = what, .iteration = done, .change = -1};
    if (o->poll && o->poll(o->poll_context, &p))
        return ripen_fail(RIPEN_EINTERRUPTED, "%s stopped by a signal", what);
    return RIPEN_OK;
}

/* The line at the start of a set whose analysis solves something (the kind's cost hook says
 * what); quick ones (a Kaplan-Meier curve, an FFS rate) get lines only if they take a while. */
static void announce(monitor *m, int bootstrap) {
    if (m->watch->quiet || !m->set->kind->analysis_cost) return;
    analysis_cost cost;
    memset(&cost, 0, sizeof cost);
    m->set->kind->analysis_cost(m->set, bootstrap, &cost);
    monitor_prefix(m);
    printf(": %s\n", cost.what);
    fflush(stdout);
}

/* The line at a set's end, if it took long enough for progress lines. */
static void announce_done(const monitor *m) {
    const double took = monotonic_seconds() - m->set_started;
    if (m->watch->quiet || took < m->watch->progress_seconds) return;
    char duration[32];
    sched_format_duration(took, duration, sizeof duration);
    monitor_prefix(m);
    printf(": done in %s\n", duration);
    fflush(stdout);
}

static int set_present(const task_set *set, const uint8_t *present) {
    for (int64_t id = set->first_task; id < set->first_task + set->ntasks; ++id)
        if (!present[id]) return 0;
    return 1;
}

int results_analyze(const job *j, const uint8_t *present, task_loader load, void *context,
                    int bootstrap, const analysis_watch *watch, void **results) {
    const analysis_watch quiet = {.quiet = 1};
    monitor m = {.watch = watch ? watch : &quiet, .started = monotonic_seconds()};
    for (int s = 0; s < j->nsets; ++s)
        m.count += j->sets[s].kind->analyze && set_present(&j->sets[s], present);
    const set_analysis_options o = {
        .bootstrap = bootstrap, .poll = monitor_poll, .poll_context = &m};
    int status = RIPEN_OK;
    for (int s = 0; s < j->nsets && !status; ++s) {
        const task_set *set = &j->sets[s];
        if (!set->kind->analyze || !set_present(set, present)) continue;
        m.set = set, m.index++, m.polled = 0;
        m.set_started = m.last_line = monotonic_seconds();
        if (m.watch->interrupted && m.watch->interrupted())
            return ripen_fail(RIPEN_EINTERRUPTED, "stopped by a signal before %s %s",
                              set->kind->set_noun, set->name);
        announce(&m, bootstrap);
        status = set->kind->analyze(j, set, load, context, &o, &results[s]);
        if (!status) announce_done(&m);
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
    const analysis_watch watch = {
        .quiet = o->quiet, .progress_seconds = o->progress_seconds, .interrupted = o->interrupted};
    int status =
        rank == 0 ? results_analyze(j, present, load, context, o->bootstrap, &watch, results) : 0;
    /* The other ranks wait for rank 0's analysis asleep, not spinning in the broadcast. */
    sched_wait_quietly(comm);
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
