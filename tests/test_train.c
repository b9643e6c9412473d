/* test_train: the training loop's weight average (--ema) against the
 * average computed here from the weights of shorter runs, its checkpoint
 * (exact resume), stopping after an epoch to resume later (--stop-after),
 * the learning-rate warmup, and checkpoints of another depth refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "net_test.h"
#include "error.h"
#include "model.h"
#include "predict.h"
#include "threads.h"
#include "train.h"

static char *tmpname(char *buf, size_t n, const char *tag)
{
    snprintf(buf, n, "/tmp/fer-test-train-%ld-%s", (long)getpid(), tag);
    return buf;
}

/* n 16x16 images of 3 classes: noise with a bright square whose place
 * gives the class. */
static void synthetic(fer_dataset *d, int n)
{
    uint8_t px[256];
    fer_dataset_init(d, 1, 16, 16);
    for (int i = 0; i < n; i++) {
        int c = i % 3;
        for (int j = 0; j < 256; j++)
            px[j] = (uint8_t)(check_uniform() * 120);
        for (int r = 0; r < 5; r++)
            for (int s = 0; s < 5; s++)
                px[(2 + 4 * c + r) * 16 + 2 + 4 * c + s] = (uint8_t)(180 + check_uniform() * 75);
        fer_dataset_push(d, px, c, FER_TRAINING);
    }
    d->nclasses = 3;
}

static int small_cnn(fer_model *m, int stages, uint64_t seed)
{
    fer_model_opts o;
    fer_rng rng;
    fer_model_defaults("cnn", &o);
    o.width = 0.0625;
    o.stages = stages;
    o.nclasses = 3;
    o.h = o.w = 16;
    fer_rng_seed(&rng, seed);
    return fer_model_build(m, "cnn", &o, &rng);
}

static void base_opts(fer_train_opts *o)
{
    fer_train_defaults(o);
    o->batch = 8;
    o->mirror = 1;
    o->seed = 5;
    o->optim.kind = FER_SGD;
    o->optim.lr = 0.05;
    o->optim.nesterov = 1;
}

/* All parameters and buffers of m, one after the other (malloc'd). */
static double *weights(fer_model *m, size_t *n)
{
    size_t total = 0, k = 0;
    double *w;
    for (int i = 0; i < fer_net_nparams(m->net); i++)
        total += fer_net_param(m->net, i)->n;
    w = malloc(total * sizeof *w);
    for (int i = 0; i < fer_net_nparams(m->net); i++) {
        const fer_param *p = fer_net_param(m->net, i);
        for (size_t j = 0; j < p->n; j++)
            w[k++] = param_w(m->net, i)[j];
    }
    *n = total;
    return w;
}

static int same_weights(fer_model *a, fer_model *b)
{
    for (int i = 0; i < fer_net_nparams(a->net); i++) {
        if (memcmp(param_w(a->net, i), param_w(b->net, i),
                   fer_net_param(a->net, i)->n * sizeof(float)))
            return 0;
    }
    return 1;
}

/* With one batch an epoch, the run of T epochs passes through the weights
 * of the runs of 0..T-1 epochs (same seed, one thread). The average of a
 * run with --ema, without validation (the last average), must be
 * a_0 = w_0, a_t = a_(t-1) + (1 - d_t)(w_t - a_(t-1)), d_t = min(decay,
 * t / (9 + t)) (update t - 1 in train.h's count), over every parameter and
 * batch-norm buffer; computed here in double. Decay 0.2 meets the warmup
 * for the first two updates and the decay after. */
static void test_ema_average(void)
{
    enum { T = 5 };
    const double decay = 0.2;
    fer_dataset d;
    fer_model m;
    fer_train_opts o;
    fer_train_result r;
    double *a = NULL, *w;
    size_t n = 0;
    int old = fer_threads_get();
    synthetic(&d, 24);
    base_opts(&o);
    o.batch = 24;
    CHECK(fer_threads_set(1) == 0, "threads: %s", fer_error());
    for (int t = 0; t <= T; t++) {
        CHECK(small_cnn(&m, 3, 8) == 0, "build: %s", fer_error());
        if (t > 0) {
            o.epochs = t;
            CHECK(fer_train(&m, &d, NULL, &o, &r) == 0, "train: %s", fer_error());
        }
        w = weights(&m, &n);
        if (t == 0) {
            a = w;
        } else {
            double dt = (double)t / (9 + t) < decay ? (double)t / (9 + t) : decay;
            for (size_t j = 0; j < n; j++)
                a[j] += (1 - dt) * (w[j] - a[j]);
            free(w);
        }
        fer_model_free(&m);
    }
    o.epochs = T;
    o.ema = decay;
    CHECK(small_cnn(&m, 3, 8) == 0, "build: %s", fer_error());
    CHECK(fer_train(&m, &d, NULL, &o, &r) == 0, "train: %s", fer_error());
    w = weights(&m, &n);
    {
        size_t bad = 0, first = 0;
        for (size_t j = 0; j < n; j++)
            if (!(fabs(w[j] - a[j]) <= 1e-6 + 1e-5 * fabs(a[j])) && !bad++)
                first = j;
        CHECK(!bad, "%zu of %zu values differ from the average, first [%zu] %.9g, want %.9g",
              bad, n, first, w[first], a[first]);
    }
    /* and they are not the last weights */
    {
        fer_model plain;
        CHECK(small_cnn(&plain, 3, 8) == 0, "build: %s", fer_error());
        o.ema = 0;
        CHECK(fer_train(&plain, &d, NULL, &o, &r) == 0, "train: %s", fer_error());
        CHECK(!same_weights(&m, &plain), "the average is the last weights");
        fer_model_free(&plain);
    }
    fer_threads_set(old);
    free(w);
    free(a);
    fer_model_free(&m);
    fer_dataset_free(&d);
}

