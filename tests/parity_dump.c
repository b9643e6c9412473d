/* parity_dump: the C half of the PyTorch parity test (tests/torch_parity.sh,
 * tests/fer_torch.py). Not a test_*.c: the harness does not run it alone.
 *
 *   parity_dump ARCH WIDTH SEED N MODEL.fer DUMP.fer
 *   parity_dump --forward MODEL.fer SEED N DUMP.fer
 *
 * The first form builds ARCH (cnn, ff, resnet18) with WIDTH and every
 * dropout 0, seeded weights, and random biases, batch-norm affine
 * parameters and running statistics (so that none is a trivial 0 or 1);
 * saves it to MODEL.fer; draws a batch x (N, 1, 48, 48) of inputs (after
 * preprocessing) and labels; then writes to DUMP.fer:
 *   "config"              u8 (0), meta: the optimiser settings used below
 *   "x", "labels"         the batch
 *   "logits", "loss"      training-mode forward (batch statistics), mean
 *                         softmax cross-entropy (f64)
 *   "grad/<p>"            every gradient from fer_net_backward
 *   "train/<b>"           batch-norm running statistics after that forward
 *   "infer_logits"        inference forward with those running statistics
 *   "<opt>/<p>"           every trainable parameter after two steps of opt
 *                         (sgd, sgd_nesterov, adam, adamw) from the saved
 *                         weights with the gradient above (the same gradient
 *                         twice, so that the momentum buffers, which the
 *                         first step starts, and bias correction show)
 * The second form loads MODEL.fer, draws x as above and writes "x" and the
 * inference "infer_logits" (for the converter test). Exit 0, or 1 with a
 * message. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "layers.h"
#include "model.h"
#include "net_test.h"
#include "optim.h"
#include "parse.h"
#include "record.h"
#include "rng.h"

static int put(FILE *f, const char *name, int dtype, int ndim, const uint64_t *shape,
               const void *data, const char *meta)
{
    fer_record r;
    fer_record_init(&r, name, dtype, ndim, shape, data, meta);
    return fer_record_write(f, &r);
}

static int put_f32(FILE *f, const char *name, size_t n, const float *v)
{
    uint64_t s = n;
    return put(f, name, FER_F32, 1, &s, v, NULL);
}

static int put_batch(FILE *f, const float *x, int n, int c, int h, int w)
{
    uint64_t s[4] = {(uint64_t)n, (uint64_t)c, (uint64_t)h, (uint64_t)w};
    return put(f, "x", FER_F32, 4, s, x, NULL);
}

static float *draw_batch(fer_rng *rng, int n, int c, int h, int w)
{
    size_t total = (size_t)n * c * h * w;
    float *x = malloc(total * sizeof *x);
    if (x)
        for (size_t i = 0; i < total; i++)   /* the range of preprocessed pixels */
            x[i] = (float)(4 * fer_rng_double(rng) - 2);
    return x;
}

static int ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && !strcmp(s + a - b, tail);
}

/* Non-trivial values for what initialisation leaves at 0 or 1. */
static void perturb(fer_net *net, fer_rng *rng)
{
    for (int i = 0; i < fer_net_nparams(net); i++) {
        const fer_param *p = fer_net_param(net, i);
        float *w = param_w(net, i);
        int bn = !!strstr(p->name, "bn") || !!strstr(p->name, "downsample.1");
        for (size_t j = 0; j < p->n; j++) {
            double u = fer_rng_double(rng);
            if (ends_with(p->name, ".running_var"))
                w[j] = (float)(0.5 + u);
            else if (ends_with(p->name, ".running_mean"))
                w[j] = (float)(0.4 * u - 0.2);
            else if (bn && ends_with(p->name, ".weight"))
                w[j] = (float)(0.6 + 0.8 * u);
            else if (ends_with(p->name, ".bias"))
                w[j] = (float)(0.2 * u - 0.1);
        }
    }
}

struct opt_case {
    const char *name;
    int kind, nesterov;
    double lr, weight_decay;
};

