/* batchnorm.c: batch normalisation per channel over (N, HW), as PyTorch's
 * BatchNorm1d/2d. Statistics take two passes (mean, then squared
 * deviations), so that large means do not cancel the variance; each
 * image's plane is summed in 16 float lanes (vectorised) and the planes'
 * sums in double.
 *
 * Planes of PLANE_MIN values or more (the convolutions' maps) go by
 * image: tasks numbered image by image first take each plane's sums and
 * squared deviations about its own mean, the caller combines them per
 * channel in image order (Chan's formula, in double), and then tasks
 * numbered alike normalise. So each thread reads and writes the images
 * it handled in the layers before and after (threads.h); by channel, half
 * of every map crossed between cores, which on a VM whose cores sit apart
 * is several times slower than a local read. Results do not depend on the
 * thread count either way. Smaller planes (dense layers' batch norm,
 * HW = 1) go by channel. */
#include <math.h>

#include "clones.h"
#include "error.h"
#include "layers.h"
#include "scratch.h"
#include "threads.h"

enum {
    PLANE_MIN = 64,     /* values per plane from which the image order pays */
    TASK_PLANES = 16    /* about this many planes per task */
};

/* sum x[i], and sum (x[i] - m)^2 */
static inline double lane_sum(const float *restrict x, int n)
{
    float acc[16] = {0};
    double s = 0;
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int u = 0; u < 16; u++)
            acc[u] += x[i + u];
    for (; i < n; i++)
        s += x[i];
    for (int u = 0; u < 16; u++)
        s += acc[u];
    return s;
}

static inline double lane_sq(const float *restrict x, int n, float m)
{
    float acc[16] = {0};
    double s = 0;
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int u = 0; u < 16; u++)
            acc[u] += (x[i + u] - m) * (x[i + u] - m);
    for (; i < n; i++)
        s += (double)(x[i] - m) * (x[i] - m);
    for (int u = 0; u < 16; u++)
        s += acc[u];
    return s;
}

/* Mean and biased variance of channel c of x (N, C, HW). The deviations
 * are taken from the mean rounded to float; the variance is then
 * corrected for that rounding (exactly, in double). */
static void channel_stats(int N, int C, int HW, const float *x, int c, double *mean,
                          double *var)
{
    const double M = (double)N * HW;
    double sum = 0, sq = 0, d;
    float mf;
    for (int n = 0; n < N; n++)
        sum += lane_sum(x + ((size_t)n * C + c) * HW, HW);
    *mean = sum / M;
    mf = (float)*mean;
    for (int n = 0; n < N; n++)
        sq += lane_sq(x + ((size_t)n * C + c) * HW, HW, mf);
    d = *mean - mf;
    *var = sq / M - d * d;
    if (*var < 0)
        *var = 0;
}

/* y = x * a + b per channel, with a = gamma * invstd, b = beta - mean * a. */
static void scale_shift(int N, int C, int HW, const float *restrict x, int c, float a, float b,
                        float *restrict y)
{
    for (int n = 0; n < N; n++) {
        const size_t off = ((size_t)n * C + c) * HW;
        for (int i = 0; i < HW; i++)
            y[off + i] = x[off + i] * a + b;
    }
}

/* Arguments of one batch-norm call, shared by its per-channel tasks (the
 * channels are independent, so any thread count gives the same bits). */
typedef struct bn_job {
    int N, C, HW;
    const float *x, *dy, *gamma, *beta, *mean_in, *var_in;
    float eps, momentum;
    float *running_mean, *running_var, *y, *save_mean, *save_invstd, *dx, *dgamma, *dbeta;
    /* by image: per plane (n * C + c) sums, then per channel coefficients */
    double *p1, *p2;
    float *ca, *cb, *cc;
    int per_img;        /* tasks per image */
    const double *stats;   /* forward from given sums: (C) sums, then (C) sums of squares */
    int relu;           /* forward from given sums: y = max(y, 0) after */
    const float *add;   /* forward from given sums: y + add[i] before the ReLU */
    int mask;           /* backward: the ReLU's mask (relu_mask), from stats */
    float *ma, *mb;     /* by image: each channel's mask coefficients */
} bn_job;

