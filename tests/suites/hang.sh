#!/bin/sh
# Never exits on its own: a child in the same process group, pid written to $ENVTEST_RUN_DIR.
# With IGNORE_TERM=1 it ignores SIGTERM (needs the SIGKILL after the grace period).
[ "$IGNORE_TERM" = 1 ] && trap '' TERM
echo "1..1"
sleep 1000 &
echo $! > "$ENVTEST_RUN_DIR/$ENVTEST_SUITE.child.pid"
echo $$ > "$ENVTEST_RUN_DIR/$ENVTEST_SUITE.pid"
while :; do sleep 1; done
