/*
 * The embedded SQLite backend.
 *
 * Point operations use statements prepared once and cached on the handle;
 * scans prepare their own statement so that several iterators can stream
 * at once. Rows handed to the core are copied into a buffer owned by the
 * backend, so no statement is left open between calls.
 */
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "backends/migration.h"
#include "util/util.h"

extern const crm_migration crm_sqlite_migrations[];
extern const int crm_sqlite_migrations_count;

/* The schema version after every migration ran: the last one's number
 * (the build checks that the numbers run 1, 2, 3, ... without gaps). */
static int latest_schema(void)
{
    return crm_sqlite_migrations[crm_sqlite_migrations_count - 1].number;
}

/* "CRM1": marks a SQLite file as ours, so another application's database is
 * refused instead of being migrated. */
#define CRM_SQLITE_APPLICATION_ID 0x43524D31

enum stmt_id {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_SAVEPOINT,
    ST_RELEASE,
    ST_ROLLBACK_TO,
    ST_LEAD_INSERT,
    ST_LEAD_UPDATE,
    ST_LEAD_GET,
    ST_LEAD_GET_SCOPED,
    ST_KEY_PUT,
    ST_KEY_FIND,
    ST_EVENT_APPEND,
    ST_MODEL_PUT,
    ST_MODEL_GET,
    ST_MODEL_GET_NEWEST,
    ST_STAGE_APPEND,
    ST_CUSTOMER_INSERT,
    ST_CUSTOMER_UPDATE,
    ST_CUSTOMER_GET,
    ST_CUSTOMER_GET_SCOPED,
    ST_CUSTOMER_GET_NUM,
    ST_CUSTOMER_GET_NUM_SCOPED,
    ST_IDENTITY_INSERT,
    ST_IDENTITY_FIND,
    ST_IDENTITY_MOVE,
    ST_IDENTITY_MOVE_ORIGIN,
    ST_LEAD_BY_CUSTOMER,
    ST_LEAD_BY_CUSTOMER_SCOPED,
    ST_MEMBER_INSERT,
    ST_MEMBER_UPDATE,
    ST_MEMBER_GET,
    ST_MEMBER_GET_SCOPED,
    ST_POINTS_INSERT,
    ST_POINTS_UPDATE,
    ST_POINTS_GET,
    ST_POINTS_FIND_KEY,
    ST_POINTS_USE_INSERT,
    ST_TAG_GET,
    ST_TAG_PUT,
    ST_TAG_ASSIGNMENT_PUT,
    ST_TAG_ASSIGNMENT_DELETE,
    ST_VEHICLE_PUT,
    ST_VEHICLE_GET,
    ST_VEHICLE_PERSON_PUT,
    ST_WO_INSERT,
    ST_WO_UPDATE,
    ST_WO_GET,
    ST_WO_GET_SCOPED,
    ST_WO_COMMENT_INSERT,
    ST_REVIEW_INSERT,
    ST_REVIEW_UPDATE,
    ST_REVIEW_GET,
    ST_REVIEW_GET_SCOPED,
    ST_KEY_SCAN,
    ST_KEY_DELETE,
    ST_MERGE_INSERT,
    ST_MERGE_UPDATE,
    ST_MERGE_GET,
    ST_MERGE_GET_SCOPED,
    ST_COUNT
};

#define LEAD_COLUMNS                                                                          \
    "id, channel, campaign, name, phone, email, wechat_openid, wechat_unionid, province, city, " \
    "dealer_id, owner_id, model, purchase_timeline, test_drive, status, score, grade, "         \
    "customer_id, attributes, created_at, updated_at, merged_into, quality"

#define STAGE_COLUMNS "lead_id, seq, status, entered_at, dealer_id, owner_id, actor, reason"
#define MODEL_COLUMNS "id, name, version, kind, trained_at, saved_at, auc, features, body"

#define WO_COLUMNS                                                                              \
    "id, type, category, priority, channel, customer_id, lead_id, vin, dealer_id, queue, "      \
    "assignee, subject, description, attributes, status, created_at, updated_at, "              \
    "first_response_at, resolved_at, closed_at, paused_since, pauses, sla_flags, escalation_level"

#define REVIEW_COLUMNS                                                                        \
    "id, lead_id, candidate_id, dealer_id, probability, evidence, status, created_at, decided_at, decided_by, " \
    "merge_id"

#define MERGE_COLUMNS                                                                         \
    "id, survivor_id, other_id, dealer_id, rules, before, after, created_at, actor, undone_at, undone_by"

#define CUSTOMER_COLUMNS "id, name, dealer_id, merged_into, created_at, updated_at, num"
#define IDENTITY_COLUMNS "kind, app_id, value, customer_id, origin_id, created_at"
#define MEMBER_COLUMNS "m.customer_id, m.member_no, m.tier, m.tier_since, m.enrolled_at, m.balance, m.updated_at"
#define POINTS_COLUMNS                                                                         \
    "id, customer_id, kind, points, remaining, expires_at, idempotency_key, reverses, reversed_by, " \
    "reason, created_at"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SAVEPOINT] = "SAVEPOINT crm",
    [ST_RELEASE] = "RELEASE crm",
    [ST_ROLLBACK_TO] = "ROLLBACK TO crm",
    [ST_LEAD_INSERT] = ("INSERT INTO lead (" LEAD_COLUMNS ") VALUES "
                        "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24)"),
    [ST_LEAD_UPDATE] = ("UPDATE lead SET channel=?2, campaign=?3, name=?4, phone=?5, email=?6, "
                       "wechat_openid=?7, wechat_unionid=?8, province=?9, city=?10, dealer_id=?11, "
                       "owner_id=?12, model=?13, purchase_timeline=?14, test_drive=?15, status=?16, "
                       "score=?17, grade=?18, customer_id=?19, attributes=?20, created_at=?21, "
                       "updated_at=?22, merged_into=?23, quality=?24 WHERE id=?1"),
    [ST_LEAD_GET] = "SELECT " LEAD_COLUMNS " FROM lead WHERE id=?1",
    [ST_LEAD_GET_SCOPED] = "SELECT " LEAD_COLUMNS " FROM lead WHERE id=?1 AND dealer_id=?2",
    [ST_KEY_PUT] = "INSERT OR IGNORE INTO match_key (h, entity) VALUES (?1, ?2)",
    [ST_KEY_FIND] = "SELECT entity FROM match_key WHERE h=?1 ORDER BY entity",
    [ST_EVENT_APPEND] = ("INSERT INTO event (id, at, kind, entity_type, entity_id, dealer_id, actor, data) "
                         "VALUES (?1,?2,?3,?4,?5,?6,?7,?8)"),
    [ST_MODEL_PUT] = ("INSERT INTO score_model (id, name, version, kind, trained_at, saved_at, auc, features, body) "
                      "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)"),
    [ST_MODEL_GET] = ("SELECT " MODEL_COLUMNS " FROM score_model WHERE name=?1 AND version=?2"),
    [ST_MODEL_GET_NEWEST] = ("SELECT " MODEL_COLUMNS " FROM score_model WHERE name=?1 "
                             "ORDER BY version DESC LIMIT 1"),
    [ST_STAGE_APPEND] = ("INSERT INTO lead_stage (lead_id, seq, status, entered_at, dealer_id, owner_id, actor, "
                         "reason) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)"),
    [ST_WO_INSERT] = ("INSERT INTO workorder (" WO_COLUMNS ") VALUES "
                      "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24)"),
    [ST_WO_UPDATE] = ("UPDATE workorder SET type=?2, category=?3, priority=?4, channel=?5, customer_id=?6, "
                      "lead_id=?7, vin=?8, dealer_id=?9, queue=?10, assignee=?11, subject=?12, "
                      "description=?13, attributes=?14, status=?15, created_at=?16, updated_at=?17, "
                      "first_response_at=?18, resolved_at=?19, closed_at=?20, paused_since=?21, "
                      "pauses=?22, sla_flags=?23, escalation_level=?24 WHERE id=?1"),
    [ST_WO_GET] = "SELECT " WO_COLUMNS " FROM workorder WHERE id=?1",
    [ST_WO_GET_SCOPED] = "SELECT " WO_COLUMNS " FROM workorder WHERE id=?1 AND dealer_id=?2",
    [ST_WO_COMMENT_INSERT] = ("INSERT INTO wo_comment (id, workorder_id, dealer_id, at, author, visibility, body) "
                              "VALUES (?1,?2,?3,?4,?5,?6,?7)"),
    [ST_REVIEW_INSERT] = ("INSERT INTO match_review (" REVIEW_COLUMNS ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)"),
    [ST_REVIEW_UPDATE] = "UPDATE match_review SET status=?2, decided_at=?3, decided_by=?4, merge_id=?5 WHERE id=?1",
    [ST_REVIEW_GET] = "SELECT " REVIEW_COLUMNS " FROM match_review WHERE id=?1",
    [ST_REVIEW_GET_SCOPED] = "SELECT " REVIEW_COLUMNS " FROM match_review WHERE id=?1 AND dealer_id=?2",
    [ST_KEY_SCAN] = "SELECT h FROM match_key WHERE entity=?1 ORDER BY h",
    [ST_KEY_DELETE] = "DELETE FROM match_key WHERE h=?1 AND entity=?2",
    [ST_MERGE_INSERT] = "INSERT INTO lead_merge (" MERGE_COLUMNS ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
    [ST_MERGE_UPDATE] = "UPDATE lead_merge SET undone_at=?2, undone_by=?3 WHERE id=?1",
    [ST_MERGE_GET] = "SELECT " MERGE_COLUMNS " FROM lead_merge WHERE id=?1",
    [ST_MERGE_GET_SCOPED] = "SELECT " MERGE_COLUMNS " FROM lead_merge WHERE id=?1 AND dealer_id=?2",
    [ST_CUSTOMER_INSERT] = ("INSERT INTO customer (id, name, dealer_id, merged_into, created_at, updated_at) "
                            "VALUES (?1,?2,?3,?4,?5,?6)"),
    [ST_CUSTOMER_UPDATE] = ("UPDATE customer SET name=?2, dealer_id=?3, merged_into=?4, created_at=?5, "
                            "updated_at=?6 WHERE id=?1"),
    [ST_CUSTOMER_GET] = "SELECT " CUSTOMER_COLUMNS " FROM customer WHERE id=?1",
    [ST_CUSTOMER_GET_SCOPED] = "SELECT " CUSTOMER_COLUMNS " FROM customer WHERE id=?1 AND dealer_id=?2",
    [ST_CUSTOMER_GET_NUM] = "SELECT " CUSTOMER_COLUMNS " FROM customer WHERE num=?1",
    [ST_CUSTOMER_GET_NUM_SCOPED] = "SELECT " CUSTOMER_COLUMNS " FROM customer WHERE num=?1 AND dealer_id=?2",
    [ST_IDENTITY_INSERT] = ("INSERT INTO customer_identity (kind, app_id, value, customer_id, origin_id, "
                            "created_at) VALUES (?1,?2,?3,?4,?5,?6)"),
    [ST_IDENTITY_FIND] = ("SELECT " IDENTITY_COLUMNS " FROM customer_identity "
                          "WHERE kind=?1 AND app_id=?2 AND value=?3"),
    [ST_IDENTITY_MOVE] = "UPDATE customer_identity SET customer_id=?2 WHERE customer_id=?1",
    [ST_IDENTITY_MOVE_ORIGIN] = "UPDATE customer_identity SET customer_id=?2 WHERE customer_id=?1 AND origin_id=?3",
    [ST_LEAD_BY_CUSTOMER] = "SELECT id FROM lead WHERE customer_id=?1 ORDER BY created_at, id",
    [ST_LEAD_BY_CUSTOMER_SCOPED] = ("SELECT id FROM lead WHERE customer_id=?1 AND dealer_id=?2 "
                                    "ORDER BY created_at, id"),
    [ST_MEMBER_INSERT] = ("INSERT INTO member (customer_id, member_no, tier, tier_since, enrolled_at, balance, "
                          "updated_at) VALUES (?1,?2,?3,?4,?5,?6,?7)"),
    [ST_MEMBER_UPDATE] = ("UPDATE member SET member_no=?2, tier=?3, tier_since=?4, enrolled_at=?5, balance=?6, "
                          "updated_at=?7 WHERE customer_id=?1"),
    [ST_MEMBER_GET] = "SELECT " MEMBER_COLUMNS " FROM member m WHERE m.customer_id=?1",
    [ST_MEMBER_GET_SCOPED] = ("SELECT " MEMBER_COLUMNS " FROM member m JOIN customer c ON c.id = m.customer_id "
                              "WHERE m.customer_id=?1 AND c.dealer_id=?2"),
    [ST_POINTS_INSERT] = ("INSERT INTO points_txn (" POINTS_COLUMNS ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)"),
    [ST_POINTS_UPDATE] = "UPDATE points_txn SET remaining=?2, reversed_by=?3 WHERE id=?1",
    [ST_POINTS_GET] = "SELECT " POINTS_COLUMNS " FROM points_txn WHERE id=?1",
    [ST_POINTS_FIND_KEY] = "SELECT " POINTS_COLUMNS " FROM points_txn WHERE idempotency_key=?1",
    [ST_POINTS_USE_INSERT] = "INSERT INTO points_use (txn_id, batch_id, points) VALUES (?1,?2,?3)",
    [ST_TAG_GET] = "SELECT name, kind, rule, updated_at, bitmap FROM tag WHERE name=?1",
    [ST_TAG_PUT] = "INSERT OR REPLACE INTO tag (name, kind, rule, updated_at, bitmap) VALUES (?1,?2,?3,?4,?5)",
    [ST_TAG_ASSIGNMENT_PUT] = ("INSERT OR REPLACE INTO tag_assignment (customer_id, tag, source, assigned_at) "
                               "VALUES (?1,?2,?3,?4)"),
    [ST_TAG_ASSIGNMENT_DELETE] = "DELETE FROM tag_assignment WHERE customer_id=?1 AND tag=?2",
    [ST_VEHICLE_PUT] = ("INSERT OR REPLACE INTO vehicle (vin, model, year, purchased_at, serviced_at, created_at, "
                        "updated_at) VALUES (?1,?2,?3,?4,?5,?6,?7)"),
    [ST_VEHICLE_GET] = ("SELECT vin, model, year, purchased_at, serviced_at, created_at, updated_at FROM vehicle "
                        "WHERE vin=?1"),
    [ST_VEHICLE_PERSON_PUT] = ("INSERT OR REPLACE INTO vehicle_person (vin, customer_id, role, since, until) "
                               "VALUES (?1,?2,?3,?4,?5)"),
};

