/* fuzz_ssd: the neural face detector's weights file (facenet_ssd.h) as
 * fer-detect --detector ssd loads it: fer records whose meta names the
 * net and converter, every tensor looked up and its shape checked. (The
 * net is not run: one pass takes 90 ms.) */
#include "fuzz.h"   /* first: it asks for memfd_create */

#include "facenet_ssd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char path[64];
    fer_ssd *m;
    int fd = fuzz_file(data, n, path, sizeof path);
    if (fd < 0)
        return 0;
    if ((m = fer_ssd_load(path)))
        fer_ssd_free(m);
    close(fd);
    return 0;
}
