#!/bin/sh
# Docker test of `envtest run` with per-suite database isolation: two suites write the same table
# in parallel and each sees only its own rows; clones are dropped afterwards. TAP output.
# Usage: cli_isolation_test.sh path/to/envtest
set -u
envtest=$(realpath "$1")
suites=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/envtest-cli-iso.XXXXXX)
project=envtest-runner-iso-$$
trap '"$envtest" -p "$project" down -v >/dev/null 2>&1; rm -rf "$work"' EXIT
cd "$work" || exit 1
cat > compose.yaml <<YAML
services:
  db:
    image: \${ENVTEST_MYSQL_IMAGE:-envtest/mysql-offline:10.11}
    environment:
      MYSQL_DATABASE: app
      MYSQL_USER: tester
      MYSQL_PASSWORD: testerpw
      MYSQL_ROOT_PASSWORD: rootpw
    ports: ["3306"]
    tmpfs: [/var/lib/mysql]
    healthcheck:
      test: ["CMD-SHELL", "mysqladmin ping -h127.0.0.1 --protocol=tcp -uroot -prootpw --silent"]
      interval: 1s
      timeout: 5s
      retries: 120
x-envtest:
  suites:
    - {name: writer-a, path: "$suites/db_writer.sh", args: ["3"]}
    - {name: writer-b, path: "$suites/db_writer.sh", args: ["5"]}
YAML
echo "1..4"
"$envtest" -p "$project" up > up.out 2>&1
if [ $? -eq 0 ]; then echo "ok 1 - up"; else echo "not ok 1 - up"; sed 's/^/# /' up.out; exit 1; fi
"$envtest" -p "$project" run -j 2 > run.out 2>&1
code=$?
if [ $code -eq 0 ]; then echo "ok 2 - two writers in parallel each see only their rows"
else echo "not ok 2 - run exited $code"; sed 's/^/# /' run.out; fi
eval "$("$envtest" -p "$project" env)"
left=$(mysql -N -B -h "$ENVTEST_DB_HOST" -P "$ENVTEST_DB_PORT" -uroot -prootpw \
    -e "SHOW DATABASES" | grep -v -x -E 'app|mysql|information_schema|performance_schema|sys' | wc -l)
if [ "$left" -eq 0 ]; then echo "ok 3 - clones dropped after the run"
else echo "not ok 3 - $left extra databases left"; fi
shared=$(mysql -N -B -h "$ENVTEST_DB_HOST" -P "$ENVTEST_DB_PORT" -uroot -prootpw app -e "SHOW TABLES" | wc -l)
if [ "$shared" -eq 0 ]; then echo "ok 4 - the shared database was not written"
else echo "not ok 4 - the shared database has $shared tables"; fi
