/* test_backend: every op of every backend this build has against the
 * reference backend (backend_ref.h), then one training step of small cnn,
 * ff and resnet18 nets on each backend against the same step on the
 * reference.
 *
 * Each op case puts seeded random inputs into blocks of the backend's
 * (alloc, upload), fills the outputs with junk first (an op overwrites,
 * never accumulates), runs the op, downloads, and compares with the
 * reference op run on host copies. Shapes are awkward: N of 1 and 3, odd
 * sizes, strides 1 and 2, overlapping pools, and a few large enough that
 * the CPU's fast paths (GEMM, Winograd, threads, SIMD pools) run.
 *
 * Tolerances, stated per op below, are |got - want| <= atol + rtol scale:
 * scale is |want|, or, for a sum, its magnitude (the same sum with every
 * term replaced by its absolute value), because a sum's rounding error
 * scales with that rather than with the result, which may cancel to near
 * zero. atol = rtol = 0 asks for the same float: ops whose every output is
 * a selection or one IEEE operation, which any backend rounds alike. A
 * mismatch prints the first few (op, shape, index, got, want, tol). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "augment.h"
#include "backend_cpu.h"
#include "backend_cuda.h"
#include "backend_ref.h"
#include "check.h"
#include "conv_winograd.h"
#include "error.h"
#include "model.h"
#include "net.h"
#include "net_blocks.h"
#include "optim.h"
#include "train.h"

/* The backends under test: every one this build has, opened by main. The
 * CUDA backend joins when fer was built with it and a GPU answers (else one
 * skip line), and always in test_backend_emu, this file built against the
 * CPU emulation of CUDA (tests/cudaemu), where it must open. Each is held
 * to the same ops and tolerances. */
static const fer_backend *backends[2];
static int NBACKENDS;

#define U 5.9604644775390625e-8   /* 2^-24, float's unit roundoff */

/* Sums of products (conv, dense, avgpool, batch norm's sums): any order
 * of float additions errs by about U times the magnitude for random-sign
 * terms (at most (k - 1) U); 1e-5 is 170 U of headroom (Winograd's
 * transforms add a few U), while one lost or wrong term of k <= 2000 is
 * 5e-4 of the magnitude or more. */
#define SUM_RTOL 1e-5     /* measured on the CPU: at most 4 U */

/* ---- harness ---- */

enum { SHOW = 5 };          /* mismatches printed per comparison */
static char ctx[200];       /* the case: backend, op, shape */

static void set_ctx(const fer_backend *be, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_ctx(const fer_backend *be, const char *fmt, ...)
{
    va_list ap;
    int k = snprintf(ctx, sizeof ctx, "%s ", be->name);
    va_start(ap, fmt);
    vsnprintf(ctx + k, sizeof ctx - k, fmt, ap);
    va_end(ap);
}

/* Compares n floats got with want: |got - want| <= atol + rtol * scale,
 * scale = mag[i] when mag is given, else |want[i]|; equal floats (NaN
 * with NaN) always pass. Prints the first SHOW mismatches; returns their
 * count. */
static size_t compare(const char *what, const float *got, const float *want, const float *mag,
                      size_t n, double atol, double rtol)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        const double g = got[i], w = want[i], tol = atol + rtol * (mag ? mag[i] : fabs(w));
        if (g == w || (isnan(g) && isnan(w)) || fabs(g - w) <= tol)
            continue;
        if (bad++ < SHOW)
            printf("  %s: %s[%zu] = %.9g, want %.9g (tol %.3g)\n", ctx, what, i, g, w, tol);
    }
    CHECK(!bad, "%s: %s: %zu of %zu outside tolerance", ctx, what, bad, n);
    return bad;
}

/* As compare with tolerance tol for every element, but up to n / 200 + 1
 * elements may miss it (printed all the same): a whole net's float noise
 * can move an activation across a ReLU's kink or a max-pool tie, and
 * that one element's gradient then differs by far more than the noise. A
 * wrong op moves most of a tensor. */
static size_t compare_net(const char *what, const float *got, const float *want, size_t n,
                          double tol)
{
    size_t bad = 0, allowed = n / 200 + 1;
    for (size_t i = 0; i < n; i++) {
        const double g = got[i], w = want[i];
        if (g == w || fabs(g - w) <= tol)
            continue;
        if (bad++ < SHOW)
            printf("  %s: %s[%zu] = %.9g, want %.9g (tol %.3g)\n", ctx, what, i, g, w, tol);
    }
    CHECK(bad <= allowed, "%s: %s: %zu of %zu outside tolerance (%zu allowed)", ctx, what, bad,
          n, allowed);
    return bad;
}

static size_t compare_i32(const char *what, const int32_t *got, const int32_t *want, size_t n)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i] && bad++ < SHOW)
            printf("  %s: %s[%zu] = %d, want %d\n", ctx, what, i, (int)got[i], (int)want[i]);
    CHECK(!bad, "%s: %s: %zu of %zu differ", ctx, what, bad, n);
    return bad;
}

static size_t compare_u8(const char *what, const uint8_t *got, const uint8_t *want, size_t n)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i] && bad++ < SHOW)
            printf("  %s: %s[%zu] = %d, want %d\n", ctx, what, i, got[i], want[i]);
    CHECK(!bad, "%s: %s: %zu of %zu differ", ctx, what, bad, n);
    return bad;
}

static float *randv(size_t n, float lo, float hi)
{
    float *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        abort();
    for (size_t i = 0; i < n; i++)
        v[i] = check_randf(lo, hi);
    return v;
}

static float *absv(const float *v, size_t n)
{
    float *a = malloc((n ? n : 1) * sizeof *a);
    if (!a)
        abort();
    for (size_t i = 0; i < n; i++)
        a[i] = fabsf(v[i]);
    return a;
}

static void *host(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p)
        abort();
    return p;
}

/* A block of the backend's holding a copy of host (bytes), or junk when
 * host is NULL: random bytes, which as floats are anything from tiny to
 * NaN, so that an op that reads its output before writing it shows. */
static void *put(const fer_backend *be, const void *src, size_t bytes)
{
    void *d = be->alloc(bytes);
    if (!d) {
        fprintf(stderr, "test_backend: %s: no memory for %zu bytes\n", be->name, bytes);
        abort();
    }
    if (src) {
        be->upload(d, src, bytes);
    } else {
        unsigned char *j = host(bytes);
        for (size_t i = 0; i < bytes; i++)
            j[i] = (unsigned char)(check_uniform() * 256);
        be->upload(d, j, bytes);
        free(j);
    }
    return d;
}

/* Downloads bytes of block d into a new host buffer. */
static void *get(const fer_backend *be, const void *d, size_t bytes)
{
    void *h = host(bytes);
    be->download(h, d, bytes);
    return h;
}

static void done(const fer_backend *be)
{
    CHECK(be->sync() == 0, "%s: sync: %s", ctx, fer_error());
}

/* ---- memory ---- */

static void test_memory(void)
{
    check_seed(1);
    for (int b = 0; b < NBACKENDS; b++) {
        const fer_backend *be = backends[b];
        const size_t n = 1001;
        float *v = randv(n, -1, 1), *w = randv(n, -1, 1), *want = host(n * sizeof *want);
        float *d1 = put(be, v, n * sizeof *v), *d2 = put(be, w, n * sizeof *w), *got;
        void *empty = be->alloc(0);   /* a net takes NULL for no memory, even for 0 bytes */
        set_ctx(be, "memory");
        CHECK(empty != NULL, "%s: alloc(0) gave NULL", be->name);
        CHECK((uintptr_t)d1 % 64 == 0 && (uintptr_t)d2 % 64 == 0, "%s: blocks not 64-aligned",
              be->name);
        /* d2[3, 503) = d1[17, 517); d2[600, 611) = 0; d1 untouched */
        be->copy(d2 + 3, d1 + 17, 500 * sizeof *v);
        be->zero(d2 + 600, 11 * sizeof *v);
        memcpy(want, w, n * sizeof *w);
        memcpy(want + 3, v + 17, 500 * sizeof *v);
        memset(want + 600, 0, 11 * sizeof *v);
        got = get(be, d2, n * sizeof *got);
        compare("copy, zero", got, want, NULL, n, 0, 0);
        free(got);
        got = get(be, d1, n * sizeof *got);
        compare("source", got, v, NULL, n, 0, 0);
        free(got);
        /* an upload and a download at offsets */
        be->upload(d1 + 5, w + 900, 100 * sizeof *w);
        got = host(100 * sizeof *got);
        be->download(got, d1 + 5, 100 * sizeof *got);
        compare("upload at offset", got, w + 900, NULL, 100, 0, 0);
        done(be);
        be->free(empty);
        be->free(d1), be->free(d2);
        free(v), free(w), free(want), free(got);
    }
}

/* ---- convolution ---- */

