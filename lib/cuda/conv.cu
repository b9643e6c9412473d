/* conv.cu: convolution as implicit GEMM on gemm_tile.cuh's kernels: each
 * product gathers its operand from x or dy as a tile needs it, with zero
 * padding and stride; no column matrix is ever written.
 *   forward:  y[(n,p,q)][k] = sum over (c,r,s) of x(n, c, p st - pad + r,
 *             q st - pad + s) w[k][(c,r,s)]               M = N P Q, N = K
 *   data:     dx[(n,h,w)][c] = sum over (k,r,s) of dy(n, k, p, q) w[k][c][r][s]
 *             where h = p st - pad + r, w = q st - pad + s   M = N H W, N = C
 *   weights:  dw[k][(c,r,s)] = sum over (n,p,q) of dy(n, k, p, q) x(...)
 *             M = K, N = C R S, split-K over N P Q into the workspace,
 *             then summed in split order (no atomics).
 *   bias:     db[k] = sum of dy(n, k, ., .), one block a channel, in double.
 *   fused:    the forward with bias, ReLU and each channel's sums of y and
 *             y^2 taken in the tile's epilogue (batch-norm statistics
 *             without reading y again): per 128-row tile into the
 *             scratch, then added over the tiles in order, in double.
 * With --gemm cublas (fer_cuda_cublas()) the products go to conv_cublas.cu
 * instead, as im2col + cuBLAS; the bias gradient stays here. */
#include "cuda_compat.h"

extern "C" {
#include "error.h"
}
#include "conv_cublas.h"
#include "cuda_ops.h"
#include "gemm_tile.cuh"
#include "kern_util.cuh"

/* the shape's sizes as the gathers want them */
struct fer_conv_dims {
    int N, C, H, W, K, R, S, P, Q, st, pad;
};

static fer_conv_dims conv_dims(const fer_conv_shape *s)
{
    /* the gathers' int offsets */
    FER_ASSERT((double)s->N * s->C * s->H * s->W < 2147483648.0);
    FER_ASSERT((double)s->N * s->K * s->P * s->Q < 2147483648.0);
    fer_conv_dims d = {s->N, s->C, s->H, s->W, s->K, s->R, s->S, s->P, s->Q, s->stride, s->pad};
    return d;
}

/* An im2col element of x is a window (an output position: image n,
 * top-left corner h0, w0 in x, possibly in the padding) and a tap
 * (channel c, kernel offset r, s); their offsets add up to the element's
 * offset in x: n C H W + c H W + (h0 + r) W + w0 + s. Offsets are ints:
 * tensors below 2^31 elements (the host asserts it). */
struct fer_conv_win {
    int off, h0, w0;
};
struct fer_conv_tap {
    int off, r, s;
};

/* window of output position m = (n, p, q) */
static __device__ __forceinline__ fer_conv_win fer_conv_window(const fer_conv_dims &d, int m)
{
    const int pq = d.P * d.Q;
    const int n = m / pq, j = m - n * pq, p = j / d.Q, q = j - p * d.Q;
    const int h0 = p * d.st - d.pad, w0 = q * d.st - d.pad;
    const fer_conv_win win = {(n * d.C * d.H + h0) * d.W + w0, h0, w0};
    return win;
}

/* tap k = (c, r, s) */
static __device__ __forceinline__ fer_conv_tap fer_conv_tap_of(const fer_conv_dims &d, int k)
{
    const int rs = d.R * d.S;
    const int c = k / rs, i = k - c * rs, r = i / d.S, s = i - r * d.S;
    const fer_conv_tap tap = {(c * d.H + r) * d.W + s, r, s};
    return tap;
}

/* x at window + tap, 0 in the padding */
static __device__ __forceinline__ float fer_conv_gather(const float *x, const fer_conv_dims &d,
                                                        const fer_conv_win &win,
                                                        const fer_conv_tap &tap)
{
    const int h = win.h0 + tap.r, w = win.w0 + tap.s;
    if ((unsigned)h >= (unsigned)d.H || (unsigned)w >= (unsigned)d.W)
        return 0.0f;
    return x[win.off + tap.off];
}

/* forward A: x as im2col, rows m = (n, p, q), k = (c, r, s) */
struct fer_conv_fwd_x {
    static const bool kfast = false;
    typedef fer_conv_win row_t;
    typedef fer_conv_tap col_t;
    const float *x;
    fer_conv_dims d;
    __device__ row_t row(int m) const { return fer_conv_window(d, m); }
    __device__ col_t col(int k) const { return fer_conv_tap_of(d, k); }
    __device__ float at(const row_t &r, const col_t &c) const { return fer_conv_gather(x, d, r, c); }
};

