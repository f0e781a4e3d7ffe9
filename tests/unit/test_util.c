/* Internal helpers: UTF-8 validation, ISO-8601 times, time-ordered ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "util/util.h"

static void utf8_accepts_valid_text(void **state)
{
    (void)state;
    const char *ok[] = { "", "abc", "张伟", "\xF0\x9F\x9A\x97", "\xEF\xBC\x91", "\xC2\xA0" };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        assert_true(crm__utf8_valid(ok[i], strlen(ok[i])));
}

static void utf8_rejects_malformed_text(void **state)
{
    (void)state;
    const char *bad[] = {
        "\x80",             /* lone continuation */
        "\xC0\xAF",         /* overlong '/' */
        "\xE0\x80\xAF",     /* overlong */
        "\xED\xA0\x80",     /* UTF-16 surrogate */
        "\xF4\x90\x80\x80", /* above U+10FFFF */
        "\xE5\xBC",         /* truncated */
        "a\xFF",            /* never valid */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(crm__utf8_valid(bad[i], strlen(bad[i])));
}

static void time_roundtrips(void **state)
{
    (void)state;
    char iso[CRM_ISO_TIME_LEN + 1];
    crm__time_format(0, iso);
    assert_string_equal(iso, "1970-01-01T00:00:00.000Z");
    crm__time_format(1795487367123LL, iso);
    int64_t back;
    assert_int_equal(crm__time_parse(iso, &back), 0);
    assert_int_equal(back, 1795487367123LL);
    /* A leap day and the last millisecond of a year. */
    assert_int_equal(crm__time_parse("2024-02-29T12:00:00Z", &back), 0);
    crm__time_format(back, iso);
    assert_string_equal(iso, "2024-02-29T12:00:00.000Z");
    assert_int_equal(crm__time_parse("2025-12-31T23:59:59.999Z", &back), 0);
    assert_int_equal(back + 1, 1767225600000LL);
}

static void time_parses_zones_and_dates(void **state)
{
    (void)state;
    int64_t utc, cst, date;
    assert_int_equal(crm__time_parse("2026-11-25T08:00:00Z", &utc), 0);
    assert_int_equal(crm__time_parse("2026-11-25T16:00:00+08:00", &cst), 0);
    assert_int_equal(utc, cst);
    assert_int_equal(crm__time_parse("2026-11-25", &date), 0);
    assert_int_equal(utc - date, 8 * 3600 * 1000);
    assert_int_equal(crm__time_parse("2026-11-25 08:00", &date), 0);
    assert_int_equal(date, utc);
}

static void time_public_api(void **state)
{
    (void)state;
    int64_t t;
    assert_int_equal(crm_time_parse(&t, "2026-01-01T08:00:00+08:00"), 0);
    assert_int_equal(t, 1767225600000LL);
    char text[CRM_TIME_TEXT_SIZE];
    crm_time_format(text, t);
    assert_string_equal(text, "2026-01-01T00:00:00.000Z");
    assert_int_equal(crm_time_parse(&t, "01/02/2026"), CRM_EINVALID);
    assert_non_null(strstr(crm_error_last()->message, "time: expected an ISO-8601"));
}

static void time_rejects_malformed(void **state)
{
    (void)state;
    const char *bad[] = { "", "2026", "2026-13-01", "2026-02-29", "2026-11-31", "2026-11-25T25:00:00Z",
                          "2026-11-25T08:00:00Zjunk", "2026-11-25T08", "26-11-25", "2026-11-25T08:00:00.Z" };
    int64_t t;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(crm__time_parse(bad[i], &t), -1);
}

static void ids_are_uuid_v7_and_ordered(void **state)
{
    (void)state;
    crm_idgen g;
    crm__idgen_init(&g);
    char prev[CRM_ID_LEN + 1] = "", id[CRM_ID_LEN + 1];
    /* Many ids in the same millisecond, then the clock moves on: each id
     * sorts after the one before. */
    for (int i = 0; i < 10000; i++) {
        crm__idgen_next(&g, 1795487367000LL + i / 5000, id);
        assert_true(crm__id_valid(id));
        assert_int_equal(id[14], '7');                     /* version */
        assert_true(strchr("89ab", id[19]) != NULL);       /* variant */
        assert_true(strcmp(prev, id) < 0);
        memcpy(prev, id, sizeof id);
    }
    /* The first 48 bits are the millisecond. */
    crm__idgen_init(&g);
    crm__idgen_next(&g, 0x0123456789ABLL, id);
    assert_memory_equal(id, "01234567-89ab", 13);
}

static void ids_validate(void **state)
{
    (void)state;
    assert_true(crm__id_valid("01a21089-4eb3-712d-b861-4886445353c5"));
    assert_false(crm__id_valid("01a21089-4eb3-712d-b861-4886445353c"));
    assert_false(crm__id_valid("01a21089x4eb3-712d-b861-4886445353c5"));
    assert_false(crm__id_valid("01a21089-4eb3-712d-b861-4886445353cg"));
    assert_false(crm__id_valid(NULL));
}

static void errors_are_per_call_and_named(void **state)
{
    (void)state;
    crm_error_clear();
    assert_int_equal(crm_error_last()->code, CRM_OK);
    assert_non_null(crm_error_last()->message);
    assert_int_equal(crm_error_set(CRM_EINVALID, "lead.%s: bad", "phone"), CRM_EINVALID);
    assert_int_equal(crm_error_last()->code, CRM_EINVALID);
    assert_string_equal(crm_error_last()->message, "lead.phone: bad");
    assert_string_equal(crm_error_name(CRM_ENOTFOUND), "not found");
    assert_string_equal(crm_error_name(12345), "unknown error");
    /* An overlong message is cut, not overflowed. */
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    crm_error_set(CRM_EINVALID, "%s", big);
    assert_int_equal(strlen(crm_error_last()->message), 511);
    /* The previous message may be an argument of the next (it overlapped
     * the buffer being written once; valgrind caught it). */
    crm_error_set(CRM_ESTORAGE, "inner");
    crm_error_set(CRM_ESTORAGE, "outer: %s", crm_error_last()->message);
    assert_string_equal(crm_error_last()->message, "outer: inner");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_accepts_valid_text),
        cmocka_unit_test(utf8_rejects_malformed_text),
        cmocka_unit_test(time_roundtrips),
        cmocka_unit_test(time_parses_zones_and_dates),
        cmocka_unit_test(time_public_api),
        cmocka_unit_test(time_rejects_malformed),
        cmocka_unit_test(ids_are_uuid_v7_and_ordered),
        cmocka_unit_test(ids_validate),
        cmocka_unit_test(errors_are_per_call_and_named),
    };
    return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
