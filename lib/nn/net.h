/* net.h: a network as a list of layers in topological order, with memory
 * planned once for a largest batch, forward and backward passes, and its
 * parameters by name (the names PyTorch's state_dict would give).
 *
 * Activations are (N, C, H, W) float32. A net is built by appending nodes;
 * each append returns the node's id, which later nodes name as input. The
 * last node is the output (logits).
 *
 * A net runs on one backend (backend.h; the CPU's unless set), which holds
 * its memory: the parameters, gradients and a plan's tensors are blocks of
 * the backend's, reached from the host only through the functions below
 * (the input is copied in, the logits, probabilities and parameters are
 * copied out). Passes return 0, or -1 with fer_error() set when the
 * backend failed. */
#ifndef FER_NET_H
#define FER_NET_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "rng.h"

enum fer_op {
    FER_OP_INPUT, FER_OP_CONV, FER_OP_BN, FER_OP_RELU, FER_OP_LRELU, FER_OP_DROPOUT,
    FER_OP_MAXPOOL, FER_OP_DENSE, FER_OP_GAP, FER_OP_ADD
};

/* Limits checked while a net is built, before anything is allocated, so
 * that a model file's header cannot ask for more memory than any sane net
 * needs: all parameters together (2^27 floats, 512 MiB; resnet18 has
 * 11.2 million) and all of one image's activations (2^26 floats, 256 MiB;
 * resnet18 on 48x48 needs about 0.4 million). Appending a node past either
 * fails with a message naming the limit. */
#define FER_NET_MAX_WEIGHTS ((size_t)1 << 27)
#define FER_NET_MAX_ACTIVATIONS ((size_t)1 << 26)

/* A learnable tensor or a buffer (batch norm running statistics): its
 * description; the values are read and written with fer_net_param_read
 * and _write. */
typedef struct fer_param {
    char name[96];          /* "layer1.0.conv1.weight" */
    int ndim;
    int shape[4];
    size_t n;               /* elements */
    size_t off;             /* where it starts in the flat blocks (net_blocks.h) */
    int learn;              /* has a gradient (0 for buffers) */
    int decay;              /* weight decay applies (weights, not biases/bn) */
    int trainable;          /* learn, and not frozen */
} fer_param;

typedef struct fer_net fer_net;

/* A net with input (c, h, w). NULL when out of memory. */
fer_net *fer_net_new(int c, int h, int w);
void fer_net_free(fer_net *net);

/* Appending nodes; in is a node id (0 is the input). Each returns the new
 * node's id, or -1 with fer_error() set when shapes do not fit. name is
 * the prefix of the node's parameters ("conv1" -> "conv1.weight"). */
int fer_net_conv(fer_net *net, int in, const char *name, int K, int R, int stride, int pad,
                 int bias);
int fer_net_bn(fer_net *net, int in, const char *name);
/* Every batch norm's eps (added to the variance) and momentum (the weight
 * of a batch's statistics in the running ones, PyTorch's convention);
 * 1e-5 and 0.1, PyTorch's defaults, until set. */
void fer_net_set_bn(fer_net *net, float eps, float momentum);
int fer_net_relu(fer_net *net, int in);
int fer_net_lrelu(fer_net *net, int in, float slope);
int fer_net_dropout(fer_net *net, int in, float p);
int fer_net_maxpool(fer_net *net, int in, int k, int stride);
int fer_net_dense(fer_net *net, int in, const char *name, int out, int bias);
int fer_net_gap(fer_net *net, int in);
int fer_net_add(fer_net *net, int a, int b);

/* Plans and allocates activations for batches of up to max_n; nothing
 * is allocated again when the net is already planned for max_n. May be
 * called again with another size. 0 or -1. */
int fer_net_plan(fer_net *net, int max_n);

/* Forward pass of n <= max_n images x (n, c, h, w), copied into the plan,
 * or, when x is NULL, already there (fer_net_input_block, net_blocks.h).
 * train selects batch statistics and dropout; otherwise running statistics
 * and no dropout. Dropout's draws are counter-based (rng.h), keyed by
 * (seed, step, the node's id) and the element, so every backend and
 * thread count drops the same. The logits (n, classes) are copied to
 * logits unless it is NULL. */
int fer_net_forward(fer_net *net, const float *x, int n, int train, uint64_t seed, uint64_t step,
                    float *logits);

