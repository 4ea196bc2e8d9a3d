# shellcheck shell=bash
# Shared shell functions for the scripts in ci/. Source it; it defines functions and a few variables
# and changes no shell options of the caller.
#   ENVTEST_ROOT         the repository root
#   ENVTEST_DOCKER_SOCK  the Engine's Unix socket (from DOCKER_HOST=unix://..., default /var/run/docker.sock)

ENVTEST_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ENVTEST_ROOT

case "${DOCKER_HOST:-}" in
unix://*) ENVTEST_DOCKER_SOCK="${DOCKER_HOST#unix://}" ;;
"") ENVTEST_DOCKER_SOCK=/var/run/docker.sock ;;
*) ENVTEST_DOCKER_SOCK=/var/run/docker.sock ;; # tcp:// is for envtest itself; the ci scripts use the socket
esac
export ENVTEST_DOCKER_SOCK
# Podman's rootful Docker-compatible service (ci/setup.sh setup_podman; ci/test.sh's Podman step)
ENVTEST_PODMAN_SOCK="${ENVTEST_PODMAN_SOCK:-/run/podman/podman.sock}"
export ENVTEST_PODMAN_SOCK

# The Engine API version the scripts speak: 1.41 is Engine 20.10 (Debian 12) and still accepted by
# current Docker releases.
ENVTEST_DOCKER_API="${ENVTEST_DOCKER_API:-v1.41}"
ENVTEST_MYSQL_OFFLINE_IMAGE="envtest/mysql-offline:10.11"

# ---- messages ------------------------------------------------------------------------------------
ci_log() { printf '%s\n' "$*" >&2; }
ci_die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}
# Seconds since the epoch with milliseconds (for timings).
ci_now() { date +%s.%N; }
# ci_elapsed START -> "12.3"
ci_elapsed() { awk -v s="$1" -v e="$(ci_now)" 'BEGIN { printf "%.1f", e - s }'; }

# Section headers with timings: ci_section "name" ... ci_section_end
ci_section() {
    CI_SECTION_NAME="$1"
    CI_SECTION_START="$(ci_now)"
    printf '\n==== %s (%s UTC)\n' "$1" "$(date -u +%H:%M:%S)" >&2
}
ci_section_end() {
    printf '==== %s: done in %s s\n' "${CI_SECTION_NAME:-section}" "$(ci_elapsed "$CI_SECTION_START")" >&2
}

# Root, or sudo when not root (GitHub's Ubuntu runners run as `runner` with password-less sudo).
ci_sudo() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo -n "$@"
    else
        ci_die "this step needs root: run it as root or with password-less sudo ($*)"
    fi
}

# ---- Docker Engine API over the Unix socket (curl; the docker CLI is not used) --------------------
# docker_api METHOD PATH [curl args...]: prints the body; fails on a transport error only.
# The HTTP status is written to the file named by $DOCKER_API_STATUS_FILE when that is set.
docker_api() {
    local method="$1" path="$2"
    shift 2
    curl -sS --unix-socket "$ENVTEST_DOCKER_SOCK" -X "$method" "$@" \
        "http://localhost/${ENVTEST_DOCKER_API}${path}"
}

# docker_api_ok METHOD PATH [curl args...]: like docker_api, but fails (1) on an HTTP status >= 400 and
# prints the Engine's message on stderr.
docker_api_ok() {
    local method="$1" path="$2" out status
    shift 2
    out="$(curl -sS --unix-socket "$ENVTEST_DOCKER_SOCK" -X "$method" -w '\n%{http_code}' "$@" \
        "http://localhost/${ENVTEST_DOCKER_API}${path}")" || return 1
    status="${out##*$'\n'}"
    out="${out%$'\n'*}"
    if [ "$status" -ge 400 ]; then
        printf 'Docker Engine: %s %s: HTTP %s: %s\n' "$method" "$path" "$status" "$out" >&2
        return 1
    fi
    printf '%s' "$out"
}

# True when an Engine answers on the socket.
docker_ping() {
    [ -S "$ENVTEST_DOCKER_SOCK" ] &&
        [ "$(curl -s --max-time 3 --unix-socket "$ENVTEST_DOCKER_SOCK" http://localhost/_ping 2>/dev/null)" = OK ]
}

