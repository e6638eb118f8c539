#define _POSIX_C_SOURCE 200809L
#include "ripen/sched.h"

#include "ripen/error.h"
#include "ripen/task.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { TAG_REPORT = 11, TAG_ASSIGN = 12, TAG_STOP = 13 };
enum { REPORT_NONE = -1 };                       /* report.task when asking for the first task */
enum { ASSIGN_FINISHED = -1, ASSIGN_STOP = -2 }; /* assign.task when there is no task */
enum { STATUS_DONE = 0, STATUS_INTERRUPTED = 1, STATUS_FAILED = 2 };

typedef struct {
    int64_t task;      /* finished task, or REPORT_NONE */
    int64_t status;    /* STATUS_* */
    int64_t tau;       /* primary doubling time of a replica (-1 = censored or a window) */
    int64_t steps;     /* MC steps the task ran */
    double wall;       /* seconds inside the task */
    char message[480]; /* the error, if it failed */
} report_msg;

typedef struct {
    int64_t task;       /* task to run, or ASSIGN_* */
    int64_t stops_sent; /* TAG_STOP messages sent to this rank, for it to drain */
} assign_msg;

static volatile sig_atomic_t stop_signal = 0;

static void on_stop_signal(int signal_number) {
    stop_signal = signal_number;
}

void sched_install_signal_handlers(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
}

