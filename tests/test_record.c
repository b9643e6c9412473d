/* test_record.c: the fer format, round trips and every kind of bad record. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "check.h"
#include "dataset.h"
#include "error.h"
#include "parse.h"
#include "record.h"

/* Writes three records of random content (u8, f32 and an unknown dtype
 * with a made-up code) into a memory stream; returns its bytes. */
static unsigned char *make_stream(size_t *len, float *fdata, uint8_t *bdata)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    fer_record r;
    uint64_t s3[3] = {3, 5, 7}, s2[2] = {4, 9}, s1[1] = {11};
    for (int i = 0; i < 105; i++)
        bdata[i] = (uint8_t)(check_uniform() * 256);
    for (int i = 0; i < 36; i++)
        fdata[i] = check_randf(-3, 3);
    fer_record_init(&r, "bytes", FER_U8, 3, s3, bdata, "split=Training\nsrc=x.csv\n");
    fer_record_write(f, &r);
    fer_record_init(&r, "future", 77, 1, s1, bdata, NULL);
    r.nbytes = 13;  /* an unknown dtype: length is not shape-derived */
    fer_record_write(f, &r);
    fer_record_init(&r, "floats", FER_F32, 2, s2, fdata, NULL);
    fer_record_write(f, &r);
    fclose(f);
    *len = n;
    return (unsigned char *)buf;
}

static int read_all(const unsigned char *buf, size_t len, int *nrec)
{
    FILE *f = fmemopen((void *)buf, len, "rb");
    fer_reader *rd = fer_reader_from(f, "mem.fer");
    fer_record r;
    int k;
    *nrec = 0;
    while ((k = fer_reader_next(rd, &r)) == 1) {
        (*nrec)++;
        fer_record_free(&r);
    }
    fer_reader_close(rd);
    fclose(f);
    return k;
}

static void test_roundtrip(void)
{
    float fd[36];
    uint8_t bd[105];
    size_t len;
    unsigned char *buf = make_stream(&len, fd, bd);
    FILE *f = fmemopen(buf, len, "rb");
    fer_reader *rd = fer_reader_from(f, "mem.fer");
    fer_record r;
    char v[64];

    CHECK(fer_reader_next(rd, &r) == 1, "first: %s", fer_error());
    CHECK(!strcmp(r.name, "bytes") && r.dtype == FER_U8 && r.ndim == 3 && r.shape[2] == 7,
          "header of first record");
    CHECK(r.data && !memcmp(r.data, bd, 105), "u8 payload differs");
    CHECK(fer_parse_meta(r.meta, "src", v, sizeof v) == 5 && !strcmp(v, "x.csv"), "meta src");
    CHECK(fer_parse_meta(r.meta, "nokey", v, sizeof v) == -1, "absent key found");
    fer_record_free(&r);
    /* the unknown-dtype record is skipped by fer_reader_next */
    CHECK(fer_reader_next(rd, &r) == 1, "second: %s", fer_error());
    CHECK(!strcmp(r.name, "floats") && r.dtype == FER_F32 && r.shape[0] == 4, "float header");
    CHECK(r.data && !memcmp(r.data, fd, sizeof fd), "f32 payload differs");
    CHECK(fer_reader_index(rd) == 2, "index %ld", fer_reader_index(rd));
    fer_record_free(&r);
    CHECK(fer_reader_next(rd, &r) == 0, "no clean end: %s", fer_error());
    fer_reader_close(rd);
    fclose(f);
    free(buf);
}

