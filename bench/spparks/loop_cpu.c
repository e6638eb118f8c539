/* LD_PRELOAD shim for timing SPPARKS' event loops in CPU time (bench/spparks/README.md).
 *
 * SPPARKS times its loop between two MPI_Barrier calls (Timer::barrier_start/stop around
 * AppLattice::iterate) and prints its wall time as "Loop time of X" on its screen, stdout.
 * This shim wraps MPI_Barrier only (the loop itself calls no barrier, so its cost is
 * untouched) and prints, after each barrier, one line on the same stdout stream:
 *   loop_cpu barrier WALL CPU
 * (MPI_Wtime, and this thread's CPU time, in seconds). A loop's CPU time is therefore the
 * difference of the last two such lines before its "Loop time" line (compare.py).
 *
 * Build: mpicc -O2 -shared -fPIC -o loop_cpu.so loop_cpu.c */
#include <mpi.h>
#include <stdio.h>
#include <time.h>

static double thread_cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int MPI_Barrier(MPI_Comm comm) {
    const int status = PMPI_Barrier(comm);
    const double cpu = thread_cpu_seconds();
    printf("loop_cpu barrier %.9f %.9f\n", PMPI_Wtime(), cpu);
    return status;
}
