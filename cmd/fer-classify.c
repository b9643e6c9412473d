/* fer-classify: the emotion of every face in fer-detect's stream, in image
 * files or in a data set; text, CSV or JSON lines; labelled photos. */

/* fopencookie: a fer stream or a PNG on a pipe is told apart by its first
 * four bytes, which then have to be handed back to the reader. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "dataset.h"
#include "draw.h"
#include "error.h"
#include "image.h"
#include "json.h"
#include "metrics.h"
#include "model.h"
#include "opt.h"
#include "outfile.h"
#include "parse.h"
#include "predict.h"
#include "record.h"
#include "threads.h"
#include "util.h"

#define MAX_MODELS 16

/* The test-time averaging without --tta: the best on validation that keeps
 * issue 14's 200 faces/s on 2 cores. The shipped recipe on validation
 * (make model-check): 68.5% plain, 68.9% flip, 69.7% flipcrop, 69.2%
 * crop10; flipcrop runs at 281-296 faces/s in fp32, crop10 at 112-118
 * (data/README.md, bench/classify.sh). */
#define DEFAULT_TTA FER_TTA_FLIPCROP

static const char synopsis[] =
    "usage: fer-classify -m model.fer [-m model.fer ...]\n"
    "                    [--tta none|flip|flipcrop|crop10] [--format text|csv|json]\n"
    "                    [--annotate DIR | -o image]\n"
    "                    [--batch N] [--threads N] [--precision fp32|tf32|bf16]\n"
    "                    [--device cpu|cuda[:N]] [--gemm ours|cublas]\n"
    "                    [input ...]\n";

/* One face waiting in the batch: where it came from. */
typedef struct face {
    char *src;              /* the photo's path (malloc'd) */
    long frame;
    int box[4];             /* x, y, w, h in the photo's pixels */
    int photo_w, photo_h;   /* the photo's size from the stream, 0 when unknown */
    int rereadable;         /* the photo can be read again to be annotated */
} face;

/* A classified face kept for annotation, and the photos they lie on. */
typedef struct mark {
    int photo;              /* index into photos */
    int box[4];
    int label;
    float prob;
} mark;

typedef struct photo {
    char *src;
    int w, h;               /* from the stream, 0 when unknown */
    int rereadable;
} photo;

typedef struct ctx {
    fer_model models[MAX_MODELS];
    const char *model_path[MAX_MODELS];
    int nmodels, tta, k;    /* tta: enum fer_tta */
    int c, h, w;            /* the models' input */
    const char *format;
    int annotate;           /* keep marks for --annotate or -o */
    /* the batch */
    int batch;
    size_t n;
    uint8_t *px;            /* (batch, c, h, w) */
    face *faces;
    float *probs, *acc;     /* (batch, k) */
    int srcw;               /* widest source printed so far (text alignment) */
    int namew;              /* widest class name */
    /* annotation */
    mark *marks;
    size_t nmarks, capmarks;
    photo *photos;
    int nphotos, capphotos;
    int failed;
} ctx;

static void error_line(ctx *cx, const char *msg)
{
    fprintf(stderr, "%s: %s\n", fer_cmd, msg);
    cx->failed = 1;
}

/* ---- output ---- */

static void put_csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    putc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            putc('"', f);
        putc(*s, f);
    }
    putc('"', f);
}

static void print_header(const ctx *cx)
{
    if (strcmp(cx->format, "csv"))
        return;
    printf("src,frame,x,y,w,h,label,prob");
    for (int j = 0; j < cx->k; j++)
        printf(",p_%s", cx->models[0].classes[j]);
    printf("\n");
}

