/* optim.cu: the optimiser's passes over the segments of a flat parameter
 * block (backend.h, nn/optim.h): the sum of squares of the gradients and
 * one SGD / Adam / AdamW step, each element with the CPU's float
 * operations in the CPU's order (backend_cpu.c's step_task), so the same
 * bits. The segments are laid end to end in a "flat index" j; block b
 * takes j in [b CHUNK, (b + 1) CHUNK), and each thread finds the segment
 * of its first j by binary search, then walks forward. The segment table
 * lives in a small device buffer of this file, uploaded again only when
 * the segments change (they are the net's, fixed): an upload from the
 * host waits for the queued work, which the step need not. */
#include "cuda_compat.h"
#include "kern_util.cuh"

#include <math.h>
#include <stdlib.h>

extern "C" {
#include "error.h"
}
#include "cuda_mem.h"

enum { CHUNK = FER_KT * 8 };   /* flat elements per block */

/* a segment on the device: elements [off, off + n) of the blocks are flat
 * indices [start, start + n) */
struct seg_dev {
    size_t off, n, start;
    float lr_scale, wd;
};

static seg_dev *table_dev;    /* the device's table */
static seg_dev *table_host;   /* what it holds */
static int table_len, table_cap;

/* The device table for seg (nseg >= 1), uploaded when it differs from
 * the last one; sets *total to the flat length. NULL with fer_error set
 * on failure. */
static const seg_dev *upload_table(const fer_optim_segment *seg, int nseg, size_t *total)
{
    seg_dev *t = (seg_dev *)calloc((size_t)nseg, sizeof *t);
    size_t start = 0;
    if (!t) {
        fer_seterr("cuda: optimiser segments: out of memory");
        return NULL;
    }
    for (int s = 0; s < nseg; s++) {
        t[s].off = seg[s].off;
        t[s].n = seg[s].n;
        t[s].start = start;
        t[s].lr_scale = seg[s].lr_scale;
        t[s].wd = seg[s].weight_decay;
        start += seg[s].n;
    }
    *total = start;
    if (nseg == table_len && !memcmp(t, table_host, (size_t)nseg * sizeof *t)) {
        free(t);
        return table_dev;
    }
    if (nseg > table_cap) {
        if (table_dev) {   /* queued steps may still read it */
            cudaStreamSynchronize(fer_cuda_stream());
            cudaFree(table_dev);
            table_dev = NULL;
        }
        table_cap = table_len = 0;
        if (fer_cuda_check(cudaMalloc((void **)&table_dev, (size_t)nseg * sizeof *t),
                           "optimiser segments") < 0) {
            free(t);
            return NULL;
        }
        table_cap = nseg;
    }
    /* ordered after the queued kernels that read the old table */
    if (fer_cuda_check(cudaMemcpyAsync(table_dev, t, (size_t)nseg * sizeof *t,
                                       cudaMemcpyHostToDevice, fer_cuda_stream()),
                       "optimiser segments") < 0) {
        free(t);
        table_len = 0;
        return NULL;
    }
    free(table_host);
    table_host = t;
    table_len = nseg;
    return table_dev;
}

/* the segment holding flat index j: the last one starting at or before j
 * (which is never empty: an empty one shares its start with the next) */
