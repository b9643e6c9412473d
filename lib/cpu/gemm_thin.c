/* gemm_thin.c: products with only a few rows of C, such as one image or a
 * handful through a dense layer. Packing op(B) would cost as much as the
 * product, so B is streamed once instead: each element of C is a dot
 * product of contiguous rows (B stored N x K), or C's rows are built from
 * scaled rows of B (B stored K x N). Columns of C are shared out among the
 * threads; every element is summed in a fixed order, whatever the thread
 * count. */
#include <stddef.h>

#include "clones.h"
#include "gemm_kernel.h"
#include "threads.h"

enum { CHUNK = 256 };   /* columns of C per task */

typedef struct thin {
    int ta, tb, M, N, K;
    float alpha, beta;
    const float *A, *B;
    long lda, ldb, ldc;
    float *C;
} thin;

static inline float arow(const thin *g, int i, int k)
{
    return g->ta ? g->A[(size_t)k * g->lda + i] : g->A[(size_t)i * g->lda + k];
}

static inline void store(const thin *g, int i, int j, float s)
{
    float *c = &g->C[(size_t)i * g->ldc + j];
    *c = g->beta == 0 ? g->alpha * s : g->beta * *c + g->alpha * s;
}

FER_CLONES static void thin_task(void *ctx, int t, int thread)
{
    const thin *g = ctx;
    int j0 = t * CHUNK, j1 = j0 + CHUNK < g->N ? j0 + CHUNK : g->N, K = g->K;
    (void)thread;
    if (g->tb) {
        for (int i = 0; i < g->M; i++)
            for (int j = j0; j < j1; j++) {
                const float *restrict b = g->B + (size_t)j * g->ldb;
                float acc[16] = {0}, s = 0;
                int k = 0;
                if (!g->ta) {
                    const float *restrict a = g->A + (size_t)i * g->lda;
                    for (; k + 16 <= K; k += 16)
                        for (int u = 0; u < 16; u++)
                            acc[u] += a[k + u] * b[k + u];
                }
                for (int u = 0; u < 16; u++)
                    s += acc[u];
                for (; k < K; k++)
                    s += arow(g, i, k) * b[k];
                store(g, i, j, s);
            }
        return;
    }
    float acc[FER_GEMM_THIN_M][CHUNK];
    int n = j1 - j0;
    for (int i = 0; i < g->M; i++)
        for (int j = 0; j < n; j++)
            acc[i][j] = 0;
    for (int k = 0; k < K; k++) {
        const float *restrict b = g->B + (size_t)k * g->ldb + j0;
        for (int i = 0; i < g->M; i++) {
            float a = arow(g, i, k), *restrict r = acc[i];
            for (int j = 0; j < n; j++)
                r[j] += a * b[j];
        }
    }
    for (int i = 0; i < g->M; i++)
        for (int j = 0; j < n; j++)
            store(g, i, j0 + j, acc[i][j]);
}

void fer_gemm_thin(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                   long lda, const float *B, long ldb, float beta, float *C, long ldc)
{
    thin g = {trans_a, trans_b, M, N, K, alpha, beta, A, B, lda, ldb, ldc, C};
    int tasks = (N + CHUNK - 1) / CHUNK;
    if ((double)M * N * K < 64.0 * 64 * 64) {
        for (int t = 0; t < tasks; t++)
            thin_task(&g, t, 0);
        return;
    }
    fer_parallel_for(tasks, thin_task, &g);
}
