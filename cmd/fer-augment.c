/* fer-augment: writes each image of a data set followed by its augmented
 * copies: fixed ones (the study's mirror image and two turns, or turns
 * by given angles) and random ones drawn from a generator keyed by (seed,
 * image, copy), so the output is the same on any number of threads. See
 * man/fer-augment.1. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "augment.h"
#include "dataset.h"
#include "error.h"
#include "load.h"
#include "outfile.h"
#include "parse.h"
#include "progress.h"
#include "opt.h"
#include "threads.h"
#include "util.h"

#define MAX_ANGLES 64
#define MAX_COPIES 1000
#define TASK_IMAGES 16      /* input images per parallel task */

/* The synopsis of man/fer-augment.1. */
static const char synopsis[] =
    "usage: fer-augment [-i in.fer] [-o out.fer] [--study] [--rotate DEG[,DEG...]]\n"
    "                   [--copies N] [--flip] [--rotate-range A:B] [--shift PX]\n"
    "                   [--scale A:B] [--crop PX] [--brightness F] [--contrast F]\n"
    "                   [--erase P] [--seed S] [--all] [--threads N] [--progress]\n"
    "                   [--quiet] [in.fer]\n"
    "       fer-augment --help | --version\n";

/* "DEG[,DEG...]" into angles; returns how many. */
static int angle_list(const char *s, double *angles)
{
    char buf[1024], *p, *save = NULL;
    int n = 0;
    if (snprintf(buf, sizeof buf, "%s", s) >= (int)sizeof buf)
        usage_error("--rotate: list too long");
    if (!*s || s[strlen(s) - 1] == ',' || strstr(s, ",,") || *s == ',')
        usage_error("--rotate: '%s': want DEG[,DEG...]", s);
    for (p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        if (n == MAX_ANGLES)
            usage_error("--rotate: more than %d angles", MAX_ANGLES);
        angles[n++] = fer_cmd_num("rotate", p, -180, 180);
    }
    return n;
}

/* One block of input images and the room for all their output images. */
typedef struct job {
    const fer_dataset *in;
    fer_dataset *out;
    size_t first, n;            /* the block: input images [first, first + n) */
    int per;                    /* output images per input image */
    int mirror;                 /* the fixed mirror copy */
    const double *angles;       /* the fixed turns, degrees */
    int nangles;
    const fer_augment_opts *ro; /* the random transforms */
    int copies;                 /* random copies per image */
    uint64_t seed;
    uint8_t **scratch;          /* per thread, one image */
} job;

/* Input images [t TASK_IMAGES, ...) of the block: the original, the mirror
 * image, the turns, the random copies, in that order. */
static void work(void *ctx, int task, int thread)
{
    const job *j = ctx;
    const fer_dataset *in = j->in;
    int c = in->c, h = in->h, w = in->w;
    size_t img = (size_t)c * h * w, lo, hi;
    fer_chunk(j->n, TASK_IMAGES, task, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
        size_t gi = j->first + i, o = i * j->per;
        const uint8_t *src = in->pixels + gi * img;
        uint8_t *d = j->out->pixels + o * img;
        memcpy(d, src, img);
        d += img;
        if (j->mirror) {
            fer_augment_mirror(src, 1, c, h, w, d);
            d += img;
        }
        for (int a = 0; a < j->nangles; a++, d += img)
            fer_augment_rotate_shift(src, c, h, w, j->angles[a], 0, 0, d);
        for (int k = 0; k < j->copies; k++, d += img) {
            fer_rng rng;
            fer_augment_rng(&rng, j->seed, gi, (uint64_t)k);
            fer_augment_random(j->ro, src, c, h, w, &rng, d, j->scratch[thread]);
        }
        for (int k = 0; k < j->per; k++) {
            j->out->labels[o + k] = in->labels[gi];
            j->out->usage[o + k] = in->usage[gi];
        }
    }
}

enum {
    O_STUDY = 256, O_FLIP, O_ROTATE, O_RRANGE, O_SHIFT, O_SCALE, O_CROP, O_BRIGHT, O_CONTRAST,
    O_ERASE, O_COPIES, O_SEED, O_ALL, O_PROGRESS, O_THREADS
};

