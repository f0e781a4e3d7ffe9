/* The lead lifecycle: allowed and refused transitions (with both states
 * named), reasons, assignment, stage times, audit, and nothing changed on
 * error. */
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
#define HOUR 3600000LL

static int setup_memory(void **state)
{
    return test_setup_memory_db(state, T0);
}

static char *new_lead(crm_db *db, const char *phone)
{
    static char id[CRM_ID_LEN + 1];
    char doc[128];
    crm_ingest_result r;
    snprintf(doc, sizeof doc, "{\"channel\":\"website\",\"phone\":\"%s\"}", phone);
    assert_int_equal(crm_lead_ingest(&r, db, doc), 0);
    memcpy(id, r.id, sizeof id);
    return id;
}

static crm_lead_status status_of(crm_db *db, const char *id)
{
    crm_lead *l;
    assert_int_equal(crm_lead_get(&l, db, id), 0);
    crm_lead_status s = l->status;
    crm_lead_free(l);
    return s;
}

static void the_state_machine(void **state)
{
    (void)state;
    /* forward moves from open states, skips allowed */
    assert_true(crm_lead_transition_allowed(CRM_LEAD_NEW, CRM_LEAD_ASSIGNED));
    assert_true(crm_lead_transition_allowed(CRM_LEAD_ASSIGNED, CRM_LEAD_VISITED));
    assert_true(crm_lead_transition_allowed(CRM_LEAD_ORDERED, CRM_LEAD_DELIVERED));
    /* lost and invalid from every open state */
    for (int s = CRM_LEAD_NEW; s <= CRM_LEAD_ORDERED; s++) {
        assert_true(crm_lead_transition_allowed((crm_lead_status)s, CRM_LEAD_LOST));
        assert_true(crm_lead_transition_allowed((crm_lead_status)s, CRM_LEAD_INVALID));
        assert_false(crm_lead_transition_allowed((crm_lead_status)s, (crm_lead_status)s));
    }
    /* nothing backward, nothing out of a closed state */
    assert_false(crm_lead_transition_allowed(CRM_LEAD_CONTACTED, CRM_LEAD_ASSIGNED));
    assert_false(crm_lead_transition_allowed(CRM_LEAD_ASSIGNED, CRM_LEAD_NEW));
    for (int s = CRM_LEAD_DELIVERED; s <= CRM_LEAD_INVALID; s++)
        for (int t = 0; t < CRM_LEAD_STATUS_COUNT; t++)
            assert_false(crm_lead_transition_allowed((crm_lead_status)s, (crm_lead_status)t));
    assert_false(crm_lead_transition_allowed(CRM_LEAD_NEW, (crm_lead_status)42));
}

static void a_lead_walks_the_funnel_with_stage_times(void **state)
{
    crm_db *db = *state;
    char id[CRM_ID_LEN + 1];
    strcpy(id, new_lead(db, "13800000001"));
    crm_transition t = CRM_TRANSITION_INIT;
    t.dealer_id = "D1";
    t.owner_id = "S-07";
    crm_db_set_time(db, T0 + 1 * HOUR);
    assert_int_equal(crm_lead_transition(db, id, CRM_LEAD_ASSIGNED, &t), 0);
    crm_db_set_time(db, T0 + 3 * HOUR);
    crm_db_set_actor(db, "sales:li");
    assert_int_equal(crm_lead_transition(db, id, CRM_LEAD_CONTACTED, NULL), 0);
    crm_db_set_time(db, T0 + 27 * HOUR);
    assert_int_equal(crm_lead_transition(db, id, CRM_LEAD_TEST_DRIVE, NULL), 0); /* skips the visit */
    crm_db_set_time(db, T0 + 50 * HOUR);
    crm_transition why = CRM_TRANSITION_INIT;
    why.reason = "bought a competitor's car / 已购竞品";
    assert_int_equal(crm_lead_transition(db, id, CRM_LEAD_LOST, &why), 0);

    crm_lead *l;
    assert_int_equal(crm_lead_get(&l, db, id), 0);
    assert_int_equal(l->status, CRM_LEAD_LOST);
    assert_string_equal(l->dealer_id, "D1");
    assert_string_equal(l->owner_id, "S-07");
    assert_int_equal(l->updated_at, T0 + 50 * HOUR);
    crm_lead_free(l);

    crm_lead_stage *st;
    size_t n;
    assert_int_equal(crm_lead_stages(&st, &n, db, id), 0);
    assert_int_equal(n, 5);
    static const crm_lead_status want[] = { CRM_LEAD_NEW, CRM_LEAD_ASSIGNED, CRM_LEAD_CONTACTED,
                                            CRM_LEAD_TEST_DRIVE, CRM_LEAD_LOST };
    static const int64_t at[] = { T0, T0 + HOUR, T0 + 3 * HOUR, T0 + 27 * HOUR, T0 + 50 * HOUR };
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(st[i].status, want[i]);
        assert_int_equal(st[i].entered_at, at[i]);
        assert_int_equal(st[i].left_at, i + 1 < n ? at[i + 1] : 0);
    }
    assert_string_equal(st[0].actor, "system");
    assert_string_equal(st[2].actor, "sales:li");
    assert_null(st[2].reason);
    assert_string_equal(st[4].reason, "bought a competitor's car / 已购竞品");
    crm_free(st);
    /* created + 4 transitions in the audit trail */
    assert_int_equal(test_count_events(db, id), 5);

    /* closed: nothing moves it, and the error names both states */
    assert_crm_error(crm_lead_transition(db, id, CRM_LEAD_ORDERED, NULL), CRM_ECONFLICT,
                     "cannot go from lost to ordered");
}

