/* model.c: cnn, ff and resnet18 nets; model files. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "model.h"
#include "outfile.h"
#include "parse.h"
#include "record.h"

int fer_model_defaults(const char *arch, fer_model_opts *o)
{
    memset(o, 0, sizeof *o);
    o->width = 1;
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
    m->net = fer_net_new(o->c, o->h, o->w);
    if (!m->net)
        return fer_seterr("out of memory");
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

/* The version a reader needs: 1 unless the model uses what version 2
 * added (a cnn of other than 3 stages), so that files older fers read are
 * written as before, and a deeper cnn is refused by them as too new. */
static int needed_version(const fer_model *m)
{
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
    if (version >= 2)
        p += sprintf(p, "stages=%d\n", m->opts.stages);
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

static int meta_double(const char *meta, const char *key, double *v, const char *path)
{
    char buf[64];
    if (fer_parse_meta(meta, key, buf, sizeof buf) < 0)
        return fer_seterr("%s: model record lacks '%s'", path, key);
    if (fer_parse_double(buf, -1e9, 1e9, v))
        return fer_error_prefix("%s: model %s", path, key);
    return 0;
}

/* Builds the net described by a "model" record's meta text. */
static int model_from_meta(fer_model *m, const char *meta, const char *path)
{
    char arch[32], buf[4096];
    fer_model_opts o;
    double version, mean, std;
    int c, h, w, n = 0;
    if (!meta || fer_parse_meta(meta, "format", buf, sizeof buf) < 0 || strcmp(buf, "fer-model"))
        return fer_seterr("%s: not a fer model (no format=fer-model)", path);
    if (meta_double(meta, "model_version", &version, path))
        return -1;
    if (version > FER_MODEL_VERSION)
        return fer_seterr("%s: model version %g is newer than this fer reads (%d)", path, version,
                          FER_MODEL_VERSION);
    if (fer_parse_meta(meta, "arch", arch, sizeof arch) < 0 || fer_model_defaults(arch, &o))
        return fer_seterr("%s: unknown or missing arch", path);
    if (meta_double(meta, "width", &o.width, path) || meta_double(meta, "dropout", &o.dropout, path) ||
        meta_double(meta, "dropout2", &o.dropout2, path) || meta_double(meta, "mean", &mean, path) ||
        meta_double(meta, "std", &std, path))
        return -1;
    if (!strcmp(arch, "cnn") && fer_parse_meta(meta, "stages", buf, sizeof buf) >= 0) {
        long st;   /* absent in version 1 files: the study's 3 */
        if (fer_parse_long(buf, 1, FER_CNN_STAGES_MAX, &st))
            return fer_error_prefix("%s: model stages", path);
        o.stages = (int)st;
    }
    if (fer_parse_meta(meta, "input", buf, sizeof buf) < 0 ||
        sscanf(buf, "%d,%d,%d", &c, &h, &w) != 3 || c < 1 || c > 4 || h < 8 || h > 1024 ||
        w < 8 || w > 1024)
        return fer_seterr("%s: bad input shape in model record", path);
    o.c = c;
    o.h = h;
    o.w = w;
    if (fer_parse_meta(meta, "classes", buf, sizeof buf) < 0)
        return fer_seterr("%s: model record lacks classes", path);
    {
        char *save = NULL, *tok;
        char names[FER_CLASSES_MAX][FER_CLASS_NAME_MAX];
        for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            if (n == FER_CLASSES_MAX || strlen(tok) >= FER_CLASS_NAME_MAX)
                return fer_seterr("%s: bad class list", path);
            strcpy(names[n++], tok);
        }
        o.nclasses = n;
        if (fer_model_build(m, arch, &o, NULL))
            return fer_error_prefix("%s", path);
        for (int i = 0; i < n; i++)
            strcpy(m->classes[i], names[i]);
    }
    m->mean = mean;
    m->std = std;
    if (!(std > 0))
        return fer_seterr("%s: std must be positive", path);
    {
        /* keep the training record: every line that starts with "train." */
        const char *p = meta;
        while (p && *p) {
            const char *eol = strchr(p, '\n');
            size_t len = eol ? (size_t)(eol - p) : strlen(p);
            if (!strncmp(p, "train.", 6)) {
                size_t old = m->train_meta ? strlen(m->train_meta) : 0;
                char *q = realloc(m->train_meta, old + len + 2);
                if (!q)
                    return fer_seterr("out of memory");
                memcpy(q + old, p, len);
                q[old + len] = '\n';
                q[old + len + 1] = 0;
                m->train_meta = q;
            }
            p = eol ? eol + 1 : NULL;
        }
    }
    return 0;
}

