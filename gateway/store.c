/* SPDX-License-Identifier: MIT */
/* Opening and closing a store: the writer lock, connection settings, errors, settings. */
#include "store_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static const char *const stmt_sql[ST_COUNT] = {
    [ST_INSERT_RECORD] =
        "INSERT INTO records(seq, time_ms, kind, plate, checkpoint, device_id, "
        "device_seq, fingerprint, result, exceeded, judged, finding, payload, hash) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    [ST_ADVANCE_CHAIN] = "UPDATE chain SET seq = ?1, hash = ?2 WHERE id = 1",
    [ST_HEAD] = "SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1",
    [ST_CHAIN] = "SELECT seq, hash FROM chain WHERE id = 1",
    /* The literal "judged = 1" / "finding = 1" / "kind = 1" let SQLite use the partial indexes. */
    [ST_HISTORY] = "SELECT seq, time_ms, exceeded, checkpoint FROM records "
                   "WHERE plate = ?1 AND judged = 1 AND time_ms >= ?2 "
                   "ORDER BY time_ms DESC, seq DESC LIMIT ?3",
    [ST_FINDINGS] =
        "SELECT count(*) FROM records WHERE plate = ?1 AND finding = 1 AND time_ms >= ?2",
    [ST_DEVICE_CURSOR] = "SELECT device_seq, fingerprint FROM records "
                         "WHERE device_id = ?1 AND kind = 1 ORDER BY seq DESC LIMIT 1",
    [ST_SETTING_GET] = "SELECT value FROM settings WHERE key = ?1",
    [ST_SETTING_SET] = "INSERT INTO settings(key, value) VALUES (?1, ?2) "
                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [ST_VEHICLE_GET] = "SELECT plate, fuel, stage, gross_weight_kg, class, vin, exemption, "
                       "updated_ms, source FROM vehicles WHERE plate = ?1",
    [ST_VEHICLE_PUT] =
        "INSERT INTO vehicles(plate, fuel, stage, gross_weight_kg, class, vin, exemption, "
        "updated_ms, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
        "ON CONFLICT(plate) DO UPDATE SET fuel = excluded.fuel, stage = excluded.stage, "
        "gross_weight_kg = excluded.gross_weight_kg, class = excluded.class, vin = excluded.vin, "
        "exemption = excluded.exemption, updated_ms = excluded.updated_ms, source = excluded.source",
    [ST_VEHICLE_DELETE] = "DELETE FROM vehicles WHERE plate = ?1",
    /* A local finding at the same plate and millisecond is the same pass come back from the
     * platform (this gateway's own findings): it counts once. */
    [ST_REMOTE_HISTORY] =
        "SELECT seq, time_ms, exceeded, checkpoint FROM remote_findings AS f "
        "WHERE plate = ?1 AND time_ms >= ?2 AND NOT EXISTS (SELECT 1 FROM records AS r "
        "WHERE r.plate = f.plate AND r.finding = 1 AND r.time_ms = f.time_ms) "
        "ORDER BY time_ms DESC, rowid DESC LIMIT ?3",
    [ST_REMOTE_FINDINGS] =
        "SELECT count(*) FROM remote_findings AS f WHERE plate = ?1 AND time_ms >= ?2 AND NOT "
        "EXISTS (SELECT 1 FROM records AS r WHERE r.plate = f.plate AND r.finding = 1 AND "
        "r.time_ms = f.time_ms)",
    [ST_BASE] = "SELECT seq, prev_hash FROM chain_base WHERE id = 1",
    [ST_PLATFORM_EXEMPTION] =
        "SELECT exemption, valid_until_ms FROM platform_exemptions WHERE plate = ?1",
    [ST_UPSTREAM_CURSOR] = "SELECT seq FROM upstream_cursors WHERE upstream = ?1",
};

int store_fail(store *s, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    return rc;
}

/*
 * SQLite's unix VFS turns ENOSPC from write() into SQLITE_FULL, but ENOSPC
 * from fsync() or from growing the -shm file arrives as SQLITE_IOERR_*, and
 * sqlite3_system_errno() does not report the errno on those paths (3.40). So
 * an I/O error on a file system with (almost) no space left counts as full.
 */
#define FULL_BELOW_BYTES (1024 * 1024)

static bool file_system_full(sqlite3 *db)
{
    const char *file = db ? sqlite3_db_filename(db, "main") : NULL;
    if (!file || !*file)
        return false;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", file);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    struct statvfs fs;
    if (statvfs(dir, &fs) != 0)
        return false;
    unsigned long long blocks = geteuid() == 0 ? fs.f_bfree : fs.f_bavail;
    return blocks * fs.f_frsize < FULL_BELOW_BYTES;
}

