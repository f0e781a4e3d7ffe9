#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

const char *test_db_path(const char *name)
{
    static char dir[256];
    static char path[512];
    if (!dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/crmtest-XXXXXX", tmp ? tmp : "/tmp");
        if (!mkdtemp(dir))
            abort();
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static int digest_row(void *payload, int ncol, char **values, char **names)
{
    FILE *f = payload;
    for (int i = 0; i < ncol; i++)
        fprintf(f, "%s=%s|", names[i], values[i] ? values[i] : "NULL");
    fputc('\n', f);
    return 0;
}

char *test_db_digest(const char *path)
{
    return test_db_digest_except(path, NULL);
}

static bool skipped(const char *table, const char *const *skip)
{
    for (size_t i = 0; skip && skip[i]; i++)
        if (strcmp(skip[i], table) == 0)
            return true;
    return false;
}

char *test_db_digest_except(const char *path, const char *const *skip)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema WHERE type='table' ORDER BY name", -1,
                                        &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (skipped((const char *)sqlite3_column_text(st, 0), skip))
            continue;
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT * FROM \"%s\" ORDER BY 1", (const char *)sqlite3_column_text(st, 0));
        fprintf(f, "[%s]\n", (const char *)sqlite3_column_text(st, 0));
        assert_int_equal(sqlite3_exec(db, sql, digest_row, f, NULL), SQLITE_OK);
    }
    sqlite3_finalize(st);
    int version = 0;
    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
    if (sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    fprintf(f, "user_version=%d\n", version);
    fclose(f);
    sqlite3_close(db);
    return text;
}

int test_setup_memory_db(void **state, int64_t now)
{
    crm_db *db;
    if (crm_db_open(&db, ":memory:", NULL) != 0)
        return -1;
    crm_db_set_time(db, now);
    *state = db;
    return 0;
}

int test_teardown_db(void **state)
{
    crm_db_close(*state);
    return 0;
}

size_t test_count_leads(crm_db *db)
{
    crm_iter *it;
    assert_int_equal(crm_lead_iter_new(&it, db, NULL), 0);
    const crm_lead *lead;
    size_t n = 0;
    int rc;
    while ((rc = crm_lead_next(&lead, it)) == 0)
        n++;
    assert_int_equal(rc, CRM_ITEROVER);
    crm_iter_free(it);
    return n;
}

size_t test_count_events(crm_db *db, const char *entity_id)
{
    crm_iter *it;
    assert_int_equal(crm_event_iter_new(&it, db, entity_id), 0);
    const crm_event *event;
    size_t n = 0;
    int rc;
    while ((rc = crm_event_next(&event, it)) == 0)
        n++;
    assert_int_equal(rc, CRM_ITEROVER);
    crm_iter_free(it);
    return n;
}

void test_assert_error(int rc, int code, const char *needle, const char *file, int line)
{
    const crm_error *e = crm_error_last();
    if (rc != code || e->code != code || (needle && !strstr(e->message, needle))) {
        print_error("%s:%d: expected error %d containing \"%s\", got rc %d, last error %d \"%s\"\n", file, line,
                    code, needle ? needle : "", rc, e->code, e->message);
        _fail(file, line);
    }
}
