#!/usr/bin/env bash
# docker test: envtest run inside a container of the engine it drives (a devcontainer, a CI job's
# container with the engine's socket mounted; envmgr/env/probe.h, envmgr_probe_reach_check):
#   - in a network namespace of its own (the default bridge network): `up` fails at once with
#     exit 3, names the container, says that the engine host's 127.0.0.1 is out of its reach and
#     what to do, and creates nothing of the project (before, this up came up healthy by the
#     service's healthcheck, exec'd in its container, while the address it hands out,
#     127.0.0.1:PORT, answers nothing in this container);
#   - in the host's network namespace (--network host): `up` brings the service up and healthy,
#     and it answers on its published port from the host.
# The container runs the MySQL image (Debian's userland) with the host's /usr mounted read-only
# over its own (envtest's libraries), the build tree and a work folder at the same paths, and the
# engine's socket (and the sanitizers' options, for the ASan/UBSan build). TAP. Skips (77) without an engine or the MySQL image unless
# ENVTEST_REQUIRE_DOCKER=1. Project: $ENVTEST_TEST_PROJECT (default envtest-test-incont-<pid>).
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
et() { "$envtest" -f "$file" -p "$project" "$@"; }
cleanup() {
    docker rm -f "$project-devbox-bridge" "$project-devbox-host" >/dev/null 2>&1
    et down -v >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tap_need_envtest_engine "$envtest" "$bin"
tap_mysql_image

cat >"$file" <<'YAML'
services:
  mock-llm:
    image: envtest/mock-llm
    command: ["--port", "8080"]
    ports: ["8080"]
    healthcheck:
      test: ["CMD", "/mock-llm", "--healthcheck"]
      interval: 2s
      retries: 10
YAML

# devbox NETWORK_MODE: `envtest up` in a new container on that network; its exit code in $code,
# its output in $tmp/devbox-NETWORK_MODE.log, its time in $took (s).
devbox() {
    local t0
    t0=$(date +%s)
    docker run --name "$project-devbox-$1" --network "$1" --user 0 --entrypoint "$envtest" \
        -v /usr:/usr:ro -v "$bin:$bin:ro" -v "$tmp:$tmp" \
        -v "$ENVTEST_DOCKER_SOCK:/var/run/docker.sock" \
        -e DOCKER_HOST=unix:///var/run/docker.sock -e "ENVTEST_BUILD_DIR=$bin" \
        -e ASAN_OPTIONS -e UBSAN_OPTIONS \
        "$ENVTEST_MYSQL_IMAGE" -f "$file" -p "$project" up --wait-timeout 60 \
        >"$tmp/devbox-$1.log" 2>&1
    # from the engine: `docker run` against Podman's API (4.3) can exit 0 whatever the container did
    code=$(docker inspect -f '{{.State.ExitCode}}' "$project-devbox-$1" 2>&1)
    took=$(($(date +%s) - t0))
    sed 's/^/# /' "$tmp/devbox-$1.log"
}

# its own network namespace: refused at once, nothing made
devbox bridge
log="$tmp/devbox-bridge.log"
check_eq "own network namespace: up exits 3" 3 "$code"
check "the error names the container" grep -q "envtest runs in container $project-devbox-bridge" "$log"
check "it says why: the engine host's 127.0.0.1 is out of its reach" grep -q "cannot reach" "$log"
check "and what to do: --network host" grep -q -- "--network host" "$log"
check "at once (${took} s)" test "$took" -lt 30
check "nothing of the project was created" tap_nothing_left "$project"

# the host's network namespace: the published ports are in reach, up works
devbox host
check_eq "host network namespace: up exits 0" 0 "$code"
if grep -q 'envtest runs in container' "$tmp/devbox-host.log"; then
    tap_not_ok "no in-container refusal there"
else
    tap_ok "no in-container refusal there"
fi
port=$(docker port "$project-mock-llm-1" 8080/tcp | head -n 1)
port="${port##*:}"
check_eq "mock-llm runs" running "$(docker inspect -f '{{.State.Status}}' "$project-mock-llm-1" 2>&1)"
check "it answers on 127.0.0.1:$port from the host" curl -fsS -o /dev/null "http://127.0.0.1:$port/v1/models"
# why the refusal is right: that address answers in the host's namespace, not in a container's own
reach() { # reach NETWORK_MODE: a TCP connect to 127.0.0.1:$port from a container there (told by
    # its output, not its exit code: see devbox)
    [ "$(docker run --rm --network "$1" --entrypoint bash "$ENVTEST_MYSQL_IMAGE" \
        -c "exec 3<>/dev/tcp/127.0.0.1/$port && echo connected" 2>/dev/null)" = connected ]
}
check "127.0.0.1:$port is reached from a container in the host's namespace" reach host
if reach bridge; then
    tap_not_ok "and not from one with its own (the default bridge network)"
else
    tap_ok "and not from one with its own (the default bridge network)"
fi

tap_done
