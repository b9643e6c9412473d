/* make_faces: writes face records (as fer-detect does) for the shell tests.
 *
 *   make_faces [-n N] [-c C] [-s SIZE] [-r SEED] [-m META] [-x NAME]
 *              [-i data.fer] [-f] [-d [-k CLASSES]]
 *
 * Writes N (default 5) u8 records of shape (C, SIZE, SIZE) named NAME
 * (default "face") to stdout. Pixels are smooth seeded random patterns, or
 * the first N images of the data set given with -i (all when -n is not
 * given). META is each record's meta text, with the two characters \n
 * turned into a newline and every # into the face's index. -f mirrors
 * every face left-right (a reference for test-time augmentation). -d writes a
 * labelled data set of N random images instead (random labels 0..6), for
 * training a model of another input size; -k gives its seven class names
 * (comma-separated, as a data set's meta text holds them). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "augment.h"
#include "dataset.h"
#include "error.h"
#include "parse.h"
#include "record.h"

static uint64_t state = 0x9E3779B97F4A7C15ull;

static double uniform(void)
{
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return (double)((state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static void pattern(uint8_t *px, int c, int s)
{
    double a = uniform() * 0.4 + 0.05, b = uniform() * 0.4 + 0.05, p = uniform() * 6.28;
    for (int k = 0; k < c; k++)
        for (int y = 0; y < s; y++)
            for (int x = 0; x < s; x++) {
                double v = 128 + 70 * sin(a * x + p + k) * cos(b * y) + 40 * (uniform() - 0.5);
                px[((size_t)k * s + y) * s + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
}

/* META with \n unescaped and # replaced by i. */
static char *meta_for(const char *tmpl, long i)
{
    size_t cap = strlen(tmpl) * 24 + 1, n = 0;
    char *m = malloc(cap);
    if (!m)
        return NULL;
    for (const char *p = tmpl; *p; p++) {
        if (p[0] == '\\' && p[1] == 'n') {
            m[n++] = '\n';
            p++;
        } else if (*p == '#') {
            n += (size_t)sprintf(m + n, "%ld", i);
        } else {
            m[n++] = *p;
        }
    }
    m[n] = 0;
    return m;
}

static void fail(const char *what)
{
    fprintf(stderr, "make_faces: %s\n", what);
    exit(1);
}

int main(int argc, char **argv)
{
    long n = 5, c = 1, s = 48, seed = 1;
    const char *meta = NULL, *name = "face", *from = NULL, *classes = NULL;
    int opt, dataset = 0, have_n = 0, mirror = 0;
    fer_dataset src = {0};
    while ((opt = getopt(argc, argv, "n:c:s:r:m:x:i:fdk:")) != -1) {
        switch (opt) {
        case 'n':
            if (fer_parse_long(optarg, 0, 1000000, &n))
                fail(fer_error());
            have_n = 1;
            break;
        case 'c':
            if (fer_parse_long(optarg, 1, 3, &c))
                fail(fer_error());
            break;
        case 's':
            if (fer_parse_long(optarg, 1, 4096, &s))
                fail(fer_error());
            break;
        case 'r':
            if (fer_parse_long(optarg, 1, 1L << 40, &seed))
                fail(fer_error());
            break;
        case 'm': meta = optarg; break;
        case 'x': name = optarg; break;
        case 'i': from = optarg; break;
        case 'f': mirror = 1; break;
        case 'd': dataset = 1; break;
        case 'k': classes = optarg; break;
        default: fail("usage: make_faces [-n N] [-c C] [-s SIZE] [-r SEED] [-m META] "
                      "[-x NAME] [-i data.fer] [-f] [-d [-k CLASSES]]");
        }
    }
    state ^= (uint64_t)seed * 0x2545F4914F6CDD1Dull;
    if (from) {
        if (fer_dataset_read(from, &src))
            fail(fer_error());
        c = src.c;
        s = src.h;
        if (src.h != src.w)
            fail("-i: images are not square");
        if (!have_n || (size_t)n > src.n)
            n = (long)src.n;
    }
    if (dataset) {
        fer_dataset d;
        uint8_t *px = malloc((size_t)c * s * s);
        fer_dataset_init(&d, (int)c, (int)s, (int)s);
        if (!px)
            fail("out of memory");
        if (classes) {
            char buf[FER_CLASSES_MAX * FER_CLASS_NAME_MAX], *save = NULL, *tok;
            int k = 0;
            snprintf(buf, sizeof buf, "%s", classes);
            for (tok = strtok_r(buf, ",", &save); tok && k < 7; tok = strtok_r(NULL, ",", &save))
                snprintf(d.classes[k++], FER_CLASS_NAME_MAX, "%s", tok);
            if (k != 7 || tok)
                fail("-k: want seven class names");
        }
        for (long i = 0; i < n; i++) {
            pattern(px, (int)c, (int)s);
            if (fer_dataset_push(&d, px, (int)(uniform() * 7), FER_TRAINING))
                fail(fer_error());
        }
        if (fer_dataset_write(stdout, &d))
            fail(fer_error());
        free(px);
        fer_dataset_free(&d);
    } else {
        size_t img = (size_t)c * s * s;
        uint8_t *px = malloc(img);
        uint64_t shape[3] = {(uint64_t)c, (uint64_t)s, (uint64_t)s};
        if (!px)
            fail("out of memory");
        for (long i = 0; i < n; i++) {
            fer_record r;
            char *m = meta ? meta_for(meta, i) : NULL;
            if (meta && !m)
                fail("out of memory");
            if (from)
                memcpy(px, src.pixels + (size_t)i * img, img);
            else
                pattern(px, (int)c, (int)s);
            if (mirror)
                fer_augment_mirror(px, 1, (int)c, (int)s, (int)s, px);
            fer_record_init(&r, name, FER_U8, 3, shape, px, m);
            if (fer_record_write(stdout, &r))
                fail(fer_error());
            free(m);
        }
        free(px);
    }
    if (from)
        fer_dataset_free(&src);
    if (fflush(stdout) || ferror(stdout))
        fail("standard output: write error");
    return 0;
}
