#!/usr/bin/env bash
# Benchmark: loading the Seoul sales table (default 1,000,000 rows) from a tar.gz fixture with
# `envtest fixture load` (LOAD DATA LOCAL streamed out of the archive) against the `mariadb` client's
# LOAD DATA LOCAL INFILE on the already-extracted CSV, into the same MySQL, in the same run,
# alternating. Prints each run, the medians (rows/s), the ratio and envtest's peak RSS
# (/usr/bin/time -v). envtest's time is end to end: open (archive digest, checks up to the manifest),
# schema, load into a staging table without its secondary keys (the rest of the archive checked as
# it streams), the keys added back while a second connection takes CHECKSUM TABLE, swap and
# bookkeeping; the client's is the LOAD DATA statement alone, into the table with its keys.
#
# Usage: ci/bench/fixture_load.sh [RUNS] [ROWS]      (defaults 3 and 1000000)
# MySQL: ENVTEST_BENCH_MYSQL_HOST/PORT/USER/PASSWORD/DB, or else a container this script starts from
# $ENVTEST_MYSQL_IMAGE (default envtest/mysql-offline:10.11), configured like the Seoul
# environment's MySQL (tmpfs datadir, compose.yaml's server options), and removes at the end.
# Needs a built tree: $ENVTEST_BUILD_DIR (default build/) with cmd/envtest and fixtures/seoulgen.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-3}"
rows="${2:-1000000}"
build="${ENVTEST_BUILD_DIR:-$PWD/build}"
envtest="$build/cmd/envtest"
seoulgen="$build/fixtures/seoulgen"
image="${ENVTEST_MYSQL_IMAGE:-envtest/mysql-offline:10.11}"
for tool in "$envtest" "$seoulgen"; do
    [ -x "$tool" ] || { echo "error: $tool not built (make -C $build envtest seoulgen)" >&2; exit 1; }
done
command -v mariadb >/dev/null || { echo "error: the mariadb client is needed (apt-get install mariadb-client)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time is needed (apt-get install time)" >&2; exit 1; }

work="$(mktemp -d /tmp/envtest-bench-fixture.XXXXXX)"
container=""
cleanup() {
    [ -n "$container" ] && docker rm -f -v "$container" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# ---- MySQL --------------------------------------------------------------------------------------
if [ -n "${ENVTEST_BENCH_MYSQL_HOST:-}" ]; then
    host="$ENVTEST_BENCH_MYSQL_HOST" port="${ENVTEST_BENCH_MYSQL_PORT:-3306}"
    user="${ENVTEST_BENCH_MYSQL_USER:-root}" password="${ENVTEST_BENCH_MYSQL_PASSWORD:-}"
    db="${ENVTEST_BENCH_MYSQL_DB:-bench}"
else
    host=127.0.0.1 user=bench password=benchpw db=bench
    container="envtest-bench-fixture-$$"
    # configured as compose/compose.yaml's mysql service: data on tmpfs, the same server options
    docker run -d --name "$container" --label io.envtest.bench=fixture_load --tmpfs /var/lib/mysql \
        -e MYSQL_DATABASE=bench -e MYSQL_USER=bench -e MYSQL_PASSWORD=benchpw \
        -e MYSQL_ROOT_PASSWORD=benchroot "$image" \
        --local-infile=1 --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci >/dev/null
    # the container's own address: no userland proxy between the clients and the server
    host="$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$container")"
    port=3306
    for _ in $(seq 1 240); do
        mariadb -h"$host" -P"$port" -u"$user" -p"$password" "$db" -e 'SELECT 1' >/dev/null 2>&1 && break
        sleep 0.5
    done
fi
mysql_cli=(mariadb --local-infile=1 -h"$host" -P"$port" -u"$user" -p"$password" "$db")
url="mysql://$user:$password@$host:$port/$db"
echo "mysql: $host:$port ($("${mysql_cli[@]}" -N -e 'SELECT VERSION()'))" >&2

# ---- data: one archive, one extracted CSV ----------------------------------------------------------
mkdir -p "$work/src/data"
"$seoulgen" --out "$work/src/data" --rows "$rows" 2>/dev/null
rm -f "$work/src/data/seoul_areas.csv" "$work/src/data/seoul_industries.csv"
cp fixtures/seoul/schema.sql "$work/src/"
cat >"$work/src/envtest-fixture.yaml" <<YAML
name: seoul-bench
version: "1"
steps:
  - type: mysql
    scripts: [schema.sql]
    tables:
      - table: seoul_sales
        file: data/seoul_sales.csv
YAML
"$envtest" -q fixture pack "$work/src" -o "$work/seoul-bench.tar.gz"
csv="$work/src/data/seoul_sales.csv"
echo "archive: $(du -h "$work/seoul-bench.tar.gz" | cut -f1) tar.gz, CSV $(du -h "$csv" | cut -f1), $rows rows" >&2

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }
: >"$work/envtest.times"
: >"$work/client.times"
: >"$work/rss"
for i in $(seq 1 "$runs"); do
    # envtest: end to end, from the tar.gz
    start="$(now)"
    /usr/bin/time -v "$envtest" -q fixture load "$work/seoul-bench.tar.gz" --mysql "$url" 2>"$work/time.log" ||
        { cat "$work/time.log" >&2; exit 1; }
    t_env="$(awk -v s="$start" -v e="$(now)" 'BEGIN {print e - s}')"
    rss="$(awk '/Maximum resident set size/ {print $NF}' "$work/time.log")"
    n="$("${mysql_cli[@]}" -N -e 'SELECT COUNT(*) FROM seoul_sales')"
    [ "$n" = "$rows" ] || { echo "error: envtest loaded $n rows, expected $rows" >&2; exit 1; }
    # client: the same schema, then LOAD DATA LOCAL INFILE on the extracted CSV (timed alone)
    "${mysql_cli[@]}" <fixtures/seoul/schema.sql
    start="$(now)"
    "${mysql_cli[@]}" -e "LOAD DATA LOCAL INFILE '$csv' INTO TABLE seoul_sales CHARACTER SET utf8mb4
        FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\n' IGNORE 1 LINES"
    t_cli="$(awk -v s="$start" -v e="$(now)" 'BEGIN {print e - s}')"
    n="$("${mysql_cli[@]}" -N -e 'SELECT COUNT(*) FROM seoul_sales')"
    [ "$n" = "$rows" ] || { echo "error: the client loaded $n rows, expected $rows" >&2; exit 1; }
    echo "$t_env" >>"$work/envtest.times"
    echo "$t_cli" >>"$work/client.times"
    echo "$rss" >>"$work/rss"
    printf 'run %d: envtest %.1f s (%.0f rows/s, peak RSS %.1f MB)   mariadb client %.1f s (%.0f rows/s)\n' \
        "$i" "$t_env" "$(awk -v r="$rows" -v t="$t_env" 'BEGIN {print r / t}')" \
        "$(awk -v k="$rss" 'BEGIN {print k / 1024}')" "$t_cli" "$(awk -v r="$rows" -v t="$t_cli" 'BEGIN {print r / t}')"
done
m_env="$(median <"$work/envtest.times")"
m_cli="$(median <"$work/client.times")"
max_rss="$(sort -g "$work/rss" | tail -n1)"
awk -v r="$rows" -v e="$m_env" -v c="$m_cli" -v k="$max_rss" 'BEGIN {
    printf "median: envtest %.0f rows/s (%.1f s), mariadb client %.0f rows/s (%.1f s), ratio %.2fx; envtest peak RSS %.1f MB\n",
        r / e, e, r / c, c, c / e, k / 1024 }'
