#!/bin/sh
# Runs the official-client acceptance test: installs the pinned npm packages into WORKDIR (not the
# source tree), then runs the node script against the mock binary. Exit 77 (ctest: skipped) when
# the packages cannot be installed (no registry).
# usage: run.sh MOCK_LLM_BINARY WORKDIR
set -eu
bin=$1
work=$2
src=$(cd "$(dirname "$0")" && pwd)
. "$src/npm_ci.sh"
npm_ci_into "$work" "$src" openai_client.mjs
cd "$work"
exec node openai_client.mjs "$bin"
