/* What every storage backend must do, tested through the interface alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"

static crm_conformance_factory factory;
static void *factory_ctx;

#define T0 1767225600000LL
#define DAY 86400000LL

static int setup(void **state)
{
    crm_backend *b = NULL;
    if (factory(&b, factory_ctx) != 0) {
        print_error("backend factory failed: %s\n", crm_error_last()->message);
        return -1;
    }
    *state = b;
    return 0;
}

static int teardown(void **state)
{
    crm_backend *b = *state;
    b->free(b);
    return 0;
}

/* A lead with every field set, numbered n. Strings live in static storage
 * per slot so that two leads can be alive at once. */
static crm_lead make_lead(int n, const char *dealer, int64_t created)
{
    static char ids[64][CRM_ID_LEN + 1];
    static char phones[64][16];
    int slot = n % 64;
    snprintf(ids[slot], sizeof ids[slot], "0190a000-0000-7000-8000-%012d", n);
    snprintf(phones[slot], sizeof phones[slot], "138%08d", n);
    crm_lead l = {
        .id = ids[slot],
        .channel = "wechat_mp",
        .campaign = "2026双11试驾季",
        .name = "张伟",
        .phone = phones[slot],
        .email = "zw@example.com",
        .wechat_openid = "oAbCdEf123",
        .wechat_unionid = "uXyZ",
        .province = "上海市",
        .city = "上海市",
        .dealer_id = dealer,
        .owner_id = "S-01",
        .model = "星途 LX",
        .purchase_timeline = CRM_TIMELINE_WITHIN_1M,
        .test_drive = CRM_YES,
        .status = CRM_LEAD_NEW,
        .score = 87,
        .grade = "A",
        .customer_id = NULL,
        .attributes = "{\"budget_wan\":25}",
        .created_at = created,
        .updated_at = created + 1,
        .quality = (crm_lead_quality)(n % CRM_LEAD_QUALITY_COUNT),
    };
    return l;
}

static void assert_str_or_null(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void assert_lead_equal(const crm_lead *a, const crm_lead *b)
{
    assert_str_or_null(a->id, b->id);
    assert_str_or_null(a->channel, b->channel);
    assert_str_or_null(a->campaign, b->campaign);
    assert_str_or_null(a->name, b->name);
    assert_str_or_null(a->phone, b->phone);
    assert_str_or_null(a->email, b->email);
    assert_str_or_null(a->wechat_openid, b->wechat_openid);
    assert_str_or_null(a->wechat_unionid, b->wechat_unionid);
    assert_str_or_null(a->province, b->province);
    assert_str_or_null(a->city, b->city);
    assert_str_or_null(a->dealer_id, b->dealer_id);
    assert_str_or_null(a->owner_id, b->owner_id);
    assert_str_or_null(a->model, b->model);
    assert_int_equal(a->purchase_timeline, b->purchase_timeline);
    assert_int_equal(a->test_drive, b->test_drive);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->score, b->score);
    assert_str_or_null(a->grade, b->grade);
    assert_str_or_null(a->customer_id, b->customer_id);
    assert_str_or_null(a->attributes, b->attributes);
    assert_int_equal(a->created_at, b->created_at);
    assert_int_equal(a->updated_at, b->updated_at);
    assert_str_or_null(a->merged_into, b->merged_into);
    assert_int_equal(a->quality, b->quality);
}

static const crm_scope everything = { NULL };

static void schema_is_current(void **state)
{
    crm_backend *b = *state;
    int v = 0;
    assert_int_equal(b->schema_version(b, &v), 0);
    assert_true(v >= 1);
    assert_true(b->version >= 1 && b->version <= CRM_BACKEND_VERSION);
    assert_non_null(b->name);
}

static void lead_roundtrips_every_field(void **state)
{
    crm_backend *b = *state;
    crm_lead in = make_lead(1, "D1", T0);
    assert_int_equal(b->lead_insert(b, &in), 0);
    crm_lead out;
    assert_int_equal(b->lead_get(b, &everything, in.id, &out), 0);
    assert_lead_equal(&in, &out);

    /* Absent values come back absent, and unknown ones stay unknown. */
    crm_lead sparse = { .id = "0190a000-0000-7000-8000-000000000002", .channel = "dcc", .phone = "02168881234",
                        .test_drive = CRM_UNKNOWN, .score = -1, .created_at = T0, .updated_at = T0 };
    assert_int_equal(b->lead_insert(b, &sparse), 0);
    assert_int_equal(b->lead_get(b, &everything, sparse.id, &out), 0);
    assert_lead_equal(&sparse, &out);
}

static void lead_insert_refuses_a_taken_id(void **state)
{
    crm_backend *b = *state;
    crm_lead l = make_lead(1, "D1", T0);
    assert_int_equal(b->lead_insert(b, &l), 0);
    l.name = "someone else";
    assert_int_equal(b->lead_insert(b, &l), CRM_EEXISTS);
    crm_lead out;
    assert_int_equal(b->lead_get(b, &everything, l.id, &out), 0);
    assert_string_equal(out.name, "张伟");
}

static void lead_update_replaces(void **state)
{
    crm_backend *b = *state;
    crm_lead l = make_lead(1, "D1", T0);
    assert_int_equal(b->lead_insert(b, &l), 0);
    l.status = CRM_LEAD_CONTACTED;
    l.owner_id = NULL;
    l.score = 12;
    l.updated_at = T0 + DAY;
    l.quality = CRM_LEAD_QUALITY_SUSPECT;
    assert_int_equal(b->lead_update(b, &l), 0);
    crm_lead out;
    assert_int_equal(b->lead_get(b, &everything, l.id, &out), 0);
    assert_lead_equal(&l, &out);
    crm_lead missing = make_lead(2, "D1", T0);
    assert_int_equal(b->lead_update(b, &missing), CRM_ENOTFOUND);
}

static void lead_get_honours_scope(void **state)
{
    crm_backend *b = *state;
    crm_lead d1 = make_lead(1, "D1", T0), none = make_lead(2, NULL, T0);
    assert_int_equal(b->lead_insert(b, &d1), 0);
    assert_int_equal(b->lead_insert(b, &none), 0);
    crm_scope s1 = { "D1" }, s2 = { "D2" };
    crm_lead out;
    assert_int_equal(b->lead_get(b, &s1, d1.id, &out), 0);
    assert_int_equal(b->lead_get(b, &s2, d1.id, &out), CRM_ENOTFOUND);
    assert_int_equal(b->lead_get(b, &s1, none.id, &out), CRM_ENOTFOUND); /* no dealer: not D1's */
    assert_int_equal(b->lead_get(b, &everything, none.id, &out), 0);
    assert_int_equal(b->lead_get(b, NULL, none.id, &out), 0); /* NULL scope is everything */
    assert_int_equal(b->lead_get(b, &everything, "0190a000-0000-7000-8000-999999999999", &out), CRM_ENOTFOUND);
}

static size_t scan_count(crm_backend *b, const crm_scope *scope, const crm_lead_filter *f, int64_t *first)
{
    crm_backend_iter *it;
    assert_int_equal(b->lead_scan(b, scope, f, &it), 0);
    crm_lead l;
    size_t n = 0;
    int64_t last = INT64_MIN;
    char last_id[CRM_ID_LEN + 1] = "";
    int rc;
    while ((rc = it->next(it, &l)) == 0) {
        /* Ordered by (created_at, id). */
        assert_true(l.created_at > last || (l.created_at == last && strcmp(l.id, last_id) > 0));
        if (n == 0 && first)
            *first = l.created_at;
        last = l.created_at;
        snprintf(last_id, sizeof last_id, "%s", l.id);
        if (scope && scope->dealer_id)
            assert_string_equal(l.dealer_id, scope->dealer_id);
        if (f && f->dealer_id)
            assert_string_equal(l.dealer_id, f->dealer_id);
        if (f && f->channel)
            assert_string_equal(l.channel, f->channel);
        if (f && f->statuses)
            assert_true(f->statuses & (1u << l.status));
        n++;
    }
    assert_int_equal(rc, CRM_ITEROVER);
    assert_int_equal(it->next(it, &l), CRM_ITEROVER);
    it->free(it);
    return n;
}

static void lead_scan_filters_and_orders(void **state)
{
    crm_backend *b = *state;
    /* 40 leads, inserted in reverse time order; dealers D0..D3; every
     * fifth one contacted, channels alternate; two share a timestamp. */
    for (int i = 39; i >= 0; i--) {
        char dealer[8];
        snprintf(dealer, sizeof dealer, "D%d", i % 4);
        crm_lead l = make_lead(i, dealer, T0 + (i == 39 ? 38 : i) * DAY);
        l.channel = i % 2 ? "douyin" : "website";
        l.status = i % 5 == 0 ? CRM_LEAD_CONTACTED : CRM_LEAD_NEW;
        assert_int_equal(b->lead_insert(b, &l), 0);
    }
    crm_lead_filter f = CRM_LEAD_FILTER_INIT;
    int64_t first = 0;
    assert_int_equal(scan_count(b, &everything, &f, &first), 40);
    assert_int_equal(first, T0);
    crm_scope d2 = { "D2" };
    assert_int_equal(scan_count(b, &d2, &f, NULL), 10);
    f.dealer_id = "D3";
    assert_int_equal(scan_count(b, &everything, &f, NULL), 10);
    assert_int_equal(scan_count(b, &d2, &f, NULL), 0); /* scope and filter both apply */
    f = (crm_lead_filter)CRM_LEAD_FILTER_INIT;
    f.channel = "douyin";
    assert_int_equal(scan_count(b, &everything, &f, NULL), 20);
    f = (crm_lead_filter)CRM_LEAD_FILTER_INIT;
    f.statuses = 1u << CRM_LEAD_CONTACTED;
    assert_int_equal(scan_count(b, &everything, &f, NULL), 8);
    f.statuses |= 1u << CRM_LEAD_NEW;
    assert_int_equal(scan_count(b, &everything, &f, NULL), 40);
    f = (crm_lead_filter)CRM_LEAD_FILTER_INIT;
    f.created_from = T0 + 10 * DAY;
    f.created_to = T0 + 20 * DAY;
    assert_int_equal(scan_count(b, &everything, &f, &first), 10);
    assert_int_equal(first, T0 + 10 * DAY);
    f.limit = 3;
    assert_int_equal(scan_count(b, &everything, &f, NULL), 3);
    assert_int_equal(scan_count(b, &everything, NULL, NULL), 40);
    /* Qualities: lead i is i % 3 (make_lead): 14 ok, 13 suspect, 13 junk. */
    f = (crm_lead_filter)CRM_LEAD_FILTER_INIT;
    f.qualities = 1u << CRM_LEAD_QUALITY_JUNK;
    assert_int_equal(scan_count(b, &everything, &f, NULL), 13);
    f.qualities |= 1u << CRM_LEAD_QUALITY_OK;
    assert_int_equal(scan_count(b, &everything, &f, NULL), 27);
    f.statuses = 1u << CRM_LEAD_CONTACTED; /* 0, 5, ..., 35: qualities 0 2 1 0 2 1 0 2 */
    assert_int_equal(scan_count(b, &everything, &f, NULL), 6);
}

