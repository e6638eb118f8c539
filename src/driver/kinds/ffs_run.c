/* Forward flux sampling's runs (ffs.h): stage-0 walkers, trial shots, and the plan that hands a
 * stage's stored configurations to the next. */
#include "ffs_internal.h"

#include "ripen/engine/error.h"
#include "task_runtime.h"

#include <stdlib.h>
#include <string.h>

/* ---- the plan: every configuration the previous stage stored ---- */

typedef struct {
    int64_t task, index, root;
} config_ref;

int ffs_plan(const job *j, const task_set *set, int stage, task_loader load, void *context,
             byte_buffer *plan) {
    const int64_t first = ffs_stage_first(set, stage - 1);
    const int tasks = ffs_stage_tasks(set, stage - 1);
    int64_t count = 0;
    int status = byte_buffer_put(plan, &count, sizeof count);
    for (int k = 0; k < tasks && !status; ++k) {
        task_record r;
        status = task_record_init(&r, j, first + k);
        if (!status) status = load(context, first + k, &r);
        const ffs_result *x = r.data;
        for (int64_t c = 0; !status && c < x->nconfigs; ++c) {
            const config_ref ref = {first + k, c, x->config_root[c]};
            status = byte_buffer_put(plan, &ref, sizeof ref);
            ++count;
        }
        task_record_free(&r);
    }
    if (!status) memcpy(plan->data, &count, sizeof count);
    return status;
}

static int read_plan(const task_inputs *in, int64_t *count, const config_ref **refs) {
    if (!in || !in->plan || in->plan_size < sizeof(int64_t))
        return ripen_fail(RIPEN_EINVAL, "ffs: a shot task has no plan");
    memcpy(count, in->plan, sizeof *count);
    if (*count < 0 || in->plan_size != sizeof(int64_t) + (size_t)*count * sizeof(config_ref))
        return ripen_fail(RIPEN_EINVAL, "ffs: a damaged plan");
    *refs = (const config_ref *)((const uint8_t *)in->plan + sizeof(int64_t));
    return RIPEN_OK;
}

/* ---- watching λ ---- */

typedef struct {
    const ffs_spec *f;
    lambda_tracker lambda;
    ffs_result *x;
    int64_t nsites;
    int64_t upper;     /* shots: success at λ >= upper; walkers: the target λ_n */
    int64_t quota;     /* walkers: crossings to collect */
    int walker;        /* 1: a walker; 0: a shot */
    int reached_upper; /* the move that stopped the run reached `upper` */
    int64_t value;     /* λ after the last move */
    int status;        /* an error inside the watch (out of memory storing a crossing) */
    int64_t root;      /* a walker's task id */
} watch_state;

/* The segment time right after attempt `attempt` of the current step. */
static double time_after(const replica *r, uint64_t attempt) {
    return (double)r->step + (double)(attempt + 1) / (double)r->lat->nsites;
}

/* A walker is done once it has its crossings and the excursion of the last one is decided
 * (back in A, or at the target): then its time holds whole cycles of waiting and excursion. */
static int walker_done(const ffs_result *x, int64_t quota) {
    return x->crossings >= quota && x->excursion_start < 0;
}

static int on_walker_move(watch_state *w, const replica *r, uint64_t attempt) {
    ffs_result *x = w->x;
    if (x->from_basin && w->value >= w->f->lambda[0]) {
        uint8_t *states = malloc((size_t)w->nsites);
        if (!states) {
            w->status = ripen_fail(RIPEN_ENOMEM, "out of memory storing a crossing");
            return 1;
        }
        replica_store_states(r, states);
        const ffs_config_info info = {.lambda = w->value,
                                      .parent_task = -1,
                                      .parent_index = -1,
                                      .root = w->root,
                                      .shell = r->counts.nshell,
                                      .exposed = replica_exposed_core(r)};
        w->status = ffs_add_config(x, w->nsites, states, &info);
        free(states);
        x->from_basin = 0;
        x->crossings++;
        x->excursion_start = time_after(r, attempt);
        if (w->status) return 1;
    }
    if (w->value <= w->f->basin) { /* back in A: the excursion failed, its time counts */
        x->from_basin = 1;
        x->excursion_start = -1;
        return x->crossings >= w->quota;
    }
    if (w->value >= w->upper) return w->reached_upper = 1;
    return 0;
}

