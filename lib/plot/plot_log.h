/* plot_log.h: reading the logs and reports that plot.h draws.
 *
 * Three inputs, read whole into memory first (they are small; the input
 * may be a pipe):
 *
 *  - fer-train's CSV log: a header line starting "epoch," and one row per
 *    epoch. Columns are found by name: epoch, train_loss, train_acc,
 *    val_loss and val_acc are needed, lr is read when present, others are
 *    ignored. A value "nan" (any case, with a sign), "inf" or an empty
 *    field is missing (no validation). A log appended to by a resumed run
 *    may repeat the header (each header line maps the columns anew) and
 *    repeat epochs: the last row of an epoch wins.
 *  - fer-anneal's CSV log (random search writes the same): a header line
 *    starting "trial,"; trial and score are needed; chain, accepted, best,
 *    temperature and stopped_early are read when present; others are
 *    ignored, and any of the optional ones may be empty. An empty score is
 *    a failed trial. Repeated headers as above; a repeated (chain, trial)
 *    keeps its last row.
 *  - fer-eval's report: its --format json object (keys "classes",
 *    "confusion", "accuracy", "n"; others skipped) or its text report
 *    ("accuracy ..." then the "confusion matrix" table).
 *
 * CSV lines may end in CRLF; blank lines are skipped; fields are trimmed
 * of blanks. Errors name the input and the line: "log.csv:7: 5 fields,
 * expected 7", "log.csv:4: val_acc: 'x': not a number", "r.json:2:
 * confusion row 3: 6 values, expected 7", "log.csv: empty file". */
#ifndef FER_PLOT_LOG_H
#define FER_PLOT_LOG_H

#include <stddef.h>

/* Most classes a confusion matrix may have, and the longest class name
 * (bytes, with the NUL). */
#define FER_PLOT_MAXK 32
#define FER_PLOT_NAME_MAX 32

/* Largest input read (bytes). */
#define FER_PLOT_INPUT_MAX (64L << 20)

/* One training log: n epochs in increasing order; every array has n
 * values, NAN where the log has none. One allocation, freed by
 * fer_plot_epochs_free. */
typedef struct fer_plot_epochs {
    int n;
    double *epoch;
    double *train_loss, *train_acc, *val_loss, *val_acc, *lr;
} fer_plot_epochs;

/* One annealing or random-search log: n trials sorted by trial number
 * (then chain). Arrays of n values. */
typedef struct fer_plot_trials {
    int n;
    double *trial;
    double *score;          /* NAN: a failed trial */
    double *best;           /* the best column, or the running maximum of
                               score where that is empty or absent; NAN
                               before the first score */
    double *temperature;    /* NAN where empty or absent */
    int *chain;             /* 0 where empty or absent */
    int *accepted;          /* 1, 0, or -1 where empty or absent */
    int *stopped;           /* stopped_early: 1, or 0 (also when empty) */
} fer_plot_trials;

/* A confusion matrix as fer-eval reports it. */
typedef struct fer_plot_report {
    int k;
    char classes[FER_PLOT_MAXK][FER_PLOT_NAME_MAX];
    long counts[FER_PLOT_MAXK * FER_PLOT_MAXK];     /* [true * k + predicted] */
    double accuracy;        /* the trace over the sum (the report's figure
                               when the sum is 0) */
    long n;                 /* the sum of the counts */
} fer_plot_report;

/* What an input holds, from its content. */
enum fer_plot_kind { FER_PLOT_UNKNOWN = -1, FER_PLOT_CURVES, FER_PLOT_CONFUSION, FER_PLOT_ANNEAL };

/* Reads the whole of path ("-" = standard input) into *buf (malloc'd,
 * NUL-terminated; the caller frees it) and its length into *len. 0, or -1
 * ("x.csv: No such file or directory", "x.csv: larger than 64 MiB"). */
int fer_plot_slurp(const char *path, char **buf, size_t *len);

/* The kind of the n bytes at buf: a first line "epoch,..." is a training
 * log, "trial,..." an anneal log, a JSON object with a "confusion" key or
 * a text starting "accuracy " with a "confusion matrix" line a report. */
enum fer_plot_kind fer_plot_detect(const char *buf, size_t n);

/* Parse n bytes at buf (need not be NUL-terminated); name is used in
 * messages. 0, or -1 with fer_error() set and nothing to free. */
int fer_plot_read_train(const char *buf, size_t n, const char *name, fer_plot_epochs *log);
int fer_plot_read_anneal(const char *buf, size_t n, const char *name, fer_plot_trials *log);
int fer_plot_read_report(const char *buf, size_t n, const char *name, fer_plot_report *r);

/* The name a picture calls an input by: path after its last '/', "stdin"
 * for "-". Points into path (or a static string). */
const char *fer_plot_basename(const char *path);

/* The names a legend gives n inputs: their base names, or the paths as
 * given where two base names are the same. names[i] points into paths[i]
 * (or a static string). */
void fer_plot_names(const char *const *paths, int n, const char **names);

/* Free the arrays; safe on a zeroed log. */
void fer_plot_epochs_free(fer_plot_epochs *log);
void fer_plot_trials_free(fer_plot_trials *log);

#endif
