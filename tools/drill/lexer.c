/* drill lexer: script text -> tokens with line and column. Comments
 * (// and C-style) are dropped; %{ }% code blocks and `shell` lines become
 * one token each so the parser can name them in its errors. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill/drill.h"

struct lexer {
    const char *s;
    size_t i;
    int line, col;
    bool line_start; /* only blanks seen so far on this line */
    struct drill_tokens *out;
    size_t cap;
    char *err;
    size_t errlen;
};

static int lex_error(struct lexer *lx, const char *fmt, ...)
{
    int n = snprintf(lx->err, lx->errlen, "%d:%d: error: ", lx->line, lx->col);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < lx->errlen)
        vsnprintf(lx->err + n, lx->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static void advance(struct lexer *lx, size_t n)
{
    while (n-- && lx->s[lx->i]) {
        if (lx->s[lx->i] == '\n') {
            lx->line++;
            lx->col = 1;
            lx->line_start = true;
        } else {
            lx->col++;
        }
        lx->i++;
    }
}

static int push(struct lexer *lx, enum drill_tok kind, const char *text,
                size_t len, int line, int col)
{
    if (lx->out->n == lx->cap) {
        size_t cap = lx->cap ? lx->cap * 2 : 64;
        struct drill_token *v = realloc(lx->out->v, cap * sizeof *v);
        if (!v)
            return lex_error(lx, "out of memory");
        lx->out->v = v;
        lx->cap = cap;
    }
    char *t = malloc(len + 1);
    if (!t)
        return lex_error(lx, "out of memory");
    memcpy(t, text, len);
    t[len] = 0;
    lx->out->v[lx->out->n++] =
        (struct drill_token){.kind = kind, .text = t, .line = line, .col = col};
    return 0;
}

/* Text up to the closing delimiter; fails at end of input, and with
 * one_line at the end of the line (a `shell` command; a %{ code block }%
 * may span lines). */
static int lex_delimited(struct lexer *lx, enum drill_tok kind,
                         size_t open_len, const char *close, const char *what,
                         bool one_line)
{
    int line = lx->line, col = lx->col;
    const char *start = lx->s + lx->i + open_len;
    const char *end = strstr(start, close);
    const char *nl = one_line ? strchr(start, '\n') : NULL;
    if (!end || (nl && nl < end))
        return lex_error(lx, "unterminated %s", what);
    if (push(lx, kind, start, (size_t)(end - start), line, col))
        return -1;
    advance(lx, (size_t)(end - (lx->s + lx->i)) + strlen(close));
    lx->line_start = false;
    return 0;
}

static size_t span(const char *p, const char *set_extra, bool alnum)
{
    size_t n = 0;
    while (p[n] && ((alnum && (isalnum((unsigned char)p[n]) || p[n] == '_')) ||
                    (set_extra && strchr(set_extra, p[n]))))
        n++;
    return n;
}

static int lex_one(struct lexer *lx)
{
    const char *p = lx->s + lx->i;
    int line = lx->line, col = lx->col;
    size_t n;
    if (p[0] == '%' && p[1] == '{')
        return lex_delimited(lx, TK_CODE, 2, "}%", "%{ code block", false);
    if (p[0] == '`')
        return lex_delimited(lx, TK_SHELL, 1, "`", "` shell command (it ends on its line)",
                             true);
    if (p[0] == '"') {
        /* a string argument (TCP_CONGESTION's name): one line */
        n = strcspn(p + 1, "\"\n");
        if (p[1 + n] != '"')
            return lex_error(lx, "unterminated \" string");
        if (push(lx, TK_STRING, p + 1, n, line, col))
            return -1;
        advance(lx, n + 2);
        lx->line_start = false;
        return 0;
    }
    if (lx->line_start && p[0] == '-' && p[1] == '-' && isalpha((unsigned char)p[2])) {
        n = strcspn(p, "\n");
        while (n > 2 && isspace((unsigned char)p[n - 1]))
            n--;
        if (push(lx, TK_OPTION, p + 2, n - 2, line, col))
            return -1;
    } else if (p[0] == '.' && p[1] == '.' && p[2] == '.') {
        n = 3;
        if (push(lx, TK_ELLIPSIS, p, 3, line, col))
            return -1;
    } else if (isdigit((unsigned char)p[0]) ||
               (p[0] == '.' && isdigit((unsigned char)p[1]))) {
        n = (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) ? 2 + span(p + 2, NULL, true)
                                                          : span(p, NULL, true);
        /* a decimal point belongs to the number unless it starts "..." */
        if (p[n] == '.' && !(p[n + 1] == '.' && p[n + 2] == '.'))
            n += 1 + span(p + n + 1, NULL, true);
        if (push(lx, TK_NUM, p, n, line, col))
            return -1;
    } else if (isalpha((unsigned char)p[0]) || p[0] == '_') {
        n = span(p, NULL, true);
        if (push(lx, TK_IDENT, p, n, line, col))
            return -1;
    } else {
        n = 1;
        if (!isprint((unsigned char)p[0]))
            return lex_error(lx, "unexpected byte 0x%02x", (unsigned char)p[0]);
        if (push(lx, TK_PUNCT, p, 1, line, col))
            return -1;
    }
    advance(lx, n);
    lx->line_start = false;
    return 0;
}

int drill_lex(const char *src, struct drill_tokens *out, char *err,
              size_t errlen)
{
    struct lexer lx = {.s = src, .line = 1, .col = 1, .line_start = true,
                       .out = out, .err = err, .errlen = errlen};
    out->v = NULL;
    out->n = 0;
    while (src[lx.i]) {
        const char *p = src + lx.i;
        if (isspace((unsigned char)*p)) {
            advance(&lx, 1);
        } else if (p[0] == '/' && p[1] == '/') {
            advance(&lx, strcspn(p, "\n"));
        } else if (p[0] == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");
            if (!e)
                return lex_error(&lx, "unterminated /* comment");
            advance(&lx, (size_t)(e + 2 - p));
        } else if (lex_one(&lx)) {
            return -1;
        }
    }
    return push(&lx, TK_EOF, "", 0, lx.line, lx.col);
}

void drill_tokens_free(struct drill_tokens *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].text);
    free(t->v);
    t->v = NULL;
    t->n = 0;
}
