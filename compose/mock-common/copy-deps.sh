#!/bin/sh
# copy-deps.sh ROOTFS FILE...: copies the shared libraries each FILE needs (ldd) and the dynamic
# loader into ROOTFS at their paths on this machine, for a FROM scratch image of a dynamic binary
# (sca-api always; the mocks in a sanitizer build, whose libasan cannot link statically).
set -eu
rootfs="$1"
shift
for f in "$@"; do
    # "libx.so => /path (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)"
    ldd "$f" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
        while read -r lib; do
            mkdir -p "$rootfs$(dirname "$lib")"
            cp -L "$lib" "$rootfs$lib"
        done
done
