/* Leads: validation that names the field and changes nothing, normalising,
 * exact duplicates, dealer scope, get, list filters and the audit trail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */
#define DAY 86400000LL

static int setup_memory(void **state)
{
    return test_setup_memory_db(state, T0);
}

static crm_lead *get(crm_db *db, const char *id)
{
    crm_lead *lead = NULL;
    assert_int_equal(crm_lead_get(&lead, db, id), 0);
    return lead;
}

static void ingest_normalises_fields(void **state)
{
    crm_db *db = *state;
    crm_ingest_result r;
    assert_int_equal(crm_lead_ingest(&r, db,
                                     "{\"channel\":\" WeChat_MP \",\"name\":\"\xE3\x80\x80张伟 \","
                                     "\"phone\":\"+86 138-1234 5678\",\"email\":\" Zhang.Wei@Example.COM \","
                                     "\"province\":\"上海\",\"city\":\"上海市\",\"dealer_id\":\"D3101001\","
                                     "\"model\":\"星途 LX\",\"purchase_timeline\":\"1_3m\",\"test_drive\":true,"
                                     "\"campaign\":\"\",\"attributes\":{\"budget_wan\":20,\"utm\":\"百度\"},"
                                     "\"created_at\":\"2025-12-31T16:00:00+08:00\"}"),
                     0);
    assert_int_equal(r.outcome, CRM_INGEST_CREATED);
    /* 138 1234 5678 is the classic made-up number: the phone cleaner calls
     * it a test number, so the lead is junk (it is still stored). */
    assert_string_equal(r.reason, "new lead; junk");
    assert_int_equal(r.quality, CRM_LEAD_QUALITY_JUNK);
    assert_string_equal(r.duplicate_of, "");
    crm_lead *l = get(db, r.id);
    assert_string_equal(l->id, r.id);
    assert_int_equal(l->quality, CRM_LEAD_QUALITY_JUNK);
    assert_string_equal(l->channel, "wechat_mp");
    assert_string_equal(l->name, "张伟");
    assert_string_equal(l->phone, "13812345678");
    assert_string_equal(l->email, "zhang.wei@example.com");
    assert_string_equal(l->city, "上海市");
    assert_string_equal(l->dealer_id, "D3101001");
    assert_null(l->campaign); /* blank is absent */
    assert_null(l->wechat_openid);
    assert_int_equal(l->purchase_timeline, CRM_TIMELINE_1_3M);
    assert_int_equal(l->test_drive, CRM_YES);
    assert_int_equal(l->status, CRM_LEAD_NEW);
    assert_int_equal(l->score, -1);
    assert_null(l->grade);
    assert_string_equal(l->attributes, "{\"budget_wan\":20,\"utm\":\"百度\"}");
    assert_int_equal(l->created_at, T0 - 16 * 3600 * 1000); /* 2025-12-31T08:00Z */
    assert_int_equal(l->updated_at, T0);
    crm_lead_free(l);
}

static void phone_forms_normalise_to_one(void **state)
{
    crm_db *db = *state;
    const char *forms[] = { "13812345678", "138 1234 5678", "138-1234-5678", "+86 13812345678",
                            "0086-138-1234-5678", "86 13812345678", "(+86)138 1234 5678",
                            ("\xEF\xBC\x91\xEF\xBC\x93\xEF\xBC\x98\xEF\xBC\x91\xEF\xBC\x92\xEF\xBC\x93\xEF\xBC\x94"
                             "\xEF\xBC\x95\xEF\xBC\x96\xEF\xBC\x97\xEF\xBC\x98") };
    char first[CRM_ID_LEN + 1] = "";
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char doc[256];
        snprintf(doc, sizeof doc, "{\"channel\":\"douyin\",\"phone\":\"%s\"}", forms[i]);
        crm_ingest_result r;
        assert_int_equal(crm_lead_ingest(&r, db, doc), 0);
        if (i == 0) {
            assert_int_equal(r.outcome, CRM_INGEST_CREATED);
            strcpy(first, r.id);
        } else {
            assert_int_equal(r.outcome, CRM_INGEST_DUPLICATE);
            assert_string_equal(r.duplicate_of, first);
            assert_string_equal(r.id, first);
        }
    }
    assert_int_equal(test_count_leads(db), 1);
    /* Landlines keep their area code. */
    crm_ingest_result r;
    assert_int_equal(crm_lead_ingest(&r, db, "{\"channel\":\"dcc\",\"phone\":\"021-6888 1234\"}"), 0);
    crm_lead *l = get(db, r.id);
    assert_string_equal(l->phone, "02168881234");
    crm_lead_free(l);
}

