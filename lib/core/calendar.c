/* Business calendars: which local days are working days, their opening
 * hours, and business-time arithmetic with pauses. No storage involved. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/calendar_data.h"
#include "core/core.h"

#define DAY_MS 86400000LL
#define MIN_MS 60000LL
#define SPANS_MAX 4
/* A calendar with no working minute in this many days is refused rather
 * than looped over forever. */
#define SEARCH_DAYS 3660

typedef struct day_hours {
    int n;
    int16_t from[SPANS_MAX], to[SPANS_MAX]; /* minutes of the local day, sorted */
} day_hours;

enum day_kind { DAY_NATIONAL_HOLIDAY = 1, DAY_NATIONAL_WORKDAY, DAY_DEALER_HOLIDAY, DAY_DEALER_WORKDAY };

typedef struct special_day {
    int64_t day; /* days since 1970-01-01, local */
    int kind;
} special_day;

struct crm_calendar {
    int64_t offset_ms;
    day_hours week[7]; /* Monday first */
    day_hours workday; /* hours of a make-up workday */
    special_day *special; /* sorted by day, one per day */
    size_t n_special;
};

static const char *const weekday_names[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

static int weekday_of(int64_t day)
{
    /* 1970-01-01 was a Thursday (index 3). */
    int64_t w = (day + 3) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

static int parse_hhmm(const char *s, int *out)
{
    if (!(s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' && s[2] == ':' && s[3] >= '0' &&
          s[3] <= '9' && s[4] >= '0' && s[4] <= '9'))
        return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m != 0))
        return -1;
    *out = h * 60 + m;
    return 0;
}

/* ["09:00-12:00", "13:00-18:00"] → sorted, non-overlapping spans. */
static int parse_hours(day_hours *out, const cJSON *node, const char *path)
{
    if (!cJSON_IsArray(node))
        return crm_error_set(CRM_EINVALID, "%s: expected an array of \"HH:MM-HH:MM\"", path);
    int n = cJSON_GetArraySize(node);
    if (n > SPANS_MAX)
        return crm_error_set(CRM_EINVALID, "%s: at most %d spans per day, got %d", path, SPANS_MAX, n);
    out->n = 0;
    int i = 0;
    for (const cJSON *e = node->child; e; e = e->next, i++) {
        int a, b;
        const char *s = cJSON_GetStringValue(e);
        if (!s || strlen(s) != 11 || s[5] != '-' || parse_hhmm(s, &a) || parse_hhmm(s + 6, &b))
            return crm_error_set(CRM_EINVALID, "%s[%d]: expected \"HH:MM-HH:MM\"", path, i);
        if (b <= a)
            return crm_error_set(CRM_EINVALID, "%s[%d]: the end must be after the start", path, i);
        if (out->n > 0 && a < out->to[out->n - 1])
            return crm_error_set(CRM_EINVALID, "%s[%d]: must start after the previous span ends", path, i);
        out->from[out->n] = (int16_t)a;
        out->to[out->n] = (int16_t)b;
        out->n++;
    }
    return 0;
}

static int cmp_special(const void *a, const void *b)
{
    const special_day *x = a, *y = b;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    return x->kind - y->kind; /* dealer kinds sort after national ones */
}

static int add_dates(special_day *days, size_t *n, const cJSON *node, const char *path, int kind)
{
    if (!node)
        return 0;
    if (!cJSON_IsArray(node))
        return crm_error_set(CRM_EINVALID, "%s: expected an array of \"YYYY-MM-DD\"", path);
    int i = 0;
    for (const cJSON *e = node->child; e; e = e->next, i++) {
        const char *s = cJSON_GetStringValue(e);
        int64_t t;
        if (!s || strlen(s) != 10 || crm__time_parse(s, &t) != 0)
            return crm_error_set(CRM_EINVALID, "%s[%d]: expected a date \"YYYY-MM-DD\"", path, i);
        days[(*n)++] = (special_day){ crm__floor_div(t, DAY_MS), kind };
    }
    return 0;
}

static const char *const calendar_keys[] = { "utc_offset_minutes", "national_holidays", "hours",
                                             "workday_hours", "holidays", "workdays" };

