/* The core-shell lattice gas (docs/model.md, ../shared/MODEL.md): its parameters, the readings of
 * the paper that a job can select, and the lookup tables the Monte Carlo kernels run on.
 *
 * States: 0 = solution (empty), 1 = core, 2 = shell. Energies are in kT.
 *
 * The energy is a linear function of five integer counts (site_counts): E = -(w_cc B_cc + w_ss B_ss
 * + w_cs B_cs) - (m_c N_c + m_s N_s), B = bonded pairs, N = sites. The kernels keep the counts
 * exactly (integers), so "running energy = energy recomputed from scratch" holds bit for bit. An
 * energy form is just a choice of the five coefficients (energy_weights).
 *
 * A site's code packs everything a single-site move needs into one byte:
 *     code = state * 81 + (bonded core neighbours) + 9 * (bonded shell neighbours)
 * so an attempt reads one byte and one table entry.
 */
#ifndef RIPEN_MODEL_H
#define RIPEN_MODEL_H

#include <stdint.h>

#include "ripen/engine/lattice.h"
#include "ripen/engine/reservoir.h"

enum { STATE_SOLUTION = 0, STATE_CORE = 1, STATE_SHELL = 2, STATE_COUNT = 3 };
enum { SITE_SHELL_STRIDE = 9, SITE_STATE_STRIDE = 81, SITE_CODES = 243 };

static inline int site_state(uint8_t code) {
    return code / SITE_STATE_STRIDE;
}
static inline int site_env(uint8_t code) {
    return code % SITE_STATE_STRIDE;
}
static inline int site_core_neighbours(uint8_t code) {
    return code % SITE_SHELL_STRIDE;
}
static inline int site_shell_neighbours(uint8_t code) {
    return (code % SITE_STATE_STRIDE) / SITE_SHELL_STRIDE;
}

/* The readings of the paper (MODEL.md). Each enum has a name table for job files and messages. */
typedef enum { ENERGY_INDICATOR, ENERGY_PRODUCT, ENERGY_FORM_COUNT } energy_form;
typedef enum { MOVES_VACANCY, MOVES_IDENTITY, MOVE_SET_COUNT } move_set;
typedef enum { PROPOSALS_SYMMETRIC, PROPOSALS_HASTINGS, PROPOSAL_KIND_COUNT } proposal_kind;
typedef enum { SHELL_GRAND_CANONICAL, SHELL_CANONICAL, SHELL_ENSEMBLE_COUNT } shell_ensemble;

extern const char *const energy_form_names[ENERGY_FORM_COUNT];
extern const char *const move_set_names[MOVE_SET_COUNT];
extern const char *const proposal_kind_names[PROPOSAL_KIND_COUNT];
extern const char *const shell_ensemble_names[SHELL_ENSEMBLE_COUNT];

typedef struct {
    double eps_core;         /* core-core bond, kT (paper: 10) */
    double eps_shell;        /* shell-shell bond, kT (paper: 6.7) */
    double eps_interface;    /* core-shell bond, kT (paper: 6.7) */
    double mu_core;          /* core chemical potential, kT (paper: -30) */
    double mu_shell;         /* shell chemical potential, kT (paper: -20) */
    energy_form form;        /* how eps and mu enter E (default: indicator) */
    move_set moves;          /* insertion/deletion reading (default: vacancy) */
    proposal_kind proposals; /* vacancy moves: symmetric (default) or Hastings-corrected */
    shell_ensemble shell;    /* shell grand-canonical (default) or conserved */
    int bond_directions;     /* 8 (default) or 6: which neighbours carry bonds; swaps use 8 */
    double p_swap;           /* probability that an attempt is a swap (default 1/51) */
} model_params;

void model_params_default(model_params *p);

/* One-line error naming the first parameter out of its domain. */
int model_params_validate(const model_params *p);

/* Sets one parameter from its job-file name and a text value ("move_set", "identity"). Error
 * messages name `path` (e.g. "ensembles[1].model.move_set"). */
int model_params_set_text(model_params *p, const char *key, const char *value, const char *path);
int model_params_set_number(model_params *p, const char *key, double value, const char *path);

