#define _POSIX_C_SOURCE 200809L
#include "ripen/task.h"

#include "ripen/error.h"
#include "ripen/initial.h"
#include "ripen/order_parameter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double monotonic_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static const system_spec *task_system(const job *j, const task_spec *t) {
    return t->kind == TASK_REPLICA ? &j->ensembles[t->group].system
                                   : &j->window_sets[t->group].system;
}

int task_record_init(task_record *r, const job *j, int64_t id) {
    *r = (task_record){.id = id};
    if (id < 0 || id >= j->ntasks)
        return ripen_fail(RIPEN_EINVAL, "task %lld: the job has tasks 0 to %lld", (long long)id,
                          (long long)j->ntasks - 1);
    const task_spec *t = &j->tasks[id];
    const system_spec *s = task_system(j, t);
    r->kind = t->kind;
    r->nsites = (int64_t)s->lx * s->ly * s->lz;
    for (int c = 0; c < DOUBLING_CRITERIA; ++c) r->tau[c] = -1;
    int ok = 1;
    if (t->kind == TASK_REPLICA) {
        const ensemble_spec *e = &j->ensembles[t->group];
        const size_t n = (size_t)ensemble_series_length(e);
        ok =
            (r->n_core = calloc(n, sizeof(int32_t))) && (r->n_shell = calloc(n, sizeof(int32_t))) &&
            (r->a_core = calloc(n, sizeof(int32_t))) && (r->a_shell = calloc(n, sizeof(int32_t))) &&
            (r->cluster = calloc(n, sizeof(int32_t))) && (r->energy = calloc(n, sizeof(double)));
        if (ok && t->member < e->snapshot_replicas && e->snapshot_interval)
            ok = (r->snapshots = calloc((size_t)ensemble_snapshot_count(e), (size_t)r->nsites)) !=
                 NULL;
    } else {
        const window_set_spec *w = &j->window_sets[t->group];
        window_bounds(w, t->member, &r->lo, &r->hi);
        r->mu_core = w->system.model.mu_core;
        r->tilt = q_tilt_start();
        const size_t n = (size_t)window_sample_count(w);
        ok = (r->q = calloc(n, sizeof(int32_t))) && (r->q_energy = calloc(n, sizeof(double)));
    }
    if (!ok) {
        task_record_free(r);
        return ripen_fail(RIPEN_ENOMEM, "out of memory for task %lld", (long long)id);
    }
    return RIPEN_OK;
}

void task_record_free(task_record *r) {
    free(r->n_core), free(r->n_shell), free(r->a_core), free(r->a_shell), free(r->cluster);
    free(r->energy), free(r->snapshots), free(r->q), free(r->q_energy), free(r->states);
    const int64_t id = r->id;
    *r = (task_record){.id = id};
}

/* Everything one replica needs, built per task (milliseconds, against minutes of work). */
typedef struct {
    lattice lat;
    model_tables tab;
    replica rep;
    dynamics dyn;
    int32_t *scratch;    /* cluster search */
    uint64_t sampled_at; /* rep.changes at the last sample */
} simulation;

static void simulation_close(simulation *s) {
    dynamics_close(&s->dyn);
    replica_free(&s->rep);
    lattice_free(&s->lat);
    free(s->scratch);
}

static int simulation_open(simulation *s, const job *j, const task_record *r) {
    *s = (simulation){0};
    const system_spec *sys = task_system(j, &j->tasks[r->id]);
    int status = lattice_init(&s->lat, sys->lx, sys->ly, sys->lz);
    if (!status) status = model_tables_build(&s->tab, &sys->model, &s->lat);
    if (!status) status = replica_init(&s->rep, &s->lat, &s->tab, j->seed, (uint32_t)r->id);
    if (!status) status = dynamics_open(&s->dyn, sys->dynamics, &s->lat, &s->tab);
    if (!status && !(s->scratch = malloc(sizeof *s->scratch * 2 * (size_t)s->lat.nsites)))
        status = ripen_fail(RIPEN_ENOMEM, "out of memory for task %lld", (long long)r->id);
    if (status) simulation_close(s);
    return status;
}

