/*
 * crm wo / crm report sla — work orders from the command line.
 *
 *   crm wo create JSON|-            create; prints the new id
 *   crm wo assign ID ASSIGNEE       assign (or reassign); --queue Q
 *   crm wo move ID STATUS           change status; --note TEXT
 *   crm wo comment ID TEXT          add a comment; --public for the customer
 *   crm wo show ID                  the work order with comments and history (JSON)
 *   crm wo list                     list (table, or NDJSON with --json)
 *   crm wo escalate --policy FILE   the escalation run; --as-of TIME
 *   crm wo events KIND              events of a kind across work orders; --since TIME
 *   crm report sla --policy FILE    SLA analytics; --by, --as-of, --since, --until
 *
 * Output of show and report is JSON built from the library's own JSON, so
 * a script sees exactly what a C, Python or Java caller sees.
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char wo_usage[] =
    "usage: crm [GLOBAL OPTIONS] wo SUBCOMMAND [ARGS]\n"
    "\n"
    "Work orders (工单): complaints, enquiries, repair and test-drive requests.\n"
    "\n"
    "Subcommands:\n"
    "  create JSON|-              create from a JSON object (or stdin); prints the id\n"
    "                             fields: type, subject (required), category, priority (1-4),\n"
    "                             channel, customer_id, lead_id, vin, dealer_id, queue,\n"
    "                             assignee, description, attributes, created_at\n"
    "  assign ID ASSIGNEE [--queue Q]\n"
    "                             assign a new work order, or hand an open one over\n"
    "  move ID STATUS [--note T]  new, assigned, in_progress, waiting_customer, resolved,\n"
    "                             closed (in_progress from resolved/closed reopens)\n"
    "  comment ID TEXT [--public] add a comment (internal unless --public)\n"
    "  show ID                    the work order, its comments and its history, as JSON\n"
    "  list [--status S[,S...]] [--queue Q] [--assignee A] [--type T] [--limit N] [--json]\n"
    "  escalate --policy FILE [--as-of TIME] [--json]\n"
    "                             raise SLA warnings and breaches and apply escalation\n"
    "                             actions due as of TIME (default now); running it again\n"
    "                             changes nothing\n"
    "  events KIND [--since TIME] the events of one kind across work orders (NDJSON), e.g.\n"
    "                             workorder.sla_notify: how a host consumes notifications\n"
    "\n"
    "Every subcommand takes --db PATH and --help.\n"
    "Exit status: 0 success, 1 error, 2 usage error, 4 not found.\n";

static const char report_usage[] =
    "usage: crm [GLOBAL OPTIONS] report sla --policy FILE [OPTIONS]\n"
    "\n"
    "SLA analytics of the work orders in the dealer scope, as JSON: compliance,\n"
    "mean and 90th percentile of business minutes to first response and to\n"
    "resolution, backlog by age.\n"
    "\n"
    "Options:\n"
    "  --policy FILE     the SLA policy (JSON)\n"
    "  --by G            none (default), queue, dealer, type or month\n"
    "  --as-of TIME      judge as of TIME (default now)\n"
    "  --since DATE      only work orders created at or after DATE\n"
    "  --until DATE      only those created before DATE\n"
    "  --db PATH         the database\n"
    "  -h, --help        show this help\n"
    "\n"
    "Exit status: 0 success, 1 error, 2 usage error.\n";

/* Read a whole file ("-": stdin) into a malloc'ed string. */
static char *read_all(const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        cli_errorf("%s: cannot open", path);
        return NULL;
    }
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *p = realloc(buf, cap * 2);
            if (!p) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = p;
            cap *= 2;
        }
    }
    if (f != stdin)
        fclose(f);
    if (!buf) {
        cli_errorf("%s: out of memory", path);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

static crm_sla_policy *load_policy(const char *path)
{
    char *text = read_all(path);
    if (!text)
        return NULL;
    crm_sla_policy *p = NULL;
    if (crm_sla_policy_new(&p, text) != 0) {
        char what[300];
        snprintf(what, sizeof what, "policy %s", path);
        cli_lib_error(what);
    }
    free(text);
    return p;
}

static int parse_time_arg(int64_t *out, const char *text, const char *cmd, const char *opt)
{
    int date_only;
    if (text_parse_time(out, &date_only, text) != 0)
        return cli_usage_error(cmd, "%s: '%s' is not an ISO-8601 date or time", opt, text);
    return 0;
}

static int lib_fail(const char *what, int code)
{
    cli_lib_error(what);
    return code == CRM_ENOTFOUND ? CLI_EXIT_NOTFOUND : CLI_EXIT_ERROR;
}

/* Parse the arguments of a subcommand: positional ones into pos[], the
 * named options into vals[] (flags get "1"). Returns 0, or an exit code. */
typedef struct opt_spec {
    const char *name;
    int flag; /* takes no value */
} opt_spec;

static int parse_args(int argc, char **argv, cli_globals *g, const char *cmd, const char *usage, const opt_spec *specs,
                      size_t nspecs, const char **vals, const char **pos, size_t npos, size_t *got, int *help)
{
    *got = 0;
    *help = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, "--help") || cli_flag(a, "-h")) {
            fputs(usage, stdout);
            *help = 1;
            return CLI_EXIT_OK;
        }
        int r = cli_common_opt(argc, argv, &i, g, cmd);
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r > 0)
            continue;
        size_t k = 0;
        for (; k < nspecs; k++) {
            if (specs[k].flag ? cli_flag(a, specs[k].name) : (r = cli_opt(argc, argv, &i, specs[k].name, &vals[k], cmd)) != 0)
                break;
        }
        if (k < nspecs) {
            if (specs[k].flag)
                vals[k] = "1";
            else if (r < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if (cli_is_option(a))
            return cli_usage_error(cmd, "unknown option '%s'", a);
        if (*got == npos)
            return cli_usage_error(cmd, "unexpected argument '%s'", a);
        pos[(*got)++] = a;
    }
    return 0;
}

