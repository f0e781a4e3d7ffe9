/*
 * Customers and identities: resolve identities to one customer (create,
 * link or merge), undo a merge, and the 360 view.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/tagset.h"
#include "core/vehicle_view.h"

#define RESOLVE_DOC_MAX 65536
#define IDENTITIES_MAX 32
#define NAME_MAX_BYTES 100
#define DEALER_MAX_BYTES 64
#define APP_ID_MAX 64
#define VALUE_MAX 254

static const char *const kind_names[CRM_IDENTITY_KIND_COUNT] = {
    "phone", "email", "wechat_openid", "wechat_unionid", "app_account", "id_card_hash",
};

const char *crm_identity_kind_name(crm_identity_kind kind)
{
    return (unsigned)kind < CRM_IDENTITY_KIND_COUNT ? kind_names[kind] : NULL;
}

int crm_identity_kind_parse(crm_identity_kind *out, const char *name)
{
    if (!out || !name)
        return crm_error_set(CRM_EINVALID, "kind: required");
    for (int i = 0; i < CRM_IDENTITY_KIND_COUNT; i++) {
        if (strcmp(name, kind_names[i]) == 0) {
            *out = (crm_identity_kind)i;
            return 0;
        }
    }
    return crm_error_set(CRM_EINVALID,
                         "kind: unknown identity kind '%.32s' (expected phone, email, wechat_openid, "
                         "wechat_unionid, app_account or id_card_hash)",
                         name);
}

/* ---- merge rules ------------------------------------------------------ */

struct crm_merge_rules {
    unsigned merge_on; /* bit (1u << kind) per kind that may tie customers together */
};

/* Every kind but email: addresses are shared within families and offices. */
#define DEFAULT_MERGE_ON (((1u << CRM_IDENTITY_KIND_COUNT) - 1) & ~(1u << CRM_IDENTITY_EMAIL))

int crm_merge_rules_load(crm_merge_rules **out, const char *json)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: required");
    *out = NULL;
    if (!json)
        return crm_error_set(CRM_EINVALID, "merge_rules: required");
    cJSON *doc = cJSON_Parse(json);
    if (!doc)
        return crm_error_set(CRM_EINVALID, "merge_rules: malformed JSON");
    int rc = 0;
    unsigned mask = 0;
    const cJSON *list = NULL;
    if (!cJSON_IsObject(doc)) {
        rc = crm_error_set(CRM_EINVALID, "merge_rules: expected a JSON object");
        goto done;
    }
    for (const cJSON *item = doc->child; item; item = item->next) {
        if (strcmp(item->string, "merge_on") != 0) {
            rc = crm_error_set(CRM_EINVALID, "merge_rules.%.64s: unknown member", item->string);
            goto done;
        }
        list = item;
    }
    if (!list) {
        rc = crm_error_set(CRM_EINVALID, "merge_rules.merge_on: required");
        goto done;
    }
    if (!cJSON_IsArray(list)) {
        rc = crm_error_set(CRM_EINVALID, "merge_rules.merge_on: expected an array of identity kinds");
        goto done;
    }
    int i = 0;
    for (const cJSON *k = list->child; k; k = k->next, i++) {
        crm_identity_kind kind;
        if (!cJSON_IsString(k)) {
            rc = crm_error_set(CRM_EINVALID, "merge_rules.merge_on[%d]: expected a string", i);
            goto done;
        }
        if (crm_identity_kind_parse(&kind, k->valuestring) != 0) {
            rc = crm_error_set(CRM_EINVALID, "merge_rules.merge_on[%d]: unknown identity kind '%.32s'", i,
                               k->valuestring);
            goto done;
        }
        mask |= 1u << kind;
    }
    crm_merge_rules *r = malloc(sizeof *r);
    if (!r) {
        rc = crm__error_nomem();
        goto done;
    }
    r->merge_on = mask;
    *out = r;
done:
    cJSON_Delete(doc);
    return rc;
}

void crm_merge_rules_free(crm_merge_rules *rules)
{
    free(rules);
}

/* ---- identities in ---------------------------------------------------- */

typedef struct identity_in {
    crm_identity_kind kind;
    char app_id[APP_ID_MAX + 1];
    char value[VALUE_MAX + 1];
    char owner[CRM_ID_LEN + 1]; /* the customer that has it, or "" */
} identity_in;

typedef struct resolve_in {
    char name[NAME_MAX_BYTES + 1];
    char dealer_id[DEALER_MAX_BYTES + 1];
    bool has_name, has_dealer;
    identity_in ids[IDENTITIES_MAX];
    size_t n;
} resolve_in;

static bool printable_ascii_id(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7F)
            return false;
    return true;
}

