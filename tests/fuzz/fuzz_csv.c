/* fuzz_csv: FER2013 CSV rows (csv.h), plain and gzip, read row by row
 * (bad rows skipped, as fer-convert --skip-bad does) and whole. */
#include "fuzz.h"   /* first: it asks for memfd_create */

#include <stdlib.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    FILE *f = fuzz_stream(data, n);
    fer_csv *r;
    uint8_t px[FER_CSV_PIXELS];
    int label, usage, k;
    if (!f)
        return 0;
    if ((r = fer_csv_from(f, "fuzz.csv"))) {
        /* each call moves past a line: at most one call per byte, and one
         * for the end */
        for (size_t i = 0; i <= n && (k = fer_csv_next(r, px, &label, &usage)) != 0 && k != -2;
             i++)
            if (k == 1 && (label < -1 || label > 6 || (usage > FER_PRIVATETEST &&
                                                       usage != FER_NOUSAGE)))
                abort();
        (void)fer_csv_line(r);
        fer_csv_close(r);
    }
    fclose(f);

    if (!(f = fuzz_stream(data, n)))
        return 0;
    {
        fer_dataset d;
        fer_csv_opts o = {0, (n & 1) != 0};
        fer_csv_stats st;
        if (fer_csv_read_file(f, "fuzz.csv", &d, &o, &st) == 0) {
            if (d.n != (size_t)st.kept || st.kept + st.bad != st.rows)
                abort();
            fer_dataset_free(&d);
        }
    }
    fclose(f);
    return 0;
}
