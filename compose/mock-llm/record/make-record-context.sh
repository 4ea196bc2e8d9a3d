#!/bin/sh
# make-record-context.sh BINARY CONTEXT_DIR DOCKERFILE: the FROM scratch image's build context for
# mock-llm's record build: the binary as /mock-llm, its shared libraries (ldd) and the dynamic
# loader at their paths on this machine, and the CA bundle for https upstreams.
set -eu
bin="$1" ctx="$2" dockerfile="$3"
rm -rf "$ctx"
mkdir -p "$ctx/rootfs/etc/ssl/certs" "$ctx/rootfs/tmp"
cp "$bin" "$ctx/rootfs/mock-llm"
# "libx.so => /path (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)"
ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
    while read -r lib; do
        mkdir -p "$ctx/rootfs$(dirname "$lib")"
        cp -L "$lib" "$ctx/rootfs$lib"
    done
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    cp -L /etc/ssl/certs/ca-certificates.crt "$ctx/rootfs/etc/ssl/certs/"
fi
cp "$dockerfile" "$ctx/Dockerfile"
