/* What `synfin serve` and `synfin connect` share: the TUN/stack options,
 * starting the device and the stack, the control socket that `synfin ss`
 * reads, and SIGINT/SIGTERM (through a signalfd, so no global flag). */
#ifndef SF_TOOLS_TUN_CLI_H
#define SF_TOOLS_TUN_CLI_H

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>

#include "pcap.h"
#include "synfin/synfin.h"
#include "synfin/tun.h"

#define TUN_CLI_OPTS_HELP                                                    \
    "device and addresses:\n"                                                \
    "  --tun DEV        TUN device to create (default sf0)\n"               \
    "  --addr A.B.C.D   synfin's own address (default 198.18.0.2)\n"        \
    "  --host A.B.C.D/N the kernel's address on DEV (default 198.18.0.1/24)\n" \
    "  --mtu N          device MTU (default 1500)\n"                        \
    "  --ctl PATH       control socket for `synfin ss` (default\n"          \
    "                   /run/synfin/DEV-PID.sock, else /tmp/synfin-DEV-PID.sock)\n" \
    "  --pcap FILE      write every datagram on DEV to FILE (pcap, raw IPv4)\n" \
    "  --no-offload     no virtio-net header on DEV: one write per segment\n" \
    "                   (default --offload: checksums and TSO offloaded,\n" \
    "                   data segments merged into 64 KB writes)\n" \
    "impairments on synfin's side (both directions):\n"                     \
    "  --loss P --dup P --reorder P   rates in 0..1 (default 0)\n"          \
    "  --delay MS       one-way delay added (default 0)\n"                  \
    "  --seed N         impairment and ISN randomness (default: random)\n"  \
    "stack settings:\n"                                                     \
    "  --msl S          maximum segment lifetime, TIME_WAIT = 2*MSL (default 30)\n" \
    "  --sndbuf N --rcvbuf N   socket buffers in bytes (default 65535)\n"   \
    "  --mss N          MSS advertised (default MTU-40)\n"                  \
    "  --rto-min MS     minimum retransmission timeout (default 1000, RFC 6298)\n" \
    "  --fin-timeout S  FIN_WAIT_2 timeout (default 60)\n"                  \
    "  --keepalive I,T,C  keepalive on every connection: idle I s, interval\n" \
    "                   T s, C probes (default off; RFC 1122: 7200,75,10)\n" \
    "  --backlog N      listen backlog (default 128)\n"                     \
    "  --no-syncookies  no SYN cookies when the SYN queue is full (default on)\n" \
    "  --grace S        on SIGINT/SIGTERM, wait at most S for FINs (default 5)\n"

struct tun_cli {
    /* options */
    const char *dev, *ctl_path, *pcap_path;
    uint32_t addr, host_ip;
    int prefix, mtu, backlog;
    bool keepalive, seeded, offload;
    int keep_idle, keep_intvl, keep_cnt;
    uint64_t seed;
    sf_time_t grace;
    struct sf_tun_impair imp;
    struct sf_stack_cfg cfg;
    /* running */
    struct sf_tun tun;
    struct pcapw *pcap;  /* --pcap: written from the device's tap */
    sf_time_t pcap_base_mono, pcap_base_real;
    int sigfd, ctl_fd;
    char ctl_buf[108];
    bool quit;           /* a signal asked us to finish */
    sf_time_t quit_deadline;
};

void tun_cli_init(struct tun_cli *c);
/* Parses the option at argv[*i] if it is one of the shared ones (advancing
 * *i past its value). Returns 1 if consumed, 0 if not ours, -1 on error. */
int tun_cli_opt(struct tun_cli *c, int argc, char **argv, int *i,
                const char *prog);
/* Creates the device, the stack, the control socket; prints where they
 * are to stderr. Returns 0, or non-zero after a one-line error. */
int tun_cli_start(struct tun_cli *c, const char *prog);
void tun_cli_finish(struct tun_cli *c);
/* Adds the signal and control descriptors; returns how many. */
int tun_cli_pollfds(struct tun_cli *c, struct pollfd *fds, int max);
/* Handles them (fds/n as added). Sets c->quit on a signal. */
void tun_cli_service(struct tun_cli *c, sf_time_t now, struct pollfd *fds,
                     int n);
/* Applies the per-connection settings (keepalive, buffers) to sd. */
void tun_cli_sockopts(struct tun_cli *c, int sd);

/* ctl.c: the server side of the control socket. */
int ctl_listen(const char *path, char *err, size_t errlen);
void ctl_serve_one(struct tun_cli *c, int lfd);

#endif
