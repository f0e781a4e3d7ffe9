/* A customer's vehicles for the 360 view (vehicle.c). */
#ifndef CRM_CORE_VEHICLE_VIEW_H
#define CRM_CORE_VEHICLE_VIEW_H

#include <cjson/cJSON.h>

#include "core/core.h"

/* Append a customer's vehicles (with role, since, until) to a JSON array. */
int crm__customer_vehicles(crm_db *db, const char *customer_id, cJSON *arr);

#endif
