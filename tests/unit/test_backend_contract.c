/* How the core uses the storage interface: version checks on registration,
 * the scope passed on every read, one transaction per write, and rollback
 * when any step fails. A wrapper backend counts calls and injects failures
 * (the fake-backend habit of libgit2's odb tests). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <crm/crm.h>
#include <crm/sys/backend.h>

typedef struct counting_backend {
    crm_backend parent;
    crm_backend *inner;
    int begins, commits, rollbacks, reads, writes;
    char last_scope[64]; /* "*" for everything */
    int fail_event_append; /* inject a storage error */
    char collide_with[40];  /* key_find first reports this id: a hash collision */
} counting_backend;

static counting_backend *cb_of(crm_backend *b)
{
    return (counting_backend *)b;
}

static void note_scope(counting_backend *c, const crm_scope *scope)
{
    c->reads++;
    strncpy(c->last_scope, scope && scope->dealer_id ? scope->dealer_id : "*", sizeof c->last_scope - 1);
}

static void cb_free(crm_backend *b)
{
    cb_of(b)->inner->free(cb_of(b)->inner);
    free(b);
}
static int cb_schema_version(crm_backend *b, int *out)
{
    return cb_of(b)->inner->schema_version(cb_of(b)->inner, out);
}
static int cb_tx_begin(crm_backend *b)
{
    cb_of(b)->begins++;
    return cb_of(b)->inner->tx_begin(cb_of(b)->inner);
}
static int cb_tx_commit(crm_backend *b)
{
    cb_of(b)->commits++;
    return cb_of(b)->inner->tx_commit(cb_of(b)->inner);
}
static int cb_tx_rollback(crm_backend *b)
{
    cb_of(b)->rollbacks++;
    return cb_of(b)->inner->tx_rollback(cb_of(b)->inner);
}
static int cb_lead_insert(crm_backend *b, const crm_lead *l)
{
    cb_of(b)->writes++;
    return cb_of(b)->inner->lead_insert(cb_of(b)->inner, l);
}
static int cb_lead_update(crm_backend *b, const crm_lead *l)
{
    cb_of(b)->writes++;
    return cb_of(b)->inner->lead_update(cb_of(b)->inner, l);
}
static int cb_lead_get(crm_backend *b, const crm_scope *s, const char *id, crm_lead *out)
{
    note_scope(cb_of(b), s);
    return cb_of(b)->inner->lead_get(cb_of(b)->inner, s, id, out);
}
static int cb_lead_scan(crm_backend *b, const crm_scope *s, const crm_lead_filter *f, crm_backend_iter **out)
{
    note_scope(cb_of(b), s);
    return cb_of(b)->inner->lead_scan(cb_of(b)->inner, s, f, out);
}
static int cb_key_put(crm_backend *b, const char *kind, const char *key, const char *id)
{
    cb_of(b)->writes++;
    return cb_of(b)->inner->key_put(cb_of(b)->inner, kind, key, id);
}
static int cb_key_find(crm_backend *b, const char *kind, const char *key, crm_backend_id_cb cb, void *p)
{
    if (cb_of(b)->collide_with[0] && cb(cb_of(b)->collide_with, p))
        return 0;
    return cb_of(b)->inner->key_find(cb_of(b)->inner, kind, key, cb, p);
}
static int cb_event_append(crm_backend *b, const crm_event *e)
{
    if (cb_of(b)->fail_event_append)
        return crm_error_set(CRM_ESTORAGE, "storage: injected failure");
    cb_of(b)->writes++;
    return cb_of(b)->inner->event_append(cb_of(b)->inner, e);
}
static int cb_event_scan(crm_backend *b, const crm_scope *s, const char *id, crm_backend_iter **out)
{
    note_scope(cb_of(b), s);
    return cb_of(b)->inner->event_scan(cb_of(b)->inner, s, id, out);
}

static int cb_model_put(crm_backend *b, const crm_model_record *r)
{
    return cb_of(b)->inner->model_put(cb_of(b)->inner, r);
}
static int cb_model_get(crm_backend *b, const char *name, int version, crm_model_record *out)
{
    return cb_of(b)->inner->model_get(cb_of(b)->inner, name, version, out);
}

