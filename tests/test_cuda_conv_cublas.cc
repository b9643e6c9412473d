/* test_cuda_conv_cublas.cc: the convolutions of --gemm cublas
 * (conv_cublas.cu) under the CPU emulation of CUDA (tests/cudaemu).
 *
 * The emulation has no cuBLAS, so the tests check what is ours:
 *   - im2col against a CPU im2col, exactly (it only moves floats), and
 *     col2im against a CPU scatter-add summed in double, |got - want| <=
 *     1e-6 + 1e-6 mag (mag: the sum of |terms|); awkward shapes (N 1 and
 *     3, odd sizes, stride 2, padding 0 to 3, 1x1 and 7x7 kernels), chunks
 *     that start past image 0, outputs NaN beforehand, images outside
 *     the chunk left NaN;
 *   - the whole path (chunking, layouts, the order of the products, dw's
 *     accumulation over chunks, the bias) with our own fer_cuda_gemm in
 *     cuBLAS's place (fer_cuda_conv_cublas_hooks), against the CPU
 *     reference convolution as test_cuda_gemm.cc checks conv.cu: seeded
 *     uniform [-1, 1) inputs, outputs and workspace NaN beforehand, an
 *     element passes when |got - want| <= 1e-6 + rtol mag, mag being the
 *     reference over absolute values; fp32 rtol 2e-5 against
 *     fer_conv2d_*_ref, bf16 rtol 1e-4 against the reference over bf16-
 *     rounded operands. A small budget splits the batch into uneven
 *     chunks; floats past the workspace must stay NaN;
 *   - that the weight and data gradients repeat bit for bit under other
 *     thread orders, and that cuBLAS's absence is the next sync's error.
 * Each case runs under another emulator seed. */
#include "cuda_compat.h"

#include <vector>

extern "C" {
#include "backend_cuda.h"
#include "conv.h"
#include "error.h"
#include "gemm.h"
}
#include "conv_cublas.h"
#include "cuda_check.h"
#include "cuda_ops.h"

static vec rand_vec(size_t n)
{
    vec v(n);
    for (size_t i = 0; i < n; i++)
        v[i] = check_randf(-1.0f, 1.0f);
    return v;
}

/* 1 when got[i] is NaN for every i in [from, to) */
static int still_nan(const char *what, const char *ctx, const vec &got, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (!isnan(got[i])) {
            check_fail(__FILE__, __LINE__, "%s: %s[%zu] = %g written, should be untouched", ctx,
                       what, i, got[i]);
            return 0;
        }
    return 1;
}

struct conv_case {
    int N, C, H, W, K, R, S, stride, pad;
};

static const conv_case cases[] = {
    {1, 3, 5, 7, 5, 3, 3, 1, 1},    /* 3x3 s1 p1, one image */
    {3, 5, 7, 5, 6, 3, 3, 2, 1},    /* 3x3 s2 p1 */
    {3, 4, 5, 7, 7, 1, 1, 2, 0},    /* 1x1 s2 p0: the downsample */
    {3, 2, 6, 5, 3, 3, 3, 2, 0},    /* 3x3 s2 p0, even H */
    {1, 3, 9, 11, 4, 7, 7, 2, 3},   /* 7x7 s2 p3: resnet's stem */
    {3, 2, 7, 5, 3, 5, 5, 1, 2},    /* 5x5 */
};

static fer_conv_shape shape_of(const conv_case &c)
{
    fer_conv_shape s;
    if (fer_conv_shape_init(&s, c.N, c.C, c.H, c.W, c.K, c.R, c.S, c.stride, c.pad) < 0)
        abort();
    return s;
}

static void describe(char *ctx, size_t n, const fer_conv_shape &s, const char *more)
{
    snprintf(ctx, n, "N %d C %d H %d W %d K %d R %d S %d stride %d pad %d%s", s.N, s.C, s.H, s.W,
             s.K, s.R, s.S, s.stride, s.pad, more);
}

/* ---- the kernels ---- */

/* x(n, c, h, w) at window (p, q) + tap (r, t) of image n, 0 in the padding */
static float x_at(const fer_conv_shape &s, const vec &x, int n, int c, int p, int q, int r, int t)
{
    const int h = p * s.stride - s.pad + r, w = q * s.stride - s.pad + t;
    if (h < 0 || h >= s.H || w < 0 || w >= s.W)
        return 0.0f;
    return x[(((size_t)n * s.C + c) * s.H + h) * s.W + w];
}

/* image chunks [n0, n0 + nb) to try for N images: all, the last ones */
static int chunks(int N, int (*nc)[2])
{
    nc[0][0] = 0;
    nc[0][1] = N;
    if (N == 1)
        return 1;
    nc[1][0] = 1;
    nc[1][1] = N - 1;
    return 2;
}

