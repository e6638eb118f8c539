/* The "exchange" task kind (include/ripen/driver/kinds/exchange.h): the job entry, the records, the
 * epochs and the exchanges between them. exchange_write.c holds the result file and F(q). */
#include "exchange_internal.h"

#include "job_entry.h"
#include "json_read.h"
#include "ripen/engine/error.h"
#include "ripen/fe/fe.h"
#include "ripen/engine/order_parameter.h"
#include "ripen/engine/philox.h"
#include "ripen/driver/kinds/windows.h"
#include "shell_check.h"
#include "task_runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const keys[] = {
    "name",     "q_min",           "q_max",           "width",
    "overlap",  "layer_sites",     "ladder",          "equilibration_steps",
    "interval", "epochs",          "sample_interval", "tilt",
    "repeat",   "shell_tolerance", ENTRY_SYSTEM_KEYS, NULL};
static const char *const ladder_keys[] = {"eps_scale", "mu_shell", NULL};

/* ---- the rules ---- */

/* The windows of the set, in the windows kind's terms (its grid rules apply unchanged). */
static window_set_spec grid_of(const exchange_spec *x) {
    return (window_set_spec){.q_min = x->q_min,
                             .q_max = x->q_max,
                             .width = x->width,
                             .overlap = x->overlap,
                             .nwindows = x->nwindows,
                             .layer_sites = x->layer_sites};
}

/* The model of rung r: the shell's cohesion scaled, its own mu_shell, the given mu_core. */
static model_params rung_model(const exchange_spec *x, const model_params *model, int r,
                               double mu_core) {
    model_params p = *model;
    p.eps_shell *= x->eps_scale[r], p.eps_interface *= x->eps_scale[r];
    p.mu_shell = x->mu_shell[r], p.mu_core = mu_core;
    return p;
}

static void set_grid(exchange_spec *x, const window_set_spec *g) {
    x->q_min = g->q_min, x->q_max = g->q_max, x->width = g->width, x->overlap = g->overlap;
    x->nwindows = g->nwindows, x->layer_sites = g->layer_sites;
}

exchange_state exchange_state_of(const exchange_spec *spec, const model_params *model, int w, int r,
                                 double mu_core) {
    const model_params p = rung_model(spec, model, r, mu_core);
    exchange_state st = {.weights = model_energy_weights(&p)};
    const window_set_spec grid = grid_of(spec);
    window_bounds(&grid, w, &st.lo, &st.hi);
    return st;
}

double exchange_log_acceptance(const exchange_state *a, const exchange_state *b,
                               const site_counts *xa, const site_counts *xb, int64_t core0) {
    const double after = exchange_u(a, xb, core0) + exchange_u(b, xa, core0);
    if (!isfinite(after)) return -INFINITY;
    const double delta = after - exchange_u(a, xa, core0) - exchange_u(b, xb, core0);
    return delta > 0 ? -delta : 0.0;
}

int exchange_pairs(const exchange_spec *spec, int epoch, int *first, int *other) {
    /* after epoch e: even windows, then even rungs, odd windows, odd rungs (windows alone
     * alternate even and odd) */
    const int kinds = spec->nrungs > 1 ? 4 : 2;
    const int type = (epoch - 1) % kinds;
    const int along_rungs = kinds == 4 && (type == 1 || type == 3);
    const int parity = kinds == 4 ? type / 2 : type;
    const int K = spec->nwindows, n = 0;
    int count = n;
    for (int r = 0; r < spec->nrungs; ++r)
        for (int w = 0; w < K; ++w) {
            const int index = along_rungs ? r : w, limit = along_rungs ? spec->nrungs : K;
            if (index % 2 != parity || index + 1 >= limit) continue;
            first[count] = r * K + w;
            other[count] = along_rungs ? (r + 1) * K + w : r * K + w + 1;
            ++count;
        }
    return count;
}

/* ---- the job file ---- */

