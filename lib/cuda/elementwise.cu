/* elementwise.cu: ReLU, leaky ReLU, dropout, the residual sum and the
 * weight average, each output element from its own inputs only (so in
 * place is safe), with the CPU's float operations (layers.h): the same
 * bits. Dropout draws fer_key_float(key, i), the CPU's formula. */
#include "cuda_compat.h"
#include "kern_util.cuh"

#include "cuda_mem.h"
#include "rng_key.h"

/* An element-wise rule: y = f(a) or y = f(a, b). */
struct relu_f {
    __device__ float operator()(float x) const { return x > 0.0f ? x : 0.0f; }
};
struct copy_f {
    __device__ float operator()(float x) const { return x; }
};
struct relu_bwd_f {
    __device__ float operator()(float x, float d) const { return x > 0.0f ? d : 0.0f; }
};
struct lrelu_f {
    float a;
    __device__ float operator()(float x) const { return x > 0.0f ? x : fer_mul(a, x); }
};
struct lrelu_bwd_f {
    float a;
    __device__ float operator()(float x, float d) const { return x > 0.0f ? d : fer_mul(a, d); }
};
struct add_f {
    __device__ float operator()(float x, float y) const { return fer_add(x, y); }
};
/* avg + k (w - avg), rounded op by op as the CPU: a = w, b = avg */
/* k from device memory (staged: a graph replays it with each step's) */
struct ema_f {
    const float *k;
    __device__ float operator()(float w, float e) const
    {
        return fer_add(e, fer_mul(*k, fer_sub(w, e)));
    }
};

/* y[i] = f(a[i]) for i < n. Grid-stride over quads (16-byte accesses when
 * V, i.e. every pointer is 16-byte aligned), then the n % 4 tail, one
 * thread each. Grid: fer_cuda_blocks(n / 4), FER_KT threads. */
template <class F, bool V>
__global__ void map1_kernel(size_t n, F f, const float *a, float *y)
{
    const size_t nq = n / 4, stride = (size_t)gridDim.x * blockDim.x;
    const size_t t = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    for (size_t q = t; q < nq; q += stride) {
        if (V) {
            fer_f4 x = ((const fer_f4 *)a)[q];
            for (int u = 0; u < 4; u++)
                x.v[u] = f(x.v[u]);
            ((fer_f4 *)y)[q] = x;
        } else {
            for (int u = 0; u < 4; u++)
                y[4 * q + u] = f(a[4 * q + u]);
        }
    }
    if (t < n % 4)
        y[4 * nq + t] = f(a[4 * nq + t]);
}

/* y[i] = f(a[i], b[i]); as map1_kernel */
template <class F, bool V>
__global__ void map2_kernel(size_t n, F f, const float *a, const float *b, float *y)
{
    const size_t nq = n / 4, stride = (size_t)gridDim.x * blockDim.x;
    const size_t t = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    for (size_t q = t; q < nq; q += stride) {
        if (V) {
            fer_f4 x = ((const fer_f4 *)a)[q], z = ((const fer_f4 *)b)[q];
            for (int u = 0; u < 4; u++)
                x.v[u] = f(x.v[u], z.v[u]);
            ((fer_f4 *)y)[q] = x;
        } else {
            for (int u = 0; u < 4; u++)
                y[4 * q + u] = f(a[4 * q + u], b[4 * q + u]);
        }
    }
    if (t < n % 4)
        y[4 * nq + t] = f(a[4 * nq + t], b[4 * nq + t]);
}

static bool aligned16(const void *p) { return (uintptr_t)p % 16 == 0; }

template <class F> static void map1(size_t n, F f, const float *a, float *y)
{
    if (!n)
        return;
    const unsigned g = fer_cuda_blocks(n / 4, FER_KT);
    if (aligned16(a) && aligned16(y))
        FER_LAUNCH((map1_kernel<F, true>), g, FER_KT, 0, n, f, a, y);
    else
        FER_LAUNCH((map1_kernel<F, false>), g, FER_KT, 0, n, f, a, y);
}

