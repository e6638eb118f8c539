/* The exchange kind's parts (private): the record, the plan, the result file and F(q). */
#ifndef RIPEN_EXCHANGE_INTERNAL_H
#define RIPEN_EXCHANGE_INTERNAL_H

#include "ripen/driver/kinds/exchange.h"
#include "ripen/driver/kinds/fq.h"
#include "ripen/engine/order_parameter.h"

struct task_runtime;

/* Per sample: N_core, N_shell, B_cc, B_ss, B_cs (every state's reduced potential) and the exposed
 * core (replica_exposed_core: where the shell is open). */
enum { EXCHANGE_FIELDS = 6 };

/* One state's epoch (task_record.data); the final lattice stays in the record's states. */
typedef struct {
    int32_t epoch, state;
    int64_t replica;   /* the travelling configuration's label: its state at epoch 0 */
    int64_t source;    /* the task of epoch - 1 whose configuration it started from (-1: none) */
    double mu_core;    /* the state's own mu_core (tuned in epoch 0 if tilted) */
    q_tilt tilt;       /* the tuning, while epoch 0 runs */
    site_counts final; /* the counts at the epoch's end: the next exchange reads them */
    int64_t nsamples;
    int32_t *samples; /* nsamples x EXCHANGE_FIELDS */
} exchange_result;

static inline const exchange_spec *exchange_of(const task_set *set) {
    return set->spec;
}

/* Per state in a plan: where its configuration comes from. */
typedef struct {
    int64_t source, replica;
    double mu_core;
    site_counts counts;
} exchange_plan_state;

/* The F(q) of the physical state and the exchange statistics. */
typedef struct {
    fq_result fq; /* F_mbar: MBAR over every state; F_wham: WHAM over rung 0's windows */
    int nstates, npairs, epochs;
    int64_t *pair_first, *pair_other, *attempts, *accepts; /* per neighbouring pair */
    int64_t *window_trips, *rung_trips;                    /* round trips of each replica */
    int64_t *permutation; /* (epochs + 1) x states: the replica in each state */
    int64_t samples_used; /* pooled samples MBAR saw (after thinning) */
    char warnings[2048];
} exchange_outcome;

int exchange_states(const task_set *set);
int64_t exchange_samples_per_epoch(const exchange_spec *x);
int exchange_plan(const job *j, const task_set *set, int epoch, task_loader load, void *context,
                  byte_buffer *plan);
int exchange_read_plan(const task_inputs *in, int states, const exchange_plan_state **p,
                       const int64_t **pairs, int64_t *npairs);

int exchange_h5_create(hid_t group, const job *j, const task_set *set,
                       const int64_t extent[TASK_EXTENTS], void **handles);
int exchange_h5_write_set(void *handles, const job *j, const task_set *set);
int exchange_h5_write_tasks(void *handles, const task_set *set, int n, const int64_t *members,
                            task_record *const *records);
void exchange_h5_close(void *handles);
int exchange_h5_load_task(hid_t group, const task_set *set, int64_t member, task_record *r);
void exchange_h5_size(const task_set *set, const int64_t extent[TASK_EXTENTS], double *bytes,
                      double *objects);
int exchange_analyze(const job *j, const task_set *set, task_loader load, void *context,
                     const set_analysis_options *o, void **result);
void exchange_analysis_cost(const task_set *set, int bootstrap, analysis_cost *cost);
void exchange_code_result(codec *c, const task_set *set, void **result);
void exchange_free_result(void *result);
int exchange_h5_write_result(hid_t group, const task_set *set, const void *result, int writer);
void exchange_print_result(const task_set *set, const void *result);
void exchange_warn_result(const task_set *set, const void *result);
void exchange_summary(const job *j, const task_kind *kind, task_loader load, void *context,
                      void *const *results);

#endif
