/* The "windows" task kind (include/ripen/driver/kinds/windows.h): umbrella windows with hard walls
 * on q, optionally tilted, and F(q) of each complete set (fq.h). */
#include "ripen/driver/kinds/windows.h"

#include "h5util.h"
#include "job_entry.h"
#include "json_read.h"
#include "ripen/engine/error.h"
#include "ripen/fe/fe.h"
#include "ripen/driver/kinds/fq.h"
#include "shell_check.h"
#include "task_runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const keys[] = {"name",
                                   "mode",
                                   "q_min",
                                   "q_max",
                                   "width",
                                   "overlap",
                                   "layer_sites",
                                   "equilibration_steps",
                                   "sampling_steps",
                                   "sample_interval",
                                   "tilt",
                                   "repeat",
                                   "shell_tolerance",
                                   ENTRY_SYSTEM_KEYS,
                                   NULL};

int64_t window_sample_count(const window_set_spec *w) {
    return (int64_t)(w->sampling_steps / w->sample_interval);
}

void window_bounds(const window_set_spec *w, int k, int *lo, int *hi) {
    *lo = w->q_min + k * (w->width - w->overlap);
    *hi = *lo + w->width - 1;
    if (*hi > w->q_max) *hi = w->q_max;
    if (k == w->nwindows - 1 && *hi < w->q_max) *hi = w->q_max;
}

int window_grid_parse(const cJSON *obj, const char *path, window_set_spec *g) {
    int64_t v[5] = {g->q_min, g->q_max, g->width, g->overlap, g->layer_sites};
    int status;
    if ((status = json_get_int(obj, "q_min", path, -LATTICE_MAX_SITES, LATTICE_MAX_SITES, &v[0])) ||
        (status = json_get_int(obj, "q_max", path, -LATTICE_MAX_SITES, LATTICE_MAX_SITES, &v[1])) ||
        (status = json_get_int(obj, "width", path, 2, LATTICE_MAX_SITES, &v[2])) ||
        (status = json_get_int(obj, "overlap", path, 1, LATTICE_MAX_SITES, &v[3])) ||
        (status = json_get_int(obj, "layer_sites", path, 1, LATTICE_MAX_SITES, &v[4])))
        return status;
    g->q_min = (int)v[0], g->q_max = (int)v[1], g->width = (int)v[2], g->overlap = (int)v[3];
    g->layer_sites = (int)v[4];
    return RIPEN_OK;
}

