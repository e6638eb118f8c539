#include "ripen/engine/colouring.h"

#include "ripen/engine/error.h"

#include <stdlib.h>

int colouring_axis_colour(int coordinate, int extent, int separation, int *ncolours) {
    const int blocks = extent / separation > 1 ? extent / separation : 1;
    const int short_length = extent / blocks;
    const int long_blocks = extent % blocks; /* the first ones are one longer */
    *ncolours = short_length + (long_blocks > 0);
    const int long_span = long_blocks * (short_length + 1);
    if (coordinate < long_span) return coordinate % (short_length + 1);
    return (coordinate - long_span) % short_length;
}

int colouring_build(colouring *c, const lattice *lat, int separation) {
    *c = (colouring){0};
    int nx, ny, nz;
    colouring_axis_colour(0, lat->lx, separation, &nx);
    colouring_axis_colour(0, lat->ly, separation, &ny);
    colouring_axis_colour(0, lat->lz, separation, &nz);
    c->nclasses = nx * ny * nz;
    c->start = calloc((size_t)c->nclasses + 1, sizeof *c->start);
    c->sites = malloc(sizeof *c->sites * (size_t)lat->nsites);
    c->colour = malloc(sizeof *c->colour * (size_t)lat->nsites);
    if (!c->start || !c->sites || !c->colour) {
        colouring_free(c);
        return ripen_fail(RIPEN_ENOMEM, "out of memory for colour classes");
    }
    for (int32_t i = 0; i < lat->nsites; ++i) {
        int x, y, z, unused;
        lattice_coords(lat, i, &x, &y, &z);
        const int cx = colouring_axis_colour(x, lat->lx, separation, &unused);
        const int cy = colouring_axis_colour(y, lat->ly, separation, &unused);
        const int cz = colouring_axis_colour(z, lat->lz, separation, &unused);
        c->colour[i] = cx + nx * (cy + ny * cz);
        c->start[c->colour[i] + 1]++;
    }
    for (int k = 0; k < c->nclasses; ++k) c->start[k + 1] += c->start[k];
    int32_t *fill = malloc(sizeof *fill * (size_t)c->nclasses);
    if (!fill) {
        colouring_free(c);
        return ripen_fail(RIPEN_ENOMEM, "out of memory for colour classes");
    }
    for (int k = 0; k < c->nclasses; ++k) fill[k] = c->start[k];
    for (int32_t i = 0; i < lat->nsites; ++i) c->sites[fill[c->colour[i]]++] = i;
    free(fill);
    return RIPEN_OK;
}

void colouring_free(colouring *c) {
    free(c->start);
    free(c->sites);
    free(c->colour);
    *c = (colouring){0};
}
