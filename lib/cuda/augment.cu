/* augment.cu: training's batch on the GPU (backend.h's augment_batch):
 * one block per image gathers it from the data set resident on the
 * device, runs the stages of augment_px.h over its pixels (the source
 * the CPU runs, with every product and sum a single rounding, never an
 * FMA) and writes the preprocessed floats into the net's input. The
 * draws were made on the host (fer_augment_draw), so only the n
 * transforms and indices travel per batch; the bytes stay here. */
#include "cuda_compat.h"

#include "augment_px.h"
#include "cuda_mem.h"

enum { AUG_THREADS = 256 };

/* Block j: image index[j] of data under par[j] into x[j]. bytes is 2 c h
 * w bytes per image of scratch (the geometry's, then the result's). */
__global__ void augment_kernel(int c, int h, int w, const uint8_t *__restrict__ data,
                               const int64_t *__restrict__ index,
                               const fer_augment_params *__restrict__ par,
                               uint8_t *__restrict__ bytes, float scale, float shift,
                               float *__restrict__ x)
{
    __shared__ uint64_t part[AUG_THREADS];
    const int j = blockIdx.x, t = threadIdx.x, hw = h * w;
    const size_t n = (size_t)c * hw;
    const fer_augment_params *p = &par[j];
    const uint8_t *src = data + (size_t)index[j] * n;
    uint8_t *g = bytes + 2 * n * j, *d = g + n;
    uint64_t sum = 0;

    if (p->geo)
        for (int i = t; i < hw; i += AUG_THREADS)
            fer_px_stage_geo(p, src, c, h, w, i % w, i / w, g);
    __syncthreads();
    for (int i = t; i < hw; i += AUG_THREADS)
        sum += fer_px_stage_crop(p, p->geo ? g : src, c, h, w, i % w, i / w, d);
    part[t] = sum;
    __syncthreads();
    if (p->contrast) {
        /* the bytes' sum, exact in integers: any order gives the mean */
        for (int k = AUG_THREADS / 2; k > 0; k /= 2) {
            if (t < k)
                part[t] += part[t + k];
            __syncthreads();
        }
        const double m = fer_px_mean(part[0], n);
        for (size_t i = t; i < n; i += AUG_THREADS)
            d[i] = fer_px_contrast(p->cf, m, d[i]);
    }
    __syncthreads();
    if (p->erase && t == 0)   /* a sequence of draws: one thread */
        fer_px_stage_erase(p, c, h, w, d);
    __syncthreads();
    float *y = x + n * j;
    for (size_t i = t; i < n; i += AUG_THREADS)
        y[i] = fer_px_float(d[i], scale, shift);
}

void fer_cuda_augment_batch(int n, int c, int h, int w, const uint8_t *data, const int64_t *index,
                            const fer_augment_params *par, float scale, float shift, float *x)
{
    const size_t img = (size_t)c * h * w;
    const fer_augment_params *pd;
    const int64_t *id;
    uint8_t *s;
    if (n <= 0)
        return;
    if (!(s = (uint8_t *)fer_cuda_scratch(2 * img * n)))
        return;   /* fer_error() says why */
    /* staged (cuda_mem.h): copied before the call returns, so the caller
     * may reuse par and index at once, and a graph replays each step's */
    if (!(pd = (const fer_augment_params *)fer_cuda_stage(par, (size_t)n * sizeof *par)) ||
        !(id = (const int64_t *)fer_cuda_stage(index, (size_t)n * sizeof *index)))
        return;
    FER_LAUNCH(augment_kernel, dim3(n), dim3(AUG_THREADS), 0, c, h, w, data, id, pd, s, scale,
               shift, x);
}
