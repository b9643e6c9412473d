/* test_cudaemu.cc: the CPU emulation of the CUDA execution model
 * (tests/cudaemu) against host computations, and against kernels that are
 * wrong on purpose: a reduction missing a __syncthreads, an mma with a
 * wrong fragment index, misused barriers. Those tests pass when the
 * emulator exposes the bug. Inputs are seeded random floats. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "cuda_compat.h"

#define FULL 0xffffffffu

static float *randv(size_t n, float lo, float hi)
{
    float *v = (float *)malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = check_randf(lo, hi);
    return v;
}

static float *dev_from(const float *h, size_t n)
{
    float *d;
    if (cudaMalloc(&d, n * sizeof *d) != cudaSuccess)
        return NULL;
    cudaMemcpy(d, h, n * sizeof *d, cudaMemcpyHostToDevice);
    return d;
}

/* ---- block reduction ---- */

enum { RED_T = 256 };

/* out[block] = the sum of the block's RED_T inputs by a tree in shared
 * memory; a 2-D block (64 x 4) so that the linear id matters */
__global__ void reduce_kernel(const float *x, float *out, int broken)
{
    __shared__ float s[RED_T];
    int tid = threadIdx.x + threadIdx.y * blockDim.x;
    s[tid] = x[blockIdx.x * RED_T + tid];
    __syncthreads();
    for (int stride = RED_T / 2; stride > 0; stride /= 2) {
        if (tid < stride)
            s[tid] += s[tid + stride];
        if (!broken)
            __syncthreads();
    }
    if (tid == 0)
        out[blockIdx.x] = s[0];
}

/* the same tree on the host: the exact float result */
static float host_tree(const float *x)
{
    float s[RED_T];
    memcpy(s, x, sizeof s);
    for (int stride = RED_T / 2; stride > 0; stride /= 2)
        for (int i = 0; i < stride; i++)
            s[i] += s[i + stride];
    return s[0];
}

/* first block whose sum differs from the host tree, or -1 */
static int reduce_run(int nblocks, int broken, uint64_t seed, float *got_out, float *want_out)
{
    float *x = randv((size_t)nblocks * RED_T, -1, 1), *out = (float *)malloc(nblocks * 4);
    float *dx = dev_from(x, (size_t)nblocks * RED_T), *dout;
    int bad = -1;
    cudaMalloc(&dout, nblocks * sizeof(float));
    fer_emu_seed(seed);
    FER_LAUNCH(reduce_kernel, nblocks, dim3(64, 4), 0, dx, dout, broken);
    cudaMemcpy(out, dout, nblocks * sizeof(float), cudaMemcpyDeviceToHost);
    for (int b = 0; b < nblocks && bad < 0; b++) {
        float want = host_tree(x + (size_t)b * RED_T);
        if (memcmp(&out[b], &want, 4) != 0) {
            bad = b;
            *got_out = out[b];
            *want_out = want;
        }
    }
    cudaFree(dx);
    cudaFree(dout);
    free(x);
    free(out);
    return bad;
}

static void test_reduce(void)
{
    for (uint64_t seed = 1; seed <= 5; seed++) {
        float got = 0, want = 0;
        int bad = reduce_run(7, 0, seed, &got, &want);
        CHECK(bad < 0, "seed %llu block %d: %.9g, want %.9g", (unsigned long long)seed, bad, got,
              want);
    }
    CHECK(cudaGetLastError() == cudaSuccess, "launch error");
}

/* passes when the reduction without its loop's __syncthreads goes wrong
 * for at least one of 20 seeds */
static void test_reduce_missing_sync_caught(void)
{
    int wrong = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        float got, want;
        wrong += reduce_run(3, 1, seed, &got, &want) >= 0;
    }
    CHECK(wrong > 0, "the broken reduction was right for all 20 seeds");
    printf("# missing __syncthreads: wrong for %d of 20 seeds\n", wrong);
}

/* the same seed gives the same schedule, another seed another one: the
 * order in which the 256 threads of one block first run */
__global__ void order_kernel(int *order)
{
    __shared__ int next;
    int tid = threadIdx.x;
    if (tid == 0)
        next = 0; /* the first thread to run is not thread 0 in general */
    __syncthreads();
    order[next++] = tid; /* no race: threads run one at a time */
}