static int cb_stage_append(crm_backend *b, const crm_stage_record *r)
{
    return cb_of(b)->inner->stage_append(cb_of(b)->inner, r);
}
static int cb_stage_scan(crm_backend *b, const crm_scope *s, const char *id, crm_backend_iter **out)
{
    note_scope(cb_of(b), s);
    return cb_of(b)->inner->stage_scan(cb_of(b)->inner, s, id, out);
}

static int cb_stage_scan_entered(crm_backend *b, const crm_scope *s, crm_lead_status st, int64_t from, int64_t to,
                                 crm_backend_iter **out)
{
    note_scope(cb_of(b), s);
    return cb_of(b)->inner->stage_scan_entered(cb_of(b)->inner, s, st, from, to, out);
}

static int cb_review_insert(crm_backend *b, const crm_match_review *r)
{
    return cb_of(b)->inner->review_insert(cb_of(b)->inner, r);
}
static int cb_review_update(crm_backend *b, const crm_match_review *r)
{
    return cb_of(b)->inner->review_update(cb_of(b)->inner, r);
}
static int cb_review_get(crm_backend *b, const crm_scope *s, const char *id, crm_match_review *out)
{
    note_scope(cb_of(b), s);
    return cb_of(b)->inner->review_get(cb_of(b)->inner, s, id, out);
}
static int cb_review_list(crm_backend *b, const crm_scope *s, int status, int limit, crm_backend_review_cb cb,
                          void *p)
{
    note_scope(cb_of(b), s);
    return cb_of(b)->inner->review_list(cb_of(b)->inner, s, status, limit, cb, p);
}

static counting_backend *counting_new(void)
{
    counting_backend *c = calloc(1, sizeof *c);
    assert_non_null(c);
    assert_int_equal(crm_sqlite_backend_open(&c->inner, ":memory:", NULL), 0);
    /* A version-1 backend (leads and events): it still registers, and the
     * later parts answer CRM_ESTORAGE. */
    c->parent = (crm_backend){
        .version = 1,
        .name = "counting",
        .free = cb_free,
        .schema_version = cb_schema_version,
        .tx_begin = cb_tx_begin,
        .tx_commit = cb_tx_commit,
        .tx_rollback = cb_tx_rollback,
        .lead_insert = cb_lead_insert,
        .lead_update = cb_lead_update,
        .lead_get = cb_lead_get,
        .lead_scan = cb_lead_scan,
        .key_put = cb_key_put,
        .key_find = cb_key_find,
        .event_append = cb_event_append,
        .event_scan = cb_event_scan,
        .model_put = cb_model_put,
        .model_get = cb_model_get,
        .stage_append = cb_stage_append,
        .stage_scan = cb_stage_scan,
        .stage_scan_entered = cb_stage_scan_entered,
        .review_insert = cb_review_insert,
        .review_update = cb_review_update,
        .review_get = cb_review_get,
        .review_list = cb_review_list,
    };
    return c;
}

static void registration_checks_the_version(void **state)
{
    (void)state;
    counting_backend *c = counting_new();
    crm_db *db = (crm_db *)0x1;
    c->parent.version = 0;
    assert_int_equal(crm_db_open_backend(&db, &c->parent), CRM_EINVALID);
    assert_non_null(strstr(crm_error_last()->message, "backend.version: 0"));
    assert_null(db);
    c->parent.version = CRM_BACKEND_VERSION + 1;
    assert_int_equal(crm_db_open_backend(&db, &c->parent), CRM_EINVALID);
    /* Claiming a later version requires the members that version added. */
    c->parent.version = CRM_BACKEND_VERSION_WORKORDERS;
    assert_int_equal(crm_db_open_backend(&db, &c->parent), CRM_EINVALID);
    assert_non_null(strstr(crm_error_last()->message, "backend.workorder_insert"));
    c->parent.version = CRM_BACKEND_VERSION_CUSTOMERS;
    assert_int_equal(crm_db_open_backend(&db, &c->parent), CRM_EINVALID);
    assert_non_null(strstr(crm_error_last()->message, "backend.workorder_insert"));
    c->parent.version = 1;
    c->parent.event_scan = NULL;
    assert_int_equal(crm_db_open_backend(&db, &c->parent), CRM_EINVALID);
    assert_non_null(strstr(crm_error_last()->message, "backend.event_scan"));
    c->parent.event_scan = cb_event_scan;
    /* A version-1 backend lacks the review queue: it registers, and the
     * queue answers that it is missing. */
    c->parent.review_list = NULL;
    assert_int_equal(crm_db_open_backend(&db, &c->parent), 0);
    char *json = NULL;
    assert_int_equal(crm_review_list_json(&json, db, NULL, 10), CRM_ESTORAGE);
    assert_non_null(strstr(crm_error_last()->message, "no review queue (version 1 < 4)"));
    crm_db_close(db); /* frees the backend */
    c = counting_new();
    /* On failure the caller still owns the backend. */
    c->parent.free(&c->parent);
    assert_int_equal(crm_db_open_backend(&db, NULL), CRM_EINVALID);
}

