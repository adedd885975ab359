/* SPDX-License-Identifier: MIT */
/* The configuration file's diagnostics: every message names the file and line, whatever the name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

static struct config cfg; /* too big for the stack */
static struct config_diag diag;

static const char *find_msg(const char *needle)
{
    for (size_t i = 0; i < diag.n; i++)
        if (strstr(diag.msg[i], needle))
            return diag.msg[i];
    return NULL;
}

static void test_messages_name_file_and_line(void **state)
{
    (void)state;
    assert_int_equal(config_parse("[gateway]\nbogus = 1\n", "rsgw.ini", &cfg, &diag), -1);
    assert_non_null(find_msg("rsgw.ini:2: unknown key 'bogus' in [gateway]"));
    assert_non_null(find_msg("rsgw.ini: [gateway] id = is required"));
}

/* Found by tests/fuzz/fuzz_config: a file name near the message size pushed the reason past
 * the end of the message (`rsgw check-config` with a long path). The name now keeps its end. */
static void test_long_file_name_keeps_the_reason(void **state)
{
    (void)state;
    char name[400];
    name[0] = '/';
    memset(name + 1, 'd', 300);
    snprintf(name + 301, sizeof name - 301, "/etc/rsgw.ini");
    const char *text = "[gateway]\n"
                       "bogus = 1\n"
                       "[lane north]\n"
                       "port = 502\n";
    assert_int_equal(config_parse(text, name, &cfg, &diag), -1);
    assert_true(diag.n >= 3);
    for (size_t i = 0; i < diag.n; i++) {
        assert_non_null(memchr(diag.msg[i], '\0', sizeof diag.msg[i]));
        assert_memory_equal(diag.msg[i], "...", 3);
        assert_true(strlen(diag.msg[i]) < sizeof diag.msg[i] - 1); /* nothing was cut */
    }
    assert_non_null(find_msg("dddd/etc/rsgw.ini:2: unknown key 'bogus' in [gateway]"));
    assert_non_null(find_msg("/etc/rsgw.ini: [gateway] id = is required"));
    /* Lane checks name the (stored, shorter) path too. */
    assert_non_null(find_msg(": lane north: transport tcp needs host ="));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages_name_file_and_line),
        cmocka_unit_test(test_long_file_name_keeps_the_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
