/* drill system calls: each script call mapped onto the socket API of
 * include/synfin/synfin.h, its result compared with the script's. Script
 * descriptors (3, 4, ...) map to the stack's sf_socket descriptors. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill/exec.h"

#define MSG_DONTWAIT_ 0x40
#define O_NONBLOCK_ 04000
#define O_RDWR_ 2
#define F_GETFL_ 3
#define F_SETFL_ 4
#define MAX_IO (1u << 20)

struct call {
    struct drill_runner *r;
    const struct drill_event *ev;
    const struct drill_call *c;
    bool blocking;  /* the call may block (socket not O_NONBLOCK) */
    char bad[160];  /* a mismatch found inside the call (getsockopt, poll) */
};

static bool arg(struct call *k, size_t i, int64_t *v)
{
    return i < k->c->nargs && drill_eval(&k->c->args[i], v);
}

/* The script descriptor in argument i, or NULL (the call gets EBADF). */
static struct drill_fd *arg_fd(struct call *k, size_t i)
{
    int64_t fd;
    if (!arg(k, i, &fd) || fd < 0 || fd >= DRILL_MAX_FDS || !k->r->fds[fd].used)
        return NULL;
    k->blocking = !k->r->fds[fd].nonblock;
    return &k->r->fds[fd];
}

static long new_fd(struct drill_runner *r, int sd)
{
    for (int fd = 3; fd < DRILL_MAX_FDS; fd++) {
        if (!r->fds[fd].used) {
            r->fds[fd] = (struct drill_fd){.used = true, .sd = sd};
            return fd;
        }
    }
    sf_close(r->st, sd);
    return SF_EMFILE;
}

static long c_socket(struct call *k)
{
    int sd = sf_socket(k->r->st);
    if (sd < 0)
        return sd;
    long fd = new_fd(k->r, sd);
    if (fd >= 0) /* packetdrill: later segments go to the new socket */
        drill_seg_new_socket(k->r);
    return fd;
}

static long c_bind(struct call *k)
{
    struct drill_fd *f = arg_fd(k, 0);
    /* the stack's address; as an AF_INET6 socket (--ip_version ipv6 or
     * ipv4-mapped-ipv6), ::, which takes IPv4 too */
    struct sf_addr a = {.port = DRILL_PORT};
    if (k->r->sc->settings.ip_version != DRILL_IPV4)
        a.family = SF_AF_INET6;
    return f ? sf_bind(k->r->st, f->sd, &a) : SF_EBADF;
}

static long c_listen(struct call *k)
{
    struct drill_fd *f = arg_fd(k, 0);
    int64_t backlog = 1;
    arg(k, 1, &backlog);
    return f ? sf_listen(k->r->st, f->sd, (int)backlog) : SF_EBADF;
}

static long c_accept(struct call *k)
{
    struct drill_fd *f = arg_fd(k, 0);
    struct sf_addr peer;
    if (!f)
        return SF_EBADF;
    int sd = sf_accept(k->r->st, f->sd, &peer);
    if (sd >= 0) {
        /* the peer as the socket's family shows it: ::ffff:198.18.0.2
         * for an IPv4 peer of an AF_INET6 socket (as Linux) */
        struct sf_addr want = drill_peer_addr(k->r, peer.port);
        if (k->r->sc->settings.ip_version == DRILL_IPV4_MAPPED)
            want = sf_addr_to_v4mapped(&want);
        char a[SF_ADDR_STRLEN];
        if (!sf_addr_eq(&peer, &want))
            snprintf(k->bad, sizeof k->bad, "the peer is %s",
                     sf_addr_fmt(&peer, a, sizeof a));
    }
    return sd < 0 ? sd : new_fd(k->r, sd);
}

static long c_connect(struct call *k)
{
    struct drill_fd *f = arg_fd(k, 0);
    struct sf_addr a = drill_peer_addr(k->r, DRILL_PORT);
    if (k->r->sc->settings.ip_version == DRILL_IPV4_MAPPED)
        a = sf_addr_to_v4mapped(&a);
    if (!f)
        return SF_EBADF;
    long rc = sf_connect(k->r->st, f->sd, &a);
    /* a blocking connect being retried: EALREADY means still connecting */
    if (rc == SF_EALREADY && k->r->pending == k->ev)
        return SF_EINPROGRESS;
    return rc;
}

