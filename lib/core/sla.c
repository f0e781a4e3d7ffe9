/* SLA policies (JSON, validated with paths), measuring a work order
 * against its rule on a business calendar, and the idempotent escalation
 * run. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#define MIN_MS 60000LL
#define NAME_MAX_LEN 63

enum action_kind { ACT_NOTIFY, ACT_REASSIGN, ACT_RAISE_PRIORITY };

typedef struct sla_action {
    enum action_kind kind;
    char *to;       /* notify */
    char *assignee; /* reassign */
    char *queue;    /* reassign, optional */
} sla_action;

typedef struct sla_level {
    int64_t after_minutes;
    sla_action *actions;
    size_t n_actions;
} sla_level;

typedef struct sla_rule {
    char name[NAME_MAX_LEN + 1];
    char **types, **channels;
    size_t n_types, n_channels;
    unsigned priorities;     /* bit per priority; 0: any */
    int64_t response_minutes; /* 0: no first-response target */
    int64_t resolution_minutes;
    int warning_percent;     /* 0: no warnings */
    sla_level *levels;
    size_t n_levels;
} sla_rule;

typedef struct dealer_calendar {
    char *dealer_id;
    crm_calendar *cal;
} dealer_calendar;

struct crm_sla_policy {
    crm_calendar *fallback; /* "default", or the built-in China calendar */
    dealer_calendar *dealers;
    size_t n_dealers;
    sla_rule *rules;
    size_t n_rules;
};

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void crm_sla_policy_free(crm_sla_policy *p)
{
    if (!p)
        return;
    crm_calendar_free(p->fallback);
    for (size_t i = 0; i < p->n_dealers; i++) {
        free(p->dealers[i].dealer_id);
        crm_calendar_free(p->dealers[i].cal);
    }
    free(p->dealers);
    for (size_t r = 0; r < p->n_rules; r++) {
        sla_rule *rule = &p->rules[r];
        free_strings(rule->types, rule->n_types);
        free_strings(rule->channels, rule->n_channels);
        for (size_t l = 0; l < rule->n_levels; l++) {
            for (size_t a = 0; a < rule->levels[l].n_actions; a++) {
                free(rule->levels[l].actions[a].to);
                free(rule->levels[l].actions[a].assignee);
                free(rule->levels[l].actions[a].queue);
            }
            free(rule->levels[l].actions);
        }
        free(rule->levels);
    }
    free(p->rules);
    free(p);
}

/* ---- parsing ---------------------------------------------------------- */

static int check_keys(const cJSON *o, const char *path, const char *const *keys, size_t n)
{
    for (const cJSON *e = o->child; e; e = e->next) {
        bool known = false;
        for (size_t k = 0; k < n; k++)
            known = known || strcmp(e->string, keys[k]) == 0;
        if (!known)
            return crm_error_set(CRM_EINVALID, "%s.%s: unknown key", path, e->string);
    }
    return 0;
}

/* A positive (or, with allow_zero, non-negative) integer number of minutes. */
static int get_minutes(int64_t *out, const cJSON *v, const char *path, bool allow_zero)
{
    double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
    if (d != (double)(int64_t)d || d < (allow_zero ? 0 : 1) || d > 1e8)
        return crm_error_set(CRM_EINVALID, "%s: expected a %s integer", path, allow_zero ? "non-negative" : "positive");
    *out = (int64_t)d;
    return 0;
}

static int get_name(char **out, const cJSON *v, const char *path)
{
    const char *s = cJSON_GetStringValue(v);
    if (!s || !*s || strlen(s) > 128 || !crm__utf8_valid(s, strlen(s)))
        return crm_error_set(CRM_EINVALID, "%s: expected a non-empty string", path);
    if (!(*out = crm__strdup(s)))
        return crm__error_nomem();
    return 0;
}