/* Channel c's y = x *a + *b for its batch statistics mean and (biased)
 * var; returns invstd. */
static double train_affine(const bn_job *j, int c, double mean, double var, float *a, float *b)
{
    const double invstd = 1.0 / sqrt(var + j->eps), ad = j->gamma[c] * invstd;
    *a = (float)ad;
    *b = (float)(j->beta[c] - mean * ad);
    return invstd;
}

/* Channel c's batch statistics are mean and (biased) var: keeps mean and
 * invstd for backward, updates the running statistics, and gives y = x *a
 * + *b. */
static void train_coefs(const bn_job *j, int c, double mean, double var, float *a, float *b)
{
    const double M = (double)j->N * j->HW;
    const double invstd = train_affine(j, c, mean, var, a, b);
    j->save_mean[c] = (float)mean;
    j->save_invstd[c] = (float)invstd;
    j->running_mean[c] = (float)((1.0 - j->momentum) * j->running_mean[c] + j->momentum * mean);
    j->running_var[c] = (float)((1.0 - j->momentum) * j->running_var[c] +
                                j->momentum * var * M / (M - 1));
}

/* Inference: y = x *a + *b from the running statistics. */
static void infer_coefs(const bn_job *j, int c, float *a, float *b)
{
    const double ad = j->gamma[c] / sqrt((double)j->var_in[c] + j->eps);
    *a = (float)ad;
    *b = (float)(j->beta[c] - j->mean_in[c] * ad);
}

/* With xhat = (x - mean) * invstd and M = N * HW values per channel:
 * dbeta = sum dy, dgamma = sum dy * xhat and
 * dx = gamma * invstd * (dy - dbeta / M - xhat * dgamma / M)
 *    = k dy - k2 (x - mean) - kmdy.
 * From sdy = sum dy and sdyx = sum dy (x - mean), sets dbeta and dgamma
 * and gives k, k2, kmdy. */
static void grad_coefs(const bn_job *j, int c, double sdy, double sdyx, float *k, float *k2,
                       float *kmdy)
{
    const double M = (double)j->N * j->HW;
    const float invstd = j->var_in[c];   /* the saved invstd */
    sdyx *= invstd;   /* sum dy * xhat */
    j->dbeta[c] = (float)sdy;
    j->dgamma[c] = (float)sdyx;
    *k = (float)(j->gamma[c] * invstd);
    *kmdy = (float)(*k * (sdy / M));
    *k2 = (float)(*k * invstd * (sdyx / M));
}

/* The ReLU that took this batch norm's output in the forward pass, when
 * on: dy counts only where x a + b > 0 (the forward's expression and
 * coefficients, so exactly where its output was > 0), as the ReLU's
 * backward would have passed it. Callers pass on as a constant (NO_MASK,
 * or mask_of), so that each loop is compiled for its case. */
typedef struct relu_mask {
    int on;
    float a, b;
} relu_mask;

#define NO_MASK ((relu_mask){0, 0.0f, 0.0f})
#define INLINE static inline __attribute__((always_inline))

INLINE float masked(relu_mask m, float x, float d)
{
    return m.on && !(x * m.a + m.b > 0.0f) ? 0.0f : d;
}

/* Adds sum dy and sum dy (x - mean) over one plane of n values to *sdy and
 * *sdyx: 16 float lanes, the tail and the lanes' totals in double. */
INLINE void grad_sums(const float *restrict xp, const float *restrict dp, int n, float mean,
                      relu_mask m, double *sdy, double *sdyx)
{
    float a1[16] = {0}, a2[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int u = 0; u < 16; u++) {
            const float d = masked(m, xp[i + u], dp[i + u]);
            a1[u] += d;
            a2[u] += d * (xp[i + u] - mean);
        }
    for (; i < n; i++) {
        const float d = masked(m, xp[i], dp[i]);
        *sdy += d;
        *sdyx += (double)d * (xp[i] - mean);
    }
    for (int u = 0; u < 16; u++) {
        *sdy += a1[u];
        *sdyx += a2[u];
    }
}

