/* test_fastpath.c: the fast kernels against the reference loops: im2col +
 * GEMM convolution and GEMM dense layers, forward and backward, on awkward shapes, several groups per batch
 * and 1 or 2 threads. Inputs are uniform in [-1, 1]; a sum of k products
 * then carries float rounding of about k * 2^-24 relative to the sum of
 * magnitudes, so we allow |a - b| <= 1e-5 * k + 1e-5 * |b|. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "conv.h"
#include "conv_direct.h"
#include "conv_gemm.h"
#include "conv_winograd.h"
#include "gemm.h"
#include "layers.h"
#include "threads.h"

static float *rnd(size_t n)
{
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++)
        p[i] = check_randf(-1, 1);
    return p;
}

static int close_all(const char *what, const float *a, const float *b, size_t n, double k)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabs(a[i] - b[i]) <= 1e-5 * k + 1e-5 * fabs(b[i]))) {
            check_fail(__FILE__, __LINE__, "%s[%zu] = %.7g, reference %.7g", what, i, a[i], b[i]);
            return 0;
        }
    return 1;
}

/* Sets bf16 precision and says so, or skips test what (one line) and
 * stays in fp32 where the CPU has no AVX512_BF16 kernel. */
static int bf16_kernel(const char *what)
{
    fer_gemm_set_precision("bf16");
    if (fer_gemm_bf16_native())
        return 1;
    printf("skip %s: no AVX512_BF16 kernel on this CPU\n", what);
    fer_gemm_set_precision("fp32");
    return 0;
}

static void one(int N, int C, int H, int W, int K, int R, int stride, int pad, int bias)
{
    fer_conv_shape s;
    size_t xn, wn, yn;
    float *x, *w, *b, *y, *y2, *dy, *dx, *dx2, *dw, *dw2, *db, *db2, *ws;
    CHECK(fer_conv_shape_init(&s, N, C, H, W, K, R, R, stride, pad) == 0, "shape");
    xn = (size_t)N * C * H * W;
    wn = (size_t)K * C * R * R;
    yn = (size_t)N * K * s.P * s.Q;
    x = rnd(xn), w = rnd(wn), b = bias ? rnd(K) : NULL, dy = rnd(yn);
    y = malloc(yn * 4), y2 = malloc(yn * 4), dx = malloc(xn * 4), dx2 = malloc(xn * 4);
    dw = malloc(wn * 4), dw2 = malloc(wn * 4), db = malloc(K * 4), db2 = malloc(K * 4);
    ws = malloc(fer_conv_gemm_workspace(&s) * 4);
    fer_conv2d_forward_ref(&s, x, w, b, y);
    fer_conv2d_forward_gemm(&s, x, w, b, y2, ws, NULL);
    close_all("y", y2, y, yn, C * R * R);
    fer_conv2d_backward_ref(&s, x, w, dy, dx, dw, db);
    fer_conv2d_backward_gemm(&s, x, w, dy, dx2, dw2, db2, ws);
    close_all("dx", dx2, dx, xn, K * R * R);
    close_all("dw", dw2, dw, wn, (double)N * s.P * s.Q);
    close_all("db", db2, db, K, (double)N * s.P * s.Q);
    /* dx may be skipped */
    fer_conv2d_backward_gemm(&s, x, w, dy, NULL, dw2, NULL, ws);
    close_all("dw without dx", dw2, dw, wn, (double)N * s.P * s.Q);
    free(x), free(w), free(b), free(y), free(y2), free(dy), free(dx), free(dx2);
    free(dw), free(dw2), free(db), free(db2), free(ws);
}

static void shapes(void)
{
    check_seed(11);
    one(3, 5, 7, 9, 4, 3, 1, 1, 1);
    one(3, 5, 7, 9, 4, 3, 2, 1, 1);
    one(2, 3, 11, 6, 5, 3, 2, 0, 0);
    one(4, 7, 5, 5, 3, 1, 1, 0, 1);     /* pointwise */
    one(3, 6, 9, 9, 8, 1, 2, 0, 0);     /* projection shortcut */
    one(1, 1, 13, 17, 6, 5, 1, 2, 1);
    one(5, 2, 4, 3, 3, 3, 1, 3, 1);     /* padding wider than the kernel */
}

/* Stride-2 rows of more than 16 outputs, whose columns are gathered 16 at
 * a time (AVX-512: 32 loaded, the even lanes kept): odd and even widths,
 * padding 0-2, 3x3 and 1x1, so that windows start before the row, end
 * after it and straddle the 16-lane steps. */
