/* The ladder diagram on a terminal (see ladder.h): drawn from the model's
 * view, with the arrow span sized to the widest label. */
#include <stdio.h>
#include <string.h>

#include "ladder/ladder.h"

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_DIM "\033[2m"
#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_BLUE "\033[34m"
#define C_MAGENTA "\033[35m"
#define C_CYAN "\033[36m"

#define MARGIN 12 /* "%10.3f  " */

/* Display width of UTF-8 text: one column a character, two for CJK. */
static int cp_width(uint32_t cp)
{
    return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                   (cp >= 0xAC00 && cp <= 0xD7A3) ||
                   (cp >= 0xF900 && cp <= 0xFAFF) ||
                   (cp >= 0xFE30 && cp <= 0xFE4F) ||
                   (cp >= 0xFF00 && cp <= 0xFF60) ||
                   (cp >= 0xFFE0 && cp <= 0xFFE6)
               ? 2 : 1;
}

/* Decodes one UTF-8 character at s; returns its byte length (>= 1). */
static int utf8_next(const char *s, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    int n = u[0] < 0x80 ? 1 : u[0] < 0xE0 ? 2 : u[0] < 0xF0 ? 3 : 4;
    uint32_t c = n == 1 ? u[0] : u[0] & (0x3F >> (n - 1));
    for (int i = 1; i < n; i++) {
        if ((u[i] & 0xC0) != 0x80)
            return *cp = 0xFFFD, i;
        c = c << 6 | (u[i] & 0x3F);
    }
    *cp = c;
    return n;
}

static int text_width(const char *s)
{
    int w = 0;
    uint32_t cp;
    while (*s) {
        s += utf8_next(s, &cp);
        w += cp_width(cp);
    }
    return w;
}

static void put_rep(FILE *f, const char *s, int n)
{
    for (int i = 0; i < n; i++)
        fputs(s, f);
}

struct pen {
    FILE *f;
    bool color;
};

static void ink(const struct pen *p, const char *code)
{
    if (p->color)
        fputs(code, p->f);
}

static const char *seg_color(const struct ladder_row *r)
{
    if (r->flags & LADDER_OLD)
        return C_YELLOW;
    if (strncmp(r->text, "RST", 3) == 0 || strstr(r->text, ",RST"))
        return C_RED;
    if (strstr(r->text, "SYN"))
        return C_CYAN;
    if (strstr(r->text, "FIN"))
        return C_MAGENTA;
    if (strstr(r->text, " len="))
        return C_BLUE;
    return "";
}

static const char *row_color(const struct ladder_row *r)
{
    switch (r->kind) {
    case ROW_SEG:
        return seg_color(r);
    case ROW_STATE:
        return r->state == SF_ESTABLISHED ? C_BOLD C_GREEN : C_BOLD C_YELLOW;
    case ROW_DROP:
        return C_RED;
    case ROW_TIMER:
        return C_YELLOW;
    case ROW_NOTE:
        return C_DIM;
    }
    return "";
}

/* The arrow inside the middle span of width aw. */
static void draw_arrow(const struct pen *p, const struct ladder_row *r, int aw)
{
    int lw = text_width(r->text) + 2;
    bool right = r->to > r->col;
    const char *c = seg_color(r);
    if (r->lost) {
        int gap = aw - lw - 5;
        if (!right)
            put_rep(p->f, " ", gap);
        ink(p, c);
        if (!right) {
            ink(p, C_RED);
            fputs("✗", p->f);
            ink(p, C_RESET);
            ink(p, c);
        }
        fprintf(p->f, "── %s ──", r->text);
        if (right) {
            ink(p, C_RED);
            fputs("✗", p->f);
        }
        ink(p, C_RESET);
        if (right)
            put_rep(p->f, " ", gap);
        return;
    }
    int dashes = aw - lw - 1, a = dashes / 2, b = dashes - a;
    ink(p, c);
    if (!right)
        fputs("◀", p->f);
    put_rep(p->f, "─", a);
    fprintf(p->f, " %s ", r->text);
    put_rep(p->f, "─", b);
    if (right)
        fputs("▶", p->f);
    ink(p, C_RESET);
}

/* Text beside a lifeline: after the left one, or before the right one. */
static void draw_label(const struct pen *p, const struct ladder_row *r, int aw,
                       bool at_right)
{
    int pad = aw - text_width(r->text) - 2;
    if (pad < 0)
        pad = 0;
    if (at_right)
        put_rep(p->f, " ", pad + 1);
    else
        fputs(" ", p->f);
    ink(p, row_color(r));
    fputs(r->text, p->f);
    ink(p, C_RESET);
    if (at_right)
        fputs(" ", p->f);
    else
        put_rep(p->f, " ", pad + 1);
}

static void draw_margin(const struct pen *p, const char *s)
{
    ink(p, C_DIM);
    fprintf(p->f, "%10s  ", s);
    ink(p, C_RESET);
}

static void draw_note(const struct pen *p, const char *note)
{
    if (!note[0])
        return;
    ink(p, C_DIM);
    fprintf(p->f, "  %s", note);
    ink(p, C_RESET);
}

/* A self-addressed segment on a one-lifeline ladder: out and back. */
static void draw_loop(const struct pen *p, const struct ladder_row *r, int aw)
{
    int w = text_width(r->text) + 6;
    if (w > aw)
        w = aw;
    ink(p, seg_color(r));
    fprintf(p->f, "├── %s ─%s", r->text, r->lost ? "✗" : "╮");
    ink(p, C_RESET);
    put_rep(p->f, " ", aw - w);
    draw_note(p, r->note);
    fputc('\n', p->f);
    draw_margin(p, "");
    ink(p, seg_color(r));
    if (r->lost)
        fputs("│", p->f);
    else {
        fputs("│◀", p->f);
        put_rep(p->f, "─", w - 2);
        fputs("╯", p->f);
    }
    ink(p, C_RESET);
}

