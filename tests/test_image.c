/* test_image.c: image decoding/encoding against libpng/libjpeg used
 * directly, PNM by hand, gray/resize/crop against double-precision
 * references, and a table of bad files. */
#include <dirent.h>
#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <jpeglib.h>
#include <zlib.h>

#include "check.h"
#include "error.h"
#include "image.h"

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static int write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fwrite(p, 1, n, f);
    return fclose(f);
}

static void rand_image(fer_image *im, int w, int h, int c)
{
    if (fer_image_alloc(im, w, h, c) < 0)
        abort();
    for (size_t i = 0; i < (size_t)w * h * c; i++)
        im->px[i] = (uint8_t)(check_uniform() * 256);
}

/* Smooth content (what JPEG is for): sums of random low-frequency waves. */
static void smooth_image(fer_image *im, int w, int h, int c)
{
    double ph[3][4];
    if (fer_image_alloc(im, w, h, c) < 0)
        abort();
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < 4; j++)
            ph[k][j] = check_uniform() * 6.283;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++) {
                double v = 128 + 60 * sin(x * 0.11 + ph[k][0]) * cos(y * 0.07 + ph[k][1])
                         + 40 * sin((x + y) * 0.05 + ph[k][2]) + 10 * cos(x * 0.23 + ph[k][3]);
                im->px[((size_t)y * w + x) * c + k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
}

/* Index of the first differing byte, or -1. */
static long first_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return (long)i;
    return -1;
}

static int same_image(const fer_image *a, const fer_image *b, const char *what)
{
    long d;
    if (a->w != b->w || a->h != b->h || a->c != b->c) {
        check_fail(__FILE__, __LINE__, "%s: got %dx%dx%d, want %dx%dx%d", what, a->w, a->h,
                   a->c, b->w, b->h, b->c);
        return 0;
    }
    d = first_diff(a->px, b->px, (size_t)a->w * a->h * a->c);
    if (d >= 0) {
        check_fail(__FILE__, __LINE__, "%s: byte %ld is %d, want %d", what, d, a->px[d],
                   b->px[d]);
        return 0;
    }
    return 1;
}

/* ---- PNG ---- */

static void test_png_roundtrip(void)
{
    static const int sizes[][3] = {{37, 23, 1}, {37, 23, 3}, {1, 1, 1}, {1, 5, 3}, {64, 2, 3}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        fer_image a, b;
        const char *p = tmp_path(k % 2 ? "rt.PNG" : "rt.png");
        rand_image(&a, sizes[k][0], sizes[k][1], sizes[k][2]);
        CHECK((k % 2 ? fer_image_write(p, &a) : fer_image_write_png(p, &a)) == 0, "write: %s",
              fer_error());
        CHECK(fer_image_read(p, &b) == 0, "read: %s", fer_error());
        same_image(&b, &a, "png round trip");
        fer_image_free(&a);
        fer_image_free(&b);
    }
}

/* Writes rows (each rowbytes long) as a PNG with libpng into memory. */
static unsigned char *png_encode(int w, int h, int depth, int ctype, int interlace,
                                 png_colorp pal, int npal, uint8_t *data, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_bytep *rows = malloc(sizeof *rows * h);
    size_t rb;
    if (setjmp(png_jmpbuf(png)))
        abort();
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, depth, ctype, interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (pal)
        png_set_PLTE(png, info, pal, npal);
    png_write_info(png, info);
    rb = png_get_rowbytes(png, info);
    for (int y = 0; y < h; y++)
        rows[y] = data + (size_t)y * rb;
    png_write_image(png, rows);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(rows);
    fclose(f);
    *len = n;
    return (unsigned char *)buf;
}

/* One libpng-written variant: raw rows in, expected 8-bit image out. */
static void png_variant(const char *what, int w, int h, int depth, int ctype, int interlace,
                        png_colorp pal, int npal, uint8_t *raw, const fer_image *want)
{
    size_t n;
    unsigned char *buf = png_encode(w, h, depth, ctype, interlace, pal, npal, raw, &n);
    fer_image got;
    CHECK(fer_image_read_mem(buf, n, what, &got) == 0, "%s: %s", what, fer_error());
    same_image(&got, want, what);
    fer_image_free(&got);
    free(buf);
}

