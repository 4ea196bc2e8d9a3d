#!/bin/sh
# The library's shape, checked (issue 11):
#   1. cmd/ includes only <envmgr/...> headers and its own; envmgr's public headers include only
#      <envmgr/...> and system headers; a module includes only its own headers, <envmgr/...> and
#      core's dlib.h (the loader of libarchive/MySQL/SQLite, given to the modules that link
#      envmgr_dl); nothing names a header by a relative path.
#   2. The include directories enforce it: with cmd/'s include flags every public header compiles
#      and no internal header is found; with a module's flags another module's internals are not.
#   3. No build switches on files or ENVTEST_HAVE_*, no weak symbols, no globbed sources.
#   4. Sizes: no function in cmd/ over 80 lines (the CLI stays thin), no source file in cmd/,
#      envmgr/ or compose/ over 1,000 lines.
# Usage: layout_check.sh SOURCE_DIR CC [CMD_INCLUDE_DIRS] [ENV_MODULE_INCLUDE_DIRS]
#        (include lists as CMake gives them, ';'-separated). Prints TAP.
set -u
src="$1" cc="$2" cmd_dirs="${3:-}" env_dirs="${4:-}"
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
    n=$((n + 1)) failed=$((failed + 1))
    echo "not ok $n - $1"
    [ -n "${2:-}" ] && printf '%s\n' "$2" | sed '/^$/d; s/^/# /'
}
check() { # check NAME OFFENDERS
    if [ -z "$2" ]; then ok "$1"; else not_ok "$1" "$2"; fi
}
cd "$src" || exit 1

public="$(cd envmgr/include/envmgr && ls *.h)"
internal="$(cd envmgr && ls */*.h | grep -v '^include/' | sed 's#.*/##')"

# includes FILE...: "file:line:header:q" (q: quote or angle)
includes() {
    grep -Hn '^[[:space:]]*#[[:space:]]*include' "$@" |
        sed -n 's/^\([^:]*\):\([0-9]*\):[[:space:]]*#[[:space:]]*include[[:space:]]*\(["<]\)\([^">]*\)[">].*/\1:\2:\4:\3/p'
}
# in_list WORD LIST: WORD is one of LIST's lines (no fork: this runs for every include line).
in_list() {
    case "
$2
" in
    *"
$1
"*) return 0 ;;
    esac
    return 1
}

# 1a. cmd/
bad=""
for line in $(includes cmd/*.c cmd/*.h); do
    file="${line%%:*}" h="${line#*:*:}" h="${h%:*}" q="${line##*:}"
    case "$q:$h" in
    '":'*/* | '":'..*) bad="$bad$file: \"$h\" (a path)
" ;;
    '":'*) [ -f "cmd/$h" ] || bad="$bad$file: \"$h\" is not cmd/'s own header
" ;;
    '<:envmgr/'*) in_list "${h#envmgr/}" "$public" || bad="$bad$file: <$h> is not a public header
" ;;
    *) in_list "$h" "$public
$internal" && bad="$bad$file: <$h> names an envmgr header without envmgr/
" ;;
    esac
done
check "cmd/ includes only <envmgr/...> headers and its own" "$bad"

