#!/bin/sh
# Benchmarks of `envtest run` (runner + TAP parser + reports), printing medians:
#   1. runner overhead per suite: N trivial suites (/bin/true, judged by exit code) at -j 1,
#      against the same N programs run by a minimal sequential fork+exec+wait loop (forkloop.c);
#   2. 8 suites of `sleep 1` at -j 4 (target <= 2.1 s);
#   3. FLOOD_SUITES suites each printing FLOOD_MIB MiB of TAP (tap_flood.c) at -j 4: envtest's peak
#      RSS (target <= 20 MB) and wall time, and `prove -j 4` on the same suites.
# Usage: ci/bench/runner.sh [path/to/envtest]   (default: build/cmd/envtest)
# Environment: RUNS (default 5), N (default 200), FLOOD_SUITES (100), FLOOD_MIB (10),
#              FLOOD_RUNS (3), PROVE=0 to skip prove, PROVE_SUITES (default FLOOD_SUITES).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
envtest=$(realpath "${1:-${ENVTEST:-build/cmd/envtest}}")
RUNS=${RUNS:-5}
N=${N:-200}
FLOOD_SUITES=${FLOOD_SUITES:-100}
FLOOD_MIB=${FLOOD_MIB:-10}
FLOOD_RUNS=${FLOOD_RUNS:-3}
PROVE=${PROVE:-1}
PROVE_SUITES=${PROVE_SUITES:-$FLOOD_SUITES}

[ -x "$envtest" ] || { echo "envtest binary not found: $envtest (build it, or pass its path)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time missing: apt-get install time" >&2; exit 2; }
work=$(mktemp -d /tmp/envtest-bench-runner.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
cc -O2 -o "$work/forkloop" "$here/forkloop.c"
cc -O2 -o "$work/tap_flood" "$here/tap_flood.c"

now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# ---- 1. overhead per suite ---------------------------------------------------------------------
mkdir -p "$work/trivial/bin"
i=1
while [ "$i" -le "$N" ]; do ln -s /bin/true "$work/trivial/bin/t$i"; i=$((i + 1)); done
cat > "$work/trivial/compose.yaml" <<EOF
services:
  dummy:
    image: scratch
x-envtest:
  suites:
    - path: "bin/t*"
      tap: false
EOF
: > "$work/envtest.ms"
: > "$work/forks.ms"
: > "$work/envtest_j.ms"
for r in $(seq "$RUNS"); do
    (cd "$work/trivial" && t0=$(now_ms) && "$envtest" -q run --no-env -j 1 >/dev/null &&
        echo $(($(now_ms) - t0)) >> "$work/envtest.ms")
    (cd "$work/trivial" && t0=$(now_ms) && "$envtest" -q run --no-env >/dev/null &&
        echo $(($(now_ms) - t0)) >> "$work/envtest_j.ms")
    "$work/forkloop" "$work"/trivial/bin/t* >> "$work/forks.ms"
    rm -rf "$work/trivial/.envtest"
done
e=$(median < "$work/envtest.ms")
ej=$(median < "$work/envtest_j.ms")
f=$(median < "$work/forks.ms")
echo "1. overhead: $N trivial suites: envtest -j 1 ${e} ms, default -j ${ej} ms;" \
     "sequential fork+exec loop ${f} ms"
awk -v e="$e" -v f="$f" -v n="$N" 'BEGIN {
    printf "   envtest per suite %.2f ms, fork loop per program %.2f ms, overhead per suite %.2f ms (target <= 2 ms)\n",
        e / n, f / n, (e - f) / n }'

# ---- 2. 8 x sleep 1 at -j 4 -------------------------------------------------------------------
# Each suite is `sleep 1` itself (judged by exit code), as `envtest run -- sleep 1` would run it.
mkdir -p "$work/sleep"
{
    printf 'services:\n  dummy:\n    image: scratch\nx-envtest:\n  suites:\n'
    for i in 1 2 3 4 5 6 7 8; do
        printf '    - {name: s%d, path: /bin/sleep, args: ["1"], tap: false}\n' "$i"
    done
} > "$work/sleep/compose.yaml"
: > "$work/sleep.ms"
for r in $(seq "$RUNS"); do
    (cd "$work/sleep" && t0=$(now_ms) && "$envtest" -q run --no-env -j 4 >/dev/null &&
        echo $(($(now_ms) - t0)) >> "$work/sleep.ms")
    rm -rf "$work/sleep/.envtest"
done
: > "$work/sleep_sh.ms"
for r in $(seq "$RUNS"); do
    t0=$(now_ms)
    sh -c '(sleep 1 & sleep 1 & sleep 1 & sleep 1 & wait); (sleep 1 & sleep 1 & sleep 1 & sleep 1 & wait)'
    echo $(($(now_ms) - t0)) >> "$work/sleep_sh.ms"
done
echo "2. 8 suites of sleep 1 at -j 4: median $(median < "$work/sleep.ms") ms (target <= 2100 ms);" \
     "floor on this machine (sh: two waves of 4 x sleep 1) $(median < "$work/sleep_sh.ms") ms"

# ---- 3. flood: FLOOD_SUITES x FLOOD_MIB MiB of TAP --------------------------------------------
mkdir -p "$work/flood"
i=1
while [ "$i" -le "$FLOOD_SUITES" ]; do
    printf '#!/bin/sh\nexec %s %s 1000\n' "$work/tap_flood" "$FLOOD_MIB" > "$work/flood/f$(printf %03d "$i")"
    chmod +x "$work/flood/f$(printf %03d "$i")"
    i=$((i + 1))
done
: > "$work/flood.rss"
: > "$work/flood.s"
for r in $(seq "$FLOOD_RUNS"); do
    set --
    for f in "$work"/flood/f*; do set -- "$@" -s "$f"; done
    (cd "$work/flood" && /usr/bin/time -f "%M %e" -o "$work/time.out" "$envtest" -q run --no-env -j 4 "$@" >/dev/null)
    read -r rss secs < "$work/time.out"
    echo "$rss" >> "$work/flood.rss"
    echo "$secs" >> "$work/flood.s"
    rm -rf "$work/flood/.envtest"
done
echo "3. $FLOOD_SUITES suites x $FLOOD_MIB MiB of TAP at -j 4: envtest peak RSS median" \
     "$(median < "$work/flood.rss") KiB (target <= 20480 KiB), wall median $(median < "$work/flood.s") s"
if [ "$PROVE" = 1 ] && command -v prove >/dev/null; then
    set --
    i=0
    for f in "$work"/flood/f*; do
        i=$((i + 1))
        [ "$i" -le "$PROVE_SUITES" ] && set -- "$@" "$f"
    done
    /usr/bin/time -f "%M %e" -o "$work/time.out" prove -j 4 --exec '' "$@" >/dev/null 2>&1 || true
    read -r rss secs < "$work/time.out"
    echo "   prove -j 4 on $PROVE_SUITES of the same suites: peak RSS $rss KiB, wall $secs s (1 run)"
fi
