/* A job's "reservoir" (docs/jobs.md): the finite solution of reservoir.h as the job gives it,
 * and resolved once per task set against its initial particle (job.c's check_system): the units
 * the lattice and the reservoir share are the particle's plus the solution's.
 *
 * The job's mu is the solution's chemical potential at the reference content N_ref (default: the
 * initial content N), so mu(n) = mu + ln(n / N_ref). The volume V enters the dynamics not at
 * all; with it the file records the solution's concentrations and its standard chemical
 * potential mu0 = mu - ln(N_ref / V) (mu at one unit per site volume), so that two jobs can be
 * compared at the same mu0 (docs/model.md, "Finite solution").
 */
#ifndef RIPEN_RESERVOIR_SPEC_H
#define RIPEN_RESERVOIR_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "ripen/engine/model.h"
#include "ripen/engine/reservoir.h"

typedef struct {
    int given;              /* 0: no reservoir, a fixed mu (the default) */
    int64_t core_units;     /* N: core units in the solution at step 0 */
    double core_reference;  /* N_ref: content at which mu_core is the model's (default N) */
    int shell;              /* 1: a shell reservoir too */
    int64_t shell_units;    /* M: shell units in the solution at step 0 */
    double shell_reference; /* M_ref (default M) */
    double volume;          /* V in site volumes (0 until resolved: default the lattice's sites) */
    reservoir resolved;     /* the engine's: totals = the particle's + the solution's units */
} reservoir_spec;

static inline reservoir_spec reservoir_spec_none(void) {
    return (reservoir_spec){.resolved = {{0, 0.0}, {0, 0.0}}};
}

/* Resolves against the initial particle (core_initial and shell_initial sites on a lattice of
 * nsites): totals, the default volume. One-line error naming `path` for a shell reservoir with a
 * canonical shell. No reservoir: nothing to do. */
int reservoir_spec_resolve(reservoir_spec *s, int64_t core_initial, int64_t shell_initial,
                           int64_t nsites, shell_ensemble ensemble, const char *path);

/* mu0 = mu - ln(N_ref / V) of a component: the standard chemical potential (kT). */
double reservoir_spec_mu0(const reservoir_spec *s, double mu, double reference);

/* The reservoir as given, for messages: "core 500 (ref 500), volume 25600". */
void reservoir_spec_describe(const reservoir_spec *s, char *out, size_t capacity);

#endif