INLINE void dx_plane(const float *restrict xp, const float *restrict dp, float *restrict dxp,
                     int n, float k, float k2, float kmdy, float mean, relu_mask m)
{
    for (int i = 0; i < n; i++)
        dxp[i] = k * masked(m, xp[i], dp[i]) - k2 * (xp[i] - mean) - kmdy;
}

FER_CLONES static void train_task(void *ctx, int c, int thread)
{
    const bn_job *j = ctx;
    double mean, var;
    float a, b;
    (void)thread;
    channel_stats(j->N, j->C, j->HW, j->x, c, &mean, &var);
    train_coefs(j, c, mean, var, &a, &b);
    scale_shift(j->N, j->C, j->HW, j->x, c, a, b, j->y);
}

/* ---- by image ---- */

/* Whether planes of HW values go by image, with the per-plane and
 * per-channel arrays carved from the caller's scratch; 0 leaves the
 * channel order (small planes, or no memory for the sums). */
static int by_image(bn_job *j)
{
    const size_t planes = (size_t)j->N * j->C;
    float *m;
    if (j->HW < PLANE_MIN ||
        !(m = fer_scratch(FER_SCRATCH_STATS, 4 * planes + 5 * (size_t)j->C + 16)))
        return 0;
    j->p1 = (double *)m;
    j->p2 = j->p1 + planes;
    j->ca = (float *)(j->p2 + planes);
    j->cb = j->ca + j->C;
    j->cc = j->cb + j->C;
    j->ma = j->cc + j->C;
    j->mb = j->ma + j->C;
    j->per_img = (j->C + TASK_PLANES - 1) / TASK_PLANES;
    return 1;
}

/* Task t's planes: image t / per_img, channels [*c0, *c1). */
static int task_planes(const bn_job *j, int t, int *c0, int *c1)
{
    const int k = t % j->per_img, step = (j->C + j->per_img - 1) / j->per_img;
    *c0 = k * step;
    *c1 = *c0 + step < j->C ? *c0 + step : j->C;
    return t / j->per_img;
}

static int image_tasks(const bn_job *j) { return j->N * j->per_img; }

/* p1 = the plane's sum, p2 = its squared deviations from its own mean
 * (taken about the mean rounded to float, corrected exactly as in
 * channel_stats). */
FER_CLONES static void plane_stats_task(void *ctx, int t, int thread)
{
    const bn_job *j = ctx;
    int c0, c1, n = task_planes(j, t, &c0, &c1);
    (void)thread;
    for (int c = c0; c < c1; c++) {
        const size_t i = (size_t)n * j->C + c;
        const float *p = j->x + i * j->HW;
        const double s = lane_sum(p, j->HW), m = s / j->HW;
        const float mf = (float)m;
        const double d = m - mf;
        j->p1[i] = s;
        j->p2[i] = lane_sq(p, j->HW, mf) - j->HW * d * d;
    }
}

/* y = x ca + cb per plane, then + add when add, then max(y, 0) when relu
 * (the separate ops' expressions, in their order) */
FER_CLONES static void plane_scale_task(void *ctx, int t, int thread)
{
    const bn_job *j = ctx;
    int c0, c1, n = task_planes(j, t, &c0, &c1);
    (void)thread;
    for (int c = c0; c < c1; c++) {
        const size_t off = ((size_t)n * j->C + c) * j->HW;
        const float *restrict xp = j->x + off;
        float *restrict yp = j->y + off;
        const float a = j->ca[c], b = j->cb[c];
        if (j->add) {   /* y may be add itself: neither restrict */
            const float *sp = j->add + off;
            float *out = j->y + off;
            for (int i = 0; i < j->HW; i++) {
                const float v = (j->x[off + i] * a + b) + sp[i];
                out[i] = j->relu && !(v > 0.0f) ? 0.0f : v;
            }
        } else if (j->relu)
            for (int i = 0; i < j->HW; i++) {
                const float v = xp[i] * a + b;
                yp[i] = v > 0.0f ? v : 0.0f;
            }
        else
            for (int i = 0; i < j->HW; i++)
                yp[i] = xp[i] * a + b;
    }
}

