#include "ripen/engine/replica.h"

#include "ripen/engine/error.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_uint_fast64_t replica_serials; /* replicas initialised so far in the process */

int replica_init(replica *r, const lattice *lat, const model_tables *tab, uint64_t seed,
                 uint32_t task) {
    *r = (replica){.lat = lat,
                   .tab = tab,
                   .key = philox_key_from_seed(seed),
                   .task = task,
                   .core_min = 0,
                   .core_max = INT64_MAX,
                   .shell_min = 0,
                   .shell_max = INT64_MAX,
                   .serial = atomic_fetch_add(&replica_serials, 1) + 1};
    r->site = calloc((size_t)lat->nsites + REPLICA_SITE_PADDING, 1);
    r->column_core = calloc((size_t)lat->ncolumns, sizeof *r->column_core);
    r->column_shell = calloc((size_t)lat->ncolumns, sizeof *r->column_shell);
    if (!r->site || !r->column_core || !r->column_shell) {
        replica_free(r);
        return ripen_fail(RIPEN_ENOMEM, "out of memory for a %d-site replica", lat->nsites);
    }
    return RIPEN_OK;
}

void replica_free(replica *r) {
    free(r->site);
    free(r->column_core);
    free(r->column_shell);
    r->site = NULL, r->column_core = NULL, r->column_shell = NULL;
}

/* Puts hard walls [lo, hi] (a `wall`, "window" or "band") on a count named `count_name` that
 * must hold its current value `count`. */
static int set_walls(int64_t count, int64_t lo, int64_t hi, const char *wall,
                     const char *count_name, int64_t *min, int64_t *max) {
    if (lo > hi || count < lo || count > hi)
        return ripen_fail(RIPEN_EINVAL, "%s [%lld, %lld] on %s does not hold %s = %lld", wall,
                          (long long)lo, (long long)hi, count_name, count_name, (long long)count);
    *min = lo, *max = hi;
    return RIPEN_OK;
}

int replica_set_window(replica *r, int64_t core_min, int64_t core_max) {
    return set_walls(r->counts.ncore, core_min, core_max, "window", "N_core", &r->core_min,
                     &r->core_max);
}

int replica_set_shell_band(replica *r, int64_t shell_min, int64_t shell_max) {
    return set_walls(r->counts.nshell, shell_min, shell_max, "band", "N_shell", &r->shell_min,
                     &r->shell_max);
}

void replica_store_states(const replica *r, uint8_t *states) {
    for (int32_t i = 0; i < r->lat->nsites; ++i) states[i] = (uint8_t)site_state(r->site[i]);
}

/* Codes of every site for the given states: each site counts its bonded core/shell neighbours. */
static void compute_codes(const lattice *lat, int bond_directions, const uint8_t *states,
                          uint8_t *codes) {
    for (int32_t i = 0; i < lat->nsites; ++i) {
        int code = states[i] * SITE_STATE_STRIDE;
        for (int d = 0; d < bond_directions; ++d) {
            const uint8_t s = states[lattice_neighbour(lat, i, d)];
            code += (s == STATE_CORE) + SITE_SHELL_STRIDE * (s == STATE_SHELL);
        }
        codes[i] = (uint8_t)code;
    }
}

site_counts replica_count_states(const lattice *lat, int bond_directions, const uint8_t *states) {
    site_counts c = {0};
    for (int32_t i = 0; i < lat->nsites; ++i) {
        const int a = states[i];
        c.ncore += a == STATE_CORE;
        c.nshell += a == STATE_SHELL;
        /* Each bond is seen from both ends: count it from the end with the larger index, and
         * from both ends' directions when the two ends are the same pair listed twice. */
        for (int d = 0; d < bond_directions; ++d) {
            const int32_t j = lattice_neighbour(lat, i, d);
            if (j < i) continue;
            const int b = states[j];
            c.bonds_cc += a == STATE_CORE && b == STATE_CORE;
            c.bonds_ss += a == STATE_SHELL && b == STATE_SHELL;
            c.bonds_cs +=
                (a == STATE_CORE && b == STATE_SHELL) || (a == STATE_SHELL && b == STATE_CORE);
        }
    }
    return c;
}

static void count_columns(const lattice *lat, const uint8_t *states, uint16_t *core,
                          uint16_t *shell, int32_t *area_core, int32_t *area_shell) {
    memset(core, 0, sizeof *core * (size_t)lat->ncolumns);
    memset(shell, 0, sizeof *shell * (size_t)lat->ncolumns);
    for (int32_t i = 0; i < lat->nsites; ++i) {
        core[lattice_column(lat, i)] += states[i] == STATE_CORE;
        shell[lattice_column(lat, i)] += states[i] == STATE_SHELL;
    }
    *area_core = *area_shell = 0;
    for (int32_t c = 0; c < lat->ncolumns; ++c) {
        *area_core += core[c] > 0;
        *area_shell += shell[c] > 0;
    }
}

