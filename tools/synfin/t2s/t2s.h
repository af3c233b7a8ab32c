/* synfin tun2socks: the shared state of the command (tun2socks.c: options,
 * start-up, control socket, routes) and its data path (flow.c: SYN
 * decisions, upstream connects, the relay). */
#ifndef SF_TOOLS_T2S_T2S_H
#define SF_TOOLS_T2S_T2S_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "net/tun_cli.h"
#include "t2s/rules.h"
#include "t2s/socks5.h"

#define T2S_CHUNK 65536     /* bytes moved per recv/send */
#define T2S_ASK_MIN 4096    /* the first room asked of the stack's send buffer (relay_down) */
#define T2S_ASK_MAX (256 * 1024) /* the most room asked for one upstream read (relay_down) */
#define T2S_DOWN_ROUND (1 << 20) /* upstream -> client bytes a round (relay_down) */
#define T2S_POOL_MAX 32     /* spare chunks kept */
#define T2S_UP_ROUND (16 * T2S_CHUNK) /* client -> upstream bytes a round (relay_up) */
#define T2S_ACCEPT_WAIT (30 * SF_SEC) /* upstream ready, client's ACK awaited */
#define T2S_MEM_RETRY (50 * SF_MSEC) /* a send refused at the memory cap (mem_wait) */

enum flow_state {
    FL_NEW,         /* created by the SYN filter; upstream not started */
    FL_CONNECTING,  /* upstream TCP connect in progress */
    FL_SOCKS,       /* SOCKS5 handshake */
    FL_WAIT_ACCEPT, /* upstream ready, SYN-ACK sent, waiting for sf_accept */
    FL_RELAY,       /* both sides connected */
    FL_DONE,        /* closed; freed by the ready list */
};

/* Bytes a flow holds because its sink took only part of a chunk: the
 * chunk itself, handed over (never copied again). */
struct chunk {
    uint8_t *buf;
    uint32_t off, len;
};

struct flow {
    struct flow *prev, *next; /* every flow */
    struct flow *hnext;       /* 4-tuple hash chain (until accepted) */
    struct flow *rnext;       /* ready list */
    bool queued, hashed;
    enum flow_state st;
    enum t2s_action act;
    bool deferred;            /* syn_id names a held SYN */
    uint64_t syn_id;
    uint64_t num;             /* flow number, for ss */
    int sd, ufd;
    struct sf_addr client, dst; /* plain IPv4 or IPv6 (never v4-mapped) */
    struct s5_client *s5;     /* during the SOCKS5 handshake only */
    sf_time_t deadline;       /* connect / accept deadline, or (relaying)
                                 a memory retry (0: none) */
    sf_time_t give_up;        /* the connect deadline (kept across a restart) */
    bool no_pipe;             /* restarted after a failed probe: never pipelined */
    uint64_t up_bytes, down_bytes; /* client->upstream, upstream->client */
    uint32_t down_ask;        /* room asked of the send buffer per read (0: T2S_ASK_MIN) */
    struct chunk down;         /* bytes after the SOCKS reply, for the client */
    bool u_rd, u_wr;          /* upstream readable / writable (edge-triggered) */
    bool u_hup;               /* an event said EOF or error (RDHUP, HUP, ERR):
                                 read on to the end, no short-read shortcut */
    bool c_eof, u_shut;       /* client's FIN read; passed on (SHUT_WR) */
    bool u_eof, c_shut;       /* upstream's EOF read; passed on (sf SHUT_WR) */
    uint8_t quote_len;
    uint8_t quote[68];        /* the SYN's IP header + 8 bytes, for ICMP */
};