static void train_by_image(bn_job *j)
{
    const int N = j->N, C = j->C, HW = j->HW;
    const double M = (double)N * HW;
    fer_parallel_for(image_tasks(j), plane_stats_task, j);
    for (int c = 0; c < C; c++) {
        double sum = 0, sq = 0, mean, var;
        for (int n = 0; n < N; n++)
            sum += j->p1[(size_t)n * C + c];
        mean = sum / M;
        for (int n = 0; n < N; n++) {   /* Chan: each plane's own M2, then its mean's offset */
            const double d = j->p1[(size_t)n * C + c] / HW - mean;
            sq += j->p2[(size_t)n * C + c] + HW * d * d;
        }
        var = sq / M;
        train_coefs(j, c, mean, var, &j->ca[c], &j->cb[c]);
    }
    fer_parallel_for(image_tasks(j), plane_scale_task, j);
}

/* p1 = sum dy, p2 = sum dy (x - mean) over the plane */
FER_CLONES static void plane_grad_task(void *ctx, int t, int thread)
{
    const bn_job *j = ctx;
    int c0, c1, n = task_planes(j, t, &c0, &c1);
    (void)thread;
    for (int c = c0; c < c1; c++) {
        const size_t i = (size_t)n * j->C + c;
        const float *xp = j->x + i * j->HW, *dp = j->dy + i * j->HW;
        double sdy = 0, sdyx = 0;
        if (j->mask)
            grad_sums(xp, dp, j->HW, j->mean_in[c], (relu_mask){1, j->ma[c], j->mb[c]}, &sdy,
                      &sdyx);
        else
            grad_sums(xp, dp, j->HW, j->mean_in[c], NO_MASK, &sdy, &sdyx);
        j->p1[i] = sdy;
        j->p2[i] = sdyx;
    }
}

/* dx = ca dy - cb (x - mean) - cc per plane (grad_coefs) */
FER_CLONES static void plane_dx_task(void *ctx, int t, int thread)
{
    const bn_job *j = ctx;
    int c0, c1, n = task_planes(j, t, &c0, &c1);
    (void)thread;
    for (int c = c0; c < c1; c++) {
        const size_t off = ((size_t)n * j->C + c) * j->HW;
        if (j->mask)
            dx_plane(j->x + off, j->dy + off, j->dx + off, j->HW, j->ca[c], j->cb[c], j->cc[c],
                     j->mean_in[c], (relu_mask){1, j->ma[c], j->mb[c]});
        else
            dx_plane(j->x + off, j->dy + off, j->dx + off, j->HW, j->ca[c], j->cb[c], j->cc[c],
                     j->mean_in[c], NO_MASK);
    }
}

static void backward_by_image(bn_job *j)
{
    const int N = j->N, C = j->C;
    fer_parallel_for(image_tasks(j), plane_grad_task, j);
    for (int c = 0; c < C; c++) {
        double sdy = 0, sdyx = 0;
        for (int n = 0; n < N; n++) {
            sdy += j->p1[(size_t)n * C + c];
            sdyx += j->p2[(size_t)n * C + c];
        }
        grad_coefs(j, c, sdy, sdyx, &j->ca[c], &j->cb[c], &j->cc[c]);
    }
    fer_parallel_for(image_tasks(j), plane_dx_task, j);
}

void fer_batchnorm_forward_train(int N, int C, int HW, const float *x, const float *gamma,
                                 const float *beta, float eps, float momentum,
                                 float *running_mean, float *running_var, float *y,
                                 float *save_mean, float *save_invstd)
{
    bn_job j = {.N = N, .C = C, .HW = HW, .x = x, .gamma = gamma, .beta = beta, .eps = eps,
                .momentum = momentum, .running_mean = running_mean, .running_var = running_var,
                .y = y, .save_mean = save_mean, .save_invstd = save_invstd};
    FER_ASSERT((double)N * HW > 1);   /* the unbiased variance needs two values per channel */
    if (by_image(&j))
        train_by_image(&j);
    else
        fer_parallel_for(C, train_task, &j);
}