static __device__ int find_seg(const seg_dev *seg, int nseg, size_t j)
{
    int lo = 0, hi = nseg - 1;
    while (lo < hi) {
        const int mid = (lo + hi + 1) / 2;
        if (seg[mid].start <= j)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* Block b sums g^2 over flat indices [b CHUNK, (b + 1) CHUNK) in double,
 * thread t every FER_KT-th from b CHUNK + t, then the block tree;
 * part[b] = the sum. Grid: ceil(total / CHUNK), FER_KT threads. */
__global__ void sumsq_kernel(const float *g, const seg_dev *seg, int nseg, size_t total,
                             double *part)
{
    __shared__ double red[64];
    const size_t lo = (size_t)blockIdx.x * CHUNK;
    const size_t hi = lo + CHUNK < total ? lo + CHUNK : total;
    double a = 0, unused = 0;
    size_t j = lo + threadIdx.x;
    if (j < hi) {
        int s = find_seg(seg, nseg, j);
        for (; j < hi; j += FER_KT) {
            while (j >= seg[s].start + seg[s].n)
                s++;
            const float v = g[seg[s].off + (j - seg[s].start)];
            a += (double)v * v;
        }
    }
    fer_block_sum2(&a, &unused, red);
    if (threadIdx.x == 0)
        part[blockIdx.x] = a;
}

/* One block: the sum of part[0..n), thread t every FER_KT-th, then the
 * block tree; *out = the sum. */
__global__ void sum_parts_kernel(const double *part, size_t n, double *out)
{
    __shared__ double red[64];
    double a = 0, unused = 0;
    for (size_t i = threadIdx.x; i < n; i += FER_KT)
        a += part[i];
    fer_block_sum2(&a, &unused, red);
    if (threadIdx.x == 0)
        *out = a;
}

void fer_cuda_sum_squares(const float *g, const fer_optim_segment *seg, int nseg, double *out)
{
    size_t total = 0;
    const seg_dev *t = NULL;
    double *part;
    if (nseg > 0 && !(t = upload_table(seg, nseg, &total)))
        return;   /* fer_error() says why */
    const size_t nb = (total + CHUNK - 1) / CHUNK;
    if (!(part = (double *)fer_cuda_scratch((nb + 1) * sizeof(double))))
        return;
    /* with nothing to sum, sum_parts_kernel still writes *out = 0 */
    if (nb)
        FER_LAUNCH(sumsq_kernel, (unsigned)nb, FER_KT, 0, g, t, nseg, total, part);
    FER_LAUNCH(sum_parts_kernel, 1, FER_KT, 0, part, nb, out);
}

/* The step's numbers that do not vary by segment; with sumsq, gs comes
 * from the norm (backend.h's clipping rule). */
struct step_consts {
    int kind, nesterov, first;   /* first: t == 1 */
    float lr, gs, mu, b1, b2, eps, sq;
    double lrd, bc1, clip;
    const double *sumsq;
};

static __device__ __forceinline__ float clip_scale(const step_consts &k)
{
    if (!k.sumsq)
        return k.gs;
    const double norm = sqrt(*k.sumsq);
    return norm > k.clip ? (float)(k.clip / (norm + 1e-6)) : 1.0f;
}

/* Block b updates flat indices [b CHUNK, (b + 1) CHUNK), thread t every
 * FER_KT-th from b CHUNK + t, as step_task: per segment flr = (float) lr
 * lr_scale, step = (float) (lr lr_scale / bc1), keep = 1 - flr wd, the
 * same float operations per element. Grid: ceil(total / CHUNK), FER_KT
 * threads. */
__global__ void step_kernel(const step_consts *kp, const seg_dev *seg, int nseg, size_t total,
                            float *w, float *m, float *v, const float *g)
{
    const step_consts k = *kp;
    const float gs = clip_scale(k);
    const size_t lo = (size_t)blockIdx.x * CHUNK;
    const size_t hi = lo + CHUNK < total ? lo + CHUNK : total;
    size_t j = lo + threadIdx.x;
    if (j >= hi)
        return;
    int s = find_seg(seg, nseg, j);
    for (; j < hi; j += FER_KT) {
        while (j >= seg[s].start + seg[s].n)
            s++;
        const size_t i = seg[s].off + (j - seg[s].start);
        const float wd = seg[s].wd, flr = fer_mul(k.lr, seg[s].lr_scale);
        const float gg = fer_mul(g[i], gs);
        if (k.kind == FER_STEP_SGD) {
            const float gi = fer_add(gg, fer_mul(wd, w[i]));
            if (k.mu == 0) {
                w[i] = fer_sub(w[i], fer_mul(flr, gi));
                continue;
            }
            /* the momentum buffer starts as the gradient */
            const float mi = k.first ? gi : fer_add(fer_mul(k.mu, m[i]), gi);
            m[i] = mi;
            w[i] = fer_sub(w[i], fer_mul(flr, k.nesterov ? fer_add(gi, fer_mul(k.mu, mi)) : mi));
            continue;
        }
        const float step = (float)(k.lrd * seg[s].lr_scale / k.bc1);
        float gi, wi;
        if (k.kind == FER_STEP_ADAMW) {
            gi = gg;
            wi = fer_mul(w[i], fer_sub(1.0f, fer_mul(flr, wd)));
        } else {
            gi = fer_add(gg, fer_mul(wd, w[i]));
            wi = w[i];
        }
        const float mi = fer_add(fer_mul(k.b1, m[i]), fer_mul(1.0f - k.b1, gi));
        const float vi = fer_add(fer_mul(k.b2, v[i]), fer_mul(fer_mul(1.0f - k.b2, gi), gi));
        m[i] = mi;
        v[i] = vi;
        w[i] = fer_sub(wi, fer_mul(step, mi) / fer_add(sqrtf(vi) / k.sq, k.eps));
    }
}

void fer_cuda_optim_step(const fer_optim_step_args *a)
{
    size_t total;
    const seg_dev *t;
    if (a->nseg <= 0 || !(t = upload_table(a->seg, a->nseg, &total)) || !total)
        return;
    step_consts k;
    k.kind = a->kind;
    k.nesterov = a->nesterov;
    k.first = a->t == 1;
    k.lr = (float)a->lr;
    k.gs = a->gs;
    k.sumsq = a->sumsq;
    k.clip = a->clip;
    k.mu = a->momentum;
    k.b1 = a->beta1;
    k.b2 = a->beta2;
    k.eps = a->eps;
    k.sq = (float)sqrt(a->bc2);
    k.lrd = a->lr;
    k.bc1 = a->bc1;
    const size_t nb = (total + CHUNK - 1) / CHUNK;
    /* the numbers from device memory: a graph replays them with each step's */
    const step_consts *kd = (const step_consts *)fer_cuda_stage(&k, sizeof k);
    if (kd)
        FER_LAUNCH(step_kernel, (unsigned)nb, FER_KT, 0, kd, t, a->nseg, total, a->w, a->m, a->v,
                   a->g);
}