static void test_im2col(void)
{
    for (const conv_case &c : cases) {
        const fer_conv_shape s = shape_of(c);
        const vec x = rand_vec((size_t)s.N * s.C * s.H * s.W);
        float *dx = dev_from(x);
        int nc[2][2];
        for (int k = 0, n = chunks(s.N, nc); k < n; k++) {
            const int n0 = nc[k][0], nb = nc[k][1], L = nb * s.P * s.Q;
            const size_t ncol = (size_t)s.C * s.R * s.S * L;
            float *dcol = dev_nan(ncol + 8);
            next_seed();
            fer_cuda_im2col(&s, n0, nb, dx, dcol);
            const vec got = host_from(dcol, ncol + 8);
            cudaFree(dcol);
            char ctx[160], more[40];
            snprintf(more, sizeof more, " images %d..%d", n0, n0 + nb - 1);
            describe(ctx, sizeof ctx, s, more);
            for (int ch = 0; ch < s.C; ch++)
                for (int r = 0; r < s.R; r++)
                    for (int t = 0; t < s.S; t++)
                        for (int j = 0; j < L; j++) {
                            const int n = j / (s.P * s.Q), pq = j % (s.P * s.Q);
                            const float want = x_at(s, x, n0 + n, ch, pq / s.Q, pq % s.Q, r, t);
                            const size_t i = ((size_t)(ch * s.R + r) * s.S + t) * L + j;
                            if (memcmp(&got[i], &want, sizeof want)) {
                                check_fail(__FILE__, __LINE__, "%s: col[%zu] = %g, want %g", ctx,
                                           i, got[i], want);
                                cudaFree(dx);
                                return;
                            }
                        }
            if (!still_nan("col", ctx, got, ncol, ncol + 8))
                break;
        }
        cudaFree(dx);
        if (check_failed_now)
            return;
    }
}

static void test_col2im(void)
{
    for (const conv_case &c : cases) {
        const fer_conv_shape s = shape_of(c);
        const size_t img = (size_t)s.C * s.H * s.W, nx = s.N * img;
        int nc[2][2];
        for (int k = 0, n = chunks(s.N, nc); k < n; k++) {
            const int n0 = nc[k][0], nb = nc[k][1], L = nb * s.P * s.Q;
            const vec col = rand_vec((size_t)s.C * s.R * s.S * L);
            /* the reference: each column element added where it came from */
            std::vector<double> want(nx, 0.0), mag(nx, 0.0);
            for (int ch = 0; ch < s.C; ch++)
                for (int r = 0; r < s.R; r++)
                    for (int t = 0; t < s.S; t++)
                        for (int j = 0; j < L; j++) {
                            const int nl = j / (s.P * s.Q), pq = j % (s.P * s.Q);
                            const int h = pq / s.Q * s.stride - s.pad + r;
                            const int w = pq % s.Q * s.stride - s.pad + t;
                            if (h < 0 || h >= s.H || w < 0 || w >= s.W)
                                continue;
                            const float v = col[((size_t)(ch * s.R + r) * s.S + t) * L + j];
                            const size_t o = (n0 + nl) * img + ((size_t)ch * s.H + h) * s.W + w;
                            want[o] += v;
                            mag[o] += fabs(v);
                        }
            float *dcol = dev_from(col), *ddx = dev_nan(nx);
            next_seed();
            fer_cuda_col2im(&s, n0, nb, dcol, ddx);
            const vec got = host_from(ddx, nx);
            cudaFree(dcol);
            cudaFree(ddx);
            char ctx[160], more[40];
            snprintf(more, sizeof more, " images %d..%d", n0, n0 + nb - 1);
            describe(ctx, sizeof ctx, s, more);
            const vec wantf(want.begin(), want.end()), magf(mag.begin(), mag.end());
            if (!still_nan("dx", ctx, got, 0, n0 * img) ||
                !within("dx", ctx, got, wantf, magf, 1e-6, n0 * img, (n0 + nb) * img))
                return;
        }
    }
}

/* ---- the whole path, our GEMM standing in for cuBLAS ---- */

static vec rounded(const vec &v, int prec)
{
    vec r(v);
    if (prec == FER_CUDA_BF16)
        for (float &f : r)
            f = fer_bf16_round(f);
    return r;
}

/* forward and backward of shape s in precision prec with budget floats
 * of columns (0: the default); v picks whether b, dx and db are given */
