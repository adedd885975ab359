/* SPDX-License-Identifier: MIT */
/*
 * Simulator scenario files (sensing/rsusim.h). Each parsed pass is also
 * written into register images through the shipped profile, as rsusim_push()
 * does, and read back: a scenario line must never crash the simulator.
 */
#include <math.h>

#include "fuzz.h"
#include "rsu_profile.h"
#include "rsusim.h"

#define PROFILE_PATH RSGW_SOURCE_DIR "/deploy/profiles/generic-rsu.ini"

static struct rsu_profile profile;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char err[256];
    if (rsu_profile_load(PROFILE_PATH, &profile, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_scenario: %s\n", err);
        abort();
    }
    return 0;
}

static void check_pass(const struct rsu_measurement *m)
{
    FUZZ_CHECK(fuzz_terminated(m->plate, sizeof m->plate) && fuzz_utf8(m->plate));
    FUZZ_CHECK(m->n_image_refs <= RSU_IMAGE_REFS);
    for (size_t i = 0; i < RSU_IMAGE_REFS; i++)
        FUZZ_CHECK(fuzz_terminated(m->image_ref[i], RSU_IMAGE_REF_MAX) &&
                   fuzz_utf8(m->image_ref[i]));
    FUZZ_CHECK((unsigned)m->plate_colour <= RSU_COLOUR_OTHER);
    FUZZ_CHECK(m->present >> RSU_F_COUNT == 0);
    for (int f = 0; f < RSU_F_COUNT; f++)
        FUZZ_CHECK(!rsu_has(m, (enum rsu_field)f) || isfinite(m->value[f]));
}

/* The simulator's path for one pass: encode into register images, then the gateway's decode. */
static void replay(const struct rsu_measurement *pass)
{
    enum { IMAGE_REGS = 96 }; /* the generic profile ends at holding 95, input 4 */
    uint16_t holding[IMAGE_REGS] = {0}, input[IMAGE_REGS] = {0};
    char err[160];
    if (rsu_profile_encode(&profile, pass, holding, IMAGE_REGS, input, IMAGE_REGS, err,
                           sizeof err) != 0) {
        FUZZ_CHECK(fuzz_terminated(err, sizeof err) && err[0]);
        return;
    }
    struct rsu_block blocks[RSU_BLOCKS_MAX];
    uint16_t *regs[RSU_BLOCKS_MAX];
    size_t nb = rsu_profile_blocks(&profile, blocks, RSU_BLOCKS_MAX);
    for (size_t b = 0; b < nb; b++)
        regs[b] = (blocks[b].table == RSU_TABLE_INPUT ? input : holding) + blocks[b].address;
    struct rsu_measurement m;
    memset(&m, 0, sizeof m);
    rsu_profile_decode(&profile, blocks, regs, nb, &m);
    FUZZ_CHECK(m.n_issues <= RSU_ISSUES_MAX);
    FUZZ_CHECK(fuzz_terminated(m.plate, sizeof m.plate) && fuzz_utf8(m.plate));
    /* The plate comes back as written, or not at all (control bytes are reported as issues). */
    FUZZ_CHECK(m.plate[0] == '\0' || strcmp(m.plate, pass->plate) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    struct rsusim_scenario s;
    char err[256] = "";
    int rc = rsusim_scenario_parse(text, "fuzz.scenario", &s, err, sizeof err);
    free(text);
    FUZZ_CHECK(fuzz_terminated(err, sizeof err));
    if (rc != 0) {
        FUZZ_CHECK(rc == -1 && err[0] && s.steps == NULL && s.n_steps == 0);
        return 0;
    }
    FUZZ_CHECK(s.n_steps == 0 || s.steps != NULL);
    int prev_line = 0;
    for (size_t i = 0; i < s.n_steps; i++) {
        const struct rsusim_step *st = &s.steps[i];
        FUZZ_CHECK(st->line > prev_line);
        prev_line = st->line;
        switch (st->kind) {
        case RSUSIM_STEP_PASS:
            check_pass(&st->pass);
            replay(&st->pass);
            break;
        case RSUSIM_STEP_WAIT:
            FUZZ_CHECK(st->wait_ms >= 0 && st->wait_ms <= 86400000);
            break;
        case RSUSIM_STEP_FAULT:
            FUZZ_CHECK(st->fault >= RSUSIM_FAULT_NONE && st->fault <= RSUSIM_FAULT_CRC);
            FUZZ_CHECK(st->fault_ms >= 0 && st->duration_ms >= 0);
            break;
        case RSUSIM_STEP_RESTART:
            break;
        default:
            FUZZ_CHECK(!"unknown step kind");
        }
    }
    rsusim_scenario_free(&s);
    FUZZ_CHECK(s.steps == NULL && s.n_steps == 0);
    return 0;
}
