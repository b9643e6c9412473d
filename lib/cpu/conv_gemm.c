/* conv_gemm.c: convolution as GEMM with implicit im2col, forward and
 * backward.
 *
 * The column matrix col (C*R*S, N*P*Q) of im2col is never stored: the GEMM
 * asks generators (fer_gemm_op) for packed panels of it, which they fill
 * from the images directly. So:
 *   forward:      y (K, pixels) = w (K, CRS) x col (CRS, pixels)
 *   weight grad:  dw (K, CRS) = dy (K, pixels) x col^T (pixels, CRS),
 *                 one GEMM over the whole batch
 *   data grad:    stride 1: a forward convolution of dy with the weights
 *                 flipped and transposed, (C, K, R, S), padding R-1-pad;
 *                 otherwise dcol = w^T dy into a stored column block,
 *                 then col2im.
 * A pixel index runs over the images of a group, so small images still
 * give the GEMM long rows. 3x3 stride-1 shapes of one input channel go to
 * conv_direct.c (forward and weight gradient) instead. */
#include <stdint.h>
#include <string.h>

#include "clones.h"
#include "conv_direct.h"
#include "conv_gemm.h"
#include "cpu_has.h"
#include "conv_winograd.h"
#include "gemm.h"
#include "gemm_kernel.h"
#include "threads.h"

/* Output columns a forward GEMM should get at least, and the most output
 * floats a group may stage in the workspace. */
enum { WANT_COLS = 512 };

static size_t pq_of(const fer_conv_shape *s)
{
    return (size_t)s->P * s->Q;
}

static size_t crs_of(const fer_conv_shape *s)
{
    return (size_t)s->C * s->R * s->S;
}

/* Images per forward GEMM: enough for WANT_COLS columns, while the staged
 * output (K, g*PQ) stays under FER_CONV_COLS_TARGET floats. */
int fer_conv_clamp_group(size_t want, size_t cap, int N)
{
    size_t g = want < cap ? want : cap;
    if (g < 1)
        g = 1;
    return g > (size_t)N ? N : (int)g;
}

int fer_conv_gemm_group(const fer_conv_shape *s)
{
    size_t pq = pq_of(s);
    return fer_conv_clamp_group((WANT_COLS + pq - 1) / pq,
                                FER_CONV_COLS_TARGET / ((size_t)s->K * pq), s->N);
}

/* Images per block of the stored column gradient (strided data grad). */
static int col_group(const fer_conv_shape *s)
{
    size_t cap = FER_CONV_COLS_TARGET / (crs_of(s) * pq_of(s));
    return fer_conv_clamp_group(cap, cap, s->N);
}

static int flips_to_forward(const fer_conv_shape *s)
{
    return s->stride == 1 && s->R == s->S && s->pad <= s->R - 1;
}

/* The shape of the data gradient as a forward convolution of dy. */
static void flipped_shape(const fer_conv_shape *s, fer_conv_shape *t)
{
    *t = (fer_conv_shape){s->N, s->K, s->P, s->Q, s->C, s->R, s->S, 1, s->R - 1 - s->pad,
                          s->H, s->W};
}

static size_t forward_ws(const fer_conv_shape *s)
{
    int g = fer_conv_gemm_group(s);
    if (fer_conv_direct_ok(s))
        return fer_conv_direct_workspace(s);
    if (fer_conv_wino_ok(s))
        return fer_conv_wino_workspace(s);
    return g > 1 ? (size_t)s->K * g * pq_of(s) : 0;
}

size_t fer_conv_gemm_workspace(const fer_conv_shape *s)
{
    size_t f = forward_ws(s), b;   /* the direct weight gradient's is its forward's */
    if (flips_to_forward(s)) {
        fer_conv_shape t;
        flipped_shape(s, &t);
        b = (size_t)s->K * crs_of(s) + forward_ws(&t);
    } else {
        b = crs_of(s) * col_group(s) * pq_of(s);
    }
    return f > b ? f : b;
}

static int is_pointwise(const fer_conv_shape *s)
{
    return s->R == 1 && s->S == 1 && s->stride == 1 && s->pad == 0;
}

/* ---- generators ---- */

/* o[t] = xr[iw0 + t] where 0 <= iw0 + t < W, else 0, for t < len: one run
 * of a stride-1 column row, zero where it lies in the padding. */
static void copy_run(float *o, const float *xr, int iw0, int len, int W)
{
    int a = iw0 < 0 ? -iw0 : 0, e = iw0 + len > W ? iw0 + len - W : 0;
    if (a > len)
        a = len;
    if (e > len - a)
        e = len - a;
    memset(o, 0, (size_t)a * sizeof *o);
    memcpy(o + a, xr + iw0 + a, (size_t)(len - a - e) * sizeof *o);
    memset(o + len - e, 0, (size_t)e * sizeof *o);
}

/* o[t] = xr[iw0 + st t] where that lies in [0, W), else 0: one run of a
 * column row of stride st. */
static void copy_run_strided(float *o, const float *xr, int iw0, int len, int W, int st)
{
    for (int t = 0; t < len; t++) {
        int iw = iw0 + t * st;
        o[t] = iw >= 0 && iw < W ? xr[iw] : 0;
    }
}

