/*
 * crm leads / crm show — read leads back.
 *
 * `leads` streams from crm_lead_iter_new(). The text table needs column
 * widths before the first row is printed, so the first rows are held back
 * to measure them; later rows use the same widths and are cut (at a
 * character boundary, marked with '~') if they are wider. Nothing holds the
 * whole listing in memory.
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char leads_usage[] =
    "usage: crm [GLOBAL OPTIONS] leads [OPTIONS]\n"
    "\n"
    "List leads, oldest first, within the dealer scope (global --dealer).\n"
    "\n"
    "Options:\n"
    "  --status S[,S...]  only these statuses: new, assigned, contacted, visited,\n"
    "                     test_drive, ordered, delivered, lost, invalid\n"
    "  --quality Q[,Q...] only these qualities (set on ingest from the cleaners):\n"
    "                     ok, suspect (a placeholder name, a virtual or invalid\n"
    "                     value), junk (a test phone, no usable contact)\n"
    "  --dealer ID        only this dealer's leads\n"
    "  --channel C        only leads from this channel (website, wechat_mp, douyin, ...)\n"
    "  --since DATE       created at or after DATE\n"
    "  --until DATE       created before DATE; a date alone includes that whole day\n"
    "                     DATE is ISO-8601, UTC unless it carries an offset:\n"
    "                     2024-05-01, 2024-05-01T08:30, 2024-05-01 08:30:00+08:00\n"
    "  --limit N          at most N leads (0: no limit)\n"
    "  --json             one JSON object per line (NDJSON) instead of a table\n"
    "  --db PATH          the database\n"
    "  -h, --help         show this help\n"
    "\n"
    "The table shows id, created (UTC), channel, name, phone, city, dealer,\n"
    "status and quality; long values are cut and marked with '~'.\n"
    "\n"
    "Exit status: 0 success, 1 error, 2 usage error.\n";

static const char show_usage[] =
    "usage: crm [GLOBAL OPTIONS] show [OPTIONS] ID\n"
    "\n"
    "Show one lead, field by field, followed by its audit history.\n"
    "\n"
    "Options:\n"
    "  --json      print the lead as a JSON object with an \"events\" array\n"
    "  --db PATH   the database\n"
    "  -h, --help  show this help\n"
    "\n"
    "Exit status: 0 success, 1 error (also for text that is not an id), 2 usage\n"
    "error, 4 no lead with that id\n"
    "(or it belongs to another dealer than the --dealer scope).\n";

/* ---- leads ---- */

enum { COL_ID, COL_CREATED, COL_CHANNEL, COL_NAME, COL_PHONE, COL_CITY, COL_DEALER, COL_STATUS,
       COL_QUALITY, NCOLS };

static const char *const col_titles[NCOLS] = { "ID",    "CREATED (UTC)", "CHANNEL", "NAME",
                                               "PHONE", "CITY",          "DEALER",  "STATUS",
                                               "QUALITY" };

/* The widest a column grows when measuring; wider values are cut. */
static const size_t col_caps[NCOLS] = { 36, 19, 14, 20, 16, 12, 16, 10, 7 };

/* Rows held back to measure the columns. */
#define MEASURE_ROWS 200

typedef struct row {
    char *cells[NCOLS];
} row;

static void row_free(row *r)
{
    for (int c = 0; c < NCOLS; c++)
        free(r->cells[c]);
}

static char *dup_or_empty(const char *s)
{
    const char *src = s ? s : "";
    size_t n = strlen(src) + 1;
    char *d = malloc(n);

    if (d)
        memcpy(d, src, n);
    return d;
}

static int row_fill(row *r, const crm_lead *l)
{
    char created[32];
    const char *status = crm_lead_status_name(l->status);

    text_format_time(created, sizeof created, l->created_at);
    r->cells[COL_ID] = dup_or_empty(l->id);
    r->cells[COL_CREATED] = dup_or_empty(created);
    r->cells[COL_CHANNEL] = dup_or_empty(l->channel);
    r->cells[COL_NAME] = dup_or_empty(l->name);
    r->cells[COL_PHONE] = dup_or_empty(l->phone);
    r->cells[COL_CITY] = dup_or_empty(l->city);
    r->cells[COL_DEALER] = dup_or_empty(l->dealer_id);
    r->cells[COL_STATUS] = dup_or_empty(status ? status : "?");
    r->cells[COL_QUALITY] = dup_or_empty(crm_lead_quality_name(l->quality));
    for (int c = 0; c < NCOLS; c++)
        if (!r->cells[c])
            return -1;
    return 0;
}

