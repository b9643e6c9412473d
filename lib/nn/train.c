/* train.c: epochs of mini-batch training with validation, schedules,
 * best-weight keeping, checkpoints. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "augment.h"
#include "error.h"
#include "layers.h"
#include "modelfile.h"
#include "outfile.h"
#include "predict.h"
#include "progress.h"
#include "record.h"
#include "rng.h"
#include "train.h"

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

int fer_split_stratified(const fer_dataset *d, double frac, unsigned long long seed,
                         fer_dataset *train, fer_dataset *val)
{
    size_t img = (size_t)d->c * d->h * d->w;
    size_t *idx = malloc((d->n ? d->n : 1) * sizeof *idx);
    char *to_val = calloc(d->n ? d->n : 1, 1);
    fer_rng rng;
    fer_rng_seed(&rng, seed);
    fer_dataset_init(train, d->c, d->h, d->w);
    fer_dataset_init(val, d->c, d->h, d->w);
    if (!idx || !to_val) {
        free(idx);
        free(to_val);
        return fer_seterr("out of memory");
    }
    /* per class (label -1 counts as its own class): shuffle, take frac */
    for (int c = -1; c < d->nclasses; c++) {
        size_t k = 0, take;
        for (size_t i = 0; i < d->n; i++)
            if (d->labels[i] == c)
                idx[k++] = i;
        for (size_t i = k; i > 1; i--) {
            size_t j = fer_rng_below(&rng, i), t = idx[i - 1];
            idx[i - 1] = idx[j];
            idx[j] = t;
        }
        take = (size_t)(frac * k + 0.5);
        for (size_t i = 0; i < take; i++)
            to_val[idx[i]] = 1;
    }
    for (size_t i = 0; i < d->n; i++) {
        fer_dataset *dst = to_val[i] ? val : train;
        if (fer_dataset_push(dst, d->pixels + i * img, d->labels[i], d->usage[i])) {
            free(idx);
            free(to_val);
            fer_dataset_free(train);
            fer_dataset_free(val);
            return -1;
        }
    }
    for (fer_dataset *o = train; o; o = o == train ? val : NULL) {
        o->nclasses = d->nclasses;
        memcpy(o->classes, d->classes, sizeof d->classes);
    }
    free(idx);
    free(to_val);
    return 0;
}

int fer_evaluate(fer_model *m, const fer_dataset *d, int batch, double *loss, double *acc)
{
    int k = m->nclasses;
    float *probs = malloc((d->n ? d->n : 1) * k * sizeof(float));
    double l = 0;
    long right = 0, counted = 0;
    if (!probs)
        return fer_seterr("out of memory");
    if (fer_predict(m, d->pixels, d->n, batch, 0, probs)) {
        free(probs);
        return -1;
    }
    for (size_t i = 0; i < d->n; i++) {
        const float *p = probs + i * k;
        int y = d->labels[i], best = 0;
        if (y < 0 || y >= k)
            continue;
        for (int j = 1; j < k; j++)
            if (p[j] > p[best])
                best = j;
        right += best == y;
        l -= log(p[y] > 1e-12f ? p[y] : 1e-12);
        counted++;
    }
    *loss = counted ? l / counted : 0;
    *acc = counted ? (double)right / counted : 0;
    free(probs);
    return 0;
}

/* The parameters as a flat copy, for keeping the best weights. */
static float *snapshot(fer_net *net, float *buf)
{
    size_t total = 0;
    for (int i = 0; i < fer_net_nparams(net); i++)
        total += fer_net_param(net, i)->n;
    if (!buf && !(buf = malloc(total * sizeof(float))))
        return NULL;
    total = 0;
    for (int i = 0; i < fer_net_nparams(net); i++) {
        fer_param *p = fer_net_param(net, i);
        memcpy(buf + total, p->w, p->n * sizeof(float));
        total += p->n;
    }
    return buf;
}

static void restore(fer_net *net, const float *buf)
{
    size_t total = 0;
    for (int i = 0; i < fer_net_nparams(net); i++) {
        fer_param *p = fer_net_param(net, i);
        memcpy(p->w, buf + total, p->n * sizeof(float));
        total += p->n;
    }
}

static int log_error(const fer_train_opts *o)
{
    return fer_seterr("%s: write error: %s", o->log_name ? o->log_name : "log", strerror(errno));
}

