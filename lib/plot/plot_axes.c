/* plot_axes.c: ticks, axes, lines, markers, legend and text for plot.h's
 * pictures (see plot_axes.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "font.h"
#include "plot_axes.h"

#define S FER_PLOT_TEXT
#define TH (FER_FONT_HEIGHT * S)    /* height of a text line's cell */
#define CAP (7 * S)                 /* height of digits and capitals */

const fer_colour fer_plot_black = {0, 0, 0}, fer_plot_white = {255, 255, 255},
                 fer_plot_grid = {226, 226, 226}, fer_plot_dim = {90, 90, 90};

void fer_plot_nice_ticks(double lo, double hi, int want, int integer, fer_plot_ticks *t)
{
    double raw, m;
    int e, s;
    if (!isfinite(lo) || !isfinite(hi) || hi < lo) {
        lo = 0;
        hi = 1;
    }
    if (want < 1)
        want = 1;
    if (want > 100)
        want = 100;
    if (hi == lo) {
        double d = lo != 0 ? fabs(lo) * 0.1 : 1;
        lo -= d / 2;
        hi += d / 2;
    }
    if (lo < 0 && hi > 0 && want < 2)
        want = 2;       /* one interval from a multiple of step cannot hold 0 inside */
    raw = (hi - lo) / want;
    e = (int)floor(log10(raw));
    m = raw / pow(10, e);           /* 1 <= m < 10, up to rounding */
    s = m <= 1 + 1e-9 ? 1 : m <= 2 + 1e-9 ? 2 : m <= 5 + 1e-9 ? 5 : 10;
    if (s == 10) {
        s = 1;
        e++;
    }
    if (integer && e < 0) {
        s = 1;
        e = 0;
    }
    /* No smaller step can do (it needs more than want intervals just to
     * span the range); widening lo and hi to multiples of this one may
     * still add one, and then the next round step is taken. */
    for (int tries = 0; tries < 64; tries++) {
        /* s / 10^-e rather than s * 10^e: 0.2, not 0.20000000000000001 */
        t->step = e < 0 ? s / pow(10, -e) : s * pow(10, e);
        t->lo = floor(lo / t->step + 1e-9) * t->step;
        t->hi = ceil(hi / t->step - 1e-9) * t->step;
        t->n = (int)llround((t->hi - t->lo) / t->step) + 1;
        if (t->n - 1 <= want)
            break;
        if (s == 5) {
            s = 1;
            e++;
        } else {
            s = s == 1 ? 2 : 5;
        }
    }
    t->decimals = e < 0 ? -e : 0;
}

double fer_plot_tick(const fer_plot_ticks *t, int i)
{
    double p = pow(10, t->decimals), v = t->lo + i * t->step;
    v = round(v * p) / p;
    return v == 0 ? 0 : v;          /* no "-0" */
}

void fer_plot_tick_label(const fer_plot_ticks *t, int i, char *buf, size_t n)
{
    double v = fer_plot_tick(t, i);
    if (fabs(v) >= 1e6 || t->decimals > 6)
        snprintf(buf, n, "%g", v);
    else
        snprintf(buf, n, "%.*f", t->decimals, v);
}

int fer_plot_px(const fer_plot_axes *a, double vx)
{
    double span = a->w - 1 - 2 * FER_PLOT_PAD;
    return a->x + FER_PLOT_PAD + (int)lround((vx - a->x0) / (a->x1 - a->x0) * span);
}

int fer_plot_py(const fer_plot_axes *a, double vy)
{
    double span = a->h - 1 - 2 * FER_PLOT_PAD;
    return a->y + a->h - 1 - FER_PLOT_PAD - (int)lround((vy - a->y0) / (a->y1 - a->y0) * span);
}

static int text_w(const char *s)
{
    /* without the blank column after the last glyph */
    size_t n = strlen(s);
    return n ? (int)(n * FER_FONT_ADVANCE - 1) * S : 0;
}

static int widest_label(const fer_plot_ticks *t)
{
    char buf[64];
    int w = 0;
    for (int i = 0; i < t->n; i++) {
        fer_plot_tick_label(t, i, buf, sizeof buf);
        if (text_w(buf) > w)
            w = text_w(buf);
    }
    return w;
}

