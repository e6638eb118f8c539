/* The "ffs" task kind (include/ripen/driver/kinds/ffs.h): forward flux sampling. This file holds
 * the job entry, the records and the runs; ffs_rate.c computes the rate and its errors, ffs_write.c
 * the result file. */
#include "ffs_internal.h"

#include "job_entry.h"
#include "json_read.h"
#include "ripen/engine/error.h"
#include "ripen/engine/order_parameter.h"
#include "shell_check.h"
#include "task_runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const keys[] = {"name",
                                   "order_parameter",
                                   "basin",
                                   "interfaces",
                                   "target",
                                   "crossings",
                                   "walkers",
                                   "trials",
                                   "successes",
                                   "max_trials",
                                   "shot_tasks",
                                   "max_walker_steps",
                                   "max_shot_steps",
                                   "paths",
                                   "shell_tolerance",
                                   ENTRY_SYSTEM_KEYS,
                                   NULL};

/* ---- the job file ---- */

static int parse_interfaces(const cJSON *obj, const char *path, ffs_spec *f) {
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(obj, "interfaces");
    char where[1100];
    json_path_join(where, sizeof where, path, "interfaces");
    const int n = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : -1;
    if (n < 1 || n > FFS_MAX_INTERFACES)
        return ripen_fail(RIPEN_EINVAL,
                          "%s: must be a list of 1 to %d interfaces λ_0 < λ_1 < ... (sites grown, "
                          "below the target)",
                          where, FFS_MAX_INTERFACES);
    for (int k = 0; k < n; ++k) {
        const cJSON *v = cJSON_GetArrayItem(list, k);
        const double x = cJSON_IsNumber(v) ? v->valuedouble : 0.5;
        if (!cJSON_IsNumber(v) || x != floor(x) || fabs(x) > LATTICE_MAX_SITES)
            return ripen_fail(RIPEN_EINVAL, "%s[%d]: must be an integer (sites grown)", where, k);
        f->lambda[k] = (int64_t)x;
        if (k > 0 && f->lambda[k] <= f->lambda[k - 1])
            return ripen_fail(RIPEN_EINVAL,
                              "%s[%d] = %lld: interfaces must increase (after %lld); none may "
                              "repeat",
                              where, k, (long long)f->lambda[k], (long long)f->lambda[k - 1]);
    }
    f->ninterfaces = n;
    return RIPEN_OK;
}

static int parse_target(const cJSON *obj, const char *path, ffs_spec *f) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "target");
    snprintf(f->target, sizeof f->target, "layer");
    if (!t) return RIPEN_OK;
    if (cJSON_IsString(t) &&
        (!strcmp(t->valuestring, "layer") || !strcmp(t->valuestring, "doubling"))) {
        snprintf(f->target, sizeof f->target, "%s", t->valuestring);
        return RIPEN_OK;
    }
    if (cJSON_IsNumber(t) && t->valuedouble == floor(t->valuedouble) && t->valuedouble >= 1 &&
        t->valuedouble <= LATTICE_MAX_SITES) {
        snprintf(f->target, sizeof f->target, "%lld", (long long)t->valuedouble);
        return RIPEN_OK;
    }
    return ripen_fail(RIPEN_EINVAL,
                      "%s.target: must be \"layer\" (one new layer), \"doubling\" (the initial "
                      "size again) or a number of sites grown",
                      path);
}

/* The counts the walkers and the bootstrap over them need: each walker collects at least one
 * crossing (a walker with none adds time only), and the 95% interval resamples >= 2 walkers. */
