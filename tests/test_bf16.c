/* test_bf16.c: fer_gemm's bf16 precision (gemm.h) against references in
 * double, for every kernel this CPU runs it on (AVX512_BF16's, and the
 * fp32 kernels on rounded operands), on 1 and 2 threads.
 *
 * Tolerances, per element of C, with ra, rb the operands rounded to bf16
 * and S' = sum_k |ra_ik||rb_kj|, S = sum_k |a_ik||b_kj|:
 *  - against the exact sum of the rounded operands' products (double):
 *    a bf16 product has at most 16 significant bits, so it is exact in
 *    fp32, and only the fp32 summation rounds:
 *      |got - ref'| <= 2 (K + 2) eps32 (|alpha| S' + |beta| |c0|)
 *    This checks that each operand is rounded exactly once, to nearest.
 *  - against the fp32 product of the unrounded operands: each operand is
 *    within u = 2^-8 of itself relatively (8 significant bits, round to
 *    nearest), a product within 2u + u^2 = 2^-7 + 2^-16, so
 *      |got - ref| <= (2^-7 + 2^-16 + 4 (K + 2) eps32) |alpha| S + ...
 *    the bound a user of --precision bf16 can count on.
 * And AVX512_BF16's one-pass packing of A against the two passes it
 * replaced (the fp32 kernel's panels, then the fold into pairs), bit for
 * bit. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "gemm.h"
#include "gemm_kernel.h"
#include "threads.h"

/* The bf16 neighbours of f by arithmetic on doubles, independent of the
 * bit trick in gemm_bf16.c: the nearest multiple of 2^(e-7), e = f's
 * exponent, ties to an even last mantissa bit. */
static float bf16_ref(float f)
{
    int e;
    double m, q, lo, hi, v;
    if (isnan(f) || isinf(f) || f == 0)
        return f;
    frexp(f, &e);                       /* f = m 2^e, 0.5 <= |m| < 1 */
    q = ldexp(1.0, e - 8);              /* the spacing: 8 significant bits */
    m = f / q;                          /* integer part: 128..255 */
    lo = floor(m);
    hi = lo + 1;
    if (m - lo < hi - m)
        v = lo;
    else if (m - lo > hi - m)
        v = hi;
    else
        v = fmod(lo, 2) == 0 ? lo : hi;
    v *= q;
    if (fabs(v) > FLT_MAX)
        return v > 0 ? INFINITY : -INFINITY;
    return (float)v;
}

static void test_round(void)
{
    check_seed(41);
    for (int i = 0; i < 200000; i++) {
        float f = (float)(check_randf(-1, 1) * pow(2, (int)(check_uniform() * 60) - 30));
        float g = fer_bf16_round(f), r = bf16_ref(f);
        CHECK(g == r, "round(%a) = %a, want %a", f, g, r);
        if (g != r)
            return;
    }
    /* ties: exactly half-way between two bf16 values, both parities */
    for (uint32_t u = 0x3f800000u; u < 0x3f800000u + (64u << 16); u += 1u << 16) {
        float f, g;
        uint32_t t = u | 0x8000u;
        memcpy(&f, &t, sizeof f);
        g = fer_bf16_round(f);
        CHECK(g == bf16_ref(f), "tie %a rounds to %a, want %a", f, g, bf16_ref(f));
    }
    CHECK(isnan(fer_bf16_round(NAN)), "NaN lost");
    {
        float f;
        uint32_t t = 0x7f80ffffu;   /* a NaN whose payload is only in the low half */
        memcpy(&f, &t, sizeof f);
        CHECK(isnan(fer_bf16_round(f)), "low-payload NaN became %a", fer_bf16_round(f));
    }
    CHECK(fer_bf16_round(INFINITY) == INFINITY, "inf");
    CHECK(fer_bf16_round(FLT_MAX) == INFINITY, "FLT_MAX rounds to %a", fer_bf16_round(FLT_MAX));
    CHECK(fer_bf16_round(-0.0f) == 0 && signbit(fer_bf16_round(-0.0f)), "-0");
}

typedef struct tcase { int ta, tb, M, N, K; float alpha, beta; int pad, packed; } tcase;

static float *randv(size_t n)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = check_randf(-1, 1);
    return x;
}

/* ref' (on rounded operands, with S') and ref (unrounded, with S), in
 * double */
