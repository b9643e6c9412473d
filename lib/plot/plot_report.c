/* plot_report.c: reading the confusion matrix of a fer-eval report, its
 * JSON object or its text layout (see plot_log.h and cmd/fer-eval.c). */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "plot_log.h"

#define COUNT_MAX 1e15      /* a count beyond this is not one */
#define DEPTH_MAX 32        /* nesting of skipped JSON values */

/* A cursor over the report's bytes. */
typedef struct cur {
    const char *start, *p, *end, *name;
} cur;

static long line_of(const cur *c, const char *at)
{
    long line = 1;
    for (const char *q = c->start; q < at; q++)
        line += *q == '\n';
    return line;
}

static int err_at(const cur *c, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int err_at(const cur *c, const char *at, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fer_seterr("%s:%ld: %s", c->name, line_of(c, at), msg);
}

/* What is at the cursor, for messages: "'x'", "the end". */
static const char *what(const cur *c, char *buf, size_t n)
{
    if (c->p >= c->end)
        return "the end";
    if (isprint((unsigned char)*c->p))
        snprintf(buf, n, "'%c'", *c->p);
    else
        snprintf(buf, n, "byte 0x%02x", (unsigned char)*c->p);
    return buf;
}

static void ws(cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
        c->p++;
}

static int expect(cur *c, char ch)
{
    char b[16];
    ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 0;
    }
    return err_at(c, c->p, "expected '%c', found %s", ch, what(c, b, sizeof b));
}

/* Does the next value start with ch (after blanks)? */
static int peek(cur *c, char ch)
{
    ws(c);
    return c->p < c->end && *c->p == ch;
}

/* A JSON string into out (n bytes, cut to fit when n is 0: skipped);
 * escapes decoded, \uXXXX outside ASCII as '?'. */
static int json_string(cur *c, char *out, size_t n, size_t *len)
{
    size_t k = 0;
    const char *open;
    if (expect(c, '"'))
        return -1;
    open = c->p - 1;
    for (;;) {
        char ch;
        if (c->p >= c->end)
            return err_at(c, open, "unterminated string");
        ch = *c->p++;
        if (ch == '"')
            break;
        if ((unsigned char)ch < 0x20)
            return err_at(c, c->p - 1, "control character in a string");
        if (ch == '\\') {
            if (c->p >= c->end)
                return err_at(c, open, "unterminated string");
            ch = *c->p++;
            switch (ch) {
            case '"': case '\\': case '/': break;
            case 'b': ch = '\b'; break;
            case 'f': ch = '\f'; break;
            case 'n': ch = '\n'; break;
            case 'r': ch = '\r'; break;
            case 't': ch = '\t'; break;
            case 'u': {
                unsigned v = 0;
                for (int i = 0; i < 4; i++, c->p++) {
                    if (c->p >= c->end || !isxdigit((unsigned char)*c->p))
                        return err_at(c, c->p, "bad \\u escape");
                    v = v * 16 + (unsigned)(isdigit((unsigned char)*c->p)
                                                ? *c->p - '0'
                                                : tolower((unsigned char)*c->p) - 'a' + 10);
                }
                ch = v < 0x80 ? (char)v : '?';
                break;
            }
            default:
                return err_at(c, c->p - 1, "bad escape '\\%c'", ch);
            }
        }
        if (n && k + 1 < n)
            out[k] = ch;
        k++;
    }
    if (n)
        out[k < n ? k : n - 1] = 0;
    if (len)
        *len = k;
    return 0;
}

static int json_number(cur *c, double *v)
{
    char buf[64], *end, b[16];
    size_t k = 0;
    ws(c);
    while (c->p + k < c->end && k < sizeof buf - 1 && strchr("+-0123456789.eE", c->p[k]) &&
           c->p[k])
        k++;
    memcpy(buf, c->p, k);
    buf[k] = 0;
    *v = k ? strtod(buf, &end) : 0;
    if (!k || *end || !isfinite(*v))
        return err_at(c, c->p, "expected a number, found %s", what(c, b, sizeof b));
    c->p += k;
    return 0;
}