/* "x" or ["x", "y"] */
static int get_string_list(char ***out, size_t *n, const cJSON *v, const char *path)
{
    char p[600];
    if (cJSON_IsString(v)) {
        if (!(*out = calloc(1, sizeof **out)))
            return crm__error_nomem();
        *n = 1;
        return get_name(&(*out)[0], v, path);
    }
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
        return crm_error_set(CRM_EINVALID, "%s: expected a string or a non-empty array of strings", path);
    size_t count = (size_t)cJSON_GetArraySize(v);
    if (!(*out = calloc(count, sizeof **out)))
        return crm__error_nomem();
    *n = count;
    size_t i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        int rc = get_name(&(*out)[i], e, p);
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_action(sla_action *a, const cJSON *o, const char *path)
{
    char p[520];
    if (!cJSON_IsObject(o))
        return crm_error_set(CRM_EINVALID, "%s: expected an object", path);
    static const char *const keys[] = { "action", "to", "assignee", "queue" };
    int rc = check_keys(o, path, keys, 4);
    if (rc)
        return rc;
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "action"));
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(o, "to");
    const cJSON *assignee = cJSON_GetObjectItemCaseSensitive(o, "assignee");
    const cJSON *queue = cJSON_GetObjectItemCaseSensitive(o, "queue");
    if (kind && strcmp(kind, "notify") == 0) {
        a->kind = ACT_NOTIFY;
        snprintf(p, sizeof p, "%s.to", path);
        if (to && (rc = get_name(&a->to, to, p)))
            return rc;
        if (assignee || queue)
            return crm_error_set(CRM_EINVALID, "%s.%s: not an option of notify", path, assignee ? "assignee" : "queue");
    } else if (kind && strcmp(kind, "reassign") == 0) {
        a->kind = ACT_REASSIGN;
        snprintf(p, sizeof p, "%s.assignee", path);
        if (!assignee)
            return crm_error_set(CRM_EINVALID, "%s: required by reassign", p);
        if ((rc = get_name(&a->assignee, assignee, p)))
            return rc;
        snprintf(p, sizeof p, "%s.queue", path);
        if (queue && (rc = get_name(&a->queue, queue, p)))
            return rc;
        if (to)
            return crm_error_set(CRM_EINVALID, "%s.to: not an option of reassign", path);
    } else if (kind && strcmp(kind, "raise_priority") == 0) {
        a->kind = ACT_RAISE_PRIORITY;
        if (to || assignee || queue)
            return crm_error_set(CRM_EINVALID, "%s: raise_priority takes no options", path);
    } else {
        return crm_error_set(CRM_EINVALID, "%s.action: expected \"notify\", \"reassign\" or \"raise_priority\"", path);
    }
    return 0;
}

