/* backend_ref.h: the reference backend, for tests only: a fer_backend
 * (backend.h) whose ops are the plainest loops that follow the semantics
 * of cpu/layers.h, cpu/conv.h and nn/optim.h, and whose memory is host
 * memory. tests/test_backend.c holds every real backend to it, op by op
 * and one training step of whole nets.
 *
 * Where each op comes from:
 *   conv, dense       the library's _ref kernels, which are the spec
 *                     (conv.h, layers.h) and test the fast ones;
 *   xent              layers.h's fer_xent_*: already one plain pass in
 *                     double, checked against finite differences and
 *                     PyTorch in test_layers.c; a second copy of the same
 *                     formula would add nothing;
 *   augment_batch     augment_px.h's fer_augment_apply, the host copy
 *                     that defines the transforms (image/augment.h's
 *                     fer_augment_random is it after the draws), then
 *                     the preprocessing's two float operations;
 *   everything else   written here, independently of lib/cpu: batch norm,
 *                     pooling and the sums in double, the optimiser step
 *                     and the weight average in double from the float
 *                     inputs, rounded once; ReLU, leaky ReLU, dropout and
 *                     add as the one float operation layers.h names.
 *
 * A header of static functions, because the Makefile links each test from
 * its one .c file. */
#ifndef FER_BACKEND_REF_H
#define FER_BACKEND_REF_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "augment_px.h"
#include "backend.h"
#include "conv.h"
#include "layers.h"

/* ---- memory: host blocks, copies are memcpy ---- */

static void *ref_alloc(size_t bytes)
{
    return aligned_alloc(64, (bytes + 63) / 64 * 64 + (bytes ? 0 : 64));
}
static void ref_free(void *block) { free(block); }
static void ref_copy(void *dst, const void *src, size_t bytes)
{
    if (bytes && dst != src)
        memmove(dst, src, bytes);
}
static void ref_download(void *host, const void *src, size_t bytes) { ref_copy(host, src, bytes); }
static void ref_zero(void *dst, size_t bytes) { memset(dst, 0, bytes); }
static int ref_sync(void) { return 0; }

/* ---- convolution: conv.h's _ref kernels, which need no workspace ---- */

static size_t ref_conv_workspace(const fer_conv_shape *s)
{
    (void)s;
    return 0;
}

static void ref_conv_forward(const fer_conv_shape *s, const float *x, const float *w,
                             const float *b, float *y, float *ws)
{
    (void)ws;
    fer_conv2d_forward_ref(s, x, w, b, y);
}

static void ref_conv_backward(const fer_conv_shape *s, const float *x, const float *w,
                              const float *dy, float *dx, float *dw, float *db, float *ws)
{
    (void)ws;
    fer_conv2d_backward_ref(s, x, w, dy, dx, dw, db);
}

/* ---- batch norm, x (N, C, HW), everything in double ---- */

#define REF_AT(n, c, i) (((size_t)(n) * C + (c)) * HW + (i))

/* Channel c's mean and biased variance, two passes. */
static void ref_bn_stats(int N, int C, int HW, const float *x, int c, double *mean,
                         double *var)
{
    const double M = (double)N * HW;
    double s = 0, q = 0;
    for (int n = 0; n < N; n++)
        for (int i = 0; i < HW; i++)
            s += x[REF_AT(n, c, i)];
    *mean = s / M;
    for (int n = 0; n < N; n++)
        for (int i = 0; i < HW; i++) {
            double d = x[REF_AT(n, c, i)] - *mean;
            q += d * d;
        }
    *var = q / M;
}

/* y = gamma (x - mean) invstd + beta in double, rounded once (layers.h's
 * float x a + b differs from it by a few roundings). */