static void lead_scan_streams_many(void **state)
{
    crm_backend *b = *state;
    assert_int_equal(b->tx_begin(b), 0);
    for (int i = 0; i < 5000; i++) {
        crm_lead l = make_lead(i, "D1", T0 + i);
        assert_int_equal(b->lead_insert(b, &l), 0);
    }
    assert_int_equal(b->tx_commit(b), 0);
    assert_int_equal(scan_count(b, &everything, NULL, NULL), 5000);
}

static int collect_ids(const char *id, void *payload)
{
    char *buf = payload;
    strcat(buf, id + 24); /* the distinct tail */
    strcat(buf, ",");
    return 0;
}

static int stop_after_first(const char *id, void *payload)
{
    (void)id;
    (*(int *)payload)++;
    return 1;
}

static void keys_find_ids(void **state)
{
    crm_backend *b = *state;
    const char *a = "0190a000-0000-7000-8000-000000000002", *c = "0190a000-0000-7000-8000-000000000001";
    assert_int_equal(b->key_put(b, "lead.phone", "13800000001", a), 0);
    assert_int_equal(b->key_put(b, "lead.phone", "13800000001", c), 0);
    assert_int_equal(b->key_put(b, "lead.phone", "13800000001", a), 0); /* idempotent */
    assert_int_equal(b->key_put(b, "lead.email", "13800000001", a), 0);
    char found[256] = "";
    assert_int_equal(b->key_find(b, "lead.phone", "13800000001", collect_ids, found), 0);
    assert_string_equal(found, "000000000001,000000000002,"); /* in id order, each once */
    found[0] = '\0';
    assert_int_equal(b->key_find(b, "lead.phone", "13900000000", collect_ids, found), 0);
    assert_string_equal(found, "");
    int calls = 0;
    assert_int_equal(b->key_find(b, "lead.phone", "13800000001", stop_after_first, &calls), 0);
    assert_int_equal(calls, 1);
}

static int collect_whole_ids(const char *id, void *payload)
{
    char *buf = payload;
    strcat(buf, id);
    strcat(buf, ",");
    return 0;
}

/* A backend may store ids compactly, but must give back exactly what was put:
 * an upper-case UUID stays upper-case, an id that is no UUID stays itself. */
static void keys_give_back_ids_as_put(void **state)
{
    crm_backend *b = *state;
    const char *lower = "0190a000-0000-7000-8000-0000000000ab";
    const char *upper = "0190A000-0000-7000-8000-0000000000CD";
    assert_int_equal(b->key_put(b, "customer.wechat", "oABC", lower), 0);
    assert_int_equal(b->key_put(b, "customer.wechat", "oABC", upper), 0);
    assert_int_equal(b->key_put(b, "customer.wechat", "oABC", "VIN:LSVAA4182E2000001"), 0);
    char found[256] = "";
    assert_int_equal(b->key_find(b, "customer.wechat", "oABC", collect_whole_ids, found), 0);
    assert_non_null(strstr(found, "0190a000-0000-7000-8000-0000000000ab,"));
    assert_non_null(strstr(found, "0190A000-0000-7000-8000-0000000000CD,"));
    assert_non_null(strstr(found, "VIN:LSVAA4182E2000001,"));
    assert_int_equal(strlen(found), 2 * 37 + 22);
    /* Kind and key are one name: neither half alone finds them. */
    found[0] = '\0';
    assert_int_equal(b->key_find(b, "customer.wecha", "toABC", collect_whole_ids, found), 0);
    assert_string_equal(found, "");
}

static void events_append_and_scan_in_order(void **state)
{
    crm_backend *b = *state;
    const char *lead = "0190a000-0000-7000-8000-000000000001";
    const char *kinds[] = { "lead.created", "lead.duplicate", "lead.duplicate" };
    for (int i = 0; i < 3; i++) {
        char id[CRM_ID_LEN + 1];
        snprintf(id, sizeof id, "0190a000-0000-7000-9000-%012d", 9 - i); /* ids not in append order */
        crm_event e = { .id = id, .at = T0 + i, .kind = kinds[i], .entity_type = "lead", .entity_id = lead,
                        .dealer_id = "D1", .actor = "顾问", .data = i ? "{\"n\":1}" : NULL };
        assert_int_equal(b->event_append(b, &e), 0);
    }
    crm_event other = { .id = "0190a000-0000-7000-9000-000000000100", .at = T0, .kind = "lead.created",
                        .entity_type = "lead", .entity_id = "0190a000-0000-7000-8000-000000000002",
                        .dealer_id = NULL, .actor = "system", .data = NULL };
    assert_int_equal(b->event_append(b, &other), 0);

    crm_backend_iter *it;
    assert_int_equal(b->event_scan(b, &everything, lead, &it), 0);
    crm_event e;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(it->next(it, &e), 0);
        assert_string_equal(e.kind, kinds[i]); /* append order */
        assert_int_equal(e.at, T0 + i);
        assert_string_equal(e.entity_type, "lead");
        assert_string_equal(e.entity_id, lead);
        assert_string_equal(e.dealer_id, "D1");
        assert_string_equal(e.actor, "顾问");
        if (i)
            assert_string_equal(e.data, "{\"n\":1}");
        else
            assert_null(e.data);
    }
    assert_int_equal(it->next(it, &e), CRM_ITEROVER);
    it->free(it);

    crm_scope d2 = { "D2" };
    assert_int_equal(b->event_scan(b, &d2, lead, &it), 0);
    assert_int_equal(it->next(it, &e), CRM_ITEROVER);
    it->free(it);
}

static void transactions_commit_roll_back_and_nest(void **state)
{
    crm_backend *b = *state;
    crm_lead l1 = make_lead(1, "D1", T0), l2 = make_lead(2, "D1", T0), l3 = make_lead(3, "D1", T0);
    crm_lead out;
    assert_int_equal(b->tx_commit(b), CRM_ECONFLICT);
    assert_int_equal(b->tx_rollback(b), CRM_ECONFLICT);

    assert_int_equal(b->tx_begin(b), 0);
    assert_int_equal(b->lead_insert(b, &l1), 0);
    assert_int_equal(b->key_put(b, "lead.phone", l1.phone, l1.id), 0);
    assert_int_equal(b->tx_rollback(b), 0);
    assert_int_equal(b->lead_get(b, &everything, l1.id, &out), CRM_ENOTFOUND);
    int calls = 0;
    assert_int_equal(b->key_find(b, "lead.phone", l1.phone, stop_after_first, &calls), 0);
    assert_int_equal(calls, 0);

    assert_int_equal(b->tx_begin(b), 0);
    assert_int_equal(b->lead_insert(b, &l1), 0);
    assert_int_equal(b->tx_begin(b), 0); /* nested */
    assert_int_equal(b->lead_insert(b, &l2), 0);
    assert_int_equal(b->tx_rollback(b), 0);
    assert_int_equal(b->tx_begin(b), 0);
    assert_int_equal(b->lead_insert(b, &l3), 0);
    assert_int_equal(b->tx_commit(b), 0);
    /* Inside the transaction its own writes are visible. */
    assert_int_equal(b->lead_get(b, &everything, l3.id, &out), 0);
    assert_int_equal(b->tx_commit(b), 0);
    assert_int_equal(b->lead_get(b, &everything, l1.id, &out), 0);
    assert_int_equal(b->lead_get(b, &everything, l2.id, &out), CRM_ENOTFOUND);
    assert_int_equal(b->lead_get(b, &everything, l3.id, &out), 0);
}

static void a_failed_write_inside_a_transaction_keeps_it_usable(void **state)
{
    crm_backend *b = *state;
    crm_lead l1 = make_lead(1, "D1", T0), l2 = make_lead(2, "D1", T0);
    assert_int_equal(b->tx_begin(b), 0);
    assert_int_equal(b->lead_insert(b, &l1), 0);
    assert_int_equal(b->lead_insert(b, &l1), CRM_EEXISTS);
    assert_int_equal(b->lead_insert(b, &l2), 0);
    assert_int_equal(b->tx_commit(b), 0);
    assert_int_equal(scan_count(b, &everything, NULL, NULL), 2);
}

static void gets_are_borrowed_until_the_next_call(void **state)
{
    crm_backend *b = *state;
    crm_lead l1 = make_lead(1, "D1", T0), l2 = make_lead(2, "D2", T0);
    l2.name = "李娜";
    assert_int_equal(b->lead_insert(b, &l1), 0);
    assert_int_equal(b->lead_insert(b, &l2), 0);
    crm_lead out;
    assert_int_equal(b->lead_get(b, &everything, l1.id, &out), 0);
    /* A scan may run between a get and the use of its result: the get's
     * strings must survive calls on other statements. */
    assert_int_equal(scan_count(b, &everything, NULL, NULL), 2);
    assert_string_equal(out.name, "张伟");
    assert_string_equal(out.dealer_id, "D1");
}

/* ---- scoring models (issue 4) ---- */

