/* test_draw.c: the bitmap font's table, and drawing against plain
 * per-pixel definitions on seeded random canvases of awkward sizes, with
 * rectangles and text running past every border (ASan watches the
 * writes). */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "draw.h"
#include "font.h"
#include "image.h"

static void noise(fer_image *im, int w, int h, int c)
{
    if (fer_image_alloc(im, w, h, c))
        abort();
    for (size_t i = 0; i < (size_t)w * h * c; i++)
        im->px[i] = (uint8_t)(check_uniform() * 256);
}

static int gray_of(fer_colour c)
{
    return (9798 * c.r + 19235 * c.g + 3735 * c.b + 16384) >> 15;
}

/* Whether pixel (x, y) of im holds colour c (as drawn on its channels). */
static int is_colour(const fer_image *im, int x, int y, fer_colour c)
{
    const uint8_t *p = im->px + ((size_t)y * im->w + x) * im->c;
    if (im->c == 1)
        return p[0] == gray_of(c);
    return p[0] == c.r && p[1] == c.g && p[2] == c.b;
}

static int same_pixel(const fer_image *a, const fer_image *b, int x, int y)
{
    size_t o = ((size_t)y * a->w + x) * a->c;
    return !memcmp(a->px + o, b->px + o, (size_t)a->c);
}

static void test_glyphs(void)
{
    int n = FER_FONT_LAST - FER_FONT_FIRST + 1;
    for (int ch = FER_FONT_FIRST; ch <= FER_FONT_LAST; ch++) {
        const uint8_t *g = fer_font_glyph(ch);
        int ink = 0;
        for (int r = 0; r < FER_FONT_HEIGHT; r++) {
            CHECK(g[r] < (1 << FER_FONT_WIDTH), "'%c' row %d = 0x%02x is wider than %d", ch, r,
                  g[r], FER_FONT_WIDTH);
            for (int x = 0; x < FER_FONT_WIDTH; x++)
                ink += fer_font_ink(ch, x, r);
        }
        if (ch == ' ')
            CHECK(ink == 0, "space has %d ink pixels", ink);
        else
            CHECK(ink > 0, "'%c' (%d) has no ink", ch, ch);
        /* the blank column between glyphs stays blank */
        CHECK(!fer_font_ink(ch, FER_FONT_WIDTH, 0) && !fer_font_ink(ch, -1, 0) &&
              !fer_font_ink(ch, 0, FER_FONT_HEIGHT), "'%c': ink outside the cell", ch);
    }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            CHECK(memcmp(fer_font_glyph(FER_FONT_FIRST + i), fer_font_glyph(FER_FONT_FIRST + j),
                         FER_FONT_HEIGHT),
                  "'%c' and '%c' have the same glyph", FER_FONT_FIRST + i, FER_FONT_FIRST + j);
    CHECK(fer_font_glyph(7) == fer_font_glyph('?') && fer_font_glyph(200) == fer_font_glyph('?')
              && fer_font_glyph(-3) == fer_font_glyph('?'),
          "bytes outside 32..126 are not drawn as '?'");
    /* descenders reach below the baseline, capitals do not */
    CHECK(fer_font_glyph('g')[7] || fer_font_glyph('g')[8], "'g' has no descender");
    CHECK(!fer_font_glyph('A')[7] && !fer_font_glyph('A')[8], "'A' goes below the baseline");
}

/* Draws random strings at random places and scales (many past the
 * borders) and compares every pixel with the definition: ink where the
 * glyph of the character under it has ink, the canvas elsewhere. */
