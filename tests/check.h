/* A minimal test harness: CHECK records a failure with file and line and carries on, so one run
 * reports every broken property; check_exit() turns the tally into the exit status ctest reads. */
#ifndef RIPEN_TEST_CHECK_H
#define RIPEN_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int check_failures = 0;
static int check_count = 0;

#define CHECK(condition, ...)                                                                      \
    do {                                                                                           \
        ++check_count;                                                                             \
        if (!(condition)) {                                                                        \
            ++check_failures;                                                                      \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #condition);          \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* Stops the test at once: for failures after which nothing else can be trusted. The condition
 * is evaluated once (it often calls the function under test). */
#define REQUIRE(condition, ...)                                                                    \
    do {                                                                                           \
        const int require_holds = (condition) ? 1 : 0;                                             \
        CHECK(require_holds, __VA_ARGS__);                                                         \
        if (!require_holds) exit(1);                                                               \
    } while (0)

static inline int check_exit(const char *name) {
    printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif
