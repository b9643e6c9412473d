/* fuzz_record: fer records and streams (record.h): every header, payloads
 * read or skipped in turn, and each record read whole written back and
 * read again the same. */
#include "fuzz.h"   /* first: it asks for memfd_create */

#include <stdlib.h>
#include <string.h>

#include "record.h"

/* Writes r to memory and reads it back: the same name, dtype, shape,
 * meta and payload, or abort. */
static void round_trip(const fer_record *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *w = open_memstream(&buf, &len);
    fer_reader *rd;
    fer_record b;
    if (!w)
        return;
    if (fer_record_write(w, r)) {
        fclose(w);
        free(buf);
        return;
    }
    fclose(w);
    FILE *f = fmemopen(buf, len, "r");
    if (f && (rd = fer_reader_from(f, "copy"))) {
        if (fer_reader_head(rd, &b) != 1 || fer_reader_data(rd, &b) != 0)
            abort();
        if (strcmp(b.name, r->name) || b.dtype != r->dtype || b.ndim != r->ndim ||
            b.nbytes != r->nbytes || memcmp(b.shape, r->shape, sizeof b.shape) ||
            (r->nbytes && memcmp(b.data, r->data, r->nbytes)) ||
            strcmp(b.meta ? b.meta : "", r->meta ? r->meta : ""))
            abort();
        fer_record_free(&b);
        fer_reader_close(rd);
    }
    if (f)
        fclose(f);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    FILE *f = fuzz_stream(data, n);
    fer_reader *rd;
    fer_record r;
    if (!f)
        return 0;
    if ((rd = fer_reader_from(f, "fuzz.fer"))) {
        fer_reader_expect(rd, "fer data set");
        for (long i = 0; fer_reader_head(rd, &r) == 1; i++) {
            (void)fer_record_count(&r);
            (void)fer_dtype_name(r.dtype);
            (void)fer_reader_index(rd);
            (void)fer_reader_offset(rd);
            if (i % 3 == 2) {
                int k = fer_reader_skip(rd, &r);
                fer_record_free(&r);
                if (k)
                    break;
                continue;
            }
            if (fer_reader_data(rd, &r)) {
                fer_record_free(&r);
                break;
            }
            if (fer_dtype_size(r.dtype) && r.nbytes == fer_record_count(&r) *
                                                           fer_dtype_size(r.dtype))
                round_trip(&r);
            fer_record_free(&r);
        }
        fer_reader_close(rd);
    }
    fclose(f);

    /* fer_reader_next: records of unknown dtype skipped */
    if (!(f = fuzz_stream(data, n)))
        return 0;
    if ((rd = fer_reader_from(f, "fuzz.fer"))) {
        while (fer_reader_next(rd, &r) == 1)
            fer_record_free(&r);
        fer_reader_close(rd);
    }
    fclose(f);
    return 0;
}
