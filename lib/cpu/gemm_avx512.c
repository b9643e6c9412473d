/* gemm_avx512.c: the AVX-512 micro-kernel, 8 x 48 (8 rows of C, three zmm
 * of 16 floats across). 24 accumulators + 3 B vectors + 1 broadcast use 28
 * of the 32 zmm registers; per k: 3 loads and 8 broadcasts feed 24 FMAs,
 * which keeps Zen 4's one-zmm-FMA-per-cycle (two on Intel) pipes busy.
 * Compiled for the whole x86-64 baseline: only the functions carry the
 * AVX-512 target, and the kernel is offered only when the CPU has it. */
#include <stddef.h>

#include "gemm_kernel.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include "gemm_avx512_store.h"
#include "transpose16.h"

#define MR 8
#define NR 48

#define TARGET __attribute__((target("avx512f,avx512vl,avx512dq,fma")))

#define FMA_ROW(r) do { \
        __m512 ar = _mm512_set1_ps(a[r]); \
        c##r##0 = _mm512_fmadd_ps(ar, b0, c##r##0); \
        c##r##1 = _mm512_fmadd_ps(ar, b1, c##r##1); \
        c##r##2 = _mm512_fmadd_ps(ar, b2, c##r##2); \
    } while (0)

TARGET static void tile(int kc, const float *a, const float *b, float *c, long ldc, int m, int n,
                        float alpha, float beta, const fer_gemm_pf *pf)
{
    const char *pp = pf ? (const char *)pf->p : NULL;
    long pstride = pf ? pf->stride * (long)sizeof(float) : 0;
    int pper = pf ? pf->per : 1, pleft = pf ? pf->count : 0, pi = 0;
    TILE_BEGIN();
    for (int k = 0; k < kc; k++, a += MR, b += NR) {
        if (pleft > 0) {
            PREFETCH_NEXT();
        }
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16),
               b2 = _mm512_loadu_ps(b + 32);
        FMA_ROW(0);
        FMA_ROW(1);
        FMA_ROW(2);
        FMA_ROW(3);
        FMA_ROW(4);
        FMA_ROW(5);
        FMA_ROW(6);
        FMA_ROW(7);
    }
    while (pleft > 0)
        PREFETCH_NEXT();
    TILE_STORE();
}

/* op(B)[k0 .. k0+kc, j0 .. j0+n] into one kc x 48 panel, zero-padded. Not
 * transposed: three (masked) copies per k, and a prefetch of the next
 * panel's rows, which lie one page or more apart when ldb is large.
 * Transposed (B stored N x K): 16 x 16 blocks through transpose16. */
TARGET static void pack_b(int trans, const float *B, long ldb, int k0, int kc, int j0, int n,
                          int nr, float *dst)
{
    (void)nr;
    if (!trans) {
        const float *s = B + (size_t)k0 * ldb + j0;
        __mmask16 m0 = mask_of(n), m1 = mask_of(n - 16), m2 = mask_of(n - 32);
        for (int k = 0; k < kc; k++, s += ldb, dst += NR) {
            _mm_prefetch((const char *)(s + NR), _MM_HINT_T0);
            _mm_prefetch((const char *)(s + NR + 16), _MM_HINT_T0);
            _mm_prefetch((const char *)(s + NR + 32), _MM_HINT_T0);
            _mm_prefetch((const char *)(s + NR + 47), _MM_HINT_T0);
            _mm512_storeu_ps(dst, _mm512_maskz_loadu_ps(m0, s));
            _mm512_storeu_ps(dst + 16, _mm512_maskz_loadu_ps(m1, s + 16));
            _mm512_storeu_ps(dst + 32, _mm512_maskz_loadu_ps(m2, s + 32));
        }
        return;
    }
    for (int jb = 0; jb < NR; jb += 16) {
        if (jb >= n) {   /* padding only */
            for (int k = 0; k < kc; k++)
                _mm512_storeu_ps(dst + (size_t)k * NR + jb, _mm512_setzero_ps());
            continue;
        }
        for (int kb = 0; kb < kc; kb += 16) {
            int kk = kc - kb < 16 ? kc - kb : 16;
            __mmask16 km = mask_of(kk);
            __m512 r[16];
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) {
                const float *s = B + (size_t)(j0 + jb + i) * ldb + k0 + kb;
                if (jb + i < n) {
                    r[i] = _mm512_maskz_loadu_ps(km, s);
                } else {
                    r[i] = _mm512_setzero_ps();
                }
            }
            transpose16(r);
            for (int i = 0; i < kk; i++)
                _mm512_storeu_ps(dst + (size_t)(kb + i) * NR + jb, r[i]);
        }
    }
}

/* op(A)[i0 .. i0+m, k0 .. k0+kc] into ceil(m/8) panels of kc x 8,
 * zero-padded. Not transposed (A stored M x K): 16 rows x 16 k through
 * transpose16, giving two panels at once. Transposed: 8 floats per k. */
TARGET static void pack_a(int trans, const float *A, long lda, int i0, int m, int k0, int kc,
                          int mr, float *dst)
{
    (void)mr;
    if (trans) {
        for (int p = 0; p < m; p += MR, dst += (size_t)kc * MR) {
            __mmask16 rm = mask_of(m - p < MR ? m - p : MR);
            const float *s = A + (size_t)k0 * lda + i0 + p;
            for (int k = 0; k < kc; k++, s += lda)
                _mm256_storeu_ps(dst + k * MR,
                                 _mm512_castps512_ps256(_mm512_maskz_loadu_ps(rm, s)));
        }
        return;
    }
    for (int p = 0; p < m; p += 2 * MR, dst += (size_t)2 * kc * MR) {
        int two = m - p > MR;
        for (int kb = 0; kb < kc; kb += 16) {
            int kk = kc - kb < 16 ? kc - kb : 16;
            __mmask16 km = mask_of(kk);
            __m512 r[16];
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) {
                const float *s = A + (size_t)(i0 + p + i) * lda + k0 + kb;
                if (p + i < m) {
                    _mm_prefetch((const char *)(s + kc), _MM_HINT_T1);   /* next K block */
                    r[i] = _mm512_maskz_loadu_ps(km, s);
                } else {
                    r[i] = _mm512_setzero_ps();
                }
            }
            transpose16(r);
            for (int i = 0; i < kk; i++) {
                _mm256_storeu_ps(dst + (size_t)(kb + i) * MR, _mm512_castps512_ps256(r[i]));
                if (two)
                    _mm256_storeu_ps(dst + (size_t)kc * MR + (size_t)(kb + i) * MR,
                                     _mm512_extractf32x8_ps(r[i], 1));
            }
        }
    }
}

static const fer_gemm_kernel k512 = {"avx512", MR, NR, 256, 256, 4800, tile, pack_a, pack_b,
                                     NULL, 0, 0};

const fer_gemm_kernel *fer_gemm_kernel_avx512(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma"))
        return &k512;
    return NULL;
}

#else

const fer_gemm_kernel *fer_gemm_kernel_avx512(void) { return NULL; }

#endif
