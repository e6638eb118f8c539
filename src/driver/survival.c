#include "ripen/survival.h"

#include <stdlib.h>

typedef struct {
    int64_t time;
    uint8_t censored;
} observation_time;

/* Events before censorings at equal times (the usual convention: censored at t means alive
 * just after t). */
static int by_time(const void *a, const void *b) {
    const observation_time *x = a, *y = b;
    if (x->time != y->time) return (x->time > y->time) - (x->time < y->time);
    return (x->censored > y->censored) - (x->censored < y->censored);
}

double survival_km_median(const int64_t *times, const uint8_t *censored, int n) {
    if (n <= 0) return -1;
    observation_time *o = malloc(sizeof *o * (size_t)n);
    if (!o) return -1;
    for (int k = 0; k < n; ++k) o[k] = (observation_time){times[k], censored[k]};
    qsort(o, (size_t)n, sizeof *o, by_time);
    double survival = 1.0, median = -1;
    int at_risk = n;
    for (int k = 0; k < n;) {
        int events = 0, leaving = 0;
        const int64_t t = o[k].time;
        for (; k < n && o[k].time == t; ++k, ++leaving) events += !o[k].censored;
        if (events) survival *= 1.0 - (double)events / at_risk;
        at_risk -= leaving;
        if (survival <= 0.5) {
            median = (double)t;
            break;
        }
    }
    free(o);
    return median;
}
