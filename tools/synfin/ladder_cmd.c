/* Placeholder until this subcommand lands: it says so, and fails. */
#include <stdio.h>

#include "synfin/cmds.h"

int sf_cmd_ladder(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "synfin ladder: not implemented yet\n");
    return 2;
}
