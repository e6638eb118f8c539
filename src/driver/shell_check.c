/* Whether a set's shell stayed the shell it started as (shell_check.h). */
#include "shell_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

shell_band shell_band_of(double tolerance, int64_t shell_initial) {
    /* floor: a change of exactly tolerance x N_shell(0) sites is still inside */
    const int64_t room = (int64_t)floor(tolerance * (double)shell_initial + 1e-9);
    const int64_t lo = shell_initial - room;
    return (shell_band){
        .lo = lo > 0 ? lo : 0, .hi = shell_initial + room, .initial = shell_initial};
}

shell_tally shell_tally_start(void) {
    return (shell_tally){.lowest = INT64_MAX, .highest = INT64_MIN};
}

void shell_tally_add(shell_tally *t, const shell_band *b, int64_t nshell) {
    t->samples++;
    if (nshell < t->lowest) t->lowest = nshell;
    if (nshell > t->highest) t->highest = nshell;
    t->below += nshell < b->lo;
    t->above += nshell > b->hi;
}

void shell_check_start(shell_check *c, const shell_band *b) {
    *c = (shell_check){.band = *b, .first_left = -1, .lowest = INT64_MAX, .highest = INT64_MIN};
}

void shell_check_group(shell_check *c, int index, const shell_tally *t) {
    c->groups++;
    if (t->lowest < c->lowest) c->lowest = t->lowest;
    if (t->highest > c->highest) c->highest = t->highest;
    if (2 * (t->below + t->above) <= t->samples) return;
    c->left++;
    if (t->below >= t->above)
        c->lost++;
    else
        c->grew++;
    if (c->first_left < 0) c->first_left = index;
}

int shell_check_warning(const shell_check *c, const char *noun, char *out, size_t capacity) {
    if (capacity) out[0] = '\0';
    if (c->left == 0) return 0;
    const char *what = c->grew == 0 ? "shell lost" : c->lost == 0 ? "shell grew" : "shell changed";
    snprintf(out, capacity,
             "%s: %d of %d %s held N_shell outside [%lld, %lld] (initial %lld) for most of their "
             "samples (first: number %d; N_shell sampled from %lld to %lld): this set does not "
             "measure the particle it started with",
             what, c->left, c->groups, noun, (long long)c->band.lo, (long long)c->band.hi,
             (long long)c->band.initial, c->first_left, (long long)c->lowest,
             (long long)c->highest);
    return 1;
}

void shell_check_series(shell_check *c, int index, const int32_t *nshell, int64_t n,
                        int64_t stride) {
    shell_tally t = shell_tally_start();
    for (int64_t k = 0; k < n; ++k) shell_tally_add(&t, &c->band, nshell[k * stride]);
    shell_check_group(c, index, &t);
}

void shell_warning_prepend(char *warnings, size_t capacity, const char *warning) {
    const size_t length = strlen(warning) + 2 + strlen(warnings) + 1;
    char *joined = malloc(length);
    if (!joined) return; /* the warning stays in its own attribute */
    snprintf(joined, length, "%s%s%s", warning, warnings[0] ? "; " : "", warnings);
    snprintf(warnings, capacity, "%s", joined);
    free(joined);
}
