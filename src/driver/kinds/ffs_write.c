/* Forward flux sampling in the result file: /ffs/<name> (docs/hdf5-layout.md). Every task's
 * crossings, shots and stored configurations (so that `ripen analyze` and `ripen merge` can
 * recompute the rate), and the rate with its errors and a few transition paths. */
#include "ffs_internal.h"

#include "h5util.h"
#include "ripen/engine/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
    F_INTERFACES,
    F_WALKER_TIME,
    F_WALKER_EXCURSION_TIME,
    F_WALKER_CROSSINGS,
    F_WALKER_RESETS,
    F_CONFIG_COUNT,
    F_CONFIG_LAMBDA,
    F_CONFIG_PARENT,
    F_CONFIG_ROOT,
    F_CONFIG_SHELL,
    F_CONFIG_EXPOSED,
    F_CONFIGS,
    F_SHOT_COUNT,
    F_SHOT_SOURCE,
    F_SHOT_ROOT,
    F_SHOT_OUTCOME,
    F_SHOT_STEPS,
    F_COUNT
};

typedef struct {
    hid_t d[F_COUNT];
    int64_t configs, shots; /* the datasets' extents: the most any task holds */
} handles;

static const int64_t fill_i64 = -1;
static const uint8_t fill_u8 = 255;
static const double fill_nan = NAN;

void ffs_h5_extent(const task_set *set, int64_t member, const task_record *r,
                   int64_t extent[TASK_EXTENTS]) {
    (void)set, (void)member;
    const ffs_result *x = r->data;
    extent[0] = x->nconfigs, extent[1] = x->nshots;
}

static int write_attributes(hid_t g, const task_set *set) {
    const ffs_spec *f = ffs_of(set);
    int status = h5_system_attributes(
        g, &set->system,
        "basin, target_lambda: units of the order parameter; target_sites: sites grown; "
        "max_walker_steps, max_shot_steps: MC steps");
    if (!status) status = h5_attr_string(g, "order_parameter", lambda_kind_names[f->measure]);
    if (!status) status = h5_attr_int(g, "basin", f->basin);
    if (!status) status = h5_attr_string(g, "target", f->target);
    if (!status) status = h5_attr_int(g, "target_lambda", f->lambda[f->ninterfaces]);
    if (!status)
        status =
            h5_attr_int(g, "target_sites", f->lambda[f->ninterfaces] / lambda_per_site(f->measure));
    if (!status) status = h5_attr_int(g, "crossings", f->crossings);
    if (!status) status = h5_attr_int(g, "walkers", f->walkers);
    if (!status) status = h5_attr_int(g, "trials", f->trials);
    if (!status) status = h5_attr_int(g, "successes", f->successes);
    if (!status) status = h5_attr_int(g, "max_trials", f->max_trials);
    if (!status) status = h5_attr_int(g, "shot_tasks", f->shot_tasks);
    if (!status) status = h5_attr_int(g, "max_walker_steps", (int64_t)f->max_walker_steps);
    if (!status) status = h5_attr_int(g, "max_shot_steps", (int64_t)f->max_shot_steps);
    if (!status) status = h5_attr_int(g, "paths", f->paths);
    if (!status) status = h5_attr_double(g, "shell_tolerance", f->shell_tolerance);
    if (!status) status = h5_attr_int(g, "first_task", set->first_task);
    return status;
}

