#!/usr/bin/env bash
# The main job (README's first command on a fresh machine): set-up, build, the MySQL image, then
#   envtest up -> envtest run -> envtest down -v   (down runs whatever happens, through a trap)
# and where the reports are.
#
#   ci/main-job.sh [-p NAME] [-f FILE] [-H HOST] [RUN ARGS...]
#
# The leading global options go to every envtest command (up, run, down); the rest to `envtest run`
# (e.g. --shard 1/2, -j 4, --suite NAME). The project is -p, else $ENVTEST_PROJECT, else
# seoul-<user>-<pid>: two jobs on one engine never share an environment.
# Exit status: envtest's (0 ok, 1 tests failed, 2 usage, 3 environment error, 130 interrupted).
#
# Environment: ENVTEST_SKIP_SETUP=1 (no ci/setup.sh), ENVTEST_JOBS (build jobs), ENVTEST_KEEP=1
# (leave the environment up at the end: no down), ENVTEST_UP_ARGS (more options of `envtest up`,
# e.g. "--wait-timeout 300"), ENVTEST_DOWN_ARGS (default "-v"), ENVTEST_DRY_RUN=1 (print the
# envtest commands instead of setting up, building and running),
# ENVTEST_BUILD_DIR (default build; relative to the repository or absolute).
set -euo pipefail
# shellcheck source=ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ENVTEST_ROOT"

ci_build_dirs
ENVTEST="$BUILD_DIR/cmd/envtest"
START="$(ci_now)"

GLOBAL=()
PROJECT="${ENVTEST_PROJECT:-}"
while [ $# -gt 0 ]; do
    case "$1" in
    -p | --project-name) PROJECT="${2:?-p needs a name}" && shift 2 ;;
    -f | --file | -H | --host) GLOBAL+=("$1" "${2:?$1 needs a value}") && shift 2 ;;
    *) break ;;
    esac
done
PROJECT="${PROJECT:-seoul-$(id -un)-$$}"
GLOBAL+=(-p "$PROJECT")
# shellcheck disable=SC2206 # word splitting wanted
UP_ARGS=(${ENVTEST_UP_ARGS:-})
# shellcheck disable=SC2206
DOWN_ARGS=(${ENVTEST_DOWN_ARGS:--v})
if [ "${ENVTEST_DRY_RUN:-}" = 1 ]; then
    echo "envtest ${GLOBAL[*]} up ${UP_ARGS[*]}"
    echo "envtest ${GLOBAL[*]} run $*"
    echo "envtest ${GLOBAL[*]} down ${DOWN_ARGS[*]}"
    exit 0
fi
ci_log "project: $PROJECT"

if [ "${ENVTEST_SKIP_SETUP:-}" != 1 ]; then
    "$ENVTEST_ROOT/ci/setup.sh"
fi

ci_section "build"
cmake -S . -B "$BUILD_DIR" >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"
ci_section_end

ci_section "MySQL image"
ci_export_mysql_image || exit 3
ci_section_end

down() {
    local status=$?
    trap - EXIT INT TERM
    if [ "${ENVTEST_KEEP:-}" = 1 ]; then
        ci_log "ENVTEST_KEEP=1: the environment stays up; remove it with: $ENVTEST ${GLOBAL[*]} down -v"
    else
        ci_section "envtest down ${DOWN_ARGS[*]}"
        "$ENVTEST" "${GLOBAL[@]}" down "${DOWN_ARGS[@]}" ||
            ci_log "warning: envtest down failed (exit $?)"
        ci_section_end
    fi
    exit "$status"
}
trap down EXIT
trap 'exit 130' INT TERM

ci_section "envtest up"
"$ENVTEST" "${GLOBAL[@]}" up "${UP_ARGS[@]}" || exit $?
ci_section_end

ci_section "envtest run${*:+ $*}"
status=0
"$ENVTEST" "${GLOBAL[@]}" run "$@" || status=$?
ci_section_end

latest="$(ls -1dt .envtest/runs/*/ 2>/dev/null | head -n1 || true)"
if [ -n "$latest" ]; then
    ci_log "reports: $ENVTEST_ROOT/${latest%/} (report.json, junit.xml, summary.md, each suite's output)"
else
    ci_log "no report folder under $ENVTEST_ROOT/.envtest/runs/"
fi
ci_log "main job: envtest run exit $status after $(ci_elapsed "$START") s"
exit "$status"