static void test_png_variants(void)
{
    int w = 37, h = 23;
    size_t np = (size_t)w * h;
    uint8_t *raw = malloc(np * 8);
    fer_image want, want1;
    png_color pal[200];

    /* gray + alpha, RGBA: alpha dropped */
    rand_image(&want1, w, h, 1);
    rand_image(&want, w, h, 3);
    for (size_t i = 0; i < np; i++) {
        raw[2 * i] = want1.px[i];
        raw[2 * i + 1] = (uint8_t)(check_uniform() * 256);
    }
    png_variant("ga.png", w, h, 8, PNG_COLOR_TYPE_GRAY_ALPHA, 0, NULL, 0, raw, &want1);
    for (size_t i = 0; i < np; i++) {
        memcpy(raw + 4 * i, want.px + 3 * i, 3);
        raw[4 * i + 3] = (uint8_t)(check_uniform() * 256);
    }
    png_variant("rgba.png", w, h, 8, PNG_COLOR_TYPE_RGBA, 0, NULL, 0, raw, &want);

    /* palette of 200 random colours, 8-bit indices */
    for (int k = 0; k < 200; k++) {
        pal[k].red = (uint8_t)(check_uniform() * 256);
        pal[k].green = (uint8_t)(check_uniform() * 256);
        pal[k].blue = (uint8_t)(check_uniform() * 256);
    }
    for (size_t i = 0; i < np; i++) {
        int k = (int)(check_uniform() * 200);
        raw[i] = (uint8_t)k;
        want.px[3 * i] = pal[k].red;
        want.px[3 * i + 1] = pal[k].green;
        want.px[3 * i + 2] = pal[k].blue;
    }
    png_variant("pal8.png", w, h, 8, PNG_COLOR_TYPE_PALETTE, 0, pal, 200, raw, &want);

    /* palette of 16 colours, 4-bit packed indices, interlaced */
    {
        size_t rb = ((size_t)w + 1) / 2;
        memset(raw, 0, rb * h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int k = (int)(check_uniform() * 16);
                raw[y * rb + x / 2] |= (uint8_t)(x % 2 ? k : k << 4);
                memcpy(want.px + 3 * ((size_t)y * w + x), &pal[k], 3);
            }
        png_variant("pal4i.png", w, h, 4, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_ADAM7, pal, 16,
                    raw, &want);
    }

    /* 4-bit gray: v becomes v * 17 */
    {
        size_t rb = ((size_t)w + 1) / 2;
        memset(raw, 0, rb * h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int v = (int)(check_uniform() * 16);
                raw[y * rb + x / 2] |= (uint8_t)(x % 2 ? v : v << 4);
                want1.px[(size_t)y * w + x] = (uint8_t)(v * 17);
            }
        png_variant("gray4.png", w, h, 4, PNG_COLOR_TYPE_GRAY, 0, NULL, 0, raw, &want1);
    }

    /* 16-bit gray and RGBA (big-endian samples): the high byte is kept */
    for (size_t i = 0; i < np; i++) {
        raw[2 * i] = want1.px[i] = (uint8_t)(check_uniform() * 256);
        raw[2 * i + 1] = (uint8_t)(check_uniform() * 256);
    }
    png_variant("gray16.png", w, h, 16, PNG_COLOR_TYPE_GRAY, 0, NULL, 0, raw, &want1);
    for (size_t i = 0; i < np * 4; i++) {
        raw[2 * i] = (uint8_t)(check_uniform() * 256);
        raw[2 * i + 1] = (uint8_t)(check_uniform() * 256);
        if (i % 4 != 3)
            want.px[i / 4 * 3 + i % 4] = raw[2 * i];
    }
    png_variant("rgba16.png", w, h, 16, PNG_COLOR_TYPE_RGBA, 0, NULL, 0, raw, &want);

    /* interlaced 8-bit gray and RGB */
    for (size_t i = 0; i < np; i++)
        raw[i] = want1.px[i] = (uint8_t)(check_uniform() * 256);
    png_variant("grayi.png", w, h, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_ADAM7, NULL, 0, raw,
                &want1);
    for (size_t i = 0; i < np * 3; i++)
        raw[i] = want.px[i] = (uint8_t)(check_uniform() * 256);
    png_variant("rgbi.png", w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_ADAM7, NULL, 0, raw,
                &want);

    fer_image_free(&want);
    fer_image_free(&want1);
    free(raw);
}

/* ---- JPEG ---- */

