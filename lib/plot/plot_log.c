/* plot_log.c: reading fer-train's and fer-anneal's CSV logs (see
 * plot_log.h); fer-eval's reports are read by plot_report.c. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "parse.h"
#include "plot_log.h"

#define LINE_MAX_BYTES 4096
#define FIELDS_MAX 64

int fer_plot_slurp(const char *path, char **buf, size_t *len)
{
    int is_stdin = !strcmp(path, "-");
    const char *name = is_stdin ? "stdin" : path;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    size_t n = 0, cap = 1 << 16;
    char *b;
    *buf = NULL;
    *len = 0;
    if (!f)
        return fer_seterr("%s: %s", name, strerror(errno));
    if (!(b = malloc(cap + 1))) {
        if (!is_stdin)
            fclose(f);
        return fer_seterr("%s: out of memory", name);
    }
    for (;;) {
        size_t got;
        if (n == cap) {
            char *nb;
            if (cap >= (size_t)FER_PLOT_INPUT_MAX) {
                errno = EFBIG;
                break;
            }
            cap *= 2;
            if (!(nb = realloc(b, cap + 1))) {
                errno = ENOMEM;
                break;
            }
            b = nb;
        }
        got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (n == cap || ferror(f)) {
        int e = errno;
        if (!is_stdin)
            fclose(f);
        free(b);
        if (n == cap && e == EFBIG)
            return fer_seterr("%s: larger than %ld MiB", name, FER_PLOT_INPUT_MAX >> 20);
        return fer_seterr("%s: %s", name, e == ENOMEM ? "out of memory" : strerror(e));
    }
    if (!is_stdin)
        fclose(f);
    b[n] = 0;
    *buf = b;
    *len = n;
    return 0;
}

const char *fer_plot_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!strcmp(path, "-"))
        return "stdin";
    return slash && slash[1] ? slash + 1 : path;
}

void fer_plot_names(const char *const *paths, int n, const char **names)
{
    for (int i = 0; i < n; i++) {
        names[i] = fer_plot_basename(paths[i]);
        for (int j = 0; j < n; j++)
            if (j != i && !strcmp(names[i], fer_plot_basename(paths[j])))
                names[i] = strcmp(paths[i], "-") ? paths[i] : "stdin";
    }
}

/* Bounded search for the string s in the n bytes at p. */
static const char *find(const char *p, size_t n, const char *s)
{
    size_t k = strlen(s);
    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (!memcmp(p + i, s, k))
            return p + i;
    return NULL;
}

