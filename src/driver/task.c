/* Running a task: the generic part. The kind (task_kind.h) says what the task does; here is what
 * every task shares: its record, the simulation it runs, checkpoints and stopping. */
#define _POSIX_C_SOURCE 200809L
#include "ripen/driver/task.h"

#include "ripen/engine/error.h"
#include "ripen/engine/initial.h"
#include "ripen/driver/task_kind.h"
#include "task_runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double monotonic_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int task_record_init(task_record *r, const job *j, int64_t id) {
    *r = (task_record){.id = id, .reservoir_core = -1, .reservoir_shell = -1};
    if (id < 0 || id >= j->ntasks)
        return ripen_fail(RIPEN_EINVAL, "task %lld: the job has tasks 0 to %lld", (long long)id,
                          (long long)j->ntasks - 1);
    const task_set *set = job_task_set(j, id);
    r->kind = set->kind;
    r->nsites = (int64_t)set->system.lx * set->system.ly * set->system.lz;
    const int status = set->kind->record_init(set, j->tasks[id].member, r);
    if (status) {
        task_record_free(r);
        return ripen_fail(status, "out of memory for task %lld", (long long)id);
    }
    return RIPEN_OK;
}

void task_record_free(task_record *r) {
    if (r->kind && r->data) r->kind->record_free(r);
    free(r->states);
    const int64_t id = r->id;
    *r = (task_record){.id = id, .reservoir_core = -1, .reservoir_shell = -1};
}

/* ---- the simulation ---- */

void task_sim_close(task_sim *s) {
    dynamics_close(&s->dyn);
    replica_free(&s->rep);
    lattice_free(&s->lat);
    free(s->scratch);
    *s = (task_sim){0};
}

int task_sim_open(task_sim *s, const system_spec *sys, uint64_t seed, uint32_t stream) {
    *s = (task_sim){.system = sys, .dynamics_kind = sys->dynamics};
    int status = lattice_init(&s->lat, sys->lx, sys->ly, sys->lz);
    if (!status) status = model_tables_build(&s->tab, &sys->model, &s->lat);
    if (!status) model_tables_use_reservoir(&s->tab, &sys->reservoir.resolved);
    if (!status) status = replica_init(&s->rep, &s->lat, &s->tab, seed, stream);
    if (!status) status = dynamics_open(&s->dyn, sys->dynamics, &s->lat, &s->tab);
    s->threads = sys->threads;
    if (!status) status = dynamics_set_threads(&s->dyn, s->threads);
    if (!status && !(s->scratch = malloc(sizeof *s->scratch * 2 * (size_t)s->lat.nsites)))
        status = ripen_fail(RIPEN_ENOMEM, "out of memory for a replica");
    if (status) task_sim_close(s);
    return status;
}

/* A finite solution's content in the record (total - N_lattice), -1 for a component it lacks. */
static void content_of(const task_sim *s, int64_t *core, int64_t *shell) {
    const reservoir *res = &s->tab.reservoir;
    *core = reservoir_component_on(&res->core) ? reservoir_content(&res->core, s->rep.counts.ncore)
                                               : -1;
    *shell = reservoir_component_on(&res->shell)
                 ? reservoir_content(&res->shell, s->rep.counts.nshell)
                 : -1;
}

void task_sim_note_content(const task_sim *s, task_record *r) {
    content_of(s, &r->reservoir_core, &r->reservoir_shell);
}

/* A resumed record's content must be what its lattice implies (a damaged or foreign checkpoint
 * otherwise); a record that does not know it (-1) passes. Negative contents are never valid. */