/* Encodes with libjpeg directly, optionally progressive, into memory. */
static unsigned char *jpeg_encode(const fer_image *im, int quality, int progressive,
                                  J_COLOR_SPACE cs, int ncomp, size_t *len)
{
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr em;
    unsigned char *buf = NULL;
    unsigned long n = 0;
    uint8_t *row4 = malloc((size_t)im->w * 4);
    ci.err = jpeg_std_error(&em);
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, &buf, &n);
    ci.image_width = im->w;
    ci.image_height = im->h;
    ci.input_components = ncomp;
    ci.in_color_space = cs;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, quality, TRUE);
    if (progressive)
        jpeg_simple_progression(&ci);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = im->px + (size_t)ci.next_scanline * im->w * im->c;
        if (ncomp == 4) {  /* CMYK from RGB, K = 0: only the layout matters */
            for (int x = 0; x < im->w; x++) {
                memcpy(row4 + 4 * x, row + 3 * x, 3);
                row4[4 * x + 3] = 0;
            }
            row = row4;
        }
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    free(row4);
    *len = n;
    return buf;
}

/* The reference decode: libjpeg's API with its defaults. */
static void jpeg_ref_decode(const unsigned char *buf, size_t n, int c, fer_image *im)
{
    struct jpeg_decompress_struct ci;
    struct jpeg_error_mgr em;
    ci.err = jpeg_std_error(&em);
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, buf, n);
    jpeg_read_header(&ci, TRUE);
    ci.out_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&ci);
    if (fer_image_alloc(im, ci.output_width, ci.output_height, c) < 0)
        abort();
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW row = im->px + (size_t)ci.output_scanline * im->w * c;
        jpeg_read_scanlines(&ci, &row, 1);
    }
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
}

/* Quality 95 on smooth content: the decode must stay within these of the
 * original (measured: max 9, mean 1.0 for RGB with 4:2:0; gray max 1). */
#define JPEG_MAX_ERR 12
#define JPEG_MEAN_ERR 1.5

static void jpeg_close_to(const fer_image *got, const fer_image *orig, const char *what)
{
    size_t n = (size_t)orig->w * orig->h * orig->c;
    double sum = 0;
    int mx = 0;
    if (got->w != orig->w || got->h != orig->h || got->c != orig->c) {
        check_fail(__FILE__, __LINE__, "%s: size %dx%dx%d", what, got->w, got->h, got->c);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        int d = abs(got->px[i] - orig->px[i]);
        sum += d;
        mx = d > mx ? d : mx;
    }
    if (getenv("FER_TEST_VERBOSE"))
        printf("  %s: max err %d, mean err %.3f\n", what, mx, sum / n);
    CHECK(mx <= JPEG_MAX_ERR && sum / n <= JPEG_MEAN_ERR, "%s: max err %d, mean %.3f", what, mx,
          sum / n);
}

static void test_jpeg(void)
{
    static const int sizes[][3] = {{37, 23, 1}, {37, 23, 3}, {61, 45, 3}, {8, 1, 1}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        fer_image orig, got, ref;
        int c = sizes[k][2];
        char what[64];
        size_t n;
        unsigned char *buf;
        const char *p = tmp_path(k % 2 ? "q.jpeg" : "q.jpg");
        smooth_image(&orig, sizes[k][0], sizes[k][1], c);

        /* baseline through our writer (by extension: quality 95) */
        snprintf(what, sizeof what, "baseline %dx%dx%d", orig.w, orig.h, c);
        CHECK(fer_image_write(p, &orig) == 0, "write: %s", fer_error());
        CHECK(fer_image_read(p, &got) == 0, "read: %s", fer_error());
        jpeg_close_to(&got, &orig, what);
        fer_image_free(&got);

        /* baseline and progressive through libjpeg; ours == libjpeg's decode */
        for (int prog = 0; prog < 2; prog++) {
            snprintf(what, sizeof what, "%s %dx%dx%d", prog ? "progressive" : "baseline",
                     orig.w, orig.h, c);
            buf = jpeg_encode(&orig, 95, prog, c == 1 ? JCS_GRAYSCALE : JCS_RGB, c, &n);
            CHECK(fer_image_read_mem(buf, n, "mem.jpg", &got) == 0, "%s: %s", what,
                  fer_error());
            jpeg_ref_decode(buf, n, c, &ref);
            same_image(&got, &ref, what);
            jpeg_close_to(&got, &orig, what);
            fer_image_free(&got);
            fer_image_free(&ref);
            free(buf);
        }
        fer_image_free(&orig);
    }
}

/* ---- PNM ---- */

static void test_pnm_roundtrip(void)
{
    for (int c = 1; c <= 3; c += 2) {
        fer_image a, b;
        const char *p = tmp_path(c == 1 ? "rt.pgm" : "rt.ppm");
        rand_image(&a, 37, 23, c);
        CHECK(fer_image_write(p, &a) == 0, "write: %s", fer_error());
        CHECK(fer_image_read(p, &b) == 0, "read: %s", fer_error());
        same_image(&b, &a, c == 1 ? "P5" : "P6");
        fer_image_free(&a);
        fer_image_free(&b);
    }
}

