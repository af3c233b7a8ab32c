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
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
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
