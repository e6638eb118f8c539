/* One replica: a lattice configuration with its running bookkeeping (site codes, integer counts,
 * per-column occupancies) and its place in time (MC steps done, RNG key and task id).
 *
 * replica_set_state() is the only way a site changes; every kernel goes through it, so the
 * bookkeeping has one implementation. replica_check() recomputes everything from the bare states
 * and compares: the "running = from scratch" anchor.
 */
#ifndef RIPEN_REPLICA_H
#define RIPEN_REPLICA_H

#include <stdint.h>

#include "ripen/engine/lattice.h"
#include "ripen/engine/model.h"
#include "ripen/engine/philox.h"

typedef struct replica replica;

/* Bytes after the last site code, zero: SIMD kernels gather a site's code as the 32-bit word
 * starting at it, which reads up to 3 bytes past it (dyn_checkerboard.c). */
enum { REPLICA_SITE_PADDING = 3 };

/* An optional observer of a replica's accepted moves (forward flux sampling watches an order
 * parameter cross interfaces). Every dynamics calls on_move() after every accepted move that
 * changed the state, with the replica already updated (a swap once, after both sites changed);
 * rejected moves, null moves and moves an umbrella window's wall turned back are not reported.
 * `attempt` is the attempt's index within the current step, 0 .. nsites - 1: attempt k of
 * step * nsites + k for random-sequential and rejection-free (whose skipped attempts count),
 * the position in the step's visiting sequence for checkerboard. A nonzero return stops the run
 * right after this move (replica_report_move). */
typedef struct {
    int (*on_move)(void *context, const replica *r, uint64_t attempt);
    void *context; /* passed to on_move, not owned */
} replica_watch;

struct replica {
    const lattice *lat;      /* geometry (not owned) */
    const model_tables *tab; /* model tables (not owned) */
    uint8_t *site;           /* per site: code = state * 81 + core nbrs + 9 * shell nbrs; then
                                REPLICA_SITE_PADDING zero bytes */
    site_counts counts;      /* N_core, N_shell, bonded pairs: kept exactly */
    uint16_t *column_core;   /* per (x, y) column: core sites in it */
    uint16_t *column_shell;  /* per (x, y) column: shell sites in it */
    int32_t area_core;       /* columns holding >= 1 core site (projected area, sites) */
    int32_t area_shell;      /* columns holding >= 1 shell site */
    int64_t core_min;        /* umbrella window: a move that would take N_core out of */
    int64_t core_max;        /*   [core_min, core_max] is rejected (default: no limits) */
    int64_t shell_min;       /* shell band: a move that would take N_shell out of */
    int64_t shell_max;       /*   [shell_min, shell_max] is rejected (default: no limits) */
    uint64_t step;           /* MC steps completed (1 step = nsites attempts) */
    philox_key key;          /* from the job seed */
    uint32_t task;           /* task id: the replica's own random stream */
    uint64_t serial;         /* different for every replica_init() in the process */
    uint64_t changes;        /* site changes and loads since replica_init(): with `serial`, lets a
                                dynamics' workspace see whether what it caches about the sites
                                is still current (dyn_rejection_free.c) */
    const replica_watch *watch; /* NULL (the default): no observer, the kernels pay nothing */
    int stopped;                /* 1 once on_move asked to stop: run() returns at once, r->step
                                   not advanced past the partial step, until the replica gets
                                   new states (replica_load_states) */
    uint64_t stopped_attempt;   /* the attempt index of the move that stopped it */
};

/* An empty (all solution) replica at step 0, with no window on N_core and no band on N_shell. */
int replica_init(replica *r, const lattice *lat, const model_tables *tab, uint64_t seed,
                 uint32_t task);
void replica_free(replica *r);

/* Replaces the configuration by `states` (one byte per site, values 0..2) and rebuilds all
 * bookkeeping; clears `stopped`; error if a value is not a state. */
int replica_load_states(replica *r, const uint8_t *states);

/* Copies the bare states (0..2) into `states`. */
void replica_store_states(const replica *r, uint8_t *states);