int crm__calendar_from_json(crm_calendar **out, const cJSON *doc, const char *path)
{
    char p[256];
    *out = NULL;
    if (!cJSON_IsObject(doc))
        return crm_error_set(CRM_EINVALID, "%s: expected an object", path);
    for (const cJSON *e = doc->child; e; e = e->next) {
        bool known = false;
        for (size_t k = 0; k < sizeof calendar_keys / sizeof calendar_keys[0]; k++)
            known = known || strcmp(e->string, calendar_keys[k]) == 0;
        if (!known)
            return crm_error_set(CRM_EINVALID, "%s.%s: unknown key", path, e->string);
    }
    crm_calendar *cal = calloc(1, sizeof *cal);
    if (!cal)
        return crm__error_nomem();
    int rc = 0;
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(doc, "utc_offset_minutes");
    cal->offset_ms = 480 * MIN_MS;
    if (off) {
        double v = cJSON_IsNumber(off) ? off->valuedouble : 1e9;
        if (v != (double)(int)v || v < -720 || v > 840)
            rc = crm_error_set(CRM_EINVALID, "%s.utc_offset_minutes: expected an integer from -720 to 840", path);
        else
            cal->offset_ms = (int64_t)v * MIN_MS;
    }
    bool national = true;
    const cJSON *nat = cJSON_GetObjectItemCaseSensitive(doc, "national_holidays");
    if (rc == 0 && nat) {
        const char *s = cJSON_GetStringValue(nat);
        if (s && strcmp(s, "none") == 0)
            national = false;
        else if (!s || strcmp(s, "cn") != 0)
            rc = crm_error_set(CRM_EINVALID, "%s.national_holidays: expected \"cn\" or \"none\"", path);
    }
    const cJSON *hours = cJSON_GetObjectItemCaseSensitive(doc, "hours");
    if (rc == 0 && hours) {
        if (!cJSON_IsObject(hours))
            rc = crm_error_set(CRM_EINVALID, "%s.hours: expected an object with keys mon..sun", path);
        for (const cJSON *e = hours ? hours->child : NULL; rc == 0 && e; e = e->next) {
            int w = 0;
            while (w < 7 && strcmp(e->string, weekday_names[w]) != 0)
                w++;
            snprintf(p, sizeof p, "%s.hours.%s", path, e->string);
            if (w == 7)
                rc = crm_error_set(CRM_EINVALID, "%s: unknown weekday (expected mon..sun)", p);
            else
                rc = parse_hours(&cal->week[w], e, p);
        }
    } else if (rc == 0) {
        for (int w = 0; w < 5; w++)
            cal->week[w] = (day_hours){ 1, { 9 * 60 }, { 18 * 60 } };
    }
    const cJSON *wh = cJSON_GetObjectItemCaseSensitive(doc, "workday_hours");
    if (rc == 0 && wh) {
        snprintf(p, sizeof p, "%s.workday_hours", path);
        rc = parse_hours(&cal->workday, wh, p);
    } else {
        cal->workday = cal->week[0];
    }
    if (rc == 0) {
        bool any = cal->workday.n > 0;
        for (int w = 0; w < 7; w++)
            any = any || cal->week[w].n > 0;
        if (!any)
            rc = crm_error_set(CRM_EINVALID, "%s.hours: no working hours on any day", path);
    }
    const cJSON *hol = cJSON_GetObjectItemCaseSensitive(doc, "holidays");
    const cJSON *wd = cJSON_GetObjectItemCaseSensitive(doc, "workdays");
    size_t cap = (national ? crm__cn_days_count : 0) + (size_t)cJSON_GetArraySize(hol) + (size_t)cJSON_GetArraySize(wd);
    if (rc == 0 && cap > 0 && !(cal->special = malloc(cap * sizeof *cal->special)))
        rc = crm__error_nomem();
    size_t n = 0;
    if (rc == 0 && national) {
        for (size_t i = 0; i < crm__cn_days_count; i++) {
            int32_t ymd = crm__cn_days[i].ymd;
            int64_t day = crm__days_from_civil(ymd / 10000, (unsigned)(ymd / 100 % 100), (unsigned)(ymd % 100));
            cal->special[n++] = (special_day){ day, crm__cn_days[i].kind == CRM__CN_HOLIDAY ? DAY_NATIONAL_HOLIDAY
                                                                                         : DAY_NATIONAL_WORKDAY };
        }
    }
    if (rc == 0) {
        snprintf(p, sizeof p, "%s.holidays", path);
        rc = add_dates(cal->special, &n, hol, p, DAY_DEALER_HOLIDAY);
    }
    if (rc == 0) {
        snprintf(p, sizeof p, "%s.workdays", path);
        rc = add_dates(cal->special, &n, wd, p, DAY_DEALER_WORKDAY);
    }
    if (rc) {
        crm_calendar_free(cal);
        return rc;
    }
    /* One entry per day; on a tie the dealer's own entry (sorted last) wins. */
    if (n > 0) {
        qsort(cal->special, n, sizeof *cal->special, cmp_special);
        size_t w = 0;
        for (size_t i = 0; i < n; i++) {
            if (w > 0 && cal->special[w - 1].day == cal->special[i].day)
                cal->special[w - 1] = cal->special[i];
            else
                cal->special[w++] = cal->special[i];
        }
        n = w;
    }
    cal->n_special = n;
    *out = cal;
    return 0;
}

