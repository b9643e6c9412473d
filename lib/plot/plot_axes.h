/* plot_axes.h: the raster pieces that plot.h's pictures are made of:
 * round tick values, the mapping from data to pixels, axes with ticks and
 * labels, thick and dashed lines, markers, a legend strip, text placed by
 * its centre or right edge or turned upright, and the colours.
 *
 * Everything draws on an RGB fer_image (draw.h's rules: clipped at the
 * borders, any int coordinates) and allocates nothing. Text is fer's
 * 5x9 bitmap font (font.h) at an integer scale; FER_PLOT_TEXT is the
 * scale of every label. */
#ifndef FER_PLOT_AXES_H
#define FER_PLOT_AXES_H

#include <stddef.h>

#include "draw.h"
#include "image.h"

#define FER_PLOT_TEXT 2                     /* font scale of all text */
#define FER_PLOT_PAD 8                      /* pixels between frame and data */

/* Round ticks for data in [lo, hi]: lo and hi are widened to multiples of
 * step, so that the ticks lo, lo + step, ..., hi (n of them) cover the
 * data, and step is the smallest of 1, 2 or 5 times a power of ten that
 * needs at most `want` intervals for that (want 1..100; 2 at least for
 * a range with 0 inside). decimals is the
 * number of digits after the point that labels need (0 for steps >= 1).
 * With integer set the step is at least 1 (epochs, trials). An empty
 * range (lo == hi) is widened by 10% of |lo| (1 for 0) first; non-finite
 * or reversed bounds give 0..1. */
typedef struct fer_plot_ticks {
    double lo, hi, step;
    int n, decimals;
} fer_plot_ticks;

void fer_plot_nice_ticks(double lo, double hi, int want, int integer, fer_plot_ticks *t);

/* Tick i (0..n-1): lo + i * step, computed so that it has no rounding
 * tail, and its label ("0.65", "-1", "20") in buf of n bytes. */
double fer_plot_tick(const fer_plot_ticks *t, int i);
void fer_plot_tick_label(const fer_plot_ticks *t, int i, char *buf, size_t n);

/* A plot area: the frame (x, y, w, h) on the canvas, pixels, and the data
 * values at the left, right, bottom and top of the drawable range, which
 * lies FER_PLOT_PAD pixels inside the frame so that markers at the ends
 * are not cut by it. */
typedef struct fer_plot_axes {
    int x, y, w, h;
    double x0, x1, y0, y1;
} fer_plot_axes;

/* The column of data value vx: x + PAD + round((vx - x0) / (x1 - x0) *
 * (w - 1 - 2 PAD)); the row of vy counts up from y + h - 1 - PAD. */
int fer_plot_px(const fer_plot_axes *a, double vx);
int fer_plot_py(const fer_plot_axes *a, double vy);

/* Lays out axes inside the panel (px, py, pw, ph), which also holds the
 * tick labels and, unless flags has FER_PLOT_NO_XLABEL, the x axis's
 * label. Picks ticks for [ylo, yhi] and widens the y range to them; the x
 * range is the data's [xlo, xhi] (a single value gets 0.5, or 5%, of
 * room on either side) with the round ticks inside it (integers when xint).
 * Ticks are as many as fit without their labels crowding. Fills a with
 * the plot area left over. */
#define FER_PLOT_NO_XLABEL 1
void fer_plot_layout(fer_plot_axes *a, fer_plot_ticks *tx, fer_plot_ticks *ty, int px, int py,
                     int pw, int ph, double xlo, double xhi, int xint, double ylo, double yhi,
                     int flags);

/* Draws the axes of a: light grid lines at the ticks, the frame, tick
 * marks and their labels (x below, y on the left), xlabel centred under
 * the tick labels and ylabel upright on the left; either label may be
 * NULL. The data are drawn afterwards, over the grid. */
void fer_plot_frame(fer_image *im, const fer_plot_axes *a, const fer_plot_ticks *tx,
                    const fer_plot_ticks *ty, const char *xlabel, const char *ylabel);

