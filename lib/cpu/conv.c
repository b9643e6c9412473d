/* conv.c: 2-D convolution, the reference loops and the dispatch point.
 *
 * The _ref kernels define the result: plain loops over (n, k, c, r, s) with
 * the innermost loop running along an output row (q), so that y, dy and
 * (for stride 1) x are read contiguously. Sums are float, in this fixed
 * order. fer_conv2d_forward/backward are the one place where a faster
 * kernel is chosen: conv_gemm.c, which runs 3x3 stride-1 shapes by
 * Winograd (conv_winograd.c) and the others as GEMMs with implicit im2col. */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "conv.h"
#include "conv_gemm.h"
#include "conv_direct.h"
#include "conv_winograd.h"
#include "error.h"
#include "gemm.h"
#include "layers.h"
#include "scratch.h"

int fer_conv_shape_init(fer_conv_shape *s, int N, int C, int H, int W, int K, int R, int S,
                        int stride, int pad)
{
    if (N < 1 || C < 1 || H < 1 || W < 1 || K < 1 || R < 1 || S < 1)
        return fer_seterr("conv: bad shape N=%d C=%d H=%d W=%d K=%d R=%d S=%d",
                          N, C, H, W, K, R, S);
    if (stride < 1 || pad < 0)
        return fer_seterr("conv: bad stride %d or padding %d", stride, pad);
    if ((long)H + 2L * pad < R || (long)W + 2L * pad < S)
        return fer_seterr("conv: %dx%d kernel larger than the padded %dx%d input",
                          R, S, H + 2 * pad, W + 2 * pad);
    /* the fast kernels index a plane, a column block and the GEMM sizes
     * with int */
    {
        double P = ((double)H + 2.0 * pad - R) / stride + 1, Q = ((double)W + 2.0 * pad - S) / stride + 1;
        if ((double)C * H * W > INT_MAX || (double)K * P * Q > INT_MAX ||
            (double)N * P * Q > INT_MAX || (double)C * R * S > INT_MAX)
            return fer_seterr("conv: shape N=%d C=%d H=%d W=%d K=%d R=%d S=%d too large", N, C,
                              H, W, K, R, S);
    }
    s->N = N, s->C = C, s->H = H, s->W = W;
    s->K = K, s->R = R, s->S = S;
    s->stride = stride, s->pad = pad;
    s->P = (H + 2 * pad - R) / stride + 1;
    s->Q = (W + 2 * pad - S) / stride + 1;
    return 0;
}

size_t fer_conv2d_workspace(const fer_conv_shape *s)
{
    return fer_conv_gemm_workspace(s);
}

void fer_conv2d_forward(const fer_conv_shape *s, const float *x, const float *w, const float *b,
                        float *y, float *ws)
{
    fer_conv2d_forward_gemm(s, x, w, b, y, ws, NULL);
}

void fer_conv2d_forward_fused(const fer_conv_shape *s, const float *x, const float *w,
                              const float *b, int relu, float *y, double *stats, float *ws)
{
    const int K = s->K, parts = fer_conv_epi_parts(s);
    const size_t PQ = (size_t)s->P * s->Q, nsums = 2 * (size_t)parts * K;
    /* the parts' sums in this thread's scratch: a buffer malloc'd per call
     * was mapped afresh each time, and its page faults cost more than the
     * passes the fusion saves */
    fer_conv_epi e = {relu, (double *)fer_scratch(FER_SCRATCH_EPI, 2 * nsums), NULL, NULL, 0,
                      NULL};
    if (e.part) {
        memset(e.part, 0, nsums * sizeof(double));
        fer_conv2d_forward_gemm(s, x, w, b, y, ws, &e);
        fer_conv_epi_finish(e.part, parts, K, stats);
        return;
    }
    /* no memory for the parts: the same y, and the sums from a pass of
     * their own, each channel's planes in image order */
    fer_conv2d_forward_gemm(s, x, w, b, y, ws, NULL);
    for (int k = 0; k < K; k++) {
        double acc[2] = {0, 0};
        for (int n = 0; n < s->N; n++)
            fer_conv_epi_sums(y + ((size_t)n * K + k) * PQ, (int)PQ, relu, acc);
        stats[k] = acc[0];
        stats[K + k] = acc[1];
    }
}

