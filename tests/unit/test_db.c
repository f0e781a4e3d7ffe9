/* The database handle: open, refuse what it must not touch, transactions,
 * scope, actor and clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/migration.h"
#include "helpers.h"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* The number of embedded migrations (lib/backends/sqlite): a new database
 * is at the newest schema. */
extern const int crm_sqlite_migrations_count;
extern const crm_migration crm_sqlite_migrations[];

static void open_memory_and_close(void **state)
{
    (void)state;
    crm_db *db = NULL;
    assert_int_equal(crm_db_open(&db, ":memory:", NULL), 0);
    int version = 0;
    assert_int_equal(crm_db_schema_version(&version, db), 0);
    assert_int_equal(version, crm_sqlite_migrations_count);
    assert_true(version >= 5); /* leads, work orders, customers, matching, scoring */
    crm_db_close(db);
    crm_db_close(NULL); /* a no-op */
}

static void open_file_persists(void **state)
{
    (void)state;
    const char *path = test_db_path("persist.db");
    crm_db *db;
    assert_int_equal(crm_db_open(&db, path, NULL), 0);
    crm_ingest_result r;
    assert_int_equal(crm_lead_ingest(&r, db, "{\"channel\":\"website\",\"phone\":\"13800000001\"}"), 0);
    crm_db_close(db);
    /* "sqlite:" names the same backend explicitly. */
    char uri[600];
    snprintf(uri, sizeof uri, "sqlite:%s", path);
    assert_int_equal(crm_db_open(&db, uri, NULL), 0);
    crm_lead *lead;
    assert_int_equal(crm_lead_get(&lead, db, r.id), 0);
    assert_string_equal(lead->phone, "13800000001");
    crm_lead_free(lead);
    crm_db_close(db);
}

static void open_rejects_bad_arguments(void **state)
{
    (void)state;
    crm_db *db = (crm_db *)0x1;
    assert_crm_error(crm_db_open(&db, NULL, NULL), CRM_EINVALID, "uri");
    assert_null(db);
    assert_crm_error(crm_db_open(NULL, ":memory:", NULL), CRM_EINVALID, "out");
    assert_crm_error(crm_db_open(&db, "", NULL), CRM_EINVALID, "uri");
    assert_crm_error(crm_db_open(&db, "mongodb://x", NULL), CRM_EINVALID, "unknown storage scheme 'mongodb'");
    crm_db_options opts = CRM_DB_OPTIONS_INIT;
    opts.version = 99;
    assert_crm_error(crm_db_open(&db, ":memory:", &opts), CRM_EINVALID, "options.version");
    opts.version = CRM_DB_OPTIONS_VERSION;
    opts.busy_timeout_ms = -1;
    assert_crm_error(crm_db_open(&db, ":memory:", &opts), CRM_EINVALID, "options.busy_timeout_ms");
}

static void open_without_create_reports_missing(void **state)
{
    (void)state;
    const char *path = test_db_path("missing.db");
    unlink(path);
    crm_db_options opts = CRM_DB_OPTIONS_INIT;
    opts.create = 0;
    crm_db *db;
    assert_crm_error(crm_db_open(&db, path, &opts), CRM_ENOTFOUND, "missing.db");
    assert_int_equal(access(path, F_OK), -1);
}

/* A database written by a newer library is refused, byte for byte untouched. */
static void newer_schema_is_refused_untouched(void **state)
{
    (void)state;
    const char *path = test_db_path("newer.db");
    crm_db *db;
    assert_int_equal(crm_db_open(&db, path, NULL), 0);
    crm_db_close(db);
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);

    size_t before_len, after_len;
    char *before = read_file(path, &before_len);
    assert_crm_error(crm_db_open(&db, path, NULL), CRM_ESTORAGE, "schema version 999 is newer");
    assert_null(db);
    char *after = read_file(path, &after_len);
    assert_int_equal(before_len, after_len);
    assert_memory_equal(before, after, before_len);
    free(before);
    free(after);
}

/* Schema 6 stores match keys hashed: a database written at schema 5, with
 * keys as text, is converted on open and its keys still find their leads. */
