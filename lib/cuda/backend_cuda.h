/* backend_cuda.h: the CUDA backend (backend.h's table over lib/cuda's
 * kernels), for C callers. Built when nvcc was found; otherwise
 * cuda_none.c answers every call with an error that says so. */
#ifndef FER_BACKEND_CUDA_H
#define FER_BACKEND_CUDA_H

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The backend on GPU number device (0 for the first), ready to use; or
 * NULL with fer_error() saying why in one line: built without CUDA, no
 * usable GPU, no such device number, or a driver older than the runtime
 * fer was built with. */
const fer_backend *fer_backend_cuda_open(int device);

/* --precision for the products on the GPU: "fp32", "tf32" or "bf16"; and
 * --gemm: "ours" (the default) or "cublas", the yardstick. 0, or -1 with
 * fer_error() set (an unknown name; cublas not loadable). */
int fer_backend_cuda_precision(const char *name);
int fer_backend_cuda_gemm(const char *name);

/* For bench/bench_cuda_gemm.c: the mean seconds of one product C = A B
 * (row-major, M x K times K x N, random operands, beta 0) by our GEMM
 * ("ours") or cuBLAS's ("cublas") at the precision set, over reps runs
 * after a warm-up, timed on the GPU with CUDA events; -1 with fer_error()
 * set when it cannot run. */
double fer_backend_cuda_time_gemm(const char *which, int M, int N, int K, int reps);

#ifdef __cplusplus
}
#endif

#endif
