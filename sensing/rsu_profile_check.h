/* SPDX-License-Identifier: MIT */
/* Whole-profile layout checks, internal to sensing/. */
#ifndef RSU_PROFILE_CHECK_H
#define RSU_PROFILE_CHECK_H

#include <stddef.h>

#include "rsu_profile.h"

/*
 * Registers that overlap, or fields that need more read blocks or raw bytes
 * than a measurement can hold. Returns 0 when the layout is fine, else the
 * profile line to blame (-1: no single line) with the reason in msg.
 */
int rsu_profile_check_layout(const struct rsu_profile *p, char *msg, size_t msglen);

#endif
