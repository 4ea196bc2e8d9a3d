#!/bin/sh
# Sleeps $1 seconds (default 1), then passes.
echo "1..1"
sleep "${1:-1}"
echo "ok 1 - slept ${1:-1}"
