/* gemm.h: single-precision matrix multiply, row-major, as cblas_sgemm with
 * CblasRowMajor.
 *
 *   C = alpha * op(A) * op(B) + beta * C
 *
 * op(A) is M x K: A itself (trans_a == 0, stored M x K with row stride
 * lda >= K) or A transposed (trans_a != 0, A stored K x M, lda >= M).
 * op(B) is K x N likewise (trans_b == 0: stored K x N, ldb >= N; else stored
 * N x K, ldb >= K). C is M x N with row stride ldc >= N. beta == 0 means C
 * is only written, never read (it may hold NaN); alpha == 0 or K == 0 means
 * A and B are not read. M <= 0 or N <= 0 does nothing. The arrays must not
 * overlap C. Sizes and strides are the caller's contract (not checked).
 *
 * fer_gemm picks the fastest kernel the CPU runs (AVX-512, AVX2+FMA or
 * portable C), splits C into tiles over the thread pool (threads.h) and
 * keeps per-thread packing buffers that only grow (no allocation per call
 * once warm). Each element of C is summed over K in the same order whatever
 * the thread count, so results repeat bit for bit for a given kernel.
 * fer_gemm_ref is the plain triple loop that defines the result. */
#ifndef FER_GEMM_H
#define FER_GEMM_H

#include <stddef.h>
#include <stdint.h>

void fer_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
              int lda, const float *B, int ldb, float beta, float *C, int ldc);

