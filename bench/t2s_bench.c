/* bench/t2s_bench.c: the servers and clients of bench/tun2socks.sh, one
 * binary, built by the script (cc -O2 -pthread). A benchmark helper, not
 * part of synfin.
 *
 *   socks ADDR PORT          a fast SOCKS5 server (RFC 1928 "no
 *                            authentication", CONNECT to IPv4/IPv6): an
 *                            epoll loop per thread (T2SB_SOCKS_THREADS,
 *                            default 2; SO_REUSEPORT listeners), all
 *                            non-blocking, relaying both ways by splice()
 *                            through a 1 MB pipe each way (no copy to
 *                            user space; the pipes reused), so that it is
 *                            not the bottleneck the 1 KiB copy loop of
 *                            microsocks is, nor a thread per connection
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
/* An epoll SOCKS5 server: T threads (default 2), each its own epoll and
 * its own SO_REUSEPORT listener (the kernel spreads the connections), all
 * sockets non-blocking and edge-triggered. Per connection a small state
 * machine (greeting, request, non-blocking connect, relay); the relay
 * splices each direction through a pipe (no copy to user space), the
 * pipes kept in a per-thread pool for the next connection. Nothing
 * blocks, so one thread carries thousands of connections and the
 * connect-request-close cycles of the benchmark cost a few syscalls each,
 * not a thread. */
#define PIPE_SZ (1u << 20)
enum cst { C_GREET, C_REQ, C_CONNECTING, C_RELAY, C_DEAD };

/* One direction of a relayed connection: from -> pipe -> to. */
struct dir { int from, to, pf[2]; size_t inpipe; bool eof, done; };
struct conn;
struct end { struct conn *c; int side; }; /* side 0: client, 1: upstream */
struct conn {
  enum cst st;
  int fd[2];
  struct end ends[2];
  struct dir d[2];
  unsigned char b[300];
  size_t blen;
  bool method_owed; /* the method choice rides with the request's reply */
  struct conn *next_dead;
};
struct worker {
  int ep, l;
  int (*pool)[2]; /* empty pipes to reuse */
  size_t npool, cappool;
  struct conn *dead; /* closed in this batch: freed after it */
};

static const char *socks_host; static int socks_port;

static int pipe_get(struct worker *w, int pf[2]) {
  if (w->npool) { w->npool--; pf[0] = w->pool[w->npool][0]; pf[1] = w->pool[w->npool][1]; return 0; }
  if (pipe2(pf, O_CLOEXEC | O_NONBLOCK) < 0) return -1;
  fcntl(pf[1], F_SETPIPE_SZ, PIPE_SZ);
  return 0;
}
static void pipe_put(struct worker *w, int pf[2], bool empty) {
  if (pf[0] < 0) return;
  if (empty && w->npool < 4096) {
    if (w->npool == w->cappool) {
      size_t nc = w->cappool ? 2 * w->cappool : 64;
      int (*np)[2] = realloc(w->pool, nc * sizeof *np);
      if (np) { w->pool = np; w->cappool = nc; }
    }
    if (w->npool < w->cappool) { w->pool[w->npool][0] = pf[0]; w->pool[w->npool][1] = pf[1]; w->npool++; pf[0] = pf[1] = -1; return; }
  }
  close(pf[0]); close(pf[1]); pf[0] = pf[1] = -1;
}

