/* batchnorm.cu: batch norm over (N, HW) per channel (layers.h), x (N, C,
 * HW). Three launches per op:
 *   sums:   grid (C, S): block (c, s) sums its 1/S share of channel c's
 *           M = N HW values in double, each thread a strided run, then a
 *           fixed block tree; partials to the scratch as [c][s];
 *   coefs:  one thread per channel adds its S partials in order and
 *           derives the channel's coefficients as the CPU does
 *           (batchnorm.c's train_coefs, infer_coefs, grad_coefs);
 *   apply:  grid-stride over the elements: y = x a + b, or dx.
 * No atomics: the same bits on every run. The statistics come from one
 * pass: sums of x - x0 and (x - x0)^2 in double, x0 = the channel's first
 * value, so the variance does not cancel unless the data spread is below
 * 1e-8 of their distance from x0. The CPU sums in float lanes, so the
 * two agree to float rounding (test_cuda_ops states the tolerance).
 * forward_train_stats takes the sums of x and x^2 from the convolution
 * that wrote x (conv.cu's fused forward, in double) in place of the sums
 * launch, and may apply a ReLU to y in the same pass. */
#include "cuda_compat.h"
#include "kern_util.cuh"

#include <math.h>

#include "cuda_mem.h"

/* Block (c = blockIdx.x, s = blockIdx.y) of the sums: thread t takes
 * elements j = lo + t, lo + t + FER_KT, ... of [lo, hi), j = n HW + i
 * indexing channel c's values, and gives its share of
 *   train: a = sum (x - x0), b = sum (x - x0)^2
 *   grad:  a = sum dy,       b = sum dy (x - mean), x - mean in float
 * Grid (C, S), FER_KT threads; part[(c S + s) 2 + 0/1]. */
template <bool GRAD>
__global__ void bn_sums_kernel(int N, int C, int HW, const float *x, const float *dy,
                               const float *mean, double *part)
{
    __shared__ double red[64];
    const int c = blockIdx.x, s = blockIdx.y, S = gridDim.y;
    const size_t M = (size_t)N * HW, lo = M * s / S, hi = M * (s + 1) / S;
    /* (n, i) of j, advanced by FER_KT without a division per element */
    const size_t j0 = lo + threadIdx.x;
    size_t n = j0 / HW;
    int i = (int)(j0 - n * HW);
    const int dn = FER_KT / HW, di = FER_KT % HW;
    const float x0 = GRAD ? mean[c] : x[(size_t)c * HW];
    double a = 0, b = 0;
    for (size_t j = j0; j < hi; j += FER_KT) {
        const size_t at = (n * C + c) * HW + i;
        if (GRAD) {
            const float d = dy[at];
            a += d;
            b += (double)d * (x[at] - x0);
        } else {
            const double d = (double)x[at] - x0;
            a += d;
            b += d * d;
        }
        i += di;
        n += dn;
        if (i >= HW) {
            i -= HW;
            n++;
        }
    }
    fer_block_sum2(&a, &b, red);
    if (threadIdx.x == 0) {
        part[((size_t)c * S + s) * 2] = a;
        part[((size_t)c * S + s) * 2 + 1] = b;
    }
}

/* The partials' totals for channel c, in s order. */
static __device__ void bn_total(const double *part, int c, int S, double *a, double *b)
{
    double ta = 0, tb = 0;
    for (int s = 0; s < S; s++) {
        ta += part[((size_t)c * S + s) * 2];
        tb += part[((size_t)c * S + s) * 2 + 1];
    }
    *a = ta;
    *b = tb;
}

/* batchnorm.c's train_coefs for channel c from its mean and biased
 * variance (clamped at 0): y = x ca + cb, the saves, and the running
 * statistics (the running variance unbiased, M / (M - 1)). */
