#include "kernel_metropolis.h"

/* 1 if the code proves that every neighbour a swap along `direction` can pick holds the site's
 * own state: all bonded neighbours do, and the direction is a bonding one. */
static int swap_surely_null(const model_tables *tab, uint8_t code, int direction) {
    if (direction >= tab->bond_directions) return 0;
    const int core = site_core_neighbours(code), shell = site_shell_neighbours(code);
    const int bonds = tab->bond_directions; /* bonded neighbours, with multiplicity */
    switch (site_state(code)) {
        case STATE_SOLUTION:
            return core + shell == 0;
        case STATE_CORE:
            return core == bonds;
        default:
            return shell == bonds;
    }
}

void metropolis_fast_init(metropolis_fast *m, const model_tables *tab) {
    m->tab = tab;
    for (int c = 0; c < SITE_CODES; ++c) {
        const uint8_t code = (uint8_t)c;
        const int a = site_state(code);
        for (unsigned slot = 0; slot < METROPOLIS_SLOTS; ++slot) {
            const uint64_t threshold = tab->accept[code][tab->insdel_target[a][slot]];
            m->filter[metropolis_filter_index(code, slot, 0)] = attempt_filter_bound(threshold);
            m->filter[metropolis_filter_index(code, slot, 1)] =
                swap_surely_null(tab, code, (int)slot) ? 0 : UINT32_MAX;
        }
    }
    const philox_batch_impl *impl = philox_batch_choose();
    m->fill = impl->fill;
    m->isa = impl->name;
}
