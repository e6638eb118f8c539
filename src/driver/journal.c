#define _POSIX_C_SOURCE 200809L
#include "ripen/driver/journal.h"

#include "ripen/driver/codec.h"
#include "ripen/engine/error.h"
#include "ripen/driver/task_kind.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Record file layout (native little-endian; ripen targets x86-64 and AArch64):
 *   "RIPENREC" | u32 version | u64 job hash | the generic fields of record_fields() | the kind's
 *   fields (task_kind.code) | the lattice if kept | u64 FNV-1a of everything before it. */
#define RECORD_MAGIC "RIPENREC"
enum {
    RECORD_VERSION = 5
}; /* 3: a generic part and the kind's own fields; 4: ensembles'
     exposed core and N_shell at tau; 5: a finite solution's content */

void journal_directory(const char *output, char *out, size_t capacity) {
    snprintf(out, capacity, "%s.journal", output);
}

static void entry_path(const journal *jn, int64_t id, const char *suffix, char *out,
                       size_t capacity) {
    snprintf(out, capacity, "%s/task-%08lld.%s", jn->directory, (long long)id, suffix);
}

/* Writing and reading share one description of the fields, so they cannot drift apart. */
static void record_fields(codec *c, const job *j, task_record *r) {
    const task_set *set = job_task_set(j, r->id);
    int32_t kind = task_kind_code(set->kind), complete = r->complete;
    int32_t has_states = r->states != NULL;
    codec_scalar(c, &r->id, sizeof r->id);
    codec_scalar(c, &kind, sizeof kind);
    codec_scalar(c, &complete, sizeof complete);
    codec_scalar(c, &r->step, sizeof r->step);
    codec_scalar(c, &r->core_initial, sizeof r->core_initial);
    codec_scalar(c, &r->shell_initial, sizeof r->shell_initial);
    codec_scalar(c, &r->reservoir_core, sizeof r->reservoir_core);
    codec_scalar(c, &r->reservoir_shell, sizeof r->reservoir_shell);
    codec_scalar(c, &r->wall_seconds, sizeof r->wall_seconds);
    if (!c->status && kind != task_kind_code(set->kind)) c->status = RIPEN_EINVAL;
    if (!c->status) set->kind->code(c, set, j->tasks[r->id].member, r);
    codec_scalar(c, &has_states, sizeof has_states);
    int64_t room = r->states ? r->nsites : 0;
    if (has_states) codec_array(c, (void **)&r->states, 1, r->nsites, &room, r->nsites);
    r->complete = complete;
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

static int read_whole(const char *path, byte_buffer *b) {
    *b = (byte_buffer){0};
    FILE *f = fopen(path, "rb");
    if (!f) return ripen_fail(RIPEN_EIO, "cannot open %s: %s", path, strerror(errno));
    uint8_t chunk[65536];
    size_t n;
    int status = RIPEN_OK;
    while (!status && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        status = byte_buffer_put(b, chunk, n);
    if (!status && ferror(f)) status = ripen_fail(RIPEN_EIO, "cannot read %s", path);
    fclose(f);
    return status;
}

int journal_write(const journal *jn, const job *j, const task_record *r) {
    byte_buffer b = {0};
    const uint32_t version = RECORD_VERSION;
    int status = byte_buffer_put(&b, RECORD_MAGIC, 8);
    if (!status) status = byte_buffer_put(&b, &version, sizeof version);
    if (!status) status = byte_buffer_put(&b, &jn->job_hash, sizeof jn->job_hash);
    codec c = {.b = &b, .writing = 1};
    task_record copy = *r; /* record_fields takes a mutable record; writing changes nothing */
    if (!status) {
        record_fields(&c, j, &copy);
        status = c.status
                     ? ripen_fail(c.status, "task %lld: cannot encode its record", (long long)r->id)
                     : RIPEN_OK;
    }
    const uint64_t sum = fnv1a_bytes(b.data, b.size);
    if (!status) status = byte_buffer_put(&b, &sum, sizeof sum);
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

static int decode(const journal *jn, const job *j, const char *path, byte_buffer *b,
                  task_record *r) {
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
    byte_buffer_get(b, &version, sizeof version);
    byte_buffer_get(b, &hash, sizeof hash);
    if (version != RECORD_VERSION)
        return ripen_fail(RIPEN_EIO, "%s: record version %u, this ripen reads %d", path, version,
                          RECORD_VERSION);
    if (hash != jn->job_hash) return ripen_fail(RIPEN_EIO, "%s: written for a different job", path);
    const int64_t id = r->id;
    codec c = {.b = b, .writing = 0};
    record_fields(&c, j, r);
    if (c.status == RIPEN_ENOMEM)
        return ripen_fail(RIPEN_ENOMEM, "%s: out of memory reading it", path);
    if (!codec_complete(&c) || r->id != id)
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
        byte_buffer b;
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
        status =
            errno == ENOTEMPTY || errno == EEXIST
                ? ripen_fail(RIPEN_EINVAL,
                             "%s appeared while this run was creating it: another ripen run "
                             "started on the same output at the same moment; wait for it, "
                             "or stop it",
                             jn->directory)
                : ripen_fail(RIPEN_EIO, "cannot create %s: %s", jn->directory, strerror(errno));
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
    return journal_remove_directory(jn->directory);
}

int journal_remove_directory(const char *directory) {
    DIR *dir = opendir(directory);
    if (!dir) return ripen_fail(RIPEN_EIO, "cannot read %s: %s", directory, strerror(errno));
    const struct dirent *entry;
    int status = RIPEN_OK;
    while ((entry = readdir(dir))) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
        char path[JOB_PATH_CAPACITY + 300];
        snprintf(path, sizeof path, "%s/%s", directory, entry->d_name);
        if (unlink(path) != 0)
            status = ripen_fail(RIPEN_EIO, "cannot remove %s: %s", path, strerror(errno));
    }
    closedir(dir);
    if (!status && rmdir(directory) != 0)
        status = ripen_fail(RIPEN_EIO, "cannot remove %s: %s", directory, strerror(errno));
    return status;
}

int journal_has_record(const job *j) {
    char directory[JOB_PATH_CAPACITY + 16], text[JOB_PATH_CAPACITY + 64],
        hash[JOB_PATH_CAPACITY + 64];
    journal_directory(j->output, directory, sizeof directory);
    journal probe = {0};
    snprintf(probe.directory, sizeof probe.directory, "%s", directory);
    job_files(&probe, text, hash, sizeof text);
    return access(hash, F_OK) == 0;
}

long journal_lock_holder(const char *directory) {
    char path[JOB_PATH_CAPACITY + 64];
    snprintf(path, sizeof path, "%s/lock", directory);
    const int fd = open(path, O_RDWR);
    if (fd < 0) return 0;
    struct flock holder = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    const int known = fcntl(fd, F_GETLK, &holder) == 0 && holder.l_type != F_UNLCK;
    close(fd);
    return known ? (long)holder.l_pid : 0;
}

/* One record file: RIPEN_OK if it decodes for task `id` of `j`. */
static int verify_file(const journal *jn, const job *j, int64_t id, const char *path) {
    task_record r;
    int status = task_record_init(&r, j, id);
    byte_buffer b;
    if (!status) status = read_whole(path, &b);
    if (!status) {
        status = decode(jn, j, path, &b, &r);
        free(b.data);
    }
    task_record_free(&r);
    return status;
}

int journal_verify(const journal *jn, const job *j, uint8_t *done) {
    int status = journal_scan(jn, j, done);
    for (int64_t id = 0; id < j->ntasks && !status; ++id) {
        char path[JOB_PATH_CAPACITY + 64];
        entry_path(jn, id, "ckpt", path, sizeof path);
        if (!done[id] && access(path, F_OK) == 0 && verify_file(jn, j, id, path)) {
            fprintf(stderr,
                    "ripen: warning: %s; the checkpoint is dropped and task %lld restarts from "
                    "its beginning\n",
                    ripen_last_error(), (long long)id);
            if (unlink(path) != 0)
                status = ripen_fail(RIPEN_EIO, "cannot remove %s: %s", path, strerror(errno));
        }
        entry_path(jn, id, "done", path, sizeof path);
        if (done[id] && verify_file(jn, j, id, path))
            status = ripen_fail(RIPEN_EINVAL,
                                "cannot resume: %s; to run task %lld again, discard its record "
                                "(rm '%s') and resume",
                                ripen_last_error(), (long long)id, path);
    }
    return status;
}

int journal_remove_stale(const journal *jn) {
    DIR *dir = opendir(jn->directory);
    if (!dir) return ripen_fail(RIPEN_EIO, "cannot read %s: %s", jn->directory, strerror(errno));
    const struct dirent *entry;
    int status = RIPEN_OK, removed = 0;
    char first[300] = "";
    while ((entry = readdir(dir)) && !status) {
        const size_t n = strlen(entry->d_name);
        if (n < 5 || strcmp(entry->d_name + n - 4, ".tmp") != 0) continue;
        char path[JOB_PATH_CAPACITY + 300];
        snprintf(path, sizeof path, "%s/%s", jn->directory, entry->d_name);
        if (unlink(path) != 0 && errno != ENOENT)
            status = ripen_fail(RIPEN_EIO, "cannot remove %s: %s", path, strerror(errno));
        else if (removed++ == 0)
            snprintf(first, sizeof first, "%s", entry->d_name);
    }
    closedir(dir);
    if (removed)
        fprintf(stderr,
                "ripen: note: removed %d temporary file(s) of %s (%s%s) left by a write that was "
                "cut short (a kill, a full or read-only disk); the records they were to replace "
                "are intact\n",
                removed, jn->directory, first, removed > 1 ? ", ..." : "");
    return status;
}
