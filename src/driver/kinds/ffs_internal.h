/* Forward flux sampling's parts (private to the ffs kind): the record, the runs, the rate and the
 * result file. include/ripen/driver/kinds/ffs.h describes the method. */
#ifndef RIPEN_FFS_INTERNAL_H
#define RIPEN_FFS_INTERNAL_H

#include <stdint.h>

#include "ripen/driver/kinds/ffs.h"

struct task_runtime;

enum { FFS_FAILURE = 0, FFS_SUCCESS = 1, FFS_UNDECIDED = 2 }; /* a shot's outcome */

/* One task's result (task_record.data): a walker's crossings and time, or a shot task's shots and
 * successes, and the configurations either stored. */
typedef struct {
    int32_t stage; /* 0: a walker; s >= 1: shots from λ_{s-1} to λ_s */
    /* a walker: its time counts only while it was last in A rather than at the target (h_A),
     * less the excursions that went on to the target (a transition's own length, which the
     * transit time adds back), so that a first passage takes 1/k + transit on average */
    double time;            /* MC steps counted, of the finished segments */
    double excursion_time;  /* MC steps of excursions that reached the target: not counted */
    double excursion_start; /* the running segment's time at the crossing whose excursion is
                               still open (not yet back in A nor at the target); -1: none */
    int64_t segment;        /* the segment running (a new one after each visit to the target) */
    int32_t from_basin;     /* 1: A visited since the last crossing of λ_0 */
    int64_t resets;         /* segments that reached the target */
    int64_t crossings;      /* λ_0 crossings from A so far */
    /* a shot task */
    int64_t next_shot;    /* the next shot's number within the stage */
    int32_t in_shot;      /* 1: a shot is running (the record's lattice is its state) */
    int64_t source_task;  /* the running shot's start: task id ... */
    int64_t source_index; /* ... and configuration index in that task's record */
    int64_t source_root;  /* ... and the walker task it descends from */
    /* configurations stored: walker crossings of λ_0, or shot successes at λ_s */
    int64_t nconfigs, config_capacity;
    int64_t *config_lambda;                            /* λ when stored */
    int64_t *config_parent_task, *config_parent_index; /* where the shot started (-1: walker) */
    int64_t *config_root;                              /* the walker task it descends from */
    int64_t *config_shell;   /* N_shell of each (sites): did the shell stay? (shell_check.h) */
    int64_t *config_exposed; /* exposed core of each (sites, replica_exposed_core) */
    uint8_t *configs;        /* nconfigs x nsites states */
    /* shots done */
    int64_t nshots, shot_capacity;
    int64_t *shot_source_task, *shot_source_index, *shot_root;
    uint8_t *shot_outcome; /* FFS_SUCCESS, FFS_FAILURE, FFS_UNDECIDED */
    double *shot_steps;    /* MC steps the shot ran (fractional at its end) */
} ffs_result;

/* What the analysis of a set gives (task_kind.analyze): the rate and everything behind it. */
typedef struct {
    int n;                  /* interfaces crossed after λ_0: P_0 .. P_{n-1} */
    int determined;         /* 0: no rate (e.g. no crossing at some interface) */
    double flux, flux_time; /* Φ_0 (per MC step) and the walkers' time (MC steps) */
    int64_t flux_crossings; /* N_0 */
    int64_t trials[FFS_MAX_INTERFACES], successes[FFS_MAX_INTERFACES];
    int64_t undecided[FFS_MAX_INTERFACES];
    double p[FFS_MAX_INTERFACES], p_sigma[FFS_MAX_INTERFACES];
    double dispersion_z[FFS_MAX_INTERFACES]; /* over-dispersion of P_i by starting configuration */
    double cumulative[FFS_MAX_INTERFACES + 1]; /* P(λ_i | λ_0) */
    double rate, rate_sigma;             /* k = Φ_0 Π P_i, and Allen-Frenkel-ten Wolde's σ */
    double rate_lower, rate_upper;       /* bootstrap 95% over the walkers (NaN: none) */
    double mfpt, mfpt_lower, mfpt_upper; /* 1/k (MC steps) */
    double median, median_lower, median_upper; /* ln 2 / k: the median of an exponential wait */
    /* The mean length of a transition from its crossing of λ_0 to the target: the summed shot
     * lengths along each complete path, averaged over the paths that reached the target. */
    double transit;
    /* The mean first passage from the basin to the target, 1/k + transit, with its bootstrap
     * 95% interval (the two resampled together). */
    double passage, passage_lower, passage_upper;
    int64_t walkers_crossing; /* walkers with at least one crossing of λ_0 */
    int bootstrap;
    char warnings[2048];
    char shell_warning[512]; /* "" or why the stored configurations lost their shell */
    int npaths;              /* complete transition paths stored */
    int64_t nsites;          /* per configuration */
    uint8_t *paths;          /* npaths x (n + 1) configurations at λ_0 .. λ_n */
    int64_t *path_lambda;
} ffs_rate;

