/* test_cpu_fuse.c: the CPU's fusions against the separate ops they
 * replace: training's (conv.h's fer_conv2d_forward_fused, layers.h's
 * fer_batchnorm_forward_train_stats, _stats_add and
 * fer_batchnorm_relu_backward_stats)
 * and inference's
 * (fer_conv2d_forward_infer_fused), on shapes that take each path
 * (Winograd by blocks and one block at a time, implicit GEMM by groups of
 * images and image by image, pointwise, stride 2, no bias), with and
 * without the ReLUs, on 1 and 2 threads, in fp32 and with bf16 products,
 * outputs filled with NaN first; inference's kept weight packs (the same
 * bits, really kept, repacked when asked or for another precision); then
 * whole nets with the fusions on and off: one training step, and
 * inference passes (the same logits solo and shared, and after weights
 * are written under the plan).
 *
 * Tolerances, and why:
 *   fused y: exact: the same kernel writes it, and the ReLU is
 *     relu_forward's expression;
 *   the sums of y and y^2: against sums of the unfused y in long double
 *     (x87's 64-bit mantissa). Ours add M = N P Q doubles (the squares
 *     of floats are exact in double), each within (M - 1) u of the sum of
 *     magnitudes (u = 2^-53): |got - want| <= M u sum |y| (and sum y^2);
 *     and the same bits on 1 and 2 threads (the parts do not depend on
 *     the thread count);
 *   batch norm from the sums against fer_batchnorm_forward_train on the
 *     same x, whose variance comes from two passes: the two variances
 *     differ by the cancellation of sum2 / M - mean^2 (relative M u
 *     E[x^2] / var, far below float's 2^-24), so the coefficients a =
 *     gamma invstd and b = beta - mean a may round an ulp apart; and the
 *     two-pass forward sums each plane of HW values in 16 float lanes,
 *     so its mean is within lane = (HW / 16 + 2) 2^-24 of E|x| of the
 *     exact one and its variance within lane relative. Saves and running
 *     statistics: two ulps (rtol 2.4e-7) + those bounds; y = x a + b:
 *     two ulps of |x a| and |b|, plus the bounds carried through a and
 *     b, plus 1e-7; with the ReLU, exactly max(y, 0) of the same call
 *     without it; with a residual add and its ReLU, exactly the add and
 *     the ReLU after the call without; its backward with the ReLU,
 *     exactly the ReLU's backward and then batch norm's (the same float
 *     operations on the same values, the ReLU's mask from coefficients
 *     made again by the same function);
 *   inference's fused conv: exact, against conv_forward, relu_forward,
 *     bn_forward_infer, relu_forward in turn: the same float operations
 *     on the same values (batch norm's coefficients from the same
 *     function); and so a whole net's inference logits, exact;
 *   a whole training step: the loss within 1e-5 relative (those ulps,
 *     carried through up to ten layers), the gradients
 *     of every parameter within 1% of their norm (relative L2). Only the
 *     batch norms' statistics are summed differently (ulps, above), but a
 *     max pool whose largest inputs lie within an ulp may then pick the
 *     other, which moves that window's gradient to its neighbour: whole
 *     gradients of the layers before it then differ by up to a few
 *     tenths of a percent. A wiring mistake (stats of the wrong tensor,
 *     a ReLU lost or doubled) moves them by far more. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "conv.h"
#include "conv_gemm.h"
#include "error.h"
#include "gemm.h"
#include "layers.h"
#include "model.h"
#include "net.h"
#include "rng.h"
#include "threads.h"

static float *nanv(size_t n)
{
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++)
        p[i] = NAN;
    return p;
}

/* Batch norm from the sums st against the two-pass forward on y (N, K,
 * PQ), then its ReLU. */
