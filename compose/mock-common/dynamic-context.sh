#!/bin/sh
# dynamic-context.sh CONTEXT BINARY DOCKERFILE: a mock linked dynamically (a sanitizer build) in
# its FROM scratch image: the service's Dockerfile plus "COPY rootfs/ /" with the binary's shared
# libraries and the loader (copy-deps.sh), so that the same Compose file runs it.
set -eu
ctx="$1" bin="$2" dockerfile="$3"
rm -rf "$ctx/rootfs"
mkdir -p "$ctx/rootfs"
sh "$(dirname "$0")/copy-deps.sh" "$ctx/rootfs" "$bin"
{
    cat "$dockerfile"
    echo 'COPY rootfs/ /'
} >"$ctx/Dockerfile"
