/* gemm.c: the reference GEMM, the portable kernel, packing, cache blocking,
 * the split over threads and the kernel choice.
 *
 * Blocking (Goto/BLIS order), per tile of C a task owns:
 *   for jc over N by nc:  for pc over K by kc:  for ic over M by mc:
 *     pack op(A)[ic.., pc..] (mc x kc) into mr-row micro-panels  (L2)
 *     for jr over nc by nr:
 *       pack op(B)[pc.., jc+jr..] (kc x nr) into one micro-panel   (L1-L2)
 *       for ir over mc by mr: kernel -> C tile (mr x nr), prefetching a
 *         share of the next B panel's source so that its packing finds
 *         it in L2 (B is often too big for the caches: im2col columns)
 * The first K block applies beta, later ones add (beta = 1), so every C
 * element is summed in the same order whatever the tile split. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gemm.h"
#include "gemm_kernel.h"
#include "scratch.h"
#include "threads.h"

void fer_gemm_ref(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                  int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float s = 0;
            for (int k = 0; k < K; k++) {
                float a = trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = trans_b ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                s += a * b;
            }
            float *c = &C[(size_t)i * ldc + j];
            *c = beta == 0 ? alpha * s : alpha * s + beta * *c;
        }
}

/* The portable kernel: 4 x 16, plain C that compilers vectorise. */
enum { PMR = 4, PNR = 16 };

static void tile_portable(int kc, const float *a, const float *b, float *c, long ldc, int m,
                          int n, float alpha, float beta, const fer_gemm_pf *pf)
{
    (void)pf;
    float acc[PMR][PNR] = {{0}};
    for (int k = 0; k < kc; k++, a += PMR, b += PNR)
        for (int i = 0; i < PMR; i++)
            for (int j = 0; j < PNR; j++)
                acc[i][j] += a[i] * b[j];
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float v = alpha * acc[i][j];
            c[i * ldc + j] = beta == 0 ? v : fmaf(beta, c[i * ldc + j], v);
        }
}

static const fer_gemm_kernel portable = {"portable", PMR, PNR, 256, 128, 2048, tile_portable,
                                         NULL, NULL, NULL, 0, 0};

/* ---- kernel choice ---- */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const fer_gemm_kernel *kern;       /* what runs */
static const fer_gemm_kernel *kern_fp32;  /* the kernel chosen by name */
static const fer_gemm_kernel *kern_n64;   /* kern's 6 x 64 variant, or NULL */
static int bf16;                          /* precision "bf16" */
static fer_gemm_kernel emu;               /* kern_fp32 on rounded operands */
static char emu_name[32];

static unsigned layout;                    /* fer_gemm_layout */

/* kern from the chosen kernel and the precision: AVX512_BF16's kernel in
 * place of the AVX-512 one where the CPU has it, else the chosen kernel
 * with its panels rounded to bf16. */
static void select_kernel(void)
{
    const fer_gemm_kernel *native = fer_gemm_kernel_avx512bf16();
    layout++;
    kern = kern_fp32;
    kern_n64 = NULL;
    if (!bf16)
        return;
    if (native && kern_fp32 == fer_gemm_kernel_avx512()) {
        kern = native;
        kern_n64 = fer_gemm_kernel_avx512bf16_n64();
        return;
    }
    emu = *kern_fp32;
    snprintf(emu_name, sizeof emu_name, "%s-bf16round", kern_fp32->name);
    emu.name = emu_name;
    emu.prep = fer_gemm_bf16_round;
    emu.pairs = 0;
    kern = &emu;
}

static const fer_gemm_kernel *best(void)
{
    const fer_gemm_kernel *k = fer_gemm_kernel_avx512();
    if (!k)
        k = fer_gemm_kernel_avx2();
    return k ? k : &portable;
}

static int choose(const char *name)
{
    const fer_gemm_kernel *k = NULL;
    if (!strcmp(name, "auto"))
        k = best();
    else if (!strcmp(name, "avx512"))
        k = fer_gemm_kernel_avx512();
    else if (!strcmp(name, "avx2"))
        k = fer_gemm_kernel_avx2();
    else if (!strcmp(name, "portable") || !strcmp(name, "none"))
        k = &portable;
    else
        return fer_seterr("gemm: unknown kernel '%s' (auto, avx512, avx2, portable)", name);
    if (!k)
        return fer_seterr("gemm: kernel '%s' is not available on this CPU or build", name);
    kern_fp32 = k;
    select_kernel();
    return 0;
}

