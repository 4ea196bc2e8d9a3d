#!/bin/sh
# CLI test of the monitor (issue 14) without an environment (--no-env), printing TAP: a suite
# allocating 200 MB over a 100MB memory limit raises a memory alert whose peak is within 10 % of
# GNU time's; a duration alert; --fail-on-alert; summary.md, report.html and GitHub annotations
# (file= and line=); the history migrated from schema 1, written by two runs at once, and bad
# history databases (corrupt, newer schema, locked, read-only): one warning, the run completes.
# Usage: cli_monitor_test.sh ENVTEST ALLOC_SUITE OUTPUT_DIR
set -u
envtest=$(realpath "$1")
alloc=$(realpath "$2")
out=$3
suites=$(cd "$(dirname "$0")/../suites" && pwd)
rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d /tmp/envtest-cli-monitor.XXXXXX)
chmod 755 "$work"
holder=""
trap '[ -n "$holder" ] && kill "$holder" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work" || exit 1
n=0
failed=0
check() { # check DESCRIPTION COMMAND...
    n=$((n + 1))
    desc=$1
    shift
    if "$@" > "$work/last.out" 2>&1; then
        echo "ok $n - $desc"
    else
        echo "not ok $n - $desc"
        sed 's/^/# /' "$work/last.out" | head -40
        failed=$((failed + 1))
    fi
}
exit_is() { # exit_is CODE COMMAND...
    want=$1
    shift
    "$@"
    got=$?
    [ "$got" -eq "$want" ] || { echo "exit status $got, expected $want"; return 1; }
}
echo "1..26"

cat > compose.yaml <<YAML
services:
  x: {image: busybox}
x-envtest:
  monitor:
    alerts: {memory: 100MB}
  suites:
    - {name: alloc, path: $alloc, args: ["200"]}
YAML

# 1-6: the memory alert, measured against GNU time
check "a suite over its memory limit: run exits 0 (an alert alone does not fail)" sh -c \
    "exit_is() { :; }; '$envtest' run --no-env --history h.sqlite > run1.out 2>&1"
check "the end of the run names the alert" grep -q "alert: memory: suite alloc peaked at" run1.out
check "report.json: one memory alert naming the suite" test "$(jq -r \
    '.alerts | "\(length) \(.[0].type) \(.[0].suite) \(.[0].limit)"' .envtest/runs/latest/report.json)" \
    = "1 memory alloc 104857600"
measured=$(jq '.alerts[0].value | floor' .envtest/runs/latest/report.json)
if [ -x /usr/bin/time ]; then
    reference=$(/usr/bin/time -v "$alloc" 200 2>&1 >/dev/null |
        sed -n 's/.*Maximum resident set size (kbytes): //p')
    check "peak $measured B within 10 % of GNU time's ${reference} KiB" jq -en \
        --argjson m "$measured" --argjson r "$reference" \
        '($m - $r * 1024) as $d | (if $d < 0 then -$d else $d end) <= 0.1 * $r * 1024'
else
    check "peak measured ($measured B >= 200 MiB; GNU time absent: install the 'time' package)" \
        test "$measured" -ge 209715200
fi
check "summary.md lists the alert" grep -q "Alerts (1)" .envtest/runs/latest/summary.md
check "report.html beside report.json, with its charts" grep -q 'id="chart-memory"' \
    .envtest/runs/latest/report.html

# 7-9: --fail-on-alert, duration alert
check "--fail-on-alert: exit 1" exit_is 1 "$envtest" -q run --no-env --history h.sqlite --fail-on-alert
cat > slow.yaml <<YAML
services:
  x: {image: busybox}
x-envtest:
  monitor: {alerts: {duration: 1s}}
  suites:
    - {name: slow, path: $suites/sleep.sh, args: ["1.3"]}
