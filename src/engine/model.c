#include "ripen/engine/model.h"

#include "ripen/engine/error.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* Energies beyond this many kT are surely typos; it also keeps exp() and the counts far from
 * overflow. */
#define MODEL_MAX_ENERGY 1000.0

const char *const energy_form_names[ENERGY_FORM_COUNT] = {"indicator", "product"};
const char *const move_set_names[MOVE_SET_COUNT] = {"vacancy", "identity"};
const char *const proposal_kind_names[PROPOSAL_KIND_COUNT] = {"symmetric", "hastings"};
const char *const shell_ensemble_names[SHELL_ENSEMBLE_COUNT] = {"grand-canonical", "canonical"};

void model_params_default(model_params *p) {
    *p = (model_params){
        .eps_core = 10.0,
        .eps_shell = 6.7,
        .eps_interface = 6.7,
        .mu_core = -30.0,
        .mu_shell = -20.0,
        .form = ENERGY_INDICATOR,
        .moves = MOVES_VACANCY,
        .proposals = PROPOSALS_SYMMETRIC,
        .shell = SHELL_GRAND_CANONICAL,
        .bond_directions = 8,
        .p_swap = 1.0 / 51.0,
    };
}

/* The numeric parameters, by job-file name. */
typedef struct {
    const char *key;
    size_t offset;
} number_field;

static const number_field energy_fields[] = {
    {"eps_core", offsetof(model_params, eps_core)},
    {"eps_shell", offsetof(model_params, eps_shell)},
    {"eps_interface", offsetof(model_params, eps_interface)},
    {"mu_core", offsetof(model_params, mu_core)},
    {"mu_shell", offsetof(model_params, mu_shell)},
};
enum { ENERGY_FIELD_COUNT = sizeof energy_fields / sizeof energy_fields[0] };

static double *energy_field(model_params *p, int index) {
    return (double *)((char *)p + energy_fields[index].offset);
}

int model_params_validate(const model_params *p) {
    for (int i = 0; i < ENERGY_FIELD_COUNT; ++i) {
        const double value = *energy_field((model_params *)p, i);
        if (!isfinite(value) || fabs(value) > MODEL_MAX_ENERGY)
            return ripen_fail(RIPEN_EINVAL, "model.%s = %g: must be a finite number in [%g, %g] kT",
                              energy_fields[i].key, value, -MODEL_MAX_ENERGY, MODEL_MAX_ENERGY);
    }
    if (!(p->p_swap >= 0.0 && p->p_swap <= 1.0))
        return ripen_fail(RIPEN_EINVAL, "model.p_swap = %g: must be a probability in [0, 1]",
                          p->p_swap);
    if (p->bond_directions != 8 && p->bond_directions != 6)
        return ripen_fail(RIPEN_EINVAL, "model.bond_neighbours = %d: must be 8 or 6",
                          p->bond_directions);
    if ((unsigned)p->form >= ENERGY_FORM_COUNT || (unsigned)p->moves >= MOVE_SET_COUNT ||
        (unsigned)p->proposals >= PROPOSAL_KIND_COUNT || (unsigned)p->shell >= SHELL_ENSEMBLE_COUNT)
        return ripen_fail(RIPEN_EINVAL, "model: an option holds an undefined value");
    return RIPEN_OK;
}

int model_lookup_name(const char *const *names, int count, const char *name) {
    for (int i = 0; i < count; ++i)
        if (strcmp(names[i], name) == 0) return i;
    return -1;
}

static int set_choice(int *field, const char *const *names, int count, const char *value,
                      const char *path) {
    const int index = model_lookup_name(names, count, value);
    if (index >= 0) {
        *field = index;
        return RIPEN_OK;
    }
    char allowed[256] = "";
    for (int i = 0; i < count; ++i) {
        strncat(allowed, i ? ", \"" : "\"", sizeof allowed - strlen(allowed) - 1);
        strncat(allowed, names[i], sizeof allowed - strlen(allowed) - 1);
        strncat(allowed, "\"", sizeof allowed - strlen(allowed) - 1);
    }
    return ripen_fail(RIPEN_EINVAL, "%s = \"%s\": must be one of %s", path, value, allowed);
}

