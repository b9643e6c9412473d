/* test_cuda_ops.cc: lib/cuda's small ops (elementwise, pool, batchnorm,
 * loss, optim) on the emulated device (tests/cudaemu) against the CPU
 * backend, op by op: seeded random inputs (never zeros), awkward shapes,
 * device outputs filled with NaN first, several emulator seeds (the
 * order of blocks and of threads between barriers). A result passes when
 * |got - want| <= atol + rtol |want| (NaN only against NaN); "exact" ops
 * must give the CPU's bits. Each check prints "ok <name>" or "FAIL
 * <name>: first mismatch at i: got x want y (tol t)"; any FAIL exits 1.
 *
 * Tolerances, and why:
 *   exact: relu, leaky relu, dropout (mask and values), add, ema, max pool
 *     (values, argmax, and backward: the same sums in the same order),
 *     avg pool backward, the optimiser step (the CPU's float operations
 *     one by one);
 *   avg pool forward: rtol 1.2e-7 (one float ulp; double sums in another
 *     order);
 *   xent: loss rtol 1e-12 (double, tree order), probs rtol 1.2e-7,
 *     dlogits atol 1e-9 + rtol 1e-6 (double math, rounded once);
 *   sum of squares: rtol 1e-12;
 *   batch norm: the CPU sums 16 float lanes, the GPU doubles; the gap is
 *     the CPU's float rounding: y, dx atol 1e-5 + rtol 1e-5; save_mean,
 *     save_invstd, running stats atol 1e-6 + rtol 1e-5; dgamma, dbeta
 *     atol 1e-6 + 1e-8 M + rtol 1e-5 (M = N HW: the CPU's float lanes
 *     add M / 16 roundings, and the sums may cancel).
 * Last, a copy of batchnorm.cu built here with its reductions'
 * __syncthreads removed must be caught (wrong sums for some seed). */
#include "cuda_compat.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

extern "C" {
#include "backend_cpu.h"
#include "error.h"
#include "rng.h"
}
#include "backend_cuda.h"
#include "cuda_mem.h"
#include "cuda_ops.h"
#include "cuda_test.h"

static int failures;

/* ---- data ---- */

static uint64_t rng_state;

