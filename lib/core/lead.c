/*
 * Leads: parse and validate a JSON document, normalise it, find an exact
 * duplicate, store it with its audit event in one transaction.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clean_internal.h"
#include "core/core.h"

/* A document larger than this is refused before parsing: a lead is a form,
 * not a file upload. */
#define LEAD_DOC_MAX 65536
#define LEAD_ATTRIBUTES_MAX 16384
#define PHONE_DIGITS_MIN 5
#define PHONE_DIGITS_MAX 15 /* E.164 */
/* Times outside [2000-01-01, 2100-01-01) are typos, not history. */
#define TIME_MIN 946684800000LL
#define TIME_MAX 4102444800000LL

static const char *const status_names[CRM_LEAD_STATUS_COUNT] = {
    "new", "assigned", "contacted", "visited", "test_drive", "ordered", "delivered", "lost", "invalid",
};

static const char *const timeline_names[] = {
    "unknown", "within_1m", "1_3m", "3_6m", "over_6m",
};
#define TIMELINE_COUNT (sizeof timeline_names / sizeof timeline_names[0])

const char *crm_lead_status_name(crm_lead_status status)
{
    return (unsigned)status < CRM_LEAD_STATUS_COUNT ? status_names[status] : NULL;
}

int crm_lead_status_parse(crm_lead_status *out, const char *name)
{
    if (!out || !name)
        return crm_error_set(CRM_EINVALID, "status: required");
    for (int i = 0; i < CRM_LEAD_STATUS_COUNT; i++) {
        if (strcmp(name, status_names[i]) == 0) {
            *out = (crm_lead_status)i;
            return 0;
        }
    }
    return crm_error_set(CRM_EINVALID,
                         "status: unknown status '%.32s' (expected new, assigned, contacted, visited, "
                         "test_drive, ordered, delivered, lost or invalid)",
                         name);
}

static const char *const quality_names[CRM_LEAD_QUALITY_COUNT] = {"ok", "suspect", "junk"};

const char *crm_lead_quality_name(crm_lead_quality quality)
{
    return (unsigned)quality < CRM_LEAD_QUALITY_COUNT ? quality_names[quality] : "unknown";
}

int crm_lead_quality_parse(crm_lead_quality *out, const char *name)
{
    if (!out || !name)
        return crm_error_set(CRM_EINVALID, "quality: required");
    for (int i = 0; i < CRM_LEAD_QUALITY_COUNT; i++) {
        if (strcmp(name, quality_names[i]) == 0) {
            *out = (crm_lead_quality)i;
            return 0;
        }
    }
    return crm_error_set(CRM_EINVALID, "quality: unknown quality '%.32s' (expected ok, suspect or junk)", name);
}

const char *crm_purchase_timeline_name(crm_purchase_timeline timeline)
{
    return (unsigned)timeline < TIMELINE_COUNT ? timeline_names[timeline] : NULL;
}

/* ---- the input fields ----------------------------------------------- */

typedef enum field_kind {
    F_TEXT,     /* free UTF-8 text without control characters */
    F_TOKEN,    /* lower-case ASCII letters, digits, '_' and '-' (folded to lower case) */
    F_ASCII_ID, /* printable ASCII without spaces (WeChat ids) */
    F_PHONE,
    F_EMAIL,
    F_TIMELINE,
    F_BOOL,
    F_OBJECT,
    F_TIME,
    F_SYSTEM    /* set by the library; refused on input */
} field_kind;

typedef struct lead_field {
    const char *name;
    field_kind kind;
    size_t max;    /* bytes after trimming, for text kinds */
    size_t offset; /* of the const char * member in crm_lead, for text kinds */
} lead_field;

#define TEXT_FIELD(member, kind, max) { #member, kind, max, offsetof(crm_lead, member) }

static const lead_field lead_fields[] = {
    TEXT_FIELD(channel, F_TOKEN, 32),
    TEXT_FIELD(campaign, F_TEXT, 128),
    TEXT_FIELD(name, F_TEXT, 100),
    TEXT_FIELD(phone, F_PHONE, 64),
    TEXT_FIELD(email, F_EMAIL, 254),
    TEXT_FIELD(wechat_openid, F_ASCII_ID, 128),
    TEXT_FIELD(wechat_unionid, F_ASCII_ID, 128),
    TEXT_FIELD(province, F_TEXT, 64),
    TEXT_FIELD(city, F_TEXT, 64),
    TEXT_FIELD(dealer_id, F_TEXT, 64),
    TEXT_FIELD(owner_id, F_TEXT, 64),
    TEXT_FIELD(model, F_TEXT, 64),
    { "purchase_timeline", F_TIMELINE, 0, 0 },
    { "test_drive", F_BOOL, 0, 0 },
    { "attributes", F_OBJECT, LEAD_ATTRIBUTES_MAX, 0 },
    { "created_at", F_TIME, 0, 0 },
    { "id", F_SYSTEM, 0, 0 },
    { "status", F_SYSTEM, 0, 0 },
    { "score", F_SYSTEM, 0, 0 },
    { "grade", F_SYSTEM, 0, 0 },
    { "customer_id", F_SYSTEM, 0, 0 },
    { "updated_at", F_SYSTEM, 0, 0 },
    { "quality", F_SYSTEM, 0, 0 },
};
#define LEAD_FIELD_COUNT (sizeof lead_fields / sizeof lead_fields[0])