static void check_bn(int N, int K, int PQ, const float *y, const double *st)
{
    const size_t n = (size_t)N * K * PQ;
    float *g = check_randv(K, 0.5f, 2), *bt = check_randv(K, -1, 1), *rm = check_randv(K, -1, 1);
    float *rv = check_randv(K, 0.5f, 2), *rm2 = malloc(K * 4), *rv2 = malloc(K * 4);
    float *z = nanv(n), *z2 = nanv(n), *zr = nanv(n), *sm = nanv(K), *si = nanv(K);
    float *sm2 = nanv(K), *si2 = nanv(K);
    memcpy(rm2, rm, K * 4);
    memcpy(rv2, rv, K * 4);
    fer_batchnorm_forward_train(N, K, PQ, y, g, bt, 1e-5f, 0.1f, rm, rv, z, sm, si);
    fer_batchnorm_forward_train_stats(N, K, PQ, st, y, g, bt, 1e-5f, 0.1f, rm2, rv2, 0, z2, sm2,
                                      si2);
    /* the two-pass forward sums each plane in 16 float lanes: its mean is
     * within lane E|x| of the exact one, its variance within lane of it */
    const double lane = (PQ / 16 + 2) * 0x1p-24;
    double *ea = calloc(K, sizeof *ea);
    for (size_t i = 0; i < n; i++)
        ea[i / PQ % K] += fabs(y[i]) / ((double)N * PQ);
    for (int k = 0; k < K; k++) {
        CHECK_CLOSE(sm2[k], sm[k], lane * ea[k] + 1e-12, 2.4e-7);
        CHECK_CLOSE(si2[k], si[k], 1e-12, 2.4e-7 + lane);
        CHECK_CLOSE(rm2[k], rm[k], lane * ea[k] + 1e-12, 2.4e-7);
        CHECK_CLOSE(rv2[k], rv[k], 1e-12, 2.4e-7 + lane);
    }
    for (size_t i = 0; i < n; i++) {
        const int k = (int)(i / PQ % K);
        const double a = (double)g[k] * si[k], b = bt[k] - sm[k] * a;
        const double tol = (4.8e-7 + lane) * fabs(y[i] * a) + fabs(a) * lane * ea[k] +
                           4.8e-7 * fabs(b) + 1e-7;
        if (!(fabs((double)z2[i] - z[i]) <= tol)) {
            CHECK(0, "bn y[%zu] = %.9g, two-pass %.9g (tol %.3g)", i, z2[i], z[i], tol);
            break;
        }
    }
    /* the ReLU after it: exactly max(y, 0) of the call without */
    memcpy(rm2, rm, K * 4);
    fer_batchnorm_forward_train_stats(N, K, PQ, st, y, g, bt, 1e-5f, 0.1f, rm2, rv2, 1, zr, sm2,
                                      si2);
    for (size_t i = 0; i < n; i++)
        if (zr[i] != (z2[i] > 0 ? z2[i] : 0.0f)) {
            CHECK(0, "bn+relu y[%zu] = %.9g, want max(%.9g, 0)", i, zr[i], z2[i]);
            break;
        }
    /* a residual join in the same pass: max(y + s, 0) against the add
     * and the ReLU after it, bit for bit, also written over s itself */
    float *sc = check_randv(n, -1, 1), *want = nanv(n), *got = nanv(n), *inpl = nanv(n);
    for (size_t i = 0; i < n; i++) {
        const float v = z2[i] + sc[i];
        want[i] = v > 0.0f ? v : 0.0f;
    }
    fer_batchnorm_forward_train_stats_add(N, K, PQ, st, y, g, bt, 1e-5f, 0.1f, rm2, rv2, sc, 1,
                                          got, sm2, si2);
    memcpy(inpl, sc, n * 4);
    fer_batchnorm_forward_train_stats_add(N, K, PQ, st, y, g, bt, 1e-5f, 0.1f, rm2, rv2, inpl, 1,
                                          inpl, sm2, si2);
    CHECK(!memcmp(got, want, n * 4), "bn+add+relu differs from bn, add, relu (%d x %d x %d)", N,
          K, PQ);
    CHECK(!memcmp(inpl, want, n * 4), "bn+add+relu in place differs (%d x %d x %d)", N, K, PQ);
    free(sc), free(want), free(got), free(inpl);
    /* and its backward, the ReLU's mask taken from the sums, against the
     * ReLU's backward on that y and then batch norm's: the same bits */
    float *dy = check_randv(n, -1, 1), *dr = nanv(n), *dx = nanv(n), *dx2 = nanv(n);
    float *dg = nanv(K), *db = nanv(K), *dg2 = nanv(K), *db2 = nanv(K);
    fer_relu_backward(n, zr, dy, dr);
    fer_batchnorm_backward(N, K, PQ, y, dr, g, sm2, si2, dx, dg, db);
    fer_batchnorm_relu_backward_stats(N, K, PQ, st, y, dy, g, bt, 1e-5f, sm2, si2, dx2, dg2, db2);
    CHECK(!memcmp(dx, dx2, n * 4) && !memcmp(dg, dg2, K * 4) && !memcmp(db, db2, K * 4),
          "bn+relu backward from the sums differs from relu, then bn (%d x %d x %d)", N, K, PQ);
    free(dy), free(dr), free(dx), free(dx2), free(dg), free(db), free(dg2), free(db2);
    free(g), free(bt), free(rm), free(rv), free(rm2), free(rv2), free(z), free(z2), free(zr);
    free(sm), free(si), free(sm2), free(si2), free(ea);
}