/* After a training forward of n images: the softmax cross-entropy of the
 * logits against labels (n) as layers.h's fer_xent_forward (class_w (k) or
 * NULL, label smoothing) into *loss, the probabilities copied to probs
 * (n, classes) unless NULL, and the loss's gradient left in place for
 * fer_net_backward(net, NULL, n). */
int fer_net_loss(fer_net *net, const int32_t *labels, const float *class_w, float smoothing,
                 int n, double *loss, float *probs);

/* Backward pass after a training forward of n images, from dlogits (n,
 * classes), or when it is NULL from fer_net_loss's gradient; every
 * learnable parameter's gradient is overwritten. */
int fer_net_backward(fer_net *net, const float *dlogits, int n);

/* A training step's passes queued on the backend with no wait and no
 * read-back, so that a backend graph can record them (backend.h): the
 * forward pass of the n images already in the plan's input, the loss
 * against labels as fer_net_loss, and the backward pass. Then
 * fer_net_step_result reads the loss and the probabilities (n, classes;
 * unless NULL) back and reports any error of the step. */
void fer_net_step_queue(fer_net *net, int n, uint64_t seed, uint64_t step,
                        const int32_t *labels, const float *class_w, float smoothing);
int fer_net_step_result(fer_net *net, int n, double *loss, float *probs);

/* Changes each time the net's activations are allocated anew (a plan for
 * another size or for inference): a graph recorded before holds stale
 * addresses. */
unsigned fer_net_plan_id(const fer_net *net);

/* Plans for inference only (forward with train = 0, no backward): the
 * output blocks of layers are reused once read, so memory is a few layers'
 * outputs rather than all of them. fer_net_plan goes back to training. */
int fer_net_plan_infer(fer_net *net, int max_n);

/* The largest batch the current plan takes, 0 when not planned. */
int fer_net_max_batch(const fer_net *net);

/* The smallest batch a training forward pass takes: 2 when a batch-norm
 * layer sees one value per channel and image (after a dense layer, or a
 * 1x1 map), as its variance needs two values; else 1. */
int fer_net_min_train_batch(const fer_net *net);

/* Size of the output per image (the number of classes). */
int fer_net_outputs(const fer_net *net);
void fer_net_input_shape(const fer_net *net, int *c, int *h, int *w);

/* The fusions (backend.h's conv_forward_fused, bn_forward_train_stats,
 * bn_forward_train_stats_add and bn_relu_backward_stats in training,
 * conv_forward_infer_fused and add_relu in inference, where the backend
 * has them) on (the default) or off: the ops then run one by one, as a
 * benchmark or a test compares. A change drops the plan; fer_net_plan
 * makes the next. A new net starts with them off where the environment
 * holds FER_FUSE=0. */
void fer_net_set_fusion(fer_net *net, int on);

/* Moves the net (its parameters; the plan is dropped) to backend be. */
int fer_net_set_backend(fer_net *net, const fer_backend *be);
const fer_backend *fer_net_backend(const fer_net *net);

/* The parameters and buffers, in creation order; find gives the index of
 * the one named, or -1. */
int fer_net_nparams(const fer_net *net);
const fer_param *fer_net_param(const fer_net *net, int i);
int fer_net_find_param(const fer_net *net, const char *name);
/* Parameter i's values (n floats) copied out or in; a learnable one's
 * gradient copied out. */
int fer_net_param_read(fer_net *net, int i, float *dst);
int fer_net_param_write(fer_net *net, int i, const float *src);
int fer_net_grad_read(fer_net *net, int i, float *dst);
/* All parameters and buffers one after another in creation order (the
 * packed layout snapshots and checkpoints use): the floats, and copies. */
size_t fer_net_param_floats(const fer_net *net);
int fer_net_params_read(fer_net *net, float *dst);
int fer_net_params_write(fer_net *net, const float *src);
/* Number of learnable scalars. */
size_t fer_net_count_weights(const fer_net *net);
/* Forward FLOPs per image (2 per multiply-add of conv and dense). */
double fer_net_flops(const fer_net *net);

/* Initialises weights: He-normal (fan-in, ReLU gain) for convolutions and
 * dense layers when xavier is 0, Xavier-uniform otherwise; biases 0, batch
 * norm gamma 1, beta 0, running mean 0, var 1. */
int fer_net_init_weights(fer_net *net, fer_rng *rng, int xavier);

/* Freezes (trainable = 0) every parameter whose name starts with prefix
 * followed by '.'; returns how many were frozen. */
int fer_net_freeze(fer_net *net, const char *prefix);

#endif
