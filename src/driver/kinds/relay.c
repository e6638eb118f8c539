/* The "relay" task kind (include/ripen/driver/kinds/relay.h): stages that hand lattices on. */
#include "ripen/driver/kinds/relay.h"

#include "h5util.h"
#include "job_entry.h"
#include "json_read.h"
#include "ripen/engine/error.h"
#include "task_runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const keys[] = {"name", "tasks", "stages", "steps", ENTRY_SYSTEM_KEYS, NULL};

typedef struct {
    int tasks;      /* per stage */
    int stages;     /* at least 1 */
    uint64_t steps; /* MC steps per task */
} relay_spec;

/* A task's result (task_record.data); the final lattice stays in the record's states. */
typedef struct {
    int64_t value;  /* slot + 1 at stage 0, then twice the source's */
    int64_t source; /* task id of the stage-(s-1) task it started from, -1 at stage 0 */
    int64_t final_ncore;
    double final_energy; /* kT */
} relay_result;

static const relay_spec *relay_of(const task_set *set) {
    return set->spec;
}

/* ---- the job file ---- */

static int parse(const cJSON *obj, const char *path, task_set *set) {
    relay_spec *spec = calloc(1, sizeof *spec);
    if (!(set->spec = spec)) return ripen_fail(RIPEN_ENOMEM, "out of memory");
    int64_t tasks = 2, stages = 2;
    spec->steps = 10;
    int status;
    if ((status = json_get_string(obj, "name", path, set->name, sizeof set->name)) ||
        (status = json_get_int(obj, "tasks", path, 1, 10000, &tasks)) ||
        (status = json_get_int(obj, "stages", path, 1, 1000, &stages)) ||
        (status = json_get_uint(obj, "steps", path, 1, (uint64_t)JOB_MAX_STEPS, &spec->steps)) ||
        (status = job_entry_system(obj, path, &set->system)))
        return status;
    spec->tasks = (int)tasks, spec->stages = (int)stages;
    return job_entry_name(obj, path, set->name, sizeof set->name);
}

static int prepare(task_set *set, const char *path, const initial_report *particle) {
    (void)particle;
    set->ntasks = (int64_t)relay_of(set)->tasks * relay_of(set)->stages;
    set->nstages = relay_of(set)->stages;
    return job_entry_check_steps(path, "steps", relay_of(set)->steps, &set->system);
}

static void free_spec(void *spec) {
    free(spec);
}

static void task(const task_set *set, int64_t member, int *stage, double *cost) {
    *stage = (int)(member / relay_of(set)->tasks);
    *cost = (double)set->system.lx * set->system.ly * set->system.lz * (double)relay_of(set)->steps;
}

static double output_bytes(const task_set *set) {
    return (double)set->ntasks * (3 * 8 + 8);
}

static void describe(const task_set *set) {
    const relay_spec *spec = relay_of(set);
    printf("  relay %s: %d stages of %d tasks, %llu steps each (a test of the stages)\n", set->name,
           spec->stages, spec->tasks, (unsigned long long)spec->steps);
}

/* ---- the record ---- */

static int record_init(const task_set *set, int64_t member, task_record *r) {
    (void)set, (void)member;
    relay_result *x = calloc(1, sizeof *x);
    if (!(r->data = x)) return RIPEN_ENOMEM;
    x->source = -1;
    return RIPEN_OK;
}

static void record_free(task_record *r) {
    free(r->data);
    r->data = NULL;
}

static void code(codec *c, const task_set *set, int64_t member, task_record *r) {
    (void)set, (void)member;
    relay_result *x = r->data;
    codec_scalar(c, &x->value, sizeof x->value);
    codec_scalar(c, &x->source, sizeof x->source);
    codec_scalar(c, &x->final_ncore, sizeof x->final_ncore);
    codec_scalar(c, &x->final_energy, sizeof x->final_energy);
}

/* ---- stages ---- */

typedef struct {
    double energy;
    int64_t slot, id;
} ranked;

static int by_energy(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->energy != y->energy) return x->energy < y->energy ? -1 : 1;
    return (x->slot > y->slot) - (x->slot < y->slot);
}

