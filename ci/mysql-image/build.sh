#!/usr/bin/env bash
# Builds envtest/mysql-offline:10.11, a MySQL-compatible image (MariaDB 10.11 from Debian bookworm),
# without a registry and without the docker CLI:
#   debootstrap --variant=minbase (+ mariadb-server, mariadb-client; no recommends) -> trim -> tar
#   -> POST /images/create?fromSrc=- on the Engine API (curl --unix-socket).
# Skipped when the image exists and was built from the same files (label io.envtest.recipe).
# The trimmed root file system is cached as a tarball, so a
# rebuild after a change of entrypoint.sh/healthcheck.sh/envtest.cnf takes seconds.
# Cache: /var/cache/envtest (outside the work tree, shared by clones; $ENVTEST_CACHE_DIR overrides).
#
# Usage: ci/mysql-image/build.sh [--force] [--no-cache]
#   --force     import again even when the image is up to date
#   --no-cache  debootstrap again even when the root file system is cached (implies --force)
# Environment: ENVTEST_DEBIAN_MIRROR (default: the machine's apt source for bookworm, else
# http://deb.debian.org/debian), ENVTEST_CACHE_DIR.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=ci/lib.sh
source "$here/../lib.sh"

REPO=envtest/mysql-offline
TAG=10.11
SUITE=bookworm
PACKAGES=mariadb-server,mariadb-client
# Bump when the root file system steps below change (it keys the cached tarball).
ROOTFS_RECIPE_VERSION=2
CACHE_DIR="${ENVTEST_CACHE_DIR:-/var/cache/envtest}"

force=0 no_cache=0
for arg in "$@"; do
    case "$arg" in
    --force) force=1 ;;
    --no-cache) no_cache=1 force=1 ;;
    -h | --help)
        sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) ci_die "build.sh: unknown argument '$arg' (try --help)" ;;
    esac
done

# The recipe hash: the files that make the image. An image with another hash is rebuilt.
recipe_hash() {
    cat "$here/build.sh" "$here/entrypoint.sh" "$here/healthcheck.sh" "$here/envtest.cnf" |
        sha256sum | cut -c1-16
}

image_recipe() {
    docker_api GET "/images/$REPO:$TAG/json" 2>/dev/null |
        grep -o '"io.envtest.recipe":"[0-9a-f]*"' | head -n1 | cut -d'"' -f4 || true
}