/* Normalise one identity in place; `path` names it in errors. */
static int identity_normalise(identity_in *id, const char *path)
{
    char *v = id->value;
    size_t len = strlen(v);
    if (len == 0)
        return crm_error_set(CRM_EINVALID, "%s.value: required", path);
    if (id->kind == CRM_IDENTITY_WECHAT_OPENID) {
        if (!id->app_id[0])
            return crm_error_set(CRM_EINVALID, "%s.app_id: required for a wechat_openid", path);
        if (!printable_ascii_id(id->app_id))
            return crm_error_set(CRM_EINVALID, "%s.app_id: expected printable ASCII without spaces", path);
    } else if (id->app_id[0]) {
        return crm_error_set(CRM_EINVALID, "%s.app_id: only a wechat_openid has an app id", path);
    }
    switch (id->kind) {
    case CRM_IDENTITY_PHONE: {
        /* Digits as leads store them; separators people type are dropped. */
        size_t n = 0;
        for (size_t i = 0; i < len; i++) {
            if (v[i] >= '0' && v[i] <= '9')
                v[n++] = v[i];
            else if (v[i] != ' ' && v[i] != '-')
                return crm_error_set(CRM_EINVALID, "%s.value: unexpected character at byte %zu in a phone number",
                                     path, i);
        }
        v[n] = '\0';
        if (n < 5 || n > 15)
            return crm_error_set(CRM_EINVALID, "%s.value: expected 5 to 15 digits, got %zu", path, n);
        break;
    }
    case CRM_IDENTITY_EMAIL: {
        const char *at = strchr(v, '@');
        bool ok = at && at != v && !strchr(at + 1, '@') && strchr(at + 1, '.') && at[1] != '.' && v[len - 1] != '.';
        for (size_t i = 0; ok && i < len; i++) {
            if (v[i] >= 'A' && v[i] <= 'Z')
                v[i] = (char)(v[i] - 'A' + 'a');
            else if ((unsigned char)v[i] <= ' ' || v[i] == ',' || v[i] == ';' || v[i] == '<' || v[i] == '>')
                ok = false;
        }
        if (!ok)
            return crm_error_set(CRM_EINVALID, "%s.value: expected an address like name@example.com", path);
        break;
    }
    case CRM_IDENTITY_ID_CARD_HASH:
        for (size_t i = 0; i < len; i++) {
            char c = v[i];
            if (c >= 'A' && c <= 'F')
                v[i] = (char)(c - 'A' + 'a');
            else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                len = 0;
        }
        if (len != 64)
            return crm_error_set(CRM_EINVALID,
                                 "%s.value: expected the SHA-256 of the ID-card number (64 hex digits), "
                                 "never the number itself",
                                 path);
        break;
    default:
        if (!printable_ascii_id(v))
            return crm_error_set(CRM_EINVALID, "%s.value: expected printable ASCII without spaces", path);
        break;
    }
    return 0;
}

/* Add an identity unless the same one is already in the list. */
static int add_identity(resolve_in *in, crm_identity_kind kind, const char *app_id, const char *value,
                        const char *path)
{
    if (in->n == IDENTITIES_MAX)
        return crm_error_set(CRM_EINVALID, "%s: at most %d identities at once", path, IDENTITIES_MAX);
    identity_in *id = &in->ids[in->n];
    memset(id, 0, sizeof *id);
    id->kind = kind;
    if (app_id && strlen(app_id) > APP_ID_MAX)
        return crm_error_set(CRM_EINVALID, "%s.app_id: over %d bytes", path, APP_ID_MAX);
    if (strlen(value) > VALUE_MAX)
        return crm_error_set(CRM_EINVALID, "%s.value: over %d bytes", path, VALUE_MAX);
    snprintf(id->app_id, sizeof id->app_id, "%s", app_id ? app_id : "");
    snprintf(id->value, sizeof id->value, "%s", value);
    int rc = identity_normalise(id, path);
    if (rc)
        return rc;
    for (size_t i = 0; i < in->n; i++)
        if (in->ids[i].kind == kind && strcmp(in->ids[i].app_id, id->app_id) == 0 &&
            strcmp(in->ids[i].value, id->value) == 0)
            return 0;
    in->n++;
    return 0;
}

static int copy_label(char *dst, size_t cap, const cJSON *item, const char *path)
{
    if (!cJSON_IsString(item))
        return crm_error_set(CRM_EINVALID, "%s: expected a string", path);
    size_t len = strlen(item->valuestring);
    if (len == 0 || len >= cap)
        return crm_error_set(CRM_EINVALID, "%s: expected 1 to %zu bytes", path, cap - 1);
    if (!crm__utf8_valid(item->valuestring, len))
        return crm_error_set(CRM_EINVALID, "%s: invalid UTF-8", path);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)item->valuestring[i] < 0x20)
            return crm_error_set(CRM_EINVALID, "%s: control character at byte %zu", path, i);
    memcpy(dst, item->valuestring, len + 1);
    return 0;
}

static int parse_identity(resolve_in *in, const cJSON *o, int index)
{
    char path[64];
    snprintf(path, sizeof path, "customer.identities[%d]", index);
    if (!cJSON_IsObject(o))
        return crm_error_set(CRM_EINVALID, "%s: expected an object", path);
    const char *kind = NULL, *app_id = NULL, *value = NULL;
    for (const cJSON *f = o->child; f; f = f->next) {
        const char **slot = strcmp(f->string, "kind") == 0     ? &kind
                            : strcmp(f->string, "app_id") == 0 ? &app_id
                            : strcmp(f->string, "value") == 0  ? &value
                                                               : NULL;
        if (!slot)
            return crm_error_set(CRM_EINVALID, "%s.%.32s: unknown field", path, f->string);
        if (!cJSON_IsString(f))
            return crm_error_set(CRM_EINVALID, "%s.%s: expected a string", path, f->string);
        *slot = f->valuestring;
    }
    if (!kind)
        return crm_error_set(CRM_EINVALID, "%s.kind: required", path);
    if (!value)
        return crm_error_set(CRM_EINVALID, "%s.value: required", path);
    crm_identity_kind k;
    if (crm_identity_kind_parse(&k, kind) != 0)
        return crm_error_set(CRM_EINVALID, "%s.kind: unknown identity kind '%.32s'", path, kind);
    return add_identity(in, k, app_id, value, path);
}

