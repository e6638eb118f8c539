/* Checkerboard (colour-class) sweeps: a step visits the colour classes in a random order and
 * makes one attempt at every site of each class. Moves within a class cannot interact
 * (colouring.h), so the order inside a class does not matter and a class could be updated in
 * parallel or in SIMD lanes. The random bits of site i at step s are those of attempt number
 * s * nsites + i, whatever the processing order. Each class update satisfies detailed balance,
 * so the sweep samples exp(-E) like random-sequential; the kinetics differ. */
#include "attempt.h"
#include "ripen/colouring.h"
#include "ripen/dynamics.h"
#include "ripen/error.h"

#include <stdlib.h>

typedef struct {
    colouring classes;
    int *order; /* this step's class order */
} checkerboard;

static int create(void **workspace, const lattice *lat, const model_tables *tab) {
    (void)tab;
    checkerboard *cb = calloc(1, sizeof *cb);
    if (!cb) return ripen_fail(RIPEN_ENOMEM, "out of memory for checkerboard sweeps");
    int status = colouring_build(&cb->classes, lat, COLOURING_SEPARATION);
    if (!status && !(cb->order = malloc(sizeof *cb->order * (size_t)cb->classes.nclasses)))
        status = ripen_fail(RIPEN_ENOMEM, "out of memory for checkerboard sweeps");
    if (status) {
        colouring_free(&cb->classes);
        free(cb);
        return status;
    }
    *workspace = cb;
    return RIPEN_OK;
}

static void destroy(void *workspace) {
    checkerboard *cb = workspace;
    if (!cb) return;
    colouring_free(&cb->classes);
    free(cb->order);
    free(cb);
}

/* Fisher-Yates shuffle of the classes from the step's own stream. */
static void shuffle_classes(const replica *r, checkerboard *cb) {
    const int n = cb->classes.nclasses;
    for (int k = 0; k < n; ++k) cb->order[k] = k;
    philox_stream stream;
    philox_stream_init(&stream, r->key, r->step, r->task, PURPOSE_CLASS_ORDER);
    for (int k = n - 1; k > 0; --k) {
        const int pick =
            (int)philox_uniform_below(philox_stream_next(&stream), (uint32_t)k + 1, &stream);
        const int held = cb->order[k];
        cb->order[k] = cb->order[pick];
        cb->order[pick] = held;
    }
}

static void run(replica *r, void *workspace, uint64_t steps) {
    checkerboard *cb = workspace;
    const uint64_t nsites = (uint64_t)r->lat->nsites;
    for (uint64_t s = 0; s < steps; ++s, ++r->step) {
        shuffle_classes(r, cb);
        const uint64_t first = r->step * nsites;
        for (int k = 0; k < cb->classes.nclasses; ++k) {
            const int c = cb->order[k];
            for (int32_t p = cb->classes.start[c]; p < cb->classes.start[c + 1]; ++p) {
                const int32_t i = cb->classes.sites[p];
                const philox_block w = attempt_random(r, first + (uint64_t)i);
                attempt_at(r, i, w.v[1], attempt_accept_bits(w));
            }
        }
    }
}

const dynamics_kind dynamics_checkerboard = {
    .name = "checkerboard",
    .summary = "colour-class sweeps: every site once per step, classes in random order",
    .create = create,
    .destroy = destroy,
    .run = run,
};
