/* plot_confusion.c: a confusion matrix as a heat map of the row-normalised
 * shares with the counts in the cells (see plot.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "font.h"
#include "plot.h"
#include "plot_axes.h"

#define S FER_PLOT_TEXT
#define TH (FER_FONT_HEIGHT * S)
#define CAP (7 * S)          /* height of digits and capitals */
#define GRID_TOP 84
#define NAME_CHARS 12       /* class names are cut to this many characters */

static int text_w(const char *s, int scale)
{
    size_t n = strlen(s);
    return n ? (int)(n * FER_FONT_ADVANCE - 1) * scale : 0;
}

/* The count and the share of one cell, centred in it at the largest
 * scale that fits, in black or white as reads better on its colour. */
static void cell_text(fer_image *im, int x, int y, int cell, long count, double share,
                      fer_colour bg)
{
    char a[32], b[32];
    fer_colour fg = fer_draw_contrast(bg);
    int sa, sb, h;
    snprintf(a, sizeof a, "%ld", count);
    snprintf(b, sizeof b, "%.1f%%", 100 * share);
    sa = text_w(a, 2) <= cell - 8 && cell >= 40 ? 2 : 1;
    sb = text_w(b, 2) <= cell - 8 && cell >= 70 ? 2 : 1;
    if (text_w(a, sa) > cell - 4)
        return;     /* no room even for the count */
    if (text_w(b, sb) > cell - 4 || 7 * sa + 6 + 7 * sb > cell - 6) {
        fer_plot_text_centre(im, x + cell / 2, y + (cell - 7 * sa) / 2, a, sa, fg);
        return;
    }
    h = 7 * sa + 6 + 7 * sb;
    fer_plot_text_centre(im, x + cell / 2, y + (cell - h) / 2, a, sa, fg);
    fer_plot_text_centre(im, x + cell / 2, y + (cell - h) / 2 + 7 * sa + 6, b, sb, fg);
}

/* How the class names go under the grid: on one row, on two rows taking
 * turns, or upright. */
enum { FLAT, STAGGERED, UPRIGHT };

typedef struct layout {
    int ns;         /* font scale of the class names */
    int mode;
    int left;       /* the grid's left edge */
    int cell, gs;   /* the side of a cell and of the grid */
    int below;      /* rows under the grid that the names take */
} layout;

/* The largest grid whose names do not touch: names at scale 2, else 1;
 * flat, else staggered, else upright. */
static void plan(layout *L, char names[][NAME_CHARS + 4], int k, int W, int H)
{
    for (int ns = 2; ns >= 1; ns--)
        for (int mode = FLAT; mode <= UPRIGHT; mode++) {
            int namew = 0, ok, right = 30 + 24 + 10 + text_w("100%", S) + 14 + TH + 12;
            for (int i = 0; i < k; i++)
                if (text_w(names[i], ns) > namew)
                    namew = text_w(names[i], ns);
            L->ns = ns;
            L->mode = mode;
            L->left = 12 + TH + 12 + namew + 12;
            L->below = 10 + (mode == FLAT        ? FER_FONT_HEIGHT * ns + 8
                             : mode == STAGGERED ? 2 * (FER_FONT_HEIGHT * ns + 8)
                                                 : namew + 8);
            L->gs = W - L->left - right;
            if (L->gs > H - GRID_TOP - L->below - 8 - TH - 12)
                L->gs = H - GRID_TOP - L->below - 8 - TH - 12;
            L->cell = L->gs / k;
            L->gs = L->cell * k;
            /* row names need the cell's height; column names 8 px apart */
            ok = L->cell >= (ns == 2 ? 22 : 10);
            for (int j = 0; ok && mode != UPRIGHT && j + 1 + mode < k; j++)
                ok = (text_w(names[j], ns) + text_w(names[j + 1 + mode], ns)) / 2 + 8 <=
                     (1 + mode) * L->cell;
            if (ok)
                return;
        }
}

