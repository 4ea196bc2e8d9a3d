#!/usr/bin/env bash
# docker test (issue 13, item 3): the engine is restarted (SIGTERM, started again) during `up` and during
# `run`: envtest exits 3 within its engine timeout (ENVTEST_ENGINE_TIMEOUT, 10 s here), and once the
# engine is back `envtest gc` leaves nothing. It runs a SECOND dockerd of its own (its own socket,
# data root, exec root, its own bridge, no iptables), never the one other tests share. TAP output.
# Skips (77) unless root with dockerd installed, or ENVTEST_REQUIRE_DOCKER=1.
#   ENVTEST_TEST_PROJECT   project name (default envtest-restart-<pid>)
#   ENVTEST_TEST_DOCKERD   name of the second engine's paths (default envtest-test-docker):
#                          /run/NAME.sock, /var/lib/NAME, /run/NAME, /run/NAME.pid
set -uo pipefail
src="${ENVTEST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
bin="${ENVTEST_BINARY_DIR:-$src/build}"
envtest="$bin/cmd/envtest"
project="${ENVTEST_TEST_PROJECT:-envtest-restart-$$}"
name="${ENVTEST_TEST_DOCKERD:-envtest-test-docker}"
sock="/run/$name.sock"
TMP="$(mktemp -d)"
export ENVTEST_LOCK_DIR="$TMP" ENVTEST_ENGINE_TIMEOUT=10
n=0 failed=0
# shellcheck source=tests/tap_counts.sh
source "$src/tests/tap_counts.sh"
[ "$(id -u)" = 0 ] || need "needs root (it starts a dockerd of its own)"
command -v dockerd >/dev/null || need "no dockerd"
[ -x /bin/busybox ] || need "no /bin/busybox (apt-get install busybox-static)"
[ -x "$envtest" ] || need "no envtest at $envtest"

api() { curl -sS --max-time 5 --unix-socket "$sock" "http://localhost/v1.41$1"; }
ping() { [ "$(curl -s --max-time 2 --unix-socket "$sock" http://localhost/_ping 2>/dev/null)" = OK ]; }
# Its own bridge: with --bridge none dockerd deletes the host's docker0, the shared engine's
bridge="envtest-br$$"
bridge="${bridge:0:15}"
ip link add "$bridge" type bridge && ip addr add 10.213.7.1/24 dev "$bridge" && ip link set "$bridge" up ||
    need "cannot create a bridge $bridge (ip link)"
dockerd_pid=""
start_dockerd() {
    setsid dockerd --host "unix://$sock" --data-root "/var/lib/$name" --exec-root "/run/$name" \
        --pidfile "/run/$name.pid" --bridge "$bridge" --iptables=false --ip-masq=false \
        >>"$TMP/dockerd.log" 2>&1 </dev/null &
    dockerd_pid=$!
    local end=$((SECONDS + 90))
    until ping; do
        [ $SECONDS -ge $end ] || ! kill -0 "$dockerd_pid" 2>/dev/null && return 1
        sleep 0.1
    done
}
kill_dockerd() { # a restart, as `systemctl restart docker` does: SIGTERM, then start again
    kill -TERM "$dockerd_pid" 2>/dev/null
    wait "$dockerd_pid" 2>/dev/null
}
mkdir -p "$TMP/busybox"
cp /bin/busybox "$TMP/busybox/"
printf '%s\n' 'FROM scratch' 'COPY busybox /bin/busybox' 'RUN ["/bin/busybox", "--install", "-s", "/bin"]' \
    'RUN ["/bin/busybox", "mkdir", "-p", "/www", "/tmp"]' 'CMD ["sh"]' >"$TMP/busybox/Dockerfile"
export BUSYBOX_CONTEXT="$TMP/busybox"
compose="$src/tests/compose/reaper/two.yaml"
et() { "$envtest" -H "unix://$sock" -f "$compose" -p "$project" "$@"; }
cleanup() {
    if ping; then et down -v --rmi local >/dev/null 2>&1; fi
    kill -TERM "$dockerd_pid" 2>/dev/null && wait "$dockerd_pid" 2>/dev/null
    ip link del "$bridge" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

objects() { # containers, networks, volumes of the project, its reaper, lock and use marks
    local f r
    f="$(jq -rn --arg p "$project" '{label: ["io.envtest.project=" + $p]} | @uri')"
    r="$(jq -rn --arg p "$project" '{label: ["io.envtest.reaper=" + $p]} | @uri')"
    echo $(($(api "/containers/json?all=1&filters=$f" | jq length) +
        $(api "/containers/json?all=1&filters=$r" | jq length) +
        $(api "/networks?filters=$f" | jq length) +
        $(api "/volumes" | jq --arg p "$project" '[.Volumes // [] | .[] | select(.Labels["io.envtest.project"] == $p
            or (.Name | startswith("envtest-lock-" + $p) or startswith("envtest-use-" + $p + "-")))] | length')))
}

start_dockerd
ok $? "a second dockerd of our own answers on $sock" "$(tail -20 "$TMP/dockerd.log")"
et up >"$TMP/warm.log" 2>&1
is "$?" 0 "warm-up: up on it (images built)" "$(tail -20 "$TMP/warm.log")"
et down -v >/dev/null 2>&1

for op in up run; do
    if [ "$op" = up ]; then (exec "$envtest" -H "unix://$sock" -f "$compose" -p "$project" up) >"$TMP/op.log" 2>&1 &
    else (exec "$envtest" -H "unix://$sock" -f "$compose" -p "$project" run -- sh -c 'sleep 30') >"$TMP/op.log" 2>&1 & fi
    pid=$!
    f="$(jq -rn --arg p "$project" '{label: ["io.envtest.project=" + $p]} | @uri')"
    end=$((SECONDS + 60))
    until [ "$(api "/containers/json?all=1&filters=$f" | jq length)" -ge 1 ] || [ $SECONDS -ge $end ]; do sleep 0.05; done
    kill_dockerd
    t0=$SECONDS
    wait "$pid"
    code=$?
    took=$((SECONDS - t0))
    is "$code" 3 "$op: the engine restarted mid-$op: envtest exits 3" "$(cat "$TMP/op.log")"
    ok "$([ "$took" -le 12 ]; echo $?)" "$op: within the engine timeout (10 s): ${took} s"
    ok "$(grep -q 'Docker engine' "$TMP/op.log"; echo $?)" "$op: the error names the engine" "$(cat "$TMP/op.log")"
    start_dockerd
    ok $? "the engine is back" "$(tail -5 "$TMP/dockerd.log")"
    ping || break
    et gc >"$TMP/gc.log" 2>&1
    is "$? $(objects)" "0 0" "$op: after gc nothing is left" "$(cat "$TMP/gc.log")"
    [ "$(objects)" = 0 ] || et down -v >/dev/null 2>&1
done

echo "1..$n"
[ "$failed" -eq 0 ]
