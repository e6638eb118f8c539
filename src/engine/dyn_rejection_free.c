/* Rejection-free random-sequential Metropolis (the n-fold way of Bortz, Kalos and Lebowitz,
 * J. Comput. Phys. 17, 10 (1975)), with the sites grouped by rate into classes (bands), as in
 * SPPARKS's group solver, and an exact rejection step.
 *
 * Statistically identical to random-sequential Metropolis, time still counted in attempts (a step
 * is nsites attempts). An attempt picks site i with probability 1/n and succeeds with
 * probability r_i = sum over the moves at i of (proposal probability) x (acceptance probability):
 *   insertion/deletion: (1 - p_swap) * (1/8) * P(code_i -> slot's target), for the 8 slots;
 *   swap along d:       (p_swap / 8) * P(swap i with its neighbour along d), for the 8 directions;
 * P = threshold / 2^63, exactly the probability that attempt.h's 63 random bits fall below it, and
 * p_swap = swap_threshold / 2^29, exactly the protocol's.
 *
 * Classes. With swaps a site's rate depends on its neighbours' codes as well as its own, so the
 * rates in use are many (hundreds to thousands of distinct values in a growing particle, against
 * ~60 codes): one class per value would make the class scan the cost. Instead a site belongs to
 * the band of its rate: [2^e / 2, 2^e * 3/4) or [2^e * 3/4, 2^e), e the binary exponent, each
 * with the bound b = its upper end (capped at 1, so that a rate of exactly 1 is its own bound).
 * Thinning makes that exact: an attempt is a "candidate" at site i with probability b_i / n, and
 * a candidate succeeds with probability r_i / b_i (>= 2/3), so an attempt succeeds at i with
 * probability r_i / n, independently of all others: exactly random-sequential's law. The kernel
 * draws the number of attempts before the next candidate (geometric with p = B / n,
 * B = sum_i b_i), picks a band with probability count x bound / B, a member of the band
 * uniformly, accepts it with probability r_i / b_i, and applies a move of the site chosen in
 * proportion to its terms. A rejected candidate is a failed attempt. When a move changes rates
 * (the sites within distance 2, ~20 of them, from a move patch: update_after_move, patch.h) a
 * site whose band changes moves between two bands in O(1); one whose band stays the same only
 * gets its new rate.
 *
 * Determinism and resumption: a checkpoint may be taken at any step boundary and the resumed run
 * must equal the uninterrupted one bit for bit, so everything the choice reads must be a pure
 * function of the state, never of the order in which moves happened. Hence:
 *  - a band is a bitset over the sites with popcounts per 512 and per 32768 sites, not a
 *    swap-remove list (whose order is history); the member picked is the k-th in site order;
 *  - B is kept as an exact integer (a multiple of 2^-98, in 128 bits): adding and removing band
 *    bounds in any order gives the same value; band weights count x bound are exact doubles and
 *    are summed in the fixed order of the bands;
 *  - a rate is a function of the codes (site_rate), the band a function of the rate;
 *  - a step's random numbers come from PURPOSE_REJECTION_FREE streams indexed by (step, draw
 *    number within the step) and every waiting time is cut at the end of the step and redrawn at
 *    the start of the next (the geometric law is memoryless, so this is exact).
 * So the trajectory from step s depends only on (state at s, s, seed, task). The workspace
 * records which replica state its caches belong to (the replica's serial number and change
 * count, replica.h) and rebuilds everything when run() finds another replica or a state changed
 * behind its back (a loaded checkpoint, a construction by hand).
 *
 * Hard walls (an umbrella window on N_core, a band on N_shell; replica_walls_allow): a move that
 * would take a count out of its walls keeps its rate, and when chosen is not applied and counts
 * as a failed attempt: the Metropolis kernels' hard walls, exactly, and the rates never depend on
 * the walls or on the counts.
 *
 * Finite solution (reservoir.h; the tables say `finite`): every insertion and deletion rate
 * depends on the reservoir's content n, which each such move changes, so per-site rates would all
 * go stale at once. With a reservoir the insertion/deletion terms therefore leave the per-site
 * rates (which keep the swaps only) and go by site code: a site's insertion/deletion rate is a
 * function of its code and n alone, R(code, n), each target's term with the exact threshold of
 * model_reservoir_threshold(). Every site is also a member of its code's set (a bitset with
 * counts like a band's, so a member is again the k-th in site order), and the codes' weight
 * W = sum over codes present of count x R(code, n), summed in code order, joins B: a candidate is
 * a code event with probability W / (B + W), its code chosen by weight, its site uniformly in the
 * code's set, its target in proportion to its terms (no thinning: R is exact); else a band event
 * as before. A change of n costs O(codes present): R is recomputed for a code when it is next
 * needed (its `epoch` is older than the content's). Every choice still reads only functions of the
 * state. The bands' bounds are capped at p_swap then, so that a site's swap bound plus its R stays
 * <= 1 and B + W <= nsites (each attempt has at most one candidate). Without a reservoir none of
 * this runs: run_step() is compiled twice, with and without the code sets, and the tables' bounds
 * and rates are what they always were.
 *
 * Swap acceptances are looked up: per bond multiplicity m of a direction (1 normally; 0 for
 * vertical directions when only in-plane neighbours bond; 2 on an extent-2 axis), a table indexed
 * by (code of i, code of j) holds attempt.h's threshold / 2^63 with j's code already corrected for
 * i's change. A row (all partners of one code) is computed the first time a site with that code
 * needs it: filling all 243 rows up front took 3 ms per workspace and a run uses a few dozen.
 * docs/performance.md has the measurements.
 */
#include "attempt.h"
#include "patch.h"
#include "ripen/engine/dynamics.h"
#include "ripen/engine/error.h"

