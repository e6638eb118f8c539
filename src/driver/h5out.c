#define _POSIX_C_SOURCE 200809L
#define _GNU_SOURCE     /* fallocate(2): allocation without glibc's slow emulation */
#include "ripen/driver/h5out.h"

#include "ripen/engine/error.h"
#include "h5util.h"
#include "ripen/driver/task_kind.h"
#include "ripen/driver/version.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
        unsigned major, minor, release;
        H5get_libversion(&major, &minor, &release);
        snprintf(p->hdf5_version, sizeof p->hdf5_version, "%u.%u.%u", major, minor, release);
        snprintf(p->ripen_version, sizeof p->ripen_version, "%s", ripen_version());
        snprintf(p->git_commit, sizeof p->git_commit, "%s", ripen_git_commit());
    }
    const int nshards = p->nshards;
    const shard_provenance *shards = p->shards;
    MPI_Bcast(p, sizeof *p, MPI_BYTE, 0, comm);
    p->nshards = nshards, p->shards = shards; /* each rank's own pointer */
}

/* ---- the layout ---- */

static const uint8_t fill_zero = 0;
static const double fill_nan = NAN;

/* The file's objects: the generic ones, one group per kind and per set, and each set's handles
 * (the kind's own). */
typedef struct {
    hid_t file;
    hid_t *kind_groups; /* per kind: /<key>, or -1 */
    hid_t *set_groups;  /* per set: /<key>/<name> */
    void **set_handles; /* per set: what its kind's h5_create returned */
    hid_t task_done, task_kind, task_group, task_member, task_wall, job_text;
} layout;

/* The kinds a file can hold: those whose group it always has and those the job uses. */
static int kind_in_file(const job *j, int k) {
    return task_kinds[k]->always_group || job_count_sets(j, task_kinds[k]) > 0;
}

/* "0 replica, 1 window": the codes of /tasks/kind. */
static void describe_kind_codes(const job *j, char *out, size_t capacity) {
    out[0] = '\0';
    for (int k = 0; k < task_kind_count; ++k)
        if (kind_in_file(j, k)) {
            const size_t used = strlen(out);
            snprintf(out + used, capacity - used, "%s%d %s", used ? ", " : "", k,
                     task_kinds[k]->task_noun);
        }
}

/* The units of /tasks/group and /tasks/member: "index of the ensemble or window set" and
 * "replica or window index". */
static void describe_task_columns(const job *j, char *groups, char *members, size_t capacity) {
    int n = 0, count = 0;
    for (int k = 0; k < task_kind_count; ++k) count += kind_in_file(j, k);
    snprintf(groups, capacity, "index of the");
    members[0] = '\0';
    for (int k = 0; k < task_kind_count; ++k) {
        if (!kind_in_file(j, k)) continue;
        const char *join = n == 0 ? "" : n == count - 1 ? " or" : ",";
        size_t used = strlen(groups);
        snprintf(groups + used, capacity - used, "%s %s", join, task_kinds[k]->set_noun);
        used = strlen(members);
        snprintf(members + used, capacity - used, "%s%s%s", join, n ? " " : "",
                 task_kinds[k]->task_noun);
        ++n;
    }
    const size_t used = strlen(members);
    snprintf(members + used, capacity - used, " index");
}

/* Root attributes identify the job and the file's contents; everything that varies from run to
 * run of the same job (when, where, how many ranks, which build) lives under /provenance, so
 * "identical results" means: identical outside /provenance. */
static int write_root_attributes(hid_t file, const job *j, const run_provenance *p, int complete) {
    char hash[32];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)j->hash);
    int status = h5_attr_string(file, "format", "ripen-results");
    if (!status)
        status = h5_attr_string(file, "description",
                                "results of one ripen job: docs/hdf5-layout.md in the ripen "
                                "repository describes every group and dataset");
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

static int write_one_provenance(hid_t g, const char *job_path, const run_provenance *p) {
    int status = h5_attr_string(g, "ripen_version", p->ripen_version);
    if (!status) status = h5_attr_string(g, "git_commit", p->git_commit);
    if (!status) status = h5_attr_string(g, "created", p->created);
    if (!status) status = h5_attr_string(g, "host", p->host);
    if (!status) status = h5_attr_int(g, "mpi_ranks", p->ranks);
    if (!status) status = h5_attr_string(g, "mpi_library", p->mpi_library);
    if (!status) status = h5_attr_string(g, "hdf5_version", p->hdf5_version);
    if (!status) status = h5_attr_double(g, "wall_seconds", p->wall_seconds);
    if (!status) status = h5_attr_string(g, "job_path", job_path);
    return status;
}