static void refused_transitions_change_nothing(void **state)
{
    crm_db *db = *state;
    char id[CRM_ID_LEN + 1];
    strcpy(id, new_lead(db, "13800000002"));
    assert_int_equal(crm_lead_transition(db, id, CRM_LEAD_CONTACTED, NULL), 0);
    assert_crm_error(crm_lead_transition(db, id, CRM_LEAD_ASSIGNED, NULL), CRM_ECONFLICT,
                     "lead status: cannot go from contacted to assigned");
    assert_crm_error(crm_lead_transition(db, id, CRM_LEAD_CONTACTED, NULL), CRM_ECONFLICT,
                     "cannot go from contacted to contacted");
    assert_crm_error(crm_lead_transition(db, id, CRM_LEAD_LOST, NULL), CRM_EINVALID,
                     "transition.reason: required");
    crm_transition t = CRM_TRANSITION_INIT;
    t.owner_id = "S-1";
    assert_crm_error(crm_lead_transition(db, id, CRM_LEAD_VISITED, &t), CRM_EINVALID,
                     "transition.owner_id: only given on assignment");
    t = (crm_transition)CRM_TRANSITION_INIT;
    t.reason = "bad\x01";
    assert_crm_error(crm_lead_transition(db, id, CRM_LEAD_INVALID, &t), CRM_EINVALID,
                     "transition.reason: control character");
    assert_crm_error(crm_lead_transition(db, "00000000-0000-7000-8000-000000000000", CRM_LEAD_CONTACTED, NULL),
                     CRM_ENOTFOUND, "not found");
    assert_int_equal(status_of(db, id), CRM_LEAD_CONTACTED);
    assert_int_equal(test_count_events(db, id), 2);
    crm_lead_stage *st;
    size_t n;
    assert_int_equal(crm_lead_stages(&st, &n, db, id), 0);
    assert_int_equal(n, 2);
    crm_free(st);
}

static void scope_limits_assignment(void **state)
{
    crm_db *db = *state;
    char id[CRM_ID_LEN + 1];
    strcpy(id, new_lead(db, "13800000003"));
    crm_transition t = CRM_TRANSITION_INIT;
    t.dealer_id = "D1";
    assert_int_equal(crm_lead_transition(db, id, CRM_LEAD_ASSIGNED, &t), 0);
    assert_int_equal(crm_db_set_scope(db, "D2"), 0);
    assert_crm_error(crm_lead_transition(db, id, CRM_LEAD_CONTACTED, NULL), CRM_ENOTFOUND, "not found");
    assert_int_equal(crm_db_set_scope(db, "D1"), 0);
    assert_int_equal(crm_lead_transition(db, id, CRM_LEAD_CONTACTED, NULL), 0);
    /* a dealer's handle cannot hand a lead to another dealer */
    char own[CRM_ID_LEN + 1];
    strcpy(own, new_lead(db, "13800000004")); /* ingested under D1's scope: D1's lead */
    t.dealer_id = "D2";
    assert_crm_error(crm_lead_transition(db, own, CRM_LEAD_ASSIGNED, &t), CRM_EPERM, "outside this handle's scope");
    assert_int_equal(status_of(db, own), CRM_LEAD_NEW);
    /* the dealer sees its own stages */
    crm_lead_stage *st;
    size_t n;
    assert_int_equal(crm_lead_stages(&st, &n, db, id), 0);
    assert_int_equal(n, 3);
    crm_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_state_machine),
        cmocka_unit_test_setup_teardown(a_lead_walks_the_funnel_with_stage_times, setup_memory, test_teardown_db),
        cmocka_unit_test_setup_teardown(refused_transitions_change_nothing, setup_memory, test_teardown_db),
        cmocka_unit_test_setup_teardown(scope_limits_assignment, setup_memory, test_teardown_db),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
