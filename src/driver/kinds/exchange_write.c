/* The exchange kind's result (exchange.h): the file's /exchange/<name> and F(q) of the physical
 * state, by MBAR over every state's samples with bootstrap errors, beside WHAM over rung 0's
 * windows alone; the exchanges' acceptance and the replicas' round trips. */
#include "exchange_internal.h"

#include "h5util.h"
#include "ripen/engine/error.h"
#include "ripen/fe/fe.h"
#include "ripen/engine/philox.h"
#include "shell_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MBAR_MAX_RESAMPLES = 40, MBAR_RESAMPLE_ITERATIONS = 1000 };

/* The pooled samples MBAR sees: 40,000, or 1000 per state for many states, but never a reduced-
 * potential matrix (states x samples) above 2^25 entries (256 MiB). */
static int64_t mbar_sample_budget(int states) {
    const int64_t per_state = 1000 * (int64_t)states, memory = ((int64_t)1 << 25) / states;
    const int64_t budget = per_state < memory ? per_state : memory;
    return budget > 40000 ? budget : 40000;
}

/* ---- the file ---- */

enum {
    X_LO,
    X_HI,
    X_SCALE,
    X_MU_SHELL,
    X_REPLICA,
    X_SOURCE,
    X_MU,
    X_COUNT_SAMPLES,
    X_CORE0,
    X_FINAL,
    X_SAMPLES,
    X_SHELL0,
    X_COUNT
};

typedef struct {
    hid_t d[X_COUNT];
} handles;

static const int64_t fill_i64 = -1;
static const int32_t fill_i32 = -1;
static const double fill_nan = NAN;

int exchange_h5_create(hid_t g, const job *j, const task_set *set,
                       const int64_t extent[TASK_EXTENTS], void **out) {
    (void)j, (void)extent;
    const exchange_spec *x = exchange_of(set);
    handles *h = malloc(sizeof *h);
    if (!(*out = h)) return ripen_fail(RIPEN_ENOMEM, "out of memory");
    for (int k = 0; k < X_COUNT; ++k) h->d[k] = -1;
    int status = h5_system_attributes(
        g, &set->system,
        "q_min, q_max, width, overlap, layer_sites: sites of q; equilibration_steps, interval, "
        "sample_interval: MC steps");
    const struct {
        const char *name;
        int64_t value;
    } ints[] = {{"q_min", x->q_min},
                {"q_max", x->q_max},
                {"width", x->width},
                {"overlap", x->overlap},
                {"nwindows", x->nwindows},
                {"nrungs", x->nrungs},
                {"layer_sites", x->layer_sites},
                {"equilibration_steps", (int64_t)x->equilibration_steps},
                {"interval", (int64_t)x->interval},
                {"epochs", x->epochs},
                {"sample_interval", (int64_t)x->sample_interval},
                {"tilt", x->tilt},
                {"repeat", x->repeat},
                {"first_task", set->first_task}};
    for (size_t k = 0; k < sizeof ints / sizeof *ints && !status; ++k)
        status = h5_attr_int(g, ints[k].name, ints[k].value);
    if (!status) status = h5_attr_double(g, "shell_tolerance", x->shell_tolerance);
    if (status) return status;
    const hsize_t K = (hsize_t)x->nwindows, R = (hsize_t)x->nrungs, T = (hsize_t)set->ntasks;
    const hsize_t M = (hsize_t)exchange_samples_per_epoch(x);
    const h5_dataset_info info[X_COUNT] = {
        {.name = "lo",
         .type = H5_I32,
         .rank = 1,
         .dims = {K},
         .units = "sites",
         .description = "window k's lower wall on q"},
        {.name = "hi",
         .type = H5_I32,
         .rank = 1,
         .dims = {K},
         .units = "sites",
         .description = "window k's upper wall on q"},
        {.name = "eps_scale",
         .type = H5_F64,
         .rank = 1,
         .dims = {R},
         .description = "rung r: eps_shell and eps_interface times this (rung 0: physical)"},
        {.name = "mu_shell",
         .type = H5_F64,
         .rank = 1,
         .dims = {R},
         .units = "kT",
         .description = "rung r's mu_shell"},
        {.name = "replica",
         .type = H5_I64,
         .rank = 1,
         .dims = {T},
         .fill = &fill_i64,
         .description = "per task (epoch-major: epoch e, state s = rung * nwindows + window): "
                        "the configuration's label, its state at epoch 0"},
        {.name = "source",
         .type = H5_I64,
         .rank = 1,
         .dims = {T},
         .fill = &fill_i64,
         .units = "task id",
         .description = "the task of the epoch before it started from"},
        {.name = "mu_core",
         .type = H5_F64,
         .rank = 1,
         .dims = {T},
         .fill = &fill_nan,
         .units = "kT",
         .description = "the state's own mu_core (tuned in epoch 0 if tilted)"},
        {.name = "sample_count",
         .type = H5_I64,
         .rank = 1,
         .dims = {T},
         .fill = &fill_i64,
         .description = "samples the task took (none in epoch 0)"},
        {.name = "core_sites",
         .type = H5_I64,
         .rank = 1,
         .dims = {T},
         .fill = &fill_i64,
         .units = "sites",
         .description = "N_core(0), the origin of q"},
        {.name = "final_counts",
         .type = H5_I64,
         .rank = 2,
         .dims = {T, 5},
         .fill = &fill_i64,
         .units = "N_core, N_shell, B_cc, B_ss, B_cs",
         .description = "the counts at the task's end (the exchange after it reads them)"},
        {.name = "samples",
         .type = H5_I32,
         .rank = 3,
         .dims = {T, M, EXCHANGE_FIELDS},
         .fill = &fill_i32,
         .units = "N_core, N_shell, B_cc, B_ss, B_cs, exposed core (sites)",
         .description = "per sample, everything every state's reduced potential needs, and the "
                        "core sites with a solution neighbour",
         .compress = 1},
        {.name = "shell_sites",
         .type = H5_I64,
         .rank = 1,
         .dims = {T},
         .fill = &fill_i64,
         .units = "sites",
         .description = "N_shell(0) of the initial particle the task's configuration grew from"},
    };
    for (int k = 0; k < X_COUNT; ++k)
        if ((h->d[k] = h5_dataset(g, &info[k])) < 0)
            return ripen_fail(RIPEN_EIO, "cannot create /exchange/%s/%s", set->name, info[k].name);
    return RIPEN_OK;
}

