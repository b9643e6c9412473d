/* dataset.c: data sets in memory and as fer records. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dataset.h"
#include "error.h"
#include "parse.h"
#include "record.h"
#include "rng.h"

const char *const fer_fer2013_classes[7] = {
    "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"};

static const char *const usage_names[FER_NUSAGE] = {"Training", "PublicTest", "PrivateTest"};

const char *fer_dataset_usage_name(int u)
{
    return u >= 0 && u < FER_NUSAGE ? usage_names[u] : "none";
}

int fer_dataset_usage_parse(const char *s)
{
    for (int i = 0; i < FER_NUSAGE; i++)
        if (!strcmp(s, usage_names[i]))
            return i;
    return -1;
}

void fer_dataset_init(fer_dataset *d, int c, int h, int w)
{
    memset(d, 0, sizeof *d);
    d->c = c;
    d->h = h;
    d->w = w;
    d->nclasses = 7;
    for (int i = 0; i < 7; i++)
        snprintf(d->classes[i], FER_CLASS_NAME_MAX, "%s", fer_fer2013_classes[i]);
}

void fer_dataset_free(fer_dataset *d)
{
    free(d->pixels);
    free(d->labels);
    free(d->usage);
    d->pixels = NULL;
    d->labels = NULL;
    d->usage = NULL;
    d->n = d->cap = 0;
}

static size_t image_bytes(const fer_dataset *d) { return (size_t)d->c * d->h * d->w; }

static int reserve(fer_dataset *d, size_t want)
{
    size_t cap = d->cap ? d->cap : 1024;
    uint8_t *p, *u;
    int32_t *l;
    if (want <= d->cap)
        return 0;
    while (cap < want)
        cap *= 2;
    p = realloc(d->pixels, cap * image_bytes(d));
    if (!p)
        return fer_seterr("out of memory for %zu images", cap);
    d->pixels = p;
    l = realloc(d->labels, cap * sizeof *l);
    if (!l)
        return fer_seterr("out of memory for %zu images", cap);
    d->labels = l;
    u = realloc(d->usage, cap);
    if (!u)
        return fer_seterr("out of memory for %zu images", cap);
    d->usage = u;
    d->cap = cap;
    return 0;
}

int fer_dataset_push(fer_dataset *d, const uint8_t *px, int label, int usage)
{
    if (reserve(d, d->n + 1))
        return -1;
    memcpy(d->pixels + d->n * image_bytes(d), px, image_bytes(d));
    d->labels[d->n] = label;
    d->usage[d->n] = (uint8_t)usage;
    d->n++;
    return 0;
}

/* "classes=a,b,c\nusages=Training,PublicTest,PrivateTest\n" */
static char *make_meta(const fer_dataset *d)
{
    size_t len = 64 + (size_t)d->nclasses * (FER_CLASS_NAME_MAX + 1);
    char *m = malloc(len), *p;
    if (!m)
        return NULL;
    p = m + sprintf(m, "classes=");
    for (int i = 0; i < d->nclasses; i++)
        p += sprintf(p, "%s%s", i ? "," : "", d->classes[i]);
    sprintf(p, "\nusages=Training,PublicTest,PrivateTest\nend=1\n");
    return m;
}

int fer_dataset_write(FILE *f, const fer_dataset *d)
{
    if (fer_dataset_write_chunks(f, d))
        return -1;
    return fer_dataset_write_end(f, d->n);
}

int fer_dataset_write_end(FILE *f, uint64_t nimages)
{
    char meta[64];
    uint64_t shape[1] = {0};
    fer_record r;
    snprintf(meta, sizeof meta, "images=%llu\n", (unsigned long long)nimages);
    fer_record_init(&r, "end", FER_U8, 1, shape, NULL, meta);
    return fer_record_write(f, &r);
}

