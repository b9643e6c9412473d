/* test_gemm.c: fer_gemm against fer_gemm_ref, for every kernel this CPU
 * runs (avx512, avx2, portable) on 1 and 2 threads.
 *
 * Tolerance, per element: both results are float sums of K products, each
 * within K*eps*S of the exact value, S = sum_k |a_ik||b_kj| (the error bound
 * of recursive summation), so
 *   |got - ref| <= 2 (K + 2) eps (|alpha| S + |beta| |c0|)
 * An indexing or packing slip changes an element by about one whole term,
 * S/K, far above this bound for the sizes used. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "gemm.h"
#include "threads.h"

typedef struct tcase { int ta, tb, M, N, K; float alpha, beta; int pad; } tcase;

static float *randv(size_t n)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = check_randf(-1, 1);
    return x;
}

#define SENTINEL 12345.0f

/* Runs one case; returns 0 when it matches, else reports and returns -1. */
static int run_case(const tcase *t)
{
    int lda = (t->ta ? t->M : t->K) + t->pad, ldb = (t->tb ? t->K : t->N) + t->pad;
    int ldc = t->N + t->pad, rows_a = t->ta ? t->K : t->M, rows_b = t->tb ? t->N : t->K;
    size_t na = (size_t)rows_a * lda, nb = (size_t)rows_b * ldb, nc = (size_t)t->M * ldc;
    float *A = randv(na), *B = randv(nb), *C0 = randv(nc), *C = malloc(nc * sizeof *C);
    float *R = malloc(nc * sizeof *R), *S = malloc(nc * sizeof *S);
    float *absA = malloc(na * sizeof *absA), *absB = malloc(nb * sizeof *absB);
    int bad = 0;
    for (size_t i = 0; i < na; i++)
        absA[i] = fabsf(A[i]);
    for (size_t i = 0; i < nb; i++)
        absB[i] = fabsf(B[i]);
    for (int i = 0; i < t->M; i++)
        for (int j = t->N; j < ldc; j++)
            C0[(size_t)i * ldc + j] = SENTINEL;   /* beyond N: must stay */
    if (t->beta == 0)
        for (int i = 0; i < t->M; i++)
            for (int j = 0; j < t->N; j++)
                C0[(size_t)i * ldc + j] = NAN;    /* beta = 0: C is not read */
    memcpy(C, C0, nc * sizeof *C);
    memcpy(R, C0, nc * sizeof *R);
    fer_gemm(t->ta, t->tb, t->M, t->N, t->K, t->alpha, A, lda, B, ldb, t->beta, C, ldc);
    fer_gemm_ref(t->ta, t->tb, t->M, t->N, t->K, t->alpha, A, lda, B, ldb, t->beta, R, ldc);
    fer_gemm_ref(t->ta, t->tb, t->M, t->N, t->K, 1, absA, lda, absB, ldb, 0, S, ldc);
    for (int i = 0; i < t->M && !bad; i++)
        for (int j = 0; j < ldc && !bad; j++) {
            size_t e = (size_t)i * ldc + j;
            double tol;
            if (j >= t->N) {
                if (C[e] != SENTINEL) {
                    CHECK(0, "%s %dx%dx%d t%d%d: C[%d][%d] beyond N written",
                          fer_gemm_kernel_name(), t->M, t->N, t->K, t->ta, t->tb, i, j);
                    bad = 1;
                }
                continue;
            }
            tol = 2.0 * (t->K + 2) * FLT_EPSILON *
                  (fabs(t->alpha) * S[e] + (t->beta == 0 ? 0 : fabs(t->beta * C0[e]))) + 1e-30;
            if (!(fabs((double)C[e] - R[e]) <= tol)) {
                CHECK(0, "%s %dx%dx%d t%d%d alpha %g beta %g pad %d, %d threads: C[%d][%d] = %.9g, "
                      "ref %.9g, tol %.3g", fer_gemm_kernel_name(), t->M, t->N, t->K, t->ta, t->tb,
                      t->alpha, t->beta, t->pad, fer_threads_get(), i, j, C[e], R[e], tol);
                bad = 1;
            }
        }
    free(A), free(B), free(C0), free(C), free(R), free(S), free(absA), free(absB);
    return bad ? -1 : 0;
}