/* Sets site `i` to state `to`, updating codes, counts and columns. */
static inline void replica_set_state(replica *r, int32_t i, int to) {
    const uint8_t code = r->site[i];
    const int from = site_state(code);
    const site_counts change =
        model_counts_change(from, to, site_core_neighbours(code), site_shell_neighbours(code));
    r->counts.ncore += change.ncore;
    r->counts.nshell += change.nshell;
    r->counts.bonds_cc += change.bonds_cc;
    r->counts.bonds_ss += change.bonds_ss;
    r->counts.bonds_cs += change.bonds_cs;
    r->site[i] = (uint8_t)(code + (to - from) * SITE_STATE_STRIDE);
    r->changes++;
    const int8_t delta = r->tab->env_delta[from][to];
    const int32_t *neighbour = r->lat->neighbour + (int64_t)i * LATTICE_DIRECTIONS;
    for (int d = 0; d < r->tab->bond_directions; ++d)
        r->site[neighbour[d]] = (uint8_t)(r->site[neighbour[d]] + delta);
    const int32_t column = lattice_column(r->lat, i);
    if (change.ncore) {
        const int before = r->column_core[column];
        r->column_core[column] = (uint16_t)(before + change.ncore);
        r->area_core += (before == 0) - (r->column_core[column] == 0);
    }
    if (change.nshell) {
        const int before = r->column_shell[column];
        r->column_shell[column] = (uint16_t)(before + change.nshell);
        r->area_shell += (before == 0) - (r->column_shell[column] == 0);
    }
}

/* Reports an accepted, state-changing move to the watch, if any; 1 if the watch asked to stop,
 * with r->stopped and r->stopped_attempt set. The kernels call it on the accept path only, so
 * an unwatched replica costs one predictable branch per accepted move. A stopped trajectory is
 * not meant to be continued: the rest of its step was never drawn, so the caller starts a fresh
 * replica (or loads new states) with a stream of its own. */
static inline int replica_report_move(replica *r, uint64_t attempt) {
    const replica_watch *w = r->watch;
    if (__builtin_expect(!w, 1) || !w->on_move(w->context, r, attempt)) return 0;
    r->stopped = 1;
    r->stopped_attempt = attempt;
    return 1;
}

/* Restricts N_core to [core_min, core_max] (a hard-wall umbrella window): an accepted move that
 * would leave the window is rejected instead. The current N_core must lie inside. */
int replica_set_window(replica *r, int64_t core_min, int64_t core_max);

/* Restricts N_shell to [shell_min, shell_max] (the shell band, a sampling device that keeps a
 * metastable shell: docs/model.md), a hard wall like the window. The current N_shell must lie
 * inside. */
int replica_set_shell_band(replica *r, int64_t shell_min, int64_t shell_max);

/* The hard walls on the counts, the one test every dynamics makes on the accept path of a move
 * that changes site states: whether turning one site from state `from` into `to` keeps N_core in
 * the window and N_shell in the band, both counted after the move. One site change may move both
 * counts (shell -> core in the "identity" move set); a swap never changes either, so swaps need
 * no test. The test reads the replica's counts as they are when the move is applied: exact as
 * long as a dynamics applies its moves one after another (they all do, checkerboard on any number
 * of threads included, dyn_checkerboard.c). */
static inline int replica_walls_allow(const replica *r, int from, int to) {
    const int64_t ncore = r->counts.ncore + (to == STATE_CORE) - (from == STATE_CORE);
    const int64_t nshell = r->counts.nshell + (to == STATE_SHELL) - (from == STATE_SHELL);
    return ncore >= r->core_min && ncore <= r->core_max && nshell >= r->shell_min &&
           nshell <= r->shell_max;
}

static inline double replica_energy(const replica *r) {
    return model_energy(&r->tab->weights, &r->counts);
}

/* Recomputes codes, counts and areas from the bare states; RIPEN_OK if they all equal the
 * running values exactly, else an error naming the first difference. */
int replica_check(const replica *r);

/* From-scratch counts of a state array (independent of the codes). */
site_counts replica_count_states(const lattice *lat, int bond_directions, const uint8_t *states);

/* Size of the largest cluster of core sites, connected through any of the 8 neighbours.
 * `scratch` holds 2 * nsites int32 (or NULL: allocated and freed here). */
int64_t replica_largest_core_cluster(const replica *r, int32_t *scratch);

#endif