int ffs_h5_create(hid_t g, const job *j, const task_set *set, const int64_t extent[TASK_EXTENTS],
                  void **out) {
    (void)j;
    const ffs_spec *f = ffs_of(set);
    handles *h = malloc(sizeof *h);
    if (!(*out = h)) return ripen_fail(RIPEN_ENOMEM, "out of memory");
    for (int k = 0; k < F_COUNT; ++k) h->d[k] = -1;
    h->configs = extent[0], h->shots = extent[1];
    const int status = write_attributes(g, set);
    if (status) return status;
    const hsize_t t = (hsize_t)set->ntasks, w = (hsize_t)f->walkers;
    const hsize_t c = (hsize_t)h->configs, s = (hsize_t)h->shots;
    const hsize_t lz = (hsize_t)set->system.lz, ly = (hsize_t)set->system.ly,
                  lx = (hsize_t)set->system.lx;
#define D1(n, type_, length, fill_, units_, text)                                                  \
    {                                                                                              \
        .name = n, .type = type_, .rank = 1, .dims = {length}, .fill = fill_, .units = units_,     \
        .description = text                                                                        \
    }
#define DZ(n, type_, rank_, fill_, units_, text, ...)                                              \
    {                                                                                              \
        .name = n, .type = type_, .rank = rank_, .dims = {__VA_ARGS__}, .fill = fill_,             \
        .units = units_, .description = text, .compress = 1                                        \
    }
    const h5_dataset_info info[F_COUNT] = {
        D1("interfaces", H5_I64, (hsize_t)f->ninterfaces + 1, NULL, "sites of λ",
           "λ_0 < ... < λ_{n-1} and the target λ_n"),
        D1("walker_time", H5_F64, w, &fill_nan, "MC steps",
           "time each stage-0 walker counted for the flux: last in A rather than at the target, "
           "less the excursions that reached the target"),
        D1("walker_excursion_time", H5_F64, w, &fill_nan, "MC steps",
           "time each walker spent on excursions from λ_0 that reached the target (not "
           "counted)"),
        D1("walker_crossings", H5_I64, w, &fill_i64, NULL,
           "first crossings of λ_0 from the basin each walker stored"),
        D1("walker_resets", H5_I64, w, &fill_i64, NULL,
           "times each walker reached the target and started again"),
        D1("config_count", H5_I64, t, &fill_i64, NULL,
           "configurations each task stored (walker crossings, shot successes)"),
        DZ("config_lambda", H5_I64, 2, &fill_i64, "sites", "λ of each stored configuration", t, c),
        DZ("config_parent", H5_I64, 3, &fill_i64, "task id, configuration index",
           "where the shot that stored it started (-1: a walker's crossing)", t, c, 2),
        DZ("config_root", H5_I64, 2, &fill_i64, "task id", "the walker its ancestry starts from", t,
           c),
        DZ("config_shell", H5_I64, 2, &fill_i64, "sites", "N_shell of each stored configuration", t,
           c),
        DZ("config_exposed", H5_I64, 2, &fill_i64, "sites",
           "exposed core (core sites with a solution neighbour) of each stored configuration", t,
           c),
        DZ("configs", H5_U8, 5, &fill_u8, "state: 0 solution, 1 core, 2 shell (255: none)",
           "the stored configurations", t, c, lz, ly, lx),
        D1("shot_count", H5_I64, t, &fill_i64, NULL, "trial shots each task ran"),
        DZ("shot_source", H5_I64, 3, &fill_i64, "task id, configuration index",
           "the configuration each shot started from", t, s, 2),
        DZ("shot_root", H5_I64, 2, &fill_i64, "task id",
           "the walker each shot's start descends from", t, s),
        DZ("shot_outcome", H5_U8, 2, &fill_u8, "0 back in the basin, 1 success, 2 too long",
           "each shot's outcome", t, s),
        DZ("shot_steps", H5_F64, 2, &fill_nan, "MC steps", "each shot's length", t, s),
    };
#undef D1
#undef DZ
    for (int k = 0; k < F_COUNT; ++k) {
        h->d[k] = h5_dataset(g, &info[k]);
        if (h->d[k] < 0)
            return ripen_fail(RIPEN_EIO, "cannot create /ffs/%s/%s", set->name, info[k].name);
    }
    return RIPEN_OK;
}

int ffs_h5_write_set(void *handles_, const job *j, const task_set *set) {
    (void)j;
    const handles *h = handles_;
    const ffs_spec *f = ffs_of(set);
    const hsize_t start[1] = {0}, n[1] = {(hsize_t)f->ninterfaces + 1};
    return h5_write_block(h->d[F_INTERFACES], H5_I64, 1, start, n, f->lambda);
}