/* Inference's fused conv on s against the ops one by one, every
 * combination of the two ReLUs and the batch norm. */
static void infer_one(const fer_conv_shape *s, const float *x, const float *w, const float *b,
                      float *ws, float *pack)
{
    const int K = s->K;
    const size_t yn = (size_t)s->N * K * s->P * s->Q;
    float *g = check_randv(K, 0.5f, 2), *bt = check_randv(K, -1, 1), *rm = check_randv(K, -1, 1);
    float *rv = check_randv(K, 0.5f, 2);
    float *sc = check_randv(yn, -1, 1);   /* a residual join's other input */
    for (int mode = 0; mode < 16; mode++) {
        const int r1 = mode & 1, bn = mode & 2, add = mode & 8, r2 = (mode & 4) && (bn || add);
        float *y = nanv(yn), *yf = nanv(yn);
        fer_conv2d_forward(s, x, w, b, y, ws);
        if (r1)
            fer_relu_forward(yn, y, y);
        if (bn)
            fer_batchnorm_forward_infer(s->N, K, s->P * s->Q, y, g, bt, 1e-5f, rm, rv, y);
        if (add)
            fer_add(yn, y, sc, y);
        if (r2)
            fer_relu_forward(yn, y, y);
        /* without a pack, then with one packed now and with it kept */
        for (int v = 0; v < 3; v++) {
            fer_conv2d_forward_infer_fused(s, x, w, b, r1, bn ? g : NULL, bt, 1e-5f, rm, rv,
                                           add ? sc : NULL, r2, yf, ws, v ? pack : NULL, v == 1);
            if (memcmp(yf, y, yn * sizeof *y)) {
                size_t i = 0;
                while (!memcmp(yf + i, y + i, sizeof *y))
                    i++;
                CHECK(0,
                      "infer fused (relu %d bn %d add %d relu %d, %s) y[%zu] = %.9g, the ops %.9g",
                      r1, !!bn, !!add, r2, v == 0 ? "no pack" : v == 1 ? "packed" : "pack kept",
                      i, yf[i], y[i]);
            }
        }
        free(y), free(yf);
    }
    free(g), free(bt), free(rm), free(rv), free(sc);
}

/* A kept pack is what the op uses: new weights without repack give the
 * old weights' y, with repack the new ones'; another precision packs
 * anew by itself. */
static void pack_kept(const fer_conv_shape *s, const float *x, const float *w, const float *b,
                      float *ws, float *pack)
{
    const size_t yn = (size_t)s->N * s->K * s->P * s->Q, wn = (size_t)s->K * s->C * s->R * s->S;
    float *w2 = check_randv(wn, -0.5f, 0.5f), *y = nanv(yn), *y2 = nanv(yn), *yf = nanv(yn);
    fer_conv2d_forward(s, x, w, b, y, ws);
    fer_conv2d_forward(s, x, w2, b, y2, ws);
    fer_conv2d_forward_infer_fused(s, x, w, b, 0, NULL, NULL, 0, NULL, NULL, NULL, 0, yf, ws, pack,
                                   1);
    fer_conv2d_forward_infer_fused(s, x, w2, b, 0, NULL, NULL, 0, NULL, NULL, NULL, 0, yf, ws, pack,
                                   0);
    CHECK(!memcmp(yf, y, yn * sizeof *y), "a kept pack: not the first weights' y");
    fer_conv2d_forward_infer_fused(s, x, w2, b, 0, NULL, NULL, 0, NULL, NULL, NULL, 0, yf, ws, pack,
                                   1);
    CHECK(!memcmp(yf, y2, yn * sizeof *y), "repacked: not the new weights' y");
    /* bf16 from a pack made in fp32: the bf16 product's bits, not fp32's */
    fer_gemm_set_precision("bf16");
    fer_conv2d_forward(s, x, w2, b, y, ws);
    fer_conv2d_forward_infer_fused(s, x, w2, b, 0, NULL, NULL, 0, NULL, NULL, NULL, 0, yf, ws, pack,
                                   0);
    CHECK(!memcmp(yf, y, yn * sizeof *y), "bf16 through an fp32 pack: not bf16's y");
    if (fer_conv_pack_kind(s) == 3)   /* direct (conv_direct.h): fp32 in every precision */
        CHECK(!memcmp(y, y2, yn * sizeof *y), "direct: bf16 changed the bits");
    else
        CHECK(memcmp(y, y2, yn * sizeof *y), "bf16 and fp32 gave the same bits: a void check");
    fer_gemm_set_precision("fp32");
    free(w2), free(y), free(y2), free(yf);
}