/* Stage `stage`: the task ids of stage - 1, by final energy. */
static int plan(const job *j, const task_set *set, int stage, task_loader load, void *context,
                byte_buffer *out) {
    const int n = relay_of(set)->tasks;
    ranked *order = calloc((size_t)n, sizeof *order);
    int status = order ? RIPEN_OK : ripen_fail(RIPEN_ENOMEM, "out of memory");
    for (int k = 0; k < n && !status; ++k) {
        const int64_t id = set->first_task + (int64_t)(stage - 1) * n + k;
        task_record r;
        status = task_record_init(&r, j, id);
        if (!status) status = load(context, id, &r);
        if (!status) order[k] = (ranked){((relay_result *)r.data)->final_energy, k, id};
        task_record_free(&r);
    }
    if (!status) qsort(order, (size_t)n, sizeof *order, by_energy);
    for (int k = 0; k < n && !status; ++k) status = byte_buffer_put(out, &order[k].id, 8);
    free(order);
    return status;
}

/* ---- running ---- */

/* A later stage's task, before its first step: the source's lattice and value. */
static int take_over(const job *j, const task_set *set, int64_t member, task_record *r,
                     const task_inputs *in) {
    const int n = relay_of(set)->tasks;
    const int64_t slot = member % n;
    if (!in || !in->plan || in->plan_size != (size_t)n * 8 || !in->load)
        return ripen_fail(RIPEN_EINVAL, "relay %s: task %lld has no plan", set->name,
                          (long long)r->id);
    int64_t source;
    memcpy(&source, (const uint8_t *)in->plan + slot * 8, 8);
    task_record from;
    int status = task_record_init(&from, j, source);
    if (!status) status = in->load(in->load_context, source, &from);
    if (!status && !from.states)
        status = ripen_fail(RIPEN_EIO, "relay %s: task %lld kept no lattice", set->name,
                            (long long)source);
    if (!status) {
        relay_result *x = r->data;
        x->source = source;
        x->value = 2 * ((relay_result *)from.data)->value;
        r->core_initial = from.core_initial, r->shell_initial = from.shell_initial;
        r->reservoir_core = from.reservoir_core, r->reservoir_shell = from.reservoir_shell;
        r->states = from.states; /* the record takes the lattice over */
        from.states = NULL;
    }
    task_record_free(&from);
    return status;
}

static int run(const job *j, const task_set *set, int64_t member, task_record *r,
               task_runtime *rt) {
    relay_result *x = r->data;
    const int stage = (int)(member / relay_of(set)->tasks);
    int status = RIPEN_OK;
    if (r->step == 0 && !r->states) {
        if (stage == 0)
            x->value = member + 1;
        else
            status = take_over(j, set, member, r, rt->inputs);
    }
    task_sim s;
    if (status || (status = task_sim_open(&s, &set->system, j->seed, (uint32_t)r->id)))
        return status;
    int fresh;
    status = task_sim_start(&s, &set->system, r, &fresh);
    while (!status && s.rep.step < relay_of(set)->steps) {
        dynamics_run(&s.dyn, &s.rep, 1);
        status = task_between_steps(rt, &s, r);
    }
    if (!status) {
        r->step = s.rep.step;
        replica_store_states(&s.rep, r->states); /* kept: the next stage starts from it */
        x->final_ncore = s.rep.counts.ncore;
        x->final_energy = replica_energy(&s.rep);
    }
    task_sim_close(&s);
    return status;
}

/* ---- the result file ---- */

enum { R_VALUE, R_SOURCE, R_NCORE, R_ENERGY, R_COUNT };

typedef struct {
    hid_t d[R_COUNT];
} handles;

static const int64_t fill_i64 = -1;
static const double fill_nan = NAN;

static int h5_create(hid_t g, const job *j, const task_set *set, const int64_t extent[TASK_EXTENTS],
                     void **out) {
    (void)j, (void)extent;
    const relay_spec *spec = relay_of(set);
    handles *h = malloc(sizeof *h);
    if (!(*out = h)) return ripen_fail(RIPEN_ENOMEM, "out of memory");
    for (int k = 0; k < R_COUNT; ++k) h->d[k] = -1;
    int status = h5_system_attributes(g, &set->system, "steps: MC steps");
    if (!status) status = h5_attr_int(g, "tasks", spec->tasks);
    if (!status) status = h5_attr_int(g, "stages", spec->stages);
    if (!status) status = h5_attr_int(g, "steps", (int64_t)spec->steps);
    if (!status) status = h5_attr_int(g, "first_task", set->first_task);
    if (status) return status;
    const hsize_t dims[2] = {(hsize_t)spec->stages, (hsize_t)spec->tasks};
    static const struct {
        int index;
        h5_type type;
        const char *name, *units, *description;
    } columns[R_COUNT] = {
        {R_VALUE, H5_I64, "value", NULL, "slot + 1 at stage 0, then twice the source's value"},
        {R_SOURCE, H5_I64, "source", "task id",
         "the task of the stage before whose final lattice the task started from (-1: none)"},
        {R_NCORE, H5_I64, "final_n_core", "sites", "N_core at the task's end"},
        {R_ENERGY, H5_F64, "final_energy", "kT", "E at the task's end (orders the next plan)"},
    };
    for (int k = 0; k < R_COUNT; ++k)
        h->d[columns[k].index] = h5_dataset(
            g, &(h5_dataset_info){.name = columns[k].name,
                                  .type = columns[k].type,
                                  .rank = 2,
                                  .dims = {dims[0], dims[1]},
                                  .fill = columns[k].type == H5_F64 ? (const void *)&fill_nan
                                                                    : (const void *)&fill_i64,
                                  .units = columns[k].units,
                                  .description = columns[k].description});
    for (int k = 0; k < R_COUNT; ++k)
        if (h->d[k] < 0)
            return ripen_fail(RIPEN_EIO, "cannot create datasets in /relay/%s", set->name);
    return RIPEN_OK;
}

