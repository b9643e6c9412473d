/* conv_winograd.c: F(2x2, 3x3) Winograd convolution (conv_winograd.h).
 *
 * Tiles: TY x TX per image cover the P x Q outputs (the last row or column
 * of tiles may hang over an odd edge); a "tile row" r of a batch is image
 * r / TY, row r % TY. The transforms work on ranges of tile rows, with
 * each input row split into its even and odd columns, so that every loop
 * runs contiguously over tiles and vectorises. Layouts, for n tiles:
 *   U [16][K][C]   transformed weights: the forward packs them for the
 *                  GEMMs block by block as they are made (filter_task);
 *                  the weight gradient sums dU here (workspace)
 *   V [16][C][n]   transformed input tiles
 *   M [16][K][n]   their products, or the transformed output gradient
 * Forward (and so the data gradient): each task takes a block of about
 * BLOCK_TILES tiles through input transform, 16 GEMMs and output
 * transform in its own scratch (scratch.h), which stays in cache. The
 * weight gradient sums over all tiles: on up to two threads each thread
 * takes half the batch by chunks of tile rows in its scratch, summed into
 * its own dU (lane_task); otherwise by groups of images, with V and M in
 * the workspace and each GEMM over the group's tiles. Either way the sums
 * do not depend on the thread count. */
#include <pthread.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "clones.h"
#include "conv_epilogue.h"
#include "conv_gemm.h"
#include "conv_winograd.h"
#include "conv_winograd512.h"
#include "gemm.h"
#include "scratch.h"
#include "threads.h"

enum {
    /* floats between the 16 planes of a forward block's V and of its M: with
     * planes a multiple of 8 KB apart they fell into the same L2 sets
     * (resnet18 training ran 25% slower whenever the physical pages lined
     * up, and always with huge pages) */
    PAD = 48,
    WANT_TILES = 512,      /* weight gradient, shared: GEMM depth a group should reach */
    CHUNK_TILES = 192,     /* weight gradient, by lanes: tiles per chunk (chunk_rows) */
    BLOCK_TILES = 96,      /* forward: tiles per task (two 48-wide GEMM panels) */
    MIN_TILES = 64,        /* fewer in all (one small image): implicit GEMM is faster */
    MAX_TX = 512,          /* tiles per row the stack buffers hold */
    MAX_STAGED = 1 << 22   /* floats of V and M together per group */
};

static int tiles_y(const fer_conv_shape *s) { return (s->P + 1) / 2; }
static int tiles_x(const fer_conv_shape *s) { return (s->Q + 1) / 2; }

#if FER_WINO512
/* Whether the AVX-512 transforms (conv_winograd512.c) run for rows of TX
 * tiles: on CPUs with AVX-512F. */
static int use512(int TX) { return fer_wino512_available() && fer_wino512_fits(TX); }
#endif

static int group(const fer_conv_shape *s)
{
    size_t ti = (size_t)tiles_y(s) * tiles_x(s);
    return fer_conv_clamp_group((WANT_TILES + ti - 1) / ti,
                                MAX_STAGED / (16 * ti * ((size_t)s->C + s->K)), s->N);
}

int fer_conv_wino_ok(const fer_conv_shape *s)
{
    if (s->R != 3 || s->S != 3 || s->stride != 1 || tiles_x(s) + 1 > MAX_TX)
        return 0;
    return s->C >= 16 && s->K >= 16 &&
           (size_t)group(s) * tiles_y(s) * tiles_x(s) >= MIN_TILES;
}

/* Tile rows per forward block. */
static int block_rows(const fer_conv_shape *s)
{
    int TX = tiles_x(s);
    return TX >= BLOCK_TILES ? 1 : BLOCK_TILES / TX;
}

/* Floats of one packed U[xi], for any GEMM kernel (gemm.h's bound). */
static size_t packed_u(const fer_conv_shape *s)
{
    return ((size_t)s->K + 16) * s->C;
}

/* Floats of one forward block's V and M, its V as floats or as slots
 * (v_plane: panels of at most 64 slots, the last maybe part-filled). */
static size_t block_floats(const fer_conv_shape *s)
{
    size_t nb = (size_t)block_rows(s) * tiles_x(s), v = (size_t)s->C * nb;
    size_t slots = (nb + 63) / 64 * 64 * ((s->C + 1) / 2);
    return 16 * ((v > slots ? v : slots) + (size_t)s->K * nb + 2 * PAD);
}

/* dU (the weight gradient's; the forward leaves it unused), packed U,
 * then V and M of a weight-gradient group or of one forward block */
size_t fer_conv_wino_workspace(const fer_conv_shape *s)
{
    size_t T = (size_t)group(s) * tiles_y(s) * tiles_x(s);
    size_t staged = 16 * (((size_t)s->C + s->K) * T + 2 * PAD), blk = block_floats(s);
    return 16 * ((size_t)s->K * s->C + packed_u(s)) + (staged > blk ? staged : blk);
}


typedef struct wjob {
    const fer_conv_shape *s;
    const float *x, *w, *b;
    const float *dy;
    float *y, *U, *V, *M;
    float *Up;              /* forward: U[xi] packed for the GEMM, packed_u apart;
                               weight gradient: the second lane's dU, or NULL */
    int r0, r1;             /* forward, one block at a time: its tile rows;
                               a weight-gradient lane: its images */
    int g;                  /* weight gradient: images in this group */
    int failed;             /* a weight-gradient lane found no scratch */
    int flip;               /* filter transform: of the data gradient's flipped w */
    const fer_conv_epi *epi;   /* forward: training's fused epilogue, or NULL */
} wjob;

/* Channels per step of the weight gradient's inverse transform: the 9
 * taps of that many channels are laid out tap-major on the stack, so that
 * the loops run over channels and vectorise. */
enum { WCH = 128 };

/* Output channels and input channels per block of the weight transform:
 * FCH is fer_gemm_pack_a_block's widest block. */
enum { FROWS = 16, FCH = 32 };

/* u[xi][r][c] = (G g G^T)[xi] of channels c0 .. c0+n of output channel
 * k; G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]. g is w[k][c] (K x C
 * x 3 x 3), or with flip w[c][k] turned half a circle (w is C x K x 3 x
 * 3 then: the data gradient's weights, read where they lie). */