/* The same stream through a real pipe from a child process. */
static void test_pipe(void)
{
    float fd[36];
    uint8_t bd[105];
    size_t len;
    unsigned char *buf = make_stream(&len, fd, bd);
    int p[2], n = 0, k;
    pid_t pid;
    CHECK(pipe(p) == 0, "pipe");
    pid = fork();
    if (pid == 0) {
        close(p[0]);
        for (size_t i = 0; i < len; i += 7)   /* small writes: short reads */
            if (write(p[1], buf + i, len - i < 7 ? len - i : 7) < 0)
                _exit(1);
        _exit(0);
    }
    close(p[1]);
    {
        FILE *f = fdopen(p[0], "rb");
        fer_reader *rd = fer_reader_from(f, "pipe");
        fer_record r;
        while ((k = fer_reader_next(rd, &r)) == 1) {
            n++;
            if (n == 2)
                CHECK(!memcmp(r.data, fd, sizeof fd), "f32 payload through pipe");
            fer_record_free(&r);
        }
        CHECK(k == 0, "pipe read: %s", fer_error());
        fer_reader_close(rd);
        fclose(f);
    }
    waitpid(pid, NULL, 0);
    CHECK(n == 2, "%d records through the pipe, want 2", n);
    free(buf);
}

/* Each corruption must fail with its own message. */
static void expect_error(unsigned char *buf, size_t len, const char *want)
{
    int n, k = read_all(buf, len, &n);
    CHECK(k == -1, "'%s': read returned %d", want, k);
    CHECK(strstr(fer_error(), want) != NULL, "error '%s', want '%s'", fer_error(), want);
    CHECK(strstr(fer_error(), "mem.fer: record") != NULL, "no file/record in '%s'", fer_error());
}

static void test_bad_records(void)
{
    float fd[36];
    uint8_t bd[105];
    size_t len;
    unsigned char *buf = make_stream(&len, fd, bd), *c = malloc(len);

    for (size_t cut = 1; cut < len; cut += 1 + cut / 5) {   /* truncated anywhere */
        int n, k = read_all(buf, cut, &n);
        CHECK(k == -1 && strstr(fer_error(), "truncated"), "cut at %zu: k=%d '%s'", cut, k,
              fer_error());
    }
    memcpy(c, buf, len);
    c[1] = 'X';
    expect_error(c, len, "bad magic");
    memcpy(c, buf, len);
    c[4] = 2;   /* version 2 */
    expect_error(c, len, "newer fer");
    memcpy(c, buf, len);
    c[60] ^= 0x40;   /* a payload byte of the first record */
    expect_error(c, len, "bad CRC");
    memcpy(c, buf, len);
    c[24 + 7] = 0x7f;   /* first shape dimension huge */
    expect_error(c, len, "overflows");
    memcpy(c, buf, len);
    c[24] = 4;   /* shape 4x5x7 but payload 105 */
    expect_error(c, len, "shape needs");
    memcpy(c, buf, len);
    c[16 + 5] = 0x10;   /* payload length beyond the limit */
    expect_error(c, len, "payload length");
    memcpy(c, buf, len);
    c[7] = 9;
    expect_error(c, len, "ndim");
    memcpy(c, buf, len);
    c[14] = 0x20;   /* meta length 2 MiB */
    expect_error(c, len, "meta length");
    free(c);
    free(buf);
}

/* fuzz_record: a 32-byte stream whose header claims a 32 GiB payload
 * allocated all of it before reading (out of memory, or gigabytes for
 * nothing). Now the payload buffer grows as bytes arrive: checked in a
 * child whose address space is capped at 1 GiB (not under ASan, which
 * reserves terabytes of shadow memory). */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif
static void test_huge_claim(void)
{
    unsigned char h[32] = {0x89, 'F', 'E', 'R', 1, 0, FER_U8, 1};
    uint64_t big = (uint64_t)1 << 32;   /* FER_PAYLOAD_MAX, the most a header may claim */
    pid_t pid;
    int st = -1;
    for (int i = 0; i < 8; i++) {
        h[16 + i] = (unsigned char)(big >> 8 * i);   /* payload length */
        h[24 + i] = (unsigned char)(big >> 8 * i);   /* shape (2^35) */
    }
    fflush(stdout);
    if ((pid = fork()) == 0) {
        int n, k;
#if !UNDER_ASAN
        struct rlimit lim = {(rlim_t)1 << 30, (rlim_t)1 << 30};
        setrlimit(RLIMIT_AS, &lim);
#endif
        k = read_all(h, sizeof h, &n);
        _exit(k == -1 && strstr(fer_error(), "truncated payload (0 of 4294967296 bytes)") ? 0 : 1);
    }
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a 4 GiB claim on a 32-byte stream: status %d",
          st);
    /* a claim over 4 GiB (here 32 GiB, matching its shape) is refused on the header */
    big = (uint64_t)1 << 35;
    for (int i = 0; i < 8; i++) {
        h[16 + i] = (unsigned char)(big >> 8 * i);
        h[24 + i] = (unsigned char)(big >> 8 * i);
    }
    {
        int n, k = read_all(h, sizeof h, &n);
        CHECK(k == -1 && strstr(fer_error(), "payload length 34359738368 exceeds 4294967296"),
              "a 32 GiB claim: %d '%s'", k, fer_error());
    }
}

