/*
 * crm model / crm score — scoring models and lead scores.
 *
 * `model save` stores a model document (a rule model written by hand, or a
 * trained model's JSON); `model train` trains on the stored outcomes;
 * `model show` prints a stored model. `score` scores leads with a stored
 * model and keeps the score and grade on them.
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char model_usage[] =
    "usage: crm [GLOBAL OPTIONS] model SUBCOMMAND [OPTIONS]\n"
    "\n"
    "Scoring models, stored in the database by name, each save a new version.\n"
    "\n"
    "Subcommands:\n"
    "  save FILE|-          store a model document (JSON: a rule model, or a\n"
    "                       trained model's document); prints name and version\n"
    "  train                train on the leads with an outcome (ordered or\n"
    "                       delivered: converted; lost: not) and store the model\n"
    "      --kind K           logistic (default) or naive_bayes\n"
    "      --name N           the model's name (default: default)\n"
    "      --holdout F        fraction held back to measure AUC (default 0.2)\n"
    "      --bins B           quantile bins per number (default 10)\n"
    "      --l2 X             logistic: L2 penalty (default 1)\n"
    "      --cross A*B[,C*D]  cross two category features into one more (e.g.\n"
    "                         channel*city)\n"
    "  show [NAME]          print a stored model (default name: default)\n"
    "      --version V        that version instead of the newest\n"
    "      --json             the model's JSON document only\n"
    "\n"
    "Options of every subcommand: --db PATH, -h/--help.\n"
    "Models are OEM-wide: save and train refuse a --dealer scope.\n"
    "\n"
    "Exit status: 0 success, 1 error, 2 usage error, 4 no such model.\n";

static const char score_usage[] =
    "usage: crm [GLOBAL OPTIONS] score [OPTIONS] (ID... | --all)\n"
    "\n"
    "Score leads with a stored model and keep the score and grade on them\n"
    "(each change is audited as lead.scored). Rule models read the lead's\n"
    "attributes \"budget\" and \"engagements\" too.\n"
    "\n"
    "Options:\n"
    "  --model NAME   the model (default: default)\n"
    "  --version V    that version instead of the newest\n"
    "  --all          every lead in the scope; prints how many changed\n"
    "  --json         one JSON object per lead: id, score, grade, probability, reasons\n"
    "  --db PATH      the database\n"
    "  -h, --help     show this help\n"
    "\n"
    "Exit status: 0 success, 1 error, 2 usage error, 4 no such lead or model.\n";

static int parse_int(const char *cmd, const char *opt, const char *text, int min, int max, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max)
        return cli_usage_error(cmd, "%s: expected an integer from %d to %d, got '%s'", opt, min, max, text);
    *out = (int)v;
    return 0;
}

static int parse_double(const char *cmd, const char *opt, const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end)
        return cli_usage_error(cmd, "%s: expected a number, got '%s'", opt, text);
    *out = v;
    return 0;
}

static int exit_of(int code)
{
    return code == CRM_ENOTFOUND ? CLI_EXIT_NOTFOUND : CLI_EXIT_ERROR;
}

static void print_summary(const crm_model *m)
{
    char at[CRM_TIME_TEXT_SIZE];
    printf("model: %s\nversion: %d\nkind: %s\n", crm_model_name(m), crm_model_version(m),
           crm_model_kind_name(crm_model_get_kind(m)));
    if (crm_model_trained_at(m)) {
        crm_time_format(at, crm_model_trained_at(m));
        printf("trained at: %s\n", at);
    }
    if (crm_model_auc(m) >= 0)
        printf("held-back AUC: %.4f\n", crm_model_auc(m));
}

static int model_save(int argc, char **argv, cli_globals *g)
{
    const char *file = NULL;
    for (int i = 2; i < argc; i++) {
        int r = cli_common_opt(argc, argv, &i, g, "model save");
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r)
            continue;
        if (cli_is_option(argv[i]))
            return cli_usage_error("model save", "unknown option '%s'", argv[i]);
        if (file)
            return cli_usage_error("model save", "unexpected argument '%s'", argv[i]);
        file = argv[i];
    }
    if (!file)
        return cli_usage_error("model save", "a FILE (or - for standard input) is required");
    char *doc = cli_read_file(file);
    if (!doc)
        return CLI_EXIT_ERROR;
    crm_model *m = NULL;
    crm_db *db = NULL;
    int rc = CLI_EXIT_OK;
    if (crm_model_from_json(&m, doc) != 0) {
        cli_lib_error(file);
        rc = CLI_EXIT_ERROR;
    } else if (cli_open_db(&db, g, 0) != 0) {
        rc = CLI_EXIT_ERROR;
    } else if (crm_model_save(db, m) != 0) {
        cli_lib_error("model save");
        rc = CLI_EXIT_ERROR;
    } else {
        print_summary(m);
    }
    free(doc);
    crm_model_free(m);
    crm_db_close(db);
    return rc;
}

static int model_train(int argc, char **argv, cli_globals *g)
{
    crm_train_options o = CRM_TRAIN_OPTIONS_INIT;
    const char *v;
    for (int i = 2; i < argc; i++) {
        int r = cli_common_opt(argc, argv, &i, g, "model train");
        if (r == 0 && (r = cli_opt(argc, argv, &i, "--kind", &v, "model train")) > 0) {
            if (strcmp(v, "logistic") == 0)
                o.kind = CRM_MODEL_LOGISTIC;
            else if (strcmp(v, "naive_bayes") == 0)
                o.kind = CRM_MODEL_NAIVE_BAYES;
            else
                return cli_usage_error("model train", "--kind: expected logistic or naive_bayes, got '%s'", v);
        } else if (r == 0 && (r = cli_opt(argc, argv, &i, "--name", &v, "model train")) > 0) {
            o.name = v;
        } else if (r == 0 && (r = cli_opt(argc, argv, &i, "--holdout", &v, "model train")) > 0) {
            if (parse_double("model train", "--holdout", v, &o.holdout))
                return CLI_EXIT_USAGE;
        } else if (r == 0 && (r = cli_opt(argc, argv, &i, "--l2", &v, "model train")) > 0) {
            if (parse_double("model train", "--l2", v, &o.l2))
                return CLI_EXIT_USAGE;
        } else if (r == 0 && (r = cli_opt(argc, argv, &i, "--cross", &v, "model train")) > 0) {
            if (o.crosses)
                return cli_usage_error("model train", "--cross: given twice (list the pairs as A*B,C*D)");
            o.crosses = v;
        } else if (r == 0 && (r = cli_opt(argc, argv, &i, "--bins", &v, "model train")) > 0) {
            if (parse_int("model train", "--bins", v, 2, 64, &o.bins))
                return CLI_EXIT_USAGE;
        }
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r == 0)
            return cli_is_option(argv[i]) ? cli_usage_error("model train", "unknown option '%s'", argv[i])
                                          : cli_usage_error("model train", "unexpected argument '%s'", argv[i]);
    }
    crm_db *db;
    if (cli_open_db(&db, g, 0) != 0)
        return CLI_EXIT_ERROR;
    crm_model *m = NULL;
    int rc = CLI_EXIT_OK;
    if (crm_model_train_leads(&m, db, &o) != 0) {
        cli_lib_error("model train");
        rc = CLI_EXIT_ERROR;
    } else if (crm_model_save(db, m) != 0) {
        cli_lib_error("model train: save");
        rc = CLI_EXIT_ERROR;
    } else {
        print_summary(m);
    }
    crm_model_free(m);
    crm_db_close(db);
    return rc;
}

static int model_show(int argc, char **argv, cli_globals *g)
{
    const char *name = NULL, *v;
    int version = 0, json = 0;
    for (int i = 2; i < argc; i++) {
        int r = cli_common_opt(argc, argv, &i, g, "model show");
        if (r == 0 && (r = cli_opt(argc, argv, &i, "--version", &v, "model show")) > 0) {
            if (parse_int("model show", "--version", v, 1, 1000000000, &version))
                return CLI_EXIT_USAGE;
        } else if (r == 0 && cli_flag(argv[i], "--json")) {
            json = 1;
            r = 1;
        }
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r)
            continue;
        if (cli_is_option(argv[i]))
            return cli_usage_error("model show", "unknown option '%s'", argv[i]);
        if (name)
            return cli_usage_error("model show", "unexpected argument '%s'", argv[i]);
        name = argv[i];
    }
    crm_db *db;
    if (cli_open_db(&db, g, 0) != 0)
        return CLI_EXIT_ERROR;
    crm_model *m = NULL;
    char *doc = NULL;
    int rc = CLI_EXIT_OK, e;
    if ((e = crm_model_load(&m, db, name ? name : "default", version)) != 0) {
        cli_lib_error("model show");
        rc = exit_of(e);
    } else if (crm_model_to_json(&doc, m) != 0) {
        cli_lib_error("model show");
        rc = CLI_EXIT_ERROR;
    } else if (json) {
        printf("%s\n", doc);
    } else {
        print_summary(m);
        cJSON *parsed = cJSON_Parse(doc);
        char *pretty = parsed ? cJSON_Print(parsed) : NULL;
        printf("document:\n%s\n", pretty ? pretty : doc);
        cJSON_free(pretty);
        cJSON_Delete(parsed);
    }
    crm_free(doc);
    crm_model_free(m);
    crm_db_close(db);
    return rc;
}

int cli_cmd_model(int argc, char **argv, cli_globals *g)
{
    if (argc < 2 || cli_flag(argv[1], "--help") || cli_flag(argv[1], "-h")) {
        fputs(model_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    for (int i = 2; i < argc; i++) {
        if (cli_flag(argv[i], "--help") || cli_flag(argv[i], "-h")) {
            fputs(model_usage, stdout);
            return CLI_EXIT_OK;
        }
    }
    if (strcmp(argv[1], "save") == 0)
        return model_save(argc, argv, g);
    if (strcmp(argv[1], "train") == 0)
        return model_train(argc, argv, g);
    if (strcmp(argv[1], "show") == 0)
        return model_show(argc, argv, g);
    return cli_usage_error("model", "unknown subcommand '%s' (expected save, train or show)", argv[1]);
}

static void print_score(const char *id, const crm_score *s, int json)
{
    if (json) {
        cJSON *o = cJSON_CreateObject(), *reasons = NULL;
        if (o && cJSON_AddStringToObject(o, "id", id) && cJSON_AddNumberToObject(o, "score", s->score) &&
            cJSON_AddStringToObject(o, "grade", s->grade) &&
            cJSON_AddNumberToObject(o, "probability", s->probability) &&
            (reasons = cJSON_AddArrayToObject(o, "reasons"))) {
            for (size_t i = 0; i < s->n_reasons; i++) {
                cJSON *r = cJSON_CreateObject();
                if (!r || !cJSON_AddItemToArray(reasons, r)) {
                    cJSON_Delete(r);
                    break;
                }
                cJSON_AddStringToObject(r, "group", s->reasons[i].group);
                cJSON_AddStringToObject(r, "item", s->reasons[i].item);
                cJSON_AddNumberToObject(r, "points", s->reasons[i].points);
            }
            char *text = cJSON_PrintUnformatted(o);
            if (text)
                printf("%s\n", text);
            cJSON_free(text);
        }
        cJSON_Delete(o);
        return;
    }
    printf("%s  score %3d  grade %s  p=%.3f\n", id, s->score, s->grade, s->probability);
    for (size_t i = 0; i < s->n_reasons; i++)
        printf("    %+8.3f  %s: %s\n", s->reasons[i].points, s->reasons[i].group, s->reasons[i].item);
}

int cli_cmd_score(int argc, char **argv, cli_globals *g)
{
    const char *model = "default", *v;
    int version = 0, json = 0, all = 0, n_ids = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_flag(argv[i], "--help") || cli_flag(argv[i], "-h")) {
            fputs(score_usage, stdout);
            return CLI_EXIT_OK;
        }
    }
    /* The ids are gathered in place at the front of argv. */
    for (int i = 1; i < argc; i++) {
        int r = cli_common_opt(argc, argv, &i, g, "score");
        if (r == 0)
            r = cli_opt(argc, argv, &i, "--model", &model, "score");
        if (r == 0 && (r = cli_opt(argc, argv, &i, "--version", &v, "score")) > 0 &&
            parse_int("score", "--version", v, 1, 1000000000, &version))
            return CLI_EXIT_USAGE;
        if (r == 0 && cli_flag(argv[i], "--json"))
            json = r = 1;
        if (r == 0 && cli_flag(argv[i], "--all"))
            all = r = 1;
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r)
            continue;
        if (cli_is_option(argv[i]))
            return cli_usage_error("score", "unknown option '%s'", argv[i]);
        argv[n_ids++] = argv[i];
    }
    if (all == (n_ids > 0))
        return cli_usage_error("score", "give lead ids or --all (not both)");
    crm_db *db;
    if (cli_open_db(&db, g, 0) != 0)
        return CLI_EXIT_ERROR;
    crm_model *m = NULL;
    int rc = CLI_EXIT_OK, e;
    if ((e = crm_model_load(&m, db, model, version)) != 0) {
        cli_lib_error("score: model");
        rc = exit_of(e);
    } else if (all) {
        size_t changed = 0;
        if (crm_lead_rescore_all(&changed, db, m) != 0) {
            cli_lib_error("score --all");
            rc = CLI_EXIT_ERROR;
        } else if (json) {
            printf("{\"model\":\"%s\",\"version\":%d,\"changed\":%zu}\n", crm_model_name(m),
                   crm_model_version(m), changed);
        } else {
            printf("scored with %s version %d: %zu leads changed\n", crm_model_name(m), crm_model_version(m),
                   changed);
        }
    } else {
        for (int i = 0; i < n_ids; i++) {
            crm_score s;
            if ((e = crm_lead_score(&s, db, m, argv[i])) != 0) {
                char what[96];
                snprintf(what, sizeof what, "score %.40s", argv[i]);
                cli_lib_error(what);
                rc = exit_of(e);
                break;
            }
            print_score(argv[i], &s, json);
        }
    }
    crm_model_free(m);
    crm_db_close(db);
    return rc;
}
