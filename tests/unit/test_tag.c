/* Tags, rule tags and their expression language, segments over bitmaps,
 * and campaign audiences that honour consent. */
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
#define N 6

typedef struct fixture {
    crm_db *db;
    char c[N][CRM_ID_LEN + 1];
} fixture;

/* Six customers: 0..2 members (gold, silver, silver), 0 and 3 with leads. */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    crm_loyalty_rules *rules;
    if (!f || crm_db_open(&f->db, ":memory:", NULL) || crm_loyalty_rules_load(&rules,
        "{\"tiers\":[{\"name\":\"silver\",\"min_points\":0},{\"name\":\"gold\",\"min_points\":1000}]}"))
        return -1;
    for (int i = 0; i < N; i++) {
        crm_db_set_time(f->db, T0 + i * DAY);
        char json[128];
        snprintf(json, sizeof json, "{\"dealer_id\":\"D%d\",\"identities\":[{\"kind\":\"phone\",\"value\":\"1380000000%d\"}]}",
                 i % 2, i);
        crm_resolve_result r;
        if (crm_customer_resolve_json(&r, f->db, json, NULL))
            return -1;
        memcpy(f->c[i], r.customer_id, sizeof f->c[i]);
    }
    crm_db_set_time(f->db, T0 + 10 * DAY);
    const char *nos[] = { "M1", "M2", "M3" };
    for (int i = 0; i < 3; i++)
        if (crm_member_enrol(f->db, f->c[i], nos[i], rules))
            return -1;
    if (crm_points_accrue(NULL, f->db, f->c[0], 1500, 0, "k0", NULL, rules))
        return -1;
    crm_loyalty_rules_free(rules);
    crm_ingest_result l;
    if (crm_lead_ingest(&l, f->db, "{\"channel\":\"dcc\",\"phone\":\"13800000000\",\"model\":\"星途 LX\"}") ||
        crm_customer_resolve_lead(NULL, f->db, l.id, NULL))
        return -1;
    crm_db_set_time(f->db, T0 + 40 * DAY);
    if (crm_lead_ingest(&l, f->db, "{\"channel\":\"website\",\"phone\":\"13800000003\",\"model\":\"瑶光\"}") ||
        crm_customer_resolve_lead(NULL, f->db, l.id, NULL))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    crm_db_close(f->db);
    free(f);
    return 0;
}

static size_t rule_count(fixture *f, const char *tag, const char *rule)
{
    size_t n = 99;
    int rc = crm_tag_rule_define(&n, f->db, tag, rule);
    if (rc)
        print_error("%s: %s\n", rule, crm_error_last()->message);
    assert_int_equal(rc, 0);
    return n;
}

static void rule_tags_compute_from_customer_facts(void **state)
{
    fixture *f = *state;
    assert_int_equal(rule_count(f, "gold", "tier = \"gold\""), 1);
    assert_int_equal(rule_count(f, "members", "member"), 3);
    assert_int_equal(rule_count(f, "not_members", "not member"), 3);
    assert_int_equal(rule_count(f, "rich", "balance >= 1000 and member = true"), 1);
    assert_int_equal(rule_count(f, "silver_or_gold", "tier in (\"silver\", \"gold\")"), 3);
    assert_int_equal(rule_count(f, "not_silver", "tier not in (\"silver\")"), 1); /* non-members lack a tier */
    assert_int_equal(rule_count(f, "with_leads", "leads > 0"), 2);
    assert_int_equal(rule_count(f, "recent", "last_lead_at >= now - 7d"), 1);
    assert_int_equal(rule_count(f, "lx", "model = \"星途 LX\" or channel = \"website\""), 2);
    assert_int_equal(rule_count(f, "early", "created_at < \"2026-01-03\""), 2);
    assert_int_equal(rule_count(f, "d1", "dealer_id = \"D1\" and not (leads > 0)"), 2);
    assert_int_equal(rule_count(f, "none", "vehicles > 0"), 0);
    /* Redefining runs the rule again; a manual tag of the name conflicts. */
    assert_int_equal(rule_count(f, "gold", "tier = \"gold\" or tier = \"silver\""), 3);
    assert_int_equal(crm_tag_assign(f->db, f->c[0], "vip", "dcc"), 0);
    assert_crm_error(crm_tag_rule_define(NULL, f->db, "vip", "member"), CRM_ECONFLICT, "manual tag");
    assert_crm_error(crm_tag_assign(f->db, f->c[0], "gold", "dcc"), CRM_ECONFLICT, "rule tag");
    /* Time moves: a refresh re-evaluates relative dates. */
    crm_db_set_time(f->db, T0 + 60 * DAY);
    size_t tags;
    assert_int_equal(crm_tag_rules_refresh(&tags, f->db), 0);
    assert_int_equal(tags, 12);
    size_t n;
    assert_int_equal(crm_segment_count(&n, f->db, "recent"), 0);
}

