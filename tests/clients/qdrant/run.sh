#!/bin/sh
# Runs the official Qdrant JavaScript client against a mock-vector started on loopback.
# usage: run.sh /path/to/mock-vector   (npm install happens here when node_modules is missing;
# exit status 77, a skip for ctest, when it cannot be installed)
set -eu
bin=${1:?usage: run.sh /path/to/mock-vector}
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/node_modules/@qdrant/js-client-rest" ]; then
    (cd "$here" && npm install --no-audit --no-fund --silent) || {
        echo "1..0 # SKIP npm install of @qdrant/js-client-rest failed (no registry?)"
        exit 77
    }
fi
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
QDRANT_URL="http://127.0.0.1:$(cat "$tmp/port")" node "$here/qdrant_client_test.mjs"