static void duplicate_is_recorded_on_the_existing_lead(void **state)
{
    crm_db *db = *state;
    crm_ingest_result a, b;
    assert_int_equal(crm_lead_ingest(&a, db, "{\"channel\":\"website\",\"phone\":\"13900000001\",\"name\":\"李娜\"}"), 0);
    crm_db_set_time(db, T0 + DAY);
    assert_int_equal(crm_lead_ingest(&b, db,
                                     "{\"channel\":\"douyin\",\"phone\":\"139 0000 0001\",\"campaign\":\"双11\"}"),
                     0);
    assert_int_equal(b.outcome, CRM_INGEST_DUPLICATE);
    char want[128];
    snprintf(want, sizeof want, "duplicate of %s (same phone)", a.id);
    assert_string_equal(b.reason, want);
    /* The existing lead is unchanged; its trail has the created and the duplicate events. */
    crm_lead *l = get(db, a.id);
    assert_string_equal(l->channel, "website");
    assert_int_equal(l->updated_at, T0);
    crm_lead_free(l);
    crm_iter *it;
    const crm_event *e;
    assert_int_equal(crm_event_iter_new(&it, db, a.id), 0);
    assert_int_equal(crm_event_next(&e, it), 0);
    assert_string_equal(e->kind, "lead.created");
    assert_int_equal(e->at, T0);
    assert_null(e->data); /* the values are the lead's own row */
    assert_int_equal(crm_event_next(&e, it), 0);
    assert_string_equal(e->kind, "lead.duplicate");
    assert_string_equal(e->entity_id, a.id);
    assert_int_equal(e->at, T0 + DAY);
    assert_non_null(strstr(e->data, "\"channel\":\"douyin\""));
    assert_non_null(strstr(e->data, "\"campaign\":\"双11\""));
    assert_non_null(strstr(e->data, "\"matched_on\":\"phone\""));
    assert_null(strstr(e->data, "null")); /* absent fields are left out */
    /* Without a created_at of its own the document is dated when it came
     * (it once said 1970). */
    assert_non_null(strstr(e->data, "\"created_at\":\"2026-01-02T00:00:00.000Z\""));
    char *json;
    assert_int_equal(crm_event_to_json(&json, e), 0);
    assert_non_null(strstr(json, "\"kind\":\"lead.duplicate\""));
    assert_non_null(strstr(json, "\"at\":\"2026-01-02T00:00:00.000Z\""));
    crm_free(json);
    assert_int_equal(crm_event_next(&e, it), CRM_ITEROVER);
    crm_iter_free(it);
}

static void leads_without_phone_are_not_duplicates(void **state)
{
    crm_db *db = *state;
    crm_ingest_result a, b;
    assert_int_equal(crm_lead_ingest(&a, db, "{\"channel\":\"wechat_mp\",\"wechat_openid\":\"oAbc123\"}"), 0);
    assert_int_equal(crm_lead_ingest(&b, db, "{\"channel\":\"wechat_mp\",\"wechat_openid\":\"oAbc123\"}"), 0);
    assert_int_equal(b.outcome, CRM_INGEST_CREATED);
    assert_string_not_equal(a.id, b.id);
}

