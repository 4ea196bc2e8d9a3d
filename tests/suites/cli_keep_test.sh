#!/bin/sh
# Docker test of `envtest keep`: every re-run command it prints for a failing suite works, whether
# the suite was named in x-envtest.suites, given as an absolute path, or a command after --: run
# as printed, from another folder, each runs the same suite again (exit 1: it fails again, not 2:
# a usage error). TAP output.
# Usage: cli_keep_test.sh path/to/envtest
set -u
envtest=$(realpath "$1")
suites=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/envtest-cli-keep.XXXXXX)
project=envtest-keep-rerun-$$
trap '"$envtest" -p "$project" -f "$work/compose.yaml" down -v >/dev/null 2>&1; rm -rf "$work"' EXIT
mkdir "$work/bin" "$work/elsewhere"
ln -s "$envtest" "$work/bin/envtest" # the printed commands say `envtest`
PATH="$work/bin:$PATH"
cd "$work" || exit 1
cp "$suites/fail.sh" "$work/fails.sh"
cat > compose.yaml <<YAML
services:
  db:
    image: \${ENVTEST_MYSQL_IMAGE:-envtest/mysql-offline:10.11}
    environment:
      MYSQL_DATABASE: app
      MYSQL_ROOT_PASSWORD: rootpw
    ports: ["3306"]
    tmpfs: [/var/lib/mysql]
    healthcheck:
      test: ["CMD-SHELL", "mysqladmin ping -h127.0.0.1 --protocol=tcp -uroot -prootpw --silent"]
      interval: 1s
      timeout: 5s
      retries: 120
x-envtest:
  suites:
    - {name: named-fails, path: "$suites/fail.sh"}
YAML
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)) failed=$((failed + 1)); echo "not ok $n - $1"; sed 's/^/# /' "$2" | head -30; }
echo "1..6"
if envtest -p "$project" -f "$work/compose.yaml" up > up.out 2>&1; then ok "up"; else not_ok "up" up.out; exit 1; fi

# check_rerun DESCRIPTION SUITE RUN-ARGS...: the run fails (1), keep prints one re-run command for
# SUITE, and that command, run from another folder, runs SUITE again and fails the same way (1).
check_rerun() {
    desc=$1 suite=$2
    shift 2
    envtest -p "$project" -f "$work/compose.yaml" run "$@" > run.out 2>&1
    code=$?
    envtest -p "$project" -f "$work/compose.yaml" keep > keep.out 2>&1
    line=$(grep "^  $suite  *re-run: " keep.out)
    cmd=${line#*re-run: }
    if [ "$code" -ne 1 ] || [ -z "$line" ]; then
        echo "run exited $code; keep printed:" >> keep.out
        not_ok "$desc: keep prints a re-run command" keep.out
        return
    fi
    (cd "$work/elsewhere" && sh -c "$cmd") > rerun.out 2>&1
    code=$?
    echo "# $cmd"
    if [ "$code" -eq 1 ] && grep -q "^FAIL    $suite " rerun.out; then
        ok "$desc: the printed command runs $suite again"
    else
        echo "exit $code for: $cmd" >> rerun.out
        not_ok "$desc: the printed command runs $suite again" rerun.out
    fi
}
check_rerun "a suite of x-envtest.suites" named-fails --suite named-fails
check_rerun "a suite given as an absolute path" fails.sh --suite "$work/fails.sh"
check_rerun "a command after --" sh -- sh -c 'echo "it failed"; exit 1'

# keep lists an interrupted suite too (not a "crashed" status nothing produces)
envtest -p "$project" -f "$work/compose.yaml" run --suite "$suites/hang.sh" > int.out 2>&1 &
pid=$!
i=0
while ! ls .envtest/runs/*/hang.sh.pid > /dev/null 2>&1 && [ $i -lt 300 ]; do
    sleep 0.1
    i=$((i + 1))
done
kill -INT "$pid"
wait "$pid"
envtest -p "$project" -f "$work/compose.yaml" keep > keep.out 2>&1
if grep -q "^  hang.sh  *re-run: " keep.out; then ok "an interrupted suite is listed"
else not_ok "an interrupted suite is listed" keep.out; fi
if envtest -p "$project" keep --release > release.out 2>&1; then ok "keep --release"
else not_ok "keep --release" release.out; fi
[ "$failed" -eq 0 ]
