/* fuzz_logs: the CSV logs and reports the tools read back (plot_log.h:
 * fer-plot's training logs, anneal logs and fer-eval reports; anneal_log.h:
 * the rows fer-anneal --resume replays). A row that parses is formatted,
 * parsed again and formatted to the same line. */
#include "fuzz.h"   /* first: it asks for memfd_create */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "anneal_log.h"
#include "plot_log.h"

static void rows(const char *text)
{
    const char *p = text;
    int first = 1;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char *line = malloc(len + 1);
        fer_anneal_row r, b;
        if (!line)
            return;
        memcpy(line, p, len);
        line[len] = 0;
        if (first)
            (void)fer_anneal_header_check(line);
        first = 0;
        if (fer_anneal_row_parse(line, &r) == 0) {
            /* the log rounds (scores to 6 decimals): a row written once
             * reads back to one that writes the same line */
            char *out = fer_anneal_row_format(&r), *again;
            if (out) {
                if (fer_anneal_row_parse(out, &b))
                    abort();
                if (b.accepted != r.accepted || b.epochs_run != r.epochs_run ||
                    b.nacc != r.nacc || b.stopped_early != r.stopped_early ||
                    isnan(b.score) != isnan(r.score) || strcmp(b.status, r.status))
                    abort();
                if ((again = fer_anneal_row_format(&b))) {
                    if (strcmp(again, out))
                        abort();
                    free(again);
                }
                fer_anneal_row_free(&b);
                free(out);
            }
            fer_anneal_row_free(&r);
        }
        free(line);
        p += len + (eol != NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *buf = (const char *)data;
    fer_plot_epochs e;
    fer_plot_trials t;
    fer_plot_report rep;
    char *text;
    (void)fer_plot_detect(buf, n);
    if (fer_plot_read_train(buf, n, "fuzz.csv", &e) == 0)
        fer_plot_epochs_free(&e);
    if (fer_plot_read_anneal(buf, n, "fuzz.csv", &t) == 0)
        fer_plot_trials_free(&t);
    (void)fer_plot_read_report(buf, n, "fuzz.json", &rep);
    if ((text = malloc(n + 1))) {
        memcpy(text, data, n);
        text[n] = 0;
        rows(text);
        free(text);
    }
    return 0;
}
