/* Work orders: validation that names the field and changes nothing, the
 * state machine (every illegal move refused naming both states), pauses,
 * first response, history with who/when/what, comments, scope, lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define T0 1763949600000LL /* 2025-11-24T02:00:00Z, Monday 10:00 in Beijing */
#define MIN 60000LL

static int setup_memory(void **state)
{
    return test_setup_memory_db(state, T0);
}

static crm_workorder *get(crm_db *db, const char *id)
{
    crm_workorder *w = NULL;
    assert_int_equal(crm_workorder_get(&w, db, id), 0);
    return w;
}

static void create_keeps_every_field(void **state)
{
    crm_db *db = *state;
    char id[CRM_ID_LEN + 1];
    assert_int_equal(crm_workorder_create(id, db,
                                          "{\"type\":\"complaint\",\"category\":\"售后/异响\",\"priority\":1,"
                                          "\"channel\":\"dcc\",\"customer_id\":\"C-9\",\"lead_id\":\"L-1\","
                                          "\"vin\":\"LVSHCAMB1CE012345\",\"dealer_id\":\"D3101001\","
                                          "\"queue\":\"complaints\",\"subject\":\"刹车异响\","
                                          "\"description\":\"第二次到店\\n仍有异响\",\"attributes\":{\"km\":12000}}"),
                     0);
    crm_workorder *w = get(db, id);
    assert_string_equal(w->id, id);
    assert_string_equal(w->type, "complaint");
    assert_string_equal(w->category, "售后/异响");
    assert_int_equal(w->priority, 1);
    assert_string_equal(w->channel, "dcc");
    assert_string_equal(w->vin, "LVSHCAMB1CE012345");
    assert_string_equal(w->dealer_id, "D3101001");
    assert_string_equal(w->queue, "complaints");
    assert_null(w->assignee);
    assert_string_equal(w->description, "第二次到店\n仍有异响");
    assert_string_equal(w->attributes, "{\"km\":12000}");
    assert_int_equal(w->status, CRM_WO_NEW);
    assert_int_equal(w->created_at, T0);
    assert_int_equal(w->first_response_at, 0);
    char *json;
    assert_int_equal(crm_workorder_to_json(&json, w), 0);
    assert_non_null(strstr(json, "\"status\":\"new\""));
    assert_non_null(strstr(json, "\"created_at\":\"2025-11-24T02:00:00.000Z\""));
    assert_non_null(strstr(json, "\"attributes\":{\"km\":12000}"));
    crm_free(json);
    crm_workorder_free(w);
    /* Defaults: priority 3; with an assignee it starts assigned. */
    assert_int_equal(crm_workorder_create(id, db, "{\"type\":\"enquiry\",\"subject\":\"保养价格\",\"assignee\":\"a1\"}"), 0);
    w = get(db, id);
    assert_int_equal(w->priority, 3);
    assert_int_equal(w->status, CRM_WO_ASSIGNED);
    assert_null(w->dealer_id);
    crm_workorder_free(w);
    crm_workorder_free(NULL);
}