static void test_seeded_order(void)
{
    int *d, a[RED_T], b[RED_T], c[RED_T];
    cudaMalloc(&d, sizeof a);
    fer_emu_seed(42);
    FER_LAUNCH(order_kernel, 1, RED_T, 0, d);
    cudaMemcpy(a, d, sizeof a, cudaMemcpyDeviceToHost);
    fer_emu_seed(42);
    FER_LAUNCH(order_kernel, 1, RED_T, 0, d);
    cudaMemcpy(b, d, sizeof b, cudaMemcpyDeviceToHost);
    fer_emu_seed(43);
    FER_LAUNCH(order_kernel, 1, RED_T, 0, d);
    cudaMemcpy(c, d, sizeof c, cudaMemcpyDeviceToHost);
    CHECK(memcmp(a, b, sizeof a) == 0, "seed 42 twice: different orders");
    CHECK(memcmp(a, c, sizeof a) != 0, "seeds 42 and 43: the same order");
    int sorted = 1;
    for (int i = 0; i < RED_T; i++)
        sorted &= a[i] == i;
    CHECK(!sorted, "threads ran in id order");
    cudaFree(d);
}

/* ---- dynamic shared memory ---- */

/* each block copies what its dynamic shared memory holds before writing
 * it, then writes it: the next block must see 0xFF again */
__global__ void dyn_poison_kernel(float *out)
{
    FER_DYN_SMEM(float, s);
    int t = threadIdx.x;
    out[blockIdx.x * blockDim.x + t] = s[t];
    s[t] = 1.0f;
}

/* the reduction through dynamic shared memory, any block size */
__global__ void dyn_reduce_kernel(const float *x, float *out)
{
    FER_DYN_SMEM(float, s);
    int t = threadIdx.x, n = blockDim.x;
    s[t] = x[blockIdx.x * n + t];
    __syncthreads();
    for (int stride = n / 2; stride > 0; stride /= 2) {
        if (t < stride)
            s[t] += s[t + stride];
        __syncthreads();
    }
    if (t == 0)
        out[blockIdx.x] = s[0];
}

static void test_dyn_smem(void)
{
    enum { T = 128, NB = 3 };
    float h[T * NB], *d, *x = randv(T * NB, -1, 1), *dx = dev_from(x, T * NB), *dout;
    cudaMalloc(&d, sizeof h);
    FER_LAUNCH(dyn_poison_kernel, NB, T, T * sizeof(float), d);
    cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
    for (int i = 0; i < T * NB; i++)
        CHECK(__float_as_uint(h[i]) == 0xffffffffu, "shared[%d] of block %d read 0x%08x before any "
              "write, want 0xffffffff", i % T, i / T, __float_as_uint(h[i]));
    cudaMalloc(&dout, NB * sizeof(float));
    FER_LAUNCH(dyn_reduce_kernel, NB, T, T * sizeof(float), dx, dout);
    cudaMemcpy(h, dout, NB * sizeof(float), cudaMemcpyDeviceToHost);
    for (int b = 0; b < NB; b++) {
        double want = 0;
        for (int i = 0; i < T; i++)
            want += x[b * T + i];
        CHECK_CLOSE(h[b], want, 1e-5, 1e-5);
    }
    cudaFree(d);
    cudaFree(dx);
    cudaFree(dout);
    free(x);
}

/* ---- runtime ---- */