/* Looks `name` up in a name table; returns the index or -1. */
int model_lookup_name(const char *const *names, int count, const char *name);

/* The five coefficients of the counts in the energy. */
typedef struct {
    double cc, ss, cs;  /* bond weights (kT): E contains -cc * B_cc etc. */
    double core, shell; /* site weights (kT): E contains -core * N_c - shell * N_s */
} energy_weights;

energy_weights model_energy_weights(const model_params *p);

typedef struct {
    int64_t ncore, nshell;                /* sites in state 1, 2 */
    int64_t bonds_cc, bonds_ss, bonds_cs; /* bonded pairs (with multiplicity) */
} site_counts;

double model_energy(const energy_weights *w, const site_counts *c);

/* How the counts change when one site goes from state `from` to `to`, its bonded neighbours
 * holding `ncore` core and `nshell` shell sites. The single source of truth for energy changes:
 * both the kernels' bookkeeping and the acceptance tables use it. */
site_counts model_counts_change(int from, int to, int ncore, int nshell);

/* Everything a kernel needs, precomputed from the parameters and the lattice. */
typedef struct {
    model_params params;
    energy_weights weights;
    int bond_directions;                           /* 8 or 6 */
    uint8_t bond_multiplicity[LATTICE_DIRECTIONS]; /* bonds along a swap direction (0, 1, 2) */
    uint64_t accept[SITE_CODES][STATE_COUNT];      /* accept a -> b iff 63 random bits < this;
                                                      with a reservoir, a bound over every
                                                      content (model_tables_use_reservoir) */
    double ratio[SITE_CODES][STATE_COUNT];         /* q_rev/q_fwd e^-dE of a -> b, before
                                                      min(1, .); 0 if never proposed */
    double delta_energy[SITE_CODES][STATE_COUNT];  /* dE(a -> b) in kT, for swaps */
    uint8_t insdel_target[STATE_COUNT][8];         /* proposed state, by 3 random bits */
    uint32_t swap_threshold;                       /* swap iff 29 random bits < this */
    int8_t env_delta[STATE_COUNT][STATE_COUNT];    /* neighbour code change when a site a -> b */
    reservoir reservoir;                           /* a finite solution (reservoir.h), or none */
    int finite;                                    /* 1 if `reservoir` has a component */
} model_tables;

/* Tables for `p` on `lat`, with no reservoir (a fixed mu). */
int model_tables_build(model_tables *t, const model_params *p, const lattice *lat);

/* Puts the finite solution `s` on tables just built (nothing changes if `s` has no component):
 * accept[code][b] becomes the threshold at the largest reservoir factor any content allows, an
 * upper bound of the exact one, so every early rejection and filter built on it stays exact;
 * the kernels decide a move that passes it with model_reservoir_threshold(). Call it before a
 * dynamics is opened on the tables: workspaces derive their filters and rates from them. */
void model_tables_use_reservoir(model_tables *t, const reservoir *s);

/* The exact acceptance threshold of a -> `to` at a site of code `code` with a finite solution,
 * the lattice holding the counts `c` before the move: threshold(ratio x reservoir factor), the
 * one expression every kernel uses (the reference kernel with its own ratio, equal bit for bit). */
uint64_t model_reservoir_threshold(const model_tables *t, const site_counts *c, uint8_t code,
                                   int to);

/* The reservoir factor of a -> b with the lattice holding the counts `c` (1 without one). */
static inline double model_reservoir_factor(const model_tables *t, const site_counts *c, int from,
                                            int to) {
    return reservoir_factor(&t->reservoir, c->ncore, c->nshell,
                            (to == STATE_CORE) - (from == STATE_CORE),
                            (to == STATE_SHELL) - (from == STATE_SHELL));
}

/* Acceptance threshold on the 2^63 scale for probability min(1, x). */
uint64_t model_threshold(double x);

/* Probability that an insertion/deletion attempt at a site in state `from` proposes `to`. */
double model_proposal_probability(const model_tables *t, int from, int to);

#endif
