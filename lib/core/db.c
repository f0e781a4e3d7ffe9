#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/registry.h"
#include "core/core.h"

#define CRM_ACTOR_MAX 128
#define CRM_DEALER_ID_MAX 64

static int check_backend(const crm_backend *b)
{
    if (b->version == 0 || b->version > CRM_BACKEND_VERSION)
        return crm_error_set(CRM_EINVALID,
                             "backend.version: %u is not supported (this library speaks 1..%d)",
                             b->version, CRM_BACKEND_VERSION);
    /* Every member of the backend's version is required. */
#define REQUIRE(member)                                                                             \
    if (!b->member)                                                                                \
        return crm_error_set(CRM_EINVALID, "backend.%s: required member is NULL", #member);
    REQUIRE(free)
    REQUIRE(schema_version)
    REQUIRE(tx_begin)
    REQUIRE(tx_commit)
    REQUIRE(tx_rollback)
    REQUIRE(lead_insert)
    REQUIRE(lead_update)
    REQUIRE(lead_get)
    REQUIRE(lead_scan)
    REQUIRE(key_put)
    REQUIRE(key_find)
    REQUIRE(event_append)
    REQUIRE(event_scan)
    /* Each later part is required only of a backend built for its version;
     * an older backend simply lacks it and the core says so when used. */
    if (b->version >= CRM_BACKEND_VERSION_WORKORDERS) {
        REQUIRE(workorder_insert)
        REQUIRE(workorder_update)
        REQUIRE(workorder_get)
        REQUIRE(workorder_scan)
        REQUIRE(wo_comment_insert)
        REQUIRE(wo_comment_scan)
        REQUIRE(event_scan_kind)
    }
    if (b->version >= CRM_BACKEND_VERSION_CUSTOMERS) {
        REQUIRE(customer_insert)
        REQUIRE(customer_update)
        REQUIRE(customer_get)
        REQUIRE(identity_insert)
        REQUIRE(identity_find)
        REQUIRE(identity_move)
        REQUIRE(identity_scan)
        REQUIRE(lead_find_by_customer)
        REQUIRE(member_insert)
        REQUIRE(member_update)
        REQUIRE(member_get)
        REQUIRE(points_insert)
        REQUIRE(points_update)
        REQUIRE(points_get)
        REQUIRE(points_find_key)
        REQUIRE(points_scan)
        REQUIRE(points_batch_scan)
        REQUIRE(points_use_insert)
        REQUIRE(points_use_scan)
        REQUIRE(customer_get_num)
        REQUIRE(customer_facts_scan)
        REQUIRE(tag_get)
        REQUIRE(tag_put)
        REQUIRE(tag_scan)
        REQUIRE(tag_assignment_put)
        REQUIRE(tag_assignment_delete)
        REQUIRE(tag_assignment_scan)
        REQUIRE(vehicle_put)
        REQUIRE(vehicle_get)
        REQUIRE(vehicle_person_put)
        REQUIRE(vehicle_person_scan)
        REQUIRE(customer_scan)
    }
    if (b->version >= CRM_BACKEND_VERSION_MATCHING) {
        REQUIRE(review_insert)
        REQUIRE(review_update)
        REQUIRE(review_get)
        REQUIRE(review_list)
    }
    if (b->version >= CRM_BACKEND_VERSION_SCORING) {
        REQUIRE(model_put)
        REQUIRE(model_get)
        REQUIRE(stage_append)
        REQUIRE(stage_scan)
        REQUIRE(stage_scan_entered)
    }
    if (b->version >= CRM_BACKEND_VERSION_MERGE) {
        REQUIRE(key_scan)
        REQUIRE(key_delete)
        REQUIRE(lead_merge_insert)
        REQUIRE(lead_merge_update)
        REQUIRE(lead_merge_get)
        REQUIRE(lead_merge_list)
    }
#undef REQUIRE
    return 0;
}

int crm_db_open_backend(crm_db **out, crm_backend *backend)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: required");
    *out = NULL;
    if (!backend)
        return crm_error_set(CRM_EINVALID, "backend: required");
    int rc = check_backend(backend);
    if (rc)
        return rc;
    crm_db *db = calloc(1, sizeof *db);
    char *actor = crm__strdup("system");
    if (!db || !actor) {
        free(db);
        free(actor);
        return crm__error_nomem();
    }
    db->backend = backend;
    db->actor = actor;
    crm__idgen_init(&db->idgen);
    *out = db;
    return 0;
}

int crm_db_open(crm_db **out, const char *uri, const crm_db_options *opts)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: required");
    *out = NULL;
    if (!uri)
        return crm_error_set(CRM_EINVALID, "uri: required");
    crm_backend *backend;
    int rc = crm__backend_open_uri(&backend, uri, opts);
    if (rc)
        return rc;
    rc = crm_db_open_backend(out, backend);
    if (rc)
        backend->free(backend);
    return rc;
}

void crm_db_close(crm_db *db)
{
    if (!db)
        return;
    /* End the iterators first: their cursors belong to the backend. */
    while (db->iters)
        crm__iter_detach(db->iters);
    db->backend->free(db->backend); /* rolls back an open transaction */
    crm__lead_match_free(db);
    crm_model_free(db->score_model);
    free((char *)db->scope.dealer_id);
    free(db->actor);
    free(db);
}

int crm_db_schema_version(int *out, crm_db *db)
{
    if (!out || !db)
        return crm_error_set(CRM_EINVALID, "%s: required", out ? "db" : "out");
    return db->backend->schema_version(db->backend, out);
}

