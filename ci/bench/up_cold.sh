#!/usr/bin/env bash
# Benchmark (issue 16, a faster cold up): a cold `up` of MySQL + two small HTTP services
# (ci/bench/up3.yaml: mysql, mock-llm, mock-vector; no fixtures) to all healthy, ten ways in turn
# in each round: the docker CLI scripts of up_down.sh (docker_cli_up.sh: the one that polls the
# health checks itself every 0.1 s as envtest does, and the one that waits for the engine's health
# status as `docker compose up --wait` does), `envtest up --no-snapshot` (MySQL initializes its
# data as the image does), `envtest up` (its data from the init snapshot: the initialized, empty
# data folder saved by an earlier up) and `envtest up --pod` (the same, in pod mode), and five
# floors (docker_cli_up.sh): the network and MySQL alone, and the least that each way of giving the
# three services their network costs (one namespace for all, MySQL owning it or joining a holder
# as in pod mode; two; one per service), each with MySQL polled from the host and nothing else
# waited for: what any tool pays for this environment on this engine that way, printed as ratios
# to the CLI script too. Every container is fresh each time ("cold up"); the snapshot cache is
# warm: before the rounds, a first `up` with an empty snapshot folder saves the init snapshot, and
# its time (the "first ever up") and the save's are printed apart. After each up, outside the
# timing, a `SELECT 1` as the application user through the published port must answer (the
# environment is usable), and the log must say whether the snapshot was restored (it must be for
# up and up --pod, must not be for --no-snapshot). Prints every round, the medians side by side,
# the ratios to the CLI script (issue 16 asks <= 0.6x) and the load average.
#
# Usage: ci/bench/up_cold.sh [RUNS]   (default 9)
# Needs a built tree (build/ or $ENVTEST_BUILD_DIR), dockerd and the mariadb client.
# ENVTEST_BENCH_PROJECT names the projects (default envtest-bench-cold: <name>-cli, -nosnap,
# -init, -pod). Snapshots go to a temporary $ENVTEST_SNAPSHOT_DIR, removed at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-9}"
build="${ENVTEST_BUILD_DIR:-$PWD/build}"
envtest="$build/cmd/envtest"
export ENVTEST_BUILD_DIR="$build"
export ENVTEST_MYSQL_IMAGE="${ENVTEST_MYSQL_IMAGE:-envtest/mysql-offline:10.11}"
file=ci/bench/up3.yaml
project="${ENVTEST_BENCH_PROJECT:-envtest-bench-cold}"
cli_project="$project-cli"
[ -x "$envtest" ] || { echo "error: $envtest not built" >&2; exit 1; }
command -v mariadb >/dev/null || { echo "error: the mariadb client is needed (apt-get install mariadb-client)" >&2; exit 1; }
work="$(mktemp -d /tmp/envtest-bench-cold.XXXXXX)"
# init snapshots are asked for (up and up --pod use one; --no-snapshot does not)
export ENVTEST_SNAPSHOT_DIR="$work/snapshots" ENVTEST_INIT_SNAPSHOT=1
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }

# shellcheck source=ci/bench/docker_cli_up.sh
source ci/bench/docker_cli_up.sh

# mode -> project and options of `envtest up`
opts() {
    case "$1" in
    nosnap) echo "--no-snapshot" ;;
    init) echo "" ;;
    pod) echo "--pod" ;;
    esac
}
env_up() { # env_up MODE LOG
    # shellcheck disable=SC2046
    "$envtest" -f "$file" -p "$project-$1" up $(opts "$1") >"$2" 2>&1 || { cat "$2" >&2; exit 1; }
}
env_down() { "$envtest" -q -f "$file" -p "$project-$1" down -v >/dev/null; }