/* y(n, k, p, q) = v + b[k], m = (n, p, q) */
struct fer_conv_fwd_store {
    float *y;
    const float *b;
    int K, PQ;
    __device__ void store(int, int m, int k, float v) const
    {
        const int n = m / PQ, j = m - n * PQ;
        y[((size_t)n * K + k) * PQ + j] = b ? v + b[k] : v;
    }
};

/* the fused forward's: y(n, k, p, q) = v + b[k], then max(., 0) when
 * relu (as relu_forward: NaN to 0), returned for the column sums; tile
 * mt's sums of channel k at part[(mt K + k) 2 + 0/1] */
struct fer_conv_fused_store {
    float *y;
    const float *b;
    double *part;
    int K, PQ, relu;
    __device__ float store(int, int m, int k, float v) const
    {
        const int n = m / PQ, j = m - n * PQ;
        float o = b ? v + b[k] : v;
        if (relu)
            o = o > 0.0f ? o : 0.0f;
        y[((size_t)n * K + k) * PQ + j] = o;
        return o;
    }
    __device__ void sums(int mt, int k, int which, double v) const
    {
        part[((size_t)mt * K + k) * 2 + which] = v;
    }
};
template <> struct fer_tile_sums<fer_conv_fused_store> {
    static const bool value = true;
};

/* stats[k] and stats[K + k]: the tiles' sums of channel k in a fixed
 * order (thread t takes tiles t, t + FER_KT, ..., then the block tree).
 * Grid K, FER_KT threads. */
__global__ void fer_conv_sums_total(int tiles, int K, const double *part, double *stats)
{
    __shared__ double red[64];
    const int k = blockIdx.x;
    double s = 0.0, q = 0.0;
    for (int t = threadIdx.x; t < tiles; t += FER_KT) {
        s += part[((size_t)t * K + k) * 2];
        q += part[((size_t)t * K + k) * 2 + 1];
    }
    fer_block_sum2(&s, &q, red);
    if (threadIdx.x == 0) {
        stats[k] = s;
        stats[K + k] = q;
    }
}

/* data gradient A: dy gathered, rows m = (n, h, w), k = (k, r, s): the
 * output position whose window puts tap (r, s) on (h, w), if any */
struct fer_conv_dgrad_dy {
    static const bool kfast = false;
    struct row_t {
        int off, hp, wp; /* n K P Q; h + pad, w + pad */
    };
    struct col_t {
        int off, r, s; /* k P Q; r, s */
    };
    const float *dy;
    fer_conv_dims d;
    __device__ row_t row(int m) const
    {
        const int hw = d.H * d.W;
        const int n = m / hw, j = m - n * hw, h = j / d.W, w = j - h * d.W;
        const row_t r = {n * d.K * d.P * d.Q, h + d.pad, w + d.pad};
        return r;
    }
    __device__ col_t col(int k) const
    {
        const int rs = d.R * d.S;
        const int ko = k / rs, i = k - ko * rs, r = i / d.S;
        const col_t c = {ko * d.P * d.Q, r, i - r * d.S};
        return c;
    }
    __device__ float at(const row_t &rw, const col_t &c) const
    {
        int p = rw.hp - c.r, q = rw.wp - c.s;
        if (p < 0 || q < 0)
            return 0.0f;
        if (d.st > 1) {
            if (p % d.st || q % d.st)
                return 0.0f;
            p /= d.st;
            q /= d.st;
        }
        if (p >= d.P || q >= d.Q)
            return 0.0f;
        return dy[rw.off + c.off + p * d.Q + q];
    }
};

/* data gradient B: w[k][c][r][s] with rows c, k = (k, r, s) */
struct fer_conv_dgrad_w {
    static const bool kfast = true;
    typedef int row_t;
    typedef int col_t;
    const float *w;
    int C, RS;
    __device__ row_t row(int c) const { return c * RS; }
    __device__ col_t col(int k) const
    {
        const int ko = k / RS;
        return ko * C * RS + (k - ko * RS);
    }
    __device__ float at(row_t r, col_t c) const { return w[r + c]; }
};

/* dx(n, c, h, w) = v, m = (n, h, w) */
struct fer_conv_dgrad_store {
    float *dx;
    int C, HW;
    __device__ void store(int, int m, int c, float v) const
    {
        const int n = m / HW, j = m - n * HW;
        dx[((size_t)n * C + c) * HW + j] = v;
    }
};