/* Validation scores the average: the last epoch's validation loss is the
 * loss of the weights the run ends with, when that epoch is the best. */
static void test_ema_validates_average(void)
{
    fer_dataset d, v;
    fer_model m;
    fer_train_opts o;
    fer_train_result r;
    double loss, acc;
    synthetic(&d, 40);
    synthetic(&v, 12);
    base_opts(&o);
    o.epochs = 3;
    o.ema = 0.9;
    CHECK(small_cnn(&m, 3, 2) == 0, "build: %s", fer_error());
    CHECK(fer_train(&m, &d, &v, &o, &r) == 0, "train: %s", fer_error());
    CHECK(fer_predict_evaluate(&m, &v, o.batch, &loss, &acc) == 0, "evaluate: %s", fer_error());
    CHECK_CLOSE(acc, r.best_val_acc, 1e-12, 0);
    if (r.best_epoch == r.epochs_run)
        CHECK_CLOSE(loss, r.last_val_loss, 1e-9, 1e-9);
    fer_model_free(&m);
    fer_dataset_free(&d);
    fer_dataset_free(&v);
}

/* Monotonic seconds, as fer_train times itself. */
static double wall(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* The checkpoint holds the average: a run resumed from the start of its
 * last epoch ends as the whole run did, bit for bit; so does a run that
 * stopped after epoch 2 (stop_after, res.paused, the checkpoint kept) and
 * was resumed. Without validation, so that the last average is compared
 * and not an early best. A checkpoint with an average is refused without
 * ema, and one without it with. */
static void test_ema_resume_exact(void)
{
    fer_dataset d;
    fer_model whole, part, more;
    fer_train_opts o;
    fer_train_result r;
    char ck[256], ck2[256], ck3[256];
    int old = fer_threads_get();
    synthetic(&d, 40);          /* 40 = 5 * 8 */
    tmpname(ck, sizeof ck, "ema.ckpt");
    tmpname(ck2, sizeof ck2, "ema2.ckpt");
    tmpname(ck3, sizeof ck3, "ema3.ckpt");
    base_opts(&o);
    o.batch = 6;                /* and a remainder */
    o.epochs = 5;
    o.ema = 0.8;
    o.warmup = 2;
    o.schedule = FER_SCHED_COSINE;
    o.erase = 0.5;
    CHECK(fer_threads_set(1) == 0, "threads: %s", fer_error());
    o.checkpoint = ck;
    CHECK(small_cnn(&whole, 3, 6) == 0, "build: %s", fer_error());
    CHECK(fer_train(&whole, &d, NULL, &o, &r) == 0, "train: %s", fer_error());
    /* from the start of epoch 5 */
    o.checkpoint = ck2;
    o.resume = ck;
    CHECK(small_cnn(&more, 3, 99) == 0, "build: %s", fer_error());
    CHECK(fer_train(&more, &d, NULL, &o, &r) == 0, "resume: %s", fer_error());
    CHECK(r.epochs_run == 5, "epochs %d", r.epochs_run);
    CHECK(same_weights(&whole, &more), "resumed at epoch 5: the weights differ");
    fer_model_free(&more);
    /* 2 epochs, stopped, then resumed to the end */
    o.resume = NULL;
    o.checkpoint = ck3;
    o.stop_after = 2;
    CHECK(small_cnn(&part, 3, 6) == 0, "build: %s", fer_error());
    CHECK(fer_train(&part, &d, NULL, &o, &r) == 0, "train: %s", fer_error());
    CHECK(r.paused && !r.stopped && r.epochs_run == 2, "paused %d stopped %d epochs %d",
          r.paused, r.stopped, r.epochs_run);
    CHECK(access(ck3, R_OK) == 0, "no checkpoint after stop_after");
    fer_model_free(&part);
    double first = r.seconds, own = wall();
    o.stop_after = 0;
    o.resume = ck3;
    o.checkpoint = ck2;
    CHECK(small_cnn(&more, 3, 99) == 0, "build: %s", fer_error());
    CHECK(fer_train(&more, &d, NULL, &o, &r) == 0, "resume: %s", fer_error());
    own = wall() - own;
    CHECK(r.epochs_run == 5 && !r.paused, "epochs %d paused %d", r.epochs_run, r.paused);
    /* the time reported counts the stopped run's too (the checkpoint
     * carries it): more than this run's own wall time by most of it */
    CHECK(first > 0 && r.seconds - own >= 0.5 * first, "seconds %g: own %g, before %g",
          r.seconds, own, first);
    CHECK(same_weights(&whole, &more), "stopped after 2 and resumed: the weights differ");
    fer_model_free(&more);
    /* ema on one side only */
    o.ema = 0;
    CHECK(small_cnn(&more, 3, 99) == 0, "build: %s", fer_error());
    CHECK(fer_train(&more, &d, NULL, &o, &r) == -1, "an ema checkpoint resumed without ema");
    CHECK(strstr(fer_error(), "with --ema"), "message: %s", fer_error());
    fer_model_free(&more);
    o.resume = NULL;
    o.checkpoint = ck3;
    o.epochs = 1;
    CHECK(small_cnn(&more, 3, 99) == 0, "build: %s", fer_error());
    CHECK(fer_train(&more, &d, NULL, &o, &r) == 0, "train: %s", fer_error());
    fer_model_free(&more);
    o.ema = 0.9;
    o.resume = ck3;
    o.checkpoint = ck2;
    CHECK(small_cnn(&more, 3, 99) == 0, "build: %s", fer_error());
    CHECK(fer_train(&more, &d, NULL, &o, &r) == -1, "a plain checkpoint resumed with ema");
    CHECK(strstr(fer_error(), "without --ema"), "message: %s", fer_error());
    fer_model_free(&more);
    /* a checkpoint of another depth */
    o.ema = 0;
    CHECK(small_cnn(&more, 4, 99) == 0, "build: %s", fer_error());
    CHECK(fer_train(&more, &d, NULL, &o, &r) == -1, "a 3-stage checkpoint resumed for 4");
    CHECK(strstr(fer_error(), "checkpoint is a cnn of 3 stages, training 4"), "message: %s",
          fer_error());
    fer_model_free(&more);
    fer_threads_set(old);
    fer_model_free(&whole);
    fer_dataset_free(&d);
    unlink(ck);
    unlink(ck2);
    unlink(ck3);
}

/* Warmup with one batch an epoch: steps at lr / 2 and then lr, the same
 * weights as a step schedule that starts at lr / 2 and doubles each epoch
 * (plain SGD, so the rate is all that differs). */
static void test_warmup(void)
{
    fer_dataset d;
    fer_model a, b;
    fer_train_opts o;
    fer_train_result r;
    int old = fer_threads_get();
    synthetic(&d, 24);
    base_opts(&o);
    o.batch = 24;
    o.epochs = 2;
    o.optim.momentum = 0;
    o.optim.nesterov = 0;
    CHECK(fer_threads_set(1) == 0, "threads: %s", fer_error());
    o.warmup = 2;
    CHECK(small_cnn(&a, 3, 4) == 0, "build: %s", fer_error());
    CHECK(fer_train(&a, &d, NULL, &o, &r) == 0, "train: %s", fer_error());
    o.warmup = 0;
    o.optim.lr /= 2;
    o.schedule = FER_SCHED_STEP;
    o.step_size = 1;
    o.gamma = 2;
    CHECK(small_cnn(&b, 3, 4) == 0, "build: %s", fer_error());
    CHECK(fer_train(&b, &d, NULL, &o, &r) == 0, "train: %s", fer_error());
    CHECK(same_weights(&a, &b), "warmup 2 differs from lr/2 then lr");
    fer_model_free(&b);
    /* and without it, the full rate from the first step differs */
    o.schedule = FER_SCHED_NONE;
    o.optim.lr *= 2;
    CHECK(small_cnn(&b, 3, 4) == 0, "build: %s", fer_error());
    CHECK(fer_train(&b, &d, NULL, &o, &r) == 0, "train: %s", fer_error());
    CHECK(!same_weights(&a, &b), "warmup changed nothing");
    fer_threads_set(old);
    fer_model_free(&a);
    fer_model_free(&b);
    fer_dataset_free(&d);
}

int main(void)
{
    check_seed(1414);
    RUN(test_ema_average);
    RUN(test_ema_validates_average);
    RUN(test_ema_resume_exact);
    RUN(test_warmup);
    return check_done();
}
