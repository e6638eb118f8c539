/* Every task kind a job can hold. Task ids are numbered in this order (job.h), so a new kind goes
 * at the end: earlier kinds keep their task ids, hence their random streams and results. */
#include "ripen/driver/kinds/ensemble.h"
#include "ripen/driver/kinds/exchange.h"
#include "ripen/driver/kinds/ffs.h"
#include "ripen/driver/kinds/relay.h"
#include "ripen/driver/task_kind.h"
#include "ripen/driver/kinds/windows.h"

const task_kind *const task_kinds[] = {&task_kind_ensembles, &task_kind_windows, &task_kind_relay,
                                       &task_kind_ffs, &task_kind_exchange};
const int task_kind_count = sizeof task_kinds / sizeof *task_kinds;

int task_kind_code(const task_kind *kind) {
    for (int k = 0; k < task_kind_count; ++k)
        if (task_kinds[k] == kind) return k;
    return -1;
}
