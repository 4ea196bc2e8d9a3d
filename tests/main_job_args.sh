#!/usr/bin/env bash
# unit test: ci/main-job.sh takes its project from -p or $ENVTEST_PROJECT, else a name of its own
# per job (two jobs on one engine never collide), and passes its global options to up, run and
# down, the rest to run (ENVTEST_DRY_RUN=1 prints the envtest commands). TAP.
set -u
src="$1"
n=0 failed=0
expect() {
    n=$((n + 1))
    if [ "$2" = "$3" ]; then echo "ok $n - $1"; else
        failed=$((failed + 1))
        printf 'not ok %s - %s\n#   expected: %s\n#   actual:   %s\n' "$n" "$1" "$2" "$3"
    fi
}
run() { env -u ENVTEST_PROJECT ENVTEST_DRY_RUN=1 "$@"; }
out=$(run bash "$src/ci/main-job.sh" -p ci7 -f x.yaml --shard 1/2 -j 4)
expect "up gets the global options" "envtest -f x.yaml -p ci7 up " "$(sed -n 1p <<<"$out")"
expect "run gets them and the rest" "envtest -f x.yaml -p ci7 run --shard 1/2 -j 4" "$(sed -n 2p <<<"$out")"
expect "down gets them" "envtest -f x.yaml -p ci7 down -v" "$(sed -n 3p <<<"$out")"
out=$(run ENVTEST_PROJECT=mine ENVTEST_UP_ARGS="--wait-timeout 300" bash "$src/ci/main-job.sh")
expect "ENVTEST_PROJECT and ENVTEST_UP_ARGS" "envtest -p mine up --wait-timeout 300" "$(sed -n 1p <<<"$out")"
a=$(run bash "$src/ci/main-job.sh" | sed -n 1p)
b=$(run bash "$src/ci/main-job.sh" | sed -n 1p)
n=$((n + 1))
if [ "$a" != "$b" ] && [[ $a == "envtest -p seoul-"* ]]; then echo "ok $n - two jobs get two projects ($a / $b)"; else
    failed=$((failed + 1))
    echo "not ok $n - two jobs get two projects ($a / $b)"
fi
echo "1..$n"
[ "$failed" -eq 0 ]
