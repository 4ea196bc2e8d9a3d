#!/bin/sh
# Writes $1 rows into table t of its database, waits so that a parallel suite writes too, then
# expects to see exactly its own rows (per-suite database isolation). Needs the mysql client.
rows=${1:-3}
q() { mysql -N -B -h "$ENVTEST_DB_HOST" -P "$ENVTEST_DB_PORT" -u "$ENVTEST_MYSQL_USER" \
        -p"$ENVTEST_MYSQL_PASSWORD" "$ENVTEST_MYSQL_DATABASE" -e "$1"; }
echo "1..3"
echo "# database: $ENVTEST_MYSQL_DATABASE"
if q "CREATE TABLE t (id INT PRIMARY KEY)"; then echo "ok 1 - create table"; else echo "not ok 1 - create table"; fi
i=1
while [ "$i" -le "$rows" ]; do q "INSERT INTO t VALUES ($i)"; i=$((i + 1)); done
sleep 2
n=$(q "SELECT COUNT(*) FROM t")
if [ "$n" = "$rows" ]; then echo "ok 2 - sees its $rows rows"; else echo "not ok 2 - sees $n rows, wrote $rows"; fi
case "$ENVTEST_MYSQL_DATABASE" in
  app) echo "not ok 3 - runs in the shared database 'app'" ;;
  *) echo "ok 3 - runs in its own database $ENVTEST_MYSQL_DATABASE" ;;
esac