/* The next row of a column matrix: kernel column sx, row r, channel c. */
static inline void next_tap(int *sx, int *r, int *c, int R, int S)
{
    if (++*sx == S) {
        *sx = 0;
        if (++*r == R) {
            *r = 0;
            ++*c;
        }
    }
}

/* The AVX-512 generators and col2im below: x86-64 with GCC or clang, and
 * not under AddressSanitizer (their masked loads may start before a row,
 * which it would report though the lanes are not read). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__)
#define CONV512 1
#else
#define CONV512 0
#endif

#if CONV512
#include <immintrin.h>

#include "bf16_pairs.h"

/* The same with 16-lane masked loads: lanes outside the row are neither
 * read nor kept. */
__attribute__((target("avx512f"))) static void copy_run512(float *o, const float *xr, int iw0,
                                                           int len, int W)
{
    for (int t = 0; t < len; t += 16) {
        int lo = -iw0 - t, hi = (len < W - iw0 ? len : W - iw0) - t, end = len - t;
        unsigned lo_c = lo < 0 ? 0 : lo > 16 ? 16 : lo, hi_c = hi < 0 ? 0 : hi > 16 ? 16 : hi;
        unsigned end_c = end > 16 ? 16 : end;
        __mmask16 in = (__mmask16)(((1u << hi_c) - 1) & ~((1u << lo_c) - 1));
        __mmask16 out = (__mmask16)((1u << end_c) - 1);
        const float *src = xr + ((long)iw0 + t);   /* may precede the row: lanes masked */
        _mm512_mask_storeu_ps(o + t, out, _mm512_maskz_loadu_ps(in, src));
    }
}

/* A stride-2 run, o[t] = xr[iw0 + 2 t] (0 outside the row): 32 floats
 * loaded with the row's lanes kept, their even lanes picked; the
 * downsampling convolutions (3x3 and 1x1 of stride 2) gather only these. */
__attribute__((target("avx512f"))) static void copy_run512_s2(float *o, const float *xr, int iw0,
                                                              int len, int W)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    for (int t = 0; t < len; t += 16) {
        long b = (long)iw0 + 2L * t;           /* the window is xr[b .. b + 32) */
        long lo = -b, hi = W - b;
        unsigned lo_c = lo < 0 ? 0 : lo > 32 ? 32 : (unsigned)lo;
        unsigned hi_c = hi < 0 ? 0 : hi > 32 ? 32 : (unsigned)hi;
        uint64_t in = ((1ull << hi_c) - 1) & ~((1ull << lo_c) - 1);
        unsigned end_c = len - t > 16 ? 16 : (unsigned)(len - t);
        __m512 v0 = _mm512_maskz_loadu_ps((__mmask16)in, xr + b);
        __m512 v1 = _mm512_maskz_loadu_ps((__mmask16)(in >> 16), xr + b + 16);
        _mm512_mask_storeu_ps(o + t, (__mmask16)((1u << end_c) - 1),
                              _mm512_permutex2var_ps(v0, even, v1));
    }
}

/* col_pack_b for stride 2 and kernels at most 4 wide (the downsampling
 * convolutions), in AVX-512: the panel's runs and, for each of the
 * kernel's columns sx, each run's 16-lane steps with their load and store
 * masks are worked out once, so that each of the kc rows is only the
 * loads, even-lane permutes and stores. 0 when the shape is not one it
 * takes (the caller's loop runs). */
enum { S2_STEPS = 64 * 4 };   /* steps per sx (n <= 64: runs x (<= 64 / 16 + 1)) */

/* A panel's steps, for each kernel column sx: its runs of output pixels
 * j0 .. j0+n, 16 a step, with their load and store masks. */
typedef struct s2_step {
    long src;              /* from the image's plane of channel 0, row ih0: b + img CHW */
    int p, out;            /* the run's output row, the step's first panel column */
    __mmask16 lo, hi, st;  /* load masks of xr[b .. b + 16), [b + 16 .. b + 32); store */
} s2_step;

/* The number of steps, or -1 when there would be more than S2_STEPS */
__attribute__((target("avx512f"))) static inline __attribute__((always_inline)) int
s2_steps(const fer_conv_shape *s, int j0, int n, s2_step steps[][S2_STEPS])
{
    const int H = s->H, W = s->W, Q = s->Q, pad = s->pad, S = s->S, PQ = s->P * Q;
    int nsteps = 0;
    for (int j = 0; j < n;) {
        int pix = j0 + j, pq = pix % PQ, q = pq % Q, img = pix / PQ;
        int len = Q - q < n - j ? Q - q : n - j;
        for (int t = 0; t < len; t += 16) {
            unsigned end = len - t > 16 ? 16 : (unsigned)(len - t);
            if (nsteps == S2_STEPS)
                return -1;   /* a long panel of short rows: the caller's loop */
            for (int z = 0; z < S; z++) {
                long b = 2L * (q + t) - pad + z;   /* the 32-float window's first column */
                long lo = -b, hi = W - b;
                unsigned lo_c = lo < 0 ? 0 : lo > 32 ? 32 : (unsigned)lo;
                unsigned hi_c = hi < 0 ? 0 : hi > 32 ? 32 : (unsigned)hi;
                uint64_t in = ((1ull << hi_c) - 1) & ~((1ull << lo_c) - 1);
                steps[z][nsteps] = (s2_step){(long)img * s->C * H * W + b, pq / Q, j + t,
                                             (__mmask16)in, (__mmask16)(in >> 16),
                                             (__mmask16)((1u << end) - 1)};
            }
            nsteps++;
        }
        j += len;
    }
    return nsteps;
}

