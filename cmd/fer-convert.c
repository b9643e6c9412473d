/* fer-convert: FER2013 CSV, image folders and images to fer data sets, and
 * data sets back to PNG folders, contact sheets or a summary (--info).
 * See man/fer-convert.1. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv.h"
#include "dataset.h"
#include "error.h"
#include "image.h"
#include "opt.h"
#include "outfile.h"
#include "record.h"
#include "train.h"
#include "util.h"

#define SIDE 48

/* The synopsis of man/fer-convert.1. */
static const char synopsis[] =
    "usage: fer-convert [-u usage]... [--skip-bad] [-n limit] [-o output] [input]\n"
    "       fer-convert [-u usage]... [-n limit] -s columns [-o sheet.png] [input]\n"
    "       fer-convert -i [-u usage]... [--skip-bad] [input]\n"
    "       (any form) [--val-split X --part train|val [--seed N]]\n";

/* What the input is, from its first bytes (or being a directory). */
enum kind { K_CSV, K_FER, K_IMAGE, K_FOLDER, K_EMPTY };

static const char *kind_name[] = {"FER2013 CSV", "fer data set", "image", "image folder",
                                  "empty"};

static enum kind sniff(const unsigned char *b, size_t n)
{
    if (n == 0)
        return K_EMPTY;
    if (b[0] == 0x89)   /* fer magic, or a PNG signature */
        return n >= 4 && !memcmp(b + 1, "PNG", 3) ? K_IMAGE : K_FER;
    if (n >= 2 && b[0] == 0xff && b[1] == 0xd8)
        return K_IMAGE;
    if (n >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6')
        return K_IMAGE;
    return K_CSV;       /* text, or gzip: the CSV reader inflates it */
}

/* Peeks at up to 4 bytes of stdin and pushes them back. POSIX promises one
 * byte of ungetc; glibc, musl and the BSDs give at least 4, and a pipe
 * cannot be read twice any other way. */
static enum kind sniff_stdin(void)
{
    unsigned char b[4];
    size_t n = 0;
    int c;
    while (n < 4 && (c = getc(stdin)) != EOF)
        b[n++] = (unsigned char)c;
    for (size_t i = n; i > 0; i--)
        if (ungetc(b[i - 1], stdin) == EOF)
            die("<stdin>: cannot push back the first bytes read");
    return sniff(b, n);
}

static enum kind sniff_path(const char *path)
{
    unsigned char b[4];
    struct stat st;
    size_t n;
    FILE *f;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return K_FOLDER;
    if (!(f = fopen(path, "rb")))
        die("%s: %s", path, strerror(errno));
    n = fread(b, 1, sizeof b, f);
    if (ferror(f))
        die("%s: read error", path);
    fclose(f);
    return sniff(b, n);
}

/* Turns any decoded image into a 48x48 gray face: area averaging when both
 * sides shrink, bilinear otherwise (as OpenCV's INTER_AREA does); other
 * aspect ratios are stretched. 0 or -1 (fer_error names the image). */
static int to_face(fer_image *im, const char *name, uint8_t *out)
{
    fer_image g, s;
    int rc;
    if (fer_image_to_gray(im, &g))
        return fer_error_prefix("%s", name);
    if (g.w == SIDE && g.h == SIDE) {
        memcpy(out, g.px, SIDE * SIDE);
        fer_image_free(&g);
        return 0;
    }
    rc = g.w >= SIDE && g.h >= SIDE ? fer_image_resize_area(&g, SIDE, SIDE, &s)
                                    : fer_image_resize_bilinear(&g, SIDE, SIDE, &s);
    fer_image_free(&g);
    if (rc)
        return fer_error_prefix("%s", name);
    memcpy(out, s.px, SIDE * SIDE);
    fer_image_free(&s);
    return 0;
}

/* Appends the image file at path to d. 0 or -1. */
static int push_image_file(fer_dataset *d, const char *path, int label, int usage)
{
    fer_image im;
    uint8_t face[SIDE * SIDE];
    int rc;
    if (fer_image_read(path, &im))
        return -1;
    rc = to_face(&im, path, face);
    fer_image_free(&im);
    return rc ? -1 : fer_dataset_push(d, face, label, usage);
}

static int class_index(const char *s)
{
    for (int i = 0; i < 7; i++)
        if (!strcasecmp(s, fer_fer2013_classes[i]))
            return i;
    return -1;
}

/* "train"/"Training" -> FER_TRAINING, "test"/"PublicTest" -> FER_PUBLICTEST,
 * "PrivateTest" -> FER_PRIVATETEST, else -1. */
static int split_index(const char *s)
{
    if (!strcasecmp(s, "train") || !strcasecmp(s, "training"))
        return FER_TRAINING;
    if (!strcasecmp(s, "test") || !strcasecmp(s, "publictest"))
        return FER_PUBLICTEST;
    if (!strcasecmp(s, "privatetest"))
        return FER_PRIVATETEST;
    return -1;
}

/* The entries of a directory without dot files, sorted by strcmp;
 * *ndirs counts the subdirectories. NULL with fer_error set. */
typedef struct entry {
    char *name;
    int dir;
} entry;

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

static entry *list_dir(const char *path, int *n, int *ndirs)
{
    DIR *dir = opendir(path);
    struct dirent *de;
    entry *e = NULL, *ne;
    int cap = 0;
    *n = *ndirs = 0;
    if (!dir) {
        fer_seterr("%s: %s", path, strerror(errno));
        return NULL;
    }
    while ((de = readdir(dir))) {
        char *full;
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            if (!(ne = realloc(e, sizeof *e * cap)))
                goto oom;
            e = ne;
        }
        if (!(full = malloc(strlen(path) + strlen(de->d_name) + 2)))
            goto oom;
        sprintf(full, "%s/%s", path, de->d_name);
        if (stat(full, &st)) {
            fer_seterr("%s: %s", full, strerror(errno));
            free(full);
            goto fail;
        }
        e[*n].name = full;
        e[*n].dir = S_ISDIR(st.st_mode);
        *ndirs += e[*n].dir;
        (*n)++;
    }
    closedir(dir);
    if (!e && !(e = calloc(1, sizeof *e))) {   /* an empty folder; qsort wants a pointer */
        fer_seterr("out of memory");
        return NULL;
    }
    qsort(e, *n, sizeof *e, cmp_entry);
    return e;
oom:
    fer_seterr("out of memory");
fail:
    closedir(dir);
    for (int i = 0; i < *n; i++)
        free(e[i].name);
    free(e);
    return NULL;
}

