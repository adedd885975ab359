/* SPDX-License-Identifier: MIT */
/* Simulator scenario files: what parses, and line-numbered errors for what does not. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* cmocka 1.1.5 has no double comparison (its float one rounds to float). */
#define assert_near(a, b, eps)                                                                     \
    do {                                                                                           \
        double got_ = (a), want_ = (b);                                                            \
        if (!(fabs(got_ - want_) <= (eps)))                                                        \
            fail_msg("%s = %.17g, want %.17g", #a, got_, want_);                                   \
    } while (0)

#include "rsusim.h"

static void test_parse_steps(void **state)
{
    (void)state;
    const char *text = "# drill\n"
                       "pass plate=豫A12345 colour=yellow opacity=12.5 no=300 speed=42 "
                       "device_time=1700000000 image_near=n.jpg\n"
                       "\n"
                       "wait 500   # half a second\n"
                       "fault silent 3000\n"
                       "fault slow 800 5000\n"
                       "fault garbage\n"
                       "fault crc 100\n"
                       "fault none\n"
                       "restart\n"
                       "pass colour=9\n";
    struct rsusim_scenario s;
    char err[256];
    if (rsusim_scenario_parse(text, "s.txt", &s, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(s.n_steps, 9);
    const struct rsusim_step *st = s.steps;
    assert_int_equal(st[0].kind, RSUSIM_STEP_PASS);
    assert_int_equal(st[0].line, 2);
    assert_string_equal(st[0].pass.plate, "豫A12345");
    assert_int_equal(st[0].pass.plate_colour, RSU_COLOUR_YELLOW);
    assert_true(rsu_has(&st[0].pass, RSU_F_OPACITY));
    assert_near(st[0].pass.value[RSU_F_OPACITY], 12.5, 0);
    assert_near(st[0].pass.value[RSU_F_NO], 300, 0);
    assert_false(rsu_has(&st[0].pass, RSU_F_CO));
    assert_true(st[0].pass.has_device_time);
    assert_int_equal(st[0].pass.device_time_ms, 1700000000000LL);
    assert_int_equal(st[0].pass.n_image_refs, 2);
    assert_string_equal(st[0].pass.image_ref[0], "");
    assert_string_equal(st[0].pass.image_ref[1], "n.jpg");
    assert_int_equal(st[1].kind, RSUSIM_STEP_WAIT);
    assert_int_equal(st[1].wait_ms, 500);
    assert_int_equal(st[1].line, 4);
    assert_int_equal(st[2].fault, RSUSIM_FAULT_SILENT);
    assert_int_equal(st[2].duration_ms, 3000);
    assert_int_equal(st[3].fault, RSUSIM_FAULT_SLOW);
    assert_int_equal(st[3].fault_ms, 800);
    assert_int_equal(st[3].duration_ms, 5000);
    assert_int_equal(st[4].fault, RSUSIM_FAULT_GARBAGE);
    assert_int_equal(st[4].duration_ms, 0);
    assert_int_equal(st[5].fault, RSUSIM_FAULT_CRC);
    assert_int_equal(st[6].fault, RSUSIM_FAULT_NONE);
    assert_int_equal(st[7].kind, RSUSIM_STEP_RESTART);
    assert_int_equal(st[8].pass.plate_colour, RSU_COLOUR_UNKNOWN);
    assert_int_equal(st[8].pass.plate_colour_code, 9);
    rsusim_scenario_free(&s);
    rsusim_scenario_free(&s); /* idempotent */
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *expect;
    } cases[] = {
        {"pass opasity=1\n", "s.txt:1: unknown field 'opasity'"},
        {"\n\npass opacity=abc\n", "s.txt:3: opacity 'abc' is not a number"},
        {"pass opacity=1 opacity=2\n", "s.txt:1: opacity given twice"},
        {"pass opacity\n", "s.txt:1: 'opacity' is not key=value"},
        {"pass colour=pink\n", "s.txt:1: colour 'pink' is not a colour name"},
        {"pass plate=豫A12345678901234567890123456789012345678901234567890\n",
         "s.txt:1: plate is longer than 47 bytes"},
        {"pass plate=\xff\n", "s.txt:1: plate is not valid UTF-8"},
        {"wait\n", "s.txt:1: wait '' is not a number of milliseconds"},
        {"wait -5\n", "s.txt:1: wait '-5' is not a number of milliseconds"},
        {"wait 5 6\n", "s.txt:1: unexpected '6' after wait"},
        {"fault\n", "s.txt:1: fault needs one of none, silent, slow, garbage, crc"},
        {"fault loud\n", "s.txt:1: fault needs one of"},
        {"fault slow\n", "s.txt:1: slow delay '' is not a number"},
        {"fault silent 1 2\n", "s.txt:1: unexpected '2' after fault silent"},
        {"fault none 5\n", "s.txt:1: unexpected '5' after fault none"},
        {"restart now\n", "s.txt:1: unexpected 'now' after restart"},
        {"# ok\njump 5\n", "s.txt:2: unknown step 'jump' (use pass, wait, fault, restart)"},
        {"pass device_time=yesterday\n", "s.txt:1: device_time 'yesterday' is not Unix seconds"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rsusim_scenario s;
        char err[256] = "";
        int rc = rsusim_scenario_parse(cases[i].text, "s.txt", &s, err, sizeof err);
        if (rc != -1 || strncmp(err, cases[i].expect, strlen(cases[i].expect)) != 0)
            fail_msg("case %zu: rc %d, got \"%s\", want \"%s...\"", i, rc, err, cases[i].expect);
        assert_null(s.steps);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_steps),
        cmocka_unit_test(test_parse_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