/* One shape: the fused forward on 1 and 2 threads against conv + ReLU and
 * long-double sums, then batch norm from its sums. */
static void one(int N, int C, int H, int W, int K, int R, int stride, int pad, int bias, int relu)
{
    fer_conv_shape s;
    CHECK(fer_conv_shape_init(&s, N, C, H, W, K, R, R, stride, pad) == 0, "shape");
    const size_t PQ = (size_t)s.P * s.Q, xn = (size_t)N * C * H * W, yn = (size_t)N * K * PQ;
    float *x = check_randv(xn, -1, 1), *w = check_randv((size_t)K * C * R * R, -0.5f, 0.5f);
    float *b = bias ? check_randv(K, -0.5f, 0.5f) : NULL, *y = nanv(yn);
    float *ws = malloc((fer_conv2d_workspace(&s) + 1) * sizeof(float));
    double *st[2] = {malloc(2 * K * sizeof(double)), malloc(2 * K * sizeof(double))};
    fer_conv2d_forward(&s, x, w, b, y, ws);
    if (relu)
        fer_relu_forward(yn, y, y);
    for (int t = 1; t <= 2; t++) {
        float *yf = nanv(yn);
        fer_threads_set(t);
        for (int i = 0; i < 2 * K; i++)
            st[t - 1][i] = NAN;
        fer_conv2d_forward_fused(&s, x, w, b, relu, yf, st[t - 1], ws);
        if (memcmp(yf, y, yn * sizeof *y)) {
            size_t i = 0;
            while (!memcmp(yf + i, y + i, sizeof *y))
                i++;
            CHECK(0, "%d threads: fused y[%zu] = %.9g, conv%s %.9g", t, i, yf[i],
                  relu ? " + relu" : "", y[i]);
        }
        free(yf);
    }
    fer_threads_set(2);
    const double M = (double)N * PQ, u = 0x1p-53;
    for (int k = 0; k < K; k++) {
        long double s1 = 0, s2 = 0, a1 = 0;
        for (int n = 0; n < N; n++)
            for (size_t i = 0; i < PQ; i++) {
                const double v = y[((size_t)n * K + k) * PQ + i];
                s1 += v, s2 += (long double)v * v, a1 += fabs(v);
            }
        CHECK(fabsl(st[0][k] - s1) <= M * u * a1 + 1e-300, "sum y channel %d: %.17g want %.17Lg",
              k, st[0][k], s1);
        CHECK(fabsl(st[0][K + k] - s2) <= M * u * s2 + 1e-300,
              "sum y^2 channel %d: %.17g want %.17Lg", k, st[0][K + k], s2);
    }
    CHECK(!memcmp(st[0], st[1], 2 * K * sizeof(double)), "the sums differ between 1 and 2 threads");
    check_bn(N, K, (int)PQ, y, st[0]);
    if (!relu) {
        /* a pack's first contents are anything: random bits here */
        const size_t pn = fer_conv2d_infer_pack_floats(&s);
        float *pack = check_randv(pn, -1, 1);
        for (int t = 1; t <= 2; t++) {
            fer_threads_set(t);
            infer_one(&s, x, w, b, ws, pack);
        }
        if (!strcmp(fer_gemm_precision(), "fp32"))
            pack_kept(&s, x, w, b, ws, pack);
        free(pack);
    }
    fer_threads_set(2);
    free(x), free(w), free(b), free(y), free(ws), free(st[0]), free(st[1]);
}

static void shapes(int relu)
{
    one(8, 16, 24, 24, 20, 3, 1, 1, 1, relu);   /* Winograd, by blocks */
    one(1, 16, 19, 21, 24, 3, 1, 1, 1, relu);   /* Winograd, one block at a time, odd edges */
    one(16, 32, 6, 6, 32, 3, 1, 1, 0, relu);    /* Winograd, small maps (channel-order bn) */
    one(5, 1, 12, 12, 16, 3, 1, 1, 1, relu);    /* direct: C = 1 (every net's first) */
    one(3, 1, 11, 10, 8, 5, 1, 2, 1, relu);     /* implicit GEMM, C = 1, 5x5 */
    one(4, 8, 13, 11, 12, 3, 2, 1, 1, relu);    /* stride 2, groups of images */
    one(3, 24, 9, 9, 40, 1, 1, 0, 0, relu);     /* pointwise, no bias */
    one(2, 6, 40, 40, 10, 3, 1, 1, 1, relu);    /* few channels: GEMM image by image */
}