static int parse_rule(sla_rule *r, const cJSON *o, const char *path, size_t index)
{
    char p[320];
    int rc;
    if (!cJSON_IsObject(o))
        return crm_error_set(CRM_EINVALID, "%s: expected an object", path);
    static const char *const keys[] = { "name", "match", "first_response_minutes", "resolution_minutes",
                                        "warning_percent", "escalations" };
    if ((rc = check_keys(o, path, keys, 6)))
        return rc;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
    if (name) {
        const char *s = cJSON_GetStringValue(name);
        if (!s || !*s || strlen(s) > NAME_MAX_LEN || !crm__utf8_valid(s, strlen(s)))
            return crm_error_set(CRM_EINVALID, "%s.name: expected a string of 1 to %d bytes", path, NAME_MAX_LEN);
        snprintf(r->name, sizeof r->name, "%s", s);
    } else {
        snprintf(r->name, sizeof r->name, "rules[%zu]", index);
    }
    const cJSON *match = cJSON_GetObjectItemCaseSensitive(o, "match");
    if (match) {
        snprintf(p, sizeof p, "%s.match", path);
        if (!cJSON_IsObject(match))
            return crm_error_set(CRM_EINVALID, "%s: expected an object", p);
        static const char *const mkeys[] = { "type", "priority", "channel" };
        if ((rc = check_keys(match, p, mkeys, 3)))
            return rc;
        const cJSON *v;
        if ((v = cJSON_GetObjectItemCaseSensitive(match, "type"))) {
            snprintf(p, sizeof p, "%s.match.type", path);
            if ((rc = get_string_list(&r->types, &r->n_types, v, p)))
                return rc;
        }
        if ((v = cJSON_GetObjectItemCaseSensitive(match, "channel"))) {
            snprintf(p, sizeof p, "%s.match.channel", path);
            if ((rc = get_string_list(&r->channels, &r->n_channels, v, p)))
                return rc;
        }
        if ((v = cJSON_GetObjectItemCaseSensitive(match, "priority"))) {
            snprintf(p, sizeof p, "%s.match.priority", path);
            const cJSON *one = cJSON_IsArray(v) ? v->child : v;
            if (cJSON_IsArray(v) && !one)
                return crm_error_set(CRM_EINVALID, "%s: expected 1..4 or a non-empty array of them", p);
            for (size_t i = 0; one; one = cJSON_IsArray(v) ? one->next : NULL, i++) {
                double d = cJSON_IsNumber(one) ? one->valuedouble : 0;
                if (d != 1 && d != 2 && d != 3 && d != 4)
                    return cJSON_IsArray(v) ? crm_error_set(CRM_EINVALID, "%s[%zu]: expected a priority 1..4", p, i)
                                            : crm_error_set(CRM_EINVALID, "%s: expected 1..4 or a non-empty array of them", p);
                r->priorities |= 1u << (int)d;
            }
        }
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "first_response_minutes");
    snprintf(p, sizeof p, "%s.first_response_minutes", path);
    if (v && (rc = get_minutes(&r->response_minutes, v, p, false)))
        return rc;
    v = cJSON_GetObjectItemCaseSensitive(o, "resolution_minutes");
    snprintf(p, sizeof p, "%s.resolution_minutes", path);
    if (!v)
        return crm_error_set(CRM_EINVALID, "%s: required", p);
    if ((rc = get_minutes(&r->resolution_minutes, v, p, false)))
        return rc;
    v = cJSON_GetObjectItemCaseSensitive(o, "warning_percent");
    if (v) {
        double d = cJSON_IsNumber(v) ? v->valuedouble : 0;
        if (d != (int)d || d < 1 || d > 99)
            return crm_error_set(CRM_EINVALID, "%s.warning_percent: expected an integer from 1 to 99", path);
        r->warning_percent = (int)d;
    }
    const cJSON *esc = cJSON_GetObjectItemCaseSensitive(o, "escalations");
    if (esc) {
        snprintf(p, sizeof p, "%s.escalations", path);
        if (!cJSON_IsArray(esc))
            return crm_error_set(CRM_EINVALID, "%s: expected an array", p);
        size_t n = (size_t)cJSON_GetArraySize(esc);
        if (n && !(r->levels = calloc(n, sizeof *r->levels)))
            return crm__error_nomem();
        size_t i = 0;
        for (const cJSON *e = esc->child; e; e = e->next, i++) {
            sla_level *lv = &r->levels[i];
            r->n_levels = i + 1;
            snprintf(p, sizeof p, "%s.escalations[%zu]", path, i);
            if (!cJSON_IsObject(e))
                return crm_error_set(CRM_EINVALID, "%s: expected an object", p);
            static const char *const lkeys[] = { "after_minutes", "actions" };
            if ((rc = check_keys(e, p, lkeys, 2)))
                return rc;
            char q[400];
            snprintf(q, sizeof q, "%s.after_minutes", p);
            const cJSON *after = cJSON_GetObjectItemCaseSensitive(e, "after_minutes");
            if (!after)
                return crm_error_set(CRM_EINVALID, "%s: required", q);
            if ((rc = get_minutes(&lv->after_minutes, after, q, true)))
                return rc;
            if (i > 0 && lv->after_minutes <= r->levels[i - 1].after_minutes)
                return crm_error_set(CRM_EINVALID, "%s: must be greater than the previous level's", q);
            const cJSON *acts = cJSON_GetObjectItemCaseSensitive(e, "actions");
            snprintf(q, sizeof q, "%s.actions", p);
            if (!cJSON_IsArray(acts) || cJSON_GetArraySize(acts) == 0)
                return crm_error_set(CRM_EINVALID, "%s: expected a non-empty array", q);
            size_t na = (size_t)cJSON_GetArraySize(acts);
            if (!(lv->actions = calloc(na, sizeof *lv->actions)))
                return crm__error_nomem();
            size_t j = 0;
            for (const cJSON *a = acts->child; a; a = a->next, j++) {
                lv->n_actions = j + 1;
                char ap[440];
                snprintf(ap, sizeof ap, "%s[%zu]", q, j);
                if ((rc = parse_action(&lv->actions[j], a, ap)))
                    return rc;
            }
        }
    }
    return 0;
}

