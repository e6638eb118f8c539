#define _POSIX_C_SOURCE 200809L
#include "ripen/journal.h"

#include "ripen/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Record file layout (native little-endian; ripen targets x86-64 and AArch64):
 *   "RIPENREC" | u32 version | u64 job hash | fields in the order of record_fields() | u64 FNV-1a
 * of everything before it. */
#define RECORD_MAGIC "RIPENREC"
enum { RECORD_VERSION = 2 }; /* 2: windows carry their own mu_core (tilt) */

void journal_directory(const char *output, char *out, size_t capacity) {
    snprintf(out, capacity, "%s.journal", output);
}

static void entry_path(const journal *jn, int64_t id, const char *suffix, char *out,
                       size_t capacity) {
    snprintf(out, capacity, "%s/task-%08lld.%s", jn->directory, (long long)id, suffix);
}

/* ---- a byte buffer with a running checksum ---- */

typedef struct {
    uint8_t *data;
    size_t size, capacity, read_at;
    int overrun; /* a read went past the end */
} buffer;

static int buffer_put(buffer *b, const void *data, size_t size) {
    if (size == 0) return RIPEN_OK; /* empty arrays may have no storage at all */
    if (b->size + size > b->capacity) {
        size_t capacity = b->capacity ? b->capacity : 4096;
        while (capacity < b->size + size) capacity *= 2;
        uint8_t *grown = realloc(b->data, capacity);
        if (!grown) return ripen_fail(RIPEN_ENOMEM, "out of memory writing a journal record");
        b->data = grown, b->capacity = capacity;
    }
    memcpy(b->data + b->size, data, size);
    b->size += size;
    return RIPEN_OK;
}

static void buffer_get(buffer *b, void *data, size_t size) {
    if (size == 0) return;
    if (b->read_at + size > b->size) {
        b->overrun = 1;
        memset(data, 0, size);
        return;
    }
    memcpy(data, b->data + b->read_at, size);
    b->read_at += size;
}

static uint64_t fnv1a_bytes(const uint8_t *data, size_t size) {
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t k = 0; k < size; ++k) h = (h ^ data[k]) * 0x100000001b3u;
    return h;
}

/* Writing and reading share one description of the fields, so they cannot drift apart. */
typedef struct {
    buffer *b;
    int writing;
    int status;
} codec;

static void scalar(codec *c, void *field, size_t size) {
    if (c->status) return;
    if (c->writing)
        c->status = buffer_put(c->b, field, size);
    else
        buffer_get(c->b, field, size);
}

/* An array whose element count is `count` (already coded) and whose capacity is `capacity`. */
static void array(codec *c, void *data, size_t element, int64_t count, int64_t capacity) {
    if (c->status) return;
    if (count < 0 || count > capacity || (count > 0 && !data)) {
        c->status = RIPEN_EINVAL;
        return;
    }
    scalar(c, data, element * (size_t)count);
}

