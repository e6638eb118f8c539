#define _POSIX_C_SOURCE 200809L
#define _GNU_SOURCE     /* fallocate(2): allocation without glibc's slow emulation */
#include "ripen/h5out.h"

#include "ripen/error.h"
#include "ripen/version.h"
#include "ripen/fq.h"
#include "h5util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

void h5out_quiet_errors(void) {
    if (!getenv("RIPEN_HDF5_ERRORS")) H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void run_provenance_collect(MPI_Comm comm, run_provenance *p) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    if (rank == 0) {
        memset(p->created, 0, sizeof p->created);
        const time_t now = time(NULL);
        struct tm utc;
        gmtime_r(&now, &utc);
        strftime(p->created, sizeof p->created, "%Y-%m-%dT%H:%M:%SZ", &utc);
        memset(p->host, 0, sizeof p->host);
        gethostname(p->host, sizeof p->host - 1);
        char library[MPI_MAX_LIBRARY_VERSION_STRING];
        int length;
        MPI_Get_library_version(library, &length);
        library[strcspn(library, "\n,")] = '\0';
        snprintf(p->mpi_library, sizeof p->mpi_library, "%s", library);
        MPI_Comm_size(comm, &p->ranks);
    }
    MPI_Bcast(p, sizeof *p, MPI_BYTE, 0, comm);
}

/* ---- the layout ---- */

static const int32_t fill_i32 = -1;
static const int64_t fill_i64 = -1;
static const uint8_t fill_state = 255;
static const uint8_t fill_zero = 0;
static const double fill_nan = NAN;

static int write_system_attributes(hid_t g, const system_spec *s) {
    const model_params *m = &s->model;
    int status = h5_attr_int(g, "lx", s->lx);
    if (!status) status = h5_attr_int(g, "ly", s->ly);
    if (!status) status = h5_attr_int(g, "lz", s->lz);
    if (!status) status = h5_attr_double(g, "eps_core", m->eps_core);
    if (!status) status = h5_attr_double(g, "eps_shell", m->eps_shell);
    if (!status) status = h5_attr_double(g, "eps_interface", m->eps_interface);
    if (!status) status = h5_attr_double(g, "mu_core", m->mu_core);
    if (!status) status = h5_attr_double(g, "mu_shell", m->mu_shell);
    if (!status) status = h5_attr_string(g, "energy_form", energy_form_names[m->form]);
    if (!status) status = h5_attr_string(g, "move_set", move_set_names[m->moves]);
    if (!status) status = h5_attr_string(g, "proposals", proposal_kind_names[m->proposals]);
    if (!status) status = h5_attr_string(g, "shell_ensemble", shell_ensemble_names[m->shell]);
    if (!status) status = h5_attr_int(g, "bond_neighbours", m->bond_directions);
    if (!status) status = h5_attr_double(g, "p_swap", m->p_swap);
    if (!status) status = h5_attr_string(g, "dynamics", s->dynamics->name);
    if (!status) status = h5_attr_int(g, "core_sites_requested", s->core_sites);
    if (!status) status = h5_attr_int(g, "shell_thickness", s->shell_thickness);
    return status;
}

/* Dataset handles of one ensemble, in the order of ensemble_datasets[]. */
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
/* Window-set datasets. */
enum { W_LO, W_HI, W_Q, W_ENERGY, W_COUNT_SAMPLES, W_CORE0, W_MU, W_COUNT };

typedef struct {
    hid_t file, ensembles, windows;
    hid_t *ensemble_groups, (*ensemble_sets)[E_COUNT];
    hid_t *window_groups, (*window_sets)[W_COUNT];
    hid_t task_done, task_kind, task_group, task_member, task_wall, job_text;
} layout;