FER_CLONES static void filter_rows(const float *w, int K, int C, int flip, int k, int c0, int n,
                                   int r, float u[16][FROWS][FCH])
{
    float g[9][FCH], a[4][3][FCH];
    const float *wk = w + ((size_t)k * C + c0) * 9;
    if (flip)
        for (int c = 0; c < n; c++)
            for (int i = 0; i < 9; i++)
                g[i][c] = w[((size_t)(c0 + c) * K + k) * 9 + 8 - i];
    else
        for (int c = 0; c < n; c++)
            for (int i = 0; i < 9; i++)
                g[i][c] = wk[c * 9 + i];
    for (int q = 0; q < 3; q++)   /* G g: columns */
        for (int c = 0; c < n; c++) {
            a[0][q][c] = g[q][c];
            a[1][q][c] = 0.5f * (g[q][c] + g[3 + q][c] + g[6 + q][c]);
            a[2][q][c] = 0.5f * (g[q][c] - g[3 + q][c] + g[6 + q][c]);
            a[3][q][c] = g[6 + q][c];
        }
    for (int i = 0; i < 4; i++)   /* (G g) G^T: rows */
        for (int c = 0; c < n; c++) {
            u[4 * i][r][c] = a[i][0][c];
            u[4 * i + 1][r][c] = 0.5f * (a[i][0][c] + a[i][1][c] + a[i][2][c]);
            u[4 * i + 2][r][c] = 0.5f * (a[i][0][c] - a[i][1][c] + a[i][2][c]);
            u[4 * i + 3][r][c] = a[i][2][c];
        }
}

/* U = G g G^T for the output channels of band t (FROWS of them, or fewer
 * when the GEMM's panels are not a divisor), packed for the GEMM as it is
 * made: blocks of FCH input channels through the stack, so the 16 fp32
 * planes of U (16 K C floats, 16 MB at 512 channels) are never written
 * out and read back by a separate packing. */
static int filter_band(void)
{
    return FROWS / fer_gemm_pack_a_rows() * fer_gemm_pack_a_rows();
}

static void filter_task(void *ctx, int t, int thread)
{
    const wjob *j = ctx;
    const int K = j->s->K, C = j->s->C, band = filter_band(), k0 = t * band;
    const int m = K - k0 < band ? K - k0 : band;
    float u[16][FROWS][FCH];
    (void)thread;
    for (int c0 = 0; c0 < C; c0 += FCH) {
        int n = C - c0 < FCH ? C - c0 : FCH;
        for (int r = 0; r < m; r++)
            filter_rows(j->w, K, C, j->flip, k0 + r, c0, n, r, u);
        for (int xi = 0; xi < 16; xi++)
            fer_gemm_pack_a_block(C, k0, m, c0, n, u[xi][0], FCH,
                                  j->Up + (size_t)xi * packed_u(j->s));
    }
}

/* Tiles a transform handles per step: whole rows of tiles, at least one,
 * so that its loops run over many tiles at once whatever the width. */
enum { STEP_TILES = 512 };

static int rows_per_step(int TX)
{
    return TX >= STEP_TILES ? 1 : STEP_TILES / TX;
}

/* The even and odd columns of input row ih, from column -pad on: e[k] =
 * x(ih, 2k - pad), o[k] = x(ih, 2k + 1 - pad), k = 0 .. TX; zero outside
 * the image. */
/* Inlined into the vectorised callers (their instruction set), with
 * restrict on parameters, which gcc honours where it ignores it on locals. */
#define INLINE static inline __attribute__((always_inline))

INLINE void split_row(const float *xp, int H, int W, int pad, int ih, int TX, float *restrict e,
                      float *restrict o)
{
    if (ih < 0 || ih >= H) {
        memset(e, 0, (TX + 1) * sizeof *e);
        memset(o, 0, (TX + 1) * sizeof *o);
        return;
    }
    const float *restrict xr = xp + (size_t)ih * W;
    /* k in [lo, hi): both columns inside */
    int lo = (pad + 1) / 2, hi = (W + pad) / 2;
    if (hi > TX + 1)
        hi = TX + 1;
    if (lo > hi)
        lo = hi;
    int k = lo;
#ifdef __SSE2__
    for (; k + 4 <= hi; k += 4) {   /* four pairs: split by two shuffles */
        __m128 a = _mm_loadu_ps(xr + 2 * k - pad), b = _mm_loadu_ps(xr + 2 * k - pad + 4);
        _mm_storeu_ps(e + k, _mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)));
        _mm_storeu_ps(o + k, _mm_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
    }
#endif
    for (; k < hi; k++) {
        e[k] = xr[2 * k - pad];
        o[k] = xr[2 * k + 1 - pad];
    }
    for (int k = 0; k <= TX; k++) {   /* the edges */
        if (k == lo)
            k = hi;   /* past the interior */
        if (k > TX)
            break;
        int iw = 2 * k - pad;
        e[k] = iw >= 0 && iw < W ? xr[iw] : 0;
        o[k] = iw + 1 >= 0 && iw + 1 < W ? xr[iw + 1] : 0;
    }
}

/* The vertical half of the input transform (B^T d) over n columns. */
INLINE void vertical(int n, const float *restrict d0, const float *restrict d1,
                     const float *restrict d2, const float *restrict d3, float *restrict t0,
                     float *restrict t1, float *restrict t2, float *restrict t3)
{
    for (int k = 0; k < n; k++) {
        t0[k] = d0[k] - d2[k];
        t1[k] = d1[k] + d2[k];
        t2[k] = d2[k] - d1[k];
        t3[k] = d1[k] - d3[k];
    }
}

/* The horizontal half of the input transform over n tiles. */
INLINE void input_rows(int n, const float *restrict E, const float *restrict En,
                       const float *restrict O, const float *restrict On, float *restrict v0,
                       float *restrict v1, float *restrict v2, float *restrict v3)
{
    for (int t = 0; t < n; t++) {
        v0[t] = E[t] - En[t];
        v1[t] = O[t] + En[t];
        v2[t] = En[t] - O[t];
        v3[t] = O[t] - On[t];
    }
}