/* Each bad document: the error code, the field named in the message. */
static const struct bad_case {
    const char *doc;
    int code;
    const char *needle;
} bad_cases[] = {
    { "", CRM_EINVALID, "lead: malformed JSON" },
    { "{\"channel\":\"website\",", CRM_EINVALID, "lead: malformed JSON" },
    { "[1,2]", CRM_EINVALID, "lead: expected a JSON object" },
    { "\"text\"", CRM_EINVALID, "lead: expected a JSON object" },
    { "{\"channel\":\"website\",\"phone\":\"13800000001\"} junk", CRM_EINVALID, "after the JSON object" },
    { "{\"phone\":\"13800000001\"}", CRM_EINVALID, "lead.channel: required" },
    { "{\"channel\":\"website\"}", CRM_EINVALID, "lead: needs at least one of phone" },
    { "{\"channel\":\"website\",\"phone\":\"   \"}", CRM_EINVALID, "lead: needs at least one of phone" },
    { "{\"channel\":42,\"phone\":\"13800000001\"}", CRM_EINVALID, "lead.channel: expected a string" },
    { "{\"channel\":\"web site\",\"phone\":\"13800000001\"}", CRM_EINVALID, "lead.channel: expected ASCII" },
    { "{\"channel\":\"website\",\"phone\":13800000001}", CRM_EINVALID, "lead.phone: expected a string" },
    { "{\"channel\":\"website\",\"phone\":\"138abc\"}", CRM_EINVALID, "lead.phone: unexpected character at byte 3" },
    { "{\"channel\":\"website\",\"phone\":\"1234\"}", CRM_EINVALID, "lead.phone: expected 5 to 15 digits, got 4" },
    { "{\"channel\":\"website\",\"phone\":\"1234567890123456\"}", CRM_EINVALID, "lead.phone: expected 5 to 15 digits" },
    { "{\"channel\":\"website\",\"email\":\"nobody\"}", CRM_EINVALID, "lead.email: expected an address" },
    { "{\"channel\":\"website\",\"email\":\"a@b@c.com\"}", CRM_EINVALID, "lead.email" },
    { "{\"channel\":\"website\",\"phone\":\"13800000001\",\"name\":[\"张\"]}", CRM_EINVALID, "lead.name: expected a string" },
    { "{\"channel\":\"website\",\"phone\":\"13800000001\",\"name\":\"a\\u0001b\"}", CRM_EINVALID, "lead.name: control character" },
    { "{\"channel\":\"website\",\"phone\":\"13800000001\",\"name\":\"\xE5\xBC\"}", CRM_EINVALID, "lead.name: invalid UTF-8" },
    { "{\"channel\":\"website\",\"phone\":\"13800000001\",\"city\":\"\xC0\xAF\"}", CRM_EINVALID, "lead.city: invalid UTF-8" },
    { "{\"channel\":\"website\",\"phone\":\"13800000001\",\"attributes\":{\"k\":\"\xFF\"}}", CRM_EINVALID, "lead.attributes.k: invalid UTF-8" },
    { "{\"channel\":\"website\",\"phone\":\"13800000001\",\"attributes\":[1]}", CRM_EINVALID, "lead.attributes: expected an object" },
    { "{\"channel\":\"website\",\"phone\":\"13800000001\",\"nmae\":\"x\"}", CRM_EINVALID, "lead.nmae: unknown field" },
    { "{\"channel\":\"website\",\"phone\":\"13800000001\",\"phone\":\"13800000002\"}", CRM_EINVALID, "lead.phone: given more than once" },
    { "{\"channel\":\"website\",\"phone\":\"13800000001\",\"status\":\"won\"}", CRM_EINVALID, "lead.status: set by the library" },
    { "{\"channel\":\"website\",\"phone\":\"13800000001\",\"id\":\"x\"}", CRM_EINVALID, "lead.id: set by the library" },
    { "{\"channel\":\"website\",\"phone\":\"13800000001\",\"test_drive\":\"yes\"}", CRM_EINVALID, "lead.test_drive: expected true or false" },
    { "{\"channel\":\"website\",\"phone\":\"13800000001\",\"purchase_timeline\":\"soon\"}", CRM_EINVALID, "lead.purchase_timeline: expected one of" },
    { "{\"channel\":\"website\",\"phone\":\"13800000001\",\"created_at\":\"yesterday\"}", CRM_EINVALID, "lead.created_at: expected an ISO-8601" },
    { "{\"channel\":\"website\",\"phone\":\"13800000001\",\"created_at\":\"1990-01-01\"}", CRM_EINVALID, "lead.created_at: outside" },
    { "{\"channel\":\"website\",\"phone\":\"13800000001\",\"created_at\":1.5}", CRM_EINVALID, "lead.created_at" },
    { "{\"channel\":\"website\",\"wechat_openid\":\"o abc\"}", CRM_EINVALID, "lead.wechat_openid: expected printable ASCII" },
};

static void bad_input_names_the_field_and_changes_nothing(void **state)
{
    (void)state;
    const char *path = test_db_path("bad-input.db");
    crm_db *db;
    assert_int_equal(crm_db_open(&db, path, NULL), 0);
    crm_ingest_result r;
    assert_int_equal(crm_lead_ingest(&r, db, "{\"channel\":\"website\",\"phone\":\"13800000009\"}"), 0);
    crm_db_close(db);
    char *before = test_db_digest(path);

    assert_int_equal(crm_db_open(&db, path, NULL), 0);
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        memset(&r, 0x55, sizeof r);
        int rc = crm_lead_ingest(&r, db, bad_cases[i].doc);
        if (rc != bad_cases[i].code || !strstr(crm_error_last()->message, bad_cases[i].needle))
            fail_msg("case %zu (%s): rc %d, message \"%s\"; wanted \"%s\"", i, bad_cases[i].doc, rc,
                     crm_error_last()->message, bad_cases[i].needle);
        assert_int_equal(r.id[0], '\0'); /* no half result */
    }
    crm_db_close(db);
    char *after = test_db_digest(path);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void oversized_input_is_refused(void **state)
{
    crm_db *db = *state;
    size_t big = 70000;
    char *doc = malloc(big + 64);
    assert_non_null(doc);
    /* A whole document over the limit. */
    int n = sprintf(doc, "{\"channel\":\"website\",\"phone\":\"13800000001\",\"name\":\"");
    memset(doc + n, 'x', big);
    strcpy(doc + n + big, "\"}");
    crm_ingest_result r;
    assert_crm_error(crm_lead_ingest(&r, db, doc), CRM_EINVALID, "lead: document is");
    /* One field over its limit. */
    n = sprintf(doc, "{\"channel\":\"website\",\"phone\":\"13800000001\",\"name\":\"");
    memset(doc + n, 'x', 101);
    strcpy(doc + n + 101, "\"}");
    assert_crm_error(crm_lead_ingest(&r, db, doc), CRM_EINVALID, "lead.name: 101 bytes is over the limit of 100");
    /* Attributes over theirs. */
    n = sprintf(doc, "{\"channel\":\"website\",\"phone\":\"13800000001\",\"attributes\":{\"k\":\"");
    memset(doc + n, 'x', 20000);
    strcpy(doc + n + 20000, "\"}}");
    assert_crm_error(crm_lead_ingest(&r, db, doc), CRM_EINVALID, "lead.attributes:");
    /* A NUL inside an explicit-length document. */
    assert_crm_error(crm_lead_ingest_n(&r, db, "{\"channel\":\"w\0\"}", 16), CRM_EINVALID, "NUL");
    free(doc);
    assert_int_equal(test_count_leads(db), 0);
    assert_crm_error(crm_lead_ingest(&r, db, NULL), CRM_EINVALID, "lead: required");
    assert_crm_error(crm_lead_ingest(&r, NULL, "{}"), CRM_EINVALID, "db: required");
}