static void stride2_rows(void)
{
    static const int cases[][5] = {   /* C, W, R, pad, N */
        {2, 48, 3, 1, 2}, {3, 47, 3, 1, 1}, {2, 70, 3, 0, 1}, {2, 69, 3, 2, 2},
        {3, 48, 1, 0, 2}, {2, 67, 1, 0, 1}, {1, 35, 5, 2, 1},
    };
    check_seed(17);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int *c = cases[i];
        one(c[4], c[0], 5, c[1], 3, c[2], 2, c[3], i & 1);
    }
}

/* 3x3 stride-1 convolutions of one input channel (conv_direct.c): the
 * reference's y, dw and db on rows that are and are not multiples of the
 * 16 lanes, padding 0-2, one output channel and many; the training
 * epilogue (ReLU, per-channel sums) against the same done by hand; the
 * same bits on 1 and 2 threads and through a kept pack. */
static void direct(void)
{
    static const int cases[][6] = {   /* N, H, W, K, pad, bias */
        {3, 7, 9, 4, 1, 1}, {2, 5, 17, 1, 0, 0}, {1, 33, 5, 7, 2, 1}, {5, 48, 48, 32, 1, 1},
        {2, 3, 3, 3, 2, 0},
    };
    check_seed(18);
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        const int *c = cases[t];
        fer_conv_shape s;
        fer_conv_shape_init(&s, c[0], 1, c[1], c[2], c[3], 3, 3, 1, c[4]);
        CHECK(fer_conv_pack_kind(&s) == 3, "want the direct path for %dx%d pad %d", c[1], c[2],
              c[4]);
        const size_t xn = (size_t)c[0] * c[1] * c[2], yn = (size_t)c[0] * c[3] * s.P * s.Q;
        const size_t wn = 9 * (size_t)c[3], pq = (size_t)s.P * s.Q;
        float *x = rnd(xn), *w = rnd(wn), *b = c[5] ? rnd(c[3]) : NULL, *dy = rnd(yn);
        float *y = malloc(yn * 4), *y1 = malloc(yn * 4), *y2 = malloc(yn * 4);
        float *dw = malloc(wn * 4), *dw1 = malloc(wn * 4), *dw2 = malloc(wn * 4);
        float *pack = malloc(fer_conv_pack_floats(&s) * 4);
        float *ws = malloc(fer_conv_gemm_workspace(&s) * 4);
        double *part = calloc(2 * (size_t)c[0] * c[3], sizeof *part), *stats = malloc(16 * c[3]);
        fer_conv_epi e = {1, part, NULL, NULL, 0, NULL};
        fer_conv2d_forward_ref(&s, x, w, b, y);
        fer_conv2d_backward_ref(&s, x, w, dy, NULL, dw, NULL);
        fer_threads_set(1);
        fer_conv2d_forward_gemm(&s, x, w, b, y1, ws, NULL);
        fer_conv2d_backward_gemm(&s, x, w, dy, NULL, dw1, NULL, ws);
        close_all("direct y", y1, y, yn, 9);
        close_all("direct dw", dw1, dw, wn, (double)c[0] * pq);
        fer_threads_set(2);
        fer_conv2d_backward_gemm(&s, x, w, dy, NULL, dw2, NULL, ws);
        CHECK(!memcmp(dw1, dw2, wn * 4), "direct dw differs between one thread and two");
        fer_conv_pack(&s, w, pack);
        fer_conv2d_forward_packed(&s, x, pack, b, y2, ws, NULL);
        CHECK(!memcmp(y1, y2, yn * 4), "direct y differs through the pack or on two threads");
        /* the fused ReLU and sums: y2 = max(y1, 0), the sums of each channel */
        fer_conv2d_forward_gemm(&s, x, w, b, y2, ws, &e);
        fer_conv_epi_finish(part, c[0], c[3], stats);
        for (int k = 0; k < c[3]; k++) {
            double sum = 0, sq = 0;
            for (int n = 0; n < c[0]; n++)
                for (size_t i = 0; i < pq; i++) {
                    size_t at = ((size_t)n * c[3] + k) * pq + i;
                    float v = y1[at] > 0 ? y1[at] : 0.0f;
                    CHECK(y2[at] == v, "direct fused relu [%zu]", at);
                    sum += v, sq += (double)v * v;
                }
            CHECK_CLOSE(stats[k], sum, 1e-9, 1e-12);
            CHECK_CLOSE(stats[c[3] + k], sq, 1e-9, 1e-12);
        }
        free(x), free(w), free(b), free(dy), free(y), free(y1), free(y2), free(dw), free(dw1);
        free(dw2), free(pack), free(ws), free(part), free(stats);
    }
}

