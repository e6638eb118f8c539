/* Forward flux sampling's rate (ffs.h): k = Φ_0 Π P_i with two errors, Allen, Frenkel and ten
 * Wolde's propagation (J. Chem. Phys. 124, 194111 (2006)) and a bootstrap over the stage-0
 * walkers (each with every shot descending from its crossings, so that the shared ancestry of
 * shots is resampled with it); the diagnostics; a few complete transition paths. */
#include "ffs_internal.h"

#include "ripen/engine/error.h"
#include "ripen/engine/philox.h"
#include "shell_check.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LN2 0.69314718055994530942 /* an exponential wait's median is ln 2 / k */

/* Below this many walkers with crossings the bootstrap's 95% interval is called rough. */
enum { FFS_ROUGH_WALKERS = 10 };
/* The fraction of λ_0's crossings that reach the target from which the walkers' own excursions
 * say the transition is not rare from the basin. */
#define FFS_NOT_RARE 0.1

/* Every record of the set, loaded once. */
typedef struct {
    task_record *records;
    int64_t count, first;
} set_records;

static void records_free(set_records *s) {
    for (int64_t k = 0; s->records && k < s->count; ++k) task_record_free(&s->records[k]);
    free(s->records);
}

static int records_load(const job *j, const task_set *set, task_loader load, void *context,
                        set_records *s) {
    *s = (set_records){.count = set->ntasks, .first = set->first_task};
    s->records = calloc((size_t)s->count, sizeof *s->records);
    if (!s->records) return ripen_fail(RIPEN_ENOMEM, "out of memory for the ffs records");
    int status = RIPEN_OK;
    for (int64_t k = 0; k < s->count && !status; ++k) {
        status = task_record_init(&s->records[k], j, set->first_task + k);
        if (!status) status = load(context, set->first_task + k, &s->records[k]);
    }
    return status;
}

static const ffs_result *result_of(const set_records *s, int64_t id) {
    return s->records[id - s->first].data;
}

/* ---- the estimate, for given walker weights (1 each, or a bootstrap's multiplicities) ---- */

typedef struct {
    double crossings, time;
    double trials[FFS_MAX_INTERFACES], successes[FFS_MAX_INTERFACES];
} tallies;

static void tally(const task_set *set, const set_records *s, const double *weight, tallies *t) {
    const ffs_spec *f = ffs_of(set);
    memset(t, 0, sizeof *t);
    for (int w = 0; w < f->walkers; ++w) {
        const ffs_result *x = s->records[w].data;
        t->crossings += weight[w] * (double)x->crossings;
        t->time += weight[w] * x->time;
    }
    for (int64_t k = f->walkers; k < s->count; ++k) {
        const ffs_result *x = s->records[k].data;
        for (int64_t n = 0; n < x->nshots; ++n) {
            const double m = weight[x->shot_root[n] - s->first];
            t->trials[x->stage - 1] += m;
            t->successes[x->stage - 1] += m * (x->shot_outcome[n] == FFS_SUCCESS);
        }
    }
}

/* k from tallies; NAN where an interface has no trial. */
static double rate_of(const tallies *t, int n) {
    if (!(t->time > 0)) return NAN;
    double k = t->crossings / t->time;
    for (int i = 0; i < n; ++i) {
        if (!(t->trials[i] > 0)) return NAN;
        k *= t->successes[i] / t->trials[i];
    }
    return k;
}

