/* record.c: reading and writing fer records (see record.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "error.h"
#include "record.h"

#define HEAD_FIXED 24

static const unsigned char magic[4] = {0x89, 'F', 'E', 'R'};

struct fer_reader {
    FILE *f;
    int own;
    char *name;
    long index;             /* index of the current record, -1 before any */
    uint64_t pos;           /* bytes consumed so far */
    uint64_t start;         /* offset of the current record */
    uLong crc;              /* running CRC of the current record */
    int pending;            /* a head was read, its payload not yet */
    const char *kind;       /* what the stream should be, for messages */
};

size_t fer_dtype_size(int dtype)
{
    switch (dtype) {
    case FER_U8: return 1;
    case FER_I32: return 4;
    case FER_F32: return 4;
    case FER_F64: return 8;
    case FER_I64: return 8;
    }
    return 0;
}

const char *fer_dtype_name(int dtype)
{
    switch (dtype) {
    case FER_U8: return "u8";
    case FER_I32: return "i32";
    case FER_F32: return "f32";
    case FER_F64: return "f64";
    case FER_I64: return "i64";
    }
    return "?";
}

uint64_t fer_record_count(const fer_record *r)
{
    uint64_t n = 1;
    for (int i = 0; i < r->ndim; i++)
        n *= r->shape[i];
    return n;
}

void fer_record_init(fer_record *r, const char *name, int dtype, int ndim,
                     const uint64_t *shape, const void *data, const char *meta)
{
    memset(r, 0, sizeof *r);
    FER_ASSERT(ndim >= 0 && ndim <= FER_MAX_DIMS);
    snprintf(r->name, sizeof r->name, "%s", name);
    r->dtype = dtype;
    r->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        r->shape[i] = shape[i];
    r->data = (void *)data;
    r->meta = (char *)meta;
    r->meta_len = meta ? strlen(meta) : 0;
    r->nbytes = fer_record_count(r) * fer_dtype_size(dtype);
}

static void put16(unsigned char *p, unsigned v) { p[0] = v; p[1] = v >> 8; }
static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = v >> (8 * i);
}
static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = v >> (8 * i);
}
static unsigned get16(const unsigned char *p) { return p[0] | p[1] << 8; }
static uint32_t get32(const unsigned char *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* crc32() takes a uInt length: feed large buffers in pieces. */
static uLong crc_update(uLong crc, const void *p, uint64_t n)
{
    const unsigned char *b = p;
    while (n) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = crc32(crc, b, k);
        b += k;
        n -= k;
    }
    return crc;
}

int fer_record_write(FILE *f, const fer_record *r)
{
    unsigned char head[HEAD_FIXED + 8 * FER_MAX_DIMS], tail[4];
    size_t nlen = strlen(r->name), hlen;
    uLong crc = crc32(0L, Z_NULL, 0);
    size_t esz = fer_dtype_size(r->dtype);

    if (r->ndim < 0 || r->ndim > FER_MAX_DIMS || nlen > FER_NAME_MAX ||
        r->meta_len > FER_META_MAX)
        return fer_seterr("record '%s': bad header", r->name);
    if (esz && fer_record_count(r) * esz != r->nbytes)
        return fer_seterr("record '%s': payload does not match shape", r->name);
    if (r->nbytes > FER_PAYLOAD_MAX)
        return fer_seterr("record '%s': payload of %llu bytes exceeds %llu", r->name,
                          (unsigned long long)r->nbytes, (unsigned long long)FER_PAYLOAD_MAX);
    memcpy(head, magic, 4);
    put16(head + 4, FER_VERSION);
    head[6] = (unsigned char)r->dtype;
    head[7] = (unsigned char)r->ndim;
    put16(head + 8, (unsigned)nlen);
    put16(head + 10, 0);
    put32(head + 12, (uint32_t)r->meta_len);
    put64(head + 16, r->nbytes);
    for (int i = 0; i < r->ndim; i++)
        put64(head + HEAD_FIXED + 8 * i, r->shape[i]);
    hlen = HEAD_FIXED + 8 * (size_t)r->ndim;
    crc = crc_update(crc, head, hlen);
    crc = crc_update(crc, r->name, nlen);
    if (r->meta_len)
        crc = crc_update(crc, r->meta, r->meta_len);
    if (r->nbytes)
        crc = crc_update(crc, r->data, r->nbytes);
    put32(tail, (uint32_t)crc);
    if (fwrite(head, 1, hlen, f) != hlen ||
        fwrite(r->name, 1, nlen, f) != nlen ||
        (r->meta_len && fwrite(r->meta, 1, r->meta_len, f) != r->meta_len) ||
        (r->nbytes && fwrite(r->data, 1, r->nbytes, f) != r->nbytes) ||
        fwrite(tail, 1, 4, f) != 4)
        return fer_seterr("write error: %s", strerror(errno));
    return 0;
}

void fer_record_free(fer_record *r)
{
    free(r->meta);
    free(r->data);
    r->meta = NULL;
    r->data = NULL;
}