static void rule_errors_point_at_the_column(void **state)
{
    (void)state;
    static const struct {
        const char *rule, *needle;
    } bad[] = {
        { "tierr = \"gold\"", "rule: column 1: unknown field 'tierr'" },
        { "tier = gold", "rule: column 8: expected \"text\"" },
        { "balance >= \"x\"", "rule: column 12: expected a number, not text" },
        { "balance >=", "rule: column 11: expected a number" },
        { "tier = \"gold\" and", "rule: column 18: expected a field name" },
        { "(tier = \"gold\"", "rule: column 15: expected ')'" },
        { "tier = \"gold", "rule: column 8: unterminated string" },
        { "created_at > now - 30x", "rule: column 22: unexpected 'x' after a number" },
        { "created_at > now - 30", "rule: column 20: expected a duration" },
        { "created_at > \"yesterday\"", "rule: column 14: expected a time" },
        { "tier ! \"gold\"", "rule: column 6: '!' must be followed by '='" },
        { "tier \"gold\"", "rule: column 6: expected a comparison" },
        { "member > true", "rule: column 8: true/false compare only with = or !=" },
        { "tier in \"gold\"", "rule: column 9: expected '('" },
        { "tier in (\"a\" \"b\")", "rule: column 14: expected ',' or ')'" },
        { "tier = \"a\" tier = \"b\"", "rule: column 12: expected 'and', 'or' or the end" },
        { "tier = \"a\" # x", "rule: column 12: unexpected character '#'" },
        { "", "rule: empty expression" },
        { "   ", "rule: empty expression" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_crm_error(crm_tag_rule_check(bad[i].rule), CRM_EINVALID, bad[i].needle);
    char deep[400];
    memset(deep, '(', 100);
    snprintf(deep + 100, sizeof deep - 100, "member");
    assert_crm_error(crm_tag_rule_check(deep), CRM_EINVALID, "nested too deeply");
    assert_int_equal(crm_tag_rule_check("not not (member and leads >= 0) or vehicles != 2"), 0);
}

static void segments_combine_tags_and_audiences_honour_consent(void **state)
{
    fixture *f = *state;
    assert_int_equal(rule_count(f, "members", "member"), 3);
    for (int i = 0; i < N; i += 2)
        assert_int_equal(crm_tag_assign(f->db, f->c[i], "suv_intent", "campaign:2026双11"), 0); /* 0 2 4 */
    assert_int_equal(crm_tag_assign(f->db, f->c[1], "churned", "dcc"), 0);
    assert_int_equal(crm_tag_assign(f->db, f->c[2], "churned", "dcc"), 0);
    size_t n;
    assert_int_equal(crm_segment_count(&n, f->db, "members and suv_intent"), 0);
    assert_int_equal(n, 2);
    assert_int_equal(crm_segment_count(&n, f->db, "members or suv_intent"), 0);
    assert_int_equal(n, 4);
    assert_int_equal(crm_segment_count(&n, f->db, "(members or suv_intent) and not churned"), 0);
    assert_int_equal(n, 2); /* 0 and 4 */
    assert_int_equal(crm_segment_count(&n, f->db, "not churned"), 0);
    assert_int_equal(n, 4);

    char *json;
    size_t count;
    assert_int_equal(crm_segment_export_json(&json, &count, f->db, "(members or suv_intent) and not churned", NULL, 0), 0);
    assert_int_equal(count, 2);
    assert_non_null(strstr(json, f->c[0]));
    assert_non_null(strstr(json, f->c[4]));
    crm_free(json);
    /* An audience keeps only who consented to the channel. */
    assert_int_equal(crm_customer_set_consent(f->db, f->c[4], "sms", 1), 0);
    assert_int_equal(crm_customer_set_consent(f->db, f->c[0], "sms", 1), 0);
    assert_int_equal(crm_customer_set_consent(f->db, f->c[0], "sms", 0), 0);
    assert_int_equal(crm_customer_set_consent(f->db, f->c[0], "wechat", 1), 0);
    assert_int_equal(crm_segment_export_json(&json, &count, f->db, "(members or suv_intent) and not churned", "sms", 0), 0);
    assert_int_equal(count, 1);
    assert_non_null(strstr(json, f->c[4]));
    assert_null(strstr(json, f->c[0]));
    crm_free(json);
    assert_int_equal(crm_segment_export_json(&json, &count, f->db, "suv_intent", NULL, 2), 0);
    assert_int_equal(count, 2);
    crm_free(json);

    /* A small part of many customers is exported by looking each one up. */
    for (int i = 0; i < 40; i++) {
        char doc[96];
        snprintf(doc, sizeof doc, "{\"identities\":[{\"kind\":\"phone\",\"value\":\"1390000%04d\"}]}", i);
        assert_int_equal(crm_customer_resolve_json(NULL, f->db, doc, NULL), 0);
    }
    assert_int_equal(crm_segment_export_json(&json, &count, f->db, "churned and not suv_intent", NULL, 0), 0);
    assert_int_equal(count, 1);
    assert_non_null(strstr(json, f->c[1]));
    crm_free(json);

    /* Removing a tag, and merging a customer away, take it out. */
    assert_int_equal(crm_tag_remove(f->db, f->c[1], "churned"), 0);
    assert_int_equal(crm_tag_remove(f->db, f->c[1], "churned"), 0); /* not there: fine */
    assert_int_equal(crm_segment_count(&n, f->db, "churned"), 0);
    assert_int_equal(n, 1);
    assert_int_equal(crm_customer_resolve_json(NULL, f->db,
        "{\"identities\":[{\"kind\":\"phone\",\"value\":\"13800000000\"},{\"kind\":\"phone\",\"value\":\"13800000004\"}]}", NULL), 0);
    assert_int_equal(crm_segment_count(&n, f->db, "suv_intent"), 0);
    assert_int_equal(n, 2);
    assert_int_equal(crm_customer_unmerge(f->db, f->c[4]), 0);
    assert_int_equal(crm_segment_count(&n, f->db, "suv_intent"), 0);
    assert_int_equal(n, 3);

    assert_int_equal(crm_customer_tags_json(&json, f->db, f->c[0]), 0);
    assert_non_null(strstr(json, "\"tag\":\"suv_intent\",\"kind\":\"manual\",\"source\":\"campaign:2026双11\""));
    assert_non_null(strstr(json, "\"tag\":\"members\",\"kind\":\"rule\""));
    assert_null(strstr(json, "consent"));
    crm_free(json);

    assert_crm_error(crm_segment_count(&n, f->db, "members and nope"), CRM_EINVALID, "segment: column 13: unknown tag 'nope'");
    assert_crm_error(crm_segment_count(&n, f->db, "members and"), CRM_EINVALID, "segment: column 12: expected a tag name");
    assert_crm_error(crm_segment_count(&n, f->db, "members = 1"), CRM_EINVALID, "segment: column 9");
    assert_crm_error(crm_tag_assign(f->db, f->c[0], "Bad", "x"), CRM_EINVALID, "tag: expected");
    assert_crm_error(crm_tag_assign(f->db, f->c[0], "ok", ""), CRM_EINVALID, "source");
    assert_crm_error(crm_customer_set_consent(f->db, f->c[0], "s m s", 1), CRM_EINVALID, "channel");
    assert_int_equal(crm_db_set_scope(f->db, "D1"), 0);
    assert_crm_error(crm_segment_count(&n, f->db, "members"), CRM_EPERM, "scoped to dealer D1");
    assert_crm_error(crm_tag_assign(f->db, f->c[1], "vip", "x"), CRM_EPERM, NULL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(rule_tags_compute_from_customer_facts),
        cmocka_unit_test(rule_errors_point_at_the_column),
        T(segments_combine_tags_and_audiences_honour_consent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