static int wo_create(int argc, char **argv, cli_globals *g)
{
    const char *pos[1];
    size_t got;
    int help, rc = parse_args(argc, argv, g, "wo create", wo_usage, NULL, 0, NULL, pos, 1, &got, &help);
    if (rc || help)
        return rc;
    if (got < 1)
        return cli_usage_error("wo create", "missing the work order JSON (or - for stdin)");
    char *text = strcmp(pos[0], "-") == 0 ? read_all("-") : NULL;
    crm_db *db;
    if ((strcmp(pos[0], "-") == 0 && !text) || cli_open_db(&db, g, 0) != 0) {
        free(text);
        return CLI_EXIT_ERROR;
    }
    char id[CRM_ID_LEN + 1];
    int r = crm_workorder_create(id, db, text ? text : pos[0]);
    free(text);
    rc = r ? lib_fail("wo create", r) : (printf("%s\n", id), CLI_EXIT_OK);
    crm_db_close(db);
    return rc;
}

static int wo_assign(int argc, char **argv, cli_globals *g)
{
    static const opt_spec specs[] = { { "--queue", 0 } };
    const char *vals[1] = { NULL }, *pos[2];
    size_t got;
    int help, rc = parse_args(argc, argv, g, "wo assign", wo_usage, specs, 1, vals, pos, 2, &got, &help);
    if (rc || help)
        return rc;
    if (got < 2)
        return cli_usage_error("wo assign", "expected ID and ASSIGNEE");
    crm_db *db;
    if (cli_open_db(&db, g, 0) != 0)
        return CLI_EXIT_ERROR;
    int r = crm_workorder_assign(db, pos[0], pos[1], vals[0]);
    rc = r ? lib_fail("wo assign", r) : CLI_EXIT_OK;
    crm_db_close(db);
    return rc;
}

static int wo_move(int argc, char **argv, cli_globals *g)
{
    static const opt_spec specs[] = { { "--note", 0 } };
    const char *vals[1] = { NULL }, *pos[2];
    size_t got;
    int help, rc = parse_args(argc, argv, g, "wo move", wo_usage, specs, 1, vals, pos, 2, &got, &help);
    if (rc || help)
        return rc;
    if (got < 2)
        return cli_usage_error("wo move", "expected ID and STATUS");
    crm_wo_status to;
    if (crm_wo_status_parse(&to, pos[1]) != 0)
        return cli_usage_error("wo move", "%s", crm_error_last()->message);
    crm_db *db;
    if (cli_open_db(&db, g, 0) != 0)
        return CLI_EXIT_ERROR;
    int r = crm_workorder_move(db, pos[0], to, vals[0]);
    rc = r ? lib_fail("wo move", r) : CLI_EXIT_OK;
    crm_db_close(db);
    return rc;
}

