#include "ripen/engine/order_parameter.h"

#include "ripen/engine/error.h"

int q_window_apply(replica *r, int64_t core_initial, int lo, int hi) {
    const int status = replica_set_window(r, core_initial + lo, core_initial + hi);
    /* the band again: whatever brought the replica here (q_drive_into_window) must have kept it */
    return status ? status : replica_set_shell_band(r, r->shell_min, r->shell_max);
}

/* The solution site with the most bonded shell neighbours (the first in site order among
 * equals), or -1 if there is none. */
static int32_t shell_site_to_add(const replica *r) {
    int32_t best = -1;
    int best_score = -1;
    for (int32_t i = 0; i < r->lat->nsites; ++i) {
        const uint8_t code = r->site[i];
        if (site_state(code) == STATE_SOLUTION && site_shell_neighbours(code) > best_score)
            best = i, best_score = site_shell_neighbours(code);
    }
    return best;
}

int q_drive_into_window(replica *r, int64_t core_initial, int lo, int hi) {
    const int target = lo > 0 ? lo : hi < 0 ? hi : 0;
    const int32_t nsites = r->lat->nsites;
    while (q_value(r, core_initial) != target) {
        const int grow = q_value(r, core_initial) < target;
        int32_t best = -1;
        int best_score = -1;
        for (int32_t i = 0; i < nsites; ++i) {
            const uint8_t code = r->site[i];
            if ((site_state(code) == STATE_CORE) == grow) continue;
            const int score = grow ? site_core_neighbours(code) : 8 - site_core_neighbours(code);
            if (score > best_score) best = i, best_score = score;
        }
        const reservoir_component *core = &r->tab->reservoir.core;
        if (grow && reservoir_component_on(core) && reservoir_content(core, r->counts.ncore) <= 0)
            return ripen_fail(RIPEN_EINVAL,
                              "window [%d, %d]: the finite solution has no core unit left to "
                              "build q = %d",
                              lo, hi, target);
        replica_set_state(r, best, grow ? STATE_CORE : STATE_SOLUTION);
        if (r->counts.nshell >= r->shell_min) continue;
        const int32_t shell = shell_site_to_add(r);
        if (shell < 0)
            return ripen_fail(RIPEN_EINVAL,
                              "window [%d, %d]: no solution site left to keep N_shell >= %lld "
                              "while building q = %d",
                              lo, hi, (long long)r->shell_min, target);
        replica_set_state(r, shell, STATE_SHELL);
    }
    return RIPEN_OK;
}

int q_layer_sites(const initial_report *report, int lz) {
    const int side = report->side_short > 1 ? report->side_short - 1 : 1;
    return side * lz;
}

double q_tilt_next(q_tilt *t, double mu_core, int lo, int hi) {
    if (t->steps == 0) return mu_core;
    const double n = (double)t->steps, mean = (double)t->sum / n;
    const double variance = (double)t->sum_squares / n - mean * mean;
    const double off = 0.5 * (hi - lo) - mean; /* > 0: q too low, mu_core must rise */
    *t = (q_tilt){.mu_below = t->mu_below, .mu_above = t->mu_above};
    if (off > 0 && mu_core > t->mu_below) t->mu_below = mu_core;
    if (off < 0 && mu_core < t->mu_above) t->mu_above = mu_core;
    /* q stuck at one value: no slope to use, so a full step towards the centre. */
    double step = variance > 1e-3 ? off / variance
                  : off > 0       ? WINDOW_TILT_MAX_STEP
                  : off < 0       ? -WINDOW_TILT_MAX_STEP
                                  : 0.0;
    step = fmin(fmax(step, -WINDOW_TILT_MAX_STEP), WINDOW_TILT_MAX_STEP);
    const double next = mu_core + step;
    const int bracketed = isfinite(t->mu_below) && isfinite(t->mu_above);
    if (bracketed && (next <= t->mu_below || next >= t->mu_above))
        return 0.5 * (t->mu_below + t->mu_above);
    return next;
}

int q_profile_start(int q_min, int q_max) {
    return q_min <= 0 && q_max >= 0 ? 0 : q_min;
}
