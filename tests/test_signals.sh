#!/usr/bin/env bash
# docker test (issue 13, item 4): signals at every point. SIGINT, SIGTERM and SIGHUP are sent to
# envtest at random points of `up` (its services starting, and its fixture load), of `run` (which
# brings the environment up; and against an environment already up), and of `down`. What a user
# checks: exit status 130 (README's exit codes), no process of a suite left, report.json written
# with the interrupted suite, the environment removed right after envtest exits when the command
# created it (envtest cleans itself: no reaper grace), kept with --keep / --keep-on-failure /
# ENVTEST_KEEP=on-failure, and a down interrupted then run again leaves nothing. A second SIGINT
# during the clean-up forces envtest out within seconds; the reaper container (grace 10 s) removes
# the rest within 15 s, and no suite process outlives the forced exit.
# TAP output. Skips (77) without an engine or the MySQL image unless ENVTEST_REQUIRE_DOCKER=1.
#   ENVTEST_TEST_PROJECT   project name stem (default envtest-sig-<pid>)
#   SIGNALS_FIXTURE_ROWS   rows of the fixture's table (default 150000)
#   SIGNALS_PARTS          which parts (default all: up fixture run own keep down force)
set -uo pipefail
src="${ENVTEST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
bin="${ENVTEST_BINARY_DIR:-$src/build}"
# shellcheck source=ci/lib.sh
source "$src/ci/lib.sh"
# shellcheck source=tests/tap_lib.sh
source "$src/tests/tap_lib.sh"
envtest="$bin/cmd/envtest"
stem="${ENVTEST_TEST_PROJECT:-envtest-sig-$$}"
rows="${SIGNALS_FIXTURE_ROWS:-150000}"
parts=" ${SIGNALS_PARTS:-up fixture run own keep down force} "
part() { [[ "$parts" == *" $1 "* ]]; }
TMP="$(mktemp -d)"
export ENVTEST_LOCK_DIR="$TMP"
unset ENVTEST_REAPER ENVTEST_REAPER_GRACE ENVTEST_KEEP

docker_ping || tap_need "no Docker engine at $ENVTEST_DOCKER_SOCK"
[ -x "$envtest" ] || tap_need "no envtest at $envtest"
[ -x "$bin/cmd/envtest-reaper" ] || tap_need "no envtest-reaper beside envtest"
[ -x /bin/busybox ] || tap_need "no /bin/busybox (apt-get install busybox-static)"
tap_mysql_image
mkdir -p "$TMP/busybox" "$TMP/fixture/data"
cp /bin/busybox "$TMP/busybox/"
printf '%s\n' 'FROM scratch' 'COPY busybox /bin/busybox' 'RUN ["/bin/busybox", "--install", "-s", "/bin"]' \
    'RUN ["/bin/busybox", "mkdir", "-p", "/www", "/tmp"]' 'CMD ["sh"]' >"$TMP/busybox/Dockerfile"
export BUSYBOX_CONTEXT="$TMP/busybox"
two="$src/tests/compose/reaper/two.yaml"
fix="$src/tests/compose/signals/fixture.yaml"
host="unix://$ENVTEST_DOCKER_SOCK"
cd "$TMP" || exit 1 # run reports (.envtest/runs) go here
p_up="$stem-up" p_fix="$stem-fix" p_run="$stem-run" p_own="$stem-own" p_keep="$stem-keep"
p_down="$stem-down" p_force="$stem-force"
projects=("$p_up" "$p_fix" "$p_run" "$p_own" "$p_keep" "$p_down" "$p_force")

cleanup() {
    local p
    for p in "${projects[@]}"; do
        remove "$p" "$two"
    done
    cd / && rm -rf "$TMP"
}
trap cleanup EXIT

# The fixture: one MySQL table, long enough to load that a signal can land in it.
cat >"$TMP/fixture/envtest-fixture.yaml" <<'EOF'
name: signals
version: "1.0.0"
steps:
  - type: mysql
    scripts: [schema.sql]
    tables:
      - table: signal_rows
        file: data/rows.csv
        columns:
          id: int not null
          name: varchar(40) not null
          amount: bigint not null
EOF
printf '%s\n' 'CREATE TABLE signal_rows (id INT NOT NULL PRIMARY KEY, name VARCHAR(40) NOT NULL,' \
    '  amount BIGINT NOT NULL);' >"$TMP/fixture/schema.sql"
