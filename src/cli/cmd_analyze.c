/* `ripen analyze`: recompute F(q) in an existing result file (e.g. with more bootstrap
 * resamples, or after a change of the estimators). The file is updated through a copy that
 * replaces it only when complete, so an interrupted analyze leaves the original intact. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "ripen/error.h"
#include "ripen/fq.h"
#include "ripen/h5out.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char analyze_usage[] =
    "usage: ripen analyze FILE.h5 [--bootstrap B]\n"
    "\n"
    "Recomputes F(q) (WHAM and MBAR, bootstrap errors, balance point mu_core*, barrier) for every\n"
    "window set in FILE.h5 whose windows are all present, replaces /windows/<name>/fq and prints\n"
    "the results.\n";

static int copy_file(const char *from, const char *to) {
    FILE *in = fopen(from, "rb");
    if (!in) return ripen_fail(RIPEN_EIO, "cannot read %s: %s", from, strerror(errno));
    FILE *out = fopen(to, "wb");
    if (!out) {
        fclose(in);
        return ripen_fail(RIPEN_EIO, "cannot create %s: %s", to, strerror(errno));
    }
    char buffer[1 << 16];
    size_t n;
    int status = RIPEN_OK;
    while (!status && (n = fread(buffer, 1, sizeof buffer, in)) > 0)
        if (fwrite(buffer, 1, n, out) != n)
            status = ripen_fail(RIPEN_EIO, "cannot write %s: %s", to, strerror(errno));
    if (ferror(in)) status = ripen_fail(RIPEN_EIO, "cannot read %s", from);
    fclose(in);
    if (fclose(out) != 0 && !status) status = ripen_fail(RIPEN_EIO, "cannot write %s", to);
    return status;
}

/* Replaces the fq groups of the copy `path`. */
static int rewrite_fq(const char *path, const job *j, fq_result **fq) {
    const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_sec2(fapl);
    const hid_t file = H5Fopen(path, H5F_ACC_RDWR, fapl);
    H5Pclose(fapl);
    if (file < 0) return ripen_fail(RIPEN_EIO, "cannot open %s for writing", path);
    const hid_t windows = H5Gopen2(file, "/windows", H5P_DEFAULT);
    int status = windows < 0 ? ripen_fail(RIPEN_EIO, "%s: no /windows group", path) : RIPEN_OK;
    for (int w = 0; w < j->nwindow_sets && !status; ++w) {
        char link[JOB_NAME_CAPACITY + 8];
        snprintf(link, sizeof link, "%s/fq", j->window_sets[w].name);
        if (fq[w] && H5Lexists(windows, link, H5P_DEFAULT) > 0 &&
            H5Ldelete(windows, link, H5P_DEFAULT) < 0)
            status = ripen_fail(RIPEN_EIO, "cannot replace /windows/%s", link);
    }
    if (!status) status = fq_write(windows, j, fq, 1);
    if (windows >= 0) H5Gclose(windows);
    if (H5Fclose(file) < 0 && !status) status = ripen_fail(RIPEN_EIO, "cannot close %s", path);
    return status;
}

static void print_fq(const job *j, fq_result **fq) {
    int any = 0;
    for (int w = 0; w < j->nwindow_sets; ++w) {
        if (!fq[w]) continue;
        any = 1;
        const fq_result *f = fq[w];
        if (f->failed) {
            printf("%s: F(q) not determined: %s\n", j->window_sets[w].name, f->error);
            continue;
        }
        printf("%s: mu_core* = %.4f +- %.4f kT (sampled at %.4f); one layer = q %d..%d\n",
               j->window_sets[w].name, f->mu_star, f->mu_star_sigma, f->mu_sampling, f->q_start,
               f->q_end);
        printf("  barrier %.3f +- %.3f kT (WHAM, %d iterations%s), %.3f +- %.3f kT (MBAR, %d "
               "iterations%s)\n",
               f->barrier_wham, f->barrier_wham_sigma, f->wham_iterations,
               f->wham_converged ? "" : ", NOT converged", f->barrier_mbar, f->barrier_mbar_sigma,
               f->mbar_iterations, f->mbar_converged ? "" : ", NOT converged");
        if (f->warnings[0]) printf("  warning: %s\n", f->warnings);
        printf("  %6s %12s %10s %12s %10s\n", "q", "F_wham", "sigma", "F_mbar", "sigma");
        for (int i = 0; i < f->nq; ++i)
            printf("  %6d %12.4f %10.4f %12.4f %10.4f\n", f->q_min + i, f->f_wham[i],
                   f->sigma_wham[i], f->f_mbar[i], f->sigma_mbar[i]);
    }
    if (!any) printf("no complete window set: nothing to analyze\n");
}

int analyze_main(int argc, char **argv) {
    const char *path = NULL;
    int64_t bootstrap = 200;
    int status = RIPEN_OK;
    for (int k = 1; k < argc && !status; ++k) {
        const char *v;
        if (strcmp(argv[k], "--help") == 0) {
            fputs(analyze_usage, stdout);
            return RIPEN_OK;
        } else if (strcmp(argv[k], "--bootstrap") == 0) {
            if (!(status = cli_value(argc, argv, &k, &v)))
                status = cli_parse_int("--bootstrap", v, 2, 100000, &bootstrap);
        } else if (argv[k][0] == '-' && argv[k][1]) {
            status = ripen_fail(RIPEN_EINVAL, "analyze: unknown option %s", argv[k]);
        } else if (path) {
            status = ripen_fail(RIPEN_EINVAL, "analyze: one file at a time");
        } else {
            path = argv[k];
        }
    }
    if (!status && !path) status = ripen_fail(RIPEN_EINVAL, "analyze: no result file given");
    if (status) return cli_error(status);
    h5out_quiet_errors();
    h5in in;
    if ((status = h5in_open(&in, path))) return cli_error(status);
    fq_result **fq = calloc((size_t)in.j.nwindow_sets + 1, sizeof *fq);
    if (!fq) status = ripen_fail(RIPEN_ENOMEM, "out of memory");
    if (!status)
        status = fq_compute_all(&in.j, in.present, h5in_load_task, &in, (int)bootstrap, fq);
    char partial[JOB_PATH_CAPACITY + 16];
    snprintf(partial, sizeof partial, "%s.partial", path);
    int any = 0;
    for (int w = 0; fq && w < in.j.nwindow_sets; ++w) any |= fq[w] != NULL;
    if (!status && any) status = copy_file(path, partial);
    if (!status && any) status = rewrite_fq(partial, &in.j, fq);
    if (!status && any && rename(partial, path) != 0)
        status = ripen_fail(RIPEN_EIO, "cannot replace %s: %s", path, strerror(errno));
    if (status && any) remove(partial);
    if (!status) print_fq(&in.j, fq);
    for (int w = 0; fq && w < in.j.nwindow_sets; ++w)
        if (fq[w]) fq_free(fq[w]), free(fq[w]);
    free(fq);
    h5in_close(&in);
    return status ? cli_error(status) : RIPEN_OK;
}