static void print_face(ctx *cx, const face *fc, const float *p)
{
    const char(*names)[FER_CLASS_NAME_MAX] = cx->models[0].classes;
    int best = fer_metrics_argmax(p, cx->k);
    if (!strcmp(cx->format, "csv")) {
        put_csv_field(stdout, fc->src);
        printf(",%ld,%d,%d,%d,%d,%s,%.6f", fc->frame, fc->box[0], fc->box[1], fc->box[2],
               fc->box[3], names[best], p[best]);
        for (int j = 0; j < cx->k; j++)
            printf(",%.6f", p[j]);
        printf("\n");
    } else if (!strcmp(cx->format, "json")) {
        printf("{\"src\": ");
        fer_json_string(stdout, fc->src);
        printf(", \"frame\": %ld, \"box\": [%d, %d, %d, %d], \"label\": ", fc->frame,
               fc->box[0], fc->box[1], fc->box[2], fc->box[3]);
        fer_json_string(stdout, names[best]);
        printf(", \"prob\": %.6f, \"probabilities\": {", p[best]);
        for (int j = 0; j < cx->k; j++) {
            printf("%s", j ? ", " : "");
            fer_json_string(stdout, names[j]);
            printf(": %.6f", p[j]);
        }
        printf("}, \"softmax\": true}\n");
    } else {
        char box[64];
        int len = (int)strlen(fc->src);
        if (len > cx->srcw)
            cx->srcw = len < 40 ? len : 40;
        snprintf(box, sizeof box, "%d,%d,%d,%d", fc->box[0], fc->box[1], fc->box[2], fc->box[3]);
        printf("%-*s  frame %-3ld  box %-15s  %-*s %.3f  (", cx->srcw, fc->src, fc->frame, box,
               cx->namew, names[best], p[best]);
        for (int j = 0; j < cx->k; j++)
            printf("%s%s %.3f", j ? " " : "", names[j], p[j]);
        printf(")\n");
    }
}

/* ---- annotation marks ---- */

static int find_photo(ctx *cx, const face *fc)
{
    for (int i = cx->nphotos - 1; i >= 0; i--)
        if (!strcmp(cx->photos[i].src, fc->src)) {
            /* a frame of a stream, or the same name for another picture */
            if (!fc->rereadable || fc->photo_w != cx->photos[i].w ||
                fc->photo_h != cx->photos[i].h)
                cx->photos[i].rereadable = 0;
            return i;
        }
    if (cx->nphotos == cx->capphotos) {
        int cap = cx->capphotos ? 2 * cx->capphotos : 16;
        photo *p = realloc(cx->photos, cap * sizeof *p);
        if (!p)
            die("out of memory");
        cx->photos = p;
        cx->capphotos = cap;
    }
    cx->photos[cx->nphotos] = (photo){strdup(fc->src), fc->photo_w, fc->photo_h,
                                      fc->rereadable};
    if (!cx->photos[cx->nphotos].src)
        die("out of memory");
    return cx->nphotos++;
}

static void add_mark(ctx *cx, const face *fc, int label, float prob)
{
    if (cx->nmarks == cx->capmarks) {
        size_t cap = cx->capmarks ? 2 * cx->capmarks : 64;
        mark *m = realloc(cx->marks, cap * sizeof *m);
        if (!m)
            die("out of memory");
        cx->marks = m;
        cx->capmarks = cap;
    }
    cx->marks[cx->nmarks] = (mark){find_photo(cx, fc), {fc->box[0], fc->box[1], fc->box[2],
                                   fc->box[3]}, label, prob};
    cx->nmarks++;
}

/* ---- the batch ---- */

/* Classifies the faces waiting, prints them in order, empties the batch. */
static void flush(ctx *cx)
{
    size_t n = cx->n, k = (size_t)cx->k;
    if (!n)
        return;
    memset(cx->acc, 0, n * k * sizeof *cx->acc);
    for (int mi = 0; mi < cx->nmodels; mi++) {
        if (fer_predict(&cx->models[mi], cx->px, n, (int)n, cx->tta, cx->probs))
            die("%s", fer_error());
        fer_predict_sum(cx->acc, cx->probs, n * k);
    }
    fer_predict_mean(cx->acc, n * k, cx->nmodels);
    for (size_t i = 0; i < n; i++) {
        const float *p = cx->acc + i * k;
        print_face(cx, &cx->faces[i], p);
        if (cx->annotate) {
            int best = fer_metrics_argmax(p, cx->k);
            add_mark(cx, &cx->faces[i], best, p[best]);
        }
        free(cx->faces[i].src);
    }
    cx->n = 0;
}

/* Queues one face of the models' input shape (c, h, w). */
static void push(ctx *cx, const uint8_t *px, const face *fc)
{
    size_t img = (size_t)cx->c * cx->h * cx->w;
    memcpy(cx->px + cx->n * img, px, img);
    cx->faces[cx->n] = *fc;
    if (!(cx->faces[cx->n].src = strdup(fc->src)))
        die("out of memory");
    if (++cx->n == (size_t)cx->batch)
        flush(cx);
}

