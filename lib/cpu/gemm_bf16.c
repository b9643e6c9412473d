/* gemm_bf16.c: the pieces of fer_gemm's bf16 precision (gemm.h): operands
 * rounded to bfloat16 (the top 16 bits of a float: 8 exponent bits, 7
 * stored mantissa bits; round to nearest even), products summed in fp32.
 *
 * With AVX512_BF16 the micro-kernel is 8 x 48 (6 x 64 for products of 49
 * to 64 columns, with the same sums) on VDPBF16PS, which takes two k steps
 * per instruction: acc[j] += a[2k] b[2k][j] + a[2k+1] b[2k+1][j] for 16
 * lanes j, twice the multiplies of an fp32 FMA at the same issue rate.
 * Its panels hold bf16 pairs, one 32-bit slot per (pair, column)
 * with row 2p in the low half: pack_a_pairs and pack_b_pairs write them
 * straight from the operands; panels that a generator fills as floats
 * (implicit im2col) are folded in place by fer_gemm_bf16_pairs, rows 2p
 * and 2p+1 into row p.
 *
 * Without it, fer_gemm_bf16_round rounds a packed float panel in place, for
 * an fp32 kernel: the same operands, summed in fp32 as well, at the fp32
 * speed (sums may round differently from VDPBF16PS, which adds a pair's two
 * products before the accumulator). */
#include <stdint.h>
#include <string.h>

#include "gemm_kernel.h"

/* f rounded to bf16, as the float it stands for: round to nearest even;
 * NaN stays NaN (quiet); overflow goes to infinity as in IEEE rounding. */
static inline float round_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        u |= 0x00400000u;   /* a NaN: keep it a NaN after truncation */
    else
        u += 0x7fffu + ((u >> 16) & 1u);
    u &= 0xffff0000u;
    memcpy(&f, &u, sizeof f);
    return f;
}

float fer_bf16_round(float f) { return round_bf16(f); }

void fer_gemm_bf16_round(float *panel, int kc, int w)
{
    size_t n = (size_t)kc * w;
    for (size_t i = 0; i < n; i++)
        panel[i] = round_bf16(panel[i]);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    (__GNUC__ >= 10 || defined(__clang__))
#include <immintrin.h>

#include "bf16_pairs.h"
#include "gemm_avx512_store.h"
#include "transpose16.h"

#define MR 8
#define NR 48

#define TARGET __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx512bf16,fma")))

/* Rows 2p and 2p+1 (kc x w floats, k-major; a missing row 2p+1 past an odd
 * kc is zero) into row p of 32-bit pair slots, for p in order: slot row p
 * overwrites float row p, which pair p/2 < p has read already (p = 0 reads
 * its rows before writing). w is a multiple of 8. */
TARGET void fer_gemm_bf16_pairs(float *panel, int kc, int w)
{
    for (int p = 0; 2 * p < kc; p++) {
        const float *r0 = panel + (size_t)2 * p * w, *r1 = r0 + w;
        uint32_t *dst = (uint32_t *)(void *)(panel + (size_t)p * w);
        int has1 = 2 * p + 1 < kc;
        for (int j = 0; j < w; j += 8) {
            __m256 x0 = _mm256_loadu_ps(r0 + j);
            __m256 x1 = has1 ? _mm256_loadu_ps(r1 + j) : _mm256_setzero_ps();
            __m128i lo = (__m128i)_mm256_cvtneps_pbh(x0), hi = (__m128i)_mm256_cvtneps_pbh(x1);
            __m256i s = _mm256_or_si256(_mm256_cvtepu16_epi32(lo),
                                        _mm256_slli_epi32(_mm256_cvtepu16_epi32(hi), 16));
            _mm256_storeu_si256((__m256i *)(void *)(dst + j), s);
        }
    }
}

/* one pair of k steps for row r: the pair (a[2k][r], a[2k+1][r]) in every
 * lane against 48 columns' pairs */
#define DOT_ROW(r) do { \
        __m512bh ar = (__m512bh)_mm512_set1_epi32((int)a[r]); \
        c##r##0 = _mm512_dpbf16_ps(c##r##0, ar, b0); \
        c##r##1 = _mm512_dpbf16_ps(c##r##1, ar, b1); \
        c##r##2 = _mm512_dpbf16_ps(c##r##2, ar, b2); \
    } while (0)