static int wo_comment(int argc, char **argv, cli_globals *g)
{
    static const opt_spec specs[] = { { "--public", 1 } };
    const char *vals[1] = { NULL }, *pos[2];
    size_t got;
    int help, rc = parse_args(argc, argv, g, "wo comment", wo_usage, specs, 1, vals, pos, 2, &got, &help);
    if (rc || help)
        return rc;
    if (got < 2)
        return cli_usage_error("wo comment", "expected ID and TEXT");
    crm_db *db;
    if (cli_open_db(&db, g, 0) != 0)
        return CLI_EXIT_ERROR;
    char cid[CRM_ID_LEN + 1];
    int r = crm_workorder_comment(cid, db, pos[0], pos[1], vals[0] ? CRM_WO_PUBLIC : CRM_WO_INTERNAL);
    rc = r ? lib_fail("wo comment", r) : (printf("%s\n", cid), CLI_EXIT_OK);
    crm_db_close(db);
    return rc;
}

/* Add the parsed JSON text `json` (freed here) to array `arr`. */
static int add_json(cJSON *arr, char *json)
{
    cJSON *v = cJSON_Parse(json);
    crm_free(json);
    if (!v || !cJSON_AddItemToArray(arr, v)) {
        cJSON_Delete(v);
        return -1;
    }
    return 0;
}

static int wo_show(int argc, char **argv, cli_globals *g)
{
    const char *pos[1];
    size_t got;
    int help, rc = parse_args(argc, argv, g, "wo show", wo_usage, NULL, 0, NULL, pos, 1, &got, &help);
    if (rc || help)
        return rc;
    if (got < 1)
        return cli_usage_error("wo show", "missing work order ID");
    crm_db *db;
    if (cli_open_db(&db, g, 0) != 0)
        return CLI_EXIT_ERROR;
    char *json = NULL;
    int r = crm_workorder_get_json(&json, db, pos[0]);
    cJSON *doc = r == 0 ? cJSON_Parse(json) : NULL;
    crm_free(json);
    cJSON *comments = doc ? cJSON_AddArrayToObject(doc, "comments") : NULL;
    cJSON *events = doc ? cJSON_AddArrayToObject(doc, "history") : NULL;
    crm_iter *it = NULL;
    if (r == 0 && (r = crm_wo_comment_iter_new(&it, db, pos[0])) == 0) {
        const crm_wo_comment *c;
        while ((r = crm_wo_comment_next(&c, it)) == 0) {
            char at[CRM_TIME_TEXT_SIZE];
            crm_time_format(at, c->at);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "id", c->id);
            cJSON_AddStringToObject(o, "at", at);
            cJSON_AddStringToObject(o, "author", c->author);
            cJSON_AddStringToObject(o, "visibility", c->visibility == CRM_WO_PUBLIC ? "public" : "internal");
            cJSON_AddStringToObject(o, "body", c->body);
            cJSON_AddItemToArray(comments, o);
        }
        r = r == CRM_ITEROVER ? 0 : r;
        crm_iter_free(it);
    }
    if (r == 0 && (r = crm_event_iter_new(&it, db, pos[0])) == 0) {
        const crm_event *e;
        while ((r = crm_event_next(&e, it)) == 0) {
            char *ej;
            if ((r = crm_event_to_json(&ej, e)) != 0 || add_json(events, ej) != 0)
                break;
        }
        r = r == CRM_ITEROVER ? 0 : r;
        crm_iter_free(it);
    }
    if (r) {
        rc = r == CRM_ENOTFOUND ? (cli_errorf("wo show: no work order with id '%s'", pos[0]), CLI_EXIT_NOTFOUND)
                                : lib_fail("wo show", r);
    } else {
        char *text = cJSON_Print(doc);
        puts(text ? text : "null");
        free(text);
    }
    cJSON_Delete(doc);
    crm_db_close(db);
    return rc;
}

