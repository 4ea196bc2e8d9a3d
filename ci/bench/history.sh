#!/bin/sh
# Benchmark of the run history (issue 14), printing figures (not a timed test):
#   1. recording a run of 10,000 tests (target <= 100 ms): history_bench, median of 5;
#   2. `envtest trends` over 10,000 runs (target <= 200 ms): the whole command, median of 5.
# Usage: ci/bench/history.sh [BUILD_DIR]   (default $ENVTEST_BUILD_DIR, else build)
# Environment: RUNS (default 10000), TESTS (default 10000).
set -eu
build=$(realpath "${1:-${ENVTEST_BUILD_DIR:-build}}")
RUNS=${RUNS:-10000}
TESTS=${TESTS:-10000}
for b in "$build/ci/bench/history_bench" "$build/cmd/envtest"; do
    [ -x "$b" ] || { echo "$b not found: build first (cmake --build $build)" >&2; exit 2; }
done
work=$(mktemp -d /tmp/envtest-bench-history.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
"$build/ci/bench/history_bench" "$work/history.sqlite" "$RUNS" "$TESTS"
now_ns() { date +%s%N; }
for mode in text json; do
    times=""
    for i in 1 2 3 4 5; do
        start=$(now_ns)
        if [ "$mode" = json ]; then
            "$build/cmd/envtest" trends --history "$work/history.sqlite" --days 0 --json > "$work/out"
        else
            "$build/cmd/envtest" trends --history "$work/history.sqlite" --days 0 > "$work/out"
        fi
        times="$times $((($(now_ns) - start) / 1000000))"
    done
    med=$(echo "$times" | tr ' ' '\n' | sed '/^$/d' | sort -n | sed -n 3p)
    echo "envtest trends --days 0 ($mode) over $(jq -n "$(cat "$work/out" | head -c 0)$RUNS + 10") runs: $med ms (median of 5:$times); target <= 200 ms"
done
head -5 "$work/out" | sed 's/^/  /'
