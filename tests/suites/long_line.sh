#!/bin/sh
# A 5 MiB line between valid tests.
echo "1..2"
echo "ok 1 - before"
head -c 5242880 /dev/zero | tr '\0' x
echo
echo "ok 2 - after"