int crm_calendar_new(crm_calendar **out, const char *json)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: required");
    *out = NULL;
    cJSON *doc = cJSON_Parse(json ? json : "{}");
    if (!doc)
        return crm_error_set(CRM_EINVALID, "calendar: not valid JSON");
    int rc = crm__calendar_from_json(out, doc, "calendar");
    cJSON_Delete(doc);
    return rc;
}

void crm_calendar_free(crm_calendar *cal)
{
    if (!cal)
        return;
    free(cal->special);
    free(cal);
}

void crm_calendar_cn_years(int *first, int *last)
{
    if (first)
        *first = crm__cn_first_year;
    if (last)
        *last = crm__cn_last_year;
}

static const special_day *find_special(const crm_calendar *cal, int64_t day)
{
    size_t lo = 0, hi = cal->n_special;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cal->special[mid].day < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < cal->n_special && cal->special[lo].day == day ? &cal->special[lo] : NULL;
}

/* The opening hours of a local day, and why. */
static const day_hours *hours_of(const crm_calendar *cal, int64_t day, const char **reason)
{
    static const day_hours closed = { 0, { 0 }, { 0 } };
    const special_day *s = find_special(cal, day);
    int w = weekday_of(day);
    if (!s) {
        *reason = w < 5 ? "weekday" : "weekend";
        return &cal->week[w];
    }
    switch (s->kind) {
    case DAY_NATIONAL_HOLIDAY:
        *reason = "national holiday";
        return &closed;
    case DAY_DEALER_HOLIDAY:
        *reason = "dealer holiday";
        return &closed;
    case DAY_NATIONAL_WORKDAY:
        *reason = "make-up workday";
        break;
    default:
        *reason = "dealer workday";
        break;
    }
    /* An extra working day that falls on a normally open weekday keeps its hours. */
    return cal->week[w].n > 0 ? &cal->week[w] : &cal->workday;
}

int crm_calendar_is_workday(int *out_working, const char **out_reason, const crm_calendar *cal, int64_t at)
{
    if (!out_working || !cal)
        return crm_error_set(CRM_EINVALID, "%s: required", out_working ? "cal" : "out_working");
    const char *reason;
    const day_hours *h = hours_of(cal, crm__floor_div(at + cal->offset_ms, DAY_MS), &reason);
    *out_working = h->n > 0;
    if (out_reason)
        *out_reason = reason;
    return 0;
}

/* The instant `rem` business ms after `start` (local ms), no pauses. */
static int add_plain(const crm_calendar *cal, int64_t local, int64_t rem, int64_t *out)
{
    if (rem == 0) {
        *out = local;
        return 0;
    }
    int64_t day = crm__floor_div(local, DAY_MS);
    for (int guard = 0; guard < SEARCH_DAYS; guard++, day++) {
        const char *reason;
        const day_hours *h = hours_of(cal, day, &reason);
        for (int i = 0; i < h->n; i++) {
            int64_t a = day * DAY_MS + h->from[i] * MIN_MS, b = day * DAY_MS + h->to[i] * MIN_MS;
            if (b <= local)
                continue;
            int64_t s = a > local ? a : local;
            if (s + rem <= b) {
                *out = s + rem;
                return 0;
            }
            rem -= b - s;
        }
    }
    return crm_error_set(CRM_EINVALID, "calendar: not enough working time within %d days", SEARCH_DAYS);
}

