/*
 * The embedded SQLite backend.
 *
 * Point operations use statements prepared once and cached on the handle;
 * scans prepare their own statement so that several iterators can stream
 * at once. Rows handed to the core are copied into a buffer owned by the
 * backend, so no statement is left open between calls.
 */
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/migration.h"
#include "util/util.h"

extern const crm_migration crm_sqlite_migrations[];
extern const int crm_sqlite_migrations_count;

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
    ST_COUNT
};

#define LEAD_COLUMNS                                                                          \
    "id, channel, campaign, name, phone, email, wechat_openid, wechat_unionid, province, city, " \
    "dealer_id, owner_id, model, purchase_timeline, test_drive, status, score, grade, "         \
    "customer_id, attributes, created_at, updated_at"

#define STAGE_COLUMNS "lead_id, seq, status, entered_at, dealer_id, owner_id, actor, reason"
#define MODEL_COLUMNS "id, name, version, kind, trained_at, saved_at, auc, features, body"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SAVEPOINT] = "SAVEPOINT crm",
    [ST_RELEASE] = "RELEASE crm",
    [ST_ROLLBACK_TO] = "ROLLBACK TO crm",
    [ST_LEAD_INSERT] = ("INSERT INTO lead (" LEAD_COLUMNS ") VALUES "
                        "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22)"),
    [ST_LEAD_UPDATE] = ("UPDATE lead SET channel=?2, campaign=?3, name=?4, phone=?5, email=?6, "
                       "wechat_openid=?7, wechat_unionid=?8, province=?9, city=?10, dealer_id=?11, "
                       "owner_id=?12, model=?13, purchase_timeline=?14, test_drive=?15, status=?16, "
                       "score=?17, grade=?18, customer_id=?19, attributes=?20, created_at=?21, "
                       "updated_at=?22 WHERE id=?1"),
    [ST_LEAD_GET] = "SELECT " LEAD_COLUMNS " FROM lead WHERE id=?1",
    [ST_LEAD_GET_SCOPED] = "SELECT " LEAD_COLUMNS " FROM lead WHERE id=?1 AND dealer_id=?2",
    [ST_KEY_PUT] = "INSERT OR IGNORE INTO match_key (kind, key, entity_id) VALUES (?1, ?2, ?3)",
    [ST_KEY_FIND] = "SELECT entity_id FROM match_key WHERE kind=?1 AND key=?2 ORDER BY entity_id",
    [ST_EVENT_APPEND] = ("INSERT INTO event (id, at, kind, entity_type, entity_id, dealer_id, actor, data) "
                         "VALUES (?1,?2,?3,?4,?5,?6,?7,?8)"),
    [ST_MODEL_PUT] = ("INSERT INTO score_model (id, name, version, kind, trained_at, saved_at, auc, features, body) "
                      "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)"),
    [ST_MODEL_GET] = ("SELECT " MODEL_COLUMNS " FROM score_model WHERE name=?1 AND version=?2"),
    [ST_MODEL_GET_NEWEST] = ("SELECT " MODEL_COLUMNS " FROM score_model WHERE name=?1 "
                             "ORDER BY version DESC LIMIT 1"),
    [ST_STAGE_APPEND] = ("INSERT INTO lead_stage (lead_id, seq, status, entered_at, dealer_id, owner_id, actor, "
                         "reason) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)"),
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
}

