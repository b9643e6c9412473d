/* fer-plot: pictures of fer-train's and fer-anneal's logs and of fer-eval's
 * confusion matrix, as PNG files. See man/fer-plot.1. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "plot.h"
#include "util.h"

/* one line and exit: 1 for errors, 2 for usage (util.h) */
#define die fer_cmd_fail

#define FILES_MAX 16

static const char *prog = "fer-plot";

static void usage(int status) __attribute__((noreturn));
static void usage(int status)
{
    fprintf(status ? stderr : stdout,
            "usage: fer-plot [-o out.png] [--title text] [--kind curves|confusion|anneal] "
            "[file ...]\n");
    exit(status);
}

static const char *kind_name[] = {"curves", "confusion", "anneal"};

/* The default output: the first input's base name, its extension replaced
 * by .png, in the current directory; for standard input the kind's name. */
static char *default_output(const char *path, int kind)
{
    const char *base = strcmp(path, "-") ? fer_plot_basename(path) : kind_name[kind];
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    char *out = malloc(n + 5);
    if (!out)
        die(1, "out of memory");
    memcpy(out, base, n);
    memcpy(out + n, ".png", 5);
    return out;
}

/* The line of the first byte that is not blank, for "not a log" messages. */
static long first_line(const char *buf, size_t n)
{
    long line = 1;
    for (size_t i = 0; i < n && strchr(" \t\r\n", buf[i]) && buf[i]; i++)
        line += buf[i] == '\n';
    return line;
}

int main(int argc, char **argv)
{
    fer_cmd = prog;
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"title", required_argument, 0, 't'},
        {"kind", required_argument, 0, 'k'},   {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},      {0, 0, 0, 0}};
    /* names: what the pictures call the inputs; shown: what messages do */
    const char *out = NULL, *title = NULL, *paths[FILES_MAX], *names[FILES_MAX];
    const char *shown[FILES_MAX];
    char *bufs[FILES_MAX], *defout = NULL;
    size_t lens[FILES_MAX];
    int kind = FER_PLOT_UNKNOWN, n, c, rc, stdin_seen = 0;
    fer_image im;

    while ((c = getopt_long(argc, argv, "o:t:k:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 't': title = optarg; break;
        case 'k':
            for (kind = 0; kind < 3 && strcmp(optarg, kind_name[kind]); kind++)
                ;
            if (kind == 3) {
                fprintf(stderr, "%s: --kind: '%s': use curves, confusion or anneal\n", prog,
                        optarg);
                exit(2);
            }
            break;
        case 'h': usage(0);
        case 'V':
            puts("fer-plot 0.1");
            return fflush(stdout) || ferror(stdout) ? 1 : 0;
        default: usage(2);
        }
    }
    n = argc - optind;
    if (n > FILES_MAX) {
        fprintf(stderr, "%s: at most %d files\n", prog, FILES_MAX);
        exit(2);
    }
    for (int i = 0; i < n; i++) {
        paths[i] = argv[optind + i];
        if (!strcmp(paths[i], "-") && stdin_seen++) {
            fprintf(stderr, "%s: standard input named twice\n", prog);
            exit(2);
        }
    }
    if (!n)
        paths[n++] = "-";
    for (int i = 0; i < n; i++)
        if (fer_plot_slurp(paths[i], &bufs[i], &lens[i]))
            die(1, "%s", fer_error());
    fer_plot_names(paths, n, names);
    for (int i = 0; i < n; i++)
        shown[i] = strcmp(paths[i], "-") ? paths[i] : "stdin";
    if (kind == FER_PLOT_UNKNOWN) {
        const char *name = shown[0];
        if (!lens[0])
            die(1, "%s:1: empty file", name);
        kind = fer_plot_detect(bufs[0], lens[0]);
        if (kind == FER_PLOT_UNKNOWN)
            die(1, "%s:%ld: not a training log, anneal log or fer-eval report (see --kind)", name,
                first_line(bufs[0], lens[0]));
    }
    if (n > 1 && kind != FER_PLOT_CURVES) {
        fprintf(stderr, "%s: only training logs are overlaid; %s takes one file\n", prog,
                kind_name[kind]);
        exit(2);
    }
    if (!out)
        out = defout = default_output(paths[0], kind);

    if (kind == FER_PLOT_CURVES) {
        fer_plot_epochs logs[FILES_MAX];
        for (int i = 0; i < n; i++)
            if (fer_plot_read_train(bufs[i], lens[i], shown[i], &logs[i])) {
                while (i-- > 0)
                    fer_plot_epochs_free(&logs[i]);
                die(1, "%s", fer_error());
            }
        rc = fer_plot_train_render(logs, names, n, title, &im);
        for (int i = 0; i < n; i++)
            fer_plot_epochs_free(&logs[i]);
    } else if (kind == FER_PLOT_ANNEAL) {
        fer_plot_trials g;
        if (fer_plot_read_anneal(bufs[0], lens[0], shown[0], &g))
            die(1, "%s", fer_error());
        rc = fer_plot_anneal_render(&g, names[0], title, &im);
        fer_plot_trials_free(&g);
    } else {
        static fer_plot_report report;
        fer_plot_report *r = &report;
        const char *classes[FER_PLOT_MAXK];
        char deftitle[256];
        if (fer_plot_read_report(bufs[0], lens[0], shown[0], r))
            die(1, "%s", fer_error());
        for (int i = 0; i < r->k; i++)
            classes[i] = r->classes[i];
        if (!title && strcmp(paths[0], "-")) {
            snprintf(deftitle, sizeof deftitle, "confusion matrix: %s", names[0]);
            title = deftitle;
        }
        rc = fer_plot_confusion_render(classes, r->k, r->counts, r->accuracy, title, &im);
    }
    if (rc)
        die(1, "%s: %s", shown[0], fer_error());
    if (fer_image_write_png(out, &im))
        die(1, "%s", fer_error());
    fer_image_free(&im);
    for (int i = 0; i < n; i++)
        free(bufs[i]);
    free(defout);
    return 0;
}
