/* test_conv.c: convolution shapes, the reference forward against a double
 * computation and its backward against central finite differences, on
 * shapes that are multiples of nothing, with stride 1, 2, 3 and padding. */
#include <float.h>
#include <stdint.h>

#include "check.h"
#include "conv.h"
#include "error.h"

static float *randv(size_t n, float lo, float hi)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = check_randf(lo, hi);
    return v;
}

/* The configurations tested: (N, C, H, W, K, R, S, stride, pad). */
static const int cases[][9] = {
    {3, 5, 7, 9, 4, 3, 3, 1, 0}, {3, 5, 7, 9, 4, 3, 3, 1, 1},
    {3, 5, 7, 9, 4, 3, 3, 2, 0}, {3, 5, 7, 9, 4, 3, 3, 2, 1},
    {2, 3, 7, 9, 5, 2, 5, 3, 2},   /* rectangular kernel, stride 3, pad >= R */
    {1, 2, 5, 5, 3, 5, 5, 1, 0},   /* kernel covers the input: P = Q = 1 */
};
#define NCASES (int)(sizeof cases / sizeof cases[0])

static int init_case(fer_conv_shape *s, const int *c)
{
    return fer_conv_shape_init(s, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]);
}

static size_t xsize(const fer_conv_shape *s) { return (size_t)s->N * s->C * s->H * s->W; }
static size_t wsize(const fer_conv_shape *s) { return (size_t)s->K * s->C * s->R * s->S; }
static size_t ysize(const fer_conv_shape *s) { return (size_t)s->N * s->K * s->P * s->Q; }

/* Output positions counted one by one: the windows that fit in the padded input. */
static int count_positions(int in, int pad, int k, int stride)
{
    int n = 0;
    for (int o = 0; o * stride + k <= in + 2 * pad; o++)
        n++;
    return n;
}

static void test_shape(void)
{
    fer_conv_shape s;
    for (int i = 0; i < NCASES; i++) {
        const int *c = cases[i];
        CHECK(init_case(&s, c) == 0, "case %d: %s", i, fer_error());
        CHECK(s.P == count_positions(c[2], c[8], c[5], c[7]) &&
              s.Q == count_positions(c[3], c[8], c[6], c[7]),
              "case %d: P=%d Q=%d", i, s.P, s.Q);
    }
    CHECK(fer_conv_shape_init(&s, 1, 1, 4, 4, 1, 5, 3, 1, 0) == -1, "5-row kernel on 4 rows");
    CHECK(strstr(fer_error(), "conv:") != NULL, "message: %s", fer_error());
    CHECK(fer_conv_shape_init(&s, 1, 1, 4, 4, 1, 5, 3, 1, 1) == 0, "fits with padding 1");
    CHECK(fer_conv_shape_init(&s, 1, 1, 4, 4, 1, 3, 3, 0, 0) == -1, "stride 0 accepted");
    CHECK(fer_conv_shape_init(&s, 1, 1, 4, 4, 1, 3, 3, 1, -1) == -1, "negative pad accepted");
    CHECK(fer_conv_shape_init(&s, 0, 1, 4, 4, 1, 3, 3, 1, 0) == -1, "N = 0 accepted");
    CHECK(fer_conv_shape_init(&s, 1, 1, 4, 4, -2, 3, 3, 1, 0) == -1, "K < 0 accepted");
}

/* y[n][k][p][q] in double, straight from the definition, and the sum of
 * |terms| that bounds its float rounding error. */
static double conv_at(const fer_conv_shape *s, const float *x, const float *w, const float *b,
                      int n, int k, int p, int q, double *abs_sum)
{
    double acc = b ? b[k] : 0;
    *abs_sum = fabs(acc);
    for (int c = 0; c < s->C; c++)
        for (int r = 0; r < s->R; r++)
            for (int t = 0; t < s->S; t++) {
                int h = p * s->stride - s->pad + r, v = q * s->stride - s->pad + t;
                if (h < 0 || h >= s->H || v < 0 || v >= s->W)
                    continue;
                double term = (double)x[(((size_t)n * s->C + c) * s->H + h) * s->W + v] *
                              w[(((size_t)k * s->C + c) * s->R + r) * s->S + t];
                acc += term;
                *abs_sum += fabs(term);
            }
    return acc;
}