int exchange_h5_write_set(void *handles_, const job *j, const task_set *set) {
    (void)j;
    const handles *h = handles_;
    const exchange_spec *x = exchange_of(set);
    int32_t lo[256], hi[256];
    const int K = x->nwindows < 256 ? x->nwindows : 256;
    for (int w = 0; w < K; ++w) {
        const exchange_state st = exchange_state_of(x, &set->system.model, w, 0, 0.0);
        lo[w] = st.lo, hi[w] = st.hi;
    }
    const hsize_t start[1] = {0}, nk[1] = {(hsize_t)K}, nr[1] = {(hsize_t)x->nrungs};
    int status = h5_write_block(h->d[X_LO], H5_I32, 1, start, nk, lo);
    if (!status) status = h5_write_block(h->d[X_HI], H5_I32, 1, start, nk, hi);
    if (!status) status = h5_write_block(h->d[X_SCALE], H5_F64, 1, start, nr, x->eps_scale);
    if (!status) status = h5_write_block(h->d[X_MU_SHELL], H5_F64, 1, start, nr, x->mu_shell);
    return status;
}

int exchange_h5_write_tasks(void *handles_, const task_set *set, int n, const int64_t *members,
                            task_record *const *records) {
    (void)set;
    enum { BATCH = 64 };
    if (n > BATCH) return ripen_fail(RIPEN_EINVAL, "too many exchange tasks in one write");
    const hid_t *d = ((const handles *)handles_)->d;
    int status = RIPEN_OK;
    hsize_t starts[BATCH * 3] = {0}, counts[BATCH * 3] = {0};
    const void *data[BATCH] = {0};
    for (int i = 0; i < n; ++i) {
        const exchange_result *x = records[i]->data;
        const hsize_t row[1] = {(hsize_t)members[i]}, one[1] = {1};
        const int64_t final[5] = {x->final.ncore, x->final.nshell, x->final.bonds_cc,
                                  x->final.bonds_ss, x->final.bonds_cs};
        const hsize_t start2[2] = {(hsize_t)members[i], 0}, five[2] = {1, 5};
        if (!status) status = h5_write_block(d[X_REPLICA], H5_I64, 1, row, one, &x->replica);
        if (!status) status = h5_write_block(d[X_SOURCE], H5_I64, 1, row, one, &x->source);
        if (!status) status = h5_write_block(d[X_MU], H5_F64, 1, row, one, &x->mu_core);
        if (!status) status = h5_write_block(d[X_COUNT_SAMPLES], H5_I64, 1, row, one, &x->nsamples);
        if (!status)
            status = h5_write_block(d[X_CORE0], H5_I64, 1, row, one, &records[i]->core_initial);
        if (!status) status = h5_write_block(d[X_FINAL], H5_I64, 2, start2, five, final);
        if (!status)
            status = h5_write_block(d[X_SHELL0], H5_I64, 1, row, one, &records[i]->shell_initial);
        starts[3 * i] = (hsize_t)members[i];
        counts[3 * i] = 1, counts[3 * i + 1] = (hsize_t)x->nsamples,
                   counts[3 * i + 2] = EXCHANGE_FIELDS;
        data[i] = x->samples;
    }
    const int written = h5_write_blocks(d[X_SAMPLES], H5_I32, 3, n, starts, counts, data);
    return status ? status : written;
}

void exchange_h5_close(void *handles_) {
    handles *h = handles_;
    if (!h) return;
    h5_close_datasets(h->d, X_COUNT);
    free(h);
}

int exchange_h5_load_task(hid_t g, const task_set *set, int64_t member, task_record *r) {
    exchange_result *x = r->data;
    const hsize_t row[1] = {(hsize_t)member}, one[1] = {1};
    int64_t final[5] = {0};
    const hsize_t start2[2] = {(hsize_t)member, 0}, five[2] = {1, 5};
    int status = h5_read_from(g, "replica", H5_I64, 1, row, one, &x->replica);
    if (!status) status = h5_read_from(g, "source", H5_I64, 1, row, one, &x->source);
    if (!status) status = h5_read_from(g, "mu_core", H5_F64, 1, row, one, &x->mu_core);
    if (!status) status = h5_read_from(g, "sample_count", H5_I64, 1, row, one, &x->nsamples);
    if (!status) status = h5_read_from(g, "core_sites", H5_I64, 1, row, one, &r->core_initial);
    if (!status) status = h5_read_from(g, "final_counts", H5_I64, 2, start2, five, final);
    if (!status) status = h5_read_from(g, "shell_sites", H5_I64, 1, row, one, &r->shell_initial);
    if (!status && (x->nsamples < 0 || x->nsamples > exchange_samples_per_epoch(exchange_of(set))))
        status = RIPEN_EIO;
    const hsize_t start3[3] = {(hsize_t)member, 0, 0},
                  n3[3] = {1, (hsize_t)x->nsamples, EXCHANGE_FIELDS};
    if (!status) status = h5_read_from(g, "samples", H5_I32, 3, start3, n3, x->samples);
    x->final = (site_counts){final[0], final[1], final[2], final[3], final[4]};
    r->step = x->epoch == 0 ? exchange_of(set)->equilibration_steps : exchange_of(set)->interval;
    return status;
}

void exchange_h5_size(const task_set *set, const int64_t extent[TASK_EXTENTS], double *bytes,
                      double *objects) {
    (void)extent;
    const exchange_spec *x = exchange_of(set);
    const double T = (double)set->ntasks, M = (double)exchange_samples_per_epoch(x);
    const double nq = (double)(x->q_max - x->q_min + 1);
    *bytes = T * (M * 4 * EXCHANGE_FIELDS + 104) + nq * 64 + (double)x->nwindows * 16 +
             (double)exchange_states(set) * 8 * ((double)x->epochs + 8);
    *objects = 1 + X_COUNT + 24;
}