/* ---- inputs ---- */

/* "src=-" and friends: a photo that came through a pipe. */
static int rereadable_src(const char *src)
{
    return *src && strcmp(src, "-") && strcmp(src, "<stdin>") && strcmp(src, "stdin");
}

static int parse_ints(const char *s, char sep, int *v, int n)
{
    for (int i = 0; i < n; i++) {
        char *end;
        long x;
        errno = 0;
        x = strtol(s, &end, 10);
        if (end == s || errno || x < -FER_IMAGE_DIM_MAX * 4L || x > FER_IMAGE_DIM_MAX * 4L)
            return -1;
        if (*end != (i == n - 1 ? '\0' : sep))
            return -1;
        v[i] = (int)x;
        s = end + 1;
    }
    return 0;
}

/* Fills fc from a face record's meta; what is missing gets a default:
 * src = the stream, frame = the face's index, box = the whole face. */
static int face_meta(const fer_record *r, const char *stream, long index, face *fc,
                     char *src, int nsrc)
{
    char buf[256];
    int len;
    int h = (int)r->shape[r->ndim - 2], w = (int)r->shape[r->ndim - 1];
    const char *meta = r->meta ? r->meta : "";
    *fc = (face){src, index, {0, 0, w, h}, 0, 0, 0};
    len = fer_parse_meta(meta, "src", src, nsrc);
    if (len >= nsrc)
        return fer_seterr("src name longer than %d bytes", nsrc - 1);
    if (len < 0)
        snprintf(src, nsrc, "%s", stream);
    else
        fc->rereadable = rereadable_src(src);
    if (fer_parse_meta(meta, "frame", buf, sizeof buf) >= 0) {
        long v;
        if (fer_parse_long(buf, 0, 0x7fffffffL, &v))
            return fer_seterr("frame '%s': not a whole number", buf);
        fc->frame = v;
        if (v)
            fc->rereadable = 0;     /* a frame of a video stream */
    }
    if (fer_parse_meta(meta, "box", buf, sizeof buf) >= 0 &&
        (parse_ints(buf, ',', fc->box, 4) || fc->box[2] <= 0 || fc->box[3] <= 0))
        return fer_seterr("box '%s': want x,y,w,h with w, h > 0", buf);
    if (fer_parse_meta(meta, "image", buf, sizeof buf) >= 0) {
        int wh[2];
        if (parse_ints(buf, 'x', wh, 2) || wh[0] <= 0 || wh[1] <= 0)
            return fer_seterr("image '%s': want WxH", buf);
        fc->photo_w = wh[0];
        fc->photo_h = wh[1];
    }
    return 0;
}

/* The shape check of every face against the models: 0, or -1 after one
 * error line (the rest of the input is left alone). */
static int check_shape(ctx *cx, const char *stream, int c, int h, int w)
{
    if (c == cx->c && h == cx->h && w == cx->w)
        return 0;
    fprintf(stderr, "%s: %s: takes %dx%dx%d faces, %s has %dx%dx%d\n", fer_cmd,
            cx->model_path[0], cx->c, cx->h, cx->w, stream, c, h, w);
    cx->failed = 1;
    return -1;
}

