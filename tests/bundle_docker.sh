#!/bin/sh
# Repro bundles on the real engine (issue 16), TAP:
#   1. a bundle made in one project and restored with `up --from` in another holds the same MySQL
#      rows (CHECKSUM TABLE of every table), the same vector points and the same mock-llm journal;
#      the restored containers are on the new project's network only, and the source's `down`
#      with the copy up leaves nothing of the source;
#   2. a truncated bundle and a file that is no bundle are refused with a clear error (exit 2) and
#      leave nothing behind (no container, network or extraction directory).
# The system under test (sca-api) is left out on both sides (`up mysql mock-llm mock-vector`): it
# writes to MySQL and calls mock-llm on every health check, so its environment never holds still.
# Usage: bundle_docker.sh ENVTEST_BINARY   (ENVTEST_BUILD_DIR, ENVTEST_MYSQL_IMAGE as for envtest)
set -u
envtest="$1"
here="$(cd "$(dirname "$0")" && pwd)"
# projects <stem>-src, -dst, -bad; stem $ENVTEST_TEST_PROJECT (default bun-<pid>: two checkouts can
# run it at once on one engine)
stem="${ENVTEST_TEST_PROJECT:-bun-$$}"
src=$stem-src dst=$stem-dst bad=$stem-bad
work="$(mktemp -d)"
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)) failed=$((failed + 1)); echo "not ok $n - $1"; }
cleanup() {
    for p in $src $dst $bad; do "$envtest" -q -p $p down -v >/dev/null 2>&1; done
    rm -rf "$work" .envtest/from/$dst .envtest/from/$bad
}
trap cleanup EXIT INT TERM
cleanup_projects() { for p in $src $dst $bad; do "$envtest" -q -p $p down -v >/dev/null 2>&1; done; }
cleanup_projects
mkdir -p .envtest/cassettes # compose.yaml bind-mounts it into mock-llm (record mode)

echo "1..8"
if ! "$envtest" -q -p $src up mysql mock-llm mock-vector >"$work/up.log" 2>&1; then
    cat "$work/up.log" | sed 's/^/# /'
    echo "Bail out! up of $src failed"
    exit 1
fi
eval "$("$envtest" -p $src env)"
# `up SERVICE...` loads no fixtures: load the Seoul one by hand
"$envtest" -q -p $src fixture load "${ENVTEST_BUILD_DIR:-build}/fixtures/seoul-small.tar.gz" \
    >"$work/fixture.log" 2>&1 || { sed 's/^/# /' "$work/fixture.log"; echo "Bail out! fixture"; exit 1; }
# some journal and faults beyond the fixture's
curl -sS -XPOST "http://127.0.0.1:$ENVTEST_MOCK_LLM_PORT/v1/chat/completions" \
    -H 'Content-Type: application/json' \
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"bundle test"}]}' >/dev/null
curl -fsS -XPUT "http://127.0.0.1:$ENVTEST_MOCK_LLM_PORT/__admin/faults" \
    -d '{"seed":7,"faults":[{"type":"delay","path":"/nowhere","delay_ms":1}]}' >/dev/null
"$here/bundle_state.sh" "$envtest" $src >"$work/src.state" 2>"$work/src.err"

if ENVTEST_BUNDLE_PASSPHRASE=test-pass "$envtest" -q -p $src bundle create --no-run \
    --without-base-images -o "$work/b.tar.zst" 2>"$work/create.err"; then
    ok "bundle create"
else
    not_ok "bundle create"; sed 's/^/# /' "$work/create.err"
fi
# the secrets' values are nowhere in clear
mkdir "$work/x" && tar --zstd -xf "$work/b.tar.zst" -C "$work/x" --exclude 'images/*'
leaked=""
for v in $(docker network inspect ${src}_default --format '{{index .Labels "io.envtest.secrets"}}' |
    jq -r '.[]'); do
    grep -rlF -- "$v" "$work/x" >/dev/null && leaked="yes"