/* Tolerance: SUM_RTOL of the magnitude, which is the reference kernel run
 * on the inputs' absolute values. */
typedef struct conv_case { int N, C, H, W, K, R, stride, pad, bias; } conv_case;

static void conv_one(const fer_backend *be, const conv_case *c, int skip)
{
    fer_conv_shape s;
    if (fer_conv_shape_init(&s, c->N, c->C, c->H, c->W, c->K, c->R, c->R, c->stride, c->pad)) {
        CHECK(0, "conv shape: %s", fer_error());
        return;
    }
    const size_t nx = (size_t)s.N * s.C * s.H * s.W, nw = (size_t)s.K * s.C * s.R * s.S;
    const size_t ny = (size_t)s.N * s.K * s.P * s.Q;
    float *x = randv(nx, -1, 1), *w = randv(nw, -1, 1), *b = c->bias ? randv(s.K, -1, 1) : NULL;
    float *dy = randv(ny, -1, 1);
    float *ax = absv(x, nx), *aw = absv(w, nw), *ab = b ? absv(b, s.K) : NULL, *ady = absv(dy, ny);
    float *y = host(ny * 4), *ym = host(ny * 4), *dx = host(nx * 4), *dxm = host(nx * 4);
    float *dw = host(nw * 4), *dwm = host(nw * 4), *db = host(s.K * 4), *dbm = host(s.K * 4);
    float *got;
    float *X, *Wt, *B, *DY, *Y, *DX, *DW, *DB, *WS;
    set_ctx(be, "conv N%d C%d %dx%d K%d %dx%d/%d pad %d%s%s", s.N, s.C, s.H, s.W, s.K, s.R, s.S,
            s.stride, s.pad, b ? "" : " no bias", skip ? " (dx, db skipped)" : "");
    fer_backend_ref.conv_forward(&s, x, w, b, y, NULL);
    fer_backend_ref.conv_forward(&s, ax, aw, ab, ym, NULL);
    fer_backend_ref.conv_backward(&s, x, w, dy, dx, dw, db, NULL);
    fer_backend_ref.conv_backward(&s, ax, aw, ady, dxm, dwm, dbm, NULL);

    X = put(be, x, nx * 4), Wt = put(be, w, nw * 4), B = b ? put(be, b, s.K * 4) : NULL;
    DY = put(be, dy, ny * 4);
    Y = put(be, NULL, ny * 4), DX = put(be, NULL, nx * 4), DW = put(be, NULL, nw * 4);
    DB = put(be, NULL, s.K * 4), WS = put(be, NULL, (be->conv_workspace(&s) + 1) * 4);
    be->conv_forward(&s, X, Wt, B, Y, WS);
    compare("y", got = get(be, Y, ny * 4), y, ym, ny, 0, SUM_RTOL);
    free(got);
    be->conv_backward(&s, X, Wt, DY, skip ? NULL : DX, DW, skip ? NULL : DB, WS);
    if (!skip) {
        compare("dx", got = get(be, DX, nx * 4), dx, dxm, nx, 0, SUM_RTOL);
        free(got);
        compare("db", got = get(be, DB, s.K * 4), db, dbm, s.K, 0, SUM_RTOL);
        free(got);
    }
    compare("dw", got = get(be, DW, nw * 4), dw, dwm, nw, 0, SUM_RTOL);
    free(got);
    done(be);
    be->free(X), be->free(Wt), be->free(DY), be->free(Y), be->free(DX), be->free(DW);
    be->free(DB), be->free(WS);
    if (B)
        be->free(B);
    free(x), free(w), free(b), free(dy), free(ax), free(aw), free(ab), free(ady);
    free(y), free(ym), free(dx), free(dxm), free(dw), free(dwm), free(db), free(dbm);
}

static void test_conv(void)
{
    static const conv_case cases[] = {
        /* N C  H  W  K  R  st pad bias */
        {1, 5, 7, 9, 4, 3, 1, 1, 1},       /* 3x3, one image */
        {3, 5, 7, 9, 4, 3, 2, 1, 1},       /* 3x3 stride 2, odd sizes */
        {3, 5, 7, 9, 6, 1, 1, 0, 0},       /* pointwise */
        {3, 6, 9, 9, 8, 1, 2, 0, 0},       /* 1x1 stride 2: resnet's shortcut */
        {1, 3, 11, 13, 5, 5, 2, 2, 1},     /* 5x5 stride 2: kernel larger than stride */
        {3, 2, 9, 7, 3, 5, 1, 2, 0},       /* 5x5 stride 1 */
        {3, 4, 6, 5, 3, 3, 1, 0, 1},       /* no padding */
        {2, 3, 4, 3, 3, 3, 1, 3, 1},       /* padding wider than the kernel */
        {3, 16, 13, 11, 17, 3, 1, 1, 1},   /* Winograd on odd sizes */
        {3, 32, 24, 24, 32, 3, 1, 1, 0},   /* Winograd, threads */
        {3, 32, 24, 24, 32, 3, 2, 1, 1},   /* strided GEMM, threads */
    };
    const int ncases = (int)(sizeof cases / sizeof *cases);
    fer_conv_shape s;
    /* the large shapes are there for the CPU's fast paths: make sure they
     * still take them */
    fer_conv_shape_init(&s, 3, 32, 24, 24, 32, 3, 3, 1, 1);
    CHECK(fer_conv_wino_ok(&s), "3x32x24x24 -> 32 no longer goes by Winograd");
    fer_conv_shape_init(&s, 3, 16, 13, 11, 17, 3, 3, 1, 1);
    CHECK(fer_conv_wino_ok(&s), "3x16x13x11 -> 17 no longer goes by Winograd");
    check_seed(2);
    for (int b = 0; b < NBACKENDS; b++)
        for (int i = 0; i < ncases; i++) {
            conv_one(backends[b], &cases[i], 0);
            if (i % 2)
                conv_one(backends[b], &cases[i], 1);
        }
}

/* ---- dense ---- */

/* Tolerance: as conv, SUM_RTOL of the magnitude. */
static void dense_one(const fer_backend *be, int N, int I, int O, int bias, int skip)
{
    const size_t nx = (size_t)N * I, nw = (size_t)O * I, ny = (size_t)N * O;
    float *x = randv(nx, -1, 1), *w = randv(nw, -1, 1), *b = bias ? randv(O, -1, 1) : NULL;
    float *dy = randv(ny, -1, 1);
    float *ax = absv(x, nx), *aw = absv(w, nw), *ab = b ? absv(b, O) : NULL, *ady = absv(dy, ny);
    float *y = host(ny * 4), *ym = host(ny * 4), *dx = host(nx * 4), *dxm = host(nx * 4);
    float *dw = host(nw * 4), *dwm = host(nw * 4), *db = host(O * 4), *dbm = host(O * 4);
    float *got, *X, *Wt, *B, *DY, *Y, *DX, *DW, *DB;
    set_ctx(be, "dense N%d I%d O%d%s%s", N, I, O, b ? "" : " no bias",
            skip ? " (dx, db skipped)" : "");
    fer_backend_ref.dense_forward(N, I, O, x, w, b, y);
    fer_backend_ref.dense_forward(N, I, O, ax, aw, ab, ym);
    fer_backend_ref.dense_backward(N, I, O, x, w, dy, dx, dw, db);
    fer_backend_ref.dense_backward(N, I, O, ax, aw, ady, dxm, dwm, dbm);

    X = put(be, x, nx * 4), Wt = put(be, w, nw * 4), B = b ? put(be, b, O * 4) : NULL;
    DY = put(be, dy, ny * 4);
    Y = put(be, NULL, ny * 4), DX = put(be, NULL, nx * 4), DW = put(be, NULL, nw * 4);
    DB = put(be, NULL, O * 4);
    be->dense_forward(N, I, O, X, Wt, B, Y);
    compare("y", got = get(be, Y, ny * 4), y, ym, ny, 0, SUM_RTOL);
    free(got);
    be->dense_backward(N, I, O, X, Wt, DY, skip ? NULL : DX, DW, skip ? NULL : DB);
    if (!skip) {
        compare("dx", got = get(be, DX, nx * 4), dx, dxm, nx, 0, SUM_RTOL);
        free(got);
        compare("db", got = get(be, DB, O * 4), db, dbm, O, 0, SUM_RTOL);
        free(got);
    }
    compare("dw", got = get(be, DW, nw * 4), dw, dwm, nw, 0, SUM_RTOL);
    free(got);
    done(be);
    be->free(X), be->free(Wt), be->free(DY), be->free(Y), be->free(DX), be->free(DW);
    be->free(DB);
    if (B)
        be->free(B);
    free(x), free(w), free(b), free(dy), free(ax), free(aw), free(ab), free(ady);
    free(y), free(ym), free(dx), free(dxm), free(dw), free(dwm), free(db), free(dbm);
}