static void put_column(int c, const char *s, const size_t *widths)
{
    if (c > 0)
        fputs("  ", stdout);
    text_put_cell(stdout, s, widths[c], c < NCOLS - 1);
}

static void row_print(const row *r, const size_t *widths)
{
    for (int c = 0; c < NCOLS; c++)
        put_column(c, r->cells[c], widths);
    fputc('\n', stdout);
}

static void titles_print(const size_t *widths)
{
    for (int c = 0; c < NCOLS; c++)
        put_column(c, col_titles[c], widths);
    fputc('\n', stdout);
}

/* One name to its library number, or -1 when unknown. */
typedef int (*name_parser)(const char *name);

static int status_number(const char *name)
{
    crm_lead_status st;
    return crm_lead_status_parse(&st, name) == 0 ? (int)st : -1;
}

static int quality_number(const char *name)
{
    crm_lead_quality q;
    return crm_lead_quality_parse(&q, name) == 0 ? (int)q : -1;
}

/* Parse "new,contacted" (the value of option opt) into a bitmask of
 * (1 << number); an unknown name is a usage error naming it and what
 * was expected. */
static int parse_names(unsigned int *out, const char *list, const char *opt, const char *what,
                       const char *expected, name_parser parse)
{
    char buf[64];
    const char *p = list;

    *out = 0;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        int num;

        while (n > 0 && *p == ' ') {
            p++;
            n--;
        }
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if (n == 0 || n >= sizeof buf) {
            cli_usage_error("leads", "bad %s list '%s'", opt, list);
            return -1;
        }
        memcpy(buf, p, n);
        buf[n] = '\0';
        if ((num = parse(buf)) < 0) {
            cli_usage_error("leads", "unknown %s '%s' (expected %s)", what, buf, expected);
            return -1;
        }
        *out |= 1u << (unsigned)num;
        if (!comma)
            break;
        p = comma + 1;
        if (!*p) {
            cli_usage_error("leads", "bad %s list '%s'", opt, list);
            return -1;
        }
    }
    return 0;
}

/* Print one lead as a JSON line; the library's JSON is kept as it is. */
static int print_json_line(const crm_lead *l)
{
    char *json = NULL;

    if (crm_lead_to_json(&json, l) != 0) {
        cli_lib_error("leads: to json");
        return -1;
    }
    /* NDJSON: one object per line, whatever layout the library chose. */
    cJSON_Minify(json);
    fputs(json, stdout);
    fputc('\n', stdout);
    crm_free(json);
    return 0;
}

