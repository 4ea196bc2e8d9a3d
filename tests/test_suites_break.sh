#!/usr/bin/env bash
# shellcheck disable=SC2034 # the EXPECT_* lists are read through declare -n
# docker test: the suites can fail. Brings the Seoul environment (compose/compose.yaml: MySQL,
# mock-llm, mock-vector, sca-api) up under its own project names, breaks it one way per project,
# runs every suite with `envtest run` and checks from the run's report.json that EXACTLY the
# expected test points fail and every other one passes (all five suites ran their full plans).
# TAP output. Skips (77) without an engine, a MySQL image or the built suites unless
# ENVTEST_REQUIRE_DOCKER=1.
#
#   ENVTEST_BREAKS="mysql llm500 fixture cassette"   the breaks to run (default: all four)
#   ENVTEST_BREAK_DISCOVER=1                           print the failing points of each break as
#                                                       expectation lines (to update the lists)
set -uo pipefail
src="${ENVTEST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
bin="${ENVTEST_BINARY_DIR:-$src/build}"
# shellcheck source=ci/lib.sh
source "$src/ci/lib.sh"

ENVTEST="$bin/cmd/envtest"
COMPOSE="$src/compose/compose.yaml"
export ENVTEST_BUILD_DIR="$bin"
BREAKS="${ENVTEST_BREAKS:-mysql llm500 fixture cassette}"
TMP="$(mktemp -d)"
PROJECTS=()
n=0 failed=0

# ---- the expectations ----------------------------------------------------------------------------
# One line per test point that must fail: "suite#number name-prefix". Every point not listed must
# pass. The reasons are in the comments; the names are checked too, so a renumbered suite fails here.

# (a) MySQL stopped (the Engine API's stop of the mysql container, after up; the suites get the
#     variables `envtest env` gave while it was up, and run with --no-env, since `envtest run`
#     would otherwise restart what is down). Fails: everything that reads the database, directly
#     (the suites' own independent queries) or through the service (analyses run SQL -> 503
#     database_error; KPIs, audit, settings, reports, ETL are in MySQL; /health says "down", 503).
#     Passes: what needs no database at all: the mock-only checks of the environment suite
#     (models, chat, embeddings, Qdrant, journal, faults, mock health) and the service's
#     document upload and search (embeddings + vector store only: component#3, data#3, api#2,
#     e2e#2). The service's 401/403/413 need no query, but each of those tests also reads the
#     audit log or settings, which are in MySQL.
EXPECT_mysql=(
    "component#1 test_database_connection"
    "component#2 test_llm_service_integration"
    "component#4 test_report_service_integration"
    "component#5 test_kpi_service_integration"
    "component#6 test_cache_service_integration"
    "component#7 test_error_handling_integration"
    "component#8 test_security_service_integration"
    "data#1 test_etl_pipeline_integration"
    "data#2 test_sql_query_integration"
    "data#4 test_report_data_integration"
    "data#5 test_kpi_data_integration"
    "data#6 test_cache_data_integration"
    "data#7 test_data_validation_integration"
    "data#8 test_data_transformation_integration"
    "api#1 test_sql_analysis_api_integration"
    "api#3 test_report_generation_api_integration"
    "api#4 test_kpi_dashboard_api_integration"
    "api#5 test_health_check_api_integration"
    "api#6 test_system_settings_api_integration"
    "api#7 test_error_handling_api_integration"
    "api#8 test_security_api_integration"
    "e2e#1 test_complete_sql_analysis_workflow"
    "e2e#3 test_complete_report_generation_workflow"
    "e2e#4 test_complete_kpi_dashboard_workflow"
    "e2e#5 test_complete_system_health_workflow"
    "e2e#6 test_complete_error_handling_workflow"
    "e2e#7 test_complete_security_workflow"
    "e2e#8 test_complete_performance_workflow"
    "environment#1 database: connection"
    "environment#2 database: utf8mb4"
    "environment#3 database: a second connection"
    "environment#10 security: parameterised query"
    "environment#12 security: LLM refuses"
    "environment#13 etl: row counts"
    "environment#14 etl: all 25"
    "environment#15 etl: no NULLs"
    "environment#16 etl: sums by district"
    "environment#17 korean: text round-trips"
    "environment#18 text-to-sql: LLM SQL answers the 강남구"
    "environment#19 text-to-sql: more cassette"
    "environment#21 isolation: writes stay"
    "environment#29 workflow: question -> LLM SQL"
    "environment#31 workflow: KPI quarterly"
    "environment#33 workflow: health of mock-llm"
)

