/* gemm_tile.cuh: the main loops of every product kernel (gemm.cu,
 * conv.cu), templated over where the operands come from and where the
 * result goes, so that a convolution gathers its input on the fly
 * (implicit GEMM) through the same tiles as a plain GEMM.
 *
 * A problem P computes D[m][n] = sum over k of A(m, k) B(k, n) for m < M,
 * n < N and k in the block's slice of [0, K): blockIdx.z sums k in
 * [z kchunk, min(K, (z + 1) kchunk)) (split-K; kchunk >= K for none).
 *   P::LA a:  element (m, k) of op(A) is a.at(a.row(m), a.col(k)), read
 *             only for m < M, k < K (row and col may be called past them:
 *             they only compute offsets). A thread's rows stay the same
 *             for the whole kernel, so row() runs once and col() once per
 *             k-tile: the index arithmetic of a gather is split between
 *             them (row_t and col_t are the loader's types).
 *             a.kfast: whether consecutive k lie together in memory
 *             (then threads walk k, else they walk m: loads coalesce).
 *   P::LB b:  likewise op(B)[k][n] = b.at(b.row(n), b.col(k)), n < N.
 *   P::EP ep: ep.store(z, m, n, v) for m < M, n < N: the block's sum.
 *             An epilogue for which fer_tile_sums<EP> is true also sums
 *             its stored values per column while the tile is in
 *             registers (a convolution's batch-norm statistics): its
 *             store returns the value it wrote, y, and the block then
 *             calls ep.sums(blockIdx.x, n, 0, s) and ep.sums(blockIdx.x,
 *             n, 1, q) for each n < N of its tile, s and q the sums of y
 *             and y^2 (in double) over the tile's rows m < M, in a fixed
 *             order. No split-K with sums.
 * Every sum runs in a fixed order: results repeat bit for bit.
 *
 * The host picks a grid of (ceil(M / 128), ceil(N / 128), splits) blocks
 * of 256 threads and one of three kernels:
 *   fer_sgemm_tile:      fp32, FMA units; 128x128 block tile, k-tile 8,
 *                        16x16 threads each an 8x8 register tile;
 *   fer_mma_tf32_tile,
 *   fer_mma_bf16_tile:   tensor cores (mma.sync), fp32 accumulate;
 *                        128x128 block tile, k-tile 16 (tf32) or 32
 *                        (bf16) = 16 32-bit words a row; 8 warps as 2 (m)
 *                        x 4 (n), each a 64x32 warp tile of 4x4 mma
 *                        fragments.
 * Both double-buffer shared memory: the next k-tile is fetched into
 * registers while the current one is multiplied, one __syncthreads a
 * k-tile. */
#ifndef FER_GEMM_TILE_CUH
#define FER_GEMM_TILE_CUH

#include "cuda_compat.h"
#include "cuda_ops.h"
#include "kern_util.cuh"

/* loop unrolling and register bounds (threads a block, blocks an SM):
 * hints nvcc reads and the emulation (host C++) has no use for. The fp32
 * kernel fits 128 registers without spilling (2 blocks an SM); the mma
 * kernels spill under 128 (gather loaders), so they ask for 1 block. */
#ifdef FER_CUDA_EMU
#define FER_UNROLL
#define FER_BOUNDS(threads, blocks)
#else
#define FER_UNROLL _Pragma("unroll")
#define FER_BOUNDS(threads, blocks) __launch_bounds__(threads, blocks)
#endif

enum { FER_TILE_M = 128, FER_TILE_N = 128, FER_TILE_THREADS = 256 };

static __host__ __device__ __forceinline__ int fer_tile_min(int a, int b)
{
    return a < b ? a : b;
}

/* One problem of the kind described above, passed by value to a kernel. */
template <class A, class B, class E> struct fer_tile_problem {
    typedef A LA;
    typedef B LB;
    typedef E EP;
    A a;
    B b;
    E ep;
    int M, N, K, kchunk;
};

/* Faults a test may build into its own instantiations of these kernels
 * (tests/test_cuda_gemm.cc specialises this for its problem types) to
 * show that it catches them: a missing __syncthreads, a wrong mma
 * fragment index. A compile-time 0 for every problem of the library. */
enum { FER_TILE_FAULT_NONE, FER_TILE_FAULT_NOSYNC, FER_TILE_FAULT_FRAGMENT };
template <class P> struct fer_tile_fault {
    static const int value = FER_TILE_FAULT_NONE;
};

/* Whether epilogue E sums its columns (above); conv.cu specialises it. */
template <class E> struct fer_tile_sums {
    static const bool value = false;
};