/* ---- from given sums (conv_epilogue.h's, training's fusion) ---- */

/* Channel c's mean and biased variance from its sum and sum of squares
 * (the cancellation in sum2 / M - mean^2 costs digits of double only) */
static void sums_stats(const bn_job *j, int c, double *mean, double *var)
{
    const double M = (double)j->N * j->HW;
    *mean = j->stats[c] / M;
    *var = j->stats[j->C + c] / M - *mean * *mean;
    if (*var < 0)
        *var = 0;
}

static void sums_coefs(const bn_job *j, int c, float *a, float *b)
{
    double mean, var;
    sums_stats(j, c, &mean, &var);
    train_coefs(j, c, mean, var, a, b);
}

/* The forward's a and b of channel c made again from the same sums: the
 * same floats (relu_mask) */
static relu_mask mask_of(const bn_job *j, int c)
{
    double mean, var;
    relu_mask m = {1, 0.0f, 0.0f};
    sums_stats(j, c, &mean, &var);
    train_affine(j, c, mean, var, &m.a, &m.b);
    return m;
}

FER_CLONES static void stats_task(void *ctx, int c, int thread)
{
    const bn_job *j = ctx;
    float a, b;
    (void)thread;
    sums_coefs(j, c, &a, &b);
    for (int n = 0; n < j->N; n++) {
        const size_t off = ((size_t)n * j->C + c) * j->HW;
        if (j->add)   /* y may be add itself */
            for (int i = 0; i < j->HW; i++) {
                const float v = (j->x[off + i] * a + b) + j->add[off + i];
                j->y[off + i] = j->relu && !(v > 0.0f) ? 0.0f : v;
            }
        else
            for (int i = 0; i < j->HW; i++) {
                const float v = j->x[off + i] * a + b;
                j->y[off + i] = j->relu && !(v > 0.0f) ? 0.0f : v;
            }
    }
}

void fer_batchnorm_forward_train_stats(int N, int C, int HW, const double *stats,
                                       const float *x, const float *gamma, const float *beta,
                                       float eps, float momentum, float *running_mean,
                                       float *running_var, int relu, float *y, float *save_mean,
                                       float *save_invstd)
{
    fer_batchnorm_forward_train_stats_add(N, C, HW, stats, x, gamma, beta, eps, momentum,
                                          running_mean, running_var, NULL, relu, y, save_mean,
                                          save_invstd);
}

void fer_batchnorm_forward_train_stats_add(int N, int C, int HW, const double *stats,
                                           const float *x, const float *gamma,
                                           const float *beta, float eps, float momentum,
                                           float *running_mean, float *running_var,
                                           const float *add, int relu, float *y,
                                           float *save_mean, float *save_invstd)
{
    bn_job j = {.N = N, .C = C, .HW = HW, .x = x, .gamma = gamma, .beta = beta, .eps = eps,
                .momentum = momentum, .running_mean = running_mean, .running_var = running_var,
                .y = y, .save_mean = save_mean, .save_invstd = save_invstd, .stats = stats,
                .relu = relu, .add = add};
    FER_ASSERT((double)N * HW > 1);
    if (!by_image(&j)) {
        fer_parallel_for(C, stats_task, &j);
        return;
    }
    for (int c = 0; c < C; c++)
        sums_coefs(&j, c, &j.ca[c], &j.cb[c]);
    fer_parallel_for(image_tasks(&j), plane_scale_task, &j);
}

FER_CLONES static void infer_task(void *ctx, int c, int thread)
{
    const bn_job *j = ctx;
    float a, b;
    (void)thread;
    infer_coefs(j, c, &a, &b);
    scale_shift(j->N, j->C, j->HW, j->x, c, a, b, j->y);
}

