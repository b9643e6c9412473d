/* test_model: the cnn's stages (the study's 3 as they always were, a
 * deeper 4), their weights and FLOPs against the formulas, and what model
 * files record of them (model_version, stages=) and of batch norm
 * (bn_eps=, bn_momentum=). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "net_test.h"
#include "error.h"
#include "model.h"
#include "net.h"
#include "record.h"

static char *tmpname(char *buf, size_t n, const char *tag)
{
    snprintf(buf, n, "/tmp/fer-test-model-%ld-%s", (long)getpid(), tag);
    return buf;
}

static int build_cnn(fer_model *m, int stages, double width, int hw, uint64_t seed)
{
    fer_model_opts o;
    fer_rng rng;
    fer_model_defaults("cnn", &o);
    if (stages)
        o.stages = stages;
    o.width = width;
    o.h = o.w = hw;
    fer_rng_seed(&rng, seed);
    return fer_model_build(m, "cnn", &o, &rng);
}

/* The shape of a parameter as "a,b,c,d", or "" when there is none. */
static const char *shape(fer_model *m, const char *name)
{
    static char buf[64];
    int i = fer_net_find_param(m->net, name);
    const fer_param *p = i >= 0 ? fer_net_param(m->net, i) : NULL;
    size_t k = 0;
    buf[0] = 0;
    for (int d = 0; p && d < p->ndim; d++)
        k += snprintf(buf + k, sizeof buf - k, "%s%d", d ? "," : "", p->shape[d]);
    return buf;
}

/* The weights and forward FLOPs of a cnn from its description, counted
 * here apart from the builder: per stage b two 3x3 convs (with bias) of
 * 64 width 2^b channels, each with a batch norm (gamma, beta), at the
 * stage's map size; then fc1 (256 width, bias), its batch norm, fc2. */
static void cnn_formula(int stages, double width, int hw, double *weights, double *flops)
{
    int cin = 1, s = hw;
    int f = (int)(256 * width + 0.5);
    *weights = *flops = 0;
    for (int b = 0; b < stages; b++) {
        int k = (int)(64 * width * (1 << b) + 0.5);
        for (int u = 0; u < 2; u++) {
            *weights += (double)cin * k * 9 + k + 2 * k;
            *flops += 2.0 * cin * k * 9 * s * s;
            cin = k;
        }
        s /= 2;
    }
    *weights += (double)cin * s * s * f + f + 2 * f + (double)f * 7 + 7;
    *flops += 2.0 * cin * s * s * f + 2.0 * f * 7;
}

/* The study's cnn keeps its names and shapes; 4 stages add conv7, conv8
 * (512 channels at width 1) and move the dense batch norm to bn9. */
static void test_stages_layout(void)
{
    fer_model m3, m4;
    double w, fl;
    CHECK(build_cnn(&m3, 0, 0.25, 48, 1) == 0, "3 stages: %s", fer_error());
    CHECK(build_cnn(&m4, 4, 0.25, 48, 1) == 0, "4 stages: %s", fer_error());
    if (!m3.net || !m4.net)
        return;
    CHECK(m3.opts.stages == 3, "default stages %d", m3.opts.stages);
    CHECK(fer_net_nparams(m3.net) == 6 * 6 + 2 + 4 + 2, "3 stages: %d tensors",
          fer_net_nparams(m3.net));
    CHECK(!strcmp(shape(&m3, "conv6.weight"), "64,64,3,3"), "conv6 %s", shape(&m3, "conv6.weight"));
    CHECK(!strcmp(shape(&m3, "bn7.running_var"), "64"), "bn7 %s", shape(&m3, "bn7.running_var"));
    CHECK(!strcmp(shape(&m3, "fc1.weight"), "64,2304"), "fc1 %s", shape(&m3, "fc1.weight"));
    CHECK(!*shape(&m3, "conv7.weight"), "3 stages have conv7");
    CHECK(!strcmp(shape(&m4, "conv7.weight"), "128,64,3,3"), "conv7 %s",
          shape(&m4, "conv7.weight"));
    CHECK(!strcmp(shape(&m4, "conv8.weight"), "128,128,3,3"), "conv8 %s",
          shape(&m4, "conv8.weight"));
    CHECK(!strcmp(shape(&m4, "bn8.weight"), "128"), "bn8 %s", shape(&m4, "bn8.weight"));
    CHECK(!strcmp(shape(&m4, "bn9.running_mean"), "64"), "bn9 %s",
          shape(&m4, "bn9.running_mean"));
    CHECK(!strcmp(shape(&m4, "fc1.weight"), "64,1152"), "fc1 %s", shape(&m4, "fc1.weight"));
    CHECK(!strcmp(shape(&m4, "fc2.weight"), "7,64"), "fc2 %s", shape(&m4, "fc2.weight"));
    for (int s = 3; s <= 4; s++) {
        fer_model *m = s == 3 ? &m3 : &m4;
        cnn_formula(s, 0.25, 48, &w, &fl);
        CHECK((double)fer_net_count_weights(m->net) == w, "%d stages: %zu weights, want %.0f", s,
              fer_net_count_weights(m->net), w);
        CHECK_CLOSE(fer_net_flops(m->net), fl, 0, 1e-12);
    }
    fer_model_free(&m3);
    fer_model_free(&m4);
    /* width 1: the sizes the recipe plans with */
    CHECK(build_cnn(&m4, 4, 1, 48, 1) == 0, "4 stages width 1: %s", fer_error());
    cnn_formula(4, 1, 48, &w, &fl);
    CHECK((double)fer_net_count_weights(m4.net) == w && w == 5870279, "%zu weights, want %.0f",
          fer_net_count_weights(m4.net), w);
    CHECK_CLOSE(fer_net_flops(m4.net), fl, 0, 1e-12);
    fer_model_free(&m4);
}

