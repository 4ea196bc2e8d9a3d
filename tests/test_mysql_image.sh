#!/usr/bin/env bash
# docker test of the offline MySQL image (ci/mysql-image/): the official image's contract, through the
# Engine API (curl --unix-socket) and the mariadb/mysql client over the published 127.0.0.1 port.
# TAP output. Skips (77) without an engine or without the image unless ENVTEST_REQUIRE_DOCKER=1.
#   ENVTEST_MYSQL_TEST_IMAGE  the image to test (default envtest/mysql-offline:10.11)
set -uo pipefail
src="${ENVTEST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
# shellcheck source=ci/lib.sh
source "$src/ci/lib.sh"

IMAGE="${ENVTEST_MYSQL_TEST_IMAGE:-$ENVTEST_MYSQL_OFFLINE_IMAGE}"
RUN_ID="mysqlimg-$$-$RANDOM"
LABEL="io.envtest.test=$RUN_ID"
TMP="$(mktemp -d)"
CREATED=()
n=0 failed=0

# ---- TAP -----------------------------------------------------------------------------------------
ok() { # ok CONDITION-STATUS DESCRIPTION [DIAGNOSTIC]
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $n - $2"
    else
        failed=$((failed + 1))
        echo "not ok $n - $2"
        [ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/#   /'
    fi
    return 0
}
is() { # is GOT EXPECTED DESCRIPTION
    if [ "$1" = "$2" ]; then ok 0 "$3"; else ok 1 "$3" "got:      '$1'
expected: '$2'"; fi
}
skip_all() {
    echo "1..0 # SKIP $1"
    exit 77
}
bail() {
    echo "Bail out! $1"
    failed=$((failed + 1))
    exit 1
}

cleanup() {
    local id
    for id in "${CREATED[@]}"; do
        docker_api DELETE "/containers/$id?force=1&v=1" >/dev/null 2>&1
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

# ---- Engine helpers ------------------------------------------------------------------------------
# create_container NAME ENV-JSON-ARRAY [BINDS-JSON-ARRAY [EXTRA-JSON]] -> id (EXTRA is merged into
# the create body: Cmd, HostConfig.Tmpfs, ...)
create_container() {
    local body extra="${4:-}"
    [ -n "$extra" ] || extra='{}'
    body="$(jq -n --arg img "$IMAGE" --arg lbl "$RUN_ID" --argjson env "$2" --argjson binds "${3:-[]}" \
        --argjson extra "$extra" '{
        Image: $img, Env: $env, Labels: {"io.envtest.test": $lbl},
        ExposedPorts: {"3306/tcp": {}},
        HostConfig: {Binds: $binds, PortBindings: {"3306/tcp": [{HostIp: "127.0.0.1", HostPort: ""}]}}} * $extra')"
    docker_api_ok POST "/containers/create?name=envtest-test-$RUN_ID-$1" \
        -H 'Content-Type: application/json' -d "$body" | jq -r .Id
}
start_container() { docker_api_ok POST "/containers/$1/start" >/dev/null; }
inspect() { docker_api_ok GET "/containers/$1/json"; }
host_port() { inspect "$1" | jq -r '.NetworkSettings.Ports["3306/tcp"][0].HostPort'; }
logs() { docker_api GET "/containers/$1/logs?stdout=1&stderr=1" | tr -d '\000-\010\016-\037'; }
# contains TEXT PATTERN (no pipe into grep -q: with pipefail an early exit of grep fails the writer)
contains() { grep -q -- "$2" <<<"$1"; }

# exec_in CONTAINER CMD... -> exit code of the command (output discarded)
exec_in() {
    local c="$1" id
    shift
    local cmd="" a # a JSON array of the arguments (jq --args would take "-c" as its own option)
    for a in "$@"; do cmd+="$(jq -n --arg a "$a" '$a'),"; done
    cmd="[${cmd%,}]"
    id="$(docker_api_ok POST "/containers/$c/exec" -H 'Content-Type: application/json' \
        -d "$(jq -n --argjson cmd "$cmd" '{AttachStdout: true, AttachStderr: true, Cmd: $cmd}')" |
        jq -r .Id)" || return 255
    docker_api POST "/exec/$id/start" -H 'Content-Type: application/json' \
        -d '{"Detach": false, "Tty": false}' >/dev/null 2>&1
    docker_api GET "/exec/$id/json" | jq -r .ExitCode
}

