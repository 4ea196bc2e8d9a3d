#!/usr/bin/env bash
# docker test (issue 17): secrets stay out of CI logs. With GITHUB_ACTIONS=true it runs
#   up, env --format github, run (a suite that prints DATABASE_URL, the password and an API key
#   on stdout and stderr, and fails), keep, exec -e PASSWORD=..., logs
# on tests/compose/mask/compose.yaml (MySQL with generated passwords, a two-line secret) and
# checks, in the combined output of all of them, that every secret's first appearance is its
# `::add-mask::` line (a two-line secret: each line), and that $GITHUB_ENV is well formed
# (NAME=value lines, or NAME<<DELIMITER ... DELIMITER for the multi-line value). TAP output.
# Skips (77) without an engine or a MySQL image unless ENVTEST_REQUIRE_DOCKER=1.
set -uo pipefail
src="${ENVTEST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
bin="${ENVTEST_BINARY_DIR:-$src/build}"
# shellcheck source=ci/lib.sh
source "$src/ci/lib.sh"
ENVTEST="$bin/cmd/envtest"
COMPOSE="$src/tests/compose/mask/compose.yaml"
PROJECT="masktest$$"
TMP="$(mktemp -d)"
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() {
    n=$((n + 1)) failed=$((failed + 1))
    echo "not ok $n - $1"
    shift
    for line in "$@"; do echo "#   $line"; done
}
cleanup() {
    "$ENVTEST" -f "$COMPOSE" -p "$PROJECT" down -v >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT

if ! docker_ping; then
    [ "${ENVTEST_REQUIRE_DOCKER:-}" = 1 ] && { echo "Bail out! no Docker engine"; exit 1; }
    echo "1..0 # SKIP no Docker engine"
    exit 77
fi
if [ -z "${ENVTEST_MYSQL_IMAGE:-}" ]; then
    for image in mysql:8.4 "$ENVTEST_MYSQL_OFFLINE_IMAGE"; do
        docker_image_exists "$image" && { ENVTEST_MYSQL_IMAGE="$image"; break; }
    done
    if [ -z "${ENVTEST_MYSQL_IMAGE:-}" ]; then
        [ "${ENVTEST_REQUIRE_DOCKER:-}" = 1 ] && { echo "Bail out! no MySQL image"; exit 1; }
        echo "1..0 # SKIP no MySQL image (ci/mysql-image/ensure.sh)"
        exit 77
    fi
fi
export ENVTEST_MYSQL_IMAGE
echo "1..8"

cd "$TMP" || exit 1
out="$TMP/out.txt"
# A secret of two lines, chosen by the user (the others are generated).
MASK_API_KEY="$(printf 'first-line-%s\nsecond-line-%s' "$RANDOM$RANDOM" "$RANDOM$RANDOM")"
export MASK_API_KEY
export GITHUB_ACTIONS=true GITHUB_ENV="$TMP/github_env" GITHUB_STEP_SUMMARY="$TMP/summary.md"
: >"$GITHUB_ENV"
E=("$ENVTEST" -f "$COMPOSE" -p "$PROJECT")
# each command's output in its own file (a step of its own in a workflow), then all of them
step() {
    local name="$1"
    shift
    "${E[@]}" "$@" >"$TMP/$name.txt" 2>&1
    local status=$?
    cat "$TMP/$name.txt" >>"$out"
    return $status
}
step up up
up=$?
step env env --format github
env_status=$?
step run run
run=$?
step keep keep
keep=$?
step exec exec -e "MY_PASSWORD=exec-pass-$RANDOM$RANDOM" mysql sh -c 'echo "$MY_PASSWORD"'
exec_status=$?
exec_secret="$(grep -o 'exec-pass-[0-9]*' "$out" | head -n1)"
step logs logs --tail 5
logs=$?
unset GITHUB_ACTIONS

if [ "$up $env_status $run $keep $exec_status $logs" = "0 0 1 0 0 0" ]; then
    ok "up, env, keep, exec, logs exit 0; run exits 1 (its suite fails on purpose)"
else
    not_ok "exit statuses" "up $up env $env_status run $run keep $keep exec $exec_status logs $logs" \
        "output: $(head -n 30 "$out" | tr '\n' '|')"
fi

# The secrets, read afterwards without masking.
password="$("${E[@]}" env --format json | jq -r .ENVTEST_MYSQL_PASSWORD)"
root="$("${E[@]}" exec mysql sh -c 'printf %s "$MYSQL_ROOT_PASSWORD"' 2>/dev/null)"
grep -q "DATABASE_URL=mysql://tester:$password@" "$out" &&
    ok "the suite printed DATABASE_URL with its password (so the check below has something to check)" ||
    not_ok "the suite's DATABASE_URL is not in the output" "$(grep -c DATABASE_URL "$out") lines name it"

# first_is_mask VALUE NAME: in the combined output and in each command's own, the first line
# that holds VALUE is ::add-mask::VALUE.
first_is_mask() {
    local value="$1" name="$2" first file bad=()
    for file in "$out" "$TMP"/{up,env,run,keep,exec,logs}.txt; do
        first="$(grep -n -F -- "$value" "$file" | head -n1)"
        [ -z "$first" ] || [ "${first#*:}" = "::add-mask::$value" ] ||
            bad+=("$(basename "$file") line ${first%%:*}: ${first#*:}")
    done
    if [ ${#bad[@]} -eq 0 ] && grep -qxF -- "::add-mask::$value" "$out"; then
        ok "$name: first shown as ::add-mask::, in every command's output"
    else
        not_ok "$name: shown before its mask" "${bad[@]:-never masked}"
    fi
}
first_is_mask "$password" "the generated MySQL password"
first_is_mask "$root" "the generated root password"
first_is_mask "$(printf '%s' "$MASK_API_KEY" | head -n1)" "the API key's first line"
first_is_mask "$(printf '%s' "$MASK_API_KEY" | tail -n1)" "the API key's second line"
if [ -n "$exec_secret" ]; then
    first_is_mask "$exec_secret" "exec -e MY_PASSWORD's value"
else
    not_ok "exec -e MY_PASSWORD: the command's output is missing"
fi

# $GITHUB_ENV: NAME=value lines, or NAME<<D / lines / D; the two-line key in the second form.
if awk '
    delim != "" { if ($0 == delim) delim = ""; next }
    /^[A-Za-z_][A-Za-z0-9_]*<</ { delim = substr($0, index($0, "<<") + 2); if (delim == "") exit 1; next }
    /^[A-Za-z_][A-Za-z0-9_]*=/ { next }
    { exit 1 }
    END { if (delim != "") exit 1 }' "$GITHUB_ENV" &&
    grep -q "^MASK_API_KEY<<ghadelimiter_" "$GITHUB_ENV" &&
    grep -qx "ENVTEST_MYSQL_PASSWORD=$password" "$GITHUB_ENV"; then
    ok "\$GITHUB_ENV is well formed ($(wc -l <"$GITHUB_ENV") lines; the two-line key in delimiter form)"
else
    not_ok "\$GITHUB_ENV is not well formed" "$(tr '\n' '|' <"$GITHUB_ENV" | sed "s/$password/****/g")"
fi

"${E[@]}" down -v >/dev/null 2>&1
echo "# $n tests, $failed failed"
[ "$failed" -eq 0 ]
