/* LD_PRELOAD shim for timing SPPARKS' event loops in CPU time (bench/spparks/README.md).
 *
 * SPPARKS times its loop between two MPI_Barrier calls (Timer::barrier_start/stop around
 * AppLattice::iterate) and prints the wall time as "Loop time of X". This shim wraps
 * MPI_Barrier only (the loop itself calls no barrier, so its cost is untouched) and records,
 * after each barrier, the thread's CPU time and the wall time (MPI_Wtime). At exit it writes one
 * line per interval between consecutive barriers, "wall_seconds cpu_seconds", to the file
 * named by LOOP_CPU_OUT; compare.py picks the intervals whose wall time is a printed Loop time.
 *
 * Build: mpicc -O2 -shared -fPIC -o loop_cpu.so loop_cpu.c */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { MAX_STAMPS = 1 << 20 };

static double stamp_wall[MAX_STAMPS], stamp_cpu[MAX_STAMPS];
static int nstamps;

static double thread_cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int MPI_Barrier(MPI_Comm comm) {
    const int status = PMPI_Barrier(comm);
    if (nstamps < MAX_STAMPS) {
        stamp_cpu[nstamps] = thread_cpu_seconds();
        stamp_wall[nstamps] = PMPI_Wtime();
        ++nstamps;
    }
    return status;
}

static void write_intervals(void) __attribute__((destructor));
static void write_intervals(void) {
    /* Only the process that timed something writes: MPI's singleton start forks a helper
     * that inherits LD_PRELOAD and must not overwrite the file. */
    const char *path = getenv("LOOP_CPU_OUT");
    FILE *f = path && nstamps > 1 ? fopen(path, "w") : NULL;
    if (!f) return;
    for (int i = 1; i < nstamps; ++i)
        fprintf(f, "%.9f %.9f\n", stamp_wall[i] - stamp_wall[i - 1],
                stamp_cpu[i] - stamp_cpu[i - 1]);
    fclose(f);
}