static crm_model_record make_model(const char *name, int version, double auc)
{
    static char ids[8][CRM_ID_LEN + 1];
    int slot = version % 8;
    snprintf(ids[slot], sizeof ids[slot], "0190b000-0000-7000-8000-%012d", version);
    crm_model_record r = {
        .id = ids[slot],
        .name = name,
        .version = version,
        .kind = "logistic",
        .trained_at = T0 + version,
        .saved_at = T0 + DAY + version,
        .auc = auc,
        .features = "[\"channel\",\"渠道\"]",
        .body = "{\"type\":\"logistic\",\"name\":\"线索评分\"}",
    };
    return r;
}

static void assert_model_equal(const crm_model_record *a, const crm_model_record *b)
{
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->version, b->version);
    assert_string_equal(a->kind, b->kind);
    assert_int_equal(a->trained_at, b->trained_at);
    assert_int_equal(a->saved_at, b->saved_at);
    assert_true(a->auc == b->auc || (a->auc < 0 && b->auc < 0));
    assert_string_equal(a->features, b->features);
    assert_string_equal(a->body, b->body);
}

static void models_roundtrip_by_name_and_version(void **state)
{
    crm_backend *b = *state;
    crm_model_record out;
    assert_int_equal(b->model_get(b, "线索评分", 0, &out), CRM_ENOTFOUND);
    crm_model_record v1 = make_model("线索评分", 1, 0.7812), v2 = make_model("线索评分", 2, -1),
                     other = make_model("other", 7, 0.5);
    assert_int_equal(b->model_put(b, &v1), 0);
    assert_int_equal(b->model_put(b, &v2), 0);
    assert_int_equal(b->model_put(b, &other), 0);
    /* version 0 is the newest of the name; a given version is that one */
    assert_int_equal(b->model_get(b, "线索评分", 0, &out), 0);
    assert_model_equal(&v2, &out);
    assert_int_equal(b->model_get(b, "线索评分", 1, &out), 0);
    assert_model_equal(&v1, &out);
    assert_int_equal(b->model_get(b, "other", 0, &out), 0);
    assert_model_equal(&other, &out);
    assert_int_equal(b->model_get(b, "线索评分", 3, &out), CRM_ENOTFOUND);
    /* a taken (name, version) is refused and the stored one kept */
    crm_model_record again = make_model("线索评分", 2, 0.9);
    assert_int_equal(b->model_put(b, &again), CRM_EEXISTS);
    assert_int_equal(b->model_get(b, "线索评分", 2, &out), 0);
    assert_model_equal(&v2, &out);
}

static void models_roll_back_with_the_transaction(void **state)
{
    crm_backend *b = *state;
    crm_model_record v1 = make_model("m", 1, 0.6);
    assert_int_equal(b->tx_begin(b), 0);
    assert_int_equal(b->model_put(b, &v1), 0);
    assert_int_equal(b->tx_rollback(b), 0);
    crm_model_record out;
    assert_int_equal(b->model_get(b, "m", 0, &out), CRM_ENOTFOUND);
}

static void stages_append_and_scan_in_order(void **state)
{
    crm_backend *b = *state;
    const char *lead = "0190a000-0000-7000-8000-000000000001";
    crm_stage_record in[3] = {
        { lead, 1, CRM_LEAD_ASSIGNED, T0 + 1, "D1", "S-1", "system", NULL },
        { lead, 2, CRM_LEAD_CONTACTED, T0 + 2, "D1", "S-1", "sales:李", NULL },
        { lead, 3, CRM_LEAD_LOST, T0 + 3, "D1", NULL, "sales:李", "已购竞品" },
    };
    crm_stage_record other = { "0190a000-0000-7000-8000-000000000002", 1, CRM_LEAD_ASSIGNED, T0, "D2", NULL, "x",
                               "spam" };
    assert_int_equal(b->stage_append(b, &in[2]), 0); /* stored out of order, read back by seq */
    assert_int_equal(b->stage_append(b, &in[0]), 0);
    assert_int_equal(b->stage_append(b, &in[1]), 0);
    assert_int_equal(b->stage_append(b, &other), 0);
    assert_int_equal(b->stage_append(b, &in[1]), CRM_EEXISTS);
    crm_backend_iter *it;
    assert_int_equal(b->stage_scan(b, &everything, lead, &it), 0);
    crm_stage_record r;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(it->next(it, &r), 0);
        assert_string_equal(r.lead_id, lead);
        assert_int_equal(r.seq, i + 1);
        assert_int_equal(r.status, in[i].status);
        assert_int_equal(r.entered_at, in[i].entered_at);
        assert_string_equal(r.dealer_id, "D1");
        assert_str_or_null(r.owner_id, in[i].owner_id);
        assert_string_equal(r.actor, in[i].actor);
        assert_str_or_null(r.reason, in[i].reason);
    }
    assert_int_equal(it->next(it, &r), CRM_ITEROVER);
    it->free(it);
    /* another dealer's scope sees none of them */
    const crm_scope d2 = { "D2" };
    assert_int_equal(b->stage_scan(b, &d2, lead, &it), 0);
    assert_int_equal(it->next(it, &r), CRM_ITEROVER);
    it->free(it);
    /* by status and time entered, across leads, oldest first */
    assert_int_equal(b->stage_scan_entered(b, &everything, CRM_LEAD_ASSIGNED, T0, T0 + 2, &it), 0);
    assert_int_equal(it->next(it, &r), 0);
    assert_string_equal(r.dealer_id, "D2");
    assert_int_equal(it->next(it, &r), 0);
    assert_string_equal(r.owner_id, "S-1");
    assert_int_equal(it->next(it, &r), CRM_ITEROVER);
    it->free(it);
    assert_int_equal(b->stage_scan_entered(b, &d2, CRM_LEAD_ASSIGNED, T0, T0 + 1, &it), 0);
    assert_int_equal(it->next(it, &r), 0);
    assert_int_equal(it->next(it, &r), CRM_ITEROVER);
    it->free(it);
    assert_int_equal(b->stage_scan_entered(b, &everything, CRM_LEAD_ASSIGNED, T0 + 2, T0 + 9, &it), 0);
    assert_int_equal(it->next(it, &r), CRM_ITEROVER);
    it->free(it);
}

/* ---- customers and identities (issue 5) ---- */

static const char *cid(int n)
{
    static char ids[8][CRM_ID_LEN + 1];
    snprintf(ids[n % 8], sizeof ids[n % 8], "0190b000-0000-7000-8000-%012d", n);
    return ids[n % 8];
}

static void customer_roundtrips_updates_and_honours_scope(void **state)
{
    crm_backend *b = *state;
    crm_customer c = { cid(1), "张伟", "D1", NULL, T0, T0 + 1, 0 };
    assert_int_equal(b->customer_insert(b, &c), 0);
    assert_int_equal(b->customer_insert(b, &c), CRM_EEXISTS);
    crm_customer out;
    assert_int_equal(b->customer_get(b, &everything, cid(1), &out), 0);
    assert_string_equal(out.id, cid(1));
    assert_string_equal(out.name, "张伟");
    assert_string_equal(out.dealer_id, "D1");
    assert_null(out.merged_into);
    assert_int_equal(out.created_at, T0);
    assert_int_equal(out.updated_at, T0 + 1);
    crm_scope d1 = { "D1" }, d2 = { "D2" };
    assert_int_equal(b->customer_get(b, &d1, cid(1), &out), 0);
    assert_int_equal(b->customer_get(b, &d2, cid(1), &out), CRM_ENOTFOUND);
    c.name = NULL;
    c.merged_into = cid(2);
    c.updated_at = T0 + 2;
    assert_int_equal(b->customer_update(b, &c), 0);
    assert_int_equal(b->customer_get(b, &everything, cid(1), &out), 0);
    assert_null(out.name);
    assert_string_equal(out.merged_into, cid(2));
    assert_int_equal(out.updated_at, T0 + 2);
    crm_customer missing = { cid(3), NULL, NULL, NULL, T0, T0, 0 };
    assert_int_equal(b->customer_update(b, &missing), CRM_ENOTFOUND);
    assert_int_equal(b->customer_get(b, &everything, cid(3), &out), CRM_ENOTFOUND);
}

static size_t identity_count(crm_backend *b, const char *customer_id)
{
    crm_backend_iter *it;
    assert_int_equal(b->identity_scan(b, customer_id, &it), 0);
    crm_identity r;
    size_t n = 0;
    int rc;
    while ((rc = it->next(it, &r)) == 0) {
        assert_string_equal(r.customer_id, customer_id);
        n++;
    }
    assert_int_equal(rc, CRM_ITEROVER);
    it->free(it);
    return n;
}

static void identities_are_unique_found_moved_and_scanned(void **state)
{
    crm_backend *b = *state;
    crm_identity phone = { CRM_IDENTITY_PHONE, "", "13812345678", cid(1), cid(1), T0 };
    crm_identity openid = { CRM_IDENTITY_WECHAT_OPENID, "wx1", "oAbC", cid(1), cid(1), T0 + 1 };
    crm_identity openid2 = { CRM_IDENTITY_WECHAT_OPENID, "wx2", "oAbC", cid(2), cid(2), T0 + 2 };
    assert_int_equal(b->identity_insert(b, &phone), 0);
    assert_int_equal(b->identity_insert(b, &openid), 0);
    assert_int_equal(b->identity_insert(b, &openid2), 0); /* same openid, another app */
    crm_identity taken = phone;
    taken.customer_id = taken.origin_id = cid(2);
    assert_int_equal(b->identity_insert(b, &taken), CRM_EEXISTS);

    crm_identity out;
    assert_int_equal(b->identity_find(b, CRM_IDENTITY_WECHAT_OPENID, "wx1", "oAbC", &out), 0);
    assert_int_equal(out.kind, CRM_IDENTITY_WECHAT_OPENID);
    assert_string_equal(out.app_id, "wx1");
    assert_string_equal(out.value, "oAbC");
    assert_string_equal(out.customer_id, cid(1));
    assert_string_equal(out.origin_id, cid(1));
    assert_int_equal(out.created_at, T0 + 1);
    assert_int_equal(b->identity_find(b, CRM_IDENTITY_EMAIL, "", "13812345678", &out), CRM_ENOTFOUND);
    assert_int_equal(identity_count(b, cid(1)), 2);

    /* Move all of 1's to 2, then only those that started at 1 back. */
    size_t moved = 0;
    assert_int_equal(b->identity_move(b, cid(1), cid(2), NULL, &moved), 0);
    assert_int_equal(moved, 2);
    assert_int_equal(identity_count(b, cid(1)), 0);
    assert_int_equal(identity_count(b, cid(2)), 3);
    assert_int_equal(b->identity_find(b, CRM_IDENTITY_PHONE, "", "13812345678", &out), 0);
    assert_string_equal(out.customer_id, cid(2));
    assert_string_equal(out.origin_id, cid(1));
    assert_int_equal(b->identity_move(b, cid(2), cid(1), cid(1), &moved), 0);
    assert_int_equal(moved, 2);
    assert_int_equal(identity_count(b, cid(2)), 1);
    assert_int_equal(b->identity_move(b, cid(5), cid(1), NULL, NULL), 0);
}

