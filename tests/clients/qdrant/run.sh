#!/bin/sh
# Runs the official Qdrant JavaScript client against a mock-vector started on loopback. Installs the
# pinned npm packages with `npm ci` into WORKDIR (a build folder, not the source tree); exit 77 (a
# skip for ctest) when they cannot be installed.
# usage: run.sh /path/to/mock-vector WORKDIR
set -eu
bin=${1:?usage: run.sh /path/to/mock-vector WORKDIR}
work=${2:?usage: run.sh /path/to/mock-vector WORKDIR}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../npm_ci.sh"
npm_ci_into "$work" "$here" qdrant_client_test.mjs
tmp=$(mktemp -d)
"$bin" --host 127.0.0.1 --port 0 --port-file "$tmp/port" --quiet &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
i=0
while [ ! -s "$tmp/port" ]; do
    i=$((i + 1))
    [ $i -lt 100 ] || { echo "mock-vector did not start"; exit 1; }
    sleep 0.05
done
QDRANT_URL="http://127.0.0.1:$(cat "$tmp/port")" node "$work/qdrant_client_test.mjs"