/* The column sums' last step: each of the 256 threads holds the sums s, q
 * of its rows of column col (of 128), in slot `slot` of SLOTS; put
 * fills red (shared) where `has` (one thread a slot and column); end,
 * called by every thread (it syncs), has thread t < 128 add column t's
 * s over the slots in order, t >= 128 column t - 128's q, and hands the
 * totals to the epilogue. */
template <int SLOTS, class P>
static __device__ __forceinline__ void fer_tile_sums_put(double (*red)[SLOTS][128], bool has,
                                                         int slot, int col, double s, double q)
{
    if (has) {
        red[0][slot][col] = s;
        red[1][slot][col] = q;
    }
}

template <int SLOTS, class P>
static __device__ __forceinline__ void fer_tile_sums_end(const P &pb,
                                                         double (*red)[SLOTS][128], int n0)
{
    __syncthreads();
    const int t = threadIdx.x, which = t / 128, col = t % 128;
    double v = 0.0;
    FER_UNROLL
    for (int i = 0; i < SLOTS; i++)
        v += red[which][i][col];
    if (n0 + col < pb.N)
        pb.ep.sums(blockIdx.x, n0 + col, which, v);
}

/* Loaders of stored matrices: */
/* a matrix stored with element (i, k) at p[i ld + k]: rows of k */
struct fer_mat_ik {
    static const bool kfast = true;
    typedef const float *row_t;
    typedef int col_t;
    const float *p;
    int ld;
    __device__ row_t row(int i) const { return p + (size_t)i * ld; }
    __device__ col_t col(int k) const { return k; }
    __device__ float at(row_t r, col_t k) const { return r[k]; }
};

/* element (i, k) at p[k ld + i]: rows of i */
struct fer_mat_ki {
    static const bool kfast = false;
    typedef int row_t;
    typedef const float *col_t;
    const float *p;
    int ld;
    __device__ row_t row(int i) const { return i; }
    __device__ col_t col(int k) const { return p + (size_t)k * ld; }
    __device__ float at(row_t i, col_t c) const { return c[i]; }
};

/* ---- fp32 ---- */

/* Element e (of ROWS * BK / 256) that thread tid moves between an
 * operand and its shared tile: tile row i (m or n), column k. */
template <bool KFAST, int ROWS, int BK>
static __device__ __forceinline__ void fer_tile_slot(int tid, int e, int *i, int *k)
{
    /* = idx % BK, idx / BK (or idx % ROWS, idx / ROWS) of idx = tid +
     * 256 e, written so that the fixed coordinate is plainly fixed */
    if (KFAST) {
        *k = tid % BK;
        *i = tid / BK + e * (FER_TILE_THREADS / BK);
    } else {
        *i = tid % ROWS;
        *k = tid / ROWS + e * (FER_TILE_THREADS / ROWS);
    }
}

/* The rows of an operand that thread tid moves, E elements a k-tile of
 * BK: E rows when threads walk k, else one; computed once a kernel. */
template <class L, int BK, int E> struct fer_tile_rows {
    enum { n = L::kfast ? E : 1 };
    typename L::row_t r[n];
    bool ok[n];
    __device__ void init(const L &l, int r0, int rows, int tid)
    {
        FER_UNROLL
        for (int j = 0; j < n; j++) {
            int i, k;
            fer_tile_slot<L::kfast, 128, BK>(tid, j, &i, &k);
            r[j] = l.row(r0 + i);
            ok[j] = r0 + i < rows;
        }
    }
};

/* the operand's tile rows x k [k0, k0 + 8) into v, zeros past the rows
 * and kend */
template <class L>
static __device__ __forceinline__ void fer_sgemm_fetch(const L &l,
                                                       const fer_tile_rows<L, 8, 4> &rw, int k0,
                                                       int kend, int tid, float v[4])
{
    FER_UNROLL
    for (int e = 0; e < 4; e++) {
        int i, k;
        fer_tile_slot<L::kfast, 128, 8>(tid, e, &i, &k);
        const int j = L::kfast ? e : 0;
        v[e] = rw.ok[j] && k0 + k < kend ? l.at(rw.r[j], l.col(k0 + k)) : 0.0f;
    }
}

template <class L>
static __device__ __forceinline__ void fer_sgemm_put(float (*s)[128 + 4], int tid,
                                                     const float v[4])
{
    FER_UNROLL
    for (int e = 0; e < 4; e++) {
        int i, k;
        fer_tile_slot<L::kfast, 128, 8>(tid, e, &i, &k);
        s[k][i] = v[e];
    }
}