# 1b. public headers
bad=""
for line in $(includes envmgr/include/envmgr/*.h); do
    file="${line%%:*}" h="${line#*:*:}" h="${h%:*}" q="${line##*:}"
    case "$q:$h" in
    '<:envmgr/'*) in_list "${h#envmgr/}" "$public" || bad="$bad$file: <$h> is not a public header
" ;;
    '":'*) bad="$bad$file: \"$h\" (public headers include <envmgr/...>)
" ;;
    *) in_list "$h" "$public
$internal" && bad="$bad$file: <$h> is an envmgr header
" ;;
    esac
done
check "public headers include only public headers" "$bad"

# 1c. modules
bad=""
for dir in envmgr/*/; do
    module="$(basename "$dir")"
    [ "$module" = include ] && continue
    for line in $(includes "$dir"*.c "$dir"*.h 2>/dev/null); do
        file="${line%%:*}" h="${line#*:*:}" h="${h%:*}" q="${line##*:}"
        case "$q:$h" in
        '":'*/*) bad="$bad$file: \"$h\" (a path)
" ;;
        '":dlib.h') ;;
        '":'*) [ -f "$dir$h" ] || bad="$bad$file: \"$h\" is not module $module's own header
" ;;
        '<:envmgr/'*) in_list "${h#envmgr/}" "$public" || bad="$bad$file: <$h> is not a public header
" ;;
        *) in_list "$h" "$public
$internal" && bad="$bad$file: <$h> names an envmgr header without envmgr/
" ;;
        esac
    done
done
check "modules include only their own headers, <envmgr/...> and dlib.h" "$bad"

# 2. the include directories
probe() { # probe DIRS HEADER: 0 when HEADER compiles with -I DIRS
    flags="$(printf '%s' "$1" | tr ';' '\n' | sed -n 's/^./-I&/p')"
    # shellcheck disable=SC2086
    printf '#include <%s>\n' "$2" | "$cc" -std=c11 -D_GNU_SOURCE -fsyntax-only $flags -x c - 2>/dev/null
}
if [ -n "$cmd_dirs" ]; then
    bad=""
    for h in $public; do probe "$cmd_dirs" "envmgr/$h" || bad="$bad<envmgr/$h> does not compile alone
"; done
    check "every public header compiles on its own with cmd/'s include directories" "$bad"
    bad=""
    for h in $internal; do probe "$cmd_dirs" "$h" && bad="$bad$h is reachable from cmd/
"; done
    check "no internal header is reachable from cmd/" "$bad"
fi
if [ -n "$env_dirs" ]; then
    bad=""
    for h in engine_private.h compose_internal.h fixture_internal.h; do
        probe "$env_dirs" "$h" && bad="$bad$h is reachable from the env module
"
    done
    probe "$env_dirs" project.h || bad="${bad}env's own project.h is not reachable from env (probe broken?)
"
    check "the env module reaches its own internals, not those of engine, compose, fixture" "$bad"
fi

# 3. build switches
bad="$(grep -rn 'ENVTEST_HAVE_\|__attribute__((weak))\|#pragma weak' cmd envmgr 2>/dev/null)"
check "no ENVTEST_HAVE_* guards or weak symbols in cmd/ and envmgr/" "$bad"
bad="$(grep -n 'GLOB\|EXISTS ${\(CMAKE_CURRENT_SOURCE_DIR\|CMAKE_CURRENT_LIST_DIR\|PROJECT_SOURCE_DIR\)' cmd/CMakeLists.txt envmgr/CMakeLists.txt envmgr/*/CMakeLists.txt)"
check "cmd/ and envmgr/ list their sources (no globs, no file-existence switches)" "$bad"
bad="$(ls envmgr/*.c envmgr/*.h envmgr/*.cmake 2>/dev/null)"
check "envmgr/ has no loose sources (each in its module folder)" "$bad"

# 4. sizes (clang-format puts a function's braces alone at column 0)
bad="$(awk 'FNR == 1 { start = 0 }
    /^\{$/ { start = FNR; name = prev }
    /^\}$/ && start { if (FNR - start + 1 > 80) print FILENAME ":" start ": " FNR - start + 1 " lines: " name; start = 0 }
    { prev = $0 }' cmd/*.c)"
check "no function in cmd/ over 80 lines" "$bad"
bad="$(find cmd envmgr compose -name '*.[ch]' -print0 | xargs -0 wc -l | awk '$2 != "total" && $1 > 1000')"
check "no file in cmd/, envmgr/ or compose/ (the mocks, sca-api) over 1,000 lines" "$bad"

echo "1..$n"
[ "$failed" -eq 0 ]
