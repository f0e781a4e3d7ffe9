/*
 * The expression language: a tokenizer and a recursive-descent parser with
 * bounded depth, producing a tree that is evaluated per customer (rules)
 * or walked over bitmaps (segments).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/expr.h"
#include "util/util.h"

#define EXPR_MAX 4096
#define DEPTH_MAX 64
#define LIST_MAX 256

typedef enum { T_NUM, T_TEXT, T_TIME, T_BOOL } ftype;

typedef enum {
    F_DEALER, F_NAME, F_CREATED, F_MEMBER, F_TIER, F_BALANCE, F_ENROLLED, F_LEADS, F_MODEL, F_CHANNEL,
    F_LAST_LEAD, F_VEHICLES
} field_id;

static const struct {
    const char *name;
    ftype type;
} fields[] = {
    [F_DEALER] = { "dealer_id", T_TEXT }, [F_NAME] = { "name", T_TEXT },
    [F_CREATED] = { "created_at", T_TIME }, [F_MEMBER] = { "member", T_BOOL },
    [F_TIER] = { "tier", T_TEXT }, [F_BALANCE] = { "balance", T_NUM },
    [F_ENROLLED] = { "enrolled_at", T_TIME }, [F_LEADS] = { "leads", T_NUM },
    [F_MODEL] = { "model", T_TEXT }, [F_CHANNEL] = { "channel", T_TEXT },
    [F_LAST_LEAD] = { "last_lead_at", T_TIME }, [F_VEHICLES] = { "vehicles", T_NUM },
};
#define FIELD_COUNT (sizeof fields / sizeof fields[0])

typedef enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE } cmp_op;

typedef enum { N_AND, N_OR, N_NOT, N_TAG, N_CMP, N_IN, N_FLAG } node_kind;

typedef struct value {
    int64_t num;      /* numbers, times (ms), booleans (0/1) */
    const char *text; /* into the parser's string arena */
} value;

struct crm_expr {
    node_kind kind;
    int column;
    struct crm_expr *a, *b;
    field_id field;
    cmp_op op;
    value v;
    value *list; /* N_IN */
    size_t n;
    bool negate; /* N_IN: not in */
    void *owned; /* the root (an expr_root) owns every node and string: see free */
};

/* ---- tokens ------------------------------------------------------------ */

typedef enum { K_END, K_IDENT, K_NUM, K_DURATION, K_TEXT, K_OP, K_LPAREN, K_RPAREN, K_COMMA, K_PLUS, K_MINUS } tok_kind;

typedef struct parser {
    const char *src;
    size_t pos;
    const char *what;
    crm_expr_mode mode;
    int64_t now;
    int depth;
    /* the current token */
    tok_kind kind;
    size_t start, len;
    int64_t num;
    cmp_op op;
    /* every node and string, freed together */
    crm_expr **nodes;
    size_t n_nodes, cap_nodes;
    char *strings;
    size_t str_len, str_cap;
} parser;