static int by_value(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- transition paths' lengths ---- */

/* Every complete path (a configuration stored at the target, followed back to its walker's
 * crossing of λ_0): the walker it descends from and its length, the summed lengths of the shots
 * that carried it from interface to interface. In FFS each of them weighs the same. */
typedef struct {
    int64_t count;
    int64_t *root;
    double *length;
} path_lengths;

static void path_lengths_free(path_lengths *p) {
    free(p->root), free(p->length);
    *p = (path_lengths){0};
}

/* Per task: the length of the shot that stored each configuration (0 for a walker's crossing).
 * A shot task stores a configuration for each success, in order. */
static double **config_lengths(const set_records *s) {
    double **lengths = calloc((size_t)s->count, sizeof *lengths);
    for (int64_t k = 0; lengths && k < s->count; ++k) {
        const ffs_result *x = s->records[k].data;
        double *l = calloc((size_t)(x->nconfigs ? x->nconfigs : 1), sizeof *l);
        if (!(lengths[k] = l)) return lengths; /* the caller sees the NULL */
        for (int64_t n = 0, c = 0; x->stage > 0 && n < x->nshots && c < x->nconfigs; ++n)
            if (x->shot_outcome[n] == FFS_SUCCESS) l[c++] = x->shot_steps[n];
    }
    return lengths;
}

static int trace_lengths(const task_set *set, const set_records *s, path_lengths *p) {
    const ffs_spec *f = ffs_of(set);
    *p = (path_lengths){0};
    const int64_t last = ffs_stage_first(set, f->ninterfaces) - s->first;
    int64_t total = 0;
    for (int64_t k = last; k < s->count; ++k)
        total += ((const ffs_result *)s->records[k].data)->nconfigs;
    double **lengths = config_lengths(s);
    p->root = malloc(sizeof *p->root * (size_t)(total ? total : 1));
    p->length = malloc(sizeof *p->length * (size_t)(total ? total : 1));
    int status = lengths && p->root && p->length ? RIPEN_OK : RIPEN_ENOMEM;
    for (int64_t k = 0; lengths && k < s->count; ++k)
        if (!lengths[k]) status = RIPEN_ENOMEM;
    for (int64_t k = last; !status && k < s->count; ++k) {
        const ffs_result *x = s->records[k].data;
        for (int64_t c = 0; !status && c < x->nconfigs; ++c) {
            double length = 0;
            int64_t task = s->first + k, index = c;
            while (task >= 0 && !status) {
                const int64_t local = task - s->first;
                const ffs_result *y =
                    local >= 0 && local < s->count ? s->records[local].data : NULL;
                if (!y || index < 0 || index >= y->nconfigs) {
                    status = ripen_fail(RIPEN_EIO, "ffs: a broken path");
                    break;
                }
                length += lengths[local][index];
                task = y->config_parent_task[index], index = y->config_parent_index[index];
            }
            p->root[p->count] = x->config_root[c], p->length[p->count++] = length;
        }
    }
    for (int64_t k = 0; lengths && k < s->count; ++k) free(lengths[k]);
    free(lengths);
    if (status == RIPEN_ENOMEM) status = ripen_fail(RIPEN_ENOMEM, "out of memory for the paths");
    if (status) path_lengths_free(p);
    return status;
}

/* The paths' mean length with walker weights; NaN without a path. */
static double mean_length(const path_lengths *p, const set_records *s, const double *weight) {
    double sum = 0, n = 0;
    for (int64_t m = 0; m < p->count; ++m) {
        const double w = weight[p->root[m] - s->first];
        sum += w * p->length[m], n += w;
    }
    return n > 0 ? sum / n : NAN;
}

/* A mean first passage from the rate and the transit: infinite for k = 0 (resamples in which
 * no path reached the target). */
static double passage_of(double k, double transit) {
    if (!(k > 0)) return INFINITY;
    return 1.0 / k + (isfinite(transit) ? transit : 0.0);
}

static double lower_point(const double *sorted, int n) {
    return sorted[(int)floor(0.025 * (n - 1))];
}

static double upper_point(const double *sorted, int n) {
    return sorted[(int)ceil(0.975 * (n - 1))];
}

/* The 2.5% and 97.5% points of the bootstrap rates and first passages, resampling the walkers
 * with every shot and path descending from them (resamples whose rate is undefined count as
 * k = 0: an interface none of the resampled walkers' shots reached). No interval (NaN) from
 * fewer than 2 resamples or fewer than 2 walkers that crossed λ_0: every resample would then
 * hold the same crossings. */
static void bootstrap(const job *j, const task_set *set, const set_records *s,
                      const path_lengths *paths, int resamples, ffs_rate *out) {
    const ffs_spec *f = ffs_of(set);
    out->rate_lower = out->rate_upper = out->passage_lower = out->passage_upper = NAN;
    if (resamples < 2 || out->walkers_crossing < 2) return;
    double *weight = calloc((size_t)s->count, sizeof *weight);
    double *rates = malloc(sizeof *rates * (size_t)resamples);
    double *passages = malloc(sizeof *passages * (size_t)resamples);
    if (!weight || !rates || !passages) {
        free(weight), free(rates), free(passages);
        return;
    }
    philox_stream p;
    for (int b = 0; b < resamples; ++b) {
        memset(weight, 0, sizeof *weight * (size_t)s->count);
        philox_stream_init(&p, philox_key_from_seed(j->seed), (uint64_t)b,
                           (uint32_t)set->first_task, PURPOSE_FFS_BOOTSTRAP);
        for (int w = 0; w < f->walkers; ++w)
            weight[philox_uniform_below(philox_stream_next(&p), (uint32_t)f->walkers, &p)] += 1;
        tallies t;
        tally(set, s, weight, &t);
        const double k = rate_of(&t, f->ninterfaces);
        rates[b] = isfinite(k) ? k : 0.0;
        passages[b] = passage_of(rates[b], mean_length(paths, s, weight));
    }
    qsort(rates, (size_t)resamples, sizeof *rates, by_value);
    qsort(passages, (size_t)resamples, sizeof *passages, by_value);
    out->rate_lower = lower_point(rates, resamples),
    out->rate_upper = upper_point(rates, resamples);
    out->passage_lower = lower_point(passages, resamples);
    out->passage_upper = upper_point(passages, resamples);
    free(weight), free(rates), free(passages);
}

/* ---- diagnostics ---- */

static void warn(ffs_rate *out, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void warn(ffs_rate *out, const char *format, ...) {
    const size_t used = strlen(out->warnings);
    if (used + 2 >= sizeof out->warnings) return;
    if (used) out->warnings[used] = ';', out->warnings[used + 1] = ' ', out->warnings[used + 2] = 0;
    va_list args;
    va_start(args, format);
    vsnprintf(out->warnings + strlen(out->warnings), sizeof out->warnings - strlen(out->warnings),
              format, args);
    va_end(args);
}

typedef struct {
    int64_t task, index, success;
} shot_key;

static int by_source(const void *a, const void *b) {
    const shot_key *x = a, *y = b;
    if (x->task != y->task) return (x->task > y->task) - (x->task < y->task);
    return (x->index > y->index) - (x->index < y->index);
}

/* Over-dispersion of the successes by starting configuration: Pearson's chi-square of the
 * per-configuration counts against one common P, as a z score (Wilson-Hilferty). Binomial
 * spread gives z ~ N(0, 1); a large z says the outcome depends on something about the start
 * that λ does not measure. */
static double dispersion(const set_records *s, int stage, double p) {
    if (!(p > 0 && p < 1)) return NAN;
    /* group the stage's shots by source: sort (task, index) keys */
    int64_t total = 0;
    for (int64_t k = 0; k < s->count; ++k) {
        const ffs_result *x = s->records[k].data;
        if (x->stage == stage) total += x->nshots;
    }
    shot_key *shots = malloc(sizeof *shots * (size_t)(total ? total : 1));
    if (!shots) return NAN;
    int64_t m = 0;
    for (int64_t k = 0; k < s->count; ++k) {
        const ffs_result *x = s->records[k].data;
        if (x->stage != stage) continue;
        for (int64_t n = 0; n < x->nshots; ++n)
            shots[m++] = (shot_key){x->shot_source_task[n], x->shot_source_index[n],
                                    x->shot_outcome[n] == FFS_SUCCESS};
    }
    qsort(shots, (size_t)m, sizeof *shots, by_source);
    double chi2 = 0;
    int64_t groups = 0;
    for (int64_t a = 0; a < m;) {
        int64_t b = a, successes = 0;
        for (; b < m && shots[b].task == shots[a].task && shots[b].index == shots[a].index; ++b)
            successes += shots[b].success;
        const double n = (double)(b - a), expected = n * p;
        chi2 +=
            ((double)successes - expected) * ((double)successes - expected) / (expected * (1 - p));
        ++groups;
        a = b;
    }
    free(shots);
    const double df = (double)groups - 1;
    if (df < 4) return NAN; /* too few starting configurations to tell */
    const double c = 2.0 / (9.0 * df);
    return (cbrt(chi2 / df) - (1 - c)) / sqrt(c);
}

/* ---- transition paths ---- */

/* Up to `paths` successes at the target, each followed back through its parents to the walker's
 * crossing of λ_0: the configurations at λ_0 .. λ_n. */
static int trace_paths(const task_set *set, const set_records *s, ffs_rate *out) {
    const ffs_spec *f = ffs_of(set);
    const int n = f->ninterfaces;
    const int64_t nsites = s->records[0].nsites;
    out->nsites = nsites;
    out->paths = malloc((size_t)(f->paths ? f->paths : 1) * (size_t)(n + 1) * (size_t)nsites);
    out->path_lambda = malloc(sizeof(int64_t) * (size_t)(f->paths ? f->paths : 1) * (n + 1));
    if (!out->paths || !out->path_lambda)
        return ripen_fail(RIPEN_ENOMEM, "out of memory for paths");
    const int64_t last = ffs_stage_first(set, n);
    for (int64_t k = last - s->first; k < s->count && out->npaths < f->paths; ++k) {
        const ffs_result *x = s->records[k].data;
        for (int64_t c = 0; c < x->nconfigs && out->npaths < f->paths; ++c) {
            int64_t task = s->first + k, index = c;
            for (int i = n; i >= 0; --i) {
                const ffs_result *y = result_of(s, task);
                const size_t at = ((size_t)out->npaths * (size_t)(n + 1) + (size_t)i);
                memcpy(out->paths + at * (size_t)nsites, y->configs + index * nsites,
                       (size_t)nsites);
                out->path_lambda[at] = y->config_lambda[index];
                const int64_t parent = y->config_parent_task[index];
                index = y->config_parent_index[index];
                task = parent;
                if (i > 0 && task < 0) return ripen_fail(RIPEN_EIO, "ffs: a broken path");
            }
            out->npaths++;
        }
    }
    return RIPEN_OK;
}

/* ---- the analysis ---- */

static void estimate(const task_set *set, const set_records *s, const path_lengths *paths,
                     ffs_rate *out) {
    const ffs_spec *f = ffs_of(set);
    const int n = f->ninterfaces;
    double *ones = malloc(sizeof *ones * (size_t)s->count);
    if (!ones) return;
    for (int64_t k = 0; k < s->count; ++k) ones[k] = 1.0;
    tallies t;
    tally(set, s, ones, &t);
    out->transit = mean_length(paths, s, ones);
    free(ones);
    out->n = n;
    out->flux_crossings = (int64_t)t.crossings, out->flux_time = t.time;
    out->flux = t.time > 0 ? t.crossings / t.time : NAN;
    out->cumulative[0] = 1.0;
    double relative = out->flux_crossings > 0 ? 1.0 / (double)out->flux_crossings : INFINITY;
    for (int i = 0; i < n; ++i) {
        out->trials[i] = (int64_t)t.trials[i], out->successes[i] = (int64_t)t.successes[i];
        out->p[i] = t.trials[i] > 0 ? t.successes[i] / t.trials[i] : NAN;
        out->p_sigma[i] = t.trials[i] > 0 ? sqrt(out->p[i] * (1 - out->p[i]) / t.trials[i]) : NAN;
        out->cumulative[i + 1] = out->cumulative[i] * out->p[i];
        relative += (1 - out->p[i]) / (out->p[i] * t.trials[i]);
        out->dispersion_z[i] = dispersion(s, i + 1, out->p[i]);
    }
    out->rate = rate_of(&t, n);
    out->determined = isfinite(out->rate) && out->rate > 0;
    out->rate_sigma = out->determined ? out->rate * sqrt(relative) : NAN;
    out->passage = out->determined ? passage_of(out->rate, out->transit) : NAN;
    for (int w = 0; w < f->walkers; ++w)
        out->walkers_crossing += ((const ffs_result *)s->records[w].data)->crossings > 0;
}

static void diagnose(const task_set *set, const set_records *s, ffs_rate *out) {
    const ffs_spec *f = ffs_of(set);
    int64_t resets = 0, short_walkers = 0;
    for (int w = 0; w < f->walkers; ++w) {
        const ffs_result *x = s->records[w].data;
        resets += x->resets;
        short_walkers += x->crossings < ffs_walker_quota(f, w);
    }
    for (int64_t k = f->walkers; k < s->count; ++k) {
        const ffs_result *x = s->records[k].data;
        for (int64_t n = 0; n < x->nshots; ++n)
            out->undecided[x->stage - 1] += x->shot_outcome[n] == FFS_UNDECIDED;
    }
    if (short_walkers)
        warn(out,
             "%lld walker(s) stopped at max_walker_steps before their share of crossings "
             "(%lld of %d made none)",
             (long long)short_walkers, (long long)(f->walkers - out->walkers_crossing), f->walkers);
    if (out->walkers_crossing < 2)
        warn(out,
             "no 95%% interval: %lld walker(s) crossed λ_0, and the bootstrap resamples "
             "walkers",
             (long long)out->walkers_crossing);
    else if (out->walkers_crossing < FFS_ROUGH_WALKERS)
        warn(out,
             "the 95%% interval resamples only %lld walkers that crossed λ_0: it is rough "
             "(a percentile bootstrap over fewer than %d units undercovers)",
             (long long)out->walkers_crossing, FFS_ROUGH_WALKERS);
    /* not a bias (the flux leaves those excursions out) but a question of cost: interfaces
     * past λ_0 save little when a tenth or more of its crossings go on to the target */
    if (out->flux_crossings > 0 && (double)resets >= FFS_NOT_RARE * (double)out->flux_crossings)
        warn(out,
             "walkers went on to the target from %lld of their %lld crossings of λ_0 (each put "
             "back in A, its excursion left out of the flux time): the transition is not rare "
             "from the basin, and brute force may be as cheap",
             (long long)resets, (long long)out->flux_crossings);
    for (int i = 0; i < out->n; ++i) {
        if (out->successes[i] < 10)
            warn(out, "interface %d (λ = %lld): only %lld successes of %lld trials", i + 1,
                 (long long)f->lambda[i + 1], (long long)out->successes[i],
                 (long long)out->trials[i]);
        if (out->undecided[i])
            warn(out, "interface %d: %lld shot(s) hit max_shot_steps (counted as failures)", i + 1,
                 (long long)out->undecided[i]);
        if (out->dispersion_z[i] > 2.33)
            warn(out,
                 "P_%d depends on the starting configuration beyond binomial spread (z = %.1f): "
                 "λ may miss a slow variable",
                 i, out->dispersion_z[i]);
    }
    if (!out->determined) warn(out, "no rate: an interface was never reached");
}

/* Whether the configurations each stage stored kept the initial particle's shell: a rate of
 * growth "through the shell" measured on a particle that lost it is another rate. */
static void check_shell(const task_set *set, const set_records *s, ffs_rate *out) {
    const ffs_spec *f = ffs_of(set);
    const shell_band band = shell_band_of(f->shell_tolerance, f->initial_shell);
    shell_check c;
    shell_check_start(&c, &band);
    for (int stage = 0; stage <= f->ninterfaces; ++stage) {
        shell_tally t = shell_tally_start();
        for (int64_t k = 0; k < s->count; ++k) {
            const ffs_result *x = s->records[k].data;
            for (int64_t n = 0; x->stage == stage && n < x->nconfigs; ++n)
                shell_tally_add(&t, &band, x->config_shell[n]);
        }
        shell_check_group(&c, stage, &t);
    }
    if (shell_check_warning(&c, "stages' stored configurations", out->shell_warning,
                            sizeof out->shell_warning))
        shell_warning_prepend(out->warnings, sizeof out->warnings, out->shell_warning);
}

int ffs_analyze(const job *j, const task_set *set, task_loader load, void *context,
                const set_analysis_options *o, void **result) {
    ffs_rate *out = calloc(1, sizeof *out);
    if (!out) return ripen_fail(RIPEN_ENOMEM, "out of memory");
    set_records s;
    path_lengths lengths = {0};
    int status = records_load(j, set, load, context, &s);
    if (!status) status = trace_lengths(set, &s, &lengths);
    if (!status) status = analysis_poll(o, "the rate", 0);
    if (!status) {
        estimate(set, &s, &lengths, out);
        out->bootstrap = o->bootstrap;
        bootstrap(j, set, &s, &lengths, o->bootstrap, out);
        diagnose(set, &s, out);
        check_shell(set, &s, out);
        status = trace_paths(set, &s, out);
        out->mfpt = 1.0 / out->rate;
        out->mfpt_lower = 1.0 / out->rate_upper, out->mfpt_upper = 1.0 / out->rate_lower;
        out->median = LN2 * out->mfpt;
        out->median_lower = LN2 * out->mfpt_lower, out->median_upper = LN2 * out->mfpt_upper;
    }
    path_lengths_free(&lengths);
    records_free(&s);
    if (status) {
        ffs_free_result(out);
        out = NULL;
    }
    *result = out;
    return status;
}

void ffs_free_result(void *result) {
    ffs_rate *r = result;
    if (!r) return;
    free(r->paths), free(r->path_lambda), free(r);
}

void ffs_code_result(codec *c, const task_set *set, void **result) {
    (void)set;
    if (!c->writing && !c->status && !(*result = calloc(1, sizeof(ffs_rate))))
        c->status = RIPEN_ENOMEM;
    if (c->status) return;
    ffs_rate *r = *result;
    ffs_rate fixed = *r;
    fixed.paths = NULL, fixed.path_lambda = NULL;
    codec_scalar(c, &fixed, sizeof fixed);
    if (!c->writing) *r = fixed;
    const int64_t configs = (int64_t)r->npaths * (r->n + 1);
    int64_t room = c->writing ? configs : 0;
    codec_array(c, (void **)&r->paths, (size_t)r->nsites, configs, &room, configs);
    room = c->writing ? configs : 0;
    codec_array(c, (void **)&r->path_lambda, 8, configs, &room, configs);
}

static void print_line(const task_set *set, const ffs_rate *r) {
    if (!r->determined) {
        printf("  ffs %-23s no rate (see the warning)\n", set->name);
        return;
    }
    char interval[96] = " (no 95% interval: see the warning)", passage[96] = "";
    if (!isnan(r->rate_lower)) {
        snprintf(interval, sizeof interval, " [%.4g, %.4g]", r->rate_lower, r->rate_upper);
        snprintf(passage, sizeof passage, " [%.4g, %.4g]", r->passage_lower, r->passage_upper);
    }
    printf("  ffs %-23s k = %.4g per MC step%s; mean first passage 1/k + transit = %.4g + %.3g "
           "= %.4g MC steps%s\n",
           set->name, r->rate, interval, r->mfpt, r->transit, r->passage, passage);
}

void ffs_print_result(const task_set *set, const void *result) {
    const ffs_rate *r = result;
    const ffs_spec *f = ffs_of(set);
    printf("%s: flux %.4g per MC step (%lld crossings in %.4g MC steps)\n", set->name, r->flux,
           (long long)r->flux_crossings, r->flux_time);
    for (int i = 0; i < r->n; ++i) {
        printf("  P(λ=%lld | λ=%lld) = ", (long long)f->lambda[i + 1], (long long)f->lambda[i]);
        if (r->trials[i] > 0)
            printf("%.4g +- %.2g (%lld of %lld)\n", r->p[i], r->p_sigma[i],
                   (long long)r->successes[i], (long long)r->trials[i]);
        else
            printf("not measured (no shot: nothing reached λ=%lld)\n", (long long)f->lambda[i]);
    }
    print_line(set, r);
    if (r->warnings[0]) printf("  warning: %s\n", r->warnings);
}

void ffs_warn_result(const task_set *set, const void *result) {
    const ffs_rate *r = result;
    if (r->warnings[0]) fprintf(stderr, "ripen: warning: ffs %s: %s\n", set->name, r->warnings);
}

void ffs_summary(const job *j, const task_kind *kind, task_loader load, void *context,
                 void *const *results) {
    (void)load, (void)context;
    for (int s = 0; s < j->nsets; ++s) {
        if (j->sets[s].kind != kind || !results[s]) continue;
        const ffs_rate *r = results[s];
        print_line(&j->sets[s], r);
        if (r->shell_warning[0]) printf("  %-27s warning: %s\n", j->sets[s].name, r->shell_warning);
    }
}