awk -v n="$rows" 'BEGIN { print "id,name,amount"
    for (i = 1; i <= n; i++) printf "%d,row-%d,%d\n", i, i, i * 7 }' \
    >"$TMP/fixture/data/rows.csv"
"$envtest" fixture pack "$TMP/fixture" -o "$TMP/signals.tar.gz" >"$TMP/pack.log" 2>&1 ||
    tap_need "cannot pack the fixture: $(cat "$TMP/pack.log")"
export SIGNALS_FIXTURE="$TMP/signals.tar.gz"

# objects PROJECT: what the engine holds of it: containers, networks and volumes labelled with it,
# its lock and use marks (not its reaper container: see reaped)
objects() {
    local f c nw v l
    f="$(urlencode "{\"label\":[\"io.envtest.project=$1\"]}")"
    c="$(docker_api_ok GET "/containers/json?all=1&filters=$f" | jq length)"
    nw="$(docker_api_ok GET "/networks?filters=$f" | jq length)"
    v="$(docker_api_ok GET "/volumes?filters=$f" | jq '.Volumes // [] | length')"
    l="$(docker_api_ok GET "/volumes" |
        jq --arg p "$1" '[.Volumes // [] | .[].Name | select(. == "envtest-lock-" + $p or
            startswith("envtest-lock-" + $p + "-beat-") or startswith("envtest-use-" + $p + "-"))] | length')"
    echo $((c + nw + v + l))
}
# reaped PROJECT: objects, its reaper container included
reaped() {
    local r
    r="$(urlencode "{\"label\":[\"io.envtest.reaper=$1\"]}")"
    echo $(($(objects "$1") + $(docker_api_ok GET "/containers/json?all=1&filters=$r" | jq length)))
}
# left_after PROJECT SECONDS: polls until nothing (the reaper container included) is left: prints
# 0 and how long it took, or what is left when the time is up
left_after() {
    local t0=$SECONDS left at
    while :; do
        at=$((SECONDS - t0)) # when the check starts (it takes a while on a busy engine)
        left="$(reaped "$1")"
        if [ "$left" = 0 ] || [ "$at" -ge "$2" ]; then
            echo "$left $at"
            return
        fi
        sleep 0.25
    done
}
rand_delay() { # MIN MAX seconds
    awk -v s="$RANDOM" -v min="$1" -v max="$2" 'BEGIN { srand(s); printf "%.2f", min + rand() * (max - min) }'
}
now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.2f", e - s }'; }
# the suites sleep 91.7 to 96.7 s: what a failure leaves ends by itself
suite_procs() { pgrep -f "^sleep 9[0-9][.]7" | wc -l; } # not envtest, whose arguments say it too
# wait_for SECONDS CMD...: polls CMD every 50 ms until it holds or envtest is gone
wait_for() {
    local end=$((SECONDS + $1))
    shift
    until "$@" || ! kill -0 "$pid" 2>/dev/null; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.05
    done
}
log_has() { grep -q "$1" "$TMP/op.log"; }
procs_at_least() { [ "$(suite_procs)" -ge "$1" ]; }
objects_at_least() { [ "$(objects "$1")" -ge "$2" ]; }

