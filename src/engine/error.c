#include "ripen/engine/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { MESSAGE_CAPACITY = RIPEN_MESSAGE_CAPACITY };

static _Thread_local char last_message[MESSAGE_CAPACITY];

/* Formatted into a copy first: a message that quotes the previous one
 * (ripen_fail(..., "cannot resume: %s", ripen_last_error())) must not read the buffer it is
 * writing, which doubled the prefix and cut the quoted file name. */
int ripen_fail(int status, const char *fmt, ...) {
    char message[MESSAGE_CAPACITY];
    va_list args;
    va_start(args, fmt);
    vsnprintf(message, sizeof message, fmt, args);
    va_end(args);
    memcpy(last_message, message, sizeof last_message);
    return status;
}

int ripen_fail_context(int status, const char *fmt, ...) {
    char prefix[MESSAGE_CAPACITY];
    char previous[MESSAGE_CAPACITY];
    va_list args;
    va_start(args, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, args);
    va_end(args);
    memcpy(previous, last_message, sizeof previous);
    /* Truncation of an over-long message is acceptable: it stays one line. */
    const size_t used = strlen(prefix);
    memcpy(last_message, prefix, used + 1);
    strncat(last_message, previous, sizeof last_message - used - 1);
    return status;
}

const char *ripen_last_error(void) {
    return last_message;
}

void ripen_clear_error(void) {
    last_message[0] = '\0';
}