/* Many images per group and a remainder group. */
static void groups(void)
{
    fer_conv_shape s;
    fer_conv_shape_init(&s, 37, 2, 12, 12, 5, 3, 3, 1, 1);
    CHECK(fer_conv_gemm_group(&s) > 1, "want several images per group");
    check_seed(12);
    one(37, 2, 12, 12, 5, 3, 1, 1, 1);
    one(33, 1, 48, 48, 4, 3, 1, 1, 1);
}

static void threads(void)
{
    fer_threads_set(1);
    check_seed(13);
    one(6, 4, 10, 10, 7, 3, 1, 1, 1);
    fer_threads_set(2);
    one(6, 4, 10, 10, 7, 3, 1, 1, 1);
}

/* A random 3x3 stride-1 case c = {N, C, H, W, K, pad}: input, weights,
 * bias, the reference output y, and the Winograd workspace. */
typedef struct wcase {
    fer_conv_shape s;
    size_t yn;
    float *x, *w, *b, *y, *ws;
} wcase;

static void wcase_make(wcase *k, const int *c)
{
    fer_conv_shape_init(&k->s, c[0], c[1], c[2], c[3], c[4], 3, 3, 1, c[5]);
    k->yn = (size_t)c[0] * c[4] * k->s.P * k->s.Q;
    k->x = rnd((size_t)c[0] * c[1] * c[2] * c[3]);
    k->w = rnd((size_t)c[4] * c[1] * 9);
    k->b = rnd(c[4]);
    k->y = malloc(k->yn * 4);
    k->ws = malloc(fer_conv_wino_workspace(&k->s) * 4);
    fer_conv2d_forward_ref(&k->s, k->x, k->w, k->b, k->y);
}

static void wcase_free(wcase *k)
{
    free(k->x), free(k->w), free(k->b), free(k->y), free(k->ws);
}

/* Winograd F(2x2, 3x3) directly on small odd shapes (odd P and Q leave
 * tiles hanging over the edge; padding 0, 1 and 2; rows of up to 36
 * tiles), then through the
 * dispatch on shapes it is chosen for, forward and (as the flipped
 * forward convolution) data gradient. */
static void winograd(void)
{
    static const int cases[][6] = {   /* N, C, H, W, K, pad */
        {2, 3, 7, 9, 4, 1}, {1, 5, 6, 5, 3, 0}, {3, 2, 5, 8, 6, 2}, {2, 16, 13, 11, 17, 1},
        /* rows of more than 16 tiles (the AVX-512 transform's chunks): 19,
         * 36 and exactly 16 */
        {2, 3, 6, 37, 4, 1}, {1, 2, 5, 70, 3, 2}, {1, 3, 4, 33, 2, 0},
        /* rows of at most 8 tiles, which go two tile rows a step: odd and
         * even tile rows per image (pairs that straddle two images), 1 to
         * 8 tiles a row, odd edges */
        {3, 4, 7, 7, 5, 1}, {5, 3, 3, 3, 2, 0}, {3, 2, 15, 16, 3, 1}, {2, 5, 9, 11, 4, 1},
        {3, 2, 6, 4, 3, 2},
        /* rows of 24 and 40 tiles (a half chunk at the end), an odd
         * number of tile rows per image and per forward block */
        {3, 3, 9, 48, 4, 1}, {1, 2, 5, 80, 3, 1}, {2, 3, 7, 47, 3, 1},
    };
    check_seed(15);
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        const int *c = cases[t];
        wcase k;
        wcase_make(&k, c);
        float *y2 = malloc(k.yn * 4);
        fer_conv2d_forward_wino(&k.s, k.x, k.w, t & 1 ? NULL : k.b, y2, k.ws, NULL);
        if (t & 1)   /* without bias: compare with the bias taken off */
            for (size_t i = 0; i < k.yn; i++)
                k.y[i] -= k.b[i / ((size_t)k.s.P * k.s.Q) % c[4]];
        close_all("winograd y", y2, k.y, k.yn, c[1] * 9);
        free(y2);
        wcase_free(&k);
    }
    {
        fer_conv_shape s;
        fer_conv_shape_init(&s, 3, 20, 14, 15, 18, 3, 3, 1, 1);
        CHECK(fer_conv_wino_ok(&s), "want Winograd for 3x20x14x15 -> 18");
        one(3, 20, 14, 15, 18, 3, 1, 1, 1);
        one(2, 24, 9, 20, 16, 3, 1, 0, 1);
        one(2, 16, 9, 37, 16, 3, 1, 1, 1);   /* odd 9 x 37: rows of 19 tiles */
        /* enough blocks of tiles for one task per block, on 1 and 2 threads
         * (a few blocks run one at a time, with the work shared out) */
        for (int t = 1; t <= 2; t++) {
            fer_threads_set(t);
            one(20, 16, 12, 12, 16, 3, 1, 1, 1);
            one(3, 16, 12, 12, 16, 3, 1, 1, 0);
        }
    }
}

