#!/bin/sh
# Benchmark of the run history (issue 14), printing figures (not a timed test):
#   1. recording a run of 10,000 tests (target <= 100 ms): history_bench, median of 5;
#   2. `envtest trends` over 10,000 runs (target <= 200 ms): the whole command, median of 5,
#      wall time and CPU time (user + system; on a loaded machine the wall time is mostly waiting).
# Usage: ci/bench/history.sh [BUILD_DIR]   (default $ENVTEST_BUILD_DIR, else build)
# Environment: RUNS (default 10000), TESTS (default 10000); HISTORY_DB=PATH keeps the seeded
# history there (and reuses it when it exists: no seeding).
set -eu
build=$(realpath "${1:-${ENVTEST_BUILD_DIR:-build}}")
RUNS=${RUNS:-10000}
TESTS=${TESTS:-10000}
for b in "$build/ci/bench/history_bench" "$build/cmd/envtest"; do
    [ -x "$b" ] || { echo "$b not found: build first (cmake --build $build)" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "/usr/bin/time missing: apt-get install time" >&2; exit 2; }
work=$(mktemp -d /tmp/envtest-bench-history.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
db=${HISTORY_DB:-$work/history.sqlite}
seed=$RUNS
[ -n "${HISTORY_DB:-}" ] && [ -s "$db" ] && seed=0
"$build/ci/bench/history_bench" "$db" "$seed" "$TESTS"
for mode in text json; do
    walls="" cpus=""
    for i in 1 2 3 4 5; do
        set -- trends --history "$db" --days 0
        [ "$mode" = json ] && set -- "$@" --json
        /usr/bin/time -o "$work/time" -f "%e %U %S" "$build/cmd/envtest" "$@" > "$work/out"
        read -r wall user sys < "$work/time"
        walls="$walls $(echo "$wall" | awk '{ printf "%d", $1 * 1000 }')"
        cpus="$cpus $(echo "$user $sys" | awk '{ printf "%d", ($1 + $2) * 1000 }')"
    done
    median() { echo "$1" | tr ' ' '\n' | sed '/^$/d' | sort -n | sed -n 3p; }
    runs=$(sqlite3 "$db" "SELECT COUNT(*) FROM runs" 2>/dev/null || echo "$RUNS")
    echo "envtest trends --days 0 ($mode) over $runs runs: $(median "$walls") ms wall, $(median "$cpus") ms CPU (medians of 5; wall:$walls; CPU:$cpus); target <= 200 ms"
done
head -12 "$work/out" | sed 's/^/  /'
