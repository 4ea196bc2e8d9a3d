#!/usr/bin/env bash
# docker test (issue 13, item 2): the reaper container. envtest is killed with SIGKILL at random
# points of `up` and of `run` (which brings the environment up), and its whole cgroup is killed
# (the freezer: frozen, every task SIGKILLed, thawed; so the host-process reaper dies with it):
# 15 s later nothing of the project is left, the reaper container included. Then the same against
# a Podman engine when one answers on /run/podman/podman.sock (Testcontainers' Ryuk does not run
# there). Also: a kept environment is never reaped; `envtest gc` removes what a killed envtest left
# when no reaper container could run (ENVTEST_REAPER=process, its cgroup killed); a failed up
# leaves nothing as it exits, its reaper container included.
# TAP output. Skips (77) without an engine unless ENVTEST_REQUIRE_DOCKER=1.
#   ENVTEST_TEST_PROJECT   project name stem (default envtest-reap-<pid>: two checkouts can run
#                          it at once on one engine)
#   ENVTEST_REAPER_KILLS   kill points, half in up, half in run (default 20)
#   ENVTEST_PODMAN_SOCK    the Podman socket (default /run/podman/podman.sock)
set -uo pipefail
src="${ENVTEST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
bin="${ENVTEST_BINARY_DIR:-$src/build}"
# shellcheck source=ci/lib.sh
source "$src/ci/lib.sh"
envtest="$bin/cmd/envtest"
stem="${ENVTEST_TEST_PROJECT:-envtest-reap-$$}"
kills="${ENVTEST_REAPER_KILLS:-20}"
podman_sock="${ENVTEST_PODMAN_SOCK:-/run/podman/podman.sock}"
TMP="$(mktemp -d)"
export ENVTEST_LOCK_DIR="$TMP"
unset ENVTEST_REAPER
n=0 failed=0

# shellcheck source=tests/tap_counts.sh
source "$src/tests/tap_counts.sh"

docker_ping || need "no Docker engine at $ENVTEST_DOCKER_SOCK"
[ -x "$envtest" ] || need "no envtest at $envtest"
[ -x "$bin/cmd/envtest-reaper" ] || need "no envtest-reaper beside envtest"
[ -x /bin/busybox ] || need "no /bin/busybox (apt-get install busybox-static)"
mkdir -p "$TMP/busybox"
cp /bin/busybox "$TMP/busybox/"
printf '%s\n' 'FROM scratch' 'COPY busybox /bin/busybox' 'RUN ["/bin/busybox", "--install", "-s", "/bin"]' \
    'RUN ["/bin/busybox", "mkdir", "-p", "/www", "/tmp"]' 'CMD ["sh"]' >"$TMP/busybox/Dockerfile"
export BUSYBOX_CONTEXT="$TMP/busybox"
compose="$src/tests/compose/reaper/two.yaml"
host="unix://$ENVTEST_DOCKER_SOCK"
et() { "$envtest" -H "$host" -f "$compose" "$@"; }

main_sock="$ENVTEST_DOCKER_SOCK"
cleanup() {
    ENVTEST_DOCKER_SOCK="$main_sock" host="unix://$main_sock"
    et -p "$stem" down -v --rmi local >/dev/null 2>&1
    if [ -S "$podman_sock" ]; then
        "$envtest" -H "unix://$podman_sock" -f "$compose" -p "$stem" down -v --rmi local >/dev/null 2>&1
    fi
    [ -n "${cg:-}" ] && [ -d "$cg" ] && rmdir "$cg" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

# objects PROJECT: what the engine at $ENVTEST_DOCKER_SOCK holds of it (containers, networks and
# volumes labelled with it, its reaper container, its lock and use marks)
objects() {
    local f r c nw v l
    f="$(urlencode "{\"label\":[\"io.envtest.project=$1\"]}")"
    r="$(urlencode "{\"label\":[\"io.envtest.reaper=$1\"]}")"
    c="$(docker_api_ok GET "/containers/json?all=1&filters=$f" | jq length)"
    c=$((c + $(docker_api_ok GET "/containers/json?all=1&filters=$r" | jq length)))
    nw="$(docker_api_ok GET "/networks?filters=$f" | jq length)"
    v="$(docker_api_ok GET "/volumes?filters=$f" | jq '.Volumes // [] | length')"
    l="$(docker_api_ok GET "/volumes" |
        jq --arg p "$1" '[.Volumes // [] | .[].Name | select(. == "envtest-lock-" + $p or
            startswith("envtest-lock-" + $p + "-beat-") or startswith("envtest-use-" + $p + "-"))] | length')"
    echo $((c + nw + v + l))
}
# lock_only PROJECT: true when what is left of PROJECT is only its lock marks (the lock volume,
# heartbeats, uses): what an envtest killed while it held the lock, with no reaper watching, would
# leave (up and run hold their reaper's connection before they take the lock: none must be left).
lock_only() {
    local f c nw v
    f="$(urlencode "{\"label\":[\"io.envtest.project=$1\"]}")"
    c="$(docker_api_ok GET "/containers/json?all=1&filters=$f" | jq length)"
    nw="$(docker_api_ok GET "/networks?filters=$f" | jq length)"
    v="$(docker_api_ok GET "/volumes?filters=$f" | jq '.Volumes // [] | length')"
    [ $((c + nw + v)) -eq 0 ]
}
# left_after PROJECT SECONDS: polls until nothing is left (prints 0 and how long it took) or the
# time is up (prints what is left)
left_after() {
    local t0=$SECONDS left
    while :; do
        left="$(objects "$1")"
        if [ "$left" = 0 ] || [ $((SECONDS - t0)) -ge "$2" ]; then
            [ "$left" = 0 ] && [ $((SECONDS - t0)) -gt "$2" ] && left="0, but after ${2} s"
            echo "$left $((SECONDS - t0))"
            return
        fi
        sleep 0.25
    done
}
rand_delay() { # a kill point: 0.2 to $1 seconds
    awk -v s="$RANDOM" -v max="$1" 'BEGIN { srand(s); printf "%.2f", 0.2 + rand() * (max - 0.2) }'
}