/* grid (ceil(M/128), ceil(N/128), splits), block 256: thread (tx, ty) =
 * (tid % 16, tid / 16) owns rows ty*4 + {0..3, 64..67} and columns
 * tx*4 + {0..3, 64..67} of the block's 128x128 tile */
template <class P> __global__ void FER_BOUNDS(256, 2) fer_sgemm_tile(P pb)
{
    __shared__ float As[2][8][128 + 4];
    __shared__ float Bs[2][8][128 + 4];
    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    const int m0 = blockIdx.x * 128, n0 = blockIdx.y * 128, z = blockIdx.z;
    const int kb = z * pb.kchunk, ke = fer_tile_min(pb.K, kb + pb.kchunk);
    const int nk = ke > kb ? (ke - kb + 7) / 8 : 0;
    float acc[8][8], ra[4], rb[4];

    FER_UNROLL
    for (int i = 0; i < 8; i++)
        FER_UNROLL
        for (int j = 0; j < 8; j++)
            acc[i][j] = 0.0f;

    fer_tile_rows<typename P::LA, 8, 4> rwa;
    fer_tile_rows<typename P::LB, 8, 4> rwb;
    rwa.init(pb.a, m0, pb.M, tid);
    rwb.init(pb.b, n0, pb.N, tid);
    fer_sgemm_fetch(pb.a, rwa, kb, ke, tid, ra);
    fer_sgemm_fetch(pb.b, rwb, kb, ke, tid, rb);
    fer_sgemm_put<typename P::LA>(As[0], tid, ra);
    fer_sgemm_put<typename P::LB>(Bs[0], tid, rb);
    __syncthreads();

    for (int t = 0; t < nk; t++) {
        const int cur = t & 1;
        if (t + 1 < nk) {
            fer_sgemm_fetch(pb.a, rwa, kb + (t + 1) * 8, ke, tid, ra);
            fer_sgemm_fetch(pb.b, rwb, kb + (t + 1) * 8, ke, tid, rb);
        }
        FER_UNROLL
        for (int kk = 0; kk < 8; kk++) {
            float a[8], b[8];
            FER_UNROLL
            for (int i = 0; i < 4; i++) {
                a[i] = As[cur][kk][ty * 4 + i];
                a[i + 4] = As[cur][kk][64 + ty * 4 + i];
                b[i] = Bs[cur][kk][tx * 4 + i];
                b[i + 4] = Bs[cur][kk][64 + tx * 4 + i];
            }
            FER_UNROLL
            for (int i = 0; i < 8; i++)
                FER_UNROLL
                for (int j = 0; j < 8; j++)
                    acc[i][j] += a[i] * b[j];
        }
        /* the other buffer was last read before the previous sync */
        if (t + 1 < nk) {
            fer_sgemm_put<typename P::LA>(As[cur ^ 1], tid, ra);
            fer_sgemm_put<typename P::LB>(Bs[cur ^ 1], tid, rb);
        }
        if (fer_tile_fault<P>::value != FER_TILE_FAULT_NOSYNC)
            __syncthreads();
    }

    if constexpr (fer_tile_sums<typename P::EP>::value) {
        /* column by column, so that two doubles are live, not 32: the
         * thread's 8 rows, then its warp's other half (ty ^ 1), so that 8
         * slots (warps) remain */
        __shared__ double red[2][8][128];
        FER_UNROLL
        for (int j = 0; j < 8; j++) {
            const int c = j < 4 ? tx * 4 + j : 64 + tx * 4 + j - 4, n = n0 + c;
            double s = 0.0, q = 0.0;
            FER_UNROLL
            for (int i = 0; i < 8; i++) {
                const int m = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + i - 4);
                if (m < pb.M && n < pb.N) {
                    const double y = pb.ep.store(z, m, n, acc[i][j]);
                    s += y;
                    q += y * y;
                }
            }
            s += fer_shfl_xor_double(s, 16);
            q += fer_shfl_xor_double(q, 16);
            fer_tile_sums_put<8, P>(red, tid % 32 < 16, tid / 32, c, s, q);
        }
        fer_tile_sums_end<8>(pb, red, n0);
    } else {
        FER_UNROLL
        for (int i = 0; i < 8; i++) {
            const int m = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + i - 4);
            FER_UNROLL
            for (int j = 0; j < 8; j++) {
                const int n = n0 + (j < 4 ? tx * 4 + j : 64 + tx * 4 + j - 4);
                if (m < pb.M && n < pb.N)
                    pb.ep.store(z, m, n, acc[i][j]);
            }
        }
    }
}

/* ---- tensor cores ---- */