static int create_ensemble(hid_t parent, const ensemble_spec *e, hid_t *group, hid_t *d) {
    const hid_t g = H5Gcreate2(parent, e->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    *group = g;
    if (g < 0) return ripen_fail(RIPEN_EIO, "cannot create group /ensembles/%s", e->name);
    int status = write_system_attributes(g, &e->system);
    if (!status) status = h5_attr_int(g, "replicas", e->replicas);
    if (!status) status = h5_attr_int(g, "max_steps", (int64_t)e->max_steps);
    if (!status) status = h5_attr_int(g, "sample_interval", (int64_t)e->sample_interval);
    if (!status) status = h5_attr_int(g, "snapshot_interval", (int64_t)e->snapshot_interval);
    if (!status) status = h5_attr_int(g, "snapshot_replicas", e->snapshot_replicas);
    if (!status) status = h5_attr_int(g, "stop_at_doubling", e->stop_at_doubling);
    if (!status)
        status = h5_attr_string(g, "doubling_criterion", doubling_criterion_names[e->criterion]);
    if (!status) status = h5_attr_int(g, "first_task", e->first_task);
    if (status) return status;
    const hsize_t r = (hsize_t)e->replicas, s = (hsize_t)ensemble_series_length(e);
    const hsize_t p = (hsize_t)e->snapshot_replicas, t = (hsize_t)ensemble_snapshot_count(e);
    const hsize_t one[1] = {r}, three[2] = {r, 3}, series[2] = {r, s}, steps[1] = {s};
    const hsize_t snap[5] = {p, t, (hsize_t)e->system.lz, (hsize_t)e->system.ly,
                             (hsize_t)e->system.lx};
    const hsize_t snap_steps[1] = {t}, snap_count[1] = {p};
    const hid_t i64 = H5T_STD_I64LE, i32 = H5T_STD_I32LE, n64 = H5T_NATIVE_INT64,
                n32 = H5T_NATIVE_INT32;
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
            return ripen_fail(RIPEN_EIO, "cannot create datasets in /ensembles/%s", e->name);
    return RIPEN_OK;
}

static int create_window_set(hid_t parent, const window_set_spec *w, hid_t *group, hid_t *d) {
    const hid_t g = H5Gcreate2(parent, w->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    *group = g;
    if (g < 0) return ripen_fail(RIPEN_EIO, "cannot create group /windows/%s", w->name);
    int status = write_system_attributes(g, &w->system);
    if (!status) status = h5_attr_string(g, "bias", "hard-wall");
    if (!status) status = h5_attr_double(g, "sampling_mu_core", w->system.model.mu_core);
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
    if (!status) status = h5_attr_int(g, "first_task", w->first_task);
    if (status) return status;
    const hsize_t k = (hsize_t)w->nwindows, m = (hsize_t)window_sample_count(w);
    const hsize_t one[1] = {k}, two[2] = {k, m};
    d[W_LO] = h5_dataset_create(g, "lo", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, one, NULL, "sites");
    d[W_HI] = h5_dataset_create(g, "hi", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, one, NULL, "sites");
    d[W_Q] = h5_dataset_create(g, "q", H5T_STD_I32LE, H5T_NATIVE_INT32, 2, two, &fill_i32,
                               "sites (N_core - core_sites)");
    d[W_ENERGY] =
        h5_dataset_create(g, "energy", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, two, &fill_nan, "kT");
    d[W_COUNT_SAMPLES] = h5_dataset_create(g, "sample_count", H5T_STD_I64LE, H5T_NATIVE_INT64, 1,
                                           one, &fill_i64, NULL);
    d[W_CORE0] = h5_dataset_create(g, "core_sites", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, one,
                                   &fill_i64, "sites");
    d[W_MU] = h5_dataset_create(g, "mu_core", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, one, &fill_nan,
                                "kT (the window's own, tuned if tilted)");
    for (int n = 0; n < W_COUNT; ++n)
        if (d[n] < 0)
            return ripen_fail(RIPEN_EIO, "cannot create datasets in /windows/%s", w->name);
    return RIPEN_OK;
}

/* Root attributes identify the job and the file's contents; everything that varies from run to
 * run of the same job (when, where, how many ranks, which build) lives under /provenance, so
 * "identical results" means: identical outside /provenance. */
static int write_root_attributes(hid_t file, const job *j, const run_provenance *p, int complete) {
    char hash[32];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)j->hash);
    int status = h5_attr_string(file, "format", "ripen-results");
    if (!status) status = h5_attr_int(file, "format_version", H5OUT_FORMAT_VERSION);
    if (!status) status = h5_attr_int(file, "seed", (int64_t)j->seed);
    if (!status) status = h5_attr_string(file, "job_hash", hash);
    if (!status) status = h5_attr_int(file, "shard_index", p->shard_index);
    if (!status) status = h5_attr_int(file, "shard_count", p->shard_count);
    if (!status) status = h5_attr_int(file, "complete", complete);
    if (!status)
        status = h5_attr_string(file, "units",
                                "energies in kT, times in MC steps "
                                "(1 step = lattice-size attempts)");
    return status;
}

static int write_provenance_attributes(hid_t prov, const job *j, const run_provenance *p) {
    unsigned major, minor, release;
    H5get_libversion(&major, &minor, &release);
    char hdf5[32];
    snprintf(hdf5, sizeof hdf5, "%u.%u.%u", major, minor, release);
    int status = h5_attr_string(prov, "ripen_version", ripen_version());
    if (!status) status = h5_attr_string(prov, "git_commit", ripen_git_commit());
    if (!status) status = h5_attr_string(prov, "created", p->created);
    if (!status) status = h5_attr_string(prov, "host", p->host);
    if (!status) status = h5_attr_int(prov, "mpi_ranks", p->ranks);
    if (!status) status = h5_attr_string(prov, "mpi_library", p->mpi_library);
    if (!status) status = h5_attr_string(prov, "hdf5_version", hdf5);
    if (!status) status = h5_attr_double(prov, "wall_seconds", p->wall_seconds);
    if (!status) status = h5_attr_string(prov, "job_path", j->path);
    return status;
}