static int check_counts(const cJSON *obj, const char *path, const ffs_spec *f) {
    if (f->crossings < f->walkers)
        return ripen_fail(RIPEN_EINVAL,
                          "%s: crossings = %lld is fewer than walkers = %d: each walker must "
                          "collect at least one crossing of λ_0",
                          path, (long long)f->crossings, f->walkers);
    if (cJSON_HasObjectItem(obj, "trials") && cJSON_HasObjectItem(obj, "successes"))
        return ripen_fail(RIPEN_EINVAL,
                          "%s: give \"trials\" (shots per interface) or \"successes\" (run until "
                          "that many), not both",
                          path);
    if (!f->trials && f->successes > f->max_trials)
        return ripen_fail(RIPEN_EINVAL, "%s.successes = %lld: more than max_trials = %lld", path,
                          (long long)f->successes, (long long)f->max_trials);
    return RIPEN_OK;
}

static int parse(const cJSON *obj, const char *path, task_set *set) {
    ffs_spec *f = calloc(1, sizeof *f);
    if (!(set->spec = f)) return ripen_fail(RIPEN_ENOMEM, "out of memory");
    *f = (ffs_spec){.measure = LAMBDA_CLUSTER,
                    .basin = 0,
                    .crossings = 200,
                    .walkers = 8,
                    .trials = 0,
                    .successes = 100,
                    .max_trials = 100000,
                    .shot_tasks = 8,
                    .max_walker_steps = 100000000,
                    .max_shot_steps = 10000000,
                    .paths = 2,
                    .shell_tolerance = SHELL_TOLERANCE_DEFAULT};
    char measure[32] = "cluster";
    int64_t walkers = f->walkers, shot_tasks = f->shot_tasks, paths = f->paths;
    int status;
    /* basin >= 0: the walkers start from the initial particle (λ = 0), which must lie in A */
    if ((status = json_get_string(obj, "name", path, set->name, sizeof set->name)) ||
        (status = json_get_string(obj, "order_parameter", path, measure, sizeof measure)) ||
        (status = json_get_int(obj, "basin", path, 0, LATTICE_MAX_SITES, &f->basin)) ||
        (status = parse_interfaces(obj, path, f)) || (status = parse_target(obj, path, f)) ||
        (status = json_get_int(obj, "crossings", path, 1, 10000000, &f->crossings)) ||
        (status = json_get_int(obj, "walkers", path, 2, 100000, &walkers)) ||
        (status = json_get_int(obj, "trials", path, 1, 100000000, &f->trials)) ||
        (status = json_get_int(obj, "successes", path, 1, 10000000, &f->successes)) ||
        (status = json_get_int(obj, "max_trials", path, 1, 100000000, &f->max_trials)) ||
        (status = json_get_int(obj, "shot_tasks", path, 1, 100000, &shot_tasks)) ||
        (status = json_get_uint(obj, "max_walker_steps", path, 1, (uint64_t)JOB_MAX_STEPS,
                                &f->max_walker_steps)) ||
        (status = json_get_uint(obj, "max_shot_steps", path, 1, (uint64_t)JOB_MAX_STEPS,
                                &f->max_shot_steps)) ||
        (status = json_get_int(obj, "paths", path, 0, 100, &paths)) ||
        (status = json_get_double(obj, "shell_tolerance", path, SHELL_TOLERANCE_MIN,
                                  SHELL_TOLERANCE_MAX, &f->shell_tolerance)) ||
        (status = job_entry_system(obj, path, &set->system)))
        return status;
    f->walkers = (int)walkers, f->shot_tasks = (int)shot_tasks, f->paths = (int)paths;
    const int kind = model_lookup_name(lambda_kind_names, LAMBDA_KINDS, measure);
    if (kind < 0)
        return ripen_fail(RIPEN_EINVAL,
                          "%s.order_parameter = \"%s\": must be \"cluster\", \"q\" or \"crack\"",
                          path, measure);
    f->measure = (lambda_kind)kind;
    if ((status = check_counts(obj, path, f))) return status;
    if (f->trials > f->max_trials) f->max_trials = f->trials;
    return job_entry_name(obj, path, set->name, sizeof set->name);
}

