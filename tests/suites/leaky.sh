#!/bin/sh
# A suite that leaks: prints the variables named in $@ (secrets among them) on stdout and stderr,
# and fails, so that `envtest run` shows its output. For the CI masking test.
echo "1..1"
for v in "$@"; do
  eval "val=\${$v:-}"
  echo "# $v=$val"
  echo "$v=$val" >&2
done
echo "not ok 1 - leaked $*"
exit 1