/* The tile of gemm_kernel.h with pair panels: (kc + 1) / 2 slot rows. */
TARGET static void tile_bf16(int kc, const float *af, const float *bf, float *c, long ldc, int m,
                        int n, float alpha, float beta, const fer_gemm_pf *pf)
{
    const uint32_t *a = (const uint32_t *)(const void *)af;
    const uint32_t *b = (const uint32_t *)(const void *)bf;
    const char *pp = pf ? (const char *)pf->p : NULL;
    long pstride = pf ? pf->stride * (long)sizeof(float) : 0;
    int pper = pf ? pf->per : 1, pleft = pf ? pf->count : 0, pi = 0;
    TILE_BEGIN();
    for (int p = 0; p < (kc + 1) / 2; p++, a += MR, b += NR) {
        /* the driver shares out one prefetch per k step: two per pair */
        if (pleft > 0)
            PREFETCH_NEXT();
        if (pleft > 0)
            PREFETCH_NEXT();
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 16),
                 b2 = (__m512bh)_mm512_loadu_si512(b + 32);
        DOT_ROW(0);
        DOT_ROW(1);
        DOT_ROW(2);
        DOT_ROW(3);
        DOT_ROW(4);
        DOT_ROW(5);
        DOT_ROW(6);
        DOT_ROW(7);
    }
    while (pleft > 0)
        PREFETCH_NEXT();
    TILE_STORE();
}

/* The first n of 16 rows (ld floats apart from s; zero rows past n),
 * kk <= 32 floats of each (zero past kk), rounded (VCVTNE2PS2BF16) to 16
 * pair slots per row in order, then the 16 x 16 block of slots
 * transposed: r[p] holds slot p of every row. */
TARGET static inline void slot_block(const float *s, long ld, int n, int kk, __m512 r[16])
{
    __mmask16 lo = mask_of(kk), hi = mask_of(kk - 16);
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) {
        if (i < n) {
            const float *row = s + (size_t)i * ld;
            __m512 a = _mm512_maskz_loadu_ps(lo, row), b = _mm512_maskz_loadu_ps(hi, row + 16);
            r[i] = _mm512_castsi512_ps((__m512i)_mm512_cvtne2ps_pbh(b, a));
        } else {
            r[i] = _mm512_setzero_ps();
        }
    }
    transpose16(r);
}

/* slot_block from rows already in bf16: the first n of 16 rows (ld values
 * apart from s, an even count; zero rows past n), (kk + 1) / 2 pair slots
 * of each (zero past them), transposed. */
TARGET static inline void slot_block16(const uint16_t *s, long ld, int n, int kk, __m512 r[16])
{
    __mmask16 m = mask_of((kk + 1) / 2);
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++)
        r[i] = i < n ? _mm512_castsi512_ps(_mm512_maskz_loadu_epi32(m, s + (size_t)i * ld))
                     : _mm512_setzero_ps();
    transpose16(r);
}

/* slot_block of 16 rows of src, ld elements apart from element at: of
 * floats, or with half of bf16 values */
#define ALWAYS static inline __attribute__((always_inline))
TARGET ALWAYS void slot_block_of(const void *src, long ld, size_t at, int half, int n, int kk,
                                 __m512 r[16])
{
    if (half)
        slot_block16((const uint16_t *)src + at, ld, n, kk, r);
    else
        slot_block((const float *)src + at, ld, n, kk, r);
}

/* Rows i0 .. i0+m of A (M x K stored, floats or with half bf16 values),
 * columns k0 .. k0+kc, as panels of mr rows: 2 mr rows a slot_block, whose
 * slot rows' lanes 0 .. mr-1 go to one panel and the next mr to the
 * next. */
TARGET ALWAYS void rows_pairs(const void *A, long lda, int half, int i0, int m, int k0, int kc,
                              int mr, float *dst)
{
    const size_t panel = (size_t)kc * mr;
    const __mmask16 lanes = (__mmask16)((1u << mr) - 1);
    for (int q = 0; q < m; q += 2 * mr, dst += 2 * panel) {
        const int two = m - q > mr;
        for (int kb = 0; kb < kc; kb += 32) {
            int kk = kc - kb < 32 ? kc - kb : 32;
            __m512 r[16];
            slot_block_of(A, lda, (size_t)(i0 + q) * lda + k0 + kb, half,
                          m - q < 2 * mr ? m - q : 2 * mr, kk, r);
            for (int p = 0; p < (kk + 1) / 2; p++) {
                float *d = dst + (size_t)(kb / 2 + p) * mr;
                _mm512_mask_storeu_ps(d, lanes, r[p]);
                if (two)   /* lanes mr .. 2 mr - 1: to the next panel's slot row */
                    _mm512_mask_storeu_ps(d + panel - mr, (__mmask16)(lanes << mr), r[p]);
            }
        }
    }
}

