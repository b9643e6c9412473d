/* conv_winograd512.c: the Winograd input and output transforms, and the
 * weight gradient's transform of dy, in AVX-512 registers
 * (conv_winograd512.h). The portable transform in conv_winograd.c splits
 * each input row into even and odd columns in memory and runs the two
 * halves of B^T d B as separate passes over arrays; here 16 tiles of a
 * tile row go through in one step: for each of the 4 input rows, four
 * loads (columns 2t, 2t + 16, 2t + 2, 2t + 18 on from the chunk's first
 * tile t) and two-source permutes give the even and odd columns of "this"
 * and "the next" column pair, and both halves of the transform are adds
 * between registers. Columns outside the row (the padding) and rows outside
 * the image load as zeros, under masks worked out once per call. The
 * output transform runs the other way: 16 loads, the adds of A^T m A, and
 * two permutes per output row put the even and odd columns back in
 * order. */
#include "conv_winograd512.h"
#include "cpu_has.h"

#if FER_WINO512
#include <immintrin.h>

enum { MAX_CHUNKS = 64 };   /* 1024 tiles per row */

int fer_wino512_available(void) { return fer_cpu_has_avx512(); }

int fer_wino512_fits(int TX) { return TX <= 16 * MAX_CHUNKS; }

/* Lanes l of a load at column w0 + l that lie in [0, W). */
static __mmask16 in_row(long w0, int W)
{
    long lo = -w0, hi = W - w0;
    unsigned a = lo < 0 ? 0 : lo > 16 ? 16 : (unsigned)lo;
    unsigned b = hi < 0 ? 0 : hi > 16 ? 16 : (unsigned)hi;
    return (__mmask16)(((1u << b) - 1) & ~((1u << a) - 1));
}

