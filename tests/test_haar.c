/* test_haar.c: cascade XML (both layouts, a table of malformed files),
 * integral images against direct sums, the OpenCV resize against a
 * double-precision bilinear, grouping against a plain reimplementation,
 * and the scan's window stepping. */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "detect.h"
#include "error.h"
#include "haar.h"
#include "threads.h"

/* A new-layout cascade: 24x20 window, 2 stages; stage 0 two stumps, stage
 * 1 one 2-node tree; feature 2 is tilted and has 3 rectangles. */
static const char *NEW_XML =
    "<?xml version=\"1.0\"?>\n"
    "<opencv_storage>\n"
    "<cascade type_id=\"opencv-cascade-classifier\"><stageType>BOOST</stageType>\n"
    "  <featureType>HAAR</featureType>\n"
    "  <height>20</height>\n"
    "  <width>24</width>\n"
    "  <featureParams><maxCatCount>0</maxCatCount></featureParams>\n"
    "  <stageNum>2</stageNum>\n"
    "  <stages>\n"
    "    <_>\n"
    "      <maxWeakCount>2</maxWeakCount>\n"
    "      <stageThreshold>-1.25</stageThreshold>\n"
    "      <weakClassifiers>\n"
    "        <_><internalNodes>0 -1 0 1.5e-02</internalNodes>\n"
    "          <leafValues>-0.5 0.75</leafValues></_>\n"
    "        <_><!-- a comment --><internalNodes>0 -1 1 -3.</internalNodes>\n"
    "          <leafValues>0.25 -0.125</leafValues></_></weakClassifiers></_>\n"
    "    <_>\n"
    "      <stageThreshold>0.1</stageThreshold>\n"
    "      <weakClassifiers>\n"
    "        <_><internalNodes>1 0 2 0.5 -1 -2 0 -0.25</internalNodes>\n"
    "          <leafValues>1 2 3</leafValues></_></weakClassifiers></_></stages>\n"
    "  <features>\n"
    "    <_><rects><_>0 0 24 20 -1.</_><_>6 5 12 10 4.</_></rects></_>\n"
    "    <_><rects><_>1 2 3 4 -1.</_><_>1 4 3 2 2.</_></rects><tilted>0</tilted></_>\n"
    "    <_><rects><_>10 2 5 4 -1.</_><_>9 3 2 2 2.</_><_>11 3 2 2 2.</_></rects>\n"
    "      <tilted>1</tilted></_></features>\n"
    "</cascade>\n"
    "</opencv_storage>\n";

/* An old-layout cascade: 20x20, one stage of a stump and a 2-node tree
 * whose root links to node 1 on the right. */
static const char *OLD_XML =
    "<?xml version=\"1.0\"?>\n"
    "<opencv_storage>\n"
    "<haar_test type_id=\"opencv-haar-classifier\">\n"
    "  <size>20 20</size>\n"
    "  <stages>\n"
    "    <_>\n"
    "      <!-- stage 0 -->\n"
    "      <trees>\n"
    "        <_>\n"
    "          <_>\n"
    "            <feature><rects><_>2 2 4 4 -1.</_><_>3 3 2 2 4.</_>\n"
    "                <_>0 0 0 0 0.</_></rects><tilted>0</tilted></feature>\n"
    "            <threshold>0.125</threshold>\n"
    "            <left_val>-1.</left_val>\n"
    "            <right_val>1.</right_val></_></_>\n"
    "        <_>\n"
    "          <_>\n"
    "            <feature><rects><_>8 2 4 4 -1.</_><_>8 2 2 4 2.</_></rects>\n"
    "              <tilted>0</tilted></feature>\n"
    "            <threshold>-0.5</threshold>\n"
    "            <left_val>0.5</left_val>\n"
    "            <right_node>1</right_node></_>\n"
    "          <_>\n"
    "            <feature><rects><_>6 1 3 2 -1.</_><_>6 2 1 1 3.</_></rects>\n"
    "              <tilted>1</tilted></feature>\n"
    "            <threshold>0.25</threshold>\n"
    "            <left_val>-0.75</left_val>\n"
    "            <right_val>0.875</right_val></_></_></trees>\n"
    "      <stage_threshold>-0.6</stage_threshold>\n"
    "      <parent>-1</parent>\n"
    "      <next>-1</next></_></stages></haar_test>\n"
    "</opencv_storage>\n";