int cli_cmd_leads(int argc, char **argv, cli_globals *g)
{
    crm_lead_filter filter = CRM_LEAD_FILTER_INIT;
    const char *status = NULL, *quality = NULL, *dealer = NULL, *channel = NULL, *since = NULL,
               *until = NULL;
    const char *limit = NULL;
    int json = 0, r, rc = CLI_EXIT_OK;
    crm_db *db = NULL;
    crm_iter *it = NULL;
    row *held = NULL;
    size_t nheld = 0, count = 0, widths[NCOLS];
    const crm_lead *lead;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, "--help") || cli_flag(a, "-h")) {
            fputs(leads_usage, stdout);
            return CLI_EXIT_OK;
        }
        if ((r = cli_common_opt(argc, argv, &i, g, "leads")) != 0 ||
            (r = cli_opt(argc, argv, &i, "--status", &status, "leads")) != 0 ||
            (r = cli_opt(argc, argv, &i, "--quality", &quality, "leads")) != 0 ||
            (r = cli_opt(argc, argv, &i, "--dealer", &dealer, "leads")) != 0 ||
            (r = cli_opt(argc, argv, &i, "--channel", &channel, "leads")) != 0 ||
            (r = cli_opt(argc, argv, &i, "--since", &since, "leads")) != 0 ||
            (r = cli_opt(argc, argv, &i, "--until", &until, "leads")) != 0 ||
            (r = cli_opt(argc, argv, &i, "--limit", &limit, "leads")) != 0) {
            if (r < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if (cli_flag(a, "--json"))
            json = 1;
        else if (cli_is_option(a))
            return cli_usage_error("leads", "unknown option '%s'", a);
        else
            return cli_usage_error("leads", "unexpected argument '%s'", a);
    }
    if (status && parse_names(&filter.statuses, status, "--status", "status",
                              "new, assigned, contacted, visited, test_drive, ordered, "
                              "delivered, lost or invalid",
                              status_number) != 0)
        return CLI_EXIT_USAGE;
    if (quality && parse_names(&filter.qualities, quality, "--quality", "quality",
                               "ok, suspect or junk", quality_number) != 0)
        return CLI_EXIT_USAGE;
    filter.dealer_id = dealer && *dealer ? dealer : NULL;
    filter.channel = channel && *channel ? channel : NULL;
    if (since) {
        int date_only;
        if (text_parse_time(&filter.created_from, &date_only, since) != 0)
            return cli_usage_error("leads", "--since: '%s' is not an ISO-8601 date or date-time",
                                   since);
    }
    if (until) {
        int date_only;
        if (text_parse_time(&filter.created_to, &date_only, until) != 0)
            return cli_usage_error("leads", "--until: '%s' is not an ISO-8601 date or date-time",
                                   until);
        if (date_only)
            filter.created_to += 86400000; /* through the end of that day */
    }
    if (limit) {
        char *end;
        unsigned long long v;
        errno = 0;
        v = strtoull(limit, &end, 10);
        if (errno || *end || end == limit || *limit == '-' || *limit == '+')
            return cli_usage_error("leads", "--limit expects a number, got '%s'", limit);
        filter.limit = (size_t)v;
    }

    if (cli_open_db(&db, g, 0) != 0)
        return CLI_EXIT_ERROR;
    if (crm_lead_iter_new(&it, db, &filter) != 0) {
        cli_lib_error("leads");
        crm_db_close(db);
        return CLI_EXIT_ERROR;
    }
    if (!json) {
        held = calloc(MEASURE_ROWS, sizeof *held);
        if (!held) {
            cli_errorf("leads: out of memory");
            rc = CLI_EXIT_ERROR;
            goto done;
        }
        for (int c = 0; c < NCOLS; c++)
            widths[c] = text_width(col_titles[c]);
    }
    while ((r = crm_lead_next(&lead, it)) == 0) {
        count++;
        if (json) {
            if (print_json_line(lead) != 0) {
                rc = CLI_EXIT_ERROR;
                goto done;
            }
            continue;
        }
        if (nheld < MEASURE_ROWS) {
            row *rw = &held[nheld++];
            if (row_fill(rw, lead) != 0) {
                cli_errorf("leads: out of memory");
                rc = CLI_EXIT_ERROR;
                goto done;
            }
            for (int c = 0; c < NCOLS; c++) {
                size_t w = text_width(rw->cells[c]);
                if (w > col_caps[c])
                    w = col_caps[c];
                if (w > widths[c])
                    widths[c] = w;
            }
            if (nheld == MEASURE_ROWS) {
                titles_print(widths);
                for (size_t k = 0; k < nheld; k++)
                    row_print(&held[k], widths);
            }
        } else {
            row tmp = { { NULL } };
            if (row_fill(&tmp, lead) != 0) {
                row_free(&tmp);
                cli_errorf("leads: out of memory");
                rc = CLI_EXIT_ERROR;
                goto done;
            }
            row_print(&tmp, widths);
            row_free(&tmp);
        }
    }
    if (r != CRM_ITEROVER) {
        cli_lib_error("leads");
        rc = CLI_EXIT_ERROR;
        goto done;
    }
    if (!json) {
        if (nheld < MEASURE_ROWS) {
            titles_print(widths);
            for (size_t k = 0; k < nheld; k++)
                row_print(&held[k], widths);
        }
        printf("(%zu lead%s)\n", count, count == 1 ? "" : "s");
    }

done:
    if (held) {
        for (size_t k = 0; k < nheld; k++)
            row_free(&held[k]);
        free(held);
    }
    crm_iter_free(it);
    crm_db_close(db);
    return rc;
}

