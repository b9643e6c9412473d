/* model.c: cnn, ff and resnet18 nets; model files. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "model.h"
#include "modelfile.h"
#include "outfile.h"
#include "record.h"

int fer_model_defaults(const char *arch, fer_model_opts *o)
{
    memset(o, 0, sizeof *o);
    o->width = 1;
    o->bn_eps = 1e-5;
    o->bn_momentum = 0.1;
    o->nclasses = 7;
    o->c = 1;
    o->h = o->w = 48;
    if (!strcmp(arch, "cnn")) {
        o->stages = 3;
        o->dropout = 0.25;
        o->dropout2 = 0.5;
    } else if (!strcmp(arch, "ff")) {
        o->dropout = 0.2;
    } else if (strcmp(arch, "resnet18")) {
        return fer_seterr("unknown model '%s' (cnn, ff, resnet18)", arch);
    }
    return 0;
}

/* conv 3x3 -> ReLU -> batch norm, as the study's cnn orders them. */
static int cnn_unit(fer_net *net, int x, int i, int k)
{
    char name[32];
    snprintf(name, sizeof name, "conv%d", i);
    if ((x = fer_net_conv(net, x, name, k, 3, 1, 1, 1)) < 0 || (x = fer_net_relu(net, x)) < 0)
        return -1;
    snprintf(name, sizeof name, "bn%d", i);
    return fer_net_bn(net, x, name);
}

/* stages pool blocks of two conv units each, 64 width 2^b channels in
 * block b (conv1..conv<2 stages>), then fc1 (256 width) ReLU bn<2 stages + 1>
 * dropout2 fc2: the study's cnn at 3 stages, a VGG-like net at 4. */
static int build_cnn(fer_net *net, const fer_model_opts *o)
{
    int x = 0, k;
    char bn[16];
    if (o->stages < 1 || o->stages > FER_CNN_STAGES_MAX)
        return fer_seterr("cnn of %d stages: take 1..%d", o->stages, FER_CNN_STAGES_MAX);
    for (int b = 0; b < o->stages; b++) {
        k = (int)(64 * o->width * (1 << b) + 0.5);
        if (k < 1)
            return fer_seterr("width %g leaves no channels", o->width);
        if ((x = cnn_unit(net, x, 2 * b + 1, k)) < 0 || (x = cnn_unit(net, x, 2 * b + 2, k)) < 0 ||
            (x = fer_net_maxpool(net, x, 2, 2)) < 0 || (x = fer_net_dropout(net, x, o->dropout)) < 0)
            return -1;
    }
    k = (int)(256 * o->width + 0.5);
    snprintf(bn, sizeof bn, "bn%d", 2 * o->stages + 1);
    if ((x = fer_net_dense(net, x, "fc1", k, 1)) < 0 || (x = fer_net_relu(net, x)) < 0 ||
        (x = fer_net_bn(net, x, bn)) < 0 || (x = fer_net_dropout(net, x, o->dropout2)) < 0 ||
        (x = fer_net_dense(net, x, "fc2", o->nclasses, 1)) < 0)
        return -1;
    return 0;
}

static int build_ff(fer_net *net, const fer_model_opts *o)
{
    static const int sizes[4] = {1024, 512, 256, 128};
    int x = 0;
    char name[16];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "fc%d", i + 1);
        if ((x = fer_net_dense(net, x, name, (int)(sizes[i] * o->width + 0.5), 1)) < 0 ||
            (x = fer_net_lrelu(net, x, 0.01f)) < 0 || (x = fer_net_dropout(net, x, o->dropout)) < 0)
            return -1;
    }
    return fer_net_dense(net, x, "fc5", o->nclasses, 1) < 0 ? -1 : 0;
}

/* The main path of torchvision's BasicBlock: conv3x3(stride) bn relu
 * conv3x3 bn. The caller adds the shortcut and the final relu. */
static int basic_block(fer_net *net, int x, const char *pre, int k, int stride)
{
    char n[64];
    int y;
    snprintf(n, sizeof n, "%s.conv1", pre);
    if ((y = fer_net_conv(net, x, n, k, 3, stride, 1, 0)) < 0)
        return -1;
    snprintf(n, sizeof n, "%s.bn1", pre);
    if ((y = fer_net_bn(net, y, n)) < 0 || (y = fer_net_relu(net, y)) < 0)
        return -1;
    snprintf(n, sizeof n, "%s.conv2", pre);
    if ((y = fer_net_conv(net, y, n, k, 3, 1, 1, 0)) < 0)
        return -1;
    snprintf(n, sizeof n, "%s.bn2", pre);
    return fer_net_bn(net, y, n);
}

