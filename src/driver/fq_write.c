/* Storing F(q) results in the result file: /windows/<name>/fq. */
#include "h5util.h"
#include "ripen/error.h"
#include "ripen/fq.h"

#include <math.h>
#include <stdlib.h>

static int write_profile(hid_t g, const char *name, const double *data, int nq, int writer) {
    static const double fill = NAN;
    const hsize_t n[1] = {(hsize_t)nq}, start[1] = {0};
    const hid_t d =
        h5_dataset_create(g, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, n, &fill, "kT");
    if (d < 0) return ripen_fail(RIPEN_EIO, "cannot create fq/%s", name);
    const int status = writer ? h5_write_block(d, H5T_NATIVE_DOUBLE, 1, start, n, data) : RIPEN_OK;
    H5Dclose(d);
    return status;
}

static int write_one(hid_t windows_group, const window_set_spec *w, const fq_result *f,
                     int writer) {
    const hid_t set = H5Gopen2(windows_group, w->name, H5P_DEFAULT);
    const hid_t g = set < 0 ? -1 : H5Gcreate2(set, "fq", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (set >= 0) H5Gclose(set);
    if (g < 0) return ripen_fail(RIPEN_EIO, "cannot create /windows/%s/fq", w->name);
    if (f->failed) {
        const int status = h5_attr_string(g, "error", f->error);
        H5Gclose(g);
        return status;
    }
    int status = h5_attr_double(g, "mu_sampling", f->mu_sampling);
    if (!status) status = h5_attr_double(g, "mu_star", f->mu_star);
    if (!status) status = h5_attr_double(g, "mu_star_sigma", f->mu_star_sigma);
    if (!status) status = h5_attr_int(g, "q_start", f->q_start);
    if (!status) status = h5_attr_int(g, "q_end", f->q_end);
    if (!status) status = h5_attr_double(g, "barrier_wham", f->barrier_wham);
    if (!status) status = h5_attr_double(g, "barrier_wham_sigma", f->barrier_wham_sigma);
    if (!status) status = h5_attr_double(g, "barrier_mbar", f->barrier_mbar);
    if (!status) status = h5_attr_double(g, "barrier_mbar_sigma", f->barrier_mbar_sigma);
    if (!status) status = h5_attr_int(g, "wham_iterations", f->wham_iterations);
    if (!status) status = h5_attr_int(g, "wham_converged", f->wham_converged);
    if (!status) status = h5_attr_int(g, "mbar_iterations", f->mbar_iterations);
    if (!status) status = h5_attr_int(g, "mbar_converged", f->mbar_converged);
    if (!status) status = h5_attr_int(g, "bootstrap_samples", f->bootstrap_samples);
    if (!status) status = h5_attr_string(g, "warnings", f->warnings);
    if (!status)
        status = h5_attr_string(g, "convention",
                                "F at mu_star with F(q_start) = 0; F_sampling at mu_sampling "
                                "with min F = 0; sigma = bootstrap standard deviation");
    const hsize_t n[1] = {(hsize_t)f->nq}, k[1] = {(hsize_t)f->nwindows}, start[1] = {0};
    int32_t *q = malloc(sizeof *q * (size_t)(f->nq + 1));
    if (!q) status = ripen_fail(RIPEN_ENOMEM, "out of memory");
    for (int i = 0; i < f->nq && !status; ++i) q[i] = f->q_min + i;
    const hid_t dq =
        status ? -1
               : h5_dataset_create(g, "q", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, n, NULL, "sites");
    if (!status && dq < 0) status = ripen_fail(RIPEN_EIO, "cannot create fq/q");
    if (!status && writer) status = h5_write_block(dq, H5T_NATIVE_INT32, 1, start, n, q);
    if (dq >= 0) H5Dclose(dq);
    free(q);
    if (!status) status = write_profile(g, "F_sampling", f->f_sampling, f->nq, writer);
    if (!status) status = write_profile(g, "F_wham", f->f_wham, f->nq, writer);
    if (!status) status = write_profile(g, "sigma_wham", f->sigma_wham, f->nq, writer);
    if (!status) status = write_profile(g, "F_mbar", f->f_mbar, f->nq, writer);
    if (!status) status = write_profile(g, "sigma_mbar", f->sigma_mbar, f->nq, writer);
    const hid_t dg =
        status ? -1
               : h5_dataset_create(g, "inefficiency", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, k, NULL,
                                   "statistical inefficiency of q per window");
    if (!status && dg < 0) status = ripen_fail(RIPEN_EIO, "cannot create fq/inefficiency");
    if (!status && writer)
        status = h5_write_block(dg, H5T_NATIVE_DOUBLE, 1, start, k, f->inefficiency);
    if (dg >= 0) H5Dclose(dg);
    H5Gclose(g);
    return status;
}

int fq_write(hid_t windows_group, const job *j, struct fq_result *const *fq, int writer) {
    if (!fq) return RIPEN_OK;
    int status = RIPEN_OK;
    for (int w = 0; w < j->nwindow_sets && !status; ++w)
        if (fq[w]) status = write_one(windows_group, &j->window_sets[w], fq[w], writer);
    return status;
}

/* Out of memory in the middle of a broadcast cannot be reported without leaving the other
 * ranks waiting in the collective: abort (these arrays are a few kB). */
static void *allocate_or_abort(MPI_Comm comm, size_t size) {
    void *p = malloc(size);
    if (!p) MPI_Abort(comm, 3);
    return p;
}

static void broadcast_array(MPI_Comm comm, int rank, double **field, int n) {
    if (rank != 0) *field = allocate_or_abort(comm, sizeof **field * (size_t)(n + 1));
    MPI_Bcast(*field, n, MPI_DOUBLE, 0, comm);
}

int fq_broadcast(MPI_Comm comm, const job *j, fq_result **fq) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    for (int w = 0; w < j->nwindow_sets; ++w) {
        int present = rank == 0 && fq[w] != NULL;
        MPI_Bcast(&present, 1, MPI_INT, 0, comm);
        if (!present) continue;
        if (rank != 0) fq[w] = allocate_or_abort(comm, sizeof *fq[w]);
        MPI_Bcast(fq[w], sizeof *fq[w], MPI_BYTE, 0, comm);
        fq_result *f = fq[w];
        double **profiles[5] = {&f->f_sampling, &f->f_wham, &f->sigma_wham, &f->f_mbar,
                                &f->sigma_mbar};
        for (int k = 0; k < 5; ++k) broadcast_array(comm, rank, profiles[k], f->nq);
        broadcast_array(comm, rank, &f->inefficiency, f->nwindows);
    }
    return RIPEN_OK;
}