int model_params_set_text(model_params *p, const char *key, const char *value, const char *path) {
    int choice;
    int status;
    if (strcmp(key, "energy_form") == 0) {
        choice = p->form;
        status = set_choice(&choice, energy_form_names, ENERGY_FORM_COUNT, value, path);
        p->form = (energy_form)choice;
    } else if (strcmp(key, "move_set") == 0) {
        choice = p->moves;
        status = set_choice(&choice, move_set_names, MOVE_SET_COUNT, value, path);
        p->moves = (move_set)choice;
    } else if (strcmp(key, "proposals") == 0) {
        choice = p->proposals;
        status = set_choice(&choice, proposal_kind_names, PROPOSAL_KIND_COUNT, value, path);
        p->proposals = (proposal_kind)choice;
    } else if (strcmp(key, "shell_ensemble") == 0) {
        choice = p->shell;
        status = set_choice(&choice, shell_ensemble_names, SHELL_ENSEMBLE_COUNT, value, path);
        p->shell = (shell_ensemble)choice;
    } else {
        return ripen_fail(RIPEN_EINVAL, "%s: unknown text parameter \"%s\"", path, key);
    }
    return status;
}

int model_params_set_number(model_params *p, const char *key, double value, const char *path) {
    for (int i = 0; i < ENERGY_FIELD_COUNT; ++i)
        if (strcmp(key, energy_fields[i].key) == 0) {
            if (!isfinite(value) || fabs(value) > MODEL_MAX_ENERGY)
                return ripen_fail(RIPEN_EINVAL, "%s = %g: must be a finite number in [%g, %g] kT",
                                  path, value, -MODEL_MAX_ENERGY, MODEL_MAX_ENERGY);
            *energy_field(p, i) = value;
            return RIPEN_OK;
        }
    if (strcmp(key, "p_swap") == 0) {
        if (!(value >= 0.0 && value <= 1.0))
            return ripen_fail(RIPEN_EINVAL, "%s = %g: must be a probability in [0, 1]", path,
                              value);
        p->p_swap = value;
        return RIPEN_OK;
    }
    if (strcmp(key, "bond_neighbours") == 0) {
        if (value != 8.0 && value != 6.0)
            return ripen_fail(RIPEN_EINVAL, "%s = %g: must be 8 or 6", path, value);
        p->bond_directions = (int)value;
        return RIPEN_OK;
    }
    return ripen_fail(RIPEN_EINVAL, "%s: unknown numeric parameter \"%s\"", path, key);
}

/* ---- energy forms: one function per reading of Eq. (5) ---- */

/* E = -sum eps(n_i, n_j) - sum mu(n_i), eps and mu indexed by state (MODEL.md default). */
static energy_weights indicator_weights(const model_params *p) {
    return (energy_weights){.cc = p->eps_core,
                            .ss = p->eps_shell,
                            .cs = p->eps_interface,
                            .core = p->mu_core,
                            .shell = p->mu_shell};
}

/* Eq. (5) read literally: eps(n_i, n_j) n_i n_j and mu(n_i) n_i, so shell (n = 2) weighs double. */
static energy_weights product_weights(const model_params *p) {
    return (energy_weights){.cc = p->eps_core,
                            .ss = 4.0 * p->eps_shell,
                            .cs = 2.0 * p->eps_interface,
                            .core = p->mu_core,
                            .shell = 2.0 * p->mu_shell};
}

static energy_weights (*const energy_form_weights[ENERGY_FORM_COUNT])(const model_params *) = {
    indicator_weights, product_weights};

energy_weights model_energy_weights(const model_params *p) {
    return energy_form_weights[p->form](p);
}

double model_energy(const energy_weights *w, const site_counts *c) {
    return -(w->cc * (double)c->bonds_cc + w->ss * (double)c->bonds_ss +
             w->cs * (double)c->bonds_cs) -
           (w->core * (double)c->ncore + w->shell * (double)c->nshell);
}

site_counts model_counts_change(int from, int to, int ncore, int nshell) {
    const int dcore = (to == STATE_CORE) - (from == STATE_CORE);
    const int dshell = (to == STATE_SHELL) - (from == STATE_SHELL);
    return (site_counts){.ncore = dcore,
                         .nshell = dshell,
                         .bonds_cc = (int64_t)ncore * dcore,
                         .bonds_ss = (int64_t)nshell * dshell,
                         .bonds_cs = (int64_t)nshell * dcore + (int64_t)ncore * dshell};
}

/* ---- move sets: the proposal of an insertion/deletion attempt ---- */

/* Fills the 8 equally likely proposals (by 3 random bits) for a site in state `from`; a proposal
 * equal to `from` is a null move. Each is symmetric unless `hastings` drops the null half. */
static void vacancy_proposals(int from, int hastings, uint8_t target[8]) {
    for (int k = 0; k < 8; ++k) {
        if (from == STATE_SOLUTION)
            target[k] = k < 4 ? STATE_CORE : STATE_SHELL; /* insert core or shell, 1/2 each */
        else
            target[k] = (k < 4 || hastings) ? STATE_SOLUTION : (uint8_t)from; /* delete */
    }
}

