/* SLA policies: validation with JSON paths, measuring on the business
 * calendar with pauses, and the escalation run: warnings, breaches,
 * levels with their actions, idempotency (a second run changes nothing),
 * scope. Times are hand-computed on the default calendar (UTC+8,
 * Mon-Fri 09:00-18:00). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

static const char *const POLICY =
    "{\"rules\":["
    "{\"name\":\"complaints\",\"match\":{\"type\":\"complaint\",\"priority\":[1,2,3]},"
    " \"first_response_minutes\":60,\"resolution_minutes\":480,\"warning_percent\":80,"
    " \"escalations\":["
    "  {\"after_minutes\":0,\"actions\":[{\"action\":\"notify\",\"to\":\"supervisor\"}]},"
    "  {\"after_minutes\":240,\"actions\":[{\"action\":\"reassign\",\"assignee\":\"lead-1\",\"queue\":\"l2\"},"
    "                                     {\"action\":\"raise_priority\"}]}]},"
    "{\"name\":\"the rest\",\"resolution_minutes\":2400}]}";

static int64_t T(const char *text)
{
    int64_t t;
    assert_int_equal(crm_time_parse(&t, text), 0);
    return t;
}

typedef struct fixture {
    crm_db *db;
    crm_sla_policy *policy;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || crm_db_open(&f->db, ":memory:", NULL) != 0 || crm_sla_policy_new(&f->policy, POLICY) != 0)
        return -1;
    crm_db_set_time(f->db, T("2025-11-24T10:00+08:00")); /* a Monday */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    crm_sla_policy_free(f->policy);
    crm_db_close(f->db);
    free(f);
    return 0;
}

static crm_sla_status evaluate(fixture *f, const char *id, const char *at)
{
    crm_workorder *w;
    assert_int_equal(crm_workorder_get(&w, f->db, id), 0);
    crm_sla_status st;
    assert_int_equal(crm_sla_evaluate(&st, f->policy, w, T(at)), 0);
    crm_workorder_free(w);
    return st;
}

static void measuring_on_the_calendar(void **state)
{
    fixture *f = *state;
    char id[CRM_ID_LEN + 1];
    assert_int_equal(crm_workorder_create(id, f->db, "{\"type\":\"complaint\",\"subject\":\"x\"}"), 0);
    crm_sla_status st = evaluate(f, id, "2025-11-24T10:47+08:00");
    assert_string_equal(st.rule, "complaints");
    assert_int_equal(st.response, CRM_SLA_RUNNING);
    assert_int_equal(st.response_due, T("2025-11-24T11:00+08:00"));
    assert_int_equal(st.resolution_due, T("2025-11-24T18:00+08:00")); /* 480 = 10:00-18:00 */
    st = evaluate(f, id, "2025-11-24T10:48+08:00"); /* 48 of 60 = 80% */
    assert_int_equal(st.response, CRM_SLA_WARNING);
    assert_int_equal(st.response_ms, 48 * 60000);
    st = evaluate(f, id, "2025-11-24T11:00+08:00"); /* on the dot is in time */
    assert_int_equal(st.response, CRM_SLA_WARNING);
    st = evaluate(f, id, "2025-11-24T11:01+08:00");
    assert_int_equal(st.response, CRM_SLA_BREACHED);
    assert_int_equal(st.resolution, CRM_SLA_RUNNING);
    st = evaluate(f, id, "2025-11-25T09:00+08:00"); /* 480 business minutes: due, not overdue */
    assert_int_equal(st.resolution, CRM_SLA_WARNING);
    assert_int_equal(st.level, 0);
    st = evaluate(f, id, "2025-11-25T10:01+08:00");
    assert_int_equal(st.resolution, CRM_SLA_BREACHED);
    assert_int_equal(st.level, 1);
    st = evaluate(f, id, "2025-11-25T12:59+08:00"); /* 480 + 239 */
    assert_int_equal(st.level, 1);
    st = evaluate(f, id, "2025-11-25T13:01+08:00"); /* 480 + 241 */
    assert_int_equal(st.level, 2);

    /* Another type falls to the catch-all rule, with no response target. */
    assert_int_equal(crm_workorder_create(id, f->db, "{\"type\":\"enquiry\",\"subject\":\"x\"}"), 0);
    st = evaluate(f, id, "2025-11-24T18:00+08:00");
    assert_string_equal(st.rule, "the rest");
    assert_int_equal(st.response, CRM_SLA_NONE);
    assert_int_equal(st.response_due, 0);
    assert_int_equal(st.resolution_due, T("2025-11-28T14:00+08:00")); /* 480 + 3 x 540 + 300 */
    /* Priority 4 complaints match no rule here... */
    assert_int_equal(crm_workorder_create(id, f->db, "{\"type\":\"complaint\",\"subject\":\"x\",\"priority\":4}"), 0);
    st = evaluate(f, id, "2025-11-24T18:00+08:00");
    assert_string_equal(st.rule, "the rest");
}

