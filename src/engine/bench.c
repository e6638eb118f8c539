/* `ripen bench`: see ripen/engine/bench.h and docs/performance.md.
 *
 * Method. For each initial state (the paper's shelled prism and the shell-free one) and each
 * dynamics (the reference kernel, then every entry of dynamics_all), one replica runs one step
 * per dynamics_run() call, as the task driver does, restarting from the initial state every
 * `segment` steps so the figures describe a growing particle, not a box the particle has filled.
 * Timed: the steps only, in CPU time of the measuring thread (CLOCK_THREAD_CPUTIME_ID), so time
 * slices lost to other processes on a shared node do not count (wall time is recorded too). Ratios
 * are to the reference kernel measured in the same run, on the same machine state, so they stay
 * meaningful where absolute figures drift with the load (caches and SMT siblings shared with
 * other processes still slow every row).
 */
#define _POSIX_C_SOURCE 200809L

#include "ripen/engine/bench.h"

#include "kernel_metropolis.h"
#include "kernel_philox.h"
#include "ripen/engine/error.h"
#include "ripen/engine/initial.h"
#include "ripen/engine/observe.h"
#include "ripen/engine/tracking.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef RIPEN_BUILD_TYPE
#define RIPEN_BUILD_TYPE "unknown"
#endif
#ifndef RIPEN_BUILD_FLAGS
#define RIPEN_BUILD_FLAGS "unknown"
#endif

enum { BENCH_CORE_SITES = 200, BENCH_SHELL = 2 };
static const uint64_t bench_seed = 20240611;