#include <stdlib.h>
#include <string.h>

enum {
    MULTIPLICITIES = 3, /* bonds along a swap direction: 0, 1 or 2 */
    /* Bands: rates lie in [2^-95, 1] (the smallest is one 2^-63 threshold step times
     * (1 - p_swap) / 8 or p_swap / 8, each >= 2^-32); frexp gives r = m 2^e, m in [1/2, 1),
     * e in [EXPONENT_MIN, 1]. Band 0 holds no site (rate 0); band 1 + 2 (e - EXPONENT_MIN) + h
     * holds m in [1/2, 3/4) (h = 0) or [3/4, 1) (h = 1). */
    EXPONENT_MIN = -96,
    BANDS = 2 * (1 - EXPONENT_MIN + 1) + 1,
    OCCUPANCY_WORDS = (BANDS + 63) / 64,
    CHUNK_WORDS = 8,          /* a chunk: 8 words = 512 sites, its member count in 16 bits */
    SUPER_CHUNKS = 8,         /* a super-chunk: 8 chunks = 4096 sites, its count in 32 bits */
    BOUND_UNIT_EXP = -98,     /* B is counted in units of 2^-98: every bound is a multiple */
    SETS = BANDS + SITE_CODES /* bitsets: the bands, then one per site code (finite solution) */
};

/* The set of the sites with code c (a finite solution only). */
static inline int code_set(int c) {
    return BANDS + c;
}

typedef unsigned __int128 bound_sum; /* B / 2^-98: < 2^28 sites x 2^98 */

/* Sum of 8 consecutive values, pairwise in a fixed order (fast and deterministic). */
static inline double sum8(const double *v) {
    return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

typedef struct rejection_free {
    const model_tables *tab; /* the tables the rate tables below were built from */
    int32_t nsites;
    int32_t nwords, nchunks, nsupers; /* per band: bitset words, chunk and super-chunk counts */
    uint8_t *band;                    /* per site: its band, 0 for rate 0 */
    uint64_t *bits;        /* [band * nwords + w]: the members, bit i % 64 of word i / 64 */
    uint16_t *chunk_count; /* [band * nchunks + c]: members among sites 512 c .. */
    uint32_t *super_count; /* [band * nsupers + s]: members among sites 4096 s .. */
    int32_t (*select)(const struct rejection_free *rf, int b, uint64_t k); /* band_select_* */
    int32_t count[SETS];                /* members of each band, then of each code's set */
    uint64_t occupied[OCCUPANCY_WORDS]; /* bit b: band b has a member */
    double bound[BANDS];                /* b of each band */
    bound_sum units[BANDS];             /* the same in units of 2^-98 */
    bound_sum total;                    /* B in units of 2^-98, exact */
    uint64_t serial, changes;           /* the replica state the caches belong to (replica.h) */
    patch_set patches;                  /* the sites around a move (patch.h) */
    double swap_weight;                 /* p_swap / 8: probability of one direction */
    double insdel_rate[SITE_CODES];     /* insertion/deletion part of r_i, by code */
    double insdel_to[SITE_CODES][STATE_COUNT]; /* its part going to each state */
    double *swap_by_partner[MULTIPLICITIES];   /* [code_i * 243 + code_j]: P(swap), see above */
    uint8_t row_ready[SITE_CODES];             /* row code_i of every table in use computed */
    int multiplicities;                        /* how many tables the directions use ... */
    int multiplicity[MULTIPLICITIES];          /* ... and which */
    double *swap_table[LATTICE_DIRECTIONS];    /* the table of each direction */
    const double *one_table; /* the table of every direction if they all share one, else NULL */
    /* A finite solution (the tables' `finite`): insertions and deletions by code. */
    int finite;                                     /* 1: the code sets below are in use */
    uint8_t *code_of;                               /* per site: the code whose set holds it */
    uint64_t present[(SITE_CODES + 63) / 64];       /* bit c: code c's set has a member */
    double insdel_weight[STATE_COUNT][STATE_COUNT]; /* (1 - p_swap) x proposal of a -> b */
    double code_rate[SITE_CODES];                   /* R(code, n) at the content of code_epoch */
    double code_to[SITE_CODES][STATE_COUNT];        /* its part going to each state */
    uint64_t code_epoch[SITE_CODES];                /* content epoch code_rate was computed at */
    uint64_t epoch;                                 /* counts changes of the content below */
    int64_t content_core, content_shell;            /* the reservoir's content the epoch is for */
    double code_weight;                             /* W: sum of count x R over the codes present */
    int weight_stale;                               /* code counts or content changed since W */
} rejection_free;

static double band_bound(int b);
static bound_sum band_bound_units(double bound);

/* The bound of band b and its units; with a finite solution capped at p_swap, the most a site's
 * swaps can add up to (its insertions and deletions then go by code, and bound + R <= 1 keeps
 * B + W <= nsites). */
static double band_bound_of(const rejection_free *rf, int b, bound_sum *units) {
    const double p_swap = ldexp((double)rf->tab->swap_threshold, -29);
    const double bound = band_bound(b);
    if (rf->finite && bound > p_swap) {
        /* swap_threshold x 2^-29: exactly a multiple of 2^-98 */
        *units = (bound_sum)rf->tab->swap_threshold << (-29 - BOUND_UNIT_EXP);
        return p_swap;
    }
    *units = band_bound_units(bound);
    return bound;
}

static void set_band_bounds(rejection_free *rf) {
    for (int b = 1; b < BANDS; ++b) rf->bound[b] = band_bound_of(rf, b, &rf->units[b]);
}

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
            rf->insdel_weight[a][b] = (1.0 - p_swap) * (slots / 8.0);
            /* accept[code][a] = 0: null proposals never succeed; with a finite solution the
             * insertions and deletions go by code (code_rates), not into the site rates */
            const double p = t->finite ? 0.0 : ldexp((double)t->accept[code][b], -63);
            rf->insdel_to[code][b] = rf->insdel_weight[a][b] * p;
            total += rf->insdel_to[code][b];
        }
        rf->insdel_rate[code] = total;
    }
    rf->finite = t->finite;
    set_band_bounds(rf);
    int used[MULTIPLICITIES] = {0};
    for (int d = 0; d < LATTICE_DIRECTIONS; ++d) used[t->bond_multiplicity[d]] = 1;
    rf->multiplicities = 0;
    for (int m = 0; m < MULTIPLICITIES; ++m)
        if (used[m]) rf->multiplicity[rf->multiplicities++] = m;
    memset(rf->row_ready, 0, sizeof rf->row_ready);
    for (int d = 0; d < LATTICE_DIRECTIONS; ++d)
        rf->swap_table[d] = rf->swap_by_partner[t->bond_multiplicity[d]];
    rf->one_table = rf->multiplicities == 1 ? rf->swap_table[0] : NULL;
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