# handed_over: true when up had handed the environment to the user when it was killed: its
# ephemeral mark (made before the network) is gone and the network is there. A kill after that, in
# the last milliseconds of the process (under ASan, its leak check at exit), leaves the user's
# environment, as it must: not a kill point.
handed_over() {
    docker_api_ok GET "/networks/${stem}_default" >/dev/null 2>&1 &&
        ! docker_api_ok GET "/volumes/${stem}_envtest-ephemeral" >/dev/null 2>&1
}

# one_kill OP DELAY: starts envtest OP, SIGKILLs it after DELAY s; prints "killed" or "finished"
one_kill() {
    local op="$1" pid
    # exec: $! is envtest itself, not a subshell around it
    if [ "$op" = up ]; then
        (exec "$envtest" -H "$host" -f "$compose" -p "$stem" up) >"$TMP/op.log" 2>&1 &
    else
        (exec "$envtest" -H "$host" -f "$compose" -p "$stem" run -- sh -c 'sleep 30') >"$TMP/op.log" 2>&1 &
    fi
    pid=$!
    sleep "$2"
    if kill -9 "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null
        if [ "$op" = up ] && handed_over; then echo finished; else echo killed; fi
    else
        wait "$pid" 2>/dev/null
        echo finished
    fi
}

# warm up: images built (web, worker, the reaper's) outside the kill points
et -p "$stem" up >"$TMP/warm.log" 2>&1
is "$?" 0 "warm-up up" "$(cat "$TMP/warm.log")"
et -p "$stem" down -v >/dev/null 2>&1

# ---- kill -9 at random points of up and run ------------------------------------------------------
worst=0 bad=0 points=0 detail=""
for ((i = 1; i <= kills; i++)); do
    op=up
    [ $((i % 2)) -eq 0 ] && op=run
    d="$(rand_delay 6)"
    what="$(one_kill "$op" "$d")"
    if [ "$what" = finished ]; then # up was over before the kill: not a kill point
        et -p "$stem" down -v >/dev/null 2>&1
        i=$((i - 1))
        continue
    fi
    points=$((points + 1))
    read -r left took < <(left_after "$stem" 15)
    [ "$took" -gt "$worst" ] && worst=$took
    if [ "$left" != 0 ]; then
        bad=$((bad + 1))
        detail+="$op killed at ${d}s: $left objects left after 15 s$(lock_only "$stem" && echo ' (lock marks only)')"$'\n'
        et -p "$stem" down -v >/dev/null 2>&1
    fi
done
is "$bad" 0 "kill -9 at $points random points of up and run: no container, network, volume or lock mark left within 15 s (slowest: ${worst} s)" "$detail"