static void test_fused_ops(void) { shapes(0); }
static void test_fused_ops_relu(void) { shapes(1); }

/* arch at width (and stages, unless 0), weights drawn from seed */
static void build_net(fer_model *m, const char *arch, double width, int stages, uint64_t seed)
{
    fer_model_opts o;
    fer_rng r;
    fer_model_defaults(arch, &o);
    o.width = width;
    if (stages)
        o.stages = stages;
    fer_rng_seed(&r, seed);
    if (fer_model_build(m, arch, &o, &r)) {   /* a broken test: nothing to compare */
        printf("FAIL build_net: %s: %s\n", arch, fer_error());
        exit(1);
    }
}

/* Parameters' gradients and the loss of one training step of arch with
 * the fusions on or off. */
static double step(fer_model *m, int fuse, const float *x, const int32_t *lab, int n,
                   float **grads)
{
    double loss = NAN;
    fer_net_set_fusion(m->net, fuse);
    CHECK(fer_net_plan(m->net, n) == 0, "plan: %s", fer_error());
    CHECK(fer_net_forward(m->net, x, n, 1, 3, 1, NULL) == 0 &&
              fer_net_loss(m->net, lab, NULL, 0, n, &loss, NULL) == 0 &&
              fer_net_backward(m->net, NULL, n) == 0,
          "step: %s", fer_error());
    for (int i = 0; i < fer_net_nparams(m->net); i++) {
        const fer_param *p = fer_net_param(m->net, i);
        grads[i] = NULL;
        if (p->learn && (grads[i] = malloc(p->n * sizeof(float))))
            fer_net_grad_read(m->net, i, grads[i]);
    }
    return loss;
}

static void whole_net(const char *arch, double width, int stages)
{
    fer_model m;
    const int n = 12;
    build_net(&m, arch, width, stages, 11);
    float *x = check_randv((size_t)n * 48 * 48, -2, 2);
    int32_t lab[12];
    for (int i = 0; i < n; i++)
        lab[i] = (int32_t)(check_uniform() * 7);
    const int np = fer_net_nparams(m.net);
    float **g1 = calloc(np, sizeof *g1), **g0 = calloc(np, sizeof *g0);
    /* (batch norm's running statistics move with the first step; a
     * training forward does not read them) */
    double l1 = step(&m, 1, x, lab, n, g1);
    double l0 = step(&m, 0, x, lab, n, g0);
    CHECK_CLOSE(l1, l0, 0, 1e-5);
    for (int i = 0; i < np; i++) {
        const fer_param *p = fer_net_param(m.net, i);
        double d = 0, a = 0;
        if (!g1[i] || !g0[i])
            continue;
        for (size_t j = 0; j < p->n; j++) {
            d += ((double)g1[i][j] - g0[i][j]) * ((double)g1[i][j] - g0[i][j]);
            a += (double)g0[i][j] * g0[i][j];
        }
        CHECK(sqrt(d) <= 1e-2 * sqrt(a) + 1e-30, "%s %s: fused gradient %.3g of its norm away",
              arch, p->name, sqrt(d / (a > 0 ? a : 1)));
        free(g1[i]), free(g0[i]);
    }
    free(g1), free(g0), free(x);
    fer_model_free(&m);
}