int window_grid_prepare(window_set_spec *w, const char *path, const initial_report *report,
                        const system_spec *sys) {
    const int64_t core0 = report->core_sites;
    const int64_t nsites = (int64_t)sys->lx * sys->ly * sys->lz;
    const reservoir_spec *solution = &sys->reservoir;
    if (solution->given && w->q_max > solution->core_units)
        return ripen_fail(RIPEN_EINVAL,
                          "%s: q_max = %d needs %d core units from the finite solution, which "
                          "holds %lld (reservoir.core_units)",
                          path, w->q_max, w->q_max, (long long)solution->core_units);
    if (w->q_min < -core0 || w->q_max > nsites - core0 || w->q_min >= w->q_max)
        return ripen_fail(RIPEN_EINVAL,
                          "%s: q range [%d, %d] must satisfy %lld <= q_min < q_max <= %lld "
                          "(N_core from 0 to the lattice size)",
                          path, w->q_min, w->q_max, (long long)-core0, (long long)(nsites - core0));
    if (w->width < 2 || w->width > w->q_max - w->q_min + 1)
        return ripen_fail(RIPEN_EINVAL, "%s.width = %d: must be in [2, %d] (q values per window)",
                          path, w->width, w->q_max - w->q_min + 1);
    if (w->overlap < 1 || w->overlap >= w->width)
        return ripen_fail(RIPEN_EINVAL,
                          "%s.overlap = %d: must be in [1, width - 1 = %d]: neighbouring windows "
                          "must share q values to be combined",
                          path, w->overlap, w->width - 1);
    const int span = w->q_max - w->q_min + 1, stride = w->width - w->overlap;
    if (span > FE_MAX_GRID)
        return ripen_fail(RIPEN_EINVAL,
                          "%s: q range [%d, %d] holds %d values of q: at most %d (F(q) is solved "
                          "on every q of the range)",
                          path, w->q_min, w->q_max, span, FE_MAX_GRID);
    w->nwindows = 1 + (span - w->width + stride - 1) / stride;
    if (w->nwindows > FE_MAX_WINDOWS)
        return ripen_fail(RIPEN_EINVAL,
                          "%s: %d windows of width %d and overlap %d over q in [%d, %d]: at most "
                          "%d (WHAM and MBAR solve for every window's free energy): widen the "
                          "windows or narrow the range",
                          path, w->nwindows, w->width, w->overlap, w->q_min, w->q_max,
                          FE_MAX_WINDOWS);
    if (w->layer_sites == 0) w->layer_sites = q_layer_sites(report, sys->lz);
    /* F(q) is read over one layer from q_start. */
    const int q_start = q_profile_start(w->q_min, w->q_max);
    if (q_start + w->layer_sites > w->q_max)
        return ripen_fail(RIPEN_EINVAL,
                          "%s: q_max = %d must reach one full layer, q = %d + layer_sites = %d",
                          path, w->q_max, q_start, q_start + w->layer_sites);
    return RIPEN_OK;
}

/* ---- the job file ---- */

static int parse_mode(const cJSON *obj, const char *path, window_set_spec *w) {
    char mode[32] = "windows";
    const int status = json_get_string(obj, "mode", path, mode, sizeof mode);
    if (status) return status;
    if (strcmp(mode, "brute-force") == 0) {
        /* The paper's method: one unbiased run histogramming q; one window over the range. */
        if (cJSON_HasObjectItem(obj, "width") || cJSON_HasObjectItem(obj, "overlap"))
            return ripen_fail(RIPEN_EINVAL, "%s: mode \"brute-force\" takes no width or overlap",
                              path);
        w->width = w->q_max - w->q_min + 1, w->overlap = 1;
    } else if (strcmp(mode, "windows") != 0) {
        return ripen_fail(RIPEN_EINVAL, "%s.mode = \"%s\": must be \"windows\" or \"brute-force\"",
                          path, mode);
    }
    return RIPEN_OK;
}

static int parse(const cJSON *obj, const char *path, task_set *set) {
    window_set_spec *w = calloc(1, sizeof *w);
    if (!(set->spec = w)) return ripen_fail(RIPEN_ENOMEM, "out of memory");
    *w = (window_set_spec){.q_min = -4,
                           .q_max = 24,
                           .width = 4,
                           .overlap = 2,
                           .equilibration_steps = 1000,
                           .sampling_steps = 10000,
                           .sample_interval = 1,
                           .shell_tolerance = SHELL_TOLERANCE_DEFAULT};
    int64_t repeat = 0;
    int status;
    if ((status = json_get_string(obj, "name", path, set->name, sizeof set->name)) ||
        (status = window_grid_parse(obj, path, w)) ||
        (status = json_get_uint(obj, "equilibration_steps", path, 0, (uint64_t)JOB_MAX_STEPS,
                                &w->equilibration_steps)) ||
        (status = json_get_uint(obj, "sampling_steps", path, 1, (uint64_t)JOB_MAX_STEPS,
                                &w->sampling_steps)) ||
        (status = json_get_uint(obj, "sample_interval", path, 1, (uint64_t)JOB_MAX_STEPS,
                                &w->sample_interval)) ||
        (status = json_get_bool(obj, "tilt", path, &w->tilt)) ||
        (status = json_get_int(obj, "repeat", path, 0, JOB_MAX_SWEEP_POINTS, &repeat)) ||
        (status = json_get_double(obj, "shell_tolerance", path, SHELL_TOLERANCE_MIN,
                                  SHELL_TOLERANCE_MAX, &w->shell_tolerance)) ||
        (status = job_entry_system(obj, path, &set->system)))
        return status;
    w->repeat = (int)repeat;
    if ((status = parse_mode(obj, path, w))) return status;
    if (w->tilt && w->equilibration_steps < WINDOW_TILT_MIN_EQUILIBRATION)
        return ripen_fail(RIPEN_EINVAL,
                          "%s.tilt: needs equilibration_steps >= %d (the tilt is tuned in %d "
                          "rounds of the equilibration, then relaxed in one), got %llu",
                          path, WINDOW_TILT_MIN_EQUILIBRATION, WINDOW_TILT_ROUNDS,
                          (unsigned long long)w->equilibration_steps);
    if (w->sample_interval > w->sampling_steps)
        return ripen_fail(
            RIPEN_EINVAL, "%s.sample_interval = %llu: must not exceed sampling_steps = %llu", path,
            (unsigned long long)w->sample_interval, (unsigned long long)w->sampling_steps);
    return job_entry_name(obj, path, set->name, sizeof set->name);
}

