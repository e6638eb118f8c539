/* Every combination of readings a job can select that changes the sampled ensemble or the
 * bookkeeping: tests loop over this list so a new reading is tested by adding one line. */
#ifndef RIPEN_TEST_READINGS_H
#define RIPEN_TEST_READINGS_H

#include "ripen/engine/model.h"

typedef struct {
    const char *name;
    move_set moves;
    proposal_kind proposals;
    shell_ensemble shell;
    energy_form form;
    int bonds;
} reading;

static const reading all_readings[] = {
    {"vacancy/symmetric", MOVES_VACANCY, PROPOSALS_SYMMETRIC, SHELL_GRAND_CANONICAL,
     ENERGY_INDICATOR, 8},
    {"vacancy/hastings", MOVES_VACANCY, PROPOSALS_HASTINGS, SHELL_GRAND_CANONICAL, ENERGY_INDICATOR,
     8},
    {"identity", MOVES_IDENTITY, PROPOSALS_SYMMETRIC, SHELL_GRAND_CANONICAL, ENERGY_INDICATOR, 8},
    {"vacancy/symmetric/canonical-shell", MOVES_VACANCY, PROPOSALS_SYMMETRIC, SHELL_CANONICAL,
     ENERGY_INDICATOR, 8},
    {"vacancy/hastings/canonical-shell", MOVES_VACANCY, PROPOSALS_HASTINGS, SHELL_CANONICAL,
     ENERGY_INDICATOR, 8},
    {"identity/canonical-shell", MOVES_IDENTITY, PROPOSALS_SYMMETRIC, SHELL_CANONICAL,
     ENERGY_INDICATOR, 8},
    {"vacancy/symmetric/product", MOVES_VACANCY, PROPOSALS_SYMMETRIC, SHELL_GRAND_CANONICAL,
     ENERGY_PRODUCT, 8},
    {"identity/product", MOVES_IDENTITY, PROPOSALS_SYMMETRIC, SHELL_GRAND_CANONICAL, ENERGY_PRODUCT,
     8},
    {"vacancy/hastings/6-bonds", MOVES_VACANCY, PROPOSALS_HASTINGS, SHELL_GRAND_CANONICAL,
     ENERGY_INDICATOR, 6},
    {"identity/product/6-bonds", MOVES_IDENTITY, PROPOSALS_SYMMETRIC, SHELL_GRAND_CANONICAL,
     ENERGY_PRODUCT, 6},
};
enum { READING_COUNT = sizeof all_readings / sizeof all_readings[0] };

static inline void reading_apply(const reading *r, model_params *p) {
    p->moves = r->moves;
    p->proposals = r->proposals;
    p->shell = r->shell;
    p->form = r->form;
    p->bond_directions = r->bonds;
}

#endif
