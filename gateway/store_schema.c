/* SPDX-License-Identifier: MIT */
/*
 * Schema migrations. PRAGMA user_version is the number of steps applied;
 * steps are only ever appended to this array, never edited once released,
 * and each runs in its own transaction together with its version bump.
 */
#include "store_priv.h"

#include <stdio.h>
#include <string.h>

struct migration {
    const char *what;
    const char *sql;
};

static const struct migration migrations[] = {
    {
        "records, chain head, settings and vehicle registry",
        "CREATE TABLE records ("
        " seq INTEGER PRIMARY KEY,"
        " time_ms INTEGER NOT NULL,"
        " kind INTEGER NOT NULL,"
        " plate TEXT,"
        " checkpoint TEXT,"
        " device_id TEXT,"
        " device_seq INTEGER,"
        " fingerprint BLOB,"
        " result INTEGER,"
        " exceeded INTEGER NOT NULL,"
        " judged INTEGER NOT NULL,"
        " finding INTEGER NOT NULL,"
        " payload BLOB NOT NULL,"
        " hash BLOB NOT NULL CHECK (length(hash) = 32));"
        /* store_records(plate=...) and counting; judged passes and findings for the
         * policy's history; a device's last pass for exactly-once reading. */
        "CREATE INDEX records_by_plate ON records(plate, seq);"
        "CREATE INDEX records_judged_by_plate ON records(plate, time_ms) WHERE judged = 1;"
        "CREATE INDEX records_findings_by_plate ON records(plate, time_ms) WHERE finding = 1;"
        "CREATE INDEX records_passes_by_device ON records(device_id, seq) WHERE kind = 1;"
        /* The newest record as last written: removing records from the end shows. */
        "CREATE TABLE chain ("
        " id INTEGER PRIMARY KEY CHECK (id = 1),"
        " seq INTEGER NOT NULL,"
        " hash BLOB NOT NULL CHECK (length(hash) = 32));"
        "INSERT INTO chain(id, seq, hash) VALUES (1, 0, zeroblob(32));"
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE vehicles ("
        " plate TEXT PRIMARY KEY,"
        " fuel INTEGER NOT NULL DEFAULT 0,"
        " stage INTEGER NOT NULL DEFAULT 0,"
        " gross_weight_kg INTEGER NOT NULL DEFAULT 0,"
        " class INTEGER NOT NULL DEFAULT 0,"
        " vin TEXT,"
        " exemption INTEGER NOT NULL DEFAULT 0,"
        " updated_ms INTEGER NOT NULL DEFAULT 0,"
        " source TEXT);",
    },
    {
        /* Guards against accidents (a stray UPDATE in the sqlite3 shell, a tool
         * doing INSERT OR REPLACE). They stop nobody determined: the hash chain
         * and store_verify() do not rely on them. */
        "append-only guards",
        "CREATE TRIGGER records_append_only_update BEFORE UPDATE ON records BEGIN"
        " SELECT RAISE(ABORT, 'records are append-only: a stored record cannot be changed');"
        " END;"
        "CREATE TRIGGER records_append_only_delete BEFORE DELETE ON records BEGIN"
        " SELECT RAISE(ABORT, 'records are append-only: a stored record cannot be deleted');"
        " END;"
        "CREATE TRIGGER records_append_in_order BEFORE INSERT ON records"
        " WHEN NEW.seq IS NOT (SELECT seq + 1 FROM chain WHERE id = 1) BEGIN"
        " SELECT RAISE(ABORT, 'records are appended in seq order, one after the chain head');"
        " END;"
        "CREATE TRIGGER chain_forward_only BEFORE UPDATE ON chain"
        " WHEN NEW.id IS NOT OLD.id OR NEW.seq IS NOT OLD.seq + 1 BEGIN"
        " SELECT RAISE(ABORT, 'the chain head only moves forward, one record at a time');"
        " END;"
        "CREATE TRIGGER chain_kept BEFORE DELETE ON chain BEGIN"
        " SELECT RAISE(ABORT, 'the chain head cannot be deleted');"
        " END;",
    },
    {
        "platform sync: cursors, rejects, remote findings, exemptions, chain base",
        /* Per upstream: every record up to seq is final there. */
        "CREATE TABLE upstream_cursors ("
        " upstream TEXT PRIMARY KEY,"
        " seq INTEGER NOT NULL CHECK (seq >= 0),"
        " updated_ms INTEGER NOT NULL);"
        /* final = 1: rejected for good (listed, counted); final = 0: asked to be sent
         * again (attempts counts the requests), removed once the cursor passes it. */
        "CREATE TABLE upstream_rejects ("
        " upstream TEXT NOT NULL,"
        " seq INTEGER NOT NULL,"
        " reason TEXT NOT NULL,"
        " time_ms INTEGER NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " final INTEGER NOT NULL DEFAULT 0,"
        " PRIMARY KEY (upstream, seq));"
        "CREATE TABLE remote_findings ("
        " gateway_id TEXT NOT NULL,"
        " seq INTEGER NOT NULL,"
        " plate TEXT NOT NULL,"
        " time_ms INTEGER NOT NULL,"
        " checkpoint TEXT NOT NULL,"
        " exceeded INTEGER NOT NULL,"
        " upstream TEXT NOT NULL,"
        " received_ms INTEGER NOT NULL,"
        " UNIQUE (gateway_id, seq));"
        "CREATE INDEX remote_findings_by_plate ON remote_findings(plate, time_ms);"
        "CREATE TABLE remote_cursors ("
        " upstream TEXT PRIMARY KEY,"
        " cursor TEXT NOT NULL,"
        " updated_ms INTEGER NOT NULL);"
        "CREATE TABLE platform_exemptions ("
        " plate TEXT PRIMARY KEY,"
        " exemption INTEGER NOT NULL,"
        " valid_until_ms INTEGER NOT NULL,"
        " updated_ms INTEGER NOT NULL);"
        /* The lowest record still held and the hash of the one before it (zeros while
         * nothing was pruned): store_verify() starts there. */
        "CREATE TABLE chain_base ("
        " id INTEGER PRIMARY KEY CHECK (id = 1),"
        " seq INTEGER NOT NULL CHECK (seq >= 1),"
        " prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32));"
        "INSERT INTO chain_base(id, seq, prev_hash) VALUES (1, 1, zeroblob(32));"
        /* Deleting is allowed below the chain base only, and the base moves only forward,
         * onto the hash of the record before it and never past the chain head: store_prune()
         * moves it and deletes the records below it in one transaction. A stray DELETE
         * meets records at or above the base and is refused; a missing base row refuses
         * every delete. */
        "DROP TRIGGER records_append_only_delete;"
        "CREATE TRIGGER records_append_only_delete BEFORE DELETE ON records"
        " WHEN OLD.seq >= coalesce((SELECT seq FROM chain_base WHERE id = 1), 0) BEGIN"
        " SELECT RAISE(ABORT, 'records are append-only: a stored record cannot be deleted"
        " (retention removes only records below the chain base)');"
        " END;"
        "CREATE TRIGGER chain_base_forward_only BEFORE UPDATE ON chain_base"
        " WHEN NEW.id IS NOT OLD.id OR NEW.seq <= OLD.seq"
        " OR NEW.seq > (SELECT seq FROM chain WHERE id = 1)"
        " OR NEW.prev_hash IS NOT (SELECT hash FROM records WHERE seq = NEW.seq - 1) BEGIN"
        " SELECT RAISE(ABORT, 'the chain base only moves forward, onto the hash of the record"
        " before it');"
        " END;"
        "CREATE TRIGGER chain_base_kept BEFORE DELETE ON chain_base BEGIN"
        " SELECT RAISE(ABORT, 'the chain base cannot be deleted');"
        " END;",
    },
};

#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

int store_schema_latest(void)
{
    return N_MIGRATIONS;
}

static int query_int(sqlite3 *db, const char *sql, int *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int(st, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

int store_schema_probe(sqlite3 *db, const char *path, int *version, char *err, size_t errlen)
{
    int app_id = 0, tables = 0;
    int rc = query_int(db, "PRAGMA application_id", &app_id);
    if (rc == SQLITE_OK)
        rc = query_int(db, "PRAGMA user_version", version);
    if (rc == SQLITE_OK)
        rc = query_int(db, "SELECT count(*) FROM sqlite_schema", &tables);
    if (rc != SQLITE_OK) {
        int code = store_map_sqlite(db, rc);
        if (code == STORE_ECORRUPT)
            snprintf(err, errlen, "%s: not an rsgw store, or damaged: %s", path,
                     sqlite3_errmsg(db));
        else
            snprintf(err, errlen, "%s: cannot read the schema: %s", path, sqlite3_errmsg(db));
        return code;
    }
    bool empty = *version == 0 && app_id == 0 && tables == 0;
    if (!empty && app_id != STORE_APPLICATION_ID) {
        snprintf(err, errlen,
                 "%s: an SQLite database, but not an rsgw store (application_id 0x%08x); "
                 "refusing to touch it",
                 path, (unsigned)app_id);
        return STORE_ECORRUPT;
    }
    return STORE_OK;
}

static int apply(sqlite3 *db, int version, char *err, size_t errlen)
{
    const struct migration *m = &migrations[version - 1];
    char *msg = NULL;
    char sql[160];
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg);
    int current = 0;
    if (rc == SQLITE_OK)
        rc = query_int(db, "PRAGMA user_version", &current);
    if (rc == SQLITE_OK && current >= version) {
        /* Another process migrated meanwhile. */
        return sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? STORE_OK : STORE_ERR;
    }
    if (rc == SQLITE_OK && current != version - 1) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        snprintf(err, errlen, "schema version changed to %d while migrating to %d", current,
                 version);
        return STORE_ERR;
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, m->sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK && version == 1) {
        snprintf(sql, sizeof sql, "PRAGMA application_id = %d", STORE_APPLICATION_ID);
        rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    }
    if (rc == SQLITE_OK) {
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", version);
        rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        int code = store_map_sqlite(db, rc);
        snprintf(err, errlen, "migration %d (%s) failed: %s", version, m->what,
                 msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        if (!sqlite3_get_autocommit(db))
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return code;
    }
    return STORE_OK;
}

int store_migrate(sqlite3 *db, int target, char *err, size_t errlen)
{
    if (target < 0 || target > N_MIGRATIONS) {
        snprintf(err, errlen, "no schema version %d (latest is %d)", target, N_MIGRATIONS);
        return STORE_EINVAL;
    }
    int current = 0;
    int rc = query_int(db, "PRAGMA user_version", &current);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot read the schema version: %s", sqlite3_errmsg(db));
        return store_map_sqlite(db, rc);
    }
    for (int v = current + 1; v <= target; v++) {
        int code = apply(db, v, err, errlen);
        if (code != STORE_OK)
            return code;
    }
    return STORE_OK;
}
