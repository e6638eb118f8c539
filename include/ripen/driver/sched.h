/* The scheduler: rank 0 hands out tasks dynamically, longest expected first; every rank
 * (rank 0 included) runs tasks, checkpoints them into the journal and reports back. Works with one
 * rank and with more ranks than tasks. SIGTERM/SIGINT make every rank checkpoint its task and stop
 * cleanly; --resume continues from the journal.
 */
#ifndef RIPEN_SCHED_H
#define RIPEN_SCHED_H

#include <mpi.h>
#include <stdint.h>

#include "ripen/driver/job.h"
#include "ripen/driver/journal.h"

typedef struct {
    const uint8_t *owned;      /* tasks of this run or shard, finished or not (progress counts
                                  them all; NULL: the todo mask) */
    int quiet;                 /* no progress lines */
    double checkpoint_seconds; /* wall time between checkpoints of a running task */
    double progress_seconds;   /* wall time between progress lines */
} sched_options;

typedef struct {
    int64_t tasks_run;   /* tasks completed in this run (all ranks) */
    int interrupted;     /* stopped by a signal: resume later */
    double wall_seconds; /* time in the scheduler */
    double busy_seconds; /* time spent inside tasks, summed over ranks */
} sched_stats;

/* Installs the SIGTERM/SIGINT handlers that request a clean stop. */
void sched_install_signal_handlers(void);
/* Nonzero once a stop signal arrived (the signal number). */
int sched_stop_signal(void);

/* A barrier that sleeps: ranks that wait for rank 0 (its last task, its analysis of the sets)
 * nap between looks instead of spinning in a blocking MPI call at 100% of a core. Collective. */
void sched_wait_quietly(MPI_Comm comm);

/* "hh:mm:ss", as the progress lines print elapsed times. */
void sched_format_duration(double seconds, char *out, size_t capacity);

/* Test hook (docs/design.md, "Test hooks"): when the environment holds RIPEN_TEST_HOLD=POINT and
 * this process reaches POINT ("analysis": rank 0's first solver iteration of the sets' analysis;
 * "task N": task N after its first step), it says so on stderr ("ripen: test hold at POINT") and
 * waits there until a stop signal arrives, once per process. A test then sends SIGTERM exactly
 * there instead of guessing a moment; without the variable nothing happens. */
void sched_test_hold(const char *point);

/* Runs every task with todo[id] = 1 (the same mask on every rank). Collective over `comm`;
 * returns the same status on every rank: RIPEN_OK, RIPEN_EINTERRUPTED or an error (the message
 * is printed once, by rank 0). */
int sched_run(MPI_Comm comm, const job *j, const journal *jn, const uint8_t *todo,
              const sched_options *opt, sched_stats *stats);

#endif
