#!/bin/sh
# The corpus test: re-derives the expected model of every file with an independent reader (the
# `yaml` npm package; skipped with a note when npm cannot install it) and checks it equals the
# committed manifest, then runs `envtest config` on each file and compares (reader/check.mjs).
# usage: run.sh ENVTEST
set -eu
envtest=$1
here=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null || { echo "1..0 # SKIP node is not installed"; exit 0; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/reader/package.json" "$here/reader/package-lock.json" "$here/reader/derive.mjs" "$work/"
if (cd "$work" && npm ci --no-audit --no-fund --loglevel=error >npm.log 2>&1); then
    node "$work/derive.mjs" "$here" >"$work/expected.json"
    if ! cmp -s "$work/expected.json" "$here/expected.json"; then
        echo "not ok - the committed manifest differs from what the independent reader derives:"
        diff "$here/expected.json" "$work/expected.json" | head -20
        exit 1
    fi
    echo "# manifest re-derived with the yaml package: same"
else
    echo "# npm ci failed (no registry?): using the committed manifest as derived before"
fi
exec node "$here/reader/check.mjs" "$envtest" "$here" "$here/expected.json"
