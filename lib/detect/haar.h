/* haar.h: Viola-Jones Haar cascades as OpenCV stores them in XML.
 *
 * Both layouts OpenCV ships are read by a small purpose-built XML reader:
 *
 *  - the new one (opencv_traincascade, OpenCV >= 2.4): a <cascade> node
 *    with <stageType>BOOST</stageType>, <featureType>HAAR</featureType>,
 *    <width>, <height>, <featureParams><maxCatCount>0</maxCatCount>,
 *    <stages> (each <_> has <stageThreshold> and <weakClassifiers>, each
 *    weak classifier <_> has <internalNodes>: "left right feature
 *    threshold" per node, and <leafValues>), and <features> (each <_> has
 *    <rects>: "x y w h weight" per <_>, and an optional <tilted>);
 *  - the old one (opencv_haartraining, type_id opencv-haar-classifier):
 *    <size>W H</size> and <stages>, each <_> with <trees> and
 *    <stage_threshold>; a tree is a sequence of <_> nodes, each with
 *    <feature> (<rects>, <tilted>), <threshold> and left_val or left_node,
 *    right_val or right_node.
 *
 * Both become the same tables, with OpenCV's roundings: thresholds,
 * leaves and weights are parsed as double and stored as float, and every
 * stage threshold is lowered by 1e-5f (as OpenCV does on loading). Only
 * Haar features with ordered (non-categorical) splits are supported: LBP
 * and HOG cascades are refused.
 *
 * A tree is evaluated from node 0: at node k, value < threshold goes to
 * left, else right; a child > 0 is another node of the same tree (always
 * a later one), a child <= 0 is the leaf -child. A tree of n nodes has
 * n + 1 leaves. */
#ifndef FER_HAAR_H
#define FER_HAAR_H

#include <stddef.h>

#define FER_HAAR_RECTS 3        /* rectangles per feature, at most */

typedef struct fer_haar_feature {
    int tilted;                 /* 1: rectangles rotated by 45 degrees */
    int nrects;                 /* 1..FER_HAAR_RECTS */
    struct { int x, y, w, h; float weight; } r[FER_HAAR_RECTS];
} fer_haar_feature;

typedef struct fer_haar_node {
    int feature;                /* index into features */
    float threshold;            /* on the variance-normalised feature value */
    int left, right;            /* > 0: node of the same tree; <= 0: leaf -child */
} fer_haar_node;

typedef struct fer_haar_tree {
    int node;                   /* first node in nodes */
    int nnodes;                 /* >= 1 */
    int leaf;                   /* first leaf in leaves; nnodes + 1 leaves */
} fer_haar_tree;

typedef struct fer_haar_stage {
    int tree;                   /* first tree in trees */
    int ntrees;                 /* >= 1 */
    float threshold;            /* file value - 1e-5f: pass when sum >= it */
} fer_haar_stage;

typedef struct fer_cascade {
    int win_w, win_h;           /* detection window, pixels (>= 3) */
    int nstages, ntrees, nnodes, nleaves, nfeatures;
    fer_haar_stage *stages;
    fer_haar_tree *trees;
    fer_haar_node *nodes;
    float *leaves;
    fer_haar_feature *features;
    int max_nodes;              /* largest tree; 1 = stumps only */
    int has_tilted;             /* some feature is tilted */
    int old_format;             /* read from the old layout */
} fer_cascade;

/* Loads a cascade file into c (zeroed first; free with fer_haar_free).
 * Returns 0, or -1 with fer_error() naming the file, the line and the
 * element that is wrong, e.g. "face.xml:41: <internalNodes>: 7 numbers,
 * not 4 per node" or "eye.xml:12: <featureType>: LBP cascades are not
 * supported". On failure c is left zeroed. */
int fer_haar_load(const char *path, fer_cascade *c);

/* The same from memory (n bytes, need not be NUL-terminated); name is used
 * in messages only. */
int fer_haar_parse(const char *text, size_t n, const char *name, fer_cascade *c);

/* Frees the tables and zeroes c; safe on a zeroed cascade. */
void fer_haar_free(fer_cascade *c);

/* Looks for a cascade file by its base name ("haarcascade_eye.xml") in
 * OpenCV's usual data folders (/usr/share/opencv4/haarcascades,
 * /usr/share/opencv/haarcascades, /usr/local/share/opencv4/haarcascades,
 * /usr/local/share/opencv/haarcascades). Copies the first that exists into
 * buf (n bytes) and returns 0; -1 with fer_error() set when none does. */
int fer_haar_find(const char *base, char *buf, size_t n);

#endif