/* site_rate() once the rows of site i's code are ready (need_rows). */
static inline double site_rate_ready(const rejection_free *rf, const replica *r, int32_t i) {
    const uint8_t *site = r->site;
    const uint8_t code = site[i];
    if (rf->swap_weight == 0.0) return rf->insdel_rate[code];
    const int32_t *neighbour = r->lat->neighbour + (int64_t)i * LATTICE_DIRECTIONS;
    double p[LATTICE_DIRECTIONS];
    for (int d = 0; d < LATTICE_DIRECTIONS; ++d)
        p[d] = swap_accept(rf, site, code, neighbour[d], d);
    return rf->insdel_rate[code] + rf->swap_weight * sum8(p);
}

/* r_i, from the codes: the rates are not stored (a double per site is the largest array of a big
 * box, and a move would write ~20 of them); the one candidate of an event recomputes its own. */
static inline double site_rate(rejection_free *rf, const replica *r, int32_t i) {
    need_rows(rf, r->site[i]);
    return site_rate_ready(rf, r, i);
}

/* ---- bands ---- */

/* The band of a rate (0 for 0), from its bits: frexp's exponent is the biased exponent - 1022,
 * and m >= 3/4 iff the top mantissa bit is set (rates are normal numbers, >= 2^-95). */
static inline int band_of(double rate) {
    if (!(rate > 0.0)) return 0;
    uint64_t bits;
    memcpy(&bits, &rate, sizeof bits);
    const int e = (int)(bits >> 52 & 0x7FF) - 1022;
    if (e < EXPONENT_MIN) return 1; /* not reached (see above); still bounded by band 1's end */
    return 1 + 2 * (e - EXPONENT_MIN) + (int)(bits >> 51 & 1);
}

/* The upper end of band b >= 1, capped at 1. */
static double band_bound(int b) {
    const int e = (b - 1) / 2 + EXPONENT_MIN, upper = (b - 1) % 2;
    const double bound = ldexp(upper ? 1.0 : 0.75, e);
    return bound < 1.0 ? bound : 1.0;
}

/* The bound of band b in units of 2^-98 (exact: every bound is 3 * 2^k or 2^k, k >= -98). */
static bound_sum band_bound_units(double bound) {
    int e;
    const double m = frexp(bound, &e); /* 0.5 or 0.75 */
    const bound_sum mantissa = m == 0.5 ? 2 : 3;
    return mantissa << (e - 2 - BOUND_UNIT_EXP);
}

/* Site i joins set b (a band or a code's set): its bit and the counts above it. */
static inline void set_insert(rejection_free *rf, int32_t i, int b) {
    rf->bits[(int64_t)b * rf->nwords + i / 64] |= UINT64_C(1) << (i % 64);
    rf->chunk_count[(int64_t)b * rf->nchunks + i / (64 * CHUNK_WORDS)]++;
    rf->super_count[(int64_t)b * rf->nsupers + i / (64 * CHUNK_WORDS * SUPER_CHUNKS)]++;
    rf->count[b]++;
}

static inline void set_remove(rejection_free *rf, int32_t i, int b) {
    rf->bits[(int64_t)b * rf->nwords + i / 64] &= ~(UINT64_C(1) << (i % 64));
    rf->chunk_count[(int64_t)b * rf->nchunks + i / (64 * CHUNK_WORDS)]--;
    rf->super_count[(int64_t)b * rf->nsupers + i / (64 * CHUNK_WORDS * SUPER_CHUNKS)]--;
    rf->count[b]--;
}

static void band_insert(rejection_free *rf, int32_t i, int b) {
    set_insert(rf, i, b);
    if (rf->count[b] == 1) rf->occupied[b / 64] |= UINT64_C(1) << (b % 64);
    rf->total += rf->units[b];
}

static void band_remove(rejection_free *rf, int32_t i, int b) {
    set_remove(rf, i, b);
    if (rf->count[b] == 0) rf->occupied[b / 64] &= ~(UINT64_C(1) << (b % 64));
    rf->total -= rf->units[b];
}

/* Code sets (a finite solution): site i joins or leaves the set of code c. */
static void code_insert(rejection_free *rf, int32_t i, int c) {
    set_insert(rf, i, code_set(c));
    rf->present[c / 64] |= UINT64_C(1) << (c % 64);
    rf->code_of[i] = (uint8_t)c;
}

static void code_remove(rejection_free *rf, int32_t i, int c) {
    set_remove(rf, i, code_set(c));
    if (rf->count[code_set(c)] == 0) rf->present[c / 64] &= ~(UINT64_C(1) << (c % 64));
}

