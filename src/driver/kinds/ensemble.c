/* The "ensembles" task kind (include/ripen/ensemble.h): independent replicas run until their
 * core doubles or a step limit, sampled as time series; Kaplan-Meier medians in the summary. */
#include "ripen/ensemble.h"

#include "h5util.h"
#include "job_entry.h"
#include "json_read.h"
#include "ripen/error.h"
#include "ripen/survival.h"
#include "task_runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const keys[] = {"name",
                                   "replicas",
                                   "max_steps",
                                   "sample_interval",
                                   "snapshot_interval",
                                   "snapshot_replicas",
                                   "stop_at_doubling",
                                   "doubling_criterion",
                                   ENTRY_SYSTEM_KEYS,
                                   NULL};

int64_t ensemble_series_length(const ensemble_spec *e) {
    return (int64_t)(e->max_steps / e->sample_interval) + 1;
}

int64_t ensemble_snapshot_count(const ensemble_spec *e) {
    return e->snapshot_interval ? (int64_t)(e->max_steps / e->snapshot_interval) + 1 : 0;
}

/* ---- the job file ---- */

static int parse(const cJSON *obj, const char *path, task_set *set) {
    ensemble_spec *e = calloc(1, sizeof *e);
    if (!(set->spec = e)) return ripen_fail(RIPEN_ENOMEM, "out of memory");
    *e = (ensemble_spec){.replicas = 1,
                         .max_steps = 100000,
                         .sample_interval = 100,
                         .snapshot_interval = 0,
                         .snapshot_replicas = 1,
                         .stop_at_doubling = 1,
                         .criterion = DOUBLING_CLUSTER};
    int64_t replicas = e->replicas, snapshot_replicas = e->snapshot_replicas;
    char criterion[32] = "cluster";
    int status;
    if ((status = json_get_string(obj, "name", path, set->name, sizeof set->name)) ||
        (status = json_get_int(obj, "replicas", path, 1, JOB_MAX_REPLICAS, &replicas)) ||
        (status =
             json_get_uint(obj, "max_steps", path, 1, (uint64_t)JOB_MAX_STEPS, &e->max_steps)) ||
        (status = json_get_uint(obj, "sample_interval", path, 1, (uint64_t)JOB_MAX_STEPS,
                                &e->sample_interval)) ||
        (status = json_get_uint(obj, "snapshot_interval", path, 0, (uint64_t)JOB_MAX_STEPS,
                                &e->snapshot_interval)) ||
        (status = json_get_int(obj, "snapshot_replicas", path, 0, JOB_MAX_REPLICAS,
                               &snapshot_replicas)) ||
        (status = json_get_bool(obj, "stop_at_doubling", path, &e->stop_at_doubling)) ||
        (status = json_get_string(obj, "doubling_criterion", path, criterion, sizeof criterion)) ||
        (status = job_entry_system(obj, path, &set->system)))
        return status;
    e->replicas = (int)replicas;
    e->snapshot_replicas = (int)(snapshot_replicas < replicas ? snapshot_replicas : replicas);
    const int c = model_lookup_name(doubling_criterion_names, DOUBLING_CRITERIA, criterion);
    if (c < 0)
        return ripen_fail(RIPEN_EINVAL,
                          "%s.doubling_criterion = \"%s\": must be one of \"cluster\", \"area\", "
                          "\"count\"",
                          path, criterion);
    e->criterion = (doubling_criterion)c;
    if (e->sample_interval > e->max_steps)
        return ripen_fail(RIPEN_EINVAL,
                          "%s.sample_interval = %llu: must not exceed max_steps = %llu", path,
                          (unsigned long long)e->sample_interval, (unsigned long long)e->max_steps);
    if (e->snapshot_interval > e->max_steps)
        return ripen_fail(
            RIPEN_EINVAL, "%s.snapshot_interval = %llu: must not exceed max_steps = %llu", path,
            (unsigned long long)e->snapshot_interval, (unsigned long long)e->max_steps);
    return job_entry_name(obj, path, set->name, sizeof set->name);
}