/* Step u of tap row (c, r): the 16 pixels' values, zero outside the image */
__attribute__((target("avx512f"))) static inline __attribute__((always_inline)) __m512
s2_load(const fer_conv_shape *s, const float *x, int c, int r, const s2_step *u, __m512i even)
{
    const int H = s->H, W = s->W, ih = u->p * 2 - s->pad + r;
    if (ih < 0 || ih >= H)
        return _mm512_setzero_ps();
    const float *xr = x + (size_t)c * H * W + u->src + (long)ih * W;   /* may precede: masked */
    return _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(u->lo, xr), even,
                                  _mm512_maskz_loadu_ps(u->hi, xr + 16));
}

static const int S2_EVEN[16] = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};

__attribute__((target("avx512f"))) static int col_pack_b_s2(const fer_conv_shape *s,
                                                           const float *x, int k0, int kc,
                                                           int j0, int n, int nr, float *dst)
{
    const int R = s->R, S = s->S;
    const __m512i even = _mm512_loadu_si512(S2_EVEN);
    s2_step steps[4][S2_STEPS];
    int nsteps, c = k0 / (R * S), r = k0 / S % R, sx = k0 % S;
    if (S > 4 || s->stride != 2 || (nsteps = s2_steps(s, j0, n, steps)) < 0)
        return 0;
    for (int k = 0; k < kc; k++, dst += nr) {
        for (int i = 0; i < nsteps; i++) {
            const s2_step *u = &steps[sx][i];
            _mm512_mask_storeu_ps(dst + u->out, u->st, s2_load(s, x, c, r, u, even));
        }
        if (n < nr)
            memset(dst + n, 0, (size_t)(nr - n) * sizeof *dst);
        next_tap(&sx, &r, &c, R, S);
    }
    return 1;
}

/* The same as the bf16 kernel's pair panel (.paired): tap rows 2p and
 * 2p + 1 rounded together and interleaved into slot row p
 * (fer_bf16_pairs16), instead of float rows and the GEMM's fold after
 * them; the same rounding, so the same bits. */
FER_BF16_PAIRS_TARGET static int
col_pairs_b_s2(const fer_conv_shape *s, const float *x, int k0, int kc, int j0, int n, int nr,
               float *dst)
{
    const int R = s->R, S = s->S;
    const __m512i even = _mm512_loadu_si512(S2_EVEN);
    s2_step steps[4][S2_STEPS];
    int nsteps, c = k0 / (R * S), r = k0 / S % R, sx = k0 % S;
    if (S > 4 || s->stride != 2 || (nsteps = s2_steps(s, j0, n, steps)) < 0)
        return 0;
    for (int k = 0; k < kc; k += 2, dst += nr) {
        int c1 = c, r1 = r, sx1 = sx;
        next_tap(&sx1, &r1, &c1, R, S);
        for (int i = 0; i < nsteps; i++) {
            const __m512 a = s2_load(s, x, c, r, &steps[sx][i], even);
            const __m512 b = k + 1 < kc ? s2_load(s, x, c1, r1, &steps[sx1][i], even)
                                        : _mm512_setzero_ps();
            _mm512_mask_storeu_epi32(dst + steps[sx][i].out, steps[sx][i].st,
                                     fer_bf16_pairs16(a, b));
        }
        if (n < nr)
            memset(dst + n, 0, (size_t)(nr - n) * sizeof *dst);
        c = c1, r = r1, sx = sx1;
        next_tap(&sx, &r, &c, R, S);
    }
    return 1;
}

/* col2im_task for stride 2 and kernels at most 4 wide, one (image, channel)
 * plane dxc from the column rows at col (tap (c, r, sx) at col + ((c R + r)
 * S + sx) ld, row p Q floats on): each dx row written once, 32 columns a
 * step, instead of cleared and then added into tap by tap. Column 2m takes
 * the taps sx of the same parity as pad, at q = m + (pad - sx) / 2; column
 * 2m + 1 the others, at q = m + (pad + 1 - sx) / 2: two sums of 16 lanes,
 * interleaved as they are stored. Each sum starts from zero and takes its
 * taps in the order of the scalar loop (r, then sx), and the lanes past a
 * row add zeros, which change no sum that began at zero: the same bits. */
enum { C2I_CHUNKS = 64 };   /* col2im_s2: rows up to 2048 columns */