/* A kept pack's header: what it was packed for. */
enum { PACK_HEAD = 16, PACK_MAGIC = 0x4b434150 };

size_t fer_conv2d_infer_pack_floats(const fer_conv_shape *s)
{
    return PACK_HEAD + fer_conv_pack_floats(s);
}

/* pack's packed weights, packed anew when asked or when they were packed
 * for another GEMM layout, shape or path; NULL when pack is. */
static const float *kept_pack(const fer_conv_shape *s, const float *w, float *pack, int repack)
{
    uint32_t want[8] = {PACK_MAGIC, fer_gemm_layout(), (uint32_t)fer_conv_pack_kind(s),
                        (uint32_t)s->K, (uint32_t)s->C, (uint32_t)s->R, (uint32_t)s->S,
                        (uint32_t)s->stride};
    if (!pack)
        return NULL;
    if (repack || memcmp(pack, want, sizeof want)) {
        fer_conv_pack(s, w, pack + PACK_HEAD);
        memcpy(pack, want, sizeof want);
    }
    return pack + PACK_HEAD;
}

static void forward_maybe_packed(const fer_conv_shape *s, const float *x, const float *w,
                                 const float *packed, const float *b, float *y, float *ws,
                                 const fer_conv_epi *e)
{
    if (packed)
        fer_conv2d_forward_packed(s, x, packed, b, y, ws, e);
    else
        fer_conv2d_forward_gemm(s, x, w, b, y, ws, e);
}

void fer_conv2d_forward_infer_fused(const fer_conv_shape *s, const float *x, const float *w,
                                    const float *b, int relu, const float *gamma,
                                    const float *beta, float eps, const float *mean,
                                    const float *var, const float *add, int relu2, float *y,
                                    float *ws, float *pack, int repack)
{
    const int K = s->K;
    const size_t PQ = (size_t)s->P * s->Q, n = (size_t)s->N * K * PQ;
    float *ac = gamma ? fer_scratch(FER_SCRATCH_EPI, 2 * (size_t)K) : NULL;
    /* the residual add in the epilogue where Winograd's output takes it */
    const int adds = add && !fer_conv_direct_ok(s) && fer_conv_wino_ok(s) && fer_conv_wino_adds(s);
    fer_conv_epi e = {relu, NULL, ac, ac ? ac + K : NULL, relu2 && (!add || adds),
                      adds ? add : NULL};
    const float *packed = kept_pack(s, w, pack, repack);
    int joined = 0;
    if (ac)
        fer_batchnorm_infer_coefs(K, gamma, beta, eps, mean, var, ac, ac + K);
    if (ac || !gamma) {
        forward_maybe_packed(s, x, w, packed, b, y, ws, &e);
        joined = e.add != NULL;
    } else {
        /* no memory for the coefficients: the ops one by one, as the net
         * runs them unfused */
        forward_maybe_packed(s, x, w, packed, b, y, ws, NULL);
        if (relu)
            fer_relu_forward(n, y, y);
        fer_batchnorm_forward_infer(s->N, K, (int)PQ, y, gamma, beta, eps, mean, var, y);
        if (relu2 && !add)
            fer_relu_forward(n, y, y);
    }
    if (add && !joined) {   /* the join after, as the net runs it unfused */
        if (relu2)
            fer_add_relu(n, y, add, y);
        else
            fer_add(n, y, add, y);
    }
}

void fer_conv2d_backward(const fer_conv_shape *s, const float *x, const float *w, const float *dy,
                         float *dx, float *dw, float *db, float *ws)
{
    fer_conv2d_backward_gemm(s, x, w, dy, dx, dw, db, ws);
}

/* The outputs o in [*lo, *hi) of a row of `out` whose input index
 * o * stride - pad + off falls inside [0, in). */
static void valid_range(int out, int in, int stride, int pad, int off, int *lo, int *hi)
{
    int first = pad - off, last = in - 1 + pad - off;   /* o * stride in [first, last] */
    *lo = first > 0 ? (first + stride - 1) / stride : 0;
    *hi = last >= 0 ? last / stride + 1 : 0;
    if (*hi > out)
        *hi = out;
    if (*lo > *hi)
        *lo = *hi;
}

