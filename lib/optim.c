/* optim.c: SGD (momentum, Nesterov), Adam and AdamW. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "optim.h"
#include "parse.h"
#include "record.h"

struct fer_optim {
    fer_net *net;
    fer_optim_opts o;
    float **m, **v;         /* per parameter, NULL where not trainable */
    float *lr_scale;        /* per parameter */
    long t;                 /* steps taken */
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

double fer_optim_step(fer_optim *opt, double lr)
{
    const fer_optim_opts *o = &opt->o;
    double norm = grad_norm(opt), gscale = 1;
    double bc1, bc2;
    if (o->clip_norm > 0 && norm > o->clip_norm)
        gscale = o->clip_norm / (norm + 1e-6);
    opt->t++;
    bc1 = 1 - pow(o->beta1, (double)opt->t);
    bc2 = 1 - pow(o->beta2, (double)opt->t);
    for (int i = 0; i < fer_net_nparams(opt->net); i++) {
        fer_param *p = fer_net_param(opt->net, i);
        float *w = p->w, *g = p->g, *m = opt->m[i], *v = opt->v[i];
        float wd = (float)(o->decay_weights_only && !p->decay ? 0 : o->weight_decay);
        float gs = (float)gscale, flr = (float)lr * opt->lr_scale[i];
        if (!p->trainable)
            continue;
        switch (o->kind) {
        case FER_SGD: {
            float mu = (float)o->momentum;
            for (size_t j = 0; j < p->n; j++) {
                float gj = g[j] * gs + wd * w[j];
                if (mu != 0) {
                    m[j] = opt->t == 1 ? gj : mu * m[j] + gj;
                    gj = o->nesterov ? gj + mu * m[j] : m[j];
                }
                w[j] -= flr * gj;
            }
            break;
        }
        case FER_ADAM:
        case FER_ADAMW: {
            float b1 = (float)o->beta1, b2 = (float)o->beta2, eps = (float)o->eps;
            float step = (float)(lr * opt->lr_scale[i] / bc1), sq = (float)sqrt(bc2);
            int adamw = o->kind == FER_ADAMW;
            for (size_t j = 0; j < p->n; j++) {
                float gj = g[j] * gs;
                if (adamw)
                    w[j] *= 1 - flr * wd;
                else
                    gj += wd * w[j];
                m[j] = b1 * m[j] + (1 - b1) * gj;
                v[j] = b2 * v[j] + (1 - b2) * gj * gj;
                w[j] -= step * m[j] / (sqrtf(v[j]) / sq + eps);
            }
            break;
        }
        }
    }
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

int fer_optim_read(fer_optim *opt, const char *path)
{
    fer_reader *rd = fer_reader_open(path);
    fer_record r;
    int k;
    if (!rd)
        return -1;
    while ((k = fer_reader_next(rd, &r)) == 1) {
        if (!strcmp(r.name, "optim")) {
            char buf[32];
            if (fer_meta_get(r.meta, "t", buf, sizeof buf) > 0)
                opt->t = strtol(buf, NULL, 10);
        } else if (!strncmp(r.name, "optim.", 6)) {
            size_t len = strlen(r.name);
            int is_v = len > 2 && !strcmp(r.name + len - 2, ".v");
            char pname[128];
            fer_param *p;
            snprintf(pname, sizeof pname, "%.*s", (int)(len - 8), r.name + 6);
            p = fer_net_find_param(opt->net, pname);
            if (p && r.dtype == FER_F32 && r.ndim == 1 && r.shape[0] == p->n) {
                int i = (int)(p - fer_net_param(opt->net, 0));
                float *dst = is_v ? opt->v[i] : opt->m[i];
                if (dst)
                    memcpy(dst, r.data, p->n * sizeof(float));
            }
        }
        fer_record_free(&r);
    }
    fer_reader_close(rd);
    return k < 0 ? -1 : 0;
}