static void draw_row(const struct pen *p, const struct ladder_view *v,
                     const struct ladder_row *r, int aw)
{
    char t[32];
    snprintf(t, sizeof t, "%.3f", (double)r->t / (double)SF_MSEC);
    draw_margin(p, t);
    if (v->ncols == 1 && r->kind == ROW_SEG) {
        draw_loop(p, r, aw);
        fputc('\n', p->f);
        return;
    }
    bool seg = r->kind == ROW_SEG;
    fputs(seg && r->col == 0 ? "├" : "│", p->f);
    if (seg)
        draw_arrow(p, r, aw);
    else
        draw_label(p, r, aw, r->col == 1);
    if (v->ncols == 2)
        fputs(seg && r->col == 1 ? "┤" : "│", p->f);
    draw_note(p, r->note);
    fputc('\n', p->f);
}

/* An empty stretch of the lifelines, with text in the margin or middle. */
static void draw_blank(const struct pen *p, const struct ladder_view *v, int aw,
                       const char *margin, const char *mid, const char *c)
{
    draw_margin(p, margin);
    fputs("│", p->f);
    int w = mid ? text_width(mid) : 0;
    if (mid) {
        ink(p, c);
        fputs(mid, p->f);
        ink(p, C_RESET);
    }
    if (v->ncols == 2) {
        put_rep(p->f, " ", aw - w > 0 ? aw - w : 0);
        fputs("│", p->f);
    }
    fputc('\n', p->f);
}

/* True if the character at s is one of those in set. */
static bool strchr_utf8(const char *set, const char *s)
{
    uint32_t c, k;
    utf8_next(s, &c);
    while (*set) {
        set += utf8_next(set, &k);
        if (k == c)
            return true;
    }
    return false;
}

/* Wraps an explanation to the middle span, each line between lifelines. */
static void draw_why(const struct pen *p, const struct ladder_view *v,
                     const char *why, int aw)
{
    int max = aw - 6;
    const char *s = why;
    while (*s) {
        const char *cut = s, *space = NULL;
        int w = 0;
        uint32_t cp;
        while (*cut) {
            int n = utf8_next(cut, &cp);
            if (w + cp_width(cp) > max)
                break;
            if (cp == ' ')
                space = cut;
            w += cp_width(cp);
            cut += n;
        }
        if (*cut && space && space > s && cp < 0x80)
            cut = space; /* break English at a space */
        else if (*cut && cp >= 0x3000 && strchr_utf8("。，；：）、", cut))
            cut += utf8_next(cut, &cp); /* no line starts with punctuation */
        char line[512];
        size_t len = (size_t)(cut - s) < sizeof line - 8 ? (size_t)(cut - s)
                                                          : sizeof line - 8;
        snprintf(line, sizeof line, "  %s %.*s", s == why ? "↳" : " ",
                 (int)len, s);
        draw_blank(p, v, aw, "", line, C_CYAN);
        s += len;
        while (*s == ' ')
            s++;
    }
}

static int arrow_span(const struct ladder_view *v)
{
    int aw = 52;
    for (size_t i = 0; i < v->n; i++) {
        int w = text_width(v->rows[i].text) + (v->rows[i].kind == ROW_SEG ? 8 : 4);
        if (w > aw)
            aw = w;
    }
    return aw;
}

static void draw_header(const struct pen *p, const struct ladder_view *v, int aw)
{
    if (v->title[0]) {
        ink(p, C_BOLD);
        fprintf(p->f, "%s", v->title);
        ink(p, C_RESET);
        fputs("\n\n", p->f);
    }
    char name[2][96];
    for (int c = 0; c < v->ncols; c++) {
        char a[SF_ADDR_STRLEN];
        ladder_col_addr(v, c, a, sizeof a);
        snprintf(name[c], sizeof name[c], "%s %s", v->name[c], a);
    }
    ink(p, C_DIM);
    /* " 时间/毫秒  ": the margin's 12 columns (a CJK character is 2) */
    if (v->zh)
        fprintf(p->f, "%s", " 时间/毫秒  ");
    else
        fprintf(p->f, "%10s  ", "time (ms)");
    ink(p, C_RESET);
    ink(p, C_BOLD);
    fputs(name[0], p->f);
    if (v->ncols == 2) {
        int gap = aw + 2 - text_width(name[0]) - text_width(name[1]);
        put_rep(p->f, " ", gap > 2 ? gap : 2);
        fputs(name[1], p->f);
    }
    ink(p, C_RESET);
    fputc('\n', p->f);
}

static void draw(const struct ladder_view *v, FILE *f)
{
    struct pen p = {f, v->color};
    int aw = arrow_span(v);
    draw_header(&p, v, aw);
    draw_blank(&p, v, aw, "", NULL, "");
    for (size_t i = 0; i < v->n; i++) {
        const struct ladder_row *r = &v->rows[i];
        if (i && r->t - v->rows[i - 1].t >= SF_SEC) {
            char gap[64];
            snprintf(gap, sizeof gap, v->zh ? "  ⋮ %.3f 秒后" : "  ⋮ %.3f s later",
                     (double)(r->t - v->rows[i - 1].t) / (double)SF_SEC);
            draw_blank(&p, v, aw, "", gap, C_DIM);
        }
        draw_row(&p, v, r, aw);
        if (r->why[0])
            draw_why(&p, v, r->why, aw);
    }
    draw_blank(&p, v, aw, "", NULL, "");
}

void ladder_print(struct ladder *l, FILE *f)
{
    struct ladder_view v;
    ladder_get_view(l, &v);
    draw(&v, f);
}
