/* Scoring: rule models (points, caps, decay, grades, reasons), validation
 * with JSON paths, trained models (naive Bayes, logistic), their JSON,
 * AUC, models in the database, scores written back to leads and scoring
 * on ingest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/core.h"
#include "helpers.h"

#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */
#define DAY 86400000LL

static const char *const RULES =
    "{\"type\":\"rules\",\"name\":\"默认\",\"groups\":{"
    "\"channel\":{\"cap\":30,\"points\":{\"walk_in\":30,\"dcc\":20,\"*\":5}},"
    "\"completeness\":{\"fields\":{\"name\":5,\"email\":5,\"city\":5}},"
    "\"intent\":{\"cap\":25,\"model\":10,\"test_drive\":10,\"budget\":5,"
    "\"purchase_timeline\":{\"within_1m\":15,\"1_3m\":10}},"
    "\"engagement\":{\"cap\":20,\"half_life_days\":7,\"points\":{\"brochure\":8,\"call\":6}},"
    "\"recency\":{\"points\":10,\"half_life_days\":2}}}";

static crm_model *load(const char *json)
{
    crm_model *m = NULL;
    int rc = crm_model_from_json(&m, json);
    if (rc)
        fail_msg("model refused: %s", crm_error_last()->message);
    return m;
}

static const crm_score_reason *find_reason(const crm_score *s, const char *group, const char *item)
{
    for (size_t i = 0; i < s->n_reasons; i++)
        if (strcmp(s->reasons[i].group, group) == 0 && strcmp(s->reasons[i].item, item) == 0)
            return &s->reasons[i];
    return NULL;
}

static void rules_add_points_cap_groups_and_explain(void **state)
{
    (void)state;
    crm_model *m = load(RULES);
    assert_int_equal(crm_model_get_kind(m), CRM_MODEL_RULES);
    assert_string_equal(crm_model_name(m), "默认");
    crm_lead l = { .channel = "walk_in", .name = "王", .city = "上海", .model = "EX5",
                   .purchase_timeline = CRM_TIMELINE_WITHIN_1M, .test_drive = CRM_YES, .created_at = T0 };
    crm_engagement e[3] = { { "brochure", T0 - 7 * DAY }, { "brochure", T0 }, { "unknown", T0 } };
    crm_lead_signals sig = CRM_LEAD_SIGNALS_INIT;
    sig.budget = 200000;
    sig.engagements = e;
    sig.n_engagements = 3;
    crm_score s;
    /* Hand computed at now = created + 2 days: channel 30; completeness
     * name 5 + city 5; intent 10 + 10 + 15 + 5 = 40, capped to 25 (-15);
     * engagement: the brochures are 9 and 2 days old; recency 10 after
     * one half-life = 5. Total 30 + 10 + 25 + 9.85 + 5 = 79.85. */
    assert_int_equal(crm_model_score_lead(&s, m, &l, &sig, T0 + 2 * DAY), 0);
    assert_int_equal(s.score, 80); /* brochure: 8 * 2^(-9/7) + 8 * 2^(-2/7) = 3.28 + 6.57 */
    assert_string_equal(s.grade, "A");
    const crm_score_reason *r = find_reason(&s, "intent", "cap");
    assert_non_null(r);
    assert_true(fabs(r->points + 15) < 1e-9);
    r = find_reason(&s, "engagement", "brochure");
    assert_non_null(r);
    assert_true(fabs(r->points - (8 * exp2(-9.0 / 7) + 8 * exp2(-2.0 / 7))) < 1e-9);
    r = find_reason(&s, "recency", "created_at");
    assert_true(fabs(r->points - 5) < 1e-9);
    assert_non_null(find_reason(&s, "channel", "walk_in"));
    assert_null(find_reason(&s, "completeness", "email"));
    /* contributions largest first, and they add up to the score */
    double sum = 0;
    for (size_t i = 0; i < s.n_reasons; i++) {
        sum += s.reasons[i].points;
        if (i)
            assert_true(s.reasons[i - 1].points >= s.reasons[i].points);
    }
    assert_int_equal((int)floor(sum + 0.5), s.score);
    assert_string_equal(s.reasons[0].item, "walk_in");
    assert_string_equal(s.reasons[s.n_reasons - 1].item, "cap");

    /* Another channel falls back to "*"; an empty lead scores only that. */
    crm_lead bare = { .channel = "douyin", .test_drive = CRM_UNKNOWN, .created_at = T0 - 100 * DAY };
    assert_int_equal(crm_model_score_lead(&s, m, &bare, NULL, T0), 0);
    assert_int_equal(s.score, 5);
    assert_string_equal(s.grade, "D");
    assert_string_equal(s.reasons[0].item, "*");
    crm_model_free(m);
}

static void rules_grades_follow_the_bands(void **state)
{
    (void)state;
    crm_model *m = load("{\"type\":\"rules\",\"grades\":{\"A\":30,\"B\":20,\"C\":10},"
                        "\"groups\":{\"channel\":{\"points\":{\"a\":30,\"b\":29,\"c\":20,\"d\":10,\"e\":9}}}}");
    static const char *const ch[] = { "a", "b", "c", "d", "e" };
    static const char *const want[] = { "A", "B", "B", "C", "D" };
    for (int i = 0; i < 5; i++) {
        crm_lead l = { .channel = ch[i], .created_at = T0 };
        crm_score s;
        assert_int_equal(crm_model_score_lead(&s, m, &l, NULL, T0), 0);
        assert_string_equal(s.grade, want[i]);
    }
    /* The document comes back with its grades and groups. */
    char *json;
    assert_int_equal(crm_model_to_json(&json, m), 0);
    assert_non_null(strstr(json, "\"grades\":{\"A\":30,\"B\":20,\"C\":10}"));
    crm_model *again = load(json);
    crm_free(json);
    crm_model_free(again);
    crm_model_free(m);
}

