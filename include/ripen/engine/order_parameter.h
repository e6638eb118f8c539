/* The order parameter q of the umbrella windows and of F(q) (MODEL.md, "Free energy"): core sites
 * added to the initial particle, q = N_core - N_core(0), and its unit, one full new layer on a
 * side facet.
 *
 * Everything that depends on what q is lives here: its value, the hard wall a window [lo, hi]
 * puts on the replica, the construction that brings a fresh replica into a window, the layer
 * size, and where a profile is read from. The replica enforces walls on N_core only
 * (replica_window_allows()), so another q that is a function of the counts needs a change here
 * and in that one wall test.
 */
#ifndef RIPEN_ORDER_PARAMETER_H
#define RIPEN_ORDER_PARAMETER_H

#include <math.h>
#include <stdint.h>

#include "ripen/engine/initial.h"
#include "ripen/engine/replica.h"

/* q of the replica's current configuration. */
static inline int64_t q_value(const replica *r, int64_t core_initial) {
    return r->counts.ncore - core_initial;
}

/* Puts the hard wall of window [lo, hi] on the replica; error if its q is outside, or its N_shell
 * outside its shell band. */
int q_window_apply(replica *r, int64_t core_initial, int lo, int hi);

/* Brings a replica deterministically to the value of [lo, hi] nearest to q = 0: grows the core
 * where a site has the most core neighbours (or shrinks it where one has the fewest). The
 * window's equilibration then relaxes this construction. Growing into the shell takes shell
 * sites: where that would take N_shell below the replica's shell band, each one is given back
 * to the shell at the solution site with the most shell neighbours, so the construction keeps
 * the band (without a band it is what it always was). Error if there is no room for that, or if
 * a finite solution (the tables' reservoir) runs out of core units on the way. */
int q_drive_into_window(replica *r, int64_t core_initial, int lo, int hi);

/* One new row on a short facet of the initial hexagon, through all layers: the q of one full
 * new layer by default. */
int q_layer_sites(const initial_report *report, int lz);

/* Where a profile on [q_min, q_max] is read from: q = 0 if the range holds it, else q_min. */
int q_profile_start(int q_min, int q_max);

/* Tilted windows ("tilt": true in a window set). A window whose hard walls hold a steep stretch
 * of F(q) (the first site of a new row costs ~20 kT) sits at one wall and never crosses it, so it
 * tells nothing about its own range. A tilt is a linear bias in q, i.e. a window-own mu_core,
 * which WHAM and MBAR remove exactly (u_k(q) = -(mu_k - mu) q inside the walls). It is tuned in
 * the equilibration, in WINDOW_TILT_ROUNDS equal rounds; one more round relaxes at the final
 * mu_k before sampling starts. After each round q_tilt_next() moves mu_k by a Newton step of
 * <q> towards the window's centre (d<q>/dmu = Var q; a full WINDOW_TILT_MAX_STEP when q did
 * not move), at most that far, and bisects once the rounds have bracketed the balance: a plain
 * Newton step oscillates by +-4 kT when crossings are rare. Any mu_k gives exact results; the
 * tuning only decides how well the window samples its range. */
enum { WINDOW_TILT_ROUNDS = 8, WINDOW_TILT_MIN_EQUILIBRATION = WINDOW_TILT_ROUNDS + 1 };
#define WINDOW_TILT_MAX_STEP 4.0

/* The tuning's state: this round's time-weighted moments of q - lo (exact integers), and the
 * bracket so far: the highest mu_core seen with <q> below the centre, the lowest seen above. */
typedef struct {
    int64_t steps, sum, sum_squares;
    double mu_below, mu_above; /* -INFINITY / INFINITY until seen */
} q_tilt;

static inline q_tilt q_tilt_start(void) {
    return (q_tilt){.mu_below = -INFINITY, .mu_above = INFINITY};
}

static inline void q_tilt_record(q_tilt *t, int64_t q, int lo) {
    const int64_t x = q - lo;
    t->steps++, t->sum += x, t->sum_squares += x * x;
}

/* Length of one tuning round for an equilibration of `equilibration_steps`. */
static inline uint64_t q_tilt_round(uint64_t equilibration_steps) {
    return equilibration_steps / WINDOW_TILT_MIN_EQUILIBRATION;
}

/* At the end of a round sampled at `mu_core`: the mu_core of the next round, for window
 * [lo, hi]; updates the bracket and starts a new round. */
double q_tilt_next(q_tilt *t, double mu_core, int lo, int hi);

#endif
