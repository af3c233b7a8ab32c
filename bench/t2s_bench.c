/* bench/t2s_bench.c: the servers and clients of bench/tun2socks.sh, one
 * binary, built by the script (cc -O2 -pthread). A benchmark helper, not
 * part of synfin.
 *
 *   socks ADDR PORT          a fast SOCKS5 server (RFC 1928 "no
 *                            authentication", CONNECT to IPv4/IPv6): a
 *                            thread per connection relaying both ways by
 *                            non-blocking splice() through a 1 MB pipe
 *                            each way (no copy to user space), so that it
 *                            is not the bottleneck the 1 KiB copy loop of
 *                            microsocks is
 *   rr-server ADDR PORT      epoll: reads a 64-byte request, answers 64
 *                            bytes, closes when the client does
 *   cycles HOST PORT C SECS  C threads, each: connect, 64 bytes out, 64
 *                            back, close, again, for SECS seconds; prints
 *                            "cycles N secs S rate R errors E"
 *   idle HOST PORT N SECS    opens N connections, one request/response on
 *                            each, prints "ready N", holds them SECS
 *                            seconds (or until stdin closes), exits
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REQ 64

static void die(const char *what) { perror(what); exit(1); }

static void raise_nofile(void) {
  struct rlimit r;
  if (getrlimit(RLIMIT_NOFILE, &r) == 0) { r.rlim_cur = r.rlim_max; setrlimit(RLIMIT_NOFILE, &r); }
}

static socklen_t sa_of(const char *host, int port, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *a = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *b = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, host, &a->sin_addr) == 1) {
    a->sin_family = AF_INET; a->sin_port = htons(port); return sizeof *a;
  }
  if (inet_pton(AF_INET6, host, &b->sin6_addr) == 1) {
    b->sin6_family = AF_INET6; b->sin6_port = htons(port); return sizeof *b;
  }
  fprintf(stderr, "bad address %s\n", host); exit(2);
}

static int listen_on(const char *host, int port) {
  struct sockaddr_storage ss; socklen_t n = sa_of(host, port, &ss);
  int fd = socket(ss.ss_family, SOCK_STREAM, 0), one = 1;
  if (fd < 0) die("socket");
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&ss, n) < 0) die("bind");
  if (listen(fd, 4096) < 0) die("listen");
  return fd;
}

static int readn(int fd, void *p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char *)p + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}
static int writen(int fd, const void *p, size_t n) {
  size_t put = 0;
  while (put < n) {
    ssize_t r = write(fd, (const char *)p + put, n - put);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    put += (size_t)r;
  }
  return 0;
}

/* ---------------------------------------------------------------- socks */
/* One direction of a relayed connection: from -> pipe -> to. */
struct dir { int from, to, pf[2]; size_t inpipe; bool eof, done; };