/* The vertical half of the output transform over n tiles: s = m0 + m1 +
 * m2, d = m1 - m2 - m3. */
INLINE void output_rows(int n, const float *restrict m0, const float *restrict m1,
                        const float *restrict m2, const float *restrict m3, float *restrict sq,
                        float *restrict dq)
{
    for (int t = 0; t < n; t++) {
        sq[t] = m0[t] + m1[t] + m2[t];
        dq[t] = m1[t] - m2[t] - m3[t];
    }
}

/* V = B^T d B for channel c of the tile rows [r0, r1) of x (the batch,
 * or a group, from its first image); V points at the first tile of the
 * range in plane (xi = 0, c), planes xs floats apart.
 * B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. Per step of tile rows:
 * the vertical transform (B^T d) of each row's even and odd columns,
 * laid out per tile as "this column pair" (ec, oc) and "the next" (en,
 * on), then the horizontal one over all the step's tiles in one loop. */
FER_CLONES static void transform_in_c(const fer_conv_shape *s, const float *x, int c, int r0,
                                      int r1, float *V, size_t xs)
{
    const int C = s->C, H = s->H, W = s->W, pad = s->pad, TY = tiles_y(s), TX = tiles_x(s);
    const int step = rows_per_step(TX);
    float e[4][MAX_TX], o[4][MAX_TX];
    static _Thread_local float ec[4][STEP_TILES + MAX_TX], en[4][STEP_TILES + MAX_TX],
        oc[4][STEP_TILES + MAX_TX], on[4][STEP_TILES + MAX_TX];
    for (int rs = r0; rs < r1; rs += step) {
        int rows = r1 - rs < step ? r1 - rs : step, n = rows * TX;
        for (int r = 0; r < rows; r++) {
            int img = (rs + r) / TY, ty = (rs + r) % TY;
            const float *xp = x + ((size_t)img * C + c) * H * W;
            for (int i = 0; i < 4; i++)
                split_row(xp, H, W, pad, 2 * ty - pad + i, TX, e[i], o[i]);
            int t = r * TX;
            vertical(TX, e[0], e[1], e[2], e[3], ec[0] + t, ec[1] + t, ec[2] + t, ec[3] + t);
            vertical(TX, e[0] + 1, e[1] + 1, e[2] + 1, e[3] + 1, en[0] + t, en[1] + t,
                     en[2] + t, en[3] + t);
            vertical(TX, o[0], o[1], o[2], o[3], oc[0] + t, oc[1] + t, oc[2] + t, oc[3] + t);
            vertical(TX, o[0] + 1, o[1] + 1, o[2] + 1, o[3] + 1, on[0] + t, on[1] + t,
                     on[2] + t, on[3] + t);
        }
        for (int i = 0; i < 4; i++) {
            float *v0 = V + (size_t)(4 * i) * xs + (size_t)(rs - r0) * TX;
            input_rows(n, ec[i], en[i], oc[i], on[i], v0, v0 + xs, v0 + 2 * xs, v0 + 3 * xs);
        }
    }
}

/* The same, in AVX-512 registers where the CPU has them. */
static void transform_in(const fer_conv_shape *s, const float *x, int c, int r0, int r1,
                         float *V, size_t xs)
{
#if FER_WINO512
    if (use512(tiles_x(s))) {
        fer_wino512_input(s->H, s->W, s->pad, tiles_y(s), tiles_x(s),
                          x + (size_t)c * s->H * s->W, (size_t)s->C * s->H * s->W, r0, r1, V, xs);
        return;
    }
#endif
    transform_in_c(s, x, c, r0, r1, V, xs);
}

/* The weight gradient's input transform: one (image, channel) plane of
 * the group into the workspace's V. */
static void input_task(void *ctx, int task, int thread)
{
    const wjob *j = ctx;
    const fer_conv_shape *s = j->s;
    const int C = s->C, TY = tiles_y(s), TX = tiles_x(s), img = task / C, c = task % C;
    const size_t T = (size_t)j->g * TY * TX;
    (void)thread;
    transform_in(s, j->x, c, img * TY, (img + 1) * TY, j->V + (size_t)c * T + (size_t)img * TY * TX,
                 (size_t)C * T);
}

/* y = A^T m A + bias for output channel k of the tile rows [r0, r1) of y
 * (the batch from its first image); M points at the range's first tile in
 * plane (xi = 0, k), planes xs floats apart. A^T = [1 1 1 0; 0 1 -1 -1].
 * Both halves of the transform run over all of a step's tiles at once. */
FER_CLONES static void transform_out_c(const fer_conv_shape *s, float *y, float bias, int k,
                                       int r0, int r1, const float *M, size_t xs)
{
    const int K = s->K, P = s->P, Q = s->Q, TY = tiles_y(s), TX = tiles_x(s);
    const int step = rows_per_step(TX);
    static _Thread_local float sv[4][STEP_TILES + MAX_TX], dv[4][STEP_TILES + MAX_TX],
        r[4][STEP_TILES + MAX_TX];
    for (int rs = r0; rs < r1; rs += step) {
        int rows = r1 - rs < step ? r1 - rs : step, n = rows * TX;
        const float *m = M + (size_t)(rs - r0) * TX;
        for (int q = 0; q < 4; q++) {   /* A^T m: rows */
            const float *m0 = m + (size_t)q * xs;
            output_rows(n, m0, m0 + 4 * xs, m0 + 8 * xs, m0 + 12 * xs, sv[q], dv[q]);
        }
        for (int t = 0; t < n; t++) {   /* (A^T m) A: columns */
            r[0][t] = sv[0][t] + sv[1][t] + sv[2][t] + bias;
            r[1][t] = sv[1][t] - sv[2][t] - sv[3][t] + bias;
            r[2][t] = dv[0][t] + dv[1][t] + dv[2][t] + bias;
            r[3][t] = dv[1][t] - dv[2][t] - dv[3][t] + bias;
        }
        for (int rr = 0; rr < rows; rr++) {
            int img = (rs + rr) / TY, ty = (rs + rr) % TY;
            float *yp = y + ((size_t)img * K + k) * P * Q;
            for (int h = 0; h < 2 && 2 * ty + h < P; h++) {
                float *restrict yr = yp + (size_t)(2 * ty + h) * Q;
                const float *restrict a = r[2 * h] + rr * TX, *restrict b = r[2 * h + 1] + rr * TX;
                for (int tx = 0; tx < Q / 2; tx++) {
                    yr[2 * tx] = a[tx];
                    yr[2 * tx + 1] = b[tx];
                }
                if (Q & 1)
                    yr[Q - 1] = a[Q / 2];
            }
        }
    }
}