static void init_kernel(void)
{
    const char *e = getenv("FER_SIMD");
    kern_fp32 = best();
    select_kernel();
    if (e && *e)
        choose(e);   /* an unknown or unavailable name keeps the best kernel */
}

const char *fer_gemm_kernel_name(void)
{
    pthread_once(&once, init_kernel);
    return kern->name;
}

int fer_gemm_set_kernel(const char *name)
{
    pthread_once(&once, init_kernel);
    return choose(name);
}

int fer_gemm_set_precision(const char *name)
{
    pthread_once(&once, init_kernel);
    if (strcmp(name, "fp32") && strcmp(name, "bf16"))
        return fer_seterr("precision '%s': fp32 or bf16", name);
    bf16 = !strcmp(name, "bf16");
    select_kernel();
    return 0;
}

unsigned fer_gemm_layout(void)
{
    pthread_once(&once, init_kernel);
    return layout;
}

const char *fer_gemm_precision(void)
{
    return bf16 ? "bf16" : "fp32";
}

int fer_gemm_bf16_native(void)
{
    pthread_once(&once, init_kernel);
    return bf16 && kern->pairs;
}

/* ---- packing ---- */

/* op(A)[i0 .. i0+m, k0 .. k0+kc] into ceil(m/mr) panels of kc x mr. */
static void pack_a(int trans, const float *A, long lda, int i0, int m, int k0, int kc, int mr,
                   float *dst)
{
    for (int p = 0; p < m; p += mr, dst += (size_t)kc * mr) {
        int rows = m - p < mr ? m - p : mr;
        if (trans) {
            const float *s = A + (size_t)k0 * lda + i0 + p;
            for (int k = 0; k < kc; k++, s += lda) {
                int i = 0;
                for (; i < rows; i++)
                    dst[k * mr + i] = s[i];
                for (; i < mr; i++)
                    dst[k * mr + i] = 0;
            }
        } else {
            int i = 0;
            for (; i < rows; i++) {
                const float *s = A + (size_t)(i0 + p + i) * lda + k0;
                for (int k = 0; k < kc; k++)
                    dst[k * mr + i] = s[k];
            }
            for (; i < mr; i++)
                for (int k = 0; k < kc; k++)
                    dst[k * mr + i] = 0;
        }
    }
}

/* op(B)[k0 .. k0+kc, j0 .. j0+n] (n <= nr) into one kc x nr panel. */
static void pack_b(int trans, const float *B, long ldb, int k0, int kc, int j0, int n, int nr,
                   float *dst)
{
    if (trans) {
        int j = 0;
        for (; j < n; j++) {
            const float *s = B + (size_t)(j0 + j) * ldb + k0;
            for (int k = 0; k < kc; k++)
                dst[k * nr + j] = s[k];
        }
        for (; j < nr; j++)
            for (int k = 0; k < kc; k++)
                dst[k * nr + j] = 0;
    } else {
        const float *s = B + (size_t)k0 * ldb + j0;
        for (int k = 0; k < kc; k++, s += ldb, dst += nr) {
            memcpy(dst, s, n * sizeof *dst);
            if (n < nr)
                memset(dst + n, 0, (nr - n) * sizeof *dst);
        }
    }
}

/* ---- the blocked product over one block of C ---- */

typedef struct job {
    const fer_gemm_kernel *k;
    int M, N, K;
    float alpha, beta;
    fer_gemm_operand a, b;
    float *C;
    long ldc;
    int split_n;         /* tasks split N (else M) */
    int units, ntasks;   /* nr- or mr-wide units shared out among tasks */
} job;

static void get_a(const job *g, int i0, int m, int k0, int kc, float *dst)
{
    if (g->a.pack)
        g->a.pack(g->a.ctx, i0, m, k0, kc, g->k->mr, dst);
    else
        (g->k->pack_a ? g->k->pack_a : pack_a)(g->a.trans, g->a.p, g->a.ld, i0, m, k0, kc,
                                                 g->k->mr, dst);
}

static void get_b(const job *g, int k0, int kc, int j0, int n, float *dst)
{
    if (g->b.pack)
        g->b.pack(g->b.ctx, k0, kc, j0, n, g->k->nr, dst);
    else
        (g->k->pack_b ? g->k->pack_b : pack_b)(g->b.trans, g->b.p, g->b.ld, k0, kc, j0, n,
                                                 g->k->nr, dst);
}

