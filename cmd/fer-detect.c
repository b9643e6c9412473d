/* fer-detect: Haar-cascade face detection (OpenCV's procedure, bit for
 * bit), face-api.js's SSD MobileNetV1 (--detector ssd) or MediaPipe's
 * BlazeFace (--detector blazeface); a fer stream of face crops, or plain
 * boxes, on stdout.
 * See man/fer-detect.1. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "detect.h"
#include "draw.h"
#include "error.h"
#include "facenet_blaze.h"
#include "facenet_ssd.h"
#include "haar.h"
#include "image.h"
#include "opt.h"
#include "outfile.h"
#include "parse.h"
#include "record.h"
#include "threads.h"
#include "util.h"

static const char synopsis[] =
    "usage: fer-detect [--detector haar|ssd|blazeface] [--weights file] [--min-score f]\n"
    "                  [--tiles auto|off|px] [-c cascade] [--eyes] [--eye-cascade file]\n"
    "                  [--scale-factor f] [--min-neighbors n] [--min-size px]\n"
    "                  [--max-size px] [--margin frac] [--equalize] [--size px]\n"
    "                  [--boxes] [--draw out.png] [--threads n] [-o output] file...\n";

/* The settings of one run. */
typedef struct conf {
    fer_cascade face, eye;
    int eyes;
    fer_detect_opts fo, eo;
    fer_ssd *ssd;               /* --detector ssd: the net */
    fer_ssd_opts so;
    fer_blaze *blaze;           /* --detector blazeface: the net; neither: Haar */
    fer_blaze_opts bo;
    double margin;
    int equalize, size, boxes;
    uint64_t nfaces;            /* face records written, for the end record */
    const char *draw;
    FILE *out;
    fer_image drawn;            /* the last image read, boxes drawn, for --draw */
} conf;

/* Histogram equalisation as OpenCV's equalizeHist: the cumulative
 * histogram scaled so that the first used level maps to 0. */
static void equalize(uint8_t *px, size_t n)
{
    size_t hist[256] = {0}, sum = 0, first = 0;
    uint8_t lut[256];
    int i = 0;
    for (size_t k = 0; k < n; k++)
        hist[px[k]]++;
    while (i < 256 && !hist[i])
        i++;
    if (i == 256 || hist[i] == n) {     /* one level: OpenCV fills with it */
        return;
    }
    first = hist[i];
    {
        float scale = 255.f / (float)(n - first);
        memset(lut, 0, sizeof lut);
        lut[i] = 0;
        for (i++; i < 256; i++) {
            sum += hist[i];
            lut[i] = (uint8_t)lrintf((float)sum * scale);
        }
    }
    for (size_t k = 0; k < n; k++)
        px[k] = lut[px[k]];
}

/* The crop of a box (grown by margin on each side) as a size x size face. */
static int crop_face(const conf *cf, const fer_image *gray, fer_rect b, fer_image *face)
{
    fer_image crop = {0};
    int mx = (int)lrint(cf->margin * b.w), my = (int)lrint(cf->margin * b.h);
    int cw = b.w + 2 * mx, ch = b.h + 2 * my, st;
    if (fer_image_crop(gray, b.x - mx, b.y - my, cw, ch, &crop) < 0)
        return -1;
    if (cw >= cf->size && ch >= cf->size)
        st = fer_image_resize_area(&crop, cf->size, cf->size, face);
    else
        st = fer_image_resize_bilinear(&crop, cf->size, cf->size, face);
    fer_image_free(&crop);
    if (st < 0)
        return -1;
    if (cf->equalize)
        equalize(face->px, (size_t)cf->size * cf->size);
    return 0;
}

/* The net's faces in whole pixels, clipped to the image, with their
 * scores. Returns the count or -1. */