/* The windows along the range, once the initial particle is known. */
static int prepare(task_set *set, const char *path, const initial_report *report) {
    window_set_spec *w = set->spec;
    const int status = window_grid_prepare(w, path, report, &set->system);
    if (status) return status;
    set->ntasks = w->nwindows;
    /* A window runs its equilibration and its sampling as one trajectory. */
    return job_entry_check_steps(path, "equilibration_steps + sampling_steps",
                                 w->equilibration_steps + w->sampling_steps, &set->system);
}

static void free_spec(void *spec) {
    free(spec);
}

static void task(const task_set *set, int64_t member, int *stage, double *cost) {
    (void)member;
    const window_set_spec *w = window_set_of(set);
    const double sites = (double)set->system.lx * set->system.ly * set->system.lz;
    *stage = 0;
    *cost = sites * (double)(w->equilibration_steps + w->sampling_steps);
}

static double output_bytes(const task_set *set) {
    const window_set_spec *w = window_set_of(set);
    return (double)w->nwindows * (double)window_sample_count(w) * (4 + 8 + 4 + 4);
}

static void describe(const task_set *set) {
    const window_set_spec *w = window_set_of(set);
    printf("  windows %s: %d windows over q in [%d, %d] (width %d, overlap %d), layer = %d "
           "sites, %llu + %llu steps each%s\n",
           set->name, w->nwindows, w->q_min, w->q_max, w->width, w->overlap, w->layer_sites,
           (unsigned long long)w->equilibration_steps, (unsigned long long)w->sampling_steps,
           w->tilt ? ", tilted (each tunes its own mu_core)" : "");
}

/* ---- the record ---- */

static void record_free(task_record *r) {
    window_result *x = r->data;
    free(x->q), free(x->q_energy), free(x->n_shell), free(x->exposed), free(x);
    r->data = NULL;
}

static int record_init(const task_set *set, int64_t member, task_record *r) {
    const window_set_spec *w = window_set_of(set);
    window_result *x = calloc(1, sizeof *x);
    if (!(r->data = x)) return RIPEN_ENOMEM;
    window_bounds(w, (int)member, &x->lo, &x->hi);
    x->mu_core = set->system.model.mu_core;
    x->tilt = q_tilt_start();
    const size_t n = (size_t)window_sample_count(w);
    x->q = calloc(n, sizeof *x->q);
    x->q_energy = calloc(n, sizeof *x->q_energy);
    x->n_shell = calloc(n, sizeof *x->n_shell);
    x->exposed = calloc(n, sizeof *x->exposed);
    return x->q && x->q_energy && x->n_shell && x->exposed ? RIPEN_OK : RIPEN_ENOMEM;
}

