#!/usr/bin/env bash
# docker test: an installed envtest works with no build tree. `cmake --install` into a temporary
# prefix, then from another folder, with ENVTEST_BUILD_DIR and ENVTEST_DATA_DIR unset, the
# installed Seoul environment (<prefix>/share/envtest/compose/compose.yaml) goes up (its built-in
# images envtest/mock-llm, envtest/mock-vector, envtest/sca-api built from the installed binaries),
# runs its suites (from <prefix>/lib/envtest/suites) and goes down; `cpack -G DEB` makes a package
# holding the same files. TAP; skips (77) without an engine unless ENVTEST_REQUIRE_DOCKER=1.
set -uo pipefail
src="${ENVTEST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
bin="${ENVTEST_BINARY_DIR:-$src/build}"
# shellcheck source=ci/lib.sh
source "$src/ci/lib.sh"
# shellcheck source=tests/tap_lib.sh
source "$src/tests/tap_lib.sh"
unset ENVTEST_BUILD_DIR ENVTEST_DATA_DIR
project="${ENVTEST_TEST_PROJECT:-inst-install-$$}"
TMP="$(mktemp -d)"
prefix="$TMP/prefix"
cleanup() {
    [ -x "$prefix/bin/envtest" ] && "$prefix/bin/envtest" -p "$project" down -v >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT

docker_ping || tap_need "no Docker engine at $ENVTEST_DOCKER_SOCK"
[ -d "$bin/compose/sca-api/context" ] || tap_need "sca-api image context not built"
tap_mysql_image
echo "TAP version 13"

check "cmake --install into $prefix" cmake --install "$bin" --prefix "$prefix" >/dev/null
et="$prefix/bin/envtest"
libdir=$(cd "$prefix" && ls -d lib*/envtest lib/*/envtest 2>/dev/null | head -1)
for f in bin/envtest "$libdir/compose/mock-llm/context/mock-llm" \
    "$libdir/compose/mock-llm/context/Dockerfile" "$libdir/compose/mock-vector/context/mock-vector" \
    "$libdir/compose/sca-api/context/rootfs/sca-api" "$libdir/fixtures/seoul-small.tar.gz" \
    "$libdir/suites/component" "$libdir/suites/environment" share/envtest/compose/compose.yaml \
    share/envtest/compose/mysql-init/10-sca-reader.sh share/man/man1/envtest.1 \
    share/bash-completion/completions/envtest share/zsh/site-functions/_envtest; do
    check "installed: $f" test -e "$prefix/$f"
done

mkdir -p "$TMP/elsewhere"
cd "$TMP/elsewhere" || exit 1
compose="$prefix/share/envtest/compose/compose.yaml"
cfg=$("$et" -f "$compose" -p "$project" config 2>&1)
check_eq "config: the fixture path resolves into the install" "$prefix/$libdir/fixtures/seoul-small.tar.gz" \
    "$(jq -r '.["x-envtest"].fixtures[0] // .x_envtest.fixtures[0] // empty' <<<"$cfg" 2>/dev/null ||
        grep -o "\"[^\"]*seoul-small.tar.gz\"" <<<"$cfg" | tr -d '"')"

out=$("$et" -f "$compose" -p "$project" up 2>&1)
rc=$?
check_eq "up from another folder, no build tree (exit status)" 0 "$rc"
check "the cassette step reports its size, not '0 rows, 0.0 MB'" \
    bash -c "grep -q 'http /__admin/cassette: .* sent' <<<\"\$1\" && ! grep -q '0 rows, 0.0 MB' <<<\"\$1\"" _ "$out"
[ "$rc" = 0 ] || printf '%s\n' "$out" | tail -20 | sed 's/^/#   /'
for s in mock-llm mock-vector sca-api; do
    img=$(docker_api GET "/containers/$project-$s-1/json" | jq -r .Config.Image)
    check "service $s runs the built-in image envtest/$s:<digest> (got $img)" \
        grep -Eq "^envtest/$s:[0-9a-f]{16}$" <<<"$img"
    ctx_digest=$(docker_api GET "/images/$img/json" | jq -r '.Config.Labels["io.envtest.context-digest"]')
    check "image $img carries its context digest" grep -Eq '^[0-9a-f]{64}$' <<<"$ctx_digest"
done

out=$("$et" -f "$compose" -p "$project" run --report-dir "$TMP/report" 2>&1)
rc=$?
check_eq "run: the installed suites pass (exit status)" 0 "$rc"
[ "$rc" = 0 ] || printf '%s\n' "$out" | tail -20 | sed 's/^/#   /'
suites=$(jq -r '[.suites[] | select(.status == "passed" or .status == "flaky")] | length' \
    "$TMP/report/report.json" 2>/dev/null)
check_eq "run: five suites passed" 5 "$suites"
check "down" "$et" -f "$compose" -p "$project" down -v
left=$(docker_api GET "/containers/json?all=1&filters=$(urlencode "{\"label\":[\"io.envtest.project=$project\"]}")" | jq length)
check_eq "nothing of $project is left" 0 "$left"

# The Debian package, from the same build
if command -v cpack >/dev/null && command -v dpkg-deb >/dev/null; then
    (cd "$bin" && cpack -G DEB -B "$TMP/pkg" >/dev/null 2>&1)
    deb=$(ls "$TMP"/pkg/envtest_*.deb 2>/dev/null | head -1)
    check "cpack -G DEB makes a package" test -f "$deb"
    contents=$(dpkg-deb -c "$deb" 2>/dev/null)
    for f in ./usr/bin/envtest /envtest/compose/mock-llm/context/mock-llm ./usr/share/man/man1/envtest.1 \
        ./usr/share/envtest/compose/compose.yaml; do
        check "package holds $f" grep -q -- "$f" <<<"$contents"
    done
    check "package depends on libcurl" sh -c "dpkg-deb -f '$deb' Depends | grep -q libcurl"
fi
tap_done