/* The prism at step 0, or the checkpointed lattice. */
static int simulation_start(simulation *s, const job *j, task_record *r) {
    const system_spec *sys = task_system(j, &j->tasks[r->id]);
    if (!r->states && !(r->states = malloc((size_t)r->nsites)))
        return ripen_fail(RIPEN_ENOMEM, "out of memory for task %lld", (long long)r->id);
    if (r->step == 0 && r->nsamples == 0 && r->nq == 0) {
        initial_report report;
        int status =
            initial_prism(r->states, &s->lat, sys->core_sites, sys->shell_thickness, &report);
        if (status) return status;
        r->core_initial = report.core_sites;
        r->shell_initial = report.shell_sites;
    }
    int status = replica_load_states(&s->rep, r->states);
    s->rep.step = r->step;
    return status;
}

/* Bookkeeping for the hooks: checkpoint timer. */
typedef struct {
    const task_hooks *hooks;
    double started, last_checkpoint, wall_before;
} hook_clock;

static hook_clock hook_clock_start(const task_hooks *hooks, const task_record *r) {
    const double now = monotonic_seconds();
    return (hook_clock){
        .hooks = hooks, .started = now, .last_checkpoint = now, .wall_before = r->wall_seconds};
}

static int save(hook_clock *c, simulation *s, task_record *r) {
    replica_store_states(&s->rep, r->states);
    r->step = s->rep.step;
    const double now = monotonic_seconds();
    r->wall_seconds = c->wall_before + (now - c->started);
    c->last_checkpoint = now;
    return c->hooks && c->hooks->checkpoint ? c->hooks->checkpoint(c->hooks->context, r) : RIPEN_OK;
}

/* Between steps: RIPEN_EINTERRUPTED after checkpointing if asked to stop; checkpoints when due. */
static int between_steps(hook_clock *c, simulation *s, task_record *r) {
    if (!c->hooks) return RIPEN_OK;
    if (c->hooks->should_stop && c->hooks->should_stop(c->hooks->context)) {
        const int status = save(c, s, r);
        return status ? status : RIPEN_EINTERRUPTED;
    }
    if (c->hooks->checkpoint &&
        monotonic_seconds() - c->last_checkpoint >= c->hooks->checkpoint_seconds)
        return save(c, s, r);
    return RIPEN_OK;
}

static void take_sample(task_record *r, simulation *s) {
    /* The cluster search is O(N); a rejection-free step often changes nothing, so reuse the
     * last sample's cluster when the lattice has not changed since. */
    const int same = r->nsamples > 0 && s->rep.changes == s->sampled_at;
    const observation o = same ? observe_without_cluster(&s->rep) : observe(&s->rep, s->scratch);
    s->sampled_at = s->rep.changes;
    const int64_t k = r->nsamples++;
    r->n_core[k] = (int32_t)o.ncore, r->n_shell[k] = (int32_t)o.nshell;
    r->a_core[k] = o.area_core, r->a_shell[k] = o.area_shell;
    r->cluster[k] = same ? r->cluster[k - 1] : (int32_t)o.largest_cluster;
    r->energy[k] = o.energy;
}

static void take_snapshot(task_record *r, const simulation *s) {
    replica_store_states(&s->rep, r->snapshots + r->nsnapshots * r->nsites);
    r->nsnapshots++;
}

static int run_replica(const job *j, task_record *r, simulation *s, hook_clock *clock) {
    const ensemble_spec *e = &j->ensembles[j->tasks[r->id].group];
    const int keep_snapshots = r->snapshots != NULL;
    doubling_tracker tracker;
    int status = doubling_init(&tracker, &s->rep);
    if (status) return status;
    if (s->rep.step == 0 && r->nsamples == 0) {
        memcpy(r->initial, tracker.initial, sizeof r->initial);
        take_sample(r, s);
        if (keep_snapshots) take_snapshot(r, s);
    } else {
        memcpy(tracker.initial, r->initial, sizeof r->initial);
        memcpy(tracker.tau, r->tau, sizeof r->tau);
    }
    while (!status && s->rep.step < e->max_steps &&
           !(e->stop_at_doubling && doubling_done(&tracker, e->criterion))) {
        dynamics_run(&s->dyn, &s->rep, 1);
        doubling_update(&tracker, &s->rep);
        memcpy(r->tau, tracker.tau, sizeof r->tau);
        if (s->rep.step % e->sample_interval == 0) take_sample(r, s);
        if (keep_snapshots && s->rep.step % e->snapshot_interval == 0) take_snapshot(r, s);
        status = between_steps(clock, s, r);
    }
    doubling_free(&tracker);
    return status;
}

