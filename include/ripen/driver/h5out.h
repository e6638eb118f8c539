/* The result file: one HDF5 file written in parallel through MPI-IO (layout: docs/hdf5-layout.md).
 *
 * All ranks create the groups, datasets and attributes collectively with identical arguments
 * (parallel HDF5 requires it), sized by the data the tasks hold; then each rank writes the tasks
 * id = rank (mod nranks) in collective rounds (compressed datasets need collective writes). The
 * file is written under "<path>.partial" and renamed when complete, so a result file is never
 * half-written; a signal during the write stops it cleanly (the journal still holds everything).
 */
#ifndef RIPEN_H5OUT_H
#define RIPEN_H5OUT_H

#include <hdf5.h>
#include <mpi.h>
#include <stdint.h>

#include "ripen/driver/job.h"
#include "ripen/driver/task.h"

/* 2: variable-length string attributes, descriptions, datasets sized by the data and
 * compressed, the Kaplan-Meier curve per ensemble, shards' provenance in merged files. */
enum { H5OUT_FORMAT_VERSION = 2 };

struct shard_provenance;

/* Facts about the run, identical on every rank (rank 0 measures, then broadcasts). */
typedef struct {
    char ripen_version[64], git_commit[64], hdf5_version[32];
    char created[32];                      /* UTC, ISO 8601 */
    char host[256];                        /* rank 0's host name */
    char mpi_library[256];                 /* first line of MPI_Get_library_version */
    int ranks;                             /* MPI ranks of the run */
    double wall_seconds;                   /* wall time of the run (this invocation) */
    int64_t shard_index, shard_count;      /* this file holds the shard (docs/design.md) */
    int nshards;                           /* a merged file: the shards' own provenance ... */
    const struct shard_provenance *shards; /* ... (set on every rank after collecting) */
} run_provenance;

/* What a shard file recorded of the run that made it. */
typedef struct shard_provenance {
    run_provenance run;
    char file[JOB_PATH_CAPACITY];     /* the shard file merged */
    char job_path[JOB_PATH_CAPACITY]; /* where that run read the job */
} shard_provenance;

void run_provenance_collect(MPI_Comm comm, run_provenance *p);

/* Writes the result file. `present[id]` says which tasks the file holds (all of them for a
 * whole run, a shard's for a shard). `results` has one entry per set: the result of its kind's
 * analysis (task_kind.analyze), identical on every rank, or NULL. Collective; returns the same
 * status on every rank. */
int h5out_write(MPI_Comm comm, const job *j, const char *path, const uint8_t *present,
                task_loader load, void *context, const run_provenance *prov, void *const *results,
                int (*interrupted)(void));

/* Reading back (merge, analyze, tests). */
typedef struct {
    hid_t file;
    char path[JOB_PATH_CAPACITY];
    shard_provenance prov; /* what the file recorded of the run that made it */
    job j;                 /* parsed from the job text stored in the file */
    uint8_t *present;      /* per task: 1 if the file holds its result */
    int64_t shard_index, shard_count;
} h5in;

/* Opens a result file read-only (serial driver) and parses its job; errors name the file. */
int h5in_open(h5in *in, const char *path);
void h5in_close(h5in *in);
/* task_loader over an open result file. */
int h5in_load_task(void *h5in_context, int64_t id, task_record *r);

/* Silences HDF5's own error stack printing (ripen reports one line instead), unless the
 * environment variable RIPEN_HDF5_ERRORS is set. */
void h5out_quiet_errors(void);

#endif
