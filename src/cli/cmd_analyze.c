/* `ripen analyze`: recompute F(q) in an existing result file (e.g. with more bootstrap
 * resamples, or after a change of the estimators). The file is updated through a copy that
 * replaces it only when complete, so an interrupted analyze leaves the original intact. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "ripen/engine/error.h"
#include "ripen/driver/h5out.h"
#include "ripen/driver/results.h"
#include "ripen/driver/sched.h"
#include "ripen/driver/task_kind.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char analyze_usage[] =
    "usage: ripen analyze FILE.h5 [--bootstrap B]\n"
    "\n"
    "Recomputes the analysis of every set in FILE.h5 whose tasks are all present: F(q) of a\n"
    "window set (WHAM and MBAR, bootstrap errors, balance point mu_core*, barrier), replacing\n"
    "/windows/<name>/fq; F(q) and the exchange statistics of an exchange set; the rate of a\n"
    "forward flux set; the Kaplan-Meier curve of an ensemble; and prints the results, with a\n"
    "progress line every 10 s while a solver runs. SIGTERM or SIGINT stops it (exit status 5)\n"
    "and leaves FILE.h5 as it was.\n";

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

/* Replaces the result groups of the sets' analyses in the copy `path`. */
static int rewrite_results(const char *path, const job *j, void *const *results) {
    const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_sec2(fapl);
    const hid_t file = H5Fopen(path, H5F_ACC_RDWR, fapl);
    H5Pclose(fapl);
    if (file < 0) return ripen_fail(RIPEN_EIO, "cannot open %s for writing", path);
    int status = RIPEN_OK;
    for (int s = 0; s < j->nsets && !status; ++s) {
        const task_set *set = &j->sets[s];
        if (!results[s]) continue;
        char name[JOB_NAME_CAPACITY + 64];
        snprintf(name, sizeof name, "/%s/%s", set->kind->key, set->name);
        const hid_t g = H5Gopen2(file, name, H5P_DEFAULT);
        if (g < 0) {
            status = ripen_fail(RIPEN_EIO, "%s: no group %s", path, name);
            break;
        }
        if (H5Lexists(g, set->kind->result_group, H5P_DEFAULT) > 0 &&
            H5Ldelete(g, set->kind->result_group, H5P_DEFAULT) < 0)
            status = ripen_fail(RIPEN_EIO, "cannot replace %s/%s", name, set->kind->result_group);
        if (!status) status = set->kind->h5_write_result(g, set, results[s], 1);
        H5Gclose(g);
    }
    if (H5Fclose(file) < 0 && !status) status = ripen_fail(RIPEN_EIO, "cannot close %s", path);
    return status;
}

static void print_results(const job *j, void *const *results) {
    int any = 0;
    for (int s = 0; s < j->nsets; ++s)
        if (results[s]) {
            any = 1;
            j->sets[s].kind->print_result(&j->sets[s], results[s]);
        }
    if (!any) printf("no complete set with an analysis: nothing to analyze\n");
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
    void **results = calloc((size_t)in.j.nsets + 1, sizeof *results);
    if (!results) status = ripen_fail(RIPEN_ENOMEM, "out of memory");
    sched_install_signal_handlers();
    const analysis_watch watch = {.progress_seconds = 10, .interrupted = sched_stop_signal};
    if (!status)
        status = results_analyze(&in.j, in.present, h5in_load_task, &in, (int)bootstrap, &watch,
                                 results);
    char partial[JOB_PATH_CAPACITY + 16];
    snprintf(partial, sizeof partial, "%s.partial", path);
    int any = 0;
    for (int s = 0; results && s < in.j.nsets; ++s) any |= results[s] != NULL;
    if (!status && any) status = copy_file(path, partial);
    if (!status && any) status = rewrite_results(partial, &in.j, results);
    if (!status && any && rename(partial, path) != 0)
        status = ripen_fail(RIPEN_EIO, "cannot replace %s: %s", path, strerror(errno));
    if (status && any) remove(partial);
    if (!status) print_results(&in.j, results);
    results_free(&in.j, results);
    h5in_close(&in);
    if (status == RIPEN_EINTERRUPTED)
        return ripen_fail(status, "stopped by a signal during the analysis: %s is unchanged", path),
               cli_error(status);
    return status ? cli_error(status) : RIPEN_OK;
}