static int write_scalars(const hid_t *d, const task_set *set, int64_t member,
                         const task_record *r) {
    const ffs_result *x = r->data;
    const hsize_t row[1] = {(hsize_t)member}, one[1] = {1};
    int status = h5_write_block(d[F_CONFIG_COUNT], H5_I64, 1, row, one, &x->nconfigs);
    if (!status) status = h5_write_block(d[F_SHOT_COUNT], H5_I64, 1, row, one, &x->nshots);
    if (!status && member < ffs_of(set)->walkers) {
        status = h5_write_block(d[F_WALKER_TIME], H5_F64, 1, row, one, &x->time);
        if (!status)
            status =
                h5_write_block(d[F_WALKER_EXCURSION_TIME], H5_F64, 1, row, one, &x->excursion_time);
        if (!status)
            status = h5_write_block(d[F_WALKER_CROSSINGS], H5_I64, 1, row, one, &x->crossings);
        if (!status) status = h5_write_block(d[F_WALKER_RESETS], H5_I64, 1, row, one, &x->resets);
    }
    return status;
}

/* The parents (or sources) as [count, 2] pairs. */
static int64_t *pairs(const int64_t *first, const int64_t *second, int64_t count) {
    int64_t *out = malloc(sizeof *out * 2 * (size_t)(count ? count : 1));
    for (int64_t k = 0; out && k < count; ++k) out[2 * k] = first[k], out[2 * k + 1] = second[k];
    return out;
}

enum { BATCH = 64 };

/* One collective write of n tasks' rows of a per-configuration or per-shot dataset. */
static int write_rows(hid_t d, h5_type type, int rank, int n, const int64_t *members,
                      const int64_t *lengths, const hsize_t *inner, const void *const *data) {
    hsize_t starts[BATCH * 5] = {0}, counts[BATCH * 5] = {0};
    for (int i = 0; i < n; ++i) {
        starts[i * rank] = (hsize_t)members[i];
        counts[i * rank] = 1, counts[i * rank + 1] = (hsize_t)lengths[i];
        for (int k = 2; k < rank; ++k) counts[i * rank + k] = inner[k - 2];
    }
    return h5_write_blocks(d, type, rank, n, starts, counts, data);
}

int ffs_h5_write_tasks(void *handles_, const task_set *set, int n, const int64_t *members,
                       task_record *const *records) {
    if (n > BATCH) return ripen_fail(RIPEN_EINVAL, "too many ffs tasks in one write");
    const hid_t *d = ((const handles *)handles_)->d;
    int status = RIPEN_OK;
    int64_t configs[BATCH] = {0}, shots[BATCH] = {0};
    const void *data[BATCH] = {0};
    int64_t *parents[BATCH] = {0}, *sources[BATCH] = {0};
    for (int i = 0; i < n; ++i) {
        const ffs_result *x = records[i]->data;
        if (!status) status = write_scalars(d, set, members[i], records[i]);
        configs[i] = x->nconfigs, shots[i] = x->nshots;
        parents[i] = pairs(x->config_parent_task, x->config_parent_index, x->nconfigs);
        sources[i] = pairs(x->shot_source_task, x->shot_source_index, x->nshots);
        if (!parents[i] || !sources[i]) status = ripen_fail(RIPEN_ENOMEM, "out of memory");
    }
    const hsize_t lattice[3] = {(hsize_t)set->system.lz, (hsize_t)set->system.ly,
                                (hsize_t)set->system.lx};
    const hsize_t two[1] = {2};
    const ffs_result *x[BATCH];
    for (int i = 0; i < n; ++i) x[i] = records[i]->data;
#define COLUMN(field)                                                                              \
    for (int i = 0; i < n; ++i) data[i] = (field);
    int written;
    COLUMN(x[i]->config_lambda)
    written = write_rows(d[F_CONFIG_LAMBDA], H5_I64, 2, n, members, configs, NULL, data);
    if (!status) status = written;
    COLUMN(parents[i])
    written = write_rows(d[F_CONFIG_PARENT], H5_I64, 3, n, members, configs, two, data);
    if (!status) status = written;
    COLUMN(x[i]->config_root)
    written = write_rows(d[F_CONFIG_ROOT], H5_I64, 2, n, members, configs, NULL, data);
    if (!status) status = written;
    COLUMN(x[i]->config_shell)
    written = write_rows(d[F_CONFIG_SHELL], H5_I64, 2, n, members, configs, NULL, data);
    if (!status) status = written;
    COLUMN(x[i]->config_exposed)
    written = write_rows(d[F_CONFIG_EXPOSED], H5_I64, 2, n, members, configs, NULL, data);
    if (!status) status = written;
    COLUMN(x[i]->configs)
    written = write_rows(d[F_CONFIGS], H5_U8, 5, n, members, configs, lattice, data);
    if (!status) status = written;
    COLUMN(sources[i])
    written = write_rows(d[F_SHOT_SOURCE], H5_I64, 3, n, members, shots, two, data);
    if (!status) status = written;
    COLUMN(x[i]->shot_root)
    written = write_rows(d[F_SHOT_ROOT], H5_I64, 2, n, members, shots, NULL, data);
    if (!status) status = written;
    COLUMN(x[i]->shot_outcome)
    written = write_rows(d[F_SHOT_OUTCOME], H5_U8, 2, n, members, shots, NULL, data);
    if (!status) status = written;
    COLUMN(x[i]->shot_steps)
    written = write_rows(d[F_SHOT_STEPS], H5_F64, 2, n, members, shots, NULL, data);
    if (!status) status = written;
#undef COLUMN
    for (int i = 0; i < n; ++i) free(parents[i]), free(sources[i]);
    return status;
}

