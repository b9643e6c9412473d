/* image_png.c: PNG decoding from memory and encoding with libpng.
 *
 * libpng reports errors through a callback that must not return: ours
 * records the message and longjmps back to the call, which frees what it
 * had allocated. Warnings (e.g. a known-bad sRGB profile) do not fail a
 * read, as libpng itself treats them as harmless; the last one is kept to
 * explain an invalid IHDR (libpng warns about each field, then fails). */
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "image.h"
#include "image_codec.h"

struct pngsrc {
    const uint8_t *p;
    size_t n, pos;
    const char *name;       /* for messages; "PNG" when writing to a FILE */
    char warn[160];         /* the last warning, to explain a bad IHDR */
};

static void on_error(png_structp png, png_const_charp msg)
{
    struct pngsrc *s = png_get_error_ptr(png);
    if (s->warn[0] && strstr(msg, "IHDR"))
        fer_seterr("%s: %s (%s)", s->name, msg, s->warn);
    else
        fer_seterr("%s: %s", s->name, msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    struct pngsrc *s = png_get_error_ptr(png);
    snprintf(s->warn, sizeof s->warn, "%s", msg);
}

static void read_mem(png_structp png, png_bytep out, png_size_t len)
{
    struct pngsrc *s = png_get_io_ptr(png);
    if (len > s->n - s->pos)
        png_error(png, "truncated PNG data");
    memcpy(out, s->p + s->pos, len);
    s->pos += len;
}

int fer_image_decode_png(const uint8_t *buf, size_t n, const char *name, fer_image *im)
{
    struct pngsrc src = {buf, n, 0, name, ""};
    png_structp png;
    png_infop info = NULL;
    png_bytep *volatile rows = NULL;
    png_uint_32 w, h;
    int depth, ctype, c;

    memset(im, 0, sizeof *im);
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, on_error, on_warning);
    if (!png || !(info = png_create_info_struct(png))) {
        png_destroy_read_struct(&png, NULL, NULL);
        return fer_seterr("%s: out of memory", name);
    }
    if (setjmp(png_jmpbuf(png))) {
        /* the message was set by on_error */
        free(rows);
        fer_image_free(im);
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    png_set_read_fn(png, &src, read_mem);
    png_read_info(png, info);
    png_get_IHDR(png, info, &w, &h, &depth, &ctype, NULL, NULL, NULL);
    if (fer_image_check_dims(name, w, h) < 0) {
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    /* Everything becomes 8-bit gray or RGB: palettes and low-depth gray are
     * expanded (tRNS is not turned into alpha), 16 bits keep the high byte,
     * alpha is dropped. */
    if (ctype == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16)
        png_set_strip_16(png);
    if (ctype & PNG_COLOR_MASK_ALPHA)
        png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    c = png_get_channels(png, info);
    if ((c != 1 && c != 3) || png_get_rowbytes(png, info) != (size_t)w * c) {
        png_destroy_read_struct(&png, &info, NULL);
        return fer_seterr("%s: unsupported PNG layout (type %d, depth %d)", name, ctype, depth);
    }
    if (fer_image_alloc(im, (int)w, (int)h, c) < 0) {
        png_destroy_read_struct(&png, &info, NULL);
        return fer_error_prefix("%s", name);
    }
    rows = malloc(h * sizeof *rows);
    if (!rows) {
        fer_image_free(im);
        png_destroy_read_struct(&png, &info, NULL);
        return fer_seterr("%s: out of memory", name);
    }
    for (png_uint_32 y = 0; y < h; y++)
        rows[y] = im->px + (size_t)y * w * c;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
}

int fer_image_write_png_file(FILE *f, const fer_image *im)
{
    struct pngsrc dst = {NULL, 0, 0, "PNG", ""};
    png_structp png;
    png_infop info = NULL;

    if (fer_image_check(im, "PNG") < 0)
        return -1;
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &dst, on_error, on_warning);
    if (!png || !(info = png_create_info_struct(png))) {
        png_destroy_write_struct(&png, NULL);
        return fer_seterr("PNG: out of memory");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, im->w, im->h, 8,
                 im->c == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < im->h; y++)
        png_write_row(png, im->px + (size_t)y * im->w * im->c);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    if (ferror(f))
        return fer_seterr("PNG: write error");
    return 0;
}