static const char *skip_bom_space(const char *p, const char *end)
{
    if (end - p >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
        p += 3;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

enum fer_plot_kind fer_plot_detect(const char *buf, size_t n)
{
    const char *end = buf + n, *p = skip_bom_space(buf, end);
    size_t rest = (size_t)(end - p);
    if (rest && *p == '{')
        return find(p, rest, "\"confusion\"") ? FER_PLOT_CONFUSION : FER_PLOT_UNKNOWN;
    if (rest >= 6 && !strncasecmp(p, "epoch,", 6))
        return FER_PLOT_CURVES;
    if (rest >= 6 && !strncasecmp(p, "trial,", 6))
        return FER_PLOT_ANNEAL;
    if (rest >= 9 && !memcmp(p, "accuracy ", 9) && find(p, rest, "\nconfusion matrix"))
        return FER_PLOT_CONFUSION;
    return FER_PLOT_UNKNOWN;
}

/* A CSV text read line by line, with the fields of the current line. */
typedef struct csv {
    const char *p, *end, *name;
    long line;                      /* 1-based number of the current line */
    char buf[LINE_MAX_BYTES];
    char *f[FIELDS_MAX];
    int nf;
} csv;

static int csv_err(const csv *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int csv_err(const csv *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fer_seterr("%s:%ld: %s", c->name, c->line, msg);
}

static char *trim(char *s)
{
    char *e = s + strlen(s);
    while (*s == ' ' || *s == '\t')
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *e = 0;
    if (e - s >= 2 && *s == '"' && e[-1] == '"') {
        e[-1] = 0;
        s++;
    }
    return s;
}

/* Reads the next line that is not blank and splits it at commas. 1 for a
 * line, 0 at the end, -1 for a line too long or with too many fields. */
static int csv_next(csv *c)
{
    for (;;) {
        const char *s = c->p, *e;
        size_t len;
        int blank = 1;
        if (s >= c->end)
            return 0;
        e = memchr(s, '\n', (size_t)(c->end - s));
        if (!e)
            e = c->end;
        c->p = e < c->end ? e + 1 : e;
        c->line++;
        len = (size_t)(e - s);
        if (len && s[len - 1] == '\r')
            len--;
        for (size_t i = 0; i < len && blank; i++)
            blank = s[i] == ' ' || s[i] == '\t';
        if (blank)
            continue;
        if (len >= sizeof c->buf)
            return csv_err(c, "line longer than %d bytes", LINE_MAX_BYTES - 1);
        if (memchr(s, 0, len))
            return csv_err(c, "a NUL byte: not a text file");
        memcpy(c->buf, s, len);
        c->buf[len] = 0;
        c->nf = 0;
        for (char *q = c->buf;;) {
            char *comma = strchr(q, ',');
            if (c->nf == FIELDS_MAX)
                return csv_err(c, "more than %d fields", FIELDS_MAX);
            if (comma)
                *comma = 0;
            c->f[c->nf++] = trim(q);
            if (!comma)
                break;
            q = comma + 1;
        }
        return 1;
    }
}

/* The columns a log's reader looks for: their names and, after a header
 * line, their field indexes (-1: absent). */
typedef struct column {
    const char *name;
    int required;
    int at;
} column;

static int map_header(csv *c, column *cols, int ncols, int *nfields)
{
    for (int j = 0; j < ncols; j++) {
        cols[j].at = -1;
        for (int i = 0; i < c->nf; i++)
            if (!strcasecmp(c->f[i], cols[j].name)) {
                cols[j].at = i;
                break;
            }
        if (cols[j].at < 0 && cols[j].required)
            return csv_err(c, "no '%s' column in the header", cols[j].name);
    }
    *nfields = c->nf;
    return 0;
}

static int missing(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    return !*s || !strcasecmp(s, "nan") || !strcasecmp(s, "inf") || !strcasecmp(s, "infinity");
}

/* The value of column col in the current row: NAN when it is absent or
 * missing. 0 or -1. */
static int get_num(csv *c, const column *col, double *v)
{
    const char *s;
    *v = NAN;
    if (col->at < 0 || missing(s = c->f[col->at]))
        return 0;
    if (fer_parse_double(s, -DBL_MAX, DBL_MAX, v))
        return csv_err(c, "%s: '%s': not a number", col->name, s);
    return 0;
}

/* A whole number in [lo, hi]; empty or absent gives dflt, or an error
 * for a required column. */
static int get_int(csv *c, const column *col, long lo, long hi, long dflt, long *v)
{
    const char *s;
    *v = dflt;
    if (col->at < 0 || !*(s = c->f[col->at])) {
        if (col->required)
            return csv_err(c, "%s: empty", col->name);
        return 0;
    }
    if (fer_parse_long(s, lo, hi, v)) {
        if (hi - lo == 1)
            return csv_err(c, "%s: '%s': not %ld or %ld", col->name, s, lo, hi);
        return csv_err(c, "%s: '%s': not a whole number in %ld..%ld", col->name, s, lo, hi);
    }
    return 0;
}

/* Reads the rows of a log whose header starts with head: calls row() for
 * each data row after mapping cols from the latest header line. */
static int read_rows(csv *c, const char *head, const char *what, column *cols, int ncols,
                     int (*row)(csv *c, const column *cols, void *arg), void *arg)
{
    int r, nfields = 0, header = 0;
    if (c->p == c->end)
        return fer_seterr("%s:1: empty file", c->name);
    if (c->end - c->p >= 3 && !memcmp(c->p, "\xef\xbb\xbf", 3))
        c->p += 3;
    while ((r = csv_next(c)) == 1) {
        if (!strcasecmp(c->f[0], head)) {
            if (map_header(c, cols, ncols, &nfields))
                return -1;
            header = 1;
            continue;
        }
        if (!header)
            return csv_err(c, "not %s: the first line is not a header starting \"%s,\"", what,
                           head);
        if (c->nf != nfields)
            return csv_err(c, "%d field%s, expected %d", c->nf, c->nf == 1 ? "" : "s", nfields);
        if (row(c, cols, arg))
            return -1;
    }
    if (r < 0)
        return -1;
    if (!header)
        return fer_seterr("%s:1: empty file", c->name);
    return 0;
}

/* A growing array of fixed-size rows. */
typedef struct rows {
    char *v;
    size_t n, cap, size;
} rows;

static void *rows_add(rows *r)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        char *v = realloc(r->v, cap * r->size);
        if (!v)
            return NULL;
        r->v = v;
        r->cap = cap;
    }
    return r->v + r->n++ * r->size;
}

/* Training logs. */

typedef struct train_row {
    long order;
    double epoch, train_loss, train_acc, val_loss, val_acc, lr;
} train_row;

enum { T_EPOCH, T_TLOSS, T_TACC, T_VLOSS, T_VACC, T_LR, T_NCOLS };

static int train_row_read(csv *c, const column *cols, void *arg)
{
    rows *r = arg;
    train_row t;
    long e;
    void *slot;
    if (get_int(c, &cols[T_EPOCH], 0, 100000000, 0, &e) ||
        get_num(c, &cols[T_TLOSS], &t.train_loss) || get_num(c, &cols[T_TACC], &t.train_acc) ||
        get_num(c, &cols[T_VLOSS], &t.val_loss) || get_num(c, &cols[T_VACC], &t.val_acc) ||
        get_num(c, &cols[T_LR], &t.lr))
        return -1;
    t.epoch = (double)e;
    t.order = (long)r->n;
    if (r->n >= 10000000 || !(slot = rows_add(r)))
        return csv_err(c, "out of memory");
    memcpy(slot, &t, sizeof t);
    return 0;
}

/* By epoch, and the later row of an epoch after the earlier. */
static int train_cmp(const void *a, const void *b)
{
    const train_row *x = a, *y = b;
    if (x->epoch != y->epoch)
        return x->epoch < y->epoch ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

void fer_plot_epochs_free(fer_plot_epochs *log)
{
    if (log) {
        free(log->epoch);
        memset(log, 0, sizeof *log);
    }
}

int fer_plot_read_train(const char *buf, size_t n, const char *name, fer_plot_epochs *log)
{
    column cols[T_NCOLS] = {{"epoch", 1, -1},    {"train_loss", 1, -1}, {"train_acc", 1, -1},
                            {"val_loss", 1, -1}, {"val_acc", 1, -1},    {"lr", 0, -1}};
    csv *c = malloc(sizeof *c);
    rows r = {NULL, 0, 0, sizeof(train_row)};
    int m = 0;
    memset(log, 0, sizeof *log);
    if (!c)
        return fer_seterr("%s: out of memory", name);
    c->p = buf;
    c->end = buf + n;
    c->name = name;
    c->line = 0;
    if (read_rows(c, "epoch", "a training log", cols, T_NCOLS, train_row_read, &r))
        goto fail;
    if (!r.n) {
        fer_seterr("%s:%ld: no epochs after the header", name, c->line);
        goto fail;
    }
    qsort(r.v, r.n, r.size, train_cmp);
    if (!(log->epoch = malloc(r.n * 6 * sizeof(double)))) {
        fer_seterr("%s: out of memory", name);
        goto fail;
    }
    log->train_loss = log->epoch + r.n;
    log->train_acc = log->epoch + 2 * r.n;
    log->val_loss = log->epoch + 3 * r.n;
    log->val_acc = log->epoch + 4 * r.n;
    log->lr = log->epoch + 5 * r.n;
    for (size_t i = 0; i < r.n; i++) {
        const train_row *t = (const train_row *)(r.v + i * r.size);
        if (i + 1 < r.n && ((const train_row *)(r.v + (i + 1) * r.size))->epoch == t->epoch)
            continue;       /* a later row has this epoch */
        log->epoch[m] = t->epoch;
        log->train_loss[m] = t->train_loss;
        log->train_acc[m] = t->train_acc;
        log->val_loss[m] = t->val_loss;
        log->val_acc[m] = t->val_acc;
        log->lr[m] = t->lr;
        m++;
    }
    log->n = m;
    free(r.v);
    free(c);
    return 0;
fail:
    free(r.v);
    free(c);
    fer_plot_epochs_free(log);
    return -1;
}

/* Anneal logs. */

typedef struct anneal_row {
    long order;
    double trial, score, best, temperature;
    int chain, accepted, stopped;
} anneal_row;

enum { A_TRIAL, A_SCORE, A_CHAIN, A_ACC, A_BEST, A_TEMP, A_STOP, A_NCOLS };

static int anneal_row_read(csv *c, const column *cols, void *arg)
{
    rows *r = arg;
    anneal_row a;
    long trial, chain, acc, stop;
    void *slot;
    if (get_int(c, &cols[A_TRIAL], 0, 1000000000, 0, &trial) ||
        get_num(c, &cols[A_SCORE], &a.score) || get_int(c, &cols[A_CHAIN], 0, 1000000, 0, &chain) ||
        get_int(c, &cols[A_ACC], 0, 1, -1, &acc) || get_num(c, &cols[A_BEST], &a.best) ||
        get_num(c, &cols[A_TEMP], &a.temperature) ||
        get_int(c, &cols[A_STOP], 0, 1, 0, &stop))
        return -1;
    a.trial = (double)trial;
    a.chain = (int)chain;
    a.accepted = (int)acc;
    a.stopped = (int)stop;
    a.order = (long)r->n;
    if (r->n >= 10000000 || !(slot = rows_add(r)))
        return csv_err(c, "out of memory");
    memcpy(slot, &a, sizeof a);
    return 0;
}

static int anneal_cmp(const void *a, const void *b)
{
    const anneal_row *x = a, *y = b;
    if (x->trial != y->trial)
        return x->trial < y->trial ? -1 : 1;
    if (x->chain != y->chain)
        return x->chain < y->chain ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

void fer_plot_trials_free(fer_plot_trials *log)
{
    if (log) {
        free(log->trial);
        free(log->chain);
        memset(log, 0, sizeof *log);
    }
}

int fer_plot_read_anneal(const char *buf, size_t n, const char *name, fer_plot_trials *log)
{
    column cols[A_NCOLS] = {{"trial", 1, -1},       {"score", 1, -1}, {"chain", 0, -1},
                            {"accepted", 0, -1},    {"best", 0, -1},  {"temperature", 0, -1},
                            {"stopped_early", 0, -1}};
    csv *c = malloc(sizeof *c);
    rows r = {NULL, 0, 0, sizeof(anneal_row)};
    double best = NAN;
    int m = 0;
    memset(log, 0, sizeof *log);
    if (!c)
        return fer_seterr("%s: out of memory", name);
    c->p = buf;
    c->end = buf + n;
    c->name = name;
    c->line = 0;
    if (read_rows(c, "trial", "an anneal log", cols, A_NCOLS, anneal_row_read, &r))
        goto fail;
    if (!r.n) {
        fer_seterr("%s:%ld: no trials after the header", name, c->line);
        goto fail;
    }
    qsort(r.v, r.n, r.size, anneal_cmp);
    log->trial = malloc(r.n * 4 * sizeof(double));
    log->chain = malloc(r.n * 3 * sizeof(int));
    if (!log->trial || !log->chain) {
        fer_seterr("%s: out of memory", name);
        goto fail;
    }
    log->score = log->trial + r.n;
    log->best = log->trial + 2 * r.n;
    log->temperature = log->trial + 3 * r.n;
    log->accepted = log->chain + r.n;
    log->stopped = log->chain + 2 * r.n;
    for (size_t i = 0; i < r.n; i++) {
        const anneal_row *a = (const anneal_row *)(r.v + i * r.size);
        const anneal_row *b = i + 1 < r.n ? (const anneal_row *)(r.v + (i + 1) * r.size) : NULL;
        if (b && b->trial == a->trial && b->chain == a->chain)
            continue;
        if (isfinite(a->score) && !(a->score <= best))
            best = a->score;
        if (isfinite(a->best))
            best = a->best;
        log->trial[m] = a->trial;
        log->score[m] = a->score;
        log->best[m] = best;
        log->temperature[m] = a->temperature;
        log->chain[m] = a->chain;
        log->accepted[m] = a->accepted;
        log->stopped[m] = a->stopped;
        m++;
    }
    log->n = m;
    free(r.v);
    free(c);
    return 0;
fail:
    free(r.v);
    free(c);
    fer_plot_trials_free(log);
    return -1;
}
