/* test_layers.c: activations, dropout, pooling, batch norm, dense, softmax
 * and cross-entropy. Forwards against straightforward double computations,
 * backwards against central finite differences of a random projection
 * L = sum g * y computed in double, on sizes that are multiples of nothing;
 * batch norm and the loss also against PyTorch when it is importable. */
#include <float.h>
#include <stdint.h>
#include <unistd.h>

#include "check.h"
#include "error.h"
#include "layers.h"
#include "threads.h"

static float *randv(size_t n, float lo, float hi)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = check_randf(lo, hi);
    return v;
}

/* Values in [0.01, 1] with random signs: at least 5 steps away from the kink
 * at 0 of ReLU, so that finite differences never straddle it. */
static float *rand_off_zero(size_t n)
{
    float *v = randv(n, 0.01f, 1);
    for (size_t i = 0; i < n; i++)
        if (check_uniform() < 0.5)
            v[i] = -v[i];
    return v;
}

static double dot(size_t n, const float *g, const float *y)
{
    double L = 0;
    for (size_t i = 0; i < n; i++)
        L += (double)g[i] * y[i];
    return L;
}

/* Central differences of loss(ctx) over each element of v against grad:
 * step 1e-3, divided by the step actually taken in float. Fails on
 * |a - n| > tol (1 + |n|), printing the first mismatch. The tolerance each
 * caller passes is justified there. */
typedef double (*loss_fn)(void *ctx);

static void grad_check(const char *what, loss_fn loss, void *ctx, float *v, size_t n,
                       const float *grad, double tol)
{
    for (size_t i = 0; i < n; i++) {
        const float keep = v[i];
        v[i] = keep + 1e-3f;
        const float hi = v[i];
        const double lp = loss(ctx);
        v[i] = keep - 1e-3f;
        const float lo = v[i];
        const double lm = loss(ctx);
        v[i] = keep;
        const double num = (lp - lm) / ((double)hi - lo);
        if (!(fabs(grad[i] - num) <= tol * (1 + fabs(num)))) {
            CHECK(0, "d%s[%zu]: analytic %.7g, numeric %.7g (tol %g)", what, i, grad[i], num, tol);
            return;
        }
    }
}

/* The float forwards below round each output once or a few times; only the
 * outputs one element touches change L, so the quotient's noise is about
 * 1e-7 * |g y| * sqrt(count) / 2e-3 <= 1e-3 for O(1) gradients, and the
 * smooth layers' truncation error is O(step^2) = 1e-6. TOL = 1e-2 is the
 * usual float32 margin over that (measured at most 2.5e-3, batch norm's x
 * with mean 3.5; 2e-4 elsewhere); any missing or misplaced term is O(0.1). */
#define TOL 1e-2

/* ---- activations ---- */

struct act_ctx { size_t n; float a; const float *x, *g; float *y; int leaky; };

static double act_loss(void *p)
{
    struct act_ctx *c = p;
    if (c->leaky)
        fer_leaky_relu_forward(c->n, c->a, c->x, c->y);
    else
        fer_relu_forward(c->n, c->x, c->y);
    return dot(c->n, c->g, c->y);
}

static void test_relu(void)
{
    const size_t n = 3 * 5 * 7;
    float *x = rand_off_zero(n), *g = randv(n, -1, 1), *y = randv(n, -1, 1), *dx = randv(n, -1, 1);
    for (int leaky = 0; leaky < 2; leaky++) {
        struct act_ctx c = {n, 0.01f, x, g, y, leaky};
        act_loss(&c);
        for (size_t i = 0; i < n; i++) {
            float want = x[i] > 0 ? x[i] : leaky ? 0.01f * x[i] : 0;
            CHECK(y[i] == want, "leaky %d: y[%zu] = %g for x %g", leaky, i, y[i], x[i]);
        }
        if (leaky)
            fer_leaky_relu_backward(n, 0.01f, x, g, dx);
        else
            fer_relu_backward(n, x, g, dx);
        grad_check(leaky ? "x (leaky)" : "x (relu)", act_loss, &c, (float *)x, n, dx, TOL);
    }
    /* At exactly 0, PyTorch's conventions: ReLU passes nothing, leaky ReLU a. */
    float z = 0, one = 1, d;
    fer_relu_backward(1, &z, &one, &d);
    CHECK(d == 0, "relu'(0) = %g", d);
    fer_leaky_relu_backward(1, 0.25f, &z, &one, &d);
    CHECK(d == 0.25f, "leaky'(0) = %g", d);
    free(x), free(g), free(y), free(dx);
}

