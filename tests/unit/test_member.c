/* Members, tiers and the points ledger: expiry order, idempotency,
 * reversals, never negative, tier up at once and down at the anniversary,
 * and the balance equal to the ledger under random operation sequences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */
#define DAY 86400000LL

static const char *const RULES =
    "{\"window_days\":365,\"tiers\":[{\"name\":\"silver\",\"min_points\":0},"
    "{\"name\":\"gold\",\"min_points\":1000,\"benefits\":{\"free_wash\":4}},"
    "{\"name\":\"black\",\"min_points\":5000,\"benefits\":{\"free_wash\":12,\"lounge\":true}}]}";

typedef struct fixture {
    crm_db *db;
    crm_loyalty_rules *rules;
    char customer[CRM_ID_LEN + 1];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || crm_db_open(&f->db, ":memory:", NULL) != 0 || crm_loyalty_rules_load(&f->rules, RULES) != 0)
        return -1;
    crm_db_set_time(f->db, T0);
    crm_resolve_result r;
    if (crm_customer_resolve_json(&r, f->db, "{\"identities\":[{\"kind\":\"phone\",\"value\":\"13800000000\"}]}", NULL))
        return -1;
    memcpy(f->customer, r.customer_id, sizeof f->customer);
    if (crm_member_enrol(f->db, f->customer, "M-0001", f->rules))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    crm_loyalty_rules_free(f->rules);
    crm_db_close(f->db);
    free(f);
    return 0;
}

static int64_t balance(fixture *f)
{
    crm_member *m;
    assert_int_equal(crm_member_get(&m, f->db, f->customer), 0);
    int64_t b = m->balance;
    crm_member_free(m);
    return b;
}

/* Sum of the ledger's points, and of what is left in its batches. */
static void ledger_sums(fixture *f, int64_t *sum, int64_t *left)
{
    char *json;
    assert_int_equal(crm_points_ledger_json(&json, f->db, f->customer), 0);
    cJSON *arr = cJSON_Parse(json);
    assert_non_null(arr);
    *sum = *left = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, arr)
    {
        *sum += (int64_t)cJSON_GetObjectItem(t, "points")->valuedouble;
        const cJSON *rem = cJSON_GetObjectItem(t, "remaining");
        if (rem)
            *left += (int64_t)rem->valuedouble;
    }
    cJSON_Delete(arr);
    crm_free(json);
}

static void redemptions_use_the_earliest_expiring_points_first(void **state)
{
    fixture *f = *state;
    crm_points_result a, b, c, r;
    assert_int_equal(crm_points_accrue(&a, f->db, f->customer, 100, T0 + 90 * DAY, "a", NULL, f->rules), 0);
    assert_int_equal(crm_points_accrue(&b, f->db, f->customer, 100, T0 + 30 * DAY, "b", "购车", f->rules), 0);
    assert_int_equal(crm_points_accrue(&c, f->db, f->customer, 100, 0, "c", NULL, f->rules), 0);
    assert_int_equal(c.balance, 300);
    assert_int_equal(crm_points_redeem(&r, f->db, f->customer, 150, "r1", "保养抵扣", f->rules), 0);
    assert_int_equal(r.balance, 150);
    /* b (day 30) is gone, a (day 90) half used, c (never) untouched: the
     * expiry run at day 60 takes nothing, at day 100 a's 50. */
    crm_db_set_time(f->db, T0 + 60 * DAY);
    size_t n;
    assert_int_equal(crm_points_expire(&n, f->db), 0);
    assert_int_equal(n, 0);
    crm_db_set_time(f->db, T0 + 100 * DAY);
    assert_int_equal(crm_points_expire(&n, f->db), 0);
    assert_int_equal(n, 1);
    assert_int_equal(balance(f), 100);
    assert_int_equal(crm_points_expire(&n, f->db), 0); /* again: nothing left to take */
    assert_int_equal(n, 0);
    int64_t sum, left;
    ledger_sums(f, &sum, &left);
    assert_int_equal(sum, 100);
    assert_int_equal(left, 100);
}