static int on_move(void *context, const replica *r, uint64_t attempt) {
    watch_state *w = context;
    w->value = lambda_measure(&w->lambda, r);
    if (w->walker) return on_walker_move(w, r, attempt);
    if (w->value >= w->upper) return w->reached_upper = 1;
    return w->value <= w->f->basin;
}

static double stop_time(const replica *r) {
    return time_after(r, r->stopped_attempt);
}

/* ---- stage 0: walkers ---- */

/* Ends the running segment after `elapsed` MC steps: an excursion that reached the target is
 * left out of the walker's time (h_A, and the transit time adds it back); at the step limit an
 * undecided excursion is left out too (counting it would presume it fails). */
static void end_segment(ffs_result *x, double elapsed, int at_target) {
    const double counted = x->excursion_start >= 0 ? x->excursion_start : elapsed;
    x->time += counted;
    x->excursion_time += at_target ? elapsed - counted : 0;
    x->excursion_start = -1;
}

/* One segment of walker `w`: from the record's lattice (a checkpoint) or the initial particle,
 * until the walker is done, reaches the target (it starts again from the initial particle) or
 * the step limit. */
static int run_segment(const job *j, const task_set *set, int64_t w, task_record *r,
                       task_runtime *rt, int64_t quota, int *again) {
    const ffs_spec *f = ffs_of(set);
    ffs_result *x = r->data;
    task_sim s;
    int status =
        task_sim_open(&s, &set->system, j->seed, ffs_walker_stream(set, (int)w, x->segment));
    if (status) return status;
    int fresh;
    status = task_sim_start(&s, &set->system, r, &fresh);
    watch_state ws = {.f = f,
                      .x = x,
                      .nsites = r->nsites,
                      .upper = f->lambda[f->ninterfaces],
                      .quota = quota,
                      .walker = 1,
                      .root = r->id};
    if (!status) status = lambda_init_origin(&ws.lambda, f->measure, &s.rep, f->origin);
    if (!status && fresh) x->from_basin = lambda_measure(&ws.lambda, &s.rep) <= f->basin;
    const replica_watch hook = {.on_move = on_move, .context = &ws};
    s.rep.watch = &hook;
    *again = 0;
    while (!status && !walker_done(x, quota) &&
           ffs_walker_elapsed(x) + (double)s.rep.step < f->max_walker_steps) {
        dynamics_run(&s.dyn, &s.rep, 1);
        if (ws.status) status = ws.status;
        if (status || !s.rep.stopped) {
            if (!status) status = task_between_steps(rt, &s, r);
            continue;
        }
        end_segment(x, stop_time(&s.rep), ws.reached_upper);
        if (ws.reached_upper) { /* the target: a new segment from the initial particle */
            x->resets++, x->segment++;
            *again = x->segment < FFS_MAX_SEGMENTS;
        }
        free(r->states);
        r->states = NULL, r->step = 0;
        break;
    }
    if (!status && r->states && !s.rep.stopped) { /* done by an earlier segment, or the limit */
        end_segment(x, (double)s.rep.step, 0);
        free(r->states);
        r->states = NULL, r->step = 0;
    }
    s.rep.watch = NULL;
    lambda_free(&ws.lambda);
    task_sim_close(&s);
    return status;
}

static int run_walker(const job *j, const task_set *set, int64_t member, task_record *r,
                      task_runtime *rt) {
    const ffs_spec *f = ffs_of(set);
    const int64_t quota = ffs_walker_quota(f, member);
    ffs_result *x = r->data;
    int status = RIPEN_OK, again = 1;
    while (!status && again && !walker_done(x, quota) &&
           ffs_walker_elapsed(x) < f->max_walker_steps)
        status = run_segment(j, set, member, r, rt, quota, &again);
    return status;
}

/* ---- stages 1..n: shots ---- */