/* The most sites the particle can grow in its box: every site but its core (and, with the shell
 * conserved, its shell, which never turns into core). */
static int64_t growth_room(const task_set *set, const initial_report *particle) {
    const int64_t nsites = (int64_t)set->system.lx * set->system.ly * set->system.lz;
    const int conserved = set->system.model.shell == SHELL_CANONICAL;
    return nsites - particle->core_sites - (conserved ? particle->shell_sites : 0);
}

/* λ_n from the target, then the order of everything: λ_A < λ_0 < ... < λ_n, with λ_n within
 * what the lattice can hold (else the walkers would run for ever). */
static int prepare(task_set *set, const char *path, const initial_report *particle) {
    ffs_spec *f = set->spec;
    f->initial_shell = particle->shell_sites;
    const int64_t unit = lambda_per_site(f->measure);
    f->origin = unit * particle->core_sites;
    if (f->measure == LAMBDA_CRACK && set->system.shell_thickness == 0)
        return ripen_fail(RIPEN_EINVAL,
                          "%s.order_parameter = \"crack\": needs a shelled particle "
                          "(shell_thickness > 0); a bare core is exposed from the start",
                          path);
    int64_t sites;
    if (!strcmp(f->target, "layer"))
        sites = q_layer_sites(particle, set->system.lz);
    else if (!strcmp(f->target, "doubling"))
        sites = particle->core_sites;
    else
        sites = strtoll(f->target, NULL, 10);
    const int64_t room = growth_room(set, particle);
    if (sites > room) {
        char conserved[64] = "";
        if (set->system.model.shell == SHELL_CANONICAL && particle->shell_sites > 0)
            snprintf(conserved, sizeof conserved, ", %lld conserved shell",
                     (long long)particle->shell_sites);
        return ripen_fail(RIPEN_EINVAL,
                          "%s.target = \"%s\": %lld sites grown, but the lattice holds room "
                          "for at most %lld more core sites (%d x %d x %d sites: %lld core%s)",
                          path, f->target, (long long)sites, (long long)room, set->system.lx,
                          set->system.ly, set->system.lz, (long long)particle->core_sites,
                          conserved);
    }
    const reservoir_spec *solution = &set->system.reservoir;
    if (solution->given && sites > solution->core_units)
        return ripen_fail(RIPEN_EINVAL,
                          "%s.target = \"%s\": %lld sites grown need as many core units from the "
                          "finite solution, which holds %lld (reservoir.core_units)",
                          path, f->target, (long long)sites, (long long)solution->core_units);
    const int64_t target = unit * sites;
    const int n = f->ninterfaces;
    if (f->basin >= f->lambda[0])
        return ripen_fail(RIPEN_EINVAL,
                          "%s: basin = %lld must lie below the first interface %lld (A = {λ <= "
                          "basin})",
                          path, (long long)f->basin, (long long)f->lambda[0]);
    if (f->lambda[n - 1] >= target)
        return ripen_fail(RIPEN_EINVAL,
                          "%s: the last interface %lld must lie below the target λ_n = %lld "
                          "(\"%s\")",
                          path, (long long)f->lambda[n - 1], (long long)target, f->target);
    f->lambda[n] = target;
    set->nstages = n + 1;
    set->ntasks = f->walkers + (int64_t)n * f->shot_tasks;
    set->nstreams = (int64_t)f->walkers * FFS_MAX_SEGMENTS + (int64_t)n * f->max_trials;
    const int steps =
        job_entry_check_steps(path, "max_walker_steps", f->max_walker_steps, &set->system);
    return steps ? steps
                 : job_entry_check_steps(path, "max_shot_steps", f->max_shot_steps, &set->system);
}

static void free_spec(void *spec) {
    free(spec);
}

int ffs_stage_of(const task_set *set, int64_t member) {
    const ffs_spec *f = ffs_of(set);
    return member < f->walkers ? 0 : 1 + (int)((member - f->walkers) / f->shot_tasks);
}

