/* Initial sequence numbers. RFC 9293 3.4.1 (MUST-8, RFC 6528):
 * ISN = M + F(localip, localport, remoteip, remoteport, secretkey), where M
 * is a 4-microsecond timer and F a keyed hash: a different, unpredictable
 * sequence space per 4-tuple that still advances with time, so that a new
 * incarnation of a connection starts above the old one's numbers. */
#include "base/siphash.h"
#include "tcp/tcp_int.h"

uint32_t tcp_isn(const struct tcp_ctx *ctx, const struct sf_addr *local,
                 const struct sf_addr *remote)
{
    uint32_t f = (uint32_t)siphash_tuple(ctx->isn_key, local, remote);
    uint32_t m = (uint32_t)(ctx->now / (4 * SF_USEC));
    return m + f;
}