static void bad_input_names_the_field_and_changes_nothing(void **state)
{
    crm_db *db = *state;
    static const struct {
        const char *json, *needle;
    } cases[] = {
        { "{", "workorder: not valid JSON" },
        { "[]", "workorder: expected a JSON object" },
        { "{\"subject\":\"x\"}", "type: required" },
        { "{\"type\":\"complaint\"}", "subject: required" },
        { "{\"type\":\"complaint\",\"subject\":\"x\",\"priority\":5}", "priority: expected 1 (urgent) to 4 (low)" },
        { "{\"type\":\"complaint\",\"subject\":\"x\",\"priority\":\"1\"}", "priority" },
        { "{\"type\":\"complaint\",\"subject\":\"x\",\"vin\":\"LVSHCAMB1CE01234\"}", "vin: expected 17 characters" },
        { "{\"type\":\"complaint\",\"subject\":\"x\",\"vin\":\"LVSHCAMB1CE01234O\"}", "vin: character 17" },
        { "{\"type\":\"complaint\",\"subject\":\"x\",\"queue\":\"\"}", "queue: expected 1 to" },
        { "{\"type\":\"complaint\",\"subject\":\"a\\nb\"}", "subject: control character" },
        { "{\"type\":\"complaint\",\"subject\":\"x\",\"attributes\":[1]}", "attributes: expected an object" },
        { "{\"type\":\"complaint\",\"subject\":\"x\",\"created_at\":\"yesterday\"}", "created_at: expected" },
        { "{\"type\":\"complaint\",\"subject\":\"x\",\"priorty\":1}", "priorty: unknown field" },
        { "{\"type\":7,\"subject\":\"x\"}", "type: expected a string" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char id[CRM_ID_LEN + 1] = "x";
        assert_crm_error(crm_workorder_create(id, db, cases[i].json), CRM_EINVALID, cases[i].needle);
        assert_string_equal(id, "");
    }
    crm_iter *it;
    const crm_workorder *w;
    assert_int_equal(crm_workorder_iter_new(&it, db, NULL), 0);
    assert_int_equal(crm_workorder_next(&w, it), CRM_ITEROVER);
    crm_iter_free(it);
}

static void state_machine_moves_and_refuses(void **state)
{
    crm_db *db = *state;
    char id[CRM_ID_LEN + 1];
    assert_int_equal(crm_workorder_create(id, db, "{\"type\":\"repair\",\"subject\":\"x\"}"), 0);
    /* The legal moves from each status; every other one is refused. */
    static const unsigned legal[CRM_WO_STATUS_COUNT] = {
        [CRM_WO_NEW] = 1u << CRM_WO_ASSIGNED,
        [CRM_WO_ASSIGNED] = 1u << CRM_WO_IN_PROGRESS,
        [CRM_WO_IN_PROGRESS] = (1u << CRM_WO_WAITING_CUSTOMER) | (1u << CRM_WO_RESOLVED),
        [CRM_WO_WAITING_CUSTOMER] = (1u << CRM_WO_IN_PROGRESS) | (1u << CRM_WO_RESOLVED),
        [CRM_WO_RESOLVED] = (1u << CRM_WO_CLOSED) | (1u << CRM_WO_IN_PROGRESS),
        [CRM_WO_CLOSED] = 1u << CRM_WO_IN_PROGRESS,
    };
    /* Walk new → assigned → in_progress → waiting → in_progress → resolved → closed → in_progress. */
    static const crm_wo_status path[] = { CRM_WO_ASSIGNED, CRM_WO_IN_PROGRESS, CRM_WO_WAITING_CUSTOMER,
                                          CRM_WO_IN_PROGRESS, CRM_WO_RESOLVED,   CRM_WO_CLOSED,
                                          CRM_WO_IN_PROGRESS };
    crm_wo_status cur = CRM_WO_NEW;
    for (size_t step = 0; step < sizeof path / sizeof path[0]; step++) {
        for (int to = 0; to < CRM_WO_STATUS_COUNT; to++) {
            if (legal[cur] & (1u << to))
                continue;
            char needle[96];
            snprintf(needle, sizeof needle, "cannot move from %s to %s", crm_wo_status_name(cur),
                     crm_wo_status_name((crm_wo_status)to));
            assert_crm_error(crm_workorder_move(db, id, (crm_wo_status)to, NULL), CRM_ECONFLICT, needle);
        }
        if (path[step] == CRM_WO_ASSIGNED) {
            /* Assigned needs someone: move refuses, assign does it. */
            assert_crm_error(crm_workorder_move(db, id, CRM_WO_ASSIGNED, NULL), CRM_ECONFLICT, "without an assignee");
            assert_int_equal(crm_workorder_assign(db, id, "agent-1", "repairs"), 0);
        } else {
            assert_int_equal(crm_workorder_move(db, id, path[step], "step"), 0);
        }
        crm_workorder *w = get(db, id);
        assert_int_equal(w->status, path[step]);
        crm_workorder_free(w);
        cur = path[step];
    }
    assert_crm_error(crm_workorder_move(db, id, (crm_wo_status)9, NULL), CRM_EINVALID, "to: 9 is not a status");
    assert_crm_error(crm_workorder_move(db, "0190b000-0000-7000-8000-000000000000", CRM_WO_CLOSED, NULL),
                     CRM_ENOTFOUND, "not found");
}

static void pauses_and_times_are_kept(void **state)
{
    crm_db *db = *state;
    char id[CRM_ID_LEN + 1];
    assert_int_equal(crm_workorder_create(id, db, "{\"type\":\"repair\",\"subject\":\"x\",\"assignee\":\"a\"}"), 0);
    crm_db_set_time(db, T0 + 10 * MIN);
    assert_int_equal(crm_workorder_move(db, id, CRM_WO_IN_PROGRESS, NULL), 0);
    crm_db_set_time(db, T0 + 20 * MIN);
    assert_int_equal(crm_workorder_move(db, id, CRM_WO_WAITING_CUSTOMER, "等客户回电"), 0);
    crm_workorder *w = get(db, id);
    assert_int_equal(w->first_response_at, T0 + 10 * MIN);
    assert_int_equal(w->paused_since, T0 + 20 * MIN);
    assert_null(w->pauses);
    crm_workorder_free(w);
    crm_db_set_time(db, T0 + 50 * MIN);
    assert_int_equal(crm_workorder_move(db, id, CRM_WO_IN_PROGRESS, NULL), 0);
    crm_db_set_time(db, T0 + 60 * MIN);
    assert_int_equal(crm_workorder_move(db, id, CRM_WO_WAITING_CUSTOMER, NULL), 0);
    crm_db_set_time(db, T0 + 70 * MIN);
    assert_int_equal(crm_workorder_move(db, id, CRM_WO_RESOLVED, NULL), 0);
    w = get(db, id);
    char expect[160];
    snprintf(expect, sizeof expect, "[[%lld,%lld],[%lld,%lld]]", T0 + 20 * MIN, T0 + 50 * MIN, T0 + 60 * MIN, T0 + 70 * MIN);
    assert_string_equal(w->pauses, expect);
    assert_int_equal(w->paused_since, 0);
    assert_int_equal(w->resolved_at, T0 + 70 * MIN);
    assert_int_equal(w->first_response_at, T0 + 10 * MIN); /* the first one stays */
    crm_workorder_free(w);
    crm_db_set_time(db, T0 + 80 * MIN);
    assert_int_equal(crm_workorder_move(db, id, CRM_WO_CLOSED, NULL), 0);
    w = get(db, id);
    assert_int_equal(w->closed_at, T0 + 80 * MIN);
    assert_int_equal(w->resolved_at, T0 + 70 * MIN); /* closing keeps the resolution */
    crm_workorder_free(w);
    crm_db_set_time(db, T0 + 90 * MIN);
    assert_int_equal(crm_workorder_move(db, id, CRM_WO_IN_PROGRESS, "客户反馈未修好"), 0);
    w = get(db, id);
    assert_int_equal(w->resolved_at, 0);
    assert_int_equal(w->closed_at, 0);
    assert_int_equal(w->status, CRM_WO_IN_PROGRESS);
    /* The time it stayed resolved (and closed) is a pause of the reopened order. */
    snprintf(expect, sizeof expect, "[[%lld,%lld],[%lld,%lld],[%lld,%lld]]", T0 + 20 * MIN, T0 + 50 * MIN,
             T0 + 60 * MIN, T0 + 70 * MIN, T0 + 70 * MIN, T0 + 90 * MIN);
    assert_string_equal(w->pauses, expect);
    crm_workorder_free(w);
    /* Closing is a move; only leaving resolved or closed is a reopen. */
    const char *kinds[16];
    size_t n = 0;
    crm_iter *it;
    const crm_event *e;
    assert_int_equal(crm_event_iter_new(&it, db, id), 0);
    while (n < 16 && crm_event_next(&e, it) == 0)
        kinds[n++] = strcmp(e->kind, "workorder.reopened") == 0 ? "reopened" : strcmp(e->kind, "workorder.moved") == 0 ? "moved" : "other";
    crm_iter_free(it);
    assert_int_equal(n, 8);
    assert_string_equal(kinds[6], "moved");    /* resolved -> closed */
    assert_string_equal(kinds[7], "reopened"); /* closed -> in_progress */
    char *json;
    assert_int_equal(crm_workorder_get_json(&json, db, id), 0);
    assert_non_null(strstr(json, "\"pauses\":[[\"2025-11-24T02:20:00.000Z\",\"2025-11-24T02:50:00.000Z\"]"));
    crm_free(json);
}

static void history_says_who_when_what(void **state)
{
    crm_db *db = *state;
    char id[CRM_ID_LEN + 1];
    assert_int_equal(crm_db_set_actor(db, "dcc-01"), 0);
    assert_int_equal(crm_workorder_create(id, db, "{\"type\":\"complaint\",\"subject\":\"x\"}"), 0);
    crm_db_set_time(db, T0 + MIN);
    assert_int_equal(crm_db_set_actor(db, "supervisor"), 0);
    assert_int_equal(crm_workorder_assign(db, id, "agent-1", "complaints"), 0);
    crm_db_set_time(db, T0 + 2 * MIN);
    assert_int_equal(crm_workorder_assign(db, id, "agent-2", NULL), 0);
    assert_int_equal(crm_db_set_actor(db, "agent-2"), 0);
    crm_db_set_time(db, T0 + 3 * MIN);
    assert_int_equal(crm_workorder_move(db, id, CRM_WO_IN_PROGRESS, "开始处理"), 0);
    char cid[CRM_ID_LEN + 1];
    assert_int_equal(crm_workorder_comment(cid, db, id, "内部备注", CRM_WO_INTERNAL), 0);
    /* Refused changes leave no trace. */
    assert_int_equal(crm_workorder_move(db, id, CRM_WO_CLOSED, NULL), CRM_ECONFLICT);
    static const struct {
        const char *kind, *actor, *data_part;
        int64_t at;
    } want[] = {
        { "workorder.created", "dcc-01", "\"status\":\"new\"", T0 },
        { "workorder.assigned", "supervisor", "\"assignee\":\"agent-1\",\"queue\":\"complaints\",\"from\":\"new\",\"to\":\"assigned\"", T0 + MIN },
        { "workorder.assigned", "supervisor", "\"assignee\":\"agent-2\",\"from_assignee\":\"agent-1\"", T0 + 2 * MIN },
        { "workorder.moved", "agent-2", "\"from\":\"assigned\",\"to\":\"in_progress\",\"note\":\"开始处理\"", T0 + 3 * MIN },
        { "workorder.commented", "agent-2", "\"visibility\":\"internal\"", T0 + 3 * MIN },
    };
    crm_iter *it;
    const crm_event *e;
    assert_int_equal(crm_event_iter_new(&it, db, id), 0);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(crm_event_next(&e, it), 0);
        assert_string_equal(e->kind, want[i].kind);
        assert_string_equal(e->actor, want[i].actor);
        assert_string_equal(e->entity_type, "workorder");
        assert_int_equal(e->at, want[i].at);
        if (!strstr(e->data, want[i].data_part))
            fail_msg("event %zu: data %s lacks %s", i, e->data, want[i].data_part);
    }
    assert_int_equal(crm_event_next(&e, it), CRM_ITEROVER);
    crm_iter_free(it);
}