static int parse_policy(crm_sla_policy *pol, const cJSON *doc)
{
    char p[256];
    int rc;
    if (!cJSON_IsObject(doc))
        return crm_error_set(CRM_EINVALID, "policy: expected an object");
    static const char *const keys[] = { "calendars", "rules" };
    if ((rc = check_keys(doc, "policy", keys, 2)))
        return rc;
    const cJSON *cals = cJSON_GetObjectItemCaseSensitive(doc, "calendars");
    const cJSON *def = NULL, *dealers = NULL;
    if (cals) {
        if (!cJSON_IsObject(cals))
            return crm_error_set(CRM_EINVALID, "policy.calendars: expected an object");
        static const char *const ckeys[] = { "default", "dealers" };
        if ((rc = check_keys(cals, "policy.calendars", ckeys, 2)))
            return rc;
        def = cJSON_GetObjectItemCaseSensitive(cals, "default");
        dealers = cJSON_GetObjectItemCaseSensitive(cals, "dealers");
    }
    if (def)
        rc = crm__calendar_from_json(&pol->fallback, def, "policy.calendars.default");
    else
        rc = crm_calendar_new(&pol->fallback, NULL);
    if (rc)
        return rc;
    if (dealers) {
        if (!cJSON_IsObject(dealers))
            return crm_error_set(CRM_EINVALID, "policy.calendars.dealers: expected an object keyed by dealer id");
        size_t n = (size_t)cJSON_GetArraySize(dealers);
        if (n && !(pol->dealers = calloc(n, sizeof *pol->dealers)))
            return crm__error_nomem();
        for (const cJSON *e = dealers->child; e; e = e->next) {
            dealer_calendar *d = &pol->dealers[pol->n_dealers++];
            snprintf(p, sizeof p, "policy.calendars.dealers.%s", e->string);
            if (!(d->dealer_id = crm__strdup(e->string)))
                return crm__error_nomem();
            if ((rc = crm__calendar_from_json(&d->cal, e, p)))
                return rc;
        }
    }
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(doc, "rules");
    if (!cJSON_IsArray(rules))
        return crm_error_set(CRM_EINVALID, "policy.rules: expected an array");
    size_t n = (size_t)cJSON_GetArraySize(rules);
    if (n && !(pol->rules = calloc(n, sizeof *pol->rules)))
        return crm__error_nomem();
    size_t i = 0;
    for (const cJSON *e = rules->child; e; e = e->next, i++) {
        pol->n_rules = i + 1;
        snprintf(p, sizeof p, "policy.rules[%zu]", i);
        if ((rc = parse_rule(&pol->rules[i], e, p, i)))
            return rc;
    }
    return 0;
}

int crm_sla_policy_new(crm_sla_policy **out, const char *json)
{
    if (!out || !json)
        return crm_error_set(CRM_EINVALID, "%s: required", out ? "json" : "out");
    *out = NULL;
    cJSON *doc = cJSON_Parse(json);
    if (!doc)
        return crm_error_set(CRM_EINVALID, "policy: not valid JSON");
    crm_sla_policy *pol = calloc(1, sizeof *pol);
    int rc = pol ? parse_policy(pol, doc) : crm__error_nomem();
    cJSON_Delete(doc);
    if (rc) {
        crm_sla_policy_free(pol);
        return rc;
    }
    *out = pol;
    return 0;
}

