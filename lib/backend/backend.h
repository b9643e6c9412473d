/* backend.h: what a net needs from the machine that runs it, as one table
 * of functions. The CPU backend (cpu/backend_cpu.c) is the kernels of
 * lib/cpu; a GPU backend fills the same table with its own.
 *
 * Memory is the backend's: alloc hands out blocks of device memory, which
 * the host reaches only through upload and download (on the CPU they are
 * plain memory and the copies are memcpy). A net asks for a few large
 * blocks, one per lifetime class (parameters, gradients, optimiser
 * moments, one plan's activations), and places tensors at offsets in them
 * (ggml-backend's buffers; llm.c's flat parameter blocks). Pointers passed
 * to the ops below are addresses inside such blocks.
 *
 * The ops have the semantics of the reference kernels in cpu/layers.h and
 * cpu/conv.h, which tests/test_backend.c holds every backend to. They may
 * run asynchronously: an error of a device shows at the next sync, which
 * returns -1 with fer_error() set. */
#ifndef FER_BACKEND_H
#define FER_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "augment_px.h"
#include "rng.h"

/* A convolution's shape: x (N, C, H, W), w (K, C, R, S), b (K), y (N, K, P,
 * Q) with P = (H + 2 pad - R) / stride + 1, Q likewise; zero padding.
 * fer_conv_shape_init (conv.h) fills P and Q. */
typedef struct fer_conv_shape {
    int N, C, H, W;         /* input */
    int K, R, S;            /* output channels, kernel height, width */
    int stride, pad;
    int P, Q;               /* output height, width (set by init) */
} fer_conv_shape;

/* A stretch of a flat parameter block that the optimiser updates with one
 * rule: elements [off, off + n) of the weights, gradients and moments. */
typedef struct fer_optim_segment {
    size_t off, n;
    float lr_scale;         /* the parameter's share of the learning rate */
    float weight_decay;     /* 0 where decay does not apply */
} fer_optim_segment;

enum { FER_STEP_SGD, FER_STEP_ADAM, FER_STEP_ADAMW };

/* One optimiser step over flat blocks w, g, m, v (v unused by SGD), as
 * nn/optim.h describes; gs scales every gradient, t counts steps from 1,
 * bc1 and bc2 are Adam's bias corrections 1 - beta^t. Clipping: when
 * sumsq (one double of backend memory, sum_squares's) is not NULL, gs is
 * instead (float) (clip / (norm + 1e-6)) where the norm sqrt(*sumsq) (in
 * double) exceeds clip, else 1, worked out where the step runs, so that
 * the norm need not come back to the host. */
typedef struct fer_optim_step_args {
    int kind;               /* FER_STEP_* */
    float *w, *m, *v;
    const float *g;
    const fer_optim_segment *seg;
    int nseg;
    double lr, bc1, bc2;
    float gs;
    const double *sumsq;
    double clip;
    float momentum, beta1, beta2, eps;
    int nesterov;
    long t;
} fer_optim_step_args;

