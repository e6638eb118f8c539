/* `ripen bench`: Monte Carlo throughput of every dynamics on one core, measured against the
 * reference kernel in the same run (docs/performance.md explains the method and the figures).
 *
 * bench_measure() (or, to interleave several, bench_run_open/for/close) is the seam for further
 * figures (ensemble throughput, HDF5 share, ...): it runs one dynamics on one replica for a given
 * CPU time and returns what it did; bench_main() only chooses the cases and prints the tables.
 */
#ifndef RIPEN_BENCH_H
#define RIPEN_BENCH_H

#include <stdint.h>
#include <stdio.h>

#include "ripen/engine/dynamics.h"

typedef struct {
    uint64_t steps;         /* MC steps run (timed) */
    double seconds;         /* CPU time of those steps, this thread (state reloads excluded) */
    double wall_seconds;    /* wall time of the same steps */
    double attempts;        /* steps * nsites: MC time in attempts, skipped ones included */
    uint64_t events;        /* accepted, state-changing moves in the timed steps (a swap is one),
                               counted by a replica watch (replica.h): one call per event */
    double rebuild_seconds; /* mean untimed run(0) after a state load: workspace resync */
    int segments;           /* times the initial state was loaded */
} bench_figures;

/* One measurement in progress: `kind` running on a replica (seed, task 0) that starts from
 * `initial` (nsites states, not copied) and is reloaded from it every `segment_steps` steps,
 * one dynamics_run() call per step as the task driver does. Reloads, and the workspace's first
 * look at each reloaded state (a run of 0 steps, recorded in rebuild_seconds), are not timed.
 * The replica's watch counts the events; it points into the bench_run, which must not move
 * between open and close. */
typedef struct {
    const dynamics_kind *kind;
    replica rep;
    dynamics dyn;
    const uint8_t *initial;
    uint64_t segment_steps, in_segment; /* steps per segment, steps done in the current one */
    uint64_t stride;                    /* steps between clock reads */
    replica_watch watch;                /* counts events into figures.events */
    int threads;                        /* dynamics_set_threads() of this run (default 1) */
    bench_figures figures;              /* so far */
} bench_run;

int bench_run_open(bench_run *b, const dynamics_kind *kind, const lattice *lat,
                   const model_tables *tab, const uint8_t *initial, uint64_t seed,
                   uint64_t segment_steps);
/* Lets the dynamics use `threads` threads (dynamics_set_threads). */
int bench_run_set_threads(bench_run *b, int threads);
/* Runs on until at least `seconds` more of timed CPU time have passed; b->figures adds up. */
void bench_run_for(bench_run *b, double seconds);
void bench_run_close(bench_run *b);

/* open + run_for(seconds) + close: the figures of one dynamics measured alone. */
int bench_measure(const dynamics_kind *kind, const lattice *lat, const model_tables *tab,
                  const uint8_t *initial, uint64_t seed, double seconds, uint64_t segment_steps,
                  bench_figures *out);

/* The kernel options and what they measure, for `ripen bench --help` (cmd_bench.c). */
void bench_print_options(FILE *to);

/* `ripen bench [--seconds S] [--lattice LxLyLz] [--segment STEPS] [--threads N] [--help]`: prints
 * the table to stdout; returns the process exit status (0, or 2 for bad arguments, with a message
 * on stderr). */
int bench_main(int argc, char **argv);

#endif
