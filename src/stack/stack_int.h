/* The stack layer: tables (descriptors, 4-tuple demux, listeners, bound
 * ports), the clock, and the socket API over the tcp/ engine. */
#ifndef SF_STACK_STACK_INT_H
#define SF_STACK_STACK_INT_H

#include "synfin/synfin.h"
#include "tcp/tcp_int.h"

struct sf_hash {
    struct sf_conn **slots;
    size_t size; /* power of two */
    size_t count;
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

    struct sf_hash demux;     /* by 4-tuple, chained on hnext */
    struct sf_hash listeners; /* by local port, chained on hnext */
    struct sf_hash ports;     /* by local port, chained on bnext/bprev */
    struct sf_conn *all;      /* every connection, on anext/aprev */
};

/* stack.c */
struct sf_conn *stack_conn_new(struct sf_stack *st);
void stack_reap(struct sf_stack *st, struct sf_conn *c);
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