static int parse(const char *xml, fer_cascade *c)
{
    return fer_haar_parse(xml, strlen(xml), "t.xml", c);
}

static void test_new_layout(void)
{
    fer_cascade c;
    int st = parse(NEW_XML, &c);
    CHECK(st == 0, "parse: %s", fer_error());
    if (st)
        return;
    CHECK(c.win_w == 24 && c.win_h == 20, "window %dx%d", c.win_w, c.win_h);
    CHECK(c.nstages == 2 && c.ntrees == 3 && c.nnodes == 4 && c.nleaves == 7 && c.nfeatures == 3,
          "counts %d %d %d %d %d", c.nstages, c.ntrees, c.nnodes, c.nleaves, c.nfeatures);
    CHECK(c.stages[0].threshold == (float)-1.25 - 1e-5f, "stage 0 threshold %.9g",
          c.stages[0].threshold);
    CHECK(c.stages[1].threshold == (float)0.1 - 1e-5f && c.stages[1].tree == 2 &&
              c.stages[1].ntrees == 1, "stage 1");
    CHECK(c.nodes[1].feature == 1 && c.nodes[1].threshold == -3.f && c.nodes[1].left == 0 &&
              c.nodes[1].right == -1, "node 1");
    CHECK(c.trees[2].nnodes == 2 && c.nodes[2].left == 1 && c.nodes[3].right == -2 &&
              c.leaves[c.trees[2].leaf + 2] == 3.f, "tree 2");
    CHECK(c.max_nodes == 2 && c.has_tilted == 1 && c.old_format == 0, "flags");
    CHECK(c.features[0].nrects == 2 && c.features[0].r[1].x == 6 &&
              c.features[0].r[1].weight == 4.f, "feature 0");
    CHECK(c.features[2].tilted == 1 && c.features[2].nrects == 3 &&
              c.features[2].r[2].x == 11, "feature 2");
    CHECK(c.features[1].tilted == 0, "feature 1 tilted");
    fer_haar_free(&c);
    CHECK(c.stages == NULL && c.nstages == 0, "free zeroes");
}

static void test_old_layout(void)
{
    fer_cascade c;
    int st = parse(OLD_XML, &c);
    CHECK(st == 0, "parse: %s", fer_error());
    if (st)
        return;
    CHECK(c.win_w == 20 && c.win_h == 20 && c.old_format == 1, "window / format");
    CHECK(c.nstages == 1 && c.ntrees == 2 && c.nnodes == 3 && c.nleaves == 5 && c.nfeatures == 3,
          "counts %d %d %d %d %d", c.nstages, c.ntrees, c.nnodes, c.nleaves, c.nfeatures);
    /* the zero-weight third rectangle is dropped, as OpenCV's converter does */
    CHECK(c.features[0].nrects == 2, "padding rectangle kept: %d", c.features[0].nrects);
    /* tree 1: root left = leaf 0, right = node 1; node 1 leaves 1 and 2 */
    CHECK(c.nodes[1].left == 0 && c.nodes[1].right == 1, "root links %d %d", c.nodes[1].left,
          c.nodes[1].right);
    CHECK(c.nodes[2].left == -1 && c.nodes[2].right == -2, "node 1 links");
    CHECK(c.leaves[c.trees[1].leaf] == 0.5f && c.leaves[c.trees[1].leaf + 2] == 0.875f, "leaves");
    CHECK(c.stages[0].threshold == (float)-0.6 - 1e-5f, "threshold");
    CHECK(c.features[2].tilted && c.has_tilted && c.max_nodes == 2, "tilted / depth");
    fer_haar_free(&c);
}

/* Replaces the first occurrence of from by to in NEW_XML or OLD_XML. */
static char *edit(const char *base, const char *from, const char *to)
{
    const char *p = strstr(base, from);
    char *s;
    if (!p)
        return NULL;
    s = malloc(strlen(base) + strlen(to) + 1);
    memcpy(s, base, (size_t)(p - base));
    strcpy(s + (p - base), to);
    strcat(s, p + strlen(from));
    return s;
}

