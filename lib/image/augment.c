/* augment.c: the geometric transforms (mirror, shift, rotation, scale,
 * crop) and the random copy that strings all transforms together: its
 * draws here, its pixels in augment_px.[ch]. */
#include <math.h>
#include <string.h>

#include "augment.h"

static int clamp(int v, int lo, int hi)
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

/* The inverse map's coefficients of a turn by deg degrees and a zoom by
 * scale: undo the shift, then the rotation and scale (y grows downwards,
 * so a turn seen counter-clockwise is clockwise in these coordinates and
 * its inverse is this one). Dividing by a scale of 1 is exact, so
 * fer_augment_rotate_shift gives the bytes it always gave. */
static void affine_inverse(double deg, double scale, double *cs, double *sn)
{
    const double a = deg * M_PI / 180;
    *cs = cos(a) / scale;
    *sn = sin(a) / scale;
}

/* The pixels' arithmetic, here and in fer_augment_apply, is augment_px.h's,
 * which the GPU runs too. */
void fer_augment_affine(const uint8_t *src, int c, int h, int w, double deg, double scale,
                        double dx, double dy, uint8_t *dst)
{
    double cs, sn;
    affine_inverse(deg, scale, &cs, &sn);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            fer_px_affine(src, c, h, w, cs, sn, dx, dy, x, y, dst + (size_t)y * w + x);
}

void fer_augment_rotate_shift(const uint8_t *src, int c, int h, int w, double deg, double dx, double dy,
                      uint8_t *dst)
{
    fer_augment_affine(src, c, h, w, deg, 1, dx, dy, dst);
}

void fer_augment_crop(const uint8_t *src, int c, int h, int w, int x0, int y0, int cw, int ch,
                      uint8_t *dst)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            fer_px_crop(src, c, h, w, x0, y0, cw, ch, x, y, dst + (size_t)y * w + x);
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
 * with h/w ratio 0.3..3.3 (log-uniform), up to 10 tries to fit one. The
 * bytes' draws are skipped here and made again from the state kept in p,
 * so that rng ends where erasing with it would leave it. */
static void erase_draw(int c, int h, int w, double prob, fer_rng *rng, fer_augment_params *p)
{
    const double lr0 = log(0.3), lr1 = log(3.3);
    if (!(fer_rng_double(rng) < prob))
        return;
    for (int t = 0; t < 10; t++) {
        double area = (double)h * w * (0.02 + 0.31 * fer_rng_double(rng));
        double ratio = exp(lr0 + (lr1 - lr0) * fer_rng_double(rng));
        int eh = (int)lround(sqrt(area * ratio)), ew = (int)lround(sqrt(area / ratio));
        if (eh >= 1 && ew >= 1 && eh < h && ew < w) {
            size_t bytes = (size_t)c * ew * eh;
            p->ey = (int)fer_rng_below(rng, (uint64_t)(h - eh + 1));
            p->ex = (int)fer_rng_below(rng, (uint64_t)(w - ew + 1));
            p->ew = ew;
            p->eh = eh;
            p->erase = 1;
            memcpy(p->erase_rng, rng->s, sizeof p->erase_rng);
            for (size_t i = 0; i < (bytes + 7) / 8; i++)
                fer_rng_u64(rng);
            return;
        }
    }
}

void fer_augment_draw(const fer_augment_opts *o, int c, int h, int w, fer_rng *rng,
                      fer_augment_params *p)
{
    int rot = o->rot_lo != 0 || o->rot_hi != 0, scl = o->scale_lo > 0;
    double deg = 0, scale = 1;

    memset(p, 0, sizeof *p);
    p->bf = p->cf = 1;
    /* the draws, in the documented order */
    if (o->shift > 0) {
        uint64_t span = 2 * (uint64_t)o->shift + 1;
        p->dx = (int)fer_rng_below(rng, span) - o->shift;
        p->dy = (int)fer_rng_below(rng, span) - o->shift;
    }
    if (rot) {
        /* centre + half (2u - 1), u in [0, 1) in float: for a range
         * -r..r this is r (2u - 1), bit for bit as fer-train drew it */
        double mid = (o->rot_lo + o->rot_hi) / 2, half = (o->rot_hi - o->rot_lo) / 2;
        deg = mid + half * (2 * fer_rng_float(rng) - 1);
    }
    if (o->flip)
        p->flip = (int)(fer_rng_u64(rng) >> 63);
    if (scl)
        scale = o->scale_lo + (o->scale_hi - o->scale_lo) * fer_rng_double(rng);
    if (o->crop > 0) {
        p->crop = 1;
        p->cw = w - 2 * o->crop > 1 ? w - 2 * o->crop : 1;
        p->ch = h - 2 * o->crop > 1 ? h - 2 * o->crop : 1;
        p->ox = (int)fer_rng_below(rng, (uint64_t)(w - p->cw + 1));
        p->oy = (int)fer_rng_below(rng, (uint64_t)(h - p->ch + 1));
    }
    if (o->brightness > 0) {
        p->bright = 1;
        p->bf = factor(o->brightness, rng);
    }
    if (o->contrast > 0) {
        p->contrast = 1;
        p->cf = factor(o->contrast, rng);
    }
    /* shift, rotation and scale in one resampling; a shift alone moves
     * whole pixels */
    if (rot || scl) {
        p->geo = 2;
        affine_inverse(deg, scale, &p->cs, &p->sn);
    } else if (o->shift > 0) {
        p->geo = 1;
    }
    if (o->erase > 0)
        erase_draw(c, h, w, o->erase, rng, p);
}

void fer_augment_random(const fer_augment_opts *o, const uint8_t *src, int c, int h, int w,
                        fer_rng *rng, uint8_t *dst, uint8_t *tmp)
{
    fer_augment_params p;
    fer_augment_draw(o, c, h, w, rng, &p);
    fer_augment_apply(&p, src, c, h, w, dst, tmp);
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