/* op(B)[k0 .. k0+kc, j0 .. j0+n] of B stored transposed (N x K, floats or
 * with half bf16 values) as one panel of nr columns: 16 columns (rows of
 * B) a slot_block. */
TARGET ALWAYS void cols_pairs(const void *B, long ldb, int half, int k0, int kc, int j0, int n,
                              int nr, float *dst)
{
    int rows = (kc + 1) / 2;
    for (int jb = 0; jb < nr; jb += 16) {
        if (jb >= n) {   /* padding only */
            for (int p = 0; p < rows; p++)
                _mm512_storeu_ps(dst + (size_t)p * nr + jb, _mm512_setzero_ps());
            continue;
        }
        for (int kb = 0; kb < kc; kb += 32) {
            int kk = kc - kb < 32 ? kc - kb : 32;
            __m512 r[16];
            slot_block_of(B, ldb, (size_t)(j0 + jb) * ldb + k0 + kb, half, n - jb, kk, r);
            for (int p = 0; p < (kk + 1) / 2; p++)
                _mm512_storeu_ps(dst + (size_t)(kb / 2 + p) * nr + jb, r[p]);
        }
    }
}

/* op(A) (m rows from i0, kc from k0) as the fp32 kernel's panels of mr
 * rows (8, or the 6 x 64 tile's 6), kc floats apart, each holding
 * (kc + 1) / 2 slot rows: the layout of the fp32 packing followed by the
 * fold, in one pass. Stored M x K (trans 0): 2 mr rows at a time by
 * slot_block, whose slot rows' lanes 0 .. mr-1 go to one panel and the
 * next mr to the next. Stored K x M: rows k0 + 2p and k0 + 2p + 1 of mr
 * columns, rounded and interleaved. */
TARGET static void pack_a_pairs(int trans, const float *A, long lda, int i0, int m, int k0,
                                int kc, int mr, float *dst)
{
    const size_t panel = (size_t)kc * mr;
    const __mmask16 lanes = (__mmask16)((1u << mr) - 1);
    if (trans) {
        for (int q = 0; q < m; q += mr, dst += panel) {
            __mmask8 cm = (__mmask8)((1u << (m - q >= mr ? mr : m - q)) - 1);
            for (int p = 0; 2 * p < kc; p++) {
                const float *r0 = A + (size_t)(k0 + 2 * p) * lda + i0 + q;
                __m256 x0 = _mm256_maskz_loadu_ps(cm, r0);
                __m256 x1 = 2 * p + 1 < kc ? _mm256_maskz_loadu_ps(cm, r0 + lda)
                                           : _mm256_setzero_ps();
                __m256i lo = _mm256_cvtepu16_epi32((__m128i)_mm256_cvtneps_pbh(x0));
                __m256i hi = _mm256_cvtepu16_epi32((__m128i)_mm256_cvtneps_pbh(x1));
                _mm256_mask_storeu_epi32(dst + (size_t)p * mr, (__mmask8)lanes,
                                         _mm256_or_si256(lo, _mm256_slli_epi32(hi, 16)));
            }
        }
        return;
    }
    rows_pairs(A, lda, 0, i0, m, k0, kc, mr, dst);
}

/* The transposed case of pack_b_pairs: column j of op(B) is row j0 + j of
 * B, so 16 such columns at a time are a slot_block. */
TARGET static void pack_bt_pairs(const float *B, long ldb, int k0, int kc, int j0, int n, int nr,
                                 float *dst)
{
    cols_pairs(B, ldb, 0, k0, kc, j0, n, nr, dst);
}

TARGET void fer_gemm_bf16_pack_a16(const uint16_t *A, long lda, int i0, int m, int k0, int kc,
                                   int mr, float *dst)
{
    rows_pairs(A, lda, 1, i0, m, k0, kc, mr, dst);
}