static void read_stream(ctx *cx, FILE *f, const char *name)
{
    fer_reader *rd = fer_reader_from(f, name);
    fer_record r;
    fer_dataset_end end = {0, 0};
    long faces = 0;
    char src[4096], where[4200];
    int rc;
    if (!rd) {
        error_line(cx, fer_error());
        return;
    }
    while ((rc = fer_reader_next(rd, &r)) == 1) {
        int is_face = !strcmp(r.name, "face"), is_images = !strcmp(r.name, "images");
        face fc;
        snprintf(where, sizeof where, "%s: record %ld at byte %llu", name, fer_reader_index(rd),
                 (unsigned long long)fer_reader_offset(rd));
        if (fer_dataset_end_record(&end, &r, where)) {
            error_line(cx, fer_error());
            fer_record_free(&r);
            break;
        }
        if (!is_face && !is_images) {
            if (!strcmp(r.name, "labels") || !strcmp(r.name, "usage") || !strcmp(r.name, "end")) {
                fer_record_free(&r);
                continue;       /* the rest of a data set's chunk, a stream's end */
            }
            fprintf(stderr, "%s: %s: record %ld at byte %llu: '%s' is not a face record\n",
                    fer_cmd, name, fer_reader_index(rd),
                    (unsigned long long)fer_reader_offset(rd), r.name);
            cx->failed = 1;
            fer_record_free(&r);
            break;
        }
        if (r.dtype != FER_U8 || r.ndim != (is_face ? 3 : 4)) {
            fprintf(stderr, "%s: %s: record %ld at byte %llu: '%s' is %s with %d dimensions, "
                    "want u8 %s\n", fer_cmd, name, fer_reader_index(rd),
                    (unsigned long long)fer_reader_offset(rd), r.name, fer_dtype_name(r.dtype),
                    r.ndim, is_face ? "(C, H, W)" : "(N, C, H, W)");
            cx->failed = 1;
            fer_record_free(&r);
            break;
        }
        if (check_shape(cx, name, (int)r.shape[r.ndim - 3], (int)r.shape[r.ndim - 2],
                        (int)r.shape[r.ndim - 1])) {
            fer_record_free(&r);
            break;
        }
        if (is_face) {
            if (face_meta(&r, name, faces, &fc, src, sizeof src)) {
                fprintf(stderr, "%s: %s: record %ld at byte %llu: %s\n", fer_cmd, name,
                        fer_reader_index(rd), (unsigned long long)fer_reader_offset(rd),
                        fer_error());
                cx->failed = 1;
                fer_record_free(&r);
                break;
            }
            push(cx, r.data, &fc);
            faces++;
        } else {
            /* a data set: every image is a face, its index the frame */
            size_t img = (size_t)cx->c * cx->h * cx->w;
            snprintf(src, sizeof src, "%s", name);
            for (uint64_t i = 0; i < r.shape[0]; i++, faces++) {
                fc = (face){src, faces, {0, 0, cx->w, cx->h}, 0, 0, 0};
                push(cx, (const uint8_t *)r.data + i * img, &fc);
            }
        }
        fer_record_free(&r);
    }
    if (rc < 0 || (rc == 0 && fer_dataset_end_finish(&end, name)))
        error_line(cx, fer_error());
    fer_reader_close(rd);
}

/* A whole image is one face: grayed (or made RGB) and resized to the
 * models' input, area-averaged when shrinking. */
static void read_image(ctx *cx, const void *buf, size_t n, const char *name, int rereadable)
{
    fer_image im, conv = {0}, sized = {0};
    size_t img = (size_t)cx->c * cx->h * cx->w;
    uint8_t *px;
    face fc;
    int rc;
    if (cx->c != 1 && cx->c != 3) {
        /* a photo is read as gray or RGB; nothing says what a 2nd or 4th
         * plane would hold */
        fprintf(stderr, "%s: %s: the model takes %d-channel images; a photo gives 1 (gray) or 3 "
                "(RGB)\n", fer_cmd, name, cx->c);
        cx->failed = 1;
        return;
    }
    if (fer_image_read_mem(buf, n, name, &im)) {
        error_line(cx, fer_error());
        return;
    }
    rc = cx->c == 1 ? fer_image_to_gray(&im, &conv) : fer_draw_rgb(&im, &conv);
    if (!rc)
        rc = (im.w >= cx->w && im.h >= cx->h)
                 ? fer_image_resize_area(&conv, cx->w, cx->h, &sized)
                 : fer_image_resize_bilinear(&conv, cx->w, cx->h, &sized);
    if (rc || !(px = malloc(img))) {
        fer_image_free(&im);
        fer_image_free(&conv);
        fer_image_free(&sized);
        die("out of memory");
    }
    /* (H, W, C) -> (C, H, W) */
    for (int y = 0; y < cx->h; y++)
        for (int x = 0; x < cx->w; x++)
            for (int ch = 0; ch < cx->c; ch++)
                px[((size_t)ch * cx->h + y) * cx->w + x] =
                    sized.px[((size_t)y * cx->w + x) * cx->c + ch];
    fc = (face){(char *)name, 0, {0, 0, im.w, im.h}, im.w, im.h, rereadable};
    push(cx, px, &fc);
    free(px);
    fer_image_free(&im);
    fer_image_free(&conv);
    fer_image_free(&sized);
}

