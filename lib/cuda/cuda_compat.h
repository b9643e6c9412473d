/* cuda_compat.h: the names a lib/cuda source uses where nvcc and the CPU
 * emulation of tests/cudaemu differ. Every .cu includes this first and
 * no CUDA header of its own, so that each compiles unchanged both ways:
 *   nvcc:           kernels for the GPU, launched on the backend's stream;
 *   -DFER_CUDA_EMU: host C++ (g++ -x c++), each CUDA thread a fiber of
 *                   the emulator (tests/cudaemu/cuda_emu.h supplies
 *                   threadIdx, __syncthreads, __shfl_*_sync, dim3, the
 *                   runtime calls the backend makes, and the two mma
 *                   wrappers below with the PTX fragment layouts).
 * A kernel may use: __global__ __device__ __host__ __forceinline__
 * __restrict__, threadIdx blockIdx blockDim gridDim, __shared__ arrays
 * (no initialisers), FER_DYN_SMEM, __syncthreads, __syncwarp,
 * __shfl_sync/_xor_sync/_down_sync/_up_sync on float, int and unsigned,
 * __float_as_uint/__uint_as_float, expf logf sqrtf rsqrtf fmaxf fminf
 * fabsf floorf, and the mma wrappers. No atomics: every sum has a fixed
 * order, so results repeat bit for bit. */
#ifndef FER_CUDA_COMPAT_H
#define FER_CUDA_COMPAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef FER_CUDA_EMU
#include <cuda_emu.h>
int fer_cuda_refilling(void);
/* The arguments are evaluated and copied at the launch, as CUDA does: a
 * graph's recording keeps the closure, and replays it after the caller's
 * variables are gone. */
template <class... P, class... A>
static inline void fer_emu_launch_args(const char *name, dim3 grid, dim3 block, size_t smem,
                                       void (*kern)(P...), A... args)
{
    fer_emu_launch(name, grid, block, smem, [=]() { kern(args...); });
}
#define FER_LAUNCH(kern, grid, block, smem, ...)                                          \
    do {                                                                                  \
        if (!fer_cuda_refilling())                                                        \
            fer_emu_launch_args(#kern, (grid), (block), (smem), kern, __VA_ARGS__);       \
    } while (0)
#define FER_DYN_SMEM(type, name) type *name = (type *)fer_emu_dyn_smem()
#else
#include <cuda_runtime.h>

cudaStream_t fer_cuda_stream(void);
int fer_cuda_refilling(void);
/* kern<<<grid, block, smem, the backend's stream>>>(args), except while a
 * graph is refilled (cuda_mem.h), when nothing runs */
#define FER_LAUNCH(kern, grid, block, smem, ...)                                  \
    do {                                                                          \
        if (!fer_cuda_refilling())                                                \
            kern<<<(grid), (block), (smem), fer_cuda_stream()>>>(__VA_ARGS__);    \
    } while (0)
#define FER_DYN_SMEM(type, name) extern __shared__ __align__(16) type name[]

/* D = A B + C for one warp: m16n8k16, A 16x16 row-major bf16, B 16x8
 * column-major bf16, C and D 16x8 fp32. Every lane of the warp calls it
 * with its own fragments; a register of a or b holds two bf16, the lower
 * index in the low half. With g = lane / 4, t = lane % 4 (PTX ISA,
 * "Matrix fragments for mma.m16n8k16 with floating point type"):
 *   a: element i in 0..7 of the 8 halves is A[g + 8 ((i / 2) % 2)]
 *      [2 t + i % 2 + 8 (i / 4)]
 *   b: element i in 0..3 is B[2 t + i % 2 + 8 (i / 2)][g]
 *   c, d: element i in 0..3 is C[g + 8 (i / 2)][2 t + i % 2] */
static __device__ __forceinline__ void fer_mma_bf16_m16n8k16(float d[4], const uint32_t a[4],
                                                             const uint32_t b[2],
                                                             const float c[4])
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                 "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};\n"
                 : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]),
                   "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]));
}

/* D = A B + C for one warp: m16n8k8, A 16x8 row-major tf32 (a float's
 * bits, the low 13 mantissa bits ignored), B 8x8 column-major tf32.
 *   a: element i in 0..3 is A[g + 8 (i % 2)][t + 4 (i / 2)]
 *   b: element i in 0..1 is B[t + 4 i][g]
 *   c, d: as for bf16 */
static __device__ __forceinline__ void fer_mma_tf32_m16n8k8(float d[4], const uint32_t a[4],
                                                            const uint32_t b[2],
                                                            const float c[4])
{
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
                 "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};\n"
                 : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]),
                   "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]));
}
#endif

/* f rounded to bf16 (nearest even, NaN kept quiet), as the CPU's
 * fer_bf16_round: the high 16 bits of the result's float */
static __host__ __device__ __forceinline__ uint32_t fer_cuda_bf16_bits(float f)
{
#ifdef __CUDA_ARCH__
    uint32_t u = __float_as_uint(f);
#else
    uint32_t u;
    memcpy(&u, &f, sizeof u);
#endif
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (u | 0x00400000u) >> 16;
    return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

/* f rounded to tf32 (10 mantissa bits; to nearest, ties away from zero,
 * as cvt.rna.tf32.f32 and cuBLAS's conversion), as a float's bits. The
 * mma would otherwise meet unrounded operands, whose low bits PTX leaves
 * to the hardware. */
static __host__ __device__ __forceinline__ uint32_t fer_cuda_tf32_bits(float f)
{
#ifdef __CUDA_ARCH__
    uint32_t u;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(u) : "f"(f));
    return u;
#else
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7f800000u) == 0x7f800000u)
        return u;   /* Inf and NaN unchanged */
    /* half an ulp of tf32 added to the magnitude: ties go away from zero */
    return (u + 0x1000u) & 0xffffe000u;
#endif
}

/* two floats as one register of bf16 pairs: lo in the low half */
static __host__ __device__ __forceinline__ uint32_t fer_cuda_bf16_pack(float lo, float hi)
{
    return fer_cuda_bf16_bits(lo) | (fer_cuda_bf16_bits(hi) << 16);
}

/* Blocks of `threads` over n elements, for a grid-stride loop: at most
 * 65535 * 16 blocks, more work per thread beyond. */
static inline unsigned fer_cuda_blocks(size_t n, unsigned threads)
{
    size_t b = (n + threads - 1) / threads;
    if (b > 65535u * 16u)
        b = 65535u * 16u;
    return b ? (unsigned)b : 1u;
}

#endif
