#!/bin/sh
# unit test: the statically linked mocks carry no glibc NSS: glibc's static getpwuid_r (reached
# through libuv) made the link warn and would need glibc's shared libraries at run time;
# compose/mock-common/mock_static_nss.c replaces it. Skips (77) for dynamically linked mocks.
n=0 failed=0
for b in "$@"; do
    if readelf -d "$b" 2>/dev/null | grep -q NEEDED; then
        echo "1..0 # SKIP $b is linked dynamically"
        exit 77
    fi
    n=$((n + 1))
    if nm "$b" | grep -q __nss_passwd_lookup2; then
        echo "not ok $n - $b links glibc's NSS passwd lookup"
        failed=$((failed + 1))
    else
        echo "ok $n - $b has no NSS passwd lookup"
    fi
    n=$((n + 1))
    if nm "$b" | grep -q ' T getpwuid_r$'; then
        echo "ok $n - $b: getpwuid_r is the stub"
    else
        echo "not ok $n - $b: getpwuid_r is not the stub"
        failed=$((failed + 1))
    fi
done
echo "1..$n"
[ "$failed" -eq 0 ]