/* The records of the previous stage, loaded once each as shots pick from them. */
typedef struct {
    task_record *records;
    int64_t first;
    int count;
} source_cache;

/* The configuration `ref` names: its states and what was stored with it (its parent and root
 * not filled in). */
static int source_config(const job *j, const task_inputs *in, source_cache *cache,
                         const config_ref *ref, const uint8_t **states, ffs_config_info *info) {
    const int64_t k = ref->task - cache->first;
    if (k < 0 || k >= cache->count)
        return ripen_fail(RIPEN_EINVAL, "ffs: a plan names task %lld outside the stage",
                          (long long)ref->task);
    task_record *r = &cache->records[k];
    if (!r->data) {
        int status = task_record_init(r, j, ref->task);
        if (!status) status = in->load(in->load_context, ref->task, r);
        if (status) return status;
    }
    const ffs_result *x = r->data;
    if (ref->index < 0 || ref->index >= x->nconfigs)
        return ripen_fail(RIPEN_EINVAL, "ffs: task %lld holds no configuration %lld",
                          (long long)ref->task, (long long)ref->index);
    *states = x->configs + ref->index * r->nsites;
    *info = (ffs_config_info){.lambda = x->config_lambda[ref->index],
                              .shell = x->config_shell[ref->index],
                              .exposed = x->config_exposed[ref->index]};
    return RIPEN_OK;
}

/* Shot g's start: a configuration of the pool, uniformly, from the shot's own stream. */
static int64_t pick(const job *j, uint32_t stream, int64_t count) {
    philox_stream p;
    philox_stream_init(&p, philox_key_from_seed(j->seed), 0, stream, PURPOSE_FFS_PICK);
    return (int64_t)philox_uniform_below(philox_stream_next(&p), (uint32_t)count, &p);
}

/* Which shots a task runs: a fixed share of `trials`, or every T-th shot until its share of
 * `successes` (at most max_trials shots in the stage). */
typedef struct {
    int64_t next, end, stride, quota;
} shot_range;

static shot_range shots_of(const ffs_spec *f, int64_t slot) {
    const int64_t T = f->shot_tasks;
    if (f->trials) return (shot_range){slot * f->trials / T, (slot + 1) * f->trials / T, 1, -1};
    return (shot_range){slot, f->max_trials, T, f->successes / T + (slot < f->successes % T)};
}

static int64_t successes_of(const ffs_result *x) {
    int64_t n = 0;
    for (int64_t k = 0; k < x->nshots; ++k) n += x->shot_outcome[k] == FFS_SUCCESS;
    return n;
}

/* Runs the shot the record holds (its lattice and step) to its end; stores what it gives. */
static int run_shot(const task_set *set, int stage, task_record *r, task_runtime *rt, task_sim *s) {
    const ffs_spec *f = ffs_of(set);
    ffs_result *x = r->data;
    s->rep.task = ffs_shot_stream(set, stage, x->next_shot);
    int status = task_sim_load(s, r->states, r->step);
    watch_state ws = {.f = f, .x = x, .nsites = r->nsites, .upper = f->lambda[stage]};
    if (!status) status = lambda_init_origin(&ws.lambda, f->measure, &s->rep, f->origin);
    const replica_watch hook = {.on_move = on_move, .context = &ws};
    s->rep.watch = &hook;
    int outcome = FFS_UNDECIDED;
    double steps = 0;
    while (!status) {
        dynamics_run(&s->dyn, &s->rep, 1);
        if (s->rep.stopped) {
            outcome = ws.reached_upper ? FFS_SUCCESS : FFS_FAILURE;
            steps = stop_time(&s->rep);
            break;
        }
        if (s->rep.step >= f->max_shot_steps) {
            steps = (double)s->rep.step;
            break;
        }
        status = task_between_steps(rt, s, r);
    }
    s->rep.watch = NULL;
    if (!status && outcome == FFS_SUCCESS) {
        replica_store_states(&s->rep, r->states);
        const ffs_config_info info = {.lambda = ws.value,
                                      .parent_task = x->source_task,
                                      .parent_index = x->source_index,
                                      .root = x->source_root,
                                      .shell = s->rep.counts.nshell,
                                      .exposed = replica_exposed_core(&s->rep)};
        status = ffs_add_config(x, r->nsites, r->states, &info);
    }
    if (!status)
        status = ffs_add_shot(x, x->source_task, x->source_index, x->source_root, outcome, steps);
    lambda_free(&ws.lambda);
    return status;
}