static void test_dense(void)
{
    static const int cases[][3] = {   /* N, I, O */
        {1, 5, 3}, {3, 13, 11}, {3, 577, 65}, {2, 64, 7}, {3, 576, 256}, {7, 129, 33},
    };
    check_seed(3);
    for (int b = 0; b < NBACKENDS; b++)
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            dense_one(backends[b], cases[i][0], cases[i][1], cases[i][2], i % 2 == 0, 0);
            if (i % 2)
                dense_one(backends[b], cases[i][0], cases[i][1], cases[i][2], 1, 1);
        }
}

/* ---- batch norm ---- */

/* Tolerance: SUM_RTOL of each result's magnitude. The statistics are
 * sums over N HW; y = gamma (x - mean) invstd + beta has the magnitude
 * |gamma| invstd (|x| + |mean|) + |beta| (a float x a + b cancels between
 * its terms when the mean is large); the running variance and invstd,
 * positive, their own; dbeta and dgamma sum |dy| and |dy xhat|; dx =
 * gamma invstd (dy - dbeta / M - xhat dgamma / M) the same with absolute
 * values. x in [-1, 3]: a mean off zero, as after a ReLU. */
static void bn_one(const fer_backend *be, int N, int C, int HW)
{
    const size_t n = (size_t)N * C * HW;
    const double M = (double)N * HW;
    const float eps = 1e-5f, mom = 0.1f;
    float *x = randv(n, -1, 3), *dy = randv(n, -1, 1), *gamma = randv(C, 0.5f, 1.5f);
    float *beta = randv(C, -0.5f, 0.5f), *rm0 = randv(C, -0.5f, 0.5f), *rv0 = randv(C, 0.5f, 1.5f);
    float *rm = host(C * 4), *rv = host(C * 4), *sm = host(C * 4), *si = host(C * 4);
    float *y = host(n * 4), *ymag = host(n * 4), *yi = host(n * 4), *yimag = host(n * 4);
    float *dx = host(n * 4), *dxmag = host(n * 4), *dg = host(C * 4), *dgmag = host(C * 4);
    float *dbt = host(C * 4), *dbmag = host(C * 4), *smmag = host(C * 4), *rmmag = host(C * 4);
    float *got, *X, *DY, *G, *Bt, *RM, *RV, *SM, *SI, *Y, *DX, *DG, *DBt;
    set_ctx(be, "batch norm N%d C%d HW%d", N, C, HW);
    memcpy(rm, rm0, C * 4), memcpy(rv, rv0, C * 4);
    fer_backend_ref.bn_forward_train(N, C, HW, x, gamma, beta, eps, mom, rm, rv, y, sm, si);
    fer_backend_ref.bn_forward_infer(N, C, HW, x, gamma, beta, eps, rm0, rv0, yi);
    fer_backend_ref.bn_backward(N, C, HW, x, dy, gamma, sm, si, dx, dg, dbt);
    for (int c = 0; c < C; c++) {
        const double is = si[c], ii = 1 / sqrt((double)rv0[c] + eps);
        double sx = 0, sdy = 0, sdyx = 0;
        for (int k = 0; k < N; k++)
            for (int i = 0; i < HW; i++) {
                const size_t at = ((size_t)k * C + c) * HW + i;
                sx += fabs(x[at]);
                sdy += fabs(dy[at]);
                sdyx += fabs(dy[at] * (x[at] - sm[c]) * is);
            }
        for (int k = 0; k < N; k++)
            for (int i = 0; i < HW; i++) {
                const size_t at = ((size_t)k * C + c) * HW + i;
                ymag[at] = (float)(gamma[c] * is * (fabs(x[at]) + fabs(sm[c])) + fabs(beta[c]));
                yimag[at] = (float)(gamma[c] * ii * (fabs(x[at]) + fabs(rm0[c])) + fabs(beta[c]));
                dxmag[at] = (float)(gamma[c] * is *
                                    (fabs(dy[at]) + sdy / M + fabs(x[at] - sm[c]) * is * sdyx / M));
            }
        smmag[c] = (float)(sx / M);
        rmmag[c] = (float)((1 - mom) * fabs(rm0[c]) + mom * sx / M);
        dbmag[c] = (float)sdy;
        dgmag[c] = (float)sdyx;
    }

    X = put(be, x, n * 4), DY = put(be, dy, n * 4), G = put(be, gamma, C * 4);
    Bt = put(be, beta, C * 4), RM = put(be, rm0, C * 4), RV = put(be, rv0, C * 4);
    SM = put(be, NULL, C * 4), SI = put(be, NULL, C * 4), Y = put(be, NULL, n * 4);
    DX = put(be, NULL, n * 4), DG = put(be, NULL, C * 4), DBt = put(be, NULL, C * 4);
    be->bn_forward_train(N, C, HW, X, G, Bt, eps, mom, RM, RV, Y, SM, SI);
    compare("y (train)", got = get(be, Y, n * 4), y, ymag, n, 0, SUM_RTOL);
    free(got);
    compare("save_mean", got = get(be, SM, C * 4), sm, smmag, C, 0, SUM_RTOL);
    free(got);
    compare("save_invstd", got = get(be, SI, C * 4), si, NULL, C, 0, SUM_RTOL);
    free(got);
    compare("running_mean", got = get(be, RM, C * 4), rm, rmmag, C, 0, SUM_RTOL);
    free(got);
    compare("running_var", got = get(be, RV, C * 4), rv, NULL, C, 0, SUM_RTOL);
    free(got);
    be->upload(RM, rm0, C * 4), be->upload(RV, rv0, C * 4);
    be->bn_forward_infer(N, C, HW, X, G, Bt, eps, RM, RV, Y);
    compare("y (infer)", got = get(be, Y, n * 4), yi, yimag, n, 0, SUM_RTOL);
    free(got);
    /* backward from the reference's saved statistics, so that it is
     * tested on its own */
    be->upload(SM, sm, C * 4), be->upload(SI, si, C * 4);
    be->bn_backward(N, C, HW, X, DY, G, SM, SI, DX, DG, DBt);
    compare("dx", got = get(be, DX, n * 4), dx, dxmag, n, 0, SUM_RTOL);
    free(got);
    compare("dgamma", got = get(be, DG, C * 4), dg, dgmag, C, 0, SUM_RTOL);
    free(got);
    compare("dbeta", got = get(be, DBt, C * 4), dbt, dbmag, C, 0, SUM_RTOL);
    free(got);
    done(be);
    be->free(X), be->free(DY), be->free(G), be->free(Bt), be->free(RM), be->free(RV);
    be->free(SM), be->free(SI), be->free(Y), be->free(DX), be->free(DG), be->free(DBt);
    free(x), free(dy), free(gamma), free(beta), free(rm0), free(rv0), free(rm), free(rv);
    free(sm), free(si), free(y), free(ymag), free(yi), free(yimag), free(dx), free(dxmag);
    free(dg), free(dgmag), free(dbt), free(dbmag), free(smmag), free(rmmag);
}

static void test_batchnorm(void)
{
    /* HW of 1 (after a dense layer; M = 2 and 3), under 64 (by channel on
     * the CPU), 64 and more (by image), and 32 x 24 x 24 with threads */
    static const int cases[][3] = {   /* N, C, HW */
        {2, 5, 1}, {3, 7, 1}, {1, 3, 35}, {3, 5, 63}, {1, 4, 99}, {3, 6, 99}, {3, 32, 576},
    };
    check_seed(4);
    for (int b = 0; b < NBACKENDS; b++)
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
            bn_one(backends[b], cases[i][0], cases[i][1], cases[i][2]);
}

/* ---- ReLU, leaky ReLU, add: exact ---- */

/* n random values, with exact zeros among them (every 97th; PyTorch's
 * gradient at 0 is a convention the backends must share). */
static float *act_input(size_t n)
{
    float *x = randv(n, -1, 1);
    for (size_t i = 0; i < n; i += 97)
        x[i] = 0;
    return x;
}

/* Runs op forward out of place and in place and backward, against the
 * reference; a < 0 is ReLU, else leaky ReLU of slope a. */
static void act_one(const fer_backend *be, size_t n, float a)
{
    float *x = act_input(n), *dy = randv(n, -1, 1), *y = host(n * 4), *dx = host(n * 4), *got;
    float *X = put(be, x, n * 4), *DY = put(be, dy, n * 4), *Y = put(be, NULL, n * 4);
    if (a < 0)
        set_ctx(be, "relu n%zu", n);
    else
        set_ctx(be, "leaky relu %g n%zu", a, n);
    if (a < 0) {
        fer_backend_ref.relu_forward(n, x, y);
        fer_backend_ref.relu_backward(n, x, dy, dx);
        be->relu_forward(n, X, Y);
    } else {
        fer_backend_ref.lrelu_forward(n, a, x, y);
        fer_backend_ref.lrelu_backward(n, a, x, dy, dx);
        be->lrelu_forward(n, a, X, Y);
    }
    compare("y", got = get(be, Y, n * 4), y, NULL, n, 0, 0);
    free(got);
    if (a < 0)
        be->relu_backward(n, X, DY, Y);
    else
        be->lrelu_backward(n, a, X, DY, Y);
    compare("dx", got = get(be, Y, n * 4), dx, NULL, n, 0, 0);
    free(got);
    /* in place: y over x */
    if (a < 0)
        be->relu_forward(n, X, X);
    else
        be->lrelu_forward(n, a, X, X);
    compare("y (in place)", got = get(be, X, n * 4), y, NULL, n, 0, 0);
    free(got);
    done(be);
    be->free(X), be->free(DY), be->free(Y);
    free(x), free(dy), free(y), free(dx);
}