static void an_older_backend_says_what_it_lacks(void **state)
{
    (void)state;
    counting_backend *c = counting_new();
    crm_db *db;
    assert_int_equal(crm_db_open_backend(&db, &c->parent), 0);
    crm_resolve_result r;
    int rc = crm_customer_resolve_json(&r, db, "{\"identities\":[{\"kind\":\"phone\",\"value\":\"13800000000\"}]}",
                                       NULL);
    assert_int_equal(rc, CRM_ESTORAGE);
    assert_non_null(strstr(crm_error_last()->message, "does not support customers"));
    crm_db_close(db);
}

static void every_read_carries_the_scope(void **state)
{
    (void)state;
    counting_backend *c = counting_new();
    crm_db *db;
    assert_int_equal(crm_db_open_backend(&db, &c->parent), 0);
    crm_ingest_result r;
    assert_int_equal(crm_lead_ingest(&r, db, "{\"channel\":\"website\",\"phone\":\"13800000001\",\"dealer_id\":\"D7\"}"), 0);
    crm_lead *l;
    assert_int_equal(crm_lead_get(&l, db, r.id), 0);
    crm_lead_free(l);
    assert_string_equal(c->last_scope, "*");
    assert_int_equal(crm_db_set_scope(db, "D7"), 0);
    int reads = c->reads;
    assert_int_equal(crm_lead_get(&l, db, r.id), 0);
    crm_lead_free(l);
    assert_string_equal(c->last_scope, "D7");
    strcpy(c->last_scope, "?");
    crm_iter *it;
    assert_int_equal(crm_lead_iter_new(&it, db, NULL), 0);
    crm_iter_free(it);
    assert_string_equal(c->last_scope, "D7");
    strcpy(c->last_scope, "?");
    assert_int_equal(crm_event_iter_new(&it, db, r.id), 0);
    crm_iter_free(it);
    assert_string_equal(c->last_scope, "D7");
    /* A duplicate check reads through the scope too. */
    strcpy(c->last_scope, "?");
    assert_int_equal(crm_lead_ingest(&r, db, "{\"channel\":\"website\",\"phone\":\"13800000001\"}"), 0);
    assert_int_equal(r.outcome, CRM_INGEST_DUPLICATE);
    assert_string_equal(c->last_scope, "D7");
    assert_int_equal(c->reads, reads + 4);
    crm_db_close(db);
}

static void each_ingest_is_one_transaction(void **state)
{
    (void)state;
    counting_backend *c = counting_new();
    crm_db *db;
    assert_int_equal(crm_db_open_backend(&db, &c->parent), 0);
    assert_int_equal(crm_lead_ingest(NULL, db, "{\"channel\":\"website\",\"phone\":\"13800000001\"}"), 0);
    assert_int_equal(c->begins, 1);
    assert_int_equal(c->commits, 1);
    assert_int_equal(c->writes, 3); /* lead, key, event */
    /* Bad input never reaches the storage. */
    assert_int_equal(crm_lead_ingest(NULL, db, "{\"channel\":1}"), CRM_EINVALID);
    assert_int_equal(c->begins, 1);
    crm_db_close(db);
}

