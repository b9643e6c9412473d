/* tfweights.c: reading a tfjs2fer model file (tfweights.h). */
#include "tfweights.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "parse.h"

void fer_tfweights_free(fer_tfweights *t)
{
    for (int i = 0; i < t->n; i++)
        fer_record_free(&t->r[i]);
    free(t->r);
    t->r = NULL;
    t->n = 0;
}

/* The model record: arch and converter version. 0 or -1. */
static int check_head(const char *path, const char *arch, fer_record *r)
{
    char v[64];
    if (strcmp(r->name, "model") || !r->meta)
        return fer_seterr("%s: starts with a record '%s', not a fer model", path, r->name);
    if (fer_parse_meta(r->meta, "arch", v, sizeof v) < 0 || strcmp(v, arch))
        return fer_seterr("%s: a model of arch '%s', not the %s face detector", path,
                          fer_parse_meta(r->meta, "arch", v, sizeof v) < 0 ? "(none)" : v,
                          arch);
    if (fer_parse_meta(r->meta, "tfjs2fer", v, sizeof v) < 0 || strcmp(v, "1"))
        return fer_seterr("%s: converter version '%s', this fer reads 1 (make models again)",
                          path, fer_parse_meta(r->meta, "tfjs2fer", v, sizeof v) < 0 ? "(none)"
                                                                                     : v);
    return 0;
}

int fer_tfweights_read(const char *path, const char *arch, const char *what, fer_tfweights *t)
{
    fer_reader *rd = fer_reader_open(path);
    fer_record r;
    int k, cap = 0;
    *t = (fer_tfweights){NULL, 0, path, what};
    if (!rd)
        return -1;
    fer_reader_expect(rd, "fer model");
    if ((k = fer_reader_next(rd, &r)) <= 0) {
        if (k == 0)
            fer_seterr("%s: empty file, not a fer model", path);
        fer_reader_close(rd);
        return -1;
    }
    if (check_head(path, arch, &r) < 0)
        goto bad;
    fer_record_free(&r);
    while ((k = fer_reader_next(rd, &r)) > 0) {
        if (r.dtype != FER_F32) {
            fer_record_free(&r);
            continue;
        }
        for (uint64_t i = 0, n = fer_record_count(&r); i < n; i++)
            if (!isfinite(((const float *)r.data)[i])) {
                fer_seterr("%s: tensor %s holds a value that is not finite", path, r.name);
                goto bad;
            }
        if (t->n == cap) {
            fer_record *g = realloc(t->r, sizeof *g * (size_t)(cap = cap ? 2 * cap : 64));
            if (!g) {
                fer_seterr("%s: out of memory", path);
                goto bad;
            }
            t->r = g;
        }
        t->r[t->n++] = r;
    }
    fer_reader_close(rd);
    if (k < 0)
        fer_tfweights_free(t);
    return k;
bad:
    fer_record_free(&r);
    fer_reader_close(rd);
    fer_tfweights_free(t);
    return -1;
}

const float *fer_tfweights_find(const fer_tfweights *t, const char *name, int nd,
                                const int *shape)
{
    for (int i = 0; i < t->n; i++) {
        const fer_record *r = &t->r[i];
        char got[128] = "", exp[128] = "";
        int ok, g = 0, e = 0;
        if (strcmp(r->name, name))
            continue;
        ok = r->ndim == nd;
        for (int d = 0; ok && d < nd; d++)
            ok = r->shape[d] == (uint64_t)shape[d];
        if (ok)
            return r->data;
        for (int d = 0; d < r->ndim && g < 100; d++)
            g += snprintf(got + g, sizeof got - g, "%s%llu", d ? "," : "",
                          (unsigned long long)r->shape[d]);
        for (int d = 0; d < nd && e < 100; d++)
            e += snprintf(exp + e, sizeof exp - e, "%s%d", d ? "," : "", shape[d]);
        fer_seterr("%s: tensor %s is (%s), expected (%s)", t->path, name, got, exp);
        return NULL;
    }
    fer_seterr("%s: no tensor %s (not %s weights)", t->path, name, t->what);
    return NULL;
}
