/* nms.h: boxes with scores, their overlap, and greedy non-maximum
 * suppression, as the SSD detectors (face-api.js's SSD MobileNetV1) and
 * the merging of tiled detections use them. */
#ifndef FER_NMS_H
#define FER_NMS_H

/* A box by its corners, in any one unit (pixels, or fractions of the net
 * input), y first as TensorFlow's detectors write them; score in [0, 1]. */
typedef struct fer_box {
    float y0, x0, y1, x1;
    float score;
} fer_box;

/* Intersection over union of a and b, each taken with its corners sorted
 * (min, max) first; 0 when either has no area. In double. */
double fer_box_iou(const fer_box *a, const fer_box *b);

/* Greedy NMS: the boxes with score > min_score, highest score first (ties
 * keep their order in b), each kept unless its IoU with one already kept
 * is above max_iou, until max_out are kept. Writes the kept boxes'
 * indices into keep (room for max_out, or n when smaller) in the order
 * kept and returns their count; -1 with fer_error() set when out of
 * memory. */
int fer_nms(const fer_box *b, int n, float min_score, double max_iou, int max_out, int *keep);

#endif