# wait_healthy CONTAINER TIMEOUT: runs healthcheck.sh through exec every 0.2 s until it passes.
# Sets HEALTHY_AFTER (seconds), FAILED_CHECKS (checks that failed before) and LOGS_AT_HEALTHY.
wait_healthy() {
    local c="$1" timeout="$2" start code
    start="$(ci_now)"
    FAILED_CHECKS=0
    while :; do
        code="$(exec_in "$c" /usr/local/bin/healthcheck.sh)"
        if [ "$code" = 0 ]; then
            HEALTHY_AFTER="$(ci_elapsed "$start")"
            LOGS_AT_HEALTHY="$(logs "$c")"
            return 0
        fi
        FAILED_CHECKS=$((FAILED_CHECKS + 1))
        if [ "$(inspect "$c" | jq -r .State.Running)" != true ]; then
            echo "# container exited; its logs:"
            logs "$c" | tail -n 30 | sed 's/^/#   /'
            return 1
        fi
        if [ "$(awk -v s="$start" -v e="$(ci_now)" -v t="$timeout" 'BEGIN { print (e - s > t) }')" = 1 ]; then
            echo "# not healthy after $timeout s; logs:"
            logs "$c" | tail -n 30 | sed 's/^/#   /'
            return 1
        fi
        sleep 0.2
    done
}

# sql PORT USER PASSWORD SQL [client args]: one query over TCP, tab-separated output without headers.
sql() {
    local port="$1" user="$2" pw="$3" q="$4"
    shift 4
    MYSQL_PWD="$pw" "$CLIENT" --protocol=tcp -h127.0.0.1 -P"$port" -u"$user" \
        --default-character-set=utf8mb4 -N -B "$@" -e "$q" 2>&1
}

# ---- preconditions -------------------------------------------------------------------------------
require() {
    if [ "${ENVTEST_REQUIRE_DOCKER:-}" = 1 ]; then bail "$1"; else skip_all "$1"; fi
}
docker_ping || require "no Docker engine at $ENVTEST_DOCKER_SOCK"
command -v jq >/dev/null || bail "jq is missing (run ci/setup.sh)"
CLIENT="$(command -v mariadb || command -v mysql)" || bail "no mariadb/mysql client (run ci/setup.sh)"
docker_image_exists "$IMAGE" || require "image $IMAGE is missing (build it: ci/mysql-image/build.sh)"
echo "# image $IMAGE, client $CLIENT"

# ---- 1. full contract: root password, database, user, initdb.d (.sql, .sql.gz, .sh) ---------------
mkdir -p "$TMP/initdb"
cat >"$TMP/initdb/01-schema.sql" <<'EOF'
CREATE TABLE districts (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL);
INSERT INTO districts VALUES (1, '강남구'), (2, '종로구');
EOF
printf "INSERT INTO districts VALUES (3, '마포구');\n" | gzip >"$TMP/initdb/02-more.sql.gz"
# A slow step: the temporary server answers on its socket meanwhile; the container must not be
# healthy before the set-up ends.
cat >"$TMP/initdb/03-slow.sh" <<'EOF'
echo "initdb shell step: MYSQL_DATABASE=$MYSQL_DATABASE"
sleep 2
EOF
chmod -R a+rX "$TMP"

env1='["MYSQL_ROOT_PASSWORD=r00t pw'"'"'s","MYSQL_DATABASE=seoul","MYSQL_USER=app","MYSQL_PASSWORD=app-secret"]'
c1="$(create_container main "$env1" "[\"$TMP/initdb:/docker-entrypoint-initdb.d:ro\"]")" ||
    bail "cannot create a container from $IMAGE"
