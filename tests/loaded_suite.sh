#!/bin/sh
# The whole test suite on a busy machine: starts HOGS busy loops (`yes > /dev/null`, default 2:
# one per core of a 2-core machine), runs ctest RUNS times in a row (default 3) while they run,
# stops them, and says how each run went. No test may depend on timing (issue 21), so every run
# must pass, only slower. Usage, from the repository after a build in build/:
#     tests/loaded_suite.sh [-n RUNS] [-l HOGS] [-- extra ctest arguments]
# e.g. `flock /tmp/ripen-slurm.lock tests/loaded_suite.sh` where several people share the
# machine (test_slurm starts a SLURM cluster: one at a time). Exit status 0 if every run passed.
set -u
runs=3
hogs=2
while [ $# -gt 0 ]; do
    case "$1" in
        -n) runs=$2; shift 2 ;;
        -l) hogs=$2; shift 2 ;;
        --) shift; break ;;
        *) echo "usage: $0 [-n RUNS] [-l HOGS] [-- ctest arguments]" >&2; exit 2 ;;
    esac
done
build=${RIPEN_BUILD:-build}
pids=""
stop_hogs() {
    for pid in $pids; do kill "$pid" 2>/dev/null; done
    pids=""
}
trap stop_hogs EXIT INT TERM
i=0
while [ "$i" -lt "$hogs" ]; do
    yes > /dev/null &
    pids="$pids $!"
    i=$((i + 1))
done
echo "loaded_suite: $hogs busy loop(s) running (pids$pids); load average $(cut -d' ' -f1-3 /proc/loadavg)"
failed=0
run=1
while [ "$run" -le "$runs" ]; do
    started=$(date +%s)
    if ctest --test-dir "$build" --output-on-failure -j2 "$@" > "$build/loaded-run-$run.log" 2>&1; then
        verdict=passed
    else
        verdict=FAILED
        failed=$((failed + 1))
    fi
    summary=$(grep -E "tests passed|tests failed" "$build/loaded-run-$run.log" | tail -1)
    echo "loaded_suite: run $run of $runs $verdict in $(( $(date +%s) - started )) s: $summary" \
        "(load average $(cut -d' ' -f1-3 /proc/loadavg); log $build/loaded-run-$run.log)"
    run=$((run + 1))
done
stop_hogs
[ "$failed" -eq 0 ]