void ffs_h5_close(void *handles_) {
    handles *h = handles_;
    if (!h) return;
    h5_close_datasets(h->d, F_COUNT);
    free(h);
}

/* Reads [count, 2] pairs back into two columns. */
static int read_pairs(hid_t g, const char *name, int64_t member, int64_t count, int64_t *first,
                      int64_t *second) {
    int64_t *both = malloc(sizeof *both * 2 * (size_t)(count ? count : 1));
    if (!both) return RIPEN_ENOMEM;
    const hsize_t start[3] = {(hsize_t)member, 0, 0}, n[3] = {1, (hsize_t)count, 2};
    const int status = h5_read_from(g, name, H5_I64, 3, start, n, both);
    for (int64_t k = 0; !status && k < count; ++k)
        first[k] = both[2 * k], second[k] = both[2 * k + 1];
    free(both);
    return status;
}

int ffs_h5_load_task(hid_t g, const task_set *set, int64_t member, task_record *r) {
    ffs_result *x = r->data;
    const hsize_t row[1] = {(hsize_t)member}, one[1] = {1};
    int64_t configs = 0, shots = 0;
    int status = h5_read_from(g, "config_count", H5_I64, 1, row, one, &configs);
    if (!status) status = h5_read_from(g, "shot_count", H5_I64, 1, row, one, &shots);
    if (!status && member < ffs_of(set)->walkers) {
        status = h5_read_from(g, "walker_time", H5_F64, 1, row, one, &x->time);
        /* absent from files written before excursions were left out (none then) */
        if (!status && H5Lexists(g, "walker_excursion_time", H5P_DEFAULT) > 0)
            status =
                h5_read_from(g, "walker_excursion_time", H5_F64, 1, row, one, &x->excursion_time);
        if (!status)
            status = h5_read_from(g, "walker_crossings", H5_I64, 1, row, one, &x->crossings);
        if (!status) status = h5_read_from(g, "walker_resets", H5_I64, 1, row, one, &x->resets);
    }
    if (status || configs < 0 || shots < 0) return RIPEN_EIO;
    /* grow the record through its own helpers: a fresh record holds nothing yet */
    uint8_t *states = calloc((size_t)r->nsites, 1);
    for (int64_t k = 0; states && k < configs && !status; ++k)
        status = ffs_add_config(x, r->nsites, states, &(ffs_config_info){0});
    for (int64_t k = 0; states && k < shots && !status; ++k)
        status = ffs_add_shot(x, -1, -1, -1, 0, 0);
    free(states);
    if (!states) return RIPEN_ENOMEM;
    const hsize_t start2[2] = {(hsize_t)member, 0};
    const hsize_t nc[2] = {1, (hsize_t)configs}, ns[2] = {1, (hsize_t)shots};
    const hsize_t start5[5] = {(hsize_t)member, 0, 0, 0, 0};
    const hsize_t n5[5] = {1, (hsize_t)configs, (hsize_t)set->system.lz, (hsize_t)set->system.ly,
                           (hsize_t)set->system.lx};
    if (!status) status = h5_read_from(g, "config_lambda", H5_I64, 2, start2, nc, x->config_lambda);
    if (!status)
        status = read_pairs(g, "config_parent", member, configs, x->config_parent_task,
                            x->config_parent_index);
    if (!status) status = h5_read_from(g, "config_root", H5_I64, 2, start2, nc, x->config_root);
    if (!status) status = h5_read_from(g, "config_shell", H5_I64, 2, start2, nc, x->config_shell);
    if (!status)
        status = h5_read_from(g, "config_exposed", H5_I64, 2, start2, nc, x->config_exposed);

    if (!status) status = h5_read_from(g, "configs", H5_U8, 5, start5, n5, x->configs);
    if (!status)
        status =
            read_pairs(g, "shot_source", member, shots, x->shot_source_task, x->shot_source_index);
    if (!status) status = h5_read_from(g, "shot_root", H5_I64, 2, start2, ns, x->shot_root);
    if (!status) status = h5_read_from(g, "shot_outcome", H5_U8, 2, start2, ns, x->shot_outcome);
    if (!status) status = h5_read_from(g, "shot_steps", H5_F64, 2, start2, ns, x->shot_steps);
    return status;
}

