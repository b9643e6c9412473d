/* backend_cpu.c: the CPU backend (backend_cpu.h). The layer kernels are
 * those of layers.h and conv.h; this file adds what the table needs
 * beyond them: memory, the optimiser's passes over flat blocks, and
 * training's batch (augment_px.h's transform). Every pass split over the
 * thread pool is element-wise, so its bits do not depend on the thread
 * count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "augment_px.h"
#include "backend_cpu.h"
#include "error.h"
#include "clones.h"
#include "conv.h"
#include "layers.h"
#include "scratch.h"
#include "threads.h"

static void *cpu_alloc(size_t bytes) { return fer_scratch_alloc(bytes ? bytes : 64); }
static void cpu_free(void *block) { free(block); }
static void cpu_copy(void *dst, const void *src, size_t bytes)
{
    if (bytes && dst != src)
        memcpy(dst, src, bytes);
}
static void cpu_download(void *host, const void *src, size_t bytes) { cpu_copy(host, src, bytes); }
static void cpu_zero(void *dst, size_t bytes) { memset(dst, 0, bytes); }
static int cpu_sync(void) { return 0; }

enum { SUM_CHUNK = 65536, STEP_CHUNK = 16384 };

static void cpu_add(size_t n, const float *a, const float *b, float *y)
{
    fer_add(n, a, b, y);
}

static void cpu_add_relu(size_t n, const float *a, const float *b, float *y)
{
    fer_add_relu(n, a, b, y);
}

static void cpu_sum_squares(const float *g, const fer_optim_segment *seg, int nseg, double *out)
{
    double s = 0;
    for (int i = 0; i < nseg; i++)
        for (size_t j = seg[i].off; j < seg[i].off + seg[i].n; j++)
            s += (double)g[j] * g[j];
    *out = s;
}

/* The step runs in chunks of STEP_CHUNK elements of one segment; first[i]
 * is segment i's first chunk. */
typedef struct step_job {
    const fer_optim_step_args *a;
    const int *first;
} step_job;

/* One chunk's update; branch-free loops, so that they vectorise. */
FER_CLONES static void step_task(void *ctx, int t, int thread)
{
    const step_job *j = ctx;
    const fer_optim_step_args *a = j->a;
    int s = 0;
    (void)thread;
    while (s + 1 < a->nseg && j->first[s + 1] <= t)
        s++;
    const fer_optim_segment *sg = &a->seg[s];
    const size_t lo = sg->off + (size_t)(t - j->first[s]) * STEP_CHUNK;
    const size_t hi = lo + STEP_CHUNK < sg->off + sg->n ? lo + STEP_CHUNK : sg->off + sg->n;
    float *restrict w = a->w, *restrict m = a->m, *restrict v = a->v;
    const float *restrict g = a->g;
    const float wd = sg->weight_decay, gs = a->gs, flr = (float)a->lr * sg->lr_scale;
    if (a->kind == FER_STEP_SGD) {
        const float mu = a->momentum;
        if (mu == 0) {
            for (size_t i = lo; i < hi; i++)
                w[i] -= flr * (g[i] * gs + wd * w[i]);
        } else if (a->t == 1) {   /* the momentum buffer starts as the gradient */
            for (size_t i = lo; i < hi; i++) {
                float gi = g[i] * gs + wd * w[i];
                m[i] = gi;
                w[i] -= flr * (a->nesterov ? gi + mu * gi : gi);
            }
        } else if (a->nesterov) {
            for (size_t i = lo; i < hi; i++) {
                float gi = g[i] * gs + wd * w[i], mi = mu * m[i] + gi;
                m[i] = mi;
                w[i] -= flr * (gi + mu * mi);
            }
        } else {
            for (size_t i = lo; i < hi; i++) {
                float gi = g[i] * gs + wd * w[i], mi = mu * m[i] + gi;
                m[i] = mi;
                w[i] -= flr * mi;
            }
        }
        return;
    }
    const float b1 = a->beta1, b2 = a->beta2, eps = a->eps;
    const float step = (float)(a->lr * sg->lr_scale / a->bc1);
    const float sq = (float)sqrt(a->bc2);
    if (a->kind == FER_STEP_ADAMW) {
        const float keep = 1 - flr * wd;
        for (size_t i = lo; i < hi; i++) {
            float gi = g[i] * gs, wi = w[i] * keep;
            float mi = b1 * m[i] + (1 - b1) * gi, vi = b2 * v[i] + (1 - b2) * gi * gi;
            m[i] = mi;
            v[i] = vi;
            w[i] = wi - step * mi / (sqrtf(vi) / sq + eps);
        }
    } else {
        for (size_t i = lo; i < hi; i++) {
            float gi = g[i] * gs + wd * w[i];
            float mi = b1 * m[i] + (1 - b1) * gi, vi = b2 * v[i] + (1 - b2) * gi * gi;
            m[i] = mi;
            v[i] = vi;
            w[i] -= step * mi / (sqrtf(vi) / sq + eps);
        }
    }
}

