/* SPDX-License-Identifier: MIT */
/* The vehicle registry: CRUD, key=value edits and CSV import, on a real store file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "store.h"
#include "store_fixture.h"

struct env {
    char dir[256];
    char path[320];
    char csv[320];
    store *s;
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    fixture_dir_make(e->dir, sizeof e->dir);
    snprintf(e->path, sizeof e->path, "%s/records.db", e->dir);
    snprintf(e->csv, sizeof e->csv, "%s/vehicles.csv", e->dir);
    char err[512];
    if (store_open(e->path, STORE_ADMIN, &e->s, err, sizeof err) != STORE_OK)
        fail_msg("%s", err);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    store_close(e->s);
    fixture_dir_remove(e->dir);
    free(e);
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_crud(void **state)
{
    struct env *e = *state;
    struct registry_vehicle v = {.fuel = FUEL_DIESEL,
                                 .emission_stage = 5,
                                 .gross_weight_kg = 18000,
                                 .vclass = VCLASS_TRUCK,
                                 .exemption = EXEMPT_NONE};
    snprintf(v.plate, sizeof v.plate, "  豫a12345 ");
    snprintf(v.vin, sizeof v.vin, "LFWADRJF011002346");
    snprintf(v.source, sizeof v.source, "cli");
    assert_int_equal(registry_put(e->s, &v), STORE_OK);

    struct registry_vehicle got;
    assert_int_equal(registry_get(e->s, "豫A12345", &got), 1);
    assert_string_equal(got.plate, "豫A12345");
    assert_int_equal(got.fuel, FUEL_DIESEL);
    assert_int_equal(got.emission_stage, 5);
    assert_int_equal(got.gross_weight_kg, 18000);
    assert_int_equal(got.vclass, VCLASS_TRUCK);
    assert_string_equal(got.vin, "LFWADRJF011002346");
    assert_string_equal(got.source, "cli");
    assert_true(got.updated_ms > 1700000000000LL);
    assert_int_equal(registry_get(e->s, " 豫a12345", &got), 1); /* normalised lookup */

    v.emission_stage = 6;
    assert_int_equal(registry_put(e->s, &v), STORE_OK);
    assert_int_equal(registry_get(e->s, "豫A12345", &got), 1);
    assert_int_equal(got.emission_stage, 6);

    v.emission_stage = 9;
    assert_int_equal(registry_put(e->s, &v), STORE_EINVAL);
    v.emission_stage = 6;
    snprintf(v.vin, sizeof v.vin, "LFWADRJF0110O2346");
    assert_int_equal(registry_put(e->s, &v), STORE_EINVAL);
    assert_non_null(strstr(store_errmsg(e->s), "VIN"));

    assert_int_equal(registry_get(e->s, "京B00000", &got), 0);
    assert_int_equal(registry_delete(e->s, "豫A12345"), 1);
    assert_int_equal(registry_delete(e->s, "豫A12345"), 0);
    assert_int_equal(registry_get(e->s, "豫A12345", &got), 0);
    assert_int_equal(registry_get(e->s, "  ", &got), STORE_EINVAL);
}

static void test_read_only_registry(void **state)
{
    struct env *e = *state;
    store *r = NULL;
    char err[512];
    assert_int_equal(store_open(e->path, STORE_READ, &r, err, sizeof err), STORE_OK);
    struct registry_vehicle v = {.fuel = FUEL_GAS};
    snprintf(v.plate, sizeof v.plate, "豫A12345");
    assert_int_equal(registry_put(r, &v), STORE_EINVAL);
    assert_non_null(strstr(store_errmsg(r), "read-only"));
    store_close(r);
}

