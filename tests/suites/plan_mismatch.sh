#!/bin/sh
# Plans 10 tests, runs 7.
echo "1..10"
for i in 1 2 3 4 5 6 7; do echo "ok $i"; done
