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
        T(events_append_and_scan_in_order),
        T(transactions_commit_roll_back_and_nest),
        T(a_failed_write_inside_a_transaction_keeps_it_usable),
        T(gets_are_borrowed_until_the_next_call),
        T(models_roundtrip_by_name_and_version),
        T(models_roll_back_with_the_transaction),
        T(stages_append_and_scan_in_order),
    };
#undef T
    return cmocka_run_group_tests_name(name, tests, NULL, NULL);
}
