/* Small HDF5 helpers: each returns a status (or a handle < 0 on failure) and closes what it
 * opens. Private to the driver. */
#ifndef RIPEN_H5UTIL_H
#define RIPEN_H5UTIL_H

#include <hdf5.h>

#include "ripen/job.h"

int h5_attr_write(hid_t loc, const char *name, hid_t type, const void *value);
/* A fixed-length, NUL-terminated UTF-8 string type of `length` bytes. */
hid_t h5_string_type(size_t length);
int h5_attr_string(hid_t loc, const char *name, const char *value);
int h5_attr_int(hid_t loc, const char *name, int64_t value);
int h5_attr_double(hid_t loc, const char *name, double value);
/* A contiguous dataset allocated at creation (parallel HDF5 needs it), filled with `fill` (or
 * HDF5's default if NULL), with a "units" attribute if `units` is not NULL. Collective. */
hid_t h5_dataset_create(hid_t loc, const char *name, hid_t file_type, hid_t memory_type, int rank,
                        const hsize_t *dims, const void *fill, const char *units);
/* Writes / reads the block of `count` elements at `start` (independent I/O). read checks the
 * block lies inside the dataset. */
int h5_write_block(hid_t d, hid_t memory_type, int rank, const hsize_t *start, const hsize_t *count,
                   const void *data);
int h5_read_block(hid_t d, hid_t memory_type, int rank, const hsize_t *start, const hsize_t *count,
                  void *data);

/* h5_read_block on dataset `name` under `group`. */
int h5_read_from(hid_t group, const char *name, hid_t memory_type, int rank, const hsize_t *start,
                 const hsize_t *count, void *data);

/* The system a set simulates, as attributes of its group (lattice, model, readings, dynamics,
 * initial particle). */
int h5_system_attributes(hid_t group, const system_spec *s);

#endif
