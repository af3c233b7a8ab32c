/* The TCP lab's WebAssembly program (`make lab-wasm`): `synfin sim` and
 * nothing else, for the page's re-runs. lab.js runs it as a WASI command
 * with `sim ARGS --json - --quiet --no-color` and reads the JSON from
 * its standard output, the same bytes the native command writes. */
#include <stdio.h>
#include <string.h>

#include "cmds.h"

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "sim")) {
        fprintf(stderr, "synfin (lab): only the sim command is here\n");
        return 2;
    }
    return sf_cmd_sim(argc - 1, argv + 1);
}