CREATED+=("$c1")
start_container "$c1" || bail "cannot start the container"
wait_healthy "$c1" 120
ok $? "healthcheck.sh passes after start (${HEALTHY_AFTER:-?} s)"
[ "$FAILED_CHECKS" -gt 0 ]
ok $? "healthcheck.sh failed while the set-up ran ($FAILED_CHECKS failed checks first)"
contains "$LOGS_AT_HEALTHY" 'init process done'
ok $? "the set-up had finished when healthcheck.sh first passed" "$(tail -n 5 <<<"$LOGS_AT_HEALTHY")"
contains "$LOGS_AT_HEALTHY" 'initdb shell step: MYSQL_DATABASE=seoul'
ok $? "initdb.d/*.sh ran with the environment"

is "$(exec_in "$c1" /bin/sh -c '[ "$(cat /proc/1/comm)" = mariadbd ]')" 0 "mariadbd runs as PID 1 (signals reach it)"

port="$(host_port "$c1")"
echo "# published on 127.0.0.1:$port"
is "$(sql "$port" app app-secret 'SELECT CURRENT_USER()')" "app@%" "MYSQL_USER logs in with MYSQL_PASSWORD over TCP"
sql "$port" app wrong 'SELECT 1' >/dev/null
[ $? -ne 0 ]
ok $? "a wrong password is refused"
is "$(sql "$port" root "r00t pw's" 'SELECT 1')" 1 "root logs in with MYSQL_ROOT_PASSWORD (quotes and spaces)"
is "$(sql "$port" app app-secret 'SELECT DATABASE()' -Dseoul)" seoul "MYSQL_DATABASE exists and the user may use it"
is "$(sql "$port" app app-secret 'SELECT GROUP_CONCAT(name ORDER BY id) FROM districts' -Dseoul)" \
    "강남구,종로구,마포구" "initdb.d/*.sql and *.sql.gz ran in MYSQL_DATABASE, in name order"
is "$(sql "$port" app app-secret 'SELECT @@character_set_server, @@collation_server')" \
    "utf8mb4	utf8mb4_unicode_ci" "server charset is utf8mb4"
text='서울특별시 지하철 🚇'
sql "$port" app app-secret "CREATE TABLE notes (t VARCHAR(64)) ; INSERT INTO notes VALUES ('$text')" -Dseoul >/dev/null
is "$(sql "$port" app app-secret 'SELECT t FROM notes' -Dseoul)" "$text" "Korean text and a 4-byte emoji round-trip"
is "$(sql "$port" app app-secret 'SELECT HEX(t) FROM notes' -Dseoul)" \
    "$(printf '%s' "$text" | od -An -tx1 | tr -d ' \n' | tr a-f A-F)" "stored bytes are the UTF-8 bytes"
is "$(sql "$port" app app-secret 'SELECT @@local_infile')" 1 "local_infile is ON"
printf '10\t동대문구\n11\t성북구\n' >"$TMP/rows.tsv"
sql "$port" app app-secret "LOAD DATA LOCAL INFILE '$TMP/rows.tsv' INTO TABLE districts CHARACTER SET utf8mb4" \
    -Dseoul --local-infile=1 >/dev/null
is "$(sql "$port" app app-secret 'SELECT name FROM districts WHERE id = 11' -Dseoul)" "성북구" \
    "LOAD DATA LOCAL INFILE loads rows"
is "$(sql "$port" root "r00t pw's" "SELECT COUNT(*) FROM mysql.user WHERE password = '' AND plugin IN ('', 'mysql_native_password') AND user <> 'mariadb.sys'")" \
    0 "no account without a password"

# ---- 2. engine healthcheck, clean SIGTERM stop, restart with the existing datadir ----------------
health=""
for _ in $(seq 1 40); do
    health="$(inspect "$c1" | jq -r .State.Health.Status)"
    [ "$health" = healthy ] && break
    sleep 0.25
done
is "$health" healthy "the image's HEALTHCHECK makes the engine report healthy"

