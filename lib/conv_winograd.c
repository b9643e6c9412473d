/* conv_winograd.c: F(2x2, 3x3) Winograd convolution (conv_winograd.h).
 *
 * Images go in groups of g; tile t of a group is (image, ty, tx) in that
 * order, TY x TX tiles per image covering the P x Q outputs (the last row
 * or column of tiles may hang over an odd edge). Workspace:
 *   U [16][K][C]   transformed weights
 *   V [16][C][T]   transformed input tiles, T = g * TY * TX
 *   M [16][K][T]   their products
 * The transforms work on whole rows of tiles, with the input row split
 * into its even and odd columns, so that every loop runs contiguously over
 * tx and vectorises. */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "clones.h"
#include "conv_winograd.h"
#include "gemm.h"
#include "threads.h"

enum {
    WANT_TILES = 512,      /* GEMM columns a group should reach */
    MIN_TILES = 96,        /* fewer: implicit GEMM is faster */
    MAX_TX = 512,          /* tiles per row the stack buffers hold */
    MAX_STAGED = 1 << 22   /* floats of V and M together per group */
};

static int tiles_y(const fer_conv_shape *s) { return (s->P + 1) / 2; }
static int tiles_x(const fer_conv_shape *s) { return (s->Q + 1) / 2; }

static int group(const fer_conv_shape *s)
{
    size_t ti = (size_t)tiles_y(s) * tiles_x(s), g = (WANT_TILES + ti - 1) / ti;
    size_t cap = MAX_STAGED / (16 * ti * ((size_t)s->C + s->K));
    if (g > cap)
        g = cap;
    if (g < 1)
        g = 1;
    if (g > (size_t)s->N)
        g = s->N;
    return (int)g;
}

int fer_conv_wino_ok(const fer_conv_shape *s)
{
    if (s->R != 3 || s->S != 3 || s->stride != 1 || tiles_x(s) + 1 > MAX_TX)
        return 0;
    return s->C >= 16 && s->K >= 16 &&
           (size_t)group(s) * tiles_y(s) * tiles_x(s) >= MIN_TILES;
}

size_t fer_conv_wino_workspace(const fer_conv_shape *s)
{
    size_t T = (size_t)group(s) * tiles_y(s) * tiles_x(s);
    return 16 * ((size_t)s->K * s->C + (size_t)s->C * T + (size_t)s->K * T);
}

typedef struct wjob {
    const fer_conv_shape *s;
    const float *x, *w, *b;
    float *y, *U, *V, *M;
    int g;                  /* images in this group */
} wjob;