/* The same, in AVX-512 registers where the CPU has them, where inference's
 * epilogue (epi without sums) is applied before each store too: then
 * returns 1, and 0 when the caller still has epi to apply. */
static int transform_out(const fer_conv_shape *s, float *y, float bias, int k, int r0, int r1,
                         const float *M, size_t xs, const fer_conv_epi *epi)
{
#if FER_WINO512
    if (use512(tiles_x(s))) {
        fer_wino512_epi e;
        const int fuse = epi && !epi->part;
        if (fuse)
            e = (fer_wino512_epi){epi->relu, epi->a != NULL, epi->relu2,
                                  epi->a ? epi->a[k] : 1.0f, epi->a ? epi->c[k] : 0.0f,
                                  epi->add ? epi->add + (size_t)k * s->P * s->Q : NULL};
        fer_wino512_output(s->P, s->Q, tiles_y(s), tiles_x(s), y + (size_t)k * s->P * s->Q,
                           (size_t)s->K * s->P * s->Q, bias, r0, r1, M, xs, fuse ? &e : NULL);
        return fuse;
    }
#endif
    (void)epi;
    transform_out_c(s, y, bias, k, r0, r1, M, xs);
    return 0;
}

/* Asks for the input rows that tile rows [r0, r1) of channel c read, a
 * channel ahead: the planes lie far apart, too far for the hardware's
 * stream prefetcher to guess. */
static void prefetch_rows(const fer_conv_shape *s, const float *x, int c, int r0, int r1)
{
    const int TY = tiles_y(s), H = s->H, W = s->W;
    for (int r = r0; r < r1; r++) {
        int img = r / TY, ty = r % TY;
        const float *xp = x + ((size_t)img * s->C + c) * H * W;
        for (int i = r > r0 && ty ? 2 : 0; i < 4; i++) {   /* rows 0-1: asked for with ty - 1 */
            int ih = 2 * ty - s->pad + i;
            if (ih < 0 || ih >= H)
                continue;
            for (int w = 0; w < W; w += 16)
                __builtin_prefetch(xp + (size_t)ih * W + w);
        }
    }
}

/* fer_conv_wino_set_slots: whether the transforms may store bf16 (the
 * forward's slots, the weight gradient's halves) */
static int bf16_stores = 1;

void fer_conv_wino_set_slots(int on) { bf16_stores = on; }

/* Whether the transforms of s store bf16 for the bf16 kernel, half the
 * bytes of fp32 planes: the forward's input as pair slots straight in the
 * GEMM's layout (gemm.h; no packing of B after them), the weight
 * gradient's V and M as bf16 rows. */
static int stores_bf16(const fer_conv_shape *s)
{
#if FER_WINO512
    return bf16_stores && use512(tiles_x(s)) && fer_gemm_bf16_native();
#else
    (void)s;
    return 0;
#endif
}

/* A forward block's V of n tiles in slots: (C + 1) / 2 slot rows of nr
 * (the GEMM's panel width) per panel, panels ld floats apart. */
static size_t slot_ld(const fer_conv_shape *s)
{
    return (size_t)(s->C + 1) / 2 * fer_gemm_panel_cols();
}

/* Floats (or slots) between the 16 planes of a forward block's V of n
 * tiles. */
static size_t v_plane(const fer_conv_shape *s, size_t n, int slots)
{
    if (slots) {
        size_t nr = fer_gemm_panel_cols();
        return (n + nr - 1) / nr * slot_ld(s) + PAD;
    }
    return (size_t)s->C * n + PAD;
}

/* V for channel c of tile rows [r0, r1), or for channels c and c + 1 as
 * slot row c / 2 when slots. */
static void block_in(const fer_conv_shape *s, const float *x, int c, int r0, int r1, float *V,
                     int slots)
{
    const size_t n = (size_t)(r1 - r0) * tiles_x(s), xs = v_plane(s, n, slots);
#if FER_WINO512
    if (slots) {
        const size_t hw = (size_t)s->H * s->W;
        const int nr = fer_gemm_panel_cols();
        fer_wino512_input_slots(s->H, s->W, s->pad, tiles_y(s), tiles_x(s), x + c * hw,
                                c + 1 < s->C ? x + (c + 1) * hw : NULL, s->C * hw, r0, r1,
                                V + (size_t)c / 2 * nr, xs, slot_ld(s), nr);
        return;
    }
#endif
    transform_in(s, x, c, r0, r1, V + (size_t)c * n, xs);
}

/* One forward block: tile rows [r0, r1) of the batch through the input
 * transform, the 16 GEMMs (run inline: this is a pool task) and the output
 * transform, with V and M in buf. */
static void block_gemms(const wjob *j, int n, const float *V, float *M, int slots)
{
    const fer_conv_shape *s = j->s;
    const int C = s->C, K = s->K;
    for (int xi = 0; xi < 16; xi++) {
        const float *v = V + (size_t)xi * v_plane(s, n, slots);
        fer_gemm_operand A = {.p = j->Up + (size_t)xi * packed_u(s), .packed = 1};
        fer_gemm_operand B = {.p = v, .ld = n};
        if (slots)
            B = (fer_gemm_operand){.p = v, .ld = (long)slot_ld(s), .panels = 1};
        fer_gemm_op(K, n, C, 1.0f, &A, &B, 0.0f, M + (size_t)xi * (K * n + PAD), n);
    }
}

/* The fused epilogue (conv_epilogue.h) over output channel k of tile rows
 * [r0, r1), just written: part r0 / block_rows, the forward block. A tile
 * row's two output rows are one span of the plane. */
