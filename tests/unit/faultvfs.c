/* SPDX-License-Identifier: MIT */
#include "faultvfs.h"

#include <stdio.h>
#include <string.h>

struct faultfile {
    sqlite3_file base;
    struct faultvfs *fv;
    sqlite3_file *real; /* follows this struct in the same allocation */
};

static struct faultvfs *vfs_of(sqlite3_vfs *v)
{
    return (struct faultvfs *)v->pAppData;
}

static sqlite3_file *real_of(sqlite3_file *f)
{
    return ((struct faultfile *)f)->real;
}

/* true when this call must fail. */
static bool hit(struct faultvfs *fv, unsigned op)
{
    if (!(fv->ops & op))
        return false;
    fv->count++;
    if (fv->fail_at == 0)
        return false;
    if (fv->count == fv->fail_at || (fv->persistent && fv->count > fv->fail_at)) {
        fv->injected++;
        return true;
    }
    return false;
}

static int f_close(sqlite3_file *f)
{
    sqlite3_file *r = real_of(f);
    return r->pMethods ? r->pMethods->xClose(r) : SQLITE_OK;
}

static int f_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
    return real_of(f)->pMethods->xRead(real_of(f), buf, n, off);
}

static int f_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    struct faultfile *ff = (struct faultfile *)f;
    if (hit(ff->fv, FAULT_WRITE))
        return ff->fv->error;
    return ff->real->pMethods->xWrite(ff->real, buf, n, off);
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return real_of(f)->pMethods->xTruncate(real_of(f), size);
}

static int f_sync(sqlite3_file *f, int flags)
{
    struct faultfile *ff = (struct faultfile *)f;
    if (hit(ff->fv, FAULT_SYNC))
        return ff->fv->error;
    return ff->real->pMethods->xSync(ff->real, flags);
}

static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return real_of(f)->pMethods->xFileSize(real_of(f), size);
}

static int f_lock(sqlite3_file *f, int lock)
{
    return real_of(f)->pMethods->xLock(real_of(f), lock);
}

static int f_unlock(sqlite3_file *f, int lock)
{
    return real_of(f)->pMethods->xUnlock(real_of(f), lock);
}

static int f_check_reserved(sqlite3_file *f, int *out)
{
    return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}

static int f_file_control(sqlite3_file *f, int op, void *arg)
{
    return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}

static int f_sector_size(sqlite3_file *f)
{
    return real_of(f)->pMethods->xSectorSize(real_of(f));
}

static int f_device_characteristics(sqlite3_file *f)
{
    return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}

static int f_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **out)
{
    return real_of(f)->pMethods->xShmMap(real_of(f), region, size, extend, out);
}

static int f_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    return real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags);
}

static void f_shm_barrier(sqlite3_file *f)
{
    real_of(f)->pMethods->xShmBarrier(real_of(f));
}

static int f_shm_unmap(sqlite3_file *f, int delete_flag)
{
    return real_of(f)->pMethods->xShmUnmap(real_of(f), delete_flag);
}

static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int amount, void **pp)
{
    return real_of(f)->pMethods->xFetch(real_of(f), off, amount, pp);
}

static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return real_of(f)->pMethods->xUnfetch(real_of(f), off, p);
}

static const sqlite3_io_methods fault_methods = {
    .iVersion = 3,
    .xClose = f_close,
    .xRead = f_read,
    .xWrite = f_write,
    .xTruncate = f_truncate,
    .xSync = f_sync,
    .xFileSize = f_size,
    .xLock = f_lock,
    .xUnlock = f_unlock,
    .xCheckReservedLock = f_check_reserved,
    .xFileControl = f_file_control,
    .xSectorSize = f_sector_size,
    .xDeviceCharacteristics = f_device_characteristics,
    .xShmMap = f_shm_map,
    .xShmLock = f_shm_lock,
    .xShmBarrier = f_shm_barrier,
    .xShmUnmap = f_shm_unmap,
    .xFetch = f_fetch,
    .xUnfetch = f_unfetch,
};

