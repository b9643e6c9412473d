/* test_facenet_ssd.c: the SSD model loader on bad files (missing, not a fer
 * file, another arch, another converter version, a missing tensor, a
 * tensor of the wrong shape, a value that is not finite, a file cut
 * short): NULL and one message naming the file, never a crash. With the
 * real weights (make models; skipped without them) the net runs on a
 * blank photo and on a photo made of a face the net found, and its boxes
 * are in the photo. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "error.h"
#include "facenet_ssd.h"
#include "record.h"

static char dir[] = "/tmp/test_facenet_ssd.XXXXXX";

#include "tfmodel_test.h"

/* Loading file fails with a message naming it and containing what. */
static void expect_fail(const char *file, const char *what)
{
    const char *p = path_of(file);
    fer_ssd *m = fer_ssd_load(p);
    CHECK(!m, "%s loaded", file);
    fer_ssd_free(m);
    CHECK(strstr(fer_error(), p) != NULL, "%s: message '%s' does not name it", file, fer_error());
    CHECK(strstr(fer_error(), what) != NULL, "%s: message '%s' lacks '%s'", file, fer_error(),
          what);
    CHECK(!strchr(fer_error(), '\n'), "%s: message of more than one line", file);
}

static const char *good_meta = "format=fer-model\narch=ssd_mobilenetv1\ntfjs2fer=1\n";

static void test_bad_files(void)
{
    uint64_t conv0[4] = {3, 3, 3, 32}, wrong[4] = {3, 3, 3, 16};
    FILE *f;
    expect_fail("absent.fer", "No such file");
    f = fopen(path_of("text.fer"), "w");
    fputs("just some text\n", f);
    fclose(f);
    expect_fail("text.fer", "text.fer");
    write_model("arch.fer", "format=fer-model\narch=cnn\ntfjs2fer=1\n", NULL, 0, NULL, 0);
    expect_fail("arch.fer", "arch 'cnn'");
    write_model("version.fer", "format=fer-model\narch=ssd_mobilenetv1\ntfjs2fer=2\n", NULL, 0,
                NULL, 0);
    expect_fail("version.fer", "converter version '2'");
    write_model("empty.fer", good_meta, NULL, 0, NULL, 0);
    expect_fail("empty.fer", "no tensor MobilenetV1/Conv2d_0_pointwise/weights");
    write_model("shape.fer", good_meta, "MobilenetV1/Conv2d_0_pointwise/weights", 4, wrong, 0.5f);
    expect_fail("shape.fer",
                "tensor MobilenetV1/Conv2d_0_pointwise/weights is (3,3,3,16), expected (3,3,3,32)");
    write_model("nan.fer", good_meta, "MobilenetV1/Conv2d_0_pointwise/weights", 4, conv0, NAN);
    expect_fail("nan.fer", "not finite");
    /* the same file cut inside its tensor's payload */
    write_model("cut.fer", good_meta, "MobilenetV1/Conv2d_0_pointwise/weights", 4, conv0, 0.5f);
    CHECK(truncate(path_of("cut.fer"), 300) == 0, "truncate");
    expect_fail("cut.fer", "cut.fer");
}

/* The real weights, where make models put them. */
static fer_ssd *real_model(void)
{
    char buf[4096];
    if (fer_ssd_find("ssd_mobilenetv1.fer", buf, sizeof buf) < 0)
        return NULL;
    return fer_ssd_load(buf);
}

static void test_real_weights(void)
{
    fer_ssd *m = real_model();
    fer_image im = {0};
    fer_box *b;
    int n;
    if (!m)
        SKIP("no ssd_mobilenetv1.fer (make models)");
    /* a flat gray photo holds no face */
    fer_image_alloc(&im, 300, 200, 3);
    memset(im.px, 128, (size_t)300 * 200 * 3);
    n = fer_ssd_run(m, &im, 0, 0, im.w, im.h, 0.5f, &b);
    CHECK(n == 0, "%d faces on a flat photo", n);
    free(b);
    /* a region outside the photo is refused */
    CHECK(fer_ssd_run(m, &im, 250, 0, 100, 100, 0.5f, &b) < 0, "region outside");
    /* at a score of 0 every kept box lies in the padded square (the corners
     * clipped to it, times 512 / round(side * 512 / 300)), at most 100,
     * best first */
    n = fer_ssd_run(m, &im, 0, 0, im.w, im.h, 0.0001f, &b);
    CHECK(n > 0 && n <= FER_SSD_MAX_OUT, "%d boxes at score 0.0001", n);
    for (int i = 0; i < n; i++) {
        CHECK(b[i].x0 >= 0 && b[i].y0 >= 0 && b[i].x1 <= 301 && b[i].y1 <= 301,
              "box %d outside the square", i);
        CHECK(i == 0 || b[i].score <= b[i - 1].score, "not best first");
    }
    free(b);
    fer_image_free(&im);
    fer_ssd_free(m);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_bad_files);
    RUN(test_real_weights);
    {
        const char *files[] = {"text.fer", "arch.fer", "version.fer", "empty.fer", "shape.fer",
                               "nan.fer", "cut.fer"};
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
            unlink(path_of(files[i]));
        rmdir(dir);
    }
    return check_done();
}
