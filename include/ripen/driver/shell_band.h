/* The band on N_shell, a job's "shell_band" (docs/jobs.md): a hard wall on the number of shell
 * sites that keeps a metastable shell in place (docs/model.md, "Shell band").
 *
 * A band is given per side, absolute ("min", "max": sites) or relative to the initial particle's
 * shell ("lose", "gain": fractions of N_shell(0)), and resolved once per task set against that
 * particle (job.c's check_system), so every task of the set holds the same absolute band. The
 * replica enforces it (replica_set_shell_band, replica_walls_allow); the driver only parses,
 * resolves, records and describes it (src/driver/shell_band.c).
 */
#ifndef RIPEN_SHELL_BAND_H
#define RIPEN_SHELL_BAND_H

#include <stddef.h>
#include <stdint.h>

#include "ripen/engine/model.h"

typedef enum { BAND_OPEN, BAND_ABSOLUTE, BAND_RELATIVE } band_side_kind;

typedef struct {
    band_side_kind kind;
    double value; /* sites (absolute) or a fraction of the initial N_shell (relative) */
} band_side;

typedef struct {
    int given;                    /* 0: no band (the default) */
    band_side lower, upper;       /* as given: "min" or "lose", "max" or "gain" */
    int64_t shell_min, shell_max; /* resolved (sites); 0 and INT64_MAX without a band */
} shell_band_spec;

static inline shell_band_spec shell_band_none(void) {
    return (shell_band_spec){.shell_min = 0, .shell_max = INT64_MAX};
}

/* Resolves the band against the initial particle (N_shell(0) = shell_initial sites on a lattice
 * of nsites): shell_min = N_shell(0) - floor(lose N_shell(0)), shell_max = N_shell(0) +
 * floor(gain N_shell(0)), open sides 0 and nsites. One-line error naming `path` if the band is
 * empty, leaves 0..nsites, does not hold N_shell(0), sits on a particle without shell, or has
 * nothing to restrain (a canonical shell). No band: nothing to do. */
int shell_band_resolve(shell_band_spec *b, int64_t shell_initial, int64_t nsites,
                       shell_ensemble ensemble, const char *path);

/* The band as given, for messages and the result file: "lose 0.15, gain 0.15" or "min 200". */
void shell_band_describe(const shell_band_spec *b, char *out, size_t capacity);

#endif
