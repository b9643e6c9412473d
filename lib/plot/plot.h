/* plot.h: pictures of training logs, confusion matrices and annealing
 * runs, drawn with fer's own raster code and font (draw.h, font.h) into
 * PNG files.
 *
 * Every picture has a title, axes with round ticks (steps of 1, 2 or 5
 * times a power of ten), tick labels, axis labels and a legend in a strip
 * of its own above the data (never over it), on a white background. The
 * PNG is written whole to a temporary file and renamed into place
 * (fer_image_write_png): a failure never leaves a half-written picture.
 * "-" as png_path writes standard output.
 *
 * Every function returns 0, or -1 with fer_error() naming the file and,
 * for bad input, the line: "log.csv:7: 5 fields, expected 7". title may
 * be NULL for a default made from the input. The log formats are read as
 * plot_log.h describes. */
#ifndef FER_PLOT_H
#define FER_PLOT_H

#include "image.h"
#include "plot_log.h"

/* Training curves from n >= 1 CSV logs of fer-train ("-" is standard
 * input): two panels side by side, loss per epoch and accuracy per epoch,
 * each with the training and, where the log has it, the validation curve.
 * A log of one epoch draws points. Several logs are overlaid, one colour
 * per log (training solid, validation dashed) and the legend names each
 * file (names longer than 28 characters cut in the middle). Points get
 * markers when the logs have 40 epochs or fewer in all. 900 x 600 pixels. */
int fer_plot_train_log(const char *const *csv_paths, int n, const char *png_path,
                       const char *title);

/* A confusion matrix of k classes (1..FER_PLOT_MAXK): counts is k * k,
 * row-major, counts[true * k + predicted], all >= 0. Each cell is coloured
 * by its share of its row (the row-normalised matrix, white 0 to dark blue
 * 1, with a colour scale) and shows its count and that share in percent;
 * class names run down the left ("true") and along the bottom
 * ("predicted"). The title is followed by a line with the accuracy (0..1)
 * and the number of images (the sum of counts). 1000 x 860 pixels. */
int fer_plot_confusion(const char *const *classes, int k, const long *counts, double accuracy,
                       const char *png_path, const char *title);

/* An annealing (or random-search) run from the CSV log of fer-anneal:
 * each trial's score as a point (accepted filled, rejected hollow, stopped
 * early a cross in another colour, failed trials a mark along the bottom),
 * the best score so far as a step line, and, when the log has
 * temperatures, the temperature per trial in a panel below sharing the
 * trial axis. 900 x 600 pixels. */
int fer_plot_anneal_log(const char *csv_path, const char *png_path, const char *title);

/* The same pictures from logs already read (plot_log.h), drawn into im
 * (allocated here, RGB; the caller frees it) instead of a file. names[i]
 * is what the legend and the default title call logs[i]; name (may be
 * NULL) what the anneal picture's default title calls its log. 0 or -1
 * (out of memory, or nothing to draw: a log without a single score). */
int fer_plot_train_render(const fer_plot_epochs *logs, const char *const *names, int n,
                          const char *title, fer_image *im);
int fer_plot_confusion_render(const char *const *classes, int k, const long *counts,
                              double accuracy, const char *title, fer_image *im);
int fer_plot_anneal_render(const fer_plot_trials *log, const char *name, const char *title,
                           fer_image *im);

/* Canvas sizes of the three pictures, in pixels. */
#define FER_PLOT_CURVES_W 900
#define FER_PLOT_CURVES_H 600
#define FER_PLOT_CONFUSION_W 1000
#define FER_PLOT_CONFUSION_H 860
#define FER_PLOT_ANNEAL_W 900
#define FER_PLOT_ANNEAL_H 600

#endif