/* Starts shot x->next_shot: picks its configuration; a start already past the stage's upper
 * interface (a jumpy crossing) is a success at once. Sets *running if the shot must run. */
static int start_shot(const job *j, const task_set *set, int stage, task_record *r,
                      const task_inputs *in, source_cache *cache, int64_t count,
                      const config_ref *refs, int *running) {
    ffs_result *x = r->data;
    const config_ref *ref = &refs[pick(j, ffs_shot_stream(set, stage, x->next_shot), count)];
    const uint8_t *states = NULL;
    ffs_config_info info;
    int status = source_config(j, in, cache, ref, &states, &info);
    if (status) return status;
    x->source_task = ref->task, x->source_index = ref->index, x->source_root = ref->root;
    *running = info.lambda < ffs_of(set)->lambda[stage];
    if (!*running) { /* stored again as this stage's success, with its new ancestry */
        info.parent_task = ref->task, info.parent_index = ref->index, info.root = ref->root;
        status = ffs_add_config(x, r->nsites, states, &info);
        return status ? status : ffs_add_shot(x, ref->task, ref->index, ref->root, FFS_SUCCESS, 0);
    }
    if (!r->states && !(r->states = malloc((size_t)r->nsites)))
        return ripen_fail(RIPEN_ENOMEM, "out of memory for a shot");
    memcpy(r->states, states, (size_t)r->nsites);
    r->step = 0;
    x->in_shot = 1;
    return RIPEN_OK;
}

static int run_shots(const job *j, const task_set *set, int64_t member, task_record *r,
                     task_runtime *rt) {
    const ffs_spec *f = ffs_of(set);
    ffs_result *x = r->data;
    const int stage = x->stage;
    int64_t count = 0;
    const config_ref *refs = NULL;
    int status = read_plan(rt->inputs, &count, &refs);
    if (status || count == 0) return status; /* nothing reached λ_{s-1}: no shots */
    const int64_t slot = member - f->walkers - (int64_t)(stage - 1) * f->shot_tasks;
    const shot_range range = shots_of(f, slot);
    if (x->nshots == 0 && !x->in_shot) x->next_shot = range.next;
    source_cache cache = {.first = ffs_stage_first(set, stage - 1),
                          .count = ffs_stage_tasks(set, stage - 1)};
    cache.records = calloc((size_t)cache.count, sizeof *cache.records);
    task_sim s;
    if (!cache.records) status = ripen_fail(RIPEN_ENOMEM, "out of memory for the sources");
    if (!status) status = task_sim_open(&s, &set->system, j->seed, (uint32_t)r->id);
    if (!cache.records || status) {
        free(cache.records);
        return status;
    }
    while (!status && x->next_shot < range.end &&
           (range.quota < 0 || successes_of(x) < range.quota)) {
        int running = x->in_shot;
        if (!running)
            status = start_shot(j, set, stage, r, rt->inputs, &cache, count, refs, &running);
        if (!status && running) status = run_shot(set, stage, r, rt, &s);
        if (status) break;
        x->in_shot = 0;
        x->next_shot += range.stride;
        free(r->states);
        r->states = NULL, r->step = 0;
    }
    task_sim_close(&s);
    for (int k = 0; k < cache.count; ++k) task_record_free(&cache.records[k]);
    free(cache.records);
    return status;
}

int ffs_run(const job *j, const task_set *set, int64_t member, task_record *r, task_runtime *rt) {
    const ffs_result *x = r->data;
    const int status =
        x->stage == 0 ? run_walker(j, set, member, r, rt) : run_shots(j, set, member, r, rt);
    if (!status) {
        free(r->states);
        r->states = NULL;
    }
    return status;
}
