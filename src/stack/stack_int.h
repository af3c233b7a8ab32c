/* The stack layer: tables (descriptors, 4-tuple demux, listeners, bound
 * ports), the clock, and the socket API over the tcp/ engine. */
#ifndef SF_STACK_STACK_INT_H
#define SF_STACK_STACK_INT_H

#include "stack/ttab.h"
#include "synfin/synfin.h"
#include "tcp/tcp_int.h"

struct sf_hash {
    struct sf_conn **slots;
    size_t size; /* power of two */
    size_t count;
};

/* Who uses a local port (ports.c). */
struct sf_port_use {
    uint32_t users;  /* connections, bound sockets, TIME_WAIT records */
    uint32_t strict; /* of which bound without SO_REUSEADDR */
    uint32_t tws;    /* of which TIME_WAIT records */
    uint16_t listeners, explicit_binds;
};

struct sf_stack {
    struct sf_stack_cfg cfg;
    struct tcp_ctx tcp;
    uint8_t hash_key[16]; /* demux hash: a remote peer cannot aim collisions */
    uint8_t port_key[16]; /* RFC 6056 ephemeral port secret */
    uint32_t port_next;   /* RFC 6056 algorithm 3's next_ephemeral */

    struct sf_conn **sds; /* descriptor table */
    int *sd_free;         /* free descriptors (a stack) */
    int nsd_free, nsds;

    struct ttab demux;     /* connections by 4-tuple */
    struct ttab reqs;      /* SYN-queue requests by 4-tuple */
    struct ttab tws;       /* TIME_WAIT records by 4-tuple */
    struct tcp_tw *tw_head, *tw_tail; /* TIME_WAIT FIFO, in expiry order */
    struct wheel_timer tw_timer; /* armed at tw_head's expiry: TK_TW */
    struct sf_hash listeners; /* by local port, chained on hnext */
    struct sf_port_use *ports[256]; /* port >> 8, then port & 0xff */
    /* SF_IP_TRANSPARENT (docs/transparent.md): the any-destination
     * listener (bound to the unspecified address and port 0), and whether
     * a transparent listener was ever opened (from then on, TCP to
     * addresses the stack does not own is looked up, not dropped at once) */
    struct sf_conn *any_listener;
    bool foreign_ok;
    /* deferred SYN-queue requests by id (records.c), chained on dnext */
    struct tcp_req **defer_slots;
    size_t defer_size, defer_count;
    /* owned local addresses, port 0, in the order added (cfg.addr and
     * cfg.addr6 first) */
    struct sf_addr *addrs;
    size_t naddrs, addrs_cap;
    uint64_t prune_ms; /* last memory-pressure prune: ms of stack time + 1 */
    uint64_t prune_seen; /* tcp.mem.refusals at that prune */
};

/* stack.c */
void stack_conn_free(struct sf_stack *st, struct sf_conn *c);
struct sf_conn *stack_listener_for(struct sf_stack *st,
                                   const struct sf_addr *dst);
bool stack_has_addr6(const struct sf_stack_cfg *cfg);
/* Does the stack own a's address (port ignored)? */
bool stack_addr_owned(const struct sf_stack *st, const struct sf_addr *a);
/* The first owned address of a family (SF_AF_*), or NULL. */
const struct sf_addr *stack_addr_first(const struct sf_stack *st,
                                       int family);
/* icmp.c: an ICMP / ICMPv6 datagram to this stack; true if it was a
 * "too big" message (acted on, or dropped and counted), false if it is
 * to be dropped as not TCP */
bool stack_icmp4_input(struct sf_stack *st, const struct sf_ipv4 *ip);
bool stack_icmp6_input(struct sf_stack *st, const struct sf_ipv6 *ip);
int stack_port_link(struct sf_stack *st, struct sf_conn *c, uint16_t port);
void stack_port_release(struct sf_stack *st, struct sf_conn *c);
void stack_port_listening(struct sf_stack *st, struct sf_conn *c, int delta);
void stack_port_tw(struct sf_stack *st, uint16_t port, int delta);
void stack_ports_free(struct sf_stack *st);
/* Does any TIME_WAIT record hold this local port? */
bool stack_port_has_tw(struct sf_stack *st, uint16_t port);
/* close() of c, which would live on as an orphan: reset instead (and
 * true) when cfg.max_orphans are held already. */
bool stack_orphan_refused(struct sf_stack *st, struct sf_conn *c);
/* After the CLOSE: count c among the orphans if it lives on. */
void stack_orphan_count(struct sf_stack *st, struct sf_conn *c);
/* records.c: requests and TIME_WAIT records */
void stack_req_timer(struct sf_stack *st, struct tcp_req *r);
void stack_tw_timer(struct sf_stack *st);
void stack_tw_from_conn(struct sf_stack *st, struct sf_conn *c);
void stack_records_free(struct sf_stack *st);
void stack_req_input(struct sf_stack *st, struct tcp_req *r,
                     const struct tcp_ip *ip, const struct sf_tcp *seg);
void stack_tw_input(struct sf_stack *st, struct tcp_tw *tw,
                    const struct tcp_ip *ip, const struct sf_tcp *seg);
bool stack_tuple_taken(struct sf_stack *st, const struct sf_addr *local,
                       const struct sf_addr *remote);
void stack_listen_input(struct sf_stack *st, struct sf_conn *l,
                        const struct tcp_ip *ip, const struct sf_tcp *seg);
void stack_close_listener(struct sf_stack *st, struct sf_conn *l);
/* sf_stack_abort_all's part for the SYN queue: every request aborted
 * and deleted; returns how many. */
int stack_reqs_abort(struct sf_stack *st);
int stack_record_info(struct sf_stack *st, const struct sf_addr *local,
                      const struct sf_addr *remote, struct sf_tcp_info *info);
int stack_records_foreach(struct sf_stack *st,
                          int (*fn)(void *ctx, const struct sf_tcp_info *info),
                          void *ctx);
struct sf_conn *stack_conn_new(struct sf_stack *st);
void stack_reap(struct sf_stack *st, struct sf_conn *c);
void stack_mem_wake(struct sf_stack *st);
struct sf_conn *stack_lookup(struct sf_stack *st, const struct sf_addr *local,
                             const struct sf_addr *remote);
int stack_hash_conn(struct sf_stack *st, struct sf_conn *c);
int stack_listen_insert(struct sf_stack *st, struct sf_conn *c);
int stack_port_bind(struct sf_stack *st, struct sf_conn *c, uint16_t port);
int stack_port_listen_ok(struct sf_stack *st, struct sf_conn *c);
int stack_port_ephemeral(struct sf_stack *st, struct sf_conn *c,
                         const struct sf_addr *remote);
void stack_set_now(struct sf_stack *st, sf_time_t now);

#endif
