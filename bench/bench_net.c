/* bench_net.c: images per second of one network, training or inference, on
 * random inputs, and the peak resident memory of the process. The PyTorch
 * half is bench/torch_net.py; bench/net.sh runs the two alternately and
 * prints the table (`make bench` runs net.sh, not this binary alone).
 *
 *   bench_net ARCH MODE BATCH [SECONDS [THREADS]]
 *     ARCH     cnn | ff | resnet18 (fer_model_build's defaults: width 1,
 *              its dropouts, 7 classes, 1x48x48); a cnn of other stages
 *              or width as cnn,stages=S,width=W (either or both: fer-train's
 *              --stages and --width), as bench/torch_net.py names it
 *     MODE     train: one SGD step (momentum 0.9, lr 0.01) per batch:
 *                preprocess, training forward, softmax cross-entropy
 *                forward and backward, backward pass, update
 *              infer: preprocess and an inference forward per batch
 *     SECONDS  time budget of the measured steps (default 4)
 *     THREADS  fer_threads_set (default 2)
 *     PRECISION fp32 (default) or bf16: fer_gemm_set_precision; on the
 *              GPU also tf32
 *     DEVICE   cpu (default) or cuda: the net moved to GPU 0
 *              (fer_backend_cuda_open); BENCH_GEMM=cublas there puts
 *              cuBLAS's products in place of ours. Training there runs
 *              as fer-train does: the batch's bytes uploaded once (the
 *              PyTorch half keeps its batch on the GPU too), each step
 *              built by augment_batch and replayed as one CUDA graph.
 *              Every step ends with the loss or the probabilities on
 *              the host, so the time counts whole steps.
 *   BENCH_FUSE=0 in the environment turns training's fusions off
 *              (fer_net_set_fusion): bench/fuse.sh measures what they save.
 *
 * Steps run on one batch of seeded random pixels and labels, first as a
 * warm-up (at least one step, up to 0.5 s), then timed until SECONDS have
 * passed and at least 2 steps have run. Prints one line of key=value
 * pairs:
 *   impl=fer net=cnn mode=train batch=32 threads=2 steps=9 seconds=4.02
 *   img_s=71.6 peak_mb=210.3 base_mb=2.1
 * peak_mb is getrusage's ru_maxrss (the high-water resident set of the
 * whole run) in MiB, base_mb the same at start-up, before the model is
 * built. Exit 0, 1 on failure, 2 on bad arguments. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "backend_cuda.h"
#include "error.h"
#include "gemm.h"
#include "layers.h"
#include "model.h"
#include "net.h"
#include "optim.h"
#include "parse.h"
#include "rng.h"
#include "threads.h"
#include "train_step.h"

#define SEED 1
#define WARMUP_S 0.5

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* The high-water resident set so far, in MiB (Linux: ru_maxrss in KiB). */
static double peak_mb(void)
{
    struct rusage u;
    if (getrusage(RUSAGE_SELF, &u))
        return -1;
    return u.ru_maxrss / 1024.0;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_net cnn[,stages=S][,width=W]|ff|resnet18 train|infer BATCH "
                    "[SECONDS [THREADS [fp32|tf32|bf16 [cpu|cuda]]]]\n");
    return 2;
}

/* ARCH into arch (its name) and mo: the defaults, then ",stages=S" and
 * ",width=W" for a cnn. 0, or -1 with fer_error() set. */
