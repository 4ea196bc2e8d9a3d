#!/usr/bin/env bash
# Benchmark: envtest up / down of MySQL + two small HTTP services (the Seoul environment's mysql,
# mock-llm and mock-vector, no fixtures) against the same work done by docker CLI scripts
# (parallel `docker run` + polling), two of them for `up`: one runs the health checks itself with
# `docker exec` every 0.1 s (envtest's own strategy, written in shell), one polls the health the
# engine reports, as `docker compose up --wait` does. Prints medians, ratios and envtest's peak RSS. Usage: ci/bench/up_down.sh [RUNS] (default 5). Needs a built tree (build/) and dockerd.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-5}"
build="${ENVTEST_BUILD_DIR:-$PWD/build}"
envtest="$build/cmd/envtest"
export ENVTEST_BUILD_DIR="$build"
export ENVTEST_MYSQL_IMAGE="${ENVTEST_MYSQL_IMAGE:-envtest/mysql-offline:10.11}"
project=envtest-bench
cli_project=envtest-bench-cli

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# The images envtest builds are reused by the CLI script (same bits, same engine).
"$envtest" -p "$project" up --no-fixtures mysql mock-llm mock-vector >/dev/null 2>&1
llm_image=$(docker inspect -f '{{.Config.Image}}' "$project-mock-llm-1")
vector_image=$(docker inspect -f '{{.Config.Image}}' "$project-mock-vector-1")
"$envtest" -p "$project" down -v >/dev/null 2>&1

# cli_up, cli_up_engine_health, cli_down
# shellcheck source=ci/bench/docker_cli_up.sh
source ci/bench/docker_cli_up.sh

declare -a e_up e_down c_up c_down h_up rss
for i in $(seq "$runs"); do
    t0=$(now)
    /usr/bin/time -f %M -o /tmp/envtest-bench-rss "$envtest" -q -p "$project" up --no-fixtures mysql mock-llm mock-vector
    t1=$(now)
    rss+=("$(cat /tmp/envtest-bench-rss)")
    "$envtest" -q -p "$project" down -v
    t2=$(now)
    e_up+=("$(echo "$t1 - $t0" | bc)")
    e_down+=("$(echo "$t2 - $t1" | bc)")

    t0=$(now)
    cli_up
    t1=$(now)
    cli_down
    t2=$(now)
    c_up+=("$(echo "$t1 - $t0" | bc)")
    c_down+=("$(echo "$t2 - $t1" | bc)")

    t0=$(now)
    cli_up_engine_health
    t1=$(now)
    cli_down
    h_up+=("$(echo "$t1 - $t0" | bc)")
    echo "run $i: envtest up ${e_up[-1]}s down ${e_down[-1]}s | CLI, exec polling: up ${c_up[-1]}s down ${c_down[-1]}s | CLI, engine health: up ${h_up[-1]}s | envtest RSS ${rss[-1]} KB"
done

m_eu=$(printf '%s\n' "${e_up[@]}" | median)
m_ed=$(printf '%s\n' "${e_down[@]}" | median)
m_cu=$(printf '%s\n' "${c_up[@]}" | median)
m_cd=$(printf '%s\n' "${c_down[@]}" | median)
m_hu=$(printf '%s\n' "${h_up[@]}" | median)
m_rss=$(printf '%s\n' "${rss[@]}" | median)
echo
echo "median over $runs runs (MySQL + mock-llm + mock-vector, to all healthy):"
printf '  up:   envtest %.2f s; CLI, exec polling %.2f s: ratio %.2f; CLI, engine health %.2f s: ratio %.2f (target <= 0.8)\n' \
    "$m_eu" "$m_cu" "$(echo "$m_eu / $m_cu" | bc -l)" "$m_hu" "$(echo "$m_eu / $m_hu" | bc -l)"
printf '  down: envtest %.2f s, docker rm -f + network rm %.2f s, ratio %.2f (target <= 0.8)\n' "$m_ed" "$m_cd" "$(echo "$m_ed / $m_cd" | bc -l)"
printf '  envtest peak RSS during up: %.1f MB (target <= 10 MB)\n' "$(echo "$m_rss / 1024" | bc -l)"