static void test_activations(void)
{
    /* 2 chunks and a bit of the CPU's 65536 */
    static const size_t sizes[] = {1, 7, 1001, 131075};
    check_seed(5);
    for (int b = 0; b < NBACKENDS; b++)
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
            act_one(backends[b], sizes[i], -1);
            act_one(backends[b], sizes[i], 0.01f);
            act_one(backends[b], sizes[i], 0.2f);
        }
}

/* y = a + b; a copy when b is NULL; y over a, over b. */
static void add_one(const fer_backend *be, size_t n)
{
    float *a = randv(n, -1, 1), *b = randv(n, -1, 1), *y = host(n * 4), *got;
    float *A = put(be, a, n * 4), *B = put(be, b, n * 4), *Y = put(be, NULL, n * 4);
    set_ctx(be, "add n%zu", n);
    fer_backend_ref.add(n, a, b, y);
    be->add(n, A, B, Y);
    compare("y", got = get(be, Y, n * 4), y, NULL, n, 0, 0);
    free(got);
    be->add(n, B, NULL, Y);
    compare("copy", got = get(be, Y, n * 4), b, NULL, n, 0, 0);
    free(got);
    be->add(n, A, B, A);
    compare("y over a", got = get(be, A, n * 4), y, NULL, n, 0, 0);
    free(got);
    be->upload(A, a, n * 4);
    be->add(n, A, B, B);
    compare("y over b", got = get(be, B, n * 4), y, NULL, n, 0, 0);
    free(got);
    done(be);
    be->free(A), be->free(B), be->free(Y);
    free(a), free(b), free(y);
}

static void test_add(void)
{
    static const size_t sizes[] = {1, 7, 1001, 131075};
    check_seed(6);
    for (int b = 0; b < NBACKENDS; b++)
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
            add_one(backends[b], sizes[i]);
}

/* ---- dropout: exact, the same mask from the same seed ---- */

static void dropout_one(const fer_backend *be, size_t n, float p)
{
    float *x = randv(n, -1, 1), *dy = randv(n, -1, 1), *y = host(n * 4), *dx = host(n * 4), *got;
    uint8_t *mask = host(n), *gmask;
    float *X = put(be, x, n * 4), *DY = put(be, dy, n * 4), *Y = put(be, NULL, n * 4);
    uint8_t *MASK = put(be, NULL, n), *MK = put(be, NULL, n);
    const uint64_t key = fer_rng_key_base(1234 + n, 5, 3);
    set_ctx(be, "dropout p %g n%zu", p, n);
    fer_backend_ref.dropout_forward(n, p, key, x, y, mask);
    fer_backend_ref.dropout_backward(n, p, mask, dy, dx);
    be->dropout_forward(n, p, key, X, Y, MASK);
    compare_u8("mask", gmask = get(be, MASK, n), mask, n);
    free(gmask);
    compare("y", got = get(be, Y, n * 4), y, NULL, n, 0, 0);
    free(got);
    /* backward from the reference's mask */
    be->upload(MK, mask, n);
    be->dropout_backward(n, p, MK, DY, Y);
    compare("dx", got = get(be, Y, n * 4), dx, NULL, n, 0, 0);
    free(got);
    /* in place, as a net runs it */
    be->dropout_forward(n, p, key, X, X, MASK);
    compare("y (in place)", got = get(be, X, n * 4), y, NULL, n, 0, 0);
    free(got);
    done(be);
    be->free(X), be->free(DY), be->free(Y), be->free(MASK), be->free(MK);
    free(x), free(dy), free(y), free(dx), free(mask);
}

static void test_dropout(void)
{
    static const size_t sizes[] = {1, 1001, 131075};
    static const float ps[] = {0.3f, 0.5f, 0, 1};   /* p = 0 and 1 draw nothing */
    check_seed(7);
    for (int b = 0; b < NBACKENDS; b++)
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
            for (size_t k = 0; k < sizeof ps / sizeof *ps; k++)
                dropout_one(backends[b], sizes[i], ps[k]);
}

/* ---- pooling ---- */

/* Max pool forward and its argmax: exact (a selection). Backward adds dy
 * into the argmax, up to 4 terms where windows overlap (k > stride), in
 * whatever order a backend likes: 4 U of the magnitude (the sum of |dy|
 * routed to the element). ties: values drawn from {-1, 0, 1} and now
 * and then NaN, for the rules of layers.h (first maximum in row-major
 * order; a NaN wins). */
static void maxpool_one(const fer_backend *be, int N, int C, int H, int W, int k, int st,
                        int ties)
{
    const int P = (H - k) / st + 1, Q = (W - k) / st + 1;
    const size_t nx = (size_t)N * C * H * W, ny = (size_t)N * C * P * Q;
    float *x = randv(nx, -1, 1), *dy = randv(ny, -1, 1), *ady = absv(dy, ny);
    float *y = host(ny * 4), *dx = host(nx * 4), *dxm = host(nx * 4), *got;
    int32_t *am = host(ny * 4), *gam;
    float *X, *DY, *Y, *DX;
    int32_t *AM, *AMR;
    set_ctx(be, "maxpool N%d C%d %dx%d k%d/%d%s", N, C, H, W, k, st, ties ? " ties, NaN" : "");
    if (ties)
        for (size_t i = 0; i < nx; i++)
            x[i] = i % 53 == 7 ? NAN : roundf(x[i]);
    fer_backend_ref.maxpool_forward(N, C, H, W, k, st, x, y, am);
    fer_backend_ref.maxpool_backward(N, C, H, W, k, st, dy, am, dx);
    fer_backend_ref.maxpool_backward(N, C, H, W, k, st, ady, am, dxm);
    X = put(be, x, nx * 4), DY = put(be, dy, ny * 4), Y = put(be, NULL, ny * 4);
    DX = put(be, NULL, nx * 4), AM = put(be, NULL, ny * 4), AMR = put(be, am, ny * 4);
    be->maxpool_forward(N, C, H, W, k, st, X, Y, AM);
    compare("y", got = get(be, Y, ny * 4), y, NULL, ny, 0, 0);
    free(got);
    compare_i32("argmax", gam = get(be, AM, ny * 4), am, ny);
    free(gam);
    be->maxpool_backward(N, C, H, W, k, st, DY, AMR, DX);
    compare("dx", got = get(be, DX, nx * 4), dx, dxm, nx, 0, 4 * U);
    free(got);
    done(be);
    be->free(X), be->free(DY), be->free(Y), be->free(DX), be->free(AM), be->free(AMR);
    free(x), free(dy), free(ady), free(y), free(dx), free(dxm), free(am);
}

/* Average pool: forward a sum, SUM_RTOL of the magnitude (the mean of
 * |x|); backward dy / HW, one rounding (U of |want|, room for a backend
 * that multiplies by 1 / HW, itself rounded: 2 U). */
static void avgpool_one(const fer_backend *be, int N, int C, int HW)
{
    const size_t nx = (size_t)N * C * HW, ny = (size_t)N * C;
    float *x = randv(nx, -1, 1), *ax = absv(x, nx), *dy = randv(ny, -1, 1);
    float *y = host(ny * 4), *ym = host(ny * 4), *dx = host(nx * 4), *got;
    float *X = put(be, x, nx * 4), *DY = put(be, dy, ny * 4), *Y = put(be, NULL, ny * 4);
    float *DX = put(be, NULL, nx * 4);
    set_ctx(be, "avgpool N%d C%d HW%d", N, C, HW);
    fer_backend_ref.avgpool_forward(N, C, HW, x, y);
    fer_backend_ref.avgpool_forward(N, C, HW, ax, ym);
    fer_backend_ref.avgpool_backward(N, C, HW, dy, dx);
    be->avgpool_forward(N, C, HW, X, Y);
    compare("y", got = get(be, Y, ny * 4), y, ym, ny, 0, SUM_RTOL);
    free(got);
    be->avgpool_backward(N, C, HW, DY, DX);
    compare("dx", got = get(be, DX, nx * 4), dx, NULL, nx, 0, 2 * U);
    free(got);
    done(be);
    be->free(X), be->free(DY), be->free(Y), be->free(DX);
    free(x), free(ax), free(dy), free(y), free(ym), free(dx);
}

