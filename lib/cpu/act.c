/* act.c: element-wise activations (ReLU, leaky ReLU), inverted dropout
 * and the residual sum. */
#include <string.h>

#include "clones.h"
#include "layers.h"
#include "rng_key.h"
#include "threads.h"

/* ReLU runs in chunks over the thread pool (element-wise: the same bits
 * for any thread count). */
#define CHUNK 65536

typedef struct relu_job {
    size_t n;
    const float *x, *dy;
    float *out;
} relu_job;

static void relu_fwd_task(void *ctx, int t, int thread)
{
    const relu_job *j = ctx;
    size_t lo, hi;
    fer_chunk(j->n, CHUNK, t, &lo, &hi);
    /* restrict: without it gcc -O2 leaves the loop scalar (no alias check) */
    const float *restrict x = j->x;
    float *restrict out = j->out;
    (void)thread;
    for (size_t i = lo; i < hi; i++)
        out[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

/* y == x: in place (the training plan writes ReLU over its input) */
static void relu_inplace_task(void *ctx, int t, int thread)
{
    const relu_job *j = ctx;
    size_t lo, hi;
    fer_chunk(j->n, CHUNK, t, &lo, &hi);
    float *y = j->out;
    (void)thread;
    for (size_t i = lo; i < hi; i++)
        y[i] = y[i] > 0.0f ? y[i] : 0.0f;
}

void fer_relu_forward(size_t n, const float *x, float *y)
{
    relu_job j = {n, x, NULL, y};
    fer_parallel_for(fer_chunks(n, CHUNK), x == y ? relu_inplace_task : relu_fwd_task,
                     &j);
}

static void relu_bwd_task(void *ctx, int t, int thread)
{
    const relu_job *j = ctx;
    size_t lo, hi;
    fer_chunk(j->n, CHUNK, t, &lo, &hi);
    const float *restrict x = j->x, *restrict dy = j->dy;
    float *restrict out = j->out;
    (void)thread;
    for (size_t i = lo; i < hi; i++) {
        float d = dy[i];   /* loaded unconditionally, so the select vectorises */
        out[i] = x[i] > 0.0f ? d : 0.0f;
    }
}

/* The gradient at x = 0 is taken as 0, as PyTorch does. */
void fer_relu_backward(size_t n, const float *x, const float *dy, float *dx)
{
    relu_job j = {n, x, dy, dx};
    fer_parallel_for(fer_chunks(n, CHUNK), relu_bwd_task, &j);
}

typedef struct leaky_job {
    size_t n;
    float a;
    const float *x, *dy;
    float *out;
} leaky_job;

static void leaky_fwd_task(void *ctx, int t, int thread)
{
    const leaky_job *j = ctx;
    size_t lo, hi;
    fer_chunk(j->n, CHUNK, t, &lo, &hi);
    const float *restrict x = j->x;
    float *restrict out = j->out;
    const float a = j->a;
    (void)thread;
    /* a * x is computed unconditionally: gcc does not if-convert a
     * product in one arm (it might trap), and the branch mispredicts */
    for (size_t i = lo; i < hi; i++) {
        float v = x[i], ax = a * v;
        out[i] = v > 0.0f ? v : ax;
    }
}

static void leaky_inplace_task(void *ctx, int t, int thread)
{
    const leaky_job *j = ctx;
    size_t lo, hi;
    fer_chunk(j->n, CHUNK, t, &lo, &hi);
    float *y = j->out;
    const float a = j->a;
    (void)thread;
    for (size_t i = lo; i < hi; i++) {
        float v = y[i], av = a * v;
        y[i] = v > 0.0f ? v : av;
    }
}

void fer_leaky_relu_forward(size_t n, float a, const float *x, float *y)
{
    leaky_job j = {n, a, x, NULL, y};
    fer_parallel_for(fer_chunks(n, CHUNK), x == y ? leaky_inplace_task : leaky_fwd_task,
                     &j);
}

static void leaky_bwd_task(void *ctx, int t, int thread)
{
    const leaky_job *j = ctx;
    size_t lo, hi;
    fer_chunk(j->n, CHUNK, t, &lo, &hi);
    const float *restrict x = j->x, *restrict dy = j->dy;
    float *restrict out = j->out;
    const float a = j->a;
    (void)thread;
    for (size_t i = lo; i < hi; i++) {
        float d = dy[i], ad = a * d;
        out[i] = x[i] > 0.0f ? d : ad;
    }
}

/* The slope at x = 0 is a, as PyTorch does. */
void fer_leaky_relu_backward(size_t n, float a, const float *x, const float *dy, float *dx)
{
    leaky_job j = {n, a, x, dy, dx};
    fer_parallel_for(fer_chunks(n, CHUNK), leaky_bwd_task, &j);
}

/* Element i is kept when its draw u = fer_rng_key_float(key, i) is >= p;
 * the kept ones are scaled by the float 1 / (1 - p). Each element's draw is
 * its own, so the chunks run on any thread. p = 0 keeps all, p >= 1 none. */
typedef struct drop_job {
    size_t n;
    float p;
    uint64_t key;
    const float *x;
    float *y;
    uint8_t *mask;
} drop_job;

/* One span of elements [lo, hi), vectorised: the draw is fer_rng_key_float's
 * (rng_key.h's fer_key_u64, top 24 bits, times 2^-24), with the 24 bits
 * made a float through uint32_t, which converts in vector registers (the
 * same value: both conversions are exact below 2^24). About ten times the
 * speed of a call per element on AVX-512. */
FER_CLONES_V4 static void drop_span(size_t lo, size_t hi, float p, float scale, uint64_t key,
                                    const float *restrict x, float *restrict y,
                                    uint8_t *restrict mask)
{
    for (size_t i = lo; i < hi; i++) {
        uint32_t u = (uint32_t)(fer_key_u64(key, i) >> 40);
        int keep = (float)u * (1.0f / 16777216.0f) >= p;
        mask[i] = (uint8_t)keep;
        y[i] = keep ? x[i] * scale : 0.0f;
    }
}

static void drop_task(void *ctx, int t, int thread)
{
    const drop_job *j = ctx;
    const float p = j->p, scale = p <= 0.0f ? 1.0f : p >= 1.0f ? 0.0f : 1.0f / (1.0f - p);
    size_t lo, hi;
    (void)thread;
    fer_chunk(j->n, CHUNK, t, &lo, &hi);
    if (p > 0.0f && p < 1.0f) {
        drop_span(lo, hi, p, scale, j->key, j->x, j->y, j->mask);
        return;
    }
    for (size_t i = lo; i < hi; i++) {   /* p = 0 keeps all (unscaled), p >= 1 none */
        j->mask[i] = (uint8_t)(p <= 0.0f);
        j->y[i] = p <= 0.0f ? j->x[i] : 0.0f;
    }
}

void fer_dropout_forward(size_t n, float p, uint64_t key, const float *x, float *y,
                         uint8_t *mask)
{
    drop_job j = {n, p, key, x, y, mask};
    fer_parallel_for(fer_chunks(n, CHUNK), drop_task, &j);
}

void fer_dropout_backward(size_t n, float p, const uint8_t *mask, const float *dy, float *dx)
{
    const float scale = p <= 0.0f ? 1.0f : p >= 1.0f ? 0.0f : 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) {
        float v = dy[i] * scale;
        dx[i] = mask[i] ? v : 0.0f;
    }
}

/* y = a + b (b may be NULL: a copy), or y += a when y == b, then the ReLU
 * when relu; in chunks over the thread pool. */
typedef struct sum_job {
    size_t n;
    const float *a, *b;
    float *y;
    int relu;
} sum_job;

static void sum_task(void *ctx, int t, int thread)
{
    const sum_job *j = ctx;
    size_t lo, hi;
    fer_chunk(j->n, CHUNK, t, &lo, &hi);
    (void)thread;
    if (!j->b)
        memcpy(j->y + lo, j->a + lo, (hi - lo) * sizeof(float));
    else if (!j->relu)
        for (size_t i = lo; i < hi; i++)
            j->y[i] = j->a[i] + j->b[i];
    else
        for (size_t i = lo; i < hi; i++) {
            float v = j->a[i] + j->b[i];
            j->y[i] = v > 0.0f ? v : 0.0f;   /* relu_forward's expression */
        }
}

void fer_add(size_t n, const float *a, const float *b, float *y)
{
    sum_job j = {n, a, b, y, 0};
    if (!b && a == y)
        return;
    fer_parallel_for(fer_chunks(n, CHUNK), sum_task, &j);
}

void fer_add_relu(size_t n, const float *a, const float *b, float *y)
{
    sum_job j = {n, a, b, y, 1};
    fer_parallel_for(fer_chunks(n, CHUNK), sum_task, &j);
}
