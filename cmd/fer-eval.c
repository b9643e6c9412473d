/* fer-eval: accuracy, confusion matrix and per-class precision, recall and
 * F1 of a model on a labelled data set. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "error.h"
#include "json.h"
#include "load.h"
#include "metrics.h"
#include "model.h"
#include "opt.h"
#include "outfile.h"
#include "plot.h"
#include "predict.h"
#include "progress.h"
#include "record.h"
#include "threads.h"
#include "util.h"

static const char synopsis[] =
    "usage: fer-eval -m model.fer [-m model2.fer ...] [-i data.fer] [--usage NAME]\n"
    "                [--format text|csv|json] [--predictions FILE]\n"
    "                [--tta none|flip|flipcrop|crop10] [--plot FILE.png]\n"
    "                [--batch N] [--threads N] [--progress]\n"
    "                [--quiet] [--precision fp32|tf32|bf16] [--device cpu|cuda[:N]]\n"
    "                [--gemm ours|cublas]\n";

static void print_text(FILE *f, const fer_metrics *m, char names[][FER_CLASS_NAME_MAX])
{
    int w = 12;
    fprintf(f, "accuracy %.4f (%ld of %ld)\n\n", m->accuracy,
            (long)(m->accuracy * m->n + 0.5), m->n);
    fprintf(f, "confusion matrix (rows: true class, columns: predicted)\n%*s", w, "");
    for (int j = 0; j < m->k; j++)
        fprintf(f, " %8.8s", names[j]);
    fprintf(f, "\n");
    for (int i = 0; i < m->k; i++) {
        fprintf(f, "%*s", w, names[i]);
        for (int j = 0; j < m->k; j++)
            fprintf(f, " %8ld", m->cm[i][j]);
        fprintf(f, "\n");
    }
    fprintf(f, "\n%*s %9s %9s %9s %9s\n\n", w, "", "precision", "recall", "f1-score", "support");
    for (int i = 0; i < m->k; i++)
        fprintf(f, "%*s %9.4f %9.4f %9.4f %9ld\n", w, names[i], m->precision[i], m->recall[i],
                m->f1[i], m->support[i]);
    fprintf(f, "\n%*s %9s %9s %9.4f %9ld\n", w, "accuracy", "", "", m->accuracy, m->n);
    fprintf(f, "%*s %9.4f %9.4f %9.4f %9ld\n", w, "macro avg", m->macro_p, m->macro_r,
            m->macro_f1, m->n);
    fprintf(f, "%*s %9.4f %9.4f %9.4f %9ld\n", w, "weighted avg", m->weighted_p, m->weighted_r,
            m->weighted_f1, m->n);
}

static void print_csv(FILE *f, const fer_metrics *m, char names[][FER_CLASS_NAME_MAX])
{
    fprintf(f, "class,precision,recall,f1-score,support\n");
    for (int i = 0; i < m->k; i++)
        fprintf(f, "%s,%.6f,%.6f,%.6f,%ld\n", names[i], m->precision[i], m->recall[i], m->f1[i],
                m->support[i]);
    fprintf(f, "macro avg,%.6f,%.6f,%.6f,%ld\n", m->macro_p, m->macro_r, m->macro_f1, m->n);
    fprintf(f, "weighted avg,%.6f,%.6f,%.6f,%ld\n", m->weighted_p, m->weighted_r, m->weighted_f1,
            m->n);
    fprintf(f, "accuracy,,,%.6f,%ld\n", m->accuracy, m->n);
}

static void print_json(FILE *f, const fer_metrics *m, char names[][FER_CLASS_NAME_MAX])
{
    fprintf(f, "{\"accuracy\": %.6f, \"n\": %ld, \"classes\": [", m->accuracy, m->n);
    for (int i = 0; i < m->k; i++) {
        fputs(i ? ", " : "", f);
        fer_json_string(f, names[i]);
    }
    fprintf(f, "],\n \"confusion\": [");
    for (int i = 0; i < m->k; i++) {
        fprintf(f, "%s[", i ? ", " : "");
        for (int j = 0; j < m->k; j++)
            fprintf(f, "%s%ld", j ? ", " : "", m->cm[i][j]);
        fprintf(f, "]");
    }
    fprintf(f, "],\n \"per_class\": {");
    for (int i = 0; i < m->k; i++) {
        fprintf(f, "%s\n  ", i ? "," : "");
        fer_json_string(f, names[i]);
        fprintf(f, ": {\"precision\": %.6f, \"recall\": %.6f, \"f1-score\": %.6f, "
                "\"support\": %ld}", m->precision[i], m->recall[i], m->f1[i], m->support[i]);
    }
    fprintf(f, "},\n \"macro avg\": {\"precision\": %.6f, \"recall\": %.6f, \"f1-score\": %.6f, "
            "\"support\": %ld},\n", m->macro_p, m->macro_r, m->macro_f1, m->n);
    fprintf(f, " \"weighted avg\": {\"precision\": %.6f, \"recall\": %.6f, \"f1-score\": %.6f, "
            "\"support\": %ld}}\n", m->weighted_p, m->weighted_r, m->weighted_f1, m->n);
}

/* The confusion matrix as a picture (plot.h), titled with the models and
 * the data it is of. */
