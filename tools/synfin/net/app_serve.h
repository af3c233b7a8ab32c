/* The servers of `synfin serve`: one listener per app, one struct sconn per
 * accepted connection, serviced from the TUN event loop. */
#ifndef SF_TOOLS_APP_SERVE_H
#define SF_TOOLS_APP_SERVE_H

#include "net/tun_cli.h"

#define SERVE_MAX_APPS 16
#define SERVE_BUF 65536

enum app_kind { APP_ECHO, APP_DISCARD, APP_DAYTIME, APP_CHARGEN, APP_PROXY,
                APP_NKINDS };

struct app {
    enum app_kind kind;
    uint16_t port;
    int lsd;               /* listening sf socket (dual-stack with --addr6) */
    struct sf_addr target; /* proxy: the kernel server */
};

/* A byte pipe from one side to the other: data read but not yet written. */
struct relay {
    /* SERVE_BUF bytes, allocated on first use (discard, chargen, and the
     * echo's copying path after SIGTERM); the proxy and the echo's
     * sf_splice never need one, so their connections stay small */
    uint8_t *buf;
    size_t off, len;
    bool eof;  /* the source ended (FIN / read 0) */
    bool shut; /* the end was passed on (shutdown of the sink's write side) */
    /* proxy, which relays from one side's buffer straight into the
     * other's (no copy in buf): the sink took less than there was (the
     * kernel socket's send buffer, or the connection's) */
    bool blocked;
};

struct sconn {
    struct app *app;
    int sd;          /* -1 once closed */
    int kfd;         /* proxy: the kernel socket, or -1 */
    bool kconnected;
    struct relay up;   /* synfin connection -> kernel (proxy) / echo queue */
    struct relay down; /* kernel -> synfin connection (proxy) */
    size_t chargen_pos;
    sf_time_t eof_at;  /* when the peer's FIN was read */
};

struct serve {
    struct tun_cli cli;
    struct app apps[SERVE_MAX_APPS];
    int napps;
    sf_time_t close_delay;
    struct sconn **conns;
    int nconns, cap;
    int base_fds; /* how many pollfds tun_cli added */
};

int serve_run(struct serve *s);
void serve_free(struct serve *s);

#endif
