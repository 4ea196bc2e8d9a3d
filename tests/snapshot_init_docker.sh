#!/bin/sh
# Init snapshots on the real engine (issue 16), TAP: a project without fixtures whose MySQL
# passwords are generated secrets, with ENVTEST_INIT_SNAPSHOT=1 (without it: none).
#   1. the first up initializes MySQL as the image does and saves the init snapshot;
#   2. an up in another project restores it (the image does not initialize the data): the app user
#      and root log in with that project's generated passwords, the first project's do not;
#   3. up --no-snapshot initializes as the image does and restores nothing;
#   4. a truncated init snapshot and one whose tar is garbage: a warning, the bad snapshot removed,
#      the image initializes the server, and the environment works.
# Usage: snapshot_init_docker.sh ENVTEST_BINARY   (ENVTEST_BUILD_DIR, ENVTEST_MYSQL_IMAGE as for
# envtest)
set -u
envtest="$1"
work="$(mktemp -d)"
projects="snapinit-t1 snapinit-t2 snapinit-t3 snapinit-t4"
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)) failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if [ "$1" = 0 ]; then ok "$2"; else not_ok "$2"; fi; }
et() { "$envtest" -f "$work/compose.yaml" "$@"; }
down_all() { for p in $projects; do et -q -p "$p" down -v >/dev/null 2>&1; done; }
cleanup() { down_all; rm -rf "$work"; }
trap cleanup EXIT INT TERM
mkdir -p "$work/snapshots"
export ENVTEST_SNAPSHOT_DIR="$work/snapshots" ENVTEST_INIT_SNAPSHOT=1
cat >"$work/compose.yaml" <<'YAML'
name: snapinit
x-envtest:
  secrets: [ENVTEST_MYSQL_PASSWORD, ENVTEST_MYSQL_ROOT_PASSWORD]
  environment: {TEST_ROOT_PASSWORD: "$${ENVTEST_MYSQL_ROOT_PASSWORD}"}
services:
  mysql:
    image: ${ENVTEST_MYSQL_IMAGE:-mysql:8.4}
    environment:
      MYSQL_DATABASE: app
      MYSQL_USER: app
      MYSQL_PASSWORD: ${ENVTEST_MYSQL_PASSWORD}
      MYSQL_ROOT_PASSWORD: ${ENVTEST_MYSQL_ROOT_PASSWORD}
    ports: ["3306"]
    tmpfs: [/var/lib/mysql]
    healthcheck:
      test: ["CMD-SHELL", "mysqladmin ping -h127.0.0.1 --protocol=tcp -uroot -p\"$$MYSQL_ROOT_PASSWORD\" --silent"]
      interval: 2s
      retries: 60
YAML
down_all

up() { # up PROJECT [options]: the log in $work/PROJECT.log
    p="$1"
    shift
    # the secrets generated for this project, not those of an earlier one (vars exports them)
    env -u ENVTEST_MYSQL_PASSWORD -u ENVTEST_MYSQL_ROOT_PASSWORD "$envtest" -f "$work/compose.yaml" \
        -p "$p" up "$@" >"$work/$p.log" 2>&1 && return 0
    sed 's/^/# /' "$work/$p.log"
    return 1
}
# vars PROJECT: its connection variables and secrets into the shell
vars() { v="$(et -q -p "$1" env 2>/dev/null)" && eval "$v"; }
# login PORT USER PASSWORD: SELECT 1 through the published port answers 1
login() {
    [ "$(mariadb -h127.0.0.1 -P"$1" -u"$2" -p"$3" -N -B -e 'SELECT 1' 2>/dev/null)" = 1 ]
}
snapshots() { "$envtest" snapshot ls --json | jq -r '.[] | select(.complete) | .key'; }
image_initialized() { docker logs "$1-mysql-1" 2>&1 | grep -q 'initializing the database'; }

echo "1..17"
# 0. not without ENVTEST_INIT_SNAPSHOT=1
(ENVTEST_INIT_SNAPSHOT='' && up snapinit-t1) && ! grep -q snapshot "$work/snapinit-t1.log" &&
    [ -z "$(snapshots)" ]
check $? "without ENVTEST_INIT_SNAPSHOT=1 no init snapshot is saved"
et -q -p snapinit-t1 down -v >/dev/null 2>&1

# 1. the first up saves it
up snapinit-t1 && grep -q 'snapshot [0-9a-f]* saved' "$work/snapinit-t1.log" &&
    image_initialized snapinit-t1
