#!/bin/sh
# Docker test of secrets and configs with uid, gid and mode (copied into the container with that
# owner and mode; checked inside it as the service's user) and of platform: (passed to the engine's
# build and create; a platform the image is not built for is refused with the service named).
# TAP output. usage: run.sh ENVTEST
set -u
envtest=$1
here=$(cd "$(dirname "$0")" && pwd)
project=cmp2-files-$$
other=cmp2-arm-$$
work=$(mktemp -d)
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { # description command...
    d=$1; shift
    if "$@" >"$work/out" 2>&1; then ok "$d"; else fail "$d"; sed 's/^/# /' "$work/out" | head -20; fi
}
cleanup() {
    "$envtest" -q -f "$here/files.yaml" -p "$project" down -v --rmi local >/dev/null 2>&1
    FILES_PLATFORM=linux/arm64 "$envtest" -q -f "$here/files.yaml" -p "$other" down -v --rmi local >/dev/null 2>&1
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
export BUSYBOX_CONTEXT="$work/ctx" FILES_ENV_SECRET="env-secret-$$-bytes"
e() { "$envtest" -f "$here/files.yaml" -p "$project" "$@"; }
app=$project-files-app-1

e up --wait-timeout 120 >"$work/up" 2>&1
status=$?
check "up with platform linux/amd64 and secrets with owners and modes" [ "$status" -eq 0 ]
[ "$status" -eq 0 ] || sed 's/^/# /' "$work/up" | tail -20
check "the service runs as uid 1000 (so the checks below read as it)" sh -c "[ \"\$(\"$envtest\" -f \"$here/files.yaml\" -p $project exec files-app id -u)\" = 1000 ]"
check "secret owned: uid 1000, gid 1001, mode 400" sh -c "[ \"\$(\"$envtest\" -f \"$here/files.yaml\" -p $project exec files-app stat -c '%u:%g %a' /run/secrets/owned)\" = '1000:1001 400' ]"
check "secret owned: its bytes, read by its owner" sh -c "[ \"\$(\"$envtest\" -f \"$here/files.yaml\" -p $project exec files-app cat /run/secrets/owned)\" = owned-secret-bytes ]"
check "environment secret at /etc/app/env.key: uid 0, gid 1000, mode 440" sh -c "[ \"\$(\"$envtest\" -f \"$here/files.yaml\" -p $project exec files-app stat -c '%u:%g %a' /etc/app/env.key)\" = '0:1000 440' ]"
check "environment secret: its bytes, read through the group" sh -c "[ \"\$(\"$envtest\" -f \"$here/files.yaml\" -p $project exec files-app cat /etc/app/env.key)\" = \"$FILES_ENV_SECRET\" ]"
check "secret root_only: root's, mode 400" sh -c "[ \"\$(\"$envtest\" -f \"$here/files.yaml\" -p $project exec files-app stat -c '%u:%g %a' /run/secrets/root_only)\" = '0:0 400' ]"
check "secret root_only cannot be read by uid 1000" sh -c "! \"$envtest\" -f \"$here/files.yaml\" -p $project exec files-app cat /run/secrets/root_only"
check "config at /etc/app.conf: uid 1000, gid 0, mode 600, its content" sh -c "[ \"\$(\"$envtest\" -f \"$here/files.yaml\" -p $project exec files-app sh -c 'stat -c \"%u:%g %a\" /etc/app.conf; cat /etc/app.conf')\" = \"\$(printf '1000:0 600\na config for uid 1000')\" ]"
check "the short-form secret stays a read-only bind mount" sh -c "docker inspect -f '{{range .Mounts}}{{.Destination}}={{.RW}} {{end}}' $app | grep -q '/run/secrets/plain=false'"
check "the owned secrets are not bind mounts" sh -c "! docker inspect -f '{{range .Mounts}}{{.Destination}} {{end}}' $app | grep -q '/run/secrets/owned\\|/etc/app'"
check "read_only: true keeps the bind mount and says uid/gid/mode are not applied" sh -c "grep -q 'service files-ro: secret owned: uid, gid and mode are not applied' \"$work/up\" && [ \"\$(docker exec $project-files-ro-1 cat /run/secrets/owned)\" = owned-secret-bytes ]"
check "down (and its images)" e down -v --rmi local
FILES_PLATFORM=linux/arm64 "$envtest" -f "$here/files.yaml" -p "$other" up files-app --wait-timeout 60 >"$work/arm" 2>&1
status=$?
check "platform linux/arm64 on this amd64 image is refused, naming the service and the platform" sh -c "[ $status -ne 0 ] && grep -q 'service files-app: the engine refused platform linux/arm64' \"$work/arm\" && grep -q 'does not match the specified platform' \"$work/arm\""
[ "$status" -ne 0 ] || sed 's/^/# /' "$work/arm" | tail -10
echo "1..$n"
[ "$failed" -eq 0 ]