/* U = G g G^T for one (k, c); G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]. */
static void filter_task(void *ctx, int t, int thread)
{
    const wjob *j = ctx;
    const int K = j->s->K, C = j->s->C;
    (void)thread;
    for (int c = 0; c < C; c++) {
        const float *g = j->w + ((size_t)t * C + c) * 9;
        float a[4][3], u[4][4];
        for (int q = 0; q < 3; q++) {   /* G g: columns */
            a[0][q] = g[q];
            a[1][q] = 0.5f * (g[q] + g[3 + q] + g[6 + q]);
            a[2][q] = 0.5f * (g[q] - g[3 + q] + g[6 + q]);
            a[3][q] = g[6 + q];
        }
        for (int i = 0; i < 4; i++) {   /* (G g) G^T: rows */
            u[i][0] = a[i][0];
            u[i][1] = 0.5f * (a[i][0] + a[i][1] + a[i][2]);
            u[i][2] = 0.5f * (a[i][0] - a[i][1] + a[i][2]);
            u[i][3] = a[i][2];
        }
        for (int xi = 0; xi < 16; xi++)
            j->U[((size_t)xi * K + t) * C + c] = u[xi / 4][xi % 4];
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

/* V = B^T d B for every tile of one (image, channel) plane;
 * B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]. Per step of tile rows:
 * the vertical transform (B^T d) of each row's even and odd columns,
 * laid out per tile as "this column pair" (ec, oc) and "the next" (en,
 * on), then the horizontal one over all the step's tiles in one loop. */
FER_CLONES static void input_task(void *ctx, int task, int thread)
{
    const wjob *j = ctx;
    const fer_conv_shape *s = j->s;
    const int C = s->C, H = s->H, W = s->W, pad = s->pad, TY = tiles_y(s), TX = tiles_x(s);
    const int img = task / C, c = task % C, step = rows_per_step(TX);
    const size_t T = (size_t)j->g * TY * TX, xs = (size_t)C * T;
    const float *xp = j->x + ((size_t)img * C + c) * H * W;
    float e[4][MAX_TX], o[4][MAX_TX];
    static _Thread_local float ec[4][STEP_TILES + MAX_TX], en[4][STEP_TILES + MAX_TX],
        oc[4][STEP_TILES + MAX_TX], on[4][STEP_TILES + MAX_TX];
    (void)thread;
    for (int ty0 = 0; ty0 < TY; ty0 += step) {
        int rows = TY - ty0 < step ? TY - ty0 : step, n = rows * TX;
        for (int r = 0; r < rows; r++) {
            int ty = ty0 + r;
            for (int i = 0; i < 4; i++)
                split_row(xp, H, W, pad, 2 * ty - pad + i, TX, e[i], o[i]);
            for (int k = 0; k < TX; k++) {
                int t = r * TX + k;
                ec[0][t] = e[0][k] - e[2][k], en[0][t] = e[0][k + 1] - e[2][k + 1];
                ec[1][t] = e[1][k] + e[2][k], en[1][t] = e[1][k + 1] + e[2][k + 1];
                ec[2][t] = e[2][k] - e[1][k], en[2][t] = e[2][k + 1] - e[1][k + 1];
                ec[3][t] = e[1][k] - e[3][k], en[3][t] = e[1][k + 1] - e[3][k + 1];
                oc[0][t] = o[0][k] - o[2][k], on[0][t] = o[0][k + 1] - o[2][k + 1];
                oc[1][t] = o[1][k] + o[2][k], on[1][t] = o[1][k + 1] + o[2][k + 1];
                oc[2][t] = o[2][k] - o[1][k], on[2][t] = o[2][k + 1] - o[1][k + 1];
                oc[3][t] = o[1][k] - o[3][k], on[3][t] = o[1][k + 1] - o[3][k + 1];
            }
        }
        for (int i = 0; i < 4; i++) {
            float *v0 = j->V + (size_t)(4 * i) * xs + (size_t)c * T + ((size_t)img * TY + ty0) * TX;
            input_rows(n, ec[i], en[i], oc[i], on[i], v0, v0 + xs, v0 + 2 * xs, v0 + 3 * xs);
        }
    }
}

/* y = A^T m A (+ bias) for every tile of one (image, output channel)
 * plane; A^T = [1 1 1 0; 0 1 -1 -1]. A step's tiles are contiguous in M,
 * so both halves of the transform run over all of them in one loop. */
FER_CLONES static void output_task(void *ctx, int task, int thread)
{
    const wjob *j = ctx;
    const fer_conv_shape *s = j->s;
    const int K = s->K, P = s->P, Q = s->Q, TY = tiles_y(s), TX = tiles_x(s);
    const int img = task / K, k = task % K, step = rows_per_step(TX);
    const size_t T = (size_t)j->g * TY * TX, xs = (size_t)K * T;
    const float bias = j->b ? j->b[k] : 0;
    float *yp = j->y + ((size_t)img * K + k) * P * Q;
    static _Thread_local float sv[4][STEP_TILES + MAX_TX], dv[4][STEP_TILES + MAX_TX],
        r[4][STEP_TILES + MAX_TX];
    (void)thread;
    for (int ty0 = 0; ty0 < TY; ty0 += step) {
        int rows = TY - ty0 < step ? TY - ty0 : step, n = rows * TX;
        const float *m = j->M + (size_t)k * T + ((size_t)img * TY + ty0) * TX;
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
            int ty = ty0 + rr;
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

void fer_conv2d_forward_wino(const fer_conv_shape *s, const float *x, const float *w,
                             const float *b, float *y, float *ws)
{
    const int K = s->K, C = s->C, g0 = group(s);
    const size_t TI = (size_t)tiles_y(s) * tiles_x(s), T0 = g0 * TI;
    const size_t chw = (size_t)C * s->H * s->W, kpq = (size_t)K * s->P * s->Q;
    wjob j = {s, x, w, b, y, ws, ws + 16 * (size_t)K * C, NULL, 0};
    j.M = j.V + 16 * (size_t)C * T0;
    fer_parallel_for(K, filter_task, &j);
    for (int n0 = 0; n0 < s->N; n0 += g0) {
        int g = s->N - n0 < g0 ? s->N - n0 : g0;
        size_t T = g * TI;
        j.g = g;
        j.x = x + (size_t)n0 * chw;
        j.y = y + (size_t)n0 * kpq;
        fer_parallel_for(g * C, input_task, &j);
        for (int xi = 0; xi < 16; xi++)
            fer_gemm(0, 0, K, (int)T, C, 1.0f, j.U + (size_t)xi * K * C, C,
                     j.V + (size_t)xi * C * T, (int)T, 0.0f, j.M + (size_t)xi * K * T, (int)T);
        fer_parallel_for(g * K, output_task, &j);
    }
}