static __device__ void bn_train_finish(int c, double M, double mean, double var,
                                       const float *gamma, const float *beta, float eps,
                                       float momentum, float *run_mean, float *run_var,
                                       float *save_mean, float *save_invstd, float *ca,
                                       float *cb)
{
    if (var < 0)
        var = 0;
    const double invstd = 1.0 / sqrt(var + eps), ad = gamma[c] * invstd;
    ca[c] = (float)ad;
    cb[c] = (float)(beta[c] - mean * ad);
    save_mean[c] = (float)mean;
    save_invstd[c] = (float)invstd;
    run_mean[c] = (float)((1.0 - momentum) * run_mean[c] + momentum * mean);
    run_var[c] = (float)((1.0 - momentum) * run_var[c] + momentum * var * M / (M - 1));
}

/* One thread per channel: mean and biased variance from the shifted sums,
 * then batchnorm.c's train_coefs: save, running statistics, and y = x ca
 * + cb. Grid: fer_cuda_blocks(C), FER_KT threads. */
__global__ void bn_train_coefs_kernel(int N, int C, int HW, const float *x, const double *part,
                                      int S, const float *gamma, const float *beta, float eps,
                                      float momentum, float *run_mean, float *run_var,
                                      float *save_mean, float *save_invstd, float *ca, float *cb)
{
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C)
        return;
    const double M = (double)N * HW;
    double s1, s2;
    bn_total(part, c, S, &s1, &s2);
    const double d = s1 / M;
    bn_train_finish(c, M, x[(size_t)c * HW] + d, s2 / M - d * d, gamma, beta, eps, momentum,
                    run_mean, run_var, save_mean, save_invstd, ca, cb);
}

/* The same from the plain sums stats[c] = sum x, stats[C + c] = sum x^2
 * (conv.cu's, in double). Grid fer_cuda_blocks(C), FER_KT threads. */
__global__ void bn_stats_coefs_kernel(int N, int C, int HW, const double *stats,
                                      const float *gamma, const float *beta, float eps,
                                      float momentum, float *run_mean, float *run_var,
                                      float *save_mean, float *save_invstd, float *ca, float *cb)
{
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C)
        return;
    const double M = (double)N * HW, mean = stats[c] / M;
    bn_train_finish(c, M, mean, stats[C + c] / M - mean * mean, gamma, beta, eps, momentum,
                    run_mean, run_var, save_mean, save_invstd, ca, cb);
}

/* infer_coefs: y = x ca + cb from the running statistics; one thread per
 * channel, grid fer_cuda_blocks(C), FER_KT threads. */
__global__ void bn_infer_coefs_kernel(int C, const float *gamma, const float *beta, float eps,
                                      const float *run_mean, const float *run_var, float *ca,
                                      float *cb)
{
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C)
        return;
    const double ad = gamma[c] / sqrt((double)run_var[c] + eps);
    ca[c] = (float)ad;
    cb[c] = (float)(beta[c] - run_mean[c] * ad);
}

/* grad_coefs: dbeta, dgamma, and dx = ca dy - cb (x - mean) - cc, with
 * the CPU's mix of float and double. One thread per channel, grid
 * fer_cuda_blocks(C), FER_KT threads. */
__global__ void bn_grad_coefs_kernel(int N, int C, int HW, const double *part, int S,
                                     const float *gamma, const float *save_invstd,
                                     float *dgamma, float *dbeta, float *ca, float *cb,
                                     float *cc)
{
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C)
        return;
    const double M = (double)N * HW;
    const float invstd = save_invstd[c];
    double sdy, sdyx;
    bn_total(part, c, S, &sdy, &sdyx);
    sdyx *= invstd;
    dbeta[c] = (float)sdy;
    dgamma[c] = (float)sdyx;
    const float k = fer_mul(gamma[c], invstd);
    ca[c] = k;
    cc[c] = (float)(k * (sdy / M));
    cb[c] = (float)(fer_mul(k, invstd) * (sdyx / M));
}

