/* Rejection-free random-sequential Metropolis (the n-fold way of Bortz, Kalos and Lebowitz,
 * J. Comput. Phys. 17, 10 (1975)), with a sum tree over the sites for choosing events.
 *
 * Statistically identical to random-sequential Metropolis, time still counted in attempts (a step
 * is nsites attempts). An attempt picks site i with probability 1/n and succeeds with
 * probability r_i = sum over the moves at i of (proposal probability) x (acceptance probability):
 *   insertion/deletion: (1 - p_swap) * (1/8) * P(code_i -> slot's target), for the 8 slots;
 *   swap along d:       (p_swap / 8) * P(swap i with its neighbour along d), for the 8 directions;
 * P = threshold / 2^63, exactly the probability that attempt.h's 63 random bits fall below it, and
 * p_swap = swap_threshold / 2^29, exactly the protocol's. Attempts are independent given the
 * state, so the number of failed attempts before the next success is geometric with
 * p = sum_i r_i / n, and the success is move m at site i with probability proportional to its
 * term. The kernel draws that number, skips those attempts, applies the move and updates the
 * rates that changed: a move writes the states of its site(s) c, which changes the codes of N[c]
 * (closed neighbourhood), and r_y reads the codes of y and of its 8 neighbours, so exactly the
 * sites within graph distance 2 of c need new rates.
 *
 * Umbrella window: a move that would take N_core out of [core_min, core_max] keeps its rate, and
 * when chosen is not applied and counts as a failed attempt: the Metropolis kernel's hard wall,
 * exactly, and the rates never depend on the window or on N_core.
 *
 * Determinism and resumption: a step's random numbers come from PURPOSE_REJECTION_FREE streams
 * indexed by (step, draw number within the step) and every waiting time is cut at the end of the
 * step and redrawn at the start of the next (the geometric law is memoryless, so this is exact).
 * The tree is always a pure function of the codes: leaves are computed from the codes by one
 * function, each internal node is recomputed from its current children (never updated by
 * differences, which would make its value depend on history), every sum runs in a fixed order.
 * So the trajectory from step s depends only on (state at s, s, seed, task), not on how the run
 * was cut into run() calls or resumed. The workspace records which replica state its tree
 * belongs to (the replica's serial number and change count, replica.h) and rebuilds everything
 * when run() finds another replica or a state changed behind its back (a loaded checkpoint, a
 * construction by hand). A memcmp of the codes would do the same at 0.45 us per call, a fifth
 * of a step at the paper's state when the driver calls run() once per step.
 *
 * Data structures, and why (docs/performance.md has the measurements):
 *  - The tree is 8-ary: a node is the sum of 8 consecutive children (one cache line), 5 levels
 *    above 25600 leaves instead of 15 for a binary tree. An update touches ~19 changed leaves
 *    clustered in a few rows; the 8-ary tree recomputes ~25 nodes where the binary one needed
 *    ~100, and a descent is 5 short scans.
 *  - Swap acceptances are looked up: per bond multiplicity m of a direction (1 normally; 0 for
 *    vertical directions when only in-plane neighbours bond; 2 on an extent-2 axis), a table
 *    indexed by (code of i, code of j) holds attempt.h's threshold / 2^63 with j's code already
 *    corrected for i's change. A row (all partners of one code) is computed the first time a site
 *    with that code needs it: filling all 243 rows up front took 3 ms per workspace and a run
 *    uses a few dozen; checking entry by entry instead cost 11% of the kernel's time.
 */
#include "attempt.h"
#include "ripen/dynamics.h"
#include "ripen/error.h"

#include <stdlib.h>
#include <string.h>

enum {
    FANOUT = 8,                /* children per tree node */
    LEVELS_MAX = 12,           /* 8^11 > LATTICE_MAX_SITES */
    BALL_CAPACITY = 2 * 9 * 9, /* N[N[c]] for the two sites of a swap, with repeats */
    MULTIPLICITIES = 3         /* bonds along a swap direction: 0, 1 or 2 */
};