static uint8_t scale_ref(long v, long maxval)
{
    return (uint8_t)floor(v * 255.0 / maxval + 0.5);
}

/* Text P2/P3 with comments and odd whitespace, maxval m. */
static void test_pnm_text(void)
{
    static const long maxvals[] = {255, 15, 1000, 65535};
    for (int c = 1; c <= 3; c += 2)
        for (int m = 0; m < 4; m++) {
            int w = 7, h = 5;
            long mv = maxvals[m];
            char *text = NULL;
            size_t n = 0;
            FILE *f = open_memstream(&text, &n);
            fer_image want, got;
            fer_image_alloc(&want, w, h, c);
            fprintf(f, "P%d\n# a comment\n%d  %d # trailing\n\t%ld\n", c == 1 ? 2 : 3, w, h, mv);
            for (int i = 0; i < w * h * c; i++) {
                long v = (long)(check_uniform() * (mv + 1));
                want.px[i] = scale_ref(v, mv);
                fprintf(f, "%ld%s", v, i % 9 == 8 ? "\n" : " ");
            }
            fclose(f);
            CHECK(fer_image_read_mem(text, n, "t.pnm", &got) == 0, "P%d maxval %ld: %s",
                  c == 1 ? 2 : 3, mv, fer_error());
            same_image(&got, &want, "text PNM");
            fer_image_free(&got);
            fer_image_free(&want);
            free(text);
        }
}

/* Appends a binary P5/P6 frame of random samples with maxval mv to f and
 * the expected 8-bit image to want. */
static void put_frame(FILE *f, int w, int h, int c, long mv, fer_image *want)
{
    fer_image_alloc(want, w, h, c);
    fprintf(f, "P%d\n%d %d\n%ld\n", c == 1 ? 5 : 6, w, h, mv);
    for (int i = 0; i < w * h * c; i++) {
        long v = (long)(check_uniform() * (mv + 1));
        want->px[i] = scale_ref(v, mv);
        if (mv > 255)
            putc((int)(v >> 8), f);
        putc((int)(v & 255), f);
    }
}

static void test_pnm_16bit_and_stream(void)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    fer_image want[3], got;
    put_frame(f, 37, 23, 1, 65535, &want[0]);
    put_frame(f, 5, 7, 3, 255, &want[1]);
    put_frame(f, 3, 4, 3, 4095, &want[2]);
    fclose(f);

    /* the first frame alone, from memory (trailing frames are ignored) */
    CHECK(fer_image_read_mem(buf, n, "m.pgm", &got) == 0, "16-bit P5: %s", fer_error());
    same_image(&got, &want[0], "16-bit P5");
    fer_image_free(&got);

    /* all three from a stream, read front to back (fmemopen, no seeking) */
    f = fmemopen(buf, n, "rb");
    for (int k = 0; k < 3; k++) {
        int r = fer_image_read_pnm_stream(f, "pipe", &got);
        CHECK(r == 1, "frame %d: %d %s", k, r, fer_error());
        if (r == 1)
            same_image(&got, &want[k], "stream frame");
        fer_image_free(&got);
    }
    CHECK(fer_image_read_pnm_stream(f, "pipe", &got) == 0, "no clean end: %s", fer_error());
    fclose(f);

    /* a frame cut short, and junk after the frames: errors naming the stream */
    f = fmemopen(buf, n - 5, "rb");
    for (int k = 0; k < 3; k++) {
        int r = fer_image_read_pnm_stream(f, "cut", &got);
        CHECK(r == (k < 2 ? 1 : -1), "cut frame %d: %d", k, r);
        fer_image_free(&got);
    }
    CHECK(strstr(fer_error(), "cut: truncated"), "message: %s", fer_error());
    fclose(f);
    for (int k = 0; k < 3; k++)
        fer_image_free(&want[k]);
    free(buf);
}

/* ---- gray, resize, crop ---- */

static void test_to_gray(void)
{
    fer_image rgb, g, g2;
    rand_image(&rgb, 37, 23, 3);
    CHECK(fer_image_to_gray(&rgb, &g) == 0, "%s", fer_error());
    CHECK(g.c == 1 && g.w == 37 && g.h == 23, "shape %dx%dx%d", g.w, g.h, g.c);
    for (int i = 0; i < 37 * 23; i++) {
        const uint8_t *p = rgb.px + 3 * i;
        /* the fixed point, exact in double */
        double fx = floor((9798.0 * p[0] + 19235.0 * p[1] + 3735.0 * p[2] + 16384.0) / 32768.0);
        /* and BT.601 itself: within one level */
        double bt = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
        CHECK(g.px[i] == fx, "pixel %d: %d, want %g", i, g.px[i], fx);
        CHECK_CLOSE(g.px[i], bt, 0.51, 0);
    }
    CHECK(fer_image_to_gray(&g, &g2) == 0, "%s", fer_error());
    same_image(&g2, &g, "gray copy");
    fer_image_free(&rgb);
    fer_image_free(&g);
    fer_image_free(&g2);
}