TARGET void fer_gemm_bf16_pack_bt16(const uint16_t *B, long ldb, int k0, int kc, int j0, int n,
                                    int nr, float *dst)
{
    cols_pairs(B, ldb, 1, k0, kc, j0, n, nr, dst);
}

TARGET void fer_gemm_bf16_pack_a32(const float *A, long lda, int i0, int m, int k0, int kc, int mr,
                                   float *dst)
{
    rows_pairs(A, lda, 0, i0, m, k0, kc, mr, dst);
}

TARGET void fer_gemm_bf16_pack_bt32(const float *B, long ldb, int k0, int kc, int j0, int n,
                                    int nr, float *dst)
{
    cols_pairs(B, ldb, 0, k0, kc, j0, n, nr, dst);
}

/* op(B)[k0 .. k0+kc, j0 .. j0+n] (n <= nr, nr 48 or 64: the kernel's
 * panel) as one pair panel, in one pass instead of an fp32 packing and a
 * fold. Stored K x N (trans 0): rows k0 + 2p and k0 + 2p + 1 are read,
 * rounded and interleaved straight into slot row p, 16 columns a vector.
 * Transposed: pack_bt_pairs. */
TARGET static void pack_b_pairs(int trans, const float *B, long ldb, int k0, int kc, int j0,
                                int n, int nr, float *dst)
{
    if (trans) {
        pack_bt_pairs(B, ldb, k0, kc, j0, n, nr, dst);
        return;
    }
    for (int p = 0; 2 * p < kc; p++) {
        const float *r0 = B + (size_t)(k0 + 2 * p) * ldb + j0, *r1 = r0 + ldb;
        int has1 = 2 * p + 1 < kc;
        uint32_t *d = (uint32_t *)(void *)(dst + (size_t)p * nr);
        for (int v = 0; v < nr / 16; v++) {
            __mmask16 m = mask_of(n - 16 * v);
            __m512 x0 = _mm512_maskz_loadu_ps(m, r0 + 16 * v);
            __m512 x1 = has1 ? _mm512_maskz_loadu_ps(m, r1 + 16 * v) : _mm512_setzero_ps();
            _mm512_storeu_si512(d + 16 * v, fer_bf16_pairs16(x0, x1));
        }
    }
}

/* ---- the 6 x 64 variant, for products 49 to 64 columns wide ----
 * (the weight gradients of 64-channel Winograd layers: an 8 x 48 tile
 * computes 96 columns there, a third of them padding). The same pair
 * slots and the same order of sums per element, so the same bits as the
 * 8 x 48 kernel. */
#define MR6 6
#define NR64 64

#define DOT_ROW6(r) do { \
        __m512bh ar = (__m512bh)_mm512_set1_epi32((int)a[r]); \
        c##r##0 = _mm512_dpbf16_ps(c##r##0, ar, b0); \
        c##r##1 = _mm512_dpbf16_ps(c##r##1, ar, b1); \
        c##r##2 = _mm512_dpbf16_ps(c##r##2, ar, b2); \
        c##r##3 = _mm512_dpbf16_ps(c##r##3, ar, b3); \
    } while (0)