static void test_malformed(void)
{
    static const struct {
        int old;
        const char *from, *to, *want;
    } rows[] = {
        {0, "<stageType>BOOST", "<stageType>GAB", "<stageType>: 'GAB'"},
        {0, "<featureType>HAAR", "<featureType>LBP", "<featureType>: LBP"},
        {0, "<height>20</height>", "<height>2x</height>", "t.xml:5: <height>: '2x'"},
        {0, "<width>24</width>", "<width>1</width>", "<width>: 1 is not"},
        {0, "<maxCatCount>0<", "<maxCatCount>256<", "<maxCatCount>: categorical"},
        {0, "0 -1 0 1.5e-02", "0 -1 0", "<internalNodes>: 3 numbers, not 4"},
        {0, "0 -1 1 -3.", "0 -1 7 -3.", "<internalNodes>: node 0: bad link 0 -1 or feature 7 (of 3)"},
        {0, "-1 -2 0 -0.25", "1 -2 0 -0.25", "node 1: child node 1 is not a later"},
        {0, "-1 -2 0 -0.25", "-1 -5 0 -0.25", "leaf 5 of 3"},
        {0, "<leafValues>1 2 3<", "<leafValues>1 2<", "<leafValues>: 2 leaves for 2 nodes"},
        {0, "<stageThreshold>0.1<", "<stageThreshold>zero<", "<stageThreshold>: 'zero'"},
        {0, "<stageThreshold>0.1</stageThreshold>", "", "t.xml:18: <_>: no <stageThreshold>"},
        {0, "<_>1 2 3 4 -1.</_>", "<_>1 2 3 4</_>", "<_>: 4 numbers, expected 5"},
        {0, "<_>1 2 3 4 -1.</_>", "<_>1 2 30 4 -1.</_>", "outside the 24x20 window"},
        {0, "<_>10 2 5 4 -1.</_>", "<_>3 2 5 4 -1.</_>", "tilted rectangle 3 2 5 4"},
        {0, "<rects><_>0 0 24 20 -1.</_>",
         "<rects><_>0 0 1 1 1.</_><_>0 0 1 1 1.</_><_>0 0 1 1 1.</_><_>0 0 24 20 -1.</_>",
         "<rects>: more than 3"},
        {0, "<features>", "<nofeatures>", "<nofeatures>: closed by </features>"},
        {0, "</cascade>", "</cascadX>", "<cascade>: closed by </cascadX>"},
        {0, "</opencv_storage>", "", "<opencv_storage>: not closed"},
        {0, "<!-- a comment -->", "<!-- a comment", "unterminated comment"},
        {0, "<opencv_storage>", "<storage/>", "t.xml:3: a second top-level element <cascade>"},
        {0, "<stages>", "<stages/><x>", "<x>: closed by </stages>"},
        {0, "<stageType>BOOST</stageType>", "", "t.xml:3: <cascade>: no <stageType>"},
        {1, "<size>20 20</size>", "", "<haar_test>: neither a new"},
        {1, "<size>20 20</size>", "<size>20</size>", "<size>: expected two"},
        {1, "<left_val>0.5</left_val>", "", "neither <left_val> nor <left_node>"},
        {1, "<right_node>1</right_node>", "<right_node>0</right_node>", "<right_node>: 0 is not"},
        {1, "<threshold>-0.5</threshold>", "", "<_>: no <threshold>"},
        {1, "<stage_threshold>-0.6<", "<stage_threshold><", "<stage_threshold>: 0 numbers"},
        {1, "<feature><rects><_>8", "<feature><rectz></rectz><rects><_>8", ""},
    };
    fer_cascade c;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *s = edit(rows[i].old ? OLD_XML : NEW_XML, rows[i].from, rows[i].to);
        int st;
        CHECK(s, "row %zu: '%s' not in the template", i, rows[i].from);
        if (!s)
            continue;
        st = parse(s, &c);
        if (!*rows[i].want) {       /* an unknown extra element is ignored */
            CHECK(st == 0, "row %zu: refused: %s", i, fer_error());
            fer_haar_free(&c);
        } else {
            if (getenv("HAAR_DEBUG"))
                fprintf(stderr, "row %zu: %s\n", i, st < 0 ? fer_error() : "(accepted)");
            CHECK(st < 0 && strstr(fer_error(), rows[i].want),
                  "row %zu: got %d '%s', want '%s'", i, st, st < 0 ? fer_error() : "",
                  rows[i].want);
            CHECK(c.stages == NULL && c.nstages == 0, "row %zu: not zeroed", i);
        }
        free(s);
    }
    CHECK(fer_haar_parse("", 0, "e.xml", &c) < 0 && strstr(fer_error(), "e.xml: empty"),
          "empty: %s", fer_error());
    CHECK(fer_haar_load("/nonexistent/x.xml", &c) < 0 && strstr(fer_error(), "x.xml"),
          "missing file: %s", fer_error());
}