static int count_ids(const char *id, void *payload)
{
    size_t *n = payload;
    (*n)++;
    (void)id;
    return 0;
}

static void leads_are_found_by_customer_within_the_scope(void **state)
{
    crm_backend *b = *state;
    crm_lead l1 = make_lead(1, "D1", T0), l2 = make_lead(2, "D2", T0 + 1), l3 = make_lead(3, "D1", T0 + 2);
    l1.customer_id = cid(1);
    l2.customer_id = cid(1);
    l3.customer_id = cid(2);
    assert_int_equal(b->lead_insert(b, &l1), 0);
    assert_int_equal(b->lead_insert(b, &l2), 0);
    assert_int_equal(b->lead_insert(b, &l3), 0);
    size_t n = 0;
    assert_int_equal(b->lead_find_by_customer(b, &everything, cid(1), count_ids, &n), 0);
    assert_int_equal(n, 2);
    crm_scope d2 = { "D2" };
    n = 0;
    assert_int_equal(b->lead_find_by_customer(b, &d2, cid(1), count_ids, &n), 0);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(b->lead_find_by_customer(b, &everything, cid(7), count_ids, &n), 0);
    assert_int_equal(n, 0);
}

/* ---- members and points (issue 5) ---- */

static crm_points_txn make_txn(int n, const char *customer, crm_points_kind kind, int64_t points, int64_t expires)
{
    static char ids[16][CRM_ID_LEN + 1], keys[16][16];
    snprintf(ids[n % 16], sizeof ids[0], "0190c000-0000-7000-8000-%012d", n);
    snprintf(keys[n % 16], sizeof keys[0], "key-%d", n);
    crm_points_txn t = { ids[n % 16], customer, kind, points, kind == CRM_POINTS_ACCRUAL ? points : 0, expires,
                         keys[n % 16], NULL, NULL, "购车积分", T0 + n };
    return t;
}

static void members_roundtrip_and_honour_scope(void **state)
{
    crm_backend *b = *state;
    crm_customer c = { cid(1), NULL, "D1", NULL, T0, T0, 0 };
    assert_int_equal(b->customer_insert(b, &c), 0);
    crm_member m = { cid(1), "M-1", "gold", T0 + 1, T0, 250, T0 + 2 };
    assert_int_equal(b->member_insert(b, &m), 0);
    assert_int_equal(b->member_insert(b, &m), CRM_EEXISTS);
    crm_member other = { cid(2), "M-1", NULL, T0, T0, 0, T0 };
    assert_int_equal(b->member_insert(b, &other), CRM_EEXISTS); /* number taken */
    crm_member out;
    assert_int_equal(b->member_get(b, &everything, cid(1), &out), 0);
    assert_string_equal(out.member_no, "M-1");
    assert_string_equal(out.tier, "gold");
    assert_int_equal(out.tier_since, T0 + 1);
    assert_int_equal(out.enrolled_at, T0);
    assert_int_equal(out.balance, 250);
    assert_int_equal(out.updated_at, T0 + 2);
    crm_scope d1 = { "D1" }, d2 = { "D2" };
    assert_int_equal(b->member_get(b, &d1, cid(1), &out), 0);
    assert_int_equal(b->member_get(b, &d2, cid(1), &out), CRM_ENOTFOUND);
    m.tier = NULL;
    m.balance = -5;
    assert_int_equal(b->member_update(b, &m), 0);
    assert_int_equal(b->member_get(b, &everything, cid(1), &out), 0);
    assert_null(out.tier);
    assert_int_equal(out.balance, -5);
    assert_int_equal(b->member_update(b, &other), CRM_ENOTFOUND);
}

static size_t scan_txns(crm_backend_iter *it, const char **first_id)
{
    crm_points_txn t;
    size_t n = 0;
    int rc;
    static char first[CRM_ID_LEN + 1];
    first[0] = '\0';
    while ((rc = it->next(it, &t)) == 0)
        if (n++ == 0)
            snprintf(first, sizeof first, "%s", t.id);
    assert_int_equal(rc, CRM_ITEROVER);
    it->free(it);
    if (first_id)
        *first_id = first;
    return n;
}

static void points_transactions_batches_and_uses(void **state)
{
    crm_backend *b = *state;
    crm_points_txn never = make_txn(1, cid(1), CRM_POINTS_ACCRUAL, 100, 0);
    crm_points_txn late = make_txn(2, cid(1), CRM_POINTS_ACCRUAL, 100, T0 + 90 * DAY);
    crm_points_txn soon = make_txn(3, cid(1), CRM_POINTS_ACCRUAL, 100, T0 + 30 * DAY);
    crm_points_txn theirs = make_txn(4, cid(2), CRM_POINTS_ACCRUAL, 7, T0 + 10 * DAY);
    assert_int_equal(b->points_insert(b, &never), 0);
    assert_int_equal(b->points_insert(b, &late), 0);
    assert_int_equal(b->points_insert(b, &soon), 0);
    assert_int_equal(b->points_insert(b, &theirs), 0);
    crm_points_txn dup = make_txn(5, cid(1), CRM_POINTS_REDEMPTION, -1, 0);
    dup.idempotency_key = "key-1";
    assert_int_equal(b->points_insert(b, &dup), CRM_EEXISTS);

    crm_points_txn out;
    assert_int_equal(b->points_get(b, late.id, &out), 0);
    assert_string_equal(out.customer_id, cid(1));
    assert_int_equal(out.kind, CRM_POINTS_ACCRUAL);
    assert_int_equal(out.points, 100);
    assert_int_equal(out.remaining, 100);
    assert_int_equal(out.expires_at, T0 + 90 * DAY);
    assert_string_equal(out.idempotency_key, "key-2");
    assert_null(out.reverses);
    assert_null(out.reversed_by);
    assert_string_equal(out.reason, "购车积分");
    assert_int_equal(out.created_at, T0 + 2);
    assert_int_equal(b->points_find_key(b, "key-3", &out), 0);
    assert_string_equal(out.id, soon.id);
    assert_int_equal(b->points_find_key(b, "nope", &out), CRM_ENOTFOUND);
    assert_int_equal(b->points_get(b, cid(7), &out), CRM_ENOTFOUND);

    /* The ledger in append order; live batches by expiry, never last. */
    crm_backend_iter *it;
    const char *first;
    assert_int_equal(b->points_scan(b, cid(1), &it), 0);
    assert_int_equal(scan_txns(it, &first), 3);
    assert_string_equal(first, never.id);
    assert_int_equal(b->points_batch_scan(b, cid(1), T0, 0, &it), 0);
    assert_int_equal(scan_txns(it, &first), 3);
    assert_string_equal(first, soon.id);
    assert_int_equal(b->points_batch_scan(b, cid(1), T0 + 30 * DAY, 0, &it), 0);
    assert_int_equal(scan_txns(it, &first), 2); /* soon expired at its instant */
    assert_string_equal(first, late.id);
    /* Expired batches, everyone's or one member's. */
    assert_int_equal(b->points_batch_scan(b, NULL, T0 + 30 * DAY, 1, &it), 0);
    assert_int_equal(scan_txns(it, &first), 2);
    assert_string_equal(first, theirs.id);
    assert_int_equal(b->points_batch_scan(b, cid(1), T0 + 30 * DAY, 1, &it), 0);
    assert_int_equal(scan_txns(it, NULL), 1);

    /* Used up batches drop out; reversed_by is kept. */
    soon.remaining = 0;
    soon.reversed_by = cid(3);
    assert_int_equal(b->points_update(b, &soon), 0);
    assert_int_equal(b->points_get(b, soon.id, &out), 0);
    assert_int_equal(out.remaining, 0);
    assert_string_equal(out.reversed_by, cid(3));
    assert_int_equal(b->points_batch_scan(b, cid(1), T0, 0, &it), 0);
    assert_int_equal(scan_txns(it, NULL), 2);
    crm_points_txn ghost = make_txn(9, cid(1), CRM_POINTS_ACCRUAL, 1, 0);
    assert_int_equal(b->points_update(b, &ghost), CRM_ENOTFOUND);

    crm_points_use u1 = { dup.id, late.id, 60 }, u2 = { dup.id, never.id, 40 };
    assert_int_equal(b->points_use_insert(b, &u1), 0);
    assert_int_equal(b->points_use_insert(b, &u2), 0);
    assert_int_equal(b->points_use_scan(b, dup.id, &it), 0);
    crm_points_use u;
    int64_t total = 0;
    size_t n = 0;
    int rc;
    while ((rc = it->next(it, &u)) == 0) {
        assert_string_equal(u.txn_id, dup.id);
        total += u.points;
        n++;
    }
    assert_int_equal(rc, CRM_ITEROVER);
    it->free(it);
    assert_int_equal(n, 2);
    assert_int_equal(total, 100);
}

/* ---- tags and facts (issue 5) ---- */

