/* progress.h: one self-overwriting status line for long-running tools.
 *
 * A tool owns the stream (stderr) and decides whether the line is shown:
 * by default only when that stream is a terminal, so a piped or redirected
 * log never gets carriage returns; --progress forces it and --quiet turns
 * it off. The line reads e.g.
 *     "augment  12800/114836  11%  5120 img/s  ETA 0m21s  loss 1.2345"
 * and is redrawn at most every 0.2 s; rates under 10 get two decimals
 * (slow steps such as whole training runs). */
#ifndef FER_PROGRESS_H
#define FER_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

enum fer_progress_mode { FER_PROGRESS_AUTO, FER_PROGRESS_ON, FER_PROGRESS_OFF };

typedef struct fer_progress {
    FILE *f;                /* NULL when off */
    const char *what;       /* the line's first word, e.g. "epoch 3/30" */
    const char *unit;       /* "img/s", "trials/h", ... */
    size_t total;           /* 0: unknown (no percentage, no ETA) */
    double t0, last;        /* start and last redraw, seconds */
    int shown;              /* a line is on the screen */
} fer_progress;

/* The mode from a tool's flags: --quiet wins over --progress. */
int fer_progress_mode(int force, int quiet);

/* Starts a line on f (stderr) for total steps; with mode AUTO only when f
 * is a terminal. what and unit must outlive p. */
void fer_progress_begin(fer_progress *p, FILE *f, int mode, const char *what, size_t total,
                        const char *unit);

/* done of total steps so far; extra (printf-style, may be NULL) is
 * appended, e.g. "loss %.4f". Redraws at most five times a second unless
 * done == total. The ETA counts extra_after more steps beyond total (the
 * epochs still to come), at the same rate. */
void fer_progress_update(fer_progress *p, size_t done, size_t extra_after, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Clears the line (the next message starts on a clean row). */
void fer_progress_end(fer_progress *p);

#endif