struct t2s_counters {
    uint64_t syns, flows, accepted, rejected, over_limit, quit_refused;
    uint64_t up_refused, up_unreach, up_timeout, up_other, socks_errors;
    uint64_t accept_timeout, icmp_sent, client_resets, upstream_resets;
    uint64_t closed_clean, bytes_up, bytes_down, max_flows_seen, cookie_flows, loops;
    uint64_t mem_refused;     /* SYNs dropped at the memory cap (on_syn) */
    uint64_t mem_waits;       /* sends refused at the memory cap, retried */
    uint64_t pipelined;       /* --socks-pipeline: handshakes sent pipelined */
    uint64_t pipe_probes;     /* of them, those sent to learn whether the server can */
    uint64_t pipe_fallbacks;  /* probes not answered: started again, not pipelined */
};

/* --socks-pipeline, learnt per proxy (flow.c, pipe_*): UNKNOWN sends one
 * flow at a time pipelined (the probe) and the others one message at a
 * time; an answered probe makes it GOOD (all pipelined, UDP ASSOCIATE
 * too), T2S_PIPE_FAILS unanswered ones in a row BAD (none). */
enum t2s_pipe { T2S_PIPE_OFF, T2S_PIPE_UNKNOWN, T2S_PIPE_GOOD, T2S_PIPE_BAD };
#define T2S_PIPE_WAIT (1 * SF_SEC) /* a probe's wait for its final reply */
#define T2S_PIPE_FAILS 2

struct t2s {
    struct tun_cli cli;
    /* options */
    const char *proxy_text, *out_iface;
    struct s5_url url;
    bool direct, stats, print_routes, have_mark, timestamps, socks_pipeline;
    uint32_t fwmark;
    unsigned max_flows;
    unsigned syn_backlog; /* held SYNs at once; 0: min(max_flows, 1024) */
    sf_time_t connect_timeout;
    struct t2s_rules rules;
    /* running */
    struct sockaddr_storage proxy_sa;
    socklen_t proxy_len;
    int epfd, lsd;
    bool listener_ready;
    struct flow *flows;      /* doubly linked, NULL-terminated */
    unsigned nflows;
    uint64_t next_num;
    struct flow **htab;      /* 4-tuple -> flow awaiting its accept */
    unsigned hmask;
    struct flow **by_sd;     /* sd -> flow */
    unsigned nby_sd;
    struct flow *rhead, *rtail; /* ready list */
    sf_time_t next_deadline;
    uint8_t *pool[T2S_POOL_MAX];
    int npool;
    /* the last SYN the device handed in (the tap), for ICMP quotes */
    struct sf_addr syn_src, syn_dst;
    uint8_t syn_quote[68], syn_quote_len;
    struct t2s_counters ctr;
    enum t2s_pipe pipe;      /* --socks-pipeline's state (OFF without it) */
    struct flow *pipe_flow;  /* the probe in flight, if any (flow.c pipe_probe) */
    unsigned pipe_fails;     /* unanswered probes in a row */
    void *udp;               /* struct t2s_udp, when UDP is relayed */
    /* UDP options (tools/synfin/t2s/udp.h: 0 is its default) */
    unsigned udp_max;
    sf_time_t udp_idle;
};

/* flow.c */
int t2s_listen(struct t2s *t);             /* the transparent listener */
void t2s_on_wakeup(void *ctx, int sd);     /* cfg.wakeup */
size_t t2s_on_deliver(void *ctx, int sd, const uint8_t *data, size_t len); /* cfg.deliver */
void t2s_tap(void *ctx, sf_time_t now, enum sf_tun_dir dir, const uint8_t *d, size_t len);
void t2s_upstream_event(struct t2s *t, struct flow *f, uint32_t events);
/* Accepts, runs every ready flow and due deadline; returns the next
 * deadline. */
sf_time_t t2s_work(struct t2s *t, sf_time_t now);
/* SIGINT/SIGTERM: no new flows, FIN both ways on the others. */
void t2s_quit(struct t2s *t);
/* At the grace deadline or exit: reset what is left. */
void t2s_abort_all(struct t2s *t);
void t2s_free_all(struct t2s *t);

#endif
