/* cuda_emu.h: the CUDA execution model on the CPU, for testing lib/cuda's
 * kernels without a GPU. A .cu file compiled as host C++ with
 * -DFER_CUDA_EMU gets this header through cuda_compat.h.
 *
 * A launch (FER_LAUNCH -> fer_emu_launch) runs the grid's blocks one after
 * another, in a seeded random order, on the calling OS thread. Each CUDA
 * thread of a block is a fiber (ucontext) with its own stack; a fiber runs
 * until it reaches a barrier (__syncthreads, a warp collective) or
 * returns, and the scheduler then picks the next runnable fiber at random.
 * So the order of threads between barriers changes with the seed
 * (fer_emu_seed, or FER_EMU_SEED in the environment), and a missing
 * __syncthreads shows up as a wrong result for some seeds.
 *
 * __shared__ is `static thread_local`: all fibers of a block run on one OS
 * thread and the blocks of that thread run one at a time, so a block's
 * threads share the variable and no other block sees it mid-run. Static
 * __shared__ arrays keep the last block's values (they cannot be poisoned
 * per block: the emulator never learns their addresses); the dynamic
 * buffer (FER_DYN_SMEM) is refilled with 0xFF bytes (NaN floats) at each
 * block start, and cudaMalloc's memory starts as 0xFF too.
 *
 * Misuse aborts with the kernel's name, the block and the thread: a warp
 * collective with a partial mask or in a partial warp, lanes of one warp
 * at different collectives, a __syncthreads that not every thread of the
 * block reaches (a deadlock on the GPU).
 *
 * The runtime calls (cuda_emu_runtime.cc) keep the CUDA runtime's names
 * and semantics; everything runs synchronously, streams are tokens. */
#ifndef FER_CUDA_EMU_H
#define FER_CUDA_EMU_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <functional>

/* ---- kernel-side keywords ---- */
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __shared__ static thread_local
/* __restrict__ is already a g++ keyword */

struct uint3 {
    unsigned x, y, z;
};

struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
    constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};

/* The running fiber's coordinates, set by the scheduler before it switches
 * a fiber in. __thread (not thread_local): no TLS wrapper call per read. */
extern __thread uint3 fer_emu_thread_idx, fer_emu_block_idx;
extern __thread dim3 fer_emu_block_dim, fer_emu_grid_dim;
#define threadIdx ((const uint3 &)fer_emu_thread_idx)
#define blockIdx ((const uint3 &)fer_emu_block_idx)
#define blockDim ((const dim3 &)fer_emu_block_dim)
#define gridDim ((const dim3 &)fer_emu_grid_dim)
static constexpr int warpSize = 32;

/* ---- launch and scheduling (cuda_emu.cc) ---- */

/* Runs body once per CUDA thread of grid x block, each call a fiber; with a
 * bad configuration (more than 1024 threads, a zero dimension, over 227 KiB
 * of dynamic shared memory) runs nothing and sets the last error to
 * cudaErrorInvalidConfiguration. While a stream is being captured the
 * launch is recorded into its graph instead. name is for messages. */
void fer_emu_launch(const char *name, dim3 grid, dim3 block, size_t dyn_smem,
                    std::function<void()> body);
/* The block's dynamic shared memory: dyn_smem bytes, 16-aligned, 0xFF at
 * each block start; NULL when the launch asked for none. */
void *fer_emu_dyn_smem(void);
/* The scheduling seed: the order of blocks and of threads between
 * barriers. Default: $FER_EMU_SEED, else 1. Every launch draws from the
 * seeded generator, so a run repeats exactly for one seed. */
void fer_emu_seed(uint64_t seed);
/* Each fiber's stack in bytes (default 64 KiB, 256 KiB under ASan;
 * $FER_EMU_STACK_KB). Takes effect for fibers made after the call. */
void fer_emu_set_stack_size(size_t bytes);
/* The fiber context switches since the start, for tests and benchmarks. */
uint64_t fer_emu_switches(void);

void __syncthreads(void);
void __syncwarp(unsigned mask = 0xffffffffu);

/* ---- warp collectives (cuda_emu_warp.cc) ---- */

/* The PTX shfl.sync modes; each lane gets the value of lane src (or its
 * own when src falls outside its segment of width lanes). */
enum { FER_EMU_SHFL_IDX, FER_EMU_SHFL_UP, FER_EMU_SHFL_DOWN, FER_EMU_SHFL_BFLY };
uint32_t fer_emu_shfl(unsigned mask, uint32_t v, int mode, int b, int width);

template <class T> static inline T fer_emu_shfl_t(unsigned mask, T v, int mode, int b, int width)
{
    static_assert(sizeof(T) == 4, "the emulator shuffles 4-byte values (float, int, unsigned)");
    uint32_t u;
    memcpy(&u, &v, 4);
    u = fer_emu_shfl(mask, u, mode, b, width);
    memcpy(&v, &u, 4);
    return v;
}
template <class T> static inline T __shfl_sync(unsigned mask, T v, int src, int width = 32)
{
    return fer_emu_shfl_t(mask, v, FER_EMU_SHFL_IDX, src, width);
}
template <class T> static inline T __shfl_up_sync(unsigned mask, T v, unsigned d, int width = 32)
{
    return fer_emu_shfl_t(mask, v, FER_EMU_SHFL_UP, (int)d, width);
}
template <class T> static inline T __shfl_down_sync(unsigned mask, T v, unsigned d, int width = 32)
{
    return fer_emu_shfl_t(mask, v, FER_EMU_SHFL_DOWN, (int)d, width);
}
template <class T> static inline T __shfl_xor_sync(unsigned mask, T v, int m, int width = 32)
{
    return fer_emu_shfl_t(mask, v, FER_EMU_SHFL_BFLY, m, width);
}

/* The tensor-core products of cuda_compat.h, warp-collective, with the
 * PTX fragment layouts (cuda_emu_mma.cc says how they are computed). */
void fer_mma_bf16_m16n8k16(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]);
void fer_mma_tf32_m16n8k8(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]);

/* ---- device math: the CUDA intrinsics as plain host math ---- */
static inline float fer_emu_rsqrtf(float x) { return 1.0f / sqrtf(x); }
static inline float fer_emu_saturatef(float x) { return x >= 1.0f ? 1.0f : x > 0.0f ? x : 0.0f; }
/* macros, not functions: a newer libm may declare rsqrtf itself (C23) */
#define rsqrtf fer_emu_rsqrtf
#define __saturatef fer_emu_saturatef
#define __fdividef(a, b) ((a) / (b))
#define __expf expf
#define __logf logf
#define __fsqrt_rn sqrtf
static inline uint32_t __float_as_uint(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static inline float __uint_as_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static inline int __float_as_int(float f) { return (int)__float_as_uint(f); }
static inline float __int_as_float(int i) { return __uint_as_float((uint32_t)i); }

#include "cuda_emu_runtime.h"

#endif
