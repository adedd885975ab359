/* SPDX-License-Identifier: MIT */
/* Replace a small file atomically: readers see the old or the new one, never half. */
#ifndef ATOMICFILE_H
#define ATOMICFILE_H

#include <stddef.h>
#include <stdio.h>

/* fill writes the content to f; it is written to PATH.tmp and renamed over PATH. */
int atomicfile_replace(const char *path, void (*fill)(FILE *f, void *ud), void *ud, char *err,
                       size_t errlen);

#endif