FER_CLONES static void epi_rows(const wjob *j, int k, int r0, int r1)
{
    const fer_conv_shape *s = j->s;
    const int TY = tiles_y(s), P = s->P, Q = s->Q, K = s->K;
    for (int r = r0; r < r1; r++) {
        int img = r / TY, h0 = 2 * (r % TY), h1 = h0 + 2 < P ? h0 + 2 : P;
        fer_conv_epi_span(j->y + (((size_t)img * K + k) * P + h0) * Q, (h1 - h0) * Q, j->epi, K,
                          k, (size_t)(r0 / block_rows(s)));
    }
}

/* Output channel k of tile rows [r0, r1) from its products m (planes xs
 * apart), with the bias and the fused epilogue, in the output transform
 * where it takes it. */
static void out_channel(const wjob *j, int k, int r0, int r1, const float *m, size_t xs)
{
    if (!transform_out(j->s, j->y, j->b ? j->b[k] : 0, k, r0, r1, m, xs, j->epi) && j->epi)
        epi_rows(j, k, r0, r1);
}

static void block(const wjob *j, int r0, int r1, float *buf)
{
    const fer_conv_shape *s = j->s;
    const int C = s->C, K = s->K, n = (r1 - r0) * tiles_x(s), sl = stores_bf16(s), step = 1 + sl;
    float *V = buf, *M = buf + 16 * v_plane(s, n, sl);
    for (int c = 0; c < C; c += step) {
        for (int d = c + step; d < c + 2 * step && d < C; d++)
            prefetch_rows(s, j->x, d, r0, r1);
        block_in(s, j->x, c, r0, r1, V, sl);
    }
    block_gemms(j, n, V, M, sl);
    for (int k = 0; k < K; k++)
        out_channel(j, k, r0, r1, M + (size_t)k * n, (size_t)K * n + PAD);
}

/* Too few blocks to go round the threads (a small batch): one block at a
 * time, in the workspace, with its channels and GEMMs shared out. */
static void wide_in_task(void *ctx, int t, int thread)
{
    const wjob *j = ctx;
    const int sl = stores_bf16(j->s);
    (void)thread;
    block_in(j->s, j->x, sl ? 2 * t : t, j->r0, j->r1, j->V, sl);
}

static void wide_out_task(void *ctx, int k, int thread)
{
    const wjob *j = ctx;
    const size_t n = (size_t)(j->r1 - j->r0) * tiles_x(j->s);
    (void)thread;
    out_channel(j, k, j->r0, j->r1, j->M + k * n, (size_t)j->s->K * n + PAD);
}

static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;

/* Block t in this thread's scratch, which stays in cache; where that
 * cannot be had (out of memory), in the workspace's spare block, one task
 * at a time. */
static void block_task(void *ctx, int t, int thread)
{
    const wjob *j = ctx;
    const fer_conv_shape *s = j->s;
    const int rb = block_rows(s), rows = s->N * tiles_y(s);
    const int r0 = t * rb, r1 = r0 + rb < rows ? r0 + rb : rows;
    float *buf = fer_scratch(FER_SCRATCH_CONV, block_floats(s));
    (void)thread;
    if (buf) {
        block(j, r0, r1, buf);
        return;
    }
    pthread_mutex_lock(&spare_lock);
    block(j, r0, r1, j->V);
    pthread_mutex_unlock(&spare_lock);
}

/* The output gradient's tiles into the Winograd domain, dY' = A dy A^T
 * (4x4 from each 2x2 block, zero past an odd edge), stored as M is, for
 * the tile rows [ty0, ty1) of one (image, output channel) plane dyp; M
 * points at row ty0's first tile. A = [1 0; 1 1; 1 -1; 0 -1]. */
FER_CLONES static void grad_rows(const fer_conv_shape *s, const float *dyp, int ty0, int ty1,
                                 float *M, size_t xs)
{
    const int P = s->P, Q = s->Q, TX = tiles_x(s);
    float e[2][MAX_TX], o[2][MAX_TX], col[4][2][MAX_TX];
#if FER_WINO512
    if (use512(TX)) {
        fer_wino512_grad(P, Q, TX, ty0, ty1, dyp, M, xs);
        return;
    }
#endif
    for (int ty = ty0; ty < ty1; ty++) {
        float *m = M + (size_t)(ty - ty0) * TX;
        for (int h = 0; h < 2; h++)
            split_row(dyp, P, Q, 0, 2 * ty + h, TX, e[h], o[h]);
        for (int t = 0; t < TX; t++) {   /* A dy: rows [a b], [a+c b+d], [a-c b-d], [-c -d] */
            col[0][0][t] = e[0][t], col[0][1][t] = o[0][t];
            col[1][0][t] = e[0][t] + e[1][t], col[1][1][t] = o[0][t] + o[1][t];
            col[2][0][t] = e[0][t] - e[1][t], col[2][1][t] = o[0][t] - o[1][t];
            col[3][0][t] = -e[1][t], col[3][1][t] = -o[1][t];
        }
        for (int i = 0; i < 4; i++) {   /* (A dy) A^T: [p q] -> [p, p+q, p-q, -q] */
            const float *p = col[i][0], *q = col[i][1];
            float *m0 = m + (size_t)(4 * i) * xs;
            for (int t = 0; t < TX; t++) {
                m0[t] = p[t];
                m0[xs + t] = p[t] + q[t];
                m0[2 * xs + t] = p[t] - q[t];
                m0[3 * xs + t] = -q[t];
            }
        }
    }
}

/* grad_rows over the tile rows [r0, r1) of output channel k of the
 * batch dy (tile row r: image r / TY), which may span images; M is
 * float, or with half (AVX-512 only) uint16_t, bf16 values. */
static void transform_grad(const fer_conv_shape *s, const float *dy, int k, int r0, int r1,
                           void *M, size_t xs, int half)
{
    const int TY = tiles_y(s), TX = tiles_x(s);
    for (int r = r0; r < r1;) {
        int img = r / TY, ty0 = r % TY, ty1 = r1 - r < TY - ty0 ? ty0 + r1 - r : TY;
        const float *dyp = dy + ((size_t)img * s->K + k) * s->P * s->Q;
#if FER_WINO512
        if (half)
            fer_wino512_grad_half(s->P, s->Q, TX, ty0, ty1, dyp,
                                  (uint16_t *)M + (size_t)(r - r0) * TX, xs);
        else
#endif
            grad_rows(s, dyp, ty0, ty1, (float *)M + (size_t)(r - r0) * TX, xs);
        r += ty1 - ty0;
    }
    (void)half;
}

