#!/bin/sh
# One skipped and one TODO failure: the suite passes.
echo "1..3"
echo "ok 1 - works"
echo "ok 2 - needs network # SKIP offline"
echo "not ok 3 - later # TODO not implemented"
