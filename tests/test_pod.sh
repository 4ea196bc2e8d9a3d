#!/usr/bin/env bash
# docker test: pod mode (envtest up --pod, x-envtest.pod; envmgr/env/pod.c).
#   up:    MySQL + mock-llm + mock-vector brought up with --pod: one pause container (the holder)
#          owns the network namespace and publishes every port on 127.0.0.1; the services have no
#          network of their own and reach each other by name (MySQL's container opens TCP to
#          mock-llm:8080 and mock-vector:6333, mysqladmin pings mysql:3306); `envtest env` and
#          `status --json` give the holder's ports, which answer on 127.0.0.1; a second up changes
#          nothing; an up without --pod recreates the services on their own network and removes
#          the holder; down (of a pod again) removes the holder, the services and the network;
#          `run --pod -- CMD` brings the environment up in pod mode (and `run` without it does not).
#   clash: two services on one container port are refused before anything is created, with an
#          error naming both services and the port (--pod and x-envtest.pod: true); a service with
#          network aliases too; x-envtest.pod: 3 is a config error; nothing is left.
# Usage: test_pod.sh up|clash. TAP. Skips (77) without an engine or the MySQL image unless
# ENVTEST_REQUIRE_DOCKER=1. Projects: $ENVTEST_TEST_PROJECT (default envtest-test-pod-<pid>)[-clash].
set -u
src="${ENVTEST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
# shellcheck source=ci/lib.sh
source "$src/ci/lib.sh"
# shellcheck source=tests/tap_lib.sh
source "$src/tests/tap_lib.sh"
bin="${ENVTEST_BINARY_DIR:-$src/build}"
export ENVTEST_BUILD_DIR="$bin"
envtest="$bin/cmd/envtest"
mode="${1:-up}"
project="${ENVTEST_TEST_PROJECT:-envtest-test-pod-$$}"
[ "$mode" = clash ] && project="$project-clash"
tmp=$(mktemp -d /tmp/envtest-pod-XXXXXX)
file="$tmp/compose.yaml"
et() { "$envtest" -f "$file" -p "$project" "$@"; }
cleanup() {
    et down -v >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tap_need_envtest_engine "$envtest" "$bin"
tap_mysql_image

# Nothing of the project is left: no container, no network.
nothing_left() { tap_nothing_left "$project"; }

three_services() { # $1: extra top-level text
    cat >"$file" <<YAML
name: pod-test
$1
services:
  mysql:
    image: \${ENVTEST_MYSQL_IMAGE}
    command: ["--character-set-server=utf8mb4"]
    environment: {MYSQL_DATABASE: pod, MYSQL_USER: pod, MYSQL_PASSWORD: podpw, MYSQL_ROOT_PASSWORD: podroot}
    ports: ["3306"]
    tmpfs: [/var/lib/mysql]
    healthcheck:
      test: ["CMD-SHELL", "mysqladmin ping -h127.0.0.1 --protocol=tcp -uroot -p\"\$\$MYSQL_ROOT_PASSWORD\" --silent"]
      interval: 2s
      retries: 60
  mock-llm:
    image: envtest/mock-llm
    command: ["--port", "8080"]
    ports: ["8080"]
  mock-vector:
    image: envtest/mock-vector
    command: ["--port", "6333"]
    ports: ["6333"]
YAML
}

# An HTTP GET of $2 on 127.0.0.1:$1 answers 2xx.
http_ok() { curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$1$2"; }
# The server on 127.0.0.1:$1 greets as MariaDB/MySQL does (its handshake names its version).
mysql_greets() { timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && head -c 40 <&3" | grep -a -q -i -E "mariadb|mysql"; }

test_up() {
    three_services ""
    local out
    out=$(et up --pod 2>&1)
    check_eq "up --pod exits 0" 0 "$?"
    [ $? -eq 0 ] || printf '%s\n' "$out" | tail -20 | sed 's/^/# /'
    local holder="$project-pod-holder"
    check "the holder runs" test "$(docker inspect -f '{{.State.Running}}' "$holder" 2>/dev/null)" = true
    local s mode holder_id
    holder_id=$(docker inspect -f '{{.Id}}' "$holder" 2>/dev/null)
    for s in mysql mock-llm mock-vector; do
        mode=$(docker inspect -f '{{.HostConfig.NetworkMode}}' "$project-$s-1" 2>/dev/null)
        check_eq "$s joins the holder's network namespace" "container:$holder_id" "$mode"
    done
    check_eq "the services publish nothing themselves" "" \
        "$(docker inspect -f '{{range $k, $v := .NetworkSettings.Ports}}{{$k}} {{end}}' \
            "$project-mysql-1" "$project-mock-llm-1" "$project-mock-vector-1" | tr -d ' \n')"
    check_eq "the holder publishes every port, on 127.0.0.1 only" \
        "3306/tcp 127.0.0.1,6333/tcp 127.0.0.1,8080/tcp 127.0.0.1," \
        "$(docker inspect -f '{{range $k, $v := .HostConfig.PortBindings}}{{$k}}{{range $v}} {{.HostIp}}{{end}},{{end}}' "$holder")"
    check "mysql reaches mock-llm by name" docker exec "$project-mysql-1" bash -c \
        'exec 3<>/dev/tcp/mock-llm/8080 && printf "GET /health HTTP/1.0\r\n\r\n" >&3 && grep -q "200" <&3'
    check "mysql reaches mock-vector by name" docker exec "$project-mysql-1" bash -c \
        'exec 3<>/dev/tcp/mock-vector/6333 && printf "GET /healthz HTTP/1.0\r\n\r\n" >&3 && grep -q "200" <&3'
    check "mysql answers by its own name" docker exec "$project-mysql-1" \
        mysqladmin ping -hmysql --protocol=tcp -uroot -ppodroot --silent >/dev/null

    local env_out llm_port vector_port mysql_port
    env_out=$(et env --format dotenv)
    llm_port=$(printf '%s\n' "$env_out" | sed -n "s/^ENVTEST_MOCK_LLM_PORT=['\"]\{0,1\}\([0-9]*\).*/\1/p")
    vector_port=$(printf '%s\n' "$env_out" | sed -n "s/^ENVTEST_MOCK_VECTOR_PORT=['\"]\{0,1\}\([0-9]*\).*/\1/p")
    mysql_port=$(printf '%s\n' "$env_out" | sed -n "s/^ENVTEST_MYSQL_PORT=['\"]\{0,1\}\([0-9]*\).*/\1/p")
    check_eq "env: mock-llm's port is the holder's 8080" \
        "$(docker inspect -f '{{(index (index .NetworkSettings.Ports "8080/tcp") 0).HostPort}}' "$holder")" "$llm_port"
    check_eq "env: mock-vector's port is the holder's 6333" \
        "$(docker inspect -f '{{(index (index .NetworkSettings.Ports "6333/tcp") 0).HostPort}}' "$holder")" "$vector_port"
    check_eq "env: MySQL's port is the holder's 3306" \
        "$(docker inspect -f '{{(index (index .NetworkSettings.Ports "3306/tcp") 0).HostPort}}' "$holder")" "$mysql_port"
    check "mock-llm answers on 127.0.0.1:${llm_port:-?}" http_ok "${llm_port:-0}" /health
    check "mock-vector answers on 127.0.0.1:${vector_port:-?}" http_ok "${vector_port:-0}" /healthz
    check "MySQL answers on 127.0.0.1:${mysql_port:-?}" mysql_greets "${mysql_port:-0}"
    local status
    status=$(et status --json)
    check_eq "status: every service running and healthy" "0" "$?"
    check_eq "status --json: each service has its own one port" "mysql:3306 mock-llm:8080 mock-vector:6333" \
        "$(printf '%s' "$status" | jq -r '[.services[] | "\(.service):\([.ports[].container_port] | join(","))"] | join(" ")')"
    out=$(et up --pod 2>&1)
    check "a second up --pod changes nothing" grep -q "mysql: unchanged" <<<"$out"
    out=$(et up 2>&1)
    check_eq "up without --pod after it exits 0" 0 "$?"
    check "... recreates the services on their own network" test \
        "$(docker inspect -f '{{.HostConfig.NetworkMode}}' "$project-mock-llm-1" 2>/dev/null)" = "${project}_default"
    check "... and removes the holder" test -z "$(docker ps -aq --filter "name=^$holder\$")"
    et up --pod >/dev/null 2>&1
    out=$(et down -v 2>&1)
    check_eq "down exits 0" 0 "$?"
    check "down says it removed the pod holder" grep -q "pod holder: removed" <<<"$out"
    check "down removed the holder, the services and the network" nothing_left
    # run --pod: the up that run does is in pod mode (its command sees the holder and a service
    # in the holder's namespace); without --pod the same command fails
    local in_pod="docker inspect -f '{{.State.Running}}' $holder 2>/dev/null | grep -q true &&
        docker inspect -f '{{.HostConfig.NetworkMode}}' $project-mock-llm-1 | grep -q '^container:'"
    out=$(et run --pod -- bash -c "$in_pod" 2>&1)
    check_eq "run --pod brings the environment up in pod mode" 0 "$?"
    [ $? -eq 0 ] || printf '%s\n' "$out" | tail -20 | sed 's/^/# /'
    check "... and removes it after the run" nothing_left
    et run -- bash -c "$in_pod" >/dev/null 2>&1
    check_eq "run without --pod: not in pod mode (the command exits 1)" 1 "$?"
    check "... and nothing is left" nothing_left
}

test_clash() {
    cat >"$file" <<'YAML'
name: pod-clash
services:
  first:
    image: envtest/mock-llm
    command: ["--port", "8080"]
    ports: ["8080"]
  second:
    image: envtest/mock-vector
    command: ["--port", "8080"]
    ports: ["8080"]
YAML
    local out code
    out=$(et up --pod 2>&1)
    code=$?
    check_eq "up --pod with two services on port 8080 exits 2 (config)" 2 "$code"
    check "the error names both services and the port" grep -q \
        "service second: container port 8080/tcp is also service first's" <<<"$out"
    check "the error names the file and line" grep -q "compose.yaml:7: service second" <<<"$out"
    check "nothing was created" nothing_left
    sed -i '1a x-envtest: {pod: true}' "$file"
    out=$(et up 2>&1)
    check_eq "the same with x-envtest.pod: true exits 2" 2 "$?"
    check "... with the same error" grep -q "container port 8080/tcp is also service first's" <<<"$out"
    check "... and nothing was created" nothing_left
    sed -i 's/pod: true/pod: 3/' "$file"
    out=$(et up 2>&1)
    check_eq "x-envtest.pod: 3 exits 2" 2 "$?"
    check "... naming x-envtest.pod" grep -q "x-envtest.pod: expected true or false" <<<"$out"
    cat >"$file" <<'YAML'
services:
  web:
    image: envtest/mock-llm
    networks:
      default: {aliases: [api]}
YAML
    out=$(et up --pod 2>&1)
    check_eq "network aliases with --pod exit 2" 2 "$?"
    check "... naming the service" grep -q "service web: it has network aliases" <<<"$out"
    check "... and nothing was created" nothing_left
}

case "$mode" in
up) test_up ;;
clash) test_clash ;;
*) echo "usage: test_pod.sh up|clash" >&2 && exit 2 ;;
esac
tap_done
