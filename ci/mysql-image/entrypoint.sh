#!/bin/bash
# Entrypoint of envtest/mysql-offline (MariaDB 10.11 from Debian), honouring the official mysql
# image's contract:
#   MYSQL_ROOT_PASSWORD | MYSQL_ALLOW_EMPTY_PASSWORD | MYSQL_RANDOM_ROOT_PASSWORD (one is required on
#   first start), MYSQL_ROOT_HOST (default %), MYSQL_DATABASE, MYSQL_USER + MYSQL_PASSWORD,
#   MYSQL_INITDB_SKIP_TZINFO, the *_FILE variants, MARIADB_* aliases, and
#   /docker-entrypoint-initdb.d/*.sh, *.sql, *.sql.gz, *.sql.xz run once, in name order.
# On first start the datadir is copied from a template made at build time (or created by
# mariadb-install-db). With nothing in /docker-entrypoint-initdb.d, the set-up SQL (root password,
# database, user) is given to the server as its --init-file, which it runs before it accepts
# connections; otherwise a temporary server without networking runs the set-up and the scripts.
# Then mariadbd is exec'ed as PID 1 (it shuts down cleanly on SIGTERM).
# /run/mysqld/init-done marks a finished set-up; healthcheck.sh checks it and a TCP ping.
set -Eeuo pipefail
shopt -s nullglob

INIT_DONE_MARKER=/run/mysqld/init-done
DATADIR_TEMPLATE=/usr/share/envtest/mysql-datadir-template

# Time stamps by bash itself (printf %()T, in UTC): every fork costs the container's start.
log() { TZ=UTC printf '%(%Y-%m-%d %H:%M:%S)T+00:00 [Entrypoint]: %s\n' -1 "$*"; }
warn() { log "Warning: $*" >&2; }
die() {
    TZ=UTC printf '%(%Y-%m-%d %H:%M:%S)T+00:00 [Entrypoint]: ERROR: %s\n' -1 "$*" >&2
    exit 1
}

# file_env VAR [DEFAULT]: VAR from $VAR, $VAR_FILE (a file's content) or the MARIADB_ alias.
file_env() {
    local var="$1" def="${2:-}" alias="MARIADB_${1#MYSQL_}"
    local file_var="${var}_FILE" alias_file_var="${alias}_FILE" val="$def"
    if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
        die "both $var and $file_var are set (but they are exclusive)"
    fi
    if [ -n "${!var:-}" ]; then
        val="${!var}"
    elif [ -n "${!file_var:-}" ]; then
        val="$(<"${!file_var}")"
    elif [ -n "${!alias:-}" ]; then
        val="${!alias}"
    elif [ -n "${!alias_file_var:-}" ]; then
        val="$(<"${!alias_file_var}")"
    fi
    export "$var"="$val"
    unset "$file_var"
}

# Reads datadir and socket as mariadbd will see them. Usually from its option files (my_print_defaults
# reads the same files and groups, 20 ms) and then the command line, where the last one wins.
# Arguments that could name them in another way (a prefix such as --datad=, -h, --defaults-file,
# a value after a space) ask mariadbd itself: `mariadbd --verbose --help`, 200 ms and more.
read_server_options() {
    local a name line
    for a in "${@:2}"; do
        name="${a%%=*}"
        name="${name//_/-}"
        name="${name#--loose-}"
        name="${name#--}"
        if [[ "$a" != --?* ]] || [[ datadir == "$name"* ]] || [[ socket == "$name"* ]] ||
            [[ "$name" == *defaults* ]]; then
            read_server_options_from_help "$@"
            return
        fi
    done
    DATADIR='' SOCKET=''
    while IFS= read -r line; do
        case "$line" in
        --datadir=*) DATADIR="${line#*=}" ;;
        --socket=*) SOCKET="${line#*=}" ;;
        esac
    done < <(my_print_defaults mysqld server mysqld-10.11 mariadb mariadb-10.11 mariadbd \
        mariadbd-10.11 client-server galera && printf '%s\n' "${@:2}")
    DATADIR="${DATADIR%/}"
    : "${DATADIR:=/var/lib/mysql}" "${SOCKET:=/run/mysqld/mysqld.sock}"
}

