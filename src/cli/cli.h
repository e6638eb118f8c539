/* Command-line helpers shared by the subcommands (private to the executable). */
#ifndef RIPEN_CLI_H
#define RIPEN_CLI_H

#include <mpi.h>
#include <stdint.h>

#include "ripen/driver/kinds/fq.h"
#include "ripen/driver/results.h"
#include "ripen/driver/job.h"
#include "ripen/driver/task.h"

/* Prints "ripen: <message>" on stderr; returns `status`. */
int cli_error(int status);

/* Exit code for a status: 0 ok, 2 bad input, 3 out of memory, 4 I/O, 5 interrupted. */
int cli_exit_code(int status);

/* Parses a number for flag `flag`; one-line error on junk or out of range. */
int cli_parse_double(const char *flag, const char *text, double min, double max, double *out);
int cli_parse_int(const char *flag, const char *text, int64_t min, int64_t max, int64_t *out);

/* The value of flag argv[*k] (advancing *k), or an error if it is missing. */
int cli_value(int argc, char **argv, int *k, const char **out);

/* Refuses an output that is the input file `input` (its `role`: "job file", "shard"), or whose
 * temporary OUTPUT.partial is: compared by identity (device and inode), so another spelling, a
 * symlink or a hard link of the input is refused too, --force or not. */
int cli_refuse_output_on_input(const char *output, const char *input, const char *role);

int run_main(int argc, char **argv);

/* What a run measured of itself (rank 0's view), for `ripen bench`. */
typedef struct {
    double wall_seconds;  /* the whole run */
    double write_seconds; /* writing the HDF5 file */
    int64_t tasks_run;    /* tasks completed */
} run_report;

/* `ripen run` with its arguments (argv[0] = "run") on the ranks of `comm`; fills `report` if not
 * NULL. */
int run_on(MPI_Comm comm, int argc, char **argv, run_report *report);
int bench_command(int argc, char **argv);

int merge_main(int argc, char **argv);
int analyze_main(int argc, char **argv);
int check_main(int argc, char **argv);

#endif
