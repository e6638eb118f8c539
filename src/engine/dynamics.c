#include "ripen/engine/dynamics.h"

#include "ripen/engine/error.h"

#include <stdio.h>
#include <string.h>

const dynamics_kind *const dynamics_all[] = {&dynamics_random_sequential, &dynamics_checkerboard,
                                             &dynamics_rejection_free};
const int dynamics_count = sizeof dynamics_all / sizeof dynamics_all[0];

const dynamics_kind *dynamics_find(const char *name, const char *path) {
    char allowed[256] = "";
    for (int k = 0; k < dynamics_count; ++k) {
        if (strcmp(dynamics_all[k]->name, name) == 0) return dynamics_all[k];
        const size_t used = strlen(allowed);
        snprintf(allowed + used, sizeof allowed - used, "%s\"%s\"", k ? ", " : "",
                 dynamics_all[k]->name);
    }
    ripen_fail(RIPEN_EINVAL, "%s = \"%s\": must be one of %s", path, name, allowed);
    return NULL;
}

int dynamics_open(dynamics *d, const dynamics_kind *kind, const lattice *lat,
                  const model_tables *tab) {
    d->kind = kind;
    d->workspace = NULL;
    return kind->create ? kind->create(&d->workspace, lat, tab) : RIPEN_OK;
}

int dynamics_set_threads(dynamics *d, int threads) {
    if (threads < 1 || threads > DYNAMICS_MAX_THREADS)
        return ripen_fail(RIPEN_EINVAL, "threads = %d: must be an integer in [1, %d]", threads,
                          DYNAMICS_MAX_THREADS);
    return d->kind->set_threads ? d->kind->set_threads(d->workspace, threads) : RIPEN_OK;
}

void dynamics_close(dynamics *d) {
    if (d->kind && d->kind->destroy) d->kind->destroy(d->workspace);
    d->workspace = NULL;
}