/* Keeps the ticks of t that lie in [lo, hi], when one does. */
static void inside(fer_plot_ticks *t, double lo, double hi)
{
    double k0 = ceil(lo / t->step - 1e-9), k1 = floor(hi / t->step + 1e-9);
    if (k1 < k0)
        return;
    t->lo = k0 * t->step;
    t->hi = k1 * t->step;
    t->n = (int)(k1 - k0) + 1;
}

void fer_plot_layout(fer_plot_axes *a, fer_plot_ticks *tx, fer_plot_ticks *ty, int px, int py,
                     int pw, int ph, double xlo, double xhi, int xint, double ylo, double yhi,
                     int flags)
{
    int top = py + TH / 2, bottom = py + ph - 1 - (8 + TH), left, right, want, span;
    if (!(flags & FER_PLOT_NO_XLABEL))
        bottom -= 8 + TH;
    /* y: ticks at least two text lines apart */
    span = bottom - top - 2 * FER_PLOT_PAD;
    for (want = span / (2 * TH) > 8 ? 8 : span / (2 * TH); want > 1; want--) {
        fer_plot_nice_ticks(ylo, yhi, want, 0, ty);
        if (ty->n < 2 || span / (ty->n - 1) >= 2 * TH)
            break;
    }
    if (want <= 1)
        fer_plot_nice_ticks(ylo, yhi, 1, 0, ty);
    left = px + TH + 10 + widest_label(ty) + 10;
    right = px + pw - 1 - TH;
    /* x: the data's range, not widened to ticks (epochs 1..10 need no 0);
     * one point gets room on either side */
    if (!(xhi > xlo)) {
        double d = xint ? 0.5 : xlo != 0 ? fabs(xlo) * 0.05 : 0.5;
        xlo -= d;
        xhi += d;
    }
    /* labels at least 3 glyphs apart */
    span = right - left - 2 * FER_PLOT_PAD;
    for (want = 10; want > 1; want--) {
        fer_plot_nice_ticks(xlo, xhi, want, xint, tx);
        inside(tx, xlo, xhi);
        if (tx->n < 2 || span / (tx->n - 1) >= widest_label(tx) + 3 * FER_FONT_ADVANCE * S)
            break;
    }
    if (want <= 1) {
        fer_plot_nice_ticks(xlo, xhi, 1, xint, tx);
        inside(tx, xlo, xhi);
    }
    a->x = left;
    a->y = top;
    a->w = right - left + 1;
    a->h = bottom - top + 1;
    a->x0 = tx->lo < xlo ? tx->lo : xlo;
    a->x1 = tx->hi > xhi ? tx->hi : xhi;
    a->y0 = ty->lo;
    a->y1 = ty->hi;
}

void fer_plot_frame(fer_image *im, const fer_plot_axes *a, const fer_plot_ticks *tx,
                    const fer_plot_ticks *ty, const char *xlabel, const char *ylabel)
{
    char buf[64];
    for (int i = 0; i < tx->n; i++) {
        int x = fer_plot_px(a, fer_plot_tick(tx, i));
        fer_draw_fill(im, x, a->y + 1, 1, a->h - 2, fer_plot_grid);
        fer_draw_fill(im, x, a->y + a->h, 1, 6, fer_plot_black);
        fer_plot_tick_label(tx, i, buf, sizeof buf);
        fer_plot_text_centre(im, x, a->y + a->h + 8, buf, S, fer_plot_black);
    }
    for (int i = 0; i < ty->n; i++) {
        int y = fer_plot_py(a, fer_plot_tick(ty, i));
        fer_draw_fill(im, a->x + 1, y, a->w - 2, 1, fer_plot_grid);
        fer_draw_fill(im, a->x - 6, y, 6, 1, fer_plot_black);
        fer_plot_tick_label(ty, i, buf, sizeof buf);
        fer_plot_text_right(im, a->x - 10, y - CAP / 2, buf, S, fer_plot_black);
    }
    fer_draw_rect(im, a->x, a->y, a->w, a->h, 1, fer_plot_black);
    if (xlabel)
        fer_plot_text_centre(im, a->x + a->w / 2, a->y + a->h + 8 + TH + 8, xlabel, S,
                             fer_plot_black);
    if (ylabel)
        fer_plot_text_up(im, a->x - 10 - widest_label(ty) - 10 - TH, a->y + a->h / 2, ylabel, S,
                         fer_plot_black);
}

