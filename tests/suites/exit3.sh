#!/bin/sh
# Not TAP: judged by exit code.
echo "running a non-TAP command"
exit 3