/* Word e (of 128 rows x 16 words / 256 = 8) of thread tid: tile row i,
 * word w; a word is element k0 + w (tf32) or the pair k0 + 2w, k0 + 2w + 1
 * (bf16, the lower k in the low half). */
template <int PREC, class L>
static __device__ __forceinline__ void fer_mma_fetch(const L &l,
                                                     const fer_tile_rows<L, 16, 8> &rw, int k0,
                                                     int kend, int tid, uint32_t v[8])
{
    FER_UNROLL
    for (int e = 0; e < 8; e++) {
        int i, w;
        fer_tile_slot<L::kfast, 128, 16>(tid, e, &i, &w);
        const int j = L::kfast ? e : 0;
        if (PREC == FER_CUDA_BF16) {
            const int k = k0 + 2 * w;
            const float lo = rw.ok[j] && k < kend ? l.at(rw.r[j], l.col(k)) : 0.0f;
            const float hi = rw.ok[j] && k + 1 < kend ? l.at(rw.r[j], l.col(k + 1)) : 0.0f;
            v[e] = fer_cuda_bf16_pack(lo, hi);
        } else {
            const int k = k0 + w;
            v[e] = fer_cuda_tf32_bits(rw.ok[j] && k < kend ? l.at(rw.r[j], l.col(k)) : 0.0f);
        }
    }
}

template <class L>
static __device__ __forceinline__ void fer_mma_put(uint32_t (*s)[16 + 4], int tid,
                                                   const uint32_t v[8])
{
    FER_UNROLL
    for (int e = 0; e < 8; e++) {
        int i, w;
        fer_tile_slot<L::kfast, 128, 16>(tid, e, &i, &w);
        s[i][w] = v[e];
    }
}

/* grid (ceil(M/128), ceil(N/128), splits), block 256 = 8 warps: warp wm =
 * warp % 2, wn = warp / 2 owns rows wm*64 + [0, 64) and columns wn*32 +
 * [0, 32) as 4 x 4 fragments of 16x8. Shared rows are 16 words + 4 of
 * padding: the fragment loads (row g, word t) hit 32 different banks. */
