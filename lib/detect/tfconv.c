/* tfconv.c: TensorFlow's padding, depthwise and dense convolutions on one
 * (C, H, W) image (tfconv.h). tests/test_tfconv.c checks them against
 * float64 loops written from TensorFlow's definitions. */
#include "tfconv.h"

#include <math.h>
#include <stdlib.h>

#include "error.h"
#include "gemm.h"
#include "scratch.h"
#include "threads.h"

int fer_tf_out_len(int n, int k, int s, int mode)
{
    if (mode == FER_PAD_SAME)
        return (n + s - 1) / s;
    return n < k ? 0 : (n - k) / s + 1;
}

int fer_tf_pad_before(int n, int k, int s, int mode)
{
    int out = fer_tf_out_len(n, k, s, mode), total = (out - 1) * s + k - n;
    if (mode != FER_PAD_SAME || total <= 0)
        return 0;
    return total / 2;
}

/* bias, then the clip, over one channel's n outputs */
static void bias_clip(float *y, long n, float b, float lo, float hi)
{
    for (long i = 0; i < n; i++) {
        float v = y[i] + b;
        v = v < lo ? lo : v;
        y[i] = v > hi ? hi : v;
    }
}

/* The first and one-past-last output index whose input o*s - p + t lies
 * in [0, n), for a tap t. */
static void tap_range(int n, int no, int s, int p, int t, int *lo, int *hi)
{
    int a = p - t, b = n - 1 + p - t;   /* o*s in [a, b] */
    *lo = a <= 0 ? 0 : (a + s - 1) / s;
    *hi = b < 0 ? 0 : b / s + 1;
    if (*hi > no)
        *hi = no;
    if (*lo > *hi)
        *lo = *hi;
}

typedef struct dw_job {
    const float *x, *w, *bias;
    float *y;
    int H, W, k, s, Ho, Wo, pt, pl;
    float lo, hi;
} dw_job;

/* One output row of a 3x3 filter whose three input rows r0..r2 all exist,
 * for the columns [lo, hi) whose taps all lie in the row: nine products
 * summed in registers, in the generic loop's order (row by row, tap by
 * tap), so the result is the same. */
static inline __attribute__((always_inline)) void
dw3_row(const float *r0, const float *r1, const float *r2, const float *w, int s, int off, int lo,
        int hi, float *yr)
{
    for (int ox = lo; ox < hi; ox++) {
        const float *a = r0 + ox * s + off, *b = r1 + ox * s + off, *c = r2 + ox * s + off;
        float v = 0;
        v += w[0] * a[0];
        v += w[1] * a[1];
        v += w[2] * a[2];
        v += w[3] * b[0];
        v += w[4] * b[1];
        v += w[5] * b[2];
        v += w[6] * c[0];
        v += w[7] * c[1];
        v += w[8] * c[2];
        yr[ox] = v;
    }
}

static void dw_channel(void *ctx, int c, int thread)
{
    const dw_job *j = ctx;
    const float *xc = j->x + (size_t)c * j->H * j->W, *wc = j->w + (size_t)c * j->k * j->k;
    float *yc = j->y + (size_t)c * j->Ho * j->Wo;
    int lo3, hi3, t;
    (void)thread;
    /* the columns where all three taps of a 3x3 filter are in the row */
    tap_range(j->W, j->Wo, j->s, j->pl, 0, &lo3, &t);
    tap_range(j->W, j->Wo, j->s, j->pl, 2, &t, &hi3);
    if (lo3 > hi3)
        lo3 = hi3;
    for (int oy = 0; oy < j->Ho; oy++) {
        float *yr = yc + (size_t)oy * j->Wo;
        int iy0 = oy * j->s - j->pt;
        if (j->k == 3 && iy0 >= 0 && iy0 + 2 < j->H && lo3 < hi3) {
            const float *r0 = xc + (size_t)iy0 * j->W;
            /* the stride as a constant, so that the loop vectorises */
            if (j->s == 1)
                dw3_row(r0, r0 + j->W, r0 + 2 * j->W, wc, 1, -j->pl, lo3, hi3, yr);
            else if (j->s == 2)
                dw3_row(r0, r0 + j->W, r0 + 2 * j->W, wc, 2, -j->pl, lo3, hi3, yr);
            else
                dw3_row(r0, r0 + j->W, r0 + 2 * j->W, wc, j->s, -j->pl, lo3, hi3, yr);
            /* the edge columns by the generic loop below, on their own */
            for (int ox = 0; ox < j->Wo; ox++) {
                if (ox == lo3)
                    ox = hi3;
                if (ox >= j->Wo)
                    break;
                float v = 0;
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++) {
                        int ix = ox * j->s - j->pl + kx;
                        if (ix >= 0 && ix < j->W)
                            v += wc[ky * 3 + kx] * r0[(size_t)ky * j->W + ix];
                    }
                yr[ox] = v;
            }
            continue;
        }
        for (int ox = 0; ox < j->Wo; ox++)
            yr[ox] = 0;
        for (int ky = 0; ky < j->k; ky++) {
            int iy = oy * j->s - j->pt + ky;
            if (iy < 0 || iy >= j->H)
                continue;
            const float *xr = xc + (size_t)iy * j->W;
            for (int kx = 0; kx < j->k; kx++) {
                float wv = wc[ky * j->k + kx];
                int lo, hi, off = kx - j->pl;
                tap_range(j->W, j->Wo, j->s, j->pl, kx, &lo, &hi);
                if (j->s == 1)
                    for (int ox = lo; ox < hi; ox++)
                        yr[ox] += wv * xr[ox + off];
                else
                    for (int ox = lo; ox < hi; ox++)
                        yr[ox] += wv * xr[ox * j->s + off];
            }
        }
    }
    bias_clip(yc, (long)j->Ho * j->Wo, j->bias ? j->bias[c] : 0.f, j->lo, j->hi);
}