static int shape_matches(const fer_param *p, const fer_record *r)
{
    if (r->dtype != FER_F32 || r->ndim != p->ndim)
        return 0;
    for (int d = 0; d < p->ndim; d++)
        if (r->shape[d] != (uint64_t)p->shape[d])
            return 0;
    return 1;
}

int fer_model_load(fer_model *m, const char *path)
{
    fer_reader *rd = fer_reader_open(path);
    fer_record r;
    int k, nparams, filled = 0, rc = -1;
    char *seen = NULL;
    memset(m, 0, sizeof *m);
    if (!rd)
        return -1;
    fer_reader_expect(rd, "fer model");
    k = fer_reader_next(rd, &r);
    if (k <= 0) {
        if (k == 0)
            fer_seterr("%s: empty file, not a model", path);
        goto out;
    }
    if (strcmp(r.name, "model")) {
        fer_seterr("%s: first record is '%s', not a model", path, r.name);
        fer_record_free(&r);
        goto out;
    }
    rc = model_from_meta(m, r.meta, path);
    fer_record_free(&r);
    if (rc)
        goto out;
    rc = -1;
    nparams = fer_net_nparams(m->net);
    seen = calloc(nparams, 1);
    if (!seen) {
        fer_seterr("out of memory");
        goto out;
    }
    while ((k = fer_reader_next(rd, &r)) == 1) {
        int i = fer_net_find_param(m->net, r.name);
        if (i >= 0) {
            const fer_param *p = fer_net_param(m->net, i);
            const float *v = r.data;
            if (!shape_matches(p, &r)) {
                fer_seterr("%s: tensor '%s' has the wrong dtype or shape for %s", path, r.name,
                           m->arch);
                fer_record_free(&r);
                goto out;
            }
            for (size_t j = 0; j < p->n; j++)
                if (!isfinite(v[j])) {
                    fer_seterr("%s: tensor '%s' holds a non-finite value (%g at %zu)", path,
                               r.name, v[j], j);
                    fer_record_free(&r);
                    goto out;
                }
            if (fer_net_param_write(m->net, i, v)) {
                fer_record_free(&r);
                goto out;
            }
            if (!seen[i]++)
                filled++;
        }
        fer_record_free(&r);
    }
    if (k < 0)
        goto out;
    if (filled != nparams) {
        for (int i = 0; i < nparams; i++)
            if (!seen[i]) {
                fer_seterr("%s: tensor '%s' missing (file truncated?)", path,
                           fer_net_param(m->net, i)->name);
                break;
            }
        goto out;
    }
    rc = 0;
out:
    free(seen);
    fer_reader_close(rd);
    if (rc && m->net)
        fer_model_free(m);
    return rc;
}

int fer_model_init_from(fer_model *m, const char *path, int *copied, int *skipped)
{
    fer_reader *rd = fer_reader_open(path);
    fer_record r;
    int k;
    *copied = *skipped = 0;
    if (!rd)
        return -1;
    while ((k = fer_reader_next(rd, &r)) == 1) {
        int i = fer_net_find_param(m->net, r.name);
        if (i >= 0 && shape_matches(fer_net_param(m->net, i), &r)) {
            if (fer_net_param_write(m->net, i, r.data)) {
                fer_record_free(&r);
                fer_reader_close(rd);
                return -1;
            }
            (*copied)++;
        } else if (strcmp(r.name, "model")) {
            (*skipped)++;
        }
        fer_record_free(&r);
    }
    fer_reader_close(rd);
    return k < 0 ? -1 : 0;
}

void fer_model_preprocess(const fer_model *m, const uint8_t *px, size_t n, float *x)
{
    size_t total = n * m->opts.c * m->opts.h * m->opts.w;
    float scale = (float)(1.0 / (255.0 * m->std)), shift = (float)(m->mean / m->std);
    for (size_t i = 0; i < total; i++)
        x[i] = px[i] * scale - shift;
}
