/* augment.c: the geometric transforms (mirror, shift, rotation, scale,
 * crop) and the random copy that strings all transforms together. */
#include <math.h>
#include <string.h>

#include "augment.h"

static int clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void fer_augment_mirror(const uint8_t *src, size_t n, int c, int h, int w, uint8_t *dst)
{
    for (size_t r = 0; r < n * c * h; r++) {
        const uint8_t *s = src + r * w;
        uint8_t *d = dst + r * w;
        for (int i = 0, j = w - 1; i <= j; i++, j--) {
            uint8_t a = s[i], b = s[j];
            d[i] = b;
            d[j] = a;
        }
    }
}

void fer_augment_shift(const uint8_t *src, int c, int h, int w, int dx, int dy, uint8_t *dst)
{
    for (int p = 0; p < c; p++) {
        const uint8_t *s = src + (size_t)p * h * w;
        uint8_t *d = dst + (size_t)p * h * w;
        /* the columns that come from inside the source row: [x0, x1) */
        int x0 = clamp(dx, 0, w), x1 = clamp(w + dx, 0, w);
        for (int y = 0; y < h; y++) {
            const uint8_t *row = s + (size_t)clamp(y - dy, 0, h - 1) * w;
            uint8_t *out = d + (size_t)y * w;
            if (x1 > x0)
                memcpy(out + x0, row + x0 - dx, (size_t)(x1 - x0));
            for (int x = 0; x < x0; x++)
                out[x] = row[0];
            for (int x = x1; x < w; x++)
                out[x] = row[w - 1];
        }
    }
}

/* Writes the bilinear value at (sx, sy), already clamped to [.., xmax] x
 * [.., ymax], of each of the c planes (h w bytes apart) to dst[p h w].
 * Inlined by force: gcc -O2 leaves it a call, 20% of the time of a turn. */
static inline __attribute__((always_inline)) void
sample(const uint8_t *src, int c, int h, int w, double sx, double sy, int xmax, int ymax,
       uint8_t *dst)
{
    int x0 = (int)sx, y0 = (int)sy;   /* sx, sy >= 0: truncation is floor */
    int x1 = x0 + 1 <= xmax ? x0 + 1 : x0, y1 = y0 + 1 <= ymax ? y0 + 1 : y0;
    double fx = sx - x0, fy = sy - y0;
    size_t plane = (size_t)h * w;
    for (int p = 0; p < c; p++) {
        const uint8_t *s0 = src + p * plane + (size_t)y0 * w, *s1 = src + p * plane + (size_t)y1 * w;
        double top = s0[x0] + fx * (s0[x1] - s0[x0]);
        double bot = s1[x0] + fx * (s1[x1] - s1[x0]);
        dst[p * plane] = (uint8_t)(top + fy * (bot - top) + 0.5);
    }
}

void fer_augment_affine(const uint8_t *src, int c, int h, int w, double deg, double scale,
                        double dx, double dy, uint8_t *dst)
{
    /* the inverse map, from an output pixel to its source point: undo the
     * shift, then the rotation and scale (y grows downwards, so a turn
     * seen counter-clockwise is clockwise in these coordinates and its
     * inverse is this one). Dividing by a scale of 1 is exact, so
     * fer_augment_rotate_shift gives the bytes it always gave. */
    const double a = deg * M_PI / 180, cs = cos(a) / scale, sn = sin(a) / scale;
    const double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double u = x - dx - cx, v = y - dy - cy;
            double sx = clampd(cs * u - sn * v + cx, 0, w - 1);
            double sy = clampd(sn * u + cs * v + cy, 0, h - 1);
            sample(src, c, h, w, sx, sy, w - 1, h - 1, dst + (size_t)y * w + x);
        }
}

void fer_augment_rotate_shift(const uint8_t *src, int c, int h, int w, double deg, double dx, double dy,
                      uint8_t *dst)
{
    fer_augment_affine(src, c, h, w, deg, 1, dx, dy, dst);
}

void fer_augment_crop(const uint8_t *src, int c, int h, int w, int x0, int y0, int cw, int ch,
                      uint8_t *dst)
{
    const double kx = (double)cw / w, ky = (double)ch / h;
    for (int y = 0; y < h; y++) {
        double sy = clampd(y0 + (y + 0.5) * ky - 0.5, y0, y0 + ch - 1);
        for (int x = 0; x < w; x++) {
            double sx = clampd(x0 + (x + 0.5) * kx - 0.5, x0, x0 + cw - 1);
            sample(src, c, h, w, sx, sy, x0 + cw - 1, y0 + ch - 1, dst + (size_t)y * w + x);
        }
    }
}

int fer_augment_any(const fer_augment_opts *o)
{
    return o->flip || o->shift > 0 || o->rot_lo != 0 || o->rot_hi != 0 || o->scale_lo > 0 ||
           o->crop > 0 || o->brightness > 0 || o->contrast > 0 || o->erase > 0;
}

