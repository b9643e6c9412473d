/* gemm_kernel.h: internal to gemm*.c, the interface of a GEMM micro-kernel.
 *
 * A kernel multiplies one packed micro-panel of op(A) (kc x mr, stored
 * k-major: a[k * mr + i]) by one packed micro-panel of op(B) (kc x nr,
 * b[k * nr + j]), both zero-padded to full size, and updates the m x n
 * corner (m <= mr, n <= nr) of a tile of C with row stride ldc:
 *
 *   c = alpha * (a b) + beta * c      (beta == 0: c is not read)
 *
 * always as v = alpha * sum, then c = fma(beta, c, v), so that a full tile
 * and an edge tile round alike. kc, mc, nc are the cache blocks the driver
 * uses with it (mc a multiple of mr, nc of nr). pack_a and pack_b, when
 * not NULL, replace the portable packing of an op(A) block and of one op(B)
 * micro-panel (gemm.c), with the same layout. */
#ifndef FER_GEMM_KERNEL_H
#define FER_GEMM_KERNEL_H

/* Lines a kernel should prefetch (into L2) while it runs, one per k step,
 * for the next B panel's packing: `count` lines in rows of `per` lines
 * (64 bytes apart), rows `stride` floats apart, from p. NULL: none. */
typedef struct fer_gemm_pf {
    const float *p;
    long stride;
    int per, count;
} fer_gemm_pf;

/* In a SIMD kernel (after immintrin.h): prefetch one line of the next B
 * panel's source into L2, walking pp/pi/pper/pstride/pleft, the kernel's
 * locals for a fer_gemm_pf. */
#define PREFETCH_NEXT() do { \
        _mm_prefetch(pp + 64 * pi, _MM_HINT_T1); \
        pleft--; \
        if (++pi == pper) { \
            pi = 0; \
            pp += pstride; \
        } \
    } while (0)

typedef struct fer_gemm_kernel {
    const char *name;
    int mr, nr;
    int kc, mc, nc;
    void (*tile)(int kc, const float *a, const float *b, float *c, long ldc, int m, int n,
                 float alpha, float beta, const fer_gemm_pf *pf);
    void (*pack_a)(int trans, const float *A, long lda, int i0, int m, int k0, int kc, int mr,
                   float *dst);
    void (*pack_b)(int trans, const float *B, long ldb, int k0, int kc, int j0, int n, int nr,
                   float *dst);
    /* bf16 (gemm_bf16.c): when not NULL, the driver hands every packed
     * panel (kc x w floats, w = mr or nr) to prep before the kernel reads
     * it. pairs == 0: prep rounds the values in place (an fp32 kernel on
     * bf16 operands). pairs == 1: prep folds rows 2p, 2p+1 into slot row
     * p, so a panel's k offset pc (even) lies at slot row pc / 2. */
    void (*prep)(float *panel, int kc, int w);
    int pairs;
    int packs_prepped;  /* pack_a and pack_b give prepped panels already:
                         * prep is for generators' panels only */
} fer_gemm_kernel;

/* C = alpha op(A) op(B) + beta C for M <= FER_GEMM_THIN_M rows, without
 * packing (gemm_thin.c). */
enum { FER_GEMM_THIN_M = 4 };
void fer_gemm_thin(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                   long lda, const float *B, long ldb, float beta, float *C, long ldc);

/* The SIMD kernels, or NULL where the build or the CPU cannot run them. */
const fer_gemm_kernel *fer_gemm_kernel_avx512(void);
const fer_gemm_kernel *fer_gemm_kernel_avx2(void);
const fer_gemm_kernel *fer_gemm_kernel_avx512bf16(void);
/* Its 6 x 64 variant (the same slots, sums and bits) for products of 49
 * to 64 columns, where 48-wide tiles would compute a third padding. */
const fer_gemm_kernel *fer_gemm_kernel_avx512bf16_n64(void);

/* gemm_bf16.c's preps: round a kc x w float panel's values to bf16 in
 * place; fold it into bf16 pair slots in place (AVX512_BF16 builds). */
void fer_gemm_bf16_round(float *panel, int kc, int w);
void fer_gemm_bf16_pairs(float *panel, int kc, int w);

#endif
