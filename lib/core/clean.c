/*
 * Cleaning: pure functions that normalise and validate raw lead fields.
 * Unicode work (NFKC, Han to pinyin) is ICU's; the number rules are ours.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utrans.h>

#include "core/clean_internal.h"
#include "core/region_table.h"
#include "util/util.h"

void crm_clean_result_clear(crm_clean_result *r)
{
    if (!r)
        return;
    free(r->value);
    free(r->reasons);
    free(r->salutation);
    free(r->key);
    free(r->province);
    free(r->city);
    *r = (crm_clean_result)CRM_CLEAN_RESULT_INIT;
}

/* ---- the frame every cleaner runs in --------------------------------- */

typedef struct cleaning {
    crm_clean_result *r;
    crm_buf reasons;
    const char *raw;
} cleaning;

static void reason(cleaning *c, const char *code)
{
    if (c->reasons.len)
        crm__buf_puts(&c->reasons, ",");
    crm__buf_puts(&c->reasons, code);
}

static void reject(cleaning *c, unsigned flag, const char *code)
{
    c->r->flags |= flag;
    reason(c, code);
    free(c->r->value);
    c->r->value = NULL;
}

/* UTF-8 to UTF-16 and back through ICU; NULL on failure. */
static UChar *to_u16(const char *s, int32_t *len)
{
    UErrorCode err = U_ZERO_ERROR;
    int32_t n = 0;
    u_strFromUTF8(NULL, 0, &n, s, -1, &err);
    if (err != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(err))
        return NULL;
    /* Room to grow: transliteration makes the text longer (张 -> zhang). */
    int32_t cap = n * 8 + 16;
    UChar *u = malloc((size_t)cap * sizeof *u);
    if (!u)
        return NULL;
    err = U_ZERO_ERROR;
    u_strFromUTF8(u, cap, len, s, -1, &err);
    if (U_FAILURE(err)) {
        free(u);
        return NULL;
    }
    *len = n;
    return u;
}

static char *to_u8(const UChar *u, int32_t len)
{
    UErrorCode err = U_ZERO_ERROR;
    int32_t n = 0;
    u_strToUTF8(NULL, 0, &n, u, len, &err);
    if (err != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(err))
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    err = U_ZERO_ERROR;
    u_strToUTF8(s, n + 1, NULL, u, len, &err);
    if (U_FAILURE(err)) {
        free(s);
        return NULL;
    }
    return s;
}

char *crm__nfkc(const char *s)
{
    UErrorCode err = U_ZERO_ERROR;
    const UNormalizer2 *nfkc = unorm2_getNFKCInstance(&err);
    if (U_FAILURE(err))
        return NULL;
    int32_t len = 0;
    UChar *u = to_u16(s, &len);
    if (!u)
        return NULL;
    int32_t cap = len * 4 + 16;
    UChar *out = malloc((size_t)cap * sizeof *out);
    char *res = NULL;
    if (out) {
        int32_t n = unorm2_normalize(nfkc, u, len, out, cap, &err);
        if (U_SUCCESS(err))
            res = to_u8(out, n);
        free(out);
    }
    free(u);
    return res;
}

/* The transliterator is costly to open (it compiles rules), so each thread
 * opens one on first use and keeps it; it is not shared between threads. */
static _Thread_local UTransliterator *latin_trans;

char *crm__to_latin(const char *s)
{
    UErrorCode err = U_ZERO_ERROR;
    if (!latin_trans) {
        static const char id[] = "Han-Latin; Latin-ASCII; Lower";
        UChar uid[sizeof id];
        u_uastrcpy(uid, id);
        latin_trans = utrans_openU(uid, -1, UTRANS_FORWARD, NULL, 0, NULL, &err);
        if (U_FAILURE(err)) {
            latin_trans = NULL;
            return NULL;
        }
    }
    int32_t len = 0;
    UChar *u = to_u16(s, &len);
    if (!u)
        return NULL;
    int32_t cap = len * 8 + 16, limit = len;
    utrans_transUChars(latin_trans, u, &len, cap, 0, &limit, &err);
    char *res = U_SUCCESS(err) ? to_u8(u, len) : NULL;
    free(u);
    return res;
}