/* Moves sites[k] from band from[k] to band to[k] != from[k] (either may be 0: no band), k <
 * moves: band_remove() and band_insert() once more, with the arrays' addresses held in registers,
 * unsigned indices and B summed in a register (1-6% less per event). */
static void band_moves(rejection_free *rf, int moves, const int32_t *sites, const uint8_t *from,
                       const uint8_t *to) {
    uint64_t *restrict bits = rf->bits;
    uint16_t *restrict chunk = rf->chunk_count;
    uint32_t *restrict super = rf->super_count;
    const uint64_t nwords = (uint64_t)rf->nwords, nchunks = (uint64_t)rf->nchunks;
    const uint64_t nsupers = (uint64_t)rf->nsupers;
    bound_sum total = rf->total;
    for (int k = 0; k < moves; ++k) {
        const uint64_t i = (uint32_t)sites[k], a = from[k], b = to[k];
        const uint64_t bit = UINT64_C(1) << (i % 64), w = i / 64;
        const uint64_t c = i / (64 * CHUNK_WORDS), s = i / (64 * CHUNK_WORDS * SUPER_CHUNKS);
        if (a) {
            bits[a * nwords + w] &= ~bit;
            chunk[a * nchunks + c]--;
            super[a * nsupers + s]--;
            if (--rf->count[a] == 0) rf->occupied[a / 64] &= ~(UINT64_C(1) << (a % 64));
            total -= rf->units[a];
        }
        if (b) {
            bits[b * nwords + w] |= bit;
            chunk[b * nchunks + c]++;
            super[b * nsupers + s]++;
            if (rf->count[b]++ == 0) rf->occupied[b / 64] |= UINT64_C(1) << (b % 64);
            total += rf->units[b];
        }
    }
    rf->total = total;
}

/* Moves site i to the band of rate r if that is another one. */
static inline void set_band_of(rejection_free *rf, int32_t i, double r) {
    const int from = rf->band[i], to = band_of(r);
    if (from == to) return;
    if (from) band_remove(rf, i, from);
    if (to) band_insert(rf, i, to);
    rf->band[i] = (uint8_t)to;
}

/* Bit k (counted from 0) among the set bits of w, which has more than k. */
static inline int select_in_word(uint64_t w, uint64_t k) {
    for (; k > 0; --k) w &= w - 1;
    return __builtin_ctzll(w);
}

/* The word of band b's bitset that holds its k-th member in site order (k < count[b]), found by
 * the super-chunk, chunk and word counts; *k becomes the member's rank within the word. Written
 * once, compiled into both selectors below (with or without the popcnt instruction). */
static inline __attribute__((always_inline)) int32_t band_word(const struct rejection_free *rf,
                                                               int b, uint64_t *k) {
    const uint32_t *super = rf->super_count + (int64_t)b * rf->nsupers;
    int32_t s = 0;
    while (*k >= super[s]) *k -= super[s++];
    const uint16_t *chunk = rf->chunk_count + (int64_t)b * rf->nchunks;
    int32_t c = s * SUPER_CHUNKS;
    while (*k >= chunk[c]) *k -= chunk[c++];
    const uint64_t *word = rf->bits + (int64_t)b * rf->nwords;
    int32_t w = c * CHUNK_WORDS;
    while (*k >= (uint64_t)__builtin_popcountll(word[w]))
        *k -= (uint64_t)__builtin_popcountll(word[w++]);
    return w;
}

static int32_t band_select_generic(const struct rejection_free *rf, int b, uint64_t k) {
    const int32_t w = band_word(rf, b, &k);
    return w * 64 + select_in_word(rf->bits[(int64_t)b * rf->nwords + w], k);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* popcnt and pdep instructions instead of libgcc's popcount and a bit loop: the default build
 * targets any x86-64, which has neither; chosen at create when the CPU has both. */
__attribute__((target("popcnt,bmi2"))) static int32_t
band_select_bmi2(const struct rejection_free *rf, int b, uint64_t k) {
    const int32_t w = band_word(rf, b, &k);
    const uint64_t word = rf->bits[(int64_t)b * rf->nwords + w];
    return w * 64 + (int32_t)__builtin_ctzll(_pdep_u64(UINT64_C(1) << k, word));
}
#endif

static void choose_select(struct rejection_free *rf) {
    rf->select = band_select_generic;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("popcnt") && __builtin_cpu_supports("bmi2"))
        rf->select = band_select_bmi2;
#endif
}

/* The band whose weight count x bound contains t in [0, B), bands taken from the highest down
 * (most of the weight is there, so the scan is short); if rounding leaves t past the last
 * weight, the last occupied band. */
static int band_choose(const rejection_free *rf, double t) {
    int last = 0;
    double sum = 0;
    for (int w = OCCUPANCY_WORDS - 1; w >= 0; --w)
        for (uint64_t bits = rf->occupied[w]; bits;) {
            const int top = 63 - __builtin_clzll(bits);
            bits &= ~(UINT64_C(1) << top);
            last = 64 * w + top;
            sum += (double)rf->count[last] * rf->bound[last];
            if (t < sum) return last;
        }
    return last;
}

static double total_rate_bound(const rejection_free *rf) {
    return (double)rf->total * 0x1p-98; /* exact: a power of two, no underflow */
}

/* ---- a finite solution: insertions and deletions by code ---- */

/* R(code, n) and its terms at the reservoir's content the counts give: the insertion/deletion
 * part of a site rate, each target's term with the exact threshold. */
static void code_rates(rejection_free *rf, const replica *r, int code) {
    const int a = site_state((uint8_t)code);
    double total = 0;
    for (int b = 0; b < STATE_COUNT; ++b) {
        const uint64_t threshold = model_reservoir_threshold(rf->tab, &r->counts, (uint8_t)code, b);
        rf->code_to[code][b] = rf->insdel_weight[a][b] * ldexp((double)threshold, -63);
        total += rf->code_to[code][b];
    }
    rf->code_rate[code] = total;
    rf->code_epoch[code] = rf->epoch;
}

