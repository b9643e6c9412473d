/* test_modelfile: the one reader of models and checkpoints. Files older
 * fers wrote (tests/data) load to the same predictions and resume to the
 * same state; a model and a checkpoint come through a pipe; and a table
 * of damaged model records, meta texts and checkpoints, each refused
 * with a message naming what is wrong. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "error.h"
#include "load.h"
#include "model.h"
#include "predict.h"
#include "record.h"
#include "train.h"

#define MAXREC 256

static char *tmpname(char *buf, size_t n, const char *tag)
{
    snprintf(buf, n, "/tmp/fer-test-modelfile-%ld-%s", (long)getpid(), tag);
    return buf;
}

static const char *data_path(const char *name)
{
    static char buf[4096];
    const char *root = getenv("FER_ROOT");
    snprintf(buf, sizeof buf, "%s/tests/data/%s", root ? root : ".", name);
    return buf;
}

/* Every record of a file, payloads read. Returns the count, -1 on error. */
static int read_all(const char *path, fer_record *r)
{
    fer_reader *rd = fer_reader_open(path);
    int n = 0, k;
    if (!rd)
        return -1;
    while (n < MAXREC && (k = fer_reader_next(rd, &r[n])) == 1)
        n++;
    fer_reader_close(rd);
    return n;
}

static void free_all(fer_record *r, int n)
{
    for (int i = 0; i < n; i++)
        fer_record_free(&r[i]);
}

static int write_all(const char *path, const fer_record *r, int n)
{
    FILE *f = fopen(path, "wb");
    int rc = f ? 0 : -1;
    for (int i = 0; f && !rc && i < n; i++)
        rc = fer_record_write(f, &r[i]);
    if (f && fclose(f))
        rc = -1;
    return rc;
}

static int find(const fer_record *r, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(r[i].name, name))
            return i;
    return -1;
}

/* Replaces the first "from" in r's meta text with "to". */
static int edit_meta(fer_record *r, const char *from, const char *to)
{
    char *p = r->meta ? strstr(r->meta, from) : NULL, *s;
    size_t a, b = strlen(to);
    if (!p)
        return -1;
    a = (size_t)(p - r->meta);
    if (!(s = malloc(strlen(r->meta) - strlen(from) + b + 1)))
        return -1;
    memcpy(s, r->meta, a);
    memcpy(s + a, to, b);
    strcpy(s + a + b, p + strlen(from));
    free(r->meta);
    r->meta = s;
    r->meta_len = strlen(s);
    return 0;
}

/* meta less the line of key, malloc'd. */
static char *without_line(const char *meta, const char *key)
{
    char *s = strdup(meta), *p;
    size_t klen = strlen(key);
    for (p = s; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, key, klen) && p[klen] == '=') {
            memmove(p, strchr(p, '\n') + 1, strlen(strchr(p, '\n') + 1) + 1);
            break;
        }
    return s;
}

/* --- files older fers wrote ----------------------------------------------- */

/* The cnn written before its model files held batch norm's settings loads
 * with the ones it was made with (1e-5, 0.1) and predicts what that fer's
 * fer-eval did, to rounding (other machines may pick other SIMD kernels);
 * an eps of 1e-4 would not pass the same check. */
