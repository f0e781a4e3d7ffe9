/*
 * crmcore bindings — the thin C layer under the SWIG interface (support.h).
 */
#include "support.h"

#include <cjson/cJSON.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* ---- errors ---------------------------------------------------------------- */

/*
 * One status per thread, like crm_error_last(). A copy rather than a pointer
 * to the library's error: the next library call on the thread may overwrite
 * that, and this layer has errors of its own (a closed handle). The buffer is
 * fixed so that threads that end leave nothing behind.
 */
#define CRMB_MSG_MAX 1024
static _Thread_local int err_code;
static _Thread_local char err_msg[CRMB_MSG_MAX];

void crmb_err_reset(void)
{
    err_code = 0;
    err_msg[0] = '\0';
}

int crmb_err_code(void)
{
    return err_code;
}

const char *crmb_err_message(void)
{
    return err_msg;
}

/* Copy at most CRMB_MSG_MAX - 1 bytes, cutting only between UTF-8 characters. */
static void set_message(const char *msg)
{
    size_t n = strlen(msg);
    if (n >= CRMB_MSG_MAX) {
        n = CRMB_MSG_MAX - 1;
        while (n > 0 && ((unsigned char)msg[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(err_msg, msg, n);
    err_msg[n] = '\0';
}

static void fail_msg(int code, const char *fmt, ...)
{
    char buf[CRMB_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    err_code = code;
    set_message(buf);
}

/* Record a failed library call; returns rc. CRM_ITEROVER is not a failure. */
static int check(int rc)
{
    if (rc < 0 && rc != CRM_ITEROVER) {
        const crm_error *e = crm_error_last();
        err_code = rc;
        set_message(e->code == rc && e->message[0] ? e->message : crm_error_name(rc));
    }
    return rc;
}

/* ---- handle ---------------------------------------------------------------- */

enum cursor_kind { CURSOR_LEADS, CURSOR_EVENTS };

enum cursor_state {
    CURSOR_OPEN,     /* iterating */
    CURSOR_DONE,     /* exhausted or closed by its user: yields nothing more */
    CURSOR_ORPHANED  /* its database was closed under it: using it is an error */
};

typedef struct crmb_cursor {
    enum cursor_kind kind;
    enum cursor_state state;
    crmb_handle *owner;   /* set while linked into owner->cursors */
    crm_iter *iter;   /* set while CURSOR_OPEN */
    struct crmb_cursor *prev, *next;
} crmb_cursor;

/* The public cursor types embed the common part first, so a pointer to
 * either is a pointer to its crmb_cursor. */
struct crmb_lead_iter { crmb_cursor base; };
struct crmb_event_iter { crmb_cursor base; };

struct crmb_handle {
    crm_db *db;               /* NULL once closed */
    crmb_cursor *cursors;     /* the live iterators, to end before closing */
    crm_lead *last_lead;      /* what crmb_db_get_lead returned last */
    crm_ingest_result last_ingest;
    char actor[129];          /* the library has no getter; 128 bytes + NUL */
};

static void cursor_unlink(crmb_cursor *c)
{
    if (c->owner == NULL)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        c->owner->cursors = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    c->owner = NULL;
}

/* Free the library iterator and stop tracking; the wrapper stays. */
static void cursor_end(crmb_cursor *c, enum cursor_state state)
{
    crm_iter_free(c->iter);
    c->iter = NULL;
    cursor_unlink(c);
    c->state = state;
}

static crm_db *open_db(crmb_handle *h)
{
    if (h == NULL || h->db == NULL) {
        fail_msg(CRM_ECONFLICT, "the database is closed");
        return NULL;
    }
    return h->db;
}

crmb_handle *crmb_db_open(const char *uri, int busy_timeout_ms, int create)
{
    crm_db_options opts = CRM_DB_OPTIONS_INIT;
    crmb_handle *h;
    crm_db *db = NULL;

    if (uri == NULL) {
        fail_msg(CRM_EINVALID, "uri: must not be null");
        return NULL;
    }
    opts.busy_timeout_ms = busy_timeout_ms;
    opts.create = create ? 1 : 0;
    h = calloc(1, sizeof *h);
    if (h == NULL) {
        fail_msg(CRM_ENOMEM, "out of memory");
        return NULL;
    }
    if (check(crm_db_open(&db, uri, &opts)) < 0) {
        free(h);
        return NULL;
    }
    h->db = db;
    strcpy(h->actor, "system");
    return h;
}

void crmb_db_close(crmb_handle *h)
{
    if (h == NULL)
        return;
    /* The C API wants the database to outlive its iterators. */
    while (h->cursors)
        cursor_end(h->cursors, CURSOR_ORPHANED);
    crm_lead_free(h->last_lead);
    h->last_lead = NULL;
    crm_db_close(h->db);
    h->db = NULL;
}

void crmb_db_free(crmb_handle *h)
{
    if (h == NULL)
        return;
    crmb_db_close(h);
    free(h);
}

int crmb_db_is_open(const crmb_handle *h)
{
    return h != NULL && h->db != NULL;
}

int crmb_db_schema_version(crmb_handle *h)
{
    int v = 0;
    crm_db *db = open_db(h);
    if (db == NULL || check(crm_db_schema_version(&v, db)) < 0)
        return -1;
    return v;
}

void crmb_db_begin(crmb_handle *h)
{
    crm_db *db = open_db(h);
    if (db)
        check(crm_db_begin(db));
}

void crmb_db_commit(crmb_handle *h)
{
    crm_db *db = open_db(h);
    if (db)
        check(crm_db_commit(db));
}

void crmb_db_rollback(crmb_handle *h)
{
    crm_db *db = open_db(h);
    if (db)
        check(crm_db_rollback(db));
}

int crmb_db_transaction_depth(crmb_handle *h)
{
    crm_db *db = open_db(h);
    return db ? crm_db_transaction_depth(db) : -1;
}

void crmb_db_set_scope(crmb_handle *h, const char *dealer_id)
{
    crm_db *db = open_db(h);
    if (db)
        check(crm_db_set_scope(db, dealer_id));
}

const char *crmb_db_scope(crmb_handle *h)
{
    crm_db *db = open_db(h);
    return db ? crm_db_scope(db) : NULL;
}

void crmb_db_enable_matching(crmb_handle *h, const char *config)
{
    crm_db *db = open_db(h);
    if (db != NULL)
        check(crm_match_enable(db, config));
}

int64_t crmb_db_match_index(crmb_handle *h)
{
    size_t n = 0;
    crm_db *db = open_db(h);
    if (db == NULL || check(crm_match_index(&n, db)) < 0)
        return -1;
    return (int64_t)n;
}

int64_t crmb_lead_judge_all(crmb_handle *h)
{
    size_t n = 0;
    crm_db *db = open_db(h);
    if (db == NULL || check(crm_lead_judge_all(&n, db)) < 0)
        return -1;
    return (int64_t)n;
}

void crmb_db_disable_matching(crmb_handle *h)
{
    crm_db *db = open_db(h);
    if (db != NULL)
        crm_match_disable(db);
}

void crmb_db_enable_scoring(crmb_handle *h, const char *model_json)
{
    crm_db *db = open_db(h);
    if (db != NULL)
        check(crm_score_enable(db, model_json));
}

void crmb_db_disable_scoring(crmb_handle *h)
{
    crm_db *db = open_db(h);
    if (db != NULL)
        crm_score_disable(db);
}

char *crmb_db_reviews(crmb_handle *h, const char *status, int limit)
{
    char *out = NULL;
    crm_db *db = open_db(h);
    if (db == NULL)
        return NULL;
    if (check(crm_review_list_json(&out, db, status, limit)) < 0)
        return NULL;
    return out;
}

void crmb_db_review_decide(crmb_handle *h, const char *id, int accept)
{
    crm_db *db = open_db(h);
    if (db != NULL)
        check(crm_review_decide(db, id, accept));
}

char *crmb_db_merge(crmb_handle *h, const char *survivor_id, const char *other_id, const char *rules)
{
    char *id = NULL, *out = NULL;
    crm_db *db = open_db(h);
    if (db == NULL || check(crm_lead_merge(&id, db, survivor_id, other_id, rules)) < 0)
        return NULL;
    check(crm_lead_merge_get_json(&out, db, id));
    crm_free(id);
    return out;
}

void crmb_db_unmerge(crmb_handle *h, const char *merge_id)
{
    crm_db *db = open_db(h);
    if (db != NULL)
        check(crm_lead_unmerge(db, merge_id));
}

char *crmb_db_merge_get(crmb_handle *h, const char *merge_id)
{
    char *out = NULL;
    crm_db *db = open_db(h);
    if (db == NULL || check(crm_lead_merge_get_json(&out, db, merge_id)) < 0)
        return NULL;
    return out;
}

char *crmb_db_merges(crmb_handle *h, const char *lead_id, int limit)
{
    char *out = NULL;
    crm_db *db = open_db(h);
    if (db == NULL || check(crm_lead_merge_list_json(&out, db, lead_id, limit)) < 0)
        return NULL;
    return out;
}

char *crmb_db_dedupe_leads(crmb_handle *h, const char *config, int apply)
{
    char *out = NULL;
    crm_db *db = open_db(h);
    if (db == NULL || check(crm_lead_dedupe_json(&out, db, config, apply)) < 0)
        return NULL;
    return out;
}

void crmb_db_set_actor(crmb_handle *h, const char *actor)
{
    crm_db *db = open_db(h);
    if (db == NULL)
        return;
    if (actor == NULL) {
        fail_msg(CRM_EINVALID, "actor: must not be null");
        return;
    }
    if (check(crm_db_set_actor(db, actor)) == 0) {
        size_t n = strlen(actor);
        if (n >= sizeof h->actor)
            n = sizeof h->actor - 1;
        memcpy(h->actor, actor, n);
        h->actor[n] = '\0';
    }
}

const char *crmb_db_actor(crmb_handle *h)
{
    return open_db(h) ? h->actor : NULL;
}

void crmb_db_set_time(crmb_handle *h, int64_t unix_ms)
{
    crm_db *db = open_db(h);
    if (db == NULL)
        return;
    if (unix_ms < 0) {
        fail_msg(CRM_EINVALID, "time: must not be negative (0 returns to the system clock)");
        return;
    }
    crm_db_set_time(db, unix_ms);
}

int64_t crmb_db_now(crmb_handle *h)
{
    crm_db *db = open_db(h);
    return db ? crm_db_now(db) : 0;
}

const crm_ingest_result *crmb_db_ingest(crmb_handle *h, const char *json, size_t len)
{
    crm_db *db = open_db(h);
    if (db == NULL)
        return NULL;
    if (json == NULL) {
        fail_msg(CRM_EINVALID, "lead: expected a JSON object, got null");
        return NULL;
    }
    memset(&h->last_ingest, 0, sizeof h->last_ingest);
    if (check(crm_lead_ingest_n(&h->last_ingest, db, json, len)) < 0)
        return NULL;
    return &h->last_ingest;
}

char *crmb_db_get_json(crmb_handle *h, const char *id)
{
    char *out = NULL;
    crm_db *db = open_db(h);
    if (db == NULL)
        return NULL;
    if (id == NULL) {
        fail_msg(CRM_EINVALID, "id: must not be null");
        return NULL;
    }
    if (check(crm_lead_get_json(&out, db, id)) < 0)
        return NULL;
    return out;
}

const crm_lead *crmb_db_get_lead(crmb_handle *h, const char *id)
{
    crm_lead *lead = NULL;
    crm_db *db = open_db(h);
    if (db == NULL)
        return NULL;
    if (id == NULL) {
        fail_msg(CRM_EINVALID, "id: must not be null");
        return NULL;
    }
    if (check(crm_lead_get(&lead, db, id)) < 0)
        return NULL;
    crm_lead_free(h->last_lead);
    h->last_lead = lead;
    return lead;
}

static void cursor_link(crmb_handle *h, crmb_cursor *c, enum cursor_kind kind, crm_iter *it)
{
    c->kind = kind;
    c->state = CURSOR_OPEN;
    c->iter = it;
    c->owner = h;
    c->prev = NULL;
    c->next = h->cursors;
    if (h->cursors)
        h->cursors->prev = c;
    h->cursors = c;
}

crmb_lead_iter *crmb_db_leads(crmb_handle *h, unsigned int statuses,
                                const char *dealer_id, const char *channel,
                                int64_t created_from, int64_t created_to,
                                int64_t limit, unsigned int qualities)
{
    crm_lead_filter f = CRM_LEAD_FILTER_INIT;
    crmb_lead_iter *c;
    crm_iter *it = NULL;
    crm_db *db = open_db(h);

    if (db == NULL)
        return NULL;
    if (limit < 0) {
        fail_msg(CRM_EINVALID, "filter.limit: must not be negative");
        return NULL;
    }
    if (created_from < 0 || created_to < 0) {
        fail_msg(CRM_EINVALID, "filter.%s: must not be negative",
                 created_from < 0 ? "created_from" : "created_to");
        return NULL;
    }
    if (statuses >> CRM_LEAD_STATUS_COUNT) {
        fail_msg(CRM_EINVALID, "filter.statuses: unknown status bits 0x%x", statuses);
        return NULL;
    }
    if (qualities >> CRM_LEAD_QUALITY_COUNT) {
        fail_msg(CRM_EINVALID, "filter.qualities: unknown quality bits 0x%x", qualities);
        return NULL;
    }
    f.statuses = statuses;
    f.qualities = qualities;
    f.dealer_id = dealer_id;
    f.channel = channel;
    f.created_from = created_from;
    f.created_to = created_to;
    f.limit = (size_t)limit;
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        fail_msg(CRM_ENOMEM, "out of memory");
        return NULL;
    }
    if (check(crm_lead_iter_new(&it, db, &f)) < 0) {
        free(c);
        return NULL;
    }
    cursor_link(h, &c->base, CURSOR_LEADS, it);
    return c;
}

crmb_event_iter *crmb_db_events(crmb_handle *h, const char *entity_id)
{
    crmb_event_iter *c;
    crm_iter *it = NULL;
    crm_db *db = open_db(h);

    if (db == NULL)
        return NULL;
    if (entity_id == NULL) {
        fail_msg(CRM_EINVALID, "id: must not be null");
        return NULL;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        fail_msg(CRM_ENOMEM, "out of memory");
        return NULL;
    }
    if (check(crm_event_iter_new(&it, db, entity_id)) < 0) {
        free(c);
        return NULL;
    }
    cursor_link(h, &c->base, CURSOR_EVENTS, it);
    return c;
}

crmb_event_iter *crmb_db_events_of_kind(crmb_handle *h, const char *kind, int64_t since)
{
    crmb_event_iter *c;
    crm_iter *it = NULL;
    crm_db *db = open_db(h);

    if (db == NULL)
        return NULL;
    if (kind == NULL) {
        fail_msg(CRM_EINVALID, "kind: must not be null");
        return NULL;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        fail_msg(CRM_ENOMEM, "out of memory");
        return NULL;
    }
    if (check(crm_workorder_events_iter_new(&it, db, kind, since)) < 0) {
        free(c);
        return NULL;
    }
    cursor_link(h, &c->base, CURSOR_EVENTS, it);
    return c;
}

/* ---- iterators ------------------------------------------------------------- */

/* 1 when the cursor can be advanced; 0 at its end or on an error (status set). */
static int cursor_ready(crmb_cursor *c)
{
    if (c == NULL) {
        fail_msg(CRM_ECONFLICT, "the iterator is closed");
        return 0;
    }
    switch (c->state) {
    case CURSOR_OPEN:
        return 1;
    case CURSOR_DONE:
        return 0;
    case CURSOR_ORPHANED:
    default:
        fail_msg(CRM_ECONFLICT, "the database of this iterator is closed");
        return 0;
    }
}

/* After a call to a *_next function: end the cursor at CRM_ITEROVER so the
 * storage statement is released at once, not when the wrapper is collected. */
static int cursor_after(crmb_cursor *c, int rc)
{
    if (rc == CRM_ITEROVER)
        cursor_end(c, CURSOR_DONE);
    return check(rc);
}

const crm_lead *crmb_lead_cursor_next(crmb_lead_iter *c)
{
    const crm_lead *lead = NULL;
    if (!cursor_ready(c ? &c->base : NULL))
        return NULL;
    if (cursor_after(&c->base, crm_lead_next(&lead, c->base.iter)) < 0)
        return NULL;
    return lead;
}

char *crmb_lead_cursor_next_json(crmb_lead_iter *c)
{
    char *out = NULL;
    const crm_lead *lead = crmb_lead_cursor_next(c);
    if (lead == NULL || check(crm_lead_to_json(&out, lead)) < 0)
        return NULL;
    return out;
}

void crmb_lead_cursor_close(crmb_lead_iter *c)
{
    if (c && c->base.state == CURSOR_OPEN)
        cursor_end(&c->base, CURSOR_DONE);
}

void crmb_lead_cursor_free(crmb_lead_iter *c)
{
    if (c == NULL)
        return;
    crm_iter_free(c->base.iter);
    cursor_unlink(&c->base);
    free(c);
}

const crm_event *crmb_event_cursor_next(crmb_event_iter *c)
{
    const crm_event *ev = NULL;
    if (!cursor_ready(c ? &c->base : NULL))
        return NULL;
    if (cursor_after(&c->base, crm_event_next(&ev, c->base.iter)) < 0)
        return NULL;
    return ev;
}

char *crmb_event_cursor_next_json(crmb_event_iter *c)
{
    char *out = NULL;
    const crm_event *ev = crmb_event_cursor_next(c);
    if (ev == NULL || check(crm_event_to_json(&out, ev)) < 0)
        return NULL;
    return out;
}

void crmb_event_cursor_close(crmb_event_iter *c)
{
    if (c && c->base.state == CURSOR_OPEN)
        cursor_end(&c->base, CURSOR_DONE);
}

void crmb_event_cursor_free(crmb_event_iter *c)
{
    if (c == NULL)
        return;
    crm_iter_free(c->base.iter);
    cursor_unlink(&c->base);
    free(c);
}

/* ---- work orders and SLAs --------------------------------------------------- */

/* A copy the caller frees with crm_free; NULL with the status set. */
static char *dup_or_fail(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p == NULL) {
        fail_msg(CRM_ENOMEM, "out of memory");
        return NULL;
    }
    memcpy(p, s, n);
    return p;
}

static int need(const void *v, const char *what)
{
    if (v == NULL) {
        fail_msg(CRM_EINVALID, "%s: must not be null", what);
        return -1;
    }
    return 0;
}

char *crmb_wo_create(crmb_handle *h, const char *json)
{
    char id[CRM_ID_LEN + 1];
    crm_db *db = open_db(h);
    if (db == NULL || need(json, "json") < 0 || check(crm_workorder_create(id, db, json)) < 0)
        return NULL;
    return dup_or_fail(id);
}

void crmb_wo_assign(crmb_handle *h, const char *id, const char *assignee, const char *queue)
{
    crm_db *db = open_db(h);
    if (db && need(id, "id") == 0 && need(assignee, "assignee") == 0)
        check(crm_workorder_assign(db, id, assignee, queue));
}

void crmb_wo_move(crmb_handle *h, const char *id, const char *status, const char *note)
{
    crm_wo_status to;
    crm_db *db = open_db(h);
    if (db && need(id, "id") == 0 && need(status, "status") == 0 && check(crm_wo_status_parse(&to, status)) == 0)
        check(crm_workorder_move(db, id, to, note));
}

char *crmb_wo_comment(crmb_handle *h, const char *id, const char *body, int is_public)
{
    char cid[CRM_ID_LEN + 1];
    crm_db *db = open_db(h);
    if (db == NULL || need(id, "id") < 0 || need(body, "body") < 0 ||
        check(crm_workorder_comment(cid, db, id, body, is_public ? CRM_WO_PUBLIC : CRM_WO_INTERNAL)) < 0)
        return NULL;
    return dup_or_fail(cid);
}

char *crmb_wo_get_json(crmb_handle *h, const char *id)
{
    char *out = NULL;
    crm_db *db = open_db(h);
    if (db == NULL || need(id, "id") < 0 || check(crm_workorder_get_json(&out, db, id)) < 0)
        return NULL;
    return out;
}

/* Growable "[a,b,...]" text. */
typedef struct json_array {
    char *text;
    size_t len, cap;
} json_array;

static int array_add(json_array *a, const char *item)
{
    size_t n = strlen(item);
    if (a->len + n + 3 > a->cap) {
        size_t cap = (a->len + n + 3) * 2;
        char *p = realloc(a->text, cap);
        if (p == NULL) {
            fail_msg(CRM_ENOMEM, "out of memory");
            return -1;
        }
        a->text = p;
        a->cap = cap;
    }
    a->text[a->len] = a->len == 0 ? '[' : ',';
    a->len++;
    memcpy(a->text + a->len, item, n);
    a->len += n;
    return 0;
}

static char *array_end(json_array *a)
{
    if (a->len == 0) {
        free(a->text);
        return dup_or_fail("[]");
    }
    a->text[a->len++] = ']';
    a->text[a->len] = '\0';
    return a->text;
}

char *crmb_wo_list_json(crmb_handle *h, const char *statuses, const char *queue, const char *assignee,
                        const char *type, int64_t limit)
{
    crm_workorder_filter f = CRM_WORKORDER_FILTER_INIT;
    crm_db *db = open_db(h);
    crm_iter *it = NULL;
    const crm_workorder *w;
    json_array a = { NULL, 0, 0 };
    int rc;
    if (db == NULL)
        return NULL;
    if (limit < 0) {
        fail_msg(CRM_EINVALID, "limit: must not be negative");
        return NULL;
    }
    if (statuses != NULL && *statuses) {
        char buf[256];
        char *save = NULL, *s;
        snprintf(buf, sizeof buf, "%s", statuses);
        for (s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
            crm_wo_status st;
            if (check(crm_wo_status_parse(&st, s)) < 0)
                return NULL;
            f.statuses |= 1u << st;
        }
    }
    f.queue = queue;
    f.assignee = assignee;
    f.type = type;
    f.limit = (size_t)limit;
    if (check(crm_workorder_iter_new(&it, db, &f)) < 0)
        return NULL;
    while ((rc = crm_workorder_next(&w, it)) == 0) {
        char *j = NULL;
        if (check(crm_workorder_to_json(&j, w)) < 0 || array_add(&a, j) < 0) {
            crm_free(j);
            rc = -1;
            break;
        }
        crm_free(j);
    }
    crm_iter_free(it);
    if (rc != CRM_ITEROVER) {
        check(rc);
        free(a.text);
        return NULL;
    }
    return array_end(&a);
}

char *crmb_wo_comments_json(crmb_handle *h, const char *id)
{
    crm_db *db = open_db(h);
    crm_iter *it = NULL;
    const crm_wo_comment *c;
    json_array a = { NULL, 0, 0 };
    int rc;
    if (db == NULL || need(id, "id") < 0 || check(crm_wo_comment_iter_new(&it, db, id)) < 0)
        return NULL;
    while ((rc = crm_wo_comment_next(&c, it)) == 0) {
        char at[CRM_TIME_TEXT_SIZE];
        cJSON *o = cJSON_CreateObject();
        char *j;
        crm_time_format(at, c->at);
        cJSON_AddStringToObject(o, "id", c->id);
        cJSON_AddStringToObject(o, "at", at);
        cJSON_AddStringToObject(o, "author", c->author);
        cJSON_AddStringToObject(o, "visibility", c->visibility == CRM_WO_PUBLIC ? "public" : "internal");
        cJSON_AddStringToObject(o, "body", c->body);
        j = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (j == NULL) {
            fail_msg(CRM_ENOMEM, "out of memory");
            rc = -1;
            break;
        }
        rc = array_add(&a, j);
        cJSON_free(j);
        if (rc < 0)
            break;
    }
    crm_iter_free(it);
    if (rc != CRM_ITEROVER) {
        check(rc);
        free(a.text);
        return NULL;
    }
    return array_end(&a);
}

char *crmb_sla_escalate_json(crmb_handle *h, const char *policy_json, int64_t as_of)
{
    crm_db *db = open_db(h);
    crm_sla_policy *p = NULL;
    crm_escalation_result r;
    char buf[256];
    if (db == NULL || need(policy_json, "policy") < 0 || check(crm_sla_policy_new(&p, policy_json)) < 0)
        return NULL;
    int rc = check(crm_sla_escalate(&r, db, p, as_of ? as_of : crm_db_now(db)));
    crm_sla_policy_free(p);
    if (rc < 0)
        return NULL;
    snprintf(buf, sizeof buf, "{\"scanned\":%zu,\"warnings\":%zu,\"breaches\":%zu,\"escalations\":%zu,\"changed\":%zu}",
             r.scanned, r.warnings, r.breaches, r.escalations, r.changed);
    return dup_or_fail(buf);
}

char *crmb_sla_report_json(crmb_handle *h, const char *policy_json, const char *group_by, int64_t as_of,
                           int64_t created_from, int64_t created_to)
{
    static const char *const names[] = { "none", "queue", "dealer", "type", "month" };
    crm_sla_report_options o = CRM_SLA_REPORT_OPTIONS_INIT;
    crm_db *db = open_db(h);
    crm_sla_policy *p = NULL;
    char *out = NULL;
    int k = 0;
    if (db == NULL || need(policy_json, "policy") < 0)
        return NULL;
    if (group_by != NULL) {
        while (k < 5 && strcmp(group_by, names[k]) != 0)
            k++;
        if (k == 5) {
            fail_msg(CRM_EINVALID, "group_by: expected none, queue, dealer, type or month");
            return NULL;
        }
    }
    o.group_by = (crm_sla_group)k;
    o.as_of = as_of;
    o.created_from = created_from;
    o.created_to = created_to;
    if (check(crm_sla_policy_new(&p, policy_json)) < 0)
        return NULL;
    check(crm_sla_report(&out, db, p, &o));
    crm_sla_policy_free(p);
    return out;
}

int64_t crmb_calendar_due(const char *calendar_json, int64_t start, int64_t minutes)
{
    crm_calendar *cal = NULL;
    int64_t out = -1;
    if (check(crm_calendar_new(&cal, calendar_json)) < 0)
        return -1;
    if (check(crm_calendar_due(&out, cal, start, minutes, NULL, 0)) < 0)
        out = -1;
    crm_calendar_free(cal);
    return out;
}

int64_t crmb_calendar_minutes(const char *calendar_json, int64_t from, int64_t to)
{
    crm_calendar *cal = NULL;
    int64_t ms = 0;
    if (check(crm_calendar_new(&cal, calendar_json)) < 0)
        return -1;
    int rc = check(crm_calendar_elapsed(&ms, cal, from, to, NULL, 0));
    crm_calendar_free(cal);
    return rc < 0 ? -1 : ms / 60000;
}

/* ---- helpers --------------------------------------------------------------- */

int crmb_lead_status_parse(const char *name)
{
    crm_lead_status s;
    if (name == NULL) {
        fail_msg(CRM_EINVALID, "status: must not be null");
        return -1;
    }
    if (check(crm_lead_status_parse(&s, name)) < 0)
        return -1;
    return (int)s;
}

const char *crmb_lead_status_name(int status)
{
    if (status < 0 || status >= CRM_LEAD_STATUS_COUNT)
        return NULL;
    return crm_lead_status_name((crm_lead_status)status);
}

int crmb_lead_quality_parse(const char *name)
{
    crm_lead_quality q;
    if (name == NULL) {
        fail_msg(CRM_EINVALID, "quality: must not be null");
        return -1;
    }
    if (check(crm_lead_quality_parse(&q, name)) < 0)
        return -1;
    return (int)q;
}

const char *crmb_lead_quality_name(int quality)
{
    if (quality < 0 || quality >= CRM_LEAD_QUALITY_COUNT)
        return NULL;
    return crm_lead_quality_name((crm_lead_quality)quality);
}

void crmb_fail_for_test(int code, const char *message)
{
    fail_msg(code, "%s", message ? message : "");
}

/* ---- scoring (issue 4) ------------------------------------------------------- */

static crm_model *model_of(const char *model_json)
{
    crm_model *m = NULL;
    if (model_json == NULL)
        fail_msg(CRM_EINVALID, "model: required");
    else
        check(crm_model_from_json(&m, model_json));
    return m;
}

static char *model_text(crm_model *m)
{
    char *out = NULL;
    if (m != NULL)
        check(crm_model_to_json(&out, m));
    crm_model_free(m);
    return out;
}

static char *score_text(const crm_score *s)
{
    cJSON *o = cJSON_CreateObject(), *reasons = NULL;
    int ok = o && cJSON_AddNumberToObject(o, "score", s->score) && cJSON_AddStringToObject(o, "grade", s->grade) &&
             cJSON_AddNumberToObject(o, "probability", s->probability) &&
             (reasons = cJSON_AddArrayToObject(o, "reasons")) != NULL;
    for (size_t i = 0; ok && i < s->n_reasons; i++) {
        cJSON *r = cJSON_CreateObject();
        ok = r && cJSON_AddItemToArray(reasons, r);
        if (!ok) {
            cJSON_Delete(r);
            break;
        }
        ok = cJSON_AddStringToObject(r, "group", s->reasons[i].group) &&
             cJSON_AddStringToObject(r, "item", s->reasons[i].item) &&
             cJSON_AddNumberToObject(r, "points", s->reasons[i].points);
    }
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (text == NULL)
        fail_msg(CRM_ENOMEM, "out of memory");
    return text;
}

static int train_options(crm_train_options *o, const char *kind, const char *name, double holdout, int64_t seed,
                         double l2, double alpha, int bins, const char *crosses)
{
    *o = (crm_train_options)CRM_TRAIN_OPTIONS_INIT;
    if (kind == NULL || strcmp(kind, "logistic") == 0) {
        o->kind = CRM_MODEL_LOGISTIC;
    } else if (strcmp(kind, "naive_bayes") == 0) {
        o->kind = CRM_MODEL_NAIVE_BAYES;
    } else {
        fail_msg(CRM_EINVALID, "kind: expected \"logistic\" or \"naive_bayes\", got '%.32s'", kind);
        return -1;
    }
    o->name = name;
    if (holdout >= 0)
        o->holdout = holdout;
    if (seed >= 0)
        o->seed = (uint64_t)seed;
    if (l2 > 0)
        o->l2 = l2;
    if (alpha > 0)
        o->alpha = alpha;
    if (bins > 0)
        o->bins = bins;
    o->crosses = crosses;
    return 0;
}

char *crmb_model_save(crmb_handle *h, const char *model_json)
{
    crm_db *db = open_db(h);
    if (db == NULL)
        return NULL;
    crm_model *m = model_of(model_json);
    if (m != NULL && check(crm_model_save(db, m)) != 0) {
        crm_model_free(m);
        return NULL;
    }
    return model_text(m);
}

char *crmb_model_load(crmb_handle *h, const char *name, int version)
{
    crm_db *db = open_db(h);
    crm_model *m = NULL;
    if (db == NULL)
        return NULL;
    if (check(crm_model_load(&m, db, name, version)) != 0)
        return NULL;
    return model_text(m);
}

char *crmb_model_train_leads(crmb_handle *h, const char *kind, const char *name, double holdout, int64_t seed,
                             double l2, double alpha, int bins, const char *crosses)
{
    crm_db *db = open_db(h);
    crm_train_options o;
    crm_model *m = NULL;
    if (db == NULL || train_options(&o, kind, name, holdout, seed, l2, alpha, bins, crosses) != 0)
        return NULL;
    if (check(crm_model_train_leads(&m, db, &o)) != 0)
        return NULL;
    return model_text(m);
}

/* A JSON value as the text a dataset takes: strings as they are, numbers
 * printed, null as missing. Writes into buf (for numbers). */
static const char *cell_text(const cJSON *v, char *buf, size_t size, int *bad)
{
    if (cJSON_IsString(v))
        return v->valuestring;
    if (cJSON_IsNumber(v)) {
        snprintf(buf, size, "%.17g", v->valuedouble);
        return buf;
    }
    if (!cJSON_IsNull(v))
        *bad = 1;
    return NULL;
}

char *crmb_model_train_rows(const char *data_json, const char *kind, const char *name, double holdout,
                            int64_t seed, double l2, double alpha, int bins, const char *crosses)
{
    crm_train_options o;
    if (train_options(&o, kind, name, holdout, seed, l2, alpha, bins, crosses) != 0)
        return NULL;
    cJSON *doc = data_json ? cJSON_Parse(data_json) : NULL;
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(doc, "columns");
    const cJSON *kinds = cJSON_GetObjectItemCaseSensitive(doc, "kinds");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(doc, "rows");
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(doc, "labels");
    int n = cJSON_GetArraySize(cols);
    if (!cJSON_IsArray(cols) || !cJSON_IsArray(kinds) || !cJSON_IsArray(rows) || !cJSON_IsArray(labels) || n < 1 ||
        n > 256 || cJSON_GetArraySize(kinds) != n || cJSON_GetArraySize(rows) != cJSON_GetArraySize(labels)) {
        cJSON_Delete(doc);
        fail_msg(CRM_EINVALID, "data: expected columns, kinds (as many), rows and labels (as many)");
        return NULL;
    }
    const char *names[256];
    crm_column_kind ks[256];
    int i = 0, rc = 0;
    for (const cJSON *c = cols->child, *k = kinds->child; c && k; c = c->next, k = k->next, i++) {
        names[i] = cJSON_IsString(c) ? c->valuestring : NULL;
        if (!cJSON_IsString(k) || (strcmp(k->valuestring, "category") && strcmp(k->valuestring, "number"))) {
            fail_msg(CRM_EINVALID, "kinds[%d]: expected \"category\" or \"number\"", i);
            rc = -1;
            break;
        }
        ks[i] = strcmp(k->valuestring, "number") == 0 ? CRM_COLUMN_NUMBER : CRM_COLUMN_CATEGORY;
    }
    crm_dataset *ds = NULL;
    if (rc == 0)
        rc = check(crm_dataset_new(&ds, (size_t)n, names, ks));
    char bufs[256][32];
    i = 0;
    for (const cJSON *r = rows->child, *y = labels->child; rc == 0 && r; r = r->next, y = y->next, i++) {
        const char *values[256];
        int bad = !cJSON_IsArray(r) || cJSON_GetArraySize(r) != n || !cJSON_IsNumber(y), j = 0;
        for (const cJSON *v = bad ? NULL : r->child; v; v = v->next, j++)
            values[j] = cell_text(v, bufs[j], sizeof bufs[j], &bad);
        if (bad) {
            fail_msg(CRM_EINVALID, "rows[%d]: expected %d strings, numbers or nulls and a 0/1 label", i, n);
            rc = -1;
        } else {
            rc = check(crm_dataset_add_row(ds, values, (int)y->valuedouble));
        }
    }
    crm_model *m = NULL;
    if (rc == 0)
        rc = check(crm_model_train(&m, ds, &o));
    crm_dataset_free(ds);
    cJSON_Delete(doc);
    return rc == 0 ? model_text(m) : NULL;
}

char *crmb_model_score_values(const char *model_json, const char *values_json)
{
    crm_model *m = model_of(model_json);
    if (m == NULL)
        return NULL;
    cJSON *doc = values_json ? cJSON_Parse(values_json) : NULL;
    const char *values[256];
    char bufs[256][32];
    int n = 0, bad = !cJSON_IsArray(doc) || cJSON_GetArraySize(doc) > 256;
    for (const cJSON *v = bad ? NULL : doc->child; v; v = v->next, n++)
        values[n] = cell_text(v, bufs[n], sizeof bufs[n], &bad);
    char *out = NULL;
    crm_score s;
    /* The library reads one value per feature: a shorter row is refused
     * here, where its length is known. */
    if (bad || n != (int)crm_model_feature_count(m))
        fail_msg(CRM_EINVALID, "values: expected an array of %zu strings, numbers or nulls",
                 crm_model_feature_count(m));
    else if (check(crm_model_score_values(&s, m, values)) == 0)
        out = score_text(&s);
    cJSON_Delete(doc);
    crm_model_free(m);
    return out;
}

char *crmb_lead_score(crmb_handle *h, const char *model_json, const char *id)
{
    crm_db *db = open_db(h);
    if (db == NULL)
        return NULL;
    crm_model *m = model_of(model_json);
    char *out = NULL;
    crm_score s;
    if (m != NULL && check(crm_lead_score(&s, db, m, id)) == 0)
        out = score_text(&s);
    crm_model_free(m);
    return out;
}

int64_t crmb_lead_rescore_all(crmb_handle *h, const char *model_json)
{
    crm_db *db = open_db(h);
    if (db == NULL)
        return -1;
    crm_model *m = model_of(model_json);
    size_t changed = 0;
    int rc = m != NULL ? check(crm_lead_rescore_all(&changed, db, m)) : -1;
    crm_model_free(m);
    return rc == 0 ? (int64_t)changed : -1;
}

/* ---- lifecycle (issue 4) ------------------------------------------------------ */

void crmb_lead_transition(crmb_handle *h, const char *id, const char *to, const char *reason,
                          const char *dealer_id, const char *owner_id)
{
    crm_db *db = open_db(h);
    crm_lead_status st;
    if (db == NULL || check(crm_lead_status_parse(&st, to)) != 0)
        return;
    crm_transition t = CRM_TRANSITION_INIT;
    t.reason = reason;
    t.dealer_id = dealer_id;
    t.owner_id = owner_id;
    check(crm_lead_transition(db, id, st, &t));
}

static int add_time_or_null(cJSON *o, const char *name, int64_t t)
{
    char at[CRM_TIME_TEXT_SIZE];
    if (t == 0)
        return cJSON_AddNullToObject(o, name) != NULL;
    crm_time_format(at, t);
    return cJSON_AddStringToObject(o, name, at) != NULL;
}

char *crmb_lead_stages_json(crmb_handle *h, const char *id)
{
    crm_db *db = open_db(h);
    crm_lead_stage *st = NULL;
    size_t n = 0;
    if (db == NULL || check(crm_lead_stages(&st, &n, db, id)) != 0)
        return NULL;
    cJSON *a = cJSON_CreateArray();
    int ok = a != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(a, o);
        if (!ok) {
            cJSON_Delete(o);
            break;
        }
        ok = cJSON_AddStringToObject(o, "status", crm_lead_status_name(st[i].status)) &&
             add_time_or_null(o, "entered_at", st[i].entered_at) && add_time_or_null(o, "left_at", st[i].left_at) &&
             cJSON_AddStringToObject(o, "actor", st[i].actor) &&
             (st[i].reason ? cJSON_AddStringToObject(o, "reason", st[i].reason) != NULL
                           : cJSON_AddNullToObject(o, "reason") != NULL);
    }
    char *text = ok ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    crm_free(st);
    if (text == NULL)
        fail_msg(CRM_ENOMEM, "out of memory");
    return text;
}

char *crmb_funnel_json(crmb_handle *h, const char *by, int64_t created_from, int64_t created_to,
                       int tz_offset_minutes)
{
    crm_db *db = open_db(h);
    crm_funnel_options o = CRM_FUNNEL_OPTIONS_INIT;
    crm_funnel *f = NULL;
    char *out = NULL;
    if (db == NULL || (by != NULL && check(crm_funnel_by_parse(&o.by, by)) != 0))
        return NULL;
    o.created_from = created_from;
    o.created_to = created_to;
    o.tz_offset_minutes = tz_offset_minutes;
    if (check(crm_funnel_compute(&f, db, &o)) == 0)
        check(crm_funnel_to_json(&out, f));
    crm_funnel_free(f);
    return out;
}

/* The ids to route: the given JSON array, or every new lead in scope. */
static cJSON *route_ids(crm_db *db, const char *ids_json)
{
    if (ids_json != NULL) {
        cJSON *a = cJSON_Parse(ids_json);
        int ok = cJSON_IsArray(a);
        for (const cJSON *v = ok ? a->child : NULL; v; v = v->next)
            ok = ok && cJSON_IsString(v);
        if (!ok) {
            cJSON_Delete(a);
            fail_msg(CRM_EINVALID, "ids: expected an array of lead ids");
            return NULL;
        }
        return a;
    }
    crm_lead_filter f = CRM_LEAD_FILTER_INIT;
    crm_iter *it = NULL;
    const crm_lead *l;
    cJSON *a = cJSON_CreateArray();
    f.statuses = 1u << CRM_LEAD_NEW;
    int rc = a ? check(crm_lead_iter_new(&it, db, &f)) : CRM_ENOMEM;
    while (rc == 0 && (rc = check(crm_lead_next(&l, it))) == 0) {
        cJSON *s = cJSON_CreateString(l->id);
        if (!s || !cJSON_AddItemToArray(a, s)) {
            cJSON_Delete(s);
            rc = CRM_ENOMEM;
        }
    }
    crm_iter_free(it);
    if (rc != CRM_ITEROVER) {
        if (rc == CRM_ENOMEM)
            fail_msg(CRM_ENOMEM, "out of memory");
        cJSON_Delete(a);
        return NULL;
    }
    return a;
}

char *crmb_route_json(crmb_handle *h, const char *rules_json, const char *ids_json)
{
    crm_db *db = open_db(h);
    crm_router *r = NULL;
    if (db == NULL || rules_json == NULL || check(crm_router_new(&r, rules_json)) != 0) {
        if (db != NULL && rules_json == NULL)
            fail_msg(CRM_EINVALID, "rules: required");
        return NULL;
    }
    cJSON *ids = route_ids(db, ids_json), *out = cJSON_CreateArray();
    int ok = ids != NULL && out != NULL;
    for (const cJSON *v = ok ? ids->child : NULL; ok && v; v = v->next) {
        crm_route_result res;
        int rc = crm_lead_route(&res, db, r, v->valuestring);
        if (rc != 0 && rc != CRM_ECONFLICT && rc != CRM_ENOTFOUND && rc != CRM_EINVALID) {
            check(rc);
            ok = 0;
            break;
        }
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(out, o) && cJSON_AddStringToObject(o, "id", v->valuestring);
        if (ok && rc == 0)
            ok = cJSON_AddStringToObject(o, "dealer_id", res.dealer_id) &&
                 (res.owner_id[0] ? cJSON_AddStringToObject(o, "owner_id", res.owner_id) != NULL
                                  : cJSON_AddNullToObject(o, "owner_id") != NULL) &&
                 cJSON_AddStringToObject(o, "reason", res.reason);
        else if (ok)
            ok = cJSON_AddStringToObject(o, "error", crm_error_last()->message) != NULL;
    }
    char *text = ok ? cJSON_PrintUnformatted(out) : NULL;
    if (ok && text == NULL)
        fail_msg(CRM_ENOMEM, "out of memory");
    cJSON_Delete(ids);
    cJSON_Delete(out);
    crm_router_free(r);
    return text;
}

int64_t crmb_lead_recycle(crmb_handle *h, int64_t follow_up_ms)
{
    crm_db *db = open_db(h);
    size_t n = 0;
    if (db == NULL || check(crm_lead_recycle_overdue(&n, db, follow_up_ms)) != 0)
        return -1;
    return (int64_t)n;
}

char *crmb_clean(const char *kind, const char *raw)
{
    char *out = NULL;
    if (check(crm_clean_json(&out, kind, raw)) < 0)
        return NULL;
    return out;
}

char *crmb_clean_lead(const char *json)
{
    char *out = NULL;
    if (check(crm_clean_lead_json(&out, json)) < 0)
        return NULL;
    return out;
}

char *crmb_dedupe(const char *config, const char *records)
{
    char *out = NULL;
    if (check(crm_dedupe_json(&out, config, records)) < 0)
        return NULL;
    return out;
}

const char *crmb_match_default_config(void)
{
    return crm_matcher_default_config();
}

const char *crmb_merge_default_rules(void)
{
    return crm_lead_merge_default_rules();
}

/* ---- customers, members, points, tags, segments, vehicles ---------------- */

/*
 * One entry point for the customer side of the API: an operation name and
 * its arguments as a JSON object in, the result as JSON text out. The
 * Python and Java layers give every operation a method of its own; this
 * keeps the SWIG surface (and its typemaps) to one function for all of them.
 */
typedef struct call_args {
    cJSON *doc;
} call_args;

static const char *arg_text(const call_args *a, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(a->doc, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t arg_int(const call_args *a, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(a->doc, name);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

/* An argument that is a JSON object or text, as text (caller frees), or NULL. */
static char *arg_doc(const call_args *a, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(a->doc, name);
    if (cJSON_IsString(v))
        return strdup(v->valuestring);
    if (cJSON_IsObject(v))
        return cJSON_PrintUnformatted(v);
    return NULL;
}

static char *dup_text(const char *s)
{
    char *out = malloc(strlen(s) + 1);
    if (out)
        strcpy(out, s);
    else
        fail_msg(CRM_ENOMEM, "out of memory");
    return out;
}

static char *number_json(int64_t n)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)n);
    return dup_text(buf);
}

static char *resolve_json(const crm_resolve_result *r)
{
    static const char *const outcomes[] = { "created", "linked", "merged" };
    char buf[256];
    snprintf(buf, sizeof buf, "{\"outcome\":\"%s\",\"customer_id\":\"%s\",\"identities_added\":%zu,\"merged\":%zu}",
             outcomes[r->outcome], r->customer_id, r->identities_added, r->merged);
    return dup_text(buf);
}

static char *points_json(const crm_points_result *r)
{
    char buf[160];
    snprintf(buf, sizeof buf, "{\"txn_id\":\"%s\",\"balance\":%lld,\"replayed\":%s}", r->txn_id, (long long)r->balance,
             r->replayed ? "true" : "false");
    return dup_text(buf);
}

/* Load merge or loyalty rules from args[name]; 0, or a failure recorded. */
static int load_rules(const call_args *a, const char *name, crm_merge_rules **merge, crm_loyalty_rules **loyalty)
{
    char *text = arg_doc(a, name);
    if (!text)
        return 0;
    int rc = merge ? crm_merge_rules_load(merge, text) : crm_loyalty_rules_load(loyalty, text);
    free(text);
    return check(rc);
}

static char *call_customer(crm_db *db, const char *op, const call_args *a)
{
    char *out = NULL;
    crm_resolve_result r;
    crm_merge_rules *rules = NULL;
    if (load_rules(a, "merge_rules", &rules, NULL))
        return NULL;
    if (strcmp(op, "customer.resolve") == 0) {
        char *doc = arg_doc(a, "doc");
        if (check(crm_customer_resolve_json(&r, db, doc ? doc : "", rules)) == 0)
            out = resolve_json(&r);
        free(doc);
    } else if (strcmp(op, "customer.resolve_lead") == 0) {
        if (check(crm_customer_resolve_lead(&r, db, arg_text(a, "lead_id"), rules)) == 0)
            out = resolve_json(&r);
    } else if (strcmp(op, "customer.view") == 0) {
        check(crm_customer_view_json(&out, db, arg_text(a, "id")));
    } else if (strcmp(op, "customer.find") == 0) {
        crm_identity_kind kind;
        char id[CRM_ID_LEN + 3] = "\"";
        if (check(crm_identity_kind_parse(&kind, arg_text(a, "kind") ? arg_text(a, "kind") : "")) == 0 &&
            check(crm_customer_find(id + 1, db, kind, arg_text(a, "app_id"), arg_text(a, "value"))) == 0) {
            strcat(id, "\"");
            out = dup_text(id);
        }
    } else if (strcmp(op, "customer.unmerge") == 0) {
        if (check(crm_customer_unmerge(db, arg_text(a, "id"))) == 0)
            out = dup_text("null");
    } else if (strcmp(op, "customer.consent") == 0) {
        if (check(crm_customer_set_consent(db, arg_text(a, "id"), arg_text(a, "channel"),
                                           (int)arg_int(a, "granted"))) == 0)
            out = dup_text("null");
    } else {
        fail_msg(CRM_EINVALID, "op: unknown operation '%.64s'", op);
    }
    crm_merge_rules_free(rules);
    return out;
}

static char *call_member(crm_db *db, const char *op, const call_args *a)
{
    char *out = NULL;
    crm_points_result r;
    crm_loyalty_rules *rules = NULL;
    if (load_rules(a, "rules", NULL, &rules))
        return NULL;
    const char *customer = arg_text(a, "customer_id"), *key = arg_text(a, "key"), *reason = arg_text(a, "reason");
    if (strcmp(op, "member.enrol") == 0) {
        if (check(crm_member_enrol(db, customer, arg_text(a, "member_no"), rules)) == 0)
            out = dup_text("null");
    } else if (strcmp(op, "member.get") == 0) {
        check(crm_member_get_json(&out, db, customer, rules));
    } else if (strcmp(op, "member.retier") == 0) {
        int changed;
        if (check(crm_member_evaluate_tier(&changed, db, customer, rules)) == 0)
            out = dup_text(changed ? "true" : "false");
    } else if (strcmp(op, "points.accrue") == 0) {
        if (check(crm_points_accrue(&r, db, customer, arg_int(a, "points"), arg_int(a, "expires_at"), key, reason,
                                    rules)) == 0)
            out = points_json(&r);
    } else if (strcmp(op, "points.redeem") == 0) {
        if (check(crm_points_redeem(&r, db, customer, arg_int(a, "points"), key, reason, rules)) == 0)
            out = points_json(&r);
    } else if (strcmp(op, "points.reverse") == 0) {
        if (check(crm_points_reverse(&r, db, arg_text(a, "txn_id"), key, reason, rules)) == 0)
            out = points_json(&r);
    } else if (strcmp(op, "points.expire") == 0) {
        size_t n;
        if (check(crm_points_expire(&n, db)) == 0)
            out = number_json((int64_t)n);
    } else if (strcmp(op, "points.ledger") == 0) {
        check(crm_points_ledger_json(&out, db, customer));
    } else {
        fail_msg(CRM_EINVALID, "op: unknown operation '%.64s'", op);
    }
    crm_loyalty_rules_free(rules);
    return out;
}

static char *call_tag(crm_db *db, const char *op, const call_args *a)
{
    char *out = NULL;
    size_t n = 0;
    const char *customer = arg_text(a, "customer_id");
    if (strcmp(op, "tag.assign") == 0) {
        if (check(crm_tag_assign(db, customer, arg_text(a, "tag"), arg_text(a, "source"))) == 0)
            out = dup_text("null");
    } else if (strcmp(op, "tag.remove") == 0) {
        if (check(crm_tag_remove(db, customer, arg_text(a, "tag"))) == 0)
            out = dup_text("null");
    } else if (strcmp(op, "tag.rule") == 0) {
        if (check(crm_tag_rule_define(&n, db, arg_text(a, "tag"), arg_text(a, "rule"))) == 0)
            out = number_json((int64_t)n);
    } else if (strcmp(op, "tag.check") == 0) {
        if (check(crm_tag_rule_check(arg_text(a, "rule"))) == 0)
            out = dup_text("null");
    } else if (strcmp(op, "tag.refresh") == 0) {
        if (check(crm_tag_rules_refresh(&n, db)) == 0)
            out = number_json((int64_t)n);
    } else if (strcmp(op, "tag.list") == 0) {
        check(crm_customer_tags_json(&out, db, customer));
    } else if (strcmp(op, "segment.count") == 0) {
        if (check(crm_segment_count(&n, db, arg_text(a, "expr"))) == 0)
            out = number_json((int64_t)n);
    } else if (strcmp(op, "segment.export") == 0) {
        int64_t limit = arg_int(a, "limit");
        if (limit < 0)
            fail_msg(CRM_EINVALID, "limit: must not be negative");
        else
            check(crm_segment_export_json(&out, NULL, db, arg_text(a, "expr"), arg_text(a, "consent"),
                                          (size_t)limit));
    } else {
        fail_msg(CRM_EINVALID, "op: unknown operation '%.64s'", op);
    }
    return out;
}

static char *call_vehicle(crm_db *db, const char *op, const call_args *a)
{
    char *out = NULL;
    const char *vin = arg_text(a, "vin");
    if (strcmp(op, "vehicle.put") == 0) {
        if (check(crm_vehicle_put(db, vin, arg_text(a, "model"), (int)arg_int(a, "year"), arg_int(a, "purchased_at"),
                                  arg_int(a, "serviced_at"))) == 0)
            out = dup_text("null");
    } else if (strcmp(op, "vehicle.relate") == 0) {
        crm_vehicle_role role;
        if (check(crm_vehicle_role_parse(&role, arg_text(a, "role") ? arg_text(a, "role") : "")) == 0 &&
            check(crm_vehicle_relate(db, vin, arg_text(a, "customer_id"), role, arg_int(a, "since"),
                                     arg_int(a, "until"))) == 0)
            out = dup_text("null");
    } else if (strcmp(op, "vehicle.get") == 0) {
        check(crm_vehicle_get_json(&out, db, vin));
    } else if (strcmp(op, "vehicle.list") == 0) {
        check(crm_customer_vehicles_json(&out, db, arg_text(a, "customer_id")));
    } else if (strcmp(op, "vehicle.check") == 0) {
        if (check(crm_vin_check(vin)) == 0)
            out = dup_text("null");
    } else {
        fail_msg(CRM_EINVALID, "op: unknown operation '%.64s'", op);
    }
    return out;
}

char *crmb_db_call(crmb_handle *h, const char *op, const char *args_json)
{
    crm_db *db = open_db(h);
    if (db == NULL)
        return NULL;
    if (op == NULL) {
        fail_msg(CRM_EINVALID, "op: must not be null");
        return NULL;
    }
    call_args a = { cJSON_Parse(args_json ? args_json : "{}") };
    if (!cJSON_IsObject(a.doc)) {
        cJSON_Delete(a.doc);
        fail_msg(CRM_EINVALID, "args: expected a JSON object");
        return NULL;
    }
    char *out;
    if (strncmp(op, "customer.", 9) == 0)
        out = call_customer(db, op, &a);
    else if (strncmp(op, "member.", 7) == 0 || strncmp(op, "points.", 7) == 0)
        out = call_member(db, op, &a);
    else if (strncmp(op, "tag.", 4) == 0 || strncmp(op, "segment.", 8) == 0)
        out = call_tag(db, op, &a);
    else if (strncmp(op, "vehicle.", 8) == 0)
        out = call_vehicle(db, op, &a);
    else {
        fail_msg(CRM_EINVALID, "op: unknown operation '%.64s'", op);
        out = NULL;
    }
    cJSON_Delete(a.doc);
    return out;
}
