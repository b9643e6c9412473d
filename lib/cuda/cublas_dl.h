/* cublas_dl.h: cuBLAS as the yardstick for our GEMM (--gemm cublas),
 * loaded with dlopen when first asked for, so that fer neither links nor
 * loads the large library unless it is used. */
#ifndef FER_CUBLAS_DL_H
#define FER_CUBLAS_DL_H

/* Loads libcublas and makes its handle on the backend's stream: 0, or -1
 * with fer_error() saying why. */
int fer_cublas_load(void);

/* fer_cuda_gemm's contract (row-major, as fer_gemm) computed by cuBLAS at
 * fer_cuda_precision(): fp32, or float operands down-converted to tf32 or
 * bf16 with fp32 sums (cuBLAS's FAST_TF32 and FAST_16BF compute types).
 * 0, or -1 with fer_error() set. */
int fer_cublas_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                     int lda, const float *B, int ldb, float beta, float *C, int ldc);

#endif
