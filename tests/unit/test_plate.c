/* SPDX-License-Identifier: MIT */
/* Plates: every kind, normalisation, invalid plates with their messages, local prefixes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "plate.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct valid_case {
    const char *input;
    const char *normalised;
    const char *region;
    enum plate_kind kind;
    bool large;
};

static const struct valid_case valid_cases[] = {
    {"豫A12345", "豫A12345", "豫A", PLATE_KIND_ORDINARY, false},
    {"豫A·12345", "豫A12345", "豫A", PLATE_KIND_ORDINARY, false},
    {"  豫 a 1 2 3 4 5  ", "豫A12345", "豫A", PLATE_KIND_ORDINARY, false},
    {"豫Ａ１２３４５", "豫A12345", "豫A", PLATE_KIND_ORDINARY, false}, /* full-width */
    {"豫ａｂ１２３４", "豫AB1234", "豫A", PLATE_KIND_ORDINARY, false},
    {"京N・AB123", "京NAB123", "京N", PLATE_KIND_ORDINARY, false}, /* katakana middle dot */
    {"豫A-12345", "豫A12345", "豫A", PLATE_KIND_ORDINARY, false},
    {"豫A\u300012345", "豫A12345", "豫A", PLATE_KIND_ORDINARY, false}, /* ideographic space */
    {"沪ZZZZZZ", "沪ZZZZZZ", "沪Z", PLATE_KIND_ORDINARY, false},
    {"豫AB123C", "豫AB123C", "豫A", PLATE_KIND_ORDINARY, false},
    {"豫A1234挂", "豫A1234挂", "豫A", PLATE_KIND_TRAILER, false},
    {"豫a·1234挂", "豫A1234挂", "豫A", PLATE_KIND_TRAILER, false},
    {"豫A1234警", "豫A1234警", "豫A", PLATE_KIND_POLICE, false},
    {"豫A1234学", "豫A1234学", "豫A", PLATE_KIND_LEARNER, false},
    {"粤Z1234港", "粤Z1234港", "粤Z", PLATE_KIND_HK_MACAU, false},
    {"粤Z·A123澳", "粤ZA123澳", "粤Z", PLATE_KIND_HK_MACAU, false},
    {"使123456", "使123456", "使", PLATE_KIND_EMBASSY, false},
    {"使 014 578", "使014578", "使", PLATE_KIND_EMBASSY, false},
    {"沪A1234领", "沪A1234领", "沪A", PLATE_KIND_EMBASSY, false},
    {"豫AD12345", "豫AD12345", "豫A", PLATE_KIND_NEW_ENERGY, false},
    {"豫A·F1234 5", "豫AF12345", "豫A", PLATE_KIND_NEW_ENERGY, false},
    {"豫adb1234", "豫ADB1234", "豫A", PLATE_KIND_NEW_ENERGY, false},
    {"豫AFB1234", "豫AFB1234", "豫A", PLATE_KIND_NEW_ENERGY, false},
    {"豫A12345D", "豫A12345D", "豫A", PLATE_KIND_NEW_ENERGY, true},
    {"豫A12345f", "豫A12345F", "豫A", PLATE_KIND_NEW_ENERGY, true},
};

static void test_valid_plates(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(valid_cases); i++) {
        const struct valid_case *c = &valid_cases[i];
        struct plate_info p;
        plate_parse(c->input, &p);
        if (!p.valid)
            print_error("case %zu '%s': %s\n", i, c->input, p.error);
        assert_true(p.valid);
        assert_string_equal(p.normalised, c->normalised);
        assert_string_equal(p.region, c->region);
        assert_int_equal(p.kind, c->kind);
        assert_int_equal(p.new_energy_large, c->large);
        assert_string_equal(p.error, "");
    }
}