/* Every shipped cascade loads (when OpenCV's data is installed). */
static void test_shipped(void)
{
    static const char *names[] = {
        "haarcascade_frontalface_default.xml", "haarcascade_eye.xml",
        "haarcascade_frontalface_alt_tree.xml", "haarcascade_eye_tree_eyeglasses.xml",
        "haarcascade_licence_plate_rus_16stages.xml",
    };
    char path[4096];
    fer_cascade c;
    if (fer_haar_find(names[0], path, sizeof path) < 0)
        SKIP("no OpenCV haarcascades folder");
    CHECK(fer_haar_load(path, &c) == 0, "%s", fer_error());
    CHECK(c.win_w == 24 && c.nstages == 25 && c.ntrees == 2913 && c.max_nodes == 1,
          "frontalface_default: %dx%d, %d stages, %d trees", c.win_w, c.win_h, c.nstages,
          c.ntrees);
    fer_haar_free(&c);
    for (size_t i = 1; i < sizeof names / sizeof names[0]; i++) {
        if (fer_haar_find(names[i], path, sizeof path) < 0)
            continue;
        CHECK(fer_haar_load(path, &c) == 0, "%s", fer_error());
        if (i == 3)
            CHECK(c.has_tilted && c.max_nodes == 3, "eyeglasses: tilted trees");
        if (i == 4)
            CHECK(c.old_format && c.win_w == 64 && c.win_h == 16, "licence plate: old, 64x16");
        fer_haar_free(&c);
    }
}

static void random_image(uint8_t *px, int n)
{
    for (int i = 0; i < n; i++)
        px[i] = (uint8_t)(check_uniform() * 256);
}

static void test_integral(void)
{
    static const int sizes[][2] = {{1, 1}, {1, 7}, {9, 1}, {13, 11}, {37, 23}, {5, 64}};
    check_seed(11);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int w = sizes[k][0], h = sizes[k][1], stride = w + 3, os = w + 5, bad = 0;
        uint8_t *px = malloc((size_t)stride * h);
        int32_t *sum = malloc((size_t)os * (h + 1) * 4), *til = malloc((size_t)os * (h + 1) * 4);
        uint32_t *sq = malloc((size_t)os * (h + 1) * 4);
        random_image(px, stride * h);
        fer_integral(px, w, h, stride, sum, sq, til, os);
        for (int Y = 0; Y <= h && !bad; Y++)
            for (int X = 0; X <= w && !bad; X++) {
                long s = 0, q = 0, t = 0;
                for (int y = 0; y < Y; y++)
                    for (int x = 0; x < w; x++) {
                        int v = px[y * stride + x], d = x - (X - 1);
                        if (x < X)
                            s += v, q += (long)v * v;
                        if ((d < 0 ? -d : d) <= Y - 1 - y)
                            t += v;
                    }
                if (sum[Y * os + X] != s || sq[Y * os + X] != (uint32_t)q || til[Y * os + X] != t) {
                    CHECK(0, "%dx%d at (%d,%d): sum %d/%ld sq %u/%ld tilted %d/%ld", w, h, X, Y,
                          sum[Y * os + X], s, sq[Y * os + X], q, til[Y * os + X], t);
                    bad = 1;
                }
            }
        free(px), free(sum), free(til), free(sq);
    }
}

/* fer_resize_linear_cv is within 1 level of bilinear interpolation in
 * double at the same sample positions, copies at the same size, keeps a
 * flat image flat, and makes an exact 2x shrink the 2x2 mean. */