/* y = x ca[c] + cb[c] (then max(y, 0) when relu), or (GRAD) dx = ca dy - cb (x - mean) - cc, float
 * operations rounded one by one as on the CPU. Grid-stride over the
 * elements, by quads (V: HW % 4 == 0 and 16-byte aligned pointers, so a
 * quad is one channel's) or singly; c = (element / HW) % C in the index
 * type I. Grid: fer_cuda_blocks(total / 4 or total), FER_KT threads. */
template <class I, bool V, bool GRAD>
__global__ void bn_apply_kernel(I total, int C, int HW, const float *x, const float *dy,
                                const float *mean, const float *ca, const float *cb,
                                const float *cc, int relu, float *y)
{
    const I L = V ? 4 : 1, step = (I)gridDim.x * blockDim.x, nq = total / L;
    for (I q = (I)blockIdx.x * blockDim.x + threadIdx.x; q < nq; q += step) {
        const int c = (int)(q * L / (I)HW % (I)C);
        const float a = ca[c], b = cb[c];
        fer_f4 xv, dv;
        if (V) {
            xv = ((const fer_f4 *)x)[q];
            if (GRAD)
                dv = ((const fer_f4 *)dy)[q];
        } else {
            xv.v[0] = x[q];
            if (GRAD)
                dv.v[0] = dy[q];
        }
        if (GRAD) {
            const float m = mean[c], k3 = cc[c];
            for (int u = 0; u < (int)L; u++)
                xv.v[u] = fer_sub(fer_sub(fer_mul(a, dv.v[u]), fer_mul(b, fer_sub(xv.v[u], m))),
                                  k3);
        } else {
            for (int u = 0; u < (int)L; u++) {
                const float v = fer_add(fer_mul(xv.v[u], a), b);
                xv.v[u] = relu && !(v > 0.0f) ? 0.0f : v;
            }
        }
        if (V)
            ((fer_f4 *)y)[q] = xv;
        else
            y[q] = xv.v[0];
    }
}

template <class I, bool GRAD>
static void bn_apply_as(I total, int C, int HW, const float *x, const float *dy,
                        const float *mean, const float *ca, const float *cb, const float *cc,
                        int relu, float *y)
{
    const bool v = HW % 4 == 0 && (uintptr_t)x % 16 == 0 && (uintptr_t)y % 16 == 0 &&
                   (!GRAD || (uintptr_t)dy % 16 == 0);
    const unsigned g = fer_cuda_blocks(v ? total / 4 : total, FER_KT);
    if (v)
        FER_LAUNCH((bn_apply_kernel<I, true, GRAD>), g, FER_KT, 0, total, C, HW, x, dy, mean,
                   ca, cb, cc, relu, y);
    else
        FER_LAUNCH((bn_apply_kernel<I, false, GRAD>), g, FER_KT, 0, total, C, HW, x, dy, mean,
                   ca, cb, cc, relu, y);
}

/* y or dx over all N C HW elements, 32-bit indices when they fit */
template <bool GRAD>
static void bn_apply(int N, int C, int HW, const float *x, const float *dy, const float *mean,
                     const float *ca, const float *cb, const float *cc, int relu, float *y)
{
    const size_t total = (size_t)N * C * HW;
    if (!total)
        return;
    if (total < INT32_MAX)
        bn_apply_as<unsigned, GRAD>((unsigned)total, C, HW, x, dy, mean, ca, cb, cc, relu, y);
    else
        bn_apply_as<size_t, GRAD>(total, C, HW, x, dy, mean, ca, cb, cc, relu, y);
}

/* Blocks per channel for the sums: about 2048 blocks in all (several per
 * SM), none with fewer than 1024 values. A function of the shape alone,
 * so the sums' order never changes. */
static int bn_splits(int N, int C, int HW)
{
    const size_t M = (size_t)N * HW, by_size = (M + 1023) / 1024;
    size_t s = 2048 / (size_t)C;
    if (s > by_size)
        s = by_size;
    if (s > 65535)
        s = 65535;
    return s ? (int)s : 1;
}

