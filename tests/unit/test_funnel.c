/* The funnel against hand-computed expectations: reached counts with
 * skipped stages, conversions, time in stage, response time, groups, months
 * in a time zone, JSON and CSV. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */
#define HOUR 3600000LL

static int setup_memory(void **state)
{
    return test_setup_memory_db(state, T0);
}

static void add(crm_db *db, char *id, const char *doc)
{
    crm_ingest_result r;
    assert_int_equal(crm_lead_ingest(&r, db, doc), 0);
    memcpy(id, r.id, CRM_ID_LEN + 1);
}

static void move(crm_db *db, const char *id, int64_t at, crm_lead_status to, const char *dealer, const char *reason)
{
    crm_transition t = CRM_TRANSITION_INIT;
    t.dealer_id = dealer;
    t.reason = reason;
    crm_db_set_time(db, at);
    assert_int_equal(crm_lead_transition(db, id, to, &t), 0);
}

/* L1 website: assigned 1h, contacted 3h, visited 5h, ordered 9h (no test
 * drive), delivered 21h. L2 website: assigned 2h, lost 4h. L3 dcc:
 * contacted 1h (never assigned), invalid 2h. L4 dcc: untouched. */
static void make_history(crm_db *db)
{
    char l1[40], l2[40], l3[40], l4[40];
    add(db, l1, "{\"channel\":\"website\",\"phone\":\"13800000001\",\"campaign\":\"C1\",\"model\":\"EX5\"}");
    add(db, l2, "{\"channel\":\"website\",\"phone\":\"13800000002\",\"model\":\"EX5\"}");
    add(db, l3, "{\"channel\":\"dcc\",\"phone\":\"13800000003\"}");
    add(db, l4, "{\"channel\":\"dcc\",\"phone\":\"13800000004\",\"campaign\":\"C1\"}");
    move(db, l1, T0 + 1 * HOUR, CRM_LEAD_ASSIGNED, "D1", NULL);
    move(db, l1, T0 + 3 * HOUR, CRM_LEAD_CONTACTED, NULL, NULL);
    move(db, l1, T0 + 5 * HOUR, CRM_LEAD_VISITED, NULL, NULL);
    move(db, l1, T0 + 9 * HOUR, CRM_LEAD_ORDERED, NULL, NULL);
    move(db, l1, T0 + 21 * HOUR, CRM_LEAD_DELIVERED, NULL, NULL);
    move(db, l2, T0 + 2 * HOUR, CRM_LEAD_ASSIGNED, "D1", NULL);
    move(db, l2, T0 + 4 * HOUR, CRM_LEAD_LOST, NULL, "no budget");
    move(db, l3, T0 + 1 * HOUR, CRM_LEAD_CONTACTED, NULL, NULL);
    move(db, l3, T0 + 2 * HOUR, CRM_LEAD_INVALID, NULL, NULL);
}

static void assert_near(double got, double want)
{
    if (fabs(got - want) > 1e-9)
        fail_msg("got %.12g, want %.12g", got, want);
}

static void overall_matches_hand_computation(void **state)
{
    crm_db *db = *state;
    make_history(db);
    crm_funnel *f;
    assert_int_equal(crm_funnel_compute(&f, db, NULL), 0);
    assert_int_equal(crm_funnel_row_count(f), 1);
    const crm_funnel_row *r = crm_funnel_row_at(f, 0);
    assert_string_equal(r->group, "all");
    /* L3 skipped assigned: it reached it by reaching contacted */
    static const int64_t reached[] = { 4, 3, 2, 1, 1, 1, 1 };
    for (int s = 0; s < CRM_FUNNEL_STAGES; s++)
        assert_int_equal(r->reached[s], reached[s]);
    static const double conv[] = { 1, 0.75, 2.0 / 3, 0.5, 1, 1, 1 };
    for (int s = 0; s < CRM_FUNNEL_STAGES; s++)
        assert_near(r->conversion[s], conv[s]);
    assert_int_equal(r->lost, 1);
    assert_int_equal(r->invalid, 1);
    /* new: 1h, 2h, 1h; assigned: 2h, 2h; contacted: 2h, 1h; visited 4h;
     * test drive: nobody; ordered 12h; delivered: nobody left it */
    static const double hours[] = { 4.0 / 3, 2, 1.5, 4, -1, 12, -1 };
    for (int s = 0; s < CRM_FUNNEL_STAGES; s++)
        assert_near(r->avg_stage_ms[s], hours[s] < 0 ? -1 : hours[s] * HOUR);
    /* only L1 was contacted after an assignment: 2h */
    assert_int_equal(r->responded, 1);
    assert_near(r->avg_response_ms, 2.0 * HOUR);
    assert_null(crm_funnel_row_at(f, 1));
    crm_funnel_free(f);
}