static void bad_documents_name_the_path(void **state)
{
    (void)state;
    static const struct {
        const char *json, *needle;
    } cases[] = {
        { "[]", "model: expected a JSON object" },
        { "{\"type\":\"magic\"}", "type: expected" },
        { "{\"type\":\"rules\"}", "groups: expected an object" },
        { "{\"type\":\"rules\",\"groups\":{\"colour\":{}}}", "groups.colour: unknown group" },
        { "{\"type\":\"rules\",\"groups\":{\"channel\":{\"points\":{\"dcc\":\"ten\"}}}}",
          "groups.channel.points.dcc: expected a number" },
        { "{\"type\":\"rules\",\"groups\":{\"channel\":{\"cap\":-1}}}", "groups.channel.cap:" },
        { "{\"type\":\"rules\",\"groups\":{\"completeness\":{\"fields\":{\"shoe\":5}}}}",
          "groups.completeness.fields.shoe: not a lead field" },
        { "{\"type\":\"rules\",\"groups\":{\"intent\":{\"purchase_timeline\":{\"soon\":5}}}}",
          "groups.intent.purchase_timeline.soon: unknown timeline" },
        { "{\"type\":\"rules\",\"groups\":{\"engagement\":{\"half_life_days\":0}}}",
          "groups.engagement.half_life_days:" },
        { "{\"type\":\"rules\",\"groups\":{\"recency\":{\"points\":5}}}", "groups.recency.half_life_days: required" },
        { "{\"type\":\"rules\",\"groups\":{\"intent\":{\"color\":5}}}", "groups.intent.color: unknown member" },
        { "{\"type\":\"rules\",\"grades\":{\"A\":50,\"B\":60},\"groups\":{}}", "grades: expected A > B > C" },
        { "{\"type\":\"rules\",\"grades\":{\"E\":5},\"groups\":{}}", "grades.E: unknown grade" },
        { "{\"type\":\"rules\",\"name\":\"\",\"groups\":{}}", "name:" },
        { "{\"type\":\"logistic\",\"bias\":0,\"features\":[]}", "features: expected" },
        { "{\"type\":\"logistic\",\"bias\":0,\"features\":[{\"name\":\"x\",\"kind\":\"number\","
          "\"cuts\":[2,1],\"weights\":[0,0,0],\"missing\":0,\"baseline\":0}]}",
          "features[0].cuts[1]: expected a number above" },
        { "{\"type\":\"naive_bayes\",\"bias\":0,\"features\":[{\"name\":\"c\",\"kind\":\"category\","
          "\"values\":[\"a\"],\"weights\":[0,1],\"other\":0,\"baseline\":0}]}",
          "features[0].weights: expected an array of 1 numbers" },
        { "{\"type\":\"logistic\",\"bias\":0,\"auc\":2,\"features\":[]}", "auc:" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        crm_model *m = (crm_model *)0x1;
        int rc = crm_model_from_json(&m, cases[i].json);
        if (rc != CRM_EINVALID || !strstr(crm_error_last()->message, cases[i].needle))
            fail_msg("case %zu: rc %d, message '%s', wanted '%s'", i, rc, crm_error_last()->message, cases[i].needle);
        assert_null(m);
    }
}

static void auc_matches_hand_computation(void **state)
{
    (void)state;
    double auc;
    const double s1[] = { 0.1, 0.4, 0.35, 0.8 };
    const int y1[] = { 0, 0, 1, 1 };
    assert_int_equal(crm_roc_auc(&auc, s1, y1, 4), 0);
    assert_true(fabs(auc - 0.75) < 1e-12);
    const double s2[] = { 0.5, 0.5, 0.2 };
    const int y2[] = { 1, 0, 0 };
    assert_int_equal(crm_roc_auc(&auc, s2, y2, 3), 0); /* tie counts one half: (0.5 + 1) / 2 */
    assert_true(fabs(auc - 0.75) < 1e-12);
    assert_crm_error(crm_roc_auc(&auc, s2, y1, 1), CRM_EINVALID, "both 0 and 1");
}

/* A small deterministic random source for generated data. */
static uint32_t rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
}

/* Rows where channel decides most and age a little: walk-ins convert 60 %,
 * website leads 10 %, people of 50 and over 10 points more; a few channels
 * are missing. */
static crm_dataset *make_dataset(size_t n)
{
    static const char *const names[] = { "channel", "age" };
    static const crm_column_kind kinds[] = { CRM_COLUMN_CATEGORY, CRM_COLUMN_NUMBER };
    crm_dataset *ds;
    uint64_t seed = 7;
    assert_int_equal(crm_dataset_new(&ds, 2, names, kinds), 0);
    for (size_t i = 0; i < n; i++) {
        char age[16];
        unsigned a = 20 + rnd(&seed) % 40;
        snprintf(age, sizeof age, "%u", a);
        bool walk = rnd(&seed) % 2;
        unsigned p = (walk ? 60 : 10) + (a >= 50 ? 10 : 0);
        int y = rnd(&seed) % 100 < p;
        const char *values[] = { rnd(&seed) % 50 == 0 ? NULL : walk ? "walk_in" : "website", age };
        assert_int_equal(crm_dataset_add_row(ds, values, y), 0);
    }
    return ds;
}