static void test_pool(void)
{
    static const int cases[][7] = {   /* N, C, H, W, k, stride, ties */
        {3, 5, 7, 9, 2, 2, 0},        /* odd: the last row and column fill no window */
        {3, 5, 7, 9, 3, 2, 0},        /* overlapping windows */
        {1, 3, 8, 5, 3, 1, 0},
        {1, 2, 5, 5, 5, 3, 0},        /* one window per plane */
        {3, 4, 9, 19, 2, 2, 0},       /* rows of 9 windows: SIMD and a tail */
        {3, 32, 24, 24, 2, 2, 0},     /* threads */
        {3, 4, 9, 19, 2, 2, 1},
        {3, 5, 7, 9, 3, 2, 1},
    };
    static const int avg[][3] = {{1, 3, 35}, {3, 5, 1}, {3, 32, 36}, {2, 7, 576}};
    check_seed(8);
    for (int b = 0; b < NBACKENDS; b++) {
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            const int *c = cases[i];
            maxpool_one(backends[b], c[0], c[1], c[2], c[3], c[4], c[5], c[6]);
        }
        for (size_t i = 0; i < sizeof avg / sizeof *avg; i++)
            avgpool_one(backends[b], avg[i][0], avg[i][1], avg[i][2]);
    }
}

/* ---- softmax cross-entropy ---- */

/* The reference is layers.h's, in double. A backend may do the softmax
 * in float: probs and dlogits to 1e-5 relative (exp of a float argument
 * of up to ~10 carries ~10 U) plus 1e-7 absolute (a probability near 1
 * minus the label's 1), the loss to 1e-5 relative. */
static void xent_one(const fer_backend *be, int N, int K, int weighted, float smoothing)
{
    const size_t n = (size_t)N * K;
    float *z = randv(n, -4, 4), *cw = weighted ? randv(K, 0.2f, 2) : NULL;
    float *p = host(n * 4), *dz = host(n * 4), *got;
    int32_t *lab = host(N * 4);
    float *Z, *CW, *P, *DZ;
    int32_t *L;
    double loss, gloss, *GL;
    set_ctx(be, "xent N%d K%d%s smoothing %g", N, K, weighted ? " weighted" : "", smoothing);
    for (int i = 0; i < N; i++)
        lab[i] = (int32_t)(check_uniform() * K);
    fer_backend_ref.xent_forward(N, K, z, lab, cw, smoothing, p, &loss);
    fer_backend_ref.xent_backward(N, K, p, lab, cw, smoothing, dz);
    Z = put(be, z, n * 4), CW = cw ? put(be, cw, K * 4) : NULL, L = put(be, lab, N * 4);
    P = put(be, NULL, n * 4), DZ = put(be, NULL, n * 4), GL = put(be, NULL, sizeof gloss);
    be->xent_forward(N, K, Z, L, CW, smoothing, P, GL);
    be->download(&gloss, GL, sizeof gloss);
    CHECK(fabs(gloss - loss) <= 1e-5 * fabs(loss), "%s: loss %.9g, want %.9g", ctx, gloss, loss);
    compare("probs", got = get(be, P, n * 4), p, NULL, n, 1e-7, 1e-5);
    free(got);
    be->xent_backward(N, K, P, L, CW, smoothing, DZ);
    compare("dlogits", got = get(be, DZ, n * 4), dz, NULL, n, 1e-7, 1e-5);
    free(got);
    done(be);
    be->free(Z), be->free(L), be->free(P), be->free(DZ), be->free(GL);
    if (CW)
        be->free(CW);
    free(z), free(cw), free(p), free(dz), free(lab);
}

static void test_xent(void)
{
    static const int cases[][2] = {{1, 7}, {3, 7}, {5, 3}, {2, 2}};
    check_seed(9);
    for (int b = 0; b < NBACKENDS; b++)
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            xent_one(backends[b], cases[i][0], cases[i][1], 0, 0);
            xent_one(backends[b], cases[i][0], cases[i][1], 1, 0.1f);
            xent_one(backends[b], cases[i][0], cases[i][1], (int)i % 2, 0.25f);
        }
}

/* ---- the optimiser ---- */

/* Segments of a flat block as a net lays them out: 64-byte aligned, with
 * gaps that no step may touch; one longer than the CPU's 16384-element
 * chunk; single elements. Each with its own rate share and decay. */
static const fer_optim_segment segs[] = {
    {0, 7, 1, 0.01f}, {16, 1, 2, 0}, {32, 20000, 1, 0.05f}, {20032, 333, 0.5f, 0.1f},
    {20368, 16, 1, 0},
};
#define NSEG (int)(sizeof segs / sizeof *segs)
#define BLOCK 20400

/* sum_squares sums squares of floats, each exact in double, in double:
 * any order errs by at most n 2^-53 of the sum. */
static void sum_squares_one(const fer_backend *be)
{
    float *g = randv(BLOCK, -1, 1), *G = put(be, g, BLOCK * 4);
    double *S = put(be, NULL, sizeof(double));
    size_t n = 0;
    double want, got = NAN;
    set_ctx(be, "sum_squares");
    for (int s = 0; s < NSEG; s++)
        n += segs[s].n;
    fer_backend_ref.sum_squares(g, segs, NSEG, &want);
    be->sum_squares(G, segs, NSEG, S);
    be->download(&got, S, sizeof got);
    CHECK(fabs(got - want) <= n * 0x1p-53 * want, "%s: %.17g, want %.17g", ctx, got, want);
    done(be);
    be->free(G), be->free(S);
    free(g);
}

/* One step of kind from w, g and moments m, v (zero on the first step,
 * as fer_optim_new leaves them) against the reference step in double.
 * Tolerance: 64 U of each result's magnitude (the update with every term
 * by its absolute value, ref_optim_step_mag): a float step rounds about
 * ten times; a wrong term is of the order of the update, lr |g| >= 1e-3
 * of |w| here, far above. Elements outside the segments must stay: their
 * magnitude is |w|, under which any update shows. */
static void step_one(const fer_backend *be, int kind, float mu, int nesterov, long t, float gs,
                     int clip)
{
    /* clip: the backend works gs out from a sum of squares in its memory
     * (backend.h's rule), the reference gets that gs */
    const double norm = 2.5, clip_at = 1.5, sumsq = norm * norm;
    double *S = clip ? put(be, &sumsq, sizeof sumsq) : NULL;
    if (clip)
        gs = (float)(clip_at / (sqrt(sumsq) + 1e-6));
    const double lr = 0.05, b1 = 0.9, b2 = 0.999;
    const size_t bytes = BLOCK * 4;
    float *w = randv(BLOCK, -1, 1), *g = randv(BLOCK, -1, 1);
    float *m = t == 1 && kind != FER_STEP_SGD ? calloc(BLOCK, 4) : randv(BLOCK, -0.5f, 0.5f);
    float *v = kind == FER_STEP_SGD ? NULL : t == 1 ? calloc(BLOCK, 4) : randv(BLOCK, 0, 0.5f);
    float *w0 = host(bytes), *m0 = host(bytes), *v0 = host(bytes);
    float *mw = host(bytes), *mm = host(bytes), *mv = host(bytes), *got;
    float *W, *G, *M, *V;
    fer_optim_step_args a = {.kind = kind, .seg = segs, .nseg = NSEG, .lr = lr,
                             .bc1 = 1 - pow(b1, (double)t), .bc2 = 1 - pow(b2, (double)t),
                             .gs = gs, .momentum = mu, .beta1 = (float)b1, .beta2 = (float)b2,
                             .eps = 1e-8f, .nesterov = nesterov, .t = t};
    set_ctx(be, "step %s%s%s t %ld gs %g", kind == FER_STEP_SGD ? "sgd" : kind == FER_STEP_ADAM ?
            "adam" : "adamw", kind == FER_STEP_SGD && mu == 0 ? " no momentum" : "",
            nesterov ? " nesterov" : "", t, gs);
    memcpy(w0, w, bytes), memcpy(m0, m, bytes);
    if (v)
        memcpy(v0, v, bytes);
    W = put(be, w, bytes), G = put(be, g, bytes), M = put(be, m, bytes);
    V = v ? put(be, v, bytes) : NULL;
    a.w = w, a.g = g, a.m = m, a.v = v;
    ref_optim_step_mag(&a, mw, mm, mv);
    for (size_t i = 0; i < BLOCK; i++) {   /* outside the segments: as they were */
        int in = 0;
        for (int s = 0; s < NSEG; s++)
            in |= i >= segs[s].off && i < segs[s].off + segs[s].n;
        if (!in)
            mw[i] = fabsf(w0[i]), mm[i] = fabsf(m0[i]), mv[i] = v ? fabsf(v0[i]) : 0;
    }
    a.w = W, a.g = G, a.m = M, a.v = V;
    a.sumsq = S, a.clip = clip_at;
    be->optim_step(&a);
    compare("w", got = get(be, W, bytes), w, mw, BLOCK, 0, 64 * U);
    free(got);
    compare("m", got = get(be, M, bytes), m, mm, BLOCK, 0, 64 * U);
    free(got);
    if (v) {
        compare("v", got = get(be, V, bytes), v, mv, BLOCK, 0, 64 * U);
        free(got);
    }
    done(be);
    be->free(W), be->free(G), be->free(M);
    if (V)
        be->free(V);
    if (S)
        be->free(S);
    free(w), free(g), free(m), free(v), free(w0), free(m0), free(v0), free(mw), free(mm), free(mv);
}