/* The Winograd weight gradient on planes of at most 16 columns (its dy
 * transform's two-tile-rows-a-step path): odd and even P and Q, one tile
 * row and many, against the reference. */
static void wgrad_small(void)
{
    static const int cases[][6] = {   /* N, C, H, W, K, pad */
        {3, 16, 7, 7, 17, 1}, {2, 16, 6, 13, 16, 1}, {4, 16, 2, 3, 16, 1}, {2, 16, 16, 16, 16, 1},
        {3, 16, 9, 4, 16, 0},
    };
    check_seed(17);
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        const int *c = cases[t];
        fer_conv_shape s;
        fer_conv_shape_init(&s, c[0], c[1], c[2], c[3], c[4], 3, 3, 1, c[5]);
        const size_t xn = (size_t)c[0] * c[1] * c[2] * c[3], yn = (size_t)c[0] * c[4] * s.P * s.Q;
        const size_t wn = (size_t)c[4] * c[1] * 9;
        float *x = rnd(xn), *dy = rnd(yn), *w = rnd(wn), *dw = malloc(wn * 4);
        float *dw1 = malloc(wn * 4), *ws = malloc(fer_conv_wino_workspace(&s) * 4);
        fer_conv2d_backward_ref(&s, x, w, dy, NULL, dw, NULL);
        fer_conv2d_wgrad_wino(&s, x, dy, dw1, ws);
        close_all("small dw", dw1, dw, wn, (double)c[0] * s.P * s.Q);
        free(x), free(dy), free(w), free(dw), free(dw1), free(ws);
    }
}

/* The Winograd weight gradient in two lanes (up to two threads, two groups
 * or more), each by chunks of tile rows that may straddle images: 9
 * images of 24x24 (rows of 12 tiles; chunks of 15 and 16 tile rows against
 * 12 per image) and 45 of 9x9 (rows of 5 tiles, two tile rows a step in
 * the dy transform, 5 tile rows per image, the last over an odd edge;
 * chunks of 29 and 28 rows): the reference result, and the same bits on
 * one thread and two. */
static void wgrad_lanes(void)
{
    static const int cases[][5] = {{9, 16, 24, 24, 17}, {45, 16, 9, 9, 16}};   /* N, C, H, W, K */
    check_seed(16);
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        const int *c = cases[t];
        fer_conv_shape s;
        fer_conv_shape_init(&s, c[0], c[1], c[2], c[3], c[4], 3, 3, 1, 1);
        const size_t xn = (size_t)c[0] * c[1] * c[2] * c[3], yn = (size_t)c[0] * c[4] * s.P * s.Q;
        const size_t wn = (size_t)c[4] * c[1] * 9;
        float *x = rnd(xn), *dy = rnd(yn), *w = rnd(wn), *dw = malloc(wn * 4);
        float *dw1 = malloc(wn * 4), *dw2 = malloc(wn * 4);
        float *ws = malloc(fer_conv_wino_workspace(&s) * 4);
        CHECK(fer_conv_wino_ok(&s), "want Winograd for %dx%dx%dx%d -> %d", c[0], c[1], c[2], c[3],
              c[4]);
        fer_conv2d_backward_ref(&s, x, w, dy, NULL, dw, NULL);
        fer_threads_set(1);
        fer_conv2d_wgrad_wino(&s, x, dy, dw1, ws);
        fer_threads_set(2);
        fer_conv2d_wgrad_wino(&s, x, dy, dw2, ws);
        close_all("lanes dw", dw1, dw, wn, (double)c[0] * s.P * s.Q);
        CHECK(!memcmp(dw1, dw2, wn * 4), "dw differs between one thread and two");
        /* in bf16, the transforms' halves (rounded as they are made, rows
         * padded to an even count: 145 tiles a chunk in the second case)
         * against fp32 planes rounded by the GEMM's packing: the same bits */
        fer_gemm_set_precision("bf16");
        if (fer_gemm_bf16_native()) {
            fer_conv_wino_set_slots(0);
            fer_conv2d_wgrad_wino(&s, x, dy, dw1, ws);
            fer_conv_wino_set_slots(1);
            fer_conv2d_wgrad_wino(&s, x, dy, dw2, ws);
            CHECK(!memcmp(dw1, dw2, wn * 4), "bf16 dw: halves and planes differ, %dx%dx%dx%d",
                  c[0], c[1], c[2], c[3]);
        }
        fer_gemm_set_precision("fp32");
        free(x), free(dy), free(w), free(dw), free(dw1), free(dw2), free(ws);
    }
}

