/* test_cuda_gemm.cc: the CUDA backend's products (gemm.cu, conv.cu,
 * dense.cu) under the CPU emulation of CUDA (tests/cudaemu), against the
 * CPU references, in each precision.
 *
 * Inputs are seeded uniform [-1, 1), outputs start as NaN, sizes are not
 * multiples of any tile. An element passes when
 *   |got - want| <= 1e-6 + rtol * mag
 * where mag is the same sum over |terms| (the reference run on absolute
 * values), so the bound follows the sum's rounding, not its cancellation:
 *   fp32: rtol 2e-5 against fer_gemm_ref / fer_conv2d_*_ref / fer_dense_*_ref;
 *   tf32: rtol 1e-4 against a reference over operands rounded to tf32
 *         (to nearest, ties away from zero, as the kernels round them);
 *   bf16: rtol 1e-4 against a reference over fer_bf16_round-ed operands
 *         (products of bf16 are exact in fp32: only the sums differ).
 * The GEMM's reference for tf32 and bf16 is summed in double. Every case
 * runs under another emulator seed (thread and block order). The last
 * tests build a fault into the real kernels (gemm_tile.cuh's
 * fer_tile_fault) and pass only when the comparison catches it. */
#include "cuda_compat.h"

#include <vector>

extern "C" {
#include "conv.h"
#include "gemm.h"
#include "layers.h"
}
#include "cuda_check.h"
#include "cuda_ops.h"
#include "gemm_tile.cuh"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static float frand(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (float)((rng * 0x2545f4914f6cdd1dull) >> 40) / (float)(1 << 24) * 2.0f - 1.0f;
}

static vec rand_vec(size_t n)
{
    vec v(n);
    for (size_t i = 0; i < n; i++)
        v[i] = frand();
    return v;
}

/* f rounded to tf32 as the kernels round operands (cvt.rna: to nearest,
 * ties away from zero), written apart from fer_cuda_tf32_bits */
static float tf32(float f)
{
    if (!isfinite(f))
        return f;
    int e;
    double m = frexp(f, &e);            /* |m| in [0.5, 1): 11 bits kept */
    double r = ldexp(m, 11);
    r = r < 0 ? -floor(-r + 0.5) : floor(r + 0.5);
    return (float)ldexp(r, e - 11);
}

/* v as the precision's mma reads it */
static vec rounded(const vec &v, int prec)
{
    vec r(v);
    for (float &f : r)
        f = prec == FER_CUDA_BF16 ? fer_bf16_round(f) : prec == FER_CUDA_TF32 ? tf32(f) : f;
    return r;
}

static const char *prec_name(int prec)
{
    return prec == FER_CUDA_BF16 ? "bf16" : prec == FER_CUDA_TF32 ? "tf32" : "fp32";
}

static double prec_rtol(int prec)
{
    return prec == FER_CUDA_FP32 ? 2e-5 : 1e-4;
}

/* 1 when every element of a skipped output is still NaN */
static int untouched(const char *ctx, const char *what, const vec &got)
{
    for (size_t i = 0; i < got.size(); i++)
        if (!isnan(got[i])) {
            check_fail(__FILE__, __LINE__, "%s: %s[%zu] written though skipped", ctx, what, i);
            return 0;
        }
    return 1;
}

/* ---- GEMM ---- */

/* op(X)[i][k] of X stored with ld, transposed or not */
static float op_at(const vec &X, int ld, int trans, int i, int k)
{
    return trans ? X[(size_t)k * ld + i] : X[(size_t)i * ld + k];
}

/* C = alpha op(A) op(B) + beta C on the device in precision prec, checked
 * against the reference; C's padding columns must stay as they were.
 * Returns 1 when it passes (a failure is recorded otherwise). */