static void test_resize(void)
{
    static const int dims[][4] = {{37, 23, 30, 20}, {100, 80, 33, 29}, {64, 64, 58, 58},
                                  {9, 7, 18, 15}, {5, 1, 3, 1}, {1, 9, 1, 4}};
    check_seed(5);
    for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++) {
        int sw = dims[k][0], sh = dims[k][1], dw = dims[k][2], dh = dims[k][3], worst = 0;
        uint8_t *s = malloc((size_t)sw * sh), *d = malloc((size_t)dw * dh);
        random_image(s, sw * sh);
        CHECK(fer_resize_linear_cv(s, sw, sh, sw, d, dw, dh) == 0, "resize failed");
        for (int y = 0; y < dh; y++)
            for (int x = 0; x < dw; x++) {
                double fx = (x + 0.5) * sw / dw - 0.5, fy = (y + 0.5) * sh / dh - 0.5, v;
                int x0, y0, x1, y1;
                fx = fx < 0 ? 0 : fx > sw - 1 ? sw - 1 : fx;
                fy = fy < 0 ? 0 : fy > sh - 1 ? sh - 1 : fy;
                x0 = (int)fx, y0 = (int)fy;
                x1 = x0 + 1 < sw ? x0 + 1 : x0, y1 = y0 + 1 < sh ? y0 + 1 : y0;
                fx -= x0, fy -= y0;
                v = (1 - fy) * ((1 - fx) * s[y0 * sw + x0] + fx * s[y0 * sw + x1]) +
                    fy * ((1 - fx) * s[y1 * sw + x0] + fx * s[y1 * sw + x1]);
                if (fabs(d[y * dw + x] - v) > worst)
                    worst = (int)ceil(fabs(d[y * dw + x] - v));
            }
        CHECK(worst <= 1, "%dx%d -> %dx%d: off by %d", sw, sh, dw, dh, worst);
        free(s), free(d);
    }
    {
        uint8_t s[6 * 4], d[6 * 4];
        random_image(s, 24);
        fer_resize_linear_cv(s, 6, 4, 6, d, 6, 4);
        CHECK(!memcmp(s, d, 24), "same size is not a copy");
        fer_resize_linear_cv(s, 6, 4, 6, d, 3, 2);
        CHECK(d[4] == (s[14] + s[15] + s[20] + s[21] + 2) >> 2, "2x shrink is not the 2x2 mean");
        memset(s, 77, 24);
        fer_resize_linear_cv(s, 6, 4, 6, d, 5, 3);
        for (int i = 0; i < 15; i++)
            CHECK(d[i] == 77, "flat image changed at %d: %d", i, d[i]);
    }
}

/* groupRectangles written out plainly: classes by repeated merging,
 * averages in double with ties to even, then the inside-a-stronger-class
 * rule. */
static int ref_similar(fer_rect a, fer_rect b, double eps)
{
    double d = eps * ((a.w < b.w ? a.w : b.w) + (a.h < b.h ? a.h : b.h)) * 0.5;
    return fabs((double)a.x - b.x) <= d && fabs((double)a.y - b.y) <= d &&
           fabs((double)a.x + a.w - b.x - b.w) <= d && fabs((double)a.y + a.h - b.y - b.h) <= d;
}

static int ref_group(const fer_rect *in, int n, int thr, double eps, fer_rect *out, int *wout)
{
    int *cls = malloc(n * sizeof *cls), k = 0, ncls = 0;
    int *map = malloc(n * sizeof *map), *cnt = calloc(n, sizeof *cnt);
    fer_rect *avg = malloc(n * sizeof *avg);
    double (*acc)[4] = calloc(n, sizeof *acc);
    for (int i = 0; i < n; i++)
        cls[i] = i;
    /* every pair: each class is a tree whose root is its smallest index */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (ref_similar(in[i], in[j], eps)) {
                int a = i, b = j;
                while (cls[a] != a)
                    a = cls[a];
                while (cls[b] != b)
                    b = cls[b];
                if (a != b)
                    cls[a > b ? a : b] = a < b ? a : b;
            }
    for (int i = 0; i < n; i++)     /* roots come before their members */
        cls[i] = cls[cls[i]];
    for (int i = 0; i < n; i++)
        map[i] = -1;
    for (int i = 0; i < n; i++) {
        if (map[cls[i]] < 0)
            map[cls[i]] = ncls++;
        int c = map[cls[i]];
        acc[c][0] += in[i].x, acc[c][1] += in[i].y, acc[c][2] += in[i].w, acc[c][3] += in[i].h;
        cnt[c]++;
    }
    for (int c = 0; c < ncls; c++) {
        float s = 1.f / cnt[c];
        avg[c] = (fer_rect){(int)nearbyint((float)acc[c][0] * s), (int)nearbyint((float)acc[c][1] * s),
                            (int)nearbyint((float)acc[c][2] * s), (int)nearbyint((float)acc[c][3] * s)};
    }
    for (int i = 0; i < ncls; i++) {
        int keep = cnt[i] > thr;
        for (int j = 0; keep && j < ncls; j++) {
            int dx = (int)nearbyint(avg[j].w * eps), dy = (int)nearbyint(avg[j].h * eps);
            if (j != i && cnt[j] > thr && avg[i].x >= avg[j].x - dx && avg[i].y >= avg[j].y - dy &&
                avg[i].x + avg[i].w <= avg[j].x + avg[j].w + dx &&
                avg[i].y + avg[i].h <= avg[j].y + avg[j].h + dy &&
                (cnt[j] > (cnt[i] > 3 ? cnt[i] : 3) || cnt[i] < 3))
                keep = 0;
        }
        if (keep) {
            wout[k] = cnt[i];
            out[k++] = avg[i];
        }
    }
    free(cls), free(map), free(cnt), free(avg), free(acc);
    return k;
}

