/* test_augment.c: each transform of augment.h against a per-pixel
 * reference in double (clamped source coordinates, bilinear weights
 * written out), on seeded random images of odd sizes; exact cases
 * (identities, a quarter turn, zoom by 2, crop windows, clamping); the
 * random copy's draw order (fer-train's runs must repeat) and the keyed
 * generators of fer-augment. */
#include <stdint.h>
#include <string.h>

#include "augment.h"
#include "check.h"
#include "rng.h"

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static void test_shift_definition(void)
{
    for (int t = 0; t < 200; t++) {
        int c = 1 + (int)(check_uniform() * 3), h = 1 + (int)(check_uniform() * 23);
        int w = 1 + (int)(check_uniform() * 29);
        int dx = (int)(check_uniform() * (2 * w + 3)) - w - 1;
        int dy = (int)(check_uniform() * (2 * h + 3)) - h - 1;
        size_t n = (size_t)c * h * w;
        uint8_t *src = malloc(n), *dst = malloc(n);
        if (!src || !dst)
            abort();
        for (size_t i = 0; i < n; i++)
            src[i] = (uint8_t)(check_uniform() * 256);
        fer_augment_shift(src, c, h, w, dx, dy, dst);
        for (int p = 0; p < c; p++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    int sy = clampi(y - dy, 0, h - 1), sx = clampi(x - dx, 0, w - 1);
                    uint8_t want = src[((size_t)p * h + sy) * w + sx];
                    uint8_t got = dst[((size_t)p * h + y) * w + x];
                    CHECK(got == want, "c%d %dx%d shift (%d,%d) at (%d,%d,%d): %d, want %d", c,
                          w, h, dx, dy, p, y, x, got, want);
                }
        free(src);
        free(dst);
    }
}

/* A shift by (0, 0) copies; one by (1, 0) moves the content right. */
static void test_shift_simple(void)
{
    uint8_t src[6] = {1, 2, 3, 4, 5, 6}, dst[6];
    fer_augment_shift(src, 1, 2, 3, 0, 0, dst);
    CHECK(!memcmp(src, dst, 6), "identity changed the image");
    fer_augment_shift(src, 1, 2, 3, 1, 0, dst);
    CHECK(dst[0] == 1 && dst[1] == 1 && dst[2] == 2 && dst[3] == 4 && dst[5] == 5,
          "right shift gave %d %d %d / %d %d %d", dst[0], dst[1], dst[2], dst[3], dst[4],
          dst[5]);
    fer_augment_shift(src, 1, 2, 3, 0, -1, dst);
    CHECK(dst[0] == 4 && dst[2] == 6 && dst[3] == 4, "up shift gave %d %d %d", dst[0], dst[2],
          dst[3]);
}

static uint8_t *noise(size_t n)
{
    uint8_t *p = malloc(n);
    if (!p)
        abort();
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(check_uniform() * 256);
    return p;
}

/* No rotation and whole-pixel shifts: exactly fer_augment_shift. */
static void test_rotate_shift_whole(void)
{
    for (int t = 0; t < 50; t++) {
        int c = 1 + (int)(check_uniform() * 2), h = 2 + (int)(check_uniform() * 20);
        int w = 2 + (int)(check_uniform() * 20);
        int dx = (int)(check_uniform() * 9) - 4, dy = (int)(check_uniform() * 9) - 4;
        size_t n = (size_t)c * h * w;
        uint8_t *src = noise(n), *a = malloc(n), *b = malloc(n);
        fer_augment_shift(src, c, h, w, dx, dy, a);
        fer_augment_rotate_shift(src, c, h, w, 0, dx, dy, b);
        CHECK(!memcmp(a, b, n), "%dx%dx%d shift (%d,%d): differs from fer_augment_shift", c, h, w, dx,
              dy);
        free(src), free(a), free(b);
    }
}

/* A quarter turn of a square image moves every pixel exactly: the
 * top-right corner to the top-left (counter-clockwise as seen). */