static int parse_list(const cJSON *ladder, const char *key, const char *path, double lo, double hi,
                      double *out, int *n) {
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(ladder, key);
    if (!list) return RIPEN_OK;
    char where[1200];
    json_path_join(where, sizeof where, path, key);
    const int count = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : -1;
    if (count < 2 || count > EXCHANGE_MAX_RUNGS)
        return ripen_fail(RIPEN_EINVAL,
                          "%s: must list 2 to %d rungs, the physical one first (a ladder of one "
                          "state exchanges with nothing)",
                          where, EXCHANGE_MAX_RUNGS);
    if (*n && *n != count)
        return ripen_fail(RIPEN_EINVAL, "%s: %d rungs, but the ladder's other list has %d", where,
                          count, *n);
    for (int k = 0; k < count; ++k) {
        const cJSON *v = cJSON_GetArrayItem(list, k);
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi))
            return ripen_fail(RIPEN_EINVAL, "%s[%d]: must be a number in [%g, %g]", where, k, lo,
                              hi);
        out[k] = v->valuedouble;
    }
    *n = count;
    return RIPEN_OK;
}

static int parse_ladder(const cJSON *obj, const char *path, const system_spec *system,
                        exchange_spec *x) {
    x->nrungs = 1;
    x->eps_scale[0] = 1.0, x->mu_shell[0] = system->model.mu_shell;
    const cJSON *ladder = cJSON_GetObjectItemCaseSensitive(obj, "ladder");
    if (!ladder) return RIPEN_OK;
    char where[1100];
    json_path_join(where, sizeof where, path, "ladder");
    int status, n = 0;
    double scale[EXCHANGE_MAX_RUNGS], mu[EXCHANGE_MAX_RUNGS];
    if ((status = json_require_object(ladder, where)) ||
        (status = json_check_keys(ladder, where, ladder_keys)) ||
        (status = parse_list(ladder, "eps_scale", where, 0.0, 10.0, scale, &n)) ||
        (status = parse_list(ladder, "mu_shell", where, -1000.0, 1000.0, mu, &n)))
        return status;
    if (n == 0)
        return ripen_fail(RIPEN_EINVAL, "%s: give \"eps_scale\" or \"mu_shell\" (or both)", where);
    const int has_scale = cJSON_HasObjectItem(ladder, "eps_scale");
    const int has_mu = cJSON_HasObjectItem(ladder, "mu_shell");
    for (int k = 0; k < n; ++k) {
        x->eps_scale[k] = has_scale ? scale[k] : 1.0;
        x->mu_shell[k] = has_mu ? mu[k] : system->model.mu_shell;
    }
    if (x->eps_scale[0] != 1.0 || x->mu_shell[0] != system->model.mu_shell)
        return ripen_fail(RIPEN_EINVAL,
                          "%s: the first rung must be the physical system (eps_scale 1, mu_shell "
                          "%g): F(q) is reweighted to it",
                          where, system->model.mu_shell);
    x->nrungs = n;
    return RIPEN_OK;
}