# handlers_ready: envtest (not yet the shell before its exec) catches SIGINT, SIGTERM and SIGHUP
# (/proc's SigCgt mask): a signal before that point would test the kernel's default action, not
# envtest (a sanitizer build takes a while to reach main)
handlers_ready() {
    local mask
    [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == */envtest ]] || return 1
    mask="$(awk '/^SigCgt:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)"
    [ -n "$mask" ] && (((16#$mask & 0x4003) == 0x4003))
}
# start PROJECT COMPOSE ARGS...: envtest in the background ($! is envtest itself), log in
# $TMP/op.log; returns once its signal handlers are in place
start() {
    local p="$1" f="$2"
    shift 2
    (exec "$envtest" -H "$host" -f "$f" -p "$p" "$@") >"$TMP/op.log" 2>&1 &
    pid=$!
    wait_for 10 handlers_ready
}
# stop SIG: sends SIG to envtest (when it still runs) and waits; sets rc and was ("signalled" or
# "finished": it was over before the signal)
stop() {
    if kill -s "$1" "$pid" 2>/dev/null; then was=signalled; else was=finished; fi
    wait "$pid"
    rc=$?
}
log() { tail -15 "$TMP/op.log" | sed 's/^/#   /'; }
remove() { "$envtest" -H "$host" -f "${2:-$two}" -p "$1" down -v >/dev/null 2>&1; } # PROJECT [COMPOSE]

# warm-up: images built (the services', the reaper's), then how long an up takes here (the random
# points are within it)
"$envtest" -H "$host" -f "$two" -p "$p_up" up >"$TMP/warm.log" 2>&1
warm=$?
remove "$p_up" "$two"
t0="$(now)"
"$envtest" -H "$host" -f "$two" -p "$p_up" up >>"$TMP/warm.log" 2>&1
warm="$warm $?"
up_s="$(since "$t0")"
check_eq "warm-up: up of the two-service environment, twice (the second: ${up_s} s)" "0 0" "$warm"
remove "$p_up" "$two"

# ---- up: a signal while its services start -------------------------------------------------------
if part up; then
    for sig in INT TERM HUP; do
        max="$up_s" tries=0
        while :; do
            tries=$((tries + 1))
            d="$(rand_delay 0.2 "$max")"
            start "$p_up" "$two" up
            sleep "$d"
            stop "$sig"
            [ "$was" = signalled ] && [ "$rc" != 0 ] && break
            remove "$p_up" "$two"
            [ "$tries" -ge 5 ] && break
            max="$(awk -v m="$max" 'BEGIN { printf "%.2f", m / 2 < 0.3 ? 0.3 : m / 2 }')"
        done
        left="$(objects "$p_up")"
        check_eq "up, SIG$sig at ${d} s: exit 130, nothing of the project left as it exits" \
            "130 0" "$rc $left"
        [ "$rc $left" = "130 0" ] || { log; remove "$p_up" "$two"; }
    done
fi

# ---- up: a signal during the fixture load ----------------------------------------------------------
if part fixture; then
    for sig in INT TERM HUP; do
        tries=0 max=0.6
        while :; do
            tries=$((tries + 1))
            start "$p_fix" "$fix" up
            if ! wait_for 120 log_has "fixture signals: loading"; then
                was=timeout
                stop KILL
                break
            fi
            d="$(rand_delay 0 "$max")"
            sleep "$d"
            stop "$sig"
            if [ "$was" = signalled ] && grep -q "fixture signals: loading" "$TMP/op.log" &&
                ! grep -q "fixture signals: loaded" "$TMP/op.log"; then
                break
            fi
            remove "$p_fix" "$fix"
            [ "$tries" -ge 4 ] && break
            max=0.2
        done
        left="$(objects "$p_fix")"
        check_eq "up, SIG$sig ${d} s into the fixture load: exit 130, nothing left as it exits" \
            "130 0" "$rc $left"
        [ "$rc $left" = "130 0" ] || { log; remove "$p_fix" "$fix"; }
    done
fi

# ---- run against an environment already up -----------------------------------------------------------
if part run; then
    "$envtest" -H "$host" -f "$two" -p "$p_run" up >/dev/null 2>&1
    check_eq "up of the environment the next runs use" 0 "$?"
    for sig in INT TERM HUP; do
        rm -rf "$TMP/rep"
        start "$p_run" "$two" run --report-dir "$TMP/rep" -- sh -c 'sleep 91.7 & sleep 92.7; wait'
        wait_for 60 procs_at_least 2
        d="$(rand_delay 0.05 0.8)"
        sleep "$d"
        stop "$sig"
        procs="$(suite_procs)"
        st="$(jq -r '[.suites[].status] | join(",")' "$TMP/rep/report.json" 2>&1)"
        "$envtest" -H "$host" -f "$two" -p "$p_run" status >/dev/null 2>&1
        up=$?
        name="run on a live environment, SIG$sig ${d} s into the suite: exit 130, its processes"
        name+=" gone, report.json says interrupted, the environment still up"
        check_eq "$name" "130 0 interrupted 0" "$rc $procs $st $up"
        [ "$rc $procs $st $up" = "130 0 interrupted 0" ] || log
    done
    remove "$p_run" "$two"
fi

# ---- run that brings the environment up -------------------------------------------------------------
if part own; then
    for sig in INT TERM HUP; do
        d="$(rand_delay 0.2 "$(awk -v u="$up_s" 'BEGIN { printf "%.2f", u + 1.5 }')")"
        start "$p_own" "$two" run -- sh -c 'sleep 93.7'
        sleep "$d"
        stop "$sig"
        procs="$(suite_procs)"
        left="$(objects "$p_own")"
        name="run bringing the environment up, SIG$sig at ${d} s ($was): exit 130, no suite"
        name+=" process, nothing left as it exits"
        check_eq "$name" \
            "130 0 0" "$rc $procs $left"
        [ "$rc $procs $left" = "130 0 0" ] || { log; remove "$p_own" "$two"; }
    done
fi

# ---- kept when the user says so ----------------------------------------------------------------------
if part keep; then
    for how in --keep-on-failure ENVTEST_KEEP; do
        if [ "$how" = ENVTEST_KEEP ]; then
            export ENVTEST_KEEP=on-failure
            start "$p_keep" "$two" run -- sh -c 'sleep 94.7'
            unset ENVTEST_KEEP
        else
            start "$p_keep" "$two" run --keep-on-failure -- sh -c 'sleep 94.7'
        fi
        wait_for 60 procs_at_least 1
        stop INT
        "$envtest" -H "$host" -f "$two" -p "$p_keep" status >/dev/null 2>&1
        up=$?
        check_eq "run $how, SIGINT in the suite: exit 130, the environment kept (status exit 0)" "130 0" "$rc $up"
        [ "$rc $up" = "130 0" ] || log
        remove "$p_keep" "$two"
    done
    start "$p_keep" "$two" up --keep
    wait_for 60 objects_at_least "$p_keep" 3
    stop TERM
    left="$(objects "$p_keep")"
    kept=no
    [ "$left" -gt 0 ] && kept=yes
    check_eq "up --keep, SIGTERM once its containers exist: exit 130, what it made kept ($left objects)" \
        "130 yes" "$rc $kept"
    remove "$p_keep" "$two"
fi

# ---- down interrupted, then again ----------------------------------------------------------------
if part down; then
    for sig in INT TERM HUP; do
        "$envtest" -H "$host" -f "$two" -p "$p_down" up >/dev/null 2>&1
        d="$(rand_delay 0.05 0.6)"
        start "$p_down" "$two" down -v
        sleep "$d"
        stop "$sig"
        rc1=$rc
        "$envtest" -H "$host" -f "$two" -p "$p_down" down -v >"$TMP/down2.log" 2>&1
        rc2=$?
        left="$(objects "$p_down")"
        [ "$rc1" = 0 ] && rc1=130 # over before the signal: as good as interrupted
        check_eq "down, SIG$sig at ${d} s ($was; exit 0 or 130), then down again: exit 0, nothing left" \
            "130 0 0" "$rc1 $rc2 $left"
    done
fi

# ---- a second SIGINT during the clean-up ---------------------------------------------------------
if part force; then
    for op in up run; do
        if [ "$op" = up ]; then
            start "$p_force" "$two" up
            wait_for 60 objects_at_least "$p_force" 3
        else
            # a suite that ignores SIGTERM: the clean-up waits for it (the runner's grace)
            start "$p_force" "$two" run -- sh -c 'trap "" TERM; sleep 95.7 & sleep 96.7; wait'
            wait_for 60 procs_at_least 2
        fi
        kill -INT "$pid" 2>/dev/null
        sleep 0.05
        t0="$(now)"
        stop INT
        took="$(since "$t0")"
        forced="$(grep -c "interrupted again" "$TMP/op.log")"
        procs="$(suite_procs)"
        fast=no
        awk -v t="$took" 'BEGIN { exit !(t < 3) }' && fast=yes
        name="$op: a second SIGINT during the clean-up: exit 130 within 3 s (${took} s), forced,"
        name+=" no suite process left"
        check_eq "$name" \
            "130 yes 1 0" "$rc $fast $forced $procs"
        [ "$rc $fast $forced $procs" = "130 yes 1 0" ] || log
        read -r left took < <(left_after "$p_force" 15)
        name="$op: after the forced exit, the reaper container removes the rest within 15 s"
        check_eq "$name (${took} s)" 0 "$left"
        [ "$left" = 0 ] || remove "$p_force" "$two"
    done
fi

# ---- at the end, nothing of any project (their reapers included) ----------------------------------
bad=""
for p in "${projects[@]}"; do
    read -r left took < <(left_after "$p" 15)
    [ "$left" = 0 ] || bad+="$p: $left "
done
check_eq "nothing of the test's projects left, their reaper containers included" "" "$bad"
tap_done
