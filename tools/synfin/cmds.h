/* The synfin command's subcommands: one folder or file each, one entry
 * point each. Every entry takes the arguments after the subcommand name
 * (argv[0] is the subcommand) and returns the process exit status. */
#ifndef SF_TOOLS_CMDS_H
#define SF_TOOLS_CMDS_H

int sf_cmd_sim(int argc, char **argv);     /* tools/synfin/sim/ */
int sf_cmd_drill(int argc, char **argv);   /* tools/drill/drill.c */
int sf_cmd_ladder(int argc, char **argv);  /* tools/synfin/ladder/cmd.c */
int sf_cmd_serve(int argc, char **argv);   /* tools/synfin/net/serve.c */
int sf_cmd_connect(int argc, char **argv); /* tools/synfin/net/connect.c */
int sf_cmd_ss(int argc, char **argv);      /* tools/synfin/net/ss.c */
int sf_cmd_bench(int argc, char **argv);   /* tools/synfin/bench/bench.c */
int sf_cmd_relay(int argc, char **argv);   /* tools/synfin/net/relay.c */
int sf_cmd_tun2socks(int argc, char **argv); /* tools/synfin/t2s/tun2socks.c */

#endif
