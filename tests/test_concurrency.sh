#!/usr/bin/env bash
# docker test (issue 13, item 1): many envtests on one project, and many projects on one engine.
#  - two `up` of one project at once: both exit 0, one waits naming the holder, one environment;
#  - two `run` of one project that is not up: both exit 0, they share one environment (the same
#    DATABASE_URL), the last one to leave removes it;
#  - `down` while another's `up` runs: it waits, then nothing is left;
#  - the holder killed (SIGKILL) mid-up: the next `up` takes its lock over and succeeds;
#  - 8 projects up at once: all healthy, no collision (distinct networks and host ports), nothing
#    left after their `down`.
# Uses tests/compose/lifecycle/three.yaml (MySQL + two busybox services). TAP output. Skips (77)
# without an engine or the MySQL image unless ENVTEST_REQUIRE_DOCKER=1.
#   ENVTEST_TEST_PROJECT  the project-name stem (default envtest-conc-<pid>); stem and stem1..stem8 are used
set -uo pipefail
src="${ENVTEST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
bin="${ENVTEST_BINARY_DIR:-$src/build}"
# shellcheck source=ci/lib.sh
source "$src/ci/lib.sh"
envtest="$bin/cmd/envtest"
stem="${ENVTEST_TEST_PROJECT:-envtest-conc-$$}"
export ENVTEST_MYSQL_IMAGE="${ENVTEST_MYSQL_IMAGE:-$ENVTEST_MYSQL_OFFLINE_IMAGE}"
TMP="$(mktemp -d)"
export ENVTEST_LOCK_DIR="$TMP" # this test's own local locks
n=0 failed=0

# shellcheck source=tests/tap_counts.sh
source "$src/tests/tap_counts.sh"

docker_ping || need "no Docker engine at $ENVTEST_DOCKER_SOCK"
docker_image_exists "$ENVTEST_MYSQL_IMAGE" || need "no image $ENVTEST_MYSQL_IMAGE"
[ -x "$envtest" ] || need "no envtest at $envtest"
[ -x /bin/busybox ] || need "no /bin/busybox (apt-get install busybox-static)"
mkdir -p "$TMP/busybox"
cp /bin/busybox "$TMP/busybox/"
printf '%s\n' 'FROM scratch' 'COPY busybox /bin/busybox' 'RUN ["/bin/busybox", "--install", "-s", "/bin"]' \
    'RUN ["/bin/busybox", "mkdir", "-p", "/www", "/tmp"]' 'CMD ["sh"]' >"$TMP/busybox/Dockerfile"
export BUSYBOX_CONTEXT="$TMP/busybox"
compose="$src/tests/compose/lifecycle/three.yaml"
et() { "$envtest" -f "$compose" "$@"; }

projects=("$stem")
for i in 1 2 3 4 5 6 7 8; do projects+=("$stem$i"); done
cleanup() {
    local p
    for p in "${projects[@]}"; do et -p "$p" down -v --rmi local >/dev/null 2>&1; done
    rm -rf "$TMP"
}
trap cleanup EXIT

# objects PROJECT: containers + networks + volumes labelled with it, and its lock/use volumes
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
networks() { # networks PROJECT -> how many networks carry its label
    docker_api_ok GET "/networks?filters=$(urlencode "{\"label\":[\"io.envtest.project=$1\"]}")" | jq length
}
containers() { # containers PROJECT -> how many containers carry its label
    docker_api_ok GET "/containers/json?all=1&filters=$(urlencode "{\"label\":[\"io.envtest.project=$1\"]}")" | jq length
}
# wait_network PROJECT: until up has created the project's network (the engine tells; 60 s at most)
wait_network() {
    local end=$((SECONDS + 60))
    until [ "$(networks "$1")" -ge 1 ]; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.05
    done
}

p="$stem"
et -p "$p" down -v >/dev/null 2>&1

# ---- two up at once ------------------------------------------------------------------------------
et -p "$p" up >"$TMP/up1.log" 2>&1 &
a=$!
et -p "$p" up >"$TMP/up2.log" 2>&1 &
b=$!
wait $a
ra=$?
wait $b
rb=$?
is "$ra $rb" "0 0" "two up at once: both exit 0" 
ok "$(grep -l 'waiting for .*held by envtest up (pid' "$TMP/up1.log" "$TMP/up2.log" | wc -l | grep -qx 1; echo $?)" \
    "one of them waited, naming the holder" "$(cat "$TMP/up1.log" "$TMP/up2.log")"
is "$(networks "$p") $(containers "$p")" "1 3" "one environment: one network, three containers"
et -p "$p" status >/dev/null 2>&1
is "$?" 0 "it is healthy"
et -p "$p" down -v >/dev/null 2>&1
is "$(objects "$p")" 0 "nothing left after down"