/* ---- dropout ---- */

static void test_dropout(void)
{
    const size_t n = 20011;
    float *x = randv(n, -2, 2), *y = randv(n, -1, 1), *dy = randv(n, -1, 1), *dx = randv(n, -1, 1);
    uint8_t *m = malloc(n), *m2 = malloc(n);
    const float ps[] = {0.25f, 0.5f};
    int old = fer_threads_get();
    for (int t = 0; t < 2; t++) {
        const float p = ps[t], scale = 1.0f / (1.0f - p);
        const uint64_t key = fer_rng_key_base(77 + t, 9, 4);
        size_t kept = 0;
        fer_dropout_forward(n, p, key, x, y, m);
        for (size_t i = 0; i < n; i++) {
            CHECK(m[i] <= 1, "mask[%zu] = %d", i, m[i]);
            CHECK(m[i] == (fer_rng_key_float(key, i) >= p), "p %g: mask[%zu] is not its draw's",
                  p, i);
            kept += m[i];
            CHECK(y[i] == (m[i] ? x[i] * scale : 0.0f), "p %g: y[%zu] = %.9g, x %.9g, mask %d",
                  p, i, y[i], x[i], m[i]);
        }
        /* kept ~ Binomial(n, 1 - p): 6 standard deviations never fail by chance. */
        double frac = (double)kept / n, sd = sqrt(p * (1.0 - p) / n);
        CHECK(fabs(frac - (1 - p)) <= 6 * sd, "p %g: kept fraction %.4f, want %.4f +- %.4f",
              p, frac, 1 - p, 6 * sd);
        fer_dropout_backward(n, p, m, dy, dx);
        for (size_t i = 0; i < n; i++)
            CHECK(dx[i] == (m[i] ? dy[i] * scale : 0.0f), "p %g: dx[%zu] = %.9g", p, i, dx[i]);
        /* the same key gives the same mask on one thread; another seed,
         * step or layer another mask */
        CHECK(fer_threads_set(1) == 0, "threads: %s", fer_error());
        fer_dropout_forward(n, p, key, x, y, m2);
        fer_threads_set(old);
        CHECK(!memcmp(m, m2, n), "p %g: one thread gave another mask", p);
        for (int v = 0; v < 3; v++) {
            fer_dropout_forward(n, p, fer_rng_key_base(77 + t + (v == 0), 9 + (v == 1), 4 + (v == 2)),
                                x, y, m2);
            CHECK(memcmp(m, m2, n) != 0, "p %g: another key (%d) gave the same mask", p, v);
        }
    }
    /* p = 0 copies and keeps everything */
    fer_dropout_forward(n, 0, fer_rng_key_base(5, 0, 0), x, y, m);
    CHECK(!memcmp(x, y, n * sizeof *x), "p = 0 does not copy");
    for (size_t i = 0; i < n; i++)
        CHECK(m[i] == 1, "p = 0: mask[%zu] = %d", i, m[i]);
    /* p = 1 drops everything */
    fer_dropout_forward(n, 1, fer_rng_key_base(5, 0, 0), x, y, m);
    for (size_t i = 0; i < n; i++)
        CHECK(m[i] == 0 && y[i] == 0.0f, "p = 1: mask[%zu] = %d, y %g", i, m[i], y[i]);
    free(x), free(y), free(dy), free(dx), free(m), free(m2);
}

/* ---- pooling ---- */

struct pool_ctx { int N, C, H, W, k, stride; const float *x, *g; float *y; int32_t *am; };

static double pool_loss(void *p)
{
    struct pool_ctx *c = p;
    int P = (c->H - c->k) / c->stride + 1, Q = (c->W - c->k) / c->stride + 1;
    fer_maxpool_forward(c->N, c->C, c->H, c->W, c->k, c->stride, c->x, c->y, c->am);
    return dot((size_t)c->N * c->C * P * Q, c->g, c->y);
}