static void ref_bn_forward_train(int N, int C, int HW, const float *x, const float *gamma,
                                 const float *beta, float eps, float momentum, float *run_mean,
                                 float *run_var, float *y, float *save_mean, float *save_invstd)
{
    const double M = (double)N * HW;
    for (int c = 0; c < C; c++) {
        double mean, var, invstd;
        ref_bn_stats(N, C, HW, x, c, &mean, &var);
        invstd = 1 / sqrt(var + eps);
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) {
                size_t at = REF_AT(n, c, i);
                y[at] = (float)((double)gamma[c] * (x[at] - mean) * invstd + beta[c]);
            }
        save_mean[c] = (float)mean;
        save_invstd[c] = (float)invstd;
        run_mean[c] = (float)((1.0 - momentum) * run_mean[c] + (double)momentum * mean);
        run_var[c] = (float)((1.0 - momentum) * run_var[c] + (double)momentum * var * M / (M - 1));
    }
}

static void ref_bn_forward_infer(int N, int C, int HW, const float *x, const float *gamma,
                                 const float *beta, float eps, const float *run_mean,
                                 const float *run_var, float *y)
{
    for (int c = 0; c < C; c++) {
        const double invstd = 1 / sqrt((double)run_var[c] + eps), mean = run_mean[c];
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) {
                size_t at = REF_AT(n, c, i);
                y[at] = (float)((double)gamma[c] * (x[at] - mean) * invstd + beta[c]);
            }
    }
}

/* From the saved mean and invstd, as given: dbeta = sum dy, dgamma = sum
 * dy xhat, dx = gamma invstd (dy - dbeta / M - xhat dgamma / M). */
static void ref_bn_backward(int N, int C, int HW, const float *x, const float *dy,
                            const float *gamma, const float *save_mean, const float *save_invstd,
                            float *dx, float *dgamma, float *dbeta)
{
    const double M = (double)N * HW;
    for (int c = 0; c < C; c++) {
        const double mean = save_mean[c], invstd = save_invstd[c];
        double sdy = 0, sdyx = 0;
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) {
                size_t at = REF_AT(n, c, i);
                sdy += dy[at];
                sdyx += dy[at] * ((x[at] - mean) * invstd);
            }
        for (int n = 0; n < N; n++)
            for (int i = 0; i < HW; i++) {
                size_t at = REF_AT(n, c, i);
                double xhat = (x[at] - mean) * invstd;
                dx[at] = (float)(gamma[c] * invstd * (dy[at] - sdy / M - xhat * sdyx / M));
            }
        dbeta[c] = (float)sdy;
        dgamma[c] = (float)sdyx;
    }
}

#undef REF_AT

/* ---- element-wise; each output reads only its own inputs, so in place
 * is safe ---- */

static void ref_relu_forward(size_t n, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0 ? x[i] : 0.0f;
}

static void ref_relu_backward(size_t n, const float *x, const float *dy, float *dx)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = x[i] > 0 ? dy[i] : 0.0f;
}

static void ref_lrelu_forward(size_t n, float a, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0 ? x[i] : a * x[i];
}

static void ref_lrelu_backward(size_t n, float a, const float *x, const float *dy, float *dx)
{
    for (size_t i = 0; i < n; i++)
        dx[i] = x[i] > 0 ? dy[i] : a * dy[i];
}

/* layers.h: one fer_rng_float per element in order, kept when u >= p,
 * scaled by the float 1 / (1 - p); p <= 0 and p >= 1 draw nothing. */
static float ref_dropout_scale(float p)
{
    return p <= 0 ? 1.0f : p >= 1 ? 0.0f : 1.0f / (1.0f - p);
}

static void ref_dropout_forward(size_t n, float p, uint64_t key, const float *x, float *y,
                                uint8_t *mask)
{
    const float s = ref_dropout_scale(p);
    for (size_t i = 0; i < n; i++) {
        mask[i] = p <= 0 ? 1 : p >= 1 ? 0 : fer_rng_key_float(key, i) >= p;
        y[i] = mask[i] ? x[i] * s : 0.0f;
    }
}

static void ref_dropout_backward(size_t n, float p, const uint8_t *mask, const float *dy,
                                 float *dx)
{
    const float s = ref_dropout_scale(p);
    for (size_t i = 0; i < n; i++)
        dx[i] = mask[i] ? dy[i] * s : 0.0f;
}

