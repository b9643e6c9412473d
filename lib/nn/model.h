/* model.h: the study's three architectures (cnn also deeper), and model files.
 *
 * A model file is a fer stream: first a record named "model" (u8, shape
 * (0), no payload) whose meta text carries the architecture and everything
 * needed to use the model, one key a line:
 *   format=fer-model
 *   model_version=1                        (the oldest version that reads it)
 *   arch=cnn|ff|resnet18
 *   width=1  dropout=0.25  dropout2=0.5    (architecture options)
 *   stages=4                               (cnn, only when not 3: version 2)
 *   bn_eps=1e-05  bn_momentum=0.1          (batch norm; taken as these when
 *                                           absent; others need version 3)
 *   input=1,48,48
 *   mean=0.5  std=0.25                     (x = (pixel/255 - mean) / std;
 *                                           fer_model_build's values)
 *   classes=angry,disgust,...
 *   train.*=...                            (the training record, free form)
 * then one f32 record per parameter and buffer, named as PyTorch's
 * state_dict would name it ("conv1.weight", "layer1.0.bn1.running_var").
 * modelfile.h reads these files (and checkpoints, which add the training
 * state) and says what it refuses. */
#ifndef FER_MODEL_H
#define FER_MODEL_H

#include <stdint.h>

#include "dataset.h"
#include "net.h"

/* The newest version this fer reads. A file says the oldest version that
 * reads it: 1; 2 for a cnn of other than 3 stages (the stages key); 3 for
 * batch-norm settings other than 1e-5 and 0.1 (older fers ignore the keys
 * and would use those). */
#define FER_MODEL_VERSION 3
/* cnn: pool blocks; 48x48 faces are 3x3 after 4 */
#define FER_CNN_STAGES_MAX 5

typedef struct fer_model_opts {
    double width;           /* channel multiplier for cnn (1 = 64..256) */
    double dropout;         /* cnn: after each pool block (0.25); ff: between layers (0.2) */
    double dropout2;        /* cnn: before the last dense (0.5) */
    int stages;             /* cnn: conv pairs each ending in a max pool: 3 (the
                               study's), 4 adds 512 channels at width 1 */
    int nclasses;
    int c, h, w;            /* input */
    double bn_eps;          /* batch norm: added to the variance (1e-5) */
    double bn_momentum;     /* batch norm: the weight of a batch in the running
                               statistics (0.1, PyTorch's convention) */
} fer_model_opts;

typedef struct fer_model {
    fer_net *net;
    char arch[32];
    fer_model_opts opts;
    double mean, std;
    int nclasses;
    char classes[FER_CLASSES_MAX][FER_CLASS_NAME_MAX];
    char *train_meta;       /* "train.k=v\n" lines, malloc'd, or NULL */
} fer_model;

/* Default options for an architecture (width 1, its dropouts, 7 classes,
 * 1x48x48, batch norm's 1e-5 and 0.1). Returns -1 for an unknown name. */
int fer_model_defaults(const char *arch, fer_model_opts *o);

/* Builds the net of arch with options o; weights initialised from rng (He
 * for cnn/resnet18, Xavier for ff). Class names are FER2013's; mean 0.5,
 * std 0.25. 0 or -1; an input outside C 1..4, H and W 8..1024, a bn_eps
 * outside [1e-12, 1] or a bn_momentum outside [0, 1] (what a model file
 * may hold) is refused. */
int fer_model_build(fer_model *m, const char *arch, const fer_model_opts *o, fer_rng *rng);
void fer_model_free(fer_model *m);

/* Writes the model (see above) through a temp file renamed into place. */
int fer_model_save(const fer_model *m, const char *path);
/* Writes to an open stream. */
int fer_model_write(const fer_model *m, FILE *f);

/* Reads a model file (or a checkpoint's model; path "-" is stdin, read
 * once): builds the net its meta names and fills every parameter. All
 * that modelfile.h refuses (a truncated file, a newer model_version, an
 * unknown key or record, a missing or misshapen tensor, a NaN or an
 * infinity): -1 with a message. */
int fer_model_load(fer_model *m, const char *path);

/* Copies from a model file every tensor whose name and shape match one of
 * m's (transfer learning). Stores the number copied and skipped. 0 or -1;
 * the file must be a model file modelfile.h takes, but for its tensors'
 * names and shapes. */
int fer_model_init_from(fer_model *m, const char *path, int *copied, int *skipped);

/* Turns n images of 8-bit pixels (n, c, h, w) into the net's input:
 * x = px scale - shift in float, with fer_model_input_scale's numbers. */
void fer_model_preprocess(const fer_model *m, const uint8_t *px, size_t n, float *x);
/* The preprocessing's two floats: scale 1 / (255 std), shift mean / std. */
void fer_model_input_scale(const fer_model *m, float *scale, float *shift);

/* Appends "key=value\n" to the training record. 0 or -1. */
int fer_model_note(fer_model *m, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
