/* Linked into the statically linked mocks only (mocks.cmake): libuv's uv_os_get_passwd() calls
 * getpwuid_r, and glibc's static getpwuid_r brings the NSS machinery, which needs the shared
 * libraries of the very glibc it was linked with at run time (the linker warns "Using 'getpwuid_r'
 * in statically linked applications requires at runtime the shared libraries..."). The mocks run
 * FROM scratch, with no /etc/passwd and no NSS modules, and never look a user up: this definition
 * answers "no such user" and keeps NSS out of the binaries. */
#include <errno.h>
#include <pwd.h>
#include <stddef.h>

int getpwuid_r(uid_t uid, struct passwd *pwd, char *buf, size_t buflen, struct passwd **result)
{
    (void)uid;
    (void)pwd;
    (void)buf;
    (void)buflen;
    *result = NULL;
    return ENOENT;
}