static int sb_lead_write(crm_backend *b, const crm_lead *lead, enum stmt_id id)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st;
    int rc = stmt_get(s, id, &st);
    if (rc)
        return rc;
    bind_lead(st, lead);
    rc = sqlite3_step(st);
    int changed = sqlite3_changes(s->db);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return fail(s, rc, id == ST_LEAD_INSERT ? "lead insert" : "lead update");
    if (id == ST_LEAD_UPDATE && changed == 0)
        return crm_error_set(CRM_ENOTFOUND, "lead %s: not found", lead->id);
    return 0;
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
    bool scoped = scope && scope->dealer_id;
    sqlite3_stmt *st;
    int rc = stmt_get(s, scoped ? ST_LEAD_GET_SCOPED : ST_LEAD_GET, &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (scoped)
        sqlite3_bind_text(st, 2, scope->dealer_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_lead_row(st, out);
        const char **fields[] = { &out->id, &out->channel, &out->campaign, &out->name, &out->phone,
                                  &out->email, &out->wechat_openid, &out->wechat_unionid,
                                  &out->province, &out->city, &out->dealer_id, &out->owner_id,
                                  &out->model, &out->grade, &out->customer_id, &out->attributes };
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

/* ---- scans ---------------------------------------------------------- */

typedef enum { SCAN_LEADS, SCAN_EVENTS, SCAN_STAGES } scan_kind;

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
    size_t n = (size_t)snprintf(sql, sizeof sql, "SELECT " LEAD_COLUMNS " FROM lead WHERE 1");
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
        if (f->limit)
            sqlite3_bind_int64(si->st, 7, f->limit > (size_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)f->limit);
    }
    *out = &si->parent;
    return 0;
}

/* ---- match keys ----------------------------------------------------- */

static int sb_key_put(crm_backend *b, const char *kind, const char *key, const char *id)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st;
    int rc = stmt_get(s, ST_KEY_PUT, &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : fail(s, rc, "key put");
}

static int sb_key_find(crm_backend *b, const char *kind, const char *key, crm_backend_id_cb cb,
                       void *payload)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st;
    int rc = stmt_get(s, ST_KEY_FIND, &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    /* The callback may call back into the backend (a lead_get of the
     * candidate), so ids are collected first and the statement is reset
     * before any callback runs. Key lists are short: blocking keeps them so. */
    char (*ids)[CRM_ID_LEN + 1] = NULL;
    size_t count = 0, cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = col_text(st, 0);
        if (!id || strlen(id) > CRM_ID_LEN)
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
        return fail(s, rc, "key find");
    }
    for (size_t i = 0; i < count; i++)
        if (cb(ids[i], payload))
            break;
    free(ids);
    return 0;
}

/* ---- events --------------------------------------------------------- */

static int sb_event_append(crm_backend *b, const crm_event *e)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st;
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
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : fail(s, rc, "event append");
}

/* ---- scoring models (issue 4) ------------------------------------------ */

static int sb_model_put(crm_backend *b, const crm_model_record *m)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st;
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
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : fail(s, rc, "model put");
}

static int sb_model_get(crm_backend *b, const char *name, int version, crm_model_record *out)
{
    sqlite_backend *s = self_of(b);
    sqlite3_stmt *st;
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
    sqlite3_stmt *st;
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
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : fail(s, rc, "stage append");
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

/* ---- schema --------------------------------------------------------- */

static int pragma_int(sqlite_backend *s, const char *sql, int *out)
{
    sqlite3_stmt *st;
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
    if (*version > crm_sqlite_migrations_count)
        return crm_error_set(CRM_ESTORAGE,
                             "%s: schema version %d is newer than this library supports (%d); "
                             "open it with a newer libcrm",
                             path, *version, crm_sqlite_migrations_count);
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
    for (int i = version; rc == 0 && i < crm_sqlite_migrations_count; i++) {
        const crm_migration *m = &crm_sqlite_migrations[i];
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
     * commit, which measured 12.7k against 19k leads/s (docs/benchmarks.md). */
    if (rc == 0 && sqlite3_exec(s->db,
                                "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY; "
                                "PRAGMA wal_autocheckpoint=16384",
                                NULL, NULL, NULL) != SQLITE_OK)
        rc = fail(s, sqlite3_errcode(s->db), "open");
    if (rc == 0 && version < crm_sqlite_migrations_count)
        rc = migrate(s, path);
    if (rc) {
        sb_free(&s->parent);
        return rc;
    }
    *out = &s->parent;
    return 0;
}
