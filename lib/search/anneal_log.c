/* anneal_log.c: fer-anneal's log rows, written and read back. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anneal_log.h"
#include "error.h"
#include "optim.h"
#include "parse.h"

/* "%.6f" of x, or "" for NAN */
static const char *fix6(double x, char *buf, size_t n)
{
    if (isnan(x))
        return "";
    snprintf(buf, n, "%.6f", x);
    return buf;
}

char *fer_anneal_row_format(const fer_anneal_row *r)
{
    size_t cap = 512 + 10 * (size_t)(r->nacc > 0 ? r->nacc : 0), k;
    char *s = malloc(cap), lr[32], sc[32], cu[32], be[32], te[32] = "", st[32] = "", ac[16] = "";
    if (!s)
        return NULL;
    fer_anneal_format_exact(r->t.p.lr, lr, sizeof lr);
    if (!isnan(r->t.temperature))
        snprintf(te, sizeof te, "%.6g", r->t.temperature);
    if (!isnan(r->start))
        snprintf(st, sizeof st, "%.2f", r->start);
    if (r->accepted >= 0)
        snprintf(ac, sizeof ac, "%d", r->accepted);
    k = snprintf(s, cap, "%d,%d,%s,%d,%d,%s,%s,%s,%s,%s,%s,%.2f,%d,%d,%s,%s,", r->t.trial,
                 r->t.chain, lr, r->t.p.epochs, r->t.p.batch, fer_optim_name(r->t.p.optim),
                 fix6(r->score, sc, sizeof sc), ac, fix6(r->current, cu, sizeof cu),
                 fix6(r->best, be, sizeof be), te, r->seconds, r->stopped_early, r->epochs_run,
                 r->status, st);
    for (int i = 0; i < r->nacc && k < cap; i++)
        k += snprintf(s + k, cap - k, "%s%.6f", i ? " " : "", r->acc[i]);
    if (k + 2 > cap) { /* cannot happen with the sizes above */
        free(s);
        return NULL;
    }
    s[k++] = '\n';
    s[k] = 0;
    return s;
}

/* A number in [lo, hi], or NAN for an empty field when empty_ok. */
static int num(const char *name, const char *f, double lo, double hi, int empty_ok, double *v)
{
    if (!*f && empty_ok) {
        *v = NAN;
        return 0;
    }
    if (fer_parse_double(f, lo, hi, v))
        return fer_error_prefix("%s", name);
    return 0;
}

static int whole(const char *name, const char *f, long lo, long hi, int *v)
{
    long x;
    if (fer_parse_long(f, lo, hi, &x))
        return fer_error_prefix("%s", name);
    *v = (int)x;
    return 0;
}

int fer_anneal_row_parse(const char *line, fer_anneal_row *r)
{
    char *buf, *f[FER_ANNEAL_LOG_FIELDS + 1];
    size_t len = strcspn(line, "\r\n");
    int n = 0, rc = -1;
    memset(r, 0, sizeof *r);
    if (!(buf = malloc(len + 1)))
        return fer_seterr("out of memory");
    memcpy(buf, line, len);
    buf[len] = 0;
    for (char *p = buf; n <= FER_ANNEAL_LOG_FIELDS; p++) {
        f[n++] = p;
        if (!(p = strchr(p, ',')))
            break;
        *p = 0;
    }
    if (n != FER_ANNEAL_LOG_FIELDS) {
        if (n > FER_ANNEAL_LOG_FIELDS)
            fer_seterr("more than %d fields", FER_ANNEAL_LOG_FIELDS);
        else
            fer_seterr("%d fields, expected %d", n, FER_ANNEAL_LOG_FIELDS);
        goto out;
    }
    if (whole("trial", f[0], 1, FER_ANNEAL_ITERS_MAX, &r->t.trial) ||
        whole("chain", f[1], 1, FER_ANNEAL_CHAINS_MAX, &r->t.chain) ||
        num("lr", f[2], 0, 100, 0, &r->t.p.lr) ||
        whole("epochs", f[3], 1, 100000, &r->t.p.epochs) ||
        whole("batch", f[4], 2, 65536, &r->t.p.batch))
        goto out;
    if (!(r->t.p.lr > 0)) {
        fer_seterr("lr: '%s': must be above 0", f[2]);
        goto out;
    }
    if ((r->t.p.optim = fer_optim_parse(f[5])) < 0) {
        fer_seterr("optim: '%s': not sgd, adam or adamw", f[5]);
        goto out;
    }
    if (num("score", f[6], 0, 1, 1, &r->score))
        goto out;
    if (!*f[7])
        r->accepted = -1;
    else if (whole("accepted", f[7], 0, 1, &r->accepted))
        goto out;
    if (num("current", f[8], 0, 1, 1, &r->current) || num("best", f[9], 0, 1, 1, &r->best) ||
        num("temperature", f[10], 0, 1e300, 1, &r->t.temperature) ||
        num("seconds", f[11], 0, 1e12, 0, &r->seconds) ||
        whole("stopped_early", f[12], 0, 1, &r->stopped_early) ||
        whole("epochs_run", f[13], 0, 100000, &r->epochs_run))
        goto out;
    if (!*f[14] || strlen(f[14]) >= sizeof r->status ||
        strspn(f[14], "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(f[14])) {
        fer_seterr("status: '%s': not a word", f[14]);
        goto out;
    }
    strcpy(r->status, f[14]);
    if (num("start", f[15], 0, 1e12, 1, &r->start))
        goto out;
    if (*f[16]) {
        double best = -1;
        if (!(r->acc = malloc((strlen(f[16]) / 2 + 1) * sizeof *r->acc))) {
            fer_seterr("out of memory");
            goto out;
        }
        /* one blank between values, as written: an empty one is an error */
        for (char *p = f[16], *q; p; p = q) {
            if ((q = strchr(p, ' ')))
                *q++ = 0;
            if (num("val_acc", p, 0, 1, 0, &r->acc[r->nacc]))
                goto out;
            if (r->acc[r->nacc] > best)
                best = r->acc[r->nacc];
            r->nacc++;
        }
        if (r->nacc != r->epochs_run) {
            fer_seterr("val_acc: %d values for %d epochs", r->nacc, r->epochs_run);
            goto out;
        }
        if (isnan(r->score) || fabs(best - r->score) > 5e-7) {
            fer_seterr("score: %s, the best val_acc is %.6f", f[6], best);
            goto out;
        }
    } else if (!isnan(r->score)) {
        fer_seterr("score without val_acc");
        goto out;
    }
    rc = 0;
out:
    free(buf);
    if (rc)
        fer_anneal_row_free(r);
    return rc;
}

void fer_anneal_row_free(fer_anneal_row *r)
{
    free(r->acc);
    r->acc = NULL;
    r->nacc = 0;
}

int fer_anneal_header_check(const char *line)
{
    size_t len = strcspn(line, "\r\n");
    if (len != strlen(FER_ANNEAL_LOG_HEADER) || strncmp(line, FER_ANNEAL_LOG_HEADER, len))
        return fer_seterr("not a fer-anneal log: the header is not " FER_ANNEAL_LOG_HEADER);
    return 0;
}
