#!/bin/sh
# docker test: mock-llm's FROM scratch image builds from the context CMake prepares, is small,
# becomes healthy through its own --healthcheck, answers, and stops quickly on SIGTERM.
# usage: test_mock_llm_image.sh CONTEXT_DIR      (needs the docker CLI and engine)
set -eu
context=$1
name=envtest-test-mockllm-$$
image=envtest-test-mockllm:$$
fail() { echo "not ok - $*"; docker logs "$name" 2>&1 | tail -5 | sed 's/^/# /'; exit 1; }
cleanup() {
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker rmi -f "$image" >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM
command -v docker >/dev/null || { echo "docker CLI not found: skipped"; exit 77; }
docker info >/dev/null 2>&1 || { echo "no Docker engine: skipped"; exit 77; }

[ -f "$context/Dockerfile" ] && [ -x "$context/mock-llm" ] || fail "no Dockerfile/mock-llm in $context"
docker build -q -t "$image" --label envtest.test=mock-llm "$context" >/dev/null || fail "docker build"
size=$(docker image inspect -f '{{.Size}}' "$image")
echo "# image size: $size bytes"
[ "$size" -lt 5000000 ] || fail "image is $size bytes (limit 5 MB)"
docker run -d --name "$name" --label envtest.test=mock-llm -p 127.0.0.1::8080 "$image" >/dev/null \
  || fail "docker run"
i=0
status=starting
while [ $i -lt 60 ]; do
  status=$(docker inspect -f '{{.State.Health.Status}}' "$name")
  [ "$status" = healthy ] && break
  sleep 0.5
  i=$((i + 1))
done
[ "$status" = healthy ] || fail "health status $status"
echo "ok - healthy via /mock-llm --healthcheck"
port=$(docker port "$name" 8080 | head -1 | sed 's/.*://')
body=$(curl -s "http://127.0.0.1:$port/v1/chat/completions" \
  -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}')
echo "$body" | grep -q '"object":"chat.completion"' || fail "chat answer: $body"
echo "ok - answers chat completions"
docker stop -t 5 "$name" >/dev/null
code=$(docker inspect -f '{{.State.ExitCode}}' "$name")
[ "$code" = 0 ] || fail "exit code $code after SIGTERM (10 s would mean SIGKILL)"
echo "ok - exits 0 on SIGTERM"
docker logs "$name" 2>/dev/null | grep -q '"POST /v1/chat/completions" 200' || fail "no request log line"
echo "ok - one log line per request"
