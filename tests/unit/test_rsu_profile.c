/* SPDX-License-Identifier: MIT */
/* Profiles: parsing and its errors, register types, decode/encode, read blocks. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* cmocka 1.1.5 has no double comparison (its float one rounds to float). */
#define assert_near(a, b, eps)                                                                     \
    do {                                                                                           \
        double got_ = (a), want_ = (b);                                                            \
        if (!(fabs(got_ - want_) <= (eps)))                                                        \
            fail_msg("%s = %.17g, want %.17g", #a, got_, want_);                                   \
    } while (0)

#include "rsu_profile.h"

#define IMG 512

static void load_generic(struct rsu_profile *p)
{
    const char *root = getenv("RSGW_SOURCE_DIR");
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/deploy/profiles/generic-rsu.ini", root ? root : ".");
    if (rsu_profile_load(path, p, err, sizeof err) != 0)
        fail_msg("%s", err);
}

static void parse_ok(const char *text, struct rsu_profile *p)
{
    char err[256];
    if (rsu_profile_parse(text, "t.ini", p, err, sizeof err) != 0)
        fail_msg("unexpected error: %s", err);
}

/* Decode straight from full register images, through the profile's own blocks. */
static void decode_images(const struct rsu_profile *p, uint16_t *holding, uint16_t *input,
                          struct rsu_measurement *m)
{
    struct rsu_block blocks[RSU_BLOCKS_MAX];
    size_t n = rsu_profile_blocks(p, blocks, RSU_BLOCKS_MAX);
    assert_true(n <= RSU_BLOCKS_MAX);
    uint16_t *regs[RSU_BLOCKS_MAX];
    for (size_t i = 0; i < n; i++)
        regs[i] = (blocks[i].table == RSU_TABLE_INPUT ? input : holding) + blocks[i].address;
    memset(m, 0, sizeof *m);
    rsu_profile_decode(p, blocks, regs, n, m);
}

static void encode_ok(const struct rsu_profile *p, const struct rsu_measurement *m,
                      uint16_t *holding, uint16_t *input)
{
    char err[256];
    if (rsu_profile_encode(p, m, holding, IMG, input, IMG, err, sizeof err) != 0)
        fail_msg("encode: %s", err);
}

static const char *head =
    "[profile]\nname = t\nversion = 2\ncolours = 0:blue, 1:yellow, 9:yellow_green\n"
    "[sequence]\naddress = 0\ntype = u32\n"
    "[ack]\naddress = 2\ntype = u32\n";

static void test_generic_profile(void **state)
{
    (void)state;
    struct rsu_profile p;
    load_generic(&p);
    assert_string_equal(p.name, "generic-rsu");
    assert_string_equal(p.version, "1");
    assert_int_equal(p.mapped, (1u << RSU_X_COUNT) - 1); /* every field */
    assert_int_equal(p.sequence.address, 0);
    assert_int_equal(p.sequence.type, RSU_TYPE_U32);
    assert_int_equal(p.ack.address, 2);
    assert_int_equal(p.field[RSU_X_PLATE].type, RSU_TYPE_STRING);
    assert_int_equal(p.field[RSU_X_PLATE].length, 8);
    assert_int_equal(p.field[RSU_X_PLATE].encoding, RSU_ENC_GB18030);
    assert_int_equal(p.field[RSU_X_IMAGE_FAR].length, 32);
    assert_int_equal(p.field[RSU_X_IMAGE_NEAR].encoding, RSU_ENC_UTF8);
    assert_int_equal(p.field[RSU_F_VSP].words, RSU_WORDS_LITTLE);
    assert_int_equal(p.field[RSU_F_ACCEL].type, RSU_TYPE_S16);
    assert_int_equal(p.n_colours, 7);
    struct rsu_block b[RSU_BLOCKS_MAX];
    assert_int_equal(rsu_profile_blocks(&p, b, RSU_BLOCKS_MAX), 2);
    assert_int_equal(b[0].table, RSU_TABLE_HOLDING);
    assert_int_equal(b[0].address, 10);
    assert_int_equal(b[0].count, 86);
    assert_int_equal(b[1].table, RSU_TABLE_INPUT);
    assert_int_equal(b[1].address, 0);
    assert_int_equal(b[1].count, 5);
}

struct bad_case {
    const char *body; /* appended to head unless it starts with '!' */
    const char *expect;
};

static const struct bad_case bad_cases[] = {
    {"[field opacity]\naddress = 10\ntype = f32\n",
     "t.ini:13: unknown type 'f32' (use u16, s16, u32, s32, float32, string)"},
    {"[field opasity]\naddress = 10\ntype = u16\n", "t.ini:11: unknown field 'opasity' (known: "},
    {"[field opacity]\naddress = 10\ntype = u16\n[field no]\naddress = 9\ntype = u32\n",
     "t.ini:14: no (holding 9..10) overlaps opacity (holding 10..10, line 11)"},
    {"[field opacity]\naddress = 1\ntype = u16\n",
     "t.ini:11: opacity (holding 1..1) overlaps sequence (holding 0..1, line 5)"},
    {"[field plate]\naddress = 10\ntype = string\n",
     "t.ini:11: field 'plate' is a string and needs 'length' (registers)"},
    {"[field vsp]\naddress = 10\ntype = float32\nwords = middle\n",
     "t.ini:14: unknown word order 'middle'"},
    {"[field opacity]\naddress = 10\ntype = u16\nwords = little\n",
     "t.ini:14: 'words' applies to 32-bit types only"},
    {"[field opacity]\naddress = 10\ntype = u16\ncolour = red\n",
     "t.ini:14: unknown key 'colour' in field 'opacity'"},
    {"[field opacity]\naddress = 10\ntype = u16\n[field opacity]\naddress = 20\ntype = u16\n",
     "t.ini:14: [field opacity] repeats the section at line 11"},
    {"[field opacity]\naddress = 10\naddress = 11\ntype = u16\n",
     "t.ini:13: 'address' given twice in field 'opacity' (first at line 12)"},
    {"[field opacity]\naddress = 10\ntype = u16\nscale = 0\n",
     "t.ini:14: scale '0' is not a finite non-zero number"},
    {"[field opacity]\naddress = 70000\ntype = u16\n",
     "t.ini:12: address '70000' is not a register address 0..65535"},
    {"[field opacity]\naddress = 10\ntype = u16\ninvalid = 70000\n",
     "t.ini:14: invalid 70000 does not fit a 16-bit register"},
    {"[field plate]\naddress = 10\ntype = u16\n", "t.ini:13: field 'plate' must be type string"},
    {"[field speed]\naddress = 10\ntype = string\nlength = 4\n",
     "t.ini:13: field 'speed' is a number and cannot be type string"},
    {"[field plate]\naddress = 10\ntype = string\nlength = 17\n",
     "t.ini:14: length 17 is more than 16 registers for field 'plate'"},
    {"[field image_far]\naddress = 65530\ntype = string\nlength = 10\n",
     "t.ini:12: field 'image_far' runs past register 65535"},
    {"[field plate]\naddress = 10\ntype = string\nlength = 8\nencoding = big5\n",
     "t.ini:15: unknown encoding 'big5' (use gb18030, utf-8)"},
    {"[field device_time]\naddress = 10\ntype = u16\n",
     "t.ini:13: field 'device_time' is Unix seconds and must be type u32 or s32"},
    {"[field opacity]\ntable = coils\naddress = 10\ntype = u16\n",
     "t.ini:12: unknown table 'coils' (use holding, input)"},
    {"[field opacity]\naddress = 10\ntype = u16\nthis line has no equals sign\n",
     "t.ini:14: syntax error"},
    {"[field opacity]\naddress = 10\n", "t.ini:11: field 'opacity' needs 'type'"},
    {"[weather]\nx = 1\n", "t.ini:11: unknown section [weather]"},
    /* The earliest error is reported even when a later one is found first. */
    {"[field opacity]\naddress = 10\n[field no]\naddress = 11\ntype = q\n",
     "t.ini:11: field 'opacity' needs 'type'"},
    {"!name = x\n[profile]\nname = t\n", "t.ini:1: setting outside any section"},
    {"![profile]\nname = t\n[ack]\naddress = 2\ntype = u32\n[field no]\naddress = 9\ntype = u16\n",
     "t.ini: missing [sequence] section"},
    {"![profile]\nname = t\n[sequence]\naddress = 2\ntype = u32\n[field no]\naddress = 9\n"
     "type = u16\n",
     "t.ini: missing [ack] section"},
    {"![profile]\nname = t\n[sequence]\naddress = 0\ntype = u32\n[ack]\ntable = input\n"
     "address = 2\ntype = u32\n[field no]\naddress = 9\ntype = u16\n",
     "t.ini:7: ack must be in the holding table"},
    {"![profile]\nname = t\n[sequence]\naddress = 0\ntype = u16\n[ack]\naddress = 2\n"
     "type = u32\n[field no]\naddress = 9\ntype = u16\n",
     "t.ini:6: ack must have the same type as sequence"},
    {"![profile]\nname = t\ncolours = 0:blue, 1:pink\n[sequence]\naddress = 0\ntype = u32\n",
     "t.ini:3: unknown colour 'pink'"},
    {"![profile]\nname = t\ncolours = 0:blue, 0:yellow\n", "t.ini:3: colour code 0 mapped twice"},
    {"", "t.ini: no [field NAME] sections: nothing to read"},
    /* Nine fields 20 registers apart need nine reads. */
    {"[field opacity]\naddress = 100\ntype = u16\n[field no]\naddress = 120\ntype = u16\n"
     "[field co]\naddress = 140\ntype = u16\n[field hc]\naddress = 160\ntype = u16\n"
     "[field co2]\naddress = 180\ntype = u16\n[field speed]\naddress = 200\ntype = u16\n"
     "[field accel]\naddress = 220\ntype = u16\n[field vsp]\naddress = 240\ntype = u16\n"
     "[field slope]\naddress = 260\ntype = u16\n",
     "t.ini: the fields need 9 read requests, at most 8 are supported"},
};

static void test_parse_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *c = &bad_cases[i];
        char text[2048], err[512] = "";
        if (c->body[0] == '!')
            snprintf(text, sizeof text, "%s", c->body + 1);
        else
            snprintf(text, sizeof text, "%s%s", head, c->body);
        struct rsu_profile p;
        int rc = rsu_profile_parse(text, "t.ini", &p, err, sizeof err);
        if (rc != -1 || strncmp(err, c->expect, strlen(c->expect)) != 0)
            fail_msg("case %zu: rc %d, got \"%s\", want \"%s...\"", i, rc, err, c->expect);
    }
}

