/* conv_gemm.c: im2col + GEMM convolution, forward and backward. */
#include <string.h>

#include "conv_gemm.h"
#include "gemm.h"
#include "threads.h"

int fer_conv_gemm_group(const fer_conv_shape *s)
{
    size_t crs = (size_t)s->C * s->R * s->S, pq = (size_t)s->P * s->Q;
    size_t g = FER_CONV_COLS_TARGET / (crs * pq);
    if (g < 1)
        g = 1;
    if (g > (size_t)s->N)
        g = s->N;
    return (int)g;
}

static int is_pointwise(const fer_conv_shape *s)
{
    return s->R == 1 && s->S == 1 && s->stride == 1 && s->pad == 0;
}

size_t fer_conv_gemm_workspace(const fer_conv_shape *s)
{
    size_t g = fer_conv_gemm_group(s), pq = (size_t)s->P * s->Q;
    size_t crs = (size_t)s->C * s->R * s->S;
    /* columns (or their gradient) + the group's output in (K, g*PQ) order */
    return crs * g * pq + (size_t)s->K * g * pq;
}

typedef struct cols_job {
    const fer_conv_shape *s;
    const float *x;         /* the group's first image */
    float *col;             /* (C*R*S, g*PQ) */
    float *dx;              /* col2im target */
    int g;
} cols_job;

/* One row block of the column matrix per (image, channel) task. */
static void im2col_task(void *ctx, int task, int thread)
{
    const cols_job *j = ctx;
    const fer_conv_shape *s = j->s;
    int img = task / s->C, c = task % s->C;
    const int H = s->H, W = s->W, P = s->P, Q = s->Q, st = s->stride, pad = s->pad;
    size_t pq = (size_t)P * Q, ld = (size_t)j->g * pq;
    const float *xc = j->x + ((size_t)img * s->C + c) * H * W;
    (void)thread;
    for (int r = 0; r < s->R; r++)
        for (int q = 0; q < s->S; q++) {
            float *row = j->col + ((size_t)(c * s->R + r) * s->S + q) * ld + img * pq;
            for (int p = 0; p < P; p++) {
                int ih = p * st - pad + r;
                float *o = row + (size_t)p * Q;
                if (ih < 0 || ih >= H) {
                    memset(o, 0, Q * sizeof(float));
                    continue;
                }
                const float *xr = xc + (size_t)ih * W;
                if (st == 1) {
                    int lo = pad - q, hi = W + pad - q;   /* valid ow range */
                    for (int ow = 0; ow < Q; ow++)
                        o[ow] = (ow >= lo && ow < hi) ? xr[ow - lo] : 0;
                } else {
                    for (int ow = 0; ow < Q; ow++) {
                        int iw = ow * st - pad + q;
                        o[ow] = (iw >= 0 && iw < W) ? xr[iw] : 0;
                    }
                }
            }
        }
}

/* The column matrix transposed, colT (g*PQ, C*R*S): one row per output
 * pixel. The weight gradient dy (K, g*PQ) x colT then runs without a
 * transposed operand, whose packing would read C*R*S far-apart rows at
 * once. One task per (image, output row). */
static void im2row_task(void *ctx, int task, int thread)
{
    const cols_job *j = ctx;
    const fer_conv_shape *s = j->s;
    const int H = s->H, W = s->W, P = s->P, Q = s->Q, st = s->stride, pad = s->pad;
    const int C = s->C, R = s->R, S = s->S;
    int img = task / P, p = task % P;
    size_t crs = (size_t)C * R * S, pq = (size_t)P * Q;
    const float *xi = j->x + (size_t)img * C * H * W;
    float *out = j->col + ((size_t)img * pq + (size_t)p * Q) * crs;
    (void)thread;
    for (int q = 0; q < Q; q++, out += crs) {
        float *o = out;
        for (int c = 0; c < C; c++) {
            const float *xc = xi + (size_t)c * H * W;
            for (int r = 0; r < R; r++) {
                int ih = p * st - pad + r;
                if (ih < 0 || ih >= H) {
                    for (int k = 0; k < S; k++)
                        *o++ = 0;
                    continue;
                }
                const float *xr = xc + (size_t)ih * W;
                for (int k = 0; k < S; k++) {
                    int iw = q * st - pad + k;
                    *o++ = (iw >= 0 && iw < W) ? xr[iw] : 0;
                }
            }
        }
    }
}

/* The transpose of im2col: adds the column gradients back into dx, one
 * (image, channel) plane per task, so no two tasks write the same place. */
