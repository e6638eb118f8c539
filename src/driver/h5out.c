#define _POSIX_C_SOURCE 200809L
#define _GNU_SOURCE     /* fallocate(2): allocation without glibc's slow emulation */
#include "ripen/h5out.h"

#include "ripen/error.h"
#include "h5util.h"
#include "ripen/task_kind.h"
#include "ripen/version.h"

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
    char kinds[256];
    describe_kind_codes(j, kinds, sizeof kinds);
    l->task_kind =
        h5_dataset_create(tasks, "kind", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, n, NULL, kinds);
    char groups[256], members[256];
    describe_task_columns(j, groups, members, sizeof groups);
    l->task_group =
        h5_dataset_create(tasks, "group", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, n, NULL, groups);
    l->task_member =
        h5_dataset_create(tasks, "member", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, n, NULL, members);
    l->task_wall = h5_dataset_create(prov, "task_wall_seconds", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                                     1, n, &fill_nan, "s (varies from run to run)");
    H5Gclose(tasks);
    H5Gclose(prov);
    for (int k = 0; k < task_kind_count && !status; ++k)
        if (task_kinds[k]->always_group || job_count_sets(j, task_kinds[k]) > 0) {
            l->kind_groups[k] =
                H5Gcreate2(l->file, task_kinds[k]->key, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
            if (l->kind_groups[k] < 0)
                status = ripen_fail(RIPEN_EIO, "cannot create group /%s", task_kinds[k]->key);
        }
    for (int s = 0; s < j->nsets && !status; ++s) {
        const task_set *set = &j->sets[s];
        const hid_t parent = l->kind_groups[task_kind_code(set->kind)];
        l->set_groups[s] = H5Gcreate2(parent, set->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (l->set_groups[s] < 0)
            status = ripen_fail(RIPEN_EIO, "cannot create group /%s/%s", set->kind->key, set->name);
        else
            status = set->kind->h5_create(l->set_groups[s], j, set, &l->set_handles[s]);
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
    if (!status) status = h5_write_block(l->task_done, H5T_NATIVE_UINT8, 1, start, n, present);
    if (!status) status = h5_write_block(l->task_kind, H5T_NATIVE_UINT8, 1, start, n, kind);
    if (!status) status = h5_write_block(l->task_group, H5T_NATIVE_INT32, 1, start, n, group);
    if (!status) status = h5_write_block(l->task_member, H5T_NATIVE_INT32, 1, start, n, member);
    free(kind), free(group), free(member);
    for (int s = 0; s < j->nsets && !status; ++s)
        status = j->sets[s].kind->h5_write_set(l->set_handles[s], j, &j->sets[s]);
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
        const task_set *set = &j->sets[t->set];
        if (!status) status = set->kind->h5_write_task(l->set_handles[t->set], set, t->member, &r);
        const hsize_t row[1] = {(hsize_t)id}, one[1] = {1};
        if (!status)
            status = h5_write_block(l->task_wall, H5T_NATIVE_DOUBLE, 1, row, one, &r.wall_seconds);
        task_record_free(&r);
    }
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
static double file_size_bound(const job *j) {
    double raw = 2.0 * (double)strlen(j->text) + 2.0 * (double)strlen(j->normalized);
    double objects = 16;
    raw += (double)j->ntasks * (1 + 1 + 4 + 4 + 8);
    for (int s = 0; s < j->nsets; ++s) {
        double bytes, count;
        j->sets[s].kind->h5_size(&j->sets[s], &bytes, &count);
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
                      "cannot write %s: no room for about %.1f MiB (%s); nothing written", name,
                      bytes / 1048576.0, strerror(error));
}

int h5out_write(MPI_Comm comm, const job *j, const char *path, const uint8_t *present,
                task_loader load, void *context, const run_provenance *prov, void *const *results) {
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
    if (!status) status = write_set_results(&l, j, results, rank == 0);
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

int h5in_load_task(void *h5in_context, int64_t id, task_record *r) {
    h5in *in = h5in_context;
    const job *j = &in->j;
    if (!in->present[id])
        return ripen_fail(RIPEN_EINVAL, "task %lld is not in this file", (long long)id);
    const task_set *set = job_task_set(j, id);
    char path[JOB_NAME_CAPACITY + 64];
    snprintf(path, sizeof path, "/%s/%s", set->kind->key, set->name);
    const hid_t g = H5Gopen2(in->file, path, H5P_DEFAULT);
    if (g < 0) return ripen_fail(RIPEN_EINVAL, "damaged ripen file: no group %s", path);
    int status = set->kind->h5_load_task(g, set, j->tasks[id].member, r);
    H5Gclose(g);
    const hid_t d = H5Dopen2(in->file, "/provenance/task_wall_seconds", H5P_DEFAULT);
    const hsize_t row[1] = {(hsize_t)id}, one[1] = {1};
    if (!status && (d < 0 || h5_read_block(d, H5T_NATIVE_DOUBLE, 1, row, one, &r->wall_seconds)))
        status = RIPEN_EIO;
    if (d >= 0) H5Dclose(d);
    if (status)
        return ripen_fail(RIPEN_EINVAL, "damaged ripen file: cannot read task %lld", (long long)id);
    r->complete = 1;
    return RIPEN_OK;
}
