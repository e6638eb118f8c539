/* The "windows" task kind: umbrella-window sets for F(q) (docs/jobs.md, "Umbrella windows";
 * docs/free-energy.md). One task is one window with hard walls on q = N_core - N_core(0),
 * optionally tilted (its own tuned mu_core); a set's analysis is F(q) (fq.h). Stored under
 * /windows/<name>. */
#ifndef RIPEN_WINDOWS_H
#define RIPEN_WINDOWS_H

#include <stdint.h>

#include "ripen/engine/order_parameter.h"
#include "ripen/driver/task.h"
#include "ripen/driver/task_kind.h"

extern const task_kind task_kind_windows;

/* Umbrella windows over q = N_core - N_core(0), hard walls [lo_k, hi_k]. The set's
 * system.model.mu_core is the sampling mu_core. */
typedef struct {
    int q_min, q_max;             /* range of q covered (sites) */
    int width;                    /* q values per window */
    int overlap;                  /* q values shared by neighbouring windows */
    int nwindows;                 /* derived from the above */
    int layer_sites;              /* q of one full new layer (sites); 0 in the file = derive */
    uint64_t equilibration_steps; /* MC steps discarded at the start of each window */
    uint64_t sampling_steps;      /* MC steps sampled per window */
    uint64_t sample_interval;     /* MC steps between q samples */
    int tilt;                     /* 1: each window tunes its own mu_core (order_parameter.h) */
    int repeat;                   /* a label only: copies of a set differing in it are
                                     independent repeats (own task ids, own random streams) */
    double shell_tolerance;       /* the shell's band for the set's warning (shell_check.h) */
} window_set_spec;

/* One window's result (task_record.data). */
typedef struct {
    int lo, hi;          /* the window on q (q = N_core - core_initial) */
    double mu_core;      /* the window's own mu_core (kT): the set's, or its tuned tilt */
    q_tilt tilt;         /* the tuning of a tilted window, while it runs */
    int64_t nq;          /* q samples taken */
    int32_t *q;          /* q per sample */
    double *q_energy;    /* E (kT) per sample at the set's mu_core, for reweighting */
    int32_t *n_shell;    /* N_shell per sample (sites): did the shell stay? (shell_check.h) */
    int32_t *exposed;    /* exposed core per sample (sites, replica_exposed_core): cracks */
    uint64_t sampled_at; /* replica.changes at the last sample (not stored) */
} window_result;

static inline const window_set_spec *window_set_of(const task_set *set) {
    return set->spec;
}
static inline window_result *window_result_of(const task_record *r) {
    return r->data;
}

/* The window grid shared by the windows and exchange kinds: reads q_min, q_max, width, overlap
 * and layer_sites of a job entry into `g` (keys absent keep g's values); then, once the initial
 * particle is known, checks the grid against it and the system (q within the lattice, and
 * within the core units a finite solution holds) and derives nwindows (and layer_sites if 0). */
struct cJSON;
int window_grid_parse(const struct cJSON *obj, const char *path, window_set_spec *g);
int window_grid_prepare(window_set_spec *g, const char *path, const initial_report *report,
                        const system_spec *sys);

/* q samples per window. */
int64_t window_sample_count(const window_set_spec *w);
/* Hard walls of window k. */
void window_bounds(const window_set_spec *w, int k, int *lo, int *hi);

#endif