done
[ -z "$leaked" ] && [ -f "$work/x/secrets.enc" ] && ok "no secret in clear; secrets.enc present" ||
    not_ok "no secret in clear; secrets.enc present"

if ENVTEST_BUNDLE_PASSPHRASE=test-pass "$envtest" -q -p $dst up --from "$work/b.tar.zst" \
    mysql mock-llm mock-vector 2>"$work/from.err"; then
    ok "up --from in another project"
else
    not_ok "up --from in another project"; sed 's/^/# /' "$work/from.err"
fi
"$here/bundle_state.sh" "$envtest" $dst >"$work/dst.state" 2>"$work/dst.err"
if [ -s "$work/src.state" ] && diff "$work/src.state" "$work/dst.state" >"$work/diff"; then
    ok "same MySQL checksums, vector points and mock-llm journal ($(grep -c . "$work/src.state") lines)"
else
    not_ok "same MySQL checksums, vector points and mock-llm journal"
    sed 's/^/# /' "$work/diff" "$work/src.err" "$work/dst.err"
fi
sed 's/^/# /' "$work/src.state"
# the restored environment is its own: its containers on its own network, none on the source's
# (a bundle named the source's network: the copy joined it, and the source's down then failed
# with "network has active endpoints")
nets="$(for c in $(docker ps -q --filter label=io.envtest.project=$dst); do
    docker inspect "$c" --format '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}'
done | tr ' ' '\n' | grep . | sort | uniq -c | sed 's/^ *//')"
if [ "$nets" = "3 ${dst}_default" ]; then
    ok "the restored containers are on ${dst}_default only"
else
    not_ok "the restored containers are on ${dst}_default only"; echo "$nets" | sed 's/^/# /'
fi
"$envtest" -p $src down -v >"$work/down-src.log" 2>&1
rc=$?
left="$(docker ps -aq --filter label=io.envtest.project=$src)$(docker network ls -q --filter label=io.envtest.project=$src)"
if [ $rc -eq 0 ] && [ -z "$left" ]; then
    ok "the source's down, with the copy up: exit 0, nothing of the source left"
else
    not_ok "the source's down, with the copy up: exit 0 (got $rc), nothing of the source left (${left:-none})"
    sed 's/^/# /' "$work/down-src.log"
fi

# a truncated bundle: refused, nothing left
size=$(stat -c %s "$work/b.tar.zst")
head -c $((size / 2)) "$work/b.tar.zst" >"$work/trunc.tar.zst"
"$envtest" -q -p $bad up --from "$work/trunc.tar.zst" 2>"$work/trunc.err"
rc=$?
left="$(docker ps -aq --filter label=io.envtest.project=$bad)$(docker network ls -q --filter label=io.envtest.project=$bad)$(ls -A .envtest/from 2>/dev/null | grep -e "^$bad\$" -e '^\.extract-')"
if [ $rc -eq 2 ] && grep -q 'truncated' "$work/trunc.err" && [ -z "$left" ]; then
    ok "truncated bundle: exit 2, clear error, nothing left"
else
    not_ok "truncated bundle: exit 2 (got $rc), clear error, nothing left (${left:-none})"
fi
sed 's/^/# /' "$work/trunc.err"
# not a bundle at all
echo "not a bundle" | zstd -q >"$work/junk.tar.zst"
"$envtest" -q -p $bad up --from "$work/junk.tar.zst" 2>"$work/junk.err"
rc=$?
left="$(docker ps -aq --filter label=io.envtest.project=$bad)$(ls -A .envtest/from 2>/dev/null | grep -e "^$bad\$" -e '^\.extract-')"
if [ $rc -eq 2 ] && [ -z "$left" ]; then
    ok "not a bundle: exit 2, nothing left"
else
    not_ok "not a bundle: exit 2 (got $rc), nothing left (${left:-none})"
fi
sed 's/^/# /' "$work/junk.err"
[ $failed -eq 0 ]
