/* Every dynamics, with every reading, samples the exact Boltzmann distribution on tiny lattices.
 *
 * Exact side: all 3^N configurations of a 2x2x2 (N = 8, 6561 states) and a 3x2x2 (N = 12,
 * 531441 states) lattice, the multigraph definition of lattice.h, grouped by the tuple
 * (N_core, N_shell, B_cc, B_ss, B_cs) that fixes E. With a conserved shell, only the
 * configurations with the initial N_shell count; in an umbrella window, only those with N_core
 * inside it; under a shell band, only those with N_shell inside it (the conditional distribution
 * given the band).
 *
 * Sampled side: one long run per (dynamics, reading, lattice), fixed seed, after a burn-in. A
 * pilot run measures the statistical inefficiency g of E per step (g = 1 + 2 sum of its
 * normalised autocorrelation, initial positive sequence, Geyer 1992) and the run keeps one sample
 * every ceil(g) steps, so kept samples are nearly independent. Pearson chi-square over the tuples
 * (those expected fewer than 10 times pooled into one bin), divided by the inefficiency g' of
 * the kept series (close to 1), the usual effective-sample-size correction. The bound is the
 * chi-square quantile at p = 10^-4 for the pooled degrees of freedom (Wilson-Hilferty): a
 * correct sampler fails a given case with probability 10^-4, and with fixed seeds the outcome is
 * deterministic. Power check: the same samples must fail against the exact distribution at
 * mu_core shifted by 0.15 kT, so the test can see an error of that size; under a band, also
 * against the distribution given the band widened by one site at either wall (a wall enforced
 * one site off), so the band cuts where the distribution has weight.
 *
 * Couplings are weak (eps ~ 0.1-0.6 kT, mu ~ -0.7 to -1.5 kT) so that many tuples carry weight.
 * Usage: test_enumeration [samples] [part] (default 100000 per case; part: all, or one of plain,
 * window, band, finite). */
#include "fixture.h"
#include "readings.h"

#include <math.h>

typedef struct {
    int64_t key;   /* packed count tuple */
    double weight; /* Boltzmann weight, later the probability */
    long observed; /* samples that landed here */
} tuple_bin;

static int64_t pack(const site_counts *c) {
    return (((c->ncore * 16 + c->nshell) * 128 + c->bonds_cc) * 128 + c->bonds_ss) * 128 +
           c->bonds_cs;
}

static int compare_keys(const void *a, const void *b) {
    const int64_t x = ((const tuple_bin *)a)->key, y = ((const tuple_bin *)b)->key;
    return (x > y) - (x < y);
}

typedef struct {
    tuple_bin *bins;
    int nbins;
} distribution;

/* The walls a case puts on the counts (replica.h's window and band). */
typedef struct {
    int64_t core_min, core_max, shell_min, shell_max;
} walls;

static walls walls_of(const replica *r) {
    return (walls){r->core_min, r->core_max, r->shell_min, r->shell_max};
}

/* Everything the exact distribution depends on besides the lattice. */
typedef struct {
    energy_weights w; /* the energy's coefficients */
    int shell_fixed;  /* N_shell of a conserved shell, or -1 */
    walls on;         /* the hard walls */
    reservoir res;    /* a finite solution, or none */
} ensemble_def;

/* ln of a finite solution's weight N_ref^n / n! of one component (reservoir.h), n = total - N;
 * -INFINITY if the lattice holds more than the total (n < 0: no such state). */
static double reservoir_log_weight(const reservoir_component *c, int64_t on_lattice) {
    if (!reservoir_component_on(c)) return 0;
    const int64_t n = reservoir_content(c, on_lattice);
    return n < 0 ? -INFINITY : (double)n * log(c->reference) - lgamma((double)n + 1);
}

/* Exact distribution over tuples for the fixture's lattice and the ensemble `e`: weights
 * e^-E x (each reservoir component's N_ref^n / n!), restricted to the walls. */