static void test_every_province(void **state)
{
    (void)state;
    static const char *const provinces[] = {"京", "津", "沪", "渝", "冀", "豫", "云", "辽",
                                            "黑", "湘", "皖", "鲁", "新", "苏", "浙", "赣",
                                            "鄂", "桂", "甘", "晋", "蒙", "陕", "吉", "闽",
                                            "贵", "粤", "青", "藏", "川", "宁", "琼"};
    assert_int_equal(COUNT(provinces), 31);
    for (size_t i = 0; i < COUNT(provinces); i++) {
        char plate[32], region[16];
        snprintf(plate, sizeof(plate), "%sB12345", provinces[i]);
        snprintf(region, sizeof(region), "%sB", provinces[i]);
        struct plate_info p;
        plate_parse(plate, &p);
        assert_true(p.valid);
        assert_string_equal(p.region, region);
    }
}

struct invalid_case {
    const char *input;
    const char *error; /* exact message */
};

static const struct invalid_case invalid_cases[] = {
    {"", "no plate"},
    {"  ·  ", "no plate"},
    {"豫A1234", "7 or 8 characters expected, got 6"},
    {"豫A123456789", "7 or 8 characters expected, got 11"},
    {"龙A12345", "unknown province character '龙'"},
    {"A豫12345", "unknown province character 'A'"},
    {"豫112345", "second character must be a letter A-Z without I and O, got '1'"},
    {"豫I12345", "second character must be a letter A-Z without I and O, got 'I'"},
    {"豫o12345", "second character must be a letter A-Z without I and O, got 'O'"},
    {"豫A1234I", "character 7 must be a letter A-Z without I and O, or a digit; got 'I'"},
    {"豫A12O45", "character 5 must be a letter A-Z without I and O, or a digit; got 'O'"},
    {"豫A12挂45", "character 5 must be a letter A-Z without I and O, or a digit; got '挂'"},
    {"豫A1234\x01", "character 7 must be a letter A-Z without I and O, or a digit; got 'U+0001'"},
    {"豫A1234使", "character 7 must be a letter A-Z without I and O, or a digit; got '使'"},
    {"豫AX12345",
     "new-energy plate: character 3 must be D or F (small) or a digit (large), got 'X'"},
    {"豫AD1234X", "new-energy plate: character 8 must be a digit, got 'X'"},
    {"豫ADI1234", "new-energy plate: character 4 must be a letter A-Z without I and O, or a digit; "
                  "got 'I'"},
    {"豫A12345X", "new-energy plate: character 8 must be D or F, got 'X'"},
    {"豫A1234DF", "new-energy plate: character 7 must be a digit, got 'D'"},
    {"豫A1234挂D", "new-energy plate: character 7 must be a digit, got '挂'"},
    {"使12345A", "embassy plate: character 7 must be a digit, got 'A'"},
    {"使1234567", "embassy plate: 7 characters expected, got 8"},
    {"豫A\xff"
     "12345",
     "not valid UTF-8 (byte 5)"},
    {"豫A\xc0\xb1"
     "2345",
     "not valid UTF-8 (byte 5)"}, /* overlong '1' */
    {"豫A\xed\xa0\x80"
     "2345",
     "not valid UTF-8 (byte 5)"}, /* surrogate */
};

static void test_invalid_plates(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(invalid_cases); i++) {
        struct plate_info p;
        plate_parse(invalid_cases[i].input, &p);
        if (p.valid || strcmp(p.error, invalid_cases[i].error) != 0)
            print_error("case %zu: got '%s'\n", i, p.error);
        assert_false(p.valid);
        assert_int_equal(p.kind, PLATE_KIND_UNKNOWN);
        assert_string_equal(p.region, "");
        assert_string_equal(p.error, invalid_cases[i].error);
    }
    struct plate_info p;
    plate_parse(NULL, &p);
    assert_false(p.valid);
    assert_string_equal(p.error, "no plate");
}