__attribute__((target("avx512f"))) void fer_wino512_input(int H, int W, int pad, int TY,
                                                          int TX, const float *x, size_t img_stride,
                                                          int r0, int r1, float *V, size_t xs)
{
    const int nch = (TX + 15) / 16;
    __mmask16 lm[MAX_CHUNKS][4], sm[MAX_CHUNKS];
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    static const int off[4] = {0, 16, 2, 18};
    for (int k = 0; k < nch; k++) {
        int left = TX - 16 * k;
        sm[k] = (__mmask16)(left >= 16 ? 0xffff : (1u << left) - 1);
        for (int q = 0; q < 4; q++)
            lm[k][q] = in_row(32L * k - pad + off[q], W);
    }
    for (int r = r0; r < r1; r++) {
        const int img = r / TY, ty = r % TY;
        const float *xp = x + (size_t)img * img_stride;
        const float *row[4];
        for (int i = 0; i < 4; i++) {
            int ih = 2 * ty - pad + i;
            row[i] = ih >= 0 && ih < H ? xp + (size_t)ih * W - pad : NULL;
        }
        float *vr = V + (size_t)(r - r0) * TX;
        for (int k = 0; k < nch; k++) {
            /* row i: even and odd columns of this pair (e, o) and the next
             * (f, g); every name a register, no arrays (gcc spilled those) */
            __m512 e0, o0, f0, g0, e1, o1, f1, g1, e2, o2, f2, g2, e3, o3, f3, g3;
#define ROW(i)                                                                            \
    if (row[i]) {                                                                         \
        const float *p = row[i] + 32 * k;   /* may precede the row: lanes masked */      \
        __m512 a = _mm512_maskz_loadu_ps(lm[k][0], p);                                    \
        __m512 b = _mm512_maskz_loadu_ps(lm[k][1], p + 16);                               \
        __m512 a2 = _mm512_maskz_loadu_ps(lm[k][2], p + 2);                               \
        __m512 b2 = _mm512_maskz_loadu_ps(lm[k][3], p + 18);                              \
        e##i = _mm512_permutex2var_ps(a, ev, b);                                          \
        o##i = _mm512_permutex2var_ps(a, od, b);                                          \
        f##i = _mm512_permutex2var_ps(a2, ev, b2);                                        \
        g##i = _mm512_permutex2var_ps(a2, od, b2);                                        \
    } else {                                                                              \
        e##i = o##i = f##i = g##i = _mm512_setzero_ps();                                  \
    }
            ROW(0) ROW(1) ROW(2) ROW(3)
#undef ROW
            /* B^T d down the rows: [d0 - d2, d1 + d2, d2 - d1, d1 - d3] */
#define DOWN(q)                                                                           \
    {                                                                                     \
        __m512 t0 = _mm512_sub_ps(q##0, q##2), t1 = _mm512_add_ps(q##1, q##2);            \
        __m512 t2 = _mm512_sub_ps(q##2, q##1), t3 = _mm512_sub_ps(q##1, q##3);            \
        q##0 = t0, q##1 = t1, q##2 = t2, q##3 = t3;                                       \
    }
            DOWN(e) DOWN(o) DOWN(f) DOWN(g)
#undef DOWN
            /* then across: [E - F, O + F, F - O, O - G] into planes 4i .. 4i + 3 */
            float *v = vr + 16 * k;
            const __mmask16 m = sm[k];
#define ACROSS(i)                                                                         \
    {                                                                                     \
        float *p = v + (size_t)(4 * i) * xs;                                              \
        _mm512_mask_storeu_ps(p, m, _mm512_sub_ps(e##i, f##i));                           \
        _mm512_mask_storeu_ps(p + xs, m, _mm512_add_ps(o##i, f##i));                      \
        _mm512_mask_storeu_ps(p + 2 * xs, m, _mm512_sub_ps(f##i, o##i));                  \
        _mm512_mask_storeu_ps(p + 3 * xs, m, _mm512_sub_ps(o##i, g##i));                  \
    }
            ACROSS(0) ACROSS(1) ACROSS(2) ACROSS(3)
#undef ACROSS
        }
    }
}

__attribute__((target("avx512f"))) void fer_wino512_grad(int P, int Q, int TY, int TX,
                                                         const float *dy, float *M, size_t xs)
{
    const int nch = (TX + 15) / 16;
    __mmask16 lm[MAX_CHUNKS][2], sm[MAX_CHUNKS];
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int k = 0; k < nch; k++) {
        int left = TX - 16 * k;
        sm[k] = (__mmask16)(left >= 16 ? 0xffff : (1u << left) - 1);
        lm[k][0] = in_row(32L * k, Q);
        lm[k][1] = in_row(32L * k + 16, Q);
    }
    for (int ty = 0; ty < TY; ty++) {
        const float *r0 = dy + (size_t)(2 * ty) * Q;
        const float *r1 = 2 * ty + 1 < P ? r0 + Q : NULL;   /* past an odd edge: zeros */
        float *mr = M + (size_t)ty * TX;
        for (int k = 0; k < nch; k++) {
            __m512 a = _mm512_maskz_loadu_ps(lm[k][0], r0 + 32 * k);
            __m512 b = _mm512_maskz_loadu_ps(lm[k][1], r0 + 32 * k + 16);
            __m512 e0 = _mm512_permutex2var_ps(a, ev, b), o0 = _mm512_permutex2var_ps(a, od, b);
            __m512 e1 = _mm512_setzero_ps(), o1 = _mm512_setzero_ps();
            if (r1) {
                a = _mm512_maskz_loadu_ps(lm[k][0], r1 + 32 * k);
                b = _mm512_maskz_loadu_ps(lm[k][1], r1 + 32 * k + 16);
                e1 = _mm512_permutex2var_ps(a, ev, b);
                o1 = _mm512_permutex2var_ps(a, od, b);
            }
            /* A dy: rows [d0], [d0 + d1], [d0 - d1], [-d1], each as its (even, odd)
             * pair; then each row [p q] -> [p, p + q, p - q, -q] into planes 4i .. */
            const __m512 zero = _mm512_setzero_ps();
            const __m512 p[4] = {e0, _mm512_add_ps(e0, e1), _mm512_sub_ps(e0, e1),
                                 _mm512_sub_ps(zero, e1)};
            const __m512 q[4] = {o0, _mm512_add_ps(o0, o1), _mm512_sub_ps(o0, o1),
                                 _mm512_sub_ps(zero, o1)};
            float *m = mr + 16 * k;
            const __mmask16 t = sm[k];
            for (int i = 0; i < 4; i++) {
                float *pl = m + (size_t)(4 * i) * xs;
                _mm512_mask_storeu_ps(pl, t, p[i]);
                _mm512_mask_storeu_ps(pl + xs, t, _mm512_add_ps(p[i], q[i]));
                _mm512_mask_storeu_ps(pl + 2 * xs, t, _mm512_sub_ps(p[i], q[i]));
                _mm512_mask_storeu_ps(pl + 3 * xs, t, _mm512_sub_ps(zero, q[i]));
            }
        }
    }
}

/* Column lanes l of a 16-wide store at column w0 + l that lie in [0, Q). */
static __mmask16 below(long w0, int Q) { return in_row(w0, Q); }

__attribute__((target("avx512f"))) void fer_wino512_output(int P, int Q, int TY, int TX, float *y,
                                                           size_t img_stride, float bias, int r0,
                                                           int r1, const float *M, size_t xs)
{
    const int nch = (TX + 15) / 16;
    __mmask16 tm[MAX_CHUNKS], cm[MAX_CHUNKS][2];
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi =
        _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const __m512 bv = _mm512_set1_ps(bias);
    for (int k = 0; k < nch; k++) {
        int left = TX - 16 * k;
        tm[k] = (__mmask16)(left >= 16 ? 0xffff : (1u << left) - 1);
        cm[k][0] = below(32L * k, Q);
        cm[k][1] = below(32L * k + 16, Q);
    }
    for (int r = r0; r < r1; r++) {
        const int img = r / TY, ty = r % TY;
        float *y0 = y + (size_t)img * img_stride + (size_t)(2 * ty) * Q;
        const int two = 2 * ty + 1 < P;
        const float *mr = M + (size_t)(r - r0) * TX;
        for (int k = 0; k < nch; k++) {
            const float *m = mr + 16 * k;
            const __mmask16 t = tm[k];
            __m512 s[4], d[4];
            for (int q = 0; q < 4; q++) {   /* A^T m: [m0 + m1 + m2, m1 - m2 - m3] down */
                __m512 a = _mm512_maskz_loadu_ps(t, m + (size_t)q * xs);
                __m512 b = _mm512_maskz_loadu_ps(t, m + (size_t)(4 + q) * xs);
                __m512 c = _mm512_maskz_loadu_ps(t, m + (size_t)(8 + q) * xs);
                __m512 e = _mm512_maskz_loadu_ps(t, m + (size_t)(12 + q) * xs);
                s[q] = _mm512_add_ps(_mm512_add_ps(a, b), c);
                d[q] = _mm512_sub_ps(_mm512_sub_ps(b, c), e);
            }
            /* then across, with the bias; outputs (2 ty, 2 t) and (2 ty, 2 t + 1)
             * from the first pair, the next row from the second */
            __m512 r0v = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s[0], s[1]), s[2]), bv);
            __m512 r1v = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(s[1], s[2]), s[3]), bv);
            float *o = y0 + 32 * k;
            _mm512_mask_storeu_ps(o, cm[k][0], _mm512_permutex2var_ps(r0v, lo, r1v));
            _mm512_mask_storeu_ps(o + 16, cm[k][1], _mm512_permutex2var_ps(r0v, hi, r1v));
            if (two) {
                __m512 r2v = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(d[0], d[1]), d[2]), bv);
                __m512 r3v = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(d[1], d[2]), d[3]), bv);
                _mm512_mask_storeu_ps(o + Q, cm[k][0], _mm512_permutex2var_ps(r2v, lo, r3v));
                _mm512_mask_storeu_ps(o + Q + 16, cm[k][1], _mm512_permutex2var_ps(r2v, hi, r3v));
            }
        }
    }
}
#endif
