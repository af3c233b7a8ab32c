/* libFuzzer harness for synfin tun2socks' --rule parser and matcher
 * (tools/synfin/t2s/rules.c): a rule is a user's input, and any text must
 * give a rule or a one-line reason, never a crash or a read past it.
 * fuzz-sources: tools/synfin/t2s/rules.c
 *
 * The input: rule texts, one a line, until an empty line; what follows
 * is destinations to match, 19 bytes each (family byte, 16 address bytes,
 * port). Checked: an added rule is well formed (family 0, 4 or 6, prefix
 * within the family's bits, port_lo <= port_hi, a known action); an error
 * is one non-empty line and adds nothing; a match names a rule that
 * matches by its own fields, and no earlier rule does. */
#include "t2s/rules.h"

#include <stdlib.h>
#include <string.h>

static void need(int cond)
{
    if (!cond)
        abort();
}

static bool covers(const struct t2s_rule *r, int family, const uint8_t *a, uint16_t port)
{
    if (r->family && r->family != family)
        return false;
    if (port < r->port_lo || port > r->port_hi)
        return false;
    if (!r->family)
        return true;
    for (unsigned b = 0; b < r->prefix; b++) {
        unsigned m = 0x80u >> (b & 7);
        if ((r->addr[b / 8] & m) != (a[b / 8] & m))
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct t2s_rules *rs = calloc(1, sizeof *rs);
    if (!rs)
        return 0;
    size_t off = 0;
    while (off < size) {
        const uint8_t *nl = memchr(data + off, '\n', size - off);
        size_t len = nl ? (size_t)(nl - (data + off)) : size - off;
        if (len == 0) {
            off++;
            break;
        }
        char text[300], err[200];
        if (len >= sizeof text)
            len = sizeof text - 1;
        memcpy(text, data + off, len);
        text[len] = 0;
        memset(err, 0, sizeof err);
        int n = rs->n;
        if (t2s_rule_add(rs, text, err, sizeof err) == 0) {
            need(rs->n == n + 1);
            const struct t2s_rule *r = &rs->r[n];
            need(r->family == 0 || r->family == 4 || r->family == 6);
            need(r->prefix <= (r->family == 4 ? 32 : r->family == 6 ? 128 : 0) ||
                 (r->family == 0 && r->prefix == 0));
            need(r->port_lo <= r->port_hi);
            need(r->action <= T2S_REJECT);
            need(t2s_action_name(r->action) != NULL);
        } else {
            need(rs->n == n);
            need(err[0] && memchr(err, 0, sizeof err) && !strchr(err, '\n'));
        }
        off += (nl ? (size_t)(nl - (data + off)) + 1 : size - off);
    }
    for (; off + 19 <= size; off += 19) {
        int family = (data[off] & 1) ? 6 : 4;
        const uint8_t *a = data + off + 1;
        uint16_t port = (uint16_t)(data[off + 17] << 8 | data[off + 18]);
        int idx = 99;
        enum t2s_action act = t2s_rule_match(rs, family, a, port, T2S_PROXY, &idx);
        need(idx >= -1 && idx < rs->n);
        for (int i = 0; i < (idx < 0 ? rs->n : idx); i++)
            need(!covers(&rs->r[i], family, a, port));
        if (idx >= 0) {
            need(covers(&rs->r[idx], family, a, port));
            need(act == rs->r[idx].action);
        } else {
            need(act == T2S_PROXY);
        }
    }
    free(rs);
    return 0;
}
