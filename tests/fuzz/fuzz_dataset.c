/* fuzz_dataset: fer data sets (dataset.h) as fer-convert, fer-train and
 * fer-eval read them; a set that reads is written and read back the
 * same. */
#include "fuzz.h"   /* first: it asks for memfd_create */

#include <stdlib.h>
#include <string.h>

#include "dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    FILE *f = fuzz_stream(data, n);
    fer_dataset d, e;
    char *buf = NULL;
    size_t len = 0;
    if (!f)
        return 0;
    if (fer_dataset_read_file(f, "fuzz.fer", &d)) {
        fclose(f);
        return 0;
    }
    fclose(f);
    FILE *w = open_memstream(&buf, &len);
    if (w && fer_dataset_write(w, &d) == 0) {
        fclose(w);
        w = NULL;
        if (len && (f = fmemopen(buf, len, "r"))) {
            if (fer_dataset_read_file(f, "copy", &e))
                abort();
            if (e.n != d.n || e.c != d.c || e.h != d.h || e.w != d.w ||
                e.nclasses != d.nclasses ||
                fer_dataset_checksum(&e) != fer_dataset_checksum(&d) ||
                (d.n && memcmp(e.usage, d.usage, d.n)))
                abort();
            fer_dataset_free(&e);
            fclose(f);
        }
    }
    if (w)
        fclose(w);
    free(buf);
    fer_dataset_filter_usage(&d, 1u << FER_TRAINING | 1u << FER_PRIVATETEST);
    fer_dataset_free(&d);
    return 0;
}
