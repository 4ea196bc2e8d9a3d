#!/usr/bin/env bash
# Installs everything envtest needs to build and test on a fresh Debian 12 / Ubuntu machine, and
# starts a Docker engine when none answers on the socket. Idempotent: when everything is present it
# only checks (about a second).
#
#   ci/setup.sh              packages + engine
#   ENVTEST_SKIP_DOCKERD=1   do not start an engine
#   ENVTEST_DOCKERD_LOG      dockerd's log file (default /var/log/envtest-dockerd.log)
#   ENVTEST_DOCKERD_ARGS     more dockerd arguments; DOCKER_HOST=unix://PATH: dockerd listens there
#   ENVTEST_SKIP_PODMAN=1    no Podman (setup_podman: the package, its containers.conf, the rootful
#                            service on ENVTEST_PODMAN_SOCK, the MySQL image copied from Docker)
set -euo pipefail
# shellcheck source=ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

export DEBIAN_FRONTEND=noninteractive

# Build and test dependencies (Debian package names). A package that the distribution does not have
# (e.g. libclang-rt-14-dev on Ubuntu 22.04) is reported and skipped when it is marked optional.
required_packages=(
    build-essential cmake pkg-config curl ca-certificates zstd jq
    libarchive-dev libjansson-dev default-libmysqlclient-dev libuv1-dev
    libhttp-parser-dev libyajl-dev libyaml-dev libsqlite3-dev libcmocka-dev nettle-dev
    libcsv-dev libmupdf-dev wrk
    debootstrap clang clang-format
    sqlite3 time
)
# The fixture's PDF documents (cairo, fonts-nanum) and sca-api's PDF text module (MuPDF and the
# libraries its static archive needs).
required_packages+=(
    libcairo2-dev fonts-nanum libmupdf-dev libmujs-dev libgumbo-dev libopenjp2-7-dev libjbig2dec0-dev
    libjpeg-dev libfreetype-dev zlib1g-dev
)
# chromium: the HTML report's browser test (tests/monitor/html_browser_test.sh skips without it).
optional_packages=(busybox-static valgrind libclang-rt-14-dev chromium)

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }

has_candidate() {
    local c
    c="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }')"
    [ -n "$c" ] && [ "$c" != "(none)" ]
}