/* Trim ASCII white space in place (NFKC has already made U+3000 a space). */
static char *trim(char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/*
 * Check the input, clear the result, and give back the NFKC form of raw,
 * trimmed (owned by the caller through *norm_owner). Returns 0, or an error.
 */
static int begin(cleaning *c, crm_clean_result *r, const char *raw, const char *field,
                 char **norm_owner, char **norm)
{
    if (!r)
        return crm_error_set(CRM_EINVALID, "%s: result is NULL", field);
    crm_clean_result_clear(r);
    c->r = r;
    c->reasons = (crm_buf)CRM_BUF_INIT;
    c->raw = raw;
    if (!raw)
        return crm_error_set(CRM_EINVALID, "%s: required", field);
    size_t len = strlen(raw);
    if (len > CRM_CLEAN_INPUT_MAX)
        return crm_error_set(CRM_EINVALID, "%s: longer than %d bytes", field, CRM_CLEAN_INPUT_MAX);
    if (!crm__utf8_valid(raw, len))
        return crm_error_set(CRM_EINVALID, "%s: not valid UTF-8", field);
    /* NFKC leaves ASCII as it is: skip ICU for the common case. */
    bool ascii = true;
    for (size_t i = 0; i < len && ascii; i++)
        ascii = (unsigned char)raw[i] < 0x80;
    *norm_owner = ascii ? crm__strdup(raw) : crm__nfkc(raw);
    if (!*norm_owner)
        return crm__error_nomem();
    char *t = trim(*norm_owner);
    if (strcmp(t, raw) != 0) {
        /* Say what kind of change it was: width/compatibility forms or
         * only surrounding space. */
        char *rt = crm__strdup(raw);
        if (!rt)
            return crm__error_nomem();
        if (strlen(trim(rt)) != len)
            reason(c, "trimmed");
        if (strcmp(trim(rt), t) != 0)
            reason(c, "nfkc");
        free(rt);
    }
    *norm = t;
    return 0;
}

/* Set the value (a copy of v, or NULL), the CHANGED flag and the reasons. */
static int finish(cleaning *c, const char *v, int rc)
{
    crm_clean_result *r = c->r;
    if (rc == 0 && v && !(r->flags & (CRM_CLEAN_INVALID | CRM_CLEAN_PLACEHOLDER | CRM_CLEAN_EMPTY))) {
        r->value = crm__strdup(v);
        if (!r->value)
            rc = crm__error_nomem();
    }
    if (rc == 0 && (!r->value || strcmp(r->value, c->raw) != 0))
        r->flags |= CRM_CLEAN_CHANGED;
    if (rc == 0) {
        r->reasons = c->reasons.data ? c->reasons.data : crm__strdup("");
        c->reasons = (crm_buf)CRM_BUF_INIT;
        if (!r->reasons || c->reasons.failed)
            rc = crm__error_nomem();
    }
    crm__buf_free(&c->reasons);
    if (rc != 0)
        crm_clean_result_clear(r);
    return rc;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return n > 0;
}

/* ---- phone ------------------------------------------------------------ */

/* Allocated mobile segments (the first three digits), as of 2024. 140-144
 * are 13-digit IoT numbers, the rest of the gaps are unallocated. */
static bool mobile_segment_valid(const char *d)
{
    int seg = (d[1] - '0') * 10 + (d[2] - '0');
    switch (seg / 10) {
    case 3: case 8:
        return true;
    case 4:
        return seg >= 45;
    case 5:
        return seg != 54;
    case 6:
        return seg == 62 || seg == 65 || seg == 66 || seg == 67;
    case 7:
        return seg <= 78;
    case 9:
        return seg != 94;
    default:
        return false;
    }
}

static bool mobile_is_virtual(const char *d)
{
    return strncmp(d, "170", 3) == 0 || strncmp(d, "171", 3) == 0 || strncmp(d, "162", 3) == 0 ||
           strncmp(d, "165", 3) == 0 || strncmp(d, "167", 3) == 0;
}

/* Numbers people type when a form insists: the China Mobile service
 * number, a run of one digit, a counting sequence. */
static bool mobile_is_test(const char *d)
{
    if (strcmp(d, "13800138000") == 0 || strstr(d, "12345678") || strstr(d, "87654321"))
        return true;
    for (int i = 4; i < 11; i++)
        if (d[i] != d[3])
            return false;
    return true;
}

int crm_clean_phone(crm_clean_result *r, const char *raw)
{
    cleaning c;
    char *own = NULL, *s = NULL;
    int rc = begin(&c, r, raw, "phone", &own, &s);
    if (rc != 0) {
        free(own);
        crm__buf_free(&c.reasons);
        return rc;
    }
    char d[64];
    size_t n = 0;
    bool plus = false, separators = false;
    for (const char *p = s; *p; p++) {
        if (isdigit((unsigned char)*p)) {
            if (n + 1 >= sizeof d) {
                reject(&c, CRM_CLEAN_INVALID, "too_long");
                goto done;
            }
            d[n++] = *p;
        } else if (*p == '+' && n == 0 && !plus) {
            plus = true;
        } else if (strchr(" -.()/", *p)) {
            separators = true;
        } else {
            reject(&c, CRM_CLEAN_INVALID, "unexpected_character");
            goto done;
        }
    }
    d[n] = '\0';
    if (n == 0) {
        reject(&c, CRM_CLEAN_EMPTY, "empty");
        goto done;
    }
    if (separators)
        reason(&c, "separators_removed");
    char *v = d;
    bool cc = false;
    if (plus) {
        if (strncmp(v, "86", 2) != 0) {
            reject(&c, CRM_CLEAN_INVALID, "not_chinese");
            goto done;
        }
        v += 2, cc = true;
    } else if (strncmp(v, "0086", 4) == 0) {
        v += 4, cc = true;
    } else if (n == 13 && strncmp(v, "861", 3) == 0) {
        v += 2, cc = true;
    }
    if (cc)
        reason(&c, "country_code_removed");
    size_t len = strlen(v);
    char buf[64];
    if (cc && v[0] != '0' && !(v[0] == '1' && len == 11) && len >= 9 && len <= 11) {
        /* +86 10 1234 5678: the area code loses its trunk 0 abroad. */
        buf[0] = '0';
        memcpy(buf + 1, v, len + 1);
        v = buf;
        len++;
        reason(&c, "trunk_prefix_added");
    } else if (len == 12 && v[0] == '0' && v[1] == '1' && v[2] >= '3') {
        v++, len--;
        reason(&c, "leading_zero_removed");
    }
    if (len == 11 && v[0] == '1') {
        if (!mobile_segment_valid(v)) {
            reject(&c, CRM_CLEAN_INVALID, "unallocated_segment");
            goto done;
        }
        if (mobile_is_virtual(v)) {
            c.r->flags |= CRM_CLEAN_VIRTUAL;
            reason(&c, "virtual_segment");
        }
        if (mobile_is_test(v)) {
            c.r->flags |= CRM_CLEAN_TEST;
            reason(&c, "test_number");
        }
    } else if (v[0] == '0' && v[1] != '0' && len >= 10 && len <= 12) {
        /* 010 and 02x have three-digit area codes and eight-digit local
         * numbers; the others four digits and seven or eight. */
        size_t area = (v[1] == '1' || v[1] == '2') ? 3 : 4;
        size_t local = len - area;
        if (v[1] == '1' && v[2] != '0') {
            reject(&c, CRM_CLEAN_INVALID, "bad_area_code");
            goto done;
        }
        if ((area == 3 && local != 8) || (area == 4 && local != 7 && local != 8) ||
            v[area] == '0' || v[area] == '1') {
            reject(&c, CRM_CLEAN_INVALID, "bad_local_number");
            goto done;
        }
        c.r->flags |= CRM_CLEAN_LANDLINE;
        reason(&c, "landline");
    } else if ((len == 7 || len == 8) && v[0] >= '2') {
        reject(&c, CRM_CLEAN_INVALID, "no_area_code");
        goto done;
    } else if (len == 10 && (strncmp(v, "400", 3) == 0 || strncmp(v, "800", 3) == 0)) {
        reject(&c, CRM_CLEAN_INVALID, "service_number");
        goto done;
    } else {
        reject(&c, CRM_CLEAN_INVALID, "wrong_length");
        goto done;
    }
    rc = finish(&c, v, 0);
    free(own);
    return rc;
done:
    rc = finish(&c, NULL, 0);
    free(own);
    return rc;
}

/* ---- name ------------------------------------------------------------- */

/* Decode one UTF-8 code point (input already validated). */
static uint32_t utf8_next(const char **p)
{
    const unsigned char *s = (const unsigned char *)*p;
    uint32_t cp;
    int n;
    if (s[0] < 0x80)
        cp = s[0], n = 1;
    else if (s[0] < 0xE0)
        cp = s[0] & 0x1F, n = 2;
    else if (s[0] < 0xF0)
        cp = s[0] & 0x0F, n = 3;
    else
        cp = s[0] & 0x07, n = 4;
    for (int i = 1; i < n; i++)
        cp = (cp << 6) | (s[i] & 0x3F);
    *p += n;
    return cp;
}

static bool is_han(uint32_t cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2FA1F) || cp == 0x00B7 || cp == 0x30FB;
}