static int plot(const char *path, const fer_metrics *m, char names[][FER_CLASS_NAME_MAX],
                const char *const *models, int nmodels, const char *data, int tta)
{
    static long counts[FER_METRICS_MAXK * FER_METRICS_MAXK];
    const char *classes[FER_METRICS_MAXK];
    char title[256];
    size_t len = 0;
    for (int i = 0; i < m->k; i++) {
        classes[i] = names[i];
        for (int j = 0; j < m->k; j++)
            counts[i * m->k + j] = m->cm[i][j];
    }
    title[0] = 0;
    for (int i = 0; i < nmodels && len < sizeof title; i++)
        len += (size_t)snprintf(title + len, sizeof title - len, "%s%s", i ? " + " : "",
                                fer_plot_basename(models[i]));
    if (len < sizeof title)
        snprintf(title + len, sizeof title - len, " on %s%s%s%s", fer_plot_basename(data),
                 tta ? " (" : "", tta ? fer_tta_name(tta) : "", tta ? " TTA)" : "");
    return fer_plot_confusion(classes, m->k, counts, m->accuracy, path, title);
}

/* Per-image probabilities: CSV (index,label,pred,p_<class>...) when the
 * name ends in .csv, else fer records "probs" f32 (n, k) and "labels". */
static int write_predictions(const char *path, const float *probs, const int32_t *truth,
                             const int32_t *pred, size_t n, int k,
                             char names[][FER_CLASS_NAME_MAX])
{
    fer_outfile o;
    size_t len = strlen(path);
    if (fer_outfile_open(&o, path))
        return -1;
    if (len > 4 && !strcmp(path + len - 4, ".csv")) {
        fprintf(o.f, "index,label,pred");
        for (int j = 0; j < k; j++)
            fprintf(o.f, ",p_%s", names[j]);
        fprintf(o.f, "\n");
        for (size_t i = 0; i < n; i++) {
            fprintf(o.f, "%zu,%d,%d", i, (int)truth[i], (int)pred[i]);
            for (int j = 0; j < k; j++)
                fprintf(o.f, ",%.6g", probs[i * k + j]);
            fprintf(o.f, "\n");
        }
    } else {
        fer_record r;
        uint64_t s2[2] = {n, (uint64_t)k}, s1[1] = {n};
        char meta[FER_CLASSES_MAX * (FER_CLASS_NAME_MAX + 1) + 64], *p = meta;
        p += sprintf(p, "softmax=1\nclasses=");
        for (int j = 0; j < k; j++)
            p += sprintf(p, "%s%s", j ? "," : "", names[j]);
        sprintf(p, "\n");
        fer_record_init(&r, "probs", FER_F32, 2, s2, probs, meta);
        if (fer_record_write(o.f, &r))
            goto fail;
        fer_record_init(&r, "labels", FER_I32, 1, s1, truth, NULL);
        if (fer_record_write(o.f, &r))
            goto fail;
    }
    return fer_outfile_commit(&o);
fail:
    fer_outfile_abort(&o);
    return -1;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'}, {"input", required_argument, 0, 'i'},
        {"usage", required_argument, 0, 'u'}, {"format", required_argument, 0, 'f'},
        {"predictions", required_argument, 0, 'p'}, {"tta", required_argument, 0, 't'},
        {"batch", required_argument, 0, 'b'}, {"threads", required_argument, 0, 'T'},
        {"plot", required_argument, 0, 'P'}, {"progress", no_argument, 0, 'R'},
        {"quiet", no_argument, 0, 'q'}, {"precision", required_argument, 0, 'F'},
        {"device", required_argument, 0, 'D'}, {"gemm", required_argument, 0, 'G'},
        FER_CMD_LONGOPTS, {0, 0, 0, 0}};
    static const char *const formats[] = {"text", "csv", "json", NULL};
    const char *models[16], *in = "-", *format = "text", *predpath = NULL, *plotpath = NULL;
    const char *precision = "fp32", *device = NULL, *gemm = NULL;
    int nmodels = 0, c, tta = 0, k = 0, force_progress = 0, quiet = 0;
    fer_progress bar;
    char what[32];
    long batch = 256, threads = 0;
    unsigned usages = 0;
    fer_dataset d;
    float *probs = NULL, *acc;
    int32_t *pred;
    fer_metrics met;
    char names[FER_CLASSES_MAX][FER_CLASS_NAME_MAX];

    fer_cmd_init("fer-eval", synopsis);
    while ((c = fer_cmd_getopt(argc, argv, "m:i:f:qh", longopts)) != -1) {
        switch (c) {
        case 'm':
            if (nmodels == 16)
                die("at most 16 models");
            models[nmodels++] = optarg;
            break;
        case 'i': in = optarg; break;
        case 'u': usages |= fer_cmd_usage_bit(optarg); break;
        case 'f': format = formats[fer_cmd_pick("format", optarg, formats)]; break;
        case 'p': predpath = optarg; break;
        case 'P': plotpath = optarg; break;
        case 't':
            if ((tta = fer_tta_parse(optarg)) < 0)
                usage_error("--tta: '%s': use none, flip, flipcrop or crop10", optarg);
            break;
        case 'b': batch = fer_cmd_whole("batch", optarg, 1, 65536); break;
        case 'T': threads = fer_cmd_whole("threads", optarg, 1, 256); break;
        case 'R': force_progress = 1; break;
        case 'q': quiet = 1; break;
        case 'F': precision = optarg; break;
        case 'D': device = optarg; break;
        case 'G': gemm = optarg; break;
        default: usage(2);
        }
    }
    if (optind < argc && !strcmp(in, "-"))
        in = argv[optind++];
    if (optind != argc || !nmodels)
        usage(2);
    {
        /* the data and each model are read whole in turn: one stream holds one */
        int nm = 0;
        for (int j = 0; j < nmodels; j++)
            nm += !strcmp(models[j], "-");
        if (nm > 1 || (nm && !strcmp(in, "-")))
            usage_error("-m - and %s both read standard input",
                        nm > 1 ? "another -m -" : "the data set");
    }
    {
        /* an output that is an input would replace it: refused before any
         * work */
        const char *outs[2] = {predpath, plotpath}, *oname[2] = {"--predictions", "--plot"};
        for (int i = 0; i < 2; i++) {
            if (!outs[i])
                continue;
            if (fer_outfile_same(outs[i], in))
                usage_error("%s %s is the data set %s", oname[i], outs[i], in);
            for (int j = 0; j < nmodels; j++)
                if (fer_outfile_same(outs[i], models[j]))
                    usage_error("%s %s is the model %s", oname[i], outs[i], models[j]);
            if (i == 1 && predpath && fer_outfile_same(plotpath, predpath))
                usage_error("--plot and --predictions are one file, %s", plotpath);
        }
    }
    if (threads)
        fer_threads_set((int)threads);
    const fer_backend *be = fer_cmd_backend(device, precision, gemm, quiet);
    if (fer_load_dataset(in, &d))
        die("%s", fer_error());
    if (usages)
        fer_dataset_filter_usage(&d, usages);
    {
        /* only labelled images count */
        size_t j = 0, img = (size_t)d.c * d.h * d.w;
        for (size_t i = 0; i < d.n; i++)
            if (d.labels[i] >= 0) {
                memmove(d.pixels + j * img, d.pixels + i * img, img);
                d.labels[j] = d.labels[i];
                d.usage[j++] = d.usage[i];
            }
        d.n = j;
    }
    if (!d.n)
        die("%s: no labelled images to evaluate%s", in,
            usages ? " in the chosen --usage splits" : "");
    acc = NULL;
    for (int mi = 0; mi < nmodels; mi++) {
        fer_model m;
        int mc, mh, mw;
        if (fer_model_load(&m, models[mi]))
            die("%s", fer_error());
        fer_cmd_move(m.net, be);
        fer_net_input_shape(m.net, &mc, &mh, &mw);
        if (mc != d.c || mh != d.h || mw != d.w)
            die("%s takes %dx%dx%d images, %s has %dx%dx%d", models[mi], mc, mh, mw, in, d.c,
                d.h, d.w);
        if (mi == 0) {
            k = m.nclasses;
            memcpy(names, m.classes, sizeof names);
            acc = calloc(d.n * k, sizeof *acc);
            probs = malloc(d.n * k * sizeof *probs);
            if (!acc || !probs)
                die("out of memory");
        } else if (m.nclasses != k) {
            die("%s has %d classes, %s has %d", models[mi], m.nclasses, models[0], k);
        }
        /* in chunks of whole batches (the same batches as one call, so
         * the same bits), for the progress line */
        snprintf(what, sizeof what, "model %d/%d", mi + 1, nmodels);
        fer_progress_begin(&bar, stderr, fer_progress_mode(force_progress, quiet), what, d.n,
                           "img/s");
        for (size_t s0 = 0, step = 8 * (size_t)batch; s0 < d.n; s0 += step) {
            size_t nn = d.n - s0 < step ? d.n - s0 : step;
            if (fer_predict(&m, d.pixels + s0 * (size_t)d.c * d.h * d.w, nn, (int)batch, tta,
                            probs + s0 * k))
                die("%s", fer_error());
            fer_progress_update(&bar, s0 + nn, (size_t)(nmodels - mi - 1) * d.n, NULL);
        }
        fer_progress_end(&bar);
        fer_predict_sum(acc, probs, d.n * k);
        fer_model_free(&m);
    }
    fer_predict_mean(acc, d.n * k, nmodels);
    for (size_t i = 0; i < d.n; i++)
        if (d.labels[i] >= k)
            die("%s: image %zu has label %d, the model knows %d classes", in, i,
                (int)d.labels[i], k);
    pred = malloc(d.n * sizeof *pred);
    if (!pred)
        die("out of memory");
    for (size_t i = 0; i < d.n; i++)
        pred[i] = fer_metrics_argmax(acc + i * k, k);
    fer_metrics_compute(&met, k, d.labels, pred, d.n);
    if (predpath && write_predictions(predpath, acc, d.labels, pred, d.n, k, names))
        die("%s", fer_error());
    if (plotpath && plot(plotpath, &met, names, models, nmodels, in, tta))
        die("%s", fer_error());
    if (!strcmp(format, "json"))
        print_json(stdout, &met, names);
    else if (!strcmp(format, "csv"))
        print_csv(stdout, &met, names);
    else
        print_text(stdout, &met, names);
    fer_cmd_flush();
    free(pred);
    free(acc);
    free(probs);
    fer_dataset_free(&d);
    return 0;
}
