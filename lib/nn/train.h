/* train.h: the training loop shared by fer-train and fer-anneal. */
#ifndef FER_TRAIN_H
#define FER_TRAIN_H

#include <signal.h>
#include <stdio.h>

#include "dataset.h"
#include "model.h"
#include "optim.h"

enum fer_schedule { FER_SCHED_NONE, FER_SCHED_STEP, FER_SCHED_COSINE, FER_SCHED_PLATEAU };

/* Where training stands, handed to fer_train_opts.report after every
 * batch and at every epoch's end: the library prints nothing, the tool's
 * callback decides what to show. */
typedef struct fer_train_report {
    int epoch, epochs;          /* the epoch (from 1) and how many the run has */
    int end;                    /* 0: after a batch; 1: the epoch has ended */
    size_t done, total;         /* this epoch's images so far, and per epoch */
    size_t after;               /* images of the epochs still to come after it */
    double loss, acc;           /* training loss and accuracy over the epoch so far */
    int have_val;               /* end: validation ran */
    double val_loss, val_acc;   /* end, with validation */
    double lr;                  /* the last step's learning rate */
    double seconds;             /* end: the epoch's time */
} fer_train_report;

typedef struct fer_train_opts {
    int epochs;
    int batch;
    fer_optim_opts optim;
    double lr_backbone;         /* > 0: lr for all but head (resnet transfer) */
    const char *head;           /* parameter prefixes of the head, "fc" */
    int schedule;               /* enum fer_schedule */
    int step_size;              /* step: epochs between decays */
    double gamma;               /* step and plateau: factor */
    int patience;               /* plateau: epochs without improvement */
    double label_smoothing;
    int balanced;               /* class weights n / (k * count) */
    int mirror;                 /* random horizontal flips while training */
    int shift;                  /* random translations by up to this many pixels */
    double rotate;              /* random rotations by up to this many degrees */
    /* the later random transforms of augment.h, drawn after the three
     * above and only when on (0 = off), so runs without them repeat */
    double scale_lo, scale_hi;  /* random zoom factor in [lo, hi] */
    int crop;                   /* random (w-2 crop) x (h-2 crop) window, resized back */
    double brightness;          /* random brightness factor in [1-b, 1+b] (not below 0) */
    double contrast;            /* random contrast factor in [1-c, 1+c] (not below 0) */
    double erase;               /* probability of random erasing */
    int warmup;                 /* epochs over which the learning rate ramps up
                                 * linearly, step by step, to the schedule's */
    double ema;                 /* > 0: decay of an average of the weights (below) */
    int stop_after;             /* > 0: end after this many epochs of the schedule
                                 * of `epochs`, leaving the checkpoint (res.paused) */
    unsigned long long seed;
    FILE *log;                  /* per-epoch CSV, or NULL; flushed each epoch, a
                                 * failed write is an error */
    const char *log_name;       /* the log's name in messages */
    volatile sig_atomic_t *stop; /* set (by SIGINT) to stop after this batch */
    const char *checkpoint;     /* written when stopped, and each epoch */
    const char *resume;         /* checkpoint to start from, or NULL */
    void (*report)(void *ctx, const fer_train_report *r); /* or NULL */
    void *report_ctx;
    int no_graph;               /* queue every step op by op even where the
                                 * backend records graphs (tests compare) */
} fer_train_opts;

typedef struct fer_train_result {
    int epochs_run;             /* including resumed ones */
    int best_epoch;
    double best_val_acc;        /* -1 without validation */
    double last_train_loss, last_train_acc, last_val_loss, last_val_acc;
    double seconds;
    int stopped;                /* interrupted */
    int paused;                 /* ended by stop_after before the last epoch */
    long graph_steps;           /* steps replayed from a recorded backend graph */
} fer_train_result;

void fer_train_defaults(fer_train_opts *o);

/* Trains m on train (images must match the model's input), validating on
 * val (may be NULL or empty) after each epoch; m ends with the best
 * weights by validation accuracy (the last without validation). Returns 0,
 * 1 when stopped by *stop (a checkpoint was written), -1 on error; a loss
 * or weight that is NaN or infinite (divergence) is an error, and m's
 * weights are then not to be saved.
 *
 * Warmup: the rate of step g (counted from the first epoch, S full
 * batches an epoch) is the schedule's times min(1, (g + 1) / (warmup S)).
 *
 * With ema > 0 an exponential moving average of every parameter and
 * buffer (batch-norm running statistics too, as timm's ModelEmaV2) follows
 * the weights: after update t (0 for the first), a += (1 - d)(w - a) with
 * d = min(ema, (1 + t) / (10 + t)), a warmup that forgets the initial
 * weights within the first epoch. Validation, the best weights and m's
 * final weights are the average's; the loss and accuracy of training are
 * the weights'. A checkpoint holds the average ("ema.<name>", and its
 * update count) and is refused for a run whose ema is on and its off, or
 * the other way. */
int fer_train(fer_model *m, const fer_dataset *train, const fer_dataset *val,
              const fer_train_opts *o, fer_train_result *res);

#endif