static void a_failing_step_rolls_back_the_write(void **state)
{
    (void)state;
    counting_backend *c = counting_new();
    crm_db *db;
    assert_int_equal(crm_db_open_backend(&db, &c->parent), 0);
    c->fail_event_append = 1;
    crm_ingest_result r;
    assert_int_equal(crm_lead_ingest(&r, db, "{\"channel\":\"website\",\"phone\":\"13800000001\"}"), CRM_ESTORAGE);
    assert_string_equal(crm_error_last()->message, "storage: injected failure");
    assert_int_equal(c->rollbacks, 1);
    assert_int_equal(c->commits, 0);
    assert_string_equal(r.id, "");
    /* The lead and its key were written before the failure and are gone. */
    c->fail_event_append = 0;
    crm_iter *it;
    const crm_lead *l;
    assert_int_equal(crm_lead_iter_new(&it, db, NULL), 0);
    assert_int_equal(crm_lead_next(&l, it), CRM_ITEROVER);
    crm_iter_free(it);
    assert_int_equal(crm_lead_ingest(&r, db, "{\"channel\":\"website\",\"phone\":\"13800000001\"}"), 0);
    assert_int_equal(r.outcome, CRM_INGEST_CREATED); /* no stale key left to match */
    crm_db_close(db);
}

/* Inside a caller's transaction ingest opens no savepoint of its own: input
 * errors are found before any write and leave the transaction as it was,
 * while a storage failure after a write rolls back the caller's whole
 * transaction and refuses writes until the caller has rolled it back. */
static void a_failed_write_inside_a_transaction_rolls_it_back(void **state)
{
    (void)state;
    counting_backend *c = counting_new();
    crm_db *db;
    assert_int_equal(crm_db_open_backend(&db, &c->parent), 0);
    crm_ingest_result r;
    assert_int_equal(crm_db_begin(db), 0);
    assert_int_equal(crm_db_begin(db), 0);
    assert_int_equal(crm_lead_ingest(&r, db, "{\"channel\":\"website\",\"phone\":\"13800000001\"}"), 0);
    assert_int_equal(c->begins, 2); /* the two levels the caller opened, none per lead */
    /* Bad input: refused before any write, the transaction goes on. */
    assert_int_equal(crm_lead_ingest(&r, db, "{\"channel\":\"website\",\"phone\":1}"), CRM_EINVALID);
    assert_int_equal(c->rollbacks, 0);
    assert_int_equal(crm_db_transaction_depth(db), 2);

    c->fail_event_append = 1;
    assert_int_equal(crm_lead_ingest(&r, db, "{\"channel\":\"website\",\"phone\":\"13800000002\"}"), CRM_ESTORAGE);
    assert_string_equal(crm_error_last()->message, "storage: injected failure; the transaction was rolled back");
    assert_int_equal(c->rollbacks, 2); /* both levels */
    c->fail_event_append = 0;
    /* Nothing may now be written outside the transaction the caller believes open. */
    int writes = c->writes;
    assert_int_equal(crm_lead_ingest(&r, db, "{\"channel\":\"website\",\"phone\":\"13800000003\"}"), CRM_ECONFLICT);
    assert_non_null(strstr(crm_error_last()->message, "already rolled back after a failed write (storage: injected failure)"));
    assert_int_equal(crm_db_begin(db), CRM_ECONFLICT);
    assert_int_equal(crm_db_commit(db), CRM_ECONFLICT);
    assert_int_equal(c->writes, writes);
    assert_int_equal(crm_db_transaction_depth(db), 2);
    /* The caller's rollbacks count the levels down without reaching the backend again. */
    assert_int_equal(crm_db_rollback(db), 0);
    assert_int_equal(crm_lead_ingest(&r, db, "{\"channel\":\"website\",\"phone\":\"13800000003\"}"), CRM_ECONFLICT);
    assert_int_equal(crm_db_rollback(db), 0);
    assert_int_equal(c->rollbacks, 2);
    assert_int_equal(crm_db_transaction_depth(db), 0);
    /* The lead of the first ingest went with the transaction; the handle works again. */
    crm_iter *it;
    const crm_lead *l;
    assert_int_equal(crm_lead_iter_new(&it, db, NULL), 0);
    assert_int_equal(crm_lead_next(&l, it), CRM_ITEROVER);
    crm_iter_free(it);
    assert_int_equal(crm_lead_ingest(&r, db, "{\"channel\":\"website\",\"phone\":\"13800000001\"}"), 0);
    assert_int_equal(r.outcome, CRM_INGEST_CREATED);
    crm_db_close(db);
}

