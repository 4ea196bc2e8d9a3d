#!/bin/sh
# The monitor over a run of many tests (issue 11's flood): 40 suites of 1,201 tests each (1,200
# passing, the last failing with a message), --no-env, -j 4. The test-level history, report.json,
# junit.xml and report.html hold every recorded test (the parser records the first 1,000 tests of a
# suite and every failing one after them), while envtest's peak RSS does not grow with the number
# of suites: within 8 MiB of a run of 4 such suites (it grew by about 1 MiB per suite when the
# monitor loaded the whole report.json). The RSS check is skipped under ASan (its quarantine keeps
# freed memory).
# Usage: flood_test.sh ENVTEST OUTPUT_DIR
set -u
envtest=$(realpath "$1")
out=$2
rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d /tmp/envtest-monitor-flood.XXXXXX)
trap 'rm -rf "$work"' EXIT
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
echo "1..7"

cat > suite.sh <<'EOF'
#!/bin/sh
awk 'BEGIN { print "1..1201"; for (i = 1; i <= 1200; i++) print "ok " i " - t" i
             print "not ok 1201 - the last"; print "  ---"; print "  message: it broke"; print "  ..." }'
EOF
chmod +x suite.sh
# run N: runs N suites with GNU time (when present); peak RSS in KiB in rss.N, exit status in rc.N
run() {
    set --
    i=1
    while [ "$i" -le "$n_suites" ]; do
        ln -sf suite.sh "s$(printf %02d "$i")"
        set -- "$@" -s "$work/s$(printf %02d "$i")"
        i=$((i + 1))
    done
    rm -rf .envtest
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f %M -o "time.$n_suites" "$envtest" -q run --no-env -j 4 --history h.sqlite \
            "$@" > "run.$n_suites.out" 2>&1
    else
        "$envtest" -q run --no-env -j 4 --history h.sqlite "$@" > "run.$n_suites.out" 2>&1
    fi
    echo $? > "rc.$n_suites"
    [ -f "time.$n_suites" ] && tail -n 1 "time.$n_suites" > "rss.$n_suites"
}
n_suites=4 run
rm -f h.sqlite h.sqlite-wal h.sqlite-shm
n_suites=40 run
latest=.envtest/runs/latest

check "40 failing suites: run exits 1" test "$(cat rc.40)" = 1
check "history: 40 x 1,001 test rows, 40 of them failed, with the message" test \
    "$(sqlite3 h.sqlite "SELECT COUNT(*), SUM(status = 'failed'), SUM(message = 'it broke') FROM test_results")" \
    = "40040|40|40"
check "history: 40 x 1,001 daily test aggregates" test \
    "$(sqlite3 h.sqlite 'SELECT COUNT(*), SUM(runs) FROM test_daily')" = "40040|40040"
check "report.json: 40 suites of 1,001 recorded tests, 1,201 ran" jq -e \
    '(.suites | length) == 40 and all(.suites[]; (.tests | length) == 1001 and .tap_summary.ran == 1201 and .tap_summary.tests_not_recorded == 200)' \
    "$latest/report.json"
check "junit.xml: 40,040 test cases, 40 failures" sh -c \
    "test \"\$(grep -c '<testcase ' '$latest/junit.xml')\" = 40040 && test \"\$(grep -c '<failure ' '$latest/junit.xml')\" = 40"
check "report.html: every failing test listed" test \
    "$(grep -o '<b>not ok 1201 - the last</b>' "$latest/report.html" | wc -l)" = 40
cp "$latest/report.html" "$out/report.html"
if [ ! -x /usr/bin/time ]; then
    echo "ok 7 # SKIP GNU time absent (apt-get install time)"
elif ldd "$envtest" 2>/dev/null | grep -q libasan; then
    echo "ok 7 # SKIP ASan build (its quarantine keeps freed memory)"
else
    check "peak RSS of 40 suites ($(cat rss.40) KiB) within 8 MiB of 4 suites' ($(cat rss.4) KiB)" \
        test "$(cat rss.40)" -le $(($(cat rss.4) + 8192))
fi
[ "$failed" -eq 0 ]
