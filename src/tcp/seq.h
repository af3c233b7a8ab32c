/* Sequence-number arithmetic (RFC 9293 3.4; RFC 1982 serial numbers).
 * Sequence numbers are compared only through these: a bare < on two of
 * them is a bug, because the space wraps at 2^32. */
#ifndef SF_TCP_SEQ_H
#define SF_TCP_SEQ_H

#include <stdbool.h>
#include <stdint.h>

static inline bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool seq_leq(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline bool seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline bool seq_geq(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }
/* lo <= x < hi, in serial arithmetic. */
static inline bool seq_between(uint32_t lo, uint32_t x, uint32_t hi)
{
    return (uint32_t)(x - lo) < (uint32_t)(hi - lo);
}
static inline uint32_t seq_max(uint32_t a, uint32_t b) { return seq_gt(a, b) ? a : b; }
static inline uint32_t seq_min(uint32_t a, uint32_t b) { return seq_lt(a, b) ? a : b; }

#endif
