#!/bin/sh
# Fails one test with YAML diagnostics (message, file, line).
echo "TAP version 13"
echo "1..2"
echo "ok 1 - first"
echo "not ok 2 - rows match"
echo "  ---"
echo "  message: 'expected 3 rows, got 2'"
echo "  severity: fail"
echo "  at:"
echo "    file: suites/db_test.c"
echo "    line: 42"
echo "  ..."
echo "diagnostic on stderr" >&2