void ffs_h5_size(const task_set *set, const int64_t extent[TASK_EXTENTS], double *bytes,
                 double *objects) {
    const double t = (double)set->ntasks, c = (double)extent[0], s = (double)extent[1];
    const double sites = (double)set->system.lx * set->system.ly * set->system.lz;
    const ffs_spec *f = ffs_of(set);
    *bytes = t * c * (sites + 48) + t * s * 33 + t * 16 + (double)f->walkers * 32 +
             (double)(f->paths * (f->ninterfaces + 1)) * (sites + 8) + 64.0 * f->ninterfaces;
    *objects = 1 + F_COUNT + 20;
}

/* ---- the rate ---- */

static int write_vector(hid_t g, const char *name, h5_type type, hsize_t n, const void *data,
                        const char *units, const char *description, int writer) {
    const hid_t d = h5_dataset(g, &(h5_dataset_info){.name = name,
                                                     .type = type,
                                                     .rank = 1,
                                                     .dims = {n},
                                                     .units = units,
                                                     .description = description});
    if (d < 0) return ripen_fail(RIPEN_EIO, "cannot create rate/%s", name);
    const hsize_t start[1] = {0}, count[1] = {n};
    const int status = writer ? h5_write_block(d, type, 1, start, count, data) : RIPEN_OK;
    H5Dclose(d);
    return status;
}

static int write_rate_attributes(hid_t g, const ffs_rate *r) {
    const struct {
        const char *name;
        double value;
    } values[] = {{"flux", r->flux},
                  {"flux_time", r->flux_time},
                  {"rate", r->rate},
                  {"rate_sigma", r->rate_sigma},
                  {"rate_lower", r->rate_lower},
                  {"rate_upper", r->rate_upper},
                  {"mfpt", r->mfpt},
                  {"mfpt_lower", r->mfpt_lower},
                  {"mfpt_upper", r->mfpt_upper},
                  {"median", r->median},
                  {"median_lower", r->median_lower},
                  {"median_upper", r->median_upper},
                  {"transit", r->transit},
                  {"passage", r->passage},
                  {"passage_lower", r->passage_lower},
                  {"passage_upper", r->passage_upper}};
    int status = RIPEN_OK;
    for (size_t k = 0; k < sizeof values / sizeof *values && !status; ++k)
        status = h5_attr_double(g, values[k].name, values[k].value);
    if (!status) status = h5_attr_int(g, "flux_crossings", r->flux_crossings);
    if (!status) status = h5_attr_int(g, "walkers_crossing", r->walkers_crossing);
    if (!status) status = h5_attr_int(g, "determined", r->determined);
    if (!status) status = h5_attr_int(g, "bootstrap_samples", r->bootstrap);
    if (!status) status = h5_attr_string(g, "shell_warning", r->shell_warning);
    if (!status) status = h5_attr_string(g, "warnings", r->warnings);
    if (!status)
        status = h5_attr_string(
            g, "units",
            "flux, rate, rate_*: per MC step; flux_time, mfpt*, median*, transit, passage*: MC "
            "steps; rate_sigma: Allen-Frenkel-ten Wolde; *_lower, *_upper: 95% bootstrap over "
            "the walkers (NaN: no interval, see warnings)");
    return status;
}