static double seconds_of(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu_seconds(void) {
    return seconds_of(CLOCK_THREAD_CPUTIME_ID);
}

/* ---- the measurement seam ---- */

/* The bench's replica watch: counts events, never stops. A call per event costs a few ns
 * against the ~0.5 us of a rejection-free event, and nothing on the rejection path. */
static int count_event(void *context, const replica *r, uint64_t attempt) {
    (void)r, (void)attempt;
    ((bench_figures *)context)->events++;
    return 0;
}

int bench_run_open(bench_run *b, const dynamics_kind *kind, const lattice *lat,
                   const model_tables *tab, const uint8_t *initial, uint64_t seed,
                   uint64_t segment_steps) {
    *b = (bench_run){.kind = kind,
                     .initial = initial,
                     .segment_steps = segment_steps,
                     .in_segment = segment_steps, /* forces a load before the first step */
                     .stride = 1,
                     .threads = 1};
    int status = replica_init(&b->rep, lat, tab, seed, 0);
    if (status) return status;
    b->watch = (replica_watch){count_event, &b->figures};
    b->rep.watch = &b->watch;
    if ((status = replica_load_states(&b->rep, initial)) ||
        (status = dynamics_open(&b->dyn, kind, lat, tab))) {
        replica_free(&b->rep);
        return status;
    }
    return RIPEN_OK;
}

/* Loads the initial state and lets the workspace take it in (untimed but recorded). */
static void reload(bench_run *b) {
    replica_load_states(&b->rep, b->initial); /* validated by bench_run_open */
    const double start = cpu_seconds();
    const uint64_t events = b->figures.events;
    dynamics_run(&b->dyn, &b->rep, 0);
    b->figures.events = events; /* none, but only timed steps count */
    b->figures.rebuild_seconds += cpu_seconds() - start;
    b->figures.segments++;
    b->in_segment = 0;
}

int bench_run_set_threads(bench_run *b, int threads) {
    const int status = dynamics_set_threads(&b->dyn, threads);
    if (!status) b->threads = threads;
    return status;
}

void bench_run_for(bench_run *b, double seconds) {
    bench_figures *f = &b->figures;
    const double until = f->seconds + seconds;
    while (f->seconds < until) {
        if (b->in_segment >= b->segment_steps) reload(b);
        const uint64_t left = b->segment_steps - b->in_segment;
        const uint64_t n = b->stride < left ? b->stride : left;
        const double start = cpu_seconds(), wall_start = seconds_of(CLOCK_MONOTONIC);
        for (uint64_t s = 0; s < n; ++s) dynamics_run(&b->dyn, &b->rep, 1);
        const double elapsed = cpu_seconds() - start;
        f->wall_seconds += seconds_of(CLOCK_MONOTONIC) - wall_start;
        f->seconds += elapsed;
        f->steps += n;
        b->in_segment += n;
        /* The clock is read every `stride` steps, the stride growing until one read covers
         * >= 1 ms: slow kernels do not overshoot, fast ones do not pay for the clock (a read
         * of the thread CPU clock costs ~0.5 us, a rejection-free step ~2 us). */
        if (elapsed < 1e-3 && b->stride < (UINT64_C(1) << 20)) b->stride *= 2;
    }
    f->attempts = (double)f->steps * (double)b->rep.lat->nsites;
}

void bench_run_close(bench_run *b) {
    dynamics_close(&b->dyn);
    replica_free(&b->rep);
}

int bench_measure(const dynamics_kind *kind, const lattice *lat, const model_tables *tab,
                  const uint8_t *initial, uint64_t seed, double seconds, uint64_t segment_steps,
                  bench_figures *out) {
    bench_run b;
    const int status = bench_run_open(&b, kind, lat, tab, initial, seed, segment_steps);
    if (status) return status;
    bench_run_for(&b, seconds);
    *out = b.figures;
    bench_run_close(&b);
    return RIPEN_OK;
}

/* ---- the report ---- */

typedef struct {
    double seconds;
    int lx, ly, lz;
    uint64_t segment;
    int threads;       /* > 1: an extra checkerboard row on this many threads */
    int64_t reservoir; /* > 0: extra rows with a finite solution of this many core units */
    const char *only;  /* one case by name (NULL: every case) */
} bench_options;

/* An initial state the rows run from: the single prism on the --lattice, or a named box of
 * particles with a lattice of its own. */
typedef struct {
    const char *label;
    int shell;
    const initial_layout *layout; /* NULL: the single prism (BENCH_CORE_SITES, shell) */
    int lx, ly, lz;               /* the case's own lattice (0: --lattice) */
} bench_state;

/* "particles-240", a stable case for kernels whose cost should follow the particles, not the
 * box (issue 20): 8 particles of 200 requested core sites on a 240 x 240 x 4 lattice, on a 4 x 2
 * grid 60 and 120 columns apart, shelled (shell 2) and shell-free alternately, at the paper's
 * parameters. Keep it as it is: figures measured against it compare over time. */
static const initial_layout bench_particles_240 = {
    .gap = INITIAL_DEFAULT_GAP,
    .nparticles = 8,
    .particles = {{.x = 30, .y = 60, .core_sites = 200, .shell_thickness = 2},
                  {.x = 90, .y = 60, .core_sites = 200, .shell_thickness = 0},
                  {.x = 150, .y = 60, .core_sites = 200, .shell_thickness = 2},
                  {.x = 210, .y = 60, .core_sites = 200, .shell_thickness = 0},
                  {.x = 30, .y = 180, .core_sites = 200, .shell_thickness = 0},
                  {.x = 90, .y = 180, .core_sites = 200, .shell_thickness = 2},
                  {.x = 150, .y = 180, .core_sites = 200, .shell_thickness = 0},
                  {.x = 210, .y = 180, .core_sites = 200, .shell_thickness = 2}}};

static const bench_state bench_cases[] = {
    {"shelled", BENCH_SHELL, NULL, 0, 0, 0},
    {"shell-free", 0, NULL, 0, 0, 0},
    {"particles-240", 0, &bench_particles_240, 240, 240, 4},
};
enum { BENCH_CASES = sizeof bench_cases / sizeof *bench_cases };

/* The index of the case named `label` in bench_cases, or -1. */
static int bench_case_index(const char *label) {
    for (int c = 0; c < BENCH_CASES; ++c)
        if (strcmp(label, bench_cases[c].label) == 0) return c;
    return -1;
}

void bench_print_options(FILE *to) {
    fprintf(to,
            "  Monte Carlo throughput of every dynamics on one core, against the reference kernel\n"
            "  measured in the same run, at the paper's parameters, from the shelled (200 core,\n"
            "  shell 2) and shell-free initial prisms, and the cost of a sample of the series.\n"
            "  --seconds S       timed wall time per measurement (default 2)\n"
            "  --lattice LxLyLz  lattice extents (default 80x80x4, the paper's)\n"
            "  --segment STEPS   restart from the initial state every STEPS steps (default 200)\n"
            "  --threads N       also run checkerboard on N threads (1..%d) and report its\n"
            "                    speed-up over one thread in wall time\n"
            "  --reservoir N     also run every dynamics with a finite solution of N core units\n"
            "                    (reference content N, reservoir.h) and report its cost\n"
            "  --case NAME       one case only: shelled, shell-free (on --lattice) or\n"
            "                    particles-240 (8 particles, half shelled, on 240x240x4)\n",
            DYNAMICS_MAX_THREADS);
}

static void print_usage(FILE *to) {
    fprintf(to,
            "usage: ripen bench [--seconds S] [--lattice LxLyLz] [--segment STEPS] [--threads N]\n"
            "                   [--reservoir N] [--case NAME] [--help]\n");
    bench_print_options(to);
}

/* Fills *o from the arguments; *help = 1 if --help was given (usage printed). */
static int parse_options(int argc, char **argv, bench_options *o, int *help) {
    *o = (bench_options){.seconds = 2.0, .lx = 80, .ly = 80, .lz = 4, .segment = 200, .threads = 1};
    *help = 0;
    for (int k = 1; k < argc; ++k) {
        const char *arg = argv[k];
        const char *value = k + 1 < argc ? argv[k + 1] : NULL;
        char *end = NULL;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_usage(stdout);
            *help = 1;
            return RIPEN_OK;
        } else if (strcmp(arg, "--seconds") == 0 && value) {
            o->seconds = strtod(value, &end);
            if (*end || !(o->seconds > 0 && o->seconds <= 3600))
                return ripen_fail(RIPEN_EINVAL, "--seconds %s: must be a number in (0, 3600]",
                                  value);
            ++k;
        } else if (strcmp(arg, "--lattice") == 0 && value) {
            char tail;
            if (sscanf(value, "%dx%dx%d%c", &o->lx, &o->ly, &o->lz, &tail) != 3)
                return ripen_fail(RIPEN_EINVAL, "--lattice %s: expected LxLyLz, e.g. 80x80x4",
                                  value);
            const int status = lattice_check_extents(o->lx, o->ly, o->lz);
            if (status) return ripen_fail_context(status, "--lattice %s: ", value);
            ++k;
        } else if (strcmp(arg, "--threads") == 0 && value) {
            const long threads = strtol(value, &end, 10);
            if (end == value || *end || threads < 1 || threads > DYNAMICS_MAX_THREADS)
                return ripen_fail(RIPEN_EINVAL, "--threads %s: must be an integer in [1, %d]",
                                  value, DYNAMICS_MAX_THREADS);
            o->threads = (int)threads;
            ++k;
        } else if (strcmp(arg, "--reservoir") == 0 && value) {
            const long long units = strtoll(value, &end, 10);
            if (end == value || *end || units < 1 || units > 1000000000000LL)
                return ripen_fail(RIPEN_EINVAL, "--reservoir %s: must be an integer in [1, 10^12]",
                                  value);
            o->reservoir = units;
            ++k;
        } else if (strcmp(arg, "--segment") == 0 && value) {
            const long long steps = strtoll(value, &end, 10);
            if (*end || steps < 1)
                return ripen_fail(RIPEN_EINVAL, "--segment %s: must be a positive integer", value);
            o->segment = (uint64_t)steps;
            ++k;
        } else if (strcmp(arg, "--case") == 0 && value) {
            if (bench_case_index(value) < 0)
                return ripen_fail(RIPEN_EINVAL,
                                  "--case %s: must be shelled, shell-free or particles-240", value);
            o->only = value;
            ++k;
        } else {
            return ripen_fail(RIPEN_EINVAL, "%s: unknown option or missing value (see --help)",
                              arg);
        }
    }
    return RIPEN_OK;
}

