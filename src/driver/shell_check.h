/* Whether a set's shell stayed the shell it started as (issue 19; private to the driver).
 *
 * Windows, exchange and forward flux sets measure a "shelled" particle. Where the shell is
 * grand-canonical and barely supersaturated it can dissolve on its own (or grow from the
 * solution), and the set then measures another particle while still being labelled shelled:
 * tilted windows at jobs/paper-like.json's point returned the shell-free barrier as a "shelled"
 * F(q). So every such set records N_shell with its samples, and a set whose shell left a band
 * around its initial size carries a warning in the file, the run's summary and results.md.
 *
 * The band: N_shell within tolerance x N_shell(0) of N_shell(0) (rounded down), so for a
 * particle that starts without a shell, no shell at all: a few shell sites wetting a bare facet
 * lower its growth barrier from ~27 kT to ~5 kT (docs/reproduction.md, "The ~3 kT, measured").
 * A group of samples (a window, a state, a stage's stored configurations) "left" its shell when
 * more than half of its samples lie outside the band: a transient crack or a few solution sites
 * do not count, a shell that dissolved during the equilibration or the sampling does.
 */
#ifndef RIPEN_SHELL_CHECK_H
#define RIPEN_SHELL_CHECK_H

#include <stddef.h>
#include <stdint.h>

/* The job key `shell_tolerance` of window, exchange and ffs sets: its default and range. */
#define SHELL_TOLERANCE_DEFAULT 0.15
#define SHELL_TOLERANCE_MIN     0.001
#define SHELL_TOLERANCE_MAX     100.0

typedef struct {
    int64_t lo, hi; /* the band on N_shell (sites) */
    int64_t initial;
} shell_band;

shell_band shell_band_of(double tolerance, int64_t shell_initial);

/* One group's samples. */
typedef struct {
    int64_t samples, below, above; /* samples, and of them below / above the band */
    int64_t lowest, highest;       /* N_shell extremes (sites) */
} shell_tally;

shell_tally shell_tally_start(void);
void shell_tally_add(shell_tally *t, const shell_band *b, int64_t nshell);

/* Over a set's groups: how many left the band, which way, and the first that did. */
typedef struct {
    shell_band band;
    int groups, left, lost, grew; /* groups; those that left (lost: mostly below; grew: above) */
    int first_left;               /* index of the first group that left; -1 if none */
    int64_t lowest, highest;      /* N_shell extremes over every sample */
} shell_check;

void shell_check_start(shell_check *c, const shell_band *b);
/* Adds group `index` (its tally). */
void shell_check_group(shell_check *c, int index, const shell_tally *t);

/* Adds group `index` from its n samples of N_shell, every `stride`-th int32 of `nshell`. */
void shell_check_series(shell_check *c, int index, const int32_t *nshell, int64_t n,
                        int64_t stride);

/* The warning ("" if no group left the band), one line naming the groups (`noun`: "windows",
 * "windows of rung 0", "stages' stored configurations"), e.g. "shell lost: 18 of 20 windows
 * held N_shell outside [204, 276] (initial 240) for most of their samples (first: number 2;
 * N_shell sampled from 0 to 241): ...". Returns 1 if there is a warning. */
int shell_check_warning(const shell_check *c, const char *noun, char *out, size_t capacity);

/* Puts `warning` at the head of a set's `warnings` ("a; b"), cut to its capacity. */
void shell_warning_prepend(char *warnings, size_t capacity, const char *warning);

#endif