main() {
    ci_section "setup: packages"
    command -v dpkg-query >/dev/null || ci_die "ci/setup.sh supports Debian and Ubuntu (apt) only"

    local missing=() optional_missing=() p
    for p in "${required_packages[@]}"; do
        installed "$p" || missing+=("$p")
    done
    for p in "${optional_packages[@]}"; do
        installed "$p" || optional_missing+=("$p")
    done
    # libcurl: the GnuTLS flavour (lighter: OpenSSL's is initialised in every curl_global_init),
    # unless a flavour is already installed (they conflict; either works).
    if ! installed libcurl4-gnutls-dev && ! installed libcurl4-openssl-dev; then
        missing+=(libcurl4-gnutls-dev)
    fi
    # The MySQL client: mariadb-client unless a MySQL client is already there (Ubuntu runners ship
    # mysql-client, which conflicts with mariadb-client).
    if ! command -v mariadb >/dev/null && ! command -v mysql >/dev/null; then
        missing+=(mariadb-client)
    fi
    # Docker: Debian's docker.io unless an engine or a docker installation is already there (GitHub's
    # runners have docker-ce, which conflicts with docker.io).
    if ! docker_ping && ! command -v dockerd >/dev/null; then
        missing+=(docker.io)
    fi
    # Node.js for the mock services' tooling: already on these machines; installed only when absent.
    if ! command -v node >/dev/null; then
        missing+=(nodejs)
        command -v npm >/dev/null || missing+=(npm)
    fi

    if [ ${#missing[@]} -eq 0 ] && [ ${#optional_missing[@]} -eq 0 ]; then
        ci_log "all packages present"
    else
        ci_log "installing: ${missing[*]} ${optional_missing[*]}"
        ci_sudo apt-get update -q || ci_log "warning: apt-get update reported errors; trying anyway"
        local available_optional=()
        for p in "${optional_missing[@]}"; do
            if has_candidate "$p"; then
                available_optional+=("$p")
            else
                ci_log "note: optional package $p is not available here; skipped"
            fi
        done
        # On CI machines (CI=true, thrown away afterwards) dpkg skips its fsync per file: faster.
        local dpkg_opts=()
        [ "${CI:-}" = true ] && dpkg_opts=(-o Dpkg::Options::=--force-unsafe-io)
        ci_sudo apt-get install -y -q --no-install-recommends "${dpkg_opts[@]}" \
            "${missing[@]}" "${available_optional[@]}" ||
            ci_die "apt-get install failed for: ${missing[*]} ${available_optional[*]}"
    fi
    ci_section_end

    if [ "${ENVTEST_SKIP_DOCKERD:-}" = 1 ]; then
        ci_log "ENVTEST_SKIP_DOCKERD=1: not starting a Docker engine"
        return 0
    fi
    ci_section "setup: Docker engine"
    start_engine
    ci_section_end

    if [ "${ENVTEST_SKIP_PODMAN:-}" = 1 ]; then
        ci_log "ENVTEST_SKIP_PODMAN=1: no Podman"
    else
        ci_section "setup: Podman"
        setup_podman
        ci_section_end
    fi
}

# Podman's Docker-compatible API for the "docker tests (podman)" step of ci/test.sh: Debian's podman
# package, the containers.conf lines it needs on CI machines, the rootful service on
# $ENVTEST_PODMAN_SOCK (started when it does not answer), and the MySQL image copied from the Docker
# engine into Podman's separate image store when Docker has it (ci/test.sh copies it again after
# building it: podman_copy_image).
setup_podman() {
    if ! command -v podman >/dev/null; then
        ci_log "installing podman"
        ci_sudo apt-get install -y -q --no-install-recommends podman ||
            ci_die "apt-get install podman failed (ENVTEST_SKIP_PODMAN=1 skips Podman)"
    fi
    # runc, not crun: crun refuses hybrid cgroup hierarchies (as on these CI machines); the ulimits
    # keep MariaDB from sizing its tables by an unlimited nofile. Written only when the file does not
    # set them already.
    local conf=/etc/containers/containers.conf
    if ! grep -qs '^[[:space:]]*runtime[[:space:]]*=' "$conf"; then
        ci_log "writing the [containers] ulimits and [engine] runtime = \"runc\" to $conf"
        ci_sudo mkdir -p /etc/containers
        printf '%s\n' '[containers]' 'default_ulimits = ["nofile=10000:10000", "nproc=10000:10000"]' \
            '[engine]' 'runtime = "runc"' | ci_sudo tee -a "$conf" >/dev/null
    fi
    command -v runc >/dev/null || ci_sudo apt-get install -y -q --no-install-recommends runc ||
        ci_die "apt-get install runc failed"
    if podman_ping; then
        ci_log "Podman answers on $ENVTEST_PODMAN_SOCK"
    else
        local logfile="${ENVTEST_PODMAN_LOG:-/var/log/envtest-podman.log}" start
        ci_sudo mkdir -p "$(dirname "$ENVTEST_PODMAN_SOCK")"
        ci_log "starting podman system service on $ENVTEST_PODMAN_SOCK (log: $logfile)"
        ci_sudo sh -c 'log="$1"; shift; exec setsid nohup podman system service --time=0 "$@" >"$log" 2>&1 </dev/null' \
            sh "$logfile" "unix://$ENVTEST_PODMAN_SOCK" </dev/null >/dev/null 2>&1 &
        start="$(ci_now)"
        while ! podman_ping; do
            if [ "$(awk -v s="$start" -v e="$(ci_now)" 'BEGIN { print (e - s > 30) }')" = 1 ]; then
                tail -n 30 "$logfile" >&2 || true
                ci_die "podman system service did not answer on $ENVTEST_PODMAN_SOCK within 30 s (log above)"
            fi
            sleep 0.2
        done
        ci_log "Podman answers after $(ci_elapsed "$start") s"
    fi
    local image="${ENVTEST_MYSQL_IMAGE:-$ENVTEST_MYSQL_OFFLINE_IMAGE}"
    if docker_image_exists "$image"; then
        podman_copy_image "$image" || return 1
    else
        ci_log "$image is not in the Docker engine yet: ci/test.sh copies it into Podman after building it"
    fi
}

# Starts dockerd (overlay2) in the background unless an engine answers on the socket already.
# A socket other than the default (DOCKER_HOST=unix://PATH) is passed to dockerd with -H;
# ENVTEST_DOCKERD_ARGS adds arguments (e.g. --data-root DIR).
start_engine() {
    if docker_ping; then
        ci_log "a Docker engine answers on $ENVTEST_DOCKER_SOCK"
        return 0
    fi
    if [ -S "$ENVTEST_DOCKER_SOCK" ] && ! [ -w "$ENVTEST_DOCKER_SOCK" ]; then
        ci_die "$ENVTEST_DOCKER_SOCK exists but user $(id -un) may not use it: add the user to the docker group (sudo usermod -aG docker $(id -un), then log in again) or run as root"
    fi
    command -v dockerd >/dev/null || ci_die "no engine answers on $ENVTEST_DOCKER_SOCK and dockerd is not installed"

    local logfile="${ENVTEST_DOCKERD_LOG:-/var/log/envtest-dockerd.log}" timeout=60 start pid
    local args=(--storage-driver=overlay2)
    [ "$ENVTEST_DOCKER_SOCK" != /var/run/docker.sock ] && args+=(-H "unix://$ENVTEST_DOCKER_SOCK")
    # shellcheck disable=SC2206 # word splitting wanted
    args+=(${ENVTEST_DOCKERD_ARGS:-})
    ci_log "starting dockerd ${args[*]} (log: $logfile)"
    # setsid + nohup: the engine outlives this script and the CI step that ran it. No file
    # descriptor of ours stays open in the background (a CI runner waits for its pipes to close).
    ci_sudo sh -c 'log="$1"; shift; exec setsid nohup dockerd "$@" >"$log" 2>&1 </dev/null' \
        sh "$logfile" "${args[@]}" </dev/null >/dev/null 2>&1 &
    pid=$!
    start="$(ci_now)"
    while ! docker_ping; do
        if ! kill -0 "$pid" 2>/dev/null && ! { command -v pgrep >/dev/null && pgrep -x dockerd >/dev/null; }; then
            tail -n 30 "$logfile" >&2 || true
            ci_die "dockerd exited before answering on $ENVTEST_DOCKER_SOCK (its log is above, whole: $logfile)"
        fi
        if [ "$(awk -v s="$start" -v e="$(ci_now)" 'BEGIN { print (e - s > '"$timeout"') }')" = 1 ]; then
            tail -n 30 "$logfile" >&2 || true
            ci_die "dockerd did not answer on $ENVTEST_DOCKER_SOCK within $timeout s (log above, whole: $logfile)"
        fi
        sleep 0.2
    done
    # Non-root users reach the socket through the docker group; make the socket usable for them too.
    if [ "$(id -u)" -ne 0 ] && ! [ -w "$ENVTEST_DOCKER_SOCK" ]; then
        ci_sudo chmod 666 "$ENVTEST_DOCKER_SOCK"
    fi
    ci_log "dockerd answers after $(ci_elapsed "$start") s"
}

main "$@"