static void ref_add(size_t n, const float *a, const float *b, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = b ? a[i] + b[i] : a[i];
}

/* ---- pooling ---- */

/* Each window scanned in row-major order from its first element; a later
 * element wins when it is larger, or NaN while the best so far is not. */
static void ref_maxpool_forward(int N, int C, int H, int W, int k, int stride, const float *x,
                                float *y, int32_t *argmax)
{
    const int P = (H - k) / stride + 1, Q = (W - k) / stride + 1;
    for (size_t plane = 0; plane < (size_t)N * C; plane++) {
        const float *xp = x + plane * H * W;
        for (int p = 0; p < P; p++)
            for (int q = 0; q < Q; q++) {
                int best = p * stride * W + q * stride;
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++) {
                        int at = (p * stride + i) * W + q * stride + j;
                        if (!isnan(xp[best]) && (isnan(xp[at]) || xp[at] > xp[best]))
                            best = at;
                    }
                y[(plane * P + p) * Q + q] = xp[best];
                argmax[(plane * P + p) * Q + q] = best;
            }
    }
}

static void ref_maxpool_backward(int N, int C, int H, int W, int k, int stride, const float *dy,
                                 const int32_t *argmax, float *dx)
{
    const size_t PQ = (size_t)((H - k) / stride + 1) * ((W - k) / stride + 1);
    memset(dx, 0, (size_t)N * C * H * W * sizeof *dx);
    for (size_t plane = 0; plane < (size_t)N * C; plane++)
        for (size_t i = 0; i < PQ; i++)
            dx[plane * H * W + argmax[plane * PQ + i]] += dy[plane * PQ + i];
}

static void ref_avgpool_forward(int N, int C, int HW, const float *x, float *y)
{
    for (size_t plane = 0; plane < (size_t)N * C; plane++) {
        double s = 0;
        for (int i = 0; i < HW; i++)
            s += x[plane * HW + i];
        y[plane] = (float)(s / HW);
    }
}

static void ref_avgpool_backward(int N, int C, int HW, const float *dy, float *dx)
{
    for (size_t plane = 0; plane < (size_t)N * C; plane++)
        for (int i = 0; i < HW; i++)
            dx[plane * HW + i] = (float)((double)dy[plane] / HW);
}

/* ---- the optimiser, over segments of flat blocks ---- */

static void ref_sum_squares(const float *g, const fer_optim_segment *seg, int nseg, double *out)
{
    double s = 0;
    for (int k = 0; k < nseg; k++)
        for (size_t i = seg[k].off; i < seg[k].off + seg[k].n; i++)
            s += (double)g[i] * g[i];
    *out = s;
}

/* nn/optim.h's rules in double from the float inputs, w, m and v rounded
 * once. When magw, magm and magv (laid out as w) are given, each element
 * of them gets the scale of float rounding in that result: the same
 * formula with every term replaced by its magnitude. */
static void ref_optim_step_mag(const fer_optim_step_args *a, float *magw, float *magm,
                               float *magv)
{
    const double mu = a->momentum, b1 = a->beta1, b2 = a->beta2, eps = a->eps;
    for (int k = 0; k < a->nseg; k++) {
        const fer_optim_segment *sg = &a->seg[k];
        const double lr = a->lr * sg->lr_scale, wd = sg->weight_decay;
        for (size_t i = sg->off; i < sg->off + sg->n; i++) {
            double w = a->w[i], g = (double)a->g[i] * a->gs, gd = g, gmag = fabs(g);
            double mw = fabs(w), mm = 0, mv = 0;
            if (a->kind != FER_STEP_ADAMW) {   /* decay in the gradient */
                gd = g + wd * w;
                gmag += fabs(wd * w);
            }
            if (a->kind == FER_STEP_SGD) {
                double m, mmag;
                if (mu == 0) {
                    w -= lr * gd;
                    mw += lr * gmag;
                } else {
                    m = a->t == 1 ? gd : mu * a->m[i] + gd;
                    mmag = a->t == 1 ? gmag : fabs(mu * a->m[i]) + gmag;
                    w -= lr * (a->nesterov ? gd + mu * m : m);
                    mw += lr * (a->nesterov ? gmag + mu * mmag : mmag);
                    a->m[i] = (float)m;
                    mm = mmag;
                }
            } else {
                double m = b1 * a->m[i] + (1 - b1) * gd, v = b2 * a->v[i] + (1 - b2) * gd * gd;
                double den = sqrt(v / a->bc2) + eps;
                mm = fabs(b1 * a->m[i]) + (1 - b1) * gmag;
                mv = b2 * a->v[i] + (1 - b2) * gmag * gmag;
                if (a->kind == FER_STEP_ADAMW)
                    w *= 1 - lr * wd;
                w -= lr / a->bc1 * m / den;
                mw += lr / a->bc1 * mm / den;
                a->m[i] = (float)m;
                a->v[i] = (float)v;
            }
            a->w[i] = (float)w;
            if (magw) {
                magw[i] = (float)mw;
                magm[i] = (float)mm;
                magv[i] = (float)mv;
            }
        }
    }
}