static void brush(fer_image *im, long long x, long long y, int t, fer_colour c)
{
    int o = (t - 1) / 2;
    if (x < -t || y < -t || x > im->w + t || y > im->h + t)
        return;
    fer_draw_fill(im, (int)x - o, (int)y - o, t, t, c);
}

/* Cuts the segment to the canvas grown by m pixels (Liang-Barsky), so that
 * a line with far-off ends costs no more than one across the canvas.
 * Returns 0 when nothing of it is left. */
static int clip_line(const fer_image *im, int m, double *x0, double *y0, double *x1, double *y1)
{
    double t0 = 0, t1 = 1, dx = *x1 - *x0, dy = *y1 - *y0;
    double p[4] = {-dx, dx, -dy, dy};
    double q[4] = {*x0 + m, im->w - 1 + m - *x0, *y0 + m, im->h - 1 + m - *y0};
    for (int i = 0; i < 4; i++) {
        if (p[i] == 0) {
            if (q[i] < 0)
                return 0;
        } else {
            double r = q[i] / p[i];
            if (p[i] < 0 && r > t0)
                t0 = r;
            else if (p[i] > 0 && r < t1)
                t1 = r;
        }
    }
    if (t0 > t1)
        return 0;
    *x1 = *x0 + t1 * dx;
    *y1 = *y0 + t1 * dy;
    *x0 += t0 * dx;
    *y0 += t0 * dy;
    return 1;
}

void fer_plot_dashed(fer_image *im, int x0, int y0, int x1, int y1, int thick, int dash, int gap,
                     int *phase, fer_colour c)
{
    long long x = x0, y = y0, dx, dy, sx, sy, err, e2;
    int m = thick + 2, period, ph = phase ? *phase : 0;
    if (thick < 1)
        thick = 1;
    if (dash < 1)
        dash = 1;
    if (gap < 0)
        gap = 0;
    period = dash + gap;
    if (x0 < -m || y0 < -m || x0 > im->w + m || y0 > im->h + m || x1 < -m || y1 < -m ||
        x1 > im->w + m || y1 > im->h + m) {
        double a = x0, b = y0, e = x1, f = y1;
        if (!clip_line(im, m, &a, &b, &e, &f))
            return;
        x = llround(a);
        y = llround(b);
        x1 = (int)llround(e);
        y1 = (int)llround(f);
    }
    dx = llabs(x1 - x);
    dy = -llabs(y1 - y);
    sx = x < x1 ? 1 : -1;
    sy = y < y1 ? 1 : -1;
    err = dx + dy;
    /* one pixel per step along the longer axis: the loop ends at (x1, y1) */
    for (long long i = 0, steps = dx > -dy ? dx : -dy;; i++) {
        if (ph % period < dash)
            brush(im, x, y, thick, c);
        ph = (ph + 1) % period;
        if (i == steps)
            break;
        e2 = 2 * err;
        if (e2 >= dy) {
            err += dy;
            x += sx;
        }
        if (e2 <= dx) {
            err += dx;
            y += sy;
        }
    }
    if (phase)
        *phase = ph;
}

void fer_plot_line(fer_image *im, int x0, int y0, int x1, int y1, int thick, fer_colour c)
{
    fer_plot_dashed(im, x0, y0, x1, y1, thick, 1, 0, NULL, c);
}

void fer_plot_series(fer_image *im, const fer_plot_axes *a, const double *vx, const double *vy,
                     int n, int thick, int dashed, int marker, fer_colour c)
{
    int phase = 0;
    for (int i = 0; i < n; i++) {
        int here = isfinite(vx[i]) && isfinite(vy[i]);
        int prev = i > 0 && isfinite(vx[i - 1]) && isfinite(vy[i - 1]);
        int next = i + 1 < n && isfinite(vx[i + 1]) && isfinite(vy[i + 1]);
        if (here && prev)
            fer_plot_dashed(im, fer_plot_px(a, vx[i - 1]), fer_plot_py(a, vy[i - 1]),
                            fer_plot_px(a, vx[i]), fer_plot_py(a, vy[i]), thick,
                            dashed ? 8 : 1, dashed ? 6 : 0, &phase, c);
        else if (here && !next && marker < 0)
            fer_plot_marker(im, fer_plot_px(a, vx[i]), fer_plot_py(a, vy[i]), FER_PLOT_DISC, 4, c);
    }
    if (marker >= 0)
        for (int i = 0; i < n; i++)
            if (isfinite(vx[i]) && isfinite(vy[i]))
                fer_plot_marker(im, fer_plot_px(a, vx[i]), fer_plot_py(a, vy[i]), marker, 3, c);
}