/* Moves what it can without blocking; -1 on an error (reset both). */
static int dir_step(struct dir *d) {
  if (d->done) return 0;
  if (!d->eof && d->inpipe < (1u << 20)) {
    ssize_t n = splice(d->from, NULL, d->pf[1], NULL, (1u << 20) - d->inpipe,
                       SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) d->inpipe += (size_t)n;
    else if (n == 0) d->eof = true;
    else if (errno != EAGAIN && errno != EINTR) return -1;
  }
  if (d->inpipe) {
    /* no SPLICE_F_MORE: it is MSG_MORE, which corks a short reply */
    ssize_t m = splice(d->pf[0], NULL, d->to, NULL, d->inpipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (m > 0) d->inpipe -= (size_t)m;
    else if (m < 0 && errno != EAGAIN && errno != EINTR) return -1;
  }
  if (d->eof && !d->inpipe) { shutdown(d->to, SHUT_WR); d->done = true; } /* carry the FIN */
  return 0;
}

/* Both directions in this one thread: splice until both ended. */
static void relay(int c, int u) {
  struct dir d[2] = {{.from = c, .to = u}, {.from = u, .to = c}};
  if (pipe2(d[0].pf, O_CLOEXEC | O_NONBLOCK) < 0) return;
  if (pipe2(d[1].pf, O_CLOEXEC | O_NONBLOCK) < 0) { close(d[0].pf[0]); close(d[0].pf[1]); return; }
  for (int i = 0; i < 2; i++) fcntl(d[i].pf[1], F_SETPIPE_SZ, 1 << 20);
  fcntl(c, F_SETFL, O_NONBLOCK);
  fcntl(u, F_SETFL, O_NONBLOCK);
  while (!d[0].done || !d[1].done) {
    size_t before = d[0].inpipe + d[1].inpipe;
    bool eof0 = d[0].eof, eof1 = d[1].eof;
    if (dir_step(&d[0]) < 0 || dir_step(&d[1]) < 0) break;
    if (d[0].inpipe + d[1].inpipe != before || d[0].eof != eof0 || d[1].eof != eof1)
      continue; /* moved: try again before sleeping */
    struct pollfd p[2] = {{.fd = c}, {.fd = u}};
    for (int i = 0; i < 2; i++) {
      if (d[i].done) continue;
      if (!d[i].eof && d[i].inpipe < (1u << 20)) p[i].events |= POLLIN;
      if (d[i].inpipe) p[1 - i].events |= POLLOUT;
    }
    if (poll(p, 2, -1) < 0 && errno != EINTR) break;
    if ((p[0].revents | p[1].revents) & (POLLERR | POLLNVAL)) break;
  }
  for (int i = 0; i < 2; i++) { close(d[i].pf[0]); close(d[i].pf[1]); }
}

static pthread_attr_t small;

static void *socks_conn(void *arg) {
  int c = (int)(intptr_t)arg, u = -1;
  unsigned char b[300];
  /* RFC 1928 3: VER NMETHODS METHODS; we take "no authentication" (0) */
  if (readn(c, b, 2) || b[0] != 5 || readn(c, b + 2, b[1])) goto fail;
  if (!memchr(b + 2, 0, b[1])) { writen(c, "\x05\xff", 2); goto fail; }
  if (writen(c, "\x05\x00", 2)) goto fail;
  /* RFC 1928 4: VER CMD RSV ATYP DST.ADDR DST.PORT; CONNECT only */
  if (readn(c, b, 4) || b[0] != 5) goto fail;
  struct sockaddr_storage ss; socklen_t sl;
  memset(&ss, 0, sizeof ss);
  if (b[3] == 1) {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    if (readn(c, &a->sin_addr, 4) || readn(c, &a->sin_port, 2)) goto fail;
    a->sin_family = AF_INET; sl = sizeof *a;
  } else if (b[3] == 4) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    if (readn(c, &a->sin6_addr, 16) || readn(c, &a->sin6_port, 2)) goto fail;
    a->sin6_family = AF_INET6; sl = sizeof *a;
  } else {
    writen(c, "\x05\x08\x00\x01\0\0\0\0\0\0", 10); goto fail;
  }
  if (b[1] != 1) { writen(c, "\x05\x07\x00\x01\0\0\0\0\0\0", 10); goto fail; }
  u = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (u < 0 || connect(u, (struct sockaddr *)&ss, sl) < 0) {
    unsigned char rep = errno == ECONNREFUSED ? 5 : errno == ENETUNREACH ? 3
                      : errno == EHOSTUNREACH ? 4 : errno == ETIMEDOUT ? 6 : 1;
    unsigned char r[10] = {5, rep, 0, 1};
    writen(c, r, 10); goto fail;
  }
  int one = 1;
  setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  {
    unsigned char r[10] = {5, 0, 0, 1}; /* BND 0.0.0.0:0: nobody uses it */
    if (writen(c, r, 10)) goto fail;
  }
  relay(c, u);
  close(u);
  close(c);
  return NULL;
fail:
  if (u >= 0) close(u);
  close(c);
  return NULL;
}

static _Noreturn void socks_main(const char *host, int port) {
  int l = listen_on(host, port);
  pthread_attr_init(&small);
  pthread_attr_setstacksize(&small, 64 << 10);
  pthread_attr_setdetachstate(&small, PTHREAD_CREATE_DETACHED);
  for (;;) {
    int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) { if (errno == EINTR || errno == ECONNABORTED) continue; if (errno == EMFILE) { usleep(10000); continue; } die("accept"); }
    pthread_t t;
    if (pthread_create(&t, &small, socks_conn, (void *)(intptr_t)c) != 0) close(c);
  }
}