static int conv_check(int prec, const fer_conv_shape &s, size_t budget, int v)
{
    fer_cuda_set_cublas(1);
    fer_cuda_conv_cublas_hooks(fer_cuda_gemm, budget);
    fer_cuda_set_precision(prec);
    const size_t nx = (size_t)s.N * s.C * s.H * s.W, nw = (size_t)s.K * s.C * s.R * s.S;
    const size_t ny = (size_t)s.N * s.K * s.P * s.Q;
    const int with_b = v % 2 == 0, with_dx = v % 3 != 1, with_db = v % 4 != 3;
    const vec x = rand_vec(nx), w = rand_vec(nw), b = rand_vec(s.K), dy = rand_vec(ny);
    const size_t nws = fer_cuda_conv_workspace(&s);
    char ctx[200], more[80];
    snprintf(more, sizeof more, " %s budget %zu ws %zu%s%s%s",
             prec == FER_CUDA_BF16 ? "bf16" : "fp32", budget, nws, with_b ? "" : " no b",
             with_dx ? "" : " no dx", with_db ? "" : " no db");
    describe(ctx, sizeof ctx, s, more);

    float *dx_ = dev_from(x), *dw_ = dev_from(w), *db_ = dev_from(b), *ddy = dev_from(dy);
    float *dyo = dev_nan(ny), *ddx = dev_nan(nx), *ddw = dev_nan(nw), *ddb = dev_nan(s.K);
    float *dws = dev_nan(nws + 8);
    next_seed();
    fer_cuda_conv_forward(&s, dx_, dw_, with_b ? db_ : NULL, dyo, dws);
    next_seed();
    fer_cuda_conv_backward(&s, dx_, dw_, ddy, with_dx ? ddx : NULL, ddw, with_db ? ddb : NULL,
                           dws);
    const vec y = host_from(dyo, ny), gdx = host_from(ddx, nx);
    const vec gdw = host_from(ddw, nw), gdb = host_from(ddb, s.K);
    const vec gws = host_from(dws, nws + 8);
    for (float *p : {dx_, dw_, db_, ddy, dyo, ddx, ddw, ddb, dws})
        cudaFree(p);
    fer_cuda_set_cublas(0);
    fer_cuda_conv_cublas_hooks(NULL, 0);

    const vec xr = rounded(x, prec), wr = rounded(w, prec), dyr = rounded(dy, prec);
    vec ry(ny), my(ny), rdx(nx), mdx(nx), rdw(nw), mdw(nw), rdb(s.K), mdb(s.K), t2(nw);
    fer_conv2d_forward_ref(&s, xr.data(), wr.data(), with_b ? b.data() : NULL, ry.data());
    fer_conv2d_forward_ref(&s, absv(xr).data(), absv(wr).data(), with_b ? absv(b).data() : NULL,
                           my.data());
    fer_conv2d_backward_ref(&s, xr.data(), wr.data(), dyr.data(), rdx.data(), rdw.data(), NULL);
    fer_conv2d_backward_ref(&s, absv(xr).data(), absv(wr).data(), absv(dyr).data(), mdx.data(),
                            mdw.data(), NULL);
    /* db is a plain sum of dy, in no precision but fp32 */
    fer_conv2d_backward_ref(&s, x.data(), w.data(), dy.data(), NULL, t2.data(), rdb.data());
    fer_conv2d_backward_ref(&s, x.data(), w.data(), absv(dy).data(), NULL, t2.data(), mdb.data());

    const double rtol = prec == FER_CUDA_FP32 ? 2e-5 : 1e-4;
    if (!within("y", ctx, y, ry, my, rtol) || !within("dw", ctx, gdw, rdw, mdw, rtol))
        return 0;
    if (with_dx ? !within("dx", ctx, gdx, rdx, mdx, rtol) : !still_nan("dx", ctx, gdx, 0, nx))
        return 0;
    if (with_db ? !within("db", ctx, gdb, rdb, mdb, 1e-6) : !still_nan("db", ctx, gdb, 0, s.K))
        return 0;
    return still_nan("workspace", ctx, gws, nws, nws + 8);
}

/* a budget that splits N = 3 into chunks of 2 and 1 */
static size_t two_images(const fer_conv_shape &s)
{
    return 2 * ((size_t)s.C * s.R * s.S + s.K) * s.P * s.Q;
}

static void conv_all(int prec)
{
    int v = 0;
    for (const conv_case &c : cases) {
        const fer_conv_shape s = shape_of(c);
        if (!conv_check(prec, s, s.N > 1 ? two_images(s) : 0, v++))
            return;
    }
    /* one image a chunk, and a budget smaller than one image */
    const fer_conv_shape s = shape_of(cases[1]);
    if (!conv_check(prec, s, 1, v++))
        return;
    /* more than 64 channels out: more than one tile of ours either way */
    fer_conv_shape big;
    fer_conv_shape_init(&big, 3, 9, 6, 5, 70, 3, 3, 1, 1);
    conv_check(prec, big, two_images(big) + 1, v++);
}

static void test_conv_cublas_fp32(void) { conv_all(FER_CUDA_FP32); }
static void test_conv_cublas_bf16(void) { conv_all(FER_CUDA_BF16); }