static void test_group(void)
{
    check_seed(3);
    for (int trial = 0; trial < 40; trial++) {
        int n = 0, nclu = 1 + (int)(check_uniform() * 6);
        fer_rect r[200], want[200];
        int w[200], ww[200], got, exp, thr = trial % 5;
        for (int c = 0; c < nclu; c++) {
            int cx = (int)(check_uniform() * 300), cy = (int)(check_uniform() * 300);
            int s = 20 + (int)(check_uniform() * 80), m = 1 + (int)(check_uniform() * 12);
            if (c == 1 && trial % 3 == 0) {     /* a small cluster inside cluster 0 */
                cx = r[0].x + r[0].w / 4, cy = r[0].y + r[0].h / 4, s = r[0].w / 2;
            }
            for (int i = 0; i < m && n < 200; i++) {
                int ds = (int)(check_uniform() * s * 0.2);
                r[n++] = (fer_rect){cx + (int)(check_uniform() * s * 0.15),
                                    cy + (int)(check_uniform() * s * 0.15), s + ds, s + ds};
            }
        }
        exp = ref_group(r, n, thr, 0.2, want, ww);
        got = fer_group_rects(r, n, thr, 0.2, w);
        if (thr == 0) {
            CHECK(got == n, "trial %d: threshold 0 changed the count", trial);
            continue;
        }
        CHECK(got == exp, "trial %d: %d groups, want %d", trial, got, exp);
        for (int i = 0; i < got && i < exp; i++)
            CHECK(!memcmp(&r[i], &want[i], sizeof r[i]) && w[i] == ww[i],
                  "trial %d group %d: %d %d %d %d (%d), want %d %d %d %d (%d)", trial, i, r[i].x,
                  r[i].y, r[i].w, r[i].h, w[i], want[i].x, want[i].y, want[i].w, want[i].h, ww[i]);
    }
}

/* A cascade that accepts every window: at one scale the hits are exactly
 * OpenCV's grid (2-pixel steps, rows cut at the stripes); a flat image has
 * none (its deviation is below 10). */
static void test_scan_grid(void)
{
    const char *xml =
        "<opencv_storage><c><stageType>BOOST</stageType><featureType>HAAR</featureType>"
        "<height>20</height><width>20</width><stages><_><stageThreshold>-100</stageThreshold>"
        "<weakClassifiers><_><internalNodes>0 -1 0 0.</internalNodes><leafValues>1 1"
        "</leafValues></_></weakClassifiers></_></stages><features><_><rects><_>0 0 20 20 1."
        "</_><_>0 0 10 20 -2.</_></rects></_></features></c></opencv_storage>";
    fer_cascade c;
    fer_detect_opts o;
    fer_rect *r = NULL;
    int w = 71, h = 45, n, szw = w + 1 - 20, szh = h + 1 - 20, nstripes, stripe, ymax, want;
    uint8_t *px = malloc((size_t)w * h);
    CHECK(parse(xml, &c) == 0, "%s", fer_error());
    check_seed(9);
    random_image(px, w * h);
    fer_detect_defaults(&o);
    o.max_w = o.max_h = 20;
    n = fer_detect_raw(&c, px, w, h, w, &o, &r);
    nstripes = (szw + 31) / 32;
    stripe = ((szh / 2 + nstripes - 1) / nstripes) * 2;
    ymax = nstripes * stripe < szh ? nstripes * stripe : szh;
    want = ((szw + 1) / 2) * ((ymax + 1) / 2);
    CHECK(n == want, "%d hits, want %d", n, want);
    for (int i = 0; i < n; i++)
        CHECK(r[i].x % 2 == 0 && r[i].y % 2 == 0 && r[i].x < szw && r[i].y < ymax && r[i].w == 20,
              "hit %d at %d,%d", i, r[i].x, r[i].y);
    free(r);
    memset(px, 100, (size_t)w * h);
    n = fer_detect_raw(&c, px, w, h, w, &o, &r);
    CHECK(n == 0, "flat image: %d hits", n);
    free(r);
    o.scale_factor = 1.0;
    CHECK(fer_detect(&c, px, w, h, w, &o, &r) < 0 && strstr(fer_error(), "scale factor"),
          "scale factor 1 accepted");
    free(px);
    fer_haar_free(&c);
}

