#!/bin/sh
# Skips everything.
echo "1..0 # SKIP no GPU on this host"
