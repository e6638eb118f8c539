/* The "exchange" task kind: umbrella windows on q that exchange configurations with their
 * neighbours, and a second dimension, a ladder of rungs in the shell's cohesion (eps_shell and
 * eps_interface scaled) or in mu_shell, that exchanges with the physical rung 0 and opens the
 * shell often enough for the windows to sample the crack (docs/jobs.md, "Exchanging windows";
 * docs/free-energy.md).
 *
 * A set's states are (window w, rung r), s = r * nwindows + w. Epoch 0 equilibrates every state
 * from the initial particle (and tunes a tilted window's own mu_core, as the windows kind does).
 * Each later epoch runs every state for `interval` MC steps from the configuration the exchange
 * before it put there, sampling N_core, N_shell and the three bond counts (all any state's
 * reduced potential needs). Between epochs, neighbouring states swap configurations with the
 * Metropolis probability of exchange,
 *     min(1, exp(-[u_a(x_b) + u_b(x_a) - u_a(x_a) - u_b(x_b)])),
 * u_k(x) = E_k(x) (kT, mu terms included) inside state k's walls, +infinity outside: hard walls
 * accept a swap iff each configuration lies inside the other's walls, tilts add
 * (mu_a - mu_b)(N_a - N_b). Pairs alternate: even then odd window pairs, even then odd rung
 * pairs. Every decision comes from Philox keyed by (seed, set, epoch, pair), so the epochs are
 * stages (task_kind.h) and the results do not depend on ranks, resumes or shards (a set runs in
 * one shard). F(q) of the physical state: MBAR over every state's samples (fe_mbar_states), and
 * WHAM over rung 0's windows alone as a check. Stored under /exchange/<name>.
 */
#ifndef RIPEN_EXCHANGE_H
#define RIPEN_EXCHANGE_H

#include <math.h>
#include <stdint.h>

#include "ripen/engine/model.h"
#include "ripen/driver/task_kind.h"

extern const task_kind task_kind_exchange;

enum { EXCHANGE_MAX_RUNGS = 32 };

typedef struct {
    int q_min, q_max, width, overlap, nwindows, layer_sites; /* the windows, as the windows kind */
    int nrungs;                                              /* 1: windows alone */
    double eps_scale[EXCHANGE_MAX_RUNGS]; /* rung r: eps_shell, eps_interface times this */
    double mu_shell[EXCHANGE_MAX_RUNGS];  /* rung r's mu_shell (kT) */
    uint64_t equilibration_steps;         /* epoch 0 */
    uint64_t interval;                    /* MC steps between exchanges (an epoch) */
    int epochs;                           /* sampled epochs after the equilibration */
    uint64_t sample_interval;             /* MC steps between samples */
    int tilt;                             /* each state tunes its own mu_core in epoch 0 */
    int repeat;                           /* a label for independent repeats */
    double shell_tolerance; /* the band of rung 0's shell for the set's warning (shell_check) */
} exchange_spec;

/* A state: its walls on q and its energy's coefficients (mu_core its own, if tilted). */
typedef struct {
    int lo, hi;
    energy_weights weights;
} exchange_state;

/* The reduced potential of counts c (N_core(0) = core0) in state st: +infinity outside its
 * walls. */
static inline double exchange_u(const exchange_state *st, const site_counts *c, int64_t core0) {
    const int64_t q = c->ncore - core0;
    if (q < st->lo || q > st->hi) return INFINITY;
    return model_energy(&st->weights, c);
}

/* ln of the probability of swapping configurations x_a (in state a) and x_b (in state b):
 * -infinity if either would leave the other's walls, else min(0, -Δ). */
double exchange_log_acceptance(const exchange_state *a, const exchange_state *b,
                               const site_counts *xa, const site_counts *xb, int64_t core0);

/* The state (window w, rung r) of a set with `spec`, mu_core its own. */
exchange_state exchange_state_of(const exchange_spec *spec, const model_params *model, int w, int r,
                                 double mu_core);

/* The pairs an exchange after epoch e tries: the first state of each (the other is the next
 * window or the next rung); returns their number. `first` holds up to nwindows * nrungs. */
int exchange_pairs(const exchange_spec *spec, int epoch, int *first, int *other);

#endif