# (b) a permanent 500 from mock-llm (a global fault on /v1/*, PUT /__admin/faults). Fails: every
#     answer that needs the LLM: analyses become fallbacks (so rows, reports, caching of answers,
#     injections reaching the guard, the recovery after a storm or a one-shot 503, the P95 of
#     real answers all fail); embeddings fail (document search and upload); the service's
#     /health says "degraded" (it lists models); every environment check that calls mock-llm's
#     /v1 API. Passes: what needs no LLM answer: ETL and validation (data#1, #7), settings
#     (api#6), the KPIs (component#5, data#5, api#4: a fallback is an analysis too, counted,
#     with an id for feedback), the service's refusals (component#8) and the security workflow
#     (e2e#7: a fallback is still a 200); MySQL, Qdrant and mock-health checks of the
#     environment suite.
EXPECT_llm500=(
    "api#1 test_sql_analysis_api_integration"
    "api#2 test_document_search_api_integration"
    "api#3 test_report_generation_api_integration"
    "api#5 test_health_check_api_integration"
    "api#7 test_error_handling_api_integration"
    "api#8 test_security_api_integration"
    "component#1 test_database_connection"
    "component#2 test_llm_service_integration"
    "component#3 test_rag_service_integration"
    "component#4 test_report_service_integration"
    "component#6 test_cache_service_integration"
    "component#7 test_error_handling_integration"
    "data#2 test_sql_query_integration"
    "data#3 test_rag_data_integration"
    "data#4 test_report_data_integration"
    "data#6 test_cache_data_integration"
    "data#8 test_data_transformation_integration"
    "e2e#1 test_complete_sql_analysis_workflow"
    "e2e#2 test_complete_document_search_workflow"
    "e2e#3 test_complete_report_generation_workflow"
    "e2e#4 test_complete_kpi_dashboard_workflow"
    "e2e#5 test_complete_system_health_workflow"
    "e2e#6 test_complete_error_handling_workflow"
    "e2e#8 test_complete_performance_workflow"
    "environment#4 llm: GET /v1/models"
    "environment#5 llm: chat completion"
    "environment#7 rag: search returns hits"
    "environment#8 error handling: injected 503 and 429"
    "environment#9 error handling: retry with backoff"
    "environment#11 security: mock-llm rejects invalid JSON"
    "environment#12 security: LLM refuses"
    "environment#18 text-to-sql: LLM SQL answers the 강남구"
    "environment#19 text-to-sql: more cassette"
    "environment#20 rag: startup policy question"
    "environment#22 openai: chat completion (non-stream)"
    "environment#23 openai: chat completion stream"
    "environment#24 openai: embeddings"
    "environment#25 openai: error shape"
    "environment#28 admin: request journal"
    "environment#29 workflow: question -> LLM SQL"
    "environment#30 workflow: embed -> search"
    "environment#31 workflow: KPI quarterly"
    "environment#32 workflow: mid-stream disconnect"
)

# (c) one fixture row corrupted after up (the last sales row in key order: sales_amount + 1, so
#     weekday + weekend no longer equals the month's amount). The service and the suites' own
#     queries read the same (corrupted) data, so every answer still equals its independent query;
#     what fails is the check of the fixture's business rules, in the ADR's data validation test
#     and in the environment suite's ETL sums check.
EXPECT_fixture=(
    "data#7 test_data_validation_integration"
    "environment#16 etl: sums by district"
)