static int parse(const cJSON *obj, const char *path, task_set *set) {
    exchange_spec *x = calloc(1, sizeof *x);
    if (!(set->spec = x)) return ripen_fail(RIPEN_ENOMEM, "out of memory");
    *x = (exchange_spec){.q_min = -4,
                         .q_max = 24,
                         .width = 4,
                         .overlap = 2,
                         .equilibration_steps = 1000,
                         .interval = 1000,
                         .epochs = 100,
                         .sample_interval = 10,
                         .shell_tolerance = SHELL_TOLERANCE_DEFAULT};
    window_set_spec grid = grid_of(x);
    int64_t epochs = x->epochs, repeat = 0;
    int status;
    if ((status = json_get_string(obj, "name", path, set->name, sizeof set->name)) ||
        (status = window_grid_parse(obj, path, &grid)) ||
        (status = json_get_uint(obj, "equilibration_steps", path, 1, (uint64_t)JOB_MAX_STEPS,
                                &x->equilibration_steps)) ||
        (status = json_get_uint(obj, "interval", path, 1, (uint64_t)JOB_MAX_STEPS, &x->interval)) ||
        (status = json_get_int(obj, "epochs", path, 1, 100000, &epochs)) ||
        (status = json_get_uint(obj, "sample_interval", path, 1, (uint64_t)JOB_MAX_STEPS,
                                &x->sample_interval)) ||
        (status = json_get_bool(obj, "tilt", path, &x->tilt)) ||
        (status = json_get_int(obj, "repeat", path, 0, JOB_MAX_SWEEP_POINTS, &repeat)) ||
        (status = json_get_double(obj, "shell_tolerance", path, SHELL_TOLERANCE_MIN,
                                  SHELL_TOLERANCE_MAX, &x->shell_tolerance)) ||
        (status = job_entry_system(obj, path, &set->system)) ||
        (status = parse_ladder(obj, path, &set->system, x)))
        return status;
    set_grid(x, &grid);
    x->epochs = (int)epochs, x->repeat = (int)repeat;
    if (x->sample_interval > x->interval)
        return ripen_fail(RIPEN_EINVAL,
                          "%s.sample_interval = %llu: must not exceed interval = %llu", path,
                          (unsigned long long)x->sample_interval, (unsigned long long)x->interval);
    if (x->tilt && x->equilibration_steps < WINDOW_TILT_MIN_EQUILIBRATION)
        return ripen_fail(RIPEN_EINVAL, "%s.tilt: needs equilibration_steps >= %d", path,
                          WINDOW_TILT_MIN_EQUILIBRATION);
    return job_entry_name(obj, path, set->name, sizeof set->name);
}

static int prepare(task_set *set, const char *path, const initial_report *report) {
    exchange_spec *x = set->spec;
    window_set_spec grid = grid_of(x);
    const int status = window_grid_prepare(&grid, path, report, &set->system);
    if (status) return status;
    set_grid(x, &grid);
    for (int r = 0; r < x->nrungs; ++r) {
        const model_params p = rung_model(x, &set->system.model, r, set->system.model.mu_core);
        if (model_params_validate(&p))
            return ripen_fail_context(RIPEN_EINVAL, "%s.ladder rung %d: ", path, r);
    }
    const int64_t states = (int64_t)x->nwindows * x->nrungs;
    if (states > FE_MAX_WINDOWS)
        return ripen_fail(RIPEN_EINVAL,
                          "%s: %d windows x %d rungs = %lld states: at most %d (MBAR solves for "
                          "every state's free energy)",
                          path, x->nwindows, x->nrungs, (long long)states, FE_MAX_WINDOWS);
    set->nstages = x->epochs + 1;
    set->ntasks = states * (x->epochs + 1);
    const int steps =
        job_entry_check_steps(path, "equilibration_steps", x->equilibration_steps, &set->system);
    return steps ? steps : job_entry_check_steps(path, "interval", x->interval, &set->system);
}

static void free_spec(void *spec) {
    free(spec);
}

int exchange_states(const task_set *set) {
    return exchange_of(set)->nwindows * exchange_of(set)->nrungs;
}

static void task(const task_set *set, int64_t member, int *stage, double *cost) {
    const exchange_spec *x = exchange_of(set);
    *stage = (int)(member / exchange_states(set));
    const double sites = (double)set->system.lx * set->system.ly * set->system.lz;
    *cost = sites * (double)(*stage == 0 ? x->equilibration_steps : x->interval);
}

int64_t exchange_samples_per_epoch(const exchange_spec *x) {
    return (int64_t)(x->interval / x->sample_interval);
}

static double output_bytes(const task_set *set) {
    const exchange_spec *x = exchange_of(set);
    return (double)set->ntasks * (double)exchange_samples_per_epoch(x) * EXCHANGE_FIELDS * 4;
}

static void describe(const task_set *set) {
    const exchange_spec *x = exchange_of(set);
    printf("  exchange %s: %d windows over q in [%d, %d] x %d rung(s); %llu equilibration steps, "
           "then %d epochs of %llu steps with exchanges between them%s\n",
           set->name, x->nwindows, x->q_min, x->q_max, x->nrungs,
           (unsigned long long)x->equilibration_steps, x->epochs, (unsigned long long)x->interval,
           x->tilt ? ", tilted" : "");
}