static const int sizes[] = {1, 2, 7, 17, 31, 33, 65, 127, 300};
#define NSIZES ((int)(sizeof sizes / sizeof *sizes))

/* Every transpose pair over a seeded sample of awkward sizes, alphas,
 * betas and strides, for the current kernel and thread count. */
static int sweep(int ncases)
{
    static const float alphas[] = {1, -0.5f, 2.25f}, betas[] = {0, 1, -1.5f, 0.25f};
    for (int c = 0; c < ncases; c++) {
        tcase t = {c & 1, (c >> 1) & 1, sizes[(int)(check_uniform() * NSIZES)],
                   sizes[(int)(check_uniform() * NSIZES)], sizes[(int)(check_uniform() * NSIZES)],
                   alphas[(int)(check_uniform() * 3)], betas[(int)(check_uniform() * 4)],
                   (int)(check_uniform() * 3) * 5};
        if (t.M * t.N * t.K > 300 * 300 * 65)   /* keep the reference loops short */
            t.K = 17;
        if (run_case(&t))
            return -1;
    }
    return 0;
}

/* Sizes past the cache blocks: K over kc (256) twice, M over mc, N over nc. */
static int big_cases(void)
{
    static const tcase big[] = {
        {0, 0, 40, 97, 530, 1, 0, 3},   {1, 1, 33, 50, 513, -1, 0.5f, 0},
        {0, 1, 300, 49, 260, 0.5f, 1, 1}, {1, 0, 270, 35, 300, 1, 0, 0},
        {0, 0, 9, 5000, 20, 1, 2, 7},   {0, 1, 3, 4900, 33, 1, 0, 0},
    };
    for (size_t i = 0; i < sizeof big / sizeof *big; i++)
        if (run_case(&big[i]))
            return -1;
    return 0;
}

/* All kernels available here, each on 1 and 2 threads. */
static void for_kernels(const char *which, int (*fn)(void))
{
    static const char *names[] = {"avx512", "avx2", "portable"};
    int ran = 0;
    for (int i = 0; i < 3; i++) {
        if (which && strcmp(which, names[i]))
            continue;
        if (fer_gemm_set_kernel(names[i]))
            continue;   /* not on this CPU */
        ran++;
        for (int th = 1; th <= 2; th++) {
            CHECK(fer_threads_set(th) == 0, "threads_set: %s", fer_error());
            if (fn())
                goto out;
        }
    }
out:
    fer_gemm_set_kernel("auto");
    fer_threads_set(2);
    CHECK(ran > 0, "no kernel ran");
}

static int sweep120(void) { return sweep(120); }

static void test_fast_sweep(void)
{
    check_seed(11);
    CHECK(fer_gemm_set_kernel("auto") == 0, "auto: %s", fer_error());
    if (!strcmp(fer_gemm_kernel_name(), "portable"))
        SKIP("no SIMD kernel on this CPU; the portable sweep covers it");
    for_kernels(fer_gemm_kernel_name(), sweep120);
}

static void test_all_kernels_sweep(void)
{
    check_seed(12);
    for_kernels(NULL, sweep120);
}

static void test_block_edges(void)
{
    check_seed(13);
    for_kernels(NULL, big_cases);
}

static void test_portable_forced(void)
{
    check_seed(14);
    CHECK(fer_gemm_set_kernel("none") == 0, "none: %s", fer_error());
    CHECK(!strcmp(fer_gemm_kernel_name(), "portable"), "kernel %s", fer_gemm_kernel_name());
    CHECK(fer_gemm_set_kernel("bogus") == -1, "bogus kernel accepted");
    CHECK(!strcmp(fer_gemm_kernel_name(), "portable"), "bogus changed the kernel");
    for_kernels("portable", sweep120);
}

