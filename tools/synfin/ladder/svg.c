/* SVG ladder (see svg.h). The vertical axis is time, but not linear: each
 * row of the ladder gets at least ROW_GAP pixels so no two labels meet,
 * short intervals add up to MAX_STRETCH more, and intervals of a second
 * or more are drawn as a break. Labels sit at their row, beside the
 * sender's lifeline, with a white halo so crossing arrows stay readable. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ladder/svg.h"

#define ROW_GAP 22.0
#define MAX_STRETCH 30.0
#define BREAK_GAP 50.0
#define TOP 96.0
#define AXIS_X 86.0
#define LEFT_X 330.0
#define CHAR_W 7.3 /* monospace 12px */

struct layout {
    const struct ladder_view *v;
    double *y;       /* y of each row */
    double xl, xr;   /* lifelines (xr == xl with one column) */
    double bottom, width;
};

static void esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t')
                fputc(*s, f);
        }
    }
}

/* Display columns of UTF-8 text (continuation bytes do not count). */
static size_t ncols(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void place_rows(struct layout *L)
{
    const struct ladder_view *v = L->v;
    double y = TOP + 40;
    size_t w = 40;
    for (size_t i = 0; i < v->n; i++) {
        const struct ladder_row *r = &v->rows[i];
        if (i) {
            sf_time_t dt = r->t > v->rows[i - 1].t ? r->t - v->rows[i - 1].t : 0;
            double s = (double)dt / (double)(10 * SF_MSEC) * MAX_STRETCH;
            y += dt >= SF_SEC ? BREAK_GAP : ROW_GAP + (s < MAX_STRETCH ? s : MAX_STRETCH);
        }
        L->y[i] = y;
        size_t lw = ncols(r->text) + (r->kind == ROW_SEG ? ncols(r->note) + 4 : 0);
        if (r->kind == ROW_SEG && lw > w)
            w = lw;
    }
    L->bottom = y + 50;
    double span = (double)w * CHAR_W + 60;
    L->xl = LEFT_X;
    L->xr = v->ncols == 2 ? LEFT_X + (span > 620 ? span : 620) : LEFT_X;
    L->width = (v->ncols == 2 ? L->xr : L->xl + span) + 250;
}

/* y of time t, looking after row i: the first row at t, or interpolated
 * between the rows around it. */
static double y_at(const struct layout *L, size_t i, sf_time_t t)
{
    const struct ladder_view *v = L->v;
    for (size_t j = i + 1; j < v->n; j++) {
        if (v->rows[j].t < t)
            continue;
        const struct ladder_row *p = &v->rows[j - 1];
        if (v->rows[j].t == t || p->t >= t)
            return L->y[j];
        double k = (double)(t - p->t) / (double)(v->rows[j].t - p->t);
        return L->y[j - 1] + k * (L->y[j] - L->y[j - 1]);
    }
    return (v->n ? L->y[v->n - 1] : TOP) + ROW_GAP;
}

static const char *state_fill(enum sf_state s)
{
    static const char *const c[SF_NSTATES] = {
        [SF_CLOSED] = "#d9d9d9", [SF_LISTEN] = "#b3d4ff",
        [SF_SYN_SENT] = "#ffe28a", [SF_SYN_RCVD] = "#ffcf8a",
        [SF_ESTABLISHED] = "#9fe39f", [SF_FIN_WAIT_1] = "#f7b6c8",
        [SF_FIN_WAIT_2] = "#f19bb6", [SF_CLOSE_WAIT] = "#cdb8f6",
        [SF_CLOSING] = "#f9a679", [SF_LAST_ACK] = "#b19be0",
        [SF_TIME_WAIT] = "#ff9f9f"};
    return (unsigned)s < SF_NSTATES && c[s] ? c[s] : "#eeeeee";
}

static const char *seg_stroke(const struct ladder_row *r)
{
    if (r->flags & LADDER_OLD)
        return "#d97706";
    if (!strncmp(r->text, "RST", 3) || strstr(r->text, ",RST"))
        return "#c62828";
    if (strstr(r->text, "SYN"))
        return "#00838f";
    if (strstr(r->text, "FIN"))
        return "#8e24aa";
    if (strstr(r->text, " len="))
        return "#1565c0";
    return "#333333";
}

static double col_x(const struct layout *L, int c)
{
    return c ? L->xr : L->xl;
}

static void band(FILE *f, const struct layout *L, int c, double y0, double y1,
                 enum sf_state s)
{
    if (y1 <= y0)
        return;
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"%.1f\" "
            "fill=\"%s\" stroke=\"#777\" stroke-width=\"0.5\"/>\n",
            col_x(L, c) - 7, y0, y1 - y0, state_fill(s));
}