static void test_rotate_quarter(void)
{
    const int n = 17;
    uint8_t *src = noise((size_t)n * n), *dst = malloc((size_t)n * n);
    fer_augment_rotate_shift(src, 1, n, n, 90, 0, 0, dst);
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++)
            CHECK(dst[y * n + x] == src[x * n + (n - 1 - y)], "(%d,%d): %d, want %d", x, y,
                  dst[y * n + x], src[x * n + (n - 1 - y)]);
    free(src), free(dst);
}

/* A small turn keeps a constant image constant and moves a bright dot
 * along its circle. */
static void test_rotate_dot(void)
{
    uint8_t src[21 * 21] = {0}, dst[21 * 21];
    int best = 0;
    src[10 * 21 + 20] = 255;   /* right of the centre (10, 10) by 10 */
    fer_augment_rotate_shift(src, 1, 21, 21, 30, 0, 0, dst);
    for (int i = 1; i < 21 * 21; i++)
        if (dst[i] > dst[best])
            best = i;
    /* counter-clockwise by 30 degrees: up (y smaller) and to the left */
    CHECK(best % 21 == 19 && best / 21 == 5, "dot at (%d,%d), want (19,5)", best % 21, best / 21);
}

/* The bilinear value at (sx, sy) of plane p, as the four weighted
 * neighbours, indices clamped to [xlo, xhi] x [ylo, yhi] after the point
 * itself is. */
static double ref_bilinear(const uint8_t *src, int h, int w, int p, double sx, double sy,
                           int xlo, int ylo, int xhi, int yhi)
{
    double x = sx < xlo ? xlo : sx > xhi ? xhi : sx, y = sy < ylo ? ylo : sy > yhi ? yhi : sy;
    int x0 = (int)floor(x), y0 = (int)floor(y);
    int x1 = x0 + 1 > xhi ? xhi : x0 + 1, y1 = y0 + 1 > yhi ? yhi : y0 + 1;
    double a = x - x0, b = y - y0;
    const uint8_t *s = src + (size_t)p * h * w;
    return (1 - a) * (1 - b) * s[y0 * w + x0] + a * (1 - b) * s[y0 * w + x1] +
           (1 - a) * b * s[y1 * w + x0] + a * b * s[y1 * w + x1];
}

/* A byte is right when it is the reference rounded: within 0.5 of it. */
#define CHECK_ROUNDED(got, want, ...) \
    CHECK(fabs((double)(got) - (want)) <= 0.5 + 1e-9, __VA_ARGS__)

/* Rotation, scale and shift against the forward map written out: a point
 * q goes to p = centre + s R (q - centre) + d with R turning
 * counter-clockwise as seen (y down): (1, 0) -> (cos, -sin). */
static void test_affine_reference(void)
{
    for (int t = 0; t < 60; t++) {
        int c = 1 + (int)(check_uniform() * 2), h = 1 + (int)(check_uniform() * 30);
        int w = 1 + (int)(check_uniform() * 30);
        double deg = check_uniform() * 400 - 200, s = 0.3 + check_uniform() * 2.7;
        double dx = check_uniform() * 8 - 4, dy = check_uniform() * 8 - 4;
        double a = deg * M_PI / 180, cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
        size_t n = (size_t)c * h * w;
        uint8_t *src = noise(n), *dst = malloc(n);
        fer_augment_affine(src, c, h, w, deg, s, dx, dy, dst);
        for (int p = 0; p < c; p++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    /* invert p = centre + s R q' + d: q' = R^T (p - centre - d) / s */
                    double u = (x - cx - dx) / s, v = (y - cy - dy) / s;
                    double qx = cx + cos(a) * u - sin(a) * v, qy = cy + sin(a) * u + cos(a) * v;
                    double want = ref_bilinear(src, h, w, p, qx, qy, 0, 0, w - 1, h - 1);
                    uint8_t got = dst[((size_t)p * h + y) * w + x];
                    CHECK_ROUNDED(got, want, "%dx%dx%d deg %.2f scale %.3f at (%d,%d,%d): %d, "
                                  "want %.3f", c, h, w, deg, s, p, y, x, got, want);
                }
        free(src), free(dst);
    }
}

