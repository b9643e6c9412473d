/* kern_util.cuh: device helpers shared by the small ops (elementwise.cu,
 * pool.cu, batchnorm.cu, loss.cu, optim.cu) and gemm_tile.cuh's column
 * sums: float arithmetic rounded op by op, and block sums in a fixed
 * order. Include after cuda_compat.h. */
#ifndef FER_KERN_UTIL_CUH
#define FER_KERN_UTIL_CUH

#include "cuda_compat.h"

enum { FER_KT = 256 };   /* threads per block of the small ops */

/* four floats as one 16-byte load or store */
struct __align__(16) fer_f4 {
    float v[4];
};

/* a * b and a + b each rounded to float: nvcc would fuse a product and a
 * sum into one fma (one rounding), the CPU rounds twice (C11 mode leaves
 * floating-point contraction off); these keep the CPU's bits. */
static __device__ __forceinline__ float fer_mul(float a, float b)
{
#ifdef __CUDA_ARCH__
    return __fmul_rn(a, b);
#else
    return a * b;
#endif
}

static __device__ __forceinline__ float fer_add(float a, float b)
{
#ifdef __CUDA_ARCH__
    return __fadd_rn(a, b);
#else
    return a + b;
#endif
}

static __device__ __forceinline__ float fer_sub(float a, float b)
{
#ifdef __CUDA_ARCH__
    return __fsub_rn(a, b);
#else
    return a - b;
#endif
}

/* A double through a 32-bit shuffle (the shuffles take 32-bit values):
 * its two halves, each moved by shfl. */
template <class S> static __device__ __forceinline__ double fer_shfl_halves(double v, S shfl)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    const unsigned lo = shfl((unsigned)u), hi = shfl((unsigned)(u >> 32));
    u = (uint64_t)hi << 32 | lo;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* v from the lane `off` above */
static __device__ __forceinline__ double fer_shfl_down_double(double v, unsigned off)
{
    return fer_shfl_halves(v, [off](unsigned x) { return __shfl_down_sync(0xffffffffu, x, off); });
}

/* v from lane ^ mask */
static __device__ __forceinline__ double fer_shfl_xor_double(double v, int mask)
{
    return fer_shfl_halves(v, [mask](unsigned x) { return __shfl_xor_sync(0xffffffffu, x, mask); });
}

/* The sum of one warp's v, in lane 0: a fixed tree (lane i takes lane
 * i + 16, then i + 8, ...), so the bits never depend on timing. */
static __device__ __forceinline__ double fer_warp_sum(double v)
{
    for (unsigned off = 16; off > 0; off /= 2)
        v += fer_shfl_down_double(v, off);
    return v;
}

/* The sums of a and b over the block, returned to thread 0 (others get
 * partial values). blockDim.x is a multiple of 32, at most 1024; smem
 * holds 2 * 32 doubles. Each warp's tree, then warp 0 adds the warps'
 * totals in the same tree; ends with a barrier, so smem may be reused. */
static __device__ __forceinline__ void fer_block_sum2(double *a, double *b, double *smem)
{
    const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32, nwarp = blockDim.x / 32;
    double x = fer_warp_sum(*a), y = fer_warp_sum(*b);
    if (lane == 0) {
        smem[warp] = x;
        smem[32 + warp] = y;
    }
    __syncthreads();
    if (warp == 0) {
        x = lane < nwarp ? smem[lane] : 0.0;
        y = lane < nwarp ? smem[32 + lane] : 0.0;
        x = fer_warp_sum(x);
        y = fer_warp_sum(y);
    }
    __syncthreads();
    *a = x;
    *b = y;
}

#endif