static long do_recv(struct call *k, int64_t flags)
{
    struct drill_fd *f = arg_fd(k, 0);
    int64_t n = 0;
    if (!f)
        return SF_EBADF;
    if (!arg(k, 2, &n) || n < 0 || n > MAX_IO)
        return SF_EINVAL;
    if (flags & MSG_DONTWAIT_)
        k->blocking = false;
    uint8_t *buf = malloc(n ? (size_t)n : 1);
    if (!buf)
        return SF_ENOMEM;
    long rc = sf_recv(k->r->st, f->sd, buf, (size_t)n,
                      (flags & SF_MSG_PEEK) ? SF_MSG_PEEK : 0);
    /* --check_data: inbound payloads are 'a' + stream offset % 26 (seg.c) */
    for (long i = 0; k->r->sc->settings.check_data && i < rc && !k->bad[0]; i++)
        if (buf[i] != (uint8_t)('a' + (f->read + (uint64_t)i) % 26))
            snprintf(k->bad, sizeof k->bad, "data differs at byte %ld", i);
    if (rc > 0 && !(flags & SF_MSG_PEEK))
        f->read += (uint64_t)rc;
    free(buf);
    return rc;
}

static long c_read(struct call *k)
{
    return do_recv(k, 0);
}

static long c_recv(struct call *k)
{
    int64_t flags = 0;
    arg(k, 3, &flags);
    return do_recv(k, flags);
}

static long do_send(struct call *k, int64_t flags)
{
    struct drill_fd *f = arg_fd(k, 0);
    int64_t n = 0;
    if (!f)
        return SF_EBADF;
    if (!arg(k, 2, &n) || n < 0 || n > MAX_IO)
        return SF_EINVAL;
    if (flags & MSG_DONTWAIT_)
        k->blocking = false;
    uint8_t *buf = malloc(n ? (size_t)n : 1);
    if (!buf)
        return SF_ENOMEM;
    for (int64_t i = 0; i < n; i++) /* a pattern by stream offset */
        buf[i] = (uint8_t)('A' + (f->wrote + (uint64_t)i) % 26);
    long rc = sf_send(k->r->st, f->sd, buf, (size_t)n, 0);
    if (rc > 0)
        f->wrote += (uint64_t)rc;
    free(buf);
    return rc;
}

static long c_write(struct call *k)
{
    return do_send(k, 0);
}

static long c_send(struct call *k)
{
    int64_t flags = 0;
    arg(k, 3, &flags);
    return do_send(k, flags);
}

static long c_shutdown(struct call *k)
{
    struct drill_fd *f = arg_fd(k, 0);
    int64_t how = -1;
    if (!f)
        return SF_EBADF;
    return arg(k, 1, &how) ? sf_shutdown(k->r->st, f->sd, (int)how) : SF_EINVAL;
}

static long c_close(struct call *k)
{
    struct drill_fd *f = arg_fd(k, 0);
    if (!f)
        return SF_EBADF;
    long rc = sf_close(k->r->st, f->sd);
    f->used = false; /* as close(2): the descriptor is gone either way */
    return rc;
}

static long c_fcntl(struct call *k)
{
    struct drill_fd *f = arg_fd(k, 0);
    int64_t cmd = 0, fl = 0;
    if (!f)
        return SF_EBADF;
    if (!arg(k, 1, &cmd))
        return SF_EINVAL;
    if (cmd == F_GETFL_)
        return O_RDWR_ | (f->nonblock ? O_NONBLOCK_ : 0);
    if (cmd != F_SETFL_ || !arg(k, 2, &fl))
        return SF_EINVAL;
    f->nonblock = (fl & O_NONBLOCK_) != 0;
    return 0;
}

/* The value of an option argument: [n], {onoff=1, linger=0}, or n. */
static bool opt_value(const struct drill_expr *e, struct sf_linger *lg,
                      int64_t *v, bool *is_linger)
{
    *is_linger = e->kind == EX_STRUCT;
    if (!*is_linger)
        return drill_eval(e, v);
    for (size_t i = 0; i < e->nkids; i++) {
        int64_t x;
        if (!drill_eval(&e->kids[i], &x))
            return false;
        if (!strcmp(e->kids[i].field, "onoff"))
            lg->l_onoff = (int)x;
        else if (!strcmp(e->kids[i].field, "linger"))
            lg->l_linger = (int)x;
        else
            return false;
    }
    return true;
}

/* The length argument of a string option ("cubic", 5): the fifth
 * argument, n or [n], else the string's own length. */
static size_t str_len_arg(struct call *k, const char *s)
{
    int64_t n;
    if (k->c->nargs >= 5 && drill_eval(&k->c->args[4], &n) && n >= 0)
        return (size_t)n;
    return strlen(s);
}