/* Rebuilds the tables and the dynamics (whose workspace may cache rates) at the window's own
 * mu_core. */
static int use_window_mu(simulation *s, const window_set_spec *w, double mu_core) {
    model_params p = w->system.model;
    p.mu_core = mu_core;
    dynamics_close(&s->dyn);
    int status = model_tables_build(&s->tab, &p, &s->lat);
    if (!status) status = dynamics_open(&s->dyn, w->system.dynamics, &s->lat, &s->tab);
    return status;
}

/* A tilted window, after each step of its tuning rounds: records q, and at a round's end moves
 * mu_core towards sampling the window's whole range (order_parameter.h). */
static int tune_tilt(simulation *s, const window_set_spec *w, task_record *r) {
    const uint64_t round = q_tilt_round(w->equilibration_steps);
    if (s->rep.step > round * WINDOW_TILT_ROUNDS) return RIPEN_OK;
    q_tilt_record(&r->tilt, q_value(&s->rep, r->core_initial), r->lo);
    if (s->rep.step % round != 0) return RIPEN_OK;
    const double next = q_tilt_next(&r->tilt, r->mu_core, r->lo, r->hi);
    if (next == r->mu_core) return RIPEN_OK;
    r->mu_core = next;
    return use_window_mu(s, w, r->mu_core);
}

static int run_window(const job *j, task_record *r, simulation *s, hook_clock *clock) {
    const window_set_spec *w = &j->window_sets[j->tasks[r->id].group];
    if (s->rep.step == 0 && r->nq == 0) q_drive_into_window(&s->rep, r->core_initial, r->lo, r->hi);
    int status = q_window_apply(&s->rep, r->core_initial, r->lo, r->hi);
    if (!status && r->mu_core != w->system.model.mu_core)
        status = use_window_mu(s, w, r->mu_core); /* a resumed, tuned window */
    /* Samples carry E at the set's mu_core, whatever the window's own. */
    const energy_weights set_weights = model_energy_weights(&w->system.model);
    const uint64_t total = w->equilibration_steps + w->sampling_steps;
    while (!status && s->rep.step < total) {
        dynamics_run(&s->dyn, &s->rep, 1);
        if (w->tilt) status = tune_tilt(s, w, r);
        const uint64_t sampled =
            s->rep.step > w->equilibration_steps ? s->rep.step - w->equilibration_steps : 0;
        if (!status && sampled > 0 && sampled % w->sample_interval == 0) {
            r->q[r->nq] = (int32_t)q_value(&s->rep, r->core_initial);
            r->q_energy[r->nq] = model_energy(&set_weights, &s->rep.counts);
            r->nq++;
        }
        if (!status) status = between_steps(clock, s, r);
    }
    return status;
}

int task_run(const job *j, task_record *r, const task_hooks *hooks) {
    simulation s;
    int status = simulation_open(&s, j, r);
    if (status) return status;
    status = simulation_start(&s, j, r);
    hook_clock clock = hook_clock_start(hooks, r);
    if (!status)
        status =
            r->kind == TASK_REPLICA ? run_replica(j, r, &s, &clock) : run_window(j, r, &s, &clock);
    if (!status) {
        r->step = s.rep.step;
        r->complete = 1;
        r->wall_seconds = clock.wall_before + (monotonic_seconds() - clock.started);
        free(r->states);
        r->states = NULL;
    }
    simulation_close(&s);
    return status;
}
