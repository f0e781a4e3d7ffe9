/* Lead merges: survivorship rules per field, keep-all phones, bad rules,
 * scope, exact unmerge, refusals, review accept, keys that follow. */
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

/* Events only grow and a merge stays listed (marked undone): "as it was"
 * is every other table. */
static const char *const appended_tables[] = {"event", "lead_merge", NULL};

static crm_ingest_result ingest(crm_db *db, const char *json)
{
    crm_ingest_result r;
    if (crm_lead_ingest(&r, db, json) != 0)
        fail_msg("ingest %s: %s", json, crm_error_last()->message);
    return r;
}

static char *merge_ok(crm_db *db, const char *survivor, const char *other, const char *rules)
{
    char *id = NULL;
    if (crm_lead_merge(&id, db, survivor, other, rules) != 0)
        fail_msg("merge: %s", crm_error_last()->message);
    assert_non_null(id);
    return id;
}

static void assert_contains(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("\"%s\" not in %s", needle, text);
}

/* A database file (created on first open) with the clock at T0. */
static crm_db *open_file(const char *name)
{
    crm_db *db;
    assert_int_equal(crm_db_open(&db, test_db_path(name), NULL), 0);
    crm_db_set_time(db, T0);
    return db;
}

static void default_rules_pick_per_field(void **state)
{
    crm_db *db = *state;
    crm_ingest_result s = ingest(db, "{\"channel\":\"website\",\"phone\":\"13900000001\",\"name\":\"张伟\","
                                     "\"email\":\"old@qq.com\",\"city\":\"上海\",\"purchase_timeline\":\"3_6m\"}");
    crm_db_set_time(db, T0 + 1000);
    crm_ingest_result o = ingest(db, "{\"channel\":\"walk_in\",\"phone\":\"13800000002\",\"name\":\"张大伟\","
                                     "\"email\":\"new@qq.com\",\"model\":\"EX5\",\"test_drive\":true,"
                                     "\"purchase_timeline\":\"within_1m\",\"wechat_openid\":\"oX1\"}");
    crm_db_set_time(db, T0 + 2000);
    char *mid = merge_ok(db, s.id, o.id, NULL);

    crm_lead *l;
    assert_int_equal(crm_lead_get(&l, db, s.id), 0);
    assert_string_equal(l->name, "张大伟");        /* most_trusted_channel: walk-in over website */
    assert_string_equal(l->phone, "13900000001");  /* keep_all: the survivor's stays */
    assert_string_equal(l->attributes, "{\"phones\":[\"13800000002\"]}");
    assert_string_equal(l->email, "new@qq.com");   /* most_recent */
    assert_string_equal(l->city, "上海");          /* the other has none */
    assert_string_equal(l->model, "EX5");
    assert_string_equal(l->wechat_openid, "oX1");  /* survivor, but it had none */
    assert_int_equal(l->test_drive, CRM_YES);
    assert_int_equal(l->purchase_timeline, CRM_TIMELINE_WITHIN_1M);
    assert_string_equal(l->channel, "website");
    assert_int_equal(l->created_at, T0);
    assert_int_equal(l->updated_at, T0 + 2000);
    assert_null(l->merged_into);
    crm_lead_free(l);
    assert_int_equal(crm_lead_get(&l, db, o.id), 0);
    assert_string_equal(l->merged_into, s.id);
    assert_int_equal(l->status, CRM_LEAD_NEW);
    assert_string_equal(l->name, "张大伟");
    crm_lead_free(l);
    /* Counted once, in lists and in the funnel. */
    assert_int_equal(test_count_leads(db), 1);
    crm_funnel *f;
    assert_int_equal(crm_funnel_compute(&f, db, NULL), 0);
    assert_int_equal(crm_funnel_row_at(f, 0)->reached[0], 1);
    crm_funnel_free(f);

    char *json;
    assert_int_equal(crm_lead_merge_get_json(&json, db, mid), 0);
    char want[256];
    snprintf(want, sizeof want,
             "{\"field\":\"name\",\"rule\":\"most_trusted_channel\",\"value\":\"张大伟\",\"from\":\"other\","
             "\"lead_id\":\"%s\"}",
             o.id);
    assert_contains(json, want);
    snprintf(want, sizeof want,
             "{\"field\":\"city\",\"rule\":\"most_recent\",\"value\":\"上海\",\"from\":\"survivor\",\"lead_id\":\"%s\"}",
             s.id);
    assert_contains(json, want);
    assert_contains(json, "\"phones\":[\"13800000002\"]");
    assert_contains(json, "\"undone_at\":null");
    assert_contains(json, "\"review_id\":null");
    crm_free(json);
    /* The events say who and what rule, not the values. */
    assert_int_equal(test_count_events(db, s.id), 2);
    assert_int_equal(test_count_events(db, o.id), 2);
    crm_free(mid);
}