static double px_at(const fer_image *im, int x, int y, int ch)
{
    x = x < 0 ? 0 : x >= im->w ? im->w - 1 : x;
    y = y < 0 ? 0 : y >= im->h ? im->h - 1 : y;
    return im->px[((size_t)y * im->w + x) * im->c + ch];
}

/* The reference: pixel-centre bilinear with clamped borders, in double. */
static double bilinear_ref(const fer_image *in, int w, int h, int x, int y, int ch)
{
    double sx = (x + 0.5) * in->w / w - 0.5, sy = (y + 0.5) * in->h / h - 0.5;
    double fx, fy;
    int ix, iy;
    sx = sx < 0 ? 0 : sx > in->w - 1 ? in->w - 1 : sx;
    sy = sy < 0 ? 0 : sy > in->h - 1 ? in->h - 1 : sy;
    ix = (int)floor(sx);
    iy = (int)floor(sy);
    fx = sx - ix;
    fy = sy - iy;
    return (1 - fy) * ((1 - fx) * px_at(in, ix, iy, ch) + fx * px_at(in, ix + 1, iy, ch))
         + fy * ((1 - fx) * px_at(in, ix, iy + 1, ch) + fx * px_at(in, ix + 1, iy + 1, ch));
}

static void test_resize_bilinear(void)
{
    static const int cases[][5] = {
        {37, 23, 48, 48, 1}, {37, 23, 17, 11, 3}, {37, 23, 100, 7, 1}, {48, 48, 24, 24, 3},
        {1, 1, 5, 3, 3},     {13, 1, 4, 9, 1},    {37, 23, 37, 22, 3},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const int *cs = cases[k];
        fer_image in, out;
        double worst = 0;
        rand_image(&in, cs[0], cs[1], cs[4]);
        CHECK(fer_image_resize_bilinear(&in, cs[2], cs[3], &out) == 0, "%s", fer_error());
        CHECK(out.w == cs[2] && out.h == cs[3] && out.c == cs[4], "case %zu shape", k);
        for (int y = 0; y < out.h; y++)
            for (int x = 0; x < out.w; x++)
                for (int ch = 0; ch < out.c; ch++) {
                    double d = fabs(out.px[((size_t)y * out.w + x) * out.c + ch]
                                    - bilinear_ref(&in, out.w, out.h, x, y, ch));
                    worst = d > worst ? d : worst;
                }
        CHECK(worst <= 1.0, "case %zu (%dx%d -> %dx%d): off by %.3f", k, cs[0], cs[1], cs[2],
              cs[3], worst);
        fer_image_free(&in);
        fer_image_free(&out);
    }
    {
        fer_image in, out;
        rand_image(&in, 37, 23, 3);
        CHECK(fer_image_resize_bilinear(&in, 37, 23, &out) == 0, "%s", fer_error());
        same_image(&out, &in, "identity bilinear");
        fer_image_free(&out);
        CHECK(fer_image_resize_area(&in, 37, 23, &out) == 0, "%s", fer_error());
        same_image(&out, &in, "identity area");
        fer_image_free(&out);
        CHECK(fer_image_resize_bilinear(&in, 0, 5, &out) == -1, "size 0 accepted");
        fer_image_free(&in);
    }
}

/* Exact box average over [x*sw, (x+1)*sw) x [y*sh, (y+1)*sh), in double. */
static double area_ref(const fer_image *in, int w, int h, int x, int y, int ch)
{
    double sw = (double)in->w / w, sh = (double)in->h / h, sum = 0;
    double x0 = x * sw, x1 = x0 + sw, y0 = y * sh, y1 = y0 + sh;
    for (int j = (int)floor(y0); j < in->h && j < y1; j++)
        for (int i = (int)floor(x0); i < in->w && i < x1; i++) {
            double ox = fmin(i + 1, x1) - fmax(i, x0), oy = fmin(j + 1, y1) - fmax(j, y0);
            if (ox > 0 && oy > 0)
                sum += ox * oy * px_at(in, i, j, ch);
        }
    return sum / (sw * sh);
}

