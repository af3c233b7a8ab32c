/* synfin tun2socks' rules: where a flow goes by its destination.
 *
 *   --rule CIDR[:PORT[-PORT]]=proxy|direct|reject
 *
 * CIDR is A.B.C.D/N or an IPv6 ADDR/N (or a bare address: /32, /128; a
 * bare IPv6 address with a port is written [ADDR]:PORT), or '*' for every
 * address of both families. The first rule that matches wins; none: the
 * default (proxy, or direct with --direct). Pure: no I/O. */
#ifndef SF_TOOLS_T2S_RULES_H
#define SF_TOOLS_T2S_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum t2s_action { T2S_PROXY = 0, T2S_DIRECT = 1, T2S_REJECT = 2 };

struct t2s_rule {
    uint8_t family;     /* 4, 6, or 0 for '*' (both) */
    uint8_t addr[16];   /* network byte order; IPv4 in addr[0..3] */
    uint8_t prefix;     /* bits */
    uint16_t port_lo, port_hi; /* 0..65535 when no port was given */
    enum t2s_action action;
};

#define T2S_MAX_RULES 256

struct t2s_rules {
    struct t2s_rule r[T2S_MAX_RULES];
    int n;
};

/* Parses one --rule value and appends it; 0, or -1 with a one-line
 * reason in err. */
int t2s_rule_add(struct t2s_rules *rs, const char *text, char *err, size_t errcap);
/* The action for a destination (family 4 with addr[0..3], or 6), the
 * first rule matching; def when none does. *index gets the rule's index
 * or -1 (may be NULL). */
enum t2s_action t2s_rule_match(const struct t2s_rules *rs, int family,
                               const uint8_t *addr, uint16_t port,
                               enum t2s_action def, int *index);
const char *t2s_action_name(enum t2s_action a);

#endif
