/* Online matching on ingest: duplicates by the matcher, possible duplicates
 * flagged with their evidence, dealer scope, bad configurations. */
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

static int setup(void **state)
{
    crm_db *db;
    if (crm_db_open(&db, ":memory:", NULL) != 0 || crm_match_enable(db, NULL) != 0)
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

static crm_ingest_result ingest(crm_db *db, const char *json)
{
    crm_ingest_result r;
    if (crm_lead_ingest(&r, db, json) != 0)
        fail_msg("ingest %s: %s", json, crm_error_last()->message);
    return r;
}

/* The data of the last event of kind on a record (malloc'ed), or NULL. */
static char *event_data(crm_db *db, const char *id, const char *kind)
{
    crm_iter *it;
    const crm_event *e;
    char *data = NULL;
    assert_int_equal(crm_event_iter_new(&it, db, id), 0);
    while (crm_event_next(&e, it) == 0)
        if (strcmp(e->kind, kind) == 0) {
            free(data);
            data = e->data ? strdup(e->data) : NULL;
        }
    crm_iter_free(it);
    return data;
}

static void same_person_other_script_and_phone_form(void **state)
{
    crm_db *db = *state;
    crm_ingest_result a = ingest(db, "{\"channel\":\"website\",\"phone\":\"13912345670\",\"name\":\"张伟\",\"city\":\"上海\"}");
    assert_int_equal(a.outcome, CRM_INGEST_CREATED);
    crm_ingest_result b = ingest(db, "{\"channel\":\"douyin\",\"phone\":\"+86 139 1234 5670\",\"name\":\"Wei Zhang\","
                                     "\"city\":\"上海市\"}");
    assert_int_equal(b.outcome, CRM_INGEST_DUPLICATE);
    assert_string_equal(b.duplicate_of, a.id);
    char want[128];
    snprintf(want, sizeof want, "duplicate of %s (matched)", a.id);
    assert_string_equal(b.reason, want);
    assert_int_equal(test_count_leads(db), 1);
    /* The evidence is on the existing lead, field by field. */
    char *data = event_data(db, a.id, "lead.duplicate");
    assert_non_null(data);
    assert_non_null(strstr(data, "\"matched_on\":\"match\""));
    assert_non_null(strstr(data, "{\"field\":\"name\",\"a\":\"Wei Zhang\",\"b\":\"张伟\",\"level\":\"agree\""));
    assert_non_null(strstr(data, "\"decision\":\"merge\""));
    free(data);
}

static void phone_one_digit_off_with_same_name_and_city(void **state)
{
    crm_db *db = *state;
    crm_ingest_result a = ingest(db, "{\"channel\":\"website\",\"phone\":\"13912345670\",\"name\":\"李娜\",\"city\":\"杭州\"}");
    crm_ingest_result b = ingest(db, "{\"channel\":\"dcc\",\"phone\":\"13912345679\",\"name\":\"李娜\",\"city\":\"杭州\"}");
    assert_int_equal(b.outcome, CRM_INGEST_DUPLICATE);
    assert_string_equal(b.duplicate_of, a.id);
}

static void same_name_other_phone_is_new(void **state)
{
    crm_db *db = *state;
    ingest(db, "{\"channel\":\"website\",\"phone\":\"13912345670\",\"name\":\"王芳\",\"city\":\"北京\"}");
    crm_ingest_result b = ingest(db, "{\"channel\":\"website\",\"phone\":\"13787651234\",\"name\":\"王芳\",\"city\":\"北京\"}");
    assert_int_equal(b.outcome, CRM_INGEST_CREATED);
    assert_int_equal(test_count_leads(db), 2);
}

static void weak_match_goes_to_review_with_evidence(void **state)
{
    crm_db *db = *state;
    /* The same name in the same city, and no phone to tell: maybe the same person. */
    crm_ingest_result a = ingest(db, "{\"channel\":\"website\",\"phone\":\"13912345670\",\"name\":\"刘敏\",\"city\":\"广州\"}");
    crm_ingest_result b = ingest(db, "{\"channel\":\"website\",\"email\":\"lm@qq.com\",\"name\":\"刘敏\",\"city\":\"广州市\"}");
    assert_int_equal(b.outcome, CRM_INGEST_REVIEW);
    assert_string_equal(b.duplicate_of, a.id);
    assert_non_null(strstr(b.reason, "possible duplicate of"));
    assert_int_equal(test_count_leads(db), 2);
    char *data = event_data(db, b.id, "lead.possible_duplicate");
    assert_non_null(data);
    char want[64];
    snprintf(want, sizeof want, "\"candidate\":\"%s\"", a.id);
    assert_non_null(strstr(data, want));
    assert_non_null(strstr(data, "{\"field\":\"phone\",\"a\":null,\"b\":\"13912345670\",\"level\":\"missing\""));
    assert_non_null(strstr(data, "\"decision\":\"review\""));
    free(data);
}

static void other_dealers_leads_are_not_candidates(void **state)
{
    crm_db *db = *state;
    ingest(db, "{\"channel\":\"walk_in\",\"phone\":\"13912345670\",\"name\":\"赵燕\",\"dealer_id\":\"D1\"}");
    assert_int_equal(crm_db_set_scope(db, "D2"), 0);
    crm_ingest_result b = ingest(db, "{\"channel\":\"walk_in\",\"phone\":\"13912345670\",\"name\":\"赵燕\"}");
    assert_int_equal(b.outcome, CRM_INGEST_CREATED);
}

static void disable_returns_to_exact_phone(void **state)
{
    crm_db *db = *state;
    ingest(db, "{\"channel\":\"website\",\"phone\":\"13912345670\",\"name\":\"黄涛\"}");
    crm_match_disable(db);
    crm_match_disable(NULL);
    crm_ingest_result b = ingest(db, "{\"channel\":\"website\",\"phone\":\"13912345670\"}");
    assert_int_equal(b.outcome, CRM_INGEST_DUPLICATE);
    assert_non_null(strstr(b.reason, "(same phone)"));
}

static void bad_configurations_are_refused(void **state)
{
    crm_db *db = *state;
    assert_crm_error(crm_match_enable(db, "{\"fields\": [{\"name\": \"vin\", \"comparator\": \"exact\", \"m\": [1,0,0], "
                                          "\"u\": [0,0,1]}], \"blocking\": [[\"vin\"]]}"),
                     CRM_EINVALID, "fields[0].column: 'vin' is not a text field of a lead");
    assert_crm_error(crm_match_enable(db, "{\"fields\": [{\"name\": \"phone\", \"comparator\": \"phone\"}], "
                                          "\"blocking\": [[\"phone\"]]}"),
                     CRM_EINVALID, "fields[0]: online matching needs m and u");
    assert_crm_error(crm_match_enable(NULL, NULL), CRM_EINVALID, "db: required");
    /* The earlier (default) configuration is still in force. */
    ingest(db, "{\"channel\":\"website\",\"phone\":\"13912345670\",\"name\":\"张伟\"}");
    crm_ingest_result b = ingest(db, "{\"channel\":\"website\",\"phone\":\"13912345670\",\"name\":\"Zhang Wei\"}");
    assert_int_equal(b.outcome, CRM_INGEST_DUPLICATE);
}

static void review_queue_list_accept_reject(void **state)
{
    crm_db *db = *state;
    crm_ingest_result a = ingest(db, "{\"channel\":\"website\",\"phone\":\"13912345670\",\"name\":\"刘敏\",\"city\":\"广州\"}");
    crm_ingest_result b = ingest(db, "{\"channel\":\"website\",\"email\":\"lm@qq.com\",\"name\":\"刘敏\",\"city\":\"广州\"}");
    crm_db_set_time(db, T0 + 1000);
    crm_ingest_result c = ingest(db, "{\"channel\":\"website\",\"email\":\"lm2@qq.com\",\"name\":\"刘敏\",\"city\":\"广州\"}");
    assert_int_equal(b.outcome, CRM_INGEST_REVIEW);
    assert_int_equal(c.outcome, CRM_INGEST_REVIEW);
    char *json = NULL;
    assert_int_equal(crm_review_list_json(&json, db, "pending", 100), 0);
    char want[128];
    snprintf(want, sizeof want, "\"lead_id\":\"%s\",\"candidate_id\":\"%s\"", b.id, a.id);
    assert_non_null(strstr(json, want));
    assert_non_null(strstr(json, "\"evidence\":{\"fields\":["));
    assert_non_null(strstr(json, "\"status\":\"pending\""));
    /* The first item's id: {"id":"<36>" */
    char first[CRM_ID_LEN + 1];
    const char *p = strstr(json, "\"id\":\"");
    assert_non_null(p);
    memcpy(first, p + 6, CRM_ID_LEN);
    first[CRM_ID_LEN] = '\0';
    crm_free(json);
    /* The item is the earlier one (b); accept it. */
    assert_int_equal(crm_db_set_actor(db, "dcc:wang"), 0);
    assert_int_equal(crm_review_decide(db, first, 1), 0);
    assert_crm_error(crm_review_decide(db, first, 0), CRM_ECONFLICT, "already accepted");
    char *data = event_data(db, b.id, "lead.duplicate_confirmed");
    assert_non_null(data);
    free(data);
    assert_int_equal(crm_review_list_json(&json, db, "accepted", 100), 0);
    assert_non_null(strstr(json, "\"decided_by\":\"dcc:wang\""));
    assert_non_null(strstr(json, first));
    crm_free(json);
    assert_int_equal(crm_review_list_json(&json, db, "pending", 1), 0);
    assert_null(strstr(json, first));
    assert_non_null(strstr(json, c.id));
    crm_free(json);
    /* Bad input, and items outside the scope. */
    assert_crm_error(crm_review_list_json(&json, db, "maybe", 10), CRM_EINVALID, "status: expected pending");
    assert_crm_error(crm_review_list_json(&json, db, NULL, 0), CRM_EINVALID, "limit: expected 1 to 10000");
    assert_crm_error(crm_review_decide(db, "nope", 1), CRM_EINVALID, "id: expected a UUID");
    assert_crm_error(crm_review_decide(db, "00000000-0000-7000-8000-000000000000", 1), CRM_ENOTFOUND, "not found");
    assert_int_equal(crm_db_set_scope(db, "D9"), 0);
    assert_int_equal(crm_review_list_json(&json, db, NULL, 10), 0);
    assert_string_equal(json, "[]");
    crm_free(json);
}

static void matching_holds_over_many_leads(void **state)
{
    /* Enough leads that the matcher's scratch starts afresh (its memos of
     * names and regions are kept across leads up to a size): duplicates are
     * still found after that. */
    crm_db *db = *state;
    static const char *const names[] = {"张伟", "李娜", "王芳", "刘敏", "陈静", "杨磊", "赵燕", "黄涛"};
    static const char *const cities[] = {"上海", "北京", "杭州", "广州", "深圳", "成都"};
    char doc[256];
    assert_int_equal(crm_db_begin(db), 0);
    for (int i = 0; i < 6000; i++) {
        snprintf(doc, sizeof doc, "{\"channel\":\"website\",\"phone\":\"139%08d\",\"name\":\"%s%d\",\"city\":\"%s\"}",
                 10000000 + i * 7, names[i % 8], i, cities[i % 6]);
        ingest(db, doc);
    }
    assert_int_equal(crm_db_commit(db), 0);
    snprintf(doc, sizeof doc, "{\"channel\":\"dcc\",\"phone\":\"+86 139%08d\",\"name\":\"%s%d\"}", 10000000 + 5 * 7,
             names[5 % 8], 5);
    crm_ingest_result r = ingest(db, doc);
    assert_int_equal(r.outcome, CRM_INGEST_DUPLICATE);
    assert_int_equal(test_count_leads(db), 6000);
}

/* With scoring on too: a lead stored for review is scored like any new
 * lead; the candidate keeps its score, and a duplicate is not scored. */
static void scoring_with_matching_leaves_existing_leads_alone(void **state)
{
    crm_db *db = *state;
    assert_int_equal(crm_score_enable(db, "{\"type\":\"rules\",\"groups\":{\"channel\":{\"points\":"
                                          "{\"website\":20,\"douyin\":60}}}}"),
                     0);
    crm_ingest_result a = ingest(db, "{\"channel\":\"website\",\"phone\":\"13912345670\",\"name\":\"刘敏\",\"city\":\"广州\"}");
    assert_int_equal(a.score, 20);
    crm_ingest_result b = ingest(db, "{\"channel\":\"douyin\",\"email\":\"lm@qq.com\",\"name\":\"刘敏\",\"city\":\"广州市\"}");
    assert_int_equal(b.outcome, CRM_INGEST_REVIEW);
    assert_int_equal(b.score, 60);
    assert_string_equal(b.grade, "B");
    crm_ingest_result c = ingest(db, "{\"channel\":\"douyin\",\"phone\":\"+86 139 1234 5670\",\"name\":\"刘敏\","
                                     "\"city\":\"广州\"}");
    assert_int_equal(c.outcome, CRM_INGEST_DUPLICATE);
    assert_int_equal(c.score, -1);
    crm_lead *l;
    assert_int_equal(crm_lead_get(&l, db, a.id), 0);
    assert_int_equal(l->score, 20);
    crm_lead_free(l);
    assert_int_equal(crm_lead_get(&l, db, b.id), 0);
    assert_int_equal(l->score, 60);
    crm_lead_free(l);
}

/* Batch deduplication of stored leads: leads ingested with matching off
 * (exact phone only) are found again by the matcher; a dry run changes
 * nothing, an applied one merges each cluster into its oldest lead. */
static void stored_leads_deduplicated_in_batch(void **state)
{
    (void)state;
    const char *path = test_db_path("batch.db");
    crm_db *db;
    assert_int_equal(crm_db_open(&db, path, NULL), 0);
    crm_db_set_time(db, T0);
    crm_ingest_result a = ingest(db, "{\"channel\":\"website\",\"phone\":\"13912345670\",\"name\":\"李娜\",\"city\":\"杭州\"}");
    crm_db_set_time(db, T0 + 1000);
    crm_ingest_result b = ingest(db, "{\"channel\":\"dcc\",\"phone\":\"13912345679\",\"name\":\"李娜\",\"city\":\"杭州\"}");
    crm_db_set_time(db, T0 + 2000);
    crm_ingest_result c = ingest(db, "{\"channel\":\"website\",\"phone\":\"13787651234\",\"name\":\"王芳\",\"city\":\"北京\"}");
    assert_int_equal(b.outcome, CRM_INGEST_CREATED); /* exact phone only: not a duplicate */
    crm_db_close(db);
    char *before = test_db_digest(path);

    assert_int_equal(crm_db_open(&db, path, NULL), 0);
    char *out = NULL;
    assert_int_equal(crm_lead_dedupe_json(&out, db, NULL, 0), 0);
    char want[256];
    snprintf(want, sizeof want, "\"clusters\":[{\"id\":\"%s\",\"cluster\":\"%s\"},{\"id\":\"%s\",\"cluster\":\"%s\"}]",
             a.id, a.id, b.id, a.id);
    assert_non_null(strstr(out, want)); /* c stands alone, so it is not listed */
    assert_null(strstr(out, c.id));
    assert_non_null(strstr(out, "\"records\":3"));
    assert_non_null(strstr(out, "\"merge_pairs\":1"));
    assert_null(strstr(out, "\"merges\""));
    crm_free(out);
    crm_db_close(db);
    char *after = test_db_digest(path);
    assert_string_equal(before, after); /* a dry run writes nothing */
    free(after);

    assert_int_equal(crm_db_open(&db, path, NULL), 0);
    assert_int_equal(crm_lead_dedupe_json(&out, db, NULL, 1), 0);
    char *merges = strstr(out, "\"merges\":[\"");
    assert_non_null(merges);
    char merge_id[CRM_ID_LEN + 1];
    memcpy(merge_id, merges + 11, CRM_ID_LEN);
    merge_id[CRM_ID_LEN] = '\0';
    assert_int_equal(merges[11 + CRM_ID_LEN + 1], ']'); /* one merge */
    crm_free(out);
    crm_lead *l;
    assert_int_equal(crm_lead_get(&l, db, b.id), 0);
    assert_string_equal(l->merged_into, a.id);
    crm_lead_free(l);
    assert_int_equal(test_count_leads(db), 2);
    /* Run again: nothing left to merge. */
    assert_int_equal(crm_lead_dedupe_json(&out, db, NULL, 1), 0);
    assert_non_null(strstr(out, "\"merges\":[]"));
    assert_non_null(strstr(out, "\"clusters\":[]"));
    crm_free(out);
    /* And the merge undoes like any other. */
    assert_int_equal(crm_lead_unmerge(db, merge_id), 0);
    assert_int_equal(test_count_leads(db), 3);
    crm_db_close(db);
    free(before);
}

static void batch_dedupe_refuses_bad_input(void **state)
{
    crm_db *db = *state;
    char *out = (char *)"untouched";
    assert_crm_error(crm_lead_dedupe_json(&out, db, "{\"fields\":[{\"name\":\"x\",\"column\":\"budget\","
                                                    "\"comparator\":\"exact\"}],\"blocking\":[[\"x\"]]}", 0),
                     CRM_EINVALID, "fields[0].column: 'budget' is not a text field of a lead");
    assert_null(out);
    assert_crm_error(crm_lead_dedupe_json(&out, db, "{\"fields\":[]}", 0), CRM_EINVALID, "fields");
    assert_crm_error(crm_lead_dedupe_json(NULL, db, NULL, 0), CRM_EINVALID, "out: required");
    assert_crm_error(crm_lead_dedupe_json(&out, NULL, NULL, 0), CRM_EINVALID, "db: required");
}

/* A dealer's handle deduplicates its own leads only. */
static void batch_dedupe_keeps_to_the_scope(void **state)
{
    crm_db *db = *state;
    crm_match_disable(db);
    ingest(db, "{\"channel\":\"dcc\",\"phone\":\"13912345670\",\"name\":\"李娜\",\"city\":\"杭州\",\"dealer_id\":\"D1\"}");
    ingest(db, "{\"channel\":\"dcc\",\"phone\":\"13912345679\",\"name\":\"李娜\",\"city\":\"杭州\",\"dealer_id\":\"D2\"}");
    char *out;
    assert_int_equal(crm_lead_dedupe_json(&out, db, NULL, 0), 0);
    assert_non_null(strstr(out, "\"merge_pairs\":1"));
    crm_free(out);
    assert_int_equal(crm_db_set_scope(db, "D1"), 0);
    assert_int_equal(crm_lead_dedupe_json(&out, db, NULL, 1), 0);
    assert_non_null(strstr(out, "\"records\":1"));
    assert_non_null(strstr(out, "\"merges\":[]"));
    crm_free(out);
}

/* Leads stored before matching was on have only their phone key: indexing
 * gives them the configuration's other keys, so the matcher finds them. */
static void leads_stored_before_matching_are_found_once_indexed(void **state)
{
    (void)state;
    const char *a_doc = "{\"channel\":\"website\",\"phone\":\"13912345670\",\"name\":\"李娜\",\"city\":\"杭州\","
                        "\"email\":\"ln@qq.com\"}";
    const char *b_doc = "{\"channel\":\"dcc\",\"phone\":\"13800000001\",\"name\":\"李娜\",\"city\":\"杭州\","
                        "\"email\":\"ln@qq.com\"}";
    for (int index = 0; index < 2; index++) {
        crm_db *db;
        assert_int_equal(crm_db_open(&db, ":memory:", NULL), 0);
        crm_ingest_result a = ingest(db, a_doc);
        assert_crm_error(crm_match_index(NULL, db), CRM_EINVALID, "matching: not enabled");
        assert_int_equal(crm_match_enable(db, NULL), 0);
        if (index) {
            size_t n = 99;
            assert_int_equal(crm_match_index(&n, db), 0);
            assert_int_equal(n, 1);
            assert_int_equal(crm_match_index(&n, db), 0); /* again: nothing new, no error */
            assert_int_equal(n, 1);
        }
        crm_ingest_result b = ingest(db, b_doc);
        if (index) {
            assert_int_not_equal(b.outcome, CRM_INGEST_CREATED);
            assert_string_equal(b.duplicate_of, a.id);
        } else {
            assert_int_equal(b.outcome, CRM_INGEST_CREATED); /* the e-mail key was never stored */
        }
        crm_db_close(db);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(same_person_other_script_and_phone_form, setup, teardown),
        cmocka_unit_test_setup_teardown(phone_one_digit_off_with_same_name_and_city, setup, teardown),
        cmocka_unit_test_setup_teardown(same_name_other_phone_is_new, setup, teardown),
        cmocka_unit_test_setup_teardown(weak_match_goes_to_review_with_evidence, setup, teardown),
        cmocka_unit_test_setup_teardown(other_dealers_leads_are_not_candidates, setup, teardown),
        cmocka_unit_test_setup_teardown(disable_returns_to_exact_phone, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_configurations_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(review_queue_list_accept_reject, setup, teardown),
        cmocka_unit_test_setup_teardown(matching_holds_over_many_leads, setup, teardown),
        cmocka_unit_test_setup_teardown(scoring_with_matching_leaves_existing_leads_alone, setup, teardown),
        cmocka_unit_test(stored_leads_deduplicated_in_batch),
        cmocka_unit_test(leads_stored_before_matching_are_found_once_indexed),
        cmocka_unit_test_setup_teardown(batch_dedupe_refuses_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(batch_dedupe_keeps_to_the_scope, setup, teardown),
    };
    return cmocka_run_group_tests_name("lead_match", tests, NULL, NULL);
}