/* A lead being built from a document: the struct plus the memory its
 * strings live in. Normalised values are never longer than the input, so
 * one arena the size of the document holds them all. */
typedef struct lead_input {
    crm_lead lead;
    char *arena;
    size_t arena_len, arena_cap;
    char *attributes; /* cJSON_Print output, freed separately */
    bool has_created_at;
    bool wrote; /* a write reached the storage (crm__tx_end_lean) */
    cJSON *quality_why; /* when the quality is not ok: field -> reasons, for the event */
} lead_input;

static char *arena_put(lead_input *in, const char *s, size_t len)
{
    if (in->arena_len + len + 1 > in->arena_cap)
        return NULL; /* cannot happen: sized from the document */
    char *p = in->arena + in->arena_len;
    memcpy(p, s, len);
    p[len] = '\0';
    in->arena_len += len + 1;
    return p;
}

static void lead_input_free(lead_input *in)
{
    free(in->arena);
    cJSON_free(in->attributes);
    cJSON_Delete(in->quality_why);
}

/* Length of a whitespace character at s (ASCII space, tab, CR, LF, VT, FF,
 * NBSP U+00A0, ideographic space U+3000), or 0. */
static size_t space_at(const unsigned char *s, size_t left)
{
    if (left >= 1 && (*s == ' ' || (*s >= '\t' && *s <= '\r')))
        return 1;
    if (left >= 2 && s[0] == 0xC2 && s[1] == 0xA0)
        return 2;
    if (left >= 3 && s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80)
        return 3;
    return 0;
}

/* Trim the value in place (as a [start, len) view). */
static void trim(const char **s, size_t *len)
{
    const unsigned char *p = (const unsigned char *)*s;
    size_t n = *len, k;
    while (n > 0 && (k = space_at(p, n)) > 0) {
        p += k;
        n -= k;
    }
    /* From the end: try each whitespace width. */
    for (;;) {
        if (n >= 1 && space_at(p + n - 1, 1) == 1)
            n -= 1;
        else if (n >= 2 && space_at(p + n - 2, 2) == 2)
            n -= 2;
        else if (n >= 3 && space_at(p + n - 3, 3) == 3)
            n -= 3;
        else
            break;
    }
    *s = (const char *)p;
    *len = n;
}

/* Keep the digits of a phone number written with separators, full-width
 * digits or a country code. Writes at most len bytes to out. */
static int normalise_phone(const char *field, const char *s, size_t len, char *out, size_t *out_len)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        if (c >= '0' && c <= '9') {
            out[n++] = (char)c;
            i++;
        } else if (c == ' ' || c == '-' || c == '(' || c == ')' || c == '.' || c == '+' || c == '\t') {
            i++;
        } else if (i + 2 < len && c == 0xEF && p[i + 1] == 0xBC && p[i + 2] >= 0x90 && p[i + 2] <= 0x99) {
            out[n++] = (char)('0' + (p[i + 2] - 0x90)); /* full-width digit U+FF10..U+FF19 */
            i += 3;
        } else if (i + 2 < len && c == 0xEF && p[i + 1] == 0xBC &&
                   (p[i + 2] == 0x88 || p[i + 2] == 0x89 || p[i + 2] == 0x8B || p[i + 2] == 0x8D)) {
            i += 3; /* full-width ( ) + - */
        } else if (i + 2 < len && c == 0xE3 && p[i + 1] == 0x80 && p[i + 2] == 0x80) {
            i += 3; /* ideographic space */
        } else {
            return crm_error_set(CRM_EINVALID,
                                 "%s: unexpected character at byte %zu; expected digits, spaces, "
                                 "'+', '-', '(', ')' or '.'",
                                 field, i);
        }
    }
    /* A Chinese mobile behind a country code: +86 / 0086 / 86 then 1xxxxxxxxxx. */
    if (n == 15 && memcmp(out, "0086", 4) == 0 && out[4] == '1') {
        memmove(out, out + 4, 11);
        n = 11;
    } else if (n == 13 && memcmp(out, "86", 2) == 0 && out[2] == '1') {
        memmove(out, out + 2, 11);
        n = 11;
    }
    if (n < PHONE_DIGITS_MIN || n > PHONE_DIGITS_MAX)
        return crm_error_set(CRM_EINVALID, "%s: expected %d to %d digits, got %zu", field, PHONE_DIGITS_MIN,
                             PHONE_DIGITS_MAX, n);
    *out_len = n;
    return 0;
}

/* Validate every string and key of a JSON value (cJSON passes bytes
 * through without checking UTF-8). */
