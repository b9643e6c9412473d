/* test_csv.c: the FER2013 CSV reader on generated text: random rows round
 * trip exactly (plain, CRLF, gzip, other column layouts, buffer
 * boundaries), every kind of bad row gives its own message with the right
 * line number, skip_bad counts, and mutated input never crashes it. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "csv.h"
#include "error.h"

#define NPX FER_CSV_PIXELS

/* Random rows: pixels (n, 2304), labels 0..6, usages 0..2. */
typedef struct rows {
    int n;
    uint8_t *px;
    int *lab, *use;
} rows;

static rows make_rows(int n)
{
    rows r = {n, malloc((size_t)n * NPX), malloc(sizeof(int) * n), malloc(sizeof(int) * n)};
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < NPX; j++) {
            /* mostly uniform, with the extremes 0 and 255 common */
            double u = check_uniform();
            r.px[(size_t)i * NPX + j] = u < 0.05 ? 0 : u > 0.95 ? 255 : (uint8_t)(u * 256);
        }
        r.lab[i] = (int)(check_uniform() * 7);
        r.use[i] = (int)(check_uniform() * 3);
    }
    return r;
}

static void free_rows(rows *r)
{
    free(r->px);
    free(r->lab);
    free(r->use);
}

static const char *const usage_str[3] = {"Training", "PublicTest", "PrivateTest"};

/* Layouts of the generated text. */
enum { L_PLAIN, L_CRLF, L_NOUSAGE, L_NOHEADER, L_REORDER, L_QUOTED };

/* Writes rows as CSV text in a layout; returns a malloc'd buffer. */
static char *format_rows(const rows *r, int layout, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    const char *eol = layout == L_CRLF ? "\r\n" : "\n";
    if (layout == L_NOUSAGE)
        fprintf(f, "emotion,pixels%s", eol);
    else if (layout == L_REORDER)
        fprintf(f, "\xEF\xBB\xBF" "emotion, Usage, pixels%s", eol);
    else if (layout != L_NOHEADER)
        fprintf(f, "emotion,pixels,Usage%s", eol);
    for (int i = 0; i < r->n; i++) {
        const uint8_t *p = r->px + (size_t)i * NPX;
        if (layout == L_REORDER)
            fprintf(f, "%d, %s, ", r->lab[i], usage_str[r->use[i]]);
        else
            fprintf(f, "%d,%s", r->lab[i], layout == L_QUOTED ? "\"" : "");
        for (int j = 0; j < NPX; j++)
            fprintf(f, j ? " %d" : "%d", p[j]);
        if (layout == L_QUOTED)
            fputc('"', f);
        if (layout != L_NOUSAGE && layout != L_REORDER)
            fprintf(f, ",%s", usage_str[r->use[i]]);
        /* the last row of the quoted layout has no line end */
        if (!(layout == L_QUOTED && i == r->n - 1))
            fputs(eol, f);
        if (layout == L_CRLF && i == 1)
            fputs(eol, f);      /* a blank line */
    }
    fclose(f);
    return buf;
}

static int read_mem(const char *buf, size_t len, fer_dataset *d, const fer_csv_opts *o,
                    fer_csv_stats *st)
{
    FILE *f = fmemopen((void *)buf, len, "rb");
    int rc = fer_csv_read_file(f, "mem.csv", d, o, st);
    fclose(f);
    return rc;
}

/* Compares a data set with the rows it was made from; usage_known says
 * whether the text had a Usage column. */
static void check_same(const fer_dataset *d, const rows *r, int usage_known)
{
    CHECK(d->n == (size_t)r->n, "n=%zu want %d", d->n, r->n);
    CHECK(d->c == 1 && d->h == 48 && d->w == 48, "shape %dx%dx%d", d->c, d->h, d->w);
    if (d->n != (size_t)r->n)
        return;
    for (int i = 0; i < r->n; i++) {
        CHECK(d->labels[i] == r->lab[i], "row %d label %d want %d", i, d->labels[i], r->lab[i]);
        CHECK(d->usage[i] == (usage_known ? r->use[i] : FER_NOUSAGE), "row %d usage %d", i,
              d->usage[i]);
        for (int j = 0; j < NPX; j++)
            if (d->pixels[(size_t)i * NPX + j] != r->px[(size_t)i * NPX + j]) {
                CHECK(0, "row %d pixel %d: %d want %d", i, j, d->pixels[(size_t)i * NPX + j],
                      r->px[(size_t)i * NPX + j]);
                break;
            }
    }
}