/* Scale 1, no turn, no shift: a copy. Zoom by 2 on an odd side: pixel
 * centre + 2k shows source pixel centre + k exactly. */
static void test_scale_exact(void)
{
    const int n = 21, m = 10;   /* centre (10, 10) */
    uint8_t *src = noise(2 * n * n), *dst = malloc(2 * n * n);
    fer_augment_affine(src, 2, n, n, 0, 1, 0, 0, dst);
    CHECK(!memcmp(src, dst, 2 * n * n), "scale 1 changed the image");
    fer_augment_affine(src, 2, n, n, 0, 2, 0, 0, dst);
    for (int p = 0; p < 2; p++)
        for (int j = -5; j <= 5; j++)
            for (int k = -5; k <= 5; k++) {
                int got = dst[(p * n + m + 2 * j) * n + m + 2 * k];
                int want = src[(p * n + m + j) * n + m + k];
                CHECK(got == want, "zoom 2 at (%d,%d): %d, want %d", 2 * k, 2 * j, got, want);
            }
    /* zoom out by 2: the border repeats, so a flat image stays flat */
    memset(src, 99, 2 * n * n);
    fer_augment_affine(src, 2, n, n, 17, 0.5, 1.5, -2, dst);
    for (int i = 0; i < 2 * n * n; i++)
        CHECK(dst[i] == 99, "flat image at %d: %d", i, dst[i]);
    free(src), free(dst);
}

/* The crop window resized back, against the per-pixel definition. */
static void test_crop_reference(void)
{
    for (int t = 0; t < 80; t++) {
        int c = 1 + (int)(check_uniform() * 2), h = 1 + (int)(check_uniform() * 30);
        int w = 1 + (int)(check_uniform() * 30);
        int cw = 1 + (int)(check_uniform() * w), ch = 1 + (int)(check_uniform() * h);
        int x0 = (int)(check_uniform() * (w - cw + 1)), y0 = (int)(check_uniform() * (h - ch + 1));
        size_t n = (size_t)c * h * w;
        uint8_t *src = noise(n), *dst = malloc(n);
        fer_augment_crop(src, c, h, w, x0, y0, cw, ch, dst);
        for (int p = 0; p < c; p++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    double sx = x0 + (x + 0.5) * cw / w - 0.5, sy = y0 + (y + 0.5) * ch / h - 0.5;
                    double want = ref_bilinear(src, h, w, p, sx, sy, x0, y0, x0 + cw - 1,
                                               y0 + ch - 1);
                    uint8_t got = dst[((size_t)p * h + y) * w + x];
                    CHECK_ROUNDED(got, want, "%dx%d window %dx%d at (%d,%d), pixel (%d,%d,%d): "
                                  "%d, want %.3f", w, h, cw, ch, x0, y0, p, y, x, got, want);
                }
        free(src), free(dst);
    }
}

/* The whole image as window copies it; nothing outside a window shows. */
static void test_crop_exact(void)
{
    const int h = 48, w = 48;
    uint8_t *src = noise(h * w), *dst = malloc(h * w);
    fer_augment_crop(src, 1, h, w, 0, 0, w, h, dst);
    CHECK(!memcmp(src, dst, h * w), "the whole window changed the image");
    memset(src, 200, h * w);
    for (int y = 7; y < 7 + 30; y++)
        memset(src + y * w + 11, 77, 30);   /* the window (11, 7) 30x30 */
    fer_augment_crop(src, 1, h, w, 11, 7, 30, 30, dst);
    for (int i = 0; i < h * w; i++)
        CHECK(dst[i] == 77, "pixel %d is %d: the outside shows", i, dst[i]);
    /* a window of one pixel fills the image with it */
    src[5 * w + 9] = 3;
    fer_augment_crop(src, 1, h, w, 9, 5, 1, 1, dst);
    for (int i = 0; i < h * w; i++)
        CHECK(dst[i] == 3, "one-pixel window: %d at %d", dst[i], i);
    free(src), free(dst);
}

