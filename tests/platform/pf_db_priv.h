/* SPDX-License-Identifier: MIT */
/* Internals shared by pf_db.c (schema, uploads) and pf_query.c (reads). */
#ifndef PF_DB_PRIV_H
#define PF_DB_PRIV_H

#include <pthread.h>
#include <sqlite3.h>

#include "pf.h"

struct pf_db {
    pthread_mutex_t mu; /* serialises every use of h */
    sqlite3 *h;
    char path[512];
};

/* Report a storage failure on stderr (what, the SQLite message); PF_ERR. */
int pf_db_fail(pf_db *db, const char *what);
/* Prepare or report; NULL on failure. */
sqlite3_stmt *pf_db_prepare(pf_db *db, const char *sql);
/* Run one statement without results; 0 or PF_ERR. */
int pf_db_exec(pf_db *db, const char *sql);

#endif