/* Business ms in [from, to) (local ms), no pauses. */
static int64_t elapsed_plain(const crm_calendar *cal, int64_t from, int64_t to)
{
    int64_t total = 0;
    for (int64_t day = crm__floor_div(from, DAY_MS); day * DAY_MS < to; day++) {
        const char *reason;
        const day_hours *h = hours_of(cal, day, &reason);
        for (int i = 0; i < h->n; i++) {
            int64_t a = day * DAY_MS + h->from[i] * MIN_MS, b = day * DAY_MS + h->to[i] * MIN_MS;
            if (a < from)
                a = from;
            if (b > to)
                b = to;
            if (b > a)
                total += b - a;
        }
    }
    return total;
}

static int check_pauses(const crm_interval *pauses, size_t n)
{
    if (n > 0 && !pauses)
        return crm_error_set(CRM_EINVALID, "pauses: required when n_pauses > 0");
    for (size_t i = 0; i < n; i++) {
        if (pauses[i].to != 0 && pauses[i].to < pauses[i].from)
            return crm_error_set(CRM_EINVALID, "pauses[%zu]: ends before it starts", i);
        if (i > 0 && (pauses[i - 1].to == 0 || pauses[i].from < pauses[i - 1].to))
            return crm_error_set(CRM_EINVALID, "pauses[%zu]: overlaps pauses[%zu] (pauses must be sorted)", i, i - 1);
    }
    return 0;
}

int crm_calendar_due(int64_t *out, const crm_calendar *cal, int64_t start, int64_t minutes,
                     const crm_interval *pauses, size_t n_pauses)
{
    if (!out || !cal)
        return crm_error_set(CRM_EINVALID, "%s: required", out ? "cal" : "out");
    if (minutes < 0 || minutes > INT64_MAX / MIN_MS / 2)
        return crm_error_set(CRM_EINVALID, "minutes: expected a non-negative count, got %lld", (long long)minutes);
    int rc = check_pauses(pauses, n_pauses);
    if (rc)
        return rc;
    int64_t off = cal->offset_ms, cur = start + off, rem = minutes * MIN_MS, due;
    for (size_t i = 0; i < n_pauses; i++) {
        int64_t pfrom = pauses[i].from + off, pto = pauses[i].to ? pauses[i].to + off : INT64_MAX;
        if (pto <= cur)
            continue;
        if (pfrom > cur) {
            if ((rc = add_plain(cal, cur, rem, &due)))
                return rc;
            if (due <= pfrom) {
                *out = due - off;
                return 0;
            }
            rem -= elapsed_plain(cal, cur, pfrom);
        }
        if (!pauses[i].to) {
            *out = CRM_TIME_NEVER;
            return 0;
        }
        cur = pto;
    }
    if ((rc = add_plain(cal, cur, rem, &due)))
        return rc;
    *out = due - off;
    return 0;
}

int crm_calendar_elapsed(int64_t *out_ms, const crm_calendar *cal, int64_t from, int64_t to,
                         const crm_interval *pauses, size_t n_pauses)
{
    if (!out_ms || !cal)
        return crm_error_set(CRM_EINVALID, "%s: required", out_ms ? "cal" : "out_ms");
    int rc = check_pauses(pauses, n_pauses);
    if (rc)
        return rc;
    *out_ms = 0;
    if (to <= from)
        return 0;
    int64_t off = cal->offset_ms;
    int64_t total = elapsed_plain(cal, from + off, to + off);
    for (size_t i = 0; i < n_pauses; i++) {
        int64_t a = pauses[i].from > from ? pauses[i].from : from;
        int64_t b = pauses[i].to && pauses[i].to < to ? pauses[i].to : to;
        if (b > a)
            total -= elapsed_plain(cal, a + off, b + off);
    }
    *out_ms = total;
    return 0;
}
