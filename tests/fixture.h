/* A replica with everything it needs, for tests: lattice, model tables, replica, dynamics. */
#ifndef RIPEN_TEST_FIXTURE_H
#define RIPEN_TEST_FIXTURE_H

#include "check.h"
#include "ripen/engine/dynamics.h"
#include "ripen/engine/error.h"
#include "ripen/engine/initial.h"
#include "ripen/engine/replica.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    lattice lat;
    model_tables tab;
    replica rep;
    uint8_t *states; /* nsites bytes of scratch */
} fixture;

static inline void fixture_open(fixture *f, int lx, int ly, int lz, const model_params *p,
                                uint64_t seed, uint32_t task) {
    REQUIRE(lattice_init(&f->lat, lx, ly, lz) == RIPEN_OK, "%s", ripen_last_error());
    REQUIRE(model_tables_build(&f->tab, p, &f->lat) == RIPEN_OK, "%s", ripen_last_error());
    REQUIRE(replica_init(&f->rep, &f->lat, &f->tab, seed, task) == RIPEN_OK, "%s",
            ripen_last_error());
    f->states = calloc((size_t)f->lat.nsites, 1);
    REQUIRE(f->states != NULL, "out of memory");
}

/* Loads the prism initial condition; returns its report. */
static inline initial_report fixture_prism(fixture *f, int64_t core, int shell) {
    initial_report report;
    REQUIRE(initial_prism(f->states, &f->lat, core, shell, &report) == RIPEN_OK, "%s",
            ripen_last_error());
    REQUIRE(replica_load_states(&f->rep, f->states) == RIPEN_OK, "%s", ripen_last_error());
    return report;
}

/* The lively couplings several tests share: weak bonds and many swaps, so that moves of every
 * kind are accepted often. */
static inline void fixture_lively(model_params *p) {
    p->eps_core = 1.0, p->eps_shell = 0.7, p->eps_interface = 0.5;
    p->mu_core = -2.5, p->mu_shell = -2.0, p->p_swap = 0.3;
}

/* Loads uniformly random states (a test stream keyed by `seed`). */
static inline void fixture_random_states(fixture *f, uint64_t seed) {
    philox_stream s;
    philox_stream_init(&s, philox_key_from_seed(seed), 0, 0, PURPOSE_TEST);
    for (int32_t i = 0; i < f->lat.nsites; ++i)
        f->states[i] = (uint8_t)(philox_stream_next(&s) % 3);
    REQUIRE(replica_load_states(&f->rep, f->states) == RIPEN_OK, "%s", ripen_last_error());
}

static inline void fixture_close(fixture *f) {
    replica_free(&f->rep);
    lattice_free(&f->lat);
    free(f->states);
}

/* Energy of a state array computed from scratch, independent of the replica's bookkeeping. */
static inline double fixture_scratch_energy(const fixture *f, const uint8_t *states) {
    const site_counts c = replica_count_states(&f->lat, f->tab.bond_directions, states);
    return model_energy(&f->tab.weights, &c);
}

#endif
