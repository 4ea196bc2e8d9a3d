#!/bin/sh
# Floods: $1 MiB (default 100) of TAP comment lines between two tests.
echo "1..2"
echo "ok 1 - start"
yes "# flood flood flood flood flood flood flood flood flood flood flood flood flood flood" | head -c "$(( ${1:-100} * 1024 * 1024 ))"
echo
echo "ok 2 - end"
