#!/usr/bin/env bash
# Benchmark of sca-api's POST /api/v1/analysis/sql against a running environment: cached (the same
# question, answered from the in-process cache) and uncached (cache_ttl_s 0: LLM + guard + MySQL
# each time), requests/s and p50/p99 with wrk over keep-alive connections.
#
#   ENVTEST_BUILD_DIR=$PWD/build build/cmd/envtest -p NAME up
#   ENVTEST_PROJECT=NAME ci/bench/sca_api.sh [SECONDS (default 10)] [CONNECTIONS (default 16)]
#
# SCA_API_URL, SCA_READER_KEY and SCA_ADMIN_KEY are taken from the environment, else from the
# project's sca-api container (docker inspect; the keys are never printed).
set -euo pipefail
secs="${1:-10}" conns="${2:-16}"
project="${ENVTEST_PROJECT:-seoul}"
container="${project}-sca-api-1"
command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk (ci/setup.sh)" >&2; exit 2; }
if [ -z "${SCA_API_URL:-}" ]; then
    port="$(docker port "$container" 8000/tcp | head -n 1 | sed 's/.*://')"
    SCA_API_URL="http://127.0.0.1:$port"
fi
if [ -z "${SCA_READER_KEY:-}" ] || [ -z "${SCA_ADMIN_KEY:-}" ]; then
    envs="$(docker inspect "$container" --format '{{range .Config.Env}}{{println .}}{{end}}')"
    SCA_READER_KEY="$(sed -n 's/^SCA_READER_KEY=//p' <<<"$envs")"
    SCA_ADMIN_KEY="$(sed -n 's/^SCA_ADMIN_KEY=//p' <<<"$envs")"
fi
export SCA_READER_KEY
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"question":"강남구에서 매출이 가장 높은 업종은 무엇인가요?"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("SCA_READER_KEY")
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f req/s p50 %.2f ms p99 %.2f ms errors %d non2xx %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, summary.errors.status))
end
LUA
settings() {
    curl -sf -X PUT -H "Authorization: Bearer $SCA_ADMIN_KEY" -d "$1" "$SCA_API_URL/api/v1/settings" >/dev/null
}
run() {
    wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$tmp/post.lua" "$SCA_API_URL/api/v1/analysis/sql" |
        sed -n "s/^RESULT /$1: /p"
}
settings '{"cache_ttl_s":300}'
curl -sf -H "Authorization: Bearer $SCA_READER_KEY" -d '{"question":"강남구에서 매출이 가장 높은 업종은 무엇인가요?"}' \
    "$SCA_API_URL/api/v1/analysis/sql" >/dev/null # warm the cache
run "cached  "
settings '{"cache_ttl_s":0}'
run "uncached"
settings '{"cache_ttl_s":300}'