static int check_json_text(const cJSON *item, char *path, size_t path_len, size_t path_cap)
{
    if (cJSON_IsString(item) && !crm__utf8_valid(item->valuestring, strlen(item->valuestring)))
        return crm_error_set(CRM_EINVALID, "%s: invalid UTF-8", path);
    for (const cJSON *child = item->child; child; child = child->next) {
        size_t n = path_len;
        if (cJSON_IsObject(item)) {
            if (!crm__utf8_valid(child->string, strlen(child->string)))
                return crm_error_set(CRM_EINVALID, "%s: a key is not valid UTF-8", path);
            n += (size_t)snprintf(path + n, path_cap - n, ".%s", child->string);
        } else {
            n += (size_t)snprintf(path + n, path_cap - n, "[]");
        }
        if (n >= path_cap)
            n = path_cap - 1;
        int rc = check_json_text(child, path, n, path_cap);
        path[path_len] = '\0';
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_text_field(lead_input *in, const lead_field *f, const cJSON *item, const char *field)
{
    if (!cJSON_IsString(item))
        return crm_error_set(CRM_EINVALID, "%s: expected a string", field);
    const char *s = item->valuestring;
    size_t len = strlen(s);
    if (!crm__utf8_valid(s, len))
        return crm_error_set(CRM_EINVALID, "%s: invalid UTF-8", field);
    trim(&s, &len);
    if (len == 0)
        return 0; /* blank is absent */
    if (len > f->max)
        return crm_error_set(CRM_EINVALID, "%s: %zu bytes is over the limit of %zu", field, len, f->max);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
            return crm_error_set(CRM_EINVALID, "%s: control character at byte %zu", field, i);

    char *value = arena_put(in, s, len);
    if (!value)
        return crm__error_nomem();
    switch (f->kind) {
    case F_TOKEN:
        for (size_t i = 0; i < len; i++) {
            char c = value[i];
            if (c >= 'A' && c <= 'Z')
                value[i] = (char)(c - 'A' + 'a');
            else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
                return crm_error_set(CRM_EINVALID, "%s: expected ASCII letters, digits, '_' or '-'", field);
        }
        break;
    case F_ASCII_ID:
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)value[i] <= ' ' || (unsigned char)value[i] >= 0x7F)
                return crm_error_set(CRM_EINVALID, "%s: expected printable ASCII without spaces", field);
        break;
    case F_PHONE: {
        size_t n = 0;
        int rc = normalise_phone(field, s, len, value, &n);
        if (rc)
            return rc;
        value[n] = '\0';
        break;
    }
    case F_EMAIL: {
        const char *at = strchr(value, '@');
        bool ok = at && at != value && strchr(at + 1, '@') == NULL && strchr(at + 1, '.') &&
                  at[1] != '.' && value[len - 1] != '.';
        for (size_t i = 0; ok && i < len; i++) {
            unsigned char c = (unsigned char)value[i];
            if (c >= 'A' && c <= 'Z')
                value[i] = (char)(c - 'A' + 'a');
            else if (c == ' ' || c == '\t' || c == ',' || c == ';' || c == '<' || c == '>')
                ok = false;
        }
        if (!ok)
            return crm_error_set(CRM_EINVALID, "%s: expected an address like name@example.com", field);
        break;
    }
    default:
        break;
    }
    memcpy((char *)&in->lead + f->offset, &value, sizeof value);
    return 0;
}

static int parse_field(lead_input *in, const lead_field *f, const cJSON *item)
{
    char field[96];
    snprintf(field, sizeof field, "lead.%s", f->name);
    if (cJSON_IsNull(item))
        return 0; /* null is absent */
    switch (f->kind) {
    case F_TEXT:
    case F_TOKEN:
    case F_ASCII_ID:
    case F_PHONE:
    case F_EMAIL:
        return parse_text_field(in, f, item, field);
    case F_TIMELINE:
        if (cJSON_IsString(item)) {
            for (size_t i = 0; i < TIMELINE_COUNT; i++) {
                if (strcmp(item->valuestring, timeline_names[i]) == 0) {
                    in->lead.purchase_timeline = (crm_purchase_timeline)i;
                    return 0;
                }
            }
        }
        return crm_error_set(CRM_EINVALID,
                             "%s: expected one of \"unknown\", \"within_1m\", \"1_3m\", \"3_6m\", \"over_6m\"",
                             field);
    case F_BOOL:
        if (!cJSON_IsBool(item))
            return crm_error_set(CRM_EINVALID, "%s: expected true or false", field);
        in->lead.test_drive = cJSON_IsTrue(item) ? CRM_YES : CRM_NO;
        return 0;
    case F_OBJECT: {
        if (!cJSON_IsObject(item))
            return crm_error_set(CRM_EINVALID, "%s: expected an object", field);
        char path[256];
        snprintf(path, sizeof path, "%s", field);
        int rc = check_json_text(item, path, strlen(path), sizeof path);
        if (rc)
            return rc;
        if (!item->child)
            return 0; /* {} is absent */
        char *text = cJSON_PrintUnformatted(item);
        if (!text)
            return crm__error_nomem();
        if (strlen(text) > f->max) {
            size_t n = strlen(text);
            cJSON_free(text);
            return crm_error_set(CRM_EINVALID, "%s: %zu bytes is over the limit of %zu", field, n, f->max);
        }
        in->attributes = text;
        in->lead.attributes = text;
        return 0;
    }
    case F_TIME: {
        int64_t t;
        if (cJSON_IsString(item)) {
            if (crm__time_parse(item->valuestring, &t) != 0)
                return crm_error_set(CRM_EINVALID,
                                     "%s: expected an ISO-8601 time like \"2026-11-25T08:30:00Z\"", field);
        } else if (cJSON_IsNumber(item) && isfinite(item->valuedouble) && item->valuedouble == floor(item->valuedouble)) {
            t = (int64_t)item->valuedouble;
        } else {
            return crm_error_set(CRM_EINVALID, "%s: expected an ISO-8601 string or Unix milliseconds", field);
        }
        if (t < TIME_MIN || t >= TIME_MAX)
            return crm_error_set(CRM_EINVALID, "%s: outside 2000-01-01 .. 2100-01-01", field);
        in->lead.created_at = t;
        in->has_created_at = true;
        return 0;
    }
    case F_SYSTEM:
        return crm_error_set(CRM_EINVALID, "%s: set by the library, not by ingest", field);
    }
    return 0;
}