/* Every dataset is small and uncompressed: independent writes only. */
static int h5_write_tasks(void *handles_, const task_set *set, int n, const int64_t *members,
                          task_record *const *records) {
    const hid_t *d = ((const handles *)handles_)->d;
    const int tasks = relay_of(set)->tasks;
    int status = RIPEN_OK;
    for (int i = 0; i < n && !status; ++i) {
        const relay_result *x = records[i]->data;
        const hsize_t at[2] = {(hsize_t)(members[i] / tasks), (hsize_t)(members[i] % tasks)};
        const hsize_t one[2] = {1, 1};
        status = h5_write_block(d[R_VALUE], H5_I64, 2, at, one, &x->value);
        if (!status) status = h5_write_block(d[R_SOURCE], H5_I64, 2, at, one, &x->source);
        if (!status) status = h5_write_block(d[R_NCORE], H5_I64, 2, at, one, &x->final_ncore);
        if (!status) status = h5_write_block(d[R_ENERGY], H5_F64, 2, at, one, &x->final_energy);
    }
    return status;
}

static void h5_close(void *handles_) {
    handles *h = handles_;
    if (!h) return;
    h5_close_datasets(h->d, R_COUNT);
    free(h);
}

static int h5_load_task(hid_t g, const task_set *set, int64_t member, task_record *r) {
    relay_result *x = r->data;
    const int n = relay_of(set)->tasks;
    const hsize_t at[2] = {(hsize_t)(member / n), (hsize_t)(member % n)}, one[2] = {1, 1};
    int status = h5_read_from(g, "value", H5_I64, 2, at, one, &x->value);
    if (!status) status = h5_read_from(g, "source", H5_I64, 2, at, one, &x->source);
    if (!status) status = h5_read_from(g, "final_n_core", H5_I64, 2, at, one, &x->final_ncore);
    if (!status) status = h5_read_from(g, "final_energy", H5_F64, 2, at, one, &x->final_energy);
    r->step = relay_of(set)->steps;
    return status;
}

static void h5_size(const task_set *set, const int64_t extent[TASK_EXTENTS], double *bytes,
                    double *objects) {
    (void)extent;
    *bytes = output_bytes(set);
    *objects = 1 + R_COUNT;
}

static void summary(const job *j, const task_kind *kind, task_loader load, void *context,
                    void *const *results) {
    (void)results;
    for (int s = 0; s < j->nsets; ++s) {
        const task_set *set = &j->sets[s];
        if (set->kind != kind) continue;
        int64_t sum = 0;
        const int n = relay_of(set)->tasks;
        for (int k = 0; k < n; ++k) {
            task_record r;
            const int64_t id = set->first_task + set->ntasks - n + k;
            if (!task_record_init(&r, j, id) && !load(context, id, &r))
                sum += ((relay_result *)r.data)->value;
            task_record_free(&r);
        }
        printf("  relay %-21s %d stages of %d tasks, last stage's values sum to %lld\n", set->name,
               set->nstages, n, (long long)sum);
    }
}

const task_kind task_kind_relay = {
    .key = "relay",
    .entry = "relay",
    .task_noun = "relay task",
    .set_noun = "relay",
    .description = "relay sets: a test of staged task sets",
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
    .plan = plan,
    .h5_create = h5_create,
    .h5_write_tasks = h5_write_tasks,
    .h5_close = h5_close,
    .h5_load_task = h5_load_task,
    .h5_size = h5_size,
    .summary = summary,
};
