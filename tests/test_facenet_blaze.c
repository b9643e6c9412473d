/* test_facenet_blaze.c: BlazeFace's anchors and box decoding on
 * hand-computed boxes; the loader on bad files (missing, not a fer file,
 * another arch, another converter version, a missing tensor, a tensor of
 * the wrong shape, a value that is not finite, a file cut short): NULL and
 * one message naming the file, never a crash. With the real weights (make
 * models; skipped without them) the layers' shapes against the graph of
 * human's blazeface.json, and runs on a flat photo. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "error.h"
#include "facenet_blaze.h"
#include "facenet_ssd.h"
#include "record.h"
#include "tfweights.h"

static char dir[] = "/tmp/test_facenet_blaze.XXXXXX";

#include "tfmodel_test.h"

static void test_anchors(void)
{
    /* index: x, y (cells of 16 with 2 anchors on 16 x 16, then cells of
     * 32 with 6 on 8 x 8) */
    static const struct { int i; float x, y; } want[] = {
        {0, 8, 8}, {1, 8, 8}, {2, 24, 8}, {31, 248, 8}, {32, 8, 24}, {511, 248, 248},
        {512, 16, 16}, {517, 16, 16}, {518, 48, 16}, {560, 16, 48}, {895, 240, 240},
    };
    float xy[2 * FER_BLAZE_ANCHORS];
    fer_blaze_anchors(xy);
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        CHECK(xy[2 * want[k].i] == want[k].x, "anchor %d x %g, want %g", want[k].i,
              xy[2 * want[k].i], want[k].x);
        CHECK(xy[2 * want[k].i + 1] == want[k].y, "anchor %d y %g, want %g", want[k].i,
              xy[2 * want[k].i + 1], want[k].y);
    }
}

static void test_decode(void)
{
    static float raw[17 * FER_BLAZE_ANCHORS];
    float xy[2 * FER_BLAZE_ANCHORS];
    fer_box b[FER_BLAZE_ANCHORS];
    fer_blaze_anchors(xy);
    memset(raw, 0, sizeof raw);
    /* anchor 2, centre (24, 8): offset (2, -3), 10 wide, 20 high, logit 0 */
    raw[17 * 2 + 1] = 2, raw[17 * 2 + 2] = -3, raw[17 * 2 + 3] = 10, raw[17 * 2 + 4] = 20;
    /* anchor 600, the 88th of the 8 x 8 level: cell 88 / 6 = 14 (gx 6, gy
     * 1), centre (208, 48); offset (-8, 4), 32 x 16, logit ln 3 */
    raw[17 * 600] = logf(3), raw[17 * 600 + 1] = -8, raw[17 * 600 + 2] = 4;
    raw[17 * 600 + 3] = 32, raw[17 * 600 + 4] = 16;
    raw[17 * 600 + 5] = 1000;       /* a landmark: no effect */
    fer_blaze_decode(xy, raw, b);
    CHECK_CLOSE(b[2].x0, 21, 1e-5, 0);
    CHECK_CLOSE(b[2].x1, 31, 1e-5, 0);
    CHECK_CLOSE(b[2].y0, -5, 1e-5, 0);
    CHECK_CLOSE(b[2].y1, 15, 1e-5, 0);
    CHECK_CLOSE(b[2].score, 0.5, 1e-6, 0);
    CHECK_CLOSE(b[600].x0, 184, 1e-4, 0);
    CHECK_CLOSE(b[600].x1, 216, 1e-4, 0);
    CHECK_CLOSE(b[600].y0, 44, 1e-4, 0);
    CHECK_CLOSE(b[600].y1, 60, 1e-4, 0);
    CHECK_CLOSE(b[600].score, 0.75, 1e-6, 0);
    /* an all-zero row: a point at its anchor, score 0.5 */
    CHECK(b[895].x0 == 240 && b[895].x1 == 240 && b[895].y0 == 240 && b[895].y1 == 240,
          "anchor 895 decoded to (%g %g %g %g)", b[895].x0, b[895].y0, b[895].x1, b[895].y1);
}

/* Loading file fails with a message naming it and containing what. */
static void expect_fail(const char *file, const char *what)
{
    const char *p = path_of(file);
    fer_blaze *m = fer_blaze_load(p);
    CHECK(!m, "%s loaded", file);
    fer_blaze_free(m);
    CHECK(strstr(fer_error(), p) != NULL, "%s: message '%s' does not name it", file, fer_error());
    CHECK(strstr(fer_error(), what) != NULL, "%s: message '%s' lacks '%s'", file, fer_error(),
          what);
    CHECK(!strchr(fer_error(), '\n'), "%s: message of more than one line", file);
}

static const char *good_meta = "format=fer-model\narch=blazeface\ntfjs2fer=1\n";
static const char *bad_names[] = {"text.fer", "arch.fer", "version.fer", "empty.fer",
                                  "shape.fer", "nan.fer", "cut.fer"};