/* ---- measuring -------------------------------------------------------- */

static bool in_list(char **list, size_t n, const char *v)
{
    if (n == 0)
        return true;
    for (size_t i = 0; v && i < n; i++)
        if (strcmp(list[i], v) == 0)
            return true;
    return false;
}

static const sla_rule *match_rule(const crm_sla_policy *p, const crm_workorder *w)
{
    for (size_t i = 0; i < p->n_rules; i++) {
        const sla_rule *r = &p->rules[i];
        if (in_list(r->types, r->n_types, w->type) && in_list(r->channels, r->n_channels, w->channel) &&
            (!r->priorities || (w->priority >= 1 && w->priority <= 4 && (r->priorities >> w->priority) & 1)))
            return r;
    }
    return NULL;
}

static const crm_calendar *calendar_for(const crm_sla_policy *p, const char *dealer_id)
{
    for (size_t i = 0; dealer_id && i < p->n_dealers; i++)
        if (strcmp(p->dealers[i].dealer_id, dealer_id) == 0)
            return p->dealers[i].cal;
    return p->fallback;
}

static crm_sla_state judge(int64_t ms, int64_t target_min, int warn_pct, bool done)
{
    int64_t target = target_min * MIN_MS;
    if (done)
        return ms <= target ? CRM_SLA_MET : CRM_SLA_BREACHED;
    if (ms > target)
        return CRM_SLA_BREACHED;
    if (warn_pct && ms * 100 >= target * warn_pct)
        return CRM_SLA_WARNING;
    return CRM_SLA_RUNNING;
}

/* Measure w as of `at`; dues only when with_due (the escalation run
 * computes them only for what it reports). *rule_out gets the rule. */
static int measure(crm_sla_status *st, const sla_rule **rule_out, const crm_sla_policy *p, const crm_workorder *w,
                   int64_t at, bool with_due)
{
    memset(st, 0, sizeof *st);
    const sla_rule *r = match_rule(p, w);
    *rule_out = r;
    if (!r)
        return 0;
    snprintf(st->rule, sizeof st->rule, "%s", r->name);
    const crm_calendar *cal = calendar_for(p, w->dealer_id);
    crm_interval *iv;
    size_t n;
    int rc = crm__workorder_pauses(&iv, &n, w, 0);
    if (rc)
        return rc;
    bool resolved = w->resolved_at && w->resolved_at <= at;
    int64_t res_end = resolved ? w->resolved_at : at;
    rc = crm_calendar_elapsed(&st->resolution_ms, cal, w->created_at, res_end, iv, n);
    st->resolution = judge(st->resolution_ms, r->resolution_minutes, r->warning_percent, resolved);
    for (size_t i = 0; i < r->n_levels; i++)
        if (st->resolution_ms > (r->resolution_minutes + r->levels[i].after_minutes) * MIN_MS)
            st->level = (int)i + 1;
    if (rc == 0 && r->response_minutes) {
        bool responded = w->first_response_at && w->first_response_at <= at;
        int64_t resp_end = responded ? w->first_response_at : at;
        if (resp_end == res_end)
            st->response_ms = st->resolution_ms;
        else
            rc = crm_calendar_elapsed(&st->response_ms, cal, w->created_at, resp_end, iv, n);
        st->response = judge(st->response_ms, r->response_minutes, r->warning_percent, responded);
    }
    if (rc == 0 && with_due) {
        rc = crm_calendar_due(&st->resolution_due, cal, w->created_at, r->resolution_minutes, iv, n);
        if (rc == 0 && r->response_minutes)
            rc = crm_calendar_due(&st->response_due, cal, w->created_at, r->response_minutes, iv, n);
    }
    free(iv);
    return rc;
}

