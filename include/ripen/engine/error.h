/* Error reporting: every fallible ripen function returns an int status (0 = success) and, on
 * failure, leaves a one-line message describing the problem for the caller to print.
 *
 * The message buffer is per thread, so library code never prints and never exits; only the
 * command-line front end decides what to do with a failure.
 */
#ifndef RIPEN_ERROR_H
#define RIPEN_ERROR_H

/* Room for a message: two whole file paths (JOB_PATH_CAPACITY each) and the words around them,
 * so that no message cuts the name of the file it is about. */
enum { RIPEN_MESSAGE_CAPACITY = 10240 };

enum ripen_status {
    RIPEN_OK = 0,
    RIPEN_EINVAL = 2,      /* bad input: job file, flag, parameter out of range */
    RIPEN_ENOMEM = 3,      /* allocation failed */
    RIPEN_EIO = 4,         /* file system or HDF5 error */
    RIPEN_EINTERRUPTED = 5 /* stopped by a signal after checkpointing */
};

/* Records a printf-style message and returns `status`, so callers can write
 * `return ripen_fail(RIPEN_EINVAL, "lattice.lx = %d: must be in [3, 4096]", lx);` */
int ripen_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepends context ("while reading job.json: ") to the current message; returns `status`. */
int ripen_fail_context(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last message recorded by ripen_fail on this thread ("" if none). */
const char *ripen_last_error(void);

void ripen_clear_error(void);

#endif