typedef struct sqlite_backend {
    crm_backend parent; /* first, so a crm_backend * is a sqlite_backend * */
    sqlite3 *db;
    sqlite3_stmt *stmt[ST_COUNT];
    int tx_depth;
    /* The row last handed out by lead_get: strings copied here. */
    char *row;
    size_t row_cap;
} sqlite_backend;

static sqlite_backend *self_of(crm_backend *b)
{
    return (sqlite_backend *)b;
}

/* Map a SQLite failure to a crmcore error with SQLite's own words. */
static int fail(sqlite_backend *s, int rc, const char *what)
{
    const char *msg = s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return crm_error_set(CRM_EBUSY, "storage: %s: database is locked (%s)", what, msg);
    case SQLITE_NOMEM:
        return crm__error_nomem();
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
            return crm_error_set(CRM_EEXISTS, "storage: %s: already exists", what);
        return crm_error_set(CRM_ESTORAGE, "storage: %s: %s", what, msg);
    default:
        return crm_error_set(CRM_ESTORAGE, "storage: %s: %s", what, msg);
    }
}

static int stmt_get(sqlite_backend *s, enum stmt_id id, sqlite3_stmt **out)
{
    if (!s->stmt[id]) {
        int rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[id], NULL);
        if (rc != SQLITE_OK)
            return fail(s, rc, "prepare");
    }
    *out = s->stmt[id];
    return 0;
}

/* The statement that reads one record by its key (?1), within the scope:
 * the scoped variant binds the dealer as ?2. */
static int stmt_get_keyed(sqlite_backend *s, const crm_scope *scope, enum stmt_id plain, enum stmt_id scoped,
                          const char *key, sqlite3_stmt **out)
{
    bool in_scope = scope && scope->dealer_id;
    int rc = stmt_get(s, in_scope ? scoped : plain, out);
    if (rc)
        return rc;
    sqlite3_bind_text(*out, 1, key, -1, SQLITE_STATIC);
    if (in_scope)
        sqlite3_bind_text(*out, 2, scope->dealer_id, -1, SQLITE_STATIC);
    return 0;
}

/* Run a cached statement that returns no rows. */
static int stmt_exec(sqlite_backend *s, enum stmt_id id, const char *what)
{
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, id, &st);
    if (rc)
        return rc;
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : fail(s, rc, what);
}

/* Run a bound statement that returns no rows, then reset it and clear its
 * bindings (they may point at the caller's strings). */
static int step_done(sqlite_backend *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : fail(s, rc, what);
}

/* Run a bound insert or update, reset the statement, and say what went
 * wrong in the caller's words: "<noun> insert: ..." on a storage failure,
 * "<noun> <id>: not found" for an update that changed no row. */
static int step_write(sqlite_backend *s, sqlite3_stmt *st, const char *noun, bool update, const char *id)
{
    int rc = sqlite3_step(st);
    int changed = sqlite3_changes(s->db);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) {
        char what[64];
        snprintf(what, sizeof what, "%s %s", noun, update ? "update" : "insert");
        return fail(s, rc, what);
    }
    if (update && changed == 0)
        return crm_error_set(CRM_ENOTFOUND, "%s %s: not found", noun, id);
    return 0;
}

static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
    return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* ---- transactions --------------------------------------------------- */

static int sb_tx_begin(crm_backend *b)
{
    sqlite_backend *s = self_of(b);
    int rc = stmt_exec(s, s->tx_depth == 0 ? ST_BEGIN : ST_SAVEPOINT, "begin");
    if (rc == 0)
        s->tx_depth++;
    return rc;
}

static int sb_tx_commit(crm_backend *b)
{
    sqlite_backend *s = self_of(b);
    if (s->tx_depth == 0)
        return crm_error_set(CRM_ECONFLICT, "transaction: commit without begin");
    int rc = stmt_exec(s, s->tx_depth == 1 ? ST_COMMIT : ST_RELEASE, "commit");
    if (rc == 0)
        s->tx_depth--;
    return rc;
}

static int sb_tx_rollback(crm_backend *b)
{
    sqlite_backend *s = self_of(b);
    if (s->tx_depth == 0)
        return crm_error_set(CRM_ECONFLICT, "transaction: rollback without begin");
    int rc;
    if (s->tx_depth == 1) {
        rc = stmt_exec(s, ST_ROLLBACK, "rollback");
    } else {
        rc = stmt_exec(s, ST_ROLLBACK_TO, "rollback");
        if (rc == 0)
            rc = stmt_exec(s, ST_RELEASE, "rollback");
    }
    /* Whatever happened, the level is gone: SQLite ends a transaction it
     * could not roll back cleanly, and the caller must not retry it. */
    s->tx_depth--;
    if (s->tx_depth == 0 && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* ---- leads ---------------------------------------------------------- */

static void bind_lead(sqlite3_stmt *st, const crm_lead *l)
{
    bind_text(st, 1, l->id);
    bind_text(st, 2, l->channel);
    bind_text(st, 3, l->campaign);
    bind_text(st, 4, l->name);
    bind_text(st, 5, l->phone);
    bind_text(st, 6, l->email);
    bind_text(st, 7, l->wechat_openid);
    bind_text(st, 8, l->wechat_unionid);
    bind_text(st, 9, l->province);
    bind_text(st, 10, l->city);
    bind_text(st, 11, l->dealer_id);
    bind_text(st, 12, l->owner_id);
    bind_text(st, 13, l->model);
    sqlite3_bind_int(st, 14, (int)l->purchase_timeline);
    sqlite3_bind_int(st, 15, (int)l->test_drive);
    sqlite3_bind_int(st, 16, (int)l->status);
    sqlite3_bind_int(st, 17, l->score);
    bind_text(st, 18, l->grade);
    bind_text(st, 19, l->customer_id);
    bind_text(st, 20, l->attributes);
    sqlite3_bind_int64(st, 21, l->created_at);
    sqlite3_bind_int64(st, 22, l->updated_at);
    bind_text(st, 23, l->merged_into);
    sqlite3_bind_int(st, 24, (int)l->quality);
}

static int sb_lead_write(crm_backend *b, const crm_lead *lead, enum stmt_id id)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, id, &st);
    if (rc)
        return rc;
    bind_lead(st, lead);
    return step_write(s, st, "lead", id == ST_LEAD_UPDATE, lead->id);
}

static int sb_lead_insert(crm_backend *b, const crm_lead *lead)
{
    return sb_lead_write(b, lead, ST_LEAD_INSERT);
}

static int sb_lead_update(crm_backend *b, const crm_lead *lead)
{
    return sb_lead_write(b, lead, ST_LEAD_UPDATE);
}

/* Column i of a row as a string pointer (NULL for SQL NULL). */
static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* Point the lead's fields at the current row; valid until the statement moves. */
static void read_lead_row(sqlite3_stmt *st, crm_lead *l)
{
    l->id = col_text(st, 0);
    l->channel = col_text(st, 1);
    l->campaign = col_text(st, 2);
    l->name = col_text(st, 3);
    l->phone = col_text(st, 4);
    l->email = col_text(st, 5);
    l->wechat_openid = col_text(st, 6);
    l->wechat_unionid = col_text(st, 7);
    l->province = col_text(st, 8);
    l->city = col_text(st, 9);
    l->dealer_id = col_text(st, 10);
    l->owner_id = col_text(st, 11);
    l->model = col_text(st, 12);
    l->purchase_timeline = (crm_purchase_timeline)sqlite3_column_int(st, 13);
    l->test_drive = (crm_tristate)sqlite3_column_int(st, 14);
    l->status = (crm_lead_status)sqlite3_column_int(st, 15);
    l->score = sqlite3_column_int(st, 16);
    l->grade = col_text(st, 17);
    l->customer_id = col_text(st, 18);
    l->attributes = col_text(st, 19);
    l->created_at = sqlite3_column_int64(st, 20);
    l->updated_at = sqlite3_column_int64(st, 21);
    l->merged_into = col_text(st, 22);
    l->quality = (crm_lead_quality)sqlite3_column_int(st, 23);
}

/* Copy every string of *l into the backend's row buffer and repoint *l at
 * the copies, so that the statement can be reset. */
static int own_row(sqlite_backend *s, const char **fields[], size_t n)
{
    size_t need = 0;
    for (size_t i = 0; i < n; i++)
        if (*fields[i])
            need += strlen(*fields[i]) + 1;
    if (need > s->row_cap) {
        char *p = realloc(s->row, need);
        if (!p)
            return crm__error_nomem();
        s->row = p;
        s->row_cap = need;
    }
    char *w = s->row;
    for (size_t i = 0; i < n; i++) {
        if (*fields[i]) {
            size_t len = strlen(*fields[i]) + 1;
            memcpy(w, *fields[i], len);
            *fields[i] = w;
            w += len;
        }
    }
    return 0;
}