static void a_retried_call_never_counts_twice(void **state)
{
    fixture *f = *state;
    crm_points_result a, again;
    assert_int_equal(crm_points_accrue(&a, f->db, f->customer, 100, 0, "order-1", NULL, f->rules), 0);
    assert_int_equal(a.replayed, 0);
    assert_int_equal(crm_points_accrue(&again, f->db, f->customer, 100, 0, "order-1", NULL, f->rules), 0);
    assert_int_equal(again.replayed, 1);
    assert_string_equal(again.txn_id, a.txn_id);
    assert_int_equal(again.balance, 100);
    assert_crm_error(crm_points_accrue(&again, f->db, f->customer, 200, 0, "order-1", NULL, f->rules), CRM_ECONFLICT,
                     "idempotency_key: already used");
    assert_crm_error(crm_points_redeem(&again, f->db, f->customer, 100, "order-1", NULL, f->rules), CRM_ECONFLICT,
                     "idempotency_key");
    crm_points_result rv, rv2;
    assert_int_equal(crm_points_reverse(&rv, f->db, a.txn_id, "undo-1", NULL, f->rules), 0);
    assert_int_equal(crm_points_reverse(&rv2, f->db, a.txn_id, "undo-1", NULL, f->rules), 0);
    assert_int_equal(rv2.replayed, 1);
    assert_string_equal(rv2.txn_id, rv.txn_id);
    assert_int_equal(balance(f), 0);
    assert_crm_error(crm_points_accrue(NULL, f->db, f->customer, 1, 0, "", NULL, f->rules), CRM_EINVALID,
                     "idempotency_key");
    assert_crm_error(crm_points_accrue(NULL, f->db, f->customer, 0, 0, "k", NULL, f->rules), CRM_EINVALID, "points");
    assert_crm_error(crm_points_accrue(NULL, f->db, f->customer, 5, T0, "k", NULL, f->rules), CRM_EINVALID,
                     "expires_at: must be in the future");
}

static void reversals_undo_and_the_balance_never_goes_negative(void **state)
{
    fixture *f = *state;
    crm_points_result a, b, r, rv;
    assert_int_equal(crm_points_accrue(&a, f->db, f->customer, 100, T0 + 10 * DAY, "a", NULL, f->rules), 0);
    assert_int_equal(crm_points_accrue(&b, f->db, f->customer, 50, 0, "b", NULL, f->rules), 0);
    assert_crm_error(crm_points_redeem(&r, f->db, f->customer, 151, "r0", NULL, f->rules), CRM_ECONFLICT,
                     "the balance is 150");
    assert_int_equal(crm_points_redeem(&r, f->db, f->customer, 120, "r1", NULL, f->rules), 0);
    assert_int_equal(r.balance, 30);
    /* Reversing accrual a (100, of which 100 were spent) would go negative. */
    assert_crm_error(crm_points_reverse(&rv, f->db, a.txn_id, "x1", NULL, f->rules), CRM_ECONFLICT, "negative");
    /* Reversing the redemption gives the points back to the batches. */
    assert_int_equal(crm_points_reverse(&rv, f->db, r.txn_id, "x2", NULL, f->rules), 0);
    assert_int_equal(rv.balance, 150);
    char reversal[CRM_ID_LEN + 1];
    memcpy(reversal, rv.txn_id, sizeof reversal);
    assert_crm_error(crm_points_reverse(&rv, f->db, r.txn_id, "x3", NULL, f->rules), CRM_ECONFLICT, "reversed already");
    assert_crm_error(crm_points_reverse(&rv, f->db, reversal, "x4", NULL, f->rules), CRM_ECONFLICT,
                     "only accruals and redemptions");
    /* a's batch is whole again: after it expires it cannot be reversed. */
    crm_db_set_time(f->db, T0 + 11 * DAY);
    assert_crm_error(crm_points_reverse(&rv, f->db, a.txn_id, "x5", NULL, f->rules), CRM_ECONFLICT, "expired");
    /* A points call first expires the member's due batches: a's 100 go
     * before b's 50 are reversed. The run then finds nothing left. */
    assert_int_equal(crm_points_reverse(&rv, f->db, b.txn_id, "x6", NULL, f->rules), 0);
    assert_int_equal(rv.balance, 0);
    size_t n;
    assert_int_equal(crm_points_expire(&n, f->db), 0);
    assert_int_equal(n, 0);
    assert_int_equal(balance(f), 0);
    int64_t sum, left;
    ledger_sums(f, &sum, &left);
    assert_int_equal(sum, 0);
    assert_int_equal(left, 0);
    assert_crm_error(crm_points_reverse(&rv, f->db, "0190a000-0000-7000-8000-000000000000", "x7", NULL, f->rules),
                     CRM_ENOTFOUND, "txn_id");

    /* Rules may allow a negative balance; the next accrual pays it off first. */
    crm_loyalty_rules *neg;
    assert_int_equal(crm_loyalty_rules_load(&neg, "{\"allow_negative\":true}"), 0);
    assert_int_equal(crm_points_redeem(&r, f->db, f->customer, 40, "n1", NULL, neg), 0);
    assert_int_equal(r.balance, -40);
    assert_int_equal(crm_points_accrue(&a, f->db, f->customer, 100, 0, "n2", NULL, neg), 0);
    assert_int_equal(a.balance, 60);
    ledger_sums(f, &sum, &left);
    assert_int_equal(sum, 60);
    assert_int_equal(left, 60);
    crm_loyalty_rules_free(neg);
}