static int prepare(task_set *set, const char *path, const initial_report *particle) {
    (void)path, (void)particle;
    set->ntasks = ensemble_of(set)->replicas;
    return RIPEN_OK;
}

static void free_spec(void *spec) {
    free(spec);
}

static double set_sites(const task_set *set) {
    return (double)set->system.lx * set->system.ly * set->system.lz;
}

static void task(const task_set *set, int64_t member, int *stage, double *cost) {
    (void)member;
    *stage = 0;
    *cost = set_sites(set) * (double)ensemble_of(set)->max_steps;
}

static double output_bytes(const task_set *set) {
    const ensemble_spec *e = ensemble_of(set);
    return (double)e->replicas * (double)ensemble_series_length(e) * (5 * 4 + 8) +
           (double)e->snapshot_replicas * (double)ensemble_snapshot_count(e) * set_sites(set);
}

static void describe(const task_set *set) {
    const ensemble_spec *e = ensemble_of(set);
    printf("  ensemble %s: %d replicas, up to %llu steps, sample every %llu, tau by %s%s\n",
           set->name, e->replicas, (unsigned long long)e->max_steps,
           (unsigned long long)e->sample_interval, doubling_criterion_names[e->criterion],
           e->stop_at_doubling ? " (stop at doubling)" : "");
}

/* ---- the record ---- */

static void record_free(task_record *r) {
    replica_result *x = r->data;
    free(x->n_core), free(x->n_shell), free(x->a_core), free(x->a_shell), free(x->cluster);
    free(x->energy), free(x->snapshots), free(x);
    r->data = NULL;
}

/* Room for n samples in every series. */
static int reserve_samples(replica_result *x, int64_t n) {
    if (n <= x->capacity) return RIPEN_OK;
    int32_t **const series[5] = {&x->n_core, &x->n_shell, &x->a_core, &x->a_shell, &x->cluster};
    for (int k = 0; k < 5; ++k) {
        int32_t *grown = realloc(*series[k], sizeof **series[k] * (size_t)n);
        if (!grown) return RIPEN_ENOMEM;
        *series[k] = grown;
    }
    double *energy = realloc(x->energy, sizeof *energy * (size_t)n);
    if (!energy) return RIPEN_ENOMEM;
    x->energy = energy, x->capacity = n;
    return RIPEN_OK;
}

static int reserve_snapshots(replica_result *x, int64_t n, int64_t nsites) {
    if (n <= x->snapshot_capacity) return RIPEN_OK;
    uint8_t *grown = realloc(x->snapshots, (size_t)nsites * (size_t)n);
    if (!grown) return RIPEN_ENOMEM;
    x->snapshots = grown, x->snapshot_capacity = n;
    return RIPEN_OK;
}

static int record_init(const task_set *set, int64_t member, task_record *r) {
    const ensemble_spec *e = ensemble_of(set);
    replica_result *x = calloc(1, sizeof *x);
    if (!(r->data = x)) return RIPEN_ENOMEM;
    for (int c = 0; c < DOUBLING_CRITERIA; ++c) x->tau[c] = -1;
    x->keeps_snapshots = member < e->snapshot_replicas && e->snapshot_interval;
    const int64_t first = ensemble_series_length(e) < 1024 ? ensemble_series_length(e) : 1024;
    return reserve_samples(x, first);
}

