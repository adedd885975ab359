/* SPDX-License-Identifier: MIT */
/*
 * A fault-injecting SQLite VFS for tests, in the manner of SQLite's own I/O
 * error tests: it wraps the default VFS, counts xWrite and xSync calls on
 * every file (database, WAL, journal) and fails the Nth one.
 */
#ifndef FAULTVFS_H
#define FAULTVFS_H

#include <sqlite3.h>
#include <stdbool.h>

enum { FAULT_WRITE = 1, FAULT_SYNC = 2 };

struct faultvfs {
    sqlite3_vfs base; /* registered under name */
    sqlite3_vfs *real;
    char name[32];
    unsigned ops;    /* which calls count: FAULT_WRITE | FAULT_SYNC */
    int count;       /* counted calls since faultvfs_arm() */
    int fail_at;     /* 1-based call to fail; 0 = none */
    bool persistent; /* keep failing every counted call after fail_at (a full disk) */
    int error;       /* what the failed call returns: SQLITE_IOERR_WRITE, SQLITE_FULL, ... */
    int injected;    /* calls failed so far */
};

/* Register fv (which must outlive its use) as a non-default VFS named name. */
int faultvfs_register(struct faultvfs *fv, const char *name);
void faultvfs_unregister(struct faultvfs *fv);
/* Start counting the given calls afresh; fail call number fail_at (0 = just count). */
void faultvfs_arm(struct faultvfs *fv, unsigned ops, int fail_at, bool persistent, int error);
void faultvfs_disarm(struct faultvfs *fv);

#endif