static void schema_5_keys_survive_the_upgrade(void **state)
{
    (void)state;
    const char *path = test_db_path("schema5.db");
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(sqlite3_exec(raw, crm_sqlite_migrations[i].sql, NULL, NULL, NULL), SQLITE_OK);
    const char *old_id = "0190a000-0000-7000-8000-000000000001";
    char sql[1024];
    snprintf(sql, sizeof sql,
             "PRAGMA user_version = 5; PRAGMA application_id = %d;"
             "INSERT INTO lead (id, channel, phone, created_at, updated_at)"
             " VALUES ('%s', 'website', '13800000001', 1, 1);"
             "INSERT INTO match_key (kind, key, entity_id) VALUES ('lead.phone', '13800000001', '%s');"
             "INSERT INTO match_key (kind, key, entity_id) VALUES ('lead.phone', '13800000001', '%s');",
             0x43524D31, old_id, old_id, "not-a-uuid");
    assert_int_equal(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);

    crm_db *db;
    assert_int_equal(crm_db_open(&db, path, NULL), 0);
    int version = 0;
    assert_int_equal(crm_db_schema_version(&version, db), 0);
    assert_int_equal(version, crm_sqlite_migrations_count);
    crm_ingest_result r;
    assert_int_equal(crm_lead_ingest(&r, db, "{\"channel\":\"douyin\",\"phone\":\"+86 138 0000 0001\"}"), 0);
    assert_int_equal(r.outcome, CRM_INGEST_DUPLICATE);
    assert_string_equal(r.duplicate_of, old_id);
    crm_db_close(db);

    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(raw, "SELECT typeof(entity), length(entity) FROM match_key ORDER BY 1", -1,
                                        &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "blob"); /* the UUID, as 16 bytes */
    assert_int_equal(sqlite3_column_int(st, 1), 16);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "text"); /* any other id, as it was */
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(raw);
}

static void foreign_database_is_refused(void **state)
{
    (void)state;
    const char *path = test_db_path("foreign.db");
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "CREATE TABLE orders (id INTEGER)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    char *before = test_db_digest(path);
    crm_db *db;
    assert_crm_error(crm_db_open(&db, path, NULL), CRM_ESTORAGE, "not a crmcore database");
    char *after = test_db_digest(path);
    assert_string_equal(before, after);
    free(before);
    free(after);

    /* A file that is not a database at all. */
    const char *junk = test_db_path("junk.db");
    FILE *f = fopen(junk, "wb");
    assert_non_null(f);
    for (int i = 0; i < 4096; i++)
        fputc('J', f);
    fclose(f);
    assert_crm_error(crm_db_open(&db, junk, NULL), CRM_ESTORAGE, "junk.db");
}

static void transactions_nest_and_roll_back(void **state)
{
    (void)state;
    crm_db *db;
    assert_int_equal(crm_db_open(&db, ":memory:", NULL), 0);
    assert_crm_error(crm_db_commit(db), CRM_ECONFLICT, "commit without begin");
    assert_crm_error(crm_db_rollback(db), CRM_ECONFLICT, "rollback without begin");

    crm_ingest_result r;
    assert_int_equal(crm_db_begin(db), 0);
    assert_int_equal(crm_lead_ingest(&r, db, "{\"channel\":\"website\",\"phone\":\"13800000001\"}"), 0);
    assert_int_equal(crm_db_begin(db), 0);
    assert_int_equal(crm_db_transaction_depth(db), 2);
    assert_int_equal(crm_lead_ingest(&r, db, "{\"channel\":\"website\",\"phone\":\"13800000002\"}"), 0);
    assert_int_equal(crm_db_rollback(db), 0); /* undoes only the inner one */
    assert_int_equal(test_count_leads(db), 1);
    /* A failing ingest inside the transaction leaves the outer one usable. */
    assert_crm_error(crm_lead_ingest(&r, db, "{\"channel\":\"website\",\"phone\":true}"), CRM_EINVALID,
                     "lead.phone");
    assert_int_equal(crm_lead_ingest(&r, db, "{\"channel\":\"website\",\"phone\":\"13800000003\"}"), 0);
    assert_int_equal(crm_db_commit(db), 0);
    assert_int_equal(crm_db_transaction_depth(db), 0);
    assert_int_equal(test_count_leads(db), 2);

    /* Rollback of the outer transaction undoes everything in it. */
    assert_int_equal(crm_db_begin(db), 0);
    assert_int_equal(crm_lead_ingest(&r, db, "{\"channel\":\"website\",\"phone\":\"13800000004\"}"), 0);
    assert_int_equal(crm_db_rollback(db), 0);
    assert_int_equal(test_count_leads(db), 2);
    crm_db_close(db);
}

static void close_rolls_back_open_transaction(void **state)
{
    (void)state;
    const char *path = test_db_path("close-rollback.db");
    crm_db *db;
    assert_int_equal(crm_db_open(&db, path, NULL), 0);
    crm_ingest_result r;
    assert_int_equal(crm_db_begin(db), 0);
    assert_int_equal(crm_lead_ingest(&r, db, "{\"channel\":\"website\",\"phone\":\"13800000001\"}"), 0);
    crm_db_close(db);
    assert_int_equal(crm_db_open(&db, path, NULL), 0);
    assert_int_equal(test_count_leads(db), 0);
    crm_db_close(db);
}

