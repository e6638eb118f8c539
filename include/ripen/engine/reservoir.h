/* A finite solution (docs/model.md, "Finite solution"): an ideal reservoir of core units, and
 * optionally a separate one of shell units, that the lattice's insertions and deletions exchange
 * units with, the total (lattice + reservoir) conserved.
 *
 * Joint weight of a lattice configuration s with n units in the reservoir, per component:
 *     W(s, n) = exp(-E(s)) x N_ref^n / n!        with n = total - N(s),
 * where E is the lattice energy with the job's mu (docs/model.md). It is the grand-canonical
 * weight exp(-E) with the bath's exp(mu N) replaced by an ideal solution of n units whose
 * chemical potential is mu(n) = mu + ln(n / N_ref): N_ref is the content at which the solution's
 * chemical potential is the job's mu. Hence the factor a move brings to the Metropolis ratio
 * (n the content before the move):
 *     inserting one unit onto the lattice (n -> n - 1):  W'/W = e^{-dE} x n / N_ref
 *     deleting one into the reservoir     (n -> n + 1):  W'/W = e^{-dE} x N_ref / (n + 1)
 * A move that changes no count (a swap) has factor 1; shell -> core in place (the "identity"
 * moves) takes a core unit and gives back a shell unit: the product of both factors. Inserting
 * from an empty reservoir has factor 0. The fixed-mu reading is the limit N_ref, n -> infinity at
 * n / N_ref fixed (= 1).
 *
 * The content n is never stored: it is total - N_lattice, a function of the lattice and the
 * set's constant total, so every dynamics reads it from the replica's counts at the moment a move
 * is decided, and a checkpoint's lattice carries it.
 */
#ifndef RIPEN_RESERVOIR_H
#define RIPEN_RESERVOIR_H

#include <stdint.h>

typedef struct {
    int64_t total;    /* units the lattice and the reservoir share (conserved) */
    double reference; /* N_ref > 0: content at which mu(n) is the model's mu; 0: no reservoir
                         for this component (a fixed mu, as without a finite solution) */
} reservoir_component;

typedef struct {
    reservoir_component core, shell;
} reservoir;

static inline reservoir reservoir_none(void) {
    return (reservoir){{0, 0.0}, {0, 0.0}};
}

static inline int reservoir_component_on(const reservoir_component *c) {
    return c->reference > 0;
}

static inline int reservoir_on(const reservoir *s) {
    return reservoir_component_on(&s->core) || reservoir_component_on(&s->shell);
}

/* Units in the reservoir while the lattice holds `on_lattice`. */
static inline int64_t reservoir_content(const reservoir_component *c, int64_t on_lattice) {
    return c->total - on_lattice;
}

/* The factor of one component for a move that changes its lattice count by `change` (+1, -1 or
 * 0), the lattice holding `on_lattice` before it. */
static inline double reservoir_component_factor(const reservoir_component *c, int64_t on_lattice,
                                                int change) {
    if (!reservoir_component_on(c) || change == 0) return 1.0;
    const int64_t n = reservoir_content(c, on_lattice);
    return change > 0 ? (double)n / c->reference : c->reference / (double)(n + 1);
}

/* The largest factor of a component over every content 0 .. total it can have: an upper bound
 * for any state (n <= total on insertion, n + 1 >= 1 on deletion), so thresholds built from it
 * bound the exact ones (floating-point rounding is monotone). */
static inline double reservoir_component_max_factor(const reservoir_component *c, int change) {
    if (!reservoir_component_on(c) || change == 0) return 1.0;
    return change > 0 ? (double)c->total / c->reference : c->reference;
}

/* The factor of a move changing the lattice's core count by dcore and its shell count by
 * dshell, the lattice holding ncore and nshell before it: core's factor times shell's, in this
 * order, in every kernel. */
static inline double reservoir_factor(const reservoir *s, int64_t ncore, int64_t nshell, int dcore,
                                      int dshell) {
    return reservoir_component_factor(&s->core, ncore, dcore) *
           reservoir_component_factor(&s->shell, nshell, dshell);
}

#endif
