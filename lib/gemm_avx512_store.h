/* gemm_avx512_store.h: the end of an 8 x 48 AVX-512 micro-kernel, internal
 * to gemm_avx512.c and gemm_bf16.c, whose tiles keep C's 8 x 48 corner in
 * the same 24 accumulators c00 .. c72 and differ only in how they fill
 * them. Include after immintrin.h. */
#ifndef FER_GEMM_AVX512_STORE_H
#define FER_GEMM_AVX512_STORE_H

static inline __mmask16 mask_of(int n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

/* The update of one row r of C: v = alpha * acc, then c = fma(beta, c, v). */
#define ROW_FULL(r) do { \
        float *cr = c + (r) * ldc; \
        __m512 v0 = _mm512_mul_ps(va, c##r##0), v1 = _mm512_mul_ps(va, c##r##1), \
               v2 = _mm512_mul_ps(va, c##r##2); \
        if (beta != 0) { \
            v0 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(cr), v0); \
            v1 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(cr + 16), v1); \
            v2 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(cr + 32), v2); \
        } \
        _mm512_storeu_ps(cr, v0); \
        _mm512_storeu_ps(cr + 16, v1); \
        _mm512_storeu_ps(cr + 32, v2); \
    } while (0)

#define ROW_MASK(r) do { \
        if ((r) < m) { \
            float *cr = c + (r) * ldc; \
            __m512 v0 = _mm512_mul_ps(va, c##r##0), v1 = _mm512_mul_ps(va, c##r##1), \
                   v2 = _mm512_mul_ps(va, c##r##2); \
            if (beta != 0) { \
                v0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(k0, cr), v0); \
                v1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(k1, cr + 16), v1); \
                v2 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(k2, cr + 32), v2); \
            } \
            _mm512_mask_storeu_ps(cr, k0, v0); \
            _mm512_mask_storeu_ps(cr + 16, k1, v1); \
            _mm512_mask_storeu_ps(cr + 32, k2, v2); \
        } \
    } while (0)

#endif
