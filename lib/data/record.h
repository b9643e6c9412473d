/* record.h: the fer file format, one format for everything the tools pass
 * along (data sets, face crops, predictions, models).
 *
 * A fer file or pipe is a sequence of self-describing records, read front to
 * back without seeking. Each record, all integers little-endian:
 *
 *   offset  size        field
 *   0       4           magic 0x89 'F' 'E' 'R'
 *   4       2  u16      format version (FER_VERSION)
 *   6       1  u8       dtype (enum fer_dtype; unknown ones can be skipped)
 *   7       1  u8       ndim, 0..FER_MAX_DIMS
 *   8       2  u16      name length, 0..FER_NAME_MAX
 *   10      2  u16      flags, written 0, ignored when read
 *   12      4  u32      meta length, 0..FER_META_MAX
 *   16      8  u64      payload length in bytes
 *   24      8*ndim u64  shape, outermost first (N, C, H, W)
 *   ...     name        bytes, no NUL
 *   ...     meta        "key=value\n" text, no NUL
 *   ...     payload     row-major elements
 *   ...     4  u32      CRC-32 (zlib) of every byte of the record before it
 *
 * man/fer.5 has the same with a worked hex example. */
#ifndef FER_RECORD_H
#define FER_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FER_VERSION   1
#define FER_MAX_DIMS  8
#define FER_NAME_MAX  255
#define FER_META_MAX  (1u << 20)
/* No record of ours comes near this (a data set chunk of 8192 48x48
 * faces is 18 MiB; the writers split larger ones); a larger length is
 * refused on the header, before anything is allocated, and never written. */
#define FER_PAYLOAD_MAX ((uint64_t)1 << 32)

enum fer_dtype { FER_U8 = 1, FER_I32 = 2, FER_F32 = 3, FER_F64 = 4, FER_I64 = 5 };

typedef struct fer_record {
    int dtype;                      /* enum fer_dtype, or another code */
    int ndim;
    uint64_t shape[FER_MAX_DIMS];
    char name[FER_NAME_MAX + 1];    /* NUL-terminated */
    char *meta;                     /* NUL-terminated "k=v\n" text, or NULL */
    size_t meta_len;
    void *data;                     /* payload, or NULL before it is read */
    uint64_t nbytes;                /* payload length */
} fer_record;

/* Bytes per element of a known dtype, 0 for an unknown one. */
size_t fer_dtype_size(int dtype);
/* "u8", "i32", "f32", "f64", "i64", or "?". */
const char *fer_dtype_name(int dtype);

/* Number of elements, the product of the shape (1 for ndim 0). */
uint64_t fer_record_count(const fer_record *r);

/* Fills r (which is zeroed first) with a record that borrows data: the
 * caller keeps ownership of data and meta and must not call
 * fer_record_free on it. ndim dims follow as uint64_t in the varargs-free
 * array shape. */
void fer_record_init(fer_record *r, const char *name, int dtype, int ndim,
                     const uint64_t *shape, const void *data, const char *meta);

/* Writes one record to f. Returns 0, or -1 on a write error or a record
 * whose payload length does not match its shape. */
int fer_record_write(FILE *f, const fer_record *r);

/* Frees meta and data of a record filled by a reader. */
void fer_record_free(fer_record *r);

/* A reader over a stream; name is used in messages ("t.fer: record 3 at
 * byte 812: bad CRC"). */
typedef struct fer_reader fer_reader;

/* Opens path ("-" = stdin). Returns NULL with fer_error() set. */
fer_reader *fer_reader_open(const char *path);
/* Wraps an open stream; the reader does not close it. */
fer_reader *fer_reader_from(FILE *f, const char *name);
void fer_reader_close(fer_reader *rd);

/* Reads the next record's header (all but the payload) into r, which it
 * zeroes first. Returns 1, 0 at a clean end of stream, or -1 on a bad or
 * truncated header. Every length is checked before anything is allocated.
 * After a 1, call fer_reader_data or fer_reader_skip exactly once. */
int fer_reader_head(fer_reader *rd, fer_record *r);
/* Reads the payload into r->data (malloc'd) and checks the CRC: 0 or -1. */
int fer_reader_data(fer_reader *rd, fer_record *r);
/* Discards the payload, still checking the CRC: 0 or -1. */
int fer_reader_skip(fer_reader *rd, fer_record *r);

/* head + data for records of a known dtype; records of unknown dtype are
 * skipped. Returns 1, 0 at the end, -1 on error. */
int fer_reader_next(fer_reader *rd, fer_record *r);

/* What the caller wants the stream to be ("fer data set", "fer model"),
 * for the message when the stream starts as something else: "x.png: a PNG
 * image, not a fer data set". The default is "fer file". kind is not
 * copied: a string literal. */
void fer_reader_expect(fer_reader *rd, const char *kind);

/* Index (0-based) and starting byte offset of the record read last. */
long fer_reader_index(const fer_reader *rd);
uint64_t fer_reader_offset(const fer_reader *rd);
const char *fer_reader_name(const fer_reader *rd);

#endif