static void test_optim(void)
{
    check_seed(10);
    for (int b = 0; b < NBACKENDS; b++) {
        const fer_backend *be = backends[b];
        sum_squares_one(be);
        for (int k = 0; k < 3; k++) {
            /* plain, clipped (every gradient scaled), clipped by a norm
             * the backend reads from its memory */
            const float gs = k ? 0.6f : 1;
            const int clip = k == 2;
            step_one(be, FER_STEP_SGD, 0, 0, 1, gs, clip);
            step_one(be, FER_STEP_SGD, 0, 0, 3, gs, clip);
            for (int nesterov = 0; nesterov < 2; nesterov++) {
                step_one(be, FER_STEP_SGD, 0.9f, nesterov, 1, gs, clip);
                step_one(be, FER_STEP_SGD, 0.9f, nesterov, 4, gs, clip);
            }
            for (int kind = FER_STEP_ADAM; kind <= FER_STEP_ADAMW; kind++) {
                step_one(be, kind, 0, 0, 1, gs, clip);
                step_one(be, kind, 0, 0, 7, gs, clip);
            }
        }
    }
}

/* The weight average avg += k (w - avg): three roundings in float, 4 U of
 * |want| + |k (w - avg)|. */
static void test_ema(void)
{
    static const size_t sizes[] = {1, 1001, 131075};
    static const float ks[] = {1e-3f, 0.3f};
    check_seed(11);
    for (int b = 0; b < NBACKENDS; b++)
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
            for (size_t j = 0; j < 2; j++) {
                const fer_backend *be = backends[b];
                const size_t n = sizes[i];
                const float k = ks[j];
                float *w = randv(n, -1, 1), *avg = randv(n, -1, 1), *mag = host(n * 4), *got;
                float *W = put(be, w, n * 4), *A = put(be, avg, n * 4);
                set_ctx(be, "ema k %g n%zu", k, n);
                for (size_t e = 0; e < n; e++)
                    mag[e] = fabsf(k * (w[e] - avg[e]));
                fer_backend_ref.ema(n, k, w, avg);
                for (size_t e = 0; e < n; e++)
                    mag[e] += fabsf(avg[e]);
                be->ema(n, k, W, A);
                compare("avg", got = get(be, A, n * 4), avg, mag, n, 0, 4 * U);
                free(got);
                done(be);
                be->free(W), be->free(A);
                free(w), free(avg), free(mag);
            }
}

/* ---- training's batch: exact ----
 *
 * Every byte of a transform is integer work or single IEEE operations in
 * double in a fixed order (augment_px.h), and the preprocessing two float
 * operations, so every backend gives the same floats. Each case draws the
 * slots' transforms as training does (fer_augment_rng(seed, step, j),
 * fer_augment_draw), picks images of a small data set, repeats allowed,
 * and also checks the reference against fer_augment_random, what
 * training did before the op. */

typedef struct aug_case {
    const char *what;
    fer_augment_opts o;
} aug_case;

static void augment_one(const fer_backend *be, const aug_case *ac, int n, int c, int h, int w,
                        uint64_t step)
{
    enum { TOTAL = 5 };   /* images in the data set */
    const size_t img = (size_t)c * h * w;
    const float scale = 1 / (255 * 0.25f), shift = 0.5f / 0.25f;
    uint8_t *data = host(TOTAL * img), *px = host(2 * img), *D;
    int64_t index[3];
    fer_augment_params par[3];
    float *want = host(n * img * sizeof(float)), *old = host(n * img * sizeof(float)), *got, *X;
    set_ctx(be, "augment_batch %s n%d %dx%dx%d step %llu", ac->what, n, c, h, w,
            (unsigned long long)step);
    for (size_t i = 0; i < TOTAL * img; i++)
        data[i] = (uint8_t)(check_uniform() * 256);
    for (int j = 0; j < n; j++) {
        fer_rng r;
        index[j] = (int64_t)(check_uniform() * TOTAL);
        fer_augment_rng(&r, 99, step, (uint64_t)j);
        fer_augment_draw(&ac->o, c, h, w, &r, &par[j]);
        /* what training computed before the op */
        fer_augment_rng(&r, 99, step, (uint64_t)j);
        fer_augment_random(&ac->o, data + index[j] * img, c, h, w, &r, px, px + img);
        for (size_t i = 0; i < img; i++)
            old[j * img + i] = px[i] * scale - shift;
    }
    fer_backend_ref.augment_batch(n, c, h, w, data, index, par, scale, shift, want);
    compare("x (reference against fer_augment_random)", want, old, NULL, n * img, 0, 0);
    D = put(be, data, TOTAL * img);
    X = put(be, NULL, n * img * sizeof(float));
    be->augment_batch(n, c, h, w, D, index, par, scale, shift, X);
    /* the op read its host arrays before it returned */
    memset(par, 0xa5, sizeof par);
    memset(index, 0xff, sizeof index);
    compare("x", got = get(be, X, n * img * sizeof(float)), want, NULL, n * img, 0, 0);
    free(got);
    done(be);
    be->free(D), be->free(X);
    free(data), free(px), free(want), free(old);
}

static void test_augment_batch(void)
{
    static const int shapes[][3] = {{1, 7, 9}, {3, 11, 6}, {1, 5, 5}, {3, 24, 17}, {1, 48, 48}};
    static const aug_case cases[] = {
        {"none", {0}},
        {"flip", {.flip = 1}},
        {"shift", {.shift = 2}},
        {"rotate", {.rot_lo = -15, .rot_hi = 15}},
        {"scale", {.scale_lo = 0.8, .scale_hi = 1.2}},
        {"crop", {.crop = 1}},
        {"brightness", {.brightness = 0.3}},
        {"contrast", {.contrast = 0.4}},
        {"erase", {.erase = 1}},
        {"all", {.flip = 1, .shift = 1, .rot_lo = -10, .rot_hi = 20, .scale_lo = 0.9,
                 .scale_hi = 1.1, .crop = 2, .brightness = 0.2, .contrast = 0.2, .erase = 0.7}},
    };
    check_seed(15);
    for (int b = 0; b < NBACKENDS; b++)
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
            for (size_t k = 0; k < sizeof cases / sizeof *cases; k++)
                for (int n = 1; n <= 3; n += 2)
                    for (uint64_t step = 0; step < 3; step++)
                        augment_one(backends[b], &cases[k], n, shapes[s][0], shapes[s][1],
                                    shapes[s][2], step);
}

/* ---- one training step of whole nets ----
 *
 * Each net takes one step on the backend and on the reference from the
 * same parameters, input, labels and dropout seed. The fast convolutions
 * reorder sums, and that rounding (a few U) grows through the layers and
 * batch norm's division by the batch's spread (3 images), so the forward
 * values and gradients differ by more than a single op's: over dropout
 * seeds 1..12 and 31, at most 1.5e-4 of a tensor's largest gradient (a
 * gradient with cancellation: resnet18's conv1) and 5e-4 of a
 * probability. Tolerances:
 *   loss                1e-4 relative;
 *   probabilities       1e-5 + 1e-3 relative;
 *   each gradient       2e-3 of its tensor's largest |want| (a wrong op
 *                       moves gradients by a fair share of that scale:
 *                       batch norm's 1/M off by one is a third of it);
 *   running statistics  likewise, forward values averaged;
 *   weights after       1e-6 + 1e-5 relative. The reference's step takes
 *   the step            the backend's gradients (injected), so this part
 *                       checks the optimiser on the net's blocks alone:
 *                       Adam's first step is about lr sign(g), which
 *                       would turn the gradients' float noise, where a
 *                       gradient is near 0, into a difference of 2 lr.
 * An activation within ~1e-6 of a ReLU's kink or a max-pool tie can take
 * the other branch on another backend and show as a few large gradient
 * mismatches: compare_net lets 1 in 200 of a tensor (and one) through. */

enum { NB = 3 };   /* images per batch: odd, and enough for a dense batch norm */

typedef struct net_case {
    const char *arch;
    int optim;              /* FER_SGD, FER_ADAM, FER_ADAMW */
    const char *head;       /* fer_optim_scale_backbone's head, or NULL */
    int weighted;           /* class weights in the loss */
} net_case;

