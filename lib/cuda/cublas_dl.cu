/* cublas_dl.cu: cuBLAS through dlopen (cublas_dl.h). Its header gives the
 * types; the four functions fer calls are looked up by name. Under the CPU
 * emulation there is no cuBLAS: loading fails with a message. */
#include "cuda_compat.h"

extern "C" {
#include "error.h"
}
#include "cublas_dl.h"
#include "cuda_mem.h"

#ifdef FER_CUDA_EMU
int fer_cublas_load(void)
{
    return fer_seterr("cuda: cuBLAS is not available under the CPU emulation");
}

int fer_cublas_sgemm(int, int, int, int, int, float, const float *, int, const float *, int,
                     float, float *, int)
{
    return fer_cublas_load();
}
#else
#include <cublas_v2.h>
#include <dlfcn.h>

typedef cublasStatus_t (*create_fn)(cublasHandle_t *);
typedef cublasStatus_t (*stream_fn)(cublasHandle_t, cudaStream_t);
typedef cublasStatus_t (*gemm_fn)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int,
                                  int, const void *, const void *, cudaDataType, int,
                                  const void *, cudaDataType, int, const void *, void *,
                                  cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t);

static cublasHandle_t handle;
static gemm_fn gemm_ex;

int fer_cublas_load(void)
{
    if (gemm_ex)
        return 0;
    const char *names[] = {"libcublas.so.13", "libcublas.so.12", "libcublas.so"};
    void *lib = NULL;
    for (int i = 0; i < 3 && !lib; i++)
        lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return fer_seterr("cuda: --gemm cublas: cannot load libcublas: %s", dlerror());
    create_fn create = (create_fn)dlsym(lib, "cublasCreate_v2");
    stream_fn set_stream = (stream_fn)dlsym(lib, "cublasSetStream_v2");
    gemm_fn gemm = (gemm_fn)dlsym(lib, "cublasGemmEx");
    if (!create || !set_stream || !gemm)
        return fer_seterr("cuda: --gemm cublas: libcublas lacks cublasGemmEx");
    if (create(&handle) != CUBLAS_STATUS_SUCCESS ||
        set_stream(handle, fer_cuda_stream()) != CUBLAS_STATUS_SUCCESS)
        return fer_seterr("cuda: --gemm cublas: cublasCreate failed");
    gemm_ex = gemm;
    return 0;
}

int fer_cublas_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                     int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0 || fer_cuda_refilling())
        return 0;   /* a graph being refilled runs nothing (cuda_mem.h) */
    if (fer_cublas_load() < 0)
        return -1;
    static const cublasComputeType_t compute[] = {
        CUBLAS_COMPUTE_32F, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_COMPUTE_32F_FAST_16BF};
    /* row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T:
     * swap the operands, keep each one's transpose flag */
    cublasStatus_t st = gemm_ex(handle, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &alpha, B,
                                CUDA_R_32F, ldb, A, CUDA_R_32F, lda, &beta, C, CUDA_R_32F, ldc,
                                compute[fer_cuda_precision()], CUBLAS_GEMM_DEFAULT);
    if (st != CUBLAS_STATUS_SUCCESS)
        return fer_seterr("cuda: cublasGemmEx failed (status %d)", (int)st);
    return 0;
}
#endif
