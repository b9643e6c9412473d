/* optim.c: SGD (momentum, Nesterov), Adam and AdamW. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "net_blocks.h"
#include "optim.h"
#include "record.h"

struct fer_optim {
    fer_net *net;
    const fer_backend *be;
    fer_optim_opts o;
    float *m, *v;           /* moments: flat blocks laid out as the net's (v: Adam) */
    float *lr_scale;        /* per parameter */
    long t;                 /* steps taken */
    double *sumsq;          /* clipping: the gradients' sum of squares (backend memory) */
    fer_optim_segment *seg; /* the trainable parameters, rebuilt each step */
};

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
    size_t bytes = fer_net_block_floats(net) * sizeof(float);
    fer_optim *opt = calloc(1, sizeof *opt);
    if (!opt)
        return NULL;
    opt->net = net;
    opt->be = fer_net_backend(net);
    opt->o = *o;
    opt->lr_scale = malloc(n * sizeof *opt->lr_scale);
    opt->seg = malloc((n ? n : 1) * sizeof *opt->seg);
    if (!opt->lr_scale || !opt->seg || !(opt->m = opt->be->alloc(bytes)) ||
        (o->kind != FER_SGD && !(opt->v = opt->be->alloc(bytes))) ||
        !(opt->sumsq = opt->be->alloc(sizeof *opt->sumsq)))
        goto oom;
    opt->be->zero(opt->m, bytes);
    if (opt->v)
        opt->be->zero(opt->v, bytes);
    for (int i = 0; i < n; i++)
        opt->lr_scale[i] = 1;
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
    if (opt->m)
        opt->be->free(opt->m);
    if (opt->v)
        opt->be->free(opt->v);
    if (opt->sumsq)
        opt->be->free(opt->sumsq);
    free(opt->lr_scale);
    free(opt->seg);
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

/* The trainable parameters as segments of the flat blocks, with their
 * learning-rate share and weight decay; how many. */
static int segments(fer_optim *opt)
{
    const fer_optim_opts *o = &opt->o;
    int k = 0;
    for (int i = 0; i < fer_net_nparams(opt->net); i++) {
        const fer_param *p = fer_net_param(opt->net, i);
        if (!p->trainable)
            continue;
        opt->seg[k++] = (fer_optim_segment){
            p->off, p->n, opt->lr_scale[i],
            (float)(o->decay_weights_only && !p->decay ? 0 : o->weight_decay)};
    }
    return k;
}

void fer_optim_step(fer_optim *opt, double lr)
{
    const fer_optim_opts *o = &opt->o;
    int nseg = segments(opt);
    const float *g = fer_net_grad_block(opt->net);
    fer_optim_step_args a;
    if (o->clip_norm > 0)
        opt->be->sum_squares(g, opt->seg, nseg, opt->sumsq);
    opt->t++;
    a = (fer_optim_step_args){
        .kind = o->kind == FER_SGD ? FER_STEP_SGD : o->kind == FER_ADAM ? FER_STEP_ADAM
                                                                      : FER_STEP_ADAMW,
        .w = fer_net_weight_block(opt->net), .m = opt->m, .v = opt->v, .g = g,
        .seg = opt->seg, .nseg = nseg, .lr = lr,
        .bc1 = 1 - pow(o->beta1, (double)opt->t), .bc2 = 1 - pow(o->beta2, (double)opt->t),
        .gs = 1, .sumsq = o->clip_norm > 0 ? opt->sumsq : NULL, .clip = o->clip_norm,
        .momentum = (float)o->momentum, .beta1 = (float)o->beta1,
        .beta2 = (float)o->beta2, .eps = (float)o->eps, .nesterov = o->nesterov, .t = opt->t};
    opt->be->optim_step(&a);
}

double fer_optim_norm(const fer_optim *opt)
{
    double s = 0;
    if (!(opt->o.clip_norm > 0))
        return 0;
    opt->be->download(&s, opt->sumsq, sizeof s);
    return sqrt(s);
}

long fer_optim_steps(const fer_optim *opt) { return opt->t; }

void fer_optim_set_steps(fer_optim *opt, long t) { opt->t = t; }

/* Moment block b's stretch for parameter p, copied out to (or in from) a
 * host buffer of p->n floats. */
static void moment_read(const fer_optim *opt, const float *b, const fer_param *p, float *host)
{
    opt->be->download(host, b + p->off, p->n * sizeof *host);
}

static void moment_write(const fer_optim *opt, float *b, const fer_param *p, const float *host)
{
    opt->be->upload(b + p->off, host, p->n * sizeof *host);
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
        const fer_param *p = fer_net_param(opt->net, i);
        char name[128];
        uint64_t n = p->n;
        float *host;
        int rc = 0;
        if (!p->learn)
            continue;
        if (!(host = malloc(p->n * sizeof *host)))
            return fer_seterr("out of memory");
        moment_read(opt, opt->m, p, host);
        snprintf(name, sizeof name, "optim.%s.m", p->name);
        fer_record_init(&r, name, FER_F32, 1, &n, host, NULL);
        rc = fer_record_write(f, &r);
        if (!rc && opt->v) {
            moment_read(opt, opt->v, p, host);
            snprintf(name, sizeof name, "optim.%s.v", p->name);
            fer_record_init(&r, name, FER_F32, 1, &n, host, NULL);
            rc = fer_record_write(f, &r);
        }
        free(host);
        if (rc)
            return -1;
    }
    return 0;
}

int fer_optim_read(fer_optim *opt, const fer_modelfile *mf, const fer_modelfile_item *it)
{
    const char *file = fer_modelfile_name(mf);
    const fer_param *p;
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
    dst = it->kind == FER_MF_OPTIM_M ? opt->m : opt->v;
    if (!dst || !p->learn)
        return fer_seterr("%s: 'optim.%s.%c': %s keeps no such state", file, p->name,
                          it->kind == FER_MF_OPTIM_M ? 'm' : 'v', fer_optim_name(opt->o.kind));
    moment_write(opt, dst, p, it->values);
    return 0;
}

int fer_optim_read_end(const fer_optim *opt, const fer_modelfile *mf)
{
    const char *file = fer_modelfile_name(mf);
    if (!fer_modelfile_seen(mf, FER_MF_OPTIM, -1))
        return fer_seterr("%s: no optim record (the optimiser's state)", file);
    for (int i = 0; i < fer_net_nparams(opt->net); i++) {
        const fer_param *p = fer_net_param(opt->net, i);
        const char *name = p->name;
        if (p->learn && !fer_modelfile_seen(mf, FER_MF_OPTIM_M, i))
            return fer_seterr("%s: 'optim.%s.m' missing", file, name);
        if (p->learn && opt->v && !fer_modelfile_seen(mf, FER_MF_OPTIM_V, i))
            return fer_seterr("%s: 'optim.%s.v' missing", file, name);
    }
    return 0;
}
