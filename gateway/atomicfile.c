/* SPDX-License-Identifier: MIT */
#include "atomicfile.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

int atomicfile_replace(const char *path, void (*fill)(FILE *f, void *ud), void *ud, char *err,
                       size_t errlen)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    fill(f, ud);
    /* fclose reports write errors (a full disk) that fprintf left in the stream. */
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) < 0) {
        snprintf(err, errlen, "rename %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}
