#!/usr/bin/env bash
# docker test: sca-api (the system under test) is valgrind-clean (or, with ENVTEST_SCA_CHECK=asan
# and ENVTEST_SCA_API_BINARY=<an ASan/UBSan build of sca-api>, sanitizer-clean) over ADR-009's
# 32 tests.
# Brings the Seoul environment up under its own project, runs the host-built sca-api under
# valgrind against the environment's MySQL, mock-llm and mock-vector (published ports), points the
# four ADR suites at it with SCA_API_URL (the suites read only variables, so they test any
# implementation of the API at that URL), then stops the service with SIGTERM and requires:
# every suite passed, valgrind reported 0 errors and no definite or indirect leak, and the
# service exited 0. TAP output. Skips (77) without an engine, a MySQL image or valgrind unless
# ENVTEST_REQUIRE_DOCKER=1.
set -uo pipefail
src="${ENVTEST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
bin="${ENVTEST_BINARY_DIR:-$src/build}"
# shellcheck source=ci/lib.sh
source "$src/ci/lib.sh"
ENVTEST="$bin/cmd/envtest"
export ENVTEST_BUILD_DIR="$bin"
PROJECT="scavg$$"
TMP="$(mktemp -d)"
E=("$ENVTEST" -f "$src/compose/compose.yaml" -p "$PROJECT")
vg_pid=""
cleanup() {
    [ -n "$vg_pid" ] && kill -KILL "$vg_pid" 2>/dev/null
    "${E[@]}" down -v >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
skip() {
    [ "${ENVTEST_REQUIRE_DOCKER:-}" = 1 ] && { echo "Bail out! $1"; exit 1; }
    echo "1..0 # SKIP $1"
    exit 77
}
docker_ping || skip "no Docker engine"
command -v valgrind >/dev/null || skip "no valgrind"
if [ -z "${ENVTEST_MYSQL_IMAGE:-}" ]; then
    for image in mysql:8.4 "$ENVTEST_MYSQL_OFFLINE_IMAGE"; do
        docker_image_exists "$image" && { ENVTEST_MYSQL_IMAGE="$image"; break; }
    done
    [ -n "${ENVTEST_MYSQL_IMAGE:-}" ] || skip "no MySQL image (ci/mysql-image/ensure.sh)"
fi
export ENVTEST_MYSQL_IMAGE
echo "1..3"

if ! "${E[@]}" up >"$TMP/up.log" 2>&1; then
    echo "Bail out! envtest up failed: $(tail -n 5 "$TMP/up.log" | tr '\n' '|')"
    exit 1
fi
vars="$("${E[@]}" env --format json)"
v() { jq -r --arg k "$1" '.[$k]' <<<"$vars"; }
reader_pw="$("${E[@]}" exec mysql sh -c 'printf %s "$SCA_READER_DB_PASSWORD"')"
mysql_hostport="$(v ENVTEST_MYSQL_HOST):$(v ENVTEST_MYSQL_PORT)"
port=$((20000 + $$ % 20000))
check="${ENVTEST_SCA_CHECK:-valgrind}"
service="${ENVTEST_SCA_API_BINARY:-$bin/compose/sca-api/sca-api}"
runner=()
[ "$check" = valgrind ] && runner=(valgrind --quiet --error-exitcode=99 --leak-check=full
    --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect
    --log-file="$TMP/valgrind.log")
: >"$TMP/valgrind.log"

SCA_PORT="$port" SCA_QUIET=1 \
    DATABASE_URL="mysql://$(v ENVTEST_MYSQL_USER):$(v ENVTEST_MYSQL_PASSWORD)@$mysql_hostport/seoul" \
    DATABASE_READONLY_URL="mysql://sca_reader:$reader_pw@$mysql_hostport/seoul" \
    OPENAI_BASE_URL="http://$(v ENVTEST_MOCK_LLM_HOST):$(v ENVTEST_MOCK_LLM_PORT)/v1" OPENAI_API_KEY=envtest \
    QDRANT_URL="http://$(v ENVTEST_MOCK_VECTOR_HOST):$(v ENVTEST_MOCK_VECTOR_PORT)" \
    SCA_ADMIN_KEY="$(v SCA_ADMIN_KEY)" SCA_READER_KEY="$(v SCA_READER_KEY)" \
    ASAN_OPTIONS="detect_leaks=1:exitcode=98:log_path=$TMP/asan" \
    UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$TMP/ubsan" \
    "${runner[@]}" "$service" >"$TMP/service.log" 2>&1 &
vg_pid=$!
url="http://127.0.0.1:$port"
# The service under valgrind takes a few seconds to start: wait for its health route to answer.
for _ in $(seq 1 600); do
    curl -sf -o /dev/null "$url/health" && break
    kill -0 "$vg_pid" 2>/dev/null || break
    sleep 0.1
done

failed_suites=()
for suite in component data api e2e; do
    # the suites' variables as envtest run gives them, with SCA_API_URL at the valgrind'ed service
    if ! env $(jq -r 'to_entries[] | "\(.key)=\(.value)"' <<<"$vars") SCA_API_URL="$url" \
        "$bin/suites/$suite" >"$TMP/$suite.tap" 2>&1; then
        failed_suites+=("$suite: $(grep '^not ok' "$TMP/$suite.tap" | head -n 3 | tr '\n' '|')")
    fi
done
passed=$(cat "$TMP"/{component,data,api,e2e}.tap | grep -c '^ok ')
if [ ${#failed_suites[@]} -eq 0 ] && [ "$passed" -eq 32 ]; then
    echo "ok 1 - the four ADR suites pass against sca-api under $check ($passed of 32 tests)"
else
    echo "not ok 1 - ADR suites against sca-api under $check: $passed of 32 passed"
    printf '#   %s\n' "${failed_suites[@]}"
fi

kill -TERM "$vg_pid" 2>/dev/null
wait "$vg_pid"
status=$?
vg_pid=""
if [ "$status" -eq 0 ]; then
    echo "ok 2 - sca-api exits 0 on SIGTERM under $check"
else
    echo "not ok 2 - sca-api exit status $status under $check (99: valgrind errors, 98: ASan)"
fi
errors="$(cat "$TMP/valgrind.log" "$TMP"/asan* "$TMP"/ubsan* 2>/dev/null | grep -c -E '^==[0-9]+== |ERROR: (Address|Leak)Sanitizer|runtime error')"
if [ "$errors" -eq 0 ]; then
    echo "ok 3 - $check: 0 errors, no definite or indirect leak"
else
    echo "not ok 3 - $check reported problems"
    cat "$TMP/valgrind.log" "$TMP"/asan* "$TMP"/ubsan* 2>/dev/null | head -n 40 | sed 's/^/#   /'
fi
[ "$status" -eq 0 ] && [ "$errors" -eq 0 ] && [ ${#failed_suites[@]} -eq 0 ] && [ "$passed" -eq 32 ]
