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
#include <stdint.h>

#include "store.h"
#include "vehicle.h"

/* 1 found, 0 not found, <0 error (store_errmsg). plate is normalised first.
 * found means the plate is in the registry; its exemption is then the platform's when the
 * platform lists the plate with an exemption valid now (wall clock), whatever the registry
 * says (store_platform_exemptions_set() in store_sync.h), else the registry's own. A plate
 * only the platform lists is not found here: see registry_platform_exemption(). */
int registry_get(store *s, const char *plate, struct registry_vehicle *out);
/* The registry's own entry, without the platform's exemption: what an edit starts from
 * (get, change, put), so that the platform's exemption is not copied into the registry. */
int registry_get_own(store *s, const char *plate, struct registry_vehicle *out);
/* The platform's exemption for plate valid at now_ms (valid_until_ms 0 or after now_ms):
 * 1 and *out set, 0 none (*out = EXEMPT_NONE), <0 error. For plates that are not in the
 * registry (registry_get() already applies it to those that are). */
int registry_platform_exemption(store *s, const char *plate, int64_t now_ms,
                                enum vehicle_exemption *out);
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