/* The content of a reservoir component the tables have (0 for one they do not). */
static int64_t content_of(const reservoir_component *c, int64_t on_lattice) {
    return reservoir_component_on(c) ? reservoir_content(c, on_lattice) : 0;
}

/* Brings W up to date: a new epoch when the content changed (every code's R is stale then), the
 * stale R of the codes present recomputed, W summed over them in code order. */
static void refresh_codes(rejection_free *rf, const replica *r) {
    const reservoir *res = &rf->tab->reservoir;
    const int64_t core = content_of(&res->core, r->counts.ncore);
    const int64_t shell = content_of(&res->shell, r->counts.nshell);
    if (core != rf->content_core || shell != rf->content_shell) {
        rf->content_core = core, rf->content_shell = shell;
        ++rf->epoch;
        rf->weight_stale = 1;
    }
    if (!rf->weight_stale) return;
    double weight = 0;
    for (int w = 0; w < (SITE_CODES + 63) / 64; ++w)
        for (uint64_t bits = rf->present[w]; bits; bits &= bits - 1) {
            const int c = 64 * w + __builtin_ctzll(bits);
            if (rf->code_epoch[c] != rf->epoch) code_rates(rf, r, c);
            weight += (double)rf->count[code_set(c)] * rf->code_rate[c];
        }
    rf->code_weight = weight;
    rf->weight_stale = 0;
}

/* The code whose weight count x R contains t in [0, W), in code order (the sum refresh_codes
 * made); if rounding leaves t past the last weight, the last code with one. */
static int code_choose(const rejection_free *rf, double t) {
    int last = -1;
    double sum = 0;
    for (int w = 0; w < (SITE_CODES + 63) / 64; ++w)
        for (uint64_t bits = rf->present[w]; bits; bits &= bits - 1) {
            const int c = 64 * w + __builtin_ctzll(bits);
            sum += (double)rf->count[code_set(c)] * rf->code_rate[c];
            if (!(rf->code_rate[c] > 0.0)) continue;
            last = c;
            if (t < sum) return c;
        }
    return last;
}

/* ---- the workspace ---- */

/* Every site's rate and band from scratch. */
__attribute__((noinline)) static void rebuild(rejection_free *rf, const replica *r) {
    if (rf->tab != r->tab) build_rate_tables(rf, r->tab);
    for (int b = 1; b < SETS; ++b) {
        if (!rf->count[b]) continue;
        memset(rf->bits + (int64_t)b * rf->nwords, 0, sizeof *rf->bits * (size_t)rf->nwords);
        memset(rf->chunk_count + (int64_t)b * rf->nchunks, 0,
               sizeof *rf->chunk_count * (size_t)rf->nchunks);
        memset(rf->super_count + (int64_t)b * rf->nsupers, 0,
               sizeof *rf->super_count * (size_t)rf->nsupers);
    }
    memset(rf->count, 0, sizeof rf->count);
    memset(rf->occupied, 0, sizeof rf->occupied);
    memset(rf->present, 0, sizeof rf->present);
    memset(rf->band, 0, (size_t)rf->nsites);
    rf->total = 0;
    for (int32_t i = 0; i < rf->nsites; ++i) set_band_of(rf, i, site_rate(rf, r, i));
    if (!rf->finite) return;
    for (int32_t i = 0; i < rf->nsites; ++i) code_insert(rf, i, r->site[i]);
    ++rf->epoch; /* every R stale: the tables may be new */
    rf->content_core = rf->content_shell = INT64_MIN;
    rf->weight_stale = 1;
}

/* The rate of the site at patch position q, from the codes of the placed patch: site_rate(),
 * the same terms in the same order, read from `code` instead of the lattice; `table` holds the
 * swap table of each direction, and the rows of code[q] are ready. */
static inline double patch_rate(const rejection_free *rf, const double *const *table,
                                const patch *p, const uint8_t *code, int q) {
    const int row = code[q] * SITE_CODES;
    double t[LATTICE_DIRECTIONS];
    for (int d = 0; d < LATTICE_DIRECTIONS; ++d) t[d] = table[d][row + code[p->around[q][d]]];
    return rf->insdel_rate[code[q]] + rf->swap_weight * sum8(t);
}

/* patch_rate() when every direction uses `table` (the usual case: one bond per direction): the
 * 8 neighbour positions read as one word. */
static inline double patch_rate_one(const rejection_free *rf, const double *table, const patch *p,
                                    const uint8_t *code, int q) {
    const double *row = table + code[q] * SITE_CODES;
    uint64_t around;
    memcpy(&around, p->around[q], sizeof around);
    double t[LATTICE_DIRECTIONS];
    for (int d = 0; d < LATTICE_DIRECTIONS; ++d) t[d] = row[code[(around >> (8 * d)) & 0xFF]];
    return rf->insdel_rate[code[q]] + rf->swap_weight * sum8(t);
}

/* New rates after a move at c (direction < 0) or a swap of c with its neighbour along
 * `direction`: every site of N[C] (their codes changed), and every site at distance 2 that has a
 * neighbour in N(C) \ C of another state. A rate at distance 2 reads the changed codes only
 * through its swap terms with those neighbours, and a swap term between equal states is 0 before
 * and after (their states did not change). In a uniform region nothing at distance 2 is queued:
 * ~20 sites per move instead of the 35 within distance 2. With a finite solution (`finite`, a
 * constant where it is inlined) also new code sets for the sites of N[C]. */