YAML
check "a suite over its duration limit: a duration alert" sh -c \
    "'$envtest' -f slow.yaml run --no-env --history h.sqlite > slow.out 2>&1 && grep -q 'alert: duration: suite slow took 1' slow.out"
check "per-suite CPU time and peak RSS in report.json" jq -e \
    '.suites[0] | .cpu_time >= 0 and .peak_rss > 0 and .tests[0].peak_rss > 0' \
    .envtest/runs/latest/report.json

# 10-12: GitHub Actions: ::warning for alerts, ::error with file= and line=
: > step_summary.md
check "GitHub: run with a failing suite exits 1" sh -c "GITHUB_ACTIONS=true \
    GITHUB_STEP_SUMMARY='$work/step_summary.md' '$envtest' -q run --no-env --history h.sqlite \
    -s '$suites/fail.sh' -s '$alloc' > gh.out 2>&1; test \$? = 1"
check "::error lands on the code (file= and line= from the TAP diagnostics)" \
    grep -q "^::error file=suites/db_test.c,line=42,title=" gh.out
check "::warning for the alert" grep -q "^::warning title=envtest alert%3A memory::suite mon" gh.out

# 13-14: the history: schema 2 with what the runs recorded; ENVTEST_HISTORY
check "history: schema version 2, runs with tests and alerts" sh -c \
    "test \"\$(sqlite3 h.sqlite 'PRAGMA user_version; SELECT COUNT(*) > 3 FROM runs; SELECT COUNT(*) > 0 FROM test_results; SELECT COUNT(*) >= 3 FROM alerts WHERE type = \"memory\"' | tr '\n' ' ')\" = '2 1 1 1 '"
check "ENVTEST_HISTORY moves the history" sh -c \
    "ENVTEST_HISTORY='$work/moved.sqlite' '$envtest' -q run --no-env -s '$suites/pass.sh' && test \"\$(sqlite3 moved.sqlite 'SELECT COUNT(*) FROM runs')\" = 1"

# 15-16: migration from envtest's schema 1
sqlite3 v1.sqlite "CREATE TABLE suite_results (run_id TEXT NOT NULL, suite TEXT NOT NULL,
    status TEXT NOT NULL, start TEXT, duration REAL, attempts INTEGER, tests INTEGER,
    passed INTEGER, failed INTEGER, skipped INTEGER, message TEXT, PRIMARY KEY (run_id, suite));
    INSERT INTO suite_results VALUES ('old-run', 'data', 'flaky', '2026-11-01T10:00:00.000Z', 2.5,
    2, 10, 10, 0, 0, NULL);"
check "a schema-1 history is migrated without a warning" sh -c \
    "'$envtest' run --no-env --history v1.sqlite -s '$suites/pass.sh' > v1.out 2>&1 && ! grep -q warning v1.out"
check "its old run is kept (runs: old-run with its flaky suite, and the new one)" sh -c \
    "test \"\$(sqlite3 v1.sqlite 'PRAGMA user_version; SELECT run_id || \" \" || flaky FROM runs ORDER BY start_epoch LIMIT 1; SELECT COUNT(*) FROM runs' | tr '\n' ' ')\" = '2 old-run 1 2 '"

# 17-18: two runs writing at once (WAL, busy timeout)
"$envtest" -q run --no-env --history both.sqlite -s "$suites/pass.sh" > both1.out 2>&1 &
p1=$!
"$envtest" -q run --no-env --history both.sqlite -s "$suites/pass.sh" > both2.out 2>&1 &
p2=$!
wait $p1
r1=$?
wait $p2
r2=$?
check "two runs at once on one history both exit 0, no warning" sh -c \
    "test $r1 = 0 && test $r2 = 0 && ! grep -q warning both1.out both2.out"
check "both are recorded" test "$(sqlite3 both.sqlite 'SELECT COUNT(*) FROM runs')" = 2