/* Reads up to n bytes from fd, retrying short reads: the count, or -1. */
static ssize_t read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* A stream over a file descriptor that first gives back the bytes already
 * read from it. Each read returns what the descriptor has (no waiting for
 * a full buffer), so that faces from a live pipe are classified as they
 * come. */
typedef struct prefixed {
    int fd;
    unsigned char head[4];
    size_t n, pos;
} prefixed;

static ssize_t prefixed_read(void *cookie, char *buf, size_t size)
{
    prefixed *p = cookie;
    ssize_t r;
    if (p->pos < p->n) {
        size_t got = 0;
        while (got < size && p->pos < p->n)
            buf[got++] = (char)p->head[p->pos++];
        return (ssize_t)got;
    }
    do
        r = read(p->fd, buf, size);
    while (r < 0 && errno == EINTR);
    return r;
}

static void read_input(ctx *cx, const char *path)
{
    int is_stdin = !strcmp(path, "-");
    const char *name = is_stdin ? "<stdin>" : path;
    int fd = is_stdin ? 0 : open(path, O_RDONLY);
    prefixed pre = {0};
    struct stat st;
    ssize_t got;
    char msg[4200];
    if (fd < 0) {
        snprintf(msg, sizeof msg, "%s: %s", path, strerror(errno));
        error_line(cx, msg);
        return;
    }
    pre.fd = fd;
    got = read_full(fd, pre.head, 4);
    if (got == 0 && !is_stdin && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        /* a named file with nothing in it is a mistake (a failed download) */
        snprintf(msg, sizeof msg, "%s: an empty file, neither a face stream nor an image", name);
        error_line(cx, msg);
    } else if (got == 0) {
        /* an empty pipe is a face stream without faces (fer-detect on a
         * photo of none): nothing to print */
    } else if (got < 0) {
        snprintf(msg, sizeof msg, "%s: %s", name, strerror(errno));
        error_line(cx, msg);
    } else if (got == 4 && !memcmp(pre.head, "\x89" "FER", 4)) {
        cookie_io_functions_t io = {prefixed_read, NULL, NULL, NULL};
        FILE *g;
        pre.n = 4;
        if (!(g = fopencookie(&pre, "rb", io)))
            die("out of memory");
        read_stream(cx, g, name);
        fclose(g);
    } else {
        /* an image: read whole, as the decoders want it */
        size_t n = (size_t)got, cap = 1 << 16;
        unsigned char *buf = malloc(cap);
        if (!buf)
            die("out of memory");
        memcpy(buf, pre.head, n);
        for (;;) {
            if (n == cap) {
                unsigned char *b = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
                if (!b)
                    die("out of memory");
                buf = b;
                cap *= 2;
            }
            if ((got = read_full(fd, buf + n, cap - n)) <= 0)
                break;
            n += (size_t)got;
        }
        if (got < 0) {
            snprintf(msg, sizeof msg, "%s: %s", name, strerror(errno));
            error_line(cx, msg);
        } else {
            read_image(cx, buf, n, name, !is_stdin);
        }
        free(buf);
    }
    if (!is_stdin)
        close(fd);
}

/* ---- annotated photos ---- */

/* DIR/<basename of src>, with ".png" added unless it ends in .png, .jpg or
 * .jpeg (the encoders go by the extension). */
static char *annotated_name(const char *dir, const char *src)
{
    const char *base = strrchr(src, '/'), *dot;
    int keep;
    size_t n;
    char *out;
    base = base ? base + 1 : src;
    dot = strrchr(base, '.');
    keep = dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") ||
                   !strcasecmp(dot, ".jpeg"));
    n = strlen(dir) + strlen(base) + 8;
    if (!(out = malloc(n)))
        die("out of memory");
    snprintf(out, n, "%s%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] != '/' ? "/" : "", base,
             keep ? "" : ".png");
    return out;
}

