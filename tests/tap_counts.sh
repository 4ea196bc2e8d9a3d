# shellcheck shell=bash
# TAP test points counted in n and failed, for the docker tests written with them
# (test_oom_kill.sh, test_disk_full.sh, test_engine_restart.sh, test_reaper.sh,
# test_concurrency.sh); source it, then `n=0 failed=0`.
#   ok STATUS DESCRIPTION [DIAGNOSTIC]   a point from a status
#   is GOT EXPECTED DESCRIPTION [MORE]   a point from a comparison
#   has FILE TEXT DESCRIPTION            FILE contains TEXT (a fixed string)
#   need REASON                          a missing prerequisite: skip (77), or bail out with
#                                        ENVTEST_REQUIRE_DOCKER=1
ok() { # ok STATUS DESCRIPTION [DIAGNOSTIC]
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else
        failed=$((failed + 1))
        echo "not ok $n - $2"
        [ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/#   /'
    fi
    return 0
}
is() { if [ "$1" = "$2" ]; then ok 0 "$3"; else ok 1 "$3" "got:      '$1'
expected: '$2'
${4:-}"; fi; }
has() { # has FILE TEXT DESCRIPTION: FILE contains TEXT (fixed string)
    if grep -qF -- "$2" "$1"; then ok 0 "$3"; else ok 1 "$3" "no '$2' in:
$(cat "$1")"; fi
}
need() {
    [ "${ENVTEST_REQUIRE_DOCKER:-0}" = 1 ] && { echo "Bail out! $1"; exit 1; }
    echo "1..0 # SKIP $1"
    exit 77
}