int crm_sla_evaluate(crm_sla_status *out, const crm_sla_policy *policy, const crm_workorder *wo, int64_t at)
{
    if (!out || !policy || !wo)
        return crm_error_set(CRM_EINVALID, "%s: required", !out ? "out" : !policy ? "policy" : "wo");
    const sla_rule *r;
    return measure(out, &r, policy, wo, at, true);
}

/* ---- escalation ------------------------------------------------------- */

static int sla_event(crm_db *db, const crm_workorder *w, const char *kind, const char *target, const sla_rule *r,
                     int64_t due)
{
    char at[CRM_ISO_TIME_LEN + 1] = "";
    if (due != CRM_TIME_NEVER)
        crm__time_format(due, at);
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddStringToObject(o, "target", target) && cJSON_AddStringToObject(o, "rule", r->name) &&
              (due == CRM_TIME_NEVER ? cJSON_AddNullToObject(o, "due") != NULL
                                     : cJSON_AddStringToObject(o, "due", at) != NULL);
    char *data = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!data)
        return crm__error_nomem();
    int rc = crm__event_append(db, kind, "workorder", w->id, w->dealer_id, data);
    cJSON_free(data);
    return rc;
}

/* Apply level `level` (1-based) of r to w; actions that change w change the copy. */
static int apply_level(crm_db *db, crm_workorder *w, const sla_rule *r, int level)
{
    const sla_level *lv = &r->levels[level - 1];
    cJSON *o = cJSON_CreateObject(), *acts = o ? cJSON_AddArrayToObject(o, "actions") : NULL;
    bool ok = acts && cJSON_AddNumberToObject(o, "level", level) && cJSON_AddStringToObject(o, "rule", r->name);
    int rc = 0;
    for (size_t i = 0; ok && rc == 0 && i < lv->n_actions; i++) {
        const sla_action *a = &lv->actions[i];
        cJSON *ao = cJSON_CreateObject();
        if (!ao || !cJSON_AddItemToArray(acts, ao)) {
            cJSON_Delete(ao);
            ok = false;
            break;
        }
        if (a->kind == ACT_NOTIFY) {
            ok = cJSON_AddStringToObject(ao, "action", "notify") &&
                 (!a->to || cJSON_AddStringToObject(ao, "to", a->to));
            cJSON *n = cJSON_CreateObject();
            bool nok = n && cJSON_AddNumberToObject(n, "level", level) && cJSON_AddStringToObject(n, "rule", r->name) &&
                       (!a->to || cJSON_AddStringToObject(n, "to", a->to));
            char *text = nok ? cJSON_PrintUnformatted(n) : NULL;
            cJSON_Delete(n);
            if (!text)
                rc = crm__error_nomem();
            else
                rc = crm__event_append(db, "workorder.sla_notify", "workorder", w->id, w->dealer_id, text);
            cJSON_free(text);
        } else if (a->kind == ACT_REASSIGN) {
            ok = cJSON_AddStringToObject(ao, "action", "reassign") && cJSON_AddStringToObject(ao, "assignee", a->assignee) &&
                 (!w->assignee || cJSON_AddStringToObject(ao, "from_assignee", w->assignee)) &&
                 (!a->queue || cJSON_AddStringToObject(ao, "queue", a->queue));
            w->assignee = a->assignee;
            if (a->queue)
                w->queue = a->queue;
            if (w->status == CRM_WO_NEW)
                w->status = CRM_WO_ASSIGNED;
        } else {
            int to = w->priority > 1 ? w->priority - 1 : 1;
            ok = cJSON_AddStringToObject(ao, "action", "raise_priority") &&
                 cJSON_AddNumberToObject(ao, "from", w->priority) && cJSON_AddNumberToObject(ao, "to", to);
            w->priority = to;
        }
    }
    char *text = ok && rc == 0 ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (rc)
        return rc;
    if (!text)
        return crm__error_nomem();
    rc = crm__event_append(db, "workorder.escalated", "workorder", w->id, w->dealer_id, text);
    cJSON_free(text);
    return rc;
}