static distribution enumerate(const fixture *f, const ensemble_def *e) {
    const energy_weights *w = &e->w;
    const int shell_fixed = e->shell_fixed;
    const walls on = e->on;
    const int n = f->lat.nsites;
    long total = 1;
    for (int i = 0; i < n; ++i) total *= 3;
    tuple_bin *all = malloc(sizeof *all * (size_t)total);
    uint8_t *states = calloc((size_t)n, 1);
    REQUIRE(all && states, "out of memory");
    long used = 0;
    for (long code = 0; code < total; ++code) {
        long rest = code;
        for (int i = 0; i < n; ++i) states[i] = (uint8_t)(rest % 3), rest /= 3;
        const site_counts c = replica_count_states(&f->lat, f->tab.bond_directions, states);
        if (shell_fixed >= 0 && c.nshell != shell_fixed) continue;
        if (c.ncore < on.core_min || c.ncore > on.core_max) continue;
        if (c.nshell < on.shell_min || c.nshell > on.shell_max) continue;
        const double log_weight = -model_energy(w, &c) +
                                  reservoir_log_weight(&e->res.core, c.ncore) +
                                  reservoir_log_weight(&e->res.shell, c.nshell);
        if (log_weight == -INFINITY) continue;
        all[used++] = (tuple_bin){.key = pack(&c), .weight = exp(log_weight)};
    }
    qsort(all, (size_t)used, sizeof *all, compare_keys);
    int nbins = 0;
    double z = 0;
    for (long k = 0; k < used; ++k) {
        if (nbins > 0 && all[nbins - 1].key == all[k].key)
            all[nbins - 1].weight += all[k].weight;
        else
            all[nbins++] = all[k];
        z += all[k].weight;
    }
    for (int k = 0; k < nbins; ++k) all[k].weight /= z;
    free(states);
    return (distribution){.bins = all, .nbins = nbins};
}

/* Statistical inefficiency of a series (initial positive sequence estimator). */
static double inefficiency(const double *x, long n) {
    double mean = 0, var = 0;
    for (long k = 0; k < n; ++k) mean += x[k];
    mean /= (double)n;
    for (long k = 0; k < n; ++k) var += (x[k] - mean) * (x[k] - mean);
    var /= (double)n;
    if (var == 0) return 1;
    double g = 1;
    for (long lag = 1; lag < n / 2; lag += 2) {
        double pair = 0; /* rho(lag) + rho(lag + 1), kept while positive */
        for (long t = 0; t + lag + 1 < n; ++t)
            pair += (x[t] - mean) * (x[t + lag] - mean) + (x[t] - mean) * (x[t + lag + 1] - mean);
        pair /= (double)(n - lag - 1) * var;
        if (pair <= 0) break;
        g += 2 * pair;
    }
    return g;
}

/* Chi-square quantile at upper tail p = 1e-4 (z = 3.719), Wilson-Hilferty. */
static double chi2_bound(int dof) {
    const double k = dof, z = 3.719;
    const double t = 1 - 2 / (9 * k) + z * sqrt(2 / (9 * k));
    return k * t * t * t;
}

/* Pearson statistic (pooled bins with expectation < 10) and its degrees of freedom. */
static double chi2_statistic(const distribution *d, long samples, int *dof) {
    double chi2 = 0, pooled_expected = 0, pooled_observed = 0;
    int bins = 0;
    for (int k = 0; k < d->nbins; ++k) {
        const double expected = d->bins[k].weight * (double)samples;
        if (expected < 10) {
            pooled_expected += expected, pooled_observed += (double)d->bins[k].observed;
            continue;
        }
        const double diff = (double)d->bins[k].observed - expected;
        chi2 += diff * diff / expected;
        ++bins;
    }
    if (pooled_expected > 0) {
        const double diff = pooled_observed - pooled_expected;
        chi2 += diff * diff / pooled_expected;
        ++bins;
    }
    *dof = bins - 1;
    return chi2;
}

static tuple_bin *find_bin(distribution *d, int64_t key) {
    const tuple_bin probe = {.key = key};
    return bsearch(&probe, d->bins, (size_t)d->nbins, sizeof *d->bins, compare_keys);
}

/* Weak couplings; the product form weighs shell bonds 4x and mu_shell 2x, so it gets smaller
 * shell parameters to keep a comparable spread of states. */
static void weak_params(model_params *p, energy_form form) {
    model_params_default(p);
    p->eps_core = 0.6, p->eps_shell = 0.4, p->eps_interface = 0.3;
    p->mu_core = -1.5, p->mu_shell = -1.2, p->p_swap = 0.25;
    if (form == ENERGY_PRODUCT) p->eps_shell = 0.1, p->eps_interface = 0.15, p->mu_shell = -0.7;
}