static int detect_net(conf *cf, const fer_image *im, fer_rect **faces, float **scores)
{
    fer_box *b;
    int n = cf->ssd ? fer_ssd_detect(cf->ssd, im, &cf->so, &b)
                    : fer_blaze_detect(cf->blaze, im, &cf->bo, &b), k = 0;
    if (n <= 0)
        return n;
    if (!(*faces = malloc(sizeof **faces * (size_t)n)) ||
        !(*scores = malloc(sizeof **scores * (size_t)n))) {
        free(b);
        return fer_seterr("out of memory");
    }
    for (int i = 0; i < n; i++) {
        long x0 = lrintf(b[i].x0), y0 = lrintf(b[i].y0), x1 = lrintf(b[i].x1),
             y1 = lrintf(b[i].y1);
        x0 = x0 < 0 ? 0 : x0, y0 = y0 < 0 ? 0 : y0;
        x1 = x1 > im->w ? im->w : x1, y1 = y1 > im->h ? im->h : y1;
        if (x1 <= x0 || y1 <= y0)
            continue;
        (*faces)[k] = (fer_rect){(int)x0, (int)y0, (int)(x1 - x0), (int)(y1 - y0)};
        (*scores)[k++] = b[i].score;
    }
    free(b);
    return k;
}

/* Detects the faces of one image and writes them out. 0 or -1. */
static int process(conf *cf, const char *name, long frame, fer_image *im)
{
    fer_image gray = {0};
    fer_rect *faces = NULL;
    float *scores = NULL;
    int n, k = 0, st = -1;

    if (fer_image_to_gray(im, &gray) < 0)
        goto done;
    if (cf->ssd || cf->blaze)
        n = detect_net(cf, im, &faces, &scores);
    else
        n = fer_detect(&cf->face, gray.px, gray.w, gray.h, gray.w, &cf->fo, &faces);
    if (n < 0)
        goto done;
    for (int i = 0; i < n; i++) {
        fer_rect b = faces[i];
        if (cf->eyes) {
            fer_rect *eyes = NULL;
            int ne = 0, eh = b.h / 2;
            if (eh > 0 &&
                (ne = fer_detect(&cf->eye, gray.px + (size_t)b.y * gray.w + b.x, b.w, eh,
                                 gray.w, &cf->eo, &eyes)) < 0)
                goto done;
            free(eyes);
            if (ne == 0)
                continue;
        }
        if (scores)
            scores[k] = scores[i];
        faces[k++] = b;
    }
    for (int i = 0; i < k; i++) {
        fer_rect b = faces[i];
        if (cf->boxes && scores) {
            fprintf(cf->out, "%s %ld %d %d %d %d %.4f\n", name, frame, b.x, b.y, b.w, b.h,
                    scores[i]);
        } else if (cf->boxes) {
            fprintf(cf->out, "%s %ld %d %d %d %d\n", name, frame, b.x, b.y, b.w, b.h);
        } else {
            fer_image face = {0};
            fer_record r;
            char meta[4200];
            uint64_t shape[3] = {1, (uint64_t)cf->size, (uint64_t)cf->size};
            if (crop_face(cf, &gray, b, &face) < 0)
                goto done;
            int m = snprintf(meta, sizeof meta,
                             "src=%s\nframe=%ld\nbox=%d,%d,%d,%d\nimage=%dx%d\nend=1\n", name,
                             frame, b.x, b.y, b.w, b.h, im->w, im->h);
            if (scores && m > 0 && (size_t)m < sizeof meta)
                snprintf(meta + m, sizeof meta - m, "score=%.4f\n", scores[i]);
            fer_record_init(&r, "face", FER_U8, 3, shape, face.px, meta);
            if (fer_record_write(cf->out, &r) < 0) {
                fer_image_free(&face);
                fer_seterr("write error");
                goto done;
            }
            fer_image_free(&face);
            cf->nfaces++;
        }
    }
    if (cf->draw) {
        fer_image_free(&cf->drawn);
        if (fer_draw_rgb(im, &cf->drawn) < 0)
            goto done;
        for (int i = 0; i < k; i++)
            fer_draw_face(&cf->drawn, faces[i].x, faces[i].y, faces[i].w, faces[i].h, NULL,
                          fer_draw_colour(3));
    }
    st = 0;
done:
    if (st < 0 && strncmp(fer_error(), name, strlen(name)))
        fer_error_prefix("%s", name);
    free(faces);
    free(scores);
    fer_image_free(&gray);
    return st;
}

/* One operand: an image file, or a stream of PNM frames. 0 or -1 (the
 * message printed here). */