static const char *tier_of(fixture *f)
{
    static char name[40];
    crm_member *m;
    assert_int_equal(crm_member_get(&m, f->db, f->customer), 0);
    snprintf(name, sizeof name, "%s", m->tier ? m->tier : "(none)");
    crm_member_free(m);
    return name;
}

static void tiers_go_up_at_once_and_down_at_the_anniversary(void **state)
{
    fixture *f = *state;
    assert_string_equal(tier_of(f), "silver");
    assert_int_equal(crm_points_accrue(NULL, f->db, f->customer, 999, 0, "p1", NULL, f->rules), 0);
    assert_string_equal(tier_of(f), "silver");
    crm_db_set_time(f->db, T0 + 100 * DAY);
    assert_int_equal(crm_points_accrue(NULL, f->db, f->customer, 1, 0, "p2", NULL, f->rules), 0);
    assert_string_equal(tier_of(f), "gold");
    char *json;
    assert_int_equal(crm_member_get_json(&json, f->db, f->customer, f->rules), 0);
    assert_non_null(strstr(json, "\"benefits\":{\"free_wash\":4}"));
    assert_non_null(strstr(json, "\"qualifying_points\":1000"));
    assert_non_null(strstr(json, "\"member_no\":\"M-0001\""));
    crm_free(json);

    /* Day 370: the first 999 left the window, but the anniversary (day 365)
     * came before the member reached gold? No: gold since day 100, so the
     * anniversary at day 365 is after it and the downgrade happens. */
    int changed;
    crm_db_set_time(f->db, T0 + 200 * DAY);
    assert_int_equal(crm_member_evaluate_tier(&changed, f->db, f->customer, f->rules), 0);
    assert_int_equal(changed, 0);
    crm_db_set_time(f->db, T0 + 370 * DAY);
    assert_int_equal(crm_member_evaluate_tier(&changed, f->db, f->customer, f->rules), 0);
    assert_int_equal(changed, 1);
    assert_string_equal(tier_of(f), "silver");
    /* A reversal lowers the qualifying points but not the tier until the next anniversary. */
    crm_points_result big;
    assert_int_equal(crm_points_accrue(&big, f->db, f->customer, 5000, 0, "p3", NULL, f->rules), 0);
    assert_string_equal(tier_of(f), "black");
    assert_int_equal(crm_points_reverse(NULL, f->db, big.txn_id, "p4", NULL, f->rules), 0);
    assert_int_equal(crm_member_evaluate_tier(&changed, f->db, f->customer, f->rules), 0);
    assert_int_equal(changed, 0);
    assert_string_equal(tier_of(f), "black");
    crm_db_set_time(f->db, T0 + (365 * 2 + 1) * DAY);
    assert_int_equal(crm_member_evaluate_tier(&changed, f->db, f->customer, f->rules), 0);
    assert_string_equal(tier_of(f), "silver");
    assert_crm_error(crm_member_evaluate_tier(&changed, f->db, f->customer, NULL), CRM_EINVALID, "rules");
}

