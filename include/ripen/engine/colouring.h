/* Colour classes for checkerboard sweeps: sets of sites whose moves can be made in any order, or
 * all at once, with the same result.
 *
 * A move at site i (an insertion/deletion at i, or a swap of i with any neighbour j) reads the
 * states within graph distance 2 of i and writes states within distance 1. Two moves at i and i'
 * can therefore interact only if dist(i, i') <= 3, so a valid class has all its sites at mutual
 * distance >= 4 ("separation" 4). Any finite separation works for every lattice size, including
 * 80 x 80 (which has no proper 3-colouring) and odd sizes such as 7 x 5 x 3.
 *
 * Construction: colour each axis separately. Along an axis of extent L, cut the cycle into
 * q = max(1, floor(L / s)) blocks of nearly equal length (each >= s when q > 1) and colour a
 * coordinate by its offset in its block; equal colours are then >= s apart around the cycle. A
 * site's class is the triple of axis colours. Because one graph step changes each coordinate by
 * at most one, two distinct sites of a class are >= s apart in the graph. tests/test_colouring.c
 * checks the independence directly on the neighbour table, not on this argument.
 */
#ifndef RIPEN_COLOURING_H
#define RIPEN_COLOURING_H

#include <stdint.h>

#include "ripen/engine/lattice.h"

enum { COLOURING_SEPARATION = 4 };

typedef struct {
    int nclasses;    /* number of colour classes */
    int32_t *start;  /* nclasses + 1 offsets into `sites` */
    int32_t *sites;  /* all sites, grouped by class, increasing within a class */
    int32_t *colour; /* per site: its class */
} colouring;

int colouring_build(colouring *c, const lattice *lat, int separation);
void colouring_free(colouring *c);

/* Colour of `coordinate` on a cycle of `extent` with equal colours >= `separation` apart; sets
 * *ncolours to the number of colours along the axis. */
int colouring_axis_colour(int coordinate, int extent, int separation, int *ncolours);

#endif