static void pauses_move_the_due_time(void **state)
{
    fixture *f = *state;
    char id[CRM_ID_LEN + 1];
    assert_int_equal(crm_workorder_create(id, f->db, "{\"type\":\"complaint\",\"subject\":\"x\",\"assignee\":\"a\"}"), 0);
    crm_db_set_time(f->db, T("2025-11-24T10:30+08:00"));
    assert_int_equal(crm_workorder_move(f->db, id, CRM_WO_IN_PROGRESS, NULL), 0);
    crm_db_set_time(f->db, T("2025-11-24T11:00+08:00"));
    assert_int_equal(crm_workorder_move(f->db, id, CRM_WO_WAITING_CUSTOMER, NULL), 0);
    crm_sla_status st = evaluate(f, id, "2025-11-25T12:00+08:00");
    assert_int_equal(st.response, CRM_SLA_MET);
    assert_int_equal(st.response_ms, 30 * 60000);
    assert_int_equal(st.resolution_due, CRM_TIME_NEVER); /* paused */
    assert_int_equal(st.resolution_ms, 60 * 60000);
    assert_int_equal(st.resolution, CRM_SLA_RUNNING);
    crm_db_set_time(f->db, T("2025-11-25T11:00+08:00"));
    assert_int_equal(crm_workorder_move(f->db, id, CRM_WO_IN_PROGRESS, NULL), 0);
    /* 60 before the pause, 420 from Tuesday 11:00: Tuesday 18:00. */
    st = evaluate(f, id, "2025-11-25T12:00+08:00");
    assert_int_equal(st.resolution_due, T("2025-11-25T18:00+08:00"));
    assert_int_equal(st.resolution_ms, 120 * 60000);
    crm_db_set_time(f->db, T("2025-11-25T17:00+08:00"));
    assert_int_equal(crm_workorder_move(f->db, id, CRM_WO_RESOLVED, NULL), 0);
    st = evaluate(f, id, "2025-12-25T12:00+08:00");
    assert_int_equal(st.resolution, CRM_SLA_MET);
    assert_int_equal(st.resolution_ms, 420 * 60000);
}

static size_t count_kind(crm_db *db, const char *id, const char *kind, char *last_data, size_t cap)
{
    crm_iter *it;
    const crm_event *e;
    size_t n = 0;
    assert_int_equal(crm_event_iter_new(&it, db, id), 0);
    while (crm_event_next(&e, it) == 0) {
        if (strcmp(e->kind, kind) == 0) {
            n++;
            if (last_data)
                snprintf(last_data, cap, "%s", e->data);
        }
    }
    crm_iter_free(it);
    return n;
}

