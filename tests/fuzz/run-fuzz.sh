#!/bin/sh
# Fuzzes the job parser (tests/fuzz/fuzz_job.c) with libFuzzer for a while.
#
#   tests/fuzz/run-fuzz.sh [seconds]        (default 60; run from anywhere)
#
# Configures a clang build in build-fuzz/ (override with RIPEN_FUZZ_BUILD), builds fuzz_job, and
# runs it for the given wall time on a fresh copy of tests/fuzz/corpus/ with the dictionary
# tests/fuzz/job.dict. Prints the executions and what was found; exits 1 if libFuzzer wrote a
# crash, leak, timeout or out-of-memory artifact (kept in build-fuzz/artifacts/, with the input
# that triggered it) or failed otherwise. New corpus entries stay in build-fuzz/corpus-run/ and are
# not copied back into the repository.
#
# Limits: -timeout=25 s per input (a job on a 2^28-site lattice takes ~0.5 s per ensemble to
# validate in this build; an input slower than 25 s is a finding: the parser must answer promptly);
# -rss_limit_mb=2048 and -malloc_limit_mb=1024 (job_parse allocates one byte per site, at most
# 256 MiB, to check that the initial particle fits). FUZZ_FLAGS adds libFuzzer flags, e.g.
# FUZZ_FLAGS='-fork=2 -ignore_timeouts=1' to keep going past slow inputs on a long run;
# FUZZ_JOB_ONE_LINE=1 also requires one-line error messages (see fuzz_job.c);
# FUZZ_ALLOW_TIMEOUTS=1 fuzzes in fork mode past slow inputs and lists their artifacts without
# failing (a stopgap while a known slow input is being fixed; crashes and leaks still fail).
# FUZZ_SEED=N fixes libFuzzer's random seed (CI does, so a red run can be replayed; the mutation
# sequence still depends on timing, so this narrows rather than removes run-to-run variation);
# unset, each run explores differently.
set -eu
seconds=${1:-60}
case $seconds in '' | *[!0-9]*)
    echo "usage: $0 [seconds]" >&2
    exit 2
    ;;
esac
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
build=${RIPEN_FUZZ_BUILD:-$source_dir/build-fuzz}

echo "== configure and build fuzz_job in $build"
mkdir -p "$build"
CC=${FUZZ_CC:-clang} cmake -S "$source_dir" -B "$build" -DRIPEN_FUZZ=ON \
    >"$build/configure.log" 2>&1 || {
    cat "$build/configure.log" >&2
    exit 1
}
cmake --build "$build" --target fuzz_job -j2 >"$build/build.log" 2>&1 || {
    cat "$build/build.log" >&2
    exit 1
}

corpus=$build/corpus-run
artifacts=$build/artifacts
log=$build/fuzz.log
rm -rf "$corpus" "$artifacts"
mkdir -p "$corpus" "$artifacts"
cp "$source_dir"/tests/fuzz/corpus/* "$corpus"/

allow_timeouts=${FUZZ_ALLOW_TIMEOUTS:-0}
mode_flags=
if [ "$allow_timeouts" = 1 ]; then mode_flags="-fork=1 -ignore_timeouts=1"; fi
if [ -n "${FUZZ_SEED:-}" ]; then mode_flags="$mode_flags -seed=$FUZZ_SEED"; fi

echo "== fuzzing for $seconds s (log: $log)"
status=0
# shellcheck disable=SC2086 # FUZZ_FLAGS is a list of flags
"$build/fuzz_job" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
    -malloc_limit_mb=1024 -max_len=4096 -print_final_stats=1 \
    -dict="$source_dir/tests/fuzz/job.dict" -artifact_prefix="$artifacts/" $mode_flags \
    ${FUZZ_FLAGS:-} "$corpus" >"$log" 2>&1 || status=$?

# Plain mode ends with stat:: lines; -fork=N mode prints "#<executions>: cov: ..." lines only.
executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
[ -n "$executions" ] || executions=$(sed -n 's/^#\([0-9][0-9]*\): cov:.*/\1/p' "$log" | tail -n 1)
coverage=$(grep -Eo 'cov: [0-9]+' "$log" | tail -n 1 || true)
echo "executions: ${executions:-unknown} in $seconds s; ${coverage:-cov: ?};" \
    "corpus now $(ls "$corpus" | wc -l) inputs"

slow=$(find "$artifacts" -type f -name 'timeout-*' | sort)
if [ "$allow_timeouts" = 1 ]; then
    for f in $slow; do
        echo "slow input (tolerated, FUZZ_ALLOW_TIMEOUTS=1): $f: $(head -c 200 "$f" | tr '\n' ' ')"
    done
    slow=
fi
found=$(
    find "$artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'oom-*' \) | sort
    echo "$slow"
)
found=$(echo "$found" | sed '/^$/d')
if [ -n "$found" ]; then
    echo "findings:"
    for f in $found; do
        echo "  $f ($(wc -c <"$f") bytes)"
    done
    echo "the report (last 40 lines of $log):"
    tail -n 40 "$log"
    echo "reproduce: $build/fuzz_job <artifact>"
    exit 1
fi
if [ "$status" -ne 0 ]; then
    echo "fuzz_job failed with status $status and no artifact; last lines of $log:"
    tail -n 40 "$log"
    exit 1
fi
echo "findings: none"
