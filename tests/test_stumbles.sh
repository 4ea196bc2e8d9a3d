#!/usr/bin/env bash
# docker test: the newcomer's stumbles of issue 15, mended. With a small environment of its own
# (the mock-llm context under a long service name): `run` with nothing up shows up's per-service
# progress and, off a terminal, one line per suite start and end; `status` columns fit a long
# name; a missing fixture is named relative to the user's folder (not the Compose file's); a failed
# up prints its error once, whole. TAP; skips (77) without an engine unless ENVTEST_REQUIRE_DOCKER=1.
set -uo pipefail
src="${ENVTEST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
bin="${ENVTEST_BINARY_DIR:-$src/build}"
# shellcheck source=ci/lib.sh
source "$src/ci/lib.sh"
# shellcheck source=tests/tap_lib.sh
source "$src/tests/tap_lib.sh"
ENVTEST="$bin/cmd/envtest"
P="${ENVTEST_TEST_PROJECT:-inst-stumble-$$}"
TMP="$(mktemp -d)"
cleanup() {
    "$ENVTEST" -p "$P" down -v --rmi local >/dev/null 2>&1
    "$ENVTEST" -p "$P-fix" down -v --rmi local >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
docker_ping || tap_need "no Docker engine at $ENVTEST_DOCKER_SOCK"
[ -x "$bin/compose/mock-llm/context/mock-llm" ] || tap_need "mock-llm context not built"
echo "TAP version 13"

long=a-service-with-a-rather-long-name-for-the-table
mkdir -p "$TMP/env/ctx" "$TMP/user"
cp -r "$bin/compose/mock-llm/context/"* "$TMP/env/ctx/"
cat >"$TMP/env/compose.yaml" <<YAML
x-envtest:
  suites:
    - {name: one, path: ./one.sh}
    - {name: two, path: ./two.sh}
services:
  $long:
    build: {context: ./ctx}
    command: ["--port", "8080"]
YAML
printf '#!/bin/sh\necho 1..1\necho ok 1 - one\n' >"$TMP/env/one.sh"
printf '#!/bin/sh\necho 1..1\necho ok 1 - two\n' >"$TMP/env/two.sh"
chmod +x "$TMP/env/one.sh" "$TMP/env/two.sh"
cd "$TMP/user" || exit 1

# run with nothing up, output to a file (not a terminal)
"$ENVTEST" -f ../env/compose.yaml -p "$P" run >"$TMP/run.out" 2>"$TMP/run.err"
check_eq "run with nothing up passes" 0 "$?"
check "run shows up's per-service progress ($long: healthy|running)" \
    grep -Eq "^$long: (healthy|running) \(" "$TMP/run.err"
check_eq "a START line per suite" 2 "$(grep -c '^START ' "$TMP/run.out")"
check_eq "a PASS line per suite" 2 "$(grep -c '^PASS ' "$TMP/run.out")"
check "START one comes before PASS one" \
    awk '/^START +one/ { s = NR } /^PASS +one/ { p = NR } END { exit !(s && p && s < p) }' "$TMP/run.out"

# status with a long service name: the columns line up under the header
"$ENVTEST" -f ../env/compose.yaml -p "$P" up >/dev/null 2>&1
out=$("$ENVTEST" -f ../env/compose.yaml -p "$P" status)
hdr=$(grep '^SERVICE' <<<"$out")
row=$(grep "^$long" <<<"$out")
col() { awk -v w="$2" '{ print index($0, w) }' <<<"$1"; }
check_eq "status: CONTAINER column starts where its header does" "$(col "$hdr" CONTAINER)" \
    "$(col "$row" "$P-$long-1")"
check_eq "status: STATE column starts where its header does" "$(col "$hdr" STATE)" "$(col "$row" running)"
"$ENVTEST" -p "$P" down -v --rmi local >/dev/null 2>&1

# a missing fixture, named from the user's folder
cat >"$TMP/env/fix.yaml" <<YAML
x-envtest:
  fixtures: [./missing-fixture.tar.gz]
services:
  $long:
    build: {context: ./ctx}
    command: ["--port", "8080"]
YAML
out=$("$ENVTEST" -f ../env/fix.yaml -p "$P-fix" up 2>&1)
check_eq "up with a missing fixture fails (3)" 3 "$?"
check "the missing fixture is named from the user's folder (absolute: it is outside it)" \
    grep -q "$TMP/env/missing-fixture.tar.gz" <<<"$out"
check_eq "the error is printed once" 1 "$(grep -c 'missing-fixture.tar.gz' <<<"$out")"
tap_done