static void test_line_too_long(void **state)
{
    (void)state;
    char text[1024], err[256];
    snprintf(text, sizeof text, "%s; %0300d\n", head, 0);
    struct rsu_profile p;
    assert_int_equal(rsu_profile_parse(text, "t.ini", &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "t.ini:11: line too long"));
    assert_int_equal(rsu_profile_load("/nonexistent/x.ini", &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/x.ini: cannot open"));
}

/* Every numeric type and word order, against registers written by hand. */
static const char *types_profile =
    "[field opacity]\naddress = 10\ntype = u16\n"
    "[field accel]\naddress = 11\ntype = s16\nscale = 0.01\n"
    "[field no]\naddress = 12\ntype = u32\nwords = big\n"
    "[field hc]\naddress = 14\ntype = u32\nwords = little\n"
    "[field speed]\naddress = 16\ntype = s32\nwords = big\nscale = 0.001\n"
    "[field slope]\naddress = 18\ntype = s32\nwords = little\nscale = 0.001\n"
    "[field vsp]\naddress = 20\ntype = float32\nwords = big\n"
    "[field co2]\naddress = 22\ntype = float32\nwords = little\n"
    "[field ambient_temp]\naddress = 24\ntype = u16\nscale = 0.1\noffset = -40\n"
    "[field pressure]\ntable = input\naddress = 5\ntype = u16\nscale = 0.01\n";

static void test_types_and_word_orders(void **state)
{
    (void)state;
    char text[2048];
    snprintf(text, sizeof text, "%s%s", head, types_profile);
    struct rsu_profile p;
    parse_ok(text, &p);
    uint16_t hold[IMG] = {0}, input[IMG] = {0};
    hold[10] = 42;
    hold[11] = 0xFF38;                    /* -200 -> -2.00 */
    hold[12] = 0x0000, hold[13] = 0x1388; /* 5000 ABCD */
    hold[14] = 0x4E20, hold[15] = 0x0000; /* 20000 CDAB */
    hold[16] = 0x0001, hold[17] = 0x86A0; /* 100000 -> 100.000 */
    hold[18] = 0x7960, hold[19] = 0xFFFE; /* -100000 CDAB -> -100.000 -> outside, see below */
    hold[20] = 0x4148, hold[21] = 0x0000; /* 12.5f ABCD */
    hold[22] = 0x0000, hold[23] = 0x4120; /* 10.0f CDAB */
    hold[24] = 650;                       /* 65.0 - 40 = 25.0 */
    input[5] = 10132;                     /* 101.32 kPa */
    struct rsu_measurement m;
    decode_images(&p, hold, input, &m);
    assert_true(rsu_has(&m, RSU_F_OPACITY));
    assert_near(m.value[RSU_F_OPACITY], 42, 0);
    assert_near(m.value[RSU_F_ACCEL], -2.0, 0);
    assert_near(m.value[RSU_F_NO], 5000, 0);
    assert_near(m.value[RSU_F_HC], 20000, 0);
    assert_near(m.value[RSU_F_SPEED], 100.0, 0);
    assert_near(m.value[RSU_F_VSP], 12.5, 0);
    assert_near(m.value[RSU_F_CO2], 10.0, 0);
    assert_near(m.value[RSU_F_AMBIENT_TEMP], 25.0, 0);
    assert_near(m.value[RSU_F_PRESSURE], 101.32, 0);
    /* -100 degrees of slope is implausible: the s32 little decode is right, the value is not. */
    assert_false(rsu_has(&m, RSU_F_SLOPE));
    assert_int_equal(m.n_issues, 1);
    assert_string_equal(m.issues[0], "slope: raw 0xFFFE7960 decodes to -100 deg, outside -45..45");
    hold[18] = 0xB1E0, hold[19] = 0xFFFF; /* -20000 CDAB -> -20.000 */
    decode_images(&p, hold, input, &m);
    assert_int_equal(m.n_issues, 0);
    assert_near(m.value[RSU_F_SLOPE], -20.0, 0);

    /* Encoding writes the very same words. */
    uint16_t hold2[IMG] = {0}, input2[IMG] = {0};
    encode_ok(&p, &m, hold2, input2);
    assert_memory_equal(hold + 10, hold2 + 10, 15 * sizeof(uint16_t));
    assert_int_equal(input2[5], 10132);
}

static void test_invalid_and_garbage(void **state)
{
    (void)state;
    struct rsu_profile p;
    load_generic(&p);
    uint16_t hold[IMG] = {0}, input[IMG] = {0};
    struct rsu_measurement m = {0};
    /* All fields absent: encoding writes every "invalid" marker, decoding reads nothing back. */
    encode_ok(&p, &m, hold, input);
    assert_int_equal(hold[10], 65535);
    assert_int_equal(hold[17], 0x8000);
    assert_int_equal(hold[18], 0x0000); /* 0x7FC00000, low word first */
    assert_int_equal(hold[19], 0x7FC0);
    decode_images(&p, hold, input, &m);
    assert_int_equal(m.present, 0);
    assert_int_equal(m.n_issues, 0);
    assert_false(m.has_device_time);
    assert_int_equal(m.plate_colour, RSU_COLOUR_UNKNOWN);
    assert_string_equal(m.plate, "");
    assert_int_equal(m.n_image_refs, 0);

    hold[10] = 0xFFFE;                    /* 6553.4 % */
    hold[18] = 0x0000, hold[19] = 0x7F80; /* +Inf */
    decode_images(&p, hold, input, &m);
    assert_false(rsu_has(&m, RSU_F_OPACITY));
    assert_false(rsu_has(&m, RSU_F_VSP));
    assert_int_equal(m.n_issues, 2);
    assert_string_equal(m.issues[0], "opacity: raw 0xFFFE decodes to 6553.4 %, outside 0..100");
    assert_string_equal(m.issues[1], "vsp: raw 0x7F800000 is not a finite number");

    hold[21] = 17;                        /* colour code not in the map */
    hold[24] = 0xFFFF, hold[25] = 0x4100; /* 0xFF is never valid in GB18030 */
    hold[32] = 0x4101;                    /* control byte in the image reference */
    hold[22] = 0, hold[23] = 5;           /* device clock at 1970 */
    decode_images(&p, hold, input, &m);
    /* Six issues: the first three, then a count of the rest. */
    assert_int_equal(m.n_issues, RSU_ISSUES_MAX);
    assert_string_equal(m.issues[2], "plate: not valid GB18030: FF FF 41");
    assert_string_equal(m.issues[3], "... and 3 more issues");
    assert_int_equal(m.plate_colour_code, 17);
    assert_int_equal(m.plate_colour, RSU_COLOUR_UNKNOWN);
    assert_string_equal(m.plate, "");
    assert_int_equal(m.n_image_refs, 0);
    assert_false(m.has_device_time);

    memset(hold, 0, sizeof hold);
    hold[21] = 17;
    hold[22] = 0, hold[23] = 5;
    decode_images(&p, hold, input, &m);
    assert_int_equal(m.n_issues, 2);
    assert_string_equal(m.issues[0], "plate_colour: code 17 is not in the profile's colour map");
    assert_string_equal(m.issues[1],
                        "device_time: raw 0x00000005 is 5 s, not a time in 2000..2099");
}

static void test_text_issues(void **state)
{
    (void)state;
    struct rsu_profile p;
    load_generic(&p);
    uint16_t hold[IMG] = {0}, input[IMG];
    for (size_t i = 0; i < IMG; i++)
        input[i] = 0xFFFF; /* weather station: not available */
    struct rsu_measurement m;
    hold[24] = 0xD4FF; /* lead byte without a valid trail */
    decode_images(&p, hold, input, &m);
    assert_int_equal(m.n_issues, 1);
    assert_string_equal(m.issues[0], "plate: not valid GB18030: D4 FF");
    memset(hold, 0, sizeof hold);
    hold[32] = 0xC328; /* broken UTF-8 */
    decode_images(&p, hold, input, &m);
    assert_string_equal(m.issues[0], "image_far: not valid UTF-8: C3 28");
    memset(hold, 0, sizeof hold);
    hold[64] = 0x4101;
    decode_images(&p, hold, input, &m);
    assert_string_equal(m.issues[0], "image_near: control byte 0x01 at offset 1: not text");
    /* Space padding is trimmed like NUL padding. */
    memset(hold, 0, sizeof hold);
    hold[32] = 0x6120, hold[33] = 0x2020;
    decode_images(&p, hold, input, &m);
    assert_int_equal(m.n_issues, 0);
    assert_int_equal(m.n_image_refs, 1);
    assert_string_equal(m.image_ref[0], "a");
}

static void check_plate_round_trip(const char *plate, const uint8_t *gb, size_t gblen)
{
    struct rsu_profile p;
    load_generic(&p);
    uint16_t hold[IMG] = {0}, input[IMG] = {0};
    struct rsu_measurement m = {0}, back;
    snprintf(m.plate, sizeof m.plate, "%s", plate);
    encode_ok(&p, &m, hold, input);
    uint8_t bytes[16];
    for (int i = 0; i < 8; i++) {
        bytes[2 * i] = (uint8_t)(hold[24 + i] >> 8);
        bytes[2 * i + 1] = (uint8_t)hold[24 + i];
    }
    assert_memory_equal(bytes, gb, gblen);
    for (size_t i = gblen; i < sizeof bytes; i++)
        assert_int_equal(bytes[i], 0);
    decode_images(&p, hold, input, &back);
    assert_int_equal(back.n_issues, 0);
    assert_string_equal(back.plate, plate);
}

static void test_gb18030_plates(void **state)
{
    (void)state;
    static const uint8_t yu[] = {0xD4, 0xA5, 'A', '1', '2', '3', '4', '5'};
    static const uint8_t jing[] = {0xBE, 0xA9, 'A', 'D', '1', '2', '3', '4', '5'};
    check_plate_round_trip("豫A12345", yu, sizeof yu);
    check_plate_round_trip("京AD12345", jing, sizeof jing);

    struct rsu_profile p;
    load_generic(&p);
    uint16_t hold[IMG], input[IMG];
    struct rsu_measurement m = {0};
    char err[256];
    snprintf(m.plate, sizeof m.plate, "豫A123456789012345");
    assert_int_equal(rsu_profile_encode(&p, &m, hold, IMG, input, IMG, err, sizeof err), -1);
    assert_string_equal(err, "plate: '豫A123456789012345' does not fit 8 registers");
}

static void fill_all(struct rsu_measurement *m)
{
    static const double v[RSU_F_COUNT] = {
        [RSU_F_OPACITY] = 12.5,   [RSU_F_RINGELMANN] = 1.5,  [RSU_F_NO] = 300,
        [RSU_F_CO] = 0.42,        [RSU_F_HC] = 120,          [RSU_F_CO2] = 13.75,
        [RSU_F_SPEED] = 42.3,     [RSU_F_ACCEL] = -1.25,     [RSU_F_VSP] = 3.2,
        [RSU_F_WIND_SPEED] = 2.4, [RSU_F_WIND_DIR] = 270,    [RSU_F_AMBIENT_TEMP] = -12.5,
        [RSU_F_HUMIDITY] = 55.5,  [RSU_F_PRESSURE] = 101.32, [RSU_F_SLOPE] = -2.5,
    };
    memset(m, 0, sizeof *m);
    for (int f = 0; f < RSU_F_COUNT; f++) {
        m->value[f] = v[f];
        m->present |= 1u << f;
    }
    snprintf(m->plate, sizeof m->plate, "京AD12345");
    m->plate_colour = RSU_COLOUR_YELLOW_GREEN;
    m->has_device_time = true;
    m->device_time_ms = 1700000000000LL;
    m->n_image_refs = 2;
    snprintf(m->image_ref[0], RSU_IMAGE_REF_MAX, "ftp://10.0.0.5/2024/far-000123.jpg");
    snprintf(m->image_ref[1], RSU_IMAGE_REF_MAX, "near-000123.jpg");
}

static void test_round_trip_every_field(void **state)
{
    (void)state;
    struct rsu_profile p;
    load_generic(&p);
    uint16_t hold[IMG] = {0}, input[IMG] = {0};
    struct rsu_measurement m, back;
    fill_all(&m);
    encode_ok(&p, &m, hold, input);
    decode_images(&p, hold, input, &back);
    assert_int_equal(back.n_issues, 0);
    assert_int_equal(back.present, (1u << RSU_F_COUNT) - 1);
    for (int f = 0; f < RSU_F_COUNT; f++) {
        /* Exact: decimal scales divide instead of multiplying, float32 keeps 7 digits. */
        if (back.value[f] != m.value[f])
            fail_msg("%s: %.17g != %.17g", rsu_field_name(f), back.value[f], m.value[f]);
    }
    assert_string_equal(back.plate, m.plate);
    assert_int_equal(back.plate_colour, RSU_COLOUR_YELLOW_GREEN);
    assert_int_equal(back.plate_colour_code, 5);
    assert_true(back.has_device_time);
    assert_int_equal(back.device_time_ms, m.device_time_ms);
    assert_int_equal(back.n_image_refs, 2);
    assert_string_equal(back.image_ref[0], m.image_ref[0]);
    assert_string_equal(back.image_ref[1], m.image_ref[1]);

    /* A value the register cannot hold is refused, not wrapped. */
    char err[256];
    m.value[RSU_F_ACCEL] = 400; /* s16 at 0.01: 40000 */
    assert_int_equal(rsu_profile_encode(&p, &m, hold, IMG, input, IMG, err, sizeof err), -1);
    assert_string_equal(err, "accel: 400 is raw 40000, outside the register's -32768..32767");
    m.value[RSU_F_ACCEL] = 0;
    m.plate_colour = RSU_COLOUR_UNKNOWN;
    m.plate_colour_code = 3; /* raw code passes through */
    encode_ok(&p, &m, hold, input);
    assert_int_equal(hold[21], 3);
    assert_int_equal(rsu_profile_encode(&p, &m, hold, 20, input, IMG, err, sizeof err), -1);
}

static void test_blocks(void **state)
{
    (void)state;
    struct rsu_profile p;
    char text[4096];
    struct rsu_block b[RSU_BLOCKS_MAX];
    /* Gap of 5 merges, gap of 20 splits, tables never mix. */
    snprintf(text, sizeof text, "%s%s", head,
             "[field opacity]\naddress = 10\ntype = u16\n"
             "[field no]\naddress = 16\ntype = u32\n"
             "[field co]\naddress = 38\ntype = u16\n"
             "[field hc]\ntable = input\naddress = 10\ntype = u16\n");
    parse_ok(text, &p);
    assert_int_equal(rsu_profile_blocks(&p, b, RSU_BLOCKS_MAX), 3);
    assert_int_equal(b[0].address, 10);
    assert_int_equal(b[0].count, 8);
    assert_int_equal(b[1].address, 38);
    assert_int_equal(b[1].count, 1);
    assert_int_equal(b[2].table, RSU_TABLE_INPUT);
    /* 125 registers per read at most. */
    snprintf(text, sizeof text, "%s%s", head,
             "[field image_far]\naddress = 10\ntype = string\nlength = 63\n"
             "[field image_near]\naddress = 73\ntype = string\nlength = 63\n"
             "[field plate]\naddress = 136\ntype = string\nlength = 16\n");
    parse_ok(text, &p);
    assert_int_equal(rsu_profile_blocks(&p, b, RSU_BLOCKS_MAX), 2);
    assert_int_equal(b[0].address, 10);
    assert_int_equal(b[0].count, 63);
    assert_int_equal(b[1].address, 73);
    assert_int_equal(b[1].count, 79);
    /* Never across the ack register, whose value changes when it is written. */
    snprintf(text, sizeof text,
             "[profile]\nname = t\n[sequence]\naddress = 0\ntype = u16\n"
             "[ack]\naddress = 12\ntype = u16\n"
             "[field opacity]\naddress = 10\ntype = u16\n[field no]\naddress = 14\ntype = u16\n");
    parse_ok(text, &p);
    assert_int_equal(rsu_profile_blocks(&p, b, RSU_BLOCKS_MAX), 2);
    assert_int_equal(b[0].count, 1);
    assert_int_equal(b[1].address, 14);
    /* Only max are written, the count says how many were needed. */
    assert_int_equal(rsu_profile_blocks(&p, b, 1), 2);
}

static void test_reg_helpers(void **state)
{
    (void)state;
    struct rsu_reg big = {.type = RSU_TYPE_U32, .words = RSU_WORDS_BIG};
    struct rsu_reg little = {.type = RSU_TYPE_U32, .words = RSU_WORDS_LITTLE};
    struct rsu_reg one = {.type = RSU_TYPE_U16};
    uint16_t w[2];
    rsu_reg_put_u32(&big, 0x12345678, w);
    assert_int_equal(w[0], 0x1234);
    assert_int_equal(w[1], 0x5678);
    assert_int_equal(rsu_reg_get_u32(&big, w), 0x12345678);
    rsu_reg_put_u32(&little, 0x12345678, w);
    assert_int_equal(w[0], 0x5678);
    assert_int_equal(rsu_reg_get_u32(&little, w), 0x12345678);
    rsu_reg_put_u32(&one, 0xABCD, w);
    assert_int_equal(rsu_reg_get_u32(&one, w), 0xABCD);
    assert_int_equal(rsu_reg_words(&one), 1);
    assert_int_equal(rsu_reg_words(&big), 2);
}

static void test_names(void **state)
{
    (void)state;
    for (int f = 0; f < RSU_X_COUNT; f++)
        assert_int_equal(rsu_profile_field_by_name(rsu_profile_field_name(f)), f);
    assert_int_equal(rsu_field_by_name("plate"), -1);
    assert_int_equal(rsu_profile_field_by_name("nox"), -1);
    assert_string_equal(rsu_field_name(RSU_F_NO), "no");
    assert_string_equal(rsu_field_unit(RSU_F_NO), "ppm");
    for (int c = RSU_COLOUR_BLUE; c <= RSU_COLOUR_OTHER; c++)
        assert_int_equal(rsu_colour_by_name(rsu_colour_name(c)), c);
    assert_int_equal(rsu_colour_by_name("pink"), -1);
    double lo, hi;
    rsu_field_range(RSU_F_PRESSURE, &lo, &hi);
    assert_near(lo, 50, 0);
    assert_near(hi, 120, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generic_profile),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_line_too_long),
        cmocka_unit_test(test_types_and_word_orders),
        cmocka_unit_test(test_invalid_and_garbage),
        cmocka_unit_test(test_text_issues),
        cmocka_unit_test(test_gb18030_plates),
        cmocka_unit_test(test_round_trip_every_field),
        cmocka_unit_test(test_blocks),
        cmocka_unit_test(test_reg_helpers),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