static const struct opt_case opt_cases[] = {
    {"sgd", FER_SGD, 0, 0.05, 1e-4},
    {"sgd_nesterov", FER_SGD, 1, 0.05, 1e-4},
    {"adam", FER_ADAM, 0, 1e-3, 1e-4},
    {"adamw", FER_ADAMW, 0, 1e-3, 1e-2},
};
#define NOPT (int)(sizeof opt_cases / sizeof opt_cases[0])

static int training_dump(const char *arch, double width, uint64_t seed, int n, const char *model_path,
                         const char *dump_path)
{
    fer_model m;
    fer_model_opts o;
    fer_rng rng;
    FILE *f = NULL;
    float *x = NULL, *probs = NULL, *dl = NULL, **w0 = NULL;
    int32_t *labels = NULL;
    int np, k, rc = -1;
    char meta[1024], name[256];
    double loss;

    if (fer_model_defaults(arch, &o))
        return -1;
    o.width = width;
    o.dropout = o.dropout2 = 0;
    fer_rng_seed(&rng, seed);
    if (fer_model_build(&m, arch, &o, &rng))
        return -1;
    perturb(m.net, &rng);
    if (fer_model_save(&m, model_path) || fer_net_plan(m.net, n))
        goto out;
    np = fer_net_nparams(m.net);
    k = m.nclasses;
    x = draw_batch(&rng, n, o.c, o.h, o.w);
    labels = malloc(n * sizeof *labels);
    probs = malloc((size_t)n * k * sizeof *probs);
    dl = malloc((size_t)n * k * sizeof *dl);
    w0 = calloc(np, sizeof *w0);
    if (!x || !labels || !probs || !dl || !w0) {
        fer_seterr("out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++)
        labels[i] = (int32_t)fer_rng_below(&rng, (uint64_t)k);
    for (int i = 0; i < np; i++) {
        const fer_param *p = fer_net_param(m.net, i);
        if (!(w0[i] = malloc(p->n * sizeof(float)))) {
            fer_seterr("out of memory");
            goto out;
        }
        memcpy(w0[i], param_w(m.net, i), p->n * sizeof(float));
    }
    if (!(f = fopen(dump_path, "wb"))) {
        fer_seterr("%s: cannot open", dump_path);
        goto out;
    }
    snprintf(meta, sizeof meta,
             "arch=%s\nwidth=%.17g\nseed=%llu\nmomentum=0.9\nbeta1=0.9\nbeta2=0.999\neps=1e-8\n",
             arch, width, (unsigned long long)seed);
    for (int j = 0; j < NOPT; j++) {
        size_t len = strlen(meta);
        snprintf(meta + len, sizeof meta - len, "%s.lr=%.17g\n%s.weight_decay=%.17g\n",
                 opt_cases[j].name, opt_cases[j].lr, opt_cases[j].name,
                 opt_cases[j].weight_decay);
    }
    {
        uint64_t zero = 0, nn = (uint64_t)n, nk[2] = {(uint64_t)n, (uint64_t)k}, one = 1;
        if (put(f, "config", FER_U8, 1, &zero, NULL, meta) || put_batch(f, x, n, o.c, o.h, o.w) ||
            put(f, "labels", FER_I32, 1, &nn, labels, NULL))
            goto out;

        if (fer_net_forward(m.net, x, n, 1, seed, 0, dl))
            goto out;
        loss = fer_xent_forward(n, k, dl, labels, NULL, 0, probs);
        if (put(f, "logits", FER_F32, 2, nk, dl, NULL) ||
            put(f, "loss", FER_F64, 1, &one, &loss, NULL))
            goto out;
        fer_xent_backward(n, k, probs, labels, NULL, 0, dl);
        if (fer_net_backward(m.net, dl, n))
            goto out;
        for (int i = 0; i < np; i++) {
            const fer_param *p = fer_net_param(m.net, i);
            snprintf(name, sizeof name, "%s/%s", p->learn ? "grad" : "train", p->name);
            if (put_f32(f, name, p->n, p->learn ? param_g(m.net, i) : param_w(m.net, i)))
                goto out;
        }
        if (fer_net_forward(m.net, x, n, 0, 0, 0, dl) ||
            put(f, "infer_logits", FER_F32, 2, nk, dl, NULL))
            goto out;
    }
    for (int j = 0; j < NOPT; j++) {
        fer_optim_opts oo;
        fer_optim *opt;
        fer_optim_defaults(&oo, opt_cases[j].kind);
        oo.lr = opt_cases[j].lr;
        oo.momentum = 0.9;
        oo.nesterov = opt_cases[j].nesterov;
        oo.weight_decay = opt_cases[j].weight_decay;
        for (int i = 0; i < np; i++) {
            const fer_param *p = fer_net_param(m.net, i);
            if (p->learn)
                memcpy(param_w(m.net, i), w0[i], p->n * sizeof(float));
        }
        if (!(opt = fer_optim_new(m.net, &oo)))
            goto out;
        fer_optim_step(opt, oo.lr);
        fer_optim_step(opt, oo.lr);
        fer_optim_free(opt);
        for (int i = 0; i < np; i++) {
            const fer_param *p = fer_net_param(m.net, i);
            snprintf(name, sizeof name, "%s/%s", opt_cases[j].name, p->name);
            if (p->learn && put_f32(f, name, p->n, param_w(m.net, i)))
                goto out;
        }
    }
    if (fclose(f)) {
        f = NULL;
        fer_seterr("%s: write error", dump_path);
        goto out;
    }
    f = NULL;
    rc = 0;
out:
    if (f)
        fclose(f);
    for (int i = 0; w0 && i < fer_net_nparams(m.net); i++)
        free(w0[i]);
    free(w0);
    free(x);
    free(labels);
    free(probs);
    free(dl);
    fer_model_free(&m);
    return rc;
}

static int forward_dump(const char *model_path, uint64_t seed, int n, const char *dump_path)
{
    fer_model m;
    fer_rng rng;
    FILE *f;
    float *x;
    int c, h, w, rc = -1;
    if (fer_model_load(&m, model_path))
        return -1;
    fer_rng_seed(&rng, seed);
    fer_net_input_shape(m.net, &c, &h, &w);
    if (!(x = draw_batch(&rng, n, c, h, w)) || fer_net_plan(m.net, n)) {
        free(x);
        fer_model_free(&m);
        return x ? -1 : fer_seterr("out of memory");
    }
    if ((f = fopen(dump_path, "wb"))) {
        uint64_t nk[2] = {(uint64_t)n, (uint64_t)m.nclasses};
        float *logits = malloc((size_t)n * m.nclasses * sizeof *logits);
        rc = !logits || fer_net_forward(m.net, x, n, 0, 0, 0, logits) ||
             put_batch(f, x, n, c, h, w) || put(f, "infer_logits", FER_F32, 2, nk, logits, NULL);
        free(logits);
        rc = (fclose(f) || rc) ? fer_seterr("%s: write error", dump_path) : 0;
    } else {
        fer_seterr("%s: cannot open", dump_path);
    }
    free(x);
    fer_model_free(&m);
    return rc;
}

int main(int argc, char **argv)
{
    double width;
    long seed, n;
    int rc;
    if (argc == 6 && !strcmp(argv[1], "--forward")) {
        if (fer_parse_long(argv[3], 0, 1L << 30, &seed) || fer_parse_long(argv[4], 1, 1024, &n))
            goto bad;
        rc = forward_dump(argv[2], (uint64_t)seed, (int)n, argv[5]);
    } else if (argc == 7) {
        if (fer_parse_double(argv[2], 1e-3, 8, &width) ||
            fer_parse_long(argv[3], 0, 1L << 30, &seed) || fer_parse_long(argv[4], 2, 1024, &n))
            goto bad;
        rc = training_dump(argv[1], width, (uint64_t)seed, (int)n, argv[5], argv[6]);
    } else {
        fprintf(stderr, "usage: parity_dump ARCH WIDTH SEED N MODEL.fer DUMP.fer\n"
                        "       parity_dump --forward MODEL.fer SEED N DUMP.fer\n");
        return 2;
    }
    if (rc) {
        fprintf(stderr, "parity_dump: %s\n", fer_error());
        return 1;
    }
    return 0;
bad:
    fprintf(stderr, "parity_dump: %s\n", fer_error());
    return 2;
}