static void test_malloc_poison(void)
{
    enum { N = 1000 };
    float *d, h[N];
    size_t before = fer_emu_device_bytes();
    CHECK(cudaMalloc(&d, sizeof h) == cudaSuccess, "cudaMalloc");
    CHECK(((uintptr_t)d & 255) == 0, "cudaMalloc: %p not 256-aligned", (void *)d);
    CHECK(fer_emu_device_bytes() == before + sizeof h, "device bytes");
    cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
    for (int i = 0; i < N; i++)
        CHECK(isnan(h[i]), "fresh device memory [%d] = %g, want NaN", i, h[i]);
    CHECK(cudaMemset(d, 0, sizeof h) == cudaSuccess, "cudaMemset");
    cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
    CHECK(h[0] == 0 && h[N - 1] == 0, "after cudaMemset 0: %g %g", h[0], h[N - 1]);
    /* a copy past the allocation, or from host memory called device */
    CHECK(cudaMemcpy(h, d + 1, sizeof h, cudaMemcpyDeviceToHost) == cudaErrorInvalidValue,
          "a copy past the end of an allocation succeeded");
    CHECK(cudaMemcpy(d, h, sizeof h, cudaMemcpyDeviceToDevice) == cudaErrorInvalidValue,
          "a device-to-device copy from host memory succeeded");
    CHECK(cudaGetLastError() == cudaErrorInvalidValue, "last error");
    CHECK(cudaGetLastError() == cudaSuccess, "last error not reset");
    CHECK(cudaFree(h) == cudaErrorInvalidValue, "cudaFree of host memory succeeded");
    cudaGetLastError();
    CHECK(cudaFree(d) == cudaSuccess, "cudaFree");
    CHECK(fer_emu_device_bytes() == before, "device bytes after free");
}

__global__ void fill_kernel(float *y, float v)
{
    y[blockIdx.x * blockDim.x + threadIdx.x] = v;
}

static void test_bad_launch(void)
{
    float *d, h[64];
    cudaMalloc(&d, sizeof h);
    cudaMemset(d, 0, sizeof h);
    cudaGetLastError();
    FER_LAUNCH(fill_kernel, 1, 1025, 0, d, 1.0f);
    CHECK(cudaPeekAtLastError() == cudaErrorInvalidConfiguration, "1025 threads: %s",
          cudaGetErrorString(cudaPeekAtLastError()));
    CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration, "get after peek");
    CHECK(cudaGetLastError() == cudaSuccess, "not reset");
    FER_LAUNCH(fill_kernel, 0, 64, 0, d, 2.0f);
    CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration, "grid 0");
    FER_LAUNCH(fill_kernel, 1, 64, 228 * 1024, d, 3.0f);
    CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration, "228 KiB of shared memory");
    FER_LAUNCH(fill_kernel, 1, dim3(8, 8, 65), 0, d, 3.0f);
    CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration, "blockDim.z 65");
    cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
    CHECK(h[0] == 0 && h[63] == 0, "a bad launch ran: %g %g", h[0], h[63]);
    FER_LAUNCH(fill_kernel, 1, 64, 227 * 1024, d, 4.0f);
    CHECK(cudaGetLastError() == cudaSuccess, "a good launch failed");
    cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost);
    CHECK(h[0] == 4 && h[63] == 4, "the good launch: %g %g", h[0], h[63]);
    CHECK(strcmp(cudaGetErrorString(cudaErrorInvalidConfiguration),
                 "invalid configuration argument") == 0, "error string");
    cudaFree(d);
}

__global__ void affine_kernel(float *x, float a, float b, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        x[i] = a * x[i] + b;
}