static void nulls_are_absent_and_result_is_optional(void **state)
{
    crm_db *db = *state;
    assert_int_equal(crm_lead_ingest(NULL, db,
                                     "{\"channel\":\"website\",\"phone\":\"13800000001\",\"name\":null,"
                                     "\"test_drive\":null,\"attributes\":{}}"),
                     0);
    crm_iter *it;
    const crm_lead *l;
    assert_int_equal(crm_lead_iter_new(&it, db, NULL), 0);
    assert_int_equal(crm_lead_next(&l, it), 0);
    assert_null(l->name);
    assert_int_equal(l->test_drive, CRM_UNKNOWN);
    assert_null(l->attributes);
    crm_iter_free(it);
}

static void get_json_has_every_field(void **state)
{
    crm_db *db = *state;
    crm_ingest_result r;
    assert_int_equal(crm_lead_ingest(&r, db, "{\"channel\":\"autohome\",\"phone\":\"13800000001\",\"name\":\"王芳\","
                                             "\"test_drive\":false,\"attributes\":{\"a\":[1,2]}}"),
                     0);
    char *json;
    assert_int_equal(crm_lead_get_json(&json, db, r.id), 0);
    char want[1024];
    snprintf(want, sizeof want,
             "{\"id\":\"%s\",\"channel\":\"autohome\",\"campaign\":null,\"name\":\"王芳\",\"phone\":\"13800000001\","
             "\"email\":null,\"wechat_openid\":null,\"wechat_unionid\":null,\"province\":null,\"city\":null,"
             "\"dealer_id\":null,\"owner_id\":null,\"model\":null,\"purchase_timeline\":\"unknown\","
             "\"test_drive\":false,\"attributes\":{\"a\":[1,2]},\"created_at\":\"2026-01-01T00:00:00.000Z\","
             "\"status\":\"new\",\"score\":null,\"grade\":null,\"customer_id\":null,"
             "\"updated_at\":\"2026-01-01T00:00:00.000Z\",\"merged_into\":null,\"quality\":\"ok\"}",
             r.id);
    assert_string_equal(json, want);
    crm_free(json);
}

static void get_rejects_bad_ids(void **state)
{
    crm_db *db = *state;
    crm_lead *l = (crm_lead *)0x1;
    assert_crm_error(crm_lead_get(&l, db, "not-an-id"), CRM_EINVALID, "id: expected a UUID");
    assert_null(l);
    assert_crm_error(crm_lead_get(&l, db, "01a21089-4eb3-712d-b861-4886445353c5"), CRM_ENOTFOUND,
                     "01a21089-4eb3-712d-b861-4886445353c5");
    char *json = (char *)0x1;
    assert_crm_error(crm_lead_get_json(&json, db, "01a21089-4eb3-712d-b861-4886445353c5"), CRM_ENOTFOUND, "not found");
    assert_null(json);
    crm_lead_free(NULL);
}

