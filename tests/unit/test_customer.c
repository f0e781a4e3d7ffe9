/* Customers: identity resolution (create, link, merge), merge rules,
 * unmerge, resolving leads, the 360 view, scope, and bad input that names
 * the JSON path and changes nothing. */
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
#define HASH "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"

static int setup_memory(void **state)
{
    return test_setup_memory_db(state, T0);
}

static crm_resolve_result resolve(crm_db *db, const char *json)
{
    crm_resolve_result r;
    int rc = crm_customer_resolve_json(&r, db, json, NULL);
    if (rc)
        print_error("resolve: %s\n", crm_error_last()->message);
    assert_int_equal(rc, 0);
    return r;
}

static void new_identities_create_a_customer_known_ones_link(void **state)
{
    crm_db *db = *state;
    crm_resolve_result a = resolve(db, "{\"name\":\"张伟\",\"identities\":[{\"kind\":\"phone\",\"value\":\"138-1234 5678\"},"
                                       "{\"kind\":\"wechat_openid\",\"app_id\":\"wxmp1\",\"value\":\"oAbC\"}]}");
    assert_int_equal(a.outcome, CRM_RESOLVE_CREATED);
    assert_int_equal(a.identities_added, 2);
    assert_int_equal(a.merged, 0);

    crm_db_set_time(db, T0 + 1000);
    crm_resolve_result b = resolve(db, "{\"identities\":[{\"kind\":\"phone\",\"value\":\"13812345678\"},"
                                       "{\"kind\":\"email\",\"value\":\"Zhang.Wei@Example.com\"}]}");
    assert_int_equal(b.outcome, CRM_RESOLVE_LINKED);
    assert_string_equal(b.customer_id, a.customer_id);
    assert_int_equal(b.identities_added, 1);

    /* Nothing new: linked, nothing added. */
    crm_resolve_result c = resolve(db, "{\"identities\":[{\"kind\":\"email\",\"value\":\"zhang.wei@example.com\"}]}");
    assert_int_equal(c.outcome, CRM_RESOLVE_LINKED);
    assert_int_equal(c.identities_added, 0);

    char id[CRM_ID_LEN + 1];
    assert_int_equal(crm_customer_find(id, db, CRM_IDENTITY_EMAIL, NULL, "ZHANG.WEI@example.com"), 0);
    assert_string_equal(id, a.customer_id);
    /* An openid is unique within its app only. */
    assert_crm_error(crm_customer_find(id, db, CRM_IDENTITY_WECHAT_OPENID, "wxother", "oAbC"), CRM_ENOTFOUND,
                     "wechat_openid");
    crm_resolve_result d = resolve(db, "{\"identities\":[{\"kind\":\"wechat_openid\",\"app_id\":\"wxother\",\"value\":\"oAbC\"}]}");
    assert_int_equal(d.outcome, CRM_RESOLVE_CREATED);
    assert_string_not_equal(d.customer_id, a.customer_id);

    crm_customer *cust;
    assert_int_equal(crm_customer_get(&cust, db, a.customer_id), 0);
    assert_string_equal(cust->name, "张伟");
    assert_null(cust->merged_into);
    assert_int_equal(cust->created_at, T0);
    assert_int_equal(cust->updated_at, T0 + 1000);
    crm_customer_free(cust);
    crm_customer_free(NULL);
}