static long c_setsockopt(struct call *k)
{
    struct drill_fd *f = arg_fd(k, 0);
    int64_t level, name, v = 0;
    struct sf_linger lg = {0, 0};
    bool is_linger;
    if (!f)
        return SF_EBADF;
    if (!arg(k, 1, &level) || !arg(k, 2, &name) || k->c->nargs < 4)
        return SF_EINVAL;
    if (k->c->args[3].kind == EX_STRING) { /* TCP_CONGESTION's name */
        const char *s = k->c->args[3].name;
        size_t n = str_len_arg(k, s);
        return sf_setsockopt(k->r->st, f->sd, (int)level, (int)name, s,
                             n < strlen(s) ? n : strlen(s));
    }
    if (!opt_value(&k->c->args[3], &lg, &v, &is_linger))
        return SF_EINVAL;
    int iv = (int)v;
    if (is_linger)
        return sf_setsockopt(k->r->st, f->sd, (int)level, (int)name, &lg, sizeof lg);
    return sf_setsockopt(k->r->st, f->sd, (int)level, (int)name, &iv, sizeof iv);
}

/* getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "cubic", 16): the value
 * returned, up to its first NUL, must be the string (... : any). */
static long getsockopt_string(struct call *k, struct drill_fd *f, int level,
                              int name, const struct drill_expr *we)
{
    char buf[64] = {0};
    size_t len = we->kind == EX_STRING ? str_len_arg(k, we->name) : 16;
    if (k->c->nargs < 5)
        len = 16;
    if (len > sizeof buf - 1)
        len = sizeof buf - 1;
    long rc = sf_getsockopt(k->r->st, f->sd, level, name, buf, &len);
    if (rc < 0 || we->kind == EX_ELLIPSIS)
        return rc;
    if (we->kind != EX_STRING)
        return SF_EINVAL;
    if (strcmp(buf, we->name))
        snprintf(k->bad, sizeof k->bad, "option value \"%.40s\"", buf);
    return rc;
}

static long c_getsockopt(struct call *k)
{
    struct drill_fd *f = arg_fd(k, 0);
    int64_t level, name, want = 0;
    struct sf_linger lg = {0, 0}, wlg = {0, 0};
    bool is_linger;
    int iv = 0;
    if (!f)
        return SF_EBADF;
    if (!arg(k, 1, &level) || !arg(k, 2, &name) || k->c->nargs < 4)
        return SF_EINVAL;
    const struct drill_expr *we = &k->c->args[3];
    if (we->kind == EX_STRING ||
        (level == SF_IPPROTO_TCP && name == SF_TCP_CONGESTION))
        return getsockopt_string(k, f, (int)level, (int)name, we);
    bool check = we->kind != EX_ELLIPSIS;
    if (check && !opt_value(we, &wlg, &want, &is_linger))
        return SF_EINVAL;
    bool linger = level == SF_SOL_SOCKET && name == SF_SO_LINGER;
    size_t len = linger ? sizeof lg : sizeof iv;
    long rc = sf_getsockopt(k->r->st, f->sd, (int)level, (int)name,
                            linger ? (void *)&lg : (void *)&iv, &len);
    if (rc < 0 || !check)
        return rc;
    if (linger && (lg.l_onoff != wlg.l_onoff || lg.l_linger != wlg.l_linger))
        snprintf(k->bad, sizeof k->bad, "option value {onoff=%d, linger=%d}",
                 lg.l_onoff, lg.l_linger);
    else if (!linger && iv != want) {
        const char *en = iv < 0 ? sf_errname(iv) : NULL;
        if (en)
            snprintf(k->bad, sizeof k->bad, "option value [%s]", en);
        else
            snprintf(k->bad, sizeof k->bad, "option value [%d]", iv);
    }
    return rc;
}

