#!/usr/bin/env bash
# docker test: remote engines and gc --images, against a SECOND dockerd of the test's own (never the
# main one): its own --data-root/--exec-root/--pidfile, no bridge, listening on a private unix socket
# and on tcp://127.0.0.1:PORT with TLS, certificates made here with openssl. Checks envtest over
# DOCKER_HOST=tcp:// + DOCKER_TLS_VERIFY + DOCKER_CERT_PATH, refusals without the client
# certificate or with another CA, a Docker context (DOCKER_CONTEXT, meta.json, its TLS folder, and
# config.json's currentContext), and `envtest gc --images` (envtest-built images no container uses
# go, tagged or not; one a container uses stays; an image envtest did not build stays).
# TAP; skips (77) without dockerd/openssl or as non-root unless ENVTEST_REQUIRE_DOCKER=1.
set -uo pipefail
src="${ENVTEST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
bin="${ENVTEST_BINARY_DIR:-$src/build}"
# shellcheck source=ci/lib.sh
source "$src/ci/lib.sh"
# shellcheck source=tests/tap_lib.sh
source "$src/tests/tap_lib.sh"
ENVTEST="$bin/cmd/envtest"
command -v dockerd >/dev/null || tap_need "no dockerd"
command -v openssl >/dev/null || tap_need "no openssl"
[ "$(id -u)" = 0 ] || tap_need "a second dockerd needs root"
T="$(mktemp -d /tmp/envtest-remote-XXXXXX)"
PORT=$((23760 + RANDOM % 200))
DPID=""
BRIDGE=""
cleanup() {
    if [ -n "$DPID" ]; then
        kill "$DPID" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
    fi
    umount -R "$T/exec" 2>/dev/null
    [ -n "$BRIDGE" ] && ip link del "$BRIDGE" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
echo "TAP version 13"

# ---- certificates: a CA, the server's (127.0.0.1), the client's; and another CA ---------------
mkdir -p "$T/ca" "$T/server" "$T/client" "$T/other"
q() { openssl "$@" >/dev/null 2>&1; }
q req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=envtest-test-ca -keyout "$T/ca/key.pem" -out "$T/ca/ca.pem"
q req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$T/server/key.pem" -out "$T/server/req.csr"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$T/server/ext"
q x509 -req -in "$T/server/req.csr" -CA "$T/ca/ca.pem" -CAkey "$T/ca/key.pem" -CAcreateserial \
    -days 2 -extfile "$T/server/ext" -out "$T/server/cert.pem"
q req -newkey rsa:2048 -nodes -subj /CN=client -keyout "$T/client/key.pem" -out "$T/client/req.csr"
printf 'extendedKeyUsage=clientAuth\n' >"$T/client/ext"
q x509 -req -in "$T/client/req.csr" -CA "$T/ca/ca.pem" -CAkey "$T/ca/key.pem" -CAcreateserial \
    -days 2 -extfile "$T/client/ext" -out "$T/client/cert.pem"
cp "$T/ca/ca.pem" "$T/client/ca.pem"
q req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca -keyout "$T/other/cakey.pem" -out "$T/other/ca.pem"
cp "$T/client/cert.pem" "$T/client/key.pem" "$T/other/"
check "certificates made" test -s "$T/client/cert.pem"

# ---- the second dockerd ---------------------------------------------------------------------
sock="$T/docker.sock"
# A bridge of its own: a dockerd started with --bridge=none deletes the host's docker0, which the
# shared engine's containers need (seen: every later docker test failed with "could not find bridge
# docker0"). No traffic goes to it: the test starts no container that needs a network.
BRIDGE="envtest-re$$"
BRIDGE="${BRIDGE:0:15}"
ip link add "$BRIDGE" type bridge && ip addr add 10.213.9.1/24 dev "$BRIDGE" && ip link set "$BRIDGE" up ||
    tap_not_ok "a bridge of its own ($BRIDGE)"
dockerd --data-root "$T/data" --exec-root "$T/exec" --pidfile "$T/dockerd.pid" \
    -H "unix://$sock" -H "tcp://127.0.0.1:$PORT" --tlsverify --tlscacert "$T/ca/ca.pem" \
    --tlscert "$T/server/cert.pem" --tlskey "$T/server/key.pem" --bridge="$BRIDGE" --iptables=false \
    --ip-masq=false --storage-driver=vfs >"$T/dockerd.log" 2>&1 &
DPID=$!
for _ in $(seq 600); do
    [ "$(curl -s --max-time 2 --unix-socket "$sock" http://localhost/_ping 2>/dev/null)" = OK ] && break
    sleep 0.1
done
if [ "$(curl -s --unix-socket "$sock" http://localhost/_ping)" != OK ]; then
    sed 's/^/#   /' "$T/dockerd.log" | tail -20
    tap_not_ok "the second dockerd answers"
    tap_done
    exit 1
fi
tap_ok "the second dockerd answers on its own socket"

tls=(env DOCKER_HOST="tcp://127.0.0.1:$PORT" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$T/client")
out=$("${tls[@]}" "$ENVTEST" ls 2>&1)
check_eq "envtest ls over tcp:// with TLS and a client certificate" 0 "$?"
check "envtest version names the TLS engine" \
    grep -q "at tcp://127.0.0.1:$PORT" <<<"$("${tls[@]}" "$ENVTEST" version)"
out=$(env DOCKER_HOST="tcp://127.0.0.1:$PORT" "$ENVTEST" ls 2>&1)
check_eq "without TLS the engine is not reached (3)" 3 "$?"
out=$(env DOCKER_HOST="tcp://127.0.0.1:$PORT" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$T/other" "$ENVTEST" ls 2>&1)
check_eq "with another CA the server is refused (3)" 3 "$?"
mkdir -p "$T/nocert" && cp "$T/client/ca.pem" "$T/nocert/"
out=$(env DOCKER_HOST="tcp://127.0.0.1:$PORT" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$T/nocert" "$ENVTEST" ls 2>&1)
check_eq "without a client certificate: a configuration error naming the file (2)" 2 "$?"
check "the message names cert.pem" grep -q "cert.pem" <<<"$out"

# ---- a Docker context ----------------------------------------------------------------------
cfg="$T/dockercfg"
name=envtest-tls
digest=$(printf '%s' "$name" | sha256sum | cut -d' ' -f1)
mkdir -p "$cfg/contexts/meta/$digest" "$cfg/contexts/tls/$digest/docker"
printf '{"Name":"%s","Metadata":{},"Endpoints":{"docker":{"Host":"tcp://127.0.0.1:%s","SkipTLSVerify":false}}}' \
    "$name" "$PORT" >"$cfg/contexts/meta/$digest/meta.json"
cp "$T/client/ca.pem" "$T/client/cert.pem" "$T/client/key.pem" "$cfg/contexts/tls/$digest/docker/"
out=$(env -u DOCKER_HOST -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH DOCKER_CONFIG="$cfg" \
    DOCKER_CONTEXT="$name" "$ENVTEST" version 2>&1)
check "DOCKER_CONTEXT=$name reaches the TLS engine" grep -q "at tcp://127.0.0.1:$PORT" <<<"$out"
printf '{"currentContext":"%s"}' "$name" >"$cfg/config.json"
out=$(env -u DOCKER_HOST -u DOCKER_CONTEXT DOCKER_CONFIG="$cfg" "$ENVTEST" version 2>&1)
check "config.json's currentContext reaches it too" grep -q "at tcp://127.0.0.1:$PORT" <<<"$out"
out=$(env -u DOCKER_HOST DOCKER_CONFIG="$cfg" DOCKER_CONTEXT=nosuch "$ENVTEST" ls 2>&1)
check_eq "an unknown context is a configuration error (2)" 2 "$?"

# ---- gc --images on this engine -------------------------------------------------------------
api() { curl -sS --unix-socket "$sock" "$@"; }
build() { # build LABELS_JSON TAG FILE-CONTENT -> image id
    local d="$T/ctx-$RANDOM"
    mkdir -p "$d" && printf 'FROM scratch\nCOPY f /f\n' >"$d/Dockerfile" && echo "$3" >"$d/f"
    api -X POST -H 'Content-Type: application/x-tar' --data-binary @<(tar -C "$d" -c Dockerfile f) \
        "http://localhost/v1.41/build?labels=$(urlencode "$1")${2:+&t=$2}" | jq -r 'select(.aux.ID) | .aux.ID' | tail -1
}
built=$(build '{"io.envtest.context-digest":"aaaa"}' envtest/gc-a:aaaa one)
leftover=$(build '{"io.envtest.project":"old"}' "" two)
used=$(build '{"io.envtest.context-digest":"bbbb"}' envtest/gc-b:bbbb three)
foreign=$(build '{}' someone/else:1 four)
created=$(api -X POST -H 'Content-Type: application/json' \
    -d "{\"Image\":\"$used\",\"Cmd\":[\"/f\"],\"HostConfig\":{\"NetworkMode\":\"none\"}}" \
    "http://localhost/v1.41/containers/create?name=user-of-b")
check "a container uses $used" bash -c "jq -e .Id >/dev/null <<<\"\$1\"" _ "$created"
out=$("$ENVTEST" -H "unix://$sock" gc --images 2>&1)
printf '%s\n' "$out" | sed 's/^/# /'
check_eq "gc --images" 0 "$?"
exists() { [ "$(api -o /dev/null -w '%{http_code}' "http://localhost/v1.41/images/$1/json")" = 200 ]; }
absent() { ! exists "$1"; }
check "an envtest image no container uses goes ($built)" absent "$built"
check "an untagged envtest leftover goes ($leftover)" absent "$leftover"
check "an envtest image a container uses stays" exists "$used"
check "an image envtest did not build stays" exists "$foreign"
check "gc says how many went" grep -q "2 unused images removed" <<<"$out"
api -X DELETE "http://localhost/v1.41/containers/user-of-b?force=1" >/dev/null
tap_done