t="$(ci_now)"
docker_api_ok POST "/containers/$c1/stop?t=30" >/dev/null
stop_s="$(ci_elapsed "$t")"
echo "# docker stop took $stop_s s"
[ "$(awk -v s="$stop_s" 'BEGIN { print (s < 10) }')" = 1 ]
ok $? "SIGTERM stops the server in < 10 s ($stop_s s)"
is "$(inspect "$c1" | jq -r .State.ExitCode)" 0 "mariadbd exits 0 on SIGTERM"
contains "$(logs "$c1" | tail -n 3)" 'Shutdown complete'
ok $? "the server logged a clean shutdown (last lines of its log)"

start_container "$c1"
wait_healthy "$c1" 60
ok $? "restart with the initialised datadir is healthy (${HEALTHY_AFTER:-?} s)"
port="$(host_port "$c1")"
is "$(sql "$port" app app-secret 'SELECT COUNT(*) FROM districts' -Dseoul)" 5 "data survives a restart"
docker_api DELETE "/containers/$c1?force=1&v=1" >/dev/null

# ---- 3. MYSQL_RANDOM_ROOT_PASSWORD, run as compose/compose.yaml runs it: server options as the
# command, the datadir on a tmpfs ------------------------------------------------------------------
c2="$(create_container random '["MYSQL_RANDOM_ROOT_PASSWORD=yes"]' '[]' \
    '{"Cmd": ["--local-infile=1", "--character-set-server=utf8mb4", "--max-connections=77"],
      "HostConfig": {"Tmpfs": {"/var/lib/mysql": ""}}}')" || bail "cannot create a container"
CREATED+=("$c2")
start_container "$c2"
wait_healthy "$c2" 120
ok $? "MYSQL_RANDOM_ROOT_PASSWORD: healthy (${HEALTHY_AFTER:-?} s)"
generated="$(logs "$c2" | sed -n 's/.*GENERATED ROOT PASSWORD: \([A-Za-z0-9]*\).*/\1/p' | head -n1)"
[ "${#generated}" -ge 16 ]
ok $? "a generated root password is printed in the logs (${#generated} characters)"
port="$(host_port "$c2")"
is "$(sql "$port" root "$generated" 'SELECT 1')" 1 "root logs in with the generated password"
is "$(sql "$port" root "$generated" 'SELECT @@max_connections')" 77 "server options given as the command reach mariadbd"
is "$(sql "$port" root "$generated" 'SELECT COUNT(*) > 100 FROM mysql.time_zone_name')" 1 "time zone tables are loaded"
sql "$port" root "" 'SELECT 1' >/dev/null
[ $? -ne 0 ]
ok $? "root with an empty password is refused"
docker_api DELETE "/containers/$c2?force=1&v=1" >/dev/null

# ---- 3b. the Seoul environment's shape: database and user, nothing in initdb.d -> the set-up runs
# as the server's --init-file (no temporary server) ---------------------------------------------
env4='["MYSQL_ROOT_PASSWORD=init-file root","MYSQL_DATABASE=seoul","MYSQL_USER=seoul","MYSQL_PASSWORD=pw '"'"'quoted'"'"'"]'
c4="$(create_container initfile "$env4" '[]' '{"Cmd": ["--local-infile=1"], "HostConfig": {"Tmpfs": {"/var/lib/mysql": ""}}}')" ||
    bail "cannot create a container"
CREATED+=("$c4")
start_container "$c4"
wait_healthy "$c4" 120
ok $? "init-file set-up: healthy (${HEALTHY_AFTER:-?} s)"
contains "$LOGS_AT_HEALTHY" "the set-up runs as the server's --init-file"
ok $? "the set-up ran as the server's --init-file" "$(tail -n 5 <<<"$LOGS_AT_HEALTHY")"
! contains "$LOGS_AT_HEALTHY" 'temporary server' && ! contains "$LOGS_AT_HEALTHY" 'ERROR'
ok $? "no temporary server and no error in the log"
port="$(host_port "$c4")"
is "$(sql "$port" seoul "pw 'quoted'" 'SELECT CONCAT(CURRENT_USER(), " ", DATABASE())' -Dseoul)" "seoul@% seoul" \
    "MYSQL_USER logs in with MYSQL_PASSWORD (quotes) and may use MYSQL_DATABASE"
