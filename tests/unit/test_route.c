/* Routing: exact capacity over 100,000 leads, weighted round-robin,
 * territory, relationship, working hours, score awareness, a new day,
 * reasons, rules validated with JSON paths, and assignment in the database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define T0 1767225600000LL /* 2026-01-01T00:00:00Z = 08:00 in Beijing */
#define HOUR 3600000LL

static const char *const RULES =
    "{\"tz_offset_minutes\":480,\"a_grade_min_conversion\":0.2,\"dealers\":["
    "{\"id\":\"D1\",\"regions\":[\"上海\"],\"weight\":3,\"capacity\":30000,\"conversion\":0.1},"
    "{\"id\":\"D2\",\"regions\":[\"上海\"],\"weight\":2,\"capacity\":20000,\"conversion\":0.25,"
    " \"consultants\":[{\"id\":\"S1\",\"capacity\":8000,\"weight\":1},{\"id\":\"S2\",\"capacity\":7000,\"weight\":1}]},"
    "{\"id\":\"D3\",\"regions\":[\"上海\",\"苏州\"],\"capacity\":10000,\"hours\":[\"09:00\",\"21:00\"]},"
    "{\"id\":\"D9\",\"regions\":[\"*\"],\"capacity\":5}]}";

static crm_router *router(const char *json)
{
    crm_router *r = NULL;
    if (crm_router_new(&r, json) != 0)
        fail_msg("rules refused: %s", crm_error_last()->message);
    return r;
}

static void capacity_is_exact_over_100k_leads(void **state)
{
    (void)state;
    crm_router *r = router(RULES);
    crm_lead l = { .channel = "website", .province = "上海", .test_drive = CRM_UNKNOWN };
    crm_route_result res;
    int routed = 0, refused = 0;
    /* 10:00 Beijing: every dealer open */
    for (int i = 0; i < 100000; i++) {
        int rc = crm_router_route(&res, r, &l, T0 + 2 * HOUR + i);
        if (rc == 0)
            routed++;
        else if (rc == CRM_ECONFLICT)
            refused++;
        else
            fail_msg("rc %d", rc);
        if (i == 599) { /* before anyone fills up: weights 3:2:1 exactly */
            assert_int_equal(crm_router_count(r, "D1", NULL), 300);
            assert_int_equal(crm_router_count(r, "D2", NULL), 200);
            assert_int_equal(crm_router_count(r, "D3", NULL), 100);
        }
    }
    /* D2 holds 20000 but its consultants only 15000 */
    assert_int_equal(crm_router_count(r, "D1", NULL), 30000);
    assert_int_equal(crm_router_count(r, "D2", NULL), 15000);
    assert_int_equal(crm_router_count(r, "D2", "S1"), 8000);
    assert_int_equal(crm_router_count(r, "D2", "S2"), 7000);
    assert_int_equal(crm_router_count(r, "D3", NULL), 10000);
    assert_int_equal(crm_router_count(r, "D9", NULL), 0); /* not the territory */
    assert_int_equal(routed, 55000);
    assert_int_equal(refused, 45000);
    assert_crm_error(crm_router_route(&res, r, &l, T0 + 3 * HOUR), CRM_ECONFLICT, "no dealer with room left today");
    /* the next day (Beijing) starts again */
    assert_int_equal(crm_router_route(&res, r, &l, T0 + 16 * HOUR + 1), 0);
    assert_int_equal(crm_router_count(r, res.dealer_id, NULL), 1);
    crm_router_free(r);
}

