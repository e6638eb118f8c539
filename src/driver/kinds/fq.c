/* F(q) of a window set from its windows' samples: the glue between the job and fe.h. */
#include "ripen/driver/kinds/fq.h"

#include "ripen/engine/error.h"
#include "ripen/fe/fe.h"
#include "ripen/engine/order_parameter.h"
#include "ripen/driver/kinds/windows.h"
#include "shell_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Overlap below this fraction of a window's samples draws a warning (fe_validate). */
#define FQ_MIN_OVERLAP 0.05

void fq_free(fq_result *f) {
    free(f->f_sampling), free(f->f_wham), free(f->sigma_wham), free(f->f_mbar);
    free(f->sigma_mbar), free(f->inefficiency);
    memset(f, 0, sizeof *f);
}

/* F at mu_sampling + dmu with F(q_start) = 0. */
static void reweighted_profile(const double *F, int nq, int q_min, int q_start, double dmu,
                               double *out) {
    const double origin = F[q_start - q_min];
    for (int i = 0; i < nq; ++i)
        out[i] = isfinite(F[i]) ? F[i] - origin - dmu * (double)(q_min + i - q_start) : INFINITY;
}

/* One estimator: bootstrap, balance point, reweighted profile and its errors. */
static int estimate(const fe_windows *fw, fe_method method, uint64_t seed,
                    const set_analysis_options *o, int q_start, int q_end, double *profile,
                    double *sigma, fe_balance *balance, fe_bootstrap_result *result) {
    fe_bootstrap_options options = {.method = method,
                                    .nresamples = o->bootstrap,
                                    .seed = seed,
                                    .q_ref = q_start,
                                    .solver = fe_solver_defaults()};
    options.solver.poll = o->poll, options.solver.poll_context = o->poll_context;
    int status = fe_bootstrap(fw, &options, result);
    if (!status)
        status = fe_balance_point(result->F, fw->qmin, fw->qmax, q_start, q_end, result->resamples,
                                  result->nresamples, balance);
    if (status) return status;
    const int nq = fe_grid_size(fw);
    reweighted_profile(result->F, nq, fw->qmin, q_start, balance->dmu, profile);
    /* At a fixed dmu the reweighting adds the same -dmu (q - q_start) to every resample, so the
     * spread of F(q) - F(q_start) is the bootstrap's own. */
    memcpy(sigma, result->sigma, sizeof *sigma * (size_t)nq);
    return RIPEN_OK;
}

/* Appends one warning line (fq_result.warnings: lines joined by ';' at the end). */
static void fq_warn(fq_result *out, const char *text) {
    const size_t used = strlen(out->warnings);
    snprintf(out->warnings + used, sizeof out->warnings - used, "%s\n", text);
}

/* Warnings for solves that did not converge, on the data or in resamples. */
static void warn_convergence(fq_result *out, const char *method, const fe_bootstrap_result *r) {
    char text[600], stop[300];
    if (!r->info.converged) {
        fe_describe_stop(&r->info, fe_solver_defaults().tolerance, stop, sizeof stop);
        snprintf(text, sizeof text, "%s on all the data %s: its F(q) and barrier are unreliable",
                 method, stop);
        fq_warn(out, text);
    }
    if (r->unconverged > 0) {
        snprintf(text, sizeof text,
                 "%d of %d %s bootstrap resamples did not converge (kept in the errors)",
                 r->unconverged, r->nresamples, method);
        fq_warn(out, text);
    }
}

