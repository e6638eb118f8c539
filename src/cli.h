/* Command-line helpers shared by the subcommands (private to the executable). */
#ifndef RIPEN_CLI_H
#define RIPEN_CLI_H

#include <stdint.h>

/* Prints "ripen: <message>" on stderr; returns `status`. */
int cli_error(int status);

/* Exit code for a status: 0 ok, 2 bad input, 3 out of memory, 4 I/O, 5 interrupted. */
int cli_exit_code(int status);

/* Parses a number for flag `flag`; one-line error on junk or out of range. */
int cli_parse_double(const char *flag, const char *text, double min, double max, double *out);
int cli_parse_int(const char *flag, const char *text, int64_t min, int64_t max, int64_t *out);

/* The value of flag argv[*k] (advancing *k), or an error if it is missing. */
int cli_value(int argc, char **argv, int *k, const char **out);

int run_main(int argc, char **argv);
int merge_main(int argc, char **argv);
int analyze_main(int argc, char **argv);
int check_main(int argc, char **argv);

#endif
