/* The crack datasets of an ensemble (ensemble_crack.h). */
#include "ensemble_crack.h"

#include "h5util.h"
#include "ripen/engine/error.h"

#include <math.h>
#include <stdlib.h>

static const int64_t fill_i64 = -1;
static const int32_t fill_i32 = -1;
static const uint8_t fill_none = 255;
static const double fill_nan = NAN;

crack_series ensemble_crack_series(const ensemble_spec *e, const replica_result *x) {
    const int32_t *size = e->criterion == DOUBLING_AREA    ? x->a_core
                          : e->criterion == DOUBLING_COUNT ? x->n_core
                                                           : x->cluster;
    return (crack_series){.n = x->nsamples,
                          .interval = (int64_t)e->sample_interval,
                          .exposed = x->exposed,
                          .n_core = x->n_core,
                          .size = size,
                          .initial = x->initial[e->criterion],
                          .tau = x->tau[e->criterion]};
}

/* ---- creating ---- */

typedef struct {
    int index;
    const char *name;
    h5_type type;
    const void *fill;
    const char *units, *description;
} crack_dataset;

static const crack_dataset per_replica[] = {
    {CRACK_FIRST_EXPOSURE, "first_exposure", H5_I64, &fill_i64, "MC steps",
     "the first sample with exposed core (core sites with a solution neighbour); -1: none"},
    {CRACK_ONSET, "onset", H5_I64, &fill_i64, "MC steps",
     "onset of growth: the last sample, no later than tau, with the doubling criterion's size "
     "at most 5% above its initial value; -1 if the replica did not double and had not grown "
     "by more than 5% at its last sample"},
    {CRACK_GROWTH_TIME, "growth_time", H5_I64, &fill_i64, "MC steps",
     "tau - onset: how long the growth itself took; -1 if either is undefined"},
    {CRACK_SHELL_CHANGE, "shell_change", H5_F64, &fill_nan, "sites",
     "N_shell at tau minus N_shell at step 0; NaN if the replica did not double"},
    {CRACK_EPISODES, "crack_episodes", H5_I64, &fill_i64, "episodes",
     "crack episodes: maximal runs of samples with exposed core"},
    {CRACK_HEALED, "healed_episodes", H5_I64, &fill_i64, "episodes",
     "crack episodes that closed (the core covered again) with no net growth of N_core"},
};

static const crack_dataset per_episode[] = {
    {CRACK_EPISODE_START, "episode_start", H5_I64, &fill_i64, "MC steps",
     "the first sample of each crack episode (row r holds crack_episodes[r] episodes, then "
     "fill)"},
    {CRACK_EPISODE_END, "episode_end", H5_I64, &fill_i64, "MC steps",
     "the first sample with the core covered again, or the last sample if the episode was "
     "still open"},
    {CRACK_EPISODE_PEAK, "episode_peak", H5_I32, &fill_i32, "sites",
     "the most exposed core sampled during the episode"},
    {CRACK_EPISODE_GROWTH, "episode_growth", H5_I64, &fill_i64, "sites",
     "N_core at episode_end minus N_core at the last sample before the episode began (may be "
     "-1 itself: read crack_episodes[r] entries of row r)"},
    {CRACK_EPISODE_CLOSED, "episode_closed", H5_U8, &fill_none, NULL,
     "1 if the core was covered again before the series ended, 0 if the episode was still "
     "open; 255: no episode"},
};

enum {
    PER_REPLICA = sizeof per_replica / sizeof *per_replica,
    PER_EPISODE = sizeof per_episode / sizeof *per_episode
};

void ensemble_crack_create(hid_t g, hsize_t replicas, hsize_t episodes, hid_t *d) {
    for (int k = 0; k < PER_REPLICA; ++k)
        d[per_replica[k].index] =
            h5_dataset(g, &(h5_dataset_info){.name = per_replica[k].name,
                                             .type = per_replica[k].type,
                                             .rank = 1,
                                             .dims = {replicas},
                                             .fill = per_replica[k].fill,
                                             .units = per_replica[k].units,
                                             .description = per_replica[k].description});
    for (int k = 0; k < PER_EPISODE; ++k)
        d[per_episode[k].index] =
            h5_dataset(g, &(h5_dataset_info){.name = per_episode[k].name,
                                             .type = per_episode[k].type,
                                             .rank = 2,
                                             .dims = {replicas, episodes},
                                             .fill = per_episode[k].fill,
                                             .units = per_episode[k].units,
                                             .description = per_episode[k].description,
                                             .compress = 1});
}