static void tags_store_bitmaps_and_assignments(void **state)
{
    crm_backend *b = *state;
    static const unsigned char blob[] = { 0x3A, 0x30, 0, 0, 0, 0, 0, 0 }; /* opaque bytes with NULs */
    crm_tag_record t = { "vip", CRM_TAG_MANUAL, NULL, T0, blob, sizeof blob };
    assert_int_equal(b->tag_put(b, &t), 0);
    crm_tag_record r2 = { "recent", CRM_TAG_RULE, "leads > 0", T0 + 1, blob, 3 };
    assert_int_equal(b->tag_put(b, &r2), 0);
    crm_tag_record out;
    assert_int_equal(b->tag_get(b, "vip", &out), 0);
    assert_string_equal(out.name, "vip");
    assert_int_equal(out.kind, CRM_TAG_MANUAL);
    assert_null(out.rule);
    assert_int_equal(out.updated_at, T0);
    assert_int_equal(out.bitmap_len, sizeof blob);
    assert_memory_equal(out.bitmap, blob, sizeof blob);
    t.bitmap_len = 2;
    t.updated_at = T0 + 5;
    assert_int_equal(b->tag_put(b, &t), 0); /* replaces */
    assert_int_equal(b->tag_get(b, "vip", &out), 0);
    assert_int_equal(out.bitmap_len, 2);
    assert_int_equal(out.updated_at, T0 + 5);
    assert_int_equal(b->tag_get(b, "nope", &out), CRM_ENOTFOUND);
    crm_backend_iter *it;
    assert_int_equal(b->tag_scan(b, &it), 0);
    assert_int_equal(it->next(it, &out), 0);
    assert_string_equal(out.name, "recent");
    assert_string_equal(out.rule, "leads > 0");
    assert_int_equal(it->next(it, &out), 0);
    assert_string_equal(out.name, "vip");
    assert_int_equal(it->next(it, &out), CRM_ITEROVER);
    it->free(it);

    crm_tag_assignment a = { cid(1), "vip", "dcc", T0 }, a2 = { cid(1), "suv", "campaign", T0 + 1 };
    assert_int_equal(b->tag_assignment_put(b, &a), 0);
    assert_int_equal(b->tag_assignment_put(b, &a2), 0);
    a.source = "app";
    assert_int_equal(b->tag_assignment_put(b, &a), 0); /* replaces */
    crm_tag_assignment ao;
    assert_int_equal(b->tag_assignment_scan(b, cid(1), &it), 0);
    assert_int_equal(it->next(it, &ao), 0);
    assert_string_equal(ao.tag, "suv");
    assert_int_equal(it->next(it, &ao), 0);
    assert_string_equal(ao.tag, "vip");
    assert_string_equal(ao.source, "app");
    assert_string_equal(ao.customer_id, cid(1));
    assert_int_equal(ao.assigned_at, T0);
    assert_int_equal(it->next(it, &ao), CRM_ITEROVER);
    it->free(it);
    int deleted = -1;
    assert_int_equal(b->tag_assignment_delete(b, cid(1), "vip", &deleted), 0);
    assert_int_equal(deleted, 1);
    assert_int_equal(b->tag_assignment_delete(b, cid(1), "vip", &deleted), 0);
    assert_int_equal(deleted, 0);
}

static void customer_facts_join_members_and_leads(void **state)
{
    crm_backend *b = *state;
    crm_customer c1 = { cid(1), "张伟", "D1", NULL, T0, T0, 0 }, c2 = { cid(2), NULL, NULL, NULL, T0 + 1, T0, 0 },
                 c3 = { cid(3), NULL, NULL, cid(1), T0 + 2, T0, 0 };
    assert_int_equal(b->customer_insert(b, &c1), 0);
    assert_int_equal(b->customer_insert(b, &c2), 0);
    assert_int_equal(b->customer_insert(b, &c3), 0);
    crm_member m = { cid(1), "M-1", "gold", T0, T0 + 3, 70, T0 };
    assert_int_equal(b->member_insert(b, &m), 0);
    crm_lead l1 = make_lead(1, "D1", T0 + 10), l2 = make_lead(2, "D1", T0 + 20);
    l1.customer_id = l2.customer_id = cid(1);
    l2.model = "瑶光";
    l2.channel = "dcc";
    assert_int_equal(b->lead_insert(b, &l1), 0);
    assert_int_equal(b->lead_insert(b, &l2), 0);

    crm_customer out;
    assert_int_equal(b->customer_get(b, &everything, cid(2), &out), 0);
    int64_t num2 = out.num;
    assert_true(num2 > 0);
    assert_int_equal(b->customer_get_num(b, &everything, num2, &out), 0);
    assert_string_equal(out.id, cid(2));
    crm_scope d1 = { "D1" };
    assert_int_equal(b->customer_get_num(b, &d1, num2, &out), CRM_ENOTFOUND);

    crm_backend_iter *it;
    assert_int_equal(b->customer_facts_scan(b, T0 + 100, CRM_FACTS_MEMBER | CRM_FACTS_LEADS | CRM_FACTS_VEHICLES, &it), 0);
    crm_customer_facts f;
    assert_int_equal(it->next(it, &f), 0);
    assert_string_equal(f.id, cid(1));
    assert_string_equal(f.dealer_id, "D1");
    assert_string_equal(f.name, "张伟");
    assert_int_equal(f.created_at, T0);
    assert_int_equal(f.member, 1);
    assert_string_equal(f.tier, "gold");
    assert_int_equal(f.balance, 70);
    assert_int_equal(f.enrolled_at, T0 + 3);
    assert_int_equal(f.leads, 2);
    assert_string_equal(f.model, "瑶光");
    assert_string_equal(f.channel, "dcc");
    assert_int_equal(f.last_lead_at, T0 + 20);
    assert_int_equal(f.vehicles, 0);
    assert_int_equal(it->next(it, &f), 0);
    assert_string_equal(f.id, cid(2));
    assert_int_equal(f.num, num2);
    assert_int_equal(f.member, 0);
    assert_null(f.tier);
    assert_int_equal(f.leads, 0);
    assert_null(f.model);
    assert_int_equal(it->next(it, &f), CRM_ITEROVER); /* cid(3) was merged away */
    it->free(it);

    /* Without the parts not asked for: the customer row only. */
    assert_int_equal(b->customer_facts_scan(b, T0 + 100, 0, &it), 0);
    assert_int_equal(it->next(it, &f), 0);
    assert_string_equal(f.id, cid(1));
    assert_string_equal(f.dealer_id, "D1");
    assert_int_equal(f.created_at, T0);
    assert_int_equal(f.member, 0);
    assert_int_equal(f.leads, 0);
    it->free(it);

    /* Every customer in scope, merged ones too, by number. */
    assert_int_equal(b->customer_scan(b, &everything, &it), 0);
    size_t n = 0;
    int64_t last = 0;
    while (it->next(it, &out) == 0) {
        assert_true(out.num > last);
        last = out.num;
        n++;
    }
    it->free(it);
    assert_int_equal(n, 3);
    assert_int_equal(b->customer_scan(b, &d1, &it), 0);
    assert_int_equal(it->next(it, &out), 0);
    assert_string_equal(out.id, cid(1));
    assert_string_equal(out.name, "张伟");
    assert_int_equal(it->next(it, &out), CRM_ITEROVER);
    it->free(it);
}

/* ---- vehicles (issue 5) ---- */

static void vehicles_and_their_people(void **state)
{
    crm_backend *b = *state;
    crm_vehicle v = { "LSVAU218XN2183294", "星途 LX", 2025, T0 - DAY, 0, T0, T0 };
    assert_int_equal(b->vehicle_put(b, &v), 0);
    crm_vehicle out;
    assert_int_equal(b->vehicle_get(b, v.vin, &out), 0);
    assert_string_equal(out.model, "星途 LX");
    assert_int_equal(out.year, 2025);
    assert_int_equal(out.purchased_at, T0 - DAY);
    assert_int_equal(out.serviced_at, 0);
    assert_int_equal(out.created_at, T0);
    v.serviced_at = T0 + DAY;
    v.updated_at = T0 + DAY;
    assert_int_equal(b->vehicle_put(b, &v), 0); /* replaces */
    assert_int_equal(b->vehicle_get(b, v.vin, &out), 0);
    assert_int_equal(out.serviced_at, T0 + DAY);
    assert_int_equal(b->vehicle_get(b, "1M8GDM9AXKP042788", &out), CRM_ENOTFOUND);

    crm_vehicle_person owner = { v.vin, cid(1), CRM_VEHICLE_OWNER, T0, 0 };
    crm_vehicle_person driver = { v.vin, cid(2), CRM_VEHICLE_DRIVER, T0 - DAY, T0 + DAY };
    assert_int_equal(b->vehicle_person_put(b, &owner), 0);
    assert_int_equal(b->vehicle_person_put(b, &driver), 0);
    owner.until = T0 + 5 * DAY;
    assert_int_equal(b->vehicle_person_put(b, &owner), 0); /* replaces */
    crm_backend_iter *it;
    crm_vehicle_person r;
    assert_int_equal(b->vehicle_person_scan(b, v.vin, NULL, &it), 0);
    assert_int_equal(it->next(it, &r), 0);
    assert_string_equal(r.customer_id, cid(2)); /* by since */
    assert_int_equal(r.role, CRM_VEHICLE_DRIVER);
    assert_int_equal(r.until, T0 + DAY);
    assert_int_equal(it->next(it, &r), 0);
    assert_string_equal(r.customer_id, cid(1));
    assert_int_equal(r.until, T0 + 5 * DAY);
    assert_int_equal(it->next(it, &r), CRM_ITEROVER);
    it->free(it);
    assert_int_equal(b->vehicle_person_scan(b, NULL, cid(1), &it), 0);
    assert_int_equal(it->next(it, &r), 0);
    assert_string_equal(r.vin, v.vin);
    assert_int_equal(r.since, T0);
    assert_int_equal(it->next(it, &r), CRM_ITEROVER);
    it->free(it);
}

/* ---- work orders (issue 6) ---- */