static int sb_lead_get(crm_backend *b, const crm_scope *scope, const char *id, crm_lead *out)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get_keyed(s, scope, ST_LEAD_GET, ST_LEAD_GET_SCOPED, id, &st);
    if (rc)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_lead_row(st, out);
        const char **fields[] = { &out->id, &out->channel, &out->campaign, &out->name, &out->phone,
                                  &out->email, &out->wechat_openid, &out->wechat_unionid,
                                  &out->province, &out->city, &out->dealer_id, &out->owner_id,
                                  &out->model, &out->grade, &out->customer_id, &out->attributes,
                                  &out->merged_into };
        rc = own_row(s, fields, sizeof fields / sizeof fields[0]);
    } else if (rc == SQLITE_DONE) {
        rc = crm_error_set(CRM_ENOTFOUND, "lead %s: not found", id);
    } else {
        rc = fail(s, rc, "lead get");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static void read_identity_row(sqlite3_stmt *st, crm_identity *r)
{
    r->kind = (crm_identity_kind)sqlite3_column_int(st, 0);
    r->app_id = col_text(st, 1);
    r->value = col_text(st, 2);
    r->customer_id = col_text(st, 3);
    r->origin_id = col_text(st, 4);
    r->created_at = sqlite3_column_int64(st, 5);
}

static void read_points_row(sqlite3_stmt *st, crm_points_txn *t)
{
    t->id = col_text(st, 0);
    t->customer_id = col_text(st, 1);
    t->kind = (crm_points_kind)sqlite3_column_int(st, 2);
    t->points = sqlite3_column_int64(st, 3);
    t->remaining = sqlite3_column_int64(st, 4);
    t->expires_at = sqlite3_column_int64(st, 5);
    t->idempotency_key = col_text(st, 6);
    t->reverses = col_text(st, 7);
    t->reversed_by = col_text(st, 8);
    t->reason = col_text(st, 9);
    t->created_at = sqlite3_column_int64(st, 10);
}

static void read_tag_row(sqlite3_stmt *st, crm_tag_record *t)
{
    t->name = col_text(st, 0);
    t->kind = (crm_tag_kind)sqlite3_column_int(st, 1);
    t->rule = col_text(st, 2);
    t->updated_at = sqlite3_column_int64(st, 3);
    t->bitmap = sqlite3_column_blob(st, 4);
    t->bitmap_len = (size_t)sqlite3_column_bytes(st, 4);
}

/* ---- review queue (issue 3) ---------------------------------------- */

static int sb_review_insert(crm_backend *b, const crm_match_review *r)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_REVIEW_INSERT, &st);
    if (rc)
        return rc;
    bind_text(st, 1, r->id);
    bind_text(st, 2, r->lead_id);
    bind_text(st, 3, r->candidate_id);
    bind_text(st, 4, r->dealer_id);
    sqlite3_bind_double(st, 5, r->probability);
    bind_text(st, 6, r->evidence);
    sqlite3_bind_int(st, 7, (int)r->status);
    sqlite3_bind_int64(st, 8, r->created_at);
    if (r->decided_at)
        sqlite3_bind_int64(st, 9, r->decided_at);
    bind_text(st, 10, r->decided_by);
    bind_text(st, 11, r->merge_id);
    return step_done(s, st, "review insert");
}

static int sb_review_update(crm_backend *b, const crm_match_review *r)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_REVIEW_UPDATE, &st);
    if (rc)
        return rc;
    bind_text(st, 1, r->id);
    sqlite3_bind_int(st, 2, (int)r->status);
    if (r->decided_at)
        sqlite3_bind_int64(st, 3, r->decided_at);
    bind_text(st, 4, r->decided_by);
    bind_text(st, 5, r->merge_id);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return fail(s, rc, "review update");
    return sqlite3_changes(s->db) ? 0 : crm_error_set(CRM_ENOTFOUND, "review %s: not found", r->id);
}

static void read_review_row(sqlite3_stmt *st, crm_match_review *r)
{
    r->id = col_text(st, 0);
    r->lead_id = col_text(st, 1);
    r->candidate_id = col_text(st, 2);
    r->dealer_id = col_text(st, 3);
    r->probability = sqlite3_column_double(st, 4);
    r->evidence = col_text(st, 5);
    r->status = (crm_review_status)sqlite3_column_int(st, 6);
    r->created_at = sqlite3_column_int64(st, 7);
    r->decided_at = sqlite3_column_int64(st, 8);
    r->decided_by = col_text(st, 9);
    r->merge_id = col_text(st, 10);
}

static int sb_review_get(crm_backend *b, const crm_scope *scope, const char *id, crm_match_review *out)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get_keyed(s, scope, ST_REVIEW_GET, ST_REVIEW_GET_SCOPED, id, &st);
    if (rc)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_review_row(st, out);
        const char **fields[] = { &out->id, &out->lead_id, &out->candidate_id, &out->dealer_id,
                                  &out->evidence, &out->decided_by, &out->merge_id };
        rc = own_row(s, fields, sizeof fields / sizeof fields[0]);
    } else if (rc == SQLITE_DONE) {
        rc = crm_error_set(CRM_ENOTFOUND, "review %s: not found", id);
    } else {
        rc = fail(s, rc, "review get");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static int sb_review_list(crm_backend *b, const crm_scope *scope, int status, int limit,
                          crm_backend_review_cb cb, void *payload)
{
    sqlite_backend *s = self_of(b);
    bool scoped = scope && scope->dealer_id;
    /* Listing is rare next to ingest: prepared per call, not cached. */
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT " REVIEW_COLUMNS " FROM match_review WHERE 1=1%s%s "
             "ORDER BY created_at, id LIMIT ?3",
             status >= 0 ? " AND status=?1" : "", scoped ? " AND dealer_id=?2" : "");
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return fail(s, rc, "review list");
    if (status >= 0)
        sqlite3_bind_int(st, 1, status);
    if (scoped)
        sqlite3_bind_text(st, 2, scope->dealer_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        crm_match_review r;
        read_review_row(st, &r);
        if (cb(&r, payload)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : fail(s, rc, "review list");
}

/* ---- scans ---------------------------------------------------------- */

typedef enum {
    SCAN_LEADS,
    SCAN_EVENTS,
    SCAN_WORKORDERS,
    SCAN_WO_COMMENTS,
    SCAN_IDENTITIES,
    SCAN_POINTS,
    SCAN_USES,
    SCAN_FACTS,
    SCAN_TAGS,
    SCAN_ASSIGNMENTS,
    SCAN_VEHICLE_PEOPLE,
    SCAN_CUSTOMERS,
    SCAN_STAGES
} scan_kind;

static void read_wo_row(sqlite3_stmt *st, crm_workorder *w);

typedef struct sqlite_iter {
    crm_backend_iter parent;
    sqlite_backend *s;
    sqlite3_stmt *st;
    scan_kind kind;
    bool done; /* sqlite3_step after SQLITE_DONE would start over */
} sqlite_iter;

static int sb_iter_next(crm_backend_iter *it, void *record)
{
    sqlite_iter *si = (sqlite_iter *)it;
    if (si->done)
        return CRM_ITEROVER;
    int rc = sqlite3_step(si->st);
    if (rc == SQLITE_DONE) {
        si->done = true;
        return CRM_ITEROVER;
    }
    if (rc != SQLITE_ROW)
        return fail(si->s, rc, "scan");
    if (si->kind == SCAN_LEADS) {
        read_lead_row(si->st, record);
    } else if (si->kind == SCAN_STAGES) {
        crm_stage_record *r = record;
        r->lead_id = col_text(si->st, 0);
        r->seq = sqlite3_column_int(si->st, 1);
        r->status = (crm_lead_status)sqlite3_column_int(si->st, 2);
        r->entered_at = sqlite3_column_int64(si->st, 3);
        r->dealer_id = col_text(si->st, 4);
        r->owner_id = col_text(si->st, 5);
        r->actor = col_text(si->st, 6);
        r->reason = col_text(si->st, 7);
    } else if (si->kind == SCAN_WORKORDERS) {
        read_wo_row(si->st, record);
    } else if (si->kind == SCAN_WO_COMMENTS) {
        crm_wo_comment *c = record;
        c->id = col_text(si->st, 0);
        c->workorder_id = col_text(si->st, 1);
        c->dealer_id = col_text(si->st, 2);
        c->at = sqlite3_column_int64(si->st, 3);
        c->author = col_text(si->st, 4);
        c->visibility = (crm_wo_visibility)sqlite3_column_int(si->st, 5);
        c->body = col_text(si->st, 6);
    } else if (si->kind == SCAN_IDENTITIES) {
        read_identity_row(si->st, record);
    } else if (si->kind == SCAN_POINTS) {
        read_points_row(si->st, record);
    } else if (si->kind == SCAN_FACTS) {
        crm_customer_facts *f = record;
        sqlite3_stmt *st = si->st;
        f->num = sqlite3_column_int64(st, 0);
        f->id = col_text(st, 1);
        f->dealer_id = col_text(st, 2);
        f->name = col_text(st, 3);
        f->created_at = sqlite3_column_int64(st, 4);
        f->member = sqlite3_column_int(st, 5);
        f->tier = col_text(st, 6);
        f->balance = sqlite3_column_int64(st, 7);
        f->enrolled_at = sqlite3_column_int64(st, 8);
        f->leads = sqlite3_column_int64(st, 9);
        f->model = col_text(st, 10);
        f->channel = col_text(st, 11);
        f->last_lead_at = sqlite3_column_int64(st, 12);
        f->vehicles = sqlite3_column_int64(st, 13);
    } else if (si->kind == SCAN_TAGS) {
        read_tag_row(si->st, record);
    } else if (si->kind == SCAN_ASSIGNMENTS) {
        crm_tag_assignment *a = record;
        a->customer_id = col_text(si->st, 0);
        a->tag = col_text(si->st, 1);
        a->source = col_text(si->st, 2);
        a->assigned_at = sqlite3_column_int64(si->st, 3);
    } else if (si->kind == SCAN_CUSTOMERS) {
        crm_customer *c = record;
        c->id = col_text(si->st, 0);
        c->name = col_text(si->st, 1);
        c->dealer_id = col_text(si->st, 2);
        c->merged_into = col_text(si->st, 3);
        c->created_at = sqlite3_column_int64(si->st, 4);
        c->updated_at = sqlite3_column_int64(si->st, 5);
        c->num = sqlite3_column_int64(si->st, 6);
    } else if (si->kind == SCAN_VEHICLE_PEOPLE) {
        crm_vehicle_person *r = record;
        r->vin = col_text(si->st, 0);
        r->customer_id = col_text(si->st, 1);
        r->role = (crm_vehicle_role)sqlite3_column_int(si->st, 2);
        r->since = sqlite3_column_int64(si->st, 3);
        r->until = sqlite3_column_int64(si->st, 4);
    } else if (si->kind == SCAN_USES) {
        crm_points_use *u = record;
        u->txn_id = col_text(si->st, 0);
        u->batch_id = col_text(si->st, 1);
        u->points = sqlite3_column_int64(si->st, 2);
    } else {
        crm_event *e = record;
        e->id = col_text(si->st, 0);
        e->at = sqlite3_column_int64(si->st, 1);
        e->kind = col_text(si->st, 2);
        e->entity_type = col_text(si->st, 3);
        e->entity_id = col_text(si->st, 4);
        e->dealer_id = col_text(si->st, 5);
        e->actor = col_text(si->st, 6);
        e->data = col_text(si->st, 7);
    }
    return 0;
}

static void sb_iter_free(crm_backend_iter *it)
{
    sqlite_iter *si = (sqlite_iter *)it;
    if (!si)
        return;
    sqlite3_finalize(si->st);
    free(si);
}

static int iter_make(sqlite_backend *s, const char *sql, scan_kind kind, sqlite_iter **out)
{
    sqlite_iter *si = calloc(1, sizeof *si);
    if (!si)
        return crm__error_nomem();
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &si->st, NULL);
    if (rc != SQLITE_OK) {
        free(si);
        return fail(s, rc, "scan prepare");
    }
    si->parent.next = sb_iter_next;
    si->parent.free = sb_iter_free;
    si->s = s;
    si->kind = kind;
    *out = si;
    return 0;
}

static int sb_lead_scan(crm_backend *b, const crm_scope *scope, const crm_lead_filter *f,
                        crm_backend_iter **out)
{
    sqlite_backend *s = self_of(b);
    /* The WHERE clause only ever contains fixed text and ?NNN parameters. */
    char sql[1024];
    size_t n = (size_t)snprintf(sql, sizeof sql, "SELECT " LEAD_COLUMNS " FROM lead WHERE merged_into IS NULL");
    const char *dealer = scope && scope->dealer_id ? scope->dealer_id : NULL;
    if (dealer)
        n += (size_t)snprintf(sql + n, sizeof sql - n, " AND dealer_id = ?1");
    if (f && f->dealer_id)
        n += (size_t)snprintf(sql + n, sizeof sql - n, " AND dealer_id = ?2");
    if (f && f->channel)
        n += (size_t)snprintf(sql + n, sizeof sql - n, " AND channel = ?3");
    if (f && f->created_from)
        n += (size_t)snprintf(sql + n, sizeof sql - n, " AND created_at >= ?4");
    if (f && f->created_to)
        n += (size_t)snprintf(sql + n, sizeof sql - n, " AND created_at < ?5");
    if (f && f->statuses)
        n += (size_t)snprintf(sql + n, sizeof sql - n, " AND ((?6 >> status) & 1)");
    if (f && f->qualities)
        n += (size_t)snprintf(sql + n, sizeof sql - n, " AND ((?8 >> quality) & 1)");
    n += (size_t)snprintf(sql + n, sizeof sql - n, " ORDER BY created_at, id");
    if (f && f->limit)
        snprintf(sql + n, sizeof sql - n, " LIMIT ?7");

    sqlite_iter *si;
    int rc = iter_make(s, sql, SCAN_LEADS, &si);
    if (rc)
        return rc;
    if (dealer)
        sqlite3_bind_text(si->st, 1, dealer, -1, SQLITE_TRANSIENT);
    if (f) {
        if (f->dealer_id)
            sqlite3_bind_text(si->st, 2, f->dealer_id, -1, SQLITE_TRANSIENT);
        if (f->channel)
            sqlite3_bind_text(si->st, 3, f->channel, -1, SQLITE_TRANSIENT);
        if (f->created_from)
            sqlite3_bind_int64(si->st, 4, f->created_from);
        if (f->created_to)
            sqlite3_bind_int64(si->st, 5, f->created_to);
        if (f->statuses)
            sqlite3_bind_int64(si->st, 6, (sqlite3_int64)f->statuses);
        if (f->qualities)
            sqlite3_bind_int64(si->st, 8, (sqlite3_int64)f->qualities);
        if (f->limit)
            sqlite3_bind_int64(si->st, 7, f->limit > (size_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)f->limit);
    }
    *out = &si->parent;
    return 0;
}

/* ---- match keys ----------------------------------------------------- */

/* ---- match keys ------------------------------------------------------
 * A key row is a 64-bit hash of kind and key with the record's id, the id
 * as 16 bytes when it is a canonical (lower-case) UUID, as text otherwise
 * (schema 6). The hash is part of the file format: FNV-1a over kind, a zero
 * byte and key, then the MurmurHash3 finaliser to spread FNV's weak low bits
 * over the index. Never change it; a new one needs a new schema number. */

static int64_t key_hash(const unsigned char *kind, size_t nkind, const unsigned char *key, size_t nkey)
{
    uint64_t h = 14695981039346656037u;
    for (size_t i = 0; i < nkind; i++)
        h = (h ^ kind[i]) * 1099511628211u;
    h = (h ^ 0) * 1099511628211u;
    for (size_t i = 0; i < nkey; i++)
        h = (h ^ key[i]) * 1099511628211u;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdu;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53u;
    h ^= h >> 33;
    int64_t signed_h;
    memcpy(&signed_h, &h, sizeof h); /* SQLite integers are signed */
    return signed_h;
}

/* The hash a key is stored under: computed from kind and key, or, for the
 * stored form key_scan reports (kind CRM_BACKEND_KEY_STORED), the key is the
 * hash itself in decimal. False when a stored form is malformed. */
static bool stored_hash(const char *kind, const char *key, int64_t *out)
{
    if (strcmp(kind, CRM_BACKEND_KEY_STORED) != 0) {
        *out = key_hash((const unsigned char *)kind, strlen(kind), (const unsigned char *)key, strlen(key));
        return true;
    }
    char *end;
    errno = 0;
    long long v = strtoll(key, &end, 10);
    if (errno || end == key || *end)
        return false;
    *out = v;
    return true;
}

static bool canonical_uuid(const char *id)
{
    if (!crm__id_valid(id))
        return false;
    for (const char *p = id; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            return false;
    return true;
}

static void bind_record_id(sqlite3_stmt *st, int idx, const char *id)
{
    uuid_t bytes;
    if (canonical_uuid(id) && uuid_parse(id, bytes) == 0)
        sqlite3_bind_blob(st, idx, bytes, sizeof bytes, SQLITE_TRANSIENT);
    else
        sqlite3_bind_text(st, idx, id, -1, SQLITE_STATIC);
}

/* The record id of column col as text; false when it is neither form. */
static bool column_record_id(sqlite3_stmt *st, int col, char out[CRM_ID_LEN + 1])
{
    if (sqlite3_column_type(st, col) == SQLITE_BLOB) {
        if (sqlite3_column_bytes(st, col) != (int)sizeof(uuid_t))
            return false;
        uuid_unparse_lower(sqlite3_column_blob(st, col), out);
        return true;
    }
    const char *text = col_text(st, col);
    if (!text || strlen(text) > CRM_ID_LEN)
        return false;
    strcpy(out, text);
    return true;
}

/* crm_key_hash(kind, key) and crm_id_blob(id) for migration 0006. */
static void sql_key_hash(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    sqlite3_result_int64(ctx, key_hash(sqlite3_value_text(argv[0]), (size_t)sqlite3_value_bytes(argv[0]),
                                       sqlite3_value_text(argv[1]), (size_t)sqlite3_value_bytes(argv[1])));
}

static void sql_id_blob(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *id = (const char *)sqlite3_value_text(argv[0]);
    uuid_t bytes;
    if (id && canonical_uuid(id) && uuid_parse(id, bytes) == 0)
        sqlite3_result_blob(ctx, bytes, sizeof bytes, SQLITE_TRANSIENT);
    else
        sqlite3_result_value(ctx, argv[0]);
}

static int register_functions(sqlite3 *db)
{
    int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
    int rc = sqlite3_create_function(db, "crm_key_hash", 2, flags, NULL, sql_key_hash, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "crm_id_blob", 1, flags, NULL, sql_id_blob, NULL, NULL);
    return rc;
}

static int sb_key_put(crm_backend *b, const char *kind, const char *key, const char *id)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_KEY_PUT, &st);
    if (rc)
        return rc;
    int64_t h;
    if (!stored_hash(kind, key, &h))
        return crm_error_set(CRM_EINVALID, "key: '%.32s' is not a stored key", key);
    sqlite3_bind_int64(st, 1, h);
    bind_record_id(st, 2, id);
    return step_done(s, st, "key put");
}

