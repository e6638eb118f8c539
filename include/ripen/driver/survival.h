/* Right-censored times: the Kaplan-Meier estimate of the survival function, its pointwise 95%
 * band and its median. A replica that has not doubled by its last step is censored there: it
 * says "tau > steps_run", which the estimate uses instead of dropping the replica. */
#ifndef RIPEN_SURVIVAL_H
#define RIPEN_SURVIVAL_H

#include <stdint.h>

/* times[k]: the doubling time, or the censoring time if censored[k]. Returns the smallest time
 * at which the Kaplan-Meier survival drops to 0.5 or below, or -1 if it never does (more than
 * half censored before the median). */
double survival_km_median(const int64_t *times, const uint8_t *censored, int n);

/* The curve at each distinct event time t_i: S(t_i) just after it, the replicas at risk just
 * before it and the events at it; Greenwood's standard error
 *     se(S(t)) = S(t) sqrt(sum_{t_i <= t} d_i / (n_i (n_i - d_i)))
 * and the pointwise 95% band on the log-log scale (Kalbfleisch & Prentice), which stays inside
 * [0, 1]: S^exp(+-1.96 se / (S |ln S|)) (the band is [0, 0] where S = 0 and [1, 1] where
 * S = 1, and lower = 0 where the last events empty the risk set). */
typedef struct {
    int n;                 /* distinct event times */
    int64_t *time;         /* MC steps */
    double *survival, *se; /* S(t_i), Greenwood's standard error */
    double *lower, *upper; /* pointwise 95% band */
    int64_t *at_risk, *events;
    double median; /* survival_km_median, or -1 */
    int replicas, censored;
} survival_curve;

int survival_km_curve(const int64_t *times, const uint8_t *censored, int n, survival_curve *out);
void survival_curve_free(survival_curve *c);

#endif