void fer_batchnorm_infer_coefs(int C, const float *gamma, const float *beta, float eps,
                               const float *running_mean, const float *running_var, float *a,
                               float *b)
{
    bn_job j = {.C = C, .gamma = gamma, .beta = beta, .eps = eps, .mean_in = running_mean,
                .var_in = running_var};
    for (int c = 0; c < C; c++)
        infer_coefs(&j, c, &a[c], &b[c]);
}

void fer_batchnorm_forward_infer(int N, int C, int HW, const float *x, const float *gamma,
                                 const float *beta, float eps, const float *running_mean,
                                 const float *running_var, float *y)
{
    bn_job j = {.N = N, .C = C, .HW = HW, .x = x, .gamma = gamma, .beta = beta, .eps = eps,
                .mean_in = running_mean, .var_in = running_var, .y = y};
    if (!by_image(&j)) {
        fer_parallel_for(C, infer_task, &j);
        return;
    }
    fer_batchnorm_infer_coefs(C, gamma, beta, eps, running_mean, running_var, j.ca, j.cb);
    fer_parallel_for(image_tasks(&j), plane_scale_task, &j);
}

FER_CLONES static void backward_task(void *ctx, int c, int thread)
{
    const bn_job *j = ctx;
    const int N = j->N, C = j->C, HW = j->HW;
    const float mean = j->mean_in[c];
    double sdy = 0, sdyx = 0;
    float k, k2, kmdy;
    (void)thread;
    const relu_mask m = j->mask ? mask_of(j, c) : NO_MASK;
    for (int n = 0; n < N; n++) {
        const size_t off = ((size_t)n * C + c) * HW;
        if (m.on)
            grad_sums(j->x + off, j->dy + off, HW, mean, (relu_mask){1, m.a, m.b}, &sdy, &sdyx);
        else
            grad_sums(j->x + off, j->dy + off, HW, mean, NO_MASK, &sdy, &sdyx);
    }
    grad_coefs(j, c, sdy, sdyx, &k, &k2, &kmdy);
    for (int n = 0; n < N; n++) {
        const size_t off = ((size_t)n * C + c) * HW;
        if (m.on)
            dx_plane(j->x + off, j->dy + off, j->dx + off, HW, k, k2, kmdy, mean,
                     (relu_mask){1, m.a, m.b});
        else
            dx_plane(j->x + off, j->dy + off, j->dx + off, HW, k, k2, kmdy, mean, NO_MASK);
    }
}

static void backward(bn_job *j)
{
    if (!by_image(j)) {
        fer_parallel_for(j->C, backward_task, j);
        return;
    }
    if (j->mask)
        for (int c = 0; c < j->C; c++) {
            const relu_mask m = mask_of(j, c);
            j->ma[c] = m.a;
            j->mb[c] = m.b;
        }
    backward_by_image(j);
}

void fer_batchnorm_backward(int N, int C, int HW, const float *x, const float *dy,
                            const float *gamma, const float *save_mean,
                            const float *save_invstd, float *dx, float *dgamma, float *dbeta)
{
    /* mean_in and var_in carry the saved mean and invstd here */
    bn_job j = {.N = N, .C = C, .HW = HW, .x = x, .dy = dy, .gamma = gamma,
                .mean_in = save_mean, .var_in = save_invstd, .dx = dx, .dgamma = dgamma,
                .dbeta = dbeta};
    backward(&j);
}

void fer_batchnorm_relu_backward_stats(int N, int C, int HW, const double *stats, const float *x,
                                       const float *dy, const float *gamma, const float *beta,
                                       float eps, const float *save_mean,
                                       const float *save_invstd, float *dx, float *dgamma,
                                       float *dbeta)
{
    bn_job j = {.N = N, .C = C, .HW = HW, .x = x, .dy = dy, .gamma = gamma, .beta = beta,
                .eps = eps, .stats = stats, .mask = 1, .mean_in = save_mean,
                .var_in = save_invstd, .dx = dx, .dgamma = dgamma, .dbeta = dbeta};
    backward(&j);
}
