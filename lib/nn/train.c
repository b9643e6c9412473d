/* train.c: epochs of mini-batch training with validation, schedules,
 * best-weight keeping, checkpoints. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "augment.h"
#include "error.h"
#include "metrics.h"
#include "modelfile.h"
#include "net_blocks.h"
#include "outfile.h"
#include "predict.h"
#include "record.h"
#include "rng.h"
#include "train.h"
#include "train_step.h"

void fer_train_defaults(fer_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->epochs = 30;
    o->batch = 128;
    fer_optim_defaults(&o->optim, FER_ADAM);
    o->head = "fc";
    o->step_size = 10;
    o->gamma = 0.1;
    o->patience = 3;
    o->seed = 1;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* The parameters as a flat copy (fer_net_params_read's layout), for
 * keeping the best weights; into buf, or a new buffer when it is NULL. */
static float *snapshot(fer_net *net, float *buf)
{
    float *b = buf ? buf : malloc(fer_net_param_floats(net) * sizeof(float));
    if (!b)
        return NULL;
    if (fer_net_params_read(net, b)) {
        if (!buf)
            free(b);
        return NULL;
    }
    return b;
}

/* A copy of the net's weight block on its backend (the weight average,
 * the live weights while the average is in); NULL when out of memory. */
static float *block_copy(fer_net *net)
{
    const fer_backend *be = fer_net_backend(net);
    size_t bytes = fer_net_block_floats(net) * sizeof(float);
    float *b = be->alloc(bytes);
    if (b)
        be->copy(b, fer_net_weight_block(net), bytes);
    return b;
}

static int log_error(const fer_train_opts *o)
{
    return fer_seterr("%s: write error: %s", o->log_name ? o->log_name : "log", strerror(errno));
}

/* The name of a parameter that holds a NaN or an infinity, or NULL; all
 * the weights come to the host in flat (snapshot's layout). */
static const char *nonfinite_param(fer_net *net, const float *flat)
{
    for (int i = 0; i < fer_net_nparams(net); i++) {
        const fer_param *p = fer_net_param(net, i);
        for (size_t j = 0; j < p->n; j++)
            if (!isfinite(flat[j]))
                return p->name;
        flat += p->n;
    }
    return NULL;
}

/* Where training stands at an epoch's start, beside the weights and the
 * optimiser: all a resumed run needs to go on as if never stopped. */
typedef struct train_state {
    int epoch, best_epoch;
    double best_acc, lr;
    double plateau_best;        /* plateau schedule: best accuracy so far */
    int plateau_wait;           /* and epochs since it improved */
    fer_rng rng;
    int64_t *order;             /* (n) the image order; each epoch shuffles it further */
    size_t n;
    float *ema;                 /* the weight average (as snapshot lays it out), or NULL */
    long ema_t;                 /* updates it has had */
    double seconds;             /* training time so far, over every run resumed */
} train_state;

/* Writes the flat buffer buf (as snapshot lays it out) as one record per
 * parameter, "<prefix>.<name>". */
static int write_flat(fer_net *net, const char *prefix, const float *buf, FILE *f)
{
    size_t off = 0;
    for (int i = 0; i < fer_net_nparams(net); i++) {
        const fer_param *p = fer_net_param(net, i);
        fer_record r;
        char name[128];
        uint64_t n = p->n;
        snprintf(name, sizeof name, "%s.%s", prefix, p->name);
        fer_record_init(&r, name, FER_F32, 1, &n, buf + off, NULL);
        if (fer_record_write(f, &r))
            return -1;
        off += p->n;
    }
    return 0;
}

/* Where parameter i starts in a flat buffer (as snapshot lays it out). */
static size_t flat_offset(fer_net *net, int i)
{
    size_t off = 0;
    for (int j = 0; j < i; j++)
        off += fer_net_param(net, j)->n;
    return off;
}

