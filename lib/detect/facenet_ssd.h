/* facenet_ssd.h: face-api.js's SSD MobileNetV1 face detector (the
 * weights of npm @vladmandic/face-api, converted by `make models`), run
 * the way face-api's SsdMobilenetv1.locateFaces runs it, so that the boxes
 * match the original runtime's:
 *
 *  - the photo (or one region of it) is padded to a square with zeros
 *    right or below, and resized to 512 x 512 with TensorFlow's bilinear
 *    resize (no corner alignment, no half-pixel centres: the sample of
 *    output row r is input row r * side / 512), then scaled to [-1, 1]
 *    (v / 127.5 - 1); a gray photo is taken as R = G = B;
 *  - MobileNetV1: a 3x3 stride-2 convolution, then 13 depthwise 3x3 +
 *    pointwise pairs (stride 2 at pairs 2, 4, 6 and 12), TensorFlow "same"
 *    padding, batch norm folded in (eps 0.001), ReLU6 after each; then
 *    eight SSD layers (1x1 and 3x3 stride 2, ReLU6);
 *  - six box predictors (1x1 convolutions) on the outputs of pair 11 (32 x
 *    32 cells, 3 anchors each), pair 13 (16 x 16, 6) and the SSD layers
 *    1, 3, 5, 7 (8 x 8 down to 1 x 1, 6 each): 5118 anchors, a fixed table
 *    in the weights;
 *  - decoding (fer_ssd_decode), the score sigmoid(class 1 logit), and
 *    fer_nms (nms.h) with IoU 0.5, at most 100 boxes.
 *
 * A fer_ssd keeps its working memory (about 60 MB once it has run):
 * use one from one thread at a time; the convolutions themselves use the
 * thread pool (threads.h). */
#ifndef FER_FACENET_SSD_H
#define FER_FACENET_SSD_H

#include "image.h"
#include "nms.h"

#define FER_SSD_SIDE 512        /* the net's input, pixels a side */
#define FER_SSD_ANCHORS 5118
#define FER_SSD_MAX_OUT 100     /* boxes kept per net run, as face-api */

typedef struct fer_ssd fer_ssd;

/* Loads a model file made by scripts/tfjs2fer.py (arch=ssd_mobilenetv1,
 * tfjs2fer=1): every tensor is looked up by its TensorFlow name and its
 * shape checked. Returns NULL with fer_error() naming the file and what
 * is wrong (missing, not a fer file, another arch or converter version, a
 * missing tensor, a tensor of the wrong shape, out of memory). */
fer_ssd *fer_ssd_load(const char *path);
void fer_ssd_free(fer_ssd *m);

/* SSD box decoding as TensorFlow's object detection API (and face-api's
 * outputLayer): anchor a = (y0, x0, y1, x1), encoding t = (ty, tx, th,
 * tw); with h = y1 - y0, w = x1 - x0, centre (cy, cx):
 *   centre' = (cy + ty/10 h, cx + tx/10 w), size' = (h e^(th/5), w e^(tw/5)),
 * returned as corners (score left 0). anchors and enc are (n, 4). */
void fer_ssd_decode(const float *anchors, const float *enc, int n, fer_box *out);

/* The net once on the region (x, y, w, h) of im (1 or 3 channels; the
 * region inside the image): the faces scoring above min_score, at most
 * FER_SSD_MAX_OUT, best first, in pixels of im ((x0, y0) the top-left
 * corner), clipped as face-api clips them, to the padded square (which
 * reaches past the region's right or bottom edge when the region is not
 * square), and scaled to pixels as face-api scales them: across by
 * 512 / round(w * 512 / side) times w, down likewise with h. *out is
 * malloc'd (NULL when none). Returns the count, or -1 with fer_error()
 * set. */
int fer_ssd_run(fer_ssd *m, const fer_image *im, int x, int y, int w, int h, float min_score,
                fer_box **out);

/* Whole photo and tiles (fer_ssd_detect). */
typedef struct fer_ssd_opts {
    float min_score;    /* faces scoring above this; face-api's default 0.5 */
    int tile;           /* smallest tile side in pixels, 0 = whole photo only */
    double overlap;     /* fraction of a tile shared with the next, 0 .. 0.75 */
} fer_ssd_opts;

/* min_score 0.5, tiles from FER_SSD_TILE_AUTO, overlap 0.25. */
void fer_ssd_defaults(fer_ssd_opts *o);

/* The smallest tile side by default: a tile is resized to the net's 512
 * pixels, so a 20-pixel face in a 320-pixel tile is 32 pixels in the net,
 * the size from which the net finds every face on the shared photos when
 * it sees them whole (between 8 and 32 it finds about half; its smallest
 * anchors are 51 pixels). Measured against 200, 256 and 400 in
 * bench/README.md. */
#define FER_SSD_TILE_AUTO 320

/* The default minimum score with tiles: they show the net each face
 * several times and far more background than the whole photo does, so
 * boxes scoring 0.5 to 0.9 there are mostly not faces (bench/README.md
 * has the measurement). face-api's own default, 0.5, suits the whole
 * photo alone. */
#define FER_SSD_TILED_SCORE 0.9f

/* The net on the whole photo and, when o->tile > 0, on overlapping
 * tiles (tiles.h: sides tile, 2 tile, 4 tile, ... below the photo's
 * longer side), merged: a tile's box touching a tile edge inside the
 * photo is dropped (the face is cut; a neighbour holds it whole), the
 * rest go through fer_nms at IoU 0.5, best first. *out is malloc'd (NULL
 * when none); returns the count, or -1 with fer_error() set. */
int fer_ssd_detect(fer_ssd *m, const fer_image *im, const fer_ssd_opts *o, fer_box **out);

/* Looks for NAME (ssd_mobilenetv1.fer) where `make models` puts it:
 * $FER_MODELS/, then models/ in the working folder, then models/ two
 * folders above the running program (the repository, for BUILD/bin/).
 * Copies the first that exists into buf and returns 0; -1 with fer_error()
 * set ("NAME: not found ...") when none does. */
int fer_ssd_find(const char *name, char *buf, size_t n);

#endif