static int flags_of(const crm_sla_status *st)
{
    int f = 0;
    if (st->response == CRM_SLA_WARNING)
        f |= CRM_WO_SLA_RESPONSE_WARNED;
    if (st->response == CRM_SLA_BREACHED)
        f |= CRM_WO_SLA_RESPONSE_WARNED | CRM_WO_SLA_RESPONSE_BREACHED;
    if (st->resolution == CRM_SLA_WARNING)
        f |= CRM_WO_SLA_RESOLUTION_WARNED;
    if (st->resolution == CRM_SLA_BREACHED)
        f |= CRM_WO_SLA_RESOLUTION_WARNED | CRM_WO_SLA_RESOLUTION_BREACHED;
    return f;
}

/* Raise what is new for one work order; *changed says whether it was written. */
static int escalate_one(crm_escalation_result *res, crm_db *db, const crm_sla_policy *p, const crm_workorder *row,
                        int64_t as_of)
{
    crm_sla_status st;
    const sla_rule *r;
    int rc = measure(&st, &r, p, row, as_of, false);
    if (rc || !r)
        return rc;
    int flags = flags_of(&st), fresh = flags & ~row->sla_flags;
    if (!fresh && st.level <= row->escalation_level)
        return 0;
    crm_workorder *w = crm__workorder_dup(row);
    if (!w)
        return crm__error_nomem();
    if (fresh && (rc = measure(&st, &r, p, w, as_of, true)) == 0) {
        /* A warning passed over by a breach in the same run is not reported
         * separately: the breach says more. */
        if (fresh & CRM_WO_SLA_RESPONSE_BREACHED) {
            rc = sla_event(db, w, "workorder.sla_breach", "first_response", r, st.response_due);
            res->breaches++;
        } else if (fresh & CRM_WO_SLA_RESPONSE_WARNED) {
            rc = sla_event(db, w, "workorder.sla_warning", "first_response", r, st.response_due);
            res->warnings++;
        }
        if (rc == 0 && (fresh & CRM_WO_SLA_RESOLUTION_BREACHED)) {
            rc = sla_event(db, w, "workorder.sla_breach", "resolution", r, st.resolution_due);
            res->breaches++;
        } else if (rc == 0 && (fresh & CRM_WO_SLA_RESOLUTION_WARNED)) {
            rc = sla_event(db, w, "workorder.sla_warning", "resolution", r, st.resolution_due);
            res->warnings++;
        }
    }
    for (int level = row->escalation_level + 1; rc == 0 && level <= st.level; level++) {
        rc = apply_level(db, w, r, level);
        res->escalations++;
    }
    if (rc == 0) {
        w->sla_flags |= flags;
        if (st.level > w->escalation_level)
            w->escalation_level = st.level;
        w->updated_at = crm_db_now(db);
        rc = db->backend->workorder_update(db->backend, w);
        res->changed++;
    }
    free(w);
    return rc;
}

int crm_sla_escalate(crm_escalation_result *out, crm_db *db, const crm_sla_policy *policy, int64_t as_of)
{
    crm_escalation_result res = { 0 };
    if (out)
        *out = res;
    if (!db || !policy)
        return crm_error_set(CRM_EINVALID, "%s: required", db ? "policy" : "db");
    int rc = crm__workorder_supported(db);
    if (rc || (rc = crm__tx_begin(db)))
        return rc;
    crm_workorder_filter f = CRM_WORKORDER_FILTER_INIT;
    f.statuses = CRM_WO_OPEN_STATUSES;
    crm_backend_iter *it;
    rc = db->backend->workorder_scan(db->backend, &db->scope, &f, &it);
    if (rc == 0) {
        crm_workorder row;
        while ((rc = it->next(it, &row)) == 0) {
            res.scanned++;
            if ((rc = escalate_one(&res, db, policy, &row, as_of)))
                break;
        }
        if (rc == CRM_ITEROVER)
            rc = 0;
        it->free(it);
    }
    rc = crm__tx_end(db, rc);
    if (rc == 0 && out)
        *out = res;
    return rc;
}