static void groups_by_channel_campaign_dealer(void **state)
{
    crm_db *db = *state;
    make_history(db);
    crm_funnel_options o = CRM_FUNNEL_OPTIONS_INIT;
    o.by = CRM_FUNNEL_CHANNEL;
    crm_funnel *f;
    assert_int_equal(crm_funnel_compute(&f, db, &o), 0);
    assert_int_equal(crm_funnel_row_count(f), 2);
    const crm_funnel_row *dcc = crm_funnel_row_at(f, 0), *web = crm_funnel_row_at(f, 1);
    assert_string_equal(dcc->group, "dcc");
    assert_string_equal(web->group, "website");
    assert_int_equal(dcc->reached[0], 2);
    assert_int_equal(dcc->reached[2], 1);
    assert_int_equal(dcc->reached[3], 0);
    assert_int_equal(dcc->invalid, 1);
    assert_int_equal(dcc->responded, 0);
    assert_near(dcc->avg_response_ms, -1);
    assert_int_equal(web->reached[1], 2);
    assert_int_equal(web->reached[6], 1);
    assert_near(web->conversion[2], 0.5);
    assert_int_equal(web->lost, 1);
    crm_funnel_free(f);

    o.by = CRM_FUNNEL_CAMPAIGN;
    assert_int_equal(crm_funnel_compute(&f, db, &o), 0);
    assert_int_equal(crm_funnel_row_count(f), 2);
    assert_string_equal(crm_funnel_row_at(f, 0)->group, "(none)");
    assert_int_equal(crm_funnel_row_at(f, 0)->reached[0], 2);
    assert_string_equal(crm_funnel_row_at(f, 1)->group, "C1");
    assert_int_equal(crm_funnel_row_at(f, 1)->reached[6], 1);
    crm_funnel_free(f);

    o.by = CRM_FUNNEL_DEALER;
    assert_int_equal(crm_funnel_compute(&f, db, &o), 0);
    assert_int_equal(crm_funnel_row_count(f), 2); /* (none): L3, L4; D1: L1, L2 */
    assert_string_equal(crm_funnel_row_at(f, 1)->group, "D1");
    assert_int_equal(crm_funnel_row_at(f, 1)->reached[1], 2);
    crm_funnel_free(f);

    /* a dealer's handle sees its own leads only */
    assert_int_equal(crm_db_set_scope(db, "D1"), 0);
    assert_int_equal(crm_funnel_compute(&f, db, NULL), 0);
    assert_int_equal(crm_funnel_row_at(f, 0)->reached[0], 2);
    crm_funnel_free(f);
}

static void months_follow_the_time_zone_and_render(void **state)
{
    crm_db *db = *state;
    char a[40], b[40];
    add(db, a, "{\"channel\":\"website\",\"phone\":\"13800000011\",\"created_at\":\"2025-12-31T20:00:00Z\"}");
    add(db, b, "{\"channel\":\"dcc\",\"campaign\":\"web,\\\"x\\\"\",\"phone\":\"13800000012\"}");
    (void)b;
    crm_funnel_options o = CRM_FUNNEL_OPTIONS_INIT;
    o.by = CRM_FUNNEL_MONTH;
    crm_funnel *f;
    assert_int_equal(crm_funnel_compute(&f, db, &o), 0);
    assert_int_equal(crm_funnel_row_count(f), 2);
    assert_string_equal(crm_funnel_row_at(f, 0)->group, "2025-12");
    crm_funnel_free(f);
    o.tz_offset_minutes = 480; /* Beijing: both in January */
    assert_int_equal(crm_funnel_compute(&f, db, &o), 0);
    assert_int_equal(crm_funnel_row_count(f), 1);
    assert_string_equal(crm_funnel_row_at(f, 0)->group, "2026-01");
    char *json;
    assert_int_equal(crm_funnel_to_json(&json, f), 0);
    assert_non_null(strstr(json, "\"by\":\"month\""));
    assert_non_null(strstr(json, "\"reached\":{\"new\":2,\"assigned\":0"));
    assert_non_null(strstr(json, "\"avg_response_hours\":null"));
    crm_free(json);
    crm_funnel_free(f);

    o = (crm_funnel_options)CRM_FUNNEL_OPTIONS_INIT;
    o.by = CRM_FUNNEL_CAMPAIGN;
    assert_int_equal(crm_funnel_compute(&f, db, &o), 0);
    char *csv;
    assert_int_equal(crm_funnel_to_csv(&csv, f), 0);
    const char *head = "group,new,assigned,contacted,visited,test_drive,ordered,delivered,conv_assigned,";
    assert_true(strncmp(csv, head, strlen(head)) == 0);
    /* a group with a comma and quotes is quoted, RFC 4180 */
    assert_non_null(strstr(csv, "\r\n\"web,\"\"x\"\"\",1,0,0,0,0,0,0,0.0000,"));
    crm_free(csv);
    crm_funnel_free(f);

    o.tz_offset_minutes = 900;
    assert_crm_error(crm_funnel_compute(&f, db, &o), CRM_EINVALID, "options.tz_offset_minutes");
    crm_funnel_by by;
    assert_crm_error(crm_funnel_by_parse(&by, "week"), CRM_EINVALID, "unknown grouping 'week'");
    assert_int_equal(crm_funnel_by_parse(&by, "model"), 0);
    assert_int_equal(by, CRM_FUNNEL_MODEL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(overall_matches_hand_computation, setup_memory, test_teardown_db),
        cmocka_unit_test_setup_teardown(groups_by_channel_campaign_dealer, setup_memory, test_teardown_db),
        cmocka_unit_test_setup_teardown(months_follow_the_time_zone_and_render, setup_memory, test_teardown_db),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