# The same from `mariadbd --verbose --help` with the user's arguments (it also checks them).
read_server_options_from_help() {
    local out
    if ! out="$("$@" --verbose --help 2>&1)"; then
        die "mariadbd failed while checking its configuration: $(printf '%s' "$out" | grep -i error | head -n 5)"
    fi
    DATADIR="$(awk '$1 == "datadir" && NF == 2 { print $2; exit }' <<<"$out")"
    SOCKET="$(awk '$1 == "socket" && NF == 2 { print $2; exit }' <<<"$out")"
    DATADIR="${DATADIR%/}"
    : "${DATADIR:=/var/lib/mysql}" "${SOCKET:=/run/mysqld/mysqld.sock}"
}

# sql_string VAR VALUE: VAR = VALUE escaped for a '...' SQL literal (printf -v: no subshell).
sql_string() {
    local s="${2//\\/\\\\}"
    printf -v "$1" '%s' "${s//\'/\\\'}"
}
# sql_ident VAR VALUE: VAR = VALUE escaped for a `...` identifier.
sql_ident() {
    printf -v "$1" '%s' "${2//\`/\`\`}"
}

# Runs SQL from stdin against the temporary server as root.
process_sql() {
    MYSQL_PWD="${ROOT_PASSWORD_FOR_CLIENT:-}" mariadb --protocol=socket --socket="$SOCKET" -uroot \
        --local-infile=1 --default-character-set=utf8mb4 --comments "$@"
}

start_temp_server() {
    "$@" --skip-networking --socket="$SOCKET" --default-time-zone=SYSTEM --wsrep-on=OFF \
        --skip-log-bin --loose-innodb-buffer-pool-load-at-startup=0 &
    TEMP_SERVER_PID=$!
    local i
    for ((i = 0; i < 300; i++)); do
        if mariadb-admin --protocol=socket --socket="$SOCKET" -uroot ping >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$TEMP_SERVER_PID" 2>/dev/null || die "the temporary server exited during start-up (its log is above)"
        sleep 0.1
    done
    die "the temporary server did not answer within 30 s"
}

stop_temp_server() {
    kill -TERM "$TEMP_SERVER_PID"
    wait "$TEMP_SERVER_PID" || die "the temporary server did not stop cleanly (exit $?)"
    TEMP_SERVER_PID=
}

# SIGTERM during the set-up: stop the temporary server and leave (bash as PID 1 would ignore it).
on_term() {
    if [ -n "${TEMP_SERVER_PID:-}" ]; then
        kill -TERM "$TEMP_SERVER_PID" 2>/dev/null || true
        wait "$TEMP_SERVER_PID" 2>/dev/null || true
    fi
    exit 143
}

