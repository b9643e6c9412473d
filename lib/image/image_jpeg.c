/* image_jpeg.c: JPEG decoding from memory and encoding with libjpeg(-turbo).
 *
 * libjpeg's error_exit must not return: ours formats the message and
 * longjmps back to the call, which destroys the codec. Its warnings
 * ("Premature end of JPEG file", corrupt data) are errors here too: a
 * damaged photo must not pass as a good one with grey blocks in it.
 * Decoding uses the library defaults (islow IDCT, fancy upsampling), the
 * settings OpenCV's imread uses, so pixels agree with it. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

#include "error.h"
#include "image.h"
#include "image_codec.h"

struct jerr {
    struct jpeg_error_mgr mgr;      /* first: libjpeg sees only this */
    jmp_buf jb;
    const char *name;
};

static void set_msg(j_common_ptr cinfo)
{
    struct jerr *e = (struct jerr *)cinfo->err;
    char buf[JMSG_LENGTH_MAX];
    if (e->mgr.msg_code == JWRN_JPEG_EOF) {
        fer_seterr("%s: truncated JPEG data", e->name);
        return;
    }
    e->mgr.format_message(cinfo, buf);
    fer_seterr("%s: %s", e->name, buf);
}

static void on_error_exit(j_common_ptr cinfo)
{
    set_msg(cinfo);
    longjmp(((struct jerr *)cinfo->err)->jb, 1);
}

/* level -1 is a warning (made an error); 0.. are trace messages. */
static void on_emit(j_common_ptr cinfo, int level)
{
    if (level < 0)
        on_error_exit(cinfo);
}

static void init_err(struct jerr *e, const char *name)
{
    jpeg_std_error(&e->mgr);
    e->mgr.error_exit = on_error_exit;
    e->mgr.emit_message = on_emit;
    e->name = name;
}

int fer_image_decode_jpeg(const uint8_t *buf, size_t n, const char *name, fer_image *im)
{
    struct jpeg_decompress_struct cinfo;
    struct jerr e;
    int c;

    memset(im, 0, sizeof *im);
    init_err(&e, name);
    cinfo.err = &e.mgr;
    if (setjmp(e.jb)) {
        /* the message was set by on_error_exit */
        fer_image_free(im);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, buf, (unsigned long)n);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&cinfo);
        return fer_seterr("%s: %s JPEG not supported", name,
                          cinfo.jpeg_color_space == JCS_CMYK ? "CMYK" : "YCCK");
    }
    if (fer_image_check_dims(name, cinfo.image_width, cinfo.image_height) < 0) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    if (cinfo.num_components == 1) {
        cinfo.out_color_space = JCS_GRAYSCALE;
        c = 1;
    } else if (cinfo.num_components == 3) {
        cinfo.out_color_space = JCS_RGB;
        c = 3;
    } else {
        int k = cinfo.num_components;
        jpeg_destroy_decompress(&cinfo);
        return fer_seterr("%s: JPEG with %d components not supported", name, k);
    }
    jpeg_start_decompress(&cinfo);
    if ((int)cinfo.output_components != c) {
        jpeg_destroy_decompress(&cinfo);
        return fer_seterr("%s: unexpected JPEG output layout", name);
    }
    if (fer_image_alloc(im, (int)cinfo.output_width, (int)cinfo.output_height, c) < 0) {
        jpeg_destroy_decompress(&cinfo);
        return fer_error_prefix("%s", name);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = im->px + (size_t)cinfo.output_scanline * im->w * c;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

int fer_image_write_jpeg_file(FILE *f, const fer_image *im, int quality)
{
    struct jpeg_compress_struct cinfo;
    struct jerr e;

    if (fer_image_check(im, "JPEG") < 0)
        return -1;
    if (quality < 1 || quality > 100)
        return fer_seterr("JPEG: quality %d not in 1..100", quality);
    init_err(&e, "JPEG");
    cinfo.err = &e.mgr;
    if (setjmp(e.jb)) {
        jpeg_destroy_compress(&cinfo);
        return -1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = (JDIMENSION)im->w;
    cinfo.image_height = (JDIMENSION)im->h;
    cinfo.input_components = im->c;
    cinfo.in_color_space = im->c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = im->px + (size_t)cinfo.next_scanline * im->w * im->c;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    if (ferror(f))
        return fer_seterr("JPEG: write error");
    return 0;
}