/* Whether a panel of op, packed by its generator or (op stored, or NULL)
 * by k's packing, must go through k->prep still: not when that packing
 * makes prepped panels already, nor from a generator that writes them
 * (paired). */
static int needs_prep(const fer_gemm_kernel *k, const fer_gemm_operand *op)
{
    if (!k->prep)
        return 0;
    return op && op->pack ? !op->paired : !k->packs_prepped;
}

/* Fallback panels when a thread's buffer cannot grow: one micro-panel of
 * A at a time (every kernel has mr <= 16, nr <= 64, kc <= 256). */
enum { SMALL_A = 16 * 256, SMALL_B = 256 * 64 };

static void block(const job *g, int m0, int m1, int n0, int n1)
{
    const fer_gemm_kernel *k = g->k;
    int mr = k->mr, nr = k->nr;
    int KC = g->K < k->kc ? g->K : k->kc;
    int MC = m1 - m0 < k->mc ? (m1 - m0 + mr - 1) / mr * mr : k->mc;
    size_t na = (size_t)MC * KC;
    float *abuf = fer_scratch(FER_SCRATCH_PACK, na + (size_t)KC * nr + 16), *bbuf;
    _Alignas(64) float small[SMALL_A + SMALL_B];
    if (abuf) {
        bbuf = abuf + (na + 15) / 16 * 16;
    } else {   /* out of memory for a few hundred KB: slow but right */
        MC = mr;
        abuf = small;
        bbuf = small + SMALL_A;
    }
    for (int jc = n0; jc < n1; jc += k->nc) {
        int nc = n1 - jc < k->nc ? n1 - jc : k->nc;
        for (int pc = 0; pc < g->K; pc += KC) {
            int kc = g->K - pc < KC ? g->K - pc : KC;
            float beta = pc ? 1.0f : g->beta;
            for (int ic = m0; ic < m1; ic += MC) {
                int mc = m1 - ic < MC ? m1 - ic : MC;
                const float *ap = abuf;   /* panel q of this block at ap + q * astride */
                size_t astride = (size_t)kc * mr;
                if (g->a.packed) {
                    astride = (size_t)g->K * mr;
                    ap = g->a.p + (size_t)(ic / mr) * astride +
                         (size_t)(k->pairs ? pc / 2 : pc) * mr;
                } else {
                    get_a(g, ic, mc, pc, kc, abuf);
                    for (int q = 0; needs_prep(k, &g->a) && q < mc; q += mr)
                        k->prep(abuf + (size_t)(q / mr) * astride, kc, mr);
                }
                for (int jr = 0; jr < nc; jr += nr) {
                    int n = nc - jr < nr ? nc - jr : nr;
                    int nn = nc - jr - n < nr ? nc - jr - n : nr;   /* next panel */
                    int ntile = (mc + mr - 1) / mr, t = 0;
                    fer_gemm_pf pf = {NULL, g->b.ld, 0, 0};
                    int rows = 0;
                    const float *bp = bbuf;
                    if (g->b.panels) {
                        bp = g->b.p + (size_t)((jc + jr) / nr) * g->b.ld + (size_t)pc / 2 * nr;
                    } else {
                        get_b(g, pc, kc, jc + jr, n, bbuf);
                        if (needs_prep(k, &g->b))
                            k->prep(bbuf, kc, nr);
                    }
                    /* the next panel's source, shared out among this panel's
                     * tiles: rows of B (kc of them, nr floats each) or, when
                     * transposed, nn rows of kc floats */
                    if (nn > 0 && !g->b.pack && !g->b.panels) {
                        if (g->b.trans) {
                            rows = nn;
                            pf.per = (kc + 15) / 16 + 1;
                            pf.p = g->b.p + (size_t)(jc + jr + n) * g->b.ld + pc;
                        } else {
                            rows = kc;
                            pf.per = (nn + 15) / 16 + 1;
                            pf.p = g->b.p + (size_t)pc * g->b.ld + jc + jr + n;
                        }
                    }
                    for (int ir = 0; ir < mc; ir += mr, t++) {
                        int r0 = (int)((long)rows * t / ntile);
                        int r1 = (int)((long)rows * (t + 1) / ntile);
                        fer_gemm_pf tp = {pf.p ? pf.p + (size_t)r0 * pf.stride : NULL, pf.stride,
                                          pf.per, (r1 - r0) * pf.per};
                        k->tile(kc, ap + (size_t)(ir / mr) * astride, bp,
                                g->C + (size_t)(ic + ir) * g->ldc + jc + jr, g->ldc,
                                mc - ir < mr ? mc - ir : mr, n, g->alpha, beta,
                                tp.count ? &tp : NULL);
                    }
                }
            }
        }
    }
}