static int err(parser *p, size_t at, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int err(parser *p, size_t at, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return crm_error_set(CRM_EINVALID, "%s: column %zu: %s", p->what, at + 1, msg);
}

static bool is_ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int next(parser *p)
{
    const char *s = p->src;
    while (s[p->pos] == ' ' || s[p->pos] == '\t' || s[p->pos] == '\n' || s[p->pos] == '\r')
        p->pos++;
    p->start = p->pos;
    char c = s[p->pos];
    if (c == '\0') {
        p->kind = K_END;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
        while (is_ident_char(s[p->pos]))
            p->pos++;
        p->kind = K_IDENT;
    } else if (c >= '0' && c <= '9') {
        int64_t v = 0;
        while (s[p->pos] >= '0' && s[p->pos] <= '9') {
            if (v > (INT64_MAX - 9) / 10)
                return err(p, p->start, "%s", "number too large");
            v = v * 10 + (s[p->pos++] - '0');
        }
        p->kind = K_NUM;
        char u = s[p->pos];
        int64_t unit = u == 'd' ? 86400000LL : u == 'h' ? 3600000LL : u == 'w' ? 7 * 86400000LL : 0;
        if (unit && !is_ident_char(s[p->pos + 1])) {
            if (v > INT64_MAX / unit)
                return err(p, p->start, "%s", "duration too large");
            v *= unit;
            p->pos++;
            p->kind = K_DURATION;
        } else if (is_ident_char(u)) {
            return err(p, p->pos, "unexpected '%.1s' after a number (durations take d, h or w)", s + p->pos);
        }
        p->num = v;
    } else if (c == '"') {
        p->pos++;
        while (s[p->pos] && s[p->pos] != '"') {
            if (s[p->pos] == '\\' && (s[p->pos + 1] == '"' || s[p->pos + 1] == '\\'))
                p->pos++;
            p->pos++;
        }
        if (s[p->pos] != '"')
            return err(p, p->start, "%s", "unterminated string");
        p->pos++;
        p->kind = K_TEXT;
    } else if (c == '=' || c == '<' || c == '>' || c == '!') {
        p->pos++;
        bool eq = s[p->pos] == '=';
        if (c == '!' && !eq)
            return err(p, p->start, "%s", "'!' must be followed by '=' (use 'not' to negate)");
        if (eq && c != '=')
            p->pos++;
        p->op = c == '=' ? OP_EQ : c == '!' ? OP_NE : c == '<' ? (eq ? OP_LE : OP_LT) : (eq ? OP_GE : OP_GT);
        p->kind = K_OP;
    } else if (c == '(' || c == ')' || c == ',' || c == '+' || c == '-') {
        p->pos++;
        p->kind = c == '(' ? K_LPAREN : c == ')' ? K_RPAREN : c == ',' ? K_COMMA : c == '+' ? K_PLUS : K_MINUS;
    } else {
        return err(p, p->start, "unexpected character '%.1s'", s + p->start);
    }
    p->len = p->pos - p->start;
    return 0;
}

static bool is_word(const parser *p, const char *w)
{
    return p->kind == K_IDENT && p->len == strlen(w) && memcmp(p->src + p->start, w, p->len) == 0;
}

/* ---- nodes ------------------------------------------------------------- */

static crm_expr *node(parser *p, node_kind kind, size_t column)
{
    if (p->n_nodes == p->cap_nodes) {
        size_t cap = p->cap_nodes ? p->cap_nodes * 2 : 16;
        void *q = realloc(p->nodes, cap * sizeof *p->nodes);
        if (!q)
            return NULL;
        p->nodes = q;
        p->cap_nodes = cap;
    }
    crm_expr *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->kind = kind;
    e->column = (int)column + 1;
    p->nodes[p->n_nodes++] = e;
    return e;
}

/* Copy a string literal's contents (unescaped) into the arena. The arena is
 * sized for the whole source up front, so pointers into it stay valid. */
static const char *keep_text(parser *p, size_t start, size_t len)
{
    char *w = p->strings + p->str_len;
    for (size_t i = 0; i < len; i++) {
        char c = p->src[start + i];
        if (c == '\\' && i + 1 < len)
            c = p->src[start + ++i];
        *w++ = c;
    }
    *w++ = '\0';
    const char *out = p->strings + p->str_len;
    p->str_len = (size_t)(w - p->strings);
    return out;
}

/* ---- grammar ----------------------------------------------------------- */

static int parse_or(parser *p, crm_expr **out);

/* A value for a field of type t: number, text, true/false, now [+-] dur, or a time as text. */
static int parse_value(parser *p, ftype t, value *v)
{
    size_t at = p->start;
    if (t == T_BOOL) {
        if (!is_word(p, "true") && !is_word(p, "false"))
            return err(p, at, "%s", "expected true or false");
        v->num = is_word(p, "true");
        return next(p);
    }
    if (t == T_TIME && is_word(p, "now")) {
        int rc = next(p);
        int64_t t0 = p->now;
        if (rc == 0 && (p->kind == K_PLUS || p->kind == K_MINUS)) {
            bool minus = p->kind == K_MINUS;
            if ((rc = next(p)) != 0)
                return rc;
            if (p->kind != K_DURATION)
                return err(p, p->start, "%s", "expected a duration like 30d, 12h or 2w");
            t0 = minus ? t0 - p->num : t0 + p->num;
            rc = next(p);
        }
        v->num = t0;
        return rc;
    }
    if (p->kind == K_TEXT) {
        const char *text = keep_text(p, p->start + 1, p->len - 2);
        if (t == T_TIME) {
            if (crm__time_parse(text, &v->num) != 0)
                return err(p, at, "%s", "expected a time like \"2026-01-31\" or \"2026-01-31T08:00:00Z\"");
        } else if (t == T_NUM) {
            return err(p, at, "%s", "expected a number, not text");
        } else {
            v->text = text;
        }
        return next(p);
    }
    if (p->kind == K_NUM) {
        if (t == T_TEXT)
            return err(p, at, "%s", "expected \"text\", not a number");
        v->num = p->num;
        return next(p);
    }
    return err(p, at, "%s",
               t == T_TIME ? "expected a time: now, now - 30d, or \"2026-01-31\""
               : t == T_NUM ? "expected a number"
                            : "expected \"text\"");
}

static int parse_leaf(parser *p, crm_expr **out)
{
    size_t at = p->start;
    if (p->kind != K_IDENT || is_word(p, "and") || is_word(p, "or") || is_word(p, "in"))
        return err(p, at, "%s", p->mode == CRM_EXPR_SEGMENT ? "expected a tag name" : "expected a field name");
    if (p->mode == CRM_EXPR_SEGMENT) {
        crm_expr *e = node(p, N_TAG, at);
        if (!e)
            return crm__error_nomem();
        e->v.text = keep_text(p, p->start, p->len);
        *out = e;
        return next(p);
    }
    size_t f = 0;
    while (f < FIELD_COUNT && !(p->len == strlen(fields[f].name) && memcmp(p->src + at, fields[f].name, p->len) == 0))
        f++;
    if (f == FIELD_COUNT) {
        char name[40];
        snprintf(name, sizeof name, "%.*s", (int)(p->len < 32 ? p->len : 32), p->src + at);
        return err(p, at, "unknown field '%s'", name);
    }
    int rc = next(p);
    if (rc)
        return rc;
    ftype t = fields[f].type;
    crm_expr *e;
    bool negate = false;
    if (is_word(p, "not")) {
        if ((rc = next(p)) != 0)
            return rc;
        if (!is_word(p, "in"))
            return err(p, p->start, "%s", "expected 'in' after 'not'");
        negate = true;
    }
    if (is_word(p, "in")) {
        if (t == T_BOOL)
            return err(p, p->start, "%s", "'in' needs a text, number or time field");
        if ((rc = next(p)) != 0)
            return rc;
        if (p->kind != K_LPAREN)
            return err(p, p->start, "%s", "expected '(' after 'in'");
        if (!(e = node(p, N_IN, at)))
            return crm__error_nomem();
        e->field = (field_id)f;
        e->negate = negate;
        if (!(e->list = calloc(LIST_MAX, sizeof *e->list)))
            return crm__error_nomem();
        do {
            if ((rc = next(p)) != 0)
                return rc;
            if (e->n == LIST_MAX)
                return err(p, p->start, "%s", "at most 256 values in a list");
            if ((rc = parse_value(p, t, &e->list[e->n++])) != 0)
                return rc;
        } while (p->kind == K_COMMA);
        if (p->kind != K_RPAREN)
            return err(p, p->start, "%s", "expected ',' or ')' in the list");
        *out = e;
        return next(p);
    }
    if (p->kind != K_OP) {
        if (t == T_BOOL) { /* `member` alone */
            if (!(e = node(p, N_FLAG, at)))
                return crm__error_nomem();
            e->field = (field_id)f;
            *out = e;
            return 0;
        }
        return err(p, p->start, "%s", "expected a comparison (=, !=, <, <=, >, >=) or 'in'");
    }
    if (t == T_BOOL && p->op != OP_EQ && p->op != OP_NE)
        return err(p, p->start, "%s", "true/false compare only with = or !=");
    if (!(e = node(p, N_CMP, at)))
        return crm__error_nomem();
    e->field = (field_id)f;
    e->op = p->op;
    if ((rc = next(p)) != 0)
        return rc;
    *out = e;
    return parse_value(p, t, &e->v);
}

static int parse_not(parser *p, crm_expr **out)
{
    if (++p->depth > DEPTH_MAX)
        return err(p, p->start, "%s", "nested too deeply");
    int rc;
    size_t at = p->start;
    if (is_word(p, "not")) {
        crm_expr *e = node(p, N_NOT, at);
        if (!e)
            return crm__error_nomem();
        if ((rc = next(p)) == 0)
            rc = parse_not(p, &e->a);
        *out = e;
    } else if (p->kind == K_LPAREN) {
        if ((rc = next(p)) == 0)
            rc = parse_or(p, out);
        if (rc == 0 && p->kind != K_RPAREN)
            rc = err(p, p->start, "%s", "expected ')'");
        if (rc == 0)
            rc = next(p);
    } else {
        rc = parse_leaf(p, out);
    }
    p->depth--;
    return rc;
}

static int parse_binary(parser *p, crm_expr **out, const char *word, node_kind kind,
                        int (*sub)(parser *, crm_expr **))
{
    int rc = sub(p, out);
    while (rc == 0 && is_word(p, word)) {
        crm_expr *e = node(p, kind, p->start);
        if (!e)
            return crm__error_nomem();
        e->a = *out;
        if ((rc = next(p)) == 0)
            rc = sub(p, &e->b);
        *out = e;
    }
    return rc;
}

static int parse_and(parser *p, crm_expr **out)
{
    return parse_binary(p, out, "and", N_AND, parse_not);
}

static int parse_or(parser *p, crm_expr **out)
{
    return parse_binary(p, out, "or", N_OR, parse_and);
}

static void free_nodes(crm_expr **nodes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(nodes[i]->list);
        free(nodes[i]);
    }
    free(nodes);
}