static void free_entries(entry *e, int n)
{
    for (int i = 0; i < n; i++)
        free(e[i].name);
    free(e);
}

static const char *base(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* Every image file in path, labelled label, or (label < 0) labelled from
 * a "NNNNN_class.ext" name as fer-convert writes them. */
static int load_files(fer_dataset *d, const char *path, int label, int usage)
{
    int n, ndirs, rc = 0;
    entry *e = list_dir(path, &n, &ndirs);
    if (!e)
        return -1;
    for (int i = 0; i < n && !rc; i++) {
        int lab = label;
        if (e[i].dir) {
            rc = fer_seterr("%s: a folder among the images of %s", e[i].name, path);
            break;
        }
        if (label < 0) {
            const char *u = strrchr(base(e[i].name), '_'), *dot;
            char cls[FER_CLASS_NAME_MAX];
            if (u && (dot = strchr(u, '.')) && dot - u - 1 < FER_CLASS_NAME_MAX) {
                memcpy(cls, u + 1, dot - u - 1);
                cls[dot - u - 1] = 0;
                lab = class_index(cls);
            }
        }
        rc = push_image_file(d, e[i].name, lab, usage);
    }
    free_entries(e, n);
    return rc;
}

/* path holds one folder per class (angry/ ... neutral/). */
static int load_classes(fer_dataset *d, const char *path, int usage)
{
    int n, ndirs, rc = 0;
    entry *e = list_dir(path, &n, &ndirs);
    if (!e)
        return -1;
    for (int i = 0; i < n; i++)
        if (!e[i].dir || class_index(base(e[i].name)) < 0) {
            rc = fer_seterr("%s: not a folder named for a FER2013 class (angry, disgust, fear, "
                            "happy, sad, surprise, neutral)", e[i].name);
            goto out;
        }
    /* in class order, not name order */
    for (int c = 0; c < 7 && !rc; c++)
        for (int i = 0; i < n && !rc; i++)
            if (class_index(base(e[i].name)) == c)
                rc = load_files(d, e[i].name, c, usage);
out:
    free_entries(e, n);
    return rc;
}

/* A folder of class folders, a folder of train/ and test/ folders of class
 * folders, or a flat folder of images. */
static int load_folder(fer_dataset *d, const char *path, unsigned mask)
{
    int n, ndirs, rc = 0, splits = 0;
    entry *e = list_dir(path, &n, &ndirs);
    fer_dataset_init(d, 1, SIDE, SIDE);
    if (!e)
        return -1;
    if (n == 0) {
        rc = fer_seterr("%s: an empty folder", path);
    } else if (ndirs == 0) {
        rc = load_files(d, path, -1, FER_NOUSAGE);
    } else if (ndirs != n) {
        rc = fer_seterr("%s: holds both files and folders (want class folders, or train/ and "
                        "test/, or only images)", path);
    } else {
        for (int i = 0; i < n; i++)
            splits += split_index(base(e[i].name)) >= 0;
        if (!splits) {
            rc = load_classes(d, path, FER_NOUSAGE);
        } else if (splits != n) {
            for (int i = 0; i < n; i++)
                if (split_index(base(e[i].name)) < 0) {
                    rc = fer_seterr("%s: not train/, test/, Training/, PublicTest/ or "
                                    "PrivateTest/ beside %s", e[i].name,
                                    e[i == 0 ? 1 : 0].name);
                    break;
                }
        } else {
            for (int u = 0; u < FER_NUSAGE && !rc; u++)
                for (int i = 0; i < n && !rc; i++)
                    if (split_index(base(e[i].name)) == u && (!mask || mask & 1u << u))
                        rc = load_classes(d, e[i].name, u);
        }
    }
    free_entries(e, n);
    if (rc)
        fer_dataset_free(d);
    return rc;
}

/* Reads all of stdin. */
static uint8_t *slurp_stdin(size_t *len)
{
    size_t cap = 1 << 16, n = 0, k;
    uint8_t *b = malloc(cap), *nb;
    for (;;) {
        if (!b)
            die("<stdin>: out of memory");
        if ((k = fread(b + n, 1, cap - n, stdin)) == 0)
            break;
        if ((n += k) == cap) {
            nb = cap <= SIZE_MAX / 2 ? realloc(b, cap *= 2) : NULL;
            if (!nb)
                free(b);
            b = nb;
        }
    }
    if (ferror(stdin))
        die("<stdin>: read error");
    *len = n;
    return b;
}

struct opts {
    unsigned mask;      /* usages to keep, 0 = all */
    int skip_bad;
    long limit;         /* -1 = all */
    long sheet;         /* columns, 0 = no sheet */
    int info;
    const char *out;
    double val_split;   /* > 0: keep one part of a stratified split */
    int part;           /* 0 = the training part, 1 = the validation part */
    long seed;          /* the split's seed, as fer-train --seed */
};

/* Loads any input into d. Returns its kind. */
static enum kind load(const char *in, fer_dataset *d, const struct opts *o)
{
    int is_stdin = !strcmp(in, "-");
    const char *name = is_stdin ? "<stdin>" : in;
    enum kind k = is_stdin ? sniff_stdin() : sniff_path(in);
    int rc = 0;

    if (k == K_EMPTY)
        die("%s: empty input", name);
    if (k == K_CSV) {
        fer_csv_opts co = {o->mask, o->skip_bad};
        fer_csv_stats st;
        rc = is_stdin ? fer_csv_read_file(stdin, name, d, &co, &st)
                      : fer_csv_read(in, d, &co, &st);
        if (!rc && st.bad)
            fprintf(stderr, "%s: skipped %ld bad row%s of %ld (first: %s)\n", fer_cmd, st.bad,
                    st.bad == 1 ? "" : "s", st.rows, st.first_bad);
    } else if (k == K_FER) {
        rc = fer_dataset_read(in, d);
    } else if (k == K_FOLDER) {
        rc = load_folder(d, in, o->mask);
    } else {
        fer_image im = {0, 0, 0, NULL};
        uint8_t face[SIDE * SIDE];
        fer_dataset_init(d, 1, SIDE, SIDE);
        if (is_stdin) {
            size_t n;
            uint8_t *b = slurp_stdin(&n);
            rc = fer_image_read_mem(b, n, name, &im);
            free(b);
        } else {
            rc = fer_image_read(in, &im);
        }
        if (!rc)
            rc = to_face(&im, name, face);
        fer_image_free(&im);
        if (!rc)
            rc = fer_dataset_push(d, face, -1, FER_NOUSAGE);
    }
    if (rc)
        die("%s", fer_error());
    if (o->mask && k != K_CSV)
        fer_dataset_filter_usage(d, o->mask);
    if (o->limit >= 0 && (size_t)o->limit < d->n)
        d->n = (size_t)o->limit;
    if (o->val_split > 0) {
        /* the same split as fer-train --val-split X --seed N on the same
         * images, so a held-out part can be kept apart before augmenting */
        fer_dataset tr, va;
        if (fer_dataset_split(d, o->val_split, (unsigned long long)o->seed, &tr, &va))
            die("%s: %s", name, fer_error());
        fer_dataset_free(d);
        *d = o->part ? va : tr;
        fer_dataset_free(o->part ? &tr : &va);
    }
    return k;
}

/* Image i of d as an (H, W, C) image (the data set is (C, H, W)). */
static int image_of(const fer_dataset *d, size_t i, fer_image *im)
{
    const uint8_t *p = d->pixels + i * (size_t)d->c * d->h * d->w;
    size_t hw = (size_t)d->h * d->w;
    int c = d->c == 3 ? 3 : 1;   /* other channel counts: the first one */
    if (fer_image_alloc(im, d->w, d->h, c))
        return -1;
    for (size_t j = 0; j < hw; j++)
        for (int ch = 0; ch < c; ch++)
            im->px[j * c + ch] = p[ch * hw + j];
    return 0;
}

static void print_info(const char *in, enum kind k, const fer_dataset *d)
{
    size_t counts[FER_NUSAGE + 2][FER_CLASSES_MAX + 1]; /* [usage or none, all][class, none] */
    int nrows = FER_NUSAGE + 2, ncols = d->nclasses + 1, unl = 0, w[FER_CLASSES_MAX + 1];
    const char *rown[FER_NUSAGE + 2] = {"Training", "PublicTest", "PrivateTest", "none", "all"};

    memset(counts, 0, sizeof counts);
    for (size_t i = 0; i < d->n; i++) {
        int u = d->usage[i] < FER_NUSAGE ? d->usage[i] : FER_NUSAGE;
        int l = d->labels[i] >= 0 && d->labels[i] < d->nclasses ? d->labels[i] : d->nclasses;
        counts[u][l]++;
        counts[nrows - 1][l]++;
        unl |= l == d->nclasses;
    }
    printf("input     %s\n", in);
    printf("kind      %s\n", kind_name[k]);
    printf("images    %zu\n", d->n);
    printf("shape     %zu %d %d %d (N C H W)\n", d->n, d->c, d->h, d->w);
    printf("dtype     u8\n");
    printf("classes   %d\n", d->nclasses);
    printf("checksum  %08x\n", fer_dataset_checksum(d));
    /* The table: one line per split present, then "all"; columns total,
     * each class, and "unlabelled" when some image has no label. */
    printf("%-12s %7s", "split", "total");
    for (int c = 0; c < ncols; c++) {
        const char *nm = c < d->nclasses ? d->classes[c] : "unlabelled";
        w[c] = (int)strlen(nm) > 6 ? (int)strlen(nm) : 6;
        if (c < d->nclasses || unl)
            printf(" %*s", w[c], nm);
    }
    printf("\n");
    for (int u = 0; u < nrows; u++) {
        size_t tot = 0;
        for (int c = 0; c < ncols; c++)
            tot += counts[u][c];
        if (!tot && u < nrows - 1)
            continue;
        printf("%-12s %7zu", rown[u], tot);
        for (int c = 0; c < ncols; c++)
            if (c < d->nclasses || unl)
                printf(" %*zu", w[c], counts[u][c]);
        printf("\n");
    }
}

/* An output file: a temporary file renamed into place (outfile.h), except
 * for an existing device or FIFO such as /dev/null, which must be written
 * directly: renaming over it would replace the device with a file. */
typedef struct output {
    fer_outfile of;
    FILE *direct;
    const char *path;
} output;

static FILE *out_open(output *o, const char *path)
{
    struct stat st;
    memset(o, 0, sizeof *o);
    o->path = path;
    if (strcmp(path, "-") && stat(path, &st) == 0 && !S_ISREG(st.st_mode) &&
        !S_ISDIR(st.st_mode)) {
        if (!(o->direct = fopen(path, "wb")))
            die("%s: %s", path, strerror(errno));
        return o->direct;
    }
    if (fer_outfile_open(&o->of, path))
        die("%s", fer_error());
    return o->of.f;
}

/* Removes what was written and exits with the message fer_error() holds. */
static void out_fail(output *o)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", fer_error());
    if (o->direct)
        fclose(o->direct);
    else
        fer_outfile_abort(&o->of);
    die("%s: %s", o->path, msg);
}

