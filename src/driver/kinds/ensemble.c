/* The "ensembles" task kind (include/ripen/driver/kinds/ensemble.h): independent replicas run until
 * their core doubles or a step limit, sampled as time series; Kaplan-Meier medians in the summary.
 */
#include "ripen/driver/kinds/ensemble.h"

#include "ensemble_basin.h"
#include "ensemble_crack.h"
#include "ensemble_particles.h"
#include "h5util.h"
#include "job_entry.h"
#include "json_read.h"
#include "ripen/engine/error.h"
#include "ripen/driver/survival.h"
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
                                   "passage",
                                   "track_min_core",
                                   "shell_passage",
                                   ENTRY_SYSTEM_KEYS,
                                   NULL};

static const char *const passage_keys[] = {"order_parameter", "levels", "stop", NULL};

/* "passage": {"order_parameter": "cluster", "levels": [4, 8, 12], "stop": true} */
static int parse_passage(const cJSON *obj, const char *path, ensemble_spec *e) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(obj, "passage");
    if (!p) return RIPEN_OK;
    char where[1100];
    json_path_join(where, sizeof where, path, "passage");
    char measure[32] = "cluster";
    int status;
    if ((status = json_require_object(p, where)) ||
        (status = json_check_keys(p, where, passage_keys)) ||
        (status = json_get_string(p, "order_parameter", where, measure, sizeof measure)) ||
        (status = json_get_bool(p, "stop", where, &e->stop_at_passage)))
        return status;
    /* levels are sites grown: the measures that count sites (not "crack") */
    const int kind = model_lookup_name(lambda_kind_names, LAMBDA_Q + 1, measure);
    if (kind < 0)
        return ripen_fail(RIPEN_EINVAL, "%s.order_parameter = \"%s\": must be \"cluster\" or \"q\"",
                          where, measure);
    e->passage_measure = (lambda_kind)kind;
    const cJSON *levels = cJSON_GetObjectItemCaseSensitive(p, "levels");
    char passage[1100];
    snprintf(passage, sizeof passage, "%s", where);
    json_path_join(where, sizeof where, passage, "levels");
    const int n = cJSON_IsArray(levels) ? cJSON_GetArraySize(levels) : -1;
    if (n < 1 || n > ENSEMBLE_MAX_PASSAGE)
        return ripen_fail(RIPEN_EINVAL, "%s: must be a list of 1 to %d levels (sites)", where,
                          ENSEMBLE_MAX_PASSAGE);
    for (int k = 0; k < n; ++k) {
        const cJSON *v = cJSON_GetArrayItem(levels, k);
        const double x = cJSON_IsNumber(v) ? v->valuedouble : 0;
        if (!cJSON_IsNumber(v) || x != (double)(int64_t)x || x < 1 || x > LATTICE_MAX_SITES)
            return ripen_fail(RIPEN_EINVAL, "%s[%d]: must be an integer in [1, %d] (sites grown)",
                              where, k, LATTICE_MAX_SITES);
        e->passage_levels[k] = (int64_t)x;
        if (k > 0 && e->passage_levels[k] <= e->passage_levels[k - 1])
            return ripen_fail(RIPEN_EINVAL, "%s: must increase (%lld after %lld)", where,
                              (long long)e->passage_levels[k], (long long)e->passage_levels[k - 1]);
    }
    e->npassage = n;
    return RIPEN_OK;
}

static const char *const shell_passage_keys[] = {"levels", "stop", NULL};

/* "shell_passage": {"levels": [0.25, 0.5], "stop": true}: fractions of the initial shell lost */
static int parse_shell_passage(const cJSON *obj, const char *path, ensemble_spec *e) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(obj, "shell_passage");
    if (!p) return RIPEN_OK;
    char where[1100], levels_path[1200];
    json_path_join(where, sizeof where, path, "shell_passage");
    int status;
    if ((status = json_require_object(p, where)) ||
        (status = json_check_keys(p, where, shell_passage_keys)) ||
        (status = json_get_bool(p, "stop", where, &e->stop_at_shell_passage)))
        return status;
    const cJSON *levels = cJSON_GetObjectItemCaseSensitive(p, "levels");
    json_path_join(levels_path, sizeof levels_path, where, "levels");
    const int n = cJSON_IsArray(levels) ? cJSON_GetArraySize(levels) : -1;
    if (n < 1 || n > ENSEMBLE_MAX_PASSAGE)
        return ripen_fail(RIPEN_EINVAL,
                          "%s: must be a list of 1 to %d levels (fractions of the initial shell "
                          "lost, in (0, 1])",
                          levels_path, ENSEMBLE_MAX_PASSAGE);
    for (int k = 0; k < n; ++k) {
        const cJSON *v = cJSON_GetArrayItem(levels, k);
        const double x = cJSON_IsNumber(v) ? v->valuedouble : -1;
        if (!(x > 0 && x <= 1))
            return ripen_fail(RIPEN_EINVAL,
                              "%s[%d]: must be a number in (0, 1] (the fraction of the initial "
                              "shell lost)",
                              levels_path, k);
        if (k > 0 && x <= e->shell_passage_levels[k - 1])
            return ripen_fail(RIPEN_EINVAL, "%s: must increase (%g after %g)", levels_path, x,
                              e->shell_passage_levels[k - 1]);
        e->shell_passage_levels[k] = x;
    }
    e->nshell_passage = n;
    return RIPEN_OK;
}