/* ---- writing ---- */

/* A replica's summary: independent writes of its row. */
static int write_summary(const hid_t *d, const ensemble_spec *e, int64_t member,
                         const task_record *r) {
    const replica_result *x = r->data;
    const crack_series s = ensemble_crack_series(e, x);
    const crack_summary c = crack_summarise(&s);
    const double change =
        x->shell_at_tau >= 0 ? (double)(x->shell_at_tau - r->shell_initial) : (double)NAN;
    const hsize_t row[1] = {(hsize_t)member}, one[1] = {1};
    const int indices[] = {CRACK_FIRST_EXPOSURE, CRACK_ONSET, CRACK_GROWTH_TIME, CRACK_EPISODES,
                           CRACK_HEALED};
    const int64_t *values[] = {&c.first_exposure, &c.onset, &c.growth_time, &c.episodes, &c.healed};
    int status = h5_write_block(d[CRACK_SHELL_CHANGE], H5_F64, 1, row, one, &change);
    for (size_t k = 0; k < sizeof indices / sizeof *indices && !status; ++k)
        status = h5_write_block(d[indices[k]], H5_I64, 1, row, one, values[k]);
    return status;
}

/* Column `which` of a replica's episodes, in its dataset's memory type. */
static void episode_column(int which, const crack_episode *ep, int64_t n, void *out) {
    int64_t *i64 = out;
    int32_t *i32 = out;
    uint8_t *u8 = out;
    for (int64_t k = 0; k < n; ++k) {
        if (which == CRACK_EPISODE_START) i64[k] = ep[k].start;
        if (which == CRACK_EPISODE_END) i64[k] = ep[k].end;
        if (which == CRACK_EPISODE_PEAK) i32[k] = ep[k].peak;
        if (which == CRACK_EPISODE_GROWTH) i64[k] = ep[k].growth;
        if (which == CRACK_EPISODE_CLOSED) u8[k] = ep[k].closed;
    }
}

int ensemble_crack_write(const hid_t *d, const ensemble_spec *e, int n, const int64_t *members,
                         task_record *const *records) {
    enum { BATCH = 64 };
    int status = n > BATCH ? ripen_fail(RIPEN_EINVAL, "too many replicas in one write") : RIPEN_OK;
    if (status) n = 0;
    crack_episode *episodes[BATCH] = {0};
    void *columns[BATCH] = {0};
    hsize_t starts[2 * BATCH] = {0}, counts[2 * BATCH] = {0};
    for (int i = 0; i < n && !status; ++i) {
        const crack_series s = ensemble_crack_series(e, records[i]->data);
        const int64_t count = crack_episodes(&s, NULL, 0);
        episodes[i] = malloc(sizeof **episodes * (size_t)(count + 1));
        columns[i] = malloc(sizeof(int64_t) * (size_t)(count + 1));
        if (!episodes[i] || !columns[i]) {
            status = ripen_fail(RIPEN_ENOMEM, "out of memory for crack episodes");
            break;
        }
        crack_episodes(&s, episodes[i], count);
        starts[2 * i] = (hsize_t)members[i], counts[2 * i] = 1, counts[2 * i + 1] = (hsize_t)count;
        status = write_summary(d, e, members[i], records[i]);
    }
    /* Collective from here: the same calls on every rank, with no blocks after a failure. */
    const int blocks = status ? 0 : n;
    for (int k = 0; k < PER_EPISODE; ++k) {
        for (int i = 0; i < blocks; ++i)
            episode_column(per_episode[k].index, episodes[i], (int64_t)counts[2 * i + 1],
                           columns[i]);
        const int written = h5_write_blocks(d[per_episode[k].index], per_episode[k].type, 2, blocks,
                                            starts, counts, (const void *const *)columns);
        if (!status) status = written;
    }
    for (int i = 0; i < n; ++i) free(episodes[i]), free(columns[i]);
    return status;
}

/* ---- reading back and sizes ---- */

int ensemble_crack_load(hid_t g, int64_t member, const task_record *r, int64_t *shell_at_tau) {
    const hsize_t row[1] = {(hsize_t)member}, one[1] = {1};
    double change = NAN;
    const int status = h5_read_from(g, "shell_change", H5_F64, 1, row, one, &change);
    *shell_at_tau = isnan(change) ? -1 : r->shell_initial + (int64_t)change;
    return status;
}

double ensemble_crack_bytes(double replicas, double episodes) {
    return replicas * 6 * 8 + replicas * episodes * (8 + 8 + 4 + 8 + 1);
}
