/* Matching: configuration validation, comparators, EM, decisions, clusters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/crm.h"

static void config_rejected(const char *json, const char *message)
{
    crm_matcher *m = NULL;
    assert_int_equal(crm_matcher_new(&m, json), CRM_EINVALID);
    assert_null(m);
    if (strcmp(crm_error_last()->message, message) != 0)
        fail_msg("config %s\n  message '%s'\n  expected '%s'", json, crm_error_last()->message, message);
}

static void configs_are_validated_with_paths(void **state)
{
    (void)state;
    config_rejected("{", "config: not valid JSON");
    config_rejected("[]", "config: expected a JSON object");
    config_rejected("{\"fields\": []}", "fields: expected an array of 1 to 16 fields");
    config_rejected("{\"fields\": [{\"name\": \"a\", \"comparator\": \"soundex\"}], \"blocking\": [[\"a\"]]}",
                    "fields[0].comparator: expected one of exact, phone, jaro_winkler, damerau, name, date, "
                    "numeric, region");
    config_rejected("{\"fields\": [{\"name\": \"a\", \"comparator\": \"exact\"}, {\"name\": \"a\", \"comparator\": "
                    "\"exact\"}], \"blocking\": [[\"a\"]]}",
                    "fields[1].name: a field of that name already exists");
    config_rejected("{\"fields\": [{\"name\": \"a\", \"comparator\": \"jaro_winkler\", \"levels\": [0.8, 1.5]}], "
                    "\"blocking\": [[\"a\"]]}",
                    "fields[0].levels[1]: expected a number between 0 and 1");
    config_rejected("{\"fields\": [{\"name\": \"a\", \"comparator\": \"jaro_winkler\", \"levels\": [0.8, 0.9]}], "
                    "\"blocking\": [[\"a\"]]}",
                    "fields[0].levels: the agree level must be at least the partial level");
    config_rejected("{\"fields\": [{\"name\": \"a\", \"comparator\": \"exact\", \"m\": [0.9, 0, 0.1]}], "
                    "\"blocking\": [[\"a\"]]}",
                    "fields[0].u: m and u are given together");
    config_rejected("{\"fields\": [{\"name\": \"a\", \"comparator\": \"exact\", \"m\": [0.9, 0, 0.1], "
                    "\"u\": [0.1, 2, 0.9]}], \"blocking\": [[\"a\"]]}",
                    "fields[0].u[1]: expected a number between 0 and 1");
    config_rejected("{\"fields\": [{\"name\": \"a\", \"comparator\": \"exact\", \"colour\": 1}], \"blocking\": [[\"a\"]]}",
                    "fields[0].colour: unknown member");
    config_rejected("{\"fields\": [{\"name\": \"a\", \"comparator\": \"exact\"}], \"blocking\": [[\"a\", \"b\"]]}",
                    "blocking[0][1]: no field named 'b'");
    config_rejected("{\"fields\": [{\"name\": \"a\", \"comparator\": \"exact\"}], \"blocking\": [[\"a:key\"]]}",
                    "blocking[0][0]: the key transform is for fields with the name comparator");
    config_rejected("{\"fields\": [{\"name\": \"a\", \"comparator\": \"exact\"}], \"blocking\": [[\"a:prefix:0\"]]}",
                    "blocking[0][0]: unknown transform (expected key, prefix:N or suffix:N with N in 1..64)");
    config_rejected("{\"fields\": [{\"name\": \"a\", \"comparator\": \"exact\"}], \"blocking\": []}",
                    "blocking: expected a non-empty array of keys");
    config_rejected("{\"fields\": [{\"name\": \"a\", \"comparator\": \"exact\"}], \"blocking\": [[\"a\"]], "
                    "\"thresholds\": {\"merge\": 0.5, \"review\": 0.9}}",
                    "thresholds.review: must not be above thresholds.merge");
    config_rejected("{\"fields\": [{\"name\": \"a\", \"comparator\": \"exact\"}], \"blocking\": [[\"a\"]], "
                    "\"swap\": [[\"a\", \"a\"]]}",
                    "swap[0]: expected two different fields of this configuration");
    config_rejected("{\"fields\": [{\"name\": \"a\", \"comparator\": \"exact\"}], \"blocking\": [[\"a\"]], "
                    "\"em\": {\"prior\": 1}}",
                    "em.prior: expected a probability strictly between 0 and 1");
    config_rejected("{\"fields\": [{\"name\": \"a\", \"comparator\": \"exact\"}], \"blocking\": [[\"a\"]], \"x\": 1}",
                    "x: unknown member");

    crm_matcher *m = NULL;
    assert_int_equal(crm_matcher_new(&m, NULL), 0);
    char *json = NULL;
    assert_int_equal(crm_matcher_config_json(&json, m), 0);
    /* What it writes reads back. */
    crm_matcher *again = NULL;
    assert_int_equal(crm_matcher_new(&again, json), 0);
    crm_free(json);
    crm_matcher_free(again);
    crm_matcher_free(m);
    crm_matcher_free(NULL);
}

