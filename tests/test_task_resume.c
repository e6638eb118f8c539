/* A task stopped at any step and continued from its journal record gives the same results, bit
 * for bit, as one run straight through: here the windows of a tilted window set, stopped inside
 * and at the edges of the tuning rounds (where the window's own mu_core and the tuning bracket
 * must survive the journal), after the tuning and in the sampling; with random-sequential and
 * rejection-free dynamics (whose cached rates are rebuilt at every change of mu_core), and
 * rejection-free with a finite solution (its content is in the record, and must be what the
 * checkpoint's lattice leaves in the solution: the resume checks it). */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "ripen/engine/error.h"
#include "ripen/driver/journal.h"
#include "ripen/driver/task.h"
#include "ripen/driver/kinds/windows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const journal *jn;
    const job *j;
    uint64_t calls, stop_after;
} stopper;

static int should_stop(void *context) {
    stopper *s = context;
    return ++s->calls >= s->stop_after;
}

static int checkpoint(void *context, const task_record *r) {
    const stopper *s = context;
    return journal_write(s->jn, s->j, r);
}

static int same_window(const task_record *ra, const task_record *rb) {
    const window_result *a = window_result_of(ra), *b = window_result_of(rb);
    return a->nq == b->nq && a->mu_core == b->mu_core && ra->step == rb->step &&
           memcmp(a->q, b->q, sizeof *a->q * (size_t)a->nq) == 0 &&
           memcmp(a->q_energy, b->q_energy, sizeof *a->q_energy * (size_t)a->nq) == 0;
}

static void check_stop_at(const job *j, const journal *jn, int64_t id, const task_record *full,
                          uint64_t stop_after) {
    task_record part;
    REQUIRE(task_record_init(&part, j, id) == RIPEN_OK, "%s", ripen_last_error());
    stopper s = {.jn = jn, .j = j, .stop_after = stop_after};
    const task_hooks hooks = {.should_stop = should_stop,
                              .checkpoint = checkpoint,
                              .context = &s,
                              .checkpoint_seconds = 1e9};
    const int status = task_run(j, &part, &hooks, NULL);
    CHECK(status == RIPEN_EINTERRUPTED, "task %lld stopped after %llu steps: status %d (%s)",
          (long long)id, (unsigned long long)stop_after, status, ripen_last_error());
    task_record_free(&part);
    task_record resumed;
    REQUIRE(task_record_init(&resumed, j, id) == RIPEN_OK, "%s", ripen_last_error());
    journal_entry found = JOURNAL_NONE;
    REQUIRE(journal_read(jn, j, id, &resumed, &found) == RIPEN_OK, "%s", ripen_last_error());
    CHECK(found == JOURNAL_CHECKPOINT && resumed.step == stop_after,
          "task %lld: journal holds %d at step %llu, want a checkpoint at %llu", (long long)id,
          (int)found, (unsigned long long)resumed.step, (unsigned long long)stop_after);
    const int finite = job_task_set(j, id)->system.reservoir.given;
    CHECK(finite == (resumed.reservoir_core >= 0),
          "task %lld: the checkpoint holds a solution content of %lld", (long long)id,
          (long long)resumed.reservoir_core);
    CHECK(task_run(j, &resumed, NULL, NULL) == RIPEN_OK, "%s", ripen_last_error());
    CHECK(same_window(full, &resumed),
          "task %lld stopped after %llu steps and resumed differs (mu_core %.17g vs %.17g, "
          "%lld vs %lld samples)",
          (long long)id, (unsigned long long)stop_after, window_result_of(full)->mu_core,
          window_result_of(&resumed)->mu_core, (long long)window_result_of(full)->nq,
          (long long)window_result_of(&resumed)->nq);
    task_record_free(&resumed);
}

int main(void) {
    char directory[] = "/tmp/ripen-task-resume-XXXXXX";
    REQUIRE(mkdtemp(directory) != NULL, "cannot make a temporary directory");
    char text[4096];
    /* Equilibration 90 = 9 rounds of 10; windows that start off balance (mu_core -7). */
    snprintf(text, sizeof text,
             "{\"seed\": 21, \"lattice\": {\"lx\": 24, \"ly\": 24, \"lz\": 4}, \"output\": "
             "\"%s/t.h5\", \"windows\": ["
             "{\"name\": \"rs\", \"shell_thickness\": 0, \"q_min\": -2, \"q_max\": 4, \"width\": "
             "3, \"overlap\": 1, \"layer_sites\": 2, \"equilibration_steps\": 90, "
             "\"sampling_steps\": 60, \"tilt\": true, \"dynamics\": \"random-sequential\", "
             "\"model\": {\"eps_core\": 1.0, \"mu_core\": -7.0, \"mu_shell\": -50.0}},"
             "{\"name\": \"rf\", \"shell_thickness\": 0, \"q_min\": -2, \"q_max\": 4, \"width\": "
             "3, \"overlap\": 1, \"layer_sites\": 2, \"equilibration_steps\": 90, "
             "\"sampling_steps\": 60, \"tilt\": true, \"dynamics\": \"rejection-free\", "
             "\"model\": {\"eps_core\": 1.0, \"mu_core\": -7.0, \"mu_shell\": -50.0}},"
             "{\"name\": \"finite\", \"shell_thickness\": 0, \"q_min\": -2, \"q_max\": 4, "
             "\"width\": 3, \"overlap\": 1, \"layer_sites\": 2, \"equilibration_steps\": 90, "
             "\"sampling_steps\": 60, \"tilt\": true, \"dynamics\": \"rejection-free\", "
             "\"reservoir\": {\"core_units\": 5}, "
             "\"model\": {\"eps_core\": 1.0, \"mu_core\": -7.0, \"mu_shell\": -50.0}}]}",
             directory);
    job j;
    REQUIRE(job_parse(&j, text, "test_task_resume") == RIPEN_OK, "%s", ripen_last_error());
    journal jn;
    REQUIRE(journal_create(&jn, &j) == RIPEN_OK, "%s", ripen_last_error());
    const uint64_t stops[] = {1, 9, 10, 11, 45, 79, 80, 81, 90, 91, 120};
    int tuned = 0;
    for (int64_t id = 0; id < j.ntasks; ++id) {
        task_record full;
        REQUIRE(task_record_init(&full, &j, id) == RIPEN_OK, "%s", ripen_last_error());
        REQUIRE(task_run(&j, &full, NULL, NULL) == RIPEN_OK, "%s", ripen_last_error());
        tuned += window_result_of(&full)->mu_core != -7.0;
        for (size_t k = 0; k < sizeof stops / sizeof *stops; ++k)
            check_stop_at(&j, &jn, id, &full, stops[k]);
        task_record_free(&full);
    }
    /* Without tuning the test would not exercise the tilt's state. */
    CHECK(tuned == j.ntasks, "only %d of %lld windows changed their mu_core", tuned,
          (long long)j.ntasks);
    journal_remove(&jn, &j);
    rmdir(directory);
    job_free(&j);
    return check_exit("test_task_resume");
}