static inline __attribute__((always_inline)) void update_after_move(rejection_free *rf,
                                                                    const replica *r, int32_t c,
                                                                    int direction,
                                                                    const int finite) {
    const patch *p = &rf->patches.shape[1 + direction];
    int32_t site[PATCH_SITES_MAX];
    uint8_t code[PATCH_SITES_MAX];
    rf->patches.place(&rf->patches, p, c, r->site, rf->swap_weight > 0.0 ? p->sites : p->coded,
                      site, code);
    if (finite) /* the code sets of N[C], the sites whose codes changed */
        for (int q = 0; q < p->coded; ++q)
            if (code[q] != rf->code_of[site[q]]) {
                code_remove(rf, site[q], rf->code_of[site[q]]);
                code_insert(rf, site[q], code[q]);
                rf->weight_stale = 1;
            }
    uint8_t queue[PATCH_RATED_MAX];
    int n = 0;
    for (int q = 0; q < p->coded; ++q) queue[n++] = (uint8_t)q;
    if (rf->swap_weight > 0.0) {
        unsigned holds[STATE_COUNT] = {0}; /* bit k: position moved + k holds the state */
        for (int k = p->moved; k < p->coded; ++k)
            holds[site_state(code[k])] |= 1u << (k - p->moved);
        for (int q = p->coded; q < p->rated; ++q) {
            queue[n] = (uint8_t)q;
            n += (p->touches[q] & ~holds[site_state(code[q])]) != 0;
        }
    }
    double rates[PATCH_RATED_MAX];
    if (rf->swap_weight > 0.0) {
        for (int k = 0; k < n; ++k) need_rows(rf, code[queue[k]]);
        if (rf->one_table) {
            for (int k = 0; k < n; ++k)
                rates[k] = patch_rate_one(rf, rf->one_table, p, code, queue[k]);
        } else {
            const double *table[LATTICE_DIRECTIONS];
            memcpy(table, rf->swap_table, sizeof table);
            for (int k = 0; k < n; ++k) rates[k] = patch_rate(rf, table, p, code, queue[k]);
        }
    } else {
        for (int k = 0; k < n; ++k) rates[k] = rf->insdel_rate[code[queue[k]]];
    }
    /* New rates stored, and the sites whose band changed moved: found first without a branch,
     * because whether a band changes is a coin toss a branch predictor loses. */
    int32_t moving[PATCH_RATED_MAX];
    uint8_t from[PATCH_RATED_MAX], to[PATCH_RATED_MAX];
    int m = 0;
    for (int k = 0; k < n; ++k) {
        const int32_t i = site[queue[k]];
        moving[m] = i;
        from[m] = rf->band[i];
        to[m] = (uint8_t)band_of(rates[k]);
        rf->band[i] = to[m];
        m += from[m] != to[m];
    }
    band_moves(rf, m, moving, from, to);
}

/* ---- choosing and applying an event ---- */

/* The state whose term of `to` (insertion/deletion terms by target state) contains v, terms
 * summed in state order; if rounding leaves v past the last positive term, that term's state; -1
 * if none is positive. */
static inline int choose_target(const double to[STATE_COUNT], double v) {
    int b = -1;
    double sum = 0;
    for (int s = 0; s < STATE_COUNT; ++s) {
        if (!(to[s] > 0.0)) continue;
        b = s;
        sum += to[s];
        if (v < sum) break;
    }
    return b;
}

/* Applies the move of site i chosen by v in [0, r_i); returns 1, with *direction the direction of
 * the swap partner or -1 for an insertion/deletion, or 0 if a hard wall stopped it. The same
 * terms as site_rate(), in the same order; if rounding leaves v past the last positive term, that
 * term is taken. */
static int apply_move(rejection_free *rf, replica *r, int32_t i, double v, int *direction) {
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
        *direction = last_d;
        return 1;
    }
    const int b = choose_target(rf->insdel_to[code], v);
    if (b < 0) return 0; /* unreachable: site i has a positive rate */
    if (!replica_walls_allow(r, a, b)) return 0;
    replica_set_state(r, i, b);
    *direction = -1;
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

/* The random words of one draw: the stream {index, task, PURPOSE_REJECTION_FREE} of
 * philox_stream, its first two blocks computed together up front (they are independent, so the
 * second no longer waits for the first to be used: most draws use both), later ones on demand. */
typedef struct {
    uint32_t w[8];
    int used;
    philox_stream tail; /* the stream from its third block on */
} draw_words;

static inline void draw_init(draw_words *dw, const replica *r, uint64_t index) {
    philox_stream_init(&dw->tail, r->key, index, r->task, PURPOSE_REJECTION_FREE);
    philox_block counter = dw->tail.counter;
    const philox_block b0 = philox4x32_10(counter, r->key);
    counter.v[3] += 1u << 8;
    const philox_block b1 = philox4x32_10(counter, r->key);
    memcpy(dw->w, b0.v, sizeof b0.v);
    memcpy(dw->w + 4, b1.v, sizeof b1.v);
    dw->tail.counter.v[3] += 2u << 8;
    dw->used = 0;
}

static inline uint32_t draw_next(draw_words *dw) {
    return dw->used < 8 ? dw->w[dw->used++] : philox_stream_next(&dw->tail);
}

/* philox_stream_uniform() of the draw's words. */
static inline double draw_uniform(draw_words *dw) {
    const uint64_t hi = draw_next(dw) >> 5, lo = draw_next(dw) >> 6;
    return (double)(hi * 67108864u + lo) * 0x1.0p-53;
}

