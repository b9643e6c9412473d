/* augment_photo.c: brightness, contrast and erasing, byte for byte. The
 * two point operations go through a table of the 256 results, built in
 * double from the formula of augment.h (augment_px.h's arithmetic). */
#include "augment.h"

static void apply(const uint8_t *src, size_t n, const uint8_t lut[256], uint8_t *dst)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = lut[src[i]];
}

void fer_augment_brightness(const uint8_t *src, size_t n, double f, uint8_t *dst)
{
    uint8_t lut[256];
    for (int v = 0; v < 256; v++)
        lut[v] = fer_px_brightness(f, v);
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
    m = fer_px_mean(sum, n);
    for (int v = 0; v < 256; v++)
        lut[v] = fer_px_contrast(f, m, v);
    apply(src, n, lut, dst);
}

void fer_augment_erase(uint8_t *img, int c, int h, int w, int x0, int y0, int ew, int eh,
                       fer_rng *rng)
{
    fer_px_erase(img, c, h, w, x0, y0, ew, eh, rng->s);
}
