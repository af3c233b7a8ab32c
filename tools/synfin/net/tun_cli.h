/* What `synfin serve` and `synfin connect` share: the TUN/stack options,
 * starting the device and the stack, the control socket that `synfin ss`
 * reads, and SIGINT/SIGTERM (through a signalfd, so no global flag). */
#ifndef SF_TOOLS_TUN_CLI_H
#define SF_TOOLS_TUN_CLI_H

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>

#include "io/pcap.h"
#include "net/mq.h"
#include "net/xdp_cli.h"
#include "opt.h"
#include "synfin/synfin.h"
#include "synfin/tun.h"

struct tun_cli {
    /* options */
    const char *dev, *ctl_path, *pcap_path;
    uint32_t addr, host_ip;
    int prefix, mtu, backlog;
    bool keepalive, seeded, offload;
    bool napi; /* SF_TUN_NAPI: the kernel's work for our writes in its thread */
    int busy_us; /* --busy-poll USEC (0: off): tun_cli_busy_ns() */
    int keep_idle, keep_intvl, keep_cnt;
    uint64_t seed;
    sf_time_t grace;
    /* --addr6 / --host6: synfin's IPv6 address and the kernel's (network
     * byte order) with its prefix; has6 when either was given */
    uint8_t addr6[16], host6[16];
    int prefix6;
    bool has6;
    struct sf_tun_impair imp;
    struct sf_stack_cfg cfg;
    struct xdp_cli xdp;  /* --xdp IFACE: AF_XDP instead of TUN (xdp_cli.c) */
    /* running */
    struct sf_tun tun;
    struct pcapw *pcap;  /* --pcap: written from the device's tap */
    sf_time_t pcap_base_mono, pcap_base_real;
    int sigfd, ctl_fd;
    char ctl_buf[108];
    bool quit;           /* a signal asked us to finish */
    sf_time_t quit_deadline;
    bool reset_sent;     /* --grace ran out: reset, RESET_WAIT to go */
    /* --threads N (docs/scale.md): N copies of this struct, one per
     * worker, each with its own queue, stack and control socket (thread
     * 0: --ctl PATH, thread k: PATH.k); sigfd is then the worker's quit
     * eventfd (quit_event, owned by mq.c) and beat its heartbeat. */
    unsigned threads, thread;
    bool quit_event, steer_kernel;
    atomic_llong *beat;
};

void tun_cli_init(struct tun_cli *c);
/* The shared options (--tun, --addr, ..., --grace) and their help, as a
 * group for opt_parse. */
struct opt_group tun_cli_group(struct tun_cli *c);
/* Creates the device, the stack, the control socket; prints where they
 * are to stderr. Returns 0, or non-zero after a one-line error. */
int tun_cli_start(struct tun_cli *c, const char *prog);
void tun_cli_finish(struct tun_cli *c);
/* After sf_tun_run() failed: one line naming the device, or the queue
 * with --threads, and errno's reason. */
void tun_cli_run_failed(const struct tun_cli *c, const char *prog);
/* --threads N > 1: cs[0..n-1] are copies of one parsed tun_cli; opens the
 * device's n queues, the steering program, one stack and control socket
 * each, the signals (into *sigfd, for mq_run) and the workers' quit
 * eventfds (w). Returns 0, or non-zero after a one-line error (all undone
 * but w's eventfds: mq_free). */
int tun_cli_start_mq(struct tun_cli *const *cs, unsigned n, const char *prog,
                     struct mq_worker *w, int *sigfd);
/* Adds the signal and control descriptors; returns how many. */
int tun_cli_pollfds(struct tun_cli *c, struct pollfd *fds, int max);
/* Handles them (fds/n as added). Sets c->quit on a signal. */
void tun_cli_service(struct tun_cli *c, sf_time_t now, struct pollfd *fds,
                     int n);
/* For the other links (xdp_cli.c): the stack (on c->cfg.output when set),
 * the control socket and the signals. Returns 0, or -1 after a message. */
int tun_cli_stack_ctl(struct tun_cli *c, const char *prog);
/* --pcap FILE: opens it (the TUN device's tap is set here; --xdp sets its
 * queue's to tun_cli_pcap_tap). Returns 0, or -1 with a one-line error. */
int tun_cli_open_pcap(struct tun_cli *c, char *err, size_t errlen);
void tun_cli_pcap_tap(void *ctx, sf_time_t now, enum sf_tun_dir dir,
                      const uint8_t *d, size_t len);
/* Applies the per-connection settings (keepalive, buffers) to sd. */
void tun_cli_sockopts(struct tun_cli *c, int sd);
/* After --grace ran out and what was still open was reset: how long the
 * loop still runs. A RST whose sequence number the peer does not expect
 * exactly (data of ours it never got) is answered with a challenge ACK
 * (RFC 5961 3.2), which the stack, the connection gone, answers with a
 * RST at the sequence number the ACK asks for (RFC 9293 3.10.7.1). */
#define RESET_WAIT (200 * SF_MSEC)
/* True once, when after SIGINT/SIGTERM --grace has run out: the caller
 * resets what is still open (sf_stack_abort_all); quit_deadline moves
 * RESET_WAIT on and reset_sent is set. */
bool tun_cli_grace_over(struct tun_cli *c, sf_time_t now);
/* --busy-poll in the links' unit: sf_tun.busy_poll, sf_xdp_set_busy_poll. */
static inline sf_time_t tun_cli_busy_ns(const struct tun_cli *c)
{
    return (sf_time_t)c->busy_us * SF_USEC;
}

/* ctl.c: the server side of the control socket. */
int ctl_listen(const char *path, char *err, size_t errlen);
/* Accepts one client on lfd, reads its command line (without the line
 * end) and sends back what answer writes to f, then closes it. Every
 * command with a control socket (serve/connect through tun_cli, relay)
 * serves it with this; answer says what the commands are. */
typedef void (*ctl_answer_fn)(void *ctx, const char *cmd, FILE *f);
void ctl_answer_one(int lfd, ctl_answer_fn answer, void *ctx);
/* ctl_answer_one with a tun_cli's commands: ss, stats, set KEY VALUE. */
void ctl_serve_one(struct tun_cli *c, int lfd);
/* The answer ctl_serve_one gives (ctx: a struct tun_cli), for a command
 * that adds its own; and one `ss` row, with extra tab-separated fields
 * after its sixteen (NULL: none). */
void ctl_answer_cli(void *ctx, const char *cmd, FILE *f);
void ctl_ss_row(FILE *f, sf_time_t now, const struct sf_tcp_info *i,
                const char *extra);

#endif