static int v_open(sqlite3_vfs *v, sqlite3_filename name, sqlite3_file *f, int flags, int *out_flags)
{
    struct faultvfs *fv = vfs_of(v);
    struct faultfile *ff = (struct faultfile *)f;
    memset(ff, 0, sizeof *ff);
    ff->fv = fv;
    ff->real = (sqlite3_file *)(ff + 1);
    int rc = fv->real->xOpen(fv->real, name, ff->real, flags, out_flags);
    ff->base.pMethods = ff->real->pMethods ? &fault_methods : NULL;
    return rc;
}

static int v_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
    return vfs_of(v)->real->xDelete(vfs_of(v)->real, name, sync_dir);
}

static int v_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    return vfs_of(v)->real->xAccess(vfs_of(v)->real, name, flags, out);
}

static int v_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
    return vfs_of(v)->real->xFullPathname(vfs_of(v)->real, name, n, out);
}

static void *v_dl_open(sqlite3_vfs *v, const char *name)
{
    return vfs_of(v)->real->xDlOpen(vfs_of(v)->real, name);
}

static void v_dl_error(sqlite3_vfs *v, int n, char *msg)
{
    vfs_of(v)->real->xDlError(vfs_of(v)->real, n, msg);
}

static void (*v_dl_sym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
    return vfs_of(v)->real->xDlSym(vfs_of(v)->real, h, sym);
}

static void v_dl_close(sqlite3_vfs *v, void *h)
{
    vfs_of(v)->real->xDlClose(vfs_of(v)->real, h);
}

static int v_randomness(sqlite3_vfs *v, int n, char *out)
{
    return vfs_of(v)->real->xRandomness(vfs_of(v)->real, n, out);
}

static int v_sleep(sqlite3_vfs *v, int us)
{
    return vfs_of(v)->real->xSleep(vfs_of(v)->real, us);
}

static int v_current_time(sqlite3_vfs *v, double *out)
{
    return vfs_of(v)->real->xCurrentTime(vfs_of(v)->real, out);
}

static int v_get_last_error(sqlite3_vfs *v, int n, char *msg)
{
    return vfs_of(v)->real->xGetLastError(vfs_of(v)->real, n, msg);
}

static int v_current_time_int64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    return vfs_of(v)->real->xCurrentTimeInt64(vfs_of(v)->real, out);
}

int faultvfs_register(struct faultvfs *fv, const char *name)
{
    sqlite3_vfs *real = sqlite3_vfs_find(NULL);
    if (!real)
        return SQLITE_ERROR;
    memset(fv, 0, sizeof *fv);
    fv->real = real;
    snprintf(fv->name, sizeof fv->name, "%s", name);
    fv->base.iVersion = 2;
    fv->base.szOsFile = (int)sizeof(struct faultfile) + real->szOsFile;
    fv->base.mxPathname = real->mxPathname;
    fv->base.zName = fv->name;
    fv->base.pAppData = fv;
    fv->base.xOpen = v_open;
    fv->base.xDelete = v_delete;
    fv->base.xAccess = v_access;
    fv->base.xFullPathname = v_full_pathname;
    fv->base.xDlOpen = v_dl_open;
    fv->base.xDlError = v_dl_error;
    fv->base.xDlSym = v_dl_sym;
    fv->base.xDlClose = v_dl_close;
    fv->base.xRandomness = v_randomness;
    fv->base.xSleep = v_sleep;
    fv->base.xCurrentTime = v_current_time;
    fv->base.xGetLastError = v_get_last_error;
    fv->base.xCurrentTimeInt64 = v_current_time_int64;
    return sqlite3_vfs_register(&fv->base, 0);
}

void faultvfs_unregister(struct faultvfs *fv)
{
    sqlite3_vfs_unregister(&fv->base);
}

void faultvfs_arm(struct faultvfs *fv, unsigned ops, int fail_at, bool persistent, int error)
{
    fv->ops = ops;
    fv->count = 0;
    fv->fail_at = fail_at;
    fv->persistent = persistent;
    fv->error = error;
    fv->injected = 0;
}

void faultvfs_disarm(struct faultvfs *fv)
{
    fv->fail_at = 0;
    fv->persistent = false;
}
