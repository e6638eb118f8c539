/* Crack episodes and the onset of growth from sampled series (ripen/engine/crack.h). */
#include "ripen/engine/crack.h"

int crack_next_episode(const crack_series *s, int64_t *k, crack_episode *e) {
    while (*k < s->n && s->exposed[*k] <= 0) ++*k;
    if (*k >= s->n) return 0;
    const int64_t first = *k;
    int32_t peak = 0;
    for (; *k < s->n && s->exposed[*k] > 0; ++*k)
        if (s->exposed[*k] > peak) peak = s->exposed[*k];
    const int closed = *k < s->n;
    const int64_t last = closed ? *k : s->n - 1;      /* the sample that ends it */
    const int64_t before = first > 0 ? first - 1 : 0; /* the last one before it */
    *e = (crack_episode){.start = first * s->interval,
                         .end = last * s->interval,
                         .peak = peak,
                         .growth = (int64_t)s->n_core[last] - s->n_core[before],
                         .closed = (uint8_t)closed};
    return 1;
}

int64_t crack_episodes(const crack_series *s, crack_episode *out, int64_t capacity) {
    int64_t count = 0, k = 0;
    crack_episode e;
    for (; crack_next_episode(s, &k, &e); ++count)
        if (count < capacity) out[count] = e;
    return count;
}

/* Whether `size` is within CRACK_ONSET_PERCENT of `initial` from above (integer arithmetic, so
 * every platform agrees). */
static int not_grown(int64_t size, int64_t initial) {
    return 100 * size <= (100 + CRACK_ONSET_PERCENT) * initial;
}

static int64_t onset(const crack_series *s) {
    int64_t last = s->n - 1; /* the last sample that can precede the onset */
    if (s->tau >= 0 && s->tau / s->interval < last) last = s->tau / s->interval;
    if (last < 0) return -1;
    if (s->tau < 0 && not_grown(s->size[last], s->initial)) return -1; /* not taken off yet */
    for (int64_t k = last; k >= 0; --k)
        if (not_grown(s->size[k], s->initial)) return k * s->interval;
    return -1; /* grown at every sample (a size sampled after a change of state): no onset seen */
}

int64_t crack_basin_samples(const crack_series *s, const crack_summary *c) {
    if (c->onset < 0) return s->n;
    const int64_t last = c->onset / s->interval;
    return last + 1 < s->n ? last + 1 : s->n;
}

crack_summary crack_summarise(const crack_series *s) {
    crack_summary c = {.first_exposure = -1, .onset = onset(s), .growth_time = -1};
    for (int64_t k = 0; k < s->n && c.first_exposure < 0; ++k)
        if (s->exposed[k] > 0) c.first_exposure = k * s->interval;
    if (s->tau >= 0 && c.onset >= 0) c.growth_time = s->tau - c.onset;
    int64_t k = 0;
    crack_episode e;
    while (crack_next_episode(s, &k, &e)) {
        c.episodes++;
        c.healed += crack_healed(&e);
    }
    return c;
}