/* Parse and validate a document into in->lead (no id, times, status yet). */
static int lead_parse(lead_input *in, const char *json, size_t len)
{
    memset(in, 0, sizeof *in);
    in->lead.test_drive = CRM_UNKNOWN;
    in->lead.score = -1;
    if (len > LEAD_DOC_MAX)
        return crm_error_set(CRM_EINVALID, "lead: document is %zu bytes; the limit is %d", len, LEAD_DOC_MAX);
    if (memchr(json, '\0', len))
        return crm_error_set(CRM_EINVALID, "lead: document contains a NUL byte");

    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!doc) {
        size_t at = end && end >= json ? (size_t)(end - json) : 0;
        return crm_error_set(CRM_EINVALID, "lead: malformed JSON near byte %zu", at);
    }
    /* Only whitespace may follow the object. */
    for (const char *p = end; p < json + len; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            cJSON_Delete(doc);
            return crm_error_set(CRM_EINVALID, "lead: unexpected text after the JSON object at byte %zu",
                                 (size_t)(p - json));
        }
    }
    int rc = 0;
    if (!cJSON_IsObject(doc)) {
        rc = crm_error_set(CRM_EINVALID, "lead: expected a JSON object");
        goto done;
    }
    in->arena_cap = len + 1;
    in->arena = malloc(in->arena_cap);
    if (!in->arena) {
        rc = crm__error_nomem();
        goto done;
    }

    uint32_t seen = 0;
    for (const cJSON *item = doc->child; item && rc == 0; item = item->next) {
        if (!crm__utf8_valid(item->string, strlen(item->string))) {
            rc = crm_error_set(CRM_EINVALID, "lead: a field name is not valid UTF-8");
            break;
        }
        size_t i = 0;
        while (i < LEAD_FIELD_COUNT && strcmp(lead_fields[i].name, item->string) != 0)
            i++;
        if (i == LEAD_FIELD_COUNT) {
            rc = crm_error_set(CRM_EINVALID, "lead.%.64s: unknown field", item->string);
        } else if (seen & (1u << i)) {
            rc = crm_error_set(CRM_EINVALID, "lead.%s: given more than once", lead_fields[i].name);
        } else {
            seen |= 1u << i;
            rc = parse_field(in, &lead_fields[i], item);
        }
    }
    if (rc == 0 && !in->lead.channel)
        rc = crm_error_set(CRM_EINVALID, "lead.channel: required");
    if (rc == 0 && !in->lead.phone && !in->lead.email && !in->lead.wechat_openid && !in->lead.wechat_unionid)
        rc = crm_error_set(CRM_EINVALID,
                           "lead: needs at least one of phone, email, wechat_openid, wechat_unionid");
done:
    cJSON_Delete(doc);
    return rc;
}

/* ---- JSON out ------------------------------------------------------- */

static bool add_text(cJSON *o, const char *name, const char *value, bool skip_nulls)
{
    if (value)
        return cJSON_AddStringToObject(o, name, value) != NULL;
    return skip_nulls || cJSON_AddNullToObject(o, name) != NULL;
}

static bool add_time(cJSON *o, const char *name, int64_t t)
{
    char iso[CRM_ISO_TIME_LEN + 1];
    crm__time_format(t, iso);
    return cJSON_AddStringToObject(o, name, iso) != NULL;
}

static const char *text_member(const crm_lead *l, size_t offset)
{
    const char *value;
    memcpy(&value, (const char *)l + offset, sizeof value);
    return value;
}

/* The lead as a cJSON object. With system fields it is the stored lead:
 * every field, null when absent, a stable shape for readers. Without, it is
 * the document as ingested after cleaning, absent fields left out (what a
 * duplicate's event records). */