static void record_fields(codec *c, task_record *r, int64_t series_capacity,
                          int64_t snapshot_capacity, int64_t q_capacity) {
    int32_t kind = (int32_t)r->kind, complete = r->complete, has_states = r->states != NULL;
    scalar(c, &r->id, sizeof r->id);
    scalar(c, &kind, sizeof kind);
    scalar(c, &complete, sizeof complete);
    scalar(c, &r->step, sizeof r->step);
    scalar(c, &r->core_initial, sizeof r->core_initial);
    scalar(c, &r->shell_initial, sizeof r->shell_initial);
    scalar(c, &r->wall_seconds, sizeof r->wall_seconds);
    scalar(c, r->initial, sizeof r->initial);
    scalar(c, r->tau, sizeof r->tau);
    scalar(c, &r->nsamples, sizeof r->nsamples);
    array(c, r->n_core, sizeof(int32_t), r->nsamples, series_capacity);
    array(c, r->n_shell, sizeof(int32_t), r->nsamples, series_capacity);
    array(c, r->a_core, sizeof(int32_t), r->nsamples, series_capacity);
    array(c, r->a_shell, sizeof(int32_t), r->nsamples, series_capacity);
    array(c, r->cluster, sizeof(int32_t), r->nsamples, series_capacity);
    array(c, r->energy, sizeof(double), r->nsamples, series_capacity);
    scalar(c, &r->nsnapshots, sizeof r->nsnapshots);
    array(c, r->snapshots, (size_t)r->nsites, r->nsnapshots, snapshot_capacity);
    scalar(c, &r->lo, sizeof r->lo);
    scalar(c, &r->hi, sizeof r->hi);
    scalar(c, &r->mu_core, sizeof r->mu_core);
    scalar(c, &r->tilt.steps, sizeof r->tilt.steps);
    scalar(c, &r->tilt.sum, sizeof r->tilt.sum);
    scalar(c, &r->tilt.sum_squares, sizeof r->tilt.sum_squares);
    scalar(c, &r->tilt.mu_below, sizeof r->tilt.mu_below);
    scalar(c, &r->tilt.mu_above, sizeof r->tilt.mu_above);
    scalar(c, &r->nq, sizeof r->nq);
    array(c, r->q, sizeof(int32_t), r->nq, q_capacity);
    array(c, r->q_energy, sizeof(double), r->nq, q_capacity);
    scalar(c, &has_states, sizeof has_states);
    if (!c->writing && has_states && !c->status && !r->states &&
        !(r->states = malloc((size_t)r->nsites)))
        c->status = RIPEN_ENOMEM;
    if (has_states) array(c, r->states, 1, r->nsites, r->nsites);
    r->kind = (task_kind)kind, r->complete = complete;
}

static void capacities(const job *j, int64_t id, int64_t *series, int64_t *snapshots, int64_t *q) {
    const task_spec *t = &j->tasks[id];
    *series = *snapshots = *q = 0;
    if (t->kind == TASK_REPLICA) {
        const ensemble_spec *e = &j->ensembles[t->group];
        *series = ensemble_series_length(e);
        *snapshots = t->member < e->snapshot_replicas ? ensemble_snapshot_count(e) : 0;
    } else {
        *q = window_sample_count(&j->window_sets[t->group]);
    }
}

/* ---- durable files ---- */

/* Makes a rename durable across power loss too (a kill alone cannot undo it). Best effort: some
 * file systems refuse fsync on directories. */
