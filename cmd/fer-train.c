/* fer-train: trains a cnn, ff or resnet18 model on a fer data set. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset.h"
#include "error.h"
#include "load.h"
#include "model.h"
#include "outfile.h"
#include "parse.h"
#include "progress.h"
#include "threads.h"
#include "util.h"
#include "train.h"

static const char *argv0 = "fer-train";
static volatile sig_atomic_t stop_flag;

static void usage(int status)
{
    fprintf(status ? stderr : stdout,
            "usage: fer-train -m cnn|ff|resnet18 [-i data.fer] -o model.fer [--epochs N]\n"
            "                 [--batch N] [--lr X] [--optim sgd|adam|adamw] [--momentum X]\n"
            "                 [--nesterov] [--weight-decay X] [--schedule none|step|cosine|plateau]\n"
            "                 [--step-size N] [--gamma X] [--patience N] [--clip X]\n"
            "                 [--label-smoothing X] [--balanced] [--mirror] [--shift N]\n"
            "                 [--rotate DEG] [--scale A:B] [--crop PX] [--brightness F]\n"
            "                 [--contrast F] [--erase P] [--width X] [--dropout X] [--dropout2 X]\n"
            "                 [--stages N] [--warmup N] [--ema DECAY] [--stop-after N]\n"
            "                 [--val-split X | --val FILE]\n"
            "                 [--usage NAME] [--seed N] [--threads N] [--log FILE]\n"
            "                 [--checkpoint FILE] [--resume FILE] [--init FILE]\n"
            "                 [--freeze LIST] [--lr-backbone X] [--head LIST] [--progress] [--quiet]\n"
            "                 [--precision fp32|bf16]\n");
    exit(status);
}

static void die(const char *msg)
{
    fprintf(stderr, "%s: %s\n", argv0, msg);
    exit(1);
}

static void on_sigint(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static double num(const char *opt, const char *s, double lo, double hi)
{
    double v;
    if (fer_parse_double(s, lo, hi, &v)) {
        fprintf(stderr, "%s: --%s: %s\n", argv0, opt, fer_error());
        exit(2);
    }
    return v;
}

/* A whole decimal number in [lo, hi], for the integer options: "2.999"
 * and "0x10" are usage errors, not 2 and 16. */
static long inum(const char *opt, const char *s, long lo, long hi)
{
    long v;
    if (fer_parse_long(s, lo, hi, &v)) {
        fprintf(stderr, "%s: --%s: %s\n", argv0, opt, fer_error());
        exit(2);
    }
    return v;
}

/* "A:B" with lo <= A <= B <= hi, for --scale. */
static void num_range(const char *opt, const char *s, double lo, double hi, double *a, double *b)
{
    char buf[128], *colon;
    if (snprintf(buf, sizeof buf, "%s", s) >= (int)sizeof buf || !(colon = strchr(buf, ':'))) {
        fprintf(stderr, "%s: --%s: '%s': want A:B\n", argv0, opt, s);
        exit(2);
    }
    *colon = 0;
    *a = num(opt, buf, lo, hi);
    *b = num(opt, colon + 1, lo, hi);
    if (*a > *b) {
        fprintf(stderr, "%s: --%s: '%s': A is above B\n", argv0, opt, s);
        exit(2);
    }
}

enum {
    O_EPOCHS = 256, O_BATCH, O_LR, O_OPTIM, O_MOMENTUM, O_NESTEROV, O_WD, O_SCHED, O_STEP, O_GAMMA,
    O_PATIENCE, O_CLIP, O_SMOOTH, O_BALANCED, O_MIRROR, O_SHIFT, O_ROTATE, O_WIDTH, O_DROPOUT, O_DROPOUT2,
    O_VALSPLIT, O_VAL, O_USAGE, O_SEED, O_THREADS, O_LOG, O_CKPT, O_RESUME, O_INIT, O_FREEZE,
    O_LRBB, O_HEAD, O_QUIET, O_PROGRESS, O_SCALE, O_CROP, O_BRIGHT, O_CONTRAST, O_ERASE,
    O_STAGES, O_WARMUP, O_EMA, O_STOPAFTER, O_PRECISION
};