static void test_maxpool(void)
{
    /* (N, C, H, W, k, stride): odd sizes, k = 2 stride 2 drops the last
     * row and column; k = 3 stride 2 overlaps windows. */
    static const int cases[][6] = {
        {3, 5, 7, 9, 2, 2}, {3, 5, 7, 9, 3, 2}, {2, 3, 8, 5, 3, 1}, {1, 2, 5, 5, 5, 3},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const int N = cases[t][0], C = cases[t][1], H = cases[t][2], W = cases[t][3];
        const int k = cases[t][4], st = cases[t][5];
        const int P = (H - k) / st + 1, Q = (W - k) / st + 1;
        const size_t nx = (size_t)N * C * H * W, ny = (size_t)N * C * P * Q;
        /* distinct values 0.01 apart, shuffled: no step of 1e-3 changes an argmax */
        float *x = malloc(nx * sizeof *x), *g = randv(ny, -1, 1), *y = randv(ny, -1, 1);
        float *dx = randv(nx, -1, 1);
        int32_t *am = malloc(ny * sizeof *am);
        for (size_t i = 0; i < nx; i++)
            x[i] = 0.01f * (float)i - 3;
        for (size_t i = nx - 1; i > 0; i--) {
            size_t j = (size_t)(check_uniform() * (i + 1));
            float tmp = x[i];
            x[i] = x[j], x[j] = tmp;
        }
        struct pool_ctx c = {N, C, H, W, k, st, x, g, y, am};
        pool_loss(&c);
        for (size_t plane = 0; plane < (size_t)N * C; plane++)
            for (int p = 0; p < P; p++)
                for (int q = 0; q < Q; q++) {
                    const float *xp = x + plane * H * W;
                    int best = -1;
                    for (int i = 0; i < k; i++)
                        for (int j = 0; j < k; j++) {
                            int at = (p * st + i) * W + q * st + j;
                            if (best < 0 || xp[at] > xp[best])
                                best = at;
                        }
                    size_t o = (plane * P + p) * Q + q;
                    CHECK(y[o] == xp[best] && am[o] == best,
                          "case %zu: y[%zu] = %g at %d, want %g at %d", t, o, y[o], am[o],
                          xp[best], best);
                }
        fer_maxpool_backward(N, C, H, W, k, st, g, am, dx);
        grad_check("x (maxpool)", pool_loss, &c, x, nx, dx, TOL);
        free(x), free(g), free(y), free(dx), free(am);
    }
    {   /* ties keep the first maximum of each window in row-major order */
        float x[5 * 5], y[4];
        int32_t am[4];
        for (int i = 0; i < 25; i++)
            x[i] = 1.5f;
        fer_maxpool_forward(1, 1, 5, 5, 3, 2, x, y, am);
        CHECK(am[0] == 0 && am[1] == 2 && am[2] == 10 && am[3] == 12,
              "tie argmax %d %d %d %d", am[0], am[1], am[2], am[3]);
    }
    {   /* the 2 x 2 stride 2 path (four windows at once, then one more):
         * ties keep the first, the first NaN wins */
        const float x[2 * 10] = {2, 2, 1, NAN, 0, 5, 1, 3, 8, NAN,
                                 2, 2, NAN, 7, 5, NAN, 4, 9, NAN, 1};
        const int32_t want[5] = {0, 3, 15, 17, 9};
        float y[5];
        int32_t am[5];
        fer_maxpool_forward(1, 1, 2, 10, 2, 2, x, y, am);
        for (int i = 0; i < 5; i++)
            CHECK(am[i] == want[i] && (isnan(x[want[i]]) ? isnan(y[i]) : y[i] == x[want[i]]),
                  "2x2 window %d: %g at %d, want %g at %d", i, y[i], am[i], x[want[i]],
                  want[i]);
    }
}

struct avg_ctx { int N, C, HW; const float *x, *g; float *y; };

static double avg_loss(void *p)
{
    struct avg_ctx *c = p;
    fer_avgpool_forward(c->N, c->C, c->HW, c->x, c->y);
    return dot((size_t)c->N * c->C, c->g, c->y);
}

static void test_avgpool(void)
{
    const int N = 3, C = 5, HW = 35;
    float *x = randv((size_t)N * C * HW, -1, 3), *g = randv(N * C, -1, 1);
    float *y = randv(N * C, -1, 1), *dx = randv((size_t)N * C * HW, -1, 1);
    struct avg_ctx c = {N, C, HW, x, g, y};
    avg_loss(&c);
    for (int i = 0; i < N * C; i++) {
        double s = 0;
        for (int j = 0; j < HW; j++)
            s += x[(size_t)i * HW + j];
        CHECK_CLOSE(y[i], s / HW, 0, FLT_EPSILON);
    }
    fer_avgpool_backward(N, C, HW, g, dx);
    grad_check("x (avgpool)", avg_loss, &c, x, (size_t)N * C * HW, dx, TOL);
    free(x), free(g), free(y), free(dx);
}

/* ---- batch norm ---- */

