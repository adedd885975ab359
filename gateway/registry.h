/* SPDX-License-Identifier: MIT */
/*
 * Vehicle registry: plate -> fuel, emission stage, weight, class, VIN,
 * exemption. Lives in the store's database (table vehicles) but is reference
 * data, not evidence: a verdict copies the facts it used into its record.
 */
#ifndef REGISTRY_H
#define REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"
#include "vehicle.h"

/* 1 found, 0 not found, <0 error (store_errmsg). plate is normalised first. */
int registry_get(store *s, const char *plate, struct registry_vehicle *out);
int registry_put(store *s, const struct registry_vehicle *v);
/* 1 deleted, 0 was not there, <0 error. */
int registry_delete(store *s, const char *plate);

typedef int (*registry_fn)(void *ud, const struct registry_vehicle *v);
int registry_list(store *s, registry_fn fn, void *ud);

/*
 * Import a CSV file (UTF-8, header line naming the columns, see
 * docs/configuration.md). All or nothing: any bad line aborts the import with
 * "FILE:LINE: message" and nothing is changed.
 */
struct registry_import_result {
    size_t inserted;
    size_t updated;
};
int registry_import_csv(store *s, const char *path, struct registry_import_result *res, char *err,
                        size_t errlen);

/* Parse "key=value" edits for `rsgw registry set PLATE fuel=diesel stage=5 ...`. */
int registry_apply_edit(struct registry_vehicle *v, const char *key_eq_value, char *err,
                        size_t errlen);

#endif