static void annotate_photo(ctx *cx, int pi, const char *out)
{
    const photo *ph = &cx->photos[pi];
    fer_image im, rgb;
    char msg[4200];
    if (fer_image_read(ph->src, &im)) {
        error_line(cx, fer_error());
        return;
    }
    if (ph->w && (im.w != ph->w || im.h != ph->h)) {
        fprintf(stderr, "%s: %s: now %dx%d, the faces were found on %dx%d; not annotated\n",
                fer_cmd, ph->src, im.w, im.h, ph->w, ph->h);
        cx->failed = 1;
        fer_image_free(&im);
        return;
    }
    if (fer_outfile_same(out, ph->src)) {
        /* --annotate into the photo's own folder, or -o naming it */
        fprintf(stderr, "%s: %s: not annotated: the labelled copy would replace the photo\n",
                fer_cmd, out);
        cx->failed = 1;
        fer_image_free(&im);
        return;
    }
    if (fer_draw_rgb(&im, &rgb))
        die("out of memory");
    fer_image_free(&im);
    for (size_t i = 0; i < cx->nmarks; i++) {
        const mark *m = &cx->marks[i];
        char label[FER_CLASS_NAME_MAX + 16];
        if (m->photo != pi)
            continue;
        snprintf(label, sizeof label, "%s %d%%", cx->models[0].classes[m->label],
                 (int)(m->prob * 100 + 0.5f));
        fer_draw_face(&rgb, m->box[0], m->box[1], m->box[2], m->box[3], label,
                      fer_draw_colour(m->label));
    }
    if (fer_image_write(out, &rgb)) {
        snprintf(msg, sizeof msg, "%s", fer_error());
        error_line(cx, msg);
    }
    fer_image_free(&rgb);
}

static void annotate(ctx *cx, const char *dir, const char *out)
{
    int nre = 0;
    for (int i = 0; i < cx->nphotos; i++) {
        if (!cx->photos[i].rereadable)
            fprintf(stderr, "%s: warning: %s: not annotated (a pipe, a frame of a video stream "
                    "or a data set cannot be read again)\n", fer_cmd, cx->photos[i].src);
        else
            nre++;
    }
    if (out) {
        if (nre > 1) {
            fprintf(stderr, "%s: -o: the faces come from %d photos; use --annotate DIR\n",
                    fer_cmd, nre);
            cx->failed = 1;
            return;
        }
        for (int i = 0; i < cx->nphotos; i++)
            if (cx->photos[i].rereadable)
                annotate_photo(cx, i, out);
        return;
    }
    if (mkdir(dir, 0777) && errno != EEXIST) {
        fprintf(stderr, "%s: %s: %s\n", fer_cmd, dir, strerror(errno));
        cx->failed = 1;
        return;
    }
    for (int i = 0; i < cx->nphotos; i++) {
        char *name;
        if (!cx->photos[i].rereadable)
            continue;
        name = annotated_name(dir, cx->photos[i].src);
        for (int j = 0; j < i; j++) {
            char *other;
            if (!cx->photos[j].rereadable)
                continue;
            other = annotated_name(dir, cx->photos[j].src);
            if (!strcmp(other, name))
                fprintf(stderr, "%s: warning: %s: written for %s, then for %s\n", fer_cmd, name,
                        cx->photos[j].src, cx->photos[i].src);
            free(other);
        }
        annotate_photo(cx, i, name);
        free(name);
    }
}

/* ---- main ---- */