/* The shared weight gradient's transform of one (image, output channel)
 * plane of the group into the workspace's M. */
static void grad_task(void *ctx, int task, int thread)
{
    const wjob *j = ctx;
    const fer_conv_shape *s = j->s;
    const int K = s->K, TY = tiles_y(s), img = task / K, k = task % K;
    const size_t TI = (size_t)TY * tiles_x(s), T = j->g * TI;
    (void)thread;
    transform_grad(s, j->dy, k, img * TY, (img + 1) * TY, j->M + (size_t)k * T + img * TI,
                   (size_t)K * T, 0);
}

/* dw = G^T dU G for output channel k and every c (3x3 from each 4x4 of
 * dU), channel-major in steps of WCH as filter_task; dU is U, plus Up
 * where that is set (the second lane's sums). */
FER_CLONES static void wgrad_task(void *ctx, int k, int thread)
{
    const wjob *j = ctx;
    const int K = j->s->K, C = j->s->C;
    float a[3][4][WCH], g[9][WCH];
    (void)thread;
    for (int c0 = 0; c0 < C; c0 += WCH) {
        int n = C - c0 < WCH ? C - c0 : WCH;
        for (int q = 0; q < 4; q++) {   /* G^T dU: columns */
            const size_t at = ((size_t)q * K + k) * C + c0, x4 = 4 * (size_t)K * C;
            float u[4][WCH];
            for (int i = 0; i < 4; i++) {
                memcpy(u[i], j->U + at + i * x4, n * sizeof(float));
                if (j->Up)   /* the second lane's sums */
                    for (int c = 0; c < n; c++)
                        u[i][c] += j->Up[at + i * x4 + c];
            }
            for (int c = 0; c < n; c++) {
                a[0][q][c] = u[0][c] + 0.5f * (u[1][c] + u[2][c]);
                a[1][q][c] = 0.5f * (u[1][c] - u[2][c]);
                a[2][q][c] = 0.5f * (u[1][c] + u[2][c]) + u[3][c];
            }
        }
        for (int r = 0; r < 3; r++)   /* (G^T dU) G: rows */
            for (int c = 0; c < n; c++) {
                g[3 * r][c] = a[r][0][c] + 0.5f * (a[r][1][c] + a[r][2][c]);
                g[3 * r + 1][c] = 0.5f * (a[r][1][c] - a[r][2][c]);
                g[3 * r + 2][c] = 0.5f * (a[r][1][c] + a[r][2][c]) + a[r][3][c];
            }
        float *dw = j->y + ((size_t)k * C + c0) * 9;   /* dw, passed as y */
        for (int c = 0; c < n; c++)
            for (int i = 0; i < 9; i++)
                dw[c * 9 + i] = g[i][c];
    }
}

/* Tile rows per chunk of a weight-gradient lane of R tile rows: about
 * CHUNK_TILES tiles, spread evenly over the chunks. A chunk's V and M
 * (16 (C + K) floats a tile) stay near the core, while each chunk reads and
 * writes the lane's dU once (16 K C floats): by whole images (a group of
 * 512 tiles or more, 4.7 MB of V and M at 64 channels) resnet18's weight
 * gradients took 17% longer in training, 128 to 288 tiles measure about
 * the same. */
static int chunk_rows(const fer_conv_shape *s, int R)
{
    int rows = CHUNK_TILES / tiles_x(s);
    if (rows < 1)
        rows = 1;
    int n = (R + rows - 1) / rows;
    return (R + n - 1) / n;
}

/* One chunk of a weight-gradient lane: tile rows [ra, rb) transformed
 * into V and M at buf, then dU (j->U) += their products (set when
 * first). */
static void lane_chunk(const wjob *j, int ra, int rb, float *buf, int first)
{
    const fer_conv_shape *s = j->s;
    const int K = s->K, C = s->C;
    const size_t n = (size_t)(rb - ra) * tiles_x(s), vs = C * n + PAD, ms = K * n + PAD;
    float *V = buf, *M = buf + 16 * vs;
    for (int c = 0; c < C; c++) {
        if (c + 1 < C)
            prefetch_rows(s, j->x, c + 1, ra, rb);
        transform_in(s, j->x, c, ra, rb, V + c * n, vs);
    }
    for (int k = 0; k < K; k++)
        transform_grad(s, j->dy, k, ra, rb, M + k * n, ms, 0);
    for (int xi = 0; xi < 16; xi++)   /* nested: one task each, in this thread */
        fer_gemm(0, 1, K, C, (int)n, 1.0f, M + xi * ms, (int)n, V + xi * vs, (int)n,
                 first ? 0.0f : 1.0f, j->U + (size_t)xi * K * C, C);
}

#if FER_WINO512
/* With the bf16 kernel: V and M as bf16 values (uint16_t) in rows of an
 * even count (ld, a zero after an odd n: the GEMM reads tiles in pairs),
 * from which the GEMM's pair panels are made without rounding again. */
typedef struct half_rows {
    const uint16_t *p;
    long ld;
} half_rows;

static void half_pack_a(const void *ctx, int i0, int m, int k0, int kc, int mr, float *dst)
{
    const half_rows *h = ctx;
    fer_gemm_bf16_pack_a16(h->p, h->ld, i0, m, k0, kc, mr, dst);
}

static void half_pack_bt(const void *ctx, int k0, int kc, int j0, int n, int nr, float *dst)
{
    const half_rows *h = ctx;
    fer_gemm_bf16_pack_bt16(h->p, h->ld, k0, kc, j0, n, nr, dst);
}

