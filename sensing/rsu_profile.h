/* SPDX-License-Identifier: MIT */
/*
 * Register-map profiles: how one vendor's remote-sensing unit lays out a pass
 * in Modbus registers. Format documented in docs/profiles.md; the shipped
 * generic profile is deploy/profiles/generic-rsu.ini.
 */
#ifndef RSU_PROFILE_H
#define RSU_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "rsu_measurement.h"

enum rsu_table { RSU_TABLE_HOLDING, RSU_TABLE_INPUT };

enum rsu_type {
    RSU_TYPE_U16,
    RSU_TYPE_S16,
    RSU_TYPE_U32,
    RSU_TYPE_S32,
    RSU_TYPE_FLOAT32,
    RSU_TYPE_STRING, /* plate, image references */
};

enum rsu_word_order {
    RSU_WORDS_BIG,    /* high word first (ABCD) */
    RSU_WORDS_LITTLE, /* low word first (CDAB) */
};

enum rsu_encoding { RSU_ENC_UTF8, RSU_ENC_GB18030 };

/* Non-numeric fields a profile can map besides enum rsu_field. */
enum rsu_extra_field {
    RSU_X_PLATE = RSU_F_COUNT,
    RSU_X_PLATE_COLOUR,
    RSU_X_DEVICE_TIME, /* u32 Unix seconds */
    RSU_X_IMAGE_FAR,
    RSU_X_IMAGE_NEAR,
    RSU_X_COUNT
};

struct rsu_reg {
    enum rsu_table table;
    uint16_t address;
    enum rsu_type type;
    enum rsu_word_order words;
    uint16_t length; /* registers, strings only */
    enum rsu_encoding encoding;
    double scale; /* value = raw * scale + offset */
    double offset;
    int has_invalid; /* raw value the device uses for "not available" */
    uint32_t invalid_raw;
    int line; /* profile line, for error messages */
};

#define RSU_COLOUR_MAP_MAX 16

struct rsu_profile {
    char name[64];
    char version[16];
    struct rsu_reg sequence; /* u16 or u32; 0 = no pass yet */
    struct rsu_reg ack;      /* the gateway writes the stored sequence here */
    unsigned mapped;         /* bit per field index (< RSU_X_COUNT) that is mapped */
    struct rsu_reg field[RSU_X_COUNT];
    size_t n_colours;
    struct {
        uint32_t code;
        enum rsu_plate_colour colour;
    } colour_map[RSU_COLOUR_MAP_MAX];
};

/*
 * Load a profile file. Returns 0, or -1 with a message like
 * "generic-rsu.ini:14: unknown type 'f32' (use u16, s16, u32, s32, float32, string)".
 */
int rsu_profile_load(const char *path, struct rsu_profile *out, char *err, size_t errlen);
int rsu_profile_parse(const char *text, const char *name_for_errors, struct rsu_profile *out,
                      char *err, size_t errlen);

/* Extra field names: "plate", "plate_colour", "device_time", "image_far", "image_near". */
const char *rsu_profile_field_name(int field);
int rsu_profile_field_by_name(const char *name);

/*
 * Contiguous register blocks that cover every mapped field of one table,
 * each at most 125 registers (one Modbus read). The sequence and ack
 * registers are not included.
 */
#define RSU_BLOCKS_MAX 8
struct rsu_block {
    enum rsu_table table;
    uint16_t address;
    uint16_t count;
};
size_t rsu_profile_blocks(const struct rsu_profile *p, struct rsu_block *out, size_t max);

/*
 * Decode a pass from the register blocks returned by rsu_profile_blocks(),
 * regs[i] holding blocks[i].count registers. Fills every field except seq,
 * read_time_ms, raw and fingerprint. Garbage never fails the call: it is
 * reported in m->issues and the affected field is left absent.
 */
void rsu_profile_decode(const struct rsu_profile *p, const struct rsu_block *blocks,
                        uint16_t *const *regs, size_t n_blocks, struct rsu_measurement *m);

/* The reverse, for the simulator: write m's fields into register images. */
int rsu_profile_encode(const struct rsu_profile *p, const struct rsu_measurement *m,
                       uint16_t *holding, size_t n_holding, uint16_t *input, size_t n_input,
                       char *err, size_t errlen);

/* Sequence register helpers: read a u16/u32 register pair, write it back. */
uint32_t rsu_reg_get_u32(const struct rsu_reg *r, const uint16_t *words);
void rsu_reg_put_u32(const struct rsu_reg *r, uint32_t v, uint16_t *words);
int rsu_reg_words(const struct rsu_reg *r); /* 1 or 2 for numbers, length for strings */

#endif