/* weight gradient A: dy with rows k, reduction index (n, p, q) */
struct fer_conv_wgrad_dy {
    static const bool kfast = true;
    typedef int row_t;
    typedef int col_t;
    const float *dy;
    int K, PQ;
    __device__ row_t row(int ko) const { return ko * PQ; }
    __device__ col_t col(int k) const
    {
        const int n = k / PQ;
        return n * K * PQ + (k - n * PQ);
    }
    __device__ float at(row_t r, col_t c) const { return dy[r + c]; }
};

/* weight gradient B: x gathered, rows (c, r, s) (taps), reduction index
 * (n, p, q) (windows) */
struct fer_conv_wgrad_x {
    static const bool kfast = true;
    typedef fer_conv_tap row_t;
    typedef fer_conv_win col_t;
    const float *x;
    fer_conv_dims d;
    __device__ row_t row(int crs) const { return fer_conv_tap_of(d, crs); }
    __device__ col_t col(int k) const { return fer_conv_window(d, k); }
    __device__ float at(const row_t &r, const col_t &c) const { return fer_conv_gather(x, d, c, r); }
};

/* split z's sum of dw[k][crs]: out + z split (split = K C R S) */
struct fer_conv_wgrad_store {
    float *out;
    size_t split;
    int CRS;
    __device__ void store(int z, int k, int crs, float v) const
    {
        out[z * split + (size_t)k * CRS + crs] = v;
    }
};

/* dw[i] = sum over z in order of ws[z n + i]; grid-stride, blocks of 256 */
__global__ void fer_conv_wgrad_sum(size_t n, int splits, const float *ws, float *dw)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float acc = ws[i];
        for (int z = 1; z < splits; z++)
            acc += ws[z * n + i];
        dw[i] = acc;
    }
}

/* db[k] = sum over n, (p, q) of dy(n, k, p, q): block k of 256 threads,
 * thread t sums elements t, t + 256, ... of the channel in double, then a
 * tree over the block */
__global__ void fer_conv_bias_grad(int N, int K, int PQ, const float *dy, float *db)
{
    __shared__ double part[256];
    const int k = blockIdx.x, t = threadIdx.x;
    const size_t total = (size_t)N * PQ;
    double acc = 0.0;
    for (size_t i = t; i < total; i += 256) {
        const size_t n = i / PQ, j = i - n * PQ;
        acc += dy[(n * K + k) * PQ + j];
    }
    part[t] = acc;
    __syncthreads();
    for (int h = 128; h > 0; h /= 2) {
        if (t < h)
            part[t] += part[t + h];
        __syncthreads();
    }
    if (t == 0)
        db[k] = (float)part[0];
}

/* The weight gradient's split of the N P Q sum: enough slices for about
 * 264 blocks (two waves on an H100's 132 SMs; a constant, so that results
 * do not change with the GPU), at most 64, each at least 512 long and a
 * multiple of 32 (whole k-tiles in every precision). */
static int wgrad_splits(const fer_conv_shape *s, int *chunk)
{
    const long red = (long)s->N * s->P * s->Q, crs = (long)s->C * s->R * s->S;
    const long tiles = ((s->K + 127) / 128) * ((crs + 127) / 128);
    long want = (264 + tiles - 1) / tiles, most = (red + 511) / 512;
    if (want > most)
        want = most;
    if (want > 64)
        want = 64;
    if (want < 1)
        want = 1;
    long ch = (red + want - 1) / want;
    ch = (ch + 31) / 32 * 32;
    *chunk = (int)ch;
    return (int)((red + ch - 1) / ch);
}

size_t fer_cuda_conv_workspace(const fer_conv_shape *s)
{
    if (fer_cuda_cublas())
        return fer_cuda_conv_cublas_workspace(s);
    int chunk;
    const int splits = wgrad_splits(s, &chunk);
    return splits > 1 ? (size_t)splits * s->K * s->C * s->R * s->S : 0;
}

void fer_cuda_conv_forward(const fer_conv_shape *s, const float *x, const float *w,
                           const float *b, float *y, float *ws)
{
    if (fer_cuda_cublas()) {
        fer_cuda_conv_cublas_forward(s, x, w, b, y, ws);
        return;
    }
    (void)ws;
    const int PQ = s->P * s->Q, CRS = s->C * s->R * s->S;
    const fer_conv_fwd_x a = {x, conv_dims(s)};
    const fer_mat_ik bw = {w, CRS};
    const fer_conv_fwd_store st = {y, b, s->K, PQ};
    fer_tile_problem<fer_conv_fwd_x, fer_mat_ik, fer_conv_fwd_store> pb = {
        a, bw, st, s->N * PQ, s->K, CRS, CRS};
    fer_tile_run(pb, 1);
}