static int in_disc(int dx, int dy, int r)
{
    return dx * dx + dy * dy <= r * r + r;
}

void fer_plot_marker(fer_image *im, int x, int y, int kind, int r, fer_colour c)
{
    if (r < 1)
        r = 1;
    switch (kind) {
    case FER_PLOT_DISC:
    case FER_PLOT_RING:
        for (int dy = -r; dy <= r; dy++)
            for (int dx = -r; dx <= r; dx++) {
                if (!in_disc(dx, dy, r))
                    continue;
                if (kind == FER_PLOT_RING && r > 2 && in_disc(dx, dy, r - 2))
                    fer_draw_fill(im, x + dx, y + dy, 1, 1, fer_plot_white);
                else
                    fer_draw_fill(im, x + dx, y + dy, 1, 1, c);
            }
        break;
    case FER_PLOT_SQUARE:
        fer_draw_fill(im, x - r, y - r, 2 * r + 1, 2 * r + 1, c);
        break;
    case FER_PLOT_CROSS:
        fer_plot_line(im, x - r, y - r, x + r, y + r, 2, c);
        fer_plot_line(im, x - r, y + r, x + r, y - r, 2, c);
        break;
    default:        /* FER_PLOT_TRIANGLE */
        for (int dy = -r; dy <= r; dy++) {
            int hw = (dy + r) / 2;
            fer_draw_fill(im, x - hw, y + dy, 2 * hw + 1, 1, c);
        }
        break;
    }
}

#define SAMPLE 30       /* length of a legend's line sample, pixels */
#define KEY_GAP 28      /* between legend entries */

static int sample_width(const fer_plot_key *k)
{
    return k->line ? SAMPLE : 14;
}

static int key_width(const fer_plot_key *k)
{
    return sample_width(k) + 8 + text_w(k->label);
}

/* Where the rows of a legend end when no row may be wider than limit: the
 * first entry of row r is keys[first[r]]. Returns the number of rows. */
static int legend_rows(const fer_plot_key *keys, int n, int limit, int *first)
{
    int rows = 0;
    for (int i = 0; i < n; rows++) {
        int w = key_width(&keys[i]);
        first[rows] = i++;
        while (i < n && w + KEY_GAP + key_width(&keys[i]) <= limit)
            w += KEY_GAP + key_width(&keys[i++]);
    }
    first[rows] = n;
    return rows;
}

int fer_plot_legend(fer_image *im, int y, const fer_plot_key *keys, int n)
{
    int first[64], avail = im->w - 80, rows, total = 0, limit;
    if (n > 63)
        n = 63;
    if (n < 1)
        return y;
    for (int i = 0; i < n; i++)
        total += key_width(&keys[i]) + (i ? KEY_GAP : 0);
    rows = legend_rows(keys, n, avail, first);
    /* the narrowest limit that needs no more rows: rows of even length */
    for (limit = total / rows; limit < avail && legend_rows(keys, n, limit, first) > rows;
         limit += 8)
        ;
    rows = legend_rows(keys, n, limit < avail ? limit : avail, first);
    for (int r = 0; r < rows; r++) {
        int w = 0, x;
        for (int i = first[r]; i < first[r + 1]; i++)
            w += key_width(&keys[i]) + (i > first[r] ? KEY_GAP : 0);
        x = (im->w - w) / 2;
        for (int i = first[r]; i < first[r + 1]; i++) {
            const fer_plot_key *k = &keys[i];
            int cy = y + CAP / 2, sw = sample_width(k);
            if (k->line == 1)
                fer_plot_line(im, x, cy, x + sw - 1, cy, 2, k->c);
            else if (k->line == 2)
                fer_plot_dashed(im, x, cy, x + sw - 1, cy, 2, 8, 6, NULL, k->c);
            if (k->marker >= 0)
                fer_plot_marker(im, x + sw / 2, cy, k->marker, 5, k->c);
            fer_draw_text(im, x + sw + 8, y, k->label, S, fer_plot_black);
            x += key_width(k) + KEY_GAP;
        }
        y += TH + 8;
    }
    return y;
}