static void scope_isolates_dealers(void **state)
{
    crm_db *db = *state;
    crm_ingest_result a, b, c;
    assert_int_equal(crm_lead_ingest(&a, db, "{\"channel\":\"walk_in\",\"phone\":\"13800000001\",\"dealer_id\":\"D1\"}"), 0);
    assert_int_equal(crm_lead_ingest(&b, db, "{\"channel\":\"walk_in\",\"phone\":\"13800000002\",\"dealer_id\":\"D2\"}"), 0);

    assert_int_equal(crm_db_set_scope(db, "D1"), 0);
    crm_lead *l;
    assert_int_equal(crm_lead_get(&l, db, a.id), 0);
    crm_lead_free(l);
    /* Another dealer's lead does not exist for this handle. */
    assert_crm_error(crm_lead_get(&l, db, b.id), CRM_ENOTFOUND, "not found");
    assert_int_equal(test_count_leads(db), 1);
    assert_int_equal(test_count_events(db, b.id), 0);
    /* Writing for another dealer is refused; without a dealer the scope's is used. */
    assert_crm_error(crm_lead_ingest(&c, db, "{\"channel\":\"walk_in\",\"phone\":\"13800000003\",\"dealer_id\":\"D2\"}"),
                     CRM_EPERM, "lead.dealer_id: outside");
    assert_int_equal(crm_lead_ingest(&c, db, "{\"channel\":\"walk_in\",\"phone\":\"13800000003\"}"), 0);
    assert_int_equal(crm_lead_get(&l, db, c.id), 0);
    assert_string_equal(l->dealer_id, "D1");
    crm_lead_free(l);
    /* The same phone as D2's lead is new for D1: D2's lead is not visible here. */
    assert_int_equal(crm_lead_ingest(&c, db, "{\"channel\":\"walk_in\",\"phone\":\"13800000002\"}"), 0);
    assert_int_equal(c.outcome, CRM_INGEST_CREATED);
    /* A filter for another dealer inside the scope sees nothing. */
    crm_lead_filter f = CRM_LEAD_FILTER_INIT;
    f.dealer_id = "D2";
    crm_iter *it;
    const crm_lead *x;
    assert_int_equal(crm_lead_iter_new(&it, db, &f), 0);
    assert_int_equal(crm_lead_next(&x, it), CRM_ITEROVER);
    crm_iter_free(it);

    assert_int_equal(crm_db_set_scope(db, NULL), 0);
    assert_int_equal(test_count_leads(db), 4);
}

