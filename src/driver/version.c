#include "ripen/driver/version.h"

/* CMake defines the version for this file only and writes the commit at every build
 * (cmake/git_commit.cmake); a build without them still says something true. */
#if __has_include("ripen_git_commit.h")
#include "ripen_git_commit.h"
#endif
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