static void test_text(void)
{
    static const int sizes[][3] = {{37, 23, 1}, {61, 19, 3}, {5, 7, 3}, {130, 41, 1}};
    check_seed(11);
    for (int si = 0; si < 4; si++)
        for (int trial = 0; trial < 40; trial++) {
            fer_image im, ref;
            char s[24], shown[24];
            int len = 1 + (int)(check_uniform() * 20), scale = 1 + (int)(check_uniform() * 4);
            int w = sizes[si][0], h = sizes[si][1], c = sizes[si][2];
            int x0 = (int)(check_uniform() * (w + 40)) - 30;
            int y0 = (int)(check_uniform() * (h + 30)) - 20;
            fer_colour fg = {(uint8_t)(check_uniform() * 256), (uint8_t)(check_uniform() * 256),
                             (uint8_t)(check_uniform() * 256)};
            long width;
            int bad = 0;
            for (int i = 0; i < len; i++)
                s[i] = (char)(32 + (int)(check_uniform() * 95));
            s[len] = 0;
            memcpy(shown, s, sizeof s);
            if (trial == 0) {
                s[0] = (char)0xe9;      /* drawn as '?' */
                shown[0] = '?';
            }
            noise(&im, w, h, c);
            noise(&ref, w, h, c);
            memcpy(ref.px, im.px, (size_t)w * h * c);
            width = fer_draw_text(&im, x0, y0, s, scale, fg);
            CHECK(width == (long)len * FER_FONT_ADVANCE * scale, "width %ld of %d chars at %d",
                  width, len, scale);
            CHECK(fer_font_text_width(s, scale) == width, "fer_font_text_width %ld, drawn %ld",
                  fer_font_text_width(s, scale), width);
            for (int y = 0; y < h && !bad; y++)
                for (int x = 0; x < w && !bad; x++) {
                    int dx = x - x0, dy = y - y0, ink = 0;
                    if (dx >= 0 && dy >= 0 && dx < width) {
                        int k = dx / (FER_FONT_ADVANCE * scale);
                        int gx = dx % (FER_FONT_ADVANCE * scale) / scale, gy = dy / scale;
                        ink = fer_font_ink((unsigned char)s[k], gx, gy);
                    }
                    if (ink ? !is_colour(&im, x, y, fg) : !same_pixel(&im, &ref, x, y)) {
                        CHECK(0, "%dx%dx%d, \"%s\" at (%d,%d) scale %d: pixel (%d,%d) %s", w, h,
                              c, shown, x0, y0, scale, x, y, ink ? "not ink" : "changed");
                        bad = 1;
                    }
                }
            fer_image_free(&im);
            fer_image_free(&ref);
        }
}

/* The outline of (x, y, w, h), thick t, by its definition: inside the
 * rectangle and less than t from one of its edges (64-bit, no overflow). */
static int in_outline(long long px, long long py, long long x, long long y, long long w,
                      long long h, long long t)
{
    if (w <= 0 || h <= 0 || px < x || py < y || px >= x + w || py >= y + h)
        return 0;
    return px < x + t || py < y + t || px >= x + w - t || py >= y + h - t;
}

static void check_rect(fer_image *im, fer_image *ref, int x, int y, int w, int h, int t,
                       int filled)
{
    fer_colour col = {(uint8_t)(check_uniform() * 256), 7, (uint8_t)(check_uniform() * 256)};
    int bad = 0;
    memcpy(im->px, ref->px, (size_t)im->w * im->h * im->c);
    if (filled)
        fer_draw_fill(im, x, y, w, h, col);
    else
        fer_draw_rect(im, x, y, w, h, t, col);
    for (int py = 0; py < im->h && !bad; py++)
        for (int px = 0; px < im->w && !bad; px++) {
            int in = in_outline(px, py, x, y, w, h, filled ? (long long)1 << 40 : (t < 1 ? 1 : t));
            if (in ? !is_colour(im, px, py, col) : !same_pixel(im, ref, px, py)) {
                CHECK(0, "%s (%d,%d,%d,%d) thick %d on %dx%dx%d: pixel (%d,%d) %s",
                      filled ? "fill" : "rect", x, y, w, h, t, im->w, im->h, im->c, px, py,
                      in ? "not drawn" : "changed");
                bad = 1;
            }
        }
}