/* ---- the pooled samples ---- */

typedef struct {
    int S;
    int64_t *count;  /* per state: samples kept */
    int64_t *offset; /* per state: where its samples start in the pool */
    int64_t total;
    site_counts *x; /* pooled samples, state by state, each in time order */
    exchange_state *state;
    int64_t core0;
    int64_t *replica;  /* (epochs + 1) x S: the replica in each state */
    shell_check shell; /* did rung 0's states keep their shell? (every sample, not thinned) */
} pool;

static void pool_free(pool *p) {
    free(p->count), free(p->offset), free(p->x), free(p->state), free(p->replica);
}

/* Every state's samples of the sampled epochs, thinned to at most mbar_sample_budget() in all: MBAR
 * costs K^2 per sample per iteration, and neighbouring samples carry little new information. */
static int pool_load(const job *j, const task_set *set, task_loader load, void *context, pool *p) {
    const exchange_spec *x = exchange_of(set);
    const int S = exchange_states(set), E = x->epochs;
    const int64_t per_epoch = exchange_samples_per_epoch(x);
    const int64_t raw = (int64_t)S * E * per_epoch;
    const int64_t budget = mbar_sample_budget(S);
    const int64_t stride = raw > budget ? (raw + budget - 1) / budget : 1;
    *p = (pool){.S = S};
    p->count = calloc((size_t)S, sizeof *p->count);
    p->offset = calloc((size_t)S + 1, sizeof *p->offset);
    p->x = malloc(sizeof *p->x * (size_t)(raw / stride + S + 1));
    p->state = calloc((size_t)S, sizeof *p->state);
    p->replica = malloc(sizeof *p->replica * (size_t)(E + 1) * (size_t)S);
    if (!p->count || !p->offset || !p->x || !p->state || !p->replica)
        return ripen_fail(RIPEN_ENOMEM, "out of memory for the exchange samples");
    int status = RIPEN_OK;
    for (int s = 0; s < S && !status; ++s) {
        p->offset[s] = p->total;
        shell_tally shell = shell_tally_start();
        for (int e = 0; e <= E && !status; ++e) {
            const int64_t id = set->first_task + (int64_t)e * S + s;
            task_record r;
            status = task_record_init(&r, j, id);
            if (!status) status = load(context, id, &r);
            const exchange_result *y = r.data;
            if (!status) {
                p->replica[(size_t)e * S + s] = y->replica;
                p->core0 = r.core_initial;
                if (e == 0)
                    p->state[s] = exchange_state_of(x, &set->system.model, s % x->nwindows,
                                                    s / x->nwindows, y->mu_core);
                if (s == 0 && e == 0) {
                    const shell_band band = shell_band_of(x->shell_tolerance, r.shell_initial);
                    shell_check_start(&p->shell, &band);
                }
                for (int64_t n = 0; s < x->nwindows && n < y->nsamples; ++n)
                    shell_tally_add(&shell, &p->shell.band, y->samples[n * EXCHANGE_FIELDS + 1]);
                for (int64_t n = e == 0 ? y->nsamples : 0; n < y->nsamples; ++n) {
                    const int64_t global = (int64_t)(e - 1) * per_epoch + n;
                    if (global % stride) continue;
                    const int32_t *f = y->samples + n * EXCHANGE_FIELDS;
                    p->x[p->total++] = (site_counts){f[0], f[1], f[2], f[3], f[4]};
                }
            }
            task_record_free(&r);
        }
        p->count[s] = p->total - p->offset[s];
        if (s < x->nwindows) shell_check_group(&p->shell, s, &shell);
        if (!status && p->count[s] == 0)
            status =
                ripen_fail(RIPEN_EINVAL, "exchange %s: state %d took no samples", set->name, s);
    }
    p->offset[S] = p->total;
    return status;
}

/* u_k(x_n) for the pool (or a resample of it, given by `pick`). */
static void fill_u(const pool *p, const int64_t *pick, double *u) {
    for (int k = 0; k < p->S; ++k)
        for (int64_t n = 0; n < p->total; ++n)
            u[(size_t)k * (size_t)p->total + (size_t)n] =
                exchange_u(&p->state[k], &p->x[pick ? pick[n] : n], p->core0);
}

/* F(q) of the physical state (no walls, rung 0, the set's mu_core) at `mu` shift 0, min 0. */
static int profile(const pool *p, const task_set *set, const fe_states *fs, const double *f,
                   const int64_t *pick, double *F, double *log_w, double *u_target) {
    const exchange_spec *x = exchange_of(set);
    const energy_weights physical = model_energy_weights(&set->system.model);
    for (int64_t n = 0; n < p->total; ++n)
        u_target[n] = model_energy(&physical, &p->x[pick ? pick[n] : n]);
    const int status = fe_mbar_states_log_weights(fs, f, u_target, log_w);
    if (status) return status;
    const int nq = x->q_max - x->q_min + 1;
    for (int i = 0; i < nq; ++i) F[i] = -INFINITY;
    for (int64_t n = 0; n < p->total; ++n) {
        const int64_t q = p->x[pick ? pick[n] : n].ncore - p->core0;
        if (q < x->q_min || q > x->q_max || !isfinite(log_w[n])) continue;
        double *acc = &F[q - x->q_min];
        const double a = *acc, b = log_w[n];
        *acc = a == -INFINITY ? b : (a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b)));
    }
    double top = INFINITY;
    for (int i = 0; i < nq; ++i) {
        F[i] = F[i] == -INFINITY ? INFINITY : -F[i];
        if (F[i] < top) top = F[i];
    }
    for (int i = 0; i < nq; ++i) F[i] -= isfinite(F[i]) ? top : 0;
    return RIPEN_OK;
}