static void dataset_refuses_bad_rows(void **state)
{
    (void)state;
    crm_dataset *ds = make_dataset(10);
    const char *bad[] = { "dcc", "forty" };
    assert_crm_error(crm_dataset_add_row(ds, bad, 1), CRM_EINVALID, "row 10, column age: expected a number");
    const char *ok[] = { "dcc", "40" };
    assert_crm_error(crm_dataset_add_row(ds, ok, 2), CRM_EINVALID, "label: expected 0 or 1");
    assert_int_equal(crm_dataset_rows(ds), 10);
    crm_dataset_free(ds);
    static const char *const dup[] = { "a", "a" };
    static const crm_column_kind kinds[] = { CRM_COLUMN_CATEGORY, CRM_COLUMN_NUMBER };
    assert_crm_error(crm_dataset_new(&ds, 2, dup, kinds), CRM_EINVALID, "names[1]: 'a' repeats names[0]");
}

static void trained_models_rank_and_explain(void **state)
{
    (void)state;
    crm_dataset *ds = make_dataset(4000);
    static const crm_model_kind kinds[] = { CRM_MODEL_NAIVE_BAYES, CRM_MODEL_LOGISTIC };
    for (int k = 0; k < 2; k++) {
        crm_train_options o = CRM_TRAIN_OPTIONS_INIT;
        o.kind = kinds[k];
        o.name = "试驾";
        crm_model *m;
        assert_int_equal(crm_model_train(&m, ds, &o), 0);
        assert_int_equal(crm_model_get_kind(m), kinds[k]);
        assert_true(crm_model_auc(m) > 0.75); /* channel alone gives about 0.8 */
        const char *walk[] = { "walk_in", "35" }, *web[] = { "website", "35" }, *odd[] = { "never_seen", "abc" };
        crm_score a, b, c;
        assert_int_equal(crm_model_score_values(&a, m, walk), 0);
        assert_int_equal(crm_model_score_values(&b, m, web), 0);
        assert_int_equal(crm_model_score_values(&c, m, odd), 0);
        assert_true(a.probability > 0.4 && a.probability < 0.8);
        if (!(b.probability < 0.2))
            fail_msg("%s: website %f", crm_model_kind_name(kinds[k]), b.probability);
        assert_int_equal(a.score, (int)floor(a.probability * 100 + 0.5));
        /* the top positive reason of a walk-in is its channel, the top
         * negative reason of a website lead is its channel */
        assert_string_equal(a.reasons[0].group, "channel");
        assert_string_equal(a.reasons[0].item, "walk_in");
        assert_true(a.reasons[0].points > 0);
        const crm_score_reason *neg = find_reason(&b, "channel", "website");
        assert_non_null(neg);
        assert_true(neg->points < 0);
        assert_true(c.probability > 0 && c.probability < 1);
        assert_non_null(find_reason(&c, "age", "(missing)") || find_reason(&c, "channel", "(other)") ? &c : NULL);

        /* The JSON form scores the same. */
        char *json;
        assert_int_equal(crm_model_to_json(&json, m), 0);
        crm_model *back = load(json);
        crm_free(json);
        crm_score a2;
        assert_int_equal(crm_model_score_values(&a2, back, walk), 0);
        assert_true(fabs(a2.probability - a.probability) < 1e-9);
        assert_string_equal(crm_model_name(back), "试驾");
        assert_true(fabs(crm_model_auc(back) - crm_model_auc(m)) < 1e-12);
        crm_model_free(back);
        crm_model_free(m);
    }
    /* Options are checked. */
    crm_train_options o = CRM_TRAIN_OPTIONS_INIT;
    crm_model *m;
    o.bins = 1;
    assert_crm_error(crm_model_train(&m, ds, &o), CRM_EINVALID, "options.bins");
    o = (crm_train_options)CRM_TRAIN_OPTIONS_INIT;
    o.holdout = 1;
    assert_crm_error(crm_model_train(&m, ds, &o), CRM_EINVALID, "options.holdout");
    crm_dataset_free(ds);
}

/* Rows that convert when a and b agree (80 %) and not when they differ
 * (10 %): no weight of a or b alone can tell, their cross can. */
static crm_dataset *make_xor_dataset(size_t n)
{
    static const char *const names[] = { "a", "b", "age" };
    static const crm_column_kind kinds[] = { CRM_COLUMN_CATEGORY, CRM_COLUMN_CATEGORY, CRM_COLUMN_NUMBER };
    static const char *const ab[] = { "x", "y" };
    crm_dataset *ds;
    uint64_t seed = 5;
    assert_int_equal(crm_dataset_new(&ds, 3, names, kinds), 0);
    for (size_t i = 0; i < n; i++) {
        unsigned a = rnd(&seed) % 2, b = rnd(&seed) % 2;
        int y = rnd(&seed) % 100 < (a == b ? 80u : 10u);
        const char *values[] = { ab[a], i % 40 == 0 ? NULL : ab[b], "30" };
        assert_int_equal(crm_dataset_add_row(ds, values, y), 0);
    }
    return ds;
}

