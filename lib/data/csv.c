/* csv.c: the FER2013 CSV reader (see csv.h).
 *
 * Input bytes go through fread into `in`; gzip is inflated with zlib's
 * inflate() (not gzopen, which cannot read a FILE whose first bytes were
 * peeked and pushed back) into the text buffer, where lines are cut with
 * memchr and parsed in place. Each line ends in a byte that is neither a
 * digit nor a blank ('\n', '\r', or one written there), so the digit loops
 * need no bounds test. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "csv.h"
#include "error.h"

#define IN_SIZE (1 << 18)      /* raw (compressed) bytes per fread */
#define BUF_SIZE (1 << 21)     /* text buffer, well above FER_CSV_LINE_MAX */
#define COLS_MAX 16

enum col { COL_OTHER, COL_EMOTION, COL_PIXELS, COL_USAGE };

struct fer_csv {
    FILE *f;
    char *name;
    unsigned char *in;          /* raw input, gzip only */
    z_stream z;
    int gz, z_live;             /* gzip input; inflateInit2 done */
    int member_end;             /* a gzip member ended; another may follow */
    int raw_eof;                /* fread saw the end of the input */
    int text_eof;               /* no more text will come */
    char *buf;                  /* BUF_SIZE + 1 bytes of text */
    size_t beg, end;            /* buf[beg..end) is not parsed yet */
    long line;                  /* lines consumed, = number of the last one */
    int ncol;
    enum col cols[COLS_MAX];
    int usage_optional;         /* no header: emotion,pixels[,Usage] */
};

