#include "cli.h"

#include "ripen/engine/error.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* One line, whatever the message quotes from the input: control characters are escaped. */
int cli_error(int status) {
    fputs("ripen: ", stderr);
    for (const unsigned char *c = (const unsigned char *)ripen_last_error(); *c; ++c)
        if (*c < 0x20 || *c == 0x7f)
            fprintf(stderr, "\\x%02x", *c);
        else
            fputc(*c, stderr);
    fputc('\n', stderr);
    return status;
}

int cli_exit_code(int status) {
    switch (status) {
        case RIPEN_OK:
            return 0;
        case RIPEN_EINVAL:
            return 2;
        case RIPEN_ENOMEM:
            return 3;
        case RIPEN_EIO:
            return 4;
        case RIPEN_EINTERRUPTED:
            return 5;
        default:
            return 1;
    }
}

int cli_parse_double(const char *flag, const char *text, double min, double max, double *out) {
    char *end;
    errno = 0;
    const double v = strtod(text, &end);
    if (end == text || *end || errno || !isfinite(v) || v < min || v > max)
        return ripen_fail(RIPEN_EINVAL, "%s %s: must be a number in [%g, %g]", flag, text, min,
                          max);
    *out = v;
    return RIPEN_OK;
}

int cli_parse_int(const char *flag, const char *text, int64_t min, int64_t max, int64_t *out) {
    char *end;
    errno = 0;
    const long long v = strtoll(text, &end, 10);
    if (end == text || *end || errno || v < min || v > max)
        return ripen_fail(RIPEN_EINVAL, "%s %s: must be an integer in [%lld, %lld]", flag, text,
                          (long long)min, (long long)max);
    *out = v;
    return RIPEN_OK;
}

int cli_value(int argc, char **argv, int *k, const char **out) {
    if (*k + 1 >= argc) return ripen_fail(RIPEN_EINVAL, "%s: needs a value", argv[*k]);
    *out = argv[++*k];
    return RIPEN_OK;
}

/* The same file: same device and inode (stat follows symlinks), whatever the spelling. */
static int same_file(const char *a, const char *b) {
    struct stat x, y;
    return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

int cli_refuse_output_on_input(const char *output, const char *input, const char *role) {
    char partial[JOB_PATH_CAPACITY + 16];
    snprintf(partial, sizeof partial, "%s.partial", output);
    if (same_file(output, input))
        return ripen_fail(RIPEN_EINVAL,
                          "the output %s is the %s %s itself (the same file): choose another "
                          "output",
                          output, role, input);
    if (same_file(partial, input))
        return ripen_fail(RIPEN_EINVAL,
                          "the output's temporary file %s is the %s %s (the same file): choose "
                          "another output",
                          partial, role, input);
    return RIPEN_OK;
}
