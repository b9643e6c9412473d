/* loss.cu: softmax cross-entropy with class weights and label smoothing
 * (layers.h, loss.c), in double as the CPU, sums in a fixed tree order.
 * Both ops are tiny (N rows of K = 7 classes): single-pass kernels whose
 * blocks each redo the batch-wide sums rather than a second launch. */
#include "cuda_compat.h"
#include "kern_util.cuh"

#include <math.h>

extern "C" {
#include "error.h"
}
#include "cuda_mem.h"

static __device__ __forceinline__ double class_weight(const float *w, int k)
{
    return w ? (double)w[k] : 1.0;
}

/* One block of FER_KT threads; thread t takes rows t, t + FER_KT, ...:
 * the row's max and log-sum-exp in double, probs, and its terms of the
 * loss (numerator, w[y]); *loss = the ratio of their block-tree sums. */
__global__ void xent_fwd_kernel(int N, int K, const float *logits, const int32_t *labels,
                                const float *class_w, float smoothing, float *probs,
                                double *loss)
{
    __shared__ double red[64];
    const double eps = smoothing;
    double total = 0, wsum = 0;
    for (int n = threadIdx.x; n < N; n += blockDim.x) {
        const float *zn = logits + (size_t)n * K;
        const int y = labels[n];
        double m = zn[0], s = 0, smooth = 0;
        for (int k = 1; k < K; k++)
            if (zn[k] > m)
                m = zn[k];
        for (int k = 0; k < K; k++)
            s += exp(zn[k] - m);
        const double lse = log(s);
        for (int k = 0; k < K; k++) {
            const double logp = zn[k] - m - lse;
            probs[(size_t)n * K + k] = (float)exp(logp);
            smooth -= class_weight(class_w, k) * logp;
        }
        total += (1 - eps) * class_weight(class_w, y) * -(zn[y] - m - lse) + eps / K * smooth;
        wsum += class_weight(class_w, y);
    }
    fer_block_sum2(&total, &wsum, red);
    if (threadIdx.x == 0)
        *loss = total / wsum;
}

/* Each block first sums w[y_n] over the batch and w[k] over the classes
 * (the same tree in every block, so the same bits), then takes elements
 * (n, k) grid-stride. Grid: fer_cuda_blocks(N K), FER_KT threads. */
__global__ void xent_bwd_kernel(int N, int K, const float *probs, const int32_t *labels,
                                const float *class_w, float smoothing, float *dlogits)
{
    __shared__ double red[64];
    __shared__ double sums[2];
    const double eps = smoothing;
    double wsum = 0, wall = 0;
    for (int n = threadIdx.x; n < N; n += blockDim.x)
        wsum += class_weight(class_w, labels[n]);
    for (int k = threadIdx.x; k < K; k += blockDim.x)
        wall += class_weight(class_w, k);
    fer_block_sum2(&wsum, &wall, red);
    if (threadIdx.x == 0) {
        sums[0] = wsum;
        sums[1] = wall;
    }
    __syncthreads();
    wsum = sums[0];
    wall = sums[1];
    const size_t total = (size_t)N * K, step = (size_t)gridDim.x * blockDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += step) {
        const int n = (int)(i / K), k = (int)(i % K), y = labels[n];
        const double p = probs[i];
        const double g = (1 - eps) * class_weight(class_w, y) * (p - (k == y)) +
                         eps / K * (p * wall - class_weight(class_w, k));
        dlogits[i] = (float)(g / wsum);
    }
}

void fer_cuda_xent_forward(int N, int K, const float *logits, const int32_t *labels,
                           const float *class_w, float smoothing, float *probs, double *loss)
{
    if (N > 0)
        FER_LAUNCH(xent_fwd_kernel, 1, FER_KT, 0, N, K, logits, labels, class_w, smoothing, probs,
                   loss);
}

void fer_cuda_xent_backward(int N, int K, const float *probs, const int32_t *labels,
                            const float *class_w, float smoothing, float *dlogits)
{
    const size_t total = (size_t)N * K;
    if (total)
        FER_LAUNCH(xent_bwd_kernel, fer_cuda_blocks(total, FER_KT), FER_KT, 0, N, K, probs,
                   labels, class_w, smoothing, dlogits);
}
