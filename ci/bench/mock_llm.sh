#!/bin/sh
# mock-llm throughput: non-streaming chat completions per second over keep-alive connections on
# loopback, measured with wrk (POST via a Lua script), median of RUNS runs.
# usage: ci/bench/mock_llm.sh [BUILD_DIR]   env: RUNS=5 DURATION=5s CONNECTIONS=32 THREADS=2
# Prints one line per run and "median: N completions/s", then the median SIGTERM-to-exit time over
# STOP_RUNS=10 starts (sigterm_median.sh). Needs wrk (apt-get install wrk).
set -eu
. "$(dirname "$0")/sigterm_median.sh"
build=${1:-${ENVTEST_BUILD_DIR:-build}}
bin=$build/compose/mock-llm/context/mock-llm
runs=${RUNS:-5}
duration=${DURATION:-5s}
conns=${CONNECTIONS:-32}
threads=${THREADS:-2}
[ -x "$bin" ] || { echo "no $bin: build the mock-llm target first" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 2; }

work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

cat >"$work/cassette.json" <<'JSON'
{"rules": [{"name": "bench", "match": {"user": {"contains": "benchmark"}},
            "reply": "Seoul's startup support policy funds early-stage companies with office space and grants."}]}
JSON
cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful analyst."},{"role":"user","content":"benchmark: what is the startup support policy?"}]}'
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %d %d %d\n", summary.requests / (summary.duration / 1e6),
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout, latency:percentile(99), summary.requests))
end
LUA

# The mock logs one line per request (as in the images); the log goes to a file.
"$bin" --host 127.0.0.1 --port 0 --port-file "$work/port" --cassette "$work/cassette.json" \
  >"$work/mock.log" 2>&1 &
pid=$!
i=0
while [ ! -s "$work/port" ] && [ $i -lt 200 ]; do sleep 0.02; i=$((i + 1)); done
port=$(cat "$work/port")
url="http://127.0.0.1:$port/v1/chat/completions"

wrk -t1 -c4 -d1s -s "$work/post.lua" "$url" >/dev/null # warm-up
: >"$work/results"
# CPU time of the mock (utime + stime, clock ticks) from /proc: per-completion cost that does not
# depend on how busy the machine is.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
for r in $(seq 1 "$runs"); do
  t0=$(cpu_ticks)
  line=$(wrk -t"$threads" -c"$conns" -d"$duration" -s "$work/post.lua" "$url" | grep '^RESULT')
  t1=$(cpu_ticks)
  set -- $line
  cpu_us=$(awk -v t="$((t1 - t0))" -v hz="$hz" -v n="$5" 'BEGIN {printf "%.1f", t * 1e6 / hz / n}')
  echo "run $r: $2 completions/s, $3 errors, p99 $(($4 / 1000)).$(($4 % 1000 / 100)) ms, mock CPU $cpu_us us/completion"
  [ "$3" = 0 ] || { echo "errors during the run" >&2; exit 1; }
  echo "$2" >>"$work/results"
done
median=$(sort -n "$work/results" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "median: $median completions/s ($runs runs of $duration, $conns keep-alive connections, $threads wrk threads, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))"
sigterm_median "$bin" "${STOP_RUNS:-10}" "$work"
