/* The XDP program of synfin's AF_XDP link (src/link/xdp.c): frames for
 * synfin's flows go to the AF_XDP socket of the queue they arrived on,
 * everything else goes on to the kernel (XDP_PASS), untouched.
 *
 * synfin's flows: IPv4 datagrams to synfin's address (sf_cfg.addr) that are
 * TCP to a port marked in sf_ports, or any IPv4 datagram to that address
 * when sf_cfg.all_ports is set (synfin owns the address outright, so a SYN
 * to a closed port must reach it to be answered with a RST, RFC 9293
 * 3.10.7.1), and then also the ARP requests and replies about that
 * address (the kernel does not hold it, so synfin answers ARP itself, RFC
 * 826). With a shared address ARP stays the kernel's.
 *
 * The active opens of `synfin connect --xdp` (sf_cfg.arp set, all_ports
 * not): synfin owns the address, so its ARP is synfin's, but of the
 * datagrams to it only TCP to the local ports synfin opens from (the
 * range sf_cfg.port_lo..port_hi) is synfin's; everything else goes on to
 * the kernel.
 *
 * A queue whose socket is missing from sf_xsks passes its frames to the
 * kernel (bpf_redirect_map's fallback action): nothing is dropped
 * silently, and no frame moves to another queue's stack.
 *
 * Above one frame's MTU (SF_XDP_MAX_MTU) xdp.c loads it frags-aware
 * (BPF_F_XDP_HAS_FRAGS, as SEC("xdp.frags") would: the kernel's
 * Documentation/networking/af_xdp.rst, "Multi-Buffer Support"): a frame
 * may then come in several buffers, of which data..data_end is the
 * first. Every header read here is checked against data_end as always,
 * and a frame whose headers are not all in its first buffer goes to the
 * kernel (XDP_PASS); on a veth, and in generic mode, the first buffer
 * holds them.
 *
 * Built with clang -target bpf (Makefile), embedded in the synfin binary
 * and loaded through libxdp. Compiled with -g: libxdp needs the BTF to
 * run it behind its dispatcher beside other programs. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* Keep in step with struct xdp_prog_cfg in xdp.c. */
struct sf_xdp_cfg {
    __u32 addr;      /* synfin's IPv4 address, network byte order */
    __u32 all_ports; /* 1: every datagram to addr is synfin's */
    __u32 arp;       /* 1: the ARP packets about addr are synfin's */
    __u32 port_lo, port_hi; /* TCP to these ports is synfin's (lo > hi: none) */
};

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u32);
} sf_xsks SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct sf_xdp_cfg);
} sf_cfg SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 65536);
    __type(key, __u32);
    __type(value, __u8);
} sf_ports SEC(".maps");

/* Frames of synfin's that found no socket on their queue and went to the
 * kernel instead (counted, so that a queue without a stack is seen). */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} sf_no_socket SEC(".maps");

/* An ARP packet for IPv4 over Ethernet (RFC 826). (<linux/if_arp.h>
 * pulls in libc headers a bpf target has not.) */
struct arp_ipv4 {
    __be16 hrd, pro;
    __u8 hln, pln;
    __be16 op;
    __u8 sha[ETH_ALEN];
    __u8 sip[4];
    __u8 tha[ETH_ALEN];
    __u8 tip[4];
} __attribute__((packed));

static __always_inline int to_socket(struct xdp_md *ctx)
{
    int r = bpf_redirect_map(&sf_xsks, ctx->rx_queue_index, XDP_PASS);
    if (r == XDP_PASS) {
        __u32 zero = 0;
        __u64 *n = bpf_map_lookup_elem(&sf_no_socket, &zero);
        if (n)
            (*n)++;
    }
    return r;
}

static __always_inline int arp(struct xdp_md *ctx, void *p, void *end,
                               const struct sf_xdp_cfg *c)
{
    struct arp_ipv4 *b = p;
    if ((void *)(b + 1) > end)
        return XDP_PASS;
    if (b->hrd != bpf_htons(1 /* Ethernet */) || b->pro != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    __u32 tip;
    __builtin_memcpy(&tip, b->tip, 4);
    return tip == c->addr ? to_socket(ctx) : XDP_PASS;
}

SEC("xdp")
int sf_xdp_redirect(struct xdp_md *ctx)
{
    void *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    __u32 zero = 0;
    const struct sf_xdp_cfg *c = bpf_map_lookup_elem(&sf_cfg, &zero);
    struct ethhdr *eth = p;
    if (!c || (void *)(eth + 1) > end)
        return XDP_PASS;
    /* ARP is synfin's only when the address is (the kernel answers for
     * an address it shares, and needs its replies). */
    if (eth->h_proto == bpf_htons(ETH_P_ARP))
        return c->arp ? arp(ctx, eth + 1, end, c) : XDP_PASS;
    if (eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > end || ip->daddr != c->addr)
        return XDP_PASS;
    if (c->all_ports)
        return to_socket(ctx);
    /* Shared address, or active opens: TCP to a marked port or one of
     * the range only, first fragments only (a later fragment has no
     * ports to look at: the kernel's). */
    if (ip->protocol != IPPROTO_TCP || ip->ihl < 5 ||
        (ip->frag_off & bpf_htons(0x1fff)))
        return XDP_PASS;
    struct tcphdr *th = (void *)ip + ip->ihl * 4;
    if ((void *)(th + 1) > end)
        return XDP_PASS;
    __u32 port = bpf_ntohs(th->dest);
    if (port >= c->port_lo && port <= c->port_hi)
        return to_socket(ctx);
    __u8 *mark = bpf_map_lookup_elem(&sf_ports, &port);
    return mark && *mark ? to_socket(ctx) : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
