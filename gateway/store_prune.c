/* SPDX-License-Identifier: MIT */
/*
 * Retention: removing delivered, old records from the front of the chain.
 *
 * Why deleting this way is safe: the records' delete trigger refuses every
 * row at or above the chain base, and the base's update trigger lets it move
 * only forward, never past the chain head, and only onto the hash of the
 * record just before it. So a stray DELETE (or a tool) removes nothing, and
 * the only way to remove records is the one below: move the base onto a
 * record that exists, then delete what lies below it, in one transaction, so
 * a crash or a full disk leaves both or neither. What is removed is always
 * contiguous from the old base, the new base anchors the first record kept
 * (store_verify() starts there), and the newest record is never removed, so
 * the chain head keeps its record and the writer's open-time check holds.
 */
#include "store_sync.h"

#include <stdio.h>
#include <string.h>

#include "store_priv.h"

/* Records per transaction: bounds the WAL a prune writes and how long it holds the lock. */
#define PRUNE_CHUNK 5000

uint64_t store_base_seq(store *s)
{
    if (!s)
        return 0;
    uint64_t base = 0;
    uint8_t anchor[STORE_HASH_LEN];
    return store_chain_base(s, &base, anchor) == STORE_OK ? base : 0;
}

static int query_u64(store *s, const char *sql, uint64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = (uint64_t)sqlite3_column_int64(st, 0);
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? STORE_OK : store_fail_sqlite(s, rc, "prune");
}

/* The highest seq that may go: delivered everywhere (as the caller says) and to at least
 * one upstream (as the cursors say), and never the newest record. */
static int prune_limit(store *s, uint64_t delivered_everywhere, uint64_t *limit)
{
    uint64_t head = 0, delivered_somewhere = 0;
    int rc = store_chain_head_seq(s, &head);
    if (rc == STORE_OK)
        rc = query_u64(s, "SELECT coalesce(max(seq), 0) FROM upstream_cursors",
                       &delivered_somewhere);
    if (rc != STORE_OK)
        return rc;
    uint64_t l = delivered_everywhere;
    if (delivered_somewhere < l)
        l = delivered_somewhere;
    if (head == 0)
        l = 0;
    else if (head - 1 < l)
        l = head - 1;
    *limit = l;
    return STORE_OK;
}

/* Walk records base..last (at most): contiguous, older than older_than_ms, and each one's
 * hash following from the one before. *upto is the last record that may go (base - 1:
 * none), anchor its hash; *recent is true when a record too recent stopped the walk. */
static int prunable(store *s, uint64_t base, uint64_t last, int64_t older_than_ms,
                    uint8_t anchor[STORE_HASH_LEN], uint64_t *upto, bool *recent)
{
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(s->db,
                                 "SELECT seq, time_ms, payload, hash FROM records "
                                 "WHERE seq >= ?1 AND seq <= ?2 ORDER BY seq",
                                 -1, &st, NULL);
    if (src != SQLITE_OK)
        return store_fail_sqlite(s, src, "prune");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)base);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)last);
    uint64_t expect = base;
    int rc = STORE_OK;
    *recent = false;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        if (seq != expect)
            break; /* a hole: reported below */
        if (sqlite3_column_int64(st, 1) >= older_than_ms) {
            *recent = true;
            break;
        }
        const uint8_t *payload = sqlite3_column_blob(st, 2);
        size_t len = (size_t)sqlite3_column_bytes(st, 2);
        const void *stored = sqlite3_column_blob(st, 3);
        uint8_t hash[STORE_HASH_LEN];
        rc = store_chain_hash(s, anchor, payload, len, hash);
        if (rc != STORE_OK)
            break;
        if (!stored || sqlite3_column_bytes(st, 3) != STORE_HASH_LEN ||
            memcmp(hash, stored, STORE_HASH_LEN) != 0) {
            rc = store_fail(s, STORE_ECORRUPT,
                            "%s: prune: record %llu does not follow from the one before it (the "
                            "store was edited); nothing more was pruned: run `rsgw verify`",
                            s->path, (unsigned long long)seq);
            break;
        }
        memcpy(anchor, hash, STORE_HASH_LEN);
        expect++;
    }
    if (rc == STORE_OK && src != SQLITE_ROW && src != SQLITE_DONE)
        rc = store_fail_sqlite(s, src, "prune");
    sqlite3_finalize(st);
    if (rc == STORE_OK && !*recent && expect <= last)
        rc = store_fail(s, STORE_ECORRUPT,
                        "%s: prune: record %llu is missing (the store was edited); nothing more "
                        "was pruned: run `rsgw verify`",
                        s->path, (unsigned long long)expect);
    *upto = expect - 1;
    return rc;
}

