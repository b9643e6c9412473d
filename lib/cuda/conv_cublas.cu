/* conv_cublas.cu: convolution as im2col + cuBLAS + col2im, for --gemm
 * cublas (conv_cublas.h has the layout). The kernels here only move
 * data; every product is cuBLAS's, in fer_cuda_precision() as for the
 * dense layers (cublas_dl.cu). */
#include "cuda_compat.h"

extern "C" {
#include "error.h"
}
#include "conv_cublas.h"
#include "cublas_dl.h"
#include "cuda_mem.h"
#include "cuda_ops.h"

/* 128 MiB of columns: chunks of whole images up to it; a larger image
 * still takes one chunk of its own */
static const size_t default_budget = (size_t)1 << 25;
static size_t budget = default_budget;
static fer_cuda_gemm_fn gemm_hook;

void fer_cuda_conv_cublas_hooks(fer_cuda_gemm_fn gemm, size_t floats)
{
    gemm_hook = gemm;
    budget = floats ? floats : default_budget;
}

/* images per chunk */
static int chunk_images(const fer_conv_shape *s)
{
    const size_t per = ((size_t)s->C * s->R * s->S + s->K) * s->P * s->Q;
    size_t nb = per ? budget / per : 1;
    if (nb < 1)
        nb = 1;
    if (nb > (size_t)s->N)
        nb = s->N;
    /* the products' int sizes and leading dimensions */
    FER_ASSERT((double)nb * s->P * s->Q < 2147483648.0);
    return (int)nb;
}

size_t fer_cuda_conv_cublas_workspace(const fer_conv_shape *s)
{
    return (size_t)chunk_images(s) * ((size_t)s->C * s->R * s->S + s->K) * s->P * s->Q;
}

/* col[(c, r, s)][(n, p, q)] = x(n0 + n, c, p st - pad + r, q st - pad + s),
 * 0 in the padding: a thread an element, in col's order (a warp writes
 * consecutive columns and, at stride 1, reads consecutive x); grid-stride,
 * blocks of 256 */
__global__ void fer_conv_im2col(fer_conv_shape s, int n0, int nb, const float *x, float *col)
{
    const int PQ = s.P * s.Q, L = nb * PQ, RS = s.R * s.S;
    const size_t total = (size_t)s.C * RS * L;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        const int crs = (int)(i / L), j = (int)(i - (size_t)crs * L);
        const int n = j / PQ, pq = j - n * PQ, p = pq / s.Q, q = pq - p * s.Q;
        const int c = crs / RS, rs = crs - c * RS, r = rs / s.S, t = rs - r * s.S;
        const int h = p * s.stride - s.pad + r, w = q * s.stride - s.pad + t;
        float v = 0.0f;
        if ((unsigned)h < (unsigned)s.H && (unsigned)w < (unsigned)s.W)
            v = x[(((size_t)(n0 + n) * s.C + c) * s.H + h) * s.W + w];
        col[i] = v;
    }
}

/* dx(n0 + n, c, h, w) = the sum of col[(c, r, t)][(n, p, q)] over the taps
 * whose window covers (h, w): h + pad = p st + r, w + pad = q st + t. A
 * thread an element of dx gathers them, r then t ascending, so no two
 * threads write one address and the order of the sum is fixed (a scatter
 * from col would need atomics). Grid-stride, blocks of 256. */
__global__ void fer_conv_col2im(fer_conv_shape s, int n0, int nb, const float *col, float *dx)
{
    const int PQ = s.P * s.Q, L = nb * PQ, HW = s.H * s.W, st = s.stride;
    const size_t total = (size_t)nb * s.C * HW;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        const int nc = (int)(i / HW), hw = (int)(i - (size_t)nc * HW);
        const int n = nc / s.C, c = nc - n * s.C, h = hw / s.W, w = hw - h * s.W;
        const int hp = h + s.pad, wp = w + s.pad;
        float acc = 0.0f;
        /* r steps by st from hp's remainder: only those r give a whole p */
        for (int r = hp % st; r < s.R && r <= hp; r += st) {
            const int p = (hp - r) / st;
            if (p >= s.P)
                continue;
            const float *row = col + (size_t)(c * s.R + r) * s.S * L + n * PQ + p * s.Q;
            for (int t = wp % st; t < s.S && t <= wp; t += st) {
                const int q = (wp - t) / st;
                if (q < s.Q)
                    acc += row[(size_t)t * L + q];
            }
        }
        dx[(size_t)n0 * s.C * HW + i] = acc;
    }
}