static void test_old_model(void)
{
    fer_model m;
    fer_dataset d;
    fer_record r[MAXREC];
    float *got, *other;
    int n, pi;
    size_t bad = 0, bad_other = 0, k;
    if (access(data_path("old-cnn.fer"), R_OK))
        SKIP("no tests/data under FER_ROOT");
    CHECK(fer_model_load(&m, data_path("old-cnn.fer")) == 0, "load: %s", fer_error());
    CHECK(fer_load_dataset(data_path("old-cnn-faces.fer"), &d) == 0, "faces: %s", fer_error());
    n = read_all(data_path("old-cnn-probs.fer"), r);
    pi = n > 0 ? find(r, n, "probs") : -1;
    CHECK(pi >= 0, "no probs record");
    if (!m.net || pi < 0 || !d.n) {
        if (n > 0)
            free_all(r, n);
        return;
    }
    CHECK(m.opts.bn_eps == 1e-5 && m.opts.bn_momentum == 0.1, "bn %g %g", m.opts.bn_eps,
          m.opts.bn_momentum);
    k = d.n * (size_t)m.nclasses;
    CHECK(r[pi].nbytes == k * sizeof(float), "probs of %llu bytes",
          (unsigned long long)r[pi].nbytes);
    got = malloc(k * sizeof *got);
    other = malloc(k * sizeof *other);
    CHECK(fer_predict(&m, d.pixels, d.n, 64, 0, got) == 0, "predict: %s", fer_error());
    fer_net_set_bn(m.net, 1e-4f, 0.1f);
    CHECK(fer_predict(&m, d.pixels, d.n, 64, 0, other) == 0, "predict: %s", fer_error());
    for (size_t i = 0; i < k && r[pi].nbytes == k * sizeof(float); i++) {
        float want = ((const float *)r[pi].data)[i];
        if (!(fabsf(got[i] - want) <= 1e-6f + 1e-5f * fabsf(want)) && !bad++)
            CHECK(0, "prob %zu: %.9g, that fer's %.9g", i, got[i], want);
        bad_other += !(fabsf(other[i] - want) <= 1e-6f + 1e-5f * fabsf(want));
    }
    CHECK(bad_other > 0, "eps 1e-4 predicts the same: the check tells nothing");
    free(got);
    free(other);
    free_all(r, n);
    fer_dataset_free(&d);
    fer_model_free(&m);
}

/* The ff of tests/data's checkpoints and its 12 images (README there). */
static int ckpt_model(fer_model *m)
{
    fer_model_opts o;
    fer_model_defaults("ff", &o);
    o.width = 0.01;
    o.c = 1;
    o.h = o.w = 8;
    return fer_model_build(m, "ff", &o, NULL);
}

static void ckpt_data(fer_dataset *d)
{
    uint8_t px[64];
    fer_dataset_init(d, 1, 8, 8);
    for (int i = 0; i < 12; i++) {
        for (int j = 0; j < 64; j++)
            px[j] = (uint8_t)(i * 37 + j * 11);
        fer_dataset_push(d, px, i % 7, FER_TRAINING);
    }
    d->nclasses = 7;
}

/* Resumes checkpoint in (an ff with ema or not) and stops at once, which
 * writes the restored state to out. 0, or fer_train's -1. */
static int resume(const char *in, const char *out, int ema)
{
    fer_model m;
    fer_dataset d;
    fer_train_opts o;
    fer_train_result res;
    int rc;
    if (ckpt_model(&m))
        return -1;
    ckpt_data(&d);
    fer_train_defaults(&o);
    o.epochs = 3;
    o.batch = 4;
    o.optim.kind = FER_ADAM;
    o.schedule = FER_SCHED_PLATEAU;
    o.ema = ema ? 0.9 : 0;
    o.stop_after = 2;   /* the checkpoints are at epoch 2's end */
    o.resume = in;
    o.checkpoint = out;
    rc = fer_train(&m, &d, NULL, &o, &res);
    if (rc == 0 && !res.paused)
        rc = fer_seterr("not paused after resuming");
    fer_dataset_free(&d);
    fer_model_free(&m);
    return rc;
}

/* What was read is what is written back: every record of the resumed
 * run's checkpoint equals the old one's, but for the keys older files
 * lack (the model's bn_eps and bn_momentum; the oldest's image order and
 * plateau counters, restored as a fresh run's). */
