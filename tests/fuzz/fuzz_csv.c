/* SPDX-License-Identifier: MIT */
/*
 * Registry CSV import (gateway/registry.h) into a real store: any file must be
 * imported whole or refused with a message, and a refused import must leave
 * the registry exactly as it was. The store lives in a scratch directory for
 * the whole run and goes back to the same two vehicles after every import.
 * Input: the CSV file's bytes.
 */
#include <ftw.h>
#include <unistd.h>

#include "fuzz.h"
#include "registry.h"

static store *st;
static char dir[256], csv_path[300];

static const struct registry_vehicle baseline[] = {
    {.plate = "豫A12345",
     .fuel = FUEL_DIESEL,
     .emission_stage = 3,
     .gross_weight_kg = 18000,
     .vclass = VCLASS_TRUCK,
     .vin = "LZZ1CLSB9AW123456",
     .source = "cli"},
    {.plate = "冀B67890", .fuel = FUEL_GASOLINE, .emission_stage = 6, .source = "cli"},
};
#define N_BASELINE (sizeof baseline / sizeof baseline[0])

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_dir(void)
{
    store_close(st);
    st = NULL;
    nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/rsgw-fuzz-csv-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    FUZZ_CHECK(mkdtemp(dir) != NULL);
    atexit(remove_dir);
    char db[300], err[256];
    snprintf(db, sizeof db, "%s/rsgw.db", dir);
    snprintf(csv_path, sizeof csv_path, "%s/vehicles.csv", dir);
    /* The writer creates the store; the CLI imports through an admin handle. */
    FUZZ_CHECK(store_open(db, STORE_WRITER, &st, err, sizeof err) == STORE_OK);
    store_close(st);
    FUZZ_CHECK(store_open(db, STORE_ADMIN, &st, err, sizeof err) == STORE_OK);
    for (size_t i = 0; i < N_BASELINE; i++)
        FUZZ_CHECK(registry_put(st, &baseline[i]) == STORE_OK);
    return 0;
}

/* A digest of every registry row, to see that a refused import changed nothing. */
struct snapshot {
    size_t n;
    uint64_t hash;
};

static void mix(uint64_t *h, const void *p, size_t len)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < len; i++)
        *h = (*h ^ b[i]) * 0x100000001b3ULL; /* FNV-1a */
}

static int add_row(void *ud, const struct registry_vehicle *v)
{
    struct snapshot *s = ud;
    FUZZ_CHECK(fuzz_terminated(v->plate, sizeof v->plate) && v->plate[0] && fuzz_utf8(v->plate));
    FUZZ_CHECK(v->fuel >= FUEL_UNKNOWN && v->fuel <= FUEL_HYBRID);
    FUZZ_CHECK(v->emission_stage >= 0 && v->emission_stage <= 6);
    FUZZ_CHECK(v->gross_weight_kg >= 0 && v->gross_weight_kg <= 200000);
    FUZZ_CHECK(v->vclass >= VCLASS_UNKNOWN && v->vclass <= VCLASS_OTHER);
    FUZZ_CHECK(v->exemption >= EXEMPT_NONE && v->exemption <= EXEMPT_ENFORCEMENT);
    FUZZ_CHECK(fuzz_terminated(v->vin, sizeof v->vin) && (!v->vin[0] || strlen(v->vin) == 17));
    FUZZ_CHECK(fuzz_terminated(v->source, sizeof v->source));
    mix(&s->hash, v->plate, strlen(v->plate) + 1);
    int facts[] = {v->fuel, v->emission_stage, v->gross_weight_kg, v->vclass, v->exemption};
    mix(&s->hash, facts, sizeof facts);
    mix(&s->hash, v->vin, strlen(v->vin) + 1);
    mix(&s->hash, &v->updated_ms, sizeof v->updated_ms);
    mix(&s->hash, v->source, strlen(v->source) + 1);
    s->n++;
    return 0;
}

static struct snapshot take_snapshot(void)
{
    struct snapshot s = {0, 0xcbf29ce484222325ULL};
    FUZZ_CHECK(registry_list(st, add_row, &s) == STORE_OK);
    return s;
}

/* Every stored plate is found again under its own (normalised) text. */
static int find_row(void *ud, const struct registry_vehicle *v)
{
    (void)ud;
    struct registry_vehicle got;
    FUZZ_CHECK(registry_get(st, v->plate, &got) == 1 && strcmp(got.plate, v->plate) == 0);
    return 0;
}

struct plates {
    size_t n;
    char plate[64][48];
};

static int collect_extra(void *ud, const struct registry_vehicle *v)
{
    struct plates *p = ud;
    for (size_t i = 0; i < N_BASELINE; i++)
        if (strcmp(v->plate, baseline[i].plate) == 0)
            return 0;
    if (p->n == sizeof p->plate / sizeof p->plate[0])
        return 1; /* more next round */
    snprintf(p->plate[p->n++], sizeof p->plate[0], "%s", v->plate);
    return 0;
}

static void restore_baseline(void)
{
    for (;;) {
        static struct plates extra;
        extra.n = 0;
        int rc = registry_list(st, collect_extra, &extra);
        FUZZ_CHECK(rc == 0 || rc == 1);
        for (size_t i = 0; i < extra.n; i++)
            FUZZ_CHECK(registry_delete(st, extra.plate[i]) == 1);
        if (rc == 0)
            break;
    }
    for (size_t i = 0; i < N_BASELINE; i++)
        FUZZ_CHECK(registry_put(st, &baseline[i]) == STORE_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(csv_path, "wb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(fwrite(data, 1, size, f) == size || size == 0);
    FUZZ_CHECK(fclose(f) == 0);

    struct snapshot before = take_snapshot();
    struct registry_import_result res = {99, 99};
    char err[512] = "";
    int rc = registry_import_csv(st, csv_path, &res, err, sizeof err);
    FUZZ_CHECK(fuzz_terminated(err, sizeof err));
    struct snapshot after = take_snapshot();
    if (rc != STORE_OK) {
        FUZZ_CHECK(rc < 0 && err[0]);
        FUZZ_CHECK(res.inserted == 0 && res.updated == 0);
        FUZZ_CHECK(after.n == before.n && after.hash == before.hash); /* all or nothing */
        return 0;
    }
    FUZZ_CHECK(after.n == before.n + res.inserted);
    FUZZ_CHECK(registry_list(st, find_row, NULL) == STORE_OK);
    if (res.inserted || res.updated)
        restore_baseline();
    return 0;
}
