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

#endif