__attribute__((target("avx512f"))) static int col2im_s2(const fer_conv_shape *s,
                                                        const float *col, size_t ld, int c,
                                                        float *dxc)
{
    static const int LO[16] = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23};
    static const int HI[16] = {8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
    const int H = s->H, W = s->W, P = s->P, Q = s->Q, R = s->R, S = s->S, pad = s->pad;
    const int nk = (W + 31) / 32;
    const __m512i lo = _mm512_loadu_si512(LO), hi = _mm512_loadu_si512(HI);
    /* per parity of the columns fed (0 even, 1 odd): the taps sx in order,
     * their offsets from col's row start (sx ld + the q offset), and the
     * lanes of each step's load that lie in [0, Q) */
    int n[2] = {0, 0};
    long off[2][4];
    __mmask16 in[2][C2I_CHUNKS][4], st[C2I_CHUNKS][2];
    if (nk > C2I_CHUNKS)
        return 0;
    for (int sx = 0; sx < S; sx++) {
        const int par = (sx - pad) & 1, d = (pad + par - sx) / 2, t = n[par]++;
        off[par][t] = (long)sx * ld + d;
        for (int k = 0; k < nk; k++) {
            long q0 = 16L * k + d, a = -q0, b = Q - q0;
            unsigned a_c = a < 0 ? 0 : a > 16 ? 16 : (unsigned)a;
            unsigned b_c = b < 0 ? 0 : b > 16 ? 16 : (unsigned)b;
            in[par][k][t] = (__mmask16)(((1u << b_c) - 1) & ~((1u << a_c) - 1));
        }
    }
    for (int k = 0; k < nk; k++) {
        int left = W - 32 * k;
        st[k][0] = (__mmask16)(left >= 16 ? 0xffff : (1u << left) - 1);
        st[k][1] = (__mmask16)(left >= 32 ? 0xffff : left <= 16 ? 0 : (1u << (left - 16)) - 1);
    }
    for (int ih = 0; ih < H; ih++) {
        const float *rows[4];   /* the taps r that reach row ih: row p of tap (r, 0) */
        int nr = 0;
        for (int r = 0; r < R; r++) {
            int t = ih + pad - r;
            if (t >= 0 && !(t & 1) && t / 2 < P)
                rows[nr++] = col + (size_t)(c * R + r) * S * ld + (size_t)(t / 2) * Q;
        }
        float *o = dxc + (size_t)ih * W;
        for (int k = 0; k < nk; k++, o += 32) {
            __m512 ev = _mm512_setzero_ps(), od = _mm512_setzero_ps();
            for (int i = 0; i < nr; i++) {
                const float *src = rows[i] + 16 * k;   /* loads may precede it: masked */
                for (int t = 0; t < n[0]; t++)
                    ev = _mm512_add_ps(ev, _mm512_maskz_loadu_ps(in[0][k][t], src + off[0][t]));
                for (int t = 0; t < n[1]; t++)
                    od = _mm512_add_ps(od, _mm512_maskz_loadu_ps(in[1][k][t], src + off[1][t]));
            }
            _mm512_mask_storeu_ps(o, st[k][0], _mm512_permutex2var_ps(ev, lo, od));
            _mm512_mask_storeu_ps(o + 16, st[k][1], _mm512_permutex2var_ps(ev, hi, od));
        }
    }
    return 1;
}

#define COPY_RUN(o, xr, iw0, len, W) \
    (fer_cpu_has_avx512() ? copy_run512 : copy_run)(o, xr, iw0, len, W)
#define STRIDED_RUN(o, xr, iw0, len, W, st)                     \
    ((st) == 2 && fer_cpu_has_avx512() ? copy_run512_s2(o, xr, iw0, len, W) \
                                       : copy_run_strided(o, xr, iw0, len, W, st))
#else
#define COPY_RUN copy_run
#define STRIDED_RUN copy_run_strided
#endif

static int paired_on = 1;   /* fer_conv_gemm_set_paired */

void fer_conv_gemm_set_paired(int on) { paired_on = on; }

typedef struct src {
    const fer_conv_shape *s;
    const float *p;         /* x or dy of the first image of the range */
} src;

/* B = col (CRS, pixels): row k0+k, columns j0 .. j0+n, walked as runs along
 * output rows; each run of a stride-1 row is one copy with zero ends.
 * n <= COL_MAX (a GEMM's panel, or col_pairs_bt's rows). */
enum { COL_MAX = 256 };

static void col_pack_b(const void *ctx, int k0, int kc, int j0, int n, int nr, float *dst)
{
    const src *cs = ctx;
    const fer_conv_shape *s = cs->s;
#if CONV512
    if (s->stride == 2 && fer_cpu_has_avx512() && col_pack_b_s2(s, cs->p, k0, kc, j0, n, nr, dst))
        return;
#endif
    const int H = s->H, W = s->W, Q = s->Q, st = s->stride, pad = s->pad, R = s->R, S = s->S;
    const int PQ = s->P * Q;
    struct run { int img, p, q0, len, off; } runs[COL_MAX + 2];
    int nrun = 0, c = k0 / (R * S), r = k0 / S % R, sx = k0 % S;
    for (int j = 0; j < n;) {
        int pix = j0 + j, pq = pix % PQ, q = pq % Q;
        int len = Q - q < n - j ? Q - q : n - j;
        runs[nrun++] = (struct run){pix / PQ, pq / Q, q, len, j};
        j += len;
    }
    for (int k = 0; k < kc; k++, dst += nr) {
        for (int i = 0; i < nrun; i++) {
            const struct run *u = &runs[i];
            float *o = dst + u->off;
            int ih = u->p * st - pad + r, len = u->len;
            const float *xr;
            if (ih < 0 || ih >= H) {
                memset(o, 0, (size_t)len * sizeof *o);
                continue;
            }
            xr = cs->p + (((size_t)u->img * s->C + c) * H + ih) * W;
            if (st == 1)
                COPY_RUN(o, xr, u->q0 - pad + sx, len, W);
            else
                STRIDED_RUN(o, xr, u->q0 * st - pad + sx, len, W, st);
        }
        if (n < nr)
            memset(dst + n, 0, (size_t)(nr - n) * sizeof *dst);
        next_tap(&sx, &r, &c, R, S);
    }
}