bool crm__has_han(const char *s)
{
    while (*s)
        if (is_han(utf8_next(&s)))
            return true;
    return false;
}

/* Collapse white space to single spaces, none between two Han characters
 * ("张 伟" is one name written with a gap). In place. */
static bool collapse_spaces(char *s)
{
    bool changed = false;
    char *w = s;
    const char *p = s;
    uint32_t prev = 0;
    while (*p) {
        if (isspace((unsigned char)*p)) {
            const char *q = p;
            while (isspace((unsigned char)*q))
                q++;
            const char *peek = q;
            uint32_t next = *peek ? utf8_next(&peek) : 0;
            if (is_han(prev) && is_han(next)) {
                changed = true;
            } else {
                if (q - p != 1 || *p != ' ')
                    changed = true;
                *w++ = ' ';
            }
            p = q;
            continue;
        }
        const char *start = p;
        prev = utf8_next(&p);
        while (start < p)
            *w++ = *start++;
    }
    *w = '\0';
    return changed;
}

static const char *const placeholders[] = {
    "测试", "test", "无", "未知", "不详", "匿名", "客户", "某某", "空", "null", "none", "n/a", "na",
    "unknown", "-", "--", ".", "?", "？", "先生", "女士", "小姐",
};

static bool ascii_ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
    return *a == *b;
}

