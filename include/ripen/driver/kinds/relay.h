/* The "relay" task kind: a diagnostic of the stage machinery (task_kind.h, "Stages"), small enough
 * for the test suite to run on every rank count, through kills and shards.
 *
 * A relay set runs `stages` stages of `tasks` replicas, `steps` MC steps each. A task of stage 0
 * starts from the initial particle with value = its slot + 1. The plan of stage s + 1 sorts the
 * tasks of stage s by their final energy (then slot): the task in slot k of stage s + 1 starts
 * from the final lattice of the k-th of them and doubles its value. So each stage's values are
 * twice the previous stage's, permuted by a data-dependent plan, as in exchange or forward flux
 * sampling. Stored under /relay/<name>. */
#ifndef RIPEN_RELAY_H
#define RIPEN_RELAY_H

#include "ripen/driver/task_kind.h"

extern const task_kind task_kind_relay;

#endif
