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
 * order.
 *
 * Rows of at most 8 tiles (planes of at most 16 columns: the late layers
 * of every net here) would leave half the lanes or more idle, so they go
 * two tile rows to a step: the first row's tiles in lanes 0-7, the second
 * row's in lanes 8-15 (the two-source permutes take one row's first 16
 * columns from each source where the wide step takes 32 columns of one
 * row), packed together (compress) before each store and spread out
 * (expand) after each load of the inverse. Each lane does what the wide
 * step does, so the results are the same bits.
 *
 * For the bf16 GEMM the input and dy transforms also come rounded as they
 * are stored, in half the bytes: the forward's input as pair slots of two
 * channels in the GEMM's panels (_slots), the weight gradient's two as
 * bf16 rows (_half). One step's arithmetic is written once (macros) and
 * stored each way. */
#include "conv_winograd512.h"
#include "cpu_has.h"

#include <stdint.h>

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

/* B^T d down the rows of the input transform, in the registers q0..q3
 * (the rows' even or odd columns): [d0 - d2, d1 + d2, d2 - d1, d1 - d3] */
#define DOWN(q)                                                                           \
    {                                                                                     \
        __m512 t0 = _mm512_sub_ps(q##0, q##2), t1 = _mm512_add_ps(q##1, q##2);            \
        __m512 t2 = _mm512_sub_ps(q##2, q##1), t3 = _mm512_sub_ps(q##1, q##3);            \
        q##0 = t0, q##1 = t1, q##2 = t2, q##3 = t3;                                       \
    }

static const int EV[16] = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
static const int OD[16] = {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31};
/* the output transform's interleave of two registers' lanes 0-7 (LO) and 8-15 (HI) */
static const int LO[16] = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23};
static const int HI[16] = {8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};

/* The input rows i = 0..3 that tile row r reads (image r / TY, row
 * r % TY of its tiles), as pointers to column -pad (NULL: a padding row,
 * all zeros). */
static void tile_rows(int H, int W, int pad, int TY, const float *x, size_t img_stride, int r,
                      const float *row[4])
{
    const float *xp = x + (size_t)(r / TY) * img_stride;
    for (int i = 0; i < 4; i++) {
        int ih = 2 * (r % TY) - pad + i;
        row[i] = ih >= 0 && ih < H ? xp + (size_t)ih * W - pad : NULL;
    }
}

/* Stores lanes keep of v, packed together, to the first n floats at p. */
__attribute__((target("avx512f"))) static inline void store_packed(float *p, __mmask16 keep,
                                                                   __mmask16 n, __m512 v)
{
    _mm512_mask_storeu_ps(p, n, _mm512_maskz_compress_ps(keep, v));
}

/* The wide step's masks for rows of TX tiles: lm[k][q], the lanes of
 * chunk k's four loads that lie inside a row of W columns (padding pad);
 * sm[k], its tiles that exist. */
static void chunk_masks(int TX, int W, int pad, __mmask16 lm[][4], __mmask16 sm[])
{
    static const int off[4] = {0, 16, 2, 18};
    for (int k = 0; k < (TX + 15) / 16; k++) {
        int left = TX - 16 * k;
        sm[k] = (__mmask16)(left >= 16 ? 0xffff : (1u << left) - 1);
        for (int q = 0; q < 4; q++)
            lm[k][q] = in_row(32L * k - pad + off[q], W);
    }
}

/* A two-tile-rows step's constants (rows of TX tiles, W columns,
 * padding pad), and its masks for the step from tile row r of [r0, r1):
 * two, whether it has a second row; keep, the lanes of its tiles (0 .. TX
 * - 1 and 8 .. 8 + TX - 1); n, as many lanes from 0, once packed */
#define PAIR_CONSTS                                                                       \
    const __m512i ev = _mm512_loadu_si512(EV), od = _mm512_loadu_si512(OD);               \
    const __mmask16 m0 = in_row(-pad, W), m2 = in_row(2 - pad, W), one = (1u << TX) - 1;  \
    const __m512 z = _mm512_setzero_ps();
#define PAIR_MASKS                                                                        \
    const int two = r + 1 < r1;                                                           \
    const __mmask16 keep = (__mmask16)(one | (two ? one << 8 : 0));                       \
    const __mmask16 n = (__mmask16)((1u << (two ? 2 * TX : TX)) - 1);

/* tile_rows of tile row r (ra) and, when two, of r + 1 (rb; else all NULL) */
static void pair_rows(int H, int W, int pad, int TY, const float *x, size_t img_stride, int r,
                      int two, const float *ra[4], const float *rb[4])
{
    tile_rows(H, W, pad, TY, x, img_stride, r, ra);
    if (two)
        tile_rows(H, W, pad, TY, x, img_stride, r + 1, rb);
    else
        rb[0] = rb[1] = rb[2] = rb[3] = NULL;
}

/* Row i of a two-tile-rows step (rows of TX <= 8 tiles): the even and odd
 * columns of this pair (e, o) and the next (f, g), the first tile row's
 * (ra) in lanes 0-7 and the second's (rb) in lanes 8-15 */
#define PAIR_ROW(i, ra, rb)                                                               \
    {                                                                                     \
        __m512 a = ra[i] ? _mm512_maskz_loadu_ps(m0, ra[i]) : z;                          \
        __m512 b = rb[i] ? _mm512_maskz_loadu_ps(m0, rb[i]) : z;                          \
        __m512 a2 = ra[i] ? _mm512_maskz_loadu_ps(m2, ra[i] + 2) : z;                     \
        __m512 b2 = rb[i] ? _mm512_maskz_loadu_ps(m2, rb[i] + 2) : z;                     \
        e##i = _mm512_permutex2var_ps(a, ev, b);                                          \
        o##i = _mm512_permutex2var_ps(a, od, b);                                          \
        f##i = _mm512_permutex2var_ps(a2, ev, b2);                                        \
        g##i = _mm512_permutex2var_ps(a2, od, b2);                                        \
    }

/* Row i of a wide step: chunk k (16 tiles, columns 32 k on) of one row */
#define WIDE_ROW(i, row)                                                                  \
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

/* Then across, row i's planes 4i .. 4i + 3: [E - F, O + F, F - O, O - G],
 * each handed to OUT(plane, value) */
#define ACROSS(i, OUT)                                                                    \
    {                                                                                     \
        OUT(4 * i, _mm512_sub_ps(e##i, f##i));                                            \
        OUT(4 * i + 1, _mm512_add_ps(o##i, f##i));                                        \
        OUT(4 * i + 2, _mm512_sub_ps(f##i, o##i));                                        \
        OUT(4 * i + 3, _mm512_sub_ps(o##i, g##i));                                        \
    }

/* One channel's step: its 16 planes through OUT (every name a register,
 * no arrays: gcc spilled those) */
#define STEP(LOAD, OUT)                                                                   \
    {                                                                                     \
        __m512 e0, o0, f0, g0, e1, o1, f1, g1, e2, o2, f2, g2, e3, o3, f3, g3;            \
        LOAD(0) LOAD(1) LOAD(2) LOAD(3)                                                   \
        DOWN(e) DOWN(o) DOWN(f) DOWN(g)                                                   \
        ACROSS(0, OUT) ACROSS(1, OUT) ACROSS(2, OUT) ACROSS(3, OUT)                       \
    }

/* The input transform of one channel x into V (elements of type T, tile
 * t of the range at V[xi * xs + t], each value through OUT(plane, value),
 * which stores it at v): two tile rows a step (rows of TX <= 8 tiles), or
 * 16 tiles a step, rows of more handed to PAIRS. */
#define PAIR_LOAD(i) PAIR_ROW(i, ra, rb)
#define WIDE_LOAD(i) WIDE_ROW(i, row)
#define INPUT_PAIRS(T, OUT)                                                               \
    PAIR_CONSTS                                                                           \
    for (int r = r0; r < r1; r += 2) {                                                    \
        PAIR_MASKS                                                                        \
        const float *ra[4], *rb[4];                                                       \
        pair_rows(H, W, pad, TY, x, img_stride, r, two, ra, rb);                          \
        T *v = V + (size_t)(r - r0) * TX;                                                 \
        STEP(PAIR_LOAD, OUT)                                                              \
    }
#define INPUT_WIDE(T, OUT, PAIRS)                                                         \
    const int nch = (TX + 15) / 16;                                                       \
    __mmask16 lm[MAX_CHUNKS][4], sm[MAX_CHUNKS];                                          \
    const __m512i ev = _mm512_loadu_si512(EV), od = _mm512_loadu_si512(OD);               \
    if (TX <= 8) {                                                                        \
        PAIRS(H, W, pad, TY, TX, x, img_stride, r0, r1, V, xs);                           \
        return;                                                                           \
    }                                                                                     \
    chunk_masks(TX, W, pad, lm, sm);                                                      \
    for (int r = r0; r < r1; r++) {                                                       \
        const float *row[4];                                                              \
        tile_rows(H, W, pad, TY, x, img_stride, r, row);                                  \
        for (int k = 0; k < nch; k++) {                                                   \
            T *v = V + (size_t)(r - r0) * TX + 16 * k;                                    \
            STEP(WIDE_LOAD, OUT)                                                          \
        }                                                                                 \
    }

/* fer_wino512_input for rows of TX <= 8 tiles, two tile rows a step. */
__attribute__((target("avx512f"))) static void input_pairs(int H, int W, int pad, int TY, int TX,
                                                           const float *x, size_t img_stride,
                                                           int r0, int r1, float *V, size_t xs)
{
#define OUT(q, val) store_packed(v + (size_t)(q) * xs, keep, n, val)
    INPUT_PAIRS(float, OUT)
#undef OUT
}

__attribute__((target("avx512f"))) void fer_wino512_input(int H, int W, int pad, int TY,
                                                          int TX, const float *x, size_t img_stride,
                                                          int r0, int r1, float *V, size_t xs)
{
#define OUT(q, val) _mm512_mask_storeu_ps(v + (size_t)(q) * xs, sm[k], val)
    INPUT_WIDE(float, OUT, input_pairs)
#undef OUT
}

/* ---- the same into bf16 pair slots (fer_wino512_input_slots) ---- */

#define SLOTS_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

/* word 2j of a slots result from the first source's word j, 2j + 1 from
 * the second's */
static const short JOIN[32] = {0, 32, 1, 33, 2, 34, 3, 35, 4, 36, 5, 37, 6, 38, 7, 39,
                               8, 40, 9, 41, 10, 42, 11, 43, 12, 44, 13, 45, 14, 46, 15, 47};

/* slot j of the result: lo's bf16 j in its low half, hi's in its high (one
 * two-source word permute) */
SLOTS_TARGET static inline __m512 slots(__m256bh lo, __m256bh hi)
{
    const __m512i join = _mm512_loadu_si512(JOIN);
    return _mm512_castsi512_ps(_mm512_permutex2var_epi16(
        _mm512_castsi256_si512((__m256i)lo), join, _mm512_castsi256_si512((__m256i)hi)));
}

/* Lanes m of v to tiles t0, t0 + 1, ... of a plane in panels (p: tile
 * t0's slot; room: the tiles left in its panel; next: from a panel's end
 * to the next panel's start, minus nr) */
SLOTS_TARGET static inline void put_slots(float *p, int room, size_t next, __mmask16 m, __m512 v)
{
    if (room >= 16) {
        _mm512_mask_storeu_ps(p, m, v);
        return;
    }
    const __mmask16 here = (__mmask16)((1u << room) - 1);
    _mm512_mask_storeu_ps(p, m & here, v);
    _mm512_mask_storeu_ps(p + next, m & (__mmask16)~here, v);   /* lane room: the next start */
}

/* input_pairs into slots: channel x0's planes rounded and kept (lo), then
 * x1's (zeros without one) joined to them */
SLOTS_TARGET static void input_slot_pairs(int H, int W, int pad, int TY, int TX, const float *x0,
                                          const float *x1, size_t img_stride, int r0, int r1,
                                          float *V, size_t xs, size_t ld, int nr)
{
    PAIR_CONSTS
    for (int r = r0; r < r1; r += 2) {
        PAIR_MASKS
        const long t0 = (long)(r - r0) * TX;
        const int room = nr - (int)(t0 % nr);
        float *v = V + (size_t)(t0 / nr) * ld + t0 % nr;
        const float *ra[4], *rb[4];
        __m256bh lo[16];
        pair_rows(H, W, pad, TY, x0, img_stride, r, two, ra, rb);
#define OUT(q, val) lo[q] = _mm512_cvtneps_pbh(val)
        STEP(PAIR_LOAD, OUT)
#undef OUT
#define PUT(q, hi)                                                                        \
    put_slots(v + (size_t)(q) * xs, room, ld - nr, n,                                     \
              _mm512_maskz_compress_ps(keep, slots(lo[q], hi)))
        if (x1) {
            pair_rows(H, W, pad, TY, x1, img_stride, r, two, ra, rb);
#define OUT(q, val) PUT(q, _mm512_cvtneps_pbh(val))
            STEP(PAIR_LOAD, OUT)
#undef OUT
        } else {
            for (int q = 0; q < 16; q++)
                PUT(q, _mm512_cvtneps_pbh(z));
        }
#undef PUT
    }
}

SLOTS_TARGET void fer_wino512_input_slots(int H, int W, int pad, int TY, int TX, const float *x0,
                                          const float *x1, size_t img_stride, int r0, int r1,
                                          float *V, size_t xs, size_t ld, int nr)
{
    const int nch = (TX + 15) / 16;
    __mmask16 lm[MAX_CHUNKS][4], sm[MAX_CHUNKS];
    const __m512i ev = _mm512_loadu_si512(EV), od = _mm512_loadu_si512(OD);
    if (TX <= 8) {
        input_slot_pairs(H, W, pad, TY, TX, x0, x1, img_stride, r0, r1, V, xs, ld, nr);
        return;
    }
    chunk_masks(TX, W, pad, lm, sm);
    for (int r = r0; r < r1; r++) {
        const float *row[4], *row1[4];
        tile_rows(H, W, pad, TY, x0, img_stride, r, row);
        if (x1)
            tile_rows(H, W, pad, TY, x1, img_stride, r, row1);
        for (int k = 0; k < nch; k++) {
            const long t0 = (long)(r - r0) * TX + 16 * k;
            const int room = nr - (int)(t0 % nr);
            float *v = V + (size_t)(t0 / nr) * ld + t0 % nr;
            __m256bh lo[16];
#define OUT(q, val) lo[q] = _mm512_cvtneps_pbh(val)
            STEP(WIDE_LOAD, OUT)
#undef OUT
#define PUT(q, hi) put_slots(v + (size_t)(q) * xs, room, ld - nr, sm[k], slots(lo[q], hi))
            if (x1) {
#define LOAD(i) WIDE_ROW(i, row1)
#define OUT(q, val) PUT(q, _mm512_cvtneps_pbh(val))
                STEP(LOAD, OUT)
#undef LOAD
#undef OUT
            } else {
                const __m256bh zero = _mm512_cvtneps_pbh(_mm512_setzero_ps());
                for (int q = 0; q < 16; q++)
                    PUT(q, zero);
            }
#undef PUT
        }
    }
}

/* Lanes keep filled from the first n floats at p, in order (the inverse
 * of store_packed). */
__attribute__((target("avx512f"))) static inline __m512 load_spread(const float *p,
                                                                   __mmask16 keep, __mmask16 n)
{
    return _mm512_maskz_expand_ps(keep, _mm512_maskz_loadu_ps(n, p));
}

/* ep's epilogue on v (none when ep is NULL): max(v, 0) keeps the ReLU's
 * expression v > 0 ? v : 0 (NaN and -0 give +0), and the affine is a
 * multiply then an add, as the separate op (no fused multiply-add). With
 * a residual add, relu2 waits for it (store_epi). */
__attribute__((target("avx512f"))) static inline __m512 epi(__m512 v, const fer_wino512_epi *ep)
{
    if (!ep)
        return v;
    if (ep->relu)
        v = _mm512_max_ps(v, _mm512_setzero_ps());
    if (ep->bn)
        v = _mm512_add_ps(_mm512_mul_ps(v, _mm512_set1_ps(ep->a)), _mm512_set1_ps(ep->c));
    if (ep->relu2 && !ep->add)
        v = _mm512_max_ps(v, _mm512_setzero_ps());
    return v;
}

/* Stores lanes m of v at o, in the plane y: with ep's residual add, plus
 * add's values at o's place (add_relu's v = a + b) and then relu2. */
__attribute__((target("avx512f"))) static inline void store_epi(float *o, __mmask16 m, __m512 v,
                                                                const float *y,
                                                                const fer_wino512_epi *ep)
{
    if (ep && ep->add) {
        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, ep->add + (o - y)));
        if (ep->relu2)
            v = _mm512_max_ps(v, _mm512_setzero_ps());
    }
    _mm512_mask_storeu_ps(o, m, v);
}

/* The dy transform's step, written once for its two element types (fp32
 * and bf16: the weight gradient's operands, halves of the bytes): the
 * planes 4i .. 4i + 3 of row i of A dy from its (even, odd) pair (p, q):
 * [p, p + q, p - q, -q], each handed to OUT(plane, value). */
#define GRAD_ACROSS(OUT)                                                                  \
    for (int i = 0; i < 4; i++) {                                                         \
        OUT(4 * i, p[i]);                                                                 \
        OUT(4 * i + 1, _mm512_add_ps(p[i], q[i]));                                        \
        OUT(4 * i + 2, _mm512_sub_ps(p[i], q[i]));                                        \
        OUT(4 * i + 3, _mm512_sub_ps(zero, q[i]));                                        \
    }

/* Rows of TX <= 8 tiles, two tile rows a step: dy rows 2 ty, 2 ty + 1
 * (first tile row), 2 ty + 2, 2 ty + 3 (second); past P: zeros. m: the
 * step's first tile in plane 0. */
#define GRAD_PAIRS(OUT)                                                                   \
    const __m512i ev = _mm512_loadu_si512(EV), od = _mm512_loadu_si512(OD);               \
    const __mmask16 lm = in_row(0, Q), one = (1u << TX) - 1;                              \
    const __m512 zero = _mm512_setzero_ps();                                              \
    for (int ty = ty0; ty < ty1; ty += 2) {                                               \
        const int two = ty + 1 < ty1;                                                     \
        const __mmask16 keep = (__mmask16)(one | (two ? one << 8 : 0));                   \
        const __mmask16 n = (__mmask16)((1u << (two ? 2 * TX : TX)) - 1);                 \
        const float *d[4];                                                                \
        for (int i = 0; i < 4; i++)                                                       \
            d[i] = 2 * ty + i < P && (i < 2 || two) ? dy + (size_t)(2 * ty + i) * Q : NULL; \
        __m512 a = _mm512_maskz_loadu_ps(lm, d[0]);                                       \
        __m512 b = d[2] ? _mm512_maskz_loadu_ps(lm, d[2]) : zero;                         \
        const __m512 e0 = _mm512_permutex2var_ps(a, ev, b), o0 = _mm512_permutex2var_ps(a, od, b); \
        a = d[1] ? _mm512_maskz_loadu_ps(lm, d[1]) : zero;                                \
        b = d[3] ? _mm512_maskz_loadu_ps(lm, d[3]) : zero;                                \
        const __m512 e1 = _mm512_permutex2var_ps(a, ev, b), o1 = _mm512_permutex2var_ps(a, od, b); \
        const __m512 p[4] = {e0, _mm512_add_ps(e0, e1), _mm512_sub_ps(e0, e1),           \
                             _mm512_sub_ps(zero, e1)};                                    \
        const __m512 q[4] = {o0, _mm512_add_ps(o0, o1), _mm512_sub_ps(o0, o1),           \
                             _mm512_sub_ps(zero, o1)};                                    \
        const size_t m = (size_t)(ty - ty0) * TX;                                         \
        GRAD_ACROSS(OUT)                                                                  \
    }

/* Wider rows: 16 tiles (32 columns) a step, t: its tiles that exist;
 * rows of at most 8 handed to PAIRS. */
#define GRAD_WIDE(OUT, PAIRS)                                                             \
    if (TX <= 8) {                                                                        \
        PAIRS(P, Q, TX, ty0, ty1, dy, M, xs);                                             \
        return;                                                                           \
    }                                                                                     \
    const int nch = (TX + 15) / 16;                                                       \
    __mmask16 lm[MAX_CHUNKS][2], sm[MAX_CHUNKS];                                          \
    const __m512i ev = _mm512_loadu_si512(EV), od = _mm512_loadu_si512(OD);               \
    const __m512 zero = _mm512_setzero_ps();                                              \
    for (int k = 0; k < nch; k++) {                                                       \
        int left = TX - 16 * k;                                                           \
        sm[k] = (__mmask16)(left >= 16 ? 0xffff : (1u << left) - 1);                      \
        lm[k][0] = in_row(32L * k, Q);                                                    \
        lm[k][1] = in_row(32L * k + 16, Q);                                               \
    }                                                                                     \
    for (int ty = ty0; ty < ty1; ty++) {                                                  \
        const float *r0 = dy + (size_t)(2 * ty) * Q;                                      \
        const float *r1 = 2 * ty + 1 < P ? r0 + Q : NULL;   /* past an odd edge: zeros */ \
        for (int k = 0; k < nch; k++) {                                                   \
            __m512 a = _mm512_maskz_loadu_ps(lm[k][0], r0 + 32 * k);                      \
            __m512 b = _mm512_maskz_loadu_ps(lm[k][1], r0 + 32 * k + 16);                 \
            __m512 e0 = _mm512_permutex2var_ps(a, ev, b), o0 = _mm512_permutex2var_ps(a, od, b); \
            __m512 e1 = zero, o1 = zero;                                                  \
            if (r1) {                                                                     \
                a = _mm512_maskz_loadu_ps(lm[k][0], r1 + 32 * k);                         \
                b = _mm512_maskz_loadu_ps(lm[k][1], r1 + 32 * k + 16);                    \
                e1 = _mm512_permutex2var_ps(a, ev, b);                                    \
                o1 = _mm512_permutex2var_ps(a, od, b);                                    \
            }                                                                             \
            /* A dy: rows [d0], [d0 + d1], [d0 - d1], [-d1], each as its (even, odd) pair */ \
            const __m512 p[4] = {e0, _mm512_add_ps(e0, e1), _mm512_sub_ps(e0, e1),       \
                                 _mm512_sub_ps(zero, e1)};                                \
            const __m512 q[4] = {o0, _mm512_add_ps(o0, o1), _mm512_sub_ps(o0, o1),       \
                                 _mm512_sub_ps(zero, o1)};                                \
            const size_t m = (size_t)(ty - ty0) * TX + 16 * k;                            \
            const __mmask16 t = sm[k];                                                    \
            GRAD_ACROSS(OUT)                                                              \
        }                                                                                 \
    }

__attribute__((target("avx512f"))) static void grad_pairs(int P, int Q, int TX, int ty0, int ty1,
                                                          const float *dy, float *M, size_t xs)
{
#define OUT(pl, val) store_packed(M + (size_t)(pl) * xs + m, keep, n, val)
    GRAD_PAIRS(OUT)
#undef OUT
}

__attribute__((target("avx512f"))) void fer_wino512_grad(int P, int Q, int TX, int ty0, int ty1,
                                                         const float *dy, float *M, size_t xs)
{
#define OUT(pl, val) _mm512_mask_storeu_ps(M + (size_t)(pl) * xs + m, t, val)
    GRAD_WIDE(OUT, grad_pairs)
#undef OUT
}

/* ---- the weight gradient's transforms in bf16 (..._half) ---- */

#define HALF_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

/* v rounded to bf16, lanes m of it to p */
#define PUT_HALF(p, m, v) _mm256_mask_storeu_epi16(p, m, (__m256i)_mm512_cvtneps_pbh(v))

HALF_TARGET static void grad_pairs_half(int P, int Q, int TX, int ty0, int ty1, const float *dy,
                                        uint16_t *M, size_t xs)
{
#define OUT(pl, val) PUT_HALF(M + (size_t)(pl) * xs + m, n, _mm512_maskz_compress_ps(keep, val))
    GRAD_PAIRS(OUT)
#undef OUT
}

HALF_TARGET void fer_wino512_grad_half(int P, int Q, int TX, int ty0, int ty1, const float *dy,
                                       uint16_t *M, size_t xs)
{
#define OUT(pl, val) PUT_HALF(M + (size_t)(pl) * xs + m, t, val)
    GRAD_WIDE(OUT, grad_pairs_half)
#undef OUT
}

HALF_TARGET static void input_pairs_half(int H, int W, int pad, int TY, int TX, const float *x,
                                         size_t img_stride, int r0, int r1, uint16_t *V,
                                         size_t xs)
{
#define OUT(q, val) PUT_HALF(v + (size_t)(q) * xs, n, _mm512_maskz_compress_ps(keep, val))
    INPUT_PAIRS(uint16_t, OUT)
#undef OUT
}

HALF_TARGET void fer_wino512_input_half(int H, int W, int pad, int TY, int TX, const float *x,
                                        size_t img_stride, int r0, int r1, uint16_t *V, size_t xs)
{
#define OUT(q, val) PUT_HALF(v + (size_t)(q) * xs, sm[k], val)
    INPUT_WIDE(uint16_t, OUT, input_pairs_half)
#undef OUT
}

/* Column lanes l of a 16-wide store at column w0 + l that lie in [0, Q). */
static __mmask16 below(long w0, int Q) { return in_row(w0, Q); }

/* fer_wino512_output for rows of TX <= 8 tiles, two tile rows a step. */
__attribute__((target("avx512f"))) static void output_pairs(int P, int Q, int TY, int TX,
                                                            float *y, size_t img_stride,
                                                            float bias, int r0, int r1,
                                                            const float *M, size_t xs,
                                                            const fer_wino512_epi *ep)
{
    const __m512i lo = _mm512_loadu_si512(LO), hi = _mm512_loadu_si512(HI);
    const __m512 bv = _mm512_set1_ps(bias);
    const __mmask16 cm = below(0, Q), one = (1u << TX) - 1;
    for (int r = r0; r < r1; r += 2) {
        const int two = r + 1 < r1;
        const __mmask16 keep = (__mmask16)(one | (two ? one << 8 : 0));
        const __mmask16 n = (__mmask16)((1u << (two ? 2 * TX : TX)) - 1);
        const float *m = M + (size_t)(r - r0) * TX;
        __m512 s[4], d[4];
        for (int q = 0; q < 4; q++) {
            __m512 a = load_spread(m + (size_t)q * xs, keep, n);
            __m512 b = load_spread(m + (size_t)(4 + q) * xs, keep, n);
            __m512 c = load_spread(m + (size_t)(8 + q) * xs, keep, n);
            __m512 e = load_spread(m + (size_t)(12 + q) * xs, keep, n);
            s[q] = _mm512_add_ps(_mm512_add_ps(a, b), c);
            d[q] = _mm512_sub_ps(_mm512_sub_ps(b, c), e);
        }
        __m512 r0v = epi(_mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s[0], s[1]), s[2]), bv), ep);
        __m512 r1v = epi(_mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(s[1], s[2]), s[3]), bv), ep);
        __m512 r2v = epi(_mm512_add_ps(_mm512_add_ps(_mm512_add_ps(d[0], d[1]), d[2]), bv), ep);
        __m512 r3v = epi(_mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(d[1], d[2]), d[3]), bv), ep);
        /* the first tile row's outputs from lanes 0-7 (lo), the second's
         * from lanes 8-15 (hi) */
        for (int h = 0; h < 1 + two; h++) {
            const int rr = r + h, ty = rr % TY;
            const __m512i sel = h ? hi : lo;
            float *o = y + (size_t)(rr / TY) * img_stride + (size_t)(2 * ty) * Q;
            store_epi(o, cm, _mm512_permutex2var_ps(r0v, sel, r1v), y, ep);
            if (2 * ty + 1 < P)
                store_epi(o + Q, cm, _mm512_permutex2var_ps(r2v, sel, r3v), y, ep);
        }
    }
}