static void a_tying_identity_merges_into_the_oldest_and_unmerge_undoes_it(void **state)
{
    crm_db *db = *state;
    crm_resolve_result old = resolve(db, "{\"identities\":[{\"kind\":\"phone\",\"value\":\"13800000001\"}]}");
    crm_db_set_time(db, T0 + 5000);
    crm_resolve_result young = resolve(db, "{\"identities\":[{\"kind\":\"wechat_unionid\",\"value\":\"uX1\"},"
                                           "{\"kind\":\"app_account\",\"value\":\"app-77\"}]}");
    crm_ingest_result lead;
    assert_int_equal(crm_lead_ingest(&lead, db, "{\"channel\":\"app\",\"wechat_unionid\":\"uX1\"}"), 0);
    crm_resolve_result lr;
    assert_int_equal(crm_customer_resolve_lead(&lr, db, lead.id, NULL), 0);
    assert_string_equal(lr.customer_id, young.customer_id);

    /* The unionid arrives with the phone: both customers are one person. */
    crm_db_set_time(db, T0 + 9000);
    crm_resolve_result m = resolve(db, "{\"identities\":[{\"kind\":\"phone\",\"value\":\"13800000001\"},"
                                       "{\"kind\":\"wechat_unionid\",\"value\":\"uX1\"},"
                                       "{\"kind\":\"id_card_hash\",\"value\":\"" HASH "\"}]}");
    assert_int_equal(m.outcome, CRM_RESOLVE_MERGED);
    assert_string_equal(m.customer_id, old.customer_id);
    assert_int_equal(m.merged, 1);
    assert_int_equal(m.identities_added, 1);

    char id[CRM_ID_LEN + 1];
    assert_int_equal(crm_customer_find(id, db, CRM_IDENTITY_APP_ACCOUNT, NULL, "app-77"), 0);
    assert_string_equal(id, old.customer_id);
    crm_lead *l;
    assert_int_equal(crm_lead_get(&l, db, lead.id), 0);
    assert_string_equal(l->customer_id, old.customer_id);
    crm_lead_free(l);
    crm_customer *c;
    assert_int_equal(crm_customer_get(&c, db, young.customer_id), 0);
    assert_string_equal(c->merged_into, old.customer_id);
    crm_customer_free(c);
    /* Audited on both. */
    assert_int_equal(test_count_events(db, young.customer_id), 3); /* created, identities, merged */

    char *view;
    assert_int_equal(crm_customer_view_json(&view, db, old.customer_id), 0);
    assert_non_null(strstr(view, "\"merged_from\":\"" ));
    assert_non_null(strstr(view, lead.id));
    assert_non_null(strstr(view, "\"kind\":\"id_card_hash\""));
    crm_free(view);

    /* Undo: its own identities and its lead go back. */
    assert_int_equal(crm_customer_unmerge(db, young.customer_id), 0);
    assert_int_equal(crm_customer_find(id, db, CRM_IDENTITY_WECHAT_UNIONID, NULL, "uX1"), 0);
    assert_string_equal(id, young.customer_id);
    assert_int_equal(crm_customer_find(id, db, CRM_IDENTITY_ID_CARD_HASH, NULL, HASH), 0);
    assert_string_equal(id, old.customer_id);
    assert_int_equal(crm_lead_get(&l, db, lead.id), 0);
    assert_string_equal(l->customer_id, young.customer_id);
    crm_lead_free(l);
    assert_int_equal(crm_customer_get(&c, db, young.customer_id), 0);
    assert_null(c->merged_into);
    crm_customer_free(c);
    assert_crm_error(crm_customer_unmerge(db, young.customer_id), CRM_ECONFLICT, "was not merged");
}

static void merge_rules_decide_which_kinds_tie(void **state)
{
    crm_db *db = *state;
    crm_resolve_result a = resolve(db, "{\"identities\":[{\"kind\":\"email\",\"value\":\"family@example.com\"}]}");
    crm_resolve_result b = resolve(db, "{\"identities\":[{\"kind\":\"phone\",\"value\":\"13900000002\"}]}");
    (void)a;
    (void)b;
    const char *tie = "{\"identities\":[{\"kind\":\"phone\",\"value\":\"13900000002\"},"
                      "{\"kind\":\"email\",\"value\":\"family@example.com\"}]}";
    /* By default email does not merge: refused, nothing changes. */
    crm_resolve_result r;
    assert_crm_error(crm_customer_resolve_json(&r, db, tie, NULL), CRM_ECONFLICT,
                     "customer.identities[1]: a email ties customer");
    assert_string_equal(r.customer_id, "");

    crm_merge_rules *rules;
    assert_int_equal(crm_merge_rules_load(&rules, "{\"merge_on\":[\"phone\",\"email\"]}"), 0);
    assert_int_equal(crm_customer_resolve_json(&r, db, tie, rules), 0);
    assert_int_equal(r.outcome, CRM_RESOLVE_MERGED);
    crm_merge_rules_free(rules);
    crm_merge_rules_free(NULL);

    assert_crm_error(crm_merge_rules_load(&rules, "{\"merge_on\":[\"phone\",\"fax\"]}"), CRM_EINVALID,
                     "merge_rules.merge_on[1]: unknown identity kind 'fax'");
    assert_null(rules);
    assert_crm_error(crm_merge_rules_load(&rules, "{\"merge_on\":\"phone\"}"), CRM_EINVALID,
                     "merge_rules.merge_on: expected an array");
    assert_crm_error(crm_merge_rules_load(&rules, "{\"merge\":[]}"), CRM_EINVALID, "merge_rules.merge: unknown member");
    assert_crm_error(crm_merge_rules_load(&rules, "{\"merge_on\":[1]}"), CRM_EINVALID, "merge_rules.merge_on[0]: expected a string");
    assert_crm_error(crm_merge_rules_load(&rules, "[1"), CRM_EINVALID, "malformed JSON");
}

