#include "patch.h"

#include "ripen/engine/error.h"

#include <stdlib.h>
#include <string.h>

/* A patch under construction on the lattice: positions with their sites around the origin. */
typedef struct {
    patch *p;
    const lattice *lat;
    int32_t site[PATCH_SITES_MAX];
    int offset[PATCH_SITES_MAX][3];
} builder;

static int position_of(const builder *b, int32_t site) {
    for (int q = 0; q < b->p->sites; ++q)
        if (b->site[q] == site) return q;
    return -1;
}

/* Appends `site` at `offset` unless it is there already (reached another way round the torus). */
static int add_site(builder *b, int32_t site, const int offset[3]) {
    if (position_of(b, site) >= 0) return RIPEN_OK;
    const int q = b->p->sites;
    if (q == PATCH_SITES_MAX) return ripen_fail(RIPEN_EINVAL, "move patch: too many sites");
    for (int a = 0; a < 3; ++a) {
        if (offset[a] < -PATCH_REACH || offset[a] > PATCH_REACH)
            return ripen_fail(RIPEN_EINVAL, "move patch: offset beyond its reach");
        b->offset[q][a] = offset[a];
        b->p->axis[a][q] = (uint8_t)(offset[a] + PATCH_REACH);
    }
    b->site[q] = site;
    b->p->sites = q + 1;
    return RIPEN_OK;
}

/* Adds the neighbours of positions [from, to) not yet in the patch (one breadth-first layer). */
static int add_layer(builder *b, int from, int to) {
    for (int q = from; q < to; ++q)
        for (int d = 0; d < LATTICE_DIRECTIONS; ++d) {
            const int offset[3] = {b->offset[q][0] + lattice_direction_dx[d],
                                   b->offset[q][1] + lattice_direction_dy[d],
                                   b->offset[q][2] + lattice_direction_dz[d]};
            const int status = add_site(b, lattice_neighbour(b->lat, b->site[q], d), offset);
            if (status) return status;
        }
    return RIPEN_OK;
}

/* The patch of one site (direction < 0) or of site 0 and its neighbour along `direction`. */
static int build_shape(patch *p, const lattice *lat, int direction) {
    memset(p, 0, sizeof *p);
    builder b = {.p = p, .lat = lat};
    const int origin[3] = {0, 0, 0};
    int status = add_site(&b, 0, origin);
    if (!status && direction >= 0) {
        const int step[3] = {lattice_direction_dx[direction], lattice_direction_dy[direction],
                             lattice_direction_dz[direction]};
        status = add_site(&b, lattice_neighbour(lat, 0, direction), step);
    }
    p->moved = p->sites;
    if (!status) status = add_layer(&b, 0, p->moved);
    p->coded = p->sites;
    if (!status) status = add_layer(&b, p->moved, p->coded);
    p->rated = p->sites;
    if (!status) status = add_layer(&b, p->coded, p->rated);
    if (status) return status;
    if (p->coded - p->moved > 16 || p->rated > PATCH_RATED_MAX)
        return ripen_fail(RIPEN_EINVAL, "move patch: too many sites within distance 2");
    for (int q = 0; q < p->rated; ++q)
        for (int d = 0; d < LATTICE_DIRECTIONS; ++d) {
            const int at = position_of(&b, lattice_neighbour(lat, b.site[q], d));
            if (at < 0) return ripen_fail(RIPEN_EINVAL, "move patch: a neighbour is missing");
            p->around[q][d] = (uint8_t)at;
            if (at >= p->moved && at < p->coded) p->touches[q] |= (uint16_t)(1u << (at - p->moved));
        }
    return RIPEN_OK;
}

/* Positions past p->sites up to a multiple of 16 are the origin: a vector placement reads them. */
static void pad_shape(patch *p) {
    for (int q = p->sites; q < PATCH_SITES_MAX; ++q)
        for (int a = 0; a < 3; ++a) p->axis[a][q] = PATCH_REACH;
}

static void place_portable(const patch_set *ps, const patch *p, int32_t c, const uint8_t *codes,
                           int count, int32_t *site, uint8_t *code) {
    const int32_t *axis[3];
    patch_axes(ps, c, axis);
    for (int q = 0; q < count; ++q) {
        site[q] = axis[0][p->axis[0][q]] + axis[1][p->axis[1][q]] + axis[2][p->axis[2][q]];
        code[q] = codes[site[q]];
    }
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

/* 16 positions at a time: each axis's 9 wrapped offsets at c sit in one vector, so a position's
 * part is one permute; the codes are gathered as the 32-bit words at the sites' addresses (the
 * replica's padding keeps the last site's word in bounds). */
__attribute__((target("avx512f"))) static void place_avx512(const patch_set *ps, const patch *p,
                                                            int32_t c, const uint8_t *codes,
                                                            int count, int32_t *site,
                                                            uint8_t *code) {
    const int32_t *axis[3];
    patch_axes(ps, c, axis);
    const __m512i tx = _mm512_loadu_si512(axis[0]), ty = _mm512_loadu_si512(axis[1]);
    const __m512i tz = _mm512_loadu_si512(axis[2]);
    for (int q = 0; q < count; q += 16) {
        const __m512i ix = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p->axis[0] + q)));
        const __m512i iy = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p->axis[1] + q)));
        const __m512i iz = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p->axis[2] + q)));
        const __m512i at = _mm512_add_epi32(
            _mm512_add_epi32(_mm512_permutexvar_epi32(ix, tx), _mm512_permutexvar_epi32(iy, ty)),
            _mm512_permutexvar_epi32(iz, tz));
        _mm512_storeu_si512(site + q, at);
    }
    for (int q = 0; q < count; ++q) code[q] = codes[site[q]];
}

static int avx512_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}
#endif

static void choose_place(patch_set *ps) {
    ps->place = place_portable, ps->place_isa = "portable";
#if defined(__GNUC__) && defined(__x86_64__)
    const char *wanted = getenv("RIPEN_PATCH");
    if (avx512_supported() && !(wanted && strcmp(wanted, "portable") == 0))
        ps->place = place_avx512, ps->place_isa = "avx512";
#endif
}

void patch_free(patch_set *ps) {
    for (int a = 0; a < 3; ++a) free(ps->wrapped[a]);
    memset(ps, 0, sizeof *ps);
}

int patch_build(patch_set *ps, const lattice *lat) {
    memset(ps, 0, sizeof *ps);
    ps->lx = lat->lx;
    ps->ncolumns = lat->ncolumns;
    const int extent[3] = {lat->lx, lat->ly, lat->lz};
    const int32_t stride[3] = {1, lat->lx, lat->ncolumns};
    for (int a = 0; a < 3; ++a) {
        /* 16 entries readable from any coordinate: 2 * PATCH_REACH + 8 past the extent */
        ps->wrapped[a] = calloc((size_t)(extent[a] + 2 * PATCH_REACH + 8), sizeof(int32_t));
        if (!ps->wrapped[a]) {
            patch_free(ps);
            return ripen_fail(RIPEN_ENOMEM, "out of memory for move patches");
        }
        for (int v = -PATCH_REACH; v < extent[a] + PATCH_REACH; ++v)
            ps->wrapped[a][v + PATCH_REACH] = ((v % extent[a] + extent[a]) % extent[a]) * stride[a];
    }
    for (int s = 0; s < PATCH_SHAPES; ++s) {
        const int status = build_shape(&ps->shape[s], lat, s - 1);
        if (status) {
            patch_free(ps);
            return status;
        }
        pad_shape(&ps->shape[s]);
    }
    choose_place(ps);
    return RIPEN_OK;
}
