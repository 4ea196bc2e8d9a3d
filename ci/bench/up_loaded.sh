#!/usr/bin/env bash
# Benchmark: `envtest up` of the Seoul environment (MySQL + mock-llm + mock-vector + sca-api, the
# small fixture) on the machine as it is, and with both cores kept busy by two `sha256sum
# /dev/zero` loops; alternating, RUNS of each. Prints each run's total and fixture times, the
# medians and the ratio loaded/quiet (issue 13 asks <= 1.5). Usage: ci/bench/up_loaded.sh [RUNS]
# (default 5). Needs a built tree (build/) and dockerd.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-5}"
build="${ENVTEST_BUILD_DIR:-$PWD/build}"
envtest="$build/cmd/envtest"
export ENVTEST_BUILD_DIR="$build"
export ENVTEST_MYSQL_IMAGE="${ENVTEST_MYSQL_IMAGE:-envtest/mysql-offline:10.11}"
project="${ENVTEST_BENCH_PROJECT:-envtest-bench-load}"
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

burners=()
stop_burners() {
    for pid in "${burners[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${burners[@]}"; do wait "$pid" 2>/dev/null || true; done
    burners=()
}
trap 'stop_burners; "$envtest" -p "$project" down -v >/dev/null 2>&1' EXIT

"$envtest" -p "$project" up >/dev/null 2>&1 # images built once, outside the figures
"$envtest" -p "$project" down -v >/dev/null 2>&1
one_up() { # prints "total fixture" in seconds
    local log t0 t1
    log=$(mktemp)
    t0=$(date +%s.%N)
    "$envtest" -p "$project" up >"$log" 2>&1
    t1=$(date +%s.%N)
    local fx
    fx=$(sed -n 's/.*fixture [a-z]*: loaded (\([0-9.]*\)s).*/\1/p' "$log" | tail -1)
    rm -f "$log"
    "$envtest" -p "$project" down -v >/dev/null 2>&1
    echo "$(echo "$t1 - $t0" | bc -l) ${fx:-0}"
}
quiet=() loaded=() quiet_fx=() loaded_fx=()
for ((i = 1; i <= runs; i++)); do
    read -r t fx < <(one_up)
    quiet+=("$t") quiet_fx+=("$fx")
    printf 'quiet  %d: up %.2f s, fixture %.2f s\n' "$i" "$t" "$fx"
    for _ in 1 2; do
        sha256sum /dev/zero >/dev/null 2>&1 & # reads forever
        burners+=($!)
    done
    read -r t fx < <(one_up)
    stop_burners
    loaded+=("$t") loaded_fx+=("$fx")
    printf 'loaded %d: up %.2f s, fixture %.2f s\n' "$i" "$t" "$fx"
done
q=$(printf '%s\n' "${quiet[@]}" | median)
l=$(printf '%s\n' "${loaded[@]}" | median)
qf=$(printf '%s\n' "${quiet_fx[@]}" | median)
lf=$(printf '%s\n' "${loaded_fx[@]}" | median)
printf 'median of %d: quiet %.2f s (fixture %.2f s), loaded %.2f s (fixture %.2f s): %.2fx\n' \
    "$runs" "$q" "$qf" "$l" "$lf" "$(echo "$l / $q" | bc -l)"
