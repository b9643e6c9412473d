/* test_net: whole networks built with the fer_net API against central
 * finite differences; model files (round trip, truncated, too new,
 * init_from); training that learns; bit-identical repeats. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "error.h"
#include "layers.h"
#include "model.h"
#include "net.h"
#include "net_test.h"
#include "predict.h"
#include "record.h"
#include "threads.h"
#include "train.h"

#define NB 4    /* images per batch in the gradient checks */

static float *randv(size_t n, float lo, float hi)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = check_randf(lo, hi);
    return v;
}

static void randomise(fer_net *net)
{
    for (int i = 0; i < fer_net_nparams(net); i++) {
        const fer_param *p = fer_net_param(net, i);
        float lo = -0.6f, hi = 0.6f, *w = param_w(net, i);
        if (strstr(p->name, "running_var"))
            lo = 0.5f, hi = 1.5f;
        else if (strstr(p->name, "bn") && strstr(p->name, ".weight"))
            lo = 0.5f, hi = 1.5f;
        for (size_t j = 0; j < p->n; j++)
            w[j] = check_randf(lo, hi);
    }
}

/* Mean softmax cross-entropy of a training-mode forward (dropout p = 0,
 * batch statistics), in double from the float logits. */
static double net_loss(fer_net *net, const float *x, const int32_t *y, float *probs)
{
    float z[NB * FER_CLASSES_MAX];
    if (fer_net_forward(net, x, NB, 1, 0, 0, z))
        abort();
    return fer_xent_forward(NB, fer_net_outputs(net), z, y, NULL, 0, probs);
}

/* Central difference of the loss in parameter element w[j] with step h,
 * in double. */
static double numeric(fer_net *net, const float *x, const int32_t *y, float *probs, float *w,
                      size_t j, double h)
{
    float keep = w[j], up = (float)(keep + h), down = (float)(keep - h);
    double lp, lm;
    w[j] = up;
    lp = net_loss(net, x, y, probs);
    w[j] = down;
    lm = net_loss(net, x, y, probs);
    w[j] = keep;
    return (lp - lm) / ((double)up - (double)down);
}

/* Compares fer_net_backward's gradient of every trainable parameter, at
 * up to 7 sampled elements each, with central differences in double. The
 * forward is float: a quotient of step h carries ~1e-7 |L| / h of
 * rounding, hence |num - ana| <= 2e-3 + 2e-2 |num| with h = 3e-4. A ReLU
 * or max-pool switch inside the step breaks the quotient: an element whose
 * quotients at h = 3e-4 and 1e-3 disagree by more than that tolerance is
 * taken to sit near a kink and skipped, at most 1 in 5. */
static void grad_check(fer_net *net, const float *x, const int32_t *y)
{
    const int K = fer_net_outputs(net);
    float *probs = malloc(NB * K * sizeof *probs), *dl = malloc(NB * K * sizeof *dl);
    int checked = 0, kinks = 0;
    net_loss(net, x, y, probs);
    fer_xent_backward(NB, K, probs, y, NULL, 0, dl);
    fer_net_backward(net, dl, NB);
    for (int i = 0; i < fer_net_nparams(net); i++) {
        const fer_param *p = fer_net_param(net, i);
        float *w = param_w(net, i), *g = param_g(net, i);
        if (!p->learn)
            continue;
        for (int s = 0; s < 7 && s < (int)p->n; s++) {
            size_t j = s == 0 ? 0 : s == 1 ? p->n - 1 : (size_t)(check_uniform() * p->n);
            double num = numeric(net, x, y, probs, w, j, 3e-4);
            double wide = numeric(net, x, y, probs, w, j, 1e-3);
            if (fabs(num - wide) > 2e-3 + 2e-2 * fabs(num)) {
                kinks++;
                continue;
            }
            CHECK(fabs(num - g[j]) <= 2e-3 + 2e-2 * fabs(num),
                  "%s[%zu]: backward %.7g, numeric %.7g", p->name, j, g[j], num);
            checked++;
        }
    }
    CHECK(checked > 10 && kinks * 5 <= checked + kinks, "%d elements checked, %d near kinks",
          checked, kinks);
    free(probs);
    free(dl);
}