static int move_base(store *s, uint64_t old_base, uint64_t new_base,
                     const uint8_t anchor[STORE_HASH_LEN])
{
    sqlite3_stmt *st = NULL;
    /* The base first: the delete trigger lets only records below it go. */
    int src = sqlite3_prepare_v2(
        s->db, "UPDATE chain_base SET seq = ?1, prev_hash = ?2 WHERE id = 1", -1, &st, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)new_base);
        sqlite3_bind_blob(st, 2, anchor, STORE_HASH_LEN, SQLITE_STATIC);
        src = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (src != SQLITE_DONE)
        return store_fail_sqlite(s, src, "prune: move the chain base");
    src = sqlite3_prepare_v2(s->db, "DELETE FROM records WHERE seq >= ?1 AND seq < ?2", -1, &st,
                             NULL);
    int deleted = 0;
    if (src == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)old_base);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)new_base);
        src = sqlite3_step(st);
        deleted = sqlite3_changes(s->db);
    }
    sqlite3_finalize(st);
    if (src != SQLITE_DONE)
        return store_fail_sqlite(s, src, "prune: delete records");
    if ((uint64_t)deleted != new_base - old_base)
        return store_fail(s, STORE_ECORRUPT, "%s: prune: deleted %d records, expected %llu",
                          s->path, deleted, (unsigned long long)(new_base - old_base));
    return STORE_OK;
}

/* One transaction: at most PRUNE_CHUNK records. *more: another chunk may follow. */
static int prune_chunk(store *s, int64_t older_than_ms, uint64_t delivered_everywhere,
                       uint64_t *pruned, bool *more)
{
    *more = false;
    int rc = store_write_begin(s, "prune");
    if (rc != STORE_OK)
        return rc;
    uint64_t base = 1, limit = 0, upto = 0;
    uint8_t anchor[STORE_HASH_LEN];
    bool recent = false;
    rc = store_chain_base(s, &base, anchor);
    if (rc == STORE_OK)
        rc = prune_limit(s, delivered_everywhere, &limit);
    if (rc != STORE_OK || limit < base)
        return store_write_abort(s, rc);
    uint64_t last = limit - base >= PRUNE_CHUNK ? base + PRUNE_CHUNK - 1 : limit;
    rc = prunable(s, base, last, older_than_ms, anchor, &upto, &recent);
    if (rc != STORE_OK || upto < base)
        return store_write_abort(s, rc);
    rc = move_base(s, base, upto + 1, anchor);
    if (rc != STORE_OK)
        return store_write_abort(s, rc);
    rc = store_write_commit(s, "prune");
    if (rc != STORE_OK)
        return rc;
    *pruned += upto - base + 1;
    *more = !recent && upto < limit;
    return STORE_OK;
}

/* Remote findings older than the retention horizon go too (no window reaches them). */
static int prune_remote(store *s, int64_t older_than_ms)
{
    int rc = store_write_begin(s, "prune remote findings");
    if (rc != STORE_OK)
        return rc;
    sqlite3_stmt *st = NULL;
    int src =
        sqlite3_prepare_v2(s->db, "DELETE FROM remote_findings WHERE time_ms < ?1", -1, &st, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, older_than_ms);
        src = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (src != SQLITE_DONE)
        return store_write_abort(s, store_fail_sqlite(s, src, "prune remote findings"));
    return store_write_commit(s, "prune remote findings");
}

int store_prune(store *s, int64_t older_than_ms, uint64_t delivered_everywhere, uint64_t *pruned)
{
    if (!s || !pruned)
        return STORE_EINVAL;
    *pruned = 0;
    bool more = true;
    int rc = STORE_OK;
    while (rc == STORE_OK && more)
        rc = prune_chunk(s, older_than_ms, delivered_everywhere, pruned, &more);
    if (rc == STORE_OK)
        rc = prune_remote(s, older_than_ms);
    return rc;
}