# ---- the whole cgroup killed ---------------------------------------------------------------------
freezer=/sys/fs/cgroup/freezer
if [ -w "$freezer" ]; then
    for op in up run; do
        # a kill point is one where envtest still runs: an up that was over before the freeze
        # (0 tasks, or handed_over) handed its environment to the user, as it should; take it down
        # and try sooner
        max=4
        for ((try = 1; try <= 6; try++)); do
            cg="$freezer/envtest-test-$$-$op"
            mkdir "$cg"
            (
                echo "$BASHPID" >"$cg/cgroup.procs"
                if [ "$op" = up ]; then exec "$envtest" -H "$host" -f "$compose" -p "$stem" up
                else exec "$envtest" -H "$host" -f "$compose" -p "$stem" run -- sh -c 'sleep 30'; fi
            ) >"$TMP/cg.log" 2>&1 &
            sleep "$(rand_delay "$max")"
            echo FROZEN >"$cg/freezer.state"
            tasks="$(wc -l <"$cg/cgroup.procs")"
            xargs -r kill -9 <"$cg/cgroup.procs"
            echo THAWED >"$cg/freezer.state"
            wait
            until [ ! -s "$cg/cgroup.procs" ]; do sleep 0.05; done
            rmdir "$cg"
            [ "$tasks" -gt 0 ] && ! { [ "$op" = up ] && handed_over; } && break
            et -p "$stem" down -v >/dev/null 2>&1
            max=$(awk -v m="$max" 'BEGIN { printf "%.2f", m / 2 < 0.4 ? 0.4 : m / 2 }')
        done
        read -r left took < <(left_after "$stem" 15)
        is "$left" 0 "$op: its whole cgroup killed ($tasks tasks, the host reaper among them): nothing left within 15 s (${took} s)" \
            "$(lock_only "$stem" && echo 'lock marks only')"
        [ "$left" = 0 ] || et -p "$stem" down -v >/dev/null 2>&1
    done
    cg=""

    # without the container, the host-process reaper dies with the cgroup: gc removes the rest
    cg="$freezer/envtest-test-$$-gc"
    mkdir "$cg"
    (
        echo "$BASHPID" >"$cg/cgroup.procs"
        ENVTEST_REAPER=process exec "$envtest" -H "$host" -f "$compose" -p "$stem" up
    ) >"$TMP/cg.log" 2>&1 &
    end=$((SECONDS + 60))
    until [ "$(objects "$stem")" -ge 3 ] || [ $SECONDS -ge $end ]; do sleep 0.05; done
    echo FROZEN >"$cg/freezer.state"
    xargs -r kill -9 <"$cg/cgroup.procs"
    echo THAWED >"$cg/freezer.state"
    wait
    until [ ! -s "$cg/cgroup.procs" ]; do sleep 0.05; done
    rmdir "$cg"
    cg=""
    ok "$([ "$(objects "$stem")" -gt 0 ]; echo $?)" "with the host-process reaper only, a killed cgroup leaves objects behind"
    et -p "$stem" ls >"$TMP/ls.log" 2>&1
    ok "$(grep -q "left by an envtest that is gone: $stem" "$TMP/ls.log"; echo $?)" \
        "the next command names the leftover" "$(cat "$TMP/ls.log")"
    et -p "$stem" gc >"$TMP/gc.log" 2>&1
    is "$? $(objects "$stem")" "0 0" "envtest gc removes it" "$(cat "$TMP/gc.log")"
else
    ok 0 "# SKIP no writable cgroup v1 freezer at $freezer"
fi

# ---- a failed up: nothing left as it exits, its reaper container included ------------------------
# (it removes what it made, then lets its reaper go at once instead of leaving it to its grace)
mkdir -p "$TMP/no-dockerfile"
BUSYBOX_CONTEXT="$TMP/no-dockerfile" et -p "$stem" up >"$TMP/fail.log" 2>&1
rc=$?
is "$rc $(objects "$stem")" "3 0" \
    "a failed up (a build context without a Dockerfile): exit 3, nothing left as it exits, its reaper container included" \
    "$(cat "$TMP/fail.log")"

# ---- a kept environment is never reaped ----------------------------------------------------------
et -p "$stem" run --keep-on-failure -- sh -c 'exit 1' >"$TMP/keep.log" 2>&1
is "$?" 1 "a failing run with --keep-on-failure" "$(cat "$TMP/keep.log")"
sleep 13 # the reaper's grace (10 s) is over: had it reaped, it would be now
"$envtest" -H "$host" -f "$compose" -p "$stem" status >/dev/null 2>&1
is "$?" 0 "the kept environment is still up after the reaper's grace"
et -p "$stem" down -v >/dev/null 2>&1
is "$(objects "$stem")" 0 "down removes it"

# ---- Podman ---------------------------------------------------------------------------------------
if [ -S "$podman_sock" ] &&
    [ "$(curl -s --max-time 3 --unix-socket "$podman_sock" http://localhost/_ping)" = OK ]; then
    ENVTEST_DOCKER_SOCK="$podman_sock"
    host="unix://$podman_sock"
    et -p "$stem" up >"$TMP/pwarm.log" 2>&1
    is "$?" 0 "Podman: up (its own reaper image built through Podman's build endpoint)" "$(tail -20 "$TMP/pwarm.log")"
    et -p "$stem" down -v >/dev/null 2>&1
    bad=0 detail=""
    for op in up run up; do
        d="$(rand_delay 5)"
        what="$(one_kill "$op" "$d")"
        [ "$what" = finished ] && { et -p "$stem" down -v >/dev/null 2>&1; continue; }
        read -r left took < <(left_after "$stem" 15)
        if [ "$left" != 0 ]; then
            bad=$((bad + 1))
            detail+="$op killed at ${d}s: $left left$(lock_only "$stem" && echo ' (lock marks only)')"$'\n'
            et -p "$stem" down -v >/dev/null 2>&1
        fi
    done
    is "$bad" 0 "Podman: kill -9 during up and run: no container, network, volume or lock mark left within 15 s" "$detail"
    ENVTEST_DOCKER_SOCK="$main_sock"
    host="unix://$main_sock"
else
    ok 0 "# SKIP no Podman engine at $podman_sock"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