static long c_poll(struct call *k)
{
    const struct drill_expr *fds = k->c->nargs ? &k->c->args[0] : NULL;
    int64_t timeout = 0;
    long ready = 0;
    if (!fds || fds->kind != EX_LIST)
        return SF_EINVAL;
    arg(k, 2, &timeout);
    for (size_t i = 0; i < fds->nkids; i++) {
        const struct drill_expr *s = &fds->kids[i];
        int64_t fd = -1, events = 0, want = -1, x;
        for (size_t j = 0; s->kind == EX_STRUCT && j < s->nkids; j++) {
            if (!drill_eval(&s->kids[j], &x))
                return SF_EINVAL;
            const char *fl = s->kids[j].field;
            *(!strcmp(fl, "fd") ? &fd : !strcmp(fl, "events") ? &events : &want) = x;
        }
        unsigned rev = SF_POLLERR | SF_POLLHUP;
        if (fd >= 0 && fd < DRILL_MAX_FDS && k->r->fds[fd].used)
            rev = sf_poll(k->r->st, k->r->fds[fd].sd);
        rev &= (unsigned)events | SF_POLLERR | SF_POLLHUP;
        ready += rev != 0;
        if (want >= 0 && rev != (unsigned)want && !k->bad[0])
            snprintf(k->bad, sizeof k->bad, "fd %" PRId64 " revents 0x%x", fd, rev);
    }
    k->blocking = timeout != 0;
    return ready || !k->blocking ? ready : SF_EAGAIN;
}

/* abort_all(): synfin's own, not a system call: sf_stack_abort_all (RFC
 * 9293 3.10.5 ABORT for every connection, with or without a descriptor,
 * what synfin serve, connect and tun2socks do when --grace runs out);
 * returns how many it aborted. */
static long c_abort_all(struct call *k)
{
    return sf_stack_abort_all(k->r->st);
}

static const struct {
    const char *name;
    long (*fn)(struct call *k);
} calls[] = {
    {"socket", c_socket}, {"bind", c_bind}, {"listen", c_listen},
    {"accept", c_accept}, {"connect", c_connect}, {"read", c_read},
    {"recv", c_recv}, {"write", c_write}, {"send", c_send},
    {"shutdown", c_shutdown}, {"close", c_close}, {"fcntl", c_fcntl},
    {"setsockopt", c_setsockopt}, {"getsockopt", c_getsockopt},
    {"poll", c_poll}, {"abort_all", c_abort_all},
};

static void fmt_result(long rc, char *out, size_t n)
{
    if (rc < 0)
        snprintf(out, n, "-1 %s (%s)", sf_errname((int)rc) ? sf_errname((int)rc) : "?",
                 sf_strerror((int)rc));
    else
        snprintf(out, n, "%ld", rc);
}

static void check_result(struct call *k, long rc)
{
    struct drill_runner *r = k->r;
    const struct drill_call *c = k->c;
    int64_t want = 0, werr = 0;
    char exp[160], act[400];
    bool ok_eval = drill_eval(&c->ret, &want);
    bool ok = ok_eval && (rc < 0 ? c->errname && drill_symbol(c->errname, &werr) &&
                                       werr == rc && want == -1
                                 : !c->errname && want == rc);
    if (ok && !k->bad[0])
        return;
    if (c->errname)
        snprintf(exp, sizeof exp, "%s() = %" PRId64 " %s", c->name, want, c->errname);
    else
        snprintf(exp, sizeof exp, "%s() = %" PRId64, c->name, want);
    char res[120];
    fmt_result(rc, res, sizeof res);
    if (!ok)
        snprintf(act, sizeof act, "%s() = %s", c->name, res);
    else
        snprintf(act, sizeof act, "%s() = %s, but %s", c->name, res, k->bad);
    if (ok)
        snprintf(exp + strlen(exp), sizeof exp - strlen(exp),
                 " with the script's value");
    drill_fail(r, k->ev->line, ok ? "system call returned a wrong value"
               : rc < 0 || c->errname ? "system call result or errno mismatch"
                                      : "system call result mismatch",
               exp, r->now, act, r->now);
}

bool drill_call_run(struct drill_runner *r, const struct drill_event *ev,
                    bool may_block)
{
    struct call k = {.r = r, .ev = ev, .c = &ev->call};
    long rc = SF_EOPNOTSUPP;
    size_t i;
    for (i = 0; i < sizeof calls / sizeof calls[0]; i++)
        if (!strcmp(calls[i].name, k.c->name))
            break;
    if (i == sizeof calls / sizeof calls[0]) {
        drill_fail(r, ev->line, "unsupported system call", NULL, 0, k.c->name, r->now);
        return true;
    }
    rc = calls[i].fn(&k);
    bool would_block = rc == SF_EAGAIN || rc == SF_EINPROGRESS;
    if (may_block && k.blocking && would_block)
        return false; /* packetdrill's blocking call: retried later */
    if (r->ctx->verbose) {
        char res[120];
        fmt_result(rc, res, sizeof res);
        printf("  %10.6f   %s() = %s\n", (double)r->now / (double)SF_SEC,
               k.c->name, res);
    }
    check_result(&k, rc);
    return true;
}