/* A circular block resample of each state's series, state s in blocks of block[s] samples. */
static void resample(const pool *p, uint64_t seed, int b, const int64_t *block, int64_t *pick) {
    philox_stream st;
    philox_stream_init(&st, philox_key_from_seed(seed), (uint64_t)b, 0xE7u, FE_PURPOSE_BOOTSTRAP);
    for (int s = 0; s < p->S; ++s) {
        const int64_t n = p->count[s], base = p->offset[s];
        const int64_t l = block[s] < n ? block[s] : n;
        for (int64_t at = 0; at < n;) {
            const int64_t start =
                (int64_t)philox_uniform_below(philox_stream_next(&st), (uint32_t)n, &st);
            for (int64_t k = 0; k < l && at < n; ++k, ++at)
                pick[base + at] = base + (start + k) % n;
        }
    }
}

/* ---- the analysis ---- */

static void warn(char *buffer, size_t capacity, const char *text) {
    const size_t used = strlen(buffer);
    snprintf(buffer + used, capacity - used, "%s%s", used ? "; " : "", text);
}

/* Acceptance of each pair (inferred from where each epoch's configurations came from) and the
 * round trips of each replica across the windows and across the rungs. */
static int statistics(const task_set *set, const pool *p, exchange_outcome *out) {
    const exchange_spec *x = exchange_of(set);
    const int S = p->S, E = x->epochs, K = x->nwindows;
    out->nstates = S, out->epochs = E;
    out->pair_first = calloc((size_t)2 * S, sizeof(int64_t));
    out->pair_other = calloc((size_t)2 * S, sizeof(int64_t));
    out->attempts = calloc((size_t)2 * S, sizeof(int64_t));
    out->accepts = calloc((size_t)2 * S, sizeof(int64_t));
    out->window_trips = calloc((size_t)S, sizeof(int64_t));
    out->rung_trips = calloc((size_t)S, sizeof(int64_t));
    out->permutation = malloc(sizeof(int64_t) * (size_t)(E + 1) * (size_t)S);
    int *first = malloc(sizeof(int) * (size_t)S), *other = malloc(sizeof(int) * (size_t)S);
    if (!out->pair_first || !out->pair_other || !out->attempts || !out->accepts ||
        !out->window_trips || !out->rung_trips || !out->permutation || !first || !other) {
        free(first), free(other);
        return ripen_fail(RIPEN_ENOMEM, "out of memory for the exchange statistics");
    }
    memcpy(out->permutation, p->replica, sizeof(int64_t) * (size_t)(E + 1) * (size_t)S);
    for (int e = 1; e <= E; ++e) {
        const int n = exchange_pairs(x, e, first, other);
        for (int k = 0; k < n; ++k) {
            int at = 0;
            while (at < out->npairs &&
                   !(out->pair_first[at] == first[k] && out->pair_other[at] == other[k]))
                ++at;
            if (at == out->npairs)
                out->pair_first[at] = first[k], out->pair_other[at] = other[k], out->npairs++;
            out->attempts[at]++;
            /* accepted iff the states now hold each other's replicas */
            out->accepts[at] +=
                p->replica[(size_t)e * S + first[k]] == p->replica[(size_t)(e - 1) * S + other[k]];
        }
    }
    free(first), free(other);
    /* round trips: for each replica, its window (or rung) over the epochs */
    for (int rep = 0; rep < S; ++rep) {
        int window_leg = -1, rung_leg = -1; /* last end visited: 0 low, 1 high */
        for (int e = 0; e <= E; ++e)
            for (int s = 0; s < S; ++s) {
                if (p->replica[(size_t)e * S + s] != rep) continue;
                const int w = s % K, r = s / K;
                if (K > 1 && (w == 0 || w == K - 1)) {
                    const int end = w == K - 1;
                    if (window_leg == 1 && end == 0) out->window_trips[rep]++;
                    window_leg = end;
                }
                if (x->nrungs > 1 && (r == 0 || r == x->nrungs - 1)) {
                    const int end = r == x->nrungs - 1;
                    if (rung_leg == 1 && end == 0) out->rung_trips[rep]++;
                    rung_leg = end;
                }
            }
    }
    /* pairs below 5%: how many, and the first three (statistics/ has them all) */
    int low = 0;
    char examples[400] = "";
    for (int k = 0; k < out->npairs; ++k)
        if (out->attempts[k] && out->accepts[k] < 0.05 * (double)out->attempts[k] && ++low <= 3) {
            const size_t used = strlen(examples);
            snprintf(examples + used, sizeof examples - used, "%sstates %lld-%lld: %lld of %lld",
                     used ? ", " : "", (long long)out->pair_first[k], (long long)out->pair_other[k],
                     (long long)out->accepts[k], (long long)out->attempts[k]);
        }
    if (low) {
        char text[600];
        snprintf(text, sizeof text, "%d of %d neighbouring pairs accept < 5%% of swaps (%s%s)", low,
                 out->npairs, examples, low > 3 ? ", ..." : "");
        warn(out->warnings, sizeof out->warnings, text);
    }
    int stuck = 0;
    for (int rep = 0; rep < S; ++rep) stuck += K > 1 && out->window_trips[rep] == 0;
    if (stuck) {
        char text[160];
        snprintf(text, sizeof text, "%d of %d replicas never made a round trip across the windows",
                 stuck, S);
        warn(out->warnings, sizeof out->warnings, text);
    }
    return RIPEN_OK;
}

/* Each state's block length, 5 statistical inefficiencies of its q series (kept in
 * `inefficiency`); returns the states whose series hold fewer than FE_MIN_BLOCKS blocks (or never
 * change q): the bootstrap cannot see their errors. */
static int block_lengths(const pool *p, double *inefficiency, int64_t *block) {
    int short_states = 0;
    for (int s = 0; s < p->S; ++s) {
        const int64_t n = p->count[s];
        double *q = malloc(sizeof *q * (size_t)(n + 1));
        double g = (double)n;
        int moved = 0;
        for (int64_t k = 0; q && k < n; ++k) {
            q[k] = (double)(p->x[p->offset[s] + k].ncore - p->core0);
            moved |= k > 0 && q[k] != q[k - 1];
        }
        if (q && moved && fe_statistical_inefficiency(q, n, &g)) g = (double)n;
        free(q);
        inefficiency[s] = moved ? g : INFINITY;
        block[s] = (int64_t)ceil(FE_BLOCK_FACTOR * fmin(g, (double)n));
        short_states += !moved || (double)n < FE_MIN_BLOCKS * (double)block[s];
    }
    return short_states;
}