/* The root keeps the node list and the arena; see crm__expr_free. */
typedef struct expr_root {
    crm_expr **nodes;
    size_t n;
    char *strings;
} expr_root;

int crm__expr_parse(crm_expr **out, const char *text, crm_expr_mode mode, const char *what, int64_t now)
{
    *out = NULL;
    if (!text)
        return crm_error_set(CRM_EINVALID, "%s: required", what);
    size_t len = strlen(text);
    if (len > EXPR_MAX)
        return crm_error_set(CRM_EINVALID, "%s: %zu bytes is over the limit of %d", what, len, EXPR_MAX);
    if (!crm__utf8_valid(text, len))
        return crm_error_set(CRM_EINVALID, "%s: invalid UTF-8", what);
    parser p = { .src = text, .what = what, .mode = mode, .now = now };
    p.strings = malloc(len + 1);
    expr_root *root = malloc(sizeof *root);
    crm_expr *tree = NULL;
    int rc = p.strings && root ? next(&p) : crm__error_nomem();
    if (rc == 0 && p.kind == K_END)
        rc = crm_error_set(CRM_EINVALID, "%s: empty expression", what);
    if (rc == 0)
        rc = parse_or(&p, &tree);
    if (rc == 0 && p.kind != K_END)
        rc = err(&p, p.start, "%s", "expected 'and', 'or' or the end");
    /* The root node carries the bookkeeping for free: a wrapper node. */
    crm_expr *top = rc == 0 ? node(&p, N_AND, 0) : NULL;
    if (rc == 0 && !top)
        rc = crm__error_nomem();
    if (rc) {
        free_nodes(p.nodes, p.n_nodes);
        free(p.strings);
        free(root);
        return rc;
    }
    root->nodes = p.nodes;
    root->n = p.n_nodes;
    root->strings = p.strings;
    /* top is an AND of the tree with itself only in name: kind N_AND with
     * b == NULL marks the root; crm__expr_* accessors skip it. */
    top->a = tree;
    top->owned = root;
    *out = top;
    return 0;
}