# (d) a wrong cassette answer for the 강남구 question (rule sql-01's SQL sorted ascending: the
#     lowest-selling industry; PUT /__admin/cassette, then the service's cache cleared). Fails:
#     the tests that ask exactly that question and compare the answer with the fixture (the ADR's
#     SQL query test; the environment's text-to-SQL check). Tests asking marked variants
#     ("[tag] 강남구...", rule marked-gangnam) or only checking the SQL's shape pass.
EXPECT_cassette=(
    "data#2 test_sql_query_integration"
    "environment#18 text-to-sql: LLM SQL answers the 강남구"
)

# ---- TAP -----------------------------------------------------------------------------------------
ok() { # ok STATUS DESCRIPTION [DIAGNOSTIC]
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $n - $2"
    else
        failed=$((failed + 1))
        echo "not ok $n - $2"
        [ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/#   /'
    fi
    return 0
}
skip_all() {
    echo "1..0 # SKIP $1"
    exit 77
}
need() {
    if [ "${ENVTEST_REQUIRE_DOCKER:-0}" = 1 ]; then
        echo "1..1"
        echo "not ok 1 - $1"
        exit 1
    fi
    skip_all "$1"
}

cleanup() {
    local p
    for p in "${PROJECTS[@]}"; do
        "$ENVTEST" -f "$COMPOSE" -p "$p" down -v >/dev/null 2>&1 || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

docker_ping || need "no Docker engine at $ENVTEST_DOCKER_SOCK"
[ -x "$ENVTEST" ] || need "no envtest binary at $ENVTEST"
for s in component data api e2e environment; do
    [ -x "$bin/suites/$s" ] || need "suite $bin/suites/$s not built"
done
[ -d "$bin/compose/sca-api/context" ] || need "sca-api image context not built"
if [ -z "${ENVTEST_MYSQL_IMAGE:-}" ]; then
    if docker_image_exists "$ENVTEST_MYSQL_OFFLINE_IMAGE"; then
        export ENVTEST_MYSQL_IMAGE="$ENVTEST_MYSQL_OFFLINE_IMAGE"
    elif docker_image_exists mysql:8.4; then
        export ENVTEST_MYSQL_IMAGE=mysql:8.4
    else
        need "no MySQL image (ci/mysql-image/ensure.sh builds one)"
    fi
fi

set -- $BREAKS
echo "TAP version 13"
echo "1..$(($# * 2))"
cd "$TMP" || exit 1 # reports land in $TMP/.envtest/runs

# the value of VAR in the environment's `envtest env`
env_of() {
    "$ENVTEST" -f "$COMPOSE" -p "$1" env --format dotenv | sed -n "s/^$2=//p"
}

# ---- the breaks ----------------------------------------------------------------------------------
break_mysql() { # $1 project; sets RUN_ARGS
    local f
    f="$TMP/$1.env"
    "$ENVTEST" -f "$COMPOSE" -p "$1" env >"$f" || return 1
    docker_api_ok POST "/containers/$1-mysql-1/stop?t=10" >/dev/null || return 1
    # shellcheck disable=SC1090
    set -a && source "$f" && set +a
    RUN_ARGS=(--no-env)
}
break_llm500() {
    local llm
    llm="http://127.0.0.1:$(env_of "$1" ENVTEST_MOCK_LLM_PORT)"
    curl -sSf -X PUT -H 'Content-Type: application/json' "$llm/__admin/faults" \
        -d '{"faults":[{"type":"status","path":"/v1/*","status":500}]}' >/dev/null
}
break_fixture() {
    mariadb -h127.0.0.1 -P"$(env_of "$1" ENVTEST_MYSQL_PORT)" -u"$(env_of "$1" ENVTEST_MYSQL_USER)" \
        -p"$(env_of "$1" ENVTEST_MYSQL_PASSWORD)" "$(env_of "$1" ENVTEST_MYSQL_DATABASE)" \
        -e "UPDATE seoul_sales SET sales_amount = sales_amount + 1
            ORDER BY quarter_code DESC, area_code DESC, industry_code DESC LIMIT 1"
}
break_cassette() {
    local llm api key
    llm="http://127.0.0.1:$(env_of "$1" ENVTEST_MOCK_LLM_PORT)"
    api="$(env_of "$1" SCA_API_URL)"
    key="$(env_of "$1" SCA_ADMIN_KEY)"
    jq '.rules |= map(if .name == "sql-01" then .reply |= sub("DESC LIMIT 1"; "ASC LIMIT 1")
                      else . end)' "$src/fixtures/cassette.json" >"$TMP/cassette.json" &&
        grep -q 'ASC LIMIT 1' "$TMP/cassette.json" &&
        curl -sSf -X PUT -H 'Content-Type: application/json' --data-binary @"$TMP/cassette.json" \
            "$llm/__admin/cassette" >/dev/null &&
        curl -sSf -X DELETE -H "Authorization: Bearer $key" "$api/api/v1/cache" >/dev/null
}

# ---- one break: up, break, run, compare ------------------------------------------------------------
planned_of() { # the number of test points each suite must report
    case "$1" in environment) echo 33 ;; *) echo 8 ;; esac
}