/* The gradient check of a net just built (last: its last node, < 0 when
 * building failed), planned for NB images of in floats each, with random
 * weights and inputs; the net is freed. */
static void grad_check_built(fer_net *net, int last, size_t in, const int32_t *lab)
{
    CHECK(last > 0, "building: %s", fer_error());
    if (last > 0) {
        CHECK(fer_net_plan(net, NB) == 0, "plan: %s", fer_error());
        randomise(net);
        float *x = randv(in, -1.5f, 1.5f);
        grad_check(net, x, lab);
        free(x);
    }
    fer_net_free(net);
}

/* conv -> bn -> relu, then a residual block whose input fans out to the
 * main path (3x3 stride 2, bn, relu, 3x3) and a 1x1 stride-2 projection
 * shortcut with bn, added; relu, dropout 0, max pool, dense. Input 2x11x13. */
static void test_grad_residual(void)
{
    fer_net *net = fer_net_new(2, 11, 13);
    int a, y, sc, z;
    CHECK(net != NULL, "fer_net_new");
    a = fer_net_conv(net, 0, "conv1", 3, 3, 1, 1, 1);
    a = fer_net_relu(net, fer_net_bn(net, a, "bn1"));
    y = fer_net_conv(net, a, "block.conv1", 4, 3, 2, 1, 0);
    y = fer_net_relu(net, fer_net_bn(net, y, "block.bn1"));
    y = fer_net_conv(net, y, "block.conv2", 4, 3, 1, 1, 0);
    y = fer_net_bn(net, y, "block.bn2");
    sc = fer_net_conv(net, a, "block.downsample.0", 4, 1, 2, 0, 0);
    sc = fer_net_bn(net, sc, "block.downsample.1");
    z = fer_net_relu(net, fer_net_add(net, y, sc));
    z = fer_net_maxpool(net, fer_net_dropout(net, z, 0), 2, 2);
    z = fer_net_dense(net, z, "fc", 5, 1);
    CHECK(z < 0 || fer_net_outputs(net) == 5, "outputs %d", fer_net_outputs(net));
    grad_check_built(net, z, (size_t)NB * 2 * 11 * 13, (const int32_t[NB]){0, 3, 4, 1});
}

/* Adds whose gradient block their inputs share (the training plan's
 * grad_shares): an identity shortcut (the block input feeds conv1 and the
 * add, as in resnet18), then an add whose second input has another
 * consumer built after the first input, which must not share (it would
 * add its gradient into the block before the first input reads it), and
 * an add of an add. Input 3x6x7. */
static void test_grad_shared_add(void)
{
    fer_net *net = fer_net_new(3, 6, 7);
    int a, y, d, b, c, z;
    CHECK(net != NULL, "fer_net_new");
    a = fer_net_relu(net, fer_net_bn(net, fer_net_conv(net, 0, "conv1", 4, 3, 1, 1, 1), "bn1"));
    y = fer_net_relu(net, fer_net_bn(net, fer_net_conv(net, a, "b.conv1", 4, 3, 1, 1, 0), "b.bn1"));
    y = fer_net_bn(net, fer_net_conv(net, y, "b.conv2", 4, 3, 1, 1, 0), "b.bn2");
    a = fer_net_relu(net, fer_net_add(net, y, a));          /* identity shortcut */
    d = fer_net_bn(net, fer_net_conv(net, a, "p", 4, 3, 1, 1, 0), "p.bn");
    b = fer_net_relu(net, fer_net_conv(net, a, "q", 4, 3, 1, 1, 1));
    c = fer_net_conv(net, b, "r", 4, 3, 1, 1, 1);           /* b's other consumer, after d */
    z = fer_net_relu(net, fer_net_add(net, fer_net_add(net, d, b), c));
    z = fer_net_dense(net, fer_net_gap(net, z), "fc", 5, 1);
    grad_check_built(net, z, (size_t)NB * 3 * 6 * 7, (const int32_t[NB]){2, 0, 4, 1});
}

/* 5x5 conv with stride 2, leaky relu, 3x3/2 max pool, global average
 * pool, dense, batch norm on the dense output (1d), dropout 0, dense; and
 * an ff-like path with the input straight into a dense layer. */