static int resolve_parse(resolve_in *in, const char *json)
{
    memset(in, 0, sizeof *in);
    size_t len = strlen(json);
    if (len > RESOLVE_DOC_MAX)
        return crm_error_set(CRM_EINVALID, "customer: document is %zu bytes; the limit is %d", len, RESOLVE_DOC_MAX);
    cJSON *doc = cJSON_Parse(json);
    if (!doc)
        return crm_error_set(CRM_EINVALID, "customer: malformed JSON");
    int rc = 0;
    const cJSON *ids = NULL;
    if (!cJSON_IsObject(doc)) {
        rc = crm_error_set(CRM_EINVALID, "customer: expected a JSON object");
        goto done;
    }
    for (const cJSON *f = doc->child; f && rc == 0; f = f->next) {
        if (strcmp(f->string, "name") == 0) {
            rc = copy_label(in->name, sizeof in->name, f, "customer.name");
            in->has_name = true;
        } else if (strcmp(f->string, "dealer_id") == 0) {
            rc = copy_label(in->dealer_id, sizeof in->dealer_id, f, "customer.dealer_id");
            in->has_dealer = true;
        } else if (strcmp(f->string, "identities") == 0) {
            ids = f;
        } else {
            rc = crm_error_set(CRM_EINVALID, "customer.%.32s: unknown field", f->string);
        }
    }
    if (rc)
        goto done;
    if (!cJSON_IsArray(ids) || !ids->child) {
        rc = crm_error_set(CRM_EINVALID, "customer.identities: expected a non-empty array");
        goto done;
    }
    int i = 0;
    for (const cJSON *o = ids->child; o && rc == 0; o = o->next)
        rc = parse_identity(in, o, i++);
done:
    cJSON_Delete(doc);
    return rc;
}

/* ---- resolution ------------------------------------------------------- */

static bool has_v2(crm_db *db)
{
    return db->backend->version >= CRM_BACKEND_VERSION_CUSTOMERS;
}

static int need_v2(crm_db *db)
{
    if (!has_v2(db))
        return crm_error_set(CRM_ESTORAGE, "backend %s does not support customers", db->backend->name);
    return 0;
}

/* A list of lead ids from lead_find_by_customer. */
typedef struct id_list {
    char (*ids)[CRM_ID_LEN + 1];
    size_t n, cap;
    bool failed;
} id_list;

static int collect_id(const char *id, void *payload)
{
    id_list *l = payload;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        void *p = realloc(l->ids, cap * sizeof *l->ids);
        if (!p) {
            l->failed = true;
            return 1;
        }
        l->ids = p;
        l->cap = cap;
    }
    snprintf(l->ids[l->n++], CRM_ID_LEN + 1, "%s", id);
    return 0;
}

static int leads_of(crm_db *db, const char *customer_id, id_list *out)
{
    memset(out, 0, sizeof *out);
    int rc = db->backend->lead_find_by_customer(db->backend, &db->scope, customer_id, collect_id, out);
    if (rc == 0 && out->failed)
        rc = crm__error_nomem();
    return rc;
}

/* Point a lead at a customer; records the change on the lead. */
static int set_lead_customer(crm_db *db, const char *lead_id, const char *customer_id)
{
    crm_backend *b = db->backend;
    crm_lead lead;
    int rc = b->lead_get(b, &db->scope, lead_id, &lead);
    if (rc)
        return rc;
    lead.customer_id = customer_id;
    lead.updated_at = crm_db_now(db);
    rc = b->lead_update(b, &lead);
    if (rc)
        return rc;
    char data[96];
    snprintf(data, sizeof data, "{\"customer_id\":\"%s\"}", customer_id);
    char dealer[DEALER_MAX_BYTES + 1] = "";
    /* lead.dealer_id is borrowed from the backend's row: copy before the next call. */
    if (lead.dealer_id)
        snprintf(dealer, sizeof dealer, "%s", lead.dealer_id);
    return crm__event_append(db, "lead.customer", "lead", lead_id, dealer[0] ? dealer : NULL, data);
}

/* An event whose data lists lead ids: {"<key>": "<id>", "leads": [...]} */
static char *merge_event_data(const char *key, const char *other, const id_list *leads)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_CreateArray();
    bool ok = o && arr && cJSON_AddStringToObject(o, key, other);
    for (size_t i = 0; ok && i < leads->n; i++) {
        cJSON *s = cJSON_CreateString(leads->ids[i]);
        ok = s && cJSON_AddItemToArray(arr, s);
    }
    ok = ok && cJSON_AddItemToObject(o, "leads", arr);
    if (!ok)
        cJSON_Delete(arr);
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return text;
}