static int parse_arch(const char *spec, char *arch, size_t cap, fer_model_opts *mo)
{
    const char *comma = strchr(spec, ',');
    size_t len = comma ? (size_t)(comma - spec) : strlen(spec);
    if (len >= cap)
        return fer_seterr("unknown network '%s'", spec);
    memcpy(arch, spec, len);
    arch[len] = '\0';
    if (fer_model_defaults(arch, mo))
        return -1;
    while (comma) {
        const char *kv = comma + 1, *eq = strchr(kv, '=');
        char val[32];
        long stages;
        comma = strchr(kv, ',');
        len = comma ? (size_t)(comma - kv) : strlen(kv);
        if (!eq || eq > kv + len || strcmp(arch, "cnn") || len - (eq + 1 - kv) >= sizeof val)
            return fer_seterr("'%s': a cnn takes ,stages=S and ,width=W", spec);
        memcpy(val, eq + 1, len - (eq + 1 - kv));
        val[len - (eq + 1 - kv)] = '\0';
        if (eq - kv == 6 && !strncmp(kv, "stages", 6)) {
            if (fer_parse_long(val, 1, FER_CNN_STAGES_MAX, &stages))
                return -1;
            mo->stages = (int)stages;
        } else if (eq - kv == 5 && !strncmp(kv, "width", 5)) {
            if (fer_parse_double(val, 0.01, 16, &mo->width))
                return -1;
        } else {
            return fer_seterr("'%s': a cnn takes ,stages=S and ,width=W", spec);
        }
    }
    return 0;
}

/* What one step needs: the model, its optimiser and the batch. On a GPU
 * the training batch lives there, as bench/torch_net.py's does: its bytes
 * uploaded once (data), built by augment_batch with no transform, and the
 * step queued whole and replayed as one graph (train_step.h), as fer-train
 * runs it. */
typedef struct bench {
    fer_model m;
    fer_optim *opt;
    fer_rng rng;
    uint64_t step;              /* the training step, for dropout's draws */
    int train, n, k;
    uint8_t *px;
    int32_t *y;
    float *x, *probs;
    uint8_t *data;              /* GPU training: the batch's bytes there */
    int64_t *index;
    fer_augment_params *par;
    int c, h, w;                /* the input's shape, and its preprocessing */
    float scale, shift;
    fer_step_graph graph;
} bench;

static void step(bench *b)
{
    double loss;
    if (b->data) {
        const fer_step st = {b->m.net, b->opt, b->n, b->c, b->h, b->w, b->data, b->index,
                             b->par, b->scale, b->shift, b->y, NULL, 0.0f, 1, b->step++, 0.01,
                             NULL, 0, NULL};
        fer_step_run(&b->graph, 1, &st);
        fer_net_step_result(b->m.net, b->n, &loss, NULL);
        return;
    }
    fer_model_preprocess(&b->m, b->px, b->n, b->x);
    /* the logits come back to the host as an inference's would */
    fer_net_forward(b->m.net, b->x, b->n, b->train, 1, b->step++, b->train ? NULL : b->probs);
    if (!b->train)
        return;
    fer_net_loss(b->m.net, b->y, NULL, 0.0f, b->n, &loss, b->probs);
    fer_net_backward(b->m.net, NULL, b->n);
    fer_optim_step(b->opt, 0.01);
}

