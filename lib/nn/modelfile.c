/* modelfile.c: model files and checkpoints, read once and strictly. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "modelfile.h"
#include "optim.h"
#include "parse.h"
#include "record.h"

/* seen[] groups: the kinds with a parameter, then the parameters */
enum { G_PARAM = FER_MF_EMA + 1, NGROUPS };

struct fer_modelfile {
    fer_reader *rd;
    fer_modelfile_meta meta;
    char *train_meta;
    fer_record r;               /* the record read last, until the next call */
    fer_net *net;
    int mode;
    int nparams;
    unsigned char *seen;        /* (NGROUPS, nparams) */
    int optim_seen, state_seen;
    fer_modelfile_optim optim;
    fer_modelfile_state state;
    int copied, skipped;
};

/* Sets "FILE: record N 'NAME': message" for the record read last. */
static int bad(const fer_modelfile *mf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int bad(const fer_modelfile *mf, const char *fmt, ...)
{
    char m[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return fer_seterr("%s: record %ld '%s': %s", fer_reader_name(mf->rd),
                      fer_reader_index(mf->rd), mf->r.name, m);
}

/* fer_error()'s message (a parser's) behind the record and key. */
static int bad_key(const fer_modelfile *mf, const char *key)
{
    return fer_error_prefix("%s: record %ld '%s': key '%s'", fer_reader_name(mf->rd),
                            fer_reader_index(mf->rd), mf->r.name, key);
}

/* Numbers (parse.h: the whole value, in range) of a key. */
static int num(const fer_modelfile *mf, const char *key, const char *v, double lo, double hi,
               double *out)
{
    return fer_parse_double(v, lo, hi, out) ? bad_key(mf, key) : 0;
}

static int whole(const fer_modelfile *mf, const char *key, const char *v, long lo, long hi,
                 long *out)
{
    return fer_parse_long(v, lo, hi, out) ? bad_key(mf, key) : 0;
}

static int whole_int(const fer_modelfile *mf, const char *key, const char *v, int lo, int hi,
                     int *out)
{
    long x;
    if (whole(mf, key, v, lo, hi, &x))
        return -1;
    *out = (int)x;
    return 0;
}

/* A decimal u64, digits only. */
static int u64(const char *v, uint64_t *out)
{
    char *end;
    unsigned long long x;
    size_t n = strlen(v);
    if (!n || strspn(v, "0123456789") != n)
        return fer_seterr("'%s': not an unsigned integer", v);
    errno = 0;
    x = strtoull(v, &end, 10);
    if (errno == ERANGE || *end)
        return fer_seterr("'%s': out of range 0..%llu", v, (unsigned long long)UINT64_MAX);
    *out = x;
    return 0;
}

/* Splits s at commas in place into at most n fields; returns how many it
 * found (n + 1 when there are more). */
static int split(char *s, char **f, int n)
{
    int k = 0;
    for (;;) {
        if (k == n)
            return n + 1;
        f[k++] = s;
        if (!(s = strchr(s, ',')))
            return k;
        *s++ = 0;
    }
}

/* Splits a meta text (a writable copy) into the values of keys[]; lines
 * whose key starts with "train." are appended to *train when train is not
 * NULL. A line without '=', an empty key, a key given twice or a text not
 * ending in a newline is an error; the first unknown key is left in
 * *unknown for the caller to report after the checks that name the file
 * better (format, version). */
static int split_meta(const fer_modelfile *mf, char *text, const char *const *keys, int nkeys,
                      const char **vals, char **train, const char **unknown)
{
    size_t tlen = 0;
    *unknown = NULL;
    for (int i = 0; i < nkeys; i++)
        vals[i] = NULL;
    if (!text)
        return 0;
    if (*text && text[strlen(text) - 1] != '\n')
        return bad(mf, "meta text does not end in a newline");
    for (char *line = text, *eol; *line; line = eol + 1) {
        char *eq;
        int i;
        eol = strchr(line, '\n');
        *eol = 0;
        if (!(eq = strchr(line, '=')) || eq == line)
            return bad(mf, "meta line '%.60s' is not key=value", line);
        *eq = 0;
        if (train && !strncmp(line, "train.", 6)) {
            size_t len = (size_t)(eol - line);   /* key, '=', value */
            char *t = realloc(*train, tlen + len + 2);
            if (!t)
                return fer_seterr("out of memory");
            *train = t;
            memcpy(t + tlen, line, len);
            t[tlen + (eq - line)] = '=';
            t[tlen + len] = '\n';
            t[tlen + len + 1] = 0;
            tlen += len + 1;
            continue;
        }
        for (i = 0; i < nkeys && strcmp(keys[i], line); i++)
            ;
        if (i == nkeys) {
            if (!*unknown)
                *unknown = line;
            continue;
        }
        if (vals[i])
            return bad(mf, "key '%s' given twice", line);
        vals[i] = eq + 1;
    }
    return 0;
}

/* --- the model record ---------------------------------------------------- */

enum {
    K_FORMAT, K_VERSION, K_ARCH, K_WIDTH, K_DROPOUT, K_DROPOUT2, K_STAGES, K_BN_EPS,
    K_BN_MOMENTUM, K_INPUT, K_MEAN, K_STD, K_CLASSES, NKEYS
};
static const char *const model_keys[NKEYS] = {
    "format", "model_version", "arch", "width", "dropout", "dropout2", "stages", "bn_eps",
    "bn_momentum", "input", "mean", "std", "classes"};

static int need(const fer_modelfile *mf, const char **v, int k)
{
    return v[k] ? 0 : bad(mf, "no key '%s'", model_keys[k]);
}

static int parse_classes(fer_modelfile *mf, char *s)
{
    char *f[FER_CLASSES_MAX + 1];
    int n = split(s, f, FER_CLASSES_MAX);
    fer_modelfile_meta *m = &mf->meta;
    if (n < 2 || n > FER_CLASSES_MAX)
        return bad(mf, "key 'classes': %s classes, a model has 2..%d",
                   n > FER_CLASSES_MAX ? "too many" : "fewer than 2", FER_CLASSES_MAX);
    for (int i = 0; i < n; i++) {
        if (!*f[i] || strlen(f[i]) >= FER_CLASS_NAME_MAX)
            return bad(mf, "key 'classes': class %d's name is empty or longer than %d bytes",
                       i, FER_CLASS_NAME_MAX - 1);
        for (int j = 0; j < i; j++)
            if (!strcmp(f[i], f[j]))
                return bad(mf, "key 'classes': '%s' twice", f[i]);
        strcpy(m->classes[i], f[i]);
    }
    m->opts.nclasses = n;
    return 0;
}

static int parse_model(fer_modelfile *mf)
{
    fer_modelfile_meta *m = &mf->meta;
    fer_record *r = &mf->r;
    const char *v[NKEYS], *unknown;
    char *text = NULL, *f[4];
    long x;
    int rc = -1;
    if (strcmp(r->name, "model"))
        return fer_seterr("%s: first record is '%s', not a model", fer_reader_name(mf->rd),
                          r->name);
    if (r->dtype != FER_U8 || r->ndim != 1 || r->shape[0] != 0)
        return bad(mf, "not u8 of shape (0)");
    if (r->meta && !(text = strdup(r->meta)))
        return fer_seterr("out of memory");
    if (split_meta(mf, text, model_keys, NKEYS, v, &mf->train_meta, &unknown))
        goto out;
    if (!v[K_FORMAT] || strcmp(v[K_FORMAT], "fer-model")) {
        fer_seterr("%s: not a fer model (no format=fer-model)", fer_reader_name(mf->rd));
        goto out;
    }
    /* a newer file is named as such before its keys or arch are judged */
    if (v[K_VERSION]) {
        if (whole(mf, "model_version", v[K_VERSION], 1, 1000000, &x))
            goto out;
        if (x > FER_MODEL_VERSION) {
            fer_seterr("%s: model version %ld is newer than this fer reads (%d)",
                       fer_reader_name(mf->rd), x, FER_MODEL_VERSION);
            goto out;
        }
        m->version = (int)x;
    }
    if (need(mf, v, K_ARCH))
        goto out;
    if (strlen(v[K_ARCH]) >= sizeof m->arch || fer_model_defaults(v[K_ARCH], &m->opts)) {
        bad(mf, "unknown arch '%.40s' (cnn, ff, resnet18)", v[K_ARCH]);
        goto out;
    }
    strcpy(m->arch, v[K_ARCH]);
    if (need(mf, v, K_VERSION))
        goto out;
    if (unknown) {
        bad(mf, "unknown key '%.60s'", unknown);
        goto out;
    }
    /* width (0, 8] and dropouts [0, 1): what fer_model_build and the
     * layers take */
    if (need(mf, v, K_WIDTH) || num(mf, "width", v[K_WIDTH], 0, 8, &m->opts.width) ||
        need(mf, v, K_DROPOUT) || num(mf, "dropout", v[K_DROPOUT], 0, 1, &m->opts.dropout) ||
        need(mf, v, K_DROPOUT2) || num(mf, "dropout2", v[K_DROPOUT2], 0, 1, &m->opts.dropout2))
        goto out;
    if (!(m->opts.width > 0) || m->opts.dropout == 1 || m->opts.dropout2 == 1) {
        bad(mf, "width %g, dropout %g, dropout2 %g: take width in (0, 8], dropouts in [0, 1)",
            m->opts.width, m->opts.dropout, m->opts.dropout2);
        goto out;
    }
    if (v[K_STAGES]) {   /* absent in version 1 files: the study's 3 */
        if (strcmp(m->arch, "cnn")) {
            bad(mf, "key 'stages' in a %s (a cnn key)", m->arch);
            goto out;
        }
        if (whole_int(mf, "stages", v[K_STAGES], 1, FER_CNN_STAGES_MAX, &m->opts.stages))
            goto out;
    }
    /* absent before they were stored: the values every fer used then */
    if ((v[K_BN_EPS] && num(mf, "bn_eps", v[K_BN_EPS], 1e-12, 1, &m->opts.bn_eps)) ||
        (v[K_BN_MOMENTUM] && num(mf, "bn_momentum", v[K_BN_MOMENTUM], 0, 1,
                                 &m->opts.bn_momentum)))
        goto out;
    if (need(mf, v, K_INPUT))
        goto out;
    if (split((char *)v[K_INPUT], f, 3) != 3) {
        bad(mf, "key 'input': not C,H,W");
        goto out;
    }
    if (whole_int(mf, "input", f[0], 1, 4, &m->opts.c) ||
        whole_int(mf, "input", f[1], 8, 1024, &m->opts.h) ||
        whole_int(mf, "input", f[2], 8, 1024, &m->opts.w))
        goto out;
    /* x = (pixel/255 - mean) / std stays finite in float */
    if (need(mf, v, K_MEAN) || num(mf, "mean", v[K_MEAN], -1e6, 1e6, &m->mean) ||
        need(mf, v, K_STD) || num(mf, "std", v[K_STD], 1e-6, 1e6, &m->std))
        goto out;
    if (need(mf, v, K_CLASSES) || parse_classes(mf, (char *)v[K_CLASSES]))
        goto out;
    m->train_meta = mf->train_meta;
    rc = 0;
out:
    free(text);
    return rc;
}

/* --- the training state -------------------------------------------------- */

static int parse_optim(fer_modelfile *mf)
{
    static const char *const keys[2] = {"kind", "t"};
    const char *v[2], *unknown;
    char *text = mf->r.meta ? strdup(mf->r.meta) : NULL;
    int rc = -1;
    if (mf->r.meta && !text)
        return fer_seterr("out of memory");
    if (mf->r.dtype != FER_U8 || mf->r.ndim != 1 || mf->r.shape[0] != 0)
        bad(mf, "not u8 of shape (0)");
    else if (!split_meta(mf, text, keys, 2, v, NULL, &unknown)) {
        if (unknown)
            bad(mf, "unknown key '%.60s'", unknown);
        else if (!v[0] || !v[1])
            bad(mf, "no key '%s'", v[0] ? "t" : "kind");
        else if ((mf->optim.kind = fer_optim_parse(v[0])) < 0)
            bad(mf, "key 'kind': '%.40s': not sgd, adam or adamw", v[0]);
        else
            rc = whole(mf, "t", v[1], 0, 1L << 53, &mf->optim.t);
    }
    free(text);
    return rc;
}

enum {
    S_EPOCH, S_BEST_EPOCH, S_BEST_ACC, S_LR, S_RNG, S_PLATEAU_BEST, S_PLATEAU_WAIT, S_EMA_STEPS,
    S_SECONDS, NSKEYS
};
static const char *const state_keys[NSKEYS] = {
    "epoch", "best_epoch", "best_val_acc", "lr", "rng", "plateau_best", "plateau_wait",
    "ema_steps", "seconds"};

/* The image order: a permutation of 0..n-1 (each epoch shuffles it). */
static int check_order(fer_modelfile *mf)
{
    const int64_t *o = mf->r.data;
    uint64_t n = mf->r.shape[0];
    unsigned char *hit = calloc(n, 1);
    if (!hit)
        return fer_seterr("out of memory");
    for (uint64_t i = 0; i < n; i++) {
        if (o[i] < 0 || (uint64_t)o[i] >= n || hit[o[i]]++) {
            free(hit);
            return bad(mf, "the image order is not a permutation of 0..%llu (%lld at %llu)",
                       (unsigned long long)n - 1, (long long)o[i], (unsigned long long)i);
        }
    }
    free(hit);
    mf->state.order = o;
    mf->state.norder = n;
    return 0;
}

static int parse_state(fer_modelfile *mf)
{
    fer_modelfile_state *s = &mf->state;
    fer_record *r = &mf->r;
    const char *v[NSKEYS], *unknown;
    char *text = r->meta ? strdup(r->meta) : NULL, *f[5];
    long x;
    int rc = -1;
    if (r->meta && !text)
        return fer_seterr("out of memory");
    memset(s, 0, sizeof *s);
    /* older checkpoints: u8 (0), no order */
    if (!(r->ndim == 1 && ((r->dtype == FER_U8 && r->shape[0] == 0) ||
                           (r->dtype == FER_I64 && r->shape[0] > 0)))) {
        bad(mf, "neither i64 (images) nor u8 (0)");
        goto out;
    }
    if (split_meta(mf, text, state_keys, NSKEYS, v, NULL, &unknown))
        goto out;
    if (unknown) {
        bad(mf, "unknown key '%.60s'", unknown);
        goto out;
    }
    for (int k = S_EPOCH; k <= S_RNG; k++)
        if (!v[k]) {
            bad(mf, "no key '%s'", state_keys[k]);
            goto out;
        }
    if (whole_int(mf, "epoch", v[S_EPOCH], 0, 1000000, &s->epoch) ||
        whole_int(mf, "best_epoch", v[S_BEST_EPOCH], 0, s->epoch, &s->best_epoch) ||
        num(mf, "best_val_acc", v[S_BEST_ACC], -1, 1, &s->best_val_acc) ||
        num(mf, "lr", v[S_LR], 0, 1e6, &s->lr))
        goto out;
    if (split((char *)v[S_RNG], f, 4) != 4) {
        bad(mf, "key 'rng': not four numbers");
        goto out;
    }
    for (int i = 0; i < 4; i++)
        if (u64(f[i], &s->rng[i])) {
            bad_key(mf, "rng");
            goto out;
        }
    if (!(s->rng[0] | s->rng[1] | s->rng[2] | s->rng[3])) {
        bad(mf, "key 'rng': all zero, not a generator's state");
        goto out;
    }
    /* absent before exact resume: what a fresh run starts with */
    s->plateau_best = -1;
    s->ema_steps = -1;
    if ((v[S_PLATEAU_BEST] &&
         num(mf, "plateau_best", v[S_PLATEAU_BEST], -1, 1, &s->plateau_best)) ||
        (v[S_PLATEAU_WAIT] &&
         whole_int(mf, "plateau_wait", v[S_PLATEAU_WAIT], 0, 1000000, &s->plateau_wait)))
        goto out;
    if (v[S_SECONDS] && num(mf, "seconds", v[S_SECONDS], 0, 1e12, &s->seconds))
        goto out;
    if (v[S_EMA_STEPS]) {
        if (whole(mf, "ema_steps", v[S_EMA_STEPS], 0, 1L << 53, &x))
            goto out;
        s->ema_steps = x;
    }
    if (r->dtype == FER_I64 && check_order(mf))
        goto out;
    rc = 0;
out:
    free(text);
    return rc;
}

/* --- the file ------------------------------------------------------------- */

fer_modelfile *fer_modelfile_open(const char *path)
{
    fer_modelfile *mf = calloc(1, sizeof *mf);
    int k;
    if (!mf) {
        fer_seterr("out of memory");
        return NULL;
    }
    if (!(mf->rd = fer_reader_open(path))) {
        free(mf);
        return NULL;
    }
    fer_reader_expect(mf->rd, "fer model");
    k = fer_reader_next(mf->rd, &mf->r);
    if (k == 0)
        fer_seterr("%s: empty file, not a model", fer_reader_name(mf->rd));
    if (k <= 0 || parse_model(mf)) {
        fer_modelfile_close(mf);
        return NULL;
    }
    return mf;
}

void fer_modelfile_close(fer_modelfile *mf)
{
    if (!mf)
        return;
    fer_record_free(&mf->r);
    fer_reader_close(mf->rd);
    free(mf->train_meta);
    free(mf->seen);
    free(mf);
}

const char *fer_modelfile_name(const fer_modelfile *mf) { return fer_reader_name(mf->rd); }
const fer_modelfile_meta *fer_modelfile_model(const fer_modelfile *mf) { return &mf->meta; }

void fer_modelfile_counts(const fer_modelfile *mf, int *copied, int *skipped)
{
    *copied = mf->copied;
    *skipped = mf->skipped;
}

int fer_modelfile_seen(const fer_modelfile *mf, int kind, int i)
{
    if (kind == FER_MF_OPTIM)
        return mf->optim_seen;
    if (kind == FER_MF_STATE)
        return mf->state_seen;
    FER_ASSERT(mf->seen && i >= 0 && i < mf->nparams);
    return mf->seen[(size_t)kind * mf->nparams + i];
}

int fer_modelfile_bind(fer_modelfile *mf, fer_net *net, int mode)
{
    FER_ASSERT(!mf->net);
    mf->net = net;
    mf->mode = mode;
    mf->nparams = fer_net_nparams(net);
    if (!(mf->seen = calloc((size_t)NGROUPS * (mf->nparams ? mf->nparams : 1), 1)))
        return fer_seterr("out of memory");
    return 0;
}

/* The one place a file's values become a parameter's. */
static int param_set(fer_net *net, int i, const float *src)
{
    return fer_net_param_write(net, i, src);
}

static int same_shape(const fer_param *p, const fer_record *r)
{
    if (r->ndim != p->ndim)
        return 0;
    for (int d = 0; d < p->ndim; d++)
        if (r->shape[d] != (uint64_t)p->shape[d])
            return 0;
    return 1;
}

static const char *shape_text(const fer_record *r, char *buf, size_t n)
{
    size_t k = (size_t)snprintf(buf, n, "(");
    for (int d = 0; d < r->ndim && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, "%s%llu", d ? "," : "",
                              (unsigned long long)r->shape[d]);
    if (k < n)
        snprintf(buf + k, n - k, ")");
    return buf;
}

static int finite_values(const fer_modelfile *mf)
{
    const float *x = mf->r.data;
    for (uint64_t j = 0, n = fer_record_count(&mf->r); j < n; j++)
        if (!isfinite(x[j]))
            return bad(mf, "a non-finite value (%g at %llu)", x[j], (unsigned long long)j);
    return 0;
}

/* The kind of a training-state record by its name, with the parameter
 * name it is about in pname; -1 for a parameter record. */
static int kind_of(const char *name, char *pname, size_t n)
{
    size_t len = strlen(name);
    if (!strcmp(name, "optim"))
        return FER_MF_OPTIM;
    if (!strcmp(name, "trainstate"))
        return FER_MF_STATE;
    if (!strncmp(name, "optim.", 6) && len > 8 && name[len - 2] == '.' &&
        (name[len - 1] == 'm' || name[len - 1] == 'v')) {
        snprintf(pname, n, "%.*s", (int)(len - 8), name + 6);
        return name[len - 1] == 'm' ? FER_MF_OPTIM_M : FER_MF_OPTIM_V;
    }
    if (!strncmp(name, "best.", 5) || !strncmp(name, "ema.", 4)) {
        snprintf(pname, n, "%s", strchr(name, '.') + 1);
        return name[0] == 'b' ? FER_MF_BEST : FER_MF_EMA;
    }
    return -1;
}

static int read_param(fer_modelfile *mf)
{
    int i = fer_net_find_param(mf->net, mf->r.name);
    const fer_param *p = i >= 0 ? fer_net_param(mf->net, i) : NULL;
    char a[160], b[160];
    if (mf->mode == FER_MF_TRANSFER && (!p || !same_shape(p, &mf->r))) {
        mf->skipped++;
        return 0;
    }
    if (!p)
        return bad(mf, "unknown record: not a parameter of a %s", mf->meta.arch);
    if (mf->r.dtype != FER_F32)
        return bad(mf, "%s, not f32", fer_dtype_name(mf->r.dtype));
    if (!same_shape(p, &mf->r)) {
        fer_record q = {0};
        q.ndim = p->ndim;
        for (int d = 0; d < p->ndim; d++)
            q.shape[d] = (uint64_t)p->shape[d];
        return bad(mf, "shape %s, the %s's is %s", shape_text(&mf->r, a, sizeof a),
                   mf->meta.arch, shape_text(&q, b, sizeof b));
    }
    if (mf->seen[(size_t)G_PARAM * mf->nparams + i]++)
        return bad(mf, "given twice");
    if (finite_values(mf))
        return -1;
    if (param_set(mf->net, i, mf->r.data))
        return -1;
    mf->copied++;
    return 0;
}

/* A record about a parameter (optim.<p>.m|v, best.<p>, ema.<p>): f32 (n). */
static int read_about(fer_modelfile *mf, int kind, const char *pname, fer_modelfile_item *it)
{
    int i = fer_net_find_param(mf->net, pname);
    const fer_param *p = i >= 0 ? fer_net_param(mf->net, i) : NULL;
    if (!p)
        return bad(mf, "'%s' is not a parameter of a %s", pname, mf->meta.arch);
    if (mf->r.dtype != FER_F32 || mf->r.ndim != 1 || mf->r.shape[0] != p->n)
        return bad(mf, "not f32 of shape (%zu)", p->n);
    if (mf->seen[(size_t)kind * mf->nparams + i]++)
        return bad(mf, "given twice");
    if (finite_values(mf))
        return -1;
    it->param = i;
    it->values = mf->r.data;
    return 0;
}

/* What a complete file holds, checked at its end. */
static int check_end(fer_modelfile *mf)
{
    const char *name = fer_reader_name(mf->rd);
    int n[NGROUPS] = {0};
    if (mf->mode == FER_MF_TRANSFER)
        return 0;
    for (int g = 0; g < NGROUPS; g++)
        for (int i = 0; i < mf->nparams; i++)
            n[g] += mf->seen[(size_t)g * mf->nparams + i];
    for (int i = 0; i < mf->nparams; i++) {
        const char *p = fer_net_param(mf->net, i)->name;
        if (!mf->seen[(size_t)G_PARAM * mf->nparams + i])
            return fer_seterr("%s: parameter '%s' missing (file cut short?)", name, p);
        if (n[FER_MF_BEST] && !mf->seen[(size_t)FER_MF_BEST * mf->nparams + i])
            return fer_seterr("%s: 'best.%s' missing (file cut short?)", name, p);
        if (n[FER_MF_EMA] && !mf->seen[(size_t)FER_MF_EMA * mf->nparams + i])
            return fer_seterr("%s: 'ema.%s' missing (file cut short?)", name, p);
    }
    if (!mf->state_seen &&
        (mf->optim_seen || n[FER_MF_OPTIM_M] || n[FER_MF_OPTIM_V] || n[FER_MF_BEST] ||
         n[FER_MF_EMA]))
        return fer_seterr("%s: training state without a trainstate record (file cut short?)",
                          name);
    if ((n[FER_MF_OPTIM_M] || n[FER_MF_OPTIM_V]) && !mf->optim_seen)
        return fer_seterr("%s: optimiser moments without an optim record", name);
    if (mf->state_seen && (mf->state.ema_steps >= 0) != (n[FER_MF_EMA] > 0))
        return fer_seterr("%s: %s", name, n[FER_MF_EMA] ? "ema records without ema_steps"
                                                        : "ema_steps without ema records");
    return 0;
}

int fer_modelfile_next(fer_modelfile *mf, fer_modelfile_item *it)
{
    FER_ASSERT(mf->net);
    for (;;) {
        char pname[FER_NAME_MAX + 1];
        int k, kind;
        fer_record_free(&mf->r);
        memset(it, 0, sizeof *it);
        it->param = -1;
        if ((k = fer_reader_next(mf->rd, &mf->r)) <= 0)
            return k < 0 ? -1 : check_end(mf) ? -1 : 0;
        kind = kind_of(mf->r.name, pname, sizeof pname);
        if (kind < 0 && !strcmp(mf->r.name, "model"))
            return bad(mf, "a second model record");
        if (kind < 0) {
            if (read_param(mf))
                return -1;
            continue;
        }
        if (mf->mode == FER_MF_TRANSFER)
            continue;
        it->kind = kind;
        switch (kind) {
        case FER_MF_OPTIM:
            if (mf->optim_seen++)
                return bad(mf, "given twice");
            if (parse_optim(mf))
                return -1;
            it->optim = &mf->optim;
            return 1;
        case FER_MF_STATE:
            if (mf->state_seen++)
                return bad(mf, "given twice");
            if (parse_state(mf))
                return -1;
            it->state = &mf->state;
            return 1;
        default:
            return read_about(mf, kind, pname, it) ? -1 : 1;
        }
    }
}
