/* SPDX-License-Identifier: MIT */
/*
 * The gateway configuration file (INI, docs/configuration.md).
 * Loading collects every problem with its line number instead of stopping at
 * the first, so `rsgw check-config` can list them all.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"
#include "rsu.h"
#include "rsu_profile.h"

#define CONFIG_LANES_MAX     16
#define CONFIG_UPSTREAMS_MAX 8
#define CONFIG_NAME_MAX      64
#define CONFIG_PATH_MAX      256
/* Upstream names go into settings keys and registry sources ("platform:NAME"). */
#define CONFIG_UPSTREAM_NAME_MAX 21

struct config_lane {
    char name[CONFIG_NAME_MAX];
    char device_id[CONFIG_NAME_MAX]; /* identifies the unit in records; default the lane name */
    struct rsu_link_config link;
    int unit_id;
    char profile_path[CONFIG_PATH_MAX];
    struct rsu_profile profile;
    int poll_interval_ms;
    int reconnect_min_ms;
    int reconnect_max_ms;
    int line; /* where the [lane NAME] section starts */
};

/* One platform the gateway delivers records to and pulls from ([upstream NAME]). */
struct config_upstream {
    char name[CONFIG_UPSTREAM_NAME_MAX + 1]; /* letters, digits, '-', '_' */
    char url[CONFIG_PATH_MAX];               /* base: https://host:port[/prefix], no trailing '/' */
    char ca_file[CONFIG_PATH_MAX];           /* "" = the system's CA store */
    char cert_file[CONFIG_PATH_MAX];         /* client certificate (mutual TLS), "" = none */
    char key_file[CONFIG_PATH_MAX];
    char token[512]; /* bearer token, "" = none */
    bool allow_plain_http;
    int batch_max_records;
    int batch_max_bytes;
    int timeout_ms;         /* whole request */
    int connect_timeout_ms; /* TCP + TLS handshake */
    int backoff_min_ms;
    int backoff_max_ms;
    int max_attempts; /* RETRY answers before a record is given up (rejected) */
    bool pull_findings, pull_policy, pull_registry;
    bool pull_policy_set; /* given in the file; otherwise only the first upstream pulls policy */
    int pull_interval_ms;
    int findings_stale_after_ms;
    int line; /* where the [upstream NAME] section starts */
};

struct config {
    char path[CONFIG_PATH_MAX];
    char gateway_id[CONFIG_NAME_MAX];
    char checkpoint[CONFIG_NAME_MAX];
    char state_dir[CONFIG_PATH_MAX];
    char profile_dir[CONFIG_PATH_MAX]; /* where profile names are looked up first */
    int log_priority;                  /* LOG_INFO, LOG_DEBUG, ... */
    int status_interval_ms;
    int retention_days;    /* 0 = keep records forever */
    int prune_interval_ms; /* how often retention runs */
    struct policy_config policy;
    size_t n_lanes;
    struct config_lane lanes[CONFIG_LANES_MAX];
    size_t n_upstreams;
    struct config_upstream upstreams[CONFIG_UPSTREAMS_MAX];
};

#define CONFIG_DIAG_MAX 32

struct config_diag {
    size_t n;
    size_t dropped;
    char msg[CONFIG_DIAG_MAX][256];
};

/* 0 when the configuration is usable; otherwise -1 and diag holds "FILE:LINE: message" lines. */
int config_load(const char *path, struct config *out, struct config_diag *diag);
int config_parse(const char *text, const char *name_for_errors, struct config *out,
                 struct config_diag *diag);

/* Find a profile: a path (with '/' or ending in .ini; relative to base_path's
 * directory) or a name looked up in profile_dir, then the built-in
 * directory, then /usr/share/rsgw/profiles. 0 found, -1 not (out: first tried). */
int config_resolve_profile(const char *profile_dir, const char *base_path, const char *spec,
                           char *out, size_t len);

/* mkdir -p state_dir (mode 0750). */
int config_make_state_dir(const struct config *cfg, char *err, size_t errlen);

/* Paths derived from state_dir. */
void config_db_path(const struct config *cfg, char *buf, size_t len);
void config_status_path(const struct config *cfg, char *buf, size_t len);
/* state_dir/sync.txt: per-upstream sync state written by the daemon for `rsgw sync`. */
void config_sync_state_path(const struct config *cfg, char *buf, size_t len);

#endif