/* col_pack_b as the bf16 kernel's pair panel (.paired), for stride 2:
 * made so directly where col_pack_b_s2 runs, else folded after it. */
static void col_pairs_b(const void *ctx, int k0, int kc, int j0, int n, int nr, float *dst)
{
#if CONV512
    const src *cs = ctx;
    if (fer_cpu_has_avx512() && col_pairs_b_s2(cs->s, cs->p, k0, kc, j0, n, nr, dst))
        return;
#endif
    col_pack_b(ctx, k0, kc, j0, n, nr, dst);
    fer_gemm_bf16_pairs(dst, kc, nr);
}

/* B = col^T (pixels, CRS): row k0+k is one output pixel, columns are the
 * (c, r, s) of j0 .. j0+n, gathered from the image by precomputed offsets. */
FER_CLONES static void colt_pack_b(const void *ctx, int k0, int kc, int j0, int n, int nr, float *dst)
{
    const src *cs = ctx;
    const fer_conv_shape *s = cs->s;
    const int H = s->H, W = s->W, Q = s->Q, st = s->stride, pad = s->pad, R = s->R, S = s->S;
    const int PQ = s->P * Q;
    const size_t chw = (size_t)s->C * H * W;
    int off[64], rr[64], ss[64];
    int img = k0 / PQ, p = k0 % PQ / Q, q = k0 % Q;
    for (int j = 0; j < n; j++) {
        int crs = j0 + j, c = crs / (R * S);
        rr[j] = crs / S % R;
        ss[j] = crs % S;
        off[j] = (c * H + rr[j]) * W + ss[j];   /* < C*H*W, an int (fer_conv_shape) */
    }
    for (int k = 0; k < kc; k++, dst += nr) {
        int ih0 = p * st - pad, iw0 = q * st - pad;
        const float *base = cs->p + img * chw;
        long at = (long)ih0 * W + iw0;
        if (ih0 >= 0 && ih0 + R <= H && iw0 >= 0 && iw0 + S <= W) {
            const float *restrict b = base + at;
            for (int j = 0; j < n; j++)
                dst[j] = b[off[j]];
        } else {
            for (int j = 0; j < n; j++) {
                int ih = ih0 + rr[j], iw = iw0 + ss[j];
                dst[j] = ih >= 0 && ih < H && iw >= 0 && iw < W ? base[at + off[j]] : 0;
            }
        }
        if (n < nr)
            memset(dst + n, 0, (size_t)(nr - n) * sizeof *dst);
        if (++q == Q) {
            q = 0;
            if (++p == s->P) {
                p = 0;
                img++;
            }
        }
    }
}

/* A = dy (K, pixels): rows i0 .. i0+m (output channels), columns k0 ..
 * k0+kc, as mr-row panels; each image's part of a row is contiguous. */
FER_CLONES static void dy_pack_a(const void *ctx, int i0, int m, int k0, int kc, int mr, float *dst)
{
    const src *cs = ctx;
    const fer_conv_shape *s = cs->s;
    const int K = s->K, PQ = s->P * s->Q;
    for (int p = 0; p < m; p += mr, dst += (size_t)kc * mr) {
        int rows = m - p < mr ? m - p : mr;
        for (int k = 0; k < kc;) {
            int pix = k0 + k, img = pix / PQ, pq = pix % PQ;
            int len = PQ - pq < kc - k ? PQ - pq : kc - k;
            for (int i = 0; i < mr; i++) {
                float *d = dst + (size_t)k * mr + i;
                if (i < rows) {
                    const float *sp = cs->p + ((size_t)img * K + i0 + p + i) * PQ + pq;
                    for (int t = 0; t < len; t++)
                        d[(size_t)t * mr] = sp[t];
                } else {
                    for (int t = 0; t < len; t++)
                        d[(size_t)t * mr] = 0;
                }
            }
            k += len;
        }
    }
}

/* The weight gradient's operands for the bf16 kernel, as pair panels
 * (.paired), in place of dy_pack_a's and colt_pack_b's element-by-element
 * transposes and the fold after them (a third of a strided convolution's
 * weight gradient): fer_gemm_bf16_pack_a32 / _bt32 pack fp32 rows, read
 * where they lie or gathered first, by vector copies, into a block on the
 * stack. The same operands rounded the same way: the same bits. The GEMM's
 * kc <= COL_MAX, mr <= 16, nr <= 64. */

