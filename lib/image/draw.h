/* draw.h: boxes and labels on images, for annotated photos.
 *
 * Every function draws on a fer_image (image.h) of 1 or 3 channels and
 * clips at its borders: coordinates may be negative or lie past the edges
 * (any int), and only the pixels inside the image change. On a gray image
 * a colour is drawn as its gray value (the BT.601 weights of
 * fer_image_to_gray). Nothing allocates except fer_draw_rgb. */
#ifndef FER_DRAW_H
#define FER_DRAW_H

#include <stdint.h>

#include "image.h"

typedef struct fer_colour {
    uint8_t r, g, b;
} fer_colour;

/* The emotion palette: seven colours, far apart from one another, one per
 * FER2013 class in fer_fer2013_classes order (angry red, disgust green,
 * fear purple, happy yellow, sad blue, surprise orange, neutral cyan). An
 * index k outside 0..6 wraps around (k mod 7, negative k as well). */
#define FER_DRAW_NCOLOURS 7
fer_colour fer_draw_colour(int k);

/* Black or white, whichever reads better on c (by its luminance). */
fer_colour fer_draw_contrast(fer_colour c);

/* Copies in into out (allocated here) as RGB, so that colours show on a
 * gray photo; an RGB image is copied. 0 or -1 (out of memory; out zeroed). */
int fer_draw_rgb(const fer_image *in, fer_image *out);

/* Fills the rectangle of w x h pixels with its top-left corner at (x, y).
 * Nothing happens when w or h <= 0. */
void fer_draw_fill(fer_image *im, int x, int y, int w, int h, fer_colour c);

/* The outline of that rectangle, thick pixels wide inside it (thick >= 1;
 * a rectangle thinner than 2 * thick is filled). */
void fer_draw_rect(fer_image *im, int x, int y, int w, int h, int thick, fer_colour c);

/* Draws the ink of s (one line; bytes outside 32..126 as '?') with the
 * top-left of its first cell at (x, y), each font pixel a scale x scale
 * square (scale >= 1; less is taken as 1). The background is left as it
 * is. Returns the width, fer_font_text_width(s, scale). */
long fer_draw_text(fer_image *im, int x, int y, const char *s, int scale, fer_colour fg);

/* Size of the box fer_draw_label draws: the text's width plus one blank
 * font column on the left, and FER_FONT_HEIGHT + 2 font rows high (one blank
 * row above the glyphs and one below). */
void fer_draw_label_size(const char *s, int scale, long *w, long *h);

/* Text in fg on a filled box of bg, the box's top-left corner at (x, y). */
void fer_draw_label(fer_image *im, int x, int y, const char *s, int scale, fer_colour fg,
                    fer_colour bg);

/* A detected face as a person wants to see it: the box (x, y, w, h) in c,
 * its thickness and the text's scale growing with the box's size, and the
 * label in a box of c (text black or white by contrast) just above the
 * box, or inside its top-left corner when there is no room above; moved
 * left when it would run past the right border. */
void fer_draw_face(fer_image *im, int x, int y, int w, int h, const char *label, fer_colour c);

/* The thickness and text scale fer_draw_face uses for a w x h box. */
void fer_draw_face_style(int w, int h, int *thick, int *scale);

#endif