/* Step a bound statement whose first column is an id, then reset it and
 * call cb with each id. The callback may call back into the backend (a
 * lead_get of the candidate), so ids are collected first and the statement
 * is reset before any callback runs. Such lists are short: blocking keys
 * and one person's leads keep them so. */
static int run_id_list(sqlite_backend *s, sqlite3_stmt *st, const char *what, crm_backend_id_cb cb,
                       void *payload)
{
    char (*ids)[CRM_ID_LEN + 1] = NULL;
    size_t count = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char id[CRM_ID_LEN + 1];
        if (!column_record_id(st, 0, id))
            continue;
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            void *p = realloc(ids, ncap * sizeof *ids);
            if (!p) {
                rc = SQLITE_NOMEM;
                break;
            }
            ids = p;
            cap = ncap;
        }
        strcpy(ids[count++], id);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) {
        free(ids);
        return fail(s, rc, what);
    }
    for (size_t i = 0; i < count; i++)
        if (cb(ids[i], payload))
            break;
    free(ids);
    return 0;
}

static int sb_key_find(crm_backend *b, const char *kind, const char *key, crm_backend_id_cb cb,
                       void *payload)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_KEY_FIND, &st);
    if (rc)
        return rc;
    int64_t h;
    if (!stored_hash(kind, key, &h))
        return crm_error_set(CRM_EINVALID, "key: '%.32s' is not a stored key", key);
    sqlite3_bind_int64(st, 1, h);
    return run_id_list(s, st, "key find", cb, payload);
}

static int sb_key_scan(crm_backend *b, const char *id, crm_backend_key_cb cb, void *payload)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_KEY_SCAN, &st);
    if (rc)
        return rc;
    bind_record_id(st, 1, id);
    /* Kind and key are not kept, only their hash: each key is reported in
     * its stored form, which key_put and key_delete take back. The callback
     * must not call into the backend, so the rows go to it straight from
     * the statement. */
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char stored[24];
        snprintf(stored, sizeof stored, "%lld", (long long)sqlite3_column_int64(st, 0));
        if (cb(CRM_BACKEND_KEY_STORED, stored, payload)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : fail(s, rc, "key scan");
}

static int sb_key_delete(crm_backend *b, const char *kind, const char *key, const char *id)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_KEY_DELETE, &st);
    if (rc)
        return rc;
    int64_t h;
    if (!stored_hash(kind, key, &h))
        return crm_error_set(CRM_EINVALID, "key: '%.32s' is not a stored key", key);
    sqlite3_bind_int64(st, 1, h);
    bind_record_id(st, 2, id);
    return step_done(s, st, "key delete");
}

/* ---- lead merges (issue 3) ------------------------------------------ */

static int sb_merge_insert(crm_backend *b, const crm_lead_merge_record *m)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_MERGE_INSERT, &st);
    if (rc)
        return rc;
    bind_text(st, 1, m->id);
    bind_text(st, 2, m->survivor_id);
    bind_text(st, 3, m->other_id);
    bind_text(st, 4, m->dealer_id);
    bind_text(st, 5, m->rules);
    bind_text(st, 6, m->before);
    bind_text(st, 7, m->after);
    sqlite3_bind_int64(st, 8, m->created_at);
    bind_text(st, 9, m->actor);
    sqlite3_bind_int64(st, 10, m->undone_at);
    bind_text(st, 11, m->undone_by);
    return step_write(s, st, "lead merge", false, m->id);
}

static int sb_merge_update(crm_backend *b, const crm_lead_merge_record *m)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_MERGE_UPDATE, &st);
    if (rc)
        return rc;
    bind_text(st, 1, m->id);
    sqlite3_bind_int64(st, 2, m->undone_at);
    bind_text(st, 3, m->undone_by);
    return step_write(s, st, "lead merge", true, m->id);
}

static void read_merge_row(sqlite3_stmt *st, crm_lead_merge_record *m)
{
    m->id = col_text(st, 0);
    m->survivor_id = col_text(st, 1);
    m->other_id = col_text(st, 2);
    m->dealer_id = col_text(st, 3);
    m->rules = col_text(st, 4);
    m->before = col_text(st, 5);
    m->after = col_text(st, 6);
    m->created_at = sqlite3_column_int64(st, 7);
    m->actor = col_text(st, 8);
    m->undone_at = sqlite3_column_int64(st, 9);
    m->undone_by = col_text(st, 10);
}

