/* conv_direct.c: 3x3 stride-1 convolutions of one input channel, direct
 * (conv_direct.h). A task takes one image: it copies the image's plane
 * into the workspace with pad rows and columns of zeros around it, so that
 * the loops over the plane test no bounds and vectorise along the row. */
#include <string.h>

#include "clones.h"
#include "conv_direct.h"
#include "threads.h"

enum { LANES = 16 };

int fer_conv_direct_ok(const fer_conv_shape *s)
{
    return s->C == 1 && s->R == 3 && s->S == 3 && s->stride == 1 && s->pad <= 2;
}

static size_t padded(const fer_conv_shape *s)
{
    return (size_t)(s->H + 2 * s->pad) * (s->W + 2 * s->pad);
}

/* The padded planes of all the images, then the gradient's parts (N, K,
 * 10: the nine weights' and the bias's). */
size_t fer_conv_direct_workspace(const fer_conv_shape *s)
{
    return (size_t)s->N * (padded(s) + 10 * (size_t)s->K);
}

/* Image n's plane of x into xp, zeros around it. */
static void pad_plane(const fer_conv_shape *s, const float *x, int n, float *xp)
{
    const int Wp = s->W + 2 * s->pad;
    const float *xn = x + (size_t)n * s->H * s->W;
    memset(xp, 0, padded(s) * sizeof *xp);
    for (int h = 0; h < s->H; h++)
        memcpy(xp + (size_t)(h + s->pad) * Wp + s->pad, xn + (size_t)h * s->W,
               (size_t)s->W * sizeof *xp);
}

/* One output plane from the padded input: the nine products in order,
 * then the bias. */
FER_CLONES static void plane_forward(int P, int Q, int Wp, const float *xp, const float *w,
                                     float bias, float *restrict y)
{
    for (int p = 0; p < P; p++) {
        const float *restrict a = xp + (size_t)p * Wp, *restrict b = a + Wp, *restrict c = b + Wp;
        float *restrict yr = y + (size_t)p * Q;
        for (int q = 0; q < Q; q++) {
            float v = w[0] * a[q];
            v += w[1] * a[q + 1];
            v += w[2] * a[q + 2];
            v += w[3] * b[q];
            v += w[4] * b[q + 1];
            v += w[5] * b[q + 2];
            v += w[6] * c[q];
            v += w[7] * c[q + 1];
            v += w[8] * c[q + 2];
            yr[q] = v + bias;
        }
    }
}

typedef struct direct_job {
    const fer_conv_shape *s;
    const float *x, *w, *b, *dy;
    float *y, *ws;
    const fer_conv_epi *epi;
} direct_job;

/* Cloned, as the epilogue inlined here runs at AVX-512's speed only so. */
FER_CLONES static void forward_task(void *ctx, int n, int thread)
{
    const direct_job *j = ctx;
    const fer_conv_shape *s = j->s;
    const int K = s->K, Wp = s->W + 2 * s->pad;
    const size_t pq = (size_t)s->P * s->Q;
    float *xp = j->ws + (size_t)n * padded(s);
    (void)thread;
    pad_plane(s, j->x, n, xp);
    for (int k = 0; k < K; k++) {
        float *yk = j->y + ((size_t)n * K + k) * pq;
        plane_forward(s->P, s->Q, Wp, xp, j->w + 9 * (size_t)k, j->b ? j->b[k] : 0.0f, yk);
        if (j->epi)
            fer_conv_epi_span(yk, (int)pq, j->epi, K, k, (size_t)n);
    }
}

void fer_conv_direct_forward(const fer_conv_shape *s, const float *x, const float *w,
                             const float *b, float *y, float *ws, const fer_conv_epi *epi)
{
    direct_job j = {s, x, w, b, NULL, y, ws, epi};
    fer_parallel_for(s->N, forward_task, &j);
}

/* One image's sums for output channel k (dyk its P x Q plane): the nine
 * weights' and, in g[9], the bias's; column q of a row into lane q % 16
 * (nine products and dy itself a lane), then the lanes in order. Ten
 * named accumulators, so that they stay in registers. */
FER_CLONES static void plane_wgrad(int P, int Q, int Wp, const float *xp, const float *dyk,
                                   float *restrict g)
{
    float s0[LANES] = {0}, s1[LANES] = {0}, s2[LANES] = {0}, s3[LANES] = {0}, s4[LANES] = {0};
    float s5[LANES] = {0}, s6[LANES] = {0}, s7[LANES] = {0}, s8[LANES] = {0}, sb[LANES] = {0};
    float *const acc[10] = {s0, s1, s2, s3, s4, s5, s6, s7, s8, sb};
    for (int p = 0; p < P; p++) {
        const float *restrict d = dyk + (size_t)p * Q;
        const float *restrict a = xp + (size_t)p * Wp, *restrict b = a + Wp, *restrict c = b + Wp;
        for (int q0 = 0; q0 < Q; q0 += LANES) {
            const int n = Q - q0 < LANES ? Q - q0 : LANES;
#define TAPS(l)                                                                           \
    {                                                                                     \
        const int q = q0 + (l);                                                           \
        const float v = d[q];                                                             \
        s0[l] += v * a[q], s1[l] += v * a[q + 1], s2[l] += v * a[q + 2];                  \
        s3[l] += v * b[q], s4[l] += v * b[q + 1], s5[l] += v * b[q + 2];                  \
        s6[l] += v * c[q], s7[l] += v * c[q + 1], s8[l] += v * c[q + 2];                  \
        sb[l] += v;                                                                       \
    }
            if (n == LANES)
                for (int l = 0; l < LANES; l++)
                    TAPS(l)
            else
                for (int l = 0; l < n; l++)
                    TAPS(l)
#undef TAPS
        }
    }
    for (int t = 0; t < 10; t++) {
        float v = 0;
        for (int l = 0; l < LANES; l++)
            v += acc[t][l];
        g[t] = v;
    }
}

static void wgrad_task(void *ctx, int n, int thread)
{
    const direct_job *j = ctx;
    const fer_conv_shape *s = j->s;
    const int K = s->K, Wp = s->W + 2 * s->pad;
    const size_t pq = (size_t)s->P * s->Q;
    float *xp = j->ws + (size_t)n * padded(s);
    float *part = j->ws + (size_t)s->N * padded(s) + (size_t)n * K * 10;
    (void)thread;
    pad_plane(s, j->x, n, xp);
    for (int k = 0; k < K; k++)
        plane_wgrad(s->P, s->Q, Wp, xp, j->dy + ((size_t)n * K + k) * pq, part + 10 * (size_t)k);
}

void fer_conv_direct_wgrad(const fer_conv_shape *s, const float *x, const float *dy, float *dw,
                           float *db, float *ws)
{
    const int K = s->K;
    const float *part = ws + (size_t)s->N * padded(s);
    direct_job j = {s, x, NULL, NULL, dy, NULL, ws, NULL};
    fer_parallel_for(s->N, wgrad_task, &j);
    for (int k = 0; k < K; k++)
        for (int t = 0; t < 10; t++) {
            double v = 0;
            if (t == 9 && !db)
                continue;
            for (int n = 0; n < s->N; n++)
                v += part[((size_t)n * K + k) * 10 + t];
            if (t < 9)
                dw[9 * (size_t)k + t] = (float)v;
            else
                db[k] = (float)v;
        }
}