/* The new state is uniform over the two other states: shell <-> core happens in place. */
static void identity_proposals(int from, uint8_t target[8]) {
    const int first = from == STATE_SOLUTION ? STATE_CORE : STATE_SOLUTION;
    const int second = from == STATE_SHELL ? STATE_CORE : STATE_SHELL;
    for (int k = 0; k < 8; ++k) target[k] = (uint8_t)(k < 4 ? first : second);
}

static void build_proposals(model_tables *t, const model_params *p) {
    for (int from = 0; from < STATE_COUNT; ++from) {
        uint8_t *target = t->insdel_target[from];
        if (p->moves == MOVES_VACANCY)
            vacancy_proposals(from, p->proposals == PROPOSALS_HASTINGS, target);
        else
            identity_proposals(from, target);
        /* A conserved shell: proposals that create or destroy shell become null moves. */
        if (p->shell == SHELL_CANONICAL)
            for (int k = 0; k < 8; ++k)
                if ((target[k] == STATE_SHELL) != (from == STATE_SHELL)) target[k] = (uint8_t)from;
    }
}

double model_proposal_probability(const model_tables *t, int from, int to) {
    int hits = 0;
    for (int k = 0; k < 8; ++k) hits += t->insdel_target[from][k] == to;
    return hits / 8.0;
}

uint64_t model_threshold(double x) {
    if (!(x > 0.0)) return 0;
    if (x >= 1.0) return UINT64_C(1) << 63;
    return (uint64_t)ldexp(x, 63);
}

int model_tables_build(model_tables *t, const model_params *p, const lattice *lat) {
    int status = model_params_validate(p);
    if (status) return status;
    *t = (model_tables){.params = *p, .bond_directions = p->bond_directions};
    t->weights = model_energy_weights(p);
    for (int d = 0; d < LATTICE_DIRECTIONS; ++d)
        t->bond_multiplicity[d] = (uint8_t)lattice_bond_multiplicity(lat, d, p->bond_directions);
    build_proposals(t, p);
    t->swap_threshold = (uint32_t)llround(p->p_swap * (double)(1u << 29));
    for (int a = 0; a < STATE_COUNT; ++a)
        for (int b = 0; b < STATE_COUNT; ++b)
            t->env_delta[a][b] =
                (int8_t)(((b == STATE_CORE) - (a == STATE_CORE)) +
                         SITE_SHELL_STRIDE * ((b == STATE_SHELL) - (a == STATE_SHELL)));
    for (int code = 0; code < SITE_CODES; ++code) {
        const int a = site_state((uint8_t)code);
        const int ncore = site_core_neighbours((uint8_t)code);
        const int nshell = site_shell_neighbours((uint8_t)code);
        for (int b = 0; b < STATE_COUNT; ++b) {
            const site_counts change = model_counts_change(a, b, ncore, nshell);
            const double delta_energy = model_energy(&t->weights, &change);
            t->delta_energy[code][b] = delta_energy;
            const double forward = model_proposal_probability(t, a, b);
            const double backward = model_proposal_probability(t, b, a);
            /* A proposal with no reverse would break detailed balance: the tables forbid it. */
            if (a != b && (forward > 0.0) != (backward > 0.0))
                return ripen_fail(RIPEN_EINVAL, "move set %s: %d -> %d has no reverse move",
                                  move_set_names[p->moves], a, b);
            t->ratio[code][b] =
                (a == b || forward == 0.0) ? 0.0 : backward / forward * exp(-delta_energy);
            t->accept[code][b] = model_threshold(t->ratio[code][b]);
        }
    }
    t->reservoir = reservoir_none();
    return RIPEN_OK;
}

void model_tables_use_reservoir(model_tables *t, const reservoir *s) {
    t->reservoir = *s;
    t->finite = reservoir_on(s);
    if (!t->finite) return;
    for (int code = 0; code < SITE_CODES; ++code) {
        const int a = site_state((uint8_t)code);
        for (int b = 0; b < STATE_COUNT; ++b) {
            const double bound =
                reservoir_component_max_factor(&s->core, (b == STATE_CORE) - (a == STATE_CORE)) *
                reservoir_component_max_factor(&s->shell, (b == STATE_SHELL) - (a == STATE_SHELL));
            t->accept[code][b] = model_threshold(t->ratio[code][b] * bound);
        }
    }
}

uint64_t model_reservoir_threshold(const model_tables *t, const site_counts *c, uint8_t code,
                                   int to) {
    return model_threshold(t->ratio[code][to] * model_reservoir_factor(t, c, site_state(code), to));
}
