/* A job's "reservoir": its keys, its resolution against the initial particle, its description
 * (include/ripen/driver/reservoir_spec.h). */
#include "ripen/driver/reservoir_spec.h"

#include "job_entry.h"
#include "json_read.h"
#include "ripen/engine/error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Units beyond this are surely typos; it also keeps n / N_ref and the counts exact in doubles. */
#define RESERVOIR_MAX_UNITS 1e12

/* One component: its units (an integer >= 0) and its reference content (> 0; default the units,
 * so that a component with no units must name one). `units_key` absent: *on = 0. */
static int parse_component(const cJSON *obj, const char *path, const char *units_key,
                           const char *reference_key, int *on, int64_t *units, double *reference) {
    *on = cJSON_HasObjectItem(obj, units_key);
    if (!*on) {
        if (cJSON_HasObjectItem(obj, reference_key))
            return ripen_fail(RIPEN_EINVAL, "%s.%s: given without \"%s\"", path, reference_key,
                              units_key);
        return RIPEN_OK;
    }
    int status = json_get_int(obj, units_key, path, 0, (int64_t)RESERVOIR_MAX_UNITS, units);
    *reference = (double)*units;
    if (!status)
        status = json_get_double(obj, reference_key, path, 0.0, RESERVOIR_MAX_UNITS, reference);
    if (status) return status;
    if (!(*reference > 0.0))
        return ripen_fail(RIPEN_EINVAL,
                          "%s: the reference content %s = %g must be > 0: the job's mu is the "
                          "solution's at that content (give \"%s\" when \"%s\" is 0)",
                          path, reference_key, *reference, reference_key, units_key);
    return RIPEN_OK;
}

int reservoir_spec_parse(const cJSON *item, const char *path, reservoir_spec *s) {
    if (cJSON_IsNull(item)) { /* an entry clears a reservoir it would inherit */
        *s = reservoir_spec_none();
        return RIPEN_OK;
    }
    static const char *const keys[] = {"core_units",  "reference_units",       "volume",
                                       "shell_units", "shell_reference_units", NULL};
    int status;
    if ((status = json_require_object(item, path)) || (status = json_check_keys(item, path, keys)))
        return status;
    reservoir_spec parsed = reservoir_spec_none();
    parsed.given = 1;
    int core = 0;
    if ((status = parse_component(item, path, "core_units", "reference_units", &core,
                                  &parsed.core_units, &parsed.core_reference)) ||
        (status = parse_component(item, path, "shell_units", "shell_reference_units", &parsed.shell,
                                  &parsed.shell_units, &parsed.shell_reference)) ||
        (status = json_get_double(item, "volume", path, -1e300, 1e300, &parsed.volume)))
        return status;
    if (!core)
        return ripen_fail(RIPEN_EINVAL,
                          "%s: give \"core_units\", the core units in the solution at the start",
                          path);
    if (cJSON_HasObjectItem(item, "volume") && !(parsed.volume > 0.0))
        return ripen_fail(RIPEN_EINVAL, "%s.volume = %g: must be > 0 (site volumes)", path,
                          parsed.volume);
    *s = parsed;
    return RIPEN_OK;
}

int reservoir_spec_resolve(reservoir_spec *s, int64_t core_initial, int64_t shell_initial,
                           int64_t nsites, shell_ensemble ensemble, const char *path) {
    if (!s->given) return RIPEN_OK;
    if (s->shell && ensemble == SHELL_CANONICAL)
        return ripen_fail(RIPEN_EINVAL,
                          "%s: reservoir.shell_units with model.shell_ensemble = \"canonical\": a "
                          "conserved shell exchanges nothing with the solution",
                          path);
    if (!(s->volume > 0.0)) s->volume = (double)nsites;
    s->resolved.core = (reservoir_component){core_initial + s->core_units, s->core_reference};
    if (s->shell)
        s->resolved.shell =
            (reservoir_component){shell_initial + s->shell_units, s->shell_reference};
    return RIPEN_OK;
}

double reservoir_spec_mu0(const reservoir_spec *s, double mu, double reference) {
    return mu - log(reference / s->volume);
}

void reservoir_spec_describe(const reservoir_spec *s, char *out, size_t capacity) {
    if (!s->given) {
        snprintf(out, capacity, "none");
        return;
    }
    const int n = snprintf(out, capacity, "core %lld (reference %.12g)", (long long)s->core_units,
                           s->core_reference);
    if (s->shell && n >= 0 && (size_t)n < capacity)
        snprintf(out + n, capacity - (size_t)n, ", shell %lld (reference %.12g)",
                 (long long)s->shell_units, s->shell_reference);
    const size_t used = strlen(out);
    if (used < capacity) snprintf(out + used, capacity - used, ", volume %.12g", s->volume);
}