int replica_load_states(replica *r, const uint8_t *states) {
    for (int32_t i = 0; i < r->lat->nsites; ++i)
        if (states[i] >= STATE_COUNT)
            return ripen_fail(RIPEN_EINVAL, "site %d holds %d: states are 0, 1 or 2", i, states[i]);
    compute_codes(r->lat, r->tab->bond_directions, states, r->site);
    r->changes++;
    r->stopped = 0;
    r->counts = replica_count_states(r->lat, r->tab->bond_directions, states);
    count_columns(r->lat, states, r->column_core, r->column_shell, &r->area_core, &r->area_shell);
    return RIPEN_OK;
}

/* Compares everything derived from `states` with the running values of `r`. */
static int compare_with_scratch(const replica *r, const uint8_t *states, uint8_t *codes,
                                uint16_t *core, uint16_t *shell) {
    const lattice *lat = r->lat;
    compute_codes(lat, r->tab->bond_directions, states, codes);
    for (int32_t i = 0; i < lat->nsites; ++i)
        if (codes[i] != r->site[i])
            return ripen_fail(RIPEN_EINVAL, "site %d: running code %d, recomputed %d", i,
                              r->site[i], codes[i]);
    const site_counts c = replica_count_states(lat, r->tab->bond_directions, states);
    if (memcmp(&c, &r->counts, sizeof c) != 0)
        return ripen_fail(RIPEN_EINVAL,
                          "running counts (Nc %lld Ns %lld Bcc %lld Bss %lld Bcs %lld) differ "
                          "from recomputed (%lld %lld %lld %lld %lld)",
                          (long long)r->counts.ncore, (long long)r->counts.nshell,
                          (long long)r->counts.bonds_cc, (long long)r->counts.bonds_ss,
                          (long long)r->counts.bonds_cs, (long long)c.ncore, (long long)c.nshell,
                          (long long)c.bonds_cc, (long long)c.bonds_ss, (long long)c.bonds_cs);
    int32_t area_core, area_shell;
    count_columns(lat, states, core, shell, &area_core, &area_shell);
    if (area_core != r->area_core || area_shell != r->area_shell ||
        memcmp(core, r->column_core, sizeof *core * (size_t)lat->ncolumns) ||
        memcmp(shell, r->column_shell, sizeof *shell * (size_t)lat->ncolumns))
        return ripen_fail(RIPEN_EINVAL, "running areas (%d, %d) differ from recomputed (%d, %d)",
                          r->area_core, r->area_shell, area_core, area_shell);
    return RIPEN_OK;
}

int replica_check(const replica *r) {
    const lattice *lat = r->lat;
    uint8_t *states = malloc((size_t)lat->nsites);
    uint8_t *codes = malloc((size_t)lat->nsites);
    uint16_t *core = malloc(sizeof *core * (size_t)lat->ncolumns);
    uint16_t *shell = malloc(sizeof *shell * (size_t)lat->ncolumns);
    int status;
    if (!states || !codes || !core || !shell) {
        status = ripen_fail(RIPEN_ENOMEM, "out of memory checking a replica");
    } else {
        replica_store_states(r, states);
        status = compare_with_scratch(r, states, codes, core, shell);
    }
    free(states), free(codes), free(core), free(shell);
    return status;
}

int64_t replica_largest_core_cluster(const replica *r, int32_t *scratch) {
    const lattice *lat = r->lat;
    int32_t *owned = NULL;
    if (!scratch) {
        owned = malloc(sizeof *owned * 2 * (size_t)lat->nsites);
        if (!owned) return -1;
        scratch = owned;
    }
    int32_t *seen = scratch;                /* 1 once a core site joined some cluster */
    int32_t *queue = scratch + lat->nsites; /* breadth-first frontier */
    memset(seen, 0, sizeof *seen * (size_t)lat->nsites);
    int64_t largest = 0;
    for (int32_t start = 0; start < lat->nsites; ++start) {
        if (seen[start] || site_state(r->site[start]) != STATE_CORE) continue;
        int64_t head = 0, tail = 0;
        queue[tail++] = start;
        seen[start] = 1;
        while (head < tail) {
            const int32_t i = queue[head++];
            for (int d = 0; d < LATTICE_DIRECTIONS; ++d) {
                const int32_t j = lattice_neighbour(lat, i, d);
                if (!seen[j] && site_state(r->site[j]) == STATE_CORE) {
                    seen[j] = 1;
                    queue[tail++] = j;
                }
            }
        }
        if (tail > largest) largest = tail;
    }
    free(owned);
    return largest;
}
