/* dense.cu: the dense layer, x (N, I), w (O, I), b (O), y (N, O), as
 * products through fer_cuda_gemm (so in the chosen precision) and two
 * small kernels: the bias and its gradient. */
#include "cuda_compat.h"

#include "cuda_ops.h"

/* y[n][o] += b[o]; grid-stride over N O, blocks of 256 */
__global__ void fer_dense_bias(int N, int O, const float *b, float *y)
{
    const size_t total = (size_t)N * O;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] += b[i % O];
}

/* db[o] = sum over n in order of dy[n][o], in double: thread o of blocks
 * of 256 (a warp reads consecutive o) */
__global__ void fer_dense_bias_grad(int N, int O, const float *dy, float *db)
{
    const int o = blockIdx.x * blockDim.x + threadIdx.x;
    if (o >= O)
        return;
    double acc = 0.0;
    for (int n = 0; n < N; n++)
        acc += dy[(size_t)n * O + o];
    db[o] = (float)acc;
}

void fer_cuda_dense_forward(int N, int I, int O, const float *x, const float *w, const float *b,
                            float *y)
{
    /* y = x w^T */
    fer_cuda_gemm(0, 1, N, O, I, 1.0f, x, I, w, I, 0.0f, y, O);
    if (b && N > 0 && O > 0)
        FER_LAUNCH(fer_dense_bias, dim3(fer_cuda_blocks((size_t)N * O, 256)), dim3(256), 0, N, O,
                   b, y);
}

void fer_cuda_dense_backward(int N, int I, int O, const float *x, const float *w,
                             const float *dy, float *dx, float *dw, float *db)
{
    /* dx = dy w (N x O by O x I), dw = dy^T x (O x N by N x I) */
    if (dx)
        fer_cuda_gemm(0, 0, N, I, O, 1.0f, dy, O, w, I, 0.0f, dx, I);
    fer_cuda_gemm(1, 0, O, I, N, 1.0f, dy, O, x, I, 0.0f, dw, I);
    if (db && O > 0)
        FER_LAUNCH(fer_dense_bias_grad, dim3((O + 255) / 256), dim3(256), 0, N, O, dy, db);
}