static void refs(const tcase *t, const float *A, int lda, const float *B, int ldb,
                 const float *C0, int ldc, double *R1, double *S1, double *R0, double *S0)
{
    for (int i = 0; i < t->M; i++)
        for (int j = 0; j < t->N; j++) {
            double r1 = 0, s1 = 0, r0 = 0, s0 = 0;
            for (int k = 0; k < t->K; k++) {
                float a = t->ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = t->tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                double p1 = (double)bf16_ref(a) * bf16_ref(b), p0 = (double)a * b;
                r1 += p1, s1 += fabs(p1), r0 += p0, s0 += fabs(p0);
            }
            size_t e = (size_t)i * ldc + j;
            double c = t->beta == 0 ? 0 : (double)t->beta * C0[e];
            R1[e] = t->alpha * r1 + c, S1[e] = s1, R0[e] = t->alpha * r0 + c, S0[e] = s0;
        }
}

/* Runs one case under the current kernel; 0 when it matches. With *moved,
 * counts elements farther from the fp32 result than fp32 rounding allows
 * (evidence that operands were rounded at all). */
static int run_case(const tcase *t, long *moved)
{
    int lda = (t->ta ? t->M : t->K) + t->pad, ldb = (t->tb ? t->K : t->N) + t->pad;
    int ldc = t->N + t->pad, rows_a = t->ta ? t->K : t->M, rows_b = t->tb ? t->N : t->K;
    size_t na = (size_t)rows_a * lda, nb = (size_t)rows_b * ldb, nc = (size_t)t->M * ldc;
    float *A = randv(na), *B = randv(nb), *C0 = randv(nc), *C = malloc(nc * sizeof *C);
    double *R1 = malloc(nc * sizeof *R1), *S1 = malloc(nc * sizeof *S1);
    double *R0 = malloc(nc * sizeof *R0), *S0 = malloc(nc * sizeof *S0);
    float *Ap = NULL;
    int bad = 0;
    if (t->beta == 0)
        for (size_t e = 0; e < nc; e++)
            C0[e] = NAN;   /* not read */
    memcpy(C, C0, nc * sizeof *C);
    if (t->packed) {   /* op(A) packed once, as conv_winograd.c does with weights */
        fer_gemm_operand a = {.packed = 1}, b = {.p = B, .ld = ldb, .trans = t->tb};
        Ap = malloc(fer_gemm_packed_floats(t->M, t->K) * sizeof *Ap);
        fer_gemm_pack_a(t->ta, t->M, t->K, A, lda, Ap);
        a.p = Ap;
        fer_gemm_op(t->M, t->N, t->K, t->alpha, &a, &b, t->beta, C, ldc);
    } else {
        fer_gemm(t->ta, t->tb, t->M, t->N, t->K, t->alpha, A, lda, B, ldb, t->beta, C, ldc);
    }
    refs(t, A, lda, B, ldb, C0, ldc, R1, S1, R0, S0);
    for (int i = 0; i < t->M && !bad; i++)
        for (int j = 0; j < t->N && !bad; j++) {
            size_t e = (size_t)i * ldc + j;
            double c0 = t->beta == 0 ? 0 : fabs(t->beta * C0[e]);
            double tol1 = 2.0 * (t->K + 2) * FLT_EPSILON * (fabs(t->alpha) * S1[e] + c0) + 1e-30;
            double tol0 = (ldexp(1, -7) + ldexp(1, -16) + 4.0 * (t->K + 2) * FLT_EPSILON) *
                          fabs(t->alpha) * S0[e] + 2.0 * FLT_EPSILON * c0 + 1e-30;
            double fp32 = 2.0 * (t->K + 2) * FLT_EPSILON * (fabs(t->alpha) * S0[e] + c0);
            /* fer_gemm_thin's products of few rows stay fp32, and so do
             * those of few columns, which fer_gemm turns into few rows */
            if ((t->M <= 4 || t->N <= 4) && !t->packed)
                tol1 = INFINITY;
            if (!(fabs(C[e] - R1[e]) <= tol1) || !(fabs(C[e] - R0[e]) <= tol0)) {
                CHECK(0, "%s %dx%dx%d t%d%d alpha %g beta %g pad %d packed %d, %d threads: "
                      "C[%d][%d] = %.9g, rounded-operand ref %.9g (tol %.3g), fp32 ref %.9g "
                      "(tol %.3g)", fer_gemm_kernel_name(), t->M, t->N, t->K, t->ta, t->tb,
                      t->alpha, t->beta, t->pad, t->packed, fer_threads_get(), i, j, C[e], R1[e],
                      tol1, R0[e], tol0);
                bad = 1;
            }
            if (moved && fabs(C[e] - R0[e]) > fp32)
                (*moved)++;
        }
    free(A), free(B), free(C0), free(C), free(R1), free(S1), free(R0), free(S0), free(Ap);
    return bad ? -1 : 0;
}

static const int sizes[] = {1, 2, 7, 17, 31, 33, 65, 127, 300};
#define NSIZES ((int)(sizeof sizes / sizeof *sizes))

