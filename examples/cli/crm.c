/*
 * crm — command-line front end of crmcore.
 *
 *   crm [--db PATH] [--dealer ID] [--actor NAME] COMMAND [ARGS]
 *
 * This file holds the entry point, the global options, the shared
 * argument and message helpers, and the `init` command. The other commands
 * live in import.c, leads.c, workorders.c, customers.c, clean.c, dedupe.c,
 * review.c, merge.c, score.c, lifecycle.c, report.c, route.c and judge.c.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char main_usage[] =
    "usage: crm [GLOBAL OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "The command-line front end of crmcore, the embeddable CRM core.\n"
    "\n"
    "Commands:\n"
    "  init                 create or migrate the database; print its path and schema version\n"
    "  import FILE|-        import leads from NDJSON or CSV\n"
    "  leads                list leads (text table or NDJSON)\n"
    "  show ID              show one lead with its audit history\n"
    "  judge                judge every lead's quality again (ok, suspect, junk)\n"
    "  wo SUBCOMMAND        work orders: create, assign, move, comment, show, list, escalate\n"
    "  customer ACTION      resolve identities to customers, the 360 view, unmerge, consent\n"
    "  member ACTION        enrol members, show them, re-evaluate tiers\n"
    "  points ACTION        accrue, redeem, reverse, expire; the ledger\n"
    "  tag ACTION           manual and rule tags\n"
    "  segment ACTION       count or export a segment of tags (an audience with --consent)\n"
    "  vehicle ACTION       vehicles by VIN and who owns or drives them\n"
    "  clean [FILE|-]       clean lead documents (NDJSON) or single values\n"
    "  dedupe FILE|-        find duplicates in a CSV file of any columns\n"
    "  review               list, accept (merges) or reject possible duplicates\n"
    "  merge SURVIVOR OTHER merge one lead into another by survivorship rules\n"
    "  unmerge MERGE_ID     undo a merge exactly\n"
    "  merges               list merges, newest first\n"
    "  model save|train|show  scoring models: store a document, train on outcomes, print\n"
    "  score ID...|--all    score leads with a stored model (keeps score and grade)\n"
    "  status ID STATE      move a lead through its lifecycle (contacted, lost, ...)\n"
    "  stages ID            the stages a lead went through, with their times\n"
    "  report funnel|sla    the conversion funnel of leads; SLA analytics of work orders\n"
    "  route --rules FILE   route new leads to dealers and consultants, with reasons\n"
    "  recycle --hours H    return leads not contacted in time to the recycle pool\n"
    "  help [COMMAND]       show this help or a command's help\n"
    "\n"
    "Global options (before the command; --db is also accepted after it):\n"
    "  --db PATH            the database (default: $CRM_DB, else ./crm.db)\n"
    "  --dealer ID          work within one dealer's records (the handle's scope)\n"
    "  --actor NAME         who is acting, written into audit events (default: system)\n"
    "  -h, --help           show this help\n"
    "  --version            show the version of crm and of the library\n"
    "\n"
    "Every command takes --help.\n"
    "\n"
    "Exit status:\n"
    "  0  success\n"
    "  1  error (the message says what failed and why)\n"
    "  2  usage error (unknown command or option, missing or bad argument)\n"
    "  3  import finished, but some records were rejected\n"
    "  4  not found (show of an id that does not exist or is outside the dealer scope)\n";

static const char init_usage[] =
    "usage: crm [GLOBAL OPTIONS] init [--db PATH]\n"
    "\n"
    "Create the database if it does not exist and apply any missing schema\n"
    "migrations, then print its path and schema version. Safe to run again.\n"
    "\n"
    "Options:\n"
    "  --db PATH    the database (default: $CRM_DB, else ./crm.db)\n"
    "  -h, --help   show this help\n"
    "\n"
    "Exit status: 0 success, 1 error, 2 usage error.\n";

void cli_lib_error(const char *what)
{
    const crm_error *e = crm_error_last();

    fprintf(stderr, "crm: %s: %s\n", what, e->message && *e->message ? e->message
                                                                   : crm_error_name(e->code));
}

void cli_errorf(const char *fmt, ...)
{
    va_list ap;

    fputs("crm: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "crm%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'crm %s%s--help' for more information.\n", cmd ? cmd : "",
            cmd ? " " : "");
    return CLI_EXIT_USAGE;
}

int cli_flag(const char *arg, const char *name)
{
    return strcmp(arg, name) == 0;
}

int cli_is_option(const char *arg)
{
    return arg[0] == '-' && arg[1] != '\0';
}

int cli_opt(int argc, char **argv, int *i, const char *name, const char **value,
            const char *cmd)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);

    if (strncmp(arg, name, n) != 0)
        return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        cli_usage_error(cmd, "option '%s' needs a value", name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

int cli_common_opt(int argc, char **argv, int *i, cli_globals *g, const char *cmd)
{
    return cli_opt(argc, argv, i, "--db", &g->db_path, cmd);
}

/* Read a whole file (or stdin for "-") into a NUL-terminated buffer. */
char *cli_read_file(const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        cli_errorf("%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (len + 1 < cap)
            break;
        char *p = realloc(buf, cap * 2);
        if (!p) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = p;
        cap *= 2;
    }
    if (buf)
        buf[len] = '\0';
    if (ferror(f)) {
        cli_errorf("%s: read error", path);
        free(buf);
        buf = NULL;
    }
    if (f != stdin)
        fclose(f);
    if (!buf)
        cli_errorf("%s: could not read", path);
    return buf;
}

