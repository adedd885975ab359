/* SPDX-License-Identifier: MIT */
/*
 * Text in registers: conversion between a device's string encoding and the
 * UTF-8 the rest of rsgw uses. Internal to sensing/.
 */
#ifndef RSU_TEXT_H
#define RSU_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "rsu_profile.h"

#define RSU_TEXT_OK      0
#define RSU_TEXT_EINVAL  -1 /* not valid in the encoding */
#define RSU_TEXT_ETOOBIG -2 /* does not fit the output */

/* Strict UTF-8: no overlong forms, surrogates or code points past U+10FFFF. */
bool rsu_utf8_valid(const char *s, size_t len);

/* Device bytes -> NUL-terminated UTF-8 in out[outsize]. */
int rsu_text_to_utf8(enum rsu_encoding enc, const char *in, size_t inlen, char *out,
                     size_t outsize);

/* NUL-terminated UTF-8 -> device bytes (no terminator) in out[outsize]; *outlen set. */
int rsu_text_from_utf8(enum rsu_encoding enc, const char *in, char *out, size_t outsize,
                       size_t *outlen);

#endif