/* A checkpoint: the model with its current weights, then the optimiser
 * state, where training stood ("trainstate", with the image order as its
 * i64 payload), the best weights ("best.<name>") and, with --ema, the
 * weight average ("ema.<name>"). */
static int save_checkpoint(const fer_model *m, const fer_optim *opt, const float *best,
                           const train_state *st, const char *path)
{
    fer_outfile o;
    fer_record r;
    char meta[640];
    uint64_t n = st->n;
    size_t off = 0;
    int k;
    if (fer_outfile_open(&o, path))
        return -1;
    if (fer_model_write(m, o.f) || fer_optim_write(opt, o.f))
        goto fail;
    k = snprintf(meta, sizeof meta,
                 "epoch=%d\nbest_epoch=%d\nbest_val_acc=%.17g\nlr=%.17g\n"
                 "rng=%llu,%llu,%llu,%llu\nplateau_best=%.17g\nplateau_wait=%d\n"
                 "seconds=%.3f\n",
                 st->epoch, st->best_epoch, st->best_acc, st->lr,
                 (unsigned long long)st->rng.s[0], (unsigned long long)st->rng.s[1],
                 (unsigned long long)st->rng.s[2], (unsigned long long)st->rng.s[3],
                 st->plateau_best, st->plateau_wait, st->seconds);
    if (st->ema)
        snprintf(meta + k, sizeof meta - k, "ema_steps=%ld\n", st->ema_t);
    fer_record_init(&r, "trainstate", FER_I64, 1, &n, st->order, meta);
    if (fer_record_write(o.f, &r))
        goto fail;
    for (int i = 0; best && i < fer_net_nparams(m->net); i++) {
        const fer_param *p = fer_net_param(m->net, i);
        char name[128];
        uint64_t n = p->n;
        snprintf(name, sizeof name, "best.%s", p->name);
        fer_record_init(&r, name, FER_F32, 1, &n, best + off, NULL);
        if (fer_record_write(o.f, &r))
            goto fail;
        off += p->n;
    }
    if (st->ema && write_flat(m->net, "ema", st->ema, o.f))
        goto fail;
    return fer_outfile_commit(&o);
fail:
    fer_outfile_abort(&o);
    return fer_error_prefix("%s", path);
}

/* A checkpoint's "trainstate" record into st. */
static int restore_state(train_state *st, const fer_modelfile_state *s, const char *file)
{
    if (s->norder && s->norder != st->n)
        return fer_seterr("%s: checkpoint of %llu training images, training %zu (other data or "
                          "options?)", file, (unsigned long long)s->norder, st->n);
    st->epoch = s->epoch;
    st->best_epoch = s->best_epoch;
    st->best_acc = s->best_val_acc;
    st->lr = s->lr;
    st->plateau_best = s->plateau_best;
    st->plateau_wait = s->plateau_wait;
    if (s->ema_steps >= 0)
        st->ema_t = s->ema_steps;
    st->seconds = s->seconds;
    for (int i = 0; i < 4; i++)
        st->rng.s[i] = s->rng[i];
    /* an older checkpoint has no order and resumes from the first one */
    if (s->norder)
        memcpy(st->order, s->order, st->n * sizeof *st->order);
    return 0;
}

/* Restores all a checkpoint holds, reading it once (modelfile.h): m's
 * weights, input normalisation and batch-norm settings, the optimiser,
 * where training stood, the best weights and the average. On failure m's
 * weights are partly the file's. */