/* The 1-minute load average from /proc/loadavg, or -1. */
static double load_average(void) {
    double load = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &load) != 1) load = -1;
        fclose(f);
    }
    return load;
}

/* The CPU's marketing name from /proc/cpuinfo where there is one. */
static void cpu_name(char *name, size_t size) {
    snprintf(name, size, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        const char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            snprintf(name, size, "%s", colon + 2);
            name[strcspn(name, "\n")] = '\0';
            break;
        }
    }
    fclose(f);
}

/* The vector extensions of this CPU that matter to the kernels, as GCC names them. */
static void cpu_vector_extensions(char *out, size_t size) {
    out[0] = '\0';
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    const struct {
        const char *name;
        int has;
    } ext[] = {{"avx2", __builtin_cpu_supports("avx2")},
               {"bmi2", __builtin_cpu_supports("bmi2")},
               {"popcnt", __builtin_cpu_supports("popcnt")},
               {"avx512f", __builtin_cpu_supports("avx512f")},
               {"avx512bw", __builtin_cpu_supports("avx512bw")},
               {"avx512dq", __builtin_cpu_supports("avx512dq")},
               {"avx512vl", __builtin_cpu_supports("avx512vl")},
               {"avx512vbmi", __builtin_cpu_supports("avx512vbmi")}};
    for (size_t k = 0; k < sizeof ext / sizeof ext[0]; ++k)
        if (ext[k].has) {
            const size_t used = strlen(out);
            snprintf(out + used, size - used, "%s%s", used ? " " : "", ext[k].name);
        }
#endif
    if (!out[0]) snprintf(out, size, "none the kernels use");
}