static void code(codec *c, const task_set *set, int64_t member, task_record *r) {
    (void)member;
    window_result *x = r->data;
    const int64_t limit = window_sample_count(window_set_of(set));
    codec_scalar(c, &x->lo, sizeof x->lo);
    codec_scalar(c, &x->hi, sizeof x->hi);
    codec_scalar(c, &x->mu_core, sizeof x->mu_core);
    codec_scalar(c, &x->tilt.steps, sizeof x->tilt.steps);
    codec_scalar(c, &x->tilt.sum, sizeof x->tilt.sum);
    codec_scalar(c, &x->tilt.sum_squares, sizeof x->tilt.sum_squares);
    codec_scalar(c, &x->tilt.mu_below, sizeof x->tilt.mu_below);
    codec_scalar(c, &x->tilt.mu_above, sizeof x->tilt.mu_above);
    codec_scalar(c, &x->nq, sizeof x->nq);
    int64_t room = limit;
    codec_array(c, (void **)&x->q, sizeof(int32_t), x->nq, &room, limit);
    codec_array(c, (void **)&x->q_energy, sizeof(double), x->nq, &room, limit);
    codec_array(c, (void **)&x->n_shell, sizeof(int32_t), x->nq, &room, limit);
    codec_array(c, (void **)&x->exposed, sizeof(int32_t), x->nq, &room, limit);
}

/* ---- running ---- */

/* Rebuilds the tables and the dynamics at the window's own mu_core. */
static int use_window_mu(task_sim *s, const task_set *set, double mu_core) {
    model_params p = set->system.model;
    p.mu_core = mu_core;
    return task_sim_use_model(s, &p);
}

/* A tilted window, after each step of its tuning rounds: records q, and at a round's end moves
 * mu_core towards sampling the window's whole range (order_parameter.h). */
static int tune_tilt(task_sim *s, const task_set *set, task_record *r) {
    window_result *x = r->data;
    const uint64_t round = q_tilt_round(window_set_of(set)->equilibration_steps);
    if (s->rep.step > round * WINDOW_TILT_ROUNDS) return RIPEN_OK;
    q_tilt_record(&x->tilt, q_value(&s->rep, r->core_initial), x->lo);
    if (s->rep.step % round != 0) return RIPEN_OK;
    const double next = q_tilt_next(&x->tilt, x->mu_core, x->lo, x->hi);
    if (next == x->mu_core) return RIPEN_OK;
    x->mu_core = next;
    return use_window_mu(s, set, x->mu_core);
}

/* One sample: q, E at the set's mu_core, N_shell and the exposed core (O(columns), so reused
 * while the lattice has not changed: a rejection-free step often changes nothing). */
static void take_sample(window_result *x, const replica *rep, int64_t core_initial,
                        const energy_weights *set_weights) {
    const int64_t k = x->nq++;
    x->q[k] = (int32_t)q_value(rep, core_initial);
    x->q_energy[k] = model_energy(set_weights, &rep->counts);
    x->n_shell[k] = (int32_t)rep->counts.nshell;
    const int same = k > 0 && rep->changes == x->sampled_at;
    x->exposed[k] = same ? x->exposed[k - 1] : (int32_t)replica_exposed_core(rep);
    x->sampled_at = rep->changes;
}