template <class F> static void map2(size_t n, F f, const float *a, const float *b, float *y)
{
    if (!n)
        return;
    const unsigned g = fer_cuda_blocks(n / 4, FER_KT);
    if (aligned16(a) && aligned16(b) && aligned16(y))
        FER_LAUNCH((map2_kernel<F, true>), g, FER_KT, 0, n, f, a, b, y);
    else
        FER_LAUNCH((map2_kernel<F, false>), g, FER_KT, 0, n, f, a, b, y);
}

void fer_cuda_relu_forward(size_t n, const float *x, float *y) { map1(n, relu_f(), x, y); }

void fer_cuda_relu_backward(size_t n, const float *x, const float *dy, float *dx)
{
    map2(n, relu_bwd_f(), x, dy, dx);
}

void fer_cuda_lrelu_forward(size_t n, float a, const float *x, float *y)
{
    map1(n, lrelu_f{a}, x, y);
}

void fer_cuda_lrelu_backward(size_t n, float a, const float *x, const float *dy, float *dx)
{
    map2(n, lrelu_bwd_f{a}, x, dy, dx);
}

void fer_cuda_add(size_t n, const float *a, const float *b, float *y)
{
    if (!b) {
        if (a != y)
            map1(n, copy_f(), a, y);
        return;
    }
    map2(n, add_f(), a, b, y);
}

void fer_cuda_ema(size_t n, float k, const float *w, float *avg)
{
    const float *kd = (const float *)fer_cuda_stage(&k, sizeof k);
    if (kd)
        map2(n, ema_f{kd}, w, avg, avg);
}

/* The CPU's scale: 1 / (1 - p) in float; p <= 0 keeps all, p >= 1 none. */
static float drop_scale(float p) { return p <= 0.0f ? 1.0f : p >= 1.0f ? 0.0f : 1.0f / (1.0f - p); }

/* Grid-stride over the n elements, one per thread: mask[i] = the draw
 * fer_key_float(key, i) >= p, y[i] = x[i] * s where kept, else 0.
 * Grid: fer_cuda_blocks(n), FER_KT threads. */
__global__ void dropout_fwd_kernel(size_t n, float p, float s, const uint64_t *keyp,
                                   const float *x, float *y, uint8_t *mask)
{
    const size_t stride = (size_t)gridDim.x * blockDim.x;
    const uint64_t key = *keyp;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const bool keep = p <= 0.0f ? true : p >= 1.0f ? false : fer_key_float(key, i) >= p;
        const float v = p <= 0.0f ? x[i] : fer_mul(x[i], s);
        mask[i] = (uint8_t)keep;
        y[i] = keep ? v : 0.0f;
    }
}

/* dx[i] = dy[i] * s where mask[i], else 0; as dropout_fwd_kernel */
__global__ void dropout_bwd_kernel(size_t n, float s, const uint8_t *mask, const float *dy,
                                   float *dx)
{
    const size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const float v = fer_mul(dy[i], s);
        dx[i] = mask[i] ? v : 0.0f;
    }
}

void fer_cuda_dropout_forward(size_t n, float p, uint64_t key, const float *x, float *y,
                              uint8_t *mask)
{
    const uint64_t *kd;
    /* the key from device memory: a graph replays it with each step's */
    if (n && (kd = (const uint64_t *)fer_cuda_stage(&key, sizeof key)))
        FER_LAUNCH(dropout_fwd_kernel, fer_cuda_blocks(n, FER_KT), FER_KT, 0, n, p,
                   drop_scale(p), kd, x, y, mask);
}

void fer_cuda_dropout_backward(size_t n, float p, const uint8_t *mask, const float *dy,
                               float *dx)
{
    if (n)
        FER_LAUNCH(dropout_bwd_kernel, fer_cuda_blocks(n, FER_KT), FER_KT, 0, n, drop_scale(p),
                   mask, dy, dx);
}