/* Many thousands of rectangles as a permissive cascade leaves them: every
 * window of a few scales on a 2-pixel grid, clusters, and scattered ones;
 * the result equals the all-pairs oracle's for several eps and thresholds. */
static void test_group_many(void)
{
    int cap = 20000, n = 0;
    fer_rect *r = malloc(cap * sizeof *r), *in = malloc(cap * sizeof *in);
    fer_rect *want = malloc(cap * sizeof *want);
    int *w = malloc(cap * sizeof *w), *ww = malloc(cap * sizeof *ww);
    static const double eps[] = {0.2, 0, 0.05, 0.6, 1.7};
    check_seed(12);
    for (int s = 20; s < 40 && n < cap; s += 3)          /* scan grids */
        for (int y = 0; y < 120 && n < cap; y += 2)
            for (int x = 0; x < 100 && n < cap; x += 2)
                if (check_uniform() < 0.3)
                    in[n++] = (fer_rect){x + 200, y + 10, s, s};
    while (n < cap * 3 / 4) {                            /* clusters */
        int cx = (int)(check_uniform() * 500), cy = (int)(check_uniform() * 500);
        int s = 10 + (int)(check_uniform() * 150), m = 1 + (int)(check_uniform() * 30);
        for (int i = 0; i < m && n < cap; i++) {
            int ds = (int)(check_uniform() * s * 0.2);
            in[n++] = (fer_rect){cx + (int)(check_uniform() * s * 0.15),
                                 cy + (int)(check_uniform() * s * 0.15), s + ds, s + ds + i % 3};
        }
    }
    while (n < cap)                                      /* scattered, odd shapes */
        in[n++] = (fer_rect){(int)(check_uniform() * 700) - 100, (int)(check_uniform() * 700) - 100,
                             1 + (int)(check_uniform() * 300), 1 + (int)(check_uniform() * 60)};
    for (int e = 0; e < (int)(sizeof eps / sizeof *eps); e++) {
        int thr = e == 0 ? 3 : e, exp = ref_group(in, n, thr, eps[e], want, ww), got;
        memcpy(r, in, n * sizeof *r);
        got = fer_group_rects(r, n, thr, eps[e], w);
        CHECK(got == exp, "eps %g: %d groups, want %d", eps[e], got, exp);
        for (int i = 0; i < got && i < exp; i++)
            CHECK(!memcmp(&r[i], &want[i], sizeof r[i]) && w[i] == ww[i],
                  "eps %g group %d: %d %d %d %d (%d), want %d %d %d %d (%d)", eps[e], i, r[i].x,
                  r[i].y, r[i].w, r[i].h, w[i], want[i].x, want[i].y, want[i].w, want[i].h, ww[i]);
    }
    free(r), free(in), free(want), free(w), free(ww);
}

/* Many classes above the threshold: 90000 places, each a class of 5
 * boxes with a class of 4 smaller ones inside it, which is dropped.
 * Comparing every pair of classes took minutes. */
static void test_group_many_classes(void)
{
    int side = 300, n = 0, got, bad = 0;
    fer_rect *r = malloc((size_t)side * side * 9 * sizeof *r);
    int *w = malloc((size_t)side * side * 9 * sizeof *w);
    clock_t t0;
    double sec;
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++) {
            for (int i = 0; i < 5; i++)
                r[n++] = (fer_rect){x * 100, y * 100, 60, 60};
            for (int i = 0; i < 4; i++)
                r[n++] = (fer_rect){x * 100 + 20, y * 100 + 20, 20, 20};
        }
    t0 = clock();
    got = fer_group_rects(r, n, 3, 0.2, w);
    sec = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECK(got == side * side, "%d groups, want %d", got, side * side);
    for (int i = 0; i < got; i++)
        bad += r[i].w != 60 || w[i] != 5 || r[i].x != i % side * 100 || r[i].y != i / side * 100;
    CHECK(bad == 0, "%d groups not the outer boxes", bad);
    /* a hang guard, not a speed measurement (bench/ measures speed): the
     * all-pairs grouping took minutes of CPU here, the grid takes seconds
     * even under ASan */
    CHECK(sec < 120, "grouping took %.1f s of CPU: quadratic again?", sec);
    free(r);
    free(w);
}