/* A work order with every field set, numbered n (strings static per slot). */
static crm_workorder make_wo(int n, const char *dealer, int64_t created)
{
    static char ids[64][CRM_ID_LEN + 1];
    int slot = n % 64;
    snprintf(ids[slot], sizeof ids[slot], "0190b000-0000-7000-8000-%012d", n);
    crm_workorder w = {
        .id = ids[slot],
        .type = "complaint",
        .category = "售后/异响",
        .priority = 2,
        .channel = "dcc",
        .customer_id = "C-1",
        .lead_id = "0190a000-0000-7000-8000-000000000001",
        .vin = "LVSHCAMB1CE012345",
        .dealer_id = dealer,
        .queue = "complaints",
        .assignee = "agent-7",
        .subject = "刹车异响",
        .description = "第二次到店\n仍有异响",
        .attributes = "{\"mileage_km\":12000}",
        .status = CRM_WO_IN_PROGRESS,
        .created_at = created,
        .updated_at = created + 1,
        .first_response_at = created + 2,
        .resolved_at = 0,
        .closed_at = 0,
        .paused_since = created + 3,
        .pauses = "[[1,2]]",
        .sla_flags = CRM_WO_SLA_RESPONSE_WARNED,
        .escalation_level = 1,
    };
    return w;
}

static void assert_wo_equal(const crm_workorder *a, const crm_workorder *b)
{
    assert_str_or_null(a->id, b->id);
    assert_str_or_null(a->type, b->type);
    assert_str_or_null(a->category, b->category);
    assert_int_equal(a->priority, b->priority);
    assert_str_or_null(a->channel, b->channel);
    assert_str_or_null(a->customer_id, b->customer_id);
    assert_str_or_null(a->lead_id, b->lead_id);
    assert_str_or_null(a->vin, b->vin);
    assert_str_or_null(a->dealer_id, b->dealer_id);
    assert_str_or_null(a->queue, b->queue);
    assert_str_or_null(a->assignee, b->assignee);
    assert_str_or_null(a->subject, b->subject);
    assert_str_or_null(a->description, b->description);
    assert_str_or_null(a->attributes, b->attributes);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->created_at, b->created_at);
    assert_int_equal(a->updated_at, b->updated_at);
    assert_int_equal(a->first_response_at, b->first_response_at);
    assert_int_equal(a->resolved_at, b->resolved_at);
    assert_int_equal(a->closed_at, b->closed_at);
    assert_int_equal(a->paused_since, b->paused_since);
    assert_str_or_null(a->pauses, b->pauses);
    assert_int_equal(a->sla_flags, b->sla_flags);
    assert_int_equal(a->escalation_level, b->escalation_level);
}

static void workorder_roundtrips_and_updates(void **state)
{
    crm_backend *b = *state;
    if (b->version < CRM_BACKEND_VERSION_WORKORDERS)
        skip();
    crm_workorder w = make_wo(1, "D1", T0), out;
    assert_int_equal(b->workorder_insert(b, &w), 0);
    assert_int_equal(b->workorder_insert(b, &w), CRM_EEXISTS);
    assert_int_equal(b->workorder_get(b, &everything, w.id, &out), 0);
    assert_wo_equal(&out, &w);
    /* Every field may change, and NULLs stay NULL. */
    w.category = w.channel = w.customer_id = w.lead_id = w.vin = w.queue = NULL;
    w.assignee = w.description = w.attributes = w.pauses = NULL;
    w.priority = 1;
    w.status = CRM_WO_CLOSED;
    w.resolved_at = T0 + 10;
    w.closed_at = T0 + 11;
    w.paused_since = 0;
    w.sla_flags = 15;
    w.escalation_level = 3;
    assert_int_equal(b->workorder_update(b, &w), 0);
    assert_int_equal(b->workorder_get(b, &everything, w.id, &out), 0);
    assert_wo_equal(&out, &w);
    crm_workorder missing = make_wo(2, "D1", T0);
    assert_int_equal(b->workorder_update(b, &missing), CRM_ENOTFOUND);
    assert_int_equal(b->workorder_get(b, &everything, missing.id, &out), CRM_ENOTFOUND);
}

static void workorder_get_honours_scope(void **state)
{
    crm_backend *b = *state;
    if (b->version < CRM_BACKEND_VERSION_WORKORDERS)
        skip();
    crm_workorder w1 = make_wo(1, "D1", T0), w2 = make_wo(2, NULL, T0);
    assert_int_equal(b->workorder_insert(b, &w1), 0);
    assert_int_equal(b->workorder_insert(b, &w2), 0);
    crm_scope d1 = { "D1" }, d2 = { "D2" };
    crm_workorder out;
    assert_int_equal(b->workorder_get(b, &d1, w1.id, &out), 0);
    assert_int_equal(b->workorder_get(b, &d2, w1.id, &out), CRM_ENOTFOUND);
    /* A work order without a dealer belongs to the OEM: no dealer sees it. */
    assert_int_equal(b->workorder_get(b, &d1, w2.id, &out), CRM_ENOTFOUND);
    assert_int_equal(b->workorder_get(b, &everything, w2.id, &out), 0);
}

static size_t wo_scan_count(crm_backend *b, const crm_scope *scope, const crm_workorder_filter *f, char *first_id)
{
    crm_backend_iter *it;
    assert_int_equal(b->workorder_scan(b, scope, f, &it), 0);
    crm_workorder w;
    size_t n = 0;
    int64_t last = INT64_MIN;
    int rc;
    while ((rc = it->next(it, &w)) == 0) {
        assert_true(w.created_at >= last);
        last = w.created_at;
        if (n++ == 0 && first_id)
            strcpy(first_id, w.id);
    }
    assert_int_equal(rc, CRM_ITEROVER);
    assert_int_equal(it->next(it, &w), CRM_ITEROVER);
    it->free(it);
    return n;
}

static void workorder_scan_filters_and_orders(void **state)
{
    crm_backend *b = *state;
    if (b->version < CRM_BACKEND_VERSION_WORKORDERS)
        skip();
    /* Inserted newest first; the scan returns them oldest first. */
    for (int i = 9; i >= 0; i--) {
        crm_workorder w = make_wo(i, i % 2 ? "D1" : "D2", T0 + i * DAY);
        w.status = (crm_wo_status)(i % CRM_WO_STATUS_COUNT);
        w.queue = i < 5 ? "q1" : "q2";
        w.assignee = i % 3 == 0 ? "a0" : "a1";
        w.type = i == 7 ? "repair" : "complaint";
        assert_int_equal(b->workorder_insert(b, &w), 0);
    }
    char first[CRM_ID_LEN + 1];
    assert_int_equal(wo_scan_count(b, &everything, NULL, first), 10);
    assert_string_equal(first, make_wo(0, NULL, 0).id);
    crm_scope d1 = { "D1" };
    assert_int_equal(wo_scan_count(b, &d1, NULL, NULL), 5);
    crm_workorder_filter f = CRM_WORKORDER_FILTER_INIT;
    f.dealer_id = "D2";
    assert_int_equal(wo_scan_count(b, &d1, &f, NULL), 0);
    assert_int_equal(wo_scan_count(b, &everything, &f, NULL), 5);
    f = (crm_workorder_filter)CRM_WORKORDER_FILTER_INIT;
    f.queue = "q2";
    assert_int_equal(wo_scan_count(b, &everything, &f, NULL), 5);
    f.assignee = "a0"; /* 6, 9 */
    assert_int_equal(wo_scan_count(b, &everything, &f, NULL), 2);
    f = (crm_workorder_filter)CRM_WORKORDER_FILTER_INIT;
    f.type = "repair";
    assert_int_equal(wo_scan_count(b, &everything, &f, NULL), 1);
    f = (crm_workorder_filter)CRM_WORKORDER_FILTER_INIT;
    f.statuses = CRM_WO_OPEN_STATUSES; /* statuses 0..3: i = 0,1,2,3,6,7,8,9 */
    assert_int_equal(wo_scan_count(b, &everything, &f, NULL), 8);
    f.created_from = T0 + 2 * DAY;
    f.created_to = T0 + 8 * DAY; /* 2,3,6,7 */
    assert_int_equal(wo_scan_count(b, &everything, &f, NULL), 4);
    f.limit = 3;
    assert_int_equal(wo_scan_count(b, &everything, &f, first), 3);
    assert_string_equal(first, make_wo(2, NULL, 0).id);
}

static void comments_append_and_scan_in_order(void **state)
{
    crm_backend *b = *state;
    if (b->version < CRM_BACKEND_VERSION_WORKORDERS)
        skip();
    crm_workorder w = make_wo(1, "D1", T0);
    assert_int_equal(b->workorder_insert(b, &w), 0);
    /* Same time, ids out of order: append order wins. */
    crm_wo_comment c1 = { "0190c000-0000-7000-8000-000000000009", w.id, "D1", T0, "agent-7", CRM_WO_PUBLIC, "您好，已安排检修" };
    crm_wo_comment c2 = { "0190c000-0000-7000-8000-000000000001", w.id, "D1", T0, "agent-7", CRM_WO_INTERNAL, "line 1\nline 2" };
    crm_wo_comment other = { "0190c000-0000-7000-8000-000000000005", "0190b000-0000-7000-8000-000000000099", "D2", T0,
                             "x", CRM_WO_INTERNAL, "other" };
    assert_int_equal(b->wo_comment_insert(b, &c1), 0);
    assert_int_equal(b->wo_comment_insert(b, &other), 0);
    assert_int_equal(b->wo_comment_insert(b, &c2), 0);
    assert_int_equal(b->wo_comment_insert(b, &c2), CRM_EEXISTS);
    crm_backend_iter *it;
    crm_wo_comment c;
    assert_int_equal(b->wo_comment_scan(b, &everything, w.id, &it), 0);
    assert_int_equal(it->next(it, &c), 0);
    assert_string_equal(c.id, c1.id);
    assert_string_equal(c.workorder_id, w.id);
    assert_string_equal(c.dealer_id, "D1");
    assert_int_equal(c.at, T0);
    assert_string_equal(c.author, "agent-7");
    assert_int_equal(c.visibility, CRM_WO_PUBLIC);
    assert_string_equal(c.body, "您好，已安排检修");
    assert_int_equal(it->next(it, &c), 0);
    assert_string_equal(c.id, c2.id);
    assert_int_equal(c.visibility, CRM_WO_INTERNAL);
    assert_string_equal(c.body, "line 1\nline 2");
    assert_int_equal(it->next(it, &c), CRM_ITEROVER);
    it->free(it);
    crm_scope d2 = { "D2" };
    assert_int_equal(b->wo_comment_scan(b, &d2, w.id, &it), 0);
    assert_int_equal(it->next(it, &c), CRM_ITEROVER);
    it->free(it);
}

