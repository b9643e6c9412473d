/* test_plot.c: the pieces of plot.h's pictures against hand-computed and
 * per-pixel definitions (round ticks, Bresenham lines, the data-to-pixel
 * mapping, the heat map), the log and report readers on seeded random
 * logs (nan, repeated headers and epochs, CRLF) and a table of bad ones,
 * and the three pictures rendered and written whole or not at all. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "error.h"
#include "font.h"
#include "image.h"
#include "plot.h"
#include "plot_axes.h"
#include "plot_log.h"

static const fer_colour red = {255, 0, 0};

static int is_colour(const fer_image *im, int x, int y, fer_colour c)
{
    const uint8_t *p = im->px + ((size_t)y * im->w + x) * 3;
    return p[0] == c.r && p[1] == c.g && p[2] == c.b;
}

static int is_white(const fer_image *im, int x, int y)
{
    return is_colour(im, x, y, fer_plot_white);
}

static void canvas(fer_image *im, int w, int h)
{
    if (fer_plot_canvas(im, w, h))
        abort();
}

/* --- ticks ------------------------------------------------------------ */

static void test_nice_ticks_table(void)
{
    static const struct {
        double lo, hi;
        int want, integer;
        double step, tlo, thi;
        int n, decimals;
    } cases[] = {
        {0, 1, 5, 0, 0.2, 0, 1, 6, 1},
        {0.63, 1.02, 5, 0, 0.1, 0.6, 1.1, 6, 1},          /* raw 0.078 -> 0.1 */
        {1, 10, 5, 1, 2, 0, 10, 6, 0},                    /* raw 1.8 -> 2 */
        {0.7, 0.72, 5, 0, 0.005, 0.7, 0.72, 5, 3},        /* raw 0.004 -> 0.005 */
        {-3.2, 7.9, 5, 0, 5, -5, 10, 4, 0},               /* raw 2.22 -> 5 */
        {1234, 5678, 5, 0, 1000, 1000, 6000, 6, 0},       /* raw 889 -> 1000 */
        {1, 1, 5, 1, 1, 0, 2, 3, 0},                      /* 0.95..1.05, whole steps */
        {0, 0, 5, 0, 0.5, -0.5, 0.5, 3, 1},               /* -0.5..0.5: 0.2 needs 6 */
        {0.001, 0.05, 4, 0, 0.02, 0, 0.06, 4, 2},         /* raw 0.01225 -> 0.02 */
        {0.5, 30, 6, 1, 5, 0, 30, 7, 0},                  /* raw 4.9 -> 5 */
        {0.0004, 0.0021, 4, 0, 0.001, 0, 0.003, 4, 3},    /* 0.0005 would need 5 */
        {5.45, 10.75, 1, 0, 20, 0, 20, 2, 0},             /* 10 needs 2 (0, 10, 20) */
        {5.45, 10.75, 2, 0, 5, 5, 15, 3, 0},              /* raw 2.65 -> 5 */
        {-0.3, 0.4, 1, 0, 0.5, -0.5, 0.5, 3, 1},          /* 0 inside: two intervals */
        {NAN, 3, 5, 0, 0.2, 0, 1, 6, 1},                  /* not finite: 0..1 */
        {5, 3, 5, 0, 0.2, 0, 1, 6, 1},                    /* reversed: 0..1 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fer_plot_ticks t;
        fer_plot_nice_ticks(cases[i].lo, cases[i].hi, cases[i].want, cases[i].integer, &t);
        CHECK(fabs(t.step - cases[i].step) <= 1e-12 * cases[i].step &&
                  fabs(t.lo - cases[i].tlo) <= 1e-9 * cases[i].step &&
                  fabs(t.hi - cases[i].thi) <= 1e-9 * cases[i].step && t.n == cases[i].n &&
                  t.decimals == cases[i].decimals,
              "[%g, %g] want %d%s: step %g lo %g hi %g n %d decimals %d, expected %g %g %g %d %d",
              cases[i].lo, cases[i].hi, cases[i].want, cases[i].integer ? " integer" : "", t.step,
              t.lo, t.hi, t.n, t.decimals, cases[i].step, cases[i].tlo, cases[i].thi, cases[i].n,
              cases[i].decimals);
    }
}

static void test_tick_labels(void)
{
    static const char *want1[] = {"0.6", "0.7", "0.8", "0.9", "1.0", "1.1"};
    static const char *want2[] = {"-0.5", "0.0", "0.5"};
    static const char *want3[] = {"0.700", "0.705", "0.710", "0.715", "0.720"};
    fer_plot_ticks t;
    char buf[32];
    fer_plot_nice_ticks(0.63, 1.02, 5, 0, &t);
    for (int i = 0; i < t.n && i < 6; i++) {
        fer_plot_tick_label(&t, i, buf, sizeof buf);
        CHECK(!strcmp(buf, want1[i]), "tick %d of 0.63..1.02: '%s', expected '%s'", i, buf,
              want1[i]);
    }
    fer_plot_nice_ticks(0, 0, 5, 0, &t);
    for (int i = 0; i < t.n && i < 3; i++) {
        fer_plot_tick_label(&t, i, buf, sizeof buf);
        CHECK(!strcmp(buf, want2[i]), "tick %d of -0.5..0.5: '%s', expected '%s'", i, buf,
              want2[i]);
    }
    fer_plot_nice_ticks(0.7, 0.72, 5, 0, &t);
    for (int i = 0; i < t.n && i < 5; i++) {
        fer_plot_tick_label(&t, i, buf, sizeof buf);
        CHECK(!strcmp(buf, want3[i]), "tick %d of 0.7..0.72: '%s', expected '%s'", i, buf,
              want3[i]);
    }
}

/* Random ranges of every magnitude: the step is 1, 2 or 5 times a power of
 * ten, the ticks cover the data with at most want intervals, and no
 * smaller round step would have done. */
static void test_nice_ticks_random(void)
{
    check_seed(21);
    for (int trial = 0; trial < 3000; trial++) {
        double mag = pow(10, (int)(check_uniform() * 12) - 6);
        double lo = (check_uniform() * 2 - 1) * mag, hi = lo + check_uniform() * mag;
        int want = 1 + (int)(check_uniform() * 9), integer = check_uniform() < 0.2;
        fer_plot_ticks t;
        double m, e, k0, smaller;
        fer_plot_nice_ticks(lo, hi, want, integer, &t);
        e = floor(log10(t.step) + 1e-9);
        m = t.step / pow(10, e);
        CHECK(fabs(m - 1) < 1e-9 || fabs(m - 2) < 1e-9 || fabs(m - 5) < 1e-9,
              "[%g, %g]: step %g is not 1, 2 or 5 times a power of ten", lo, hi, t.step);
        if (hi > lo)
            CHECK(t.lo <= lo + 1e-9 * t.step && t.hi >= hi - 1e-9 * t.step,
                  "[%g, %g] want %d: ticks %g..%g do not cover it", lo, hi, want, t.lo, t.hi);
        CHECK(t.n >= 2 && t.n - 1 <= (lo < 0 && hi > 0 && want < 2 ? 2 : want),
              "[%g, %g] want %d: %d ticks", lo, hi, want, t.n);
        k0 = t.lo / t.step;
        CHECK(fabs(k0 - round(k0)) < 1e-6, "[%g, %g]: lo %g not a multiple of %g", lo, hi, t.lo,
              t.step);
        CHECK(fabs(t.lo + (t.n - 1) * t.step - t.hi) <= 1e-9 * t.step, "[%g, %g]: n %d", lo, hi,
              t.n);
        if (integer)
            CHECK(t.step >= 1 && t.decimals == 0, "integer axis, step %g", t.step);
        /* the next smaller round step needs more than want intervals */
        smaller = fabs(m - 5) < 1e-9 ? 0.4 * t.step : 0.5 * t.step;
        if (hi > lo && !(integer && smaller < 1))
            CHECK(ceil(hi / smaller - 1e-9) - floor(lo / smaller + 1e-9) >
                      (lo < 0 && hi > 0 && want < 2 ? 2 : want),
                  "[%g, %g] want %d: step %g could be %g", lo, hi, want, t.step, smaller);
        for (int i = 1; i < t.n; i++)
            CHECK(fer_plot_tick(&t, i) > fer_plot_tick(&t, i - 1), "ticks not increasing");
    }
}

/* --- lines ------------------------------------------------------------ */

static void test_line_hand(void)
{
    fer_image im;
    canvas(&im, 12, 8);
    fer_plot_line(&im, 2, 3, 6, 3, 1, red);
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 12; x++)
            CHECK(is_colour(&im, x, y, red) == (y == 3 && x >= 2 && x <= 6),
                  "horizontal line: pixel (%d,%d)", x, y);
    memset(im.px, 255, (size_t)12 * 8 * 3);
    fer_plot_line(&im, 4, 4, 1, 1, 1, red);    /* drawn backwards */
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 12; x++)
            CHECK(is_colour(&im, x, y, red) == (x == y && x >= 1 && x <= 4),
                  "diagonal line: pixel (%d,%d)", x, y);
    /* thick 2: each pixel widened right and down */
    memset(im.px, 255, (size_t)12 * 8 * 3);
    fer_plot_line(&im, 3, 5, 3, 2, 2, red);
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 12; x++)
            CHECK(is_colour(&im, x, y, red) == (x >= 3 && x <= 4 && y >= 2 && y <= 6),
                  "thick vertical line: pixel (%d,%d)", x, y);
    fer_image_free(&im);
}

