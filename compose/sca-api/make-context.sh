#!/bin/sh
# make-context.sh BINARY CONTEXT_DIR DOCKERFILE: the FROM scratch image's build context for
# sca-api. libmariadb, libcurl (GnuTLS) and MuPDF's dependencies do not link fully statically on
# Debian, so the binary stays dynamic and its shared libraries (ldd), the dynamic loader and
# libmariadb's authentication plugins (caching_sha2_password for mysql:8.4, with their own
# libraries) are copied into the context at their paths on this machine.
set -eu
bin="$1" ctx="$2" dockerfile="$3"
rm -rf "$ctx"
mkdir -p "$ctx/rootfs"
cp "$dockerfile" "$ctx/Dockerfile"
cp "$bin" "$ctx/rootfs/sca-api"
deps="$(dirname "$0")/../mock-common/copy-deps.sh"
sh "$deps" "$ctx/rootfs" "$bin"
plugins=""
for d in /usr/lib/x86_64-linux-gnu/libmariadb3/plugin /usr/lib/aarch64-linux-gnu/libmariadb3/plugin \
    /usr/lib/mysql/plugin; do
    [ -d "$d" ] && plugins="$d" && break
done
if [ -n "$plugins" ]; then
    mkdir -p "$ctx/rootfs$plugins"
    for p in "$plugins"/*.so; do
        cp -L "$p" "$ctx/rootfs$p"
        sh "$deps" "$ctx/rootfs" "$p"
    done
fi
