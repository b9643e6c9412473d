/* plot_anneal.c: an annealing or random-search run, score per trial with
 * the best so far, and the temperature below (see plot.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "font.h"
#include "plot.h"
#include "plot_axes.h"

#define TH (FER_FONT_HEIGHT * FER_PLOT_TEXT)
#define R 5                 /* marker radius */

enum { ACCEPTED, REJECTED, TRIAL, STOPPED, FAILED, BEST, TEMP, NKEYS };

/* What a trial is, for its marker. */
static int status(const fer_plot_trials *g, int i)
{
    if (!isfinite(g->score[i]))
        return FAILED;
    if (g->stopped[i])
        return STOPPED;
    return g->accepted[i] == 1 ? ACCEPTED : g->accepted[i] == 0 ? REJECTED : TRIAL;
}

static void minmax(const double *v, int n, double *lo, double *hi)
{
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) {
            *lo = v[i] < *lo ? v[i] : *lo;
            *hi = v[i] > *hi ? v[i] : *hi;
        }
}

int fer_plot_anneal_render(const fer_plot_trials *g, const char *name, const char *title,
                           fer_image *im)
{
    char deftitle[256];
    static const int marker[NKEYS] = {FER_PLOT_DISC, FER_PLOT_RING,     FER_PLOT_DISC, FER_PLOT_CROSS,
                                      FER_PLOT_TRIANGLE, -1, -1};
    static const char *label[NKEYS] = {"accepted",    "rejected", "trial", "stopped early",
                                       "failed",      "best so far", "temperature"};
    fer_colour col[NKEYS] = {fer_plot_colour(0), fer_plot_colour(0), fer_plot_colour(0),
                             fer_plot_colour(1), fer_plot_colour(3), fer_plot_colour(2),
                             fer_plot_colour(4)};
    int seen[NKEYS] = {0}, nk = 0, W = FER_PLOT_ANNEAL_W, H = FER_PLOT_ANNEAL_H, y, top_h, temps;
    double slo = INFINITY, shi = -INFINITY, tlo = INFINITY, thi = -INFINITY;
    fer_plot_key keys[NKEYS];
    fer_plot_axes a, b;
    fer_plot_ticks tx, ty, bx, by;
    memset(im, 0, sizeof *im);
    if (g->n < 1)
        return fer_seterr("no trials");
    for (int i = 0; i < g->n; i++)
        seen[status(g, i)] = 1;
    minmax(g->score, g->n, &slo, &shi);
    minmax(g->best, g->n, &slo, &shi);
    minmax(g->temperature, g->n, &tlo, &thi);
    if (slo > shi)
        return fer_seterr("no trial has a score");
    seen[BEST] = 1;
    seen[TEMP] = temps = tlo <= thi;
    if (fer_plot_canvas(im, W, H))
        return fer_seterr("out of memory");
    if (!title) {
        snprintf(deftitle, sizeof deftitle, "%s%s%s", temps ? "simulated annealing" : "random search",
                 name ? ": " : "", name ? name : "");
        title = deftitle;
    }
    y = fer_plot_title(im, 12, title, fer_plot_black) + 12;
    for (int s = 0; s < NKEYS; s++)
        if (seen[s])
            keys[nk++] = (fer_plot_key){label[s], col[s], s == BEST || s == TEMP, marker[s]};
    y = fer_plot_legend(im, y, keys, nk) + 6;

    top_h = temps ? (H - y) * 58 / 100 : H - y - 6;
    fer_plot_layout(&a, &tx, &ty, 10, y, W - 20, top_h, g->trial[0], g->trial[g->n - 1], 1, slo,
                    shi, temps ? FER_PLOT_NO_XLABEL : 0);
    if (temps) {
        fer_plot_layout(&b, &bx, &by, 10, y + top_h + 4, W - 20, H - y - top_h - 10, g->trial[0],
                        g->trial[g->n - 1], 1, tlo, thi, 0);
        /* the two plot areas one above the other, the same width */
        if (b.x > a.x) {
            a.w -= b.x - a.x;
            a.x = b.x;
        } else {
            b.w -= a.x - b.x;
            b.x = a.x;
        }
        bx = tx;
        b.x0 = a.x0;
        b.x1 = a.x1;
    }
    fer_plot_frame(im, &a, &tx, &ty, temps ? NULL : "trial", "score");

    /* the best so far as steps: across to the next trial, then up */
    for (int i = 0; i < g->n; i++) {
        int x0 = fer_plot_px(&a, g->trial[i]), y0;
        if (!isfinite(g->best[i]))
            continue;
        y0 = fer_plot_py(&a, g->best[i]);
        if (i + 1 < g->n && isfinite(g->best[i + 1])) {
            int x1 = fer_plot_px(&a, g->trial[i + 1]);
            fer_plot_line(im, x0, y0, x1, y0, 2, col[BEST]);
            fer_plot_line(im, x1, y0, x1, fer_plot_py(&a, g->best[i + 1]), 2, col[BEST]);
        } else if (i + 1 == g->n) {
            fer_plot_line(im, x0, y0, x0 + 1, y0, 2, col[BEST]);
        }
    }
    for (int i = 0; i < g->n; i++) {
        int s = status(g, i), x = fer_plot_px(&a, g->trial[i]);
        int yy = s == FAILED ? a.y + a.h - 1 - FER_PLOT_PAD / 2 - R / 2 : fer_plot_py(&a, g->score[i]);
        fer_plot_marker(im, x, yy, marker[s], R, col[s]);
    }
    if (temps) {
        fer_plot_frame(im, &b, &bx, &by, "trial", "temperature");
        fer_plot_series(im, &b, g->trial, g->temperature, g->n, 2, 0, -1, col[TEMP]);
    }
    return 0;
}

int fer_plot_anneal_log(const char *csv_path, const char *png_path, const char *title)
{
    fer_plot_trials g;
    fer_image im;
    char *buf;
    size_t len;
    int rc;
    const char *name = strcmp(csv_path, "-") ? csv_path : "stdin";
    if (fer_plot_slurp(csv_path, &buf, &len))
        return -1;
    rc = fer_plot_read_anneal(buf, len, name, &g);
    free(buf);
    if (rc)
        return -1;
    rc = fer_plot_anneal_render(&g, fer_plot_basename(csv_path), title, &im);
    fer_plot_trials_free(&g);
    if (rc)
        return fer_error_prefix("%s", name);
    rc = fer_image_write_png(png_path, &im);
    fer_image_free(&im);
    return rc;
}