struct bn_ctx {
    int N, C, HW;
    float *x, *gamma, *beta, *y, *rm, *rv, *sm, *si;
    const float *g;
};

static double bn_loss(void *p)
{
    struct bn_ctx *c = p;
    fer_batchnorm_forward_train(c->N, c->C, c->HW, c->x, c->gamma, c->beta, 1e-5f, 0.1f, c->rm,
                                c->rv, c->y, c->sm, c->si);
    return dot((size_t)c->N * c->C * c->HW, c->g, c->y);
}

/* Mean and biased variance of channel c in double. */
static void bn_stats(int N, int C, int HW, const float *x, int c, double *mean, double *var)
{
    double s = 0, q = 0;
    for (int n = 0; n < N; n++)
        for (int i = 0; i < HW; i++)
            s += x[((size_t)n * C + c) * HW + i];
    *mean = s / ((double)N * HW);
    for (int n = 0; n < N; n++)
        for (int i = 0; i < HW; i++) {
            double d = x[((size_t)n * C + c) * HW + i] - *mean;
            q += d * d;
        }
    *var = q / ((double)N * HW);
}

static void test_batchnorm(void)
{
    /* (N, HW, C): planes under 64 values go by channel, larger ones by
     * image (two of them with several tasks per image) */
    static const int shapes[][3] = {{7, 1, 5}, {3, 35, 5}, {3, 81, 5}, {2, 130, 37}};
    for (int t = 0; t < 4; t++) {
        const int N = shapes[t][0], HW = shapes[t][1], C = shapes[t][2];
        const size_t n = (size_t)N * C * HW;
        /* an offset mean: the variance must not come from E[x^2] - E[x]^2 */
        float *x = randv(n, 2, 5), *g = randv(n, -1, 1), *y = randv(n, -1, 1);
        float *gamma = randv(C, 0.5f, 2), *beta = randv(C, -1, 1);
        float *rm = randv(C, -1, 1), *rv = randv(C, 0.5f, 2), *sm = randv(C, -1, 1);
        float *si = randv(C, -1, 1), *dx = randv(n, -1, 1), *dg = randv(C, -1, 1);
        float *db = randv(C, -1, 1);
        struct bn_ctx c = {N, C, HW, x, gamma, beta, y, rm, rv, sm, si, g};
        bn_loss(&c);
        for (int ch = 0; ch < C; ch++) {
            double mean, var;
            bn_stats(N, C, HW, x, ch, &mean, &var);
            CHECK_CLOSE(sm[ch], mean, 0, 1e-6);
            CHECK_CLOSE(si[ch], 1 / sqrt(var + 1e-5), 0, 1e-6);
            for (int b = 0; b < N; b++)
                for (int i = 0; i < HW; i++) {
                    size_t at = ((size_t)b * C + ch) * HW + i;
                    double want = (x[at] - mean) / sqrt(var + 1e-5) * gamma[ch] + beta[ch];
                    /* y = x a + b in float: a few ulps of |x a| ~ 10 */
                    CHECK_CLOSE(y[at], want, 1e-5, 1e-5);
                }
        }
        fer_batchnorm_backward(N, C, HW, x, g, gamma, sm, si, dx, dg, db);
        grad_check("x (batchnorm)", bn_loss, &c, x, n, dx, TOL);
        grad_check("gamma", bn_loss, &c, gamma, C, dg, TOL);
        grad_check("beta", bn_loss, &c, beta, C, db, TOL);
        free(x), free(g), free(y), free(gamma), free(beta), free(rm), free(rv), free(sm);
        free(si), free(dx), free(dg), free(db);
    }
}

/* Running statistics over several batches against a double computation of
 * running = (1 - m) running + m * batch (unbiased variance), then inference
 * with them against the double formula. */
