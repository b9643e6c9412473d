/* test_augment.c: fer_shift against the per-pixel definition (clamped
 * source coordinates) on seeded random images of odd sizes and shifts,
 * including shifts past the whole image. */
#include <stdint.h>

#include "augment.h"
#include "check.h"

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
        fer_shift(src, c, h, w, dx, dy, dst);
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
    fer_shift(src, 1, 2, 3, 0, 0, dst);
    CHECK(!memcmp(src, dst, 6), "identity changed the image");
    fer_shift(src, 1, 2, 3, 1, 0, dst);
    CHECK(dst[0] == 1 && dst[1] == 1 && dst[2] == 2 && dst[3] == 4 && dst[5] == 5,
          "right shift gave %d %d %d / %d %d %d", dst[0], dst[1], dst[2], dst[3], dst[4],
          dst[5]);
    fer_shift(src, 1, 2, 3, 0, -1, dst);
    CHECK(dst[0] == 4 && dst[2] == 6 && dst[3] == 4, "up shift gave %d %d %d", dst[0], dst[2],
          dst[3]);
}

int main(void)
{
    RUN(test_shift_definition);
    RUN(test_shift_simple);
    return check_done();
}
