/* Tag bitmaps kept in step with customers (tag.c), for the other domains. */
#ifndef CRM_CORE_TAGSET_H
#define CRM_CORE_TAGSET_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "core/core.h"

/* Add a customer number to, or remove it from, a tag's bitmap. */
int crm__tagset_update(crm_db *db, const char *name, int64_t num, bool add);

/* Mark a customer active (created, unmerged) or not (merged away): segments
 * only ever contain active customers. */
int crm__tagset_customer_active(crm_db *db, int64_t num, bool active);

/* Append a customer's tags (manual and rule) to a JSON array. */
int crm__customer_tags(crm_db *db, const char *customer_id, int64_t num, cJSON *arr);

#endif