typedef struct owner {
    char id[CRM_ID_LEN + 1];
    char dealer_id[DEALER_MAX_BYTES + 1];
    int64_t created_at;
    int tie; /* index of an input identity of a mergeable kind that it owns, or -1 */
    int first; /* index of the first input identity it owns */
} owner;

/* Merge customer `loser` into `survivor`: identities, leads, the mark. */
static int merge_into(crm_db *db, const owner *survivor, const owner *loser)
{
    crm_backend *b = db->backend;
    int rc = b->identity_move(b, loser->id, survivor->id, NULL, NULL);
    id_list leads = { 0 };
    if (rc == 0)
        rc = leads_of(db, loser->id, &leads);
    for (size_t i = 0; rc == 0 && i < leads.n; i++)
        rc = set_lead_customer(db, leads.ids[i], survivor->id);
    crm_customer c;
    if (rc == 0)
        rc = b->customer_get(b, &db->scope, loser->id, &c);
    if (rc == 0) {
        int64_t num = c.num;
        c.merged_into = survivor->id;
        c.updated_at = crm_db_now(db);
        rc = b->customer_update(b, &c);
        if (rc == 0)
            rc = crm__tagset_customer_active(db, num, false);
    }
    char *on_loser = NULL, *on_survivor = NULL;
    if (rc == 0) {
        on_loser = merge_event_data("into", survivor->id, &leads);
        on_survivor = merge_event_data("merged", loser->id, &leads);
        if (!on_loser || !on_survivor)
            rc = crm__error_nomem();
    }
    if (rc == 0)
        rc = crm__event_append(db, "customer.merged", "customer", loser->id,
                               loser->dealer_id[0] ? loser->dealer_id : NULL, on_loser);
    if (rc == 0)
        rc = crm__event_append(db, "customer.merged", "customer", survivor->id,
                               survivor->dealer_id[0] ? survivor->dealer_id : NULL, on_survivor);
    cJSON_free(on_loser);
    cJSON_free(on_survivor);
    free(leads.ids);
    return rc;
}

static bool older(const owner *a, const owner *b)
{
    return a->created_at != b->created_at ? a->created_at < b->created_at : strcmp(a->id, b->id) < 0;
}