static void test_graph(void)
{
    enum { N = 300 };
    float *x0 = randv(N, -1, 1), h[N], hy[N], *x = dev_from(x0, N), *y;
    cudaStream_t s;
    cudaGraph_t g;
    cudaGraphExec_t e;
    cudaMalloc(&y, sizeof h);
    CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) == cudaSuccess, "stream");
    CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal) == cudaSuccess, "begin");
    FER_LAUNCH(affine_kernel, fer_cuda_blocks(N, 128), 128, 0, x, 2.0f, 1.0f, N);
    cudaMemcpyAsync(y, x, sizeof h, cudaMemcpyDeviceToDevice, s);
    FER_LAUNCH(affine_kernel, fer_cuda_blocks(N, 128), 128, 0, y, 1.0f, 3.0f, N);
    cudaMemsetAsync(x, 0, 4, s); /* x[0] = 0 */
    CHECK(cudaStreamEndCapture(s, &g) == cudaSuccess && g, "end");
    cudaMemcpy(h, x, sizeof h, cudaMemcpyDeviceToHost);
    CHECK(memcmp(h, x0, sizeof h) == 0, "the capture ran something");
    CHECK(cudaGraphInstantiate(&e, g, 0) == cudaSuccess, "instantiate");
    for (int rep = 0; rep < 2; rep++)
        CHECK(cudaGraphLaunch(e, s) == cudaSuccess, "launch %d", rep);
    CHECK(cudaStreamSynchronize(s) == cudaSuccess, "sync");
    cudaMemcpy(h, x, sizeof h, cudaMemcpyDeviceToHost);
    cudaMemcpy(hy, y, sizeof h, cudaMemcpyDeviceToHost);
    for (int i = 0; i < N; i++) {
        /* replay 1: x = 2 x0 + 1, y = x + 3, x[0] = 0; replay 2 on that */
        float x1 = 2 * x0[i] + 1, x1z = i ? x1 : 0, x2 = 2 * x1z + 1, y2 = x2 + 3;
        CHECK(h[i] == (i ? x2 : 0) && hy[i] == y2, "[%d]: x %g y %g, want %g %g", i, h[i],
              hy[i], i ? x2 : 0, y2);
    }
    cudaGraphExecDestroy(e);
    cudaGraphDestroy(g);

    /* a synchronous copy during the capture is an error that ends it */
    CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal) == cudaSuccess, "begin 2");
    CHECK(cudaMemcpy(h, x, 4, cudaMemcpyDeviceToHost) == cudaErrorStreamCaptureImplicit,
          "cudaMemcpy during a capture");
    CHECK(cudaStreamEndCapture(s, &g) == cudaErrorStreamCaptureInvalidated && !g,
          "the invalidated capture gave a graph");
    cudaGetLastError();
    cudaStreamDestroy(s);
    cudaFree(x);
    cudaFree(y);
    free(x0);
}

static void test_no_device(void)
{
    int n = -1;
    void *p;
    cudaDeviceProp prop;
    CHECK(cudaGetDeviceCount(&n) == cudaSuccess && n == 1, "count %d", n);
    CHECK(cudaGetDeviceProperties(&prop, 0) == cudaSuccess && prop.major == 9 &&
          prop.multiProcessorCount > 0 && prop.sharedMemPerBlock == 48 * 1024, "properties");
    setenv("FER_EMU_NO_DEVICE", "1", 1);
    CHECK(cudaGetDeviceCount(&n) == cudaErrorNoDevice && n == 0, "no device: count %d", n);
    CHECK(cudaSetDevice(0) == cudaErrorNoDevice, "no device: cudaSetDevice");
    CHECK(cudaMalloc(&p, 16) == cudaErrorNoDevice, "no device: cudaMalloc");
    unsetenv("FER_EMU_NO_DEVICE");
    CHECK(cudaGetLastError() == cudaErrorNoDevice, "last error");
    CHECK(cudaGetDeviceCount(&n) == cudaSuccess && n == 1, "device back: count %d", n);
}

/* ---- warp shuffles ---- */

enum { SH_T = 96, SH_NB = 2, SH_OUT = 7 };

/* per thread SH_OUT results: xor-butterfly sum, down 3, up 5, broadcast of
 * lane 7, lane 3 of each 8, xor 16 with width 16 (CUDA: a lane may read an
 * earlier segment, never a later one, so lanes 16..31 get lanes 0..15 and
 * lanes 0..15 their own value), int down 1 */
__global__ void shfl_kernel(const float *x, float *out, int *iout)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    float v = x[i], s = v;
    for (int m = 16; m > 0; m /= 2)
        s += __shfl_xor_sync(FULL, s, m);
    float *o = out + (size_t)i * SH_OUT;
    o[0] = s;
    o[1] = __shfl_down_sync(FULL, v, 3);
    o[2] = __shfl_up_sync(FULL, v, 5);
    o[3] = __shfl_sync(FULL, v, 7);
    o[4] = __shfl_sync(FULL, v, 3, 8);
    o[5] = __shfl_xor_sync(FULL, v, 16, 16);
    o[6] = 0;
    iout[i] = __shfl_down_sync(FULL, (int)threadIdx.x * 3 - 50, 1);
    __syncwarp();
}