/* Random lines, thin: one pixel per step along the longer axis, both ends
 * on it, each within half a pixel of the true line; thick: exactly the
 * thin line's pixels widened to squares. */
static void test_line_random(void)
{
    enum { W = 61, H = 47 };
    fer_image a, b;
    check_seed(5);
    canvas(&a, W, H);
    canvas(&b, W, H);
    for (int trial = 0; trial < 400; trial++) {
        int x0 = (int)(check_uniform() * W), y0 = (int)(check_uniform() * H);
        int x1 = (int)(check_uniform() * W), y1 = (int)(check_uniform() * H);
        int dx = abs(x1 - x0), dy = abs(y1 - y0), major = dx > dy ? dx : dy, count = 0;
        int t = 2 + (int)(check_uniform() * 3), o = (t - 1) / 2;
        memset(a.px, 255, (size_t)W * H * 3);
        memset(b.px, 255, (size_t)W * H * 3);
        fer_plot_line(&a, x0, y0, x1, y1, 1, red);
        fer_plot_line(&b, x0, y0, x1, y1, t, red);
        CHECK(is_colour(&a, x0, y0, red) && is_colour(&a, x1, y1, red),
              "(%d,%d)-(%d,%d): an end not drawn", x0, y0, x1, y1);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                int near = 0;
                if (is_colour(&a, x, y, red)) {
                    count++;
                    if (major) {
                        /* distance along the minor axis from the true line */
                        double d = dx >= dy
                                       ? y - (y0 + (double)(y1 - y0) * (x - x0) / (x1 - x0))
                                       : x - (x0 + (double)(x1 - x0) * (y - y0) / (y1 - y0));
                        CHECK(fabs(d) <= 0.5 + 1e-9, "(%d,%d)-(%d,%d): pixel (%d,%d) %.2f off",
                              x0, y0, x1, y1, x, y, d);
                    }
                }
                for (int j = -t; j <= t && !near; j++)
                    for (int i = -t; i <= t && !near; i++) {
                        int u = x + i, v = y + j;
                        /* (u, v) on the thin line and (x, y) in its square */
                        near = u >= 0 && v >= 0 && u < W && v < H && is_colour(&a, u, v, red) &&
                               x >= u - o && x < u - o + t && y >= v - o && y < v - o + t;
                    }
                CHECK(is_colour(&b, x, y, red) == near,
                      "(%d,%d)-(%d,%d) thick %d: pixel (%d,%d) %s", x0, y0, x1, y1, t, x, y,
                      near ? "not drawn" : "drawn");
            }
        CHECK(count == major + 1, "(%d,%d)-(%d,%d): %d pixels, expected %d", x0, y0, x1, y1,
              count, major + 1);
    }
    fer_image_free(&a);
    fer_image_free(&b);
}

/* Ends far outside the canvas: clipped, not walked pixel by pixel. */
static void test_line_far(void)
{
    fer_image im;
    canvas(&im, 40, 30);
    fer_plot_line(&im, -2000000000, 7, 2000000000, 7, 1, red);
    fer_plot_line(&im, 9, -2000000000, 9, 2000000000, 1, red);
    fer_plot_line(&im, -2000000000, -2000000000, 2000000000, 2000000000, 2, red);
    for (int x = 0; x < 40; x++)
        CHECK(is_colour(&im, x, 7, red), "row 7 column %d not drawn", x);
    for (int y = 0; y < 30; y++)
        CHECK(is_colour(&im, 9, y, red), "column 9 row %d not drawn", y);
    for (int i = 0; i < 30; i++)
        CHECK(is_colour(&im, i, i, red), "diagonal (%d,%d) not drawn", i, i);
    fer_image_free(&im);
}