/* This run's provenance, and for a merged file each shard's own under /provenance/shards/<k>. */
static int write_provenance(hid_t prov, const job *j, const run_provenance *p) {
    int status = write_one_provenance(prov, j->path, p);
    if (status || p->nshards == 0) return status;
    const hid_t shards = h5_group_create(prov, "shards", "the provenance of the merged shards");
    if (shards < 0) return ripen_fail(RIPEN_EIO, "cannot create /provenance/shards");
    for (int k = 0; k < p->nshards && !status; ++k) {
        char name[32];
        snprintf(name, sizeof name, "%d", k);
        const shard_provenance *sp = &p->shards[k];
        const hid_t g = h5_group_create(shards, name, "one merged shard, as its file recorded it");
        status = g < 0 ? ripen_fail(RIPEN_EIO, "cannot create /provenance/shards/%s", name)
                       : write_one_provenance(g, sp->job_path, &sp->run);
        if (!status) status = h5_attr_string(g, "file", sp->file);
        if (!status) status = h5_attr_int(g, "shard_index", sp->run.shard_index);
        if (!status) status = h5_attr_int(g, "shard_count", sp->run.shard_count);
        if (g >= 0) H5Gclose(g);
    }
    H5Gclose(shards);
    return status;
}

/* /job/json stays a fixed-length string: parallel HDF5 cannot write variable-length data (every
 * attribute is variable-length UTF-8). */
static hid_t create_job_text(hid_t group, const job *j) {
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, strlen(j->text) + 1);
    H5Tset_strpad(type, H5T_STR_NULLTERM);
    H5Tset_cset(type, H5T_CSET_UTF8);
    const hid_t scalar = H5Screate(H5S_SCALAR);
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    const hid_t d = H5Dcreate2(group, "json", type, scalar, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(scalar);
    H5Tclose(type);
    if (d >= 0 && h5_attr_string(d, "description",
                                 "the job file verbatim (a fixed-length UTF-8 string: in h5py, "
                                 "f['job/json'][()].decode())")) {
        H5Dclose(d);
        return -1;
    }
    return d;
}

static int create_job_group(layout *l, const job *j) {
    const hid_t g = h5_group_create(l->file, "job", "the job this file holds the results of");
    if (g < 0) return ripen_fail(RIPEN_EIO, "cannot create /job");
    int status = h5_attr_string(g, "normalized", j->normalized);
    if (!status && (l->job_text = create_job_text(g, j)) < 0)
        status = ripen_fail(RIPEN_EIO, "cannot create /job/json");
    H5Gclose(g);
    return status;
}

static int create_task_datasets(layout *l, const job *j, hid_t tasks, hid_t prov) {
    char kinds[256], groups[256], members[256];
    describe_kind_codes(j, kinds, sizeof kinds);
    describe_task_columns(j, groups, members, sizeof groups);
    const hsize_t n = (hsize_t)j->ntasks;
    l->task_done = h5_dataset(tasks, &(h5_dataset_info){
                                         .name = "done",
                                         .type = H5_U8,
                                         .rank = 1,
                                         .dims = {n},
                                         .fill = &fill_zero,
                                         .description = "1 if the task's result is in this file",
                                     });
    l->task_kind = h5_dataset(tasks, &(h5_dataset_info){.name = "kind",
                                                        .type = H5_U8,
                                                        .rank = 1,
                                                        .dims = {n},
                                                        .units = kinds,
                                                        .description = "the task's kind"});
    l->task_group = h5_dataset(
        tasks, &(h5_dataset_info){.name = "group",
                                  .type = H5_I32,
                                  .rank = 1,
                                  .dims = {n},
                                  .units = groups,
                                  .description = "the task's set, among its kind's in job order"});
    l->task_member =
        h5_dataset(tasks, &(h5_dataset_info){.name = "member",
                                             .type = H5_I32,
                                             .rank = 1,
                                             .dims = {n},
                                             .units = members,
                                             .description = "the task's place in its set"});
    l->task_wall = h5_dataset(
        prov, &(h5_dataset_info){.name = "task_wall_seconds",
                                 .type = H5_F64,
                                 .rank = 1,
                                 .dims = {n},
                                 .fill = &fill_nan,
                                 .units = "s",
                                 .description = "wall time of each task (varies from run to run; "
                                                "NaN if not in this file)"});
    if (l->task_done < 0 || l->task_kind < 0 || l->task_group < 0 || l->task_member < 0 ||
        l->task_wall < 0)
        return ripen_fail(RIPEN_EIO, "cannot create /tasks");
    return RIPEN_OK;
}