static void test_shuffles(void)
{
    enum { N = SH_T * SH_NB };
    float *x = randv(N, -1, 1), *dx = dev_from(x, N), *dout, *out = (float *)malloc(N * SH_OUT * 4);
    int *di, iout[N];
    cudaMalloc(&dout, N * SH_OUT * sizeof(float));
    cudaMalloc(&di, sizeof iout);
    for (uint64_t seed = 1; seed <= 3; seed++) {
        fer_emu_seed(seed);
        FER_LAUNCH(shfl_kernel, SH_NB, SH_T, 0, dx, dout, di);
        cudaMemcpy(out, dout, N * SH_OUT * sizeof(float), cudaMemcpyDeviceToHost);
        cudaMemcpy(iout, di, sizeof iout, cudaMemcpyDeviceToHost);
        for (int w0 = 0; w0 < N; w0 += 32) {
            float s[32], t[32];
            for (int l = 0; l < 32; l++)
                s[l] = x[w0 + l];
            for (int m = 16; m > 0; m /= 2) { /* the butterfly, same order */
                for (int l = 0; l < 32; l++)
                    t[l] = s[l] + s[l ^ m];
                memcpy(s, t, sizeof s);
            }
            for (int l = 0; l < 32; l++) {
                const float *o = out + (size_t)(w0 + l) * SH_OUT, *xw = x + w0;
                float want[6] = {s[l], xw[l + 3 < 32 ? l + 3 : l], xw[l >= 5 ? l - 5 : l], xw[7],
                                 xw[(l & ~7) + 3], xw[l >= 16 ? l - 16 : l]};
                for (int k = 0; k < 6; k++)
                    CHECK(o[k] == want[k], "seed %llu thread %d result %d: %g, want %g",
                          (unsigned long long)seed, w0 + l, k, o[k], want[k]);
                int tid = (w0 + l) % SH_T, src = l < 31 ? tid + 1 : tid;
                CHECK(iout[w0 + l] == src * 3 - 50, "int down: %d, want %d", iout[w0 + l],
                      src * 3 - 50);
            }
        }
    }
    cudaFree(dx);
    cudaFree(dout);
    cudaFree(di);
    free(x);
    free(out);
}

/* ---- mma ---- */

enum { MMA_TILES = 5 };

static float bf16_round(float f)
{
    return __uint_as_float(fer_cuda_bf16_bits(f) << 16);
}

/* fp32 -> tf32 as cvt.rna.tf32.f32: nearest, ties away from zero */
static uint32_t tf32_bits(float f)
{
    uint32_t u = __float_as_uint(f);
    if ((u & 0x7f800000u) != 0x7f800000u)
        u += 0x1000u;
    return u & 0xffffe000u;
}

/* One warp per tile: A (16 x 16, row-major), B (16 x 8, B[k][n] at
 * k * 8 + n), C and D (16 x 8, row-major), fragments per cuda_compat.h's
 * comment; wrong != 0 loads a[1] (rows g + 8) from row g instead. */
__global__ void mma_bf16_kernel(const float *A, const float *B, const float *C, float *D, int wrong)
{
    int lane = threadIdx.x, g = lane / 4, t = lane % 4, tile = blockIdx.x;
    const float *At = A + tile * 256, *Bt = B + tile * 128, *Ct = C + tile * 128;
    uint32_t a[4], b[2];
    float c[4], d[4];
    for (int r = 0; r < 4; r++) { /* register r holds elements 2r, 2r + 1 */
        int i = 2 * r, row = g + 8 * ((i / 2) % 2), col = 2 * t + 8 * (i / 4);
        if (wrong && r == 1)
            row = g;
        a[r] = fer_cuda_bf16_pack(At[row * 16 + col], At[row * 16 + col + 1]);
    }
    for (int r = 0; r < 2; r++) {
        int i = 2 * r, k = 2 * t + 8 * (i / 2);
        b[r] = fer_cuda_bf16_pack(Bt[k * 8 + g], Bt[(k + 1) * 8 + g]);
    }
    for (int i = 0; i < 4; i++)
        c[i] = Ct[(g + 8 * (i / 2)) * 8 + 2 * t + i % 2];
    fer_mma_bf16_m16n8k16(d, a, b, c);
    for (int i = 0; i < 4; i++)
        D[tile * 128 + (g + 8 * (i / 2)) * 8 + 2 * t + i % 2] = d[i];
}

