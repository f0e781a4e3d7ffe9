/*
 * crm — terminal text: display width of UTF-8, table cells, times.
 */
#include "cli.h"

#include <string.h>
#include <time.h>

/*
 * Decode one UTF-8 sequence at s (n bytes left). Sets *len to the bytes
 * used. Invalid or truncated sequences decode as U+FFFD over one byte so
 * that output never stops in the middle of text.
 */
static uint32_t utf8_decode(const unsigned char *s, size_t n, size_t *len)
{
    uint32_t cp;
    size_t need, k;

    if (s[0] < 0x80) {
        *len = 1;
        return s[0];
    }
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        need = 1;
        cp = s[0] & 0x1Fu;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        need = 2;
        cp = s[0] & 0x0Fu;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        need = 3;
        cp = s[0] & 0x07u;
    } else {
        *len = 1;
        return 0xFFFD;
    }
    if (n < need + 1) {
        *len = 1;
        return 0xFFFD;
    }
    for (k = 1; k <= need; k++) {
        if ((s[k] & 0xC0) != 0x80) {
            *len = 1;
            return 0xFFFD;
        }
        cp = (cp << 6) | (s[k] & 0x3Fu);
    }
    /* Overlongs, surrogates and values past U+10FFFF are invalid. */
    if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
        *len = 1;
        return 0xFFFD;
    }
    *len = need + 1;
    return cp;
}

/* A range of code points, inclusive. */
typedef struct cp_range {
    uint32_t lo, hi;
} cp_range;

/* East Asian Wide and Fullwidth code points (Unicode EastAsianWidth W/F), the common blocks. */
static const cp_range wide_ranges[] = {
    { 0x1100, 0x115F },   /* Hangul Jamo initials */
    { 0x231A, 0x231B },   { 0x2329, 0x232A }, { 0x23E9, 0x23EC }, { 0x23F0, 0x23F0 },
    { 0x23F3, 0x23F3 },   { 0x25FD, 0x25FE }, { 0x2614, 0x2615 }, { 0x2648, 0x2653 },
    { 0x267F, 0x267F },   { 0x2693, 0x2693 }, { 0x26A1, 0x26A1 }, { 0x26AA, 0x26AB },
    { 0x26BD, 0x26BE },   { 0x26C4, 0x26C5 }, { 0x26CE, 0x26CE }, { 0x26D4, 0x26D4 },
    { 0x26EA, 0x26EA },   { 0x26F2, 0x26F3 }, { 0x26F5, 0x26F5 }, { 0x26FA, 0x26FA },
    { 0x26FD, 0x26FD },   { 0x2705, 0x2705 }, { 0x270A, 0x270B }, { 0x2728, 0x2728 },
    { 0x274C, 0x274C },   { 0x274E, 0x274E }, { 0x2753, 0x2755 }, { 0x2757, 0x2757 },
    { 0x2795, 0x2797 },   { 0x27B0, 0x27B0 }, { 0x27BF, 0x27BF }, { 0x2B1B, 0x2B1C },
    { 0x2B50, 0x2B50 },   { 0x2B55, 0x2B55 },
    { 0x2E80, 0x303E },   /* CJK radicals, Kangxi, CJK symbols and punctuation */
    { 0x3041, 0x33FF },   /* kana, bopomofo, Hangul compat, CJK compat */
    { 0x3400, 0x4DBF },   /* CJK extension A */
    { 0x4E00, 0x9FFF },   /* CJK unified ideographs */
    { 0xA000, 0xA4CF },   /* Yi */
    { 0xA960, 0xA97F },   /* Hangul Jamo extended A */
    { 0xAC00, 0xD7A3 },   /* Hangul syllables */
    { 0xF900, 0xFAFF },   /* CJK compatibility ideographs */
    { 0xFE10, 0xFE19 },   /* vertical forms */
    { 0xFE30, 0xFE6F },   /* CJK compatibility forms, small forms */
    { 0xFF00, 0xFF60 },   /* fullwidth forms */
    { 0xFFE0, 0xFFE6 },
    { 0x16FE0, 0x16FE4 }, { 0x17000, 0x18AFF }, { 0x1B000, 0x1B2FF },
    { 0x1F004, 0x1F004 }, { 0x1F0CF, 0x1F0CF }, { 0x1F18E, 0x1F18E }, { 0x1F191, 0x1F19A },
    { 0x1F200, 0x1F202 }, { 0x1F210, 0x1F23B }, { 0x1F240, 0x1F248 }, { 0x1F250, 0x1F251 },
    { 0x1F260, 0x1F265 }, { 0x1F300, 0x1F320 }, { 0x1F32D, 0x1F335 }, { 0x1F337, 0x1F37C },
    { 0x1F37E, 0x1F393 }, { 0x1F3A0, 0x1F3CA }, { 0x1F3CF, 0x1F3D3 }, { 0x1F3E0, 0x1F3F0 },
    { 0x1F3F4, 0x1F3F4 }, { 0x1F3F8, 0x1F43E }, { 0x1F440, 0x1F440 }, { 0x1F442, 0x1F4FC },
    { 0x1F4FF, 0x1F53D }, { 0x1F54B, 0x1F54E }, { 0x1F550, 0x1F567 }, { 0x1F57A, 0x1F57A },
    { 0x1F595, 0x1F596 }, { 0x1F5A4, 0x1F5A4 }, { 0x1F5FB, 0x1F64F }, { 0x1F680, 0x1F6C5 },
    { 0x1F6CC, 0x1F6CC }, { 0x1F6D0, 0x1F6D2 }, { 0x1F6D5, 0x1F6D7 }, { 0x1F6EB, 0x1F6EC },
    { 0x1F6F4, 0x1F6FC }, { 0x1F7E0, 0x1F7EB }, { 0x1F90C, 0x1F93A }, { 0x1F93C, 0x1F945 },
    { 0x1F947, 0x1F9FF }, { 0x1FA70, 0x1FAFF },
    { 0x20000, 0x2FFFD }, /* CJK extensions B.. */
    { 0x30000, 0x3FFFD },
};