static void code(codec *c, const task_set *set, int64_t member, task_record *r) {
    (void)member;
    const ensemble_spec *e = ensemble_of(set);
    replica_result *x = r->data;
    codec_scalar(c, x->initial, sizeof x->initial);
    codec_scalar(c, x->tau, sizeof x->tau);
    codec_scalar(c, &x->nsamples, sizeof x->nsamples);
    if (!c->writing && !c->status && x->nsamples >= 0 && x->nsamples <= ensemble_series_length(e) &&
        reserve_samples(x, x->nsamples))
        c->status = RIPEN_ENOMEM;
    const int64_t limit = ensemble_series_length(e);
    int64_t room = x->capacity;
    codec_array(c, (void **)&x->n_core, sizeof(int32_t), x->nsamples, &room, limit);
    codec_array(c, (void **)&x->n_shell, sizeof(int32_t), x->nsamples, &room, limit);
    codec_array(c, (void **)&x->a_core, sizeof(int32_t), x->nsamples, &room, limit);
    codec_array(c, (void **)&x->a_shell, sizeof(int32_t), x->nsamples, &room, limit);
    codec_array(c, (void **)&x->cluster, sizeof(int32_t), x->nsamples, &room, limit);
    codec_array(c, (void **)&x->energy, sizeof(double), x->nsamples, &room, limit);
    codec_scalar(c, &x->nsnapshots, sizeof x->nsnapshots);
    codec_array(c, (void **)&x->snapshots, (size_t)r->nsites, x->nsnapshots, &x->snapshot_capacity,
                x->keeps_snapshots ? ensemble_snapshot_count(e) : 0);
}

/* ---- running ---- */

static int take_sample(replica_result *x, const ensemble_spec *e, task_sim *s) {
    if (x->nsamples >= x->capacity) {
        const int64_t limit = ensemble_series_length(e);
        const int64_t want = 2 * x->capacity < limit ? 2 * x->capacity : limit;
        if (reserve_samples(x, want > x->nsamples ? want : x->nsamples + 1))
            return ripen_fail(RIPEN_ENOMEM, "out of memory for %lld samples",
                              (long long)x->nsamples + 1);
    }
    /* The cluster search is O(N); a rejection-free step often changes nothing, so reuse the
     * last sample's cluster when the lattice has not changed since. */
    const int same = x->nsamples > 0 && s->rep.changes == x->sampled_at;
    const observation o = same ? observe_without_cluster(&s->rep) : observe(&s->rep, s->scratch);
    x->sampled_at = s->rep.changes;
    const int64_t k = x->nsamples++;
    x->n_core[k] = (int32_t)o.ncore, x->n_shell[k] = (int32_t)o.nshell;
    x->a_core[k] = o.area_core, x->a_shell[k] = o.area_shell;
    x->cluster[k] = same ? x->cluster[k - 1] : (int32_t)o.largest_cluster;
    x->energy[k] = o.energy;
    return RIPEN_OK;
}

static int take_snapshot(replica_result *x, const ensemble_spec *e, const task_sim *s,
                         int64_t nsites) {
    if (x->nsnapshots >= x->snapshot_capacity) {
        const int64_t limit = ensemble_snapshot_count(e);
        const int64_t want = x->snapshot_capacity ? 2 * x->snapshot_capacity : 16;
        if (reserve_snapshots(x, want < limit ? want : limit, nsites))
            return ripen_fail(RIPEN_ENOMEM, "out of memory for %lld snapshots",
                              (long long)x->nsnapshots + 1);
    }
    replica_store_states(&s->rep, x->snapshots + x->nsnapshots * nsites);
    x->nsnapshots++;
    return RIPEN_OK;
}

static int run_replica(const ensemble_spec *e, task_record *r, task_sim *s, task_runtime *rt,
                       int fresh) {
    replica_result *x = r->data;
    doubling_tracker tracker;
    int status = doubling_init(&tracker, &s->rep);
    if (status) return status;
    if (fresh) {
        memcpy(x->initial, tracker.initial, sizeof x->initial);
        status = take_sample(x, e, s);
        if (!status && x->keeps_snapshots) status = take_snapshot(x, e, s, r->nsites);
    } else {
        memcpy(tracker.initial, x->initial, sizeof x->initial);
        memcpy(tracker.tau, x->tau, sizeof x->tau);
    }
    while (!status && s->rep.step < e->max_steps &&
           !(e->stop_at_doubling && doubling_done(&tracker, e->criterion))) {
        dynamics_run(&s->dyn, &s->rep, 1);
        doubling_update(&tracker, &s->rep);
        memcpy(x->tau, tracker.tau, sizeof x->tau);
        if (s->rep.step % e->sample_interval == 0) status = take_sample(x, e, s);
        if (!status && x->keeps_snapshots && s->rep.step % e->snapshot_interval == 0)
            status = take_snapshot(x, e, s, r->nsites);
        if (!status) status = task_between_steps(rt, s, r);
    }
    doubling_free(&tracker);
    return status;
}