static void test_resize_area(void)
{
    static const int cases[][5] = {
        {36, 24, 12, 8, 1}, {36, 24, 18, 12, 3}, {35, 21, 7, 3, 3}, {37, 23, 16, 10, 1},
        {37, 23, 48, 48, 3}, {100, 3, 7, 2, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const int *cs = cases[k];
        fer_image in, out;
        double worst = 0, worst_block = 0;
        int integer = cs[0] % cs[2] == 0 && cs[1] % cs[3] == 0;
        rand_image(&in, cs[0], cs[1], cs[4]);
        CHECK(fer_image_resize_area(&in, cs[2], cs[3], &out) == 0, "%s", fer_error());
        for (int y = 0; y < out.h; y++)
            for (int x = 0; x < out.w; x++)
                for (int ch = 0; ch < out.c; ch++) {
                    double got = out.px[((size_t)y * out.w + x) * out.c + ch];
                    double d = fabs(got - area_ref(&in, out.w, out.h, x, y, ch));
                    worst = d > worst ? d : worst;
                    if (integer) {  /* plain block mean, integer sum */
                        int fx = cs[0] / cs[2], fy = cs[1] / cs[3];
                        long sum = 0;
                        for (int j = 0; j < fy; j++)
                            for (int i = 0; i < fx; i++)
                                sum += (long)px_at(&in, x * fx + i, y * fy + j, ch);
                        d = fabs(got - floor((double)sum / (fx * fy) + 0.5));
                        worst_block = d > worst_block ? d : worst_block;
                    }
                }
        CHECK(worst < 0.5 + 1e-9, "case %zu (%dx%d -> %dx%d): %.3f from the box average", k,
              cs[0], cs[1], cs[2], cs[3], worst);
        CHECK(worst_block <= 1, "case %zu: %.0f from the rounded block mean", k, worst_block);
        fer_image_free(&in);
        fer_image_free(&out);
    }
}

static void test_crop(void)
{
    /* inside, over each edge, larger than the image, wholly outside */
    static const int rects[][4] = {
        {3, 4, 10, 7}, {-5, -3, 12, 9}, {30, 18, 15, 11}, {-4, -6, 45, 35}, {50, -40, 3, 2},
    };
    fer_image in, out;
    rand_image(&in, 37, 23, 3);
    for (size_t k = 0; k < sizeof rects / sizeof rects[0]; k++) {
        const int *r = rects[k];
        int bad = 0;
        CHECK(fer_image_crop(&in, r[0], r[1], r[2], r[3], &out) == 0, "%s", fer_error());
        CHECK(out.w == r[2] && out.h == r[3] && out.c == 3, "rect %zu shape", k);
        for (int y = 0; y < out.h; y++)
            for (int x = 0; x < out.w; x++)
                for (int ch = 0; ch < 3; ch++)
                    bad += out.px[((size_t)y * out.w + x) * 3 + ch]
                           != px_at(&in, r[0] + x, r[1] + y, ch);
        CHECK(bad == 0, "rect %zu: %d samples differ", k, bad);
        fer_image_free(&out);
    }
    CHECK(fer_image_crop(&in, 0, 0, 0, 4, &out) == -1 && out.px == NULL, "width 0 accepted");
    fer_image_free(&in);
}

/* ---- bad inputs ---- */

static unsigned char *good_png(size_t *n)
{
    uint8_t raw[37 * 23 * 3];
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = (uint8_t)(check_uniform() * 256);
    return png_encode(37, 23, 8, PNG_COLOR_TYPE_RGB, 0, NULL, 0, raw, n);
}

/* A PNG whose IHDR says w x h (CRC recomputed, so only the size is bad). */
static unsigned char *png_with_size(uint32_t w, uint32_t h, size_t *n)
{
    unsigned char *b = good_png(n);
    uLong crc;
    for (int i = 0; i < 4; i++) {
        b[16 + i] = (unsigned char)(w >> (24 - 8 * i));
        b[20 + i] = (unsigned char)(h >> (24 - 8 * i));
    }
    crc = crc32(0, b + 12, 17);
    for (int i = 0; i < 4; i++)
        b[29 + i] = (unsigned char)(crc >> (24 - 8 * i));
    return b;
}

static void test_bad_inputs(void)
{
    struct {
        const char *file;
        const char *want;       /* in the message after "path: " */
        unsigned char *data;
        size_t n;
    } t[24];
    int nt = 0;
    size_t n;
    unsigned char *b;
    fer_image im, smooth;

#define ROW(F, W, D, N) (t[nt].file = (F), t[nt].want = (W), t[nt].data = (D), t[nt].n = (N), nt++)
#define TROW(F, W, S) ROW(F, W, (unsigned char *)strdup(S), strlen(S))
    TROW("empty.png", "empty file", "");
    TROW("magic.png", "not a PNG, JPEG or PNM image", "GIF89a......");
    b = good_png(&n);
    ROW("trunc.png", "truncated PNG data", b, n / 2);
    b = good_png(&n);
    b[30] ^= 0x55;      /* the CRC of IHDR */
    ROW("crc.png", "IHDR: CRC error", b, n);
    b = good_png(&n);
    b[50] ^= 0x55;      /* IDAT data (from byte 41): zlib notices before the CRC */
    ROW("idat.png", "IDAT", b, n);
    b = png_with_size(40000, 23, &n);
    ROW("huge.png", "40000x23 is larger than", b, n);
    b = png_with_size(0, 23, &n);
    ROW("zero.png", "IHDR", b, n);
    smooth_image(&smooth, 61, 45, 3);
    b = jpeg_encode(&smooth, 95, 0, JCS_RGB, 3, &n);
    ROW("trunc.jpg", "truncated JPEG data", b, n * 6 / 10);
    b = jpeg_encode(&smooth, 95, 1, JCS_RGB, 3, &n);
    ROW("truncp.jpg", "truncated JPEG data", b, n * 6 / 10);
    b = jpeg_encode(&smooth, 90, 0, JCS_CMYK, 4, &n);
    ROW("cmyk.jpg", "CMYK JPEG not supported", b, n);
    b = jpeg_encode(&smooth, 90, 0, JCS_RGB, 3, &n);
    for (size_t i = 2; i + 9 < n; i++)          /* SOF0: height, width at +5, +7 */
        if (b[i] == 0xff && b[i + 1] == 0xc0) {
            b[i + 5] = b[i + 7] = 20000 >> 8, b[i + 6] = b[i + 8] = 20000 & 255;
            break;
        }
    ROW("big.jpg", "20000x20000 is 400000000 pixels, over the limit of 100000000", b, n);
    fer_image_free(&smooth);
    /* refused on the header, before 1 GB is allocated (FER_MAX_PIXELS named) */
    b = png_with_size(32768, 32768, &n);
    ROW("big.png", "32768x32768 is 1073741824 pixels, over the limit of 100000000 "
        "(FER_MAX_PIXELS", b, n);
    TROW("big.pgm", "over the limit of 100000000", "P5\n20000 5001\n255\n");
    TROW("header.pgm", "not a number", "P5\nabc 3\n255\n");
    TROW("short.ppm", "truncated PNM data", "P6\n4 3\n255\n0123456789");
    TROW("zero.pgm", "width 0", "P5\n0 3\n255\n");
    TROW("huge.ppm", "100000x100000 is larger than", "P6\n100000 100000\n255\n");
    TROW("maxval.pgm", "maxval 70000 not in 1..65535", "P5 2 2 70000\n");
    TROW("sample.pgm", "sample 300 > maxval 255", "P2 2 1 255 7 300\n");
    TROW("noheight.pgm", "truncated PNM data (no height)", "P5 12");
#undef ROW
#undef TROW

    for (int k = 0; k < nt; k++) {
        const char *p = tmp_path(t[k].file);
        char want[512];
        int r;
        write_bytes(p, t[k].data, t[k].n);
        snprintf(want, sizeof want, "%s: ", p);
        memset(&im, 0x5a, sizeof im);
        r = fer_image_read(p, &im);
        if (getenv("FER_TEST_VERBOSE"))
            printf("  %s\n", fer_error());
        CHECK(r == -1 && !strncmp(fer_error(), want, strlen(want))
                  && strstr(fer_error(), t[k].want) && im.px == NULL,
              "%s: r=%d, message '%s', want '%s'", t[k].file, r, fer_error(), t[k].want);
        /* the same from memory, named by the caller */
        r = fer_image_read_mem(t[k].data, t[k].n, t[k].file, &im);
        CHECK(r == -1 && strstr(fer_error(), t[k].file) && strstr(fer_error(), t[k].want),
              "mem %s: message '%s'", t[k].file, fer_error());
        unlink(p);
        free(t[k].data);
    }

    CHECK(fer_image_read(tmp_path("absent.png"), &im) == -1 && strstr(fer_error(), "absent.png"),
          "absent file: %s", fer_error());

    /* FER_MAX_PIXELS moves the limit; a bad value is named */
    b = good_png(&n);
    setenv("FER_MAX_PIXELS", "850", 1);         /* the PNG is 37x23 = 851 */
    CHECK(fer_image_read_mem(b, n, "p.png", &im) == -1
              && strstr(fer_error(), "p.png: 37x23 is 851 pixels, over the limit of 850"),
          "limit 850: %s", fer_error());
    setenv("FER_MAX_PIXELS", "851", 1);
    CHECK(fer_image_read_mem(b, n, "p.png", &im) == 0, "limit 851: %s", fer_error());
    fer_image_free(&im);
    setenv("FER_MAX_PIXELS", "1e9", 1);
    CHECK(fer_image_read_mem(b, n, "p.png", &im) == -1 && strstr(fer_error(), "FER_MAX_PIXELS: '1e9'"),
          "limit 1e9: %s", fer_error());
    unsetenv("FER_MAX_PIXELS");
    free(b);

    /* writers: unknown extension, a missing directory; no file is left */
    rand_image(&smooth, 5, 4, 1);
    CHECK(fer_image_write(tmp_path("x.bmp"), &smooth) == -1 && strstr(fer_error(), "x.bmp"),
          "bmp: %s", fer_error());
    CHECK(fer_image_write_png(tmp_path("nodir/x.png"), &smooth) == -1
              && strstr(fer_error(), "nodir/x.png"),
          "no dir: %s", fer_error());
    CHECK(fer_image_write_jpeg(tmp_path("q0.jpg"), &smooth, 0) == -1
              && access(tmp_path("q0.jpg"), F_OK) != 0,
          "quality 0: %s", fer_error());
    fer_image_free(&smooth);
}

/* ---- real photos (../shared/faces), when present ---- */

static void test_shared_photos(void)
{
    static const struct { const char *file; int w, h, c; } want[] = {
        {"mpl_grace_hopper.jpg", 512, 600, 3},
        {"dlib_dogs.jpg", 900, 916, 3},                 /* progressive */
        {"mmpose_aflw_image04476.jpg", 439, 500, 3},    /* progressive */
        {"mmpose_wflw_7_Cheering_16.jpg", 1024, 1024, 3}, /* progressive */
        {"mmpose_300w_indoor_020.png", 726, 768, 3},    /* palette */
        {"skimage_camera.png", 512, 512, 1},            /* 8-bit gray */
        {"y8f_zidane.jpg", 1280, 720, 3},
    };
    const char *g = check_shared("faces/images/mpl_grace_hopper.jpg");
    char dir[4096], path[4400];
    DIR *d;
    struct dirent *e;
    int ndec = 0;
    if (!g)
        SKIP("no ../shared/faces/images (set FER_SHARED)");
    snprintf(dir, sizeof dir, "%s", g);
    *strrchr(dir, '/') = 0;
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        fer_image im;
        snprintf(path, sizeof path, "%s/%s", dir, want[k].file);
        CHECK(fer_image_read(path, &im) == 0, "%s", fer_error());
        CHECK(im.w == want[k].w && im.h == want[k].h && im.c == want[k].c,
              "%s: %dx%dx%d, want %dx%dx%d", want[k].file, im.w, im.h, im.c, want[k].w,
              want[k].h, want[k].c);
        fer_image_free(&im);
    }
    /* every photo there decodes (no spurious libjpeg warning turned error) */
    if (!(d = opendir(dir)))
        SKIP("cannot list the faces directory");
    while ((e = readdir(d))) {
        fer_image im;
        const char *x = strrchr(e->d_name, '.');
        if (!x || (strcmp(x, ".jpg") && strcmp(x, ".png")))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        CHECK(fer_image_read(path, &im) == 0, "%s", fer_error());
        CHECK(im.w > 0 && im.h > 0 && (im.c == 1 || im.c == 3), "%s: shape", e->d_name);
        fer_image_free(&im);
        ndec++;
    }
    closedir(d);
    CHECK(ndec >= 10, "only %d photos decoded", ndec);
}

int main(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/fer-test-image-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror(tmpdir);
        return 1;
    }
    check_seed(20240611);
    RUN(test_png_roundtrip);
    RUN(test_png_variants);
    RUN(test_jpeg);
    RUN(test_pnm_roundtrip);
    RUN(test_pnm_text);
    RUN(test_pnm_16bit_and_stream);
    RUN(test_to_gray);
    RUN(test_resize_bilinear);
    RUN(test_resize_area);
    RUN(test_crop);
    RUN(test_bad_inputs);
    RUN(test_shared_photos);
    /* the tests remove what they wrote except round-trip files */
    {
        DIR *d = opendir(tmpdir);
        struct dirent *e;
        char p[600];
        while (d && (e = readdir(d)))
            if (e->d_name[0] != '.') {
                snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
                unlink(p);
            }
        if (d)
            closedir(d);
        rmdir(tmpdir);
    }
    return check_done();
}