static void test_old_checkpoints(void)
{
    static const char *files[2] = {"old-ff-ckpt.fer", "older-ff-ckpt.fer"};
    char out[256];
    if (access(data_path(files[0]), R_OK))
        SKIP("no tests/data under FER_ROOT");
    tmpname(out, sizeof out, "resaved.fer");
    for (int f = 0; f < 2; f++) {
        fer_record a[MAXREC], b[MAXREC];
        int na, nb;
        CHECK(resume(data_path(files[f]), out, f == 0) == 0, "%s: %s", files[f], fer_error());
        na = read_all(data_path(files[f]), a);
        nb = read_all(out, b);
        CHECK(na > 30 && na == nb, "%s: %d records, resaved %d", files[f], na, nb);
        for (int i = 0; i < na && i < nb; i++) {
            const fer_record *x = &a[i], *y = &b[i];
            char *got = y->meta ? strdup(y->meta) : NULL;
            if (!strcmp(x->name, "model") && got) {
                /* the keys it predates, with the values it was made with */
                char *t = without_line(got, "bn_eps");
                CHECK(strstr(got, "\nbn_eps=1e-05\nbn_momentum=0.1\n"), "%s: model meta %s",
                      files[f], got);
                free(got);
                got = without_line(t, "bn_momentum");
                free(t);
            }
            if (!strcmp(x->name, "trainstate") && got) {
                /* the time trained, which they predate: the resumed run's
                 * moment before its checkpoint, on top of 0 */
                const char *at = strstr(got, "\nseconds=");
                char *t;
                CHECK(at && strtod(at + 9, NULL) >= 0 && strtod(at + 9, NULL) < 60,
                      "%s: trainstate %s", files[f], got);
                t = without_line(got, "seconds");
                free(got);
                got = t;
            }
            if (!strcmp(x->name, "trainstate") && f == 1) {
                /* the oldest: its keys, then a fresh run's counters; the
                 * first order */
                CHECK(got && x->meta && !strncmp(got, x->meta, strlen(x->meta)) &&
                          !strcmp(got + strlen(x->meta), "plateau_best=-1\nplateau_wait=0\n"),
                      "trainstate %s, was %s", got, x->meta);
                CHECK(y->dtype == FER_I64 && y->shape[0] == 12, "order %d (%llu)", y->dtype,
                      (unsigned long long)y->shape[0]);
                for (int j = 0; y->dtype == FER_I64 && j < 12; j++)
                    CHECK(((const int64_t *)y->data)[j] == j, "order[%d]", j);
                free(got);
                continue;
            }
            CHECK(!strcmp(x->name, y->name) && x->dtype == y->dtype && x->ndim == y->ndim &&
                      x->nbytes == y->nbytes && !memcmp(x->shape, y->shape, sizeof x->shape),
                  "%s: record %d: %s, resaved %s", files[f], i, x->name, y->name);
            CHECK(!x->nbytes || (x->nbytes == y->nbytes && !memcmp(x->data, y->data, x->nbytes)),
                  "%s: %s: values differ", files[f], x->name);
            CHECK(!x->meta == !got && (!x->meta || !strcmp(x->meta, got)),
                  "%s: %s: meta %s, was %s", files[f], x->name, got, x->meta);
            free(got);
        }
        if (na > 0)
            free_all(a, na);
        if (nb > 0)
            free_all(b, nb);
    }
    unlink(out);
}

/* --- pipes ---------------------------------------------------------------- */

/* A path reading file through a pipe (/dev/fd/N): its read end, or -1
 * when the file does not fit in the pipe's buffer. */
static int piped(const char *file, char *path, size_t n)
{
    int fd[2];
    char buf[4096];
    FILE *f = fopen(file, "rb");
    size_t k;
    if (!f || pipe(fd)) {
        if (f)
            fclose(f);
        return -1;
    }
    fcntl(fd[1], F_SETFL, O_NONBLOCK);
    while ((k = fread(buf, 1, sizeof buf, f)) > 0)
        if (write(fd[1], buf, k) != (ssize_t)k) {
            close(fd[0]);
            fd[0] = -1;
            break;
        }
    fclose(f);
    close(fd[1]);
    snprintf(path, n, "/dev/fd/%d", fd[0]);
    return fd[0];
}

/* A model and a checkpoint are read once: either may be a pipe. */
static void test_pipe(void)
{
    char path[64], out[256];
    fer_model m;
    int fd;
    if (access(data_path("old-cnn.fer"), R_OK))
        SKIP("no tests/data under FER_ROOT");
    if ((fd = piped(data_path("old-cnn.fer"), path, sizeof path)) < 0)
        SKIP("the model does not fit in a pipe's buffer");
    CHECK(fer_model_load(&m, path) == 0, "model from a pipe: %s", fer_error());
    if (m.net)
        fer_model_free(&m);
    close(fd);
    tmpname(out, sizeof out, "piped.fer");
    if ((fd = piped(data_path("old-ff-ckpt.fer"), path, sizeof path)) < 0)
        SKIP("the checkpoint does not fit in a pipe's buffer");
    CHECK(resume(path, out, 1) == 0, "checkpoint from a pipe: %s", fer_error());
    close(fd);
    unlink(out);
}