static int wo_list(int argc, char **argv, cli_globals *g)
{
    static const opt_spec specs[] = { { "--status", 0 }, { "--queue", 0 }, { "--assignee", 0 },
                                      { "--type", 0 },   { "--limit", 0 }, { "--json", 1 } };
    const char *vals[6] = { NULL }, *pos[1];
    size_t got;
    int help, rc = parse_args(argc, argv, g, "wo list", wo_usage, specs, 6, vals, pos, 0, &got, &help);
    if (rc || help)
        return rc;
    crm_workorder_filter f = CRM_WORKORDER_FILTER_INIT;
    if (vals[0]) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", vals[0]);
        for (char *save = NULL, *s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
            crm_wo_status st;
            if (crm_wo_status_parse(&st, s) != 0)
                return cli_usage_error("wo list", "--status: %s", crm_error_last()->message);
            f.statuses |= 1u << st;
        }
    }
    f.queue = vals[1];
    f.assignee = vals[2];
    f.type = vals[3];
    if (vals[4]) {
        char *end;
        long long n = strtoll(vals[4], &end, 10);
        if (*end || n < 0)
            return cli_usage_error("wo list", "--limit: expected a count, got '%s'", vals[4]);
        f.limit = (size_t)n;
    }
    crm_db *db;
    if (cli_open_db(&db, g, 0) != 0)
        return CLI_EXIT_ERROR;
    crm_iter *it;
    int r = crm_workorder_iter_new(&it, db, &f);
    if (r == 0) {
        const crm_workorder *w;
        if (!vals[5])
            printf("%-36s  %-16s  %-16s  %s  %-12s  %-12s  %-12s  %s\n", "ID", "CREATED (UTC)", "STATUS", "P", "TYPE",
                   "QUEUE", "ASSIGNEE", "SUBJECT");
        while ((r = crm_workorder_next(&w, it)) == 0) {
            if (vals[5]) {
                char *j;
                if ((r = crm_workorder_to_json(&j, w)) != 0)
                    break;
                puts(j);
                crm_free(j);
            } else {
                char when[32];
                text_format_time(when, sizeof when, w->created_at);
                printf("%-36s  %.16s  %-16s  %d  ", w->id, when, crm_wo_status_name(w->status), w->priority);
                text_put_cell(stdout, w->type, 12, 1);
                fputs("  ", stdout);
                text_put_cell(stdout, w->queue ? w->queue : "-", 12, 1);
                fputs("  ", stdout);
                text_put_cell(stdout, w->assignee ? w->assignee : "-", 12, 1);
                fputs("  ", stdout);
                text_put_cell(stdout, w->subject, 40, 0);
                fputc('\n', stdout);
            }
        }
        r = r == CRM_ITEROVER ? 0 : r;
        crm_iter_free(it);
    }
    rc = r ? lib_fail("wo list", r) : CLI_EXIT_OK;
    crm_db_close(db);
    return rc;
}

static int wo_events(int argc, char **argv, cli_globals *g)
{
    static const opt_spec specs[] = { { "--since", 0 } };
    const char *vals[1] = { NULL }, *pos[1];
    size_t got;
    int help, rc = parse_args(argc, argv, g, "wo events", wo_usage, specs, 1, vals, pos, 1, &got, &help);
    if (rc || help)
        return rc;
    if (got < 1)
        return cli_usage_error("wo events", "missing the event KIND (e.g. workorder.sla_notify)");
    int64_t since = 0;
    if (vals[0] && (rc = parse_time_arg(&since, vals[0], "wo events", "--since")) != 0)
        return rc;
    crm_db *db;
    if (cli_open_db(&db, g, 0) != 0)
        return CLI_EXIT_ERROR;
    crm_iter *it;
    int r = crm_workorder_events_iter_new(&it, db, pos[0], since);
    if (r == 0) {
        const crm_event *e;
        while ((r = crm_event_next(&e, it)) == 0) {
            char *j;
            if ((r = crm_event_to_json(&j, e)) != 0)
                break;
            puts(j);
            crm_free(j);
        }
        r = r == CRM_ITEROVER ? 0 : r;
        crm_iter_free(it);
    }
    rc = r ? lib_fail("wo events", r) : CLI_EXIT_OK;
    crm_db_close(db);
    return rc;
}