static double clamp255(double v) { return v < 0 ? 0 : v > 255 ? 255 : v; }

/* Brightness f v and contrast f v + (1 - f) mean, clamped, rounded. */
static void test_photometric(void)
{
    const double fs[] = {0, 0.3, 0.77, 1, 1.25, 2.5, 9};
    for (int t = 0; t < 40; t++) {
        size_t n = 1 + (size_t)(check_uniform() * 3000);
        uint8_t *src = noise(n), *dst = malloc(n);
        double mean = 0;
        for (size_t i = 0; i < n; i++)
            mean += src[i];
        mean /= n;
        for (int k = 0; k < (int)(sizeof fs / sizeof *fs); k++) {
            double f = fs[k];
            fer_augment_brightness(src, n, f, dst);
            for (size_t i = 0; i < n; i++)
                CHECK_ROUNDED(dst[i], clamp255(f * src[i]), "brightness %g of %d: %d", f, src[i],
                              dst[i]);
            fer_augment_contrast(src, n, f, dst);
            for (size_t i = 0; i < n; i++)
                CHECK_ROUNDED(dst[i], clamp255(f * src[i] + (1 - f) * mean),
                              "contrast %g of %d (mean %.3f): %d", f, src[i], mean, dst[i]);
        }
        /* exact cases: 1 changes nothing; brightness 0 is black; contrast
         * 0 is the rounded mean; in place works */
        fer_augment_brightness(src, n, 1, dst);
        CHECK(!memcmp(src, dst, n), "brightness 1 changed the image");
        fer_augment_contrast(src, n, 1, dst);
        CHECK(!memcmp(src, dst, n), "contrast 1 changed the image");
        fer_augment_brightness(src, n, 0, dst);
        for (size_t i = 0; i < n; i++)
            CHECK(dst[i] == 0, "brightness 0: %d", dst[i]);
        fer_augment_contrast(src, n, 0, dst);
        for (size_t i = 0; i < n; i++)
            CHECK(dst[i] == (int)floor(mean + 0.5), "contrast 0: %d, mean %.3f", dst[i], mean);
        memcpy(dst, src, n);
        fer_augment_brightness(dst, n, 2, dst);
        for (size_t i = 0; i < n; i++)
            CHECK(dst[i] == (src[i] >= 128 ? 255 : 2 * src[i]), "in place x2: %d of %d", dst[i],
                  src[i]);
        free(src), free(dst);
    }
}

/* Erasing changes the rectangle only, with bytes that look uniform. */
static void test_erase_geometry(void)
{
    const int c = 2, h = 37, w = 41, x0 = 5, y0 = 9, ew = 30, eh = 20;
    uint8_t *img = noise((size_t)c * h * w), *orig = malloc((size_t)c * h * w);
    long same = 0, lo = 0, hi = 0, inside = 0;
    double sum = 0;
    fer_rng rng;
    fer_rng_seed(&rng, 42);
    memcpy(orig, img, (size_t)c * h * w);
    fer_augment_erase(img, c, h, w, x0, y0, ew, eh, &rng);
    for (int p = 0; p < c; p++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                size_t i = ((size_t)p * h + y) * w + x;
                if (x >= x0 && x < x0 + ew && y >= y0 && y < y0 + eh) {
                    inside++;
                    same += img[i] == orig[i];
                    sum += img[i];
                    lo += img[i] < 16;
                    hi += img[i] >= 240;
                } else {
                    CHECK(img[i] == orig[i], "(%d,%d,%d) outside the rectangle changed", p, y, x);
                }
            }
    /* 1200 uniform bytes: about 5 equal by chance, mean 127.5 +- 2.1 */
    CHECK(same < 25, "%ld of %ld erased bytes kept their value", same, inside);
    CHECK(fabs(sum / inside - 127.5) < 10, "erased mean %.2f", sum / inside);
    CHECK(lo > 30 && hi > 30, "erased bytes not spread: %ld below 16, %ld from 240", lo, hi);
    free(img), free(orig);
}