static void out_commit(output *o)
{
    if (o->direct) {
        int bad = fflush(o->direct) || ferror(o->direct);
        if (fclose(o->direct) || bad)
            die("%s: write error", o->path);
    } else if (fer_outfile_commit(&o->of)) {
        die("%s", fer_error());
    }
}

static void write_fer(const fer_dataset *d, const char *path)
{
    output o;
    if (fer_dataset_write(out_open(&o, path), d))
        out_fail(&o);
    out_commit(&o);
}

static void write_sheet(const fer_dataset *d, long cols, const char *path)
{
    long rows = ((long)d->n + cols - 1) / cols;
    fer_image sheet, im;
    output o;
    if (d->n == 0)
        die("no images for a contact sheet");
    if (cols * d->w > FER_IMAGE_DIM_MAX || rows * d->h > FER_IMAGE_DIM_MAX)
        die("a sheet of %zu images %ld wide would be %ldx%ld pixels, over %d; use --limit",
            d->n, cols, cols * d->w, rows * d->h, FER_IMAGE_DIM_MAX);
    if (fer_image_alloc(&sheet, (int)(cols * d->w), (int)(rows * d->h), d->c == 3 ? 3 : 1))
        die("%s", fer_error());
    memset(sheet.px, 0, (size_t)sheet.w * sheet.h * sheet.c);
    for (size_t i = 0; i < d->n; i++) {
        size_t x0 = (i % cols) * d->w, y0 = (i / cols) * d->h, rb = (size_t)d->w * sheet.c;
        if (image_of(d, i, &im))
            die("%s", fer_error());
        for (int y = 0; y < d->h; y++)
            memcpy(sheet.px + ((y0 + y) * sheet.w + x0) * sheet.c, im.px + y * rb, rb);
        fer_image_free(&im);
    }
    if (fer_image_write_png_file(out_open(&o, path), &sheet))
        out_fail(&o);
    out_commit(&o);
    fer_image_free(&sheet);
}