static int do_file(conf *cf, const char *path)
{
    int is_stdin = !strcmp(path, "-"), c1, c2, st = 0;
    const char *name = is_stdin ? "stdin" : path;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    fer_image im = {0};

    if (strchr(path, '\n')) {
        /* a face record's src is one meta line: a newline would start a
         * key of its own (frame=, box=) */
        char shown[4200];
        size_t k = 0;
        for (const char *p = path; *p && k + 3 < sizeof shown; p++) {
            if (*p == '\n')
                shown[k++] = '\\', shown[k++] = 'n';
            else
                shown[k++] = *p;
        }
        shown[k] = 0;
        fprintf(stderr, "%s: %s: a newline in the file name (the face records name their photo "
                "on one line)\n", fer_cmd, shown);
        if (f && !is_stdin)
            fclose(f);
        return -1;
    }
    if (!f) {
        fprintf(stderr, "%s: %s: %s\n", fer_cmd, path, strerror(errno));
        return -1;
    }
    c1 = getc(f);
    c2 = c1 == 'P' ? getc(f) : EOF;
    if (c1 == 'P' && (c2 == '5' || c2 == '6')) {
        long frame = 0;
        int k;
        ungetc(c2, f);          /* glibc, musl and the BSDs keep 2 bytes */
        ungetc(c1, f);
        while ((k = fer_image_read_pnm_stream(f, name, &im)) == 1) {
            if (process(cf, name, frame, &im) < 0) {
                fprintf(stderr, "%s: %s\n", fer_cmd, fer_error());
                st = -1;
            }
            fer_image_free(&im);
            frame++;
        }
        if (k < 0) {
            fprintf(stderr, "%s: %s\n", fer_cmd, fer_error());
            st = -1;
        }
    } else if (!is_stdin) {
        if (fer_image_read(path, &im) < 0 || process(cf, name, 0, &im) < 0) {
            fprintf(stderr, "%s: %s\n", fer_cmd, fer_error());
            st = -1;
        }
    } else {
        /* a single image on stdin: read it whole */
        size_t n = 0, cap = 1 << 16;
        unsigned char *buf = malloc(cap);
        int ch;
        if (!buf)
            die("out of memory");
        if (c1 != EOF)
            buf[n++] = (unsigned char)c1;
        if (c2 != EOF)
            buf[n++] = (unsigned char)c2;
        while ((ch = getc(f)) != EOF) {
            if (n == cap && !(buf = realloc(buf, cap *= 2)))
                die("out of memory");
            buf[n++] = (unsigned char)ch;
        }
        if (fer_image_read_mem(buf, n, name, &im) < 0 || process(cf, name, 0, &im) < 0) {
            fprintf(stderr, "%s: %s\n", fer_cmd, fer_error());
            st = -1;
        }
        free(buf);
    }
    fer_image_free(&im);
    if (!is_stdin)
        fclose(f);
    return st;
}

static void load_cascade(const char *given, const char *base, fer_cascade *c)
{
    char buf[4096];
    if (!given) {
        if (fer_haar_find(base, buf, sizeof buf) < 0)
            die("%s (give one with -c)", fer_error());
        given = buf;
    }
    if (fer_haar_load(given, c) < 0)
        die("%s", fer_error());
}

