/* gemm_timing.cu: our GEMM against cuBLAS's on the same operands, timed
 * on the GPU (backend_cuda.h's fer_backend_cuda_time_gemm, for
 * bench/bench_cuda_gemm.c and scripts/gpu-check.sh). */
#include <string.h>

#include "cuda_compat.h"

extern "C" {
#include "error.h"
}
#include "backend_cuda.h"
#include "cublas_dl.h"
#include "cuda_mem.h"
#include "cuda_ops.h"

#ifdef FER_CUDA_EMU
/* the emulation times nothing worth a number */
double fer_backend_cuda_time_gemm(const char *, int, int, int, int)
{
    return fer_seterr("cuda: no GPU timing under the CPU emulation");
}
#else
/* x[i] in [-1, 1), a hash of i: no host copy needed */
__global__ static void fill_kernel(size_t n, uint32_t salt, float *x)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        uint32_t h = (uint32_t)i * 2654435761u ^ salt;
        h ^= h >> 15;
        h *= 2246822519u;
        h ^= h >> 13;
        x[i] = (float)(h >> 8) * (2.0f / 16777216.0f) - 1.0f;
    }
}

static int product(int cublas, int M, int N, int K, const float *a, const float *b, float *c)
{
    if (cublas)
        return fer_cublas_sgemm(0, 0, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
    fer_cuda_gemm(0, 0, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
    return 0;
}

double fer_backend_cuda_time_gemm(const char *which, int M, int N, int K, int reps)
{
    int cublas = !strcmp(which, "cublas");
    if (!cublas && strcmp(which, "ours"))
        return fer_seterr("cuda: time_gemm: '%s' (ours or cublas)", which);
    if (cublas && fer_cublas_load() < 0)
        return -1;
    float *a = NULL, *b = NULL, *c = NULL;
    cudaEvent_t e0, e1;
    double s = -1;
    size_t na = (size_t)M * K, nb = (size_t)K * N, nc = (size_t)M * N;
    if (fer_cuda_check(cudaMalloc(&a, na * 4), "time_gemm") < 0 ||
        fer_cuda_check(cudaMalloc(&b, nb * 4), "time_gemm") < 0 ||
        fer_cuda_check(cudaMalloc(&c, nc * 4), "time_gemm") < 0)
        goto out;
    FER_LAUNCH(fill_kernel, fer_cuda_blocks(na, 256), 256, 0, na, 1u, a);
    FER_LAUNCH(fill_kernel, fer_cuda_blocks(nb, 256), 256, 0, nb, 2u, b);
    cudaEventCreate(&e0);
    cudaEventCreate(&e1);
    for (int i = 0; i < 3; i++)     /* warm-up: clocks, cuBLAS's heuristics */
        if (product(cublas, M, N, K, a, b, c) < 0)
            goto out_events;
    cudaEventRecord(e0, fer_cuda_stream());
    for (int i = 0; i < reps; i++)
        if (product(cublas, M, N, K, a, b, c) < 0)
            goto out_events;
    cudaEventRecord(e1, fer_cuda_stream());
    if (fer_cuda_check(cudaEventSynchronize(e1), "time_gemm") == 0) {
        float ms = 0;
        cudaEventElapsedTime(&ms, e0, e1);
        s = ms / 1000.0 / (reps > 0 ? reps : 1);
    }
out_events:
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
out:
    cudaFree(a);
    cudaFree(b);
    cudaFree(c);
    return s;
}
#endif