int store_map_sqlite(sqlite3 *db, int rc)
{
    int sys = db ? sqlite3_system_errno(db) : 0;
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return STORE_OK;
    case SQLITE_FULL:
        return STORE_EFULL;
    case SQLITE_IOERR:
        if (sys == ENOSPC || sys == EDQUOT || file_system_full(db))
            return STORE_EFULL;
        return STORE_ERR;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return STORE_ECORRUPT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return STORE_EBUSY;
    default:
        return STORE_ERR;
    }
}

int store_fail_sqlite(store *s, int rc, const char *what)
{
    int code = store_map_sqlite(s->db, rc);
    int sys = s->db ? sqlite3_system_errno(s->db) : 0;
    const char *detail = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    char errno_text[96] = "";
    if (sys != 0 && ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_FULL ||
                     (rc & 0xff) == SQLITE_CANTOPEN))
        snprintf(errno_text, sizeof errno_text, ", %s", strerror(sys));
    const char *hint = "";
    if (code == STORE_EFULL)
        hint = ": disk full; nothing of this change was stored, earlier records are intact";
    else if (code == STORE_ECORRUPT)
        hint = ": the database file is damaged; keep it for inspection and restore from a backup";
    else if (code == STORE_EBUSY)
        hint = ": another process held the database longer than the busy timeout";
    return store_fail(s, code, "%s: %s: %s (sqlite error %d%s)%s", s->path, what, detail, rc,
                      errno_text, hint);
}

sqlite3_stmt *store_stmt(store *s, enum store_stmt_id id)
{
    sqlite3_stmt *st = s->stmt[id];
    if (!st) {
        int rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &s->stmt[id], NULL);
        if (rc != SQLITE_OK) {
            store_fail_sqlite(s, rc, "prepare");
            return NULL;
        }
        return s->stmt[id];
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

int store_require_write(store *s, const char *what)
{
    if (s->mode == STORE_READ)
        return store_fail(s, STORE_EINVAL, "%s: %s: the store was opened read-only", s->path, what);
    return STORE_OK;
}

static int exec(store *s, const char *sql, const char *what)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? STORE_OK : store_fail_sqlite(s, rc, what);
}

void store_abandon(store *s)
{
    char why[sizeof s->err];
    memcpy(why, s->err, sizeof why);
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->in_txn = false;
    store_load_head(s); /* on failure next_seq is 0 and the next append retries */
    memcpy(s->err, why, sizeof why);
}

int store_write_failed(store *s, int rc)
{
    if (s->in_txn && sqlite3_get_autocommit(s->db))
        store_abandon(s); /* SQLite rolled the whole group back itself (I/O error, disk full) */
    return rc;
}

int store_write_begin(store *s, const char *what)
{
    int rc = store_require_write(s, what);
    if (rc != STORE_OK)
        return rc;
    if (s->in_txn)
        return store_fail(s, STORE_EINVAL, "%s: %s: a group commit is open; commit it first",
                          s->path, what);
    int src = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (src != SQLITE_OK)
        return store_fail_sqlite(s, src, what);
    return STORE_OK;
}

int store_write_abort(store *s, int rc)
{
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int store_write_commit(store *s, const char *what)
{
    int src = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (src != SQLITE_OK)
        return store_write_abort(s, store_fail_sqlite(s, src, what));
    return STORE_OK;
}

int store_chain_base(store *s, uint64_t *seq, uint8_t prev_hash[STORE_HASH_LEN])
{
    sqlite3_stmt *st = store_stmt(s, ST_BASE);
    if (!st)
        return STORE_ERR;
    int rc = sqlite3_step(st);
    int ret = STORE_OK;
    if (rc == SQLITE_ROW && sqlite3_column_int64(st, 0) >= 1 &&
        sqlite3_column_bytes(st, 1) == STORE_HASH_LEN && sqlite3_column_blob(st, 1)) {
        *seq = (uint64_t)sqlite3_column_int64(st, 0);
        memcpy(prev_hash, sqlite3_column_blob(st, 1), STORE_HASH_LEN);
    } else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        ret = store_fail(s, STORE_ECORRUPT,
                         "%s: the chain base row is missing or damaged (the store was edited); "
                         "run `rsgw verify`",
                         s->path);
    } else {
        ret = store_fail_sqlite(s, rc, "read the chain base");
    }
    sqlite3_reset(st);
    return ret;
}

