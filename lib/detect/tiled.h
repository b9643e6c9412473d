/* tiled.h: a fixed-input face detector over a whole photo and its tiles
 * (tiles.h), the boxes of all runs merged by non-maximum suppression: how
 * the SSD and BlazeFace find faces too small for one run over the photo. */
#ifndef FER_TILED_H
#define FER_TILED_H

#include "image.h"
#include "nms.h"

/* One run of a detector net on the region (x, y, w, h) of im: the boxes
 * scoring above min_score in pixels of im, malloc'd in *out (NULL when
 * none); the count, or -1 with fer_error() set (fer_ssd_run,
 * fer_blaze_run). */
typedef int (*fer_region_run)(void *net, const fer_image *im, int x, int y, int w, int h,
                              float min_score, fer_box **out);

/* run on the whole photo, then on each tile of fer_tiles_plan(tile,
 * overlap) (none when tile <= 0), a tile's boxes within 2% of its side of
 * an inner edge dropped (the face may be cut there); then NMS at iou over
 * all of them. *out is malloc'd (NULL when none). Returns the count, or
 * -1 with fer_error() set. */
int fer_tiled_detect(fer_region_run run, void *net, const fer_image *im, int tile,
                     double overlap, float min_score, float iou, fer_box **out);

#endif