__attribute__((target("avx512f"))) void fer_wino512_output(int P, int Q, int TY, int TX, float *y,
                                                           size_t img_stride, float bias, int r0,
                                                           int r1, const float *M, size_t xs,
                                                           const fer_wino512_epi *ep)
{
    const int nch = (TX + 15) / 16;
    __mmask16 tm[MAX_CHUNKS], cm[MAX_CHUNKS][2];
    const __m512i lo = _mm512_loadu_si512(LO), hi = _mm512_loadu_si512(HI);
    const __m512 bv = _mm512_set1_ps(bias);
    if (TX <= 8) {
        output_pairs(P, Q, TY, TX, y, img_stride, bias, r0, r1, M, xs, ep);
        return;
    }
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
            __m512 r0v = epi(_mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s[0], s[1]), s[2]), bv), ep);
            __m512 r1v = epi(_mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(s[1], s[2]), s[3]), bv), ep);
            float *o = y0 + 32 * k;
            store_epi(o, cm[k][0], _mm512_permutex2var_ps(r0v, lo, r1v), y, ep);
            store_epi(o + 16, cm[k][1], _mm512_permutex2var_ps(r0v, hi, r1v), y, ep);
            if (two) {
                __m512 r2v =
                    epi(_mm512_add_ps(_mm512_add_ps(_mm512_add_ps(d[0], d[1]), d[2]), bv), ep);
                __m512 r3v =
                    epi(_mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(d[1], d[2]), d[3]), bv), ep);
                store_epi(o + Q, cm[k][0], _mm512_permutex2var_ps(r2v, lo, r3v), y, ep);
                store_epi(o + Q + 16, cm[k][1], _mm512_permutex2var_ps(r2v, hi, r3v), y, ep);
            }
        }
    }
}
#endif