static cJSON *lead_to_cjson(const crm_lead *l, bool with_system)
{
    const bool skip = !with_system;
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;
    if (ok && with_system)
        ok = add_text(o, "id", l->id, false);
    /* The input fields, in the order of the field table. */
    for (size_t i = 0; ok && i < LEAD_FIELD_COUNT; i++) {
        const lead_field *f = &lead_fields[i];
        switch (f->kind) {
        case F_TEXT:
        case F_TOKEN:
        case F_ASCII_ID:
        case F_PHONE:
        case F_EMAIL:
            ok = add_text(o, f->name, text_member(l, f->offset), skip);
            break;
        case F_TIMELINE:
            if (!skip || l->purchase_timeline != CRM_TIMELINE_UNKNOWN)
                ok = add_text(o, f->name, crm_purchase_timeline_name(l->purchase_timeline), skip);
            break;
        case F_BOOL:
            ok = l->test_drive == CRM_UNKNOWN ? add_text(o, f->name, NULL, skip)
                                              : cJSON_AddBoolToObject(o, f->name, l->test_drive == CRM_YES) != NULL;
            break;
        case F_OBJECT:
            if (l->attributes) {
                cJSON *attrs = cJSON_Parse(l->attributes);
                if (!attrs)
                    attrs = cJSON_CreateString(l->attributes); /* stored text that is not JSON: show it as is */
                ok = attrs && cJSON_AddItemToObject(o, f->name, attrs);
                if (!ok)
                    cJSON_Delete(attrs);
            } else {
                ok = add_text(o, f->name, NULL, skip);
            }
            break;
        case F_TIME:
            ok = add_time(o, f->name, l->created_at);
            break;
        case F_SYSTEM:
            break;
        }
    }
    if (ok && with_system) {
        ok = add_text(o, "status", crm_lead_status_name(l->status), false) &&
             (l->score < 0 ? cJSON_AddNullToObject(o, "score") != NULL
                           : cJSON_AddNumberToObject(o, "score", l->score) != NULL) &&
             add_text(o, "grade", l->grade, false) && add_text(o, "customer_id", l->customer_id, false) &&
             add_time(o, "updated_at", l->updated_at) && add_text(o, "merged_into", l->merged_into, false) &&
             add_text(o, "quality", crm_lead_quality_name(l->quality), false);
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int print_json(char **out, cJSON *o)
{
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text)
        return crm__error_nomem();
    *out = text;
    return 0;
}

int crm_lead_to_json(char **out, const crm_lead *lead)
{
    if (!out || !lead)
        return crm_error_set(CRM_EINVALID, "%s: required", out ? "lead" : "out");
    *out = NULL;
    return print_json(out, lead_to_cjson(lead, true));
}

/* ---- quality ------------------------------------------------------- */

int crm__lead_judge(crm_lead_quality *out, cJSON **why, const crm_lead *l)
{
    cJSON *reasons = NULL;
    char region[2 * 64 + 2];
    snprintf(region, sizeof region, "%s%s%s", l->province ? l->province : "", l->province && l->city ? " " : "",
             l->city ? l->city : "");
    const struct {
        const char *field, *value;
    } fields[] = {{"phone", l->phone}, {"name", l->name}, {"email", l->email}, {"region", region[0] ? region : NULL}};
    crm__quality q = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof fields / sizeof fields[0]; i++) {
        if (!fields[i].value)
            continue;
        crm_clean_result r = CRM_CLEAN_RESULT_INIT;
        rc = i == 0   ? crm_clean_phone(&r, fields[i].value)
             : i == 1 ? crm__judge_name(&r, fields[i].value) /* no pinyin key: only the verdict counts */
             : i == 2 ? crm_clean_email(&r, fields[i].value)
                      : crm_clean_region(&r, fields[i].value);
        if (rc == 0) {
            crm__quality_fold(&q, fields[i].field, &r);
            if (why && (r.flags & CRM__QUALITY_FLAGS) && r.reasons) {
                if (!reasons && !(reasons = cJSON_CreateObject()))
                    rc = crm__error_nomem();
                else if (!cJSON_AddStringToObject(reasons, fields[i].field, r.reasons))
                    rc = crm__error_nomem();
            }
        }
        crm_clean_result_clear(&r);
    }
    crm_lead_quality quality = CRM_LEAD_QUALITY_OK;
    if (rc == 0) {
        quality = (crm_lead_quality)crm__quality_end(&q, l->wechat_openid || l->wechat_unionid);
        if (why && quality == CRM_LEAD_QUALITY_JUNK && !q.contact) {
            if (!reasons && !(reasons = cJSON_CreateObject()))
                rc = crm__error_nomem();
            else if (!cJSON_AddStringToObject(reasons, "contact", "no_usable_contact"))
                rc = crm__error_nomem();
        }
    }
    if (rc) {
        cJSON_Delete(reasons);
        return rc;
    }
    *out = quality;
    if (why)
        *why = reasons;
    return 0;
}

/* The "lead.created" event's data when the lead is not ok: the score's
 * data (if any) with the quality and its reasons. NULL for an ok lead,
 * whose event carries the score's data as it is (no copy on the hot path). */
static int created_event_data(char **out, const lead_input *in, const char *scored)
{
    *out = NULL;
    if (in->lead.quality == CRM_LEAD_QUALITY_OK)
        return 0;
    cJSON *o = scored ? cJSON_Parse(scored) : cJSON_CreateObject();
    cJSON *why = in->quality_why ? cJSON_Duplicate(in->quality_why, true) : cJSON_CreateObject();
    bool attached = false;
    bool ok = o && why && cJSON_AddStringToObject(o, "quality", crm_lead_quality_name(in->lead.quality)) &&
              (attached = cJSON_AddItemToObject(o, "quality_reasons", why));
    if (!ok) {
        if (!attached)
            cJSON_Delete(why);
        cJSON_Delete(o);
        return crm__error_nomem();
    }
    return print_json(out, o);
}

/* ---- ingest --------------------------------------------------------- */

typedef struct dup_search {
    crm_db *db;
    const char *phone; /* the key searched for */
    int rc;
    char id[CRM_ID_LEN + 1];
    char dealer_id[72];
    bool has_dealer;
    bool found;
} dup_search;

/* Whether the lead has the phone: as its phone, or among the numbers a
 * merge kept in attributes.phones (lead_merge.c), whose keys moved with
 * them. Keys are stored hashed, so a key alone can (rarely) reach another
 * phone: the record decides. */
static bool lead_has_phone(const crm_lead *l, const char *phone)
{
    if (l->phone && strcmp(l->phone, phone) == 0)
        return true;
    if (!l->attributes || !strstr(l->attributes, phone))
        return false;
    cJSON *attrs = cJSON_Parse(l->attributes);
    const cJSON *phones = cJSON_GetObjectItemCaseSensitive(attrs, "phones");
    bool found = false;
    for (const cJSON *p = cJSON_IsArray(phones) ? phones->child : NULL; p && !found; p = p->next)
        found = cJSON_IsString(p) && strcmp(p->valuestring, phone) == 0;
    cJSON_Delete(attrs);
    return found;
}