static bool is_placeholder_name(const char *s)
{
    for (size_t i = 0; i < sizeof placeholders / sizeof placeholders[0]; i++)
        if (ascii_ieq(s, placeholders[i]))
            return true;
    if (strstr(s, "测试") || strncmp(s, "test", 4) == 0 || strncmp(s, "Test", 4) == 0)
        return true;
    size_t n = strlen(s), x = 0, digits = 0;
    for (size_t i = 0; i < n; i++) {
        x += s[i] == 'x' || s[i] == 'X';
        digits += isdigit((unsigned char)s[i]) != 0;
    }
    return (n >= 2 && x == n) || digits == n;
}

static bool ascii_prefix_ieq(const char *s, const char *prefix, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!s[i] || tolower((unsigned char)s[i]) != prefix[i])
            return false;
    return true;
}

static const struct {
    const char *text;
    const char *salutation;
} latin_honorifics[] = {
    {"mr.", "Mr"}, {"mr", "Mr"}, {"mrs.", "Mrs"}, {"mrs", "Mrs"}, {"ms.", "Ms"},
    {"ms", "Ms"},  {"miss", "Miss"}, {"dr.", "Dr"}, {"dr", "Dr"},
};
static const char *const han_honorifics[] = {"先生", "女士", "小姐", "太太"};

