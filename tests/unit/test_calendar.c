/* Business calendars: due times and elapsed business time checked against
 * hand-computed cases (weekend, the 2025 National Day block with its
 * make-up Sunday and Saturday, New Year 2026 with its make-up Sunday
 * across the year boundary, pauses), dealer calendars, and the JSON paths
 * of bad documents. The default calendar is UTC+8, Mon-Fri 09:00-18:00. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "helpers.h"

static int64_t T(const char *text)
{
    int64_t t;
    assert_int_equal(crm_time_parse(&t, text), 0);
    return t;
}

static int setup_default(void **state)
{
    crm_calendar *cal;
    if (crm_calendar_new(&cal, NULL) != 0)
        return -1;
    *state = cal;
    return 0;
}

static int teardown_cal(void **state)
{
    crm_calendar_free(*state);
    return 0;
}

static int64_t due(const crm_calendar *cal, const char *start, int64_t minutes)
{
    int64_t out = 0;
    assert_int_equal(crm_calendar_due(&out, cal, T(start), minutes, NULL, 0), 0);
    return out;
}

static void due_within_one_day(void **state)
{
    assert_int_equal(due(*state, "2025-11-17T09:00+08:00", 60), T("2025-11-17T10:00+08:00"));
    /* Before opening, the clock starts at 09:00. */
    assert_int_equal(due(*state, "2025-11-17T07:30+08:00", 30), T("2025-11-17T09:30+08:00"));
    /* Landing on closing time exactly is closing time, not the next morning. */
    assert_int_equal(due(*state, "2025-11-14T17:00+08:00", 60), T("2025-11-14T18:00+08:00"));
    /* Zero minutes: due when it starts, even outside working hours. */
    assert_int_equal(due(*state, "2025-11-15T12:00+08:00", 0), T("2025-11-15T12:00+08:00"));
}

static void due_across_a_weekend(void **state)
{
    /* Friday 17:00 + 120 min: 60 on Friday, Saturday and Sunday closed, 60 on Monday. */
    assert_int_equal(due(*state, "2025-11-14T17:00+08:00", 120), T("2025-11-17T10:00+08:00"));
    /* Started on Saturday: the clock starts on Monday 09:00. */
    assert_int_equal(due(*state, "2025-11-15T10:00+08:00", 90), T("2025-11-17T10:30+08:00"));
}

static void due_across_national_day_2025(void **state)
{
    /* Tue 30 Sep 17:00 + 120: 60 that day, 1-8 October closed, 60 on Thu 9 October. */
    assert_int_equal(due(*state, "2025-09-30T17:00+08:00", 120), T("2025-10-09T10:00+08:00"));
    /* Fri 26 Sep 17:00 + 120: 60 on Friday, Saturday closed, Sunday 28 Sep is a make-up workday. */
    assert_int_equal(due(*state, "2025-09-26T17:00+08:00", 120), T("2025-09-28T10:00+08:00"));
    /* Fri 10 Oct 17:00 + 600: 60 on Friday, Saturday 11 Oct is a make-up workday (540). */
    assert_int_equal(due(*state, "2025-10-10T17:00+08:00", 600), T("2025-10-11T18:00+08:00"));
}

static void due_across_the_year_boundary(void **state)
{
    /* Wed 31 Dec 2025 17:00 + 120: 60 that day, 1-3 January 2026 closed
     * (元旦), Sunday 4 January is a make-up workday. */
    assert_int_equal(due(*state, "2025-12-31T17:00+08:00", 120), T("2026-01-04T10:00+08:00"));
    /* 17:00 local on 31 Dec is 09:00 UTC the same day; 16:30 UTC is already 1 January locally. */
    assert_int_equal(due(*state, "2025-12-31T16:30:00Z", 60), T("2026-01-04T10:00+08:00"));
}