static int sb_merge_get(crm_backend *b, const crm_scope *scope, const char *id, crm_lead_merge_record *out)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get_keyed(s, scope, ST_MERGE_GET, ST_MERGE_GET_SCOPED, id, &st);
    if (rc)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_merge_row(st, out);
        const char **fields[] = { &out->id, &out->survivor_id, &out->other_id, &out->dealer_id, &out->rules,
                                  &out->before, &out->after, &out->actor, &out->undone_by };
        rc = own_row(s, fields, sizeof fields / sizeof fields[0]);
    } else if (rc == SQLITE_DONE) {
        rc = crm_error_set(CRM_ENOTFOUND, "merge %s: not found", id);
    } else {
        rc = fail(s, rc, "lead merge get");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static int sb_merge_list(crm_backend *b, const crm_scope *scope, const char *lead_id, int limit,
                         crm_backend_merge_cb cb, void *payload)
{
    sqlite_backend *s = self_of(b);
    bool scoped = scope && scope->dealer_id;
    /* Listing is rare next to ingest: prepared per call, not cached. */
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT " MERGE_COLUMNS " FROM lead_merge WHERE 1=1%s%s ORDER BY id DESC LIMIT ?3",
             lead_id ? " AND (survivor_id=?1 OR other_id=?1)" : "", scoped ? " AND dealer_id=?2" : "");
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return fail(s, rc, "lead merge list");
    if (lead_id)
        sqlite3_bind_text(st, 1, lead_id, -1, SQLITE_STATIC);
    if (scoped)
        sqlite3_bind_text(st, 2, scope->dealer_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        crm_lead_merge_record m;
        read_merge_row(st, &m);
        if (cb(&m, payload)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : fail(s, rc, "lead merge list");
}

/* ---- events --------------------------------------------------------- */

static int sb_event_append(crm_backend *b, const crm_event *e)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_EVENT_APPEND, &st);
    if (rc)
        return rc;
    bind_text(st, 1, e->id);
    sqlite3_bind_int64(st, 2, e->at);
    bind_text(st, 3, e->kind);
    bind_text(st, 4, e->entity_type);
    bind_text(st, 5, e->entity_id);
    bind_text(st, 6, e->dealer_id);
    bind_text(st, 7, e->actor);
    bind_text(st, 8, e->data);
    return step_done(s, st, "event append");
}

/* ---- scoring models (issue 4) ------------------------------------------ */

static int sb_model_put(crm_backend *b, const crm_model_record *m)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_MODEL_PUT, &st);
    if (rc)
        return rc;
    bind_text(st, 1, m->id);
    bind_text(st, 2, m->name);
    sqlite3_bind_int(st, 3, m->version);
    bind_text(st, 4, m->kind);
    sqlite3_bind_int64(st, 5, m->trained_at);
    sqlite3_bind_int64(st, 6, m->saved_at);
    if (m->auc >= 0)
        sqlite3_bind_double(st, 7, m->auc);
    else
        sqlite3_bind_null(st, 7);
    bind_text(st, 8, m->features);
    bind_text(st, 9, m->body);
    return step_done(s, st, "model put");
}

static int sb_model_get(crm_backend *b, const char *name, int version, crm_model_record *out)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, version ? ST_MODEL_GET : ST_MODEL_GET_NEWEST, &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (version)
        sqlite3_bind_int(st, 2, version);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->id = col_text(st, 0);
        out->name = col_text(st, 1);
        out->version = sqlite3_column_int(st, 2);
        out->kind = col_text(st, 3);
        out->trained_at = sqlite3_column_int64(st, 4);
        out->saved_at = sqlite3_column_int64(st, 5);
        out->auc = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_double(st, 6);
        out->features = col_text(st, 7);
        out->body = col_text(st, 8);
        const char **fields[] = { &out->id, &out->name, &out->kind, &out->features, &out->body };
        rc = own_row(s, fields, sizeof fields / sizeof fields[0]);
    } else if (rc == SQLITE_DONE) {
        rc = version ? crm_error_set(CRM_ENOTFOUND, "model %s version %d: not found", name, version)
                     : crm_error_set(CRM_ENOTFOUND, "model %s: not found", name);
    } else {
        rc = fail(s, rc, "model get");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static int sb_event_scan(crm_backend *b, const crm_scope *scope, const char *entity_id,
                         crm_backend_iter **out)
{
    sqlite_backend *s = self_of(b);
    bool scoped = scope && scope->dealer_id;
    sqlite_iter *si;
    int rc = iter_make(s,
                       scoped ? "SELECT id, at, kind, entity_type, entity_id, dealer_id, actor, data "
                                "FROM event WHERE entity_id = ?1 AND dealer_id = ?2 ORDER BY seq"
                              : "SELECT id, at, kind, entity_type, entity_id, dealer_id, actor, data "
                                "FROM event WHERE entity_id = ?1 ORDER BY seq",
                       SCAN_EVENTS, &si);
    if (rc)
        return rc;
    sqlite3_bind_text(si->st, 1, entity_id, -1, SQLITE_TRANSIENT);
    if (scoped)
        sqlite3_bind_text(si->st, 2, scope->dealer_id, -1, SQLITE_TRANSIENT);
    *out = &si->parent;
    return 0;
}

/* ---- lead stages (issue 4) ------------------------------------------- */

static int sb_stage_append(crm_backend *b, const crm_stage_record *r)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_STAGE_APPEND, &st);
    if (rc)
        return rc;
    bind_text(st, 1, r->lead_id);
    sqlite3_bind_int(st, 2, r->seq);
    sqlite3_bind_int(st, 3, (int)r->status);
    sqlite3_bind_int64(st, 4, r->entered_at);
    bind_text(st, 5, r->dealer_id);
    bind_text(st, 6, r->owner_id);
    bind_text(st, 7, r->actor);
    bind_text(st, 8, r->reason);
    return step_done(s, st, "stage append");
}

static int sb_stage_scan(crm_backend *b, const crm_scope *scope, const char *lead_id, crm_backend_iter **out)
{
    sqlite_backend *s = self_of(b);
    bool scoped = scope && scope->dealer_id;
    sqlite_iter *si;
    int rc = iter_make(s,
                       scoped ? "SELECT " STAGE_COLUMNS " "
                                "FROM lead_stage WHERE lead_id = ?1 AND dealer_id = ?2 ORDER BY seq"
                              : "SELECT " STAGE_COLUMNS " "
                                "FROM lead_stage WHERE lead_id = ?1 ORDER BY seq",
                       SCAN_STAGES, &si);
    if (rc)
        return rc;
    sqlite3_bind_text(si->st, 1, lead_id, -1, SQLITE_TRANSIENT);
    if (scoped)
        sqlite3_bind_text(si->st, 2, scope->dealer_id, -1, SQLITE_TRANSIENT);
    *out = &si->parent;
    return 0;
}

static int sb_stage_scan_entered(crm_backend *b, const crm_scope *scope, crm_lead_status status, int64_t from,
                                 int64_t to, crm_backend_iter **out)
{
    sqlite_backend *s = self_of(b);
    bool scoped = scope && scope->dealer_id;
    sqlite_iter *si;
    int rc = iter_make(s,
                       scoped ? "SELECT " STAGE_COLUMNS " FROM lead_stage WHERE status = ?1 AND entered_at >= ?2 "
                                "AND entered_at < ?3 AND dealer_id = ?4 ORDER BY entered_at"
                              : "SELECT " STAGE_COLUMNS " FROM lead_stage WHERE status = ?1 AND entered_at >= ?2 "
                                "AND entered_at < ?3 ORDER BY entered_at",
                       SCAN_STAGES, &si);
    if (rc)
        return rc;
    sqlite3_bind_int(si->st, 1, (int)status);
    sqlite3_bind_int64(si->st, 2, from);
    sqlite3_bind_int64(si->st, 3, to);
    if (scoped)
        sqlite3_bind_text(si->st, 4, scope->dealer_id, -1, SQLITE_TRANSIENT);
    *out = &si->parent;
    return 0;
}

/* ---- work orders ---------------------------------------------------- */

static void bind_wo(sqlite3_stmt *st, const crm_workorder *w)
{
    bind_text(st, 1, w->id);
    bind_text(st, 2, w->type);
    bind_text(st, 3, w->category);
    sqlite3_bind_int(st, 4, w->priority);
    bind_text(st, 5, w->channel);
    bind_text(st, 6, w->customer_id);
    bind_text(st, 7, w->lead_id);
    bind_text(st, 8, w->vin);
    bind_text(st, 9, w->dealer_id);
    bind_text(st, 10, w->queue);
    bind_text(st, 11, w->assignee);
    bind_text(st, 12, w->subject);
    bind_text(st, 13, w->description);
    bind_text(st, 14, w->attributes);
    sqlite3_bind_int(st, 15, (int)w->status);
    sqlite3_bind_int64(st, 16, w->created_at);
    sqlite3_bind_int64(st, 17, w->updated_at);
    sqlite3_bind_int64(st, 18, w->first_response_at);
    sqlite3_bind_int64(st, 19, w->resolved_at);
    sqlite3_bind_int64(st, 20, w->closed_at);
    sqlite3_bind_int64(st, 21, w->paused_since);
    bind_text(st, 22, w->pauses);
    sqlite3_bind_int(st, 23, w->sla_flags);
    sqlite3_bind_int(st, 24, w->escalation_level);
}

static void read_wo_row(sqlite3_stmt *st, crm_workorder *w)
{
    w->id = col_text(st, 0);
    w->type = col_text(st, 1);
    w->category = col_text(st, 2);
    w->priority = sqlite3_column_int(st, 3);
    w->channel = col_text(st, 4);
    w->customer_id = col_text(st, 5);
    w->lead_id = col_text(st, 6);
    w->vin = col_text(st, 7);
    w->dealer_id = col_text(st, 8);
    w->queue = col_text(st, 9);
    w->assignee = col_text(st, 10);
    w->subject = col_text(st, 11);
    w->description = col_text(st, 12);
    w->attributes = col_text(st, 13);
    w->status = (crm_wo_status)sqlite3_column_int(st, 14);
    w->created_at = sqlite3_column_int64(st, 15);
    w->updated_at = sqlite3_column_int64(st, 16);
    w->first_response_at = sqlite3_column_int64(st, 17);
    w->resolved_at = sqlite3_column_int64(st, 18);
    w->closed_at = sqlite3_column_int64(st, 19);
    w->paused_since = sqlite3_column_int64(st, 20);
    w->pauses = col_text(st, 21);
    w->sla_flags = sqlite3_column_int(st, 22);
    w->escalation_level = sqlite3_column_int(st, 23);
}

static int sb_wo_write(crm_backend *b, const crm_workorder *w, enum stmt_id id)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, id, &st);
    if (rc)
        return rc;
    bind_wo(st, w);
    return step_write(s, st, "work order", id == ST_WO_UPDATE, w->id);
}

static int sb_wo_insert(crm_backend *b, const crm_workorder *w)
{
    return sb_wo_write(b, w, ST_WO_INSERT);
}

static int sb_wo_update(crm_backend *b, const crm_workorder *w)
{
    return sb_wo_write(b, w, ST_WO_UPDATE);
}

