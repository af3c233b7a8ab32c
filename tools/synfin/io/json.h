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
/* The same into memory: after jsonw_close, *buf (malloc'ed, the caller
 * frees it) holds *len bytes of text. */
struct jsonw *jsonw_open_mem(char **buf, size_t *len, char *err, size_t errlen);
/* How to read host's connection local -> remote (0, or non-zero when it
 * has none) for the "tcp" fields; without it there are none. */
typedef int (*jsonw_info_fn)(void *ctx, int host, const struct sf_addr *local,
                             const struct sf_addr *remote,
                             struct sf_tcp_info *out);
void jsonw_set_info(struct jsonw *j, jsonw_info_fn fn, void *ctx);
/* Writes one sim event; names[h] names host h (nh of them). */
void jsonw_event(struct jsonw *j, const struct sf_sim_event *ev,
                 const char *const *names, int nh);
/* Ends the array and closes; returns 0, or -1 if a write failed. */
int jsonw_close(struct jsonw *j);

#endif