/* Everything a resolution does, inside the caller's transaction. */
static int resolve_tx(crm_resolve_result *res, crm_db *db, resolve_in *in, const crm_merge_rules *rules,
                      const char *lead_id)
{
    crm_backend *b = db->backend;
    unsigned merge_on = rules ? rules->merge_on : DEFAULT_MERGE_ON;
    owner owners[IDENTITIES_MAX];
    size_t n_owners = 0;
    int rc = 0;

    for (size_t i = 0; i < in->n; i++) {
        identity_in *id = &in->ids[i];
        crm_identity found;
        rc = b->identity_find(b, id->kind, id->app_id, id->value, &found);
        if (rc == CRM_ENOTFOUND) {
            id->owner[0] = '\0';
            rc = 0;
            continue;
        }
        if (rc)
            return rc;
        snprintf(id->owner, sizeof id->owner, "%s", found.customer_id);
        size_t k = 0;
        while (k < n_owners && strcmp(owners[k].id, id->owner) != 0)
            k++;
        if (k == n_owners) {
            crm_customer c;
            rc = b->customer_get(b, &db->scope, id->owner, &c);
            if (rc == CRM_ENOTFOUND)
                return crm_error_set(CRM_ECONFLICT,
                                     "customer.identities[%zu]: belongs to a customer outside this handle's scope", i);
            if (rc)
                return rc;
            owner *o = &owners[n_owners++];
            snprintf(o->id, sizeof o->id, "%s", c.id);
            snprintf(o->dealer_id, sizeof o->dealer_id, "%s", c.dealer_id ? c.dealer_id : "");
            o->created_at = c.created_at;
            o->tie = -1;
            o->first = (int)i;
        }
        if (owners[k].tie < 0 && (merge_on & (1u << id->kind)))
            owners[k].tie = (int)i;
    }

    int64_t now = crm_db_now(db);
    owner created = { .tie = -1 };
    const owner *survivor;
    if (n_owners == 0) {
        crm__idgen_next(&db->idgen, now, created.id);
        const char *dealer = in->has_dealer ? in->dealer_id : db->scope.dealer_id;
        snprintf(created.dealer_id, sizeof created.dealer_id, "%s", dealer ? dealer : "");
        crm_customer c = {
            .id = created.id,
            .name = in->has_name ? in->name : NULL,
            .dealer_id = dealer,
            .created_at = now,
            .updated_at = now,
        };
        rc = b->customer_insert(b, &c);
        crm_customer stored;
        if (rc == 0)
            rc = b->customer_get(b, &db->scope, created.id, &stored);
        if (rc == 0)
            rc = crm__tagset_customer_active(db, stored.num, true);
        if (rc == 0)
            rc = crm__event_append(db, "customer.created", "customer", created.id, dealer, NULL);
        if (rc)
            return rc;
        survivor = &created;
    } else {
        size_t s = 0;
        for (size_t k = 1; k < n_owners; k++)
            if (older(&owners[k], &owners[s]))
                s = k;
        survivor = &owners[s];
        /* Every customer in a merge, the survivor too, must be reached by
         * an identity of a kind that may merge. All are checked before any
         * merge runs, so a refusal changes nothing. */
        for (size_t k = 0; n_owners > 1 && k < n_owners; k++) {
            if (owners[k].tie >= 0)
                continue;
            int i = owners[k].first;
            return crm_error_set(CRM_ECONFLICT,
                                 "customer.identities[%d]: a %s ties customer %s to customer %s, and the merge "
                                 "rules do not merge on %s",
                                 i, kind_names[in->ids[i].kind], owners[k].id,
                                 owners[k == s ? (s + 1) % n_owners : s].id,
                                 kind_names[in->ids[i].kind]);
        }
        for (size_t k = 0; k < n_owners && rc == 0; k++)
            if (k != s)
                rc = merge_into(db, survivor, &owners[k]);
        if (rc)
            return rc;
    }

    size_t added = 0;
    for (size_t i = 0; i < in->n && rc == 0; i++) {
        identity_in *id = &in->ids[i];
        if (id->owner[0])
            continue;
        crm_identity r = {
            .kind = id->kind,
            .app_id = id->app_id,
            .value = id->value,
            .customer_id = survivor->id,
            .origin_id = survivor->id,
            .created_at = now,
        };
        rc = b->identity_insert(b, &r);
        added++;
    }
    if (rc == 0 && n_owners > 0 && (added > 0 || in->has_name)) {
        crm_customer c;
        rc = b->customer_get(b, &db->scope, survivor->id, &c);
        if (rc == 0) {
            if (in->has_name)
                c.name = in->name;
            c.updated_at = now;
            rc = b->customer_update(b, &c);
        }
    }
    if (rc == 0 && added > 0) {
        /* The event names the kinds, not the values: personal data stays in
         * the identity rows, where an erasure reaches it. */
        char data[256] = "{\"added\":[";
        size_t len = strlen(data);
        for (size_t i = 0, first = 1; i < in->n; i++) {
            if (in->ids[i].owner[0])
                continue;
            len += (size_t)snprintf(data + len, sizeof data - len, "%s\"%s\"", first ? "" : ",",
                                    kind_names[in->ids[i].kind]);
            first = 0;
            if (len >= sizeof data - 8)
                break;
        }
        snprintf(data + len, sizeof data - len, "]}");
        rc = crm__event_append(db, "customer.identities", "customer", survivor->id,
                               survivor->dealer_id[0] ? survivor->dealer_id : NULL, data);
    }
    if (rc == 0 && lead_id)
        rc = set_lead_customer(db, lead_id, survivor->id);
    if (rc == 0) {
        res->outcome = n_owners == 0 ? CRM_RESOLVE_CREATED : n_owners == 1 ? CRM_RESOLVE_LINKED : CRM_RESOLVE_MERGED;
        snprintf(res->customer_id, sizeof res->customer_id, "%s", survivor->id);
        res->identities_added = added;
        res->merged = n_owners > 1 ? n_owners - 1 : 0;
    }
    return rc;
}

static int resolve(crm_resolve_result *result, crm_db *db, resolve_in *in, const crm_merge_rules *rules,
                   const char *lead_id)
{
    crm_resolve_result scratch;
    crm_resolve_result *res = result ? result : &scratch;
    if (db->scope.dealer_id && in->has_dealer && strcmp(in->dealer_id, db->scope.dealer_id) != 0)
        return crm_error_set(CRM_EPERM, "customer.dealer_id: outside this handle's scope (dealer %s)",
                             db->scope.dealer_id);
    int rc = crm__tx_begin(db);
    if (rc == 0)
        rc = crm__tx_end(db, resolve_tx(res, db, in, rules, lead_id));
    if (rc)
        memset(res, 0, sizeof *res);
    return rc;
}

int crm_customer_resolve_json(crm_resolve_result *result, crm_db *db, const char *json,
                              const crm_merge_rules *rules)
{
    if (result)
        memset(result, 0, sizeof *result);
    if (!db || !json)
        return crm_error_set(CRM_EINVALID, "%s: required", db ? "customer" : "db");
    int rc = need_v2(db);
    if (rc)
        return rc;
    resolve_in *in = malloc(sizeof *in);
    if (!in)
        return crm__error_nomem();
    rc = resolve_parse(in, json);
    if (rc == 0)
        rc = resolve(result, db, in, rules, NULL);
    free(in);
    return rc;
}

/* Read attributes.wechat_app_id of a lead into out (cap bytes), or leave it empty. */
static void lead_app_id(const crm_lead *lead, char *out, size_t cap)
{
    out[0] = '\0';
    cJSON *attrs = lead->attributes ? cJSON_Parse(lead->attributes) : NULL;
    const cJSON *app = cJSON_GetObjectItemCaseSensitive(attrs, "wechat_app_id");
    if (cJSON_IsString(app) && strlen(app->valuestring) < cap)
        snprintf(out, cap, "%s", app->valuestring);
    cJSON_Delete(attrs);
}