static void test_roundtrip_layouts(void)
{
    rows r = make_rows(23);
    for (int layout = L_PLAIN; layout <= L_QUOTED; layout++) {
        size_t len;
        char *buf = format_rows(&r, layout, &len);
        fer_dataset d;
        fer_csv_stats st;
        int rc = read_mem(buf, len, &d, NULL, &st);
        CHECK(rc == 0, "layout %d: %s", layout, fer_error());
        if (!rc) {
            check_same(&d, &r, layout != L_NOUSAGE);
            CHECK(st.rows == 23 && st.kept == 23 && st.bad == 0, "layout %d: rows %ld kept %ld",
                  layout, st.rows, st.kept);
            fer_dataset_free(&d);
        }
        free(buf);
    }
    free_rows(&r);
}

/* 700 rows (about 6 MB) cross the 2 MiB text buffer several times. */
static void test_buffer_boundaries(void)
{
    rows r = make_rows(700);
    size_t len;
    char *buf = format_rows(&r, L_CRLF, &len);
    fer_dataset d;
    if (read_mem(buf, len, &d, NULL, NULL) == 0) {
        check_same(&d, &r, 1);
        fer_dataset_free(&d);
    } else {
        CHECK(0, "%s", fer_error());
    }
    free(buf);
    free_rows(&r);
}

/* Writes buf gzip-compressed to a temporary file, as `parts` concatenated
 * gzip members; cut bytes are left off the end. Returns the path. */