/* A line from (x0, y0) to (x1, y1), both ends included, thick pixels wide:
 * the pixels of Bresenham's line, each widened to a thick x thick square
 * whose top-left corner is (thick - 1) / 2 up and left of it. */
void fer_plot_line(fer_image *im, int x0, int y0, int x1, int y1, int thick, fer_colour c);

/* The same, dashed: dash pixels on, gap off, counted in steps along the
 * line from *phase, which is updated so that a polyline's dashes run on
 * across its corners. */
void fer_plot_dashed(fer_image *im, int x0, int y0, int x1, int y1, int thick, int dash, int gap,
                     int *phase, fer_colour c);

/* A data series of n points (vx[i], vy[i]) in the axes: joined by lines
 * (dashed when dashed is set) where consecutive points are both present;
 * a point whose value is NAN breaks the line. marker is the kind drawn
 * (radius 3) at every point, or -1 for none; then a point with no present
 * neighbour gets a disc of radius 4, so that it still shows. */
void fer_plot_series(fer_image *im, const fer_plot_axes *a, const double *vx, const double *vy,
                     int n, int thick, int dashed, int marker, fer_colour c);

/* Markers centred on (x, y), radius r pixels: a filled disc, a ring (two
 * pixels wide, white inside), a filled square, a diagonal cross, a filled
 * triangle pointing up. */
enum fer_plot_marker_kind {
    FER_PLOT_DISC, FER_PLOT_RING, FER_PLOT_SQUARE, FER_PLOT_CROSS, FER_PLOT_TRIANGLE
};
void fer_plot_marker(fer_image *im, int x, int y, int kind, int r, fer_colour c);

/* One legend entry: a short line sample (solid when line is 1, dashed
 * when 2, none when 0) and/or a marker (kind, or -1 for none), then the
 * label. */
typedef struct fer_plot_key {
    const char *label;
    fer_colour c;
    int line;
    int marker;
} fer_plot_key;

/* Draws the n entries (at most 63) in rows centred on the canvas,
 * starting at row y: as few rows as fit 40 pixels inside its edges, of
 * about equal width. Returns the row below the last. */
int fer_plot_legend(fer_image *im, int y, const fer_plot_key *keys, int n);

/* Text at FER_PLOT_TEXT scale (or scale) with its top at y: centred on
 * column cx, or ending at column xr, or upright (turned a quarter left,
 * read upwards) with its left edge at x and centred on row cy. */
void fer_plot_text_centre(fer_image *im, int cx, int y, const char *s, int scale, fer_colour c);
void fer_plot_text_right(fer_image *im, int xr, int y, const char *s, int scale, fer_colour c);
void fer_plot_text_up(fer_image *im, int x, int cy, const char *s, int scale, fer_colour c);

/* Copies s into buf (n bytes) cut to at most maxw pixels at scale, ending
 * in "..." when cut. Returns buf. */
char *fer_plot_fit(const char *s, int maxw, int scale, char *buf, size_t n);

/* A title line in bold at FER_PLOT_TEXT scale with its top at row y,
 * centred on the canvas and cut to its width. Returns the row below it. */
int fer_plot_title(fer_image *im, int y, const char *s, fer_colour c);

/* A white canvas of w x h, RGB. 0 or -1 (out of memory). */
int fer_plot_canvas(fer_image *im, int w, int h);

/* Series colour i (wraps after 8): blue, orange, green, red, purple,
 * brown, magenta, gray; far apart and dark enough for white paper. */
fer_colour fer_plot_colour(int i);

/* The colour of v in 0..1 (clamped; NAN as 0) on the heat map: near white
 * at 0 through light blue to dark blue at 1, each channel non-increasing,
 * so that darker always means more. */
fer_colour fer_plot_heat(double v);

/* Named colours. */
extern const fer_colour fer_plot_black, fer_plot_white, fer_plot_grid, fer_plot_dim;

#endif