static int row_err(fer_csv *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "name:LINE: what" for a bad row; returns -1. */
static int row_err(fer_csv *r, const char *fmt, ...)
{
    char m[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return fer_seterr("%s:%ld: %s", r->name, r->line, m);
}

/* Appends text to buf[end..BUF_SIZE). Returns the number of bytes added,
 * 0 at the end of the text, -2 when the input failed. */
static long more_text(fer_csv *r)
{
    if (!r->gz) {
        size_t k;
        if (r->raw_eof)
            return 0;
        k = fread(r->buf + r->end, 1, BUF_SIZE - r->end, r->f);
        if (k < BUF_SIZE - r->end) {
            if (ferror(r->f)) {
                fer_seterr("%s: read error: %s", r->name, strerror(errno));
                return -2;
            }
            r->raw_eof = 1;
        }
        r->end += k;
        return (long)k;
    }
    for (;;) {
        size_t room = BUF_SIZE - r->end, got;
        int zr;
        if (r->z.avail_in == 0 && !r->raw_eof) {
            size_t k = fread(r->in, 1, IN_SIZE, r->f);
            if (k < IN_SIZE) {
                if (ferror(r->f)) {
                    fer_seterr("%s: read error: %s", r->name, strerror(errno));
                    return -2;
                }
                r->raw_eof = 1;
            }
            r->z.next_in = r->in;
            r->z.avail_in = (uInt)k;
        }
        if (r->member_end) {
            if (r->z.avail_in == 0)
                return 0;
            /* concatenated members, as `cat a.gz b.gz` makes */
            if (inflateReset(&r->z) != Z_OK) {
                fer_seterr("%s: gzip: cannot reset the decoder", r->name);
                return -2;
            }
            r->member_end = 0;
        }
        r->z.next_out = (unsigned char *)r->buf + r->end;
        r->z.avail_out = (uInt)room;
        zr = inflate(&r->z, Z_NO_FLUSH);
        got = room - r->z.avail_out;
        r->end += got;
        if (zr == Z_STREAM_END) {
            r->member_end = 1;
        } else if (zr != Z_OK && zr != Z_BUF_ERROR) {
            fer_seterr("%s: gzip: %s", r->name, r->z.msg ? r->z.msg : "corrupt data");
            return -2;
        }
        if (got)
            return (long)got;
        if (!r->member_end && r->z.avail_in == 0 && r->raw_eof) {
            fer_seterr("%s: truncated gzip data", r->name);
            return -2;
        }
    }
}

/* Stops the reader on input that is no CSV text (a NUL byte, a line
 * without end): the line being read is named, and nothing more is read,
 * so /dev/zero ends at once. Returns -2. */
static int text_err(fer_csv *r, int nul)
{
    r->line++;
    if (nul)
        row_err(r, "a NUL byte: binary data, not CSV text");
    else
        row_err(r, "line longer than %d bytes", FER_CSV_LINE_MAX);
    r->beg = r->end = 0;
    r->text_eof = 1;
    return -2;
}

/* Cuts the next line into [*s, *e), *e being the '\n' or '\r' (or a '\n'
 * written after a last line without one). Returns 1, 0 at the end, -2 when
 * the input failed or is no text (a NUL byte, a line over
 * FER_CSV_LINE_MAX). */
static int get_line(fer_csv *r, char **s, char **e)
{
    for (;;) {
        char *b = r->buf + r->beg, *nl = memchr(b, '\n', r->end - r->beg);
        long k;
        if (!nl && r->text_eof && r->beg < r->end) {
            nl = r->buf + r->end;   /* a last line without '\n' */
            *nl = '\n';
        }
        if (nl) {
            if (memchr(b, 0, (size_t)(nl - b)))
                return text_err(r, 1);
            if (nl - b > FER_CSV_LINE_MAX)
                return text_err(r, 0);
            r->beg = (size_t)(nl + 1 - r->buf);
            if (r->beg > r->end)
                r->beg = r->end;
            r->line++;
            *s = b;
            *e = nl > b && nl[-1] == '\r' ? nl - 1 : nl;
            return 1;
        }
        if (r->text_eof)
            return 0;
        if (memchr(b, 0, r->end - r->beg))
            return text_err(r, 1);
        if (r->end - r->beg >= FER_CSV_LINE_MAX)
            return text_err(r, 0);
        memmove(r->buf, b, r->end - r->beg);
        r->end -= r->beg;
        r->beg = 0;
        k = more_text(r);
        if (k < 0)
            return -2;
        if (k == 0)
            r->text_eof = 1;
    }
}

static int is_blank(int c) { return c == ' ' || c == '\t'; }

/* Trims blanks and one pair of double quotes around [*s, *e). */
static void trim(char **s, char **e)
{
    while (*s < *e && is_blank(**s))
        (*s)++;
    while (*e > *s && is_blank((*e)[-1]))
        (*e)--;
    if (*e - *s >= 2 && **s == '"' && (*e)[-1] == '"') {
        (*s)++;
        (*e)--;
    }
}

/* At most n bytes of a field, for messages. */
#define SHOW(s, e) (int)((e) - (s) > 24 ? 24 : (e) - (s)), (s)

static const char *col_name(enum col c)
{
    return c == COL_EMOTION ? "emotion" : c == COL_PIXELS ? "pixels" : c == COL_USAGE ? "Usage"
                                                                                       : "?";
}

/* Parses the pixel field [s, e); *e is not a digit or a blank. */
static int parse_pixels(fer_csv *r, const char *s, const char *e, uint8_t *px)
{
    const unsigned char *p = (const unsigned char *)s, *end = (const unsigned char *)e;
    int n = 0;
    while (is_blank(*p))
        p++;
    while (p < end) {
        const unsigned char *v0 = p;
        unsigned v = (unsigned)(*p - '0');
        if (v > 9)
            goto not_number;
        p++;
        while ((unsigned)(*p - '0') <= 9) {
            v = v * 10 + (unsigned)(*p - '0');
            p++;
            if (v > 255) {
                while ((unsigned)(*p - '0') <= 9)
                    p++;
                if (p < end && !is_blank(*p))
                    goto not_number;
                return row_err(r, "pixel %d is %.*s, outside 0-255", n + 1,
                               SHOW((const char *)v0, (const char *)p));
            }
        }
        if (p < end && !is_blank(*p))
            goto not_number;
        if (n < FER_CSV_PIXELS)
            px[n] = (uint8_t)v;
        n++;
        while (is_blank(*p))
            p++;
        continue;
    not_number:
        p = v0;
        while (p < end && !is_blank(*p))
            p++;
        return row_err(r, "pixel %d is '%.*s', not a number", n + 1,
                       SHOW((const char *)v0, (const char *)p));
    }
    if (n != FER_CSV_PIXELS)
        return row_err(r, "%d pixels, expected %d", n, FER_CSV_PIXELS);
    return 0;
}

static int parse_label(fer_csv *r, char *s, char *e, int *label)
{
    int v = 0;
    trim(&s, &e);
    if (s == e || e - s > 9)
        goto not_number;
    for (char *p = s; p < e; p++) {
        if ((unsigned)(*p - '0') > 9)
            goto not_number;
        v = v * 10 + (*p - '0');
    }
    if (v > 6)
        return row_err(r, "emotion %.*s outside 0-6", SHOW(s, e));
    *label = v;
    return 0;
not_number:
    return row_err(r, "emotion '%.*s' is not a number", SHOW(s, e));
}

static int parse_usage(fer_csv *r, char *s, char *e, int *usage)
{
    static const char *const names[FER_NUSAGE] = {"Training", "PublicTest", "PrivateTest"};
    trim(&s, &e);
    for (int u = 0; u < FER_NUSAGE; u++)
        if ((size_t)(e - s) == strlen(names[u]) && !memcmp(s, names[u], e - s)) {
            *usage = u;
            return 0;
        }
    return row_err(r, "unknown Usage '%.*s' (Training, PublicTest or PrivateTest)", SHOW(s, e));
}

/* Splits a data line into fields and parses each by its column. */
static int parse_row(fer_csv *r, char *s, char *e, uint8_t *px, int *label, int *usage)
{
    int nf = 0, lab = -1, use = FER_NOUSAGE;
    char *p = s;
    for (;;) {
        char *fs = p, *fe = memchr(p, ',', (size_t)(e - p));
        enum col c = nf < r->ncol ? r->cols[nf] : COL_OTHER;
        if (!fe)
            fe = e;
        if (nf >= r->ncol)
            return row_err(r, "more than %d fields", r->ncol);
        if (c == COL_PIXELS) {
            while (fs < fe && is_blank(*fs))
                fs++;
            if (fs < fe && *fs == '"') {   /* "..." : stop at the quote */
                char *q;
                fs++;
                q = memchr(fs, '"', (size_t)(fe - fs));
                if (!q)
                    return row_err(r, "unterminated quote in the pixels field");
                fe = q;
            }
            if (parse_pixels(r, fs, fe, px))
                return -1;
        } else if (c == COL_EMOTION) {
            if (parse_label(r, fs, fe, &lab))
                return -1;
        } else if (c == COL_USAGE) {
            if (parse_usage(r, fs, fe, &use))
                return -1;
        }
        nf++;
        p = memchr(fe, ',', (size_t)(e - fe));
        if (!p)
            break;
        p++;
    }
    if (nf < r->ncol && !(r->usage_optional && nf == r->ncol - 1)) {
        enum col c = r->cols[nf];
        if (c == COL_OTHER)
            return row_err(r, "%d fields, expected %d", nf, r->ncol);
        return row_err(r, "missing %s field (%d fields, expected %d)", col_name(c), nf,
                       r->ncol);
    }
    *label = lab;
    *usage = use;
    return 0;
}

/* Reads the header line, or sets the default columns when the first line
 * is data (its first non-blank byte a digit); that line is then kept for
 * fer_csv_next. */
static int read_header(fer_csv *r)
{
    char *s, *e, *p;
    int k, has_px = 0;
    size_t beg0;
    do {
        k = get_line(r, &s, &e);
        if (k < 0)
            return k;
        if (k == 0) {
            r->ncol = 0;    /* an empty file: no rows */
            return 0;
        }
    } while (s == e);
    beg0 = (size_t)(s - r->buf);
    if (e - s >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
        s += 3;             /* a UTF-8 byte-order mark */
    for (p = s; p < e && (is_blank(*p) || *p == '"'); p++)
        ;
    if (p < e && (unsigned)(*p - '0') <= 9) {
        r->ncol = 3;
        r->cols[0] = COL_EMOTION;
        r->cols[1] = COL_PIXELS;
        r->cols[2] = COL_USAGE;
        r->usage_optional = 1;
        r->beg = beg0;      /* the line is still in the buffer: read it again */
        r->line--;
        return 0;
    }
    for (p = s;;) {
        char *fs = p, *fe = memchr(p, ',', (size_t)(e - p));
        enum col c = COL_OTHER;
        if (!fe)
            fe = e;
        trim(&fs, &fe);
        if (r->ncol == COLS_MAX)
            return row_err(r, "more than %d columns in the header", COLS_MAX);
        if ((size_t)(fe - fs) == 7 && !strncasecmp(fs, "emotion", 7))
            c = COL_EMOTION;
        else if ((size_t)(fe - fs) == 6 && !strncasecmp(fs, "pixels", 6))
            c = COL_PIXELS;
        else if ((size_t)(fe - fs) == 5 && !strncasecmp(fs, "usage", 5))
            c = COL_USAGE;
        for (int i = 0; i < r->ncol; i++)
            if (c != COL_OTHER && r->cols[i] == c)
                return row_err(r, "column '%s' twice in the header", col_name(c));
        has_px |= c == COL_PIXELS;
        r->cols[r->ncol++] = c;
        p = memchr(p, ',', (size_t)(e - p));
        if (!p)
            break;
        p++;
    }
    if (!has_px)
        return row_err(r, "no 'pixels' column in the header '%.*s'", SHOW(s, e));
    return 0;
}

fer_csv *fer_csv_from(FILE *f, const char *name)
{
    fer_csv *r = calloc(1, sizeof *r);
    size_t k;
    if (!r || !(r->name = strdup(name)) || !(r->buf = malloc(BUF_SIZE + 1))) {
        fer_seterr("out of memory");
        goto fail;
    }
    r->f = f;
    /* The first bytes decide between gzip and text. */
    k = fread(r->buf, 1, IN_SIZE, f);
    if (k < IN_SIZE) {
        if (ferror(f)) {
            fer_seterr("%s: read error: %s", name, strerror(errno));
            goto fail;
        }
        r->raw_eof = 1;
    }
    if (k >= 2 && (unsigned char)r->buf[0] == 0x1f && (unsigned char)r->buf[1] == 0x8b) {
        r->gz = 1;
        if (!(r->in = malloc(IN_SIZE))) {
            fer_seterr("out of memory");
            goto fail;
        }
        memcpy(r->in, r->buf, k);
        if (inflateInit2(&r->z, 16 + MAX_WBITS) != Z_OK) {
            fer_seterr("%s: gzip: cannot start the decoder", name);
            goto fail;
        }
        r->z_live = 1;
        r->z.next_in = r->in;
        r->z.avail_in = (uInt)k;
    } else {
        r->end = k;
    }
    if (read_header(r))
        goto fail;
    return r;
fail:
    fer_csv_close(r);
    return NULL;
}

void fer_csv_close(fer_csv *r)
{
    if (!r)
        return;
    if (r->z_live)
        inflateEnd(&r->z);
    free(r->in);
    free(r->buf);
    free(r->name);
    free(r);
}

long fer_csv_line(const fer_csv *r) { return r->line; }

int fer_csv_next(fer_csv *r, uint8_t *px, int *label, int *usage)
{
    char *s, *e;
    int k;
    if (r->ncol == 0)
        return 0;
    do {
        k = get_line(r, &s, &e);
        if (k <= 0)
            return k;
    } while (s == e);       /* blank lines are not rows */
    return parse_row(r, s, e, px, label, usage) ? -1 : 1;
}

int fer_csv_read_file(FILE *f, const char *name, fer_dataset *d, const fer_csv_opts *opts,
                      fer_csv_stats *stats)
{
    fer_csv_opts o0 = {0, 0};
    fer_csv_stats st0;
    fer_csv *r;
    uint8_t px[FER_CSV_PIXELS];
    int label, usage, k;

    if (!opts)
        opts = &o0;
    if (!stats)
        stats = &st0;
    memset(stats, 0, sizeof *stats);
    fer_dataset_init(d, 1, FER_CSV_SIDE, FER_CSV_SIDE);
    if (!(r = fer_csv_from(f, name)))
        return -1;
    while ((k = fer_csv_next(r, px, &label, &usage)) != 0) {
        unsigned bit;
        stats->rows++;
        if (k == -1 && opts->skip_bad) {
            if (!stats->bad++)
                snprintf(stats->first_bad, sizeof stats->first_bad, "%s", fer_error());
            continue;
        }
        if (k < 0)
            goto fail;
        bit = 1u << (usage == FER_NOUSAGE ? FER_NUSAGE : usage);
        if (opts->usages && !(opts->usages & bit))
            continue;
        if (fer_dataset_push(d, px, label, usage))
            goto fail;
        stats->kept++;
    }
    fer_csv_close(r);
    return 0;
fail:
    fer_csv_close(r);
    fer_dataset_free(d);
    return -1;
}

int fer_csv_read(const char *path, fer_dataset *d, const fer_csv_opts *opts,
                 fer_csv_stats *stats)
{
    FILE *f;
    int rc;
    if (!strcmp(path, "-"))
        return fer_csv_read_file(stdin, "<stdin>", d, opts, stats);
    if (!(f = fopen(path, "rb"))) {
        fer_dataset_init(d, 1, FER_CSV_SIDE, FER_CSV_SIDE);
        return fer_seterr("%s: %s", path, strerror(errno));
    }
    rc = fer_csv_read_file(f, path, d, opts, stats);
    fclose(f);
    return rc;
}
