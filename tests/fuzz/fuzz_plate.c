/* SPDX-License-Identifier: MIT */
/*
 * Licence plates (gateway/plate.h): what a camera read, and local-prefix
 * settings. Input: plate bytes, then optionally a NUL and a prefix setting.
 */
#include "fuzz.h"
#include "plate.h"

static void check_info(const struct plate_info *p)
{
    FUZZ_CHECK(fuzz_terminated(p->normalised, sizeof p->normalised) && fuzz_utf8(p->normalised));
    FUZZ_CHECK(fuzz_terminated(p->region, sizeof p->region) && fuzz_utf8(p->region));
    FUZZ_CHECK(fuzz_terminated(p->error, sizeof p->error) && fuzz_utf8(p->error));
    FUZZ_CHECK(p->kind >= PLATE_KIND_UNKNOWN && p->kind <= PLATE_KIND_HK_MACAU);
    if (p->valid) {
        FUZZ_CHECK(p->kind != PLATE_KIND_UNKNOWN && p->region[0] && !p->error[0]);
        FUZZ_CHECK(strncmp(p->normalised, p->region, strlen(p->region)) == 0);
        FUZZ_CHECK(!p->new_energy_large || p->kind == PLATE_KIND_NEW_ENERGY);
    } else {
        FUZZ_CHECK(p->kind == PLATE_KIND_UNKNOWN && !p->region[0] && p->error[0]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *plate = fuzz_text(data, size);
    size_t used = strlen(plate) + 1;
    char *setting = fuzz_text(data + (used < size ? used : size), used < size ? size - used : 0);

    struct plate_info p;
    memset(&p, 0xA5, sizeof p);
    plate_parse(plate, &p);
    check_info(&p);
    FUZZ_CHECK(!plate_is_local(&p, NULL, 0));

    if (p.valid) {
        /* Normalising is idempotent, and a plate is local to its own region. */
        struct plate_info again;
        plate_parse(p.normalised, &again);
        FUZZ_CHECK(again.valid && again.kind == p.kind &&
                   strcmp(again.normalised, p.normalised) == 0);
        FUZZ_CHECK(strcmp(again.region, p.region) == 0);
        char own[16], err[128];
        FUZZ_CHECK(plate_parse_prefix(p.region, own, sizeof own, err, sizeof err) == 0);
        const char *prefixes[] = {own};
        FUZZ_CHECK(plate_is_local(&p, prefixes, 1));
    }

    char prefix[16], err[128] = "";
    if (plate_parse_prefix(setting, prefix, sizeof prefix, err, sizeof err) == 0) {
        FUZZ_CHECK(fuzz_terminated(prefix, sizeof prefix) && prefix[0] && fuzz_utf8(prefix));
        const char *prefixes[] = {"", prefix};
        bool local = plate_is_local(&p, prefixes, 2);
        FUZZ_CHECK(!local || (p.valid && strncmp(p.region, prefix, strlen(prefix)) == 0));
        /* A normalised prefix normalises to itself. */
        char again[16];
        FUZZ_CHECK(plate_parse_prefix(prefix, again, sizeof again, err, sizeof err) == 0);
        FUZZ_CHECK(strcmp(again, prefix) == 0);
    } else {
        FUZZ_CHECK(fuzz_terminated(err, sizeof err) && err[0]);
    }
    free(plate);
    free(setting);
    return 0;
}
