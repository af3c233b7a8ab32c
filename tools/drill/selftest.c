/* drill's own unit checks of the option and ECN machinery (`synfin drill
 * --self-test`, run by tests/drill-selftest/run.sh). The stack sends no
 * timestamps, SACK blocks or ECN marks yet, so the outbound side is fed
 * datagrams made with the wire layer's sf_emit, as a stack that does would
 * send them; the inbound side is checked byte for byte. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill/exec.h"

#define STACK_ISN 0x7ffffff0u

struct st {
    int n, failed;
    struct drill_ctx ctx;
    struct drill_script sc;
    struct drill_runner r;
};

static void check(struct st *t, bool ok, const char *what, const char *detail)
{
    t->n++;
    if (ok) {
        printf("ok %d - %s\n", t->n, what);
    } else {
        t->failed++;
        printf("not ok %d - %s%s%s\n", t->n, what, detail ? ": " : "",
               detail ? detail : "");
    }
}

/* One script line -> its segment (owned by sc2, freed by the caller). */
static const struct drill_seg *seg_of(const char *line, struct drill_script *sc2)
{
    char err[256];
    drill_settings_default(&sc2->settings);
    if (drill_parse("selftest", line, sc2, err, sizeof err) || sc2->nev != 1 ||
        sc2->ev[0].kind != EV_SEG) {
        printf("# cannot parse '%s': %s\n", line, err);
        return NULL;
    }
    return &sc2->ev[0].seg;
}

/* A datagram the stack would send on the 4-tuple the runner knows. */
static size_t emit(uint8_t *buf, uint8_t flags, uint32_t rel_seq,
                   uint32_t rel_ack, uint8_t tos, const struct sf_tcp_opts *o)
{
    struct sf_ipv4 ip = {.src = DRILL_STACK_IP, .dst = DRILL_PEER_IP,
                         .ttl = 64, .tos = tos};
    struct sf_tcp seg = {.sport = DRILL_PORT, .dport = DRILL_PEER_PORT,
                         .seq = STACK_ISN + rel_seq,
                         .ack = DRILL_PEER_ISN + rel_ack, .flags = flags,
                         .win = 65535, .opt = *o};
    return sf_emit(buf, 1500, &ip, &seg);
}

/* Does the script line match the datagram? why gets the reason. */
static bool match(struct st *t, const char *line, const uint8_t *buf,
                  size_t len, char *why, size_t n)
{
    struct drill_script sc2 = {0};
    const struct drill_seg *w = seg_of(line, &sc2);
    why[0] = 0;
    bool ok = w && drill_seg_match(&t->r, w, buf, len, why, n);
    drill_script_free(&sc2);
    return ok;
}

static void builder(struct st *t)
{
    static const struct {
        const char *line;
        uint8_t bytes[SF_TCP_OPT_MAX];
        size_t len;
    } cases[] = {
        {"0 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>",
         {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 100, 0, 0, 0, 0, 1, 3, 3, 7}, 20},
        {"0 < S 0:0(0) win 65535 <nop,nop,mss 400,eol>",
         {1, 1, 2, 4, 0x01, 0x90, 0, 0}, 8},
        {"0 < . 1:1(0) ack 1 win 65535 <nop,nop,sack 1:2 3:4>",
         {1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4}, 20},
        {"0 < . 1:1(0) ack 1 win 65535 <TS val 4294967295 ecr 16909060>",
         {8, 10, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 0, 0}, 12},
        {"0 < S 0:0(0) win 65535 <wscale 14,sackOK,eol>",
         {3, 3, 14, 4, 2, 0, 0, 0}, 8},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct drill_script sc2 = {0};
        const struct drill_seg *s = seg_of(cases[i].line, &sc2);
        uint8_t o[SF_TCP_OPT_MAX + 16];
        size_t len = s ? drill_seg_build_opts(s->opts, s->nopts, o) : 0;
        char what[160];
        snprintf(what, sizeof what, "builder: %s", strrchr(cases[i].line, '<'));
        check(t, s && len == cases[i].len && !memcmp(o, cases[i].bytes, len),
              what, "bytes differ");
        drill_script_free(&sc2);
    }
}