/* What one step leaves: the loss, the gradient norm (when clipping), the
 * probabilities, every learnable parameter's gradient (packed in creation
 * order) and every parameter and buffer after the step
 * (fer_net_params_read's layout). */
typedef struct net_result {
    double loss, norm;
    float *probs, *grads, *params;
} net_result;

/* The model of c at width 0.25 on 1x24x24 images, dropout on, with its
 * initial weights (He or Xavier) and every bias, batch-norm parameter and
 * running statistic drawn at random: nothing starts at 0 or 1. */
static int net_build(fer_model *m, const net_case *c)
{
    fer_model_opts o;
    fer_rng rng;
    float *p;
    fer_model_defaults(c->arch, &o);
    o.width = 0.25;
    o.h = o.w = 24;
    o.dropout = 0.25;
    o.dropout2 = 0.5;
    fer_rng_seed(&rng, 21);
    if (fer_model_build(m, c->arch, &o, &rng))
        return -1;
    for (int i = 0; i < fer_net_nparams(m->net); i++) {
        const fer_param *pr = fer_net_param(m->net, i);
        const char *dot = strrchr(pr->name, '.');
        float lo, hi;
        if (!strcmp(dot, ".running_var") || (!strcmp(dot, ".weight") && pr->ndim == 1))
            lo = 0.5f, hi = 1.5f;   /* variance, gamma */
        else if (pr->ndim == 1)
            lo = -0.3f, hi = 0.3f;  /* bias, beta, running mean */
        else
            continue;
        p = randv(pr->n, lo, hi);
        fer_net_param_write(m->net, i, p);
        free(p);
    }
    return 0;
}

/* One training step of net on backend be from parameters start: forward
 * with dropout (the generator seeded alike every time), loss with label
 * smoothing, backward, one step of the optimiser. When inject is given
 * (gradients packed as net_result's), the step takes those instead of
 * the ones backward left (which r->grads still gets). */
static int net_step(fer_net *net, const fer_backend *be, const net_case *c, const float *start,
                    const float *x, const int32_t *lab, const float *cw, const float *inject,
                    net_result *r)
{
    const int K = fer_net_outputs(net);
    fer_optim_opts oo;
    fer_optim *opt = NULL;
    size_t off = 0;
    fer_optim_defaults(&oo, c->optim);
    oo.lr = 0.05;
    oo.momentum = 0.9;
    oo.nesterov = 1;
    oo.weight_decay = c->optim == FER_ADAMW ? 0.05 : 5e-4;
    oo.decay_weights_only = c->optim == FER_ADAMW;
    oo.clip_norm = c->optim == FER_SGD ? 0.5 : 0;
    r->probs = host((size_t)NB * K * 4);
    r->grads = host(fer_net_count_weights(net) * 4);
    r->params = host(fer_net_param_floats(net) * 4);
    if (fer_net_set_backend(net, be) || fer_net_params_write(net, start) ||
        fer_net_plan(net, NB) || fer_net_forward(net, x, NB, 1, 31, 4, NULL) ||
        fer_net_loss(net, lab, cw, 0.1f, NB, &r->loss, r->probs) ||
        fer_net_backward(net, NULL, NB))
        goto fail;
    for (int i = 0; i < fer_net_nparams(net); i++) {
        const fer_param *p = fer_net_param(net, i);
        if (!p->learn)
            continue;
        if (fer_net_grad_read(net, i, r->grads + off))
            goto fail;
        if (inject)
            be->upload(fer_net_grad_block(net) + p->off, inject + off, p->n * 4);
        off += p->n;
    }
    if (!(opt = fer_optim_new(net, &oo)))
        goto fail;
    if (c->head)
        fer_optim_scale_backbone(opt, c->head, 0.3);
    fer_optim_step(opt, oo.lr);
    r->norm = fer_optim_norm(opt);
    fer_optim_free(opt);
    if (fer_net_params_read(net, r->params))
        goto fail;
    return 0;
fail:
    fer_optim_free(opt);
    CHECK(0, "%s: %s", ctx, fer_error());
    return -1;
}

static void net_result_free(net_result *r)
{
    free(r->probs), free(r->grads), free(r->params);
}

/* max |v| over n values */
static double absmax(const float *v, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(v[i]) > m)
            m = fabs(v[i]);
    return m;
}

static void net_one(const net_case *c)
{
    fer_model m;
    float *x, *start, *cw = NULL;
    int32_t lab[NB];
    if (net_build(&m, c)) {
        CHECK(0, "%s: %s", c->arch, fer_error());
        return;
    }
    const int K = fer_net_outputs(m.net);
    x = randv((size_t)NB * 24 * 24, -2, 2);
    for (int i = 0; i < NB; i++)
        lab[i] = (int32_t)(check_uniform() * K);
    if (c->weighted)
        cw = randv(K, 0.5f, 2);
    start = host(fer_net_param_floats(m.net) * 4);
    fer_net_params_read(m.net, start);
    for (int b = 0; b < NBACKENDS; b++) {
        const fer_backend *be = backends[b];
        net_result want, got;
        size_t off = 0, goff = 0;
        set_ctx(be, "%s", c->arch);
        if (net_step(m.net, be, c, start, x, lab, cw, NULL, &got))
            continue;
        if (net_step(m.net, &fer_backend_ref, c, start, x, lab, cw, got.grads, &want)) {
            net_result_free(&got);
            continue;
        }
        CHECK(fabs(got.loss - want.loss) <= 1e-4 * want.loss, "%s: loss %.9g, want %.9g", ctx,
              got.loss, want.loss);
        if (c->optim == FER_SGD)   /* clipped: gs < 1 */
            CHECK(want.norm > 0.5 && fabs(got.norm - want.norm) <= 1e-6 * want.norm,
                  "%s: gradient norm %.9g, want %.9g", ctx, got.norm, want.norm);
        compare("probs", got.probs, want.probs, NULL, (size_t)NB * K, 1e-5, 1e-3);
        for (int i = 0; i < fer_net_nparams(m.net); i++) {
            const fer_param *p = fer_net_param(m.net, i);
            char what[128];
            if (p->learn) {
                const double gmax = absmax(want.grads + goff, p->n);
                snprintf(what, sizeof what, "%s grad", p->name);
                compare_net(what, got.grads + goff, want.grads + goff, p->n, 2e-3 * gmax);
                goff += p->n;
            }
            snprintf(what, sizeof what, "%s after the step", p->name);
            if (p->learn)
                compare(what, got.params + off, want.params + off, NULL, p->n, 1e-6, 1e-5);
            else   /* running statistics: forward values, as the gradients */
                compare_net(what, got.params + off, want.params + off, p->n,
                            2e-3 * absmax(want.params + off, p->n));
            off += p->n;
        }
        net_result_free(&got);
        net_result_free(&want);
    }
    fer_model_free(&m);
    free(x), free(start), free(cw);
}

static void test_net_cnn(void)
{
    const net_case c = {"cnn", FER_SGD, NULL, 1};
    check_seed(12);
    net_one(&c);
}

static void test_net_ff(void)
{
    const net_case c = {"ff", FER_ADAMW, NULL, 0};
    check_seed(13);
    net_one(&c);
}

static void test_net_resnet18(void)
{
    const net_case c = {"resnet18", FER_ADAM, "fc", 0};
    check_seed(14);
    net_one(&c);
}

/* Inference passes of one net, on each backend against the same net on
 * the reference: batches of NB, NB, NB (a backend with graphs records the
 * pass by now), 1 (another size: queued op by op), NB again (the graph),
 * then NB after the backend's own scratch memory has had to grow (the
 * graph is stale and must be recorded again), each with fresh input. */