/* ---- show ---- */

static void kv(const char *key, const char *value)
{
    if (!value)
        return;
    printf("%-18s %s\n", key, value);
}

static void kv_time(const char *key, int64_t ms)
{
    char buf[32], line[48];

    text_format_time(buf, sizeof buf, ms);
    snprintf(line, sizeof line, "%s UTC", buf);
    kv(key, line);
}

static void print_lead_text(const crm_lead *l)
{
    char score[16];
    const char *timeline = crm_purchase_timeline_name(l->purchase_timeline);
    const char *status = crm_lead_status_name(l->status);

    kv("id:", l->id);
    kv("status:", status ? status : "?");
    kv("quality:", crm_lead_quality_name(l->quality));
    kv("channel:", l->channel);
    kv("campaign:", l->campaign);
    kv("name:", l->name);
    kv("phone:", l->phone);
    kv("email:", l->email);
    kv("wechat_openid:", l->wechat_openid);
    kv("wechat_unionid:", l->wechat_unionid);
    kv("province:", l->province);
    kv("city:", l->city);
    kv("dealer_id:", l->dealer_id);
    kv("owner_id:", l->owner_id);
    kv("model:", l->model);
    kv("purchase_timeline:", timeline ? timeline : "?");
    kv("test_drive:", l->test_drive == CRM_YES ? "yes" : l->test_drive == CRM_NO ? "no" : "unknown");
    if (l->score >= 0) {
        snprintf(score, sizeof score, "%d", l->score);
        kv("score:", score);
    }
    kv("grade:", l->grade);
    kv("customer_id:", l->customer_id);
    kv("attributes:", l->attributes);
    kv("merged_into:", l->merged_into);
    kv_time("created_at:", l->created_at);
    kv_time("updated_at:", l->updated_at);
}

/* A string value for key=value text: as is, or JSON-quoted when it holds
 * spaces, '=' or control characters (or is empty). */
static void put_value(const cJSON *v)
{
    char *txt;

    if (cJSON_IsString(v)) {
        const char *str = v->valuestring;
        int plain = *str != '\0';
        for (const char *q = str; *q && plain; q++)
            if ((unsigned char)*q <= ' ' || *q == '=' || *q == '"' || *q == 0x7F)
                plain = 0;
        if (plain) {
            fputs(str, stdout);
            return;
        }
    }
    txt = cJSON_PrintUnformatted(v);
    fputs(txt ? txt : "?", stdout);
    cJSON_free(txt);
}

/* One line of key=value pairs of an object's non-null members; members
 * that are objects get their own line when `nested` is set. */
static void put_pairs(const cJSON *obj, const char *label, const char *skip_id, int nested)
{
    const cJSON *m;
    int any = 0;

    cJSON_ArrayForEach(m, obj) {
        if (cJSON_IsNull(m) || (nested && cJSON_IsObject(m)))
            continue;
        if (skip_id && strcmp(m->string, "id") == 0 && cJSON_IsString(m) &&
            strcmp(m->valuestring, skip_id) == 0)
            continue; /* the record's own id, already shown */
        fputs(any ? " " : "      ", stdout);
        if (!any && label)
            printf("%s: ", label);
        printf("%s=", m->string);
        put_value(m);
        any = 1;
    }
    if (any)
        fputc('\n', stdout);
    if (!nested)
        return;
    cJSON_ArrayForEach(m, obj) {
        if (cJSON_IsObject(m))
            put_pairs(m, m->string, NULL, 0);
    }
}

/* The details of an event as readable key=value text (nulls left out). */
static void print_event_data(const char *data, const char *entity_id)
{
    cJSON *doc = cJSON_Parse(data);

    if (cJSON_IsObject(doc)) {
        put_pairs(doc, NULL, entity_id, 1);
    } else {
        char *d = dup_or_empty(data);
        if (d) {
            cJSON_Minify(d);
            printf("      %s\n", d);
            free(d);
        }
    }
    cJSON_Delete(doc);
}

