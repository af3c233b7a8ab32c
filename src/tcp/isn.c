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
    /* test-only: start near a chosen point of the sequence space
     * (struct sf_stack_cfg isn_offset) */
    if (ctx->cfg->isn_offset)
        return ctx->cfg->isn_offset + m + (f & 0xffff);
    return m + f;
}

/* RFC 9293 3.6.1 and RFC 1122 4.2.2.13: a connection that reopens a 4-tuple
 * still in TIME-WAIT must start above the old incarnation's sequence
 * numbers. The clock of tcp_isn() guarantees it only if the old connection
 * sent slower than 4 bytes per microsecond (250 kB/s) since its ISN, so
 * the ISS is also kept TCP_TW_ISS_GAP beyond the old SND.NXT: one whole
 * unscaled window, so that the new numbers also stay clear of any window
 * the peer's old incarnation may still accept. */
uint32_t tcp_isn_above(const struct tcp_ctx *ctx, const struct sf_addr *local,
                       const struct sf_addr *remote, uint32_t old_snd_nxt)
{
    uint32_t isn = tcp_isn(ctx, local, remote);
    uint32_t floor = old_snd_nxt + TCP_TW_ISS_GAP;
    return seq_geq(isn, floor) ? isn : floor;
}