static void print_header(const bench_options *o, const lattice *lat) {
    char cpu[128], date[64];
    cpu_name(cpu, sizeof cpu);
    const time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
#if defined(__clang__)
    const char *compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
    const char *compiler = "GCC " __VERSION__;
#else
    const char *compiler = "unknown compiler";
#endif
    printf("ripen bench: Monte Carlo throughput per core (one replica; one thread unless said)\n");
    printf("  date        %s\n", date);
    printf("  machine     %s, %ld cores online, load average %.2f at start\n", cpu,
           sysconf(_SC_NPROCESSORS_ONLN), load_average());
    printf("  build       %s, %s, C flags: %s\n", RIPEN_BUILD_TYPE, compiler, RIPEN_BUILD_FLAGS);
    char isa[160];
    cpu_vector_extensions(isa, sizeof isa);
    printf("  vector ISA  %s\n", isa);
    printf("  philox      batched Philox4x32-10 of the fast kernels: %s (RIPEN_PHILOX overrides)\n",
           philox_batch_choose()->name);
    printf("  filter      checkerboard's vector filter: %s (RIPEN_FILTER overrides)\n",
           metropolis_mask_choose()->name);
    printf("  lattice     %d x %d x %d = %d sites; paper parameters (model_params_default)\n",
           lat->lx, lat->ly, lat->lz, lat->nsites);
    printf(
        "  method      >= %.3g s of CPU time per row (this thread's: time slices lost to other\n"
        "              processes do not count), in 10 turns interleaved with the other rows so\n"
        "              all see the same machine load; one step per dynamics_run() call as the\n"
        "              task driver does; restart from the initial state every %llu steps (loads\n"
        "              not timed); x reference = attempts/s over the reference kernel's\n",
        o->seconds, (unsigned long long)o->segment);
}

/* ns per block of one Philox implementation, over about 0.2 s (best of 3 tries). */
static double philox_ns_per_block(philox_batch_fn fill) {
    static philox_batch batch;
    const philox_key key = philox_key_from_seed(bench_seed);
    double best = 0;
    for (int attempt = 0; attempt < 3; ++attempt) {
        uint64_t blocks = 0;
        const double start = cpu_seconds();
        double elapsed;
        do {
            for (int k = 0; k < 256; ++k, blocks += PHILOX_BATCH)
                fill(&batch, key, blocks, NULL, PHILOX_BATCH, 0, PURPOSE_ATTEMPT);
            elapsed = cpu_seconds() - start;
        } while (elapsed < 0.07);
        const double ns = elapsed * 1e9 / (double)blocks;
        if (attempt == 0 || ns < best) best = ns;
    }
    return best;
}

static void print_philox(void) {
    printf("\nPhilox4x32-10 block generation (the fast kernels' largest cost):\n");
    for (int k = 0; k < philox_batch_impl_count; ++k) {
        const philox_batch_impl *impl = &philox_batch_impls[k];
        if (!impl->supported()) {
            printf("  %-10s not supported by this CPU\n", impl->name);
            continue;
        }
        const double ns = philox_ns_per_block(impl->fill);
        printf("  %-10s %6.2f ns per block, %.2f per checkerboard attempt (four per block)\n",
               impl->name, ns, ns / 4);
    }
}

