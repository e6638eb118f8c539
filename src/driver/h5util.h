/* Small HDF5 helpers: each returns a status (or a handle < 0 on failure) and closes what it
 * opens. Private to the driver. */
#ifndef RIPEN_H5UTIL_H
#define RIPEN_H5UTIL_H

#include <hdf5.h>

#include "ripen/driver/job.h"

/* Element types: the file's (little-endian, fixed) and memory's (native) at once. */
typedef enum { H5_U8, H5_I32, H5_I64, H5_F64 } h5_type;
hid_t h5_file_type(h5_type t);
hid_t h5_memory_type(h5_type t);

int h5_attr_write(hid_t loc, const char *name, hid_t type, const void *value);
/* Strings are variable-length UTF-8 (h5py reads them as str). */
hid_t h5_string_type(void);
int h5_attr_string(hid_t loc, const char *name, const char *value);
int h5_attr_int(hid_t loc, const char *name, int64_t value);
int h5_attr_double(hid_t loc, const char *name, double value);

/* Attributes stay in the object header (compact), however many: HDF5 1.10.8 crashes copying
 * (H5Ocopy, h5copy, h5py's copy) a group whose attributes a parallel run stored densely. */
enum { H5_COMPACT_ATTRIBUTES = 1000 };

/* A group with its "description" attribute (compact attributes). */
hid_t h5_group_create(hid_t loc, const char *name, const char *description);

typedef struct {
    const char *name;
    h5_type type;
    int rank;
    hsize_t dims[5];
    const void *fill;        /* fill value (native type), or NULL for HDF5's default */
    const char *units;       /* "units" attribute, or NULL if dimensionless */
    const char *description; /* "description" attribute: what the dataset holds */
    /* 1: chunked (one row, or one lattice, per chunk) with the shuffle and deflate filters,
     * which parallel HDF5 can write only collectively (h5_write_rows). Data whose size the job
     * cannot bound tightly (time series, snapshots, samples) is stored so: the fill of rows that
     * ended early then costs almost nothing. */
    int compress;
} h5_dataset_info;

/* Creates a dataset allocated at creation (parallel HDF5 needs it). Collective. */
hid_t h5_dataset(hid_t loc, const h5_dataset_info *info);

/* Writes the block of `count` elements at `start` with independent I/O (one rank, contiguous
 * datasets only). */
int h5_write_block(hid_t d, h5_type type, int rank, const hsize_t *start, const hsize_t *count,
                   const void *data);
/* Collectively writes `n` rows of a dataset (compressed datasets can only be written so): row i
 * is starts[i * rank] (the other coordinates of its corner are 0), its data has counts[i * rank
 * + 1 ..] elements per dimension and is written padded with the fill value to the whole row.
 * Every rank calls it for the dataset, with n = 0 if it has nothing to write; rows increase. */
int h5_write_blocks(hid_t d, h5_type type, int rank, int n, const hsize_t *starts,
                    const hsize_t *counts, const void *const *data);
/* Reads the block of `count` elements at `start`; checks it lies inside the dataset. */
int h5_read_block(hid_t d, h5_type type, int rank, const hsize_t *start, const hsize_t *count,
                  void *data);
/* h5_read_block on dataset `name` under `group`. */
int h5_read_from(hid_t group, const char *name, h5_type type, int rank, const hsize_t *start,
                 const hsize_t *count, void *data);
/* The extent of dimension `axis` of dataset `name` (-1 if it has none). */
int64_t h5_extent(hid_t group, const char *name, int axis);

/* Closes the open datasets among d[0..n) (those not yet created hold 0 or a negative id). */
void h5_close_datasets(const hid_t *d, int n);

/* The system a set simulates, as attributes of its group (lattice, model, readings, dynamics,
 * initial particle), with the group's "units" attribute naming the units of these and of
 * `more_units` (the kind's own attributes, e.g. "max_steps: MC steps"). */
int h5_system_attributes(hid_t group, const system_spec *s, const char *more_units);

#endif