static int sweep(void)
{
    static const float alphas[] = {1, -0.5f, 2.25f}, betas[] = {0, 1, -1.5f};
    static const tcase big[] = {
        {0, 0, 40, 97, 531, 1, 0, 3, 0},   {1, 1, 33, 50, 513, -1, 0.5f, 0, 0},
        {0, 1, 300, 49, 261, 0.5f, 1, 1, 0}, {0, 0, 64, 300, 259, 1, 0, 0, 1},
        {1, 0, 19, 130, 513, 1, 1, 2, 1},  {0, 0, 9, 5000, 21, 1, 2, 7, 0},
    };
    for (int c = 0; c < 60; c++) {
        tcase t = {c & 1, (c >> 1) & 1, sizes[(int)(check_uniform() * NSIZES)],
                   sizes[(int)(check_uniform() * NSIZES)], sizes[(int)(check_uniform() * NSIZES)],
                   alphas[(int)(check_uniform() * 3)], betas[(int)(check_uniform() * 3)],
                   (int)(check_uniform() * 3) * 5, (c >> 2) & 1};
        if (t.M * t.N * t.K > 300 * 300 * 65)
            t.K = 17;
        if (run_case(&t, NULL))
            return -1;
    }
    for (size_t i = 0; i < sizeof big / sizeof *big; i++)
        if (run_case(&big[i], NULL))
            return -1;
    return 0;
}

static void test_products(void)
{
    static const char *names[] = {"avx512", "avx2", "portable"};
    int ran = 0;
    check_seed(42);
    CHECK(fer_gemm_set_precision("bf16") == 0, "%s", fer_error());
    for (int i = 0; i < 3; i++) {
        if (fer_gemm_set_kernel(names[i]))
            continue;
        ran++;
        printf("# %s\n", fer_gemm_kernel_name());
        for (int th = 1; th <= 2; th++) {
            fer_threads_set(th);
            if (sweep())
                goto out;
        }
    }
out:
    CHECK(ran > 0, "no kernel ran");
    fer_gemm_set_kernel("auto");
    fer_gemm_set_precision("fp32");
    fer_threads_set(2);
}

/* The switch itself: bf16 names a bf16 kernel and moves results away from
 * fp32 by more than fp32 rounding could; fp32 brings the fp32 kernel back;
 * other names are refused. */
static void test_switch(void)
{
    tcase t = {0, 0, 64, 96, 200, 1, 0, 0, 0};
    long moved = 0;
    check_seed(43);
    CHECK(!strcmp(fer_gemm_precision(), "fp32"), "default %s", fer_gemm_precision());
    CHECK(fer_gemm_set_precision("fp16") == -1 && strstr(fer_error(), "fp16"), "fp16 taken");
    CHECK(fer_gemm_set_precision("bf16") == 0, "%s", fer_error());
    CHECK(strstr(fer_gemm_kernel_name(), "bf16"), "kernel %s", fer_gemm_kernel_name());
    CHECK((strcmp(fer_gemm_kernel_name(), "avx512bf16") == 0) == fer_gemm_bf16_native(),
          "native %d, kernel %s", fer_gemm_bf16_native(), fer_gemm_kernel_name());
    CHECK(run_case(&t, &moved) == 0, "bf16 case");
    CHECK(moved > 64 * 96 / 2, "only %ld of %d elements differ from fp32: operands not rounded?",
          moved, 64 * 96);
    CHECK(fer_gemm_set_precision("fp32") == 0, "%s", fer_error());
    CHECK(!strstr(fer_gemm_kernel_name(), "bf16"), "kernel %s", fer_gemm_kernel_name());
}

/* The AVX512_BF16 kernel packs op(A) into pair panels in one pass; the
 * slots must be those of the fp32 kernel's packing folded by
 * fer_gemm_bf16_pairs, bit for bit, for either storage of A, any row
 * count and any depth (odd ones pad the last pair with zero), specials
 * included. */
