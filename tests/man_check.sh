#!/bin/sh
# unit test: the man page (ci/packaging/envtest.1) and the bash/zsh completions know every command
# `envtest --help` lists, and every long option each `envtest COMMAND --help` prints. TAP output.
#   man_check.sh ENVTEST SOURCE_DIR
set -u
envtest="$1" src="$2"
man="$src/ci/packaging/envtest.1" bash_c="$src/ci/packaging/completion/envtest.bash"
zsh_c="$src/ci/packaging/completion/_envtest"
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

commands=$("$envtest" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
[ -n "$commands" ] || { echo "Bail out! no commands in envtest --help"; exit 1; }
check "groff renders the page without warnings" \
    '[ -z "$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$man" 2>&1)" ]'
for c in $commands; do
    check "man: a section for $c" "grep -q '^\\.SS \"envtest $c' '$man'"
    check "bash: command $c" "grep -q '^    local commands=\".*\\b$c\\b' '$bash_c'"
    [ "$c" = version ] || check "bash: options of $c" "grep -Eq '^    $c\\)' '$bash_c'"
    check "zsh: command $c" "grep -q \"'$c:\" '$zsh_c'"
    # the long options of `envtest c --help`: in its usage lines, and those that begin a line
    # (version prints no help)
    [ "$c" = version ] && continue
    opts=$("$envtest" "$c" --help 2>&1 | awk '/^Usage:|^       envtest / { print; next }
        /^ +(-[a-zA-Z], )?--[a-z]/ { print $1 " " $2 }' | grep -oE -- '--[a-z][a-z-]+' | sort -u)
    for o in $opts; do
        esc=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
        check "man: $c $o" "grep -q -- '$esc' '$man'"
        # the common options: in the completions' common lists (checked below)
        case "${o#--}" in file | project-name | host | real | profile | help) continue ;; esac
        check "bash: $c $o" "grep -E '^    $c\\)' '$bash_c' | grep -q -- '$o'"
        check "zsh: $c $o" "awk '/^        $c\\)/,/;;/' '$zsh_c' | grep -q -- '$o'"
    done
done
# the common options every command accepts, in both completions' common lists
for o in --real --profile; do
    check "bash: common $o" "grep -E '^    \\[ -n \"\\\$cmd\" \\] && opts=' '$bash_c' | grep -q -- '$o'"
    check "bash: global $o" "grep -E '^    local global=' '$bash_c' | grep -q -- '$o'"
    check "zsh: common $o" "grep -q -- \"'\\*$o\\[\" '$zsh_c'"
done
# the completion scripts load and complete
if command -v bash >/dev/null; then
    out=$(bash -c ". '$bash_c'; COMP_WORDS=(envtest d); COMP_CWORD=1; _envtest; echo \"\${COMPREPLY[*]}\"")
    check "bash completes 'envtest d' to down (got: $out)" '[ "$out" = down ]'
    out=$(bash -c ". '$bash_c'; COMP_WORDS=(envtest -p x down --rm); COMP_CWORD=4; _envtest; echo \"\${COMPREPLY[*]}\"")
    check "bash completes 'envtest -p x down --rm' to --rmi (got: $out)" '[ "$out" = --rmi ]'
fi
if command -v zsh >/dev/null; then
    check "zsh parses _envtest" "zsh -n '$zsh_c'"
fi
echo "1..$n"
[ "$failed" -eq 0 ]
