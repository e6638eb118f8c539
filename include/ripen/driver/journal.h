/* The journal: where a run keeps its durable state until the result file is complete.
 *
 * HDF5 files are not crash-consistent (a kill during a metadata write can leave the whole file
 * unreadable), so finished tasks and checkpoints are kept as small files in a directory next to
 * the output, "<output>.journal/": one per task, written to a temporary name, flushed to disk and
 * renamed (atomic on POSIX file systems), each with a checksum and the job's hash. A kill at any
 * moment leaves every file either absent, old or new, never torn. The HDF5 file is written once,
 * in parallel, from the journal when all tasks are done (h5out.h); then the journal is removed.
 */
#ifndef RIPEN_JOURNAL_H
#define RIPEN_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ripen/driver/job.h"
#include "ripen/driver/task.h"

typedef struct {
    char directory[JOB_PATH_CAPACITY + 16]; /* "<output>.journal" */
    uint64_t job_hash;                      /* every file carries it */
} journal;

typedef enum { JOURNAL_NONE, JOURNAL_CHECKPOINT, JOURNAL_DONE } journal_entry;

/* Name of the journal directory for an output path. */
void journal_directory(const char *output, char *out, size_t capacity);

/* Whether the journal directory of `j` holds a job record (a directory without one was left by
 * a run killed while creating it: nothing to resume, nothing to lose). */
int journal_has_record(const job *j);

/* The process holding the lock of the journal in `directory`, or 0 if none (or no journal). */
long journal_lock_holder(const char *directory);

/* Checks every record of an opened journal before a resume: a checkpoint that fails its
 * checksum is dropped with a warning on stderr (its task restarts); a finished record that does
 * is an error naming the file and the command that discards it. Fills done[] like
 * journal_scan. */
int journal_verify(const journal *jn, const job *j, uint8_t *done);

/* Removes the temporary files (*.tmp) a record write leaves when it is cut short between
 * creating its temporary file and renaming it (a kill, ENOSPC, a file system turned read-only):
 * the record it was to replace is intact, so the file holds nothing. Called by a resume once it
 * holds the lock; says on stderr what it removed. */
int journal_remove_stale(const journal *jn);

/* Creates a new journal (error if one exists) and records the job text in it. */
int journal_create(journal *jn, const job *j);
/* Opens an existing journal for --resume; error if it belongs to a different job. */
int journal_open(journal *jn, const job *j);
int journal_exists(const job *j);

/* Takes the journal's lock for this process (released when it exits): a second run on the same
 * output, or leftover ranks of a killed one, cannot use the journal at the same time. */
int journal_lock(const journal *jn);

/* Durably stores a record: a finished task replaces its checkpoint. */
int journal_write(const journal *jn, const job *j, const task_record *r);
/* Reads task `id` into `r` (allocated by task_record_init); says what was found. Corrupt or
 * foreign files are an error naming the file. */
int journal_read(const journal *jn, const job *j, int64_t id, task_record *r, journal_entry *found);
/* Which tasks are finished (done[id] = 1), by the files present. */
int journal_scan(const journal *jn, const job *j, uint8_t *done);
/* Removes the journal after the result file is safely in place. */
int journal_remove(const journal *jn, const job *j);
/* Removes the journal directory `directory` whatever it holds (files only). */
int journal_remove_directory(const char *directory);

#endif