static int create_layout(layout *l, const job *j, const run_provenance *p, int complete,
                         const int64_t *extents) {
    int status = write_root_attributes(l->file, j, p, complete);
    if (!status) status = create_job_group(l, j);
    const hid_t tasks = h5_group_create(l->file, "tasks", "what each task of the job is");
    const hid_t prov = h5_group_create(l->file, "provenance",
                                       "when, where and how this file was made (all that may "
                                       "differ between runs of the same job)");
    if (!status && (tasks < 0 || prov < 0))
        status = ripen_fail(RIPEN_EIO, "cannot create /tasks and /provenance");
    if (!status) status = write_provenance(prov, j, p);
    if (!status) status = create_task_datasets(l, j, tasks, prov);
    if (tasks >= 0) H5Gclose(tasks);
    if (prov >= 0) H5Gclose(prov);
    for (int k = 0; k < task_kind_count && !status; ++k)
        if (kind_in_file(j, k)) {
            l->kind_groups[k] =
                h5_group_create(l->file, task_kinds[k]->key, task_kinds[k]->description);
            if (l->kind_groups[k] < 0)
                status = ripen_fail(RIPEN_EIO, "cannot create group /%s", task_kinds[k]->key);
        }
    for (int s = 0; s < j->nsets && !status; ++s) {
        const task_set *set = &j->sets[s];
        char description[256];
        snprintf(description, sizeof description, "%s %s (docs/hdf5-layout.md)",
                 set->kind->set_noun, set->name);
        const hid_t parent = l->kind_groups[task_kind_code(set->kind)];
        l->set_groups[s] = h5_group_create(parent, set->name, description);
        if (l->set_groups[s] < 0)
            status = ripen_fail(RIPEN_EIO, "cannot create group /%s/%s", set->kind->key, set->name);
        else
            status = set->kind->h5_create(l->set_groups[s], j, set, extents + TASK_EXTENTS * s,
                                          &l->set_handles[s]);
    }
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
        const task_set *set = job_task_set(j, id);
        kind[id] = (uint8_t)task_kind_code(set->kind);
        group[id] = set->index;
        member[id] = (int32_t)j->tasks[id].member;
    }
    if (!status) status = h5_write_block(l->task_done, H5_U8, 1, start, n, present);
    if (!status) status = h5_write_block(l->task_kind, H5_U8, 1, start, n, kind);
    if (!status) status = h5_write_block(l->task_group, H5_I32, 1, start, n, group);
    if (!status) status = h5_write_block(l->task_member, H5_I32, 1, start, n, member);
    free(kind), free(group), free(member);
    for (int s = 0; s < j->nsets && !status; ++s)
        if (j->sets[s].kind->h5_write_set)
            status = j->sets[s].kind->h5_write_set(l->set_handles[s], j, &j->sets[s]);
    return status;
}

/* The tasks of a set this rank writes, in order: those present with id = rank (mod nranks). */
static int64_t owned_tasks(const task_set *set, const uint8_t *present, int rank, int nranks,
                           int64_t *ids) {
    int64_t n = 0;
    for (int64_t id = set->first_task; id < set->first_task + set->ntasks; ++id)
        if (present[id] && id % nranks == rank) {
            if (ids) ids[n] = id;
            ++n;
        }
    return n;
}

/* Every rank's status, agreed: the worst, and on rank 0 (which prints it) the message of the
 * first rank that failed, so that an error found on another rank (a damaged shard's task that
 * rank read) still names what it is about, in one line. Collective. */
