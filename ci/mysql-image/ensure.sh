#!/usr/bin/env bash
# Prints the MySQL image to use on stdout (messages go to stderr):
#   mysql:8.4 when the engine has it (pulled earlier, or loaded from a registry mirror), else
#   envtest/mysql-offline:10.11, built by build.sh when missing or out of date.
# Usage: ENVTEST_MYSQL_IMAGE="$(ci/mysql-image/ensure.sh)"
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=ci/lib.sh
source "$here/../lib.sh"

docker_ping || ci_die "no Docker engine answers on $ENVTEST_DOCKER_SOCK (run ci/setup.sh)"
if docker_image_exists mysql:8.4; then
    ci_log "using mysql:8.4 (present in the engine)"
    echo mysql:8.4
    exit 0
fi
ci_log "mysql:8.4 is not in the engine (no registry here): using $ENVTEST_MYSQL_OFFLINE_IMAGE"
"$here/build.sh" >&2
echo "$ENVTEST_MYSQL_OFFLINE_IMAGE"
