/* cuda_test.h: device memory for the tests of lib/cuda under the CPU
 * emulation (tests/test_cuda_*.cc): blocks filled from host vectors or
 * with NaN (0xFF bytes), and their contents back. Each block has a few
 * bytes of slack past its end; a failed allocation ends the test. */
#ifndef FER_CUDA_TEST_H
#define FER_CUDA_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <vector>

template <class T> static T *dev_new(size_t n)
{
    void *p = NULL;
    if (cudaMalloc(&p, n * sizeof(T) + 16) != cudaSuccess) {
        fprintf(stderr, "cudaMalloc of %zu bytes failed\n", n * sizeof(T) + 16);
        exit(1);
    }
    return (T *)p;
}

template <class T> static T *dev_from(const std::vector<T> &h)
{
    T *d = dev_new<T>(h.size());
    cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice);
    return d;
}

/* n floats of NaN */
static inline float *dev_nan(size_t n)
{
    float *d = dev_new<float>(n);
    cudaMemset(d, 0xff, n * sizeof(float));
    return d;
}

/* n elements of d, once the queued work is done */
template <class T> static std::vector<T> host_from(const T *d, size_t n)
{
    std::vector<T> h(n);
    cudaDeviceSynchronize();
    cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost);
    return h;
}

#endif