static void task(void *ctx, int t, int thread)
{
    const job *g = ctx;
    int w = g->split_n ? g->k->nr : g->k->mr;
    int u0 = (int)((long)g->units * t / g->ntasks);
    int u1 = (int)((long)g->units * (t + 1) / g->ntasks);
    int lo = u0 * w, hi = u1 * w;
    (void)thread;
    if (g->split_n)
        block(g, 0, g->M, lo, hi < g->N ? hi : g->N);
    else
        block(g, lo, hi < g->M ? hi : g->M, 0, g->N);
}

/* C = beta * C, for alpha == 0 or K == 0. */
static void scale(int M, int N, float beta, float *C, long ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++)
            C[i * ldc + j] = beta == 0 ? 0 : beta * C[i * ldc + j];
}

/* How evenly n rows or columns, in units of w, go to nth threads: the
 * ideal share over the largest (1 = even). */
static double balance(int n, int w, int nth)
{
    int units = (n + w - 1) / w, most = (units + nth - 1) / nth * w;
    return (double)n / nth / (most < n ? most : n);
}

/* The share of a kernel's multiply-adds that land in C for an M x N
 * product (edge tiles are padded). */
static double useful(const fer_gemm_kernel *k, int M, int N)
{
    return (double)M / ((M + k->mr - 1) / k->mr * k->mr) * N / ((N + k->nr - 1) / k->nr * k->nr);
}

static void gemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                 long lda, const float *B, long ldb, float beta, float *C, long ldc);
static void run(int M, int N, int K, float alpha, const fer_gemm_operand *A,
                const fer_gemm_operand *B, float beta, float *C, long ldc);

/* Narrow C (few columns, e.g. the weight gradient of a first conv layer,
 * N = C*R*S = 9): most of each nr-wide tile would be padding, so compute
 * T = alpha op(B)^T op(A)^T (N x M) instead and add its transpose to C. */
static int narrow(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                  long lda, const float *B, long ldb, float beta, float *C, long ldc)
{
    float *T;
    if (N > kern->nr / 2 || (double)M * N > (1 << 20) ||
        useful(kern, N, M) < 1.5 * useful(kern, M, N))
        return 0;
    if (!(T = fer_scratch(FER_SCRATCH_NARROW, (size_t)M * N)))
        return 0;
    gemm(!trans_b, !trans_a, N, M, K, alpha, B, ldb, A, lda, 0, T, M);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float v = T[(size_t)j * M + i], *c = &C[i * ldc + j];
            *c = beta == 0 ? v : fmaf(beta, *c, v);
        }
    return 1;
}

void fer_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
              int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || alpha == 0) {
        scale(M, N, beta, C, ldc);
        return;
    }
    pthread_once(&once, init_kernel);
    if (!narrow(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc))
        gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