/* MBAR's F(q) over every state with its bootstrap, into fq's f_sampling / f_mbar fields. */
static int mbar_profile(const job *j, const task_set *set, const pool *p,
                        const set_analysis_options *ao, int resamples, fq_result *fq,
                        fe_balance *balance, int *short_states, int *dropped, fe_info *data) {
    const exchange_spec *x = exchange_of(set);
    const int nq = x->q_max - x->q_min + 1;
    const size_t N = (size_t)p->total;
    double *u = malloc(sizeof *u * N * (size_t)p->S), *f = malloc(sizeof *f * (size_t)p->S);
    double *F = malloc(sizeof *F * (size_t)nq), *log_w = malloc(sizeof *log_w * N);
    double *u_target = malloc(sizeof *u_target * N);
    double *rows = malloc(sizeof *rows * (size_t)nq * (size_t)(resamples + 1));
    int64_t *pick = malloc(sizeof *pick * N), *block = malloc(sizeof *block * (size_t)p->S);
    int status = u && f && F && log_w && u_target && rows && pick && block
                     ? RIPEN_OK
                     : ripen_fail(RIPEN_ENOMEM, "out of memory for MBAR over the states");
    const fe_states fs = {
        .nstates = p->S, .nsamples_total = p->total, .nsamples = p->count, .u = u};
    fe_info info = {0};
    int unlinked = -1;
    if (!status) {
        fill_u(p, NULL, u);
        status = fe_states_linked(&fs, &unlinked);
    }
    if (!status && unlinked >= 0) {
        const exchange_spec *x = exchange_of(set);
        const int w = unlinked % x->nwindows, r = unlinked / x->nwindows;
        status = ripen_fail(RIPEN_EINVAL,
                            "window %d (q %d..%d) of rung %d (eps_scale %g, mu_shell %g) is not "
                            "linked to window 0 of rung 0: no chain of states each with samples "
                            "the next allows, both ways, so F(q) is undetermined (a window "
                            "that never moved q cuts it: sample longer, or add rungs where q "
                            "moves)",
                            w, p->state[unlinked].lo, p->state[unlinked].hi, r, x->eps_scale[r],
                            x->mu_shell[r]);
    }
    fe_solver_options on_data = fe_solver_defaults();
    on_data.poll = ao->poll, on_data.poll_context = ao->poll_context;
    if (!status) status = fe_mbar_states(&fs, &on_data, f, &info);
    if (!status) status = profile(p, set, &fs, f, NULL, F, log_w, u_target);
    fq->mbar_iterations = info.iterations, fq->mbar_converged = info.converged;
    *data = info;
    const int32_t q_start = fq->q_start;
    if (!status) *short_states = block_lengths(p, fq->inefficiency, block);
    int done = 0;
    /* The errors of an answer the solver could not settle mean nothing: no bootstrap then. */
    for (int b = 0; b < resamples && !status && info.converged; ++b) {
        resample(p, j->seed ^ (uint64_t)set->first_task, b, block, pick);
        fill_u(p, pick, u);
        double *fb = malloc(sizeof *fb * (size_t)p->S);
        fe_solver_options o = on_data;
        o.initial_f = f;
        o.max_iterations = MBAR_RESAMPLE_ITERATIONS;
        o.resample = b, o.nresamples = resamples;
        fe_info ib = {0};
        if (!fb) {
            status = ripen_fail(RIPEN_ENOMEM, "out of memory");
            break;
        }
        status = fe_mbar_states(&fs, &o, fb, &ib);
        if (status == RIPEN_EINVAL || (!status && !ib.converged)) {
            /* a resample that cuts a link (a rare crossing left out) or does not settle: dropped,
             * and counted */
            free(fb);
            status = RIPEN_OK;
            ++*dropped;
            continue;
        }
        double *row = rows + (size_t)done * (size_t)nq;
        if (!status) status = profile(p, set, &fs, fb, pick, row, log_w, u_target);
        free(fb);
        if (status) break;
        const double origin = row[q_start - x->q_min];
        for (int i = 0; i < nq; ++i) row[i] = isfinite(row[i]) ? row[i] - origin : INFINITY;
        ++done;
    }
    if (!status) {
        const double origin = F[q_start - x->q_min];
        if (!isfinite(origin))
            status = ripen_fail(RIPEN_EINVAL, "exchange %s: q = %d was never sampled", set->name,
                                q_start);
        for (int i = 0; i < nq && !status; ++i) fq->f_sampling[i] = F[i];
        for (int i = 0; i < nq && !status; ++i) F[i] = isfinite(F[i]) ? F[i] - origin : INFINITY;
    }
    if (!status)
        status = fe_balance_point(F, x->q_min, x->q_max, q_start, fq->q_end, rows, done, balance);
    for (int i = 0; i < nq && !status; ++i) {
        const double shift = -balance->dmu * (double)(x->q_min + i - q_start);
        fq->f_mbar[i] = isfinite(F[i]) ? F[i] + shift : INFINITY;
        double mean = 0, square = 0;
        int m = 0;
        for (int b = 0; b < done; ++b) {
            const double v = rows[(size_t)b * nq + i];
            if (!isfinite(v)) continue;
            mean += v, square += v * v, ++m;
        }
        mean = m ? mean / m : 0;
        fq->sigma_mbar[i] = m > 1 ? sqrt(fmax(0, (square - m * mean * mean) / (m - 1))) : INFINITY;
    }
    fq->bootstrap_samples = done;
    free(u), free(f), free(F), free(log_w), free(u_target), free(rows), free(pick), free(block);
    return status;
}