/* The weight gradient by planes (bf16, layer4-like: 512 channels of 6 x 6
 * at 30 images, where dU outweighs the batch's V and M) against the two
 * lanes, which wgrad_lanes holds to the reference (the lanes' fp32
 * planes are rounded by the GEMM's packing: the same bf16 products,
 * summed over the tiles in another order): within fp32 rounding of sums
 * of 270 tiles (1e-5 of 16 x 1080, the terms' magnitudes: x dy over
 * 30 x 36 pixels, times the transforms' gain of 16), where a wrong tile,
 * channel or plane is off by the size of a term; and the same bits on
 * one thread and two. */
static void wgrad_planes(void)
{
    fer_conv_shape s;
    if (!bf16_kernel("wgrad_planes"))
        return;
    check_seed(21);
    fer_conv_shape_init(&s, 30, 512, 6, 6, 512, 3, 3, 1, 1);
    const size_t xn = (size_t)30 * 512 * 36, wn = (size_t)512 * 512 * 9;
    float *x = rnd(xn), *dy = rnd(xn), *dw1 = malloc(wn * 4), *dw2 = malloc(wn * 4);
    float *dw3 = malloc(wn * 4), *ws = malloc(fer_conv_wino_workspace(&s) * 4);
    fer_conv2d_wgrad_wino(&s, x, dy, dw1, ws);   /* by planes */
    fer_threads_set(1);
    fer_conv2d_wgrad_wino(&s, x, dy, dw2, ws);
    fer_threads_set(2);
    CHECK(!memcmp(dw1, dw2, wn * 4), "planes: dw differs between one thread and two");
    fer_conv_wino_set_slots(0);   /* fp32 transforms: the lanes */
    fer_conv2d_wgrad_wino(&s, x, dy, dw3, ws);
    fer_conv_wino_set_slots(1);
    close_all("planes dw against lanes", dw1, dw3, wn, 16.0 * 30 * 36);
    fer_gemm_set_precision("fp32");
    free(x), free(dy), free(dw1), free(dw2), free(dw3), free(ws);
}

/* The forward's input transform written as bf16 pair slots in the GEMM's
 * panels against fp32 planes that the GEMM packs: the same bits, with
 * bias, on shapes that reach every store of the slots: rows of 5 tiles
 * two at a time (steps of 10 tiles across the 48-tile panel edge), of 20
 * (a 16-tile chunk across it), of 24 (a half chunk), of 100 (one row a
 * block, three panels), an odd channel count (a zero high half), and one
 * image (few blocks: their transforms shared out channel pair by pair).
 * Without AVX512_BF16 both ways are the planes: skipped. */