/* 30 leads over 30 days, three channels, two dealers; some moved on. */
static void list_filters(void **state)
{
    crm_db *db = *state;
    const char *channels[] = { "website", "douyin", "dcc" };
    for (int i = 0; i < 30; i++) {
        char doc[256];
        snprintf(doc, sizeof doc,
                 "{\"channel\":\"%s\",\"phone\":\"139%08d\",\"dealer_id\":\"D%d\",\"created_at\":%lld}",
                 channels[i % 3], i, i % 2, (long long)(T0 + i * DAY));
        assert_int_equal(crm_lead_ingest(NULL, db, doc), 0);
    }
    struct {
        crm_lead_filter f;
        size_t want;
    } cases[] = {
        { CRM_LEAD_FILTER_INIT, 30 },
        { { CRM_LEAD_FILTER_VERSION, 0, "D1", NULL, 0, 0, 0, 0 }, 15 },
        { { CRM_LEAD_FILTER_VERSION, 0, NULL, "douyin", 0, 0, 0, 0 }, 10 },
        { { CRM_LEAD_FILTER_VERSION, 0, "D1", "douyin", 0, 0, 0, 0 }, 5 },
        { { CRM_LEAD_FILTER_VERSION, 0, NULL, NULL, T0 + 10 * DAY, 0, 0, 0 }, 20 },
        { { CRM_LEAD_FILTER_VERSION, 0, NULL, NULL, T0 + 10 * DAY, T0 + 20 * DAY, 0, 0 }, 10 },
        { { CRM_LEAD_FILTER_VERSION, 0, NULL, NULL, 0, T0 + 5 * DAY, 0, 0 }, 5 },
        { { CRM_LEAD_FILTER_VERSION, 1u << CRM_LEAD_NEW, NULL, NULL, 0, 0, 0, 0 }, 30 },
        { { CRM_LEAD_FILTER_VERSION, 1u << CRM_LEAD_LOST, NULL, NULL, 0, 0, 0, 0 }, 0 },
        { { CRM_LEAD_FILTER_VERSION, (1u << CRM_LEAD_LOST) | (1u << CRM_LEAD_NEW), NULL, NULL, 0, 0, 0, 0 }, 30 },
        { { CRM_LEAD_FILTER_VERSION, 0, NULL, NULL, 0, 0, 7, 0 }, 7 },
        { { CRM_LEAD_FILTER_VERSION, 0, NULL, "nowhere", 0, 0, 0, 0 }, 0 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        crm_iter *it;
        assert_int_equal(crm_lead_iter_new(&it, db, &cases[c].f), 0);
        const crm_lead *l;
        size_t n = 0;
        int64_t last = 0;
        int rc;
        while ((rc = crm_lead_next(&l, it)) == 0) {
            assert_true(l->created_at >= last); /* oldest first */
            last = l->created_at;
            if (cases[c].f.dealer_id)
                assert_string_equal(l->dealer_id, cases[c].f.dealer_id);
            if (cases[c].f.channel)
                assert_string_equal(l->channel, cases[c].f.channel);
            n++;
        }
        assert_int_equal(rc, CRM_ITEROVER);
        if (n != cases[c].want)
            fail_msg("filter case %zu: %zu leads, wanted %zu", c, n, cases[c].want);
        /* Past the end stays at the end. */
        assert_int_equal(crm_lead_next(&l, it), CRM_ITEROVER);
        assert_null(l);
        crm_iter_free(it);
    }
}

static void list_rejects_bad_filters(void **state)
{
    crm_db *db = *state;
    crm_iter *it;
    crm_lead_filter f = CRM_LEAD_FILTER_INIT;
    f.version = 7;
    assert_crm_error(crm_lead_iter_new(&it, db, &f), CRM_EINVALID, "filter.version");
    f.version = CRM_LEAD_FILTER_VERSION;
    f.statuses = 1u << 20;
    assert_crm_error(crm_lead_iter_new(&it, db, &f), CRM_EINVALID, "filter.statuses");
    f.statuses = 0;
    f.created_from = T0 + DAY;
    f.created_to = T0;
    assert_crm_error(crm_lead_iter_new(&it, db, &f), CRM_EINVALID, "filter.created_to");
    /* Iterators are typed. */
    assert_int_equal(crm_event_iter_new(&it, db, "01a21089-4eb3-712d-b861-4886445353c5"), 0);
    const crm_lead *l;
    assert_crm_error(crm_lead_next(&l, it), CRM_EINVALID, "not a lead iterator");
    crm_iter_free(it);
    crm_iter_free(NULL);
}

static void iterators_stream_while_writing(void **state)
{
    crm_db *db = *state;
    for (int i = 0; i < 50; i++) {
        char doc[128];
        snprintf(doc, sizeof doc, "{\"channel\":\"website\",\"phone\":\"137%08d\"}", i);
        assert_int_equal(crm_lead_ingest(NULL, db, doc), 0);
    }
    /* Two iterators at once, and writes between steps. */
    crm_iter *a, *b;
    assert_int_equal(crm_lead_iter_new(&a, db, NULL), 0);
    assert_int_equal(crm_lead_iter_new(&b, db, NULL), 0);
    const crm_lead *la, *lb;
    for (int i = 0; i < 50; i++) {
        assert_int_equal(crm_lead_next(&la, a), 0);
        assert_int_equal(crm_lead_next(&lb, b), 0);
        assert_string_equal(la->id, lb->id);
        char doc[128];
        snprintf(doc, sizeof doc, "{\"channel\":\"website\",\"phone\":\"136%08d\"}", i);
        assert_int_equal(crm_lead_ingest(NULL, db, doc), 0);
    }
    crm_iter_free(a);
    crm_iter_free(b);
    assert_int_equal(test_count_leads(db), 100);
}

static void iterators_end_when_the_database_closes(void **state)
{
    (void)state;
    crm_db *db;
    assert_int_equal(crm_db_open(&db, ":memory:", NULL), 0);
    assert_int_equal(crm_lead_ingest(NULL, db, "{\"channel\":\"website\",\"phone\":\"13800000001\"}"), 0);
    crm_iter *leads, *events;
    assert_int_equal(crm_lead_iter_new(&leads, db, NULL), 0);
    const crm_lead *l;
    assert_int_equal(crm_lead_next(&l, leads), 0);
    assert_int_equal(crm_event_iter_new(&events, db, l->id), 0);
    crm_db_close(db); /* with both iterators open: no leak, no dangling cursor */
    assert_crm_error(crm_lead_next(&l, leads), CRM_ECONFLICT, "iter: its database was closed");
    const crm_event *e;
    assert_crm_error(crm_event_next(&e, events), CRM_ECONFLICT, "closed");
    crm_iter_free(leads);
    crm_iter_free(events);
}

static void status_and_timeline_names(void **state)
{
    (void)state;
    for (int s = 0; s < CRM_LEAD_STATUS_COUNT; s++) {
        crm_lead_status parsed;
        assert_int_equal(crm_lead_status_parse(&parsed, crm_lead_status_name((crm_lead_status)s)), 0);
        assert_int_equal(parsed, s);
    }
    crm_lead_status st;
    assert_crm_error(crm_lead_status_parse(&st, "won"), CRM_EINVALID, "status: unknown status 'won'");
    assert_null(crm_lead_status_name((crm_lead_status)99));
    assert_string_equal(crm_purchase_timeline_name(CRM_TIMELINE_OVER_6M), "over_6m");
    assert_null(crm_purchase_timeline_name((crm_purchase_timeline)9));
}

/* The data of a lead's first event ("lead.created"), copied; NULL when none. */
static char *created_event_data(crm_db *db, const char *id)
{
    crm_iter *it;
    const crm_event *e;
    assert_int_equal(crm_event_iter_new(&it, db, id), 0);
    assert_int_equal(crm_event_next(&e, it), 0);
    assert_string_equal(e->kind, "lead.created");
    char *data = e->data ? strdup(e->data) : NULL;
    crm_iter_free(it);
    return data;
}

static void ingest_judges_quality(void **state)
{
    crm_db *db = *state;
    const struct {
        const char *doc;
        crm_lead_quality want;
        const char *why; /* in the lead.created event, or NULL for none */
    } cases[] = {
        {"{\"channel\":\"website\",\"name\":\"张伟\",\"phone\":\"13912345670\",\"province\":\"上海\",\"city\":\"上海市\"}",
         CRM_LEAD_QUALITY_OK, NULL},
        /* A test number is junk, whatever else the lead has. */
        {"{\"channel\":\"douyin\",\"name\":\"李娜\",\"phone\":\"13800138000\",\"wechat_openid\":\"oX1\"}",
         CRM_LEAD_QUALITY_JUNK, "{\"quality\":\"junk\",\"quality_reasons\":{\"phone\":\"test_number\"}}"},
        /* No usable contact: a test e-mail is all there is. */
        {"{\"channel\":\"website\",\"email\":\"test@example.com\"}", CRM_LEAD_QUALITY_JUNK,
         "{\"quality\":\"junk\",\"quality_reasons\":{\"email\":\"test_address\",\"contact\":\"no_usable_contact\"}}"},
        {"{\"channel\":\"website\",\"name\":\"测试\",\"phone\":\"13912345671\"}", CRM_LEAD_QUALITY_SUSPECT,
         "{\"quality\":\"suspect\",\"quality_reasons\":{\"name\":\"placeholder\"}}"},
        {"{\"channel\":\"app\",\"phone\":\"17012345679\"}", CRM_LEAD_QUALITY_SUSPECT,
         "{\"quality\":\"suspect\",\"quality_reasons\":{\"phone\":\"virtual_segment\"}}"},
        {"{\"channel\":\"app\",\"phone\":\"13912345672\",\"city\":\"火星\"}", CRM_LEAD_QUALITY_SUSPECT,
         "{\"quality\":\"suspect\",\"quality_reasons\":{\"region\":\"unknown_region\"}}"},
    };
    char ids[6][CRM_ID_LEN + 1];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        crm_ingest_result r;
        assert_int_equal(crm_lead_ingest(&r, db, cases[i].doc), 0);
        assert_int_equal(r.outcome, CRM_INGEST_CREATED);
        assert_int_equal(r.quality, cases[i].want);
        strcpy(ids[i], r.id);
        crm_lead *l = get(db, r.id);
        assert_int_equal(l->quality, cases[i].want);
        crm_lead_free(l);
        char *data = created_event_data(db, r.id);
        if (cases[i].why)
            assert_string_equal(data, cases[i].why);
        else
            assert_null(data);
        free(data);
        char *json = NULL;
        assert_int_equal(crm_lead_get_json(&json, db, r.id), 0);
        char want[40];
        snprintf(want, sizeof want, "\"quality\":\"%s\"", crm_lead_quality_name(cases[i].want));
        assert_non_null(strstr(json, want));
        crm_free(json);
    }
    /* A duplicate reports its document's quality; the existing lead keeps its own. */
    crm_ingest_result d;
    assert_int_equal(crm_lead_ingest(&d, db, "{\"channel\":\"dcc\",\"name\":\"测试\",\"phone\":\"13912345670\"}"), 0);
    assert_int_equal(d.outcome, CRM_INGEST_DUPLICATE);
    assert_int_equal(d.quality, CRM_LEAD_QUALITY_SUSPECT);
    crm_lead *first = get(db, ids[0]);
    assert_int_equal(first->quality, CRM_LEAD_QUALITY_OK);
    crm_lead_free(first);

    /* Lists filter on it. */
    crm_lead_filter f = CRM_LEAD_FILTER_INIT;
    f.qualities = 1u << CRM_LEAD_QUALITY_SUSPECT;
    crm_iter *it;
    const crm_lead *l;
    size_t n = 0;
    assert_int_equal(crm_lead_iter_new(&it, db, &f), 0);
    while (crm_lead_next(&l, it) == 0) {
        assert_int_equal(l->quality, CRM_LEAD_QUALITY_SUSPECT);
        n++;
    }
    crm_iter_free(it);
    assert_int_equal(n, 3);
    f.qualities = 1u << 3;
    assert_crm_error(crm_lead_iter_new(&it, db, &f), CRM_EINVALID, "filter.qualities: bits above 2");
    /* A caller built against the version 1 filter passes the smaller struct. */
    struct {
        unsigned int version, statuses;
        const char *dealer_id, *channel;
        int64_t created_from, created_to;
        size_t limit;
    } v1 = {1, 0, NULL, "app", 0, 0, 0};
    n = 0;
    assert_int_equal(crm_lead_iter_new(&it, db, (const crm_lead_filter *)(void *)&v1), 0);
    while (crm_lead_next(&l, it) == 0)
        n++;
    crm_iter_free(it);
    assert_int_equal(n, 2);
    /* A document cannot set it. */
    assert_crm_error(crm_lead_ingest(NULL, db, "{\"channel\":\"app\",\"phone\":\"13912345673\",\"quality\":\"ok\"}"),
                     CRM_EINVALID, "lead.quality: set by the library");
}

