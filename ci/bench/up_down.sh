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
"$envtest" -p "$project" up --no-fixtures >/dev/null 2>&1
llm_image=$(docker inspect -f '{{.Config.Image}}' "$project-mock-llm-1")
vector_image=$(docker inspect -f '{{.Config.Image}}' "$project-mock-vector-1")
"$envtest" -p "$project" down -v >/dev/null 2>&1

# The health checks run by the script itself, every 0.1 s, as envtest runs them.
cli_up() {
    docker network create "${cli_project}_default" >/dev/null
    docker run -d --name "$cli_project-mysql-1" --network "${cli_project}_default" \
        --network-alias mysql -p 127.0.0.1::3306 --tmpfs /var/lib/mysql \
        -e MYSQL_DATABASE=seoul -e MYSQL_USER=seoul -e MYSQL_PASSWORD=benchpw \
        -e MYSQL_ROOT_PASSWORD=benchroot "$ENVTEST_MYSQL_IMAGE" \
        --local-infile=1 --character-set-server=utf8mb4 >/dev/null &
    docker run -d --name "$cli_project-mock-llm-1" --network "${cli_project}_default" \
        --network-alias mock-llm -p 127.0.0.1::8080 "$llm_image" --port 8080 >/dev/null &
    docker run -d --name "$cli_project-mock-vector-1" --network "${cli_project}_default" \
        --network-alias mock-vector -p 127.0.0.1::6333 "$vector_image" --port 6333 >/dev/null &
    wait
    until docker exec "$cli_project-mock-llm-1" /mock-llm --healthcheck >/dev/null 2>&1; do sleep 0.1; done
    until docker exec "$cli_project-mock-vector-1" /mock-vector --healthcheck >/dev/null 2>&1; do sleep 0.1; done
    until docker exec "$cli_project-mysql-1" sh -c \
        'mysqladmin ping -h127.0.0.1 --protocol=tcp -uroot -pbenchroot --silent' >/dev/null 2>&1; do
        sleep 0.1
    done
}

# The same containers, health left to the engine as `docker compose up --wait` does: the Compose
# file's healthcheck for MySQL (--health-*), the mock images' own HEALTHCHECK, and `docker inspect`
# polled every 0.1 s until all three report healthy.
cli_up_engine_health() {
    docker network create "${cli_project}_default" >/dev/null
    docker run -d --name "$cli_project-mysql-1" --network "${cli_project}_default" \
        --network-alias mysql -p 127.0.0.1::3306 --tmpfs /var/lib/mysql \
        -e MYSQL_DATABASE=seoul -e MYSQL_USER=seoul -e MYSQL_PASSWORD=benchpw \
        -e MYSQL_ROOT_PASSWORD=benchroot \
        --health-cmd 'mysqladmin ping -h127.0.0.1 --protocol=tcp -uroot -p"$MYSQL_ROOT_PASSWORD" --silent' \
        --health-interval 2s --health-timeout 5s --health-retries 60 --health-start-period 5s \
        "$ENVTEST_MYSQL_IMAGE" --local-infile=1 --character-set-server=utf8mb4 >/dev/null &
    docker run -d --name "$cli_project-mock-llm-1" --network "${cli_project}_default" \
        --network-alias mock-llm -p 127.0.0.1::8080 "$llm_image" --port 8080 >/dev/null &
    docker run -d --name "$cli_project-mock-vector-1" --network "${cli_project}_default" \
        --network-alias mock-vector -p 127.0.0.1::6333 "$vector_image" --port 6333 >/dev/null &
    wait
    until [ "$(docker inspect -f '{{.State.Health.Status}}' "$cli_project-mysql-1" \
        "$cli_project-mock-llm-1" "$cli_project-mock-vector-1" | sort -u)" = healthy ]; do
        sleep 0.1
    done
}

cli_down() {
    docker rm -f "$cli_project-mysql-1" "$cli_project-mock-llm-1" "$cli_project-mock-vector-1" >/dev/null
    docker network rm "${cli_project}_default" >/dev/null
}

declare -a e_up e_down c_up c_down h_up rss
for i in $(seq "$runs"); do
    t0=$(now)
    /usr/bin/time -f %M -o /tmp/envtest-bench-rss "$envtest" -q -p "$project" up --no-fixtures
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
