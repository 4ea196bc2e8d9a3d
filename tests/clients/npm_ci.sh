# shellcheck shell=sh
# Sourced by the official-client tests: npm_ci_into WORKDIR SRC FILE... copies FILE... (with
# package.json and package-lock.json) from SRC into WORKDIR (a build folder, never the source tree)
# and installs the pinned packages there with `npm ci`, again only when the lock file changed. Exits
# 77 (ctest: skipped) when they cannot be installed (no registry).
npm_ci_into() {
    work=$1
    src=$2
    shift 2
    mkdir -p "$work"
    for file in package.json package-lock.json "$@"; do
        cp "$src/$file" "$work/"
    done
    if [ ! -f "$work/node_modules/.package-lock.json.src" ] ||
        ! cmp -s "$work/package-lock.json" "$work/node_modules/.package-lock.json.src"; then
        if ! (cd "$work" && npm ci --no-audit --no-fund --loglevel=error >npm.log 2>&1); then
            cat "$work/npm.log" >&2
            echo "1..0 # SKIP npm ci failed in $work (no registry?)"
            exit 77
        fi
        cp "$work/package-lock.json" "$work/node_modules/.package-lock.json.src"
    fi
}