static void ref_optim_step(const fer_optim_step_args *a)
{
    fer_optim_step_args c = *a;
    if (c.sumsq) {   /* backend.h's clipping rule */
        const double norm = sqrt(*c.sumsq);
        c.gs = norm > c.clip ? (float)(c.clip / (norm + 1e-6)) : 1.0f;
        c.sumsq = NULL;
    }
    ref_optim_step_mag(&c, NULL, NULL, NULL);
}

static void ref_xent_forward(int N, int K, const float *logits, const int32_t *labels,
                             const float *class_w, float smoothing, float *probs, double *loss)
{
    *loss = fer_xent_forward(N, K, logits, labels, class_w, smoothing, probs);
}

static void ref_ema(size_t n, float k, const float *w, float *avg)
{
    for (size_t i = 0; i < n; i++)
        avg[i] = (float)(avg[i] + (double)k * ((double)w[i] - avg[i]));
}

static void ref_augment_batch(int n, int c, int h, int w, const uint8_t *data,
                              const int64_t *index, const fer_augment_params *par, float scale,
                              float shift, float *x)
{
    const size_t img = (size_t)c * h * w;
    uint8_t *px = malloc(2 * img);
    if (!px)
        abort();
    for (int j = 0; j < n; j++) {
        fer_augment_apply(&par[j], data + (size_t)index[j] * img, c, h, w, px, px + img);
        for (size_t i = 0; i < img; i++)
            x[(size_t)j * img + i] = (float)px[i] * scale - shift;
    }
    free(px);
}

static const fer_backend fer_backend_ref = {
    .name = "ref",
    .alloc = ref_alloc,
    .free = ref_free,
    .upload = ref_copy,
    .download = ref_download,
    .copy = ref_copy,
    .zero = ref_zero,
    .sync = ref_sync,
    .conv_workspace = ref_conv_workspace,
    .conv_forward = ref_conv_forward,
    .conv_backward = ref_conv_backward,
    .bn_forward_train = ref_bn_forward_train,
    .bn_forward_infer = ref_bn_forward_infer,
    .bn_backward = ref_bn_backward,
    .relu_forward = ref_relu_forward,
    .relu_backward = ref_relu_backward,
    .lrelu_forward = ref_lrelu_forward,
    .lrelu_backward = ref_lrelu_backward,
    .dropout_forward = ref_dropout_forward,
    .dropout_backward = ref_dropout_backward,
    .maxpool_forward = ref_maxpool_forward,
    .maxpool_backward = ref_maxpool_backward,
    .avgpool_forward = ref_avgpool_forward,
    .avgpool_backward = ref_avgpool_backward,
    .dense_forward = fer_dense_forward_ref,
    .dense_backward = fer_dense_backward_ref,
    .add = ref_add,
    .xent_forward = ref_xent_forward,
    .xent_backward = fer_xent_backward,
    .sum_squares = ref_sum_squares,
    .optim_step = ref_optim_step,
    .ema = ref_ema,
    .augment_batch = ref_augment_batch,
};

#endif