static void col2im_task(void *ctx, int task, int thread)
{
    const cols_job *j = ctx;
    const fer_conv_shape *s = j->s;
    int img = task / s->C, c = task % s->C;
    const int H = s->H, W = s->W, P = s->P, Q = s->Q, st = s->stride, pad = s->pad;
    size_t pq = (size_t)P * Q, ld = (size_t)j->g * pq;
    float *dxc = j->dx + ((size_t)img * s->C + c) * H * W;
    (void)thread;
    memset(dxc, 0, (size_t)H * W * sizeof(float));
    for (int r = 0; r < s->R; r++)
        for (int q = 0; q < s->S; q++) {
            const float *row = j->col + ((size_t)(c * s->R + r) * s->S + q) * ld + img * pq;
            for (int p = 0; p < P; p++) {
                int ih = p * st - pad + r;
                const float *o = row + (size_t)p * Q;
                if (ih < 0 || ih >= H)
                    continue;
                float *xr = dxc + (size_t)ih * W;
                for (int ow = 0; ow < Q; ow++) {
                    int iw = ow * st - pad + q;
                    if (iw >= 0 && iw < W)
                        xr[iw] += o[ow];
                }
            }
        }
}

void fer_conv2d_forward_gemm(const fer_conv_shape *s, const float *x, const float *w,
                             const float *b, float *y, float *ws)
{
    const int K = s->K, g0 = fer_conv_gemm_group(s);
    const size_t pq = (size_t)s->P * s->Q, crs = (size_t)s->C * s->R * s->S;
    const size_t chw = (size_t)s->C * s->H * s->W;
    for (int n0 = 0; n0 < s->N; n0 += g0) {
        int g = s->N - n0 < g0 ? s->N - n0 : g0;
        size_t cols = (size_t)g * pq;
        const float *col;
        float *out = g == 1 ? y + (size_t)n0 * K * pq : ws + crs * (size_t)g0 * pq;
        if (is_pointwise(s) && g == 1) {
            col = x + (size_t)n0 * chw;
        } else {
            cols_job j = {s, x + (size_t)n0 * chw, ws, NULL, g};
            fer_parallel_for(g * s->C, im2col_task, &j);
            col = ws;
        }
        fer_gemm(0, 0, K, (int)cols, (int)crs, 1.0f, w, (int)crs, col, (int)cols, 0.0f, out,
                 (int)cols);
        for (int img = 0; img < g; img++)
            for (int k = 0; k < K; k++) {
                float *dst = y + ((size_t)(n0 + img) * K + k) * pq;
                const float *src = out + (size_t)k * cols + img * pq;
                float bias = b ? b[k] : 0;
                if (dst != src)
                    for (size_t i = 0; i < pq; i++)
                        dst[i] = src[i] + bias;
                else if (b)
                    for (size_t i = 0; i < pq; i++)
                        dst[i] += bias;
            }
    }
}

void fer_conv2d_backward_gemm(const fer_conv_shape *s, const float *x, const float *w,
                              const float *dy, float *dx, float *dw, float *db, float *ws)
{
    const int K = s->K, g0 = fer_conv_gemm_group(s);
    const size_t pq = (size_t)s->P * s->Q, crs = (size_t)s->C * s->R * s->S;
    const size_t chw = (size_t)s->C * s->H * s->W;
    float *col = ws, *dyg = ws + crs * (size_t)g0 * pq;
    if (db) {
        for (int k = 0; k < K; k++) {
            double acc = 0;
            for (int n = 0; n < s->N; n++) {
                const float *d = dy + ((size_t)n * K + k) * pq;
                float part = 0;
                for (size_t i = 0; i < pq; i++)
                    part += d[i];
                acc += part;
            }
            db[k] = (float)acc;
        }
    }
    for (int n0 = 0; n0 < s->N; n0 += g0) {
        int g = s->N - n0 < g0 ? s->N - n0 : g0;
        size_t cols = (size_t)g * pq;
        const float *dyc;
        cols_job j = {s, x + (size_t)n0 * chw, col, dx ? dx + (size_t)n0 * chw : NULL, g};
        /* dy of the group as (K, g*PQ) */
        if (g == 1) {
            dyc = dy + (size_t)n0 * K * pq;
        } else {
            for (int img = 0; img < g; img++)
                for (int k = 0; k < K; k++)
                    memcpy(dyg + (size_t)k * cols + img * pq, dy + ((size_t)(n0 + img) * K + k) * pq,
                           pq * sizeof(float));
            dyc = dyg;
        }
        /* dw (K, CRS) += dy (K, cols) x colT (cols, CRS) */
        fer_parallel_for(g * s->P, im2row_task, &j);
        fer_gemm(0, 0, K, (int)crs, (int)cols, 1.0f, dyc, (int)cols, col, (int)crs,
                 n0 ? 1.0f : 0.0f, dw, (int)crs);
        if (!dx)
            continue;
        /* dcol (CRS, cols) = w^T (CRS, K) x dy (K, cols), then col2im */
        if (is_pointwise(s) && g == 1) {
            fer_gemm(1, 0, (int)crs, (int)cols, K, 1.0f, w, (int)crs, dyc, (int)cols, 0.0f,
                     dx + (size_t)n0 * chw, (int)cols);
            continue;
        }
        fer_gemm(1, 0, (int)crs, (int)cols, K, 1.0f, w, (int)crs, dyc, (int)cols, 0.0f, col,
                 (int)cols);
        fer_parallel_for(g * s->C, col2im_task, &j);
    }
}