/* dy's rows i0 .. i0+m (output channels) over the pixels k0 .. k0+kc */
static void dy_pairs_a(const void *ctx, int i0, int m, int k0, int kc, int mr, float *dst)
{
    const src *cs = ctx;
    const int K = cs->s->K, PQ = cs->s->P * cs->s->Q;
    _Alignas(64) float t[32 * COL_MAX];   /* rows_pairs' step, two panels */
    if (k0 / PQ == (k0 + kc - 1) / PQ) {   /* within one image: rows PQ apart */
        const float *d = cs->p + (size_t)(k0 / PQ) * K * PQ;
        fer_gemm_bf16_pack_a32(d, PQ, i0, m, k0 % PQ, kc, mr, dst);
        return;
    }
    for (int q = 0; q < m; q += 2 * mr) {
        const int rows = m - q < 2 * mr ? m - q : 2 * mr;
        for (int k = 0; k < kc;) {
            int pix = k0 + k, img = pix / PQ, pq = pix % PQ;
            int len = PQ - pq < kc - k ? PQ - pq : kc - k;
            for (int i = 0; i < rows; i++)
                memcpy(t + (size_t)i * kc + k, cs->p + ((size_t)img * K + i0 + q + i) * PQ + pq,
                       (size_t)len * sizeof *t);
            k += len;
        }
        fer_gemm_bf16_pack_a32(t, kc, 0, rows, 0, kc, mr, dst + (size_t)q * kc);
    }
}

/* col^T's panel (pixels k0 .. k0+kc, columns (c, r, s) j0 .. j0+n) from
 * col's rows j0 .. j0+n over those pixels (col_pack_b). (Gathering 64 or
 * 128 pixels at a time, to stay in L1, was no faster.) */
static void col_pairs_bt(const void *ctx, int k0, int kc, int j0, int n, int nr, float *dst)
{
    _Alignas(64) float t[64 * COL_MAX];
    col_pack_b(ctx, j0, n, k0, kc, kc, t);
    fer_gemm_bf16_pack_bt32(t, kc, 0, kc, 0, n, nr, dst);
}

/* B = dy (K, pixels): rows k0 .. k0+kc (output channels), columns j0 ..
 * j0+n. */
static void dy_pack_b(const void *ctx, int k0, int kc, int j0, int n, int nr, float *dst)
{
    const src *cs = ctx;
    const fer_conv_shape *s = cs->s;
    const int K = s->K, PQ = s->P * s->Q;
    for (int k = 0; k < kc; k++, dst += nr) {
        for (int j = 0; j < n;) {
            int pix = j0 + j, img = pix / PQ, pq = pix % PQ;
            int len = PQ - pq < n - j ? PQ - pq : n - j;
            memcpy(dst + j, cs->p + ((size_t)img * K + k0 + k) * PQ + pq,
                   (size_t)len * sizeof *dst);
            j += len;
        }
        if (n < nr)
            memset(dst + n, 0, (size_t)(nr - n) * sizeof *dst);
    }
}

/* ---- forward ---- */

/* A group's output planes from the GEMM's (K, g PQ) into y, plus the bias,
 * then the fused epilogue (conv_epilogue.h; part = the image) where there
 * is one: tasks of about OUT_TASK floats, element-wise, so the same bits
 * for any thread count. */
typedef struct out_job {
    const fer_conv_shape *s;
    const float *out, *b;
    float *y;
    size_t cols;
    int n0, g, per_task;
    const fer_conv_epi *epi;
} out_job;

enum { OUT_TASK = 8192 };

FER_CLONES static void out_task(void *ctx, int t, int thread)
{
    const out_job *j = ctx;
    const int K = j->s->K, end = (t + 1) * j->per_task < j->g * K ? (t + 1) * j->per_task
                                                                   : j->g * K;
    const size_t pq = pq_of(j->s);
    (void)thread;
    for (int plane = t * j->per_task; plane < end; plane++) {
        const int img = plane / K, k = plane % K;
        float *restrict dst = j->y + ((size_t)(j->n0 + img) * K + k) * pq;
        const float *sp = j->out + (size_t)k * j->cols + img * pq;
        const float bias = j->b ? j->b[k] : 0;
        if (dst != sp)
            for (size_t i = 0; i < pq; i++)
                dst[i] = sp[i] + bias;
        else if (j->b)
            for (size_t i = 0; i < pq; i++)
                dst[i] += bias;
        if (j->epi)
            fer_conv_epi_span(dst, (int)pq, j->epi, K, k, (size_t)(j->n0 + img));
    }
}

int fer_conv_epi_parts(const fer_conv_shape *s)
{
    return fer_conv_wino_ok(s) ? fer_conv_wino_blocks(s) : s->N;
}

/* The forward pass with weights w, or with their packed form (pack, not
 * NULL; fer_conv_pack's output) */