static int run_window(const task_set *set, task_record *r, task_sim *s, task_runtime *rt,
                      int fresh) {
    const window_set_spec *w = window_set_of(set);
    window_result *x = r->data;
    int status = fresh ? q_drive_into_window(&s->rep, r->core_initial, x->lo, x->hi) : RIPEN_OK;
    if (!status) status = q_window_apply(&s->rep, r->core_initial, x->lo, x->hi);
    if (!status && x->mu_core != set->system.model.mu_core)
        status = use_window_mu(s, set, x->mu_core); /* a resumed, tuned window */
    /* Samples carry E at the set's mu_core, whatever the window's own. */
    const energy_weights set_weights = model_energy_weights(&set->system.model);
    const uint64_t total = w->equilibration_steps + w->sampling_steps;
    while (!status && s->rep.step < total) {
        dynamics_run(&s->dyn, &s->rep, 1);
        if (w->tilt) status = tune_tilt(s, set, r);
        const uint64_t sampled =
            s->rep.step > w->equilibration_steps ? s->rep.step - w->equilibration_steps : 0;
        if (!status && sampled > 0 && sampled % w->sample_interval == 0)
            take_sample(x, &s->rep, r->core_initial, &set_weights);
        if (!status) status = task_between_steps(rt, s, r);
    }
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
    if (!status) status = run_window(set, r, &s, rt, fresh);
    if (!status) {
        r->step = s.rep.step;
        free(r->states);
        r->states = NULL;
    }
    task_sim_close(&s);
    return status;
}

/* ---- the result file ---- */

enum {
    W_LO,
    W_HI,
    W_Q,
    W_ENERGY,
    W_COUNT_SAMPLES,
    W_CORE0,
    W_MU,
    W_N_SHELL,
    W_EXPOSED,
    W_SHELL0,
    W_COUNT
};

typedef struct {
    hid_t d[W_COUNT];
} handles;

static const int32_t fill_i32 = -1;
static const int64_t fill_i64 = -1;
static const double fill_nan = NAN;

static int write_attributes(hid_t g, const task_set *set) {
    const window_set_spec *w = window_set_of(set);
    int status = h5_system_attributes(
        g, &set->system,
        "sampling_mu_core: kT; q_min, q_max, width, overlap, layer_sites: sites of q; "
        "equilibration_steps, sampling_steps, sample_interval: MC steps");
    if (!status) status = h5_attr_string(g, "bias", "hard-wall");
    if (!status) status = h5_attr_double(g, "sampling_mu_core", set->system.model.mu_core);
    if (!status) status = h5_attr_int(g, "q_min", w->q_min);
    if (!status) status = h5_attr_int(g, "q_max", w->q_max);
    if (!status) status = h5_attr_int(g, "width", w->width);
    if (!status) status = h5_attr_int(g, "overlap", w->overlap);
    if (!status) status = h5_attr_int(g, "nwindows", w->nwindows);
    if (!status) status = h5_attr_int(g, "layer_sites", w->layer_sites);
    if (!status) status = h5_attr_int(g, "equilibration_steps", (int64_t)w->equilibration_steps);
    if (!status) status = h5_attr_int(g, "sampling_steps", (int64_t)w->sampling_steps);
    if (!status) status = h5_attr_int(g, "tilt", w->tilt);
    if (!status) status = h5_attr_int(g, "repeat", w->repeat);
    if (!status) status = h5_attr_int(g, "sample_interval", (int64_t)w->sample_interval);
    if (!status) status = h5_attr_double(g, "shell_tolerance", w->shell_tolerance);
    if (!status) status = h5_attr_int(g, "first_task", set->first_task);
    return status;
}

/* The shell's samples: N_shell and the exposed core [K, M], N_shell(0) [K]. */
static void create_shell_datasets(hid_t g, hsize_t k, hsize_t m, hid_t *d) {
    d[W_N_SHELL] =
        h5_dataset(g, &(h5_dataset_info){.name = "n_shell",
                                         .type = H5_I32,
                                         .rank = 2,
                                         .dims = {k, m},
                                         .fill = &fill_i32,
                                         .units = "sites",
                                         .description = "N_shell, per sample of window k",
                                         .compress = 1});
    d[W_EXPOSED] = h5_dataset(
        g, &(h5_dataset_info){.name = "exposed_core",
                              .type = H5_I32,
                              .rank = 2,
                              .dims = {k, m},
                              .fill = &fill_i32,
                              .units = "sites",
                              .description = "exposed core (core sites with a solution neighbour "
                                             "of the 8), per sample of window k",
                              .compress = 1});
    d[W_SHELL0] = h5_dataset(g, &(h5_dataset_info){.name = "shell_sites",
                                                   .type = H5_I64,
                                                   .rank = 1,
                                                   .dims = {k},
                                                   .fill = &fill_i64,
                                                   .units = "sites",
                                                   .description = "N_shell(0) of window k's "
                                                                  "initial particle"});
}