static int sb_wo_get(crm_backend *b, const crm_scope *scope, const char *id, crm_workorder *out)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get_keyed(s, scope, ST_WO_GET, ST_WO_GET_SCOPED, id, &st);
    if (rc)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_wo_row(st, out);
        const char **fields[] = { &out->id, &out->type, &out->category, &out->channel, &out->customer_id,
                                  &out->lead_id, &out->vin, &out->dealer_id, &out->queue, &out->assignee,
                                  &out->subject, &out->description, &out->attributes, &out->pauses };
        rc = own_row(s, fields, sizeof fields / sizeof fields[0]);
    } else if (rc == SQLITE_DONE) {
        rc = crm_error_set(CRM_ENOTFOUND, "work order %s: not found", id);
    } else {
        rc = fail(s, rc, "work order get");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static int sb_wo_scan(crm_backend *b, const crm_scope *scope, const crm_workorder_filter *f,
                      crm_backend_iter **out)
{
    sqlite_backend *s = self_of(b);
    /* The WHERE clause only ever contains fixed text and ?NNN parameters. */
    char sql[1024];
    size_t n = (size_t)snprintf(sql, sizeof sql, "SELECT " WO_COLUMNS " FROM workorder WHERE 1");
    const char *dealer = scope && scope->dealer_id ? scope->dealer_id : NULL;
    static const char *const conds[] = { " AND dealer_id = ?1", " AND dealer_id = ?2", " AND queue = ?3",
                                         " AND assignee = ?4", " AND type = ?5", " AND created_at >= ?6",
                                         " AND created_at < ?7", " AND ((?8 >> status) & 1)" };
    bool on[] = { dealer != NULL,        f && f->dealer_id,    f && f->queue,       f && f->assignee,
                  f && f->type,          f && f->created_from, f && f->created_to,  f && f->statuses };
    for (size_t i = 0; i < sizeof conds / sizeof conds[0]; i++)
        if (on[i])
            n += (size_t)snprintf(sql + n, sizeof sql - n, "%s", conds[i]);
    n += (size_t)snprintf(sql + n, sizeof sql - n, " ORDER BY created_at, id");
    if (f && f->limit)
        snprintf(sql + n, sizeof sql - n, " LIMIT ?9");

    sqlite_iter *si;
    int rc = iter_make(s, sql, SCAN_WORKORDERS, &si);
    if (rc)
        return rc;
    if (dealer)
        sqlite3_bind_text(si->st, 1, dealer, -1, SQLITE_TRANSIENT);
    if (f) {
        bind_text(si->st, 2, f->dealer_id);
        bind_text(si->st, 3, f->queue);
        bind_text(si->st, 4, f->assignee);
        bind_text(si->st, 5, f->type);
        sqlite3_bind_int64(si->st, 6, f->created_from);
        sqlite3_bind_int64(si->st, 7, f->created_to);
        sqlite3_bind_int64(si->st, 8, (sqlite3_int64)f->statuses);
        if (f->limit)
            sqlite3_bind_int64(si->st, 9, f->limit > (size_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)f->limit);
    }
    *out = &si->parent;
    return 0;
}

static int sb_wo_comment_insert(crm_backend *b, const crm_wo_comment *c)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_WO_COMMENT_INSERT, &st);
    if (rc)
        return rc;
    bind_text(st, 1, c->id);
    bind_text(st, 2, c->workorder_id);
    bind_text(st, 3, c->dealer_id);
    sqlite3_bind_int64(st, 4, c->at);
    bind_text(st, 5, c->author);
    sqlite3_bind_int(st, 6, (int)c->visibility);
    bind_text(st, 7, c->body);
    return step_done(s, st, "comment insert");
}

static int sb_wo_comment_scan(crm_backend *b, const crm_scope *scope, const char *workorder_id,
                              crm_backend_iter **out)
{
    sqlite_backend *s = self_of(b);
    bool scoped = scope && scope->dealer_id;
    sqlite_iter *si;
    int rc = iter_make(s,
                       scoped ? "SELECT id, workorder_id, dealer_id, at, author, visibility, body FROM wo_comment "
                                "WHERE workorder_id = ?1 AND dealer_id = ?2 ORDER BY seq"
                              : "SELECT id, workorder_id, dealer_id, at, author, visibility, body FROM wo_comment "
                                "WHERE workorder_id = ?1 ORDER BY seq",
                       SCAN_WO_COMMENTS, &si);
    if (rc)
        return rc;
    sqlite3_bind_text(si->st, 1, workorder_id, -1, SQLITE_TRANSIENT);
    if (scoped)
        sqlite3_bind_text(si->st, 2, scope->dealer_id, -1, SQLITE_TRANSIENT);
    *out = &si->parent;
    return 0;
}

static int sb_event_scan_kind(crm_backend *b, const crm_scope *scope, const char *kind, int64_t since,
                              crm_backend_iter **out)
{
    sqlite_backend *s = self_of(b);
    bool scoped = scope && scope->dealer_id;
    sqlite_iter *si;
    int rc = iter_make(s,
                       scoped ? "SELECT id, at, kind, entity_type, entity_id, dealer_id, actor, data FROM event "
                                "WHERE kind = ?1 AND at >= ?2 AND dealer_id = ?3 ORDER BY seq"
                              : "SELECT id, at, kind, entity_type, entity_id, dealer_id, actor, data FROM event "
                                "WHERE kind = ?1 AND at >= ?2 ORDER BY seq",
                       SCAN_EVENTS, &si);
    if (rc)
        return rc;
    sqlite3_bind_text(si->st, 1, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(si->st, 2, since);
    if (scoped)
        sqlite3_bind_text(si->st, 3, scope->dealer_id, -1, SQLITE_TRANSIENT);
    *out = &si->parent;
    return 0;
}

/* ---- customers and identities ------------------------------------ */

static int sb_customer_write(crm_backend *b, const crm_customer *c, enum stmt_id id)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, id, &st);
    if (rc)
        return rc;
    bind_text(st, 1, c->id);
    bind_text(st, 2, c->name);
    bind_text(st, 3, c->dealer_id);
    bind_text(st, 4, c->merged_into);
    sqlite3_bind_int64(st, 5, c->created_at);
    sqlite3_bind_int64(st, 6, c->updated_at);
    return step_write(s, st, "customer", id == ST_CUSTOMER_UPDATE, c->id);
}

static int sb_customer_insert(crm_backend *b, const crm_customer *c)
{
    return sb_customer_write(b, c, ST_CUSTOMER_INSERT);
}

static int sb_customer_update(crm_backend *b, const crm_customer *c)
{
    return sb_customer_write(b, c, ST_CUSTOMER_UPDATE);
}

static int customer_get_by(sqlite_backend *s, const crm_scope *scope, enum stmt_id plain, enum stmt_id scoped_id,
                           const char *id, int64_t num, crm_customer *out)
{
    bool scoped = scope && scope->dealer_id;
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, scoped ? scoped_id : plain, &st);
    if (rc)
        return rc;
    if (id)
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 1, num);
    if (scoped)
        sqlite3_bind_text(st, 2, scope->dealer_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->id = col_text(st, 0);
        out->name = col_text(st, 1);
        out->dealer_id = col_text(st, 2);
        out->merged_into = col_text(st, 3);
        out->created_at = sqlite3_column_int64(st, 4);
        out->updated_at = sqlite3_column_int64(st, 5);
        out->num = sqlite3_column_int64(st, 6);
        const char **fields[] = { &out->id, &out->name, &out->dealer_id, &out->merged_into };
        rc = own_row(s, fields, sizeof fields / sizeof fields[0]);
    } else if (rc == SQLITE_DONE) {
        rc = id ? crm_error_set(CRM_ENOTFOUND, "customer %s: not found", id)
                : crm_error_set(CRM_ENOTFOUND, "customer number %lld: not found", (long long)num);
    } else {
        rc = fail(s, rc, "customer get");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static int sb_customer_get(crm_backend *b, const crm_scope *scope, const char *id, crm_customer *out)
{
    return customer_get_by(self_of(b), scope, ST_CUSTOMER_GET, ST_CUSTOMER_GET_SCOPED, id, 0, out);
}

static int sb_customer_get_num(crm_backend *b, const crm_scope *scope, int64_t num, crm_customer *out)
{
    return customer_get_by(self_of(b), scope, ST_CUSTOMER_GET_NUM, ST_CUSTOMER_GET_NUM_SCOPED, NULL, num, out);
}

static int sb_identity_insert(crm_backend *b, const crm_identity *r)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_IDENTITY_INSERT, &st);
    if (rc)
        return rc;
    sqlite3_bind_int(st, 1, (int)r->kind);
    sqlite3_bind_text(st, 2, r->app_id ? r->app_id : "", -1, SQLITE_STATIC);
    bind_text(st, 3, r->value);
    bind_text(st, 4, r->customer_id);
    bind_text(st, 5, r->origin_id);
    sqlite3_bind_int64(st, 6, r->created_at);
    return step_done(s, st, "identity insert");
}

static int sb_identity_find(crm_backend *b, crm_identity_kind kind, const char *app_id, const char *value,
                            crm_identity *out)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_IDENTITY_FIND, &st);
    if (rc)
        return rc;
    sqlite3_bind_int(st, 1, (int)kind);
    sqlite3_bind_text(st, 2, app_id ? app_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_identity_row(st, out);
        const char **fields[] = { &out->app_id, &out->value, &out->customer_id, &out->origin_id };
        rc = own_row(s, fields, sizeof fields / sizeof fields[0]);
    } else if (rc == SQLITE_DONE) {
        rc = crm_error_set(CRM_ENOTFOUND, "identity: not found");
    } else {
        rc = fail(s, rc, "identity find");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static int sb_identity_move(crm_backend *b, const char *from, const char *to, const char *origin_id,
                            size_t *moved)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, origin_id ? ST_IDENTITY_MOVE_ORIGIN : ST_IDENTITY_MOVE, &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, from, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, to, -1, SQLITE_STATIC);
    if (origin_id)
        sqlite3_bind_text(st, 3, origin_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    int changed = sqlite3_changes(s->db);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return fail(s, rc, "identity move");
    if (moved)
        *moved = (size_t)changed;
    return 0;
}

static int sb_identity_scan(crm_backend *b, const char *customer_id, crm_backend_iter **out)
{
    sqlite_backend *s = self_of(b);
    sqlite_iter *si;
    int rc = iter_make(s,
                       "SELECT " IDENTITY_COLUMNS " FROM customer_identity WHERE customer_id = ?1 "
                       "ORDER BY kind, app_id, value",
                       SCAN_IDENTITIES, &si);
    if (rc)
        return rc;
    sqlite3_bind_text(si->st, 1, customer_id, -1, SQLITE_TRANSIENT);
    *out = &si->parent;
    return 0;
}

static int sb_lead_find_by_customer(crm_backend *b, const crm_scope *scope, const char *customer_id,
                                    crm_backend_id_cb cb, void *payload)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get_keyed(s, scope, ST_LEAD_BY_CUSTOMER, ST_LEAD_BY_CUSTOMER_SCOPED, customer_id, &st);
    if (rc)
        return rc;
    return run_id_list(s, st, "lead find by customer", cb, payload);
}

/* ---- members and points ------------------------------------------ */

static int sb_member_write(crm_backend *b, const crm_member *m, enum stmt_id id)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, id, &st);
    if (rc)
        return rc;
    bind_text(st, 1, m->customer_id);
    bind_text(st, 2, m->member_no);
    bind_text(st, 3, m->tier);
    sqlite3_bind_int64(st, 4, m->tier_since);
    sqlite3_bind_int64(st, 5, m->enrolled_at);
    sqlite3_bind_int64(st, 6, m->balance);
    sqlite3_bind_int64(st, 7, m->updated_at);
    return step_write(s, st, "member", id == ST_MEMBER_UPDATE, m->customer_id);
}

static int sb_member_insert(crm_backend *b, const crm_member *m)
{
    return sb_member_write(b, m, ST_MEMBER_INSERT);
}

static int sb_member_update(crm_backend *b, const crm_member *m)
{
    return sb_member_write(b, m, ST_MEMBER_UPDATE);
}

static int sb_member_get(crm_backend *b, const crm_scope *scope, const char *customer_id, crm_member *out)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get_keyed(s, scope, ST_MEMBER_GET, ST_MEMBER_GET_SCOPED, customer_id, &st);
    if (rc)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->customer_id = col_text(st, 0);
        out->member_no = col_text(st, 1);
        out->tier = col_text(st, 2);
        out->tier_since = sqlite3_column_int64(st, 3);
        out->enrolled_at = sqlite3_column_int64(st, 4);
        out->balance = sqlite3_column_int64(st, 5);
        out->updated_at = sqlite3_column_int64(st, 6);
        const char **fields[] = { &out->customer_id, &out->member_no, &out->tier };
        rc = own_row(s, fields, sizeof fields / sizeof fields[0]);
    } else if (rc == SQLITE_DONE) {
        rc = crm_error_set(CRM_ENOTFOUND, "member %s: not found", customer_id);
    } else {
        rc = fail(s, rc, "member get");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static int sb_points_insert(crm_backend *b, const crm_points_txn *t)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_POINTS_INSERT, &st);
    if (rc)
        return rc;
    bind_text(st, 1, t->id);
    bind_text(st, 2, t->customer_id);
    sqlite3_bind_int(st, 3, (int)t->kind);
    sqlite3_bind_int64(st, 4, t->points);
    sqlite3_bind_int64(st, 5, t->remaining);
    sqlite3_bind_int64(st, 6, t->expires_at);
    bind_text(st, 7, t->idempotency_key);
    bind_text(st, 8, t->reverses);
    bind_text(st, 9, t->reversed_by);
    bind_text(st, 10, t->reason);
    sqlite3_bind_int64(st, 11, t->created_at);
    return step_done(s, st, "points insert");
}