void fer_conv2d_forward_ref(const fer_conv_shape *s, const float *x, const float *w,
                            const float *b, float *y)
{
    const int C = s->C, H = s->H, W = s->W, K = s->K, R = s->R, S = s->S;
    const int P = s->P, Q = s->Q, st = s->stride, pad = s->pad;
    const size_t PQ = (size_t)P * Q, HW = (size_t)H * W;

    for (int n = 0; n < s->N; n++)
        for (int k = 0; k < K; k++) {
            float *yk = y + ((size_t)n * K + k) * PQ;
            for (size_t i = 0; i < PQ; i++)
                yk[i] = b ? b[k] : 0.0f;
            for (int c = 0; c < C; c++) {
                const float *xc = x + ((size_t)n * C + c) * HW;
                const float *wkc = w + ((size_t)k * C + c) * R * S;
                for (int r = 0; r < R; r++) {
                    int p0, p1;
                    valid_range(P, H, st, pad, r, &p0, &p1);
                    for (int sc = 0; sc < S; sc++) {
                        const float wv = wkc[r * S + sc];
                        int q0, q1;
                        valid_range(Q, W, st, pad, sc, &q0, &q1);
                        for (int p = p0; p < p1; p++) {
                            const float *xr = xc + (size_t)(p * st - pad + r) * W;
                            float *yr = yk + (size_t)p * Q;
                            for (int q = q0; q < q1; q++)
                                yr[q] += wv * xr[q * st - pad + sc];
                        }
                    }
                }
            }
        }
}

void fer_conv2d_backward_ref(const fer_conv_shape *s, const float *x, const float *w,
                             const float *dy, float *dx, float *dw, float *db)
{
    const int N = s->N, C = s->C, H = s->H, W = s->W, K = s->K, R = s->R, S = s->S;
    const int P = s->P, Q = s->Q, st = s->stride, pad = s->pad;
    const size_t PQ = (size_t)P * Q, HW = (size_t)H * W;

    if (db)
        for (int k = 0; k < K; k++) {
            double acc = 0;
            for (int n = 0; n < N; n++) {
                const float *dyk = dy + ((size_t)n * K + k) * PQ;
                for (size_t i = 0; i < PQ; i++)
                    acc += dyk[i];
            }
            db[k] = (float)acc;
        }
    for (size_t i = 0; i < (size_t)K * C * R * S; i++)
        dw[i] = 0.0f;
    if (dx)
        for (size_t i = 0; i < (size_t)N * C * HW; i++)
            dx[i] = 0.0f;

    /* Each (w, x, dy) product of the forward pass feeds dw and dx once. */
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++) {
            const float *dyk = dy + ((size_t)n * K + k) * PQ;
            for (int c = 0; c < C; c++) {
                const float *xc = x + ((size_t)n * C + c) * HW;
                float *dxc = dx ? dx + ((size_t)n * C + c) * HW : NULL;
                const float *wkc = w + ((size_t)k * C + c) * R * S;
                float *dwkc = dw + ((size_t)k * C + c) * R * S;
                for (int r = 0; r < R; r++) {
                    int p0, p1;
                    valid_range(P, H, st, pad, r, &p0, &p1);
                    for (int sc = 0; sc < S; sc++) {
                        const float wv = wkc[r * S + sc];
                        float acc = 0.0f;
                        int q0, q1;
                        valid_range(Q, W, st, pad, sc, &q0, &q1);
                        for (int p = p0; p < p1; p++) {
                            size_t row = (size_t)(p * st - pad + r) * W;
                            const float *xr = xc + row, *dyr = dyk + (size_t)p * Q;
                            for (int q = q0; q < q1; q++)
                                acc += dyr[q] * xr[q * st - pad + sc];
                            if (dxc) {
                                float *dxr = dxc + row;
                                for (int q = q0; q < q1; q++)
                                    dxr[q * st - pad + sc] += dyr[q] * wv;
                            }
                        }
                        dwkc[r * S + sc] += acc;
                    }
                }
            }
        }
}