fer_reader *fer_reader_from(FILE *f, const char *name)
{
    fer_reader *rd = calloc(1, sizeof *rd);
    if (!rd || !(rd->name = strdup(name))) {
        free(rd);
        fer_seterr("out of memory");
        return NULL;
    }
    rd->f = f;
    rd->index = -1;
    rd->kind = "fer file";
    return rd;
}

void fer_reader_expect(fer_reader *rd, const char *kind)
{
    if (rd)
        rd->kind = kind;
}

/* What a stream that starts with these 4 bytes is, when it is a kind of
 * file often given by mistake; NULL otherwise. */
static const char *sniff(const unsigned char *h)
{
    if (!memcmp(h, "\x89PNG", 4))
        return "a PNG image";
    if (h[0] == 0xff && h[1] == 0xd8 && h[2] == 0xff)
        return "a JPEG image";
    if (h[0] == 'P' && h[1] >= '1' && h[1] <= '6' && (h[2] == '\n' || h[2] == ' ' || h[2] == '#'))
        return "a PNM image";
    if (h[0] == 0x1f && h[1] == 0x8b)
        return "gzip data";
    return NULL;
}

fer_reader *fer_reader_open(const char *path)
{
    FILE *f;
    fer_reader *rd;
    if (!strcmp(path, "-"))
        return fer_reader_from(stdin, "<stdin>");
    f = fopen(path, "rb");
    if (!f) {
        fer_seterr("%s: %s", path, strerror(errno));
        return NULL;
    }
    rd = fer_reader_from(f, path);
    if (!rd) {
        fclose(f);
        return NULL;
    }
    rd->own = 1;
    return rd;
}

void fer_reader_close(fer_reader *rd)
{
    if (!rd)
        return;
    if (rd->own)
        fclose(rd->f);
    free(rd->name);
    free(rd);
}

long fer_reader_index(const fer_reader *rd) { return rd->index; }
uint64_t fer_reader_offset(const fer_reader *rd) { return rd->start; }
const char *fer_reader_name(const fer_reader *rd) { return rd->name; }

static int bad(fer_reader *rd, const char *what)
{
    return fer_seterr("%s: record %ld at byte %llu: %s", rd->name, rd->index,
                      (unsigned long long)rd->start, what);
}

/* Reads exactly n bytes into p and adds them to the CRC; 0, or -1 when the
 * stream ends first (fer_error says what was being read). */
static int readn(fer_reader *rd, void *p, size_t n, const char *what)
{
    size_t got = fread(p, 1, n, rd->f);
    rd->pos += got;
    rd->crc = crc_update(rd->crc, p, got);
    if (got != n) {
        char m[160];
        snprintf(m, sizeof m, "truncated %s (%zu of %zu bytes)%s", what, got, n,
                 ferror(rd->f) ? ": read error" : "");
        return bad(rd, m);
    }
    return 0;
}

int fer_reader_head(fer_reader *rd, fer_record *r)
{
    unsigned char head[HEAD_FIXED + 8 * FER_MAX_DIMS];
    unsigned version, nlen;
    uint32_t mlen;
    size_t got;
    char m[200];

    memset(r, 0, sizeof *r);
    if (rd->pending)
        return fer_seterr("%s: payload of record %ld not consumed", rd->name, rd->index);
    rd->index++;
    rd->start = rd->pos;
    rd->crc = crc32(0L, Z_NULL, 0);
    got = fread(head, 1, 4, rd->f);
    rd->pos += got;
    if (got == 0 && !ferror(rd->f))
        return 0;
    rd->crc = crc_update(rd->crc, head, got);
    if (got < 4)
        return bad(rd, "truncated magic");
    if (memcmp(head, magic, 4)) {
        const char *what = rd->index == 0 ? sniff(head) : NULL;
        if (what)
            return fer_seterr("%s: %s, not a %s", rd->name, what, rd->kind);
        return bad(rd, "bad magic (not a fer file)");
    }
    if (readn(rd, head + 4, HEAD_FIXED - 4, "header"))
        return -1;
    version = get16(head + 4);
    if (version == 0 || version > FER_VERSION) {
        snprintf(m, sizeof m, "format version %u, this fer reads versions up to %d "
                 "(written by a newer fer?)", version, FER_VERSION);
        return bad(rd, m);
    }
    r->dtype = head[6];
    r->ndim = head[7];
    nlen = get16(head + 8);
    mlen = get32(head + 12);
    r->nbytes = get64(head + 16);
    if (r->ndim > FER_MAX_DIMS) {
        snprintf(m, sizeof m, "ndim %d exceeds %d", r->ndim, FER_MAX_DIMS);
        return bad(rd, m);
    }
    if (nlen > FER_NAME_MAX) {
        snprintf(m, sizeof m, "name length %u exceeds %d", nlen, FER_NAME_MAX);
        return bad(rd, m);
    }
    if (mlen > FER_META_MAX) {
        snprintf(m, sizeof m, "meta length %lu exceeds %u", (unsigned long)mlen, FER_META_MAX);
        return bad(rd, m);
    }
    if (r->nbytes > FER_PAYLOAD_MAX) {
        snprintf(m, sizeof m, "payload length %llu exceeds %llu",
                 (unsigned long long)r->nbytes, (unsigned long long)FER_PAYLOAD_MAX);
        return bad(rd, m);
    }
    if (readn(rd, head + HEAD_FIXED, 8 * (size_t)r->ndim, "shape"))
        return -1;
    {
        /* The shape's product times the element size must equal the payload
         * length, computed without overflow. */
        uint64_t n = 1;
        size_t esz = fer_dtype_size(r->dtype);
        for (int i = 0; i < r->ndim; i++) {
            uint64_t d = get64(head + HEAD_FIXED + 8 * i);
            r->shape[i] = d;
            if (d && n > FER_PAYLOAD_MAX / d) {
                snprintf(m, sizeof m, "shape dimension %d (%llu) overflows", i,
                         (unsigned long long)d);
                return bad(rd, m);
            }
            n *= d;
        }
        if (esz && n * esz != r->nbytes) {
            snprintf(m, sizeof m, "shape needs %llu bytes, payload length says %llu",
                     (unsigned long long)(n * esz), (unsigned long long)r->nbytes);
            return bad(rd, m);
        }
    }
    if (readn(rd, r->name, nlen, "name"))
        return -1;
    r->name[nlen] = 0;
    if (memchr(r->name, 0, nlen))
        return bad(rd, "NUL byte in name");
    r->meta_len = mlen;
    if (mlen) {
        r->meta = malloc(mlen + 1);
        if (!r->meta)
            return bad(rd, "out of memory");
        if (readn(rd, r->meta, mlen, "meta text")) {
            fer_record_free(r);
            return -1;
        }
        r->meta[mlen] = 0;
        if (memchr(r->meta, 0, mlen)) {
            fer_record_free(r);
            return bad(rd, "NUL byte in meta text");
        }
    }
    rd->pending = 1;
    return 1;
}

