#!/usr/bin/env bash
# docker test (issue 13, item 3): the engine's disk full during an image build. It runs a SECOND
# dockerd of its own whose data root is a 300 MB tmpfs (its own socket, exec root, pid file and
# bridge, no iptables: it never touches the engine other tests share), and `up`s a service whose
# build needs more than that:
#  - a RUN step that writes 400 MB (busybox dd in a FROM scratch image): the engine's errorDetail
#    only says "returned a non-zero code: 1"; envtest must say the engine is out of disk space,
#    with the step's own output ("No space left on device") and what to do;
#  - a build context of 400 MB (the engine cannot unpack it: its error reply says so).
# Each: exit 3, no hang, the error names the service's image build; and after `gc` and
# `down -v --rmi local` against that engine nothing of the project is left (containers, networks,
# volumes), no dangling image (the layers of the steps that passed), and the space is free again.
# The dockerd is stopped and the tmpfs unmounted at the end, whatever happened (trap).
# TAP output. Skips (77) unless root with dockerd installed, or ENVTEST_REQUIRE_DOCKER=1.
#   ENVTEST_TEST_PROJECT   project name (default envtest-diskfull-<pid>)
set -uo pipefail
src="${ENVTEST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
bin="${ENVTEST_BINARY_DIR:-$src/build}"
envtest="$bin/cmd/envtest"
project="${ENVTEST_TEST_PROJECT:-envtest-diskfull-$$}"
TMP="$(mktemp -d)"
sock="$TMP/docker.sock"
export ENVTEST_LOCK_DIR="$TMP/locks" ENVTEST_ENGINE_TIMEOUT=30
n=0 failed=0
# shellcheck source=tests/tap_counts.sh
source "$src/tests/tap_counts.sh"
[ "$(id -u)" = 0 ] || need "needs root (it mounts a tmpfs and starts a dockerd of its own)"
command -v dockerd >/dev/null || need "no dockerd"
[ -x /bin/busybox ] || need "no /bin/busybox (apt-get install busybox-static)"
[ -x "$envtest" ] || need "no envtest at $envtest"

api() { curl -sS --max-time 10 --unix-socket "$sock" "http://localhost/v1.41$1"; }
ping() { [ "$(curl -s --max-time 2 --unix-socket "$sock" http://localhost/_ping 2>/dev/null)" = OK ]; }
dockerd_pid="" bridge=""
cleanup() {
    if [ -n "$dockerd_pid" ]; then
        kill -TERM "$dockerd_pid" 2>/dev/null && wait "$dockerd_pid" 2>/dev/null
    fi
    [ -n "$bridge" ] && ip link del "$bridge" 2>/dev/null
    # what dockerd leaves mounted (its exec root's netns/default), then the tmpfs, deepest first
    findmnt -rn -o TARGET | grep -F "$TMP/" | sort -r | while read -r m; do umount -l "$m"; done
    rm -rf "$TMP"
}
trap cleanup EXIT
mkdir -p "$TMP/data" "$TMP/exec" "$TMP/locks"
mount -t tmpfs -o size=300m envtest-diskfull "$TMP/data" || need "cannot mount a tmpfs (mount -t tmpfs)"
# Its own bridge: with --bridge none dockerd deletes the host's docker0, the shared engine's
bridge="etdisk$$"
bridge="${bridge:0:15}"
ip link add "$bridge" type bridge && ip addr add 10.213.9.1/24 dev "$bridge" && ip link set "$bridge" up ||
    need "cannot create a bridge $bridge (ip link)"
driver=overlay2
start_dockerd() {
    setsid dockerd --host "unix://$sock" --data-root "$TMP/data" --exec-root "$TMP/exec" \
        --pidfile "$TMP/docker.pid" --bridge "$bridge" --iptables=false --ip-masq=false \
        --storage-driver "$driver" >>"$TMP/dockerd.log" 2>&1 </dev/null &
    dockerd_pid=$!
    local end=$((SECONDS + 60))
    until ping; do
        if [ $SECONDS -ge $end ] || ! kill -0 "$dockerd_pid" 2>/dev/null; then
            kill -TERM "$dockerd_pid" 2>/dev/null && wait "$dockerd_pid" 2>/dev/null
            dockerd_pid=""
            return 1
        fi
        sleep 0.1
    done
}
start_dockerd || { driver=vfs && start_dockerd; } # overlay2 on tmpfs needs a recent kernel
ok $? "a second dockerd (data root: a 300 MB tmpfs, $driver) answers on its own socket" \
    "$(tail -20 "$TMP/dockerd.log")"