static void timestamps(struct st *t)
{
    uint8_t buf[1500];
    char why[200], act[320];
    struct sf_tcp_opts o = {.has_mss = true, .mss = 1460, .sack_ok = true,
                            .has_ts = true, .ts_val = 123456, .ts_ecr = 100,
                            .has_wscale = true, .wscale = 7};
    /* sf_emit's layout: MSS, SACK-permitted, TS, WS, NOP padding */
    size_t len = emit(buf, SF_SYN | SF_ACK, 0, 1, 0, &o);
    drill_seg_learn(&t->r, buf, len);
    check(t, !match(t, "0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 5 ecr 99,wscale 7,nop>",
                    buf, len, why, sizeof why) &&
          strstr(why, "option 3 is 'TS val 5 ecr 100', the script has 'TS val 5 ecr 99'"),
          "TS ecr is checked exactly (TS val shown in the script's clock)", why);
    check(t, match(t, "0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 5 ecr 100,wscale 7,nop>",
                   buf, len, why, sizeof why),
          "the first TS val sets the offset, any value", why);
    struct drill_script sc2 = {0};
    const struct drill_seg *w = seg_of("0 > S. 0:0(0) ack 1 <mss 1000>", &sc2);
    if (w)
        drill_seg_fmt_actual(&t->r, w, buf, len, act, sizeof act);
    drill_script_free(&sc2);
    check(t, w && !strcmp(act, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS "
                          "val 5 ecr 100,wscale 7,nop>"),
          "actual line: TS val in the script's clock", act);
    drill_seg_fmt_dgram(&t->r, buf, len, act, sizeof act);
    check(t, strstr(act, "TS val 123456 ecr 100") != NULL,
          "-v trace: TS val as sent", act);

    /* 100 ticks later */
    o = (struct sf_tcp_opts){.has_ts = true, .ts_val = 123556, .ts_ecr = 101};
    len = emit(buf, SF_ACK, 1, 1, 0, &o);
    check(t, match(t, "0 > . 1:1(0) ack 1 <TS val 999 ecr 101,nop,nop>", buf,
                   len, why, sizeof why),
          "TS val unchecked without --tcp_ts_tick_usecs", why);
    t->sc.settings.ts_tick_us = 1000; /* tolerance 4000 us: 4 ticks */
    check(t, match(t, "0 > . 1:1(0) ack 1 <TS val 108 ecr 101,nop,nop>", buf,
                   len, why, sizeof why),
          "--tcp_ts_tick_usecs: 3 ticks off is within tolerance", why);
    check(t, !match(t, "0 > . 1:1(0) ack 1 <TS val 110 ecr 101,nop,nop>", buf,
                    len, why, sizeof why) &&
          strstr(why, "TS val differs: 105 in the script's clock, 5 ticks"),
          "--tcp_ts_tick_usecs: 5 ticks off fails", why);
    t->sc.settings.ts_tick_us = 0;

    /* inbound TS ecr: mapped through the TS vals the script wrote */
    struct {
        const char *line;
        bool scaled, ok;
        uint32_t ecr;
    } in[] = {
        {"0 < . 1:1(0) ack 1 win 65535 <nop,nop,TS val 7 ecr 5>", false, true, 123456},
        {"0 < . 1:1(0) ack 1 win 65535 <nop,nop,TS val 7 ecr 108>", false, true, 123556},
        {"0 < . 1:1(0) ack 1 win 65535 <nop,nop,TS val 7 ecr 77>", false, false, 0},
        {"0 < . 1:1(0) ack 1 win 65535 <nop,nop,TS val 7 ecr 77>", true, true, 123528},
        {"0 < S 0:0(0) win 65535 <nop,nop,TS val 7 ecr 77>", false, true, 77},
    };
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        struct drill_opt out[SF_TCP_OPT_MAX];
        struct drill_script s3 = {0};
        const struct drill_seg *s = seg_of(in[i].line, &s3);
        t->sc.settings.ts_ecr_scaled = in[i].scaled;
        why[0] = 0;
        bool ok = s && drill_seg_map_inbound(&t->r, s, out, why, sizeof why);
        char what[200];
        snprintf(what, sizeof what, "inbound %s%s", in[i].line + 2,
                 in[i].scaled ? " with --tcp_ts_ecr_scaled" : "");
        check(t, ok == in[i].ok && (!ok || out[2].v[1] == in[i].ecr) &&
              (ok || strstr(why, "cannot map inbound TS ecr 77")), what, why);
        drill_script_free(&s3);
    }
    t->sc.settings.ts_ecr_scaled = false;
}

static void sack(struct st *t)
{
    uint8_t buf[1500];
    char why[200];
    struct sf_tcp_opts o = {.nsack = 2};
    o.sack[0][0] = DRILL_PEER_ISN + 1001, o.sack[0][1] = DRILL_PEER_ISN + 2001;
    o.sack[1][0] = DRILL_PEER_ISN + 3001, o.sack[1][1] = DRILL_PEER_ISN + 3501;
    size_t len = emit(buf, SF_ACK, 1, 1, 0, &o);
    check(t, match(t, "0 > . 1:1(0) ack 1 <sack 1001:2001 3001:3501,nop,nop>",
                   buf, len, why, sizeof why),
          "outbound SACK edges count from the peer's ISN", why);
    check(t, !match(t, "0 > . 1:1(0) ack 1 <sack 1001:2001 3001:3500,nop,nop>",
                    buf, len, why, sizeof why) && strstr(why, "options differ"),
          "outbound SACK edges are checked", why);
    check(t, !match(t, "0 > . 1:1(0) ack 1 <nop,nop,sack 1001:2001 3001:3501>",
                    buf, len, why, sizeof why) &&
          strstr(why, "option 1 is 'sack 1001:2001 3001:3501', the script has 'nop'"),
          "outbound options are checked in order", why);
    struct drill_opt out[SF_TCP_OPT_MAX];
    struct drill_script s3 = {0};
    const struct drill_seg *s = seg_of("0 < . 1:1(0) ack 1 win 65535 <nop,nop,sack 1:1001 2001:3001>", &s3);
    why[0] = 0;
    bool ok = s && drill_seg_map_inbound(&t->r, s, out, why, sizeof why);
    check(t, ok && out[2].v[0] == STACK_ISN + 1 && out[2].v[1] == STACK_ISN + 1001 &&
          out[2].v[2] == STACK_ISN + 2001 && out[2].v[3] == STACK_ISN + 3001,
          "inbound SACK edges count from the stack's ISN", why);
    drill_script_free(&s3);
}