static void test_apply_edit(void **state)
{
    (void)state;
    static const struct {
        const char *edit;
        int rc;
        const char *err;
    } cases[] = {
        {"fuel=diesel", STORE_OK, NULL},
        {"fuel = Gasoline", STORE_OK, NULL},
        {"fuel=柴油", STORE_OK, NULL},
        {"fuel=dizel", STORE_EINVAL,
         "unknown fuel 'dizel' (use diesel, gasoline, gas, electric, hybrid)"},
        {"stage=6", STORE_OK, NULL},
        {"stage=VI", STORE_OK, NULL},
        {"stage=China VI", STORE_OK, NULL},
        {"stage=国六", STORE_OK, NULL},
        {"stage=国六b", STORE_OK, NULL},
        {"stage=IV", STORE_OK, NULL},
        {"stage=7", STORE_EINVAL, "unknown emission stage '7'"},
        {"stage=VII", STORE_EINVAL, "unknown emission stage"},
        {"gross_weight_kg=18000", STORE_OK, NULL},
        {"gross_weight_kg=18 t", STORE_EINVAL, "bad gross_weight_kg"},
        {"class=bus", STORE_OK, NULL},
        {"class=tank", STORE_EINVAL, "unknown class 'tank'"},
        {"vin=lfwadrjf011002346", STORE_OK, NULL},
        {"vin=LFWADRJF01100234", STORE_EINVAL, "bad VIN"},
        {"vin=LFWADRJF01100234I", STORE_EINVAL, "bad VIN"},
        {"exemption=livelihood", STORE_OK, NULL},
        {"exemption=maybe", STORE_EINVAL, "unknown exemption 'maybe'"},
        {"colour=red", STORE_EINVAL, "unknown key 'colour'"},
        {"plate=豫A00000", STORE_EINVAL, "cannot be edited"},
        {"fuel", STORE_EINVAL, "expected key=value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct registry_vehicle v = {0};
        char err[256] = "";
        int rc = registry_apply_edit(&v, cases[i].edit, err, sizeof err);
        if (rc != cases[i].rc || (cases[i].err && !strstr(err, cases[i].err)))
            fail_msg("'%s': rc %d, err '%s'", cases[i].edit, rc, err);
    }
    struct registry_vehicle v = {0};
    char err[256];
    assert_int_equal(registry_apply_edit(&v, "stage=China VI", err, sizeof err), STORE_OK);
    assert_int_equal(v.emission_stage, 6);
    assert_int_equal(registry_apply_edit(&v, "stage=国四", err, sizeof err), STORE_OK);
    assert_int_equal(v.emission_stage, 4);
    assert_int_equal(registry_apply_edit(&v, "vin=lfwadrjf011002346", err, sizeof err), STORE_OK);
    assert_string_equal(v.vin, "LFWADRJF011002346");
    assert_int_equal(registry_apply_edit(&v, "fuel=hybrid", err, sizeof err), STORE_OK);
    assert_int_equal(v.fuel, FUEL_HYBRID);
}

static int collect(void *ud, const struct registry_vehicle *v)
{
    struct registry_vehicle *out = ud;
    size_t i = 0;
    while (out[i].plate[0])
        i++;
    out[i] = *v;
    return 0;
}

static void test_import_good_file(void **state)
{
    struct env *e = *state;
    /* BOM, CRLF, quoted fields with a comma, an escaped quote and a line break, a blank line. */
    write_file(e->csv, "\xEF\xBB\xBFplate,fuel,stage,gross_weight_kg,class,vin,exemption\r\n"
                       "豫A12345,diesel,6,18000,truck,LFWADRJF011002346,none\r\n"
                       "\"豫B67890\",gasoline,China VI,\"1,800\",car,,\r\n"
                       "\r\n"
                       "京C24680,\"gas\",国五,12000,\"bus\",,\"livelihood\"\r\n");
    struct registry_import_result res;
    char err[512] = "";
    int rc = registry_import_csv(e->s, e->csv, &res, err, sizeof err);
    /* "1,800" is one field and not a number. */
    assert_int_equal(rc, STORE_EINVAL);
    assert_non_null(strstr(err, "vehicles.csv:3: bad gross_weight_kg '1,800'"));

    write_file(e->csv, "\xEF\xBB\xBFplate,fuel,stage,gross_weight_kg,class,vin,exemption\r\n"
                       "豫A12345,diesel,6,18000,truck,LFWADRJF011002346,none\r\n"
                       "\"豫B67890\",gasoline,China VI,1800,car,,\r\n"
                       "\r\n"
                       "京C24680,\"gas\",国五,12000,\"bus\",,\"livelihood\"\r\n"
                       "\"沪D\"\"1\"\"\",electric,,,\"other\",,emergency\r\n");
    rc = registry_import_csv(e->s, e->csv, &res, err, sizeof err);
    if (rc != STORE_OK)
        fail_msg("%s", err);
    assert_int_equal(res.inserted, 4);
    assert_int_equal(res.updated, 0);

    struct registry_vehicle all[8];
    memset(all, 0, sizeof all);
    assert_int_equal(registry_list(e->s, collect, all), 0);
    struct registry_vehicle v;
    assert_int_equal(registry_get(e->s, "豫B67890", &v), 1);
    assert_int_equal(v.fuel, FUEL_GASOLINE);
    assert_int_equal(v.emission_stage, 6);
    assert_int_equal(v.gross_weight_kg, 1800);
    assert_int_equal(v.vclass, VCLASS_CAR);
    assert_string_equal(v.source, "csv");
    assert_int_equal(registry_get(e->s, "京C24680", &v), 1);
    assert_int_equal(v.emission_stage, 5);
    assert_int_equal(v.exemption, EXEMPT_LIVELIHOOD);
    assert_int_equal(registry_get(e->s, "沪D\"1\"", &v), 1);
    assert_int_equal(v.fuel, FUEL_ELECTRIC);

    /* A second file with fewer columns updates only those. */
    write_file(e->csv, "plate,exemption\n豫A12345,enforcement\n豫E11111,\n");
    rc = registry_import_csv(e->s, e->csv, &res, err, sizeof err);
    if (rc != STORE_OK)
        fail_msg("%s", err);
    assert_int_equal(res.inserted, 1);
    assert_int_equal(res.updated, 1);
    assert_int_equal(registry_get(e->s, "豫A12345", &v), 1);
    assert_int_equal(v.exemption, EXEMPT_ENFORCEMENT);
    assert_int_equal(v.fuel, FUEL_DIESEL);
    assert_int_equal(v.emission_stage, 6);
    assert_string_equal(v.vin, "LFWADRJF011002346");

    /* Quoted line breaks count as lines. */
    write_file(e->csv, "plate,fuel\n\"豫F\n22222\",diesel\n豫G33333,dizel\n");
    rc = registry_import_csv(e->s, e->csv, &res, err, sizeof err);
    assert_int_equal(rc, STORE_EINVAL);
    assert_non_null(strstr(err, "vehicles.csv:4: unknown fuel 'dizel'"));
}

static void test_import_bad_line_changes_nothing(void **state)
{
    struct env *e = *state;
    write_file(e->csv, "plate,fuel\n豫A12345,diesel\n");
    struct registry_import_result res;
    char err[512];
    assert_int_equal(registry_import_csv(e->s, e->csv, &res, err, sizeof err), STORE_OK);

    static const struct {
        const char *text;
        const char *err;
    } bad[] = {
        {"plate,fuel\n豫A12345,gasoline\n豫B22222,dizel\n",
         "vehicles.csv:3: unknown fuel 'dizel' (use diesel, gasoline, gas, electric, hybrid)"},
        {"plate,fuel\n豫A12345,gasoline\n豫B22222\n",
         "vehicles.csv:3: 1 fields, but the header has 2"},
        {"plate,colour\n豫A12345,red\n", "vehicles.csv:1: unknown column 'colour'"},
        {"fuel,stage\ndiesel,6\n", "vehicles.csv:1: no 'plate' column"},
        {"plate,fuel,fuel\n", "vehicles.csv:1: column 'fuel' appears twice"},
        {"plate,fuel\n豫A12345,gasoline\n,diesel\n", "vehicles.csv:3: empty plate"},
        {"plate,fuel\n豫A12345,gasoline\n\"豫B22222,diesel\n",
         "vehicles.csv:3: quoted field is never closed"},
        {"plate,fuel\n豫A12345,gasoline\n\"豫B\"x,diesel\n",
         "vehicles.csv:3: text after a closing quote"},
        {"plate,fuel\n豫A12345,gasoline\n\xd4\xa5\xff,diesel\n", "vehicles.csv:3: not UTF-8"},
        {"plate,fuel\n豫A12345,gasoline\n豫B22222,diesel\n 豫a12345,gas\n",
         "vehicles.csv:4: plate '豫A12345' again (first on line 2)"},
        {"plate,vin\n豫A12345,LFWADRJF01100234Q\n", "vehicles.csv:2: bad VIN"},
        {"", "empty file"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file(e->csv, bad[i].text);
        err[0] = '\0';
        int rc = registry_import_csv(e->s, e->csv, &res, err, sizeof err);
        if (rc != STORE_EINVAL || !strstr(err, bad[i].err))
            fail_msg("case %zu: rc %d, err '%s'", i, rc, err);
        struct registry_vehicle v;
        assert_int_equal(registry_get(e->s, "豫A12345", &v), 1);
        assert_int_equal(v.fuel, FUEL_DIESEL);
        assert_int_equal(registry_get(e->s, "豫B22222", &v), 0);
    }
    char missing[400];
    snprintf(missing, sizeof missing, "%s/nope.csv", e->dir);
    assert_int_equal(registry_import_csv(e->s, missing, &res, err, sizeof err), STORE_EINVAL);
    assert_non_null(strstr(err, "nope.csv: cannot open"));
}

static void test_import_many(void **state)
{
    struct env *e = *state;
    FILE *f = fopen(e->csv, "w");
    assert_non_null(f);
    fputs("plate,fuel,stage\n", f);
    static const char letters[] = "ABCDEFGHJK";
    for (int i = 0; i < 20000; i++)
        fprintf(f, "豫%c%05d,diesel,%d\n", letters[i % 10], i, 1 + i % 6);
    fclose(f);
    struct registry_import_result res;
    char err[512];
    if (registry_import_csv(e->s, e->csv, &res, err, sizeof err) != STORE_OK)
        fail_msg("%s", err);
    assert_int_equal(res.inserted, 20000);
    struct registry_vehicle v;
    assert_int_equal(registry_get(e->s, "豫K19999", &v), 1);
    assert_int_equal(v.emission_stage, 1 + 19999 % 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_registry, setup, teardown),
        cmocka_unit_test(test_apply_edit),
        cmocka_unit_test_setup_teardown(test_import_good_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_bad_line_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_many, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
