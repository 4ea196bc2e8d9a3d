#!/usr/bin/env bash
# docker test: images shared by content (envmgr/images.h). 20 CI-style runs (up, down) with
# distinct project names leave one image per distinct build context; `down --rmi local` removes an
# image only when no other project's container uses it, untagged leftovers included; a failed up
# removes the image it built. TAP; skips (77) without an engine unless ENVTEST_REQUIRE_DOCKER=1.
#   ENVTEST_IMAGES_RUNS   number of CI-style runs (default 20)
set -uo pipefail
src="${ENVTEST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
bin="${ENVTEST_BINARY_DIR:-$src/build}"
# shellcheck source=ci/lib.sh
source "$src/ci/lib.sh"
# shellcheck source=tests/tap_lib.sh
source "$src/tests/tap_lib.sh"
ENVTEST="$bin/cmd/envtest"
RUNS="${ENVTEST_IMAGES_RUNS:-20}"
P="${ENVTEST_TEST_PROJECT:-inst-img-$$}"
TMP="$(mktemp -d)"
PROJECTS=()
cleanup() {
    local p
    for p in "${PROJECTS[@]}"; do
        "$ENVTEST" -f "$TMP/compose.yaml" -p "$p" down -v --rmi local >/dev/null 2>&1
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
docker_ping || tap_need "no Docker engine at $ENVTEST_DOCKER_SOCK"
[ -x "$bin/compose/mock-llm/context/mock-llm" ] || tap_need "mock images' contexts not built"
echo "TAP version 13"

# Two build contexts of its own (copies, with a marker file, so that no other test shares them).
marker="$P-$$-$(date +%s%N)"
for s in mock-llm mock-vector; do
    mkdir -p "$TMP/$s"
    cp "$bin/compose/$s/context/"* "$TMP/$s/"
    echo "$marker" >"$TMP/$s/marker"
done
cat >"$TMP/compose.yaml" <<YAML
services:
  llm:
    build: {context: ./mock-llm}
    command: ["--port", "8080"]
  vec:
    build: {context: ./mock-vector}
    command: ["--port", "6333"]
YAML

# images with a context digest label whose tag is envtest/{llm,vec}:* -> "id tag" lines
our_images() {
    docker_api GET "/images/json?filters=$(urlencode '{"label":["io.envtest.context-digest"]}')" |
        jq -r '.[] | .Id as $id | (.RepoTags // [])[] | select(test("^envtest/(llm|vec):")) | "\($id) \(.)"'
}
image_of() { docker_api GET "/containers/$1/json" | jq -r .Image; }
image_exists() { docker_image_exists "$1"; }
image_absent() {
    [ "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$ENVTEST_DOCKER_SOCK" \
        "http://localhost/$ENVTEST_DOCKER_API/images/$1/json")" = 404 ]
}
label_count() {
    docker_api GET "/images/json?all=1&filters=$(urlencode "{\"label\":[\"io.envtest.project=$1\"]}")" | jq length
}

failed_runs=0
for ((i = 1; i <= RUNS; i++)); do
    p="$P-ci$i"
    PROJECTS+=("$p")
    if ! "$ENVTEST" -q -f "$TMP/compose.yaml" -p "$p" up --no-fixtures >"$TMP/up.log" 2>&1; then
        failed_runs=$((failed_runs + 1))
        sed 's/^/#   /' "$TMP/up.log" | tail -5
    fi
    [ "$i" = 1 ] && llm_image=$(image_of "$p-llm-1") vec_image=$(image_of "$p-vec-1")
    "$ENVTEST" -q -p "$p" down -v >/dev/null 2>&1
done
check_eq "$RUNS CI-style runs with distinct project names: all up" 0 "$failed_runs"
ids=$(our_images | awk '{print $1}' | sort -u)
check_eq "the engine holds one image per distinct build context (2)" 2 "$(grep -c . <<<"$ids")"
check "their tags are by digest (envtest/<service>:<16 hex>)" \
    bash -c "[ \"\$(grep -Ec ' envtest/(llm|vec):[0-9a-f]{16}$' <<<'$(our_images)')\" -ge 2 ]"
check_eq "no per-project image (<project>-llm)" "" \
    "$(docker_api GET /images/json | jq -r '.[].RepoTags[]?' | grep -E "^$P-ci[0-9]+-" || true)"

# down --rmi local: shared images stay while another project's container runs them
a="$P-a" b="$P-b"
PROJECTS+=("$a" "$b")
"$ENVTEST" -q -f "$TMP/compose.yaml" -p "$a" up --no-fixtures >/dev/null 2>&1
"$ENVTEST" -q -f "$TMP/compose.yaml" -p "$b" up --no-fixtures >/dev/null 2>&1
check_eq "two projects run the same image" "$(image_of "$a-llm-1")" "$(image_of "$b-llm-1")"
check "down --rmi local of $a" "$ENVTEST" -q -p "$a" down -v --rmi local
check "the images stay while $b uses them" image_exists "$llm_image"
# an untagged leftover of an older envtest for $b (labelled with the project, no tag)
leftover=$(docker_api POST "/build?labels=$(urlencode "{\"io.envtest.project\":\"$b\"}")&rm=1" \
    -H 'Content-Type: application/x-tar' --data-binary @<(cd "$TMP/mock-llm" &&
        printf 'FROM scratch\nCOPY marker /leftover\n' >Dockerfile.leftover &&
        tar -c --transform 's/Dockerfile.leftover/Dockerfile/' Dockerfile.leftover marker) |
    jq -r 'select(.aux.ID) | .aux.ID' | tail -1)
check "an untagged image labelled with $b exists ($leftover)" image_exists "$leftover"
check "down --rmi local of $b" "$ENVTEST" -q -p "$b" down -v --rmi local
check "then the shared images go" image_absent "$llm_image"
check "and so does the untagged leftover" image_absent "$leftover"
check_eq "nothing labelled with $b is left" 0 "$(label_count "$b")"
: "$vec_image"

# A failed up removes the image it built (a context no one else has; its command fails)
mkdir -p "$TMP/broken"
cp "$TMP/mock-llm/mock-llm" "$TMP/broken/"
printf 'FROM scratch\nCOPY mock-llm /mock-llm\nENTRYPOINT ["/mock-llm", "--no-such-option"]\n' >"$TMP/broken/Dockerfile"
echo "$marker-broken" >"$TMP/broken/marker"
cat >"$TMP/broken.yaml" <<YAML
services:
  broken:
    build: {context: ./broken}
    healthcheck: {test: ["CMD", "/mock-llm", "--healthcheck"], interval: 1s, retries: 2}
YAML
f="$P-fail"
PROJECTS+=("$f")
out=$("$ENVTEST" -f "$TMP/broken.yaml" -p "$f" up --no-fixtures --wait-timeout 60 2>&1)
rc=$?
check_eq "up of a service that exits fails (3)" 3 "$rc"
built=$(docker_api GET "/images/json?filters=$(urlencode '{"label":["io.envtest.context-digest"]}')" |
    jq -r '.[].RepoTags[]?' | grep -c '^envtest/broken:' || true)
check_eq "the image it built is gone" 0 "$built"
check_eq "the error is printed once, whole" 1 "$(grep -c 'the engine reports the container\|exited' <<<"$out")"
check "it says the image went" grep -q "removed 1 image this up built" <<<"$out"
tap_done
