/* test_tfconv.c: TensorFlow's padding, depthwise and dense convolutions
 * (tfconv.h) against float64 loops that read TensorFlow's own weight
 * layouts (HWIO, HWC1) and pad by TensorFlow's rule, on awkward sizes,
 * strides 1 and 2, odd and even inputs; batch-norm folding against the
 * unfolded formula. Inputs are fresh random numbers each run (the seed is
 * printed on failure). Tolerance |got - ref| <= 1e-4 + 1e-4 |ref|. */
#include <math.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "tfconv.h"

static unsigned long long seed;

static float *randv(size_t n, float lo, float hi)
{
    float *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = check_randf(lo, hi);
    return v;
}

/* TensorFlow's "same": out = ceil(n / s), total = max((out - 1) s + k - n,
 * 0), before = total / 2; worked by hand for these. */
static void test_padding(void)
{
    static const int t[][6] = {
        /* n, k, s, mode, out, before */
        {512, 3, 2, FER_PAD_SAME, 256, 0},  /* total 1: none above, one below */
        {513, 3, 2, FER_PAD_SAME, 257, 1},  /* total 2 */
        {5, 3, 1, FER_PAD_SAME, 5, 1},      {7, 3, 2, FER_PAD_SAME, 4, 1},
        {8, 1, 2, FER_PAD_SAME, 4, 0},      {1, 3, 2, FER_PAD_SAME, 1, 1},
        {2, 3, 2, FER_PAD_SAME, 1, 0},      {6, 5, 1, FER_PAD_SAME, 6, 2},
        {7, 3, 2, FER_PAD_VALID, 3, 0},     {2, 3, 1, FER_PAD_VALID, 0, 0},
        {9, 4, 3, FER_PAD_VALID, 2, 0},     {16, 3, 2, FER_PAD_SAME, 8, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        CHECK(fer_tf_out_len(t[i][0], t[i][1], t[i][2], t[i][3]) == t[i][4],
              "row %zu: out %d, want %d", i, fer_tf_out_len(t[i][0], t[i][1], t[i][2], t[i][3]),
              t[i][4]);
        CHECK(fer_tf_pad_before(t[i][0], t[i][1], t[i][2], t[i][3]) == t[i][5],
              "row %zu: before %d, want %d", i,
              fer_tf_pad_before(t[i][0], t[i][1], t[i][2], t[i][3]), t[i][5]);
    }
}

/* The reference: x (C, H, W); TensorFlow's filter w, (k, k, C, K) for a
 * dense convolution or (k, k, C, 1) for a depthwise one; bias; clip. The
 * input is zero-padded explicitly first. */
static void ref_conv(const float *x, int C, int H, int W, const float *w, int K, int k, int s,
                     int mode, int depthwise, const float *bias, double lo, double hi, double *y,
                     int *Ho, int *Wo)
{
    int ho = mode == FER_PAD_SAME ? (H + s - 1) / s : (H - k) / s + 1;
    int wo = mode == FER_PAD_SAME ? (W + s - 1) / s : (W - k) / s + 1;
    int th = (ho - 1) * s + k - H, tw = (wo - 1) * s + k - W;
    int pt = mode == FER_PAD_SAME && th > 0 ? th / 2 : 0;
    int pl = mode == FER_PAD_SAME && tw > 0 ? tw / 2 : 0;
    int PH = (ho - 1) * s + k, PW = (wo - 1) * s + k;       /* padded size used */
    double *p = calloc((size_t)C * PH * PW, sizeof *p);
    for (int c = 0; c < C; c++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++)
                if (i + pt < PH && j + pl < PW)
                    p[((size_t)c * PH + i + pt) * PW + j + pl] = x[((size_t)c * H + i) * W + j];
    for (int o = 0; o < K; o++)
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++) {
                double sum = bias ? bias[o] : 0;
                for (int c = depthwise ? o : 0; c < (depthwise ? o + 1 : C); c++)
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            double wv = depthwise ? w[((size_t)ky * k + kx) * C + c]
                                                  : w[(((size_t)ky * k + kx) * C + c) * K + o];
                            sum += wv * p[((size_t)c * PH + oy * s + ky) * PW + ox * s + kx];
                        }
                y[((size_t)o * ho + oy) * wo + ox] = sum < lo ? lo : sum > hi ? hi : sum;
            }
    free(p);
    *Ho = ho, *Wo = wo;
}

/* (C, H, W, K, k, s, mode) */
static const int cases[][7] = {
    {3, 16, 16, 8, 3, 2, FER_PAD_SAME},    /* even input, stride 2: pad 0 before, 1 after */
    {5, 7, 9, 6, 3, 2, FER_PAD_SAME},      /* odd: 1 and 1 */
    {4, 11, 6, 5, 3, 1, FER_PAD_SAME},
    {7, 9, 13, 3, 1, 1, FER_PAD_SAME},     /* pointwise, straight to the GEMM */
    {6, 10, 10, 9, 1, 2, FER_PAD_SAME},    /* pointwise, stride 2 */
    {3, 9, 8, 4, 3, 2, FER_PAD_VALID},
    {2, 12, 5, 3, 5, 1, FER_PAD_SAME},     /* 5x5: pad 2 */
    {33, 6, 6, 17, 3, 2, FER_PAD_SAME},
};