int store_chain_head_seq(store *s, uint64_t *seq)
{
    sqlite3_stmt *st = store_stmt(s, ST_CHAIN);
    if (!st)
        return STORE_ERR;
    int rc = sqlite3_step(st);
    int ret = STORE_OK;
    if (rc == SQLITE_ROW)
        *seq = (uint64_t)sqlite3_column_int64(st, 0);
    else if (rc == SQLITE_DONE)
        ret = store_fail(s, STORE_ECORRUPT,
                         "%s: the chain head row is missing (the store was edited); run "
                         "`rsgw verify`",
                         s->path);
    else
        ret = store_fail_sqlite(s, rc, "read the chain head");
    sqlite3_reset(st);
    return ret;
}

int store_load_head(store *s)
{
    sqlite3_stmt *st = store_stmt(s, ST_HEAD);
    if (!st)
        return STORE_ERR;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const void *hash = sqlite3_column_blob(st, 1);
        int hash_len = sqlite3_column_bytes(st, 1);
        s->next_seq = (uint64_t)sqlite3_column_int64(st, 0) + 1;
        memset(s->head, 0, sizeof s->head);
        if (hash && hash_len == STORE_HASH_LEN)
            memcpy(s->head, hash, STORE_HASH_LEN);
        rc = SQLITE_DONE;
    } else if (rc == SQLITE_DONE) {
        s->next_seq = 1;
        memset(s->head, 0, sizeof s->head);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        s->next_seq = 0; /* unknown: store_append() reloads before using it */
        return store_fail_sqlite(s, rc, "read the newest record");
    }
    return STORE_OK;
}

/* The chain table must name the newest record: if it is ahead, newest records were removed. */
static int check_chain_head(store *s)
{
    sqlite3_stmt *st = store_stmt(s, ST_CHAIN);
    if (!st)
        return STORE_ERR;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        if (rc == SQLITE_DONE)
            return store_fail(s, STORE_ECORRUPT,
                              "%s: the chain head row is missing (the store was edited); run "
                              "`rsgw verify` before writing to it again",
                              s->path);
        return store_fail_sqlite(s, rc, "read the chain head");
    }
    uint64_t head_seq = (uint64_t)sqlite3_column_int64(st, 0);
    const void *hash = sqlite3_column_blob(st, 1);
    bool same_hash = sqlite3_column_bytes(st, 1) == STORE_HASH_LEN && hash &&
                     memcmp(hash, s->head, STORE_HASH_LEN) == 0;
    sqlite3_reset(st);
    uint64_t last = s->next_seq - 1;
    if (head_seq != last || !same_hash)
        return store_fail(s, STORE_ECORRUPT,
                          "%s: the newest record is %llu but the chain head says %llu%s: records "
                          "were removed or the store was edited; run `rsgw verify` and compare "
                          "with the platform's copy before writing to it again",
                          s->path, (unsigned long long)last, (unsigned long long)head_seq,
                          head_seq == last ? " with another hash" : "");
    return STORE_OK;
}

static int take_writer_lock(store *s)
{
    char lock_path[PATH_MAX + 8];
    int n = snprintf(lock_path, sizeof lock_path, "%s.lock", s->path);
    if (n < 0 || (size_t)n >= sizeof lock_path)
        return store_fail(s, STORE_EINVAL, "%s: path too long", s->path);
    int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return store_fail(s, STORE_ERR, "%s: cannot open the writer lock: %s", lock_path,
                          strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char holder[32] = "";
        ssize_t got = pread(fd, holder, sizeof holder - 1, 0);
        close(fd);
        if (e == EWOULDBLOCK) {
            holder[got > 0 ? got : 0] = '\0';
            holder[strcspn(holder, "\n")] = '\0';
            return store_fail(s, STORE_EBUSY,
                              "%s: another writer is running (%s is locked%s%s); stop it first",
                              s->path, lock_path, holder[0] ? " by pid " : "", holder);
        }
        return store_fail(s, STORE_ERR, "%s: cannot lock: %s", lock_path, strerror(e));
    }
    /* The pid is only a hint for the message above; the flock is the lock. */
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
        /* Not fatal: the lock is held. */
    }
    s->lock_fd = fd;
    return STORE_OK;
}

static int configure(store *s)
{
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
    /* A store file is data, not code: no schema tricks, no functions from triggers. */
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
    return STORE_OK;
}