/* What a case puts on the plain system: hard walls and a finite solution. */
typedef struct {
    int walls;             /* WALL_WINDOW: 1 <= N_core <= 3; WALL_BAND: 2 <= N_shell <= 4 */
    int64_t core_units;    /* a finite solution's core units at the start (with ...) */
    double core_reference; /* ... its reference content > 0; 0: no finite solution */
    int64_t shell_units;   /* a shell reservoir likewise (shell_reference 0: none) */
    double shell_reference;
} case_setup;

enum { WALL_WINDOW = 1, WALL_BAND = 2 };

/* chi2 / g of the samples against the exact distribution of `e`, and its bound; 0 if a sample
 * lies outside the distribution's support (then it cannot hold them at all). */
static int samples_fit(const fixture *f, const ensemble_def *e, const site_counts *seen,
                       long samples, double g, double *chi2, double *bound) {
    distribution d = enumerate(f, e);
    int inside = 1;
    for (long s = 0; s < samples && inside; ++s) {
        tuple_bin *b = find_bin(&d, pack(&seen[s]));
        if (b) b->observed++;
        inside = b != NULL;
    }
    int dof = 0;
    *chi2 = inside ? chi2_statistic(&d, samples, &dof) / g : INFINITY;
    *bound = inside ? chi2_bound(dof) : 0;
    free(d.bins);
    return inside;
}

/* Power: the same samples must not fit the ensemble `wrong` (what a sampler with that error
 * would sample). */
static void check_power(const dynamics_kind *kind, const reading *rd, const fixture *f,
                        const ensemble_def *wrong, const site_counts *seen, long samples, double g,
                        const char *what) {
    double chi2, bound;
    samples_fit(f, wrong, seen, samples, g, &chi2, &bound);
    CHECK(chi2 > bound, "%s, %s: %s went unseen (chi2/g' %.1f < %.1f)", kind->name, rd->name, what,
          chi2, bound);
    printf("    %s: chi2/g' %.0f > %.0f\n", what, chi2, bound);
}

/* The power of a band case: the samples must not fit the band widened by one site at either
 * wall (so the band cuts where the distribution has weight, and a wall one site off is seen). */
static void check_band_power(const dynamics_kind *kind, const reading *rd, const fixture *f,
                             const ensemble_def *e, const site_counts *seen, long samples,
                             double g) {
    ensemble_def wider[2] = {*e, *e};
    wider[0].on.shell_min -= 1, wider[1].on.shell_max += 1;
    check_power(kind, rd, f, &wider[0], seen, samples, g, "the band's floor one site low");
    check_power(kind, rd, f, &wider[1], seen, samples, g, "the band's ceiling one site high");
}

/* The power of a finite-solution case: the samples must not fit the fixed-mu distribution (no
 * reservoir factor, every count allowed), nor the reservoir with its reference content 30% off. */
static void check_reservoir_power(const dynamics_kind *kind, const reading *rd, const fixture *f,
                                  const ensemble_def *e, const site_counts *seen, long samples,
                                  double g) {
    ensemble_def fixed = *e, off = *e;
    fixed.res = reservoir_none();
    off.res.core.reference *= 1.3, off.res.shell.reference *= 1.3;
    check_power(kind, rd, f, &fixed, seen, samples, g, "a fixed mu instead of the reservoir");
    check_power(kind, rd, f, &off, seen, samples, g, "the reference content 30% off");
}

/* The finite solution of `setup` on the replica's current counts (totals = lattice + solution),
 * put on the fixture's tables; none if the setup has none. */
static reservoir put_reservoir(fixture *f, const case_setup *setup) {
    reservoir res = reservoir_none();
    if (setup->core_reference > 0)
        res.core =
            (reservoir_component){f->rep.counts.ncore + setup->core_units, setup->core_reference};
    if (setup->shell_reference > 0)
        res.shell = (reservoir_component){f->rep.counts.nshell + setup->shell_units,
                                          setup->shell_reference};
    model_tables_use_reservoir(&f->tab, &res);
    return res;
}