static void escalation_runs_step_by_step(void **state)
{
    fixture *f = *state;
    crm_db *db = f->db;
    char id[CRM_ID_LEN + 1], data[512];
    assert_int_equal(crm_workorder_create(id, db, "{\"type\":\"complaint\",\"subject\":\"x\",\"priority\":3,"
                                                  "\"assignee\":\"agent-1\",\"queue\":\"l1\"}"), 0);
    crm_escalation_result r;
    assert_int_equal(crm_sla_escalate(&r, db, f->policy, T("2025-11-24T10:30+08:00")), 0);
    assert_int_equal(r.scanned, 1);
    assert_int_equal(r.changed, 0);
    assert_int_equal(crm_sla_escalate(&r, db, f->policy, T("2025-11-24T10:50+08:00")), 0);
    assert_int_equal(r.warnings, 1);
    assert_int_equal(r.changed, 1);
    assert_int_equal(count_kind(db, id, "workorder.sla_warning", data, sizeof data), 1);
    assert_string_equal(data, "{\"target\":\"first_response\",\"rule\":\"complaints\",\"due\":\"2025-11-24T03:00:00.000Z\"}");
    assert_int_equal(crm_sla_escalate(&r, db, f->policy, T("2025-11-24T11:30+08:00")), 0);
    assert_int_equal(r.breaches, 1);
    assert_int_equal(r.warnings, 0);
    assert_int_equal(crm_sla_escalate(&r, db, f->policy, T("2025-11-25T10:01+08:00")), 0);
    /* Resolution: warning passed over by the breach; level 1 notifies. */
    assert_int_equal(r.breaches, 1);
    assert_int_equal(r.warnings, 0);
    assert_int_equal(r.escalations, 1);
    assert_int_equal(count_kind(db, id, "workorder.sla_notify", data, sizeof data), 1);
    assert_string_equal(data, "{\"level\":1,\"rule\":\"complaints\",\"to\":\"supervisor\"}");
    crm_workorder *w;
    assert_int_equal(crm_workorder_get(&w, db, id), 0);
    assert_int_equal(w->escalation_level, 1);
    assert_int_equal(w->sla_flags, 15);
    assert_string_equal(w->assignee, "agent-1");
    crm_workorder_free(w);
    assert_int_equal(crm_sla_escalate(&r, db, f->policy, T("2025-11-25T14:01+08:00")), 0);
    assert_int_equal(r.escalations, 1);
    assert_int_equal(crm_workorder_get(&w, db, id), 0);
    assert_int_equal(w->escalation_level, 2);
    assert_string_equal(w->assignee, "lead-1");
    assert_string_equal(w->queue, "l2");
    assert_int_equal(w->priority, 2);
    crm_workorder_free(w);
    assert_int_equal(count_kind(db, id, "workorder.escalated", data, sizeof data), 2);
    assert_non_null(strstr(data, "{\"action\":\"reassign\",\"assignee\":\"lead-1\",\"from_assignee\":\"agent-1\",\"queue\":\"l2\"}"));
    assert_non_null(strstr(data, "{\"action\":\"raise_priority\",\"from\":3,\"to\":2}"));
    /* A host consumes the notifications across work orders, since a time. */
    crm_iter *it;
    const crm_event *e;
    assert_int_equal(crm_workorder_events_iter_new(&it, db, "workorder.sla_notify", T("2025-11-24T10:00+08:00")), 0);
    assert_int_equal(crm_event_next(&e, it), 0);
    assert_string_equal(e->entity_id, id);
    assert_int_equal(crm_event_next(&e, it), CRM_ITEROVER);
    crm_iter_free(it);
    assert_int_equal(crm_workorder_events_iter_new(&it, db, "workorder.sla_notify", T("2030-01-01")), 0);
    assert_int_equal(crm_event_next(&e, it), CRM_ITEROVER);
    crm_iter_free(it);
    assert_int_equal(crm_db_set_scope(db, "D9"), 0);
    assert_int_equal(crm_workorder_events_iter_new(&it, db, "workorder.sla_notify", 0), 0);
    assert_int_equal(crm_event_next(&e, it), CRM_ITEROVER);
    crm_iter_free(it);
    assert_int_equal(crm_db_set_scope(db, NULL), 0);
    assert_crm_error(crm_workorder_events_iter_new(&it, db, "", 0), CRM_EINVALID, "kind: expected 1 to");
    /* Resolved orders are not scanned. */
    assert_int_equal(crm_workorder_move(db, id, CRM_WO_IN_PROGRESS, NULL), 0);
    assert_int_equal(crm_workorder_move(db, id, CRM_WO_RESOLVED, NULL), 0);
    assert_int_equal(crm_sla_escalate(&r, db, f->policy, T("2026-11-25T14:01+08:00")), 0);
    assert_int_equal(r.scanned, 0);
}