static int load_checkpoint(fer_model *m, fer_optim *opt, float *best, train_state *st,
                           const char *path)
{
    fer_modelfile *mf = fer_modelfile_open(path);
    const fer_modelfile_meta *mm;
    const fer_model_opts *a, *b = &m->opts;
    fer_modelfile_item it;
    const char *file;
    int k, ema_found = 0, rc = -1;
    if (!mf)
        return -1;
    mm = fer_modelfile_model(mf);
    a = &mm->opts;
    file = fer_modelfile_name(mf);
    if (strcmp(mm->arch, m->arch))
        fer_seterr("%s: checkpoint is a %s model, training a %s", file, mm->arch, m->arch);
    else if (a->stages != b->stages)
        fer_seterr("%s: checkpoint is a %s of %d stages, training %d", file, mm->arch, a->stages,
                   b->stages);
    else if (a->width != b->width)
        fer_seterr("%s: checkpoint is a %s of width %g, training %g", file, mm->arch, a->width,
                   b->width);
    else if (a->nclasses != b->nclasses)
        fer_seterr("%s: checkpoint has %d classes, training %d", file, a->nclasses,
                   b->nclasses);
    else if (a->c != b->c || a->h != b->h || a->w != b->w)
        fer_seterr("%s: checkpoint takes %dx%dx%d images, training %dx%dx%d", file, a->c, a->h,
                   a->w, b->c, b->h, b->w);
    else if (!fer_modelfile_bind(mf, m->net, FER_MF_EXACT))
        rc = 0;
    if (rc)
        goto out;
    rc = -1;
    m->mean = mm->mean;
    m->std = mm->std;
    m->opts.bn_eps = a->bn_eps;
    m->opts.bn_momentum = a->bn_momentum;
    fer_net_set_bn(m->net, (float)a->bn_eps, (float)a->bn_momentum);
    while ((k = fer_modelfile_next(mf, &it)) == 1) {
        const fer_param *p = it.param >= 0 ? fer_net_param(m->net, it.param) : NULL;
        switch (it.kind) {
        case FER_MF_OPTIM:
        case FER_MF_OPTIM_M:
        case FER_MF_OPTIM_V:
            if (fer_optim_read(opt, mf, &it))
                goto out;
            break;
        case FER_MF_STATE:
            if (restore_state(st, it.state, file))
                goto out;
            break;
        case FER_MF_BEST:
            if (best)
                memcpy(best + flat_offset(m->net, it.param), it.values, p->n * sizeof(float));
            break;
        case FER_MF_EMA:
            ema_found = 1;
            if (st->ema)
                memcpy(st->ema + flat_offset(m->net, it.param), it.values,
                       p->n * sizeof(float));
            break;
        }
    }
    if (k < 0)
        goto out;
    if (!fer_modelfile_seen(mf, FER_MF_STATE, -1))
        fer_seterr("%s: not a checkpoint (no trainstate record)", file);
    else if (st->ema && !ema_found)
        fer_seterr("%s: checkpoint of a run without --ema", file);
    else if (!st->ema && ema_found)
        fer_seterr("%s: checkpoint of a run with --ema", file);
    else if (!fer_optim_read_end(opt, mf))
        rc = 0;
out:
    fer_modelfile_close(mf);
    return rc;
}