static int set_journal(store *s)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return store_fail_sqlite(s, rc, "switch to WAL mode");
    }
    const char *mode = (const char *)sqlite3_column_text(st, 0);
    bool wal = mode && strcmp(mode, "wal") == 0;
    char got[16];
    snprintf(got, sizeof got, "%s", mode ? mode : "?");
    sqlite3_finalize(st);
    if (!wal)
        return store_fail(s, STORE_ERR,
                          "%s: cannot use WAL mode (journal mode stays '%s'); is the file on a "
                          "local file system?",
                          s->path, got);
    return exec(s, "PRAGMA synchronous = FULL", "set synchronous=FULL");
}

static int open_db(store *s, const char *vfs)
{
    if (s->mode == STORE_READ) {
        struct stat stbuf;
        if (stat(s->path, &stbuf) != 0)
            return store_fail(s, STORE_ERR, "%s: cannot open the store: %s", s->path,
                              strerror(errno));
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_FULLMUTEX;
    if (s->mode != STORE_READ)
        flags |= SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(s->path, &s->db, flags, vfs);
    if (rc != SQLITE_OK) {
        int code = s->db ? store_fail_sqlite(s, rc, "open")
                         : store_fail(s, STORE_ERR, "%s: open: %s", s->path, sqlite3_errstr(rc));
        return code;
    }
    return configure(s);
}

static int prepare_schema(store *s)
{
    int version = 0;
    int rc = store_schema_probe(s->db, s->path, &version, s->err, sizeof s->err);
    if (rc != STORE_OK)
        return rc;
    int latest = store_schema_latest();
    if (version > latest)
        return store_fail(s, STORE_ERR,
                          "%s: schema version %d is newer than this rsgw knows (%d); upgrade rsgw "
                          "(the store was not changed)",
                          s->path, version, latest);
    if (s->mode == STORE_READ) {
        if (version < latest)
            return store_fail(s, STORE_ERR,
                              "%s: schema version %d is older than this rsgw's (%d); start the "
                              "gateway or an admin command once to migrate it",
                              s->path, version, latest);
        s->schema_version = version;
        return exec(s, "PRAGMA query_only = 1", "set query_only");
    }
    rc = set_journal(s);
    if (rc != STORE_OK)
        return rc;
    if (version < latest) {
        char why[sizeof s->err];
        rc = store_migrate(s->db, latest, why, sizeof why);
        if (rc != STORE_OK)
            return store_fail(s, rc, "%s: %s", s->path, why);
    }
    s->schema_version = latest;
    return STORE_OK;
}

int store_open_vfs(const char *path, enum store_mode mode, const char *vfs, store **out, char *err,
                   size_t errlen)
{
    *out = NULL;
    if (!path || !*path || (mode != STORE_READ && mode != STORE_ADMIN && mode != STORE_WRITER)) {
        snprintf(err, errlen, "store_open: no path or bad mode");
        return STORE_EINVAL;
    }
    store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "%s: out of memory", path);
        return STORE_ERR;
    }
    s->lock_fd = -1;
    s->mode = mode;
    int rc = STORE_OK;
    if (strlen(path) >= sizeof s->path) {
        snprintf(err, errlen, "%s: path too long", path);
        free(s);
        return STORE_EINVAL;
    }
    snprintf(s->path, sizeof s->path, "%s", path);
    s->md = EVP_MD_CTX_new();
    if (!s->md)
        rc = store_fail(s, STORE_ERR, "%s: cannot create a SHA-256 context", path);
    if (rc == STORE_OK && mode == STORE_WRITER)
        rc = take_writer_lock(s);
    if (rc == STORE_OK)
        rc = open_db(s, vfs);
    if (rc == STORE_OK)
        rc = prepare_schema(s);
    if (rc == STORE_OK && mode == STORE_WRITER) {
        rc = store_load_head(s);
        if (rc == STORE_OK)
            rc = check_chain_head(s);
    }
    if (rc != STORE_OK) {
        snprintf(err, errlen, "%s", s->err);
        store_close(s);
        return rc;
    }
    *out = s;
    return STORE_OK;
}

int store_open(const char *path, enum store_mode mode, store **out, char *err, size_t errlen)
{
    return store_open_vfs(path, mode, NULL, out, err, errlen);
}

void store_close(store *s)
{
    if (!s)
        return;
    if (s->db && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->db);
    EVP_MD_CTX_free(s->md);
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* releases the flock */
    free(s);
}

const char *store_errmsg(const store *s)
{
    return s ? s->err : "no store";
}

struct sqlite3 *store_db(store *s)
{
    return s ? s->db : NULL;
}

int store_schema_version(store *s)
{
    return s ? s->schema_version : 0;
}