# ---- two run at once on a project that is not up -------------------------------------------------
# Each writes its DATABASE_URL's host:port (each has its own database; no password in the log),
# then waits for the other's (2 minutes at most): both are inside their run at once, however long
# the first one's up takes (under ASan on a slow runner, longer than any fixed sleep), so they
# must share the environment.
cmd='test -n "$DATABASE_URL" || exit 1; u="${DATABASE_URL##*@}"
    echo "${u%%/*}" >"$OUT.tmp" && mv "$OUT.tmp" "$OUT" || exit 1
    i=0; until [ -s "$OTHER" ] || [ $i -ge 1200 ]; do sleep 0.1; i=$((i + 1)); done; test -s "$OTHER"'
OUT="$TMP/run1.url" OTHER="$TMP/run2.url" et -p "$p" run -- sh -c "$cmd" >"$TMP/run1.log" 2>&1 &
a=$!
OUT="$TMP/run2.url" OTHER="$TMP/run1.url" et -p "$p" run -- sh -c "$cmd" >"$TMP/run2.log" 2>&1 &
b=$!
wait $a
ra=$?
wait $b
rb=$?
is "$ra $rb" "0 0" "two run at once: both exit 0" "$(cat "$TMP/run1.log" "$TMP/run2.log")"
is "$(cat "$TMP/run1.url" 2>/dev/null)" "$(cat "$TMP/run2.url" 2>/dev/null)" \
    "they shared one environment (same DATABASE_URL)" "$(cat "$TMP/run1.log" "$TMP/run2.log")"
ok "$(grep -q 'stays up: 1 other run uses it' "$TMP/run1.log" "$TMP/run2.log"; echo $?)" \
    "the first to finish left it to the other" "$(cat "$TMP/run1.log" "$TMP/run2.log")"
is "$(objects "$p")" 0 "the last run removed it: nothing left"

# ---- down during another's up --------------------------------------------------------------------
et -p "$p" up >"$TMP/up3.log" 2>&1 &
a=$!
wait_network "$p"
ok $? "up has begun (its network exists)"
et -p "$p" down -v >"$TMP/down3.log" 2>&1
rd=$?
wait $a
ra=$?
is "$ra $rd" "0 0" "down during up: both exit 0 (down waited)" "$(cat "$TMP/up3.log" "$TMP/down3.log")"
ok "$(grep -q 'waiting for .*held by envtest up' "$TMP/down3.log"; echo $?)" "down said whom it waited for"
is "$(objects "$p")" 0 "nothing left"

# ---- a dead holder's lock is taken over ----------------------------------------------------------
(exec "$envtest" -f "$compose" -p "$p" up) >/dev/null 2>&1 & # exec: $! is envtest itself
a=$!
wait_network "$p"
kill -9 $a
wait $a 2>/dev/null
timeout 120 "$envtest" -f "$compose" -p "$p" up >"$TMP/up4.log" 2>&1
is "$?" 0 "after the holder's kill -9, the next up takes its lock over and succeeds" "$(cat "$TMP/up4.log")"
et -p "$p" down -v >/dev/null 2>&1
is "$(objects "$p")" 0 "nothing left"

# ---- 8 projects at once --------------------------------------------------------------------------
pids=()
for i in 1 2 3 4 5 6 7 8; do
    et -p "$stem$i" up >"$TMP/p$i.log" 2>&1 &
    pids+=($!)
done
codes=""
for pid in "${pids[@]}"; do
    wait "$pid"
    codes+="$? "
done
is "$codes" "0 0 0 0 0 0 0 0 " "8 projects up at once: all exit 0" "$(cat "$TMP"/p?.log | tail -40)"
healthy=0 ports="" nets=""
for i in 1 2 3 4 5 6 7 8; do
    et -p "$stem$i" status >/dev/null 2>&1 && healthy=$((healthy + 1))
    ports+="$(et -p "$stem$i" status --json 2>/dev/null | jq -r '.services[].ports[]?.host_port')"$'\n'
    nets+="$(networks "$stem$i")"
done
is "$healthy" 8 "all 8 healthy"
is "$nets" "11111111" "one network each"
dup="$(grep -v '^$' <<<"$ports" | sort | uniq -d | wc -l)"
total="$(grep -cv '^$' <<<"$ports")"
is "$dup" 0 "no host port used twice ($total published)"
left=0
for i in 1 2 3 4 5 6 7 8; do
    et -p "$stem$i" down -v --rmi local >/dev/null 2>&1
    left=$((left + $(objects "$stem$i")))
done
is "$left" 0 "0 objects left after their down"

echo "1..$n"
[ "$failed" -eq 0 ]