static void each_rule_and_trust_order(void **state)
{
    crm_db *db = *state;
    crm_ingest_result s = ingest(db, "{\"channel\":\"website\",\"phone\":\"13900000001\",\"name\":\"Li Na\","
                                     "\"email\":\"s@qq.com\",\"city\":\"苏州市\",\"province\":\"江苏\"}");
    crm_db_set_time(db, T0 + 1000);
    crm_ingest_result o = ingest(db, "{\"channel\":\"douyin\",\"phone\":\"13800000002\",\"name\":\"Li Nana\","
                                     "\"email\":\"o@qq.com\",\"city\":\"苏州\",\"province\":\"江苏省\"}");
    char *mid = merge_ok(db, s.id, o.id,
                         "{\"fields\":{\"name\":\"most_trusted_channel\",\"email\":\"survivor\",\"city\":\"longest\","
                         "\"province\":\"most_recent\",\"phone\":\"most_recent\"},"
                         "\"channel_trust\":[\"douyin\",\"website\"]}");
    crm_lead *l;
    assert_int_equal(crm_lead_get(&l, db, s.id), 0);
    assert_string_equal(l->name, "Li Nana");       /* douyin trusted first here */
    assert_string_equal(l->email, "s@qq.com");     /* survivor */
    assert_string_equal(l->city, "苏州市");        /* longest in characters: 3 over 2 */
    assert_string_equal(l->province, "江苏省");    /* most recent */
    assert_string_equal(l->phone, "13800000002");  /* most recent, and no phones kept */
    assert_null(l->attributes);
    crm_lead_free(l);
    char *json;
    assert_int_equal(crm_lead_merge_get_json(&json, db, mid), 0);
    assert_contains(json, "\"channel_trust\":[\"douyin\",\"website\"]");
    assert_contains(json, "\"wechat_openid\":\"survivor\""); /* the defaults fill the rest */
    assert_contains(json, "\"phones\":null");
    crm_free(json);
    crm_free(mid);
}

static void ties_and_untrusted_channels_keep_the_survivor(void **state)
{
    crm_db *db = *state;
    crm_ingest_result s = ingest(db, "{\"channel\":\"partner_x\",\"phone\":\"13900000001\",\"name\":\"王五\","
                                     "\"city\":\"北京\"}");
    crm_ingest_result o = ingest(db, "{\"channel\":\"partner_y\",\"phone\":\"13800000002\",\"name\":\"赵六\","
                                     "\"city\":\"天津\"}");
    /* Same created_at, neither channel listed, same length. */
    char *mid = merge_ok(db, s.id, o.id, "{\"fields\":{\"city\":\"longest\"}}");
    crm_lead *l;
    assert_int_equal(crm_lead_get(&l, db, s.id), 0);
    assert_string_equal(l->name, "王五");
    assert_string_equal(l->city, "北京");
    crm_lead_free(l);
    crm_free(mid);
}

