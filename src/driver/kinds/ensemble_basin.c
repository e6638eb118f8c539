/* The crack free energy and the transmission of an ensemble (ensemble_basin.h). */
#include "ensemble_basin.h"

#include "h5util.h"
#include "ripen/engine/error.h"
#include "ripen/engine/philox.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int basin_replica_of(const crack_series *s, basin_replica *b) {
    const crack_summary summary = crack_summarise(s);
    const int64_t n = crack_basin_samples(s, &summary);
    *b = (basin_replica){.samples = n, .took_off = summary.onset >= 0};
    int32_t top = 0;
    for (int64_t k = 0; k < n; ++k)
        if (s->exposed[k] > top) top = s->exposed[k];
    b->nc = (int64_t)top + 1;
    if (!(b->count = calloc((size_t)b->nc, sizeof *b->count)))
        return ripen_fail(RIPEN_ENOMEM, "out of memory for a crack histogram");
    for (int64_t k = 0; k < n; ++k) b->count[s->exposed[k] > 0 ? s->exposed[k] : 0]++;
    /* episodes that began in the basin; their growth is counted to their end */
    const int64_t end = n > 0 ? (n - 1) * s->interval : -1;
    int64_t k = 0;
    crack_episode e;
    while (crack_next_episode(s, &k, &e) && e.start <= end) {
        b->episodes++;
        b->grew += e.growth > 0;
        if (e.closed) b->closed++, b->closed_duration += e.end - e.start;
    }
    return RIPEN_OK;
}

void basin_replica_free(basin_replica *b) {
    free(b->count);
    b->count = NULL;
}

void basin_result_free(basin_result *b) {
    free(b->count), free(b->f), free(b->f_lower), free(b->f_upper);
    memset(b, 0, sizeof *b);
}

/* ---- the estimate for given replica weights (1 each, or a resample's multiplicities) ---- */

typedef struct {
    double samples, crack, onset_samples, onset_crack, episodes, grew;
    double *count; /* [nc] */
} tallies;

static void tally(const basin_replica *r, int64_t n, const double *weight, int nc, tallies *t) {
    double *count = t->count;
    memset(t, 0, sizeof *t);
    t->count = count;
    memset(count, 0, sizeof *count * (size_t)nc);
    for (int64_t i = 0; i < n; ++i) {
        const double w = weight ? weight[i] : 1.0;
        if (w == 0) continue;
        const double crack = (double)(r[i].samples - r[i].count[0]);
        t->samples += w * (double)r[i].samples, t->crack += w * crack;
        if (r[i].took_off)
            t->onset_samples += w * (double)r[i].samples, t->onset_crack += w * crack;
        t->episodes += w * (double)r[i].episodes, t->grew += w * (double)r[i].grew;
        for (int64_t c = 0; c < r[i].nc; ++c) count[c] += w * (double)r[i].count[c];
    }
}

static double minus_log(double part, double whole) {
    return whole > 0 ? -log(part / whole) : NAN; /* +inf where part = 0 */
}

/* ---- percentiles ---- */