int crm_customer_resolve_lead(crm_resolve_result *result, crm_db *db, const char *lead_id,
                              const crm_merge_rules *rules)
{
    if (result)
        memset(result, 0, sizeof *result);
    if (!db || !lead_id)
        return crm_error_set(CRM_EINVALID, "%s: required", db ? "lead_id" : "db");
    if (!crm__id_valid(lead_id))
        return crm_error_set(CRM_EINVALID, "lead_id: expected a UUID");
    int rc = need_v2(db);
    if (rc)
        return rc;
    crm_lead lead;
    rc = db->backend->lead_get(db->backend, &db->scope, lead_id, &lead);
    if (rc)
        return rc;
    resolve_in *in = calloc(1, sizeof *in);
    if (!in)
        return crm__error_nomem();
    /* The lead is borrowed from the backend: take what we need now. */
    if (lead.name && strlen(lead.name) < sizeof in->name) {
        snprintf(in->name, sizeof in->name, "%s", lead.name);
        in->has_name = true;
    }
    if (lead.dealer_id && strlen(lead.dealer_id) < sizeof in->dealer_id) {
        snprintf(in->dealer_id, sizeof in->dealer_id, "%s", lead.dealer_id);
        in->has_dealer = true;
    }
    char app_id[APP_ID_MAX + 1];
    lead_app_id(&lead, app_id, sizeof app_id);
    if (!app_id[0] && lead.channel)
        snprintf(app_id, sizeof app_id, "%s", lead.channel);
    if (lead.phone)
        rc = add_identity(in, CRM_IDENTITY_PHONE, NULL, lead.phone, "lead.phone");
    if (rc == 0 && lead.email)
        rc = add_identity(in, CRM_IDENTITY_EMAIL, NULL, lead.email, "lead.email");
    if (rc == 0 && lead.wechat_openid)
        rc = add_identity(in, CRM_IDENTITY_WECHAT_OPENID, app_id, lead.wechat_openid, "lead.wechat_openid");
    if (rc == 0 && lead.wechat_unionid)
        rc = add_identity(in, CRM_IDENTITY_WECHAT_UNIONID, NULL, lead.wechat_unionid, "lead.wechat_unionid");
    if (rc == 0 && in->n == 0)
        rc = crm_error_set(CRM_EINVALID, "lead %s: has no identity to resolve", lead_id);
    if (rc == 0)
        rc = resolve(result, db, in, rules, lead_id);
    free(in);
    return rc;
}

/* ---- unmerge ---------------------------------------------------------- */

/* The lead ids of the last "customer.merged" event of a merged customer. */
static int merged_leads(crm_db *db, const char *customer_id, cJSON **out)
{
    *out = NULL;
    crm_backend_iter *it;
    int rc = db->backend->event_scan(db->backend, &db->scope, customer_id, &it);
    if (rc)
        return rc;
    crm_event e;
    while ((rc = it->next(it, &e)) == 0) {
        if (strcmp(e.kind, "customer.merged") != 0 || !e.data)
            continue;
        cJSON *data = cJSON_Parse(e.data);
        if (data && cJSON_GetObjectItemCaseSensitive(data, "into")) {
            cJSON_Delete(*out);
            *out = data;
        } else {
            cJSON_Delete(data);
        }
    }
    it->free(it);
    return rc == CRM_ITEROVER ? 0 : rc;
}

static int unmerge_tx(crm_db *db, const char *id)
{
    crm_backend *b = db->backend;
    crm_customer c;
    int rc = b->customer_get(b, &db->scope, id, &c);
    if (rc)
        return rc;
    if (!c.merged_into)
        return crm_error_set(CRM_ECONFLICT, "customer %s: was not merged", id);
    char survivor[CRM_ID_LEN + 1], dealer[DEALER_MAX_BYTES + 1] = "";
    snprintf(survivor, sizeof survivor, "%s", c.merged_into);
    if (c.dealer_id)
        snprintf(dealer, sizeof dealer, "%s", c.dealer_id);
    c.merged_into = NULL;
    c.updated_at = crm_db_now(db);
    int64_t num = c.num;
    rc = b->customer_update(b, &c);
    if (rc == 0)
        rc = crm__tagset_customer_active(db, num, true);
    crm_customer s;
    if (rc == 0)
        rc = b->customer_get(b, &db->scope, survivor, &s);
    if (rc == 0 && s.merged_into)
        return crm_error_set(CRM_ECONFLICT, "customer %s: was merged into %s since; unmerge that first", survivor,
                             s.merged_into);
    char survivor_dealer[DEALER_MAX_BYTES + 1] = "";
    if (rc == 0 && s.dealer_id)
        snprintf(survivor_dealer, sizeof survivor_dealer, "%s", s.dealer_id);
    size_t moved = 0;
    if (rc == 0)
        rc = b->identity_move(b, survivor, id, id, &moved);
    cJSON *data = NULL;
    if (rc == 0)
        rc = merged_leads(db, id, &data);
    const cJSON *leads = cJSON_GetObjectItemCaseSensitive(data, "leads");
    const cJSON *l;
    id_list back = { 0 };
    cJSON_ArrayForEach(l, leads)
    {
        if (rc || !cJSON_IsString(l) || !crm__id_valid(l->valuestring))
            continue;
        crm_lead lead;
        int grc = b->lead_get(b, &db->scope, l->valuestring, &lead);
        if (grc == CRM_ENOTFOUND)
            continue;
        /* Only leads still on the survivor go back; one re-resolved since stays. */
        if (grc == 0 && lead.customer_id && strcmp(lead.customer_id, survivor) == 0)
            grc = set_lead_customer(db, l->valuestring, id);
        if (grc == 0 && collect_id(l->valuestring, &back))
            grc = crm__error_nomem();
        rc = grc;
    }
    cJSON_Delete(data);
    char *on_id = NULL, *on_survivor = NULL;
    if (rc == 0) {
        on_id = merge_event_data("from", survivor, &back);
        on_survivor = merge_event_data("unmerged", id, &back);
        if (!on_id || !on_survivor)
            rc = crm__error_nomem();
    }
    if (rc == 0)
        rc = crm__event_append(db, "customer.unmerged", "customer", id, dealer[0] ? dealer : NULL, on_id);
    if (rc == 0)
        rc = crm__event_append(db, "customer.unmerged", "customer", survivor,
                               survivor_dealer[0] ? survivor_dealer : NULL, on_survivor);
    cJSON_free(on_id);
    cJSON_free(on_survivor);
    free(back.ids);
    return rc;
}