static void lane_chunk_half(const wjob *j, int ra, int rb, float *buf, int first)
{
    const fer_conv_shape *s = j->s;
    const int K = s->K, C = s->C, TX = tiles_x(s);
    const size_t n = (size_t)(rb - ra) * TX, ld = (n + 1) / 2 * 2, hw = (size_t)s->H * s->W;
    const size_t vs = C * ld + 2 * PAD, ms = K * ld + 2 * PAD;
    uint16_t *V = (uint16_t *)(void *)buf, *M = V + 16 * vs;
    for (int c = 0; c < C; c++) {
        if (c + 1 < C)
            prefetch_rows(s, j->x, c + 1, ra, rb);
        fer_wino512_input_half(s->H, s->W, s->pad, tiles_y(s), TX, j->x + c * hw, C * hw, ra,
                               rb, V + c * ld, vs);
    }
    for (int k = 0; k < K; k++)
        transform_grad(s, j->dy, k, ra, rb, M + k * ld, ms, 1);
    if (n < ld)   /* the odd tile's partner */
        for (int xi = 0; xi < 16; xi++) {
            for (int c = 0; c < C; c++)
                V[xi * vs + c * ld + n] = 0;
            for (int k = 0; k < K; k++)
                M[xi * ms + k * ld + n] = 0;
        }
    for (int xi = 0; xi < 16; xi++) {   /* nested: one task each, in this thread */
        half_rows a = {M + xi * ms, (long)ld}, b = {V + xi * vs, (long)ld};
        fer_gemm_operand A = {.pack = half_pack_a, .ctx = &a, .paired = 1};
        fer_gemm_operand B = {.pack = half_pack_bt, .ctx = &b, .paired = 1};
        fer_gemm_op(K, C, (int)n, 1.0f, &A, &B, first ? 0.0f : 1.0f, j->U + (size_t)xi * K * C,
                    C);
    }
}
#endif

#if FER_WINO512
/* The weight gradient by planes (wgrad_planes): the transforms of the
 * whole batch into bf16 rows, one task per channel of x or of dy */
typedef struct planes_job {
    const wjob *j;
    uint16_t *V, *M;
    size_t ld, vs, ms;
} planes_job;

static void planes_in_task(void *ctx, int t, int thread)
{
    const planes_job *p = ctx;
    const fer_conv_shape *s = p->j->s;
    const int C = s->C, R = s->N * tiles_y(s), TX = tiles_x(s);
    const size_t T = (size_t)R * TX, hw = (size_t)s->H * s->W;
    (void)thread;
    if (t < C) {
        fer_wino512_input_half(s->H, s->W, s->pad, tiles_y(s), TX, p->j->x + t * hw, C * hw, 0, R,
                               p->V + t * p->ld, p->vs);
        if (T < p->ld)   /* the odd tile's partner */
            for (int xi = 0; xi < 16; xi++)
                p->V[xi * p->vs + t * p->ld + T] = 0;
    } else {
        transform_grad(s, p->j->dy, t - C, 0, R, p->M + (t - C) * p->ld, p->ms, 1);
        if (T < p->ld)
            for (int xi = 0; xi < 16; xi++)
                p->M[xi * p->ms + (t - C) * p->ld + T] = 0;
    }
}

/* dU[xi] = M[xi] V[xi]^T over every tile, one plane a task */
static void planes_gemm_task(void *ctx, int xi, int thread)
{
    const planes_job *p = ctx;
    const fer_conv_shape *s = p->j->s;
    const int K = s->K, C = s->C;
    const size_t T = (size_t)s->N * tiles_y(s) * tiles_x(s);
    half_rows a = {p->M + xi * p->ms, (long)p->ld}, b = {p->V + xi * p->vs, (long)p->ld};
    fer_gemm_operand A = {.pack = half_pack_a, .ctx = &a, .paired = 1};
    fer_gemm_operand B = {.pack = half_pack_bt, .ctx = &b, .paired = 1};
    (void)thread;
    fer_gemm_op(K, C, (int)T, 1.0f, &A, &B, 0.0f, p->j->U + (size_t)xi * K * C, C);
}

/* With the bf16 kernel, where dU (16 K C floats) outweighs the whole
 * batch's V and M in bf16 (16 (C + K) T halves: the late layers at small
 * batches, resnet18's layer4 at 32) and they fit the workspace: both
 * transformed once, then the 16 planes' products shared out, so dU is
 * written once and read once, where two lanes write one each and the
 * inverse transform reads both (memory-bound: a fifth of layer4's weight
 * gradient). 0 when it does not apply. */
static int wgrad_planes(const wjob *j, float *dw)
{
    const fer_conv_shape *s = j->s;
    const size_t K = s->K, C = s->C, T = (size_t)s->N * tiles_y(s) * tiles_x(s);
    const size_t ld = (T + 1) / 2 * 2, vs = C * ld + 2 * PAD, ms = K * ld + 2 * PAD;
    const size_t room = fer_conv_wino_workspace(s) - 16 * K * C;
    planes_job p = {j, NULL, NULL, ld, vs, ms};
    wjob w = *j;
    if (!stores_bf16(s) ||
        2 * K * C <= T * (K + C) || 8 * (vs + ms) > room)
        return 0;
    p.V = (uint16_t *)(void *)(j->U + 16 * K * C);
    p.M = p.V + 16 * vs;
    fer_parallel_for((int)(C + K), planes_in_task, &p);
    fer_parallel_for(16, planes_gemm_task, &p);
    w.Up = NULL;
    w.y = dw;
    fer_parallel_for((int)K, wgrad_task, &w);
    return 1;
}
#endif

/* One lane of the two-lane weight gradient: the images [r0, r1) of the
 * batch by chunks of tile rows (chunk_rows), transformed and multiplied
 * by the thread that runs the lane, with V and M in its scratch, summed
 * into the lane's own dU (j->U). */
static void lane_task(void *ctx, int lane, int thread)
{
    wjob *j = (wjob *)ctx + lane;
    const fer_conv_shape *s = j->s;
    const int K = s->K, C = s->C, TY = tiles_y(s), TX = tiles_x(s);
    const int R0 = j->r0 * TY, R1 = j->r1 * TY, rows = chunk_rows(s, R1 - R0);
    float *buf = fer_scratch(FER_SCRATCH_CONV, 16 * (((size_t)C + K) * rows * TX + 2 * PAD));
    (void)thread;
    if (!buf) {
        j->failed = 1;
        return;
    }
    for (int ra = R0; ra < R1; ra += rows) {
        const int rb = R1 - ra < rows ? R1 : ra + rows;
#if FER_WINO512
        if (stores_bf16(s)) {
            lane_chunk_half(j, ra, rb, buf, ra == R0);
            continue;
        }
#endif
        lane_chunk(j, ra, rb, buf, ra == R0);
    }
}

