/* cuda_none.c: backend_cuda.h when fer was built without nvcc (or with
 * CUDA=0): every call fails with one line that says so. With CUDA, the
 * Makefile defines FER_CUDA and backend_cuda.cu has these names. */
#include "backend_cuda.h"
#include "error.h"

#ifndef FER_CUDA
static int no_cuda(void)
{
    return fer_seterr("this fer was built without CUDA (nvcc was not found, or CUDA=0); "
                      "rebuild where nvcc is on PATH");
}

const fer_backend *fer_backend_cuda_open(int device)
{
    (void)device;
    no_cuda();
    return NULL;
}

int fer_backend_cuda_precision(const char *name)
{
    (void)name;
    return no_cuda();
}

int fer_backend_cuda_gemm(const char *name)
{
    (void)name;
    return no_cuda();
}

double fer_backend_cuda_time_gemm(const char *which, int M, int N, int K, int reps)
{
    (void)which, (void)M, (void)N, (void)K, (void)reps;
    return no_cuda();
}
#else
/* ISO C wants a translation unit to declare something */
typedef int fer_cuda_none_unused;
#endif
