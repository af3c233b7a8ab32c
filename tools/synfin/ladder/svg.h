/* The ladder diagram as a standalone SVG: two lifelines with state bands,
 * one sloped arrow per segment from its send time to its arrival time
 * (a lost one ends in a cross), and a time axis in which long idle
 * stretches (TIME_WAIT's 2*MSL) are cut short and marked. */
#ifndef SF_TOOLS_SVG_H
#define SF_TOOLS_SVG_H

#include <stddef.h>
#include <stdio.h>

#include "ladder/ladder.h"

void svg_write(const struct ladder_view *v, FILE *f);
/* Writes l to path; returns 0, or -1 with a one-line reason in err. */
int svg_write_file(const struct ladder *l, const char *path, char *err,
                   size_t errlen);

#endif
