/* progress.c: the status line of progress.h. */
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

int fer_progress_mode(int force, int quiet)
{
    return quiet ? FER_PROGRESS_OFF : force ? FER_PROGRESS_ON : FER_PROGRESS_AUTO;
}

void fer_progress_begin(fer_progress *p, FILE *f, int mode, const char *what, size_t total,
                        const char *unit)
{
    int on = mode == FER_PROGRESS_ON || (mode == FER_PROGRESS_AUTO && f && isatty(fileno(f)));
    p->f = on ? f : NULL;
    p->what = what ? what : "";
    p->unit = unit ? unit : "/s";
    p->total = total;
    p->t0 = now();
    p->last = -1;
    p->shown = 0;
}

void fer_progress_update(fer_progress *p, size_t done, size_t extra_after, const char *fmt, ...)
{
    char line[160], extra[80] = "";
    double t, rate;
    int n;
    if (!p->f)
        return;
    t = now();
    if (p->last >= 0 && t - p->last < 0.2 && done != p->total)
        return;
    p->last = t;
    rate = t > p->t0 ? done / (t - p->t0) : 0;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(extra, sizeof extra, fmt, ap);
        va_end(ap);
    }
    n = snprintf(line, sizeof line, "%s  %zu", p->what, done);
    if (p->total && n < (int)sizeof line) {
        double left = rate > 0 ? (p->total - (done < p->total ? done : p->total) + extra_after) / rate
                               : 0;
        n += snprintf(line + n, sizeof line - n, "/%zu  %3.0f%%  %.*f %s  ETA %dm%02ds", p->total,
                      100.0 * done / p->total, rate < 10 ? 2 : 0, rate, p->unit, (int)left / 60,
                      (int)left % 60);
    } else if (n < (int)sizeof line)
        n += snprintf(line + n, sizeof line - n, "  %.*f %s", rate < 10 ? 2 : 0, rate, p->unit);
    /* pad over the tail of a longer previous line */
    fprintf(p->f, "\r%s%s%s%-8s", line, *extra ? "  " : "", extra, "");
    fflush(p->f);
    p->shown = 1;
}

void fer_progress_end(fer_progress *p)
{
    if (p->f && p->shown) {
        fprintf(p->f, "\r%*s\r", 120, "");
        fflush(p->f);
    }
    p->shown = 0;
}