static void conn_close(struct worker *w, struct conn *c, bool reset) {
  if (c->st == C_DEAD) return;
  for (int i = 0; i < 2; i++) {
    if (c->fd[i] < 0) continue;
    if (reset) { struct linger lg = {1, 0}; setsockopt(c->fd[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg); }
    close(c->fd[i]); /* (leaves the epoll set with its last descriptor) */
    c->fd[i] = -1;
  }
  for (int i = 0; i < 2; i++) pipe_put(w, c->d[i].pf, c->d[i].inpipe == 0);
  c->st = C_DEAD;
  c->next_dead = w->dead;
  w->dead = c;
}

/* Moves what it can; 1 if anything moved, -1 on an error. */
static int dir_step(struct dir *d) {
  if (d->done) return 0;
  int moved = 0;
  if (!d->eof && d->inpipe < PIPE_SZ) {
    ssize_t n = splice(d->from, NULL, d->pf[1], NULL, PIPE_SZ - d->inpipe,
                       SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) { d->inpipe += (size_t)n; moved = 1; }
    else if (n == 0) { d->eof = true; moved = 1; }
    else if (errno != EAGAIN && errno != EINTR) return -1;
  }
  if (d->inpipe) {
    /* no SPLICE_F_MORE: it is MSG_MORE, which corks a short reply */
    ssize_t m = splice(d->pf[0], NULL, d->to, NULL, d->inpipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (m > 0) { d->inpipe -= (size_t)m; moved = 1; }
    else if (m < 0 && errno != EAGAIN && errno != EINTR) return -1;
  }
  if (d->eof && !d->inpipe) { shutdown(d->to, SHUT_WR); d->done = true; } /* carry the FIN */
  return moved;
}

/* Edge-triggered: both directions until neither moves. */
static void relay_step(struct worker *w, struct conn *c) {
  for (;;) {
    int a = dir_step(&c->d[0]), b = dir_step(&c->d[1]);
    if (a < 0 || b < 0) { conn_close(w, c, true); return; }
    if (c->d[0].done && c->d[1].done) { conn_close(w, c, false); return; }
    if (!a && !b) return;
  }
}

static void reply(struct worker *w, struct conn *c, unsigned char rep) {
  /* [the method choice,] then VER REP RSV ATYP and BND 0.0.0.0:0: nobody uses it */
  unsigned char r[12] = {5, 0, 5, rep, 0, 1};
  size_t off = c->method_owed ? 0 : 2;
  c->method_owed = false;
  if (write(c->fd[0], r + off, 12 - off) != (ssize_t)(12 - off) || rep) conn_close(w, c, false);
}

static void start_relay(struct worker *w, struct conn *c) {
  int one = 1;
  setsockopt(c->fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  reply(w, c, 0);
  if (c->st == C_DEAD) return;
  c->d[0] = (struct dir){.from = c->fd[0], .to = c->fd[1], .pf = {-1, -1}};
  c->d[1] = (struct dir){.from = c->fd[1], .to = c->fd[0], .pf = {-1, -1}};
  if (pipe_get(w, c->d[0].pf) < 0 || pipe_get(w, c->d[1].pf) < 0) { conn_close(w, c, true); return; }
  c->st = C_RELAY;
  if (c->blen && write(c->fd[1], c->b, c->blen) != (ssize_t)c->blen) { conn_close(w, c, true); return; }
  c->blen = 0;
  relay_step(w, c);
}

/* The handshake, from what has come so far (RFC 1928 3 and 4). */
static void handshake(struct worker *w, struct conn *c) {
  for (;;) {
    ssize_t r = read(c->fd[0], c->b + c->blen, sizeof c->b - c->blen);
    if (r > 0) { c->blen += (size_t)r; if (c->blen < sizeof c->b) continue; }
    else if (r == 0 || (errno != EAGAIN && errno != EINTR)) { conn_close(w, c, false); return; }
    break;
  }
  if (c->st == C_GREET) {
    /* VER NMETHODS METHODS; we take "no authentication" (0) */
    if (c->blen < 2) return;
    if (c->b[0] != 5) { conn_close(w, c, false); return; }
    size_t need = 2 + c->b[1];
    if (c->blen < need) return;
    if (!memchr(c->b + 2, 0, c->b[1])) { (void)!write(c->fd[0], "\x05\xff", 2); conn_close(w, c, false); return; }
    /* A pipelining client (synfin tun2socks --socks-pipeline) sent its
     * request with the greeting: both answers then leave in one write. */
    if (c->blen > need) c->method_owed = true;
    else if (write(c->fd[0], "\x05\x00", 2) != 2) { conn_close(w, c, false); return; }
    memmove(c->b, c->b + need, c->blen - need);
    c->blen -= need;
    c->st = C_REQ;
  }
  if (c->st != C_REQ) return;
  /* VER CMD RSV ATYP DST.ADDR DST.PORT; CONNECT only */
  if (c->blen < 4) return;
  size_t alen = c->b[3] == 1 ? 4 : c->b[3] == 4 ? 16 : 0;
  if (c->b[0] != 5 || !alen) { reply(w, c, 8); return; }
  size_t need = 4 + alen + 2;
  if (c->blen < need) return;
  if (c->b[1] != 1) { reply(w, c, 7); return; }
  struct sockaddr_storage ss; socklen_t sl;
  memset(&ss, 0, sizeof ss);
  if (alen == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    memcpy(&a->sin_addr, c->b + 4, 4); memcpy(&a->sin_port, c->b + 8, 2);
    a->sin_family = AF_INET; sl = sizeof *a;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    memcpy(&a->sin6_addr, c->b + 4, 16); memcpy(&a->sin6_port, c->b + 20, 2);
    a->sin6_family = AF_INET6; sl = sizeof *a;
  }
  memmove(c->b, c->b + need, c->blen - need); /* early data: to the upstream */
  c->blen -= need;
  int u = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (u < 0) { reply(w, c, 1); return; }
  c->fd[1] = u;
  struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = &c->ends[1]};
  epoll_ctl(w->ep, EPOLL_CTL_ADD, u, &e);
  c->st = C_CONNECTING;
  if (connect(u, (struct sockaddr *)&ss, sl) == 0) start_relay(w, c);
  else if (errno != EINPROGRESS) {
    int err = errno;
    reply(w, c, err == ECONNREFUSED ? 5 : err == ENETUNREACH ? 3 : err == EHOSTUNREACH ? 4 : 1);
  }
}

static void connected(struct worker *w, struct conn *c) {
  int err = 0; socklen_t el = sizeof err;
  getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &el);
  if (err == EINPROGRESS || err == EALREADY) return;
  if (err) { reply(w, c, err == ECONNREFUSED ? 5 : err == ENETUNREACH ? 3 : err == EHOSTUNREACH ? 4 : err == ETIMEDOUT ? 6 : 1); return; }
  /* (an edge may come before the connect ended: writable means done) */
  struct pollfd p = {.fd = c->fd[1], .events = POLLOUT};
  if (poll(&p, 1, 0) != 1) return;
  start_relay(w, c);
}

static void accept_all(struct worker *w) {
  for (;;) {
    int fd = accept4(w->l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) { if (errno == EINTR || errno == ECONNABORTED) continue; return; }
    struct conn *c = calloc(1, sizeof *c);
    if (!c) { close(fd); continue; }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd[0] = fd; c->fd[1] = -1;
    c->d[0].pf[0] = c->d[0].pf[1] = c->d[1].pf[0] = c->d[1].pf[1] = -1;
    c->ends[0] = (struct end){c, 0}; c->ends[1] = (struct end){c, 1};
    struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = &c->ends[0]};
    epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &e);
    handshake(w, c); /* the greeting may be here already */
  }
}