static int sb_points_update(crm_backend *b, const crm_points_txn *t)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_POINTS_UPDATE, &st);
    if (rc)
        return rc;
    bind_text(st, 1, t->id);
    sqlite3_bind_int64(st, 2, t->remaining);
    bind_text(st, 3, t->reversed_by);
    rc = sqlite3_step(st);
    int changed = sqlite3_changes(s->db);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return fail(s, rc, "points update");
    return changed ? 0 : crm_error_set(CRM_ENOTFOUND, "points transaction %s: not found", t->id);
}

static int points_get_by(sqlite_backend *s, enum stmt_id id, const char *key, crm_points_txn *out)
{
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, id, &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_points_row(st, out);
        const char **fields[] = { &out->id, &out->customer_id, &out->idempotency_key, &out->reverses,
                                  &out->reversed_by, &out->reason };
        rc = own_row(s, fields, sizeof fields / sizeof fields[0]);
    } else if (rc == SQLITE_DONE) {
        rc = crm_error_set(CRM_ENOTFOUND, "points transaction: not found");
    } else {
        rc = fail(s, rc, "points get");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static int sb_points_get(crm_backend *b, const char *id, crm_points_txn *out)
{
    return points_get_by(self_of(b), ST_POINTS_GET, id, out);
}

static int sb_points_find_key(crm_backend *b, const char *key, crm_points_txn *out)
{
    return points_get_by(self_of(b), ST_POINTS_FIND_KEY, key, out);
}

static int sb_points_scan(crm_backend *b, const char *customer_id, crm_backend_iter **out)
{
    sqlite_backend *s = self_of(b);
    sqlite_iter *si;
    int rc = iter_make(s, "SELECT " POINTS_COLUMNS " FROM points_txn WHERE customer_id = ?1 ORDER BY seq",
                       SCAN_POINTS, &si);
    if (rc)
        return rc;
    sqlite3_bind_text(si->st, 1, customer_id, -1, SQLITE_TRANSIENT);
    *out = &si->parent;
    return 0;
}

static int sb_points_batch_scan(crm_backend *b, const char *customer_id, int64_t now, int expired,
                                crm_backend_iter **out)
{
    sqlite_backend *s = self_of(b);
    const char *sql;
    if (!expired)
        sql = "SELECT " POINTS_COLUMNS " FROM points_txn WHERE customer_id = ?1 AND remaining > 0 "
              "AND (expires_at = 0 OR expires_at > ?2) ORDER BY expires_at = 0, expires_at, seq";
    else if (customer_id)
        sql = "SELECT " POINTS_COLUMNS " FROM points_txn WHERE customer_id = ?1 AND remaining > 0 "
              "AND expires_at > 0 AND expires_at <= ?2 ORDER BY expires_at, seq";
    else
        sql = "SELECT " POINTS_COLUMNS " FROM points_txn WHERE remaining > 0 "
              "AND expires_at > 0 AND expires_at <= ?2 ORDER BY expires_at, seq";
    sqlite_iter *si;
    int rc = iter_make(s, sql, SCAN_POINTS, &si);
    if (rc)
        return rc;
    if (customer_id)
        sqlite3_bind_text(si->st, 1, customer_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(si->st, 2, now);
    *out = &si->parent;
    return 0;
}

static int sb_points_use_insert(crm_backend *b, const crm_points_use *u)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_POINTS_USE_INSERT, &st);
    if (rc)
        return rc;
    bind_text(st, 1, u->txn_id);
    bind_text(st, 2, u->batch_id);
    sqlite3_bind_int64(st, 3, u->points);
    return step_done(s, st, "points use insert");
}

static int sb_points_use_scan(crm_backend *b, const char *txn_id, crm_backend_iter **out)
{
    sqlite_backend *s = self_of(b);
    sqlite_iter *si;
    int rc = iter_make(s, "SELECT txn_id, batch_id, points FROM points_use WHERE txn_id = ?1 ORDER BY batch_id",
                       SCAN_USES, &si);
    if (rc)
        return rc;
    sqlite3_bind_text(si->st, 1, txn_id, -1, SQLITE_TRANSIENT);
    *out = &si->parent;
    return 0;
}

/* ---- tags and facts ------------------------------------------------ */

static int sb_customer_facts_scan(crm_backend *b, int64_t now, unsigned needs, crm_backend_iter **out)
{
    sqlite_backend *s = self_of(b);
    bool member = needs & CRM_FACTS_MEMBER, leads = needs & CRM_FACTS_LEADS, vehicles = needs & CRM_FACTS_VEHICLES;
    /* One pass: leads and vehicles are grouped once and joined, rather than
     * queried per customer, and only the parts asked for are joined at all
     * (each join is a probe per customer). SQLite takes the bare model and
     * channel columns from the row that has max(created_at). */
    char sql[1400];
    snprintf(sql, sizeof sql,
             "SELECT c.num, c.id, c.dealer_id, c.name, c.created_at, %s, %s FROM customer c %s %s %s "
             "WHERE c.merged_into IS NULL ORDER BY c.num",
             member ? "m.customer_id IS NOT NULL, m.tier, coalesce(m.balance, 0), coalesce(m.enrolled_at, 0)"
                    : "0, NULL, 0, 0",
             leads && vehicles ? "coalesce(l.n, 0), l.model, l.channel, coalesce(l.last, 0), coalesce(v.n, 0)"
             : leads           ? "coalesce(l.n, 0), l.model, l.channel, coalesce(l.last, 0), 0"
             : vehicles        ? "0, NULL, NULL, 0, coalesce(v.n, 0)"
                               : "0, NULL, NULL, 0, 0",
             member ? "LEFT JOIN member m ON m.customer_id = c.id" : "",
             leads ? "LEFT JOIN (SELECT customer_id, count(*) AS n, max(created_at) AS last, model, channel "
                     "FROM lead WHERE customer_id IS NOT NULL GROUP BY customer_id) l ON l.customer_id = c.id"
                   : "",
             vehicles ? "LEFT JOIN (SELECT customer_id, count(DISTINCT vin) AS n FROM vehicle_person "
                        "WHERE since <= ?1 AND (until = 0 OR until > ?1) GROUP BY customer_id) v "
                        "ON v.customer_id = c.id"
                      : "");
    sqlite_iter *si;
    int rc = iter_make(s, sql, SCAN_FACTS, &si);
    if (rc)
        return rc;
    if (vehicles)
        sqlite3_bind_int64(si->st, 1, now);
    *out = &si->parent;
    return 0;
}

static int sb_tag_get(crm_backend *b, const char *name, crm_tag_record *out)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_TAG_GET, &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_tag_row(st, out);
        /* The bitmap goes through the row buffer too: copy it as a string
         * would be wrong (it holds NULs), so size the buffer for both. */
        size_t name_len = strlen(out->name) + 1, rule_len = out->rule ? strlen(out->rule) + 1 : 0;
        size_t need = name_len + rule_len + out->bitmap_len;
        if (need > s->row_cap) {
            char *p = realloc(s->row, need);
            if (!p) {
                rc = crm__error_nomem();
                goto done;
            }
            s->row = p;
            s->row_cap = need;
        }
        memcpy(s->row, out->name, name_len);
        out->name = s->row;
        if (out->rule) {
            memcpy(s->row + name_len, out->rule, rule_len);
            out->rule = s->row + name_len;
        }
        if (out->bitmap_len)
            memcpy(s->row + name_len + rule_len, out->bitmap, out->bitmap_len);
        out->bitmap = s->row + name_len + rule_len;
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = crm_error_set(CRM_ENOTFOUND, "tag %s: not found", name);
    } else {
        rc = fail(s, rc, "tag get");
    }
done:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static int sb_tag_put(crm_backend *b, const crm_tag_record *t)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_TAG_PUT, &st);
    if (rc)
        return rc;
    bind_text(st, 1, t->name);
    sqlite3_bind_int(st, 2, (int)t->kind);
    bind_text(st, 3, t->rule);
    sqlite3_bind_int64(st, 4, t->updated_at);
    sqlite3_bind_blob64(st, 5, t->bitmap ? t->bitmap : "", t->bitmap_len, SQLITE_STATIC);
    return step_done(s, st, "tag put");
}

static int sb_tag_scan(crm_backend *b, crm_backend_iter **out)
{
    sqlite_iter *si;
    int rc = iter_make(self_of(b), "SELECT name, kind, rule, updated_at, bitmap FROM tag ORDER BY name", SCAN_TAGS,
                       &si);
    if (rc == 0)
        *out = &si->parent;
    return rc;
}

static int sb_tag_assignment_put(crm_backend *b, const crm_tag_assignment *a)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_TAG_ASSIGNMENT_PUT, &st);
    if (rc)
        return rc;
    bind_text(st, 1, a->customer_id);
    bind_text(st, 2, a->tag);
    bind_text(st, 3, a->source);
    sqlite3_bind_int64(st, 4, a->assigned_at);
    return step_done(s, st, "tag assignment put");
}

static int sb_tag_assignment_delete(crm_backend *b, const char *customer_id, const char *tag, int *deleted)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_TAG_ASSIGNMENT_DELETE, &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, customer_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, tag, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    int changed = sqlite3_changes(s->db);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return fail(s, rc, "tag assignment delete");
    if (deleted)
        *deleted = changed > 0;
    return 0;
}

static int sb_tag_assignment_scan(crm_backend *b, const char *customer_id, crm_backend_iter **out)
{
    sqlite_iter *si;
    int rc = iter_make(self_of(b),
                       "SELECT customer_id, tag, source, assigned_at FROM tag_assignment WHERE customer_id = ?1 "
                       "ORDER BY tag",
                       SCAN_ASSIGNMENTS, &si);
    if (rc)
        return rc;
    sqlite3_bind_text(si->st, 1, customer_id, -1, SQLITE_TRANSIENT);
    *out = &si->parent;
    return 0;
}

/* ---- vehicles ------------------------------------------------------- */

static int sb_vehicle_put(crm_backend *b, const crm_vehicle *v)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_VEHICLE_PUT, &st);
    if (rc)
        return rc;
    bind_text(st, 1, v->vin);
    bind_text(st, 2, v->model);
    sqlite3_bind_int(st, 3, v->year);
    sqlite3_bind_int64(st, 4, v->purchased_at);
    sqlite3_bind_int64(st, 5, v->serviced_at);
    sqlite3_bind_int64(st, 6, v->created_at);
    sqlite3_bind_int64(st, 7, v->updated_at);
    return step_done(s, st, "vehicle put");
}

static int sb_vehicle_get(crm_backend *b, const char *vin, crm_vehicle *out)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_VEHICLE_GET, &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, vin, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->vin = col_text(st, 0);
        out->model = col_text(st, 1);
        out->year = sqlite3_column_int(st, 2);
        out->purchased_at = sqlite3_column_int64(st, 3);
        out->serviced_at = sqlite3_column_int64(st, 4);
        out->created_at = sqlite3_column_int64(st, 5);
        out->updated_at = sqlite3_column_int64(st, 6);
        const char **fields[] = { &out->vin, &out->model };
        rc = own_row(s, fields, 2);
    } else if (rc == SQLITE_DONE) {
        rc = crm_error_set(CRM_ENOTFOUND, "vehicle %s: not found", vin);
    } else {
        rc = fail(s, rc, "vehicle get");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static int sb_vehicle_person_put(crm_backend *b, const crm_vehicle_person *r)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st = NULL;
    int rc = stmt_get(s, ST_VEHICLE_PERSON_PUT, &st);
    if (rc)
        return rc;
    bind_text(st, 1, r->vin);
    bind_text(st, 2, r->customer_id);
    sqlite3_bind_int(st, 3, (int)r->role);
    sqlite3_bind_int64(st, 4, r->since);
    sqlite3_bind_int64(st, 5, r->until);
    return step_done(s, st, "vehicle person put");
}