static void each_rule_and_its_reason(void **state)
{
    (void)state;
    crm_router *r = router(RULES);
    crm_route_result res;
    /* 08:30 Beijing: D3 is closed, the others are open */
    int64_t morning = T0 + HOUR / 2;
    crm_lead l = { .channel = "dcc", .province = "上海", .test_drive = CRM_UNKNOWN };
    for (int i = 0; i < 50; i++) {
        assert_int_equal(crm_router_route(&res, r, &l, morning), 0);
        assert_string_not_equal(res.dealer_id, "D3");
    }
    assert_non_null(strstr(res.reason, "territory 上海: D1 D2 D3; open now; weighted round-robin -> "));
    /* grade A: only D2 converts at 0.2 or better; its consultant is named */
    l.grade = "A";
    assert_int_equal(crm_router_route(&res, r, &l, morning), 0);
    assert_string_equal(res.dealer_id, "D2");
    assert_true(strcmp(res.owner_id, "S1") == 0 || strcmp(res.owner_id, "S2") == 0);
    assert_non_null(strstr(res.reason, "grade A: conversion >= 0.20"));
    assert_non_null(strstr(res.reason, "; consultant S"));
    /* an existing relationship wins, closed or not */
    l.grade = NULL;
    l.dealer_id = "D3";
    assert_int_equal(crm_router_route(&res, r, &l, morning), 0);
    assert_string_equal(res.dealer_id, "D3");
    assert_non_null(strstr(res.reason, "existing relationship -> D3"));
    assert_string_equal(res.owner_id, "");
    /* another region falls to the any-region dealer, capacity 5 */
    crm_lead far = { .channel = "dcc", .city = "拉萨", .test_drive = CRM_UNKNOWN };
    for (int i = 0; i < 5; i++) {
        assert_int_equal(crm_router_route(&res, r, &far, morning), 0);
        assert_string_equal(res.dealer_id, "D9");
    }
    assert_non_null(strstr(res.reason, "no dealer for the region; any-region dealers: D9"));
    assert_crm_error(crm_router_route(&res, r, &far, morning), CRM_ECONFLICT, "no dealer with room");
    /* 苏州 by city */
    crm_lead sz = { .channel = "dcc", .city = "苏州", .test_drive = CRM_UNKNOWN };
    assert_int_equal(crm_router_route(&res, r, &sz, T0 + 2 * HOUR), 0);
    assert_string_equal(res.dealer_id, "D3");
    crm_router_free(r);
}

