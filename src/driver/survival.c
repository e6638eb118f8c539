/* Kaplan-Meier estimates of right-censored times (survival.h). */
#include "ripen/driver/survival.h"

#include "ripen/engine/error.h"

#include <math.h>
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

static observation_time *sorted(const int64_t *times, const uint8_t *censored, int n) {
    observation_time *o = malloc(sizeof *o * (size_t)(n > 0 ? n : 1));
    if (!o) return NULL;
    for (int k = 0; k < n; ++k) o[k] = (observation_time){times[k], censored[k]};
    qsort(o, (size_t)n, sizeof *o, by_time);
    return o;
}

double survival_km_median(const int64_t *times, const uint8_t *censored, int n) {
    if (n <= 0) return -1;
    observation_time *o = sorted(times, censored, n);
    if (!o) return -1;
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

void survival_curve_free(survival_curve *c) {
    free(c->time), free(c->survival), free(c->se), free(c->lower), free(c->upper);
    free(c->at_risk), free(c->events);
    *c = (survival_curve){0};
}

/* The log-log band at one point (z = 1.96 for 95%). */
static void band(double s, double se, double *lower, double *upper) {
    if (s <= 0.0 || s >= 1.0 || !(se > 0.0)) {
        *lower = s >= 1.0 ? 1.0 : 0.0;
        *upper = s > 0.0 ? s : 0.0;
        if (s >= 1.0) *upper = 1.0;
        return;
    }
    const double spread = 1.959963984540054 * se / (s * fabs(log(s)));
    *lower = pow(s, exp(spread));
    *upper = pow(s, exp(-spread));
}

int survival_km_curve(const int64_t *times, const uint8_t *censored, int n, survival_curve *out) {
    *out = (survival_curve){.median = survival_km_median(times, censored, n), .replicas = n};
    for (int k = 0; k < n; ++k) out->censored += censored[k] != 0;
    observation_time *o = sorted(times, censored, n);
    const size_t m = (size_t)(n > 0 ? n : 1);
    out->time = malloc(sizeof *out->time * m), out->survival = malloc(sizeof(double) * m);
    out->se = malloc(sizeof(double) * m), out->lower = malloc(sizeof(double) * m);
    out->upper = malloc(sizeof(double) * m), out->at_risk = malloc(sizeof(int64_t) * m);
    out->events = malloc(sizeof(int64_t) * m);
    if (!o || !out->time || !out->survival || !out->se || !out->lower || !out->upper ||
        !out->at_risk || !out->events) {
        free(o);
        survival_curve_free(out);
        return ripen_fail(RIPEN_ENOMEM, "out of memory for a survival curve");
    }
    double survival = 1.0, greenwood = 0.0;
    int at_risk = n;
    for (int k = 0; k < n;) {
        int events = 0, leaving = 0;
        const int64_t t = o[k].time;
        for (; k < n && o[k].time == t; ++k, ++leaving) events += !o[k].censored;
        if (events) {
            survival *= 1.0 - (double)events / at_risk;
            greenwood += events < at_risk
                             ? (double)events / ((double)at_risk * (double)(at_risk - events))
                             : INFINITY;
            const int i = out->n++;
            out->time[i] = t, out->survival[i] = survival;
            out->at_risk[i] = at_risk, out->events[i] = events;
            out->se[i] = isfinite(greenwood) ? survival * sqrt(greenwood) : NAN;
            band(survival, out->se[i], &out->lower[i], &out->upper[i]);
        }
        at_risk -= leaving;
    }
    free(o);
    return RIPEN_OK;
}
