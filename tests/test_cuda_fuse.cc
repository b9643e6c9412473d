/* test_cuda_fuse.cc: the CUDA backend's fusions (conv.cu's fused forward,
 * batchnorm.cu's forward from given sums) on the emulated device
 * (tests/cudaemu) against the unfused ops they replace, over awkward
 * shapes (N = 1 and 3, odd H and W, K not a multiple of the 128-wide
 * tile, several row tiles, stride 2, no bias), each precision, two
 * emulator seeds, outputs filled with NaN first. Each check prints "ok
 * <name>" or "FAIL <name>: first mismatch ..."; any FAIL exits 1.
 *
 * Tolerances, and why:
 *   fused y: exact: the same tile sums in the same order, then the same
 *     float bias add and ReLU as conv_forward + relu_forward;
 *   the sums of y and y^2: against the host's sums of the unfused y in
 *     double. Both add M = N P Q doubles (the squares of floats are exact
 *     in double) in different orders, each within (M - 1) u of the sum
 *     of magnitudes (u = 2^-53), so |got - want| <= 2 M u sum |y|, and
 *     sum y^2 alike;
 *   batch norm from the sums against bn_forward_train (+ relu_forward)
 *     on the same x: the two variances differ by the cancellation of
 *     sum2 / M - mean^2 (relative M u E[x^2] / var, far below float's
 *     2^-24), so the coefficients may round one float ulp apart: saves
 *     and running statistics rtol 2.4e-7 (two ulps) + atol 1e-12; y =
 *     x a + b, so one ulp of a and of b: atol 1e-6 + rtol 2.4e-7. */
#include "cuda_compat.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

extern "C" {
#include "conv.h"
}
#include "check.h"
#include "conv_cublas.h"
#include "cuda_ops.h"
#include "cuda_test.h"

static int failures;

static std::vector<float> randv(size_t n, float lo, float hi)
{
    std::vector<float> v(n);
    for (auto &x : v)
        x = check_randf(lo, hi);
    return v;
}

/* got against want: the same bits (exact), or |got - want| <= tol[i];
 * NaN fails */
template <class T>
static bool check(const char *name, const std::vector<T> &got, const std::vector<T> &want,
                  const std::vector<double> &tol, bool exact)
{
    for (size_t i = 0; i < want.size(); i++) {
        const bool ok = exact ? !memcmp(&got[i], &want[i], sizeof(T))
                              : fabs((double)got[i] - (double)want[i]) <= tol[i];
        if (!ok) {
            printf("FAIL %s: first mismatch at %zu: got %.17g want %.17g (tol %s%.3g)\n", name, i,
                   (double)got[i], (double)want[i], exact ? "exact " : "", exact ? 0 : tol[i]);
            failures++;
            return false;
        }
    }
    printf("ok %s\n", name);
    return true;
}

static std::vector<double> rel_tol(const std::vector<float> &want, double atol, double rtol)
{
    std::vector<double> t(want.size());
    for (size_t i = 0; i < want.size(); i++)
        t[i] = atol + rtol * fabs((double)want[i]);
    return t;
}

static char name_buf[256];
#define NAME(...) (snprintf(name_buf, sizeof name_buf, __VA_ARGS__), name_buf)

static const char *prec_name[] = {"fp32", "tf32", "bf16"};

/* conv_forward_fused on one shape against conv_forward (+ relu_forward)
 * and the host's sums; then bn_forward_train_stats with those sums
 * against bn_forward_train (+ relu_forward) */