/* philox_uniform_below() of the draw's words: uniform in [0, n), Lemire's method. */
static inline uint32_t draw_below(draw_words *dw, uint32_t n) {
    uint64_t m = (uint64_t)draw_next(dw) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        const uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (uint64_t)draw_next(dw) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

/* A code event at t in [0, W): its code by weight, a member of the code's set uniformly (the
 * k-th in site order), a target in proportion to its terms; applied unless a hard wall stops it
 * (a failed attempt: 0). The site written goes to *site. */
static int code_event(rejection_free *rf, replica *r, draw_words *s, double t, int32_t *site) {
    const int c = code_choose(rf, t);
    if (c < 0) return 0; /* unreachable: W > 0 */
    const uint32_t k = draw_below(s, (uint32_t)rf->count[code_set(c)]);
    const int32_t i = rf->select(rf, code_set(c), k);
    const double v = draw_uniform(s) * rf->code_rate[c];
    const int b = choose_target(rf->code_to[c], v);
    if (b < 0 || !replica_walls_allow(r, site_state((uint8_t)c), b)) return 0;
    replica_set_state(r, i, b);
    *site = i;
    return 1;
}

/* One MC step: candidates until the next falls past the step's last attempt. Returns 1 if the
 * replica's watch stopped the run after a move (the caches are up to date). `finite` is a
 * constant where it is inlined (run_step): without a reservoir this is the plain n-fold way. */
static inline __attribute__((always_inline)) int step_events(rejection_free *rf, replica *r,
                                                             const int finite) {
    const uint64_t nsites = (uint64_t)rf->nsites;
    uint64_t used = 0; /* attempts of this step already consumed */
    for (uint64_t draw = 0;; ++draw) {
        if (finite) refresh_codes(rf, r);
        const double codes = finite ? rf->code_weight : 0.0; /* W, before the bands' B */
        if (rf->total == 0 && !(codes > 0.0)) return 0;      /* nothing can happen */
        const double bound = finite ? codes + total_rate_bound(rf) : total_rate_bound(rf);
        draw_words s;
        draw_init(&s, r, r->step * (nsites + 1) + draw);
        const double wait = 1.0 - draw_uniform(&s); /* in (0, 1] */
        const uint64_t skip = geometric_skip(wait, bound / (double)nsites, nsites - used);
        if (skip >= nsites - used) return 0;
        used += skip + 1;
        const double t = draw_uniform(&s) * bound;
        int32_t c;
        int direction = -1;
        if (finite && t < codes) {
            if (!code_event(rf, r, &s, t, &c)) continue;
        } else {
            const int b = band_choose(rf, finite ? t - codes : t);
            const uint32_t k = draw_below(&s, (uint32_t)rf->count[b]);
            const int32_t i = rf->select(rf, b, k);
            /* Accepted with probability r_i / b_i; then v is uniform in [0, r_i). */
            const double v = draw_uniform(&s) * rf->bound[b];
            if (!(v < site_rate(rf, r, i))) continue;
            if (!apply_move(rf, r, i, v, &direction)) continue;
            c = i;
        }
        update_after_move(rf, r, c, direction, finite);
        if (replica_report_move(r, used - 1)) return 1;
    }
}

__attribute__((noinline)) static int run_step(rejection_free *rf, replica *r) {
    return rf->finite ? step_events(rf, r, 1) : step_events(rf, r, 0);
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

/* The chunk and super-chunk counts of set b against its bits; its members in *members. */
static int check_set(const rejection_free *rf, int b, int32_t *members) {
    const uint64_t *word = rf->bits + (int64_t)b * rf->nwords;
    *members = 0;
    for (int32_t c = 0; c < rf->nchunks; ++c) {
        int32_t in_chunk = 0;
        for (int32_t w = c * CHUNK_WORDS; w < (c + 1) * CHUNK_WORDS && w < rf->nwords; ++w)
            in_chunk += __builtin_popcountll(word[w]);
        if (in_chunk != rf->chunk_count[(int64_t)b * rf->nchunks + c])
            return ripen_fail(RIPEN_EINVAL, "rejection-free: set %d chunk %d counts %d, holds %d",
                              b, c, rf->chunk_count[(int64_t)b * rf->nchunks + c], in_chunk);
        *members += in_chunk;
    }
    for (int32_t s = 0; s < rf->nsupers; ++s) {
        int32_t in_super = 0;
        for (int32_t c = s * SUPER_CHUNKS; c < (s + 1) * SUPER_CHUNKS && c < rf->nchunks; ++c)
            in_super += rf->chunk_count[(int64_t)b * rf->nchunks + c];
        if ((uint32_t)in_super != rf->super_count[(int64_t)b * rf->nsupers + s])
            return ripen_fail(RIPEN_EINVAL, "rejection-free: set %d super-chunk %d is wrong", b, s);
    }
    return *members == rf->count[b]
               ? RIPEN_OK
               : ripen_fail(RIPEN_EINVAL, "rejection-free: set %d counts %d, holds %d", b,
                            rf->count[b], *members);
}

/* A finite solution's code sets: every site in its code's set, the counts, the codes present,
 * and every rate R the current content has computed against a recomputation. */
static int check_codes(const rejection_free *rf, const replica *r) {
    for (int32_t i = 0; i < rf->nsites; ++i) {
        const int c = r->site[i];
        if (rf->code_of[i] != c ||
            !(rf->bits[(int64_t)code_set(c) * rf->nwords + i / 64] >> (i % 64) & 1))
            return ripen_fail(RIPEN_EINVAL, "rejection-free: site %d (code %d) not in its code set",
                              i, c);
    }
    int32_t counted = 0;
    rejection_free fresh = *rf; /* a scratch copy for code_rates() (nothing it owns changes) */
    for (int c = 0; c < SITE_CODES; ++c) {
        int32_t members;
        const int status = check_set(rf, code_set(c), &members);
        if (status) return status;
        counted += members;
        if ((int)(rf->present[c / 64] >> (c % 64) & 1) != (members > 0))
            return ripen_fail(RIPEN_EINVAL, "rejection-free: code %d present bit is wrong", c);
        const int current =
            rf->content_core == content_of(&rf->tab->reservoir.core, r->counts.ncore) &&
            rf->content_shell == content_of(&rf->tab->reservoir.shell, r->counts.nshell);
        if (!members || !current || rf->code_epoch[c] != rf->epoch) continue;
        code_rates(&fresh, r, c);
        if (fresh.code_rate[c] != rf->code_rate[c])
            return ripen_fail(RIPEN_EINVAL,
                              "rejection-free: code %d has R = %.17g, recomputed %.17g", c,
                              rf->code_rate[c], fresh.code_rate[c]);
    }
    return counted == rf->nsites
               ? RIPEN_OK
               : ripen_fail(RIPEN_EINVAL, "rejection-free: code sets hold %d of %d sites", counted,
                            rf->nsites);
}

/* Every rate against site_rate_from_scratch() (so the swap tables are checked too), every band
 * and member bit, count, chunk and super-chunk count, the occupancy and B against a recount, and
 * with a finite solution the code sets; a workspace that is not in step with r (it will rebuild
 * on the next run()) has nothing to check. */
static int check(const void *workspace, const replica *r) {
    const rejection_free *rf = workspace;
    if (rf->tab != r->tab || rf->serial != r->serial || rf->changes != r->changes) return RIPEN_OK;
    int32_t members = 0;
    for (int32_t i = 0; i < rf->nsites; ++i) {
        const double rate = site_rate_from_scratch(rf, r, i);
        const double from_tables = rf->row_ready[r->site[i]] || rf->swap_weight == 0.0
                                       ? site_rate_ready(rf, r, i)
                                       : rate; /* no row yet: nothing the tables hold to compare */
        if (rate != from_tables)
            return ripen_fail(RIPEN_EINVAL,
                              "rejection-free: site %d has rate %.17g, recomputed %.17g", i,
                              from_tables, rate);
        const int b = band_of(rate);
        if (b != rf->band[i])
            return ripen_fail(RIPEN_EINVAL, "rejection-free: site %d is in band %d, not %d", i,
                              rf->band[i], b);
        if (b && !(rf->bits[(int64_t)b * rf->nwords + i / 64] >> (i % 64) & 1))
            return ripen_fail(RIPEN_EINVAL, "rejection-free: site %d missing from band %d", i, b);
        members += b > 0;
    }
    bound_sum total = 0;
    int32_t counted = 0;
    for (int b = 1; b < BANDS; ++b) {
        int32_t in_band;
        const int status = check_set(rf, b, &in_band);
        if (status) return status;
        if ((int)(rf->occupied[b / 64] >> (b % 64) & 1) != (in_band > 0))
            return ripen_fail(RIPEN_EINVAL, "rejection-free: band %d occupancy is wrong", b);
        counted += in_band;
        bound_sum units;
        const double bound = band_bound_of(rf, b, &units);
        if (rf->units[b] != units || rf->bound[b] != bound)
            return ripen_fail(RIPEN_EINVAL, "rejection-free: the bound of band %d is wrong", b);
        total += (bound_sum)in_band * rf->units[b];
    }
    if (counted != members)
        return ripen_fail(RIPEN_EINVAL, "rejection-free: bands hold %d sites, %d have a rate",
                          counted, members);
    if (total != rf->total)
        return ripen_fail(RIPEN_EINVAL,
                          "rejection-free: the sum of the bounds is %.17g, kept %.17g",
                          ldexp((double)total, BOUND_UNIT_EXP), total_rate_bound(rf));
    return rf->finite ? check_codes(rf, r) : RIPEN_OK;
}

static void destroy(void *workspace) {
    rejection_free *rf = workspace;
    if (!rf) return;
    free(rf->band), free(rf->bits), free(rf->chunk_count);
    free(rf->super_count), free(rf->code_of);
    patch_free(&rf->patches);
    for (int m = 0; m < MULTIPLICITIES; ++m) free(rf->swap_by_partner[m]);
    free(rf);
}

static int create(void **workspace, const lattice *lat, const model_tables *tab) {
    rejection_free *rf = calloc(1, sizeof *rf);
    if (!rf) return ripen_fail(RIPEN_ENOMEM, "out of memory for rejection-free workspace");
    const size_t n = (size_t)lat->nsites;
    rf->nsites = lat->nsites;
    rf->nwords = (lat->nsites + 63) / 64;
    rf->nchunks = (rf->nwords + CHUNK_WORDS - 1) / CHUNK_WORDS;
    rf->nsupers = (rf->nchunks + SUPER_CHUNKS - 1) / SUPER_CHUNKS;
    /* Bitsets of every band and code: untouched ones stay untouched pages of the calloc (the
     * codes' only with a finite solution). */
    int failed =
        !(rf->band = calloc(n, 1)) || !(rf->code_of = calloc(n, 1)) ||
        !(rf->bits = calloc((size_t)SETS * (size_t)rf->nwords, sizeof *rf->bits)) ||
        !(rf->chunk_count = calloc((size_t)SETS * (size_t)rf->nchunks, sizeof *rf->chunk_count)) ||
        !(rf->super_count = calloc((size_t)SETS * (size_t)rf->nsupers, sizeof *rf->super_count));
    /* All three, so that run() with other tables never allocates; only the multiplicities the
     * lattice has are ever filled and touched. */
    for (int m = 0; m < MULTIPLICITIES; ++m)
        failed |= !(rf->swap_by_partner[m] = malloc(sizeof(double) * SITE_CODES * SITE_CODES));
    if (failed) {
        destroy(rf);
        return ripen_fail(RIPEN_ENOMEM, "out of memory for the rejection-free bands of %d sites",
                          lat->nsites);
    }
    const int status = patch_build(&rf->patches, lat);
    if (status) {
        destroy(rf);
        return status;
    }
    choose_select(rf);
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
