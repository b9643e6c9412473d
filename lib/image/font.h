/* font.h: fer's own bitmap font, for labels drawn on photos.
 *
 * One glyph per printable ASCII character (32..126) in a cell of
 * FER_FONT_WIDTH x FER_FONT_HEIGHT pixels: capitals and digits fill rows
 * 0..6, the baseline lies under row 6, lower case has its x-height in rows 2..6 and
 * descenders (g j p q y) in rows 7..8. Characters advance by
 * FER_FONT_ADVANCE pixels (one blank column between glyphs). The design is
 * fer's own, drawn for this project. */
#ifndef FER_FONT_H
#define FER_FONT_H

#include <stdint.h>

#define FER_FONT_WIDTH    5
#define FER_FONT_HEIGHT   9
#define FER_FONT_ADVANCE  6
#define FER_FONT_FIRST    32
#define FER_FONT_LAST     126

/* The glyph of ch: FER_FONT_HEIGHT rows, top first; in each row bit
 * (FER_FONT_WIDTH - 1 - x) is set when column x (0 = left) is ink. A
 * character outside 32..126 gets the glyph of '?'. The rows are static, never freed. */
const uint8_t *fer_font_glyph(int ch);

/* Whether pixel (x, y) of ch's glyph is ink; 0 outside the cell. */
int fer_font_ink(int ch, int x, int y);

/* Width in pixels of s drawn at an integer scale >= 1: strlen(s) *
 * FER_FONT_ADVANCE * scale (the blank column after the last glyph
 * included, so that a background box has equal margins). */
long fer_font_text_width(const char *s, int scale);

#endif
