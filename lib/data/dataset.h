/* dataset.h: a labelled set of small images in memory, and its fer form.
 *
 * On disk a data set is a run of chunks, each three records:
 *   "images"  u8  (n, C, H, W)  meta: classes=angry,disgust,...  usages=...
 *   "labels"  i32 (n)           class index, -1 when unknown
 *   "usage"   u8  (n)           split index into usages, 255 when none
 * Chunks hold at most FER_DATASET_CHUNK images, so that a reader on a pipe
 * can start before the writer ends. A reader also takes single "face"
 * records, u8 (C, H, W), such as fer-detect writes (label -1).
 *
 * A whole stream: writers put "end=1" in the meta of every images and face
 * record and finish with
 *   "end"     u8  (0)           meta: images=N, the images since the start
 *                               or since the previous end record (cat)
 * A reader that has seen end=1 and meets the end of the input before an end
 * record says the stream was cut short; a stream without the key (older
 * writers) is read as before. */
#ifndef FER_DATASET_H
#define FER_DATASET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FER_DATASET_CHUNK 8192
#define FER_CLASSES_MAX 32
#define FER_CLASS_NAME_MAX 32

enum fer_usage { FER_TRAINING = 0, FER_PUBLICTEST = 1, FER_PRIVATETEST = 2,
                 FER_NUSAGE = 3, FER_NOUSAGE = 255 };

/* The seven FER2013 emotions, index = label. */
extern const char *const fer_fer2013_classes[7];

typedef struct fer_dataset {
    size_t n, cap;          /* images held, images allocated */
    int c, h, w;            /* every image is (C, H, W) */
    uint8_t *pixels;        /* (n, C, H, W) */
    int32_t *labels;        /* (n), -1 = unknown */
    uint8_t *usage;         /* (n), enum fer_usage */
    int nclasses;
    char classes[FER_CLASSES_MAX][FER_CLASS_NAME_MAX];
} fer_dataset;

/* An empty set of (c, h, w) images with the FER2013 class names. */
void fer_dataset_init(fer_dataset *d, int c, int h, int w);
void fer_dataset_free(fer_dataset *d);

/* Appends one image (c*h*w bytes). Returns 0 or -1 (out of memory). */
int fer_dataset_push(fer_dataset *d, const uint8_t *px, int label, int usage);

/* Writes the whole set as chunks, then the end record. Returns 0 or -1. */
int fer_dataset_write(FILE *f, const fer_dataset *d);
/* The chunks alone, for a writer that writes a set in parts, then ends the
 * stream with fer_dataset_write_end(f, images written in all). */
int fer_dataset_write_chunks(FILE *f, const fer_dataset *d);
int fer_dataset_write_end(FILE *f, uint64_t nimages);

/* The end check of a reader that reads records itself: zero it, feed it
 * every record read (where names the record in messages, "x.fer: record
 * 3"), then call fer_dataset_end_finish at the end of the input. Each
 * returns 0, or -1 with fer_error() set ("x.fer: cut short: no end record
 * after 8192 images", "x.fer: record 3: end record says 10 images, the
 * stream held 9"). */
typedef struct fer_dataset_end {
    uint64_t n;             /* images since the start or the last end record */
    int want;               /* end=1 seen since the last end record */
} fer_dataset_end;
struct fer_record;
int fer_dataset_end_record(fer_dataset_end *e, const struct fer_record *r, const char *where);
int fer_dataset_end_finish(const fer_dataset_end *e, const char *name);

/* Reads a whole stream ("-" = stdin) into d, which it initialises. Unknown
 * records are skipped. Returns 0, or -1 with fer_error() naming file and
 * record. */
int fer_dataset_read(const char *path, fer_dataset *d);

/* The same from an open stream (not closed); name is used in messages. */
int fer_dataset_read_file(FILE *f, const char *name, fer_dataset *d);

/* Keeps only images whose usage bit (1 << usage) is in mask. */
void fer_dataset_filter_usage(fer_dataset *d, unsigned mask);

/* CRC-32 of pixels and labels, as a data set's fingerprint. */
uint32_t fer_dataset_checksum(const fer_dataset *d);

/* "Training", "PublicTest", "PrivateTest" or "none"; and back (-1 when the
 * name is unknown; case-sensitive as in the FER2013 CSV). */
const char *fer_dataset_usage_name(int usage);
int fer_dataset_usage_parse(const char *s);

/* Splits d into train and val, stratified by label, frac of each class to
 * val, deterministic for a seed. The outputs are initialised here. 0/-1. */
int fer_dataset_split(const fer_dataset *d, double frac, unsigned long long seed,
                         fer_dataset *train, fer_dataset *val);

#endif