static int agree_on_failure(MPI_Comm comm, int rank, int status) {
    int worst = status, first = status ? rank : INT_MAX;
    MPI_Allreduce(&status, &worst, 1, MPI_INT, MPI_MAX, comm);
    if (!worst) return RIPEN_OK;
    MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, comm);
    enum { TAG_FAILURE = 41 };
    char message[RIPEN_MESSAGE_CAPACITY];
    if (first != 0 && rank == first) {
        snprintf(message, sizeof message, "%s", ripen_last_error());
        MPI_Send(message, (int)sizeof message, MPI_CHAR, 0, TAG_FAILURE, comm);
    } else if (first != 0 && rank == 0) {
        MPI_Recv(message, (int)sizeof message, MPI_CHAR, first, TAG_FAILURE, comm,
                 MPI_STATUS_IGNORE);
        ripen_fail(worst, "%s", message);
    }
    return worst;
}

/* The largest extents of a set's data (task_kind.h5_extent) over the tasks present, known on
 * every rank: datasets are sized by what was sampled, not by the job's limits. */
static int measure_extents(const job *j, const uint8_t *present, task_loader load, void *context,
                           int rank, int nranks, MPI_Comm comm, int64_t *extents) {
    int status = RIPEN_OK;
    for (int s = 0; s < j->nsets; ++s) {
        const task_set *set = &j->sets[s];
        for (int k = 0; k < TASK_EXTENTS; ++k) extents[TASK_EXTENTS * s + k] = 0;
        if (!set->kind->h5_extent) continue;
        for (int64_t id = set->first_task; id < set->first_task + set->ntasks && !status; ++id) {
            if (!present[id] || id % nranks != rank) continue;
            task_record r;
            int64_t e[TASK_EXTENTS] = {0};
            status = task_record_init(&r, j, id);
            if (!status) status = load(context, id, &r);
            if (!status) set->kind->h5_extent(set, j->tasks[id].member, &r, e);
            task_record_free(&r);
            for (int k = 0; k < TASK_EXTENTS; ++k)
                if (e[k] > extents[TASK_EXTENTS * s + k]) extents[TASK_EXTENTS * s + k] = e[k];
        }
    }
    MPI_Allreduce(MPI_IN_PLACE, extents, TASK_EXTENTS * j->nsets, MPI_INT64_T, MPI_MAX, comm);
    return agree_on_failure(comm, rank, status);
}

enum { WRITE_BATCH = 16 }; /* tasks per rank per round: fewer collective calls, bounded memory */

/* Loads the records of tasks ids[0 .. n-1]; returns how many it loaded before a failure. */
static int load_batch(const job *j, task_loader load, void *context, const int64_t *ids, int n,
                      task_record *records, int *status) {
    for (int i = 0; i < n; ++i) {
        int loaded = task_record_init(&records[i], j, ids[i]);
        if (!loaded) loaded = load(context, ids[i], &records[i]);
        if (loaded) {
            task_record_free(&records[i]);
            *status = loaded;
            return i;
        }
    }
    return n;
}

/* Every rank writes its tasks of each set in rounds of up to WRITE_BATCH: compressed datasets
 * can only be written collectively. A failure on one rank must not leave the others waiting in
 * a collective, so a rank whose records cannot be loaded carries on with empty rounds and
 * reports at the end; all ranks agree after each round whether to stop for a signal. */