static void test_rect(void)
{
    static const int edge[][4] = {
        {-5, -5, 10, 10}, {30, 17, 100, 100}, {-100, 3, 50, 4}, {INT_MIN, INT_MIN, INT_MAX,
        INT_MAX}, {INT_MAX - 3, INT_MAX - 3, INT_MAX, INT_MAX}, {INT_MIN, 0, -5, 10},
        {0, 0, 0, 9}, {2, 2, -4, 5}, {-1, -1, 40, 26}, {3, 4, 1, 1}, {1 << 30, 5, 1 << 30, 3}};
    static const int sizes[][3] = {{37, 23, 1}, {23, 37, 3}, {1, 1, 3}, {64, 3, 1}};
    check_seed(12);
    for (int si = 0; si < 4; si++) {
        fer_image im, ref;
        noise(&ref, sizes[si][0], sizes[si][1], sizes[si][2]);
        noise(&im, sizes[si][0], sizes[si][1], sizes[si][2]);
        for (size_t e = 0; e < sizeof edge / sizeof edge[0]; e++)
            for (int t = 0; t <= 6; t += 3) {
                check_rect(&im, &ref, edge[e][0], edge[e][1], edge[e][2], edge[e][3], t, 0);
                check_rect(&im, &ref, edge[e][0], edge[e][1], edge[e][2], edge[e][3], t, 1);
            }
        for (int trial = 0; trial < 60; trial++) {
            int x = (int)(check_uniform() * 90) - 30, y = (int)(check_uniform() * 90) - 30;
            int w = (int)(check_uniform() * 70), h = (int)(check_uniform() * 70);
            int t = 1 + (int)(check_uniform() * 12);
            check_rect(&im, &ref, x, y, w, h, t, trial & 1);
        }
        fer_image_free(&im);
        fer_image_free(&ref);
    }
}

static void test_colours(void)
{
    for (int i = 0; i < FER_DRAW_NCOLOURS; i++) {
        fer_colour a = fer_draw_colour(i);
        fer_colour w = fer_draw_colour(i + 3 * FER_DRAW_NCOLOURS), n = fer_draw_colour(i - 14);
        CHECK(!memcmp(&a, &w, sizeof a) && !memcmp(&a, &n, sizeof a), "colour %d does not wrap",
              i);
        for (int j = i + 1; j < FER_DRAW_NCOLOURS; j++) {
            fer_colour b = fer_draw_colour(j);
            double d = sqrt((double)(a.r - b.r) * (a.r - b.r) + (double)(a.g - b.g) * (a.g - b.g)
                            + (double)(a.b - b.b) * (a.b - b.b));
            CHECK(d >= 80, "colours %d and %d only %.1f apart in RGB", i, j, d);
            CHECK(abs(gray_of(a) - gray_of(b)) >= 12, "colours %d and %d: gray %d and %d", i, j,
                  gray_of(a), gray_of(b));
        }
    }
    {
        fer_colour yellow = fer_draw_colour(3), blue = fer_draw_colour(4);
        fer_colour on_y = fer_draw_contrast(yellow), on_b = fer_draw_contrast(blue);
        CHECK(on_y.r == 0 && on_y.g == 0 && on_y.b == 0, "text on yellow is not black");
        CHECK(on_b.r == 255 && on_b.g == 255 && on_b.b == 255, "text on blue is not white");
    }
}

static void test_rgb(void)
{
    fer_image g, rgb, rgb2;
    check_seed(13);
    noise(&g, 29, 17, 1);
    CHECK(!fer_draw_rgb(&g, &rgb), "fer_draw_rgb failed");
    CHECK(rgb.w == 29 && rgb.h == 17 && rgb.c == 3, "got %dx%dx%d", rgb.w, rgb.h, rgb.c);
    for (int i = 0; i < 29 * 17; i++)
        if (rgb.px[3 * i] != g.px[i] || rgb.px[3 * i + 1] != g.px[i] ||
            rgb.px[3 * i + 2] != g.px[i]) {
            CHECK(0, "pixel %d: gray %d -> %d,%d,%d", i, g.px[i], rgb.px[3 * i],
                  rgb.px[3 * i + 1], rgb.px[3 * i + 2]);
            break;
        }
    CHECK(!fer_draw_rgb(&rgb, &rgb2) && !memcmp(rgb.px, rgb2.px, 29 * 17 * 3),
          "an RGB image is not copied");
    fer_image_free(&g);
    fer_image_free(&rgb);
    fer_image_free(&rgb2);
}