static void due_with_pauses(void **state)
{
    crm_calendar *cal = *state;
    int64_t out;
    /* Mon 09:00 + 480 with a pause 11:00-14:00: 120 before, 240 after
     * (14-18), the last 120 on Tuesday. */
    crm_interval p = { T("2025-11-17T11:00+08:00"), T("2025-11-17T14:00+08:00") };
    assert_int_equal(crm_calendar_due(&out, cal, T("2025-11-17T09:00+08:00"), 480, &p, 1), 0);
    assert_int_equal(out, T("2025-11-18T11:00+08:00"));
    /* A pause that is still open stops the clock. */
    crm_interval open = { T("2025-11-17T11:00+08:00"), 0 };
    assert_int_equal(crm_calendar_due(&out, cal, T("2025-11-17T09:00+08:00"), 480, &open, 1), 0);
    assert_int_equal(out, CRM_TIME_NEVER);
    /* ... unless the time is due before the pause starts. */
    assert_int_equal(crm_calendar_due(&out, cal, T("2025-11-17T09:00+08:00"), 60, &open, 1), 0);
    assert_int_equal(out, T("2025-11-17T10:00+08:00"));
    /* A pause over closed time changes nothing; one before the start neither. */
    crm_interval two[] = { { T("2025-11-10T09:00+08:00"), T("2025-11-12T09:00+08:00") },
                           { T("2025-11-15T09:00+08:00"), T("2025-11-16T20:00+08:00") } };
    assert_int_equal(crm_calendar_due(&out, cal, T("2025-11-14T17:00+08:00"), 120, two, 2), 0);
    assert_int_equal(out, T("2025-11-17T10:00+08:00"));
    /* A pause that began before the start and ends later moves the start. */
    crm_interval before = { T("2025-11-17T08:00+08:00"), T("2025-11-17T12:00+08:00") };
    assert_int_equal(crm_calendar_due(&out, cal, T("2025-11-17T09:00+08:00"), 60, &before, 1), 0);
    assert_int_equal(out, T("2025-11-17T13:00+08:00"));
    /* Pauses out of order are refused. */
    crm_interval bad[] = { two[1], two[0] };
    assert_crm_error(crm_calendar_due(&out, cal, 0, 10, bad, 2), CRM_EINVALID, "pauses[1]: overlaps pauses[0]");
    assert_crm_error(crm_calendar_due(&out, cal, 0, -1, NULL, 0), CRM_EINVALID, "minutes");
}

static void elapsed_business_time(void **state)
{
    crm_calendar *cal = *state;
    int64_t ms;
    /* Fri 26 Sep 17:00 to Thu 9 Oct 10:00: 60 + Sun 28 (540) + Mon 29 (540)
     * + Tue 30 (540) + 60 = 1740 minutes. */
    assert_int_equal(crm_calendar_elapsed(&ms, cal, T("2025-09-26T17:00+08:00"), T("2025-10-09T10:00+08:00"), NULL, 0), 0);
    assert_int_equal(ms, 1740 * 60000LL);
    /* The same with Monday 29 paused all day and an open pause from Thu 09:30. */
    crm_interval p[] = { { T("2025-09-29T00:00+08:00"), T("2025-09-30T00:00+08:00") },
                         { T("2025-10-09T09:30+08:00"), 0 } };
    assert_int_equal(crm_calendar_elapsed(&ms, cal, T("2025-09-26T17:00+08:00"), T("2025-10-09T10:00+08:00"), p, 2), 0);
    assert_int_equal(ms, (1740 - 540 - 30) * 60000LL);
    /* Backwards is zero. */
    assert_int_equal(crm_calendar_elapsed(&ms, cal, T("2025-10-09T10:00+08:00"), T("2025-09-26T17:00+08:00"), NULL, 0), 0);
    assert_int_equal(ms, 0);
    /* Due and elapsed agree. */
    int64_t d = due(cal, "2025-12-30T11:11+08:00", 1234);
    assert_int_equal(crm_calendar_elapsed(&ms, cal, T("2025-12-30T11:11+08:00"), d, NULL, 0), 0);
    assert_int_equal(ms, 1234 * 60000LL);
}

static void workday_reasons(void **state)
{
    crm_calendar *cal = *state;
    int working;
    const char *why;
    assert_int_equal(crm_calendar_is_workday(&working, &why, cal, T("2025-10-01T12:00+08:00")), 0);
    assert_int_equal(working, 0);
    assert_string_equal(why, "national holiday");
    assert_int_equal(crm_calendar_is_workday(&working, &why, cal, T("2025-10-11T12:00+08:00")), 0);
    assert_int_equal(working, 1);
    assert_string_equal(why, "make-up workday");
    assert_int_equal(crm_calendar_is_workday(&working, &why, cal, T("2025-10-12T12:00+08:00")), 0);
    assert_int_equal(working, 0);
    assert_string_equal(why, "weekend");
    assert_int_equal(crm_calendar_is_workday(&working, &why, cal, T("2025-10-13T12:00+08:00")), 0);
    assert_int_equal(working, 1);
    assert_string_equal(why, "weekday");
    int first, last;
    crm_calendar_cn_years(&first, &last);
    assert_true(first <= 2024 && last >= 2026);
}