template <class Run>
static int gemm_check(int prec, int ta, int tb, int M, int N, int K, float alpha, float beta,
                      Run run)
{
    const int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 1;
    const vec A = rand_vec((size_t)(ta ? K : M) * lda), B = rand_vec((size_t)(tb ? N : K) * ldb);
    vec C0 = rand_vec((size_t)M * ldc);
    if (beta == 0.0f)
        for (float &f : C0)
            f = NAN;
    float *dA = dev_from(A), *dB = dev_from(B), *dC = dev_from(C0);
    fer_cuda_set_precision(prec);
    next_seed();
    run(ta, tb, M, N, K, alpha, dA, lda, dB, ldb, beta, dC, ldc);
    const vec got = host_from(dC, C0.size());
    cudaFree(dA);
    cudaFree(dB);
    cudaFree(dC);

    vec want((size_t)M * N), mag((size_t)M * N), gotc((size_t)M * N);
    vec ref(C0);
    if (prec == FER_CUDA_FP32)
        fer_gemm_ref(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, ref.data(), ldc);
    const vec Ar = rounded(A, prec), Br = rounded(B, prec);
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = 0, a = 0;
            for (int k = 0; k < K; k++) {
                const double p = (double)op_at(Ar, lda, ta, m, k) * op_at(Br, ldb, !tb, n, k);
                s += p;
                a += fabs(p);
            }
            const double c = beta == 0.0f ? 0.0 : (double)beta * C0[(size_t)m * ldc + n];
            const size_t i = (size_t)m * N + n;
            want[i] = prec == FER_CUDA_FP32 ? ref[(size_t)m * ldc + n] : (float)(alpha * s + c);
            mag[i] = (float)(fabs(alpha) * a + fabs(c));
            gotc[i] = got[(size_t)m * ldc + n];
        }
    char ctx[160];
    snprintf(ctx, sizeof ctx, "%s ta %d tb %d M %d N %d K %d alpha %g beta %g", prec_name(prec),
             ta, tb, M, N, K, alpha, beta);
    if (!within("C", ctx, gotc, want, mag, prec_rtol(prec)))
        return 0;
    for (int m = 0; m < M; m++)
        if (memcmp(&got[(size_t)m * ldc + N], &C0[(size_t)m * ldc + N], sizeof(float))) {
            check_fail(__FILE__, __LINE__, "%s: C's padding of row %d written", ctx, m);
            return 0;
        }
    return 1;
}

static void library_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                         int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    fer_cuda_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* each size in each dimension, alpha and beta varied, beta 0 over NaN */
static const int gemm_sizes[] = {1, 3, 17, 33, 65, 130};
static const float gemm_ab[][2] = {{1, 0}, {0.5f, -1.5f}, {-2, 0}, {1, 1}, {0.25f, 0}, {1, 0.5f}};

static void gemm_all(int prec)
{
    for (int t = 0; t < 4; t++)
        for (int i = 0; i < 7; i++) {
            const int M = i < 6 ? gemm_sizes[i] : 130, N = i < 6 ? gemm_sizes[(i + 2) % 6] : 129;
            const int K = i < 6 ? gemm_sizes[(i + 4) % 6] : 131;
            const float *ab = gemm_ab[(i + t) % 6];
            if (!gemm_check(prec, t & 1, t >> 1, M, N, K, ab[0], ab[1], library_gemm))
                return;
        }
}

static void test_gemm_fp32(void) { gemm_all(FER_CUDA_FP32); }
static void test_gemm_tf32(void) { gemm_all(FER_CUDA_TF32); }
static void test_gemm_bf16(void) { gemm_all(FER_CUDA_BF16); }

/* alpha 0 or K 0: C = beta C without reading A or B (NaN here); M or N 0
 * writes nothing */