/* --- what is refused ------------------------------------------------------ */

/* A model file edited: the meta text's first "from" made "to", or the
 * record named from renamed to, dropped (to NULL) or doubled ("twice").
 * Loading it must fail with want in the message. */
static void refused_model(const char *good, const char *from, const char *to, const char *want)
{
    fer_record r[MAXREC];
    char path[256];
    fer_model m;
    int n = read_all(good, r), i;
    tmpname(path, sizeof path, "bad.fer");
    if (n <= 0) {
        CHECK(0, "reading %s", good);
        return;
    }
    if (strchr(from, '=') || strchr(from, '\n')) {
        CHECK(edit_meta(&r[0], from, to) == 0, "no '%s' in the meta", from);
    } else if ((i = find(r, n, from)) < 0) {
        CHECK(0, "no record %s", from);
    } else if (!to) {
        fer_record_free(&r[i]);
        memmove(&r[i], &r[i + 1], (n - i - 1) * sizeof *r);
        n--;
    } else if (!strcmp(to, "twice")) {
        write_all(path, r, n);
        FILE *f = fopen(path, "ab");
        CHECK(f && fer_record_write(f, &r[i]) == 0, "append");
        if (f)
            fclose(f);
        goto load;
    } else {
        snprintf(r[i].name, sizeof r[i].name, "%s", to);
    }
    CHECK(write_all(path, r, n) == 0, "write");
load:
    free_all(r, n);
    if (fer_model_load(&m, path) == 0) {
        CHECK(0, "'%s' -> '%s' loaded", from, to ? to : "(none)");
        fer_model_free(&m);
    } else {
        CHECK(strstr(fer_error(), want), "'%s' -> '%s': '%s' lacks '%s'", from,
              to ? to : "(none)", fer_error(), want);
        CHECK(strstr(fer_error(), path), "'%s': '%s' does not name the file", from, fer_error());
    }
    unlink(path);
}

static void test_refused_models(void)
{
    static const struct { const char *from, *to, *want; } bad[] = {
        {"\nclasses=", "\nfoo=1\nclasses=", "unknown key 'foo'"},
        {"\nclasses=", "\nwidth=0.01\nclasses=", "key 'width' given twice"},
        {"\nclasses=", "\n\nclasses=", "not key=value"},
        {"\nclasses=", "\n=1\nclasses=", "not key=value"},
        {"\nclasses=", "\nno equals sign\nclasses=", "not key=value"},
        {"width=0.01\n", "", "no key 'width'"},
        {"width=0.01\n", "width=0.01x\n", "key 'width': '0.01x'"},
        {"width=0.01\n", "width= 0.01\n", "key 'width'"},
        {"width=0.01\n", "width=0x1p-2\n", "key 'width': '0x1p-2': not a number"},
        {"width=0.01\n", "width=9\n", "key 'width': '9': out of range"},
        {"width=0.01\n", "width=0\n", "width 0"},
        {"width=0.01\n", "width=nan\n", "key 'width'"},
        {"dropout2=0\n", "dropout2=1\n", "dropouts in [0, 1)"},
        {"dropout2=0\n", "dropout2=-0.5\n", "key 'dropout2'"},
        {"dropout2=0\n", "dropout2=0\nstages=3\n", "'stages' in a ff"},
        {"bn_eps=1e-05\n", "bn_eps=0\n", "key 'bn_eps': '0': out of range"},
        {"bn_momentum=0.1\n", "bn_momentum=1.5\n", "key 'bn_momentum': '1.5'"},
        {"input=1,8,8\n", "input=1,8\n", "key 'input'"},
        {"input=1,8,8\n", "input=1,8,8,8\n", "key 'input'"},
        {"input=1,8,8\n", "input=1,8,x\n", "key 'input': 'x'"},
        {"input=1,8,8\n", "input=5,8,8\n", "key 'input': '5'"},
        {"mean=0.5\n", "mean=inf\n", "key 'mean'"},
        {"std=0.25\n", "std=0\n", "key 'std'"},
        {"std=0.25\n", "std=-1\n", "key 'std'"},
        {"classes=angry,", "classes=,angry,", "key 'classes'"},
        {"classes=angry,", "classes=angry,,", "key 'classes'"},
        {"classes=angry,", "classes=angry,angry,", "'angry' twice"},
        {"model_version=1\n", "model_version=1.5\n", "key 'model_version'"},
        {"model_version=1\n", "model_version=0\n", "key 'model_version'"},
        {"model_version=1\n", "model_version=99\n", "version 99 is newer"},
        {"model_version=1\n", "", "no key 'model_version'"},
        {"arch=ff\n", "arch=vgg\n", "unknown arch 'vgg'"},
        {"format=fer-model\n", "format=fer-dataset\n", "not a fer model"},
        {"neutral\n", "neutral", "does not end in a newline"},
        {"fc5.bias", "fc6.bias", "'fc6.bias': unknown record"},
        {"fc5.bias", NULL, "parameter 'fc5.bias' missing"},
        {"fc5.bias", "twice", "'fc5.bias': given twice"},
        {"fc5.bias", "model", "a second model record"},
        {"fc4.bias", "fc5.bias", "'fc5.bias': shape (1), the ff's is (7)"},
    };
    char good[256];
    fer_model m;
    tmpname(good, sizeof good, "good.fer");
    if (ckpt_model(&m)) {
        CHECK(0, "build: %s", fer_error());
        return;
    }
    CHECK(fer_model_save(&m, good) == 0, "save: %s", fer_error());
    fer_model_free(&m);
    CHECK(fer_model_load(&m, good) == 0, "the good one: %s", fer_error());
    if (m.net)
        fer_model_free(&m);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        refused_model(good, bad[i].from, bad[i].to, bad[i].want);
    unlink(good);
}