static void a_second_run_changes_nothing(void **state)
{
    (void)state;
    const char *path = test_db_path("sla-idempotent.db");
    crm_db *db;
    crm_sla_policy *policy;
    assert_int_equal(crm_db_open(&db, path, NULL), 0);
    assert_int_equal(crm_sla_policy_new(&policy, POLICY), 0);
    crm_db_set_time(db, T("2025-11-24T10:00+08:00"));
    for (int i = 0; i < 20; i++) {
        char json[160];
        snprintf(json, sizeof json, "{\"type\":\"%s\",\"subject\":\"s%d\",\"dealer_id\":\"D%d\",\"priority\":%d}",
                 i % 3 ? "complaint" : "repair", i, i % 2, 1 + i % 4);
        assert_int_equal(crm_workorder_create(NULL, db, json), 0);
        crm_db_set_time(db, crm_db_now(db) + 37 * 60000LL);
    }
    crm_escalation_result r1, r2;
    int64_t as_of = T("2025-11-26T15:00+08:00");
    crm_db_set_time(db, as_of);
    assert_int_equal(crm_sla_escalate(&r1, db, policy, as_of), 0);
    assert_int_equal(r1.scanned, 20);
    assert_true(r1.changed > 0 && r1.breaches > 0 && r1.escalations > 0);
    crm_db_close(db);
    char *before = test_db_digest(path);
    assert_int_equal(crm_db_open(&db, path, NULL), 0);
    crm_db_set_time(db, as_of + 1000);
    assert_int_equal(crm_sla_escalate(&r2, db, policy, as_of), 0);
    assert_int_equal(r2.scanned, 20);
    assert_int_equal(r2.changed + r2.warnings + r2.breaches + r2.escalations, 0);
    crm_db_close(db);
    char *after = test_db_digest(path);
    assert_string_equal(before, after);
    free(before);
    free(after);
    crm_sla_policy_free(policy);
}

static void escalation_respects_scope(void **state)
{
    fixture *f = *state;
    char d1[CRM_ID_LEN + 1], d2[CRM_ID_LEN + 1];
    assert_int_equal(crm_workorder_create(d1, f->db, "{\"type\":\"complaint\",\"subject\":\"x\",\"dealer_id\":\"D1\"}"), 0);
    assert_int_equal(crm_workorder_create(d2, f->db, "{\"type\":\"complaint\",\"subject\":\"x\",\"dealer_id\":\"D2\"}"), 0);
    assert_int_equal(crm_db_set_scope(f->db, "D1"), 0);
    crm_escalation_result r;
    assert_int_equal(crm_sla_escalate(&r, f->db, f->policy, T("2025-12-24T10:00+08:00")), 0);
    assert_int_equal(r.scanned, 1);
    assert_int_equal(crm_db_set_scope(f->db, NULL), 0);
    crm_workorder *w;
    assert_int_equal(crm_workorder_get(&w, f->db, d2), 0);
    assert_int_equal(w->sla_flags, 0);
    crm_workorder_free(w);
}

static void dealer_calendars_apply(void **state)
{
    (void)state;
    crm_sla_policy *p;
    /* D9 works Saturdays 09:00-18:00 too. */
    assert_int_equal(crm_sla_policy_new(&p, "{\"calendars\":{\"dealers\":{\"D9\":{\"hours\":{"
                                            "\"mon\":[\"09:00-18:00\"],\"tue\":[\"09:00-18:00\"],\"wed\":[\"09:00-18:00\"],"
                                            "\"thu\":[\"09:00-18:00\"],\"fri\":[\"09:00-18:00\"],\"sat\":[\"09:00-18:00\"]}}}},"
                                            "\"rules\":[{\"resolution_minutes\":120}]}"),
                     0);
    crm_workorder w = { .id = "0190b000-0000-7000-8000-000000000001", .type = "repair", .priority = 3,
                        .dealer_id = "D9", .created_at = T("2025-11-28T17:00+08:00") };
    crm_sla_status st;
    assert_int_equal(crm_sla_evaluate(&st, p, &w, T("2025-11-28T17:00+08:00")), 0);
    assert_string_equal(st.rule, "rules[0]");
    assert_int_equal(st.resolution_due, T("2025-11-29T10:00+08:00"));
    w.dealer_id = "D1";
    assert_int_equal(crm_sla_evaluate(&st, p, &w, T("2025-11-28T17:00+08:00")), 0);
    assert_int_equal(st.resolution_due, T("2025-12-01T10:00+08:00"));
    crm_sla_policy_free(p);
}

