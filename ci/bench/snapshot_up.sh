#!/usr/bin/env bash
# Benchmark (issue 16): `envtest up` of the Seoul environment (MySQL + mock-llm + mock-vector +
# sca-api) with the 1,000,000-row fixture restored from a state snapshot, against `up` of the
# same environment empty (--no-fixtures), alternating in the same run, RUNS of each; each up is
# followed by `down -v` (not timed). Before the figures, one up loads the fixture and saves the
# snapshot (its load and save times are printed). Prints each run, the medians and the ratio
# (issue 16 asks <= 1.1). Also checks that every snapshot up said "state from snapshot" and that its
# seoul_sales holds the 1,000,000 rows.
# Usage: ci/bench/snapshot_up.sh [RUNS] (default 5). Needs a built tree ($ENVTEST_BUILD_DIR, default
# build/, with the seoul-bench fixture: cmake --build build --target seoul-bench), dockerd and the
# mariadb client. Snapshots go to a temporary $ENVTEST_SNAPSHOT_DIR, removed at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-5}"
build="${ENVTEST_BUILD_DIR:-$PWD/build}"
envtest="$build/cmd/envtest"
archive="$build/fixtures/seoul-bench.tar.gz"
export ENVTEST_BUILD_DIR="$build"
export ENVTEST_MYSQL_IMAGE="${ENVTEST_MYSQL_IMAGE:-envtest/mysql-offline:10.11}"
project="${ENVTEST_BENCH_PROJECT:-envtest-bench-snap}"
[ -x "$envtest" ] || { echo "error: $envtest not built" >&2; exit 1; }
[ -f "$archive" ] || { echo "error: $archive missing (cmake --build $build --target seoul-bench)" >&2; exit 1; }
command -v mariadb >/dev/null || { echo "error: the mariadb client is needed (apt-get install mariadb-client)" >&2; exit 1; }

# The data folder as the build's, with the 1,000,000-row archive where compose.yaml looks for the
# fixture (${ENVTEST_DATA_DIR}/fixtures/seoul-small.tar.gz).
work="$(mktemp -d /tmp/envtest-bench-snapshot.XXXXXX)"
trap '"$envtest" -q -p "$project" down -v >/dev/null 2>&1; rm -rf "$work"' EXIT
mkdir -p "$work/data/fixtures" "$work/snapshots"
for entry in "$build"/*; do
    [ "$(basename "$entry")" = fixtures ] || ln -s "$entry" "$work/data/"
done
ln -s "$archive" "$work/data/fixtures/seoul-small.tar.gz"
export ENVTEST_DATA_DIR="$work/data" ENVTEST_SNAPSHOT_DIR="$work/snapshots"

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
rows() {
    local vars
    vars="$("$envtest" -p "$project" env)"
    eval "$vars"
    mariadb -h127.0.0.1 -P"$ENVTEST_MYSQL_PORT" -u"$ENVTEST_MYSQL_USER" -p"$ENVTEST_MYSQL_PASSWORD" \
        "$ENVTEST_MYSQL_DATABASE" -N -e 'SELECT COUNT(*) FROM seoul_sales'
}
one_up() { # one_up LOG [up options]: prints the seconds of `up`
    local log="$1" t0 t1
    shift
    t0=$(date +%s.%N)
    "$envtest" -p "$project" up "$@" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
}

"$envtest" -q -p "$project" down -v >/dev/null 2>&1 || true
t=$(one_up "$work/first.log")
loaded=$(sed -n 's/.*fixture [a-z]*: loaded (\([0-9.]*\)s).*/\1/p' "$work/first.log" | tail -1)
saved=$(sed -n 's/.*mysql: loaded (\([0-9.]*\)s) snapshot \([0-9a-f]*\) saved (\(.*\))/\1 s, key \2, \3/p' "$work/first.log")
[ -n "$saved" ] || { echo "error: the first up saved no snapshot:" >&2; cat "$work/first.log" >&2; exit 1; }
printf 'first up (loads and saves): %.2f s (fixture %s s, snapshot saved in %s)\n' "$t" "${loaded:-?}" "$saved"
"$envtest" -q -p "$project" down -v >/dev/null 2>&1

empty=() snap=()
for ((i = 1; i <= runs; i++)); do
    t=$(one_up "$work/empty.log" --no-fixtures)
    "$envtest" -q -p "$project" down -v >/dev/null 2>&1
    empty+=("$t")
    t=$(one_up "$work/snap.log")
    grep -q 'state from snapshot' "$work/snap.log" ||
        { echo "error: up $i did not restore the snapshot:" >&2; cat "$work/snap.log" >&2; exit 1; }
    n=$(rows)
    [ "$n" = 1000000 ] || { echo "error: the restored seoul_sales holds $n rows" >&2; exit 1; }
    "$envtest" -q -p "$project" down -v >/dev/null 2>&1
    snap+=("$t")
    printf 'run %d: empty up %.2f s, up from snapshot %.2f s (%s rows)\n' "$i" "${empty[-1]}" "$t" "$n"
done
e=$(printf '%s\n' "${empty[@]}" | median)
s=$(printf '%s\n' "${snap[@]}" | median)
printf 'median of %d: empty up %.2f s, up from snapshot (1,000,000 rows) %.2f s: %.2fx\n' \
    "$runs" "$e" "$s" "$(echo "$s / $e" | bc -l)"