/* The coloured band of each state along each lifeline. */
static void draw_bands(FILE *f, const struct layout *L)
{
    const struct ladder_view *v = L->v;
    for (int c = 0; c < v->ncols; c++) {
        double y0 = TOP + 20;
        bool any = false;
        enum sf_state cur = SF_CLOSED;
        for (size_t i = 0; i < v->n; i++) {
            const struct ladder_row *r = &v->rows[i];
            if (r->kind != ROW_STATE || r->col != c)
                continue;
            band(f, L, c, y0, L->y[i], any ? cur : r->from);
            any = true;
            cur = r->state;
            y0 = L->y[i];
        }
        if (any)
            band(f, L, c, y0, L->bottom - 20, cur);
    }
}

/* The state name beside the band, on the outer side of the lifeline. */
static void draw_state_label(FILE *f, const struct layout *L,
                             const struct ladder_row *r, double y)
{
    bool right = r->col == 1 || L->v->ncols == 1;
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" class=\"st\">",
            col_x(L, r->col) + (right ? 12 : -12), y + 4,
            right ? "start" : "end");
    if (right)
        fprintf(f, "<tspan class=\"sn\">%s</tspan> <tspan class=\"cause\">",
                sf_state_name(r->state));
    else
        fputs("<tspan class=\"cause\">", f);
    esc(f, r->note);
    fputs("</tspan>", f);
    if (!right)
        fprintf(f, " <tspan class=\"sn\">%s</tspan>", sf_state_name(r->state));
    fputs("</text>\n", f);
}

static void draw_cross(FILE *f, double x, double y)
{
    fprintf(f, "<path d=\"M%.1f %.1fl10 10m0 -10l-10 10\" stroke=\"#c62828\" "
            "stroke-width=\"2.5\"/>\n", x - 5, y - 5);
}

/* Where the arrow ends: arrival, a cross short of the peer, or (from a
 * capture, with no arrival time) a small fixed slope. */
static void seg_end(const struct layout *L, size_t i, double *x1, double *y1)
{
    const struct ladder_row *r = &L->v->rows[i];
    double x0 = col_x(L, r->col), span = col_x(L, r->to) - x0;
    *x1 = x0 + (r->lost ? 0.62 * span : span);
    if (r->lost)
        *y1 = L->y[i] + 0.62 * ROW_GAP;
    else if (r->flags & LADDER_CAPTURED)
        *y1 = L->y[i] + 0.5 * ROW_GAP;
    else {
        *y1 = y_at(L, i, r->arrive);
        if (*y1 < L->y[i] + 6)
            *y1 = L->y[i] + 6;
    }
}

