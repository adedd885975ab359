/* SPDX-License-Identifier: MIT */
/* The demo's roadside OBD check over the in-process CAN bus (cmd_demo.c). */
#ifndef DEMO_OBD_H
#define DEMO_OBD_H

#include <stddef.h>

#include "config.h"
#include "obd_inspect.h"
#include "store.h"

/* Reads the simulated truck, judges it for plate and appends the record to st
 * (opened as writer). 0, or -1 with err set. */
int demo_obd_check(const struct config *cfg, store *st, const char *plate, int plate_colour,
                   struct obd_inspection *out, char *err, size_t errlen);

#endif