static int check_crc(fer_reader *rd)
{
    unsigned char t[4];
    uLong want = rd->crc;
    size_t got = fread(t, 1, 4, rd->f);
    rd->pos += got;
    rd->pending = 0;
    if (got != 4)
        return bad(rd, "truncated CRC");
    if (get32(t) != (uint32_t)want)
        return bad(rd, "bad CRC (corrupted record)");
    return 0;
}

int fer_reader_data(fer_reader *rd, fer_record *r)
{
    if (!rd->pending)
        return fer_seterr("%s: no record header read", rd->name);
    free(r->data);
    r->data = NULL;
    /* The buffer grows as the payload arrives (16 MiB, then doubling):
     * a short stream whose header claims gigabytes fails as truncated
     * having allocated about what it held, not what it claimed. */
    for (uint64_t got = 0, cap = 0;;) {
        size_t k;
        if (got == cap) {
            uint64_t want = cap ? cap * 2 : (uint64_t)1 << 24;
            void *p = realloc(r->data, want < r->nbytes ? (size_t)want : (size_t)r->nbytes + 1);
            if (!p) {
                rd->pending = 0;
                fer_record_free(r);
                return bad(rd, "out of memory for payload");
            }
            r->data = p;
            cap = want < r->nbytes ? want : r->nbytes;
        }
        k = fread((unsigned char *)r->data + got, 1, (size_t)(cap - got), rd->f);
        rd->pos += k;
        rd->crc = crc_update(rd->crc, (unsigned char *)r->data + got, k);
        got += k;
        if (got == r->nbytes)
            break;
        if (got < cap) {
            char m[160];
            snprintf(m, sizeof m, "truncated payload (%llu of %llu bytes)%s",
                     (unsigned long long)got, (unsigned long long)r->nbytes,
                     ferror(rd->f) ? ": read error" : "");
            rd->pending = 0;
            fer_record_free(r);
            return bad(rd, m);
        }
    }
    if (check_crc(rd)) {
        fer_record_free(r);
        return -1;
    }
    return 0;
}

int fer_reader_skip(fer_reader *rd, fer_record *r)
{
    unsigned char buf[65536];
    uint64_t left = r->nbytes;
    if (!rd->pending)
        return fer_seterr("%s: no record header read", rd->name);
    while (left) {
        size_t k = left > sizeof buf ? sizeof buf : (size_t)left;
        if (readn(rd, buf, k, "payload")) {
            rd->pending = 0;
            return -1;
        }
        left -= k;
    }
    return check_crc(rd);
}

int fer_reader_next(fer_reader *rd, fer_record *r)
{
    for (;;) {
        int k = fer_reader_head(rd, r);
        if (k <= 0)
            return k;
        if (fer_dtype_size(r->dtype))
            return fer_reader_data(rd, r) ? -1 : 1;
        if (fer_reader_skip(rd, r)) {
            fer_record_free(r);
            return -1;
        }
        fer_record_free(r);
    }
}
