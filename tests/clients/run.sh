#!/bin/sh
# Runs the official-client acceptance test: installs the pinned npm packages into WORKDIR (not the
# source tree), then runs the node script against the mock binary. Exit 77 (ctest: skipped) when
# the packages cannot be installed (no registry).
# usage: run.sh MOCK_LLM_BINARY WORKDIR
set -eu
bin=$1
work=$2
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
cp "$src/package.json" "$src/package-lock.json" "$src/openai_client.mjs" "$work/"
cd "$work"
if [ ! -d node_modules/openai ] || ! cmp -s package-lock.json node_modules/.package-lock.json.src 2>/dev/null; then
  if ! npm ci --no-audit --no-fund --loglevel=error >npm.log 2>&1; then
    cat npm.log >&2
    echo "npm ci failed (no registry?): skipping the official client test" >&2
    exit 77
  fi
  cp package-lock.json node_modules/.package-lock.json.src
fi
exec node openai_client.mjs "$bin"