/* Issue 22's targets, each with the figure of this table and whether it is met (the third, a box
 * of several particles against one particle, compares two tables: print_box_target). */
static void print_targets(double us_rf, double cb_over_rs) {
    const double rf_target = 0.4, cb_target = 2.0;
    if (us_rf > 0)
        printf("  target: rejection-free <= %.2f us per event: %.3f, %s\n", rf_target, us_rf,
               us_rf <= rf_target ? "met" : "not met");
    if (cb_over_rs > 0)
        printf("  target: checkerboard >= %.1fx the MC steps/s of random-sequential: %.2fx, %s\n",
               cb_target, cb_over_rs, cb_over_rs >= cb_target ? "met" : "not met");
}

/* What rejection-free costs on one state: CPU time per event, and events per MC step (how much
 * of a box's event stream a particle of that kind makes). */
typedef struct {
    double us_per_event, events_per_step;
} rf_cost;

/* The shelled and shell-free particles of a layout. */
static void count_kinds(const initial_layout *layout, int *shelled, int *free) {
    *shelled = *free = 0;
    for (int p = 0; p < layout->nparticles; ++p) {
        if (layout->particles[p].shell_thickness > 0)
            ++*shelled;
        else
            ++*free;
    }
}

/* The rejection-free us per event of the box of particles within 1.3x of what its particles cost
 * alone: a large box costs what its particles cost. Each particle makes the events per step it
 * makes alone, so alone they would cost the one-particle figures of their kinds weighted by those
 * events; the ratios to each figure are printed beside it (a box of shell-free particles alone
 * would be held to the costlier shell-free one). */
static void print_box_target(rf_cost shelled, rf_cost free, rf_cost box) {
    const double box_target = 1.3;
    if (shelled.us_per_event <= 0 || free.us_per_event <= 0 || box.us_per_event <= 0) return;
    int nshelled, nfree;
    count_kinds(&bench_particles_240, &nshelled, &nfree);
    const double events_shelled = nshelled * shelled.events_per_step;
    const double events_free = nfree * free.events_per_step;
    const double alone = (events_shelled * shelled.us_per_event + events_free * free.us_per_event) /
                         (events_shelled + events_free);
    printf("\ntarget: rejection-free us per event of particles-240 <= %.1fx what its particles\n"
           "  cost alone (%d shelled, %d shell-free: their figures weighted by their events per\n"
           "  step, %.2f and %.2f): %.3f / %.3f = %.2fx, %s (%.2fx the shelled particle's %.3f,\n"
           "  %.2fx the shell-free particle's %.3f)\n",
           box_target, nshelled, nfree, shelled.events_per_step, free.events_per_step,
           box.us_per_event, alone, box.us_per_event / alone,
           box.us_per_event / alone <= box_target ? "met" : "not met",
           box.us_per_event / shelled.us_per_event, shelled.us_per_event,
           box.us_per_event / free.us_per_event, free.us_per_event);
}

