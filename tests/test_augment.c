/* test_augment.c: fer_shift against the per-pixel definition (clamped
 * source coordinates) on seeded random images of odd sizes and shifts,
 * including shifts past the whole image. */
#include <stdint.h>
#include <string.h>

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

static uint8_t *noise(size_t n)
{
    uint8_t *p = malloc(n);
    if (!p)
        abort();
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(check_uniform() * 256);
    return p;
}

/* No rotation and whole-pixel shifts: exactly fer_shift. */
static void test_rotate_shift_whole(void)
{
    for (int t = 0; t < 50; t++) {
        int c = 1 + (int)(check_uniform() * 2), h = 2 + (int)(check_uniform() * 20);
        int w = 2 + (int)(check_uniform() * 20);
        int dx = (int)(check_uniform() * 9) - 4, dy = (int)(check_uniform() * 9) - 4;
        size_t n = (size_t)c * h * w;
        uint8_t *src = noise(n), *a = malloc(n), *b = malloc(n);
        fer_shift(src, c, h, w, dx, dy, a);
        fer_rotate_shift(src, c, h, w, 0, dx, dy, b);
        CHECK(!memcmp(a, b, n), "%dx%dx%d shift (%d,%d): differs from fer_shift", c, h, w, dx,
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
    fer_rotate_shift(src, 1, n, n, 90, 0, 0, dst);
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
    fer_rotate_shift(src, 1, 21, 21, 30, 0, 0, dst);
    for (int i = 1; i < 21 * 21; i++)
        if (dst[i] > dst[best])
            best = i;
    /* counter-clockwise by 30 degrees: up (y smaller) and to the left */
    CHECK(best % 21 == 19 && best / 21 == 5, "dot at (%d,%d), want (19,5)", best % 21, best / 21);
}

int main(void)
{
    RUN(test_shift_definition);
    RUN(test_shift_simple);
    RUN(test_rotate_shift_whole);
    RUN(test_rotate_quarter);
    RUN(test_rotate_dot);
    return check_done();
}