static void cpu_optim_step(const fer_optim_step_args *args)
{
    fer_optim_step_args clipped = *args, *a = &clipped;
    if (a->sumsq) {   /* backend.h's clipping rule */
        const double norm = sqrt(*a->sumsq);
        a->gs = norm > a->clip ? (float)(a->clip / (norm + 1e-6)) : 1.0f;
        a->sumsq = NULL;
    }
    int stack[256], *first = a->nseg <= 256 ? stack : malloc(a->nseg * sizeof *first), k = 0;
    step_job j = {a, first};
    if (!first) {   /* no memory for the index: one chunk list at a time */
        for (int s = 0; s < a->nseg; s++) {
            fer_optim_step_args one = *a;
            one.seg = &a->seg[s];
            one.nseg = 1;
            cpu_optim_step(&one);
        }
        return;
    }
    for (int s = 0; s < a->nseg; s++) {
        first[s] = k;
        k += (int)((a->seg[s].n + STEP_CHUNK - 1) / STEP_CHUNK);
    }
    fer_parallel_for(k, step_task, &j);
    if (first != stack)
        free(first);
}

typedef struct ema_job {
    size_t n;
    float k;
    const float *w;
    float *avg;
} ema_job;

static void ema_task(void *ctx, int t, int thread)
{
    const ema_job *j = ctx;
    size_t lo, hi;
    float *restrict e = j->avg;
    const float *restrict w = j->w;
    const float k = j->k;
    (void)thread;
    fer_chunk(j->n, SUM_CHUNK, t, &lo, &hi);
    for (size_t i = lo; i < hi; i++)
        e[i] += k * (w[i] - e[i]);
}

static void cpu_xent_forward(int N, int K, const float *logits, const int32_t *labels,
                             const float *class_w, float smoothing, float *probs, double *loss)
{
    *loss = fer_xent_forward(N, K, logits, labels, class_w, smoothing, probs);
}

static void cpu_ema(size_t n, float k, const float *w, float *avg)
{
    ema_job j = {n, k, w, avg};
    fer_parallel_for(fer_chunks(n, SUM_CHUNK), ema_task, &j);
}

/* The batch: one task per image, each with its thread's scratch for the
 * two stages' bytes; fer_augment_apply is the transform every backend
 * runs (augment_px.h), so the bytes do not depend on the thread count. */
typedef struct augment_job {
    int c, h, w;
    const uint8_t *data;
    const int64_t *index;
    const fer_augment_params *par;
    float scale, shift, *x;
} augment_job;

static void augment_task(void *ctx, int t, int thread)
{
    const augment_job *j = ctx;
    const size_t n = (size_t)j->c * j->h * j->w;
    /* 2 n bytes: a few KB, so that running out of them is running out of
     * memory altogether */
    uint8_t *px = (uint8_t *)fer_scratch(FER_SCRATCH_PACK, (2 * n + 3) / 4);
    float *x = j->x + (size_t)t * n;
    (void)thread;
    FER_ASSERT(px != NULL);
    fer_augment_apply(&j->par[t], j->data + (size_t)j->index[t] * n, j->c, j->h, j->w, px,
                      px + n);
    for (size_t i = 0; i < n; i++)
        x[i] = fer_px_float(px[i], j->scale, j->shift);
}

static void cpu_augment_batch(int n, int c, int h, int w, const uint8_t *data,
                              const int64_t *index, const fer_augment_params *par, float scale,
                              float shift, float *x)
{
    augment_job j = {c, h, w, data, index, par, scale, shift, x};
    fer_parallel_for(n, augment_task, &j);
}

const fer_backend fer_backend_cpu = {
    .name = "cpu",
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_copy,
    .download = cpu_download,
    .copy = cpu_copy,
    .zero = cpu_zero,
    .sync = cpu_sync,
    .conv_workspace = fer_conv2d_workspace,
    .conv_forward = fer_conv2d_forward,
    .conv_backward = fer_conv2d_backward,
    .bn_forward_train = fer_batchnorm_forward_train,
    .bn_forward_infer = fer_batchnorm_forward_infer,
    .bn_backward = fer_batchnorm_backward,
    .relu_forward = fer_relu_forward,
    .relu_backward = fer_relu_backward,
    .lrelu_forward = fer_leaky_relu_forward,
    .lrelu_backward = fer_leaky_relu_backward,
    .dropout_forward = fer_dropout_forward,
    .dropout_backward = fer_dropout_backward,
    .maxpool_forward = fer_maxpool_forward,
    .maxpool_backward = fer_maxpool_backward,
    .avgpool_forward = fer_avgpool_forward,
    .avgpool_backward = fer_avgpool_backward,
    .dense_forward = fer_dense_forward,
    .dense_backward = fer_dense_backward,
    .add = cpu_add,
    .add_relu = cpu_add_relu,
    .xent_forward = cpu_xent_forward,
    .xent_backward = fer_xent_backward,
    .sum_squares = cpu_sum_squares,
    .optim_step = cpu_optim_step,
    .ema = cpu_ema,
    .augment_batch = cpu_augment_batch,
    .conv_forward_fused = fer_conv2d_forward_fused,
    .bn_forward_train_stats = fer_batchnorm_forward_train_stats,
    .bn_relu_backward_stats = fer_batchnorm_relu_backward_stats,
    .bn_forward_train_stats_add = fer_batchnorm_forward_train_stats_add,
    .conv_forward_infer_fused = fer_conv2d_forward_infer_fused,
    .conv_infer_pack_floats = fer_conv2d_infer_pack_floats,
};