static const char *const person_columns[] = {"id", "first", "last", "dob", "phone", "name", "city"};

static const char person_config[] =
    "{\"fields\": ["
    "  {\"name\": \"first\", \"comparator\": \"jaro_winkler\"},"
    "  {\"name\": \"last\", \"comparator\": \"jaro_winkler\"},"
    "  {\"name\": \"dob\", \"comparator\": \"date\"},"
    "  {\"name\": \"phone\", \"comparator\": \"phone\"},"
    "  {\"name\": \"name\", \"comparator\": \"name\"},"
    "  {\"name\": \"city\", \"comparator\": \"region\"}],"
    " \"swap\": [[\"first\", \"last\"]],"
    " \"blocking\": [[\"dob\"], [\"phone\"], [\"name:key\"]],"
    " \"thresholds\": {\"merge\": 0.9, \"review\": 0.2}}";

static crm_dedupe *run_people(crm_matcher *m, const char *const rows[][7], size_t n, crm_dedupe_stats *st)
{
    crm_dedupe *d = NULL;
    assert_int_equal(crm_dedupe_new(&d, m, person_columns, 7), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(crm_dedupe_add(d, rows[i][0], rows[i]), 0);
    assert_int_equal(crm_dedupe_run(st, d), 0);
    return d;
}

static int find_pair(const crm_dedupe *d, size_t a, size_t b, crm_match_pair *out)
{
    for (size_t i = 0; i < crm_dedupe_pair_count(d); i++) {
        crm_dedupe_pair(out, d, i);
        if (out->a == a && out->b == b)
            return (int)i;
    }
    return -1;
}

static void dedupe_finds_people(void **state)
{
    (void)state;
    /* Twelve distinct people, and three duplicates with typos, swapped names,
     * another script and another phone form. */
    const char *const rows[][7] = {
        {"p0", "wei", "zhang", "19800101", "13912345670", "张伟", "上海"},
        {"p1", "na", "li", "19810202", "13912345671", "李娜", "北京"},
        {"p2", "fang", "wang", "19820303", "13912345672", "王芳", "杭州"},
        {"p3", "min", "liu", "19830404", "13912345673", "刘敏", "广州"},
        {"p4", "jing", "chen", "19840505", "13912345674", "陈静", "深圳"},
        {"p5", "lei", "yang", "19850606", "13912345675", "杨磊", "成都"},
        {"p6", "yan", "zhao", "19860707", "13912345676", "赵燕", "武汉"},
        {"p7", "tao", "huang", "19870808", "13912345677", "黄涛", "南京"},
        {"p8", "jun", "zhou", "19880909", "13912345678", "周军", "西安"},
        {"p9", "yong", "wu", "19891010", "13912345679", "吴勇", "重庆"},
        {"p10", "xia", "xu", "19901111", "13912345680", "徐霞", "天津"},
        {"p11", "qiang", "sun", "19911212", "13912345681", "孙强", "苏州"},
        {"d0", "zhang", "wei", "19800101", "+86 139 1234 5670", "Wei Zhang", "上海市"},
        {"d1", "na", "lee", "19810202", "139-1234-5671", "李娜", "北京市"},
        {"d2", "fang", "wang", "19820330", "13912345672", "王芳", "浙江杭州"},
    };
    crm_matcher *m = NULL;
    assert_int_equal(crm_matcher_new(&m, person_config), 0);
    crm_dedupe_stats st;
    crm_dedupe *d = run_people(m, rows, sizeof rows / sizeof rows[0], &st);
    assert_int_equal(st.records, 15);
    assert_int_equal(st.clusters, 12);
    assert_int_equal(st.merge_pairs, 3);
    /* A cluster is named by its first record. */
    assert_string_equal(crm_dedupe_cluster(d, 12), "p0");
    assert_string_equal(crm_dedupe_cluster(d, 13), "p1");
    assert_string_equal(crm_dedupe_cluster(d, 14), "p2");
    assert_string_equal(crm_dedupe_cluster(d, 5), "p5");
    assert_null(crm_dedupe_cluster(d, 15));
    assert_string_equal(crm_dedupe_record_id(d, 12), "d0");

    /* The evidence: swapped names compared crosswise, the name across scripts. */
    crm_match_pair p;
    int i = find_pair(d, 0, 12, &p);
    assert_true(i >= 0);
    assert_int_equal(p.decision, CRM_MATCH_MERGE);
    char *ev = NULL;
    assert_int_equal(crm_dedupe_pair_json(&ev, d, (size_t)i), 0);
    assert_non_null(strstr(ev, "{\"field\":\"first\",\"a\":\"wei\",\"b\":\"wei\",\"level\":\"agree\""));
    assert_non_null(strstr(ev, "\"swapped\":true"));
    assert_non_null(strstr(ev, "{\"field\":\"name\",\"a\":\"张伟\",\"b\":\"Wei Zhang\",\"level\":\"agree\""));
    assert_non_null(strstr(ev, "\"decision\":\"merge\""));
    crm_free(ev);
    assert_int_equal(crm_dedupe_pair_json(&ev, d, 9999), CRM_ENOTFOUND);
    assert_int_equal(crm_dedupe_pair(&p, d, 9999), CRM_ENOTFOUND);

    /* No more records after a run, and no second run. */
    assert_int_equal(crm_dedupe_add(d, "x", rows[0]), CRM_ECONFLICT);
    assert_int_equal(crm_dedupe_run(NULL, d), CRM_ECONFLICT);
    crm_dedupe_free(d);

    /* Weights saved from a run fix the next one (no EM). */
    char *cfg = NULL;
    assert_int_equal(crm_matcher_config_json(&cfg, m), 0);
    crm_matcher *fixed = NULL;
    assert_int_equal(crm_matcher_new(&fixed, cfg), 0);
    crm_free(cfg);
    d = run_people(fixed, rows, sizeof rows / sizeof rows[0], &st);
    assert_int_equal(st.em_iterations, 0);
    assert_int_equal(st.clusters, 12);
    crm_dedupe_free(d);
    crm_matcher_free(fixed);
    crm_matcher_free(m);
}

static void dedupe_rejects_bad_input(void **state)
{
    (void)state;
    crm_matcher *m = NULL;
    crm_dedupe *d = NULL;
    assert_int_equal(crm_matcher_new(&m, person_config), 0);
    const char *const none[] = {"x", "y"};
    assert_int_equal(crm_dedupe_new(&d, m, none, 2), CRM_EINVALID);
    assert_string_equal(crm_error_last()->message, "columns: none of the configuration's columns (first, ...) is present");
    assert_int_equal(crm_dedupe_new(&d, m, person_columns, 7), 0);
    const char *const bad[] = {"x", "\xff", "", "", "", "", ""};
    assert_int_equal(crm_dedupe_add(d, NULL, bad), CRM_EINVALID);
    assert_string_equal(crm_error_last()->message, "first: not valid UTF-8");
    assert_int_equal(crm_dedupe_pair_count(d), 0);
    assert_null(crm_dedupe_cluster(d, 0));
    crm_dedupe_free(d);
    crm_matcher_free(m);
}

static void dedupe_json_in_one_call(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(crm_dedupe_json(&out, NULL,
                                     "[{\"id\": \"a\", \"phone\": \"13912345670\", \"name\": \"张伟\", \"city\": \"上海\"},"
                                     " {\"id\": \"b\", \"phone\": \"+86 139 1234 5670\", \"name\": \"Zhang Wei\"},"
                                     " {\"id\": \"c\", \"phone\": \"13712345678\", \"name\": \"李娜\"}]"),
                     0);
    assert_non_null(strstr(out, "{\"id\":\"b\",\"cluster\":\"a\"}"));
    assert_non_null(strstr(out, "{\"id\":\"c\",\"cluster\":\"c\"}"));
    assert_non_null(strstr(out, "\"config\":{"));
    crm_free(out);
    assert_int_equal(crm_dedupe_json(&out, NULL, "{}"), CRM_EINVALID);
    assert_string_equal(crm_error_last()->message, "records: expected a JSON array of objects");
    assert_int_equal(crm_dedupe_json(&out, NULL, "[{\"phone\": [1]}]"), CRM_EINVALID);
    assert_string_equal(crm_error_last()->message, "records[0].phone: expected a string, a number or null");
    assert_int_equal(crm_dedupe_json(&out, "{\"fields\": 1}", "[]"), CRM_EINVALID);
    assert_string_equal(crm_error_last()->message, "fields: expected an array of 1 to 16 fields");
    assert_null(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(configs_are_validated_with_paths),
        cmocka_unit_test(dedupe_finds_people),
        cmocka_unit_test(dedupe_rejects_bad_input),
        cmocka_unit_test(dedupe_json_in_one_call),
    };
    return cmocka_run_group_tests_name("match", tests, NULL, NULL);
}