void fer_plot_text_centre(fer_image *im, int cx, int y, const char *s, int scale, fer_colour c)
{
    int w = s[0] ? (int)((strlen(s) * FER_FONT_ADVANCE - 1) * scale) : 0;
    fer_draw_text(im, cx - w / 2, y, s, scale, c);
}

void fer_plot_text_right(fer_image *im, int xr, int y, const char *s, int scale, fer_colour c)
{
    int w = s[0] ? (int)((strlen(s) * FER_FONT_ADVANCE - 1) * scale) : 0;
    fer_draw_text(im, xr - w + 1, y, s, scale, c);
}

void fer_plot_text_up(fer_image *im, int x, int cy, const char *s, int scale, fer_colour c)
{
    int n = (int)strlen(s), w = n ? (n * FER_FONT_ADVANCE - 1) * scale : 0;
    int bottom = cy + w / 2;    /* the row under the first glyph's left column */
    if (scale < 1)
        scale = 1;
    for (int i = 0; i < n; i++)
        for (int gy = 0; gy < FER_FONT_HEIGHT; gy++)
            for (int gx = 0; gx < FER_FONT_WIDTH; gx++)
                if (fer_font_ink((unsigned char)s[i], gx, gy))
                    fer_draw_fill(im, x + gy * scale,
                                  bottom - (i * FER_FONT_ADVANCE + gx + 1) * scale, scale, scale, c);
}

char *fer_plot_fit(const char *s, int maxw, int scale, char *buf, size_t n)
{
    size_t len = strlen(s), fit;
    if (scale < 1)
        scale = 1;
    fit = maxw < 0 ? 0 : (size_t)(maxw / (FER_FONT_ADVANCE * scale));
    if (!n)
        return buf;
    if (len <= fit) {
        snprintf(buf, n, "%s", s);
    } else if (fit < 4) {
        snprintf(buf, n, "%.*s", (int)fit, "...");
    } else {
        snprintf(buf, n, "%.*s...", (int)(fit - 3), s);
    }
    return buf;
}

int fer_plot_title(fer_image *im, int y, const char *s, fer_colour c)
{
    char buf[256];
    fer_plot_fit(s, im->w - 40, S, buf, sizeof buf);
    /* bold: drawn twice, a pixel apart */
    fer_plot_text_centre(im, im->w / 2, y, buf, S, c);
    fer_plot_text_centre(im, im->w / 2 + 1, y, buf, S, c);
    return y + TH;
}

int fer_plot_canvas(fer_image *im, int w, int h)
{
    if (fer_image_alloc(im, w, h, 3))
        return -1;
    memset(im->px, 255, (size_t)w * h * 3);
    return 0;
}

fer_colour fer_plot_colour(int i)
{
    static const fer_colour c[8] = {
        {30, 100, 200},     /* blue */
        {240, 125, 15},     /* orange */
        {35, 150, 55},      /* green */
        {205, 35, 40},      /* red */
        {135, 80, 185},     /* purple */
        {135, 85, 60},      /* brown */
        {215, 70, 165},     /* magenta */
        {105, 105, 105},    /* gray */
    };
    i %= 8;
    return c[i < 0 ? i + 8 : i];
}

fer_colour fer_plot_heat(double v)
{
    /* stops from paper white through pale and mid blue to navy; every
     * channel falls or stays from one stop to the next */
    static const double at[5] = {0, 0.25, 0.5, 0.75, 1};
    static const fer_colour stop[5] = {
        {250, 251, 253}, {200, 221, 240}, {112, 168, 215}, {40, 104, 175}, {10, 42, 100},
    };
    int i = 0;
    double f;
    fer_colour c;
    if (!(v > 0))
        v = 0;
    if (v > 1)
        v = 1;
    while (i < 3 && v > at[i + 1])
        i++;
    f = (v - at[i]) / (at[i + 1] - at[i]);
    c.r = (uint8_t)lround(stop[i].r + f * (stop[i + 1].r - stop[i].r));
    c.g = (uint8_t)lround(stop[i].g + f * (stop[i + 1].g - stop[i].g));
    c.b = (uint8_t)lround(stop[i].b + f * (stop[i + 1].b - stop[i].b));
    return c;
}