static void crosses_are_learnt_kept_and_scored(void **state)
{
    (void)state;
    crm_dataset *ds = make_xor_dataset(3000);
    crm_train_options o = CRM_TRAIN_OPTIONS_INIT;
    crm_model *plain, *m;
    assert_int_equal(crm_model_train(&plain, ds, &o), 0);
    o.crosses = "a*b";
    assert_int_equal(crm_model_train(&m, ds, &o), 0);
    if (!(crm_model_auc(plain) < 0.6 && crm_model_auc(m) > 0.8))
        fail_msg("auc without the cross %f, with %f", crm_model_auc(plain), crm_model_auc(m));
    /* The inputs stay the dataset's columns: the cross is built from them. */
    assert_int_equal(crm_model_feature_count(m), 3);
    assert_null(crm_model_feature_name(m, 3));
    const char *same[] = { "y", "y", "30" }, *differ[] = { "x", "y", "30" }, *missing[] = { "x", NULL, "30" };
    crm_score s1, s2, s3;
    assert_int_equal(crm_model_score_values(&s1, m, same), 0);
    assert_int_equal(crm_model_score_values(&s2, m, differ), 0);
    assert_int_equal(crm_model_score_values(&s3, m, missing), 0);
    assert_true(s1.probability > 0.7 && s2.probability < 0.2);
    assert_string_equal(s1.reasons[0].group, "a*b");
    assert_string_equal(s1.reasons[0].item, "y*y");
    assert_non_null(find_reason(&s3, "a*b", "(other)"));

    /* The document keeps the cross and scores the same. */
    char *json;
    assert_int_equal(crm_model_to_json(&json, m), 0);
    cJSON *doc = cJSON_Parse(json);
    const cJSON *f3 = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "features"), 3);
    assert_string_equal(cJSON_GetObjectItem(f3, "name")->valuestring, "a*b");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(f3, "cross"), 1)->valuestring, "b");
    crm_model *back = load(json);
    crm_score b1;
    assert_int_equal(crm_model_score_values(&b1, back, same), 0);
    assert_true(fabs(b1.probability - s1.probability) < 1e-12);
    assert_int_equal(crm_model_feature_count(back), 3);
    /* A stored cross must name two category inputs listed before it. */
    static const struct {
        const char *from, *to, *error;
    } bad[] = {
        { "\"cross\":[\"a\",\"b\"]", "\"cross\":[\"a\",\"zz\"]", "features[3].cross[1]: expected the name" },
        { "\"cross\":[\"a\",\"b\"]", "\"cross\":[\"a\",\"age\"]",
          "features[3].cross[1]: feature 'age' is not a category" },
        { "\"cross\":[\"a\",\"b\"]", "\"cross\":[\"a\",\"a\"]", "features[3].cross: crosses 'a' with itself" },
        { "\"cross\":[\"a\",\"b\"]", "\"cross\":\"a*b\"", "features[3].cross: expected two feature names" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *at = strstr(json, bad[i].from);
        assert_non_null(at);
        char *edited = malloc(strlen(json) + 64);
        snprintf(edited, strlen(json) + 64, "%.*s%s%s", (int)(at - json), json, bad[i].to, at + strlen(bad[i].from));
        crm_model *x = NULL;
        assert_crm_error(crm_model_from_json(&x, edited), CRM_EINVALID, bad[i].error);
        assert_null(x);
        free(edited);
    }
    /* an input after a cross */
    cJSON *features = cJSON_GetObjectItem(doc, "features");
    cJSON_AddItemToArray(features, cJSON_Duplicate(cJSON_GetArrayItem(features, 0), 1));
    cJSON_SetValuestring(cJSON_GetObjectItem(cJSON_GetArrayItem(features, 4), "name"), "c");
    char *moved = cJSON_PrintUnformatted(doc);
    crm_model *x = NULL;
    assert_crm_error(crm_model_from_json(&x, moved), CRM_EINVALID, "features[4]: an input after a cross");
    cJSON_free(moved);
    cJSON_Delete(doc);
    crm_free(json);
    crm_model_free(back);

    /* Bad crosses are refused, naming the option and the pair. */
    static const struct {
        const char *crosses, *error;
    } refused[] = {
        { "a*zz", "options.crosses[0]: unknown feature 'zz'" },
        { "a*b,a*age", "options.crosses[1]: feature 'age' is not a category" },
        { "a*b,b*a", "options.crosses[1]: repeats crosses[0]" },
        { "a*a", "options.crosses[0]: crosses 'a' with itself" },
        { "a*b,ab", "options.crosses[1]: expected A*B, got 'ab'" },
        { "a*b*c", "options.crosses[0]: expected A*B" },
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        crm_model *r = NULL;
        o.crosses = refused[i].crosses;
        assert_crm_error(crm_model_train(&r, ds, &o), CRM_EINVALID, refused[i].error);
        assert_null(r);
    }
    /* Version 1 options have no crosses member: it is not read. */
    o.version = 1;
    o.crosses = "a*zz";
    crm_model *v1;
    assert_int_equal(crm_model_train(&v1, ds, &o), 0);
    assert_int_equal(crm_model_feature_count(v1), 3);
    crm_model_free(v1);
    crm_model_free(plain);
    crm_model_free(m);
    crm_dataset_free(ds);
}

static void training_is_deterministic(void **state)
{
    (void)state;
    crm_dataset *ds = make_dataset(1000);
    char *j1, *j2;
    crm_model *m1, *m2;
    assert_int_equal(crm_model_train(&m1, ds, NULL), 0);
    assert_int_equal(crm_model_train(&m2, ds, NULL), 0);
    assert_int_equal(crm_model_to_json(&j1, m1), 0);
    assert_int_equal(crm_model_to_json(&j2, m2), 0);
    assert_string_equal(j1, j2);
    crm_free(j1);
    crm_free(j2);
    crm_model_free(m1);
    crm_model_free(m2);
    crm_dataset_free(ds);
}

/* A category of hundreds of values (a calendar date) next to small
 * features: the Newton solve reorders the parameters (largest feature
 * first, bias last) and skips the zeros of the Hessian. The fit must not
 * depend on the column order, and at the optimum the unpenalised bias has
 * a zero gradient: the mean probability is the mean label. */