/* Sum of 8 consecutive values, pairwise in a fixed order (fast and deterministic). */
static inline double sum8(const double *v) {
    return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

typedef struct {
    int levels;                     /* level 0 = the sites' rates, levels - 1 = the total */
    int32_t count[LEVELS_MAX];      /* nodes per level (storage padded with zeros to 8k) */
    double *node[LEVELS_MAX];       /* node[l][j] = sum8(node[l - 1] + 8 j) */
    uint32_t *stamp[LEVELS_MAX];    /* per node: the update that last queued it */
    int32_t list[2][BALL_CAPACITY]; /* nodes to recompute at this level / the next */
} rate_tree;

typedef struct {
    const model_tables *tab; /* the tables the rate tables below were built from */
    int32_t nsites;
    rate_tree tree;
    uint64_t serial, changes;     /* the replica state the tree belongs to (replica.h) */
    uint32_t update;              /* number of the current update: stamps equal to it are queued */
    int32_t queue[BALL_CAPACITY]; /* sites whose rate may have changed */
    double swap_weight;           /* p_swap / 8: probability of one direction */
    double insdel_rate[SITE_CODES];            /* insertion/deletion part of r_i, by code */
    double insdel_to[SITE_CODES][STATE_COUNT]; /* its part going to each state */
    double *swap_by_partner[MULTIPLICITIES];   /* [code_i * 243 + code_j]: P(swap), see above */
    uint8_t row_ready[SITE_CODES];             /* row code_i of every table in use computed */
    int multiplicities;                        /* how many tables the directions use ... */
    int multiplicity[MULTIPLICITIES];          /* ... and which */
    double *swap_table[LATTICE_DIRECTIONS];    /* the table of each direction */
} rejection_free;

/* ---- rate tables: functions of the model only ---- */

static double swap_probability(const model_tables *t, int ci, int cj, int multiplicity) {
    const int a = site_state((uint8_t)ci), b = site_state((uint8_t)cj);
    const int after = cj + multiplicity * t->env_delta[a][b];
    if (a == b || after < 0 || after >= SITE_CODES || site_state((uint8_t)after) != b)
        return 0.0; /* equal states, or a code pair no configuration has */
    return ldexp((double)attempt_swap_threshold_after(t, (uint8_t)ci, after), -63);
}

static void build_rate_tables(rejection_free *rf, const model_tables *t) {
    rf->tab = t;
    const double p_swap = ldexp((double)t->swap_threshold, -29);
    rf->swap_weight = p_swap / 8.0;
    for (int code = 0; code < SITE_CODES; ++code) {
        const int a = site_state((uint8_t)code);
        double total = 0;
        for (int b = 0; b < STATE_COUNT; ++b) {
            int slots = 0;
            for (int k = 0; k < 8; ++k) slots += t->insdel_target[a][k] == b;
            /* accept[code][a] = 0: null proposals never succeed */
            const double p = ldexp((double)t->accept[code][b], -63);
            rf->insdel_to[code][b] = (1.0 - p_swap) * (slots / 8.0) * p;
            total += rf->insdel_to[code][b];
        }
        rf->insdel_rate[code] = total;
    }
    int used[MULTIPLICITIES] = {0};
    for (int d = 0; d < LATTICE_DIRECTIONS; ++d) used[t->bond_multiplicity[d]] = 1;
    rf->multiplicities = 0;
    for (int m = 0; m < MULTIPLICITIES; ++m)
        if (used[m]) rf->multiplicity[rf->multiplicities++] = m;
    memset(rf->row_ready, 0, sizeof rf->row_ready);
    for (int d = 0; d < LATTICE_DIRECTIONS; ++d)
        rf->swap_table[d] = rf->swap_by_partner[t->bond_multiplicity[d]];
}

/* ---- rates of sites ---- */

static void fill_rows(rejection_free *rf, uint8_t ci) {
    for (int k = 0; k < rf->multiplicities; ++k) {
        const int m = rf->multiplicity[k];
        double *row = rf->swap_by_partner[m] + ci * SITE_CODES;
        for (int cj = 0; cj < SITE_CODES; ++cj) row[cj] = swap_probability(rf->tab, ci, cj, m);
    }
    rf->row_ready[ci] = 1;
}

/* Computes the swap-table rows of code ci (every table in use) if not done yet. */
static inline void need_rows(rejection_free *rf, uint8_t ci) {
    if (__builtin_expect(!rf->row_ready[ci], 0)) fill_rows(rf, ci);
}

/* P(swap) of i (code ci, rows ready) with its neighbour j along d. */
static inline double swap_accept(const rejection_free *rf, const uint8_t *site, uint8_t ci,
                                 int32_t j, int d) {
    return rf->swap_table[d][ci * SITE_CODES + site[j]];
}

static double site_rate(rejection_free *rf, const replica *r, int32_t i) {
    const uint8_t *site = r->site;
    const uint8_t code = site[i];
    if (rf->swap_weight == 0.0) return rf->insdel_rate[code];
    need_rows(rf, code);
    const int32_t *neighbour = r->lat->neighbour + (int64_t)i * LATTICE_DIRECTIONS;
    double p[LATTICE_DIRECTIONS];
    for (int d = 0; d < LATTICE_DIRECTIONS; ++d)
        p[d] = swap_accept(rf, site, code, neighbour[d], d);
    return rf->insdel_rate[code] + rf->swap_weight * sum8(p);
}

/* ---- the tree ---- */

static void tree_free(rate_tree *t) {
    for (int l = 0; l < LEVELS_MAX; ++l) {
        free(t->node[l]);
        free(t->stamp[l]);
    }
    *t = (rate_tree){0};
}

static int tree_init(rate_tree *t, int32_t leaves) {
    *t = (rate_tree){0};
    int32_t count = leaves;
    for (int l = 0;; ++l) {
        const size_t padded = ((size_t)count + FANOUT - 1) / FANOUT * FANOUT;
        t->count[l] = count;
        t->node[l] = calloc(padded, sizeof *t->node[l]);
        t->stamp[l] = calloc(padded, sizeof *t->stamp[l]);
        t->levels = l + 1;
        if (!t->node[l] || !t->stamp[l]) return RIPEN_ENOMEM;
        if (count == 1) return RIPEN_OK;
        count = (count + FANOUT - 1) / FANOUT;
    }
}

static double tree_total(const rate_tree *t) {
    return t->node[t->levels - 1][0];
}

/* Recomputes every internal node from the leaves. */
static void tree_sum_all(rate_tree *t) {
    for (int l = 1; l < t->levels; ++l)
        for (int32_t j = 0; j < t->count[l]; ++j) t->node[l][j] = sum8(t->node[l - 1] + FANOUT * j);
}

/* Recomputes the ancestors of the n leaves in t->list[0], level by level, each once (a node
 * stamped with this update is already listed). */
static void tree_propagate(rate_tree *t, int n, uint32_t update) {
    int from = 0;
    for (int l = 1; l < t->levels && n > 0; ++l) {
        const int32_t *children = t->list[from];
        int32_t *parents = t->list[1 - from];
        int m = 0;
        for (int k = 0; k < n; ++k) {
            const int32_t p = children[k] / FANOUT;
            if (t->stamp[l][p] == update) continue;
            t->stamp[l][p] = update;
            parents[m++] = p;
        }
        for (int k = 0; k < m; ++k)
            t->node[l][parents[k]] = sum8(t->node[l - 1] + FANOUT * parents[k]);
        from = 1 - from;
        n = m;
    }
}

/* The leaf reached from the root with u in [0, total): at each node, the first child whose
 * running sum exceeds u. Rounding can leave u at or past a node's sum; then the last child with a
 * positive value is taken, so the leaf reached always has a positive rate. */
static int32_t tree_choose(const rate_tree *t, double u) {
    int32_t j = 0;
    for (int l = t->levels - 1; l > 0; --l) {
        const double *child = t->node[l - 1] + FANOUT * j;
        int pick = -1, last = -1;
        for (int k = 0; k < FANOUT; ++k) {
            if (!(child[k] > 0.0)) continue;
            last = k;
            if (u < child[k]) {
                pick = k;
                break;
            }
            u -= child[k];
        }
        j = FANOUT * j + (pick >= 0 ? pick : last);
    }
    return j;
}

/* ---- the workspace ---- */

static void rebuild(rejection_free *rf, const replica *r) {
    if (rf->tab != r->tab) build_rate_tables(rf, r->tab);
    double *leaf = rf->tree.node[0];
    for (int32_t i = 0; i < rf->nsites; ++i) leaf[i] = site_rate(rf, r, i);
    tree_sum_all(&rf->tree);
}

/* The next update number; after 2^32 updates the stamps wrap and are all forgotten. */
static uint32_t next_update(rejection_free *rf) {
    if (++rf->update == 0) {
        for (int l = 0; l < rf->tree.levels; ++l)
            memset(rf->tree.stamp[l], 0, sizeof *rf->tree.stamp[l] * (size_t)rf->tree.count[l]);
        rf->update = 1;
    }
    return rf->update;
}

/* Queues, each once per update, the sites whose rate the change of state at c may have changed:
 * every site of N[c] (their codes changed), and every neighbour y of an x in N(c) whose state
 * differs from x's. A rate outside N[c] reads the changed codes only through its swap terms with
 * the x in N(c), and a swap term between equal states is 0 before and after (the state of x did
 * not change; for a swap, the partner's neighbours are queued by its own call). In a uniform
 * region nothing outside N[c] is queued: ~20 sites per move instead of the 35 of N[N[c]]. */
static void queue_ball(rejection_free *rf, const replica *r, int32_t c, int *nqueued) {
    uint32_t *stamp = rf->tree.stamp[0];
    const uint32_t update = rf->update;
    const uint8_t *site = r->site;
    const int32_t *neighbour = r->lat->neighbour;
    const int32_t *nc = neighbour + (int64_t)c * LATTICE_DIRECTIONS;
    int n = *nqueued;
    /* N[c]: every site (their codes changed). */
    if (stamp[c] != update) stamp[c] = update, rf->queue[n++] = c;
    for (int a = 0; a < LATTICE_DIRECTIONS; ++a) {
        const int32_t x = nc[a];
        if (stamp[x] != update) stamp[x] = update, rf->queue[n++] = x;
    }
    /* The rest of N[N[c]]: a neighbour y of x in N(c) whose state differs from x's. */
    for (int a = 0; a < LATTICE_DIRECTIONS; ++a) {
        const int32_t x = nc[a];
        const int state_x = site_state(site[x]);
        const int32_t *nx = neighbour + (int64_t)x * LATTICE_DIRECTIONS;
        for (int b = 0; b < LATTICE_DIRECTIONS; ++b) {
            const int32_t y = nx[b];
            if (stamp[y] == update || site_state(site[y]) == state_x) continue;
            stamp[y] = update;
            rf->queue[n++] = y;
        }
    }
    *nqueued = n;
}

/* New rates for the sites within distance 2 of c1 (and of c2 >= 0), then their ancestors. */
static void update_after_move(rejection_free *rf, const replica *r, int32_t c1, int32_t c2) {
    const uint32_t update = next_update(rf);
    int nqueued = 0;
    queue_ball(rf, r, c1, &nqueued);
    if (c2 >= 0) queue_ball(rf, r, c2, &nqueued);
    double *leaf = rf->tree.node[0];
    int changed = 0;
    for (int k = 0; k < nqueued; ++k) {
        const int32_t i = rf->queue[k];
        const double rate = site_rate(rf, r, i);
        if (rate == leaf[i]) continue;
        leaf[i] = rate;
        rf->tree.list[0][changed++] = i;
    }
    tree_propagate(&rf->tree, changed, update);
}

/* ---- choosing and applying an event ---- */

/* Applies the move of site i chosen by v in [0, r_i); returns the number of sites written (0 if
 * a window wall stopped it), their indices in *c1, *c2. The same terms as site_rate(), in the
 * same order; if rounding leaves v past the last positive term, that term is taken. */
static int apply_move(rejection_free *rf, replica *r, int32_t i, double v, int32_t *c1,
                      int32_t *c2) {
    const uint8_t code = r->site[i];
    const int a = site_state(code);
    const int32_t *neighbour = r->lat->neighbour + (int64_t)i * LATTICE_DIRECTIONS;
    int last_d = -1;
    if (v >= rf->insdel_rate[code] && rf->swap_weight > 0.0) {
        const double w = (v - rf->insdel_rate[code]) / rf->swap_weight;
        double swaps = 0;
        for (int d = 0; d < LATTICE_DIRECTIONS; ++d) {
            const double p = swap_accept(rf, r->site, code, neighbour[d], d);
            if (!(p > 0.0)) continue;
            last_d = d;
            swaps += p;
            if (w < swaps) break;
        }
    }
    if (last_d >= 0) { /* a swap */
        const int32_t j = neighbour[last_d];
        const int b = site_state(r->site[j]);
        replica_set_state(r, i, b);
        replica_set_state(r, j, a);
        *c1 = i, *c2 = j;
        return 2;
    }
    int b = -1;
    double sum = 0;
    for (int s = 0; s < STATE_COUNT; ++s) {
        if (!(rf->insdel_to[code][s] > 0.0)) continue;
        b = s;
        sum += rf->insdel_to[code][s];
        if (v < sum) break;
    }
    if (b < 0) return 0; /* unreachable: site i has a positive rate */
    const int64_t ncore = r->counts.ncore + (b == STATE_CORE) - (a == STATE_CORE);
    if (!replica_window_allows(r, ncore)) return 0;
    replica_set_state(r, i, b);
    *c1 = i, *c2 = -1;
    return 1;
}

/* Failed attempts before the next success, given u in (0, 1] and success probability p in
 * (0, 1]: floor(log u / log(1 - p)), so that P(skip >= k) = (1 - p)^k. Returns `limit` if that
 * is >= limit (no success in the rest of the step). */
static uint64_t geometric_skip(double u, double p, uint64_t limit) {
    if (p >= 1.0) return 0;
    const double skip = log(u) / log1p(-p);
    return skip < (double)limit ? (uint64_t)skip : limit;
}

/* One MC step: draws until the next success falls past the step's last attempt. Returns 1 if
 * the replica's watch stopped the run after a move (the caches are up to date). */
static int run_step(rejection_free *rf, replica *r) {
    const uint64_t nsites = (uint64_t)rf->nsites;
    uint64_t used = 0; /* attempts of this step already consumed */
    for (uint64_t draw = 0;; ++draw) {
        const double total = tree_total(&rf->tree);
        if (!(total > 0.0)) return 0; /* nothing can happen */
        philox_stream s;
        philox_stream_init(&s, r->key, r->step * (nsites + 1) + draw, r->task,
                           PURPOSE_REJECTION_FREE);
        const double wait = 1.0 - philox_stream_uniform(&s); /* in (0, 1] */
        const uint64_t skip = geometric_skip(wait, total / (double)nsites, nsites - used);
        if (skip >= nsites - used) return 0;
        used += skip + 1;
        const int32_t i = tree_choose(&rf->tree, philox_stream_uniform(&s) * total);
        const double v = philox_stream_uniform(&s) * rf->tree.node[0][i];
        int32_t c1, c2;
        if (!apply_move(rf, r, i, v, &c1, &c2)) continue;
        update_after_move(rf, r, c1, c2);
        if (replica_report_move(r, used - 1)) return 1;
    }
}

static void run(replica *r, void *workspace, uint64_t steps) {
    rejection_free *rf = workspace;
    if (rf->tab != r->tab || rf->serial != r->serial || rf->changes != r->changes) rebuild(rf, r);
    for (uint64_t s = 0; s < steps; ++s, ++r->step)
        if (run_step(rf, r)) break;
    rf->serial = r->serial, rf->changes = r->changes;
}

/* site_rate() without the swap tables: every acceptance computed afresh. */
static double site_rate_from_scratch(const rejection_free *rf, const replica *r, int32_t i) {
    const uint8_t code = r->site[i];
    if (rf->swap_weight == 0.0) return rf->insdel_rate[code];
    double p[LATTICE_DIRECTIONS];
    for (int d = 0; d < LATTICE_DIRECTIONS; ++d)
        p[d] = swap_probability(rf->tab, code, r->site[lattice_neighbour(r->lat, i, d)],
                                rf->tab->bond_multiplicity[d]);
    return rf->insdel_rate[code] + rf->swap_weight * sum8(p);
}

/* Every leaf against site_rate_from_scratch() (so the swap tables are checked too) and every
 * internal node against the sum of its children; a workspace that is not in step with r (it will
 * rebuild on the next run()) has nothing to check. */
static int check(const void *workspace, const replica *r) {
    const rejection_free *rf = workspace;
    if (rf->tab != r->tab || rf->serial != r->serial || rf->changes != r->changes) return RIPEN_OK;
    const rate_tree *t = &rf->tree;
    for (int32_t i = 0; i < rf->nsites; ++i) {
        const double rate = site_rate_from_scratch(rf, r, i);
        if (rate != t->node[0][i])
            return ripen_fail(RIPEN_EINVAL,
                              "rejection-free: site %d has rate %.17g, recomputed %.17g", i,
                              t->node[0][i], rate);
    }
    for (int l = 0; l < t->levels; ++l) {
        const int32_t padded = (t->count[l] + FANOUT - 1) / FANOUT * FANOUT;
        for (int32_t j = l == 0 ? rf->nsites : t->count[l]; j < padded; ++j)
            if (t->node[l][j] != 0.0)
                return ripen_fail(RIPEN_EINVAL, "rejection-free: padding node %d of level %d is %g",
                                  j, l, t->node[l][j]);
        if (l == 0) continue;
        for (int32_t j = 0; j < t->count[l]; ++j)
            if (t->node[l][j] != sum8(t->node[l - 1] + FANOUT * j))
                return ripen_fail(RIPEN_EINVAL,
                                  "rejection-free: node %d of level %d is %.17g, its children "
                                  "sum to %.17g",
                                  j, l, t->node[l][j], sum8(t->node[l - 1] + FANOUT * j));
    }
    return RIPEN_OK;
}

static void destroy(void *workspace) {
    rejection_free *rf = workspace;
    if (!rf) return;
    tree_free(&rf->tree);
    for (int m = 0; m < MULTIPLICITIES; ++m) free(rf->swap_by_partner[m]);
    free(rf);
}

static int create(void **workspace, const lattice *lat, const model_tables *tab) {
    rejection_free *rf = calloc(1, sizeof *rf);
    if (!rf) return ripen_fail(RIPEN_ENOMEM, "out of memory for rejection-free workspace");
    rf->nsites = lat->nsites;
    int failed = tree_init(&rf->tree, lat->nsites) != RIPEN_OK;
    /* All three, so that run() with other tables never allocates; only the multiplicities the
     * lattice has are ever filled and touched. */
    for (int m = 0; m < MULTIPLICITIES; ++m)
        failed |= !(rf->swap_by_partner[m] = malloc(sizeof(double) * SITE_CODES * SITE_CODES));
    if (failed) {
        destroy(rf);
        return ripen_fail(RIPEN_ENOMEM, "out of memory for the rejection-free tree of %d sites",
                          lat->nsites);
    }
    build_rate_tables(rf, tab);
    rf->serial = 0; /* no replica has serial 0: the first run() rebuilds */
    *workspace = rf;
    return RIPEN_OK;
}

const dynamics_kind dynamics_rejection_free = {
    .name = "rejection-free",
    .summary = "n-fold way: random-sequential kinetics, skipping rejected attempts (exact)",
    .create = create,
    .destroy = destroy,
    .run = run,
    .check = check,
};