static int wo_escalate(int argc, char **argv, cli_globals *g)
{
    static const opt_spec specs[] = { { "--policy", 0 }, { "--as-of", 0 }, { "--json", 1 } };
    const char *vals[3] = { NULL }, *pos[1];
    size_t got;
    int help, rc = parse_args(argc, argv, g, "wo escalate", wo_usage, specs, 3, vals, pos, 0, &got, &help);
    if (rc || help)
        return rc;
    if (!vals[0])
        return cli_usage_error("wo escalate", "--policy FILE is required");
    int64_t as_of = 0;
    if (vals[1] && (rc = parse_time_arg(&as_of, vals[1], "wo escalate", "--as-of")) != 0)
        return rc;
    crm_sla_policy *policy = load_policy(vals[0]);
    crm_db *db;
    if (!policy || cli_open_db(&db, g, 0) != 0) {
        crm_sla_policy_free(policy);
        return CLI_EXIT_ERROR;
    }
    crm_escalation_result res;
    int r = crm_sla_escalate(&res, db, policy, as_of ? as_of : crm_db_now(db));
    if (r) {
        rc = lib_fail("wo escalate", r);
    } else if (vals[2]) {
        printf("{\"scanned\":%zu,\"warnings\":%zu,\"breaches\":%zu,\"escalations\":%zu,\"changed\":%zu}\n", res.scanned,
               res.warnings, res.breaches, res.escalations, res.changed);
    } else {
        printf("scanned %zu open work orders: %zu warnings, %zu breaches, %zu escalations; %zu changed\n", res.scanned,
               res.warnings, res.breaches, res.escalations, res.changed);
    }
    crm_sla_policy_free(policy);
    crm_db_close(db);
    return rc;
}

int cli_cmd_wo(int argc, char **argv, cli_globals *g)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **, cli_globals *);
    } subs[] = { { "create", wo_create },   { "assign", wo_assign }, { "move", wo_move },         { "comment", wo_comment },
                 { "show", wo_show },       { "list", wo_list },     { "escalate", wo_escalate },
                 { "events", wo_events } };
    if (argc < 2 || cli_flag(argv[1], "--help") || cli_flag(argv[1], "-h")) {
        fputs(wo_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (strcmp(argv[1], subs[i].name) == 0)
            return subs[i].fn(argc - 1, argv + 1, g);
    return cli_usage_error("wo", "unknown subcommand '%s'", argv[1]);
}

int cli_cmd_report_sla(int argc, char **argv, cli_globals *g)
{
    if (argc < 2 || cli_flag(argv[1], "--help") || cli_flag(argv[1], "-h")) {
        fputs(report_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "sla") != 0)
        return cli_usage_error("report", "unknown report '%s' (expected sla)", argv[1]);
    static const opt_spec specs[] = { { "--policy", 0 }, { "--by", 0 }, { "--as-of", 0 }, { "--since", 0 }, { "--until", 0 } };
    const char *vals[5] = { NULL }, *pos[1];
    size_t got;
    int help, rc = parse_args(argc - 1, argv + 1, g, "report sla", report_usage, specs, 5, vals, pos, 0, &got, &help);
    if (rc || help)
        return rc;
    if (!vals[0])
        return cli_usage_error("report sla", "--policy FILE is required");
    crm_sla_report_options o = CRM_SLA_REPORT_OPTIONS_INIT;
    if (vals[1]) {
        static const char *const names[] = { "none", "queue", "dealer", "type", "month" };
        int k = 0;
        while (k < 5 && strcmp(vals[1], names[k]) != 0)
            k++;
        if (k == 5)
            return cli_usage_error("report sla", "--by: expected none, queue, dealer, type or month");
        o.group_by = (crm_sla_group)k;
    }
    if ((vals[2] && (rc = parse_time_arg(&o.as_of, vals[2], "report sla", "--as-of"))) ||
        (vals[3] && (rc = parse_time_arg(&o.created_from, vals[3], "report sla", "--since"))) ||
        (vals[4] && (rc = parse_time_arg(&o.created_to, vals[4], "report sla", "--until"))))
        return rc;
    crm_sla_policy *policy = load_policy(vals[0]);
    crm_db *db;
    if (!policy || cli_open_db(&db, g, 0) != 0) {
        crm_sla_policy_free(policy);
        return CLI_EXIT_ERROR;
    }
    char *json;
    int r = crm_sla_report(&json, db, policy, &o);
    if (r) {
        rc = lib_fail("report sla", r);
    } else {
        puts(json);
        crm_free(json);
    }
    crm_sla_policy_free(policy);
    crm_db_close(db);
    return rc;
}