static int run(const job *j, const task_set *set, int64_t member, task_record *r,
               task_runtime *rt) {
    (void)member;
    task_sim s;
    int status = task_sim_open(&s, &set->system, j->seed, (uint32_t)r->id);
    if (status) return status;
    int fresh;
    status = task_sim_start(&s, &set->system, r, &fresh);
    if (!status) status = run_replica(ensemble_of(set), r, &s, rt, fresh);
    if (!status) {
        r->step = s.rep.step;
        free(r->states);
        r->states = NULL;
    }
    task_sim_close(&s);
    return status;
}

static int64_t outcome(const task_set *set, const task_record *r) {
    return replica_result_of(r)->tau[ensemble_of(set)->criterion];
}

/* ---- the result file ---- */

static const int32_t fill_i32 = -1;
static const int64_t fill_i64 = -1;
static const uint8_t fill_state = 255;
static const uint8_t fill_zero = 0;
static const double fill_nan = NAN;

enum {
    E_TAU,
    E_CENSORED,
    E_TAU_CLUSTER,
    E_TAU_AREA,
    E_TAU_COUNT,
    E_STEPS,
    E_CORE0,
    E_SHELL0,
    E_INITIAL,
    E_SERIES_LENGTH,
    E_N_CORE,
    E_N_SHELL,
    E_A_CORE,
    E_A_SHELL,
    E_CLUSTER,
    E_ENERGY,
    E_SERIES_STEP,
    E_SNAPSHOTS,
    E_SNAPSHOT_STEP,
    E_SNAPSHOT_COUNT,
    E_COUNT
};

typedef struct {
    hid_t d[E_COUNT];
} handles;

static int write_attributes(hid_t g, const task_set *set) {
    const ensemble_spec *e = ensemble_of(set);
    int status = h5_system_attributes(g, &set->system);
    if (!status) status = h5_attr_int(g, "replicas", e->replicas);
    if (!status) status = h5_attr_int(g, "max_steps", (int64_t)e->max_steps);
    if (!status) status = h5_attr_int(g, "sample_interval", (int64_t)e->sample_interval);
    if (!status) status = h5_attr_int(g, "snapshot_interval", (int64_t)e->snapshot_interval);
    if (!status) status = h5_attr_int(g, "snapshot_replicas", e->snapshot_replicas);
    if (!status) status = h5_attr_int(g, "stop_at_doubling", e->stop_at_doubling);
    if (!status)
        status = h5_attr_string(g, "doubling_criterion", doubling_criterion_names[e->criterion]);
    if (!status) status = h5_attr_int(g, "first_task", set->first_task);
    return status;
}

