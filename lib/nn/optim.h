/* optim.h: optimisers with PyTorch's update rules, so that one step from
 * the same weights and gradients gives the same new weights.
 *
 *   SGD:   g' = g + wd*w; v = mu*v + g' (v = g' on the first step);
 *          w -= lr * (nesterov ? g' + mu*v : v)
 *   Adam:  g' = g + wd*w; m = b1 m + (1-b1) g'; v = b2 v + (1-b2) g'^2;
 *          w -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
 *   AdamW: w *= 1 - lr*wd; then Adam with g' = g.
 * Weight decay applies to every trainable parameter (PyTorch's default)
 * unless decay_weights_only is set. */
#ifndef FER_OPTIM_H
#define FER_OPTIM_H

#include "modelfile.h"
#include "net.h"

enum fer_optim_kind { FER_SGD, FER_ADAM, FER_ADAMW };

typedef struct fer_optim_opts {
    int kind;
    double lr;
    double momentum;        /* SGD */
    int nesterov;           /* SGD */
    double beta1, beta2, eps; /* Adam, AdamW */
    double weight_decay;
    int decay_weights_only; /* skip biases and batch-norm parameters */
    double clip_norm;       /* global gradient-norm clip, 0 = none */
} fer_optim_opts;

typedef struct fer_optim fer_optim;

/* Defaults: lr 1e-3, momentum 0.9, betas 0.9/0.999, eps 1e-8, no decay. */
void fer_optim_defaults(fer_optim_opts *o, int kind);
/* "sgd", "adam", "adamw" -> kind, or -1. */
int fer_optim_parse(const char *name);
const char *fer_optim_name(int kind);

/* State (moments) for every trainable parameter of net. NULL on OOM. */
fer_optim *fer_optim_new(fer_net *net, const fer_optim_opts *o);
void fer_optim_free(fer_optim *opt);

/* Multiplies the learning rate of every parameter whose name does not
 * start with one of the comma-separated prefixes in head (e.g. "fc") by
 * scale: a separate rate for a pretrained backbone. Returns how many
 * parameters got the scale. */
int fer_optim_scale_backbone(fer_optim *opt, const char *head, double scale);

/* One update of every trainable parameter from its g, at learning rate lr
 * (the schedule's current value), queued on the backend: clipping works
 * out the norm there too, so nothing comes back to the host and a backend
 * graph may record the step. */
void fer_optim_step(fer_optim *opt, double lr);

/* The gradient norm before clipping of the last step when clip_norm is
 * set, else 0 (not computed); read back from the backend (it waits). */
double fer_optim_norm(const fer_optim *opt);

/* The steps taken (Adam's t), read and set back: a walk of a step's ops
 * that did not run (a graph's recording that did not take) is undone. */
long fer_optim_steps(const fer_optim *opt);
void fer_optim_set_steps(fer_optim *opt, long t);

/* The state as records for checkpoints: "optim" (u8 (0), meta kind= and
 * t=), then "optim.<param>.m" (and ".v" for Adam and AdamW), f32 (n), for
 * every parameter with a gradient. */
int fer_optim_write(const fer_optim *opt, FILE *f);

/* And back, from a checkpoint being read (modelfile.h, its net bound to
 * opt's): each record of kind FER_MF_OPTIM, FER_MF_OPTIM_M or
 * FER_MF_OPTIM_V in turn, then fer_optim_read_end once the file has
 * ended. A checkpoint of another optimiser, a moment opt does not keep
 * or one missing: -1 with a message naming the file. */
int fer_optim_read(fer_optim *opt, const fer_modelfile *mf, const fer_modelfile_item *it);
int fer_optim_read_end(const fer_optim *opt, const fer_modelfile *mf);

#endif