void crm__expr_free(crm_expr *e)
{
    if (!e)
        return;
    expr_root *root = e->owned;
    free(root->strings);
    free_nodes(root->nodes, root->n);
    free(root);
}

static const crm_expr *skip_root(const crm_expr *e)
{
    return e->owned ? e->a : e;
}

static const char *text_field(const crm_customer_facts *f, field_id id)
{
    switch (id) {
    case F_DEALER: return f->dealer_id;
    case F_NAME: return f->name;
    case F_TIER: return f->tier;
    case F_MODEL: return f->model;
    case F_CHANNEL: return f->channel;
    default: return NULL;
    }
}

/* A number or time; false when the customer lacks it. */
static bool num_field(const crm_customer_facts *f, field_id id, int64_t *v)
{
    switch (id) {
    case F_CREATED: *v = f->created_at; return true;
    case F_MEMBER: *v = f->member; return true;
    case F_BALANCE: *v = f->balance; return f->member != 0;
    case F_ENROLLED: *v = f->enrolled_at; return f->member != 0;
    case F_LEADS: *v = f->leads; return true;
    case F_LAST_LEAD: *v = f->last_lead_at; return f->leads > 0;
    case F_VEHICLES: *v = f->vehicles; return true;
    default: return false;
    }
}

static bool compare(cmp_op op, int c)
{
    switch (op) {
    case OP_EQ: return c == 0;
    case OP_NE: return c != 0;
    case OP_LT: return c < 0;
    case OP_LE: return c <= 0;
    case OP_GT: return c > 0;
    case OP_GE: return c >= 0;
    }
    return false;
}

