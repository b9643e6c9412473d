/* image.c: image allocation, reading by magic, writing by extension. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "image.h"
#include "image_codec.h"
#include "outfile.h"
#include "parse.h"

int fer_image_alloc(fer_image *im, int w, int h, int c)
{
    memset(im, 0, sizeof *im);
    if (w <= 0 || h <= 0 || (c != 1 && c != 3))
        return fer_seterr("image: bad size %dx%dx%d", w, h, c);
    if ((size_t)w > SIZE_MAX / (size_t)h / (size_t)c)
        return fer_seterr("image: %dx%dx%d is too large", w, h, c);
    im->px = malloc((size_t)w * h * c);
    if (!im->px)
        return fer_seterr("image: out of memory for %dx%dx%d", w, h, c);
    im->w = w;
    im->h = h;
    im->c = c;
    return 0;
}

void fer_image_free(fer_image *im)
{
    if (!im)
        return;
    free(im->px);
    memset(im, 0, sizeof *im);
}

int fer_image_max_pixels(long long *max)
{
    const char *e = getenv("FER_MAX_PIXELS");
    long v;
    *max = FER_IMAGE_PIXELS_MAX;
    if (!e)
        return 0;
    if (fer_parse_long(e, 1, (long)FER_IMAGE_DIM_MAX * FER_IMAGE_DIM_MAX, &v) < 0)
        return fer_seterr("FER_MAX_PIXELS: '%s' is not a pixel count in 1..%ld", e,
                          (long)FER_IMAGE_DIM_MAX * FER_IMAGE_DIM_MAX);
    *max = v;
    return 0;
}

int fer_image_check_dims(const char *name, long long w, long long h)
{
    long long max;
    if (w <= 0)
        return fer_seterr("%s: width %lld", name, w);
    if (h <= 0)
        return fer_seterr("%s: height %lld", name, h);
    if (w > FER_IMAGE_DIM_MAX || h > FER_IMAGE_DIM_MAX)
        return fer_seterr("%s: %lldx%lld is larger than %d pixels a side", name, w, h,
                          FER_IMAGE_DIM_MAX);
    if (fer_image_max_pixels(&max) < 0)
        return -1;
    if (w * h > max)
        return fer_seterr("%s: %lldx%lld is %lld pixels, over the limit of %lld"
                          " (FER_MAX_PIXELS raises it)", name, w, h, w * h, max);
    return 0;
}

int fer_image_read_mem(const void *buf, size_t n, const char *name, fer_image *im)
{
    static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    const uint8_t *p = buf;
    memset(im, 0, sizeof *im);
    if (n == 0)
        return fer_seterr("%s: empty file", name);
    if (n >= 8 && !memcmp(p, png_magic, 8))
        return fer_image_decode_png(p, n, name, im);
    if (n >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
        return fer_image_decode_jpeg(p, n, name, im);
    if (n >= 2 && p[0] == 'P' && p[1] && strchr("2356", p[1]))
        return fer_image_decode_pnm(p, n, name, im);
    return fer_seterr("%s: not a PNG, JPEG or PNM image", name);
}

/* Reads all of f into a malloc'd buffer. 0 or -1 (message names name). */
static int slurp(FILE *f, const char *name, uint8_t **out, size_t *len)
{
    size_t cap = 1 << 16, n = 0, k;
    uint8_t *b = malloc(cap), *nb;
    errno = 0;
    if (!b)
        return fer_seterr("%s: out of memory", name);
    for (;;) {
        if (n == cap) {
            if (cap > SIZE_MAX / 2 || !(nb = realloc(b, cap * 2))) {
                free(b);
                return fer_seterr("%s: out of memory", name);
            }
            b = nb;
            cap *= 2;
        }
        k = fread(b + n, 1, cap - n, f);
        n += k;
        if (k == 0)
            break;
    }
    if (ferror(f)) {
        int e = errno;
        free(b);
        return fer_seterr("%s: %s", name, e ? strerror(e) : "read error");
    }
    *out = b;
    *len = n;
    return 0;
}

int fer_image_read(const char *path, fer_image *im)
{
    int stdin_ = !strcmp(path, "-");
    const char *name = stdin_ ? "stdin" : path;
    FILE *f = stdin_ ? stdin : fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t n = 0;
    int r;
    memset(im, 0, sizeof *im);
    if (!f)
        return fer_seterr("%s: %s", path, strerror(errno));
    r = slurp(f, name, &buf, &n);
    if (!stdin_)
        fclose(f);
    if (r < 0)
        return -1;
    r = fer_image_read_mem(buf, n, name, im);
    free(buf);
    return r;
}

int fer_image_check(const fer_image *im, const char *name)
{
    if (!im || !im->px || im->w <= 0 || im->h <= 0 || (im->c != 1 && im->c != 3))
        return fer_seterr("%s: not a valid 1- or 3-channel image", name);
    return 0;
}

/* Writes through a temporary file with the encoder kind picks (0 PNG,
 * 1 JPEG, 2 PNM). */
static int write_via(const char *path, const fer_image *im, int quality, int kind)
{
    fer_outfile o;
    int r;
    if (fer_image_check(im, path) < 0)
        return -1;
    if (fer_outfile_open(&o, path) < 0) {
        fer_outfile_abort(&o);  /* frees what open kept (keeps the message) */
        return -1;
    }
    r = kind == 0 ? fer_image_write_png_file(o.f, im)
      : kind == 1 ? fer_image_write_jpeg_file(o.f, im, quality)
      : fer_image_write_pnm_file(o.f, im);
    if (r < 0) {
        fer_outfile_abort(&o);
        return fer_error_prefix("%s", path);
    }
    return fer_outfile_commit(&o);
}

int fer_image_write_png(const char *path, const fer_image *im)
{
    return write_via(path, im, 0, 0);
}

int fer_image_write_jpeg(const char *path, const fer_image *im, int quality)
{
    if (quality < 1 || quality > 100)
        return fer_seterr("%s: JPEG quality %d not in 1..100", path, quality);
    return write_via(path, im, quality, 1);
}

int fer_image_write_pnm(const char *path, const fer_image *im)
{
    return write_via(path, im, 0, 2);
}

int fer_image_write(const char *path, const fer_image *im)
{
    const char *dot = strrchr(path, '.');
    if (dot && strchr(dot, '/'))
        dot = NULL;
    if (dot && !strcasecmp(dot, ".png"))
        return fer_image_write_png(path, im);
    if (dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg")))
        return fer_image_write_jpeg(path, im, FER_IMAGE_JPEG_QUALITY);
    if (dot && (!strcasecmp(dot, ".pgm") || !strcasecmp(dot, ".ppm") || !strcasecmp(dot, ".pnm")))
        return fer_image_write_pnm(path, im);
    return fer_seterr("%s: unknown image type (use .png, .jpg, .jpeg, .pgm, .ppm or .pnm)", path);
}