static int build_resnet18(fer_net *net, const fer_model_opts *o)
{
    int widths[4], x, cin;
    char pre[32], n[64];
    for (int l = 0; l < 4; l++)
        if ((widths[l] = (int)(64 * o->width * (1 << l) + 0.5)) < 1)
            return fer_seterr("width %g leaves no channels", o->width);
    cin = widths[0];
    if ((x = fer_net_conv(net, 0, "conv1", widths[0], 3, 1, 1, 0)) < 0 ||
        (x = fer_net_bn(net, x, "bn1")) < 0 || (x = fer_net_relu(net, x)) < 0)
        return -1;
    for (int l = 0; l < 4; l++) {
        for (int b = 0; b < 2; b++) {
            int stride = (l > 0 && b == 0) ? 2 : 1, k = widths[l], y, sc = x;
            snprintf(pre, sizeof pre, "layer%d.%d", l + 1, b);
            if ((y = basic_block(net, x, pre, k, stride)) < 0)
                return -1;
            if (stride != 1 || cin != k) {
                snprintf(n, sizeof n, "%s.downsample.0", pre);
                if ((sc = fer_net_conv(net, x, n, k, 1, stride, 0, 0)) < 0)
                    return -1;
                snprintf(n, sizeof n, "%s.downsample.1", pre);
                if ((sc = fer_net_bn(net, sc, n)) < 0)
                    return -1;
            }
            if ((x = fer_net_add(net, y, sc)) < 0 || (x = fer_net_relu(net, x)) < 0)
                return -1;
            cin = k;
        }
    }
    if ((x = fer_net_gap(net, x)) < 0 || fer_net_dense(net, x, "fc", o->nclasses, 1) < 0)
        return -1;
    return 0;
}

int fer_model_build(fer_model *m, const char *arch, const fer_model_opts *o, fer_rng *rng)
{
    int rc;
    memset(m, 0, sizeof *m);
    if (o->nclasses < 2 || o->nclasses > FER_CLASSES_MAX)
        return fer_seterr("%d classes: need 2..%d", o->nclasses, FER_CLASSES_MAX);
    if (!(o->width > 0 && o->width <= 8))
        return fer_seterr("width %g outside (0, 8]", o->width);
    /* what a model file's reader takes (model_from_meta), so that what is
     * trained can be read back */
    if (o->c < 1 || o->c > 4 || o->h < 8 || o->h > 1024 || o->w < 8 || o->w > 1024)
        return fer_seterr("input %dx%dx%d: a model takes C 1..4, H and W 8..1024", o->c, o->h,
                          o->w);
    /* eps stays a normal float */
    if (!(o->bn_eps >= 1e-12 && o->bn_eps <= 1 && o->bn_momentum >= 0 && o->bn_momentum <= 1))
        return fer_seterr("batch norm eps %g, momentum %g: take eps in [1e-12, 1], momentum "
                          "in [0, 1]", o->bn_eps, o->bn_momentum);
    m->net = fer_net_new(o->c, o->h, o->w);
    if (!m->net)
        return fer_seterr("out of memory");
    fer_net_set_bn(m->net, (float)o->bn_eps, (float)o->bn_momentum);
    snprintf(m->arch, sizeof m->arch, "%s", arch);
    m->opts = *o;
    m->mean = 0.5;
    m->std = 0.25;
    m->nclasses = o->nclasses;
    for (int i = 0; i < o->nclasses; i++)   /* FER2013's names, or class0.. */
        if (o->nclasses == 7)
            snprintf(m->classes[i], FER_CLASS_NAME_MAX, "%s", fer_fer2013_classes[i]);
        else
            snprintf(m->classes[i], FER_CLASS_NAME_MAX, "class%d", i);
    if (!strcmp(arch, "cnn"))
        rc = build_cnn(m->net, o);
    else if (!strcmp(arch, "ff"))
        rc = build_ff(m->net, o);
    else if (!strcmp(arch, "resnet18"))
        rc = build_resnet18(m->net, o);
    else
        rc = fer_seterr("unknown model '%s' (cnn, ff, resnet18)", arch);
    if (!rc && rng)
        rc = fer_net_init_weights(m->net, rng, !strcmp(arch, "ff"));
    if (rc) {
        fer_model_free(m);
        return -1;
    }
    return 0;
}

void fer_model_free(fer_model *m)
{
    fer_net_free(m->net);
    free(m->train_meta);
    memset(m, 0, sizeof *m);
}

int fer_model_note(fer_model *m, const char *key, const char *fmt, ...)
{
    char val[2048];
    size_t old = m->train_meta ? strlen(m->train_meta) : 0;
    char *p;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(val, sizeof val, fmt, ap);
    va_end(ap);
    for (char *q = val; *q; q++)   /* one line per key */
        if (*q == '\n')
            *q = ' ';
    p = realloc(m->train_meta, old + strlen(key) + strlen(val) + 3);
    if (!p)
        return fer_seterr("out of memory");
    sprintf(p + old, "%s=%s\n", key, val);
    m->train_meta = p;
    return 0;
}

/* The version a reader needs: 1 unless the model uses what a later one
 * added (2: a cnn of other than 3 stages; 3: batch-norm settings other
 * than the ones older fers used), so that files older fers read are
 * written as before, and the others are refused by them as too new. */
static int needed_version(const fer_model *m)
{
    if (m->opts.bn_eps != 1e-5 || m->opts.bn_momentum != 0.1)
        return 3;
    return !strcmp(m->arch, "cnn") && m->opts.stages != 3 ? 2 : 1;
}