static int compare(const char *what, int ci, const float *got, const double *ref, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabs(got[i] - ref[i]) <= 1e-4 + 1e-4 * fabs(ref[i]))) {
            CHECK(0, "%s case %d (seed %llu): y[%zu] = %.7g, want %.7g", what, ci, seed, i,
                  got[i], ref[i]);
            return -1;
        }
    return 0;
}

static void run_cases(int depthwise)
{
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        int C = cases[ci][0], H = cases[ci][1], W = cases[ci][2], K = depthwise ? C : cases[ci][3];
        int k = cases[ci][4], s = cases[ci][5], mode = cases[ci][6], Ho, Wo;
        size_t wn = (size_t)k * k * C * (depthwise ? 1 : K);
        float *x = randv((size_t)C * H * W, -2, 2), *wtf = randv(wn, -1, 1);
        float *b = randv((size_t)K, -1, 1), *w = malloc(wn * sizeof *w);
        float lo = ci % 2 ? 0.f : -INFINITY, hi = ci % 2 ? 6.f : INFINITY;     /* ReLU6 or none */
        double *ref = malloc((size_t)K * (H + 4) * (W + 4) * sizeof *ref);
        float *y;
        ref_conv(x, C, H, W, wtf, K, k, s, mode, depthwise, b, lo, hi, ref, &Ho, &Wo);
        CHECK(Ho == fer_tf_out_len(H, k, s, mode) && Wo == fer_tf_out_len(W, k, s, mode),
              "case %zu: output %dx%d, want %dx%d", ci, fer_tf_out_len(W, k, s, mode),
              fer_tf_out_len(H, k, s, mode), Wo, Ho);
        y = malloc((size_t)K * Ho * Wo * sizeof *y);
        if (depthwise) {
            fer_tf_hwc1_to_ckk(wtf, k, C, w);
            fer_tf_depthwise(x, C, H, W, w, k, s, mode, b, lo, hi, y);
        } else {
            fer_tf_hwio_to_kckk(wtf, k, C, K, w);
            CHECK(fer_tf_conv(x, C, H, W, w, K, k, s, mode, b, lo, hi, y) == 0, "case %zu", ci);
        }
        compare(depthwise ? "depthwise" : "dense", (int)ci, y, ref, (size_t)K * Ho * Wo);
        free(x), free(wtf), free(b), free(w), free(ref), free(y);
    }
}

static void test_depthwise(void) { run_cases(1); }
static void test_dense(void) { run_cases(0); }

/* Folding: conv then (v - mean) gamma / sqrt(var + eps) + beta equals the
 * folded conv. */
static void test_fold_bn(void)
{
    int C = 7, H = 9, W = 8, k = 3;
    float *x = randv((size_t)C * H * W, -2, 2), *wtf = randv((size_t)k * k * C, -1, 1);
    float *gamma = randv(C, 0.2f, 2), *beta = randv(C, -1, 1), *mean = randv(C, -1, 1);
    float *var = randv(C, 0.01f, 3), *w = malloc(sizeof(float) * k * k * C), bias[7];
    float y[7 * 9 * 8];
    double ref[7 * 9 * 8], eps = 1e-3;
    int Ho, Wo;
    ref_conv(x, C, H, W, wtf, C, k, 1, FER_PAD_SAME, 1, NULL, -INFINITY, INFINITY, ref, &Ho, &Wo);
    for (int c = 0; c < C; c++)
        for (int i = 0; i < Ho * Wo; i++) {
            double *v = &ref[c * Ho * Wo + i];
            *v = (*v - mean[c]) * gamma[c] / sqrt(var[c] + eps) + beta[c];
            *v = *v < 0 ? 0 : *v > 6 ? 6 : *v;
        }
    fer_tf_hwc1_to_ckk(wtf, k, C, w);
    fer_tf_fold_bn(w, C, k * k, NULL, gamma, beta, mean, var, eps, bias);
    fer_tf_depthwise(x, C, H, W, w, k, 1, FER_PAD_SAME, bias, 0, 6, y);
    compare("folded", 0, y, ref, (size_t)C * Ho * Wo);
    free(x), free(wtf), free(gamma), free(beta), free(mean), free(var), free(w);
}

int main(void)
{
    seed = (unsigned long long)time(NULL) * 1000003u ^ (unsigned long long)getpid();
    check_seed(seed);
    RUN(test_padding);
    RUN(test_depthwise);
    RUN(test_dense);
    RUN(test_fold_bn);
    return check_done();
}
