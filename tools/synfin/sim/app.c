/* synfin sim: each host's application, a tiny HTTP/1.0-like client or
 * server (or the bulk scenario's sender and receiver, scenarios.c), driven
 * by the sim's application hook. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_int.h"

size_t response_len(void)
{
    char head[96];
    return (size_t)snprintf(head, sizeof head,
                            "HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n",
                            BODY_LEN) + BODY_LEN;
}

static void make_response(char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n",
                     BODY_LEN);
    for (size_t i = (size_t)n; i < (size_t)n + BODY_LEN && i < cap; i++)
        buf[i] = "synfin says hello, "[i % 19];
}

void app_close(struct run *r, int h)
{
    struct app *a = &r->app[h];
    if (a->sd >= 0 && !a->closed)
        sf_close(stk(r, h), a->sd);
    a->closed = true;
}

static void app_read(struct run *r, int h)
{
    struct app *a = &r->app[h];
    char buf[2048];
    for (;;) {
        long n = sf_recv(stk(r, h), a->sd, buf, sizeof buf, 0);
        if (n > 0) {
            a->got += (size_t)n;
            continue;
        }
        if (n == 0)
            a->eof = true;
        else if (n != SF_EAGAIN)
            a->err = (int)n;
        return;
    }
}

/* Active side: finish connecting, send the request, read the answer. */
static void client_step(struct run *r, int h)
{
    struct app *a = &r->app[h];
    if (a->sd < 0 || a->closed || a->err)
        return;
    if (!a->connected) {
        int c = sf_connect(stk(r, h), a->sd, &a->remote);
        if (c == SF_EALREADY || c == SF_EINPROGRESS)
            return;
        if (c != 0 && c != SF_EISCONN) {
            a->err = c;
            app_close(r, h);
            return;
        }
        a->connected = true;
    }
    if (a->role == R_CLIENT && !a->req_sent) {
        sf_send(stk(r, h), a->sd, r->request, strlen(r->request), 0);
        a->req_sent = true;
        if (a->cm == CM_SHUT_AFTER_REQUEST)
            sf_shutdown(stk(r, h), a->sd, SF_SHUT_WR);
    }
    app_read(r, h);
    if (a->got >= response_len() && a->cm == CM_ABORT_AFTER_RESPONSE) {
        struct sf_linger lg = {1, 0};
        sf_setsockopt(stk(r, h), a->sd, SF_SOL_SOCKET, SF_SO_LINGER, &lg,
                      sizeof lg);
        app_close(r, h);
    } else if ((a->got >= response_len() && a->cm == CM_AFTER_RESPONSE) ||
               (a->eof && a->close_on_eof) || a->err) {
        app_close(r, h);
    }
}

static void stream_chunk(void *ctx, struct sf_sim *sim, int h);

/* Passive side: accept, read the request, answer, close after EOF. */
static void server_step(struct run *r, int h)
{
    struct app *a = &r->app[h];
    if (a->sd < 0 && a->lsd >= 0) {
        int sd = sf_accept(stk(r, h), a->lsd, NULL);
        if (sd < 0)
            return;
        a->sd = sd;
    }
    if (a->sd < 0 || a->closed)
        return;
    bool had_eof = a->eof;
    app_read(r, h);
    if (a->respond && !a->resp_sent && a->got >= strlen(r->request)) {
        char resp[512];
        make_response(resp, sizeof resp);
        sf_send(stk(r, h), a->sd, resp, response_len(), 0);
        a->resp_sent = true;
    }
    if (a->err) {
        app_close(r, h);
    } else if (a->eof && !had_eof && a->stream_after_eof) {
        sf_sim_at(r->sim, sf_sim_now(r->sim) + 50 * SF_MSEC, h, stream_chunk, r);
    } else if (a->eof && a->close_on_eof) {
        app_close(r, h);
    }
}

/* Half-close: the server keeps sending after the client's FIN. */
static void stream_chunk(void *ctx, struct sf_sim *sim, int h)
{
    struct run *r = ctx;
    struct app *a = &r->app[h];
    char chunk[200];
    memset(chunk, 'x', sizeof chunk);
    if (a->closed)
        return;
    sf_send(stk(r, h), a->sd, chunk, sizeof chunk, 0);
    if (++a->streamed < 3)
        sf_sim_at(sim, sf_sim_now(sim) + 50 * SF_MSEC, h, stream_chunk, r);
    else
        app_close(r, h);
}

void app_hook(void *ctx, struct sf_sim *sim, int h)
{
    struct run *r = ctx;
    (void)sim;
    if (h < 0 || h >= r->nh)
        return;
    if (r->app[h].role == R_BULK)
        bulk_step(r, h);
    else if (r->app[h].role == R_SERVER)
        server_step(r, h);
    else if (r->app[h].role != R_NONE)
        client_step(r, h);
}