# SELECT 1 as the application user through the published port.
select1() { # select1 PORT
    [ "$(mariadb -h127.0.0.1 -P"$1" -useoul -pbenchpw seoul -N -B -e 'SELECT 1')" = 1 ]
}
usable() { # usable MODE: the environment answers SELECT 1
    local port
    if [ "$1" = cli ] || [ "$1" = health ] || [[ "$1" == floor* ]]; then
        local c="$cli_project-mysql-1"
        [ "$1" = floor_pod ] && c="$cli_project-holder" # it publishes MySQL's port
        port="$(docker port "$c" 3306/tcp | head -n 1)"
        port="${port##*:}"
    else
        port="$(eval "$("$envtest" -f "$file" -p "$project-$1" env)" && echo "$ENVTEST_MYSQL_PORT")"
    fi
    select1 "$port" || { echo "error: $1: SELECT 1 as seoul on port $port failed" >&2; exit 1; }
}
restored() { # restored MODE LOG: yes/no, and a failure when it is not what the mode wants
    local r=no
    grep -q 'state from snapshot' "$2" && r=yes
    case "$1:$r" in
    nosnap:no | init:yes | pod:yes) echo "$r" ;;
    *) echo "error: $1: snapshot restored: $r" >&2 && cat "$2" >&2 && exit 1 ;;
    esac
}

# MySQL's own start in the container: from the engine's StartedAt to its log's "ready for
# connections" (the entrypoint, the data set-up or unpacking, the server's start), in seconds.
mysql_start() { # mysql_start CONTAINER
    local started ready
    started=$(docker inspect -f '{{.State.StartedAt}}' "$1")
    ready=$(docker logs -t "$1" 2>&1 | grep -m 1 'ready for connections' | cut -d' ' -f1)
    echo "$(date -d "$ready" +%s.%N) - $(date -d "$started" +%s.%N)" | bc
}

# A TCP port nothing listens on (the floor's host port, picked outside its timing).
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 20000))
        ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return; }
    done
}

cleanup() {
    for m in nosnap init pod; do
        "$envtest" -q -f "$file" -p "$project-$m" down -v >/dev/null 2>&1 || true
    done
    docker rm -f "$cli_project-mysql-1" "$cli_project-mock-llm-1" "$cli_project-mock-vector-1" \
        "$cli_project-holder" >/dev/null 2>&1 || true
    docker network rm "${cli_project}_default" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
cleanup
mkdir -p "$work/snapshots"

# The images envtest builds (and the pod's pause image) made once, outside the figures; the CLI
# script runs the same images.
"$envtest" -q -f "$file" -p "$project-pod" up --pod --no-snapshot >/dev/null
# shellcheck disable=SC2034 # llm_image and vector_image are for cli_up
llm_image=$(docker inspect -f '{{.Config.Image}}' "$project-pod-mock-llm-1")
# shellcheck disable=SC2034
vector_image=$(docker inspect -f '{{.Config.Image}}' "$project-pod-mock-vector-1")
env_down pod

# The first ever up: no snapshot yet, it initializes MySQL as the image does and saves one.
t0=$(now)
env_up init "$work/first.log"
t1=$(now)
usable init
saved=$(sed -n 's/.*mysql: loaded (\([0-9.]*\)s) snapshot \([0-9a-f]*\) saved (\(.*\))/\2 (\3), saved in \1 s/p' "$work/first.log")
[ -n "$saved" ] || { echo "error: the first up saved no snapshot:" >&2; cat "$work/first.log" >&2; exit 1; }
env_down init
printf 'first ever up (snapshot folder empty: MySQL initialized by the image, then saved): %.2f s; init snapshot %s\n' \
    "$(echo "$t1 - $t0" | bc)" "$saved"
echo "load average before the rounds: $(cut -d' ' -f1-3 /proc/loadavg)"

declare -A times mysqld
declare -a loads
for i in $(seq "$runs"); do
    line="round $i:"
    for mode in cli health nosnap init pod floor floor_one_ns floor_pod floor_two_ns floor_three_ns; do
        [[ "$mode" == floor* ]] && floor_port=$(free_port)
        t0=$(now)
        case "$mode" in
        cli) cli_up ;;
        health) cli_up_engine_health ;;
        floor*) "${mode}_up" "$floor_port" ;;
        *) env_up "$mode" "$work/$mode.log" ;;
        esac
        t1=$(now)
        t=$(echo "$t1 - $t0" | bc)
        times[$mode]+="$t "
        usable "$mode"
        c="$project-$mode-mysql-1"
        case "$mode" in cli | health | floor*) c="$cli_project-mysql-1" ;; esac
        mysqld[$mode]+="$(mysql_start "$c") "
        r=""
        case "$mode" in
        cli | health) cli_down ;;
        floor*) floor_down ;;
        *) r=", snapshot restored: $(restored "$mode" "$work/$mode.log")" && env_down "$mode" ;;
        esac
        line+=$(printf ' %s %.2f s%s |' "$mode" "$t" "$r")
    done
    loads+=("$(cut -d' ' -f1 /proc/loadavg)")
    echo "${line%|} (SELECT 1 answered in each; load $(cut -d' ' -f1 /proc/loadavg))"