static int h5_create(hid_t g, const job *j, const task_set *set, const int64_t extent[TASK_EXTENTS],
                     void **out) {
    (void)j, (void)extent;
    const window_set_spec *w = window_set_of(set);
    handles *h = malloc(sizeof *h);
    if (!(*out = h)) return ripen_fail(RIPEN_ENOMEM, "out of memory");
    for (int k = 0; k < W_COUNT; ++k) h->d[k] = -1;
    const int status = write_attributes(g, set);
    if (status) return status;
    const hsize_t k = (hsize_t)w->nwindows, m = (hsize_t)window_sample_count(w);
    hid_t *d = h->d;
    d[W_LO] = h5_dataset(g, &(h5_dataset_info){.name = "lo",
                                               .type = H5_I32,
                                               .rank = 1,
                                               .dims = {k},
                                               .units = "sites",
                                               .description = "window k's lower wall on q"});
    d[W_HI] = h5_dataset(g, &(h5_dataset_info){.name = "hi",
                                               .type = H5_I32,
                                               .rank = 1,
                                               .dims = {k},
                                               .units = "sites",
                                               .description = "window k's upper wall on q"});
    d[W_Q] = h5_dataset(g, &(h5_dataset_info){.name = "q",
                                              .type = H5_I32,
                                              .rank = 2,
                                              .dims = {k, m},
                                              .fill = &fill_i32,
                                              .units = "sites (N_core - core_sites)",
                                              .description = "q, per sample of window k",
                                              .compress = 1});
    d[W_ENERGY] = h5_dataset(
        g, &(h5_dataset_info){.name = "energy",
                              .type = H5_F64,
                              .rank = 2,
                              .dims = {k, m},
                              .fill = &fill_nan,
                              .units = "kT",
                              .description = "E at sampling_mu_core, per sample of window k (for "
                                             "reweighting in other parameters)",
                              .compress = 1});
    d[W_COUNT_SAMPLES] = h5_dataset(g, &(h5_dataset_info){.name = "sample_count",
                                                          .type = H5_I64,
                                                          .rank = 1,
                                                          .dims = {k},
                                                          .fill = &fill_i64,
                                                          .description = "samples window k took"});
    d[W_CORE0] = h5_dataset(g, &(h5_dataset_info){.name = "core_sites",
                                                  .type = H5_I64,
                                                  .rank = 1,
                                                  .dims = {k},
                                                  .fill = &fill_i64,
                                                  .units = "sites",
                                                  .description = "N_core(0), the origin of q"});
    d[W_MU] = h5_dataset(
        g, &(h5_dataset_info){.name = "mu_core",
                              .type = H5_F64,
                              .rank = 1,
                              .dims = {k},
                              .fill = &fill_nan,
                              .units = "kT",
                              .description = "window k's own mu_core: sampling_mu_core, or its "
                                             "tuned value if tilted (a linear bias in q)"});
    create_shell_datasets(g, k, m, d);
    for (int n = 0; n < W_COUNT; ++n)
        if (d[n] < 0)
            return ripen_fail(RIPEN_EIO, "cannot create datasets in /windows/%s", set->name);
    return RIPEN_OK;
}