static int sb_vehicle_person_scan(crm_backend *b, const char *vin, const char *customer_id, crm_backend_iter **out)
{
    sqlite_iter *si;
    int rc = iter_make(self_of(b),
                       vin ? "SELECT vin, customer_id, role, since, until FROM vehicle_person WHERE vin = ?1 "
                             "ORDER BY since, customer_id, role"
                           : "SELECT vin, customer_id, role, since, until FROM vehicle_person WHERE customer_id = ?1 "
                             "ORDER BY vin, role",
                       SCAN_VEHICLE_PEOPLE, &si);
    if (rc)
        return rc;
    sqlite3_bind_text(si->st, 1, vin ? vin : customer_id, -1, SQLITE_TRANSIENT);
    *out = &si->parent;
    return 0;
}

static int sb_customer_scan(crm_backend *b, const crm_scope *scope, crm_backend_iter **out)
{
    bool scoped = scope && scope->dealer_id;
    sqlite_iter *si;
    int rc = iter_make(self_of(b),
                       scoped ? "SELECT " CUSTOMER_COLUMNS " FROM customer WHERE dealer_id = ?1 ORDER BY num"
                              : "SELECT " CUSTOMER_COLUMNS " FROM customer ORDER BY num",
                       SCAN_CUSTOMERS, &si);
    if (rc)
        return rc;
    if (scoped)
        sqlite3_bind_text(si->st, 1, scope->dealer_id, -1, SQLITE_TRANSIENT);
    *out = &si->parent;
    return 0;
}

/* ---- schema --------------------------------------------------------- */

static int pragma_int(sqlite_backend *s, const char *sql, int *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return fail(s, rc, "open");
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : fail(s, rc, "open");
}

static int sb_schema_version(crm_backend *b, int *out)
{
    return pragma_int(self_of(b), "PRAGMA user_version", out);
}

/* Refuse what we must not touch: a newer schema, or a file of another
 * application. Runs before anything writes to the file. */
static int check_database(sqlite_backend *s, const char *path, int *version)
{
    int app_id = 0, tables = 0;
    int rc = pragma_int(s, "PRAGMA application_id", &app_id);
    if (rc == 0)
        rc = pragma_int(s, "PRAGMA user_version", version);
    if (rc == 0)
        rc = pragma_int(s, "SELECT count(*) FROM sqlite_schema", &tables);
    if (rc)
        return crm_error_set(CRM_ESTORAGE, "%s: cannot read the database: %s", path, crm_error_last()->message);
    if (app_id != CRM_SQLITE_APPLICATION_ID && (tables > 0 || *version != 0))
        return crm_error_set(CRM_ESTORAGE,
                             "%s: not a crmcore database (application_id 0x%08x, %d schema objects); "
                             "refusing to change it",
                             path, (unsigned)app_id, tables);
    if (*version > latest_schema())
        return crm_error_set(CRM_ESTORAGE,
                             "%s: schema version %d is newer than this library supports (%d); "
                             "open it with a newer libcrm",
                             path, *version, latest_schema());
    return 0;
}

static int migrate(sqlite_backend *s, const char *path)
{
    int rc = sb_tx_begin(&s->parent);
    if (rc)
        return rc;
    int version = 0;
    /* Read again inside the write lock: another process may have migrated
     * between our check and now. */
    rc = check_database(s, path, &version);
    for (int i = 0; rc == 0 && i < crm_sqlite_migrations_count; i++) {
        const crm_migration *m = &crm_sqlite_migrations[i];
        if (m->number <= version)
            continue;
        char *err = NULL;
        int src = sqlite3_exec(s->db, m->sql, NULL, NULL, &err);
        if (src != SQLITE_OK) {
            rc = crm_error_set(CRM_ESTORAGE, "%s: migration %04d_%s failed: %s", path, m->number, m->name,
                               err ? err : sqlite3_errstr(src));
            sqlite3_free(err);
            break;
        }
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", m->number);
        src = sqlite3_exec(s->db, pragma, NULL, NULL, NULL);
        if (src == SQLITE_OK) {
            snprintf(pragma, sizeof pragma, "PRAGMA application_id = %d", CRM_SQLITE_APPLICATION_ID);
            src = sqlite3_exec(s->db, pragma, NULL, NULL, NULL);
        }
        if (src != SQLITE_OK)
            rc = fail(s, src, "migration");
    }
    if (rc) {
        int saved = rc;
        char msg[512];
        snprintf(msg, sizeof msg, "%s", crm_error_last()->message);
        sb_tx_rollback(&s->parent);
        return crm_error_set(saved, "%s", msg);
    }
    return sb_tx_commit(&s->parent);
}

static void sb_free(crm_backend *b)
{
    sqlite_backend *s = self_of(b);
    if (!s)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    if (s->db) {
        if (!sqlite3_get_autocommit(s->db))
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close_v2(s->db);
    }
    free(s->row);
    free(s);
}

int crm_sqlite_backend_open(crm_backend **out, const char *path, const crm_db_options *opts)
{
    crm_db_options defaults = CRM_DB_OPTIONS_INIT;
    if (!out || !path)
        return crm_error_set(CRM_EINVALID, "uri: required");
    if (!opts)
        opts = &defaults;
    if (opts->version < 1 || opts->version > CRM_DB_OPTIONS_VERSION)
        return crm_error_set(CRM_EINVALID, "options.version: %u is not supported", opts->version);
    if (opts->busy_timeout_ms < 0)
        return crm_error_set(CRM_EINVALID, "options.busy_timeout_ms: must not be negative");
    if (*path == '\0')
        return crm_error_set(CRM_EINVALID, "uri: empty path");

    sqlite_backend *s = calloc(1, sizeof *s);
    if (!s)
        return crm__error_nomem();
    s->parent.version = CRM_BACKEND_VERSION;
    s->parent.name = "sqlite";
    s->parent.free = sb_free;
    s->parent.schema_version = sb_schema_version;
    s->parent.tx_begin = sb_tx_begin;
    s->parent.tx_commit = sb_tx_commit;
    s->parent.tx_rollback = sb_tx_rollback;
    s->parent.lead_insert = sb_lead_insert;
    s->parent.lead_update = sb_lead_update;
    s->parent.lead_get = sb_lead_get;
    s->parent.lead_scan = sb_lead_scan;
    s->parent.key_put = sb_key_put;
    s->parent.key_find = sb_key_find;
    s->parent.event_append = sb_event_append;
    s->parent.event_scan = sb_event_scan;
    s->parent.model_put = sb_model_put;
    s->parent.model_get = sb_model_get;
    s->parent.stage_append = sb_stage_append;
    s->parent.stage_scan = sb_stage_scan;
    s->parent.stage_scan_entered = sb_stage_scan_entered;
    s->parent.workorder_insert = sb_wo_insert;
    s->parent.workorder_update = sb_wo_update;
    s->parent.workorder_get = sb_wo_get;
    s->parent.workorder_scan = sb_wo_scan;
    s->parent.wo_comment_insert = sb_wo_comment_insert;
    s->parent.wo_comment_scan = sb_wo_comment_scan;
    s->parent.event_scan_kind = sb_event_scan_kind;
    s->parent.review_insert = sb_review_insert;
    s->parent.review_update = sb_review_update;
    s->parent.review_get = sb_review_get;
    s->parent.review_list = sb_review_list;
    s->parent.customer_insert = sb_customer_insert;
    s->parent.customer_update = sb_customer_update;
    s->parent.customer_get = sb_customer_get;
    s->parent.identity_insert = sb_identity_insert;
    s->parent.identity_find = sb_identity_find;
    s->parent.identity_move = sb_identity_move;
    s->parent.identity_scan = sb_identity_scan;
    s->parent.lead_find_by_customer = sb_lead_find_by_customer;
    s->parent.member_insert = sb_member_insert;
    s->parent.member_update = sb_member_update;
    s->parent.member_get = sb_member_get;
    s->parent.points_insert = sb_points_insert;
    s->parent.points_update = sb_points_update;
    s->parent.points_get = sb_points_get;
    s->parent.points_find_key = sb_points_find_key;
    s->parent.points_scan = sb_points_scan;
    s->parent.points_batch_scan = sb_points_batch_scan;
    s->parent.points_use_insert = sb_points_use_insert;
    s->parent.points_use_scan = sb_points_use_scan;
    s->parent.customer_get_num = sb_customer_get_num;
    s->parent.customer_facts_scan = sb_customer_facts_scan;
    s->parent.tag_get = sb_tag_get;
    s->parent.tag_put = sb_tag_put;
    s->parent.tag_scan = sb_tag_scan;
    s->parent.tag_assignment_put = sb_tag_assignment_put;
    s->parent.tag_assignment_delete = sb_tag_assignment_delete;
    s->parent.tag_assignment_scan = sb_tag_assignment_scan;
    s->parent.vehicle_put = sb_vehicle_put;
    s->parent.vehicle_get = sb_vehicle_get;
    s->parent.vehicle_person_put = sb_vehicle_person_put;
    s->parent.vehicle_person_scan = sb_vehicle_person_scan;
    s->parent.customer_scan = sb_customer_scan;
    s->parent.key_scan = sb_key_scan;
    s->parent.key_delete = sb_key_delete;
    s->parent.lead_merge_insert = sb_merge_insert;
    s->parent.lead_merge_update = sb_merge_update;
    s->parent.lead_merge_get = sb_merge_get;
    s->parent.lead_merge_list = sb_merge_list;

    bool memory = strcmp(path, ":memory:") == 0;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    if (opts->create || memory)
        flags |= SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        int code = (rc & 0xFF) == SQLITE_CANTOPEN && !opts->create ? CRM_ENOTFOUND : CRM_ESTORAGE;
        crm_error_set(code, "%s: cannot open: %s", path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        sb_free(&s->parent);
        return code;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, opts->busy_timeout_ms);
    if (register_functions(s->db) != SQLITE_OK) {
        crm_error_set(CRM_ESTORAGE, "%s: cannot register SQL functions: %s", path, sqlite3_errmsg(s->db));
        sb_free(&s->parent);
        return CRM_ESTORAGE;
    }

    int version = 0;
    rc = check_database(s, path, &version);
    if (rc == 0 && !memory) {
        /* WAL lets readers go on while one writer commits; NORMAL sync is
         * safe from corruption in WAL (a power cut may lose the last commits). */
        char *mode = NULL;
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW)
                mode = crm__strdup(col_text(st, 0));
            sqlite3_finalize(st);
        }
        if (!mode || strcmp(mode, "wal") != 0)
            rc = crm_error_set(CRM_ESTORAGE, "%s: cannot switch to WAL journal mode (%s)", path,
                               mode ? mode : sqlite3_errmsg(s->db));
        free(mode);
    }
    /* temp_store: savepoint journals stay in memory. wal_autocheckpoint:
     * let the WAL grow to 64 MiB before copying it back; at the default
     * 4 MiB a batched import checkpoints (and syncs) on nearly every
     * commit, which measured 12.7k against 19k leads/s (docs/benchmarks.md).
     * cache_size: up to 64 MiB of pages (allocated as the database grows,
     * so a small one costs little); online matching touches match keys all
     * over their index, and at SQLite's 2 MiB default each touch was a read
     * from the WAL: 7.1k against 12.9k leads/s at 100k leads. */
    if (rc == 0 && sqlite3_exec(s->db,
                                "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY; "
                                "PRAGMA wal_autocheckpoint=16384; PRAGMA cache_size=-65536",
                                NULL, NULL, NULL) != SQLITE_OK)
        rc = fail(s, sqlite3_errcode(s->db), "open");
    if (rc == 0 && version < latest_schema())
        rc = migrate(s, path);
    if (rc) {
        sb_free(&s->parent);
        return rc;
    }
    *out = &s->parent;
    return 0;
}