/* tests/data's checkpoint edited as refused_model does, resumed: want in
 * the message. */
static void refused_ckpt(const char *rec, const char *from, const char *to, const char *want)
{
    fer_record r[MAXREC];
    char in[256], out[256];
    int n = read_all(data_path("old-ff-ckpt.fer"), r), i = n > 0 ? find(r, n, rec) : -1;
    tmpname(in, sizeof in, "badck.fer");
    tmpname(out, sizeof out, "badck-out.fer");
    if (i < 0) {
        CHECK(0, "no record %s", rec);
        if (n > 0)
            free_all(r, n);
        return;
    }
    if (!from) {
        fer_record_free(&r[i]);
        memmove(&r[i], &r[i + 1], (n - i - 1) * sizeof *r);
        n--;
    } else if (!strcmp(from, "name")) {
        snprintf(r[i].name, sizeof r[i].name, "%s", to);
    } else if (!strcmp(from, "twice")) {
        r[n] = r[i];   /* the same record again at the end */
        r[n].meta = r[i].meta ? strdup(r[i].meta) : NULL;
        r[n].data = malloc(r[i].nbytes);
        memcpy(r[n].data, r[i].data, r[i].nbytes);
        n++;
    } else if (!strcmp(from, "order")) {
        ((int64_t *)r[i].data)[3] = ((int64_t *)r[i].data)[4];
    } else if (!strcmp(from, "shape")) {
        r[i].shape[0] /= 2;
        r[i].nbytes /= 2;
    } else {
        CHECK(edit_meta(&r[i], from, to) == 0, "no '%s' in %s", from, rec);
    }
    CHECK(write_all(in, r, n) == 0, "write");
    free_all(r, n);
    CHECK(resume(in, out, 1) == -1, "%s: '%s' -> '%s' resumed", rec, from ? from : "(drop)",
          to ? to : "");
    CHECK(strstr(fer_error(), want), "%s: '%s' -> '%s': '%s' lacks '%s'", rec,
          from ? from : "(drop)", to ? to : "", fer_error(), want);
    unlink(in);
    unlink(out);
}

