#!/bin/sh
# Docker test of Compose compatibility: brings up compat.yaml with the local busybox image and
# checks each behaviour inside the containers. TAP output.
# usage: run.sh ENVTEST
set -u
envtest=$1
here=$(cd "$(dirname "$0")" && pwd)
project=compatdocker$$
other=compatother$$
work=$(mktemp -d)
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { # description command...
    d=$1; shift
    if "$@" >"$work/out" 2>&1; then ok "$d"; else fail "$d"; sed 's/^/# /' "$work/out" | head -20; fi
}
cleanup() {
    "$envtest" -q -f "$here/compat.yaml" -p "$project" down -v >/dev/null 2>&1
    "$envtest" -q -f "$here/compat.yaml" -p "$other" down -v >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
busybox=$(command -v busybox || true)
if [ -z "$busybox" ] || ! docker version >/dev/null 2>&1; then
    echo "1..0 # SKIP needs busybox-static and a Docker engine"
    exit 0
fi
mkdir -p "$work/ctx" && cp "$here/../../images/busybox/Dockerfile" "$work/ctx/" &&
    cp "$busybox" "$work/ctx/busybox"
export BUSYBOX_CONTEXT="$work/ctx" COMPAT_DB_NAME="compat-db-$$"
export COMPAT_ENV_SECRET="env-secret-$$-bytes"
e() { "$envtest" -f "$here/compat.yaml" -p "$project" "$@"; }

check "up brings up networks, secrets, configs, container_name, limits and waits" e up --wait-timeout 120
check "services of an inactive profile are not started" sh -c "! docker ps --format '{{.Names}}' | grep -q '^$project-debug-1\$'"
check "container_name is honoured" sh -c "docker inspect -f '{{.Config.Labels}}' $COMPAT_DB_NAME | grep -q 'io.envtest.project:$project'"
# (the static busybox's wget crashes on this machine, and its names resolve through glibc's NSS,
# which a static binary lacks: names are resolved with nslookup, HTTP spoken with nc by address)
http_ok() { # container-service address port
    "$envtest" -f "$here/compat.yaml" -p "$project" exec "$1" sh -c \
        "printf 'GET /etc/hostname HTTP/1.0\\r\\n\\r\\n' | nc -w 3 $2 $3" | grep -q '200 OK'
}
ip_on() { docker inspect -f "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}" "$1"; }
api_front=$(ip_on "$project-api-1" "${project}_frontnet")
api_back=$(ip_on "$project-api-1" "${project}_backnet")
db_back=$(ip_on "$COMPAT_DB_NAME" "${project}_backnet")
check "front resolves api on their shared network" sh -c "\"$envtest\" -f \"$here/compat.yaml\" -p $project exec front nslookup api | grep -q \"$api_front\""
check "front reaches api on their shared network" http_ok front "$api_front" 8080
check "front cannot resolve db (another network)" sh -c "! \"$envtest\" -f \"$here/compat.yaml\" -p $project exec front nslookup db"
if http_ok front "$db_back" 8081; then fail "front cannot reach db's address (another network)"; else ok "front cannot reach db's address (another network)"; fi
check "db itself answers on that address (so the check above can fail)" http_ok api "$db_back" 8081
check "db resolves api by its backnet alias api-internal" sh -c "\"$envtest\" -f \"$here/compat.yaml\" -p $project exec db nslookup api-internal | grep -q \"$api_back\""
check "db reaches api on backnet" http_ok db "$api_back" 8080
check "the internal network has no route out" sh -c "docker network inspect -f '{{.Internal}}' ${project}_backnet | grep -q true"
check "the file secret's bytes at /run/secrets/file_secret" sh -c "[ \"\$(\"$envtest\" -f \"$here/compat.yaml\" -p $project exec front cat /run/secrets/file_secret)\" = file-secret-bytes ]"
check "the environment secret's bytes at /run/secrets/env_secret" sh -c "[ \"\$(\"$envtest\" -f \"$here/compat.yaml\" -p $project exec front cat /run/secrets/env_secret)\" = \"$COMPAT_ENV_SECRET\" ]"
check "secrets are read-only in the container" sh -c "! \"$envtest\" -f \"$here/compat.yaml\" -p $project exec front sh -c 'echo x > /run/secrets/env_secret'"
check "the config's content at its target" sh -c "[ \"\$(\"$envtest\" -f \"$here/compat.yaml\" -p $project exec front cat /etc/greeting)\" = 'hello from a config' ]"
check "the memory limit in front's cgroup (48m)" sh -c "\"$envtest\" -f \"$here/compat.yaml\" -p $project exec front sh -c 'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes' | grep -qx 50331648"
check "the pids limit in front's cgroup (64)" sh -c "\"$envtest\" -f \"$here/compat.yaml\" -p $project exec front sh -c 'cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max' | grep -qx 64"
check "mem_limit of db (32m) in its cgroup" sh -c "docker exec $COMPAT_DB_NAME sh -c 'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes' | grep -qx 33554432"
check "the environment secret's file is private on the host" sh -c "ls -l \${XDG_RUNTIME_DIR:-/tmp}/envtest-secrets-\$(id -u)/$project/secret-env_secret | grep -q '^-r--------'"
"$envtest" -f "$here/compat.yaml" -p "$other" up --wait-timeout 60 >"$work/clash" 2>&1
status=$?
check "a container_name taken by another project is an error naming both" sh -c "[ $status -ne 0 ] && grep -q \"$COMPAT_DB_NAME\" \"$work/clash\" && grep -q \"$project\" \"$work/clash\" && grep -q \"$other\" \"$work/clash\""
check "--profile debug starts the debug service" e --profile debug up debug --wait-timeout 60
check "down removes the private secret files" sh -c "\"$envtest\" -q -f \"$here/compat.yaml\" -p $project down -v && [ ! -e \${XDG_RUNTIME_DIR:-/tmp}/envtest-secrets-\$(id -u)/$project ]"
check "down removes every network of the project" sh -c "! docker network ls --format '{{.Name}}' | grep -q '^${project}_'"
echo "1..$n"
[ "$failed" -eq 0 ]