static void test_grad_head(void)
{
    fer_net *net = fer_net_new(1, 13, 11);
    int x1 = fer_net_conv(net, 0, "conv", 5, 5, 2, 2, 1);
    x1 = fer_net_lrelu(net, x1, 0.1f);
    x1 = fer_net_maxpool(net, x1, 3, 2);
    x1 = fer_net_gap(net, x1);
    x1 = fer_net_dense(net, x1, "fc1", 6, 1);
    x1 = fer_net_dropout(net, fer_net_bn(net, x1, "bn"), 0);
    x1 = fer_net_dense(net, x1, "fc2", 3, 0);
    CHECK(x1 > 0, "building: %s", fer_error());
    if (x1 > 0 && fer_net_plan(net, NB) == 0) {
        randomise(net);
        float *x = randv((size_t)NB * 13 * 11, -1, 1);
        int32_t lab[NB] = {2, 0, 1, 2};
        grad_check(net, x, lab);
        free(x);
    }
    fer_net_free(net);

    net = fer_net_new(1, 5, 3);
    x1 = fer_net_dense(net, 0, "fc1", 9, 1);
    x1 = fer_net_dropout(net, fer_net_lrelu(net, x1, 0.01f), 0);
    x1 = fer_net_dense(net, x1, "fc2", 4, 1);
    CHECK(x1 > 0 && fer_net_plan(net, NB) == 0, "ff: %s", fer_error());
    if (x1 > 0) {
        randomise(net);
        float *x = randv((size_t)NB * 15, -1, 1);
        int32_t lab[NB] = {3, 1, 1, 0};
        grad_check(net, x, lab);
        free(x);
    }
    fer_net_free(net);
}

static void test_shapes_refused(void)
{
    fer_net *net = fer_net_new(1, 6, 6);
    int a = fer_net_conv(net, 0, "c", 4, 3, 2, 0, 0);   /* 2x2 */
    CHECK(fer_net_conv(net, a, "big", 2, 5, 1, 0, 0) < 0, "a 5x5 kernel on 2x2 accepted");
    CHECK(fer_net_add(net, a, 0) < 0, "add of 4x2x2 and 1x6x6 accepted");
    CHECK(strstr(fer_error(), "differ") != NULL, "message: %s", fer_error());
    CHECK(fer_net_dropout(net, a, 1.0f) < 0, "dropout 1 accepted");
    CHECK(fer_net_conv(net, 99, "x", 1, 1, 1, 0, 0) < 0, "input 99 accepted");
    fer_net_free(net);
}


/* A model file must load back: an input the loader refuses (H or W under
 * 8, C over 4) is refused when the model is built, not after training. */
static void test_model_input_limits(void)
{
    fer_model m;
    fer_model_opts o;
    fer_model_defaults("ff", &o);
    o.h = o.w = 4;
    CHECK(fer_model_build(&m, "ff", &o, NULL) == -1, "a model of 4x4 images built");
    CHECK(strstr(fer_error(), "input 1x4x4"), "message: %s", fer_error());
    o.h = o.w = 8;
    o.c = 5;
    CHECK(fer_model_build(&m, "ff", &o, NULL) == -1, "a model of 5 channels built");
    o.c = 1;
    CHECK(fer_model_build(&m, "ff", &o, NULL) == 0, "8x8: %s", fer_error());
    fer_model_free(&m);
}

/* A model file's header can declare a net far too large (the fuzzers'
 * finding: ff at width 8 on 4x1024x1024 images, 34 billion weights, which
 * the loader once tried to allocate). The build refuses it before any
 * large allocation, naming the limit; the largest real nets still build. */
