/* load.h: reading a data set from whatever a user hands a tool: a fer
 * stream or a FER2013 CSV (plain or gzip), from a file or stdin ("-"),
 * told apart by the first byte. */
#ifndef FER_LOAD_H
#define FER_LOAD_H

#include "dataset.h"

/* Reads path into d (initialised here). 0, or -1 with fer_error() naming
 * the file and place. */
int fer_load_dataset(const char *path, fer_dataset *d);

#endif
