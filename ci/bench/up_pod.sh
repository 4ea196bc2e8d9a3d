#!/usr/bin/env bash
# Benchmark (issue 16, a faster cold up): `envtest up` of MySQL + two small HTTP services
# (ci/bench/up3.yaml: mysql, mock-llm, mock-vector; no fixtures) to all healthy, three ways in
# turn in each run: pod mode (`up --pod`: one network namespace held by a pause container), the
# current path (one network endpoint per container), and the docker CLI script of up_down.sh
# (parallel `docker run`, health polled with `docker exec` every 0.1 s; docker_cli_up.sh). Each
# `up` is timed alone; its `down` is not. Prints every run, the medians side by side and the ratios
# to the CLI script (issue 16 asks pod <= 0.6x).
#
# Usage: ci/bench/up_pod.sh [RUNS]           (default 9)
#        ci/bench/up_pod.sh --cycle MODE     one up + down of MODE (pod, current or cli), for a
#                                            whole-process timer that runs two commands in turn
#                                            (cli: set ENVTEST_BENCH_LLM_IMAGE/_VECTOR_IMAGE)
# Needs a built tree (build/ or $ENVTEST_BUILD_DIR) and dockerd. ENVTEST_BENCH_PROJECT names the
# projects (default envtest-bench-pod: <name>, <name>-cur, <name>-cli).
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${ENVTEST_BUILD_DIR:-$PWD/build}"
envtest="$build/cmd/envtest"
export ENVTEST_BUILD_DIR="$build"
export ENVTEST_MYSQL_IMAGE="${ENVTEST_MYSQL_IMAGE:-envtest/mysql-offline:10.11}"
file=ci/bench/up3.yaml
project="${ENVTEST_BENCH_PROJECT:-envtest-bench-pod}"
cur_project="$project-cur"
cli_project="$project-cli"
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }

# The images envtest builds are reused by the CLI script (same bits, same engine);
# ENVTEST_BENCH_LLM_IMAGE and ENVTEST_BENCH_VECTOR_IMAGE name them without an up first.
images() {
    llm_image="${ENVTEST_BENCH_LLM_IMAGE:-}" vector_image="${ENVTEST_BENCH_VECTOR_IMAGE:-}"
    [ -n "$llm_image" ] && [ -n "$vector_image" ] && return 0
    "$envtest" -q -f "$file" -p "$cur_project" up >/dev/null
    llm_image=$(docker inspect -f '{{.Config.Image}}' "$cur_project-mock-llm-1")
    vector_image=$(docker inspect -f '{{.Config.Image}}' "$cur_project-mock-vector-1")
    "$envtest" -q -f "$file" -p "$cur_project" down -v >/dev/null
}
# shellcheck source=ci/bench/docker_cli_up.sh
source ci/bench/docker_cli_up.sh

up_pod() { "$envtest" -q -f "$file" -p "$project" up --pod; }
down_pod() { "$envtest" -q -f "$file" -p "$project" down -v; }
up_current() { "$envtest" -q -f "$file" -p "$cur_project" up; }
down_current() { "$envtest" -q -f "$file" -p "$cur_project" down -v; }
up_cli() { cli_up; }
down_cli() { cli_down; }

cleanup() {
    "$envtest" -q -f "$file" -p "$project" down -v >/dev/null 2>&1 || true
    "$envtest" -q -f "$file" -p "$cur_project" down -v >/dev/null 2>&1 || true
    docker rm -f "$cli_project-mysql-1" "$cli_project-mock-llm-1" "$cli_project-mock-vector-1" \
        >/dev/null 2>&1 || true
    docker network rm "${cli_project}_default" >/dev/null 2>&1 || true
}

if [ "${1:-}" = --cycle ]; then
    mode="${2:?--cycle needs pod, current or cli}"
    case "$mode" in pod | current | cli) ;; *) echo "up_pod.sh: unknown mode '$mode'" >&2 && exit 2 ;; esac
    [ "$mode" = cli ] && images
    "up_$mode"
    "down_$mode"
    exit 0
fi

runs="${1:-9}"
trap cleanup EXIT
cleanup
images
up_pod >/dev/null && down_pod >/dev/null # the pause image built once, outside the figures

declare -a t_pod t_cur t_cli
for i in $(seq "$runs"); do
    for mode in pod current cli; do
        t0=$(now)
        "up_$mode"
        t1=$(now)
        "down_$mode"
        case "$mode" in
        pod) t_pod+=("$(echo "$t1 - $t0" | bc)") ;;
        current) t_cur+=("$(echo "$t1 - $t0" | bc)") ;;
        cli) t_cli+=("$(echo "$t1 - $t0" | bc)") ;;
        esac
    done
    printf 'run %d: up --pod %.2f s | up %.2f s | docker CLI script %.2f s\n' "$i" \
        "${t_pod[-1]}" "${t_cur[-1]}" "${t_cli[-1]}"
done
m_pod=$(printf '%s\n' "${t_pod[@]}" | median)
m_cur=$(printf '%s\n' "${t_cur[@]}" | median)
m_cli=$(printf '%s\n' "${t_cli[@]}" | median)
echo
echo "median of $runs runs, cold up to all healthy (MySQL + mock-llm + mock-vector):"
printf '  envtest up --pod     %.2f s  %.2fx the CLI script (target <= 0.6)\n' "$m_pod" \
    "$(echo "$m_pod / $m_cli" | bc -l)"
printf '  envtest up           %.2f s  %.2fx the CLI script\n' "$m_cur" "$(echo "$m_cur / $m_cli" | bc -l)"
printf '  docker CLI script    %.2f s\n' "$m_cli"
printf '  pod / current        %.2fx\n' "$(echo "$m_pod / $m_cur" | bc -l)"