/* alpha == 0 and K == 0: C = beta C, A and B unread (NaN here). */
static void test_degenerate(void)
{
    float A[12], B[12], C[6], C2[6];
    for (int i = 0; i < 12; i++)
        A[i] = B[i] = NAN;
    for (int i = 0; i < 6; i++)
        C[i] = C2[i] = check_randf(-1, 1);
    fer_gemm(0, 0, 2, 3, 4, 0, A, 4, B, 3, 0.5f, C, 3);
    for (int i = 0; i < 6; i++)
        CHECK(C[i] == 0.5f * C2[i], "alpha 0: C[%d] = %g", i, C[i]);
    fer_gemm(1, 1, 2, 3, 0, 1, A, 2, B, 1, 0, C, 3);
    for (int i = 0; i < 6; i++)
        CHECK(C[i] == 0, "K 0 beta 0: C[%d] = %g", i, C[i]);
    fer_gemm(0, 0, 0, 3, 4, 1, A, 4, B, 3, 0, C, 3);   /* M = 0: nothing */
    fer_gemm(0, 0, 2, 0, 4, 1, A, 4, B, 3, 0, C, 3);
    for (int i = 0; i < 6; i++)
        CHECK(C[i] == 0, "M or N 0 wrote C[%d] = %g", i, C[i]);
}

/* The same call gives the same bits on 1, 2 and 3 threads. */
static void test_reproducible(void)
{
    int M = 70, N = 1000, K = 700;
    float *A = randv((size_t)M * K), *B = randv((size_t)N * K);
    float *C1 = malloc((size_t)M * N * sizeof *C1), *C2 = malloc((size_t)M * N * sizeof *C2);
    for (int th = 1; th <= 3; th++) {
        fer_threads_set(th);
        fer_gemm(0, 1, M, N, K, 1, A, K, B, K, 0, th == 1 ? C1 : C2, N);
        if (th > 1)
            CHECK(!memcmp(C1, C2, (size_t)M * N * sizeof *C1), "%d threads differ from 1", th);
    }
    fer_threads_set(2);
    free(A), free(B), free(C1), free(C2);
}

/* fer_gemm_pack_a_block, block by block, gives the bits of
 * fer_gemm_pack_a on the whole matrix, for every kernel in fp32 and bf16
 * (sizes with partial panels, odd K, and a K with a short last block). */
static int blocks_match(void)
{
    static const int sizes[][2] = {{37, 45}, {16, 64}, {8, 3}, {50, 70}};
    int mr = fer_gemm_pack_a_rows(), band = 16 / mr * mr;
    for (unsigned z = 0; z < sizeof sizes / sizeof *sizes; z++) {
        int M = sizes[z][0], K = sizes[z][1];
        size_t n = fer_gemm_packed_floats(M, K);
        float *A = randv((size_t)M * K), *want = malloc(n * sizeof *want);
        float *got = malloc(n * sizeof *got);
        memset(want, 0x5a, n * sizeof *want);
        memset(got, 0x5a, n * sizeof *got);
        fer_gemm_pack_a(0, M, K, A, K, want);
        for (int i0 = 0; i0 < M; i0 += band)
            for (int k0 = 0; k0 < K; k0 += 32)
                fer_gemm_pack_a_block(K, i0, M - i0 < band ? M - i0 : band, k0,
                                      K - k0 < 32 ? K - k0 : 32, A + (size_t)i0 * K + k0,
                                      K, got);
        CHECK(!memcmp(got, want, n * sizeof *got), "%s %s: %dx%d blocks differ from the whole",
              fer_gemm_kernel_name(), fer_gemm_precision(), M, K);
        free(A), free(want), free(got);
    }
    return check_failed_now ? -1 : 0;
}

static void test_pack_a_block(void)
{
    check_seed(15);
    for (int b = 0; b < 2; b++) {
        CHECK(fer_gemm_set_precision(b ? "bf16" : "fp32") == 0, "%s", fer_error());
        for_kernels(NULL, blocks_match);
    }
    fer_gemm_set_precision("fp32");
}

int main(void)
{
    RUN(test_pack_a_block);
    RUN(test_fast_sweep);
    RUN(test_all_kernels_sweep);
    RUN(test_block_edges);
    RUN(test_portable_forced);
    RUN(test_degenerate);
    RUN(test_reproducible);
    return check_done();
}