static void *socks_worker(void *arg) {
  struct worker *w = arg;
  int one = 1;
  struct sockaddr_storage ss; socklen_t n = sa_of(socks_host, socks_port, &ss);
  w->l = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (w->l < 0) die("socket");
  setsockopt(w->l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(w->l, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (bind(w->l, (struct sockaddr *)&ss, n) < 0) die("bind");
  if (listen(w->l, 4096) < 0) die("listen");
  w->ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event le = {.events = EPOLLIN, .data.ptr = NULL}, evs[256];
  epoll_ctl(w->ep, EPOLL_CTL_ADD, w->l, &le);
  for (;;) {
    int k = epoll_wait(w->ep, evs, 256, -1);
    for (int i = 0; i < k; i++) {
      struct end *e = evs[i].data.ptr;
      if (!e) { accept_all(w); continue; }
      struct conn *c = e->c;
      switch (c->st) {
      case C_GREET: case C_REQ: if (e->side == 0) handshake(w, c); break;
      case C_CONNECTING: if (e->side == 1) connected(w, c); break;
      case C_RELAY: relay_step(w, c); break;
      case C_DEAD: break;
      }
    }
    while (w->dead) { struct conn *c = w->dead; w->dead = c->next_dead; free(c); }
  }
  return NULL;
}

static _Noreturn void socks_main(const char *host, int port) {
  socks_host = host; socks_port = port;
  const char *e = getenv("T2SB_SOCKS_THREADS");
  int nt = e ? atoi(e) : 2;
  if (nt < 1 || nt > 64) nt = 2;
  struct worker *w = calloc((size_t)nt, sizeof *w);
  pthread_t t;
  for (int i = 1; i < nt; i++) if (pthread_create(&t, NULL, socks_worker, &w[i])) die("pthread_create");
  socks_worker(&w[0]);
  exit(1);
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
