/* image_ops.c: gray conversion, bilinear and area resizing, cropping. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "image.h"
#include "image_codec.h"

int fer_image_to_gray(const fer_image *in, fer_image *out)
{
    size_t n;
    if (fer_image_check(in, "to_gray") < 0 || fer_image_alloc(out, in->w, in->h, 1) < 0)
        return -1;
    n = (size_t)in->w * in->h;
    if (in->c == 1) {
        memcpy(out->px, in->px, n);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = in->px + 3 * i;
        out->px[i] = (uint8_t)((9798 * p[0] + 19235 * p[1] + 3735 * p[2] + 16384) >> 15);
    }
    return 0;
}

static int check_out_size(const fer_image *in, int w, int h, const char *what, fer_image *out)
{
    memset(out, 0, sizeof *out);
    if (fer_image_check(in, what) < 0)
        return -1;
    if (w <= 0 || h <= 0)
        return fer_seterr("%s: bad output size %dx%d", what, w, h);
    return fer_image_alloc(out, w, h, in->c);
}

/* Bilinear weights are 11-bit fixed point, as OpenCV's for 8-bit images:
 * each output is within one level of the exact double result. */
#define WBITS 11
#define WONE (1 << WBITS)

/* For each output position d of n (source size sn): the left/top source
 * index i[d] and its weight a[d] (the other, a' = WONE - a, on i[d] + 1).
 * Samples at pixel centres, sx = (d + 0.5) * sn / n - 0.5, clamped to the
 * border: outside [0, sn - 1] the edge pixel is used alone. */
static void linear_taps(int n, int sn, int *i, int *a)
{
    double s = (double)sn / n;
    for (int d = 0; d < n; d++) {
        double x = (d + 0.5) * s - 0.5;
        int k = (int)floor(x);
        double f = x - k;
        if (k < 0) {
            k = 0;
            f = 0;
        }
        if (k >= sn - 1) {
            k = sn - 1;
            f = 0;
        }
        i[d] = k;
        a[d] = WONE - (int)lrint(f * WONE);
    }
}

int fer_image_resize_bilinear(const fer_image *in, int w, int h, fer_image *out)
{
    int c = in->c, *xi, *xa, *yi, *ya, *r0, *r1;
    if (check_out_size(in, w, h, "resize", out) < 0)
        return -1;
    if (w == in->w && h == in->h) {
        memcpy(out->px, in->px, (size_t)w * h * c);
        return 0;
    }
    xi = malloc(sizeof(int) * ((size_t)2 * w + 2 * h + 2 * (size_t)w * c));
    if (!xi) {
        fer_image_free(out);
        return fer_seterr("resize: out of memory");
    }
    xa = xi + w;
    yi = xa + w;
    ya = yi + h;
    r0 = ya + h;                    /* horizontally resampled rows, * WONE */
    r1 = r0 + (size_t)w * c;
    linear_taps(w, in->w, xi, xa);
    linear_taps(h, in->h, yi, ya);
    for (int y = 0; y < h; y++) {
        int sy = yi[y], sy1 = sy + 1 < in->h ? sy + 1 : sy;
        for (int k = 0; k < 2; k++) {
            const uint8_t *src = in->px + (size_t)(k ? sy1 : sy) * in->w * c;
            int *r = k ? r1 : r0;
            for (int x = 0; x < w; x++) {
                int sx = xi[x], sx1 = sx + 1 < in->w ? sx + 1 : sx, a = xa[x];
                for (int ch = 0; ch < c; ch++)
                    r[x * c + ch] = src[sx * c + ch] * a + src[sx1 * c + ch] * (WONE - a);
            }
        }
        uint8_t *o = out->px + (size_t)y * w * c;
        long long b = ya[y];
        for (int x = 0; x < w * c; x++)
            o[x] = (uint8_t)((r0[x] * b + r1[x] * (WONE - b) + (1LL << (2 * WBITS - 1)))
                             >> (2 * WBITS));
    }
    free(xi);
    return 0;
}

