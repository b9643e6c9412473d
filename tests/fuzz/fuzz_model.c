/* fuzz_model: model files (model.h) as fer-eval and fer-classify load
 * them; a model that loads is written and loaded back. */
#include "fuzz.h"   /* first: it asks for memfd_create */

#include <stdlib.h>
#include <string.h>

#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char path[64];
    fer_model m, b;
    int fd = fuzz_file(data, n, path, sizeof path);
    if (fd < 0)
        return 0;
    if (fer_model_load(&m, path) == 0) {
        char *buf = NULL;
        size_t len = 0;
        FILE *w = open_memstream(&buf, &len);
        if (w && fer_model_write(&m, w) == 0) {
            fclose(w);
            w = NULL;
            int fd2 = fuzz_file((const uint8_t *)buf, len, path, sizeof path);
            if (fd2 >= 0) {
                if (fer_model_load(&b, path) || strcmp(b.arch, m.arch) ||
                    b.nclasses != m.nclasses)
                    abort();
                fer_model_free(&b);
                close(fd2);
            }
        }
        if (w)
            fclose(w);
        free(buf);
        fer_model_free(&m);
    }
    close(fd);
    return 0;
}