/* The weight gradient by groups of images, in one of two ways:
 *   - two lanes (up to two threads, and a batch of two groups or more):
 *     each lane takes half the images, by chunks of tile rows (lane_task),
 *     and the lanes' sums are added at the end. Each core then transforms and
 *     multiplies only the images it handled in the forward pass
 *     (threads.h), where shared groups had every image's channels split
 *     between the cores and each GEMM read both halves. The same on one
 *     thread and two, bit for bit.
 *   - shared groups otherwise: one group at a time, its transforms and
 *     GEMMs over all threads. */
void fer_conv2d_wgrad_wino(const fer_conv_shape *s, const float *x, const float *dy, float *dw,
                           float *ws)
{
    const int K = s->K, C = s->C, g0 = group(s), ngroups = (s->N + g0 - 1) / g0;
    const size_t TI = (size_t)tiles_y(s) * tiles_x(s), T0 = g0 * TI;
    const size_t chw = (size_t)C * s->H * s->W, kpq = (size_t)K * s->P * s->Q;
    wjob j = {.s = s, .x = x, .U = ws, .V = ws + 16 * (size_t)K * C};
#if FER_WINO512
    j.dy = dy;
    if (ngroups >= 2 && fer_threads_get() <= 2 && wgrad_planes(&j, dw))
        return;
#endif
    if (ngroups >= 2 && fer_threads_get() <= 2) {
        wjob lanes[2];
        const int half = (s->N + 1) / 2;
        j.dy = dy;
        lanes[0] = lanes[1] = j;
        lanes[0].r0 = 0, lanes[0].r1 = half;
        lanes[1].r0 = half, lanes[1].r1 = s->N;
        lanes[1].U = ws + 16 * (size_t)K * C;   /* the forward's packed-U space */
        fer_parallel_for(2, lane_task, lanes);
        if (lanes[0].failed || lanes[1].failed)
            goto shared;
        j.Up = lanes[1].U;   /* wgrad_task adds the second lane's sums */
        j.y = dw;
        fer_parallel_for(K, wgrad_task, &j);
        return;
    }
shared:
    j.Up = NULL;
    j.M = j.V + 16 * (size_t)C * T0;
    for (int n0 = 0; n0 < s->N; n0 += g0) {
        int g = s->N - n0 < g0 ? s->N - n0 : g0;
        size_t T = g * TI;
        j.g = g;
        j.x = x + (size_t)n0 * chw;
        j.dy = dy + (size_t)n0 * kpq;
        fer_parallel_for(g * C, input_task, &j);
        fer_parallel_for(g * K, grad_task, &j);
        /* dU[xi] (K, C) += dY'[xi] (K, T) x V[xi]^T (T, C) */
        for (int xi = 0; xi < 16; xi++)
            fer_gemm(0, 1, K, C, (int)T, 1.0f, j.M + (size_t)xi * K * T, (int)T,
                     j.V + (size_t)xi * C * T, (int)T, n0 ? 1.0f : 0.0f,
                     j.U + (size_t)xi * K * C, C);
    }
    j.y = dw;
    fer_parallel_for(K, wgrad_task, &j);
}

int fer_conv_wino_adds(const fer_conv_shape *s)
{
#if FER_WINO512
    return use512(tiles_x(s));
#else
    (void)s;
    return 0;
#endif
}

int fer_conv_wino_blocks(const fer_conv_shape *s)
{
    const int rb = block_rows(s);
    return (s->N * tiles_y(s) + rb - 1) / rb;
}

size_t fer_conv_wino_pack_floats(const fer_conv_shape *s)
{
    return 16 * packed_u(s);
}

void fer_conv_wino_pack(const fer_conv_shape *s, const float *w, float *pack)
{
    wjob j = {.s = s, .w = w, .Up = pack};
    fer_parallel_for((s->K + filter_band() - 1) / filter_band(), filter_task, &j);
}

void fer_conv_wino_pack_flipped(const fer_conv_shape *s, const float *w, float *pack)
{
    wjob j = {.s = s, .w = w, .Up = pack, .flip = 1};
    fer_parallel_for((s->K + filter_band() - 1) / filter_band(), filter_task, &j);
}

void fer_conv2d_forward_wino(const fer_conv_shape *s, const float *x, const float *w,
                             const float *b, float *y, float *ws, const fer_conv_epi *epi)
{
    float *Up = ws + 16 * (size_t)s->K * s->C;
    fer_conv_wino_pack(s, w, Up);
    fer_conv2d_forward_wino_packed(s, x, Up, b, y, ws, epi);
}

void fer_conv2d_forward_wino_packed(const fer_conv_shape *s, const float *x, const float *pack,
                                    const float *b, float *y, float *ws,
                                    const fer_conv_epi *epi)
{
    const int rb = block_rows(s), rows = s->N * tiles_y(s), nblocks = fer_conv_wino_blocks(s);
    wjob j = {.s = s, .x = x, .b = b, .y = y, .epi = epi};
    j.Up = (float *)pack;   /* only read here */
    /* the spare block, where the unpacked pass has it */
    j.V = ws + 16 * ((size_t)s->K * s->C + packed_u(s));
    if (nblocks >= 2 * fer_threads_get() || fer_threads_get() == 1 || fer_threads_in_task()) {
        fer_parallel_for(nblocks, block_task, &j);
        return;
    }
    const int sl = stores_bf16(s);
    for (int t = 0; t < nblocks; t++) {
        int n;
        j.r0 = t * rb;
        j.r1 = j.r0 + rb < rows ? j.r0 + rb : rows;
        n = (j.r1 - j.r0) * tiles_x(s);
        j.M = j.V + 16 * v_plane(s, n, sl);
        fer_parallel_for(sl ? (s->C + 1) / 2 : s->C, wide_in_task, &j);
        block_gemms(&j, n, j.V, j.M, sl);
        fer_parallel_for(s->K, wide_out_task, &j);
    }
}
