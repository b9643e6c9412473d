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
#include "opt.h"
#include "outfile.h"
#include "progress.h"
#include "threads.h"
#include "train.h"
#include "util.h"

static volatile sig_atomic_t stop_flag;

static const char synopsis[] =
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
    "                 [--precision fp32|tf32|bf16] [--device cpu|cuda[:N]]\n"
    "                 [--gemm ours|cublas]\n";

static void on_sigint(int sig)
{
    (void)sig;
    stop_flag = 1;
}

enum {
    O_EPOCHS = 256, O_BATCH, O_LR, O_OPTIM, O_MOMENTUM, O_NESTEROV, O_WD, O_SCHED, O_STEP, O_GAMMA,
    O_PATIENCE, O_CLIP, O_SMOOTH, O_BALANCED, O_MIRROR, O_SHIFT, O_ROTATE, O_WIDTH, O_DROPOUT, O_DROPOUT2,
    O_VALSPLIT, O_VAL, O_USAGE, O_SEED, O_THREADS, O_LOG, O_CKPT, O_RESUME, O_INIT, O_FREEZE,
    O_LRBB, O_HEAD, O_QUIET, O_PROGRESS, O_SCALE, O_CROP, O_BRIGHT, O_CONTRAST, O_ERASE,
    O_STAGES, O_WARMUP, O_EMA, O_STOPAFTER, O_PRECISION, O_DEVICE, O_GEMM
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
    {"device", required_argument, 0, O_DEVICE}, {"gemm", required_argument, 0, O_GEMM},
    {"quiet", no_argument, 0, 'q'}, FER_CMD_LONGOPTS, {0, 0, 0, 0}};

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
            if (path[i] && path[j] && fer_outfile_same(path[i], path[j]))
                usage_error("%s %s and %s %s are the same file", role[i], path[i], role[j],
                            path[j]);
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
            if (path[i] && path[j] && !strcmp(path[i], "-") && !strcmp(path[j], "-"))
                usage_error("%s - and %s - both read standard input", role[i], role[j]);
}

/* What fer_train reports, shown: a status line while an epoch runs (on a
 * terminal, or with --progress), a line per epoch unless --quiet. */
typedef struct shown {
    int mode, quiet;            /* enum fer_progress_mode; --quiet */
    int epoch;                  /* the epoch the status line is of, 0: none */
    char what[48];
    fer_progress bar;
} shown;

static void show_end(shown *s)
{
    if (s->epoch)
        fer_progress_end(&s->bar);
    s->epoch = 0;
}

