#!/usr/bin/env bash
# valgrind end to end: every envtest command a user runs, against the real engine, with
# --error-exitcode so that any invalid access or definite/indirect leak fails the test.
# Usage: tests/valgrind_e2e.sh ENVTEST_BINARY (ctest passes it; label docker).
set -euo pipefail
envtest="$1"
src="${ENVTEST_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
command -v valgrind >/dev/null || { echo "valgrind is missing (apt-get install valgrind)"; exit 1; }
ctx="$(mktemp -d /tmp/envtest-vg-XXXXXX)"
project="envtest-test-valgrind-$$"
trap '"$envtest" -p "$project" -f "$src/tests/compose/lifecycle/unhealthy.yaml" down -v --rmi local >/dev/null 2>&1 || true; rm -rf "$ctx"' EXIT
cp /bin/busybox "$ctx/busybox"
printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\n' > "$ctx/Dockerfile"
export BUSYBOX_CONTEXT="$ctx"

# vg ARGS...: runs `envtest ARGS...` under valgrind. It fails when valgrind found anything (its log
# is not empty: --quiet leaves it empty otherwise; or the exit status is valgrind's 99) or when
# envtest's exit status is not the one expected: VG_EXPECT (default 0).
# VG_UNTIL=S: Ctrl-C (SIGINT) after S seconds, for a command that runs until interrupted (timeout
# --preserve-status passes envtest's own exit status on).
vg() {
    local log status=0 expect="${VG_EXPECT:-0}"
    log="$(mktemp)"
    local until=()
    [ -z "${VG_UNTIL:-}" ] || until=(timeout --preserve-status -s INT -k 30 "$VG_UNTIL")
    "${until[@]}" valgrind --quiet --error-exitcode=99 --leak-check=full \
        --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
        --log-file="$log" "$envtest" -f "$src/tests/compose/lifecycle/unhealthy.yaml" \
        -p "$project" "$@" >/dev/null 2>&1 || status=$?
    if [ "$status" -eq 99 ] || [ -s "$log" ] || [ "$status" -ne "$expect" ]; then
        echo "not ok: envtest $* under valgrind (exit $status, expected $expect):"
        cat "$log"
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
    echo "ok: envtest $* (exit $status)"
}

failed=0
vg up fine || failed=1
VG_EXPECT=3 vg status || failed=1 # exit 3: 'sick' is not up, on purpose
VG_EXPECT=3 vg status --json || failed=1
vg env --format json || failed=1
vg logs --tail 5 fine || failed=1
vg logs --tail 5 || failed=1 # all services: 'sick' has no container and is skipped
VG_UNTIL=4 VG_EXPECT=130 vg logs -f || failed=1
vg exec -e GREETING=hi fine sh -c "echo \$GREETING" || failed=1
vg ls --json || failed=1
vg config -q || failed=1
vg keep || failed=1
vg run --no-env -- true || failed=1
vg down -v --rmi local || failed=1
# a second down finds nothing: no container, network or volume of the project is left
again="$("$envtest" -p "$project" down -v 2>&1)"
case "$again" in
*"nothing of $project was there"*) ;;
*) echo "not ok: something of $project was left: $again"; failed=1 ;;
esac
[ "$failed" -eq 0 ] && echo "valgrind end to end: all commands clean"
exit "$failed"