int fer_dataset_end_record(fer_dataset_end *e, const fer_record *r, const char *where)
{
    char v[32];
    long said;
    if (!strcmp(r->name, "images") || !strcmp(r->name, "face")) {
        e->n += r->name[0] == 'f' ? 1 : (r->ndim ? r->shape[0] : 0);
        if (r->meta && fer_parse_meta(r->meta, "end", v, sizeof v) >= 0 && !strcmp(v, "1"))
            e->want = 1;
    } else if (!strcmp(r->name, "end")) {
        if (!r->meta || fer_parse_meta(r->meta, "images", v, sizeof v) < 0 ||
            fer_parse_long(v, 0, LONG_MAX, &said) < 0)
            return fer_seterr("%s: end record without an image count", where);
        if ((uint64_t)said != e->n)
            return fer_seterr("%s: end record says %ld images, the stream held %llu", where,
                              said, (unsigned long long)e->n);
        e->n = 0;
        e->want = 0;
    }
    return 0;
}

int fer_dataset_end_finish(const fer_dataset_end *e, const char *name)
{
    if (e->want)
        return fer_seterr("%s: cut short: no end record after %llu images (the writer did not "
                          "finish)", name, (unsigned long long)e->n);
    return 0;
}

int fer_dataset_write_chunks(FILE *f, const fer_dataset *d)
{
    char *meta = make_meta(d);
    size_t i = 0;
    int rc = 0;
    if (!meta)
        return fer_seterr("out of memory");
    do {
        /* FER_DATASET_CHUNK images, fewer when they would pass FER_PAYLOAD_MAX */
        size_t per = FER_PAYLOAD_MAX / (image_bytes(d) ? image_bytes(d) : 1);
        size_t most = per < FER_DATASET_CHUNK ? (per ? per : 1) : FER_DATASET_CHUNK;
        size_t k = d->n - i < most ? d->n - i : most;
        uint64_t s4[4] = {k, (uint64_t)d->c, (uint64_t)d->h, (uint64_t)d->w}, s1[1] = {k};
        fer_record r;
        fer_record_init(&r, "images", FER_U8, 4, s4,
                        d->pixels ? d->pixels + i * image_bytes(d) : NULL, meta);
        if ((rc = fer_record_write(f, &r)))
            break;
        fer_record_init(&r, "labels", FER_I32, 1, s1, d->labels ? d->labels + i : NULL, NULL);
        if ((rc = fer_record_write(f, &r)))
            break;
        fer_record_init(&r, "usage", FER_U8, 1, s1, d->usage ? d->usage + i : NULL, NULL);
        if ((rc = fer_record_write(f, &r)))
            break;
        i += k;
    } while (i < d->n);
    free(meta);
    return rc;
}

/* Takes the class list from an images record's meta text. The first
 * chunk with a list sets it; a later chunk's list must be the same (files
 * joined with cat): labels are indices into it, and the set is written
 * back with one list. *seen says whether a list was taken. */
static int read_classes(fer_dataset *d, const char *meta, const char *where, int *seen)
{
    char buf[FER_CLASSES_MAX * (FER_CLASS_NAME_MAX + 1)], list[sizeof buf], *p, *save = NULL;
    char names[FER_CLASSES_MAX][FER_CLASS_NAME_MAX];
    int n = 0;
    if (!meta || fer_parse_meta(meta, "classes", buf, sizeof buf) < 0)
        return 0;
    memcpy(list, buf, sizeof list);
    for (p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        if (n == FER_CLASSES_MAX || strlen(p) >= FER_CLASS_NAME_MAX)
            return fer_seterr("%s: class list too long", where);
        strcpy(names[n++], p);
    }
    if (!n)
        return 0;
    if (*seen) {
        int same = n == d->nclasses;
        for (int i = 0; same && i < n; i++)
            same = !strcmp(names[i], d->classes[i]);
        if (!same) {
            char before[sizeof buf];
            size_t k = 0;
            for (int i = 0; i < d->nclasses; i++)
                k += snprintf(before + k, sizeof before - k, "%s%s", i ? "," : "", d->classes[i]);
            return fer_seterr("%s: class list '%s' differs from '%s' before", where, list, before);
        }
        return 0;
    }
    memcpy(d->classes, names, sizeof names);
    d->nclasses = n;
    *seen = 1;
    return 0;
}