static const struct option longopts[] = {
    {"model", required_argument, 0, 'm'}, {"input", required_argument, 0, 'i'},
    {"output", required_argument, 0, 'o'}, {"epochs", required_argument, 0, O_EPOCHS},
    {"batch", required_argument, 0, O_BATCH}, {"lr", required_argument, 0, O_LR},
    {"optim", required_argument, 0, O_OPTIM}, {"momentum", required_argument, 0, O_MOMENTUM},
    {"nesterov", no_argument, 0, O_NESTEROV}, {"weight-decay", required_argument, 0, O_WD},
    {"schedule", required_argument, 0, O_SCHED}, {"step-size", required_argument, 0, O_STEP},
    {"gamma", required_argument, 0, O_GAMMA}, {"patience", required_argument, 0, O_PATIENCE},
    {"clip", required_argument, 0, O_CLIP}, {"label-smoothing", required_argument, 0, O_SMOOTH},
    {"balanced", no_argument, 0, O_BALANCED}, {"mirror", no_argument, 0, O_MIRROR},
    {"shift", required_argument, 0, O_SHIFT}, {"rotate", required_argument, 0, O_ROTATE},
    {"width", required_argument, 0, O_WIDTH}, {"dropout", required_argument, 0, O_DROPOUT},
    {"dropout2", required_argument, 0, O_DROPOUT2}, {"val-split", required_argument, 0, O_VALSPLIT},
    {"val", required_argument, 0, O_VAL}, {"usage", required_argument, 0, O_USAGE},
    {"seed", required_argument, 0, O_SEED}, {"threads", required_argument, 0, O_THREADS},
    {"log", required_argument, 0, O_LOG}, {"checkpoint", required_argument, 0, O_CKPT},
    {"resume", required_argument, 0, O_RESUME}, {"init", required_argument, 0, O_INIT},
    {"freeze", required_argument, 0, O_FREEZE}, {"lr-backbone", required_argument, 0, O_LRBB},
    {"head", required_argument, 0, O_HEAD}, {"progress", no_argument, 0, O_PROGRESS},
    {"scale", required_argument, 0, O_SCALE}, {"crop", required_argument, 0, O_CROP},
    {"brightness", required_argument, 0, O_BRIGHT}, {"contrast", required_argument, 0, O_CONTRAST},
    {"erase", required_argument, 0, O_ERASE}, {"stages", required_argument, 0, O_STAGES},
    {"warmup", required_argument, 0, O_WARMUP}, {"ema", required_argument, 0, O_EMA},
    {"stop-after", required_argument, 0, O_STOPAFTER}, {"precision", required_argument, 0, O_PRECISION},
    {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

/* Refuses (exit 2) two of the files fer-train reads and writes that are
 * one file: the checkpoint is removed at the end, the model and log
 * replace what was there, so a collision would lose the model or the data. */
static void refuse_collisions(const char *in, const char *out, const char *ckpt,
                              const char *log, const char *val)
{
    const char *path[5] = {out, ckpt, log, in, val};
    const char *role[5] = {"-o", "--checkpoint", "--log", "the input", "--val"};
    for (int i = 0; i < 3; i++)   /* each written file against every later one */
        for (int j = i + 1; j < 5; j++)
            if (path[i] && path[j] && fer_same_file(path[i], path[j])) {
                fprintf(stderr, "%s: %s %s and %s %s are the same file\n", argv0, role[i],
                        path[i], role[j], path[j]);
                exit(2);
            }
}

/* Refuses (exit 2) two of the files fer-train reads that are both
 * standard input: each is read whole in turn. */
static void refuse_two_stdin(const char *in, const char *val, const char *init,
                             const char *resume)
{
    const char *path[4] = {in, val, init, resume};
    const char *role[4] = {"-i", "--val", "--init", "--resume"};
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            if (path[i] && path[j] && !strcmp(path[i], "-") && !strcmp(path[j], "-")) {
                fprintf(stderr, "%s: %s - and %s - both read standard input\n", argv0, role[i],
                        role[j]);
                exit(2);
            }
}

/* The command line, quoted where needed, for the model's training record. */
static void command_line(int argc, char **argv, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < argc && k + 4 < n; i++) {
        const char *a = i == 0 ? "fer-train" : argv[i];
        int q = strpbrk(a, " \t'\"") != NULL;
        k += snprintf(buf + k, n - k, "%s%s%s%s", i ? " " : "", q ? "'" : "", a, q ? "'" : "");
    }
}

int main(int argc, char **argv)
{
    const char *arch = NULL, *in = "-", *out = NULL, *valpath = NULL, *logpath = NULL;
    const char *init = NULL, *freeze = NULL, *ckpt = NULL;
    char ckbuf[4096], cmd[4096];
    double valsplit = 0;
    long threads = 0;
    const char *precision = "fp32";
    unsigned usages = 0;
    int c, head_given = 0, force_progress = 0;
    char headbuf[128];
    fer_model_opts mo;
    double width = -1, dropout = -1, dropout2 = -1;
    int stages = 0;
    fer_train_opts to;
    fer_train_result res;
    fer_model m;
    fer_dataset all, train, val;
    fer_rng rng;
    FILE *log = NULL;

    fer_train_defaults(&to);
    while ((c = getopt_long(argc, argv, "m:i:o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': arch = optarg; break;
        case 'i': in = optarg; break;
        case 'o': out = optarg; break;
        case O_EPOCHS: to.epochs = (int)inum("epochs", optarg, 1, 100000); break;
        case O_BATCH: to.batch = (int)inum("batch", optarg, 2, 65536); break;
        case O_LR: to.optim.lr = num("lr", optarg, 0, 100); break;
        case O_OPTIM: {
            int k = fer_optim_parse(optarg);
            if (k < 0) {
                fprintf(stderr, "%s: --optim: '%s': use sgd, adam or adamw\n", argv0, optarg);
                exit(2);
            }
            to.optim.kind = k;
            break;
        }
        case O_MOMENTUM: to.optim.momentum = num("momentum", optarg, 0, 1); break;
        case O_NESTEROV: to.optim.nesterov = 1; break;
        case O_WD: to.optim.weight_decay = num("weight-decay", optarg, 0, 10); break;
        case O_SCHED:
            if (!strcmp(optarg, "none")) to.schedule = FER_SCHED_NONE;
            else if (!strcmp(optarg, "step")) to.schedule = FER_SCHED_STEP;
            else if (!strcmp(optarg, "cosine")) to.schedule = FER_SCHED_COSINE;
            else if (!strcmp(optarg, "plateau")) to.schedule = FER_SCHED_PLATEAU;
            else {
                fprintf(stderr, "%s: --schedule: '%s': use none, step, cosine or plateau\n",
                        argv0, optarg);
                exit(2);
            }
            break;
        case O_STEP: to.step_size = (int)inum("step-size", optarg, 1, 100000); break;
        case O_GAMMA: to.gamma = num("gamma", optarg, 0, 1); break;
        case O_PATIENCE: to.patience = (int)inum("patience", optarg, 0, 100000); break;
        case O_CLIP: to.optim.clip_norm = num("clip", optarg, 0, 1e9); break;
        case O_SMOOTH: to.label_smoothing = num("label-smoothing", optarg, 0, 0.999); break;
        case O_BALANCED: to.balanced = 1; break;
        case O_MIRROR: to.mirror = 1; break;
        case O_SHIFT: to.shift = (int)inum("shift", optarg, 0, 64); break;
        case O_ROTATE: to.rotate = num("rotate", optarg, 0, 180); break;
        case O_SCALE: num_range("scale", optarg, 0.05, 20, &to.scale_lo, &to.scale_hi); break;
        case O_CROP: to.crop = (int)inum("crop", optarg, 0, 2047); break;
        case O_BRIGHT: to.brightness = num("brightness", optarg, 0, 10); break;
        case O_CONTRAST: to.contrast = num("contrast", optarg, 0, 10); break;
        case O_ERASE: to.erase = num("erase", optarg, 0, 1); break;
        case O_STAGES: stages = (int)inum("stages", optarg, 1, FER_CNN_STAGES_MAX); break;
        case O_WARMUP: to.warmup = (int)inum("warmup", optarg, 0, 100000); break;
        case O_EMA: to.ema = num("ema", optarg, 0, 0.999999); break;
        case O_STOPAFTER: to.stop_after = (int)inum("stop-after", optarg, 1, 100000); break;
        case O_PRECISION: precision = optarg; break;
        case O_WIDTH: width = num("width", optarg, 0.01, 8); break;
        case O_DROPOUT: dropout = num("dropout", optarg, 0, 0.99); break;
        case O_DROPOUT2: dropout2 = num("dropout2", optarg, 0, 0.99); break;
        case O_VALSPLIT: valsplit = num("val-split", optarg, 0, 0.9); break;
        case O_VAL: valpath = optarg; break;
        case O_USAGE: {
            int u = fer_usage_parse(optarg);
            if (u < 0) {
                fprintf(stderr, "%s: --usage: '%s': use Training, PublicTest or PrivateTest\n",
                        argv0, optarg);
                exit(2);
            }
            usages |= 1u << u;
            break;
        }
        case O_SEED: to.seed = (unsigned long long)inum("seed", optarg, 0, 9007199254740991L);
            break;
        case O_THREADS: threads = inum("threads", optarg, 1, 256); break;
        case O_LOG: logpath = optarg; break;
        case O_CKPT: ckpt = optarg; break;
        case O_RESUME: to.resume = optarg; break;
        case O_INIT: init = optarg; break;
        case O_FREEZE: freeze = optarg; break;
        case O_LRBB: to.lr_backbone = num("lr-backbone", optarg, 0, 100); break;
        case O_HEAD: to.head = optarg; head_given = 1; break;
        case 'q': to.quiet = 1; break;
        case O_PROGRESS: force_progress = 1; break;
        case 'h': usage(0); break;
        default: usage(2);
        }
    }
    if (optind < argc && !strcmp(in, "-"))
        in = argv[optind++];
    if (optind != argc || !arch || !out)
        usage(2);
    if (valpath && valsplit > 0) {
        fprintf(stderr, "%s: --val and --val-split exclude each other\n", argv0);
        exit(2);
    }
    if (!ckpt) {
        snprintf(ckbuf, sizeof ckbuf, "%s.ckpt", out);
        ckpt = ckbuf;
    }
    refuse_collisions(in, out, ckpt, logpath, valpath);
    refuse_two_stdin(in, valpath, init, to.resume);
    if (fer_model_defaults(arch, &mo)) {
        fprintf(stderr, "%s: %s\n", argv0, fer_error());
        exit(2);
    }
    if (width > 0)
        mo.width = width;
    if (dropout >= 0)
        mo.dropout = dropout;
    if (dropout2 >= 0)
        mo.dropout2 = dropout2;
    if (stages && strcmp(arch, "cnn")) {
        fprintf(stderr, "%s: --stages: a cnn option, not %s's\n", argv0, arch);
        exit(2);
    }
    if (stages)
        mo.stages = stages;
    if (threads)
        fer_threads_set((int)threads);
    fer_cmd_precision(argv0, precision, to.quiet);

    if (fer_load_dataset(in, &all))
        die(fer_error());
    /* with splits present, train on Training unless told otherwise */
    if (!usages) {
        for (size_t i = 0; i < all.n; i++)
            if (all.usage[i] == FER_TRAINING) {
                usages = 1u << FER_TRAINING;
                break;
            }
    }
    if (usages)
        fer_dataset_filter_usage(&all, usages);
    if (all.n < 2)
        die("fewer than 2 training images");
    for (size_t i = 0; i < all.n; i++)
        if (all.labels[i] < 0) {
            fprintf(stderr, "%s: %s: image %zu has no label\n", argv0, in, i);
            exit(1);
        }
    mo.c = all.c;
    mo.h = all.h;
    mo.w = all.w;
    if (to.crop > 0 && (2 * to.crop >= all.w || 2 * to.crop >= all.h)) {
        fprintf(stderr, "%s: --crop %d: leaves no window of %dx%d images\n", argv0, to.crop,
                all.w, all.h);
        exit(2);
    }
    mo.nclasses = all.nclasses;
    fer_rng_seed(&rng, to.seed ^ 0x5eedULL);
    if (fer_model_build(&m, arch, &mo, &rng))
        die(fer_error());
    memcpy(m.classes, all.classes, sizeof m.classes);
    if (!head_given) {
        /* the head is the last layer: "fc" (resnet18), "fc2" (cnn), "fc5" (ff) */
        const char *last = fer_net_param(m.net, fer_net_nparams(m.net) - 1)->name;
        snprintf(headbuf, sizeof headbuf, "%.*s", (int)(strrchr(last, '.') - last), last);
        to.head = headbuf;
    }
    if (init) {
        int copied, skipped;
        if (fer_model_init_from(&m, init, &copied, &skipped))
            die(fer_error());
        if (!to.quiet)
            fprintf(stderr, "%s: %s: %d tensors copied, %d skipped\n", argv0, init, copied,
                    skipped);
    }
    if (freeze) {
        char buf[1024], *save = NULL;
        snprintf(buf, sizeof buf, "%s", freeze);
        for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save))
            if (fer_net_freeze(m.net, p) == 0) {
                fprintf(stderr, "%s: --freeze: no parameters under '%s'\n", argv0, p);
                exit(2);
            }
    }

    if (valpath) {
        train = all;
        if (fer_load_dataset(valpath, &val))
            die(fer_error());
        /* an unlabelled image scores nothing: a set without labels would
         * keep the first epoch's weights */
        for (size_t i = 0; i < val.n; i++)
            if (val.labels[i] < 0 || val.labels[i] >= m.nclasses) {
                fprintf(stderr, "%s: %s: validation image %zu has %s\n", argv0, valpath, i,
                        val.labels[i] < 0 ? "no label" : "a label outside the training classes");
                exit(1);
            }
    } else if (valsplit > 0) {
        if (fer_split_stratified(&all, valsplit, to.seed, &train, &val))
            die(fer_error());
        fer_dataset_free(&all);
    } else {
        train = all;
        fer_dataset_init(&val, all.c, all.h, all.w);
    }
    {
        /* input normalisation from the training pixels */
        double s = 0, s2 = 0;
        size_t total = train.n * train.c * train.h * train.w;
        for (size_t i = 0; i < total; i++) {
            double v = train.pixels[i] / 255.0;
            s += v;
            s2 += v * v;
        }
        m.mean = s / total;
        m.std = sqrt(s2 / total - m.mean * m.mean);
        if (!(m.std > 1e-6))
            m.std = 1;
    }

    if (logpath && !(log = fopen(logpath, to.resume ? "a" : "w"))) {
        fprintf(stderr, "%s: %s: %s\n", argv0, logpath, strerror(errno));
        exit(1);
    }
    to.checkpoint = ckpt;
    to.log = log;
    to.log_name = logpath;
    to.stop = &stop_flag;
    to.progress = fer_progress_mode(force_progress, to.quiet);
    signal(SIGINT, on_sigint);
    if (!to.quiet)
        fprintf(stderr, "%s: %s, %zu weights, %.3f GFLOP/image; %zu training, %zu validation "
                "images; %d threads\n", argv0, arch, fer_net_count_weights(m.net),
                fer_net_flops(m.net) / 1e9, train.n, val.n, fer_threads_get());

    switch (fer_train(&m, &train, &val, &to, &res)) {
    case -1:
        die(fer_error());
        break;
    case 1:
        if (res.epochs_run == 0) {
            /* untrained weights would replace whatever -o holds */
            fprintf(stderr, "%s: interrupted before the first epoch ended; %s not written; "
                    "checkpoint in %s (continue with --resume %s)\n", argv0, out, ckpt, ckpt);
            if (log)
                fclose(log);
            fer_model_free(&m);
            if (train.pixels != val.pixels)
                fer_dataset_free(&val);
            fer_dataset_free(&train);
            return 130;
        }
        fprintf(stderr, "%s: interrupted; checkpoint in %s (continue with --resume %s)\n", argv0,
                ckpt, ckpt);
        break;
    }
    command_line(argc, argv, cmd, sizeof cmd);
    fer_model_note(&m, "train.command", "%s", cmd);
    fer_model_note(&m, "train.data", "%s", in);
    fer_model_note(&m, "train.data_crc32", "%08x", fer_dataset_checksum(&train));
    fer_model_note(&m, "train.images", "%zu", train.n);
    fer_model_note(&m, "train.val_images", "%zu", val.n);
    fer_model_note(&m, "train.epochs", "%d", res.epochs_run);
    fer_model_note(&m, "train.best_epoch", "%d", res.best_epoch);
    fer_model_note(&m, "train.best_val_acc", "%.6f", res.best_val_acc);
    fer_model_note(&m, "train.seconds", "%.1f", res.seconds);
    fer_model_note(&m, "train.seed", "%llu", to.seed);
    fer_model_note(&m, "train.precision", "%s", precision);
    if (to.ema > 0)
        fer_model_note(&m, "train.ema", "%g", to.ema);
    if (fer_model_save(&m, out))
        die(fer_error());
    if (!res.stopped && !res.paused)
        unlink(ckpt);   /* the finished model replaces the checkpoint */
    if (log && fclose(log)) {
        fprintf(stderr, "%s: %s: write error\n", argv0, logpath);
        return 1;
    }
    if (!to.quiet && res.paused)
        fprintf(stderr, "%s: stopped after epoch %d of %d (--stop-after); checkpoint in %s "
                "(continue with --resume %s)\n", argv0, res.epochs_run, to.epochs, ckpt, ckpt);
    if (!to.quiet && val.n)
        fprintf(stderr, "%s: wrote %s (%d epochs, best validation accuracy %.4f at epoch %d, "
                "%.1fs)\n", argv0, out, res.epochs_run, res.best_val_acc, res.best_epoch,
                res.seconds);
    else if (!to.quiet)
        fprintf(stderr, "%s: wrote %s (%d epochs, no validation: last weights, %.1fs)\n", argv0,
                out, res.epochs_run, res.seconds);
    fer_model_free(&m);
    if (train.pixels != val.pixels)
        fer_dataset_free(&val);
    fer_dataset_free(&train);
    return res.stopped ? 130 : 0;
}
