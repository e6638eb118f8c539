/* Small HDF5 helpers shared by the result writer and F(q) (private to the driver). */
#include "h5util.h"

#include "ripen/error.h"

#include <string.h>

int h5_attr_write(hid_t loc, const char *name, hid_t type, const void *value) {
    const hid_t space = H5Screate(H5S_SCALAR);
    const hid_t attr = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    const herr_t err = attr < 0 ? -1 : H5Awrite(attr, type, value);
    if (attr >= 0) H5Aclose(attr);
    H5Sclose(space);
    return err < 0 ? ripen_fail(RIPEN_EIO, "cannot write attribute %s", name) : RIPEN_OK;
}

hid_t h5_string_type(size_t length) {
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, length > 0 ? length : 1);
    H5Tset_strpad(type, H5T_STR_NULLTERM);
    H5Tset_cset(type, H5T_CSET_UTF8);
    return type;
}

int h5_attr_string(hid_t loc, const char *name, const char *value) {
    const hid_t type = h5_string_type(strlen(value) + 1);
    const int status = h5_attr_write(loc, name, type, value);
    H5Tclose(type);
    return status;
}

int h5_attr_int(hid_t loc, const char *name, int64_t value) {
    return h5_attr_write(loc, name, H5T_NATIVE_INT64, &value);
}

int h5_attr_double(hid_t loc, const char *name, double value) {
    return h5_attr_write(loc, name, H5T_NATIVE_DOUBLE, &value);
}

/* A contiguous dataset allocated at creation (parallel HDF5 needs it) and filled with `fill`. */
hid_t h5_dataset_create(hid_t loc, const char *name, hid_t file_type, hid_t memory_type, int rank,
                        const hsize_t *dims, const void *fill, const char *units) {
    const hid_t space = H5Screate_simple(rank, dims, NULL);
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC);
    if (fill) H5Pset_fill_value(dcpl, memory_type, fill);
    const hid_t d = H5Dcreate2(loc, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(space);
    if (d >= 0 && units) h5_attr_string(d, "units", units);
    return d;
}

/* Writes `count` elements at `start` of a dataset (any rank, independent I/O). */
int h5_write_block(hid_t d, hid_t memory_type, int rank, const hsize_t *start, const hsize_t *count,
                   const void *data) {
    hsize_t total = 1;
    for (int k = 0; k < rank; ++k) total *= count[k];
    if (total == 0) return RIPEN_OK;
    const hid_t file_space = H5Dget_space(d);
    H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, NULL, count, NULL);
    const hid_t memory_space = H5Screate_simple(rank, count, NULL);
    const herr_t err = H5Dwrite(d, memory_type, memory_space, file_space, H5P_DEFAULT, data);
    H5Sclose(memory_space);
    H5Sclose(file_space);
    return err < 0 ? ripen_fail(RIPEN_EIO, "HDF5 write failed (disk full or I/O error?)")
                   : RIPEN_OK;
}

int h5_read_block(hid_t d, hid_t memory_type, int rank, const hsize_t *start, const hsize_t *count,
                  void *data) {
    hsize_t total = 1;
    for (int k = 0; k < rank; ++k) total *= count[k];
    if (total == 0) return RIPEN_OK;
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
            err = H5Dread(d, memory_type, memory_space, file_space, H5P_DEFAULT, data);
            H5Sclose(memory_space);
        }
    }
    if (file_space >= 0) H5Sclose(file_space);
    return err < 0 ? RIPEN_EIO : RIPEN_OK;
}

int h5_read_from(hid_t group, const char *name, hid_t memory_type, int rank, const hsize_t *start,
                 const hsize_t *count, void *data) {
    const hid_t d = H5Dopen2(group, name, H5P_DEFAULT);
    if (d < 0) return RIPEN_EIO;
    const int status = h5_read_block(d, memory_type, rank, start, count, data);
    H5Dclose(d);
    return status;
}

int h5_system_attributes(hid_t g, const system_spec *s) {
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