static int read_stream(fer_reader *rd, fer_dataset *d);

int fer_dataset_read(const char *path, fer_dataset *d)
{
    fer_dataset_init(d, 1, 48, 48);
    return read_stream(fer_reader_open(path), d);
}

int fer_dataset_read_file(FILE *f, const char *name, fer_dataset *d)
{
    fer_dataset_init(d, 1, 48, 48);
    return read_stream(fer_reader_from(f, name), d);
}

/* Reads every record of rd (closing it) into d. */
static int read_stream(fer_reader *rd, fer_dataset *d)
{
    fer_record r;
    size_t chunk_start = 0, chunk_n = 0;   /* the last "images" chunk */
    int have_shape = 0, have_classes = 0, k, rc = -1;
    char where[512];
    fer_dataset_end end = {0, 0};

    if (!rd)
        return -1;
    fer_reader_expect(rd, "fer data set");
    while ((k = fer_reader_next(rd, &r)) == 1) {
        snprintf(where, sizeof where, "%s: record %ld", fer_reader_name(rd), fer_reader_index(rd));
        if (fer_reader_index(rd) == 0 && !strcmp(r.name, "model")) {
            /* not a set of no images: say what it is */
            fer_seterr("%s: a fer model, not a data set", fer_reader_name(rd));
            fer_record_free(&r);
            goto out;
        }
        if (!strcmp(r.name, "images") || !strcmp(r.name, "face")) {
            int face = r.name[0] == 'f';
            uint64_t n = face ? 1 : r.shape[0];
            int o = face ? 0 : 1;
            if (r.dtype != FER_U8 || r.ndim != 3 + o || r.shape[o] == 0 || r.shape[o] > 4 ||
                r.shape[o + 1] == 0 || r.shape[o + 1] > 4096 || r.shape[o + 2] == 0 ||
                r.shape[o + 2] > 4096) {
                fer_record_free(&r);
                fer_seterr("%s: '%s' must be u8 %s with C <= 4, H and W <= 4096", where,
                           r.name, face ? "(C, H, W)" : "(N, C, H, W)");
                goto out;
            }
            if (!have_shape) {
                d->c = (int)r.shape[o];
                d->h = (int)r.shape[o + 1];
                d->w = (int)r.shape[o + 2];
                have_shape = 1;
            } else if (d->c != (int)r.shape[o] || d->h != (int)r.shape[o + 1] ||
                       d->w != (int)r.shape[o + 2]) {
                fer_record_free(&r);
                fer_seterr("%s: image size %llux%llux%llu differs from %dx%dx%d before", where,
                           (unsigned long long)r.shape[o], (unsigned long long)r.shape[o + 1],
                           (unsigned long long)r.shape[o + 2], d->c, d->h, d->w);
                goto out;
            }
            if (!face && read_classes(d, r.meta, where, &have_classes)) {
                fer_record_free(&r);
                goto out;
            }
            if (reserve(d, d->n + n)) {
                fer_record_free(&r);
                goto out;
            }
            if (n)
                memcpy(d->pixels + d->n * image_bytes(d), r.data, n * image_bytes(d));
            for (uint64_t i = 0; i < n; i++) {
                d->labels[d->n + i] = -1;
                d->usage[d->n + i] = FER_NOUSAGE;
            }
            chunk_start = d->n;
            chunk_n = n;
            d->n += n;
        } else if (!strcmp(r.name, "labels") || !strcmp(r.name, "usage")) {
            int lab = r.name[0] == 'l';
            if (r.dtype != (lab ? FER_I32 : FER_U8) || r.ndim != 1 || r.shape[0] != chunk_n ||
                chunk_start + chunk_n != d->n) {
                fer_record_free(&r);
                fer_seterr("%s: '%s' must be %s (%zu) after the images it labels", where,
                           lab ? "labels" : "usage", lab ? "i32" : "u8", chunk_n);
                goto out;
            }
            if (lab) {
                const int32_t *l = r.data;
                for (size_t i = 0; i < chunk_n; i++) {
                    if (l[i] < -1 || l[i] >= d->nclasses) {
                        /* the message before the free: l points into r */
                        fer_seterr("%s: label %ld of image %zu outside -1..%d", where, (long)l[i],
                                   i, d->nclasses - 1);
                        fer_record_free(&r);
                        goto out;
                    }
                    d->labels[chunk_start + i] = l[i];
                }
            } else {
                if (chunk_n)
                    memcpy(d->usage + chunk_start, r.data, chunk_n);
            }
        }
        if (fer_dataset_end_record(&end, &r, where)) {
            fer_record_free(&r);
            goto out;
        }
        fer_record_free(&r);
    }
    if (k == 0 && !fer_dataset_end_finish(&end, fer_reader_name(rd)))
        rc = 0;
out:
    fer_reader_close(rd);
    if (rc)
        fer_dataset_free(d);
    return rc;
}

