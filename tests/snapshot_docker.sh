#!/bin/sh
# State snapshots on the real engine (issue 16), TAP, with the Seoul environment and its small
# fixture (MySQL tables, mock-llm's cassette, mock-vector's collection):
#   1. the first up loads the fixture and saves a snapshot;
#   2. an up in another project restores it ("state from snapshot"), with the same rows (CHECKSUM
#      TABLE of every table), the same vector points and cassette, and the new project's passwords
#      (sca-api, which logs in with its own generated password, turns healthy);
#   3. a changed fixture (same content, another digest) is loaded, not restored;
#   4. a truncated snapshot and one whose tar is garbage are not used: a warning, the fixture
#      loaded, the same rows, and the bad snapshot removed;
#   5. up --no-snapshot loads; snapshot ls / rm / prune.
# Usage: snapshot_docker.sh ENVTEST_BINARY   (ENVTEST_BUILD_DIR, ENVTEST_MYSQL_IMAGE as for envtest)
# Projects: <stem>-t1 .. -t4, stem $ENVTEST_TEST_PROJECT (default snap-<pid>: two checkouts can run
# it at once on one engine).
set -u
envtest="$1"
build="${ENVTEST_BUILD_DIR:-build}"
work="$(mktemp -d)"
stem="${ENVTEST_TEST_PROJECT:-snap-$$}"
t1="$stem-t1" t2="$stem-t2" t3="$stem-t3" t4="$stem-t4"
projects="$t1 $t2 $t3 $t4"
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)) failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if [ "$1" = 0 ]; then ok "$2"; else not_ok "$2"; fi; }
down_all() { for p in $projects; do "$envtest" -q -p "$p" down -v >/dev/null 2>&1; done; }
cleanup() { down_all; rm -rf "$work"; }
trap cleanup EXIT INT TERM
down_all
mkdir -p .envtest/cassettes "$work/data/fixtures" "$work/snapshots"
# the build's data folder, with a fixture archive this test may change
build_abs="$(cd "$build" && pwd)"
for entry in "$build_abs"/*; do
    [ "$(basename "$entry")" = fixtures ] || ln -s "$entry" "$work/data/"
done
cp "$build/fixtures/seoul-small.tar.gz" "$work/data/fixtures/seoul-small.tar.gz"
export ENVTEST_DATA_DIR="$work/data" ENVTEST_SNAPSHOT_DIR="$work/snapshots"

up() { # up PROJECT [options]: the log in $work/PROJECT.log
    p="$1"
    shift
    "$envtest" -p "$p" up "$@" >"$work/$p.log" 2>&1 && return 0
    sed 's/^/# /' "$work/$p.log"
    return 1
}
# What the fixture put in the environment: CHECKSUM TABLE of every table it loaded (sca-api writes
# its own, audit_log, on every request), the vector points and the cassette's models.
state() {
    vars="$("$envtest" -q -p "$1" env 2>/dev/null)" || return 1
    eval "$vars"
    m() { mariadb -h127.0.0.1 -P"$ENVTEST_MYSQL_PORT" -u"$ENVTEST_MYSQL_USER" \
        -p"$ENVTEST_MYSQL_PASSWORD" "$ENVTEST_MYSQL_DATABASE" -N -B -e "$1"; }
    tables="$(m "SELECT GROUP_CONCAT(table_name ORDER BY table_name) FROM _envtest_fixture")"
    m "CHECKSUM TABLE $tables"
    m "SELECT fixture, table_name, digest, row_count FROM _envtest_fixture ORDER BY 1, 2"
    curl -fsS -XPOST "http://127.0.0.1:$ENVTEST_MOCK_VECTOR_PORT/collections/seoul_documents/points/scroll" \
        -H 'Content-Type: application/json' -d '{"limit":1000,"with_payload":true,"with_vector":true}' |
        jq -S '.result.points | sort_by(.id)' | sha256sum
    curl -fsS "http://127.0.0.1:$ENVTEST_MOCK_LLM_PORT/__admin/cassette" | jq -S .cassette.models
}
snapshots() { "$envtest" snapshot ls --json | jq -r '.[] | select(.complete) | .key'; }

echo "1..12"
# 1. load and save
if ! up "$t1"; then echo "Bail out! up of $t1 failed"; exit 1; fi
grep -q 'fixture seoul: loaded' "$work/$t1.log" && grep -q 'snapshot [0-9a-f]* saved' "$work/$t1.log"
check $? "the first up loads the fixture and saves a snapshot"
key="$(snapshots)"
[ "$(echo "$key" | wc -w)" = 1 ] && [ -f "$work/snapshots/$key/datadir.tar" ]
check $? "snapshot ls lists it ($(echo "$key" | cut -c1-12))"
state "$t1" >"$work/t1.state" 2>&1 || { sed 's/^/# /' "$work/t1.state"; echo "Bail out! state"; exit 1; }
"$envtest" -q -p "$t1" down -v >/dev/null 2>&1

# 2. restore in another project
short="$(echo "$key" | cut -c1-12)"
up "$t2" && grep -q "mysql: loaded .*state from snapshot $short" "$work/$t2.log" &&
    ! grep -q 'fixture seoul: loaded' "$work/$t2.log"
check $? "an up in another project restores it, sca-api healthy with its own passwords"
state "$t2" >"$work/t2.state" 2>&1
if cmp -s "$work/t1.state" "$work/t2.state"; then ok "the same rows, vector points and cassette"; else
    not_ok "the same rows, vector points and cassette"
    diff "$work/t1.state" "$work/t2.state" | sed 's/^/# /'
fi
up "$t2" && grep -q 'fixture seoul: unchanged' "$work/$t2.log"
check $? "a second up of that project finds the fixture loaded"
"$envtest" -q -p "$t2" down -v >/dev/null 2>&1

# 3. another digest: loaded, and a second snapshot
gzip -dc "$build/fixtures/seoul-small.tar.gz" | gzip -1 >"$work/data/fixtures/seoul-small.tar.gz"
up "$t3" && grep -q 'fixture seoul: loaded' "$work/$t3.log" &&
    ! grep -q 'state from snapshot' "$work/$t3.log" && [ "$(snapshots | wc -l)" = 2 ]
check $? "a changed fixture (another digest) is loaded, not restored, and saved apart"
state "$t3" >"$work/t3.state" 2>&1
"$envtest" -q -p "$t3" down -v >/dev/null 2>&1
key3="$(snapshots | grep -v "$key")"

# 4. bad snapshots: truncated, then garbage of the right size
tar="$work/snapshots/$key3/datadir.tar"
truncate -s 100000 "$tar"
up "$t4" && grep -q "snapshot .* unusable" "$work/$t4.log" &&
    grep -q 'fixture seoul: loaded' "$work/$t4.log"
check $? "a truncated snapshot: a warning, the fixture loaded"
state "$t4" >"$work/t4.state" 2>&1
cmp -s "$work/t3.state" "$work/t4.state"
check $? "the same rows as the load of that fixture"
"$envtest" -q -p "$t4" down -v >/dev/null 2>&1
size=$(stat -c %s "$work/snapshots/$key3/datadir.tar")
head -c "$size" /dev/urandom >"$work/snapshots/$key3/datadir.tar"
up "$t4" && grep -q "snapshot .* could not be restored" "$work/$t4.log" &&
    grep -q 'fixture seoul: loaded' "$work/$t4.log" && state "$t4" >"$work/t4.state" 2>&1 &&
    cmp -s "$work/t3.state" "$work/t4.state"
check $? "a snapshot whose tar is garbage: unpacking fails in the container, a warning, the fixture loaded, the same rows"
"$envtest" -q -p "$t4" down -v >/dev/null 2>&1

# 5. --no-snapshot, rm, prune
up "$t4" --no-snapshot && grep -q 'fixture seoul: loaded' "$work/$t4.log" &&
    ! grep -q 'snapshot' "$work/$t4.log"
check $? "up --no-snapshot loads and saves nothing"
"$envtest" -q -p "$t4" down -v >/dev/null 2>&1
"$envtest" -q snapshot rm "$(echo "$key" | cut -c1-8)" && ! snapshots | grep -q "$key"
check $? "snapshot rm KEY-PREFIX"
"$envtest" -q snapshot prune --all && [ -z "$(snapshots)" ]
check $? "snapshot prune --all"
exit $((failed > 0))