int64_t ffs_stage_first(const task_set *set, int stage) {
    const ffs_spec *f = ffs_of(set);
    return set->first_task + (stage == 0 ? 0 : f->walkers + (int64_t)(stage - 1) * f->shot_tasks);
}

int ffs_stage_tasks(const task_set *set, int stage) {
    return stage == 0 ? ffs_of(set)->walkers : ffs_of(set)->shot_tasks;
}

static void task(const task_set *set, int64_t member, int *stage, double *cost) {
    const ffs_spec *f = ffs_of(set);
    const double sites = (double)set->system.lx * set->system.ly * set->system.lz;
    *stage = ffs_stage_of(set, member);
    /* Rough: a walker's share of the crossings at ~100 steps each; shots a few hundred steps. */
    *cost = sites * (*stage == 0 ? 100.0 * (double)f->crossings / f->walkers
                                 : 300.0 * (double)(f->trials ? f->trials : 3 * f->successes) /
                                       f->shot_tasks);
}

static double output_bytes(const task_set *set) {
    const ffs_spec *f = ffs_of(set);
    const double sites = (double)set->system.lx * set->system.ly * set->system.lz;
    const double configs = (double)f->crossings +
                           (double)f->ninterfaces * (double)(f->trials ? f->trials : f->successes);
    return configs * sites;
}

static void describe(const task_set *set) {
    const ffs_spec *f = ffs_of(set);
    if (f->measure == LAMBDA_CRACK)
        printf("  ffs %s: λ = %d x sites grown + exposed core (crack), basin λ <= %lld, interfaces",
               set->name, LAMBDA_CRACK_STRIDE, (long long)f->basin);
    else
        printf("  ffs %s: λ = %s grown, basin λ <= %lld, interfaces", set->name,
               lambda_kind_names[f->measure], (long long)f->basin);
    for (int k = 0; k < f->ninterfaces; ++k) printf(" %lld", (long long)f->lambda[k]);
    printf(", target %lld (%s); %lld crossings by %d walkers, ",
           (long long)f->lambda[f->ninterfaces], f->target, (long long)f->crossings, f->walkers);
    if (f->trials)
        printf("%lld trials per interface", (long long)f->trials);
    else
        printf("%lld successes per interface (at most %lld trials)", (long long)f->successes,
               (long long)f->max_trials);
    printf(" in %d tasks per stage\n", f->shot_tasks);
}

/* ---- the record ---- */

static int record_init(const task_set *set, int64_t member, task_record *r) {
    ffs_result *x = calloc(1, sizeof *x);
    if (!(r->data = x)) return RIPEN_ENOMEM;
    x->stage = ffs_stage_of(set, member);
    x->from_basin = 1;
    x->excursion_start = -1;
    x->source_task = x->source_index = -1;
    return RIPEN_OK;
}

static void record_free(task_record *r) {
    ffs_result *x = r->data;
    free(x->config_lambda), free(x->config_parent_task), free(x->config_parent_index);
    free(x->config_root), free(x->config_shell), free(x->config_exposed), free(x->configs);
    free(x->shot_source_task), free(x->shot_source_index), free(x->shot_root);
    free(x->shot_outcome), free(x->shot_steps);
    free(x);
    r->data = NULL;
}

/* Room for n configurations of `nsites` sites. */
static int reserve_configs(ffs_result *x, int64_t n, int64_t nsites) {
    if (n <= x->config_capacity) return RIPEN_OK;
    int64_t **columns[6] = {&x->config_lambda, &x->config_parent_task, &x->config_parent_index,
                            &x->config_root,   &x->config_shell,       &x->config_exposed};
    for (int k = 0; k < 6; ++k) {
        int64_t *grown = realloc(*columns[k], sizeof **columns[k] * (size_t)n);
        if (!grown) return RIPEN_ENOMEM;
        *columns[k] = grown;
    }
    uint8_t *configs = realloc(x->configs, (size_t)nsites * (size_t)n);
    if (!configs) return RIPEN_ENOMEM;
    x->configs = configs, x->config_capacity = n;
    return RIPEN_OK;
}