/* The name of a parameter that holds a NaN or an infinity, or NULL. */
static const char *nonfinite_param(fer_net *net)
{
    for (int i = 0; i < fer_net_nparams(net); i++) {
        fer_param *p = fer_net_param(net, i);
        for (size_t j = 0; j < p->n; j++)
            if (!isfinite(p->w[j]))
                return p->name;
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
} train_state;

/* Writes the flat buffer buf (as snapshot lays it out) as one record per
 * parameter, "<prefix>.<name>". */
static int write_flat(fer_net *net, const char *prefix, const float *buf, FILE *f)
{
    size_t off = 0;
    for (int i = 0; i < fer_net_nparams(net); i++) {
        fer_param *p = fer_net_param(net, i);
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
                 "rng=%llu,%llu,%llu,%llu\nplateau_best=%.17g\nplateau_wait=%d\n",
                 st->epoch, st->best_epoch, st->best_acc, st->lr,
                 (unsigned long long)st->rng.s[0], (unsigned long long)st->rng.s[1],
                 (unsigned long long)st->rng.s[2], (unsigned long long)st->rng.s[3],
                 st->plateau_best, st->plateau_wait);
    if (st->ema)
        snprintf(meta + k, sizeof meta - k, "ema_steps=%ld\n", st->ema_t);
    fer_record_init(&r, "trainstate", FER_I64, 1, &n, st->order, meta);
    if (fer_record_write(o.f, &r))
        goto fail;
    for (int i = 0; best && i < fer_net_nparams(m->net); i++) {
        fer_param *p = fer_net_param(m->net, i);
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
        fer_param *p = it.param >= 0 ? fer_net_param(m->net, it.param) : NULL;
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

/* One update of the weight average a (as snapshot lays it out) after
 * update t: a += (1 - d)(w - a), d = min(decay, (1 + t) / (10 + t)); a
 * weight that does not move (frozen) stays exactly what it was. */
static void ema_update(fer_net *net, float *a, double decay, long t)
{
    double warm = (1.0 + t) / (10.0 + t);
    const float k = (float)(1 - (decay < warm ? decay : warm));
    size_t off = 0;
    for (int i = 0; i < fer_net_nparams(net); i++) {
        fer_param *p = fer_net_param(net, i);
        float *restrict e = a + off;
        const float *restrict w = p->w;
        for (size_t j = 0; j < p->n; j++)
            e[j] += k * (w[j] - e[j]);
        off += p->n;
    }
}

int fer_train(fer_model *m, const fer_dataset *train, const fer_dataset *val,
              const fer_train_opts *o, fer_train_result *res)
{
    int k = m->nclasses, c, h, w, B = o->batch, epoch = 0, best_epoch = 0, rc = -1;
    size_t img, n = train->n;
    float *x = NULL, *probs = NULL, *dlogits = NULL, *best = NULL, cw[FER_CLASSES_MAX];
    float *ema = NULL, *live = NULL;   /* the weight average, the weights while it is in */
    long ema_t = 0;
    uint8_t *bpx = NULL, *scratch = NULL;
    int32_t *by = NULL;
    int64_t *order = NULL;
    fer_optim *opt = NULL;
    fer_rng rng;
    double lr = o->optim.lr, best_acc = -1, t_start = now(), plateau_best = -1;
    int plateau_wait = 0, have_val = val && val->n > 0;
    train_state st;
    fer_progress bar;
    char what[48];
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
    x = malloc((size_t)B * img * sizeof *x);
    probs = malloc((size_t)B * k * sizeof *probs);
    dlogits = malloc((size_t)B * k * sizeof *dlogits);
    bpx = malloc((size_t)B * img);
    scratch = malloc(img);
    by = malloc((size_t)B * sizeof *by);
    order = malloc(n * sizeof *order);
    best = snapshot(m->net, NULL);
    if (o->ema > 0 && (!(ema = snapshot(m->net, NULL)) || !(live = snapshot(m->net, NULL)))) {
        fer_seterr("out of memory");
        goto out;
    }
    opt = fer_optim_new(m->net, &o->optim);
    if (!x || !probs || !dlogits || !bpx || !scratch || !by || !order || !best || !opt) {
        fer_seterr("out of memory");
        goto out;
    }
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
                           order, n, ema, ema_t};
        if (load_checkpoint(m, opt, best, &st, o->resume))
            goto out;
        ema_t = st.ema_t;
        epoch = st.epoch;
        best_epoch = st.best_epoch;
        best_acc = st.best_acc;
        lr = st.lr;
        plateau_best = st.plateau_best;
        plateau_wait = st.plateau_wait;
        rng = st.rng;
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
                           order, n, ema, ema_t};
        if (o->checkpoint && save_checkpoint(m, opt, best, &st, o->checkpoint))
            goto out;
        if (o->stop_after > 0 && epoch >= o->stop_after) {
            res->paused = 1;   /* the checkpoint just written goes on from here */
            break;
        }
        if (o->schedule == FER_SCHED_COSINE)
            lr = o->optim.lr * 0.5 * (1 + cos(M_PI * epoch / o->epochs));
        for (size_t i = n; i > 1; i--) {   /* shuffle */
            size_t j = fer_rng_below(&rng, i);
            int64_t t = order[i - 1];
            order[i - 1] = order[j];
            order[j] = t;
        }
        if (fer_net_plan(m->net, B))
            goto out;
        snprintf(what, sizeof what, "epoch %d/%d", epoch + 1, o->epochs);
        fer_progress_begin(&bar, stderr, o->progress, what, n - n % B, "img/s");
        for (size_t s = 0; s + B <= n; s += B) {
            /* full batches only (B <= n; batch norm wants more than one
             * image); the remainder is reshuffled into the next epoch */
            int b = (int)(n - s < (size_t)B ? n - s : (size_t)B);
            double loss;
            for (int j = 0; j < b; j++) {
                size_t id = (size_t)order[s + j];
                by[j] = train->labels[id];
                fer_augment_random(&aug, train->pixels + id * img, c, h, w, &rng, bpx + j * img,
                                   scratch);
            }
            fer_model_preprocess(m, bpx, b, x);
            loss = fer_xent_forward(b, k, fer_net_forward(m->net, x, b, 1, &rng), by,
                                    o->balanced ? cw : NULL, (float)o->label_smoothing, probs);
            if (!isfinite(loss)) {
                /* diverged: nothing after this is worth keeping */
                fer_progress_end(&bar);
                fer_seterr("epoch %d, batch %zu: the loss is %g; training diverged (a lower "
                           "learning rate?)", epoch + 1, s / B + 1, loss);
                goto out;
            }
            fer_xent_backward(b, k, probs, by, o->balanced ? cw : NULL,
                              (float)o->label_smoothing, dlogits);
            fer_net_backward(m->net, dlogits, b);
            lr_step = lr;
            if (o->warmup > 0) {
                double g = (double)epoch * steps + s / B + 1, span = (double)o->warmup * steps;
                if (g < span)
                    lr_step = lr * (g / span);
            }
            fer_optim_step(opt, lr_step);
            if (ema)
                ema_update(m->net, ema, o->ema, ema_t++);
            sum_loss += loss * b;
            for (int j = 0; j < b; j++) {
                int best_j = 0;
                for (int q = 1; q < k; q++)
                    if (probs[j * k + q] > probs[j * k + best_j])
                        best_j = q;
                right += best_j == by[j];
            }
            done += b;
            fer_progress_update(&bar, done, (size_t)(o->epochs - epoch - 1) * (n - n % B),
                                "loss %.4f  acc %.4f", sum_loss / done, (double)right / done);
            if (o->stop && *o->stop)
                break;
        }
        fer_progress_end(&bar);
        if (o->stop && *o->stop) {
            /* the interrupted epoch does not count; the checkpoint of its
             * start is on disk */
            res->stopped = 1;
            break;
        }
        epoch++;
        if ((bad = nonfinite_param(m->net))) {
            fer_seterr("epoch %d: %s holds a non-finite weight; training diverged (a lower "
                       "learning rate?)", epoch, bad);
            goto out;
        }
        tacc = (double)right / done;
        if (ema) {   /* validation and the best weights are the average's */
            snapshot(m->net, live);
            restore(m->net, ema);
        }
        if (have_val && fer_evaluate(m, val, B, &vloss, &vacc))
            goto out;
        if (!have_val || vacc > best_acc) {   /* without validation: the last */
            best_acc = vacc;
            best_epoch = epoch;
            snapshot(m->net, best);
        }
        if (ema)
            restore(m->net, live);
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
        if (!o->quiet && have_val)
            fprintf(stderr, "epoch %d/%d: train loss %.4f acc %.4f, val loss %.4f acc %.4f  "
                    "lr %.3g  %.1fs\n", epoch, o->epochs, sum_loss / done, tacc, vloss, vacc,
                    lr_step, now() - t0);
        else if (!o->quiet)
            fprintf(stderr, "epoch %d/%d: train loss %.4f acc %.4f  lr %.3g  %.1fs\n", epoch,
                    o->epochs, sum_loss / done, tacc, lr_step, now() - t0);
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
    restore(m->net, best);
    res->epochs_run = epoch;
    res->best_epoch = best_epoch;
    res->best_val_acc = have_val ? best_acc : -1;
    res->seconds = now() - t_start;
    rc = res->stopped ? 1 : 0;
out:
    free(x);
    free(probs);
    free(dlogits);
    free(bpx);
    free(scratch);
    free(by);
    free(order);
    free(best);
    free(ema);
    free(live);
    fer_optim_free(opt);
    return rc;
}