/* Compare field to value: -1/0/1 in *c; false when the field is missing. */
static bool field_cmp(const crm_customer_facts *f, field_id id, const value *v, int *c)
{
    if (fields[id].type == T_TEXT) {
        const char *s = text_field(f, id);
        if (!s)
            return false;
        int r = strcmp(s, v->text);
        *c = (r > 0) - (r < 0);
        return true;
    }
    int64_t x;
    if (!num_field(f, id, &x))
        return false;
    *c = (x > v->num) - (x < v->num);
    return true;
}

static bool match(const crm_expr *e, const crm_customer_facts *f)
{
    int c;
    switch (e->kind) {
    case N_AND: return match(e->a, f) && match(e->b, f);
    case N_OR: return match(e->a, f) || match(e->b, f);
    case N_NOT: return !match(e->a, f);
    case N_FLAG: return f->member != 0;
    case N_CMP: return field_cmp(f, e->field, &e->v, &c) && compare(e->op, c);
    case N_IN:
        for (size_t i = 0; i < e->n; i++) {
            if (!field_cmp(f, e->field, &e->list[i], &c))
                return false; /* missing: neither in nor not in */
            if (c == 0)
                return !e->negate;
        }
        return e->negate;
    case N_TAG: return false;
    }
    return false;
}

static unsigned needs(const crm_expr *e)
{
    if (!e)
        return 0;
    unsigned n = needs(e->a) | needs(e->b);
    if (e->kind == N_CMP || e->kind == N_IN || e->kind == N_FLAG) {
        switch (e->field) {
        case F_MEMBER: case F_TIER: case F_BALANCE: case F_ENROLLED: n |= CRM_FACTS_MEMBER; break;
        case F_LEADS: case F_MODEL: case F_CHANNEL: case F_LAST_LEAD: n |= CRM_FACTS_LEADS; break;
        case F_VEHICLES: n |= CRM_FACTS_VEHICLES; break;
        default: break;
        }
    }
    return n;
}

unsigned crm__expr_needs(const crm_expr *e)
{
    return needs(skip_root(e));
}

bool crm__expr_match(const crm_expr *e, const crm_customer_facts *f)
{
    return match(skip_root(e), f);
}

crm_expr_op crm__expr_op(const crm_expr *e)
{
    e = skip_root(e);
    switch (e->kind) {
    case N_AND: return CRM_EXPR_AND;
    case N_OR: return CRM_EXPR_OR;
    case N_NOT: return CRM_EXPR_NOT;
    case N_TAG: return CRM_EXPR_TAG;
    default: return CRM_EXPR_OTHER;
    }
}

const crm_expr *crm__expr_left(const crm_expr *e)
{
    return skip_root(e)->a;
}

const crm_expr *crm__expr_right(const crm_expr *e)
{
    return skip_root(e)->b;
}

const char *crm__expr_tag(const crm_expr *e)
{
    return skip_root(e)->v.text;
}

int crm__expr_column(const crm_expr *e)
{
    return skip_root(e)->column;
}