void fer_tf_depthwise(const float *x, int C, int H, int W, const float *w, int k, int s, int mode,
                      const float *bias, float lo, float hi, float *y)
{
    dw_job j = {x, w, bias, y, H, W, k, s, fer_tf_out_len(H, k, s, mode),
                fer_tf_out_len(W, k, s, mode), fer_tf_pad_before(H, k, s, mode),
                fer_tf_pad_before(W, k, s, mode), lo, hi};
    fer_parallel_for(C, dw_channel, &j);
}

int fer_tf_conv(const float *x, int C, int H, int W, const float *w, int K, int k, int s,
                int mode, const float *bias, float lo, float hi, float *y)
{
    int Ho = fer_tf_out_len(H, k, s, mode), Wo = fer_tf_out_len(W, k, s, mode);
    int pt = fer_tf_pad_before(H, k, s, mode), pl = fer_tf_pad_before(W, k, s, mode);
    long n = (long)Ho * Wo, rows = (long)C * k * k;
    float *col = NULL;
    const float *B = x;

    if (n == 0)
        return 0;
    if (k != 1 || s != 1 || Ho != H || Wo != W) {
        /* the column matrix in this thread's grow-only scratch: a net run
         * (and a tiled photo's many) allocates it once, not per call */
        if (!(col = fer_scratch(FER_SCRATCH_CONV, (size_t)rows * (size_t)n)))
            return fer_seterr("out of memory (a %ldx%ld column matrix)", rows, n);
        for (int c = 0; c < C; c++)
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++) {
                    float *dst = col + ((size_t)(c * k + ky) * k + kx) * (size_t)n;
                    int xlo, xhi;
                    tap_range(W, Wo, s, pl, kx, &xlo, &xhi);
                    for (int oy = 0; oy < Ho; oy++) {
                        int iy = oy * s - pt + ky;
                        float *d = dst + (size_t)oy * Wo;
                        const float *xr = x + ((size_t)c * H + (iy < 0 ? 0 : iy)) * W;
                        for (int ox = 0; ox < Wo; ox++)
                            d[ox] = 0;
                        if (iy < 0 || iy >= H)
                            continue;
                        for (int ox = xlo; ox < xhi; ox++)
                            d[ox] = xr[ox * s - pl + kx];
                    }
                }
        B = col;
    }
    fer_gemm(0, 0, K, (int)n, (int)rows, 1.f, w, (int)rows, B, (int)n, 0.f, y, (int)n);
    for (int o = 0; o < K; o++)
        bias_clip(y + (size_t)o * n, n, bias ? bias[o] : 0.f, lo, hi);
    return 0;
}

void fer_tf_hwio_to_kckk(const float *src, int k, int C, int K, float *dst)
{
    for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++)
            for (int c = 0; c < C; c++)
                for (int o = 0; o < K; o++)
                    dst[(((size_t)o * C + c) * k + ky) * k + kx] =
                        src[(((size_t)ky * k + kx) * C + c) * K + o];
}

void fer_tf_hwc1_to_ckk(const float *src, int k, int C, float *dst)
{
    for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++)
            for (int c = 0; c < C; c++)
                dst[((size_t)c * k + ky) * k + kx] = src[((size_t)ky * k + kx) * C + c];
}

void fer_tf_fold_bn(float *w, int C, int n, const float *b_in, const float *gamma,
                    const float *beta, const float *mean, const float *var, double eps,
                    float *bias)
{
    for (int c = 0; c < C; c++) {
        double g = gamma[c] / sqrt((double)var[c] + eps);
        for (int i = 0; i < n; i++)
            w[(size_t)c * n + i] = (float)(w[(size_t)c * n + i] * g);
        bias[c] = (float)(((b_in ? b_in[c] : 0.) - mean[c]) * g + beta[c]);
    }
}
