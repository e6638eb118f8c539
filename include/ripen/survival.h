/* Right-censored times: the Kaplan-Meier estimate of the survival function and its median.
 * A replica that has not doubled by its last step is censored there: it says "tau > steps_run",
 * which the estimate uses instead of dropping the replica. */
#ifndef RIPEN_SURVIVAL_H
#define RIPEN_SURVIVAL_H

#include <stdint.h>

/* times[k]: the doubling time, or the censoring time if censored[k]. Returns the smallest time
 * at which the Kaplan-Meier survival drops to 0.5 or below, or -1 if it never does (more than
 * half censored before the median). */
double survival_km_median(const int64_t *times, const uint8_t *censored, int n);

#endif
