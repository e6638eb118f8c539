#include "ripen/version.h"

/* CMake defines both for this file only; a build without them still says something true. */
#ifndef RIPEN_VERSION
#define RIPEN_VERSION "unknown"
#endif
#ifndef RIPEN_GIT_COMMIT
#define RIPEN_GIT_COMMIT "unknown"
#endif

const char *ripen_version(void) {
    return RIPEN_VERSION;
}
const char *ripen_git_commit(void) {
    return RIPEN_GIT_COMMIT;
}