# The Debian mirror apt uses here for $SUITE (one-line and deb822 formats), else deb.debian.org.
debian_mirror() {
    if [ -n "${ENVTEST_DEBIAN_MIRROR:-}" ]; then
        printf '%s\n' "$ENVTEST_DEBIAN_MIRROR"
        return
    fi
    local f m=""
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        m="$(awk -v s="$SUITE" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                                 if ($(i + 1) == s) { print $i; exit } }' "$f")"
        [ -n "$m" ] && break
    done
    if [ -z "$m" ]; then
        for f in /etc/apt/sources.list.d/*.sources; do
            [ -r "$f" ] || continue
            m="$(awk -v s="$SUITE" 'BEGIN { RS = ""; FS = "\n" }
                 { uri = ""; ok = 0; deb = 0
                   for (i = 1; i <= NF; i++) {
                     if ($i ~ /^URIs:/) { split($i, a, " "); uri = a[2] }
                     if ($i ~ /^Suites:/) { n = split($i, b, " "); for (j = 2; j <= n; j++) if (b[j] == s) ok = 1 }
                     if ($i ~ /^Types:.*deb( |$)/) deb = 1 }
                   if (ok && deb && uri != "") { print uri; exit } }' "$f")"
            [ -n "$m" ] && break
        done
    fi
    printf '%s\n' "${m:-http://deb.debian.org/debian}"
}

# Unmounts whatever debootstrap left mounted under $1, then removes it (never crossing into a mount).
remove_tree() {
    local dir="$1" mnt
    [ -n "$dir" ] && [ -d "$dir" ] || return 0
    while read -r mnt; do
        umount -l "$mnt" 2>/dev/null || true
    done < <(awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r)
    rm -rf --one-file-system "$dir"
}

# A datadir made once here, copied by the entrypoint on first start instead of running
# mariadb-install-db and loading the time zone tables there (about 8 s per container).
DATADIR_TEMPLATE=/usr/share/envtest/mysql-datadir-template
make_datadir_template() {
    local root="$1"
    mkdir -p "$root$DATADIR_TEMPLATE"
    chroot "$root" chown mysql:mysql "$DATADIR_TEMPLATE"
    mount -t proc proc "$root/proc"
    if ! chroot "$root" mariadb-install-db --user=mysql --datadir="$DATADIR_TEMPLATE" --skip-test-db \
        --skip-name-resolve --auth-root-authentication-method=normal --rpm >"$WORK_DIR/install-db.log" 2>&1; then
        umount "$root/proc"
        tail -n 30 "$WORK_DIR/install-db.log" >&2
        ci_die "mariadb-install-db failed in the image (log above)"
    fi
    if ! chroot "$root" sh -c "{ echo 'USE mysql;'; mariadb-tzinfo-to-sql --skip-write-binlog /usr/share/zoneinfo; } |
        mariadbd --bootstrap --user=mysql --datadir=$DATADIR_TEMPLATE --skip-name-resolve --log-warnings=0" \
        >>"$WORK_DIR/install-db.log" 2>&1; then
        umount "$root/proc"
        tail -n 30 "$WORK_DIR/install-db.log" >&2
        ci_die "loading the time zone tables failed in the image (log above)"
    fi
    umount "$root/proc"
}

# debootstrap + trim -> $1 (a tarball of the root file system).
build_rootfs() {
    local out="$1" mirror keyring=() t
    mirror="$(debian_mirror)"
    [ -r /usr/share/keyrings/debian-archive-keyring.gpg ] &&
        keyring=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
    mkdir -p "$CACHE_DIR/debs"
    WORK_DIR="$(mktemp -d /var/tmp/envtest-mysql-offline.XXXXXX)"
    local root="$WORK_DIR/root"

    t="$(ci_now)"
    ci_log "debootstrap --variant=minbase --include=$PACKAGES $SUITE from $mirror"
    # Two stages, so that dpkg in the second runs with force-unsafe-io (no fsync per file: about
    # twice as fast, and a half-written root file system is thrown away anyway).
    if ! debootstrap --foreign --variant=minbase --include="$PACKAGES" "${keyring[@]}" \
        --cache-dir="$CACHE_DIR/debs" "$SUITE" "$root" "$mirror" >"$WORK_DIR/debootstrap.log" 2>&1; then
        tail -n 30 "$WORK_DIR/debootstrap.log" >&2
        ci_die "debootstrap (first stage) failed (log above); is $mirror reachable? (set ENVTEST_DEBIAN_MIRROR)"
    fi
    ci_log "  debootstrap, first stage (download + extract): $(ci_elapsed "$t") s"
    t="$(ci_now)"
    mkdir -p "$root/etc/dpkg/dpkg.cfg.d"
    echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/envtest-unsafe-io"
    if ! chroot "$root" /debootstrap/debootstrap --second-stage >>"$WORK_DIR/debootstrap.log" 2>&1; then
        tail -n 30 "$WORK_DIR/debootstrap.log" >&2
        [ -r "$root/debootstrap/debootstrap.log" ] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
        ci_die "debootstrap (second stage) failed (log above)"
    fi
    rm -f "$root/etc/dpkg/dpkg.cfg.d/envtest-unsafe-io"
    ci_log "  debootstrap, second stage (dpkg): $(ci_elapsed "$t") s"

    t="$(ci_now)"
    make_datadir_template "$root"
    ci_log "  datadir template (mariadb-install-db + time zones): $(ci_elapsed "$t") s"

    t="$(ci_now)"
    # The datadir is created by the entrypoint on first start; apt's caches, docs and translations
    # are not needed in a test database.
    rm -rf "${root:?}"/var/lib/mysql/* "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* \
        "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
        "$root"/usr/share/locale/* "$root"/usr/share/lintian "$root"/var/cache/debconf/*-old \
        "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/debootstrap
    local d
    for d in "$root"/usr/share/mysql/*/; do # error messages: English only
        [ -e "$d/errmsg.sys" ] && [ "$(basename "$d")" != english ] && rm -rf "$d"
    done
    : >"$root/etc/hostname"
    rm -f "$root/etc/resolv.conf"
    mkdir -p "$root/docker-entrypoint-initdb.d" "$root/run/mysqld" "$root/var/lib/mysql"
    chroot "$root" chown mysql:mysql /run/mysqld /var/lib/mysql
    chmod 1777 "$root/run/mysqld"
    tar --numeric-owner -C "$root" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
        --exclude='./tmp/*' -cf "$out.partial" .
    mv "$out.partial" "$out"
    ci_log "  trim + tar: $(ci_elapsed "$t") s ($(du -h "$out" | cut -f1))"
    remove_tree "$WORK_DIR"
    WORK_DIR=
}