int cli_open_db(crm_db **out, const cli_globals *g, int create)
{
    crm_db_options opts = CRM_DB_OPTIONS_INIT;
    crm_db *db = NULL;
    char what[512];

    opts.create = create;
    snprintf(what, sizeof what, "open %s", g->db_path);
    if (crm_db_open(&db, g->db_path, &opts) != 0) {
        if (!create && crm_error_last()->code == CRM_ENOTFOUND)
            cli_errorf("%s: no such database (run 'crm init' first)", g->db_path);
        else
            cli_lib_error(what);
        return -1;
    }
    if (g->dealer && crm_db_set_scope(db, g->dealer) != 0) {
        cli_lib_error("--dealer");
        crm_db_close(db);
        return -1;
    }
    if (g->actor && crm_db_set_actor(db, g->actor) != 0) {
        cli_lib_error("--actor");
        crm_db_close(db);
        return -1;
    }
    *out = db;
    return 0;
}

int cli_cmd_init(int argc, char **argv, cli_globals *g)
{
    crm_db *db = NULL;
    int version = 0, r;

    for (int i = 1; i < argc; i++) {
        if (cli_flag(argv[i], "--help") || cli_flag(argv[i], "-h")) {
            fputs(init_usage, stdout);
            return CLI_EXIT_OK;
        }
        if ((r = cli_common_opt(argc, argv, &i, g, "init")) != 0) {
            if (r < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if (cli_is_option(argv[i]))
            return cli_usage_error("init", "unknown option '%s'", argv[i]);
        return cli_usage_error("init", "unexpected argument '%s'", argv[i]);
    }
    if (cli_open_db(&db, g, 1) != 0)
        return CLI_EXIT_ERROR;
    if (crm_db_schema_version(&version, db) != 0) {
        cli_lib_error("init: schema version");
        crm_db_close(db);
        return CLI_EXIT_ERROR;
    }
    printf("database: %s\nschema version: %d\n", g->db_path, version);
    crm_db_close(db);
    return CLI_EXIT_OK;
}

typedef struct cli_command {
    const char *name;
    cli_command_fn fn;
} cli_command;

static const cli_command commands[] = {
    { "init", cli_cmd_init },
    { "import", cli_cmd_import },
    { "leads", cli_cmd_leads },
    { "show", cli_cmd_show },
    { "judge", cli_cmd_judge },
    { "wo", cli_cmd_wo },
    { "report", cli_cmd_report },
    { "customer", cli_cmd_customer },
    { "member", cli_cmd_member },
    { "points", cli_cmd_points },
    { "tag", cli_cmd_tag },
    { "segment", cli_cmd_segment },
    { "vehicle", cli_cmd_vehicle },
    { "clean", cli_cmd_clean },
    { "dedupe", cli_cmd_dedupe },
    { "review", cli_cmd_review },
    { "merge", cli_cmd_merge },
    { "unmerge", cli_cmd_unmerge },
    { "merges", cli_cmd_merges },
    { "model", cli_cmd_model },
    { "score", cli_cmd_score },
    { "status", cli_cmd_status },
    { "stages", cli_cmd_stages },
    { "route", cli_cmd_route },
    { "recycle", cli_cmd_recycle },
};

static const cli_command *find_command(const char *name)
{
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        if (strcmp(commands[k].name, name) == 0)
            return &commands[k];
    return NULL;
}

/* `crm help [COMMAND]`: the command's own --help. */
static int cmd_help(int argc, char **argv, cli_globals *g)
{
    const cli_command *c;
    char help_arg[] = "--help";
    char *args[3];

    if (argc < 2 || cli_flag(argv[1], "--help") || cli_flag(argv[1], "-h")) {
        fputs(main_usage, stdout);
        return CLI_EXIT_OK;
    }
    if (argc > 2)
        return cli_usage_error("help", "unexpected argument '%s'", argv[2]);
    c = find_command(argv[1]);
    if (!c)
        return cli_usage_error(NULL, "unknown command '%s'", argv[1]);
    args[0] = argv[1];
    args[1] = help_arg;
    args[2] = NULL;
    return c->fn(2, args, g);
}

int main(int argc, char **argv)
{
    cli_globals g = { NULL, NULL, NULL };
    const cli_command *c;
    int i, r;

    for (i = 1; i < argc && cli_is_option(argv[i]); i++) {
        if (cli_flag(argv[i], "--help") || cli_flag(argv[i], "-h")) {
            fputs(main_usage, stdout);
            return CLI_EXIT_OK;
        }
        if (cli_flag(argv[i], "--version")) {
            printf("crm %s (crmcore library %s)\n", CRM_VERSION, crm_version());
            return CLI_EXIT_OK;
        }
        if ((r = cli_opt(argc, argv, &i, "--db", &g.db_path, NULL)) != 0 ||
            (r = cli_opt(argc, argv, &i, "--dealer", &g.dealer, NULL)) != 0 ||
            (r = cli_opt(argc, argv, &i, "--actor", &g.actor, NULL)) != 0) {
            if (r < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        return cli_usage_error(NULL, "unknown option '%s'", argv[i]);
    }
    if (i >= argc) {
        fputs(main_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (!g.db_path || !*g.db_path) {
        const char *env = getenv("CRM_DB");
        g.db_path = env && *env ? env : "crm.db";
    }
    if (cli_flag(argv[i], "help"))
        return cmd_help(argc - i, argv + i, &g);
    c = find_command(argv[i]);
    if (!c)
        return cli_usage_error(NULL, "unknown command '%s'", argv[i]);
    r = c->fn(argc - i, argv + i, &g);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_errorf("write error on standard output");
        return CLI_EXIT_ERROR;
    }
    return r;
}
