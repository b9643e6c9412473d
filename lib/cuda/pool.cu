/* pool.cu: max pooling with its argmax, and global average pooling
 * (layers.h). Max pool backward gathers: each input element sums the
 * gradients of the windows whose argmax it is, in the CPU's order (output
 * row-major), so overlapping windows need no atomics and give the CPU's
 * bits. Indices are unsigned 32-bit when the tensor allows it (64-bit
 * division is several times slower), else size_t: the template I. */
#include "cuda_compat.h"
#include "kern_util.cuh"

#include "cuda_mem.h"

/* v replaces best when best is not NaN and v is larger or NaN: the first
 * maximum in row-major order wins, and the first NaN (pool.c's TAKE) */
static __device__ __forceinline__ bool take(float best, float v)
{
    return best == best && (v > best || v != v);
}

/* One output (plane, p, q) per thread, grid-stride over N C P Q; each
 * thread scans its k x k window from its first element. Grid:
 * fer_cuda_blocks(N C P Q), FER_KT threads. */
template <class I>
__global__ void maxpool_fwd_kernel(I total, int H, int W, int P, int Q, int k, int stride,
                                   const float *x, float *y, int32_t *argmax)
{
    const I step = (I)gridDim.x * blockDim.x;
    for (I o = (I)blockIdx.x * blockDim.x + threadIdx.x; o < total; o += step) {
        const I plane = o / ((I)P * Q);
        const int pq = (int)(o - plane * P * Q), p = pq / Q, q = pq % Q;
        const float *xp = x + (size_t)plane * H * W;
        int best = p * stride * W + q * stride;
        float bv = xp[best];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) {
                const int at = (p * stride + i) * W + q * stride + j;
                const float v = xp[at];
                if (take(bv, v)) {
                    best = at;
                    bv = v;
                }
            }
        y[o] = bv;
        argmax[o] = best;
    }
}

/* One input (plane, h, w) per thread, grid-stride over N C H W: the sum
 * of dy over the windows (p, q) that hold (h, w) and chose it, p then q
 * ascending, from 0.0f, as the CPU's scatter adds them. Grid:
 * fer_cuda_blocks(N C H W), FER_KT threads. */
template <class I>
__global__ void maxpool_bwd_kernel(I total, int H, int W, int P, int Q, int k, int stride,
                                   const float *dy, const int32_t *argmax, float *dx)
{
    const I step = (I)gridDim.x * blockDim.x;
    for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += step) {
        const I plane = i / ((I)H * W);
        const int hw = (int)(i - plane * H * W), h = hw / W, w = hw % W;
        /* windows p with p stride <= h < p stride + k, and likewise q */
        const int p0 = h < k ? 0 : (h - k) / stride + 1, p1 = h / stride < P ? h / stride : P - 1;
        const int q0 = w < k ? 0 : (w - k) / stride + 1, q1 = w / stride < Q ? w / stride : Q - 1;
        const float *dyp = dy + (size_t)plane * P * Q;
        const int32_t *ap = argmax + (size_t)plane * P * Q;
        float acc = 0.0f;
        for (int p = p0; p <= p1; p++)
            for (int q = q0; q <= q1; q++)
                if (ap[p * Q + q] == hw)
                    acc += dyp[p * Q + q];
        dx[i] = acc;
    }
}

void fer_cuda_maxpool_forward(int N, int C, int H, int W, int k, int stride, const float *x,
                              float *y, int32_t *argmax)
{
    const int P = (H - k) / stride + 1, Q = (W - k) / stride + 1;
    const size_t total = (size_t)N * C * P * Q;
    const unsigned g = fer_cuda_blocks(total, FER_KT);
    if (total && total < INT32_MAX)
        FER_LAUNCH(maxpool_fwd_kernel<unsigned>, g, FER_KT, 0, (unsigned)total, H, W, P, Q, k,
                   stride, x, y, argmax);
    else if (total)
        FER_LAUNCH(maxpool_fwd_kernel<size_t>, g, FER_KT, 0, total, H, W, P, Q, k, stride, x, y,
                   argmax);
}

void fer_cuda_maxpool_backward(int N, int C, int H, int W, int k, int stride, const float *dy,
                               const int32_t *argmax, float *dx)
{
    const int P = (H - k) / stride + 1, Q = (W - k) / stride + 1;
    const size_t total = (size_t)N * C * H * W;
    const unsigned g = fer_cuda_blocks(total, FER_KT);
    if (total && total < INT32_MAX)
        FER_LAUNCH(maxpool_bwd_kernel<unsigned>, g, FER_KT, 0, (unsigned)total, H, W, P, Q, k,
                   stride, dy, argmax, dx);
    else if (total)
        FER_LAUNCH(maxpool_bwd_kernel<size_t>, g, FER_KT, 0, total, H, W, P, Q, k, stride, dy,
                   argmax, dx);
}

/* One warp per plane (8 per block), grid-stride over the N C planes: the
 * lanes sum strided elements in double, then the warp's fixed tree.
 * Grid: fer_cuda_blocks(N C, 8), FER_KT threads. */
__global__ void avgpool_fwd_kernel(size_t planes, int HW, const float *x, float *y)
{
    const unsigned lane = threadIdx.x % 32, wpb = blockDim.x / 32;
    const size_t step = (size_t)gridDim.x * wpb;
    for (size_t pl = (size_t)blockIdx.x * wpb + threadIdx.x / 32; pl < planes; pl += step) {
        const float *xp = x + pl * HW;
        double s = 0;
        for (int i = (int)lane; i < HW; i += 32)
            s += xp[i];
        s = fer_warp_sum(s);
        if (lane == 0)
            y[pl] = (float)(s / HW);
    }
}

/* dx = dy / HW (in double, rounded once) over each plane; one element per
 * thread, grid-stride over N C HW. Grid: fer_cuda_blocks(N C HW),
 * FER_KT threads. */
template <class I>
__global__ void avgpool_bwd_kernel(I total, int HW, const float *dy, float *dx)
{
    const I step = (I)gridDim.x * blockDim.x;
    for (I i = (I)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += step)
        dx[i] = (float)((double)dy[i / HW] / HW);
}

void fer_cuda_avgpool_forward(int N, int C, int HW, const float *x, float *y)
{
    const size_t planes = (size_t)N * C;
    if (planes)
        FER_LAUNCH(avgpool_fwd_kernel, fer_cuda_blocks(planes, FER_KT / 32), FER_KT, 0, planes,
                   HW, x, y);
}

void fer_cuda_avgpool_backward(int N, int C, int HW, const float *dy, float *dx)
{
    const size_t total = (size_t)N * C * HW;
    const unsigned g = fer_cuda_blocks(total, FER_KT);
    if (total && total < INT32_MAX)
        FER_LAUNCH(avgpool_bwd_kernel<unsigned>, g, FER_KT, 0, (unsigned)total, HW, dy, dx);
    else if (total)
        FER_LAUNCH(avgpool_bwd_kernel<size_t>, g, FER_KT, 0, total, HW, dy, dx);
}