/* The scratch: partials (2 C S doubles), then ca, cb, cc (C floats each).
 * NULL (fer_error set) when the device is out of memory. */
static double *bn_scratch(int C, int S, float **ca, float **cb, float **cc)
{
    double *part = (double *)fer_cuda_scratch(2 * sizeof(double) * (size_t)C * S +
                                              3 * sizeof(float) * (size_t)C);
    if (!part)
        return NULL;
    *ca = (float *)(part + 2 * (size_t)C * S);
    *cb = *ca + C;
    *cc = *cb + C;
    return part;
}

void fer_cuda_bn_forward_train(int N, int C, int HW, const float *x, const float *gamma,
                               const float *beta, float eps, float momentum, float *run_mean,
                               float *run_var, float *y, float *save_mean, float *save_invstd)
{
    const int S = bn_splits(N, C, HW);
    float *ca, *cb, *cc;
    double *part;
    if (C <= 0 || !(part = bn_scratch(C, S, &ca, &cb, &cc)))
        return;
    FER_LAUNCH(bn_sums_kernel<false>, dim3(C, S), FER_KT, 0, N, C, HW, x, (const float *)NULL,
               (const float *)NULL, part);
    FER_LAUNCH(bn_train_coefs_kernel, fer_cuda_blocks(C, FER_KT), FER_KT, 0, N, C, HW, x, part,
               S, gamma, beta, eps, momentum, run_mean, run_var, save_mean, save_invstd, ca, cb);
    bn_apply<false>(N, C, HW, x, NULL, NULL, ca, cb, NULL, 0, y);
}

void fer_cuda_bn_forward_train_stats(int N, int C, int HW, const double *stats,
                                     const float *x, const float *gamma, const float *beta,
                                     float eps, float momentum, float *run_mean, float *run_var,
                                     int relu, float *y, float *save_mean, float *save_invstd)
{
    float *ca, *cb, *cc;
    if (C <= 0 || !bn_scratch(C, 0, &ca, &cb, &cc))
        return;
    FER_LAUNCH(bn_stats_coefs_kernel, fer_cuda_blocks(C, FER_KT), FER_KT, 0, N, C, HW, stats,
               gamma, beta, eps, momentum, run_mean, run_var, save_mean, save_invstd, ca, cb);
    bn_apply<false>(N, C, HW, x, NULL, NULL, ca, cb, NULL, relu, y);
}

void fer_cuda_bn_forward_infer(int N, int C, int HW, const float *x, const float *gamma,
                               const float *beta, float eps, const float *run_mean,
                               const float *run_var, float *y)
{
    float *ca, *cb, *cc;
    if (C <= 0 || !bn_scratch(C, 0, &ca, &cb, &cc))
        return;
    FER_LAUNCH(bn_infer_coefs_kernel, fer_cuda_blocks(C, FER_KT), FER_KT, 0, C, gamma, beta, eps,
               run_mean, run_var, ca, cb);
    bn_apply<false>(N, C, HW, x, NULL, NULL, ca, cb, NULL, 0, y);
}

void fer_cuda_bn_backward(int N, int C, int HW, const float *x, const float *dy,
                          const float *gamma, const float *save_mean, const float *save_invstd,
                          float *dx, float *dgamma, float *dbeta)
{
    const int S = bn_splits(N, C, HW);
    float *ca, *cb, *cc;
    double *part;
    if (C <= 0 || !(part = bn_scratch(C, S, &ca, &cb, &cc)))
        return;
    FER_LAUNCH(bn_sums_kernel<true>, dim3(C, S), FER_KT, 0, N, C, HW, x, dy, save_mean, part);
    FER_LAUNCH(bn_grad_coefs_kernel, fer_cuda_blocks(C, FER_KT), FER_KT, 0, N, C, HW, part, S,
               gamma, save_invstd, dgamma, dbeta, ca, cb, cc);
    bn_apply<true>(N, C, HW, x, dy, save_mean, ca, cb, cc, 0, dx);
}