static void quality_names(void **state)
{
    (void)state;
    crm_lead_quality q;
    assert_int_equal(crm_lead_quality_parse(&q, "junk"), 0);
    assert_int_equal(q, CRM_LEAD_QUALITY_JUNK);
    assert_string_equal(crm_lead_quality_name(CRM_LEAD_QUALITY_SUSPECT), "suspect");
    assert_string_equal(crm_lead_quality_name((crm_lead_quality)7), "unknown");
    assert_crm_error(crm_lead_quality_parse(&q, "bad"), CRM_EINVALID, "quality: unknown quality 'bad'");
}

/* Leads stored before quality existed read as ok: judging them again finds
 * the junk and the suspect, writes only those, with an event, and a second
 * run has nothing left to do. */
static void judge_all_finds_what_older_leads_hid(void **state)
{
    (void)state;
    const char *path = test_db_path("judge.db");
    crm_db *db;
    assert_int_equal(crm_db_open(&db, path, NULL), 0);
    crm_ingest_result ok, junk, suspect;
    assert_int_equal(crm_lead_ingest(&ok, db, "{\"channel\":\"app\",\"name\":\"张伟\",\"phone\":\"13912345670\"}"), 0);
    assert_int_equal(crm_lead_ingest(&junk, db, "{\"channel\":\"app\",\"phone\":\"13800138000\"}"), 0);
    assert_int_equal(crm_lead_ingest(&suspect, db, "{\"channel\":\"app\",\"name\":\"test\",\"phone\":\"13912345671\"}"), 0);
    crm_db_close(db);
    /* As migration 8 leaves them: every lead ok. */
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "UPDATE lead SET quality = 0", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);

    assert_int_equal(crm_db_open(&db, path, NULL), 0);
    size_t before = test_count_events(db, junk.id), changed = 99;
    assert_int_equal(crm_lead_judge_all(&changed, db), 0);
    assert_int_equal(changed, 2);
    const struct {
        const char *id;
        crm_lead_quality want;
    } leads[] = {{ok.id, CRM_LEAD_QUALITY_OK}, {junk.id, CRM_LEAD_QUALITY_JUNK}, {suspect.id, CRM_LEAD_QUALITY_SUSPECT}};
    for (size_t i = 0; i < 3; i++) {
        crm_lead *l = get(db, leads[i].id);
        assert_int_equal(l->quality, leads[i].want);
        crm_lead_free(l);
    }
    assert_int_equal(test_count_events(db, junk.id), before + 1);
    assert_int_equal(test_count_events(db, ok.id), before); /* unchanged: not written */
    crm_iter *it;
    const crm_event *e = NULL;
    assert_int_equal(crm_event_iter_new(&it, db, junk.id), 0);
    while (crm_event_next(&e, it) == 0 && strcmp(e->kind, "lead.quality") != 0)
        ;
    assert_non_null(e);
    assert_string_equal(e->kind, "lead.quality");
    assert_string_equal(e->data, "{\"from\":\"ok\",\"to\":\"junk\",\"quality_reasons\":{\"phone\":\"test_number\",\"contact\":\"no_usable_contact\"}}");
    crm_iter_free(it);
    assert_int_equal(crm_lead_judge_all(&changed, db), 0);
    assert_int_equal(changed, 0);
    assert_crm_error(crm_lead_judge_all(NULL, NULL), CRM_EINVALID, "db: required");
    crm_db_close(db);
}

#define DB_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup_memory, test_teardown_db)

int main(void)
{
    const struct CMUnitTest tests[] = {
        DB_TEST(ingest_normalises_fields),
        DB_TEST(phone_forms_normalise_to_one),
        DB_TEST(duplicate_is_recorded_on_the_existing_lead),
        DB_TEST(leads_without_phone_are_not_duplicates),
        cmocka_unit_test(bad_input_names_the_field_and_changes_nothing),
        DB_TEST(oversized_input_is_refused),
        DB_TEST(nulls_are_absent_and_result_is_optional),
        DB_TEST(get_json_has_every_field),
        DB_TEST(get_rejects_bad_ids),
        DB_TEST(scope_isolates_dealers),
        DB_TEST(list_filters),
        DB_TEST(list_rejects_bad_filters),
        DB_TEST(iterators_stream_while_writing),
        cmocka_unit_test(iterators_end_when_the_database_closes),
        cmocka_unit_test(status_and_timeline_names),
        DB_TEST(ingest_judges_quality),
        cmocka_unit_test(quality_names),
        cmocka_unit_test(judge_all_finds_what_older_leads_hid),
    };
    return cmocka_run_group_tests_name("lead", tests, NULL, NULL);
}