static int h5_create(hid_t g, const job *j, const task_set *set, void **out) {
    (void)j;
    const ensemble_spec *e = ensemble_of(set);
    handles *h = malloc(sizeof *h);
    if (!(*out = h)) return ripen_fail(RIPEN_ENOMEM, "out of memory");
    for (int k = 0; k < E_COUNT; ++k) h->d[k] = -1;
    int status = write_attributes(g, set);
    if (status) return status;
    const hsize_t r = (hsize_t)e->replicas, s = (hsize_t)ensemble_series_length(e);
    const hsize_t p = (hsize_t)e->snapshot_replicas, t = (hsize_t)ensemble_snapshot_count(e);
    const hsize_t one[1] = {r}, three[2] = {r, 3}, series[2] = {r, s}, steps[1] = {s};
    const hsize_t snap[5] = {p, t, (hsize_t)set->system.lz, (hsize_t)set->system.ly,
                             (hsize_t)set->system.lx};
    const hsize_t snap_steps[1] = {t}, snap_count[1] = {p};
    const hid_t i64 = H5T_STD_I64LE, i32 = H5T_STD_I32LE, n64 = H5T_NATIVE_INT64,
                n32 = H5T_NATIVE_INT32;
    hid_t *d = h->d;
    d[E_TAU] = h5_dataset_create(g, "tau", i64, n64, 1, one, &fill_i64, "MC steps");
    d[E_CENSORED] =
        h5_dataset_create(g, "censored", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, one, &fill_zero, NULL);
    d[E_TAU_CLUSTER] = h5_dataset_create(g, "tau_cluster", i64, n64, 1, one, &fill_i64, "MC steps");
    d[E_TAU_AREA] = h5_dataset_create(g, "tau_area", i64, n64, 1, one, &fill_i64, "MC steps");
    d[E_TAU_COUNT] = h5_dataset_create(g, "tau_count", i64, n64, 1, one, &fill_i64, "MC steps");
    d[E_STEPS] = h5_dataset_create(g, "steps_run", i64, n64, 1, one, &fill_i64, "MC steps");
    d[E_CORE0] = h5_dataset_create(g, "core_sites", i64, n64, 1, one, &fill_i64, "sites");
    d[E_SHELL0] = h5_dataset_create(g, "shell_sites", i64, n64, 1, one, &fill_i64, "sites");
    d[E_INITIAL] = h5_dataset_create(g, "initial_size", i64, n64, 2, three, &fill_i64,
                                     "cluster (sites), A_core (columns), N_core (sites)");
    d[E_SERIES_LENGTH] = h5_dataset_create(g, "series_length", i64, n64, 1, one, &fill_i64, NULL);
    d[E_N_CORE] = h5_dataset_create(g, "n_core", i32, n32, 2, series, &fill_i32, "sites");
    d[E_N_SHELL] = h5_dataset_create(g, "n_shell", i32, n32, 2, series, &fill_i32, "sites");
    d[E_A_CORE] = h5_dataset_create(g, "a_core", i32, n32, 2, series, &fill_i32, "columns");
    d[E_A_SHELL] = h5_dataset_create(g, "a_shell", i32, n32, 2, series, &fill_i32, "columns");
    d[E_CLUSTER] = h5_dataset_create(g, "largest_cluster", i32, n32, 2, series, &fill_i32, "sites");
    d[E_ENERGY] = h5_dataset_create(g, "energy", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, series,
                                    &fill_nan, "kT");
    d[E_SERIES_STEP] = h5_dataset_create(g, "series_step", i64, n64, 1, steps, NULL, "MC steps");
    d[E_SNAPSHOTS] = h5_dataset_create(g, "snapshots", H5T_STD_U8LE, H5T_NATIVE_UINT8, 5, snap,
                                       &fill_state, "state: 0 solution, 1 core, 2 shell");
    d[E_SNAPSHOT_STEP] =
        h5_dataset_create(g, "snapshot_step", i64, n64, 1, snap_steps, NULL, "MC steps");
    d[E_SNAPSHOT_COUNT] =
        h5_dataset_create(g, "snapshot_count", i64, n64, 1, snap_count, &fill_i64, NULL);
    for (int k = 0; k < E_COUNT; ++k)
        if (d[k] < 0)
            return ripen_fail(RIPEN_EIO, "cannot create datasets in /ensembles/%s", set->name);
    return RIPEN_OK;
}