static void test_dashed(void)
{
    fer_image im;
    int phase = 0, on = 0;
    canvas(&im, 50, 5);
    /* two segments of a polyline: the dashes run on across the corner */
    fer_plot_dashed(&im, 0, 2, 20, 2, 1, 4, 3, &phase, red);
    fer_plot_dashed(&im, 20, 2, 45, 2, 1, 4, 3, &phase, red);
    for (int x = 0; x <= 45; x++) {
        /* step s of the polyline is pixel s, then the corner pixel twice */
        int s = x <= 20 ? x : x + 1, want = s % 7 < 4;
        if (x == 20)
            want = 20 % 7 < 4 || 21 % 7 < 4;
        CHECK(is_colour(&im, x, 2, red) == want, "dashed: pixel %d", x);
        on += is_colour(&im, x, 2, red);
    }
    CHECK(on > 15 && on < 35, "dashed: %d of 46 pixels on", on);
    fer_image_free(&im);
}

/* --- mapping and markers ---------------------------------------------- */

/* A random series plotted with disc markers in random axes: the marker's
 * colour is at the pixel the mapping's formula predicts, and the ends of
 * the data range lie FER_PLOT_PAD inside the frame. */
static void test_mapping(void)
{
    check_seed(9);
    for (int trial = 0; trial < 30; trial++) {
        fer_image im;
        fer_plot_axes a;
        double vx[6], vy[6];
        fer_colour c = fer_plot_colour(trial);
        int W = 300 + (int)(check_uniform() * 200), H = 200 + (int)(check_uniform() * 150);
        a.x = 10 + (int)(check_uniform() * 40);
        a.y = 10 + (int)(check_uniform() * 40);
        a.w = W - a.x - 10 - (int)(check_uniform() * 40);
        a.h = H - a.y - 10 - (int)(check_uniform() * 40);
        a.x0 = check_uniform() * 100 - 50;
        a.x1 = a.x0 + 1 + check_uniform() * 100;
        a.y0 = check_uniform() * 2 - 1;
        a.y1 = a.y0 + 0.01 + check_uniform();
        CHECK(fer_plot_px(&a, a.x0) == a.x + FER_PLOT_PAD &&
                  fer_plot_px(&a, a.x1) == a.x + a.w - 1 - FER_PLOT_PAD &&
                  fer_plot_py(&a, a.y0) == a.y + a.h - 1 - FER_PLOT_PAD &&
                  fer_plot_py(&a, a.y1) == a.y + FER_PLOT_PAD,
              "ends of the range not at the padded frame");
        for (int i = 0; i < 6; i++) {
            vx[i] = a.x0 + (a.x1 - a.x0) * (i + check_uniform()) / 6;
            vy[i] = a.y0 + (a.y1 - a.y0) * check_uniform();
        }
        vy[3] = NAN;        /* a gap */
        canvas(&im, W, H);
        fer_plot_series(&im, &a, vx, vy, 6, 2, 0, FER_PLOT_DISC, c);
        for (int i = 0; i < 6; i++) {
            int px = a.x + FER_PLOT_PAD +
                     (int)lround((vx[i] - a.x0) / (a.x1 - a.x0) * (a.w - 1 - 2 * FER_PLOT_PAD));
            int py = a.y + a.h - 1 - FER_PLOT_PAD -
                     (int)lround((vy[i] - a.y0) / (a.y1 - a.y0) * (a.h - 1 - 2 * FER_PLOT_PAD));
            if (isnan(vy[i]))
                continue;
            CHECK(fer_plot_px(&a, vx[i]) == px && fer_plot_py(&a, vy[i]) == py,
                  "point %d maps to (%d,%d), expected (%d,%d)", i, fer_plot_px(&a, vx[i]),
                  fer_plot_py(&a, vy[i]), px, py);
            /* the disc of radius 3 around it */
            for (int d = -2; d <= 2; d++)
                CHECK(is_colour(&im, px + d, py, c) && is_colour(&im, px, py + d, c),
                      "point %d: no marker at (%d,%d)", i, px, py);
        }
        /* nothing joins point 2 to point 4 across the gap: the column half
         * way between them is white away from the line 4-5 */
        {
            int xm = (fer_plot_px(&a, vx[2]) + fer_plot_px(&a, vx[4])) / 2, ink = 0;
            for (int y = a.y; y < a.y + a.h; y++)
                ink += !is_white(&im, xm, y);
            CHECK(ink == 0 || xm <= fer_plot_px(&a, vx[2]) + 4 ||
                      xm >= fer_plot_px(&a, vx[4]) - 4,
                  "the gap at point 3 is bridged (%d pixels at column %d)", ink, xm);
        }
        fer_image_free(&im);
    }
}

static void test_markers(void)
{
    fer_image im;
    canvas(&im, 40, 40);
    fer_plot_marker(&im, 20, 20, FER_PLOT_RING, 6, red);
    CHECK(is_white(&im, 20, 20) && is_colour(&im, 26, 20, red) && is_colour(&im, 20, 14, red) &&
              is_white(&im, 28, 20),
          "ring: hollow inside, drawn at radius 6, nothing beyond");
    fer_plot_marker(&im, 20, 20, FER_PLOT_DISC, 6, red);
    CHECK(is_colour(&im, 20, 20, red) && is_colour(&im, 23, 23, red) && is_white(&im, 26, 26),
          "disc: filled, round");
    fer_plot_marker(&im, 5, 5, FER_PLOT_SQUARE, 2, red);
    CHECK(is_colour(&im, 3, 3, red) && is_colour(&im, 7, 7, red) && is_white(&im, 8, 8),
          "square of radius 2");
    fer_plot_marker(&im, 33, 6, FER_PLOT_CROSS, 4, red);
    CHECK(is_colour(&im, 29, 2, red) && is_colour(&im, 37, 10, red) && is_colour(&im, 33, 6, red) &&
              is_white(&im, 33, 2),
          "cross: both diagonals, not the middle of the top");
    fer_plot_marker(&im, 6, 33, FER_PLOT_TRIANGLE, 4, red);
    CHECK(is_colour(&im, 6, 29, red) && !is_colour(&im, 5, 29, red) && is_colour(&im, 2, 37, red) &&
              is_colour(&im, 10, 37, red),
          "triangle: a point on top, the full width at the bottom");
    fer_image_free(&im);
}

/* --- heat map ---------------------------------------------------------- */

static int luma(fer_colour c)
{
    return 299 * c.r + 587 * c.g + 114 * c.b;
}