/* the same for m16n8k8 tf32: A 16 x 8, B 8 x 8; A's operands rounded by
 * the kernel (cvt.rna), B's passed raw (the emulator truncates them) */
__global__ void mma_tf32_kernel(const float *A, const float *B, const float *C, float *D, int wrong)
{
    int lane = threadIdx.x, g = lane / 4, t = lane % 4, tile = blockIdx.x;
    const float *At = A + tile * 128, *Bt = B + tile * 64, *Ct = C + tile * 128;
    uint32_t a[4], b[2];
    float c[4], d[4];
    for (int i = 0; i < 4; i++) {
        int row = g + 8 * (i % 2), col = t + 4 * (i / 2);
        if (wrong && i == 1)
            row = g;
        a[i] = tf32_bits(At[row * 8 + col]);
    }
    for (int i = 0; i < 2; i++)
        b[i] = __float_as_uint(Bt[(t + 4 * i) * 8 + g]);
    for (int i = 0; i < 4; i++)
        c[i] = Ct[(g + 8 * (i / 2)) * 8 + 2 * t + i % 2];
    fer_mma_tf32_m16n8k8(d, a, b, c);
    for (int i = 0; i < 4; i++)
        D[tile * 128 + (g + 8 * (i / 2)) * 8 + 2 * t + i % 2] = d[i];
}

/* Runs the kernel over MMA_TILES tiles of K and compares with a double
 * product of the operands as the tensor core sees them (ra, rb); returns
 * the count of elements off by more than 2e-6 (|C| + sum |a b|): fp32
 * sums of K + 1 exact terms err by at most about K 2^-24 of that. */
static int mma_run(int K, int wrong, float (*ra)(float), float (*rb)(float), char *msg, size_t len)
{
    size_t na = (size_t)MMA_TILES * 16 * K, nb = (size_t)MMA_TILES * K * 8,
           nc = (size_t)MMA_TILES * 128;
    float *A = randv(na, -2, 2), *B = randv(nb, -2, 2), *C = randv(nc, -1, 1),
          *D = (float *)malloc(nc * 4);
    float *dA = dev_from(A, na), *dB = dev_from(B, nb), *dC = dev_from(C, nc), *dD;
    int bad = 0;
    cudaMalloc(&dD, nc * 4);
    if (K == 16)
        FER_LAUNCH(mma_bf16_kernel, MMA_TILES, 32, 0, dA, dB, dC, dD, wrong);
    else
        FER_LAUNCH(mma_tf32_kernel, MMA_TILES, 32, 0, dA, dB, dC, dD, wrong);
    cudaMemcpy(D, dD, nc * 4, cudaMemcpyDeviceToHost);
    for (int tile = 0; tile < MMA_TILES; tile++)
        for (int m = 0; m < 16; m++)
            for (int n = 0; n < 8; n++) {
                const float *At = A + (size_t)tile * 16 * K, *Bt = B + (size_t)tile * K * 8;
                double want = C[tile * 128 + m * 8 + n], mag = fabs(want);
                for (int k = 0; k < K; k++) {
                    double p = (double)ra(At[m * K + k]) * rb(Bt[k * 8 + n]);
                    want += p;
                    mag += fabs(p);
                }
                double got = D[tile * 128 + m * 8 + n];
                if (!(fabs(got - want) <= 2e-6 * mag) && !bad++)
                    snprintf(msg, len, "tile %d D[%d][%d] = %.9g, want %.9g", tile, m, n, got,
                             want);
            }
    cudaFree(dA);
    cudaFree(dB);
    cudaFree(dC);
    cudaFree(dD);
    free(A);
    free(B);
    free(C);
    free(D);
    return bad;
}

static float tf32_rna(float f) { return __uint_as_float(tf32_bits(f)); }
static float tf32_trunc(float f) { return __uint_as_float(__float_as_uint(f) & 0xffffe000u); }

static void test_mma_bf16(void)
{
    char msg[200] = "";
    int bad = mma_run(16, 0, bf16_round, bf16_round, msg, sizeof msg);
    CHECK(!bad, "%d wrong, first %s", bad, msg);
}

static void test_mma_tf32(void)
{
    char msg[200] = "";
    int bad = mma_run(8, 0, tf32_rna, tf32_trunc, msg, sizeof msg);
    CHECK(!bad, "%d wrong, first %s", bad, msg);
}

