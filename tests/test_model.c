/* Model parameters and tables: domain errors name the parameter and its range; proposal
 * probabilities and Hastings factors of every move set; the doubling tracker. */
#include "fixture.h"
#include "ripen/engine/observe.h"

#include <math.h>

static void expect_invalid(model_params p, const char *needle) {
    CHECK(model_params_validate(&p) == RIPEN_EINVAL, "accepted (%s)", needle);
    CHECK(strstr(ripen_last_error(), needle) != NULL, "message \"%s\" lacks \"%s\"",
          ripen_last_error(), needle);
}

static void check_validation(void) {
    model_params p;
    model_params_default(&p);
    CHECK(model_params_validate(&p) == RIPEN_OK, "defaults rejected: %s", ripen_last_error());
    model_params q = p;
    q.eps_core = NAN;
    expect_invalid(q, "model.eps_core = nan");
    q = p, q.mu_shell = INFINITY;
    expect_invalid(q, "model.mu_shell = inf");
    q = p, q.eps_interface = 1e9;
    expect_invalid(q, "model.eps_interface");
    q = p, q.p_swap = -0.1;
    expect_invalid(q, "model.p_swap = -0.1");
    q = p, q.p_swap = 1.5;
    expect_invalid(q, "must be a probability in [0, 1]");
    q = p, q.p_swap = NAN;
    expect_invalid(q, "model.p_swap");
    q = p, q.bond_directions = 7;
    expect_invalid(q, "must be 8 or 6");

    CHECK(model_params_set_text(&q, "move_set", "identity", "job.move_set") == RIPEN_OK, "set");
    CHECK(q.moves == MOVES_IDENTITY, "move_set not set");
    CHECK(model_params_set_text(&q, "move_set", "idnetity", "ensembles[2].move_set") ==
              RIPEN_EINVAL,
          "typo accepted");
    CHECK(strstr(ripen_last_error(), "ensembles[2].move_set = \"idnetity\": must be one of "
                                     "\"vacancy\", \"identity\"") != NULL,
          "message: %s", ripen_last_error());
    CHECK(model_params_set_number(&q, "p_swap", 2.0, "x.p_swap") == RIPEN_EINVAL, "p_swap 2");
    CHECK(model_params_set_number(&q, "eps_core", 12.5, "x.eps_core") == RIPEN_OK &&
              q.eps_core == 12.5,
          "eps_core not set");
    CHECK(model_params_set_number(&q, "bond_neighbours", 6, "x") == RIPEN_OK &&
              q.bond_directions == 6,
          "bond_neighbours not set");
}

/* Proposal probabilities and the Hastings factor in the thresholds: an isolated core insertion
 * costs dE = -mu_core = +30 kT; with Hastings proposals (deletion proposed with probability 1,
 * insertion of core with 1/2) it is accepted with min(1, (1 / (1/2)) e^-30) = 2 e^-30. */