static void test_heat(void)
{
    fer_colour prev = fer_plot_heat(0);
    CHECK(luma(fer_plot_heat(0)) > luma(fer_plot_heat(1)) + 150000, "0 and 1 hardly differ");
    for (int i = 1; i <= 1000; i++) {
        fer_colour c = fer_plot_heat(i / 1000.0);
        CHECK(c.r <= prev.r && c.g <= prev.g && c.b <= prev.b,
              "heat %.3f (%d,%d,%d) lighter in a channel than %.3f (%d,%d,%d)", i / 1000.0, c.r,
              c.g, c.b, (i - 1) / 1000.0, prev.r, prev.g, prev.b);
        if (i % 25 == 0)
            CHECK(luma(c) < luma(fer_plot_heat((i - 25) / 1000.0)), "heat %.3f not darker than %.3f",
                  i / 1000.0, (i - 25) / 1000.0);
        prev = c;
    }
    CHECK(luma(fer_plot_heat(-1)) == luma(fer_plot_heat(0)) &&
              luma(fer_plot_heat(2)) == luma(fer_plot_heat(1)) &&
              luma(fer_plot_heat(NAN)) == luma(fer_plot_heat(0)),
          "out-of-range values are not clamped");
}

/* The grid of a rendered confusion matrix: the black frame is the first
 * row with a long black run; the cells lie 1 pixel inside it. */
static int find_grid(const fer_image *im, int k, int *gx, int *gy, int *cell)
{
    for (int y = 0; y < im->h; y++) {
        int run = 0;
        for (int x = 0; x < im->w; x++) {
            run = is_colour(im, x, y, fer_plot_black) ? run + 1 : 0;
            if (run >= 100) {
                int x0 = x - run + 1, x1 = x0;
                while (x1 < im->w && is_colour(im, x1, y, fer_plot_black))
                    x1++;
                *gx = x0 + 1;
                *gy = y + 1;
                *cell = (x1 - x0 - 2) / k;
                return 0;
            }
        }
    }
    return -1;
}

/* A random matrix drawn: each cell's colour (read at its corner, clear of
 * the text) is the heat of its share of its row, so that in every row the
 * larger count is the darker cell. */
static void test_confusion_cells(void)
{
    static const char *const names[] = {"angry", "disgust", "fear", "happy", "sad", "surprise",
                                        "neutral", "eighth"};
    check_seed(13);
    for (int k = 2; k <= 8; k += 3) {
        long counts[64];
        fer_image im;
        int gx, gy, cell;
        for (int i = 0; i < k * k; i++)
            counts[i] = (long)(check_uniform() * 500);
        counts[k + 1] = 0;      /* a row with a zero */
        CHECK(!fer_plot_confusion_render(names, k, counts, 0.5, NULL, &im), "%s", fer_error());
        if (!im.px)
            continue;
        CHECK(im.w == FER_PLOT_CONFUSION_W && im.h == FER_PLOT_CONFUSION_H, "size %dx%d", im.w,
              im.h);
        if (find_grid(&im, k, &gx, &gy, &cell)) {
            CHECK(0, "k %d: no grid frame found", k);
            fer_image_free(&im);
            continue;
        }
        for (int i = 0; i < k; i++) {
            long row = 0;
            for (int j = 0; j < k; j++)
                row += counts[i * k + j];
            for (int j = 0; j < k; j++) {
                fer_colour want = fer_plot_heat(row ? (double)counts[i * k + j] / row : 0);
                int x = gx + j * cell + 3, y = gy + i * cell + 3;
                CHECK(is_colour(&im, x, y, want), "k %d: cell (%d,%d) at (%d,%d) not heat(%ld/%ld)",
                      k, i, j, x, y, counts[i * k + j], row);
                for (int m = 0; m < k; m++) {
                    const uint8_t *p = im.px + ((size_t)y * im.w + x) * 3;
                    const uint8_t *q = im.px + ((size_t)y * im.w + gx + m * cell + 3) * 3;
                    /* darker for more; clearly darker for 2% more of the row */
                    int lp = 299 * p[0] + 587 * p[1] + 114 * p[2];
                    int lq = 299 * q[0] + 587 * q[1] + 114 * q[2];
                    if (counts[i * k + j] > counts[i * k + m])
                        CHECK(lp <= lq && (lp < lq || counts[i * k + j] - counts[i * k + m] <
                                                          0.02 * row),
                              "k %d row %d: %ld not darker than %ld", k, i, counts[i * k + j],
                              counts[i * k + m]);
                }
            }
        }
        fer_image_free(&im);
    }
}

/* --- text and legend --------------------------------------------------- */

static void test_text_up(void)
{
    fer_image im;
    const char *s = "Lg7";
    int n = 3, w = (n * FER_FONT_ADVANCE - 1) * 2, x = 10, cy = 40;
    canvas(&im, 60, 80);
    fer_plot_text_up(&im, x, cy, s, 2, red);
    /* glyph pixel (gx, gy) of character i lands at (x + 2 gy, bottom - 2 (6 i + gx + 1)) */
    for (int i = 0; i < n; i++)
        for (int gy = 0; gy < FER_FONT_HEIGHT; gy++)
            for (int gx = 0; gx < FER_FONT_WIDTH; gx++) {
                int px = x + 2 * gy, py = cy + w / 2 - 2 * (FER_FONT_ADVANCE * i + gx + 1);
                CHECK(is_colour(&im, px, py, red) == fer_font_ink(s[i], gx, gy) &&
                          is_colour(&im, px + 1, py + 1, red) == fer_font_ink(s[i], gx, gy),
                      "'%c' pixel (%d,%d) at (%d,%d)", s[i], gx, gy, px, py);
            }
    fer_image_free(&im);
}

static void test_fit(void)
{
    char buf[64];
    CHECK(!strcmp(fer_plot_fit("abcdefgh", 48, 1, buf, sizeof buf), "abcdefgh"), "%s", buf);
    CHECK(!strcmp(fer_plot_fit("abcdefgh", 47, 1, buf, sizeof buf), "abcd..."), "%s", buf);
    CHECK(!strcmp(fer_plot_fit("abcdefgh", 36, 2, buf, sizeof buf), "..."), "%s", buf);
    CHECK(!strcmp(fer_plot_fit("abcdefgh", 5, 1, buf, sizeof buf), ""), "%s", buf);
}

/* Many random entries: rows stay 40 pixels inside the edges, and entries
 * do not overlap (each label's ink is separate from the next sample). */
