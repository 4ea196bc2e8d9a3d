# shellcheck shell=bash
# TAP helpers for the shell docker tests (test_install.sh, test_images.sh, test_remote_engine.sh).
# Source it after ci/lib.sh.  check NAME CMD...: one test point from CMD's status.
TAP_N=0
TAP_FAILED=0
tap_ok() {
    TAP_N=$((TAP_N + 1))
    echo "ok $TAP_N - $1"
}
tap_not_ok() {
    TAP_N=$((TAP_N + 1))
    TAP_FAILED=$((TAP_FAILED + 1))
    echo "not ok $TAP_N - $1"
    [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/#   /'
    return 0
}
check() {
    local name="$1"
    shift
    if "$@"; then tap_ok "$name"; else tap_not_ok "$name"; fi
}
# check_eq NAME EXPECTED ACTUAL
check_eq() {
    if [ "$2" = "$3" ]; then tap_ok "$1"; else tap_not_ok "$1" "expected: $2"$'\n'"actual:   $3"; fi
}
tap_skip_all() {
    echo "1..0 # SKIP $1"
    exit 77
}
# A missing prerequisite: skip (77), or fail with ENVTEST_REQUIRE_DOCKER=1 (CI).
tap_need() {
    if [ "${ENVTEST_REQUIRE_DOCKER:-0}" = 1 ]; then
        echo "not ok 1 - $1"
        echo "1..1"
        exit 1
    fi
    tap_skip_all "$1"
}
# envtest built ($1, in the build folder $2) and an engine that answers, or tap_need.
tap_need_envtest_engine() {
    [ -x "$1" ] || tap_need "envtest not built in $2"
    docker_ping || tap_need "no Docker engine at $ENVTEST_DOCKER_SOCK"
}
tap_done() {
    echo "1..$TAP_N"
    [ "$TAP_FAILED" -eq 0 ]
}
# Nothing labelled with project $1 is left: no container, no network.
tap_nothing_left() {
    local left
    left=$(docker ps -aq --filter "label=io.envtest.project=$1")
    left+=$(docker network ls -q --filter "label=io.envtest.project=$1")
    [ -z "$left" ]
}
# The MySQL image of the shared engine, or tap_need.
tap_mysql_image() {
    [ -n "${ENVTEST_MYSQL_IMAGE:-}" ] && return 0
    if docker_image_exists "$ENVTEST_MYSQL_OFFLINE_IMAGE"; then
        export ENVTEST_MYSQL_IMAGE="$ENVTEST_MYSQL_OFFLINE_IMAGE"
    elif docker_image_exists mysql:8.4; then
        export ENVTEST_MYSQL_IMAGE=mysql:8.4
    else
        tap_need "no MySQL image (ci/mysql-image/ensure.sh builds one)"
    fi
}