static void test_net_infer_graph(void)
{
    const net_case c = {"cnn", FER_SGD, NULL, 0};
    static const int sizes[] = {NB, NB, NB, 1, NB, NB};
    fer_model m, r;
    check_seed(15);
    if (net_build(&m, &c) || net_build(&r, &c)) {
        CHECK(0, "cnn: %s", fer_error());
        return;
    }
    const int K = fer_net_outputs(m.net);
    float *start = host(fer_net_param_floats(m.net) * 4);
    float *got = host((size_t)NB * K * 4), *want = host((size_t)NB * K * 4);
    fer_net_params_read(m.net, start);
    fer_net_params_write(r.net, start);
    if (fer_net_set_backend(r.net, &fer_backend_ref) || fer_net_plan_infer(r.net, NB))
        CHECK(0, "reference: %s", fer_error());
    for (int b = 0; b < NBACKENDS; b++) {
        const fer_backend *be = backends[b];
        if (fer_net_set_backend(m.net, be) || fer_net_plan_infer(m.net, NB)) {
            CHECK(0, "%s: %s", be->name, fer_error());
            continue;
        }
        for (int k = 0; k < (int)(sizeof sizes / sizeof *sizes); k++) {
            const int n = sizes[k];
            float *x = randv((size_t)n * 24 * 24, -2, 2);
            if (k == 5 && be->graph_begin) {
                /* a batch norm over more channels than any before: its
                 * partial sums outgrow the scratch, which moves */
                const int C = 4096, HW = 64;
                float *big = put(be, NULL, (size_t)C * HW * 4), *v = put(be, NULL, C * 4);
                be->zero(big, (size_t)C * HW * 4);
                be->zero(v, C * 4);
                be->bn_forward_train(2, C / 2, HW, big, v, v, 1e-5f, 0.1f, v, v, big, v, v);
                done(be);
                be->free(big), be->free(v);
            }
            set_ctx(be, "cnn inference pass %d (batch %d)", k + 1, n);
            memset(got, 0xff, (size_t)NB * K * 4);
            if (fer_net_forward(m.net, x, n, 0, 0, 0, got) ||
                fer_net_forward(r.net, x, n, 0, 0, 0, want)) {
                CHECK(0, "%s: %s", ctx, fer_error());
                free(x);
                break;
            }
            compare("logits", got, want, NULL, (size_t)n * K, 1e-5, 1e-3);
            if (be->graph_begin && (k == 2 || k == 4))
                CHECK(fer_net_graph_batch(m.net) == NB, "%s: no graph recorded (batch %d)", ctx,
                      fer_net_graph_batch(m.net));
            free(x);
        }
    }
    fer_model_free(&m);
    fer_model_free(&r);
    free(start), free(got), free(want);
}

/* graph_refill on a backend with graphs: a recorded dropout and upload
 * replayed with a new key and new bytes give what running them with those
 * gives; a refill with other ops than the recording's leaves the graph
 * stale (graph_launch 1) and runs nothing. */
static void test_graph_refill(void)
{
    const size_t n = 3001;
    float *x = randv(n, -2, 2), *want = host(n * 4), *got;
    float *up = randv(64, -1, 1), *up2 = randv(64, -1, 1);
    uint8_t *mask = host(n);
    for (int b = 0; b < NBACKENDS; b++) {
        const fer_backend *be = backends[b];
        void *g;
        if (!be->graph_begin)
            continue;
        float *X = put(be, x, n * 4), *Y = put(be, NULL, n * 4), *Up = put(be, NULL, 64 * 4);
        uint8_t *M = put(be, NULL, n);
        set_ctx(be, "graph refill");
        CHECK(be->graph_begin() == 0, "%s: graph_begin: %s", ctx, fer_error());
        be->upload(Up, up, 64 * 4);
        be->dropout_forward(n, 0.4f, fer_rng_key_base(5, 1, 2), X, Y, M);
        CHECK((g = be->graph_end()) != NULL, "%s: graph_end: %s", ctx, fer_error());
        if (!g) {
            be->free(X), be->free(Y), be->free(Up), be->free(M);
            continue;
        }
        for (int k = 0; k < 3; k++) {
            const uint64_t key = fer_rng_key_base(5, 7 + (uint64_t)k, 2);
            be->graph_refill(g);
            be->upload(Up, k % 2 ? up : up2, 64 * 4);
            be->dropout_forward(n, 0.4f, key, X, Y, M);
            CHECK(be->graph_launch(g) == 0, "%s: replay %d: stale", ctx, k);
            fer_backend_ref.dropout_forward(n, 0.4f, key, x, want, mask);
            compare("dropout replayed", got = get(be, Y, n * 4), want, NULL, n, 0, 0);
            free(got);
            compare("upload replayed", got = get(be, Up, 64 * 4), k % 2 ? up : up2, NULL, 64, 0, 0);
            free(got);
        }
        /* other ops: stale, and Y keeps the last replay's values */
        be->graph_refill(g);
        be->dropout_forward(n, 0.4f, fer_rng_key_base(9, 9, 9), X, Y, M);
        CHECK(be->graph_launch(g) == 1, "%s: a refill with other ops was not stale", ctx);
        compare("after a stale refill", got = get(be, Y, n * 4), want, NULL, n, 0, 0);
        free(got);
        done(be);
        be->graph_free(g);
        be->free(X), be->free(Y), be->free(Up), be->free(M);
    }
    free(x), free(want), free(up), free(up2), free(mask);
}

/* fer_train on each backend, its steps recorded as a graph and replayed
 * (where the backend has graphs) and op by op (no_graph): the same
 * weights and losses to the bit, over epochs whose validation replans the
 * net (the graph is recorded again), with dropout, transforms, Adam, a
 * warm-up and the weight average all changing values step by step. */
static void test_train_graph(void)
{
    const net_case c = {"cnn", FER_ADAM, NULL, 0};
    enum { NTRAIN = 4 * NB + 1, NVAL = 5 };
    fer_dataset d, v;
    fer_model m;
    check_seed(16);
    fer_dataset_init(&d, 1, 24, 24);
    fer_dataset_init(&v, 1, 24, 24);
    for (int i = 0; i < NTRAIN + NVAL; i++) {
        uint8_t px[24 * 24];
        for (int j = 0; j < 24 * 24; j++)
            px[j] = (uint8_t)(check_uniform() * 256);
        fer_dataset_push(i < NTRAIN ? &d : &v, px, (int)(check_uniform() * 7), FER_TRAINING);
    }
    d.nclasses = v.nclasses = 7;
    if (net_build(&m, &c)) {
        CHECK(0, "cnn: %s", fer_error());
        return;
    }
    const size_t np = fer_net_param_floats(m.net);
    float *start = host(np * 4), *a = host(np * 4), *b = host(np * 4);
    fer_net_params_read(m.net, start);
    for (int k = 0; k < NBACKENDS; k++) {
        const fer_backend *be = backends[k];
        fer_train_opts o;
        fer_train_result ra, rb;
        fer_train_defaults(&o);
        o.epochs = 2;
        o.batch = NB;
        o.warmup = 1;
        o.ema = 0.9;
        o.mirror = 1;
        o.rotate = 10;
        o.shift = 2;
        o.erase = 0.5;
        o.seed = 3;
        set_ctx(be, "training steps as a graph");
        for (int run = 0; run < 2; run++) {
            o.no_graph = run;
            fer_net_params_write(m.net, start);
            if (fer_net_set_backend(m.net, be) ||
                fer_train(&m, &d, &v, &o, run ? &rb : &ra)) {
                CHECK(0, "%s: %s", ctx, fer_error());
                break;
            }
            fer_net_params_read(m.net, run ? b : a);
        }
        compare("weights", a, b, NULL, np, 0, 0);
        CHECK(ra.last_train_loss == rb.last_train_loss, "%s: last loss %.17g, op by op %.17g", ctx,
              ra.last_train_loss, rb.last_train_loss);
        CHECK(rb.graph_steps == 0, "%s: no_graph replayed %ld steps", ctx, rb.graph_steps);
        if (be->graph_begin)   /* 4 steps an epoch: record at the 2nd, replay to the 4th */
            CHECK(ra.graph_steps >= 5, "%s: %ld steps from a graph, want 5 or more", ctx,
                  ra.graph_steps);
    }
    fer_model_free(&m);
    fer_dataset_free(&d);
    fer_dataset_free(&v);
    free(start), free(a), free(b);
}

static void test_open_backends(void)
{
    backends[NBACKENDS++] = &fer_backend_cpu;
#if defined(FER_CUDA) || defined(FER_TEST_CUDA_EMU)
    const fer_backend *gpu = fer_backend_cuda_open(0);
    /* FER_TEST_GEMM=cublas: the GPU's products by cuBLAS (gpu-check.sh) */
    const char *gemm = getenv("FER_TEST_GEMM");
    if (gpu && gemm && fer_backend_cuda_gemm(gemm)) {
        CHECK(0, "--gemm %s: %s", gemm, fer_error());
        gpu = NULL;
    }
    if (gpu)
        backends[NBACKENDS++] = gpu;
#ifdef FER_TEST_CUDA_EMU
    else
        CHECK(0, "the emulated CUDA backend: %s", fer_error());
#else
    else
        SKIP("the CUDA backend: %s", fer_error());
#endif
#endif
}

int main(void)
{
    RUN(test_open_backends);
    RUN(test_memory);
    RUN(test_conv);
    RUN(test_dense);
    RUN(test_batchnorm);
    RUN(test_activations);
    RUN(test_add);
    RUN(test_dropout);
    RUN(test_pool);
    RUN(test_xent);
    RUN(test_optim);
    RUN(test_ema);
    RUN(test_augment_batch);
    RUN(test_net_cnn);
    RUN(test_net_ff);
    RUN(test_net_resnet18);
    RUN(test_net_infer_graph);
    RUN(test_graph_refill);
    RUN(test_train_graph);
    return check_done();
}