/* ------------------------------------------------------------ rr-server */
static _Noreturn void rr_server(const char *host, int port) {
  int l = listen_on(host, port), ep = epoll_create1(0);
  fcntl(l, F_SETFL, O_NONBLOCK);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = l}, evs[256];
  epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
  static unsigned char got[1 << 20]; /* bytes of the request per fd */
  char buf[4096], resp[REQ];
  memset(resp, 'r', sizeof resp);
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == l) {
        for (;;) {
          int c = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          if (c >= (int)sizeof got) { close(c); continue; }
          int one = 1;
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          got[c] = 0;
          struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
        }
        continue;
      }
      ssize_t r = read(fd, buf, sizeof buf);
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL); close(fd); continue;
      }
      unsigned before = got[fd];
      unsigned total = before + (unsigned)r;
      got[fd] = total >= REQ ? REQ : (unsigned char)total;
      if (before < REQ && total >= REQ && write(fd, resp, REQ) != REQ) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL); close(fd);
      }
    }
  }
}

/* ------------------------------------------------------------- clients */
static struct sockaddr_storage target; static socklen_t target_len;
static atomic_long cycles_done, cycle_errors;
static struct timespec t_end;

static int one_request(int *keep) {
  int fd = socket(target.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  if (fd < 0) return -1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  char req[REQ], resp[REQ];
  memset(req, 'q', sizeof req);
  if (connect(fd, (struct sockaddr *)&target, target_len) < 0 || writen(fd, req, REQ) ||
      readn(fd, resp, REQ)) { close(fd); return -1; }
  if (keep) { *keep = fd; return 0; }
  close(fd);
  return 0;
}

static int past_end(void) {
  struct timespec now; clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec > t_end.tv_sec || (now.tv_sec == t_end.tv_sec && now.tv_nsec >= t_end.tv_nsec);
}

static void *cycler(void *arg) {
  (void)arg;
  while (!past_end()) {
    if (one_request(NULL) == 0) atomic_fetch_add(&cycles_done, 1);
    else { atomic_fetch_add(&cycle_errors, 1); usleep(1000); }
  }
  return NULL;
}

static int cycles_main(const char *host, int port, int conc, double secs) {
  target_len = sa_of(host, port, &target);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  t_end = t0;
  t_end.tv_sec += (time_t)secs;
  t_end.tv_nsec += (long)((secs - (double)(time_t)secs) * 1e9);
  if (t_end.tv_nsec >= 1000000000L) { t_end.tv_sec++; t_end.tv_nsec -= 1000000000L; }
  pthread_t *t = calloc((size_t)conc, sizeof *t);
  pthread_attr_t a; pthread_attr_init(&a); pthread_attr_setstacksize(&a, 64 << 10);
  for (int i = 0; i < conc; i++) if (pthread_create(&t[i], &a, cycler, NULL)) die("pthread_create");
  for (int i = 0; i < conc; i++) pthread_join(t[i], NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  long n = atomic_load(&cycles_done);
  printf("cycles %ld secs %.2f rate %.0f errors %ld\n", n, dt, (double)n / dt, atomic_load(&cycle_errors));
  return 0;
}

static int idle_main(const char *host, int port, int n, int secs) {
  target_len = sa_of(host, port, &target);
  int *fds = calloc((size_t)n, sizeof *fds), ok = 0;
  for (int i = 0; i < n; i++) if (one_request(&fds[ok]) == 0) ok++;
  printf("ready %d\n", ok);
  fflush(stdout);
  struct pollfd p = {.fd = 0, .events = POLLIN};
  poll(&p, 1, secs * 1000);
  for (int i = 0; i < ok; i++) close(fds[i]);
  return ok == n ? 0 : 1;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  raise_nofile();
  if (argc == 4 && !strcmp(argv[1], "socks")) socks_main(argv[2], atoi(argv[3]));
  if (argc == 4 && !strcmp(argv[1], "rr-server")) rr_server(argv[2], atoi(argv[3]));
  if (argc == 6 && !strcmp(argv[1], "cycles")) return cycles_main(argv[2], atoi(argv[3]), atoi(argv[4]), atof(argv[5]));
  if (argc == 6 && !strcmp(argv[1], "idle")) return idle_main(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
  fprintf(stderr, "usage: t2s_bench socks ADDR PORT | rr-server ADDR PORT | "
                  "cycles HOST PORT CONC SECS | idle HOST PORT N SECS\n");
  return 2;
}
