/* facenet_blaze.h: MediaPipe's BlazeFace face detector, the "back"
 * (long-range) model that npm @vladmandic/human 3.3.6 ships as
 * models/blazeface.json (converted by `make models`), run the way human's
 * src/face/blazeface.ts runs it, so that the boxes match the original
 * runtime's (tfjs; tests/blaze_ref.sh):
 *
 *  - the photo (or one region of it) is padded with zeros to a square,
 *    centred, the odd pixel right or below (human's `square` option,
 *    which pads floor(d / 2) on both sides and so falls a pixel short of
 *    a square when d is odd; its default stretches the photo instead,
 *    which measured no better on whole photos), resized to 256 x 256 with
 *    TensorFlow's bilinear resize (no corner alignment, no half-pixel
 *    centres), then scaled to [-1, 1] (v / 127.5 - 1); gray as R = G = B;
 *  - the graph: a 5x5 stride-2 convolution to 24 channels (ReLU), then 32
 *    blocks y = relu(pointwise(depthwise3x3(x)) + skip), TensorFlow "same"
 *    padding; skip = x, or at the stride-2 blocks 7, 15 and 23 a 2x2 max
 *    pool of x with zero channels appended up to the block's outputs
 *    (24 -> 24, 24 -> 48, 48 -> 96); block 31 (96 -> 96, stride 2) has no
 *    skip. Channels 24 (128 x 128 and 64 x 64), 48 (32 x 32), 96 (16 x 16,
 *    then 8 x 8);
 *  - heads: 1x1 convolutions on the 16 x 16 features (2 anchors a cell:
 *    1 score logit and 16 regressors each) and on the 8 x 8 ones (6
 *    anchors a cell): 896 anchors, 16 x 16 x 2 first;
 *  - decoding (fer_blaze_decode), the score sigmoid(logit), and fer_nms
 *    (nms.h) with IoU 0.3, at most 100 boxes, as human does. The boxes
 *    are the net's own: human then grows them 1.4 times and squares them
 *    for its face mesh, which fer does not run.
 *
 * A fer_blaze keeps its working memory (about 5 MB): use one from one
 * thread at a time; the convolutions use the thread pool (threads.h). */
#ifndef FER_FACENET_BLAZE_H
#define FER_FACENET_BLAZE_H

#include "image.h"
#include "nms.h"

#define FER_BLAZE_SIDE 256          /* the net's input, pixels a side */
#define FER_BLAZE_ANCHORS 896
#define FER_BLAZE_MAX_OUT 100       /* boxes kept per net run, as human */
#define FER_BLAZE_IOU 0.3           /* NMS overlap, per run and merging tiles */
#define FER_BLAZE_BLOCKS 32

typedef struct fer_blaze fer_blaze;

/* Loads a model file made by scripts/tfjs2fer.py (arch=blazeface,
 * tfjs2fer=1): every tensor is looked up by its name in the graph
 * (unknown, unknown_0, ... as the tfjs export named them) and its shape
 * checked. Returns NULL with fer_error() naming the file and what is
 * wrong (missing, not a fer file, another arch or converter version, cut
 * short, a missing tensor, a tensor of the wrong shape, out of memory). */
fer_blaze *fer_blaze_load(const char *path);
void fer_blaze_free(fer_blaze *m);

/* The layers as loaded, for tests: block i's input and output channels
 * and stride; -1 for i outside 0 .. FER_BLAZE_BLOCKS - 1. */
int fer_blaze_block(const fer_blaze *m, int i, int *cin, int *cout);

/* The anchor centres, (896, 2): (x, y) in net pixels, as human's
 * generateAnchors: cells of 16 pixels on a 16 x 16 grid, 2 anchors each,
 * then cells of 32 on 8 x 8, 6 each; row-major cells, centre
 * (stride (gx + 1/2), stride (gy + 1/2)). */
void fer_blaze_anchors(float *xy);

/* Decoding as human's blazeface.ts: raw is (896, 17) per anchor: logit,
 * then regressors r0 .. r15 (net pixels); the box has centre (anchor x +
 * r0, anchor y + r1), width r2, height r3 (r4 .. r15 are six landmarks,
 * unused), score sigmoid(logit). out: 896 boxes in net pixels. */
void fer_blaze_decode(const float *xy, const float *raw, fer_box *out);

/* The net once on the region (x, y, w, h) of im (1 or 3 channels; the
 * region inside the image): the faces scoring above min_score, at most
 * FER_BLAZE_MAX_OUT, best first, in pixels of im, not clipped (the padded
 * square reaches past the region). *out is malloc'd (NULL when none).
 * Returns the count, or -1 with fer_error() set. */
int fer_blaze_run(fer_blaze *m, const fer_image *im, int x, int y, int w, int h,
                  float min_score, fer_box **out);

/* Whole photo and tiles (fer_blaze_detect). */
typedef struct fer_blaze_opts {
    float min_score;    /* faces scoring above this */
    int tile;           /* smallest tile side in pixels, 0 = whole photo only */
    double overlap;     /* fraction of a tile shared with the next, 0 .. 0.75 */
} fer_blaze_opts;

/* The smallest tile side by default: tiles of 160, 320, 640, ... pixels
 * overlapping by a quarter, resized to the net's 256. On the shared photos
 * (faces of 20 pixels or more, IoU 0.5, bench/detect_score.py) this gave
 * recall 0.85 at precision 0.87 with the default score, against 0.57 at
 * 0.93 on whole photos only; tiles of 256 gave 0.83 / 0.90 (bench/README.md). */
#define FER_BLAZE_TILE_AUTO 160

/* The default minimum score, with and without tiles: measured on the
 * shared photos with tiles of 160, scores above 0.5 gave recall 0.93 at
 * precision 0.42, 0.7 gave 0.85 / 0.79, 0.75 gave 0.85 / 0.87, 0.8 gave
 * 0.81 / 0.96. */
#define FER_BLAZE_SCORE 0.75f

/* min_score FER_BLAZE_SCORE, tile FER_BLAZE_TILE_AUTO, overlap 0.25. */
void fer_blaze_defaults(fer_blaze_opts *o);

/* The net on the whole photo and, when o->tile > 0, on overlapping tiles
 * (tiles.h), merged: a tile's box within 2% of the tile's side of an
 * edge of the tile inside the photo is dropped (the face is cut; a
 * neighbour holds it whole), the rest go through fer_nms at IoU 0.3, best
 * first. *out is malloc'd (NULL when none); returns the count, or -1 with
 * fer_error() set. */
int fer_blaze_detect(fer_blaze *m, const fer_image *im, const fer_blaze_opts *o,
                     fer_box **out);

#endif
