#!/usr/bin/env bash
# docker test (issue 13, item 2): `envtest up --session`, an environment for as long as the envtest
# process lives. Ctrl-C, SIGTERM and SIGHUP end the session: envtest exits 0 and the environment it
# brought up is gone as it exits; kill -9 leaves it to the reaper container (nothing left within
# 15 s); an environment the user brought up before stays up; a run sharing a session's environment
# does not remove it. TAP output; skips (77) without an engine unless ENVTEST_REQUIRE_DOCKER=1.
#   ENVTEST_TEST_PROJECT   project name (default envtest-sess-<pid>)
set -uo pipefail
src="${ENVTEST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
bin="${ENVTEST_BINARY_DIR:-$src/build}"
# shellcheck source=ci/lib.sh
source "$src/ci/lib.sh"
# shellcheck source=tests/tap_lib.sh
source "$src/tests/tap_lib.sh"
envtest="$bin/cmd/envtest"
project="${ENVTEST_TEST_PROJECT:-envtest-sess-$$}"
TMP="$(mktemp -d)"
export ENVTEST_LOCK_DIR="$TMP"
unset ENVTEST_REAPER

docker_ping || tap_need "no Docker engine at $ENVTEST_DOCKER_SOCK"
[ -x "$envtest" ] || tap_need "no envtest at $envtest"
[ -x /bin/busybox ] || tap_need "no /bin/busybox (apt-get install busybox-static)"
mkdir -p "$TMP/busybox"
cp /bin/busybox "$TMP/busybox/"
printf '%s\n' 'FROM scratch' 'COPY busybox /bin/busybox' 'RUN ["/bin/busybox", "--install", "-s", "/bin"]' \
    'RUN ["/bin/busybox", "mkdir", "-p", "/www", "/tmp"]' 'CMD ["sh"]' >"$TMP/busybox/Dockerfile"
export BUSYBOX_CONTEXT="$TMP/busybox"
et() { "$envtest" -H "unix://$ENVTEST_DOCKER_SOCK" -f "$src/tests/compose/reaper/two.yaml" -p "$project" "$@"; }
cleanup() {
    [ -n "${pid:-}" ] && kill -9 "$pid" 2>/dev/null
    et down -v --rmi local >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT

# the project's containers, networks and volumes, its reaper container and its lock and use marks
objects() {
    local f r
    f="$(urlencode "{\"label\":[\"io.envtest.project=$project\"]}")"
    r="$(urlencode "{\"label\":[\"io.envtest.reaper=$project\"]}")"
    echo $(($(docker_api_ok GET "/containers/json?all=1&filters=$f" | jq length) +
        $(docker_api_ok GET "/containers/json?all=1&filters=$r" | jq length) +
        $(docker_api_ok GET "/networks?filters=$f" | jq length) +
        $(docker_api_ok GET "/volumes?filters=$f" | jq '.Volumes // [] | length') +
        $(docker_api_ok GET "/volumes" | jq --arg p "$project" '[.Volumes // [] | .[].Name |
            select(. == "envtest-lock-" + $p or startswith("envtest-lock-" + $p + "-beat-") or
                   startswith("envtest-use-" + $p + "-"))] | length')))
}
# start_session: `up --session` in the background (pid), until it says the environment is up
start_session() {
    : >"$TMP/session.log"
    (exec "$envtest" -H "unix://$ENVTEST_DOCKER_SOCK" -f "$src/tests/compose/reaper/two.yaml" \
        -p "$project" up --session) >"$TMP/session.out" 2>"$TMP/session.log" &
    pid=$!
    local t0=$SECONDS
    while ! grep -q "is up for this session" "$TMP/session.log"; do
        kill -0 "$pid" 2>/dev/null || return 1
        [ $((SECONDS - t0)) -ge 120 ] && return 1
        sleep 0.1
    done
}
end_session() { # SIGNAL: sends it, waits; rc: envtest's exit status
    rc=0
    kill "-$1" "$pid"
    wait "$pid" || rc=$?
    pid=
}

# 1-3: each ending signal
for sig in INT TERM HUP; do
    if start_session; then
        up_status=0
        et status >/dev/null 2>&1 || up_status=$?
        web="$(et env 2>/dev/null | sed -n 's/^export \(ENVTEST_WEB_PORT\)=.*/\1/p')"
        end_session "$sig"
        left="$(objects)"
        check_eq "SIG$sig ends the session: healthy while it lasted, exit 0, nothing left as it exits" \
            "status 0, ENVTEST_WEB_PORT, exit 0, 0 left" "status $up_status, $web, exit $rc, $left left"
    else
        tap_not_ok "SIG$sig ends the session: the session did not come up" "$(cat "$TMP/session.log")"
        [ -n "${pid:-}" ] && kill -9 "$pid" 2>/dev/null
        pid=
        et down -v >/dev/null 2>&1
    fi
done

# 4: kill -9: the reaper container removes the environment after its grace
export ENVTEST_REAPER_GRACE=2
if start_session; then
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
    pid=
    t0=$SECONDS
    while [ "$(objects)" != 0 ] && [ $((SECONDS - t0)) -lt 15 ]; do sleep 0.25; done
    left="$(objects)"
    check_eq "kill -9 of the session: the reaper removes everything within 15 s" "0 left" "$left left"
else
    tap_not_ok "kill -9 of the session: the session did not come up" "$(cat "$TMP/session.log")"
fi
unset ENVTEST_REAPER_GRACE
et down -v >/dev/null 2>&1

# 5: a run sharing the session's environment leaves it up; the session's end removes it
if start_session; then
    run_rc=0
    et run -- sh -c 'test -n "$ENVTEST_WEB_PORT"' >"$TMP/run.log" 2>&1 || run_rc=$?
    still=0
    et status >/dev/null 2>&1 || still=$?
    end_session INT
    check_eq "a run during a session shares it, the session's end removes it" \
        "run 0, still up 0, exit 0, 0 left" "run $run_rc, still up $still, exit $rc, $(objects) left"
else
    tap_not_ok "a run during a session: the session did not come up" "$(cat "$TMP/session.log")"
fi

# 6: an environment the user brought up stays up after a session on it
et up >/dev/null 2>&1
before="$(objects)"
if start_session; then
    end_session INT
    after="$(objects)"
    check_eq "a session on the user's environment leaves it up" "exit 0, $before objects" \
        "exit $rc, $after objects"
else
    tap_not_ok "a session on the user's environment: it did not come up" "$(cat "$TMP/session.log")"
fi
et down -v >/dev/null 2>&1

# 7: usage
rc=0
et up --session web >/dev/null 2>"$TMP/usage.log" || rc=$?
check_eq "up --session with a SERVICE is a usage error (exit 2), nothing made" "2 0" "$rc $(objects)"

tap_done