# True when Podman's service answers on $ENVTEST_PODMAN_SOCK.
podman_ping() {
    [ -S "$ENVTEST_PODMAN_SOCK" ] &&
        [ "$(curl -s --max-time 3 --unix-socket "$ENVTEST_PODMAN_SOCK" http://localhost/_ping 2>/dev/null)" = OK ]
}

# podman_copy_image NAME: copies an image from the Docker engine into Podman's own image store when
# Podman lacks it (Docker's GET /images/{name}/get piped into Podman's POST /images/load). Podman
# stores it as localhost/NAME and finds it by NAME.
podman_copy_image() {
    local image="$1" code out
    code="$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$ENVTEST_PODMAN_SOCK" \
        "http://localhost/${ENVTEST_DOCKER_API}/images/$image/json")" || return 1
    if [ "$code" = 200 ]; then
        ci_log "Podman has $image"
        return 0
    fi
    ci_log "copying $image from the Docker engine into Podman"
    out="$(set -o pipefail
        curl -sS -f --unix-socket "$ENVTEST_DOCKER_SOCK" \
            "http://localhost/${ENVTEST_DOCKER_API}/images/$(urlencode "$image")/get" |
            curl -sS -f --unix-socket "$ENVTEST_PODMAN_SOCK" -X POST -H "Content-Type: application/x-tar" \
                -T - "http://localhost/${ENVTEST_DOCKER_API}/images/load")" || {
        ci_log "error: could not copy $image from Docker into Podman: $out"
        return 1
    }
    ci_log "Podman: $out"
}

# True when the image exists in the engine.
docker_image_exists() {
    local code
    code="$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$ENVTEST_DOCKER_SOCK" \
        "http://localhost/${ENVTEST_DOCKER_API}/images/$1/json")" || return 1
    [ "$code" = 200 ]
}

# Percent-encodes $1 for a URL query.
urlencode() {
    local s="$1" out="" c i
    local LC_ALL=C
    for ((i = 0; i < ${#s}; i++)); do
        c="${s:i:1}"
        case "$c" in
        [a-zA-Z0-9._~-]) out+="$c" ;;
        *) out+="$(printf '%%%02X' "'$c")" ;;
        esac
    done
    printf '%s' "$out"
}

# ---- build folders -------------------------------------------------------------------------------
# ci_build_dirs: sets JOBS (ENVTEST_JOBS, default nproc) and BUILD_DIR (ENVTEST_BUILD_DIR, default
# build; relative to the repository or absolute) and exports ENVTEST_BUILD_DIR as that absolute
# path: compose/compose.yaml finds the mocks' build contexts through it (it resolves relative paths
# against the compose file's folder).
# shellcheck disable=SC2034 # JOBS and BUILD_DIR are for the scripts that call it
ci_build_dirs() {
    JOBS="${ENVTEST_JOBS:-$(nproc 2>/dev/null || echo 2)}"
    BUILD_DIR="${ENVTEST_BUILD_DIR:-build}"
    case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ENVTEST_ROOT/$BUILD_DIR" ;; esac
    export ENVTEST_BUILD_DIR="$BUILD_DIR"
}

# ---- the MySQL image -----------------------------------------------------------------------------
# Sets and exports ENVTEST_MYSQL_IMAGE: the value already set by the user, else mysql:8.4 when it is
# present in the engine, else envtest/mysql-offline:10.11 (built once when missing). Returns 1 (with
# a message) when no image can be had.
ci_export_mysql_image() {
    if [ -z "${ENVTEST_MYSQL_IMAGE:-}" ]; then
        ENVTEST_MYSQL_IMAGE="$("$ENVTEST_ROOT/ci/mysql-image/ensure.sh")" || {
            ci_log "error: no MySQL image: ci/mysql-image/ensure.sh failed (see above)"
            return 1
        }
    elif [ "$ENVTEST_MYSQL_IMAGE" = "$ENVTEST_MYSQL_OFFLINE_IMAGE" ]; then
        "$ENVTEST_ROOT/ci/mysql-image/build.sh" >&2 || {
            ci_log "error: cannot build $ENVTEST_MYSQL_OFFLINE_IMAGE (see above)"
            return 1
        }
    fi
    export ENVTEST_MYSQL_IMAGE
    ci_log "ENVTEST_MYSQL_IMAGE=$ENVTEST_MYSQL_IMAGE"
}
