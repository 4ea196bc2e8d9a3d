#!/usr/bin/env bash
# docker test (issue 16): from a red run to a local reproduction, end to end, as README shows it.
#   1. `run --bundle-on-failure=FILE` with a failing suite: exit 1, FILE written, its manifest lists
#      the failed suite (and not the one that passed);
#   2. `-p OTHER run --from FILE --failed` in another project: only the failed suite runs (the
#      report names it alone), it fails again (exit 1), against the restored environment;
#   3. `down` of OTHER removes its extracted bundle (.envtest/from/OTHER) and every object.
# TAP output. Skips (77) without an engine unless ENVTEST_REQUIRE_DOCKER=1.
set -uo pipefail
src="${ENVTEST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
bin="${ENVTEST_BINARY_DIR:-$src/build}"
# shellcheck source=ci/lib.sh
source "$src/ci/lib.sh"
envtest="$bin/cmd/envtest"
stem="${ENVTEST_TEST_PROJECT:-envtest-bfail-$$}"
TMP="$(mktemp -d)"
n=0 failed=0
ok() {
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
        failed=$((failed + 1))
        echo "not ok $n - $2"
        [ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/#   /'
    fi
    return 0
}
need() { [ "${ENVTEST_REQUIRE_DOCKER:-0}" = 1 ] && { echo "Bail out! $1"; exit 1; }; echo "1..0 # SKIP $1"; exit 77; }
docker_ping || need "no Docker engine at $ENVTEST_DOCKER_SOCK"
[ -x /bin/busybox ] || need "no /bin/busybox (apt-get install busybox-static)"
mkdir -p "$TMP/busybox" "$TMP/suites" "$TMP/work"
cp /bin/busybox "$TMP/busybox/"
printf '%s\n' 'FROM scratch' 'COPY busybox /bin/busybox' 'RUN ["/bin/busybox", "--install", "-s", "/bin"]' \
    'RUN ["/bin/busybox", "mkdir", "-p", "/www", "/tmp"]' 'CMD ["sh"]' >"$TMP/busybox/Dockerfile"
printf '#!/bin/sh\necho 1..1\necho "ok 1 - passes"\n' >"$TMP/suites/passes.sh"
printf '#!/bin/sh\necho 1..2\necho "ok 1 - first"\necho "not ok 2 - the bug"\n' >"$TMP/suites/fails.sh"
chmod +x "$TMP/suites/"*.sh
export BUSYBOX_CONTEXT="$TMP/busybox" SUITES_DIR="$TMP/suites"
compose="$src/tests/compose/bundle/failing.yaml"
a="$stem-a" b="$stem-b"
cleanup() {
    (cd "$TMP/work" && for p in "$a" "$b"; do "$envtest" -f "$compose" -p "$p" down -v --rmi local >/dev/null 2>&1; done)
    rm -rf "$TMP"
}
trap cleanup EXIT
cd "$TMP/work" || exit 1
objects() { # containers and networks labelled with project $1
    local f
    f="$(urlencode "{\"label\":[\"io.envtest.project=$1\"]}")"
    echo $(($(docker_api_ok GET "/containers/json?all=1&filters=$f" | jq length) +
        $(docker_api_ok GET "/networks?filters=$f" | jq length)))
}
echo "1..7"

# 1. the red run, with its bundle
"$envtest" -f "$compose" -p "$a" run --bundle-on-failure="$TMP/red.tar.zst" >"$TMP/red.log" 2>&1
ok "$([ $? -eq 1 ]; echo $?)" "run with a failing suite exits 1" "$(tail -20 "$TMP/red.log")"
ok "$([ -s "$TMP/red.tar.zst" ]; echo $?)" "--bundle-on-failure wrote the bundle" "$(grep -i bundle "$TMP/red.log")"
manifest="$(tar --zstd -xOf "$TMP/red.tar.zst" manifest.json 2>/dev/null | jq -c '.failed_suites')"
ok "$([ "$manifest" = '["fails"]' ]; echo $?)" "its manifest lists the failed suite only" "failed_suites: $manifest"
ok "$([ "$(objects "$a")" = 0 ]; echo $?)" "the run's own environment is gone after it (the bundle was made before)"

# 2. the reproduction, in another project
"$envtest" -f "$compose" -p "$b" run --from "$TMP/red.tar.zst" --failed >"$TMP/repro.log" 2>&1
rc=$?
report="$(ls -t .envtest/runs/*/report.json 2>/dev/null | head -1)"
ran="$(jq -c '[.suites[].name]' "$report" 2>/dev/null)"
ok "$([ $rc -eq 1 ] && [ "$ran" = '["fails"]' ]; echo $?)" \
    "run --from --failed in another project runs only the failed suite, which fails again (exit $rc, ran $ran)" \
    "$(tail -20 "$TMP/repro.log")"
ok "$([ -d ".envtest/from/$b" ] && [ "$(objects "$b")" -gt 0 ]; echo $?)" \
    "the restored environment is up under $b, its bundle extracted in .envtest/from/$b"

# 3. down removes it all
"$envtest" -f "$compose" -p "$b" down -v >"$TMP/down.log" 2>&1
ok "$([ ! -e ".envtest/from/$b" ] && [ "$(objects "$b")" = 0 ]; echo $?)" \
    "down removes the restored environment and its extracted bundle" "$(cat "$TMP/down.log")"
[ "$failed" -eq 0 ]