static crm_dataset *make_dated(size_t n, int date_first)
{
    static const char *const smalls[3] = { "a", "b", "c" };
    const char *names[3];
    crm_column_kind kinds[3];
    int di = date_first ? 0 : 2, si = date_first ? 1 : 0, ni = date_first ? 2 : 1;
    names[di] = "date", kinds[di] = CRM_COLUMN_CATEGORY;
    names[si] = "small", kinds[si] = CRM_COLUMN_CATEGORY;
    names[ni] = "n", kinds[ni] = CRM_COLUMN_NUMBER;
    crm_dataset *ds;
    assert_int_equal(crm_dataset_new(&ds, 3, names, kinds), 0);
    uint64_t s = 7;
    for (size_t r = 0; r < n; r++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        unsigned date = (unsigned)(s >> 33) % 250, small = (unsigned)(s >> 20) % 3, num = (unsigned)(s >> 45) % 100;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double u = (double)(s >> 11) / 9007199254740992.0;
        /* every 7th date is a campaign day with 5 times the rate */
        double rate = (date % 7 == 0 ? 0.5 : 0.1) * (small == 2 ? 1.5 : 1.0);
        char dt[16], nt[16];
        snprintf(dt, sizeof dt, "d%u", date);
        snprintf(nt, sizeof nt, "%u", num);
        const char *v[3];
        v[di] = dt, v[si] = smalls[small], v[ni] = nt;
        assert_int_equal(crm_dataset_add_row(ds, v, u < rate), 0);
    }
    return ds;
}

static void logistic_fits_a_large_category(void **state)
{
    (void)state;
    enum { N = 6000 };
    crm_dataset *d1 = make_dated(N, 1), *d2 = make_dated(N, 0);
    crm_train_options o = CRM_TRAIN_OPTIONS_INIT;
    o.holdout = 0;
    crm_model *m1, *m2;
    assert_int_equal(crm_model_train(&m1, d1, &o), 0);
    assert_int_equal(crm_model_train(&m2, d2, &o), 0);
    double *p = malloc(N * sizeof *p);
    int *y = malloc(N * sizeof *y);
    assert_non_null(p);
    assert_non_null(y);
    /* the same rows again, to read the labels and the texts */
    uint64_t s = 7;
    double sum_p = 0, sum_y = 0, max_diff = 0;
    static const char *const smalls[3] = { "a", "b", "c" };
    for (size_t r = 0; r < N; r++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        unsigned date = (unsigned)(s >> 33) % 250, small = (unsigned)(s >> 20) % 3, num = (unsigned)(s >> 45) % 100;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double u = (double)(s >> 11) / 9007199254740992.0;
        double rate = (date % 7 == 0 ? 0.5 : 0.1) * (small == 2 ? 1.5 : 1.0);
        char dt[16], nt[16];
        snprintf(dt, sizeof dt, "d%u", date);
        snprintf(nt, sizeof nt, "%u", num);
        const char *v1[3] = { dt, smalls[small], nt }, *v2[3] = { smalls[small], nt, dt };
        crm_score a, b;
        assert_int_equal(crm_model_score_values(&a, m1, v1), 0);
        assert_int_equal(crm_model_score_values(&b, m2, v2), 0);
        p[r] = a.probability;
        y[r] = u < rate;
        sum_p += a.probability;
        sum_y += y[r];
        max_diff = fmax(max_diff, fabs(a.probability - b.probability));
    }
    assert_true(fabs(sum_p - sum_y) / N < 1e-4);
    assert_true(max_diff < 1e-3);
    double auc;
    assert_int_equal(crm_roc_auc(&auc, p, y, N), 0);
    assert_true(auc > 0.7);
    free(p);
    free(y);
    crm_model_free(m1);
    crm_model_free(m2);
    crm_dataset_free(d1);
    crm_dataset_free(d2);
}

/* ---- in the database ---- */

static int setup_memory(void **state)
{
    return test_setup_memory_db(state, T0);
}

static void set_status(crm_db *db, const char *id, crm_lead_status st)
{
    crm_lead *l;
    assert_int_equal(crm_lead_get(&l, db, id), 0);
    l->status = st;
    assert_int_equal(db->backend->lead_update(db->backend, l), 0);
    crm_lead_free(l);
}

static void models_are_saved_by_version(void **state)
{
    crm_db *db = *state;
    crm_model *m = load(RULES), *got;
    assert_crm_error(crm_model_load(&got, db, "默认", 0), CRM_ENOTFOUND, "not found");
    assert_int_equal(crm_model_save(db, m), 0);
    assert_int_equal(crm_model_version(m), 1);
    assert_int_equal(crm_model_save(db, m), 0);
    assert_int_equal(crm_model_version(m), 2);
    assert_int_equal(crm_model_load(&got, db, "默认", 0), 0);
    assert_int_equal(crm_model_version(got), 2);
    crm_model_free(got);
    assert_int_equal(crm_model_load(&got, db, "默认", 1), 0);
    assert_int_equal(crm_model_version(got), 1);
    crm_model_free(got);
    /* a dealer's handle may not change OEM-wide models */
    assert_int_equal(crm_db_set_scope(db, "D1"), 0);
    assert_crm_error(crm_model_save(db, m), CRM_EPERM, "OEM-wide");
    assert_int_equal(crm_model_version(m), 2);
    crm_model_free(m);
}