/* The crossings walker `member` collects: its share of `crossings` (at least 1, since crossings
 * >= walkers). */
static inline int64_t ffs_walker_quota(const ffs_spec *f, int64_t member) {
    return f->crossings / f->walkers + (member < f->crossings % f->walkers);
}

/* MC steps a walker has run in its finished segments, counted or not. */
static inline double ffs_walker_elapsed(const ffs_result *x) {
    return x->time + x->excursion_time;
}

int ffs_stage_of(const task_set *set, int64_t member);
int64_t ffs_stage_first(const task_set *set, int stage);
int ffs_stage_tasks(const task_set *set, int stage);
uint32_t ffs_walker_stream(const task_set *set, int walker, int64_t segment);
uint32_t ffs_shot_stream(const task_set *set, int stage, int64_t shot);
/* What a stored configuration is besides its states. */
typedef struct {
    int64_t lambda;                    /* λ */
    int64_t parent_task, parent_index; /* where its shot started (-1: a walker's crossing) */
    int64_t root;                      /* the walker it descends from */
    int64_t shell, exposed;            /* N_shell and the exposed core (sites) */
} ffs_config_info;

int ffs_add_config(ffs_result *x, int64_t nsites, const uint8_t *states,
                   const ffs_config_info *info);
int ffs_add_shot(ffs_result *x, int64_t source_task, int64_t source_index, int64_t root,
                 int outcome, double steps);

/* ffs_run.c */
int ffs_run(const job *j, const task_set *set, int64_t member, task_record *r,
            struct task_runtime *rt);
int ffs_plan(const job *j, const task_set *set, int stage, task_loader load, void *context,
             byte_buffer *plan);

/* ffs_rate.c */
int ffs_analyze(const job *j, const task_set *set, task_loader load, void *context,
                const set_analysis_options *o, void **result);
void ffs_code_result(codec *c, const task_set *set, void **result);
void ffs_free_result(void *result);
void ffs_print_result(const task_set *set, const void *result);
void ffs_warn_result(const task_set *set, const void *result);
void ffs_summary(const job *j, const task_kind *kind, task_loader load, void *context,
                 void *const *results);

/* ffs_write.c */
void ffs_h5_extent(const task_set *set, int64_t member, const task_record *r,
                   int64_t extent[TASK_EXTENTS]);
int ffs_h5_create(hid_t group, const job *j, const task_set *set,
                  const int64_t extent[TASK_EXTENTS], void **handles);
int ffs_h5_write_set(void *handles, const job *j, const task_set *set);
int ffs_h5_write_tasks(void *handles, const task_set *set, int n, const int64_t *members,
                       task_record *const *records);
void ffs_h5_close(void *handles);
int ffs_h5_load_task(hid_t group, const task_set *set, int64_t member, task_record *r);
void ffs_h5_size(const task_set *set, const int64_t extent[TASK_EXTENTS], double *bytes,
                 double *objects);
int ffs_h5_write_result(hid_t group, const task_set *set, const void *result, int writer);

#endif