k=0
for name in "$@"; do
    k=$((k + 1))
    project="suitesbrk$k"
    PROJECTS+=("$project")
    RUN_ARGS=()
    out="$TMP/$project.log"
    if ! "$ENVTEST" -f "$COMPOSE" -p "$project" up >"$out" 2>&1; then
        ok 1 "$name: up" "$(tail -20 "$out")"
        ok 1 "$name: exactly the expected test points fail"
        continue
    fi
    (
        "break_$name" "$project" || exit 1
        "$ENVTEST" -f "$COMPOSE" -p "$project" run "${RUN_ARGS[@]}" >>"$out" 2>&1
        echo $? >"$TMP/$project.rc"
    ) >>"$out" 2>&1
    report="$TMP/.envtest/runs/latest/report.json"
    rc="$(cat "$TMP/$project.rc" 2>/dev/null || echo none)"
    # the run itself: five suites, each with its full plan, exit status 1 (tests failed)
    plans="$(jq -r '.suites[] | "\(.name) \(.tap_summary.planned // 0) \(.tap_summary.ran // 0)"' \
        "$report" 2>/dev/null | sort)"
    want_plans="$(for s in api component data e2e environment; do
        echo "$s $(planned_of $s) $(planned_of $s)"
    done)"
    if [ "$rc" = 1 ] && [ "$plans" = "$want_plans" ]; then
        ok 0 "$name: broken, the run fails and every suite reports its full plan"
    else
        ok 1 "$name: broken, the run fails and every suite reports its full plan" \
            "exit status $rc (expected 1); plans (suite planned ran):
$plans
expected:
$want_plans
$(tail -30 "$out")"
    fi
    got="$(jq -r '.suites[] | .name as $s | .tests[] | select(.status != "passed") |
        "\($s)#\(.number) \(.name)"' "$report" 2>/dev/null | sort -V)"
    declare -n expected="EXPECT_$name"
    missing="" unexpected=""
    for e in "${expected[@]}"; do
        id="${e%% *}" prefix="${e#* }"
        line="$(grep -F -- "$id " <<<"$got" | head -1)"
        if [ -z "$line" ] || [[ "${line#* }" != "$prefix"* ]]; then
            missing+="  $e"$'\n'
        fi
    done
    while IFS= read -r line; do
        [ -z "$line" ] && continue
        found=0
        for e in "${expected[@]}"; do
            [[ "$line" == "${e%% *} ${e#* }"* ]] && found=1
        done
        [ "$found" = 0 ] && unexpected+="  $line"$'\n'
    done <<<"$got"
    if [ "${ENVTEST_BREAK_DISCOVER:-0}" = 1 ]; then
        echo "# $name: failing points:"
        sed 's/^/#   /' <<<"$got"
    fi
    if [ -z "$missing" ] && [ -z "$unexpected" ]; then
        ok 0 "$name: exactly the ${#expected[@]} expected test points fail, the other $((4 * 8 + 33 - ${#expected[@]})) pass"
    else
        ok 1 "$name: exactly the expected test points fail" \
            "expected to fail but passed (or renamed):
${missing:-  (none)}
failed but not expected:
${unexpected:-  (none)}report: $report"
    fi
    unset -n expected
    "$ENVTEST" -f "$COMPOSE" -p "$project" down -v >/dev/null 2>&1
done
exit $((failed > 0))
