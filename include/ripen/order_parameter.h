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

#include <stdint.h>

#include "ripen/initial.h"
#include "ripen/replica.h"

/* q of the replica's current configuration. */
static inline int64_t q_value(const replica *r, int64_t core_initial) {
    return r->counts.ncore - core_initial;
}

/* Puts the hard wall of window [lo, hi] on the replica; error if its q is outside. */
int q_window_apply(replica *r, int64_t core_initial, int lo, int hi);

/* Brings a replica deterministically to the value of [lo, hi] nearest to q = 0: grows the core
 * where a site has the most core neighbours (or shrinks it where one has the fewest). The
 * window's equilibration then relaxes this construction. */
void q_drive_into_window(replica *r, int64_t core_initial, int lo, int hi);

/* One new row on a short facet of the initial hexagon, through all layers: the q of one full
 * new layer by default. */
int q_layer_sites(const initial_report *report, int lz);

/* Where a profile on [q_min, q_max] is read from: q = 0 if the range holds it, else q_min. */
int q_profile_start(int q_min, int q_max);

#endif
