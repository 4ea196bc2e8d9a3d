#!/bin/bash
# Healthcheck of envtest/mysql-offline: healthy only when the entrypoint's set-up is finished
# (/run/mysqld/init-done) AND the real server answers on TCP 127.0.0.1:3306. The temporary server that
# runs during the set-up listens on the Unix socket only, so it never makes the container healthy.
# `mariadb-admin ping` exits 0 whenever the server answers, also with "Access denied": no password is
# needed. Exit 0 = healthy, 1 = not yet.
set -u
port="${MYSQL_TCP_PORT:-3306}"
if [ ! -e /run/mysqld/init-done ]; then
    echo "set-up not finished"
    exit 1
fi
exec mariadb-admin --protocol=tcp --host=127.0.0.1 --port="$port" --user=healthcheck \
    --connect-timeout=2 ping