/* One case: `setup`'s walls and finite solution on the weak system of `rd`. With
 * `fixed_mu_limit` the samples are compared with the fixed-mu distribution instead of their own
 * (a large reservoir must reproduce it). */
static void run_case_with(const dynamics_kind *kind, const reading *rd, int lx, int ly, int lz,
                          long samples, const case_setup *setup, int fixed_mu_limit) {
    model_params p;
    weak_params(&p, rd->form);
    reading_apply(rd, &p);
    fixture f;
    fixture_open(&f, lx, ly, lz, &p, 99, (uint32_t)(lx * 100 + ly * 10 + lz));
    /* Start from a mixed configuration: with a conserved shell it fixes N_shell = 2. */
    memset(f.states, STATE_SOLUTION, (size_t)f.lat.nsites);
    f.states[0] = STATE_SHELL, f.states[3] = STATE_SHELL, f.states[1] = STATE_CORE;
    REQUIRE(replica_load_states(&f.rep, f.states) == RIPEN_OK, "%s", ripen_last_error());
    if (setup->walls & WALL_WINDOW)
        REQUIRE(replica_set_window(&f.rep, 1, 3) == RIPEN_OK, "%s", ripen_last_error());
    if (setup->walls & WALL_BAND)
        REQUIRE(replica_set_shell_band(&f.rep, 2, 4) == RIPEN_OK, "%s", ripen_last_error());
    const ensemble_def e = {f.tab.weights, p.shell == SHELL_CANONICAL ? 2 : -1, walls_of(&f.rep),
                            put_reservoir(&f, setup)};
    ensemble_def compared = e;
    if (fixed_mu_limit) compared.res = reservoir_none();
    distribution exact = enumerate(&f, &compared);

    dynamics d;
    REQUIRE(dynamics_open(&d, kind, &f.lat, &f.tab) == RIPEN_OK, "%s", ripen_last_error());
    const int burn_in = 200;
    dynamics_run(&d, &f.rep, burn_in);
    double *energy = malloc(sizeof *energy * (size_t)samples);
    site_counts *seen = malloc(sizeof *seen * (size_t)samples);
    REQUIRE(energy && seen, "out of memory");
    /* Pilot run: thin by the inefficiency of E per step, so kept samples are nearly
     * independent and the remaining correction g is close to 1. */
    const long pilot = samples < 20000 ? samples : 20000;
    REQUIRE(pilot >= 100, "need at least 100 samples");
    for (long s = 0; s < pilot; ++s) energy[s] = 0;
    for (long s = 0; s < pilot; ++s) {
        dynamics_run(&d, &f.rep, 1);
        energy[s] = replica_energy(&f.rep);
    }
    const int thin = (int)ceil(inefficiency(energy, pilot));
    for (long s = 0; s < samples; ++s) {
        dynamics_run(&d, &f.rep, thin);
        seen[s] = f.rep.counts;
        energy[s] = replica_energy(&f.rep);
        tuple_bin *b = find_bin(&exact, pack(&f.rep.counts));
        REQUIRE(b != NULL, "%s %s: sampled a tuple the enumeration does not have", kind->name,
                rd->name);
        b->observed++;
    }
    const double g = fmax(1.0, inefficiency(energy, samples));
    int dof;
    const double chi2 = chi2_statistic(&exact, samples, &dof) / g;
    const double bound = chi2_bound(dof);
    CHECK(chi2 < bound, "%s, %s on %dx%dx%d: chi2/g = %.1f > %.1f (dof %d, g %.2f)", kind->name,
          rd->name, lx, ly, lz, chi2, bound, dof, g);

    /* Power: the same samples against mu_core + 0.15 kT must be rejected. */
    ensemble_def shifted = compared;
    shifted.w.core += 0.15;
    double wrong_chi2, wrong_bound;
    samples_fit(&f, &shifted, seen, samples, g, &wrong_chi2, &wrong_bound);
    CHECK(wrong_chi2 > wrong_bound, "%s, %s: a 0.15 kT error in mu_core went unseen", kind->name,
          rd->name);
    static const char *const wall_names[] = {"", " window", " band", " window+band"};
    char extra[96] = "";
    if (reservoir_on(&e.res))
        snprintf(extra, sizeof extra, " %s %lld/%lld",
                 fixed_mu_limit ? "vs fixed mu, units" : "units", (long long)setup->core_units,
                 (long long)setup->shell_units);
    printf("%-18s %-34s %dx%dx%d%s%s: %4d tuples, thin %2d, g' %.2f, chi2/g' %6.1f < %6.1f "
           "(dof %4d); mu_core + 0.15: %.0f\n",
           kind->name, rd->name, lx, ly, lz, wall_names[setup->walls], extra, exact.nbins, thin, g,
           chi2, bound, dof, wrong_chi2);
    if (setup->walls & WALL_BAND) check_band_power(kind, rd, &f, &e, seen, samples, g);
    if (reservoir_on(&e.res) && !fixed_mu_limit)
        check_reservoir_power(kind, rd, &f, &e, seen, samples, g);
    free(energy), free(seen), free(exact.bins);
    dynamics_close(&d);
    fixture_close(&f);
}

