/* fer-plot: pictures of fer-train's and fer-anneal's logs and of fer-eval's
 * confusion matrix, as PNG files. See man/fer-plot.1. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "opt.h"
#include "plot.h"
#include "util.h"

#define FILES_MAX 16

static const char synopsis[] =
    "usage: fer-plot [-o out.png] [--title text] [--kind curves|confusion|anneal] [file ...]\n";

static const char *const kind_name[] = {"curves", "confusion", "anneal", NULL};

/* The default output: the first input's base name, its extension replaced
 * by .png, in the current directory; for standard input the kind's name. */
static char *default_output(const char *path, int kind)
{
    const char *base = strcmp(path, "-") ? fer_plot_basename(path) : kind_name[kind];
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    char *out = malloc(n + 5);
    if (!out)
        die("out of memory");
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
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"title", required_argument, 0, 't'},
        {"kind", required_argument, 0, 'k'}, FER_CMD_LONGOPTS, {0, 0, 0, 0}};
    /* names: what the pictures call the inputs; shown: what messages do */
    const char *out = NULL, *title = NULL, *paths[FILES_MAX], *names[FILES_MAX];
    const char *shown[FILES_MAX];
    char *bufs[FILES_MAX], *defout = NULL;
    size_t lens[FILES_MAX];
    int kind = FER_PLOT_UNKNOWN, n, c, rc, stdin_seen = 0;
    fer_image im;

    fer_cmd_init("fer-plot", synopsis);
    while ((c = fer_cmd_getopt(argc, argv, "o:t:k:hV", longopts)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 't': title = optarg; break;
        case 'k': kind = fer_cmd_pick("kind", optarg, kind_name); break;
        case 'V': fer_cmd_version();
        default: usage(2);
        }
    }
    n = argc - optind;
    if (n > FILES_MAX)
        usage_error("at most %d files", FILES_MAX);
    for (int i = 0; i < n; i++) {
        paths[i] = argv[optind + i];
        if (!strcmp(paths[i], "-") && stdin_seen++)
            usage_error("standard input named twice");
    }
    if (!n)
        paths[n++] = "-";
    for (int i = 0; i < n; i++)
        if (fer_plot_slurp(paths[i], &bufs[i], &lens[i]))
            die("%s", fer_error());
    fer_plot_names(paths, n, names);
    for (int i = 0; i < n; i++)
        shown[i] = strcmp(paths[i], "-") ? paths[i] : "stdin";
    if (kind == FER_PLOT_UNKNOWN) {
        const char *name = shown[0];
        if (!lens[0])
            die("%s:1: empty file", name);
        kind = fer_plot_detect(bufs[0], lens[0]);
        if (kind == FER_PLOT_UNKNOWN)
            die("%s:%ld: not a training log, anneal log or fer-eval report (see --kind)", name,
                first_line(bufs[0], lens[0]));
    }
    if (n > 1 && kind != FER_PLOT_CURVES)
        usage_error("only training logs are overlaid; %s takes one file", kind_name[kind]);
    if (!out)
        out = defout = default_output(paths[0], kind);

    if (kind == FER_PLOT_CURVES) {
        fer_plot_epochs logs[FILES_MAX];
        for (int i = 0; i < n; i++)
            if (fer_plot_read_train(bufs[i], lens[i], shown[i], &logs[i])) {
                while (i-- > 0)
                    fer_plot_epochs_free(&logs[i]);
                die("%s", fer_error());
            }
        rc = fer_plot_train_render(logs, names, n, title, &im);
        for (int i = 0; i < n; i++)
            fer_plot_epochs_free(&logs[i]);
    } else if (kind == FER_PLOT_ANNEAL) {
        fer_plot_trials g;
        if (fer_plot_read_anneal(bufs[0], lens[0], shown[0], &g))
            die("%s", fer_error());
        rc = fer_plot_anneal_render(&g, names[0], title, &im);
        fer_plot_trials_free(&g);
    } else {
        static fer_plot_report report;
        fer_plot_report *r = &report;
        const char *classes[FER_PLOT_MAXK];
        char deftitle[256];
        if (fer_plot_read_report(bufs[0], lens[0], shown[0], r))
            die("%s", fer_error());
        for (int i = 0; i < r->k; i++)
            classes[i] = r->classes[i];
        if (!title && strcmp(paths[0], "-")) {
            snprintf(deftitle, sizeof deftitle, "confusion matrix: %s", names[0]);
            title = deftitle;
        }
        rc = fer_plot_confusion_render(classes, r->k, r->counts, r->accuracy, title, &im);
    }
    if (rc)
        die("%s: %s", shown[0], fer_error());
    if (fer_image_write_png(out, &im))
        die("%s", fer_error());
    fer_image_free(&im);
    for (int i = 0; i < n; i++)
        free(bufs[i]);
    free(defout);
    return 0;
}