static void load_models(ctx *cx, const fer_backend *be)
{
    for (int mi = 0; mi < cx->nmodels; mi++) {
        fer_model *m = &cx->models[mi];
        int c, h, w;
        if (fer_model_load(m, cx->model_path[mi]))
            die("%s", fer_error());
        fer_cmd_move(m->net, be);
        fer_net_input_shape(m->net, &c, &h, &w);
        if (mi == 0) {
            cx->c = c;
            cx->h = h;
            cx->w = w;
            cx->k = m->nclasses;
            continue;
        }
        if (c != cx->c || h != cx->h || w != cx->w)
            die("%s takes %dx%dx%d faces, %s takes %dx%dx%d", cx->model_path[mi], c, h, w,
                cx->model_path[0], cx->c, cx->h, cx->w);
        if (m->nclasses != cx->k ||
            memcmp(m->classes, cx->models[0].classes, sizeof m->classes))
            die("%s has other classes than %s", cx->model_path[mi], cx->model_path[0]);
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'}, {"format", required_argument, 0, 'f'},
        {"tta", required_argument, 0, 't'}, {"annotate", required_argument, 0, 'a'},
        {"output", required_argument, 0, 'o'}, {"batch", required_argument, 0, 'b'},
        {"threads", required_argument, 0, 'T'}, {"precision", required_argument, 0, 'F'},
        {"device", required_argument, 0, 'D'}, {"gemm", required_argument, 0, 'G'},
        FER_CMD_LONGOPTS, {0, 0, 0, 0}};
    static const char *const formats[] = {"text", "csv", "json", NULL};
    static ctx cx;
    const char *dir = NULL, *out = NULL, *precision = "fp32", *device = NULL, *gemm = NULL;
    long batch = 64, threads = 0;
    int c;

    fer_cmd_init("fer-classify", synopsis);
    cx.format = "text";
    cx.tta = DEFAULT_TTA;
    while ((c = fer_cmd_getopt(argc, argv, "m:f:o:h", longopts)) != -1) {
        switch (c) {
        case 'm':
            if (cx.nmodels == MAX_MODELS)
                die("at most %d models", MAX_MODELS);
            cx.model_path[cx.nmodels++] = optarg;
            break;
        case 'f': cx.format = formats[fer_cmd_pick("format", optarg, formats)]; break;
        case 't':
            if ((cx.tta = fer_tta_parse(optarg)) < 0)
                usage_error("--tta: '%s': use none, flip, flipcrop or crop10", optarg);
            break;
        case 'a': dir = optarg; break;
        case 'o': out = optarg; break;
        case 'b': batch = fer_cmd_whole("batch", optarg, 1, 65536); break;
        case 'T': threads = fer_cmd_whole("threads", optarg, 1, FER_THREADS_MAX); break;
        case 'F': precision = optarg; break;
        case 'D': device = optarg; break;
        case 'G': gemm = optarg; break;
        default: usage(2);
        }
    }
    if (!cx.nmodels || (dir && out))
        usage(2);
    {
        /* the models are read whole before the inputs: one stream holds one */
        int nm = 0, ni = optind == argc;
        for (int i = 0; i < cx.nmodels; i++)
            nm += !strcmp(cx.model_path[i], "-");
        for (int i = optind; i < argc; i++)
            ni += !strcmp(argv[i], "-");
        if (nm > 1 || (nm && ni))
            usage_error("-m - and %s both read standard input",
                        nm > 1 ? "another -m -" : "the input");
    }
    for (int i = 0; out && i < cx.nmodels + argc - optind; i++) {
        /* -o over a model or an input would replace it */
        const char *p = i < cx.nmodels ? cx.model_path[i] : argv[optind + i - cx.nmodels];
        if (fer_outfile_same(out, p))
            usage_error("-o %s is the %s %s", out, i < cx.nmodels ? "model" : "input", p);
    }
    if (threads && fer_threads_set((int)threads))
        die("%s", fer_error());
    load_models(&cx, fer_cmd_backend(device, precision, gemm, 0));
    cx.annotate = dir || out;
    cx.batch = (int)batch;
    cx.px = malloc((size_t)cx.batch * cx.c * cx.h * cx.w);
    cx.faces = malloc((size_t)cx.batch * sizeof *cx.faces);
    cx.probs = malloc((size_t)cx.batch * cx.k * sizeof *cx.probs);
    cx.acc = malloc((size_t)cx.batch * cx.k * sizeof *cx.acc);
    if (!cx.px || !cx.faces || !cx.probs || !cx.acc)
        die("out of memory");
    for (int j = 0; j < cx.k; j++) {
        int len = (int)strlen(cx.models[0].classes[j]);
        if (len > cx.namew)
            cx.namew = len;
    }

    print_header(&cx);
    if (optind == argc)
        read_input(&cx, "-");
    for (int i = optind; i < argc; i++)
        read_input(&cx, argv[i]);
    flush(&cx);
    fer_cmd_flush();
    if (cx.annotate)
        annotate(&cx, dir, out);

    for (int mi = 0; mi < cx.nmodels; mi++)
        fer_model_free(&cx.models[mi]);
    for (int i = 0; i < cx.nphotos; i++)
        free(cx.photos[i].src);
    free(cx.photos);
    free(cx.marks);
    free(cx.px);
    free(cx.faces);
    free(cx.probs);
    free(cx.acc);
    return cx.failed;
}