static int h5_write_set(void *handles_, const job *j, const task_set *set) {
    (void)j;
    const handles *h = handles_;
    const ensemble_spec *e = ensemble_of(set);
    const int64_t s = ensemble_series_length(e), t = ensemble_snapshot_count(e);
    int64_t *steps = malloc(sizeof *steps * (size_t)(s > t ? s : t) + 8);
    if (!steps) return ripen_fail(RIPEN_ENOMEM, "out of memory");
    const hsize_t start[1] = {0}, ns[1] = {(hsize_t)s}, nt[1] = {(hsize_t)t};
    for (int64_t k = 0; k < s; ++k) steps[k] = k * (int64_t)e->sample_interval;
    int status = h5_write_block(h->d[E_SERIES_STEP], H5T_NATIVE_INT64, 1, start, ns, steps);
    for (int64_t k = 0; k < t; ++k) steps[k] = k * (int64_t)e->snapshot_interval;
    if (!status)
        status = h5_write_block(h->d[E_SNAPSHOT_STEP], H5T_NATIVE_INT64, 1, start, nt, steps);
    free(steps);
    return status;
}

static int h5_write_task(void *handles_, const task_set *set, int64_t member,
                         const task_record *r) {
    const hid_t *d = ((const handles *)handles_)->d;
    const ensemble_spec *e = ensemble_of(set);
    const replica_result *x = r->data;
    const hsize_t row[1] = {(hsize_t)member}, one[1] = {1};
    const int64_t tau = x->tau[e->criterion];
    const uint8_t censored = tau < 0;
    const int64_t steps = (int64_t)r->step;
    int status = h5_write_block(d[E_TAU], H5T_NATIVE_INT64, 1, row, one, &tau);
    if (!status) status = h5_write_block(d[E_CENSORED], H5T_NATIVE_UINT8, 1, row, one, &censored);
    if (!status)
        status = h5_write_block(d[E_TAU_CLUSTER], H5T_NATIVE_INT64, 1, row, one,
                                &x->tau[DOUBLING_CLUSTER]);
    if (!status)
        status =
            h5_write_block(d[E_TAU_AREA], H5T_NATIVE_INT64, 1, row, one, &x->tau[DOUBLING_AREA]);
    if (!status)
        status =
            h5_write_block(d[E_TAU_COUNT], H5T_NATIVE_INT64, 1, row, one, &x->tau[DOUBLING_COUNT]);
    if (!status) status = h5_write_block(d[E_STEPS], H5T_NATIVE_INT64, 1, row, one, &steps);
    if (!status)
        status = h5_write_block(d[E_CORE0], H5T_NATIVE_INT64, 1, row, one, &r->core_initial);
    if (!status)
        status = h5_write_block(d[E_SHELL0], H5T_NATIVE_INT64, 1, row, one, &r->shell_initial);
    if (!status)
        status = h5_write_block(d[E_SERIES_LENGTH], H5T_NATIVE_INT64, 1, row, one, &x->nsamples);
    const hsize_t start2[2] = {(hsize_t)member, 0}, three[2] = {1, 3};
    if (!status)
        status = h5_write_block(d[E_INITIAL], H5T_NATIVE_INT64, 2, start2, three, x->initial);
    const hsize_t n[2] = {1, (hsize_t)x->nsamples};
    const int series[5] = {E_N_CORE, E_N_SHELL, E_A_CORE, E_A_SHELL, E_CLUSTER};
    int32_t *const data[5] = {x->n_core, x->n_shell, x->a_core, x->a_shell, x->cluster};
    for (int k = 0; k < 5 && !status; ++k)
        status = h5_write_block(d[series[k]], H5T_NATIVE_INT32, 2, start2, n, data[k]);
    if (!status) status = h5_write_block(d[E_ENERGY], H5T_NATIVE_DOUBLE, 2, start2, n, x->energy);
    if (!status && x->keeps_snapshots) {
        const hsize_t start5[5] = {(hsize_t)member, 0, 0, 0, 0};
        const hsize_t count5[5] = {1, (hsize_t)x->nsnapshots, (hsize_t)set->system.lz,
                                   (hsize_t)set->system.ly, (hsize_t)set->system.lx};
        status = h5_write_block(d[E_SNAPSHOTS], H5T_NATIVE_UINT8, 5, start5, count5, x->snapshots);
        if (!status)
            status =
                h5_write_block(d[E_SNAPSHOT_COUNT], H5T_NATIVE_INT64, 1, row, one, &x->nsnapshots);
    }
    return status;
}