static void leads_are_scored_and_rescored(void **state)
{
    crm_db *db = *state;
    crm_ingest_result r1, r2;
    assert_int_equal(crm_lead_ingest(&r1, db,
                                     "{\"channel\":\"walk_in\",\"phone\":\"13800000001\",\"name\":\"王\","
                                     "\"attributes\":{\"budget\":300000,\"engagements\":[{\"kind\":\"call\","
                                     "\"at\":\"2026-01-01T00:00:00Z\"},{\"kind\":7}]}}"),
                     0);
    assert_int_equal(crm_lead_ingest(&r2, db, "{\"channel\":\"douyin\",\"phone\":\"13800000002\"}"), 0);
    crm_model *m = load(RULES);
    assert_int_equal(crm_model_save(db, m), 0);
    crm_score s;
    /* 30 channel + 5 name + 5 budget + 6 call + 10 recency */
    assert_int_equal(crm_lead_score(&s, db, m, r1.id), 0);
    assert_int_equal(s.score, 56);
    crm_lead *l;
    assert_int_equal(crm_lead_get(&l, db, r1.id), 0);
    assert_int_equal(l->score, 56);
    assert_string_equal(l->grade, "B");
    crm_lead_free(l);
    assert_int_equal(test_count_events(db, r1.id), 2); /* created, scored */

    /* Two days later recency has halved: both leads move. */
    crm_db_set_time(db, T0 + 2 * DAY);
    size_t changed = 99;
    assert_int_equal(crm_lead_rescore_all(&changed, db, m), 0);
    assert_int_equal(changed, 2);
    assert_int_equal(crm_lead_get(&l, db, r2.id), 0);
    assert_int_equal(l->score, 10); /* 5 channel "*" + 5 recency */
    assert_string_equal(l->grade, "D");
    crm_lead_free(l);
    assert_int_equal(crm_lead_rescore_all(&changed, db, m), 0);
    assert_int_equal(changed, 0);
    assert_int_equal(test_count_events(db, r2.id), 2);
    crm_model_free(m);
}

static void a_model_trains_on_stored_outcomes(void **state)
{
    crm_db *db = *state;
    crm_model *m;
    assert_crm_error(crm_model_train_leads(&m, db, NULL), CRM_EINVALID, "need both kinds");
    uint64_t seed = 11;
    for (int i = 0; i < 400; i++) {
        char doc[160];
        bool walk = rnd(&seed) % 2;
        const char *ch = walk ? "walk_in" : "website";
        snprintf(doc, sizeof doc, "{\"channel\":\"%s\",\"phone\":\"139%08d\",\"model\":\"%s\"}", ch, i,
                 i % 3 ? "EX5" : "LX");
        crm_ingest_result r;
        assert_int_equal(crm_lead_ingest(&r, db, doc), 0);
        bool won = rnd(&seed) % 100 < (walk ? 70u : 10u);
        if (i % 50 != 49) /* a few stay open: not training rows */
            set_status(db, r.id, won ? (i % 4 == 1 ? CRM_LEAD_DELIVERED : CRM_LEAD_ORDERED) : CRM_LEAD_LOST);
    }
    crm_train_options o = CRM_TRAIN_OPTIONS_INIT;
    o.name = "history";
    assert_int_equal(crm_model_train_leads(&m, db, &o), 0);
    assert_int_equal(crm_model_trained_at(m), T0);
    if (!(crm_model_auc(m) > 0.7))
        fail_msg("auc %f", crm_model_auc(m));
    crm_lead walk = { .channel = "walk_in", .model = "EX5", .test_drive = CRM_UNKNOWN };
    crm_score s;
    assert_int_equal(crm_model_score_lead(&s, m, &walk, NULL, T0), 0);
    assert_true(s.probability > 0.5);
    assert_string_equal(s.reasons[0].group, "channel");
    assert_int_equal(crm_model_save(db, m), 0);
    crm_model *back;
    assert_int_equal(crm_model_load(&back, db, "history", 0), 0);
    assert_int_equal(crm_model_trained_at(back), T0);
    crm_model_free(back);
    crm_model_free(m);

    /* A cross of two lead fields: scoring a stored lead builds it as
     * scoring from values does, and it survives the database. */
    o.crosses = "channel*model";
    assert_int_equal(crm_model_train_leads(&m, db, &o), 0);
    assert_int_equal(crm_model_save(db, m), 0);
    assert_int_equal(crm_model_load(&back, db, "history", 0), 0);
    const char *values[16] = { 0 };
    assert_int_equal(crm_model_feature_count(back), 7);
    for (size_t k = 0; k < crm_model_feature_count(back); k++) {
        const char *name = crm_model_feature_name(back, k);
        values[k] = strcmp(name, "channel") == 0 ? "walk_in" : strcmp(name, "model") == 0 ? "EX5" : NULL;
    }
    crm_score sv, sl;
    assert_int_equal(crm_model_score_values(&sv, back, values), 0);
    assert_int_equal(crm_model_score_lead(&sl, back, &walk, NULL, T0), 0);
    assert_true(fabs(sv.probability - sl.probability) < 1e-12);
    bool crossed = false;
    for (size_t i = 0; i < sl.n_reasons; i++)
        crossed |= strcmp(sl.reasons[i].group, "channel*model") == 0 && strcmp(sl.reasons[i].item, "walk_in*EX5") == 0;
    assert_true(crossed);
    crm_lead other = walk;
    other.model = "LX";
    assert_int_equal(crm_model_score_lead(&sl, back, &other, NULL, T0), 0);
    assert_true(fabs(sl.probability - sv.probability) > 1e-6);
    crm_model_free(back);
    crm_model_free(m);
}

/* ---- scoring on ingest ---------------------------------------------------- */

static const char *const HOT =
    "{\"channel\":\"walk_in\",\"phone\":\"13800000001\",\"name\":\"王伟\",\"city\":\"上海\","
    "\"model\":\"ID.4\",\"test_drive\":true,\"purchase_timeline\":\"within_1m\"}";

