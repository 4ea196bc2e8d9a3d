#!/bin/sh
# CLI test of `envtest run` / `envtest report` without an environment (--no-env), printing TAP.
# Usage: cli_run_test.sh path/to/envtest
set -u
envtest=$(realpath "$1")
suites=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/envtest-cli-run.XXXXXX)
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
exit_is() { # exit_is CODE COMMAND...
    want=$1
    shift
    "$@"
    got=$?
    [ "$got" -eq "$want" ] || { echo "exit status $got, expected $want"; return 1; }
}
echo "1..20"

check "passing suite exits 0" exit_is 0 "$envtest" -q run --no-env -s "$suites/pass.sh"
check "failing suite exits 1" exit_is 1 "$envtest" -q run --no-env -s "$suites/fail.sh"
check "bad --shard exits 2" exit_is 2 "$envtest" run --no-env --shard 3/2 -s "$suites/pass.sh"
check "-- CMD judged by exit code (true)" exit_is 0 "$envtest" -q run --no-env -- true
check "-- CMD judged by exit code (false)" exit_is 1 "$envtest" -q run --no-env -- false
check "missing suite is that suite's error, exit 1" sh -c \
    "'$envtest' run --no-env -s ./nope.sh > missing.out; test \$? -eq 1"
check "missing suite named in the output" grep -q "ERROR   nope.sh.*No such file" missing.out
check "flaky suite passes with a warning" sh -c \
    "'$envtest' run --no-env --retries 1 -s '$suites/flaky.sh' | grep -q 'warning: flaky suites.*flaky.sh'"
check "failing suite's output printed at the end" sh -c \
    "'$envtest' run --no-env -s '$suites/fail.sh' | grep -q -- '---- output of fail.sh'"
if command -v xmllint > /dev/null; then
    check "report of the latest run as JUnit is well-formed" sh -c \
        "'$envtest' report --format junit | xmllint --noout -"
else
    n=$((n + 1))
    echo "ok $n - report as JUnit is well-formed # SKIP xmllint missing (apt-get install libxml2-utils)"
fi
check "report --format json has the ADR fields" sh -c \
    "'$envtest' report --format json | grep -q '\"performance_analysis\"'"

cat > compose.yaml <<EOF
services:
  dummy:
    image: scratch
x-envtest:
  suites:
    - {name: a, path: "$suites/pass.sh"}
    - {name: b, path: "$suites/fail.sh"}
    - {name: c, path: "$suites/skip.sh"}
    - {name: d, path: "$suites/todo.sh", tags: [fast]}
    - {name: e, path: "$suites/plan_mismatch.sh", tags: [fast]}
    - {name: f, path: "$suites/crash.sh"}
EOF
"$envtest" -q run --no-env --report-dir all > /dev/null
"$envtest" -q run --no-env --shard 1/2 --report-dir s1 > /dev/null
"$envtest" -q run --no-env --shard 2/2 --report-dir s2 > /dev/null
check "merge of the shard reports" "$envtest" report merge s1/report.json s2/report.json -o merged.json
total() { tr -d ' \n' < "$1" | grep -o '"summary":{"total":[0-9]*,"passed":[0-9]*,"failed":[0-9]*,"skipped":[0-9]*,"flaky":[0-9]*'; }
total merged.json > merged.total
total all/report.json > all.total
check "merged summary equals the unsharded one" sh -c "test -s all.total && cmp all.total merged.total"
check "--tag selects suites" sh -c "'$envtest' run --no-env --tag fast | grep -c '^\\(PASS\\|FAIL\\) ' | grep -qx 2"
# a selection that matches nothing is a usage error naming what there is, not a green run
"$envtest" run --no-env --tag fats > fats.out 2>&1
code=$?
check "--tag that matches no suite exits 2" test "$code" -eq 2
check "... naming the known suites and tags" sh -c \
    "grep -q -- '--tag fats: no suite has this tag (suites: a, b, c, d, e, f; tags: fast)' fats.out"
# only an empty shard of a non-empty selection passes, with a note: a 1-suite selection in 8 shards
empty=""
for k in 1 2 3 4 5 6 7 8; do
    "$envtest" run --no-env -s "$suites/pass.sh" --shard "$k/8" > shard.out 2>&1 ||
        continue
    grep -q "note: shard $k/8 has no suite of this selection" shard.out && empty=$k && break
done
check "an empty shard passes with a note" test -n "$empty"

mkdir gh
check "GitHub annotations and step summary" sh -c "GITHUB_ACTIONS=true GITHUB_STEP_SUMMARY=$work/gh/summary.md \
    '$envtest' -q run --no-env -s '$suites/fail.sh' | grep -q '^::error file=suites/db_test.c,line=42,' && \
    grep -q 'Most common failures' gh/summary.md"

# Ctrl-C: the hanging suite is killed, partial report written, exit 130
"$envtest" run --no-env -s "$suites/hang.sh" -s "$suites/pass.sh" -j 1 > int.out 2>&1 &
pid=$!
sleep 1
kill -INT "$pid"
wait "$pid"
code=$?
check "interrupted run exits 130 with a report" sh -c "test $code -eq 130 && \
    '$envtest' report --format json | grep -q '\"status\": \"interrupted\"'"

check "history counts the runs of a suite" sh -c \
    "'$envtest' report history --format json | tr -d ' \n' | grep -q '\"suite\":\"fail.sh\",\"runs\":[2-9]'"

[ "$failed" -eq 0 ]
