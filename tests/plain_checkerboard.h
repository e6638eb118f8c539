/* The checkerboard dynamics written the plain way, from attempt.h only: one scalar Philox block
 * per attempt, its packed word, attempt_packed_at(), the attempts reported with their position in
 * the step's visiting sequence. The oracle of the fast kernels (test_kernels, test_watch). */
#ifndef RIPEN_TEST_PLAIN_CHECKERBOARD_H
#define RIPEN_TEST_PLAIN_CHECKERBOARD_H

#include "attempt.h"
#include "check.h"
#include "ripen/engine/colouring.h"

#include <stdlib.h>

static inline void plain_checkerboard(replica *r, uint64_t steps) {
    colouring c;
    REQUIRE(colouring_build(&c, r->lat, COLOURING_SEPARATION) == RIPEN_OK, "%s",
            ripen_last_error());
    int *order = malloc(sizeof *order * (size_t)c.nclasses);
    uint64_t *base = malloc(sizeof *base * (size_t)c.nclasses);
    REQUIRE(order && base, "out of memory");
    const uint64_t nsites = (uint64_t)r->lat->nsites;
    const uint64_t per_step = attempt_class_bases(&c, base);
    for (uint64_t s = 0; s < steps; ++s, ++r->step) {
        attempt_class_order(r, c.nclasses, order);
        uint64_t position = 0;
        for (int k = 0; k < c.nclasses; ++k) {
            const int cls = order[k];
            for (int32_t p = 0; p < c.start[cls + 1] - c.start[cls]; ++p, ++position) {
                const int32_t i = c.sites[c.start[cls] + p];
                const uint32_t word = attempt_packed_word(r, r->step * per_step + base[cls], p);
                attempt_packed_at(r, i, word, r->step * nsites + (uint64_t)i, position);
            }
        }
    }
    free(base);
    free(order);
    colouring_free(&c);
}

#endif
