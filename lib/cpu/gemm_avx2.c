/* gemm_avx2.c: the AVX2 + FMA micro-kernel, 6 x 16 (6 rows of C, two ymm of
 * 8 floats across): 12 accumulators + 2 B vectors + 1 broadcast fit the 16
 * ymm registers. Edge tiles go through a small buffer, rounded exactly as
 * full ones (v = alpha * acc, c = fma(beta, c, v)). */
#include <stddef.h>

#include "gemm_kernel.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define MR 6
#define NR 16

#define TARGET __attribute__((target("avx2,fma")))

#define FMA_ROW(r) do { \
        __m256 ar = _mm256_broadcast_ss(a + (r)); \
        c##r##0 = _mm256_fmadd_ps(ar, b0, c##r##0); \
        c##r##1 = _mm256_fmadd_ps(ar, b1, c##r##1); \
    } while (0)

#define ROW(r) do { \
        float *cr = c + (r) * ldc; \
        __m256 v0 = _mm256_mul_ps(va, c##r##0), v1 = _mm256_mul_ps(va, c##r##1); \
        if (full) { \
            if (beta != 0) { \
                v0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr), v0); \
                v1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr + 8), v1); \
            } \
            _mm256_storeu_ps(cr, v0); \
            _mm256_storeu_ps(cr + 8, v1); \
        } else { \
            _mm256_storeu_ps(t[r], v0); \
            _mm256_storeu_ps(t[r] + 8, v1); \
        } \
    } while (0)

TARGET static void tile(int kc, const float *a, const float *b, float *c, long ldc, int m, int n,
                        float alpha, float beta, const fer_gemm_pf *pf)
{
    const char *pp = pf ? (const char *)pf->p : NULL;
    long pstride = pf ? pf->stride * (long)sizeof(float) : 0;
    int pper = pf ? pf->per : 1, pleft = pf ? pf->count : 0, pi = 0;
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
           c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    __m256 va, vb;
    float t[MR][NR];
    int full = m == MR && n == NR;
    for (int k = 0; k < kc; k++, a += MR, b += NR) {
        if (pleft > 0) {
            PREFETCH_NEXT();
        }
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        FMA_ROW(0);
        FMA_ROW(1);
        FMA_ROW(2);
        FMA_ROW(3);
        FMA_ROW(4);
        FMA_ROW(5);
    }
    while (pleft > 0)
        PREFETCH_NEXT();
    va = _mm256_set1_ps(alpha);
    vb = _mm256_set1_ps(beta);
    ROW(0);
    ROW(1);
    ROW(2);
    ROW(3);
    ROW(4);
    ROW(5);
    if (!full)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                c[i * ldc + j] = beta == 0 ? t[i][j]
                                           : __builtin_fmaf(beta, c[i * ldc + j], t[i][j]);
}

/* In-register transpose of 8 rows of 8 floats. */
TARGET static inline __attribute__((always_inline)) void transpose8(__m256 r[8])
{
    __m256 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int g = 0; g < 2; g++) {
        u[4 * g] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * g + 1] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[4 * g + 2] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * g + 3] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int c = 0; c < 4; c++) {
        r[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
        r[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
    }
}

/* op(B)[k0 .. k0+kc, j0 .. j0+n] into one kc x 16 panel, zero-padded;
 * transposed B (stored N x K) through 8 x 8 blocks. */
TARGET static void pack_b(int trans, const float *B, long ldb, int k0, int kc, int j0, int n,
                          int nr, float *dst)
{
    (void)nr;
    if (!trans || kc < 8) {
        for (int k = 0; k < kc; k++, dst += NR)
            for (int j = 0; j < NR; j++)
                dst[j] = j >= n ? 0 : trans ? B[(size_t)(j0 + j) * ldb + k0 + k]
                                            : B[(size_t)(k0 + k) * ldb + j0 + j];
        return;
    }
    for (int jb = 0; jb < NR; jb += 8) {
        int kb = 0;
        for (; kb + 8 <= kc; kb += 8) {
            __m256 r[8];
            for (int i = 0; i < 8; i++)
                r[i] = jb + i < n ? _mm256_loadu_ps(B + (size_t)(j0 + jb + i) * ldb + k0 + kb)
                                  : _mm256_setzero_ps();
            transpose8(r);
            for (int i = 0; i < 8; i++)
                _mm256_storeu_ps(dst + (size_t)(kb + i) * NR + jb, r[i]);
        }
        for (; kb < kc; kb++)
            for (int j = jb; j < jb + 8; j++)
                dst[(size_t)kb * NR + j] = j < n ? B[(size_t)(j0 + j) * ldb + k0 + kb] : 0;
    }
}

static const fer_gemm_kernel k256 = {"avx2", MR, NR, 256, 120, 4096, tile, NULL, pack_b, NULL, 0, 0};

const fer_gemm_kernel *fer_gemm_kernel_avx2(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return &k256;
    return NULL;
}

#else

const fer_gemm_kernel *fer_gemm_kernel_avx2(void) { return NULL; }

#endif