static void gemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                 long lda, const float *B, long ldb, float beta, float *C, long ldc)
{
    fer_gemm_operand a = {.p = A, .ld = lda, .trans = trans_a};
    fer_gemm_operand b = {.p = B, .ld = ldb, .trans = trans_b};
    if (M <= FER_GEMM_THIN_M) {
        fer_gemm_thin(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    run(M, N, K, alpha, &a, &b, beta, C, ldc);
}

void fer_gemm_op(int M, int N, int K, float alpha, const fer_gemm_operand *A,
                 const fer_gemm_operand *B, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || alpha == 0) {
        scale(M, N, beta, C, ldc);
        return;
    }
    pthread_once(&once, init_kernel);
    run(M, N, K, alpha, A, B, beta, C, ldc);
}

size_t fer_gemm_packed_floats(int M, int K)
{
    pthread_once(&once, init_kernel);
    return (size_t)(M + kern->mr - 1) / kern->mr * kern->mr * K;
}

void fer_gemm_pack_a(int trans_a, int M, int K, const float *A, int lda, float *dst)
{
    pthread_once(&once, init_kernel);
    (kern->pack_a ? kern->pack_a : pack_a)(trans_a, A, lda, 0, M, 0, K, kern->mr, dst);
    for (int p = 0; needs_prep(kern, NULL) && p < M; p += kern->mr)
        kern->prep(dst + (size_t)(p / kern->mr) * K * kern->mr, K, kern->mr);
}

int fer_gemm_pack_a_rows(void)
{
    pthread_once(&once, init_kernel);
    return kern->mr;
}

int fer_gemm_panel_cols(void)
{
    pthread_once(&once, init_kernel);
    return kern->nr;
}

/* The block packed alone (kc = kk, as a matrix of its own: one panel
 * after another, kk * mr floats each), then each panel copied to its
 * place in the whole: panel q of a packing of K columns holds column k
 * at k * mr floats from its start, or pair k / 2 there for a pair kernel
 * (k0 even). */
void fer_gemm_pack_a_block(int K, int i0, int m, int k0, int kk, const float *blk, int ld,
                           float *dst)
{
    _Alignas(64) float tmp[2 * 16 * 32];   /* m <= 16 rows padded to panels, kk <= 32 */
    pthread_once(&once, init_kernel);
    const fer_gemm_kernel *k = kern;
    const int mr = k->mr, np = (m + mr - 1) / mr;
    const size_t span = (size_t)(k->pairs ? (kk + 1) / 2 : kk) * mr;
    (k->pack_a ? k->pack_a : pack_a)(0, blk, ld, 0, m, 0, kk, mr, tmp);
    for (int q = 0; q < np; q++) {
        float *panel = tmp + (size_t)q * kk * mr;
        if (needs_prep(k, NULL))
            k->prep(panel, kk, mr);
        memcpy(dst + (size_t)(i0 / mr + q) * K * mr + (size_t)(k->pairs ? k0 / 2 : k0) * mr,
               panel, span * sizeof *dst);
    }
}

static void run(int M, int N, int K, float alpha, const fer_gemm_operand *A,
                const fer_gemm_operand *B, float beta, float *C, long ldc)
{
    job g;
    int nth, un, um, per, split_n;
    g = (job){kern, M, N, K, alpha, beta, *A, *B, C, ldc, 1, 1, 1};
    /* 49 to 64 columns: the 6 x 64 tile, where 8 x 48 would compute 96
     * (the same bits); only with A stored or from a paired generator
     * (which takes the rows it is given: other generators' and packed
     * panels are made for kern's rows) */
    if (kern->pairs && N > kern->nr && N <= 64 && !A->packed && (!A->pack || A->paired) &&
        !B->panels && kern_n64)
        g.k = kern_n64;
    nth = fer_threads_in_task() ? 1 : fer_threads_get();
    if ((double)M * N * K < 64.0 * 64 * 64)
        nth = 1;   /* below ~0.5 MFLOP a hand-off costs more than it saves */
    un = (N + g.k->nr - 1) / g.k->nr;
    um = (M + g.k->mr - 1) / g.k->mr;
    /* Splitting N makes every task pack all of op(A) (M x K), splitting M
     * all of op(B) (K x N): split the longer side, when it has a panel per
     * thread. Up to 4 tasks per thread, a multiple of the thread count, give
     * slack when a core is shared, as long as each task keeps >= 16 panels
     * (so the repacking stays a few percent of its work). */
    split_n = (M <= N && un >= nth) || um < nth;
    /* but not when that leaves one thread much more to do than the other
     * split would (a 64-wide N in 48-column panels goes 48/16) */
    if (nth > 1 && un >= nth && um >= nth) {
        double bn = balance(N, g.k->nr, nth), bm = balance(M, g.k->mr, nth);
        if ((split_n ? bn : bm) < 0.9 && (split_n ? bm : bn) > (split_n ? bn : bm))
            split_n = !split_n;
    }
    if (split_n) {
        g.split_n = 1;
        g.units = un;
        per = un / (16 * nth);
    } else {
        g.split_n = 0;
        g.units = um;
        per = um / (16 * nth);
    }
    per = per < 1 ? 1 : per > 4 ? 4 : per;
    g.ntasks = nth == 1 ? 1 : nth * per;
    if (g.ntasks > g.units)
        g.ntasks = g.units;
    fer_parallel_for(g.ntasks, task, &g);
}