/* Random bytes never crash the reader (a poor man's fuzz pass). */
static void test_garbage(void)
{
    float fd[36];
    uint8_t bd[105];
    size_t len;
    unsigned char *buf = make_stream(&len, fd, bd);
    check_seed(7);
    for (int it = 0; it < 2000; it++) {
        unsigned char *c = malloc(len);
        int n;
        memcpy(c, buf, len);
        for (int j = 0; j < 1 + it % 4; j++)
            c[(size_t)(check_uniform() * len)] = (unsigned char)(check_uniform() * 256);
        (void)read_all(c, len, &n);
        free(c);
    }
    free(buf);
}

static void test_parse(void)
{
    long v;
    double d;
    CHECK(fer_parse_long("42", 0, 100, &v) == 0 && v == 42, "42");
    CHECK(fer_parse_long("4x", 0, 100, &v) == -1, "4x accepted");
    CHECK(fer_parse_long("101", 0, 100, &v) == -1, "101 accepted");
    CHECK(fer_parse_long("", 0, 100, &v) == -1, "empty accepted");
    CHECK(fer_parse_double("1e-3", 0, 1, &d) == 0 && d == 1e-3, "1e-3");
    CHECK(fer_parse_double("nan", -1e9, 1e9, &d) == -1, "nan accepted");
    /* the whole field, in decimal: strtol and strtod would skip the blank
     * and take hexadecimal */
    CHECK(fer_parse_long(" 42", 0, 100, &v) == -1, "' 42' accepted");
    CHECK(fer_parse_long("\t42", 0, 100, &v) == -1, "'\\t42' accepted");
    CHECK(fer_parse_long("0x10", 0, 100, &v) == -1, "0x10 accepted");
    CHECK(fer_parse_double(" 0.5", 0, 1, &d) == -1, "' 0.5' accepted");
    CHECK(fer_parse_double("0x1p-1", 0, 1, &d) == -1, "0x1p-1 accepted");
    CHECK(fer_parse_double("0X.8", 0, 1, &d) == -1, "0X.8 accepted");
    CHECK(fer_parse_double("-5e-1", -1, 1, &d) == 0 && d == -0.5, "-5e-1");
}

/* One data-set chunk of n 1x1x1 images with the given labels and class
 * list (NULL: no meta text), appended to f. */
static void write_chunk(FILE *f, size_t n, const int32_t *labels, const char *classes)
{
    uint8_t *px = calloc(n, 1), *u = calloc(n, 1);
    uint64_t s4[4] = {n, 1, 1, 1}, s1[1] = {n};
    char meta[256];
    fer_record r;
    snprintf(meta, sizeof meta, "classes=%s\n", classes ? classes : "");
    fer_record_init(&r, "images", FER_U8, 4, s4, px, classes ? meta : NULL);
    fer_record_write(f, &r);
    fer_record_init(&r, "labels", FER_I32, 1, s1, labels, NULL);
    fer_record_write(f, &r);
    fer_record_init(&r, "usage", FER_U8, 1, s1, u, NULL);
    fer_record_write(f, &r);
    free(px);
    free(u);
}

static int read_dataset(const char *buf, size_t len, fer_dataset *d)
{
    FILE *f = fmemopen((void *)buf, len, "rb");
    int rc = fer_dataset_read_file(f, "mem.fer", d);
    fclose(f);
    return rc;
}