/* Nothing on: a copy, and no draw. */
static void test_random_off(void)
{
    fer_augment_opts o;
    fer_rng r, r0;
    uint8_t *src = noise(2304), dst[2304], tmp[2304];
    memset(&o, 0, sizeof o);
    fer_rng_seed(&r, 9);
    r0 = r;
    CHECK(!fer_augment_any(&o), "a zeroed struct is on");
    fer_augment_random(&o, src, 1, 48, 48, &r, dst, tmp);
    CHECK(!memcmp(src, dst, 2304), "nothing on changed the image");
    CHECK(!memcmp(&r, &r0, sizeof r), "nothing on drew random numbers");
    free(src);
}

/* Shift, rotation and flip draw and apply as fer-train's loop always did:
 * dx and dy by fer_rng_below(2 shift + 1), the angle r (2 u - 1) with u a
 * float, the flip from the top bit of a u64; resampled in one go, then
 * mirrored. */
static void test_random_train_order(void)
{
    const int c = 1, h = 48, w = 48, n = c * h * w;
    uint8_t *src = noise(n), got[48 * 48], want[48 * 48], tmp[48 * 48];
    for (int t = 0; t < 200; t++) {
        fer_augment_opts o;
        fer_rng r, q;
        int dx = 0, dy = 0;
        double r_deg;
        memset(&o, 0, sizeof o);
        o.shift = t % 3 == 0 ? 0 : 1 + t % 5;
        r_deg = t % 4 == 0 ? 0 : 2.5 * (t % 7 + 1);
        o.rot_lo = -r_deg, o.rot_hi = r_deg;
        o.flip = t % 2;
        fer_rng_seed(&r, 1000 + t);
        q = r;
        fer_augment_random(&o, src, c, h, w, &r, got, tmp);
        if (o.shift > 0) {
            dx = (int)fer_rng_below(&q, 2 * o.shift + 1) - o.shift;
            dy = (int)fer_rng_below(&q, 2 * o.shift + 1) - o.shift;
        }
        if (r_deg > 0)
            fer_augment_rotate_shift(src, c, h, w, r_deg * (2 * fer_rng_float(&q) - 1), dx, dy, want);
        else
            fer_augment_shift(src, c, h, w, dx, dy, want);
        if (o.flip && fer_rng_u64(&q) >> 63)
            fer_augment_mirror(want, 1, c, h, w, want);
        CHECK(!memcmp(got, want, n), "shift %d rotate %g flip %d: other pixels", o.shift, r_deg,
              o.flip);
        CHECK(!memcmp(&r, &q, sizeof r), "shift %d rotate %g flip %d: other draws", o.shift,
              r_deg, o.flip);
    }
    free(src);
}

/* Fixed ranges give the plain transform: rotation 30:30, scale 2:2; a
 * crop is one of the windows; brightness and contrast draw one double. */
static void test_random_fixed(void)
{
    const int h = 48, w = 48;
    uint8_t *src = noise(h * w), got[48 * 48], want[48 * 48], tmp[48 * 48];
    fer_augment_opts o;
    fer_rng r, q;
    int found = 0;
    memset(&o, 0, sizeof o);
    o.rot_lo = o.rot_hi = 30;
    o.scale_lo = o.scale_hi = 2;
    fer_rng_seed(&r, 5);
    fer_augment_random(&o, src, 1, h, w, &r, got, tmp);
    fer_augment_affine(src, 1, h, w, 30, 2, 0, 0, want);
    CHECK(!memcmp(got, want, sizeof got), "rotation 30:30 scale 2:2 is not the plain affine");
    memset(&o, 0, sizeof o);
    o.crop = 3;
    fer_augment_random(&o, src, 1, h, w, &r, got, tmp);
    for (int y = 0; y <= 6 && !found; y++)
        for (int x = 0; x <= 6 && !found; x++) {
            fer_augment_crop(src, 1, h, w, x, y, 42, 42, want);
            found = !memcmp(got, want, sizeof got);
        }
    CHECK(found, "crop 3 is none of the 42x42 windows");
    memset(&o, 0, sizeof o);
    o.brightness = 0.5;
    o.contrast = 0.5;
    fer_rng_seed(&r, 6);
    q = r;
    fer_augment_random(&o, src, 1, h, w, &r, got, tmp);
    {
        double bf = 0.5 + fer_rng_double(&q), cf = 0.5 + fer_rng_double(&q);
        fer_augment_brightness(src, h * w, bf, want);
        fer_augment_contrast(want, h * w, cf, want);
    }
    CHECK(!memcmp(got, want, sizeof got), "brightness then contrast differ");
    CHECK(!memcmp(&r, &q, sizeof r), "brightness and contrast: not one double each");
    free(src);
}

