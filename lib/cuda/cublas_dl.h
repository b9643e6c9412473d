/* cublas_dl.h: cuBLAS's sgemm behind fer_cuda_gemm (--gemm cublas), as a
 * yardstick for our kernels (cublas_dl.cu). */
#ifndef FER_CUBLAS_DL_H
#define FER_CUBLAS_DL_H

/* C = alpha op(A) op(B) + beta C on the backend's stream, with fer_gemm's
 * row-major arguments (gemm.h), device pointers. Returns 0, or -1 with
 * fer_error() set when cuBLAS cannot be had or fails. */
int fer_cublas_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                     const float *B, int ldb, float beta, float *C, int ldc);

#endif