static void workorder_writes_roll_back(void **state)
{
    crm_backend *b = *state;
    if (b->version < CRM_BACKEND_VERSION_WORKORDERS)
        skip();
    crm_workorder w = make_wo(1, "D1", T0), out;
    assert_int_equal(b->tx_begin(b), 0);
    assert_int_equal(b->workorder_insert(b, &w), 0);
    crm_wo_comment c = { "0190c000-0000-7000-8000-000000000001", w.id, "D1", T0, "a", CRM_WO_INTERNAL, "x" };
    assert_int_equal(b->wo_comment_insert(b, &c), 0);
    assert_int_equal(b->tx_rollback(b), 0);
    assert_int_equal(b->workorder_get(b, &everything, w.id, &out), CRM_ENOTFOUND);
    crm_backend_iter *it;
    assert_int_equal(b->wo_comment_scan(b, &everything, w.id, &it), 0);
    assert_int_equal(it->next(it, &c), CRM_ITEROVER);
    it->free(it);
}

static void events_scan_by_kind_since(void **state)
{
    crm_backend *b = *state;
    if (b->version < CRM_BACKEND_VERSION_WORKORDERS)
        skip();
    static const struct {
        const char *kind, *dealer;
        int64_t at;
    } rows[] = { { "workorder.sla_notify", "D1", T0 + 5 }, { "workorder.sla_breach", "D1", T0 + 6 },
                 { "workorder.sla_notify", "D2", T0 + 1 }, { "workorder.sla_notify", "D1", T0 + 9 },
                 { "workorder.sla_notify", NULL, T0 } };
    for (int i = 0; i < 5; i++) {
        char id[CRM_ID_LEN + 1];
        snprintf(id, sizeof id, "0190d000-0000-7000-8000-%012d", i);
        crm_event e = { id, rows[i].at, rows[i].kind, "workorder", id, rows[i].dealer, "sys", "{}" };
        assert_int_equal(b->event_append(b, &e), 0);
    }
    crm_backend_iter *it;
    crm_event e;
    /* Append order, not time order; at >= since. */
    assert_int_equal(b->event_scan_kind(b, &everything, "workorder.sla_notify", T0 + 1, &it), 0);
    assert_int_equal(it->next(it, &e), 0);
    assert_int_equal(e.at, T0 + 5);
    assert_string_equal(e.kind, "workorder.sla_notify");
    assert_int_equal(it->next(it, &e), 0);
    assert_int_equal(e.at, T0 + 1);
    assert_string_equal(e.dealer_id, "D2");
    assert_int_equal(it->next(it, &e), 0);
    assert_int_equal(e.at, T0 + 9);
    assert_int_equal(it->next(it, &e), CRM_ITEROVER);
    it->free(it);
    crm_scope d1 = { "D1" };
    assert_int_equal(b->event_scan_kind(b, &d1, "workorder.sla_notify", 0, &it), 0);
    size_t n = 0;
    while (it->next(it, &e) == 0) {
        assert_string_equal(e.dealer_id, "D1");
        n++;
    }
    assert_int_equal(n, 2);
    it->free(it);
}

/* ---- review queue (issue 3) ---- */

static int collect_review_ids(const crm_match_review *r, void *payload)
{
    char *ids = payload;
    strcat(ids, r->id);
    strcat(ids, " ");
    return 0;
}

static void reviews_insert_get_update_list(void **state)
{
    crm_backend *b = *state;
    const char *r1 = "01900000-0000-7000-8000-000000000001", *r2 = "01900000-0000-7000-8000-000000000002";
    const char *r3 = "01900000-0000-7000-8000-000000000003";
    crm_match_review a = {r1, "L1", "L0", "D1", 0.75, "{\"fields\":[]}", CRM_REVIEW_PENDING, 2000, 0, NULL, NULL};
    crm_match_review c = {r2, "L2", "L0", "D2", 0.6, "{}", CRM_REVIEW_PENDING, 1000, 0, NULL, NULL};
    crm_match_review d = {r3, "L3", "L0", NULL, 0.55, "{}", CRM_REVIEW_PENDING, 3000, 0, NULL, NULL};
    assert_int_equal(b->review_insert(b, &a), 0);
    assert_int_equal(b->review_insert(b, &c), 0);
    assert_int_equal(b->review_insert(b, &d), 0);
    assert_int_not_equal(b->review_insert(b, &a), 0); /* a taken id */

    crm_match_review got;
    crm_scope all = {NULL}, d1 = {"D1"}, d2 = {"D2"};
    assert_int_equal(b->review_get(b, &all, r1, &got), 0);
    assert_string_equal(got.lead_id, "L1");
    assert_string_equal(got.candidate_id, "L0");
    assert_string_equal(got.dealer_id, "D1");
    assert_true(got.probability > 0.749 && got.probability < 0.751);
    assert_string_equal(got.evidence, "{\"fields\":[]}");
    assert_int_equal(got.status, CRM_REVIEW_PENDING);
    assert_int_equal(got.created_at, 2000);
    assert_int_equal(got.decided_at, 0);
    assert_null(got.decided_by);
    assert_int_equal(b->review_get(b, &d2, r1, &got), CRM_ENOTFOUND);
    assert_int_equal(b->review_get(b, &all, "01900000-0000-7000-8000-00000000000f", &got), CRM_ENOTFOUND);

    got.status = CRM_REVIEW_REJECTED;
    got.decided_at = 5000;
    got.decided_by = "sales:li";
    assert_int_equal(b->review_update(b, &got), 0);
    assert_int_equal(b->review_get(b, &d1, r1, &got), 0);
    assert_int_equal(got.status, CRM_REVIEW_REJECTED);
    assert_int_equal(got.decided_at, 5000);
    assert_string_equal(got.decided_by, "sales:li");
    crm_match_review missing = {"01900000-0000-7000-8000-00000000000f", "x", "y", NULL, 0, "{}", 1, 0, 1, "z", NULL};
    assert_int_equal(b->review_update(b, &missing), CRM_ENOTFOUND);

    /* Oldest first, by status, by scope, with a limit. */
    char ids[512] = "";
    assert_int_equal(b->review_list(b, &all, -1, 10, collect_review_ids, ids), 0);
    char want[512];
    snprintf(want, sizeof want, "%s %s %s ", r2, r1, r3);
    assert_string_equal(ids, want);
    ids[0] = '\0';
    assert_int_equal(b->review_list(b, &all, CRM_REVIEW_PENDING, 10, collect_review_ids, ids), 0);
    snprintf(want, sizeof want, "%s %s ", r2, r3);
    assert_string_equal(ids, want);
    ids[0] = '\0';
    assert_int_equal(b->review_list(b, &d2, -1, 10, collect_review_ids, ids), 0);
    snprintf(want, sizeof want, "%s ", r2);
    assert_string_equal(ids, want);
    ids[0] = '\0';
    assert_int_equal(b->review_list(b, &all, -1, 1, collect_review_ids, ids), 0);
    snprintf(want, sizeof want, "%s ", r2);
    assert_string_equal(ids, want);
}

/* ---- lead merges (version 6) ---- */

static int count_scan(crm_backend *b, const crm_scope *scope, char *ids, size_t cap)
{
    crm_backend_iter *it;
    assert_int_equal(b->lead_scan(b, scope, NULL, &it), 0);
    crm_lead l;
    int n = 0, rc;
    ids[0] = '\0';
    while ((rc = it->next(it, &l)) == 0) {
        n++;
        strncat(ids, l.id + 33, cap - strlen(ids) - 1); /* the last three digits */
        strncat(ids, " ", cap - strlen(ids) - 1);
    }
    assert_int_equal(rc, CRM_ITEROVER);
    it->free(it);
    return n;
}

static void merged_leads_roundtrip_and_scans_skip_them(void **state)
{
    crm_backend *b = *state;
    if (b->version < CRM_BACKEND_VERSION_MERGE)
        skip();
    crm_lead a = make_lead(1, "D1", T0), c = make_lead(2, "D1", T0 + 1);
    assert_int_equal(b->lead_insert(b, &a), 0);
    c.merged_into = a.id;
    assert_int_equal(b->lead_insert(b, &c), 0);
    crm_lead out;
    assert_int_equal(b->lead_get(b, &everything, c.id, &out), 0);
    assert_lead_equal(&c, &out);
    char ids[64];
    assert_int_equal(count_scan(b, &everything, ids, sizeof ids), 1);
    assert_string_equal(ids, "001 ");
    /* An update clears it (an unmerge) and the lead is listed again. */
    c.merged_into = NULL;
    assert_int_equal(b->lead_update(b, &c), 0);
    assert_int_equal(b->lead_get(b, &everything, c.id, &out), 0);
    assert_null(out.merged_into);
    assert_int_equal(count_scan(b, &everything, ids, sizeof ids), 2);
    c.merged_into = a.id;
    assert_int_equal(b->lead_update(b, &c), 0);
    assert_int_equal(count_scan(b, &everything, ids, sizeof ids), 1);
}

static int collect_short_ids(const char *id, void *payload)
{
    strcat(payload, id);
    strcat(payload, " ");
    return 0;
}

typedef struct key_pairs {
    char kind[64][40], key[64][40];
    int n;
} key_pairs;

static int collect_key_pairs(const char *kind, const char *key, void *payload)
{
    key_pairs *k = payload;
    assert_true(k->n < 64 && strlen(kind) < 40 && strlen(key) < 40);
    strcpy(k->kind[k->n], kind);
    strcpy(k->key[k->n++], key);
    return 0;
}

/* key_scan reports a record's keys in whatever form the backend stores them
 * (the SQLite backend keeps only a hash): what matters is that key_put and
 * key_delete take that form back and mean the same key by it. */
