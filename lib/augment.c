/* augment.c: random changes to training images. */
#include "augment.h"

#include <math.h>
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

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void fer_rotate_shift(const uint8_t *src, int c, int h, int w, double deg, double dx, double dy,
                      uint8_t *dst)
{
    const double a = deg * M_PI / 180, cs = cos(a), sn = sin(a);
    const double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            /* the source point: undo the shift, then the rotation (y grows
             * downwards, so a turn seen counter-clockwise is clockwise in
             * these coordinates and its inverse is this one) */
            double u = x - dx - cx, v = y - dy - cy;
            double sx = clampd(cs * u - sn * v + cx, 0, w - 1);
            double sy = clampd(sn * u + cs * v + cy, 0, h - 1);
            int x0 = (int)sx, y0 = (int)sy;
            int x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
            double fx = sx - x0, fy = sy - y0;
            for (int p = 0; p < c; p++) {
                const uint8_t *s0 = src + ((size_t)p * h + y0) * w, *s1 = src + ((size_t)p * h + y1) * w;
                double top = s0[x0] + fx * (s0[x1] - s0[x0]);
                double bot = s1[x0] + fx * (s1[x1] - s1[x0]);
                dst[((size_t)p * h + y) * w + x] = (uint8_t)(top + fy * (bot - top) + 0.5);
            }
        }
}