static void test_refused_checkpoints(void)
{
    static const struct { const char *rec, *from, *to, *want; } bad[] = {
        {"optim", "kind=adam", "kind=sgd", "checkpoint of an sgd run, training with adam"},
        {"optim", "kind=adam", "kind=rmsprop", "key 'kind': 'rmsprop'"},
        {"optim", "t=6\n", "t=6\nx=1\n", "'optim': unknown key 'x'"},
        {"optim", "t=6\n", "t=-6\n", "key 't'"},
        {"optim", "t=6\n", "", "'optim': no key 't'"},
        {"optim", NULL, NULL, "without an optim record"},
        {"optim.fc1.weight.v", NULL, NULL, "'optim.fc1.weight.v' missing"},
        {"optim.fc1.weight.v", "name", "optim.nosuch.v", "'nosuch' is not a parameter"},
        {"optim.fc1.weight.v", "shape", NULL, "not f32 of shape (640)"},
        {"optim.fc1.bias.m", "twice", NULL, "'optim.fc1.bias.m': given twice"},
        {"trainstate", "epoch=2\n", "epoch=2x\n", "key 'epoch'"},
        {"trainstate", "best_epoch=2\n", "best_epoch=3\n", "key 'best_epoch': '3'"},
        {"trainstate", "best_val_acc=0\n", "best_val_acc=2\n", "key 'best_val_acc'"},
        {"trainstate", "lr=0.001\n", "lr=-1\n", "key 'lr'"},
        {"trainstate", "lr=0.001\n", "", "no key 'lr'"},
        {"trainstate", "rng=", "rng=1,2,3,", "key 'rng': not four numbers"},
        {"trainstate", "rng=16903111476375278889,", "rng=-1,", "key 'rng': '-1'"},
        {"trainstate", "rng=16903111476375278889,13241960867941375136,8217989718343501814,"
                       "15167371276647315576\n", "rng=0,0,0,0\n", "all zero"},
        {"trainstate", "plateau_wait=1\n", "plateau_wait=1\nfoo=2\n", "unknown key 'foo'"},
        {"trainstate", "ema_steps=6\n", "", "ema records without ema_steps"},
        {"trainstate", "plateau_wait=1\n", "plateau_wait=1\nseconds=-2\n", "key 'seconds'"},
        {"trainstate", "order", NULL, "not a permutation"},
        {"trainstate", NULL, NULL, "without a trainstate record"},
        {"best.fc3.bias", NULL, NULL, "'best.fc3.bias' missing"},
        {"ema.fc2.weight", "shape", NULL, "'ema.fc2.weight': not f32"},
        {"ema.fc2.weight", "name", "ema.fc2", "'fc2' is not a parameter"},
    };
    if (access(data_path("old-ff-ckpt.fer"), R_OK))
        SKIP("no tests/data under FER_ROOT");
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        refused_ckpt(bad[i].rec, bad[i].from, bad[i].to, bad[i].want);
}

/* --init copies what fits by name and shape from a model file, any model;
 * a file that is no model is refused. */
static void test_transfer(void)
{
    fer_model a;
    int copied = -1, skipped = -1;
    if (ckpt_model(&a)) {
        CHECK(0, "build: %s", fer_error());
        return;
    }
    CHECK(fer_model_init_from(&a, data_path("old-ff-ckpt.fer"), &copied, &skipped) == 0,
          "init from a checkpoint: %s", fer_error());
    CHECK(copied == fer_net_nparams(a.net) && skipped == 0, "copied %d skipped %d", copied,
          skipped);
    CHECK(fer_model_init_from(&a, data_path("old-cnn.fer"), &copied, &skipped) == 0,
          "init from a cnn: %s", fer_error());
    CHECK(copied == 0 && skipped > 0, "a cnn into a ff: copied %d skipped %d", copied, skipped);
    CHECK(fer_model_init_from(&a, data_path("old-cnn-faces.fer"), &copied, &skipped) == -1,
          "init from a data set");
    CHECK(strstr(fer_error(), "not a model"), "message: %s", fer_error());
    fer_model_free(&a);
}

int main(void)
{
    check_seed(77);
    RUN(test_old_model);
    RUN(test_old_checkpoints);
    RUN(test_pipe);
    RUN(test_refused_models);
    RUN(test_refused_checkpoints);
    RUN(test_transfer);
    return check_done();
}
