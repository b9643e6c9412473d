/* plot.c: training curves, loss and accuracy per epoch, from fer-train's
 * logs (see plot.h). The confusion matrix is drawn by plot_confusion.c,
 * the anneal log by plot_anneal.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "font.h"
#include "plot.h"
#include "plot_axes.h"

#define TH (FER_FONT_HEIGHT * FER_PLOT_TEXT)
#define MARKS_MAX 40        /* epochs (of all logs) up to which points get markers */
#define LOGS_MAX 16
#define LEGEND_CHARS 28     /* longer names are cut in the middle */

/* Finite minimum and maximum of the panel's values over every log. */
static void range(const fer_plot_epochs *logs, int n, int acc, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int l = 0; l < n; l++)
        for (int i = 0; i < logs[l].n; i++) {
            double v[2] = {acc ? logs[l].train_acc[i] : logs[l].train_loss[i],
                           acc ? logs[l].val_acc[i] : logs[l].val_loss[i]};
            for (int j = 0; j < 2; j++)
                if (isfinite(v[j])) {
                    *lo = v[j] < *lo ? v[j] : *lo;
                    *hi = v[j] > *hi ? v[j] : *hi;
                }
        }
    if (*lo > *hi)
        *lo = 0, *hi = 1;
}

static int has_val(const fer_plot_epochs *log)
{
    for (int i = 0; i < log->n; i++)
        if (isfinite(log->val_loss[i]) || isfinite(log->val_acc[i]))
            return 1;
    return 0;
}

/* One panel: loss (acc 0) or accuracy (acc 1) per epoch; a marker at
 * each point when marks is set. */
static void panel(fer_image *im, const fer_plot_epochs *logs, int n, int acc, int marks, int x,
                  int y, int w, int h, double e0, double e1)
{
    fer_plot_axes a;
    fer_plot_ticks tx, ty;
    double lo, hi;
    range(logs, n, acc, &lo, &hi);
    fer_plot_text_centre(im, x + w / 2, y, acc ? "accuracy per epoch" : "loss per epoch",
                         FER_PLOT_TEXT, fer_plot_black);
    fer_plot_layout(&a, &tx, &ty, x, y + TH + 10, w, h - TH - 10, e0, e1, 1, lo, hi, 0);
    fer_plot_frame(im, &a, &tx, &ty, "epoch", acc ? "accuracy" : "loss");
    for (int l = 0; l < n; l++) {
        const fer_plot_epochs *g = &logs[l];
        const double *tr = acc ? g->train_acc : g->train_loss, *va = acc ? g->val_acc : g->val_loss;
        fer_colour ct = fer_plot_colour(n == 1 ? 0 : l), cv = fer_plot_colour(n == 1 ? 1 : l);
        fer_plot_series(im, &a, g->epoch, va, g->n, 2, n > 1, marks ? FER_PLOT_SQUARE : -1, cv);
        fer_plot_series(im, &a, g->epoch, tr, g->n, 2, 0, marks ? FER_PLOT_DISC : -1, ct);
    }
}

int fer_plot_train_render(const fer_plot_epochs *logs, const char *const *names, int n,
                          const char *title, fer_image *im)
{
    fer_plot_key keys[LOGS_MAX + 2];
    char deftitle[256], cut[LOGS_MAX][LEGEND_CHARS + 1];
    int nk = 0, y, total = 0, marks, val = 0, W = FER_PLOT_CURVES_W, H = FER_PLOT_CURVES_H;
    double e0 = INFINITY, e1 = -INFINITY;
    memset(im, 0, sizeof *im);
    if (n < 1 || n > LOGS_MAX)
        return fer_seterr("%d logs, expected 1..%d", n, LOGS_MAX);
    for (int l = 0; l < n; l++) {
        if (logs[l].n < 1)
            return fer_seterr("%s: no epochs", names[l]);
        e0 = logs[l].epoch[0] < e0 ? logs[l].epoch[0] : e0;
        e1 = logs[l].epoch[logs[l].n - 1] > e1 ? logs[l].epoch[logs[l].n - 1] : e1;
        total += logs[l].n;
        val |= has_val(&logs[l]);
    }
    marks = total <= MARKS_MAX;
    if (fer_plot_canvas(im, W, H))
        return fer_seterr("out of memory");
    if (!title) {
        if (n == 1)
            snprintf(deftitle, sizeof deftitle, "training curves: %s", names[0]);
        else
            snprintf(deftitle, sizeof deftitle, "training curves of %d runs", n);
        title = deftitle;
    }
    y = fer_plot_title(im, 12, title, fer_plot_black) + 12;
    if (n == 1) {
        keys[nk++] = (fer_plot_key){"train", fer_plot_colour(0), 1, marks ? FER_PLOT_DISC : -1};
        if (val)
            keys[nk++] = (fer_plot_key){"validation", fer_plot_colour(1), 1,
                                        marks ? FER_PLOT_SQUARE : -1};
    } else {
        for (int l = 0; l < n; l++) {
            size_t len = strlen(names[l]), head = (LEGEND_CHARS - 3) / 2;
            if (len > LEGEND_CHARS)     /* keep both ends: runs differ in either */
                snprintf(cut[l], sizeof cut[l], "%.*s...%s", (int)head, names[l],
                         names[l] + len - (LEGEND_CHARS - 3 - head));
            else
                snprintf(cut[l], sizeof cut[l], "%s", names[l]);
            keys[nk++] = (fer_plot_key){cut[l], fer_plot_colour(l), 1, -1};
        }
        keys[nk++] = (fer_plot_key){"train", fer_plot_dim, 1, marks ? FER_PLOT_DISC : -1};
        if (val)
            keys[nk++] = (fer_plot_key){"validation", fer_plot_dim, 2,
                                        marks ? FER_PLOT_SQUARE : -1};
    }
    y = fer_plot_legend(im, y, keys, nk) + 10;
    panel(im, logs, n, 0, marks, 10, y, W / 2 - 20, H - y - 10, e0, e1);
    panel(im, logs, n, 1, marks, W / 2 + 10, y, W / 2 - 20, H - y - 10, e0, e1);
    return 0;
}

int fer_plot_train_log(const char *const *csv_paths, int n, const char *png_path,
                       const char *title)
{
    fer_plot_epochs logs[LOGS_MAX];
    const char *names[LOGS_MAX];
    fer_image im;
    int rc = -1, got = 0;
    if (n < 1 || n > LOGS_MAX)
        return fer_seterr("%s: %d logs, expected 1..%d", png_path, n, LOGS_MAX);
    for (; got < n; got++) {
        char *buf;
        size_t len;
        const char *name = strcmp(csv_paths[got], "-") ? csv_paths[got] : "stdin";
        if (fer_plot_slurp(csv_paths[got], &buf, &len))
            goto out;
        rc = fer_plot_read_train(buf, len, name, &logs[got]);
        free(buf);
        if (rc)
            goto out;
        rc = -1;
    }
    fer_plot_names(csv_paths, n, names);
    if (fer_plot_train_render(logs, names, n, title, &im))
        goto out;
    rc = fer_image_write_png(png_path, &im);
    fer_image_free(&im);
out:
    for (int i = 0; i < got; i++)
        fer_plot_epochs_free(&logs[i]);
    return rc;
}