static int h5_write_set(void *handles_, const job *j, const task_set *set) {
    (void)j;
    const handles *h = handles_;
    const window_set_spec *w = window_set_of(set);
    int32_t *lo = malloc(sizeof *lo * (size_t)w->nwindows);
    int32_t *hi = malloc(sizeof *hi * (size_t)w->nwindows);
    int status = lo && hi ? RIPEN_OK : ripen_fail(RIPEN_ENOMEM, "out of memory");
    for (int k = 0; k < w->nwindows && !status; ++k) {
        int a, b;
        window_bounds(w, k, &a, &b);
        lo[k] = a, hi[k] = b;
    }
    const hsize_t start[1] = {0}, nk[1] = {(hsize_t)w->nwindows};
    if (!status) status = h5_write_block(h->d[W_LO], H5_I32, 1, start, nk, lo);
    if (!status) status = h5_write_block(h->d[W_HI], H5_I32, 1, start, nk, hi);
    free(lo), free(hi);
    return status;
}

/* Collective (h5out.c): n = 0 on a rank without windows left. */
static int h5_write_tasks(void *handles_, const task_set *set, int n, const int64_t *members,
                          task_record *const *records) {
    (void)set;
    enum { BATCH = 64 };
    if (n > BATCH) return ripen_fail(RIPEN_EINVAL, "too many windows in one write");
    const hid_t *d = ((const handles *)handles_)->d;
    int status = RIPEN_OK;
    hsize_t starts[BATCH * 2] = {0}, counts[BATCH * 2] = {0};
    const void *q[BATCH] = {0}, *energy[BATCH] = {0}, *shell[BATCH] = {0}, *exposed[BATCH] = {0};
    for (int i = 0; i < n; ++i) {
        const window_result *x = records[i]->data;
        const hsize_t row[1] = {(hsize_t)members[i]}, one[1] = {1};
        if (!status) status = h5_write_block(d[W_COUNT_SAMPLES], H5_I64, 1, row, one, &x->nq);
        if (!status)
            status = h5_write_block(d[W_CORE0], H5_I64, 1, row, one, &records[i]->core_initial);
        if (!status) status = h5_write_block(d[W_MU], H5_F64, 1, row, one, &x->mu_core);
        if (!status)
            status = h5_write_block(d[W_SHELL0], H5_I64, 1, row, one, &records[i]->shell_initial);
        starts[2 * i] = (hsize_t)members[i], starts[2 * i + 1] = 0;
        counts[2 * i] = 1, counts[2 * i + 1] = (hsize_t)x->nq;
        q[i] = x->q, energy[i] = x->q_energy, shell[i] = x->n_shell, exposed[i] = x->exposed;
    }
    const int written[4] = {h5_write_blocks(d[W_Q], H5_I32, 2, n, starts, counts, q),
                            h5_write_blocks(d[W_ENERGY], H5_F64, 2, n, starts, counts, energy),
                            h5_write_blocks(d[W_N_SHELL], H5_I32, 2, n, starts, counts, shell),
                            h5_write_blocks(d[W_EXPOSED], H5_I32, 2, n, starts, counts, exposed)};
    for (int k = 0; k < 4 && !status; ++k) status = written[k];
    return status;
}

static void h5_close(void *handles_) {
    handles *h = handles_;
    if (!h) return;
    h5_close_datasets(h->d, W_COUNT);
    free(h);
}

