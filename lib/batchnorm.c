/* batchnorm.c: batch normalisation per channel over (N, HW), as PyTorch's
 * BatchNorm1d/2d. Statistics take two passes (mean, then squared
 * deviations), so that large means do not cancel the variance; each
 * image's plane is summed in 16 float lanes (vectorised) and the planes'
 * sums in double. */
#include <math.h>

#include "clones.h"
#include "error.h"
#include "layers.h"
#include "threads.h"

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
} bn_job;

FER_CLONES static void train_task(void *ctx, int c, int thread)
{
    const bn_job *j = ctx;
    const double M = (double)j->N * j->HW;
    double mean, var;
    (void)thread;
    channel_stats(j->N, j->C, j->HW, j->x, c, &mean, &var);
    const double invstd = 1.0 / sqrt(var + j->eps);
    const double a = j->gamma[c] * invstd;
    scale_shift(j->N, j->C, j->HW, j->x, c, (float)a, (float)(j->beta[c] - mean * a), j->y);
    j->save_mean[c] = (float)mean;
    j->save_invstd[c] = (float)invstd;
    j->running_mean[c] = (float)((1.0 - j->momentum) * j->running_mean[c] + j->momentum * mean);
    j->running_var[c] = (float)((1.0 - j->momentum) * j->running_var[c] +
                                j->momentum * var * M / (M - 1));
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
    fer_parallel_for(C, train_task, &j);
}

FER_CLONES static void infer_task(void *ctx, int c, int thread)
{
    const bn_job *j = ctx;
    const double a = j->gamma[c] / sqrt((double)j->var_in[c] + j->eps);
    (void)thread;
    scale_shift(j->N, j->C, j->HW, j->x, c, (float)a, (float)(j->beta[c] - j->mean_in[c] * a),
                j->y);
}

void fer_batchnorm_forward_infer(int N, int C, int HW, const float *x, const float *gamma,
                                 const float *beta, float eps, const float *running_mean,
                                 const float *running_var, float *y)
{
    bn_job j = {.N = N, .C = C, .HW = HW, .x = x, .gamma = gamma, .beta = beta, .eps = eps,
                .mean_in = running_mean, .var_in = running_var, .y = y};
    fer_parallel_for(C, infer_task, &j);
}

/* With xhat = (x - mean) * invstd and M = N * HW values per channel:
 * dbeta = sum dy, dgamma = sum dy * xhat and
 * dx = gamma * invstd * (dy - dbeta / M - xhat * dgamma / M). */
FER_CLONES static void backward_task(void *ctx, int c, int thread)
{
    const bn_job *j = ctx;
    const int N = j->N, C = j->C, HW = j->HW;
    const float *x = j->x, *dy = j->dy;
    float *dx = j->dx;
    const double M = (double)N * HW;
    const float mean = j->mean_in[c], invstd = j->var_in[c];
    double sdy = 0, sdyx = 0;
    (void)thread;
    for (int n = 0; n < N; n++) {
        const size_t off = ((size_t)n * C + c) * HW;
        const float *restrict xp = x + off, *restrict dp = dy + off;
        float a1[16] = {0}, a2[16] = {0};
        int i = 0;
        for (; i + 16 <= HW; i += 16)
            for (int u = 0; u < 16; u++) {
                a1[u] += dp[i + u];
                a2[u] += dp[i + u] * (xp[i + u] - mean);
            }
        for (; i < HW; i++) {
            sdy += dp[i];
            sdyx += (double)dp[i] * (xp[i] - mean);
        }
        for (int u = 0; u < 16; u++) {
            sdy += a1[u];
            sdyx += a2[u];
        }
    }
    sdyx *= invstd;   /* sum dy * xhat */
    j->dbeta[c] = (float)sdy;
    j->dgamma[c] = (float)sdyx;
    /* dx = k (dy - mdy - (x - mean) invstd mdyx) = k dy - k2 (x - mean) - k mdy */
    const float k = (float)(j->gamma[c] * invstd), kmdy = (float)(k * (sdy / M));
    const float k2 = (float)(k * invstd * (sdyx / M));
    for (int n = 0; n < N; n++) {
        const size_t off = ((size_t)n * C + c) * HW;
        const float *restrict xp = x + off, *restrict dp = dy + off;
        float *restrict dxp = dx + off;
        for (int i = 0; i < HW; i++)
            dxp[i] = k * dp[i] - k2 * (xp[i] - mean) - kmdy;
    }
}

void fer_batchnorm_backward(int N, int C, int HW, const float *x, const float *dy,
                            const float *gamma, const float *save_mean,
                            const float *save_invstd, float *dx, float *dgamma, float *dbeta)
{
    /* mean_in and var_in carry the saved mean and invstd here */
    bn_job j = {.N = N, .C = C, .HW = HW, .x = x, .dy = dy, .gamma = gamma,
                .mean_in = save_mean, .var_in = save_invstd, .dx = dx, .dgamma = dgamma,
                .dbeta = dbeta};
    fer_parallel_for(C, backward_task, &j);
}
