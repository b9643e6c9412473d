/* csv.h: a streaming reader of the Kaggle FER2013 CSV.
 *
 * The file has a header line and one image per line:
 *
 *   emotion,pixels,Usage
 *   0,70 80 82 ... 2304 values,Training
 *
 * emotion is the label 0..6 (fer_fer2013_classes), pixels 2304 decimal
 * values 0..255 separated by spaces, the 48x48 image row-major, and Usage
 * one of Training, PublicTest, PrivateTest. The reader also takes:
 *   - the columns in another order, or without Usage (usage FER_NOUSAGE) or
 *     without emotion (label -1); names are matched without case and with
 *     surrounding blanks ignored ("emotion, Usage, pixels" works too);
 *   - no header at all: the columns are then emotion,pixels[,Usage];
 *   - CRLF line endings, a field in double quotes, blank lines (ignored);
 *   - gzip-compressed input (one or more members), recognised by its first
 *     two bytes 0x1f 0x8b whatever the file is called, also on a pipe.
 *
 * Each line is parsed in place from a large buffer with a hand-written
 * digit loop: the reader costs a fraction of the gzip decompression. */
#ifndef FER_CSV_H
#define FER_CSV_H

#include <stdint.h>
#include <stdio.h>

#include "dataset.h"

#define FER_CSV_SIDE 48
#define FER_CSV_PIXELS (FER_CSV_SIDE * FER_CSV_SIDE)
/* A longer line (2304 values need at most 9216 bytes) stops the reader
 * with an error naming it, as does a NUL byte: /dev/zero is no CSV. */
#define FER_CSV_LINE_MAX (1 << 16)

typedef struct fer_csv fer_csv;

/* A reader over a stream the caller opened (and closes after
 * fer_csv_close), its header line read if there is one; name is used in
 * messages ("x.csv:1: no 'pixels' column in the header"). NULL with
 * fer_error() set. Only fread is used, so bytes pushed back with ungetc
 * are seen. */
fer_csv *fer_csv_from(FILE *f, const char *name);

/* Frees the reader (not the stream). */
void fer_csv_close(fer_csv *r);

/* Reads the next row: px gets the 2304 pixels (48x48), *label 0..6 or -1
 * when the file has no emotion column, *usage an enum fer_usage
 * (FER_NOUSAGE without a Usage column).
 * Returns 1 for a row, 0 at the end of the input, or:
 *   -1  a bad row; fer_error() reads "name:LINE: what is wrong", e.g.
 *       "fer2013.csv:1043: 2303 pixels, expected 2304". The reader has
 *       moved past that line: the caller may go on with the next call.
 *   -2  the input itself failed (read error, corrupt or truncated gzip)
 *       or is no CSV text (a NUL byte, a line over FER_CSV_LINE_MAX:
 *       "name:LINE: line longer than 65536 bytes"); fer_error() says so;
 *       do not call again.
 * px, label and usage are written only when 1 is returned. */
int fer_csv_next(fer_csv *r, uint8_t *px, int *label, int *usage);

/* The 1-based line number of the row read last (the header is line 1). */
long fer_csv_line(const fer_csv *r);

/* What fer_csv_read does, and what it found. */
typedef struct fer_csv_opts {
    unsigned usages;        /* keep rows whose (1 << usage) bit is set;
                               bit FER_NUSAGE (8) stands for rows without a
                               Usage; 0 keeps every row */
    int skip_bad;           /* count bad rows and go on, instead of failing */
} fer_csv_opts;

typedef struct fer_csv_stats {
    long rows;              /* rows read, good and bad (not the header) */
    long kept;              /* rows appended to the data set */
    long bad;               /* bad rows skipped (skip_bad) */
    char first_bad[256];    /* the message of the first one, "" if none */
} fer_csv_stats;

/* Reads a whole CSV (path, "-" = stdin) into d, which it initialises as
 * (1, 48, 48) images with the FER2013 class names. opts may be NULL (every
 * row, fail on the first bad one); stats may be NULL. Returns 0, or -1
 * with fer_error() set and d freed. */
int fer_csv_read(const char *path, fer_dataset *d, const fer_csv_opts *opts,
                 fer_csv_stats *stats);

/* The same from a stream, e.g. stdin after peeking at its first bytes. */
int fer_csv_read_file(FILE *f, const char *name, fer_dataset *d, const fer_csv_opts *opts,
                      fer_csv_stats *stats);

#endif