static void move_at(crm_db *db, const char *id, crm_wo_status to, const char *at)
{
    crm_db_set_time(db, T(at));
    assert_int_equal(crm_workorder_move(db, id, to, NULL), 0);
}

static void report_by_queue(void **state)
{
    fixture *f = *state;
    crm_db *db = f->db;
    char a[CRM_ID_LEN + 1], b[CRM_ID_LEN + 1], c[CRM_ID_LEN + 1], d[CRM_ID_LEN + 1];
    assert_int_equal(crm_workorder_create(a, db, "{\"type\":\"complaint\",\"subject\":\"a\",\"assignee\":\"x\",\"queue\":\"q1\"}"), 0);
    assert_int_equal(crm_workorder_create(b, db, "{\"type\":\"complaint\",\"subject\":\"b\",\"assignee\":\"x\",\"queue\":\"q1\"}"), 0);
    assert_int_equal(crm_workorder_create(c, db, "{\"type\":\"complaint\",\"subject\":\"c\",\"queue\":\"q2\"}"), 0);
    assert_int_equal(crm_workorder_create(d, db, "{\"type\":\"enquiry\",\"subject\":\"d\",\"queue\":\"q2\"}"), 0);
    /* a: response 30 min (met), resolved after 120 (met). b: response 90
     * (late), resolved after 540 business minutes (late). c: open, late on
     * both. d: open, no response target, resolution running. */
    move_at(db, a, CRM_WO_IN_PROGRESS, "2025-11-24T10:30+08:00");
    move_at(db, a, CRM_WO_RESOLVED, "2025-11-24T12:00+08:00");
    move_at(db, b, CRM_WO_IN_PROGRESS, "2025-11-24T11:30+08:00");
    move_at(db, b, CRM_WO_RESOLVED, "2025-11-25T10:00+08:00");
    crm_sla_report_options o = CRM_SLA_REPORT_OPTIONS_INIT;
    o.group_by = CRM_SLA_GROUP_QUEUE;
    o.as_of = T("2025-11-25T10:00+08:00");
    char *json;
    assert_int_equal(crm_sla_report(&json, db, f->policy, &o), 0);
    assert_string_equal(json,
        "{\"groups\":["
        "{\"key\":\"q1\",\"count\":2,\"open\":0,"
        "\"first_response\":{\"met\":1,\"breached\":1,\"compliance\":0.5,\"mean_minutes\":60,\"p90_minutes\":90},"
        "\"resolution\":{\"met\":1,\"breached\":1,\"compliance\":0.5,\"mean_minutes\":330,\"p90_minutes\":540},"
        "\"backlog_by_age\":{\"0-1d\":0,\"1-3d\":0,\"3-7d\":0,\"7d+\":0}},"
        "{\"key\":\"q2\",\"count\":2,\"open\":2,"
        "\"first_response\":{\"met\":0,\"breached\":1,\"compliance\":0,\"mean_minutes\":null,\"p90_minutes\":null},"
        "\"resolution\":{\"met\":0,\"breached\":1,\"compliance\":0,\"mean_minutes\":null,\"p90_minutes\":null},"
        "\"backlog_by_age\":{\"0-1d\":0,\"1-3d\":2,\"3-7d\":0,\"7d+\":0}}],"
        "\"as_of\":\"2025-11-25T02:00:00.000Z\",\"group_by\":\"queue\"}");
    crm_free(json);
    /* By month, as of before b was resolved: b still open. */
    o.group_by = CRM_SLA_GROUP_MONTH;
    o.as_of = T("2025-11-24T13:00+08:00");
    assert_int_equal(crm_sla_report(&json, db, f->policy, &o), 0);
    assert_non_null(strstr(json, "{\"key\":\"2025-11\",\"count\":4,\"open\":3,"));
    crm_free(json);
    o.group_by = (crm_sla_group)9;
    assert_crm_error(crm_sla_report(&json, db, f->policy, &o), CRM_EINVALID, "options.group_by");
}