/* Inference logits of arch with the fusion on and off: the same bits. */
static void infer_net(const char *arch, double width, int stages, int n)
{
    fer_model m;
    build_net(&m, arch, width, stages, 12);
    /* batch norms with statistics of their own, not 0 and 1 */
    for (int i = 0; i < fer_net_nparams(m.net); i++) {
        const fer_param *p = fer_net_param(m.net, i);
        const char *dot = strrchr(p->name, '.');
        if (!dot || (strcmp(dot, ".running_mean") && strcmp(dot, ".running_var") &&
                     strcmp(dot, ".bias") && !strstr(p->name, "bn")))
            continue;
        float *v = check_randv(p->n, strcmp(dot, ".running_var") ? -0.5f : 0.5f, 1.5f);
        fer_net_param_write(m.net, i, v);
        free(v);
    }
    float *x = check_randv((size_t)n * 48 * 48, -2, 2), *l[2];
    for (int f = 0; f < 2; f++) {
        l[f] = nanv((size_t)n * 7);
        fer_net_set_fusion(m.net, f);
        CHECK(fer_net_plan_infer(m.net, n) == 0 && fer_net_forward(m.net, x, n, 0, 0, 0, l[f]) == 0,
              "%s: %s", arch, fer_error());
    }
    for (int i = 0; i < n * 7; i++)
        if (memcmp(&l[0][i], &l[1][i], sizeof(float))) {
            CHECK(0, "%s logit %d: fused %.9g, unfused %.9g", arch, i, l[1][i], l[0][i]);
            break;
        }
    free(x), free(l[0]), free(l[1]);
    fer_model_free(&m);
}

/* Weights written between inference passes of one plan (as fer-train's
 * EMA swap and a model load do): the next pass uses them. */
static void infer_rewrite(const char *arch, double width, int n)
{
    fer_model a, b;
    float *x = check_randv((size_t)n * 48 * 48, -2, 2), *la = nanv((size_t)n * 7);
    float *lb = nanv((size_t)n * 7);
    build_net(&a, arch, width, 0, 21);
    build_net(&b, arch, width, 0, 22);
    CHECK(fer_net_plan_infer(a.net, n) == 0 && fer_net_forward(a.net, x, n, 0, 0, 0, la) == 0 &&
              fer_net_forward(a.net, x, n, 0, 0, 0, la) == 0,
          "%s: %s", arch, fer_error());
    for (int i = 0; i < fer_net_nparams(b.net); i++) {   /* b's weights into a */
        const fer_param *p = fer_net_param(b.net, i);
        float *v = malloc(p->n * sizeof *v);
        fer_net_param_read(b.net, i, v);
        fer_net_param_write(a.net, i, v);
        free(v);
    }
    CHECK(fer_net_forward(a.net, x, n, 0, 0, 0, la) == 0 && fer_net_plan_infer(b.net, n) == 0 &&
              fer_net_forward(b.net, x, n, 0, 0, 0, lb) == 0,
          "%s: %s", arch, fer_error());
    CHECK(!memcmp(la, lb, (size_t)n * 7 * sizeof *la), "%s: rewritten weights not used", arch);
    /* passes of a small batch run solo and shared in turn (threadpick.h):
     * the same bits every time */
    for (int i = 0; i < 8; i++) {
        CHECK(fer_net_forward(a.net, x, n, 0, 0, 0, la) == 0, "%s: %s", arch, fer_error());
        if (memcmp(la, lb, (size_t)n * 7 * sizeof *la)) {
            CHECK(0, "%s: pass %d (solo or shared) gave other logits", arch, i);
            break;
        }
    }
    free(x), free(la), free(lb);
    fer_model_free(&a), fer_model_free(&b);
}

static void test_infer_nets(void)
{
    infer_rewrite("cnn", 0.25, 1);
    infer_rewrite("resnet18", 0.125, 2);
    infer_net("cnn", 0.25, 0, 5);
    infer_net("cnn", 0.125, 4, 1);
    infer_net("resnet18", 0.125, 0, 3);
    infer_net("resnet18", 0.125, 0, 1);
}

static void test_step_cnn(void) { whole_net("cnn", 0.25, 0); }
static void test_step_cnn4(void) { whole_net("cnn", 0.125, 4); }

/* bf16 products: the fused ops round the same operands as the ops one by
 * one, so they must give the same bits there too. (Whole steps are not
 * compared in bf16: a step's loss and gradients move by up to tens of
 * percent when its input moves by one float step, since an operand near a
 * bf16 rounding midpoint moves by 2^-8 and batch norm over a small batch
 * magnifies it; the fused ops are the same code in either precision.) */
static void test_fused_ops_bf16(void)
{
    fer_gemm_set_precision("bf16");
    shapes(0);
    shapes(1);
    fer_gemm_set_precision("fp32");
}
static void test_step_resnet18(void) { whole_net("resnet18", 0.125, 0); }

int main(void)
{
    check_seed(20261205);
    RUN(test_fused_ops);
    RUN(test_fused_ops_relu);
    RUN(test_fused_ops_bf16);
    RUN(test_step_cnn);
    RUN(test_step_cnn4);
    RUN(test_step_resnet18);
    RUN(test_infer_nets);
    return check_done();
}