/* A whole data set ends with an end record: cut at any record boundary
 * (between chunks, before the end) it is refused instead of read as a
 * smaller set; sets joined with cat, a lone end record (fer-detect on a
 * photo without faces) and streams of older writers still read. */
static void test_dataset_end(void)
{
    fer_dataset d, got;
    char *buf = NULL, *two = NULL, *bad = NULL;
    size_t len = 0, len2 = 0, lenb = 0, n = 2 * FER_DATASET_CHUNK + 5;
    long cuts = 0, refused = 0;
    uint64_t off[16];
    int nrec = 0;
    FILE *f = open_memstream(&buf, &len);
    fer_reader *rd;
    fer_record r;
    fer_dataset_init(&d, 1, 2, 2);
    for (size_t i = 0; i < n; i++) {
        uint8_t px[4] = {(uint8_t)i, 1, 2, 3};
        fer_dataset_push(&d, px, (int)(i % 7), FER_TRAINING);
    }
    fer_dataset_write(f, &d);
    fclose(f);
    CHECK(read_dataset(buf, len, &got) == 0 && got.n == n, "whole: %s", fer_error());
    fer_dataset_free(&got);
    /* the record boundaries */
    f = fmemopen(buf, len, "rb");
    rd = fer_reader_from(f, "mem.fer");
    while (nrec < 16 && fer_reader_next(rd, &r) == 1) {
        off[nrec++] = fer_reader_offset(rd);
        fer_record_free(&r);
    }
    fer_reader_close(rd);
    fclose(f);
    CHECK(nrec == 10, "%d records, want 3 chunks of 3 and an end", nrec);
    for (int i = 1; i < nrec; i++) {
        cuts++;
        if (read_dataset(buf, (size_t)off[i], &got) == -1 && strstr(fer_error(), "mem.fer: cut short"))
            refused++;
        else
            CHECK(0, "cut at record %d (byte %llu): %s", i, (unsigned long long)off[i],
                  fer_error());
    }
    CHECK(refused == cuts && cuts == 9, "%ld of %ld cuts refused", refused, cuts);
    CHECK(read_dataset(buf, (size_t)off[nrec - 1], &got) == -1 &&
              strstr(fer_error(), "no end record after 16389 images"),
          "cut before the end: %s", fer_error());
    /* two sets joined with cat */
    f = open_memstream(&two, &len2);
    fwrite(buf, 1, len, f);
    fwrite(buf, 1, len, f);
    fclose(f);
    CHECK(read_dataset(two, len2, &got) == 0 && got.n == 2 * n, "cat: %s", fer_error());
    fer_dataset_free(&got);
    /* an end record that miscounts; a lone end record */
    f = open_memstream(&bad, &lenb);
    fwrite(buf, 1, (size_t)off[nrec - 1], f);
    fer_dataset_write_end(f, n - 1);
    fclose(f);
    CHECK(read_dataset(bad, lenb, &got) == -1 &&
              strstr(fer_error(), "end record says 16388 images, the stream held 16389"),
          "miscount: %s", fer_error());
    free(bad);
    bad = NULL;
    f = open_memstream(&bad, &lenb);
    fer_dataset_write_end(f, 0);
    fclose(f);
    CHECK(read_dataset(bad, lenb, &got) == 0 && got.n == 0, "lone end: %s", fer_error());
    fer_dataset_free(&got);
    free(bad);
    free(two);
    free(buf);
    fer_dataset_free(&d);
}

/* A label outside -1..6 is named in the message; the labels record is
 * large (160 KiB, its own mapping), so reading it after it is freed
 * crashes even without a sanitizer. */
static void test_dataset_bad_label(void)
{
    size_t n = 40000, len = 0;
    int32_t *l = calloc(n, sizeof *l);
    char *buf = NULL, want[64];
    FILE *f = open_memstream(&buf, &len);
    fer_dataset d;
    l[n - 1] = 1234567;
    write_chunk(f, n, l, "a,b,c,d,e,f,g");
    fclose(f);
    CHECK(read_dataset(buf, len, &d) == -1, "label 1234567 accepted");
    snprintf(want, sizeof want, "label 1234567 of image %zu outside -1..6", n - 1);
    CHECK(strstr(fer_error(), want) != NULL, "error '%s', want '%s'", fer_error(), want);
    free(buf);
    free(l);
}