static void comments_and_first_response(void **state)
{
    crm_db *db = *state;
    char id[CRM_ID_LEN + 1], c1[CRM_ID_LEN + 1], c2[CRM_ID_LEN + 1];
    assert_int_equal(crm_workorder_create(id, db, "{\"type\":\"enquiry\",\"subject\":\"x\"}"), 0);
    crm_db_set_time(db, T0 + MIN);
    assert_int_equal(crm_workorder_comment(c1, db, id, "先查一下库存", CRM_WO_INTERNAL), 0);
    crm_workorder *w = get(db, id);
    assert_int_equal(w->first_response_at, 0); /* internal notes are not a response */
    crm_workorder_free(w);
    crm_db_set_time(db, T0 + 2 * MIN);
    assert_int_equal(crm_workorder_comment(c2, db, id, "您好，\n有现车。", CRM_WO_PUBLIC), 0);
    w = get(db, id);
    assert_int_equal(w->first_response_at, T0 + 2 * MIN);
    crm_workorder_free(w);
    crm_iter *it;
    const crm_wo_comment *c;
    assert_int_equal(crm_wo_comment_iter_new(&it, db, id), 0);
    assert_int_equal(crm_wo_comment_next(&c, it), 0);
    assert_string_equal(c->id, c1);
    assert_int_equal(c->visibility, CRM_WO_INTERNAL);
    assert_string_equal(c->author, "system");
    assert_int_equal(crm_wo_comment_next(&c, it), 0);
    assert_string_equal(c->id, c2);
    assert_string_equal(c->body, "您好，\n有现车。");
    assert_int_equal(c->at, T0 + 2 * MIN);
    assert_int_equal(crm_wo_comment_next(&c, it), CRM_ITEROVER);
    /* The wrong kind of iterator is refused. */
    const crm_workorder *wrong;
    assert_crm_error(crm_workorder_next(&wrong, it), CRM_EINVALID, "not a work order iterator");
    crm_iter_free(it);
    assert_crm_error(crm_workorder_comment(NULL, db, id, "", CRM_WO_PUBLIC), CRM_EINVALID, "body: expected 1 to");
    assert_crm_error(crm_workorder_comment(NULL, db, id, "x", (crm_wo_visibility)3), CRM_EINVALID, "visibility");
    assert_crm_error(crm_workorder_comment(NULL, db, "nope", "x", CRM_WO_PUBLIC), CRM_EINVALID, "id: expected a UUID");
}

