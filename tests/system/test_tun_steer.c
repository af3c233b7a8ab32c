/* The TUN steering program (src/link/tun.c) and its C twin
 * sf_tun_queue_of must agree on every datagram: the kernel picks the queue
 * with the first, connect --threads picks its ports with the second. The
 * program is run by the kernel itself (BPF_PROG_TEST_RUN) on 3000 random
 * datagrams: IPv4 with and without options, IPv6, TCP, UDP, ICMP and
 * other protocols. Needs root (or CAP_BPF); as another user it says so
 * and passes without running (it runs in the root suite). */
#include "synfin/tun.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)rng;
}

/* An Ethernet frame (the test run strips it) around one datagram; returns
 * the frame's length, *ip the datagram. */
static size_t make(uint8_t *f, uint8_t **ip)
{
    memset(f, 0, 128);
    bool v6 = rnd() % 3 == 0;
    static const uint8_t protos[] = {6, 17, 1, 58, 47, 6, 17};
    uint8_t proto = protos[rnd() % sizeof protos];
    f[12] = v6 ? 0x86 : 0x08, f[13] = v6 ? 0xdd : 0x00;
    uint8_t *d = f + 14;
    size_t hl;
    if (v6) {
        d[0] = 0x60, d[6] = proto, d[7] = 64;
        hl = 40;
    } else {
        unsigned ihl = 5 + rnd() % 3; /* options: 0, 4 or 8 bytes */
        d[0] = (uint8_t)(0x40 | ihl), d[8] = 64, d[9] = proto;
        hl = ihl * 4;
    }
    for (size_t k = 0; k < 8; k++) /* ports (or the ICMP header) */
        d[hl + k] = (uint8_t)rnd();
    size_t len = hl + 20;
    if (!v6)
        d[2] = (uint8_t)(len >> 8), d[3] = (uint8_t)len;
    else
        d[5] = 20;
    *ip = d;
    return 14 + len;
}

int main(void)
{
    char err[256];
    int fd = sf_tun_steer_load(err, sizeof err);
    if (fd < 0 && geteuid() != 0) {
        printf("test_tun_steer: not root, not run (%s)\n", err);
        return 0;
    }
    if (fd < 0) {
        printf("FAIL: %s\n", err);
        return 1;
    }
    int bad = 0;
    for (int i = 0; i < 3000; i++) {
        uint8_t f[128], *ip;
        size_t flen = make(f, &ip);
        union bpf_attr a;
        memset(&a, 0, sizeof a);
        a.test.prog_fd = (uint32_t)fd;
        a.test.data_in = (uint64_t)(uintptr_t)f;
        a.test.data_size_in = (uint32_t)flen;
        a.test.repeat = 1;
        if (syscall(__NR_bpf, BPF_PROG_TEST_RUN, &a, sizeof a) != 0) {
            printf("FAIL: BPF_PROG_TEST_RUN: %s\n", strerror(errno));
            return 1;
        }
        /* the kernel takes the answer as a u16, modulo the queues: the
         * full answer is the queue of 65536 */
        unsigned want = sf_tun_queue_of(ip, flen - 14, 65536);
        unsigned got = (uint16_t)a.test.retval;
        if (got != want && bad++ < 5)
            printf("FAIL: datagram %d (version %d, protocol %d): program %u, C %u\n",
                   i, ip[0] >> 4, ip[0] >> 4 == 6 ? ip[6] : ip[9], got, want);
        for (unsigned n = 2; n <= 8; n++)
            if (got % n != sf_tun_queue_of(ip, flen - 14, n) && bad++ < 5)
                printf("FAIL: datagram %d: queue of %u differs\n", i, n);
    }
    close(fd);
    if (bad) {
        printf("FAIL: %d disagreements\n", bad);
        return 1;
    }
    printf("ok: the steering program and sf_tun_queue_of agree on 3000 datagrams\n");
    return 0;
}