static void test_model_size_limits(void)
{
    fer_model m;
    fer_model_opts o;
    fer_model_defaults("ff", &o);
    o.width = 8;
    o.c = 4;
    o.h = o.w = 1024;
    CHECK(fer_model_build(&m, "ff", &o, NULL) == -1, "ff width 8 on 4x1024x1024 built");
    CHECK(strstr(fer_error(), "fc1.weight") && strstr(fer_error(), "134217728"), "message: %s",
          fer_error());
    fer_model_defaults("resnet18", &o);
    o.width = 8;   /* 716 million weights */
    CHECK(fer_model_build(&m, "resnet18", &o, NULL) == -1, "resnet18 width 8 built");
    CHECK(strstr(fer_error(), "limit"), "message: %s", fer_error());
    fer_model_defaults("cnn", &o);
    o.h = o.w = 1024;   /* conv1 alone: 64 x 1024 x 1024 floats per image */
    CHECK(fer_model_build(&m, "cnn", &o, NULL) == -1, "cnn on 1024x1024 built");
    CHECK(strstr(fer_error(), "activations"), "message: %s", fer_error());
    fer_model_defaults("cnn", &o);
    o.width = 4;   /* 47 million weights: allowed (width 8 passes the limit) */
    CHECK(fer_model_build(&m, "cnn", &o, NULL) == 0, "cnn width 4: %s", fer_error());
    fer_model_free(&m);
    fer_model_defaults("resnet18", &o);
    o.width = 2;
    o.c = 3;
    o.h = o.w = 96;   /* twice the width on colour images of twice the side */
    CHECK(fer_model_build(&m, "resnet18", &o, NULL) == 0, "resnet18 3x96x96: %s", fer_error());
    fer_model_free(&m);
}

/* A temp file name under /tmp. */
static char *tmpname(char *buf, size_t n, const char *tag)
{
    snprintf(buf, n, "/tmp/fer-test-net-%ld-%s", (long)getpid(), tag);
    return buf;
}

static int build(fer_model *m, const char *arch, double width, int nclasses, uint64_t seed)
{
    fer_model_opts o;
    fer_rng rng;
    fer_model_defaults(arch, &o);
    o.width = width;
    o.nclasses = nclasses;
    fer_rng_seed(&rng, seed);
    return fer_model_build(m, arch, &o, &rng);
}

static void test_model_roundtrip(void)
{
    const char *archs[3] = {"cnn", "ff", "resnet18"};
    char path[256];
    tmpname(path, sizeof path, "rt.fer");
    for (int a = 0; a < 3; a++) {
        fer_model m, l;
        const int n = 3;
        float *x = randv((size_t)n * 48 * 48, -2, 2), *z;
        if (build(&m, archs[a], a == 2 ? 1 : 0.25, 7, 5 + a)) {
            CHECK(0, "build %s: %s", archs[a], fer_error());
            free(x);
            continue;
        }
        randomise(m.net);   /* running statistics too */
        m.mean = 0.4;
        CHECK(fer_model_note(&m, "train.epochs", "%d", 3) == 0, "note");
        CHECK(fer_model_save(&m, path) == 0, "save: %s", fer_error());
        CHECK(fer_model_load(&l, path) == 0, "load %s: %s", archs[a], fer_error());
        if (!l.net) {
            fer_model_free(&m);
            free(x);
            continue;
        }
        CHECK(!strcmp(l.arch, archs[a]) && l.opts.width == m.opts.width && l.mean == 0.4 &&
              l.std == m.std && l.nclasses == 7 && !strcmp(l.classes[6], "neutral"),
              "%s: meta differs", archs[a]);
        CHECK(l.train_meta && strstr(l.train_meta, "train.epochs=3"), "training record lost");
        fer_net_plan(m.net, n);
        fer_net_plan(l.net, n);
        z = malloc(2 * n * 7 * sizeof *z);
        fer_net_forward(m.net, x, n, 0, 0, 0, z);
        fer_net_forward(l.net, x, n, 0, 0, 0, z + n * 7);
        CHECK(!memcmp(z, z + n * 7, n * 7 * sizeof *z), "%s: logits differ after load",
              archs[a]);
        free(z);
        free(x);
        fer_model_free(&m);
        fer_model_free(&l);
    }
    unlink(path);
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    long n;
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fclose(f);
    return n;
}

static void copy_prefix(const char *from, const char *to, long n)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    char *buf = malloc(n > 0 ? n : 1);
    CHECK(a && b && fread(buf, 1, n, a) == (size_t)n && fwrite(buf, 1, n, b) == (size_t)n,
          "copying %ld bytes", n);
    free(buf);
    if (a)
        fclose(a);
    if (b)
        fclose(b);
}