static char *write_gz(const char *buf, size_t len, int parts, size_t cut)
{
    static char path[64];
    char *z = NULL;
    size_t zlen = 0;
    FILE *mem = open_memstream(&z, &zlen), *f;
    int fd;
    for (int p = 0; p < parts; p++) {
        size_t a = len * p / parts, b = len * (p + 1) / parts;
        z_stream s;
        unsigned char out[1 << 16];
        memset(&s, 0, sizeof s);
        deflateInit2(&s, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
        s.next_in = (unsigned char *)buf + a;
        s.avail_in = (uInt)(b - a);
        do {
            s.next_out = out;
            s.avail_out = sizeof out;
            deflate(&s, Z_FINISH);
            fwrite(out, 1, sizeof out - s.avail_out, mem);
        } while (s.avail_out == 0);
        deflateEnd(&s);
    }
    fclose(mem);
    snprintf(path, sizeof path, "/tmp/test_csv.XXXXXX");
    fd = mkstemp(path);
    f = fdopen(fd, "wb");
    fwrite(z, 1, zlen - cut, f);
    fclose(f);
    free(z);
    return path;
}

static void test_gzip(void)
{
    rows r = make_rows(300);
    size_t len;
    char *buf = format_rows(&r, L_PLAIN, &len), *path;
    fer_dataset d;
    for (int parts = 1; parts <= 3; parts += 2) {
        path = write_gz(buf, len, parts, 0);
        if (fer_csv_read(path, &d, NULL, NULL) == 0) {
            check_same(&d, &r, 1);
            fer_dataset_free(&d);
        } else {
            CHECK(0, "%d members: %s", parts, fer_error());
        }
        unlink(path);
    }
    /* a cut-off gzip file is an input error, not a short data set */
    path = write_gz(buf, len, 1, 100);
    CHECK(fer_csv_read(path, &d, NULL, NULL) == -1, "truncated gzip accepted");
    CHECK(strstr(fer_error(), "truncated gzip"), "message: %s", fer_error());
    unlink(path);
    free(buf);
    free_rows(&r);
}

/* The text of one good row with label 3, pixel j = (j * 7) % 256. */
static void good_row(FILE *f, const char *usage)
{
    fprintf(f, "3,");
    for (int j = 0; j < NPX; j++)
        fprintf(f, j ? " %d" : "%d", (j * 7) % 256);
    fprintf(f, usage ? ",%s\n" : "\n", usage);
}

/* A row of a good row's pixels with one token replaced (at index at,
 * by tok; tok NULL drops it, at NPX appends), and the given label/usage
 * text. */
static void edited_row(FILE *f, const char *label, int at, const char *tok, const char *usage)
{
    fprintf(f, "%s,", label);
    for (int j = 0; j <= NPX; j++) {
        const char *sep = j ? " " : "";
        if (j == at) {
            if (tok)
                fprintf(f, "%s%s", sep, tok);
        } else if (j < NPX) {
            fprintf(f, "%s%d", sep, (j * 7) % 256);
        }
    }
    if (usage)
        fprintf(f, ",%s", usage);
    fputc('\n', f);
}

static void test_bad_rows(void)
{
    static const struct {
        const char *label, *tok, *usage;
        int at;
        const char *want;
    } bad[] = {
        {"3", NULL, "Training", 100, "2303 pixels, expected 2304"},
        {"3", "9", "Training", NPX, "2305 pixels, expected 2304"},
        {"7", "1", "Training", 0, "emotion 7 outside 0-6"},
        {"x", "1", "Training", 0, "emotion 'x' is not a number"},
        {"", "1", "Training", 0, "emotion '' is not a number"},
        {"3", "256", "Training", 17, "pixel 18 is 256, outside 0-255"},
        {"3", "1000000000000", "Training", 5, "pixel 6 is 1000000000000, outside 0-255"},
        {"3", "1a", "PublicTest", 4, "pixel 5 is '1a', not a number"},
        {"3", "-3", "PublicTest", 9, "pixel 10 is '-3', not a number"},
        {"3", "1", "Trainin", 0, "unknown Usage 'Trainin'"},
        {"3", "1", "", 0, "unknown Usage ''"},
        {"3", "1", NULL, 0, "missing Usage field (2 fields, expected 3)"},
        {"3", "1", "Training,x", 0, "more than 3 fields"},
    };
    int nbad = (int)(sizeof bad / sizeof bad[0]);
    for (int k = 0; k < nbad + 2; k++) {
        char *buf = NULL, want[200];
        size_t len;
        FILE *f = open_memstream(&buf, &len);
        fer_dataset d;
        int line = 2 + k % 3;   /* the bad row's line, after 0..2 good rows */
        fprintf(f, "emotion,pixels,Usage\n");
        for (int i = 2; i < line; i++)
            good_row(f, "Training");
        if (k < nbad) {
            edited_row(f, bad[k].label, bad[k].at, bad[k].tok, bad[k].usage);
            snprintf(want, sizeof want, "mem.csv:%d: %s", line, bad[k].want);
        } else if (k == nbad) {
            fprintf(f, "5\n");
            snprintf(want, sizeof want, "mem.csv:%d: missing pixels field", line);
        } else {
            for (int i = 0; i < 70000; i++)
                fputs("1 ", f);
            fputc('\n', f);
            snprintf(want, sizeof want, "mem.csv:%d: line longer than", line);
        }
        good_row(f, "PrivateTest");
        fclose(f);
        CHECK(read_mem(buf, len, &d, NULL, NULL) == -1, "case %d accepted", k);
        CHECK(!strncmp(fer_error(), want, strlen(want)), "case %d: got '%s', want '%s'", k,
              fer_error(), want);
        CHECK(d.n == 0 && !d.pixels, "case %d: data set not freed", k);
        free(buf);
    }
}

/* Input that is no CSV text stops the reader, even with skip_bad, naming
 * the line: /dev/zero (it never ended), a NUL byte in a row, a line of
 * megabytes without an end. */
static void test_not_text(void)
{
    fer_csv_opts o = {0, 1};
    fer_dataset d;
    char *buf = NULL;
    size_t len;
    FILE *f;
    alarm(60);                  /* a hang is a failure, not a stuck test run */
    CHECK(fer_csv_read("/dev/zero", &d, &o, NULL) == -1
              && !strcmp(fer_error(), "/dev/zero:1: a NUL byte: binary data, not CSV text"),
          "/dev/zero: %s", fer_error());
    for (int k = 0; k < 3; k++) {
        const char *want[] = {"mem.csv:3: a NUL byte: binary data, not CSV text",
                              "mem.csv:3: line longer than 65536 bytes",
                              "mem.csv:3: line longer than 65536 bytes"};
        f = open_memstream(&buf, &len);
        fprintf(f, "emotion,pixels,Usage\n");
        good_row(f, "Training");
        if (k == 0) {
            fputs("3,1 2", f);
            fputc(0, f);
            fputs(" 3,Training\n", f);
        } else {
            for (int i = 0; i < (k == 1 ? 40000 : 4000000); i++)
                fputs("1 ", f);
            if (k == 1)
                fputc('\n', f);
        }
        good_row(f, "Training");
        fclose(f);
        CHECK(read_mem(buf, len, &d, &o, NULL) == -1 && !strcmp(fer_error(), want[k]),
              "case %d: '%s', want '%s'", k, fer_error(), want[k]);
        free(buf);
    }
    alarm(0);
}

/* skip_bad counts bad rows, keeps the rest in order, and names the first;
 * the usage mask selects splits. Blank lines and CRLF keep line numbers. */
static void test_skip_bad_and_mask(void)
{
    char *buf = NULL;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    fer_dataset d;
    fer_csv_stats st;
    fer_csv_opts o = {0, 1};
    fprintf(f, "emotion,pixels,Usage\r\n");             /* line 1 */
    good_row(f, "Training");                            /* 2 */
    fprintf(f, "\r\n");                                 /* 3 */
    edited_row(f, "3", 7, "300", "Training");           /* 4: bad */
    good_row(f, "PublicTest");                          /* 5 */
    fprintf(f, "9,1 2 3,Training\r\n");                 /* 6: bad */
    good_row(f, "PrivateTest");                         /* 7 */
    edited_row(f, "3", 0, "1", "Foo");                  /* 8: bad */
    good_row(f, "PublicTest");                          /* 9 */
    fclose(f);
    CHECK(read_mem(buf, len, &d, &o, &st) == 0, "%s", fer_error());
    CHECK(st.rows == 7 && st.bad == 3 && st.kept == 4, "rows %ld bad %ld kept %ld", st.rows,
          st.bad, st.kept);
    CHECK(!strcmp(st.first_bad, "mem.csv:4: pixel 8 is 300, outside 0-255"), "first: %s",
          st.first_bad);
    CHECK(d.n == 4 && d.usage[0] == FER_TRAINING && d.usage[1] == FER_PUBLICTEST &&
              d.usage[2] == FER_PRIVATETEST && d.usage[3] == FER_PUBLICTEST,
          "n %zu", d.n);
    CHECK(d.n == 4 && d.pixels[3 * NPX + 5] == 35 && d.labels[3] == 3, "last row wrong");
    fer_dataset_free(&d);

    o.usages = 1u << FER_PUBLICTEST;
    CHECK(read_mem(buf, len, &d, &o, &st) == 0, "%s", fer_error());
    CHECK(d.n == 2 && st.kept == 2 && d.usage[0] == FER_PUBLICTEST && d.usage[1] == FER_PUBLICTEST,
          "mask: n %zu", d.n);
    fer_dataset_free(&d);

    /* without skip_bad the first bad row stops it, on its line */
    o.skip_bad = 0;
    o.usages = 0;
    CHECK(read_mem(buf, len, &d, &o, &st) == -1, "bad rows accepted");
    CHECK(!strcmp(fer_error(), "mem.csv:4: pixel 8 is 300, outside 0-255"), "got %s",
          fer_error());
    free(buf);
}

/* fer_csv_next goes on after a bad row and reports lines; a file with
 * only a pixels column gives label -1 and no usage. */
static void test_next_api(void)
{
    char *buf = NULL;
    size_t len;
    FILE *f = open_memstream(&buf, &len), *m;
    uint8_t px[NPX];
    int lab = 99, use = 99;
    fer_csv *r;
    fprintf(f, "pixels\n1 2\n");                /* line 2: 2 pixels */
    edited_row(f, "0", 0, "4", NULL);           /* line 3: "0" is the pixels */
    fprintf(f, "\"");
    for (int j = 0; j < NPX; j++)               /* line 4: good */
        fprintf(f, j ? " %d" : "%d", (j * 7) % 256);
    fprintf(f, "\"\n");
    fclose(f);
    m = fmemopen(buf, len, "rb");
    r = fer_csv_from(m, "p.csv");
    CHECK(r != NULL, "%s", fer_error());
    if (r) {
        CHECK(fer_csv_next(r, px, &lab, &use) == -1 && fer_csv_line(r) == 2, "line 2");
        CHECK(strstr(fer_error(), "p.csv:2: 2 pixels"), "got %s", fer_error());
        CHECK(fer_csv_next(r, px, &lab, &use) == -1 && fer_csv_line(r) == 3, "line 3");
        CHECK(strstr(fer_error(), "p.csv:3: 1 pixels, expected"), "got %s", fer_error());
        CHECK(fer_csv_next(r, px, &lab, &use) == 1 && fer_csv_line(r) == 4, "line 4: %s",
              fer_error());
        CHECK(lab == -1 && use == FER_NOUSAGE && px[2] == 14 && px[NPX - 1] == (NPX - 1) * 7 % 256,
              "lab %d use %d px %d", lab, use, px[2]);
        CHECK(fer_csv_next(r, px, &lab, &use) == 0, "end");
        fer_csv_close(r);
    }
    fclose(m);
    free(buf);
}

static void test_headers(void)
{
    static const struct {
        const char *text;
        int ok;
        const char *want;
    } t[] = {
        {"", 1, NULL},
        {"emotion,pixels,Usage\n", 1, NULL},
        {"\n\nemotion,pixels\r\n\r\n", 1, NULL},
        {"emotion,Usage\n", 0, "h.csv:1: no 'pixels' column"},
        {"pixels,pixels\n", 0, "h.csv:1: column 'pixels' twice"},
        {"a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,pixels\n", 0, "h.csv:1: more than 16 columns"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        size_t len = strlen(t[i].text);
        FILE *m = fmemopen((void *)t[i].text, len ? len : 1, "rb");
        fer_csv *r;
        uint8_t px[NPX];
        int lab, use;
        if (!len)   /* fmemopen cannot take 0 bytes: read past the one */
            fgetc(m);
        r = fer_csv_from(m, "h.csv");
        if (t[i].ok) {
            CHECK(r && fer_csv_next(r, px, &lab, &use) == 0, "case %zu: %s", i, fer_error());
        } else {
            CHECK(!r, "case %zu accepted", i);
            CHECK(!strncmp(fer_error(), t[i].want, strlen(t[i].want)), "case %zu: %s", i,
                  fer_error());
        }
        fer_csv_close(r);
        fclose(m);
    }
}

/* Random byte mutations of a small valid file: the reader must end with
 * 0 or -1 and a "name:" message, never crash or read out of bounds (ASan
 * checks the latter in make check-asan). */
static void test_fuzz(void)
{
    rows r = make_rows(3);
    size_t len;
    char *buf = format_rows(&r, L_CRLF, &len), *mut = malloc(len);
    fer_csv_opts o = {0, 1};
    int fails = 0;
    for (int it = 0; it < 400; it++) {
        fer_dataset d;
        fer_csv_stats st;
        int nmut = 1 + (int)(check_uniform() * 8);
        memcpy(mut, buf, len);
        for (int k = 0; k < nmut; k++) {
            size_t at = (size_t)(check_uniform() * len);
            static const char pool[] = "0123456789 ,\r\n\"-x";
            mut[at] = check_uniform() < 0.5 ? pool[(int)(check_uniform() * 18)]
                                            : (char)(check_uniform() * 256);
        }
        o.skip_bad = it & 1;
        if (read_mem(mut, len - (it % 5), &d, &o, &st) == 0) {
            fails += d.n + st.bad > (size_t)st.rows;
            fer_dataset_free(&d);
        } else {
            fails += strncmp(fer_error(), "mem.csv", 7) != 0;
        }
    }
    CHECK(fails == 0, "%d inconsistent results", fails);
    free(mut);
    free(buf);
    free_rows(&r);
}

/* The shared FER2013 sample: 84 rows, every class 12 times. */
static void test_shared_tiny(void)
{
    const char *path = check_shared("data/fer2013-tiny.csv");
    fer_dataset d;
    int per[2][7] = {{0}};
    if (!path)
        SKIP("no data/fer2013-tiny.csv under $FER_SHARED");
    CHECK(fer_csv_read(path, &d, NULL, NULL) == 0, "%s", fer_error());
    CHECK(d.n == 84, "n %zu", d.n);
    for (size_t i = 0; i < d.n; i++)
        if (d.usage[i] < 2 && d.labels[i] >= 0 && d.labels[i] < 7)
            per[d.usage[i]][d.labels[i]]++;
    for (int c = 0; c < 7; c++)
        CHECK(per[0][c] == 10 && per[1][c] == 2, "class %d: %d Training %d PublicTest", c,
              per[0][c], per[1][c]);
    fer_dataset_free(&d);
}

int main(void)
{
    check_seed(20130101);
    RUN(test_roundtrip_layouts);
    RUN(test_buffer_boundaries);
    RUN(test_gzip);
    RUN(test_bad_rows);
    RUN(test_skip_bad_and_mask);
    RUN(test_not_text);
    RUN(test_next_api);
    RUN(test_headers);
    RUN(test_fuzz);
    RUN(test_shared_tiny);
    return check_done();
}
