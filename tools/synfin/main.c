/* synfin: the command-line tool. Dispatches to one subcommand per file. */
#include <stdio.h>
#include <string.h>

#include "cmds.h"

struct subcmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
};

static const struct subcmd subcmds[] = {
    {"sim", sf_cmd_sim, "run a simulated network (default: the connection lifecycle)"},
    {"drill", sf_cmd_drill, "run packetdrill-language scripts against the core"},
    {"ladder", sf_cmd_ladder, "draw a ladder diagram from a pcap/pcapng capture"},
    {"serve", sf_cmd_serve, "serve echo/discard/daytime/chargen/proxy on a TUN device"},
    {"connect", sf_cmd_connect, "netcat-like client over a TUN device"},
    {"ss", sf_cmd_ss, "list the connections of a running synfin"},
    {"bench", sf_cmd_bench, "in-memory benchmarks against Linux and lwIP"},
    {"relay", sf_cmd_relay, "join two TUN devices through impairments (a user-space netem)"},
    {"tun2socks", sf_cmd_tun2socks, "relay every TCP flow of a TUN device through SOCKS5 or directly"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: synfin COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof subcmds / sizeof subcmds[0]; i++)
        fprintf(f, "  %-8s %s\n", subcmds[i].name, subcmds[i].help);
    fprintf(f, "\n'synfin COMMAND --help' describes one command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof subcmds / sizeof subcmds[0]; i++)
        if (!strcmp(argv[1], subcmds[i].name))
            return subcmds[i].run(argc - 1, argv + 1);
    fprintf(stderr, "synfin: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
