#!/bin/bash
# MySQL init script (run once by the image's entrypoint from /docker-entrypoint-initdb.d, both by
# mysql:8.4 and by envtest/mysql-offline): the read-only user sca_reader that runs the LLM's SQL
# for sca-api, with SELECT on the three allowed tables only. Its password comes from
# $SCA_READER_DB_PASSWORD (compose.yaml: the generated secret ENVTEST_SCA_READER_DB_PASSWORD).
# Table privileges need the tables to exist: empty placeholders are created here; the fixture's
# schema.sql drops and recreates them, and the grants (kept by name) stay.
set -euo pipefail
: "${SCA_READER_DB_PASSWORD:?SCA_READER_DB_PASSWORD must be set for the sca_reader user}"
: "${MYSQL_DATABASE:?MYSQL_DATABASE must be set}"
client=mysql
command -v mysql >/dev/null 2>&1 || client=mariadb
pw="${SCA_READER_DB_PASSWORD//\\/\\\\}"
pw="${pw//\'/\'\'}"
db="${MYSQL_DATABASE//\`/\`\`}"
MYSQL_PWD="${MYSQL_ROOT_PASSWORD:-}" "$client" --protocol=socket -uroot <<SQL
USE \`$db\`;
CREATE TABLE IF NOT EXISTS seoul_sales (placeholder INT);
CREATE TABLE IF NOT EXISTS seoul_areas (placeholder INT);
CREATE TABLE IF NOT EXISTS seoul_industries (placeholder INT);
CREATE USER IF NOT EXISTS 'sca_reader'@'%' IDENTIFIED BY '$pw';
GRANT SELECT ON \`$db\`.seoul_sales TO 'sca_reader'@'%';
GRANT SELECT ON \`$db\`.seoul_areas TO 'sca_reader'@'%';
GRANT SELECT ON \`$db\`.seoul_industries TO 'sca_reader'@'%';
SQL
echo "sca_reader: read-only user created (SELECT on seoul_sales, seoul_areas, seoul_industries)"