/* Float recursive summation of m terms errs by at most about
 * m * 2^-24 * sum |terms|; a wrong index or a missed term errs by a whole
 * term, far above that. */
static void test_forward(void)
{
    for (int i = 0; i < NCASES; i++) {
        fer_conv_shape s;
        init_case(&s, cases[i]);
        float *x = randv(xsize(&s), -1, 1), *w = randv(wsize(&s), -1, 1);
        float *b = randv(s.K, -1, 1), *y = randv(ysize(&s), -9, 9);
        for (int withb = 0; withb < 2; withb++) {
            fer_conv2d_forward_ref(&s, x, w, withb ? b : NULL, y);
            for (size_t at = 0; at < ysize(&s); at++) {
                int q = at % s.Q, p = at / s.Q % s.P, k = at / s.Q / s.P % s.K;
                int n = at / s.Q / s.P / s.K;
                double abs_sum, want = conv_at(&s, x, w, withb ? b : NULL, n, k, p, q, &abs_sum);
                double tol = (s.C * s.R * s.S + 2) * FLT_EPSILON / 2 * abs_sum + 1e-30;
                if (fabs(y[at] - want) > tol) {
                    CHECK(0, "case %d bias %d: y[%d][%d][%d][%d] = %.9g, want %.9g (tol %g)",
                          i, withb, n, k, p, q, y[at], want, tol);
                    break;
                }
            }
        }
        free(x), free(w), free(b), free(y);
    }
}

/* L = sum g * y, in double, for the finite differences. */
struct conv_ctx {
    const fer_conv_shape *s;
    float *x, *w, *b, *y;
    const float *g;
};

static double conv_loss(struct conv_ctx *c)
{
    double L = 0;
    fer_conv2d_forward_ref(c->s, c->x, c->w, c->b, c->y);
    for (size_t i = 0; i < ysize(c->s); i++)
        L += (double)c->g[i] * c->y[i];
    return L;
}

/* Compares grad with central differences of conv_loss over each element of
 * v (step 1e-3; the step actually taken in float is the divisor). Conv is
 * linear, so the quotient has no truncation error, only the float rounding
 * of the outputs the element touches: about 1e-7 * sum |g y| over up to
 * K R S (or N P Q) O(1) terms, divided by 2e-3, i.e. up to ~1e-3 for O(1)
 * gradients (measured: 9.4e-4 at most). |a - n| <= 1e-2 (1 + |n|) leaves a
 * 10x margin and catches any missing or misplaced term; the small errors it
 * cannot see are caught by test_backward_double. */
static void grad_check(const char *what, int cs, struct conv_ctx *c, float *v, size_t n,
                       const float *grad)
{
    for (size_t i = 0; i < n; i++) {
        const float keep = v[i];
        v[i] = keep + 1e-3f;
        const float hi = v[i];
        double lp = conv_loss(c);
        v[i] = keep - 1e-3f;
        const float lo = v[i];
        double lm = conv_loss(c);
        v[i] = keep;
        double num = (lp - lm) / ((double)hi - lo);
        if (!(fabs(grad[i] - num) <= 1e-2 * (1 + fabs(num)))) {
            CHECK(0, "case %d: d%s[%zu] analytic %.7g, numeric %.7g", cs, what, i, grad[i], num);
            return;
        }
    }
}