/* Take an honorific off s (in place); returns the salutation or NULL. */
static const char *take_honorific(char **sp)
{
    char *s = *sp;
    for (size_t i = 0; i < sizeof latin_honorifics / sizeof latin_honorifics[0]; i++) {
        size_t n = strlen(latin_honorifics[i].text);
        if (ascii_prefix_ieq(s, latin_honorifics[i].text, n) && s[n] == ' ') {
            *sp = trim(s + n);
            return latin_honorifics[i].salutation;
        }
    }
    size_t len = strlen(s);
    for (size_t i = 0; i < sizeof han_honorifics / sizeof han_honorifics[0]; i++) {
        size_t n = strlen(han_honorifics[i]);
        if (len > n && strcmp(s + len - n, han_honorifics[i]) == 0) {
            s[len - n] = '\0';
            *sp = trim(s);
            return han_honorifics[i];
        }
    }
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The pinyin of one Han character: from the cache, or ICU (and then kept
 * in the cache when there is one). Appends to b. */
static void han_syllable(crm_buf *b, uint32_t cp, const char *utf8, size_t len, crm__pinyin *cache)
{
    char *slot = NULL;
    if (cache && cp >= CRM_PINYIN_FIRST && cp <= CRM_PINYIN_LAST) {
        slot = cache->syllable[cp - CRM_PINYIN_FIRST];
        if (slot[0]) {
            crm__buf_puts(b, slot);
            return;
        }
    }
    char one[5];
    memcpy(one, utf8, len);
    one[len] = '\0';
    char *latin = crm__to_latin(one);
    if (!latin) {
        b->failed = true;
        return;
    }
    char *w = latin;
    for (char *p = latin; *p; p++)
        if (isalnum((unsigned char)*p))
            *w++ = *p;
    *w = '\0';
    if (slot && strlen(latin) < sizeof cache->syllable[0])
        strcpy(slot, latin);
    crm__buf_puts(b, latin);
    free(latin);
}

char *crm__name_key(const char *name, crm__pinyin *cache)
{
    /* Tokens: each Han character is a syllable; runs of Latin letters and
     * digits are words, split at a lower-to-upper change ("ZhangWei").
     * Transliterating character by character keeps the cache exact. */
    crm_buf toks = CRM_BUF_INIT; /* tokens, each NUL-terminated */
    size_t nt = 0;
    bool in_word = false;
    for (const char *p = name; *p;) {
        const char *start = p;
        uint32_t cp = utf8_next(&p);
        if (cp < 0x80 && isalnum((int)cp)) {
            bool split = in_word && isupper((int)cp) && islower((unsigned char)start[-1]);
            if (!in_word || split) {
                if (in_word)
                    crm__buf_append(&toks, "", 1);
                nt++;
                in_word = true;
            }
            char ch = (char)tolower((int)cp);
            crm__buf_append(&toks, &ch, 1);
        } else if (is_han(cp) && cp != 0x00B7 && cp != 0x30FB) {
            if (in_word)
                crm__buf_append(&toks, "", 1);
            han_syllable(&toks, cp, start, (size_t)(p - start), cache);
            crm__buf_append(&toks, "", 1);
            nt++;
            in_word = false;
        } else if (cp >= 0x80 && !is_han(cp)) {
            /* Accented Latin and the like: ICU folds it to ASCII. */
            char one[5];
            memcpy(one, start, (size_t)(p - start));
            one[p - start] = '\0';
            char *latin = crm__to_latin(one);
            if (!latin) {
                toks.failed = true;
                break;
            }
            for (char *q = latin; *q; q++) {
                if (!isalnum((unsigned char)*q))
                    continue;
                if (!in_word)
                    nt++, in_word = true;
                crm__buf_append(&toks, q, 1);
            }
            free(latin);
        } else if (in_word) {
            crm__buf_append(&toks, "", 1);
            in_word = false;
        }
    }
    if (in_word)
        crm__buf_append(&toks, "", 1);
    if (toks.failed) {
        crm__buf_free(&toks);
        return NULL;
    }
    char **tokens = malloc((nt ? nt : 1) * sizeof *tokens);
    if (!tokens) {
        crm__buf_free(&toks);
        return NULL;
    }
    size_t k = 0;
    for (size_t off = 0; k < nt && off < toks.len; off += strlen(toks.data + off) + 1)
        tokens[k++] = toks.data + off;
    qsort(tokens, k, sizeof tokens[0], cmp_str);
    crm_buf key = CRM_BUF_INIT;
    crm__buf_puts(&key, "");
    for (size_t i = 0; i < k; i++)
        crm__buf_puts(&key, tokens[i]);
    free(tokens);
    crm__buf_free(&toks);
    if (key.failed) {
        crm__buf_free(&key);
        return NULL;
    }
    return key.data;
}

static int clean_name(crm_clean_result *r, const char *raw, crm__pinyin *cache, bool with_key)
{
    cleaning c;
    char *own = NULL, *s = NULL;
    int rc = begin(&c, r, raw, "name", &own, &s);
    if (rc != 0) {
        free(own);
        crm__buf_free(&c.reasons);
        return rc;
    }
    if (collapse_spaces(s))
        reason(&c, "spaces_collapsed");
    if (!*s) {
        reject(&c, CRM_CLEAN_EMPTY, "empty");
        goto done;
    }
    if (is_placeholder_name(s)) {
        reject(&c, CRM_CLEAN_PLACEHOLDER, "placeholder");
        goto done;
    }
    const char *sal = take_honorific(&s);
    if (sal) {
        r->salutation = crm__strdup(sal);
        if (!r->salutation) {
            rc = crm__error_nomem();
            goto done;
        }
        reason(&c, "honorific_removed");
        if (!*s || is_placeholder_name(s)) {
            reject(&c, CRM_CLEAN_PLACEHOLDER, "placeholder");
            goto done;
        }
    }
    if (with_key && !(r->key = crm__name_key(s, cache))) {
        rc = crm__error_nomem();
        goto done;
    }
    rc = finish(&c, s, 0);
    free(own);
    return rc;
done:
    rc = finish(&c, NULL, rc);
    free(own);
    return rc;
}

int crm__clean_name(crm_clean_result *r, const char *raw, crm__pinyin *cache)
{
    return clean_name(r, raw, cache, true);
}

int crm__judge_name(crm_clean_result *r, const char *raw)
{
    return clean_name(r, raw, NULL, false);
}

int crm_clean_name(crm_clean_result *r, const char *raw)
{
    return crm__clean_name(r, raw, NULL);
}

/* ---- e-mail ----------------------------------------------------------- */

static bool email_local_char(char ch)
{
    return isalnum((unsigned char)ch) || strchr("!#$%&'*+/=?^_`{|}~.-", ch);
}

static const char *email_syntax_error(const char *s)
{
    const char *at = strchr(s, '@');
    if (!at || strchr(at + 1, '@'))
        return "not_one_at_sign";
    size_t local = (size_t)(at - s);
    if (local == 0 || local > 64)
        return "bad_local_part";
    for (const char *p = s; p < at; p++)
        if (!email_local_char(*p) || (*p == '.' && (p == s || p + 1 == at || p[1] == '.')))
            return "bad_local_part";
    const char *dom = at + 1, *last_dot = strrchr(dom, '.');
    if (!last_dot || strlen(dom) > 253)
        return "bad_domain";
    const char *label = dom;
    for (const char *p = dom;; p++) {
        if (*p == '.' || *p == '\0') {
            size_t n = (size_t)(p - label);
            if (n == 0 || n > 63 || label[0] == '-' || p[-1] == '-')
                return "bad_domain";
            if (!*p)
                break;
            label = p + 1;
        } else if (!isalnum((unsigned char)*p) && *p != '-') {
            return "bad_domain";
        }
    }
    size_t tld = strlen(last_dot + 1);
    if (tld < 2)
        return "bad_domain";
    for (const char *p = last_dot + 1; *p; p++)
        if (!isalpha((unsigned char)*p))
            return "bad_domain";
    return NULL;
}

int crm_clean_email(crm_clean_result *r, const char *raw)
{
    cleaning c;
    char *own = NULL, *s = NULL;
    int rc = begin(&c, r, raw, "email", &own, &s);
    if (rc != 0) {
        free(own);
        crm__buf_free(&c.reasons);
        return rc;
    }
    if (!*s) {
        reject(&c, CRM_CLEAN_EMPTY, "empty");
        goto done;
    }
    /* People type the ideographic full stop for the dot (NFKC keeps it). */
    crm_buf b = CRM_BUF_INIT;
    bool ideo = false, upper = false;
    for (const char *p = s; *p; p++) {
        if (strncmp(p, "\xE3\x80\x82", 3) == 0) {
            crm__buf_puts(&b, ".");
            p += 2;
            ideo = true;
            continue;
        }
        char ch = *p;
        if (isupper((unsigned char)ch)) {
            ch = (char)tolower((unsigned char)ch);
            upper = true;
        }
        crm__buf_append(&b, &ch, 1);
    }
    if (b.failed) {
        crm__buf_free(&b);
        rc = crm__error_nomem();
        goto done;
    }
    if (ideo)
        reason(&c, "ideographic_full_stop");
    if (upper)
        reason(&c, "lower_cased");
    const char *err = email_syntax_error(b.data);
    if (err) {
        reject(&c, CRM_CLEAN_INVALID, err);
        crm__buf_free(&b);
        goto done;
    }
    const char *dom = strchr(b.data, '@') + 1;
    if (strncmp(b.data, "test@", 5) == 0 || strcmp(dom, "example.com") == 0 ||
        strcmp(dom, "example.org") == 0 || strcmp(dom, "example.net") == 0 ||
        strcmp(dom, "test.com") == 0) {
        r->flags |= CRM_CLEAN_TEST;
        reason(&c, "test_address");
    }
    rc = finish(&c, b.data, 0);
    crm__buf_free(&b);
    free(own);
    return rc;
done:
    rc = finish(&c, NULL, rc);
    free(own);
    return rc;
}

/* ---- region ----------------------------------------------------------- */

static bool is_municipality(const char *code)
{
    return strncmp(code, "11", 2) == 0 || strncmp(code, "12", 2) == 0 ||
           strncmp(code, "31", 2) == 0 || strncmp(code, "50", 2) == 0;
}

static size_t prefix_len(const char *s, const char *p)
{
    size_t n = strlen(p);
    return strncmp(s, p, n) == 0 ? n : 0;
}

/* The longest city name or short name at s, within a province (or any when
 * prov is NULL); *len gets the bytes matched. */
static const crm__region_city *match_city_han(const char *s, const char *prov, size_t *len)
{
    const crm__region_city *best = NULL;
    *len = 0;
    for (size_t i = 0; i < crm__region_city_count; i++) {
        const crm__region_city *ct = &crm__region_cities[i];
        if (prov && strncmp(ct->code, prov, 2) != 0)
            continue;
        size_t n = prefix_len(s, ct->name);
        if (!n)
            n = prefix_len(s, ct->short_name);
        if (n > *len)
            best = ct, *len = n;
    }
    return best;
}

static const crm__region_province *province_of(const char *code)
{
    for (size_t i = 0; i < crm__region_province_count; i++)
        if (strncmp(crm__region_provinces[i].code, code, 2) == 0)
            return &crm__region_provinces[i];
    return NULL;
}

static void region_han(const char *s, const crm__region_province **pv, const crm__region_city **ct)
{
    size_t best = 0;
    for (size_t i = 0; i < crm__region_province_count; i++) {
        const crm__region_province *p = &crm__region_provinces[i];
        size_t n = prefix_len(s, p->name);
        if (!n)
            n = prefix_len(s, p->short_name);
        if (n > best)
            best = n, *pv = p;
    }
    if (!*pv) {
        /* A one-character abbreviation only stands alone or before a city
         * of its province (沪, 浙杭州): elsewhere it is just a character. */
        for (size_t i = 0; i < crm__region_province_count && !*pv; i++) {
            const crm__region_province *p = &crm__region_provinces[i];
            size_t n = prefix_len(s, p->abbr), clen = 0;
            if (n && (!s[n] || match_city_han(s + n, p->code, &clen)))
                best = n, *pv = p;
        }
    }
    const char *rest = s + best;
    if (*pv) {
        static const char *const suffixes[] = {"省", "市", "自治区"};
        for (size_t i = 0; i < 3; i++)
            rest += prefix_len(rest, suffixes[i]);
    }
    size_t clen = 0;
    *ct = match_city_han(rest, *pv ? (*pv)->code : NULL, &clen);
    if (*ct && !*pv)
        *pv = province_of((*ct)->code);
}

static void region_latin(const char *s, const crm__region_province **pv, const crm__region_city **ct)
{
    /* Words, lower-case ASCII letters; one to three adjacent words joined
     * are compared with the table's spellings ("inner mongolia"). */
    char words[CRM_CLEAN_INPUT_MAX + 1];
    const char *w[32];
    size_t nw = 0, o = 0;
    for (const char *p = s; *p && nw < 32;) {
        while (*p && !isalpha((unsigned char)*p))
            p++;
        if (!*p)
            break;
        w[nw++] = words + o;
        while (isalpha((unsigned char)*p))
            words[o++] = (char)tolower((unsigned char)*p++);
        words[o++] = '\0';
    }
    const crm__region_city *found = NULL;
    int cities = 0;
    for (size_t i = 0; i < nw; i++) {
        char joined[CRM_CLEAN_INPUT_MAX + 1] = "";
        for (size_t j = i; j < nw && j < i + 3; j++) {
            strcat(joined, w[j]);
            for (size_t k = 0; k < crm__region_province_count && !*pv; k++)
                for (int l = 0; l < 3 && crm__region_provinces[k].latin[l]; l++)
                    if (strcmp(joined, crm__region_provinces[k].latin[l]) == 0)
                        *pv = &crm__region_provinces[k];
        }
    }
    for (size_t i = 0; i < nw; i++) {
        char joined[CRM_CLEAN_INPUT_MAX + 1] = "";
        for (size_t j = i; j < nw && j < i + 3; j++) {
            strcat(joined, w[j]);
            for (size_t k = 0; k < crm__region_city_count; k++) {
                const crm__region_city *c = &crm__region_cities[k];
                if (strcmp(joined, c->latin) == 0 &&
                    (!*pv || strncmp(c->code, (*pv)->code, 2) == 0) && c != found)
                    found = c, cities++;
            }
        }
    }
    /* Pinyin repeats (福州 and 抚州 are both Fuzhou): without the province
     * an ambiguous city is not guessed. */
    if (cities == 1) {
        *ct = found;
        if (!*pv)
            *pv = province_of(found->code);
    }
}

int crm_clean_region(crm_clean_result *r, const char *raw)
{
    cleaning c;
    char *own = NULL, *s = NULL;
    int rc = begin(&c, r, raw, "region", &own, &s);
    if (rc != 0) {
        free(own);
        crm__buf_free(&c.reasons);
        return rc;
    }
    /* Spaces carry no meaning between Han characters. */
    char *w = s;
    bool han = crm__has_han(s);
    for (char *p = s; *p; p++)
        if (!han || !isspace((unsigned char)*p))
            *w++ = *p;
    *w = '\0';
    if (!*s) {
        reject(&c, CRM_CLEAN_EMPTY, "empty");
        rc = finish(&c, NULL, 0);
        free(own);
        return rc;
    }
    const crm__region_province *pv = NULL;
    const crm__region_city *ct = NULL;
    if (han)
        region_han(s, &pv, &ct);
    else
        region_latin(s, &pv, &ct);
    crm_buf v = CRM_BUF_INIT;
    if (!pv) {
        reject(&c, CRM_CLEAN_INVALID, "unknown_region");
    } else {
        r->province = crm__strdup(pv->code);
        crm__buf_puts(&v, pv->name);
        if (is_municipality(pv->code)) {
            char code[7];
            memcpy(code, pv->code, 2);
            memcpy(code + 2, "0100", 5);
            r->city = crm__strdup(code);
        } else if (ct) {
            r->city = crm__strdup(ct->code);
            crm__buf_puts(&v, ct->name);
        } else {
            r->flags |= CRM_CLEAN_PARTIAL;
            reason(&c, "province_only");
        }
        if (!r->province || (!r->city && (is_municipality(pv->code) || ct)) || v.failed)
            rc = crm__error_nomem();
        else if (strcmp(v.data, raw) != 0)
            reason(&c, "standard_name");
    }
    rc = finish(&c, v.data, rc);
    crm__buf_free(&v);
    free(own);
    return rc;
}

/* ---- ID card and VIN -------------------------------------------------- */

/* Keep the characters that are not separators, upper-cased; false when
 * something else than letters, digits, spaces and dashes is there. */
static bool compact_upper(char *s, bool *changed)
{
    char *w = s;
    for (char *p = s; *p; p++) {
        if (*p == ' ' || *p == '-') {
            *changed = true;
            continue;
        }
        if (!isalnum((unsigned char)*p))
            return false;
        if (islower((unsigned char)*p))
            *changed = true;
        *w++ = (char)toupper((unsigned char)*p);
    }
    *w = '\0';
    return true;
}

static bool date_valid(int y, int m, int d)
{
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || m < 1 || m > 12 || d < 1 || d > days[m - 1])
        return false;
    return !(m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

int crm_clean_id_card(crm_clean_result *r, const char *raw)
{
    cleaning c;
    char *own = NULL, *s = NULL;
    int rc = begin(&c, r, raw, "id_card", &own, &s);
    if (rc != 0) {
        free(own);
        crm__buf_free(&c.reasons);
        return rc;
    }
    bool changed = false;
    if (!*s) {
        reject(&c, CRM_CLEAN_EMPTY, "empty");
    } else if (!compact_upper(s, &changed)) {
        reject(&c, CRM_CLEAN_INVALID, "unexpected_character");
    } else if (strlen(s) == 15 && all_digits(s, 15)) {
        reject(&c, CRM_CLEAN_INVALID, "legacy_15_digits");
    } else if (strlen(s) != 18 || !all_digits(s, 17) || !(isdigit((unsigned char)s[17]) || s[17] == 'X')) {
        reject(&c, CRM_CLEAN_INVALID, "wrong_length");
    } else {
        static const int weight[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
        int sum = 0;
        for (int i = 0; i < 17; i++)
            sum += (s[i] - '0') * weight[i];
        char code[7];
        memcpy(code, s, 2);
        memcpy(code + 2, "0000", 5);
        int y = atoi((char[5]){s[6], s[7], s[8], s[9], 0});
        int m = (s[10] - '0') * 10 + (s[11] - '0'), d = (s[12] - '0') * 10 + (s[13] - '0');
        if ("10X98765432"[sum % 11] != s[17])
            reject(&c, CRM_CLEAN_INVALID, "checksum");
        else if (!date_valid(y, m, d))
            reject(&c, CRM_CLEAN_INVALID, "bad_birth_date");
        else if (!province_of(code))
            reject(&c, CRM_CLEAN_INVALID, "unknown_province");
        else if (!(r->province = crm__strdup(code)))
            rc = crm__error_nomem();
        if (changed)
            reason(&c, "compacted");
    }
    rc = finish(&c, s, rc);
    free(own);
    return rc;
}

static int vin_value(char ch)
{
    if (isdigit((unsigned char)ch))
        return ch - '0';
    static const char letters[] = "ABCDEFGHJKLMNPRSTUVWXYZ";
    static const int values[] = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9};
    const char *p = strchr(letters, ch);
    return p && ch ? values[p - letters] : -1;
}

int crm_clean_vin(crm_clean_result *r, const char *raw)
{
    cleaning c;
    char *own = NULL, *s = NULL;
    int rc = begin(&c, r, raw, "vin", &own, &s);
    if (rc != 0) {
        free(own);
        crm__buf_free(&c.reasons);
        return rc;
    }
    bool changed = false;
    if (!*s) {
        reject(&c, CRM_CLEAN_EMPTY, "empty");
    } else if (!compact_upper(s, &changed)) {
        reject(&c, CRM_CLEAN_INVALID, "unexpected_character");
    } else if (strlen(s) != 17) {
        reject(&c, CRM_CLEAN_INVALID, "wrong_length");
    } else {
        static const int weight[17] = {8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2};
        int sum = 0;
        bool bad = false;
        for (int i = 0; i < 17; i++) {
            int v = vin_value(s[i]);
            if (v < 0)
                bad = true;
            else
                sum += v * weight[i];
        }
        int check = sum % 11;
        if (bad)
            reject(&c, CRM_CLEAN_INVALID, "letter_i_o_or_q");
        else if ((check == 10 ? 'X' : '0' + check) != s[8])
            reject(&c, CRM_CLEAN_INVALID, "check_digit");
        if (changed)
            reason(&c, "compacted");
    }
    rc = finish(&c, s, rc);
    free(own);
    return rc;
}