/* The data of a lead's "lead.created" event, parsed (NULL when it has none). */
static cJSON *created_event(crm_db *db, const char *id)
{
    crm_iter *it = NULL;
    const crm_event *e;
    cJSON *data = NULL;
    assert_int_equal(crm_event_iter_new(&it, db, id), 0);
    while (crm_event_next(&e, it) == 0)
        if (strcmp(e->kind, "lead.created") == 0 && e->data)
            data = cJSON_Parse(e->data);
    crm_iter_free(it);
    return data;
}

static void ingest_stores_score_grade_and_reasons(void **state)
{
    crm_db *db = *state;
    assert_int_equal(crm_score_enable(db, RULES), 0);
    crm_ingest_result r;
    assert_int_equal(crm_lead_ingest(&r, db, HOT), 0);
    assert_int_equal(r.outcome, CRM_INGEST_CREATED);
    /* What the model says of the stored lead, at the same time. */
    crm_lead *l;
    crm_model *m = load(RULES);
    crm_score want;
    assert_int_equal(crm_lead_get(&l, db, r.id), 0);
    assert_int_equal(crm_lead_score(&want, db, m, r.id), 0); /* same time: same score */
    assert_true(want.score > 50);
    assert_int_equal(r.score, want.score);
    assert_string_equal(r.grade, want.grade);
    assert_int_equal(l->score, want.score);
    assert_string_equal(l->grade, want.grade);
    assert_non_null(strstr(r.reason, "scored"));
    crm_lead_free(l);

    cJSON *ev = created_event(db, r.id);
    assert_non_null(ev);
    assert_string_equal(cJSON_GetObjectItem(ev, "model")->valuestring, "默认");
    assert_int_equal(cJSON_GetObjectItem(ev, "score")->valueint, want.score);
    assert_string_equal(cJSON_GetObjectItem(ev, "grade")->valuestring, want.grade);
    const cJSON *reasons = cJSON_GetObjectItem(ev, "reasons");
    assert_int_equal(cJSON_GetArraySize(reasons), CRM_SCORE_EVENT_REASONS);
    /* the largest contribution first: walk-in, 30 points */
    assert_string_equal(cJSON_GetObjectItem(reasons->child, "group")->valuestring, want.reasons[0].group);
    assert_string_equal(cJSON_GetObjectItem(reasons->child, "item")->valuestring, "walk_in");
    cJSON_Delete(ev);

    /* A duplicate is not scored and leaves the stored score alone. */
    crm_ingest_result d;
    size_t events = test_count_events(db, r.id);
    crm_db_set_time(db, T0 + 10 * DAY);
    assert_int_equal(crm_lead_ingest(&d, db, "{\"channel\":\"website\",\"phone\":\"13800000001\"}"), 0);
    assert_int_equal(d.outcome, CRM_INGEST_DUPLICATE);
    assert_int_equal(d.score, -1);
    assert_string_equal(d.grade, "");
    assert_int_equal(test_count_events(db, r.id), events + 1); /* lead.duplicate only */
    assert_int_equal(crm_lead_get(&l, db, r.id), 0);
    assert_int_equal(l->score, want.score);
    crm_lead_free(l);
    crm_model_free(m);
}

/* The quality group takes points off what the cleaners found wrong, on
 * ingest as well (the score is taken after the lead is judged). */
static void quality_points_score_junk_down(void **state)
{
    crm_db *db = *state;
    static const char model[] = "{\"type\":\"rules\",\"name\":\"q\",\"version\":1,\"groups\":{"
                                "\"channel\":{\"points\":{\"*\":50}},"
                                "\"quality\":{\"points\":{\"suspect\":-20,\"junk\":-45}}}}";
    crm_model *m = load(model);
    crm_lead l = { .channel = "douyin", .test_drive = CRM_UNKNOWN, .created_at = T0 };
    crm_score s;
    const int want[CRM_LEAD_QUALITY_COUNT] = { 50, 30, 5 };
    for (int q = 0; q < CRM_LEAD_QUALITY_COUNT; q++) {
        l.quality = (crm_lead_quality)q;
        assert_int_equal(crm_model_score_lead(&s, m, &l, NULL, T0), 0);
        assert_int_equal(s.score, want[q]);
        const crm_score_reason *r = find_reason(&s, "quality", crm_lead_quality_name(l.quality));
        if (q == CRM_LEAD_QUALITY_OK)
            assert_null(r); /* no points for ok: no reason */
        else
            assert_true(fabs(r->points - (q == 1 ? -20 : -45)) < 1e-9);
    }
    crm_model_free(m);

    assert_int_equal(crm_score_enable(db, model), 0);
    crm_ingest_result r;
    assert_int_equal(crm_lead_ingest(&r, db, "{\"channel\":\"douyin\",\"phone\":\"13800138000\"}"), 0);
    assert_int_equal(r.quality, CRM_LEAD_QUALITY_JUNK);
    assert_int_equal(r.score, 5);
    assert_string_equal(r.reason, "new lead; scored 5 (D); junk");
    /* The event keeps both: the score's reasons and the quality's. */
    cJSON *ev = created_event(db, r.id);
    assert_int_equal(cJSON_GetObjectItem(ev, "score")->valueint, 5);
    assert_string_equal(cJSON_GetObjectItem(ev, "quality")->valuestring, "junk");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "quality_reasons"), "phone")->valuestring,
                        "test_number");
    cJSON_Delete(ev);

    static const char *const bad[][2] = {
        { "{\"type\":\"rules\",\"name\":\"q\",\"version\":1,\"groups\":{\"quality\":{\"points\":{\"awful\":-5}}}}",
          "groups.quality.points.awful: unknown quality (expected ok, suspect, junk)" },
        { "{\"type\":\"rules\",\"name\":\"q\",\"version\":1,\"groups\":{\"quality\":{\"points\":{\"junk\":-500}}}}",
          "groups.quality.points.junk: expected a number from -100 to 100" },
        { "{\"type\":\"rules\",\"name\":\"q\",\"version\":1,\"groups\":{\"quality\":{\"points\":[]}}}",
          "groups.quality.points: expected an object of quality: points" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        crm_model *x = NULL;
        assert_crm_error(crm_model_from_json(&x, bad[i][0]), CRM_EINVALID, bad[i][1]);
        assert_null(x);
    }
}

