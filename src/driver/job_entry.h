/* What a task kind's parser shares with the job parser (private to the driver): the limits, the
 * keys every entry accepts, the system overrides and the name rules. */
#ifndef RIPEN_JOB_ENTRY_H
#define RIPEN_JOB_ENTRY_H

#include <cjson/cJSON.h>

#include "ripen/driver/job.h"

#define JOB_MAX_REPLICAS     10000000
#define JOB_MAX_STEPS        1000000000000.0
#define JOB_MAX_SWEEP_POINTS 10000

/* Keys every entry accepts: the system overrides, sweeps and comments. */
#define ENTRY_SYSTEM_KEYS                                                                          \
    "shell_thickness", "lattice", "model", "dynamics", "threads", "initial", "shell_band",         \
        "reservoir", "sweep", "comment"

/* Applies the system keys present in `obj` (lattice, model, dynamics, initial, shell_band,
 * reservoir and the shell_thickness shortcut) on top of `s`. */
int job_entry_system(const cJSON *obj, const char *path, system_spec *s);

/* A task of `steps` MC steps on the lattice of `s`: its random numbers are indexed by step x
 * (sites + 1) + attempt in 64 bits (philox.h), so steps x (sites + 1) must stay below 2^63 (the
 * counter would wrap and reuse numbers). Error naming `path`.`key` and the most steps allowed
 * on that lattice otherwise. */
int job_entry_check_steps(const char *path, const char *key, uint64_t steps, const system_spec *s);

/* Reads a "shell_band" value (an object, or null for none) into `b`; the band is resolved later,
 * against the initial particle (shell_band_resolve). */
int shell_band_parse(const cJSON *item, const char *path, shell_band_spec *b);

/* Reads a "reservoir" value (an object, or null for none) into `s`; resolved later, against the
 * initial particle (reservoir_spec_resolve). */
int reservoir_spec_parse(const cJSON *item, const char *path, reservoir_spec *s);

/* Reads the entry's "name" (always present after expansion) and checks it names an HDF5 group. */
int job_entry_name(const cJSON *obj, const char *path, char *name, size_t capacity);

#endif