static void draw_seg(FILE *f, const struct layout *L, size_t i)
{
    const struct ladder_row *r = &L->v->rows[i];
    double x0 = col_x(L, r->col), y0 = L->y[i], x1, y1;
    const char *c = seg_stroke(r);
    bool loop = L->v->ncols == 1, right = r->to >= r->col;
    seg_end(L, i, &x1, &y1);
    if (loop) { /* out to the right and back to the same lifeline */
        y1 = r->lost ? y0 + 0.6 * ROW_GAP : y_at(L, i, r->arrive);
        fprintf(f, "<path d=\"M%.1f %.1fL%.1f %.1f%s\" fill=\"none\" "
                "stroke=\"%s\" stroke-width=\"1.6\"%s/>\n", x0, y0, x0 + 90,
                (y0 + y1) / 2, r->lost ? "" : "", c,
                r->lost ? "" : " marker-end=\"url(#ah)\"");
        if (!r->lost)
            fprintf(f, "<path d=\"M%.1f %.1fL%.1f %.1f\" fill=\"none\" "
                    "stroke=\"%s\" stroke-width=\"1.6\" marker-end=\"url(#ah)\"/>\n",
                    x0 + 90, (y0 + y1) / 2, x0 + 2, y1, c);
        else
            draw_cross(f, x0 + 90, (y0 + y1) / 2);
    } else {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"%s\" stroke-width=\"1.6\"%s%s/>\n", x0, y0,
                r->lost ? x1 : x1 + (right ? -1 : 1), y1, c,
                r->flags & (LADDER_DUP | LADDER_OLD) ? " stroke-dasharray=\"6 3\"" : "",
                r->lost ? "" : " marker-end=\"url(#ah)\"");
        if (r->lost)
            draw_cross(f, x1, y1);
    }
    double lx = loop ? x0 + 100 : right ? x0 + 14 : x0 - 14;
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" class=\"seg\" "
            "fill=\"%s\">", lx, y0 - 4 + (loop ? 6 : 0),
            right ? "start" : "end", c);
    esc(f, r->text);
    if (r->note[0] && (r->lost || strncmp(r->note, "arrives", 7) != 0 ||
                       strchr(r->note, ','))) {
        const char *n = strncmp(r->note, "arrives", 7) ? r->note
                        : strchr(r->note, ',') + 2;
        fputs(" <tspan class=\"flag\">(", f);
        esc(f, n);
        fputs(")</tspan>", f);
    }
    fputs("</text>\n", f);
}

/* Drops, timers and notes: beside the lifeline, on the inner side. */
static void draw_side_text(FILE *f, const struct layout *L, size_t i)
{
    const struct ladder_row *r = &L->v->rows[i];
    bool right = r->col == 1;
    const char *cls = r->kind == ROW_DROP ? "drop" : r->kind == ROW_TIMER
                      ? "timer" : "note";
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" class=\"%s\">",
            col_x(L, r->col) + (right ? -14 : 14), L->y[i] + 4,
            right ? "end" : "start", cls);
    esc(f, r->text);
    if (r->kind == ROW_DROP && r->note[0]) {
        fputs(" (", f);
        esc(f, r->note);
        fputs(")", f);
    }
    fputs("</text>\n", f);
}

static void fmt_time(char *b, size_t n, sf_time_t t)
{
    if (t < 10 * SF_SEC)
        snprintf(b, n, "%.3f ms", (double)t / (double)SF_MSEC);
    else
        snprintf(b, n, "%.3f s", (double)t / (double)SF_SEC);
}

/* Tick labels at each new time, and break marks across long gaps. */
static void draw_axis(FILE *f, const struct layout *L)
{
    const struct ladder_view *v = L->v;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "class=\"axis\"/>\n", AXIS_X, TOP + 20, AXIS_X, L->bottom - 20);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
            "class=\"head\">time</text>\n", AXIS_X + 6, TOP + 6);
    for (size_t i = 0; i < v->n; i++) {
        char b[48];
        if (i && v->rows[i].t - v->rows[i - 1].t >= SF_SEC) {
            double ym = (L->y[i] + L->y[i - 1]) / 2;
            snprintf(b, sizeof b, "⋮ %.3f s later",
                     (double)(v->rows[i].t - v->rows[i - 1].t) / (double)SF_SEC);
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"gap\">%s</text>\n",
                    AXIS_X + 8, ym + 4, b);
            for (int c = 0; c < v->ncols; c++)
                fprintf(f, "<path d=\"M%.1f %.1fl20 -6m-20 12l20 -6\" "
                        "class=\"brk\"/>\n", col_x(L, c) - 10, ym);
        }
        if (i && v->rows[i].t == v->rows[i - 1].t)
            continue;
        fmt_time(b, sizeof b, v->rows[i].t);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "class=\"axis\"/><text x=\"%.1f\" y=\"%.1f\" "
                "text-anchor=\"end\" class=\"tick\">%s</text>\n",
                AXIS_X - 3, L->y[i], AXIS_X + 3, L->y[i], AXIS_X - 6,
                L->y[i] + 4, b);
    }
}

