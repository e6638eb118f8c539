/* The version and the git commit the binary was built from (set by CMake at configure time). */
#ifndef RIPEN_VERSION_H
#define RIPEN_VERSION_H

const char *ripen_version(void);
const char *ripen_git_commit(void);

#endif
