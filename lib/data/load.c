/* load.c: fer stream or CSV, chosen by the first byte. */
#include <errno.h>
#include <string.h>

#include "csv.h"
#include "error.h"
#include "load.h"

int fer_load_dataset(const char *path, fer_dataset *d)
{
    int stdin_ = !strcmp(path, "-"), ch, rc;
    const char *name = stdin_ ? "<stdin>" : path;
    FILE *f = stdin_ ? stdin : fopen(path, "rb");
    if (!f)
        return fer_seterr("%s: %s", path, strerror(errno));
    ch = getc(f);
    if (ch == EOF) {
        if (!stdin_)
            fclose(f);
        fer_dataset_init(d, 1, 48, 48);
        return fer_seterr("%s: empty input", name);
    }
    ungetc(ch, f);
    if (ch == 0xff) {   /* never text: a JPEG (0xff 0xd8 0xff) */
        if (!stdin_)
            fclose(f);
        fer_dataset_init(d, 1, 48, 48);
        return fer_seterr("%s: a JPEG image, not a fer data set or CSV", name);
    }
    if (ch == 0x89)
        rc = fer_dataset_read_file(f, name, d);
    else
        rc = fer_csv_read_file(f, name, d, NULL, NULL);
    if (!stdin_)
        fclose(f);
    return rc;
}
