/* Small HDF5 helpers shared by the result writer and the task kinds (private to the driver). */
#include "h5util.h"

#include "ripen/engine/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

hid_t h5_file_type(h5_type t) {
    switch (t) {
        case H5_U8:
            return H5T_STD_U8LE;
        case H5_I32:
            return H5T_STD_I32LE;
        case H5_I64:
            return H5T_STD_I64LE;
        case H5_F64:
            break;
    }
    return H5T_IEEE_F64LE;
}

hid_t h5_memory_type(h5_type t) {
    switch (t) {
        case H5_U8:
            return H5T_NATIVE_UINT8;
        case H5_I32:
            return H5T_NATIVE_INT32;
        case H5_I64:
            return H5T_NATIVE_INT64;
        case H5_F64:
            break;
    }
    return H5T_NATIVE_DOUBLE;
}

int h5_attr_write(hid_t loc, const char *name, hid_t type, const void *value) {
    const hid_t space = H5Screate(H5S_SCALAR);
    const hid_t attr = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    const herr_t err = attr < 0 ? -1 : H5Awrite(attr, type, value);
    if (attr >= 0) H5Aclose(attr);
    H5Sclose(space);
    return err < 0 ? ripen_fail(RIPEN_EIO, "cannot write attribute %s", name) : RIPEN_OK;
}

hid_t h5_string_type(void) {
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    return type;
}

int h5_attr_string(hid_t loc, const char *name, const char *value) {
    const hid_t type = h5_string_type();
    const int status = h5_attr_write(loc, name, type, &value);
    H5Tclose(type);
    return status;
}

int h5_attr_int(hid_t loc, const char *name, int64_t value) {
    return h5_attr_write(loc, name, H5T_NATIVE_INT64, &value);
}

int h5_attr_double(hid_t loc, const char *name, double value) {
    return h5_attr_write(loc, name, H5T_NATIVE_DOUBLE, &value);
}

hid_t h5_group_create(hid_t loc, const char *name, const char *description) {
    const hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_attr_phase_change(gcpl, H5_COMPACT_ATTRIBUTES, 0);
    const hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    if (g >= 0 && h5_attr_string(g, "description", description)) {
        H5Gclose(g);
        return -1;
    }
    return g;
}

/* One row of the leading dimension per chunk (a replica, a window), cut along the second
 * dimension to at most about 1 MiB (many samples, or many lattices of a snapshot series). */
static void chunk_dims(const h5_dataset_info *info, hsize_t *chunk) {
    const hsize_t element = H5Tget_size(h5_file_type(info->type)), limit = 1u << 20;
    for (int k = 0; k < info->rank; ++k) chunk[k] = info->dims[k];
    if (info->rank == 1) {
        if (chunk[0] * element > limit) chunk[0] = limit / element;
        return;
    }
    chunk[0] = 1;
    hsize_t inner = element; /* bytes of one step along dimension 1 */
    for (int k = 2; k < info->rank; ++k) inner *= chunk[k];
    const hsize_t along = inner < limit ? limit / inner : 1;
    if (chunk[1] > along) chunk[1] = along;
}

hid_t h5_dataset(hid_t loc, const h5_dataset_info *info) {
    const hid_t space = H5Screate_simple(info->rank, info->dims, NULL);
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    int empty = 0;
    for (int k = 0; k < info->rank; ++k) empty |= info->dims[k] == 0;
    if (info->compress && !empty) { /* a chunk cannot be larger than an empty dimension */
        hsize_t chunk[5];
        chunk_dims(info, chunk);
        H5Pset_chunk(dcpl, info->rank, chunk);
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, 1);
    }
    /* Parallel HDF5 needs contiguous and unfiltered datasets allocated at creation; compressed
     * chunks are allocated as they are written (at their compressed size), and a chunk never
     * written reads as the fill value. */
    H5Pset_alloc_time(dcpl, info->compress && !empty ? H5D_ALLOC_TIME_INCR : H5D_ALLOC_TIME_EARLY);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC);
    if (info->fill) H5Pset_fill_value(dcpl, h5_memory_type(info->type), info->fill);
    const hid_t d = H5Dcreate2(loc, info->name, h5_file_type(info->type), space, H5P_DEFAULT, dcpl,
                               H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(space);
    if (d < 0) return d;
    int status = h5_attr_string(d, "description", info->description);
    if (!status && info->units) status = h5_attr_string(d, "units", info->units);
    if (status) {
        H5Dclose(d);
        return -1;
    }
    return d;
}