#define STORE_ROW6(r) do { \
        if ((r) < m) { \
            float *cr = c + (r) * ldc; \
            __m512 v[4] = {_mm512_mul_ps(va, c##r##0), _mm512_mul_ps(va, c##r##1), \
                           _mm512_mul_ps(va, c##r##2), _mm512_mul_ps(va, c##r##3)}; \
            for (int q = 0; q < 4; q++) { \
                if (beta != 0) \
                    v[q] = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(km[q], cr + 16 * q), v[q]); \
                _mm512_mask_storeu_ps(cr + 16 * q, km[q], v[q]); \
            } \
        } \
    } while (0)

TARGET static void tile_bf16_6x64(int kc, const float *af, const float *bf, float *c, long ldc,
                                  int m, int n, float alpha, float beta, const fer_gemm_pf *pf)
{
    const uint32_t *a = (const uint32_t *)(const void *)af;
    const uint32_t *b = (const uint32_t *)(const void *)bf;
    const char *pp = pf ? (const char *)pf->p : NULL;
    long pstride = pf ? pf->stride * (long)sizeof(float) : 0;
    int pper = pf ? pf->per : 1, pleft = pf ? pf->count : 0, pi = 0;
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00,
           c12 = c00, c13 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00,
           c31 = c00, c32 = c00, c33 = c00, c40 = c00, c41 = c00, c42 = c00, c43 = c00,
           c50 = c00, c51 = c00, c52 = c00, c53 = c00;
    for (int p = 0; p < (kc + 1) / 2; p++, a += MR6, b += NR64) {
        if (pleft > 0)
            PREFETCH_NEXT();
        if (pleft > 0)
            PREFETCH_NEXT();
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 16),
                 b2 = (__m512bh)_mm512_loadu_si512(b + 32),
                 b3 = (__m512bh)_mm512_loadu_si512(b + 48);
        DOT_ROW6(0);
        DOT_ROW6(1);
        DOT_ROW6(2);
        DOT_ROW6(3);
        DOT_ROW6(4);
        DOT_ROW6(5);
    }
    while (pleft > 0)
        PREFETCH_NEXT();
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    __mmask16 km[4] = {mask_of(n), mask_of(n - 16), mask_of(n - 32), mask_of(n - 48)};
    STORE_ROW6(0);
    STORE_ROW6(1);
    STORE_ROW6(2);
    STORE_ROW6(3);
    STORE_ROW6(4);
    STORE_ROW6(5);
}

const fer_gemm_kernel *fer_gemm_kernel_avx512bf16_n64(void)
{
    static fer_gemm_kernel k;
    const fer_gemm_kernel *base = fer_gemm_kernel_avx512bf16();
    if (!base)
        return NULL;
    k = *base;
    k.name = "avx512bf16-6x64";
    k.mr = MR6;
    k.nr = NR64;
    k.mc = 252;   /* a multiple of 6 near the 8 x 48 kernel's 256 */
    k.nc = 4800;
    k.tile = tile_bf16_6x64;   /* the packings are the 8 x 48 kernel's, at mr = 6, nr = 64 */
    return &k;
}

/* The fp32 AVX-512 kernel's 8 x 48 panels, packed straight into pairs. */
const fer_gemm_kernel *fer_gemm_kernel_avx512bf16(void)
{
    static fer_gemm_kernel k;
    const fer_gemm_kernel *f32 = fer_gemm_kernel_avx512();   /* its blocking and panels */
    __builtin_cpu_init();
    if (!f32 || !f32->pack_a || !f32->pack_b || !__builtin_cpu_supports("avx512bw") ||
        !__builtin_cpu_supports("avx512bf16"))
        return NULL;
    k = *f32;
    k.name = "avx512bf16";
    k.tile = tile_bf16;
    k.pack_a = pack_a_pairs;
    k.pack_b = pack_b_pairs;
    k.prep = fer_gemm_bf16_pairs;
    k.pairs = 1;
    k.packs_prepped = 1;
    return &k;
}

#else

void fer_gemm_bf16_pairs(float *panel, int kc, int w)
{
    (void)panel, (void)kc, (void)w;
}

const fer_gemm_kernel *fer_gemm_kernel_avx512bf16(void) { return NULL; }
const fer_gemm_kernel *fer_gemm_kernel_avx512bf16_n64(void) { return NULL; }

/* never called without the kernel (fer_gemm_bf16_native() is 0) */
void fer_gemm_bf16_pack_a16(const uint16_t *A, long lda, int i0, int m, int k0, int kc, int mr,
                            float *dst)
{
    (void)A, (void)lda, (void)i0, (void)m, (void)k0, (void)kc, (void)mr, (void)dst;
}

void fer_gemm_bf16_pack_bt16(const uint16_t *B, long ldb, int k0, int kc, int j0, int n, int nr,
                             float *dst)
{
    (void)B, (void)ldb, (void)k0, (void)kc, (void)j0, (void)n, (void)nr, (void)dst;
}

void fer_gemm_bf16_pack_a32(const float *A, long lda, int i0, int m, int k0, int kc, int mr,
                            float *dst)
{
    (void)A, (void)lda, (void)i0, (void)m, (void)k0, (void)kc, (void)mr, (void)dst;
}

void fer_gemm_bf16_pack_bt32(const float *B, long ldb, int k0, int kc, int j0, int n, int nr,
                             float *dst)
{
    (void)B, (void)ldb, (void)k0, (void)kc, (void)j0, (void)n, (void)nr, (void)dst;
}

#endif