static void disable_stops_scoring_on_ingest(void **state)
{
    crm_db *db = *state;
    crm_score_disable(NULL);
    assert_int_equal(crm_score_enable(db, RULES), 0);
    crm_score_disable(db);
    crm_ingest_result r;
    assert_int_equal(crm_lead_ingest(&r, db, HOT), 0);
    assert_int_equal(r.outcome, CRM_INGEST_CREATED);
    assert_int_equal(r.score, -1);
    assert_string_equal(r.reason, "new lead");
    crm_lead *l;
    assert_int_equal(crm_lead_get(&l, db, r.id), 0);
    assert_true(l->score < 0);
    assert_null(l->grade);
    crm_lead_free(l);
    assert_null(created_event(db, r.id));
}

static void a_bad_model_is_refused_and_changes_nothing(void **state)
{
    crm_db *db = *state;
    assert_crm_error(crm_score_enable(db, NULL), CRM_EINVALID, "model");
    assert_crm_error(crm_score_enable(NULL, RULES), CRM_EINVALID, "db");
    assert_int_equal(crm_score_enable(db, "{\"type\":\"rules\",\"name\":\"first\","
                                          "\"groups\":{\"channel\":{\"points\":{\"*\":40}}}}"),
                     0);
    assert_crm_error(crm_score_enable(db, "{\"type\":\"rules\",\"groups\":{\"channel\":{\"points\":{\"dcc\":\"x\"}}}}"),
                     CRM_EINVALID, "groups.channel.points.dcc");
    assert_crm_error(crm_score_enable(db, "{\"type\":"), CRM_EINVALID, "");
    /* the model enabled before is still the one in use */
    crm_ingest_result r;
    assert_int_equal(crm_lead_ingest(&r, db, HOT), 0);
    assert_int_equal(r.score, 40);
    cJSON *ev = created_event(db, r.id);
    assert_string_equal(cJSON_GetObjectItem(ev, "model")->valuestring, "first");
    cJSON_Delete(ev);
}

/* An event append that fails for the event that carries a score. */
static int (*real_event_append)(crm_backend *, const crm_event *);
static int failing_scored_append(crm_backend *b, const crm_event *e)
{
    if (e->data && strstr(e->data, "\"score\""))
        return crm_error_set(CRM_ESTORAGE, "injected: the score's event could not be written");
    return real_event_append(b, e);
}

static void a_failed_score_rolls_the_ingest_back(void **state)
{
    crm_db *db = *state;
    assert_int_equal(crm_score_enable(db, RULES), 0);
    real_event_append = db->backend->event_append;
    db->backend->event_append = failing_scored_append;
    crm_ingest_result r;
    assert_crm_error(crm_lead_ingest(&r, db, HOT), CRM_ESTORAGE, "injected");
    assert_int_equal(r.score, -1);
    assert_int_equal(r.id[0], '\0');
    db->backend->event_append = real_event_append;
    assert_int_equal(test_count_leads(db), 0);
    /* nothing was left behind: not even the phone key (no duplicate now) */
    assert_int_equal(crm_lead_ingest(&r, db, HOT), 0);
    assert_int_equal(r.outcome, CRM_INGEST_CREATED);
    assert_true(r.score >= 0);
    assert_int_equal(test_count_leads(db), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rules_add_points_cap_groups_and_explain),
        cmocka_unit_test(rules_grades_follow_the_bands),
        cmocka_unit_test(bad_documents_name_the_path),
        cmocka_unit_test(auc_matches_hand_computation),
        cmocka_unit_test(dataset_refuses_bad_rows),
        cmocka_unit_test(trained_models_rank_and_explain),
        cmocka_unit_test(training_is_deterministic),
        cmocka_unit_test(crosses_are_learnt_kept_and_scored),
        cmocka_unit_test(logistic_fits_a_large_category),
        cmocka_unit_test_setup_teardown(models_are_saved_by_version, setup_memory, test_teardown_db),
        cmocka_unit_test_setup_teardown(leads_are_scored_and_rescored, setup_memory, test_teardown_db),
        cmocka_unit_test_setup_teardown(a_model_trains_on_stored_outcomes, setup_memory, test_teardown_db),
        cmocka_unit_test_setup_teardown(ingest_stores_score_grade_and_reasons, setup_memory, test_teardown_db),
        cmocka_unit_test_setup_teardown(quality_points_score_junk_down, setup_memory, test_teardown_db),
        cmocka_unit_test_setup_teardown(disable_stops_scoring_on_ingest, setup_memory, test_teardown_db),
        cmocka_unit_test_setup_teardown(a_bad_model_is_refused_and_changes_nothing, setup_memory, test_teardown_db),
        cmocka_unit_test_setup_teardown(a_failed_score_rolls_the_ingest_back, setup_memory, test_teardown_db),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