/* A factor uniform in [max(0, 1 - r), 1 + r]. */
static double factor(double r, fer_rng *rng)
{
    double lo = r < 1 ? 1 - r : 0, hi = 1 + r;
    return lo + (hi - lo) * fer_rng_double(rng);
}

/* Random erasing: with probability p, a rectangle of 2%..33% of the image
 * with h/w ratio 0.3..3.3 (log-uniform), up to 10 tries to fit one. */
static void erase_random(uint8_t *img, int c, int h, int w, double p, fer_rng *rng)
{
    const double lr0 = log(0.3), lr1 = log(3.3);
    if (!(fer_rng_double(rng) < p))
        return;
    for (int t = 0; t < 10; t++) {
        double area = (double)h * w * (0.02 + 0.31 * fer_rng_double(rng));
        double ratio = exp(lr0 + (lr1 - lr0) * fer_rng_double(rng));
        int eh = (int)lround(sqrt(area * ratio)), ew = (int)lround(sqrt(area / ratio));
        if (eh >= 1 && ew >= 1 && eh < h && ew < w) {
            int y0 = (int)fer_rng_below(rng, (uint64_t)(h - eh + 1));
            int x0 = (int)fer_rng_below(rng, (uint64_t)(w - ew + 1));
            fer_augment_erase(img, c, h, w, x0, y0, ew, eh, rng);
            return;
        }
    }
}

void fer_augment_random(const fer_augment_opts *o, const uint8_t *src, int c, int h, int w,
                        fer_rng *rng, uint8_t *dst, uint8_t *tmp)
{
    int dx = 0, dy = 0, flip = 0, ox = 0, oy = 0, cw = w, ch = h;
    int rot = o->rot_lo != 0 || o->rot_hi != 0, scl = o->scale_lo > 0;
    double deg = 0, scale = 1, bf = 1, cf = 1;
    size_t n = (size_t)c * h * w;
    uint8_t *geo = o->crop > 0 ? tmp : dst;   /* where the first resampling goes */
    const uint8_t *cur = src;

    /* the draws, in the documented order */
    if (o->shift > 0) {
        uint64_t span = 2 * (uint64_t)o->shift + 1;
        dx = (int)fer_rng_below(rng, span) - o->shift;
        dy = (int)fer_rng_below(rng, span) - o->shift;
    }
    if (rot) {
        /* centre + half (2u - 1), u in [0, 1) in float: for a range
         * -r..r this is r (2u - 1), bit for bit as fer-train drew it */
        double mid = (o->rot_lo + o->rot_hi) / 2, half = (o->rot_hi - o->rot_lo) / 2;
        deg = mid + half * (2 * fer_rng_float(rng) - 1);
    }
    if (o->flip)
        flip = (int)(fer_rng_u64(rng) >> 63);
    if (scl)
        scale = o->scale_lo + (o->scale_hi - o->scale_lo) * fer_rng_double(rng);
    if (o->crop > 0) {
        cw = w - 2 * o->crop > 1 ? w - 2 * o->crop : 1;
        ch = h - 2 * o->crop > 1 ? h - 2 * o->crop : 1;
        ox = (int)fer_rng_below(rng, (uint64_t)(w - cw + 1));
        oy = (int)fer_rng_below(rng, (uint64_t)(h - ch + 1));
    }
    if (o->brightness > 0)
        bf = factor(o->brightness, rng);
    if (o->contrast > 0)
        cf = factor(o->contrast, rng);

    /* the transforms */
    if (rot || scl) {
        fer_augment_affine(src, c, h, w, deg, scale, dx, dy, geo);
        cur = geo;
    } else if (o->shift > 0) {
        fer_augment_shift(src, c, h, w, dx, dy, geo);
        cur = geo;
    }
    if (o->crop > 0)
        fer_augment_crop(cur, c, h, w, ox, oy, cw, ch, dst);
    else if (cur == src)
        memcpy(dst, src, n);
    if (flip)
        fer_augment_mirror(dst, 1, c, h, w, dst);
    if (o->brightness > 0)
        fer_augment_brightness(dst, n, bf, dst);
    if (o->contrast > 0)
        fer_augment_contrast(dst, n, cf, dst);
    if (o->erase > 0)
        erase_random(dst, c, h, w, o->erase, rng);
}

/* splitmix64's finaliser: a bijection that scatters nearby keys. */
static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void fer_augment_rng(fer_rng *r, uint64_t seed, uint64_t index, uint64_t copy)
{
    uint64_t k = mix(seed + 0x9E3779B97F4A7C15ull);
    k = mix(k + index * 0xD1B54A32D192ED03ull);
    k = mix(k + copy * 0x8CB92BA72F3D8DD7ull);
    fer_rng_seed(r, k);
}
