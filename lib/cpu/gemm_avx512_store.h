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

/* The start of a tile: the 24 accumulators c00 .. c72 at zero, and C's
 * m rows asked for, to be in cache when TILE_STORE reads them. Uses the
 * tile's parameters c, ldc and m. */
#define TILE_BEGIN() \
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00, \
           c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00, \
           c40 = c00, c41 = c00, c42 = c00, c50 = c00, c51 = c00, c52 = c00, \
           c60 = c00, c61 = c00, c62 = c00, c70 = c00, c71 = c00, c72 = c00; \
    for (int r_ = 0; r_ < m; r_++) { \
        _mm_prefetch((const char *)(c + r_ * ldc), _MM_HINT_T0); \
        _mm_prefetch((const char *)(c + r_ * ldc + 16), _MM_HINT_T0); \
        _mm_prefetch((const char *)(c + r_ * ldc + 32), _MM_HINT_T0); \
        _mm_prefetch((const char *)(c + r_ * ldc + 47), _MM_HINT_T0); \
    }

/* The end: C's m x n corner updated from the accumulators, whole rows
 * when the tile is full, masked ones at an edge. Uses alpha, beta, m, n. */
#define TILE_STORE() do { \
        __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta); \
        if (m == 8 && n == 48) { \
            ROW_FULL(0); ROW_FULL(1); ROW_FULL(2); ROW_FULL(3); \
            ROW_FULL(4); ROW_FULL(5); ROW_FULL(6); ROW_FULL(7); \
        } else { \
            __mmask16 k0 = mask_of(n), k1 = mask_of(n - 16), k2 = mask_of(n - 32); \
            ROW_MASK(0); ROW_MASK(1); ROW_MASK(2); ROW_MASK(3); \
            ROW_MASK(4); ROW_MASK(5); ROW_MASK(6); ROW_MASK(7); \
        } \
    } while (0)

#endif