static int write_tasks(layout *l, const job *j, const uint8_t *present, task_loader load,
                       void *context, int rank, int nranks, MPI_Comm comm,
                       int (*interrupted)(void)) {
    int status = RIPEN_OK;
    int64_t *ids = malloc(sizeof *ids * (size_t)(j->ntasks + 1));
    task_record *records = calloc(WRITE_BATCH, sizeof *records);
    if (!ids || !records) MPI_Abort(comm, 3);
    for (int s = 0; s < j->nsets; ++s) {
        const task_set *set = &j->sets[s];
        const int64_t mine = owned_tasks(set, present, rank, nranks, ids);
        int64_t rounds = (mine + WRITE_BATCH - 1) / WRITE_BATCH;
        MPI_Allreduce(MPI_IN_PLACE, &rounds, 1, MPI_INT64_T, MPI_MAX, comm);
        for (int64_t k = 0; k < rounds; ++k) {
            int stop = interrupted && interrupted();
            MPI_Allreduce(MPI_IN_PLACE, &stop, 1, MPI_INT, MPI_MAX, comm);
            if (stop) {
                free(ids), free(records);
                return ripen_fail(RIPEN_EINTERRUPTED, "stopped by a signal while writing");
            }
            const int64_t first = k * WRITE_BATCH;
            int want =
                mine > first ? (int)(mine - first < WRITE_BATCH ? mine - first : WRITE_BATCH) : 0;
            if (status) want = 0;
            const int n = load_batch(j, load, context, ids + first, want, records, &status);
            int64_t members[WRITE_BATCH];
            task_record *pointers[WRITE_BATCH];
            for (int i = 0; i < n; ++i)
                members[i] = j->tasks[ids[first + i]].member, pointers[i] = &records[i];
            const int written =
                set->kind->h5_write_tasks(l->set_handles[s], set, n, members, pointers);
            if (!status) status = written;
            for (int i = 0; i < n; ++i) {
                const hsize_t row[1] = {(hsize_t)ids[first + i]}, one[1] = {1};
                const int wall =
                    h5_write_block(l->task_wall, H5_F64, 1, row, one, &records[i].wall_seconds);
                if (!status) status = wall;
                task_record_free(&records[i]);
            }
        }
    }
    free(ids), free(records);
    return status;
}

static int layout_alloc(layout *l, const job *j) {
    *l = (layout){.file = -1};
    l->kind_groups = malloc(sizeof *l->kind_groups * (size_t)task_kind_count);
    l->set_groups = malloc(sizeof *l->set_groups * (size_t)(j->nsets + 1));
    l->set_handles = calloc((size_t)j->nsets + 1, sizeof *l->set_handles);
    if (!l->kind_groups || !l->set_groups || !l->set_handles)
        return ripen_fail(RIPEN_ENOMEM, "out of memory");
    for (int k = 0; k < task_kind_count; ++k) l->kind_groups[k] = -1;
    for (int s = 0; s < j->nsets; ++s) l->set_groups[s] = -1;
    return RIPEN_OK;
}

static void layout_close(layout *l, const job *j) {
    for (int s = 0; l->set_groups && s < j->nsets; ++s) {
        if (l->set_handles[s]) j->sets[s].kind->h5_close(l->set_handles[s]);
        if (l->set_groups[s] > 0) H5Gclose(l->set_groups[s]);
    }
    const hid_t handles[] = {l->task_done,   l->task_kind, l->task_group,
                             l->task_member, l->task_wall, l->job_text};
    for (size_t k = 0; k < sizeof handles / sizeof handles[0]; ++k)
        if (handles[k] > 0) H5Dclose(handles[k]);
    for (int k = 0; l->kind_groups && k < task_kind_count; ++k)
        if (l->kind_groups[k] > 0) H5Gclose(l->kind_groups[k]);
    free(l->kind_groups), free(l->set_groups), free(l->set_handles);
}

/* The results of the sets' analyses (task_kind.analyze): created collectively, written by
 * rank 0. */
static int write_set_results(const layout *l, const job *j, void *const *results, int writer) {
    int status = RIPEN_OK;
    for (int s = 0; results && s < j->nsets && !status; ++s)
        if (results[s])
            status =
                j->sets[s].kind->h5_write_result(l->set_groups[s], &j->sets[s], results[s], writer);
    return status;
}

/* ---- room for the file ---- */

/* An upper bound of the result file's size (bytes): every dataset's raw data, the job text twice
 * (dataset and attribute) and a generous allowance for HDF5's metadata per object. */
static double file_size_bound(const job *j, const int64_t *extents) {
    double raw = 2.0 * (double)strlen(j->text) + 2.0 * (double)strlen(j->normalized);
    double objects = 16;
    raw += (double)j->ntasks * (1 + 1 + 4 + 4 + 8);
    for (int s = 0; s < j->nsets; ++s) {
        double bytes, count;
        j->sets[s].kind->h5_size(&j->sets[s], extents + TASK_EXTENTS * s, &bytes, &count);
        raw += bytes, objects += count;
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
                      "cannot write %s: no room to reserve %.2f MiB (%s), the file's uncompressed "
                      "size: an upper bound held free while parallel HDF5 writes (the file is "
                      "compressed and usually far smaller; docs/hdf5-layout.md, \"Room on "
                      "disk\"); nothing written",
                      name, bytes / 1048576.0, strerror(error));
}