/* Prints the table of one state; *rf_out: what rejection-free cost on it (0 if not run). */
static void print_state_table(const bench_state *state, const initial_report *report,
                              const lattice *lat, const bench_run *runs, int rows,
                              rf_cost *rf_out) {
    if (state->layout)
        printf("\n%s: %d particles on %d x %d x %d, %lld core + %lld shell sites (%d core "
               "requested each, shell 2 and 0 alternately)\n",
               state->label, report->nparticles, lat->lx, lat->ly, lat->lz,
               (long long)report->core_sites, (long long)report->shell_sites, BENCH_CORE_SITES);
    else
        printf("\n%s: %lld core + %lld shell sites (initial_prism %d core, shell %d)\n",
               state->label, (long long)report->core_sites, (long long)report->shell_sites,
               BENCH_CORE_SITES, state->shell);
    printf("  %-25s %11s %11s %11s %11s %11s %9s\n", "dynamics", "attempts/s", "attempts/ns",
           "MC steps/s", "x reference", "events/s", "us/event");
    const double reference = runs[0].figures.attempts / runs[0].figures.seconds;
    double steps_rs = 0, steps_rf = 0, steps_cb = 0, rebuild = 0, wall_cb = 0, wall_threads = 0;
    double us_rf = 0, rf_events_per_step = 0;
    int threads = 1;
    for (int k = 0; k < rows; ++k) {
        const bench_figures *f = &runs[k].figures;
        const double per_second = f->attempts / f->seconds, steps = (double)f->steps / f->seconds;
        const double events = (double)f->events / f->seconds;
        const int skips = runs[k].kind == &dynamics_rejection_free;
        const int finite = runs[k].rep.tab->finite;
        char label[64];
        snprintf(label, sizeof label,
                 runs[k].threads > 1 ? "%s x%d threads"
                 : finite            ? "%s, finite"
                                     : "%s",
                 runs[k].kind->name, runs[k].threads);
        printf("  %-25s %11.4g %11.4f %11.4g %11.2f %11.4g %9.3f%s\n", label, per_second,
               per_second * 1e-9, steps, per_second / reference, events,
               events > 0 ? 1e6 / events : 0.0, skips ? "  *" : "");
        if (finite) continue; /* the rows with a finite solution: print_finite_cost */
        if (runs[k].kind == &dynamics_random_sequential) steps_rs = steps;
        const double wall_steps = (double)f->steps / f->wall_seconds;
        if (runs[k].kind == &dynamics_checkerboard && runs[k].threads == 1)
            steps_cb = steps, wall_cb = wall_steps;
        if (runs[k].threads > 1) wall_threads = wall_steps, threads = runs[k].threads;
        if (skips) steps_rf = steps, rebuild = f->rebuild_seconds / f->segments;
        if (skips && events > 0) us_rf = 1e6 / events, rf_events_per_step = events / steps;
    }
    printf("  events = accepted, state-changing moves (a swap is one); us/event = CPU time per\n"
           "  event, everything included (for rejection-free: its whole cost)\n");
    if (steps_cb > 0 && steps_rs > 0)
        printf("  checkerboard runs %.2fx the MC steps/s of random-sequential\n",
               steps_cb / steps_rs);
    if (wall_threads > 0)
        printf("  checkerboard on %d threads runs %.2fx the MC steps per wall-clock second of one\n"
               "  thread (its row's CPU time is the measuring thread's only, so compare wall "
               "time)\n",
               threads, wall_threads / wall_cb);
    if (steps_rf > 0)
        printf(
            "  * attempts/s counts the rejected attempts it skips: MC time advanced (steps x %d\n"
            "    attempts) per second. It runs %.1fx the MC steps/s of random-sequential, the\n"
            "    dynamics it reproduces. Its rate bands are rebuilt after each state load, not\n"
            "    timed: %.2f ms\n",
            lat->nsites, steps_rs > 0 ? steps_rf / steps_rs : 0.0, rebuild * 1e3);
    print_targets(us_rf, steps_rs > 0 ? steps_cb / steps_rs : 0.0);
    *rf_out = (rf_cost){us_rf, rf_events_per_step};
}

/* The rows with a finite solution against the same dynamics without one (same run, same turns):
 * MC steps/s with over without. */
static void print_finite_cost(const bench_run *runs, int rows, int64_t units) {
    printf("  a finite solution of %lld core units: MC steps/s with one over without:",
           (long long)units);
    for (int k = 0; k < rows; ++k)
        for (int j = 0; j < rows && runs[k].rep.tab->finite; ++j)
            if (!runs[j].rep.tab->finite && runs[j].kind == runs[k].kind && runs[j].threads == 1)
                printf(" %s %.2fx", runs[k].kind->name,
                       ((double)runs[k].figures.steps / runs[k].figures.seconds) /
                           ((double)runs[j].figures.steps / runs[j].figures.seconds));
    printf("\n");
}

/* ---- the cost of a sample ---- */

/* ns per call of `sample` on `r` (CPU time, best of 3 tries of >= 0.05 s each). */
static double ns_per_sample(int64_t (*sample)(const replica *, int32_t *), const replica *r,
                            int32_t *scratch) {
    double best = 0;
    volatile int64_t sink = 0; /* keeps the calls from being optimised away */
    for (int attempt = 0; attempt < 3; ++attempt) {
        uint64_t calls = 0;
        const double start = cpu_seconds();
        double elapsed;
        do {
            for (int k = 0; k < 64; ++k, ++calls) sink += sample(r, scratch);
            elapsed = cpu_seconds() - start;
        } while (elapsed < 0.05);
        const double ns = elapsed * 1e9 / (double)calls;
        if (attempt == 0 || ns < best) best = ns;
    }
    (void)sink;
    return best;
}