int main(int argc, char **argv)
{
    enum { O_EYES = 256, O_EYEC, O_SF, O_MN, O_MIN, O_MAX, O_MARGIN, O_EQ, O_SIZE, O_BOXES,
           O_DRAW, O_THREADS, O_DETECTOR, O_WEIGHTS, O_MINSCORE, O_TILES };
    static const struct option longs[] = {
        {"cascade", required_argument, 0, 'c'},  {"eyes", no_argument, 0, O_EYES},
        {"eye-cascade", required_argument, 0, O_EYEC},
        {"scale-factor", required_argument, 0, O_SF},
        {"min-neighbors", required_argument, 0, O_MN},
        {"min-size", required_argument, 0, O_MIN}, {"max-size", required_argument, 0, O_MAX},
        {"margin", required_argument, 0, O_MARGIN}, {"equalize", no_argument, 0, O_EQ},
        {"size", required_argument, 0, O_SIZE},    {"boxes", no_argument, 0, O_BOXES},
        {"draw", required_argument, 0, O_DRAW},    {"threads", required_argument, 0, O_THREADS},
        {"output", required_argument, 0, 'o'},
        {"detector", required_argument, 0, O_DETECTOR},
        {"weights", required_argument, 0, O_WEIGHTS},
        {"min-score", required_argument, 0, O_MINSCORE},
        {"tiles", required_argument, 0, O_TILES},
        FER_CMD_LONGOPTS,
        {0, 0, 0, 0},
    };
    enum { D_HAAR, D_SSD, D_BLAZE };
    static const char *const detectors[] = {"haar", "ssd", "blazeface", NULL};
    static const char *const files[] = {NULL, "ssd_mobilenetv1.fer", "blazeface.fer"};
    conf cf;
    const char *cascade = NULL, *eye_cascade = NULL, *output = "-", *weights = NULL;
    int det = D_HAAR, score_given = 0, tiles_given = 0, haar_given = 0, tile = -1;
    float score = 0;
    fer_outfile of = {0};
    long v;
    int opt, failed = 0;

    memset(&cf, 0, sizeof cf);
    fer_detect_defaults(&cf.fo);
    cf.fo.min_neighbors = 5;
    cf.fo.min_w = cf.fo.min_h = 30;
    fer_detect_defaults(&cf.eo);        /* the eye check: 1.1, 5, no size limits */
    cf.eo.min_neighbors = 5;
    cf.size = 48;
    fer_ssd_defaults(&cf.so);
    fer_blaze_defaults(&cf.bo);
    fer_cmd_init("fer-detect", synopsis);
    while ((opt = fer_cmd_getopt(argc, argv, "c:o:h", longs)) != -1) {
        switch (opt) {
        case 'c': cascade = optarg; break;
        case 'o': output = optarg; break;
        case O_EYES: cf.eyes = 1; break;
        case O_EYEC: eye_cascade = optarg; cf.eyes = 1; break;
        case O_SF:
            haar_given = 1;
            cf.fo.scale_factor = fer_cmd_num("scale-factor", optarg, 1.0001, 100);
            break;
        case O_MN:
            haar_given = 1;
            cf.fo.min_neighbors = (int)fer_cmd_whole("min-neighbors", optarg, 0, 1000000);
            break;
        case O_MIN:
            haar_given = 1;
            cf.fo.min_w = cf.fo.min_h = (int)fer_cmd_whole("min-size", optarg, 0,
                                                           FER_IMAGE_DIM_MAX);
            break;
        case O_MAX:
            haar_given = 1;
            cf.fo.max_w = cf.fo.max_h = (int)fer_cmd_whole("max-size", optarg, 0,
                                                           FER_IMAGE_DIM_MAX);
            break;
        case O_MARGIN: cf.margin = fer_cmd_num("margin", optarg, 0, 2); break;
        case O_EQ: cf.equalize = 1; break;
        case O_SIZE: cf.size = (int)fer_cmd_whole("size", optarg, 1, 4096); break;
        case O_BOXES: cf.boxes = 1; break;
        case O_DRAW: cf.draw = optarg; break;
        case O_THREADS:
            if (fer_threads_set((int)fer_cmd_whole("threads", optarg, 1, FER_THREADS_MAX)) < 0)
                usage_error("--threads: %s", fer_error());
            break;
        case O_DETECTOR: det = fer_cmd_pick("detector", optarg, detectors); break;
        case O_WEIGHTS: weights = optarg; break;
        case O_MINSCORE:
            score = (float)fer_cmd_num("min-score", optarg, 0, 0.9999);
            score_given = 1;
            break;
        case O_TILES:
            tiles_given = 1;
            if (!strcmp(optarg, "auto"))
                tile = -1;          /* the detector's own, below */
            else if (!strcmp(optarg, "off"))
                tile = 0;
            else if (fer_parse_long(optarg, 16, FER_IMAGE_DIM_MAX, &v) < 0)
                usage_error("--tiles: %s (auto, off or a side of 16 or more pixels)",
                            fer_error());
            else
                tile = (int)v;
            break;
        default: usage(2);
        }
    }
    if (optind >= argc)
        usage(2);
    if (cf.draw && argc - optind != 1)
        usage_error("--draw takes exactly one input");
    for (int i = optind; i < argc; i++) {
        /* an output over an input would replace the photo */
        const char *outs[2] = {output, cf.draw}, *oname[2] = {"-o", "--draw"};
        for (int k = 0; k < 2; k++)
            if (outs[k] && fer_outfile_same(outs[k], argv[i]))
                usage_error("%s %s is the input %s", oname[k], outs[k], argv[i]);
    }
    if (det == D_HAAR && (weights || score_given || tiles_given))
        usage_error("--weights, --min-score and --tiles are for --detector ssd or blazeface");
    if (det != D_HAAR && (cascade || haar_given))   /* the net replaces the cascade and its scan */
        usage_error("-c, --scale-factor, --min-neighbors, --min-size and --max-size are for "
                    "--detector haar");
    if (det == D_SSD) {
        cf.so.tile = tile < 0 ? FER_SSD_TILE_AUTO : tile;
        cf.so.min_score = score_given ? score : cf.so.tile ? FER_SSD_TILED_SCORE : 0.5f;
    } else if (det == D_BLAZE) {
        cf.bo.tile = tile < 0 ? FER_BLAZE_TILE_AUTO : tile;
        cf.bo.min_score = score_given ? score : FER_BLAZE_SCORE;
    }
    if (det != D_HAAR) {
        char buf[4096];
        if (!weights) {
            if (fer_ssd_find(files[det], buf, sizeof buf) < 0)
                die("--detector %s: %s", detectors[det], fer_error());
            weights = buf;
        }
        if (det == D_SSD ? !(cf.ssd = fer_ssd_load(weights))
                         : !(cf.blaze = fer_blaze_load(weights)))
            die("%s", fer_error());
    } else
        load_cascade(cascade, "haarcascade_frontalface_default.xml", &cf.face);
    if (cf.eyes)
        load_cascade(eye_cascade, "haarcascade_eye.xml", &cf.eye);
    /* each scale is a pass over the photo: bounded for the largest photo */
    if (det == D_HAAR && fer_detect_nscales(&cf.face, FER_IMAGE_DIM_MAX, FER_IMAGE_DIM_MAX, &cf.fo)
        > FER_DETECT_SCALES_MAX) {
        fer_haar_free(&cf.face);
        fer_haar_free(&cf.eye);
        usage_error("--scale-factor %g: more than %d scales on a %d-pixel photo (a larger "
                    "factor or --max-size)", cf.fo.scale_factor, FER_DETECT_SCALES_MAX,
                    FER_IMAGE_DIM_MAX);
    }
    if (fer_outfile_open(&of, output) < 0)
        die("%s", fer_error());
    cf.out = of.f;
    for (int i = optind; i < argc; i++)
        if (do_file(&cf, argv[i]) < 0)
            failed = 1;
    /* the face stream is whole: a reader tells a cut one from it */
    if (!cf.boxes && fer_dataset_write_end(cf.out, cf.nfaces) < 0) {
        fprintf(stderr, "%s: %s: write error\n", fer_cmd, strcmp(output, "-") ? output : "stdout");
        fer_outfile_abort(&of);
        failed = 1;
    } else if (fer_outfile_commit(&of) < 0) {
        fprintf(stderr, "%s: %s\n", fer_cmd, fer_error());
        failed = 1;
    }
    if (cf.draw) {
        if (!cf.drawn.px) {
            fprintf(stderr, "%s: %s: no image to draw on\n", fer_cmd, cf.draw);
            failed = 1;
        } else if (fer_image_write(cf.draw, &cf.drawn) < 0) {
            fprintf(stderr, "%s: %s\n", fer_cmd, fer_error());
            failed = 1;
        }
    }
    fer_image_free(&cf.drawn);
    fer_haar_free(&cf.face);
    fer_haar_free(&cf.eye);
    fer_ssd_free(cf.ssd);
    fer_blaze_free(cf.blaze);
    return failed;
}