static void test_pack_a_pairs(void)
{
    const fer_gemm_kernel *k = fer_gemm_kernel_avx512bf16(), *f = fer_gemm_kernel_avx512();
    static const int ms[] = {1, 7, 8, 9, 16, 17, 33}, kcs[] = {1, 2, 31, 32, 33, 64, 70};
    enum { LD = 80 };
    static float A[80 * LD], got[48 * 72], want[48 * 72];
    if (!k || !f) {
        printf("skip test_pack_a_pairs: no AVX512_BF16 kernel on this CPU\n");
        return;
    }
    check_seed(44);
    for (size_t i = 0; i < sizeof A / sizeof *A; i++)
        A[i] = check_randf(-3, 3) * ldexpf(1, (int)(check_uniform() * 20) - 10);
    A[5] = NAN, A[LD + 9] = INFINITY, A[2 * LD + 3] = -0.0f, A[3 * LD + 1] = 1e-40f;
    for (int trans = 0; trans < 2; trans++)
        for (size_t a = 0; a < sizeof ms / sizeof *ms; a++)
            for (size_t b = 0; b < sizeof kcs / sizeof *kcs; b++) {
                const int m = ms[a], kc = kcs[b], mr = k->mr, panels = (m + mr - 1) / mr;
                long bad = 0;
                memset(got, 0, sizeof got);
                memset(want, 0, sizeof want);
                k->pack_a(trans, A, LD, 3, m, 2, kc, mr, got);
                f->pack_a(trans, A, LD, 3, m, 2, kc, mr, want);
                for (int q = 0; q < panels; q++) {
                    float *g = got + (size_t)q * kc * mr, *w = want + (size_t)q * kc * mr;
                    fer_gemm_bf16_pairs(w, kc, mr);
                    bad += memcmp(g, w, (size_t)(kc + 1) / 2 * mr * sizeof *g) != 0;
                }
                CHECK(bad == 0, "trans %d, %d rows, depth %d: %ld of %d panels differ", trans, m,
                      kc, bad, panels);
            }
}

/* Products 49 to 64 columns wide run on the 6 x 64 variant of the
 * AVX512_BF16 kernel; its sums go in the same order, so each column of C
 * must have the bits the 8 x 48 kernel gives it in a wider product (the
 * same columns and more: B's first N columns, then others). Either
 * storage of A and B, depths across the 256-deep K blocks, beta 0 and
 * not, row counts that leave partial 6-row and 12-row panels. */
static void test_n64_bits(void)
{
    static const int ms[] = {5, 6, 13, 64}, ns[] = {49, 60, 64}, ks[] = {7, 64, 300};
    enum { WIDE = 110 };
    if (!fer_gemm_kernel_avx512bf16_n64()) {
        printf("skip test_n64_bits: no AVX512_BF16 kernel on this CPU\n");
        return;
    }
    check_seed(45);
    CHECK(fer_gemm_set_precision("bf16") == 0, "%s", fer_error());
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (size_t a = 0; a < sizeof ms / sizeof *ms; a++)
                for (size_t b = 0; b < sizeof ns / sizeof *ns; b++)
                    for (size_t c = 0; c < sizeof ks / sizeof *ks; c++) {
                        const int M = ms[a], N = ns[b], K = ks[c];
                        const int lda = ta ? M : K, ldb = tb ? K : WIDE;
                        float *A = malloc((size_t)M * K * sizeof *A);
                        float *B = malloc((size_t)WIDE * K * sizeof *B);
                        float *C0 = malloc((size_t)M * WIDE * sizeof *C0);
                        float *cn = malloc((size_t)M * WIDE * sizeof *cn);
                        float *cw = malloc((size_t)M * WIDE * sizeof *cw);
                        long bad = 0;
                        for (long i = 0; i < (long)M * K; i++)
                            A[i] = check_randf(-2, 2);
                        for (long i = 0; i < (long)WIDE * K; i++)
                            B[i] = check_randf(-2, 2);
                        for (long i = 0; i < (long)M * WIDE; i++)
                            C0[i] = check_randf(-2, 2);
                        for (int beta = 0; beta < 2; beta++) {
                            memcpy(cn, C0, (size_t)M * WIDE * sizeof *cn);
                            memcpy(cw, C0, (size_t)M * WIDE * sizeof *cw);
                            fer_gemm(ta, tb, M, N, K, 1.5f, A, lda, B, ldb, beta * 0.5f, cn,
                                     WIDE);
                            fer_gemm(ta, tb, M, WIDE, K, 1.5f, A, lda, B, ldb, beta * 0.5f, cw,
                                     WIDE);
                            for (int i = 0; i < M; i++)
                                bad += memcmp(cn + (size_t)i * WIDE, cw + (size_t)i * WIDE,
                                              (size_t)N * sizeof *cn) != 0;
                        }
                        CHECK(bad == 0, "trans %d %d, %dx%dx%d: %ld rows differ from the 8x48 "
                              "kernel's", ta, tb, M, N, K, bad);
                        free(A), free(B), free(C0), free(cn), free(cw);
                    }
    fer_gemm_set_precision("fp32");
}

int main(void)
{
    RUN(test_round);
    RUN(test_n64_bits);
    RUN(test_switch);
    RUN(test_products);
    RUN(test_pack_a_pairs);
    return check_done();
}