static void keep_all_phones_collects_every_number_once(void **state)
{
    crm_db *db = *state;
    crm_ingest_result s = ingest(db, "{\"channel\":\"dcc\",\"phone\":\"13900000001\","
                                     "\"attributes\":{\"phones\":[\"13700000003\"],\"budget_wan\":20}}");
    crm_ingest_result o = ingest(db, "{\"channel\":\"website\",\"phone\":\"13800000002\","
                                     "\"attributes\":{\"phones\":[\"13600000004\",\"13900000001\",\"13700000003\"],"
                                     "\"vip\":true,\"budget_wan\":30}}");
    char *mid = merge_ok(db, s.id, o.id, NULL);
    crm_lead *l;
    assert_int_equal(crm_lead_get(&l, db, s.id), 0);
    assert_string_equal(l->phone, "13900000001");
    assert_string_equal(l->attributes,
                        "{\"phones\":[\"13700000003\",\"13800000002\",\"13600000004\"],\"budget_wan\":20,\"vip\":true}");
    crm_lead_free(l);
    crm_free(mid);

    /* A survivor without a phone takes the other's as its own. */
    crm_ingest_result a = ingest(db, "{\"channel\":\"dcc\",\"email\":\"a@qq.com\"}");
    crm_ingest_result b = ingest(db, "{\"channel\":\"dcc\",\"phone\":\"13500000005\"}");
    mid = merge_ok(db, a.id, b.id, NULL);
    assert_int_equal(crm_lead_get(&l, db, a.id), 0);
    assert_string_equal(l->phone, "13500000005");
    assert_null(l->attributes);
    crm_lead_free(l);
    crm_free(mid);
}

static void default_rules_text_is_the_default(void **state)
{
    crm_db *db = *state;
    crm_ingest_result a = ingest(db, "{\"channel\":\"dcc\",\"phone\":\"13900000001\"}");
    crm_ingest_result b = ingest(db, "{\"channel\":\"dcc\",\"phone\":\"13900000002\"}");
    crm_ingest_result c = ingest(db, "{\"channel\":\"dcc\",\"phone\":\"13900000003\"}");
    crm_ingest_result d = ingest(db, "{\"channel\":\"dcc\",\"phone\":\"13900000004\"}");
    char *m1 = merge_ok(db, a.id, b.id, NULL);
    char *m2 = merge_ok(db, c.id, d.id, crm_lead_merge_default_rules());
    char *j1, *j2;
    assert_int_equal(crm_lead_merge_get_json(&j1, db, m1), 0);
    assert_int_equal(crm_lead_merge_get_json(&j2, db, m2), 0);
    const char *r1 = strstr(j1, "\"rules\":"), *r2 = strstr(j2, "\"rules\":");
    assert_non_null(r1);
    assert_non_null(r2);
    size_t n1 = (size_t)(strstr(r1, ",\"fields\":[") - r1), n2 = (size_t)(strstr(r2, ",\"fields\":[") - r2);
    assert_int_equal(n1, n2);
    assert_memory_equal(r1, r2, n1);
    assert_int_equal(strncmp(r1 + 8, crm_lead_merge_default_rules(), n1 - 8), 0);
    crm_free(j1);
    crm_free(j2);
    crm_free(m1);
    crm_free(m2);
}

static const struct {
    const char *rules;
    const char *needle;
} bad_rules[] = {
    {"{\"fields\":{\"name\":\"foo\"}}", "rules.fields.name: unknown rule 'foo'"},
    {"{\"fields\":{\"shoe_size\":\"longest\"}}", "rules.fields.shoe_size: not a field a rule decides"},
    {"{\"fields\":{\"test_drive\":\"longest\"}}", "rules.fields.test_drive: rule 'longest' applies to text fields only"},
    {"{\"fields\":{\"email\":\"keep_all\"}}", "rules.fields.email: rule 'keep_all' applies to phone only"},
    {"{\"fields\":{\"email\":3}}", "rules.fields.email: expected a rule name"},
    {"{\"fields\":[]}", "rules.fields: expected an object"},
    {"{\"channel_trust\":[\"dcc\",7]}", "rules.channel_trust[1]: expected a channel name"},
    {"{\"channel_trust\":\"dcc\"}", "rules.channel_trust: expected an array"},
    {"{\"field\":{}}", "rules.field: unknown member"},
    {"[1]", "rules: expected an object"},
    {"{\"fields\":", "rules: malformed JSON"},
};