static void test_batchnorm_running(void)
{
    const int N = 4, C = 3, steps = 5;
    const float moms[] = {0.1f, 0.35f};
    for (int t = 0; t < 4; t++) {
        const int HW = t < 2 ? 6 : 70;   /* by channel, then by image */
        const size_t n = (size_t)N * C * HW;
        const float m = moms[t % 2];
        float *x = randv(n, -1, 1), *y = randv(n, -1, 1), *gamma = randv(C, 0.5f, 2);
        float *beta = randv(C, -1, 1), *sm = randv(C, -1, 1), *si = randv(C, -1, 1);
        float rm[3] = {0, 0, 0}, rv[3] = {1, 1, 1};
        double dm[3] = {0, 0, 0}, dv[3] = {1, 1, 1};
        for (int s = 0; s < steps; s++) {
            for (size_t i = 0; i < n; i++)
                x[i] = check_randf(-1, 3) * (1 + s);
            fer_batchnorm_forward_train(N, C, HW, x, gamma, beta, 1e-5f, m, rm, rv, y, sm, si);
            for (int ch = 0; ch < C; ch++) {
                double mean, var;
                bn_stats(N, C, HW, x, ch, &mean, &var);
                dm[ch] = (1 - (double)m) * dm[ch] + (double)m * mean;
                dv[ch] = (1 - (double)m) * dv[ch] + (double)m * var * (N * HW) / (N * HW - 1);
            }
        }
        for (int ch = 0; ch < C; ch++) {
            /* one float rounding per step at most */
            CHECK_CLOSE(rm[ch], dm[ch], 1e-6, 1e-6);
            CHECK_CLOSE(rv[ch], dv[ch], 1e-6, 1e-6);
        }
        /* inference, also with variances as small as eps, where eps counts */
        for (int k = 0; k < 2; k++) {
            if (k)
                for (int ch = 0; ch < C; ch++)
                    rv[ch] = check_randf(1e-6f, 3e-5f);
            fer_batchnorm_forward_infer(N, C, HW, x, gamma, beta, 1e-5f, rm, rv, y);
            for (size_t i = 0; i < n; i++) {
                int ch = (int)(i / HW % C);
                double a = gamma[ch] / sqrt(rv[ch] + 1e-5);
                double want = (x[i] - rm[ch]) * a + beta[ch];
                /* y = x a + b in float: a few ulps of |x a|, which reaches
                 * 1e4 where the variance is as small as eps */
                CHECK_CLOSE(y[i], want, 1e-5 + 4 * FLT_EPSILON * fabs(x[i] * a), 1e-5);
            }
        }
        free(x), free(y), free(gamma), free(beta), free(sm), free(si);
    }
}

/* ---- dense ---- */

struct dense_ctx { int N, I, O; float *x, *w, *b, *y; const float *g; };

static double dense_loss(void *p)
{
    struct dense_ctx *c = p;
    fer_dense_forward_ref(c->N, c->I, c->O, c->x, c->w, c->b, c->y);
    return dot((size_t)c->N * c->O, c->g, c->y);
}

static void test_dense(void)
{
    const int N = 5, I = 13, O = 11;
    float *x = randv(N * I, -1, 1), *w = randv(O * I, -1, 1), *b = randv(O, -1, 1);
    float *y = randv(N * O, -1, 1), *y2 = randv(N * O, -1, 1), *g = randv(N * O, -1, 1);
    float *dx = randv(N * I, -1, 1), *dw = randv(O * I, -1, 1), *db = randv(O, -1, 1);
    float *dx2 = randv(N * I, -1, 1), *dw2 = randv(O * I, -1, 1), *db2 = randv(O, -1, 1);
    struct dense_ctx c = {N, I, O, x, w, b, y, g};
    dense_loss(&c);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            double want = b[o], abs_sum = fabs(b[o]);
            for (int i = 0; i < I; i++) {
                want += (double)x[n * I + i] * w[o * I + i];
                abs_sum += fabs((double)x[n * I + i] * w[o * I + i]);
            }
            /* float recursive summation of I + 1 terms */
            CHECK(fabs(y[n * O + o] - want) <= (I + 2) * FLT_EPSILON / 2 * abs_sum,
                  "y[%d][%d] = %.9g, want %.9g", n, o, y[n * O + o], want);
        }
    fer_dense_backward_ref(N, I, O, x, w, g, dx, dw, db);
    grad_check("x (dense)", dense_loss, &c, x, N * I, dx, TOL);
    grad_check("w (dense)", dense_loss, &c, w, O * I, dw, TOL);
    grad_check("b (dense)", dense_loss, &c, b, O, db, TOL);
    /* NULL dx and db are skipped; dw is the same without them */
    fer_dense_backward_ref(N, I, O, x, w, g, NULL, dw2, NULL);
    CHECK(!memcmp(dw, dw2, sizeof(float) * O * I), "dw differs without dx, db");
    /* the dispatching entry points against the reference (a faster kernel
     * may sum in another order: a few ulps) */
    dense_loss(&c);   /* grad_check left y at a perturbed point */
    fer_dense_forward(N, I, O, x, w, b, y2);
    fer_dense_backward(N, I, O, x, w, g, dx2, dw2, db2);
    for (int i = 0; i < N * O; i++)
        CHECK_CLOSE(y2[i], y[i], 1e-5, 1e-5);
    for (int i = 0; i < N * I; i++)
        CHECK_CLOSE(dx2[i], dx[i], 1e-5, 1e-5);
    for (int i = 0; i < O * I; i++)
        CHECK_CLOSE(dw2[i], dw[i], 1e-5, 1e-5);
    for (int i = 0; i < O; i++)
        CHECK_CLOSE(db2[i], db[i], 1e-5, 1e-5);
    free(x), free(w), free(b), free(y), free(y2), free(g);
    free(dx), free(dw), free(db), free(dx2), free(dw2), free(db2);
}