static void enrolment_and_rules_refuse_bad_input(void **state)
{
    fixture *f = *state;
    assert_crm_error(crm_member_enrol(f->db, f->customer, "M-0002", f->rules), CRM_EEXISTS, "already a member");
    crm_resolve_result r;
    assert_int_equal(crm_customer_resolve_json(&r, f->db, "{\"identities\":[{\"kind\":\"phone\",\"value\":\"13900000000\"}]}", NULL), 0);
    assert_crm_error(crm_member_enrol(f->db, r.customer_id, "M-0001", f->rules), CRM_EEXISTS, "member_no: M-0001 is taken");
    assert_crm_error(crm_member_enrol(f->db, r.customer_id, "M 1", f->rules), CRM_EINVALID, "member_no");
    assert_crm_error(crm_member_enrol(f->db, "0190a000-0000-7000-8000-000000000000", "M-9", f->rules), CRM_ENOTFOUND, NULL);
    assert_crm_error(crm_points_accrue(NULL, f->db, r.customer_id, 5, 0, "k", NULL, f->rules), CRM_ENOTFOUND,
                     "not a member");

    static const struct {
        const char *json, *needle;
    } bad[] = {
        { "{\"tiers\":[{\"name\":\"a\",\"min_points\":10}]}", "loyalty.tiers[0].min_points: the lowest tier starts at 0" },
        { "{\"tiers\":[{\"name\":\"a\",\"min_points\":0},{\"name\":\"b\",\"min_points\":0}]}",
          "loyalty.tiers[1].min_points: must be above" },
        { "{\"tiers\":[{\"name\":\"a\",\"min_points\":0},{\"name\":\"a\",\"min_points\":5}]}", "loyalty.tiers[1].name: 'a' is used twice" },
        { "{\"tiers\":[{\"name\":\"Gold\",\"min_points\":0}]}", "loyalty.tiers[0].name" },
        { "{\"tiers\":[{\"name\":\"a\",\"min_points\":-1}]}", "loyalty.tiers[0].min_points: expected a non-negative" },
        { "{\"tiers\":[{\"name\":\"a\"}]}", "loyalty.tiers[0].min_points: required" },
        { "{\"tiers\":[{\"name\":\"a\",\"min_points\":0,\"benefits\":1}]}", "loyalty.tiers[0].benefits: expected an object" },
        { "{\"tiers\":[{\"name\":\"a\",\"min_points\":0,\"perks\":{}}]}", "loyalty.tiers[0].perks: unknown member" },
        { "{\"window_days\":0}", "loyalty.window_days" },
        { "{\"allow_negative\":1}", "loyalty.allow_negative" },
        { "{\"tiers\":{}}", "loyalty.tiers: expected an array" },
        { "{\"tier\":[]}", "loyalty.tier: unknown member" },
        { "[", "loyalty: malformed JSON" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        crm_loyalty_rules *rules = (crm_loyalty_rules *)1;
        assert_crm_error(crm_loyalty_rules_load(&rules, bad[i].json), CRM_EINVALID, bad[i].needle);
        assert_null(rules);
    }
}

/* Random accruals (with and without expiry), redemptions, reversals,
 * expiry runs, retries of earlier calls and time passing, seeded: after
 * every step the balance equals the sum of the ledger and what is left in
 * the batches, and it is never negative. */
static void the_balance_always_equals_the_ledger(void **state)
{
    fixture *f = *state;
    const char *seed_env = getenv("CRM_TEST_SEED");
    unsigned seed = seed_env ? (unsigned)strtoul(seed_env, NULL, 10) : 20261125u;
    srand(seed);
    char txns[400][CRM_ID_LEN + 1];
    char keys[400][32];
    size_t n_txns = 0, n_keys = 0;
    int64_t now = T0;
    for (int step = 0; step < 400; step++) {
        int op = rand() % 10;
        char key[32];
        snprintf(key, sizeof key, "k%d", step);
        crm_points_result r = { .replayed = 1 }; /* a step that does nothing adds no transaction */
        int rc = 0;
        if (op < 4) {
            int64_t exp = rand() % 3 ? now + (rand() % 60 + 1) * DAY : 0;
            rc = crm_points_accrue(&r, f->db, f->customer, rand() % 500 + 1, exp, key, NULL, f->rules);
        } else if (op < 7) {
            rc = crm_points_redeem(&r, f->db, f->customer, rand() % 400 + 1, key, NULL, f->rules);
        } else if (op == 7 && n_txns > 0) {
            rc = crm_points_reverse(&r, f->db, txns[rand() % n_txns], key, NULL, f->rules);
        } else if (op == 8) {
            rc = crm_points_expire(NULL, f->db);
            r.replayed = 1;
        } else if (n_keys > 0) {
            /* A retry of an earlier accrual key with another amount conflicts; nothing changes. */
            rc = crm_points_accrue(&r, f->db, f->customer, 1000000, 0, keys[rand() % n_keys], NULL, f->rules);
            assert_int_not_equal(rc, 0);
            rc = -100;
        }
        if (rc == 0 && !r.replayed) {
            snprintf(txns[n_txns++], CRM_ID_LEN + 1, "%s", r.txn_id);
            snprintf(keys[n_keys++], sizeof keys[0], "%s", key);
        } else if (rc != 0 && rc != -100) {
            if (rc != CRM_ECONFLICT)
                print_error("step %d: %s\n", step, crm_error_last()->message);
            assert_int_equal(rc, CRM_ECONFLICT); /* short balance, reversed twice, expired batch */
        }
        now += (rand() % 3) * DAY;
        crm_db_set_time(f->db, now);
        int64_t sum, left, bal = balance(f);
        ledger_sums(f, &sum, &left);
        if (bal != sum || bal != left || bal < 0)
            print_error("seed %u step %d: balance %lld, ledger %lld, batches %lld\n", seed, step, (long long)bal,
                        (long long)sum, (long long)left);
        assert_int_equal(bal, sum);
        assert_int_equal(bal, left);
        assert_true(bal >= 0);
    }
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(redemptions_use_the_earliest_expiring_points_first),
        T(a_retried_call_never_counts_twice),
        T(reversals_undo_and_the_balance_never_goes_negative),
        T(tiers_go_up_at_once_and_down_at_the_anniversary),
        T(enrolment_and_rules_refuse_bad_input),
        T(the_balance_always_equals_the_ledger),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