static void run_case(const dynamics_kind *kind, const reading *rd, int lx, int ly, int lz,
                     long samples, int walls) {
    const case_setup setup = {.walls = walls};
    run_case_with(kind, rd, lx, ly, lz, samples, &setup, 0);
}

int main(int argc, char **argv) {
    const long samples = argc > 1 ? atol(argv[1]) : 100000;
    const char *part = argc > 2 ? argv[2] : "all"; /* or one of: plain window band finite */
#define PART(name) (!strcmp(part, "all") || !strcmp(part, name))
    for (int k = 0; k < dynamics_count && PART("plain"); ++k)
        for (int r = 0; r < READING_COUNT; ++r) {
            run_case(dynamics_all[k], &all_readings[r], 2, 2, 2, samples, 0);
            run_case(dynamics_all[k], &all_readings[r], 3, 2, 2, samples, 0);
        }
    /* Umbrella windows: the distribution restricted to 1 <= N_core <= 3. */
    for (int k = 0; k < dynamics_count && PART("window"); ++k)
        for (int r = 0; r < 3; ++r)
            run_case(dynamics_all[k], &all_readings[r], 3, 2, 2, samples, WALL_WINDOW);
    /* Every kernel (the reference too: it has code of its own for walls and reservoir). */
    const dynamics_kind *const kernels[] = {&dynamics_reference, &dynamics_random_sequential,
                                            &dynamics_checkerboard, &dynamics_rejection_free};
    /* Shell bands: the distribution given 2 <= N_shell <= 4, for both vacancy proposals and for
     * identity moves (shell <-> core moves both counts), once with a window as well. */
    for (int k = 0; k < 4 && PART("band"); ++k) {
        for (int r = 0; r < 3; ++r)
            run_case(kernels[k], &all_readings[r], 3, 2, 2, samples, WALL_BAND);
        run_case(kernels[k], &all_readings[2], 3, 2, 2, samples, WALL_WINDOW | WALL_BAND);
    }
    /* Finite solutions: the joint distribution of the lattice and the reservoir's content (a
     * function of N_core: the tuple holds it), small reservoirs that the particle can empty (the
     * lattice starts with 1 core and 2 shell sites): core only, symmetric vacancy moves; core and
     * shell with identity moves (shell -> core takes a core unit and returns a shell unit); a
     * reference content apart from the units, with Hastings proposals and a shell band. */
    const case_setup finite[] = {
        {0, 2, 2.0, 0, 0.0},
        {0, 2, 2.0, 3, 3.0},
        {WALL_BAND, 3, 1.5, 0, 0.0},
    };
    const int finite_reading[] = {0, 2, 1};
    for (int k = 0; k < 4 && PART("finite"); ++k)
        for (int c = 0; c < 3; ++c)
            run_case_with(kernels[k], &all_readings[finite_reading[c]], 3, 2, 2, samples,
                          &finite[c], 0);
    /* The fixed-mu limit: a reservoir of 10^6 units samples the fixed-mu distribution (its
     * factors differ from 1 by < 2 10^-5 on 12 sites), while the small ones above do not (their
     * power checks). */
    const case_setup large = {0, 1000000, 1e6, 1000000, 1e6};
    for (int k = 1; k < 4 && PART("finite"); k += 2)
        run_case_with(kernels[k], &all_readings[2], 3, 2, 2, samples, &large, 1);
#undef PART
    return check_exit("test_enumeration");
}
