/* augment.c: random changes to training images. */
#include "augment.h"

#include <string.h>

static int clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void fer_shift(const uint8_t *src, int c, int h, int w, int dx, int dy, uint8_t *dst)
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