static void h5_close(void *handles_) {
    handles *h = handles_;
    if (!h) return;
    for (int k = 0; k < E_COUNT; ++k)
        if (h->d[k] > 0) H5Dclose(h->d[k]);
    free(h);
}

static int h5_load_task(hid_t g, const task_set *set, int64_t member, task_record *r) {
    const ensemble_spec *e = ensemble_of(set);
    replica_result *x = r->data;
    const hsize_t row[1] = {(hsize_t)member}, one[1] = {1};
    int64_t steps = 0;
    int status =
        h5_read_from(g, "tau_cluster", H5T_NATIVE_INT64, 1, row, one, &x->tau[DOUBLING_CLUSTER]);
    if (!status)
        status = h5_read_from(g, "tau_area", H5T_NATIVE_INT64, 1, row, one, &x->tau[DOUBLING_AREA]);
    if (!status)
        status =
            h5_read_from(g, "tau_count", H5T_NATIVE_INT64, 1, row, one, &x->tau[DOUBLING_COUNT]);
    if (!status) status = h5_read_from(g, "steps_run", H5T_NATIVE_INT64, 1, row, one, &steps);
    if (!status)
        status = h5_read_from(g, "core_sites", H5T_NATIVE_INT64, 1, row, one, &r->core_initial);
    if (!status)
        status = h5_read_from(g, "shell_sites", H5T_NATIVE_INT64, 1, row, one, &r->shell_initial);
    if (!status)
        status = h5_read_from(g, "series_length", H5T_NATIVE_INT64, 1, row, one, &x->nsamples);
    const hsize_t start2[2] = {(hsize_t)member, 0}, three[2] = {1, 3};
    if (!status)
        status = h5_read_from(g, "initial_size", H5T_NATIVE_INT64, 2, start2, three, x->initial);
    if (!status && (x->nsamples < 0 || x->nsamples > ensemble_series_length(e))) status = RIPEN_EIO;
    if (!status && reserve_samples(x, x->nsamples)) status = RIPEN_ENOMEM;
    const hsize_t n[2] = {1, (hsize_t)(status ? 0 : x->nsamples)};
    const char *const names[5] = {"n_core", "n_shell", "a_core", "a_shell", "largest_cluster"};
    int32_t *const data[5] = {x->n_core, x->n_shell, x->a_core, x->a_shell, x->cluster};
    for (int k = 0; k < 5 && !status; ++k)
        status = h5_read_from(g, names[k], H5T_NATIVE_INT32, 2, start2, n, data[k]);
    if (!status) status = h5_read_from(g, "energy", H5T_NATIVE_DOUBLE, 2, start2, n, x->energy);
    if (!status && x->keeps_snapshots) {
        status = h5_read_from(g, "snapshot_count", H5T_NATIVE_INT64, 1, row, one, &x->nsnapshots);
        if (!status && (x->nsnapshots < 0 || x->nsnapshots > ensemble_snapshot_count(e)))
            status = RIPEN_EIO;
        if (!status && reserve_snapshots(x, x->nsnapshots, r->nsites)) status = RIPEN_ENOMEM;
        const hsize_t start5[5] = {(hsize_t)member, 0, 0, 0, 0};
        const hsize_t count5[5] = {1, (hsize_t)(status ? 0 : x->nsnapshots),
                                   (hsize_t)set->system.lz, (hsize_t)set->system.ly,
                                   (hsize_t)set->system.lx};
        if (!status)
            status =
                h5_read_from(g, "snapshots", H5T_NATIVE_UINT8, 5, start5, count5, x->snapshots);
    }
    r->step = (uint64_t)steps;
    return status;
}