/* ---- the record ---- */

static int record_init(const task_set *set, int64_t member, task_record *r) {
    exchange_result *x = calloc(1, sizeof *x);
    if (!(r->data = x)) return RIPEN_ENOMEM;
    const int S = exchange_states(set);
    x->epoch = (int32_t)(member / S), x->state = (int32_t)(member % S);
    x->replica = x->state, x->source = -1;
    x->mu_core = set->system.model.mu_core;
    x->tilt = q_tilt_start();
    const int64_t n = x->epoch == 0 ? 0 : exchange_samples_per_epoch(exchange_of(set));
    x->samples = calloc((size_t)(n ? n : 1) * EXCHANGE_FIELDS, sizeof *x->samples);
    return x->samples ? RIPEN_OK : RIPEN_ENOMEM;
}

static void record_free(task_record *r) {
    exchange_result *x = r->data;
    free(x->samples), free(x);
    r->data = NULL;
}

static void code(codec *c, const task_set *set, int64_t member, task_record *r) {
    (void)member;
    exchange_result *x = r->data;
    codec_scalar(c, &x->epoch, sizeof x->epoch);
    codec_scalar(c, &x->state, sizeof x->state);
    codec_scalar(c, &x->replica, sizeof x->replica);
    codec_scalar(c, &x->source, sizeof x->source);
    codec_scalar(c, &x->mu_core, sizeof x->mu_core);
    codec_scalar(c, &x->tilt, sizeof x->tilt);
    codec_scalar(c, &x->final, sizeof x->final);
    codec_scalar(c, &x->nsamples, sizeof x->nsamples);
    const int64_t limit = exchange_samples_per_epoch(exchange_of(set)) * EXCHANGE_FIELDS;
    int64_t room = limit;
    codec_array(c, (void **)&x->samples, sizeof *x->samples, x->nsamples * EXCHANGE_FIELDS, &room,
                limit);
}

/* ---- the plan: the exchange before an epoch ---- */

/* Epoch e's plan from epoch e - 1's records: the exchanges decided, then per state where its
 * configuration comes from. */
int exchange_plan(const job *j, const task_set *set, int epoch, task_loader load, void *context,
                  byte_buffer *out) {
    const exchange_spec *x = exchange_of(set);
    const int S = exchange_states(set);
    exchange_plan_state *p = calloc((size_t)S, sizeof *p);
    int *first = malloc(sizeof *first * (size_t)S), *other = malloc(sizeof *other * (size_t)S);
    int status = p && first && other ? RIPEN_OK : ripen_fail(RIPEN_ENOMEM, "out of memory");
    int64_t core0 = 0;
    for (int s = 0; s < S && !status; ++s) {
        const int64_t id = set->first_task + (int64_t)(epoch - 1) * S + s;
        task_record r;
        status = task_record_init(&r, j, id);
        if (!status) status = load(context, id, &r);
        if (!status) {
            const exchange_result *y = r.data;
            p[s] = (exchange_plan_state){
                .source = id, .replica = y->replica, .mu_core = y->mu_core, .counts = y->final};
            core0 = r.core_initial;
        }
        task_record_free(&r);
    }
    const int npairs = status ? 0 : exchange_pairs(x, epoch, first, other);
    int64_t header[2] = {S, npairs};
    if (!status) status = byte_buffer_put(out, header, sizeof header);
    for (int k = 0; k < npairs && !status; ++k) {
        const int a = first[k], b = other[k];
        const exchange_state sa = exchange_state_of(x, &set->system.model, a % x->nwindows,
                                                    a / x->nwindows, p[a].mu_core);
        const exchange_state sb = exchange_state_of(x, &set->system.model, b % x->nwindows,
                                                    b / x->nwindows, p[b].mu_core);
        const double log_acc = exchange_log_acceptance(&sa, &sb, &p[a].counts, &p[b].counts, core0);
        philox_stream u;
        philox_stream_init(&u, philox_key_from_seed(j->seed), (uint64_t)epoch,
                           (uint32_t)(set->first_task + k), PURPOSE_EXCHANGE);
        const int accepted = log(1.0 - philox_stream_uniform(&u)) < log_acc;
        if (accepted) { /* the configurations (with their replica labels) swap states */
            const exchange_plan_state held = p[a];
            p[a].source = p[b].source, p[a].replica = p[b].replica, p[a].counts = p[b].counts;
            p[b].source = held.source, p[b].replica = held.replica, p[b].counts = held.counts;
        }
        const int64_t record[3] = {a, b, accepted};
        status = byte_buffer_put(out, record, sizeof record);
    }
    if (!status) status = byte_buffer_put(out, p, sizeof *p * (size_t)S);
    free(p), free(first), free(other);
    return status;
}

