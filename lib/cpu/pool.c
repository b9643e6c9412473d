/* pool.c: max pooling (with the argmax that backward routes through) and
 * global average pooling. */
#include <math.h>

#include "error.h"
#include "layers.h"
#include "threads.h"

typedef struct pool_job {
    int planes, H, W;
    const float *x;
    float *y;
    int32_t *argmax;
} pool_job;

enum { PLANES_PER_TASK = 16 };

/* One select step of a window's scan: v replaces best when best is not
 * NaN and v is larger or NaN (so the first NaN, or the first maximum, is
 * kept). */
#define TAKE(best, v) ((best) == (best) && ((v) > (best) || (v) != (v)))

#ifdef __SSE2__
#include <emmintrin.h>

/* Four windows at once: the rows' even and odd elements, then the same
 * selects as TAKE, as masks. */
static inline void take4(__m128 *best, __m128i *bi, __m128 v, __m128i vi)
{
    __m128 m = _mm_and_ps(_mm_cmpeq_ps(*best, *best),
                          _mm_or_ps(_mm_cmpgt_ps(v, *best), _mm_cmpunord_ps(v, v)));
    __m128i mi = _mm_castps_si128(m);
    *best = _mm_or_ps(_mm_and_ps(m, v), _mm_andnot_ps(m, *best));
    *bi = _mm_or_si128(_mm_and_si128(mi, vi), _mm_andnot_si128(mi, *bi));
}
#endif

/* The 2 x 2, stride 2 window of the networks here; the same choices as
 * the general loop. */
static void max2x2_task(void *ctx, int t, int thread)
{
    const pool_job *j = ctx;
    const int H = j->H, W = j->W, P = H / 2, Q = W / 2;
    int p0 = t * PLANES_PER_TASK, p1 = p0 + PLANES_PER_TASK < j->planes ? p0 + PLANES_PER_TASK
                                                                          : j->planes;
    (void)thread;
    for (int plane = p0; plane < p1; plane++)
        for (int p = 0; p < P; p++) {
            const float *r0 = j->x + ((size_t)plane * H + 2 * p) * W, *r1 = r0 + W;
            float *yp = j->y + ((size_t)plane * P + p) * Q;
            int32_t *ap = j->argmax + ((size_t)plane * P + p) * Q;
            int q = 0;
#ifdef __SSE2__
            for (; q + 4 <= Q; q += 4) {
                __m128 a0 = _mm_loadu_ps(r0 + 2 * q), a1 = _mm_loadu_ps(r0 + 2 * q + 4);
                __m128 b0 = _mm_loadu_ps(r1 + 2 * q), b1 = _mm_loadu_ps(r1 + 2 * q + 4);
                __m128i at = _mm_add_epi32(_mm_set1_epi32(2 * p * W + 2 * q),
                                           _mm_setr_epi32(0, 2, 4, 6));
                __m128 best = _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(2, 0, 2, 0));
                __m128i bi = at;
                take4(&best, &bi, _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(3, 1, 3, 1)),
                      _mm_add_epi32(at, _mm_set1_epi32(1)));
                take4(&best, &bi, _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0)),
                      _mm_add_epi32(at, _mm_set1_epi32(W)));
                take4(&best, &bi, _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1)),
                      _mm_add_epi32(at, _mm_set1_epi32(W + 1)));
                _mm_storeu_ps(yp + q, best);
                _mm_storeu_si128((__m128i *)(ap + q), bi);
            }
#endif
            for (; q < Q; q++) {
                const float c[4] = {r0[2 * q], r0[2 * q + 1], r1[2 * q], r1[2 * q + 1]};
                const int32_t at = 2 * p * W + 2 * q, off[4] = {0, 1, W, W + 1};
                int b = 0;
                for (int i = 1; i < 4; i++)
                    if (TAKE(c[b], c[i]))
                        b = i;
                yp[q] = c[b];
                ap[q] = at + off[b];
            }
        }
}

/* Windows start at (p * stride, q * stride); a NaN counts as the maximum (the
 * first one is kept) and a tie keeps the first element in row-major order. */
void fer_maxpool_forward(int N, int C, int H, int W, int k, int stride, const float *x,
                         float *y, int32_t *argmax)
{
    FER_ASSERT(k >= 1 && stride >= 1 && H >= k && W >= k);
    const int P = (H - k) / stride + 1, Q = (W - k) / stride + 1;
    if (k == 2 && stride == 2 && (size_t)N * C <= INT32_MAX) {
        pool_job j = {N * C, H, W, x, y, argmax};
        fer_parallel_for((j.planes + PLANES_PER_TASK - 1) / PLANES_PER_TASK, max2x2_task, &j);
        return;
    }
    for (size_t plane = 0; plane < (size_t)N * C; plane++) {
        const float *xp = x + plane * H * W;
        float *yp = y + plane * P * Q;
        int32_t *ap = argmax + plane * P * Q;
        for (int p = 0; p < P; p++)
            for (int q = 0; q < Q; q++) {
                int best = p * stride * W + q * stride;
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++) {
                        int at = (p * stride + i) * W + q * stride + j;
                        if (TAKE(xp[best], xp[at]))
                            best = at;
                    }
                yp[p * Q + q] = xp[best];
                ap[p * Q + q] = best;
            }
    }
}

/* Overlapping windows (k > stride) add their gradients. */
void fer_maxpool_backward(int N, int C, int H, int W, int k, int stride, const float *dy,
                          const int32_t *argmax, float *dx)
{
    const int P = (H - k) / stride + 1, Q = (W - k) / stride + 1;
    for (size_t i = 0; i < (size_t)N * C * H * W; i++)
        dx[i] = 0.0f;
    for (size_t plane = 0; plane < (size_t)N * C; plane++) {
        float *dxp = dx + plane * H * W;
        for (int i = 0; i < P * Q; i++)
            dxp[argmax[plane * P * Q + i]] += dy[plane * P * Q + i];
    }
}

void fer_avgpool_forward(int N, int C, int HW, const float *x, float *y)
{
    for (size_t plane = 0; plane < (size_t)N * C; plane++) {
        double acc = 0;
        for (int i = 0; i < HW; i++)
            acc += x[plane * HW + i];
        y[plane] = (float)(acc / HW);
    }
}

void fer_avgpool_backward(int N, int C, int HW, const float *dy, float *dx)
{
    for (size_t plane = 0; plane < (size_t)N * C; plane++) {
        const float g = (float)((double)dy[plane] / HW);
        for (int i = 0; i < HW; i++)
            dx[plane * HW + i] = g;
    }
}
