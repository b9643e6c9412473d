/* modelfile.h: the one reader of model files and training checkpoints
 * (man/fer.5), used by model.c, optim.c and train.c.
 *
 * A model file is a "model" record, whose meta text describes the net
 * (model.h lists its keys), then one f32 record per parameter and buffer
 * of that net. A checkpoint (fer-train --checkpoint) is a model file
 * followed by where training stood:
 *   optim               u8 (0); meta kind=sgd|adam|adamw, t=<steps taken>
 *   optim.<param>.m     f32 (n): the first moment (SGD's momentum buffer)
 *   optim.<param>.v     f32 (n): Adam's second moment
 *   trainstate          i64 (images): the image order, or u8 (0) in older
 *                       checkpoints, which kept none; meta text as
 *                       fer_modelfile_state holds it
 *   best.<param>        f32 (n): the best weights so far
 *   ema.<param>         f32 (n): the weight average (fer-train --ema)
 * where <param> names one of the net's parameters and n is its size.
 *
 * The file is read once, front to back (a pipe will do), and strictly:
 * every number is parsed whole and range checked; an unknown meta key,
 * an unknown record, a record of the wrong dtype or shape, one met twice,
 * a NaN or an infinity in any f32 record, or a file that ends with a
 * parameter (or a best or ema record) missing is an error naming the file
 * and the record or key ("m.fer: record 0 'model': unknown key 'foo'").
 *
 * Use: fer_modelfile_open reads the model record; the caller builds or
 * checks its net from fer_modelfile_model and binds the net; then each
 * fer_modelfile_next copies a parameter record into the bound net and
 * hands the caller every other record, until the end. */
#ifndef FER_MODELFILE_H
#define FER_MODELFILE_H

#include <stdint.h>

#include "model.h"

/* The model record's meta text. */
typedef struct fer_modelfile_meta {
    int version;                /* model_version */
    char arch[32];
    fer_model_opts opts;        /* width, dropouts, stages, input, class count,
                                 * bn_eps and bn_momentum (defaults when absent) */
    double mean, std;
    char classes[FER_CLASSES_MAX][FER_CLASS_NAME_MAX];
    const char *train_meta;     /* the "train.*" lines, "k=v\n" each, or NULL */
} fer_modelfile_meta;

/* The "optim" record's meta text. */
typedef struct fer_modelfile_optim {
    int kind;                   /* enum fer_optim_kind */
    long t;                     /* steps taken */
} fer_modelfile_optim;

/* The "trainstate" record. */
typedef struct fer_modelfile_state {
    int epoch;                  /* epochs done (the checkpoint is at the next's start) */
    int best_epoch;             /* 0..epoch */
    double best_val_acc;        /* -1 (none yet) or 0..1 */
    double lr;                  /* the schedule's rate at that point */
    double plateau_best;        /* -1 or 0..1; -1 when absent (older checkpoints) */
    int plateau_wait;           /* 0 when absent */
    uint64_t rng[4];            /* the training generator's state, not all 0 */
    long ema_steps;             /* updates of the weight average, -1 when absent */
    double seconds;             /* training time so far; 0 when absent (older files) */
    const int64_t *order;       /* (norder) a permutation of 0..norder-1, or NULL */
    uint64_t norder;            /* 0 for an older checkpoint without the order */
} fer_modelfile_state;

enum fer_modelfile_kind {
    FER_MF_OPTIM,               /* "optim": .optim */
    FER_MF_OPTIM_M,             /* "optim.<param>.m": .param, .values */
    FER_MF_OPTIM_V,             /* "optim.<param>.v": .param, .values */
    FER_MF_STATE,               /* "trainstate": .state */
    FER_MF_BEST,                /* "best.<param>": .param, .values */
    FER_MF_EMA,                 /* "ema.<param>": .param, .values */
};

/* One record of a checkpoint's training state, valid until the next call
 * to fer_modelfile_next or fer_modelfile_close. */
typedef struct fer_modelfile_item {
    int kind;                   /* enum fer_modelfile_kind */
    int param;                  /* index of the bound net's parameter, or -1 */
    const float *values;        /* (n) of that parameter, finite, or NULL */
    const fer_modelfile_optim *optim;   /* FER_MF_OPTIM, else NULL */
    const fer_modelfile_state *state;   /* FER_MF_STATE, else NULL */
} fer_modelfile_item;

typedef struct fer_modelfile fer_modelfile;

/* Opens path ("-" = stdin) and reads its first record, which must be a
 * model record with a valid meta text. NULL with fer_error() set. */
fer_modelfile *fer_modelfile_open(const char *path);
void fer_modelfile_close(fer_modelfile *mf);

/* The file's name in messages ("<stdin>" for "-"), and the model record's
 * meta, valid until fer_modelfile_close. */
const char *fer_modelfile_name(const fer_modelfile *mf);
const fer_modelfile_meta *fer_modelfile_model(const fer_modelfile *mf);

/* How a bound net takes the parameter records. */
enum fer_modelfile_bind_mode {
    FER_MF_EXACT,               /* every record a parameter of the net with its
                                 * shape, every parameter present once */
    FER_MF_TRANSFER,            /* records of other names or shapes are skipped,
                                 * absent parameters keep their values; the
                                 * training state is skipped whole */
};

/* Binds net (built for this file, or to be filled from it): from now on
 * fer_modelfile_next writes parameter records into it. Once, before the
 * first fer_modelfile_next. 0 or -1 (out of memory). */
int fer_modelfile_bind(fer_modelfile *mf, fer_net *net, int mode);

/* Reads the next record. A parameter is copied into the bound net and
 * the next record read; a training-state record is handed back in *it.
 * Returns 1 with *it filled, 0 at the end of a complete file, -1 on
 * error (the net's values are then partly the file's). */
int fer_modelfile_next(fer_modelfile *mf, fer_modelfile_item *it);

/* FER_MF_TRANSFER: parameter records copied and skipped so far. */
void fer_modelfile_counts(const fer_modelfile *mf, int *copied, int *skipped);

/* Whether a record of kind (FER_MF_OPTIM_M ...) for parameter i has been
 * read: for callers that check a group is complete. */
int fer_modelfile_seen(const fer_modelfile *mf, int kind, int i);

#endif