/* Stages outside 1..5, or more than the input's size allows, are refused
 * when building. */
static void test_stages_refused(void)
{
    fer_model m;
    CHECK(build_cnn(&m, 6, 0.25, 48, 1) == -1, "6 stages built");
    CHECK(strstr(fer_error(), "6 stages"), "message: %s", fer_error());
    CHECK(build_cnn(&m, -1, 0.25, 48, 1) == -1, "-1 stages built");
    CHECK(build_cnn(&m, 4, 0.25, 8, 1) == -1, "4 stages of 8x8 built");
    CHECK(strstr(fer_error(), "does not fit"), "message: %s", fer_error());
    CHECK(build_cnn(&m, 5, 0.125, 48, 1) == 0, "5 stages of 48x48: %s", fer_error());
    fer_model_free(&m);
}

/* The meta text of a model file's first record, malloc'd. */
static char *file_meta(const char *path)
{
    fer_reader *rd = fer_reader_open(path);
    fer_record r;
    char *meta = NULL;
    if (rd && fer_reader_next(rd, &r) == 1) {
        meta = r.meta ? strdup(r.meta) : NULL;
        fer_record_free(&r);
    }
    if (rd)
        fer_reader_close(rd);
    return meta;
}

/* A 3-stage cnn is written as every fer has written it (model_version=1,
 * no stages key); a deeper one says model_version=2 and stages=4, and
 * loads back to the same logits. */
static void test_stages_file(void)
{
    char path[256];
    fer_model m, l;
    char *meta;
    tmpname(path, sizeof path, "s.fer");
    for (int s = 3; s <= 4; s++) {
        float x[2 * 48 * 48], z[14];
        CHECK(build_cnn(&m, s, 0.125, 48, 7) == 0, "build: %s", fer_error());
        if (!m.net)
            continue;
        CHECK(fer_model_save(&m, path) == 0, "save: %s", fer_error());
        meta = file_meta(path);
        CHECK(meta != NULL, "no meta");
        if (meta && s == 3)
            CHECK(strstr(meta, "\nmodel_version=1\n") && !strstr(meta, "stages"), "meta: %s",
                  meta);
        if (meta && s == 4)
            CHECK(strstr(meta, "\nmodel_version=2\n") && strstr(meta, "\nstages=4\n"),
                  "meta: %s", meta);
        free(meta);
        CHECK(fer_model_load(&l, path) == 0, "load: %s", fer_error());
        if (l.net) {
            CHECK(l.opts.stages == s, "loaded %d stages, saved %d", l.opts.stages, s);
            for (int i = 0; i < 2 * 48 * 48; i++)
                x[i] = check_randf(-2, 2);
            fer_net_plan(m.net, 2);
            fer_net_plan(l.net, 2);
            float z2[sizeof z / sizeof *z];
            fer_net_forward(m.net, x, 2, 0, 0, 0, z);
            fer_net_forward(l.net, x, 2, 0, 0, 0, z2);
            CHECK(!memcmp(z, z2, sizeof z),
                  "%d stages: logits differ after loading", s);
            fer_model_free(&l);
        }
        fer_model_free(&m);
    }
    unlink(path);
}