/* The label sits on the box's top edge when there is room, inside the
 * top-left corner at the top border, and inside the image at the right. */
static void test_face(void)
{
    fer_image im, ref;
    fer_colour c = fer_draw_colour(3), ink = fer_draw_contrast(c);
    int thick, scale;
    long lw, lh;
    check_seed(14);
    noise(&ref, 301, 203, 3);
    noise(&im, 301, 203, 3);

    memcpy(im.px, ref.px, (size_t)301 * 203 * 3);
    fer_draw_face_style(150, 120, &thick, &scale);
    fer_draw_label_size("happy 91%", scale, &lw, &lh);
    CHECK(lw == 9 * FER_FONT_ADVANCE * scale + scale && lh == (FER_FONT_HEIGHT + 2) * scale,
          "label %ldx%ld at scale %d", lw, lh, scale);
    CHECK(thick >= 1 && scale >= 1, "thick %d scale %d", thick, scale);
    fer_draw_face(&im, 40, 60, 150, 120, "happy 91%", c);
    CHECK(is_colour(&im, 40, 60, c) && is_colour(&im, 189, 179, c), "box corners not drawn");
    CHECK(is_colour(&im, 40 + thick, 60 + thick, c) == 0 || thick * 2 >= 120,
          "the box is filled");
    /* label background from (40, 60 - lh) to (40 + lw, 60) */
    CHECK(is_colour(&im, 40, 60 - (int)lh, c) && is_colour(&im, 40 + (int)lw - 1, 59, c),
          "label box not above the face");
    CHECK(!is_colour(&im, 40, 60 - (int)lh - 1, c) || same_pixel(&im, &ref, 40, 60 - (int)lh - 1),
          "label box taller than %ld", lh);
    {
        int inks = 0;
        for (int y = 60 - (int)lh; y < 60; y++)
            for (int x = 40; x < 40 + lw; x++)
                inks += is_colour(&im, x, y, ink);
        CHECK(inks > 20 * scale * scale, "only %d text pixels in the label", inks);
    }

    /* at the top border: inside */
    memcpy(im.px, ref.px, (size_t)301 * 203 * 3);
    fer_draw_face(&im, 10, 2, 150, 120, "happy 91%", c);
    CHECK(is_colour(&im, 10, 2, c) && is_colour(&im, 10 + (int)lw - 1, 2 + (int)lh - 1, c),
          "label not inside the box at the top border");
    CHECK(same_pixel(&im, &ref, 10, 1) && same_pixel(&im, &ref, 10 + (int)lw, 0),
          "drawn above a box at the top border");

    /* at the right border: moved left, whole */
    memcpy(im.px, ref.px, (size_t)301 * 203 * 3);
    fer_draw_face(&im, 250, 100, 150, 120, "surprise 100%", c);
    fer_draw_label_size("surprise 100%", scale, &lw, &lh);
    CHECK(is_colour(&im, 300, 100 - 1, c) && is_colour(&im, 301 - (int)lw, 100 - (int)lh, c),
          "label not moved inside the right border");

    /* far too big for the image, and wholly outside: nothing out of bounds */
    fer_draw_face(&im, -50, -50, 2000, 1500, "a very long label indeed", c);
    fer_draw_face(&im, 5000, 5000, 100, 100, "x", c);
    fer_draw_face(&im, INT_MAX - 10, INT_MIN, INT_MAX, INT_MAX, "x", c);
    fer_draw_face(&im, 3, 3, 0, 0, "", c);
    fer_image_free(&im);
    fer_image_free(&ref);
}

int main(void)
{
    RUN(test_glyphs);
    RUN(test_text);
    RUN(test_rect);
    RUN(test_colours);
    RUN(test_rgb);
    RUN(test_face);
    return check_done();
}