static int json_count(cur *c, long *v)
{
    double d;
    const char *at;
    ws(c);
    at = c->p;
    if (json_number(c, &d))
        return -1;
    if (d < 0 || d > COUNT_MAX || d != floor(d))
        return err_at(c, at, "%.*s: not a count", (int)(c->p - at), at);
    *v = (long)d;
    return 0;
}

static int json_skip(cur *c, int depth)
{
    char b[16];
    double d;
    ws(c);
    if (depth > DEPTH_MAX)
        return err_at(c, c->p, "nested deeper than %d", DEPTH_MAX);
    if (c->p >= c->end)
        return err_at(c, c->p, "expected a value, found the end");
    switch (*c->p) {
    case '"':
        return json_string(c, NULL, 0, NULL);
    case '{':
    case '[': {
        char close = *c->p == '{' ? '}' : ']';
        c->p++;
        if (peek(c, close)) {
            c->p++;
            return 0;
        }
        for (;;) {
            if (close == '}' && (json_string(c, NULL, 0, NULL) || expect(c, ':')))
                return -1;
            if (json_skip(c, depth + 1))
                return -1;
            if (peek(c, ',')) {
                c->p++;
                continue;
            }
            return expect(c, close);
        }
    }
    default:
        if (c->end - c->p >= 4 && (!memcmp(c->p, "true", 4) || !memcmp(c->p, "null", 4))) {
            c->p += 4;
            return 0;
        }
        if (c->end - c->p >= 5 && !memcmp(c->p, "false", 5)) {
            c->p += 5;
            return 0;
        }
        if (*c->p == '-' || isdigit((unsigned char)*c->p))
            return json_number(c, &d);
        return err_at(c, c->p, "expected a value, found %s", what(c, b, sizeof b));
    }
}

/* A comma-separated list up to close: calls item() for each element. */
static int json_list(cur *c, char close, int (*item)(cur *c, int i, void *arg), void *arg)
{
    int i = 0;
    if (peek(c, close)) {
        c->p++;
        return 0;
    }
    for (;; i++) {
        if (item(c, i, arg))
            return -1;
        if (peek(c, ',')) {
            c->p++;
            continue;
        }
        return expect(c, close);
    }
}

/* What the JSON object holds, before it is checked. */
typedef struct found {
    fer_plot_report *r;
    int nclasses, nrows, rowlen[FER_PLOT_MAXK];
    const char *rowat[FER_PLOT_MAXK], *classes_at, *confusion_at;
    double accuracy;
    long n;
    int row;                /* the row being read */
} found;

static int class_item(cur *c, int i, void *arg)
{
    found *f = arg;
    size_t len;
    const char *at;
    ws(c);
    at = c->p;
    if (i >= FER_PLOT_MAXK)
        return err_at(c, at, "more than %d classes", FER_PLOT_MAXK);
    if (json_string(c, f->r->classes[i], FER_PLOT_NAME_MAX, &len))
        return -1;
    if (len == 0 || len >= FER_PLOT_NAME_MAX)
        return err_at(c, at, "class %d: name of %zu bytes, expected 1..%d", i, len,
                      FER_PLOT_NAME_MAX - 1);
    f->nclasses = i + 1;
    return 0;
}

static int count_item(cur *c, int j, void *arg)
{
    found *f = arg;
    ws(c);
    if (j >= FER_PLOT_MAXK)
        return err_at(c, c->p, "confusion row %d: more than %d values", f->row + 1, FER_PLOT_MAXK);
    if (json_count(c, &f->r->counts[f->row * FER_PLOT_MAXK + j]))
        return -1;
    f->rowlen[f->row] = j + 1;
    return 0;
}

static int row_item(cur *c, int i, void *arg)
{
    found *f = arg;
    ws(c);
    if (i >= FER_PLOT_MAXK)
        return err_at(c, c->p, "confusion: more than %d rows", FER_PLOT_MAXK);
    f->row = i;
    f->rowat[i] = c->p;
    f->rowlen[i] = 0;
    f->nrows = i + 1;
    return expect(c, '[') || json_list(c, ']', count_item, f);
}

