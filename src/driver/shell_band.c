/* A job's "shell_band": its keys, its resolution against the initial particle, its description
 * (include/ripen/driver/shell_band.h). */
#include "ripen/driver/shell_band.h"

#include "job_entry.h"
#include "json_read.h"
#include "ripen/engine/error.h"
#include "ripen/engine/lattice.h"

#include <math.h>
#include <stdio.h>

/* Gains beyond this many times the initial shell are surely typos (and keep the product far
 * from overflow); leave "gain" out for no upper wall. */
#define BAND_MAX_GAIN 1000.0

/* One side: the absolute key or the relative one, not both. */
static int parse_side(const cJSON *obj, const char *path, const char *absolute,
                      const char *relative, double max_fraction, band_side *side) {
    const int has_absolute = cJSON_HasObjectItem(obj, absolute);
    const int has_relative = cJSON_HasObjectItem(obj, relative);
    if (has_absolute && has_relative)
        return ripen_fail(RIPEN_EINVAL, "%s: give \"%s\" or \"%s\", not both", path, absolute,
                          relative);
    int64_t sites = 0;
    double fraction = 0;
    int status = json_get_int(obj, absolute, path, 0, LATTICE_MAX_SITES, &sites);
    if (!status) status = json_get_double(obj, relative, path, 0.0, max_fraction, &fraction);
    if (status) return status;
    *side = has_absolute   ? (band_side){BAND_ABSOLUTE, (double)sites}
            : has_relative ? (band_side){BAND_RELATIVE, fraction}
                           : (band_side){BAND_OPEN, 0};
    return RIPEN_OK;
}

int shell_band_parse(const cJSON *item, const char *path, shell_band_spec *b) {
    if (cJSON_IsNull(item)) { /* an entry clears a band it would inherit */
        *b = shell_band_none();
        return RIPEN_OK;
    }
    static const char *const keys[] = {"min", "max", "lose", "gain", NULL};
    int status;
    if ((status = json_require_object(item, path)) || (status = json_check_keys(item, path, keys)))
        return status;
    shell_band_spec parsed = shell_band_none();
    parsed.given = 1;
    if ((status = parse_side(item, path, "min", "lose", 1.0, &parsed.lower)) ||
        (status = parse_side(item, path, "max", "gain", BAND_MAX_GAIN, &parsed.upper)))
        return status;
    if (parsed.lower.kind == BAND_OPEN && parsed.upper.kind == BAND_OPEN)
        return ripen_fail(RIPEN_EINVAL,
                          "%s: an empty band: give a lower wall (\"min\" sites or \"lose\", a "
                          "fraction of the initial shell) and/or an upper one (\"max\" or "
                          "\"gain\"), or null for no band",
                          path);
    *b = parsed;
    return RIPEN_OK;
}

/* floor(fraction x sites), robust to decimal fractions that binary rounds a hair low (0.15 x 240
 * must give 36 sites, not 35). */
static int64_t fraction_of(double fraction, int64_t sites) {
    return (int64_t)floor(fraction * (double)sites + 1e-9);
}

static int64_t resolve_side(const band_side *side, int64_t shell_initial, int sign, int64_t open) {
    switch (side->kind) {
        case BAND_ABSOLUTE:
            return (int64_t)side->value;
        case BAND_RELATIVE:
            return shell_initial + sign * fraction_of(side->value, shell_initial);
        default:
            return open;
    }
}

int shell_band_resolve(shell_band_spec *b, int64_t shell_initial, int64_t nsites,
                       shell_ensemble ensemble, const char *path) {
    if (!b->given) return RIPEN_OK;
    char given[128];
    shell_band_describe(b, given, sizeof given);
    if (ensemble == SHELL_CANONICAL)
        return ripen_fail(RIPEN_EINVAL,
                          "%s: shell_band {%s} with model.shell_ensemble = \"canonical\": a "
                          "conserved shell has nothing for a band to restrain",
                          path, given);
    if (shell_initial == 0)
        return ripen_fail(RIPEN_EINVAL,
                          "%s: shell_band {%s} on a particle without shell (N_shell = 0): give "
                          "this entry \"shell_band\": null",
                          path, given);
    const int64_t lo = resolve_side(&b->lower, shell_initial, -1, 0);
    const int64_t hi = resolve_side(&b->upper, shell_initial, +1, nsites);
    if (hi > nsites)
        return ripen_fail(RIPEN_EINVAL,
                          "%s: shell_band {%s} reaches N_shell = %lld, beyond the lattice's %lld "
                          "sites",
                          path, given, (long long)hi, (long long)nsites);
    if (lo > hi)
        return ripen_fail(RIPEN_EINVAL, "%s: shell_band {%s} is empty: [%lld, %lld] is inverted",
                          path, given, (long long)lo, (long long)hi);
    if (shell_initial < lo || shell_initial > hi)
        return ripen_fail(RIPEN_EINVAL,
                          "%s: shell_band {%s} = [%lld, %lld] does not hold the initial "
                          "particle's N_shell = %lld",
                          path, given, (long long)lo, (long long)hi, (long long)shell_initial);
    b->shell_min = lo, b->shell_max = hi;
    return RIPEN_OK;
}

static void describe_side(const band_side *side, const char *absolute, const char *relative,
                          char *out, size_t capacity) {
    if (side->kind == BAND_ABSOLUTE)
        snprintf(out, capacity, "%s %lld", absolute, (long long)side->value);
    else if (side->kind == BAND_RELATIVE)
        snprintf(out, capacity, "%s %.12g", relative, side->value);
    else
        out[0] = '\0';
}

void shell_band_describe(const shell_band_spec *b, char *out, size_t capacity) {
    if (!b->given) {
        snprintf(out, capacity, "none");
        return;
    }
    char lower[48], upper[48];
    describe_side(&b->lower, "min", "lose", lower, sizeof lower);
    describe_side(&b->upper, "max", "gain", upper, sizeof upper);
    snprintf(out, capacity, "%s%s%s", lower, lower[0] && upper[0] ? ", " : "", upper);
}
