/* image_pnm.c: PGM/PPM (P5/P6 binary, P2/P3 text) reading and writing.
 *
 * One parser reads from memory or from a stream, front to back without
 * seeking, so that concatenated frames can come from a pipe. Samples with
 * a maxval other than 255 (up to 65535, two bytes big-endian when above
 * 255) are scaled to 0..255 as round(v * 255 / maxval). */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "image.h"
#include "image_codec.h"

struct pnmin {
    const uint8_t *p;       /* memory source, or */
    size_t n, pos;
    FILE *f;                /* a stream */
    const char *name;
};

static int in_getc(struct pnmin *s)
{
    if (s->f)
        return getc(s->f);
    return s->pos < s->n ? s->p[s->pos++] : EOF;
}

static size_t in_read(struct pnmin *s, void *buf, size_t k)
{
    if (s->f)
        return fread(buf, 1, k, s->f);
    if (k > s->n - s->pos)
        k = s->n - s->pos;
    memcpy(buf, s->p + s->pos, k);
    s->pos += k;
    return k;
}

static int is_space(int ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* Reads a decimal number after whitespace and '#' comments; consumes the
 * one character that ends it. what names the field for messages. */
static int read_num(struct pnmin *s, const char *what, long *out)
{
    int ch = in_getc(s);
    long v = 0;
    for (;;) {
        if (ch == '#') {
            while (ch != '\n' && ch != '\r' && ch != EOF)
                ch = in_getc(s);
        } else if (is_space(ch)) {
            ch = in_getc(s);
        } else {
            break;
        }
    }
    if (ch == EOF)
        return fer_seterr("%s: truncated PNM data (no %s)", s->name, what);
    if (ch < '0' || ch > '9')
        return fer_seterr("%s: bad PNM header: %s is not a number", s->name, what);
    while (ch >= '0' && ch <= '9') {
        if (v > 100000000)
            return fer_seterr("%s: %s too large", s->name, what);
        v = v * 10 + (ch - '0');
        ch = in_getc(s);
    }
    if (ch != EOF && !is_space(ch) && ch != '#')
        return fer_seterr("%s: bad PNM header: junk after %s", s->name, what);
    if (ch == '#')  /* a comment right after the number: skip it */
        while (ch != '\n' && ch != '\r' && ch != EOF)
            ch = in_getc(s);
    *out = v;
    return 0;
}

static uint8_t scale(long v, long maxval)
{
    return maxval == 255 ? (uint8_t)v : (uint8_t)((v * 255 + maxval / 2) / maxval);
}

/* Reads the rest of a frame after its two magic bytes "P<kind>". */
static int read_body(struct pnmin *s, int kind, fer_image *im)
{
    long w, h, maxval, v;
    int c = (kind == '3' || kind == '6') ? 3 : 1;
    int text = kind == '2' || kind == '3';
    size_t rowlen, bps;
    uint8_t *row = NULL;

    if (read_num(s, "width", &w) < 0 || read_num(s, "height", &h) < 0
        || fer_image_check_dims(s->name, w, h) < 0 || read_num(s, "maxval", &maxval) < 0)
        return -1;
    if (maxval < 1 || maxval > 65535)
        return fer_seterr("%s: maxval %ld not in 1..65535", s->name, maxval);
    if (fer_image_alloc(im, (int)w, (int)h, c) < 0)
        return fer_error_prefix("%s", s->name);
    rowlen = (size_t)w * c;
    if (text) {
        for (size_t i = 0; i < rowlen * (size_t)h; i++) {
            if (read_num(s, "sample", &v) < 0)
                goto fail;
            if (v > maxval) {
                fer_seterr("%s: sample %ld > maxval %ld", s->name, v, maxval);
                goto fail;
            }
            im->px[i] = scale(v, maxval);
        }
        return 0;
    }
    bps = maxval > 255 ? 2 : 1;
    if (!(row = malloc(rowlen * bps))) {
        fer_seterr("%s: out of memory", s->name);
        goto fail;
    }
    for (long y = 0; y < h; y++) {
        uint8_t *out = im->px + (size_t)y * rowlen;
        if (in_read(s, row, rowlen * bps) != rowlen * bps) {
            fer_seterr("%s: truncated PNM data (row %ld of %ld)", s->name, y, h);
            goto fail;
        }
        for (size_t i = 0; i < rowlen; i++) {
            v = bps == 1 ? row[i] : (long)row[2 * i] << 8 | row[2 * i + 1];
            if (v > maxval) {
                fer_seterr("%s: sample %ld > maxval %ld", s->name, v, maxval);
                goto fail;
            }
            out[i] = scale(v, maxval);
        }
    }
    free(row);
    return 0;
fail:
    free(row);
    fer_image_free(im);
    return -1;
}

int fer_image_decode_pnm(const uint8_t *buf, size_t n, const char *name, fer_image *im)
{
    struct pnmin s = {buf, n, 0, NULL, name};
    memset(im, 0, sizeof *im);
    if (n < 2 || buf[0] != 'P' || !buf[1] || !strchr("2356", buf[1]))
        return fer_seterr("%s: not a P2, P3, P5 or P6 image", name);
    s.pos = 2;
    return read_body(&s, buf[1], im);
}

int fer_image_read_pnm_stream(FILE *f, const char *name, fer_image *im)
{
    struct pnmin s = {NULL, 0, 0, f, name};
    int ch;
    memset(im, 0, sizeof *im);
    while ((ch = getc(f)) != EOF && is_space(ch))
        ;
    if (ch == EOF)
        return ferror(f) ? fer_seterr("%s: read error", name) : 0;
    if (ch != 'P')
        return fer_seterr("%s: not a PNM frame", name);
    ch = getc(f);
    if (ch != '5' && ch != '6')
        return fer_seterr("%s: not a P5 or P6 frame", name);
    if (read_body(&s, ch, im) < 0)
        return -1;
    return 1;
}

int fer_image_write_pnm_file(FILE *f, const fer_image *im)
{
    if (fer_image_check(im, "PNM") < 0)
        return -1;
    fprintf(f, "P%c\n%d %d\n255\n", im->c == 1 ? '5' : '6', im->w, im->h);
    fwrite(im->px, 1, (size_t)im->w * im->h * im->c, f);
    if (ferror(f))
        return fer_seterr("PNM: write error");
    return 0;
}
