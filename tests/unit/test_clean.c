/* Cleaners: phones, names, e-mail, regions, ID cards, VINs, and lead documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "crm/crm.h"

typedef int (*cleaner)(crm_clean_result *, const char *);

/* Clean raw; check the value (NULL for none), that every flag in `flags`
 * is set, and that `reason` (when not NULL) is among the reasons. */
static void check(cleaner fn, const char *raw, const char *value, unsigned flags, const char *reason)
{
    crm_clean_result r = CRM_CLEAN_RESULT_INIT;
    assert_int_equal(fn(&r, raw), 0);
    if (value)
        assert_non_null(r.value), assert_string_equal(r.value, value);
    else
        assert_null(r.value);
    if ((r.flags & flags) != flags)
        fail_msg("%s: flags %#x, expected %#x (reasons %s)", raw, r.flags, flags, r.reasons);
    assert_non_null(r.reasons);
    if (reason && !strstr(r.reasons, reason))
        fail_msg("%s: reasons '%s' lack '%s'", raw, r.reasons, reason);
    crm_clean_result_clear(&r);
    assert_null(r.value);
}

static void phones_in_every_form(void **state)
{
    (void)state;
    const char *forms[] = {
        "13812345678", "+86 138 1234 5678", "+86-138-1234-5678", "008613812345678", "8613812345678",
        "013812345678", "138 1234 5678", "(+86)13812345678", "１３８１２３４５６７８", " 138.1234.5678 ",
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
        check(crm_clean_phone, forms[i], "13812345678", 0, NULL);
    check(crm_clean_phone, "13812345678", "13812345678", 0, NULL);
    check(crm_clean_phone, "+86 138 1234 5678", "13812345678", CRM_CLEAN_CHANGED, "country_code_removed");
    check(crm_clean_phone, "１３８１２３４５６７８", "13812345678", CRM_CLEAN_CHANGED, "nfkc");
    check(crm_clean_phone, "013812345678", "13812345678", 0, "leading_zero_removed");
}

static void phones_validated_and_flagged(void **state)
{
    (void)state;
    check(crm_clean_phone, "12012345678", NULL, CRM_CLEAN_INVALID, "unallocated_segment");
    check(crm_clean_phone, "15412345678", NULL, CRM_CLEAN_INVALID, "unallocated_segment");
    check(crm_clean_phone, "1381234567", NULL, CRM_CLEAN_INVALID, "wrong_length");
    check(crm_clean_phone, "138123456789", NULL, CRM_CLEAN_INVALID, "wrong_length");
    check(crm_clean_phone, "138-1234-567a", NULL, CRM_CLEAN_INVALID, "unexpected_character");
    check(crm_clean_phone, "+1 415 555 0100", NULL, CRM_CLEAN_INVALID, "not_chinese");
    check(crm_clean_phone, "", NULL, CRM_CLEAN_EMPTY, "empty");
    check(crm_clean_phone, "17012345679", "17012345679", CRM_CLEAN_VIRTUAL, "virtual_segment");
    check(crm_clean_phone, "16512345679", "16512345679", CRM_CLEAN_VIRTUAL, NULL);
    check(crm_clean_phone, "13800138000", "13800138000", CRM_CLEAN_TEST, "test_number");
    check(crm_clean_phone, "13911111111", "13911111111", CRM_CLEAN_TEST, NULL);
    check(crm_clean_phone, "010-62345679", "01062345679", CRM_CLEAN_LANDLINE, "landline");
    check(crm_clean_phone, "+86 21 6123 4567", "02161234567", CRM_CLEAN_LANDLINE, "trunk_prefix_added");
    check(crm_clean_phone, "0571-8765432", "05718765432", CRM_CLEAN_LANDLINE, NULL);
    check(crm_clean_phone, "0571-0765432", NULL, CRM_CLEAN_INVALID, "bad_local_number");
    check(crm_clean_phone, "62345678", NULL, CRM_CLEAN_INVALID, "no_area_code");
    check(crm_clean_phone, "4008123123", NULL, CRM_CLEAN_INVALID, "service_number");
    /* A valid number is not flagged at all. */
    crm_clean_result r = CRM_CLEAN_RESULT_INIT;
    assert_int_equal(crm_clean_phone(&r, "13912345670"), 0);
    assert_int_equal(r.flags, 0);
    assert_string_equal(r.reasons, "");
    crm_clean_result_clear(&r);
}

static void names(void **state)
{
    (void)state;
    check(crm_clean_name, "  张伟  ", "张伟", CRM_CLEAN_CHANGED, "trimmed");
    check(crm_clean_name, "张 伟", "张伟", 0, "spaces_collapsed");
    check(crm_clean_name, "Ｚｈａｎｇ　Ｗｅｉ", "Zhang Wei", 0, "nfkc");
    check(crm_clean_name, "Zhang    Wei", "Zhang Wei", 0, "spaces_collapsed");
    check(crm_clean_name, "测试", NULL, CRM_CLEAN_PLACEHOLDER, "placeholder");
    check(crm_clean_name, "TEST", NULL, CRM_CLEAN_PLACEHOLDER, NULL);
    check(crm_clean_name, "无", NULL, CRM_CLEAN_PLACEHOLDER, NULL);
    check(crm_clean_name, "未知", NULL, CRM_CLEAN_PLACEHOLDER, NULL);
    check(crm_clean_name, "xxx", NULL, CRM_CLEAN_PLACEHOLDER, NULL);
    check(crm_clean_name, "测试用户1", NULL, CRM_CLEAN_PLACEHOLDER, NULL);
    check(crm_clean_name, "12345", NULL, CRM_CLEAN_PLACEHOLDER, NULL);
    check(crm_clean_name, "   ", NULL, CRM_CLEAN_EMPTY, NULL);

    crm_clean_result r = CRM_CLEAN_RESULT_INIT;
    assert_int_equal(crm_clean_name(&r, "王先生"), 0);
    assert_string_equal(r.value, "王");
    assert_string_equal(r.salutation, "先生");
    assert_int_equal(crm_clean_name(&r, "Mr. John Smith"), 0);
    assert_string_equal(r.value, "John Smith");
    assert_string_equal(r.salutation, "Mr");
    assert_int_equal(crm_clean_name(&r, "ms wang fang"), 0);
    assert_string_equal(r.salutation, "Ms");
    assert_string_equal(r.key, "fangwang");
    assert_int_equal(crm_clean_name(&r, "先生"), 0);
    assert_null(r.value);
    assert_true(r.flags & CRM_CLEAN_PLACEHOLDER);

    /* The pinyin key meets across scripts and orders. */
    const char *same[] = {"张伟", "Zhang Wei", "Wei Zhang", "ZhangWei", "ZHANG wei", "张 伟"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        assert_int_equal(crm_clean_name(&r, same[i]), 0);
        assert_non_null(r.key);
        assert_string_equal(r.key, "weizhang");
    }
    assert_int_equal(crm_clean_name(&r, "李娜"), 0);
    assert_string_equal(r.key, "lina");
    crm_clean_result_clear(&r);
}

static void emails(void **state)
{
    (void)state;
    check(crm_clean_email, " Zhang.Wei@QQ.com ", "zhang.wei@qq.com", CRM_CLEAN_CHANGED, "lower_cased");
    check(crm_clean_email, "zhangwei＠163。com", "zhangwei@163.com", 0, "ideographic_full_stop");
    check(crm_clean_email, "a@b.co", "a@b.co", 0, NULL);
    check(crm_clean_email, "test@example.com", "test@example.com", CRM_CLEAN_TEST, "test_address");
    const char *bad[] = {"zhangwei", "a@@b.com", "@b.com", "a@b", "a..b@c.com", ".a@c.com", "a@-b.com",
                         "a@b.c", "a@b.c0m", "a b@c.com", "张@c.com"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        check(crm_clean_email, bad[i], NULL, CRM_CLEAN_INVALID, NULL);
}

static void region_is(const char *raw, const char *province, const char *city, const char *value)
{
    crm_clean_result r = CRM_CLEAN_RESULT_INIT;
    assert_int_equal(crm_clean_region(&r, raw), 0);
    if (!province) {
        assert_null(r.province);
        assert_true(r.flags & CRM_CLEAN_INVALID);
        crm_clean_result_clear(&r);
        return;
    }
    if (!r.province)
        fail_msg("%s: no province (%s)", raw, r.reasons);
    assert_string_equal(r.province, province);
    if (city) {
        if (!r.city)
            fail_msg("%s: no city (%s)", raw, r.reasons);
        assert_string_equal(r.city, city);
    } else {
        assert_null(r.city);
        assert_true(r.flags & CRM_CLEAN_PARTIAL);
    }
    if (value)
        assert_string_equal(r.value, value);
    crm_clean_result_clear(&r);
}

static void regions(void **state)
{
    (void)state;
    const char *shanghai[] = {"上海", "上海市", "沪", "Shanghai", "SHANGHAI", "上海市浦东新区", "shanghai shi"};
    for (size_t i = 0; i < sizeof shanghai / sizeof shanghai[0]; i++)
        region_is(shanghai[i], "310000", "310100", "上海市");
    region_is("浙江杭州", "330000", "330100", "浙江省杭州市");
    region_is("浙江省 杭州市 西湖区", "330000", "330100", "浙江省杭州市");
    region_is("杭州", "330000", "330100", "浙江省杭州市");
    region_is("Hangzhou, Zhejiang", "330000", "330100", NULL);
    region_is("浙江", "330000", NULL, "浙江省");
    region_is("广西南宁", "450000", "450100", NULL);
    region_is("延边", "220000", "222400", NULL);
    region_is("Inner Mongolia", "150000", NULL, NULL);
    region_is("Shaanxi Xi'an", "610000", "610100", "陕西省西安市");
    region_is("火星", NULL, NULL, NULL);
    region_is("Atlantis", NULL, NULL, NULL);
    /* Fuzhou is two cities: not guessed without the province. */
    region_is("Fuzhou, Fujian", "350000", "350100", NULL);
    region_is("Fuzhou", NULL, NULL, NULL);
}

static void id_cards(void **state)
{
    (void)state;
    crm_clean_result r = CRM_CLEAN_RESULT_INIT;
    check(crm_clean_id_card, "11010519491231002X", "11010519491231002X", 0, NULL);
    check(crm_clean_id_card, "11010519491231002x", "11010519491231002X", CRM_CLEAN_CHANGED, "compacted");
    check(crm_clean_id_card, "440306200002295512", "440306200002295512", 0, NULL);
    assert_int_equal(crm_clean_id_card(&r, "31010419900307123X"), 0);
    assert_string_equal(r.province, "310000");
    crm_clean_result_clear(&r);
    check(crm_clean_id_card, "110105194912310021", NULL, CRM_CLEAN_INVALID, "checksum");
    check(crm_clean_id_card, "11010519491331002X", NULL, CRM_CLEAN_INVALID, NULL);
    check(crm_clean_id_card, "110105491231002", NULL, CRM_CLEAN_INVALID, "legacy_15_digits");
    check(crm_clean_id_card, "1101051949123100", NULL, CRM_CLEAN_INVALID, "wrong_length");
    check(crm_clean_id_card, "11010519491231002*", NULL, CRM_CLEAN_INVALID, "unexpected_character");
}

static void vins(void **state)
{
    (void)state;
    check(crm_clean_vin, "1M8GDM9AXKP042788", "1M8GDM9AXKP042788", 0, NULL);
    check(crm_clean_vin, "lsvau218xn2183294", "LSVAU218XN2183294", CRM_CLEAN_CHANGED, "compacted");
    check(crm_clean_vin, "LSVAU218 XN2183294", "LSVAU218XN2183294", 0, NULL);
    check(crm_clean_vin, "LSVAU2180N2183294", NULL, CRM_CLEAN_INVALID, "check_digit");
    check(crm_clean_vin, "1M8GDM9AXKP04278", NULL, CRM_CLEAN_INVALID, "wrong_length");
    check(crm_clean_vin, "IM8GDM9AXKP042788", NULL, CRM_CLEAN_INVALID, "letter_i_o_or_q");
    check(crm_clean_vin, "1M8GDM9AXKP04278#", NULL, CRM_CLEAN_INVALID, "unexpected_character");
}

static void bad_input_is_an_error(void **state)
{
    (void)state;
    crm_clean_result r = CRM_CLEAN_RESULT_INIT;
    assert_int_equal(crm_clean_phone(&r, NULL), CRM_EINVALID);
    assert_string_equal(crm_error_last()->message, "phone: required");
    assert_int_equal(crm_clean_name(&r, "\xFF"), CRM_EINVALID);
    assert_string_equal(crm_error_last()->message, "name: not valid UTF-8");
    char big[CRM_CLEAN_INPUT_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(crm_clean_email(&r, big), CRM_EINVALID);
    assert_non_null(strstr(crm_error_last()->message, "email: longer than"));
    assert_null(r.value);
    char *out = NULL;
    assert_int_equal(crm_clean_json(&out, "fax", "1"), CRM_EINVALID);
    assert_non_null(strstr(crm_error_last()->message, "kind: unknown cleaner 'fax'"));
    assert_int_equal(crm_clean_lead_json(&out, "[1]"), CRM_EINVALID);
    assert_int_equal(crm_clean_lead_json(&out, "{\"phone\": 138}"), CRM_EINVALID);
    assert_string_equal(crm_error_last()->message, "phone: expected a string");
    assert_null(out);
}

static void json_forms(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(crm_clean_json(&out, "phone", "+86 170 1234 5679"), 0);
    assert_string_equal(out, "{\"flags\":[\"changed\",\"virtual\"],\"reasons\":[\"separators_removed\","
                             "\"country_code_removed\",\"virtual_segment\"],\"value\":\"17012345679\"}");
    crm_free(out);
    assert_int_equal(crm_clean_lead_json(&out, "{\"channel\":\"web\",\"phone\":\"+86 139-1234-5670\","
                                               "\"name\":\"张伟先生\",\"email\":\"bad\",\"region\":\"沪\"}"),
                     0);
    assert_non_null(strstr(out, "\"phone\":\"13912345670\""));
    assert_non_null(strstr(out, "\"name\":\"张伟\""));
    assert_null(strstr(out, "\"email\":\"bad\""));
    assert_non_null(strstr(out, "\"province\":\"310000\",\"city\":\"310100\""));
    assert_non_null(strstr(out, "\"salutation\":\"先生\""));
    assert_non_null(strstr(out, "\"quality\":\"suspect\""));
    crm_free(out);
    assert_int_equal(crm_clean_lead_json(&out, "{\"phone\":\"13800138000\"}"), 0);
    assert_non_null(strstr(out, "\"quality\":\"junk\""));
    crm_free(out);
    assert_int_equal(crm_clean_lead_json(&out, "{\"name\":\"李娜\",\"province\":\"浙江\",\"city\":\"杭州\","
                                               "\"email\":\"li@qq.com\"}"),
                     0);
    assert_non_null(strstr(out, "\"city\":\"330100\""));
    assert_non_null(strstr(out, "\"quality\":\"ok\""));
    crm_free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(phones_in_every_form),
        cmocka_unit_test(phones_validated_and_flagged),
        cmocka_unit_test(names),
        cmocka_unit_test(emails),
        cmocka_unit_test(regions),
        cmocka_unit_test(id_cards),
        cmocka_unit_test(vins),
        cmocka_unit_test(bad_input_is_an_error),
        cmocka_unit_test(json_forms),
    };
    return cmocka_run_group_tests_name("clean", tests, NULL, NULL);
}
