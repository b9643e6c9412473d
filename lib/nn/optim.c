/* optim.c: SGD (momentum, Nesterov), Adam and AdamW. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clones.h"
#include "error.h"
#include "optim.h"
#include "record.h"
#include "threads.h"

struct fer_optim {
    fer_net *net;
    fer_optim_opts o;
    float **m, **v;         /* per parameter, NULL where not trainable */
    float *lr_scale;        /* per parameter */
    long t;                 /* steps taken */
    /* the update runs in chunks of one parameter over the thread pool */
    struct chunk { int param; size_t lo, hi; } *chunks;
    int nchunks;
};

enum { CHUNK = 16384 };

void fer_optim_defaults(fer_optim_opts *o, int kind)
{
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->lr = 1e-3;
    o->momentum = 0.9;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
}

int fer_optim_parse(const char *name)
{
    if (!strcmp(name, "sgd"))
        return FER_SGD;
    if (!strcmp(name, "adam"))
        return FER_ADAM;
    if (!strcmp(name, "adamw"))
        return FER_ADAMW;
    return -1;
}

const char *fer_optim_name(int kind)
{
    return kind == FER_SGD ? "sgd" : kind == FER_ADAM ? "adam" : "adamw";
}

fer_optim *fer_optim_new(fer_net *net, const fer_optim_opts *o)
{
    int n = fer_net_nparams(net);
    fer_optim *opt = calloc(1, sizeof *opt);
    if (!opt)
        return NULL;
    opt->net = net;
    opt->o = *o;
    opt->m = calloc(n, sizeof *opt->m);
    opt->v = calloc(n, sizeof *opt->v);
    opt->lr_scale = malloc(n * sizeof *opt->lr_scale);
    if (!opt->m || !opt->v || !opt->lr_scale)
        goto oom;
    for (int i = 0; i < n; i++)
        opt->lr_scale[i] = 1;
    for (int pass = 0; pass < 2; pass++) {   /* count the chunks, then list them */
        int k = 0;
        for (int i = 0; i < n; i++) {
            fer_param *p = fer_net_param(net, i);
            if (!p->g)
                continue;
            for (size_t lo = 0; lo < p->n; lo += CHUNK, k++)
                if (pass)
                    opt->chunks[k] = (struct chunk){i, lo, lo + CHUNK < p->n ? lo + CHUNK : p->n};
        }
        if (!pass && !(opt->chunks = malloc((k ? k : 1) * sizeof *opt->chunks)))
            goto oom;
        opt->nchunks = k;
    }
    for (int i = 0; i < n; i++) {
        fer_param *p = fer_net_param(net, i);
        if (!p->g)
            continue;
        if (!(opt->m[i] = calloc(p->n, sizeof(float))))
            goto oom;
        if (o->kind != FER_SGD && !(opt->v[i] = calloc(p->n, sizeof(float))))
            goto oom;
    }
    return opt;
oom:
    fer_optim_free(opt);
    fer_seterr("out of memory for optimiser state");
    return NULL;
}

void fer_optim_free(fer_optim *opt)
{
    if (!opt)
        return;
    for (int i = 0; opt->m && i < fer_net_nparams(opt->net); i++) {
        free(opt->m[i]);
        free(opt->v[i]);
    }
    free(opt->m);
    free(opt->v);
    free(opt->lr_scale);
    free(opt->chunks);
    free(opt);
}

int fer_optim_scale_backbone(fer_optim *opt, const char *head, double scale)
{
    int k = 0;
    for (int i = 0; i < fer_net_nparams(opt->net); i++) {
        const char *name = fer_net_param(opt->net, i)->name, *h = head;
        int in_head = 0;
        while (*h && !in_head) {
            size_t len = strcspn(h, ",");
            in_head = len && !strncmp(name, h, len) && name[len] == '.';
            h += len + (h[len] == ',');
        }
        if (!in_head) {
            opt->lr_scale[i] = (float)scale;
            k++;
        }
    }
    return k;
}

static double grad_norm(fer_optim *opt)
{
    double s = 0;
    for (int i = 0; i < fer_net_nparams(opt->net); i++) {
        fer_param *p = fer_net_param(opt->net, i);
        if (!p->trainable)
            continue;
        for (size_t j = 0; j < p->n; j++)
            s += (double)p->g[j] * p->g[j];
    }
    return sqrt(s);
}

typedef struct step_job {
    fer_optim *opt;
    double lr, bc1, bc2;
    float gs;
} step_job;

/* One chunk's update: element-wise, so the bits do not depend on the
 * thread count; the loops are branch-free so that they vectorise. */