/* --gemm cublas: the fused forward's results after cuBLAS's forward, in
 * a pass of its own: the ReLU in place, and stats[k], stats[K + k] the
 * sums of channel k's y and y^2 (thread t every FER_KT-th element, in
 * double, then the block tree). Grid K, FER_KT threads. */
__global__ void fer_conv_relu_sums(int N, int K, int PQ, int relu, float *y, double *stats)
{
    __shared__ double red[64];
    const int k = blockIdx.x;
    const size_t total = (size_t)N * PQ;
    double a = 0, a2 = 0;
    for (size_t i = threadIdx.x; i < total; i += FER_KT) {
        const size_t n = i / PQ, j = i - n * PQ;
        float *p = y + (n * K + k) * PQ + j;
        const float v = relu && !(*p > 0.0f) ? 0.0f : *p;
        *p = v;
        a += v;
        a2 += (double)v * v;
    }
    fer_block_sum2(&a, &a2, red);
    if (threadIdx.x == 0) {
        stats[k] = a;
        stats[K + k] = a2;
    }
}

void fer_cuda_conv_forward_fused(const fer_conv_shape *s, const float *x, const float *w,
                                 const float *b, int relu, float *y, double *stats, float *ws)
{
    if (fer_cuda_cublas()) {
        /* the yardstick's products are cuBLAS's; the epilogue's work follows */
        fer_cuda_conv_forward(s, x, w, b, y, ws);
        if (s->K > 0)
            FER_LAUNCH(fer_conv_relu_sums, dim3(s->K), dim3(FER_KT), 0, s->N, s->K,
                       s->P * s->Q, relu, y, stats);
        return;
    }
    const int PQ = s->P * s->Q, CRS = s->C * s->R * s->S, M = s->N * PQ;
    const int tiles = (M + FER_TILE_M - 1) / FER_TILE_M;
    double *part = (double *)fer_cuda_scratch(2 * sizeof(double) * (size_t)tiles * s->K);
    if (!part || s->K <= 0)
        return;
    const fer_conv_fwd_x a = {x, conv_dims(s)};
    const fer_mat_ik bw = {w, CRS};
    const fer_conv_fused_store st = {y, b, part, s->K, PQ, relu};
    fer_tile_problem<fer_conv_fwd_x, fer_mat_ik, fer_conv_fused_store> pb = {a, bw, st, M, s->K,
                                                                             CRS, CRS};
    fer_tile_run(pb, 1);
    FER_LAUNCH(fer_conv_sums_total, dim3(s->K), dim3(FER_KT), 0, tiles, s->K, part, stats);
}

void fer_cuda_conv_backward(const fer_conv_shape *s, const float *x, const float *w,
                            const float *dy, float *dx, float *dw, float *db, float *ws)
{
    const int PQ = s->P * s->Q, RS = s->R * s->S, CRS = s->C * RS, HW = s->H * s->W;
    const fer_conv_dims d = conv_dims(s);

    if (db)
        FER_LAUNCH(fer_conv_bias_grad, dim3(s->K), dim3(256), 0, s->N, s->K, PQ, dy, db);
    if (fer_cuda_cublas()) {
        fer_cuda_conv_cublas_backward(s, x, w, dy, dx, dw, ws);
        return;
    }

    if (dx) {
        const fer_conv_dgrad_dy a = {dy, d};
        const fer_conv_dgrad_w bw = {w, s->C, RS};
        const fer_conv_dgrad_store st = {dx, s->C, HW};
        fer_tile_problem<fer_conv_dgrad_dy, fer_conv_dgrad_w, fer_conv_dgrad_store> pb = {
            a, bw, st, s->N * HW, s->C, s->K * RS, s->K * RS};
        fer_tile_run(pb, 1);
    }

    int chunk;
    const int splits = wgrad_splits(s, &chunk);
    const size_t n = (size_t)s->K * CRS;
    const fer_conv_wgrad_dy a = {dy, s->K, PQ};
    const fer_conv_wgrad_x bx = {x, d};
    const fer_conv_wgrad_store st = {splits > 1 ? ws : dw, n, CRS};
    fer_tile_problem<fer_conv_wgrad_dy, fer_conv_wgrad_x, fer_conv_wgrad_store> pb = {
        a, bx, st, s->K, CRS, s->N * PQ, chunk};
    fer_tile_run(pb, splits);
    if (splits > 1)
        FER_LAUNCH(fer_conv_wgrad_sum, dim3(fer_cuda_blocks(n, 256)), dim3(256), 0, n, splits, ws,
                   dw);
}