static int by_value(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The 2.5% and 97.5% points of the non-NaN values (NaN: an undefined resample, left out). */
static void percentiles(double *v, int n, double *lower, double *upper) {
    int m = 0;
    for (int k = 0; k < n; ++k)
        if (!isnan(v[k])) v[m++] = v[k];
    if (m < 2) {
        *lower = *upper = NAN;
        return;
    }
    qsort(v, (size_t)m, sizeof *v, by_value);
    *lower = v[(int)floor(0.025 * (m - 1))];
    *upper = v[(int)ceil(0.975 * (m - 1))];
}

/* ---- the bootstrap ---- */

enum { SCALARS = 4 }; /* P(c > 0), F_crack, F_crack over replicas with an onset, kappa */

static void scalars_of(const tallies *t, double *out) {
    out[0] = t->samples > 0 ? t->crack / t->samples : NAN;
    out[1] = minus_log(t->crack, t->samples);
    out[2] = minus_log(t->onset_crack, t->onset_samples);
    out[3] = t->episodes > 0 ? t->grew / t->episodes : NAN;
}

/* Resample b's multiplicity of each replica: n draws with replacement. */
static void resample(uint64_t seed, uint32_t stream, int b, int64_t n, double *weight) {
    memset(weight, 0, sizeof *weight * (size_t)n);
    philox_stream p;
    philox_stream_init(&p, philox_key_from_seed(seed), (uint64_t)b, stream,
                       PURPOSE_CRACK_BOOTSTRAP);
    for (int64_t i = 0; i < n; ++i)
        weight[philox_uniform_below(philox_stream_next(&p), (uint32_t)n, &p)] += 1;
}

static int bootstrap(const basin_replica *r, int64_t n, uint64_t seed, uint32_t stream,
                     basin_result *out) {
    const int B = out->bootstrap, nc = out->nc;
    double *weight = malloc(sizeof *weight * (size_t)(n ? n : 1));
    double *values = malloc(sizeof *values * (size_t)B * (size_t)(SCALARS + nc));
    double *column = malloc(sizeof *column * (size_t)B);
    tallies t = {.count = malloc(sizeof(double) * (size_t)nc)};
    int status = weight && values && column && t.count
                     ? RIPEN_OK
                     : ripen_fail(RIPEN_ENOMEM, "out of memory for the crack bootstrap");
    for (int b = 0; b < B && !status; ++b) {
        resample(seed, stream, b, n, weight);
        tally(r, n, weight, nc, &t);
        double *row = values + (size_t)b * (size_t)(SCALARS + nc);
        scalars_of(&t, row);
        for (int c = 0; c < nc; ++c) row[SCALARS + c] = minus_log(t.count[c], t.samples);
    }
    basin_estimate *const scalar[SCALARS] = {&out->p_crack, &out->f_crack, &out->f_crack_onset,
                                             &out->kappa};
    for (int k = 0; k < SCALARS + nc && !status; ++k) {
        for (int b = 0; b < B; ++b) column[b] = values[(size_t)b * (size_t)(SCALARS + nc) + k];
        if (k < SCALARS)
            percentiles(column, B, &scalar[k]->lower, &scalar[k]->upper);
        else
            percentiles(column, B, &out->f_lower[k - SCALARS], &out->f_upper[k - SCALARS]);
    }
    free(weight), free(values), free(column), free(t.count);
    return status;
}

int basin_compute(const basin_replica *r, int64_t n, int bootstrap_samples, uint64_t seed,
                  uint32_t stream, basin_result *out) {
    memset(out, 0, sizeof *out);
    out->replicas = n, out->bootstrap = bootstrap_samples;
    int64_t nc = 1, closed = 0, duration = 0;
    for (int64_t i = 0; i < n; ++i) {
        if (r[i].nc > nc) nc = r[i].nc;
        out->took_off += r[i].took_off;
        closed += r[i].closed, duration += r[i].closed_duration;
    }
    out->nc = (int)nc;
    out->count = calloc((size_t)nc, sizeof *out->count);
    out->f = malloc(sizeof *out->f * (size_t)nc);
    out->f_lower = malloc(sizeof *out->f_lower * (size_t)nc);
    out->f_upper = malloc(sizeof *out->f_upper * (size_t)nc);
    tallies t = {.count = malloc(sizeof(double) * (size_t)nc)};
    if (!out->count || !out->f || !out->f_lower || !out->f_upper || !t.count) {
        free(t.count);
        basin_result_free(out);
        return ripen_fail(RIPEN_ENOMEM, "out of memory for the crack free energy");
    }
    tally(r, n, NULL, out->nc, &t);
    double scalars[SCALARS];
    scalars_of(&t, scalars);
    out->p_crack.value = scalars[0], out->f_crack.value = scalars[1];
    out->f_crack_onset.value = scalars[2], out->kappa.value = scalars[3];
    out->samples = (int64_t)t.samples;
    out->episodes = (int64_t)t.episodes, out->grew = (int64_t)t.grew;
    out->mean_duration = closed > 0 ? (double)duration / (double)closed : NAN;
    for (int c = 0; c < out->nc; ++c) {
        out->count[c] = (int64_t)t.count[c];
        out->f[c] = minus_log(t.count[c], t.samples);
    }
    free(t.count);
    const int status = bootstrap(r, n, seed, stream, out);
    if (status) basin_result_free(out);
    return status;
}

void basin_code(codec *c, basin_result *b) {
    if (c->status) return;
    basin_result fixed = *b; /* the scalars; the arrays follow */
    fixed.count = NULL, fixed.f = fixed.f_lower = fixed.f_upper = NULL;
    codec_scalar(c, &fixed, sizeof fixed);
    if (!c->writing) *b = fixed;
    const int64_t nc = b->nc;
    int64_t room = c->writing ? nc : 0;
    codec_array(c, (void **)&b->count, sizeof *b->count, nc, &room, nc);
    double **const columns[3] = {&b->f, &b->f_lower, &b->f_upper};
    for (int k = 0; k < 3; ++k) {
        room = c->writing ? nc : 0;
        codec_array(c, (void **)columns[k], sizeof(double), nc, &room, nc);
    }
}

/* ---- the result file and the summary ---- */

static int write_column(hid_t g, const char *name, h5_type type, const void *data, int nc,
                        const char *units, const char *description, int writer) {
    static const double fill = NAN;
    const hid_t d = h5_dataset(g, &(h5_dataset_info){.name = name,
                                                     .type = type,
                                                     .rank = 1,
                                                     .dims = {(hsize_t)nc},
                                                     .fill = type == H5_F64 ? &fill : NULL,
                                                     .units = units,
                                                     .description = description});
    if (d < 0) return ripen_fail(RIPEN_EIO, "cannot create crack_free_energy/%s", name);
    const hsize_t start[1] = {0}, n[1] = {(hsize_t)nc};
    const int status = writer ? h5_write_block(d, type, 1, start, n, data) : RIPEN_OK;
    H5Dclose(d);
    return status;
}

static int write_estimate(hid_t g, const char *name, const basin_estimate *e) {
    char lower[64], upper[64];
    snprintf(lower, sizeof lower, "%s_lower", name);
    snprintf(upper, sizeof upper, "%s_upper", name);
    int status = h5_attr_double(g, name, e->value);
    if (!status) status = h5_attr_double(g, lower, e->lower);
    if (!status) status = h5_attr_double(g, upper, e->upper);
    return status;
}

static int write_attributes(hid_t g, const basin_result *b) {
    int status = write_estimate(g, "p_crack", &b->p_crack);
    if (!status) status = write_estimate(g, "f_crack", &b->f_crack);
    if (!status) status = write_estimate(g, "f_crack_onset", &b->f_crack_onset);
    if (!status) status = write_estimate(g, "kappa", &b->kappa);
    const struct {
        const char *name;
        int64_t value;
    } counts[] = {{"replicas", b->replicas}, {"took_off", b->took_off},
                  {"samples", b->samples},   {"episodes", b->episodes},
                  {"grew", b->grew},         {"bootstrap", b->bootstrap}};
    for (size_t k = 0; k < sizeof counts / sizeof *counts && !status; ++k)
        status = h5_attr_int(g, counts[k].name, counts[k].value);
    if (!status) status = h5_attr_double(g, "mean_duration", b->mean_duration);
    if (!status) status = h5_attr_double(g, "confidence", 0.95);
    if (!status)
        status = h5_attr_string(g, "units",
                                "f_crack*: kT; mean_duration: MC steps; samples: samples; "
                                "replicas, took_off: replicas; episodes, grew: episodes");
    return status;
}

int basin_write(hid_t set_group, const char *set_name, const basin_result *b, int writer) {
    /* `ripen analyze` replaces the set's analysis: this group goes with the survival curve */
    if (H5Lexists(set_group, "crack_free_energy", H5P_DEFAULT) > 0 &&
        H5Ldelete(set_group, "crack_free_energy", H5P_DEFAULT) < 0)
        return ripen_fail(RIPEN_EIO, "cannot replace /ensembles/%s/crack_free_energy", set_name);
    const hid_t g = h5_group_create(
        set_group, "crack_free_energy",
        "the exposed core c over the shelled basin (samples up to the onset of growth; every "
        "sample of a replica that never took off): F(c) = -ln P(c), beta F_crack = -ln P(c > 0), "
        "the transmission kappa of the cracks begun there; 95% bootstrap over replicas");
    if (g < 0)
        return ripen_fail(RIPEN_EIO, "cannot create /ensembles/%s/crack_free_energy", set_name);
    int32_t *c = malloc(sizeof *c * (size_t)b->nc);
    int status = c ? write_attributes(g, b) : ripen_fail(RIPEN_ENOMEM, "out of memory");
    for (int k = 0; c && k < b->nc; ++k) c[k] = k;
    if (!status)
        status = write_column(g, "c", H5_I32, c, b->nc, "sites",
                              "exposed core: core sites with a solution neighbour", writer);
    free(c);
    if (!status)
        status = write_column(g, "count", H5_I64, b->count, b->nc, "samples",
                              "basin samples with exposed core c, over every replica", writer);
    if (!status)
        status = write_column(g, "F", H5_F64, b->f, b->nc, "kT",
                              "F(c) = -ln P(c) (inf: never sampled)", writer);
    if (!status)
        status = write_column(g, "F_lower", H5_F64, b->f_lower, b->nc, "kT",
                              "95% bootstrap interval of F(c), lower end", writer);
    if (!status)
        status = write_column(g, "F_upper", H5_F64, b->f_upper, b->nc, "kT",
                              "95% bootstrap interval of F(c), upper end", writer);
    H5Gclose(g);
    return status;
}

void basin_print(const char *set_name, const basin_result *b) {
    printf("  %-28s P(crack) = %.3g [%.3g, %.3g], beta F_crack = %.2f [%.2f, %.2f] kT (%.2f "
           "[%.2f, %.2f] over the %lld that took off), kappa = %.2f [%.2f, %.2f] (%lld of %lld "
           "basin cracks grew)\n",
           set_name, b->p_crack.value, b->p_crack.lower, b->p_crack.upper, b->f_crack.value,
           b->f_crack.lower, b->f_crack.upper, b->f_crack_onset.value, b->f_crack_onset.lower,
           b->f_crack_onset.upper, (long long)b->took_off, b->kappa.value, b->kappa.lower,
           b->kappa.upper, (long long)b->grew, (long long)b->episodes);
}