int fer_train(fer_model *m, const fer_dataset *train, const fer_dataset *val,
              const fer_train_opts *o, fer_train_result *res)
{
    fer_step_graph sg = {0};
    int k = m->nclasses, c, h, w, B = o->batch, epoch = 0, best_epoch = 0, rc = -1;
    size_t img, n = train->n;
    float *probs = NULL, *best = NULL, cw[FER_CLASSES_MAX];
    /* the weight average on the backend, the weights while it is in, and
     * the average packed for checkpoints */
    float *ema_dev = NULL, *live = NULL, *ema = NULL, *flat = NULL;
    long ema_t = 0;
    /* the training set's pixels on the backend, uploaded once; each
     * batch's transforms, drawn on the host and built there */
    uint8_t *data = NULL;
    fer_augment_params *par = NULL;
    float in_scale, in_shift;
    int32_t *by = NULL;
    int64_t *order = NULL;
    fer_optim *opt = NULL;
    fer_rng rng;
    double lr = o->optim.lr, best_acc = -1, t_start = now(), plateau_best = -1;
    int plateau_wait = 0, have_val = val && val->n > 0;
    train_state st;
    fer_augment_opts aug;

    memset(res, 0, sizeof *res);
    fer_net_input_shape(m->net, &c, &h, &w);
    if (train->c != c || train->h != h || train->w != w)
        return fer_seterr("training images are %dx%dx%d, the model takes %dx%dx%d", train->c,
                          train->h, train->w, c, h, w);
    if (have_val && (val->c != c || val->h != h || val->w != w))
        return fer_seterr("validation images are %dx%dx%d, the model takes %dx%dx%d", val->c,
                          val->h, val->w, c, h, w);
    if (n == 0)
        return fer_seterr("no training images");
    for (size_t i = 0; i < n; i++)
        if (train->labels[i] < 0 || train->labels[i] >= k)
            return fer_seterr("training image %zu has label %d, outside 0..%d", i,
                              (int)train->labels[i], k - 1);
    if (B < 1)
        return fer_seterr("batch size %d", B);
    if ((size_t)B > n)
        B = (int)n;
    if (B < fer_net_min_train_batch(m->net))
        return fer_seterr("%zu training image%s: batch norm needs at least 2 images per batch", n,
                          n == 1 ? "" : "s");
    img = (size_t)c * h * w;
    fer_rng_seed(&rng, o->seed);
    /* the random transforms; with only mirror, shift and rotate on they
     * draw what this loop has always drawn */
    memset(&aug, 0, sizeof aug);
    aug.flip = o->mirror;
    aug.shift = o->shift;
    aug.rot_lo = -o->rotate;
    aug.rot_hi = o->rotate;
    aug.scale_lo = o->scale_lo;
    aug.scale_hi = o->scale_hi;
    aug.crop = o->crop;
    aug.brightness = o->brightness;
    aug.contrast = o->contrast;
    aug.erase = o->erase;
    fer_model_input_scale(m, &in_scale, &in_shift);
    probs = malloc((size_t)B * k * sizeof *probs);
    par = malloc((size_t)B * sizeof *par);
    by = malloc((size_t)B * sizeof *by);
    order = malloc(n * sizeof *order);
    best = snapshot(m->net, NULL);
    flat = malloc(fer_net_param_floats(m->net) * sizeof *flat);
    if (o->ema > 0 && (!(ema = snapshot(m->net, NULL)) || !(ema_dev = block_copy(m->net)) ||
                       !(live = block_copy(m->net)))) {
        fer_seterr("out of memory");
        goto out;
    }
    opt = fer_optim_new(m->net, &o->optim);
    if (!probs || !flat || !par || !by || !order || !best || !opt) {
        fer_seterr("out of memory");
        goto out;
    }
    if (!(data = fer_net_backend(m->net)->alloc(n * img))) {
        fer_seterr("out of memory for the %zu training images on the %s backend", n,
                   fer_net_backend(m->net)->name);
        goto out;
    }
    fer_net_backend(m->net)->upload(data, train->pixels, n * img);
    if (o->lr_backbone > 0 && o->optim.lr > 0)
        fer_optim_scale_backbone(opt, o->head ? o->head : "fc", o->lr_backbone / o->optim.lr);
    /* class weights: n / (k * count), as scikit-learn's "balanced" */
    {
        long count[FER_CLASSES_MAX] = {0};
        for (size_t i = 0; i < n; i++)
            count[train->labels[i]]++;
        for (int j = 0; j < k; j++)
            cw[j] = count[j] ? (float)((double)n / ((double)k * count[j])) : 0;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = (int64_t)i;
    if (o->resume) {
        st = (train_state){epoch, best_epoch, best_acc, lr, plateau_best, plateau_wait, rng,
                           order, n, ema, ema_t, 0};
        if (load_checkpoint(m, opt, best, &st, o->resume))
            goto out;
        if (ema)
            fer_net_block_unpack(m->net, ema, ema_dev);
        ema_t = st.ema_t;
        epoch = st.epoch;
        best_epoch = st.best_epoch;
        best_acc = st.best_acc;
        lr = st.lr;
        plateau_best = st.plateau_best;
        plateau_wait = st.plateau_wait;
        rng = st.rng;
        t_start -= st.seconds;   /* train.seconds counts the runs before too */
    }
    if (o->log && epoch == 0 &&
        (fprintf(o->log, "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n") < 0 ||
         fflush(o->log))) {
        log_error(o);
        goto out;
    }

    while (epoch < o->epochs) {
        double t0 = now(), sum_loss = 0, vloss = 0, vacc = 0, tacc, lr_step = lr;
        const size_t steps = n / B;   /* full batches an epoch */
        const char *bad;
        long right = 0;
        size_t done = 0;
        /* The checkpoint holds the state at an epoch's start, so that an
         * interrupted epoch is redone exactly on --resume. */
        st = (train_state){epoch, best_epoch, best_acc, lr, plateau_best, plateau_wait, rng,
                           order, n, ema, ema_t, now() - t_start};
        if (o->checkpoint && ema)
            fer_net_block_pack(m->net, ema_dev, ema);
        if (o->checkpoint && save_checkpoint(m, opt, best, &st, o->checkpoint))
            goto out;
        if (o->stop_after > 0 && epoch >= o->stop_after) {
            res->paused = 1;   /* the checkpoint just written goes on from here */
            break;
        }
        if (o->schedule == FER_SCHED_COSINE)
            lr = o->optim.lr * 0.5 * (1 + cos(M_PI * epoch / o->epochs));
        fer_rng_shuffle(&rng, order, n, sizeof *order);
        if (fer_net_plan(m->net, B))
            goto out;
        for (size_t s = 0; s + B <= n; s += B) {
            /* full batches only (B <= n; batch norm wants more than one
             * image); the remainder is reshuffled into the next epoch */
            int b = (int)(n - s < (size_t)B ? n - s : (size_t)B);
            /* the step's draws are keyed by (seed, step, ...), not taken
             * from a stream: augmentation image by image (fer_augment_rng),
             * dropout element by element (fer_net_forward) */
            const uint64_t step = (uint64_t)epoch * steps + s / B;
            double loss;
            for (int j = 0; j < b; j++) {
                size_t id = (size_t)order[s + j];
                fer_rng draw;
                fer_augment_rng(&draw, o->seed, step, (uint64_t)j);
                by[j] = train->labels[id];
                fer_augment_draw(&aug, c, h, w, &draw, &par[j]);
            }
            lr_step = lr;
            if (o->warmup > 0) {
                double g = (double)epoch * steps + s / B + 1, span = (double)o->warmup * steps;
                if (g < span)
                    lr_step = lr * (g / span);
            }
            /* the batch is gathered, transformed and preprocessed where
             * the net runs, straight into its input; the whole step is
             * queued (a graph where the backend has them), then the loss
             * and probabilities come back */
            const fer_step sa = {m->net, opt, b, c, h, w, data, order + s, par, in_scale,
                                  in_shift, by, o->balanced ? cw : NULL,
                                  (float)o->label_smoothing, o->seed, step, lr_step,
                                  ema ? ema_dev : NULL, o->ema, &ema_t};
            fer_step_run(&sg, !o->no_graph, &sa);
            if (fer_net_step_result(m->net, b, &loss, probs))
                goto out;
            if (!isfinite(loss)) {
                /* diverged: nothing after this is worth keeping */
                fer_seterr("epoch %d, batch %zu: the loss is %g; training diverged (a lower "
                           "learning rate?)", epoch + 1, s / B + 1, loss);
                goto out;
            }
            sum_loss += loss * b;
            for (int j = 0; j < b; j++)
                right += fer_metrics_argmax(probs + j * k, k) == by[j];
            done += b;
            if (o->report) {
                fer_train_report r = {.epoch = epoch + 1, .epochs = o->epochs, .done = done,
                                      .total = n - n % B,
                                      .after = (size_t)(o->epochs - epoch - 1) * (n - n % B),
                                      .loss = sum_loss / done, .acc = (double)right / done,
                                      .lr = lr_step};
                o->report(o->report_ctx, &r);
            }
            if (o->stop && *o->stop)
                break;
        }
        if (o->stop && *o->stop) {
            /* the interrupted epoch does not count; the checkpoint of its
             * start is on disk */
            res->stopped = 1;
            break;
        }
        epoch++;
        if (fer_net_params_read(m->net, flat))
            goto out;
        if ((bad = nonfinite_param(m->net, flat))) {
            fer_seterr("epoch %d: %s holds a non-finite weight; training diverged (a lower "
                       "learning rate?)", epoch, bad);
            goto out;
        }
        tacc = (double)right / done;
        if (ema) {   /* validation and the best weights are the average's */
            const fer_backend *be = fer_net_backend(m->net);
            size_t bytes = fer_net_block_floats(m->net) * sizeof(float);
            be->copy(live, fer_net_weight_block(m->net), bytes);
            be->copy(fer_net_weight_block(m->net), ema_dev, bytes);
        }
        if (have_val && fer_predict_evaluate(m, val, B, &vloss, &vacc))
            goto out;
        if (!have_val || vacc > best_acc) {   /* without validation: the last */
            best_acc = vacc;
            best_epoch = epoch;
            if (!snapshot(m->net, best))
                goto out;
        }
        if (ema)
            fer_net_backend(m->net)->copy(fer_net_weight_block(m->net), live,
                                          fer_net_block_floats(m->net) * sizeof(float));
        res->last_train_loss = sum_loss / done;
        res->last_train_acc = tacc;
        res->last_val_loss = vloss;
        res->last_val_acc = have_val ? vacc : -1;
        if (o->log && (fprintf(o->log, "%d,%.6f,%.6f,%s%.6f,%s%.6f,%.6g,%.2f\n", epoch,
                               sum_loss / done, tacc, "", have_val ? vloss : NAN, "",
                               have_val ? vacc : NAN, lr_step, now() - t0) < 0 ||
                       fflush(o->log))) {
            log_error(o);
            goto out;
        }
        if (o->report) {
            fer_train_report r = {.epoch = epoch, .epochs = o->epochs, .end = 1, .done = done,
                                  .total = n - n % B,
                                  .after = (size_t)(o->epochs - epoch) * (n - n % B),
                                  .loss = sum_loss / done, .acc = tacc, .have_val = have_val,
                                  .val_loss = vloss, .val_acc = vacc, .lr = lr_step,
                                  .seconds = now() - t0};
            o->report(o->report_ctx, &r);
        }
        if (o->schedule == FER_SCHED_STEP && o->step_size > 0 && epoch % o->step_size == 0)
            lr *= o->gamma;
        if (o->schedule == FER_SCHED_PLATEAU) {
            if (vacc > plateau_best) {
                plateau_best = vacc;
                plateau_wait = 0;
            } else if (++plateau_wait > o->patience) {
                lr *= o->gamma;
                plateau_wait = 0;
            }
        }
    }
    if (fer_net_params_write(m->net, best))
        goto out;
    res->epochs_run = epoch;
    res->best_epoch = best_epoch;
    res->best_val_acc = have_val ? best_acc : -1;
    res->seconds = now() - t_start;
    rc = res->stopped ? 1 : 0;
out:
    res->graph_steps = sg.replays;
    fer_step_graph_free(&sg, fer_net_backend(m->net));
    free(probs);
    free(flat);
    free(par);
    if (data)
        fer_net_backend(m->net)->free(data);
    free(by);
    free(order);
    free(best);
    free(ema);
    if (ema_dev)
        fer_net_backend(m->net)->free(ema_dev);
    if (live)
        fer_net_backend(m->net)->free(live);
    fer_optim_free(opt);
    return rc;
}