/* A candidate with the same key counts only if the handle can see it. */
static int dup_candidate(const char *id, void *payload)
{
    dup_search *ds = payload;
    crm_lead seen;
    int rc = ds->db->backend->lead_get(ds->db->backend, &ds->db->scope, id, &seen);
    if (rc == CRM_ENOTFOUND)
        return 0;
    if (rc) {
        ds->rc = rc;
        return 1;
    }
    if (!lead_has_phone(&seen, ds->phone))
        return 0;
    snprintf(ds->id, sizeof ds->id, "%s", seen.id);
    ds->has_dealer = seen.dealer_id != NULL;
    if (seen.dealer_id)
        snprintf(ds->dealer_id, sizeof ds->dealer_id, "%s", seen.dealer_id);
    ds->found = true;
    return 1;
}

static int record_duplicate(crm_db *db, lead_input *in, const dup_search *ds, const char *evidence,
                            crm_ingest_result *res)
{
    /* The document came into being now unless it says otherwise. */
    if (!in->has_created_at)
        in->lead.created_at = crm_db_now(db);
    cJSON *data = cJSON_CreateObject();
    cJSON *doc = lead_to_cjson(&in->lead, false);
    cJSON *match = evidence ? cJSON_Parse(evidence) : NULL;
    if (!data || !doc || (evidence && !match) ||
        !cJSON_AddStringToObject(data, "matched_on", evidence ? "match" : "phone") ||
        (match && !cJSON_AddItemToObject(data, "match", match)) || !cJSON_AddItemToObject(data, "document", doc)) {
        cJSON_Delete(data);
        cJSON_Delete(doc);
        return crm__error_nomem();
    }
    char *text = NULL;
    int rc = print_json(&text, data);
    if (rc)
        return rc;
    in->wrote = true;
    rc = crm__event_append(db, "lead.duplicate", "lead", ds->id, ds->has_dealer ? ds->dealer_id : NULL, text);
    cJSON_free(text);
    if (rc == 0) {
        res->outcome = CRM_INGEST_DUPLICATE;
        snprintf(res->id, sizeof res->id, "%s", ds->id);
        snprintf(res->duplicate_of, sizeof res->duplicate_of, "%s", ds->id);
        snprintf(res->reason, sizeof res->reason, "duplicate of %s (%s)", ds->id,
                 evidence ? "matched" : "same phone");
    }
    return rc;
}

static int store_new(crm_db *db, lead_input *in, crm_ingest_result *res)
{
    char id[CRM_ID_LEN + 1];
    int64_t now = crm_db_now(db);
    crm__idgen_next(&db->idgen, now, id);
    in->lead.id = id;
    in->lead.status = CRM_LEAD_NEW;
    if (!in->has_created_at)
        in->lead.created_at = now;
    in->lead.updated_at = now;

    /* Scored before the insert, so the row is written once with its score. */
    crm_score score;
    char *scored = NULL;
    int rc = db->score_model ? crm__lead_score_new(&score, &scored, db, &in->lead) : 0;
    if (rc == 0 && scored) {
        in->lead.score = score.score;
        in->lead.grade = score.grade;
    }
    /* Everything that can fail but the storage comes before the first write
     * (crm__tx_end_lean). */
    char *event_data = NULL;
    if (rc == 0)
        rc = created_event_data(&event_data, in, scored);
    crm_backend *b = db->backend;
    in->wrote = rc == 0;
    if (rc == 0)
        rc = b->lead_insert(b, &in->lead);
    if (rc == 0 && in->lead.phone)
        rc = b->key_put(b, CRM__KEY_PHONE, in->lead.phone, id);
    /* The event records who and when (and the score, which is no personal
     * data); the values are the lead's own row. Copying them into the trail
     * would double the storage and leave personal data behind where an
     * erasure must reach it. */
    if (rc == 0)
        rc = crm__event_append(db, "lead.created", "lead", id, in->lead.dealer_id, event_data ? event_data : scored);
    cJSON_free(event_data);
    if (rc == 0) {
        res->outcome = CRM_INGEST_CREATED;
        memcpy(res->id, id, sizeof res->id);
        res->duplicate_of[0] = '\0';
        int n = scored ? snprintf(res->reason, sizeof res->reason, "new lead; scored %d (%s)", score.score,
                                  score.grade)
                       : snprintf(res->reason, sizeof res->reason, "new lead");
        if (scored) {
            res->score = score.score;
            memcpy(res->grade, score.grade, sizeof res->grade);
        }
        if (in->lead.quality != CRM_LEAD_QUALITY_OK && n > 0 && (size_t)n < sizeof res->reason)
            snprintf(res->reason + n, sizeof res->reason - (size_t)n, "; %s", crm_lead_quality_name(in->lead.quality));
    }
    cJSON_free(scored);
    in->lead.id = NULL;
    in->lead.grade = NULL;
    return rc;
}