/* The workspace is the path's that is on, chunked as the budget says. */
static void test_workspace(void)
{
    const fer_conv_shape s = shape_of(cases[1]);   /* N 3 */
    const size_t per = ((size_t)s.C * s.R * s.S + s.K) * s.P * s.Q;
    const size_t ours = fer_cuda_conv_workspace(&s);
    fer_cuda_set_cublas(1);
    fer_cuda_conv_cublas_hooks(fer_cuda_gemm, 0);
    CHECK(fer_cuda_conv_workspace(&s) == 3 * per, "default budget: %zu, want %zu",
          fer_cuda_conv_workspace(&s), 3 * per);
    fer_cuda_conv_cublas_hooks(fer_cuda_gemm, 2 * per + per / 2);
    CHECK(fer_cuda_conv_workspace(&s) == 2 * per, "budget of 2.5 images: %zu, want %zu",
          fer_cuda_conv_workspace(&s), 2 * per);
    fer_cuda_conv_cublas_hooks(fer_cuda_gemm, 1);
    CHECK(fer_cuda_conv_workspace(&s) == per, "budget below one image: %zu, want %zu",
          fer_cuda_conv_workspace(&s), per);
    fer_cuda_set_cublas(0);
    fer_cuda_conv_cublas_hooks(NULL, 0);
    CHECK(fer_cuda_conv_workspace(&s) == ours, "ours again: %zu, want %zu",
          fer_cuda_conv_workspace(&s), ours);
}

/* dw (summed over chunks) and dx repeat bit for bit under other thread
 * and block orders */
static void test_conv_cublas_repeat(void)
{
    const fer_conv_shape s = shape_of(cases[1]);
    const size_t nx = (size_t)s.N * s.C * s.H * s.W, nw = (size_t)s.K * s.C * s.R * s.S;
    const size_t ny = (size_t)s.N * s.K * s.P * s.Q;
    fer_cuda_set_cublas(1);
    fer_cuda_conv_cublas_hooks(fer_cuda_gemm, two_images(s));
    fer_cuda_set_precision(FER_CUDA_FP32);
    const size_t nws = fer_cuda_conv_workspace(&s);
    float *dx = dev_from(rand_vec(nx)), *dw = dev_from(rand_vec(nw)), *ddy = dev_from(rand_vec(ny));
    float *ddx = dev_nan(nx), *ddw = dev_nan(nw), *dws = dev_nan(nws);
    same_bits_each_run([&]() {
        fer_cuda_conv_backward(&s, dx, dw, ddy, ddx, ddw, NULL, dws);
        vec got = host_from(ddw, nw), gx = host_from(ddx, nx);
        got.insert(got.end(), gx.begin(), gx.end());
        return got;
    });
    for (float *p : {dx, dw, ddy, ddx, ddw, dws})
        cudaFree(p);
    fer_cuda_set_cublas(0);
    fer_cuda_conv_cublas_hooks(NULL, 0);
}

/* Without the stand-in the products go to cuBLAS, which the emulation
 * lacks: the ops return, the next sync fails with cuBLAS's message, and
 * the one after succeeds. */
static void test_cublas_failure(void)
{
    const fer_backend *be = fer_backend_cuda_open(0);
    if (!be)
        SKIP("no emulated device: %s", fer_error());
    const fer_conv_shape s = shape_of(cases[0]);
    const size_t nx = (size_t)s.N * s.C * s.H * s.W, nw = (size_t)s.K * s.C * s.R * s.S;
    const size_t ny = (size_t)s.N * s.K * s.P * s.Q;
    fer_cuda_set_cublas(1);
    fer_cuda_conv_cublas_hooks(NULL, 0);
    float *dx = dev_from(rand_vec(nx)), *dw = dev_from(rand_vec(nw)), *dy = dev_nan(ny);
    float *dws = dev_nan(fer_cuda_conv_workspace(&s));
    CHECK(be->sync() == 0, "a sync before: %s", fer_error());
    fer_seterr("%s", "");
    next_seed();
    fer_cuda_conv_forward(&s, dx, dw, NULL, dy, dws);
    CHECK(be->sync() < 0, "the sync after a failed cuBLAS call succeeded");
    CHECK(strstr(fer_error(), "cuBLAS"), "the sync's message: '%s'", fer_error());
    CHECK(be->sync() == 0, "the failure was reported twice: %s", fer_error());
    for (float *p : {dx, dw, dy, dws})
        cudaFree(p);
    fer_cuda_set_cublas(0);
}

int main(int argc, char **argv)
{
    first_seed(argc, argv);
    check_seed(emu_seed);
    RUN(test_im2col);
    RUN(test_col2im);
    RUN(test_workspace);
    RUN(test_conv_cublas_fp32);
    RUN(test_conv_cublas_bf16);
    RUN(test_conv_cublas_repeat);
    RUN(test_cublas_failure);
    return check_done();
}
