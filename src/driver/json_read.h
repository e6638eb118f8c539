/* Typed, range-checked access to cJSON values with errors that name the JSON path (private to
 * the job parser). Every getter returns a status; a missing optional key leaves *out alone. */
#ifndef RIPEN_JSON_READ_H
#define RIPEN_JSON_READ_H

#include <cjson/cJSON.h>
#include <stdint.h>

/* Error unless every key of `object` is in the NULL-terminated `allowed` list (and no key
 * repeats); names the first offender with its path. */
int json_check_keys(const cJSON *object, const char *path, const char *const *allowed);

/* Error unless `item` is an object; `what` is used in the message. */
int json_require_object(const cJSON *item, const char *path);

int json_get_int(const cJSON *object, const char *key, const char *path, int64_t min, int64_t max,
                 int64_t *out);
int json_get_uint(const cJSON *object, const char *key, const char *path, uint64_t min,
                  uint64_t max, uint64_t *out);
int json_get_double(const cJSON *object, const char *key, const char *path, double min, double max,
                    double *out);
int json_get_bool(const cJSON *object, const char *key, const char *path, int *out);
/* Copies a string value (at most capacity - 1 bytes, error if longer). */
int json_get_string(const cJSON *object, const char *key, const char *path, char *out,
                    size_t capacity);

/* Error naming the first number anywhere in `item` that overflowed to infinity (1e999): JSON has
 * no infinity, so such a job could not be written back out and read again. */
int json_check_finite(const cJSON *item, const char *path);

/* "a.b" + "c" -> "a.b.c"; "a" + "[3]" -> "a[3]". Writes into out (capacity bytes). */
void json_path_join(char *out, size_t capacity, const char *base, const char *key);

/* Line and column (1-based) of byte `offset` in `text`. */
void json_line_column(const char *text, size_t offset, int *line, int *column);

/* Offset of the first integer literal (no fraction, no exponent) whose magnitude exceeds 2^53,
 * which a double cannot hold exactly, or -1. Strings are skipped. */
long json_inexact_integer(const char *text, size_t length);

/* Offset of the first byte that is not valid UTF-8, or -1 if the text is valid. */
long json_invalid_utf8(const char *text, size_t length);

#endif