template <int PREC, class P>
static __device__ __forceinline__ void fer_mma_body(const P &pb, uint32_t (*As)[128][16 + 4],
                                                    uint32_t (*Bs)[128][16 + 4])
{
    const int BK = PREC == FER_CUDA_BF16 ? 32 : 16; /* elements a k-tile */
    const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
    const int g = lane / 4, t = lane % 4, mb = (warp % 2) * 64, nb = (warp / 2) * 32;
    const int m0 = blockIdx.x * 128, n0 = blockIdx.y * 128, z = blockIdx.z;
    const int kb = z * pb.kchunk, ke = fer_tile_min(pb.K, kb + pb.kchunk);
    const int nk = ke > kb ? (ke - kb + BK - 1) / BK : 0;
    float acc[4][4][4];
    uint32_t ra[8], rb[8];

    FER_UNROLL
    for (int i = 0; i < 4; i++)
        FER_UNROLL
        for (int j = 0; j < 4; j++)
            FER_UNROLL
            for (int e = 0; e < 4; e++)
                acc[i][j][e] = 0.0f;

    fer_tile_rows<typename P::LA, 16, 8> rwa;
    fer_tile_rows<typename P::LB, 16, 8> rwb;
    rwa.init(pb.a, m0, pb.M, tid);
    rwb.init(pb.b, n0, pb.N, tid);
    fer_mma_fetch<PREC>(pb.a, rwa, kb, ke, tid, ra);
    fer_mma_fetch<PREC>(pb.b, rwb, kb, ke, tid, rb);
    fer_mma_put<typename P::LA>(As[0], tid, ra);
    fer_mma_put<typename P::LB>(Bs[0], tid, rb);
    __syncthreads();

    for (int kt = 0; kt < nk; kt++) {
        const int cur = kt & 1;
        if (kt + 1 < nk) {
            fer_mma_fetch<PREC>(pb.a, rwa, kb + (kt + 1) * BK, ke, tid, ra);
            fer_mma_fetch<PREC>(pb.b, rwb, kb + (kt + 1) * BK, ke, tid, rb);
        }
        /* two mma k-steps of 8 words: k16 (bf16) or k8 (tf32); both
         * layouts want words (row g or g + 8, word t or t + 4) */
        FER_UNROLL
        for (int ks = 0; ks < 2; ks++) {
            const int w = ks * 8 + t;
            uint32_t fa[4][4], fb[4][2];
            FER_UNROLL
            for (int i = 0; i < 4; i++) {
                const int r = mb + i * 16 + g;
                fa[i][0] = As[cur][r][w];
                const bool bad = fer_tile_fault<P>::value == FER_TILE_FAULT_FRAGMENT;
                fa[i][1] = bad ? As[cur][r][w + 4] : As[cur][r + 8][w];
                fa[i][2] = bad ? As[cur][r + 8][w] : As[cur][r][w + 4];
                fa[i][3] = As[cur][r + 8][w + 4];
            }
            FER_UNROLL
            for (int j = 0; j < 4; j++) {
                const int c = nb + j * 8 + g;
                fb[j][0] = Bs[cur][c][w];
                fb[j][1] = Bs[cur][c][w + 4];
            }
            FER_UNROLL
            for (int i = 0; i < 4; i++)
                FER_UNROLL
                for (int j = 0; j < 4; j++) {
                    if (PREC == FER_CUDA_BF16)
                        fer_mma_bf16_m16n8k16(acc[i][j], fa[i], fb[j], acc[i][j]);
                    else
                        fer_mma_tf32_m16n8k8(acc[i][j], fa[i], fb[j], acc[i][j]);
                }
        }
        if (kt + 1 < nk) {
            fer_mma_put<typename P::LA>(As[cur ^ 1], tid, ra);
            fer_mma_put<typename P::LB>(Bs[cur ^ 1], tid, rb);
        }
        __syncthreads();
    }

    /* fragment element e: row g + 8 (e / 2), column 2t + e % 2 */
    if constexpr (fer_tile_sums<typename P::EP>::value) {
        /* column by column (two doubles live): the thread's 8 rows, then
         * the warp's 8 groups g (lanes 4 apart, a fixed tree), so that
         * 2 slots (wm) remain */
        __shared__ double red[2][2][128];
        FER_UNROLL
        for (int j = 0; j < 4; j++)
            FER_UNROLL
            for (int e2 = 0; e2 < 2; e2++) {
                const int c = nb + j * 8 + 2 * t + e2, n = n0 + c;
                double s = 0.0, q = 0.0;
                FER_UNROLL
                for (int i = 0; i < 4; i++)
                    FER_UNROLL
                    for (int h = 0; h < 2; h++) {
                        const int m = m0 + mb + i * 16 + g + 8 * h;
                        if (m < pb.M && n < pb.N) {
                            const double y = pb.ep.store(z, m, n, acc[i][j][2 * h + e2]);
                            s += y;
                            q += y * y;
                        }
                    }
                for (int off = 16; off >= 4; off /= 2) {
                    s += fer_shfl_xor_double(s, off);
                    q += fer_shfl_xor_double(q, off);
                }
                fer_tile_sums_put<2, P>(red, g == 0, warp % 2, c, s, q);
            }
        fer_tile_sums_end<2>(pb, red, n0);
    } else {
        FER_UNROLL
        for (int i = 0; i < 4; i++)
            FER_UNROLL
            for (int j = 0; j < 4; j++)
                FER_UNROLL
                for (int e = 0; e < 4; e++) {
                    const int m = m0 + mb + i * 16 + g + 8 * (e / 2);
                    const int n = n0 + nb + j * 8 + 2 * t + e % 2;
                    if (m < pb.M && n < pb.N)
                        pb.ep.store(z, m, n, acc[i][j][e]);
                }
    }
}

template <class P> __global__ void FER_BOUNDS(256, 1) fer_mma_tf32_tile(P pb)
{
    __shared__ uint32_t As[2][128][16 + 4];
    __shared__ uint32_t Bs[2][128][16 + 4];
    fer_mma_body<FER_CUDA_TF32>(pb, As, Bs);
}

template <class P> __global__ void FER_BOUNDS(256, 1) fer_mma_bf16_tile(P pb)
{
    __shared__ uint32_t As[2][128][16 + 4];
    __shared__ uint32_t Bs[2][128][16 + 4];
    fer_mma_body<FER_CUDA_BF16>(pb, As, Bs);
}

/* Runs problem pb with the precision of fer_cuda_precision() on
 * `splits` slices of K. */
template <class P> static void fer_tile_run(const P &pb, int splits)
{
    const dim3 grid((pb.M + 127) / 128, (pb.N + 127) / 128, splits);
    const dim3 block(FER_TILE_THREADS);
    switch (fer_cuda_precision()) {
    case FER_CUDA_BF16:
        FER_LAUNCH(fer_mma_bf16_tile<P>, grid, block, 0, pb);
        break;
    case FER_CUDA_TF32:
        FER_LAUNCH(fer_mma_tf32_tile<P>, grid, block, 0, pb);
        break;
    default:
        FER_LAUNCH(fer_sgemm_tile<P>, grid, block, 0, pb);
        break;
    }
}

#endif
