#!/usr/bin/env bash
# docker test (issue 13, item 3): a service killed by the OOM killer.
#  - during `up`: a service over its mem_limit (16m, tests/compose/faults/oom.yaml) dies while up
#    waits on its healthcheck, or on its port: up exits 3 at once (not after --wait-timeout; the
#    Docker engine also calls a dead container's health "unhealthy", the port wait has only the
#    death to go by), the error names the service, says the OOM killer killed it (the engine's
#    State.OOMKilled) with its limit and what to do (raise mem_limit), and nothing of the project
#    is left (containers, networks, volumes);
#  - during `run`: a service that is up grows over its limit when the suite's request comes: run
#    exits 3 naming the service and the OOM kill, report.json has it under "service_failures", and
#    `down` leaves nothing.
# The service is tests/images/oom/hog.c, linked statically (CMake target oom_hog) into a FROM
# scratch image. TAP output. Skips (77) without an engine unless ENVTEST_REQUIRE_DOCKER=1.
#   ENVTEST_TEST_PROJECT  project name (default envtest-oom-<pid>)
#   ENVTEST_OOM_HOG       the static hog (default <build>/tests/oom_hog)
set -uo pipefail
src="${ENVTEST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
bin="${ENVTEST_BINARY_DIR:-$src/build}"
# shellcheck source=ci/lib.sh
source "$src/ci/lib.sh"
envtest="$bin/cmd/envtest"
hog="${ENVTEST_OOM_HOG:-$bin/tests/oom_hog}"
project="${ENVTEST_TEST_PROJECT:-envtest-oom-$$}"
TMP="$(mktemp -d)"
export ENVTEST_LOCK_DIR="$TMP"
n=0 failed=0
# shellcheck source=tests/tap_counts.sh
source "$src/tests/tap_counts.sh"
docker_ping || need "no Docker engine at $ENVTEST_DOCKER_SOCK"
[ -x "$envtest" ] || need "no envtest at $envtest"
[ -x "$hog" ] || need "no static hog at $hog (cmake --build: target oom_hog)"

mkdir -p "$TMP/ctx" "$TMP/work"
cp "$hog" "$TMP/ctx/hog"
cp "$src/tests/images/oom/Dockerfile" "$TMP/ctx/"
export OOM_CONTEXT="$TMP/ctx"
compose="$src/tests/compose/faults/oom.yaml"
et() { (cd "$TMP/work" && exec "$envtest" -f "$compose" -p "$project" "$@"); }
cleanup() {
    et --profile up --profile port --profile run down -v --rmi local >/dev/null 2>&1
    local ref id
    for ref in envtest/oomhog envtest/oomport envtest/oomserve; do # the images this test built, by name
        for id in $(docker_api GET "/images/json?filters=$(urlencode "{\"reference\":[\"$ref\"]}")" |
            jq -r '.[].Id'); do
            docker_api DELETE "/images/$id?force=1" >/dev/null 2>&1
        done
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

objects() { # containers, networks, volumes labelled with the project
    local f
    f="$(urlencode "{\"label\":[\"io.envtest.project=$project\"]}")"
    echo $(($(docker_api GET "/containers/json?all=1&filters=$f" | jq length) +
        $(docker_api GET "/networks?filters=$f" | jq length) +
        $(docker_api GET "/volumes?filters=$f" | jq '.Volumes // [] | length')))
}
et --profile up --profile port --profile run down -v >/dev/null 2>&1

# --- up: the service dies of the OOM killer while up waits on its healthcheck, or on its port ----
for case in hog port; do
    t0=$(date +%s.%N)
    et --profile "${case/hog/up}" up --wait-timeout 45 >"$TMP/up.log" 2>&1
    code=$?
    took=$(awk -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
    is "$code" 3 "up ($case): a service OOM-killed during up: exit 3" "$(cat "$TMP/up.log")"
    # the wait must end with the container, not the 45 s timeout: from up's own progress lines
    # ("oomport: waiting (7.0s) ports" ... "oomport: failed (7.7s)"), the build time apart
    waited=$(awk -v s="oom$case:" '$1 == s && $2 == "waiting" { w = $3 } $1 == s && $2 == "failed" { f = $3 }
        END { gsub(/[()s]/, "", w); gsub(/[()s]/, "", f); if (w == "" || f == "") print "?"; else printf "%.1f", f - w }' "$TMP/up.log")
    ok "$(awk -v t="$waited" 'BEGIN { exit !(t != "?" && t < 10) }'; echo $?)" \
        "up ($case): its wait ends at once when the container dies (${waited} s of --wait-timeout 45; up ${took} s)" \
        "$(cat "$TMP/up.log")"
    has "$TMP/up.log" "service oom$case: container killed by the OOM killer" \
        "up ($case): the error names the service and says the OOM killer killed it"
    has "$TMP/up.log" "its limit of 16 MiB" "up ($case): the error gives its memory limit"
    has "$TMP/up.log" "raise the service's mem_limit" "up ($case): the error says what to do"
    is "$(objects)" 0 "up ($case): the failing up left nothing (containers, networks, volumes)"
done

# --- run: the service is up and healthy, then a suite's request makes it grow over its limit ----
et --profile run up >"$TMP/up2.log" 2>&1
is "$?" 0 "run: the environment is up" "$(cat "$TMP/up2.log")"
# the suite sends a request and reads until the service hangs up (it dies); judged by its exit code
t0=$(date +%s.%N)
et --profile run run --report-dir "$TMP/report" -- timeout 30 bash -c \
    'exec 3<>"/dev/tcp/127.0.0.1/$ENVTEST_OOMSERVE_PORT" && echo go >&3 && cat <&3 >/dev/null; exit 0' \
    >"$TMP/run.log" 2>&1
code=$?
took=$(awk -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
is "$code" 3 "run: a service OOM-killed during run: exit 3 (the suite itself passed)" "$(cat "$TMP/run.log")"
ok "$(awk -v t="$took" 'BEGIN { exit !(t < 25) }'; echo $?)" "run: no hang (${took} s)"
has "$TMP/run.log" "service oomserve died while the suites ran: killed by the OOM killer" \
    "run: the error names the service and the OOM kill"
has "$TMP/run.log" "raise the service's mem_limit" "run: the error says what to do"
is "$(jq -r '.service_failures[0] | "\(.service) \(.oom_killed) \(.memory_limit)"' "$TMP/report/report.json" 2>&1)" \
    "oomserve true 16777216" "run: report.json's service_failures has it"
is "$(jq -r '.status' "$TMP/report/report.json" 2>&1)" passed "run: report.json keeps the suites' own verdict"
et --profile run down -v >"$TMP/down.log" 2>&1
is "$? $(objects)" "0 0" "run: after down nothing is left" "$(cat "$TMP/down.log")"

echo "1..$n"
[ "$failed" -eq 0 ]