static void draw_head(FILE *f, const struct layout *L)
{
    const struct ladder_view *v = L->v;
    fprintf(f, "<text x=\"20\" y=\"30\" class=\"title\">");
    esc(f, v->title);
    fputs("</text>\n", f);
    for (int c = 0; c < v->ncols; c++) {
        char a[SF_ADDR_STRLEN];
        ladder_col_addr(v, c, a, sizeof a);
        double x = col_x(L, c);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                "class=\"head\">", x, TOP - 14);
        esc(f, v->name[c]);
        fprintf(f, "</text>\n<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                "class=\"addr\">%s</text>\n", x, TOP + 2, a);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "class=\"life\"/>\n", x, TOP + 12, x, L->bottom - 12);
    }
}

static const char STYLE[] =
    "<style>\n"
    "text{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:12px}\n"
    ".title{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;font-size:17px;font-weight:bold}\n"
    ".head{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;font-size:15px;font-weight:bold}\n"
    ".addr{fill:#555;font-size:11px}\n"
    ".seg,.drop,.timer,.note,.st{paint-order:stroke;stroke:#fff;stroke-width:4px;stroke-linejoin:round}\n"
    ".sn{font-weight:bold}\n.cause{fill:#666;font-size:10px}\n"
    ".flag{fill:#c62828;font-size:11px}\n.drop{fill:#c62828}\n"
    ".timer{fill:#b45309}\n.note{fill:#777;font-size:11px}\n"
    ".tick{fill:#555;font-size:10.5px}\n.gap{fill:#555;font-size:11px;font-style:italic}\n"
    ".axis{stroke:#999;stroke-width:1}\n.life{stroke:#444;stroke-width:2}\n"
    ".brk{stroke:#444;stroke-width:1.5;fill:none}\n"
    "</style>\n";

void svg_write(const struct ladder_view *v, FILE *f)
{
    struct layout L = {.v = v};
    L.y = calloc(v->n ? v->n : 1, sizeof *L.y);
    if (!L.y)
        return;
    place_rows(&L);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
            "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n", L.width, L.bottom,
            L.width, L.bottom);
    fputs(STYLE, f);
    fputs("<defs><marker id=\"ah\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
          "markerWidth=\"9\" markerHeight=\"9\" orient=\"auto\" "
          "markerUnits=\"userSpaceOnUse\"><path d=\"M0 0L10 5L0 10z\" "
          "fill=\"context-stroke\"/></marker></defs>\n", f);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n");
    draw_head(f, &L);
    draw_axis(f, &L);
    draw_bands(f, &L);
    for (size_t i = 0; i < v->n; i++)
        if (v->rows[i].kind == ROW_SEG)
            draw_seg(f, &L, i);
    for (size_t i = 0; i < v->n; i++) {
        if (v->rows[i].kind == ROW_STATE)
            draw_state_label(f, &L, &v->rows[i], L.y[i]);
        else if (v->rows[i].kind != ROW_SEG)
            draw_side_text(f, &L, i);
    }
    fputs("</svg>\n", f);
    free(L.y);
}

int svg_write_file(const struct ladder *l, const char *path, char *err,
                   size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    struct ladder_view v;
    ladder_get_view(l, &v);
    svg_write(&v, f);
    if (ferror(f) | fclose(f)) {
        snprintf(err, errlen, "%s: write failed", path);
        return -1;
    }
    return 0;
}