/* WHAM over rung 0's windows alone (their tilts as linear biases): the check. */
static int wham_profile(const job *j, const task_set *set, const pool *p,
                        const set_analysis_options *ao, fq_result *fq, fe_balance *balance) {
    const int resamples = ao->bootstrap;
    const exchange_spec *x = exchange_of(set);
    const int K = x->nwindows, nq = x->q_max - x->q_min + 1;
    int64_t *counts = malloc(sizeof *counts * (size_t)K);
    int32_t **q = calloc((size_t)K, sizeof *q), *lo = malloc(sizeof *lo * (size_t)K),
            *hi = malloc(sizeof *hi * (size_t)K);
    double *bias = malloc(sizeof *bias * (size_t)K * (size_t)nq);
    int status =
        counts && q && lo && hi && bias ? RIPEN_OK : ripen_fail(RIPEN_ENOMEM, "out of memory");
    for (int w = 0; w < K && !status; ++w) {
        counts[w] = p->count[w];
        lo[w] = p->state[w].lo, hi[w] = p->state[w].hi;
        if (!(q[w] = malloc(sizeof **q * (size_t)(counts[w] + 1)))) status = RIPEN_ENOMEM;
        for (int64_t n = 0; q[w] && n < counts[w]; ++n)
            q[w][n] = (int32_t)(p->x[p->offset[w] + n].ncore - p->core0);
    }
    if (!status) status = fe_hard_wall_bias(K, x->q_min, x->q_max, lo, hi, bias);
    for (int w = 0; w < K && !status; ++w) {
        const double tilt = p->state[w].weights.core - set->system.model.mu_core;
        for (int32_t v = lo[w]; v <= hi[w] && tilt != 0; ++v)
            bias[(size_t)w * nq + (v - x->q_min)] = -tilt * v;
    }
    const fe_windows fw = {.nwindows = K,
                           .qmin = x->q_min,
                           .qmax = x->q_max,
                           .nsamples = counts,
                           .samples = (const int32_t *const *)q,
                           .bias = bias};
    fe_bootstrap_result r = {0};
    if (!status) {
        fe_bootstrap_options o = {.method = FE_WHAM,
                                  .nresamples = resamples,
                                  .seed = j->seed ^ (0x5EEDu + (uint64_t)set->first_task),
                                  .q_ref = fq->q_start,
                                  .solver = fe_solver_defaults()};
        o.solver.poll = ao->poll, o.solver.poll_context = ao->poll_context;
        status = fe_bootstrap(&fw, &o, &r);
    }
    if (!status)
        status = fe_balance_point(r.F, x->q_min, x->q_max, fq->q_start, fq->q_end, r.resamples,
                                  r.nresamples, balance);
    for (int i = 0; i < nq && !status; ++i) {
        const double shift = -balance->dmu * (double)(x->q_min + i - fq->q_start);
        fq->f_wham[i] = isfinite(r.F[i]) ? r.F[i] + shift : INFINITY;
        fq->sigma_wham[i] = r.sigma[i];
    }
    if (!status) fq->wham_iterations = r.info.iterations, fq->wham_converged = r.info.converged;
    fe_bootstrap_free(&r);
    for (int w = 0; q && w < K; ++w) free(q[w]);
    free(counts), free(q), free(lo), free(hi), free(bias);
    return status;
}

static int fq_alloc(fq_result *fq, const task_set *set) {
    const exchange_spec *x = exchange_of(set);
    memset(fq, 0, sizeof *fq);
    fq->nq = x->q_max - x->q_min + 1, fq->q_min = x->q_min, fq->nwindows = exchange_states(set);
    fq->mu_sampling = set->system.model.mu_core;
    fq->q_start = q_profile_start(x->q_min, x->q_max), fq->q_end = fq->q_start + x->layer_sites;
    double **fields[5] = {&fq->f_sampling, &fq->f_wham, &fq->sigma_wham, &fq->f_mbar,
                          &fq->sigma_mbar};
    for (int k = 0; k < 5; ++k)
        if (!(*fields[k] = calloc((size_t)fq->nq, sizeof(double)))) return RIPEN_ENOMEM;
    fq->inefficiency = calloc((size_t)fq->nwindows, sizeof(double));
    return fq->inefficiency ? RIPEN_OK : RIPEN_ENOMEM;
}

/* WHAM over rung 0's windows beside MBAR; when rung 0 alone does not determine F(q), its
 * profile is NaN and a warning says why. */
static int wham_check(const job *j, const task_set *set, const pool *p,
                      const set_analysis_options *ao, exchange_outcome *out, fe_balance *bw) {
    const int status = wham_profile(j, set, p, ao, &out->fq, bw);
    if (status != RIPEN_EINVAL) {
        if (!status)
            out->fq.barrier_wham = bw->barrier, out->fq.barrier_wham_sigma = bw->barrier_sd;
        return status;
    }
    char text[1200];
    snprintf(text, sizeof text, "WHAM over rung 0's windows alone not determined (%s)",
             ripen_last_error());
    warn(out->warnings, sizeof out->warnings, text);
    for (int i = 0; i < out->fq.nq; ++i) out->fq.f_wham[i] = out->fq.sigma_wham[i] = NAN;
    out->fq.barrier_wham = out->fq.barrier_wham_sigma = NAN;
    return RIPEN_OK;
}