/* A model record naming stages the reader cannot build is refused. */
static void test_stages_bad_meta(void)
{
    static const char *bad[] = {"stages=0\n", "stages=6\n", "stages=four\n", "stages=\n"};
    char path[256];
    fer_model l;
    tmpname(path, sizeof path, "bad.fer");
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char meta[512];
        FILE *f = fopen(path, "wb");
        fer_record r;
        uint64_t zero = 0;
        snprintf(meta, sizeof meta,
                 "format=fer-model\nmodel_version=2\narch=cnn\nwidth=0.125\ndropout=0.2\n"
                 "dropout2=0\n%sinput=1,48,48\nmean=0.5\nstd=0.25\nclasses=a,b\n", bad[i]);
        fer_record_init(&r, "model", FER_U8, 1, &zero, NULL, meta);
        CHECK(f && fer_record_write(f, &r) == 0, "writing");
        if (f)
            fclose(f);
        CHECK(fer_model_load(&l, path) == -1, "'%s' loaded", bad[i]);
        CHECK(strstr(fer_error(), "stages"), "'%s': message: %s", bad[i], fer_error());
    }
    unlink(path);
}

/* Batch norm's eps and momentum go into the file (model_version=3 when
 * they are not the values older fers assumed), come back, and are what
 * the net uses: eps in inference, momentum in the running statistics. */
static void test_bn_settings(void)
{
    char path[256], *meta;
    fer_model a, b, l;
    fer_model_opts o;
    fer_rng rng;
    float x[4 * 16 * 16], za[4 * 7], zb[4 * 7];
    fer_model_defaults("cnn", &o);
    o.width = 0.125;
    o.h = o.w = 16;
    tmpname(path, sizeof path, "bn.fer");
    fer_rng_seed(&rng, 3);
    CHECK(fer_model_build(&a, "cnn", &o, &rng) == 0, "build: %s", fer_error());
    o.bn_eps = 1e-3;
    o.bn_momentum = 0.25;
    fer_rng_seed(&rng, 3);   /* the same weights */
    CHECK(fer_model_build(&b, "cnn", &o, &rng) == 0, "build: %s", fer_error());
    if (!a.net || !b.net)
        return;
    CHECK(fer_model_save(&a, path) == 0, "save: %s", fer_error());
    meta = file_meta(path);
    CHECK(meta && strstr(meta, "\nmodel_version=1\n") &&
              strstr(meta, "\nbn_eps=1e-05\nbn_momentum=0.1\n"), "meta: %s", meta);
    free(meta);
    CHECK(fer_model_save(&b, path) == 0, "save: %s", fer_error());
    meta = file_meta(path);
    CHECK(meta && strstr(meta, "\nmodel_version=3\n") &&
              strstr(meta, "\nbn_eps=0.001\nbn_momentum=0.25\n"), "meta: %s", meta);
    free(meta);
    CHECK(fer_model_load(&l, path) == 0, "load: %s", fer_error());
    if (l.net) {
        CHECK(l.opts.bn_eps == 1e-3 && l.opts.bn_momentum == 0.25, "loaded %g %g",
              l.opts.bn_eps, l.opts.bn_momentum);
        for (int i = 0; i < 4 * 16 * 16; i++)
            x[i] = check_randf(-2, 2);
        fer_net_plan(a.net, 4);
        fer_net_plan(b.net, 4);
        fer_net_plan(l.net, 4);
        float zl[sizeof zb / sizeof *zb];
        fer_net_forward(a.net, x, 4, 0, 0, 0, za);
        fer_net_forward(b.net, x, 4, 0, 0, 0, zb);
        fer_net_forward(l.net, x, 4, 0, 0, 0, zl);
        CHECK(!memcmp(zb, zl, sizeof zb), "logits differ after loading");
        CHECK(memcmp(za, zb, sizeof za), "eps 1e-3 gives eps 1e-5's logits");
        /* from running mean 0 and variance 1, one batch: m = k mean,
         * v = 1 - k + k var, k the momentum */
        fer_rng_seed(&rng, 4);
        fer_net_forward(a.net, x, 4, 1, 4, 0, NULL);
        fer_net_forward(b.net, x, 4, 1, 4, 0, NULL);
        {
            const float *ma = named_w(a.net, "bn1.running_mean"),
                        *mb = named_w(b.net, "bn1.running_mean"),
                        *va = named_w(a.net, "bn1.running_var"),
                        *vb = named_w(b.net, "bn1.running_var");
            for (size_t j = 0; j < named_n(a.net, "bn1.running_mean"); j++) {
                CHECK_CLOSE(mb[j], 2.5 * ma[j], 1e-7, 1e-5);
                CHECK_CLOSE(vb[j] - 0.75, 2.5 * (va[j] - 0.9), 1e-6, 1e-4);
            }
        }
        fer_model_free(&l);
    }
    fer_model_free(&a);
    fer_model_free(&b);
    unlink(path);
    /* what a file may not hold is not built either */
    o.bn_eps = 0;
    CHECK(fer_model_build(&a, "cnn", &o, NULL) == -1, "eps 0 built");
    o.bn_eps = 1e-5;
    o.bn_momentum = 1.5;
    CHECK(fer_model_build(&a, "cnn", &o, NULL) == -1, "momentum 1.5 built");
    CHECK(strstr(fer_error(), "momentum 1.5"), "message: %s", fer_error());
}

