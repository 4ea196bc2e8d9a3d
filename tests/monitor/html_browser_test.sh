#!/bin/sh
# report.html in a real browser (headless Chromium from Debian), printing TAP: a run with a failing
# suite, an alert and a history writes report.html; Chromium renders it to a screenshot
# (OUTPUT_DIR/report.png, kept for people to look at) with no console message (a canary page that
# logs an error proves the check sees one), its DOM has the four SVG charts, the page renders to
# the same pixels with JavaScript off, and it loads nothing from outside (no script, src, href or
# url()).
# Usage: html_browser_test.sh ENVTEST ALLOC_SUITE OUTPUT_DIR. Exit 77 (skipped) without Chromium.
set -u
envtest=$(realpath "$1")
alloc=$(realpath "$2")
out=$3
suites=$(cd "$(dirname "$0")/../suites" && pwd)
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
    echo "1..0 # SKIP Chromium is not installed (apt-get install chromium; ci/setup.sh installs it)"
    exit 77
fi
rm -rf "$out"
mkdir -p "$out"
out=$(realpath "$out")
work=$(mktemp -d /tmp/envtest-html-browser.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
n=0
failed=0
check() { # check DESCRIPTION COMMAND...
    n=$((n + 1))
    desc=$1
    shift
    if "$@" > "$work/last.out" 2>&1; then
        echo "ok $n - $desc"
    else
        echo "not ok $n - $desc"
        sed 's/^/# /' "$work/last.out" | head -40
        failed=$((failed + 1))
    fi
}
# chromium ARGS...: headless, offline, a new empty profile each time, console to stderr
chromium_run() {
    profile=$(mktemp -d "$work/profile.XXXXXX")
    "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" --enable-logging=stderr --v=0 "$@"
}
# chromium_nojs ARGS...: the same with JavaScript blocked by the profile's content settings
# (--blink-settings=scriptEnabled=false would also stop --dump-dom, which is itself a script)
chromium_nojs() {
    profile=$(mktemp -d "$work/profile.XXXXXX")
    mkdir -p "$profile/Default"
    echo '{"profile":{"default_content_setting_values":{"javascript":2}}}' \
        > "$profile/Default/Preferences"
    "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" --enable-logging=stderr --v=0 "$@"
}
echo "1..11"

cat > compose.yaml <<YAML
services:
  x: {image: busybox}
x-envtest:
  monitor: {alerts: {memory: 100MB}}
  suites:
    - {name: alloc, path: $alloc, args: ["150"]}
    - {name: db, path: $suites/fail.sh}
    - {name: pass, path: $suites/pass.sh}
    - {name: skip, path: $suites/skip.sh}
YAML
"$envtest" -q run --no-env --history h.sqlite -s pass > /dev/null 2>&1
"$envtest" -q run --no-env --history h.sqlite > run.out 2>&1
rc=$?
check "a failing run (exit 1) writes report.html" sh -c \
    "test $rc = 1 && test -s .envtest/runs/latest/report.html"
cp .envtest/runs/latest/report.html "$out/report.html"
page="$out/report.html"

chromium_run --window-size=1280,2200 --screenshot="$out/report.png" "file://$page" \
    > /dev/null 2> "$out/chromium.log"
shot=$?
check "screenshot in Chromium: $out/report.png" sh -c \
    "test $shot = 0 && test \"\$(head -c 4 '$out/report.png' | od -An -tx1 | tr -d ' \n')\" = 89504e47 && test \$(wc -c < '$out/report.png') -gt 20000"
check "no console message while rendering" sh -c "! grep -E 'CONSOLE|Uncaught|Refused to' '$out/chromium.log'"
printf '<!DOCTYPE html><html><body><script>console.error("canary " + 42)</script></body></html>' > canary.html
chromium_run --dump-dom "file://$work/canary.html" > canary.dom 2> canary.log
check "the console check sees an error (canary page)" sh -c "grep -q 'canary 42' canary.log"

chromium_run --dump-dom "file://$page" > js-on.dom 2> js-on.log
printf '<html><body><p>static</p><script>document.body.innerHTML="JS ran"</script></body></html>' \
    > js.html
chromium_nojs --dump-dom "file://$work/js.html" > js.dom 2> /dev/null
chromium_nojs --dump-dom "file://$page" > js-off.dom 2> js-off.log
chromium_nojs --window-size=1280,2200 --screenshot="$out/report-nojs.png" "file://$page" \
    > /dev/null 2>> js-off.log
charts_in() { # charts_in DOM: the four charts, each an SVG with marks
    for id in chart-pass-rate chart-duration chart-slowest-tests chart-memory; do
        grep -q "id=\"$id\"" "$1" || { echo "no $id in $1"; return 1; }
    done
    test "$(grep -o '<svg' "$1" | wc -l)" -ge 4 || { echo "fewer than 4 svg"; return 1; }
    grep -q '<polyline' "$1" && grep -q '<rect' "$1" && grep -q '<circle' "$1"
}
check "the DOM Chromium built has the four SVG charts" charts_in js-on.dom
check "JavaScript is off in that profile (a page's script does not run)" sh -c \
    "grep -q static js.dom && ! grep -q 'JS ran</body>' js.dom"
check "with JavaScript off: the four charts" charts_in js-off.dom
check "with JavaScript off: the same pixels as with it (report-nojs.png = report.png)" \
    cmp "$out/report-nojs.png" "$out/report.png"
check "the failure with its TAP diagnostics (message, file:line) and the alert are shown" sh -c \
    "grep -q 'expected 3 rows, got 2' js-on.dom && grep -q 'suites/db_test.c:42' js-on.dom && grep -q 'suite alloc peaked at' js-on.dom"
check "self-contained: no script, no src/href, no url()" sh -c \
    "! grep -Eqi '<script|[[:space:]](src|href)=|url\\(' '$page'"
check "no console message with JavaScript off either" sh -c "! grep -E 'CONSOLE|Uncaught|Refused to' js-off.log js-on.log"
[ "$failed" -eq 0 ]