static void test_fused(int N, int C, int H, int W, int K, int R, int stride, int pad, int bias,
                       float centre)
{
    fer_conv_shape s;
    fer_conv_shape_init(&s, N, C, H, W, K, R, R, stride, pad);
    const int PQ = s.P * s.Q, M = N * PQ;
    const size_t nx = (size_t)N * C * H * W, ny = (size_t)M * K;
    const std::vector<float> nan_y(ny, NAN), nan_k(K, NAN);
    const std::vector<double> nan_st(2 * (size_t)K, NAN);
    std::vector<float> x = randv(nx, -1, 1), w = randv((size_t)K * C * R * R, -0.5f, 0.5f);
    std::vector<float> b = randv(K, centre - 0.3f, centre + 0.3f);
    std::vector<float> gamma = randv(K, 0.5f, 1.5f), beta = randv(K, -1, 1);
    std::vector<float> rm = randv(K, -0.5f, 0.5f), rv = randv(K, 0.5f, 2.0f);
    float *dx = dev_from(x), *dw = dev_from(w), *db = bias ? dev_from(b) : NULL;
    float *dg = dev_from(gamma), *dbt = dev_from(beta);
    size_t nws = fer_cuda_conv_workspace(&s);
    fer_cuda_set_cublas(1);   /* the cuBLAS path's workspace, for the cub runs */
    fer_cuda_conv_cublas_hooks(fer_cuda_gemm, 0);
    if (fer_cuda_conv_workspace(&s) > nws)
        nws = fer_cuda_conv_workspace(&s);
    fer_cuda_set_cublas(0);
    fer_cuda_conv_cublas_hooks(NULL, 0);
    float *dws = dev_from(std::vector<float>(nws + 1, NAN));
    float *yref = dev_from(nan_y), *yf = dev_from(nan_y), *zref = dev_from(nan_y),
          *zf = dev_from(nan_y);
    double *st = dev_from(nan_st);
    char shape[128];
    snprintf(shape, sizeof shape, "%dx%dx%dx%d K%d R%d st%d pad%d%s", N, C, H, W, K, R, stride,
             pad, bias ? "" : " nobias");

    /* cub: --gemm cublas, our GEMM standing in for cuBLAS (not under the
     * emulation): the fused op's products go the cuBLAS path's way too */
    for (int cub = 0; cub < 2; cub++)
    for (int prec = FER_CUDA_FP32; prec <= (cub ? FER_CUDA_FP32 : FER_CUDA_BF16); prec++)
        for (int relu = 0; relu < 2; relu++) {
            fer_cuda_set_precision(prec);
            fer_cuda_set_cublas(cub);
            fer_cuda_conv_cublas_hooks(cub ? fer_cuda_gemm : NULL, 0);
            const char *pn = cub ? "cublas-path" : prec_name[prec], *rn = relu ? " relu" : "";
            cudaMemcpy(yref, nan_y.data(), ny * 4, cudaMemcpyHostToDevice);
            cudaMemcpy(yf, nan_y.data(), ny * 4, cudaMemcpyHostToDevice);
            cudaMemcpy(st, nan_st.data(), 2 * (size_t)K * 8, cudaMemcpyHostToDevice);
            fer_cuda_conv_forward(&s, dx, dw, db, yref, dws);
            if (relu)
                fer_cuda_relu_forward(ny, yref, yref);
            fer_cuda_conv_forward_fused(&s, dx, dw, db, relu, yf, st, dws);
            const std::vector<float> y = host_from(yref, ny);
            check(NAME("conv fused y %s %s%s", shape, pn, rn), host_from(yf, ny), y, {}, true);

            std::vector<double> sum(2 * (size_t)K, 0.0), tol(2 * (size_t)K, 0.0);
            for (int n = 0; n < N; n++)
                for (int k = 0; k < K; k++)
                    for (int j = 0; j < PQ; j++) {
                        const double v = y[((size_t)n * K + k) * PQ + j];
                        sum[k] += v;
                        sum[K + k] += v * v;
                        tol[k] += fabs(v);
                        tol[K + k] += v * v;
                    }
            for (auto &t : tol)
                t *= 2.0 * M * 0x1p-53;
            check(NAME("conv fused sums %s %s%s", shape, pn, rn), host_from(st, 2 * (size_t)K),
                  sum, tol, false);

            /* the batch norm that follows, on the fused conv's x and sums */
            const float eps = 1e-5f, mom = 0.1f;
            float *rm1 = dev_from(rm), *rv1 = dev_from(rv), *rm2 = dev_from(rm),
                  *rv2 = dev_from(rv);
            float *sm1 = dev_from(nan_k), *si1 = dev_from(nan_k), *sm2 = dev_from(nan_k),
                  *si2 = dev_from(nan_k);
            cudaMemcpy(zref, nan_y.data(), ny * 4, cudaMemcpyHostToDevice);
            cudaMemcpy(zf, nan_y.data(), ny * 4, cudaMemcpyHostToDevice);
            fer_cuda_bn_forward_train(N, K, PQ, yref, dg, dbt, eps, mom, rm1, rv1, zref, sm1,
                                      si1);
            fer_cuda_bn_forward_train_stats(N, K, PQ, st, yf, dg, dbt, eps, mom, rm2, rv2, 0, zf,
                                            sm2, si2);
            const std::vector<float> z = host_from(zref, ny);
            check(NAME("bn stats y %s %s%s", shape, pn, rn), host_from(zf, ny), z,
                  rel_tol(z, 1e-6, 2.4e-7), false);
            const struct {
                const char *what;
                float *got, *want;
            } saves[] = {{"save_mean", sm2, sm1},
                         {"save_invstd", si2, si1},
                         {"running_mean", rm2, rm1},
                         {"running_var", rv2, rv1}};
            for (const auto &sv : saves) {
                const std::vector<float> want = host_from(sv.want, K);
                check(NAME("bn stats %s %s %s%s", sv.what, shape, pn, rn), host_from(sv.got, K),
                      want, rel_tol(want, 1e-12, 2.4e-7), false);
            }
            /* with the ReLU after it: conv -> BN -> ReLU */
            cudaMemcpy(zf, nan_y.data(), ny * 4, cudaMemcpyHostToDevice);
            fer_cuda_bn_forward_train_stats(N, K, PQ, st, yf, dg, dbt, eps, mom, rm2, rv2, 1, zf,
                                            sm2, si2);
            fer_cuda_relu_forward(ny, zref, zref);
            const std::vector<float> zr = host_from(zref, ny);
            check(NAME("bn stats relu y %s %s%s", shape, pn, rn), host_from(zf, ny), zr,
                  rel_tol(zr, 1e-6, 2.4e-7), false);
            for (float *p : {rm1, rv1, rm2, rv2, sm1, si1, sm2, si2})
                cudaFree(p);
        }
    fer_cuda_set_precision(FER_CUDA_FP32);
    fer_cuda_set_cublas(0);
    fer_cuda_conv_cublas_hooks(NULL, 0);
    for (float *p : {dx, dw, db, dg, dbt, dws, yref, yf, zref, zf})
        if (p)
            cudaFree(p);
    cudaFree(st);
}

int main(void)
{
    const uint64_t seeds[] = {1, 2};
    setvbuf(stdout, NULL, _IOLBF, 0);   /* each line out before an abort */
    for (uint64_t seed : seeds) {
        printf("# emulator seed %llu\n", (unsigned long long)seed);
        fer_emu_seed(seed);
        check_seed(seed * 1000003u);
        test_fused(1, 3, 7, 5, 5, 3, 1, 1, 1, 0.0f);
        test_fused(3, 4, 9, 11, 37, 3, 2, 1, 1, 0.2f);
        test_fused(3, 2, 13, 9, 130, 3, 1, 1, 1, 0.0f);
        test_fused(2, 3, 5, 5, 3, 1, 1, 0, 0, 0.0f);
        test_fused(1, 2, 11, 13, 4, 3, 1, 1, 1, 30.0f);
    }
    if (failures)
        printf("test_cuda_fuse: %d failed\n", failures);
    return failures ? 1 : 0;
}