static int check_content(const task_sim *s, const task_record *r) {
    int64_t core, shell;
    content_of(s, &core, &shell);
    if ((r->reservoir_core >= 0 && r->reservoir_core != core) ||
        (r->reservoir_shell >= 0 && r->reservoir_shell != shell))
        return ripen_fail(RIPEN_EIO,
                          "task %lld: its record holds %lld core and %lld shell units in the "
                          "solution, its lattice leaves %lld and %lld",
                          (long long)r->id, (long long)r->reservoir_core,
                          (long long)r->reservoir_shell, (long long)core, (long long)shell);
    const reservoir *res = &s->tab.reservoir;
    if ((reservoir_component_on(&res->core) && core < 0) ||
        (reservoir_component_on(&res->shell) && shell < 0))
        return ripen_fail(RIPEN_EIO, "task %lld: its lattice holds more units than the job has",
                          (long long)r->id);
    return RIPEN_OK;
}

int task_sim_start(task_sim *s, const system_spec *sys, task_record *r, int *fresh) {
    *fresh = r->states == NULL;
    if (!r->states && !(r->states = malloc((size_t)r->nsites)))
        return ripen_fail(RIPEN_ENOMEM, "out of memory for task %lld", (long long)r->id);
    if (*fresh) {
        initial_report report;
        const int status = initial_build(r->states, &s->lat, sys->core_sites, sys->shell_thickness,
                                         &sys->layout, &report);
        if (status) return status;
        r->core_initial = report.core_sites;
        r->shell_initial = report.shell_sites;
    }
    int status = task_sim_load(s, r->states, r->step);
    if (!status && !*fresh) status = check_content(s, r);
    task_sim_note_content(s, r);
    return status;
}

int task_sim_load(task_sim *s, const uint8_t *states, uint64_t step) {
    int status = replica_load_states(&s->rep, states);
    s->rep.step = step;
    const shell_band_spec *band = &s->system->shell_band;
    if (!status) status = replica_set_shell_band(&s->rep, band->shell_min, band->shell_max);
    return status;
}

int task_sim_use_model(task_sim *s, const model_params *p) {
    dynamics_close(&s->dyn);
    int status = model_tables_build(&s->tab, p, &s->lat);
    if (!status) model_tables_use_reservoir(&s->tab, &s->system->reservoir.resolved);
    if (!status) status = dynamics_open(&s->dyn, s->dynamics_kind, &s->lat, &s->tab);
    if (!status) status = dynamics_set_threads(&s->dyn, s->threads);
    return status;
}

/* ---- checkpoints and stopping ---- */

static int save(task_runtime *rt, task_sim *s, task_record *r) {
    replica_store_states(&s->rep, r->states);
    r->step = s->rep.step;
    task_sim_note_content(s, r);
    const double now = monotonic_seconds();
    r->wall_seconds = rt->wall_before + (now - rt->started);
    rt->last_checkpoint = now;
    const task_hooks *h = rt->hooks;
    return h && h->checkpoint ? h->checkpoint(h->context, r) : RIPEN_OK;
}

int task_between_steps(task_runtime *rt, task_sim *s, task_record *r) {
    task_sim_note_content(s, r);
    const task_hooks *h = rt->hooks;
    if (!h) return RIPEN_OK;
    if (h->should_stop && h->should_stop(h->context)) {
        const int status = save(rt, s, r);
        return status ? status : RIPEN_EINTERRUPTED;
    }
    if (h->checkpoint && monotonic_seconds() - rt->last_checkpoint >= h->checkpoint_seconds)
        return save(rt, s, r);
    return RIPEN_OK;
}

int task_run(const job *j, task_record *r, const task_hooks *hooks, const task_inputs *inputs) {
    const task_set *set = job_task_set(j, r->id);
    const double now = monotonic_seconds();
    task_runtime rt = {.hooks = hooks,
                       .inputs = inputs,
                       .started = now,
                       .last_checkpoint = now,
                       .wall_before = r->wall_seconds};
    const int status = set->kind->run(j, set, j->tasks[r->id].member, r, &rt);
    if (!status) {
        r->complete = 1;
        r->wall_seconds = rt.wall_before + (monotonic_seconds() - rt.started);
    }
    return status;
}