ping || { echo "1..$n"; exit 1; }

# the two builds: a RUN step that writes 400 MB, and a 400 MB context
mkdir -p "$TMP/run" "$TMP/context"
cp /bin/busybox "$TMP/run/"
printf '%s\n' 'FROM scratch' 'COPY busybox /bin/busybox' \
    'RUN ["/bin/busybox", "dd", "if=/dev/zero", "of=/fill", "bs=1M", "count=400"]' \
    'CMD ["/bin/busybox", "sleep", "3600"]' >"$TMP/run/Dockerfile"
head -c 400M /dev/zero >"$TMP/context/blob"
printf '%s\n' 'FROM scratch' 'COPY blob /blob' 'CMD ["/blob"]' >"$TMP/context/Dockerfile"
printf '%s\n' 'services:' \
    '  filler:' '    build:' "      context: $TMP/run" '    networks: [back]' \
    '  bulky:' '    build:' "      context: $TMP/context" '    profiles: [context]' \
    'networks:' '  back: {}' 'volumes:' '  data: {}' >"$TMP/compose.yaml"
et() { (cd "$TMP" && exec "$envtest" -H "unix://$sock" -f "$TMP/compose.yaml" -p "$project" "$@"); }

objects() { # containers, networks, volumes labelled with the project; dangling images
    local f
    f="$(jq -rn --arg p "$project" '{label: ["io.envtest.project=" + $p]} | @uri')"
    echo $(($(api "/containers/json?all=1&filters=$f" | jq length) +
        $(api "/networks?filters=$f" | jq length) +
        $(api "/volumes?filters=$f" | jq '.Volumes // [] | length'))) \
        "$(api "/images/json?filters=$(jq -rn '{dangling: ["true"]} | @uri')" | jq length)"
}
used_mb() { df -m --output=used "$TMP/data" | tail -1 | tr -d ' '; }
base_mb=$(used_mb)

for case in run context; do
    if [ "$case" = run ]; then service=filler args=(filler); else service=bulky args=(--profile context bulky); fi
    t0=$SECONDS
    et "${args[@]:0:${#args[@]}-1}" up "${args[-1]}" >"$TMP/$case.log" 2>&1
    code=$?
    took=$((SECONDS - t0))
    is "$code" 3 "$case: the engine's disk full during $service's build: exit 3" "$(cat "$TMP/$case.log")"
    ok "$([ "$took" -le 45 ]; echo $?)" "$case: no hang (${took} s)"
    has "$TMP/$case.log" "service $service: build envtest/$service:" "$case: the error names the service's image build"
    has "$TMP/$case.log" "the Docker engine is out of disk space" "$case: the error says the engine is out of disk space"
    has "$TMP/$case.log" "hint: free space where the engine keeps its data" "$case: the error says what to do"
    if [ "$case" = run ]; then
        has "$TMP/$case.log" "No space left on device" "$case: the error quotes the step's own output"
    else
        has "$TMP/$case.log" "no space left on device" "$case: the error quotes the engine's reply"
    fi
    is "$(objects)" "0 0" "$case: the failing up left nothing (containers, networks, volumes; dangling images)"
    et gc >"$TMP/gc.log" 2>&1 && et --profile context down -v --rmi local >>"$TMP/gc.log" 2>&1
    is "$? $(objects)" "0 0 0" "$case: after gc and down -v --rmi local nothing is left" "$(cat "$TMP/gc.log")"
    used=$(used_mb)
    ok "$([ "$used" -le $((base_mb + 20)) ]; echo $?)" \
        "$case: the engine's disk has its space back (${used} MB used, ${base_mb} MB before)"
done

echo "1..$n"
[ "$failed" -eq 0 ]