static void slots(void)
{
    static const int cases[][6] = {   /* N, C, H, W, K, pad */
        {4, 5, 13, 9, 6, 1}, {2, 5, 6, 40, 3, 1}, {3, 3, 9, 48, 4, 1}, {1, 2, 5, 200, 3, 1},
        {1, 17, 12, 12, 16, 1}, {3, 16, 7, 7, 17, 0},
    };
    if (!bf16_kernel("slots"))
        return;
    check_seed(18);
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        const int *c = cases[t];
        wcase k;
        wcase_make(&k, c);
        float *y1 = malloc(k.yn * 4), *y2 = malloc(k.yn * 4);
        fer_conv_wino_set_slots(0);
        fer_conv2d_forward_wino(&k.s, k.x, k.w, k.b, y1, k.ws, NULL);
        fer_conv_wino_set_slots(1);
        fer_conv2d_forward_wino(&k.s, k.x, k.w, k.b, y2, k.ws, NULL);
        CHECK(!memcmp(y1, y2, k.yn * 4), "slots and planes differ, %dx%dx%dx%d -> %d", c[0],
              c[1], c[2], c[3], c[4]);
        /* and near the fp32 result: within 0.01 a term of the 9 C (bf16's
         * 8 significant bits, on transformed values up to 4x the inputs') */
        close_all("slots y", y2, k.y, k.yn, 1e3 * c[1] * 9);
        free(y1), free(y2);
        wcase_free(&k);
    }
    fer_gemm_set_precision("fp32");
}

/* The GEMM weight gradient's pair generators (dy rows read where they lie
 * or gathered across images, col's rows gathered), and the strided
 * forward's, against the fp32 generators and the GEMM's fold: the same
 * bits, on pixel blocks within an
 * image (400 a plane: the GEMM's first 256) and across images (odd 49),
 * odd block lengths, a 1x1 stride-2 shape 64 columns wide (the 6 x 64
 * tile), one pixel a row (a run a pixel), and a 5x5 stride-1 shape; and
 * near the fp32 reference. Without AVX512_BF16: skipped. */
static void wgrad_pairs(void)
{
    static const int cases[][8] = {   /* N, C, H, W, K, R, stride, pad */
        {2, 3, 40, 40, 11, 3, 2, 1}, {3, 5, 13, 13, 9, 3, 2, 1}, {5, 64, 9, 9, 20, 1, 2, 0},
        {300, 2, 2, 2, 5, 3, 2, 1}, {2, 3, 11, 11, 7, 5, 1, 2},
    };
    if (!bf16_kernel("wgrad_pairs"))
        return;
    check_seed(20);
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        const int *c = cases[t];
        fer_conv_shape s;
        fer_conv_shape_init(&s, c[0], c[1], c[2], c[3], c[4], c[5], c[5], c[6], c[7]);
        const size_t xn = (size_t)c[0] * c[1] * c[2] * c[3], yn = (size_t)c[0] * c[4] * s.P * s.Q;
        const size_t wn = (size_t)c[4] * c[1] * c[5] * c[5];
        float *x = rnd(xn), *dy = rnd(yn), *w = rnd(wn), *dw = malloc(wn * 4);
        float *dw1 = malloc(wn * 4), *dw2 = malloc(wn * 4);
        float *ws = malloc(fer_conv_gemm_workspace(&s) * 4 + 64);
        CHECK(!fer_conv_wino_ok(&s) && !fer_conv_direct_ok(&s), "want the GEMM for case %zu", t);
        fer_conv_gemm_set_paired(0);
        fer_conv2d_backward_gemm(&s, x, w, dy, NULL, dw1, NULL, ws);
        fer_conv_gemm_set_paired(1);
        fer_conv2d_backward_gemm(&s, x, w, dy, NULL, dw2, NULL, ws);
        CHECK(!memcmp(dw1, dw2, wn * 4), "dw: pair generators and fold differ, case %zu", t);
        {   /* the forward's strided column panels likewise */
            float *y1 = malloc(yn * 4), *y2 = malloc(yn * 4);
            fer_conv_gemm_set_paired(0);
            fer_conv2d_forward_gemm(&s, x, w, NULL, y1, ws, NULL);
            fer_conv_gemm_set_paired(1);
            fer_conv2d_forward_gemm(&s, x, w, NULL, y2, ws, NULL);
            CHECK(!memcmp(y1, y2, yn * 4), "y: pair generator and fold differ, case %zu", t);
            free(y1), free(y2);
        }
        /* each product's operands within 2^-8 relative, over N P Q terms */
        fer_conv2d_backward_ref(&s, x, w, dy, NULL, dw, NULL);
        close_all("pairs dw", dw2, dw, wn, 1e3 * c[0] * s.P * s.Q);
        free(x), free(dy), free(w), free(dw), free(dw1), free(dw2), free(ws);
    }
    fer_gemm_set_precision("fp32");
}

/* The data gradient's weight transform read from w where it lies
 * (fer_conv_wino_pack_flipped) against the transform of w turned round
 * and transposed in memory: the same pack, in fp32 and bf16. */