/* Ingest with online matching: the best candidate by the matcher decides. */
static int ingest_matched(crm_db *db, lead_input *in, crm_ingest_result *res)
{
    crm__match_best best;
    int rc = crm__lead_match_find(db, &in->lead, &best);
    if (rc == 0 && best.decision == CRM_MATCH_MERGE) {
        dup_search ds = {.db = db, .has_dealer = best.has_dealer, .found = true};
        memcpy(ds.id, best.id, sizeof ds.id);
        memcpy(ds.dealer_id, best.dealer_id, sizeof ds.dealer_id);
        rc = record_duplicate(db, in, &ds, best.evidence, res);
    } else if (rc == 0) {
        rc = store_new(db, in, res);
        if (rc == 0)
            rc = crm__lead_match_keys_put(db, res->id, in->lead.phone);
        if (rc == 0 && best.decision == CRM_MATCH_REVIEW) {
            /* The new lead carries the candidate and why, for a person to decide. */
            char *data = NULL;
            size_t n = strlen(best.evidence) + 128;
            if (!(data = malloc(n)))
                rc = crm__error_nomem();
            else {
                snprintf(data, n, "{\"candidate\":\"%s\",\"match\":%s}", best.id, best.evidence);
                rc = crm__event_append(db, "lead.possible_duplicate", "lead", res->id, in->lead.dealer_id, data);
                free(data);
            }
            if (rc == 0)
                rc = crm__review_add(db, res->id, best.id, in->lead.dealer_id, best.probability, best.evidence);
            if (rc == 0) {
                res->outcome = CRM_INGEST_REVIEW;
                memcpy(res->duplicate_of, best.id, sizeof res->duplicate_of);
                snprintf(res->reason, sizeof res->reason, "new lead; possible duplicate of %s (p=%.2f)", best.id,
                         best.probability);
            }
        }
    }
    crm_free(best.evidence);
    return rc;
}

int crm_lead_ingest_n(crm_ingest_result *result, crm_db *db, const char *json, size_t len)
{
    crm_ingest_result scratch;
    crm_ingest_result *res = result ? result : &scratch;
    memset(res, 0, sizeof *res);
    res->score = -1;
    if (!db)
        return crm_error_set(CRM_EINVALID, "db: required");
    if (!json)
        return crm_error_set(CRM_EINVALID, "lead: required");

    lead_input in;
    int rc = lead_parse(&in, json, len);
    if (rc == 0 && db->scope.dealer_id) {
        if (!in.lead.dealer_id)
            in.lead.dealer_id = db->scope.dealer_id;
        else if (strcmp(in.lead.dealer_id, db->scope.dealer_id) != 0)
            rc = crm_error_set(CRM_EPERM, "lead.dealer_id: outside this handle's scope (dealer %s)",
                               db->scope.dealer_id);
    }
    if (rc == 0)
        rc = crm__lead_judge(&in.lead.quality, &in.quality_why, &in.lead);
    if (rc) {
        lead_input_free(&in);
        return rc;
    }

    rc = crm__tx_begin_lean(db);
    if (rc == 0) {
        dup_search ds = { .db = db, .phone = in.lead.phone };
        if (db->matcher) {
            rc = ingest_matched(db, &in, res);
        } else {
            if (in.lead.phone)
                rc = db->backend->key_find(db->backend, CRM__KEY_PHONE, in.lead.phone, dup_candidate, &ds);
            if (rc == 0)
                rc = ds.rc;
            if (rc == 0)
                rc = ds.found ? record_duplicate(db, &in, &ds, NULL, res) : store_new(db, &in, res);
        }
        rc = crm__tx_end_lean(db, rc, in.wrote);
    }
    if (rc) {
        memset(res, 0, sizeof *res);
        res->score = -1;
    } else {
        res->quality = in.lead.quality;
    }
    lead_input_free(&in);
    return rc;
}

int crm_lead_ingest(crm_ingest_result *result, crm_db *db, const char *json)
{
    if (!json) {
        if (result) {
            memset(result, 0, sizeof *result);
            result->score = -1;
        }
        return crm_error_set(CRM_EINVALID, "lead: required");
    }
    return crm_lead_ingest_n(result, db, json, strlen(json));
}

/* ---- judge again ------------------------------------------------------ */

/* Write one lead's new verdict with its event. */
static int store_quality(crm_db *db, const char *id, size_t *changed)
{
    crm_lead *l = NULL;
    cJSON *why = NULL;
    crm_lead_quality q;
    int rc = crm_lead_get(&l, db, id);
    if (rc == 0)
        rc = crm__lead_judge(&q, &why, l);
    if (rc == 0 && q != l->quality) {
        cJSON *data = cJSON_CreateObject();
        bool attached = false;
        bool ok = data && cJSON_AddStringToObject(data, "from", crm_lead_quality_name(l->quality)) &&
                  cJSON_AddStringToObject(data, "to", crm_lead_quality_name(q)) &&
                  (why ? (attached = cJSON_AddItemToObject(data, "quality_reasons", why))
                       : cJSON_AddNullToObject(data, "quality_reasons") != NULL);
        if (attached)
            why = NULL;
        char *text = NULL;
        rc = ok ? print_json(&text, data) : (cJSON_Delete(data), crm__error_nomem());
        if (rc == 0) {
            l->quality = q;
            l->updated_at = crm_db_now(db);
            rc = db->backend->lead_update(db->backend, l);
        }
        if (rc == 0)
            rc = crm__event_append(db, "lead.quality", "lead", l->id, l->dealer_id, text);
        if (rc == 0)
            (*changed)++;
        cJSON_free(text);
    }
    cJSON_Delete(why);
    crm_lead_free(l);
    return rc;
}