static int member(cur *c, int i, void *arg)
{
    found *f = arg;
    char key[32];
    double d;
    const char *at;
    (void)i;
    if (json_string(c, key, sizeof key, NULL) || expect(c, ':'))
        return -1;
    ws(c);
    at = c->p;
    if (!strcmp(key, "classes")) {
        f->classes_at = at;
        return expect(c, '[') || json_list(c, ']', class_item, f);
    }
    if (!strcmp(key, "confusion")) {
        f->confusion_at = at;
        return expect(c, '[') || json_list(c, ']', row_item, f);
    }
    if (!strcmp(key, "accuracy")) {
        if (json_number(c, &d))
            return -1;
        if (d < 0 || d > 1)
            return err_at(c, at, "accuracy %g: not in 0..1", d);
        f->accuracy = d;
        return 0;
    }
    if (!strcmp(key, "n"))
        return json_count(c, &f->n);
    return json_skip(c, 1);
}

/* Moves the rows read at stride FER_PLOT_MAXK to stride k. */
static void compact(fer_plot_report *r)
{
    for (int i = 0; i < r->k; i++)
        memmove(r->counts + i * r->k, r->counts + i * FER_PLOT_MAXK, r->k * sizeof *r->counts);
}

/* Sum and accuracy from the counts: exact, where the report's figure is
 * rounded (to 4 decimals in the text report), so that both layouts give
 * the same picture. The report's accuracy stands for an empty matrix. */
static int finish(const cur *c, fer_plot_report *r, double acc, long n)
{
    long sum = 0, diag = 0;
    for (int i = 0; i < r->k; i++)
        for (int j = 0; j < r->k; j++) {
            long v = r->counts[i * r->k + j];
            if (sum > (long)COUNT_MAX - v)
                return fer_seterr("%s: the counts add up to more than %.0e", c->name, COUNT_MAX);
            sum += v;
            if (i == j)
                diag += v;
        }
    if (n >= 0 && n != sum)
        return fer_seterr("%s: n is %ld, the confusion matrix counts %ld", c->name, n, sum);
    r->n = sum;
    r->accuracy = sum ? (double)diag / sum : acc >= 0 ? acc : 0;
    return 0;
}

static int read_json(cur *c, fer_plot_report *r)
{
    found *f = calloc(1, sizeof *f);
    int rc = -1;
    if (!f)
        return fer_seterr("%s: out of memory", c->name);
    f->r = r;
    f->accuracy = -1;
    f->n = -1;
    if (expect(c, '{') || json_list(c, '}', member, f))
        goto out;
    ws(c);
    if (c->p < c->end) {
        err_at(c, c->p, "text after the JSON object");
        goto out;
    }
    if (!f->classes_at || !f->confusion_at) {
        fer_seterr("%s: no \"%s\" key: not a fer-eval report", c->name,
                   f->classes_at ? "confusion" : "classes");
        goto out;
    }
    if (!f->nclasses) {
        err_at(c, f->classes_at, "no classes");
        goto out;
    }
    if (f->nrows != f->nclasses) {
        err_at(c, f->confusion_at, "confusion: %d rows, expected %d (the classes)", f->nrows,
               f->nclasses);
        goto out;
    }
    for (int i = 0; i < f->nrows; i++)
        if (f->rowlen[i] != f->nclasses) {
            err_at(c, f->rowat[i], "confusion row %d: %d values, expected %d", i + 1, f->rowlen[i],
                   f->nclasses);
            goto out;
        }
    r->k = f->nclasses;
    compact(r);
    rc = finish(c, r, f->accuracy, f->n);
out:
    free(f);
    return rc;
}

/* The next line of the text report into [*s, *e); 0 at the end. */
static int text_line(cur *c, const char **s, const char **e)
{
    const char *nl;
    if (c->p >= c->end)
        return 0;
    nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
    *s = c->p;
    *e = nl ? nl : c->end;
    c->p = nl ? nl + 1 : c->end;
    if (*e > *s && (*e)[-1] == '\r')
        (*e)--;
    return 1;
}

static int blank(const char *s, const char *e)
{
    for (; s < e; s++)
        if (!isspace((unsigned char)*s))
            return 0;
    return 1;
}

/* Splits [s, e) at blanks into at most max words (start, end pairs);
 * returns their number, or max + 1 when there are more. */