/* Keys may be stored hashed (the SQLite backend does), so key_find can
 * report a record of another key: ingest must check before it believes. */
static void a_key_collision_is_not_a_duplicate(void **state)
{
    (void)state;
    counting_backend *c = counting_new();
    crm_db *db;
    assert_int_equal(crm_db_open_backend(&db, &c->parent), 0);
    crm_ingest_result first, r;
    assert_int_equal(crm_lead_ingest(&first, db, "{\"channel\":\"website\",\"phone\":\"13800000001\"}"), 0);
    strcpy(c->collide_with, first.id);
    assert_int_equal(crm_lead_ingest(&r, db, "{\"channel\":\"website\",\"phone\":\"13900000002\"}"), 0);
    assert_int_equal(r.outcome, CRM_INGEST_CREATED);
    assert_string_equal(r.duplicate_of, "");
    /* The same phone still is a duplicate, collision or not. */
    assert_int_equal(crm_lead_ingest(&r, db, "{\"channel\":\"douyin\",\"phone\":\"13800000001\"}"), 0);
    assert_int_equal(r.outcome, CRM_INGEST_DUPLICATE);
    assert_string_equal(r.duplicate_of, first.id);
    crm_db_close(db);
}

static void a_version_1_backend_has_no_work_orders(void **state)
{
    (void)state;
    counting_backend *c = counting_new();
    crm_db *db;
    assert_int_equal(crm_db_open_backend(&db, &c->parent), 0);
    char id[CRM_ID_LEN + 1];
    assert_int_equal(crm_workorder_create(id, db, "{\"type\":\"repair\",\"subject\":\"x\"}"), CRM_ESTORAGE);
    assert_non_null(strstr(crm_error_last()->message, "does not support work orders"));
    crm_iter *it;
    assert_int_equal(crm_workorder_iter_new(&it, db, NULL), CRM_ESTORAGE);
    crm_db_close(db);
}

static void a_version_1_backend_has_no_lead_merges(void **state)
{
    (void)state;
    counting_backend *c = counting_new();
    crm_db *db;
    assert_int_equal(crm_db_open_backend(&db, &c->parent), 0);
    crm_ingest_result a, b;
    assert_int_equal(crm_lead_ingest(&a, db, "{\"channel\":\"website\",\"phone\":\"13800000001\"}"), 0);
    assert_int_equal(crm_lead_ingest(&b, db, "{\"channel\":\"website\",\"phone\":\"13800000002\"}"), 0);
    int begins = c->begins;
    assert_int_equal(crm_lead_merge(NULL, db, a.id, b.id, NULL), CRM_ESTORAGE);
    assert_non_null(strstr(crm_error_last()->message, "does not support lead merges (version 1 < 6)"));
    assert_int_equal(c->begins, begins); /* refused before any storage work */
    char *json = NULL;
    assert_int_equal(crm_lead_merge_list_json(&json, db, NULL, 10), CRM_ESTORAGE);
    assert_null(json);
    crm_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registration_checks_the_version),
        cmocka_unit_test(an_older_backend_says_what_it_lacks),
        cmocka_unit_test(every_read_carries_the_scope),
        cmocka_unit_test(each_ingest_is_one_transaction),
        cmocka_unit_test(a_failing_step_rolls_back_the_write),
        cmocka_unit_test(a_failed_write_inside_a_transaction_rolls_it_back),
        cmocka_unit_test(a_version_1_backend_has_no_work_orders),
        cmocka_unit_test(a_key_collision_is_not_a_duplicate),
        cmocka_unit_test(a_version_1_backend_has_no_lead_merges),
    };
    return cmocka_run_group_tests_name("backend_contract", tests, NULL, NULL);
}