void fer_gemm_ref(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                  int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* An operand of fer_gemm_op: a stored matrix (pack == NULL: p, ld and
 * trans as in fer_gemm) or one produced on demand straight into the
 * kernel's packed panels, so that a convolution's column matrix is never
 * written out (implicit im2col). A generator is called from several
 * threads at once and must only read shared data.
 *   For A, pack(ctx, i0, m, k0, kc, mr, dst) writes op(A)[i0 .. i0+m,
 *   k0 .. k0+kc] as ceil(m/mr) panels, dst[(p*kc + k)*mr + i] for row
 *   p*mr + i, rows past m zero.
 *   For B, pack(ctx, k0, kc, j0, n, nr, dst) writes op(B)[k0 .. k0+kc,
 *   j0 .. j0+n] (n <= nr) as one panel dst[k*nr + j], columns past n
 *   zero. */
typedef struct fer_gemm_operand {
    const float *p;
    long ld;
    int trans;
    int packed;         /* A only: p is fer_gemm_pack_a's output (ld, trans unused) */
    int panels;         /* B only, while fer_gemm_bf16_native(): p holds op(B) in the
                           kernel's pair panels already (fer_gemm_panel_cols) */
    int paired;         /* a generator, while fer_gemm_bf16_native(): it writes the
                           kernel's pair slots itself (fer_gemm_bf16_pack_a16) */
    void (*pack)(const void *ctx, int r0, int rows, int c0, int cols, int w, float *dst);
    const void *ctx;
} fer_gemm_operand;

/* C = alpha * op(A) op(B) + beta * C for operands as above; the same
 * blocking, threads and summation order as fer_gemm. */
void fer_gemm_op(int M, int N, int K, float alpha, const fer_gemm_operand *A,
                 const fer_gemm_operand *B, float beta, float *C, int ldc);

/* op(A) (M x K) packed once into the current kernel's panels, for many
 * products with the same A (fer_gemm_op with .packed = 1): dst holds
 * fer_gemm_packed_floats(M, K) floats, at most (M + 16) * K. The kernel
 * must not change between packing and use. */
size_t fer_gemm_packed_floats(int M, int K);
/* Changes whenever the kernel or the precision is chosen anew (packed
 * panels made before may no longer fit): a tag for kept panels. */
unsigned fer_gemm_layout(void);
void fer_gemm_pack_a(int trans_a, int M, int K, const float *A, int lda, float *dst);
/* A block of that packing written from the block's values alone, for a
 * caller that makes A piece by piece and would otherwise store it whole
 * first: rows i0 .. i0+m and columns k0 .. k0+kk of A (M x K, not
 * transposed), given as blk[i * ld + k], land in dst where
 * fer_gemm_pack_a(0, M, K, A, K, dst) puts them, the same bits. i0 is a
 * multiple of fer_gemm_pack_a_rows() (the kernel's panel height) and m
 * one too unless the block ends at row M; k0 is even and kk too unless
 * the block ends at column K; m <= 16, kk <= 32. */
int fer_gemm_pack_a_rows(void);
void fer_gemm_pack_a_block(int K, int i0, int m, int k0, int kk, const float *blk, int ld,
                           float *dst);

/* The width nr of the kernel's panels of B. A B operand with .panels set
 * (the bf16 kernel only) is op(B) (K x N) as its panels, made by the
 * caller: columns j .. j + nr - 1 (j a multiple of nr) from p + (j / nr) *
 * ld, rows 2r and 2r + 1 as the 32-bit pair slots of row r there, nr
 * slots per row (row 2r + 1 zero past an odd K). Columns past N in the
 * last panel are multiplied but not stored: they may hold anything. */
int fer_gemm_panel_cols(void);

/* Pair panels of the bf16 kernel (for generators with .paired, only while
 * fer_gemm_bf16_native()) from operands already rounded to bf16 and
 * stored as such (uint16_t, ld an even count): op(A)[i0 .. i0+m, k0 ..
 * k0+kc] of A stored M x K, as pack(ctx, i0, m, k0, kc, mr, dst) writes
 * it; op(B)[k0 .. k0+kc, j0 .. j0+n] of B stored transposed (N x K), as
 * pack(ctx, k0, kc, j0, n, nr, dst). k0 is even; past an odd kc the
 * operand's next value (row end: its padding) is read into the last
 * slot's high half, so it must be a finite number where the other
 * operand's slot is zero, or zero. */
void fer_gemm_bf16_pack_a16(const uint16_t *A, long lda, int i0, int m, int k0, int kc, int mr,
                            float *dst);
void fer_gemm_bf16_pack_bt16(const uint16_t *B, long ldb, int k0, int kc, int j0, int n, int nr,
                             float *dst);
/* The same from fp32 operands, rounded as they are packed (the bits that
 * packing them as floats and folding gives): for generators that gather
 * their operand into rows first. Past an odd kc, zero. */
void fer_gemm_bf16_pack_a32(const float *A, long lda, int i0, int m, int k0, int kc, int mr,
                            float *dst);
void fer_gemm_bf16_pack_bt32(const float *B, long ldb, int k0, int kc, int j0, int n, int nr,
                             float *dst);

/* The kernel fer_gemm uses now: "avx512", "avx2" or "portable". */
const char *fer_gemm_kernel_name(void);

/* Chooses the kernel: "auto" (the best this CPU runs; the default), or one
 * of the names above. The environment variable FER_SIMD (same names, read
 * once at first use; "none" means "portable") sets the starting choice.
 * Returns 0, or -1 with fer_error() set for an unknown name or a kernel this
 * CPU or build cannot run. Not to be called while another thread is inside
 * fer_gemm. */
int fer_gemm_set_kernel(const char *name);

/* The operands' precision for every product from now on: "fp32" (the
 * default) or "bf16": op(A) and op(B) are rounded to bfloat16 (8-bit
 * mantissa, round to nearest even) as they are packed; products and sums
 * stay fp32, and C is fp32. On CPUs with AVX512_BF16 (and the avx512
 * kernel chosen) a bf16 kernel runs, twice the multiplies per instruction
 * of fp32; elsewhere the fp32 kernel runs on the rounded operands: the
 * same rounding, no faster (fer_gemm_bf16_native tells which). fer_gemm's
 * products of at most 4 rows (or at most 4 columns, which it computes
 * transposed) stay fp32: they are bound by memory, not by multiplies. Returns 0, or -1 with fer_error() set for another
 * name. Not to be called while another thread is inside fer_gemm, nor
 * between fer_gemm_pack_a and the products that use its panels. */
int fer_gemm_set_precision(const char *name);
/* "fp32" or "bf16" */
const char *fer_gemm_precision(void);
/* 1 when the precision is bf16 and its products run on AVX512_BF16, 0
 * otherwise (fp32, or bf16 emulated: no AVX512_BF16 on this CPU, or
 * another kernel chosen by FER_SIMD or fer_gemm_set_kernel). */
int fer_gemm_bf16_native(void);

/* f rounded to bf16 as fer_gemm's bf16 precision rounds operands (to
 * nearest even, NaN kept), as a float: for tests and references. */
float fer_bf16_round(float f);

#endif