static void test_model_refused(void)
{
    char path[256], cut[256];
    fer_model m, l;
    long size, last;
    tmpname(path, sizeof path, "ok.fer");
    tmpname(cut, sizeof cut, "cut.fer");
    if (build(&m, "ff", 0.25, 7, 9)) {
        CHECK(0, "build: %s", fer_error());
        return;
    }
    CHECK(fer_model_save(&m, path) == 0, "save: %s", fer_error());
    size = file_size(path);
    /* the last record: fc5.bias, 7 floats: 24 + 8 + 8 + 28 + 4 bytes */
    last = 24 + 8 + (long)strlen("fc5.bias") + 7 * 4 + 4;

    copy_prefix(path, cut, size - 10);   /* inside the last record */
    CHECK(fer_model_load(&l, cut) == -1, "a model cut mid-record loaded");
    CHECK(strstr(fer_error(), "truncated") != NULL, "message: %s", fer_error());
    copy_prefix(path, cut, size - last);   /* at a record boundary */
    CHECK(fer_model_load(&l, cut) == -1, "a model without fc5.bias loaded");
    CHECK(strstr(fer_error(), "fc5.bias") && strstr(fer_error(), "missing"), "message: %s",
          fer_error());

    /* model_version=4 in the meta: refused as too new */
    {
        FILE *f = fopen(cut, "wb");
        fer_record r;
        uint64_t zero = 0;
        const char *meta = "format=fer-model\nmodel_version=4\narch=ff\nwidth=0.25\ndropout=0.2\n"
                           "dropout2=0\ninput=1,48,48\nmean=0.5\nstd=0.25\nclasses=a,b\n";
        fer_record_init(&r, "model", FER_U8, 1, &zero, NULL, meta);
        CHECK(f && fer_record_write(f, &r) == 0, "writing");
        if (f)
            fclose(f);
        CHECK(fer_model_load(&l, cut) == -1, "model_version=4 loaded");
        CHECK(strstr(fer_error(), "version 4 is newer"), "message: %s", fer_error());
    }
    fer_model_free(&m);
    unlink(path);
    unlink(cut);
}


/* A NaN or an infinity in any tensor (a diverged run) is refused on load,
 * with the tensor's name. */
static void test_model_nonfinite(void)
{
    char path[256];
    fer_model m, l;
    const float bad[2] = {NAN, -INFINITY};
    tmpname(path, sizeof path, "nan.fer");
    for (int i = 0; i < 2; i++) {
        if (build(&m, "cnn", 0.125, 7, 3)) {
            CHECK(0, "build: %s", fer_error());
            return;
        }
        named_w(m.net, i ? "bn7.running_var" : "fc1.weight")[5] = bad[i];
        CHECK(fer_model_save(&m, path) == 0, "save: %s", fer_error());
        CHECK(fer_model_load(&l, path) == -1, "a model with %g loaded", bad[i]);
        CHECK(strstr(fer_error(), i ? "'bn7.running_var': a non-finite value (-inf at 5)"
                                    : "'fc1.weight': a non-finite value (nan at 5)"),
              "message: %s", fer_error());
        fer_model_free(&m);
    }
    unlink(path);
}

static void test_init_from(void)
{
    char path[256];
    fer_model a, b;
    int copied = -1, skipped = -1, n;
    tmpname(path, sizeof path, "init.fer");
    if (build(&a, "cnn", 0.125, 7, 1) || build(&b, "cnn", 0.125, 5, 2)) {
        CHECK(0, "build: %s", fer_error());
        return;
    }
    CHECK(fer_model_save(&a, path) == 0, "save: %s", fer_error());
    n = fer_net_nparams(b.net);
    float *fc2 = malloc(named_n(b.net, "fc2.weight") * sizeof *fc2);
    memcpy(fc2, named_w(b.net, "fc2.weight"), named_n(b.net, "fc2.weight") * sizeof *fc2);
    CHECK(fer_model_init_from(&b, path, &copied, &skipped) == 0, "init_from: %s", fer_error());
    CHECK(copied == n - 2 && skipped == 2, "copied %d skipped %d of %d", copied, skipped, n);
    for (int i = 0; i < n; i++) {
        const fer_param *p = fer_net_param(b.net, i);
        if (!strncmp(p->name, "fc2.", 4))
            continue;
        CHECK(!memcmp(param_w(b.net, i), param_w(a.net, i), p->n * sizeof(float)), "%s not copied",
              p->name);
    }
    CHECK(!memcmp(fc2, named_w(b.net, "fc2.weight"), named_n(b.net, "fc2.weight") * sizeof *fc2),
          "fc2.weight (7 vs 5 classes) was overwritten");
    free(fc2);
    fer_model_free(&a);
    fer_model_free(&b);
    unlink(path);
}