static void h5_size(const task_set *set, double *bytes, double *objects) {
    const ensemble_spec *e = ensemble_of(set);
    const double r = e->replicas, s = (double)ensemble_series_length(e);
    const double p = e->snapshot_replicas, t = (double)ensemble_snapshot_count(e);
    *bytes = r * (9 * 8 + 1 + 3 * 8) + r * s * (5 * 4 + 8) + s * 8 + p * t * set_sites(set) +
             t * 8 + p * 8;
    *objects = 1 + E_COUNT;
}

/* ---- the summary ---- */

/* Kaplan-Meier median of a set's doubling times (-1 if over half are censored before it). */
static double median_tau(const job *j, const task_set *set, task_loader load, void *context,
                         int *loaded, int *doubled) {
    const ensemble_spec *e = ensemble_of(set);
    int64_t *times = calloc((size_t)e->replicas, sizeof *times);
    uint8_t *censored = calloc((size_t)e->replicas, 1);
    *loaded = *doubled = 0;
    for (int k = 0; k < e->replicas && times && censored; ++k) {
        task_record r;
        if (task_record_init(&r, j, set->first_task + k)) continue;
        if (!load(context, set->first_task + k, &r)) {
            const int64_t tau = replica_result_of(&r)->tau[e->criterion];
            times[*loaded] = tau >= 0 ? tau : (int64_t)r.step;
            censored[*loaded] = tau < 0;
            *doubled += tau >= 0;
            ++*loaded;
        }
        task_record_free(&r);
    }
    const double median = survival_km_median(times, censored, *loaded);
    free(times), free(censored);
    return median;
}

static void summary(const job *j, const task_kind *kind, task_loader load, void *context,
                    void *const *results) {
    (void)results;
    const int n = job_count_sets(j, kind);
    if (n == 0) return;
    double fastest = -1;
    double *medians = calloc((size_t)n + 1, sizeof *medians);
    for (int e = 0; e < n && medians; ++e) {
        const task_set *set = job_set_of_kind(j, kind, e);
        int loaded, doubled;
        medians[e] = median_tau(j, set, load, context, &loaded, &doubled);
        if (medians[e] > 0 && (fastest < 0 || medians[e] < fastest)) fastest = medians[e];
        printf("  %-28s %5d replicas, %5d doubled (%s), ", set->name, loaded, doubled,
               doubling_criterion_names[ensemble_of(set)->criterion]);
        if (medians[e] >= 0)
            printf("median tau %.0f\n", medians[e]);
        else
            printf("median tau > %llu (over half censored)\n",
                   (unsigned long long)ensemble_of(set)->max_steps);
    }
    if (fastest > 0 && n > 1)
        for (int e = 0; e < n; ++e)
            if (medians[e] > 0)
                printf("  median tau %-22s / fastest = %.2f\n", job_set_of_kind(j, kind, e)->name,
                       medians[e] / fastest);
    free(medians);
}

const task_kind task_kind_ensembles = {
    .key = "ensembles",
    .entry = "ensemble",
    .task_noun = "replica",
    .set_noun = "ensemble",
    .always_group = 1,
    .keys = keys,
    .parse = parse,
    .prepare = prepare,
    .free_spec = free_spec,
    .task = task,
    .output_bytes = output_bytes,
    .describe = describe,
    .record_init = record_init,
    .record_free = record_free,
    .code = code,
    .run = run,
    .outcome = outcome,
    .outcome_word = "doubled",
    .h5_create = h5_create,
    .h5_write_set = h5_write_set,
    .h5_write_task = h5_write_task,
    .h5_close = h5_close,
    .h5_load_task = h5_load_task,
    .h5_size = h5_size,
    .summary = summary,
};
