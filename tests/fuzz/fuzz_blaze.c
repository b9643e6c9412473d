/* fuzz_blaze: BlazeFace's weights file (facenet_blaze.h) as
 * fer-detect --detector blazeface loads it: fer records whose meta names the
 * net and converter, every tensor looked up and its shape checked. (The
 * net is not run: that is the tests' job.) */
#include "fuzz.h"   /* first: it asks for memfd_create */

#include "facenet_blaze.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char path[64];
    fer_blaze *m;
    int fd = fuzz_file(data, n, path, sizeof path);
    if (fd < 0)
        return 0;
    if ((m = fer_blaze_load(path)))
        fer_blaze_free(m);
    close(fd);
    return 0;
}
