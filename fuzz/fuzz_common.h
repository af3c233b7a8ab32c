/* What the stack fuzzers (fuzz_stack.c, fuzz_sack.c) share: a stack at
 * 198.18.0.1 and fd00:5f::1 with a fixed seed whose datagrams are kept, a scripted peer
 * at 198.18.0.2 that injects segments, and the invariant check. Header
 * only: scripts/run-fuzz.sh builds each fuzz/fuzz_*.c with the core's
 * sources and nothing else. */
#ifndef SF_FUZZ_COMMON_H
#define SF_FUZZ_COMMON_H

#include "synfin/synfin.h"
#include "synfin/wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_HOST 0xc6120001u /* 198.18.0.1, the stack */
#define FZ_PEER 0xc6120002u /* 198.18.0.2, the scripted peer */
#define FZ_START (1000 * SF_SEC) /* the clock at the start of a run */
/* The same two over IPv6 (the stack has both addresses): fd00:5f::1 and
 * fd00:5f::2 (RFC 4193). */
static const uint8_t FZ_HOST6[16] = {0xfd, 0, 0, 0x5f, [15] = 1};
static const uint8_t FZ_PEER6[16] = {0xfd, 0, 0, 0x5f, [15] = 2};
#define FZ_NOUT 8                /* datagrams kept */

/* The last FZ_NOUT datagrams the stack sent (to learn its numbers from)
 * and how many it sent in all. */
struct fz_out {
    uint8_t d[FZ_NOUT][1600];
    size_t len[FZ_NOUT];
    unsigned n;
};

/* An invariant: aborts the run (libFuzzer keeps the input) if it fails. */
static inline void fz_need(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "%s: invariant failed: %s\n",
                program_invocation_short_name, what);
        abort();
    }
}

static inline void fz_record(void *ctx, const uint8_t *dgram, size_t len)
{
    struct fz_out *o = ctx;
    unsigned i = o->n++ % FZ_NOUT;
    o->len[i] = len < sizeof o->d[i] ? len : sizeof o->d[i];
    memcpy(o->d[i], dgram, o->len[i]);
}

/* The back-th datagram before the last (0: the last one), parsed: 0, or
 * -1 if there is none or it does not parse. */
static inline int fz_out_seg(const struct fz_out *o, unsigned back,
                             struct sf_tcp *seg)
{
    if (back >= FZ_NOUT || back >= o->n)
        return -1;
    unsigned i = (o->n - 1 - back) % FZ_NOUT;
    struct sf_ipv4 ip;
    if (sf_ipv4_parse(o->d[i], o->len[i], &ip) != SF_DROP_NONE ||
        sf_tcp_parse(&ip, seg) != SF_DROP_NONE)
        return -1;
    return 0;
}

/* The stack's configuration: the defaults, at FZ_HOST, seeded with
 * seed ^ i, its datagrams kept in out. The caller adds what it tests. */
static inline void fz_cfg(struct sf_stack_cfg *cfg, struct fz_out *out,
                          uint8_t seed)
{
    sf_stack_cfg_default(cfg);
    cfg->addr = FZ_HOST;
    memcpy(cfg->addr6, FZ_HOST6, 16);
    cfg->output = fz_record;
    cfg->output_ctx = out;
    for (int i = 0; i < 16; i++)
        cfg->seed[i] = (uint8_t)(seed ^ i);
}

/* seg from the peer (FZ_PEER -> FZ_HOST) into the stack at now. */
static inline void fz_inject(struct sf_stack *st, sf_time_t now,
                             const struct sf_tcp *seg)
{
    uint8_t buf[1600];
    struct sf_ipv4 ip = {.src = FZ_PEER, .dst = FZ_HOST};
    size_t n = sf_emit(buf, sizeof buf, &ip, seg);
    if (n)
        sf_stack_input(st, now, buf, n);
}

/* seg from the peer over IPv6 (FZ_PEER6 -> FZ_HOST6) into the stack. */
static inline void fz_inject6(struct sf_stack *st, sf_time_t now,
                              const struct sf_tcp *seg)
{
    uint8_t buf[1600];
    struct sf_ipv6 ip = {.hlim = 64};
    memcpy(ip.src, FZ_PEER6, 16);
    memcpy(ip.dst, FZ_HOST6, 16);
    size_t n = sf_emit6(buf, sizeof buf, &ip, seg);
    if (n)
        sf_stack_input(st, now, buf, n);
}

#endif
