/* tfmodel_test.h: model files for the detector tests (test_facenet_ssd.c,
 * test_facenet_blaze.c), written into a test's temporary folder dir,
 * which the including file defines before this header. A header of
 * static functions, because the Makefile links each test from its one .c
 * file. */
#ifndef FER_TFMODEL_TEST_H
#define FER_TFMODEL_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "record.h"

/* name's path in dir (a static buffer: one at a time) */
static const char *path_of(const char *name)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", dir, name);
    return buf;
}

/* Writes a model file: the model record with meta, then one f32 tensor
 * (name, shape of nd dims, all values v) when tname is not NULL. */
static void write_model(const char *file, const char *meta, const char *tname, int nd,
                        const uint64_t *shape, float v)
{
    FILE *f = fopen(path_of(file), "wb");
    uint64_t zero = 0, n = 1;
    fer_record r;
    fer_record_init(&r, "model", FER_U8, 1, &zero, NULL, meta);
    fer_record_write(f, &r);
    if (tname) {
        float *d;
        for (int i = 0; i < nd; i++)
            n *= shape[i];
        d = malloc(sizeof *d * n);
        for (uint64_t i = 0; i < n; i++)
            d[i] = v;
        fer_record_init(&r, tname, FER_F32, nd, shape, d, NULL);
        fer_record_write(f, &r);
        free(d);
    }
    fclose(f);
}

#endif