int main(int argc, char **argv)
{
    bench b;
    fer_model_opts mo;
    fer_optim_opts oo;
    long batch, threads = 2;
    double seconds = 4, base = peak_mb(), t0, t;
    size_t img;
    int steps, rc = 1;
    char arch[16];

    memset(&b, 0, sizeof b);
    if (argc < 4 || argc > 8)
        return usage();
    if (parse_arch(argv[1], arch, sizeof arch, &mo)) {
        fprintf(stderr, "bench_net: %s\n", fer_error());
        return usage();
    }
    if (strcmp(argv[2], "train") && strcmp(argv[2], "infer")) {
        fprintf(stderr, "bench_net: mode '%s': train or infer\n", argv[2]);
        return usage();
    }
    b.train = !strcmp(argv[2], "train");
    if (fer_parse_long(argv[3], b.train ? 2 : 1, 65536, &batch) ||
        (argc > 4 && fer_parse_double(argv[4], 0.01, 3600, &seconds)) ||
        (argc > 5 && fer_parse_long(argv[5], 1, FER_THREADS_MAX, &threads))) {
        fprintf(stderr, "bench_net: %s\n", fer_error());
        return usage();
    }
    const char *precision = argc > 6 ? argv[6] : "fp32";
    const fer_backend *be = NULL;
    if (argc > 7 && !strcmp(argv[7], "cuda")) {
        const char *gemm = getenv("BENCH_GEMM");
        if (!(be = fer_backend_cuda_open(0)) || fer_backend_cuda_precision(precision) ||
            fer_backend_cuda_gemm(gemm ? gemm : "ours")) {
            fprintf(stderr, "bench_net: %s\n", fer_error());
            return 1;
        }
    } else if (argc > 7 && strcmp(argv[7], "cpu")) {
        fprintf(stderr, "bench_net: device '%s': cpu or cuda\n", argv[7]);
        return usage();
    } else if (fer_gemm_set_precision(precision)) {
        fprintf(stderr, "bench_net: %s\n", fer_error());
        return usage();
    }
    if (fer_threads_set((int)threads)) {
        fprintf(stderr, "bench_net: %s\n", fer_error());
        return 1;
    }
    b.n = (int)batch;
    fer_rng_seed(&b.rng, SEED);
    if (fer_model_build(&b.m, arch, &mo, &b.rng)) {
        fprintf(stderr, "bench_net: %s\n", fer_error());
        return 1;
    }
    if (be && fer_net_set_backend(b.m.net, be)) {
        fprintf(stderr, "bench_net: %s\n", fer_error());
        return 1;
    }
    b.k = b.m.nclasses;
    img = (size_t)mo.c * mo.h * mo.w;
    fer_optim_defaults(&oo, FER_SGD);
    oo.lr = 0.01;
    oo.momentum = 0.9;
    b.px = malloc(b.n * img);
    b.y = malloc(b.n * sizeof *b.y);
    b.x = malloc(b.n * img * sizeof *b.x);
    b.probs = malloc((size_t)b.n * b.k * sizeof *b.probs);
    if (b.train)
        b.opt = fer_optim_new(b.m.net, &oo);
    if (!b.px || !b.y || !b.x || !b.probs || (b.train && !b.opt)) {
        fprintf(stderr, "bench_net: out of memory\n");
        goto out;
    }
    if (getenv("BENCH_FUSE") && !strcmp(getenv("BENCH_FUSE"), "0"))
        fer_net_set_fusion(b.m.net, 0);
    if (b.train ? fer_net_plan(b.m.net, b.n) : fer_net_plan_infer(b.m.net, b.n)) {
        fprintf(stderr, "bench_net: %s\n", fer_error());
        goto out;
    }
    for (size_t i = 0; i < b.n * img; i++)
        b.px[i] = (uint8_t)(fer_rng_u64(&b.rng) >> 56);
    for (int i = 0; i < b.n; i++)
        b.y[i] = (int32_t)fer_rng_below(&b.rng, b.k);
    if (be && b.train) {
        b.index = malloc(b.n * sizeof *b.index);
        b.par = calloc(b.n, sizeof *b.par);
        if (!b.index || !b.par || !(b.data = be->alloc(b.n * img))) {
            fprintf(stderr, "bench_net: out of memory\n");
            goto out;
        }
        be->upload(b.data, b.px, b.n * img);
        fer_net_input_shape(b.m.net, &b.c, &b.h, &b.w);
        fer_model_input_scale(&b.m, &b.scale, &b.shift);
        for (int i = 0; i < b.n; i++) {
            b.index[i] = i;
            b.par[i].bf = b.par[i].cf = 1;   /* no transform */
        }
    }

    t0 = now();
    do
        step(&b);
    while (now() - t0 < WARMUP_S);
    steps = 0;
    t0 = now();
    do {
        step(&b);
        steps++;
    } while ((t = now() - t0) < seconds || steps < 2);
    printf("impl=fer net=%s mode=%s batch=%d threads=%d precision=%s device=%s steps=%d "
           "seconds=%.3f img_s=%.2f peak_mb=%.1f base_mb=%.1f\n", argv[1], argv[2], b.n,
           fer_threads_get(), be ? precision : fer_gemm_precision(), be ? be->name : "cpu",
           steps, t, steps * (double)b.n / t, peak_mb(), base);
    rc = fflush(stdout) || ferror(stdout) ? 1 : 0;
out:
    free(b.px);
    free(b.y);
    free(b.x);
    free(b.probs);
    free(b.index);
    free(b.par);
    if (b.data) {
        fer_step_graph_free(&b.graph, be);
        be->free(b.data);
    }
    fer_optim_free(b.opt);
    fer_model_free(&b.m);
    return rc;
}