static void test_gemm_degenerate(void)
{
    const vec nanv(64, NAN);
    float *dA = dev_from(nanv), *dB = dev_from(nanv);
    const vec C0 = rand_vec(12);
    float *dC = dev_from(C0);
    fer_cuda_set_precision(FER_CUDA_FP32);
    fer_cuda_gemm(0, 0, 3, 4, 5, 0.0f, dA, 5, dB, 4, 2.0f, dC, 4);
    vec got = host_from(dC, 12);
    for (int i = 0; i < 12; i++)
        CHECK(got[i] == 2.0f * C0[i], "alpha 0: C[%d] = %g, want %g", i, got[i], 2.0f * C0[i]);
    float *dN = dev_from(nanv);
    fer_cuda_gemm(1, 1, 3, 4, 0, 1.0f, dA, 3, dB, 1, 0.0f, dN, 4);
    got = host_from(dN, 12);
    for (int i = 0; i < 12; i++)
        CHECK(got[i] == 0.0f, "K 0, beta 0 over NaN: C[%d] = %g", i, got[i]);
    cudaMemcpy(dC, C0.data(), 12 * sizeof(float), cudaMemcpyHostToDevice);
    fer_cuda_gemm(0, 0, 0, 4, 5, 1.0f, dA, 5, dB, 4, 0.0f, dC, 4);
    fer_cuda_gemm(0, 0, 3, 0, 5, 1.0f, dA, 5, dB, 4, 0.0f, dC, 4);
    got = host_from(dC, 12);
    CHECK(got == C0, "M or N 0 wrote C");
    cudaFree(dA);
    cudaFree(dB);
    cudaFree(dC);
    cudaFree(dN);
}

/* ---- convolution ---- */

struct conv_case {
    int N, C, H, W, K, R, S, stride, pad;
};

static const conv_case conv_cases[] = {
    {1, 3, 5, 7, 5, 3, 3, 1, 1},    /* 3x3 s1 p1 */
    {3, 5, 7, 5, 6, 3, 3, 2, 1},    /* 3x3 s2 p1 */
    {3, 4, 5, 7, 7, 1, 1, 2, 0},    /* 1x1 s2 p0: the downsample */
    {1, 3, 9, 11, 4, 7, 7, 2, 3},   /* 7x7 s2 p3: resnet's stem */
    {3, 2, 7, 5, 3, 5, 5, 1, 2},    /* 5x5 */
    {3, 33, 6, 5, 40, 3, 3, 1, 1},  /* C R S over two k-tiles of any precision */
    {1, 3, 12, 11, 130, 3, 3, 1, 1}, /* K over one tile, M = 132 */
    {3, 3, 20, 20, 5, 3, 3, 1, 1},  /* N P Q = 1200: the weight gradient splits */
};

/* forward and backward of case c in precision prec; variant v picks
 * whether b, dx and db are given */
