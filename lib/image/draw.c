/* draw.c: clipped rectangles and bitmap text on fer_images. */
#include <string.h>

#include "draw.h"
#include "font.h"

/* Far apart in RGB, and in brightness too (gray levels 67, 90, 118, 136,
 * 158, 186, 211), so that they still differ on a gray image. */
static const fer_colour palette[FER_DRAW_NCOLOURS] = {
    {230, 30, 30},      /* angry: red */
    {60, 190, 60},      /* disgust: green */
    {170, 70, 230},     /* fear: purple */
    {255, 230, 0},      /* happy: yellow */
    {20, 60, 230},      /* sad: blue */
    {255, 140, 0},      /* surprise: orange */
    {80, 230, 240},     /* neutral: cyan */
};

fer_colour fer_draw_colour(int k)
{
    k %= FER_DRAW_NCOLOURS;
    if (k < 0)
        k += FER_DRAW_NCOLOURS;
    return palette[k];
}

static int luma(fer_colour c)
{
    return (9798 * c.r + 19235 * c.g + 3735 * c.b + 16384) >> 15;
}

fer_colour fer_draw_contrast(fer_colour c)
{
    fer_colour black = {0, 0, 0}, white = {255, 255, 255};
    return luma(c) >= 128 ? black : white;
}

int fer_draw_rgb(const fer_image *in, fer_image *out)
{
    size_t n = (size_t)in->w * in->h;
    if (fer_image_alloc(out, in->w, in->h, 3))
        return -1;
    if (in->c == 3) {
        memcpy(out->px, in->px, n * 3);
    } else {
        for (size_t i = 0; i < n; i++)
            out->px[3 * i] = out->px[3 * i + 1] = out->px[3 * i + 2] = in->px[i];
    }
    return 0;
}

/* Clips [a, a + n) to [0, lim) in 64 bits (a + n may overflow an int). */
static int clip(long long a, long long n, int lim, int *lo, int *hi)
{
    long long b = a + n;
    if (n <= 0 || b <= 0 || a >= lim)
        return 0;
    *lo = a < 0 ? 0 : (int)a;
    *hi = b > lim ? lim : (int)b;
    return 1;
}

static void fill(fer_image *im, long long x, long long y, long long w, long long h,
                 fer_colour c)
{
    int x0, x1, y0, y1;
    uint8_t g = (uint8_t)luma(c);
    if (!clip(x, w, im->w, &x0, &x1) || !clip(y, h, im->h, &y0, &y1))
        return;
    for (int j = y0; j < y1; j++) {
        uint8_t *p = im->px + ((size_t)j * im->w + x0) * im->c;
        if (im->c == 1) {
            memset(p, g, (size_t)(x1 - x0));
        } else {
            for (int i = x0; i < x1; i++, p += 3) {
                p[0] = c.r;
                p[1] = c.g;
                p[2] = c.b;
            }
        }
    }
}

void fer_draw_fill(fer_image *im, int x, int y, int w, int h, fer_colour c)
{
    fill(im, x, y, w, h, c);
}

void fer_draw_rect(fer_image *im, int x, int y, int w, int h, int thick, fer_colour c)
{
    long long t = thick < 1 ? 1 : thick;
    if (w <= 0 || h <= 0)
        return;
    if (2 * t >= w || 2 * t >= h) {
        fill(im, x, y, w, h, c);
        return;
    }
    fill(im, x, y, w, t, c);                            /* top */
    fill(im, x, (long long)y + h - t, w, t, c);         /* bottom */
    fill(im, x, (long long)y + t, t, h - 2 * t, c);     /* left */
    fill(im, (long long)x + w - t, (long long)y + t, t, h - 2 * t, c);  /* right */
}

long fer_draw_text(fer_image *im, int x, int y, const char *s, int scale, fer_colour fg)
{
    long long cx = x;
    if (scale < 1)
        scale = 1;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        const uint8_t *g = fer_font_glyph(*p);
        /* skip glyphs wholly outside, so that a long string costs little */
        if (cx < im->w && cx + (long long)FER_FONT_WIDTH * scale > 0)
            for (int r = 0; r < FER_FONT_HEIGHT; r++)
                for (int k = 0; k < FER_FONT_WIDTH; k++)
                    if ((g[r] >> (FER_FONT_WIDTH - 1 - k)) & 1)
                        fill(im, cx + (long long)k * scale, (long long)y + (long long)r * scale,
                             scale, scale, fg);
        cx += (long long)FER_FONT_ADVANCE * scale;
    }
    return fer_font_text_width(s, scale);
}

void fer_draw_label_size(const char *s, int scale, long *w, long *h)
{
    if (scale < 1)
        scale = 1;
    *w = fer_font_text_width(s, scale) + scale;
    *h = (long)(FER_FONT_HEIGHT + 2) * scale;
}

void fer_draw_label(fer_image *im, int x, int y, const char *s, int scale, fer_colour fg,
                    fer_colour bg)
{
    long w, h;
    if (scale < 1)
        scale = 1;
    fer_draw_label_size(s, scale, &w, &h);
    fill(im, x, y, w, h, bg);
    if ((long long)x + scale <= 0x7fffffff && (long long)y + scale <= 0x7fffffff)
        fer_draw_text(im, x + scale, y + scale, s, scale, fg);
}

void fer_draw_face_style(int w, int h, int *thick, int *scale)
{
    int m = w < h ? w : h;
    if (m < 0)
        m = 0;
    /* a 48-pixel face: 1 and 1; a 222-pixel one: 3 and 2 */
    *thick = 1 + m / 100;
    *scale = 1 + m / 120;
}

void fer_draw_face(fer_image *im, int x, int y, int w, int h, const char *label, fer_colour c)
{
    int thick, scale;
    long lw, lh;
    long long lx = x, ly;
    fer_draw_face_style(w, h, &thick, &scale);
    fer_draw_rect(im, x, y, w, h, thick, c);
    if (!label || !*label)
        return;
    fer_draw_label_size(label, scale, &lw, &lh);
    ly = (long long)y - lh;
    if (ly < 0)
        ly = y < 0 ? 0 : y;         /* no room above: inside the top-left corner */
    if (lx + lw > im->w)
        lx = im->w - lw;
    if (lx < 0)
        lx = 0;
    if (ly > im->h)
        return;
    fer_draw_label(im, (int)lx, (int)ly, label, scale, fer_draw_contrast(c), c);
}