/* Removes the files of a temporary folder we made, then the folder. */
static void remove_tree(const char *path)
{
    int n, ndirs;
    entry *e = list_dir(path, &n, &ndirs);
    if (e) {
        for (int i = 0; i < n; i++)
            unlink(e[i].name);
        free_entries(e, n);
    }
    rmdir(path);
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The target of a PNG folder without its trailing slashes; it must not
 * exist or be an empty folder, checked before any work. */
static char *folder_target(const char *out)
{
    char *dir = strdup(out);
    size_t len;
    DIR *dh;
    if (!dir)
        die("out of memory");
    for (len = strlen(dir); len > 1 && dir[len - 1] == '/'; len--)
        dir[len - 1] = 0;
    if ((dh = opendir(dir))) {
        struct dirent *de;
        while ((de = readdir(dh)))
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                die("%s: folder exists and is not empty", dir);
        closedir(dh);
    }
    return dir;
}

/* One PNG per image, NNNNN_class.png, written into DIR.tmp.XXXXXX beside
 * the target and renamed into place: the folder appears whole or not at
 * all. */
static void write_folder(const fer_dataset *d, const char *dir)
{
    size_t len = strlen(dir);
    char *tmp, *path;
    int width = 5;
    for (size_t m = d->n > 0 ? d->n - 1 : 0; m >= 100000; m /= 10)
        width++;
    if (!(tmp = malloc(len + 16)) || !(path = malloc(len + 64 + FER_CLASS_NAME_MAX)))
        die("out of memory");
    sprintf(tmp, "%s.tmp.XXXXXX", dir);
    if (!mkdtemp(tmp))
        die("%s: %s", dir, strerror(errno));
    for (size_t i = 0; i < d->n; i++) {
        fer_image im;
        int l = d->labels[i];
        char num[24];
        int k = snprintf(num, sizeof num, "%zu", i);
        snprintf(path, len + 64 + FER_CLASS_NAME_MAX, "%s/%.*s%s_%s.png", tmp,
                 k < width ? width - k : 0, "00000000000000000000", num,
                 l >= 0 && l < d->nclasses ? d->classes[l] : "unlabelled");
        if (image_of(d, i, &im) || fer_image_write_png(path, &im)) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", fer_error());
            remove_tree(tmp);
            die("%s", msg);
        }
        fer_image_free(&im);
    }
    if (rename(tmp, dir)) {
        int e = errno;
        remove_tree(tmp);
        die("%s: %s", dir, strerror(e));
    }
    free(tmp);
    free(path);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"usage", required_argument, NULL, 'u'},
        {"skip-bad", no_argument, NULL, 'B'},
        {"limit", required_argument, NULL, 'n'},
        {"sheet", required_argument, NULL, 's'},
        {"info", no_argument, NULL, 'i'},
        {"val-split", required_argument, NULL, 'V'},
        {"part", required_argument, NULL, 'P'},
        {"seed", required_argument, NULL, 'S'},
        FER_CMD_LONGOPTS,
        {NULL, 0, NULL, 0}};
    static const char *const parts[] = {"train", "val", NULL};
    struct opts o = {0, 0, -1, 0, 0, NULL, 0, -1, 1};
    fer_dataset d;
    const char *in;
    enum kind k;
    int c;

    fer_cmd_init("fer-convert", synopsis);
    while ((c = fer_cmd_getopt(argc, argv, "o:u:n:s:ih", longopts)) != -1) {
        switch (c) {
        case 'o': o.out = optarg; break;
        case 'u': o.mask |= fer_cmd_usage_bit(optarg); break;
        case 'B': o.skip_bad = 1; break;
        case 'n': o.limit = fer_cmd_whole("limit", optarg, 0, 1L << 40); break;
        case 's': o.sheet = fer_cmd_whole("sheet", optarg, 1, FER_IMAGE_DIM_MAX); break;
        case 'i': o.info = 1; break;
        case 'V': o.val_split = fer_cmd_positive("val-split", optarg, 0.9); break;
        case 'P': o.part = fer_cmd_pick("part", optarg, parts); break;
        case 'S': o.seed = fer_cmd_whole("seed", optarg, 0, 9007199254740991L); break;
        default: usage(2);
        }
    }
    if (argc - optind > 1)
        usage(2);
    if ((o.val_split > 0) != (o.part >= 0))
        usage_error("--val-split and --part go together");
    in = optind < argc ? argv[optind] : "-";
    if ((o.out && !*o.out) || !*in || (optind == argc && isatty(STDIN_FILENO)))
        usage(2);
    if (o.info && (o.out || o.sheet))
        usage_error("--info writes no output; drop -o and --sheet");
    if (!o.info && !o.out) {
        if (isatty(STDOUT_FILENO))
            usage_error("standard output is a terminal; give -o FILE (or -o -)");
        o.out = "-";
    }
    if (!o.info && fer_outfile_same(o.out, in))   /* the input would be replaced */
        usage_error("-o %s is the input %s", o.out, in);
    if (!o.info && !o.sheet && strcmp(o.out, "-") &&
        (o.out[strlen(o.out) - 1] == '/' || is_dir(o.out))) {
        char *dir = folder_target(o.out);
        load(in, &d, &o);
        write_folder(&d, dir);
        fer_dataset_free(&d);
        free(dir);
        return 0;
    }
    k = load(in, &d, &o);
    if (o.info)
        print_info(strcmp(in, "-") ? in : "<stdin>", k, &d);
    else if (o.sheet)
        write_sheet(&d, o.sheet, o.out);
    else
        write_fer(&d, o.out);
    fer_dataset_free(&d);
    if (o.info)
        fer_cmd_flush();
    return 0;
}