static uint64_t next_u64(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* uniform in [lo, hi), never 0 */
static float uni(float lo, float hi)
{
    for (;;) {
        float v = lo + (hi - lo) * (float)((next_u64() >> 40) * (1.0 / 16777216.0));
        if (v != 0.0f)
            return v;
    }
}

static std::vector<float> randv(size_t n, float lo = -2.0f, float hi = 2.0f)
{
    std::vector<float> v(n);
    for (auto &x : v)
        x = uni(lo, hi);
    return v;
}

/* ---- device memory ---- */

/* ---- comparison ---- */

/* exact: the same bits; else |got - want| <= atol + rtol |want| */
static bool check(const char *name, const float *got, const float *want, size_t n, double atol,
                  double rtol, bool exact = false)
{
    double worst = 0;   /* the largest |got - want| / tol seen */
    for (size_t i = 0; i < n; i++) {
        bool ok;
        double tol = atol + rtol * fabs((double)want[i]);
        if (!exact && !isnan(want[i]) && !isnan(got[i]) && tol > 0 &&
            fabs((double)got[i] - want[i]) / tol > worst)
            worst = fabs((double)got[i] - want[i]) / tol;
        if (exact)
            ok = !memcmp(&got[i], &want[i], sizeof(float));
        else if (isnan(want[i]) || isnan(got[i]))
            ok = isnan(want[i]) && isnan(got[i]);
        else
            ok = fabs((double)got[i] - want[i]) <= tol;
        if (!ok) {
            if (exact)
                printf("FAIL %s: first mismatch at %zu: got %.9g want %.9g (tol exact)\n", name,
                       i, got[i], want[i]);
            else
                printf("FAIL %s: first mismatch at %zu: got %.9g want %.9g (tol %.3g)\n", name,
                       i, got[i], want[i], tol);
            failures++;
            return false;
        }
    }
    if (exact || worst == 0)
        printf("ok %s\n", name);
    else
        printf("ok %s (worst %.2g of tol)\n", name, worst);
    return true;
}

static bool check_v(const char *name, const std::vector<float> &got,
                    const std::vector<float> &want, double atol, double rtol,
                    bool exact = false)
{
    return check(name, got.data(), want.data(), want.size(), atol, rtol, exact);
}

template <class T>
static bool check_int(const char *name, const std::vector<T> &got, const std::vector<T> &want)
{
    for (size_t i = 0; i < want.size(); i++)
        if (got[i] != want[i]) {
            printf("FAIL %s: first mismatch at %zu: got %lld want %lld (tol exact)\n", name, i,
                   (long long)got[i], (long long)want[i]);
            failures++;
            return false;
        }
    printf("ok %s\n", name);
    return true;
}

static bool check_d(const char *name, double got, double want, double rtol)
{
    if (fabs(got - want) <= rtol * fabs(want)) {
        printf("ok %s (rel err %.2g)\n", name, fabs(got - want) / fabs(want));
        return true;
    }
    printf("FAIL %s: first mismatch at 0: got %.17g want %.17g (tol %.3g)\n", name, got, want,
           rtol * fabs(want));
    failures++;
    return false;
}

static const fer_backend &cpu = fer_backend_cpu;
static char name_buf[256];

#define NAME(...) (snprintf(name_buf, sizeof name_buf, __VA_ARGS__), name_buf)

/* ---- element-wise ---- */

static void test_elementwise(size_t n, int off)
{
    /* off floats into the block: 16-byte accesses or not */
    std::vector<float> x = randv(n), dy = randv(n), b = randv(n);
    std::vector<float> want(n);
    if (n > 2)
        x[n / 2] = NAN;
    float *bufs[4];
    for (float *&p : bufs)
        p = dev_new<float>(n + 4);
    float *xo = bufs[0] + off, *dyo = bufs[1] + off, *bo = bufs[2] + off, *dout = bufs[3] + off;
    cudaMemcpy(xo, x.data(), n * 4, cudaMemcpyHostToDevice);
    cudaMemcpy(dyo, dy.data(), n * 4, cudaMemcpyHostToDevice);
    cudaMemcpy(bo, b.data(), n * 4, cudaMemcpyHostToDevice);

    auto reset = [&]() { cudaMemcpy(dout, std::vector<float>(n, NAN).data(), n * 4,
                                    cudaMemcpyHostToDevice); };

    reset();
    fer_cuda_relu_forward(n, xo, dout);
    cpu.relu_forward(n, x.data(), want.data());
    check_v(NAME("relu_forward n=%zu off=%d", n, off), host_from(dout, n), want, 0, 0, true);

    reset();
    fer_cuda_relu_backward(n, xo, dyo, dout);
    cpu.relu_backward(n, x.data(), dy.data(), want.data());
    check_v(NAME("relu_backward n=%zu off=%d", n, off), host_from(dout, n), want, 0, 0, true);

    reset();
    fer_cuda_lrelu_forward(n, 0.01f, xo, dout);
    cpu.lrelu_forward(n, 0.01f, x.data(), want.data());
    check_v(NAME("lrelu_forward n=%zu off=%d", n, off), host_from(dout, n), want, 0, 0, true);

    reset();
    fer_cuda_lrelu_backward(n, 0.2f, xo, dyo, dout);
    cpu.lrelu_backward(n, 0.2f, x.data(), dy.data(), want.data());
    check_v(NAME("lrelu_backward n=%zu off=%d", n, off), host_from(dout, n), want, 0, 0, true);

    reset();
    fer_cuda_add(n, xo, bo, dout);
    cpu.add(n, x.data(), b.data(), want.data());
    check_v(NAME("add n=%zu off=%d", n, off), host_from(dout, n), want, 0, 0, true);

    reset();
    fer_cuda_add(n, xo, NULL, dout);
    check_v(NAME("add copy n=%zu off=%d", n, off), host_from(dout, n), x, 0, 0, true);

    /* in place: y == x */
    {
        std::vector<float> yx = x;
        cudaMemcpy(dout, x.data(), n * 4, cudaMemcpyHostToDevice);
        fer_cuda_relu_forward(n, dout, dout);
        cpu.relu_forward(n, yx.data(), yx.data());
        check_v(NAME("relu in place n=%zu off=%d", n, off), host_from(dout, n), yx, 0, 0, true);
    }

    /* in place: y == b */
    {
        std::vector<float> yb = b;
        cudaMemcpy(dout, b.data(), n * 4, cudaMemcpyHostToDevice);
        fer_cuda_add(n, xo, dout, dout);
        cpu.add(n, x.data(), yb.data(), yb.data());
        check_v(NAME("add in place n=%zu off=%d", n, off), host_from(dout, n), yb, 0, 0, true);
    }

    {
        std::vector<float> avg = b;
        cudaMemcpy(dout, b.data(), n * 4, cudaMemcpyHostToDevice);
        fer_cuda_ema(n, 0.001f, xo, dout);
        cpu.ema(n, 0.001f, x.data(), avg.data());
        check_v(NAME("ema n=%zu off=%d", n, off), host_from(dout, n), avg, 0, 0, true);
    }

    const float ps[] = {0.0f, 0.3f, 0.5f, 1.0f};
    for (float p : ps) {
        const uint64_t key = fer_rng_key_base(7, 3, (uint64_t)(p * 10));
        std::vector<uint8_t> mask(n), dmask;
        uint8_t *dm = dev_new<uint8_t>(n);
        cudaMemset(dm, 0xAB, n);
        reset();
        fer_cuda_dropout_forward(n, p, key, xo, dout, dm);
        cpu.dropout_forward(n, p, key, x.data(), want.data(), mask.data());
        check_v(NAME("dropout_forward p=%g n=%zu off=%d", p, n, off), host_from(dout, n), want,
                0, 0, true);
        dmask = host_from(dm, n);
        check_int(NAME("dropout_forward mask p=%g n=%zu off=%d", p, n, off), dmask, mask);
        reset();
        fer_cuda_dropout_backward(n, p, dm, dyo, dout);
        cpu.dropout_backward(n, p, mask.data(), dy.data(), want.data());
        check_v(NAME("dropout_backward p=%g n=%zu off=%d", p, n, off), host_from(dout, n),
                want, 0, 0, true);
        cudaFree(dm);
    }
    for (float *p : bufs)
        cudaFree(p);
}

/* ---- pooling ---- */

static void test_maxpool(int N, int C, int H, int W, int k, int s)
{
    const int P = (H - k) / s + 1, Q = (W - k) / s + 1;
    const size_t nx = (size_t)N * C * H * W, ny = (size_t)N * C * P * Q;
    /* few distinct values, so windows tie; some NaNs */
    std::vector<float> x(nx), dy = randv(ny), y(ny), dx(nx);
    for (auto &v : x)
        v = (float)(int)uni(1.0f, 5.0f) * (next_u64() & 1 ? 1.0f : -1.0f);
    for (size_t i = 0; i < nx / 17 + 1; i++)
        x[next_u64() % nx] = NAN;
    std::vector<int32_t> am(ny);
    float *dxin = dev_from(x), *dyv = dev_nan(ny), *ddy = dev_from(dy), *ddx = dev_nan(nx);
    int32_t *dam = dev_new<int32_t>(ny);
    cudaMemset(dam, 0xFF, ny * 4);
    fer_cuda_maxpool_forward(N, C, H, W, k, s, dxin, dyv, dam);
    cpu.maxpool_forward(N, C, H, W, k, s, x.data(), y.data(), am.data());
    check_v(NAME("maxpool_forward %dx%dx%dx%d k%d s%d", N, C, H, W, k, s), host_from(dyv, ny), y,
            0, 0, true);
    check_int(NAME("maxpool_forward argmax %dx%dx%dx%d k%d s%d", N, C, H, W, k, s),
              host_from(dam, ny), am);
    /* backward from the CPU's argmax, so it checks backward alone */
    cudaMemcpy(dam, am.data(), ny * 4, cudaMemcpyHostToDevice);
    fer_cuda_maxpool_backward(N, C, H, W, k, s, ddy, dam, ddx);
    cpu.maxpool_backward(N, C, H, W, k, s, dy.data(), am.data(), dx.data());
    check_v(NAME("maxpool_backward %dx%dx%dx%d k%d s%d", N, C, H, W, k, s), host_from(ddx, nx),
            dx, 0, 0, true);
    cudaFree(dxin);
    cudaFree(dyv);
    cudaFree(ddy);
    cudaFree(ddx);
    cudaFree(dam);
}

static void test_avgpool(int N, int C, int HW)
{
    const size_t nx = (size_t)N * C * HW, ny = (size_t)N * C;
    std::vector<float> x = randv(nx), dy = randv(ny), y(ny), dx(nx);
    float *dxin = dev_from(x), *dyv = dev_nan(ny), *ddy = dev_from(dy), *ddx = dev_nan(nx);
    fer_cuda_avgpool_forward(N, C, HW, dxin, dyv);
    cpu.avgpool_forward(N, C, HW, x.data(), y.data());
    check_v(NAME("avgpool_forward %dx%dx%d", N, C, HW), host_from(dyv, ny), y, 0, 1.2e-7);
    fer_cuda_avgpool_backward(N, C, HW, ddy, ddx);
    cpu.avgpool_backward(N, C, HW, dy.data(), dx.data());
    check_v(NAME("avgpool_backward %dx%dx%d", N, C, HW), host_from(ddx, nx), dx, 0, 0, true);
    cudaFree(dxin);
    cudaFree(dyv);
    cudaFree(ddy);
    cudaFree(ddx);
}

/* ---- batch norm ---- */

/* The ops under test, so that a broken build can be given instead. */
struct bn_ops {
    decltype(&fer_cuda_bn_forward_train) train;
    decltype(&fer_cuda_bn_forward_infer) infer;
    decltype(&fer_cuda_bn_backward) backward;
};

/* Runs the three ops on (N, C, HW) with data centred at `centre`; quiet:
 * returns whether all matched, printing nothing. */
static bool test_bn(const bn_ops &ops, int N, int C, int HW, float centre, bool quiet = false)
{
    const size_t nx = (size_t)N * C * HW;
    std::vector<float> x = randv(nx, centre - 1.5f, centre + 1.5f), dy = randv(nx);
    std::vector<float> gamma = randv(C, 0.5f, 1.5f), beta = randv(C, -1, 1);
    std::vector<float> rm = randv(C, -0.5f, 0.5f), rv = randv(C, 0.5f, 2.0f);
    std::vector<float> y(nx), sm(C), si(C), rm2 = rm, rv2 = rv, dx(nx), dg(C), dbt(C);
    const float eps = 1e-5f, mom = 0.1f;
    float *dX = dev_from(x), *dDY = dev_from(dy), *dG = dev_from(gamma), *dB = dev_from(beta);
    float *dRM = dev_from(rm), *dRV = dev_from(rv), *dY = dev_nan(nx), *dSM = dev_nan(C),
          *dSI = dev_nan(C), *dDX = dev_nan(nx), *dDG = dev_nan(C), *dDB = dev_nan(C);
    bool ok = true;
    auto chk = [&](const char *what, const float *dev, const std::vector<float> &want,
                   double atol, double rtol) {
        std::vector<float> got = host_from(dev, want.size());
        if (quiet) {
            for (size_t i = 0; i < want.size(); i++)
                if (!(fabs((double)got[i] - want[i]) <= atol + rtol * fabs((double)want[i])))
                    ok = false;
            return;
        }
        ok &= check_v(NAME("bn %s %dx%dx%d centre %g", what, N, C, HW, centre), got, want, atol,
                      rtol);
    };

    ops.train(N, C, HW, dX, dG, dB, eps, mom, dRM, dRV, dY, dSM, dSI);
    cpu.bn_forward_train(N, C, HW, x.data(), gamma.data(), beta.data(), eps, mom, rm2.data(),
                         rv2.data(), y.data(), sm.data(), si.data());
    chk("train y", dY, y, 1e-5, 1e-5);
    chk("train save_mean", dSM, sm, 1e-6, 1e-5);
    chk("train save_invstd", dSI, si, 1e-6, 1e-5);
    chk("train running_mean", dRM, rm2, 1e-6, 1e-5);
    chk("train running_var", dRV, rv2, 1e-6, 1e-5);

    /* backward from the CPU's saved statistics, so it checks backward alone */
    cudaMemcpy(dSM, sm.data(), C * 4, cudaMemcpyHostToDevice);
    cudaMemcpy(dSI, si.data(), C * 4, cudaMemcpyHostToDevice);
    ops.backward(N, C, HW, dX, dDY, dG, dSM, dSI, dDX, dDG, dDB);
    cpu.bn_backward(N, C, HW, x.data(), dy.data(), gamma.data(), sm.data(), si.data(), dx.data(),
                    dg.data(), dbt.data());
    chk("backward dx", dDX, dx, 1e-5, 1e-5);
    /* the CPU's float lanes: an error growing with M, worst when the sum
     * cancels */
    chk("backward dgamma", dDG, dg, 1e-6 + 1e-8 * N * HW, 1e-5);
    chk("backward dbeta", dDB, dbt, 1e-6 + 1e-8 * N * HW, 1e-5);

    cudaMemcpy(dY, std::vector<float>(nx, NAN).data(), nx * 4, cudaMemcpyHostToDevice);
    ops.infer(N, C, HW, dX, dG, dB, eps, dRM, dRV, dY);
    cpu.bn_forward_infer(N, C, HW, x.data(), gamma.data(), beta.data(), eps, rm2.data(),
                         rv2.data(), y.data());
    chk("infer y", dY, y, 1e-5, 1e-5);

    for (float *p : {dX, dDY, dG, dB, dRM, dRV, dY, dSM, dSI, dDX, dDG, dDB})
        cudaFree(p);
    return ok;
}

/* ---- loss ---- */

static void test_xent(int N, int K, bool weighted, float smoothing)
{
    std::vector<float> z = randv((size_t)N * K, -4, 4), cw = randv(K, 0.2f, 3.0f);
    std::vector<int32_t> lab(N);
    for (auto &l : lab)
        l = (int32_t)(next_u64() % K);
    std::vector<float> p((size_t)N * K), dl((size_t)N * K);
    float *dZ = dev_from(z), *dW = weighted ? dev_from(cw) : NULL, *dP = dev_nan(p.size()),
          *dDL = dev_nan(p.size());
    int32_t *dL = dev_from(lab);
    const float *w = weighted ? cw.data() : NULL;
    double got = NAN, want;
    std::vector<double> nanl(1, NAN);
    double *dLoss = dev_from(nanl);
    fer_cuda_xent_forward(N, K, dZ, dL, dW, smoothing, dP, dLoss);
    cudaMemcpy(&got, dLoss, sizeof got, cudaMemcpyDeviceToHost);
    cpu.xent_forward(N, K, z.data(), lab.data(), w, smoothing, p.data(), &want);
    const char *wn = weighted ? "weighted" : "plain";
    check_d(NAME("xent_forward loss %dx%d %s eps=%g", N, K, wn, smoothing), got, want, 1e-12);
    check_v(NAME("xent_forward probs %dx%d %s eps=%g", N, K, wn, smoothing),
            host_from(dP, p.size()), p, 0, 1.2e-7);
    /* backward from the CPU's probs */
    cudaMemcpy(dP, p.data(), p.size() * 4, cudaMemcpyHostToDevice);
    fer_cuda_xent_backward(N, K, dP, dL, dW, smoothing, dDL);
    cpu.xent_backward(N, K, p.data(), lab.data(), w, smoothing, dl.data());
    check_v(NAME("xent_backward %dx%d %s eps=%g", N, K, wn, smoothing), host_from(dDL, dl.size()),
            dl, 1e-9, 1e-6);
    cudaFree(dZ);
    cudaFree(dW);
    cudaFree(dP);
    cudaFree(dDL);
    cudaFree(dL);
    cudaFree(dLoss);
}

/* ---- optimiser ---- */

/* segments over a block of `total` floats, with gaps and an empty one */
static std::vector<fer_optim_segment> make_segments(size_t *total)
{
    const size_t sizes[] = {1, 3, 0, 2047, 2049, 5000, 33, 17000};
    std::vector<fer_optim_segment> seg;
    size_t off = 5;
    for (size_t n : sizes) {
        fer_optim_segment s;
        s.off = off;
        s.n = n;
        s.lr_scale = seg.size() % 3 == 1 ? 0.1f : 1.0f;
        s.weight_decay = seg.size() % 2 ? 0.0f : 5e-4f;
        seg.push_back(s);
        off += n + (n % 7);   /* gaps between some */
    }
    *total = off + 3;
    return seg;
}

static void test_sum_squares(void)
{
    size_t total;
    std::vector<fer_optim_segment> seg = make_segments(&total);
    std::vector<float> g = randv(total);
    float *dg = dev_from(g);
    std::vector<double> nan1(1, NAN);
    double *ds = dev_from(nan1), got = NAN, want;
    fer_cuda_sum_squares(dg, seg.data(), (int)seg.size(), ds);
    cudaMemcpy(&got, ds, sizeof got, cudaMemcpyDeviceToHost);
    cpu.sum_squares(g.data(), seg.data(), (int)seg.size(), &want);
    check_d("sum_squares", got, want, 1e-12);
    /* one segment, then a changed table (the device copy is cached) */
    fer_cuda_sum_squares(dg, seg.data() + 3, 1, ds);
    cudaMemcpy(&got, ds, sizeof got, cudaMemcpyDeviceToHost);
    cpu.sum_squares(g.data(), seg.data() + 3, 1, &want);
    check_d("sum_squares one segment", got, want, 1e-12);
    cudaFree(dg);
    cudaFree(ds);
}

static void test_optim(int kind, float mu, int nesterov, long t, const char *what)
{
    size_t total;
    std::vector<fer_optim_segment> seg = make_segments(&total);
    std::vector<float> w = randv(total), g = randv(total, -0.1f, 0.1f);
    std::vector<float> m = randv(total, -0.1f, 0.1f), v = randv(total, 1e-4f, 1e-2f);
    float *dw = dev_from(w), *dg = dev_from(g), *dm = dev_from(m), *dv = dev_from(v);
    fer_optim_step_args a;
    memset(&a, 0, sizeof a);
    a.kind = kind;
    a.seg = seg.data();
    a.nseg = (int)seg.size();
    a.lr = 0.0123;
    a.t = t;
    a.bc1 = 1 - pow(0.9, (double)t);
    a.bc2 = 1 - pow(0.999, (double)t);
    a.gs = 0.77f;
    a.momentum = mu;
    a.beta1 = 0.9f;
    a.beta2 = 0.999f;
    a.eps = 1e-8f;
    a.nesterov = nesterov;
    fer_optim_step_args d = a;
    d.w = dw;
    d.g = dg;
    d.m = dm;
    d.v = dv;
    fer_cuda_optim_step(&d);
    a.w = w.data();
    a.g = g.data();
    a.m = m.data();
    a.v = v.data();
    cpu.optim_step(&a);
    check_v(NAME("optim_step %s w", what), host_from(dw, total), w, 0, 0, true);
    check_v(NAME("optim_step %s m", what), host_from(dm, total), m, 0, 0, true);
    check_v(NAME("optim_step %s v", what), host_from(dv, total), v, 0, 0, true);
    cudaFree(dw);
    cudaFree(dg);
    cudaFree(dm);
    cudaFree(dv);
}

/* ---- a broken build must be caught ---- */

/* batchnorm.cu and its helpers again, in a namespace of their own, with
 * every __syncthreads gone: warp 0 then adds the warps' totals before
 * all are written (the emulator runs the threads in a seeded random order
 * between barriers). */
#define __syncthreads() ((void)0)
#undef FER_KERN_UTIL_CUH
namespace broken {
#include "kern_util.cuh"
#include "batchnorm.cu"
}
#undef __syncthreads

static void test_broken(void)
{
    const bn_ops ops = {broken::fer_cuda_bn_forward_train, broken::fer_cuda_bn_forward_infer,
                        broken::fer_cuda_bn_backward};
    int caught = 0;
    for (uint64_t s = 1; s <= 4; s++) {
        fer_emu_seed(s);
        if (!test_bn(ops, 3, 5, 300, 0.5f, true))
            caught++;
    }
    if (caught) {
        printf("ok broken batchnorm (no __syncthreads) caught for %d of 4 seeds\n", caught);
    } else {
        printf("FAIL broken batchnorm (no __syncthreads): first mismatch at -: got all matching "
               "want a mismatch (tol -)\n");
        failures++;
    }
}

/* A device allocation an op needs and cannot get (here the staging of a
 * dropout key, with the memory full) queues nothing and is the next
 * sync's error, once; the op runs again once memory is there. */
static void test_alloc_failure(void)
{
    const fer_backend *be = fer_backend_cuda_open(0);
    const size_t n = 1001;
    std::vector<float> x = randv(n), want(n);
    std::vector<uint8_t> mask(n);
    float *dx = dev_from(x), *dy = dev_nan(n);
    uint8_t *dm = dev_new<uint8_t>(n);
    const uint64_t key = fer_rng_key_base(7, 1, 2);
    bool ok = be != NULL;
    fer_cuda_mem_release();   /* no scratch or staging block left */
    fer_emu_set_memory_limit(fer_emu_device_bytes());
    fer_cuda_dropout_forward(n, 0.5f, key, dx, dy, dm);
    ok = ok && be->sync() < 0 && strstr(fer_error(), "staging memory");
    printf("%s alloc failure: the next sync's error (%s)\n", ok ? "ok" : "FAIL", fer_error());
    failures += !ok;
    ok = be && be->sync() == 0;
    printf("%s alloc failure: reported once\n", ok ? "ok" : "FAIL");
    failures += !ok;
    fer_emu_set_memory_limit(0);
    fer_cuda_dropout_forward(n, 0.5f, key, dx, dy, dm);
    cpu.dropout_forward(n, 0.5f, key, x.data(), want.data(), mask.data());
    check("alloc failure: dropout once memory is there", host_from(dy, n).data(), want.data(), n,
          0, 0, true);
    cudaFree(dx);
    cudaFree(dy);
    cudaFree(dm);
}

int main(void)
{
    const bn_ops ops = {fer_cuda_bn_forward_train, fer_cuda_bn_forward_infer,
                        fer_cuda_bn_backward};
    const uint64_t seeds[] = {1, 2, 3};
    setvbuf(stdout, NULL, _IOLBF, 0);   /* each line out before an abort */
    for (uint64_t seed : seeds) {
        printf("# emulator seed %llu\n", (unsigned long long)seed);
        fer_emu_seed(seed);
        rng_state = seed * 1000003u;
        const size_t ns[] = {1, 3, 4, 37, 1029, 9001};
        for (size_t n : ns)
            for (int off = 0; off < 2; off++)
                test_elementwise(n, off);
        test_maxpool(1, 1, 5, 5, 3, 2);
        test_maxpool(3, 5, 7, 9, 3, 2);
        test_maxpool(2, 3, 8, 8, 2, 2);
        test_maxpool(1, 2, 7, 6, 3, 3);
        test_maxpool(3, 33, 13, 11, 3, 1);
        test_maxpool(2, 4, 5, 5, 5, 1);
        test_avgpool(1, 1, 1);
        test_avgpool(3, 5, 9);
        test_avgpool(2, 37, 49);
        test_bn(ops, 1, 3, 5, 0.0f);
        test_bn(ops, 2, 5, 1, 0.0f);
        test_bn(ops, 3, 37, 7, 3.0f);
        test_bn(ops, 4, 33, 36, -2.0f);
        test_bn(ops, 3, 3, 2304, 0.0f);
        test_bn(ops, 2, 70, 1, 100.0f);
        test_xent(1, 7, false, 0.0f);
        test_xent(3, 7, true, 0.1f);
        test_xent(37, 10, true, 0.0f);
        test_xent(300, 7, false, 0.1f);
        test_sum_squares();
        test_optim(FER_STEP_SGD, 0.0f, 0, 5, "sgd");
        test_optim(FER_STEP_SGD, 0.9f, 0, 1, "sgd momentum t=1");
        test_optim(FER_STEP_SGD, 0.9f, 1, 1, "sgd nesterov t=1");
        test_optim(FER_STEP_SGD, 0.9f, 0, 4, "sgd momentum");
        test_optim(FER_STEP_SGD, 0.9f, 1, 4, "sgd nesterov");
        test_optim(FER_STEP_ADAM, 0.0f, 0, 1, "adam t=1");
        test_optim(FER_STEP_ADAM, 0.0f, 0, 9, "adam");
        test_optim(FER_STEP_ADAMW, 0.0f, 0, 9, "adamw");
    }
    test_broken();
    test_alloc_failure();
    if (failures)
        printf("test_cuda_ops: %d failed\n", failures);
    return failures ? 1 : 0;
}