static void test_backward(void)
{
    for (int i = 0; i < NCASES; i++) {
        fer_conv_shape s;
        init_case(&s, cases[i]);
        float *x = randv(xsize(&s), -1, 1), *w = randv(wsize(&s), -1, 1);
        float *b = randv(s.K, -1, 1), *y = randv(ysize(&s), -9, 9);
        float *g = randv(ysize(&s), -1, 1);
        float *dx = randv(xsize(&s), -9, 9), *dw = randv(wsize(&s), -9, 9), *db = randv(s.K, -9, 9);
        struct conv_ctx c = {&s, x, w, b, y, g};
        fer_conv2d_backward_ref(&s, x, w, g, dx, dw, db);
        grad_check("x", i, &c, x, xsize(&s), dx);
        grad_check("w", i, &c, w, wsize(&s), dw);
        grad_check("b", i, &c, b, s.K, db);
        free(x), free(w), free(b), free(y), free(g), free(dx), free(dw), free(db);
    }
}

/* dx, dw, db in double straight from the definition (every product of the
 * forward sum scattered back), with the same rounding bound as the forward. */
static void test_backward_double(void)
{
    for (int i = 0; i < NCASES; i++) {
        fer_conv_shape s;
        init_case(&s, cases[i]);
        float *x = randv(xsize(&s), -1, 1), *w = randv(wsize(&s), -1, 1);
        float *g = randv(ysize(&s), -1, 1);
        float *dx = randv(xsize(&s), -9, 9), *dw = randv(wsize(&s), -9, 9), *db = randv(s.K, -9, 9);
        double *rx = calloc(xsize(&s), sizeof *rx), *ax = calloc(xsize(&s), sizeof *ax);
        double *rw = calloc(wsize(&s), sizeof *rw), *aw = calloc(wsize(&s), sizeof *aw);
        double *rb = calloc(s.K, sizeof *rb), *ab = calloc(s.K, sizeof *ab);
        const int terms_x = s.K * s.R * s.S, terms_w = s.N * s.P * s.Q;
        for (int n = 0; n < s.N; n++)
            for (int k = 0; k < s.K; k++)
                for (int p = 0; p < s.P; p++)
                    for (int q = 0; q < s.Q; q++) {
                        double gy = g[(((size_t)n * s.K + k) * s.P + p) * s.Q + q];
                        rb[k] += gy, ab[k] += fabs(gy);
                        for (int c = 0; c < s.C; c++)
                            for (int r = 0; r < s.R; r++)
                                for (int t = 0; t < s.S; t++) {
                                    int h = p * s.stride - s.pad + r, v = q * s.stride - s.pad + t;
                                    if (h < 0 || h >= s.H || v < 0 || v >= s.W)
                                        continue;
                                    size_t xi = (((size_t)n * s.C + c) * s.H + h) * s.W + v;
                                    size_t wi = (((size_t)k * s.C + c) * s.R + r) * s.S + t;
                                    rx[xi] += gy * w[wi], ax[xi] += fabs(gy * w[wi]);
                                    rw[wi] += gy * x[xi], aw[wi] += fabs(gy * x[xi]);
                                }
                    }
        fer_conv2d_backward_ref(&s, x, w, g, dx, dw, db);
        for (size_t j = 0; j < xsize(&s); j++)
            if (fabs(dx[j] - rx[j]) > (terms_x + 2) * FLT_EPSILON / 2 * ax[j]) {
                CHECK(0, "case %d: dx[%zu] = %.9g, want %.9g", i, j, dx[j], rx[j]);
                break;
            }
        for (size_t j = 0; j < wsize(&s); j++)
            if (fabs(dw[j] - rw[j]) > (terms_w + 2) * FLT_EPSILON / 2 * aw[j]) {
                CHECK(0, "case %d: dw[%zu] = %.9g, want %.9g", i, j, dw[j], rw[j]);
                break;
            }
        for (int k = 0; k < s.K; k++)   /* db is summed in double */
            CHECK(fabs(db[k] - rb[k]) <= FLT_EPSILON * ab[k], "case %d: db[%d] = %.9g, want %.9g",
                  i, k, db[k], rb[k]);
        free(x), free(w), free(g), free(dx), free(dw), free(db);
        free(rx), free(ax), free(rw), free(aw), free(rb), free(ab);
    }
}