static void second_writer_gets_busy(void **state)
{
    (void)state;
    const char *path = test_db_path("busy.db");
    crm_db_options opts = CRM_DB_OPTIONS_INIT;
    opts.busy_timeout_ms = 10;
    crm_db *a, *b;
    assert_int_equal(crm_db_open(&a, path, &opts), 0);
    assert_int_equal(crm_db_open(&b, path, &opts), 0);
    assert_int_equal(crm_db_begin(a), 0);
    crm_ingest_result r;
    assert_crm_error(crm_lead_ingest(&r, b, "{\"channel\":\"website\",\"phone\":\"13800000001\"}"), CRM_EBUSY,
                     "locked");
    assert_int_equal(crm_db_commit(a), 0);
    assert_int_equal(crm_lead_ingest(&r, b, "{\"channel\":\"website\",\"phone\":\"13800000001\"}"), 0);
    crm_db_close(a);
    crm_db_close(b);
}

static void scope_and_actor_are_validated(void **state)
{
    (void)state;
    crm_db *db;
    assert_int_equal(crm_db_open(&db, ":memory:", NULL), 0);
    assert_null(crm_db_scope(db));
    assert_crm_error(crm_db_set_scope(db, ""), CRM_EINVALID, "scope.dealer_id");
    assert_crm_error(crm_db_set_scope(db, "D\n1"), CRM_EINVALID, "scope.dealer_id: control character");
    assert_int_equal(crm_db_set_scope(db, "D001"), 0);
    assert_string_equal(crm_db_scope(db), "D001");
    assert_int_equal(crm_db_set_scope(db, NULL), 0);
    assert_null(crm_db_scope(db));
    assert_crm_error(crm_db_set_actor(db, NULL), CRM_EINVALID, "actor");
    assert_crm_error(crm_db_set_actor(db, "\xff"), CRM_EINVALID, "actor: invalid UTF-8");
    assert_string_equal(crm_db_actor(db), "system");
    assert_int_equal(crm_db_set_actor(db, "顾问-李"), 0);
    assert_string_equal(crm_db_actor(db), "顾问-李");

    crm_ingest_result r;
    assert_int_equal(crm_lead_ingest(&r, db, "{\"channel\":\"website\",\"phone\":\"13800000001\"}"), 0);
    crm_iter *it;
    const crm_event *e;
    assert_int_equal(crm_event_iter_new(&it, db, r.id), 0);
    assert_int_equal(crm_event_next(&e, it), 0);
    assert_string_equal(e->actor, "顾问-李");
    crm_iter_free(it);
    crm_db_close(db);
}

static void clock_can_be_fixed(void **state)
{
    (void)state;
    crm_db *db;
    assert_int_equal(crm_db_open(&db, ":memory:", NULL), 0);
    crm_db_set_time(db, 1767225600000LL);
    assert_int_equal(crm_db_now(db), 1767225600000LL);
    crm_ingest_result r;
    assert_int_equal(crm_lead_ingest(&r, db, "{\"channel\":\"website\",\"phone\":\"13800000001\"}"), 0);
    crm_lead *lead;
    assert_int_equal(crm_lead_get(&lead, db, r.id), 0);
    assert_int_equal(lead->created_at, 1767225600000LL);
    assert_int_equal(lead->updated_at, 1767225600000LL);
    assert_memory_equal(lead->id, "019b76da-a800", 13); /* the id carries the same millisecond */
    crm_lead_free(lead);
    crm_db_set_time(db, 0);
    assert_true(crm_db_now(db) > 1767225600000LL);
    crm_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(open_memory_and_close),
        cmocka_unit_test(open_file_persists),
        cmocka_unit_test(open_rejects_bad_arguments),
        cmocka_unit_test(open_without_create_reports_missing),
        cmocka_unit_test(newer_schema_is_refused_untouched),
        cmocka_unit_test(foreign_database_is_refused),
        cmocka_unit_test(transactions_nest_and_roll_back),
        cmocka_unit_test(close_rolls_back_open_transaction),
        cmocka_unit_test(second_writer_gets_busy),
        cmocka_unit_test(scope_and_actor_are_validated),
        cmocka_unit_test(clock_can_be_fixed),
        cmocka_unit_test(schema_5_keys_survive_the_upgrade),
    };
    return cmocka_run_group_tests_name("db", tests, NULL, NULL);
}