contains "$(sql "$port" root "init-file root" "SHOW GRANTS FOR 'root'@'%'")" "GRANT PROXY ON ''@'%' TO 'root'@'%' WITH GRANT OPTION"
ok $? "root@% has the proxy grant, as after the temporary server's set-up"
is "$(sql "$port" root "init-file root" "SELECT COUNT(*) FROM mysql.user WHERE password = '' AND plugin IN ('', 'mysql_native_password') AND user <> 'mariadb.sys'")" \
    0 "no account without a password"
is "$(exec_in "$c4" /bin/sh -c '! grep -rqs "init-file root" /run /tmp /var/lib/mysql /etc')" 0 \
    "the root password was written to no file"
docker_api DELETE "/containers/$c4?force=1&v=1" >/dev/null

# ---- 3c. the datadir and socket named elsewhere: on the command line (mariadbd is asked), in an
# option file mounted after the image's own (read with my_print_defaults) --------------------------
c5="$(create_container datadir-arg '["MYSQL_ROOT_PASSWORD=dd"]' '[]' \
    '{"Cmd": ["--datadir=/srv/db", "--local-infile=1"], "HostConfig": {"Tmpfs": {"/srv/db": ""}}}')" ||
    bail "cannot create a container"
CREATED+=("$c5")
start_container "$c5"
wait_healthy "$c5" 120
ok $? "--datadir on the command line: healthy (${HEALTHY_AFTER:-?} s)"
is "$(sql "$(host_port "$c5")" root dd 'SELECT @@datadir')" /srv/db/ "the server uses the --datadir of the command"
docker_api DELETE "/containers/$c5?force=1&v=1" >/dev/null
mkdir -p "$TMP/conf"
printf '[mariadbd]\ndatadir = /srv/db2\nsocket = /run/alt/db.sock\n' >"$TMP/conf/zz-paths.cnf"
chmod -R a+rX "$TMP/conf"
c6="$(create_container datadir-cnf '["MYSQL_ROOT_PASSWORD=dd"]' "[\"$TMP/conf/zz-paths.cnf:/etc/mysql/mariadb.conf.d/zz-paths.cnf:ro\"]" \
    '{"Cmd": ["--local-infile=1"], "HostConfig": {"Tmpfs": {"/srv/db2": ""}}}')" ||
    bail "cannot create a container"
CREATED+=("$c6")
start_container "$c6"
wait_healthy "$c6" 120
ok $? "datadir and socket in a mounted option file: healthy (${HEALTHY_AFTER:-?} s)"
is "$(sql "$(host_port "$c6")" root dd 'SELECT CONCAT(@@datadir, " ", @@socket)')" "/srv/db2/ /run/alt/db.sock" \
    "the server uses the option file's datadir and socket"
is "$(exec_in "$c6" test -d /srv/db2/mysql)" 0 "the datadir was initialised where the option file says"
docker_api DELETE "/containers/$c6?force=1&v=1" >/dev/null

# ---- 4. no password option: refusal --------------------------------------------------------------
c3="$(create_container nopw '["MYSQL_DATABASE=seoul"]')" || bail "cannot create a container"
CREATED+=("$c3")
start_container "$c3"
code="$(docker_api_ok POST "/containers/$c3/wait" --max-time 60 | jq -r .StatusCode)"
[ -n "$code" ] && [ "$code" != 0 ] && [ "$code" != null ]
ok $? "without a password option the container exits non-zero (exit $code)"
c3_logs="$(logs "$c3")"
contains "$c3_logs" 'password option is not specified' && contains "$c3_logs" MYSQL_RANDOM_ROOT_PASSWORD
ok $? "and says which variables to set" "$(tail -n 5 <<<"$c3_logs")"
docker_api DELETE "/containers/$c3?force=1&v=1" >/dev/null

# ---- nothing left --------------------------------------------------------------------------------
filters="$(urlencode "{\"label\":[\"$LABEL\"]}")"
left="$(docker_api_ok GET "/containers/json?all=1&filters=$filters" | jq length)"
is "$left" 0 "no container of this test remains"

echo "1..$n"
[ "$failed" -eq 0 ]