int exchange_read_plan(const task_inputs *in, int states, const exchange_plan_state **p,
                       const int64_t **pairs, int64_t *npairs) {
    int64_t header[2];
    if (!in || !in->plan || in->plan_size < sizeof header)
        return ripen_fail(RIPEN_EINVAL, "exchange: an epoch without a plan");
    memcpy(header, in->plan, sizeof header);
    const size_t expected = sizeof header + (size_t)header[1] * 3 * sizeof(int64_t) +
                            (size_t)states * sizeof(exchange_plan_state);
    if (header[0] != states || header[1] < 0 || in->plan_size != expected)
        return ripen_fail(RIPEN_EINVAL, "exchange: a damaged plan");
    *npairs = header[1];
    *pairs = (const int64_t *)((const uint8_t *)in->plan + sizeof header);
    *p = (const exchange_plan_state *)((const uint8_t *)in->plan + sizeof header +
                                       (size_t)header[1] * 3 * sizeof(int64_t));
    return RIPEN_OK;
}

/* ---- running ---- */

static model_params state_model(const task_set *set, int s, double mu_core) {
    const exchange_spec *x = exchange_of(set);
    return rung_model(x, &set->system.model, s / x->nwindows, mu_core);
}

/* Epoch 0: the initial particle brought into the window, equilibrated, a tilt tuned. */
static int equilibrate(const task_set *set, task_record *r, task_sim *s, task_runtime *rt,
                       int fresh) {
    const exchange_spec *x = exchange_of(set);
    exchange_result *y = r->data;
    const exchange_state st = exchange_state_of(x, &set->system.model, y->state % x->nwindows,
                                                y->state / x->nwindows, y->mu_core);
    int status = fresh ? q_drive_into_window(&s->rep, r->core_initial, st.lo, st.hi) : RIPEN_OK;
    if (!status) status = q_window_apply(&s->rep, r->core_initial, st.lo, st.hi);
    const uint64_t round = q_tilt_round(x->equilibration_steps);
    while (!status && s->rep.step < x->equilibration_steps) {
        dynamics_run(&s->dyn, &s->rep, 1);
        if (x->tilt && s->rep.step <= round * WINDOW_TILT_ROUNDS) {
            q_tilt_record(&y->tilt, q_value(&s->rep, r->core_initial), st.lo);
            if (s->rep.step % round == 0) {
                const double next = q_tilt_next(&y->tilt, y->mu_core, st.lo, st.hi);
                if (next != y->mu_core) {
                    y->mu_core = next;
                    const model_params p = state_model(set, y->state, y->mu_core);
                    status = task_sim_use_model(s, &p);
                }
            }
        }
        if (!status) status = task_between_steps(rt, s, r);
    }
    return status;
}

