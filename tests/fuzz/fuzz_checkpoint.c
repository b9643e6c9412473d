/* fuzz_checkpoint: checkpoints (train.c) as fer-train --resume reads them:
 * a model file, the optimiser's state, the "trainstate" record and the
 * best weights. The input resumes a tiny ff (width 0.01, 1x8x8, 4 images)
 * for at most one epoch, as make fuzz's seeds were trained. */
#include "fuzz.h"   /* first: it asks for memfd_create */

#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "model.h"
#include "train.h"

#define NIMG 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char path[64];
    fer_model m;
    fer_model_opts mo;
    fer_dataset d;
    fer_train_opts to;
    fer_train_result res;
    uint8_t px[64];
    int fd = fuzz_file(data, n, path, sizeof path);
    if (fd < 0)
        return 0;
    fer_model_defaults("ff", &mo);
    mo.width = 0.01;
    mo.c = 1;
    mo.h = mo.w = 8;
    if (fer_model_build(&m, "ff", &mo, NULL))
        abort();
    fer_dataset_init(&d, 1, 8, 8);
    for (int i = 0; i < NIMG; i++) {
        for (int j = 0; j < 64; j++)
            px[j] = (uint8_t)(i * 37 + j * 11);
        if (fer_dataset_push(&d, px, i, FER_TRAINING))
            abort();
    }
    fer_train_defaults(&to);
    to.epochs = 1;
    to.batch = 2;
    to.resume = path;
    (void)fer_train(&m, &d, NULL, &to, &res);
    fer_dataset_free(&d);
    fer_model_free(&m);
    close(fd);
    return 0;
}
