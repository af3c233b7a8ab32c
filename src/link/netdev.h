/* Configuring a network device of the current namespace (the TUN driver's
 * and the relay's): address, netmask, MTU, up. */
#ifndef SF_LINK_NETDEV_H
#define SF_LINK_NETDEV_H

#include <stddef.h>
#include <stdint.h>

/* Gives device `name` the address ip/prefix (none if ip is 0), the MTU
 * mtu, and brings it up. Returns 0, or -1 with err naming the step that
 * failed and why. */
int link_netdev_config(const char *name, uint32_t ip, int prefix, int mtu,
                       char *err, size_t errlen);

/* Gives device `name` (already up, MTU at least 1280: RFC 8200 5) the
 * IPv6 address ip6/prefix (network byte order), as `ip -6 addr add` does
 * (SIOCSIFADDR on an AF_INET6 socket). A TUN device is point-to-point and
 * IFF_NOARP, so the kernel runs no DAD on it and the address is usable at
 * once. Returns 0, or -1 with err naming the step that failed and why. */
int link_netdev_addr6(const char *name, const uint8_t ip6[16], int prefix,
                      char *err, size_t errlen);

/* Raises device `name`'s transmit queue length (what the kernel holds for
 * the device's reader, in datagrams) to at least qlen, as `ip link set
 * DEV txqueuelen` does (SIOCSIFTXQLEN); a longer one is kept. Returns 0,
 * or -1 with err naming the step that failed and why. */
int link_netdev_txqlen(const char *name, int qlen, char *err, size_t errlen);

/* Has the kernel run device `name`'s NAPI polls in kernel threads of
 * their own ("threaded NAPI", /sys/class/net/NAME/threaded, Linux 5.12),
 * as `echo 1 > /sys/class/net/NAME/threaded` does, after checking that
 * the sysfs entry is this namespace's device (its ifindex). Returns 0, or
 * -1 with err saying why not. */
int link_netdev_threaded(const char *name, char *err, size_t errlen);

/* The kernel's count of datagrams device `name` dropped on its way out
 * (toward its reader: for a TUN device, a full queue),
 * /sys/class/net/NAME/statistics/tx_dropped; 0 if it cannot be read. */
uint64_t link_netdev_tx_dropped(const char *name);

#endif
