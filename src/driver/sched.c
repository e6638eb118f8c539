/* The scheduler (sched.h): rank 0 hands out tasks longest-expected first, every rank runs them
 * and reports; a staged set's next stage is queued when its current stage is done. */
#define _POSIX_C_SOURCE 200809L
#include "ripen/driver/sched.h"

#include "ripen/driver/codec.h"
#include "ripen/engine/error.h"
#include "ripen/driver/task.h"
#include "ripen/driver/task_kind.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { TAG_REPORT = 11, TAG_ASSIGN = 12, TAG_STOP = 13, TAG_PLAN = 14 };
enum { REPORT_NONE = -1 };                       /* report.task when asking for the first task */
enum { ASSIGN_FINISHED = -1, ASSIGN_STOP = -2 }; /* assign.task when there is no task */
enum { STATUS_DONE = 0, STATUS_INTERRUPTED = 1, STATUS_FAILED = 2 };

typedef struct {
    int64_t task;                         /* finished task, or REPORT_NONE */
    int64_t status;                       /* STATUS_* */
    int64_t error;                        /* the ripen status of a failure (RIPEN_ENOMEM, ...) */
    int64_t outcome;                      /* the kind's outcome (task_kind.outcome; -1 if none) */
    int64_t steps;                        /* MC steps the task ran */
    double wall;                          /* seconds inside the task */
    char message[RIPEN_MESSAGE_CAPACITY]; /* the error, if it failed */
} report_msg;