/* An invalid plate still shows what was read, for the record and the officer. */
static void test_invalid_keeps_normalised_text(void **state)
{
    (void)state;
    struct plate_info p;
    plate_parse("豫a·1234", &p);
    assert_false(p.valid);
    assert_string_equal(p.normalised, "豫A1234");

    /* Very long input: counted, truncated on a character boundary, never overflowing. */
    char longplate[512] = "";
    for (int i = 0; i < 20; i++)
        strcat(longplate, "豫A·");
    plate_parse(longplate, &p);
    assert_false(p.valid);
    assert_string_equal(p.error, "7 or 8 characters expected, got 40");
    assert_true(strlen(p.normalised) < sizeof(p.normalised));
    assert_true(strlen(p.normalised) % 4 == 0); /* whole "豫A" pairs only */
}

struct local_case {
    const char *plate;
    const char *prefixes[3];
    size_t n;
    bool local;
};

static const struct local_case local_cases[] = {
    {"豫A12345", {"豫A"}, 1, true},
    {"豫B12345", {"豫A"}, 1, false},
    {"豫B12345", {"豫"}, 1, true},
    {"京N12345", {"豫A", "京"}, 2, true},
    {"京N12345", {"豫A", "豫B"}, 2, false},
    {"豫AD12345", {"豫A"}, 1, true},
    {"豫A1234挂", {"豫A"}, 1, true},
    {"使123456", {"使"}, 1, true},
    {"使123456", {"豫"}, 1, false},
    {"豫A12345", {""}, 1, false}, /* an empty prefix matches nothing */
    {"豫A12345", {NULL}, 1, false},
    {"豫A1234", {"豫A"}, 1, false}, /* invalid plates are never local */
    {"豫A12345", {"豫A"}, 0, false},
};

static void test_local(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(local_cases); i++) {
        struct plate_info p;
        plate_parse(local_cases[i].plate, &p);
        assert_int_equal(plate_is_local(&p, local_cases[i].prefixes, local_cases[i].n),
                         local_cases[i].local);
    }
    assert_false(plate_is_local(NULL, NULL, 0));
}

struct prefix_case {
    const char *input;
    int rc;
    const char *out; /* or error */
};

static const struct prefix_case prefix_cases[] = {
    {"豫A", 0, "豫A"},
    {" 豫ａ ", 0, "豫A"},
    {"豫", 0, "豫"},
    {"使", 0, "使"},
    {"使A", -1, "the embassy prefix is 使 alone"},
    {"龙", -1, "unknown province character '龙'"},
    {"豫I", -1, "second character must be a letter A-Z without I and O, got 'I'"},
    {"", -1,
     "a province character, optionally followed by a city letter, expected (e.g. 豫 or "
     "豫A), got 0 characters"},
    {"豫A1", -1,
     "a province character, optionally followed by a city letter, expected (e.g. 豫 or "
     "豫A), got 3 characters"},
    {"\xff", -1, "not valid UTF-8 (byte 1)"},
};

static void test_prefix_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(prefix_cases); i++) {
        char out[16], err[160] = "";
        int rc = plate_parse_prefix(prefix_cases[i].input, out, sizeof(out), err, sizeof(err));
        assert_int_equal(rc, prefix_cases[i].rc);
        assert_string_equal(rc == 0 ? out : err, prefix_cases[i].out);
    }
}

static void test_kind_names(void **state)
{
    (void)state;
    static const char *const names[] = {"unknown", "ordinary", "new_energy", "trailer",
                                        "police",  "embassy",  "learner",    "hk_macau"};
    for (int k = 0; k < (int)COUNT(names); k++)
        assert_string_equal(plate_kind_name((enum plate_kind)k), names[k]);
    assert_string_equal(plate_kind_name((enum plate_kind)99), "invalid");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_plates),   cmocka_unit_test(test_every_province),
        cmocka_unit_test(test_invalid_plates), cmocka_unit_test(test_invalid_keeps_normalised_text),
        cmocka_unit_test(test_local),          cmocka_unit_test(test_prefix_parse),
        cmocka_unit_test(test_kind_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