int exchange_analyze(const job *j, const task_set *set, task_loader load, void *context,
                     const set_analysis_options *o, void **result) {
    exchange_outcome *out = calloc(1, sizeof *out);
    pool p = {0};
    int status = out ? fq_alloc(&out->fq, set) : RIPEN_ENOMEM;
    if (status) status = ripen_fail(RIPEN_ENOMEM, "out of memory");
    if (!status) status = pool_load(j, set, load, context, &p);
    if (!status) status = statistics(set, &p, out);
    fe_balance bw = {0}, bm = {0};
    const int resamples = o->bootstrap < MBAR_MAX_RESAMPLES ? o->bootstrap : MBAR_MAX_RESAMPLES;
    /* MBAR over every state is the estimate; WHAM over rung 0's windows, a check that may
     * fail alone (rung 0 may never move q: that is why the ladder is there) */
    int short_states = 0, dropped = 0;
    fe_info on_data = {0};
    int determined = status ? -1
                            : mbar_profile(j, set, &p, o, resamples, &out->fq, &bm, &short_states,
                                           &dropped, &on_data);
    if (!determined && !on_data.converged) {
        char text[600], stop[300];
        fe_describe_stop(&on_data, fe_solver_defaults().tolerance, stop, sizeof stop);
        snprintf(text, sizeof text,
                 "MBAR over the states on all the data %s: F(q) and the barrier are unreliable "
                 "(states that share almost no samples: see the pairs' acceptance), and their "
                 "bootstrap was skipped (errors undetermined)",
                 stop);
        warn(out->warnings, sizeof out->warnings, text);
    } else if (!determined && dropped == resamples) {
        char text[200];
        snprintf(text, sizeof text,
                 "none of the %d bootstrap resamples was usable (each cut a link between states, "
                 "or MBAR did not settle in %d iterations): the errors are undetermined",
                 resamples, MBAR_RESAMPLE_ITERATIONS);
        warn(out->warnings, sizeof out->warnings, text);
    } else if (!determined && dropped) {
        char text[200];
        snprintf(text, sizeof text,
                 "%d of %d bootstrap resamples dropped (they cut a link between states, or MBAR "
                 "did not settle in %d iterations): the errors rest on the others",
                 dropped, resamples, MBAR_RESAMPLE_ITERATIONS);
        warn(out->warnings, sizeof out->warnings, text);
    }
    if (!determined && short_states) {
        char text[200];
        snprintf(text, sizeof text,
                 "%d of %d states changed q too rarely for their bootstrap (fewer than %d "
                 "blocks of 5 correlation times, or never): the errors are too small",
                 short_states, p.S, FE_MIN_BLOCKS);
        warn(out->warnings, sizeof out->warnings, text);
    }
    if (determined == RIPEN_EINVAL) { /* the data's fault: kept with the reason */
        out->fq.failed = 1;
        snprintf(out->fq.error, sizeof out->fq.error, "%s", ripen_last_error());
    } else if (determined > 0) {
        status = determined;
    } else if (!status) {
        out->fq.mu_star = out->fq.mu_sampling + bm.dmu, out->fq.mu_star_sigma = bm.dmu_sd;
        out->fq.barrier_mbar = bm.barrier, out->fq.barrier_mbar_sigma = bm.barrier_sd;
        status = wham_check(j, set, &p, o, out, &bw);
    }
    if (p.shell.groups && shell_check_warning(&p.shell, "windows of rung 0", out->fq.shell_warning,
                                              sizeof out->fq.shell_warning))
        shell_warning_prepend(out->warnings, sizeof out->warnings, out->fq.shell_warning);
    out->samples_used = p.total;
    snprintf(out->fq.warnings, sizeof out->fq.warnings, "%s", out->warnings);
    pool_free(&p);
    if (status && out) exchange_free_result(out), out = NULL;
    *result = out;
    return status;
}

void exchange_free_result(void *result) {
    exchange_outcome *o = result;
    if (!o) return;
    fq_free(&o->fq);
    free(o->pair_first), free(o->pair_other), free(o->attempts), free(o->accepts);
    free(o->window_trips), free(o->rung_trips), free(o->permutation);
    free(o);
}

void exchange_code_result(codec *c, const task_set *set, void **result) {
    (void)set;
    if (!c->writing && !c->status && !(*result = calloc(1, sizeof(exchange_outcome))))
        c->status = RIPEN_ENOMEM;
    if (c->status) return;
    exchange_outcome *o = *result;
    exchange_outcome fixed = *o; /* the scalars and strings; the arrays follow */
    fixed.fq = (fq_result){0};
    fixed.pair_first = fixed.pair_other = fixed.attempts = fixed.accepts = NULL;
    fixed.window_trips = fixed.rung_trips = fixed.permutation = NULL;
    codec_scalar(c, &fixed, sizeof fixed);
    if (!c->writing) *o = fixed;
    fq_code_fields(c, &o->fq);
    const int64_t P = o->npairs, S = o->nstates, E = o->epochs;
    int64_t *const *columns[4] = {&o->pair_first, &o->pair_other, &o->attempts, &o->accepts};
    for (int k = 0; k < 4; ++k) {
        int64_t room = c->writing ? P : 0;
        codec_array(c, (void **)columns[k], 8, P, &room, 2 * S);
    }
    int64_t room = c->writing ? S : 0;
    codec_array(c, (void **)&o->window_trips, 8, S, &room, S);
    room = c->writing ? S : 0;
    codec_array(c, (void **)&o->rung_trips, 8, S, &room, S);
    room = c->writing ? (E + 1) * S : 0;
    codec_array(c, (void **)&o->permutation, 8, (E + 1) * S, &room, (E + 1) * S);
}

static int write_vector(hid_t g, const char *name, h5_type type, int rank, const hsize_t *dims,
                        const void *data, const char *units, const char *description, int writer) {
    h5_dataset_info info = {
        .name = name, .type = type, .rank = rank, .units = units, .description = description};
    for (int k = 0; k < rank; ++k) info.dims[k] = dims[k];
    const hid_t d = h5_dataset(g, &info);
    if (d < 0) return ripen_fail(RIPEN_EIO, "cannot create exchange/%s", name);
    const hsize_t start[2] = {0, 0};
    const int status = writer ? h5_write_block(d, type, rank, start, dims, data) : RIPEN_OK;
    H5Dclose(d);
    return status;
}