static int reserve_shots(ffs_result *x, int64_t n) {
    if (n <= x->shot_capacity) return RIPEN_OK;
    int64_t **columns[3] = {&x->shot_source_task, &x->shot_source_index, &x->shot_root};
    for (int k = 0; k < 3; ++k) {
        int64_t *grown = realloc(*columns[k], sizeof **columns[k] * (size_t)n);
        if (!grown) return RIPEN_ENOMEM;
        *columns[k] = grown;
    }
    uint8_t *outcome = realloc(x->shot_outcome, (size_t)n);
    double *steps = realloc(x->shot_steps, sizeof *steps * (size_t)n);
    if (outcome) x->shot_outcome = outcome;
    if (steps) x->shot_steps = steps;
    if (!outcome || !steps) return RIPEN_ENOMEM;
    x->shot_capacity = n;
    return RIPEN_OK;
}

int ffs_add_config(ffs_result *x, int64_t nsites, const uint8_t *states,
                   const ffs_config_info *info) {
    if (x->nconfigs == x->config_capacity &&
        reserve_configs(x, x->config_capacity ? 2 * x->config_capacity : 8, nsites))
        return ripen_fail(RIPEN_ENOMEM, "out of memory for %lld configurations",
                          (long long)x->nconfigs + 1);
    const int64_t k = x->nconfigs++;
    memcpy(x->configs + k * nsites, states, (size_t)nsites);
    x->config_lambda[k] = info->lambda;
    x->config_parent_task[k] = info->parent_task, x->config_parent_index[k] = info->parent_index;
    x->config_root[k] = info->root;
    x->config_shell[k] = info->shell, x->config_exposed[k] = info->exposed;
    return RIPEN_OK;
}

int ffs_add_shot(ffs_result *x, int64_t source_task, int64_t source_index, int64_t root,
                 int outcome, double steps) {
    if (x->nshots == x->shot_capacity &&
        reserve_shots(x, x->shot_capacity ? 2 * x->shot_capacity : 64))
        return ripen_fail(RIPEN_ENOMEM, "out of memory for %lld shots", (long long)x->nshots + 1);
    const int64_t k = x->nshots++;
    x->shot_source_task[k] = source_task, x->shot_source_index[k] = source_index;
    x->shot_root[k] = root, x->shot_outcome[k] = (uint8_t)outcome, x->shot_steps[k] = steps;
    return RIPEN_OK;
}

/* The largest a record may hold, for reading journals safely. */
static int64_t config_limit(const task_set *set) {
    const ffs_spec *f = ffs_of(set);
    return f->crossings + f->max_trials + 1;
}