static void forward(const fer_conv_shape *s, const float *x, const float *w, const float *pack,
                    const float *b, float *y, float *ws, const fer_conv_epi *epi)
{
    const int K = s->K, g0 = fer_conv_gemm_group(s);
    const size_t pq = pq_of(s), crs = crs_of(s), chw = (size_t)s->C * s->H * s->W;
    fer_gemm_operand A = {.p = w, .ld = (long)crs};
    if (fer_conv_direct_ok(s)) {   /* its pack is w as it is */
        fer_conv_direct_forward(s, x, pack ? pack : w, b, y, ws, epi);
        return;
    }
    if (fer_conv_wino_ok(s)) {
        if (pack)
            fer_conv2d_forward_wino_packed(s, x, pack, b, y, ws, epi);
        else
            fer_conv2d_forward_wino(s, x, w, b, y, ws, epi);
        return;
    }
    if (pack)
        A = (fer_gemm_operand){.p = pack, .packed = 1};
    for (int n0 = 0; n0 < s->N; n0 += g0) {
        int g = s->N - n0 < g0 ? s->N - n0 : g0;
        size_t cols = (size_t)g * pq;
        src bs = {s, x + (size_t)n0 * chw};
        fer_gemm_operand B = {.pack = col_pack_b, .ctx = &bs};
        float *out = g == 1 ? y + (size_t)n0 * K * pq : ws;
        if (paired_on && s->stride == 2 && fer_gemm_bf16_native())
            B = (fer_gemm_operand){.pack = col_pairs_b, .ctx = &bs, .paired = 1};
        if (is_pointwise(s) && g == 1)
            B = (fer_gemm_operand){.p = bs.p, .ld = (long)cols};
        fer_gemm_op(K, (int)cols, (int)crs, 1.0f, &A, &B, 0.0f, out, (int)cols);
        if (out != y + (size_t)n0 * K * pq || b || epi) {
            out_job oj = {s, out, b, y, cols, n0, g, 0, epi};
            oj.per_task = pq >= OUT_TASK ? 1 : (int)(OUT_TASK / pq);
            fer_parallel_for((g * K + oj.per_task - 1) / oj.per_task, out_task, &oj);
        }
    }
}

void fer_conv2d_forward_gemm(const fer_conv_shape *s, const float *x, const float *w,
                             const float *b, float *y, float *ws, const fer_conv_epi *epi)
{
    forward(s, x, w, NULL, b, y, ws, epi);
}

int fer_conv_pack_kind(const fer_conv_shape *s)
{
    return fer_conv_direct_ok(s) ? 3 : fer_conv_wino_ok(s) ? 1 : 2;
}

size_t fer_conv_pack_floats(const fer_conv_shape *s)
{
    size_t a = ((size_t)s->K + 16) * crs_of(s);   /* gemm.h's bound for any kernel */
    size_t b = s->R == 3 && s->S == 3 && s->stride == 1 ? fer_conv_wino_pack_floats(s) : 0;
    return a > b ? a : b;
}

void fer_conv_pack(const fer_conv_shape *s, const float *w, float *pack)
{
    if (fer_conv_direct_ok(s))
        memcpy(pack, w, (size_t)s->K * crs_of(s) * sizeof *pack);
    else if (fer_conv_wino_ok(s))
        fer_conv_wino_pack(s, w, pack);
    else
        fer_gemm_pack_a(0, s->K, (int)crs_of(s), w, (int)crs_of(s), pack);
}

void fer_conv2d_forward_packed(const fer_conv_shape *s, const float *x, const float *pack,
                               const float *b, float *y, float *ws, const fer_conv_epi *epi)
{
    forward(s, x, NULL, pack, b, y, ws, epi);
}

/* ---- backward ---- */

typedef struct cols_job {
    const fer_conv_shape *s;
    const float *col;       /* (C*R*S, g*PQ) */
    float *dx;              /* the group's first image */
    int g;
} cols_job;

/* The transpose of im2col: adds the column gradients back into dx, one
 * (image, channel) plane per task, so no two tasks write the same place. */
static void col2im_task(void *ctx, int task, int thread)
{
    const cols_job *j = ctx;
    const fer_conv_shape *s = j->s;
    int img = task / s->C, c = task % s->C;
    const int H = s->H, W = s->W, P = s->P, Q = s->Q, st = s->stride, pad = s->pad;
    size_t pq = (size_t)P * Q, ld = (size_t)j->g * pq;
    float *dxc = j->dx + ((size_t)img * s->C + c) * H * W;
    (void)thread;
#if CONV512
    if (st == 2 && s->R <= 4 && s->S <= 4 && fer_cpu_has_avx512() &&
        col2im_s2(s, j->col + img * pq, ld, c, dxc))
        return;
#endif
    memset(dxc, 0, (size_t)H * W * sizeof(float));
    for (int r = 0; r < s->R; r++)
        for (int q = 0; q < s->S; q++) {
            const float *row = j->col + ((size_t)(c * s->R + r) * s->S + q) * ld + img * pq;
            for (int p = 0; p < P; p++) {
                int ih = p * st - pad + r;
                const float *o = row + (size_t)p * Q;
                if (ih < 0 || ih >= H)
                    continue;
                float *xr = dxc + (size_t)ih * W;
                for (int ow = 0; ow < Q; ow++) {
                    int iw = ow * st - pad + q;
                    if (iw >= 0 && iw < W)
                        xr[iw] += o[ow];
                }
            }
        }
}