static int conv_check(int prec, const conv_case &c, int v)
{
    fer_conv_shape s;
    if (fer_conv_shape_init(&s, c.N, c.C, c.H, c.W, c.K, c.R, c.S, c.stride, c.pad) < 0)
        abort();
    const size_t nx = (size_t)s.N * s.C * s.H * s.W, nw = (size_t)s.K * s.C * s.R * s.S;
    const size_t ny = (size_t)s.N * s.K * s.P * s.Q;
    const int with_b = v % 2 == 0, with_dx = v % 3 != 1, with_db = v % 4 != 3;
    const vec x = rand_vec(nx), w = rand_vec(nw), b = rand_vec(s.K), dy = rand_vec(ny);
    char ctx[200];
    snprintf(ctx, sizeof ctx, "%s N %d C %d H %d W %d K %d R %d S %d stride %d pad %d%s%s%s",
             prec_name(prec), s.N, s.C, s.H, s.W, s.K, s.R, s.S, s.stride, s.pad,
             with_b ? "" : " no b", with_dx ? "" : " no dx", with_db ? "" : " no db");

    float *dx_ = dev_from(x), *dw_ = dev_from(w), *db_ = dev_from(b), *ddy = dev_from(dy);
    float *dyo = dev_nan(ny), *ddx = dev_nan(nx), *ddw = dev_nan(nw), *ddb = dev_nan(s.K);
    const size_t nws = fer_cuda_conv_workspace(&s);
    float *dws = dev_nan(nws + 1);
    fer_cuda_set_precision(prec);
    next_seed();
    fer_cuda_conv_forward(&s, dx_, dw_, with_b ? db_ : NULL, dyo, dws);
    next_seed();
    fer_cuda_conv_backward(&s, dx_, dw_, ddy, with_dx ? ddx : NULL, ddw, with_db ? ddb : NULL,
                           dws);
    const vec y = host_from(dyo, ny), gdx = host_from(ddx, nx);
    const vec gdw = host_from(ddw, nw), gdb = host_from(ddb, s.K);
    for (float *p : {dx_, dw_, db_, ddy, dyo, ddx, ddw, ddb, dws})
        cudaFree(p);

    /* the reference over the operands as the precision reads them, and
     * over their absolute values for the bound */
    const vec xr = rounded(x, prec), wr = rounded(w, prec), dyr = rounded(dy, prec);
    vec ry(ny), my(ny), rdx(nx), mdx(nx), rdw(nw), mdw(nw), rdb(s.K), mdb(s.K);
    fer_conv2d_forward_ref(&s, xr.data(), wr.data(), with_b ? b.data() : NULL, ry.data());
    fer_conv2d_forward_ref(&s, absv(xr).data(), absv(wr).data(), with_b ? absv(b).data() : NULL,
                           my.data());
    fer_conv2d_backward_ref(&s, xr.data(), wr.data(), dyr.data(), rdx.data(), rdw.data(), NULL);
    fer_conv2d_backward_ref(&s, absv(xr).data(), absv(wr).data(), absv(dyr).data(), mdx.data(),
                            mdw.data(), NULL);
    /* db is a plain sum of dy, in no precision but fp32 */
    vec t2(nw);
    fer_conv2d_backward_ref(&s, x.data(), w.data(), dy.data(), NULL, t2.data(), rdb.data());
    fer_conv2d_backward_ref(&s, x.data(), w.data(), absv(dy).data(), NULL, t2.data(), mdb.data());

    const double rtol = prec_rtol(prec);
    if (!within("y", ctx, y, ry, my, rtol) || !within("dw", ctx, gdw, rdw, mdw, rtol))
        return 0;
    if (with_dx && !within("dx", ctx, gdx, rdx, mdx, rtol))
        return 0;
    if (with_db && !within("db", ctx, gdb, rdb, mdb, 1e-6))
        return 0;
    return untouched(ctx, "dx", with_dx ? vec() : gdx) && untouched(ctx, "db", with_db ? vec() : gdb);
}

static void conv_all(int prec)
{
    int v = 0;
    for (const conv_case &c : conv_cases)
        if (!conv_check(prec, c, v++))
            return;
}

static void test_conv_fp32(void) { conv_all(FER_CUDA_FP32); }
static void test_conv_tf32(void) { conv_all(FER_CUDA_TF32); }
static void test_conv_bf16(void) { conv_all(FER_CUDA_BF16); }

/* The weight gradient's split sums repeat bit for bit under other thread
 * and block orders. */
static void test_conv_repeat(void)
{
    fer_conv_shape s;
    fer_conv_shape_init(&s, 3, 3, 20, 20, 5, 3, 3, 1, 1);
    const size_t nx = (size_t)s.N * s.C * s.H * s.W, nw = (size_t)s.K * s.C * s.R * s.S;
    const size_t ny = (size_t)s.N * s.K * s.P * s.Q, nws = fer_cuda_conv_workspace(&s);
    CHECK(nws > 0, "the case was meant to split the weight gradient");
    float *dx = dev_from(rand_vec(nx)), *dw = dev_from(rand_vec(nw)), *ddy = dev_from(rand_vec(ny));
    float *ddw = dev_nan(nw), *ddb = dev_nan(s.K), *dws = dev_nan(nws + 1);
    fer_cuda_set_precision(FER_CUDA_FP32);
    same_bits_each_run([&]() {
        fer_cuda_conv_backward(&s, dx, dw, ddy, NULL, ddw, ddb, dws);
        vec got = host_from(ddw, nw), gb = host_from(ddb, s.K);
        got.insert(got.end(), gb.begin(), gb.end());
        return got;
    });
    for (float *p : {dx, dw, ddy, ddw, ddb, dws})
        cudaFree(p);
}

