/* Vehicles: VIN validation (length, characters, check digit), registering,
 * person–vehicle relations both ways, and the 360 view. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */
#define DAY 86400000LL
#define VIN1 "LSVAU218XN2183294"
#define VIN2 "1M8GDM9AXKP042788"

static int setup(void **state)
{
    crm_db *db;
    if (crm_db_open(&db, ":memory:", NULL) != 0)
        return -1;
    crm_db_set_time(db, T0);
    *state = db;
    return 0;
}

static int teardown(void **state)
{
    crm_db_close(*state);
    return 0;
}

static void vins_are_checked(void **state)
{
    (void)state;
    assert_int_equal(crm_vin_check(VIN1), 0);
    assert_int_equal(crm_vin_check(VIN2), 0);
    assert_int_equal(crm_vin_check("lsvau218xn2183294"), 0); /* case folds */
    assert_crm_error(crm_vin_check("LSVAU2180N2183294"), CRM_EINVALID, "vin: check digit is 0, expected X");
    assert_crm_error(crm_vin_check("LSVAU218XN218329"), CRM_EINVALID, "expected 17 characters, got 16");
    assert_crm_error(crm_vin_check("LSVAU218XN21832I4"), CRM_EINVALID, "character 16 ('I') is not allowed");
    assert_crm_error(crm_vin_check("LSVAU218XN2183-94"), CRM_EINVALID, "character 15");
    assert_crm_error(crm_vin_check(NULL), CRM_EINVALID, "vin: required");
}

static void people_and_vehicles_relate_both_ways(void **state)
{
    crm_db *db = *state;
    crm_resolve_result a, b;
    assert_int_equal(crm_customer_resolve_json(&a, db, "{\"identities\":[{\"kind\":\"phone\",\"value\":\"13800000001\"}]}", NULL), 0);
    assert_int_equal(crm_customer_resolve_json(&b, db, "{\"identities\":[{\"kind\":\"phone\",\"value\":\"13800000002\"}]}", NULL), 0);
    assert_int_equal(crm_vehicle_put(db, "lsvau218xn2183294", "星途 LX", 2025, T0 - 30 * DAY, 0), 0);
    assert_int_equal(crm_vehicle_put(db, VIN2, "瑶光", 2026, 0, 0), 0);
    assert_int_equal(crm_vehicle_relate(db, VIN1, a.customer_id, CRM_VEHICLE_OWNER, T0 - 30 * DAY, 0), 0);
    assert_int_equal(crm_vehicle_relate(db, VIN1, b.customer_id, CRM_VEHICLE_DRIVER, 0, T0 + 90 * DAY), 0);
    assert_int_equal(crm_vehicle_relate(db, VIN2, a.customer_id, CRM_VEHICLE_DRIVER, 0, 0), 0);

    char *json;
    assert_int_equal(crm_vehicle_get_json(&json, db, VIN1), 0);
    assert_non_null(strstr(json, "\"model\":\"星途 LX\",\"year\":2025,\"purchased_at\":\"2025-12-02T00:00:00.000Z\","
                                 "\"serviced_at\":null"));
    assert_non_null(strstr(json, a.customer_id));
    assert_non_null(strstr(json, "\"role\":\"driver\",\"since\":\"2026-01-01T00:00:00.000Z\",\"until\":\"2026-04-01"));
    crm_free(json);
    assert_int_equal(crm_customer_vehicles_json(&json, db, a.customer_id), 0);
    assert_non_null(strstr(json, VIN1));
    assert_non_null(strstr(json, VIN2));
    assert_non_null(strstr(json, "\"model\":\"瑶光\""));
    crm_free(json);

    /* Rules see the vehicles a customer has now. */
    size_t n;
    assert_int_equal(crm_tag_rule_define(&n, db, "two_cars", "vehicles >= 2"), 0);
    assert_int_equal(n, 1);
    crm_db_set_time(db, T0 + 100 * DAY);
    assert_int_equal(crm_tag_rule_define(&n, db, "drivers", "vehicles > 0"), 0);
    assert_int_equal(n, 1); /* b stopped driving on day 90 */

    /* The 360 view brings everything together. */
    assert_int_equal(crm_member_enrol(db, a.customer_id, "M-77", NULL), 0);
    assert_int_equal(crm_tag_assign(db, a.customer_id, "vip", "dcc"), 0);
    assert_int_equal(crm_customer_view_json(&json, db, a.customer_id), 0);
    assert_non_null(strstr(json, "\"member\":{\"member_no\":\"M-77\",\"tier\":null,\"balance\":0"));
    assert_non_null(strstr(json, "\"tag\":\"vip\""));
    assert_non_null(strstr(json, "\"tag\":\"two_cars\""));
    assert_non_null(strstr(json, "\"vehicles\":[{\"vin\":\"" VIN2 "\",\"role\":\"driver\""));
    assert_non_null(strstr(json, "{\"vin\":\"" VIN1 "\",\"role\":\"owner\""));
    crm_free(json);
    assert_int_equal(crm_customer_view_json(&json, db, b.customer_id), 0);
    assert_non_null(strstr(json, "\"member\":null"));
    crm_free(json);

    /* Updating keeps created_at; bad input changes nothing. */
    assert_int_equal(crm_vehicle_put(db, VIN2, "瑶光 2026", 2026, 0, T0 + 99 * DAY), 0);
    /* The vehicle's trail is readable by its VIN (events of natural-key
     * records were once refused for not being UUIDs). */
    assert_int_equal(test_count_events(db, VIN2), 2); /* registered, updated */
    assert_crm_error(crm_vehicle_put(db, VIN2, "", 2026, 0, 0), CRM_EINVALID, "model");
    assert_crm_error(crm_vehicle_put(db, VIN2, "x", 1900, 0, 0), CRM_EINVALID, "year: expected 1980 to 2100, got 1900");
    assert_crm_error(crm_vehicle_relate(db, "LFV2A21KXM4000001", a.customer_id, CRM_VEHICLE_OWNER, 0, 0), CRM_ENOTFOUND,
                     "vehicle LFV2A21KXM4000001");
    assert_crm_error(crm_vehicle_relate(db, VIN2, a.customer_id, CRM_VEHICLE_OWNER, T0, T0), CRM_EINVALID, "until");
    assert_crm_error(crm_vehicle_relate(db, VIN2, "nope", CRM_VEHICLE_OWNER, 0, 0), CRM_EINVALID, "customer_id");
    assert_crm_error(crm_vehicle_get_json(&json, db, "LFV2A21KXM4000001"), CRM_ENOTFOUND, NULL);
    crm_vehicle_role role;
    assert_int_equal(crm_vehicle_role_parse(&role, "driver"), 0);
    assert_int_equal(role, CRM_VEHICLE_DRIVER);
    assert_string_equal(crm_vehicle_role_name(CRM_VEHICLE_OWNER), "owner");
    assert_crm_error(crm_vehicle_role_parse(&role, "passenger"), CRM_EINVALID, "unknown role");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vins_are_checked),
        cmocka_unit_test_setup_teardown(people_and_vehicles_relate_both_ways, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