static void code(codec *c, const task_set *set, int64_t member, task_record *r) {
    (void)member;
    ffs_result *x = r->data;
    codec_scalar(c, &x->stage, sizeof x->stage);
    codec_scalar(c, &x->time, sizeof x->time);
    codec_scalar(c, &x->excursion_time, sizeof x->excursion_time);
    codec_scalar(c, &x->excursion_start, sizeof x->excursion_start);
    codec_scalar(c, &x->segment, sizeof x->segment);
    codec_scalar(c, &x->from_basin, sizeof x->from_basin);
    codec_scalar(c, &x->resets, sizeof x->resets);
    codec_scalar(c, &x->crossings, sizeof x->crossings);
    codec_scalar(c, &x->next_shot, sizeof x->next_shot);
    codec_scalar(c, &x->in_shot, sizeof x->in_shot);
    codec_scalar(c, &x->source_task, sizeof x->source_task);
    codec_scalar(c, &x->source_index, sizeof x->source_index);
    codec_scalar(c, &x->source_root, sizeof x->source_root);
    codec_scalar(c, &x->nconfigs, sizeof x->nconfigs);
    const int64_t limit = config_limit(set);
    if (!c->writing && !c->status && x->nconfigs >= 0 && x->nconfigs <= limit &&
        reserve_configs(x, x->nconfigs, r->nsites))
        c->status = RIPEN_ENOMEM;
    int64_t room = x->config_capacity;
    codec_array(c, (void **)&x->config_lambda, 8, x->nconfigs, &room, limit);
    codec_array(c, (void **)&x->config_parent_task, 8, x->nconfigs, &room, limit);
    codec_array(c, (void **)&x->config_parent_index, 8, x->nconfigs, &room, limit);
    codec_array(c, (void **)&x->config_root, 8, x->nconfigs, &room, limit);
    codec_array(c, (void **)&x->config_shell, 8, x->nconfigs, &room, limit);
    codec_array(c, (void **)&x->config_exposed, 8, x->nconfigs, &room, limit);
    codec_array(c, (void **)&x->configs, (size_t)r->nsites, x->nconfigs, &room, limit);
    codec_scalar(c, &x->nshots, sizeof x->nshots);
    if (!c->writing && !c->status && x->nshots >= 0 && x->nshots <= limit &&
        reserve_shots(x, x->nshots))
        c->status = RIPEN_ENOMEM;
    room = x->shot_capacity;
    codec_array(c, (void **)&x->shot_source_task, 8, x->nshots, &room, limit);
    codec_array(c, (void **)&x->shot_source_index, 8, x->nshots, &room, limit);
    codec_array(c, (void **)&x->shot_root, 8, x->nshots, &room, limit);
    codec_array(c, (void **)&x->shot_outcome, 1, x->nshots, &room, limit);
    codec_array(c, (void **)&x->shot_steps, 8, x->nshots, &room, limit);
}

/* ---- streams ---- */

uint32_t ffs_walker_stream(const task_set *set, int walker, int64_t segment) {
    return (uint32_t)(set->first_stream + (int64_t)walker * FFS_MAX_SEGMENTS + segment);
}

uint32_t ffs_shot_stream(const task_set *set, int stage, int64_t shot) {
    const ffs_spec *f = ffs_of(set);
    return (uint32_t)(set->first_stream + (int64_t)f->walkers * FFS_MAX_SEGMENTS +
                      (int64_t)(stage - 1) * f->max_trials + shot);
}

/* ---- the summary line while running ---- */

static int64_t outcome(const task_set *set, const task_record *r) {
    (void)set;
    const ffs_result *x = r->data;
    if (x->stage == 0) return x->crossings > 0 ? 0 : -1;
    int64_t successes = 0;
    for (int64_t k = 0; k < x->nshots; ++k) successes += x->shot_outcome[k] == FFS_SUCCESS;
    return successes > 0 ? 0 : -1;
}

const task_kind task_kind_ffs = {
    .key = "ffs",
    .entry = "ffs",
    .task_noun = "ffs task",
    .set_noun = "ffs set",
    .description = "forward flux sampling: rates of growth out of the basin",
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
    .run = ffs_run,
    .outcome = outcome,
    .outcome_word = "with successes",
    .plan = ffs_plan,
    .h5_extent = ffs_h5_extent,
    .h5_create = ffs_h5_create,
    .h5_write_set = ffs_h5_write_set,
    .h5_write_tasks = ffs_h5_write_tasks,
    .h5_close = ffs_h5_close,
    .h5_load_task = ffs_h5_load_task,
    .h5_size = ffs_h5_size,
    .analyze = ffs_analyze,
    .code_result = ffs_code_result,
    .free_result = ffs_free_result,
    .result_group = "rate",
    .h5_write_result = ffs_h5_write_result,
    .print_result = ffs_print_result,
    .warn_result = ffs_warn_result,
    .summary = ffs_summary,
};