FER_CLONES static void step_task(void *ctx, int t, int thread)
{
    const step_job *j = ctx;
    fer_optim *opt = j->opt;
    const fer_optim_opts *o = &opt->o;
    const struct chunk *ch = &opt->chunks[t];
    fer_param *p = fer_net_param(opt->net, ch->param);
    const size_t lo = ch->lo, hi = ch->hi;
    float *restrict w = p->w;
    const float *restrict g = p->g;
    float *restrict m = opt->m[ch->param], *restrict v = opt->v[ch->param];
    const float wd = (float)(o->decay_weights_only && !p->decay ? 0 : o->weight_decay);
    const float gs = j->gs, flr = (float)j->lr * opt->lr_scale[ch->param];
    (void)thread;
    if (!p->trainable)   /* frozen after the optimiser was made */
        return;
    if (o->kind == FER_SGD) {
        const float mu = (float)o->momentum;
        if (mu == 0) {
            for (size_t i = lo; i < hi; i++)
                w[i] -= flr * (g[i] * gs + wd * w[i]);
        } else if (opt->t == 1) {   /* the momentum buffer starts as the gradient */
            for (size_t i = lo; i < hi; i++) {
                float gi = g[i] * gs + wd * w[i];
                m[i] = gi;
                w[i] -= flr * (o->nesterov ? gi + mu * gi : gi);
            }
        } else if (o->nesterov) {
            for (size_t i = lo; i < hi; i++) {
                float gi = g[i] * gs + wd * w[i], mi = mu * m[i] + gi;
                m[i] = mi;
                w[i] -= flr * (gi + mu * mi);
            }
        } else {
            for (size_t i = lo; i < hi; i++) {
                float gi = g[i] * gs + wd * w[i], mi = mu * m[i] + gi;
                m[i] = mi;
                w[i] -= flr * mi;
            }
        }
        return;
    }
    const float b1 = (float)o->beta1, b2 = (float)o->beta2, eps = (float)o->eps;
    const float step = (float)(j->lr * opt->lr_scale[ch->param] / j->bc1);
    const float sq = (float)sqrt(j->bc2);
    if (o->kind == FER_ADAMW) {
        const float keep = 1 - flr * wd;
        for (size_t i = lo; i < hi; i++) {
            float gi = g[i] * gs, wi = w[i] * keep;
            float mi = b1 * m[i] + (1 - b1) * gi, vi = b2 * v[i] + (1 - b2) * gi * gi;
            m[i] = mi;
            v[i] = vi;
            w[i] = wi - step * mi / (sqrtf(vi) / sq + eps);
        }
    } else {
        for (size_t i = lo; i < hi; i++) {
            float gi = g[i] * gs + wd * w[i];
            float mi = b1 * m[i] + (1 - b1) * gi, vi = b2 * v[i] + (1 - b2) * gi * gi;
            m[i] = mi;
            v[i] = vi;
            w[i] -= step * mi / (sqrtf(vi) / sq + eps);
        }
    }
}

double fer_optim_step(fer_optim *opt, double lr)
{
    const fer_optim_opts *o = &opt->o;
    double norm = o->clip_norm > 0 ? grad_norm(opt) : 0, gscale = 1;
    step_job j;
    if (o->clip_norm > 0 && norm > o->clip_norm)
        gscale = o->clip_norm / (norm + 1e-6);
    opt->t++;
    j = (step_job){opt, lr, 1 - pow(o->beta1, (double)opt->t), 1 - pow(o->beta2, (double)opt->t),
                   (float)gscale};
    fer_parallel_for(opt->nchunks, step_task, &j);
    return norm;
}

int fer_optim_write(const fer_optim *opt, FILE *f)
{
    char meta[128];
    fer_record r;
    uint64_t zero = 0;
    snprintf(meta, sizeof meta, "kind=%s\nt=%ld\n", fer_optim_name(opt->o.kind), opt->t);
    fer_record_init(&r, "optim", FER_U8, 1, &zero, NULL, meta);
    if (fer_record_write(f, &r))
        return -1;
    for (int i = 0; i < fer_net_nparams(opt->net); i++) {
        fer_param *p = fer_net_param(opt->net, i);
        char name[128];
        uint64_t n = p->n;
        if (!opt->m[i])
            continue;
        snprintf(name, sizeof name, "optim.%s.m", p->name);
        fer_record_init(&r, name, FER_F32, 1, &n, opt->m[i], NULL);
        if (fer_record_write(f, &r))
            return -1;
        if (opt->v[i]) {
            snprintf(name, sizeof name, "optim.%s.v", p->name);
            fer_record_init(&r, name, FER_F32, 1, &n, opt->v[i], NULL);
            if (fer_record_write(f, &r))
                return -1;
        }
    }
    return 0;
}

int fer_optim_read(fer_optim *opt, const fer_modelfile *mf, const fer_modelfile_item *it)
{
    const char *file = fer_modelfile_name(mf);
    fer_param *p;
    float *dst;
    if (it->kind == FER_MF_OPTIM) {
        if (it->optim->kind != opt->o.kind)
            return fer_seterr("%s: checkpoint of an %s run, training with %s", file,
                              fer_optim_name(it->optim->kind), fer_optim_name(opt->o.kind));
        opt->t = it->optim->t;
        return 0;
    }
    FER_ASSERT(it->kind == FER_MF_OPTIM_M || it->kind == FER_MF_OPTIM_V);
    p = fer_net_param(opt->net, it->param);
    dst = it->kind == FER_MF_OPTIM_M ? opt->m[it->param] : opt->v[it->param];
    if (!dst)
        return fer_seterr("%s: 'optim.%s.%c': %s keeps no such state", file, p->name,
                          it->kind == FER_MF_OPTIM_M ? 'm' : 'v', fer_optim_name(opt->o.kind));
    memcpy(dst, it->values, p->n * sizeof(float));
    return 0;
}

int fer_optim_read_end(const fer_optim *opt, const fer_modelfile *mf)
{
    const char *file = fer_modelfile_name(mf);
    if (!fer_modelfile_seen(mf, FER_MF_OPTIM, -1))
        return fer_seterr("%s: no optim record (the optimiser's state)", file);
    for (int i = 0; i < fer_net_nparams(opt->net); i++) {
        const char *name = fer_net_param(opt->net, i)->name;
        if (opt->m[i] && !fer_modelfile_seen(mf, FER_MF_OPTIM_M, i))
            return fer_seterr("%s: 'optim.%s.m' missing", file, name);
        if (opt->v[i] && !fer_modelfile_seen(mf, FER_MF_OPTIM_V, i))
            return fer_seterr("%s: 'optim.%s.v' missing", file, name);
    }
    return 0;
}