static void test_legend(void)
{
    static char labels[20][24];
    fer_plot_key keys[20];
    fer_image im;
    int bottom, ink_rows = 0;
    check_seed(17);
    for (int i = 0; i < 20; i++) {
        int len = 2 + (int)(check_uniform() * 18);
        for (int j = 0; j < len; j++)
            labels[i][j] = (char)('a' + (int)(check_uniform() * 26));
        labels[i][len] = 0;
        keys[i] = (fer_plot_key){labels[i], fer_plot_colour(i), i % 3, i % 2 ? FER_PLOT_DISC : -1};
    }
    canvas(&im, 900, 400);
    bottom = fer_plot_legend(&im, 10, keys, 20);
    CHECK(bottom > 10 + 2 * 26 && bottom < 400, "legend of 20 entries ends at row %d", bottom);
    for (int y = 0; y < 400; y++) {
        int ink = 0;
        for (int x = 0; x < 900; x++)
            if (!is_white(&im, x, y)) {
                ink = 1;
                CHECK(x >= 36 && x < 900 - 36, "legend ink at (%d,%d), near the edge", x, y);
            }
        ink_rows += ink;
        CHECK(!ink || (y >= 10 - 6 && y < bottom), "legend ink at row %d, outside 10..%d", y,
              bottom);
    }
    CHECK(ink_rows > 0, "nothing drawn");
    fer_image_free(&im);
}

/* --- readers ----------------------------------------------------------- */

