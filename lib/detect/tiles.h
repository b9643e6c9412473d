/* tiles.h: overlapping square tiles over a photo, at several sizes, for
 * running a fixed-input detector on regions where small faces become
 * large enough for it. */
#ifndef FER_TILES_H
#define FER_TILES_H

typedef struct fer_tile { int x, y, w, h; } fer_tile;

/* The tiles of a W x H photo: for side = first, 2 first, 4 first, ...
 * while side < max(W, H), a grid of side x side tiles (cut to the photo
 * where it is smaller) whose neighbours share at least overlap * side
 * pixels, spread evenly from edge to edge. *out is malloc'd (NULL when
 * none: first <= 0, or first >= max(W, H)); returns the count, or -1 with
 * fer_error() set when out of memory or more than FER_TILES_MAX. */
#define FER_TILES_MAX 100000
int fer_tiles_plan(int W, int H, int first, double overlap, fer_tile **out);

/* Whether a box (corners x0 < x1, y0 < y1) found in tile t of a W x H photo
 * comes within margin pixels of an edge of t that is not an edge of the
 * photo: the object may be cut there. */
int fer_tile_cut(const fer_tile *t, int W, int H, double x0, double y0, double x1, double y1,
                 double margin);

#endif