static void ecn(struct st *t)
{
    static const struct {
        uint8_t tos;
        const char *mark;
        bool ok;
    } cases[] = {
        {2, "[ect0]", true}, {2, "[ect01]", true}, {2, "[ect1]", false},
        {2, "[noecn]", false}, {2, "[ce]", false}, {2, "", true},
        {1, "[ect1]", true}, {1, "[ect01]", true}, {1, "(ect0)", false},
        {3, "[ce]", true}, {3, "[ect01]", false}, {0, "[noecn]", true},
        {0, "[ect01]", false}, {0x4e, "[ce]", false}, {0x4e, "[ect0]", true},
    };
    struct sf_tcp_opts none = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t buf[1500];
        char line[100], why[200], what[120];
        size_t len = emit(buf, SF_ACK, 1, 1, cases[i].tos, &none);
        snprintf(line, sizeof line, "0 > %s . 1:1(0) ack 1", cases[i].mark);
        bool ok = match(t, line, buf, len, why, sizeof why);
        snprintf(what, sizeof what, "TOS 0x%02x %s '%s'", cases[i].tos,
                 cases[i].ok ? "matches" : "does not match", cases[i].mark);
        check(t, ok == cases[i].ok && (ok || !strcmp(why, "ECN field differs")),
              what, why);
    }
}

/* The wire's family and addresses are the script's: under
 * --ip_version=ipv6 an IPv4 datagram fails, and so does one to another
 * address; an IPv6 one between the script's addresses matches. */
static void addresses(struct st *t)
{
    static const uint8_t me6[16] = DRILL_STACK_IP6, peer6[16] = DRILL_PEER_IP6;
    struct sf_tcp_opts none = {0};
    uint8_t buf[1500];
    char why[200];
    struct sf_tcp seg = {.sport = DRILL_PORT, .dport = DRILL_PEER_PORT,
                         .seq = STACK_ISN + 1, .ack = DRILL_PEER_ISN + 1,
                         .flags = SF_ACK, .win = 65535, .opt = none};
    size_t len = emit(buf, SF_ACK, 1, 1, 0, &none);
    bool ok = match(t, "0 > . 1:1(0) ack 1", buf, len, why, sizeof why);
    check(t, ok, "IPv4 between the script's addresses matches", why);
    struct sf_ipv4 other = {.src = DRILL_STACK_IP, .dst = DRILL_PEER_IP + 1,
                            .ttl = 64};
    len = sf_emit(buf, sizeof buf, &other, &seg);
    ok = match(t, "0 > . 1:1(0) ack 1", buf, len, why, sizeof why);
    check(t, !ok && !strcmp(why, "addresses differ: 198.18.0.1 > 198.18.0.3, "
                                 "the script's are 198.18.0.1 > 198.18.0.2"),
          "IPv4 to another address: 'addresses differ'", why);
    t->sc.settings.ip_version = DRILL_IPV6;
    len = emit(buf, SF_ACK, 1, 1, 0, &none);
    ok = match(t, "0 > . 1:1(0) ack 1", buf, len, why, sizeof why);
    check(t, !ok && !strcmp(why, "addresses differ: 198.18.0.1 > 198.18.0.2, "
                                 "the script's are 2001:db8::1 > 2001:db8::2"),
          "IPv4 under --ip_version=ipv6: 'addresses differ'", why);
    struct sf_ipv6 ip6 = {.hlim = 64};
    memcpy(ip6.src, me6, 16);
    memcpy(ip6.dst, peer6, 16);
    seg.seq = 1; /* no SYN seen on this 4-tuple: its base is 0 */
    len = sf_emit6(buf, sizeof buf, &ip6, &seg);
    ok = match(t, "0 > . 1:1(0) ack 1", buf, len, why, sizeof why);
    check(t, ok, "IPv6 between the script's addresses matches", why);
    t->sc.settings.ip_version = DRILL_IPV4;
}

int drill_selftest(void)
{
    struct st *t = calloc(1, sizeof *t);
    if (!t)
        return 1;
    drill_settings_default(&t->sc.settings);
    t->sc.path = "selftest";
    t->r = (struct drill_runner){.ctx = &t->ctx, .sc = &t->sc};
    builder(t);
    timestamps(t);
    sack(t);
    ecn(t);
    addresses(t);
    printf("drill self-test: %d passed, %d failed\n", t->n - t->failed, t->failed);
    int failed = t->failed;
    drill_seg_free(&t->r);
    free(t->r.conns);
    free(t);
    return failed;
}