/* Area taps along one axis: output d covers source [d*s, (d+1)*s) with
 * s = sn / n; each source pixel j it touches gets the length of the
 * overlap. Taps of output d are t[off[d] .. off[d+1]). */
struct tap { int j; double wt; };

static struct tap *area_taps(int n, int sn, int **offp)
{
    double s = (double)sn / n;
    int per = (int)ceil(s) + 2;
    struct tap *t = malloc(sizeof *t * (size_t)n * per);
    int *off = malloc(sizeof *off * ((size_t)n + 1)), k = 0;
    if (!t || !off) {
        free(t);
        free(off);
        return NULL;
    }
    for (int d = 0; d < n; d++) {
        /* exact in integers: [d*sn, (d+1)*sn) in units of 1/n source pixel */
        long long lo = (long long)d * sn, hi = lo + sn;
        off[d] = k;
        for (long long j = lo / n; j * n < hi && j < sn; j++) {
            long long a = j * n > lo ? j * n : lo, b = (j + 1) * n < hi ? (j + 1) * n : hi;
            if (b > a) {
                t[k].j = (int)j;
                t[k].wt = (double)(b - a) / n;
                k++;
            }
        }
    }
    off[n] = k;
    *offp = off;
    return t;
}

int fer_image_resize_area(const fer_image *in, int w, int h, fer_image *out)
{
    int c = in->c, *xo = NULL, *yo = NULL;
    struct tap *xt = NULL, *yt = NULL;
    double *acc = NULL, norm;
    if (check_out_size(in, w, h, "resize", out) < 0)
        return -1;
    if (w == in->w && h == in->h) {
        memcpy(out->px, in->px, (size_t)w * h * c);
        return 0;
    }
    xt = area_taps(w, in->w, &xo);
    yt = area_taps(h, in->h, &yo);
    acc = malloc(sizeof *acc * (size_t)w * c);
    if (!xt || !yt || !acc) {
        free(xt); free(yt); free(xo); free(yo); free(acc);
        fer_image_free(out);
        return fer_seterr("resize: out of memory");
    }
    norm = ((double)w / in->w) * ((double)h / in->h);
    for (int y = 0; y < h; y++) {
        memset(acc, 0, sizeof *acc * (size_t)w * c);
        for (int ty = yo[y]; ty < yo[y + 1]; ty++) {
            const uint8_t *src = in->px + (size_t)yt[ty].j * in->w * c;
            double wy = yt[ty].wt;
            for (int x = 0; x < w; x++)
                for (int tx = xo[x]; tx < xo[x + 1]; tx++) {
                    double wt = wy * xt[tx].wt;
                    const uint8_t *p = src + (size_t)xt[tx].j * c;
                    for (int ch = 0; ch < c; ch++)
                        acc[x * c + ch] += wt * p[ch];
                }
        }
        uint8_t *o = out->px + (size_t)y * w * c;
        for (int x = 0; x < w * c; x++) {
            double v = floor(acc[x] * norm + 0.5);
            o[x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
    free(xt); free(yt); free(xo); free(yo); free(acc);
    return 0;
}

static int clampi(long long v, int hi)
{
    return v < 0 ? 0 : v > hi ? hi : (int)v;
}

int fer_image_crop(const fer_image *in, int x, int y, int w, int h, fer_image *out)
{
    int c = in->c;
    if (check_out_size(in, w, h, "crop", out) < 0)
        return -1;
    for (int r = 0; r < h; r++) {
        const uint8_t *src = in->px + (size_t)clampi((long long)y + r, in->h - 1) * in->w * c;
        uint8_t *o = out->px + (size_t)r * w * c;
        for (int q = 0; q < w; q++) {
            int sx = clampi((long long)x + q, in->w - 1);
            memcpy(o + (size_t)q * c, src + (size_t)sx * c, c);
        }
    }
    return 0;
}
