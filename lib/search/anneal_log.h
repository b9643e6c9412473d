/* anneal_log.h: the CSV log of fer-anneal, one row per decided trial.
 *
 *   trial,chain,lr,epochs,batch,optim,score,accepted,current,best,
 *   temperature,seconds,stopped_early,epochs_run,status,start,val_acc
 *
 * (one header line). trial and chain count from 1; lr is written with the
 * fewest digits that read back to the same number; score, current and
 * best are accuracies in 0..1 with 6 decimals, empty when there is none
 * (a failed trial; a chain or search without a score yet); accepted is 1
 * or 0 and temperature a number (%.6g), both empty for random search;
 * seconds the trial's wall time (2 decimals); stopped_early 1 or 0;
 * epochs_run the epochs the trial completed; status one word ("ok",
 * "stopped", "short", "exit-1", "signal-9", "no-val", "no-log",
 * "bad-log"); start the Unix time it started (2 decimals, empty when
 * unknown); val_acc the validation accuracy of each of its epochs_run
 * epochs, separated by blanks (empty for a failed trial). Readers should
 * find the columns by name. */
#ifndef FER_ANNEAL_LOG_H
#define FER_ANNEAL_LOG_H

#include "anneal.h"

#define FER_ANNEAL_LOG_HEADER                                                                      \
    "trial,chain,lr,epochs,batch,optim,score,accepted,current,best,temperature,"                   \
    "seconds,stopped_early,epochs_run,status,start,val_acc"
#define FER_ANNEAL_LOG_FIELDS 17

/* The row as one line ending in "\n", malloc'd (the caller frees it), or
 * NULL when out of memory. */
char *fer_anneal_row_format(const fer_anneal_row *r);

/* Parses one line (without or with its "\n") into *r, allocating r->acc.
 * Checks the field count, every number and its range, the words, and that
 * val_acc has epochs_run values when score is set. 0, or -1 with
 * fer_error() naming the column ("score: '0.7x': not a number", "16
 * fields, expected 17") and r left with nothing to free. */
int fer_anneal_row_parse(const char *line, fer_anneal_row *r);

void fer_anneal_row_free(fer_anneal_row *r);

/* Checks a header line (without or with its "\n"). 0 or -1. */
int fer_anneal_header_check(const char *line);

#endif