int crm_customer_unmerge(crm_db *db, const char *customer_id)
{
    if (!db || !customer_id)
        return crm_error_set(CRM_EINVALID, "%s: required", db ? "customer_id" : "db");
    if (!crm__id_valid(customer_id))
        return crm_error_set(CRM_EINVALID, "customer_id: expected a UUID");
    int rc = need_v2(db);
    if (rc == 0)
        rc = crm__tx_begin(db);
    if (rc == 0)
        rc = crm__tx_end(db, unmerge_tx(db, customer_id));
    return rc;
}

/* ---- reads ------------------------------------------------------------ */

static int get_borrowed(crm_db *db, const char *id, crm_customer *out)
{
    if (!db || !id)
        return crm_error_set(CRM_EINVALID, "%s: required", db ? "id" : "db");
    if (!crm__id_valid(id))
        return crm_error_set(CRM_EINVALID, "id: expected a UUID");
    int rc = need_v2(db);
    return rc ? rc : db->backend->customer_get(db->backend, &db->scope, id, out);
}

int crm_customer_get(crm_customer **out, crm_db *db, const char *id)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: required");
    *out = NULL;
    crm_customer c;
    int rc = get_borrowed(db, id, &c);
    if (rc)
        return rc;
    /* One allocation: the struct, then its strings. */
    const char **fields[] = { &c.id, &c.name, &c.dealer_id, &c.merged_into };
    size_t size = sizeof c;
    for (size_t i = 0; i < 4; i++)
        if (*fields[i])
            size += strlen(*fields[i]) + 1;
    crm_customer *copy = malloc(size);
    if (!copy)
        return crm__error_nomem();
    char *w = (char *)(copy + 1);
    for (size_t i = 0; i < 4; i++) {
        if (*fields[i]) {
            size_t n = strlen(*fields[i]) + 1;
            memcpy(w, *fields[i], n);
            *fields[i] = w;
            w += n;
        }
    }
    *copy = c;
    *out = copy;
    return 0;
}

void crm_customer_free(crm_customer *customer)
{
    free(customer);
}

int crm_customer_find(char *out, crm_db *db, crm_identity_kind kind, const char *app_id, const char *value)
{
    if (!out || !db || !value)
        return crm_error_set(CRM_EINVALID, "%s: required", !out ? "out" : !db ? "db" : "value");
    out[0] = '\0';
    if ((unsigned)kind >= CRM_IDENTITY_KIND_COUNT)
        return crm_error_set(CRM_EINVALID, "kind: out of range");
    int rc = need_v2(db);
    if (rc)
        return rc;
    resolve_in *in = calloc(1, sizeof *in);
    if (!in)
        return crm__error_nomem();
    rc = add_identity(in, kind, app_id, value, "identity");
    crm_identity found;
    if (rc == 0)
        rc = db->backend->identity_find(db->backend, kind, in->ids[0].app_id, in->ids[0].value, &found);
    char id[CRM_ID_LEN + 1] = "";
    if (rc == 0)
        snprintf(id, sizeof id, "%s", found.customer_id);
    crm_customer c;
    /* An identity of a customer outside the scope is as good as unknown. */
    if (rc == 0)
        rc = db->backend->customer_get(db->backend, &db->scope, id, &c);
    if (rc == CRM_ENOTFOUND)
        rc = crm_error_set(CRM_ENOTFOUND, "identity: no customer has this %s", kind_names[kind]);
    if (rc == 0)
        memcpy(out, id, sizeof id);
    free(in);
    return rc;
}

static bool add_opt_text(cJSON *o, const char *name, const char *value)
{
    return value ? cJSON_AddStringToObject(o, name, value) != NULL : cJSON_AddNullToObject(o, name) != NULL;
}

static bool add_time(cJSON *o, const char *name, int64_t t)
{
    char iso[CRM_ISO_TIME_LEN + 1];
    crm__time_format(t, iso);
    return cJSON_AddStringToObject(o, name, iso) != NULL;
}