/* t[k][(n, pq)] = src[n][k][pq]: a chunk of dy with the channel outermost;
 * a thread an element of t, blocks of 256 */
__global__ void fer_conv_to_knp(int K, int PQ, int nb, const float *src, float *t)
{
    const int L = nb * PQ;
    const size_t total = (size_t)K * L;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        const int k = (int)(i / L), j = (int)(i - (size_t)k * L), n = j / PQ;
        t[i] = src[((size_t)n * K + k) * PQ + (j - n * PQ)];
    }
}

/* y[n][k][pq] = t[k][(n, pq)] + b[k] (b may be NULL): a thread an element
 * of y's chunk, blocks of 256 */
__global__ void fer_conv_from_knp(int K, int PQ, int nb, const float *t, const float *b, float *y)
{
    const int L = nb * PQ, KPQ = K * PQ;
    const size_t total = (size_t)nb * KPQ;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        const int n = (int)(i / KPQ), kpq = (int)(i - (size_t)n * KPQ);
        const int k = kpq / PQ, pq = kpq - k * PQ;
        const float v = t[(size_t)k * L + n * PQ + pq];
        y[i] = b ? v + b[k] : v;
    }
}

void fer_cuda_im2col(const fer_conv_shape *s, int n0, int nb, const float *x, float *col)
{
    const size_t n = (size_t)s->C * s->R * s->S * nb * s->P * s->Q;
    FER_LAUNCH(fer_conv_im2col, dim3(fer_cuda_blocks(n, 256)), dim3(256), 0, *s, n0, nb, x, col);
}

void fer_cuda_col2im(const fer_conv_shape *s, int n0, int nb, const float *col, float *dx)
{
    const size_t n = (size_t)nb * s->C * s->H * s->W;
    FER_LAUNCH(fer_conv_col2im, dim3(fer_cuda_blocks(n, 256)), dim3(256), 0, *s, n0, nb, col, dx);
}

/* one product: the test's stand-in, or cuBLAS, whose failure the next
 * sync reports (the remaining launches run on garbage, harmlessly) */
static void gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc)
{
    if (gemm_hook)
        gemm_hook(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else if (fer_cublas_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) < 0)
        fer_cuda_defer_error();
}

void fer_cuda_conv_cublas_forward(const fer_conv_shape *s, const float *x, const float *w,
                                  const float *b, float *y, float *ws)
{
    const int nb = chunk_images(s), PQ = s->P * s->Q, CRS = s->C * s->R * s->S;
    const size_t kpq = (size_t)s->K * PQ;
    for (int n0 = 0; n0 < s->N; n0 += nb) {
        const int m = s->N - n0 < nb ? s->N - n0 : nb, L = m * PQ;
        float *col = ws, *t = ws + (size_t)CRS * L;
        fer_cuda_im2col(s, n0, m, x, col);
        gemm(0, 0, s->K, L, CRS, 1.0f, w, CRS, col, L, 0.0f, t, L);
        FER_LAUNCH(fer_conv_from_knp, dim3(fer_cuda_blocks((size_t)m * kpq, 256)), dim3(256), 0,
                   s->K, PQ, m, t, b, y + n0 * kpq);
    }
}

void fer_cuda_conv_cublas_backward(const fer_conv_shape *s, const float *x, const float *w,
                                   const float *dy, float *dx, float *dw, float *ws)
{
    const int nb = chunk_images(s), PQ = s->P * s->Q, CRS = s->C * s->R * s->S;
    const size_t kpq = (size_t)s->K * PQ;
    for (int n0 = 0; n0 < s->N; n0 += nb) {
        const int m = s->N - n0 < nb ? s->N - n0 : nb, L = m * PQ;
        float *col = ws, *t = ws + (size_t)CRS * L;
        FER_LAUNCH(fer_conv_to_knp, dim3(fer_cuda_blocks((size_t)m * kpq, 256)), dim3(256), 0,
                   s->K, PQ, m, dy + n0 * kpq, t);
        fer_cuda_im2col(s, n0, m, x, col);
        /* chunks in order into dw: the first overwrites */
        gemm(0, 1, s->K, CRS, L, 1.0f, t, L, col, L, n0 ? 1.0f : 0.0f, dw, CRS);
        if (dx) {
            gemm(1, 0, CRS, L, s->K, 1.0f, w, CRS, t, L, 0.0f, col, L);
            fer_cuda_col2im(s, n0, m, col, dx);
        }
    }
}
