/* The reference kernel: random-sequential Metropolis written as plainly as possible, kept as the
 * speed baseline of `ripen bench` and as the correctness oracle of the fast kernels. It is not in
 * dynamics_all: its trajectory is random-sequential's, bit for bit, so a job gains nothing by
 * choosing it, and tests that loop over every dynamics would only run the same trajectory again
 * at a tenth of the speed.
 *
 * Per attempt: one scalar Philox block (attempt.h's protocol), the neighbour counts recomputed
 * from the bare states of the bonded neighbours, the energy change from model_counts_change() and
 * model_energy(), the acceptance probability through exp() and model_threshold(). Those are the
 * very functions model_tables_build() fills its tables with, in the same order of operations, so
 * every threshold rounds as the tables' do and the comparison with the fast kernel is exact.
 * No code byte, env_delta or lookup table is used to decide; replica_set_state() still keeps the
 * codes, counts and areas, like everywhere else. */
#include "attempt.h"
#include "ripen/engine/dynamics.h"

/* Bonded core and shell neighbours of site i, from the states; `seen_as` overrides the state of
 * site `other` (the swap partner already moved), other = -1 for none. */
static void count_neighbours(const replica *r, int32_t i, int32_t other, int seen_as, int *ncore,
                             int *nshell) {
    *ncore = *nshell = 0;
    for (int d = 0; d < r->tab->bond_directions; ++d) {
        const int32_t j = lattice_neighbour(r->lat, i, d);
        const int s = j == other ? seen_as : site_state(r->site[j]);
        *ncore += s == STATE_CORE;
        *nshell += s == STATE_SHELL;
    }
}

/* Energy change of site i going from a to b with the given bonded neighbours. */
static double site_change_energy(const replica *r, int a, int b, int ncore, int nshell) {
    const site_counts change = model_counts_change(a, b, ncore, nshell);
    return model_energy(&r->tab->weights, &change);
}

/* Both moves return 1 if the replica's watch asked to stop after an accepted move. */
static int insertion_deletion(replica *r, int32_t i, unsigned slot, uint64_t accept_bits,
                              uint64_t attempt) {
    const model_tables *t = r->tab;
    const int a = site_state(r->site[i]);
    const int b = t->insdel_target[a][slot];
    if (a == b) return 0; /* a null proposal */
    int ncore, nshell;
    count_neighbours(r, i, -1, 0, &ncore, &nshell);
    const double forward = model_proposal_probability(t, a, b);
    const double backward = model_proposal_probability(t, b, a);
    const double ratio = backward / forward * exp(-site_change_energy(r, a, b, ncore, nshell));
    /* A finite solution multiplies the ratio by the reservoir's factor at its content now. */
    const double factor = t->finite ? model_reservoir_factor(t, &r->counts, a, b) : 1.0;
    if (accept_bits >= model_threshold(t->finite ? ratio * factor : ratio)) return 0;
    if (!replica_walls_allow(r, a, b)) return 0;
    replica_set_state(r, i, b);
    return replica_report_move(r, attempt);
}

static int swap(replica *r, int32_t i, int direction, uint64_t accept_bits, uint64_t attempt) {
    const int32_t j = lattice_neighbour(r->lat, i, direction);
    const int a = site_state(r->site[i]), b = site_state(r->site[j]);
    if (a == b) return 0;
    int ncore_i, nshell_i, ncore_j, nshell_j;
    count_neighbours(r, i, -1, 0, &ncore_i, &nshell_i);
    count_neighbours(r, j, i, b, &ncore_j, &nshell_j); /* j sees i already turned into b */
    const double delta_energy = site_change_energy(r, a, b, ncore_i, nshell_i) +
                                site_change_energy(r, b, a, ncore_j, nshell_j);
    if (accept_bits >= model_threshold(exp(-delta_energy))) return 0;
    replica_set_state(r, i, b);
    replica_set_state(r, j, a);
    return replica_report_move(r, attempt);
}

static void run(replica *r, void *workspace, uint64_t steps) {
    (void)workspace;
    const uint64_t nsites = (uint64_t)r->lat->nsites;
    for (uint64_t s = 0; s < steps; ++s, ++r->step) {
        const uint64_t first = r->step * nsites;
        for (uint64_t k = 0; k < nsites; ++k) {
            const philox_block w = attempt_random(r, first + k);
            const int32_t i = attempt_pick_site(r, w.v[0], first + k);
            const unsigned slot = w.v[1] >> ATTEMPT_PICK_SHIFT;
            const int stop = (w.v[1] & ATTEMPT_SWAP_MASK) < r->tab->swap_threshold
                                 ? swap(r, i, (int)slot, attempt_accept_bits(w), k)
                                 : insertion_deletion(r, i, slot, attempt_accept_bits(w), k);
            if (stop) return;
        }
    }
}

const dynamics_kind dynamics_reference = {
    .name = "reference",
    .summary = "baseline only: random-sequential recomputing every energy (same trajectory)",
    .run = run,
};