/* A cascade that accepts every window on a 512x600 photo leaves about a
 * million hits; grouping them took minutes when every pair was compared. */
static void test_group_permissive(void)
{
    const char *xml =
        "<opencv_storage><c><stageType>BOOST</stageType><featureType>HAAR</featureType>"
        "<height>20</height><width>20</width><stages><_><stageThreshold>-100</stageThreshold>"
        "<weakClassifiers><_><internalNodes>0 -1 0 0.</internalNodes><leafValues>1 1"
        "</leafValues></_></weakClassifiers></_></stages><features><_><rects><_>0 0 20 20 1."
        "</_><_>0 0 10 20 -2.</_></rects></_></features></c></opencv_storage>";
    fer_cascade c;
    fer_detect_opts o;
    fer_rect *r = NULL;
    int w = 512, h = 600, n;
    uint8_t *px = malloc((size_t)w * h);
    clock_t t0;
    double sec;
    CHECK(parse(xml, &c) == 0, "%s", fer_error());
    check_seed(5);
    random_image(px, w * h);
    fer_detect_defaults(&o);
    n = fer_detect_raw(&c, px, w, h, w, &o, &r);
    CHECK(n > 500000, "%d raw hits", n);
    t0 = clock();
    n = fer_group_rects(r, n, 3, 0.2, NULL);
    sec = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECK(n >= 1, "%d groups", n);
    /* a hang guard, not a speed measurement (bench/ measures speed): the
     * all-pairs grouping took minutes of CPU here, the grid takes seconds
     * even under ASan */
    CHECK(sec < 120, "grouping took %.1f s of CPU: quadratic again?", sec);
    free(r);
    /* past max_hits accepted windows the call fails, naming the bound */
    o.max_hits = 100000;
    n = fer_detect(&c, px, w, h, w, &o, &r);
    CHECK(n == -1 && !r && strstr(fer_error(), "more than 100000 windows accepted"), "%d: %s",
          n, fer_error());
    free(r);
    free(px);
    fer_haar_free(&c);
}

/* Past max_scratch bytes of per-thread copies the scales run on one
 * thread, one copy at a time: the same hits in the same order as the
 * parallel scan, on two threads. */
static void test_scan_serial(void)
{
    const char *xml =
        "<opencv_storage><c><stageType>BOOST</stageType><featureType>HAAR</featureType>"
        "<height>20</height><width>20</width><stages><_><stageThreshold>-0.5</stageThreshold>"
        "<weakClassifiers><_><internalNodes>0 -1 0 0.</internalNodes><leafValues>-1 1"
        "</leafValues></_></weakClassifiers></_></stages><features><_><rects><_>0 0 20 20 1."
        "</_><_>0 0 10 20 -2.</_></rects></_></features></c></opencv_storage>";
    fer_cascade c;
    fer_detect_opts o;
    fer_rect *a = NULL, *b = NULL;
    int w = 203, h = 157, na, nb, old = fer_threads_get();
    uint8_t *px = malloc((size_t)w * h);
    CHECK(parse(xml, &c) == 0, "%s", fer_error());
    check_seed(13);
    random_image(px, w * h);
    fer_threads_set(2);
    fer_detect_defaults(&o);
    na = fer_detect_raw(&c, px, w, h, w, &o, &a);
    o.max_scratch = 1;
    nb = fer_detect_raw(&c, px, w, h, w, &o, &b);
    CHECK(na > 1000 && na < w * h, "%d hits: the cascade should take some windows, not all", na);
    CHECK(nb == na, "serial scan: %d hits, parallel %d", nb, na);
    for (int i = 0; i < na && nb == na; i++)
        CHECK(!memcmp(&a[i], &b[i], sizeof *a), "hit %d differs", i);
    fer_threads_set(old);
    free(a);
    free(b);
    free(px);
    fer_haar_free(&c);
}

int main(void)
{
    RUN(test_new_layout);
    RUN(test_old_layout);
    RUN(test_malformed);
    RUN(test_shipped);
    RUN(test_integral);
    RUN(test_resize);
    RUN(test_group);
    RUN(test_group_many);
    RUN(test_group_permissive);
    RUN(test_group_many_classes);
    RUN(test_scan_grid);
    RUN(test_scan_serial);
    return check_done();
}