static void check_proposals(void) {
    lattice lat;
    REQUIRE(lattice_init(&lat, 4, 4, 4) == RIPEN_OK, "%s", ripen_last_error());
    model_params p;
    model_params_default(&p);
    model_tables t;
    REQUIRE(model_tables_build(&t, &p, &lat) == RIPEN_OK, "%s", ripen_last_error());
    CHECK(model_proposal_probability(&t, 0, 1) == 0.5 &&
              model_proposal_probability(&t, 1, 0) == 0.5,
          "symmetric vacancy proposals");
    CHECK(model_proposal_probability(&t, 1, 2) == 0, "vacancy moves never transmute");
    const uint8_t empty_isolated = 0; /* state 0, no neighbours */
    CHECK(fabs(ldexp((double)t.accept[empty_isolated][STATE_CORE], -63) - exp(-30)) <
              0x1p-62, /* quantised to 2^-63 */
          "isolated core insertion, symmetric");
    CHECK(t.swap_threshold == (uint32_t)llround(0x1p29 / 51), "p_swap threshold");

    p.proposals = PROPOSALS_HASTINGS;
    REQUIRE(model_tables_build(&t, &p, &lat) == RIPEN_OK, "%s", ripen_last_error());
    CHECK(model_proposal_probability(&t, 1, 0) == 1.0, "hastings deletion always proposed");
    CHECK(fabs(ldexp((double)t.accept[empty_isolated][STATE_CORE], -63) - 2 * exp(-30)) <
              0x1p-62, /* quantised to 2^-63 */
          "isolated core insertion, hastings: %g",
          ldexp((double)t.accept[empty_isolated][STATE_CORE], -63));
    const uint8_t core_isolated = STATE_CORE * SITE_STATE_STRIDE;
    CHECK(t.accept[core_isolated][STATE_SOLUTION] == model_threshold(1.0),
          "isolated core deletion (downhill by 30 kT) always accepted");

    p.moves = MOVES_IDENTITY, p.proposals = PROPOSALS_SYMMETRIC, p.shell = SHELL_CANONICAL;
    REQUIRE(model_tables_build(&t, &p, &lat) == RIPEN_OK, "%s", ripen_last_error());
    CHECK(model_proposal_probability(&t, 2, 1) == 0 && model_proposal_probability(&t, 0, 2) == 0,
          "canonical shell: no shell created or destroyed");
    CHECK(model_proposal_probability(&t, 0, 1) == 0.5, "canonical shell: core still inserted");
    lattice_free(&lat);
}

static void check_doubling(void) {
    model_params p;
    model_params_default(&p);
    fixture f;
    fixture_open(&f, 20, 20, 3, &p, 1, 0);
    /* A 2-site core cluster. */
    replica_set_state(&f.rep, lattice_index(&f.lat, 5, 5, 0), STATE_CORE);
    replica_set_state(&f.rep, lattice_index(&f.lat, 6, 5, 0), STATE_CORE);
    doubling_tracker d;
    REQUIRE(doubling_init(&d, &f.rep) == RIPEN_OK, "%s", ripen_last_error());
    CHECK(d.initial[DOUBLING_CLUSTER] == 2 && d.initial[DOUBLING_AREA] == 2 &&
              d.initial[DOUBLING_COUNT] == 2,
          "initial sizes");
    /* Two far-away core sites: the count doubles, the cluster does not; one is stacked on an
     * existing column so the area grows by one only. */
    f.rep.step = 10;
    replica_set_state(&f.rep, lattice_index(&f.lat, 15, 15, 0), STATE_CORE);
    replica_set_state(&f.rep, lattice_index(&f.lat, 15, 15, 1), STATE_CORE);
    doubling_update(&d, &f.rep);
    CHECK(d.tau[DOUBLING_COUNT] == 10 && d.tau[DOUBLING_CLUSTER] == -1 &&
              d.tau[DOUBLING_AREA] == -1,
          "after separate growth: tau %lld %lld %lld", (long long)d.tau[0], (long long)d.tau[1],
          (long long)d.tau[2]);
    f.rep.step = 20;
    replica_set_state(&f.rep, lattice_index(&f.lat, 7, 5, 0), STATE_CORE);
    replica_set_state(&f.rep, lattice_index(&f.lat, 8, 5, 0), STATE_CORE);
    doubling_update(&d, &f.rep);
    CHECK(d.tau[DOUBLING_CLUSTER] == 20 && d.tau[DOUBLING_AREA] == 20 &&
              d.tau[DOUBLING_COUNT] == 10,
          "after connected growth: tau %lld %lld %lld", (long long)d.tau[0], (long long)d.tau[1],
          (long long)d.tau[2]);
    CHECK(replica_largest_core_cluster(&f.rep, NULL) == 4, "largest cluster");
    doubling_free(&d);
    fixture_close(&f);
}

int main(void) {
    check_validation();
    check_proposals();
    check_doubling();
    return check_exit("test_model");
}