/* Three classes of 12x12 images: a bright 4x4 square in one of three
 * places, on noise. */
static void synthetic(fer_dataset *d, int n)
{
    uint8_t px[144];
    fer_dataset_init(d, 1, 12, 12);
    for (int i = 0; i < n; i++) {
        int c = i % 3;
        for (int j = 0; j < 144; j++)
            px[j] = (uint8_t)(check_uniform() * 120);
        for (int r = 0; r < 4; r++)
            for (int s = 0; s < 4; s++)
                px[(1 + 3 * c + r) * 12 + 1 + 3 * c + s] = (uint8_t)(180 + check_uniform() * 75);
        fer_dataset_push(d, px, c, FER_TRAINING);
    }
    d->nclasses = 3;
}

static int small_model(fer_model *m, const char *arch, uint64_t seed)
{
    fer_model_opts o;
    fer_rng rng;
    fer_model_defaults(arch, &o);
    o.width = 0.0625;
    o.nclasses = 3;
    o.h = o.w = 12;
    fer_rng_seed(&rng, seed);
    return fer_model_build(m, arch, &o, &rng);
}

static void test_train_learns(void)
{
    fer_dataset d;
    fer_model m;
    fer_train_opts o;
    fer_train_result r;
    double loss0, acc0, loss1, acc1;
    synthetic(&d, 90);
    if (small_model(&m, "ff", 3)) {
        CHECK(0, "build: %s", fer_error());
        fer_dataset_free(&d);
        return;
    }
    fer_train_defaults(&o);
    o.epochs = 25;
    o.batch = 16;
    o.optim.lr = 3e-3;
    CHECK(fer_predict_evaluate(&m, &d, 32, &loss0, &acc0) == 0, "evaluate: %s", fer_error());
    CHECK(fer_train(&m, &d, NULL, &o, &r) == 0, "train: %s", fer_error());
    CHECK(fer_predict_evaluate(&m, &d, 32, &loss1, &acc1) == 0, "evaluate: %s", fer_error());
    CHECK(loss1 < 0.5 * loss0, "loss %.4f -> %.4f", loss0, loss1);
    CHECK(acc1 >= 0.9, "accuracy %.3f -> %.3f", acc0, acc1);
    CHECK(r.epochs_run == 25, "epochs %d", r.epochs_run);
    fer_model_free(&m);
    fer_dataset_free(&d);
}

/* One thread, the same seed: the same weights, bit for bit (dropout and
 * mirroring draw from the seeded generator). */
static void test_train_repeats(void)
{
    fer_dataset d;
    fer_model m[2];
    fer_train_opts o;
    fer_train_result r;
    int old = fer_threads_get();
    synthetic(&d, 40);
    fer_train_defaults(&o);
    o.epochs = 2;
    o.batch = 8;
    o.mirror = 1;
    o.optim.kind = FER_SGD;
    o.optim.lr = 0.01;
    o.seed = 77;
    CHECK(fer_threads_set(1) == 0, "threads: %s", fer_error());
    for (int t = 0; t < 2; t++) {
        CHECK(small_model(&m[t], "cnn", 4) == 0, "build: %s", fer_error());
        CHECK(fer_train(&m[t], &d, NULL, &o, &r) == 0, "train: %s", fer_error());
    }
    for (int i = 0; i < fer_net_nparams(m[0].net); i++) {
        const fer_param *a = fer_net_param(m[0].net, i);
        CHECK(!memcmp(param_w(m[0].net, i), param_w(m[1].net, i), a->n * sizeof(float)), "%s differs between runs", a->name);
    }
    fer_threads_set(old);
    fer_model_free(&m[0]);
    fer_model_free(&m[1]);
    fer_dataset_free(&d);
}


/* A learning rate that makes the loss overflow stops training with an
 * error naming the epoch and batch, not a model of NaNs. */