static int view_identities(crm_db *db, const char *id, cJSON *arr)
{
    crm_backend_iter *it;
    int rc = db->backend->identity_scan(db->backend, id, &it);
    if (rc)
        return rc;
    crm_identity r;
    while ((rc = it->next(it, &r)) == 0) {
        cJSON *o = cJSON_CreateObject();
        bool ok = o && cJSON_AddItemToArray(arr, o) && cJSON_AddStringToObject(o, "kind", kind_names[r.kind]) &&
                  (!r.app_id[0] || cJSON_AddStringToObject(o, "app_id", r.app_id)) &&
                  cJSON_AddStringToObject(o, "value", r.value) && add_time(o, "linked_at", r.created_at) &&
                  (strcmp(r.origin_id, id) == 0 || cJSON_AddStringToObject(o, "merged_from", r.origin_id));
        if (!ok) {
            rc = crm__error_nomem();
            break;
        }
    }
    it->free(it);
    return rc == CRM_ITEROVER ? 0 : rc;
}

static int view_leads(crm_db *db, const char *id, cJSON *arr)
{
    id_list leads;
    int rc = leads_of(db, id, &leads);
    for (size_t i = 0; rc == 0 && i < leads.n; i++) {
        crm_lead l;
        rc = db->backend->lead_get(db->backend, &db->scope, leads.ids[i], &l);
        if (rc)
            break;
        cJSON *o = cJSON_CreateObject();
        bool ok = o && cJSON_AddItemToArray(arr, o) && cJSON_AddStringToObject(o, "id", l.id) &&
                  cJSON_AddStringToObject(o, "channel", l.channel) &&
                  cJSON_AddStringToObject(o, "status", crm_lead_status_name(l.status)) &&
                  add_opt_text(o, "model", l.model) && add_opt_text(o, "dealer_id", l.dealer_id) &&
                  add_time(o, "created_at", l.created_at);
        if (!ok)
            rc = crm__error_nomem();
    }
    free(leads.ids);
    return rc;
}

/* The member section: null for a customer who is not a member. */
static int view_member(crm_db *db, const char *id, cJSON *o)
{
    crm_member m;
    int rc = db->backend->member_get(db->backend, &db->scope, id, &m);
    if (rc == CRM_ENOTFOUND)
        return cJSON_AddNullToObject(o, "member") ? 0 : crm__error_nomem();
    if (rc)
        return rc;
    cJSON *mo = cJSON_CreateObject();
    bool ok = mo && cJSON_AddItemToObject(o, "member", mo) && cJSON_AddStringToObject(mo, "member_no", m.member_no) &&
              add_opt_text(mo, "tier", m.tier) && cJSON_AddNumberToObject(mo, "balance", (double)m.balance) &&
              add_time(mo, "enrolled_at", m.enrolled_at);
    if (!ok && mo && !cJSON_GetObjectItemCaseSensitive(o, "member"))
        cJSON_Delete(mo);
    return ok ? 0 : crm__error_nomem();
}

int crm_customer_view_json(char **out, crm_db *db, const char *id)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: required");
    *out = NULL;
    crm_customer c;
    int rc = get_borrowed(db, id, &c);
    if (rc)
        return rc;
    cJSON *o = cJSON_CreateObject();
    cJSON *ids = cJSON_CreateArray(), *leads = cJSON_CreateArray();
    bool ok = o && ids && leads && cJSON_AddStringToObject(o, "id", c.id) && add_opt_text(o, "name", c.name) &&
              add_opt_text(o, "dealer_id", c.dealer_id) && add_opt_text(o, "merged_into", c.merged_into) &&
              add_time(o, "created_at", c.created_at) && add_time(o, "updated_at", c.updated_at) &&
              cJSON_AddItemToObject(o, "identities", ids);
    if (!ok) {
        cJSON_Delete(ids);
        cJSON_Delete(leads);
        cJSON_Delete(o);
        return crm__error_nomem();
    }
    if (!cJSON_AddItemToObject(o, "leads", leads)) {
        cJSON_Delete(leads);
        cJSON_Delete(o);
        return crm__error_nomem();
    }
    /* c is borrowed: the id is in the object now; read the rest by it. */
    const char *cid = cJSON_GetObjectItemCaseSensitive(o, "id")->valuestring;
    int64_t num = c.num;
    rc = view_identities(db, cid, ids);
    if (rc == 0)
        rc = view_leads(db, cid, leads);
    if (rc == 0)
        rc = view_member(db, cid, o);
    cJSON *tags = rc == 0 ? cJSON_AddArrayToObject(o, "tags") : NULL;
    cJSON *vehicles = tags ? cJSON_AddArrayToObject(o, "vehicles") : NULL;
    if (rc == 0 && !vehicles)
        rc = crm__error_nomem();
    if (rc == 0)
        rc = crm__customer_tags(db, cid, num, tags);
    if (rc == 0)
        rc = crm__customer_vehicles(db, cid, vehicles);
    if (rc == 0) {
        char *text = cJSON_PrintUnformatted(o);
        if (!text)
            rc = crm__error_nomem();
        *out = text;
    }
    cJSON_Delete(o);
    return rc;
}
