/* SPDX-License-Identifier: MIT */
/*
 * Register-map profiles (sensing/rsu_profile.h). Input: profile text, then
 * optionally a NUL and register words (big-endian) for a pass read through
 * the profile, as a device would present them.
 */
#include <math.h>

#include "fuzz.h"
#include "rsu_profile.h"

static void check_block(const struct rsu_block *b)
{
    FUZZ_CHECK(b->table == RSU_TABLE_HOLDING || b->table == RSU_TABLE_INPUT);
    FUZZ_CHECK(b->count >= 1 && b->count <= 125);
    FUZZ_CHECK((long)b->address + b->count <= 65536);
}

static void check_measurement(const struct rsu_profile *p, const struct rsu_measurement *m)
{
    FUZZ_CHECK(m->n_issues <= RSU_ISSUES_MAX);
    for (size_t i = 0; i < m->n_issues; i++)
        FUZZ_CHECK(fuzz_terminated(m->issues[i], RSU_ISSUE_LEN) && m->issues[i][0]);
    FUZZ_CHECK(fuzz_terminated(m->plate, sizeof m->plate) && fuzz_utf8(m->plate));
    FUZZ_CHECK(!m->plate[0] || (p->mapped & (1u << RSU_X_PLATE)));
    FUZZ_CHECK(m->n_image_refs <= RSU_IMAGE_REFS);
    for (size_t i = 0; i < m->n_image_refs; i++)
        FUZZ_CHECK(fuzz_terminated(m->image_ref[i], RSU_IMAGE_REF_MAX) &&
                   fuzz_utf8(m->image_ref[i]) && m->image_ref[i][0]);
    FUZZ_CHECK((unsigned)m->plate_colour <= RSU_COLOUR_OTHER);
    FUZZ_CHECK(!m->has_device_time || (p->mapped & (1u << RSU_X_DEVICE_TIME)));
    FUZZ_CHECK(m->present >> RSU_F_COUNT == 0);
    for (int f = 0; f < RSU_F_COUNT; f++) {
        if (!rsu_has(m, (enum rsu_field)f))
            continue;
        double min, max, v = m->value[f];
        rsu_field_range((enum rsu_field)f, &min, &max);
        FUZZ_CHECK(p->mapped & (1u << f));
        FUZZ_CHECK(isfinite(v) && v >= min && v <= max);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    size_t text_len = strlen(text);
    struct rsu_profile p;
    char err[256];
    int rc = rsu_profile_parse(text, "fuzz.ini", &p, err, sizeof err);
    free(text);
    FUZZ_CHECK(fuzz_terminated(err, sizeof err));
    if (rc != 0) {
        FUZZ_CHECK(rc == -1 && err[0]);
        return 0;
    }
    FUZZ_CHECK(p.mapped != 0 && p.mapped >> RSU_X_COUNT == 0);
    FUZZ_CHECK(fuzz_terminated(p.name, sizeof p.name) && p.name[0]);
    FUZZ_CHECK(fuzz_terminated(p.version, sizeof p.version));
    FUZZ_CHECK(p.n_colours <= RSU_COLOUR_MAP_MAX);

    struct rsu_block blocks[RSU_BLOCKS_MAX];
    size_t nb = rsu_profile_blocks(&p, blocks, RSU_BLOCKS_MAX);
    FUZZ_CHECK(nb >= 1 && nb <= RSU_BLOCKS_MAX); /* the parser refuses more */
    size_t words = 0;
    for (size_t i = 0; i < nb; i++) {
        check_block(&blocks[i]);
        words += blocks[i].count;
    }
    FUZZ_CHECK(2 * words <= RSU_RAW_MAX);

    /* One allocation per block, exactly its size, so a read past a block is caught. */
    struct fuzz_bytes in = {data + text_len, size - text_len};
    fuzz_u8(&in); /* the NUL */
    uint16_t *regs[RSU_BLOCKS_MAX];
    for (size_t i = 0; i < nb; i++) {
        regs[i] = malloc(blocks[i].count * sizeof regs[i][0]);
        FUZZ_CHECK(regs[i] != NULL);
        for (size_t k = 0; k < blocks[i].count; k++)
            regs[i][k] = fuzz_u16(&in);
    }
    struct rsu_measurement m;
    memset(&m, 0xA5, sizeof m); /* decode must set everything it reports */
    rsu_profile_decode(&p, blocks, regs, nb, &m);
    check_measurement(&p, &m);
    for (size_t i = 0; i < nb; i++)
        free(regs[i]);
    return 0;
}
