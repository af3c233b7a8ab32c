/* bench/scale_load.c: the kernel-side load of bench/scale.sh (built by it
 * with cc -O2), one epoll loop over CONNS connections to HOST:PORT for
 * SECONDS:
 *   echo   each connection streams 64 KB writes and reads the echo back;
 *          prints the bytes echoed per second (each way)
 *   cycles each connection: connect, write 64 bytes, read them back,
 *          close; again; prints lifecycles per second
 *   serve  (HOST PORT only) an echo server, for the kernel-to-kernel line
 * One process, so that the load costs the same whatever serves it; run
 * several beside each other (scale.sh: LOADS) to load more cores. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXC 1024
#define CHUNK 65536

struct conn {
    int fd;
    size_t sent, got; /* cycles: of the 64-byte request */
    unsigned long long inflight; /* echo: bytes written not yet read back */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct sockaddr_in dst;
static int ep, cycles;
static char buf[CHUNK];

static int open_conn(struct conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0)
        return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS)
        return -1;
    c->sent = c->got = 0;
    c->inflight = 0;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | (cycles ? 0 : EPOLLET),
                             .data.ptr = c};
    return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

/* The echo server: each connection's bytes written back as read, a
 * connection's reading paused while its buffer waits to be written. */
struct sconn {
    int fd;
    size_t off, len;
    char b[CHUNK];
};

static int serve(void)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(ls, (struct sockaddr *)&dst, sizeof dst) < 0 || listen(ls, 4096) < 0) {
        perror("scale_load serve");
        return 1;
    }
    printf("listening\n");
    fflush(stdout);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    struct epoll_event evs[256];
    for (;;) {
        int k = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < k; i++) {
            struct sconn *c = evs[i].data.ptr;
            if (!c) {
                int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
                if (fd < 0)
                    continue;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                c = calloc(1, sizeof *c);
                c->fd = fd;
                struct epoll_event e2 = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e2);
                continue;
            }
            again:;
            if (c->len == 0) {
                ssize_t r = read(c->fd, c->b, CHUNK);
                if (r == 0 || (r < 0 && errno != EAGAIN)) {
                    close(c->fd);
                    free(c);
                    continue;
                }
                if (r < 0)
                    continue;
                c->off = 0;
                c->len = (size_t)r;
            }
            ssize_t w = write(c->fd, c->b + c->off, c->len - c->off);
            if (w > 0)
                c->off += (size_t)w;
            if (c->off == c->len) {
                c->len = 0;
                struct epoll_event e2 = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e2);
                goto again;
            }
            struct epoll_event e2 = {.events = EPOLLOUT, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e2);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "serve")) {
        dst.sin_family = AF_INET;
        dst.sin_port = htons((uint16_t)atoi(argv[3]));
        if (inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1)
            return 2;
        ep = epoll_create1(0);
        return serve();
    }
    if (argc < 6) {
        fprintf(stderr, "usage: scale_load echo|cycles HOST PORT CONNS SECONDS\n");
        return 2;
    }
    cycles = !strcmp(argv[1], "cycles");
    dst.sin_family = AF_INET;
    dst.sin_port = htons((uint16_t)atoi(argv[3]));
    if (inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1)
        return 2;
    int n = atoi(argv[4]);
    double secs = atof(argv[5]);
    if (n < 1 || n > MAXC || secs <= 0)
        return 2;
    static struct conn cs[MAXC];
    ep = epoll_create1(0);
    for (int i = 0; i < n; i++)
        if (open_conn(&cs[i]) < 0) {
            perror("scale_load: connect");
            return 1;
        }
    unsigned long long done = 0, bytes = 0, errors = 0;
    double t0 = now_s(), end = t0 + secs;
    struct epoll_event evs[256];
    while (now_s() < end) {
        int k = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < k; i++) {
            struct conn *c = evs[i].data.ptr;
            if (evs[i].events & (EPOLLERR | EPOLLHUP) && !(evs[i].events & EPOLLIN)) {
                errors++;
                close(c->fd);
                if (open_conn(c) < 0)
                    return 1;
                continue;
            }
            if (cycles) {
                if ((evs[i].events & EPOLLOUT) && c->sent < 64) {
                    ssize_t w = write(c->fd, buf, 64 - c->sent);
                    if (w > 0)
                        c->sent += (size_t)w;
                    if (c->sent == 64) {
                        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                    }
                }
                if (evs[i].events & EPOLLIN) {
                    ssize_t r = read(c->fd, buf, 64);
                    if (r > 0)
                        c->got += (size_t)r;
                    if (r <= 0 && !(r < 0 && errno == EAGAIN))
                        errors++;
                    if (c->got >= 64 || (r <= 0 && !(r < 0 && errno == EAGAIN))) {
                        done += c->got >= 64;
                        close(c->fd); /* the client closes first, as a web client */
                        if (open_conn(c) < 0) {
                            perror("scale_load: connect");
                            return 1;
                        }
                    }
                }
                continue;
            }
            /* edge-triggered: read all there is, then write up to 256 KB
             * ahead of what came back */
            for (;;) {
                ssize_t r = read(c->fd, buf, CHUNK);
                if (r <= 0)
                    break;
                bytes += (unsigned long long)r;
                c->inflight -= (unsigned long long)r;
            }
            while (c->inflight < 4 * CHUNK) {
                ssize_t w = write(c->fd, buf, CHUNK);
                if (w <= 0)
                    break;
                c->inflight += (unsigned long long)w;
            }
        }
    }
    double dt = now_s() - t0;
    if (cycles)
        printf("cycles %.0f /s (%llu in %.1f s, %llu errors)\n", done / dt, done, dt, errors);
    else
        printf("echo %.0f Mbit/s each way (%llu MB in %.1f s, %llu errors)\n",
               bytes * 8 / dt / 1e6, bytes >> 20, dt, errors);
    return 0;
}