static void test_bad_files(void)
{
    uint64_t conv0[4] = {5, 5, 3, 24}, wrong[4] = {5, 5, 3, 16};
    FILE *f;
    expect_fail("absent.fer", "No such file");
    f = fopen(path_of("text.fer"), "w");
    fputs("just some text\n", f);
    fclose(f);
    expect_fail("text.fer", "text.fer");
    write_model("arch.fer", "format=fer-model\narch=ssd_mobilenetv1\ntfjs2fer=1\n", NULL, 0,
                NULL, 0);
    expect_fail("arch.fer", "arch 'ssd_mobilenetv1', not the blazeface");
    write_model("version.fer", "format=fer-model\narch=blazeface\ntfjs2fer=2\n", NULL, 0, NULL,
                0);
    expect_fail("version.fer", "converter version '2'");
    write_model("empty.fer", good_meta, NULL, 0, NULL, 0);
    expect_fail("empty.fer", "no tensor unknown (not BlazeFace weights)");
    write_model("shape.fer", good_meta, "unknown", 4, wrong, 0.5f);
    expect_fail("shape.fer", "tensor unknown is (5,5,3,16), expected (5,5,3,24)");
    write_model("nan.fer", good_meta, "unknown", 4, conv0, NAN);
    expect_fail("nan.fer", "not finite");
    /* the right first tensor, cut inside its payload */
    write_model("cut.fer", good_meta, "unknown", 4, conv0, 0.5f);
    CHECK(truncate(path_of("cut.fer"), 300) == 0, "truncate");
    expect_fail("cut.fer", "cut.fer");
}

static int real_path(char *buf, size_t n) { return fer_ssd_find("blazeface.fer", buf, n); }

/* The converted file against the graph of blazeface.json: 134,704 f32
 * weights in all, and the blocks' channels and strides. */
static void test_layer_shapes(void)
{
    static const int cin[FER_BLAZE_BLOCKS] = {
        24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24,
        48, 48, 48, 48, 48, 48, 48, 48, 96, 96, 96, 96, 96, 96, 96, 96};
    char buf[4096];
    fer_tfweights t;
    fer_blaze *m;
    uint64_t total = 0;
    int a, b;
    if (real_path(buf, sizeof buf) < 0)
        SKIP("no blazeface.fer (make models)");
    CHECK(fer_tfweights_read(buf, "blazeface", "BlazeFace", &t) == 0, "%s", fer_error());
    for (int i = 0; i < t.n; i++)
        total += fer_record_count(&t.r[i]);
    CHECK(total == 134704, "%llu f32 weights, the graph has 134704", (unsigned long long)total);
    /* the first convolution 2, each block 3, the heads 8 */
    CHECK(t.n == 2 + 3 * FER_BLAZE_BLOCKS + 8, "%d f32 tensors", t.n);
    fer_tfweights_free(&t);
    m = fer_blaze_load(buf);
    CHECK(m != NULL, "%s", fer_error());
    if (!m)
        return;
    for (int i = 0; i < FER_BLAZE_BLOCKS; i++) {
        int s = fer_blaze_block(m, i, &a, &b);
        int want_s = i == 7 || i == 15 || i == 23 || i == 31 ? 2 : 1;
        int want_out = i == FER_BLAZE_BLOCKS - 1 ? 96 : cin[i + 1];
        CHECK(s == want_s && a == cin[i] && b == want_out, "block %d: %d -> %d stride %d", i, a,
              b, s);
    }
    CHECK(fer_blaze_block(m, FER_BLAZE_BLOCKS, &a, &b) < 0, "block past the end");
    fer_blaze_free(m);
}

static void test_real_weights(void)
{
    char buf[4096];
    fer_blaze *m;
    fer_image im = {0};
    fer_box *b;
    int n;
    if (real_path(buf, sizeof buf) < 0 || !(m = fer_blaze_load(buf)))
        SKIP("no blazeface.fer (make models)");
    fer_image_alloc(&im, 300, 200, 3);
    memset(im.px, 128, (size_t)300 * 200 * 3);
    n = fer_blaze_run(m, &im, 0, 0, im.w, im.h, FER_BLAZE_SCORE, &b);
    CHECK(n == 0, "%d faces on a flat photo", n);
    free(b);
    CHECK(fer_blaze_run(m, &im, 250, 0, 100, 100, 0.5f, &b) < 0, "region outside");
    /* at a score of 0 at most 100 boxes, best first, none overlapping
     * another above IoU 0.3 */
    n = fer_blaze_run(m, &im, 0, 0, im.w, im.h, 0.0f, &b);
    CHECK(n > 0 && n <= FER_BLAZE_MAX_OUT, "%d boxes at score 0", n);
    for (int i = 0; i < n; i++) {
        CHECK(i == 0 || b[i].score <= b[i - 1].score, "not best first");
        for (int j = 0; j < i; j++)
            CHECK(fer_box_iou(&b[i], &b[j]) <= FER_BLAZE_IOU + 1e-6, "boxes %d, %d overlap", j,
                  i);
    }
    free(b);
    fer_image_free(&im);
    fer_blaze_free(m);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_anchors);
    RUN(test_decode);
    RUN(test_bad_files);
    RUN(test_layer_shapes);
    RUN(test_real_weights);
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
        unlink(path_of(bad_names[i]));
    rmdir(dir);
    return check_done();
}
