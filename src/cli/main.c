#define _POSIX_C_SOURCE 200809L /* setenv */
/* ripen: the command-line front end. Subcommands are one table; each lives in its own file. */
#include "cli.h"
#include "ripen/engine/error.h"
#include "ripen/driver/version.h"
#include "ripen/driver/h5out.h"

#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    int (*main)(int argc, char **argv);
    int needs_mpi;
    const char *summary;
} command;

static const command commands[] = {
    {"run", run_main, 1, "run a job file (mpirun -np K ripen run JOB.json); --help for options"},
    {"check", check_main, 0, "validate a job file and list the tasks it expands into"},
    {"merge", merge_main, 1, "combine shard files of a job: ripen merge OUT.h5 SHARD.h5..."},
    {"analyze", analyze_main, 0, "recompute F(q) in a result file: ripen analyze FILE.h5"},
    {"bench", bench_command, 1, "speed of the kernels and of an ensemble run (mpirun -np K ...)"},
};
enum { COMMAND_COUNT = sizeof commands / sizeof commands[0] };

static void usage(FILE *out) {
    fprintf(out,
            "ripen %s: defect-mediated ripening of core-shell nanoparticles, a lattice Monte "
            "Carlo code\n\nusage: ripen COMMAND [options]   (ripen COMMAND --help for more)\n\n"
            "commands:\n",
            ripen_version());
    for (int k = 0; k < COMMAND_COUNT; ++k)
        fprintf(out, "  %-8s %s\n", commands[k].name, commands[k].summary);
    fprintf(out, "\nother:\n  --help     this text\n  --version  version and build\n\n"
                 "Quick start: ripen run jobs/quick.json   Docs: README.md, docs/\n");
}

/* This process's rank when a launcher (mpirun, srun) started several, else 0: read from the
 * environment, because serial commands do not initialise MPI. */
/* The rank a launcher (mpirun, srun) gave this process, as a string; NULL without a launcher. */
static const char *launcher_rank(void) {
    const char *names[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"};
    for (size_t k = 0; k < sizeof names / sizeof *names; ++k) {
        const char *value = getenv(names[k]);
        if (value && value[0]) return value;
    }
    return NULL;
}

static long launched_rank(void) {
    const char *rank = launcher_rank();
    return rank ? strtol(rank, NULL, 10) : 0;
}

/* Started without a launcher, Open MPI makes the process a "singleton" and forks a daemon (orted)
 * for it, which ripen never uses (it spawns no processes), which costs a fraction of a second per
 * start, and which was seen to hang after ripen had exited, keeping the caller's pipes open (a
 * test waited 10 minutes for a bad-input run that had ended at once). Ask Open MPI for a singleton
 * without a daemon instead, unless the user set the parameter. Other MPI libraries ignore it. */
static void prefer_isolated_singleton(void) {
    if (!launcher_rank()) setenv("OMPI_MCA_ess_singleton_isolated", "1", 0);
}

int main(int argc, char **argv) {
    /* A file-size limit (ulimit -f) then fails the write with EFBIG, reported like any full
     * disk, instead of killing the process without a word. */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("ripen %s (git %s)\n", ripen_version(), ripen_git_commit());
        return 0;
    }
    for (int k = 0; k < COMMAND_COUNT; ++k) {
        if (strcmp(argv[1], commands[k].name) != 0) continue;
        /* A serial command under mpirun -np N would run N times, each rewriting the same file:
         * rank 0 alone does it. */
        if (!commands[k].needs_mpi && launched_rank() != 0) return 0;
        if (!commands[k].needs_mpi) return cli_exit_code(commands[k].main(argc - 1, argv + 1));
        prefer_isolated_singleton();
        MPI_Init(&argc, &argv);
        h5out_quiet_errors();
        const int status = commands[k].main(argc - 1, argv + 1);
        MPI_Finalize();
        return cli_exit_code(status);
    }
    fprintf(stderr, "ripen: unknown command \"%s\" (see ripen --help)\n", argv[1]);
    return 2;
}