static int create_layout(layout *l, const job *j, const run_provenance *p, int complete) {
    int status = write_root_attributes(l->file, j, p, complete);
    const hid_t job_group = H5Gcreate2(l->file, "job", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const hid_t text_type = h5_string_type(strlen(j->text) + 1);
    const hid_t scalar = H5Screate(H5S_SCALAR);
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    l->job_text = H5Dcreate2(job_group, "json", text_type, scalar, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(scalar);
    H5Tclose(text_type);
    if (!status && (job_group < 0 || l->job_text < 0))
        status = ripen_fail(RIPEN_EIO, "cannot create /job");
    if (!status) status = h5_attr_string(job_group, "normalized", j->normalized);
    if (job_group >= 0) H5Gclose(job_group);

    const hid_t tasks = H5Gcreate2(l->file, "tasks", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const hid_t prov = H5Gcreate2(l->file, "provenance", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (!status) status = write_provenance_attributes(prov, j, p);
    const hsize_t n[1] = {(hsize_t)j->ntasks};
    l->task_done =
        h5_dataset_create(tasks, "done", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, n, &fill_zero, NULL);
    l->task_kind = h5_dataset_create(tasks, "kind", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, n, NULL,
                                     "0 replica, 1 window");
    l->task_group = h5_dataset_create(tasks, "group", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, n, NULL,
                                      "index of the ensemble or window set");
    l->task_member = h5_dataset_create(tasks, "member", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, n, NULL,
                                       "replica or window index");
    l->task_wall = h5_dataset_create(prov, "task_wall_seconds", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                                     1, n, &fill_nan, "s (varies from run to run)");
    H5Gclose(tasks);
    H5Gclose(prov);
    l->ensembles = H5Gcreate2(l->file, "ensembles", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    l->windows = H5Gcreate2(l->file, "windows", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    for (int e = 0; e < j->nensembles && !status; ++e)
        status = create_ensemble(l->ensembles, &j->ensembles[e], &l->ensemble_groups[e],
                                 l->ensemble_sets[e]);
    for (int w = 0; w < j->nwindow_sets && !status; ++w)
        status = create_window_set(l->windows, &j->window_sets[w], &l->window_groups[w],
                                   l->window_sets[w]);
    return status;
}

/* ---- data ---- */

static int write_shared_data(layout *l, const job *j, const uint8_t *present) {
    int status =
        H5Dwrite(l->job_text, H5Dget_type(l->job_text), H5S_ALL, H5S_ALL, H5P_DEFAULT, j->text) < 0
            ? ripen_fail(RIPEN_EIO, "cannot write /job/json")
            : RIPEN_OK;
    const hsize_t start[1] = {0}, n[1] = {(hsize_t)j->ntasks};
    uint8_t *kind = malloc((size_t)j->ntasks + 1);
    int32_t *group = malloc(sizeof *group * (size_t)(j->ntasks + 1));
    int32_t *member = malloc(sizeof *member * (size_t)(j->ntasks + 1));
    if (!kind || !group || !member) status = ripen_fail(RIPEN_ENOMEM, "out of memory");
    for (int64_t id = 0; id < j->ntasks && !status; ++id) {
        kind[id] = (uint8_t)j->tasks[id].kind;
        group[id] = j->tasks[id].group;
        member[id] = j->tasks[id].member;
    }
    if (!status) status = h5_write_block(l->task_done, H5T_NATIVE_UINT8, 1, start, n, present);
    if (!status) status = h5_write_block(l->task_kind, H5T_NATIVE_UINT8, 1, start, n, kind);
    if (!status) status = h5_write_block(l->task_group, H5T_NATIVE_INT32, 1, start, n, group);
    if (!status) status = h5_write_block(l->task_member, H5T_NATIVE_INT32, 1, start, n, member);
    free(kind), free(group), free(member);
    for (int e = 0; e < j->nensembles && !status; ++e) {
        const ensemble_spec *en = &j->ensembles[e];
        const int64_t s = ensemble_series_length(en), t = ensemble_snapshot_count(en);
        int64_t *steps = malloc(sizeof *steps * (size_t)(s > t ? s : t) + 8);
        if (!steps) return ripen_fail(RIPEN_ENOMEM, "out of memory");
        for (int64_t k = 0; k < s; ++k) steps[k] = k * (int64_t)en->sample_interval;
        const hsize_t ns[1] = {(hsize_t)s}, nt[1] = {(hsize_t)t};
        status = h5_write_block(l->ensemble_sets[e][E_SERIES_STEP], H5T_NATIVE_INT64, 1, start, ns,
                                steps);
        for (int64_t k = 0; k < t; ++k) steps[k] = k * (int64_t)en->snapshot_interval;
        if (!status)
            status = h5_write_block(l->ensemble_sets[e][E_SNAPSHOT_STEP], H5T_NATIVE_INT64, 1,
                                    start, nt, steps);
        free(steps);
    }
    for (int w = 0; w < j->nwindow_sets && !status; ++w) {
        const window_set_spec *ws = &j->window_sets[w];
        int32_t *lo = malloc(sizeof *lo * (size_t)ws->nwindows);
        int32_t *hi = malloc(sizeof *hi * (size_t)ws->nwindows);
        if (!lo || !hi) status = ripen_fail(RIPEN_ENOMEM, "out of memory");
        for (int k = 0; k < ws->nwindows && !status; ++k) {
            int a, b;
            window_bounds(ws, k, &a, &b);
            lo[k] = a, hi[k] = b;
        }
        const hsize_t nk[1] = {(hsize_t)ws->nwindows};
        if (!status)
            status = h5_write_block(l->window_sets[w][W_LO], H5T_NATIVE_INT32, 1, start, nk, lo);
        if (!status)
            status = h5_write_block(l->window_sets[w][W_HI], H5T_NATIVE_INT32, 1, start, nk, hi);
        free(lo), free(hi);
    }
    return status;
}

static int write_replica(const hid_t *d, const ensemble_spec *e, int member, const task_record *r) {
    const hsize_t row[1] = {(hsize_t)member}, one[1] = {1};
    const int64_t tau = r->tau[e->criterion];
    const uint8_t censored = tau < 0;
    const int64_t steps = (int64_t)r->step;
    int status = h5_write_block(d[E_TAU], H5T_NATIVE_INT64, 1, row, one, &tau);
    if (!status) status = h5_write_block(d[E_CENSORED], H5T_NATIVE_UINT8, 1, row, one, &censored);
    if (!status)
        status = h5_write_block(d[E_TAU_CLUSTER], H5T_NATIVE_INT64, 1, row, one,
                                &r->tau[DOUBLING_CLUSTER]);
    if (!status)
        status =
            h5_write_block(d[E_TAU_AREA], H5T_NATIVE_INT64, 1, row, one, &r->tau[DOUBLING_AREA]);
    if (!status)
        status =
            h5_write_block(d[E_TAU_COUNT], H5T_NATIVE_INT64, 1, row, one, &r->tau[DOUBLING_COUNT]);
    if (!status) status = h5_write_block(d[E_STEPS], H5T_NATIVE_INT64, 1, row, one, &steps);
    if (!status)
        status = h5_write_block(d[E_CORE0], H5T_NATIVE_INT64, 1, row, one, &r->core_initial);
    if (!status)
        status = h5_write_block(d[E_SHELL0], H5T_NATIVE_INT64, 1, row, one, &r->shell_initial);
    if (!status)
        status = h5_write_block(d[E_SERIES_LENGTH], H5T_NATIVE_INT64, 1, row, one, &r->nsamples);
    const hsize_t start2[2] = {(hsize_t)member, 0}, three[2] = {1, 3};
    if (!status)
        status = h5_write_block(d[E_INITIAL], H5T_NATIVE_INT64, 2, start2, three, r->initial);
    const hsize_t n[2] = {1, (hsize_t)r->nsamples};
    const int series[5] = {E_N_CORE, E_N_SHELL, E_A_CORE, E_A_SHELL, E_CLUSTER};
    int32_t *const data[5] = {r->n_core, r->n_shell, r->a_core, r->a_shell, r->cluster};
    for (int k = 0; k < 5 && !status; ++k)
        status = h5_write_block(d[series[k]], H5T_NATIVE_INT32, 2, start2, n, data[k]);
    if (!status) status = h5_write_block(d[E_ENERGY], H5T_NATIVE_DOUBLE, 2, start2, n, r->energy);
    if (!status && member < e->snapshot_replicas && e->snapshot_interval) {
        const hsize_t start5[5] = {(hsize_t)member, 0, 0, 0, 0};
        const hsize_t count5[5] = {1, (hsize_t)r->nsnapshots, (hsize_t)e->system.lz,
                                   (hsize_t)e->system.ly, (hsize_t)e->system.lx};
        status = h5_write_block(d[E_SNAPSHOTS], H5T_NATIVE_UINT8, 5, start5, count5, r->snapshots);
        if (!status)
            status =
                h5_write_block(d[E_SNAPSHOT_COUNT], H5T_NATIVE_INT64, 1, row, one, &r->nsnapshots);
    }
    return status;
}

static int write_window(const hid_t *d, int member, const task_record *r) {
    const hsize_t row[1] = {(hsize_t)member}, one[1] = {1};
    const hsize_t start2[2] = {(hsize_t)member, 0}, n[2] = {1, (hsize_t)r->nq};
    int status = h5_write_block(d[W_Q], H5T_NATIVE_INT32, 2, start2, n, r->q);
    if (!status) status = h5_write_block(d[W_ENERGY], H5T_NATIVE_DOUBLE, 2, start2, n, r->q_energy);
    if (!status) status = h5_write_block(d[W_COUNT_SAMPLES], H5T_NATIVE_INT64, 1, row, one, &r->nq);
    if (!status)
        status = h5_write_block(d[W_CORE0], H5T_NATIVE_INT64, 1, row, one, &r->core_initial);
    if (!status) status = h5_write_block(d[W_MU], H5T_NATIVE_DOUBLE, 1, row, one, &r->mu_core);
    return status;
}

static int write_tasks(layout *l, const job *j, const uint8_t *present, task_loader load,
                       void *context, int rank, int nranks) {
    int status = RIPEN_OK;
    for (int64_t id = rank; id < j->ntasks && !status; id += nranks) {
        if (!present[id]) continue;
        task_record r;
        status = task_record_init(&r, j, id);
        if (!status) status = load(context, id, &r);
        const task_spec *t = &j->tasks[id];
        if (!status)
            status = t->kind == TASK_REPLICA
                         ? write_replica(l->ensemble_sets[t->group], &j->ensembles[t->group],
                                         t->member, &r)
                         : write_window(l->window_sets[t->group], t->member, &r);
        const hsize_t row[1] = {(hsize_t)id}, one[1] = {1};
        if (!status)
            status = h5_write_block(l->task_wall, H5T_NATIVE_DOUBLE, 1, row, one, &r.wall_seconds);
        task_record_free(&r);
    }
    return status;
}

static int layout_alloc(layout *l, const job *j) {
    *l = (layout){.file = -1};
    l->ensemble_groups = calloc((size_t)j->nensembles + 1, sizeof *l->ensemble_groups);
    l->ensemble_sets = calloc((size_t)j->nensembles + 1, sizeof *l->ensemble_sets);
    l->window_groups = calloc((size_t)j->nwindow_sets + 1, sizeof *l->window_groups);
    l->window_sets = calloc((size_t)j->nwindow_sets + 1, sizeof *l->window_sets);
    if (!l->ensemble_groups || !l->ensemble_sets || !l->window_groups || !l->window_sets)
        return ripen_fail(RIPEN_ENOMEM, "out of memory");
    return RIPEN_OK;
}

static void layout_close(layout *l, const job *j) {
    for (int e = 0; e < j->nensembles; ++e) {
        for (int k = 0; k < E_COUNT; ++k)
            if (l->ensemble_sets[e][k] > 0) H5Dclose(l->ensemble_sets[e][k]);
        if (l->ensemble_groups[e] > 0) H5Gclose(l->ensemble_groups[e]);
    }
    for (int w = 0; w < j->nwindow_sets; ++w) {
        for (int k = 0; k < W_COUNT; ++k)
            if (l->window_sets[w][k] > 0) H5Dclose(l->window_sets[w][k]);
        if (l->window_groups[w] > 0) H5Gclose(l->window_groups[w]);
    }
    const hid_t handles[] = {l->task_done,   l->task_kind, l->task_group,
                             l->task_member, l->task_wall, l->job_text};
    for (size_t k = 0; k < sizeof handles / sizeof handles[0]; ++k)
        if (handles[k] > 0) H5Dclose(handles[k]);
    if (l->ensembles > 0) H5Gclose(l->ensembles);
    if (l->windows > 0) H5Gclose(l->windows);
    free(l->ensemble_groups), free(l->ensemble_sets), free(l->window_groups), free(l->window_sets);
}

/* ---- room for the file ---- */

/* An upper bound of the result file's size (bytes): every dataset's raw data, the job text twice
 * (dataset and attribute) and a generous allowance for HDF5's metadata per object. */
static double file_size_bound(const job *j) {
    double raw = 2.0 * (double)strlen(j->text) + 2.0 * (double)strlen(j->normalized);
    double objects = 16;
    raw += (double)j->ntasks * (1 + 1 + 4 + 4 + 8);
    for (int e = 0; e < j->nensembles; ++e) {
        const ensemble_spec *en = &j->ensembles[e];
        const double r = en->replicas, s = (double)ensemble_series_length(en);
        const double p = en->snapshot_replicas, t = (double)ensemble_snapshot_count(en);
        const double sites = (double)en->system.lx * en->system.ly * en->system.lz;
        raw +=
            r * (9 * 8 + 1 + 3 * 8) + r * s * (5 * 4 + 8) + s * 8 + p * t * sites + t * 8 + p * 8;
        objects += 1 + E_COUNT;
    }
    for (int w = 0; w < j->nwindow_sets; ++w) {
        const window_set_spec *ws = &j->window_sets[w];
        const double k = ws->nwindows, m = (double)window_sample_count(ws);
        const double nq = (double)ws->q_max - ws->q_min + 1;
        raw += k * (4 + 4 + 8 + 8 + 8) + k * m * (4 + 8) + nq * (4 + 5 * 8) + k * 8;
        objects += 1 + W_COUNT + 8;
    }
    return raw * 1.01 + objects * 1024 + 65536;
}

/* Rank 0, before HDF5 touches the disk: can `path` grow to `bytes`? Parallel HDF5 does not
 * survive a failed write inside a collective call (HDF5 1.10: the failing rank leaves the
 * collective early and the others wait for it forever, e.g. in H5Dcreate's fill or H5Fclose's
 * flush), so a full disk, a quota or a file size limit must be found here. Allocates the space
 * (fallocate: honours free space, quotas and RLIMIT_FSIZE) and leaves the empty file for
 * H5Fcreate to truncate; where the file system cannot allocate ahead (EOPNOTSUPP and the
 * like), compares with the free space instead. */
static int check_room(const char *path, const char *name, double bytes) {
    const int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return ripen_fail(RIPEN_EIO, "cannot create %s: %s", path, strerror(errno));
    int error = fallocate(fd, 0, 0, (off_t)bytes) == 0 ? 0 : errno;
    if (error != 0 && error != ENOSPC && error != EDQUOT && error != EFBIG) {
        struct statvfs fs;
        error = fstatvfs(fd, &fs) == 0 && (double)fs.f_bavail * (double)fs.f_frsize < bytes ? ENOSPC
                                                                                            : 0;
    }
    if (ftruncate(fd, 0) != 0 && !error) error = errno;
    close(fd);
    if (!error) return RIPEN_OK;
    unlink(path);
    return ripen_fail(RIPEN_EIO,
                      "cannot write %s: no room for about %.1f MiB (%s); nothing written", name,
                      bytes / 1048576.0, strerror(error));
}

int h5out_write(MPI_Comm comm, const job *j, const char *path, const uint8_t *present,
                task_loader load, void *context, const run_provenance *prov,
                struct fq_result *const *fq) {
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    char partial[JOB_PATH_CAPACITY + 16];
    snprintf(partial, sizeof partial, "%s.partial", path);
    int complete = 1;
    for (int64_t id = 0; id < j->ntasks; ++id) complete &= present[id];

    int room = rank == 0 ? check_room(partial, path, file_size_bound(j)) : RIPEN_OK;
    MPI_Bcast(&room, 1, MPI_INT, 0, comm);
    if (room) {
        if (rank != 0) ripen_fail(room, "writing %s failed on rank 0 (no room)", path);
        return room;
    }

    layout l;
    int status = layout_alloc(&l, j);
    const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
    if (!status) {
        l.file = H5Fcreate(partial, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
        if (l.file < 0) status = ripen_fail(RIPEN_EIO, "cannot create %s", partial);
    }
    H5Pclose(fapl);
    /* Collective metadata: a failure here is the same on every rank (same arguments), as long
     * as the disk takes the writes (check_room above). */
    if (!status) status = create_layout(&l, j, prov, complete);
    if (!status) status = fq_write(l.windows, j, fq, rank == 0);
    if (!status && rank == 0) status = write_shared_data(&l, j, present);
    int local = status;
    if (!status) local = write_tasks(&l, j, present, load, context, rank, nranks);
    /* Raw writes may fail on one rank only (its disk quota, a bad record): agree first. */
    int worst = local;
    MPI_Allreduce(&local, &worst, 1, MPI_INT, MPI_MAX, comm);
    /* Rank 0's own message is what the command prints; other ranks print theirs here. */
    if (local && rank != 0) fprintf(stderr, "ripen: rank %d: %s\n", rank, ripen_last_error());
    const int reported = worst;
    layout_close(&l, j);
    if (l.file >= 0 && H5Fclose(l.file) < 0 && !worst) worst = RIPEN_EIO;
    MPI_Allreduce(MPI_IN_PLACE, &worst, 1, MPI_INT, MPI_MAX, comm);
    char reason[JOB_PATH_CAPACITY + 128] = "";
    if (rank == 0) {
        if (!worst && rename(partial, path) != 0) {
            worst = RIPEN_EIO;
            snprintf(reason, sizeof reason, "cannot rename %s: %s", partial, strerror(errno));
        }
        if (worst) unlink(partial);
    }
    MPI_Bcast(&worst, 1, MPI_INT, 0, comm);
    if (worst && !local && reason[0])
        ripen_fail(worst, "writing %s failed: %s; nothing written", path, reason);
    else if (worst && !local && reported)
        ripen_fail(worst, "writing %s failed (see the rank's message above); nothing written",
                   path);
    else if (worst && !local)
        ripen_fail(worst,
                   "writing %s failed: HDF5 could not complete the file (disk full or I/O "
                   "error); nothing written",
                   path);
    return worst;
}

/* ---- reading back ---- */

static int read_string_dataset(hid_t file, const char *name, char **out) {
    const hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    if (d < 0) return RIPEN_EIO;
    const hid_t type = H5Dget_type(d);
    const size_t size = H5Tget_size(type);
    int status = RIPEN_EIO;
    if (H5Tget_class(type) == H5T_STRING && !H5Tis_variable_str(type) && size > 0) {
        *out = calloc(size + 1, 1);
        if (*out && H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) >= 0) status = RIPEN_OK;
    }
    H5Tclose(type);
    H5Dclose(d);
    return status;
}

static int read_attr_int(hid_t loc, const char *name, int64_t *out) {
    if (H5Aexists(loc, name) <= 0) return RIPEN_EIO;
    const hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    const herr_t err = H5Aread(a, H5T_NATIVE_INT64, out);
    H5Aclose(a);
    return err < 0 ? RIPEN_EIO : RIPEN_OK;
}

static int read_attr_string(hid_t loc, const char *name, char *out, size_t capacity) {
    if (H5Aexists(loc, name) <= 0) return RIPEN_EIO;
    const hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    const hid_t type = H5Aget_type(a);
    int status = RIPEN_EIO;
    if (H5Tget_class(type) == H5T_STRING && !H5Tis_variable_str(type) &&
        H5Tget_size(type) < capacity) {
        memset(out, 0, capacity);
        if (H5Aread(a, type, out) >= 0) status = RIPEN_OK;
    }
    H5Tclose(type);
    H5Aclose(a);
    return status;
}

int h5in_open(h5in *in, const char *path) {
    *in = (h5in){.file = -1};
    h5out_quiet_errors();
    if (access(path, R_OK) != 0)
        return ripen_fail(RIPEN_EINVAL, "cannot read %s: no such file or no permission", path);
    if (H5Fis_hdf5(path) <= 0) return ripen_fail(RIPEN_EINVAL, "%s: not an HDF5 file", path);
    const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_sec2(fapl);
    in->file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (in->file < 0)
        return ripen_fail(RIPEN_EINVAL, "%s: cannot open (truncated or damaged?)", path);
    char format[64];
    int64_t version;
    if (read_attr_string(in->file, "format", format, sizeof format) ||
        strcmp(format, "ripen-results") != 0 ||
        read_attr_int(in->file, "format_version", &version)) {
        h5in_close(in);
        return ripen_fail(RIPEN_EINVAL, "%s: not a ripen result file", path);
    }
    if (version != H5OUT_FORMAT_VERSION) {
        h5in_close(in);
        return ripen_fail(RIPEN_EINVAL, "%s: result format %lld, this ripen reads %d", path,
                          (long long)version, H5OUT_FORMAT_VERSION);
    }
    char *text = NULL;
    char job_path[JOB_PATH_CAPACITY];
    int status = read_string_dataset(in->file, "/job/json", &text);
    const hid_t prov = H5Gopen2(in->file, "/provenance", H5P_DEFAULT);
    if (!status && (prov < 0 || read_attr_string(prov, "job_path", job_path, sizeof job_path)))
        status = RIPEN_EIO;
    if (prov >= 0) H5Gclose(prov);
    if (!status) status = read_attr_int(in->file, "shard_index", &in->shard_index);
    if (!status) status = read_attr_int(in->file, "shard_count", &in->shard_count);
    if (status) status = ripen_fail(RIPEN_EINVAL, "%s: damaged ripen file (no job record)", path);
    if (!status) {
        status = job_parse(&in->j, text, job_path);
        if (status) ripen_fail_context(status, "%s: stored job: ", path);
    }
    free(text);
    if (!status) {
        in->present = calloc((size_t)in->j.ntasks + 1, 1);
        const hid_t d = H5Dopen2(in->file, "/tasks/done", H5P_DEFAULT);
        const hsize_t start[1] = {0}, n[1] = {(hsize_t)in->j.ntasks};
        if (!in->present || d < 0 || h5_read_block(d, H5T_NATIVE_UINT8, 1, start, n, in->present))
            status = ripen_fail(RIPEN_EINVAL, "%s: damaged ripen file (/tasks/done)", path);
        if (d >= 0) H5Dclose(d);
    }
    if (status) h5in_close(in);
    return status;
}

void h5in_close(h5in *in) {
    if (in->file >= 0) H5Fclose(in->file);
    job_free(&in->j);
    free(in->present);
    *in = (h5in){.file = -1};
}

/* Reads `count` elements at `start` from dataset `group/name`. */
static int read_from(hid_t group, const char *name, hid_t type, int rank, const hsize_t *start,
                     const hsize_t *count, void *data) {
    const hid_t d = H5Dopen2(group, name, H5P_DEFAULT);
    if (d < 0) return RIPEN_EIO;
    const int status = h5_read_block(d, type, rank, start, count, data);
    H5Dclose(d);
    return status;
}

static int load_replica(hid_t g, const ensemble_spec *e, int member, task_record *r) {
    const hsize_t row[1] = {(hsize_t)member}, one[1] = {1};
    int64_t steps = 0;
    int status =
        read_from(g, "tau_cluster", H5T_NATIVE_INT64, 1, row, one, &r->tau[DOUBLING_CLUSTER]);
    if (!status)
        status = read_from(g, "tau_area", H5T_NATIVE_INT64, 1, row, one, &r->tau[DOUBLING_AREA]);
    if (!status)
        status = read_from(g, "tau_count", H5T_NATIVE_INT64, 1, row, one, &r->tau[DOUBLING_COUNT]);
    if (!status) status = read_from(g, "steps_run", H5T_NATIVE_INT64, 1, row, one, &steps);
    if (!status)
        status = read_from(g, "core_sites", H5T_NATIVE_INT64, 1, row, one, &r->core_initial);
    if (!status)
        status = read_from(g, "shell_sites", H5T_NATIVE_INT64, 1, row, one, &r->shell_initial);
    if (!status)
        status = read_from(g, "series_length", H5T_NATIVE_INT64, 1, row, one, &r->nsamples);
    const hsize_t start2[2] = {(hsize_t)member, 0}, three[2] = {1, 3};
    if (!status)
        status = read_from(g, "initial_size", H5T_NATIVE_INT64, 2, start2, three, r->initial);
    if (!status && (r->nsamples < 0 || r->nsamples > ensemble_series_length(e))) status = RIPEN_EIO;
    const hsize_t n[2] = {1, (hsize_t)(status ? 0 : r->nsamples)};
    const char *const names[5] = {"n_core", "n_shell", "a_core", "a_shell", "largest_cluster"};
    int32_t *const data[5] = {r->n_core, r->n_shell, r->a_core, r->a_shell, r->cluster};
    for (int k = 0; k < 5 && !status; ++k)
        status = read_from(g, names[k], H5T_NATIVE_INT32, 2, start2, n, data[k]);
    if (!status) status = read_from(g, "energy", H5T_NATIVE_DOUBLE, 2, start2, n, r->energy);
    if (!status && r->snapshots) {
        status = read_from(g, "snapshot_count", H5T_NATIVE_INT64, 1, row, one, &r->nsnapshots);
        if (!status && (r->nsnapshots < 0 || r->nsnapshots > ensemble_snapshot_count(e)))
            status = RIPEN_EIO;
        const hsize_t start5[5] = {(hsize_t)member, 0, 0, 0, 0};
        const hsize_t count5[5] = {1, (hsize_t)(status ? 0 : r->nsnapshots), (hsize_t)e->system.lz,
                                   (hsize_t)e->system.ly, (hsize_t)e->system.lx};
        if (!status)
            status = read_from(g, "snapshots", H5T_NATIVE_UINT8, 5, start5, count5, r->snapshots);
    }
    r->step = (uint64_t)steps;
    return status;
}

static int load_window(hid_t g, const window_set_spec *w, int member, task_record *r) {
    const hsize_t row[1] = {(hsize_t)member}, one[1] = {1};
    int status = read_from(g, "sample_count", H5T_NATIVE_INT64, 1, row, one, &r->nq);
    if (!status)
        status = read_from(g, "core_sites", H5T_NATIVE_INT64, 1, row, one, &r->core_initial);
    if (!status && (r->nq < 0 || r->nq > window_sample_count(w))) status = RIPEN_EIO;
    const hsize_t start2[2] = {(hsize_t)member, 0}, n[2] = {1, (hsize_t)(status ? 0 : r->nq)};
    if (!status) status = read_from(g, "q", H5T_NATIVE_INT32, 2, start2, n, r->q);
    if (!status) status = read_from(g, "energy", H5T_NATIVE_DOUBLE, 2, start2, n, r->q_energy);
    /* Files from before tilted windows have no mu_core: every window sampled at the set's. */
    if (!status && H5Lexists(g, "mu_core", H5P_DEFAULT) > 0)
        status = read_from(g, "mu_core", H5T_NATIVE_DOUBLE, 1, row, one, &r->mu_core);
    if (!status && !isfinite(r->mu_core)) status = RIPEN_EIO;
    r->step = w->equilibration_steps + w->sampling_steps;
    return status;
}

int h5in_load_task(void *h5in_context, int64_t id, task_record *r) {
    h5in *in = h5in_context;
    const job *j = &in->j;
    if (!in->present[id])
        return ripen_fail(RIPEN_EINVAL, "task %lld is not in this file", (long long)id);
    const task_spec *t = &j->tasks[id];
    char path[JOB_NAME_CAPACITY + 32];
    snprintf(path, sizeof path, "/%s/%s", t->kind == TASK_REPLICA ? "ensembles" : "windows",
             t->kind == TASK_REPLICA ? j->ensembles[t->group].name : j->window_sets[t->group].name);
    const hid_t g = H5Gopen2(in->file, path, H5P_DEFAULT);
    if (g < 0) return ripen_fail(RIPEN_EINVAL, "damaged ripen file: no group %s", path);
    int status = t->kind == TASK_REPLICA ? load_replica(g, &j->ensembles[t->group], t->member, r)
                                         : load_window(g, &j->window_sets[t->group], t->member, r);
    H5Gclose(g);
    const hid_t d = H5Dopen2(in->file, "/provenance/task_wall_seconds", H5P_DEFAULT);
    const hsize_t row[1] = {(hsize_t)id}, one[1] = {1};
    if (!status && (d < 0 || h5_read_block(d, H5T_NATIVE_DOUBLE, 1, row, one, &r->wall_seconds)))
        status = RIPEN_EIO;
    if (d >= 0) H5Dclose(d);
    if (status)
        return ripen_fail(RIPEN_EINVAL, "damaged ripen file: cannot read task %lld", (long long)id);
    if (t->kind == TASK_WINDOW) window_bounds(&j->window_sets[t->group], t->member, &r->lo, &r->hi);
    r->complete = 1;
    return RIPEN_OK;
}