/* Print the events of a lead as text, or collect them as JSON texts. */
static int show_events(crm_db *db, const char *id, int json, char **json_out)
{
    crm_iter *it = NULL;
    const crm_event *ev;
    int r, n = 0;
    char *acc = NULL;
    size_t len = 0;

    if (crm_event_iter_new(&it, db, id) != 0) {
        cli_lib_error("show: events");
        return -1;
    }
    if (!json)
        printf("\nhistory:\n");
    while ((r = crm_event_next(&ev, it)) == 0) {
        n++;
        if (json) {
            char *e = NULL, *grown;
            size_t elen;
            if (crm_event_to_json(&e, ev) != 0) {
                cli_lib_error("show: event to json");
                goto fail;
            }
            cJSON_Minify(e);
            elen = strlen(e);
            grown = realloc(acc, len + elen + 2);
            if (!grown) {
                crm_free(e);
                cli_errorf("show: out of memory");
                goto fail;
            }
            acc = grown;
            if (len > 0)
                acc[len++] = ',';
            memcpy(acc + len, e, elen);
            len += elen;
            acc[len] = '\0';
            crm_free(e);
        } else {
            char when[32];
            text_format_time(when, sizeof when, ev->at);
            printf("  %s UTC  %-16s by %s\n", when, ev->kind ? ev->kind : "?",
                   ev->actor ? ev->actor : "?");
            if (ev->data)
                print_event_data(ev->data, ev->entity_id);
        }
    }
    if (r != CRM_ITEROVER) {
        cli_lib_error("show: events");
        goto fail;
    }
    if (!json && n == 0)
        printf("  (no events)\n");
    crm_iter_free(it);
    if (json_out)
        *json_out = acc ? acc : dup_or_empty("");
    else
        free(acc);
    return 0;

fail:
    free(acc);
    crm_iter_free(it);
    return -1;
}

int cli_cmd_show(int argc, char **argv, cli_globals *g)
{
    const char *id = NULL;
    int json = 0, r, rc = CLI_EXIT_OK;
    crm_db *db = NULL;
    crm_lead *lead = NULL;
    char *lead_json = NULL, *events = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, "--help") || cli_flag(a, "-h")) {
            fputs(show_usage, stdout);
            return CLI_EXIT_OK;
        }
        if ((r = cli_common_opt(argc, argv, &i, g, "show")) != 0) {
            if (r < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if (cli_flag(a, "--json"))
            json = 1;
        else if (cli_is_option(a))
            return cli_usage_error("show", "unknown option '%s'", a);
        else if (id)
            return cli_usage_error("show", "unexpected argument '%s'", a);
        else
            id = a;
    }
    if (!id)
        return cli_usage_error("show", "missing lead ID");

    if (cli_open_db(&db, g, 0) != 0)
        return CLI_EXIT_ERROR;
    r = json ? crm_lead_get_json(&lead_json, db, id) : crm_lead_get(&lead, db, id);
    if (r != 0) {
        if (r == CRM_ENOTFOUND) {
            cli_errorf("show: no lead with id '%s'", id);
            rc = CLI_EXIT_NOTFOUND;
        } else {
            cli_lib_error("show");
            rc = CLI_EXIT_ERROR;
        }
        goto done;
    }
    if (json) {
        /* Splice the events into the library's JSON text rather than
         * re-printing it through cJSON, so every value stays as it was. */
        char *end;
        if (show_events(db, id, 1, &events) != 0) {
            rc = CLI_EXIT_ERROR;
            goto done;
        }
        cJSON_Minify(lead_json);
        end = strrchr(lead_json, '}');
        if (!end) {
            cli_errorf("show: the library returned a lead that is not a JSON object");
            rc = CLI_EXIT_ERROR;
            goto done;
        }
        *end = '\0';
        fputs(lead_json, stdout);
        printf("%s\"events\":[%s]}\n", end > lead_json + 1 ? "," : "", events);
    } else {
        print_lead_text(lead);
        if (show_events(db, id, 0, NULL) != 0)
            rc = CLI_EXIT_ERROR;
    }

done:
    free(events);
    crm_free(lead_json);
    crm_lead_free(lead);
    crm_db_close(db);
    return rc;
}
