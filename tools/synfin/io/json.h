/* The sim's event trace as JSON, for other tools: one array, one object a
 * line, one line per event (segment sent, lost or delivered; state change;
 * stack drop; timer; note). The format is described in json.c. */
#ifndef SF_TOOLS_JSON_H
#define SF_TOOLS_JSON_H

#include <stddef.h>

#include "synfin/sim.h"

struct jsonw;

/* Opens path ("-" is stdout); NULL with a one-line reason in err. */
struct jsonw *jsonw_open(const char *path, char *err, size_t errlen);
/* Writes one sim event; names[h] names host h (nh of them). */
void jsonw_event(struct jsonw *j, const struct sf_sim_event *ev,
                 const char *const *names, int nh);
/* Ends the array and closes; returns 0, or -1 if a write failed. */
int jsonw_close(struct jsonw *j);

#endif