static char *model_meta(const fer_model *m)
{
    size_t len = 1024 + (size_t)m->nclasses * FER_CLASS_NAME_MAX +
                 (m->train_meta ? strlen(m->train_meta) : 0);
    char *s = malloc(len), *p;
    int version = needed_version(m);
    if (!s)
        return NULL;
    p = s + sprintf(s,
                    "format=fer-model\nmodel_version=%d\narch=%s\nwidth=%.17g\ndropout=%.17g\n"
                    "dropout2=%.17g\n",
                    version, m->arch, m->opts.width, m->opts.dropout, m->opts.dropout2);
    if (!strcmp(m->arch, "cnn") && m->opts.stages != 3)
        p += sprintf(p, "stages=%d\n", m->opts.stages);
    p += sprintf(p, "bn_eps=%.9g\nbn_momentum=%.9g\n", m->opts.bn_eps, m->opts.bn_momentum);
    p += sprintf(p, "input=%d,%d,%d\nmean=%.9g\nstd=%.9g\nclasses=", m->opts.c, m->opts.h,
                 m->opts.w, m->mean, m->std);
    for (int i = 0; i < m->nclasses; i++)
        p += sprintf(p, "%s%s", i ? "," : "", m->classes[i]);
    p += sprintf(p, "\n");
    if (m->train_meta)
        strcpy(p, m->train_meta);
    return s;
}

int fer_model_write(const fer_model *m, FILE *f)
{
    char *meta = model_meta(m);
    fer_record r;
    uint64_t zero = 0;
    int n = fer_net_nparams(m->net);
    if (!meta)
        return fer_seterr("out of memory");
    fer_record_init(&r, "model", FER_U8, 1, &zero, NULL, meta);
    if (fer_record_write(f, &r)) {
        free(meta);
        return -1;
    }
    free(meta);
    for (int i = 0; i < n; i++) {
        const fer_param *p = fer_net_param(m->net, i);
        uint64_t shape[4];
        float *w = malloc(p->n * sizeof *w);
        int rc;
        if (!w)
            return fer_seterr("out of memory");
        for (int d = 0; d < p->ndim; d++)
            shape[d] = (uint64_t)p->shape[d];
        rc = fer_net_param_read(m->net, i, w);
        if (!rc) {
            fer_record_init(&r, p->name, FER_F32, p->ndim, shape, w, NULL);
            rc = fer_record_write(f, &r);
        }
        free(w);
        if (rc)
            return -1;
    }
    return 0;
}

int fer_model_save(const fer_model *m, const char *path)
{
    fer_outfile o;
    if (fer_outfile_open(&o, path))
        return -1;
    if (fer_model_write(m, o.f)) {
        fer_outfile_abort(&o);
        return fer_error_prefix("%s", path);
    }
    return fer_outfile_commit(&o);
}

/* Builds the net a model record describes. */
static int model_from_meta(fer_model *m, const fer_modelfile *mf)
{
    const fer_modelfile_meta *mm = fer_modelfile_model(mf);
    if (fer_model_build(m, mm->arch, &mm->opts, NULL))
        return fer_error_prefix("%s", fer_modelfile_name(mf));
    memcpy(m->classes, mm->classes, sizeof m->classes);
    m->mean = mm->mean;
    m->std = mm->std;
    if (mm->train_meta && !(m->train_meta = strdup(mm->train_meta))) {
        fer_model_free(m);
        return fer_seterr("out of memory");
    }
    return 0;
}

int fer_model_load(fer_model *m, const char *path)
{
    fer_modelfile *mf = fer_modelfile_open(path);
    fer_modelfile_item it;
    int k = -1;
    memset(m, 0, sizeof *m);
    if (!mf)
        return -1;
    if (!model_from_meta(m, mf) && !fer_modelfile_bind(mf, m->net, FER_MF_EXACT))
        while ((k = fer_modelfile_next(mf, &it)) == 1)
            ;   /* a checkpoint's training state: not the model's */
    fer_modelfile_close(mf);
    if (k && m->net)
        fer_model_free(m);
    return k ? -1 : 0;
}

int fer_model_init_from(fer_model *m, const char *path, int *copied, int *skipped)
{
    fer_modelfile *mf = fer_modelfile_open(path);
    fer_modelfile_item it;
    int k = -1;
    *copied = *skipped = 0;
    if (!mf)
        return -1;
    if (!fer_modelfile_bind(mf, m->net, FER_MF_TRANSFER))
        while ((k = fer_modelfile_next(mf, &it)) == 1)
            ;
    fer_modelfile_counts(mf, copied, skipped);
    fer_modelfile_close(mf);
    return k ? -1 : 0;
}

void fer_model_input_scale(const fer_model *m, float *scale, float *shift)
{
    *scale = (float)(1.0 / (255.0 * m->std));
    *shift = (float)(m->mean / m->std);
}

void fer_model_preprocess(const fer_model *m, const uint8_t *px, size_t n, float *x)
{
    size_t total = n * m->opts.c * m->opts.h * m->opts.w;
    float scale, shift;
    fer_model_input_scale(m, &scale, &shift);
    for (size_t i = 0; i < total; i++)
        x[i] = px[i] * scale - shift;
}