static int empty_block(int rank, const hsize_t *count) {
    hsize_t total = 1;
    for (int k = 0; k < rank; ++k) total *= count[k];
    return total == 0;
}

int h5_write_block(hid_t d, h5_type type, int rank, const hsize_t *start, const hsize_t *count,
                   const void *data) {
    if (empty_block(rank, count)) return RIPEN_OK;
    const hid_t file_space = H5Dget_space(d);
    H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, NULL, count, NULL);
    const hid_t memory_space = H5Screate_simple(rank, count, NULL);
    const herr_t err =
        H5Dwrite(d, h5_memory_type(type), memory_space, file_space, H5P_DEFAULT, data);
    H5Sclose(memory_space);
    H5Sclose(file_space);
    return err < 0 ? ripen_fail(RIPEN_EIO, "HDF5 write failed (disk full or I/O error?)")
                   : RIPEN_OK;
}

/* Elements in the dataset (the same on every rank). */
static hssize_t dataset_size(hid_t d) {
    const hid_t space = H5Dget_space(d);
    const hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    if (space >= 0) H5Sclose(space);
    return n;
}

/* The dataset's fill value, as `type` in memory (element bytes at most 8). */
static void fill_value(hid_t d, h5_type type, uint8_t out[8]) {
    memset(out, 0, 8);
    const hid_t dcpl = H5Dget_create_plist(d);
    H5Pget_fill_value(dcpl, h5_memory_type(type), out);
    H5Pclose(dcpl);
}

/* Each block as a whole row of the dataset (every dimension but the first in full), the part
 * past its data set to the fill value: rows of equal shape, one after the other. */
static void *pack_rows(hid_t d, h5_type type, int rank, int n, const hsize_t *dims,
                       const hsize_t *counts, const void *const *data) {
    const size_t element = H5Tget_size(h5_memory_type(type));
    hsize_t row = 1; /* elements of one full row */
    for (int k = 1; k < rank; ++k) row *= dims[k];
    uint8_t *packed = malloc(element * (size_t)(row * (hsize_t)n + 1));
    if (!packed) return NULL;
    uint8_t fill[8];
    fill_value(d, type, fill);
    for (int i = 0; i < n; ++i) {
        hsize_t size = 1;
        for (int k = 1; k < rank; ++k) size *= counts[i * rank + k];
        uint8_t *at = packed + element * (size_t)(row * (hsize_t)i);
        if (size) memcpy(at, data[i], element * (size_t)size);
        for (hsize_t e = size; e < row; ++e) memcpy(at + element * e, fill, element);
    }
    return packed;
}

/* The rows of the blocks: one regular (strided) hyperslab when they are equally spaced, which
 * HDF5 maps onto chunks directly; a union otherwise. */
static void select_rows(hid_t file_space, int rank, int n, const hsize_t *dims,
                        const hsize_t *starts) {
    hsize_t start[8] = {0}, stride[8], count[8], block[8];
    for (int k = 0; k < rank; ++k) stride[k] = 1, count[k] = 1, block[k] = dims[k];
    H5Sselect_none(file_space);
    if (n == 0) return;
    const hsize_t step = n > 1 ? starts[rank] - starts[0] : 1;
    int regular = step > 0;
    for (int i = 1; i < n && regular; ++i)
        regular = starts[i * rank] - starts[(i - 1) * rank] == step;
    block[0] = 1;
    if (regular) {
        start[0] = starts[0], stride[0] = step, count[0] = (hsize_t)n;
        H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, stride, count, block);
        return;
    }
    for (int i = 0; i < n; ++i) {
        start[0] = starts[i * rank];
        H5Sselect_hyperslab(file_space, H5S_SELECT_OR, start, NULL, count, block);
    }
}

