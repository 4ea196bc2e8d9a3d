#!/usr/bin/env bash
# docker test: services reached through their published ports, as on a VM engine (Docker Desktop,
# a Podman machine), where this machine cannot reach a container's own address and the engine's
# port forwarder accepts every connection, closing it at once when nothing listens behind it
# (envmgr/env/probe.h). ENVTEST_PROBE=published makes envtest probe that way on this Linux engine,
# whose docker-proxy forwards 127.0.0.1 ports the same way:
#   - a MySQL service without a healthcheck whose server starts 2 s late: `up` (the port probe)
#     returns only once the server listens, so a `SELECT 1` through the published port right
#     after `up` answers (a probe that took the forwarder's accept for the service's would return
#     at once, and the SELECT would fail);
#   - the same with an `x-envtest.wait` sql strategy (and a healthcheck-free ports wait);
#   - a wait on a port that is not published: exit 2 at once, the port named, nothing left;
#   - ENVTEST_PROBE unset on this machine: the container's own address, as before (the same up).
# TAP. Skips (77) without an engine or the MySQL image unless ENVTEST_REQUIRE_DOCKER=1.
# Project: $ENVTEST_TEST_PROJECT (default envtest-test-vm-<pid>).
set -u
src="${ENVTEST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
# shellcheck source=ci/lib.sh
source "$src/ci/lib.sh"
# shellcheck source=tests/tap_lib.sh
source "$src/tests/tap_lib.sh"
bin="${ENVTEST_BINARY_DIR:-$src/build}"
export ENVTEST_BUILD_DIR="$bin"
envtest="$bin/cmd/envtest"
project="${ENVTEST_TEST_PROJECT:-envtest-test-vm-$$}"
tmp=$(mktemp -d /tmp/envtest-vm-XXXXXX)
file="$tmp/compose.yaml"
et() { "$envtest" -f "$file" -p "$project" "$@"; }
cleanup() {
    et down -v >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tap_need_envtest_engine "$envtest" "$bin"
command -v mariadb >/dev/null || tap_need "no mariadb client"
tap_mysql_image

nothing_left() { tap_nothing_left "$project"; }

# A MySQL whose server starts 2 s after its container; $1: the service's extra lines.
late_mysql() {
    cat >"$file" <<YAML
name: vm-test
services:
  late:
    image: \${ENVTEST_MYSQL_IMAGE}
    entrypoint: ["sh", "-c", "sleep 2; exec /usr/local/bin/docker-entrypoint.sh mariadbd"]
    environment: {MYSQL_DATABASE: vm, MYSQL_USER: vm, MYSQL_PASSWORD: vmpw, MYSQL_ROOT_PASSWORD: vmroot}
    ports: ["3306"]
    tmpfs: [/var/lib/mysql]
    healthcheck: {disable: true}
$1
YAML
}

# SELECT 1 through the published port, once, at once.
select1() {
    local port
    port=$(docker port "$project-late-1" 3306/tcp | head -n 1)
    port=${port##*:}
    [ "$(mariadb -h127.0.0.1 -P"$port" -uvm -pvmpw vm -N -B -e 'SELECT 1' 2>&1)" = 1 ]
}

# up with the published-port probe, then SELECT 1 right after it; $1: what the up waits with.
up_then_select() {
    ENVTEST_PROBE=published et up >"$tmp/up.log" 2>&1
    local rc=$?
    check_eq "up ($1): exit 0" 0 "$rc"
    [ "$rc" = 0 ] || cat "$tmp/up.log" >&2
    check "right after up, SELECT 1 through the published port answers" select1
    et down -v >/dev/null 2>&1
}

echo "TAP version 13"

late_mysql ""
up_then_select "port probe through the published port, server 2 s late"

late_mysql '    x-envtest:
      wait:
        - {ports: [3306]}
        - {sql: "SELECT 1", port: 3306, user: root}'
up_then_select "ports and sql waits through the published port"

late_mysql '    x-envtest:
      wait: {sql: "SELECT 1", port: 3307}'
t0=$(date +%s)
ENVTEST_PROBE=published et up >"$tmp/up.log" 2>&1
rc=$?
took=$(($(date +%s) - t0))
check_eq "a wait on a port that is not published: exit 2" 2 "$rc"
check "  the error names the port and says why" \
    grep -q "container port 3307 is not published" "$tmp/up.log"
check "  at once, not after the wait timeout (${took} s)" test "$took" -lt 60
check "  nothing of the project left" nothing_left

late_mysql ""
unset ENVTEST_PROBE
et up >"$tmp/up.log" 2>&1
rc=$?
check_eq "up with the probe left automatic (this machine: the container's own address): exit 0" 0 "$rc"
check "right after up, SELECT 1 answers" select1
et down -v >/dev/null 2>&1
check "down: nothing of the project left" nothing_left
tap_done