typedef struct buf {
    char *s;
    size_t n, cap;
} buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf *b, const char *fmt, ...)
{
    va_list ap;
    int k;
    if (b->cap - b->n < 512) {
        b->cap = b->cap ? 2 * b->cap : 4096;
        if (!(b->s = realloc(b->s, b->cap)))
            abort();
    }
    va_start(ap, fmt);
    k = vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

static const char *train_header = "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds";

/* A resumed run's log: epochs 1..n, then a repeated header and epochs
 * from r on again with new values (the last row wins), val columns nan or
 * empty at random, CRLF and blank lines here and there. */
static void test_read_train(void)
{
    check_seed(3);
    for (int trial = 0; trial < 40; trial++) {
        int n = 1 + (int)(check_uniform() * 30), r = 1 + (int)(check_uniform() * n);
        double want[32][5];
        buf b = {0};
        fer_plot_epochs log;
        put(&b, "%s\n", train_header);
        for (int pass = 0; pass < 2; pass++) {
            if (pass)
                put(&b, "%s\r\n", train_header);
            for (int e = pass ? r : 1; e <= n; e++) {
                double *v = want[e];
                char vl[32], va[32];
                for (int j = 0; j < 4; j++)
                    v[j] = round(check_uniform() * 3e6) / 1e6;
                snprintf(vl, sizeof vl, "%.6f", v[2]);
                snprintf(va, sizeof va, "%.6f", v[3]);
                if (check_uniform() < 0.3) {        /* no validation: nan or empty */
                    v[2] = v[3] = NAN;
                    snprintf(vl, sizeof vl, "%s", check_uniform() < 0.5 ? "nan" : "");
                    snprintf(va, sizeof va, "%s", check_uniform() < 0.5 ? "-nan" : "");
                }
                put(&b, "%d,%.6f,%.6f,%s,%s,%.6g,%.2f%s", e, v[0], v[1], vl, va,
                    check_uniform() * 1e-3, check_uniform() * 100,
                    check_uniform() < 0.2 ? "\r\n\n" : "\n");
            }
        }
        CHECK(!fer_plot_read_train(b.s, b.n, "log.csv", &log), "trial %d: %s", trial, fer_error());
        CHECK(log.n == n, "trial %d: %d epochs, expected %d", trial, log.n, n);
        for (int i = 0; i < log.n && i < n; i++) {
            double *v = want[i + 1], got[4] = {log.train_loss[i], log.train_acc[i],
                                                log.val_loss[i], log.val_acc[i]};
            CHECK(log.epoch[i] == i + 1, "trial %d: epoch %g at %d", trial, log.epoch[i], i);
            for (int j = 0; j < 4; j++)
                CHECK(isnan(v[j]) ? isnan(got[j]) : fabs(got[j] - v[j]) < 1e-9,
                      "trial %d epoch %d column %d: %g, expected %g (the last row's)", trial, i + 1,
                      j, got[j], v[j]);
        }
        fer_plot_epochs_free(&log);
        free(b.s);
    }
}

/* Columns after epoch in another order, with an extra one: found by name. */
static void test_read_train_columns(void)
{
    const char *s = "epoch,seconds,val_acc,extra,train_acc,val_loss,train_loss\n"
                    "2,3.5,0.25,x,0.5,1.25,0.75\n"
                    "1,1.5,0.125,y,0.375,1.5,1.0\n";
    fer_plot_epochs log;
    CHECK(!fer_plot_read_train(s, strlen(s), "c.csv", &log), "%s", fer_error());
    CHECK(log.n == 2 && log.epoch[0] == 1 && log.train_loss[0] == 1.0 && log.val_acc[0] == 0.125 &&
              log.train_acc[1] == 0.5 && log.val_loss[1] == 1.25 && isnan(log.lr[0]),
          "columns not found by name");
    fer_plot_epochs_free(&log);
}

static void test_read_bad(void)
{
    static const struct {
        int kind;           /* 0 train, 1 anneal, 2 report */
        const char *text, *msg;
    } cases[] = {
        {0, "", "bad.csv:1: empty file"},
        {0, "\n\n", "bad.csv:1: empty file"},
        {0, "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n",
         "bad.csv:1: no epochs after the header"},
        {0, "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n1,1,1,1,1,1,1\n2,1,1,1,1\n",
         "bad.csv:3: 5 fields, expected 7"},
        {0, "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n1,1,1,1,1,1,1\n\n2,1,x7,1,1,1,1\n",
         "bad.csv:4: train_acc: 'x7': not a number"},
        {0, "epoch,train_loss,train_acc,val_loss,val_acc\n1.5,1,1,1,1\n",
         "bad.csv:2: epoch: '1.5': not a whole number"},
        {0, "epoch,train_loss,train_acc,val_loss,val_acc\n,1,1,1,1\n", "bad.csv:2: epoch: empty"},
        {0, "epoch,train_loss,train_acc,val_loss\n1,1,1,1\n",
         "bad.csv:1: no 'val_acc' column in the header"},
        {0, "1,1,1,1,1,1,1\n", "bad.csv:1: not a training log"},
        {0, "epoch,train_loss,train_acc,val_loss,val_acc\n1,1,1,1,1\nepoch,train_loss\n",
         "bad.csv:3: no 'train_acc' column"},
        {1, "trial,score\n1,0.5\n2,abc\n", "bad.csv:3: score: 'abc': not a number"},
        {1, "trial,score,accepted\n1,0.5,2\n", "bad.csv:2: accepted: '2': not 0 or 1"},
        {1, "trial,score,accepted\n1,0.5,1\n2,0.5\n", "bad.csv:3: 2 fields, expected 3"},
        {1, "trial,lr\n1,0.5\n", "bad.csv:1: no 'score' column"},
        {1, "", "bad.csv:1: empty file"},
        {2, "", "bad.csv:1: empty file"},
        {2, "{\"classes\": [\"a\", \"b\"],\n \"confusion\": [[1, 2],\n [3]]}",
         "bad.csv:3: confusion row 2: 1 values, expected 2"},
        {2, "{\"classes\": [\"a\", \"b\"],\n \"confusion\": [[1, 2], [3, 4]", "bad.csv:2: expected"},
        {2, "{\"classes\": [\"a\", \"b\"], \"confusion\": [[1, 2], [3, -4]]}", "bad.csv:1: -4: not a count"},
        {2, "{\"classes\": [\"a\"], \"confusion\": [[1]], \"n\": 2}",
         "bad.csv: n is 2, the confusion matrix counts 1"},
        {2, "{\"classes\": [\"a\", \"b\"]}", "bad.csv: no \"confusion\" key"},
        {2, "accuracy 0.5 (1 of 2)\n\nconfusion matrix (rows: true class, columns: predicted)\n"
            "   a   b\n   a  1  0\n   b  1\n",
         "bad.csv:6: 1 counts, expected 2"},
        {2, "accuracy 0.5 (1 of 2)\n\nconfusion matrix (rows: true class, columns: predicted)\n"
            "   a   b\n   a  1  0\n",
         "bad.csv:6: confusion matrix: 1 rows, expected 2"},
        {2, "accuracy 0.5 (1 of 2)\n\nconfusion matrix\n   a   b\n   a  1 x\n   b  1 1\n",
         "bad.csv:5: 'x': not a count"},
        {2, "hello\n", "bad.csv:1: not a fer-eval report"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *t = cases[i].text;
        int rc;
        if (cases[i].kind == 0) {
            fer_plot_epochs g;
            rc = fer_plot_read_train(t, strlen(t), "bad.csv", &g);
            fer_plot_epochs_free(&g);
        } else if (cases[i].kind == 1) {
            fer_plot_trials g;
            rc = fer_plot_read_anneal(t, strlen(t), "bad.csv", &g);
            fer_plot_trials_free(&g);
        } else {
            fer_plot_report r;
            rc = fer_plot_read_report(t, strlen(t), "bad.csv", &r);
        }
        CHECK(rc == -1 && !strncmp(fer_error(), cases[i].msg, strlen(cases[i].msg)),
              "case %zu: rc %d, '%s', expected '%s...'", i, rc, fer_error(), cases[i].msg);
    }
}

/* Random anneal and random-search logs: columns in a shuffled order with
 * unknown ones, empty fields, failed trials, a repeated trial; the best
 * column where given, else the running maximum. */
static void test_read_anneal(void)
{
    static const char *cols[] = {"trial", "chain", "lr", "epochs", "batch", "optim", "score",
                                 "accepted", "current", "best", "temperature", "seconds",
                                 "stopped_early", "epochs_run"};
    check_seed(29);
    for (int trial = 0; trial < 30; trial++) {
        int n = 1 + (int)(check_uniform() * 40), order[14], random_search = trial % 3 == 0;
        int with_best = trial % 2;
        double score[41], best[41], temp[41], run = NAN;
        int acc[41], stop[41];
        buf b = {0};
        fer_plot_trials g;
        for (int j = 0; j < 14; j++)
            order[j] = j;
        for (int j = 13; j > 1; j--) {     /* trial stays first */
            int r = 1 + (int)(check_uniform() * j), t = order[j];
            order[j] = order[r];
            order[r] = t;
        }
        for (int j = 0; j < 14; j++)
            put(&b, "%s%s", j ? "," : "", with_best || strcmp(cols[order[j]], "best")
                                              ? cols[order[j]] : "not_best");
        put(&b, "\n");
        for (int tt = 1; tt <= n; tt++)
            /* now and then a trial twice: the second row replaces the first */
            for (int rep = 1 + (check_uniform() < 0.1); rep > 0; rep--) {
                score[tt] = check_uniform() < 0.1 ? NAN : round(check_uniform() * 1e4) / 1e4;
                acc[tt] = random_search ? -1 : check_uniform() < 0.5;
                stop[tt] = check_uniform() < 0.2;
                temp[tt] = random_search ? NAN : round(check_uniform() * 1e6) / 1e6;
                best[tt] = round(check_uniform() * 1e4) / 1e4;
                for (int j = 0; j < 14; j++) {
                    const char *c = cols[order[j]];
                    put(&b, "%s", j ? "," : "");
                    if (!strcmp(c, "trial"))
                        put(&b, "%d", tt);
                    else if (!strcmp(c, "score") && !isnan(score[tt]))
                        put(&b, "%.4f", score[tt]);
                    else if (!strcmp(c, "accepted") && acc[tt] >= 0)
                        put(&b, "%d", acc[tt]);
                    else if (!strcmp(c, "temperature") && !isnan(temp[tt]))
                        put(&b, "%.6f", temp[tt]);
                    else if (!strcmp(c, "stopped_early"))
                        put(&b, "%d", stop[tt]);
                    else if (!strcmp(c, "best"))
                        put(&b, "%.4f", best[tt]);
                    else if (!strcmp(c, "optim"))
                        put(&b, "adamw");
                    else if (!strcmp(c, "chain"))
                        put(&b, "0");
                    else if (strcmp(c, "score") && strcmp(c, "accepted") &&
                             strcmp(c, "temperature"))
                        put(&b, "%d", (int)(check_uniform() * 100));
                }
                put(&b, "\n");
            }
        CHECK(!fer_plot_read_anneal(b.s, b.n, "a.csv", &g), "trial %d: %s", trial, fer_error());
        CHECK(g.n == n, "trial %d: %d trials, expected %d", trial, g.n, n);
        for (int i = 0; i < g.n && i < n; i++) {
            int t = i + 1;
            if (isfinite(score[t]) && !(score[t] <= run))
                run = score[t];
            CHECK(g.trial[i] == t && (isnan(score[t]) ? isnan(g.score[i]) : g.score[i] == score[t]) &&
                      g.accepted[i] == acc[t] && g.stopped[i] == stop[t] &&
                      (isnan(temp[t]) ? isnan(g.temperature[i]) : g.temperature[i] == temp[t]),
                  "trial %d, row %d: read (%g %g %d %d %g)", trial, t, g.trial[i], g.score[i],
                  g.accepted[i], g.stopped[i], g.temperature[i]);
            if (with_best)
                CHECK(g.best[i] == best[t], "trial %d row %d: best %g, expected %g", trial, t,
                      g.best[i], best[t]);
            else
                CHECK(isnan(run) ? isnan(g.best[i]) : g.best[i] == run,
                      "trial %d row %d: best %g, expected the running maximum %g", trial, t,
                      g.best[i], run);
        }
        fer_plot_trials_free(&g);
        free(b.s);
    }
}

/* A report written as fer-eval writes it (its print_json and print_text
 * layouts), with random counts: both read back the same. */
static void test_read_report(void)
{
    static const char *names[7] = {"angry", "disgust", "fear", "happy", "sad", "surprise",
                                   "neutral"};
    check_seed(31);
    for (int trial = 0; trial < 10; trial++) {
        long cm[49], n = 0, diag = 0;
        buf j = {0}, t = {0};
        fer_plot_report r;
        double acc;
        for (int i = 0; i < 49; i++) {
            cm[i] = (long)(check_uniform() * (trial < 5 ? 1000 : 100000));
            n += cm[i];
            diag += i % 8 == 0 ? cm[i] : 0;
        }
        acc = (double)diag / n;
        put(&j, "{\"accuracy\": %.6f, \"n\": %ld, \"classes\": [", acc, n);
        for (int i = 0; i < 7; i++)
            put(&j, "%s\"%s\"", i ? ", " : "", names[i]);
        put(&j, "],\n \"confusion\": [");
        for (int i = 0; i < 7; i++) {
            put(&j, "%s[", i ? ", " : "");
            for (int k = 0; k < 7; k++)
                put(&j, "%s%ld", k ? ", " : "", cm[i * 7 + k]);
            put(&j, "]");
        }
        put(&j, "],\n \"per_class\": {\n  \"angry\": {\"precision\": 0.5, \"f1-score\": 1e-3, "
                "\"x\": [true, false, null, \"q\\\"\\u0041\"]}},\n \"macro avg\": {}}\n");
        CHECK(fer_plot_detect(j.s, j.n) == FER_PLOT_CONFUSION, "JSON report not detected");
        CHECK(!fer_plot_read_report(j.s, j.n, "r.json", &r), "%s", fer_error());
        CHECK(r.k == 7 && r.n == n && fabs(r.accuracy - acc) < 1e-6 && !memcmp(r.counts, cm, sizeof cm),
              "JSON: k %d n %ld accuracy %g", r.k, r.n, r.accuracy);
        for (int i = 0; i < 7 && i < r.k; i++)
            CHECK(!strcmp(r.classes[i], names[i]), "JSON class %d '%s'", i, r.classes[i]);

        put(&t, "accuracy %.4f (%ld of %ld)\n\n", acc, diag, n);
        put(&t, "confusion matrix (rows: true class, columns: predicted)\n%12s", "");
        for (int i = 0; i < 7; i++)
            put(&t, " %8.8s", names[i]);
        put(&t, "\n");
        for (int i = 0; i < 7; i++) {
            put(&t, "%12s", names[i]);
            for (int k = 0; k < 7; k++)
                put(&t, " %8ld", cm[i * 7 + k]);
            put(&t, "\n");
        }
        put(&t, "\n%12s %9s %9s %9s %9s\n\n", "", "precision", "recall", "f1-score", "support");
        CHECK(fer_plot_detect(t.s, t.n) == FER_PLOT_CONFUSION, "text report not detected");
        CHECK(!fer_plot_read_report(t.s, t.n, "r.txt", &r), "%s", fer_error());
        CHECK(r.k == 7 && r.n == n && fabs(r.accuracy - acc) < 1e-4 && !memcmp(r.counts, cm, sizeof cm),
              "text: k %d n %ld accuracy %g", r.k, r.n, r.accuracy);
        for (int i = 0; i < 7 && i < r.k; i++)
            CHECK(!strcmp(r.classes[i], names[i]), "text class %d '%s'", i, r.classes[i]);
        free(j.s);
        free(t.s);
    }
}

static void test_detect(void)
{
    static const struct {
        const char *s;
        int kind;
    } cases[] = {
        {"epoch,train_loss\n", FER_PLOT_CURVES},
        {"\xef\xbb\xbf\n  EPOCH,x", FER_PLOT_CURVES},
        {"trial,chain,score\n", FER_PLOT_ANNEAL},
        {"{\"confusion\": []}", FER_PLOT_CONFUSION},
        {"{\"other\": []}", FER_PLOT_UNKNOWN},
        {"accuracy 0.5 (1 of 2)\n\nconfusion matrix (rows...)\n", FER_PLOT_CONFUSION},
        {"accuracy 0.5\n", FER_PLOT_UNKNOWN},
        {"epoch", FER_PLOT_UNKNOWN},
        {"", FER_PLOT_UNKNOWN},
        {"\x89PNG\r\n", FER_PLOT_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK((int)fer_plot_detect(cases[i].s, strlen(cases[i].s)) == cases[i].kind,
              "case %zu: kind %d, expected %d", i, fer_plot_detect(cases[i].s, strlen(cases[i].s)),
              cases[i].kind);
}

/* --- whole pictures ------------------------------------------------------ */

static char tmpdir[512];

static const char *tmp_path(const char *name)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void write_file(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    if (!f || fputs(s, f) < 0 || fclose(f))
        abort();
}

static void test_pictures(void)
{
    buf tr = {0}, an = {0};
    char logp[1024], annp[1024], missing[1024];
    const char *paths[2];
    long counts[49];
    const char *names[7] = {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"};
    fer_image im;
    int epochs;
    if (!*tmpdir)
        SKIP("no temporary directory");
    check_seed(41);
    epochs = 5 + (int)(check_uniform() * 30);
    put(&tr, "%s\n", train_header);
    for (int e = 1; e <= epochs; e++)
        put(&tr, "%d,%.6f,%.6f,%.6f,%.6f,0.001,1.0\n", e, 2 - e * 0.03 + check_uniform() * 0.1,
            0.3 + e * 0.01 + check_uniform() * 0.05, 2.1 - e * 0.02 + check_uniform() * 0.1,
            0.3 + e * 0.008 + check_uniform() * 0.05);
    snprintf(logp, sizeof logp, "%s", tmp_path("train.csv"));
    write_file(logp, tr.s);
    paths[0] = paths[1] = logp;
    CHECK(!fer_plot_train_log(paths, 2, tmp_path("curves.png"), NULL), "%s", fer_error());
    CHECK(!fer_image_read(tmp_path("curves.png"), &im) && im.w == FER_PLOT_CURVES_W &&
              im.h == FER_PLOT_CURVES_H,
          "curves: %dx%d", im.w, im.h);
    fer_image_free(&im);

    put(&an, "trial,chain,score,accepted,best,temperature,stopped_early\n");
    for (int t = 1; t <= 30; t++)
        put(&an, "%d,0,%.4f,%d,,%.5f,%d\n", t, 0.4 + check_uniform() * 0.2, check_uniform() < 0.5,
            0.05 * pow(0.9, t), check_uniform() < 0.2);
    snprintf(annp, sizeof annp, "%s", tmp_path("anneal.csv"));
    write_file(annp, an.s);
    CHECK(!fer_plot_anneal_log(annp, tmp_path("anneal.png"), "a title"), "%s", fer_error());
    CHECK(!fer_image_read(tmp_path("anneal.png"), &im) && im.w == FER_PLOT_ANNEAL_W &&
              im.h == FER_PLOT_ANNEAL_H,
          "anneal: %dx%d", im.w, im.h);
    fer_image_free(&im);

    for (int i = 0; i < 49; i++)
        counts[i] = (long)(check_uniform() * 300);
    CHECK(!fer_plot_confusion(names, 7, counts, 0.61, tmp_path("cm.png"), NULL), "%s", fer_error());
    CHECK(!fer_image_read(tmp_path("cm.png"), &im) && im.w == FER_PLOT_CONFUSION_W &&
              im.h == FER_PLOT_CONFUSION_H,
          "confusion: %dx%d", im.w, im.h);
    fer_image_free(&im);

    /* failures leave no file, and name the input and its line */
    write_file(annp, "trial,score\n1,0.5\n2,0.5,7\n");
    CHECK(fer_plot_anneal_log(annp, tmp_path("bad.png"), NULL) == -1 &&
              strstr(fer_error(), "anneal.csv:3: 3 fields, expected 2") && !exists(tmp_path("bad.png")),
          "bad anneal log: '%s'", fer_error());
    write_file(annp, "trial,score\n1,\n2,nan\n");
    CHECK(fer_plot_anneal_log(annp, tmp_path("bad.png"), NULL) == -1 &&
              strstr(fer_error(), "no trial has a score") && !exists(tmp_path("bad.png")),
          "anneal log without a score: '%s'", fer_error());
    snprintf(missing, sizeof missing, "%s", tmp_path("nosuch.csv"));
    paths[1] = missing;
    CHECK(fer_plot_train_log(paths, 2, tmp_path("bad.png"), NULL) == -1 &&
              strstr(fer_error(), "nosuch.csv") && !exists(tmp_path("bad.png")),
          "missing log: '%s'", fer_error());
    counts[9] = -1;
    CHECK(fer_plot_confusion(names, 7, counts, 0.5, tmp_path("bad.png"), NULL) == -1 &&
              strstr(fer_error(), "bad.png") && !exists(tmp_path("bad.png")),
          "negative count: '%s'", fer_error());
    CHECK(fer_plot_confusion(names, 0, counts, 0.5, tmp_path("bad.png"), NULL) == -1 &&
              !exists(tmp_path("bad.png")),
          "no classes");
    CHECK(fer_plot_train_log(paths, 1, tmp_path("nodir/x.png"), NULL) == -1 &&
              !exists(tmp_path("nodir")),
          "unwritable output: '%s'", fer_error());
    remove(tmp_path("curves.png"));
    remove(tmp_path("anneal.png"));
    remove(tmp_path("cm.png"));
    remove(logp);
    remove(annp);
    free(tr.s);
    free(an.s);
}

/* A random series rendered as a whole picture: one epoch still shows, a
 * log with no validation at all draws, and a random-search log (no
 * temperature, no accepted) draws. */
static void test_render_edges(void)
{
    double ep[1] = {7}, tl[1] = {0.8}, ta[1] = {0.6}, nan1[1] = {NAN}, lr[1] = {NAN};
    fer_plot_epochs one = {1, ep, tl, ta, nan1, nan1, lr};
    const char *name = "one.csv";
    fer_image im;
    int blue = 0, orange = 0;
    double tri[3] = {1, 2, 3}, sc[3] = {0.5, NAN, 0.6}, be[3] = {0.5, 0.5, 0.6},
           te[3] = {NAN, NAN, NAN};
    int ch[3] = {0}, ac[3] = {-1, -1, -1}, st[3] = {0, 0, 1};
    fer_plot_trials rs = {3, tri, sc, be, te, ch, ac, st};
    CHECK(!fer_plot_train_render(&one, &name, 1, NULL, &im), "%s", fer_error());
    for (int y = 0; y < im.h; y++)
        for (int x = 0; x < im.w; x++) {
            blue += is_colour(&im, x, y, fer_plot_colour(0));
            orange += is_colour(&im, x, y, fer_plot_colour(1));
        }
    /* two discs of radius 3 (37 pixels each) and the legend's sample */
    CHECK(blue >= 2 * 29, "one epoch: %d pixels of the train colour", blue);
    CHECK(orange == 0, "no validation, yet %d pixels of its colour", orange);
    fer_image_free(&im);
    CHECK(!fer_plot_anneal_render(&rs, "rs.csv", NULL, &im) && im.w == FER_PLOT_ANNEAL_W,
          "random search: %s", fer_error());
    fer_image_free(&im);
}

int main(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/fer-test-plot-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir))
        tmpdir[0] = 0;
    RUN(test_nice_ticks_table);
    RUN(test_tick_labels);
    RUN(test_nice_ticks_random);
    RUN(test_line_hand);
    RUN(test_line_random);
    RUN(test_line_far);
    RUN(test_dashed);
    RUN(test_mapping);
    RUN(test_markers);
    RUN(test_heat);
    RUN(test_confusion_cells);
    RUN(test_text_up);
    RUN(test_fit);
    RUN(test_legend);
    RUN(test_read_train);
    RUN(test_read_train_columns);
    RUN(test_read_bad);
    RUN(test_read_anneal);
    RUN(test_read_report);
    RUN(test_detect);
    RUN(test_pictures);
    RUN(test_render_edges);
    if (*tmpdir)
        rmdir(tmpdir);
    return check_done();
}