/* ---- softmax and cross-entropy ---- */

static void test_softmax(void)
{
    const int N = 6, K = 7;
    float *x = randv(N * K, -4, 4), *p = randv(N * K, -1, 1);
    x[0] = 1000, x[1] = 999, x[2] = -1000;   /* row 0: exp would overflow */
    fer_softmax(N, K, x, p);
    for (int n = 0; n < N; n++) {
        double m = -INFINITY, s = 0, ps = 0;
        for (int k = 0; k < K; k++)
            m = fmax(m, x[n * K + k]);
        for (int k = 0; k < K; k++)
            s += exp((double)x[n * K + k] - m);
        for (int k = 0; k < K; k++) {
            CHECK_CLOSE(p[n * K + k], exp((double)x[n * K + k] - m) / s, 1e-30, 2 * FLT_EPSILON);
            ps += p[n * K + k];
        }
        CHECK_CLOSE(ps, 1.0, 1e-6, 0);
    }
    free(x), free(p);
}

/* The loss straight from its definition, in double (see layers.h). */
static double xent_direct(int N, int K, const float *z, const int32_t *lab, const float *w,
                          double eps)
{
    double num = 0, den = 0;
    for (int n = 0; n < N; n++) {
        double s = 0;
        for (int k = 0; k < K; k++)
            s += exp((double)z[n * K + k]);
        for (int k = 0; k < K; k++) {
            double nlp = -log(exp((double)z[n * K + k]) / s), wk = w ? w[k] : 1;
            num += eps / K * wk * nlp + (k == lab[n] ? (1 - eps) * wk * nlp : 0);
        }
        den += w ? w[lab[n]] : 1;
    }
    return num / den;
}

struct xent_ctx { int N, K; float *z; const int32_t *lab; const float *w; float eps; float *p; };

static double xent_loss(void *q)
{
    struct xent_ctx *c = q;
    return fer_xent_forward(c->N, c->K, c->z, c->lab, c->w, c->eps, c->p);
}

static void test_xent(void)
{
    const int N = 9, K = 7;
    float *z = randv(N * K, -3, 3), *w = randv(K, 0.2f, 3), *p = randv(N * K, -1, 1);
    float *p2 = randv(N * K, -1, 1), *dz = randv(N * K, -1, 1);
    float ones[7] = {1, 1, 1, 1, 1, 1, 1};
    int32_t lab[9];
    for (int n = 0; n < N; n++)
        lab[n] = (int32_t)(check_uniform() * K);
    lab[0] = lab[1] = 3;   /* a repeated class: its weight counts twice */
    const float epss[] = {0, 0.1f, 0.3f};
    for (int t = 0; t < 3; t++)
        for (int wt = 0; wt < 2; wt++) {
            const float *wv = wt ? w : NULL;
            double L = fer_xent_forward(N, K, z, lab, wv, epss[t], p);
            /* both sides are double from the same floats */
            CHECK_CLOSE(L, xent_direct(N, K, z, lab, wv, epss[t]), 0, 1e-12);
            fer_softmax(N, K, z, p2);
            CHECK(!memcmp(p, p2, sizeof(float) * N * K), "probs differ from fer_softmax");
            if (!wt) {
                double L1 = fer_xent_forward(N, K, z, lab, ones, epss[t], p2);
                CHECK_CLOSE(L, L1, 0, 1e-14);
            }
            /* The loss is double: the quotient's error is the O(step^2)
             * truncation (~1e-7) and the analytic side is rounded to float
             * from float probabilities: 1e-5 relative is ample. */
            struct xent_ctx c = {N, K, z, lab, wv, epss[t], p2};
            fer_xent_backward(N, K, p, lab, wv, epss[t], dz);
            grad_check(wt ? "logits (weighted)" : "logits", xent_loss, &c, z, N * K, dz, 1e-5);
        }
    free(z), free(w), free(p), free(p2), free(dz);
}

