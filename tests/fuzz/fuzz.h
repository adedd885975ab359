/* SPDX-License-Identifier: MIT */
/*
 * Shared by the fuzz targets: invariant checks that abort in every build type
 * (libFuzzer keeps the input as a crash), and small input helpers.
 */
#ifndef RSGW_FUZZ_H
#define RSGW_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a C string (up to its first NUL). The caller frees it. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t len = nul ? (size_t)(nul - data) : size;
    char *text = malloc(len + 1);
    FUZZ_CHECK(text != NULL);
    memcpy(text, data, len);
    text[len] = '\0';
    return text;
}

/* s holds a NUL within its cap bytes. */
static inline bool fuzz_terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

/* Strict UTF-8 (no overlong forms, surrogates or code points above U+10FFFF), written
 * apart from the code under test so that the check does not share its mistakes. */
static inline bool fuzz_utf8(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        unsigned c = *s, n;
        uint32_t cp, min;
        if (c < 0x80) {
            s++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            n = 1, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0)
            n = 2, cp = c & 0x0F, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4)
            n = 3, cp = c & 0x07, min = 0x10000;
        else
            return false;
        for (unsigned k = 1; k <= n; k++) {
            if ((s[k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[k] & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        s += n + 1;
    }
    return true;
}

/* Reads the input front to back; past its end every read gives 0. */
struct fuzz_bytes {
    const uint8_t *p;
    size_t left;
};

static inline uint8_t fuzz_u8(struct fuzz_bytes *b)
{
    if (b->left == 0)
        return 0;
    b->left--;
    return *b->p++;
}

static inline uint16_t fuzz_u16(struct fuzz_bytes *b)
{
    uint16_t hi = fuzz_u8(b);
    return (uint16_t)(hi << 8 | fuzz_u8(b));
}

static inline uint32_t fuzz_u32(struct fuzz_bytes *b)
{
    uint32_t hi = fuzz_u16(b);
    return hi << 16 | fuzz_u16(b);
}

#endif
