#!/bin/sh
# Passes when the variables named in $@ are set; prints them as diagnostics.
n=0; for v in "$@"; do n=$((n+1)); done
echo "1..$n"
i=0
for v in "$@"; do
  i=$((i+1))
  eval "val=\${$v:-}"
  if [ -n "$val" ]; then echo "ok $i - $v=$val"; else echo "not ok $i - $v is not set"; fi
done