static void bad_input_names_the_path_and_changes_nothing(void **state)
{
    (void)state;
    const char *path = test_db_path("customer-bad.db");
    crm_db_options opts = CRM_DB_OPTIONS_INIT;
    opts.create = 1;
    crm_db *db;
    assert_int_equal(crm_db_open(&db, path, &opts), 0);
    resolve(db, "{\"identities\":[{\"kind\":\"phone\",\"value\":\"13700000000\"}]}");
    char *before = test_db_digest(path);
    static const struct {
        const char *json, *needle;
    } cases[] = {
        { "{\"identities\":[]}", "customer.identities: expected a non-empty array" },
        { "{\"name\":\"x\"}", "customer.identities: expected a non-empty array" },
        { "{\"identities\":[{\"kind\":\"fax\",\"value\":\"1\"}]}", "customer.identities[0].kind: unknown identity kind 'fax'" },
        { "{\"identities\":[{\"kind\":\"phone\",\"value\":\"13700000000\"},{\"kind\":\"phone\",\"value\":\"12ab\"}]}",
          "customer.identities[1].value: unexpected character" },
        { "{\"identities\":[{\"kind\":\"phone\",\"value\":\"123\"}]}", "customer.identities[0].value: expected 5 to 15 digits" },
        { "{\"identities\":[{\"kind\":\"email\",\"value\":\"nobody\"}]}", "customer.identities[0].value: expected an address" },
        { "{\"identities\":[{\"kind\":\"wechat_openid\",\"value\":\"o1\"}]}", "customer.identities[0].app_id: required" },
        { "{\"identities\":[{\"kind\":\"phone\",\"app_id\":\"wx\",\"value\":\"13700000001\"}]}",
          "customer.identities[0].app_id: only a wechat_openid" },
        { "{\"identities\":[{\"kind\":\"id_card_hash\",\"value\":\"110101199003074514\"}]}",
          "customer.identities[0].value: expected the SHA-256" },
        { "{\"identities\":[{\"kind\":\"app_account\",\"value\":\"a b\"}]}", "customer.identities[0].value: expected printable ASCII" },
        { "{\"identities\":[{\"kind\":\"phone\"}]}", "customer.identities[0].value: required" },
        { "{\"identities\":[{\"kind\":\"phone\",\"value\":\"13700000000\",\"x\":1}]}", "customer.identities[0].x: unknown field" },
        { "{\"identities\":[1]}", "customer.identities[0]: expected an object" },
        { "{\"nick\":\"a\",\"identities\":[]}", "customer.nick: unknown field" },
        { "{\"name\":\"\",\"identities\":[]}", "customer.name: expected 1 to 100 bytes" },
        { "[]", "customer: expected a JSON object" },
        { "{", "customer: malformed JSON" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        crm_resolve_result r;
        assert_crm_error(crm_customer_resolve_json(&r, db, cases[i].json, NULL), CRM_EINVALID, cases[i].needle);
    }
    crm_db_close(db);
    char *after = test_db_digest(path);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void a_lead_resolves_by_its_identities(void **state)
{
    crm_db *db = *state;
    crm_ingest_result l1, l2;
    assert_int_equal(crm_lead_ingest(&l1, db, "{\"channel\":\"wechat_mp\",\"name\":\"李娜\",\"phone\":\"13600000000\","
                                              "\"wechat_openid\":\"oLiNa\",\"dealer_id\":\"D1\","
                                              "\"attributes\":{\"wechat_app_id\":\"wxmp9\"}}"),
                     0);
    assert_int_equal(crm_lead_ingest(&l2, db, "{\"channel\":\"dcc\",\"email\":\"li.na@example.com\",\"wechat_openid\":\"oLiNa\","
                                              "\"attributes\":{\"wechat_app_id\":\"wxmp9\"}}"),
                     0);
    crm_resolve_result r1, r2;
    assert_int_equal(crm_customer_resolve_lead(&r1, db, l1.id, NULL), 0);
    assert_int_equal(r1.outcome, CRM_RESOLVE_CREATED);
    assert_int_equal(crm_customer_resolve_lead(&r2, db, l2.id, NULL), 0);
    assert_int_equal(r2.outcome, CRM_RESOLVE_LINKED);
    assert_string_equal(r1.customer_id, r2.customer_id);
    crm_customer *c;
    assert_int_equal(crm_customer_get(&c, db, r1.customer_id), 0);
    assert_string_equal(c->name, "李娜");
    assert_string_equal(c->dealer_id, "D1");
    crm_customer_free(c);
    char id[CRM_ID_LEN + 1];
    assert_int_equal(crm_customer_find(id, db, CRM_IDENTITY_WECHAT_OPENID, "wxmp9", "oLiNa"), 0);
    char *view;
    assert_int_equal(crm_customer_view_json(&view, db, r1.customer_id), 0);
    assert_non_null(strstr(view, l1.id));
    assert_non_null(strstr(view, l2.id));
    crm_free(view);
    /* The lead records the link. */
    assert_int_equal(test_count_events(db, l1.id), 2);
    assert_crm_error(crm_customer_resolve_lead(&r1, db, "0190a000-0000-7000-8000-000000000000", NULL), CRM_ENOTFOUND, NULL);
    assert_crm_error(crm_customer_resolve_lead(&r1, db, "nope", NULL), CRM_EINVALID, "lead_id");
}

static void a_scoped_handle_sees_only_its_dealers_customers(void **state)
{
    crm_db *db = *state;
    crm_resolve_result d1 = resolve(db, "{\"dealer_id\":\"D1\",\"identities\":[{\"kind\":\"phone\",\"value\":\"13500000000\"}]}");
    assert_int_equal(crm_db_set_scope(db, "D2"), 0);
    crm_customer *c;
    assert_crm_error(crm_customer_get(&c, db, d1.customer_id), CRM_ENOTFOUND, NULL);
    char id[CRM_ID_LEN + 1];
    assert_crm_error(crm_customer_find(id, db, CRM_IDENTITY_PHONE, NULL, "13500000000"), CRM_ENOTFOUND, NULL);
    crm_resolve_result r;
    assert_crm_error(crm_customer_resolve_json(&r, db, "{\"identities\":[{\"kind\":\"phone\",\"value\":\"13500000000\"}]}", NULL),
                     CRM_ECONFLICT, "outside this handle's scope");
    assert_crm_error(crm_customer_resolve_json(&r, db, "{\"dealer_id\":\"D1\",\"identities\":[{\"kind\":\"phone\",\"value\":\"13500000009\"}]}", NULL),
                     CRM_EPERM, "customer.dealer_id");
    r = resolve(db, "{\"identities\":[{\"kind\":\"phone\",\"value\":\"13500000009\"}]}");
    assert_int_equal(crm_customer_get(&c, db, r.customer_id), 0);
    assert_string_equal(c->dealer_id, "D2");
    crm_customer_free(c);
}

static void kind_names(void **state)
{
    (void)state;
    crm_identity_kind k;
    for (int i = 0; i < CRM_IDENTITY_KIND_COUNT; i++) {
        assert_int_equal(crm_identity_kind_parse(&k, crm_identity_kind_name((crm_identity_kind)i)), 0);
        assert_int_equal(k, i);
    }
    assert_null(crm_identity_kind_name((crm_identity_kind)CRM_IDENTITY_KIND_COUNT));
    assert_crm_error(crm_identity_kind_parse(&k, "fax"), CRM_EINVALID, "unknown identity kind 'fax'");
}

#define DB_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup_memory, test_teardown_db)

int main(void)
{
    const struct CMUnitTest tests[] = {
        DB_TEST(new_identities_create_a_customer_known_ones_link),
        DB_TEST(a_tying_identity_merges_into_the_oldest_and_unmerge_undoes_it),
        DB_TEST(merge_rules_decide_which_kinds_tie),
        cmocka_unit_test(bad_input_names_the_path_and_changes_nothing),
        DB_TEST(a_lead_resolves_by_its_identities),
        DB_TEST(a_scoped_handle_sees_only_its_dealers_customers),
        cmocka_unit_test(kind_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