static void bad_policies_name_the_path(void **state)
{
    (void)state;
    static const struct {
        const char *json, *needle;
    } cases[] = {
        { "{", "policy: not valid JSON" },
        { "{}", "policy.rules: expected an array" },
        { "{\"rules\":[],\"extra\":1}", "policy.extra: unknown key" },
        { "{\"rules\":[{}]}", "policy.rules[0].resolution_minutes: required" },
        { "{\"rules\":[{\"resolution_minutes\":1},{\"resolution_minutes\":0}]}", "policy.rules[1].resolution_minutes: expected a positive integer" },
        { "{\"rules\":[{\"resolution_minutes\":1.5}]}", "policy.rules[0].resolution_minutes: expected a positive integer" },
        { "{\"rules\":[{\"resolution_minutes\":9,\"first_response_minutes\":\"9\"}]}", "policy.rules[0].first_response_minutes" },
        { "{\"rules\":[{\"resolution_minutes\":9,\"warning_percent\":100}]}", "policy.rules[0].warning_percent: expected an integer from 1 to 99" },
        { "{\"rules\":[{\"resolution_minutes\":9,\"match\":{\"priority\":[1,5]}}]}", "policy.rules[0].match.priority[1]: expected a priority 1..4" },
        { "{\"rules\":[{\"resolution_minutes\":9,\"match\":{\"type\":[]}}]}", "policy.rules[0].match.type: expected a string or a non-empty array" },
        { "{\"rules\":[{\"resolution_minutes\":9,\"match\":{\"channel\":[\"dcc\",3]}}]}", "policy.rules[0].match.channel[1]: expected a non-empty string" },
        { "{\"rules\":[{\"resolution_minutes\":9,\"match\":{\"dealer\":\"D1\"}}]}", "policy.rules[0].match.dealer: unknown key" },
        { "{\"rules\":[{\"resolution_minutes\":9,\"escalations\":[{\"actions\":[]}]}]}", "policy.rules[0].escalations[0].after_minutes: required" },
        { "{\"rules\":[{\"resolution_minutes\":9,\"escalations\":[{\"after_minutes\":0,\"actions\":[]}]}]}", "policy.rules[0].escalations[0].actions: expected a non-empty array" },
        { "{\"rules\":[{\"resolution_minutes\":9,\"escalations\":[{\"after_minutes\":5,\"actions\":[{\"action\":\"notify\"}]},"
          "{\"after_minutes\":5,\"actions\":[{\"action\":\"notify\"}]}]}]}", "policy.rules[0].escalations[1].after_minutes: must be greater" },
        { "{\"rules\":[{\"resolution_minutes\":9,\"escalations\":[{\"after_minutes\":0,\"actions\":[{\"action\":\"email\"}]}]}]}",
          "policy.rules[0].escalations[0].actions[0].action: expected \"notify\", \"reassign\" or \"raise_priority\"" },
        { "{\"rules\":[{\"resolution_minutes\":9,\"escalations\":[{\"after_minutes\":0,\"actions\":[{\"action\":\"notify\"},{\"action\":\"reassign\"}]}]}]}",
          "policy.rules[0].escalations[0].actions[1].assignee: required by reassign" },
        { "{\"calendars\":{\"default\":{\"hours\":{\"sun\":[\"x\"]}}},\"rules\":[]}", "policy.calendars.default.hours.sun[0]: expected \"HH:MM-HH:MM\"" },
        { "{\"calendars\":{\"dealers\":{\"D1\":{\"holidays\":[\"2025-13-01\"]}}},\"rules\":[]}", "policy.calendars.dealers.D1.holidays[0]: expected a date" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        crm_sla_policy *p = (crm_sla_policy *)1;
        assert_crm_error(crm_sla_policy_new(&p, cases[i].json), CRM_EINVALID, cases[i].needle);
        assert_null(p);
    }
    crm_sla_policy_free(NULL);
}

int main(void)
{
#define T_(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T_(measuring_on_the_calendar),
        T_(pauses_move_the_due_time),
        T_(escalation_runs_step_by_step),
        cmocka_unit_test(a_second_run_changes_nothing),
        T_(escalation_respects_scope),
        cmocka_unit_test(dealer_calendars_apply),
        T_(report_by_queue),
        cmocka_unit_test(bad_policies_name_the_path),
    };
#undef T_
    return cmocka_run_group_tests(tests, NULL, NULL);
}