/* Chunks with different class lists (files joined with cat) are refused
 * with a message that says so, not read with the last list; chunks
 * without one (fer-detect's faces) take the list before. */
static void test_dataset_class_lists(void)
{
    int32_t l[3] = {0, 4, -1};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fer_dataset d;
    write_chunk(f, 3, l, "a,b,c,d,e");
    write_chunk(f, 3, l, NULL);
    write_chunk(f, 3, l, "a,b,c,d,e");
    fclose(f);
    CHECK(read_dataset(buf, len, &d) == 0, "same lists: %s", fer_error());
    CHECK(d.nclasses == 5 && d.n == 9 && !strcmp(d.classes[4], "e"), "nclasses %d n %zu",
          d.nclasses, d.n);
    fer_dataset_free(&d);
    free(buf);

    buf = NULL;
    f = open_memstream(&buf, &len);
    l[1] = 1;
    write_chunk(f, 3, l, "a,b,c,d,e");
    write_chunk(f, 3, l, "a,b");
    fclose(f);
    CHECK(read_dataset(buf, len, &d) == -1, "a shorter later class list accepted");
    CHECK(strstr(fer_error(), "mem.fer: record 3: class list 'a,b' differs from 'a,b,c,d,e' before"),
          "error '%s'", fer_error());
    free(buf);
}

/* A PNG, JPEG, PNM or gzip file where a fer stream was expected is named
 * for what it is; other garbage is a bad magic. */
static void test_not_fer(void)
{
    static const struct {
        const char bytes[32], *want;   /* bytes: 24 read, zero-padded */
    } cases[] = {
        {"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "mem.fer: a PNG image, not a fer data set"},
        {"\xff\xd8\xff\xe0\0\x10JFIF", "mem.fer: a JPEG image, not a fer data set"},
        {"P5\n4 4\n255\n0123456789abcdef", "mem.fer: a PNM image, not a fer data set"},
        {"\x1f\x8b\x08\0\0\0\0\0", "mem.fer: gzip data, not a fer data set"},
        {"\x89GIF89a and more", "mem.fer: record 0 at byte 0: bad magic"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fer_dataset d;
        CHECK(read_dataset(cases[i].bytes, 24, &d) == -1, "case %zu read", i);
        CHECK(strstr(fer_error(), cases[i].want), "case %zu: '%s', want '%s'", i, fer_error(),
              cases[i].want);
    }
    {   /* a model (or a checkpoint) is not a data set of no images */
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        fer_record r;
        uint64_t zero = 0;
        fer_dataset d;
        fer_record_init(&r, "model", FER_U8, 1, &zero, NULL, "format=fer-model\n");
        fer_record_write(f, &r);
        fclose(f);
        CHECK(read_dataset(buf, len, &d) == -1, "a model read as a data set");
        CHECK(!strcmp(fer_error(), "mem.fer: a fer model, not a data set"), "'%s'", fer_error());
        free(buf);
    }
    {   /* a plain reader says "fer file" */
        FILE *f = fmemopen((void *)cases[0].bytes, 16, "rb");
        fer_reader *rd = fer_reader_from(f, "mem.fer");
        fer_record r;
        CHECK(fer_reader_next(rd, &r) == -1, "a PNG read as a record");
        CHECK(!strcmp(fer_error(), "mem.fer: a PNG image, not a fer file"), "'%s'",
              fer_error());
        fer_reader_close(rd);
        fclose(f);
    }
}

int main(void)
{
    RUN(test_roundtrip);
    RUN(test_pipe);
    RUN(test_bad_records);
    RUN(test_huge_claim);
    RUN(test_garbage);
    RUN(test_parse);
    RUN(test_dataset_bad_label);
    RUN(test_dataset_class_lists);
    RUN(test_dataset_end);
    RUN(test_not_fer);
    return check_done();
}