int fq_compute(const task_set *set, task_record *const *records, uint64_t seed,
               const set_analysis_options *o, fq_result *out) {
    const int bootstrap = o->bootstrap;
    const window_set_spec *w = window_set_of(set);
    const int K = w->nwindows, nq = w->q_max - w->q_min + 1;
    memset(out, 0, sizeof *out);
    out->nq = nq, out->q_min = w->q_min, out->nwindows = K, out->bootstrap_samples = bootstrap;
    out->mu_sampling = set->system.model.mu_core;
    out->q_start = q_profile_start(w->q_min, w->q_max);
    out->q_end = out->q_start + w->layer_sites;
    if (out->q_end > w->q_max)
        return ripen_fail(RIPEN_EINVAL,
                          "windows %s: q_max = %d does not reach one full layer (q = %d + %d "
                          "sites): raise q_max or set layer_sites",
                          set->name, w->q_max, out->q_start, w->layer_sites);
    int64_t *counts = malloc(sizeof *counts * (size_t)K);
    const int32_t **samples = malloc(sizeof *samples * (size_t)K);
    int32_t *lo = malloc(sizeof *lo * (size_t)K), *hi = malloc(sizeof *hi * (size_t)K);
    double *bias = malloc(sizeof *bias * (size_t)K * (size_t)nq);
    double *profiles[5];
    for (int k = 0; k < 5; ++k) profiles[k] = malloc(sizeof(double) * (size_t)nq);
    out->inefficiency = malloc(sizeof(double) * (size_t)K);
    int status = RIPEN_OK;
    if (!counts || !samples || !lo || !hi || !bias || !profiles[0] || !profiles[1] ||
        !profiles[2] || !profiles[3] || !profiles[4] || !out->inefficiency)
        status = ripen_fail(RIPEN_ENOMEM, "out of memory computing F(q)");
    for (int k = 0; k < K && !status; ++k) {
        const window_result *x = window_result_of(records[k]);
        counts[k] = x->nq;
        samples[k] = x->q;
        lo[k] = x->lo, hi[k] = x->hi;
    }
    out->f_sampling = profiles[0], out->f_wham = profiles[1], out->sigma_wham = profiles[2];
    out->f_mbar = profiles[3], out->sigma_mbar = profiles[4];
    if (!status) status = fe_hard_wall_bias(K, w->q_min, w->q_max, lo, hi, bias);
    /* A window sampling at its own mu_k sees p(q) exp((mu_k - mu) q): a linear bias (tilt). */
    for (int k = 0; k < K && !status; ++k) {
        const double tilt = window_result_of(records[k])->mu_core - out->mu_sampling;
        if (tilt == 0.0) continue;
        for (int32_t q = lo[k]; q <= hi[k]; ++q)
            bias[(size_t)k * (size_t)nq + (size_t)(q - w->q_min)] = -tilt * q;
    }
    const fe_windows fw = {.nwindows = K,
                           .qmin = w->q_min,
                           .qmax = w->q_max,
                           .nsamples = counts,
                           .samples = (const int32_t *const *)samples,
                           .bias = bias};
    if (!status) status = fe_validate(&fw, FQ_MIN_OVERLAP, out->warnings, sizeof out->warnings);
    /* Separate bootstrap streams per window set. */
    const uint64_t set_seed = seed ^ (0x9E3779B97F4A7C15u * (uint64_t)(set->index + 1));
    fe_bootstrap_result wham = {0}, mbar = {0};
    fe_balance bw = {0}, bm = {0};
    if (!status)
        status = estimate(&fw, FE_WHAM, set_seed, o, out->q_start, out->q_end, out->f_wham,
                          out->sigma_wham, &bw, &wham);
    if (!status)
        status = estimate(&fw, FE_MBAR, set_seed, o, out->q_start, out->q_end, out->f_mbar,
                          out->sigma_mbar, &bm, &mbar);
    if (!status) {
        status = fe_reweight_mu(wham.F, w->q_min, w->q_max, 0.0, out->f_sampling);
        memcpy(out->inefficiency, wham.g, sizeof(double) * (size_t)K);
        out->mu_star = out->mu_sampling + bw.dmu, out->mu_star_sigma = bw.dmu_sd;
        out->barrier_wham = bw.barrier, out->barrier_wham_sigma = bw.barrier_sd;
        out->barrier_mbar = bm.barrier, out->barrier_mbar_sigma = bm.barrier_sd;
        out->wham_iterations = wham.info.iterations, out->wham_converged = wham.info.converged;
        out->mbar_iterations = mbar.info.iterations, out->mbar_converged = mbar.info.converged;
        warn_convergence(out, "WHAM", &wham);
        warn_convergence(out, "MBAR", &mbar);
        if (wham.short_windows > 0) {
            const size_t used = strlen(out->warnings);
            snprintf(out->warnings + used, sizeof out->warnings - used,
                     "%d window(s) hold fewer than %d bootstrap blocks of ~%g g samples: their "
                     "error bars are unreliable, sample longer\n",
                     wham.short_windows, FE_MIN_BLOCKS, FE_BLOCK_FACTOR);
        }
        /* One line for messages and the HDF5 attribute. */
        for (char *c = out->warnings; *c; ++c)
            if (*c == '\n') *c = c[1] ? ';' : '\0';
    }
    fe_bootstrap_free(&wham);
    fe_bootstrap_free(&mbar);
    free(counts), free(samples), free(lo), free(hi), free(bias);
    if (status) {
        ripen_fail_context(status, "F(q) of windows %s: ", set->name);
        fq_free(out);
    }
    return status;
}

