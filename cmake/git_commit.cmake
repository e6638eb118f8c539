# Writes OUTPUT (a header defining RIPEN_GIT_COMMIT) from `git describe` in SOURCE, at every
# build, but touches the file only when the commit changed, so that an unchanged tree rebuilds
# nothing. Run as: cmake -DSOURCE=... -DOUTPUT=... -P git_commit.cmake
execute_process(COMMAND git describe --always --dirty --abbrev=12
  WORKING_DIRECTORY ${SOURCE} OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE
  ERROR_QUIET)
if(NOT commit)
  set(commit "unknown")
endif()
set(text "/* Generated at build time by cmake/git_commit.cmake: the commit the binary was built from. */\n#define RIPEN_GIT_COMMIT \"${commit}\"\n")
if(EXISTS ${OUTPUT})
  file(READ ${OUTPUT} old)
endif()
if(NOT "${old}" STREQUAL "${text}")
  file(WRITE ${OUTPUT} "${text}")
endif()