/* ---- dense ---- */

static int dense_check(int prec, int N, int I, int O, int v)
{
    const int with_b = v % 2 == 0, with_dx = v % 3 != 1, with_db = v % 4 != 3;
    const vec x = rand_vec((size_t)N * I), w = rand_vec((size_t)O * I), b = rand_vec(O);
    const vec dy = rand_vec((size_t)N * O);
    char ctx[120];
    snprintf(ctx, sizeof ctx, "%s N %d I %d O %d%s%s%s", prec_name(prec), N, I, O,
             with_b ? "" : " no b", with_dx ? "" : " no dx", with_db ? "" : " no db");
    float *dx_ = dev_from(x), *dw_ = dev_from(w), *db_ = dev_from(b), *ddy = dev_from(dy);
    float *dyo = dev_nan((size_t)N * O), *ddx = dev_nan((size_t)N * I);
    float *ddw = dev_nan((size_t)O * I), *ddb = dev_nan(O);
    fer_cuda_set_precision(prec);
    next_seed();
    fer_cuda_dense_forward(N, I, O, dx_, dw_, with_b ? db_ : NULL, dyo);
    next_seed();
    fer_cuda_dense_backward(N, I, O, dx_, dw_, ddy, with_dx ? ddx : NULL, ddw,
                            with_db ? ddb : NULL);
    const vec y = host_from(dyo, (size_t)N * O), gdx = host_from(ddx, (size_t)N * I);
    const vec gdw = host_from(ddw, (size_t)O * I), gdb = host_from(ddb, O);
    for (float *p : {dx_, dw_, db_, ddy, dyo, ddx, ddw, ddb})
        cudaFree(p);

    const vec xr = rounded(x, prec), wr = rounded(w, prec), dyr = rounded(dy, prec);
    vec ry((size_t)N * O), my(ry.size()), rdx((size_t)N * I), mdx(rdx.size());
    vec rdw((size_t)O * I), mdw(rdw.size()), rdb(O), mdb(O);
    fer_dense_forward_ref(N, I, O, xr.data(), wr.data(), with_b ? b.data() : NULL, ry.data());
    fer_dense_forward_ref(N, I, O, absv(xr).data(), absv(wr).data(),
                          with_b ? absv(b).data() : NULL, my.data());
    fer_dense_backward_ref(N, I, O, xr.data(), wr.data(), dyr.data(), rdx.data(), rdw.data(),
                           NULL);
    fer_dense_backward_ref(N, I, O, absv(xr).data(), absv(wr).data(), absv(dyr).data(),
                           mdx.data(), mdw.data(), NULL);
    vec t(rdw.size());
    fer_dense_backward_ref(N, I, O, x.data(), w.data(), dy.data(), NULL, t.data(), rdb.data());
    fer_dense_backward_ref(N, I, O, x.data(), w.data(), absv(dy).data(), NULL, t.data(),
                           mdb.data());
    const double rtol = prec_rtol(prec);
    if (!within("y", ctx, y, ry, my, rtol) || !within("dw", ctx, gdw, rdw, mdw, rtol))
        return 0;
    if (with_dx && !within("dx", ctx, gdx, rdx, mdx, rtol))
        return 0;
    if (with_db && !within("db", ctx, gdb, rdb, mdb, 1e-6))
        return 0;
    return untouched(ctx, "dx", with_dx ? vec() : gdx) && untouched(ctx, "db", with_db ? vec() : gdb);
}