int fer_plot_confusion_render(const char *const *classes, int k, const long *counts,
                              double accuracy, const char *title, fer_image *im)
{
    char names[FER_PLOT_MAXK][NAME_CHARS + 4], line[256];
    int W = FER_PLOT_CONFUSION_W, H = FER_PLOT_CONFUSION_H, cell, gx, gy, gs, ns, bar_x, y;
    layout L;
    long total = 0, diag = 0;
    fer_plot_ticks t;
    memset(im, 0, sizeof *im);
    if (k < 1 || k > FER_PLOT_MAXK)
        return fer_seterr("%d classes, expected 1..%d", k, FER_PLOT_MAXK);
    for (int i = 0; i < k * k; i++) {
        if (counts[i] < 0)
            return fer_seterr("confusion matrix: count %ld < 0", counts[i]);
        total += counts[i];
        if (i % (k + 1) == 0)
            diag += counts[i];
    }
    if (!(accuracy >= 0 && accuracy <= 1))
        return fer_seterr("accuracy %g: not in 0..1", accuracy);
    for (int i = 0; i < k; i++)
        fer_plot_fit(classes[i], NAME_CHARS * FER_FONT_ADVANCE, 1, names[i], sizeof names[i]);
    if (fer_plot_canvas(im, W, H))
        return fer_seterr("out of memory");
    y = fer_plot_title(im, 12, title ? title : "confusion matrix", fer_plot_black) + 8;
    snprintf(line, sizeof line, "accuracy %.2f%% (%ld of %ld images)", 100 * accuracy, diag,
             total);
    fer_plot_title(im, y, line, fer_plot_dim);

    /* left: "true class" upright, the names; right: the colour scale, its
     * labels and its title upright; below: the names, "predicted class" */
    plan(&L, names, k, W, H);
    gx = L.left;
    gy = GRID_TOP;
    cell = L.cell;
    gs = L.gs;
    ns = L.ns;

    for (int i = 0; i < k; i++) {
        long row = 0;
        for (int j = 0; j < k; j++)
            row += counts[i * k + j];
        for (int j = 0; j < k; j++) {
            double share = row ? (double)counts[i * k + j] / row : 0;
            fer_colour c = fer_plot_heat(share);
            fer_draw_fill(im, gx + j * cell, gy + i * cell, cell, cell, c);
            cell_text(im, gx + j * cell, gy + i * cell, cell, counts[i * k + j], share, c);
        }
    }
    /* thin white lines between the cells, a frame around them */
    for (int i = 1; i < k; i++) {
        fer_draw_fill(im, gx + i * cell, gy, 1, gs, fer_plot_white);
        fer_draw_fill(im, gx, gy + i * cell, gs, 1, fer_plot_white);
    }
    fer_draw_rect(im, gx - 1, gy - 1, gs + 2, gs + 2, 1, fer_plot_black);
    for (int i = 0; i < k; i++) {
        int c = gy + i * cell + cell / 2, x = gx + i * cell + cell / 2;
        fer_plot_text_right(im, gx - 12, c - 7 * ns / 2, names[i], ns, fer_plot_black);
        fer_draw_fill(im, gx - 7, c, 6, 1, fer_plot_black);
        fer_draw_fill(im, x, gy + gs + 1, 1, 6, fer_plot_black);
        if (L.mode == UPRIGHT)      /* read upwards, ending under the grid */
            fer_plot_text_up(im, x - 7 * ns / 2, gy + gs + 10 + text_w(names[i], ns) / 2,
                             names[i], ns, fer_plot_black);
        else
            fer_plot_text_centre(im, x,
                                 gy + gs + 10 + (L.mode == STAGGERED && i % 2) *
                                                    (FER_FONT_HEIGHT * ns + 8),
                                 names[i], ns, fer_plot_black);
    }
    fer_plot_text_up(im, 12, gy + gs / 2, "true class", S, fer_plot_black);
    fer_plot_text_centre(im, gx + gs / 2, gy + gs + L.below + 8, "predicted class", S,
                         fer_plot_black);

    /* the colour scale: 0 at the bottom, 1 at the top */
    bar_x = gx + gs + 30;
    for (int r = 0; r < gs; r++)
        fer_draw_fill(im, bar_x, gy + r, 24, 1, fer_plot_heat(1 - (double)r / (gs - 1)));
    fer_draw_rect(im, bar_x - 1, gy - 1, 26, gs + 2, 1, fer_plot_black);
    fer_plot_nice_ticks(0, 1, 5, 0, &t);
    for (int i = 0; i < t.n; i++) {
        int r = gy + (int)lround((1 - fer_plot_tick(&t, i)) * (gs - 1));
        snprintf(line, sizeof line, "%.0f%%", 100 * fer_plot_tick(&t, i));
        fer_draw_fill(im, bar_x + 25, r, 6, 1, fer_plot_black);
        fer_draw_text(im, bar_x + 34, r - CAP / 2, line, S, fer_plot_black);
    }
    fer_plot_text_up(im, bar_x + 34 + text_w("100%", S) + 14, gy + gs / 2,
                     "share of the true class", S, fer_plot_black);
    return 0;
}

int fer_plot_confusion(const char *const *classes, int k, const long *counts, double accuracy,
                       const char *png_path, const char *title)
{
    fer_image im;
    int rc;
    if (fer_plot_confusion_render(classes, k, counts, accuracy, title, &im))
        return fer_error_prefix("%s", png_path);
    rc = fer_image_write_png(png_path, &im);
    fer_image_free(&im);
    return rc;
}
