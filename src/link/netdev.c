/* Device configuration through the classic interface ioctls. */
#include "link/netdev.h"

#include <errno.h>
#include <linux/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int ifioctl(int s, unsigned long req, struct ifreq *ifr,
                   const char *what, char *err, size_t errlen)
{
    if (ioctl(s, req, ifr) == 0)
        return 0;
    snprintf(err, errlen, "cannot %s on %s: %s%s", what, ifr->ifr_name,
             strerror(errno),
             errno == EPERM ? " (run as root or with CAP_NET_ADMIN)" : "");
    return -1;
}

/* An AF_INET socket for the interface ioctls, and ifr naming the device. */
static int ifsock(const char *name, struct ifreq *ifr, char *err, size_t errlen)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    memset(ifr, 0, sizeof *ifr);
    snprintf(ifr->ifr_name, sizeof ifr->ifr_name, "%s", name);
    return s;
}

static void set_sin(struct sockaddr *sa, uint32_t ip)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(ip);
    memcpy(sa, &sin, sizeof sin);
}

int link_netdev_config(const char *name, uint32_t ip, int prefix, int mtu,
                       char *err, size_t errlen)
{
    struct ifreq ifr;
    int s = ifsock(name, &ifr, err, errlen);
    if (s < 0)
        return -1;
    int r = 0;
    if (ip) {
        uint32_t mask = prefix <= 0 ? 0 : 0xffffffffu << (32 - prefix);
        set_sin(&ifr.ifr_addr, ip);
        r = ifioctl(s, SIOCSIFADDR, &ifr, "set the address", err, errlen);
        set_sin(&ifr.ifr_netmask, mask);
        r = r ? r : ifioctl(s, SIOCSIFNETMASK, &ifr, "set the netmask", err, errlen);
    }
    ifr.ifr_mtu = mtu;
    r = r ? r : ifioctl(s, SIOCSIFMTU, &ifr, "set the MTU", err, errlen);
    r = r ? r : ifioctl(s, SIOCGIFFLAGS, &ifr, "read the flags", err, errlen);
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    r = r ? r : ifioctl(s, SIOCSIFFLAGS, &ifr, "bring up", err, errlen);
    close(s);
    return r;
}

int link_netdev_addr6(const char *name, const uint8_t ip6[16], int prefix,
                      char *err, size_t errlen)
{
    int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        snprintf(err, errlen, "cannot open an IPv6 socket: %s%s", strerror(errno),
                 errno == EAFNOSUPPORT ? " (is IPv6 disabled in this kernel?)" : "");
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    int r = ifioctl(s, SIOCGIFINDEX, &ifr, "find the interface", err, errlen);
    if (r == 0) {
        /* the kernel's struct in6_ifreq (linux/ipv6.h, which clashes with
         * netinet/in.h): address, prefix length, interface index */
        struct {
            struct in6_addr ifr6_addr;
            uint32_t ifr6_prefixlen;
            int ifr6_ifindex;
        } q;
        memset(&q, 0, sizeof q);
        memcpy(&q.ifr6_addr, ip6, 16);
        q.ifr6_prefixlen = (uint32_t)prefix;
        q.ifr6_ifindex = ifr.ifr_ifindex;
        if (ioctl(s, SIOCSIFADDR, &q) != 0) {
            int e = errno;
            snprintf(err, errlen, "cannot set the IPv6 address on %s: %s%s", name,
                     strerror(e),
                     e == EPERM ? " (run as root or with CAP_NET_ADMIN)"
                     : e == EEXIST ? " (the kernel has it already)"
                     : " (is IPv6 disabled on it? sysctl net.ipv6.conf.all.disable_ipv6;"
                       " the MTU must be at least 1280)");
            r = -1;
        }
    }
    close(s);
    return r;
}

int link_netdev_txqlen(const char *name, int qlen, char *err, size_t errlen)
{
    struct ifreq ifr;
    int s = ifsock(name, &ifr, err, errlen);
    if (s < 0)
        return -1;
    int r = ifioctl(s, SIOCGIFTXQLEN, &ifr, "read the transmit queue length", err, errlen);
    if (r == 0 && ifr.ifr_qlen < qlen) {
        ifr.ifr_qlen = qlen;
        r = ifioctl(s, SIOCSIFTXQLEN, &ifr, "set the transmit queue length", err, errlen);
    }
    close(s);
    return r;
}

int link_netdev_threaded(const char *name, char *err, size_t errlen)
{
    struct ifreq ifr;
    int s = ifsock(name, &ifr, err, errlen);
    if (s < 0)
        return -1;
    int r = ifioctl(s, SIOCGIFINDEX, &ifr, "read the interface index", err, errlen);
    close(s);
    if (r < 0)
        return -1;
    /* A sysfs mounted in another namespace shows that namespace's devices:
     * one of the same name there is not ours. */
    char path[96];
    snprintf(path, sizeof path, "/sys/class/net/%s/ifindex", name);
    FILE *f = fopen(path, "re");
    int idx = -1;
    if (!f || fscanf(f, "%d", &idx) != 1 || idx != ifr.ifr_ifindex) {
        snprintf(err, errlen, "%s is not this namespace's %s (mount a sysfs "
                 "of this network namespace there, as ip netns exec does)",
                 path, name);
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    snprintf(path, sizeof path, "/sys/class/net/%s/threaded", name);
    f = fopen(path, "we");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s%s", path, strerror(errno),
                 errno == ENOENT ? " (threaded NAPI needs Linux 5.12 or later)" : "");
        return -1;
    }
    /* stdio buffers: the write's error shows at fclose */
    int bad = fputs("1", f) < 0;
    int e = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(e));
        return -1;
    }
    return 0;
}

uint64_t link_netdev_tx_dropped(const char *name)
{
    char path[96];
    snprintf(path, sizeof path, "/sys/class/net/%s/statistics/tx_dropped", name);
    FILE *f = fopen(path, "re");
    unsigned long long n = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%llu", &n) != 1)
        n = 0;
    fclose(f);
    return n;
}
