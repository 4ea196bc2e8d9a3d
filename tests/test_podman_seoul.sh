#!/usr/bin/env bash
# docker test, for Podman: the Seoul environment (compose/compose.yaml) through Podman's
# Docker-compatible API with the commands a user runs on Docker:
#   up (images built through the API's /build, the fixture loaded), status --json (every service
#   running and healthy), env (the connection variables), run (every suite passes), down -v (no
#   container, network or volume of the project is left in Podman).
# The engine is DOCKER_HOST's (ci/test.sh sets unix:///run/podman/podman.sock); on an engine that is
# not Podman it skips (77). TAP output. Project: $ENVTEST_TEST_PROJECT (default envtest-test-podman-<pid>).
set -u
src="${ENVTEST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
# shellcheck source=ci/lib.sh
source "$src/ci/lib.sh"
bin="${ENVTEST_BINARY_DIR:-$src/build}"
export ENVTEST_BUILD_DIR="$bin"
project="${ENVTEST_TEST_PROJECT:-envtest-test-podman-$$}"
envtest="$bin/cmd/envtest"
tmp=$(mktemp -d /tmp/envtest-podman-XXXXXX)
n=0
failed=0
et() { "$envtest" -f "$src/compose/compose.yaml" -p "$project" "$@"; }
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
    n=$((n + 1)) failed=$((failed + 1))
    echo "not ok $n - $1"
    [ -n "${2:-}" ] && printf '%s\n' "$2" | tail -15 | sed 's/^/# /'
}
skip() {
    echo "1..0 # SKIP $1"
    exit 77
}
require() {
    [ "${ENVTEST_REQUIRE_DOCKER:-0}" = 1 ] && { echo "Bail out! $1"; exit 1; }
    skip "$1"
}
cleanup() {
    et down -v >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -x "$envtest" ] || require "envtest not built in $bin"
docker_ping || require "no engine at $ENVTEST_DOCKER_SOCK"
product=$(docker_api GET /version | jq -r '[.Components[]?.Name] | join(",")')
case "$product" in
*Podman*) ;;
*) skip "the engine at $ENVTEST_DOCKER_SOCK is not Podman ($product)" ;;
esac
image="${ENVTEST_MYSQL_IMAGE:-$ENVTEST_MYSQL_OFFLINE_IMAGE}"
docker_image_exists "$image" ||
    require "Podman has no $image (ci/setup.sh copies it from Docker: podman_copy_image)"
export ENVTEST_MYSQL_IMAGE="$image"

echo "1..6"
et down -v >/dev/null 2>&1
if out=$(et up --wait-timeout 600 2>&1); then
    ok "envtest up on Podman ($(printf '%s\n' "$out" | tail -n1))"
else
    not_ok "envtest up on Podman" "$out"
    exit 1
fi

if status=$(et status --json 2>&1) &&
    [ "$(jq '[.services[] | select(.state == "running" and .health == "healthy")] | length' <<<"$status")" = 4 ]; then
    ok "status: 4 services running and healthy"
else
    not_ok "status: 4 services running and healthy" "$status"
fi

if vars=$(et env 2>&1) && grep -q "^export DATABASE_URL='mysql://seoul:" <<<"$vars" &&
    grep -q "^export SCA_API_URL='http://127.0.0.1:[0-9]*'" <<<"$vars"; then
    ok "env: DATABASE_URL and SCA_API_URL on 127.0.0.1"
else
    not_ok "env: DATABASE_URL and SCA_API_URL on 127.0.0.1" "$(sed 's/=.*/=.../' <<<"$vars")"
fi

# the fixture's rows, read through the published port as a user's tool would
eval "$(et env)"
rows=$(mysql -h 127.0.0.1 -P "$ENVTEST_MYSQL_PORT" -u "$ENVTEST_MYSQL_USER" \
    -p"$ENVTEST_MYSQL_PASSWORD" "$ENVTEST_MYSQL_DATABASE" -N -e 'SELECT COUNT(*) FROM seoul_sales' 2>&1)
if [ "$rows" = 5000 ]; then
    ok "fixture: seoul_sales has 5000 rows"
else
    not_ok "fixture: seoul_sales has 5000 rows" "$rows"
fi

if out=$(cd "$tmp" && et run 2>&1); then
    ok "run: $(grep -E '^PASSED' <<<"$out")"
else
    not_ok "run: every suite passes on Podman" "$out"
fi

out=$(et down -v 2>&1)
filter=$(urlencode "{\"label\":[\"io.envtest.project=$project\"]}")
left=$(
    docker_api GET "/containers/json?all=1&filters=$filter" | jq length
    docker_api GET "/networks?filters=$filter" | jq length
    docker_api GET "/volumes?filters=$filter" | jq '.Volumes | length'
)
if [ "$(tr '\n' ' ' <<<"$left")" = "0 0 0 " ]; then
    ok "down -v: no container, network or volume of $project left"
else
    not_ok "down -v: no container, network or volume of $project left" \
        "containers, networks, volumes: $(tr '\n' ' ' <<<"$left")
$out"
fi
[ "$failed" -eq 0 ]