/* dx and db NULL are skipped and leave dw as it is with them; outputs are
 * overwritten, not accumulated (a second call gives the same). */
static void test_backward_optional(void)
{
    fer_conv_shape s;
    init_case(&s, cases[3]);
    float *x = randv(xsize(&s), -1, 1), *w = randv(wsize(&s), -1, 1);
    float *g = randv(ysize(&s), -1, 1);
    float *dx = randv(xsize(&s), -1, 1), *dw = randv(wsize(&s), -1, 1), *db = randv(s.K, -1, 1);
    float *dw2 = randv(wsize(&s), -1, 1), *dx2 = randv(xsize(&s), -1, 1);
    fer_conv2d_backward_ref(&s, x, w, g, dx, dw, db);
    fer_conv2d_backward_ref(&s, x, w, g, NULL, dw2, NULL);
    CHECK(!memcmp(dw, dw2, wsize(&s) * sizeof *dw), "dw differs without dx, db");
    fer_conv2d_backward_ref(&s, x, w, g, dx2, dw2, db);
    CHECK(!memcmp(dx, dx2, xsize(&s) * sizeof *dx), "dx accumulated over calls");
    CHECK(!memcmp(dw, dw2, wsize(&s) * sizeof *dw), "dw accumulated over calls");
    free(x), free(w), free(g), free(dx), free(dw), free(db), free(dw2), free(dx2);
}

/* The dispatching entry points against the reference, with the workspace
 * they ask for. Tolerance: a faster kernel may sum in another order, so
 * float rounding differences of a few ulps of sum |terms| are allowed. */
static void test_dispatch(void)
{
    for (int i = 0; i < NCASES; i++) {
        fer_conv_shape s;
        init_case(&s, cases[i]);
        size_t nws = fer_conv2d_workspace(&s);
        float *ws = malloc((nws ? nws : 1) * sizeof *ws);
        float *x = randv(xsize(&s), -1, 1), *w = randv(wsize(&s), -1, 1), *b = randv(s.K, -1, 1);
        float *g = randv(ysize(&s), -1, 1);
        float *y = randv(ysize(&s), -1, 1), *y2 = randv(ysize(&s), -1, 1);
        float *dx = randv(xsize(&s), -1, 1), *dw = randv(wsize(&s), -1, 1), *db = randv(s.K, -1, 1);
        float *dx2 = randv(xsize(&s), -1, 1), *dw2 = randv(wsize(&s), -1, 1);
        float *db2 = randv(s.K, -1, 1);
        fer_conv2d_forward_ref(&s, x, w, b, y);
        fer_conv2d_forward(&s, x, w, b, y2, ws);
        fer_conv2d_backward_ref(&s, x, w, g, dx, dw, db);
        fer_conv2d_backward(&s, x, w, g, dx2, dw2, db2, ws);
        for (size_t j = 0; j < ysize(&s); j++)
            CHECK_CLOSE(y2[j], y[j], 1e-5, 1e-5);
        for (size_t j = 0; j < xsize(&s); j++)
            CHECK_CLOSE(dx2[j], dx[j], 1e-5, 1e-5);
        for (size_t j = 0; j < wsize(&s); j++)
            CHECK_CLOSE(dw2[j], dw[j], 1e-4, 1e-5);
        for (int j = 0; j < s.K; j++)
            CHECK_CLOSE(db2[j], db[j], 1e-4, 1e-5);
        free(ws), free(x), free(w), free(b), free(g), free(y), free(y2);
        free(dx), free(dw), free(db), free(dx2), free(dw2), free(db2);
    }
}

int main(void)
{
    check_seed(20240611);
    RUN(test_shape);
    RUN(test_forward);
    RUN(test_backward);
    RUN(test_backward_double);
    RUN(test_backward_optional);
    RUN(test_dispatch);
    return check_done();
}