/* The three parts of an ensemble's sample (ensemble.c, take_sample). */
static int64_t sample_counts(const replica *r, int32_t *scratch) {
    (void)scratch;
    const observation o = observe_counts(r);
    return o.ncore + o.area_shell + (int64_t)o.energy;
}
static int64_t sample_exposed(const replica *r, int32_t *scratch) {
    (void)scratch;
    return replica_exposed_core(r);
}
static int64_t sample_cluster(const replica *r, int32_t *scratch) {
    return replica_largest_core_cluster(r, scratch);
}

/* ns per tracked sample (tracking.h) at this state, the particles seeded from the report (best
 * of 3 tries of >= 0.05 s each; every call after the first carries the identities on). */
static double ns_per_tracked_sample(const replica *r, const initial_report *report,
                                    int *particles) {
    tracker t;
    int32_t ids[INITIAL_MAX_PARTICLES];
    for (int k = 0; k < report->nparticles; ++k) ids[k] = k;
    if (tracker_init(&t, r->lat, 4)) return -1;
    double best = -1;
    if (!tracker_restore(&t, report->nparticles, report->nparticles, report->particle_site, ids))
        for (int attempt = 0; attempt < 3; ++attempt) {
            uint64_t calls = 0;
            const double start = cpu_seconds();
            double elapsed;
            do {
                for (int k = 0; k < 16; ++k, ++calls) tracker_sample(&t, r, calls);
                elapsed = cpu_seconds() - start;
            } while (elapsed < 0.05);
            const double ns = elapsed * 1e9 / (double)calls;
            if (best < 0 || ns < best) best = ns;
        }
    *particles = t.nparticles;
    tracker_free(&t);
    return best;
}

/* What a sample of the series costs at this state, with and without the exposed-core count,
 * against one MC step of the dynamics measured above (`runs`): a sample's cost divided by a
 * step's is the slowdown of a run that samples every step; every n steps, it is that over n.
 * The cluster search runs only when the lattice changed since the last sample. */
static int print_sample_cost(const replica *r, const initial_report *report, int tracked,
                             const bench_run *runs, int rows) {
    int32_t *scratch = malloc(sizeof *scratch * 2 * (size_t)r->lat->nsites);
    if (!scratch) return ripen_fail(RIPEN_ENOMEM, "out of memory for the cluster search");
    const double counts = ns_per_sample(sample_counts, r, scratch);
    const double exposed = ns_per_sample(sample_exposed, r, scratch);
    const double cluster = ns_per_sample(sample_cluster, r, scratch);
    free(scratch);
    const double without = counts + cluster, with = without + exposed;
    printf("  sampling cost at this state (%lld exposed core sites): counts + energy %.0f ns, "
           "exposed core\n  %.0f ns, cluster search %.0f ns: a sample costs %.0f ns with the "
           "exposed-core count,\n  %.0f ns without (x%.3f)\n",
           (long long)replica_exposed_core(r), counts, exposed, cluster, with, without,
           with / without);
    for (int k = 0; k < rows; ++k) {
        if (runs[k].threads > 1) continue;
        const bench_figures *f = &runs[k].figures;
        const double step = f->seconds * 1e9 / (double)f->steps;
        printf("    %-18s%s step %9.0f ns: sample / step %8.3f with, %8.3f without the count\n",
               runs[k].kind->name, runs[k].rep.tab->finite ? " (finite)" : "", step, with / step,
               without / step);
    }
    if (!tracked) return RIPEN_OK;
    int particles = 0;
    const double track = ns_per_tracked_sample(r, report, &particles);
    if (track < 0) return ripen_fail(RIPEN_ENOMEM, "out of memory for the particle tracking");
    printf("  a tracked sample (%d particles: clusters from the columns holding core, shells,\n"
           "  identities; it replaces the cluster search and the exposed core): %.0f ns, %.3fx "
           "the\n  O(N) cluster search alone\n",
           particles, track, track / cluster);
    return RIPEN_OK;
}

/* All rows of one initial state, measured in turns of a tenth of the time each, so that every
 * row sees the same mix of machine load and the ratios compare like with like. */
