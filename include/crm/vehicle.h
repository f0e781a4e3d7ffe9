/*
 * crmcore — vehicles and person–vehicle relations.
 *
 * A vehicle is known by its VIN (17 characters, no I, O or Q, with the
 * check digit in position 9 as ISO 3779 / GB 16735 define it), its model
 * and model year, and its purchase and last service dates. People relate to
 * vehicles as owners or drivers, from a date (since) and possibly until one.
 */
#ifndef CRM_VEHICLE_H
#define CRM_VEHICLE_H

#include "common.h"
#include "db.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How a person relates to a vehicle. */
typedef enum crm_vehicle_role {
    CRM_VEHICLE_OWNER = 0,
    CRM_VEHICLE_DRIVER = 1
} crm_vehicle_role;

/** A vehicle as stored (borrowed from storage). */
typedef struct crm_vehicle {
    const char *vin;      /**< 17 upper-case characters */
    const char *model;
    int year;             /**< model year */
    int64_t purchased_at; /**< Unix ms, 0 when unknown */
    int64_t serviced_at;  /**< last service, Unix ms, 0 when unknown */
    int64_t created_at;
    int64_t updated_at;
} crm_vehicle;

/** One person–vehicle relation (borrowed from storage). */
typedef struct crm_vehicle_person {
    const char *vin;
    const char *customer_id;
    crm_vehicle_role role;
    int64_t since; /**< Unix ms */
    int64_t until; /**< Unix ms, 0 while it lasts */
} crm_vehicle_person;

/**
 * Check a VIN: 17 characters from 0-9 and A-Z without I, O and Q, and the
 * check digit in position 9.
 *
 * @return 0, or CRM_EINVALID saying what is wrong ("vin: check digit is 3, expected X")
 */
CRM_EXTERN(int) crm_vin_check(const char *vin);

/**
 * Register a vehicle, or update the one with that VIN (lower case is
 * folded to upper case).
 *
 * @param[in] model        1 to 64 bytes of UTF-8
 * @param[in] year         1980 to 2100
 * @param[in] purchased_at Unix ms, 0 when unknown
 * @param[in] serviced_at  Unix ms, 0 when unknown
 */
CRM_EXTERN(int) crm_vehicle_put(crm_db *db, const char *vin, const char *model, int year, int64_t purchased_at,
                                int64_t serviced_at);

/**
 * Relate a customer to a vehicle as owner or driver, or change the dates of
 * that relation.
 *
 * @param[in] since Unix ms (0: now)
 * @param[in] until Unix ms, 0 while it lasts; must be after since
 * @return 0, CRM_ENOTFOUND (vehicle or customer), CRM_EINVALID
 */
CRM_EXTERN(int) crm_vehicle_relate(crm_db *db, const char *vin, const char *customer_id, crm_vehicle_role role,
                                   int64_t since, int64_t until);

/**
 * A vehicle and its people as JSON: {"vin", "model", "year",
 * "purchased_at", "serviced_at", "people": [{"customer_id", "role",
 * "since", "until"}]}.
 *
 * @param[out] out NUL-terminated JSON, owned by the caller; free with crm_free()
 */
CRM_EXTERN(int) crm_vehicle_get_json(char **out, crm_db *db, const char *vin);

/**
 * A customer's vehicles as a JSON array: each vehicle with the relation
 * ("role", "since", "until").
 *
 * @param[out] out NUL-terminated JSON, owned by the caller; free with crm_free()
 */
CRM_EXTERN(int) crm_customer_vehicles_json(char **out, crm_db *db, const char *customer_id);

/** The name of a role ("owner", "driver"), or NULL when out of range. */
CRM_EXTERN(const char *) crm_vehicle_role_name(crm_vehicle_role role);

/**
 * Parse a role name.
 *
 * @return 0, or CRM_EINVALID
 */
CRM_EXTERN(int) crm_vehicle_role_parse(crm_vehicle_role *out, const char *name);

#ifdef __cplusplus
}
#endif

#endif /* CRM_VEHICLE_H */
