/* `synfin serve --xdp IFACE`: the AF_XDP link (src/link/xdp.c) in place of
 * the TUN device, for the commands built on tun_cli (docs/xdp.md). The
 * options live here; tun_cli_start, tun_cli_finish and the serve loop
 * hand over to these functions when --xdp is given. */
#ifndef SF_TOOLS_XDP_CLI_H
#define SF_TOOLS_XDP_CLI_H

#include <stdio.h>

#include "link/xdp.h"
#include "opt.h"

#define XDP_CLI_MAX_PORTS 64
#define XDP_CLI_MAX_QUEUES 64 /* the program's socket map */
/* `synfin connect --xdp`: the local ports its connections take (RFC 6335
 * 6's dynamic ports, RFC 6056's range), the only TCP ports of its address
 * the XDP program gives synfin */
#define XDP_CLI_PORT_LO 49152
#define XDP_CLI_PORT_HI 65535

struct tun_cli;

struct xdp_cli {
    /* options */
    const char *ifname;   /* --xdp IFACE; NULL: the TUN device */
    int queues;           /* --queues N */
    int mode;             /* --xdp-mode: enum sf_xdp_mode */
    bool force_copy;      /* --xdp-copy */
    uint16_t ports[XDP_CLI_MAX_PORTS]; /* --xdp-ports: the address is shared */
    int nports;
    int tx;               /* --xdp-tx: enum sf_xdp_tx */
    bool active;          /* synfin connect: active opens (set by the command) */
    int csum;             /* --xdp-csum: enum sf_xdp_csum (0: auto) */
    /* running */
    struct sf_xdp_prog *prog;
    struct sf_xdp *q[XDP_CLI_MAX_QUEUES];
    int nq;
    bool prog_shared;     /* --queues N: prog is thread 0's (closed by it) */
    char note[256];       /* which XDP mode, and why */
};

/* The options, as a group for opt_parse (base: the tun_cli's xdp). */
struct opt_group xdp_cli_group(struct xdp_cli *x);
/* Without --xdp: whether an AF_XDP option was given anyway (then after a
 * one-line error naming it). */
bool xdp_cli_stray(struct tun_cli *c, const char *prog);
/* Attaches the program, opens the queue(s), creates the stack on them, the
 * control socket and the signals; prints one line saying the mode (native
 * or generic XDP, zero-copy or copy). Returns 0, or 2 after a one-line
 * error (no privilege, no AF_XDP, no such interface or queue, ...). */
int xdp_cli_start(struct tun_cli *c, const char *prog);
/* Runs the loop of queue 0 with the application's hooks until
 * c->tun.stop. Returns 0, or 1 after a one-line error (the queue
 * stopped). */
int xdp_cli_run(struct tun_cli *c, const struct sf_tun_hooks *h, const char *prog);
/* Closes the queues and detaches the program (after the stack is freed). */
void xdp_cli_finish(struct tun_cli *c);
/* --queues N > 1 (docs/xdp.md): cs[0..n-1] are the workers' copies of one
 * parsed tun_cli. Attaches the program (owned by cs[0]), checks n against
 * the interface's RX queues and the cores, and opens queue k for cs[k],
 * its stack's output. Returns 0, or -1 after a one-line error naming the
 * queue (undone by tun_cli_finish of each copy, cs[0] last). */
int xdp_cli_open_mq(struct tun_cli *const *cs, unsigned n, const char *prog);
/* Once every copy has its stack: each queue drives its copy's stack;
 * prints the mode and the banner. */
void xdp_cli_bind_mq(struct tun_cli *const *cs, unsigned n, const char *prog);
/* For mq_run's watch: the kernel's drops on every queue of the copies
 * (ctx: struct tun_cli *const *, NULL-ended), or -1 (no AF_XDP). */
long long xdp_cli_drops(void *ctx);
/* connect --xdp: one clause for a thread's summary line, what its queue
 * took and what was handed over (empty without --xdp). */
void xdp_cli_summary(struct tun_cli *c, char *buf, size_t len);
/* The `synfin ss --stats` lines: xdp.* (nothing without --xdp). */
void xdp_cli_stats(struct tun_cli *c, FILE *f);

#endif