# 19-23: bad databases: one warning naming the problem, the run completes with its reports
bad_db() { # bad_db WHAT PATTERN DB [RUNNER...]
    pattern=$2 db=$3
    shift 3
    rm -rf .envtest/runs/latest
    "$@" "$envtest" run --no-env --history "$db" -s "$suites/pass.sh" > bad.out 2>&1
    rc=$?
    [ "$rc" -eq 0 ] || { echo "exit $rc"; cat bad.out; return 1; }
    [ "$(grep -c warning bad.out)" -eq 1 ] || { echo "not one warning:"; cat bad.out; return 1; }
    grep -q "warning: history $db: .*$pattern" bad.out || { cat bad.out; return 1; }
    test -s .envtest/runs/latest/report.json && test -s .envtest/runs/latest/report.html
}
head -c 16384 /dev/urandom > corrupt.sqlite
check "corrupt history: one warning, reports written" bad_db "corrupt" "not a usable SQLite database" corrupt.sqlite
sqlite3 newer.sqlite "CREATE TABLE x (a); PRAGMA user_version = 99;"
check "newer schema: one warning, reports written" bad_db "newer" "schema version 99 is newer" newer.sqlite
cp h.sqlite locked.sqlite
rm -f lock.fifo
mkfifo lock.fifo
sqlite3 locked.sqlite < lock.fifo > /dev/null 2>&1 &
holder=$!
exec 3> lock.fifo
# with a busy timeout: a probe below holding its shared lock at that moment must not make BEGIN
# EXCLUSIVE fail at once (then nothing held the lock, and the run below wrote its history)
printf '%s\n' ".timeout 10000" "BEGIN EXCLUSIVE; INSERT INTO alerts (run_id) VALUES ('lock');" >&3
i=0 # wait until the other process holds the write lock (WAL: readers are never blocked, a writer is)
until ! sqlite3 -cmd ".timeout 0" locked.sqlite "BEGIN IMMEDIATE; ROLLBACK;" > /dev/null 2>&1 || [ $i -ge 200 ]; do
    i=$((i + 1))
    sleep 0.05
done
check "locked history: one warning after the busy timeout, reports written" bad_db "locked" "locked by another process" locked.sqlite
exec 3>&-
wait "$holder" 2>/dev/null
holder=""
cp h.sqlite readonly.sqlite
rm -f readonly.sqlite-wal readonly.sqlite-shm
chmod 444 readonly.sqlite
if [ "$(id -u)" = 0 ]; then
    # root writes any file: the run goes as nobody in a folder nobody may write to
    chmod 777 "$work" && chmod -R a+rwX .envtest
    check "read-only history: one warning, reports written" bad_db "read-only" "read-only\|readonly\|cannot be opened" readonly.sqlite \
        setpriv --reuid=65534 --regid=65534 --clear-groups
else
    check "read-only history: one warning, reports written" bad_db "read-only" "read-only\|readonly\|cannot be opened" readonly.sqlite
fi
check "the read-only history is unchanged" test "$(sqlite3 readonly.sqlite 'SELECT COUNT(*) FROM runs')" = "$(sqlite3 h.sqlite 'SELECT COUNT(*) FROM runs')"

# 24-26: trends and the HTML report of a past run
check "envtest trends --json: runs, pass rate, flaky rate, slowest tests, alert counts" sh -c \
    "'$envtest' trends --history h.sqlite --json > trends.json && jq -e '.runs >= 4 and .alerts.memory >= 3 and (.slowest_tests | length) > 0 and .pass_rate >= 0 and .pass_rate <= 100 and .flaky_rate != null' trends.json"
check "envtest trends without a history: exit 3" exit_is 3 "$envtest" trends --history nothing.sqlite
check "envtest report --format html RUN -o FILE" sh -c \
    "ENVTEST_HISTORY=h.sqlite '$envtest' report --format html .envtest/runs/latest -o '$out/report.html' && grep -q 'id=\"chart-pass-rate\"' '$out/report.html'"
[ "$failed" -eq 0 ]