/* Zero-width code points: combining marks, joiners, variation selectors. */
static const cp_range zero_ranges[] = {
    { 0x0300, 0x036F }, { 0x0483, 0x0489 }, { 0x0591, 0x05BD }, { 0x0610, 0x061A },
    { 0x064B, 0x065F }, { 0x200B, 0x200F }, { 0x202A, 0x202E }, { 0x2060, 0x2064 },
    { 0x20D0, 0x20FF }, { 0x302A, 0x302D }, { 0x3099, 0x309A }, { 0xFE00, 0xFE0F },
    { 0xFE20, 0xFE2F }, { 0xFEFF, 0xFEFF }, { 0xE0100, 0xE01EF },
};

static int in_ranges(uint32_t cp, const cp_range *r, size_t n)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < r[mid].lo)
            hi = mid;
        else if (cp > r[mid].hi)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

/* Columns a code point takes; control characters count 1 (shown as a space). */
static size_t cp_width(uint32_t cp)
{
    if (cp < 0x300)
        return 1;
    if (in_ranges(cp, zero_ranges, sizeof zero_ranges / sizeof zero_ranges[0]))
        return 0;
    if (in_ranges(cp, wide_ranges, sizeof wide_ranges / sizeof wide_ranges[0]))
        return 2;
    return 1;
}

static int cp_is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp < 0xA0);
}

size_t text_width(const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p), w = 0, len;

    while (n > 0) {
        uint32_t cp = utf8_decode(p, n, &len);
        w += cp_width(cp);
        p += len;
        n -= len;
    }
    return w;
}

static void put_spaces(FILE *f, size_t n)
{
    while (n-- > 0)
        fputc(' ', f);
}

/* Write one decoded character: controls become a space, bad bytes U+FFFD. */
static void put_char(FILE *f, const unsigned char *p, size_t len, uint32_t cp)
{
    if (cp_is_control(cp))
        fputc(' ', f);
    else if (cp == 0xFFFD && len == 1 && p[0] >= 0x80)
        fputs("\xEF\xBF\xBD", f);
    else
        fwrite(p, 1, len, f);
}

void text_put_cell(FILE *f, const char *s, size_t width, int pad)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p), used = 0, len;
    size_t total = text_width((const char *)p);

    if (total <= width) {
        while (n > 0) {
            uint32_t cp = utf8_decode(p, n, &len);
            put_char(f, p, len, cp);
            p += len;
            n -= len;
        }
        if (pad)
            put_spaces(f, width - total);
        return;
    }
    if (width == 0)
        return;
    /* Too wide: keep whole characters that fit in width - 1, then the mark. */
    while (n > 0) {
        uint32_t cp = utf8_decode(p, n, &len);
        size_t cw = cp_width(cp);
        if (used + cw > width - 1)
            break;
        put_char(f, p, len, cp);
        used += cw;
        p += len;
        n -= len;
    }
    fputc('~', f);
    used++;
    if (pad)
        put_spaces(f, width - used);
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void text_format_time(char *buf, size_t size, int64_t unix_ms)
{
    int64_t secs = unix_ms >= 0 ? unix_ms / 1000 : -((-unix_ms + 999) / 1000);
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t rem = secs - days * 86400, y;
    unsigned m, d;

    civil_from_days(days, &y, &m, &d);
    snprintf(buf, size, "%04lld-%02u-%02u %02d:%02d:%02d", (long long)y, m, d,
             (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
}

/* Read exactly n decimal digits. */
static int read_digits(const char **s, int n, int *out)
{
    int v = 0;

    for (int k = 0; k < n; k++) {
        char c = (*s)[k];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *s += n;
    *out = v;
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : dm[m - 1];
}

int text_parse_time(int64_t *out, int *date_only, const char *s)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, off_min = 0;

    if (read_digits(&s, 4, &y) || *s++ != '-' || read_digits(&s, 2, &mo) || *s++ != '-' ||
        read_digits(&s, 2, &d))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return -1;
    *date_only = 1;
    if (*s == 'T' || *s == 't' || *s == ' ') {
        s++;
        *date_only = 0;
        if (read_digits(&s, 2, &h) || *s++ != ':' || read_digits(&s, 2, &mi))
            return -1;
        if (*s == ':') {
            s++;
            if (read_digits(&s, 2, &sec))
                return -1;
            if (*s == '.' || *s == ',') {
                int scale = 100, any = 0;
                s++;
                while (*s >= '0' && *s <= '9') {
                    ms += (*s - '0') * scale;
                    scale /= 10;
                    s++;
                    any = 1;
                }
                if (!any)
                    return -1;
            }
        }
        if (h > 23 || mi > 59 || sec > 59)
            return -1;
        if (*s == 'Z' || *s == 'z') {
            s++;
        } else if (*s == '+' || *s == '-') {
            int sign = *s == '-' ? -1 : 1, oh, om = 0;
            s++;
            if (read_digits(&s, 2, &oh))
                return -1;
            if (*s == ':')
                s++;
            if (*s != '\0' && read_digits(&s, 2, &om))
                return -1;
            if (oh > 23 || om > 59)
                return -1;
            off_min = sign * (oh * 60 + om);
        }
    }
    if (*s != '\0')
        return -1;
    *out = ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec) -
            (int64_t)off_min * 60) * 1000 + ms;
    return 0;
}

double text_monotonic(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
