/* tfweights.h: the tensors of a model file made by scripts/tfjs2fer.py
 * (TensorFlow.js weights as fer(5) records), looked up by their
 * TensorFlow names with their shapes checked, for the neural face
 * detectors (facenet_blaze.h). */
#ifndef FER_TFWEIGHTS_H
#define FER_TFWEIGHTS_H

#include "record.h"

typedef struct fer_tfweights {
    fer_record *r;          /* the f32 records, in file order */
    int n;
    const char *path;       /* for messages; not copied */
    const char *what;       /* "BlazeFace", for "not BlazeFace weights" */
} fer_tfweights;

/* Reads path whole: its first record must be "model" with arch=arch and
 * tfjs2fer=1, every f32 value must be finite. Returns 0, or -1 with
 * fer_error() naming the file and what is wrong (missing, not a fer
 * file, another arch or converter version, cut short, out of memory);
 * *t is then empty. */
int fer_tfweights_read(const char *path, const char *arch, const char *what, fer_tfweights *t);

/* The data of tensor name, f32 of nd dims shape[0..nd); NULL with
 * fer_error() naming the file and the tensor when it is missing or has
 * another shape. The data lives until fer_tfweights_free. */
const float *fer_tfweights_find(const fer_tfweights *t, const char *name, int nd,
                                const int *shape);

void fer_tfweights_free(fer_tfweights *t);

#endif