int h5_write_blocks(hid_t d, h5_type type, int rank, int n, const hsize_t *starts,
                    const hsize_t *counts, const void *const *data) {
    /* HDF5 1.10 fails a collective write to a dataset with no elements (no storage address), so
     * every rank skips it alike. */
    if (dataset_size(d) == 0) return RIPEN_OK;
    const hid_t file_space = H5Dget_space(d);
    hsize_t dims[8];
    H5Sget_simple_extent_dims(file_space, dims, NULL);
    void *packed = pack_rows(d, type, rank, n, dims, counts, data);
    if (!packed) {
        H5Sclose(file_space);
        return ripen_fail(RIPEN_ENOMEM, "out of memory writing the result file");
    }
    select_rows(file_space, rank, n, dims, starts);
    /* The memory space has the selection's shape: with another shape HDF5 maps every element
     * to its chunk one by one (H5S_select_iterate dominated the write). */
    hsize_t shape[8];
    for (int k = 0; k < rank; ++k) shape[k] = dims[k];
    shape[0] = n ? (hsize_t)n : 1;
    const hid_t memory_space = H5Screate_simple(rank, shape, NULL);
    if (!n) H5Sselect_none(memory_space);
    const hid_t transfer = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(transfer, H5FD_MPIO_COLLECTIVE);
    const herr_t err =
        H5Dwrite(d, h5_memory_type(type), memory_space, file_space, transfer, packed);
    H5Pclose(transfer);
    H5Sclose(memory_space);
    H5Sclose(file_space);
    free(packed);
    return err < 0 ? ripen_fail(RIPEN_EIO, "HDF5 write failed (disk full or I/O error?)")
                   : RIPEN_OK;
}

int h5_read_block(hid_t d, h5_type type, int rank, const hsize_t *start, const hsize_t *count,
                  void *data) {
    if (empty_block(rank, count)) return RIPEN_OK;
    const hid_t file_space = H5Dget_space(d);
    const htri_t fits = file_space >= 0 && H5Sget_simple_extent_ndims(file_space) == rank;
    herr_t err = -1;
    if (fits) {
        hsize_t dims[8];
        H5Sget_simple_extent_dims(file_space, dims, NULL);
        int inside = 1;
        for (int k = 0; k < rank; ++k) inside &= start[k] + count[k] <= dims[k];
        if (inside) {
            H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, NULL, count, NULL);
            const hid_t memory_space = H5Screate_simple(rank, count, NULL);
            err = H5Dread(d, h5_memory_type(type), memory_space, file_space, H5P_DEFAULT, data);
            H5Sclose(memory_space);
        }
    }
    if (file_space >= 0) H5Sclose(file_space);
    return err < 0 ? RIPEN_EIO : RIPEN_OK;
}

int h5_read_from(hid_t group, const char *name, h5_type type, int rank, const hsize_t *start,
                 const hsize_t *count, void *data) {
    const hid_t d = H5Dopen2(group, name, H5P_DEFAULT);
    if (d < 0) return RIPEN_EIO;
    const int status = h5_read_block(d, type, rank, start, count, data);
    H5Dclose(d);
    return status;
}

int64_t h5_extent(hid_t group, const char *name, int axis) {
    const hid_t d = H5Dopen2(group, name, H5P_DEFAULT);
    if (d < 0) return -1;
    const hid_t space = H5Dget_space(d);
    hsize_t dims[8];
    const int rank = space >= 0 ? H5Sget_simple_extent_dims(space, dims, NULL) : -1;
    if (space >= 0) H5Sclose(space);
    H5Dclose(d);
    return axis >= 0 && axis < rank ? (int64_t)dims[axis] : -1;
}