int sched_stop_signal(void) {
    return (int)stop_signal;
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void nap(void) {
    const struct timespec t = {0, 1000000}; /* 1 ms: idle ranks poll without spinning */
    nanosleep(&t, NULL);
}

static void format_duration(double seconds, char *out, size_t capacity) {
    const long s = (long)(seconds + 0.5);
    snprintf(out, capacity, "%02ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
}

/* ---- running one task on any rank ---- */

typedef struct {
    const journal *jn;
    MPI_Comm comm;
    int rank;
    int64_t stops_received; /* TAG_STOP messages taken (workers) */
    int (*service)(void *); /* rank 0: serve the other ranks between steps */
    void *service_context;
} runner;

static int runner_should_stop(void *context) {
    runner *rn = context;
    if (stop_signal) return 1;
    if (rn->service) return rn->service(rn->service_context);
    int flag = 0;
    MPI_Iprobe(0, TAG_STOP, rn->comm, &flag, MPI_STATUS_IGNORE);
    if (flag) {
        int64_t ignored;
        MPI_Recv(&ignored, 1, MPI_INT64_T, 0, TAG_STOP, rn->comm, MPI_STATUS_IGNORE);
        rn->stops_received++;
    }
    return flag;
}

static int runner_checkpoint(void *context, const task_record *r) {
    const runner *rn = context;
    return journal_write(rn->jn, r);
}

/* Runs task `id` from its checkpoint if there is one, stores the result; fills `report`. */
static void run_one(runner *rn, const job *j, int64_t id, const sched_options *opt,
                    report_msg *report) {
    *report = (report_msg){.task = id, .status = STATUS_DONE, .tau = -1};
    task_record r;
    int status = task_record_init(&r, j, id);
    journal_entry found = JOURNAL_NONE;
    if (!status) status = journal_read(rn->jn, j, id, &r, &found);
    if (!status && found != JOURNAL_DONE) {
        const task_hooks hooks = {.should_stop = runner_should_stop,
                                  .checkpoint = runner_checkpoint,
                                  .context = rn,
                                  .checkpoint_seconds = opt->checkpoint_seconds};
        const double wall_before = r.wall_seconds;
        status = task_run(j, &r, &hooks);
        report->wall = r.wall_seconds - wall_before;
        if (!status) status = journal_write(rn->jn, &r);
    }
    report->steps = (int64_t)r.step;
    if (j->tasks[id].kind == TASK_REPLICA)
        report->tau = r.tau[j->ensembles[j->tasks[id].group].criterion];
    if (status == RIPEN_EINTERRUPTED) {
        report->status = STATUS_INTERRUPTED;
    } else if (status) {
        report->status = STATUS_FAILED;
        snprintf(report->message, sizeof report->message, "task %lld: %s", (long long)id,
                 ripen_last_error());
    }
    task_record_free(&r);
}

/* ---- rank 0: the coordinator ---- */

typedef struct {
    const job *j;
    const sched_options *opt;
    MPI_Comm comm;
    int nranks;
    int64_t *queue; /* todo tasks, longest expected first */
    int64_t queued, next;
    int64_t *running;    /* per rank: its task, or -1 */
    int64_t *stops_sent; /* per rank: TAG_STOP messages sent */
    int *retired;        /* per rank: got its final assignment */
    int stopping, failed;
    char failure[480];
    int64_t todo_count, done_count;
    int *ensemble_done, *ensemble_doubled; /* this run's replicas, per ensemble */
    double started, last_progress, done_cost, busy_seconds;
} coordinator;

static const double *sort_costs; /* qsort has no context argument */

static int by_cost(const void *a, const void *b) {
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    if (sort_costs[x] != sort_costs[y]) return sort_costs[x] < sort_costs[y] ? 1 : -1;
    return (x > y) - (x < y);
}

static int coordinator_init(coordinator *c, const job *j, const uint8_t *todo,
                            const sched_options *opt, MPI_Comm comm, int nranks) {
    *c = (coordinator){.j = j, .opt = opt, .comm = comm, .nranks = nranks};
    c->queue = malloc(sizeof *c->queue * (size_t)(j->ntasks + 1));
    c->running = malloc(sizeof *c->running * (size_t)nranks);
    c->stops_sent = calloc((size_t)nranks, sizeof *c->stops_sent);
    c->retired = calloc((size_t)nranks, sizeof *c->retired);
    c->ensemble_done = calloc((size_t)j->nensembles + 1, sizeof(int));
    c->ensemble_doubled = calloc((size_t)j->nensembles + 1, sizeof(int));
    double *costs = malloc(sizeof *costs * (size_t)(j->ntasks + 1));
    if (!c->queue || !c->running || !c->stops_sent || !c->retired || !c->ensemble_done ||
        !c->ensemble_doubled || !costs) {
        free(costs);
        return ripen_fail(RIPEN_ENOMEM, "out of memory for the scheduler");
    }
    for (int64_t id = 0; id < j->ntasks; ++id) {
        costs[id] = j->tasks[id].cost;
        if (todo[id]) c->queue[c->queued++] = id;
    }
    sort_costs = costs;
    qsort(c->queue, (size_t)c->queued, sizeof *c->queue, by_cost);
    free(costs);
    for (int r = 0; r < nranks; ++r) c->running[r] = -1;
    c->todo_count = c->queued;
    c->started = c->last_progress = now_seconds();
    return RIPEN_OK;
}

static void coordinator_free(coordinator *c) {
    free(c->queue), free(c->running), free(c->stops_sent), free(c->retired);
    free(c->ensemble_done), free(c->ensemble_doubled);
}

static void print_progress(coordinator *c, int final) {
    const double now = now_seconds();
    if (c->opt->quiet || (!final && now - c->last_progress < c->opt->progress_seconds)) return;
    c->last_progress = now;
    int64_t running = 0;
    double remaining = 0;
    for (int r = 0; r < c->nranks; ++r) running += c->running[r] >= 0;
    for (int64_t k = c->next; k < c->queued; ++k) remaining += c->j->tasks[c->queue[k]].cost;
    char elapsed[32], eta[48] = "ETA --:--:--";
    format_duration(now - c->started, elapsed, sizeof elapsed);
    if (c->done_cost > 0) {
        /* Time per unit of expected work so far, applied to the work still queued: tasks that
         * stop early (doubling) are accounted for by measuring against their expected cost. */
        char left[32];
        format_duration((now - c->started) * remaining / c->done_cost, left, sizeof left);
        snprintf(eta, sizeof eta, "ETA ~%s", left);
    }
    printf("[ripen %s] tasks %lld/%lld done, %lld running", elapsed, (long long)c->done_count,
           (long long)c->todo_count, (long long)running);
    for (int e = 0; e < c->j->nensembles; ++e)
        if (c->ensemble_done[e])
            printf(" | %s %d/%d doubled", c->j->ensembles[e].name, c->ensemble_doubled[e],
                   c->ensemble_done[e]);
    printf(" | %s\n", !final ? eta : c->stopping ? "stopped" : "finished");
    fflush(stdout);
}

static void record_report(coordinator *c, int rank, const report_msg *m) {
    c->running[rank] = -1;
    if (m->task < 0) return;
    c->busy_seconds += m->wall;
    if (m->status == STATUS_FAILED && !c->failed) {
        c->failed = 1;
        snprintf(c->failure, sizeof c->failure, "%s", m->message);
    }
    if (m->status != STATUS_DONE) {
        c->stopping = 1;
        return;
    }
    const task_spec *t = &c->j->tasks[m->task];
    c->done_count++;
    c->done_cost += t->cost;
    if (t->kind == TASK_REPLICA) {
        c->ensemble_done[t->group]++;
        c->ensemble_doubled[t->group] += m->tau >= 0;
    }
    print_progress(c, 0);
}

/* Next task for a rank, or ASSIGN_*. */
static int64_t next_assignment(coordinator *c, int rank) {
    if (c->stopping) return ASSIGN_STOP;
    if (c->next >= c->queued) return ASSIGN_FINISHED;
    c->running[rank] = c->queue[c->next++];
    return c->running[rank];
}

/* Tell every rank still running a task to checkpoint and stop (once). */
static void broadcast_stop(coordinator *c) {
    for (int r = 1; r < c->nranks; ++r)
        if (c->running[r] >= 0 && c->stops_sent[r] == 0) {
            const int64_t token = 0;
            MPI_Send(&token, 1, MPI_INT64_T, r, TAG_STOP, c->comm);
            c->stops_sent[r]++;
        }
}

/* Serves every pending report without blocking; returns nonzero when stopping. */
static int coordinator_service(void *context) {
    coordinator *c = context;
    if (stop_signal && !c->stopping) c->stopping = 1;
    int flag = 1;
    while (flag) {
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_REPORT, c->comm, &flag, &st);
        if (!flag) break;
        report_msg m;
        MPI_Recv(&m, sizeof m, MPI_BYTE, st.MPI_SOURCE, TAG_REPORT, c->comm, MPI_STATUS_IGNORE);
        record_report(c, st.MPI_SOURCE, &m);
        const assign_msg a = {.task = next_assignment(c, st.MPI_SOURCE),
                              .stops_sent = c->stops_sent[st.MPI_SOURCE]};
        if (a.task < 0) c->retired[st.MPI_SOURCE] = 1;
        MPI_Send(&a, sizeof a, MPI_BYTE, st.MPI_SOURCE, TAG_ASSIGN, c->comm);
    }
    if (c->stopping) broadcast_stop(c);
    print_progress(c, 0); /* rate-limited: also when no task finishes for a while */
    return c->stopping;
}

static int all_workers_retired(const coordinator *c) {
    for (int r = 1; r < c->nranks; ++r)
        if (!c->retired[r]) return 0;
    return 1;
}

static int coordinate(MPI_Comm comm, const job *j, const journal *jn, const uint8_t *todo,
                      const sched_options *opt, int nranks, sched_stats *stats) {
    coordinator c;
    int status = coordinator_init(&c, j, todo, opt, comm, nranks);
    if (status) {
        coordinator_free(&c);
        return status;
    }
    runner rn = {
        .jn = jn, .comm = comm, .rank = 0, .service = coordinator_service, .service_context = &c};
    for (;;) {
        coordinator_service(&c);
        if (!c.stopping && c.next < c.queued) {
            const int64_t id = next_assignment(&c, 0);
            report_msg m;
            run_one(&rn, j, id, opt, &m);
            record_report(&c, 0, &m);
            continue;
        }
        if (all_workers_retired(&c)) break;
        nap();
    }
    print_progress(&c, 1);
    stats->tasks_run = c.done_count;
    stats->busy_seconds = c.busy_seconds;
    stats->interrupted = c.stopping && !c.failed;
    if (c.failed)
        status = ripen_fail(RIPEN_EIO, "%s", c.failure);
    else if (c.stopping)
        status = RIPEN_EINTERRUPTED;
    coordinator_free(&c);
    return status;
}

/* ---- other ranks: workers ---- */

static void work(MPI_Comm comm, const job *j, const journal *jn, const sched_options *opt,
                 int rank) {
    runner rn = {.jn = jn, .comm = comm, .rank = rank};
    report_msg m = {.task = REPORT_NONE};
    for (;;) {
        MPI_Send(&m, sizeof m, MPI_BYTE, 0, TAG_REPORT, comm);
        assign_msg a;
        MPI_Recv(&a, sizeof a, MPI_BYTE, 0, TAG_ASSIGN, comm, MPI_STATUS_IGNORE);
        if (a.task < 0) {
            for (; rn.stops_received < a.stops_sent; rn.stops_received++) {
                int64_t ignored;
                MPI_Recv(&ignored, 1, MPI_INT64_T, 0, TAG_STOP, comm, MPI_STATUS_IGNORE);
            }
            return;
        }
        run_one(&rn, j, a.task, opt, &m);
    }
}

int sched_run(MPI_Comm comm, const job *j, const journal *jn, const uint8_t *todo,
              const sched_options *opt, sched_stats *stats) {
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    *stats = (sched_stats){0};
    const double started = now_seconds();
    int status = RIPEN_OK;
    if (rank == 0)
        status = coordinate(comm, j, jn, todo, opt, nranks, stats);
    else
        work(comm, j, jn, opt, rank);
    stats->wall_seconds = now_seconds() - started;
    /* Everyone learns the outcome; the message stays with rank 0, which prints it. */
    MPI_Bcast(&status, 1, MPI_INT, 0, comm);
    MPI_Bcast(&stats->interrupted, 1, MPI_INT, 0, comm);
    MPI_Bcast(&stats->tasks_run, 1, MPI_INT64_T, 0, comm);
    return status;
}
