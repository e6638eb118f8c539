/* libFuzzer harness for the job parser (tests/fuzz/run-fuzz.sh builds and runs it).
 *
 * Feeds each input, as a NUL-terminated text, to job_parse() exactly as `ripen run` and `ripen
 * check` do after reading a job file, then frees the job. Besides the sanitizers' findings
 * (crashes, out-of-bounds access, undefined behaviour, leaks), it checks the parser's contract:
 *
 *  - a failure returns RIPEN_EINVAL or RIPEN_ENOMEM with a non-empty message and leaves the job
 *    owning no memory (its pointers NULL, so a caller's job_free() is harmless);
 *  - a success yields at least one task, and the job's canonical text (`normalized`, which the
 *    job hash covers and --resume relies on) parses again to the same hash and task count.
 *
 * With FUZZ_JOB_ONE_LINE=1 in the environment it also requires every error message to be one
 * line (docs/jobs.md: "Every error is one line"); off by default because names and keys are
 * echoed verbatim, so a "\n" inside a JSON string still breaks the line (reported, not yet fixed).
 *
 * Inputs containing a NUL byte are skipped: job_load() rejects such files before parsing.
 */
#include "ripen/engine/error.h"
#include "ripen/driver/job.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_one_line;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    const char *flag = getenv("FUZZ_JOB_ONE_LINE");
    check_one_line = flag && flag[0] == '1';
    return 0;
}

static void violated(const char *what, const char *detail) {
    fprintf(stderr, "fuzz_job: contract violated: %s: %s\n", what, detail);
    abort();
}

static int owns_nothing(const job *j) {
    return !j->text && !j->normalized && !j->sets && !j->tasks;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (memchr(data, '\0', size)) return 0;
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    job j;
    ripen_clear_error();
    const int status = job_parse(&j, text, "fuzz.json");
    if (status) {
        const char *message = ripen_last_error();
        if (status != RIPEN_EINVAL && status != RIPEN_ENOMEM)
            violated("unexpected status", message);
        if (!message[0]) violated("failure without a message", "");
        if (!owns_nothing(&j)) violated("failure left memory in the job", message);
        if (check_one_line && strpbrk(message, "\n\r")) violated("multi-line message", message);
    } else {
        if (j.ntasks < 1 || !j.tasks || !j.normalized || !j.text)
            violated("success without tasks", "");
        job again;
        const int status_again = job_parse(&again, j.normalized, "fuzz-normalized.json");
        if (status_again) violated("normalized job does not parse", ripen_last_error());
        if (again.hash != j.hash || again.ntasks != j.ntasks)
            violated("normalized job differs", j.normalized);
        job_free(&again);
    }
    job_free(&j);
    free(text);
    return 0;
}