/* The N_shell at or below which a replica starting with `shell` sites has lost `level` of it. */
static int64_t shell_passage_threshold(double level, int64_t shell) {
    return (int64_t)floor((1.0 - level) * (double)shell + 1e-9);
}

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
    int64_t replicas = e->replicas, snapshot_replicas = e->snapshot_replicas, min_core = 0;
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
        (status = parse_passage(obj, path, e)) || (status = parse_shell_passage(obj, path, e)) ||
        (status = json_get_int(obj, "track_min_core", path, 1, LATTICE_MAX_SITES, &min_core)) ||
        (status = job_entry_system(obj, path, &set->system)))
        return status;
    if (min_core && !set->system.layout.nparticles)
        return ripen_fail(RIPEN_EINVAL,
                          "%s.track_min_core: tracking follows a list of particles "
                          "(initial.particles), and this ensemble starts from one",
                          path);
    e->track_min_core = set->system.layout.nparticles
                            ? (int32_t)(min_core ? min_core : ENSEMBLE_TRACK_MIN_CORE)
                            : 0;
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
    const ensemble_spec *e = ensemble_of(set);
    if (e->nshell_passage && particle->shell_sites == 0)
        return ripen_fail(RIPEN_EINVAL,
                          "%s.shell_passage: the initial particle has no shell to lose (give it "
                          "a shell_thickness)",
                          path);
    set->ntasks = e->replicas;
    for (int k = 0; k < particle->nparticles && e->track_min_core; ++k)
        if (particle->particle_core[k] < e->track_min_core)
            return ripen_fail(RIPEN_EINVAL,
                              "%s.track_min_core = %d: more than the %lld core sites of "
                              "initial.particles[%d] (it would not be a particle at step 0)",
                              path, e->track_min_core, (long long)particle->particle_core[k], k);
    return job_entry_check_steps(path, "max_steps", e->max_steps, &set->system);
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
    const double particles = set->system.layout.nparticles;
    return (double)e->replicas * (double)ensemble_series_length(e) * (6 * 4 + 8) +
           (double)e->snapshot_replicas * (double)ensemble_snapshot_count(e) * set_sites(set) +
           (e->track_min_core
                ? ensemble_particles_bytes(e->replicas, (double)ensemble_series_length(e),
                                           particles, 0, particles)
                : 0);
}

static void describe(const task_set *set) {
    const ensemble_spec *e = ensemble_of(set);
    printf("  ensemble %s: %d replicas, up to %llu steps, sample every %llu, tau by %s%s\n",
           set->name, e->replicas, (unsigned long long)e->max_steps,
           (unsigned long long)e->sample_interval, doubling_criterion_names[e->criterion],
           e->stop_at_doubling ? " (stop at doubling)" : "");
    if (e->nshell_passage)
        printf("    timing the loss of %g%s of the initial shell%s\n",
               100 * e->shell_passage_levels[e->nshell_passage - 1], "%",
               e->stop_at_shell_passage ? " (stop then)" : "");
}

/* ---- the record ---- */

static void record_free(task_record *r) {
    replica_result *x = r->data;
    free(x->n_core), free(x->n_shell), free(x->a_core), free(x->a_shell), free(x->cluster);
    free(x->exposed), free(x->energy), free(x->snapshots);
    particle_series_free(x->particles), free(x);
    r->data = NULL;
}

/* Room for n samples in every series. */
static int reserve_samples(replica_result *x, int64_t n) {
    if (n <= x->capacity) return RIPEN_OK;
    int32_t **const series[] = {&x->n_core,  &x->n_shell, &x->a_core,
                                &x->a_shell, &x->cluster, &x->exposed};
    for (size_t k = 0; k < sizeof series / sizeof *series; ++k) {
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
    x->shell_at_tau = -1;
    for (int k = 0; k < ENSEMBLE_MAX_PASSAGE; ++k) x->passage[k] = x->shell_passage[k] = -1;
    x->keeps_snapshots = member < e->snapshot_replicas && e->snapshot_interval;
    if (particle_series_new(e, &x->particles)) return RIPEN_ENOMEM;
    const int64_t first = ensemble_series_length(e) < 1024 ? ensemble_series_length(e) : 1024;
    return reserve_samples(x, first);
}

static void code(codec *c, const task_set *set, int64_t member, task_record *r) {
    (void)member;
    const ensemble_spec *e = ensemble_of(set);
    replica_result *x = r->data;
    codec_scalar(c, x->initial, sizeof x->initial);
    codec_scalar(c, x->tau, sizeof x->tau);
    codec_scalar(c, &x->shell_at_tau, sizeof x->shell_at_tau);
    codec_scalar(c, x->passage, sizeof x->passage);
    codec_scalar(c, x->shell_passage, sizeof x->shell_passage);
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
    codec_array(c, (void **)&x->exposed, sizeof(int32_t), x->nsamples, &room, limit);
    codec_array(c, (void **)&x->energy, sizeof(double), x->nsamples, &room, limit);
    codec_scalar(c, &x->nsnapshots, sizeof x->nsnapshots);
    codec_array(c, (void **)&x->snapshots, (size_t)r->nsites, x->nsnapshots, &x->snapshot_capacity,
                x->keeps_snapshots ? ensemble_snapshot_count(e) : 0);
    if (x->particles) particle_series_code(c, e, r->nsites, x->particles);
}

/* ---- running ---- */

/* What a sample reads besides the replica: the doubling times and, in a tracked ensemble, the
 * particle tracker (NULL otherwise). */
typedef struct {
    doubling_tracker *doubling;
    tracker *particles;
} sampling;

/* A tracked sample: the tracker's clusters give the largest cluster and the exposed core (it
 * visits only the columns holding core, no O(N) search), and mark the cluster criterion of tau,
 * which is therefore resolved to the sample interval (the count and the area to the step). */
static int observe_particles(replica_result *x, const task_sim *s, const sampling *with, int same,
                             observation *o) {
    *o = observe_counts(&s->rep);
    int status;
    if (same) {
        status = particle_series_repeat(x->particles);
        o->largest_cluster = x->cluster[x->nsamples - 1];
        o->exposed_core = x->exposed[x->nsamples - 1];
    } else {
        status = tracker_sample(with->particles, &s->rep, s->rep.step);
        if (!status) status = particle_series_add(x->particles, with->particles);
        o->largest_cluster = with->particles->totals.largest_cluster;
        o->exposed_core = with->particles->totals.exposed_core;
    }
    if (!status) doubling_mark_cluster(with->doubling, o->largest_cluster, s->rep.step);
    return status;
}

static int take_sample(replica_result *x, const ensemble_spec *e, task_sim *s,
                       const sampling *with) {
    if (x->nsamples >= x->capacity) {
        const int64_t limit = ensemble_series_length(e);
        const int64_t want = 2 * x->capacity < limit ? 2 * x->capacity : limit;
        if (reserve_samples(x, want > x->nsamples ? want : x->nsamples + 1))
            return ripen_fail(RIPEN_ENOMEM, "out of memory for %lld samples",
                              (long long)x->nsamples + 1);
    }
    /* The cluster search is O(N) and the exposed core O(columns); a rejection-free step often
     * changes nothing, so reuse the last sample's when the lattice has not changed since. */
    const int same = x->nsamples > 0 && s->rep.changes == x->sampled_at;
    observation o;
    if (with->particles) {
        const int status = observe_particles(x, s, with, same, &o);
        if (status) return status;
    } else {
        o = same ? observe_counts(&s->rep) : observe(&s->rep, s->scratch);
    }
    x->sampled_at = s->rep.changes;
    const int64_t k = x->nsamples++;
    x->n_core[k] = (int32_t)o.ncore, x->n_shell[k] = (int32_t)o.nshell;
    x->a_core[k] = o.area_core, x->a_shell[k] = o.area_shell;
    x->cluster[k] = same ? x->cluster[k - 1] : (int32_t)o.largest_cluster;
    x->exposed[k] = same ? x->exposed[k - 1] : (int32_t)o.exposed_core;
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

/* The first passages of a replica (the core's levels and the shell's): a watch on its accepted
 * moves. */
typedef struct {
    const ensemble_spec *e;
    replica_result *x;
    lambda_tracker lambda;
    int reached;                                   /* core levels reached so far */
    int shell_reached;                             /* shell levels reached so far */
    int64_t shell_threshold[ENSEMBLE_MAX_PASSAGE]; /* N_shell that reaches each shell level */
} passage_watch;

static int passage_done(const passage_watch *w) {
    const ensemble_spec *e = w->e;
    return (e->npassage > 0 && e->stop_at_passage && w->reached == e->npassage) ||
           (e->nshell_passage > 0 && e->stop_at_shell_passage &&
            w->shell_reached == e->nshell_passage);
}

static int on_move(void *context, const replica *r, uint64_t attempt) {
    passage_watch *w = context;
    const ensemble_spec *e = w->e;
    const double now = (double)r->step + (double)(attempt + 1) / (double)r->lat->nsites;
    if (w->reached < e->npassage) {
        const int64_t value = lambda_measure(&w->lambda, r);
        for (; w->reached < e->npassage && value >= e->passage_levels[w->reached]; ++w->reached)
            w->x->passage[w->reached] = now;
    }
    for (; w->shell_reached < e->nshell_passage &&
           r->counts.nshell <= w->shell_threshold[w->shell_reached];
         ++w->shell_reached)
        w->x->shell_passage[w->shell_reached] = now;
    return passage_done(w);
}

static int passage_start(passage_watch *w, const ensemble_spec *e, task_record *r, task_sim *s) {
    replica_result *x = r->data;
    *w = (passage_watch){.e = e, .x = x};
    for (int k = 0; k < e->nshell_passage; ++k)
        w->shell_threshold[k] =
            shell_passage_threshold(e->shell_passage_levels[k], r->shell_initial);
    while (w->shell_reached < e->nshell_passage && x->shell_passage[w->shell_reached] >= 0)
        w->shell_reached++;
    if (e->npassage == 0) return RIPEN_OK;
    const int64_t origin =
        e->passage_measure == LAMBDA_Q ? r->core_initial : x->initial[DOUBLING_CLUSTER];
    const int status = lambda_init_origin(&w->lambda, e->passage_measure, &s->rep, origin);
    while (w->reached < e->npassage && x->passage[w->reached] >= 0) w->reached++;
    return status;
}

/* The doubling times so far, and the shell at the moment of doubling, exact (the series may
 * not sample that step). */
static void note_doubling(replica_result *x, const ensemble_spec *e, const doubling_tracker *d,
                          const replica *rep) {
    memcpy(x->tau, d->tau, sizeof x->tau);
    if (x->shell_at_tau < 0 && x->tau[e->criterion] >= 0) x->shell_at_tau = rep->counts.nshell;
}

/* Steps the replica until it is done (doubled, last passage level, step limit). */
static int step_replica(const ensemble_spec *e, task_record *r, task_sim *s, task_runtime *rt,
                        const sampling *with) {
    replica_result *x = r->data;
    passage_watch watch;
    int status = passage_start(&watch, e, r, s);
    const replica_watch hook = {.on_move = on_move, .context = &watch};
    if (e->npassage || e->nshell_passage) s->rep.watch = &hook;
    while (!status && s->rep.step < e->max_steps && !passage_done(&watch) &&
           !(e->stop_at_doubling && doubling_done(with->doubling, e->criterion))) {
        dynamics_run(&s->dyn, &s->rep, 1);
        if (with->particles)
            doubling_update_counts(with->doubling, &s->rep);
        else
            doubling_update(with->doubling, &s->rep);
        note_doubling(x, e, with->doubling, &s->rep);
        if (s->rep.stopped) break; /* the last passage level, mid-step: the replica is done */
        if (s->rep.step % e->sample_interval == 0) status = take_sample(x, e, s, with);
        if (with->particles) note_doubling(x, e, with->doubling, &s->rep);
        if (!status && x->keeps_snapshots && s->rep.step % e->snapshot_interval == 0)
            status = take_snapshot(x, e, s, r->nsites);
        if (!status) status = task_between_steps(rt, s, r);
    }
    s->rep.watch = NULL;
    if (e->npassage) lambda_free(&watch.lambda);
    return status;
}

static int run_replica(const task_set *set, task_record *r, task_sim *s, task_runtime *rt,
                       int fresh) {
    const ensemble_spec *e = ensemble_of(set);
    replica_result *x = r->data;
    doubling_tracker doubling;
    tracker particles;
    const sampling with = {.doubling = &doubling,
                           .particles = e->track_min_core ? &particles : NULL};
    int status = doubling_init(&doubling, &s->rep);
    if (status) return status;
    if (with.particles && (status = particle_series_tracker(x->particles, &set->system, &s->lat,
                                                            e->track_min_core, &particles))) {
        doubling_free(&doubling);
        return status;
    }
    if (fresh) {
        memcpy(x->initial, doubling.initial, sizeof x->initial);
        status = take_sample(x, e, s, &with);
        if (!status && x->keeps_snapshots) status = take_snapshot(x, e, s, r->nsites);
    } else {
        memcpy(doubling.initial, x->initial, sizeof x->initial);
        memcpy(doubling.tau, x->tau, sizeof x->tau);
    }
    if (!status) status = step_replica(e, r, s, rt, &with);
    if (with.particles) tracker_free(&particles);
    doubling_free(&doubling);
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
    if (!status) status = run_replica(set, r, &s, rt, fresh);
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
    E_EXPOSED,
    E_ENERGY,
    E_SERIES_STEP,
    E_SNAPSHOTS,
    E_SNAPSHOT_STEP,
    E_SNAPSHOT_COUNT,
    E_PASSAGE_LEVEL,
    E_PASSAGE_TIME,
    E_SHELL_PASSAGE_LEVEL,
    E_SHELL_PASSAGE_TIME,
    E_COUNT
};

typedef struct {
    hid_t d[E_COUNT];
    hid_t crack[CRACK_DATASETS];          /* ensemble_crack.h */
    hid_t particles;                      /* the group of a tracked set (else -1) */
    hid_t particle[PARTICLE_DATASETS];    /* its datasets (ensemble_particles.h) */
    int64_t samples, snapshots, episodes; /* the datasets' extents: the most any replica took */
} handles;

static int write_attributes(hid_t g, const task_set *set) {
    const ensemble_spec *e = ensemble_of(set);
    int status = h5_system_attributes(g, &set->system,
                                      "max_steps, sample_interval, snapshot_interval: MC steps");
    if (!status) status = h5_attr_int(g, "replicas", e->replicas);
    if (!status) status = h5_attr_int(g, "max_steps", (int64_t)e->max_steps);
    if (!status) status = h5_attr_int(g, "sample_interval", (int64_t)e->sample_interval);
    if (!status) status = h5_attr_int(g, "snapshot_interval", (int64_t)e->snapshot_interval);
    if (!status) status = h5_attr_int(g, "snapshot_replicas", e->snapshot_replicas);
    if (!status) status = h5_attr_int(g, "stop_at_doubling", e->stop_at_doubling);
    if (!status)
        status = h5_attr_string(g, "doubling_criterion", doubling_criterion_names[e->criterion]);
    if (!status) status = h5_attr_int(g, "first_task", set->first_task);
    if (!status)
        status =
            h5_attr_string(g, "passage_order_parameter", lambda_kind_names[e->passage_measure]);
    if (!status) status = h5_attr_int(g, "stop_at_passage", e->stop_at_passage);
    if (!status) status = h5_attr_int(g, "stop_at_shell_passage", e->stop_at_shell_passage);
    return status;
}

static void data_extent(const task_set *set, int64_t member, const task_record *r,
                        int64_t extent[TASK_EXTENTS]) {
    (void)set, (void)member;
    const replica_result *x = r->data;
    const crack_series s = ensemble_crack_series(ensemble_of(set), x);
    extent[0] = x->nsamples, extent[1] = x->nsnapshots, extent[2] = crack_episodes(&s, NULL, 0);
    particle_series_extent(x->particles, &extent[3], &extent[4]);
}

/* The shell's passages: the levels [Ls] and each replica's times [R, Ls]. */
static void create_shell_passage_datasets(hid_t g, hsize_t r, int levels, hid_t *d) {
    d[E_SHELL_PASSAGE_LEVEL] = h5_dataset(
        g, &(h5_dataset_info){.name = "shell_passage_level",
                              .type = H5_F64,
                              .rank = 1,
                              .dims = {(hsize_t)levels},
                              .description = "the fractions of the initial shell whose loss is "
                                             "timed: N_shell <= floor((1 - level) N_shell(0))"});
    d[E_SHELL_PASSAGE_TIME] = h5_dataset(
        g, &(h5_dataset_info){.name = "shell_passage_time",
                              .type = H5_F64,
                              .rank = 2,
                              .dims = {r, (hsize_t)levels},
                              .fill = &fill_nan,
                              .units = "MC steps",
                              .description = "first moment N_shell fell to each shell passage "
                                             "level, to the attempt (-1: not reached by "
                                             "steps_run: right-censored there)"});
}

/* Per replica: scalars [R], the initial sizes [R, 3] and the passage times [R, L]. */
static void create_replica_datasets(hid_t g, hsize_t r, int passage_levels, hid_t *d) {
    static const struct {
        int index;
        const char *name, *units, *description;
    } tau[] = {
        {E_TAU, "tau", "MC steps", "doubling time by the ensemble's criterion; -1 = censored"},
        {E_TAU_CLUSTER, "tau_cluster", "MC steps",
         "first step with the largest core cluster at twice its initial size; -1 = not reached"},
        {E_TAU_AREA, "tau_area", "MC steps",
         "first step with the projected core area at twice its initial value; -1 = not reached"},
        {E_TAU_COUNT, "tau_count", "MC steps",
         "first step with N_core at twice its initial value; -1 = not reached"},
        {E_STEPS, "steps_run", "MC steps",
         "steps the replica ran (its censoring time if censored)"},
        {E_CORE0, "core_sites", "sites", "core sites the replica started with"},
        {E_SHELL0, "shell_sites", "sites", "shell sites the replica started with"},
        {E_SERIES_LENGTH, "series_length", NULL,
         "samples the replica took (its row of each series beyond that is fill)"},
    };
    for (size_t k = 0; k < sizeof tau / sizeof *tau; ++k)
        d[tau[k].index] = h5_dataset(g, &(h5_dataset_info){.name = tau[k].name,
                                                           .type = H5_I64,
                                                           .rank = 1,
                                                           .dims = {r},
                                                           .fill = &fill_i64,
                                                           .units = tau[k].units,
                                                           .description = tau[k].description});
    d[E_CENSORED] = h5_dataset(
        g, &(h5_dataset_info){.name = "censored",
                              .type = H5_U8,
                              .rank = 1,
                              .dims = {r},
                              .fill = &fill_zero,
                              .description = "1 if the replica did not double within steps_run "
                                             "(right-censored there)"});
    d[E_PASSAGE_TIME] = h5_dataset(
        g, &(h5_dataset_info){.name = "passage_time",
                              .type = H5_F64,
                              .rank = 2,
                              .dims = {r, (hsize_t)passage_levels},
                              .fill = &fill_nan,
                              .units = "MC steps",
                              .description = "first moment the order parameter reached each "
                                             "passage level, to the attempt (-1: not reached)"});
    d[E_INITIAL] = h5_dataset(
        g, &(h5_dataset_info){.name = "initial_size",
                              .type = H5_I64,
                              .rank = 2,
                              .dims = {r, 3},
                              .fill = &fill_i64,
                              .units = "cluster (sites), A_core (columns), N_core (sites)",
                              .description = "the three sizes the doubling criteria double"});
}

/* The time series [R, S] and snapshots [P, T, Lz, Ly, Lx], compressed. */
static void create_series_datasets(hid_t g, const task_set *set, hsize_t r, const handles *h,
                                   hid_t *d) {
    static const struct {
        int index;
        const char *name, *units, *description;
    } series[] = {
        {E_N_CORE, "n_core", "sites", "core sites N_core, per sample"},
        {E_N_SHELL, "n_shell", "sites", "shell sites N_shell, per sample"},
        {E_A_CORE, "a_core", "columns",
         "projected core area: (x, y) columns with core, per sample"},
        {E_A_SHELL, "a_shell", "columns",
         "projected shell area: (x, y) columns with shell, per sample"},
        {E_CLUSTER, "largest_cluster", "sites", "largest core cluster, per sample"},
        {E_EXPOSED, "exposed_core", "sites",
         "exposed core: core sites with a solution neighbour (of the 8), per sample"},
    };
    const hsize_t s = (hsize_t)h->samples;
    for (size_t k = 0; k < sizeof series / sizeof *series; ++k)
        d[series[k].index] = h5_dataset(g, &(h5_dataset_info){.name = series[k].name,
                                                              .type = H5_I32,
                                                              .rank = 2,
                                                              .dims = {r, s},
                                                              .fill = &fill_i32,
                                                              .units = series[k].units,
                                                              .description = series[k].description,
                                                              .compress = 1});
    d[E_ENERGY] = h5_dataset(g, &(h5_dataset_info){.name = "energy",
                                                   .type = H5_F64,
                                                   .rank = 2,
                                                   .dims = {r, s},
                                                   .fill = &fill_nan,
                                                   .units = "kT",
                                                   .description = "energy E, per sample",
                                                   .compress = 1});
    d[E_SERIES_STEP] = h5_dataset(
        g, &(h5_dataset_info){.name = "series_step",
                              .type = H5_I64,
                              .rank = 1,
                              .dims = {s},
                              .units = "MC steps",
                              .description = "the step of each sample: k * sample_interval"});
    const ensemble_spec *e = ensemble_of(set);
    const hsize_t p = (hsize_t)e->snapshot_replicas, t = (hsize_t)h->snapshots;
    d[E_SNAPSHOTS] = h5_dataset(
        g, &(h5_dataset_info){.name = "snapshots",
                              .type = H5_U8,
                              .rank = 5,
                              .dims = {p, t, (hsize_t)set->system.lz, (hsize_t)set->system.ly,
                                       (hsize_t)set->system.lx},
                              .fill = &fill_state,
                              .units = "state: 0 solution, 1 core, 2 shell (255: not taken)",
                              .description = "lattices of replicas 0 .. snapshot_replicas - 1",
                              .compress = 1});
    d[E_SNAPSHOT_STEP] = h5_dataset(
        g, &(h5_dataset_info){.name = "snapshot_step",
                              .type = H5_I64,
                              .rank = 1,
                              .dims = {t},
                              .units = "MC steps",
                              .description = "the step of each snapshot: k * snapshot_interval"});
    d[E_PASSAGE_LEVEL] = h5_dataset(
        g, &(h5_dataset_info){.name = "passage_level",
                              .type = H5_I64,
                              .rank = 1,
                              .dims = {(hsize_t)e->npassage},
                              .units = "sites (the order parameter grown from the start)",
                              .description = "the levels whose first passage is recorded"});
    d[E_SNAPSHOT_COUNT] = h5_dataset(
        g, &(h5_dataset_info){.name = "snapshot_count",
                              .type = H5_I64,
                              .rank = 1,
                              .dims = {p},
                              .fill = &fill_i64,
                              .description = "snapshots taken by each replica that keeps them"});
}

static int h5_create(hid_t g, const job *j, const task_set *set, const int64_t extent[TASK_EXTENTS],
                     void **out) {
    (void)j;
    handles *h = malloc(sizeof *h);
    if (!(*out = h)) return ripen_fail(RIPEN_ENOMEM, "out of memory");
    for (int k = 0; k < E_COUNT; ++k) h->d[k] = -1;
    for (int k = 0; k < CRACK_DATASETS; ++k) h->crack[k] = -1;
    for (int k = 0; k < PARTICLE_DATASETS; ++k) h->particle[k] = -1;
    h->particles = -1;
    h->samples = extent[0], h->snapshots = extent[1], h->episodes = extent[2];
    const int status = write_attributes(g, set);
    if (status) return status;
    const hsize_t r = (hsize_t)ensemble_of(set)->replicas;
    create_replica_datasets(g, r, ensemble_of(set)->npassage, h->d);
    create_series_datasets(g, set, r, h, h->d);
    create_shell_passage_datasets(g, r, ensemble_of(set)->nshell_passage, h->d);
    ensemble_crack_create(g, r, (hsize_t)h->episodes, h->crack);
    const int tracked = ensemble_of(set)->track_min_core > 0;
    if (tracked)
        ensemble_particles_create(g, set, r, (hsize_t)h->samples, (hsize_t)extent[3],
                                  (hsize_t)extent[4], &h->particles, h->particle);
    int failed = 0;
    for (int k = 0; k < E_COUNT; ++k) failed |= h->d[k] < 0;
    for (int k = 0; k < CRACK_DATASETS; ++k) failed |= h->crack[k] < 0;
    for (int k = 0; k < PARTICLE_DATASETS && tracked; ++k) failed |= h->particle[k] < 0;
    if (failed) return ripen_fail(RIPEN_EIO, "cannot create datasets in /ensembles/%s", set->name);
    return RIPEN_OK;
}

static int h5_write_set(void *handles_, const job *j, const task_set *set) {
    (void)j;
    const handles *h = handles_;
    const ensemble_spec *e = ensemble_of(set);
    const int64_t s = h->samples, t = h->snapshots;
    int64_t *steps = malloc(sizeof *steps * (size_t)(s > t ? s : t) + 8);
    if (!steps) return ripen_fail(RIPEN_ENOMEM, "out of memory");
    const hsize_t start[1] = {0}, ns[1] = {(hsize_t)s}, nt[1] = {(hsize_t)t};
    for (int64_t k = 0; k < s; ++k) steps[k] = k * (int64_t)e->sample_interval;
    int status = h5_write_block(h->d[E_SERIES_STEP], H5_I64, 1, start, ns, steps);
    const hsize_t nl[1] = {(hsize_t)e->npassage};
    if (!status)
        status = h5_write_block(h->d[E_PASSAGE_LEVEL], H5_I64, 1, start, nl, e->passage_levels);
    const hsize_t nsl[1] = {(hsize_t)e->nshell_passage};
    if (!status)
        status = h5_write_block(h->d[E_SHELL_PASSAGE_LEVEL], H5_F64, 1, start, nsl,
                                e->shell_passage_levels);
    for (int64_t k = 0; k < t; ++k) steps[k] = k * (int64_t)e->snapshot_interval;
    if (!status) status = h5_write_block(h->d[E_SNAPSHOT_STEP], H5_I64, 1, start, nt, steps);
    free(steps);
    if (!status && e->track_min_core) status = ensemble_particles_write_set(h->particle, set);
    return status;
}

/* A replica's scalars and initial sizes: independent writes. */
static int write_scalars(const hid_t *d, const ensemble_spec *e, int64_t member,
                         const task_record *r) {
    const replica_result *x = r->data;
    const hsize_t row[1] = {(hsize_t)member}, one[1] = {1};
    const int64_t tau = x->tau[e->criterion], steps = (int64_t)r->step;
    const uint8_t censored = tau < 0;
    const int indices[] = {E_TAU,   E_TAU_CLUSTER, E_TAU_AREA, E_TAU_COUNT,
                           E_STEPS, E_CORE0,       E_SHELL0,   E_SERIES_LENGTH};
    const int64_t *values[] = {
        &tau,   &x->tau[DOUBLING_CLUSTER], &x->tau[DOUBLING_AREA], &x->tau[DOUBLING_COUNT],
        &steps, &r->core_initial,          &r->shell_initial,      &x->nsamples};
    int status = RIPEN_OK;
    for (size_t k = 0; k < sizeof indices / sizeof *indices && !status; ++k)
        status = h5_write_block(d[indices[k]], H5_I64, 1, row, one, values[k]);
    if (!status) status = h5_write_block(d[E_CENSORED], H5_U8, 1, row, one, &censored);
    const hsize_t start2[2] = {(hsize_t)member, 0}, three[2] = {1, 3};
    if (!status) status = h5_write_block(d[E_INITIAL], H5_I64, 2, start2, three, x->initial);
    if (!status && x->keeps_snapshots)
        status = h5_write_block(d[E_SNAPSHOT_COUNT], H5_I64, 1, row, one, &x->nsnapshots);
    const hsize_t levels[2] = {1, (hsize_t)e->npassage};
    if (!status) status = h5_write_block(d[E_PASSAGE_TIME], H5_F64, 2, start2, levels, x->passage);
    const hsize_t shell_levels[2] = {1, (hsize_t)e->nshell_passage};
    if (!status)
        status = h5_write_block(d[E_SHELL_PASSAGE_TIME], H5_F64, 2, start2, shell_levels,
                                x->shell_passage);
    return status;
}

/* The series of n replicas, and the snapshots of those that keep them: collective writes. */
static int write_series(const hid_t *d, const task_set *set, int n, const int64_t *members,
                        task_record *const *records) {
    enum { BATCH = 64 };
    if (n > BATCH) return ripen_fail(RIPEN_EINVAL, "too many replicas in one write");
    hsize_t starts[BATCH * 2] = {0}, counts[BATCH * 2] = {0}, starts5[BATCH * 5] = {0};
    hsize_t counts5[BATCH * 5] = {0};
    const void *data[BATCH] = {0};
    int kept = 0;
    for (int i = 0; i < n; ++i) {
        const replica_result *x = records[i]->data;
        starts[2 * i] = (hsize_t)members[i], starts[2 * i + 1] = 0;
        counts[2 * i] = 1, counts[2 * i + 1] = (hsize_t)x->nsamples;
        if (!x->keeps_snapshots) continue;
        const hsize_t corner[5] = {(hsize_t)members[i], 0, 0, 0, 0};
        const hsize_t size[5] = {1, (hsize_t)x->nsnapshots, (hsize_t)set->system.lz,
                                 (hsize_t)set->system.ly, (hsize_t)set->system.lx};
        memcpy(starts5 + 5 * kept, corner, sizeof corner);
        memcpy(counts5 + 5 * kept, size, sizeof size);
        ++kept;
    }
    const int series[] = {E_N_CORE, E_N_SHELL, E_A_CORE, E_A_SHELL, E_CLUSTER, E_EXPOSED, E_ENERGY};
    int status = RIPEN_OK;
    for (size_t k = 0; k < sizeof series / sizeof *series; ++k) {
        for (int i = 0; i < n; ++i) {
            const replica_result *x = records[i]->data;
            const void *const columns[] = {x->n_core,  x->n_shell, x->a_core, x->a_shell,
                                           x->cluster, x->exposed, x->energy};
            data[i] = columns[k];
        }
        const int written = h5_write_blocks(d[series[k]], series[k] == E_ENERGY ? H5_F64 : H5_I32,
                                            2, n, starts, counts, data);
        if (!status) status = written;
    }
    kept = 0;
    for (int i = 0; i < n; ++i) {
        const replica_result *x = records[i]->data;
        if (x->keeps_snapshots) data[kept++] = x->snapshots;
    }
    const int written = h5_write_blocks(d[E_SNAPSHOTS], H5_U8, 5, kept, starts5, counts5, data);
    return status ? status : written;
}

/* Collective (h5out.c): every rank calls it in each round, n = 0 if it has no replica left. */
static int h5_write_tasks(void *handles_, const task_set *set, int n, const int64_t *members,
                          task_record *const *records) {
    const handles *h = handles_;
    int status = RIPEN_OK;
    for (int i = 0; i < n && !status; ++i)
        status = write_scalars(h->d, ensemble_of(set), members[i], records[i]);
    const int series = write_series(h->d, set, n, members, records);
    const int cracks = ensemble_crack_write(h->crack, ensemble_of(set), n, members, records);
    const int particles = ensemble_of(set)->track_min_core
                              ? ensemble_particles_write(h->particle, n, members, records)
                              : RIPEN_OK;
    return status ? status : series ? series : cracks ? cracks : particles;
}

static void h5_close(void *handles_) {
    handles *h = handles_;
    if (!h) return;
    h5_close_datasets(h->d, E_COUNT);
    h5_close_datasets(h->crack, CRACK_DATASETS);
    h5_close_datasets(h->particle, PARTICLE_DATASETS);
    if (h->particles >= 0) H5Gclose(h->particles);
    free(h);
}

static int h5_load_task(hid_t g, const task_set *set, int64_t member, task_record *r) {
    const ensemble_spec *e = ensemble_of(set);
    replica_result *x = r->data;
    const hsize_t row[1] = {(hsize_t)member}, one[1] = {1};
    int64_t steps = 0;
    int status = h5_read_from(g, "tau_cluster", H5_I64, 1, row, one, &x->tau[DOUBLING_CLUSTER]);
    if (!status) status = h5_read_from(g, "tau_area", H5_I64, 1, row, one, &x->tau[DOUBLING_AREA]);
    if (!status)
        status = h5_read_from(g, "tau_count", H5_I64, 1, row, one, &x->tau[DOUBLING_COUNT]);
    if (!status) status = h5_read_from(g, "steps_run", H5_I64, 1, row, one, &steps);
    if (!status) status = h5_read_from(g, "core_sites", H5_I64, 1, row, one, &r->core_initial);
    if (!status) status = h5_read_from(g, "shell_sites", H5_I64, 1, row, one, &r->shell_initial);
    if (!status) status = h5_read_from(g, "series_length", H5_I64, 1, row, one, &x->nsamples);
    const hsize_t start2[2] = {(hsize_t)member, 0}, three[2] = {1, 3};
    if (!status) status = h5_read_from(g, "initial_size", H5_I64, 2, start2, three, x->initial);
    if (!status && (x->nsamples < 0 || x->nsamples > ensemble_series_length(e))) status = RIPEN_EIO;
    if (!status && reserve_samples(x, x->nsamples)) status = RIPEN_ENOMEM;
    const hsize_t n[2] = {1, (hsize_t)(status ? 0 : x->nsamples)};
    const char *const names[] = {"n_core",  "n_shell",         "a_core",
                                 "a_shell", "largest_cluster", "exposed_core"};
    int32_t *const data[] = {x->n_core, x->n_shell, x->a_core, x->a_shell, x->cluster, x->exposed};
    for (size_t k = 0; k < sizeof names / sizeof *names && !status; ++k)
        status = h5_read_from(g, names[k], H5_I32, 2, start2, n, data[k]);
    if (!status) status = h5_read_from(g, "energy", H5_F64, 2, start2, n, x->energy);
    const hsize_t levels[2] = {1, (hsize_t)e->npassage};
    if (!status) status = h5_read_from(g, "passage_time", H5_F64, 2, start2, levels, x->passage);
    const hsize_t shell_levels[2] = {1, (hsize_t)e->nshell_passage};
    if (!status)
        status = h5_read_from(g, "shell_passage_time", H5_F64, 2, start2, shell_levels,
                              x->shell_passage);
    if (!status) status = ensemble_crack_load(g, member, r, &x->shell_at_tau);
    if (!status && x->particles)
        status = ensemble_particles_load(g, member, x->nsamples, x->particles);
    if (!status && x->keeps_snapshots) {
        status = h5_read_from(g, "snapshot_count", H5_I64, 1, row, one, &x->nsnapshots);
        if (!status && (x->nsnapshots < 0 || x->nsnapshots > ensemble_snapshot_count(e)))
            status = RIPEN_EIO;
        if (!status && reserve_snapshots(x, x->nsnapshots, r->nsites)) status = RIPEN_ENOMEM;
        const hsize_t start5[5] = {(hsize_t)member, 0, 0, 0, 0};
        const hsize_t count5[5] = {1, (hsize_t)(status ? 0 : x->nsnapshots),
                                   (hsize_t)set->system.lz, (hsize_t)set->system.ly,
                                   (hsize_t)set->system.lx};
        if (!status) status = h5_read_from(g, "snapshots", H5_U8, 5, start5, count5, x->snapshots);
    }
    r->step = (uint64_t)steps;
    return status;
}

static void h5_size(const task_set *set, const int64_t extent[TASK_EXTENTS], double *bytes,
                    double *objects) {
    const ensemble_spec *e = ensemble_of(set);
    const double r = e->replicas, s = (double)extent[0];
    const double p = e->snapshot_replicas, t = (double)extent[1];
    *bytes = r * (9 * 8 + 1 + 3 * 8) + r * s * (6 * 4 + 8) + s * 8 + p * t * set_sites(set) +
             t * 8 + p * 8 + r * 7 * 8 + ensemble_crack_bytes(r, (double)extent[2]) +
             (r + 1) * 8 * e->nshell_passage;
    *objects = 1 + E_COUNT + CRACK_DATASETS + 8 + 6; /* + crack_free_energy */
    if (e->track_min_core) {
        *bytes += ensemble_particles_bytes(r, s, (double)extent[3], (double)extent[4],
                                           set->system.layout.nparticles);
        *objects += 1 + PARTICLE_DATASETS;
    }
}

/* ---- the set's analysis: the Kaplan-Meier curve and the crack free energy ---- */

typedef struct {
    survival_curve km;  /* P(tau > t) */
    basin_result basin; /* the crack free energy and transmission (ensemble_basin.h) */
} ensemble_analysis;

/* Every replica's doubling time (or its censoring time) and its share of the basin. */
static int collect(const job *j, const task_set *set, task_loader load, void *context,
                   const set_analysis_options *o, int64_t *times, uint8_t *censored,
                   basin_replica *shares) {
    const ensemble_spec *e = ensemble_of(set);
    int status = RIPEN_OK;
    for (int k = 0; k < e->replicas && !status; ++k) {
        if ((status = analysis_poll(o, "loading the replicas", k))) break;
        task_record r;
        status = task_record_init(&r, j, set->first_task + k);
        if (!status) status = load(context, set->first_task + k, &r);
        if (!status) {
            const replica_result *x = replica_result_of(&r);
            const int64_t tau = x->tau[e->criterion];
            times[k] = tau >= 0 ? tau : (int64_t)r.step;
            censored[k] = tau < 0;
            const crack_series s = ensemble_crack_series(e, x);
            status = basin_replica_of(&s, &shares[k]);
        }
        task_record_free(&r);
    }
    return status;
}

static int analyze(const job *j, const task_set *set, task_loader load, void *context,
                   const set_analysis_options *o, void **result) {
    const int n = ensemble_of(set)->replicas;
    int64_t *times = malloc(sizeof *times * (size_t)n);
    uint8_t *censored = malloc((size_t)n);
    basin_replica *shares = calloc((size_t)n, sizeof *shares);
    ensemble_analysis *a = calloc(1, sizeof *a);
    int status =
        times && censored && shares && a ? RIPEN_OK : ripen_fail(RIPEN_ENOMEM, "out of memory");
    if (!status) status = collect(j, set, load, context, o, times, censored, shares);
    if (!status) status = survival_km_curve(times, censored, n, &a->km);
    if (!status)
        status =
            basin_compute(shares, n, o->bootstrap, j->seed, (uint32_t)set->first_task, &a->basin);
    for (int k = 0; shares && k < n; ++k) basin_replica_free(&shares[k]);
    free(times), free(censored), free(shares);
    if (status && a) survival_curve_free(&a->km), free(a), a = NULL;
    *result = a;
    return status;
}

static void free_result(void *result) {
    ensemble_analysis *a = result;
    survival_curve_free(&a->km);
    basin_result_free(&a->basin);
    free(a);
}

static void code_result(codec *c, const task_set *set, void **result) {
    (void)set;
    if (!c->writing && !c->status && !(*result = calloc(1, sizeof(ensemble_analysis))))
        c->status = RIPEN_ENOMEM;
    if (c->status) return;
    ensemble_analysis *a = *result;
    basin_code(c, &a->basin);
    survival_curve *k = &a->km;
    codec_scalar(c, &k->n, sizeof k->n);
    codec_scalar(c, &k->median, sizeof k->median);
    codec_scalar(c, &k->replicas, sizeof k->replicas);
    codec_scalar(c, &k->censored, sizeof k->censored);
    const int64_t n = k->n, limit = k->replicas;
    void **arrays[] = {(void **)&k->time,  (void **)&k->survival, (void **)&k->se,
                       (void **)&k->lower, (void **)&k->upper,    (void **)&k->at_risk,
                       (void **)&k->events};
    for (size_t a = 0; a < sizeof arrays / sizeof *arrays; ++a) {
        int64_t room = c->writing ? n : 0;
        codec_array(c, arrays[a], 8, n, &room, limit);
    }
}

static int write_curve_data(hid_t g, const survival_curve *k, int writer) {
    static const struct {
        const char *name, *units, *description;
        h5_type type;
    } columns[] = {
        {"time", "MC steps", "the distinct doubling times t_i", H5_I64},
        {"survival", NULL, "Kaplan-Meier S(t_i): the fraction not yet doubled just after t_i",
         H5_F64},
        {"se", NULL, "Greenwood's standard error of S(t_i)", H5_F64},
        {"lower", NULL, "pointwise 95% band, lower end (log-log transform)", H5_F64},
        {"upper", NULL, "pointwise 95% band, upper end (log-log transform)", H5_F64},
        {"at_risk", "replicas", "replicas not yet doubled or censored just before t_i", H5_I64},
        {"events", "replicas", "replicas doubling at t_i", H5_I64},
    };
    const void *data[] = {k->time, k->survival, k->se, k->lower, k->upper, k->at_risk, k->events};
    int status = RIPEN_OK;
    for (size_t c = 0; c < sizeof columns / sizeof *columns && !status; ++c) {
        const hid_t d = h5_dataset(g, &(h5_dataset_info){.name = columns[c].name,
                                                         .type = columns[c].type,
                                                         .rank = 1,
                                                         .dims = {(hsize_t)k->n},
                                                         .units = columns[c].units,
                                                         .description = columns[c].description});
        const hsize_t start[1] = {0}, n[1] = {(hsize_t)k->n};
        status = d < 0    ? ripen_fail(RIPEN_EIO, "cannot create survival/%s", columns[c].name)
                 : writer ? h5_write_block(d, columns[c].type, 1, start, n, data[c])
                          : RIPEN_OK;
        if (d >= 0) H5Dclose(d);
    }
    return status;
}

static int h5_write_result(hid_t set_group, const task_set *set, const void *result, int writer) {
    const ensemble_analysis *a = result;
    const survival_curve *k = &a->km;
    const hid_t g = h5_group_create(set_group, "survival",
                                    "P(tau > t): the Kaplan-Meier estimate of the replicas' "
                                    "doubling times, censored replicas included");
    if (g < 0) return ripen_fail(RIPEN_EIO, "cannot create /ensembles/%s/survival", set->name);
    int status = h5_attr_double(g, "median", k->median);
    if (!status) status = h5_attr_int(g, "replicas", k->replicas);
    if (!status) status = h5_attr_int(g, "censored", k->censored);
    if (!status) status = h5_attr_double(g, "confidence", 0.95);
    if (!status)
        status = h5_attr_string(g, "units",
                                "median: MC steps (-1 if over half the replicas are censored "
                                "before it); replicas, censored: replicas");
    if (!status) status = write_curve_data(g, k, writer);
    H5Gclose(g);
    if (!status) status = basin_write(set_group, set->name, &a->basin, writer);
    return status;
}

static void print_result(const task_set *set, const void *result) {
    const ensemble_analysis *a = result;
    const survival_curve *k = &a->km;
    printf("%s: %d replicas, %d censored, Kaplan-Meier median tau ", set->name, k->replicas,
           k->censored);
    if (k->median >= 0)
        printf("%.0f MC steps\n", k->median);
    else
        printf("not reached (over half censored)\n");
    if (set->system.shell_thickness > 0) basin_print("crack free energy:", &a->basin);
}

/* ---- the summary ---- */

static void summary(const job *j, const task_kind *kind, task_loader load, void *context,
                    void *const *results) {
    (void)load, (void)context;
    const int n = job_count_sets(j, kind);
    if (n == 0) return;
    double fastest = -1;
    double *medians = calloc((size_t)n + 1, sizeof *medians);
    for (int e = 0; e < n && medians; ++e) {
        const task_set *set = job_set_of_kind(j, kind, e);
        const ensemble_analysis *a = results[set - j->sets];
        if (!a) continue;
        const survival_curve *k = &a->km;
        const int loaded = k->replicas, doubled = k->replicas - k->censored;
        medians[e] = k->median;
        if (medians[e] > 0 && (fastest < 0 || medians[e] < fastest)) fastest = medians[e];
        printf("  %-28s %5d replicas, %5d doubled (%s), ", set->name, loaded, doubled,
               doubling_criterion_names[ensemble_of(set)->criterion]);
        if (medians[e] >= 0)
            printf("median tau %.0f\n", medians[e]);
        else
            printf("median tau > %llu (over half censored)\n",
                   (unsigned long long)ensemble_of(set)->max_steps);
    }
    for (int e = 0; e < n; ++e) {
        const task_set *set = job_set_of_kind(j, kind, e);
        const ensemble_analysis *a = results[set - j->sets];
        if (a && set->system.shell_thickness > 0) basin_print(set->name, &a->basin);
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
    .particle_lists = 1,
    .description = "ensembles of independent replicas, each run until its core doubles or a "
                   "step limit",
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
    .h5_extent = data_extent,
    .h5_create = h5_create,
    .h5_write_set = h5_write_set,
    .h5_write_tasks = h5_write_tasks,
    .h5_close = h5_close,
    .h5_load_task = h5_load_task,
    .h5_size = h5_size,
    .analyze = analyze,
    .code_result = code_result,
    .free_result = free_result,
    .result_group = "survival",
    .h5_write_result = h5_write_result,
    .print_result = print_result,
    .summary = summary,
};