static void test_train_diverges(void)
{
    fer_dataset d;
    fer_model m;
    fer_train_opts o;
    fer_train_result r;
    synthetic(&d, 40);
    if (small_model(&m, "ff", 3)) {
        CHECK(0, "build: %s", fer_error());
        fer_dataset_free(&d);
        return;
    }
    fer_train_defaults(&o);
    o.epochs = 3;
    o.batch = 8;
    o.optim.kind = FER_SGD;
    o.optim.lr = 1e30;
    CHECK(fer_train(&m, &d, NULL, &o, &r) == -1, "a diverging run returned success");
    CHECK(strstr(fer_error(), "training diverged") && strstr(fer_error(), "epoch 1"),
          "message: %s", fer_error());
    fer_model_free(&m);
    fer_dataset_free(&d);
}


/* A run resumed from the checkpoint of a later epoch's start ends with the
 * same weights, bit for bit, as the run that wrote it: the image order
 * (shuffled further each epoch), the plateau counters, the generator and
 * the best weights all come back. */
static void test_train_resume_exact(void)
{
    fer_dataset d, v;
    fer_model m[2];
    fer_train_opts o;
    fer_train_result r;
    char ck[256], ck2[256];
    int old = fer_threads_get();
    synthetic(&d, 40);
    synthetic(&v, 15);
    tmpname(ck, sizeof ck, "resume.ckpt");
    tmpname(ck2, sizeof ck2, "resume2.ckpt");
    fer_train_defaults(&o);
    o.epochs = 5;
    o.batch = 6;            /* 40 = 6 * 6 + 4: a remainder left to later epochs */
    o.mirror = 1;
    o.schedule = FER_SCHED_PLATEAU;
    o.patience = 0;
    o.gamma = 0.5;
    o.seed = 11;
    o.optim.lr = 3e-3;
    CHECK(fer_threads_set(1) == 0, "threads: %s", fer_error());
    /* the whole run; its checkpoint is left holding the start of epoch 5 */
    o.checkpoint = ck;
    CHECK(small_model(&m[0], "cnn", 6) == 0, "build: %s", fer_error());
    CHECK(fer_train(&m[0], &d, &v, &o, &r) == 0, "train: %s", fer_error());
    /* a fresh model that goes on from there */
    o.checkpoint = ck2;
    o.resume = ck;
    CHECK(small_model(&m[1], "cnn", 99) == 0, "build: %s", fer_error());
    CHECK(fer_train(&m[1], &d, &v, &o, &r) == 0, "resume: %s", fer_error());
    CHECK(r.epochs_run == 5, "epochs %d", r.epochs_run);
    for (int i = 0; i < fer_net_nparams(m[0].net); i++) {
        const fer_param *a = fer_net_param(m[0].net, i);
        CHECK(!memcmp(param_w(m[0].net, i), param_w(m[1].net, i), a->n * sizeof(float)), "%s differs after resuming", a->name);
    }
    /* a checkpoint of another data set is refused, not half used */
    {
        fer_dataset e;
        fer_model m3;
        synthetic(&e, 30);
        o.checkpoint = NULL;
        CHECK(small_model(&m3, "cnn", 6) == 0, "build: %s", fer_error());
        CHECK(fer_train(&m3, &e, &v, &o, &r) == -1, "a checkpoint of 40 images used for 30");
        CHECK(strstr(fer_error(), "checkpoint of 40 training images, training 30"), "'%s'",
              fer_error());
        fer_model_free(&m3);
        fer_dataset_free(&e);
    }
    fer_threads_set(old);
    fer_model_free(&m[0]);
    fer_model_free(&m[1]);
    fer_dataset_free(&d);
    fer_dataset_free(&v);
    unlink(ck);
    unlink(ck2);
}

int main(void)
{
    check_seed(4242);
    RUN(test_grad_residual);
    RUN(test_grad_shared_add);
    RUN(test_grad_head);
    RUN(test_shapes_refused);
    RUN(test_model_input_limits);
    RUN(test_model_size_limits);
    RUN(test_model_roundtrip);
    RUN(test_model_refused);
    RUN(test_model_nonfinite);
    RUN(test_init_from);
    RUN(test_train_learns);
    RUN(test_train_repeats);
    RUN(test_train_diverges);
    RUN(test_train_resume_exact);
    return check_done();
}