static void bad_rules_name_the_path(void **state)
{
    (void)state;
    static const struct {
        const char *json, *needle;
    } cases[] = {
        { "[]", "rules: expected a JSON object" },
        { "{\"dealers\":[]}", "dealers: expected an array of 1 to" },
        { "{\"dealers\":[{\"id\":\"D1\",\"regions\":[\"x\"]}]}", "dealers[0].capacity: required" },
        { "{\"dealers\":[{\"id\":\"D1\",\"regions\":[\"x\"],\"capacity\":0}]}", "dealers[0].capacity: expected a positive integer" },
        { "{\"dealers\":[{\"id\":\"D1\",\"regions\":[],\"capacity\":1}]}", "dealers[0].regions:" },
        { "{\"dealers\":[{\"id\":\"D1\",\"regions\":[\"x\"],\"capacity\":1,\"hours\":[\"9am\",\"21:00\"]}]}",
          "dealers[0].hours[0]: expected \"HH:MM\"" },
        { "{\"dealers\":[{\"id\":\"D1\",\"regions\":[\"x\"],\"capacity\":1,\"consultants\":[{\"id\":\"S\"}]}]}",
          "dealers[0].consultants[0].capacity: required" },
        { "{\"dealers\":[{\"id\":\"D1\",\"regions\":[\"x\"],\"capacity\":1},{\"id\":\"D1\",\"regions\":[\"x\"],\"capacity\":1}]}",
          "dealers[1].id: 'D1' repeats dealers[0]" },
        { "{\"dealers\":[{\"id\":\"D1\",\"regions\":[\"x\"],\"capacity\":1,\"conversion\":2}]}", "dealers[0].conversion" },
        { "{\"dealer\":[]}", "dealers: expected" },
        { "{\"dealers\":[{\"id\":\"D1\",\"regions\":[\"x\"],\"capacity\":1}],\"colour\":1}", "colour: unknown member" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        crm_router *r = (crm_router *)0x1;
        int rc = crm_router_new(&r, cases[i].json);
        if (rc != CRM_EINVALID || !strstr(crm_error_last()->message, cases[i].needle))
            fail_msg("case %zu: rc %d, '%s', wanted '%s'", i, rc, crm_error_last()->message, cases[i].needle);
        assert_null(r);
    }
}

static void leads_are_assigned_with_the_reason(void **state)
{
    (void)state;
    crm_db *db;
    assert_int_equal(crm_db_open(&db, ":memory:", NULL), 0);
    crm_db_set_time(db, T0 + 2 * HOUR);
    crm_router *r = router("{\"dealers\":[{\"id\":\"D1\",\"regions\":[\"上海\"],\"capacity\":1,"
                           "\"consultants\":[{\"id\":\"S1\",\"capacity\":5}]}]}");
    crm_ingest_result a, b;
    assert_int_equal(crm_lead_ingest(&a, db, "{\"channel\":\"dcc\",\"phone\":\"13800000001\",\"province\":\"上海\"}"), 0);
    assert_int_equal(crm_lead_ingest(&b, db, "{\"channel\":\"dcc\",\"phone\":\"13800000002\",\"province\":\"上海\"}"), 0);
    crm_route_result res;
    assert_int_equal(crm_lead_route(&res, db, r, a.id), 0);
    crm_lead *l;
    assert_int_equal(crm_lead_get(&l, db, a.id), 0);
    assert_int_equal(l->status, CRM_LEAD_ASSIGNED);
    assert_string_equal(l->dealer_id, "D1");
    assert_string_equal(l->owner_id, "S1");
    crm_lead_free(l);
    crm_lead_stage *st;
    size_t n;
    assert_int_equal(crm_lead_stages(&st, &n, db, a.id), 0);
    assert_int_equal(n, 2);
    assert_string_equal(st[1].reason, res.reason);
    crm_free(st);
    /* routed once only; the second lead finds no room and stays new */
    assert_crm_error(crm_lead_route(&res, db, r, a.id), CRM_ECONFLICT, "only new leads");
    assert_crm_error(crm_lead_route(&res, db, r, b.id), CRM_ECONFLICT, "no dealer with room");
    assert_int_equal(crm_lead_get(&l, db, b.id), 0);
    assert_int_equal(l->status, CRM_LEAD_NEW);
    crm_lead_free(l);
    assert_int_equal(crm_router_count(r, "D1", NULL), 1);
    crm_router_free(r);
    /* a new router (another run) the same day counts the stored assignment:
     * capacity 1 is still used up */
    r = router("{\"dealers\":[{\"id\":\"D1\",\"regions\":[\"上海\"],\"capacity\":1,"
               "\"consultants\":[{\"id\":\"S1\",\"capacity\":5}]}]}");
    assert_crm_error(crm_lead_route(&res, db, r, b.id), CRM_ECONFLICT, "no dealer with room");
    assert_int_equal(crm_router_count(r, "D1", NULL), 1);
    assert_int_equal(crm_router_count(r, "D1", "S1"), 1);
    /* the next day it has room */
    crm_db_set_time(db, T0 + 26 * HOUR);
    assert_int_equal(crm_lead_route(&res, db, r, b.id), 0);
    crm_router_free(r);
    crm_db_close(db);
}

static void overdue_leads_are_recycled_and_routed_again(void **state)
{
    (void)state;
    crm_db *db;
    assert_int_equal(crm_db_open(&db, ":memory:", NULL), 0);
    crm_db_set_time(db, T0 + 2 * HOUR);
    crm_router *r = router("{\"tz_offset_minutes\":480,\"dealers\":["
                           "{\"id\":\"D1\",\"regions\":[\"上海\"],\"capacity\":5},"
                           "{\"id\":\"D2\",\"regions\":[\"上海\"],\"capacity\":5}]}");
    crm_ingest_result slow, fast;
    assert_int_equal(crm_lead_ingest(&slow, db, "{\"channel\":\"dcc\",\"phone\":\"13800000001\",\"province\":\"上海\"}"), 0);
    assert_int_equal(crm_lead_ingest(&fast, db, "{\"channel\":\"dcc\",\"phone\":\"13800000002\",\"province\":\"上海\"}"), 0);
    crm_route_result first, res;
    assert_int_equal(crm_lead_route(&first, db, r, slow.id), 0);
    assert_int_equal(crm_lead_route(&res, db, r, fast.id), 0);
    crm_db_set_time(db, T0 + 3 * HOUR);
    assert_int_equal(crm_lead_transition(db, fast.id, CRM_LEAD_CONTACTED, NULL), 0);
    size_t n = 99;
    crm_db_set_time(db, T0 + 25 * HOUR); /* 23 h after the assignment: not yet */
    assert_int_equal(crm_lead_recycle_overdue(&n, db, 24 * HOUR), 0);
    assert_int_equal(n, 0);
    crm_db_set_time(db, T0 + 26 * HOUR + 1);
    assert_int_equal(crm_lead_recycle_overdue(&n, db, 24 * HOUR), 0);
    assert_int_equal(n, 1);
    crm_lead *l;
    assert_int_equal(crm_lead_get(&l, db, slow.id), 0);
    assert_int_equal(l->status, CRM_LEAD_NEW);
    assert_null(l->dealer_id);
    assert_null(l->owner_id);
    crm_lead_free(l);
    assert_int_equal(crm_lead_get(&l, db, fast.id), 0);
    assert_int_equal(l->status, CRM_LEAD_CONTACTED);
    crm_lead_free(l);
    /* routed again, to the other dealer; the history has both assignments
     * and the recycling */
    assert_int_equal(crm_lead_route(&res, db, r, slow.id), 0);
    assert_string_not_equal(res.dealer_id, first.dealer_id);
    assert_non_null(strstr(res.reason, "recycled before, not back to "));
    crm_lead_stage *st;
    assert_int_equal(crm_lead_stages(&st, &n, db, slow.id), 0);
    assert_int_equal(n, 4);
    assert_int_equal(st[1].status, CRM_LEAD_ASSIGNED);
    assert_int_equal(st[2].status, CRM_LEAD_NEW);
    assert_string_equal(st[2].reason, "recycled: not contacted within 1440 minutes of assignment");
    assert_int_equal(st[3].status, CRM_LEAD_ASSIGNED);
    assert_string_equal(st[3].reason, res.reason);
    crm_free(st);
    assert_crm_error(crm_lead_recycle_overdue(&n, db, 0), CRM_EINVALID, "follow_up_ms");
    /* 4 events: created, assigned, recycled, assigned */
    assert_int_equal(test_count_events(db, slow.id), 4);
    crm_router_free(r);
    crm_db_close(db);
}

static void junk_leads_are_not_routed(void **state)
{
    (void)state;
    crm_db *db;
    assert_int_equal(crm_db_open(&db, ":memory:", NULL), 0);
    crm_db_set_time(db, T0 + 2 * HOUR);
#define JUNK_RULES(extra) "{\"dealers\":[{\"id\":\"D1\",\"regions\":[\"上海\"],\"capacity\":5}]" extra "}"
    char doc[256];
    snprintf(doc, sizeof doc, "%s", JUNK_RULES(""));
    crm_router *r = router(doc);
    crm_ingest_result junk, good;
    assert_int_equal(crm_lead_ingest(&junk, db, "{\"channel\":\"douyin\",\"phone\":\"13800138000\",\"province\":\"上海\"}"), 0);
    assert_int_equal(junk.quality, CRM_LEAD_QUALITY_JUNK);
    assert_int_equal(crm_lead_ingest(&good, db, "{\"channel\":\"douyin\",\"phone\":\"13912345670\",\"province\":\"上海\"}"), 0);
    crm_route_result res;
    assert_crm_error(crm_lead_route(&res, db, r, junk.id), CRM_ECONFLICT, "lead: junk (quality), not routed");
    assert_int_equal(crm_router_count(r, "D1", NULL), 0); /* no capacity spent */
    crm_lead *l;
    assert_int_equal(crm_lead_get(&l, db, junk.id), 0);
    assert_int_equal(l->status, CRM_LEAD_NEW);
    crm_lead_free(l);
    assert_int_equal(crm_lead_route(&res, db, r, good.id), 0);
    crm_router_free(r);
    /* Asked for, junk is routed like any other lead. */
    snprintf(doc, sizeof doc, "%s", JUNK_RULES(",\"route_junk\":true"));
    r = router(doc);
    assert_int_equal(crm_lead_route(&res, db, r, junk.id), 0);
    assert_string_equal(res.dealer_id, "D1");
    crm_router_free(r);
    snprintf(doc, sizeof doc, "%s", JUNK_RULES(",\"route_junk\":1"));
    assert_crm_error(crm_router_new(&r, doc), CRM_EINVALID, "route_junk: expected true or false");
    crm_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(junk_leads_are_not_routed),
        cmocka_unit_test(capacity_is_exact_over_100k_leads),
        cmocka_unit_test(each_rule_and_its_reason),
        cmocka_unit_test(bad_rules_name_the_path),
        cmocka_unit_test(leads_are_assigned_with_the_reason),
        cmocka_unit_test(overdue_leads_are_recycled_and_routed_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