/* Erase with probability p: about p of the copies change, each in one
 * rectangle of 2%..33% of the image, h/w within 0.3..3.3 (up to rounding
 * and erased bytes that happen to equal the old ones). */
static void test_random_erase(void)
{
    const int h = 48, w = 48, trials = 2000;
    uint8_t src[48 * 48], got[48 * 48], tmp[48 * 48];
    fer_augment_opts o;
    fer_rng r;
    int changed = 0;
    for (int i = 0; i < h * w; i++)
        src[i] = (uint8_t)(1 + i % 7);   /* a pattern no run of random bytes keeps */
    memset(&o, 0, sizeof o);
    o.erase = 0.3;
    fer_rng_seed(&r, 77);
    for (int t = 0; t < trials; t++) {
        int x0 = w, y0 = h, x1 = -1, y1 = -1;
        fer_augment_random(&o, src, 1, h, w, &r, got, tmp);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                if (got[y * w + x] != src[y * w + x]) {
                    x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
                    y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
                }
        if (x1 >= 0) {
            double area = (double)(x1 - x0 + 1) * (y1 - y0 + 1) / (h * w);
            double ratio = (double)(y1 - y0 + 1) / (x1 - x0 + 1);
            changed++;
            CHECK(area > 0.012 && area < 0.36, "erased %.3f of the image", area);
            CHECK(ratio > 0.25 && ratio < 4, "erased rectangle h/w %.3f", ratio);
        }
    }
    CHECK(fabs((double)changed / trials - 0.3) < 0.05, "%d of %d copies erased, want 30%%",
          changed, trials);
}

/* Keyed generators: the same key, the same stream; any part changed,
 * another. */
static void test_rng_keys(void)
{
    fer_rng a, b;
    uint64_t first[4];
    fer_augment_rng(&a, 1, 2, 3);
    fer_augment_rng(&b, 1, 2, 3);
    CHECK(fer_rng_u64(&a) == fer_rng_u64(&b), "same key, other numbers");
    fer_augment_rng(&a, 1, 2, 3), first[0] = fer_rng_u64(&a);
    fer_augment_rng(&a, 2, 2, 3), first[1] = fer_rng_u64(&a);
    fer_augment_rng(&a, 1, 3, 3), first[2] = fer_rng_u64(&a);
    fer_augment_rng(&a, 1, 2, 4), first[3] = fer_rng_u64(&a);
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            CHECK(first[i] != first[j], "keys %d and %d give the same first number", i, j);
}

int main(void)
{
    RUN(test_shift_definition);
    RUN(test_shift_simple);
    RUN(test_rotate_shift_whole);
    RUN(test_rotate_quarter);
    RUN(test_rotate_dot);
    RUN(test_affine_reference);
    RUN(test_scale_exact);
    RUN(test_crop_reference);
    RUN(test_crop_exact);
    RUN(test_photometric);
    RUN(test_erase_geometry);
    RUN(test_random_off);
    RUN(test_random_train_order);
    RUN(test_random_fixed);
    RUN(test_random_erase);
    RUN(test_rng_keys);
    return check_done();
}