/* ---- PyTorch ---- */

static const char torch_script[] =
    "import sys\n"
    "try:\n"
    "    import torch\n"
    "except Exception as e:\n"
    "    print('SKIP', type(e).__name__); sys.exit(0)\n"
    "t = open(sys.argv[1]).read().split()\n"
    "i = 0\n"
    "def take(n, f=float):\n"
    "    global i\n"
    "    v = [f(s) for s in t[i:i + n]]\n"
    "    i += n\n"
    "    return v\n"
    "out = []\n"
    "while i < len(t):\n"
    "    kind = t[i]; i += 1\n"
    "    if kind == 'xent':\n"
    "        N, K = take(2, int); eps, = take(1)\n"
    "        z = torch.tensor(take(N * K)).reshape(N, K).requires_grad_()\n"
    "        y = torch.tensor(take(N, int))\n"
    "        w = torch.tensor(take(K))\n"
    "        loss = torch.nn.CrossEntropyLoss(weight=w, label_smoothing=eps)(z, y)\n"
    "        loss.backward()\n"
    "        out += [loss.item()] + z.grad.flatten().tolist()\n"
    "    else:\n"
    "        N, C, HW, steps = take(4, int); mom, eps = take(2)\n"
    "        bn = torch.nn.BatchNorm1d(C, eps=eps, momentum=mom)\n"
    "        with torch.no_grad():\n"
    "            bn.weight.copy_(torch.tensor(take(C))); bn.bias.copy_(torch.tensor(take(C)))\n"
    "        for s in range(steps):\n"
    "            x = torch.tensor(take(N * C * HW)).reshape(N, C, HW).requires_grad_()\n"
    "            y = bn(x)\n"
    "        g = torch.tensor(take(N * C * HW)).reshape(N, C, HW)\n"
    "        (y * g).sum().backward()\n"
    "        out += bn.running_mean.tolist() + bn.running_var.tolist() + y.flatten().tolist()\n"
    "        out += x.grad.flatten().tolist() + bn.weight.grad.tolist() + bn.bias.grad.tolist()\n"
    "print('OK', len(out))\n"
    "print(' '.join(repr(v) for v in out))\n";

static void put(FILE *f, size_t n, const float *v)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%.9g ", v[i]);
    fprintf(f, "\n");
}

/* Compares n of our values with the next n from torch; tolerance as CHECK_CLOSE. */
static void against(FILE *in, const char *what, size_t n, const float *ours, double atol,
                    double rtol)
{
    for (size_t i = 0; i < n; i++) {
        double v;
        if (fscanf(in, "%lf", &v) != 1) {
            CHECK(0, "%s[%zu]: torch gave fewer numbers", what, i);
            return;
        }
        if (!(fabs(ours[i] - v) <= atol + rtol * fabs(v))) {
            CHECK(0, "%s[%zu] = %.9g, torch %.9g", what, i, ours[i], v);
            return;
        }
    }
}