static void bad_rules_name_the_path_and_change_nothing(void **state)
{
    (void)state;
    crm_db *db = open_file("bad_rules.db");
    crm_ingest_result s = ingest(db, "{\"channel\":\"dcc\",\"phone\":\"13900000001\"}");
    crm_ingest_result o = ingest(db, "{\"channel\":\"dcc\",\"phone\":\"13900000002\"}");
    crm_db_close(db);
    char *before = test_db_digest(test_db_path("bad_rules.db"));
    db = open_file("bad_rules.db");
    for (size_t i = 0; i < sizeof bad_rules / sizeof bad_rules[0]; i++) {
        char *id = (char *)"untouched";
        int rc = crm_lead_merge(&id, db, s.id, o.id, bad_rules[i].rules);
        if (rc != CRM_EINVALID || !strstr(crm_error_last()->message, bad_rules[i].needle))
            fail_msg("case %zu: rc %d \"%s\", wanted \"%s\"", i, rc, crm_error_last()->message, bad_rules[i].needle);
        assert_null(id);
    }
    assert_crm_error(crm_lead_merge(NULL, db, s.id, s.id, NULL), CRM_EINVALID, "other_id: the same lead");
    assert_crm_error(crm_lead_merge(NULL, db, s.id, "nope", NULL), CRM_EINVALID, "other_id: expected a UUID");
    assert_crm_error(crm_lead_merge(NULL, db, s.id, "01900000-0000-7000-8000-000000000009", NULL), CRM_ENOTFOUND,
                     "not found");
    assert_crm_error(crm_lead_unmerge(db, "01900000-0000-7000-8000-000000000009"), CRM_ENOTFOUND, "not found");
    crm_db_close(db);
    char *after = test_db_digest(test_db_path("bad_rules.db"));
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void scope_limits_what_a_dealer_merges(void **state)
{
    crm_db *db = *state;
    crm_ingest_result a = ingest(db, "{\"channel\":\"dcc\",\"phone\":\"13900000001\",\"dealer_id\":\"D1\"}");
    crm_ingest_result b = ingest(db, "{\"channel\":\"dcc\",\"phone\":\"13900000002\",\"dealer_id\":\"D2\"}");
    crm_ingest_result c = ingest(db, "{\"channel\":\"dcc\",\"phone\":\"13900000003\",\"dealer_id\":\"D1\"}");
    assert_int_equal(crm_db_set_scope(db, "D1"), 0);
    assert_crm_error(crm_lead_merge(NULL, db, a.id, b.id, NULL), CRM_ENOTFOUND, b.id);
    char *mid = merge_ok(db, a.id, c.id, NULL);
    /* Another dealer neither sees nor undoes it. */
    assert_int_equal(crm_db_set_scope(db, "D2"), 0);
    char *json;
    assert_crm_error(crm_lead_merge_get_json(&json, db, mid), CRM_ENOTFOUND, "not found");
    assert_crm_error(crm_lead_unmerge(db, mid), CRM_ENOTFOUND, "not found");
    assert_int_equal(crm_lead_merge_list_json(&json, db, NULL, 10), 0);
    assert_string_equal(json, "[]");
    crm_free(json);
    assert_int_equal(crm_db_set_scope(db, "D1"), 0);
    assert_int_equal(crm_lead_merge_list_json(&json, db, c.id, 10), 0);
    assert_contains(json, mid);
    crm_free(json);
    assert_int_equal(crm_lead_unmerge(db, mid), 0);
    crm_free(mid);
}

static void merge_then_unmerge_restores_every_row(void **state)
{
    (void)state;
    crm_db *db = open_file("roundtrip.db");
    assert_int_equal(crm_match_enable(db, NULL), 0);
    crm_ingest_result s = ingest(db, "{\"channel\":\"website\",\"phone\":\"13900000001\",\"name\":\"张伟\","
                                     "\"city\":\"上海\",\"attributes\":{\"note\":\"x\"}}");
    crm_db_set_time(db, T0 + 1000);
    /* A virtual-segment phone: the other lead is suspect, and must come back so. */
    crm_ingest_result o = ingest(db, "{\"channel\":\"walk_in\",\"phone\":\"17012345679\",\"name\":\"李娜\","
                                     "\"email\":\"ln@qq.com\",\"city\":\"杭州\",\"attributes\":{\"vip\":true}}");
    assert_int_equal(o.outcome, CRM_INGEST_CREATED);
    assert_int_equal(o.quality, CRM_LEAD_QUALITY_SUSPECT);
    assert_int_equal(crm_lead_transition(db, o.id, CRM_LEAD_ASSIGNED, NULL), 0);
    crm_db_close(db);
    char *before = test_db_digest_except(test_db_path("roundtrip.db"), appended_tables);

    db = open_file("roundtrip.db");
    crm_db_set_time(db, T0 + 5000);
    size_t events_s = test_count_events(db, s.id), events_o = test_count_events(db, o.id);
    char *mid = merge_ok(db, s.id, o.id, NULL);
    crm_db_set_time(db, T0 + 6000);
    assert_int_equal(crm_lead_unmerge(db, mid), 0);
    /* Exactly one event per lead for the merge and one for the unmerge. */
    assert_int_equal(test_count_events(db, s.id), events_s + 2);
    assert_int_equal(test_count_events(db, o.id), events_o + 2);
    char *json;
    assert_int_equal(crm_lead_merge_get_json(&json, db, mid), 0);
    assert_contains(json, "\"undone_at\":\"2026-01-01T00:00:06.000Z\"");
    assert_contains(json, "\"keys_moved\":");
    crm_free(json);
    crm_db_close(db);
    char *after = test_db_digest_except(test_db_path("roundtrip.db"), appended_tables);
    assert_string_equal(before, after);
    free(before);
    free(after);
    crm_free(mid);
}

static void unmerge_twice_is_refused(void **state)
{
    crm_db *db = *state;
    crm_ingest_result s = ingest(db, "{\"channel\":\"dcc\",\"phone\":\"13900000001\"}");
    crm_ingest_result o = ingest(db, "{\"channel\":\"dcc\",\"phone\":\"13900000002\"}");
    char *mid = merge_ok(db, s.id, o.id, NULL);
    assert_crm_error(crm_lead_merge(NULL, db, s.id, o.id, NULL), CRM_ECONFLICT, "already merged into");
    assert_crm_error(crm_lead_transition(db, o.id, CRM_LEAD_ASSIGNED, NULL), CRM_ECONFLICT,
                     "merged into");
    assert_int_equal(crm_lead_unmerge(db, mid), 0);
    assert_crm_error(crm_lead_unmerge(db, mid), CRM_ECONFLICT, "already undone");
    crm_free(mid);
}

static void unmerge_after_a_later_change_is_refused(void **state)
{
    crm_db *db = *state;
    crm_ingest_result s = ingest(db, "{\"channel\":\"dcc\",\"phone\":\"13900000001\"}");
    crm_ingest_result o = ingest(db, "{\"channel\":\"dcc\",\"phone\":\"13900000002\"}");
    crm_ingest_result t = ingest(db, "{\"channel\":\"dcc\",\"phone\":\"13900000003\"}");
    char *m1 = merge_ok(db, s.id, o.id, NULL);
    char *m2 = merge_ok(db, s.id, t.id, NULL);
    /* A later merge into the survivor is in the way until undone. */
    assert_crm_error(crm_lead_unmerge(db, m1), CRM_ECONFLICT, "merged again since");
    assert_int_equal(crm_lead_unmerge(db, m2), 0);
    /* An edit of the survivor since the merge would be lost. */
    assert_int_equal(crm_lead_transition(db, s.id, CRM_LEAD_ASSIGNED, NULL), 0);
    assert_crm_error(crm_lead_unmerge(db, m1), CRM_ECONFLICT, "changed since the merge");
    crm_lead *l;
    assert_int_equal(crm_lead_get(&l, db, o.id), 0);
    assert_string_equal(l->merged_into, s.id);
    crm_lead_free(l);
    crm_free(m1);
    crm_free(m2);
}

static void review_accept_merges_and_unmerge_reopens_it(void **state)
{
    (void)state;
    crm_db *db = open_file("review.db");
    assert_int_equal(crm_match_enable(db, NULL), 0);
    crm_ingest_result a = ingest(db, "{\"channel\":\"website\",\"phone\":\"13912345670\",\"name\":\"刘敏\",\"city\":\"广州\"}");
    crm_ingest_result b = ingest(db, "{\"channel\":\"website\",\"email\":\"lm@qq.com\",\"name\":\"刘敏\",\"city\":\"广州\"}");
    assert_int_equal(b.outcome, CRM_INGEST_REVIEW);
    crm_db_close(db);
    char *before = test_db_digest_except(test_db_path("review.db"), appended_tables);

    db = open_file("review.db");
    char *json;
    assert_int_equal(crm_review_list_json(&json, db, "pending", 10), 0);
    const char *p = strstr(json, "\"id\":\"");
    assert_non_null(p);
    char review[CRM_ID_LEN + 1];
    memcpy(review, p + 6, CRM_ID_LEN);
    review[CRM_ID_LEN] = '\0';
    crm_free(json);
    assert_int_equal(crm_review_decide(db, review, 1), 0);
    crm_lead *l;
    assert_int_equal(crm_lead_get(&l, db, b.id), 0);
    assert_string_equal(l->merged_into, a.id);
    crm_lead_free(l);
    assert_int_equal(crm_lead_get(&l, db, a.id), 0);
    assert_string_equal(l->email, "lm@qq.com");
    crm_lead_free(l);
    /* The item records the merge, and the merge the item. */
    assert_int_equal(crm_review_list_json(&json, db, "accepted", 10), 0);
    p = strstr(json, "\"merge_id\":\"");
    assert_non_null(p);
    char mid[CRM_ID_LEN + 1];
    memcpy(mid, p + 12, CRM_ID_LEN);
    mid[CRM_ID_LEN] = '\0';
    crm_free(json);
    assert_int_equal(crm_lead_merge_get_json(&json, db, mid), 0);
    assert_contains(json, review);
    crm_free(json);

    assert_int_equal(crm_lead_unmerge(db, mid), 0);
    assert_int_equal(crm_review_list_json(&json, db, "pending", 10), 0);
    assert_contains(json, review);
    assert_contains(json, "\"merge_id\":null");
    crm_free(json);
    crm_db_close(db);
    char *after = test_db_digest_except(test_db_path("review.db"), appended_tables);
    assert_string_equal(before, after);
    free(before);
    free(after);

    /* Reject only decides. */
    db = open_file("review.db");
    assert_int_equal(crm_review_decide(db, review, 0), 0);
    assert_int_equal(crm_lead_merge_list_json(&json, db, NULL, 10), 0);
    assert_contains(json, "\"undone_at\":\"2026-01-01T00:00:00.000Z\""); /* only the undone one */
    crm_free(json);
    assert_int_equal(crm_lead_get(&l, db, b.id), 0);
    assert_null(l->merged_into);
    crm_lead_free(l);
    crm_db_close(db);
}

static void accept_follows_a_lead_merged_away_since(void **state)
{
    crm_db *db = *state;
    assert_int_equal(crm_match_enable(db, NULL), 0);
    crm_ingest_result a = ingest(db, "{\"channel\":\"website\",\"phone\":\"13912345670\",\"name\":\"刘敏\",\"city\":\"广州\"}");
    crm_ingest_result b = ingest(db, "{\"channel\":\"website\",\"email\":\"lm@qq.com\",\"name\":\"刘敏\",\"city\":\"广州\"}");
    crm_ingest_result c = ingest(db, "{\"channel\":\"dcc\",\"phone\":\"13500000000\",\"name\":\"周杰\"}");
    assert_int_equal(b.outcome, CRM_INGEST_REVIEW);
    /* The candidate a is merged into c before anyone decides. */
    char *m = merge_ok(db, c.id, a.id, NULL);
    char *json;
    assert_int_equal(crm_review_list_json(&json, db, "pending", 10), 0);
    char review[CRM_ID_LEN + 1];
    memcpy(review, strstr(json, "\"id\":\"") + 6, CRM_ID_LEN);
    review[CRM_ID_LEN] = '\0';
    crm_free(json);
    assert_int_equal(crm_review_decide(db, review, 1), 0);
    crm_lead *l;
    assert_int_equal(crm_lead_get(&l, db, b.id), 0);
    assert_string_equal(l->merged_into, c.id);
    crm_lead_free(l);
    crm_free(m);
}

static void merged_away_phone_finds_the_survivor(void **state)
{
    crm_db *db = *state;
    crm_ingest_result s = ingest(db, "{\"channel\":\"dcc\",\"phone\":\"13900000001\"}");
    crm_ingest_result o = ingest(db, "{\"channel\":\"dcc\",\"phone\":\"13800000002\"}");
    char *mid = merge_ok(db, s.id, o.id, NULL);
    crm_ingest_result again = ingest(db, "{\"channel\":\"website\",\"phone\":\"138 0000 0002\"}");
    assert_int_equal(again.outcome, CRM_INGEST_DUPLICATE);
    assert_string_equal(again.duplicate_of, s.id);
    crm_free(mid);

    /* With online matching, the match keys follow too: the e-mail's key
     * was only the other lead's, and the survivor (which now has the
     * e-mail) is what the new document is compared with. */
    assert_int_equal(crm_match_enable(db, NULL), 0);
    crm_ingest_result a = ingest(db, "{\"channel\":\"dcc\",\"phone\":\"13700000003\",\"name\":\"王芳\"}");
    crm_ingest_result b = ingest(db, "{\"channel\":\"dcc\",\"email\":\"wf@qq.com\",\"name\":\"王芳\"}");
    mid = merge_ok(db, a.id, b.id, NULL);
    again = ingest(db, "{\"channel\":\"website\",\"email\":\"wf@qq.com\",\"name\":\"王芳\"}");
    assert_int_equal(again.outcome, CRM_INGEST_DUPLICATE);
    assert_string_equal(again.duplicate_of, a.id);
    crm_free(mid);
}

static int setup(void **state)
{
    return test_setup_memory_db(state, T0);
}

/* The merged lead is judged again: a placeholder name replaced by the
 * other lead's real one makes it ok; the unmerge gives the old verdict back. */
static void a_merge_judges_the_survivor_again(void **state)
{
    (void)state;
    crm_db *db = open_file("rejudge.db");
    crm_ingest_result s = ingest(db, "{\"channel\":\"douyin\",\"phone\":\"13900000011\",\"name\":\"测试\"}");
    crm_ingest_result o = ingest(db, "{\"channel\":\"walk_in\",\"phone\":\"13900000012\",\"name\":\"张伟\"}");
    assert_int_equal(s.quality, CRM_LEAD_QUALITY_SUSPECT);
    assert_int_equal(o.quality, CRM_LEAD_QUALITY_OK);
    char *mid = merge_ok(db, s.id, o.id, NULL); /* name: most trusted channel, walk_in */
    crm_lead *l;
    assert_int_equal(crm_lead_get(&l, db, s.id), 0);
    assert_string_equal(l->name, "张伟");
    assert_int_equal(l->quality, CRM_LEAD_QUALITY_OK);
    crm_lead_free(l);
    assert_int_equal(crm_lead_unmerge(db, mid), 0);
    assert_int_equal(crm_lead_get(&l, db, s.id), 0);
    assert_string_equal(l->name, "测试");
    assert_int_equal(l->quality, CRM_LEAD_QUALITY_SUSPECT);
    crm_lead_free(l);
    crm_free(mid);
    crm_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(default_rules_pick_per_field, setup, test_teardown_db),
        cmocka_unit_test_setup_teardown(each_rule_and_trust_order, setup, test_teardown_db),
        cmocka_unit_test_setup_teardown(ties_and_untrusted_channels_keep_the_survivor, setup, test_teardown_db),
        cmocka_unit_test_setup_teardown(keep_all_phones_collects_every_number_once, setup, test_teardown_db),
        cmocka_unit_test_setup_teardown(default_rules_text_is_the_default, setup, test_teardown_db),
        cmocka_unit_test(bad_rules_name_the_path_and_change_nothing),
        cmocka_unit_test_setup_teardown(scope_limits_what_a_dealer_merges, setup, test_teardown_db),
        cmocka_unit_test(merge_then_unmerge_restores_every_row),
        cmocka_unit_test(a_merge_judges_the_survivor_again),
        cmocka_unit_test_setup_teardown(unmerge_twice_is_refused, setup, test_teardown_db),
        cmocka_unit_test_setup_teardown(unmerge_after_a_later_change_is_refused, setup, test_teardown_db),
        cmocka_unit_test(review_accept_merges_and_unmerge_reopens_it),
        cmocka_unit_test_setup_teardown(accept_follows_a_lead_merged_away_since, setup, test_teardown_db),
        cmocka_unit_test_setup_teardown(merged_away_phone_finds_the_survivor, setup, test_teardown_db),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
