/* outfile.h: output files that appear whole or not at all.
 *
 * fer_outfile_open() creates a temporary file beside the target (or uses
 * stdout for "-"); fer_outfile_commit() flushes, checks every write and
 * renames it into place; fer_outfile_abort() removes it. An error therefore
 * never leaves a half-written output. */
#ifndef FER_OUTFILE_H
#define FER_OUTFILE_H

#include <stdio.h>

typedef struct fer_outfile {
    FILE *f;            /* write here */
    char *path;         /* the target, "-" for stdout */
    char *tmp;          /* the temporary name, NULL for stdout */
} fer_outfile;

/* Returns 0, or -1 (fer_error() names the path) with o zeroed: nothing to
 * free after a failed open. */
int fer_outfile_open(fer_outfile *o, const char *path);

/* Flushes and closes; renames into place. Returns 0, or -1 after removing
 * the temporary file when any write failed (full disk, closed pipe). */
int fer_outfile_commit(fer_outfile *o);

/* Closes and removes the temporary file. Safe on a zeroed struct. */
void fer_outfile_abort(fer_outfile *o);

/* Whether paths a and b name the same file: by device and inode when both
 * exist, never when only one does, and by their text (the folder resolved
 * with realpath where it exists) when neither does. "-" (a standard
 * stream) is no file. For refusing an output that would overwrite an
 * input or another output before any work. */
int fer_outfile_same(const char *a, const char *b);

#endif