static void pack_flipped(void)
{
    fer_conv_shape t;   /* the data gradient's forward: 17 channels of dy to 20 of dx */
    check_seed(19);
    fer_conv_shape_init(&t, 2, 17, 10, 11, 20, 3, 3, 1, 1);
    const size_t wn = (size_t)20 * 17 * 9, pn = fer_conv_wino_pack_floats(&t);
    float *w = rnd(wn), *wt = malloc(wn * 4), *p1 = malloc(pn * 4), *p2 = malloc(pn * 4);
    for (int k = 0; k < 20; k++)   /* wt[k][c] = w[c][k] turned half a circle */
        for (int c = 0; c < 17; c++)
            for (int i = 0; i < 9; i++)
                wt[((size_t)k * 17 + c) * 9 + i] = w[((size_t)c * 20 + k) * 9 + 8 - i];
    for (int b = 0; b < 2; b++) {
        fer_gemm_set_precision(b ? "bf16" : "fp32");
        memset(p1, 0, pn * 4), memset(p2, 0, pn * 4);
        fer_conv_wino_pack(&t, wt, p1);
        fer_conv_wino_pack_flipped(&t, w, p2);
        CHECK(!memcmp(p1, p2, pn * 4), "flipped pack differs (%s)", b ? "bf16" : "fp32");
    }
    fer_gemm_set_precision("fp32");
    free(w), free(wt), free(p1), free(p2);
}

/* The dispatching entry points give the reference result too. */
static void dispatch(void)
{
    fer_conv_shape s;
    float *x, *w, *b, *y, *y2, *ws;
    size_t yn;
    check_seed(14);
    fer_conv_shape_init(&s, 4, 3, 9, 8, 6, 3, 3, 1, 1);
    yn = (size_t)4 * 6 * s.P * s.Q;
    x = rnd(4 * 3 * 9 * 8), w = rnd(6 * 3 * 9), b = rnd(6);
    y = malloc(yn * 4), y2 = malloc(yn * 4);
    ws = malloc((fer_conv2d_workspace(&s) + 1) * 4);
    fer_conv2d_forward_ref(&s, x, w, b, y);
    fer_conv2d_forward(&s, x, w, b, y2, ws);
    close_all("dispatch y", y2, y, yn, 27);
    free(x), free(w), free(b), free(y), free(y2), free(ws);
}

static void dense(void)
{
    static const int shapes[][3] = {{1, 5, 3}, {7, 13, 11}, {33, 2304, 17}, {64, 129, 65}};
    check_seed(15);
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int N = shapes[t][0], I = shapes[t][1], O = shapes[t][2];
        float *x = rnd((size_t)N * I), *w = rnd((size_t)O * I), *b = rnd(O), *dy = rnd((size_t)N * O);
        float *y = malloc((size_t)N * O * 4), *y2 = malloc((size_t)N * O * 4);
        float *dx = malloc((size_t)N * I * 4), *dx2 = malloc((size_t)N * I * 4);
        float *dw = malloc((size_t)O * I * 4), *dw2 = malloc((size_t)O * I * 4);
        float *db = malloc(O * 4), *db2 = malloc(O * 4);
        fer_dense_forward_ref(N, I, O, x, w, b, y);
        fer_dense_forward(N, I, O, x, w, b, y2);
        close_all("dense y", y2, y, (size_t)N * O, I);
        fer_dense_backward_ref(N, I, O, x, w, dy, dx, dw, db);
        fer_dense_backward(N, I, O, x, w, dy, dx2, dw2, db2);
        close_all("dense dx", dx2, dx, (size_t)N * I, O);
        close_all("dense dw", dw2, dw, (size_t)O * I, N);
        close_all("dense db", db2, db, O, N);
        free(x), free(w), free(b), free(dy), free(y), free(y2), free(dx), free(dx2);
        free(dw), free(dw2), free(db), free(db2);
    }
}

int main(void)
{
    RUN(dense);
    RUN(shapes);
    RUN(stride2_rows);
    RUN(groups);
    RUN(winograd);
    RUN(slots);
    RUN(pack_flipped);
    RUN(wgrad_pairs);
    RUN(wgrad_small);
    RUN(direct);
    RUN(threads);
    RUN(wgrad_lanes);
    RUN(wgrad_planes);
    RUN(dispatch);
    return check_done();
}