typedef struct {
    int64_t task;       /* task to run, or ASSIGN_* */
    int64_t stops_sent; /* TAG_STOP messages sent to this rank, for it to drain */
    int64_t plan_size;  /* bytes of the stage's plan that follow (TAG_PLAN), or -1: none */
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

void sched_format_duration(double seconds, char *out, size_t capacity) {
    const long s = (long)(seconds + 0.5);
    snprintf(out, capacity, "%02ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
}

void sched_wait_quietly(MPI_Comm comm) {
    MPI_Request request;
    MPI_Ibarrier(comm, &request);
    /* Naps from 1 ms up to 20 ms: a rank that waits minutes for rank 0 wakes ~50 times a second
     * (a fraction of a percent of a core), one that waits a moment is answered within a few ms. */
    long nanoseconds = 1000000;
    for (int done = 0;;) {
        MPI_Test(&request, &done, MPI_STATUS_IGNORE);
        if (done) return;
        const struct timespec t = {0, nanoseconds};
        nanosleep(&t, NULL);
        if (nanoseconds < 20000000) nanoseconds += nanoseconds / 2;
    }
}

/* RIPEN_TEST_HOLD, read once. */
static const char *test_hold_wanted(void) {
    static int looked;
    static const char *wanted;
    if (!looked) looked = 1, wanted = getenv("RIPEN_TEST_HOLD");
    return wanted;
}

void sched_test_hold(const char *point) {
    static int held; /* once per process */
    const char *wanted = test_hold_wanted();
    if (held || !wanted || strcmp(wanted, point) != 0) return;
    held = 1;
    fprintf(stderr, "ripen: test hold at %s: waiting for a signal\n", point);
    fflush(stderr);
    while (!stop_signal) nap();
}

/* ---- the journal as a loader of finished records ---- */

typedef struct {
    const journal *jn;
    const job *j;
} journal_loader;

static int load_done(void *context, int64_t id, task_record *r) {
    const journal_loader *l = context;
    journal_entry found;
    const int status = journal_read(l->jn, l->j, id, r, &found);
    if (!status && found != JOURNAL_DONE)
        return ripen_fail(RIPEN_EIO, "task %lld has no finished record in %s", (long long)id,
                          l->jn->directory);
    return status;
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

typedef struct {
    runner *rn;
    const job *j;
    int64_t id;
} checkpoint_context;

static int runner_checkpoint(void *context, const task_record *r) {
    const checkpoint_context *c = context;
    return journal_write(c->rn->jn, c->j, r);
}

static int runner_stop(void *context) {
    const checkpoint_context *c = context;
    if (test_hold_wanted()) { /* a test asks this task to wait for its signal mid-run */
        char point[64];
        snprintf(point, sizeof point, "task %lld", (long long)c->id);
        sched_test_hold(point);
    }
    return runner_should_stop(c->rn);
}

/* Runs task `id` (with its stage's plan) from its checkpoint if there is one, stores the result;
 * fills `report`. */
static void run_one(runner *rn, const job *j, int64_t id, const byte_buffer *plan,
                    const sched_options *opt, report_msg *report) {
    *report = (report_msg){.task = id, .status = STATUS_DONE, .outcome = -1};
    task_record r;
    int status = task_record_init(&r, j, id);
    journal_entry found = JOURNAL_NONE;
    if (!status) status = journal_read(rn->jn, j, id, &r, &found);
    if (!status && found != JOURNAL_DONE) {
        checkpoint_context cc = {rn, j, id};
        const task_hooks hooks = {.should_stop = runner_stop,
                                  .checkpoint = runner_checkpoint,
                                  .context = &cc,
                                  .checkpoint_seconds = opt->checkpoint_seconds};
        journal_loader loader = {rn->jn, j};
        const task_inputs inputs = {.plan = plan ? plan->data : NULL,
                                    .plan_size = plan ? plan->size : 0,
                                    .load = load_done,
                                    .load_context = &loader};
        const double wall_before = r.wall_seconds;
        status = task_run(j, &r, &hooks, &inputs);
        report->wall = r.wall_seconds - wall_before;
        if (!status) status = journal_write(rn->jn, j, &r);
    }
    report->steps = (int64_t)r.step;
    const task_set *set = job_task_set(j, id);
    if (!status && set->kind->outcome) report->outcome = set->kind->outcome(set, &r);
    if (status == RIPEN_EINTERRUPTED) {
        report->status = STATUS_INTERRUPTED;
    } else if (status) {
        report->status = STATUS_FAILED;
        report->error = status;
        snprintf(report->message, sizeof report->message, "task %lld: %s", (long long)id,
                 ripen_last_error());
    }
    task_record_free(&r);
}

/* ---- rank 0: the coordinator ---- */

typedef struct {
    const job *j;
    const journal *jn;
    const sched_options *opt;
    MPI_Comm comm;
    int nranks;
    const uint8_t *todo; /* tasks this run must finish */
    uint8_t *finished;   /* per task: done (before or in this run), or not this run's */
    int64_t *queue;      /* tasks ready to run, longest expected first from `next` */
    int64_t queued, next;
    int *stage_ready;    /* per set: its highest stage whose tasks are queued */
    byte_buffer *plans;  /* per set: the plan of that stage */
    int64_t *running;    /* per rank: its task, or -1 */
    int64_t *stops_sent; /* per rank: TAG_STOP messages sent */
    int *retired;        /* per rank: got its final assignment */
    int stopping, failed, failure_status;
    char failure[RIPEN_MESSAGE_CAPACITY];
    int64_t todo_count, done_count, done_before; /* done_before: finished before this run */
    int *set_done, *set_hits; /* this run's finished tasks and outcomes >= 0, per set */
    double started, last_progress, done_cost, remaining_cost, busy_seconds;
} coordinator;

static const double *sort_costs; /* qsort has no context argument */

static int by_cost(const void *a, const void *b) {
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    if (sort_costs[x] != sort_costs[y]) return sort_costs[x] < sort_costs[y] ? 1 : -1;
    return (x > y) - (x < y);
}

/* Sorts the part of the queue not handed out yet. */
static void sort_queue(coordinator *c) {
    double *costs = malloc(sizeof *costs * (size_t)(c->j->ntasks + 1));
    if (!costs) return; /* unsorted is only slower */
    for (int64_t id = 0; id < c->j->ntasks; ++id) costs[id] = c->j->tasks[id].cost;
    sort_costs = costs;
    qsort(c->queue + c->next, (size_t)(c->queued - c->next), sizeof *c->queue, by_cost);
    free(costs);
}

/* Every task of stages before `stage` of set `s` finished? */
static int earlier_stages_done(const coordinator *c, int s, int stage) {
    const task_set *set = &c->j->sets[s];
    for (int64_t id = set->first_task; id < set->first_task + set->ntasks; ++id)
        if (c->j->tasks[id].stage < stage && !c->finished[id]) return 0;
    return 1;
}

/* Whether stage `stage` of set `s` has tasks this run must still do. */
static int stage_has_todo(const coordinator *c, int s, int stage) {
    const task_set *set = &c->j->sets[s];
    for (int64_t id = set->first_task; id < set->first_task + set->ntasks; ++id)
        if (c->todo[id] && c->j->tasks[id].stage == stage) return 1;
    return 0;
}

/* Queues the todo tasks of `stage` of set `s`, computing its plan first if it is a later stage
 * (a pure function of the set's finished records). A stage with nothing to do (its records kept
 * while an earlier one lost a record: a resume after a record was discarded) is passed over to
 * the next one with work left, so one resume finishes the set. */
static int open_stage(coordinator *c, int s, int stage) {
    const task_set *set = &c->j->sets[s];
    while (stage + 1 < set->nstages && !stage_has_todo(c, s, stage)) ++stage;
    c->stage_ready[s] = stage;
    byte_buffer_free(&c->plans[s]);
    if (stage > 0 && stage_has_todo(c, s, stage)) {
        journal_loader loader = {c->jn, c->j};
        const int status = set->kind->plan(c->j, set, stage, load_done, &loader, &c->plans[s]);
        if (status)
            return ripen_fail_context(status, "%s %s, stage %d: ", set->kind->key, set->name,
                                      stage);
    }
    for (int64_t id = set->first_task; id < set->first_task + set->ntasks; ++id)
        if (c->todo[id] && c->j->tasks[id].stage == stage) c->queue[c->queued++] = id;
    return RIPEN_OK;
}

/* The first stage of each set with work left, if the stages before it are done. */
static int open_first_stages(coordinator *c) {
    for (int s = 0; s < c->j->nsets; ++s) {
        const task_set *set = &c->j->sets[s];
        int first = set->nstages;
        for (int64_t id = set->first_task; id < set->first_task + set->ntasks; ++id)
            if (c->todo[id] && c->j->tasks[id].stage < first) first = c->j->tasks[id].stage;
        c->stage_ready[s] = -1;
        if (first == set->nstages) continue;
        if (!earlier_stages_done(c, s, first))
            return ripen_fail(RIPEN_EINVAL,
                              "%s %s: stage %d has tasks to run but an earlier stage is not "
                              "finished in this shard",
                              set->kind->key, set->name, first);
        const int status = open_stage(c, s, first);
        if (status) return status;
    }
    return RIPEN_OK;
}

/* The tasks of this run finished before it (a resume): counted in the progress line, with their
 * outcomes (replicas doubled), so that it describes the whole run. */
static void count_finished(coordinator *c) {
    const job *j = c->j;
    for (int64_t id = 0; c->opt->owned && id < j->ntasks; ++id) {
        if (!c->opt->owned[id] || c->todo[id]) continue;
        const task_spec *t = &j->tasks[id];
        c->done_count++;
        c->set_done[t->set]++;
        const task_set *set = &j->sets[t->set];
        if (!set->kind->outcome || c->opt->quiet) continue;
        task_record r;
        journal_loader loader = {c->jn, j};
        if (!task_record_init(&r, j, id) && !load_done(&loader, id, &r))
            c->set_hits[t->set] += set->kind->outcome(set, &r) >= 0;
        task_record_free(&r);
    }
}

static int coordinator_init(coordinator *c, const job *j, const journal *jn, const uint8_t *todo,
                            const sched_options *opt, MPI_Comm comm, int nranks) {
    *c = (coordinator){.j = j, .jn = jn, .opt = opt, .comm = comm, .nranks = nranks, .todo = todo};
    c->queue = malloc(sizeof *c->queue * (size_t)(j->ntasks + 1));
    c->finished = malloc((size_t)j->ntasks + 1);
    c->stage_ready = calloc((size_t)j->nsets + 1, sizeof *c->stage_ready);
    c->plans = calloc((size_t)j->nsets + 1, sizeof *c->plans);
    c->running = malloc(sizeof *c->running * (size_t)nranks);
    c->stops_sent = calloc((size_t)nranks, sizeof *c->stops_sent);
    c->retired = calloc((size_t)nranks, sizeof *c->retired);
    c->set_done = calloc((size_t)j->nsets + 1, sizeof(int));
    c->set_hits = calloc((size_t)j->nsets + 1, sizeof(int));
    if (!c->queue || !c->finished || !c->stage_ready || !c->plans || !c->running ||
        !c->stops_sent || !c->retired || !c->set_done || !c->set_hits)
        return ripen_fail(RIPEN_ENOMEM, "out of memory for the scheduler");
    for (int64_t id = 0; id < j->ntasks; ++id) {
        c->finished[id] = !todo[id];
        if (todo[id]) c->remaining_cost += j->tasks[id].cost;
        if (todo[id] || (opt->owned && opt->owned[id])) c->todo_count++;
    }
    count_finished(c);
    c->done_before = c->done_count;
    for (int r = 0; r < nranks; ++r) c->running[r] = -1;
    c->started = c->last_progress = now_seconds();
    const int status = open_first_stages(c);
    sort_queue(c);
    return status;
}

static void coordinator_free(coordinator *c) {
    for (int s = 0; c->plans && s < c->j->nsets; ++s) byte_buffer_free(&c->plans[s]);
    free(c->queue), free(c->finished), free(c->stage_ready), free(c->plans), free(c->running);
    free(c->stops_sent), free(c->retired), free(c->set_done), free(c->set_hits);
}

static void print_progress(coordinator *c, int final) {
    const double now = now_seconds();
    if (c->opt->quiet || (!final && now - c->last_progress < c->opt->progress_seconds)) return;
    c->last_progress = now;
    int64_t running = 0;
    for (int r = 0; r < c->nranks; ++r) running += c->running[r] >= 0;
    char elapsed[32], eta[48] = "ETA --:--:--";
    sched_format_duration(now - c->started, elapsed, sizeof elapsed);
    if (c->done_cost > 0) {
        /* Time per unit of expected work so far, applied to the work not started yet: tasks
         * that stop early (doubling) are accounted for by measuring against their expected
         * cost. */
        char left[32];
        sched_format_duration((now - c->started) * c->remaining_cost / c->done_cost, left,
                              sizeof left);
        snprintf(eta, sizeof eta, "ETA ~%s", left);
    }
    printf("[ripen %s] tasks %lld/%lld done, %lld running", elapsed, (long long)c->done_count,
           (long long)c->todo_count, (long long)running);
    for (int s = 0; s < c->j->nsets; ++s) {
        const task_set *set = &c->j->sets[s];
        if (c->set_done[s] && set->kind->outcome_word)
            printf(" | %s %d/%d %s", set->name, c->set_hits[s], c->set_done[s],
                   set->kind->outcome_word);
    }
    printf(" | %s\n", !final ? eta : c->stopping ? "stopped" : "finished");
    fflush(stdout);
}

static void fail(coordinator *c, int status, const char *message) {
    c->stopping = 1;
    if (c->failed) return;
    c->failed = 1;
    c->failure_status = status;
    snprintf(c->failure, sizeof c->failure, "%s", message);
}

/* A finished task may complete its stage: then the next stage of its set opens. */
static void advance_stage(coordinator *c, int64_t id) {
    const task_spec *t = &c->j->tasks[id];
    const task_set *set = &c->j->sets[t->set];
    const int next = t->stage + 1;
    if (next >= set->nstages || c->stage_ready[t->set] >= next) return;
    if (!earlier_stages_done(c, t->set, next)) return;
    const int status = open_stage(c, t->set, next);
    if (status) {
        fail(c, status, ripen_last_error());
        return;
    }
    sort_queue(c);
}

static void record_report(coordinator *c, int rank, const report_msg *m) {
    c->running[rank] = -1;
    if (m->task < 0) return;
    c->busy_seconds += m->wall;
    if (m->status == STATUS_FAILED) fail(c, (int)m->error, m->message);
    if (m->status != STATUS_DONE) {
        c->stopping = 1;
        return;
    }
    const task_spec *t = &c->j->tasks[m->task];
    c->finished[m->task] = 1;
    c->done_count++;
    c->done_cost += t->cost;
    c->set_done[t->set]++;
    c->set_hits[t->set] += m->outcome >= 0;
    advance_stage(c, m->task);
    print_progress(c, 0);
}

/* Next task for a rank, or ASSIGN_*. */
static int64_t next_assignment(coordinator *c, int rank) {
    if (c->stopping) return ASSIGN_STOP;
    if (c->next >= c->queued) return ASSIGN_FINISHED;
    const int64_t id = c->queue[c->next++];
    c->running[rank] = id;
    c->remaining_cost -= c->j->tasks[id].cost;
    return id;
}

/* Nothing queued, but a stage may still open when a running task finishes. */
static int waiting_for_stage(const coordinator *c) {
    if (c->stopping) return 0;
    for (int r = 0; r < c->nranks; ++r)
        if (c->running[r] >= 0) return 1;
    return 0;
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

/* Assigns the next task to worker `rank` (or tells it to finish), with the task's plan. Returns
 * 0 if the worker must wait: nothing is queued yet, but a running stage may open more. */
static int assign(coordinator *c, int rank) {
    if (!c->stopping && c->next >= c->queued && waiting_for_stage(c)) return 0;
    const int64_t task = next_assignment(c, rank);
    const byte_buffer *plan =
        task >= 0 && c->j->tasks[task].stage > 0 ? &c->plans[c->j->tasks[task].set] : NULL;
    const assign_msg a = {.task = task,
                          .stops_sent = c->stops_sent[rank],
                          .plan_size = plan ? (int64_t)plan->size : -1};
    if (task < 0) c->retired[rank] = 1;
    MPI_Send(&a, sizeof a, MPI_BYTE, rank, TAG_ASSIGN, c->comm);
    if (plan) MPI_Send(plan->data, (int)plan->size, MPI_BYTE, rank, TAG_PLAN, c->comm);
    return 1;
}

/* Serves every pending report without blocking, and workers waiting for a stage to open;
 * returns nonzero when stopping. */
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
        c->running[st.MPI_SOURCE] = -2; /* waiting for an assignment */
    }
    for (int r = 1; r < c->nranks; ++r)
        if (c->running[r] == -2 && assign(c, r) == 0) break;
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
    int status = coordinator_init(&c, j, jn, todo, opt, comm, nranks);
    if (status) fail(&c, status, ripen_last_error());
    runner rn = {
        .jn = jn, .comm = comm, .rank = 0, .service = coordinator_service, .service_context = &c};
    for (;;) {
        coordinator_service(&c);
        if (!c.stopping && c.next < c.queued) {
            const int64_t id = next_assignment(&c, 0);
            report_msg m;
            const byte_buffer *plan = j->tasks[id].stage > 0 ? &c.plans[j->tasks[id].set] : NULL;
            run_one(&rn, j, id, plan, opt, &m);
            record_report(&c, 0, &m);
            continue;
        }
        if (all_workers_retired(&c) && !waiting_for_stage(&c)) break;
        nap();
    }
    print_progress(&c, 1);
    stats->tasks_run = c.done_count - c.done_before;
    stats->busy_seconds = c.busy_seconds;
    stats->interrupted = c.stopping && !c.failed;
    if (c.failed)
        status = ripen_fail(c.failure_status ? c.failure_status : RIPEN_EIO, "%s", c.failure);
    else if (c.stopping)
        status = RIPEN_EINTERRUPTED;
    else
        status = RIPEN_OK;
    coordinator_free(&c);
    return status;
}

/* ---- other ranks: workers ---- */

static void work(MPI_Comm comm, const job *j, const journal *jn, const sched_options *opt,
                 int rank) {
    runner rn = {.jn = jn, .comm = comm, .rank = rank};
    report_msg m = {.task = REPORT_NONE};
    byte_buffer plan = {0};
    for (;;) {
        MPI_Send(&m, sizeof m, MPI_BYTE, 0, TAG_REPORT, comm);
        /* The answer may wait for a stage to open: sleep between looks rather than spin in a
         * blocking receive, which would take a core from the ranks still working. */
        for (int ready = 0; !ready; nap())
            MPI_Iprobe(0, TAG_ASSIGN, comm, &ready, MPI_STATUS_IGNORE);
        assign_msg a;
        MPI_Recv(&a, sizeof a, MPI_BYTE, 0, TAG_ASSIGN, comm, MPI_STATUS_IGNORE);
        if (a.task < 0) {
            for (; rn.stops_received < a.stops_sent; rn.stops_received++) {
                int64_t ignored;
                MPI_Recv(&ignored, 1, MPI_INT64_T, 0, TAG_STOP, comm, MPI_STATUS_IGNORE);
            }
            byte_buffer_free(&plan);
            return;
        }
        plan.size = 0;
        if (a.plan_size >= 0) {
            uint8_t *room = realloc(plan.data, (size_t)a.plan_size + 1);
            if (!room) MPI_Abort(comm, 3); /* rank 0 is about to send into it */
            plan.data = room, plan.capacity = (size_t)a.plan_size + 1;
            plan.size = (size_t)a.plan_size;
            MPI_Recv(plan.data, (int)a.plan_size, MPI_BYTE, 0, TAG_PLAN, comm, MPI_STATUS_IGNORE);
        }
        run_one(&rn, j, a.task, a.plan_size >= 0 ? &plan : NULL, opt, &m);
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
    /* Workers done early wait for rank 0's last task asleep, not spinning in the broadcast. */
    sched_wait_quietly(comm);
    /* Everyone learns the outcome; the message stays with rank 0, which prints it. */
    MPI_Bcast(&status, 1, MPI_INT, 0, comm);
    MPI_Bcast(&stats->interrupted, 1, MPI_INT, 0, comm);
    MPI_Bcast(&stats->tasks_run, 1, MPI_INT64_T, 0, comm);
    return status;
}