static void dealer_calendar(void **state)
{
    (void)state;
    crm_calendar *cal;
    /* A showroom open Saturday mornings, two spans a day, closed on its own
     * anniversary (a Wednesday), open on one extra Sunday, no national days. */
    assert_int_equal(crm_calendar_new(&cal, "{\"national_holidays\":\"none\",\"hours\":{"
                                            "\"mon\":[\"09:00-12:00\",\"13:00-18:00\"],\"tue\":[\"09:00-12:00\",\"13:00-18:00\"],"
                                            "\"wed\":[\"09:00-12:00\",\"13:00-18:00\"],\"thu\":[\"09:00-12:00\",\"13:00-18:00\"],"
                                            "\"fri\":[\"09:00-12:00\",\"13:00-18:00\"],\"sat\":[\"09:00-12:00\"]},"
                                            "\"workday_hours\":[\"10:00-16:00\"],"
                                            "\"holidays\":[\"2025-11-19\"],\"workdays\":[\"2025-11-23\"]}"),
                     0);
    /* Tue 18 Nov 11:00 + 600: 60 (11-12) + 300 (13-18) = 360; Wed closed;
     * Thu 240 more: 09-12 (180) + 13:00-14:00 (60). */
    assert_int_equal(due(cal, "2025-11-18T11:00+08:00", 600), T("2025-11-20T14:00+08:00"));
    /* Fri 21 Nov 17:00 + 300: 60 Fri, Sat 180 (09-12), Sun 23 is an extra day 10:00-16:00: 60. */
    assert_int_equal(due(cal, "2025-11-21T17:00+08:00", 300), T("2025-11-23T11:00+08:00"));
    /* National Day is an ordinary Wednesday here. */
    int working;
    assert_int_equal(crm_calendar_is_workday(&working, NULL, cal, T("2025-10-01T12:00+08:00")), 0);
    assert_int_equal(working, 1);
    crm_calendar_free(cal);

    /* Another time zone: UTC, nine to five. */
    assert_int_equal(crm_calendar_new(&cal, "{\"utc_offset_minutes\":0,\"national_holidays\":\"none\","
                                            "\"hours\":{\"mon\":[\"09:00-17:00\"]}}"),
                     0);
    assert_int_equal(due(cal, "2025-11-17T16:00:00Z", 120), T("2025-11-24T10:00:00Z"));
    crm_calendar_free(cal);

    /* A dealer's own day wins over a national one: open on 2 October. */
    assert_int_equal(crm_calendar_new(&cal, "{\"workdays\":[\"2025-10-02\"]}"), 0);
    assert_int_equal(due(cal, "2025-09-30T17:00+08:00", 120), T("2025-10-02T10:00+08:00"));
    crm_calendar_free(cal);
}

static void bad_documents_name_the_path(void **state)
{
    (void)state;
    static const struct {
        const char *json, *needle;
    } cases[] = {
        { "[", "calendar: not valid JSON" },
        { "[]", "calendar: expected an object" },
        { "{\"hourz\":{}}", "calendar.hourz: unknown key" },
        { "{\"utc_offset_minutes\":\"+8\"}", "calendar.utc_offset_minutes: expected an integer" },
        { "{\"national_holidays\":\"us\"}", "calendar.national_holidays: expected \"cn\" or \"none\"" },
        { "{\"hours\":{\"sat\":[\"9-12\"]}}", "calendar.hours.sat[0]: expected \"HH:MM-HH:MM\"" },
        { "{\"hours\":{\"mon\":[\"09:00-12:00\",\"11:00-18:00\"]}}", "calendar.hours.mon[1]: must start after" },
        { "{\"hours\":{\"mon\":[\"18:00-09:00\"]}}", "calendar.hours.mon[0]: the end must be after the start" },
        { "{\"hours\":{\"mon\":[\"09:00-24:30\"]}}", "calendar.hours.mon[0]: expected" },
        { "{\"hours\":{\"monday\":[]}}", "calendar.hours.monday: unknown weekday" },
        { "{\"hours\":{},\"workday_hours\":[]}", "calendar.hours: no working hours on any day" },
        { "{\"holidays\":[\"2025-02-30\"]}", "calendar.holidays[0]: expected a date" },
        { "{\"workdays\":\"2025-01-01\"}", "calendar.workdays: expected an array" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        crm_calendar *cal = (crm_calendar *)1;
        assert_crm_error(crm_calendar_new(&cal, cases[i].json), CRM_EINVALID, cases[i].needle);
        assert_null(cal);
    }
    crm_calendar_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(due_within_one_day, setup_default, teardown_cal),
        cmocka_unit_test_setup_teardown(due_across_a_weekend, setup_default, teardown_cal),
        cmocka_unit_test_setup_teardown(due_across_national_day_2025, setup_default, teardown_cal),
        cmocka_unit_test_setup_teardown(due_across_the_year_boundary, setup_default, teardown_cal),
        cmocka_unit_test_setup_teardown(due_with_pauses, setup_default, teardown_cal),
        cmocka_unit_test_setup_teardown(elapsed_business_time, setup_default, teardown_cal),
        cmocka_unit_test_setup_teardown(workday_reasons, setup_default, teardown_cal),
        cmocka_unit_test(dealer_calendar),
        cmocka_unit_test(bad_documents_name_the_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