/* A finite solution (only with one: files without stay as they were): per component the units
 * at step 0, the reference content, the total the lattice shares with it (so that the content
 * at any sample is total - N), and the standard chemical potential mu0; the volume. */
static int reservoir_attributes(hid_t g, const system_spec *s) {
    const reservoir_spec *r = &s->reservoir;
    if (!r->given) return RIPEN_OK;
    int status = h5_attr_int(g, "reservoir_core_units", r->core_units);
    if (!status) status = h5_attr_double(g, "reservoir_core_reference", r->core_reference);
    if (!status) status = h5_attr_int(g, "reservoir_core_total", r->resolved.core.total);
    if (!status)
        status = h5_attr_double(g, "reservoir_mu0_core",
                                reservoir_spec_mu0(r, s->model.mu_core, r->core_reference));
    if (!status) status = h5_attr_double(g, "reservoir_volume", r->volume);
    if (status || !r->shell) return status;
    status = h5_attr_int(g, "reservoir_shell_units", r->shell_units);
    if (!status) status = h5_attr_double(g, "reservoir_shell_reference", r->shell_reference);
    if (!status) status = h5_attr_int(g, "reservoir_shell_total", r->resolved.shell.total);
    if (!status)
        status = h5_attr_double(g, "reservoir_mu0_shell",
                                reservoir_spec_mu0(r, s->model.mu_shell, r->shell_reference));
    return status;
}

int h5_system_attributes(hid_t g, const system_spec *s, const char *more_units) {
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
    if (!status) status = h5_attr_int(g, "threads", s->threads);
    if (!status) status = h5_attr_int(g, "core_sites_requested", s->core_sites);
    if (!status) status = h5_attr_int(g, "shell_thickness", s->shell_thickness);
    const initial_layout *l = &s->layout;
    if (!status && l->defect.sites > 0) {
        status = h5_attr_string(g, "defect_place", defect_place_names[l->defect.place]);
        if (!status) status = h5_attr_int(g, "defect_sites", l->defect.sites);
    }
    if (!status && l->nparticles > 0) {
        status = h5_attr_int(g, "particles", l->nparticles);
        if (!status) status = h5_attr_int(g, "particle_gap", l->gap);
    }
    const shell_band_spec *band = &s->shell_band;
    if (band->given) { /* only with a band: files without one stay as they were */
        char given[128];
        shell_band_describe(band, given, sizeof given);
        if (!status) status = h5_attr_string(g, "shell_band", given);
        if (!status) status = h5_attr_int(g, "shell_min", band->shell_min);
        if (!status) status = h5_attr_int(g, "shell_max", band->shell_max);
    }
    if (!status) status = reservoir_attributes(g, s);
    const int finite = s->reservoir.given;
    char units[1024];
    snprintf(units, sizeof units,
             "eps_core, eps_shell, eps_interface, mu_core, mu_shell%s: kT; lx, ly, lz, "
             "core_sites_requested, shell_thickness%s%s%s: sites; p_swap: probability per "
             "attempt; bond_neighbours: neighbours%s%s%s",
             finite ? ", reservoir_mu0_core, reservoir_mu0_shell" : "",
             l->defect.sites > 0 ? ", defect_sites" : "", l->nparticles > 0 ? ", particle_gap" : "",
             band->given ? ", shell_min, shell_max" : "",
             finite ? "; reservoir_core_units, reservoir_core_reference, reservoir_core_total and "
                      "the shell's: units (one fills one site); reservoir_volume: site volumes"
                    : "",
             more_units ? "; " : "", more_units ? more_units : "");
    if (!status) status = h5_attr_string(g, "units", units);
    return status;
}

void h5_close_datasets(const hid_t *d, int n) {
    for (int k = 0; k < n; ++k)
        if (d[k] > 0) H5Dclose(d[k]);
}