int h5out_write(MPI_Comm comm, const job *j, const char *path, const uint8_t *present,
                task_loader load, void *context, const run_provenance *prov, void *const *results,
                int (*interrupted)(void)) {
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    char partial[JOB_PATH_CAPACITY + 16];
    snprintf(partial, sizeof partial, "%s.partial", path);
    int complete = 1;
    for (int64_t id = 0; id < j->ntasks; ++id) complete &= present[id];

    int64_t *extents = calloc(TASK_EXTENTS * ((size_t)j->nsets + 1), sizeof *extents);
    if (!extents) MPI_Abort(comm, 3);
    int room = measure_extents(j, present, load, context, rank, nranks, comm, extents);
    if (!room && rank == 0) room = check_room(partial, path, file_size_bound(j, extents));
    MPI_Bcast(&room, 1, MPI_INT, 0, comm);
    if (room) {
        if (rank != 0) ripen_fail(room, "writing %s failed on rank 0 (no room)", path);
        free(extents);
        return room;
    }

    layout l;
    int status = layout_alloc(&l, j);
    const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
    /* Metadata written collectively: with the default (distributed) writes, HDF5 1.10.8 over
     * Open MPI's OMPIO fails a metadata flush that the chunk index of compressed datasets
     * triggers during raw writes ("error in writev: Bad address"). The 1.10 file format indexes
     * the chunks of fixed-size datasets with fixed arrays instead of B-trees. */
    H5Pset_coll_metadata_write(fapl, 1);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110);
    if (!status) {
        const hid_t fcpl = H5Pcreate(H5P_FILE_CREATE); /* the root group's attributes: compact */
        H5Pset_attr_phase_change(fcpl, H5_COMPACT_ATTRIBUTES, 0);
        l.file = H5Fcreate(partial, H5F_ACC_TRUNC, fcpl, fapl);
        H5Pclose(fcpl);
        if (l.file < 0) status = ripen_fail(RIPEN_EIO, "cannot create %s", partial);
    }
    H5Pclose(fapl);
    /* Collective metadata: a failure here is the same on every rank (same arguments), as long
     * as the disk takes the writes (check_room above). */
    if (!status) status = create_layout(&l, j, prov, complete, extents);
    free(extents);
    if (!status) status = write_set_results(&l, j, results, rank == 0);
    if (!status && rank == 0) status = write_shared_data(&l, j, present);
    int local = status;
    MPI_Allreduce(MPI_IN_PLACE, &status, 1, MPI_INT, MPI_MAX, comm);
    if (!status)
        local = write_tasks(&l, j, present, load, context, rank, nranks, comm, interrupted);
    /* Raw writes may fail on one rank only (its disk quota, a bad record): agree first, with the
     * first failing rank's message brought to rank 0, which prints it (one line). */
    const int reported = agree_on_failure(comm, rank, local);
    char forwarded[RIPEN_MESSAGE_CAPACITY] = "";
    if (reported && !local && rank == 0)
        snprintf(forwarded, sizeof forwarded, "%s", ripen_last_error());
    int worst = reported;
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
    else if (worst && !local && forwarded[0])
        ripen_fail(worst, "%s; %s not written", forwarded, path);
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

/* A string attribute, variable-length (format 2) or fixed-length (older files), truncated to
 * fit `out`. */
static int read_attr_string(hid_t loc, const char *name, char *out, size_t capacity) {
    if (H5Aexists(loc, name) <= 0) return RIPEN_EIO;
    const hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    const hid_t type = H5Aget_type(a);
    int status = RIPEN_EIO;
    memset(out, 0, capacity);
    if (H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) > 0) {
        char *value = NULL;
        const hid_t memory = h5_string_type(); /* HDF5 converts no character sets */
        H5Tset_cset(memory, H5Tget_cset(type));
        if (H5Aread(a, memory, &value) >= 0 && value) {
            snprintf(out, capacity, "%s", value);
            status = RIPEN_OK;
        }
        H5free_memory(value);
        H5Tclose(memory);
    } else if (H5Tget_class(type) == H5T_STRING && H5Tget_size(type) < capacity) {
        if (H5Aread(a, type, out) >= 0) status = RIPEN_OK;
    }
    H5Tclose(type);
    H5Aclose(a);
    return status;
}