typedef struct fer_backend {
    const char *name;

    /* Memory. alloc gives at least bytes, aligned to 64, or NULL. Offsets
     * and sizes in bytes. */
    void *(*alloc)(size_t bytes);
    void (*free)(void *block);
    void (*upload)(void *dst, const void *host, size_t bytes);
    void (*download)(void *host, const void *src, size_t bytes);
    void (*copy)(void *dst, const void *src, size_t bytes);
    void (*zero)(void *dst, size_t bytes);
    /* Waits for the work queued so far: 0, or -1 when any of it failed. */
    int (*sync)(void);

    /* Convolution: workspace floats for shape s; forward y = conv(x, w) +
     * b (b may be NULL); backward overwrites dx (skipped when NULL), dw and
     * db (skipped when NULL) from dy, both gradients in one pass. */
    size_t (*conv_workspace)(const fer_conv_shape *s);
    void (*conv_forward)(const fer_conv_shape *s, const float *x, const float *w,
                         const float *b, float *y, float *ws);
    void (*conv_backward)(const fer_conv_shape *s, const float *x, const float *w,
                          const float *dy, float *dx, float *dw, float *db, float *ws);

    /* Batch norm over (N, HW) per channel (layers.h). */
    void (*bn_forward_train)(int N, int C, int HW, const float *x, const float *gamma,
                             const float *beta, float eps, float momentum, float *run_mean,
                             float *run_var, float *y, float *save_mean, float *save_invstd);
    void (*bn_forward_infer)(int N, int C, int HW, const float *x, const float *gamma,
                             const float *beta, float eps, const float *run_mean,
                             const float *run_var, float *y);
    void (*bn_backward)(int N, int C, int HW, const float *x, const float *dy,
                        const float *gamma, const float *save_mean, const float *save_invstd,
                        float *dx, float *dgamma, float *dbeta);

    /* Element-wise (in place allowed, layers.h). */
    void (*relu_forward)(size_t n, const float *x, float *y);
    void (*relu_backward)(size_t n, const float *x, const float *dy, float *dx);
    void (*lrelu_forward)(size_t n, float a, const float *x, float *y);
    void (*lrelu_backward)(size_t n, float a, const float *x, const float *dy, float *dx);
    /* Inverted dropout with keep mask (n bytes); element i's draw is
     * fer_rng_key_float(key, i) (rng.h), the same on every backend. */
    void (*dropout_forward)(size_t n, float p, uint64_t key, const float *x, float *y,
                            uint8_t *mask);
    void (*dropout_backward)(size_t n, float p, const uint8_t *mask, const float *dy,
                             float *dx);

    /* Pooling (layers.h). */
    void (*maxpool_forward)(int N, int C, int H, int W, int k, int stride, const float *x,
                            float *y, int32_t *argmax);
    void (*maxpool_backward)(int N, int C, int H, int W, int k, int stride, const float *dy,
                             const int32_t *argmax, float *dx);
    void (*avgpool_forward)(int N, int C, int HW, const float *x, float *y);
    void (*avgpool_backward)(int N, int C, int HW, const float *dy, float *dx);

    /* Dense: y = x w^T + b; backward dx (skipped when NULL), dw, db. */
    void (*dense_forward)(int N, int I, int O, const float *x, const float *w, const float *b,
                          float *y);
    void (*dense_backward)(int N, int I, int O, const float *x, const float *w,
                           const float *dy, float *dx, float *dw, float *db);

    /* y = a + b, or a copy of a when b is NULL; y may be a or b. */
    void (*add)(size_t n, const float *a, const float *b, float *y);
    /* Optional (NULL: add, then relu_forward): y = max(a + b, 0), the two
     * ops' bits in one pass; inference's residual joins use it. */
    void (*add_relu)(size_t n, const float *a, const float *b, float *y);

    /* Softmax cross-entropy (layers.h): probs and the mean loss (one
     * double of backend memory), then dlogits from probs. */
    void (*xent_forward)(int N, int K, const float *logits, const int32_t *labels,
                         const float *class_w, float smoothing, float *probs, double *loss);
    void (*xent_backward)(int N, int K, const float *probs, const int32_t *labels,
                          const float *class_w, float smoothing, float *dlogits);

    /* The optimiser: the sum of squares of g over the segments (in double,
     * in order) into *out (one double of backend memory), and one step. */
    void (*sum_squares)(const float *g, const fer_optim_segment *seg, int nseg, double *out);
    void (*optim_step)(const fer_optim_step_args *a);
    /* The weight average: avg[i] += k (w[i] - avg[i]) for i < n. */
    void (*ema)(size_t n, float k, const float *w, float *avg);

    /* Training's input batch, built where the data set lives: slot j < n
     * of x (n, c, h, w) is image index[j] of data, a block of 8-bit
     * images (c, h, w) uploaded once, changed by the transform par[j]
     * (augment_px.h; fer_augment_draw in image/augment.h draws it on the
     * host, keyed by fer_augment_rng(seed, step, j)) as fer_augment_apply
     * does, then preprocessed: x = px scale - shift, in float (two
     * roundings). Exact: the same bytes and floats on every backend.
     * index (each below the data set's count) and par are n entries of
     * host memory, read before the op returns; no scratch is asked of the
     * caller. */
    void (*augment_batch)(int n, int c, int h, int w, const uint8_t *data, const int64_t *index,
                          const fer_augment_params *par, float scale, float shift, float *x);

    /* Optional fusions, NULL where a backend has none (the net then runs
     * the separate ops). conv_forward_fused is conv_forward (the same
     * workspace) with y = max(conv + b, 0) when relu, and
     * stats, 2 K doubles of device memory, set to each channel's sum of
     * the stored y over (N, P, Q), then its sum of y^2: batch norm's
     * statistics, taken while the output is in registers and summed in
     * a fixed order (the same bits on every run). bn_forward_train_stats
     * is bn_forward_train with x's statistics given as those sums
     * (mean = sum / M, biased variance sum2 / M - mean^2, M = N HW),
     * and y = max(y, 0) after it when relu (a ReLU's backward may use
     * that y as its input: y > 0 exactly where the input is). */
    void (*conv_forward_fused)(const fer_conv_shape *s, const float *x, const float *w,
                               const float *b, int relu, float *y, double *stats, float *ws);
    void (*bn_forward_train_stats)(int N, int C, int HW, const double *stats, const float *x,
                                   const float *gamma, const float *beta, float eps,
                                   float momentum, float *run_mean, float *run_var, int relu,
                                   float *y, float *save_mean, float *save_invstd);
    /* Optional (NULL: bn_forward_train_stats, add, relu_forward): the
     * same, with y = y + add before the ReLU, in one pass (a residual
     * join: add is the other input, y the join's output, which may be
     * add). */
    void (*bn_forward_train_stats_add)(int N, int C, int HW, const double *stats,
                                       const float *x, const float *gamma, const float *beta,
                                       float eps, float momentum, float *run_mean,
                                       float *run_var, const float *add, int relu, float *y,
                                       float *save_mean, float *save_invstd);
    /* Optional (NULL: relu_backward, then bn_backward): the backward of a
     * bn_forward_train_stats with relu, from the ReLU's output gradient
     * dy, with those two ops' bits: dy counts where x a + b > 0 for the
     * forward's a and b, made again from the same stats, gamma, beta and
     * eps. */
    void (*bn_relu_backward_stats)(int N, int C, int HW, const double *stats, const float *x,
                                   const float *dy, const float *gamma, const float *beta,
                                   float eps, const float *save_mean, const float *save_invstd,
                                   float *dx, float *dgamma, float *dbeta);
    /* Inference's: conv_forward, then y = max(y, 0) when relu, then
     * bn_forward_infer with these parameters unless gamma is NULL, then
     * y = y + add unless add is NULL (a residual join's other input, laid
     * out as y), then y = max(y, 0) when relu2, with the same bits as those ops run one
     * by one (CPU only, so far). pack, unless NULL, is memory of
     * conv_infer_pack_floats(s) floats (for any batch up to s->N) where
     * the op keeps w packed for its GEMMs from one call to the next; the
     * caller sets repack on the first call and whenever w has changed
     * since the last. */
    void (*conv_forward_infer_fused)(const fer_conv_shape *s, const float *x, const float *w,
                                     const float *b, int relu, const float *gamma,
                                     const float *beta, float eps, const float *run_mean,
                                     const float *run_var, const float *add, int relu2,
                                     float *y, float *ws, float *pack, int repack);
    /* Optional (NULL: no pack is kept). */
    size_t (*conv_infer_pack_floats)(const fer_conv_shape *s);

    /* Optional, NULL where a backend has none (the CPU): the ops queued
     * between graph_begin and graph_end are recorded, not run, into a
     * graph that graph_launch replays in one submission (a CUDA graph:
     * the small batches of 48x48 faces are otherwise bound by the cost of
     * each launch). A graph keeps the addresses it was recorded with.
     * graph_begin: 0, or -1 when recording cannot start. graph_end: the
     * graph, or NULL with fer_error() set, and then nothing recorded ran.
     * graph_launch: 0, or 1 when the graph has gone stale (the backend
     * moved memory of its own that the ops use): free it and record again.
     * Nothing may wait for the device or read back to the host while
     * recording. The values an op takes from the host (uploads, a dropout
     * key, the transforms, the optimiser's numbers, the weight average's
     * factor) are the recording's, unless graph_refill(graph) came before
     * the launch: the ops queued from graph_refill to graph_launch run
     * nothing and give their values to the graph instead, so one graph
     * replays training step after step. They must be the recording's ops
     * in the recording's order with new values; graph_launch returns 1
     * (stale) when they were not, and nothing ran. */
    int (*graph_begin)(void);
    void *(*graph_end)(void);
    int (*graph_launch)(void *graph);
    void (*graph_free)(void *graph);
    void (*graph_refill)(void *graph);
} fer_backend;

#endif