static int words(const char *s, const char *e, const char **ws_, const char **we, int max)
{
    int n = 0;
    while (s < e) {
        while (s < e && isspace((unsigned char)*s))
            s++;
        if (s == e)
            break;
        if (n == max)
            return max + 1;
        ws_[n] = s;
        while (s < e && !isspace((unsigned char)*s))
            s++;
        we[n++] = s;
    }
    return n;
}

static int read_text(cur *c, fer_plot_report *r)
{
    const char *s, *e, *wsv[FER_PLOT_MAXK + 2], *wev[FER_PLOT_MAXK + 2];
    char buf[64], *end;
    double acc;
    int k;
    /* "accuracy 0.6467 (2321 of 3589)" */
    do
        if (!text_line(c, &s, &e))
            return fer_seterr("%s:1: empty file", c->name);
    while (blank(s, e));
    if (words(s, e, wsv, wev, 2) < 2 || wev[0] - wsv[0] != 8 || memcmp(wsv[0], "accuracy", 8) ||
        wev[1] - wsv[1] >= (long)sizeof buf)
        return err_at(c, s, "not a fer-eval report: no \"accuracy\" line");
    memcpy(buf, wsv[1], (size_t)(wev[1] - wsv[1]));
    buf[wev[1] - wsv[1]] = 0;
    acc = strtod(buf, &end);
    if (*end || end == buf || !(acc >= 0 && acc <= 1))
        return err_at(c, s, "accuracy '%s': not a number in 0..1", buf);
    do
        if (!text_line(c, &s, &e))
            return err_at(c, c->p, "no \"confusion matrix\" line");
    while (e - s < 16 || memcmp(s, "confusion matrix", 16));
    do
        if (!text_line(c, &s, &e))
            return err_at(c, c->p, "the confusion matrix has no header line");
    while (blank(s, e));
    k = words(s, e, wsv, wev, FER_PLOT_MAXK);
    if (k > FER_PLOT_MAXK)
        return err_at(c, s, "more than %d classes", FER_PLOT_MAXK);
    r->k = k;
    for (int i = 0; i < k; i++) {
        const char *rs;
        int nw;
        size_t len;
        if (!text_line(c, &s, &e))
            return err_at(c, c->p, "confusion matrix: %d rows, expected %d", i, k);
        if (blank(s, e))
            return err_at(c, s, "confusion matrix: %d rows, expected %d", i, k);
        nw = words(s, e, wsv, wev, FER_PLOT_MAXK + 2);
        if (nw > FER_PLOT_MAXK + 1 || nw < k + 1)
            return err_at(c, s, "%d counts, expected %d", nw > FER_PLOT_MAXK + 1 ? nw : nw - 1, k);
        /* the class name is the first word; the counts are the rest */
        for (int j = 0; j < k; j++) {
            const char *w = wsv[nw - k + j];
            size_t wl = (size_t)(wev[nw - k + j] - w);
            double v;
            if (wl >= sizeof buf)
                wl = sizeof buf - 1;
            memcpy(buf, w, wl);
            buf[wl] = 0;
            v = strtod(buf, &end);
            if (*end || end == buf || v < 0 || v > COUNT_MAX || v != floor(v))
                return err_at(c, s, "'%s': not a count", buf);
            r->counts[i * FER_PLOT_MAXK + j] = (long)v;
        }
        if (nw != k + 1)
            return err_at(c, s, "%d counts, expected %d", nw - 1, k);
        rs = wsv[0];
        len = (size_t)(wev[0] - rs);
        if (len >= FER_PLOT_NAME_MAX)
            return err_at(c, s, "class name of %zu bytes, expected at most %d", len,
                          FER_PLOT_NAME_MAX - 1);
        memcpy(r->classes[i], rs, len);
        r->classes[i][len] = 0;
    }
    compact(r);
    return finish(c, r, acc, -1);
}

int fer_plot_read_report(const char *buf, size_t n, const char *name, fer_plot_report *r)
{
    cur c = {buf, buf, buf + n, name};
    memset(r, 0, sizeof *r);
    if (n >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
        c.p += 3;
    ws(&c);
    if (c.p == c.end)
        return fer_seterr("%s:1: empty file", name);
    if (memchr(buf, 0, n))
        return fer_seterr("%s: a NUL byte: not a text file", name);
    if (*c.p == '{')
        return read_json(&c, r);
    return read_text(&c, r);
}