# The image's configuration, as `changes` of the import endpoint (one query parameter each).
import_changes() {
    local recipe="$1"
    printf '%s\n' \
        'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        'ENV LANG=C.UTF-8' \
        'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
        'CMD ["mariadbd"]' \
        'EXPOSE 3306' \
        'WORKDIR /' \
        'HEALTHCHECK --interval=2s --timeout=5s --start-period=120s --retries=3 CMD ["/usr/local/bin/healthcheck.sh"]' \
        "LABEL io.envtest.recipe=$recipe org.opencontainers.image.title=envtest-mysql-offline org.opencontainers.image.description=\"MariaDB 10.11 from Debian $SUITE with the mysql image's entrypoint contract\""
}

# Adds the entrypoint, healthcheck and config to a copy of the cached tarball and imports it.
import_image() {
    local base="$1" recipe="$2" t query change stage out old_id
    t="$(ci_now)"
    WORK_DIR="$(mktemp -d /var/tmp/envtest-mysql-offline.XXXXXX)"
    stage="$WORK_DIR/stage"
    install -D -m 0755 "$here/entrypoint.sh" "$stage/usr/local/bin/docker-entrypoint.sh"
    install -D -m 0755 "$here/healthcheck.sh" "$stage/usr/local/bin/healthcheck.sh"
    install -D -m 0644 "$here/envtest.cnf" "$stage/etc/mysql/mariadb.conf.d/99-envtest.cnf"
    cp "$base" "$WORK_DIR/image.tar"
    tar --owner=0 --group=0 --numeric-owner -C "$stage" -rf "$WORK_DIR/image.tar" \
        ./usr/local/bin/docker-entrypoint.sh ./usr/local/bin/healthcheck.sh \
        ./etc/mysql/mariadb.conf.d/99-envtest.cnf

    query="fromSrc=-&repo=$(urlencode "$REPO")&tag=$TAG"
    while IFS= read -r change; do
        query+="&changes=$(urlencode "$change")"
    done < <(import_changes "$recipe")
    old_id="$(docker_api GET "/images/$REPO:$TAG/json" 2>/dev/null | grep -o '"Id":"sha256:[0-9a-f]*"' |
        head -n1 | cut -d'"' -f4 || true)"
    out="$(docker_api_ok POST "/images/create?$query" -H 'Content-Type: application/x-tar' \
        -T "$WORK_DIR/image.tar")" || ci_die "importing the image into the engine failed"
    if printf '%s' "$out" | grep -q '"error"\|"message"'; then
        ci_die "the engine refused the import: $out"
    fi
    docker_image_exists "$REPO:$TAG" || ci_die "the import said '$out' but $REPO:$TAG does not exist"
    # The image this one replaces is dangling now: remove it unless a container still uses it.
    if [ -n "$old_id" ]; then
        docker_api DELETE "/images/$old_id" >/dev/null 2>&1 || true
    fi
    remove_tree "$WORK_DIR"
    WORK_DIR=
    ci_log "  import: $(ci_elapsed "$t") s"
}

main() {
    local start recipe base key
    start="$(ci_now)"
    docker_ping || ci_die "no Docker engine answers on $ENVTEST_DOCKER_SOCK (run ci/setup.sh)"
    recipe="$(recipe_hash)"
    if [ "$force" = 0 ] && [ "$(image_recipe)" = "$recipe" ]; then
        ci_log "$REPO:$TAG is present and up to date (recipe $recipe)"
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then # debootstrap and chroot need root
        exec sudo -n -E bash "$here/build.sh" "$@"
    fi
    command -v debootstrap >/dev/null || ci_die "debootstrap is missing: apt-get install debootstrap (or run ci/setup.sh)"

    mkdir -p "$CACHE_DIR"
    exec 9>"$CACHE_DIR/mysql-offline.lock"
    flock 9 # one build at a time; a second caller finds the image made by the first
    if [ "$force" = 0 ] && [ "$(image_recipe)" = "$recipe" ]; then
        ci_log "$REPO:$TAG was built meanwhile (recipe $recipe)"
        return 0
    fi

    ci_log "building $REPO:$TAG (recipe $recipe)"
    key="$(printf '%s %s %s' "$SUITE" "$PACKAGES" "$ROOTFS_RECIPE_VERSION" | sha256sum | cut -c1-12)"
    base="$CACHE_DIR/mysql-offline-rootfs-$SUITE-$key.tar"
    if [ "$no_cache" = 1 ] || [ ! -s "$base" ]; then
        build_rootfs "$base"
        # root file systems of older recipes are not used any more
        find "$CACHE_DIR" -maxdepth 1 -name 'mysql-offline-rootfs-*.tar' ! -path "$base" -delete
    else
        ci_log "  root file system from the cache: $base"
    fi
    import_image "$base" "$recipe"
    ci_log "$REPO:$TAG ready in $(ci_elapsed "$start") s"
}

WORK_DIR=
trap 'remove_tree "$WORK_DIR"' EXIT
main "$@"