static void dense_all(int prec)
{
    static const int shapes[][3] = {{1, 1, 1}, {3, 17, 5}, {5, 33, 10}, {17, 130, 7}, {130, 65, 33}};
    int v = 0;
    for (const auto &sh : shapes)
        if (!dense_check(prec, sh[0], sh[1], sh[2], v++))
            return;
}

static void test_dense_fp32(void) { dense_all(FER_CUDA_FP32); }
static void test_dense_tf32(void) { dense_all(FER_CUDA_TF32); }
static void test_dense_bf16(void) { dense_all(FER_CUDA_BF16); }

/* ---- faults the comparison must catch ---- */

namespace {
/* fer_gemm's store, in a type of the test's own so that the fault below
 * reaches only these instantiations */
template <int F> struct fault_store {
    float *c;
    int ldc;
    __device__ void store(int, int m, int n, float v) const { c[(size_t)m * ldc + n] = v; }
};
} // namespace

template <class A, class B, int F> struct fer_tile_fault<fer_tile_problem<A, B, fault_store<F>>> {
    static const int value = F;
};

template <int F>
static void fault_gemm(int ta, int tb, int M, int N, int K, float, const float *A, int lda,
                       const float *B, int ldb, float, float *C, int ldc)
{
    (void)ta;
    (void)tb;
    const fer_mat_ik a = {A, lda}, b = {B, ldb};
    fer_tile_problem<fer_mat_ik, fer_mat_ik, fault_store<F>> pb = {a, b, {C, ldc}, M, N, K, K};
    fer_tile_run(pb, 1);
}

/* the fault must fail some case: run a few seeds, restore the record */
template <int F> static void expect_caught(int prec, const char *what)
{
    int caught = 0;
    for (int i = 0; i < 4 && !caught; i++) {
        caught = !gemm_check(prec, 0, 1, 70, 40, 48, 1.0f, 0.0f, fault_gemm<F>);
        check_failed_now = 0;
    }
    if (caught)
        printf("# %s: caught as expected: %s\n", what, check_msg);
    check_msg[0] = 0;
    CHECK(caught, "%s went unnoticed", what);
}

static void test_fault_nosync(void)
{
    /* with the right kernel, the harness passes */
    CHECK(gemm_check(FER_CUDA_FP32, 0, 1, 70, 40, 48, 1.0f, 0.0f, fault_gemm<FER_TILE_FAULT_NONE>),
          "the faultless variant failed");
    if (check_failed_now)
        return;
    expect_caught<FER_TILE_FAULT_NOSYNC>(FER_CUDA_FP32, "fp32 kernel without its k-loop sync");
}

static void test_fault_fragment(void)
{
    CHECK(gemm_check(FER_CUDA_BF16, 0, 1, 70, 40, 48, 1.0f, 0.0f, fault_gemm<FER_TILE_FAULT_NONE>),
          "the faultless variant failed");
    if (check_failed_now)
        return;
    expect_caught<FER_TILE_FAULT_FRAGMENT>(FER_CUDA_BF16, "bf16 mma with A's fragments 1 and 2 swapped");
    expect_caught<FER_TILE_FAULT_FRAGMENT>(FER_CUDA_TF32, "tf32 mma with A's fragments 1 and 2 swapped");
}

int main(int argc, char **argv)
{
    first_seed(argc, argv);
    RUN(test_gemm_fp32);
    RUN(test_gemm_tf32);
    RUN(test_gemm_bf16);
    RUN(test_gemm_degenerate);
    RUN(test_conv_fp32);
    RUN(test_conv_tf32);
    RUN(test_conv_bf16);
    RUN(test_conv_repeat);
    RUN(test_dense_fp32);
    RUN(test_dense_tf32);
    RUN(test_dense_bf16);
    RUN(test_fault_nosync);
    RUN(test_fault_fragment);
    return check_done();
}