int ffs_h5_write_result(hid_t set_group, const task_set *set, const void *result, int writer) {
    const ffs_rate *r = result;
    const hid_t g = h5_group_create(set_group, "rate",
                                    "the rate k = flux x P_0 x ... x P_{n-1} out of the basin, "
                                    "its errors, and transition paths");
    if (g < 0) return ripen_fail(RIPEN_EIO, "cannot create /ffs/%s/rate", set->name);
    int status = write_rate_attributes(g, r);
    const hsize_t n = (hsize_t)r->n;
    if (!status)
        status = write_vector(g, "p", H5_F64, n, r->p, NULL,
                              "P_i: the fraction of shots from λ_i that reached λ_{i+1}", writer);
    if (!status)
        status = write_vector(g, "p_sigma", H5_F64, n, r->p_sigma, NULL,
                              "binomial standard deviation of P_i", writer);
    if (!status)
        status = write_vector(g, "trials", H5_I64, n, r->trials, NULL, "shots from λ_i", writer);
    if (!status)
        status = write_vector(g, "successes", H5_I64, n, r->successes, NULL,
                              "shots from λ_i that reached λ_{i+1}", writer);
    if (!status)
        status = write_vector(g, "dispersion_z", H5_F64, n, r->dispersion_z, NULL,
                              "over-dispersion of the successes by starting configuration "
                              "(z score; NaN: too few starts)",
                              writer);
    if (!status)
        status = write_vector(g, "cumulative", H5_F64, n + 1, r->cumulative, NULL,
                              "P(λ_i | λ_0): the cumulative crossing probability", writer);
    const hsize_t paths[5] = {(hsize_t)r->npaths, n + 1, (hsize_t)set->system.lz,
                              (hsize_t)set->system.ly, (hsize_t)set->system.lx};
    const hid_t d =
        status ? -1
               : h5_dataset(g, &(h5_dataset_info){
                                   .name = "paths",
                                   .type = H5_U8,
                                   .rank = 5,
                                   .dims = {paths[0], paths[1], paths[2], paths[3], paths[4]},
                                   .units = "state: 0 solution, 1 core, 2 shell",
                                   .description = "complete transition paths: the "
                                                  "configurations at λ_0 .. λ_n"});
    const hsize_t start5[5] = {0};
    if (!status && d < 0) status = ripen_fail(RIPEN_EIO, "cannot create rate/paths");
    if (!status && writer) status = h5_write_block(d, H5_U8, 5, start5, paths, r->paths);
    if (d >= 0) H5Dclose(d);
    const hsize_t lambdas[2] = {(hsize_t)r->npaths, n + 1}, start2[2] = {0};
    const hid_t dl =
        status ? -1
               : h5_dataset(g, &(h5_dataset_info){.name = "path_lambda",
                                                  .type = H5_I64,
                                                  .rank = 2,
                                                  .dims = {lambdas[0], lambdas[1]},
                                                  .units = "sites",
                                                  .description = "λ of each path configuration"});
    if (!status && dl < 0) status = ripen_fail(RIPEN_EIO, "cannot create rate/path_lambda");
    if (!status && writer) status = h5_write_block(dl, H5_I64, 2, start2, lambdas, r->path_lambda);
    if (dl >= 0) H5Dclose(dl);
    H5Gclose(g);
    return status;
}