/* the kernels with a[1] loaded from the wrong rows must fail the check */
static void test_mma_wrong_fragment_caught(void)
{
    char msg[200];
    int bad16 = mma_run(16, 1, bf16_round, bf16_round, msg, sizeof msg);
    int bad8 = mma_run(8, 1, tf32_rna, tf32_trunc, msg, sizeof msg);
    CHECK(bad16 > 0, "bf16 with a wrong fragment index matched the host");
    CHECK(bad8 > 0, "tf32 with a wrong fragment index matched the host");
}

/* ---- misuse: the emulator must abort with a message ---- */

__global__ void early_exit_kernel(float *x)
{
    if (threadIdx.x == 5)
        return;
    __syncthreads();
    x[threadIdx.x] = 1;
}

__global__ void partial_warp_kernel(float *x)
{
    x[threadIdx.x] = __shfl_xor_sync(FULL, 1.0f, 1);
}

__global__ void partial_mask_kernel(float *x)
{
    x[threadIdx.x] = __shfl_xor_sync(0xffffu, 1.0f, 1);
}

__global__ void mixed_collectives_kernel(float *x)
{
    if (threadIdx.x % 32 < 16)
        x[threadIdx.x] = __shfl_xor_sync(FULL, 1.0f, 1);
    else
        __syncwarp();
}

__global__ void sync_vs_shfl_kernel(float *x)
{
    if (threadIdx.x < 16)
        __syncthreads();
    else
        x[threadIdx.x] = __shfl_down_sync(FULL, 1.0f, 1);
}

/* runs the launch in a child; 1 when it aborted with `want` on stderr */
static int aborts_with(void (*launch)(float *), float *d, const char *want, char *got, size_t len)
{
    int fd[2], st = 0;
    if (pipe(fd) != 0)
        return 0;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 2);
        close(fd[0]);
        launch(d);
        _exit(0);
    }
    close(fd[1]);
    size_t n = 0;
    ssize_t k;
    while (n + 1 < len && (k = read(fd[0], got + n, len - 1 - n)) > 0)
        n += (size_t)k;
    got[n] = 0;
    close(fd[0]);
    waitpid(pid, &st, 0);
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT && strstr(got, want);
}

static void launch_early_exit(float *d) { FER_LAUNCH(early_exit_kernel, 1, 64, 0, d); }
static void launch_partial_warp(float *d) { FER_LAUNCH(partial_warp_kernel, 1, 48, 0, d); }
static void launch_partial_mask(float *d) { FER_LAUNCH(partial_mask_kernel, 1, 32, 0, d); }
static void launch_mixed(float *d) { FER_LAUNCH(mixed_collectives_kernel, 1, 32, 0, d); }
static void launch_sync_vs_shfl(float *d) { FER_LAUNCH(sync_vs_shfl_kernel, 1, 32, 0, d); }

static void test_misuse_aborts(void)
{
    static const struct {
        void (*launch)(float *);
        const char *want;
    } cases[] = {
        {launch_early_exit, "has exited"},
        {launch_partial_warp, "partial warp of 16 lanes"},
        {launch_partial_mask, "mask 0x0000ffff"},
        {launch_mixed, "different collectives"},
        {launch_sync_vs_shfl, "deadlock"},
    };
    float *d;
    char got[1024];
    cudaMalloc(&d, 64 * sizeof(float));
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        CHECK(aborts_with(cases[i].launch, d, cases[i].want, got, sizeof got),
              "case %zu: want an abort saying '%s', got '%s'", i, cases[i].want, got);
    cudaFree(d);
}

int main(void)
{
    check_seed(12345);
    RUN(test_reduce);
    RUN(test_reduce_missing_sync_caught);
    RUN(test_seeded_order);
    RUN(test_dyn_smem);
    RUN(test_malloc_poison);
    RUN(test_bad_launch);
    RUN(test_graph);
    RUN(test_no_device);
    RUN(test_shuffles);
    RUN(test_mma_bf16);
    RUN(test_mma_tf32);
    RUN(test_mma_wrong_fragment_caught);
    RUN(test_misuse_aborts);
    return check_done();
}