/* dx through stored column blocks: dcol = w^T dy, then col2im. */
static void data_grad_cols(const fer_conv_shape *s, const float *w, const float *dy, float *dx,
                           float *ws)
{
    const int K = s->K, g0 = col_group(s);
    const size_t pq = pq_of(s), crs = crs_of(s), chw = (size_t)s->C * s->H * s->W;
    fer_gemm_operand A = {.p = w, .ld = (long)crs, .trans = 1};
    for (int n0 = 0; n0 < s->N; n0 += g0) {
        int g = s->N - n0 < g0 ? s->N - n0 : g0;
        size_t cols = (size_t)g * pq;
        src bs = {s, dy + (size_t)n0 * K * pq};
        fer_gemm_operand B = {.pack = dy_pack_b, .ctx = &bs};
        cols_job j = {s, ws, dx + (size_t)n0 * chw, g};
        if (is_pointwise(s) && g == 1) {
            fer_gemm_op((int)crs, (int)cols, K, 1.0f, &A, &B, 0.0f, j.dx, (int)cols);
            continue;
        }
        fer_gemm_op((int)crs, (int)cols, K, 1.0f, &A, &B, 0.0f, ws, (int)cols);
        fer_parallel_for(g * s->C, col2im_task, &j);
    }
}

/* wt[c][k][r][s] = w[k][c][R-1-r][S-1-s], one k per task */
typedef struct flip_job {
    const fer_conv_shape *s;
    const float *w, *dy;
    float *wt, *db;
} flip_job;

static void flip_task(void *ctx, int k, int thread)
{
    const flip_job *j = ctx;
    const int K = j->s->K, C = j->s->C, RS = j->s->R * j->s->S;
    (void)thread;
    for (int c = 0; c < C; c++) {
        const float *src = j->w + ((size_t)k * C + c) * RS;
        float *d = j->wt + ((size_t)c * K + k) * RS;
        for (int i = 0; i < RS; i++)
            d[i] = src[RS - 1 - i];
    }
}

/* dx as the forward convolution of dy with wt (C, K, R, S), wt[c][k][r][s] =
 * w[k][c][R-1-r][S-1-s], and padding R-1-pad. */
static void data_grad_flipped(const fer_conv_shape *s, const float *w, const float *dy,
                              float *dx, float *ws)
{
    const int K = s->K, C = s->C, RS = s->R * s->S;
    fer_conv_shape t;
    flipped_shape(s, &t);
    if (!fer_conv_direct_ok(&t) && fer_conv_wino_ok(&t)) {
        /* transformed straight from w, where fer_conv2d_forward_wino packs */
        float *pack = ws + 16 * (size_t)t.K * t.C;
        fer_conv_wino_pack_flipped(&t, w, pack);
        fer_conv2d_forward_wino_packed(&t, dy, pack, NULL, dx, ws, NULL);
        return;
    }
    flip_job j = {s, w, NULL, ws, NULL};
    fer_parallel_for(K, flip_task, &j);
    fer_conv2d_forward_gemm(&t, dy, ws, NULL, dx, ws + (size_t)K * C * RS, NULL);
}

/* db[k] = the sum of dy over images and pixels: float per image plane, in
 * 16 lanes (element i into lane i % 16, so that the compiler can keep them
 * in one vector: a single running sum waits out an add's latency per
 * element), then the lanes in order; double across planes */
enum { LANES = 16 };

FER_CLONES static void bias_task(void *ctx, int k, int thread)
{
    const flip_job *j = ctx;
    const int K = j->s->K;
    const size_t pq = pq_of(j->s), whole = pq / LANES * LANES;
    double acc = 0;
    (void)thread;
    for (int n = 0; n < j->s->N; n++) {
        const float *d = j->dy + ((size_t)n * K + k) * pq;
        float lane[LANES] = {0}, part = 0;
        for (size_t i = 0; i < whole; i += LANES)
            for (int l = 0; l < LANES; l++)
                lane[l] += d[i + l];
        for (size_t i = whole; i < pq; i++)
            lane[i - whole] += d[i];
        for (int l = 0; l < LANES; l++)
            part += lane[l];
        acc += part;
    }
    j->db[k] = (float)acc;
}

void fer_conv2d_backward_gemm(const fer_conv_shape *s, const float *x, const float *w,
                              const float *dy, float *dx, float *dw, float *db, float *ws)
{
    const int K = s->K;
    const size_t pq = pq_of(s), crs = crs_of(s);
    src as = {s, dy}, bs = {s, x};
    const int pairs = paired_on && fer_gemm_bf16_native();
    fer_gemm_operand A = {.pack = pairs ? dy_pairs_a : dy_pack_a, .ctx = &as, .paired = pairs};
    fer_gemm_operand B = {.pack = pairs ? col_pairs_bt : colt_pack_b, .ctx = &bs,
                          .paired = pairs};
    if (db && !fer_conv_direct_ok(s)) {   /* the direct path sums db with dw */
        flip_job j = {s, NULL, dy, NULL, db};
        fer_parallel_for(K, bias_task, &j);
    }
    /* dw (K, CRS) = dy (K, N*PQ) x col^T (N*PQ, CRS) */
    if (fer_conv_direct_ok(s))
        fer_conv_direct_wgrad(s, x, dy, dw, db, ws);
    else if (fer_conv_wino_ok(s))
        fer_conv2d_wgrad_wino(s, x, dy, dw, ws);
    else
        fer_gemm_op(K, (int)crs, (int)((size_t)s->N * pq), 1.0f, &A, &B, 0.0f, dw, (int)crs);
    if (!dx)
        return;
    if (flips_to_forward(s))
        data_grad_flipped(s, w, dy, dx, ws);
    else
        data_grad_cols(s, w, dy, dx, ws);
}