int crm_lead_judge_all(size_t *changed, crm_db *db)
{
    if (changed)
        *changed = 0;
    if (!db)
        return crm_error_set(CRM_EINVALID, "db: required");
    /* Find the leads whose verdict moves (a read-only pass), then write
     * them: the listing's rows are borrowed and must not be held across
     * writes. */
    crm_id_list moved = {0};
    size_t count = 0;
    crm_iter *it = NULL;
    int rc = crm_lead_iter_new(&it, db, NULL);
    const crm_lead *l;
    while (rc == 0 && (rc = crm_lead_next(&l, it)) == 0) {
        crm_lead_quality q;
        if ((rc = crm__lead_judge(&q, NULL, l)) == 0 && q != l->quality)
            rc = crm__id_list_push(&moved, l->id);
    }
    if (rc == CRM_ITEROVER)
        rc = 0;
    crm_iter_free(it);
    if (rc == 0 && moved.n && (rc = crm__tx_begin(db)) == 0) {
        for (size_t i = 0; rc == 0 && i < moved.n; i++)
            rc = store_quality(db, moved.ids[i], &count);
        rc = crm__tx_end(db, rc);
    }
    free(moved.ids);
    if (rc == 0 && changed)
        *changed = count;
    return rc;
}

/* ---- get ------------------------------------------------------------ */

static int get_borrowed(crm_db *db, const char *id, crm_lead *out)
{
    if (!db || !id)
        return crm_error_set(CRM_EINVALID, "%s: required", db ? "id" : "db");
    if (!crm__id_valid(id))
        return crm_error_set(CRM_EINVALID, "id: expected a UUID");
    return db->backend->lead_get(db->backend, &db->scope, id, out);
}

/* A caller-owned copy in one allocation: the struct, then its strings. */
static crm_lead *lead_dup(const crm_lead *src)
{
    const char *const *fields[] = { &src->id, &src->channel, &src->campaign, &src->name, &src->phone,
                                    &src->email, &src->wechat_openid, &src->wechat_unionid,
                                    &src->province, &src->city, &src->dealer_id, &src->owner_id,
                                    &src->model, &src->grade, &src->customer_id, &src->attributes,
                                    &src->merged_into };
    return crm__record_dup(src, sizeof *src, fields, sizeof fields / sizeof fields[0]);
}

int crm_lead_get(crm_lead **out, crm_db *db, const char *id)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: required");
    *out = NULL;
    crm_lead borrowed;
    int rc = get_borrowed(db, id, &borrowed);
    if (rc)
        return rc;
    crm_lead *copy = lead_dup(&borrowed);
    if (!copy)
        return crm__error_nomem();
    *out = copy;
    return 0;
}

int crm_lead_get_json(char **out, crm_db *db, const char *id)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: required");
    *out = NULL;
    crm_lead borrowed;
    int rc = get_borrowed(db, id, &borrowed);
    if (rc)
        return rc;
    return print_json(out, lead_to_cjson(&borrowed, true));
}

void crm_lead_free(crm_lead *lead)
{
    free(lead);
}

/* ---- list ----------------------------------------------------------- */

int crm_lead_iter_new(crm_iter **out, crm_db *db, const crm_lead_filter *filter)
{
    if (!out || !db)
        return crm_error_set(CRM_EINVALID, "%s: required", out ? "db" : "out");
    *out = NULL;
    crm_lead_filter f = CRM_LEAD_FILTER_INIT;
    if (filter) {
        if (filter->version < 1 || filter->version > CRM_LEAD_FILTER_VERSION)
            return crm_error_set(CRM_EINVALID, "filter.version: %u is not supported", filter->version);
        /* A version 1 filter ends before qualities: copy only what it has. */
        memcpy(&f, filter, filter->version >= 2 ? sizeof f : offsetof(crm_lead_filter, qualities));
        f.version = CRM_LEAD_FILTER_VERSION;
    }
    if (f.statuses >> CRM_LEAD_STATUS_COUNT)
        return crm_error_set(CRM_EINVALID, "filter.statuses: bits above %d name no status",
                             CRM_LEAD_STATUS_COUNT - 1);
    if (f.qualities >> CRM_LEAD_QUALITY_COUNT)
        return crm_error_set(CRM_EINVALID, "filter.qualities: bits above %d name no quality",
                             CRM_LEAD_QUALITY_COUNT - 1);
    if (f.qualities && db->backend->version < CRM_BACKEND_VERSION_QUALITY)
        return crm_error_set(CRM_ESTORAGE, "backend %s: no lead quality (version %u < %d)", db->backend->name,
                             db->backend->version, CRM_BACKEND_VERSION_QUALITY);
    if (f.created_from < 0 || f.created_to < 0)
        return crm_error_set(CRM_EINVALID, "filter.created_%s: must not be negative", f.created_from < 0 ? "from" : "to");
    if (f.created_from && f.created_to && f.created_from >= f.created_to)
        return crm_error_set(CRM_EINVALID, "filter.created_to: must be after created_from");

    /* The backend reads the filter during the call and keeps none of it. */
    crm_backend_iter *cursor;
    int rc = db->backend->lead_scan(db->backend, &db->scope, &f, &cursor);
    if (rc == 0)
        rc = crm__iter_new(out, db, CRM_ITER_LEAD, cursor);
    return rc;
}

int crm_lead_next(const crm_lead **out, crm_iter *iter)
{
    if (!out || !iter)
        return crm_error_set(CRM_EINVALID, "%s: required", out ? "iter" : "out");
    *out = NULL;
    int rc = crm__iter_step(iter, CRM_ITER_LEAD, &iter->current.lead);
    if (rc == 0)
        *out = &iter->current.lead;
    return rc;
}