static void test_torch(void)
{
    char script[] = "/tmp/fer-test-torch-XXXXXX", data[] = "/tmp/fer-test-data-XXXXXX";
    char cmd[4096 + 64], word[16];
    int fs = mkstemp(script), fd = mkstemp(data);
    FILE *f;
    CHECK(fs >= 0 && fd >= 0, "mkstemp");
    if (fs < 0 || fd < 0)
        return;
    f = fdopen(fs, "w");
    fputs(torch_script, f);
    fclose(f);

    /* the loss: class weights and label smoothing */
    const int N = 11, K = 7;
    float *z = randv(N * K, -3, 3), *w = randv(K, 0.2f, 3), *p = randv(N * K, -1, 1);
    float *dz = randv(N * K, -1, 1), loss;
    int32_t lab[11];
    for (int n = 0; n < N; n++)
        lab[n] = (int32_t)(check_uniform() * K);
    f = fdopen(fd, "w");
    fprintf(f, "xent %d %d %.9g\n", N, K, 0.15f);
    put(f, N * K, z);
    for (int n = 0; n < N; n++)
        fprintf(f, "%d ", lab[n]);
    put(f, K, w);
    loss = (float)fer_xent_forward(N, K, z, lab, w, 0.15f, p);
    fer_xent_backward(N, K, p, lab, w, 0.15f, dz);

    /* batch norm: 3 training steps (HW = 35 and HW = 1), then the backward
     * of the last one */
    const int C = 5, steps = 3, bn_n[2] = {3, 6}, bn_hw[2] = {35, 1};
    float *res[2][7];
    for (int t = 0; t < 2; t++) {
        const int bN = bn_n[t], HW = bn_hw[t];
        const size_t n = (size_t)bN * C * HW;
        float *gamma = randv(C, 0.5f, 2), *beta = randv(C, -1, 1), *x = randv(n, -1, 1);
        float *g = randv(n, -1, 1), *sm = randv(C, -1, 1), *si = randv(C, -1, 1);
        float *rm = calloc(C, sizeof *rm), *rv = malloc(C * sizeof *rv);
        float *y = randv(n, -1, 1), *dx = randv(n, -1, 1), *dg = randv(C, -1, 1);
        float *db = randv(C, -1, 1);
        for (int c = 0; c < C; c++)
            rv[c] = 1;   /* PyTorch's initial running statistics: mean 0, var 1 */
        fprintf(f, "bn %d %d %d %d %.9g %.9g\n", bN, C, HW, steps, 0.1f, 1e-5f);
        put(f, C, gamma);
        put(f, C, beta);
        for (int s = 0; s < steps; s++) {
            for (size_t i = 0; i < n; i++)
                x[i] = check_randf(-1, 2) * (s + 1) + s;
            put(f, n, x);
            fer_batchnorm_forward_train(bN, C, HW, x, gamma, beta, 1e-5f, 0.1f, rm, rv, y, sm, si);
        }
        put(f, n, g);
        fer_batchnorm_backward(bN, C, HW, x, g, gamma, sm, si, dx, dg, db);
        res[t][0] = rm, res[t][1] = rv, res[t][2] = y, res[t][3] = dx;
        res[t][4] = dg, res[t][5] = db, res[t][6] = NULL;
        free(gamma), free(beta), free(x), free(g), free(sm), free(si);
    }
    fclose(f);

    const char *py = getenv("FER_PYTHON");
    if (!py || !*py)
        py = "/usr/bin/python3";
    snprintf(cmd, sizeof cmd, "'%s' %s %s", py, script, data);
    FILE *in = popen(cmd, "r");
    int st = -1;
    word[0] = 0;
    if (in) {
        if (fscanf(in, "%15s", word) == 1 && !strcmp(word, "OK")) {
            size_t count;
            CHECK(fscanf(in, "%zu", &count) == 1, "torch: no count");
            against(in, "loss", 1, &loss, 1e-6, 1e-5);
            /* torch sums in float: gradients ~0.05 agree to ~1e-7 */
            against(in, "dlogits", N * K, dz, 1e-6, 1e-4);
            for (int t = 0; t < 2; t++) {
                const size_t n = (size_t)bn_n[t] * C * bn_hw[t];
                CHECK(!check_failed_now, "(before HW=%d)", bn_hw[t]);
                against(in, bn_hw[t] == 1 ? "running_mean (HW=1)" : "running_mean", C,
                        res[t][0], 1e-6, 1e-5);
                against(in, bn_hw[t] == 1 ? "running_var (HW=1)" : "running_var", C,
                        res[t][1], 1e-6, 1e-5);
                against(in, "bn y", n, res[t][2], 1e-5, 1e-4);
                against(in, "bn dx", n, res[t][3], 1e-4, 1e-3);
                against(in, "bn dgamma", C, res[t][4], 1e-4, 1e-4);
                against(in, "bn dbeta", C, res[t][5], 1e-4, 1e-4);
            }
        }
        while (fgetc(in) != EOF)
            ;
        st = pclose(in);
    }
    for (int t = 0; t < 2; t++)
        for (int j = 0; j < 6; j++)
            free(res[t][j]);
    free(z), free(w), free(p), free(dz);
    unlink(script);
    unlink(data);
    if (!strcmp(word, "SKIP"))
        SKIP("torch is not importable by %s", py);
    if (strcmp(word, "OK") && (st == -1 || (WIFEXITED(st) && WEXITSTATUS(st) == 127)))
        SKIP("no python at %s", py);
    CHECK(!strcmp(word, "OK"), "the torch script failed (status %d)", st);
}

int main(void)
{
    check_seed(9001);
    RUN(test_relu);
    RUN(test_dropout);
    RUN(test_maxpool);
    RUN(test_avgpool);
    RUN(test_batchnorm);
    RUN(test_batchnorm_running);
    RUN(test_dense);
    RUN(test_softmax);
    RUN(test_xent);
    RUN(test_torch);
    return check_done();
}