static const struct option longopts[] = {
    {"input", required_argument, 0, 'i'}, {"output", required_argument, 0, 'o'},
    {"study", no_argument, 0, O_STUDY}, {"flip", no_argument, 0, O_FLIP},
    {"rotate", required_argument, 0, O_ROTATE}, {"rotate-range", required_argument, 0, O_RRANGE},
    {"shift", required_argument, 0, O_SHIFT}, {"scale", required_argument, 0, O_SCALE},
    {"crop", required_argument, 0, O_CROP}, {"brightness", required_argument, 0, O_BRIGHT},
    {"contrast", required_argument, 0, O_CONTRAST}, {"erase", required_argument, 0, O_ERASE},
    {"copies", required_argument, 0, O_COPIES}, {"seed", required_argument, 0, O_SEED},
    {"all", no_argument, 0, O_ALL}, {"progress", no_argument, 0, O_PROGRESS},
    {"quiet", no_argument, 0, 'q'}, {"threads", required_argument, 0, O_THREADS},
    FER_CMD_LONGOPTS, {0, 0, 0, 0}};

int main(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *name;
    double angles[MAX_ANGLES];
    int nangles = 0, study = 0, all = 0, force_progress = 0, quiet = 0, copies = -1, ch;
    long threads = 0;
    uint64_t seed = 1;
    fer_augment_opts ro;
    fer_dataset d, blk;
    fer_outfile of;
    fer_progress pg;
    job j;
    size_t img, tests = 0, block, total, done = 0;
    uint8_t **scratch;
    int nthreads;

    fer_cmd_init("fer-augment", synopsis);
    memset(&ro, 0, sizeof ro);
    while ((ch = fer_cmd_getopt(argc, argv, "i:o:qh", longopts)) != -1) {
        switch (ch) {
        case 'i': in = optarg; break;
        case 'o': out = optarg; break;
        case O_STUDY: study = 1; break;
        case O_FLIP: ro.flip = 1; break;
        case O_ROTATE: nangles = angle_list(optarg, angles); break;
        case O_RRANGE:
            fer_cmd_range("rotate-range", optarg, -180, 180, &ro.rot_lo, &ro.rot_hi);
            break;
        case O_SHIFT: ro.shift = (int)fer_cmd_whole("shift", optarg, 0, 1024); break;
        case O_SCALE: fer_cmd_range("scale", optarg, 0.05, 20, &ro.scale_lo, &ro.scale_hi); break;
        case O_CROP: ro.crop = (int)fer_cmd_whole("crop", optarg, 0, 2047); break;
        case O_BRIGHT: ro.brightness = fer_cmd_num("brightness", optarg, 0, 10); break;
        case O_CONTRAST: ro.contrast = fer_cmd_num("contrast", optarg, 0, 10); break;
        case O_ERASE: ro.erase = fer_cmd_num("erase", optarg, 0, 1); break;
        case O_COPIES: copies = (int)fer_cmd_whole("copies", optarg, 1, MAX_COPIES); break;
        case O_SEED: seed = (uint64_t)fer_cmd_whole("seed", optarg, 0, 9007199254740991L); break;
        case O_ALL: all = 1; break;
        case O_PROGRESS: force_progress = 1; break;
        case 'q': quiet = 1; break;
        case O_THREADS: threads = fer_cmd_whole("threads", optarg, 1, FER_THREADS_MAX); break;
        default: usage(2);
        }
    }
    if (optind < argc) {
        if (in || argc - optind > 1)
            usage(2);
        in = argv[optind];
    }
    if (!in)
        in = "-";
    if (!out)
        out = "-";
    if (!*in || !*out)
        usage(2);
    if (!strcmp(in, "-") && isatty(STDIN_FILENO))
        usage_error("standard input is a terminal; give a data set (-i FILE or an operand)");
    if (!strcmp(out, "-") && isatty(STDOUT_FILENO))
        usage_error("standard output is a terminal; give -o FILE (or redirect it)");
    if (copies > 0 && !fer_augment_any(&ro))
        usage_error("--copies needs a random transform (--flip, --shift, --rotate-range, "
                    "--scale, --crop, --brightness, --contrast or --erase)");
    if (copies < 0)
        copies = fer_augment_any(&ro) ? 1 : 0;
    if (study && !nangles) {
        /* the study did not publish its angles: these are fer's choice */
        angles[nangles++] = -10;
        angles[nangles++] = 10;
    }
    if (!study && !nangles && !copies)
        usage_error("nothing to do: give --study, --rotate or a random transform (see --help)");
    if (threads && fer_threads_set((int)threads))
        die("%s", fer_error());

    name = strcmp(in, "-") ? in : "<stdin>";
    if (fer_load_dataset(in, &d))
        die("%s", fer_error());
    if (ro.crop > 0 && (2 * ro.crop >= d.w || 2 * ro.crop >= d.h))
        usage_error("--crop %d: leaves no window of %dx%d images", ro.crop, d.w, d.h);
    for (size_t i = 0; i < d.n; i++)
        tests += d.usage[i] == FER_PUBLICTEST || d.usage[i] == FER_PRIVATETEST;
    if (tests && !all)
        die("%s: %zu images of the test splits (PublicTest, PrivateTest): augmenting test data "
            "is a classic mistake; keep Training (fer-convert -u Training) or give --all",
            name, tests);

    j.in = &d;
    j.per = 1 + study + nangles + copies;
    j.mirror = study;
    j.angles = angles;
    j.nangles = nangles;
    j.ro = &ro;
    j.copies = copies;
    j.seed = seed;
    img = (size_t)d.c * d.h * d.w;
    if (d.n > SIZE_MAX / (size_t)j.per / img)
        die("%s: %zu images times %d is too many", name, d.n, j.per);
    total = d.n * j.per;
    /* blocks of about one output chunk: memory stays bounded and a
     * reader down the pipe starts before the end */
    block = FER_DATASET_CHUNK / j.per > 0 ? FER_DATASET_CHUNK / j.per : 1;
    if (block > d.n)
        block = d.n;
    fer_dataset_init(&blk, d.c, d.h, d.w);
    blk.nclasses = d.nclasses;
    memcpy(blk.classes, d.classes, sizeof blk.classes);
    blk.cap = (block ? block : 1) * j.per;
    blk.pixels = malloc(blk.cap * img);
    blk.labels = malloc(blk.cap * sizeof *blk.labels);
    blk.usage = malloc(blk.cap);
    nthreads = fer_threads_get();
    scratch = calloc((size_t)nthreads, sizeof *scratch);
    if (!blk.pixels || !blk.labels || !blk.usage || !scratch)
        die("out of memory for %zu images", blk.cap);
    for (int t = 0; t < nthreads; t++)
        if (!(scratch[t] = malloc(img)))
            die("out of memory");
    j.out = &blk;
    j.scratch = scratch;

    if (fer_outfile_open(&of, out))
        die("%s", fer_error());
    fer_progress_begin(&pg, stderr, fer_progress_mode(force_progress, quiet), "augment", total,
                       "img/s");
    j.first = 0;
    do {
        j.n = d.n - j.first < block ? d.n - j.first : block;
        fer_parallel_for(fer_chunks(j.n, TASK_IMAGES), work, &j);
        blk.n = j.n * j.per;
        if (fer_dataset_write_chunks(of.f, &blk) ||
            (j.first + j.n >= d.n && fer_dataset_write_end(of.f, total))) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", fer_error());
            fer_progress_end(&pg);
            fer_outfile_abort(&of);
            die("%s: %s", strcmp(out, "-") ? out : "standard output", msg);
        }
        j.first += j.n;
        done += blk.n;
        fer_progress_update(&pg, done, 0, NULL);
    } while (j.first < d.n);
    fer_progress_end(&pg);
    if (fer_outfile_commit(&of))
        die("%s", fer_error());
    for (int t = 0; t < nthreads; t++)
        free(scratch[t]);
    free(scratch);
    fer_dataset_free(&blk);
    fer_dataset_free(&d);
    return 0;
}