static int h5_load_task(hid_t g, const task_set *set, int64_t member, task_record *r) {
    const window_set_spec *w = window_set_of(set);
    window_result *x = r->data;
    const hsize_t row[1] = {(hsize_t)member}, one[1] = {1};
    int status = h5_read_from(g, "sample_count", H5_I64, 1, row, one, &x->nq);
    if (!status) status = h5_read_from(g, "core_sites", H5_I64, 1, row, one, &r->core_initial);
    if (!status && (x->nq < 0 || x->nq > window_sample_count(w))) status = RIPEN_EIO;
    const hsize_t start2[2] = {(hsize_t)member, 0}, n[2] = {1, (hsize_t)(status ? 0 : x->nq)};
    if (!status) status = h5_read_from(g, "q", H5_I32, 2, start2, n, x->q);
    if (!status) status = h5_read_from(g, "energy", H5_F64, 2, start2, n, x->q_energy);
    if (!status) status = h5_read_from(g, "n_shell", H5_I32, 2, start2, n, x->n_shell);
    if (!status) status = h5_read_from(g, "exposed_core", H5_I32, 2, start2, n, x->exposed);
    if (!status) status = h5_read_from(g, "shell_sites", H5_I64, 1, row, one, &r->shell_initial);
    if (!status) status = h5_read_from(g, "mu_core", H5_F64, 1, row, one, &x->mu_core);
    if (!status && !isfinite(x->mu_core)) status = RIPEN_EIO;
    r->step = w->equilibration_steps + w->sampling_steps;
    window_bounds(w, (int)member, &x->lo, &x->hi);
    return status;
}

static void h5_size(const task_set *set, const int64_t extent[TASK_EXTENTS], double *bytes,
                    double *objects) {
    (void)extent;
    const window_set_spec *w = window_set_of(set);
    const double k = w->nwindows, m = (double)window_sample_count(w);
    const double nq = (double)w->q_max - w->q_min + 1;
    *bytes = k * (4 + 4 + 8 + 8 + 8 + 8) + k * m * (4 + 8 + 4 + 4) + nq * (4 + 5 * 8) + k * 8;
    *objects = 1 + W_COUNT + 8;
}

/* ---- the summary ---- */

static void summary(const job *j, const task_kind *kind, task_loader load, void *context,
                    void *const *results) {
    (void)load, (void)context;
    for (int s = 0; s < j->nsets; ++s) {
        if (j->sets[s].kind != kind) continue;
        const fq_result *f = results[s];
        const char *name = j->sets[s].name;
        if (f && f->failed)
            printf("  F(q) %-22s not determined (see the warning)%s%s\n", name,
                   f->shell_warning[0] ? "; " : "", f->shell_warning);
        else if (f) {
            char wham[128], mbar[128];
            fq_format(wham, sizeof wham, f->barrier_wham, f->barrier_wham_sigma, 2);
            fq_format(mbar, sizeof mbar, f->barrier_mbar, f->barrier_mbar_sigma, 2);
            printf("  F(q) %-22s mu_core* = %.3f kT, barrier %s (WHAM%s), %s (MBAR%s)%s%s\n", name,
                   f->mu_star, wham, f->wham_converged ? "" : ", NOT converged", mbar,
                   f->mbar_converged ? "" : ", NOT converged", f->warnings[0] ? "; warning: " : "",
                   f->warnings);
        }
    }
}

static void warn_result(const task_set *set, const void *result) {
    const fq_result *f = result;
    if (f->failed)
        fprintf(stderr,
                "ripen: warning: F(q) of windows %s not determined: %s (the window samples are in "
                "the file; `ripen analyze` recomputes F(q))\n",
                set->name, f->error);
    if (f->shell_warning[0])
        fprintf(stderr, "ripen: warning: windows %s: %s\n", set->name, f->shell_warning);
}

const task_kind task_kind_windows = {
    .key = "windows",
    .entry = "windows",
    .task_noun = "window",
    .set_noun = "window set",
    .always_group = 1,
    .description = "umbrella-window sets for F(q): hard walls on q = N_core - N_core(0)",
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
    .h5_create = h5_create,
    .h5_write_set = h5_write_set,
    .h5_write_tasks = h5_write_tasks,
    .h5_close = h5_close,
    .h5_load_task = h5_load_task,
    .h5_size = h5_size,
    .analyze = fq_analyze,
    .analysis_cost = fq_analysis_cost,
    .code_result = fq_code,
    .free_result = fq_release,
    .result_group = "fq",
    .h5_write_result = fq_write,
    .print_result = fq_print,
    .warn_result = warn_result,
    .summary = summary,
};
