#!/usr/bin/env bash
# shellcheck disable=SC2016 # the scripts in single quotes run in the box, where $ET is set
# docker test: envtest run inside a container of the engine it drives (a devcontainer, a CI job's
# `container:` with the engine's socket mounted; envmgr_reach_prepare in <envmgr/lifecycle.h>):
#   - in a network namespace of its own (the default bridge network), where the engine host's
#     127.0.0.1 and so the services' published ports are out of reach: `up` joins the container to
#     the project's network and hands out the services' addresses there (`envtest env`), which
#     answer from the container (MySQL as the app user, mock-llm's HTTP); pod mode too; `down`
#     takes the container off the network and leaves nothing; `run` (bringing the environment up
#     for itself) passes a command that connects by those variables; envtest killed (-9) during
#     `up`: its reaper container, in the container's network namespace, removes everything and
#     takes the container off the network. Before, such an up came up healthy by the healthchecks
#     (exec'd in the services' containers) while every address it handed out, 127.0.0.1:PORT,
#     answered nothing in the container.
#   - in the host's network namespace (--network host): as on the host, at the published ports,
#     without joining; and the premise: a published port answers from a container in the host's
#     namespace, not from one with its own.
# The container runs the MySQL image (Debian's userland) with the host's /usr mounted read-only
# over its own (envtest's libraries, the mariadb client, curl), the build tree and a work folder at
# the same paths, and the engine's socket (and the sanitizers' options, for the ASan/UBSan build).
# Exit codes come from the engine or from the output, not from `docker exec` (against Podman 4.3,
# `docker run` exits 0 whatever the container did). TAP. Skips (77) without an engine or the MySQL
# image unless ENVTEST_REQUIRE_DOCKER=1. Project: $ENVTEST_TEST_PROJECT (default
# envtest-test-incont-<pid>).
set -u
src="${ENVTEST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
# shellcheck source=ci/lib.sh
source "$src/ci/lib.sh"
# shellcheck source=tests/tap_lib.sh
source "$src/tests/tap_lib.sh"
bin="$(cd "${ENVTEST_BINARY_DIR:-$src/build}" && pwd)"
export ENVTEST_BUILD_DIR="$bin"
envtest="$bin/cmd/envtest"
project="${ENVTEST_TEST_PROJECT:-envtest-test-incont-$$}"
tmp=$(mktemp -d /tmp/envtest-incont-XXXXXX)
file="$tmp/compose.yaml"
box="$project-devbox"
et() { "$envtest" -f "$file" -p "$project" "$@"; }
cleanup() {
    docker rm -f "$box-bridge" "$box-host" >/dev/null 2>&1
    et down -v >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tap_need_envtest_engine "$envtest" "$bin"
tap_mysql_image

cat >"$file" <<YAML
services:
  mysql:
    image: $ENVTEST_MYSQL_IMAGE
    environment:
      MYSQL_DATABASE: shop
      MYSQL_USER: app
      MYSQL_PASSWORD: app-pw
      MYSQL_ROOT_PASSWORD: root-pw
    ports: ["3306"]
    tmpfs: [/var/lib/mysql]
  mock-llm:
    image: envtest/mock-llm
    command: ["--port", "8080"]
    ports: ["8080"]
    healthcheck:
      test: ["CMD", "/mock-llm", "--healthcheck"]
      interval: 2s
      retries: 10
YAML

# box NETWORK_MODE: a long-lived container on that network, envtest's "devcontainer".
box() {
    docker run -d --name "$box-$1" --network "$1" --user 0 --entrypoint sleep -w "$tmp" \
        -v /usr:/usr:ro -v "$bin:$bin:ro" -v "$tmp:$tmp" \
        -v "$ENVTEST_DOCKER_SOCK:/var/run/docker.sock" \
        -e DOCKER_HOST=unix:///var/run/docker.sock -e "ENVTEST_BUILD_DIR=$bin" \
        -e ASAN_OPTIONS -e UBSAN_OPTIONS -e ENVTEST_REAPER_GRACE=1 \
        "$ENVTEST_MYSQL_IMAGE" infinity >/dev/null
}
# inbox NETWORK_MODE NAME SCRIPT: runs the bash script in that container (envtest is "$ET"); its
# output in $tmp/NAME.log (shown as comments), its exit code in $code (from its last line).
inbox() {
    docker exec -e "ET=$envtest -f $file -p $project" "$box-$1" bash -c "$3"'
echo "exit=$?"' >"$tmp/$2.log" 2>&1
    code=$(sed -n 's/^exit=//p' "$tmp/$2.log" | tail -n 1)
    sed 's/^/# /' "$tmp/$2.log"
}
# on_network CONTAINER: the project networks it is on (names)
on_network() {
    docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$1" |
        tr ' ' '\n' | grep -c "^${project}_" || true # a count of 0 is an answer, not a failure
}
# what the services answer, from the box, by the variables `envtest env` gave there
ANSWERS='eval "$($ET env)" || exit 9
echo "mysql at $ENVTEST_MYSQL_HOST:$ENVTEST_MYSQL_PORT"
echo "select=$(mariadb -h"$ENVTEST_MYSQL_HOST" -P"$ENVTEST_MYSQL_PORT" -u"$ENVTEST_MYSQL_USER" \
    -p"$ENVTEST_MYSQL_PASSWORD" "$ENVTEST_MYSQL_DATABASE" -N -B -e "SELECT 6*7")"
echo "llm=$(curl -fsS -o /dev/null -w "%{http_code}" \
    "http://$ENVTEST_MOCK_LLM_HOST:$ENVTEST_MOCK_LLM_PORT/v1/models")"'

# ---- a network namespace of its own: envtest joins the project's network ----
box bridge
inbox bridge up-bridge '$ET up --wait-timeout 60'
check_eq "own network namespace: up exits 0" 0 "$code"
check_eq "the box joined the project's network" 1 "$(on_network "$box-bridge")"
inbox bridge answers-bridge "$ANSWERS"
mysql_ip=$(docker inspect -f "{{(index .NetworkSettings.Networks \"${project}_default\").IPAddress}}" \
    "$project-mysql-1" 2>&1)
check "envtest env: MySQL at its address on the project network ($mysql_ip:3306)" \
    grep -qx "mysql at $mysql_ip:3306" "$tmp/answers-bridge.log"
check "MySQL answers there as the app user (SELECT 6*7)" grep -qx "select=42" "$tmp/answers-bridge.log"
check "mock-llm answers there (GET /v1/models: 200)" grep -qx "llm=200" "$tmp/answers-bridge.log"
inbox bridge down-bridge '$ET down -v'
check_eq "down exits 0" 0 "$code"
check "nothing of the project left" tap_nothing_left "$project"
check_eq "the box is off the project's network" 0 "$(on_network "$box-bridge")"

inbox bridge pod-bridge '$ET up --pod --wait-timeout 60 && '"$ANSWERS"' && $ET down -v'
check_eq "pod mode: up, the answers, down" 0 "$code"
check "pod mode: MySQL answers as the app user" grep -qx "select=42" "$tmp/pod-bridge.log"
check "pod mode: nothing left" tap_nothing_left "$project"

# run brings the environment up for itself: its command connects by the variables it was given
inbox bridge run-bridge '$ET run --report-dir '"$tmp"'/report -- bash -c '"'"'test "$(mariadb \
    -h"$ENVTEST_MYSQL_HOST" -P"$ENVTEST_MYSQL_PORT" -u"$ENVTEST_MYSQL_USER" \
    -p"$ENVTEST_MYSQL_PASSWORD" "$ENVTEST_MYSQL_DATABASE" -N -B -e "SELECT 1")" = 1'"'"
check_eq "run: its command reached MySQL (exit 0)" 0 "$code"
check "run: the report says passed" grep -q '"status": *"passed"' "$tmp/report/report.json"
check "run: nothing left" tap_nothing_left "$project"

# envtest killed during up: the reaper container, in the box's network namespace, reaps it all.
# The up waits on a healthcheck that never passes, so that the kill lands in it.
cat >"$tmp/stuck.yaml" <<'YAML'
services:
  mock-llm:
    image: envtest/mock-llm
    command: ["--port", "8080"]
    ports: ["8080"]
    healthcheck:
      test: ["CMD", "/mock-llm", "--no-such-option"]
      interval: 1s
      retries: 100
YAML
docker exec -d "$box-bridge" "$envtest" -f "$tmp/stuck.yaml" -p "$project" up --wait-timeout 60
for _ in $(seq 1 100); do
    docker inspect "envtest-reaper-$project" >/dev/null 2>&1 &&
        [ -n "$(docker network ls -q --filter "label=io.envtest.project=$project")" ] && break
    sleep 0.1
done
mode=$(docker inspect -f '{{.HostConfig.NetworkMode}}' "envtest-reaper-$project" 2>&1)
box_id=$(docker inspect -f '{{.Id}}' "$box-bridge")
check_eq "the reaper container shares the box's network namespace" "container:$box_id" "$mode"
# (the pattern's [e] keeps pkill from matching the bash that runs it)
check_eq "envtest is still in its up, and killed" killed \
    "$(docker exec "$box-bridge" bash -c "pkill -KILL -f 'cmd/[e]nvtest -f $tmp/stuck.yaml' && echo killed")"
gone=
for _ in $(seq 1 150); do
    if tap_nothing_left "$project" && ! docker inspect "envtest-reaper-$project" >/dev/null 2>&1; then
        gone=1
        break
    fi
    sleep 0.1
done
check "killed (-9) in up: the reaper removed everything within 15 s" test -n "$gone"
check_eq "and took the box off the network" 0 "$(on_network "$box-bridge")"

# ---- the host's network namespace: the published ports are in reach, no joining ----
box host
inbox host up-host '$ET up --wait-timeout 60'
check_eq "host network namespace: up exits 0" 0 "$code"
check_eq "the box joined no network" 0 "$(on_network "$box-host")"
port=$(docker port "$project-mock-llm-1" 8080/tcp | head -n 1)
port="${port##*:}"
check "mock-llm answers on 127.0.0.1:$port from the host" curl -fsS -o /dev/null "http://127.0.0.1:$port/v1/models"
# why joining is needed: that address answers in the host's namespace, not in a container's own
reach() { # reach NETWORK_MODE: a TCP connect to 127.0.0.1:$port from a container there (told by
    # its output, not its exit code)
    [ "$(docker run --rm --network "$1" --entrypoint bash "$ENVTEST_MYSQL_IMAGE" \
        -c "exec 3<>/dev/tcp/127.0.0.1/$port && echo connected" 2>/dev/null)" = connected ]
}
check "127.0.0.1:$port is reached from a container in the host's namespace" reach host
if reach bridge; then
    tap_not_ok "and not from one with its own (the default bridge network)"
else
    tap_ok "and not from one with its own (the default bridge network)"
fi
inbox host down-host '$ET down -v'
check_eq "down exits 0" 0 "$code"
check "nothing left" tap_nothing_left "$project"

tap_done