check $? "the first up: the image initializes MySQL, an init snapshot is saved"
key="$(snapshots)"
[ "$(echo "$key" | wc -w)" = 1 ] && jq -e '.init == true and .fixtures == []' \
    "$work/snapshots/$key/meta.json" >/dev/null
check $? "snapshot ls lists it, an init snapshot without fixtures ($(echo "$key" | cut -c1-12))"
vars snapinit-t1
t1_port="$ENVTEST_MYSQL_PORT" t1_pw="$ENVTEST_MYSQL_PASSWORD" t1_root="$TEST_ROOT_PASSWORD"
login "$t1_port" app "$t1_pw"
check $? "the first project's app user logs in"

# 2. restored in another project, with its own passwords
short="$(echo "$key" | cut -c1-12)"
up snapinit-t2 && grep -q "mysql: loaded .*state from snapshot $short" "$work/snapinit-t2.log" &&
    ! image_initialized snapinit-t2
check $? "an up in another project restores it (the image does not initialize the data)"
vars snapinit-t2
[ -n "$ENVTEST_MYSQL_PASSWORD" ] && [ "$ENVTEST_MYSQL_PASSWORD" != "$t1_pw" ] &&
    [ "$TEST_ROOT_PASSWORD" != "$t1_root" ]
check $? "the second project generated other passwords"
login "$ENVTEST_MYSQL_PORT" app "$ENVTEST_MYSQL_PASSWORD"
check $? "the app user logs in with the new project's password"
login "$ENVTEST_MYSQL_PORT" root "$TEST_ROOT_PASSWORD"
check $? "root logs in with the new project's password"
! login "$ENVTEST_MYSQL_PORT" app "$t1_pw" && ! login "$ENVTEST_MYSQL_PORT" root "$t1_root"
check $? "the first project's passwords do not log in"
[ "$(mariadb -h127.0.0.1 -P"$ENVTEST_MYSQL_PORT" -uapp -p"$ENVTEST_MYSQL_PASSWORD" app -N -B \
    -e 'CREATE TABLE t (i INT); INSERT INTO t VALUES (7); SELECT i FROM t')" = 7 ]
check $? "the restored database is writable by the app user"
docker exec snapinit-t2-mysql-1 sh -c 'test ! -e /run/envtest-snapshot/init.sql'
check $? "the set-up SQL (passwords) is not left in the container"
et -q -p snapinit-t1 down -v >/dev/null 2>&1

# 3. --no-snapshot
up snapinit-t3 --no-snapshot && ! grep -q snapshot "$work/snapinit-t3.log" && image_initialized snapinit-t3
check $? "up --no-snapshot: the image initializes MySQL, no snapshot restored or saved"
vars snapinit-t3
login "$ENVTEST_MYSQL_PORT" app "$ENVTEST_MYSQL_PASSWORD"
check $? "... and the app user logs in"

# 4. a truncated init snapshot, then one whose tar is garbage
tar="$work/snapshots/$key/datadir.tar"
size=$(stat -c %s "$tar")
truncate -s $((size / 2)) "$tar"
up snapinit-t4 && grep -q "snapshot $short unusable.*the image initializes the server" \
    "$work/snapinit-t4.log" && image_initialized snapinit-t4 &&
    vars snapinit-t4 && login "$ENVTEST_MYSQL_PORT" app "$ENVTEST_MYSQL_PASSWORD"
check $? "a truncated init snapshot: a warning, the image initializes MySQL, the app user logs in"
[ "$(snapshots)" = "$key" ] && [ "$(stat -c %s "$tar")" = "$size" ]
check $? "... the bad snapshot was removed and saved anew"
et -q -p snapinit-t4 down -v >/dev/null 2>&1
head -c "$size" /dev/urandom >"$tar"
up snapinit-t4 && grep -q "snapshot $short could not be restored.*the image initialized the server" \
    "$work/snapinit-t4.log" && vars snapinit-t4 && login "$ENVTEST_MYSQL_PORT" app "$ENVTEST_MYSQL_PASSWORD"
check $? "an init snapshot whose tar is garbage: unpacking fails in the container, a warning, the app user logs in"
[ "$(snapshots)" = "$key" ] && tar -tf "$tar" >/dev/null 2>&1
check $? "... the bad snapshot was removed and saved anew"
[ "$failed" = 0 ]
