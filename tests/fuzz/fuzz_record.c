/* SPDX-License-Identifier: MIT */
/*
 * Stored records (gateway/record.h) as `rsgw records` reads and shows them:
 * a damaged payload must be refused or shown, never crash the viewer.
 * Input: the payload bytes. Output goes to /dev/null.
 */
#include <time.h>

#include "fuzz.h"
#include "json.h"
#include "record.h"
#include "view.h"

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    devnull = fopen("/dev/null", "w");
    FUZZ_CHECK(devnull != NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Rsgw__V1__Record *r = record_unpack(data, size);
    if (!r)
        return 0;
    static const uint8_t hash[32] = {0xde, 0xad, 0xbe, 0xef};
    for (int colour = 0; colour < 2; colour++) {
        struct view_opts o = {.colour = colour};
        view_table_row(devnull, &o, r);
        view_record_detail(devnull, &o, r, colour ? hash : NULL);
    }
    struct json j;
    json_init(&j, devnull, size & 1);
    view_record_json(&j, r, hash);
    json_finish(&j);
    record_free(r);
    return 0;
}
