#!/usr/bin/env bash
# docker test: real services instead of mocks, and mock-llm's record mode through envtest.
#   1. A mock-llm process on the host (the "real" LLM, serving the fixture's cassette) listens on
#      the default bridge's gateway (docker0, e.g. 172.17.0.1): a host address every container on
#      any bridge network reaches (127.0.0.1 in a container is the container itself, and envtest
#      has no host networking). `envtest up --real mock-llm=http://GATEWAY:PORT/v1` brings the
#      Seoul environment up without a mock-llm container; status says "real" (also without
#      --real: the network remembers it); env gives ENVTEST_MOCK_LLM_URL; sca-api's analysis
#      request reaches the external server (its journal has the question) and is answered from it.
#   2. ENVTEST_LLM_RECORD=http://GATEWAY:PORT/v1 `envtest up mock-llm`: the record build proxies
#      to that server and the cassette lands in ENVTEST_LLM_CASSETTE_DIR, without the key.
# TAP output. Skips (77) without an engine or the offline/online MySQL image unless
# ENVTEST_REQUIRE_DOCKER=1. Project: $ENVTEST_TEST_PROJECT (default envtest-test-real-<pid>).
set -u
src="${ENVTEST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
# shellcheck source=ci/lib.sh
source "$src/ci/lib.sh"
bin="${ENVTEST_BINARY_DIR:-$src/build}"
export ENVTEST_BUILD_DIR="$bin"
project="${ENVTEST_TEST_PROJECT:-envtest-test-real-$$}"
envtest="$bin/cmd/envtest"
mock="$bin/compose/mock-llm/context/mock-llm"
tmp=$(mktemp -d /tmp/envtest-real-XXXXXX)
n=0
failed=0
mock_pid=""
et() { "$envtest" -f "$src/compose/compose.yaml" -p "$project" "$@"; }
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
    n=$((n + 1)) failed=$((failed + 1))
    echo "not ok $n - $1"
    [ -n "${2:-}" ] && printf '%s\n' "$2" | tail -15 | sed 's/^/# /'
}
skip() {
    [ "${ENVTEST_REQUIRE_DOCKER:-0}" = 1 ] && { echo "Bail out! $1"; exit 1; }
    echo "1..0 # SKIP $1"
    exit 77
}
cleanup() {
    et down -v >/dev/null 2>&1
    [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -x "$envtest" ] && [ -x "$mock" ] || skip "envtest or mock-llm not built in $bin"
docker_ping || skip "no Docker engine at $ENVTEST_DOCKER_SOCK"
[ -d "$bin/compose/sca-api/context" ] && [ -d "$bin/compose/mock-llm/record-context" ] ||
    skip "sca-api or mock-llm's record image context not built"
if [ -z "${ENVTEST_MYSQL_IMAGE:-}" ]; then
    if docker_image_exists "$ENVTEST_MYSQL_OFFLINE_IMAGE"; then
        export ENVTEST_MYSQL_IMAGE="$ENVTEST_MYSQL_OFFLINE_IMAGE"
    elif docker_image_exists mysql:8.4; then
        export ENVTEST_MYSQL_IMAGE=mysql:8.4
    else
        skip "no MySQL image (ci/mysql-image/ensure.sh builds one)"
    fi
fi
gateway=$(ip -4 -o addr show docker0 2>/dev/null | awk '{ sub("/.*", "", $4); print $4; exit }')
[ -n "$gateway" ] || skip "no docker0 bridge: cannot place a host server where containers reach it"

# the "real" LLM on the host
"$mock" --host "$gateway" --port 0 --port-file "$tmp/port" --quiet \
    --cassette "$src/fixtures/cassette.json" >"$tmp/mock.log" 2>&1 &
mock_pid=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
port=$(cat "$tmp/port" 2>/dev/null)
[ -n "$port" ] || skip "the host mock-llm did not start: $(cat "$tmp/mock.log")"
url="http://$gateway:$port/v1"
echo "# external LLM at $url"

echo "1..9"
et down -v >/dev/null 2>&1
if out=$(et --real "mock-llm=$url" up --wait-timeout 600 2>&1); then
    ok "envtest up --real mock-llm=$url"
else
    not_ok "envtest up --real mock-llm=$url" "$out"
    exit 1
fi
printf '%s\n' "$out" | grep -q "mock-llm: real .*$url" &&
    printf '%s\n' "$out" | grep -q "skipped: real service" &&
    ok "up says mock-llm is real and skips the fixture's /__admin/ step" ||
    not_ok "up's progress" "$out"

containers=$(docker_api GET "/containers/json?all=1&filters=$(urlencode "{\"label\":[\"io.envtest.project=$project\"]}")")
if printf '%s' "$containers" | grep -q "\"io.envtest.service\":\"mock-llm\""; then
    not_ok "no mock-llm container" "$containers"
elif printf '%s' "$containers" | grep -q "\"io.envtest.service\":\"sca-api\""; then
    ok "no mock-llm container (sca-api and the others are there)"
else
    not_ok "the engine lists the project's containers" "$containers"
fi

status=$(et status --json 2>&1)
rc=$?
if [ $rc -eq 0 ] && printf '%s' "$status" | tr -d ' \n' | grep -q "\"service\":\"mock-llm\"[^}]*\"state\":\"real\""; then
    ok "status without --real: mock-llm real (kept on the network), exit 0"
else
    not_ok "status without --real (exit $rc)" "$status"
fi

vars=$(et env 2>&1)
printf '%s\n' "$vars" | grep -qx "export ENVTEST_MOCK_LLM_URL='$url'" &&
    printf '%s\n' "$vars" | grep -qx "export ENVTEST_MOCK_LLM_PORT='$port'" &&
    ok "env: ENVTEST_MOCK_LLM_URL and _PORT are the external server's" ||
    not_ok "env" "$vars"

eval "$vars"
question="강남구에서 매출이 가장 높은 업종은 무엇인가요?"
answer=$(curl -s -H "Authorization: Bearer ${SCA_READER_KEY:-}" -H 'Content-Type: application/json' \
    "${SCA_API_URL:-http://127.0.0.1:$ENVTEST_SCA_API_PORT}/api/v1/analysis/sql" \
    -d "{\"question\":\"$question\"}")
printf '%s' "$answer" | grep -q '"fallback":false' && printf '%s' "$answer" | grep -q '한식음식점' &&
    ok "sca-api answers the analysis from the external LLM" ||
    not_ok "sca-api's analysis" "$answer"

journal=$(curl -s "http://$gateway:$port/__admin/requests")
printf '%s' "$journal" | grep -q "$question" &&
    printf '%s' "$journal" | grep -q '"matched":"sql-01"' &&
    ok "the external server's journal has sca-api's request (rule sql-01)" ||
    not_ok "the external server's journal" "$journal"
et down -v >/dev/null 2>&1

# record mode through envtest: only mock-llm, proxying to the host server
mkdir -p "$tmp/cassettes"
key="sk-envtest-real-test-5Rt8Lp"
if out=$(ENVTEST_LLM_RECORD="$url" ENVTEST_LLM_CASSETTE_DIR="$tmp/cassettes" OPENAI_API_KEY="$key" \
    et up --wait-timeout 600 --no-fixtures mock-llm 2>&1); then
    llm_port=$(et env | sed -n "s/^export ENVTEST_MOCK_LLM_PORT='\(.*\)'/\1/p")
    reply=$(curl -s "http://127.0.0.1:$llm_port/v1/chat/completions" \
        -d "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"$question\"}]}")
    printf '%s' "$reply" | grep -q 'SELECT industry_name' &&
        ok "ENVTEST_LLM_RECORD: the record build answers through the host server" ||
        not_ok "record mode's answer" "$reply"
    file="$tmp/cassettes/recorded.json"
    if [ -f "$file" ] && grep -q "$question" "$file" && ! grep -q "$key" "$file"; then
        ok "the cassette is in ENVTEST_LLM_CASSETTE_DIR with the question, without the key"
    else
        not_ok "the recorded cassette" "$(cat "$file" 2>&1)"
    fi
else
    not_ok "ENVTEST_LLM_RECORD=$url envtest up mock-llm" "$out"
    not_ok "the recorded cassette (no environment)"
fi
[ $failed -eq 0 ]
