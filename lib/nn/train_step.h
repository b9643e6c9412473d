/* train_step.h: one training step on the net's backend, queued whole with
 * no wait and no read-back, and run as a recorded backend graph where the
 * backend has them (backend.h's graph_begin and graph_refill): fer_train's
 * step, and bench_net's on a GPU. */
#ifndef FER_TRAIN_STEP_H
#define FER_TRAIN_STEP_H

#include <stdint.h>

#include "augment_px.h"
#include "net.h"
#include "optim.h"

/* What one step's ops take: the b images of the batch (indices into data,
 * the training set's (c, h, w) bytes on the backend) with their transforms
 * and labels, the preprocessing's two floats, the draws' key (seed, step)
 * and the learning rate; ema_dev (or NULL, and then ema_t may be NULL) is
 * the weight average, updated after the step with decay ema_decay as
 * update *ema_t, which counts on. */
typedef struct fer_step {
    fer_net *net;
    fer_optim *opt;
    int b, c, h, w;
    const uint8_t *data;
    const int64_t *index;
    const fer_augment_params *par;
    float in_scale, in_shift;
    const int32_t *labels;
    const float *class_w;
    float smoothing;
    uint64_t seed, step;
    double lr;
    float *ema_dev;
    double ema_decay;
    long *ema_t;
} fer_step;

/* A step's graph: recorded at the second step of a plan (the first sizes
 * the backend's own memory), replayed after with each step's values, so
 * that the small batches of 48x48 faces are not bound by the cost of each
 * launch. Zero it to start. */
typedef struct fer_step_graph {
    void *graph;
    unsigned plan;              /* the plan it was recorded in */
    unsigned seen;              /* the plan of the last step, + 1 (0: none) */
    int failures;               /* recordings that did not take */
    long replays;               /* steps run from the graph */
} fer_step_graph;

/* Queues step a: from g's graph (recorded or replayed) when graphs is
 * nonzero and the backend has them, else op by op. Nothing waits;
 * fer_net_step_result then reads the loss and probabilities back. */
void fer_step_run(fer_step_graph *g, int graphs, const fer_step *a);

/* Frees g's graph (on the backend be). */
void fer_step_graph_free(fer_step_graph *g, const fer_backend *be);

#endif
