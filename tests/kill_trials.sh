#!/bin/sh
# Longer crash trials: tests/driver/test_resume.py with many SIGKILL trials (the whole MPI job or
# one rank, at random moments, one to three times per trial, then resumed on 1, 2 or 4 ranks and
# compared bit for bit with an uninterrupted run), followed by its SIGTERM and refusal checks.
#
#   tests/kill_trials.sh [trials]           (default 20)
#
# Uses the ripen binary in build/ of this source tree unless RIPEN names another one (e.g.
# RIPEN=build-asan/ripen). Kill moments come from test_resume.py's fixed-seed generator, so a
# failing trial replays with the same trial count. Prints the trials run and survived; exits
# non-zero unless every trial survived and test_resume.py passed.
set -eu
trials=${1:-20}
case $trials in '' | *[!0-9]*)
    echo "usage: $0 [trials]" >&2
    exit 2
    ;;
esac
source_dir=$(cd "$(dirname "$0")/.." && pwd)
RIPEN=${RIPEN:-$source_dir/build/ripen}
case $RIPEN in /*) ;; *) RIPEN=$(pwd)/$RIPEN ;; esac
if [ ! -x "$RIPEN" ]; then
    echo "$0: no ripen binary at $RIPEN (build it: cmake -S . -B build && cmake --build build," \
        "or set RIPEN)" >&2
    exit 2
fi
RIPEN_MPIEXEC=${RIPEN_MPIEXEC:-$(command -v mpiexec || echo mpiexec)}
export RIPEN RIPEN_MPIEXEC RIPEN_SOURCE="$source_dir"

log=$(mktemp "${TMPDIR:-/tmp}/ripen-kill-trials.XXXXXX")
echo "== $trials kill trials with $RIPEN (log: $log)"
started=$(date +%s)
status=0
/usr/bin/python3 "$source_dir/tests/driver/test_resume.py" "$trials" >"$log" 2>&1 || status=$?
cat "$log"

run=$(grep -c '^trial [0-9]*: killed' "$log" || true)
survived=$(grep -c '^trial [0-9]*: killed.*resumed: identical$' "$log" || true)
echo "== kill trials: $run of $trials run, $survived survived (resumed to identical results);" \
    "test_resume.py exit status $status; $(($(date +%s) - started)) s"
[ "$status" -eq 0 ] && [ "$run" -eq "$trials" ] && [ "$survived" -eq "$trials" ]