static void keys_scan_per_record_and_delete(void **state)
{
    crm_backend *b = *state;
    if (b->version < CRM_BACKEND_VERSION_MERGE)
        skip();
    assert_int_equal(b->key_put(b, "match:phone", "139", "X"), 0);
    assert_int_equal(b->key_put(b, "lead.phone", "139", "X"), 0);
    assert_int_equal(b->key_put(b, "lead.phone", "138", "X"), 0);
    assert_int_equal(b->key_put(b, "lead.phone", "139", "Y"), 0);
    key_pairs x = {.n = 0};
    assert_int_equal(b->key_scan(b, "X", collect_key_pairs, &x), 0);
    assert_int_equal(x.n, 3);
    /* The reported keys, put onto Z, are X's keys and no others. */
    for (int i = 0; i < x.n; i++)
        assert_int_equal(b->key_put(b, x.kind[i], x.key[i], "Z"), 0);
    char got[256] = "";
    assert_int_equal(b->key_find(b, "lead.phone", "138", collect_short_ids, got), 0);
    assert_string_equal(got, "X Z ");
    got[0] = '\0';
    assert_int_equal(b->key_find(b, "match:phone", "139", collect_short_ids, got), 0);
    assert_string_equal(got, "X Z ");
    /* And deleting them by that form takes them away again. */
    for (int i = 0; i < x.n; i++)
        assert_int_equal(b->key_delete(b, x.kind[i], x.key[i], "Z"), 0);
    key_pairs z = {.n = 0};
    assert_int_equal(b->key_scan(b, "Z", collect_key_pairs, &z), 0);
    assert_int_equal(z.n, 0);

    assert_int_equal(b->key_delete(b, "lead.phone", "139", "X"), 0);
    assert_int_equal(b->key_delete(b, "lead.phone", "139", "X"), 0); /* gone already: no error */
    got[0] = '\0';
    assert_int_equal(b->key_find(b, "lead.phone", "139", collect_short_ids, got), 0);
    assert_string_equal(got, "Y ");
    key_pairs nobody = {.n = 0};
    assert_int_equal(b->key_scan(b, "nobody", collect_key_pairs, &nobody), 0);
    assert_int_equal(nobody.n, 0);
    /* Deletes roll back with the transaction. */
    assert_int_equal(b->tx_begin(b), 0);
    assert_int_equal(b->key_delete(b, "lead.phone", "138", "X"), 0);
    x.n = 0;
    assert_int_equal(b->key_scan(b, "X", collect_key_pairs, &x), 0);
    assert_int_equal(x.n, 1);
    assert_int_equal(b->tx_rollback(b), 0);
    x.n = 0;
    assert_int_equal(b->key_scan(b, "X", collect_key_pairs, &x), 0);
    assert_int_equal(x.n, 2);
    got[0] = '\0';
    assert_int_equal(b->key_find(b, "lead.phone", "138", collect_short_ids, got), 0);
    assert_string_equal(got, "X ");
}

static int collect_merge_ids(const crm_lead_merge_record *m, void *payload)
{
    strcat(payload, m->id + 33);
    strcat(payload, m->undone_at ? "u " : " ");
    return 0;
}

static void lead_merges_insert_get_update_list(void **state)
{
    crm_backend *b = *state;
    if (b->version < CRM_BACKEND_VERSION_MERGE)
        skip();
    const char *m1 = "01900000-0000-7000-8000-000000000001", *m2 = "01900000-0000-7000-8000-000000000002";
    const char *m3 = "01900000-0000-7000-8000-000000000003", *none = "01900000-0000-7000-8000-00000000000f";
    crm_lead_merge_record a = {m1, "L1", "L2", "D1", "{\"fields\":{}}", "{\"b\":1}", "{\"a\":1}", 1000, "dcc:wang", 0,
                               NULL};
    crm_lead_merge_record c = {m2, "L5", "L6", "D2", "{}", "{}", "{}", 2000, "system", 0, NULL};
    crm_lead_merge_record d = {m3, "L3", "L1", NULL, "{}", "{}", "{}", 3000, "system", 0, NULL};
    assert_int_equal(b->lead_merge_insert(b, &a), 0);
    assert_int_equal(b->lead_merge_insert(b, &c), 0);
    assert_int_equal(b->lead_merge_insert(b, &d), 0);
    assert_int_equal(b->lead_merge_insert(b, &a), CRM_EEXISTS);

    crm_lead_merge_record got;
    crm_scope d1 = {"D1"}, d2 = {"D2"};
    assert_int_equal(b->lead_merge_get(b, &d1, m1, &got), 0);
    assert_string_equal(got.survivor_id, "L1");
    assert_string_equal(got.other_id, "L2");
    assert_string_equal(got.dealer_id, "D1");
    assert_string_equal(got.rules, "{\"fields\":{}}");
    assert_string_equal(got.before, "{\"b\":1}");
    assert_string_equal(got.after, "{\"a\":1}");
    assert_int_equal(got.created_at, 1000);
    assert_string_equal(got.actor, "dcc:wang");
    assert_int_equal(got.undone_at, 0);
    assert_null(got.undone_by);
    assert_int_equal(b->lead_merge_get(b, &d2, m1, &got), CRM_ENOTFOUND);
    assert_int_equal(b->lead_merge_get(b, &everything, none, &got), CRM_ENOTFOUND);

    got.undone_at = 5000;
    got.undone_by = "dcc:li";
    assert_int_equal(b->lead_merge_update(b, &got), 0);
    assert_int_equal(b->lead_merge_get(b, &everything, m1, &got), 0);
    assert_int_equal(got.undone_at, 5000);
    assert_string_equal(got.undone_by, "dcc:li");
    assert_string_equal(got.before, "{\"b\":1}"); /* the rest never changes */
    crm_lead_merge_record missing = {none, "x", "y", NULL, "{}", "{}", "{}", 0, "z", 1, "z"};
    assert_int_equal(b->lead_merge_update(b, &missing), CRM_ENOTFOUND);

    /* Newest first; by lead (survivor or other), by scope, with a limit. */
    char ids[128] = "";
    assert_int_equal(b->lead_merge_list(b, &everything, NULL, 10, collect_merge_ids, ids), 0);
    assert_string_equal(ids, "003 002 001u ");
    ids[0] = '\0';
    assert_int_equal(b->lead_merge_list(b, &everything, "L1", 10, collect_merge_ids, ids), 0);
    assert_string_equal(ids, "003 001u ");
    ids[0] = '\0';
    assert_int_equal(b->lead_merge_list(b, &d1, "L1", 10, collect_merge_ids, ids), 0);
    assert_string_equal(ids, "001u ");
    ids[0] = '\0';
    assert_int_equal(b->lead_merge_list(b, &everything, NULL, 1, collect_merge_ids, ids), 0);
    assert_string_equal(ids, "003 ");
}

static void reviews_keep_their_merge(void **state)
{
    crm_backend *b = *state;
    if (b->version < CRM_BACKEND_VERSION_MERGE)
        skip();
    const char *r1 = "01900000-0000-7000-8000-000000000001";
    crm_match_review a = {r1, "L1", "L0", "D1", 0.75, "{}", CRM_REVIEW_PENDING, 2000, 0, NULL, NULL};
    assert_int_equal(b->review_insert(b, &a), 0);
    a.status = CRM_REVIEW_ACCEPTED;
    a.decided_at = 3000;
    a.decided_by = "dcc:wang";
    a.merge_id = "01900000-0000-7000-8000-0000000000aa";
    assert_int_equal(b->review_update(b, &a), 0);
    crm_match_review got;
    assert_int_equal(b->review_get(b, &everything, r1, &got), 0);
    assert_string_equal(got.merge_id, "01900000-0000-7000-8000-0000000000aa");
    /* Back to pending, as an unmerge puts it: no decision, no merge. */
    a.status = CRM_REVIEW_PENDING;
    a.decided_at = 0;
    a.decided_by = NULL;
    a.merge_id = NULL;
    assert_int_equal(b->review_update(b, &a), 0);
    assert_int_equal(b->review_get(b, &everything, r1, &got), 0);
    assert_int_equal(got.status, CRM_REVIEW_PENDING);
    assert_int_equal(got.decided_at, 0);
    assert_null(got.decided_by);
    assert_null(got.merge_id);
}

int crm_conformance_run(const char *name, crm_conformance_factory f, void *ctx)
{
    factory = f;
    factory_ctx = ctx;
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(schema_is_current),
        T(lead_roundtrips_every_field),
        T(lead_insert_refuses_a_taken_id),
        T(lead_update_replaces),
        T(lead_get_honours_scope),
        T(lead_scan_filters_and_orders),
        T(lead_scan_streams_many),
        T(keys_find_ids),
        T(keys_give_back_ids_as_put),
        T(events_append_and_scan_in_order),
        T(transactions_commit_roll_back_and_nest),
        T(a_failed_write_inside_a_transaction_keeps_it_usable),
        T(gets_are_borrowed_until_the_next_call),
        T(models_roundtrip_by_name_and_version),
        T(models_roll_back_with_the_transaction),
        T(stages_append_and_scan_in_order),
        T(workorder_roundtrips_and_updates),
        T(workorder_get_honours_scope),
        T(workorder_scan_filters_and_orders),
        T(comments_append_and_scan_in_order),
        T(workorder_writes_roll_back),
        T(events_scan_by_kind_since),
        T(customer_roundtrips_updates_and_honours_scope),
        T(identities_are_unique_found_moved_and_scanned),
        T(leads_are_found_by_customer_within_the_scope),
        T(members_roundtrip_and_honour_scope),
        T(points_transactions_batches_and_uses),
        T(tags_store_bitmaps_and_assignments),
        T(customer_facts_join_members_and_leads),
        T(vehicles_and_their_people),
        T(reviews_insert_get_update_list),
        T(merged_leads_roundtrip_and_scans_skip_them),
        T(keys_scan_per_record_and_delete),
        T(lead_merges_insert_get_update_list),
        T(reviews_keep_their_merge),
    };
#undef T
    return cmocka_run_group_tests_name(name, tests, NULL, NULL);
}