# Prints the SQL that sets the root password and makes MYSQL_DATABASE and MYSQL_USER. It also runs
# as the server's --init-file, where GRANT PROXY is refused (no user to grant it): the proxy grant
# is the row GRANT PROXY ON ''@'%' writes.
setup_sql() {
    local root_host="${MYSQL_ROOT_HOST:-%}" pw host user user_pw db sql
    sql_string pw "$MYSQL_ROOT_PASSWORD"
    sql_string host "$root_host"
    sql_string user "$MYSQL_USER"
    sql_string user_pw "$MYSQL_PASSWORD"
    sql_ident db "$MYSQL_DATABASE"
    # mariadb-install-db also makes root@<hostname>, root@127.0.0.1 and root@::1 without a password.
    sql="SET @@SESSION.SQL_LOG_BIN=0;
DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost');
DELETE FROM mysql.proxies_priv WHERE Host <> 'localhost';
FLUSH PRIVILEGES;
ALTER USER 'root'@'localhost' IDENTIFIED BY '$pw';"
    if [ "$root_host" != localhost ]; then
        sql+="
CREATE USER 'root'@'$host' IDENTIFIED BY '$pw';
GRANT ALL ON *.* TO 'root'@'$host' WITH GRANT OPTION;
INSERT INTO mysql.proxies_priv (Host, User, Proxied_host, Proxied_user, With_grant, Grantor)
  VALUES ('$host', 'root', '%', '', 1, 'root@localhost');"
    fi
    if [ -n "$MYSQL_DATABASE" ]; then
        sql+="
CREATE DATABASE IF NOT EXISTS \`$db\`;"
    fi
    if [ -n "$MYSQL_USER" ]; then
        sql+="
CREATE USER '$user'@'%' IDENTIFIED BY '$user_pw';"
        if [ -n "$MYSQL_DATABASE" ]; then
            sql+="
GRANT ALL ON \`$db\`.* TO '$user'@'%';"
        fi
    fi
    sql+="
FLUSH PRIVILEGES;"
    printf '%s\n' "$sql"
}

setup_root_and_users() {
    process_sql --database=mysql <<<"$(setup_sql)"
    ROOT_PASSWORD_FOR_CLIENT="$MYSQL_ROOT_PASSWORD"
}

# True when the set-up can be the server's own --init-file: nothing in
# /docker-entrypoint-initdb.d (scripts there need a running server and a client), the time zone
# tables already in the datadir, and no --init-file or --secure-file-priv of the user's.
# Names are plain ([A-Za-z0-9_$-], within the server's lengths): the server skips the rest of an
# init file after a failed statement without stopping, where the temporary server's set-up stops
# the container with the error, so anything that could fail takes that path.
init_file_will_do() {
    local files=(/docker-entrypoint-initdb.d/*) a
    [ -n "$tzinfo_loaded" ] && [ ${#files[@]} -eq 0 ] || return 1
    [[ "$MYSQL_DATABASE" =~ ^[A-Za-z0-9_\$-]{0,64}$ ]] && [[ "$MYSQL_USER" =~ ^[A-Za-z0-9_\$-]{0,80}$ ]] &&
        [[ "${MYSQL_ROOT_HOST:-%}" =~ ^[A-Za-z0-9_.%:-]{1,255}$ ]] || return 1
    for a in "$@"; do
        case "$a" in
        --init[-_]file | --init[-_]file=* | --secure[-_]file[-_]priv | --secure[-_]file[-_]priv=*) return 1 ;;
        esac
    done
}

run_initdb_files() {
    local f db_args=()
    [ -n "$MYSQL_DATABASE" ] && db_args=(--database="$MYSQL_DATABASE")
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
        *.sh)
            if [ -x "$f" ]; then
                log "running $f"
                "$f"
            else
                log "sourcing $f"
                # shellcheck disable=SC1090
                . "$f"
            fi
            ;;
        *.sql)
            log "running $f"
            process_sql "${db_args[@]}" <"$f" || die "$f failed (the error is above)"
            ;;
        *.sql.gz)
            log "running $f"
            gzip -dc "$f" | process_sql "${db_args[@]}" || die "$f failed (the error is above)"
            ;;
        *.sql.xz)
            log "running $f"
            xz -dc "$f" | process_sql "${db_args[@]}" || die "$f failed (the error is above)"
            ;;
        *) log "ignoring $f" ;;
        esac
    done
}

INIT_SQL=
tzinfo_loaded=
init_database() {
    file_env MYSQL_ROOT_PASSWORD
    file_env MYSQL_ALLOW_EMPTY_PASSWORD
    file_env MYSQL_RANDOM_ROOT_PASSWORD
    file_env MYSQL_DATABASE
    file_env MYSQL_USER
    file_env MYSQL_PASSWORD
    file_env MYSQL_ROOT_HOST %

    if [ -z "$MYSQL_ROOT_PASSWORD" ] && [ -z "$MYSQL_ALLOW_EMPTY_PASSWORD" ] && [ -z "$MYSQL_RANDOM_ROOT_PASSWORD" ]; then
        die "Database is uninitialized and password option is not specified
    You need to specify one of the following as an environment variable:
    - MYSQL_ROOT_PASSWORD
    - MYSQL_ALLOW_EMPTY_PASSWORD
    - MYSQL_RANDOM_ROOT_PASSWORD"
    fi
    if [ "$MYSQL_USER" = root ]; then
        die 'MYSQL_USER="root": MYSQL_USER and MYSQL_PASSWORD are for a regular user and cannot be used for root'
    fi
    if [ -n "$MYSQL_USER" ] && [ -z "$MYSQL_PASSWORD" ]; then
        die "MYSQL_USER is set but MYSQL_PASSWORD is empty: set both"
    fi
    if [ -n "$MYSQL_PASSWORD" ] && [ -z "$MYSQL_USER" ]; then
        warn "MYSQL_PASSWORD is set but MYSQL_USER is not: no user is created"
    fi
    if [ -n "$MYSQL_RANDOM_ROOT_PASSWORD" ] && [ -z "$MYSQL_ROOT_PASSWORD" ]; then
        MYSQL_ROOT_PASSWORD="$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | cut -c1-32)"
        export MYSQL_ROOT_PASSWORD
        log "GENERATED ROOT PASSWORD: $MYSQL_ROOT_PASSWORD"
    fi

    mkdir -p "$DATADIR"
    [ "$EUID" -eq 0 ] && chown mysql:mysql "$DATADIR"
    if [ -d "$DATADIR_TEMPLATE/mysql" ]; then
        # Made at image build time by mariadb-install-db, with the time zone tables loaded: saves
        # about 8 s per first start. Sparse: its 136 MB are mostly zeros (the 96 MB redo log), and
        # holes cost neither the copy's writes nor a tmpfs datadir's memory (30 MB instead).
        log "initializing the database in $DATADIR (from $DATADIR_TEMPLATE)"
        cp -a --sparse=always "$DATADIR_TEMPLATE/." "$DATADIR/"
        [ "$EUID" -eq 0 ] && chown -R mysql:mysql "$DATADIR"
        tzinfo_loaded=1
    else
        log "initializing the database in $DATADIR (mariadb-install-db)"
        mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db --skip-name-resolve \
            --auth-root-authentication-method=normal --rpm >/dev/null || die "mariadb-install-db failed (the error is above)"
        tzinfo_loaded=""
    fi

    if init_file_will_do "$@"; then
        # The server runs it before it accepts any connection: no temporary server to start and
        # stop (about 0.5 s per first start). It is handed over on a pipe, never written to disk.
        # Its last statement writes the marker healthcheck.sh waits for: the server stops reading
        # the file at a failed statement, and a set-up that stopped half-way never turns healthy.
        INIT_SQL="$(setup_sql)
SELECT 'done' INTO OUTFILE '$INIT_DONE_MARKER';"
        log "init process done; the set-up runs as the server's --init-file"
        return 0
    fi
    log "starting a temporary server (no networking)"
    start_temp_server "$@"
    if [ -z "$tzinfo_loaded" ] && [ -z "${MYSQL_INITDB_SKIP_TZINFO:-}" ] && [ -d /usr/share/zoneinfo ]; then
        mariadb-tzinfo-to-sql --skip-write-binlog /usr/share/zoneinfo 2>/dev/null |
            process_sql --database=mysql || warn "loading the time zone tables failed"
    fi
    setup_root_and_users
    run_initdb_files
    log "stopping the temporary server"
    stop_temp_server
    log "init process done; ready for start-up"
}

main() {
    # `docker run image --option` -> mariadbd --option
    if [ $# -eq 0 ] || [ "${1:0:1}" = - ]; then
        set -- mariadbd "$@"
    fi
    if [ "$1" != mariadbd ] && [ "$1" != mysqld ]; then
        exec "$@"
    fi
    local a
    for a in "$@"; do
        case "$a" in
        -'?' | --help | --print-defaults | -V | --version) exec "$@" ;;
        esac
    done

    trap on_term TERM INT
    read_server_options "$@"
    local socket_dir=.
    [[ "$SOCKET" == */* ]] && socket_dir="${SOCKET%/*}"
    socket_dir="${socket_dir:-/}"
    mkdir -p "$socket_dir" "${INIT_DONE_MARKER%/*}"
    rm -f "$INIT_DONE_MARKER"
    if [ "$EUID" -eq 0 ]; then
        chown mysql:mysql "$socket_dir"
        # mariadbd drops to the mysql user itself
        set -- "$@" --user=mysql
    fi

    if [ -d "$DATADIR/mysql" ]; then
        log "database in $DATADIR already initialized; starting"
    else
        init_database "$@"
    fi
    trap - TERM INT
    if [ -z "$INIT_SQL" ]; then
        touch "$INIT_DONE_MARKER"
        exec "$@"
    fi
    # A here-string of this size is a pipe (bash 5.2), never a file on disk; the server, once it
    # runs as mysql, opens it by its /dev/fd name, so mysql must own it.
    exec 3<<<"$INIT_SQL"
    [ "$EUID" -eq 0 ] && chown mysql:mysql /proc/self/fd/3
    exec "$@" --init-file=/dev/fd/3
}

main "$@"