int exchange_h5_write_result(hid_t set_group, const task_set *set, const void *result, int writer) {
    const exchange_outcome *o = result;
    int status = fq_write(set_group, set, &o->fq, writer);
    /* `ripen analyze` replaces the result group (fq); the statistics beside it go too */
    if (!status && H5Lexists(set_group, "statistics", H5P_DEFAULT) > 0 &&
        H5Ldelete(set_group, "statistics", H5P_DEFAULT) < 0)
        status = ripen_fail(RIPEN_EIO, "cannot replace %s/statistics", set->name);
    const hid_t g = status ? -1
                           : h5_group_create(set_group, "statistics",
                                             "the exchanges: acceptance of each neighbouring pair, "
                                             "round trips of each replica, the permutations");
    if (!status && g < 0) status = ripen_fail(RIPEN_EIO, "cannot create statistics");
    if (!status) status = h5_attr_int(g, "samples_used", o->samples_used);
    if (!status) status = h5_attr_string(g, "warnings", o->warnings);
    const hsize_t P[1] = {(hsize_t)o->npairs}, S[1] = {(hsize_t)o->nstates};
    const hsize_t perm[2] = {(hsize_t)o->epochs + 1, (hsize_t)o->nstates};
    if (!status)
        status = write_vector(g, "pair_first", H5_I64, 1, P, o->pair_first, "state",
                              "the lower state of each neighbouring pair tried", writer);
    if (!status)
        status = write_vector(g, "pair_other", H5_I64, 1, P, o->pair_other, "state",
                              "its neighbour (the next window or the next rung)", writer);
    if (!status)
        status = write_vector(g, "attempts", H5_I64, 1, P, o->attempts, NULL,
                              "swaps tried between the pair", writer);
    if (!status)
        status = write_vector(g, "accepts", H5_I64, 1, P, o->accepts, NULL,
                              "swaps accepted between the pair", writer);
    if (!status)
        status =
            write_vector(g, "window_round_trips", H5_I64, 1, S, o->window_trips, NULL,
                         "per replica: trips from the first window to the last and back", writer);
    if (!status)
        status = write_vector(g, "rung_round_trips", H5_I64, 1, S, o->rung_trips, NULL,
                              "per replica: trips from rung 0 to the last rung and back", writer);
    if (!status)
        status = write_vector(g, "permutation", H5_I64, 2, perm, o->permutation, NULL,
                              "per epoch: the replica in each state (state = rung * nwindows + "
                              "window)",
                              writer);
    if (g >= 0) H5Gclose(g);
    return status;
}

void exchange_print_result(const task_set *set, const void *result) {
    const exchange_outcome *o = result;
    fq_print(set, &o->fq);
    int64_t trips = 0;
    for (int s = 0; s < o->nstates; ++s) trips += o->window_trips[s];
    printf("  exchanges: %d pairs, %lld window round trips in all; %s\n", o->npairs,
           (long long)trips, o->warnings[0] ? o->warnings : "no warnings");
}

void exchange_warn_result(const task_set *set, const void *result) {
    const exchange_outcome *o = result;
    if (o->fq.failed)
        fprintf(stderr, "ripen: warning: F(q) of exchange %s not determined: %s%s%s\n", set->name,
                o->fq.error, o->fq.shell_warning[0] ? "; " : "", o->fq.shell_warning);
    else if (o->warnings[0])
        fprintf(stderr, "ripen: warning: exchange %s: %s\n", set->name, o->warnings);
}

void exchange_summary(const job *j, const task_kind *kind, task_loader load, void *context,
                      void *const *results) {
    (void)load, (void)context;
    for (int s = 0; s < j->nsets; ++s) {
        if (j->sets[s].kind != kind || !results[s]) continue;
        const exchange_outcome *o = results[s];
        if (o->fq.failed) {
            printf("  F(q) %-22s not determined (see the warning)\n", j->sets[s].name);
            continue;
        }
        char mbar[128], wham[128];
        fq_format(mbar, sizeof mbar, o->fq.barrier_mbar, o->fq.barrier_mbar_sigma, 2);
        fq_format(wham, sizeof wham, o->fq.barrier_wham, o->fq.barrier_wham_sigma, 2);
        printf("  F(q) %-22s mu_core* = %.3f kT, barrier %s (MBAR, all states%s), ",
               j->sets[s].name, o->fq.mu_star, mbar,
               o->fq.mbar_converged ? "" : ", NOT converged: see the warning");
        if (isnan(o->fq.barrier_wham))
            printf("rung 0 alone: not determined\n");
        else
            printf("%s (WHAM, rung 0%s)\n", wham, o->fq.wham_converged ? "" : ", NOT converged");
        if (o->fq.shell_warning[0])
            printf("  %-27s warning: %s\n", j->sets[s].name, o->fq.shell_warning);
    }
}

void exchange_analysis_cost(const task_set *set, int bootstrap, analysis_cost *cost) {
    const exchange_spec *x = exchange_of(set);
    const int S = exchange_states(set);
    const double raw = (double)S * x->epochs * (double)exchange_samples_per_epoch(x);
    const double n = fmin(raw, (double)mbar_sample_budget(S));
    const double per_q = ceil((double)x->width / (double)(x->width - x->overlap));
    const double mbar = fq_mbar_iteration_terms(S, per_q * x->nrungs, n);
    const double wham = fq_wham_map_terms(x->q_max - x->q_min + 1, per_q, n / x->nrungs);
    const int resamples = bootstrap < MBAR_MAX_RESAMPLES ? bootstrap : MBAR_MAX_RESAMPLES;
    cost->typical_terms =
        (FQ_TYPICAL_MBAR_ITERATIONS + (double)resamples * FQ_TYPICAL_RESAMPLE_MBAR_ITERATIONS) *
            mbar +
        (FQ_TYPICAL_WHAM_MAPS + (double)bootstrap * FQ_TYPICAL_RESAMPLE_WHAM_MAPS) * wham +
        (1.0 + bootstrap) * n / x->nrungs /* histograms */;
    cost->most_terms =
        (fe_solver_defaults().max_iterations + (double)resamples * MBAR_RESAMPLE_ITERATIONS) *
            mbar +
        (1.0 + bootstrap) * fe_solver_defaults().max_iterations * wham;
    snprintf(cost->what, sizeof cost->what,
             "F(q) by MBAR over %d states and %.0f pooled samples with %d bootstrap resamples, "
             "WHAM over rung 0's %d windows with %d",
             S, n, resamples, x->nwindows, bootstrap);
}
