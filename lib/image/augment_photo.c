/* augment_photo.c: brightness, contrast and erasing, byte for byte. The
 * two point operations go through a table of the 256 results, built in
 * double from the formula of augment.h. */
#include "augment.h"

/* round(t) clamped to 0..255 (half up) */
static uint8_t to_byte(double t)
{
    t += 0.5;
    return t < 1 ? 0 : t >= 255 ? 255 : (uint8_t)t;
}

static void apply(const uint8_t *src, size_t n, const uint8_t lut[256], uint8_t *dst)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = lut[src[i]];
}

void fer_augment_brightness(const uint8_t *src, size_t n, double f, uint8_t *dst)
{
    uint8_t lut[256];
    for (int v = 0; v < 256; v++)
        lut[v] = to_byte(f * v);
    apply(src, n, lut, dst);
}

void fer_augment_contrast(const uint8_t *src, size_t n, double f, uint8_t *dst)
{
    uint8_t lut[256];
    uint64_t sum = 0;
    double m;
    if (n == 0)
        return;
    for (size_t i = 0; i < n; i++)
        sum += src[i];
    m = (double)sum / n;
    for (int v = 0; v < 256; v++)
        lut[v] = to_byte(f * v + (1 - f) * m);
    apply(src, n, lut, dst);
}

void fer_augment_erase(uint8_t *img, int c, int h, int w, int x0, int y0, int ew, int eh,
                       fer_rng *rng)
{
    uint64_t bits = 0;
    int left = 0;   /* bytes of `bits` not used yet */
    for (int p = 0; p < c; p++)
        for (int y = y0; y < y0 + eh; y++) {
            uint8_t *row = img + ((size_t)p * h + y) * w;
            for (int x = x0; x < x0 + ew; x++) {
                if (!left) {
                    bits = fer_rng_u64(rng);
                    left = 8;
                }
                row[x] = (uint8_t)bits;
                bits >>= 8;
                left--;
            }
        }
}
