#!/bin/sh
# Benchmark of mock-vector (issue 3 targets: search 100,000 x 384 in <= 20 ms per query, upsert
# them in <= 3 s, memory <= 1.2 x the raw vector bytes). Builds the release binary and the bench
# program in build-bench/, starts mock-vector on loopback, prints the figures (medians of the
# search latencies; upsert total over keep-alive in batches of 1000 points), then the median
# SIGTERM-to-exit time over STOP_RUNS=10 starts (sigterm_median.sh; target < 100 ms).
# usage: ci/bench/mock_vector.sh [points] [dim] [batch] [queries]
set -eu
. "$(dirname "$0")/sigterm_median.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build-bench}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DENVTEST_SANITIZE=OFF >/dev/null
make -C "$build" -j"$(nproc)" mock-vector bench_mock_vector >/dev/null
bin=$build/compose/mock-vector/context/mock-vector
tmp=$(mktemp -d)
"$bin" --host 127.0.0.1 --port 0 --port-file "$tmp/port" --quiet --journal-max "${JOURNAL_MAX:-1}" >"$tmp/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
while [ ! -s "$tmp/port" ]; do
    kill -0 $pid 2>/dev/null || { cat "$tmp/log"; echo "mock-vector did not start" >&2; exit 1; }
    sleep 0.05
done
"$build/ci/bench/bench_mock_vector" "http://127.0.0.1:$(cat "$tmp/port")" "$pid" "$@"
sigterm_median "$bin" "${STOP_RUNS:-10}" "$tmp"