done
# shellcheck disable=SC2086 # the times are words
med() { printf '%s\n' ${times[$1]} | median; }
# shellcheck disable=SC2086
med_mysqld() { printf '%s\n' ${mysqld[$1]} | median; }
m_cli=$(med cli) m_health=$(med health) m_nosnap=$(med nosnap) m_init=$(med init) m_pod=$(med pod)
m_floor=$(med floor) m_one=$(med floor_one_ns) m_podf=$(med floor_pod) m_two=$(med floor_two_ns) m_three=$(med floor_three_ns)
ratio() { echo "$1 / $m_cli" | bc -l; }
echo
echo "median of $runs rounds, cold up to all healthy (fresh containers; MySQL + mock-llm + mock-vector):"
printf '  docker CLI script (exec polling)        %.2f s\n' "$m_cli"
printf '  docker CLI script (engine health)       %.2f s  (pod mode: %.2fx it, target <= 0.6)\n' \
    "$m_health" "$(echo "$m_pod / $m_health" | bc -l)"
printf '  envtest up --no-snapshot                %.2f s  %.2fx the CLI script\n' "$m_nosnap" "$(ratio "$m_nosnap")"
printf '  envtest up (init snapshot cached)       %.2f s  %.2fx the CLI script\n' "$m_init" "$(ratio "$m_init")"
printf '  envtest up --pod (init snapshot cached) %.2f s  %.2fx the CLI script (target <= 0.6)\n' "$m_pod" "$(ratio "$m_pod")"
printf '  floor: network + MySQL alone (host poll)  %.2f s  %.2fx the CLI script (no tool does better here)\n' "$m_floor" "$(ratio "$m_floor")"
printf '  floor, one namespace (MySQL owns it, publishes the 3 ports)  %.2f s  %.2fx\n' "$m_one" "$(ratio "$m_one")"
printf '  floor, one namespace as pod mode (holder; MySQL joins it)   %.2f s  %.2fx\n' "$m_podf" "$(ratio "$m_podf")"
printf '  floor, two namespaces (MySQL; a holder with 2 ports)        %.2f s  %.2fx\n' "$m_two" "$(ratio "$m_two")"
printf '  floor, a namespace per service (3 endpoints, 3 ports)      %.2f s  %.2fx\n' "$m_three" "$(ratio "$m_three")"
printf '  init snapshot vs --no-snapshot          %.2fx\n' "$(echo "$m_init / $m_nosnap" | bc -l)"
printf '  MySQL container start to "ready for connections" (medians): CLI script %.2f s, --no-snapshot %.2f s, init snapshot %.2f s, --pod %.2f s\n' \
    "$(med_mysqld cli)" "$(med_mysqld nosnap)" "$(med_mysqld init)" "$(med_mysqld pod)"
printf '  the floors'"'"' MySQL, container start to "ready for connections": %.2f s, %.2f s, %.2f s, %.2f s, %.2f s\n' \
    "$(med_mysqld floor)" "$(med_mysqld floor_one_ns)" "$(med_mysqld floor_pod)" "$(med_mysqld floor_two_ns)" "$(med_mysqld floor_three_ns)"
echo "  load average (1 min) after each round: ${loads[*]}"