static int read_attr_double(hid_t loc, const char *name, double *out) {
    if (H5Aexists(loc, name) <= 0) return RIPEN_EIO;
    const hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    const herr_t err = H5Aread(a, H5T_NATIVE_DOUBLE, out);
    H5Aclose(a);
    return err < 0 ? RIPEN_EIO : RIPEN_OK;
}

/* The file's own /provenance, for a merged file's record of its shards. */
static int read_provenance(h5in *in) {
    const hid_t g = H5Gopen2(in->file, "/provenance", H5P_DEFAULT);
    if (g < 0) return RIPEN_EIO;
    run_provenance *p = &in->prov.run;
    int64_t ranks = 0;
    int status = read_attr_string(g, "job_path", in->prov.job_path, sizeof in->prov.job_path);
    if (!status) status = read_attr_string(g, "created", p->created, sizeof p->created);
    if (!status) status = read_attr_string(g, "host", p->host, sizeof p->host);
    if (!status) status = read_attr_int(g, "mpi_ranks", &ranks);
    if (!status) status = read_attr_double(g, "wall_seconds", &p->wall_seconds);
    if (!status) status = read_attr_string(g, "mpi_library", p->mpi_library, sizeof p->mpi_library);
    if (!status)
        status = read_attr_string(g, "hdf5_version", p->hdf5_version, sizeof p->hdf5_version);
    if (!status)
        status = read_attr_string(g, "ripen_version", p->ripen_version, sizeof p->ripen_version);
    if (!status) status = read_attr_string(g, "git_commit", p->git_commit, sizeof p->git_commit);
    p->ranks = (int)ranks;
    H5Gclose(g);
    snprintf(in->prov.file, sizeof in->prov.file, "%s", in->path);
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
    snprintf(in->path, sizeof in->path, "%s", path);
    int status = read_string_dataset(in->file, "/job/json", &text);
    if (!status) status = read_provenance(in);
    if (!status) status = read_attr_int(in->file, "shard_index", &in->shard_index);
    if (!status) status = read_attr_int(in->file, "shard_count", &in->shard_count);
    in->prov.run.shard_index = in->shard_index, in->prov.run.shard_count = in->shard_count;
    if (status) status = ripen_fail(RIPEN_EINVAL, "%s: damaged ripen file (no job record)", path);
    if (!status) {
        status = job_parse(&in->j, text, in->prov.job_path);
        if (status) ripen_fail_context(status, "%s: stored job: ", path);
    }
    free(text);
    if (!status) {
        in->present = calloc((size_t)in->j.ntasks + 1, 1);
        const hid_t d = H5Dopen2(in->file, "/tasks/done", H5P_DEFAULT);
        const hsize_t start[1] = {0}, n[1] = {(hsize_t)in->j.ntasks};
        if (!in->present || d < 0 || h5_read_block(d, H5_U8, 1, start, n, in->present))
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

int h5in_load_task(void *h5in_context, int64_t id, task_record *r) {
    h5in *in = h5in_context;
    const job *j = &in->j;
    if (!in->present[id])
        return ripen_fail(RIPEN_EINVAL, "task %lld is not in this file", (long long)id);
    const task_set *set = job_task_set(j, id);
    char group[JOB_NAME_CAPACITY + 64];
    snprintf(group, sizeof group, "/%s/%s", set->kind->key, set->name);
    const hid_t g = H5Gopen2(in->file, group, H5P_DEFAULT);
    if (g < 0)
        return ripen_fail(RIPEN_EINVAL, "%s: damaged ripen file: no group %s", in->path, group);
    int status = set->kind->h5_load_task(g, set, j->tasks[id].member, r);
    H5Gclose(g);
    const hid_t d = H5Dopen2(in->file, "/provenance/task_wall_seconds", H5P_DEFAULT);
    const hsize_t row[1] = {(hsize_t)id}, one[1] = {1};
    if (!status && (d < 0 || h5_read_block(d, H5_F64, 1, row, one, &r->wall_seconds)))
        status = RIPEN_EIO;
    if (d >= 0) H5Dclose(d);
    if (status)
        return ripen_fail(RIPEN_EINVAL, "%s: damaged ripen file: cannot read task %lld (%s %s)",
                          in->path, (long long)id, set->kind->set_noun, set->name);
    r->complete = 1;
    return RIPEN_OK;
}
