/* Storing F(q) results in the result file: /windows/<name>/fq. */
#include "h5util.h"
#include "ripen/engine/error.h"
#include "ripen/driver/kinds/fq.h"
#include "ripen/driver/kinds/windows.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int write_profile(hid_t g, const char *name, const char *description, const double *data,
                         int nq, int writer) {
    static const double fill = NAN;
    const hsize_t n[1] = {(hsize_t)nq}, start[1] = {0};
    const hid_t d = h5_dataset(g, &(h5_dataset_info){.name = name,
                                                     .type = H5_F64,
                                                     .rank = 1,
                                                     .dims = {n[0]},
                                                     .fill = &fill,
                                                     .units = "kT",
                                                     .description = description});
    if (d < 0) return ripen_fail(RIPEN_EIO, "cannot create fq/%s", name);
    const int status = writer ? h5_write_block(d, H5_F64, 1, start, n, data) : RIPEN_OK;
    H5Dclose(d);
    return status;
}

int fq_write(hid_t set_group, const task_set *set, const void *result, int writer) {
    const fq_result *f = result;
    const hid_t g = h5_group_create(set_group, "fq",
                                    "F(q): the free energy of adding q core sites, from the "
                                    "windows (docs/free-energy.md)");
    if (g < 0) return ripen_fail(RIPEN_EIO, "cannot create /windows/%s/fq", set->name);
    if (f->failed) {
        int status = h5_attr_string(g, "error", f->error);
        if (!status) status = h5_attr_string(g, "shell_warning", f->shell_warning);
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
    if (!status) status = h5_attr_string(g, "shell_warning", f->shell_warning);
    if (!status)
        status = h5_attr_string(g, "units",
                                "mu_sampling, mu_star, mu_star_sigma, barrier_*: kT; q_start, "
                                "q_end: sites of q");
    if (!status)
        status = h5_attr_string(g, "convention",
                                "F at mu_star with F(q_start) = 0; F_sampling at mu_sampling "
                                "with min F = 0; sigma = bootstrap standard deviation");
    const hsize_t n[1] = {(hsize_t)f->nq}, k[1] = {(hsize_t)f->nwindows}, start[1] = {0};
    int32_t *q = malloc(sizeof *q * (size_t)(f->nq + 1));
    if (!q) status = ripen_fail(RIPEN_ENOMEM, "out of memory");
    for (int i = 0; i < f->nq && !status; ++i) q[i] = f->q_min + i;
    const hid_t dq = status ? -1
                            : h5_dataset(g, &(h5_dataset_info){.name = "q",
                                                               .type = H5_I32,
                                                               .rank = 1,
                                                               .dims = {n[0]},
                                                               .units = "sites",
                                                               .description = "the q grid"});
    if (!status && dq < 0) status = ripen_fail(RIPEN_EIO, "cannot create fq/q");
    if (!status && writer) status = h5_write_block(dq, H5_I32, 1, start, n, q);
    if (dq >= 0) H5Dclose(dq);
    free(q);
    static const struct {
        const char *name, *description;
    } profiles[5] = {
        {"F_sampling", "WHAM F(q) at mu_sampling, min F = 0"},
        {"F_wham", "WHAM F(q) at mu_star, F(q_start) = 0"},
        {"sigma_wham", "bootstrap standard deviation of F_wham - F_wham(q_start)"},
        {"F_mbar", "MBAR F(q) at mu_star, F(q_start) = 0"},
        {"sigma_mbar", "bootstrap standard deviation of F_mbar - F_mbar(q_start)"},
    };
    const double *data[5] = {f->f_sampling, f->f_wham, f->sigma_wham, f->f_mbar, f->sigma_mbar};
    for (int p = 0; p < 5 && !status; ++p)
        status =
            write_profile(g, profiles[p].name, profiles[p].description, data[p], f->nq, writer);
    const hid_t dg =
        status ? -1
               : h5_dataset(g, &(h5_dataset_info){.name = "inefficiency",
                                                  .type = H5_F64,
                                                  .rank = 1,
                                                  .dims = {k[0]},
                                                  .description =
                                                      "statistical inefficiency g of each window's "
                                                      "q series (samples per independent sample)"});
    if (!status && dg < 0) status = ripen_fail(RIPEN_EIO, "cannot create fq/inefficiency");
    if (!status && writer) status = h5_write_block(dg, H5_F64, 1, start, k, f->inefficiency);
    if (dg >= 0) H5Dclose(dg);
    H5Gclose(g);
    return status;
}

/* Everything rank 0 computed, for the other ranks: the file's collective metadata must be
 * identical everywhere. */
void fq_code(codec *c, const task_set *set, void **result) {
    (void)set;
    if (!c->writing && !c->status && !(*result = calloc(1, sizeof(fq_result))))
        c->status = RIPEN_ENOMEM;
    if (!c->status) fq_code_fields(c, *result);
}

void fq_code_fields(codec *c, fq_result *f) {
    if (c->status) return;
    fq_result fixed = *f; /* the scalars and strings, pointers excluded */
    fixed.f_sampling = fixed.f_wham = fixed.sigma_wham = fixed.f_mbar = fixed.sigma_mbar = NULL;
    fixed.inefficiency = NULL;
    codec_scalar(c, &fixed, sizeof fixed);
    if (!c->writing) *f = fixed; /* arrays allocated as they are read */
    if (f->failed) return;
    double **const profiles[5] = {&f->f_sampling, &f->f_wham, &f->sigma_wham, &f->f_mbar,
                                  &f->sigma_mbar};
    for (int k = 0; k < 5; ++k) {
        int64_t capacity = c->writing ? f->nq : 0;
        codec_array(c, (void **)profiles[k], sizeof(double), f->nq, &capacity, f->nq);
    }
    int64_t capacity = c->writing ? f->nwindows : 0;
    codec_array(c, (void **)&f->inefficiency, sizeof(double), f->nwindows, &capacity, f->nwindows);
}

void fq_format(char *out, size_t capacity, double value, double sigma, int decimals) {
    if (!isfinite(value))
        snprintf(out, capacity, "undetermined");
    else if (!isfinite(sigma))
        snprintf(out, capacity, "%.*f kT (error undetermined: no usable bootstrap resample)",
                 decimals, value);
    else
        snprintf(out, capacity, "%.*f +- %.*f kT", decimals, value, decimals, sigma);
}

/* A profile column entry: the number, or n/a where it is not finite. */
static void print_entry(double value, int width) {
    if (isfinite(value))
        printf(" %*.4f", width, value);
    else
        printf(" %*s", width, "n/a");
}

void fq_print(const task_set *set, const void *result) {
    const fq_result *f = result;
    if (f->failed) {
        printf("%s: F(q) not determined: %s\n", set->name, f->error);
        if (f->shell_warning[0]) printf("  warning: %s\n", f->shell_warning);
        return;
    }
    char mu[128], wham[128], mbar[128];
    fq_format(mu, sizeof mu, f->mu_star, f->mu_star_sigma, 4);
    fq_format(wham, sizeof wham, f->barrier_wham, f->barrier_wham_sigma, 3);
    fq_format(mbar, sizeof mbar, f->barrier_mbar, f->barrier_mbar_sigma, 3);
    printf("%s: mu_core* = %s (sampled at %.4f); one layer = q %d..%d\n", set->name, mu,
           f->mu_sampling, f->q_start, f->q_end);
    printf("  barrier %s (WHAM, %d iterations%s), %s (MBAR, %d iterations%s)\n", wham,
           f->wham_iterations, f->wham_converged ? "" : ", NOT converged", mbar, f->mbar_iterations,
           f->mbar_converged ? "" : ", NOT converged");
    if (f->warnings[0]) printf("  warning: %s\n", f->warnings);
    printf("  %6s %12s %10s %12s %10s   (n/a: q not sampled, or no error)\n", "q", "F_wham",
           "sigma", "F_mbar", "sigma");
    for (int i = 0; i < f->nq; ++i) {
        printf("  %6d", f->q_min + i);
        print_entry(f->f_wham[i], 12), print_entry(f->sigma_wham[i], 10);
        print_entry(f->f_mbar[i], 12), print_entry(f->sigma_mbar[i], 10);
        printf("\n");
    }
}