static void scope_hides_and_refuses(void **state)
{
    crm_db *db = *state;
    char d1[CRM_ID_LEN + 1], d2[CRM_ID_LEN + 1], id[CRM_ID_LEN + 1];
    assert_int_equal(crm_workorder_create(d1, db, "{\"type\":\"repair\",\"subject\":\"x\",\"dealer_id\":\"D1\"}"), 0);
    assert_int_equal(crm_workorder_create(d2, db, "{\"type\":\"repair\",\"subject\":\"x\",\"dealer_id\":\"D2\"}"), 0);
    assert_int_equal(crm_db_set_scope(db, "D1"), 0);
    crm_workorder *w = NULL;
    assert_int_equal(crm_workorder_get(&w, db, d2), CRM_ENOTFOUND);
    assert_int_equal(crm_workorder_assign(db, d2, "a", NULL), CRM_ENOTFOUND);
    assert_int_equal(crm_workorder_comment(NULL, db, d2, "x", CRM_WO_PUBLIC), CRM_ENOTFOUND);
    assert_crm_error(crm_workorder_create(id, db, "{\"type\":\"repair\",\"subject\":\"x\",\"dealer_id\":\"D2\"}"), CRM_EPERM,
                     "dealer_id: outside this handle's scope");
    /* Without a dealer, the scope's dealer is used. */
    assert_int_equal(crm_workorder_create(id, db, "{\"type\":\"repair\",\"subject\":\"x\"}"), 0);
    w = get(db, id);
    assert_string_equal(w->dealer_id, "D1");
    crm_workorder_free(w);
    crm_iter *it;
    const crm_workorder *row;
    size_t n = 0;
    assert_int_equal(crm_workorder_iter_new(&it, db, NULL), 0);
    while (crm_workorder_next(&row, it) == 0) {
        assert_string_equal(row->dealer_id, "D1");
        n++;
    }
    crm_iter_free(it);
    assert_int_equal(n, 2);
    crm_workorder_filter f = CRM_WORKORDER_FILTER_INIT;
    f.statuses = 1u << 9;
    assert_crm_error(crm_workorder_iter_new(&it, db, &f), CRM_EINVALID, "filter.statuses");
    f.version = 7;
    assert_crm_error(crm_workorder_iter_new(&it, db, &f), CRM_EINVALID, "filter.version");
}

static void status_names_roundtrip(void **state)
{
    (void)state;
    for (int i = 0; i < CRM_WO_STATUS_COUNT; i++) {
        crm_wo_status s;
        assert_int_equal(crm_wo_status_parse(&s, crm_wo_status_name((crm_wo_status)i)), 0);
        assert_int_equal(s, i);
    }
    crm_wo_status s;
    assert_crm_error(crm_wo_status_parse(&s, "done"), CRM_EINVALID, "status: unknown \"done\"");
    assert_null(crm_wo_status_name((crm_wo_status)6));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_memory, test_teardown_db)
    const struct CMUnitTest tests[] = {
        T(create_keeps_every_field),
        T(bad_input_names_the_field_and_changes_nothing),
        T(state_machine_moves_and_refuses),
        T(pauses_and_times_are_kept),
        T(history_says_who_when_what),
        T(comments_and_first_response),
        T(scope_hides_and_refuses),
        cmocka_unit_test(status_names_roundtrip),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