/* Whether the windows kept their shell (shell_check.h): the warning in f->shell_warning, and at
 * the head of f->warnings when F(q) was determined. */
static void check_shell(const task_set *set, task_record *const *records, fq_result *f) {
    const window_set_spec *w = window_set_of(set);
    const shell_band band = shell_band_of(w->shell_tolerance, records[0]->shell_initial);
    shell_check c;
    shell_check_start(&c, &band);
    for (int k = 0; k < w->nwindows; ++k) {
        const window_result *x = window_result_of(records[k]);
        shell_check_series(&c, k, x->n_shell, x->nq, 1);
    }
    if (shell_check_warning(&c, "windows", f->shell_warning, sizeof f->shell_warning) && !f->failed)
        shell_warning_prepend(f->warnings, sizeof f->warnings, f->shell_warning);
}

int fq_analyze(const job *j, const task_set *set, task_loader load, void *context,
               const set_analysis_options *o, void **result) {
    const window_set_spec *ws = window_set_of(set);
    task_record *records = calloc((size_t)ws->nwindows, sizeof *records);
    task_record **pointers = calloc((size_t)ws->nwindows, sizeof *pointers);
    fq_result *f = calloc(1, sizeof *f);
    int status = records && pointers && f ? RIPEN_OK : ripen_fail(RIPEN_ENOMEM, "out of memory");
    for (int k = 0; k < ws->nwindows && !status; ++k) {
        status = task_record_init(&records[k], j, set->first_task + k);
        if (!status) status = load(context, set->first_task + k, &records[k]);
        pointers[k] = &records[k];
    }
    if (!status) {
        status = fq_compute(set, pointers, j->seed, o, f);
        if (status == RIPEN_EINVAL) { /* the data's fault, not the run's */
            f->failed = 1;
            snprintf(f->error, sizeof f->error, "%s", ripen_last_error());
            status = RIPEN_OK;
        }
        if (!status) check_shell(set, pointers, f);
    }
    if (status && f) free(f), f = NULL;
    for (int k = 0; k < ws->nwindows && records; ++k) task_record_free(&records[k]);
    free(records), free(pointers);
    *result = f;
    return status;
}

void fq_release(void *result) {
    fq_free(result);
    free(result);
}

/* ---- the cost, for `ripen check` ---- */

double fq_wham_map_terms(double nq, double shared, double n) {
    (void)n; /* WHAM works on the histograms: the samples are counted once */
    return nq * shared;
}

double fq_mbar_iteration_terms(double K, double shared, double n) {
    return n * shared * shared + K * K * K / 3; /* posteriors and Hessian; Cholesky */
}

void fq_analysis_cost(const task_set *set, int bootstrap, analysis_cost *cost) {
    const window_set_spec *w = window_set_of(set);
    const double K = w->nwindows, nq = w->q_max - w->q_min + 1;
    const double n = K * (double)window_sample_count(w);
    const double shared = ceil((double)w->width / (double)(w->width - w->overlap));
    const double wham = fq_wham_map_terms(nq, shared, n),
                 mbar = fq_mbar_iteration_terms(K, shared, n);
    const double solves = 1.0 + bootstrap, limit = fe_solver_defaults().max_iterations;
    cost->typical_terms =
        (FQ_TYPICAL_WHAM_MAPS + bootstrap * FQ_TYPICAL_RESAMPLE_WHAM_MAPS) * wham +
        solves * n /* histograms */ +
        (FQ_TYPICAL_MBAR_ITERATIONS + bootstrap * FQ_TYPICAL_RESAMPLE_MBAR_ITERATIONS) * mbar;
    cost->most_terms = solves * limit * (wham + mbar);
    snprintf(cost->what, sizeof cost->what,
             "F(q) by WHAM and by MBAR over %d windows and %.0f samples, each with %d bootstrap "
             "resamples",
             w->nwindows, n, bootstrap);
}