static int refuse_aborted(const crm_db *db)
{
    return crm_error_set(CRM_ECONFLICT, "transaction: already rolled back after a failed write (%s); "
                                        "roll it back to go on",
                         db->tx_abort_reason);
}

int crm_db_begin(crm_db *db)
{
    if (!db)
        return crm_error_set(CRM_EINVALID, "db: required");
    if (db->tx_aborted)
        return refuse_aborted(db);
    int rc = db->backend->tx_begin(db->backend);
    if (rc == 0)
        db->tx_depth++;
    return rc;
}

int crm_db_commit(crm_db *db)
{
    if (!db)
        return crm_error_set(CRM_EINVALID, "db: required");
    if (db->tx_depth == 0)
        return crm_error_set(CRM_ECONFLICT, "transaction: commit without begin");
    if (db->tx_aborted)
        return refuse_aborted(db); /* the level stays open for crm_db_rollback */
    int rc = db->backend->tx_commit(db->backend);
    if (rc == 0)
        db->tx_depth--;
    return rc;
}

int crm_db_rollback(crm_db *db)
{
    if (!db)
        return crm_error_set(CRM_EINVALID, "db: required");
    if (db->tx_depth == 0)
        return crm_error_set(CRM_ECONFLICT, "transaction: rollback without begin");
    /* The level is gone whatever the backend answers (see tx_rollback). */
    db->tx_depth--;
    if (db->tx_aborted) {
        /* The backend rolled back every level already. */
        db->tx_aborted = db->tx_depth > 0;
        return 0;
    }
    return db->backend->tx_rollback(db->backend);
}

int crm_db_transaction_depth(const crm_db *db)
{
    return db ? db->tx_depth : 0;
}

int crm__tx_begin(crm_db *db)
{
    if (db->tx_aborted)
        return refuse_aborted(db);
    return db->backend->tx_begin(db->backend);
}

int crm__tx_begin_lean(crm_db *db)
{
    if (db->tx_aborted)
        return refuse_aborted(db);
    return db->tx_depth > 0 ? 0 : db->backend->tx_begin(db->backend);
}

int crm__tx_end_lean(crm_db *db, int rc, bool wrote)
{
    if (db->tx_depth == 0)
        return crm__tx_end(db, rc);
    if (rc == 0 || !wrote)
        return rc;
    char msg[200];
    snprintf(msg, sizeof msg, "%s", crm_error_last()->message);
    /* Every level the caller opened goes: the backend is left outside any
     * transaction, and tx_depth stays for the caller's rollbacks to count
     * down (crm_db_rollback). */
    for (int level = db->tx_depth; level > 0; level--)
        db->backend->tx_rollback(db->backend);
    db->tx_aborted = true;
    snprintf(db->tx_abort_reason, sizeof db->tx_abort_reason, "%s", msg);
    return crm_error_set(rc, "%s; the transaction was rolled back", msg);
}

int crm__tx_end(crm_db *db, int rc)
{
    if (rc == 0)
        return db->backend->tx_commit(db->backend);
    /* Keep the first failure's message: it says what the caller did wrong. */
    char msg[512];
    snprintf(msg, sizeof msg, "%s", crm_error_last()->message);
    db->backend->tx_rollback(db->backend);
    return crm_error_set(rc, "%s", msg);
}

/* Checks an identifier given by a caller: printable ASCII or UTF-8 text
 * without control characters, 1..max bytes. */
int crm__check_label(const char *field, const char *value, size_t max)
{
    size_t len = strlen(value);
    if (len == 0 || len > max)
        return crm_error_set(CRM_EINVALID, "%s: expected 1 to %zu bytes, got %zu", field, max, len);
    if (!crm__utf8_valid(value, len))
        return crm_error_set(CRM_EINVALID, "%s: invalid UTF-8", field);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)value[i] < 0x20 || value[i] == 0x7F)
            return crm_error_set(CRM_EINVALID, "%s: control character at byte %zu", field, i);
    return 0;
}

int crm_db_set_scope(crm_db *db, const char *dealer_id)
{
    if (!db)
        return crm_error_set(CRM_EINVALID, "db: required");
    char *copy = NULL;
    if (dealer_id) {
        int rc = crm__check_label("scope.dealer_id", dealer_id, CRM_DEALER_ID_MAX);
        if (rc)
            return rc;
        if (!(copy = crm__strdup(dealer_id)))
            return crm__error_nomem();
    }
    free((char *)db->scope.dealer_id);
    db->scope.dealer_id = copy;
    return 0;
}

const char *crm_db_actor(const crm_db *db)
{
    return db ? db->actor : NULL;
}

const char *crm_db_scope(const crm_db *db)
{
    return db ? db->scope.dealer_id : NULL;
}

int crm_db_set_actor(crm_db *db, const char *actor)
{
    if (!db)
        return crm_error_set(CRM_EINVALID, "db: required");
    if (!actor)
        return crm_error_set(CRM_EINVALID, "actor: required");
    int rc = crm__check_label("actor", actor, CRM_ACTOR_MAX);
    if (rc)
        return rc;
    char *copy = crm__strdup(actor);
    if (!copy)
        return crm__error_nomem();
    free(db->actor);
    db->actor = copy;
    return 0;
}

void crm_db_set_time(crm_db *db, int64_t unix_ms)
{
    if (db)
        db->fixed_time = unix_ms;
}

int64_t crm_db_now(const crm_db *db)
{
    return db && db->fixed_time ? db->fixed_time : crm__time_system_ms();
}

void crm_free(void *ptr)
{
    free(ptr);
}