/* An epoch: `interval` steps in the state, sampled. */
static int sample_epoch(const task_set *set, task_record *r, task_sim *s, task_runtime *rt) {
    const exchange_spec *x = exchange_of(set);
    exchange_result *y = r->data;
    const exchange_state st = exchange_state_of(x, &set->system.model, y->state % x->nwindows,
                                                y->state / x->nwindows, y->mu_core);
    int status = q_window_apply(&s->rep, r->core_initial, st.lo, st.hi);
    while (!status && s->rep.step < x->interval) {
        dynamics_run(&s->dyn, &s->rep, 1);
        if (s->rep.step % x->sample_interval == 0) {
            int32_t *row = y->samples + y->nsamples * EXCHANGE_FIELDS;
            const site_counts *c = &s->rep.counts;
            row[0] = (int32_t)c->ncore, row[1] = (int32_t)c->nshell;
            row[2] = (int32_t)c->bonds_cc, row[3] = (int32_t)c->bonds_ss;
            row[4] = (int32_t)c->bonds_cs;
            row[5] = (int32_t)replica_exposed_core(&s->rep);
            y->nsamples++;
        }
        status = task_between_steps(rt, s, r);
    }
    return status;
}

/* An epoch's start: the configuration the plan moved into this state, at step 0. */
static int take_over(const job *j, const task_set *set, task_record *r, const task_inputs *in) {
    exchange_result *y = r->data;
    const exchange_plan_state *p = NULL;
    const int64_t *pairs = NULL;
    int64_t npairs = 0;
    int status = exchange_read_plan(in, exchange_states(set), &p, &pairs, &npairs);
    if (status) return status;
    const exchange_plan_state *mine = &p[y->state];
    task_record from;
    status = task_record_init(&from, j, mine->source);
    if (!status) status = in->load(in->load_context, mine->source, &from);
    if (!status && !from.states)
        status =
            ripen_fail(RIPEN_EIO, "exchange: task %lld kept no lattice", (long long)mine->source);
    if (!status) {
        /* the state's own mu_core stays with the state; the configuration and its label move */
        y->source = mine->source, y->replica = mine->replica, y->mu_core = mine->mu_core;
        r->core_initial = from.core_initial, r->shell_initial = from.shell_initial;
        r->reservoir_core = from.reservoir_core, r->reservoir_shell = from.reservoir_shell;
        r->states = from.states, from.states = NULL;
    }
    task_record_free(&from);
    return status;
}

static int run(const job *j, const task_set *set, int64_t member, task_record *r,
               task_runtime *rt) {
    (void)member;
    exchange_result *y = r->data;
    int status = RIPEN_OK;
    if (y->epoch > 0 && r->step == 0 && !r->states) status = take_over(j, set, r, rt->inputs);
    if (status) return status;
    task_sim s;
    if ((status = task_sim_open(&s, &set->system, j->seed, (uint32_t)r->id))) return status;
    int fresh;
    status = task_sim_start(&s, &set->system, r, &fresh);
    const model_params p = state_model(set, y->state, y->mu_core);
    if (!status) status = task_sim_use_model(&s, &p);
    if (!status)
        status = y->epoch == 0 ? equilibrate(set, r, &s, rt, fresh) : sample_epoch(set, r, &s, rt);
    if (!status) {
        r->step = s.rep.step;
        y->final = s.rep.counts;
        replica_store_states(&s.rep, r->states); /* kept: the next epoch starts from it */
    }
    task_sim_close(&s);
    return status;
}

const task_kind task_kind_exchange = {
    .key = "exchange",
    .entry = "exchange",
    .task_noun = "exchange state-epoch",
    .set_noun = "exchange set",
    .description = "umbrella windows that exchange configurations, with a ladder in the shell's "
                   "cohesion, for F(q)",
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
    .plan = exchange_plan,
    .h5_create = exchange_h5_create,
    .h5_write_set = exchange_h5_write_set,
    .h5_write_tasks = exchange_h5_write_tasks,
    .h5_close = exchange_h5_close,
    .h5_load_task = exchange_h5_load_task,
    .h5_size = exchange_h5_size,
    .analyze = exchange_analyze,
    .analysis_cost = exchange_analysis_cost,
    .code_result = exchange_code_result,
    .free_result = exchange_free_result,
    .result_group = "fq",
    .h5_write_result = exchange_h5_write_result,
    .print_result = exchange_print_result,
    .warn_result = exchange_warn_result,
    .summary = exchange_summary,
};
