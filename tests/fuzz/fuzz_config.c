/* SPDX-License-Identifier: MIT */
/*
 * The gateway configuration (gateway/config.h) on arbitrary text. The file
 * name is outside input too (`rsgw check-config PATH`): its length follows
 * the input's size, so names from 9 to 310 bytes are tried. Lanes load their
 * profiles from disk as in the gateway (the shipped profile by default).
 */
#include "config.h"
#include "fuzz.h"

static struct config cfg; /* about 100 KB: not on the stack */
static struct config_diag diag;

static void check_diag(void)
{
    FUZZ_CHECK(diag.n <= CONFIG_DIAG_MAX);
    FUZZ_CHECK(diag.dropped == 0 || diag.n == CONFIG_DIAG_MAX);
    for (size_t i = 0; i < diag.n; i++)
        FUZZ_CHECK(fuzz_terminated(diag.msg[i], sizeof diag.msg[i]) && diag.msg[i][0]);
}

static void check_policy(const struct policy_config *p)
{
    char hex[65];
    policy_config_digest(p, hex);
    FUZZ_CHECK(strlen(hex) == 64 && strspn(hex, "0123456789abcdef") == 64);
    char small[64];
    size_t need = policy_config_format(p, small, sizeof small);
    FUZZ_CHECK(strlen(small) == (need < sizeof small ? need : sizeof small - 1));
    char *full = malloc(need + 1);
    FUZZ_CHECK(full != NULL);
    FUZZ_CHECK(policy_config_format(p, full, need + 1) == need && strlen(full) == need);
    FUZZ_CHECK(strncmp(full, small, strlen(small)) == 0);
    free(full);
    FUZZ_CHECK(p->n_local_prefixes <= POLICY_PREFIXES_MAX);
    FUZZ_CHECK(p->limit_set == 0 || p->limit_set == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char name[320];
    size_t pad = size % 301;
    name[0] = '/';
    memset(name + 1, 'd', pad);
    snprintf(name + 1 + pad, sizeof name - 1 - pad, "/rsgw.ini");

    char *text = fuzz_text(data, size);
    int rc = config_parse(text, name, &cfg, &diag);
    free(text);
    check_diag();
    FUZZ_CHECK(cfg.n_lanes <= CONFIG_LANES_MAX);
    check_policy(&cfg.policy);
    if (rc != 0) {
        FUZZ_CHECK(rc == -1 && (diag.n > 0 || diag.dropped > 0));
        return 0;
    }
    FUZZ_CHECK(diag.n == 0 && diag.dropped == 0);
    FUZZ_CHECK(cfg.gateway_id[0] && fuzz_terminated(cfg.gateway_id, sizeof cfg.gateway_id));
    FUZZ_CHECK(cfg.checkpoint[0] && fuzz_terminated(cfg.checkpoint, sizeof cfg.checkpoint));
    for (size_t i = 0; i < cfg.n_lanes; i++) {
        const struct config_lane *l = &cfg.lanes[i];
        FUZZ_CHECK(l->name[0] && fuzz_terminated(l->name, sizeof l->name));
        FUZZ_CHECK(l->device_id[0] && fuzz_terminated(l->device_id, sizeof l->device_id));
        FUZZ_CHECK(l->profile.mapped != 0); /* a usable configuration has its profiles */
        FUZZ_CHECK(l->reconnect_min_ms <= l->reconnect_max_ms);
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(cfg.lanes[j].device_id, l->device_id) != 0);
    }
    return 0;
}