static void show(void *ctx, const fer_train_report *r)
{
    shown *s = ctx;
    if (!r->end) {
        if (s->epoch != r->epoch) {
            show_end(s);
            snprintf(s->what, sizeof s->what, "epoch %d/%d", r->epoch, r->epochs);
            fer_progress_begin(&s->bar, stderr, s->mode, s->what, r->total, "img/s");
            s->epoch = r->epoch;
        }
        fer_progress_update(&s->bar, r->done, r->after, "loss %.4f  acc %.4f", r->loss, r->acc);
        return;
    }
    show_end(s);
    if (s->quiet)
        return;
    if (r->have_val)
        fprintf(stderr, "epoch %d/%d: train loss %.4f acc %.4f, val loss %.4f acc %.4f  "
                "lr %.3g  %.1fs\n", r->epoch, r->epochs, r->loss, r->acc, r->val_loss,
                r->val_acc, r->lr, r->seconds);
    else
        fprintf(stderr, "epoch %d/%d: train loss %.4f acc %.4f  lr %.3g  %.1fs\n", r->epoch,
                r->epochs, r->loss, r->acc, r->lr, r->seconds);
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
    /* enum fer_schedule's order */
    static const char *const schedules[] = {"none", "step", "cosine", "plateau", NULL};
    const char *arch = NULL, *in = "-", *out = NULL, *valpath = NULL, *logpath = NULL;
    const char *init = NULL, *freeze = NULL, *ckpt = NULL;
    char ckbuf[4096], cmd[4096];
    double valsplit = 0;
    long threads = 0;
    const char *precision = "fp32", *device = NULL, *gemm = NULL;
    unsigned usages = 0;
    int c, head_given = 0, force_progress = 0, quiet = 0, rc;
    shown shown_line = {0};
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

    fer_cmd_init("fer-train", synopsis);
    fer_train_defaults(&to);
    while ((c = fer_cmd_getopt(argc, argv, "m:i:o:qh", longopts)) != -1) {
        switch (c) {
        case 'm': arch = optarg; break;
        case 'i': in = optarg; break;
        case 'o': out = optarg; break;
        case O_EPOCHS: to.epochs = (int)fer_cmd_whole("epochs", optarg, 1, 100000); break;
        case O_BATCH: to.batch = (int)fer_cmd_whole("batch", optarg, 2, 65536); break;
        case O_LR: to.optim.lr = fer_cmd_num("lr", optarg, 0, 100); break;
        case O_OPTIM:
            if ((to.optim.kind = fer_optim_parse(optarg)) < 0)
                usage_error("--optim: '%s': use sgd, adam or adamw", optarg);
            break;
        case O_MOMENTUM: to.optim.momentum = fer_cmd_num("momentum", optarg, 0, 1); break;
        case O_NESTEROV: to.optim.nesterov = 1; break;
        case O_WD: to.optim.weight_decay = fer_cmd_num("weight-decay", optarg, 0, 10); break;
        case O_SCHED: to.schedule = fer_cmd_pick("schedule", optarg, schedules); break;
        case O_STEP: to.step_size = (int)fer_cmd_whole("step-size", optarg, 1, 100000); break;
        case O_GAMMA: to.gamma = fer_cmd_num("gamma", optarg, 0, 1); break;
        case O_PATIENCE: to.patience = (int)fer_cmd_whole("patience", optarg, 0, 100000); break;
        case O_CLIP: to.optim.clip_norm = fer_cmd_num("clip", optarg, 0, 1e9); break;
        case O_SMOOTH: to.label_smoothing = fer_cmd_num("label-smoothing", optarg, 0, 0.999); break;
        case O_BALANCED: to.balanced = 1; break;
        case O_MIRROR: to.mirror = 1; break;
        case O_SHIFT: to.shift = (int)fer_cmd_whole("shift", optarg, 0, 64); break;
        case O_ROTATE: to.rotate = fer_cmd_num("rotate", optarg, 0, 180); break;
        case O_SCALE: fer_cmd_range("scale", optarg, 0.05, 20, &to.scale_lo, &to.scale_hi); break;
        case O_CROP: to.crop = (int)fer_cmd_whole("crop", optarg, 0, 2047); break;
        case O_BRIGHT: to.brightness = fer_cmd_num("brightness", optarg, 0, 10); break;
        case O_CONTRAST: to.contrast = fer_cmd_num("contrast", optarg, 0, 10); break;
        case O_ERASE: to.erase = fer_cmd_num("erase", optarg, 0, 1); break;
        case O_STAGES: stages = (int)fer_cmd_whole("stages", optarg, 1, FER_CNN_STAGES_MAX); break;
        case O_WARMUP: to.warmup = (int)fer_cmd_whole("warmup", optarg, 0, 100000); break;
        case O_EMA: to.ema = fer_cmd_num("ema", optarg, 0, 0.999999); break;
        case O_STOPAFTER:
            to.stop_after = (int)fer_cmd_whole("stop-after", optarg, 1, 100000);
            break;
        case O_PRECISION: precision = optarg; break;
        case O_DEVICE: device = optarg; break;
        case O_GEMM: gemm = optarg; break;
        case O_WIDTH: width = fer_cmd_num("width", optarg, 0.01, 8); break;
        case O_DROPOUT: dropout = fer_cmd_num("dropout", optarg, 0, 0.99); break;
        case O_DROPOUT2: dropout2 = fer_cmd_num("dropout2", optarg, 0, 0.99); break;
        case O_VALSPLIT: valsplit = fer_cmd_num("val-split", optarg, 0, 0.9); break;
        case O_VAL: valpath = optarg; break;
        case O_USAGE: usages |= fer_cmd_usage_bit(optarg); break;
        case O_SEED:
            to.seed = (unsigned long long)fer_cmd_whole("seed", optarg, 0, 9007199254740991L);
            break;
        case O_THREADS: threads = fer_cmd_whole("threads", optarg, 1, 256); break;
        case O_LOG: logpath = optarg; break;
        case O_CKPT: ckpt = optarg; break;
        case O_RESUME: to.resume = optarg; break;
        case O_INIT: init = optarg; break;
        case O_FREEZE: freeze = optarg; break;
        case O_LRBB: to.lr_backbone = fer_cmd_num("lr-backbone", optarg, 0, 100); break;
        case O_HEAD: to.head = optarg; head_given = 1; break;
        case 'q': quiet = 1; break;
        case O_PROGRESS: force_progress = 1; break;
        default: usage(2);
        }
    }
    if (optind < argc && !strcmp(in, "-"))
        in = argv[optind++];
    if (optind != argc || !arch || !out)
        usage(2);
    if (valpath && valsplit > 0)
        usage_error("--val and --val-split exclude each other");
    if (!ckpt) {
        snprintf(ckbuf, sizeof ckbuf, "%s.ckpt", out);
        ckpt = ckbuf;
    }
    refuse_collisions(in, out, ckpt, logpath, valpath);
    refuse_two_stdin(in, valpath, init, to.resume);
    if (fer_model_defaults(arch, &mo))
        usage_error("%s", fer_error());
    if (width > 0)
        mo.width = width;
    if (dropout >= 0)
        mo.dropout = dropout;
    if (dropout2 >= 0)
        mo.dropout2 = dropout2;
    if (stages && strcmp(arch, "cnn"))
        usage_error("--stages: a cnn option, not %s's", arch);
    if (stages)
        mo.stages = stages;
    if (threads)
        fer_threads_set((int)threads);
    const fer_backend *be = fer_cmd_backend(device, precision, gemm, quiet);

    if (fer_load_dataset(in, &all))
        die("%s", fer_error());
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
        if (all.labels[i] < 0)
            die("%s: image %zu has no label", in, i);
    mo.c = all.c;
    mo.h = all.h;
    mo.w = all.w;
    if (to.crop > 0 && (2 * to.crop >= all.w || 2 * to.crop >= all.h))
        usage_error("--crop %d: leaves no window of %dx%d images", to.crop, all.w, all.h);
    mo.nclasses = all.nclasses;
    fer_rng_seed(&rng, to.seed ^ 0x5eedULL);
    if (fer_model_build(&m, arch, &mo, &rng))
        die("%s", fer_error());
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
            die("%s", fer_error());
        if (!quiet)
            fprintf(stderr, "%s: %s: %d tensors copied, %d skipped\n", fer_cmd, init, copied,
                    skipped);
    }
    if (freeze) {
        char buf[1024], *save = NULL;
        snprintf(buf, sizeof buf, "%s", freeze);
        for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save))
            if (fer_net_freeze(m.net, p) == 0)
                usage_error("--freeze: no parameters under '%s'", p);
    }
    fer_cmd_move(m.net, be);

    if (valpath) {
        train = all;
        if (fer_load_dataset(valpath, &val))
            die("%s", fer_error());
        /* an unlabelled image scores nothing: a set without labels would
         * keep the first epoch's weights */
        for (size_t i = 0; i < val.n; i++)
            if (val.labels[i] < 0 || val.labels[i] >= m.nclasses)
                die("%s: validation image %zu has %s", valpath, i,
                    val.labels[i] < 0 ? "no label" : "a label outside the training classes");
    } else if (valsplit > 0) {
        if (fer_dataset_split(&all, valsplit, to.seed, &train, &val))
            die("%s", fer_error());
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

    if (logpath && !(log = fopen(logpath, to.resume ? "a" : "w")))
        die("%s: %s", logpath, strerror(errno));
    to.checkpoint = ckpt;
    to.log = log;
    to.log_name = logpath;
    to.stop = &stop_flag;
    shown_line.mode = fer_progress_mode(force_progress, quiet);
    shown_line.quiet = quiet;
    to.report = show;
    to.report_ctx = &shown_line;
    signal(SIGINT, on_sigint);
    if (!quiet)
        fprintf(stderr, "%s: %s, %zu weights, %.3f GFLOP/image; %zu training, %zu validation "
                "images; %d threads\n", fer_cmd, arch, fer_net_count_weights(m.net),
                fer_net_flops(m.net) / 1e9, train.n, val.n, fer_threads_get());

    rc = fer_train(&m, &train, &val, &to, &res);
    show_end(&shown_line);   /* a status line left by an error or an interrupt */
    switch (rc) {
    case -1:
        die("%s", fer_error());
        break;
    case 1:
        if (res.epochs_run == 0) {
            /* untrained weights would replace whatever -o holds */
            fprintf(stderr, "%s: interrupted before the first epoch ended; %s not written; "
                    "checkpoint in %s (continue with --resume %s)\n", fer_cmd, out, ckpt, ckpt);
            if (log)
                fclose(log);
            fer_model_free(&m);
            if (train.pixels != val.pixels)
                fer_dataset_free(&val);
            fer_dataset_free(&train);
            return 130;
        }
        fprintf(stderr, "%s: interrupted; checkpoint in %s (continue with --resume %s)\n", fer_cmd,
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
        die("%s", fer_error());
    if (!res.stopped && !res.paused)
        unlink(ckpt);   /* the finished model replaces the checkpoint */
    if (log && fclose(log))
        die("%s: write error", logpath);
    if (!quiet && res.paused)
        fprintf(stderr, "%s: stopped after epoch %d of %d (--stop-after); checkpoint in %s "
                "(continue with --resume %s)\n", fer_cmd, res.epochs_run, to.epochs, ckpt, ckpt);
    if (!quiet && val.n)
        fprintf(stderr, "%s: wrote %s (%d epochs, best validation accuracy %.4f at epoch %d, "
                "%.1fs)\n", fer_cmd, out, res.epochs_run, res.best_val_acc, res.best_epoch,
                res.seconds);
    else if (!quiet)
        fprintf(stderr, "%s: wrote %s (%d epochs, no validation: last weights, %.1fs)\n", fer_cmd,
                out, res.epochs_run, res.seconds);
    fer_model_free(&m);
    if (train.pixels != val.pixels)
        fer_dataset_free(&val);
    fer_dataset_free(&train);
    return res.stopped ? 130 : 0;
}