static int bench_state_table(const bench_options *o, const lattice *lat, const model_tables *tab,
                             const bench_state *state, rf_cost *rf) {
    model_tables finite = *tab; /* with a finite solution (--reservoir): its own rows */
    enum { ROWS_MAX = 16, TURNS = 10 };
    uint8_t *initial = malloc((size_t)lat->nsites);
    if (!initial) return ripen_fail(RIPEN_ENOMEM, "out of memory for the initial state");
    initial_report report;
    int status =
        initial_build(initial, lat, BENCH_CORE_SITES, state->shell, state->layout, &report);
    if (status) {
        free(initial);
        return ripen_fail_context(status, "initial state (%s): ", state->label);
    }
    bench_run runs[ROWS_MAX];
    int rows = 0;
    for (int k = -1; k < dynamics_count && rows < ROWS_MAX && !status; ++k) {
        const dynamics_kind *kind = k < 0 ? &dynamics_reference : dynamics_all[k];
        status = bench_run_open(&runs[rows], kind, lat, tab, initial, bench_seed, o->segment);
        rows += !status;
    }
    if (!status && o->reservoir > 0) {
        const reservoir res = {{report.core_sites + o->reservoir, (double)o->reservoir}, {0, 0}};
        model_tables_use_reservoir(&finite, &res);
    }
    for (int k = 0; k < dynamics_count && o->reservoir > 0 && rows < ROWS_MAX && !status; ++k) {
        status = bench_run_open(&runs[rows], dynamics_all[k], lat, &finite, initial, bench_seed,
                                o->segment);
        rows += !status;
    }
    if (!status && o->threads > 1) {
        status = bench_run_open(&runs[rows], &dynamics_checkerboard, lat, tab, initial, bench_seed,
                                o->segment);
        if (!status && (status = bench_run_set_threads(&runs[rows], o->threads)))
            bench_run_close(&runs[rows]);
        rows += !status;
    }
    for (int turn = 0; turn < TURNS && !status; ++turn)
        for (int k = 0; k < rows; ++k) bench_run_for(&runs[k], o->seconds / TURNS);
    if (!status) print_state_table(state, &report, lat, runs, rows, rf);
    if (!status && o->reservoir > 0) print_finite_cost(runs, rows, o->reservoir);
    if (!status && rows > 0 && replica_load_states(&runs[0].rep, initial) == RIPEN_OK)
        status = print_sample_cost(&runs[0].rep, &report, state->layout != NULL, runs, rows);
    for (int k = 0; k < rows; ++k) bench_run_close(&runs[k]);
    free(initial);
    return status;
}

int bench_main(int argc, char **argv) {
    bench_options o;
    int help;
    int status = parse_options(argc, argv, &o, &help);
    if (!status && help) return 0;
    if (status) {
        fprintf(stderr, "ripen bench: %s\n", ripen_last_error());
        return 2;
    }
    lattice lat;
    model_params params;
    model_tables tab;
    model_params_default(&params);
    if ((status = lattice_init(&lat, o.lx, o.ly, o.lz))) {
        fprintf(stderr, "ripen bench: %s\n", ripen_last_error());
        return 2;
    }
    if ((status = model_tables_build(&tab, &params, &lat))) {
        fprintf(stderr, "ripen bench: %s\n", ripen_last_error());
        lattice_free(&lat);
        return 2;
    }
    print_header(&o, &lat);
    print_philox();
    rf_cost rf[BENCH_CASES] = {{0}};
    for (int c = 0; c < BENCH_CASES && !status; ++c) {
        const bench_state *state = &bench_cases[c];
        if (o.only && strcmp(o.only, state->label) != 0) continue;
        if (!state->lx) {
            status = bench_state_table(&o, &lat, &tab, state, &rf[c]);
            continue;
        }
        lattice own;
        model_tables own_tab;
        if (!(status = lattice_init(&own, state->lx, state->ly, state->lz))) {
            status = model_tables_build(&own_tab, &params, &own);
            if (!status) status = bench_state_table(&o, &own, &own_tab, state, &rf[c]);
            lattice_free(&own);
        }
    }
    if (!status)
        print_box_target(rf[bench_case_index("shelled")], rf[bench_case_index("shell-free")],
                         rf[bench_case_index("particles-240")]);
    lattice_free(&lat);
    if (status) {
        fprintf(stderr, "ripen bench: %s\n", ripen_last_error());
        return status == RIPEN_EINVAL ? 2 : 1;
    }
    return 0;
}