static void sync_parent_directory(const char *path) {
    char directory[JOB_PATH_CAPACITY + 64];
    snprintf(directory, sizeof directory, "%s", path);
    char *slash = strrchr(directory, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(directory, sizeof directory, ".");
    const int fd = open(directory, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static int write_durably(const char *path, const uint8_t *data, size_t size) {
    char tmp[JOB_PATH_CAPACITY + 64];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    const int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return ripen_fail(RIPEN_EIO, "cannot create %s: %s", tmp, strerror(errno));
    size_t done = 0;
    while (done < size) {
        const ssize_t n = write(fd, data + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int saved = errno;
            close(fd);
            unlink(tmp);
            return ripen_fail(RIPEN_EIO, "cannot write %s: %s", tmp, strerror(saved));
        }
        done += (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        const int saved = errno;
        unlink(tmp);
        return ripen_fail(RIPEN_EIO, "cannot flush %s: %s", tmp, strerror(saved));
    }
    if (rename(tmp, path) != 0) {
        const int saved = errno;
        unlink(tmp);
        return ripen_fail(RIPEN_EIO, "cannot rename %s: %s", tmp, strerror(saved));
    }
    sync_parent_directory(path);
    return RIPEN_OK;
}

static int read_whole(const char *path, buffer *b) {
    *b = (buffer){0};
    FILE *f = fopen(path, "rb");
    if (!f) return ripen_fail(RIPEN_EIO, "cannot open %s: %s", path, strerror(errno));
    uint8_t chunk[65536];
    size_t n;
    int status = RIPEN_OK;
    while (!status && (n = fread(chunk, 1, sizeof chunk, f)) > 0) status = buffer_put(b, chunk, n);
    if (!status && ferror(f)) status = ripen_fail(RIPEN_EIO, "cannot read %s", path);
    fclose(f);
    return status;
}

int journal_write(const journal *jn, const task_record *r) {
    buffer b = {0};
    const uint32_t version = RECORD_VERSION;
    int status = buffer_put(&b, RECORD_MAGIC, 8);
    if (!status) status = buffer_put(&b, &version, sizeof version);
    if (!status) status = buffer_put(&b, &jn->job_hash, sizeof jn->job_hash);
    codec c = {.b = &b, .writing = 1};
    task_record copy = *r; /* record_fields takes a mutable record; writing changes nothing */
    if (!status) {
        record_fields(&c, &copy, INT64_MAX, INT64_MAX, INT64_MAX);
        status = c.status;
    }
    const uint64_t sum = fnv1a_bytes(b.data, b.size);
    if (!status) status = buffer_put(&b, &sum, sizeof sum);
    char path[JOB_PATH_CAPACITY + 64];
    entry_path(jn, r->id, r->complete ? "done" : "ckpt", path, sizeof path);
    if (!status) status = write_durably(path, b.data, b.size);
    free(b.data);
    if (!status && r->complete) {
        entry_path(jn, r->id, "ckpt", path, sizeof path);
        unlink(path); /* the finished record supersedes it; absent is fine */
    }
    return status;
}

static int decode(const journal *jn, const job *j, const char *path, buffer *b, task_record *r) {
    if (b->size < 8 + 4 + 8 + 8 || memcmp(b->data, RECORD_MAGIC, 8) != 0)
        return ripen_fail(RIPEN_EIO, "%s: not a ripen journal record", path);
    uint64_t sum;
    memcpy(&sum, b->data + b->size - 8, 8);
    if (sum != fnv1a_bytes(b->data, b->size - 8))
        return ripen_fail(RIPEN_EIO, "%s: checksum mismatch (corrupt record)", path);
    b->size -= 8;
    b->read_at = 8;
    uint32_t version;
    uint64_t hash;
    buffer_get(b, &version, sizeof version);
    buffer_get(b, &hash, sizeof hash);
    if (version != RECORD_VERSION)
        return ripen_fail(RIPEN_EIO, "%s: record version %u, this ripen reads %d", path, version,
                          RECORD_VERSION);
    if (hash != jn->job_hash) return ripen_fail(RIPEN_EIO, "%s: written for a different job", path);
    const int64_t id = r->id;
    int64_t series, snapshots, q;
    capacities(j, id, &series, &snapshots, &q);
    codec c = {.b = b, .writing = 0};
    record_fields(&c, r, series, snapshots, q);
    if (c.status || b->overrun || b->read_at != b->size || r->id != id)
        return ripen_fail(RIPEN_EIO, "%s: record does not match task %lld of this job", path,
                          (long long)id);
    return RIPEN_OK;
}

int journal_read(const journal *jn, const job *j, int64_t id, task_record *r,
                 journal_entry *found) {
    const char *const suffix[2] = {"done", "ckpt"};
    const journal_entry kind[2] = {JOURNAL_DONE, JOURNAL_CHECKPOINT};
    *found = JOURNAL_NONE;
    for (int k = 0; k < 2; ++k) {
        char path[JOB_PATH_CAPACITY + 64];
        entry_path(jn, id, suffix[k], path, sizeof path);
        if (access(path, F_OK) != 0) continue;
        buffer b;
        int status = read_whole(path, &b);
        if (!status) status = decode(jn, j, path, &b, r);
        free(b.data);
        if (status) return status;
        *found = kind[k];
        return RIPEN_OK;
    }
    return RIPEN_OK;
}

int journal_scan(const journal *jn, const job *j, uint8_t *done) {
    memset(done, 0, (size_t)j->ntasks);
    DIR *dir = opendir(jn->directory);
    if (!dir) return ripen_fail(RIPEN_EIO, "cannot read %s: %s", jn->directory, strerror(errno));
    const struct dirent *entry;
    while ((entry = readdir(dir))) {
        long long id;
        char suffix[8];
        if (sscanf(entry->d_name, "task-%lld.%7s", &id, suffix) == 2 &&
            strcmp(suffix, "done") == 0 && id >= 0 && id < j->ntasks)
            done[id] = 1;
    }
    closedir(dir);
    return RIPEN_OK;
}

/* ---- the directory ---- */

static void job_files(const journal *jn, char *text, char *hash, size_t capacity) {
    snprintf(text, capacity, "%s/job.json", jn->directory);
    snprintf(hash, capacity, "%s/job.hash", jn->directory);
}

int journal_exists(const job *j) {
    char directory[JOB_PATH_CAPACITY + 16];
    journal_directory(j->output, directory, sizeof directory);
    struct stat st;
    return stat(directory, &st) == 0;
}

/* Built under a temporary name and renamed into place, so a kill never leaves a journal
 * without its job record. */
int journal_create(journal *jn, const job *j) {
    journal_directory(j->output, jn->directory, sizeof jn->directory);
    jn->job_hash = j->hash;
    journal building = *jn;
    snprintf(building.directory, sizeof building.directory, "%.*s.new-%ld",
             (int)sizeof building.directory - 32, jn->directory, (long)getpid());
    if (mkdir(building.directory, 0755) != 0)
        return ripen_fail(RIPEN_EIO, "cannot create %s: %s", building.directory, strerror(errno));
    char text[JOB_PATH_CAPACITY + 64], hash[JOB_PATH_CAPACITY + 64];
    job_files(&building, text, hash, sizeof text);
    char hex[32];
    snprintf(hex, sizeof hex, "%016llx\n", (unsigned long long)j->hash);
    int status = write_durably(text, (const uint8_t *)j->text, strlen(j->text));
    if (!status) status = write_durably(hash, (const uint8_t *)hex, strlen(hex));
    if (!status && rename(building.directory, jn->directory) != 0)
        status = ripen_fail(RIPEN_EIO, "cannot create %s: %s", jn->directory, strerror(errno));
    if (status)
        journal_remove(&building, j);
    else
        sync_parent_directory(jn->directory);
    return status;
}

int journal_open(journal *jn, const job *j) {
    journal_directory(j->output, jn->directory, sizeof jn->directory);
    jn->job_hash = j->hash;
    char text[JOB_PATH_CAPACITY + 64], hash[JOB_PATH_CAPACITY + 64];
    job_files(jn, text, hash, sizeof text);
    FILE *f = fopen(hash, "r");
    if (!f)
        return ripen_fail(RIPEN_EINVAL, "nothing to resume: %s has no job record (%s)",
                          jn->directory, strerror(errno));
    unsigned long long recorded = 0;
    const int fields = fscanf(f, "%llx", &recorded);
    fclose(f);
    if (fields != 1)
        return ripen_fail(RIPEN_EINVAL, "%s is unreadable: start afresh with --force", hash);
    if (recorded != j->hash)
        return ripen_fail(RIPEN_EINVAL,
                          "cannot resume: %s belongs to a different job (hash %016llx, this job "
                          "%016llx); run the original job or start afresh with --force",
                          jn->directory, recorded, (unsigned long long)j->hash);
    return RIPEN_OK;
}

int journal_lock(const journal *jn) {
    char path[JOB_PATH_CAPACITY + 64];
    snprintf(path, sizeof path, "%s/lock", jn->directory);
    const int fd = open(path, O_RDWR | O_CREAT, 0644);
    if (fd < 0) return ripen_fail(RIPEN_EIO, "cannot create %s: %s", path, strerror(errno));
    struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_SETLK, &lock) != 0) {
        struct flock holder = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        const int known = fcntl(fd, F_GETLK, &holder) == 0 && holder.l_type != F_UNLCK;
        close(fd);
        return ripen_fail(RIPEN_EINVAL,
                          "%s is in use by another ripen run (process %ld): wait for it, or stop "
                          "it before resuming",
                          jn->directory, known ? (long)holder.l_pid : -1L);
    }
    return RIPEN_OK; /* fd stays open: the lock lives as long as this process */
}

int journal_remove(const journal *jn, const job *j) {
    (void)j;
    DIR *dir = opendir(jn->directory);
    if (!dir) return ripen_fail(RIPEN_EIO, "cannot read %s: %s", jn->directory, strerror(errno));
    const struct dirent *entry;
    int status = RIPEN_OK;
    while ((entry = readdir(dir))) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
        char path[JOB_PATH_CAPACITY + 300];
        snprintf(path, sizeof path, "%s/%s", jn->directory, entry->d_name);
        if (unlink(path) != 0)
            status = ripen_fail(RIPEN_EIO, "cannot remove %s: %s", path, strerror(errno));
    }
    closedir(dir);
    if (!status && rmdir(jn->directory) != 0)
        status = ripen_fail(RIPEN_EIO, "cannot remove %s: %s", jn->directory, strerror(errno));
    return status;
}
