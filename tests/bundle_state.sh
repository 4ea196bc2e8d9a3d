#!/bin/sh
# Prints the state a repro bundle must carry, of one environment, in a form two environments can be
# compared by: CHECKSUM TABLE of every table of every non-system MySQL database, mock-vector's
# points (every collection, scrolled with payloads and vectors), mock-llm's request journal.
# Usage: bundle_state.sh ENVTEST PROJECT   (ENVTEST: the envtest binary; -f/ENVTEST_* as usual)
set -eu
envtest="$1" project="$2"
eval "$("$envtest" -p "$project" env)"
"$envtest" -p "$project" exec mysql sh -c '
export MYSQL_PWD="$MYSQL_ROOT_PASSWORD"; c=$(command -v mariadb || command -v mysql)
for t in $("$c" -uroot -N -B -e "SELECT CONCAT(table_schema, \".\", table_name) FROM information_schema.tables
    WHERE table_schema NOT IN (\"mysql\",\"information_schema\",\"performance_schema\",\"sys\")
    AND table_type = \"BASE TABLE\" ORDER BY 1"); do
  "$c" -uroot -N -B -e "CHECKSUM TABLE $t"
done'
vec="http://127.0.0.1:$ENVTEST_MOCK_VECTOR_PORT"
for c in $(curl -fsS "$vec/collections" | jq -r '.result.collections[].name' | sort); do
    curl -fsS -XPOST "$vec/collections/$c/points/scroll" -H 'Content-Type: application/json' \
        -d '{"limit":1000000,"with_payload":true,"with_vector":true}' |
        jq -c --arg c "$c" '{collection: $c, points: .result.points}' | sha256sum |
        sed "s/-\$/vector $c/"
done
curl -fsS "http://127.0.0.1:$ENVTEST_MOCK_LLM_PORT/__admin/requests" | jq -c . | sha256sum |
    sed 's/-$/mock-llm journal/'
curl -fsS "http://127.0.0.1:$ENVTEST_MOCK_LLM_PORT/__admin/requests" |
    jq -r '"mock-llm journal entries: \(.requests | length), total \(.meta.total)"'