/* The meta text less the line of key, malloc'd. */
static char *drop_line(const char *meta, const char *key)
{
    char *s = strdup(meta ? meta : ""), *p = s;
    size_t k = strlen(key);
    while (p && *p) {
        char *eol = strchr(p, '\n');
        if (!strncmp(p, key, k) && p[k] == '=') {
            memmove(p, eol ? eol + 1 : p + strlen(p), strlen(eol ? eol + 1 : "") + 1);
            break;
        }
        p = eol ? eol + 1 : NULL;
    }
    return s;
}

/* A model file loads as a cnn of stages stages and is written back
 * record for record as it was (nrec records), but, when it predates the
 * batch-norm keys (old), for those keys (written now, with the values it
 * was made with). */
static void round_trip(const char *in, int stages, int old, int nrec)
{
    char out[256];
    fer_model m;
    fer_reader *a, *b;
    fer_record x, y;
    int ka, kb, n = 0;
    tmpname(out, sizeof out, "round.fer");
    CHECK(fer_model_load(&m, in) == 0, "load %s: %s", in, fer_error());
    if (!m.net)
        return;
    CHECK(m.opts.stages == stages, "%s: %d stages", in, m.opts.stages);
    CHECK(fer_model_save(&m, out) == 0, "save: %s", fer_error());
    a = fer_reader_open(in);
    b = fer_reader_open(out);
    CHECK(a && b, "open");
    while (a && b && (ka = fer_reader_next(a, &x)) == 1) {
        if ((kb = fer_reader_next(b, &y)) != 1) {
            CHECK(0, "written back: %d records, was more", n);
            fer_record_free(&x);
            break;
        }
        if (n++ == 0 && old) {
            char *t = drop_line(y.meta, "bn_eps"), *u = drop_line(t, "bn_momentum");
            CHECK(strstr(y.meta, "\nbn_eps=1e-05\nbn_momentum=0.1\n"), "meta: %s", y.meta);
            CHECK(!strcmp(u, x.meta), "meta written back:\n%s\nwas:\n%s", u, x.meta);
            free(t);
            free(u);
        } else if (n == 1) {
            CHECK(!strcmp(y.meta, x.meta), "meta written back:\n%s\nwas:\n%s", y.meta, x.meta);
        }
        CHECK(!strcmp(x.name, y.name) && x.nbytes == y.nbytes &&
                  !memcmp(x.shape, y.shape, sizeof x.shape) &&
                  (!x.nbytes || !memcmp(x.data, y.data, x.nbytes)),
              "record %d: %s written back as %s", n - 1, x.name, y.name);
        fer_record_free(&x);
        fer_record_free(&y);
    }
    CHECK(n == nrec && b && fer_reader_next(b, &y) == 0, "%s: %d records, or more written back",
          in, n);
    fer_reader_close(a);
    fer_reader_close(b);
    fer_model_free(&m);
    unlink(out);
}

/* A cnn file from before the batch-norm keys (tests/data/old-cnn.fer: 3
 * stages, 45 records), and the shipped model (data/cnn.fer: the 4-stage
 * cnn, 57 records: the meta, 8 convolutions' and 2 dense layers' weights
 * and biases, 9 batch norms' 4 tensors). */
static void test_study_file(void)
{
    const char *root = getenv("FER_ROOT");
    char in[4096];
    snprintf(in, sizeof in, "%s/tests/data/old-cnn.fer", root ? root : ".");
    if (access(in, R_OK))
        SKIP("no tests/data/old-cnn.fer under FER_ROOT");
    round_trip(in, 3, 1, 45);
    snprintf(in, sizeof in, "%s/data/cnn.fer", root ? root : ".");
    if (access(in, R_OK))
        SKIP("no data/cnn.fer under FER_ROOT");
    round_trip(in, 4, 0, 57);
}

int main(void)
{
    check_seed(1414);
    RUN(test_stages_layout);
    RUN(test_stages_refused);
    RUN(test_stages_file);
    RUN(test_stages_bad_meta);
    RUN(test_bn_settings);
    RUN(test_study_file);
    return check_done();
}