void fer_dataset_filter_usage(fer_dataset *d, unsigned mask)
{
    size_t j = 0, b = image_bytes(d);
    for (size_t i = 0; i < d->n; i++) {
        if (d->usage[i] >= 32 || !(mask & (1u << d->usage[i])))
            continue;
        if (i != j) {
            memmove(d->pixels + j * b, d->pixels + i * b, b);
            d->labels[j] = d->labels[i];
            d->usage[j] = d->usage[i];
        }
        j++;
    }
    d->n = j;
}

uint32_t fer_dataset_checksum(const fer_dataset *d)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    size_t total = d->n * image_bytes(d);
    for (size_t i = 0; i < total; i += 1u << 30)
        crc = crc32(crc, d->pixels + i, (uInt)(total - i < (1u << 30) ? total - i : (1u << 30)));
    for (size_t i = 0; i < d->n; i++) {
        unsigned char b[4] = {(unsigned char)d->labels[i], (unsigned char)(d->labels[i] >> 8),
                              (unsigned char)(d->labels[i] >> 16),
                              (unsigned char)(d->labels[i] >> 24)};
        crc = crc32(crc, b, 4);
    }
    return (uint32_t)crc;
}

int fer_dataset_split(const fer_dataset *d, double frac, unsigned long long seed,
                         fer_dataset *train, fer_dataset *val)
{
    size_t img = (size_t)d->c * d->h * d->w;
    size_t *idx = malloc((d->n ? d->n : 1) * sizeof *idx);
    char *to_val = calloc(d->n ? d->n : 1, 1);
    fer_rng rng;
    fer_rng_seed(&rng, seed);
    fer_dataset_init(train, d->c, d->h, d->w);
    fer_dataset_init(val, d->c, d->h, d->w);
    if (!idx || !to_val) {
        free(idx);
        free(to_val);
        return fer_seterr("out of memory");
    }
    /* per class (label -1 counts as its own class): shuffle, take frac */
    for (int c = -1; c < d->nclasses; c++) {
        size_t k = 0, take;
        for (size_t i = 0; i < d->n; i++)
            if (d->labels[i] == c)
                idx[k++] = i;
        fer_rng_shuffle(&rng, idx, k, sizeof *idx);
        take = (size_t)(frac * k + 0.5);
        for (size_t i = 0; i < take; i++)
            to_val[idx[i]] = 1;
    }
    for (size_t i = 0; i < d->n; i++) {
        fer_dataset *dst = to_val[i] ? val : train;
        if (fer_dataset_push(dst, d->pixels + i * img, d->labels[i], d->usage[i])) {
            free(idx);
            free(to_val);
            fer_dataset_free(train);
            fer_dataset_free(val);
            return -1;
        }
    }
    for (fer_dataset *o = train; o; o = o == train ? val : NULL) {
        o->nclasses = d->nclasses;
        memcpy(o->classes, d->classes, sizeof d->classes);
    }
    free(idx);
    free(to_val);
    return 0;
}
